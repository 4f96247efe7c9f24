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
//! a batch of n opens costs it one statement instead of 2n + 2. Rows
//! written under pins (`SharedResult::StoredWhile`) carry them, and equal
//! pin lists (the opens of one remembered result) are checked once per
//! statement.

use std::borrow::Cow;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};

use tokio::sync::oneshot;

use crate::db::{Backend, Param, Statement, check_args};
use crate::error::{DatabaseError, StoreError};
use crate::store::MAX_PINS;

use super::pins::{self, PIN_COLUMNS};

/// The most callers' writes in one transaction.
const MAX_BATCH: usize = 64;

/// The most pins (before sharing equal lists) in one merged statement: a
/// batch ends before a row whose pins would pass it.
const MAX_BATCH_PINS: usize = 256;

// A merged statement has MAX_BATCH rows of ROW_COLUMNS parameters and a
// list index each, and MAX_BATCH_PINS pins of PIN_COLUMNS and a list index
// each: PostgreSQL's protocol takes at most 65,535 parameters in one
// statement.
const _: () = assert!(
    MAX_BATCH * (ROW_COLUMNS.len() + 1) + MAX_BATCH_PINS * (PIN_COLUMNS.len() + 1) <= 65_535
);
// any one session's pins fit in a batch
const _: () = assert!(MAX_PINS <= MAX_BATCH_PINS);

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
/// least as long and its pins hold; the event only if the session was
/// written).
pub(super) struct SessionRow {
    /// In [`ROW_COLUMNS`] order.
    values: Vec<Param>,
    /// Whether an audit event goes with it (its statement's count).
    audited: bool,
    /// The pins the session is written under ([`PIN_COLUMNS`] each).
    pins: Vec<Param>,
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

/// What a merged batch writes, after the rows (`v`, each with the index of
/// its list of pins, `pins`) and the pins (`p`, each with its list's index,
/// `list`): the lists with a pin that no longer holds, then the sessions
/// whose result is there and whose pins all hold (the conditions of
/// `access::create_shared_session`), then the audit events of the sessions
/// written; answers the `id_hash` of each session written.
const MERGED_TAIL: &str = "stale AS (SELECT DISTINCT p.list FROM p \
          WHERE p.list IS NOT NULL AND NOT {PIN_HOLDS}), \
    s AS (INSERT INTO sessions (id_hash, env_id, revision, result, created, expires, result_id) \
          SELECT v.id_hash, r.env_id, v.revision, ''::bytea, v.created, v.expires, r.id \
          FROM v JOIN session_results r \
          ON r.id = v.result_id AND r.env_id = v.env_id AND r.expires >= v.expires \
          WHERE NOT EXISTS (SELECT 1 FROM stale WHERE stale.list = v.pins) \
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
        Ok(Self {
            values,
            audited,
            pins: Vec::new(),
        })
    }

    /// The row, written only while `pins` hold (`pins::pin_args`).
    pub(super) fn pinned(mut self, pins: Vec<Param>) -> Result<Self, StoreError> {
        if !pins.len().is_multiple_of(PIN_COLUMNS.len())
            || pins.len() / PIN_COLUMNS.len() > MAX_PINS
        {
            return Err(DatabaseError::new("pins of the wrong width").into());
        }
        self.pins = pins;
        Ok(self)
    }
}

/// One statement writing every row of `rows` (see [`MERGED_TAIL`]) and its
/// parameters. The rows, and the pins, are padded with rows of NULLs
/// (which join no result and belong to no list, so write nothing) up to a
/// power of two: a batch then takes one of a few statement texts instead
/// of one per size, and PostgreSQL plans each text a few times per
/// connection before it keeps a generic plan (planning the merged
/// statement was ~9% of the backends' CPU time). Rows with equal pins
/// share one list of them (the opens of one remembered result).
fn merged_statement(rows: &[&SessionRow]) -> (Cow<'static, str>, Vec<Param>) {
    // each row's list of pins: equal lists once
    let mut lists: Vec<&[Param]> = Vec::new();
    let row_lists: Vec<Option<usize>> = rows
        .iter()
        .map(|row| {
            if row.pins.is_empty() {
                return None;
            }
            match lists.iter().position(|list| *list == &row.pins[..]) {
                Some(index) => Some(index),
                None => {
                    lists.push(&row.pins);
                    Some(lists.len() - 1)
                }
            }
        })
        .collect();
    let n_pins: usize = lists
        .iter()
        .map(|list| list.len() / PIN_COLUMNS.len())
        .sum();
    let (row_width, pin_width) = (
        rows.len().next_power_of_two(),
        n_pins.max(1).next_power_of_two(),
    );

    let mut args = Vec::with_capacity(
        row_width * (ROW_COLUMNS.len() + 1) + pin_width * (PIN_COLUMNS.len() + 1),
    );
    let mut given = rows.iter().zip(&row_lists);
    for _ in 0..row_width {
        match given.next() {
            Some((row, list)) => {
                args.extend(row.values.iter().cloned());
                args.push(Param::Int(list.and_then(|list| i64::try_from(list).ok())));
            }
            None => {
                args.extend(ROW_COLUMNS.iter().map(|(_, ty)| null_of(ty)));
                args.push(Param::Int(None));
            }
        }
    }
    let mut pins = lists.iter().enumerate().flat_map(|(list, pins)| {
        pins.chunks(PIN_COLUMNS.len())
            .map(move |pin| (i64::try_from(list).ok(), pin))
    });
    for _ in 0..pin_width {
        match pins.next() {
            Some((list, pin)) => {
                args.push(Param::Int(list));
                args.extend(pin.iter().cloned());
            }
            None => {
                args.push(Param::Int(None));
                args.extend(PIN_COLUMNS.iter().map(|(_, ty)| null_of(ty)));
            }
        }
    }
    (merged_sql(row_width, pin_width), args)
}

