//! The official Python ESC SDK (`pulumi-esc-sdk` 0.14) drives a real server
//! through the SDK integration-test sequence (`tests/python/sdk_client.py`).

use std::time::Duration;

use crate::harness::{service_var, sqlite_server};

#[tokio::test]
async fn official_python_sdk_drives_the_server() {
    let Some(python) = service_var("ESC_TEST_PYTHON") else {
        return;
    };
    let (server, _dir) = sqlite_server().await;
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/python/sdk_client.py");
    let child = tokio::process::Command::new(python)
        .arg(script)
        .arg("acme-sdk")
        .env("PULUMI_BACKEND_URL", &server.url)
        .env("PULUMI_ACCESS_TOKEN", &server.token)
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(Duration::from_secs(120), child)
        .await
        .expect("the SDK script finished within 120 s")
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "SDK script failed\nstdout:\n{stdout}\nstderr:\n{stderr}"
    );
    assert!(stdout.contains("sdk sequence passed"), "{stdout}");
    server.stop().await;
}
