//! The small SQL surface the store logic is written against, so the logic
//! exists once and SQLite and PostgreSQL only supply connections. SQL is
//! written with PostgreSQL's `$n` placeholders; SQLite gets `?n`.

use async_trait::async_trait;

use crate::error::StoreError;

/// A bound parameter. Typed nulls, because PostgreSQL checks parameter types.
#[derive(Clone, PartialEq)]
pub(crate) enum Param {
    Int(Option<i64>),
    Text(Option<String>),
    Bytes(Option<Vec<u8>>),
    Bool(Option<bool>),
}

/// The kind and size only: a parameter may be a sealed secret or a token's
/// hash, which no log or panic message should carry.
impl std::fmt::Debug for Param {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Int(value) => write!(f, "Int({})", if value.is_some() { "…" } else { "NULL" }),
            Self::Text(Some(text)) => write!(f, "Text({} bytes)", text.len()),
            Self::Bytes(Some(bytes)) => write!(f, "Bytes({} bytes)", bytes.len()),
            Self::Text(None) | Self::Bytes(None) => f.write_str("NULL"),
            Self::Bool(value) => write!(f, "Bool({})", if value.is_some() { "…" } else { "NULL" }),
        }
    }
}

impl From<i64> for Param {
    fn from(value: i64) -> Self {
        Self::Int(Some(value))
    }
}
impl From<Option<i64>> for Param {
    fn from(value: Option<i64>) -> Self {
        Self::Int(value)
    }
}
impl From<&str> for Param {
    fn from(value: &str) -> Self {
        Self::Text(Some(value.to_owned()))
    }
}
impl From<&String> for Param {
    fn from(value: &String) -> Self {
        Self::Text(Some(value.clone()))
    }
}
impl From<String> for Param {
    fn from(value: String) -> Self {
        Self::Text(Some(value))
    }
}
impl From<Option<&str>> for Param {
    fn from(value: Option<&str>) -> Self {
        Self::Text(value.map(str::to_owned))
    }
}
impl From<Option<String>> for Param {
    fn from(value: Option<String>) -> Self {
        Self::Text(value)
    }
}
impl From<Vec<u8>> for Param {
    fn from(value: Vec<u8>) -> Self {
        Self::Bytes(Some(value))
    }
}
impl From<Option<Vec<u8>>> for Param {
    fn from(value: Option<Vec<u8>>) -> Self {
        Self::Bytes(value)
    }
}
impl From<bool> for Param {
    fn from(value: bool) -> Self {
        Self::Bool(Some(value))
    }
}

/// Refuses text parameters with NUL characters: PostgreSQL cannot store
/// them, so neither backend accepts them (same behaviour on both).
pub(crate) fn check_args(args: &[Param]) -> Result<(), StoreError> {
    if args
        .iter()
        .any(|arg| matches!(arg, Param::Text(Some(text)) if text.contains('\0')))
    {
        return Err(StoreError::invalid("text must not contain NUL characters"));
    }
    Ok(())
}

/// Builds a `Vec<Param>` from values convertible into parameters.
macro_rules! args {
    ($($value:expr),* $(,)?) => {
        vec![$($crate::db::Param::from($value)),*]
    };
}
pub(crate) use args;

/// A statement with its parameters, for [`Tx::execute_and_commit`].
#[derive(Clone)]
pub(crate) struct Statement {
    pub(crate) sql: std::borrow::Cow<'static, str>,
    pub(crate) args: Vec<Param>,
}

/// A column value read back.
#[derive(Clone)]
pub(crate) enum Value {
    Null,
    Int(i64),
    Text(String),
    Bytes(Vec<u8>),
    Bool(bool),
}

/// One result row; typed accessors report shape errors as `Corrupt`.
pub(crate) struct Row {
    pub(crate) values: Vec<Value>,
}

impl Row {
    fn value(&self, idx: usize) -> Result<&Value, StoreError> {
        self.values
            .get(idx)
            .ok_or_else(|| corrupt(format!("missing column {idx}")))
    }

    pub(crate) fn int(&self, idx: usize) -> Result<i64, StoreError> {
        self.opt_int(idx)?
            .ok_or_else(|| corrupt(format!("null in column {idx}")))
    }

    pub(crate) fn opt_int(&self, idx: usize) -> Result<Option<i64>, StoreError> {
        match self.value(idx)? {
            Value::Null => Ok(None),
            Value::Int(value) => Ok(Some(*value)),
            _ => Err(corrupt(format!("column {idx} is not an integer"))),
        }
    }

    /// A revision number or count (stored as a non-negative integer).
    pub(crate) fn number(&self, idx: usize) -> Result<u64, StoreError> {
        u64::try_from(self.int(idx)?)
            .map_err(|_| corrupt(format!("negative number in column {idx}")))
    }

    pub(crate) fn opt_number(&self, idx: usize) -> Result<Option<u64>, StoreError> {
        self.opt_int(idx)?
            .map(|value| {
                u64::try_from(value)
                    .map_err(|_| corrupt(format!("negative number in column {idx}")))
            })
            .transpose()
    }

    pub(crate) fn text(&self, idx: usize) -> Result<String, StoreError> {
        self.opt_text(idx)?
            .ok_or_else(|| corrupt(format!("null in column {idx}")))
    }

