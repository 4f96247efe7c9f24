//! The official Python ESC SDK (`pulumi-esc-sdk` 0.14) through the calls
//! its integration sequence leaves out (`tests/python/sdk_more.py`): HEAD,
//! model-based update and check, clone options, paging, opening at a
//! version with a duration, decrypt, and its parsing of error answers; on
//! SQLite and on PostgreSQL.

use std::sync::Arc;
use std::time::Duration;

use esc_server::HttpLimits;
use esc_store::{MasterKey, SqlStore, Store};

use crate::harness::{TestServer, fresh_database, service_var, sqlite_server};

/// Runs the script against `server`; panics with its output on failure.
async fn run_script(python: &str, server: &TestServer) {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/python/sdk_more.py");
    let child = tokio::process::Command::new(python)
        .arg(script)
        .arg("acme-more")
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
    assert!(stdout.contains("sdk more passed"), "{stdout}");
}

#[tokio::test]
async fn python_sdk_calls_beyond_the_integration_sequence() {
    let Some(python) = service_var("ESC_TEST_PYTHON") else {
        return;
    };
    let (server, _dir) = sqlite_server().await;
    run_script(&python, &server).await;
    server.stop().await;
}

#[tokio::test]
async fn python_sdk_calls_beyond_the_integration_sequence_on_postgres() {
    let Some(python) = service_var("ESC_TEST_PYTHON") else {
        return;
    };
    let Some(url) = fresh_database().await else {
        return;
    };
    let store = SqlStore::connect_postgres(&url, MasterKey::generate().unwrap(), 4)
        .await
        .unwrap();
    let store: Arc<dyn Store> = Arc::new(store);
    let server = TestServer::over(store, HttpLimits::default()).await;
    run_script(&python, &server).await;
    server.stop().await;
}
