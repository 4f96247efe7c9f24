//! Anonymous YAML opens (spec/API.md #19/#20) over real HTTP, on SQLite and
//! PostgreSQL: the body evaluated in the organization (imports with the
//! caller's access, interpolation, secrets), read whole and by property
//! from the opening server and from a second one on the same store,
//! errors as diagnostics with nothing kept, sessions bound to their
//! organization and lifetime, the audit event, and no plaintext at rest.

use std::sync::Arc;
use std::time::Duration;

use esc_server::HttpLimits;
use esc_store::{
    EnvRef, EnvironmentGrant, GrantPermission, MasterKey, MemberRole, OrgMembership, SqlStore,
    Store,
};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::harness::{Reply, TestServer, create_env, fresh_database, patch_yaml, sqlite_store};
use crate::secrets::contains;

/// The imported environment's secret.
const IMPORTED_SECRET: &str = "imported-db-pass-41c7e2";
/// The secret written in the anonymous body.
const BODY_SECRET: &str = "body-api-key-9d05b3";

const OPEN: &str = "/api/esc/environments/acme/yaml/open";

fn body() -> String {
    format!(
        "imports:\n  - shared/base\nvalues:\n  password:\n    fn::secret: {BODY_SECRET}\n  url: https://${{region}}.example.com\n  pulumiConfig:\n    greeting: hi-${{region}}\n    db: ${{dbPass}}\n"
    )
}

/// POSTs `yaml` as the Pulumi CLI does (JSON Content-Type, its Accept).
async fn open_yaml(server: &TestServer, org: &str, query: &str, yaml: &str) -> Reply {
    server
        .send(
            server
                .request(
                    Method::POST,
                    &format!("/api/esc/environments/{org}/yaml/open{query}"),
                )
                .header("Content-Type", "application/json")
                .header("Accept", "application/vnd.pulumi+8")
                .body(yaml.to_owned()),
        )
        .await
}

/// The id of a successful open.
fn opened_id(reply: &Reply) -> String {
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let json = reply.json();
    assert_eq!(json.as_object().unwrap().len(), 1, "only the id: {json}");
    json["id"].as_str().unwrap().to_owned()
}

/// How many anonymous opens `org`'s audit log records.
async fn open_events(store: &Arc<dyn Store>, org: &str) -> Vec<esc_store::AuditEvent> {
    let page = store.list_audit_events(org, None, 500).await.unwrap();
    page.items
        .into_iter()
        .filter(|event| event.event.action == "environment.open_yaml")
        .collect()
}

