//! The shared backend: PostgreSQL through a deadpool connection pool.
//! Connections are plain TCP (no TLS yet): use it on a trusted network or
//! through a local socket proxy.

use std::time::Duration;

use async_trait::async_trait;
use deadpool_postgres::{Manager, ManagerConfig, Object, Pool, RecyclingMethod, Runtime};
use tokio_postgres::error::SqlState;
use tokio_postgres::types::{ToSql, Type};

use crate::db::{Backend, Dialect, Param, Row, Tx, Value, check_args};
use crate::error::{DatabaseError, StoreError};

/// Key of the advisory lock that serializes migrations (any fixed number).
const MIGRATION_LOCK_KEY: i64 = 0x6573_635f_6d69_6772; // "esc_migr"

pub(crate) struct PostgresBackend {
    pool: Pool,
}

impl PostgresBackend {
    pub(crate) fn connect(url: &str, max_connections: usize) -> Result<Self, StoreError> {
        // The parse error could quote the URL (and its password): keep it out.
        let config: tokio_postgres::Config = url
            .parse()
            .map_err(|_| DatabaseError::new("invalid postgres connection url"))?;
        let manager = Manager::from_config(
            config,
            tokio_postgres::NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(max_connections.max(1))
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(Duration::from_secs(30)))
            .create_timeout(Some(Duration::from_secs(10)))
            .build()
            .map_err(|error| DatabaseError::new(format!("postgres pool: {error}")))?;
        Ok(Self { pool })
    }

    async fn start(&self, begin: &str) -> Result<Box<dyn Tx>, StoreError> {
        let client = self
            .pool
            .get()
            .await
            .map_err(|error| DatabaseError::new(format!("postgres connection: {error}")))?;
        client.batch_execute(begin).await.map_err(map_error)?;
        Ok(Box::new(PostgresTx {
            client: Some(client),
        }))
    }
}

#[async_trait]
impl Backend for PostgresBackend {
    async fn begin(&self) -> Result<Box<dyn Tx>, StoreError> {
        self.start("BEGIN").await
    }

    async fn begin_read(&self) -> Result<Box<dyn Tx>, StoreError> {
        // One snapshot for every statement of the read.
        self.start("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            .await
    }

    async fn lock_for_migration(&self, tx: &mut dyn Tx) -> Result<(), StoreError> {
        // Released at commit or rollback: two servers starting at once take
        // turns, and the second finds the first's work done.
        tx.execute(
            "SELECT pg_advisory_xact_lock($1)",
            vec![Param::from(MIGRATION_LOCK_KEY)],
        )
        .await
        .map(|_| ())
    }
}

struct PostgresTx {
    /// `None` once committed or rolled back.
    client: Option<Object>,
}

impl PostgresTx {
    fn client(&self) -> Result<&Object, StoreError> {
        self.client
            .as_ref()
            .ok_or_else(|| DatabaseError::new("transaction already finished").into())
    }

    async fn finish(&mut self, statement: &str) -> Result<(), StoreError> {
        let result = self
            .client()?
            .batch_execute(statement)
            .await
            .map_err(map_error);
        if result.is_ok() {
            // Back to the pool only in a clean state.
            self.client = None;
        }
        result
    }
}

impl Drop for PostgresTx {
    fn drop(&mut self) {
        if let Some(client) = self.client.take() {
            // Unfinished (an error or a cancelled future): detach the
            // connection from the pool and close it; the server rolls back.
            drop(Object::take(client));
        }
    }
}

fn to_sql_args(args: &[Param]) -> Vec<Box<dyn ToSql + Sync + Send>> {
    args.iter()
        .map(|arg| -> Box<dyn ToSql + Sync + Send> {
            match arg {
                Param::Int(value) => Box::new(*value),
                Param::Text(value) => Box::new(value.clone()),
                Param::Bytes(value) => Box::new(value.clone()),
                Param::Bool(value) => Box::new(*value),
            }
        })
        .collect()
}

#[async_trait]
impl Tx for PostgresTx {
    async fn query(&mut self, sql: &str, args: Vec<Param>) -> Result<Vec<Row>, StoreError> {
        check_args(&args)?;
        let client = self.client()?;
        let statement = client.prepare_cached(sql).await.map_err(map_error)?;
        let boxed = to_sql_args(&args);
        let refs: Vec<&(dyn ToSql + Sync)> =
            boxed.iter().map(|b| &**b as &(dyn ToSql + Sync)).collect();
        let rows = client.query(&statement, &refs).await.map_err(map_error)?;
        rows.iter().map(convert_row).collect()
    }

    async fn execute(&mut self, sql: &str, args: Vec<Param>) -> Result<u64, StoreError> {
        check_args(&args)?;
        let client = self.client()?;
        let statement = client.prepare_cached(sql).await.map_err(map_error)?;
        let boxed = to_sql_args(&args);
        let refs: Vec<&(dyn ToSql + Sync)> =
            boxed.iter().map(|b| &**b as &(dyn ToSql + Sync)).collect();
        client.execute(&statement, &refs).await.map_err(map_error)
    }

    async fn batch(&mut self, sql: &str) -> Result<(), StoreError> {
        self.client()?.batch_execute(sql).await.map_err(map_error)
    }

    async fn commit(mut self: Box<Self>) -> Result<(), StoreError> {
        self.finish("COMMIT").await
    }

    async fn rollback(mut self: Box<Self>) -> Result<(), StoreError> {
        self.finish("ROLLBACK").await
    }

    fn dialect(&self) -> Dialect {
        Dialect::Postgres
    }
}

fn convert_row(row: &tokio_postgres::Row) -> Result<Row, StoreError> {
    let mut values = Vec::with_capacity(row.len());
    for (idx, column) in row.columns().iter().enumerate() {
        let ty = column.type_();
        let value = if *ty == Type::INT8 {
            row.try_get::<_, Option<i64>>(idx)
                .map(|v| v.map_or(Value::Null, Value::Int))
        } else if *ty == Type::INT4 {
            row.try_get::<_, Option<i32>>(idx)
                .map(|v| v.map_or(Value::Null, |v| Value::Int(v.into())))
        } else if *ty == Type::TEXT || *ty == Type::VARCHAR || *ty == Type::NAME {
            row.try_get::<_, Option<String>>(idx)
                .map(|v| v.map_or(Value::Null, Value::Text))
        } else if *ty == Type::BYTEA {
            row.try_get::<_, Option<Vec<u8>>>(idx)
                .map(|v| v.map_or(Value::Null, Value::Bytes))
        } else if *ty == Type::BOOL {
            row.try_get::<_, Option<bool>>(idx)
                .map(|v| v.map_or(Value::Null, Value::Bool))
        } else {
            return Err(StoreError::Corrupt {
                table: "query result",
                reason: format!("unsupported column type {ty}"),
            });
        };
        values.push(value.map_err(map_error)?);
    }
    Ok(Row { values })
}

fn map_error(error: tokio_postgres::Error) -> StoreError {
    match error.as_db_error() {
        // The primary message names the constraint; the detail (which can
        // quote the conflicting values) is left out on purpose.
        Some(db) => StoreError::Database(DatabaseError {
            message: format!("postgres: {} ({})", db.message(), db.code().code()),
            unique_violation: *db.code() == SqlState::UNIQUE_VIOLATION,
        }),
        None => StoreError::Database(DatabaseError::new(format!("postgres: {error}"))),
    }
}
