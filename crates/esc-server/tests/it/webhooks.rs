//! Webhooks end to end (#43-49): a real HTTP receiver on 127.0.0.1 gets
//! signed deliveries after writes, ping answers the delivery, deliveries
//! are listed, bad input changes nothing, and a hanging hook does not slow
//! the write.

use std::time::{Duration, Instant};

use aws_lc_rs::hmac;
use axum::body::Bytes;
use axum::http::HeaderMap;
use esc_server::HttpLimits;
use esc_service::WebhookConfig;
use reqwest::{Method, StatusCode};
use serde_json::json;
use tokio::sync::mpsc;

use crate::harness::{E, TestServer, create_env, patch_yaml, sqlite_store};

/// What the receiver got.
struct Received {
    headers: HeaderMap,
    body: Bytes,
}

/// An HTTP receiver on 127.0.0.1 that answers 200 after `delay`.
struct Receiver {
    url: String,
    got: mpsc::UnboundedReceiver<Received>,
    task: tokio::task::JoinHandle<()>,
}

impl Receiver {
    async fn start(delay: Duration) -> Self {
        let (tx, got) = mpsc::unbounded_channel();
        let app = axum::Router::new().route(
            "/hook",
            axum::routing::post(move |headers: HeaderMap, body: Bytes| {
                let tx = tx.clone();
                async move {
                    let _ = tx.send(Received { headers, body });
                    tokio::time::sleep(delay).await;
                    "thanks"
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Self { url, got, task }
    }

    /// The next delivery, waiting at most 10 s.
    async fn next(&mut self) -> Received {
        tokio::time::timeout(Duration::from_secs(10), self.got.recv())
            .await
            .expect("no delivery within 10 s")
            .unwrap()
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn server() -> (TestServer, tempfile::TempDir) {
    let (store, dir) = sqlite_store().await;
    let server = TestServer::over_with_webhooks(
        store,
        HttpLimits::default(),
        WebhookConfig {
            allow_insecure_loopback_http: true,
            total_timeout: Duration::from_secs(5),
            ..WebhookConfig::default()
        },
    )
    .await;
    (server, dir)
}

fn hmac_hex(secret: &str, body: &[u8]) -> String {
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret.as_bytes());
    hmac::sign(&key, body)
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

const HOOK_SECRET: &str = "hook-signing-secret-9f3a";
const ENV_SECRET: &str = "env-secret-value-77c1";
const ENV_PLAIN: &str = "plain-env-value-a41b";

#[tokio::test]
async fn a_patch_delivers_a_signed_payload_without_values_and_it_is_listed() {
    let (server, _dir) = server().await;
    let mut receiver = Receiver::start(Duration::ZERO).await;
    create_env(&server, "app", "dev").await;

    let created = server
        .call(
            Method::POST,
            &format!("{E}/hooks"),
            Some(
                &json!({
                    "displayName": "deploy", "name": "", "organizationName": "acme",
                    "projectName": "app", "envName": "dev", "payloadUrl": receiver.url,
                    "format": "raw", "filters": ["updated", "deleted"], "active": true,
                    "secret": HOOK_SECRET,
                })
                .to_string(),
            ),
        )
        .await;
    assert_eq!(created.status, StatusCode::OK, "{}", created.body);
    assert_eq!(
        created.json(),
        json!({
            "active": true, "displayName": "deploy", "name": "hook-1",
            "organizationName": "acme", "projectName": "app", "envName": "dev",
            "payloadUrl": receiver.url, "format": "raw", "filters": ["updated", "deleted"],
            "groups": [], "hasSecret": true,
        })
    );

    let patched = patch_yaml(
        &server,
        E,
        &format!("values:\n  plain: {ENV_PLAIN}\n  pw:\n    fn::secret: {ENV_SECRET}\n"),
        None,
    )
    .await;
    assert_eq!(patched.status, StatusCode::OK, "{}", patched.body);

    let got = receiver.next().await;
    let signature = got
        .headers
        .get("pulumi-webhook-signature")
        .expect("signed")
        .to_str()
        .unwrap();
    assert_eq!(signature, hmac_hex(HOOK_SECRET, &got.body));
    assert_ne!(signature, hmac_hex("another secret", &got.body));
    assert_eq!(got.headers["pulumi-webhook-kind"], "updated");
    assert_eq!(got.headers["content-type"], "application/json");
    let text = std::str::from_utf8(&got.body).unwrap();
    for value in [ENV_SECRET, ENV_PLAIN, HOOK_SECRET] {
        assert!(!text.contains(value), "{value} in the payload: {text}");
    }
    let payload: serde_json::Value = serde_json::from_str(text).unwrap();
    assert_eq!(payload["kind"], "updated");
    assert_eq!(payload["webhook"], "hook-1");
    assert_eq!(payload["organization"], "acme");
    assert_eq!(payload["project"], "app");
    assert_eq!(payload["environment"], "dev");
    assert_eq!(payload["revision"], 2);
    assert_eq!(payload["user"], "admin");

    // recorded after the receiver answered: poll briefly
    let deliveries_path = format!("{E}/hooks/hook-1/deliveries");
    let mut listed = json!([]);
    for _ in 0..100 {
        listed = server
            .call(Method::GET, &deliveries_path, None)
            .await
            .json();
        if listed.as_array().is_some_and(|items| !items.is_empty()) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let items = listed.as_array().unwrap();
    assert_eq!(items.len(), 1, "{listed}");
    let delivery = &items[0];
    assert_eq!(delivery["kind"], "updated");
    assert_eq!(delivery["responseCode"], 200);
    assert_eq!(delivery["requestUrl"], receiver.url.as_str());
    assert_eq!(delivery["payload"], text);
    assert_eq!(delivery["responseBody"], "thanks");
    assert!(delivery["timestamp"].as_i64().unwrap() > 1_700_000_000);
    assert!(delivery["duration"].as_i64().unwrap() >= 0);
    assert!(!delivery["id"].as_str().unwrap().is_empty());
    let headers = delivery["requestHeaders"].as_str().unwrap();
    assert!(
        headers.contains("Pulumi-Webhook-Signature: [redacted]"),
        "{headers}"
    );
    for reply in [
        server.call(Method::GET, &deliveries_path, None).await,
        server.call(Method::GET, &format!("{E}/hooks"), None).await,
        server
            .call(Method::GET, &format!("{E}/hooks/hook-1"), None)
            .await,
    ] {
        assert!(!reply.body.contains(HOOK_SECRET), "{}", reply.body);
        assert!(!reply.body.contains("\"secret\""), "{}", reply.body);
    }

    // not subscribed to tags: nothing; deletion is (hooks go with it)
    let tagged = server
        .call(
            Method::POST,
            &format!("{E}/versions/tags"),
            Some(r#"{"name":"stable","revision":2}"#),
        )
        .await;
    assert_eq!(tagged.status, StatusCode::NO_CONTENT);
    let deleted = server.call(Method::DELETE, E, None).await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT, "{}", deleted.body);
    let got = receiver.next().await;
    let payload: serde_json::Value = serde_json::from_slice(&got.body).unwrap();
    assert_eq!(
        payload["kind"], "deleted",
        "the tag must not have been delivered"
    );
    assert_eq!(
        got.headers["pulumi-webhook-signature"].to_str().unwrap(),
        hmac_hex(HOOK_SECRET, &got.body)
    );
    server.stop().await;
}

#[tokio::test]
async fn ping_delivers_now_and_returns_the_delivery() {
    let (server, _dir) = server().await;
    let mut receiver = Receiver::start(Duration::ZERO).await;
    create_env(&server, "app", "dev").await;
    let created = server
        .call(
            Method::POST,
            &format!("{E}/hooks"),
            Some(
                &json!({"displayName": "d", "payloadUrl": receiver.url, "active": false})
                    .to_string(),
            ),
        )
        .await;
    assert_eq!(created.status, StatusCode::OK, "{}", created.body);
    assert_eq!(created.json()["hasSecret"], false);
    assert_eq!(created.json()["format"], "raw");

    // an inactive hook still answers pings; unsigned without a secret
    let ping = server
        .call(Method::POST, &format!("{E}/hooks/hook-1/ping"), None)
        .await;
    assert_eq!(ping.status, StatusCode::OK, "{}", ping.body);
    let delivery = ping.json();
    assert_eq!(delivery["kind"], "ping");
    assert_eq!(delivery["responseCode"], 200);
    let got = receiver.next().await;
    assert!(got.headers.get("pulumi-webhook-signature").is_none());
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(&got.body).unwrap()["kind"],
        "ping"
    );

    // a secret set by PATCH signs the next ping; "" keeps it; remove clears it
    let url = receiver.url.clone();
    let patch = |secret: serde_json::Value| {
        json!({"active": false, "displayName": "d", "payloadUrl": url, "secret": secret})
            .to_string()
    };
    let hook_path = format!("{E}/hooks/hook-1");
    let set = server
        .call(Method::PATCH, &hook_path, Some(&patch(json!(HOOK_SECRET))))
        .await;
    assert_eq!(set.status, StatusCode::OK, "{}", set.body);
    assert_eq!(set.json()["hasSecret"], true);
    let kept = server
        .call(Method::PATCH, &hook_path, Some(&patch(json!(""))))
        .await;
    assert_eq!(kept.json()["hasSecret"], true);
    server
        .call(Method::POST, &format!("{hook_path}/ping"), None)
        .await;
    let got = receiver.next().await;
    assert_eq!(
        got.headers["pulumi-webhook-signature"].to_str().unwrap(),
        hmac_hex(HOOK_SECRET, &got.body)
    );
    let removed = server
        .call(
            Method::PATCH,
            &hook_path,
            Some(&patch(json!("__remove-secret"))),
        )
        .await;
    assert_eq!(removed.json()["hasSecret"], false);

    // inactive: writes deliver nothing (the next thing received is the ping)
    patch_yaml(&server, E, "values:\n  a: 1\n", None).await;
    server
        .call(Method::POST, &format!("{hook_path}/ping"), None)
        .await;
    let got = receiver.next().await;
    assert_eq!(got.headers["pulumi-webhook-kind"], "ping");

    let listed = server
        .call(Method::GET, &format!("{hook_path}/deliveries"), None)
        .await;
    let kinds: Vec<String> = listed
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["kind"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(kinds, ["ping", "ping", "ping"]);

    let gone = server.call(Method::DELETE, &hook_path, None).await;
    assert_eq!(gone.status, StatusCode::NO_CONTENT);
    let missing = server.call(Method::GET, &hook_path, None).await;
    assert_eq!(
        missing.error(StatusCode::NOT_FOUND),
        "Not Found: webhook 'hook-1' not found"
    );
    let missing = server
        .call(Method::POST, &format!("{hook_path}/ping"), None)
        .await;
    missing.error(StatusCode::NOT_FOUND);
    server.stop().await;
}

#[tokio::test]
async fn bad_input_gets_documented_errors_and_changes_nothing() {
    let (server, _dir) = server().await;
    create_env(&server, "app", "dev").await;
    let hooks = format!("{E}/hooks");
    let cases = [
        (
            json!({"displayName": "d", "payloadUrl": "https://example.com/h", "format": "xml"}),
            "invalid format \"xml\": must be one of raw, slack, ms_teams, pulumi_deployments",
        ),
        (
            json!({"displayName": "d", "payloadUrl": "http://example.com/h"}),
            "invalid payload URL \"http://example.com/h\": it must use https://",
        ),
        (
            json!({"displayName": "d", "payloadUrl": "not a url"}),
            "invalid payload URL \"not a url\": not a valid URL",
        ),
        (
            json!({"displayName": "d", "payloadUrl": "https://169.254.169.254/x"}),
            "link-local or cloud metadata address",
        ),
        (
            json!({"displayName": "d", "payloadUrl": "https://example.com/h", "format": "slack"}),
            "a slack webhook's URL must begin with https://hooks.slack.com/",
        ),
        (
            json!({"displayName": "d", "payloadUrl": "https://x.com/h", "format": "pulumi_deployments"}),
            "a pulumi_deployments webhook's URL must be <project>/<stack>",
        ),
        (
            json!({"displayName": "d", "payloadUrl": "https://example.com/h", "filters": ["exploded"]}),
            "unknown webhook event \"exploded\"",
        ),
        (
            json!({"displayName": "d", "payloadUrl": "https://example.com/h", "groups": ["stacks"]}),
            "unknown webhook event group \"stacks\"",
        ),
        (
            json!({"displayName": "d", "payloadUrl": "https://example.com/h", "envName": "prod"}),
            "envName does not match the environment of the path",
        ),
        (
            json!({"displayName": "", "payloadUrl": "https://example.com/h"}),
            "display name",
        ),
        (
            json!({"displayName": "d", "name": "bad name", "payloadUrl": "https://example.com/h"}),
            "invalid webhook name \"bad name\"",
        ),
    ];
    for (body, expected) in cases {
        let reply = server
            .call(Method::POST, &hooks, Some(&body.to_string()))
            .await;
        let message = reply.error(StatusCode::BAD_REQUEST);
        assert!(message.contains(expected), "{body}: {message}");
    }
    let malformed = server.call(Method::POST, &hooks, Some("{not json")).await;
    assert!(
        malformed
            .error(StatusCode::BAD_REQUEST)
            .contains("invalid JSON body")
    );
    assert_eq!(server.call(Method::GET, &hooks, None).await.body, "[]\n");

    // a bad replacement leaves the hook as it was
    let good =
        json!({"displayName": "d", "payloadUrl": "https://example.com/h", "filters": ["created"]});
    let created = server
        .call(Method::POST, &hooks, Some(&good.to_string()))
        .await;
    assert_eq!(created.status, StatusCode::OK, "{}", created.body);
    let before = server
        .call(Method::GET, &format!("{hooks}/hook-1"), None)
        .await;
    let bad = server
        .call(
            Method::PATCH,
            &format!("{hooks}/hook-1"),
            Some(
                &json!({"displayName": "e", "payloadUrl": "ftp://example.com/", "format": "raw"})
                    .to_string(),
            ),
        )
        .await;
    assert!(
        bad.error(StatusCode::BAD_REQUEST)
            .contains("invalid payload URL")
    );
    let after = server
        .call(Method::GET, &format!("{hooks}/hook-1"), None)
        .await;
    assert_eq!(before.body, after.body);

    // unknown environment, unknown hook
    let unknown = server
        .call(
            Method::GET,
            "/api/esc/environments/acme/app/nope/hooks",
            None,
        )
        .await;
    unknown.error(StatusCode::NOT_FOUND);
    let unknown = server
        .call(Method::GET, &format!("{hooks}/nope/deliveries"), None)
        .await;
    unknown.error(StatusCode::NOT_FOUND);
    server.stop().await;
}

#[tokio::test]
async fn a_hanging_hook_does_not_slow_writes() {
    let (store, _dir) = sqlite_store().await;
    let server = TestServer::over_with_webhooks(
        store,
        HttpLimits::default(),
        WebhookConfig {
            allow_insecure_loopback_http: true,
            total_timeout: Duration::from_secs(12),
            ..WebhookConfig::default()
        },
    )
    .await;
    // answers only after 30 s; a delivery times out after 12 s
    let mut receiver = Receiver::start(Duration::from_secs(30)).await;
    create_env(&server, "app", "dev").await;
    let created = server
        .call(
            Method::POST,
            &format!("{E}/hooks"),
            Some(&json!({"displayName": "slow", "payloadUrl": receiver.url, "groups": ["environments"]}).to_string()),
        )
        .await;
    assert_eq!(created.status, StatusCode::OK, "{}", created.body);
    let started = Instant::now();
    for round in 0..20 {
        let reply = patch_yaml(&server, E, &format!("values:\n  round: {round}\n"), None).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    }
    let elapsed = started.elapsed();
    assert!(
        elapsed < Duration::from_secs(10),
        "20 PATCHes took {elapsed:?} with a hanging hook"
    );
    // the hook was being called meanwhile
    let got = receiver.next().await;
    assert_eq!(got.headers["pulumi-webhook-kind"], "updated");
    // a ping waits for the answer, bounded by the total timeout
    let started = Instant::now();
    let ping = server
        .call(Method::POST, &format!("{E}/hooks/hook-1/ping"), None)
        .await;
    assert_eq!(ping.status, StatusCode::OK, "{}", ping.body);
    assert!(started.elapsed() < Duration::from_secs(25));
    let delivery = ping.json();
    assert_eq!(delivery["responseCode"], 0);
    assert!(
        delivery["responseBody"]
            .as_str()
            .unwrap()
            .contains("timed out"),
        "{delivery}"
    );
    server.stop().await;
}

#[tokio::test]
async fn only_environment_admins_manage_hooks() {
    let (store, _dir) = sqlite_store().await;
    let server = TestServer::over_with_webhooks(
        store.clone(),
        HttpLimits::default(),
        WebhookConfig::default(),
    )
    .await;
    create_env(&server, "app", "dev").await;
    let bob = store
        .create_access_token("bob", "test", None, "test-admin")
        .await
        .unwrap();
    let reply = server
        .client
        .get(format!("{}{E}/hooks", server.url))
        .header(
            "Authorization",
            format!("token {}", bob.secret.expose_str().unwrap()),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), StatusCode::FORBIDDEN);
    server.stop().await;
}

#[tokio::test]
async fn on_postgres_any_server_delivers_and_rows_hold_no_plaintext_secret() {
    let Some(url) = crate::harness::fresh_database().await else {
        return;
    };
    let key = esc_store::MasterKey::from_bytes(&[9u8; 32]).unwrap();
    let instance = |key: esc_store::MasterKey| {
        let url = url.clone();
        async move {
            let store = esc_store::SqlStore::connect_postgres(&url, key, 4)
                .await
                .unwrap();
            TestServer::over_with_webhooks(
                std::sync::Arc::new(store),
                HttpLimits::default(),
                WebhookConfig {
                    allow_insecure_loopback_http: true,
                    ..WebhookConfig::default()
                },
            )
            .await
        }
    };
    let first = instance(key).await;
    let second = instance(esc_store::MasterKey::from_bytes(&[9u8; 32]).unwrap()).await;
    let mut receiver = Receiver::start(Duration::ZERO).await;
    create_env(&first, "app", "dev").await;
    let created = first
        .call(
            Method::POST,
            &format!("{E}/hooks"),
            Some(
                &json!({"displayName": "d", "payloadUrl": receiver.url, "secret": HOOK_SECRET})
                    .to_string(),
            ),
        )
        .await;
    assert_eq!(created.status, StatusCode::OK, "{}", created.body);

    // the second server writes; it finds the hook in the shared database
    let patched = patch_yaml(&second, E, "values:\n  a: 1\n", None).await;
    assert_eq!(patched.status, StatusCode::OK, "{}", patched.body);
    let got = receiver.next().await;
    assert_eq!(
        got.headers["pulumi-webhook-signature"].to_str().unwrap(),
        hmac_hex(HOOK_SECRET, &got.body)
    );
    let mut listed = json!([]);
    for _ in 0..100 {
        listed = first
            .call(Method::GET, &format!("{E}/hooks/hook-1/deliveries"), None)
            .await
            .json();
        if listed.as_array().is_some_and(|items| !items.is_empty()) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(listed[0]["kind"], "updated", "{listed}");

    let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    for query in [
        "SELECT secret FROM webhooks",
        "SELECT details FROM webhook_deliveries",
    ] {
        for row in client.query(query, &[]).await.unwrap() {
            let bytes: Vec<u8> = row.get(0);
            assert!(
                !bytes
                    .windows(HOOK_SECRET.len())
                    .any(|w| w == HOOK_SECRET.as_bytes()),
                "{query} holds the secret"
            );
        }
    }
    first.stop().await;
    second.stop().await;
}