async fn scenario(server: &TestServer, second: &TestServer, store: &Arc<dyn Store>) {
    create_env(server, "shared", "base").await;
    let base = patch_yaml(
        server,
        "/api/esc/environments/acme/shared/base",
        &format!("values:\n  region: us-west-2\n  dbPass:\n    fn::secret: {IMPORTED_SECRET}\n"),
        None,
    )
    .await;
    assert_eq!(base.status, StatusCode::OK, "{}", base.body);

    // open: imports, interpolation, secrets
    let id = opened_id(&open_yaml(server, "acme", "?duration=2h0m0s", &body()).await);
    for reader in [server, second] {
        let whole = reader
            .call(Method::GET, &format!("{OPEN}/{id}"), None)
            .await;
        assert_eq!(whole.status, StatusCode::OK, "{}", whole.body);
        assert!(whole.body.ends_with("}\n"), "{}", whole.body);
        let whole = whole.json();
        let properties = &whole["properties"];
        assert_eq!(properties["region"]["value"], "us-west-2", "{whole}");
        assert_eq!(
            properties["region"]["trace"]["def"]["environment"], "shared/base",
            "{whole}"
        );
        assert_eq!(properties["dbPass"]["value"], IMPORTED_SECRET, "{whole}");
        assert_eq!(properties["dbPass"]["secret"], true, "{whole}");
        assert_eq!(properties["password"]["value"], BODY_SECRET, "{whole}");
        assert_eq!(properties["password"]["secret"], true, "{whole}");
        assert_eq!(
            properties["password"]["trace"]["def"]["environment"], "<yaml>",
            "{whole}"
        );
        assert_eq!(
            properties["url"]["value"], "https://us-west-2.example.com",
            "{whole}"
        );
        assert!(properties["url"].get("secret").is_none(), "{whole}");
        let config = &properties["pulumiConfig"]["value"];
        assert_eq!(config["greeting"]["value"], "hi-us-west-2", "{whole}");
        // a value derived from a secret is secret
        assert_eq!(config["db"]["value"], IMPORTED_SECRET, "{whole}");
        assert_eq!(config["db"]["secret"], true, "{whole}");
        assert!(whole.get("exprs").is_none(), "no exprs from opens");

        // by property, with one slash (the CLI) and two (as the SDKs do)
        for slashes in ["/", "//"] {
            let url = reader
                .call(
                    Method::GET,
                    &format!("{OPEN}{slashes}{id}?property=url"),
                    None,
                )
                .await;
            assert_eq!(url.status, StatusCode::OK, "{}", url.body);
            assert_eq!(url.json()["value"], "https://us-west-2.example.com");
        }
        let greeting = reader
            .call(
                Method::GET,
                &format!("{OPEN}/{id}?property=pulumiConfig.greeting"),
                None,
            )
            .await
            .json();
        assert_eq!(greeting["value"], "hi-us-west-2", "{greeting}");
        let secret = reader
            .call(Method::GET, &format!("{OPEN}/{id}?property=password"), None)
            .await
            .json();
        assert_eq!(
            (&secret["value"], &secret["secret"]),
            (&json!(BODY_SECRET), &json!(true)),
            "{secret}"
        );
        reader
            .call(Method::GET, &format!("{OPEN}/{id}?property=nope"), None)
            .await
            .error(StatusCode::NOT_FOUND);
        reader
            .call(Method::GET, &format!("{OPEN}/{id}?property=a[b"), None)
            .await
            .error(StatusCode::BAD_REQUEST);
    }

    // the audit event names the org, the caller and the imports, no secret
    let events = open_events(store, "acme").await;
    assert_eq!(events.len(), 1, "{events:?}");
    let event = &events[0];
    assert_eq!(
        (
            event.event.actor.as_str(),
            event.event.target.as_str(),
            event.event.detail.as_str()
        ),
        ("admin", "<yaml>", "imports shared/base@2"),
        "{event:?}"
    );
    let printed = format!("{event:?}");
    assert!(!printed.contains(BODY_SECRET) && !printed.contains(IMPORTED_SECRET));

    // the reserved environment holding the sessions is listed nowhere
    let listed = server
        .call(Method::GET, "/api/esc/environments/acme", None)
        .await
        .json();
    let names: Vec<String> = listed["environments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|env| format!("{}/{}", env["project"], env["name"]))
        .collect();
    assert_eq!(names, [r#""shared"/"base""#], "{listed}");
    let all = server
        .call(Method::GET, "/api/esc/environments", None)
        .await
        .json();
    assert_eq!(all["environments"].as_array().unwrap().len(), 1, "{all}");
    // nor can a definition import it
    let import_reserved =
        open_yaml(server, "acme", "", "imports:\n  - yaml/open:anonymous\n").await;
    import_reserved.error(StatusCode::BAD_REQUEST);

    // mistakes are located diagnostics, and nothing is kept
    let bad_yaml = open_yaml(server, "acme", "", "values:\n  a: [1, 2\n").await;
    bad_yaml.error(StatusCode::BAD_REQUEST);
    let diagnostics = bad_yaml.json()["diagnostics"].clone();
    assert_eq!(diagnostics.as_array().unwrap().len(), 1, "{diagnostics}");
    // located as go-yaml locates it (in the summary, as the reference does)
    assert_eq!(
        diagnostics[0]["summary"], "yaml: line 1: did not find expected ',' or ']'",
        "{diagnostics}"
    );
    let bad_ref = open_yaml(server, "acme", "", "values:\n  a: ${nope}\n").await;
    bad_ref.error(StatusCode::BAD_REQUEST);
    // the accessor `nope`: line 2 starts at byte 8 ("values:\n"), `${` at
    // columns 6-7, so `nope` is columns 8-11, bytes 15-18 (end exclusive)
    assert_eq!(
        bad_ref.json()["diagnostics"],
        json!([{
            "summary": "unknown property \"nope\"",
            "severity": "error",
            "path": "values.a",
            "range": {"environment": "<yaml>",
                      "begin": {"line": 2, "column": 8, "byte": 15},
                      "end": {"line": 2, "column": 12, "byte": 19}}
        }]),
        "{}",
        bad_ref.body
    );
    let missing_import = open_yaml(server, "acme", "", "imports:\n  - shared/nope\n").await;
    missing_import.error(StatusCode::BAD_REQUEST);
    assert!(
        missing_import
            .body
            .contains(r#"environment \"shared/nope\" not found"#),
        "{}",
        missing_import.body
    );
    // a ciphertext belongs to an environment, not to this text
    let ciphertext = open_yaml(
        server,
        "acme",
        "",
        "values:\n  a:\n    fn::secret:\n      ciphertext: ZXNjeAAAAAEAAAAA\n",
    )
    .await;
    ciphertext.error(StatusCode::BAD_REQUEST);
    assert_eq!(open_events(store, "acme").await.len(), 1);

    // durations: Go's grammar, positive
    for query in ["?duration=0s", "?duration=soon", "?duration=-1h"] {
        open_yaml(server, "acme", query, "values:\n  a: 1\n")
            .await
            .error(StatusCode::BAD_REQUEST);
    }
    assert_eq!(open_events(store, "acme").await.len(), 1);

    // unknown and expired sessions are not found
    server
        .call(Method::GET, &format!("{OPEN}/not-a-session"), None)
        .await
        .error(StatusCode::NOT_FOUND);
    let short = opened_id(&open_yaml(server, "acme", "?duration=300ms", "values:\n  a: 1\n").await);
    tokio::time::sleep(Duration::from_millis(700)).await;
    for reader in [server, second] {
        for suffix in ["", "?property=a"] {
            reader
                .call(Method::GET, &format!("{OPEN}/{short}{suffix}"), None)
                .await
                .error(StatusCode::NOT_FOUND);
        }
    }

    // bob: a member of bobco, with an open grant on acme's shared/base only
    store.create_user("bob", "Bob", "admin").await.unwrap();
    store
        .set_membership(
            &OrgMembership {
                org: "bobco".into(),
                login: "bob".into(),
                role: MemberRole::Reader,
            },
            "admin",
        )
        .await
        .unwrap();
    store
        .set_grant(
            &EnvironmentGrant {
                org: "acme".into(),
                project: "shared".into(),
                env: Some("base".into()),
                login: "bob".into(),
                permission: GrantPermission::Open,
            },
            "admin",
        )
        .await
        .unwrap();
    let bob = store
        .create_access_token("bob", "test", None, "admin")
        .await
        .unwrap();
    let bob = format!("token {}", bob.secret.expose_str().unwrap());
    let as_bob = |method: Method, path: &str| {
        server
            .client
            .request(method, format!("{}{path}", server.url))
            .header("Authorization", bob.clone())
    };
    // he may open shared/base itself …
    let direct = server
        .send(as_bob(
            Method::POST,
            "/api/esc/environments/acme/shared/base/open",
        ))
        .await;
    assert_eq!(direct.status, StatusCode::OK, "{}", direct.body);
    // … but opening text in acme needs the organization, as loading imports does
    let denied = server
        .send(as_bob(Method::POST, OPEN).body("imports:\n  - shared/base\n"))
        .await;
    assert!(
        denied
            .error(StatusCode::FORBIDDEN)
            .contains("'bob' lacks open permission in organization 'acme'"),
        "{}",
        denied.body
    );
    // nor read acme's sessions
    server
        .send(as_bob(Method::GET, &format!("{OPEN}/{id}")))
        .await
        .error(StatusCode::FORBIDDEN);
    // in bobco his imports resolve in bobco: acme's environments are not there
    let elsewhere = server
        .send(
            as_bob(Method::POST, "/api/esc/environments/bobco/yaml/open")
                .body("imports:\n  - shared/base\n"),
        )
        .await;
    elsewhere.error(StatusCode::BAD_REQUEST);
    assert!(elsewhere.body.contains("not found"), "{}", elsewhere.body);
    let bobs = server
        .send(
            as_bob(Method::POST, "/api/esc/environments/bobco/yaml/open")
                .body("values:\n  mine: true\n"),
        )
        .await;
    let bobs = opened_id(&bobs);
    let mine = server
        .send(as_bob(
            Method::GET,
            &format!("/api/esc/environments/bobco/yaml/open/{bobs}?property=mine"),
        ))
        .await;
    assert_eq!(mine.json()["value"], true, "{}", mine.body);
    // a session is found only under its own organization
    server
        .call(
            Method::GET,
            &format!("/api/esc/environments/bobco/yaml/open/{id}"),
            None,
        )
        .await
        .error(StatusCode::NOT_FOUND);
    server
        .call(Method::GET, &format!("{OPEN}/{bobs}"), None)
        .await
        .error(StatusCode::NOT_FOUND);
    let bobco_events = open_events(store, "bobco").await;
    assert_eq!(bobco_events.len(), 1, "{bobco_events:?}");
    assert_eq!(bobco_events[0].event.actor, "bob");
    assert_eq!(bobco_events[0].event.detail, "no imports");

    // first opens in a new organization at once: one reserved environment
    // is created and every open succeeds
    let open_n = |n: u32| async move {
        open_yaml(server, "fresh-org", "", &format!("values:\n  n: {n}\n")).await
    };
    let (a, b, c, d) = tokio::join!(open_n(0), open_n(1), open_n(2), open_n(3));
    let ids: Vec<String> = [a, b, c, d].iter().map(opened_id).collect();
    for (n, id) in ids.iter().enumerate() {
        let value = server
            .call(
                Method::GET,
                &format!("/api/esc/environments/fresh-org/yaml/open/{id}?property=n"),
                None,
            )
            .await
            .json();
        assert_eq!(value["value"], n, "{value}");
    }
    assert_eq!(open_events(store, "fresh-org").await.len(), 4);

    // the reserved environment exists only as the sessions' home
    assert!(
        store
            .environment(&EnvRef::new("acme", "yaml", "open:anonymous"))
            .await
            .is_ok()
    );
    server
        .call(
            Method::GET,
            "/api/esc/environments/acme/yaml/open:anonymous",
            None,
        )
        .await
        .error(StatusCode::BAD_REQUEST);
}

/// Asserts no plaintext secret of the scenario is in `bytes`.
fn assert_no_plaintext(bytes: &[u8]) {
    assert!(!bytes.is_empty());
    for secret in [BODY_SECRET, IMPORTED_SECRET] {
        assert!(!contains(bytes, secret), "plaintext {secret} at rest");
    }
}

#[tokio::test]
async fn anonymous_opens_on_sqlite() {
    let (store, dir) = sqlite_store().await;
    let server = TestServer::over(store.clone(), HttpLimits::default()).await;
    // a second service on the same store: its reads come from the store
    let second = TestServer::over(store.clone(), HttpLimits::default()).await;
    scenario(&server, &second, &store).await;
    server.stop().await;
    second.stop().await;
    drop(store);
    let mut bytes = Vec::new();
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            bytes.extend(std::fs::read(&path).unwrap());
        }
    }
    assert!(
        contains(&bytes, "environment.open_yaml"),
        "the audit event is in the file"
    );
    assert_no_plaintext(&bytes);
}

#[tokio::test]
async fn anonymous_opens_on_postgres() {
    let Some(url) = fresh_database().await else {
        return;
    };
    let key = [9u8; 32];
    let connect = || async {
        let store = SqlStore::connect_postgres(&url, MasterKey::from_bytes(&key).unwrap(), 4)
            .await
            .unwrap();
        Arc::new(store) as Arc<dyn Store>
    };
    let store = connect().await;
    let server = TestServer::over(store.clone(), HttpLimits::default()).await;
    // a second server with its own pool on the same database
    let second = TestServer::over(connect().await, HttpLimits::default()).await;
    scenario(&server, &second, &store).await;
    server.stop().await;
    second.stop().await;
    let dump = std::process::Command::new("/usr/lib/postgresql/15/bin/pg_dump")
        .args(["--data-only", "--dbname", &url])
        .output()
        .unwrap();
    assert!(
        dump.status.success(),
        "{}",
        String::from_utf8_lossy(&dump.stderr)
    );
    assert!(contains(&dump.stdout, "environment.open_yaml"));
    assert_no_plaintext(&dump.stdout);
}

/// Providers run in an anonymous open as in a stored environment's: the
/// text's `fn::open::external` reaches the example adapter, which checks
/// the server's signature.
#[tokio::test]
async fn anonymous_open_runs_providers() {
    use esc_server::{ServeConfig, start};

    let dir = tempfile::tempdir().unwrap();
    let config = ServeConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        data_dir: dir.path().join("data"),
        allow_insecure_loopback_http: true,
        ..ServeConfig::default()
    };
    let started = start(config).await.unwrap();
    let token =
        String::from_utf8(started.bootstrap_token.as_ref().unwrap().expose().to_vec()).unwrap();
    let url = format!("http://{}", started.address);
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(started.run(async {
        let _ = rx.await;
    }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let adapter_url = format!("http://{}/", listener.local_addr().unwrap());
    let verifier =
        esc_adapter::Verifier::new(esc_adapter::VerifierConfig::new(&url, &adapter_url)).unwrap();
    let state = env_adapter::AppState {
        verifier: Arc::new(verifier),
        values: Arc::new([("DB_PASSWORD".to_owned(), "from-adapter-5e21".to_owned())].into()),
        allowed_orgs: Some(Arc::new(vec!["admin".to_owned()])),
    };
    let adapter = tokio::spawn(async move {
        axum::serve(listener, env_adapter::app(state))
            .await
            .unwrap();
    });
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let auth = format!("token {token}");
    let opened = client
        .post(format!("{url}/api/esc/environments/admin/yaml/open"))
        .header("Authorization", &auth)
        .body(format!(
            "values:\n  db:\n    fn::open::external:\n      url: {adapter_url}\n      request:\n        name: DB_PASSWORD\n"
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(opened.status(), 200);
    let opened: Value = opened.json().await.unwrap();
    let id = opened["id"].as_str().unwrap();
    let db: Value = client
        .get(format!(
            "{url}/api/esc/environments/admin/yaml/open/{id}?property=db"
        ))
        .header("Authorization", &auth)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(db["secret"], true, "{db}");
    assert_eq!(
        db["value"]["response"]["value"]["value"]["value"], "from-adapter-5e21",
        "{db}"
    );
    adapter.abort();
    tx.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(10), server)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
}
