//! PyJWT compatibility: the reference-style Python adapter (tests/python/pyjwt_adapter.py:
//! PyJWKClient, `jwt.decode(..., algorithms=["RS256"], audience=ADAPTER_URL)`, body_hash)
//! accepts our tokens unchanged and refuses a tampered body or a foreign key.

use std::io::{BufRead as _, BufReader};
use std::process::{Child, Command, Stdio};

use esc_oidc::{SigningKey, UnixTime};

use crate::support::{AUDIENCE, forge_rs256, mint, new_issuer, part, post_to, service};

/// The Python adapter as a child process on 127.0.0.1, killed on drop.
struct PythonAdapter {
    child: Child,
    url: String,
}

impl PythonAdapter {
    fn start(python: &str, jwks_url: &str) -> PythonAdapter {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/python/pyjwt_adapter.py");
        let mut child = Command::new(python)
            .arg(script)
            .env("JWKS_URL", jwks_url)
            .env("ADAPTER_URL", AUDIENCE)
            .env("PORT", "0")
            .env("ADAPTER_VALUE_DATABASE_PASSWORD", "hunter2")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let mut line = String::new();
        // Blocks until the adapter prints its port or exits (EOF); bounded by the test
        // runner's timeout, and the script prints before serving.
        BufReader::new(stdout).read_line(&mut line).unwrap();
        let port = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("unexpected first line from the Python adapter: {line:?}"));
        PythonAdapter {
            child,
            url: format!("http://127.0.0.1:{port}/fetch"),
        }
    }
}

impl Drop for PythonAdapter {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test]
async fn pyjwt_adapter_accepts_our_tokens_and_refuses_tampering() {
    let Some(python) = service("ESC_TEST_PYTHON") else {
        return;
    };
    let issuer = new_issuer();
    let jwks =
        crate::support::JwksServer::start(serde_json::to_value(issuer.jwks()).unwrap()).await;
    let adapter = PythonAdapter::start(&python, &jwks.url);
    let body = br#"{"name":"DATABASE_PASSWORD"}"#;
    let now = UnixTime::now();

    let token = mint(&issuer, AUDIENCE, body, now);
    let (status, _, response) = post_to(&adapter.url, Some(&format!("Bearer {token}")), body).await;
    assert_eq!(status, 200, "{response}");
    let response: serde_json::Value = serde_json::from_str(&response).unwrap();
    assert_eq!(
        response,
        serde_json::json!({"value": "hunter2", "org": "acme"})
    );
    assert!(
        jwks.fetch_count() >= 1,
        "PyJWKClient never fetched our JWKS"
    );

    // Body changed after signing.
    let token = mint(&issuer, AUDIENCE, body, now);
    let tampered = br#"{"name":"DATABASE_PASSWORX"}"#;
    let (status, _, response) =
        post_to(&adapter.url, Some(&format!("Bearer {token}")), tampered).await;
    assert_eq!(
        (status, response.as_str()),
        (401, r#"{"error": "body hash mismatch"}"#)
    );

    // Same kid, other key.
    let token = mint(&issuer, AUDIENCE, body, now);
    let foreign = SigningKey::generate().unwrap();
    let forged = forge_rs256(&part(&token, 0), &part(&token, 1), &foreign);
    let (status, _, response) =
        post_to(&adapter.url, Some(&format!("Bearer {forged}")), body).await;
    assert_eq!(
        (status, response.as_str()),
        (401, r#"{"error": "invalid token"}"#)
    );

    // Our wrong-audience token is refused there too.
    let token = mint(&issuer, "https://adapter.example.com/other", body, now);
    let (status, _, _) = post_to(&adapter.url, Some(&format!("Bearer {token}")), body).await;
    assert_eq!(status, 401);
}
