//! Two server instances (separate stores and pools) on one PostgreSQL
//! database: each sees the other's writes and open sessions; rows never
//! hold plaintext secrets.

use std::sync::Arc;

use esc_server::HttpLimits;
use esc_store::{MasterKey, SqlStore, Store};
use reqwest::{Method, StatusCode};

use crate::harness::{E, TestServer, fresh_database, patch_yaml};
use crate::secrets::{SECRET_A, SECRET_B, contains, save_and_check};

async fn instance(url: &str, key: &[u8; 32]) -> TestServer {
    let store = SqlStore::connect_postgres(url, MasterKey::from_bytes(key).unwrap(), 4)
        .await
        .unwrap();
    let store: Arc<dyn Store> = Arc::new(store);
    TestServer::over(store, HttpLimits::default()).await
}

#[tokio::test]
async fn two_instances_share_writes_and_sessions() {
    let Some(url) = fresh_database().await else {
        return;
    };
    let key = [7u8; 32];
    let first = instance(&url, &key).await;
    let second = instance(&url, &key).await;

    save_and_check(&first).await;
    // the second instance sees the first's write …
    let seen = second.call(Method::GET, E, None).await;
    assert_eq!(seen.status, StatusCode::OK);
    assert_eq!(seen.header("Pulumi-ESC-Revision"), "2");
    // … and its open session
    let id = first
        .call(Method::POST, &format!("{E}/open"), None)
        .await
        .json()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let read = second
        .call(Method::GET, &format!("{E}/open//{id}?property=a"), None)
        .await;
    assert_eq!(read.status, StatusCode::OK, "{}", read.body);
    assert_eq!(read.json()["value"], SECRET_A);
    // a write through the second is visible to the first, and the first's stale etag conflicts
    let etag = seen.header("etag").to_owned();
    let updated = patch_yaml(&second, E, "values:\n  b: 2\n", Some(&etag)).await;
    assert_eq!(updated.status, StatusCode::OK);
    let stale = patch_yaml(&first, E, "values:\n  b: 3\n", Some(&etag)).await;
    stale.error(StatusCode::CONFLICT);
    assert_eq!(
        first.call(Method::GET, E, None).await.body,
        "values:\n  b: 2\n"
    );

    first.stop().await;
    second.stop().await;

    // no row holds a plaintext secret (a data-only dump of the whole database)
    let dump = std::process::Command::new("/usr/lib/postgresql/15/bin/pg_dump")
        .args(["--data-only", "--dbname", &url])
        .output()
        .unwrap();
    assert!(
        dump.status.success(),
        "{}",
        String::from_utf8_lossy(&dump.stderr)
    );
    assert!(
        contains(&dump.stdout, "COPY public."),
        "the dump has table data"
    );
    assert!(
        !contains(&dump.stdout, SECRET_A),
        "plaintext secret in PostgreSQL rows"
    );
    assert!(
        !contains(&dump.stdout, SECRET_B),
        "plaintext secret in PostgreSQL rows"
    );
}
