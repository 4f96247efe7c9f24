//! The embedded backend: one SQLite file in WAL mode. One connection behind
//! an async mutex; each statement runs in `spawn_blocking` with the owned
//! guard moved into the blocking task and back, so no lock guard is ever held
//! across an `.await` on the runtime's threads. Transactions are
//! `BEGIN IMMEDIATE`, which also serializes writers across processes.
//! Reads use a few more connections (`query_only`, deferred transactions):
//! in WAL mode they see a consistent snapshot and never wait for a writer.
//!
//! Each hop to the blocking pool costs a thread handoff, so a transaction
//! makes as few as it can: `BEGIN` runs in the same hop as the first
//! statement, and a read-only transaction's `COMMIT` (which cannot lose
//! anything) runs in the background, the connection returning to its pool
//! when it is done. A one-statement read is one hop.
//!
//! Checkpoints (copying the WAL back into the database file, with an
//! `fsync` of each) do not run on the writer: SQLite's automatic checkpoint
//! runs inside the commit that crosses its threshold, which stalled that
//! commit, and every write queued behind it, for tens of milliseconds
//! under load. The writer has `wal_autocheckpoint` off and a thread with
//! its own connection runs a `PASSIVE` checkpoint every
//! [`CHECKPOINT_INTERVAL`] (it never blocks readers or the writer).

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use rusqlite::Connection;
use rusqlite::types::{ToSqlOutput, ValueRef};
use tokio::sync::{Mutex, OwnedMutexGuard};

use crate::db::{Backend, Dialect, Param, Row, Statement, Tx, Value, check_args};
use crate::error::{DatabaseError, StoreError};

/// The file name of the database inside the data directory.
pub const DATABASE_FILE: &str = "esc.db";

/// How many read-only connections serve reads in parallel.
const N_READERS: usize = 4;

/// Prepared statements kept per connection (rusqlite's default is 16,
/// fewer than the store's distinct statements).
const STATEMENT_CACHE_CAPACITY: usize = 128;

/// How often the background checkpointer copies the WAL into the database
/// (a checkpoint with nothing new to copy costs a few system calls).
const CHECKPOINT_INTERVAL: Duration = Duration::from_millis(100);

pub(crate) struct SqliteBackend {
    connection: Arc<Mutex<Connection>>,
    readers: Vec<Arc<Mutex<Connection>>>,
    next_reader: std::sync::atomic::AtomicUsize,
    /// Dropping it stops the checkpoint thread.
    _checkpointer: std::sync::mpsc::Sender<()>,
}

impl SqliteBackend {
    pub(crate) async fn open(path: &Path) -> Result<Self, StoreError> {
        let path = path.to_owned();
        let writer_path = path.clone();
        let connection = tokio::task::spawn_blocking(move || -> Result<Connection, StoreError> {
            let path = writer_path;
            // Two processes opening a fresh file at once: while one switches it
            // to WAL the other can get SQLITE_BUSY without SQLite calling the
            // busy handler, so this step is retried (bounded, ~5 s in all).
            let mut attempt = 0;
            loop {
                match open_writer(&path) {
                    Err(rusqlite::Error::SqliteFailure(failure, _))
                        if failure.code == rusqlite::ErrorCode::DatabaseBusy && attempt < 100 =>
                    {
                        attempt += 1;
                        std::thread::sleep(Duration::from_millis(50));
                    }
                    result => return result.map_err(map_error),
                }
            }
        })
        .await
        .map_err(join_error)??;
        let mut readers = Vec::with_capacity(N_READERS);
        for _ in 0..N_READERS {
            let path = path.clone();
            let reader = tokio::task::spawn_blocking(move || -> Result<Connection, StoreError> {
                let connection = Connection::open(&path).map_err(map_error)?;
                connection
                    .busy_timeout(Duration::from_secs(30))
                    .map_err(map_error)?;
                connection
                    .execute_batch("PRAGMA query_only = ON; PRAGMA foreign_keys = ON;")
                    .map_err(map_error)?;
                keep_prepared_statements(&connection).map_err(map_error)?;
                Ok(connection)
            })
            .await
            .map_err(join_error)??;
            readers.push(Arc::new(Mutex::new(reader)));
        }
        let checkpointer = spawn_checkpointer(&path).await?;
        Ok(Self {
            connection: Arc::new(Mutex::new(connection)),
            readers,
            next_reader: std::sync::atomic::AtomicUsize::new(0),
            _checkpointer: checkpointer,
        })
    }
}

