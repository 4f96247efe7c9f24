//! Users, memberships, grants and tokens (`esc serve user|member|grant|token`,
//! real child processes on the server's database) against a real
//! `esc serve` over HTTP on 127.0.0.1, on SQLite and on PostgreSQL
//! (`ESC_TEST_DATABASE_URL`, one fresh database per test).

use std::io::BufRead as _;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use reqwest::StatusCode;

use super::Esc;

/// How long a change in the store may take to reach a running server: the
/// service's token and access cache time to live (5 s) plus slack for a
/// loaded machine.
const PROPAGATION_BOUND: Duration = Duration::from_secs(5);
const SLACK: Duration = Duration::from_secs(2);

/// A running `esc serve` (killed on drop) and how to run the admin commands
/// on its database.
struct Server {
    child: Child,
    url: String,
    admin_token: String,
    home: Esc,
    /// `--database-url URL` for PostgreSQL; empty for the default SQLite.
    database_args: Vec<String>,
    master_key: Option<String>,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    fn start(database_url: Option<String>) -> Server {
        let home = Esc::new();
        let database_args: Vec<String> = database_url
            .map(|url| vec!["--database-url".to_owned(), url])
            .unwrap_or_default();
        let master_key = (!database_args.is_empty())
            .then(|| base64::engine::general_purpose::STANDARD.encode([7u8; 32]));
        let mut cmd = home.std_cmd();
        cmd.args(["serve", "--listen", "127.0.0.1:0", "--admin", "alice"])
            .args(&database_args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        if let Some(key) = &master_key {
            cmd.env("ESC_MASTER_KEY", key);
        }
        let mut child = cmd.spawn().unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = std::io::BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let line = rx
            .recv_timeout(Duration::from_secs(60))
            .expect("server did not start");
        let words: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(words.len(), 5, "unexpected first line: {line}");
        Server {
            url: words[2].to_owned(),
            admin_token: words[4].to_owned(),
            child,
            home,
            database_args,
            master_key,
        }
    }

    /// `esc serve ARGS` on this server's database; returns (success, stdout, stderr).
    fn admin(&self, args: &[&str]) -> (bool, String, String) {
        let mut cmd = self.home.std_cmd();
        cmd.arg("serve").args(args).args(&self.database_args);
        if let Some(key) = &self.master_key {
            cmd.env("ESC_MASTER_KEY", key);
        }
        let out = cmd.output().unwrap();
        (
            out.status.success(),
            String::from_utf8(out.stdout).unwrap(),
            String::from_utf8(out.stderr).unwrap(),
        )
    }

    fn admin_ok(&self, args: &[&str]) -> String {
        let (ok, stdout, stderr) = self.admin(args);
        assert!(ok, "esc serve {args:?} failed: {stderr}");
        stdout
    }

    /// The server-wide audit events (users and tokens), read straight from
    /// its database: (actor, action, target, detail), sorted; and each
    /// event's Debug text.
    async fn server_audit_events(&self) -> (Vec<[String; 4]>, Vec<String>) {
        let store: std::sync::Arc<dyn esc_store::Store> = match self.database_args.get(1) {
            Some(url) => std::sync::Arc::new(
                esc_store::SqlStore::connect_postgres(
                    url,
                    esc_store::MasterKey::from_bytes(&[7u8; 32]).unwrap(),
                    2,
                )
                .await
                .unwrap(),
            ),
            None => {
                let data = self.home.home().join("server");
                esc_store::SqlStore::open(esc_store::Location::Embedded(&data))
                    .await
                    .unwrap()
                    .0
            }
        };
        let events = store
            .list_audit_events(esc_store::SERVER_AUDIT_ORG, None, 100)
            .await
            .unwrap()
            .items;
        let mut fields: Vec<[String; 4]> = events
            .iter()
            .map(|e| {
                assert_eq!(e.event.org, esc_store::SERVER_AUDIT_ORG);
                [
                    e.event.actor.clone(),
                    e.event.action.clone(),
                    e.event.target.clone(),
                    e.event.detail.clone(),
                ]
            })
            .collect();
        fields.sort_unstable();
        let texts = events.iter().map(|e| format!("{:?}", e.event)).collect();
        (fields, texts)
    }

    /// A new token for `login`: (id, secret).
    fn token(&self, login: &str) -> (String, String) {
        let out = self.admin_ok(&["token", "create", login, "--description", "test"]);
        // "Created token <ID> for <login> (shown once):\n<secret>\n"
        let mut lines = out.lines();
        let first: Vec<&str> = lines.next().unwrap().split_whitespace().collect();
        assert_eq!(first[0..2], ["Created", "token"], "{out}");
        let secret = lines.next().unwrap().to_owned();
        assert!(secret.starts_with("esc_"), "{out}");
        (first[2].to_owned(), secret)
    }
}

struct Api {
    client: reqwest::Client,
    url: String,
}

impl Api {
    async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        token: &str,
        body: Option<&str>,
    ) -> (StatusCode, String) {
        let mut request = self
            .client
            .request(method, format!("{}{path}", self.url))
            .header("Authorization", format!("token {token}"))
            .timeout(Duration::from_secs(30));
        if let Some(body) = body {
            request = request.body(body.to_owned());
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        (status, response.text().await.unwrap())
    }

    async fn get(&self, path: &str, token: &str) -> (StatusCode, String) {
        self.send(reqwest::Method::GET, path, token, None).await
    }

    async fn patch(&self, path: &str, token: &str, yaml: &str) -> (StatusCode, String) {
        self.send(reqwest::Method::PATCH, path, token, Some(yaml))
            .await
    }

    async fn post(&self, path: &str, token: &str, body: &str) -> (StatusCode, String) {
        self.send(reqwest::Method::POST, path, token, Some(body))
            .await
    }

    /// Polls `GET path` until it answers `want`; returns how long that took.
    /// Fails past the propagation bound (plus slack).
    async fn until_status(&self, path: &str, token: &str, want: StatusCode) -> Duration {
        let started = Instant::now();
        loop {
            let (status, _) = self.get(path, token).await;
            if status == want {
                return started.elapsed();
            }
            assert!(
                started.elapsed() < PROPAGATION_BOUND + SLACK,
                "GET {path} still {status} (want {want}) after {:?}",
                started.elapsed()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

const DEV: &str = "/api/esc/environments/acme/proj/dev";
const PROD: &str = "/api/esc/environments/acme/proj/prod";

async fn team_shares_a_server(server: Server) {
    let api = Api {
        client: reqwest::Client::new(),
        url: server.url.clone(),
    };
    let admin = server.admin_token.clone();
    for name in ["dev", "prod"] {
        let (status, body) = api
            .post(
                "/api/esc/environments/acme",
                &admin,
                &format!(r#"{{"project":"proj","name":"{name}"}}"#),
            )
            .await;
        assert!(status.is_success(), "create {name}: {status} {body}");
        let path = format!("/api/esc/environments/acme/proj/{name}");
        let (status, body) = api
            .patch(&path, &admin, &format!("values:\n  stage: {name}\n"))
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }

    // the admin adds bob as reader of acme, and carol with no membership
    assert_eq!(
        server.admin_ok(&["user", "add", "bob", "--name", "Bob B"]),
        "Added user bob\n"
    );
    server.admin_ok(&["user", "add", "carol"]);
    assert_eq!(
        server.admin_ok(&["member", "set", "acme", "bob", "--role", "reader"]),
        "bob is reader of acme\n"
    );
    assert_eq!(
        server.admin_ok(&["member", "ls", "acme"]),
        "ORGANIZATION\tLOGIN\tROLE\nacme\tbob\treader\n"
    );
    let (bob_token_id, bob) = server.token("bob");
    let (bob_second_id, bob_second) = server.token("bob");
    let (carol_token_id, carol) = server.token("carol");
    // a token for an unknown user is refused
    let (ok, _, stderr) = server.admin(&["token", "create", "nobody"]);
    assert!(!ok && stderr.contains("user nobody"), "{stderr}");

    // bob reads and opens, but cannot write: 403 and nothing changes
    let (status, body) = api.get(DEV, &bob).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.contains("stage: dev"), "{body}");
    let (status, body) = api.post(&format!("{DEV}/open"), &bob, "").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = api.patch(DEV, &bob, "values:\n  stage: hacked\n").await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(
        body.contains("'bob' lacks write permission on environment 'proj/dev'"),
        "{body}"
    );
    let (_, unchanged) = api.get(DEV, &admin).await;
    assert!(unchanged.contains("stage: dev") && !unchanged.contains("hacked"));
    let (status, body) = api.get("/api/user", &bob).await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("\"acme\""), "{body}");

    // a write grant on acme/proj/dev lets bob update dev, not prod
    assert_eq!(
        server.admin_ok(&["grant", "acme/proj/dev", "bob", "--permission", "write"]),
        "Granted write on acme/proj/dev to bob\n"
    );
    let started = Instant::now();
    loop {
        let (status, body) = api.patch(DEV, &bob, "values:\n  stage: bob\n").await;
        if status == StatusCode::OK {
            break;
        }
        assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
        assert!(
            started.elapsed() < PROPAGATION_BOUND + SLACK,
            "the grant did not reach the server"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (_, updated) = api.get(DEV, &admin).await;
    assert!(updated.contains("stage: bob"), "{updated}");
    let (status, body) = api.patch(PROD, &bob, "values:\n  stage: bob\n").await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let (_, prod) = api.get(PROD, &admin).await;
    assert!(prod.contains("stage: prod"), "{prod}");

    // a user without membership sees no environment of acme
    let (status, body) = api.get("/api/esc/environments", &carol).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(!body.contains("acme"), "{body}");
    let (status, _) = api.get("/api/esc/environments/acme", &carol).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = api.get(PROD, &carol).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, body) = api.get("/api/esc/environments", &bob).await;
    assert!(status == StatusCode::OK && body.contains("prod"), "{body}");

    // removing the membership: prod is refused within the bound; dev stays
    // readable through the grant
    assert_eq!(
        server.admin_ok(&["member", "rm", "acme", "bob"]),
        "Removed bob from acme\n"
    );
    let took = api.until_status(PROD, &bob, StatusCode::FORBIDDEN).await;
    assert!(took <= PROPAGATION_BOUND + SLACK, "{took:?}");
    let (status, _) = api.get(DEV, &bob).await;
    assert_eq!(status, StatusCode::OK);
    // listing acme shows bob the granted environment only
    let (status, body) = api.get("/api/esc/environments/acme", &bob).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.contains("\"dev\"") && !body.contains("prod"), "{body}");

    // revoking one token: 401 within the bound; the other still works
    assert_eq!(
        server.admin_ok(&["token", "revoke", &bob_token_id]),
        format!("Revoked token {bob_token_id} of bob\n")
    );
    api.until_status(DEV, &bob, StatusCode::UNAUTHORIZED).await;
    let (status, _) = api.get(DEV, &bob_second).await;
    assert_eq!(status, StatusCode::OK);
    let listed = server.admin_ok(&["token", "ls", "bob"]);
    assert!(!listed.contains(&bob_token_id), "{listed}");
    assert_eq!(listed.lines().count(), 2, "{listed}");
    assert!(
        server
            .admin_ok(&["grant", "ls", "acme"])
            .contains("acme/proj/dev\tbob\twrite")
    );

    // removing carol deletes her token
    assert_eq!(
        server.admin_ok(&["user", "rm", "carol"]),
        "Removed user carol\n"
    );

    // every user and token change is a server-wide audit event: by the
    // server's bootstrap for the admin, by esc-serve-admin for the rest;
    // the refused token (unknown user) left none; no secret in any
    let alice_tokens = server.admin_ok(&["token", "ls", "alice"]);
    let alice_token_id = alice_tokens
        .lines()
        .nth(1)
        .unwrap()
        .split('\t')
        .next()
        .unwrap();
    let row = |actor: &str, action: &str, target: &str, detail: &str| {
        [actor, action, target, detail].map(str::to_owned)
    };
    let admin_actor = "esc-serve-admin";
    let mut expected = vec![
        row(
            "esc:bootstrap",
            "token.create",
            alice_token_id,
            "owner alice",
        ),
        row("esc:bootstrap", "user.add", "alice", ""),
        row(admin_actor, "token.create", &bob_token_id, "owner bob"),
        row(admin_actor, "token.create", &bob_second_id, "owner bob"),
        row(admin_actor, "token.create", &carol_token_id, "owner carol"),
        row(admin_actor, "token.revoke", &bob_token_id, "owner bob"),
        row(admin_actor, "user.add", "bob", ""),
        row(admin_actor, "user.add", "carol", ""),
        row(
            admin_actor,
            "user.remove",
            "carol",
            "access tokens deleted: 1",
        ),
    ];
    expected.sort_unstable();
    let (events, texts) = server.server_audit_events().await;
    assert_eq!(events, expected);
    for text in texts {
        for secret in [&admin, &bob, &bob_second, &carol] {
            assert!(!text.contains(secret.as_str()), "{text}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn team_shares_a_server_on_sqlite() {
    team_shares_a_server(Server::start(None)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn team_shares_a_server_on_postgres() {
    let Some(url) = fresh_database() else {
        return;
    };
    team_shares_a_server(Server::start(Some(url))).await;
}

#[test]
fn admin_commands_explain_themselves_and_refuse_bad_input() {
    let esc = Esc::new();
    let help = esc.ok(&["serve", "grant", "--help"]);
    assert!(
        help.contains("esc serve grant acme/proj/dev bob --permission write"),
        "{help}"
    );
    let help = esc.ok(&["serve", "--help"]);
    for command in ["user", "member", "grant", "token"] {
        assert!(help.contains(&format!("  {command} ")), "{help}");
    }
    let data_dir = esc.home().join("srv");
    let data_dir = data_dir.to_str().unwrap();
    let err = esc.fails(&[
        "serve",
        "grant",
        "acme",
        "bob",
        "--permission",
        "open",
        "--data-dir",
        data_dir,
    ]);
    assert!(
        err.contains("'acme' is not ORG/PROJECT or ORG/PROJECT/ENV"),
        "{err}"
    );
    let err = esc.fails(&[
        "serve",
        "member",
        "set",
        "acme",
        "ghost",
        "--role",
        "reader",
        "--data-dir",
        data_dir,
    ]);
    assert!(err.contains("user ghost"), "{err}");
    let err = esc.fails(&[
        "serve",
        "token",
        "create",
        "x",
        "--expires",
        "soon",
        "--data-dir",
        data_dir,
    ]);
    assert!(err.contains("invalid --expires 'soon'"), "{err}");
    esc.ok(&["serve", "user", "add", "dora", "--data-dir", data_dir]);
    let err = esc.fails(&["serve", "user", "add", "dora", "--data-dir", data_dir]);
    assert!(err.contains("adding user dora"), "{err}");
    assert!(
        esc.ok(&["serve", "user", "ls", "--data-dir", data_dir])
            .contains("\ndora\tdora\t")
    );
}

/// A fresh database on the test cluster (made with `psql`), or `None` when
/// PostgreSQL is not configured and not required.
fn fresh_database() -> Option<String> {
    let admin = match std::env::var("ESC_TEST_DATABASE_URL") {
        Ok(url) if !url.is_empty() => url,
        _ => {
            assert_ne!(
                std::env::var("ESC_TEST_SERVICES").as_deref(),
                Ok("required"),
                "ESC_TEST_SERVICES=required but ESC_TEST_DATABASE_URL is not set"
            );
            eprintln!("skipped: ESC_TEST_DATABASE_URL is not set");
            return None;
        }
    };
    let name = format!("esc_admin_{}_{}", std::process::id(), rand_suffix());
    let status = std::process::Command::new("psql")
        .arg(&admin)
        .args(["-q", "-c", &format!("CREATE DATABASE {name}")])
        .status()
        .unwrap();
    assert!(status.success(), "creating database {name}");
    let base = admin.rsplit_once('/').unwrap().0;
    Some(format!("{base}/{name}"))
}

/// A few random bits for database names (tests run in parallel).
fn rand_suffix() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos()
        .into()
}
