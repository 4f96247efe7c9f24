//! The SQLite backend's connection handling.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use super::*;
use crate::db::args;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_do_not_wait_for_an_open_write() {
    let dir = tempfile::tempdir().unwrap();
    let backend = SqliteBackend::open(&dir.path().join("t.db")).await.unwrap();
    let mut setup = backend.begin().await.unwrap();
    setup.batch("CREATE TABLE t (v BIGINT)").await.unwrap();
    setup
        .execute("INSERT INTO t (v) VALUES ($1)", args![1_i64])
        .await
        .unwrap();
    setup.commit().await.unwrap();

    let mut writer = backend.begin().await.unwrap();
    writer
        .execute("UPDATE t SET v = $1", args![2_i64])
        .await
        .unwrap();
    // While the write is open, a read sees the committed snapshot at once.
    let read = async {
        let mut reader = backend.begin_read().await.unwrap();
        let rows = reader.query("SELECT v FROM t", vec![]).await.unwrap();
        reader.commit().await.unwrap();
        rows[0].int(0).unwrap()
    };
    assert_eq!(
        tokio::time::timeout(Duration::from_secs(5), read)
            .await
            .unwrap(),
        1
    );
    writer.commit().await.unwrap();
    let mut reader = backend.begin_read().await.unwrap();
    assert_eq!(
        reader.query("SELECT v FROM t", vec![]).await.unwrap()[0]
            .int(0)
            .unwrap(),
        2
    );
    // Readers cannot write.
    assert!(
        reader
            .execute("UPDATE t SET v = $1", args![3_i64])
            .await
            .is_err()
    );
}

#[tokio::test]
async fn an_abandoned_transaction_is_rolled_back_before_the_next() {
    let dir = tempfile::tempdir().unwrap();
    let backend = SqliteBackend::open(&dir.path().join("t.db")).await.unwrap();
    let mut setup = backend.begin().await.unwrap();
    setup.batch("CREATE TABLE t (v BIGINT)").await.unwrap();
    setup.commit().await.unwrap();
    let mut abandoned = backend.begin().await.unwrap();
    abandoned
        .execute("INSERT INTO t (v) VALUES ($1)", args![1_i64])
        .await
        .unwrap();
    drop(abandoned);
    let mut next = backend.begin().await.unwrap();
    assert!(
        next.query("SELECT v FROM t", vec![])
            .await
            .unwrap()
            .is_empty()
    );
    next.commit().await.unwrap();
}

#[tokio::test]
async fn database_errors_do_not_echo_bound_values() {
    let dir = tempfile::tempdir().unwrap();
    let backend = SqliteBackend::open(&dir.path().join("t.db")).await.unwrap();
    let mut tx = backend.begin().await.unwrap();
    tx.batch("CREATE TABLE t (v TEXT UNIQUE NOT NULL, n BIGINT CHECK (n > 0))")
        .await
        .unwrap();
    tx.execute(
        "INSERT INTO t (v, n) VALUES ($1, $2)",
        args!["VALUE-7731", 1_i64],
    )
    .await
    .unwrap();
    let duplicate = tx
        .execute(
            "INSERT INTO t (v, n) VALUES ($1, $2)",
            args!["VALUE-7731", 1_i64],
        )
        .await
        .unwrap_err();
    assert!(duplicate.is_unique_violation());
    let checked = tx
        .execute(
            "INSERT INTO t (v, n) VALUES ($1, $2)",
            args!["VALUE-8842", -5_i64],
        )
        .await
        .unwrap_err();
    assert!(!checked.is_unique_violation());
    for error in [duplicate, checked] {
        let text = format!("{error} {error:?}");
        assert!(!text.contains("VALUE-"), "{text}");
        assert!(!text.contains("-5"), "{text}");
    }
}

