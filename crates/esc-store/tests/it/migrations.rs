//! Migration behaviour that needs control over fresh databases.

use esc_store::{MasterKey, SqlStore, Store, latest_schema_version};

use crate::harness::fresh_database;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_concurrent_migrators_both_succeed() {
    let Some(url) = fresh_database().await else {
        return;
    };
    let key = [7u8; 32];
    let mut tasks = Vec::new();
    for _ in 0..4 {
        let url = url.clone();
        tasks.push(tokio::spawn(async move {
            SqlStore::connect_postgres(&url, MasterKey::from_bytes(&key).unwrap(), 2).await
        }));
    }
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    let rows = client
        .query(
            "SELECT version FROM schema_migrations ORDER BY version",
            &[],
        )
        .await
        .unwrap();
    let versions: Vec<i64> = rows.iter().map(|r| r.get(0)).collect();
    assert_eq!(versions, (1..=latest_schema_version()).collect::<Vec<_>>());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_concurrent_openers_both_succeed() {
    let dir = tempfile::tempdir().unwrap();
    let key = [9u8; 32];
    let (a, b) = tokio::join!(
        SqlStore::open_sqlite(dir.path(), MasterKey::from_bytes(&key).unwrap()),
        SqlStore::open_sqlite(dir.path(), MasterKey::from_bytes(&key).unwrap()),
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    assert!(a.migrate().await.unwrap().is_empty());
    assert!(b.migrate().await.unwrap().is_empty());
}

#[tokio::test]
async fn embedded_open_creates_the_key_file_once() {
    // Only meaningful when the key does not come from the environment.
    if std::env::var_os(esc_store::crypto::MASTER_KEY_ENV).is_some() {
        eprintln!("skipped: ESC_MASTER_KEY is set");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let location = esc_store::Location::Embedded(&data);
    let (store, source) = SqlStore::open(location.clone()).await.unwrap();
    assert_eq!(
        source,
        esc_store::MasterKeySource::File(data.join(esc_store::MASTER_KEY_FILE))
    );
    store.create_organization("acme").await.unwrap();
    drop(store);
    let (store, _) = SqlStore::open(location).await.unwrap();
    assert_eq!(store.list_organizations().await.unwrap().len(), 1);
    assert!(data.join(esc_store::DATABASE_FILE).exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_two_stores_on_one_file_lose_no_update() {
    // Like the CLI and a local server on the same data directory: separate
    // connections, serialized by SQLite's write lock.
    let dir = tempfile::tempdir().unwrap();
    let key = [3u8; 32];
    let first = std::sync::Arc::new(
        SqlStore::open_sqlite(dir.path(), MasterKey::from_bytes(&key).unwrap())
            .await
            .unwrap(),
    );
    let second = std::sync::Arc::new(
        SqlStore::open_sqlite(dir.path(), MasterKey::from_bytes(&key).unwrap())
            .await
            .unwrap(),
    );
    first.create_organization("acme").await.unwrap();
    let env = esc_store::EnvRef::new("acme", "app", "dev");
    first
        .create_environment(&env, &crate::harness::alice())
        .await
        .unwrap();
    let mut tasks = Vec::new();
    for writer in 0..8 {
        let store: std::sync::Arc<SqlStore> = if writer % 2 == 0 {
            first.clone()
        } else {
            second.clone()
        };
        let env = env.clone();
        tasks.push(tokio::spawn(async move {
            for _attempt in 0..200 {
                let read = store.environment(&env).await.unwrap().latest_revision;
                match store
                    .update_environment(
                        &env,
                        format!("read: {read}\n").as_bytes(),
                        Some(read),
                        &crate::harness::bob(),
                    )
                    .await
                {
                    Ok(revision) => return revision.number,
                    Err(esc_store::StoreError::Conflict { .. }) => tokio::task::yield_now().await,
                    Err(other) => panic!("{other}"),
                }
            }
            panic!("writer {writer} never got through");
        }));
    }
    let mut numbers = Vec::new();
    for task in tasks {
        numbers.push(task.await.unwrap());
    }
    numbers.sort_unstable();
    assert_eq!(numbers, (2..10).collect::<Vec<u64>>());
    for number in 2..10u64 {
        let text = second
            .revision(&env, number)
            .await
            .unwrap()
            .yaml
            .expose_str()
            .unwrap()
            .to_owned();
        assert_eq!(text, format!("read: {}\n", number - 1));
    }
}
