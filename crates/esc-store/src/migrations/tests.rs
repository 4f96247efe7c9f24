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

/// Version 6 copies the sessions table on SQLite to drop its foreign key:
/// the sessions stored before keep every column, the expiry index is
/// there again, and a session no longer needs its environment row.
#[tokio::test]
async fn sessions_survive_the_copy_that_drops_their_foreign_key() {
    let dir = tempfile::tempdir().unwrap();
    let backend = SqliteBackend::open(&dir.path().join("v5.db"))
        .await
        .unwrap();
    migrate_up_to(&backend, 5).await.unwrap();
    let mut tx = backend.begin().await.unwrap();
    tx.batch(
        "INSERT INTO organizations (name, created) VALUES ('acme', 1); \
         INSERT INTO projects (org, name, created) VALUES ('acme', 'app', 1); \
         INSERT INTO environments (id, org, project, name, created, modified, latest_revision, \
             deletion_protected, data_key) VALUES ('env1', 'acme', 'app', 'dev', 1, 1, 1, 0, x'00'); \
         INSERT INTO sessions (id_hash, env_id, revision, result, created, expires, result_id) \
             VALUES (x'0102', 'env1', 3, x'aabb', 10, 20, NULL), \
                    (x'0304', 'env1', 4, x'', 11, 21, 'result1')",
    )
    .await
    .unwrap();
    // before: the foreign key refuses a session of no environment
    let orphan = "INSERT INTO sessions (id_hash, env_id, revision, result, created, expires) \
                  VALUES (x'0506', 'nowhere', 1, x'', 1, 2)";
    assert!(tx.batch(orphan).await.is_err());
    tx.commit().await.unwrap();

    assert_eq!(migrate_up_to(&backend, 6).await.unwrap(), [6]);
    let mut tx = backend.begin().await.unwrap();
    let rows = tx
        .query(
            "SELECT id_hash, env_id, revision, result, created, expires, result_id \
             FROM sessions ORDER BY id_hash",
            vec![],
        )
        .await
        .unwrap();
    let read: Vec<_> = rows
        .iter()
        .map(|row| {
            (
                row.bytes(0).unwrap(),
                row.text(1).unwrap(),
                row.int(2).unwrap(),
                row.bytes(3).unwrap(),
                row.int(4).unwrap(),
                row.int(5).unwrap(),
                row.opt_text(6).unwrap(),
            )
        })
        .collect();
    assert_eq!(
        read,
        [
            (vec![1, 2], "env1".into(), 3, vec![0xaa, 0xbb], 10, 20, None),
            (
                vec![3, 4],
                "env1".into(),
                4,
                vec![],
                11,
                21,
                Some("result1".into())
            ),
        ]
    );
    let indexes = tx
        .query(
            "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'sessions' \
             AND name = 'sessions_by_expiry'",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(indexes.len(), 1);
    // after: the environment is the writer's to check
    tx.batch(orphan).await.unwrap();
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