#[tokio::test]
async fn a_one_statement_read_runs_one_statement_outside_a_transaction() {
    let dir = tempfile::tempdir().unwrap();
    let backend = SqliteBackend::open(&dir.path().join("t.db")).await.unwrap();
    let mut setup = backend.begin().await.unwrap();
    setup.batch("CREATE TABLE t (v BIGINT)").await.unwrap();
    setup
        .execute("INSERT INTO t (v) VALUES ($1)", args![1_i64])
        .await
        .unwrap();
    setup.commit().await.unwrap();

    let mut read = backend.begin_statement().await.unwrap();
    let rows = read.query("SELECT v FROM t", vec![]).await.unwrap();
    assert_eq!(rows[0].int(0).unwrap(), 1);
    // a second statement would not share the first one's snapshot
    assert!(read.query("SELECT v FROM t", vec![]).await.is_err());
    read.commit().await.unwrap();
    // every reader is left outside any transaction: a write sees no reader
    // snapshot pinning the WAL, and the next reads work
    for _ in 0..N_READERS + 1 {
        let mut read = backend.begin_statement().await.unwrap();
        read.query("SELECT v FROM t", vec![]).await.unwrap();
        read.commit().await.unwrap();
    }
    for reader in &backend.readers {
        assert!(reader.lock().await.is_autocommit());
    }
}

#[tokio::test]
async fn cached_statements_are_not_prepared_again_when_bindings_change() {
    let dir = tempfile::tempdir().unwrap();
    let backend = SqliteBackend::open(&dir.path().join("t.db")).await.unwrap();
    let mut setup = backend.begin().await.unwrap();
    setup
        .batch("CREATE TABLE t (id BIGINT PRIMARY KEY, v BIGINT)")
        .await
        .unwrap();
    setup.commit().await.unwrap();
    // An equality with a bound integer and a bound LIMIT: both made SQLite
    // re-prepare the statement whenever the binding changed (and rusqlite
    // clears bindings whenever a statement goes back to its cache).
    let sql = "SELECT v FROM t WHERE id = ?1 ORDER BY v LIMIT ?2";
    for connection in std::iter::once(&backend.connection).chain(&backend.readers) {
        let connection = connection.lock().await;
        for (id, limit) in [(0_i64, 1_i64), (5, 10), (1, 0), (7, 3)] {
            let mut statement = connection.prepare_cached(sql).unwrap();
            statement
                .query_map(rusqlite::params![id, limit], |row| row.get::<_, i64>(0))
                .unwrap()
                .for_each(drop);
        }
        let statement = connection.prepare_cached(sql).unwrap();
        assert_eq!(
            statement.get_status(rusqlite::StatementStatus::RePrepare),
            0
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_wal_is_checkpointed_by_the_background_thread_not_by_commits() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.db");
    let backend = SqliteBackend::open(&path).await.unwrap();
    // The writer's commits never checkpoint (that stalled them under load).
    let autocheckpoint = backend
        .connection
        .lock()
        .await
        .query_row("PRAGMA wal_autocheckpoint", [], |row| row.get::<_, i64>(0))
        .unwrap();
    assert_eq!(autocheckpoint, 0);
    let mut setup = backend.begin().await.unwrap();
    setup.batch("CREATE TABLE t (v BYTEA)").await.unwrap();
    setup.commit().await.unwrap();
    // 8 MiB: over the 1000 pages (4 MiB) of SQLite's automatic checkpoint.
    const WRITTEN: u64 = 8 << 20;
    for _ in 0..8 {
        let mut tx = backend.begin().await.unwrap();
        for _ in 0..16 {
            tx.execute("INSERT INTO t (v) VALUES ($1)", args![vec![7_u8; 64 << 10]])
                .await
                .unwrap();
        }
        tx.commit().await.unwrap();
    }
    // The checkpoint thread copies the WAL into the database file by itself.
    let mut size = 0;
    for _ in 0..100 {
        size = std::fs::metadata(&path).unwrap().len();
        if size >= WRITTEN {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        size >= WRITTEN,
        "database file still {size} bytes after 5 s"
    );
}
