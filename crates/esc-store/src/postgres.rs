//! The shared backend: PostgreSQL through a deadpool connection pool.
//! Connections are plain TCP (no TLS yet): use it on a trusted network or
//! through a local socket proxy.
//!
//! Round trips are what a request waits for, so a read-only transaction
//! sends its `BEGIN` pipelined with its first statement and ends with a
//! `COMMIT` sent in the background (the connection returns to the pool
//! when the server has answered it). A one-statement read is one round
//! trip. Write transactions keep `BEGIN` as a round trip of its own: a
//! statement must never run outside the transaction it belongs to.

use std::future::Future;
use std::time::Duration;

use async_trait::async_trait;
use deadpool_postgres::{
    Manager, ManagerConfig, Object, Pool, QueueMode, RecyclingMethod, Runtime,
};
use tokio_postgres::error::SqlState;
use tokio_postgres::types::{ToSql, Type};

use crate::db::{Backend, Dialect, Param, Row, Statement, Tx, Value, check_args};
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
            // The most recently returned connection first: the few a load
            // keeps busy stay warm (their backends' caches, prepared
            // statements), instead of every statement going to the one
            // idle longest.
            .queue_mode(QueueMode::Lifo)
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(Duration::from_secs(30)))
            .create_timeout(Some(Duration::from_secs(10)))
            .build()
            .map_err(|error| DatabaseError::new(format!("postgres pool: {error}")))?;
        Ok(Self { pool })
    }

    async fn connection(&self) -> Result<Object, StoreError> {
        Ok(self
            .pool
            .get()
            .await
            .map_err(|error| DatabaseError::new(format!("postgres connection: {error}")))?)
    }
}

#[async_trait]
impl Backend for PostgresBackend {
    async fn begin(&self) -> Result<Box<dyn Tx>, StoreError> {
        let client = self.connection().await?;
        client.batch_execute("BEGIN").await.map_err(map_error)?;
        Ok(Box::new(PostgresTx {
            client: Some(client),
            begin: None,
            read_only: false,
            single_statement: false,
        }))
    }

    async fn begin_read(&self) -> Result<Box<dyn Tx>, StoreError> {
        Ok(Box::new(PostgresTx {
            client: Some(self.connection().await?),
            // One snapshot for every statement of the read; sent with the first.
            begin: Some("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"),
            read_only: true,
            single_statement: false,
        }))
    }

    async fn begin_statement(&self) -> Result<Box<dyn Tx>, StoreError> {
        Ok(Box::new(PostgresTx {
            client: Some(self.connection().await?),
            begin: Some(""),
            read_only: true,
            single_statement: true,
        }))
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

    async fn write_statement(&self, sql: &str, args: Vec<Param>) -> Result<Vec<Row>, StoreError> {
        // Outside any transaction: the statement is one of its own, with
        // no `BEGIN` and `COMMIT` round trips.
        check_args(&args)?;
        let client = self.connection().await?;
        let statement = client.prepare_cached(sql).await.map_err(map_error)?;
        let rows = client
            .query(&statement, &sql_args(&args))
            .await
            .map_err(map_error)?;
        rows.iter().map(convert_row).collect()
    }

    fn dialect(&self) -> Dialect {
        Dialect::Postgres
    }
}

struct PostgresTx {
    /// `None` once committed or rolled back.
    client: Option<Object>,
    /// A read-only transaction's `BEGIN`, not sent yet: it goes out
    /// pipelined with the first statement.
    begin: Option<&'static str>,
    read_only: bool,
    /// Outside any transaction: one statement (`begin` is `Some("")` until
    /// it runs), then nothing to end.
    single_statement: bool,
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

/// Runs `sql` (prepared, with `args`) through `run`, after `begin` in the
/// same round trip if given.
async fn run_statement<'c, T, F, Fut>(
    client: &'c Object,
    begin: Option<&'static str>,
    sql: &str,
    args: &'c [Param],
    run: F,
) -> Result<T, StoreError>
where
    F: FnOnce(&'c Object, tokio_postgres::Statement, &'c [Param]) -> Fut,
    Fut: Future<Output = Result<T, tokio_postgres::Error>> + 'c,
{
    check_args(args)?;
    match begin {
        None => {
            let statement = client.prepare_cached(sql).await.map_err(map_error)?;
            run(client, statement, args).await.map_err(map_error)
        }
        Some(begin) => {
            // Both futures are polled together, so tokio-postgres writes both
            // requests before waiting for either answer; the connection keeps
            // their order.
            let (begun, result) = tokio::join!(client.batch_execute(begin), async {
                let statement = client.prepare_cached(sql).await?;
                run(client, statement, args).await
            });
            begun.map_err(map_error)?;
            result.map_err(map_error)
        }
    }
}

impl PostgresTx {
    /// The `BEGIN` to send with the next statement, if any; refuses a second
    /// statement of a one-statement read.
    fn statement_begin(&mut self) -> Result<Option<&'static str>, StoreError> {
        let begin = self.begin.take();
        if self.single_statement {
            return match begin {
                Some(_) => Ok(None),
                None => {
                    Err(DatabaseError::new("a one-statement read ran a second statement").into())
                }
            };
        }
        Ok(begin)
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

/// Parameters bound as they are (no copy of a text or bytes per statement:
/// a merged session batch has hundreds): each variant as its Rust type.
impl ToSql for Param {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut bytes::BytesMut,
    ) -> Result<tokio_postgres::types::IsNull, Box<dyn std::error::Error + Sync + Send>> {
        match self {
            Param::Int(value) => value.to_sql(ty, out),
            Param::Text(value) => value.to_sql(ty, out),
            Param::Bytes(value) => value.to_sql(ty, out),
            Param::Bool(value) => value.to_sql(ty, out),
        }
    }

