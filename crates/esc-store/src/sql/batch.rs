//! Group commit of session writes: concurrent opens each store a session
//! and its audit event; instead of one write transaction each, the writes
//! that queue up while one transaction runs go together in the next one.
//! Each caller is answered only after the transaction holding its writes
//! committed (or failed), so nothing is acknowledged before it is durable
//! as far as the backend's commit makes it.
//!
//! The draining runs in a spawned task (not in a caller's future, which
//! may be dropped when its client goes away). A batch that fails is
//! written again one caller at a time, so each caller gets its own outcome
//! (a deleted environment fails only the sessions of that environment).
//!
//! On PostgreSQL the sessions of a stored shared result (the common open)
//! go further: the whole batch is one multi-row statement (the sessions
//! and their audit events, in a data-modifying `WITH`), run on its own
//! outside `BEGIN`/`COMMIT` (one statement is atomic). PostgreSQL's cost
//! is per statement (planning, executor start, a protocol cycle each), so
//! a batch of n opens costs it one statement instead of 2n + 2.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use tokio::sync::oneshot;

use crate::db::{Backend, Param, Statement, check_args};
use crate::error::{DatabaseError, StoreError};

/// The most callers' writes in one transaction.
const MAX_BATCH: usize = 64;

// A merged statement has MAX_BATCH rows of ROW_COLUMNS parameters each:
// PostgreSQL's protocol takes at most 65,535 parameters in one statement.
const _: () = assert!(MAX_BATCH * ROW_COLUMNS.len() <= 65_535);

/// Queued session writes of one store.
pub(super) struct WriteBatcher {
    queue: Mutex<Queue>,
    /// Batches of [`SessionRow`]s become one statement (PostgreSQL).
    merge: bool,
}

#[derive(Default)]
struct Queue {
    pending: Vec<Pending>,
    /// A task is draining the queue.
    draining: bool,
}

struct Pending {
    statements: Vec<Statement>,
    /// The same write as one row of the merged statement, if it has that form.
    row: Option<SessionRow>,
    done: oneshot::Sender<Result<Vec<u64>, StoreError>>,
}

/// A session pointing to a stored shared result, and its audit event, as
/// the values of one row of [`merged_statement`]: exactly the writes of
/// the two statements `access::create_shared_session` makes for it (the
/// session only if the result exists for the environment and is kept at
/// least as long; the event only if the session was written).
pub(super) struct SessionRow {
    /// In [`ROW_COLUMNS`] order.
    values: Vec<Param>,
    /// Whether an audit event goes with it (its statement's count).
    audited: bool,
}

/// The columns of a [`SessionRow`], with the type each value is cast to.
const ROW_COLUMNS: [(&str, &str); 13] = [
    ("id_hash", "bytea"),
    ("revision", "bigint"),
    ("created", "bigint"),
    ("expires", "bigint"),
    ("result_id", "text"),
    ("env_id", "text"),
    ("a_id", "text"),
    ("a_time", "bigint"),
    ("a_org", "text"),
    ("a_actor", "text"),
    ("a_action", "text"),
    ("a_target", "text"),
    ("a_detail", "text"),
];

/// What a merged batch writes: the sessions whose result is there (the
/// conditions of `access::create_shared_session`), then the audit events of
/// the sessions written; answers the `id_hash` of each session written.
const MERGED_TAIL: &str = ", \
    s AS (INSERT INTO sessions (id_hash, env_id, revision, result, created, expires, result_id) \
          SELECT v.id_hash, r.env_id, v.revision, ''::bytea, v.created, v.expires, r.id \
          FROM v JOIN session_results r \
          ON r.id = v.result_id AND r.env_id = v.env_id AND r.expires >= v.expires \
          RETURNING id_hash), \
    a AS (INSERT INTO audit_events (id, time, org, actor, action, target, detail) \
          SELECT v.a_id, v.a_time, v.a_org, v.a_actor, v.a_action, v.a_target, v.a_detail \
          FROM v JOIN s ON s.id_hash = v.id_hash WHERE v.a_id IS NOT NULL) \
    SELECT id_hash FROM s";

impl SessionRow {
    /// The row of a session (`id_hash`, of environment `env_id`, pointing
    /// to result `result_id`) and of its audit event (`audit`: the
    /// arguments of `access::audit_statement`, in its column order).
    pub(super) fn new(
        id_hash: Vec<u8>,
        revision: i64,
        created: i64,
        expires: i64,
        result_id: &str,
        env_id: &str,
        audit: Option<Vec<Param>>,
    ) -> Result<Self, StoreError> {
        let mut values = crate::db::args![id_hash, revision, created, expires, result_id, env_id];
        let audited = audit.is_some();
        match audit {
            Some(audit) if audit.len() == 7 => values.extend(audit),
            Some(_) => {
                return Err(DatabaseError::new("an audit event row of the wrong width").into());
            }
            None => values.extend([
                Param::Text(None),
                Param::Int(None),
                Param::Text(None),
                Param::Text(None),
                Param::Text(None),
                Param::Text(None),
                Param::Text(None),
            ]),
        }
        Ok(Self { values, audited })
    }
}

