//! Serves prefixed variables to verified callers only; refuses everything else.

use std::io::{BufRead as _, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;

use esc_oidc::{EnvRef, Issuer, IssuerConfig, TokenRequest, UnixTime};

const ISSUER: &str = "https://esc.example.com";
const AUDIENCE: &str = "https://adapter.example.com/";

struct EnvAdapter {
    child: Child,
    url: String,
}

impl EnvAdapter {
    fn start(jwks_url: &str) -> EnvAdapter {
        let mut child = Command::new(env!("CARGO_BIN_EXE_env-adapter"))
            .env("ADAPTER_URL", AUDIENCE)
            .env("ESC_ISSUER", ISSUER)
            .env("ESC_JWKS_URL", jwks_url)
            .env("ADAPTER_LISTEN", "127.0.0.1:0")
            .env("ADAPTER_ALLOWED_ORGS", "acme, other")
            .env("ADAPTER_VALUE_DB_PASSWORD", "hunter2")
            .env("NOT_PREFIXED", "must not be served")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let mut line = String::new();
        // The binary prints its address right after binding, or exits (EOF).
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let addr = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
            .to_owned();
        EnvAdapter {
            child,
            url: format!("http://{addr}/"),
        }
    }
}

impl Drop for EnvAdapter {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn serve_jwks(issuer: Arc<Issuer>) -> (String, tokio::task::JoinHandle<()>) {
    let router = axum::Router::new().route(
        "/.well-known/jwks",
        axum::routing::get(move || async move { axum::Json(issuer.jwks()) }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/.well-known/jwks", listener.local_addr().unwrap());
    let task = tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    (url, task)
}

fn env(org: &str) -> EnvRef {
    EnvRef {
        org: org.to_owned(),
        project: String::from("payments"),
        name: String::from("prod"),
    }
}

async fn call(issuer: &Issuer, url: &str, org: &str, body: &str) -> (u16, String) {
    let current = env(org);
    let token = issuer
        .mint(
            &TokenRequest {
                audience: AUDIENCE,
                current_env: &current,
                root_env: &current,
                trigger_user: "alice",
            },
            body.as_bytes(),
        )
        .unwrap();
    let response = reqwest::Client::new()
        .post(url)
        .header("Authorization", format!("Bearer {token}"))
        .header("Content-Type", "application/json")
        .body(body.to_owned())
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

#[tokio::test]
async fn serves_prefixed_values_to_verified_callers_only() {
    let issuer = Arc::new(Issuer::ephemeral(IssuerConfig::new(ISSUER), UnixTime::now()).unwrap());
    let (jwks_url, jwks_task) = serve_jwks(Arc::clone(&issuer)).await;
    let adapter = EnvAdapter::start(&jwks_url);

    assert_eq!(
        call(&issuer, &adapter.url, "acme", r#"{"name":"DB_PASSWORD"}"#).await,
        (200, String::from(r#"{"value":"hunter2"}"#))
    );
    for name in ["NOT_PREFIXED", "ADAPTER_VALUE_DB_PASSWORD", "PATH", ""] {
        let body = serde_json::json!({ "name": name }).to_string();
        assert_eq!(
            call(&issuer, &adapter.url, "acme", &body).await,
            (404, String::from(r#"{"error":"no such value"}"#)),
            "{name}"
        );
    }
    assert_eq!(
        call(&issuer, &adapter.url, "evil", r#"{"name":"DB_PASSWORD"}"#).await,
        (403, String::from(r#"{"error":"organization not allowed"}"#))
    );
    assert_eq!(
        call(&issuer, &adapter.url, "other", "not json").await,
        (
            400,
            String::from(r#"{"error":"expected {\"name\": \"...\"}"}"#)
        )
    );

    let stranger = Issuer::ephemeral(IssuerConfig::new(ISSUER), UnixTime::now()).unwrap();
    assert_eq!(
        call(&stranger, &adapter.url, "acme", r#"{"name":"DB_PASSWORD"}"#).await,
        (401, String::from(r#"{"error":"unknown signing key"}"#))
    );
    let response = reqwest::Client::new()
        .post(&adapter.url)
        .body(r#"{"name":"DB_PASSWORD"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    assert_eq!(
        response.text().await.unwrap(),
        r#"{"error":"missing bearer token"}"#
    );
    jwks_task.abort();
}

#[test]
fn missing_configuration_exits_with_a_clear_error() {
    let output = Command::new(env!("CARGO_BIN_EXE_env-adapter"))
        .env_remove("ADAPTER_URL")
        .env("ESC_ISSUER", ISSUER)
        .env("ADAPTER_LISTEN", "127.0.0.1:0")
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("ADAPTER_URL is not set"), "{stderr}");
}

#[tokio::test]
async fn sigterm_stops_the_server_cleanly() {
    let issuer = Arc::new(Issuer::ephemeral(IssuerConfig::new(ISSUER), UnixTime::now()).unwrap());
    let (jwks_url, jwks_task) = serve_jwks(issuer).await;
    let mut adapter = EnvAdapter::start(&jwks_url);
    let status = Command::new("kill")
        .args(["-TERM", &adapter.child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let exit = loop {
        if let Some(exit) = adapter.child.try_wait().unwrap() {
            break exit;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no exit 10 s after SIGTERM"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    assert!(exit.success(), "{exit}");
    jwks_task.abort();
}