    fn accepts(ty: &Type) -> bool {
        // the variant's own type is checked in `to_sql_checked`
        <Option<i64> as ToSql>::accepts(ty)
            || <Option<String> as ToSql>::accepts(ty)
            || <Option<Vec<u8>> as ToSql>::accepts(ty)
            || <Option<bool> as ToSql>::accepts(ty)
    }

    fn to_sql_checked(
        &self,
        ty: &Type,
        out: &mut bytes::BytesMut,
    ) -> Result<tokio_postgres::types::IsNull, Box<dyn std::error::Error + Sync + Send>> {
        match self {
            Param::Int(value) => value.to_sql_checked(ty, out),
            Param::Text(value) => value.to_sql_checked(ty, out),
            Param::Bytes(value) => value.to_sql_checked(ty, out),
            Param::Bool(value) => value.to_sql_checked(ty, out),
        }
    }
}

/// `args` as tokio-postgres takes them.
fn sql_args(args: &[Param]) -> Vec<&(dyn ToSql + Sync)> {
    args.iter().map(|arg| arg as &(dyn ToSql + Sync)).collect()
}

#[async_trait]
impl Tx for PostgresTx {
    async fn query(&mut self, sql: &str, args: Vec<Param>) -> Result<Vec<Row>, StoreError> {
        let begin = self.statement_begin()?;
        let rows = run_statement(
            self.client()?,
            begin,
            sql,
            &args,
            |client, statement, args| async move {
                client.query(&statement, &sql_args(args)).await
            },
        )
        .await?;
        rows.iter().map(convert_row).collect()
    }

    async fn execute(&mut self, sql: &str, args: Vec<Param>) -> Result<u64, StoreError> {
        let begin = self.statement_begin()?;
        run_statement(
            self.client()?,
            begin,
            sql,
            &args,
            |client, statement, args| async move {
                client.execute(&statement, &sql_args(args)).await
            },
        )
        .await
    }

    async fn batch(&mut self, sql: &str) -> Result<(), StoreError> {
        if let Some(begin) = self.begin.take() {
            self.client()?
                .batch_execute(begin)
                .await
                .map_err(map_error)?;
        }
        self.client()?.batch_execute(sql).await.map_err(map_error)
    }

    async fn commit(mut self: Box<Self>) -> Result<(), StoreError> {
        if self.begin.is_some() || self.single_statement {
            // A read that ran nothing: no transaction was started.
            self.begin = None;
            self.client = None;
            return Ok(());
        }
        if self.read_only
            && let Some(client) = self.client.take()
        {
            // Ending a read cannot lose anything: the caller does not wait
            // for it. The connection returns to the pool once it is done,
            // or is closed if it failed.
            tokio::spawn(async move {
                if client.batch_execute("COMMIT").await.is_err() {
                    drop(Object::take(client));
                }
            });
            return Ok(());
        }
        self.finish("COMMIT").await
    }

    async fn execute_and_commit(
        mut self: Box<Self>,
        statements: Vec<Statement>,
    ) -> Result<Vec<u64>, StoreError> {
        for statement in &statements {
            check_args(&statement.args)?;
        }
        if let Some(begin) = self.begin.take() {
            self.client()?
                .batch_execute(begin)
                .await
                .map_err(map_error)?;
        }
        let client = self.client()?;
        let mut prepared = Vec::with_capacity(statements.len());
        for statement in &statements {
            let prepared_statement = client
                .prepare_cached(&statement.sql)
                .await
                .map_err(map_error)?;
            prepared.push((prepared_statement, &statement.args));
        }
        // Every statement and the COMMIT are polled together, so they go
        // out before the first answer is awaited. A failed statement aborts
        // the transaction, and PostgreSQL answers the COMMIT by rolling back.
        let executions = futures::future::join_all(prepared.iter().map(|(statement, args)| {
            let args = sql_args(args);
            async move { client.execute(statement, &args).await }
        }));
        let (executed, committed) = tokio::join!(executions, client.batch_execute("COMMIT"));
        let changed: Result<Vec<u64>, _> = executed.into_iter().collect();
        match (changed, committed) {
            (Ok(changed), Ok(())) => {
                // Back to the pool only in a clean state.
                self.client = None;
                Ok(changed)
            }
            // Unfinished: `Drop` closes the connection; the server rolls back.
            (Err(error), _) | (Ok(_), Err(error)) => Err(map_error(error)),
        }
    }

    async fn rollback(mut self: Box<Self>) -> Result<(), StoreError> {
        if self.begin.is_some() || self.single_statement {
            self.begin = None;
            self.client = None;
            return Ok(());
        }
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
            foreign_key_violation: *db.code() == SqlState::FOREIGN_KEY_VIOLATION,
        }),
        None => StoreError::Database(DatabaseError::new(format!("postgres: {error}"))),
    }
}
