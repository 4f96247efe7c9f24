//! The `dual-secret-rotator` binary as a child process: configuration errors, and a
//! rotation through its real listener.

use std::io::{BufRead as _, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;

use esc_oidc::{Issuer, IssuerConfig, UnixTime};

use crate::harness::{ISSUER, client, serve_jwks, signed_post};

struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn the_binary_rotates_and_validates() {
    let issuer = Arc::new(Issuer::ephemeral(IssuerConfig::new(ISSUER), UnixTime::now()).unwrap());
    let (jwks_url, jwks_task) = serve_jwks(Arc::clone(&issuer)).await;
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("credentials.json");
    // The audience is fixed before the port is known: the rotator checks `aud` against
    // ADAPTER_URL exactly as written, not against its own address.
    let audience = "https://rotator.example.com/";
    let mut child = KillOnDrop(
        Command::new(env!("CARGO_BIN_EXE_dual-secret-rotator"))
            .env("ADAPTER_URL", audience)
            .env("ESC_ISSUER", ISSUER)
            .env("ESC_JWKS_URL", &jwks_url)
            .env("ROTATOR_STORE", &store)
            .env("ADAPTER_LISTEN", "127.0.0.1:0")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap(),
    );
    let mut line = String::new();
    BufReader::new(child.0.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let address = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_owned();
    let url = format!("http://{address}/");

    let body = serde_json::json!({"request": {"service": "db"}, "state": null}).to_string();
    let (status, credential) = signed_post(&issuer, &url, audience, &body).await;
    assert_eq!(status, 200, "{credential}");
    assert_eq!(credential["slot"], "a");
    let validated = client()
        .post(format!("{url}validate"))
        .json(&serde_json::json!({"apiKey": credential["apiKey"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(validated.status(), 200);
    assert!(store.exists());
    jwks_task.abort();
}

#[test]
fn missing_store_setting_exits_with_a_clear_error() {
    let output = Command::new(env!("CARGO_BIN_EXE_dual-secret-rotator"))
        .env("ADAPTER_URL", "https://rotator.example.com/")
        .env("ESC_ISSUER", ISSUER)
        .env_remove("ROTATOR_STORE")
        .env("ADAPTER_LISTEN", "127.0.0.1:0")
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("ROTATOR_STORE is not set"), "{stderr}");
}
