//! Starts a store on a fresh database of either backend and reads back what
//! the database holds on disk (for the at-rest checks).

use std::path::PathBuf;
use std::sync::Arc;

use esc_store::{Author, EnvRef, MasterKey, SqlStore, Store};

/// Which backend a test runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Sqlite,
    Postgres,
}

/// A store on its own fresh database.
pub(crate) struct Harness {
    pub(crate) kind: Kind,
    pub(crate) store: Arc<SqlStore>,
    /// The SQLite data directory (kept alive for the test).
    pub(crate) data_dir: Option<tempfile::TempDir>,
    /// The PostgreSQL URL of this test's database.
    pub(crate) database_url: Option<String>,
    /// The master key bytes, to open the same database again.
    pub(crate) master_key: [u8; 32],
}

pub(crate) const PG_DUMP: &str = "/usr/lib/postgresql/15/bin/pg_dump";

/// The URL of the test cluster, or `None` (with a printed note) when the
/// tests may skip; panics when services are required but missing.
pub(crate) fn admin_url() -> Option<String> {
    match std::env::var("ESC_TEST_DATABASE_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            if std::env::var("ESC_TEST_SERVICES").as_deref() == Ok("required") {
                panic!("ESC_TEST_SERVICES=required but ESC_TEST_DATABASE_URL is not set");
            }
            eprintln!(
                "skipped: ESC_TEST_DATABASE_URL is not set (source scripts/services.sh && services_start)"
            );
            None
        }
    }
}

/// Creates a fresh database `esc_test_<random>` and returns its URL.
pub(crate) async fn fresh_database() -> Option<String> {
    let admin = admin_url()?;
    let (client, connection) = tokio_postgres::connect(&admin, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    let name = format!("esc_test_{}", uuid::Uuid::new_v4().simple());
    client
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .await
        .unwrap();
    let base = admin.rsplit_once('/').unwrap().0;
    Some(format!("{base}/{name}"))
}

impl Harness {
    /// The one number `sql` answers, read from the database itself.
    pub(crate) async fn count(&self, sql: &str) -> i64 {
        match self.kind {
            Kind::Sqlite => {
                let path = self
                    .data_dir
                    .as_ref()
                    .unwrap()
                    .path()
                    .join(esc_store::DATABASE_FILE);
                let db = rusqlite::Connection::open(path).unwrap();
                db.query_row(sql, [], |row| row.get(0)).unwrap()
            }
            Kind::Postgres => {
                let url = self.database_url.as_ref().unwrap();
                let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
                    .await
                    .unwrap();
                tokio::spawn(connection);
                client.query_one(sql, &[]).await.unwrap().get(0)
            }
        }
    }

    pub(crate) async fn start(kind: Kind) -> Option<Self> {
        let master_key: [u8; 32] = rand_key();
        let master = MasterKey::from_bytes(&master_key).unwrap();
        match kind {
            Kind::Sqlite => {
                let dir = tempfile::tempdir().unwrap();
                let store = SqlStore::open_sqlite(dir.path(), master).await.unwrap();
                Some(Self {
                    kind,
                    store: Arc::new(store),
                    data_dir: Some(dir),
                    database_url: None,
                    master_key,
                })
            }
            Kind::Postgres => {
                let url = fresh_database().await?;
                let store = SqlStore::connect_postgres(&url, master, 20).await.unwrap();
                Some(Self {
                    kind,
                    store: Arc::new(store),
                    data_dir: None,
                    database_url: Some(url),
                    master_key,
                })
            }
        }
    }

    pub(crate) fn dyn_store(&self) -> Arc<dyn Store> {
        self.store.clone()
    }

    /// Opens a second store on the same database with `master`.
    pub(crate) async fn reopen(
        &self,
        master: MasterKey,
    ) -> Result<SqlStore, esc_store::StoreError> {
        match self.kind {
            Kind::Sqlite => {
                SqlStore::open_sqlite(self.data_dir.as_ref().unwrap().path(), master).await
            }
            Kind::Postgres => {
                SqlStore::connect_postgres(self.database_url.as_ref().unwrap(), master, 4).await
            }
        }
    }

    /// Everything the database keeps on disk, as bytes: the SQLite file and
    /// its WAL, or a `pg_dump` of the database.
    pub(crate) async fn raw_contents(&self) -> Vec<u8> {
        match self.kind {
            Kind::Sqlite => {
                let dir = self.data_dir.as_ref().unwrap().path();
                let mut bytes = Vec::new();
                let mut n_files = 0;
                for name in [
                    esc_store::DATABASE_FILE,
                    &format!("{}-wal", esc_store::DATABASE_FILE),
                ] {
                    let path: PathBuf = dir.join(name);
                    if let Ok(content) = std::fs::read(&path) {
                        n_files += 1;
                        bytes.extend_from_slice(&content);
                    }
                }
                assert!(n_files >= 1, "no database file found");
                bytes
            }
            Kind::Postgres => {
                let output = tokio::process::Command::new(PG_DUMP)
                    .arg("--dbname")
                    .arg(self.database_url.as_ref().unwrap())
                    .output()
                    .await
                    .unwrap();
                assert!(
                    output.status.success(),
                    "pg_dump failed: {}",
                    String::from_utf8_lossy(&output.stderr)
                );
                output.stdout
            }
        }
    }
}

fn rand_key() -> [u8; 32] {
    let mut key = [0u8; 32];
    let a = uuid::Uuid::new_v4();
    let b = uuid::Uuid::new_v4();
    key[..16].copy_from_slice(a.as_bytes());
    key[16..].copy_from_slice(b.as_bytes());
    key
}

pub(crate) fn alice() -> Author {
    Author::new("alice", "Alice")
}

pub(crate) fn bob() -> Author {
    Author::new("bob", "Bob")
}

/// Creates organization `acme` and environment `acme/app/<name>`.
pub(crate) async fn new_env(store: &dyn Store, name: &str) -> EnvRef {
    match store.create_organization("acme").await {
        Ok(_) | Err(esc_store::StoreError::AlreadyExists { .. }) => {}
        Err(error) => panic!("{error}"),
    }
    let env = EnvRef::new("acme", "app", name);
    store.create_environment(&env, &alice()).await.unwrap();
    env
}