#[async_trait]
impl Backend for SqliteBackend {
    async fn begin(&self) -> Result<Box<dyn Tx>, StoreError> {
        let guard = Arc::clone(&self.connection).lock_owned().await;
        Ok(Box::new(SqliteTx {
            guard: Some(guard),
            begin: Some("BEGIN IMMEDIATE"),
            read_only: false,
            single_statement: false,
        }))
    }

    async fn begin_read(&self) -> Result<Box<dyn Tx>, StoreError> {
        Ok(Box::new(SqliteTx {
            guard: Some(self.reader().await),
            begin: Some("BEGIN"),
            read_only: true,
            single_statement: false,
        }))
    }

    async fn begin_statement(&self) -> Result<Box<dyn Tx>, StoreError> {
        Ok(Box::new(SqliteTx {
            guard: Some(self.reader().await),
            // no transaction: `start` only cleans up after an abandoned one
            begin: Some(""),
            read_only: true,
            single_statement: true,
        }))
    }

    async fn lock_for_migration(&self, _tx: &mut dyn Tx) -> Result<(), StoreError> {
        // BEGIN IMMEDIATE already holds the database's write lock.
        Ok(())
    }

    fn dialect(&self) -> Dialect {
        Dialect::Sqlite
    }
}

impl SqliteBackend {
    /// A reader connection: a free one if there is one, else the next in turn.
    async fn reader(&self) -> OwnedMutexGuard<Connection> {
        match self
            .readers
            .iter()
            .find_map(|reader| Arc::clone(reader).try_lock_owned().ok())
        {
            Some(guard) => guard,
            None => {
                let idx = self
                    .next_reader
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
                    % self.readers.len();
                Arc::clone(&self.readers[idx]).lock_owned().await
            }
        }
    }
}

struct SqliteTx {
    guard: Option<OwnedMutexGuard<Connection>>,
    /// The `BEGIN` still to run, in the same hop as the first statement.
    begin: Option<&'static str>,
    read_only: bool,
    /// Outside any transaction: one statement, then nothing to end.
    single_statement: bool,
}

impl SqliteTx {
    async fn run<T, F>(&mut self, work: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> rusqlite::Result<T> + Send + 'static,
    {
        let guard = self
            .guard
            .take()
            .ok_or_else(|| DatabaseError::new("sqlite connection lost by an earlier failure"))?;
        let begin = self.begin.take();
        if self.single_statement && begin.is_none() {
            self.guard = Some(guard);
            return Err(DatabaseError::new("a one-statement read ran a second statement").into());
        }
        let (guard, result) = tokio::task::spawn_blocking(move || {
            let result = match begin {
                Some(begin) => start(&guard, begin).and_then(|()| work(&guard)),
                None => work(&guard),
            };
            (guard, result)
        })
        .await
        .map_err(join_error)?;
        self.guard = Some(guard);
        result.map_err(map_error)
    }
}

/// Starts a transaction on `connection`.
fn start(connection: &Connection, begin: &str) -> rusqlite::Result<()> {
    // A previous transaction whose future was dropped mid-way left the
    // connection inside it: undo that first.
    if !connection.is_autocommit() {
        connection.execute_batch("ROLLBACK")?;
    }
    connection.execute_batch(begin)
}

#[async_trait]
impl Tx for SqliteTx {
    async fn query(&mut self, sql: &str, args: Vec<Param>) -> Result<Vec<Row>, StoreError> {
        check_args(&args)?;
        let sql = placeholders(sql);
        self.run(move |connection| {
            let mut statement = connection.prepare_cached(&sql)?;
            let n_columns = statement.column_count();
            let mut rows = statement.query(rusqlite::params_from_iter(args.iter()))?;
            let mut out = Vec::new();
            while let Some(row) = rows.next()? {
                let mut values = Vec::with_capacity(n_columns);
                for idx in 0..n_columns {
                    values.push(match row.get_ref(idx)? {
                        ValueRef::Null => Value::Null,
                        ValueRef::Integer(value) => Value::Int(value),
                        ValueRef::Real(value) => Value::Text(value.to_string()),
                        ValueRef::Text(text) => {
                            Value::Text(String::from_utf8_lossy(text).into_owned())
                        }
                        ValueRef::Blob(bytes) => Value::Bytes(bytes.to_vec()),
                    });
                }
                out.push(Row { values });
            }
            Ok(out)
        })
        .await
    }