/// Powers of two a merged statement's rows and pins are padded to.
const ROW_WIDTHS: usize = MAX_BATCH.ilog2() as usize + 1;
const PIN_WIDTHS: usize = MAX_BATCH_PINS.ilog2() as usize + 1;
const _: () = assert!(MAX_BATCH.is_power_of_two() && MAX_BATCH_PINS.is_power_of_two());

/// The text of a merged statement of `row_width` rows and `pin_width` pins
/// (powers of two, at most [`MAX_BATCH`] and [`MAX_BATCH_PINS`]): built
/// once per process (it was a tenth of the server's CPU time per open
/// when built per batch).
fn merged_sql(row_width: usize, pin_width: usize) -> Cow<'static, str> {
    static TEXTS: [[OnceLock<String>; PIN_WIDTHS]; ROW_WIDTHS] =
        [const { [const { OnceLock::new() }; PIN_WIDTHS] }; ROW_WIDTHS];
    let slot = TEXTS
        .get(row_width.ilog2() as usize)
        .and_then(|texts| texts.get(pin_width.ilog2() as usize));
    match slot {
        Some(slot) => Cow::Borrowed(slot.get_or_init(|| build_merged_sql(row_width, pin_width))),
        // not a width a batch takes (see `drain`): built, not kept
        None => Cow::Owned(build_merged_sql(row_width, pin_width)),
    }
}

fn build_merged_sql(row_width: usize, pin_width: usize) -> String {
    let mut sql = String::from("WITH v (");
    let names: Vec<&str> = ROW_COLUMNS.iter().map(|(name, _)| *name).collect();
    sql.push_str(&names.join(", "));
    sql.push_str(", pins) AS (VALUES ");
    let mut placeholders = 0;
    let row_types: Vec<&str> = ROW_COLUMNS.iter().map(|(_, ty)| *ty).collect();
    for index in 0..row_width {
        if index > 0 {
            sql.push_str(", ");
        }
        push_placeholders(
            &mut sql,
            &mut placeholders,
            row_types.iter().copied().chain(["bigint"]),
        );
    }
    sql.push_str("), p (list, ");
    let pin_names: Vec<&str> = PIN_COLUMNS.iter().map(|(name, _)| *name).collect();
    sql.push_str(&pin_names.join(", "));
    sql.push_str(") AS (VALUES ");
    let pin_types: Vec<&str> = PIN_COLUMNS.iter().map(|(_, ty)| *ty).collect();
    for index in 0..pin_width {
        if index > 0 {
            sql.push_str(", ");
        }
        push_placeholders(
            &mut sql,
            &mut placeholders,
            ["bigint"].into_iter().chain(pin_types.iter().copied()),
        );
    }
    sql.push_str("), ");
    let holds = pins::pin_holds([
        "p.org",
        "p.project",
        "p.name",
        "p.env_id",
        "p.number",
        "p.tag",
    ]);
    sql.push_str(&MERGED_TAIL.replace("{PIN_HOLDS}", &holds));
    sql
}

