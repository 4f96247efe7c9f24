//! Purging expired sessions in bounded transactions.
#![allow(clippy::unwrap_used)]

use super::*;
use crate::model::{Author, EnvRef};

/// Rows of `table` left, read from the database.
async fn rows(store: &SqlStore, table: &str) -> i64 {
    let mut tx = store.backend.begin_read().await.unwrap();
    let found = tx
        .query(&format!("SELECT count(*) FROM {table}"), vec![])
        .await
        .unwrap();
    tx.commit().await.unwrap();
    found[0].int(0).unwrap()
}

#[tokio::test]
async fn expired_sessions_are_purged_a_bounded_batch_per_transaction() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqlStore::open_sqlite(dir.path(), MasterKey::generate().unwrap())
        .await
        .unwrap();
    store.create_organization("acme").await.unwrap();
    let env = EnvRef::new("acme", "app", "dev");
    let author = Author::new("alice", "Alice");
    store.create_environment(&env, &author).await.unwrap();
    let cipher = store.environment_cipher(&env).await.unwrap();
    let now = Timestamp::now();
    let (soon, later) = (now.plus_millis(1_000), now.plus_millis(3_600_000));
    // 10 sessions expiring soon, 2 later; 4 shared results expiring soon
    for (count, expires) in [(10, soon), (2, later)] {
        for _ in 0..count {
            store
                .create_session(&env, &cipher, 1, b"{}", expires, None)
                .await
                .unwrap();
        }
    }
    for _ in 0..4 {
        store
            .create_shared_session(
                &env,
                &cipher,
                1,
                SharedResult::New {
                    result: b"{}",
                    keep_until: soon,
                },
                soon,
                None,
            )
            .await
            .unwrap();
    }
    assert_eq!(rows(&store, "sessions").await, 16);
    assert_eq!(rows(&store, "session_results").await, 4);
    let purge_at = now.plus_millis(60_000);

    // one transaction deletes at most its limit, the oldest first
    let mut tx = store.backend.begin().await.unwrap();
    let purged = access::purge_expired(&mut *tx, access::Purged::Sessions, purge_at, 3)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(purged, 3);
    assert_eq!(rows(&store, "sessions").await, 13);

    // the loop goes on until a batch comes back short: of the 14 expired
    // sessions (10 with their own result, 4 of shared results), the 11
    // left, then the shared results
    let purged = store.purge_in_batches(purge_at, 3).await.unwrap();
    assert_eq!(purged, 11);
    assert_eq!(rows(&store, "sessions").await, 2);
    assert_eq!(rows(&store, "session_results").await, 0);
    // nothing left to purge: one short batch per table
    assert_eq!(store.purge_in_batches(purge_at, 3).await.unwrap(), 0);
}
