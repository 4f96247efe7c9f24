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

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use tokio::sync::oneshot;

use crate::db::{Backend, Statement};
use crate::error::{DatabaseError, StoreError};

/// The most callers' writes in one transaction.
const MAX_BATCH: usize = 64;

/// Queued session writes of one store.
#[derive(Default)]
pub(super) struct WriteBatcher {
    queue: Mutex<Queue>,
}

#[derive(Default)]
struct Queue {
    pending: Vec<Pending>,
    /// A task is draining the queue.
    draining: bool,
}

struct Pending {
    statements: Vec<Statement>,
    done: oneshot::Sender<Result<Vec<u64>, StoreError>>,
}

impl WriteBatcher {
    /// Runs `statements` in a write transaction shared with the other
    /// writes queued meanwhile; returns once that transaction is over, with
    /// the number of rows each of `statements` changed.
    pub(super) async fn write(
        self: &Arc<Self>,
        backend: &Arc<dyn Backend>,
        statements: Vec<Statement>,
    ) -> Result<Vec<u64>, StoreError> {
        let (done, outcome) = oneshot::channel();
        let start = {
            let mut queue = self.lock();
            queue.pending.push(Pending { statements, done });
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