    pub(crate) fn opt_text(&self, idx: usize) -> Result<Option<String>, StoreError> {
        match self.value(idx)? {
            Value::Null => Ok(None),
            Value::Text(value) => Ok(Some(value.clone())),
            _ => Err(corrupt(format!("column {idx} is not text"))),
        }
    }

    pub(crate) fn bytes(&self, idx: usize) -> Result<Vec<u8>, StoreError> {
        self.opt_bytes(idx)?
            .ok_or_else(|| corrupt(format!("null in column {idx}")))
    }

    pub(crate) fn opt_bytes(&self, idx: usize) -> Result<Option<Vec<u8>>, StoreError> {
        match self.value(idx)? {
            Value::Null => Ok(None),
            Value::Bytes(value) => Ok(Some(value.clone())),
            _ => Err(corrupt(format!("column {idx} is not bytes"))),
        }
    }

    pub(crate) fn bool(&self, idx: usize) -> Result<bool, StoreError> {
        match self.value(idx)? {
            Value::Bool(value) => Ok(*value),
            // SQLite keeps booleans as integers.
            Value::Int(value) => Ok(*value != 0),
            _ => Err(corrupt(format!("column {idx} is not a boolean"))),
        }
    }
}

fn corrupt(reason: String) -> StoreError {
    StoreError::Corrupt {
        table: "query result",
        reason,
    }
}

/// The SQL dialect differences the logic has to know about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Dialect {
    Sqlite,
    Postgres,
}

impl Dialect {
    /// Row-lock suffix for a `SELECT` (SQLite's `BEGIN IMMEDIATE` already
    /// serializes writers).
    pub(crate) fn for_update(self) -> &'static str {
        match self {
            Self::Sqlite => "",
            Self::Postgres => " FOR UPDATE",
        }
    }
}

/// An open transaction. Dropping it without `commit` rolls it back (the
/// backends make sure of that, also when a future is cancelled).
#[async_trait]
pub(crate) trait Tx: Send {
    /// Runs a statement and returns its rows.
    async fn query(&mut self, sql: &str, args: Vec<Param>) -> Result<Vec<Row>, StoreError>;
    /// Runs a statement and returns the number of rows changed.
    async fn execute(&mut self, sql: &str, args: Vec<Param>) -> Result<u64, StoreError>;
    /// Runs several `;`-separated statements without parameters.
    async fn batch(&mut self, sql: &str) -> Result<(), StoreError>;
    /// Commits.
    async fn commit(self: Box<Self>) -> Result<(), StoreError>;
    /// Runs `statements` and commits, as one step: one blocking hop on
    /// SQLite (the write lock is held only while they run), one pipelined
    /// round trip on PostgreSQL. Nothing is kept if any fails. Returns the
    /// number of rows each statement changed.
    async fn execute_and_commit(
        self: Box<Self>,
        statements: Vec<Statement>,
    ) -> Result<Vec<u64>, StoreError>;
    /// Rolls back.
    async fn rollback(self: Box<Self>) -> Result<(), StoreError>;
    /// Which SQL dialect this is.
    fn dialect(&self) -> Dialect;
}

impl dyn Tx + '_ {
    /// The first row, if any.
    pub(crate) async fn query_opt(
        &mut self,
        sql: &str,
        args: Vec<Param>,
    ) -> Result<Option<Row>, StoreError> {
        Ok(self.query(sql, args).await?.into_iter().next())
    }
}

/// A source of transactions.
#[async_trait]
pub(crate) trait Backend: Send + Sync {
    /// Starts a transaction (a write transaction on SQLite).
    async fn begin(&self) -> Result<Box<dyn Tx>, StoreError>;
    /// Starts a read-only transaction: a consistent snapshot that does not
    /// wait for writers. Writing in it fails.
    async fn begin_read(&self) -> Result<Box<dyn Tx>, StoreError>;
    /// Starts a read of exactly one statement, outside any transaction (a
    /// statement is its own consistent snapshot): no `BEGIN`, no `COMMIT`,
    /// one round trip in all. A second statement in it fails.
    async fn begin_statement(&self) -> Result<Box<dyn Tx>, StoreError>;
    /// Takes the lock that serializes migrations across processes, inside `tx`.
    async fn lock_for_migration(&self, tx: &mut dyn Tx) -> Result<(), StoreError>;
    /// Runs one writing statement as a transaction of its own (committed
    /// when it succeeds, nothing kept when it fails) and returns its rows.
    async fn write_statement(&self, sql: &str, args: Vec<Param>) -> Result<Vec<Row>, StoreError> {
        let mut tx = self.begin().await?;
        // on failure, dropping the transaction rolls it back
        let rows = tx.query(sql, args).await?;
        tx.commit().await?;
        Ok(rows)
    }
    /// Which SQL dialect this is.
    fn dialect(&self) -> Dialect;
}

#[cfg(test)]
mod tests {
    use super::Param;

    #[test]
    fn debug_shows_no_parameter_value() {
        let shown = format!(
            "{:?} {:?} {:?} {:?} {:?}",
            Param::Text(Some("hunter2".into())),
            Param::Bytes(Some(b"sealed-secret".to_vec())),
            Param::Int(Some(424_242)),
            Param::Bool(Some(true)),
            Param::Text(None),
        );
        for value in ["hunter2", "sealed-secret", "424242", "true"] {
            assert!(!shown.contains(value), "{shown}");
        }
        assert_eq!(
            shown, "Text(7 bytes) Bytes(13 bytes) Int(…) Bool(…) NULL",
            "kinds and sizes only"
        );
    }
}