/// One statement writing every row of `rows` (see [`MERGED_TAIL`]) and its
/// parameters. The rows are padded with rows of NULLs (which join no
/// result, so write nothing) up to a power of two: a batch then takes one
/// of 7 statement texts instead of one of 64, and PostgreSQL plans each
/// text a few times per connection before it keeps a generic plan
/// (planning the merged statement was ~9% of the backends' CPU time).
fn merged_statement(rows: &[&SessionRow]) -> (String, Vec<Param>) {
    let names: Vec<&str> = ROW_COLUMNS.iter().map(|(name, _)| *name).collect();
    let mut sql = format!("WITH v ({}) AS (VALUES ", names.join(", "));
    let width = rows.len().next_power_of_two();
    let mut args = Vec::with_capacity(width * ROW_COLUMNS.len());
    for index in 0..width {
        if index > 0 {
            sql.push_str(", ");
        }
        sql.push('(');
        for (column, (_, ty)) in ROW_COLUMNS.iter().enumerate() {
            if column > 0 {
                sql.push_str(", ");
            }
            // placeholders are numbered by us, not taken from input
            sql.push_str(&format!("${}::{ty}", args.len() + column + 1));
        }
        sql.push(')');
        match rows.get(index) {
            Some(row) => args.extend(row.values.iter().cloned()),
            None => args.extend(ROW_COLUMNS.iter().map(|(_, ty)| null_of(ty))),
        }
    }
    sql.push(')');
    sql.push_str(MERGED_TAIL);
    (sql, args)
}

/// A NULL of a [`ROW_COLUMNS`] type.
fn null_of(ty: &str) -> Param {
    match ty {
        "bytea" => Param::Bytes(None),
        "bigint" => Param::Int(None),
        _ => Param::Text(None),
    }
}

impl WriteBatcher {
    /// A batcher; with `merge`, batches of [`SessionRow`]s are written as
    /// one statement (the backend must be PostgreSQL).
    pub(super) fn new(merge: bool) -> Self {
        Self {
            queue: Mutex::default(),
            merge,
        }
    }

    /// Runs `statements` in a write transaction shared with the other
    /// writes queued meanwhile; returns once that transaction is over, with
    /// the number of rows each of `statements` changed. `row` is the same
    /// write in the form a merged batch takes, if it has that form.
    pub(super) async fn write(
        self: &Arc<Self>,
        backend: &Arc<dyn Backend>,
        statements: Vec<Statement>,
        row: Option<SessionRow>,
    ) -> Result<Vec<u64>, StoreError> {
        let (done, outcome) = oneshot::channel();
        let row = row.filter(|_| self.merge);
        let start = {
            let mut queue = self.lock();
            queue.pending.push(Pending {
                statements,
                row,
                done,
            });
            !std::mem::replace(&mut queue.draining, true)
        };
        if start {
            let batcher = self.clone();
            let backend = backend.clone();
            tokio::spawn(async move {
                let mut guard = DrainGuard(Some(batcher.clone()));
                batcher.drain(&*backend).await;
                // ended normally: the queue is already handed over
                guard.0 = None;
            });
        }
        outcome
            .await
            .map_err(|_| StoreError::Database(DatabaseError::new("the session writer stopped")))?
    }