    async fn execute(&mut self, sql: &str, args: Vec<Param>) -> Result<u64, StoreError> {
        check_args(&args)?;
        let sql = placeholders(sql);
        self.run(move |connection| {
            let mut statement = connection.prepare_cached(&sql)?;
            let changed = statement.execute(rusqlite::params_from_iter(args.iter()))?;
            Ok(changed as u64)
        })
        .await
    }

    async fn batch(&mut self, sql: &str) -> Result<(), StoreError> {
        // The shared schema is written for PostgreSQL; SQLite's default
        // collation is already bytewise.
        let sql = sql.replace("BYTEA", "BLOB").replace(" COLLATE \"C\"", "");
        self.run(move |connection| connection.execute_batch(&sql))
            .await
    }

    async fn commit(mut self: Box<Self>) -> Result<(), StoreError> {
        if self.begin.is_some() || self.single_statement {
            // Nothing ran, or outside a transaction: nothing to end.
            return Ok(());
        }
        if self.read_only {
            // Ending a read cannot fail in a way that loses anything: do it
            // in the background; the connection is locked until then (and
            // the next `begin` rolls back whatever is left).
            if let Some(guard) = self.guard.take() {
                drop(tokio::task::spawn_blocking(move || {
                    let _ = guard.execute_batch("COMMIT");
                }));
            }
            return Ok(());
        }
        self.run(|connection| connection.execute_batch("COMMIT"))
            .await
    }

    async fn execute_and_commit(
        mut self: Box<Self>,
        statements: Vec<Statement>,
    ) -> Result<Vec<u64>, StoreError> {
        for statement in &statements {
            check_args(&statement.args)?;
        }
        let statements: Vec<(String, Vec<Param>)> = statements
            .into_iter()
            .map(|statement| (placeholders(&statement.sql), statement.args))
            .collect();
        self.run(move |connection| {
            let outcome = (|| {
                let mut changed = Vec::with_capacity(statements.len());
                for (sql, args) in &statements {
                    let mut statement = connection.prepare_cached(sql)?;
                    changed
                        .push(statement.execute(rusqlite::params_from_iter(args.iter()))? as u64);
                }
                connection.execute_batch("COMMIT")?;
                Ok(changed)
            })();
            if outcome.is_err() && !connection.is_autocommit() {
                let _ = connection.execute_batch("ROLLBACK");
            }
            outcome
        })
        .await
    }

    async fn rollback(mut self: Box<Self>) -> Result<(), StoreError> {
        if self.begin.is_some() || self.single_statement {
            return Ok(());
        }
        self.run(|connection| connection.execute_batch("ROLLBACK"))
            .await
    }

    fn dialect(&self) -> Dialect {
        Dialect::Sqlite
    }
}

impl rusqlite::ToSql for Param {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(match self {
            Self::Int(Some(value)) => ToSqlOutput::from(*value),
            Self::Text(Some(value)) => ToSqlOutput::from(value.as_str()),
            Self::Bytes(Some(value)) => ToSqlOutput::from(value.as_slice()),
            Self::Bool(Some(value)) => ToSqlOutput::from(*value),
            Self::Int(None) | Self::Text(None) | Self::Bytes(None) | Self::Bool(None) => {
                ToSqlOutput::from(rusqlite::types::Null)
            }
        })
    }
}

