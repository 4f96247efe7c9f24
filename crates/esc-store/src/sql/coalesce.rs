//! Coalesced `resolve_revisions` reads: concurrent opens of one environment
//! each check that their remembered result is current, with the same list
//! of targets. Instead of one statement each, the calls that queue up while
//! one round of statements runs share the next round: one statement per
//! distinct list of targets.
//!
//! A caller only shares a statement sent after it queued, so it sees every
//! write committed before its call, as its own statement would. A failed
//! statement is not shared: each of its callers runs its own (its own
//! outcome, as without coalescing).
//!
//! The rounds run in a spawned task (not in a caller's future, which may be
//! dropped when its client goes away).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use tokio::sync::oneshot;

use crate::db::Backend;
use crate::model::{EnvRef, RevisionAt};
use crate::store::{ResolvedRevision, StoreResult};

/// One target, owned (the key of a queued list).
#[derive(Clone, PartialEq, Eq, Hash)]
enum Selector {
    Number(u64),
    Tag(String),
}

type Targets = Vec<(EnvRef, Selector)>;

/// The outcome a round hands to a caller: the shared answer, or `None`:
/// run your own statement.
type Shared = Option<Vec<Option<ResolvedRevision>>>;

/// Queued `resolve_revisions` calls of one store.
#[derive(Default)]
pub(super) struct ResolveCoalescer {
    queue: Mutex<Queue>,
}

#[derive(Default)]
struct Queue {
    pending: HashMap<Targets, Vec<oneshot::Sender<Shared>>>,
    /// A task is running rounds.
    running: bool,
}

impl ResolveCoalescer {
    /// Where each of `targets` points now (as
    /// `Store::resolve_revisions`), sharing the statement with identical
    /// calls queued at the same time.
    pub(super) async fn resolve(
        self: &Arc<Self>,
        backend: &Arc<dyn Backend>,
        targets: &[(EnvRef, RevisionAt<'_>)],
    ) -> StoreResult<Vec<Option<ResolvedRevision>>> {
        let key: Targets = targets
            .iter()
            .map(|(env, at)| {
                let selector = match at {
                    RevisionAt::Number(number) => Selector::Number(*number),
                    RevisionAt::Tag(tag) => Selector::Tag((*tag).to_owned()),
                };
                (env.clone(), selector)
            })
            .collect();
        let (done, shared) = oneshot::channel();
        let start = {
            let mut queue = self.lock();
            queue.pending.entry(key).or_default().push(done);
            !std::mem::replace(&mut queue.running, true)
        };
        if start {
            let coalescer = self.clone();
            let backend = backend.clone();
            tokio::spawn(async move {
                let mut guard = RoundGuard(Some(coalescer.clone()));
                coalescer.run_rounds(&backend).await;
                // ended normally: the queue is already handed over
                guard.0 = None;
            });
        }
        match shared.await {
            Ok(Some(resolved)) => Ok(resolved),
            // the shared statement failed, or the task stopped: our own
            _ => resolve_now(&**backend, targets).await,
        }
    }

    async fn run_rounds(&self, backend: &Arc<dyn Backend>) {
        loop {
            let round: Vec<(Targets, Vec<oneshot::Sender<Shared>>)> = {
                let mut queue = self.lock();
                if queue.pending.is_empty() {
                    queue.running = false;
                    return;
                }
                queue.pending.drain().collect()
            };
            // distinct lists at once (a pool of connections on PostgreSQL,
            // a few readers on SQLite)
            futures::future::join_all(round.into_iter().map(|(targets, waiting)| async move {
                let borrowed: Vec<(EnvRef, RevisionAt<'_>)> = targets
                    .iter()
                    .map(|(env, selector)| {
                        let at = match selector {
                            Selector::Number(number) => RevisionAt::Number(*number),
                            Selector::Tag(tag) => RevisionAt::Tag(tag),
                        };
                        (env.clone(), at)
                    })
                    .collect();
                let shared = resolve_now(&**backend, &borrowed).await.ok();
                for done in waiting {
                    let _ = done.send(shared.clone());
                }
            }))
            .await;
        }
    }

    fn lock(&self) -> MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// One statement resolving `targets` (a long list in chunks, inside one
/// snapshot).
pub(super) async fn resolve_now(
    backend: &dyn Backend,
    targets: &[(EnvRef, RevisionAt<'_>)],
) -> StoreResult<Vec<Option<ResolvedRevision>>> {
    let chunk = super::environments::RESOLVE_CHUNK;
    let mut tx = if targets.len() <= chunk {
        backend.begin_statement().await?
    } else {
        backend.begin_read().await?
    };
    let mut resolved = Vec::with_capacity(targets.len());
    for part in targets.chunks(chunk) {
        match super::environments::resolve_revisions(&mut *tx, part).await {
            Ok(part) => resolved.extend(part),
            Err(error) => {
                // the statement's error matters more than the rollback's
                let _ = tx.rollback().await;
                return Err(error);
            }
        }
    }
    tx.commit().await?;
    Ok(resolved)
}

/// If the task ends early (a panic), the queued callers run their own
/// statements instead of waiting forever, and the next call starts a new
/// task.
struct RoundGuard(Option<Arc<ResolveCoalescer>>);

impl Drop for RoundGuard {
    fn drop(&mut self) {
        if let Some(coalescer) = &self.0 {
            let mut queue = coalescer.lock();
            queue.running = false;
            // dropping the senders wakes their callers
            queue.pending.clear();
        }
    }
}