    async fn drain(&self, backend: &dyn Backend) {
        loop {
            let batch = {
                let mut queue = self.lock();
                if queue.pending.is_empty() {
                    queue.draining = false;
                    return;
                }
                let take = queue.pending.len().min(MAX_BATCH);
                queue.pending.drain(..take).collect::<Vec<_>>()
            };
            if batch.iter().all(|pending| pending.row.is_some()) {
                // A row the backend refuses before sending it (a NUL in a
                // text) is written alone (and fails alone), instead of
                // failing the merged statement and sending the whole batch
                // down the one-at-a-time path.
                let (refused, batch): (Vec<Pending>, Vec<Pending>) =
                    batch.into_iter().partition(|pending| {
                        pending
                            .row
                            .as_ref()
                            .is_some_and(|row| check_args(&row.values).is_err())
                    });
                for pending in refused {
                    let outcome = write_one(backend, pending.statements).await;
                    let _ = pending.done.send(outcome);
                }
                if batch.is_empty() {
                    continue;
                }
                let rows: Vec<&SessionRow> = batch
                    .iter()
                    .filter_map(|pending| pending.row.as_ref())
                    .collect();
                let (sql, args) = merged_statement(&rows);
                if let Ok(written) = backend.write_statement(&sql, args).await {
                    // kept: whatever the answer, never written again
                    let written: Result<Vec<Vec<u8>>, StoreError> =
                        written.iter().map(|row| row.bytes(0)).collect();
                    for pending in batch {
                        let outcome = match &written {
                            Ok(written) => Ok(merged_counts(&pending, written)),
                            Err(_) => Err(DatabaseError::new(
                                "unreadable answer to a merged session write",
                            )
                            .into()),
                        };
                        let _ = pending.done.send(outcome);
                    }
                    continue;
                }
                // Nothing of it was kept (one statement): each caller's
                // writes alone below, for each caller's own outcome.
                for pending in batch {
                    let outcome = write_one(backend, pending.statements).await;
                    let _ = pending.done.send(outcome);
                }
                continue;
            }
            if batch.len() == 1 {
                for pending in batch {
                    let outcome = write_one(backend, pending.statements).await;
                    let _ = pending.done.send(outcome);
                }
                continue;
            }
            let statements: Vec<Statement> = batch
                .iter()
                .flat_map(|pending| pending.statements.iter().cloned())
                .collect();
            match write_one(backend, statements).await {
                Ok(changed) => {
                    // each caller's counts, in the order its statements ran
                    let mut changed = changed.into_iter();
                    for pending in batch {
                        let own = changed.by_ref().take(pending.statements.len()).collect();
                        let _ = pending.done.send(Ok(own));
                    }
                }
                Err(_) => {
                    // Nothing of the batch was kept: each caller's writes
                    // alone, for each caller's own outcome.
                    for pending in batch {
                        let outcome = write_one(backend, pending.statements).await;
                        let _ = pending.done.send(outcome);
                    }
                }
            }
        }
    }

    fn lock(&self) -> MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The counts the statements of `pending` would have answered, from the
/// `id_hash`es of the sessions a merged statement wrote.
fn merged_counts(pending: &Pending, written: &[Vec<u8>]) -> Vec<u64> {
    let id_hash = match pending.row.as_ref().and_then(|row| row.values.first()) {
        Some(Param::Bytes(Some(id_hash))) => id_hash,
        _ => return vec![0; pending.statements.len()],
    };
    let session = u64::from(written.iter().any(|hash| hash == id_hash));
    let audited = pending.row.as_ref().is_some_and(|row| row.audited);
    if audited {
        vec![session, session]
    } else {
        vec![session]
    }
}

async fn write_one(
    backend: &dyn Backend,
    statements: Vec<Statement>,
) -> Result<Vec<u64>, StoreError> {
    backend.begin().await?.execute_and_commit(statements).await
}

/// If the draining task ends early (a panic), the queued callers get an
/// error instead of waiting forever, and the next write starts a new task.
struct DrainGuard(Option<Arc<WriteBatcher>>);

impl Drop for DrainGuard {
    fn drop(&mut self) {
        if let Some(batcher) = &self.0 {
            let mut queue = batcher.lock();
            queue.draining = false;
            queue.pending.clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(n: u8) -> SessionRow {
        SessionRow::new(vec![n; 8], 1, 2, 3, "result", "env", None)
            .unwrap_or_else(|_| unreachable!("a row without an audit event has the right width"))
    }

    #[test]
    fn batches_are_padded_to_a_power_of_two_with_null_rows() {
        let rows: Vec<SessionRow> = (0..5).map(row).collect();
        let five: Vec<&SessionRow> = rows.iter().collect();
        let (sql5, args5) = merged_statement(&five);
        let (sql8, _) = merged_statement(&[&rows[0]; 8]);
        let (sql4, args4) = merged_statement(&five[..4]);
        let (sql1, args1) = merged_statement(&five[..1]);
        // 5 rows take the 8-row statement; 4 and 1 rows their own
        assert_eq!(sql5, sql8);
        assert_ne!(sql4, sql5);
        assert_eq!(sql5.matches("($").count(), 8);
        assert_eq!(sql4.matches("($").count(), 4);
        assert_eq!(sql1.matches("($").count(), 1);
        assert_eq!(args1.len(), ROW_COLUMNS.len());
        assert_eq!(args4.len(), 4 * ROW_COLUMNS.len());
        assert_eq!(args5.len(), 8 * ROW_COLUMNS.len());
        // the given rows first, in order, then only NULLs
        let (given, padding) = args5.split_at(5 * ROW_COLUMNS.len());
        for (index, row) in rows.iter().enumerate() {
            let width = ROW_COLUMNS.len();
            assert!(given[index * width..(index + 1) * width] == row.values[..]);
        }
        assert!(padding.iter().all(|param| matches!(
            param,
            Param::Bytes(None) | Param::Int(None) | Param::Text(None)
        )));
        // each NULL of its column's type
        for (index, param) in padding.iter().enumerate() {
            let ty = ROW_COLUMNS[index % ROW_COLUMNS.len()].1;
            assert!(*param == null_of(ty));
        }
    }
}