/// Appends `($n::type, …)`, one placeholder per type, numbered on from
/// `*placeholders`.
fn push_placeholders<'a>(
    sql: &mut String,
    placeholders: &mut usize,
    types: impl Iterator<Item = &'a str>,
) {
    sql.push('(');
    for (column, ty) in types.enumerate() {
        if column > 0 {
            sql.push_str(", ");
        }
        *placeholders += 1;
        // placeholders are numbered by us, not taken from input
        sql.push_str(&format!("${placeholders}::{ty}"));
    }
    sql.push(')');
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
                // up to MAX_BATCH callers and MAX_BATCH_PINS pins
                let mut take = 0;
                let mut n_pins = 0;
                for pending in queue.pending.iter().take(MAX_BATCH) {
                    let pins = pending.row.as_ref().map_or(0, |row| row.pins.len());
                    n_pins += pins / PIN_COLUMNS.len();
                    if take > 0 && n_pins > MAX_BATCH_PINS {
                        break;
                    }
                    take += 1;
                }
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

    /// A row (key `n`) with `pins` pins, each naming environment `pinned`.
    fn row(n: u8, pins: usize, pinned: &str) -> SessionRow {
        let pins = (0..pins)
            .flat_map(|number| {
                [
                    Param::Text(Some("acme".into())),
                    Param::Text(Some("app".into())),
                    Param::Text(Some(pinned.into())),
                    Param::Text(Some(format!("{pinned}-id"))),
                    Param::Int(Some(number as i64)),
                    Param::Text(None),
                ]
            })
            .collect();
        SessionRow::new(vec![n; 8], 1, 2, 3, "result", "env", None)
            .and_then(|row| row.pinned(pins))
            .unwrap_or_else(|_| unreachable!("rows of the right width"))
    }

    /// (rows, pins) of a merged statement's text.
    fn widths(sql: &str) -> (usize, usize) {
        let rows = sql.matches("::bytea, $").count();
        // every tuple opens with `($`: the rest are pins
        (rows, sql.matches("($").count() - rows)
    }

    fn is_null(param: &Param) -> bool {
        matches!(
            param,
            Param::Bytes(None) | Param::Int(None) | Param::Text(None)
        )
    }

    #[test]
    fn batches_are_padded_to_a_power_of_two_with_null_rows() {
        let rows: Vec<SessionRow> = (0..5).map(|n| row(n, 0, "dev")).collect();
        let five: Vec<&SessionRow> = rows.iter().collect();
        let (sql5, args5) = merged_statement(&five);
        let (sql8, _) = merged_statement(&[&rows[0]; 8]);
        let (sql4, args4) = merged_statement(&five[..4]);
        let (sql1, args1) = merged_statement(&five[..1]);
        // 5 rows take the 8-row statement; 4 and 1 rows their own; a
        // batch without pins has one NULL pin
        assert_eq!(sql5, sql8);
        assert_ne!(sql4, sql5);
        assert_eq!(widths(&sql5), (8, 1));
        assert_eq!(widths(&sql4), (4, 1));
        assert_eq!(widths(&sql1), (1, 1));
        let row_width = ROW_COLUMNS.len() + 1;
        let pin_width = PIN_COLUMNS.len() + 1;
        assert_eq!(args1.len(), row_width + pin_width);
        assert_eq!(args4.len(), 4 * row_width + pin_width);
        assert_eq!(args5.len(), 8 * row_width + pin_width);
        // the given rows first, in order, with no list of pins; then NULLs
        let (given, padding) = args5.split_at(5 * row_width);
        for (index, row) in rows.iter().enumerate() {
            let values = &given[index * row_width..(index + 1) * row_width];
            assert!(values[..ROW_COLUMNS.len()] == row.values[..]);
            assert!(values[ROW_COLUMNS.len()] == Param::Int(None));
        }
        assert!(padding.iter().all(is_null));
        // each NULL of its column's type
        for (index, param) in padding[..3 * row_width].iter().enumerate() {
            match ROW_COLUMNS.get(index % row_width) {
                Some((_, ty)) => assert!(*param == null_of(ty)),
                None => assert!(*param == Param::Int(None)),
            }
        }
    }

    #[test]
    fn rows_with_equal_pins_share_one_list() {
        // two rows pinned alike (3 pins), one otherwise (2), one unpinned
        let rows = [
            row(1, 3, "dev"),
            row(2, 3, "dev"),
            row(3, 2, "prod"),
            row(4, 0, "dev"),
        ];
        let refs: Vec<&SessionRow> = rows.iter().collect();
        let (sql, args) = merged_statement(&refs);
        // 3 + 2 pins, padded to 8
        assert_eq!(widths(&sql), (4, 8));
        let row_width = ROW_COLUMNS.len() + 1;
        let lists: Vec<&Param> = (0..4)
            .map(|index| &args[index * row_width + ROW_COLUMNS.len()])
            .collect();
        assert!(*lists[0] == Param::Int(Some(0)));
        assert!(*lists[1] == Param::Int(Some(0)));
        assert!(*lists[2] == Param::Int(Some(1)));
        assert!(*lists[3] == Param::Int(None));
        let pin_width = PIN_COLUMNS.len() + 1;
        let pins: Vec<&[Param]> = args[4 * row_width..].chunks(pin_width).collect();
        assert_eq!(pins.len(), 8);
        for (index, pin) in pins.iter().enumerate() {
            let (list, name) = match index {
                0..3 => (Some(0), Some("dev")),
                3..5 => (Some(1), Some("prod")),
                _ => (None, None),
            };
            assert!(pin[0] == Param::Int(list), "pin {index}");
            assert!(
                pin[3] == Param::Text(name.map(str::to_owned)),
                "pin {index}"
            );
        }
        assert!(pins[5..].iter().all(|pin| pin.iter().all(is_null)));
    }

    #[test]
    fn pins_of_the_wrong_width_are_refused() {
        let pins = vec![Param::Text(None); PIN_COLUMNS.len() + 1];
        let row = || SessionRow::new(vec![1], 1, 2, 3, "r", "e", None);
        assert!(row().and_then(|row| row.pinned(pins)).is_err());
        let too_many = vec![Param::Text(None); PIN_COLUMNS.len() * (MAX_PINS + 1)];
        assert!(row().and_then(|row| row.pinned(too_many)).is_err());
        let enough = vec![Param::Text(None); PIN_COLUMNS.len() * MAX_PINS];
        assert!(row().and_then(|row| row.pinned(enough)).is_ok());
    }
}
