//! Upgrading a database that an older version created.
#![allow(clippy::unwrap_used)]

use super::*;
use crate::sqlite::SqliteBackend;

#[tokio::test]
async fn an_old_schema_is_upgraded_step_by_step() {
    let dir = tempfile::tempdir().unwrap();
    let backend = SqliteBackend::open(&dir.path().join("old.db"))
        .await
        .unwrap();
    assert_eq!(migrate_up_to(&backend, 1).await.unwrap(), [1]);
    // Data written by version 1 survives the upgrade.
    let mut tx = backend.begin().await.unwrap();
    tx.execute(
        "INSERT INTO organizations (name, created) VALUES ($1, $2)",
        args!["acme", 5_i64],
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();

    let applied = migrate(&backend).await.unwrap();
    assert_eq!(applied, (2..=latest_schema_version()).collect::<Vec<_>>());
    assert!(migrate(&backend).await.unwrap().is_empty());
    let mut tx = backend.begin().await.unwrap();
    let versions = tx
        .query(
            "SELECT version FROM schema_migrations ORDER BY version",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(versions.len() as i64, latest_schema_version());
    let orgs = tx
        .query("SELECT name FROM organizations", vec![])
        .await
        .unwrap();
    assert_eq!(orgs[0].text(0).unwrap(), "acme");
    // The new table exists.
    tx.query("SELECT id FROM webhook_deliveries", vec![])
        .await
        .unwrap();
    tx.commit().await.unwrap();
}

#[tokio::test]
async fn a_newer_schema_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let backend = SqliteBackend::open(&dir.path().join("new.db"))
        .await
        .unwrap();
    migrate(&backend).await.unwrap();
    let mut tx = backend.begin().await.unwrap();
    tx.execute(
        "INSERT INTO schema_migrations (version, name, applied) VALUES ($1, 'future', 0)",
        args![latest_schema_version() + 1],
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let error = migrate(&backend).await.unwrap_err();
    assert!(
        error
            .to_string()
            .contains("newer than this program supports"),
        "{error}"
    );
}