/// `$1` → `?1` (our SQL has no `$` inside string literals).
fn placeholders(sql: &str) -> String {
    sql.replace('$', "?")
}

/// The writer connection: WAL, a generous busy timeout, foreign keys on,
/// no checkpoints in its commits (the checkpoint thread does them).
fn open_writer(path: &Path) -> Result<Connection, rusqlite::Error> {
    let connection = Connection::open(path)?;
    connection.busy_timeout(Duration::from_secs(30))?;
    connection.execute_batch(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; \
         PRAGMA wal_autocheckpoint = 0;",
    )?;
    keep_prepared_statements(&connection)?;
    Ok(connection)
}

/// Starts the thread that checkpoints the WAL every [`CHECKPOINT_INTERVAL`]
/// on its own connection, until the returned sender is dropped.
async fn spawn_checkpointer(path: &Path) -> Result<std::sync::mpsc::Sender<()>, StoreError> {
    let (stop, stopped) = std::sync::mpsc::channel::<()>();
    let (ready, opened) = tokio::sync::oneshot::channel();
    let path = path.to_owned();
    std::thread::Builder::new()
        .name("esc-sqlite-checkpoint".into())
        .spawn(move || {
            let connection = match Connection::open(&path).and_then(|connection| {
                connection.busy_timeout(Duration::from_secs(5))?;
                Ok(connection)
            }) {
                Ok(connection) => {
                    let _ = ready.send(Ok(()));
                    connection
                }
                Err(error) => {
                    let _ = ready.send(Err(map_error(error)));
                    return;
                }
            };
            while let Err(std::sync::mpsc::RecvTimeoutError::Timeout) =
                stopped.recv_timeout(CHECKPOINT_INTERVAL)
            {
                // A failed checkpoint (busy, disk full) leaves the frames in
                // the WAL, where readers find them; the next one retries.
                let _ = connection.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()));
            }
        })
        .map_err(|error| {
            StoreError::Database(DatabaseError::new(format!(
                "starting the sqlite checkpoint thread: {error}"
            )))
        })?;
    opened.await.map_err(|_| {
        StoreError::Database(DatabaseError::new("the sqlite checkpoint thread stopped"))
    })??;
    Ok(stop)
}

/// Makes cached prepared statements stay prepared. Without the query
/// planner stability guarantee, SQLite marks a statement comparing a column
/// with a bound integer (`number = $2`, `LIMIT $3`) for re-preparing when
/// that binding changes, and rusqlite clears the bindings of every statement
/// returned to its cache: every cached statement was parsed and planned
/// again on each use (a fifth of an open's CPU). Our plans do not depend
/// on bound values (no `ANALYZE` statistics), so nothing is lost.
fn keep_prepared_statements(connection: &Connection) -> Result<(), rusqlite::Error> {
    connection.set_db_config(
        rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG,
        true,
    )?;
    connection.set_prepared_statement_cache_capacity(STATEMENT_CACHE_CAPACITY);
    Ok(())
}

fn map_error(error: rusqlite::Error) -> StoreError {
    let unique_violation = matches!(
        &error,
        rusqlite::Error::SqliteFailure(inner, _)
            if inner.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
                || inner.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY
    );
    let foreign_key_violation = matches!(
        &error,
        rusqlite::Error::SqliteFailure(inner, _)
            if inner.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_FOREIGNKEY
    );
    // rusqlite's messages name the statement's problem, never bound values.
    StoreError::Database(DatabaseError {
        message: format!("sqlite: {error}"),
        unique_violation,
        foreign_key_violation,
    })
}

fn join_error(error: tokio::task::JoinError) -> StoreError {
    StoreError::Database(DatabaseError::new(format!("sqlite worker failed: {error}")))
}

#[cfg(test)]
mod tests;
