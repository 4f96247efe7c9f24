//! Coalesced `resolve_revisions` reads: concurrent opens of one environment
//! each check that their remembered result is current, with the same list
//! of targets. Instead of one statement each, the calls of one list that
//! queue up while a statement for it runs share the next statement for it
//! (each list on its own: a slow list does not hold up the others).
//!
//! A caller only shares a statement sent after it queued, so it sees every
//! write committed before its call, as its own statement would. A failed
//! statement is not shared: each of its callers runs its own (its own
//! outcome, as without coalescing).
//!
//! The statements of a list run in a spawned task (not in a caller's
//! future, which may be dropped when its client goes away).

use std::collections::HashMap;
use std::collections::hash_map::Entry;
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
    /// Each list of targets being resolved (a task runs its statements
    /// while it is here), with the callers waiting for its next statement.
    /// Lists are independent: a slow one delays only its own callers.
    lists: HashMap<Targets, Vec<oneshot::Sender<Shared>>>,
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
            match queue.lists.entry(key) {
                Entry::Occupied(mut waiting) => {
                    let waiting = waiting.get_mut();
                    // callers dropped while a slow statement runs leave
                    // their senders behind: drop those now and then
                    // (amortized, at each power of two)
                    if waiting.len() >= 64 && waiting.len().is_power_of_two() {
                        waiting.retain(|done| !done.is_closed());
                    }
                    waiting.push(done);
                    None
                }
                Entry::Vacant(vacant) => {
                    let key = vacant.key().clone();
                    vacant.insert(vec![done]);
                    Some(key)
                }
            }
        };
        if let Some(key) = start {
            let coalescer = self.clone();
            let backend = backend.clone();
            tokio::spawn(async move {
                let mut guard = ListGuard(Some((coalescer.clone(), key.clone())));
                coalescer.run_statements(&backend, &key).await;
                // ended normally: the list is already removed
                guard.0 = None;
            });
        }
        match shared.await {
            Ok(Some(resolved)) => Ok(resolved),
            // the shared statement failed, or the task stopped: our own
            _ => resolve_now(&**backend, targets).await,
        }
    }

    /// Runs statements for `targets` while callers wait for one: each
    /// statement answers the callers queued before it was sent.
    async fn run_statements(&self, backend: &Arc<dyn Backend>, targets: &Targets) {
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
        loop {
            let waiting = {
                let mut queue = self.lock();
                match queue.lists.get_mut(targets) {
                    Some(waiting) if !waiting.is_empty() => std::mem::take(waiting),
                    _ => {
                        queue.lists.remove(targets);
                        return;
                    }
                }
            };
            // sent after every one of `waiting` queued (taken above)
            let shared = resolve_now(&**backend, &borrowed).await.ok();
            for done in waiting {
                let _ = done.send(shared.clone());
            }
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

/// If the task of a list ends early (a panic, or its runtime shutting
/// down), the callers queued for it run their own statements instead of
/// waiting forever, and the next call starts a new task.
struct ListGuard(Option<(Arc<ResolveCoalescer>, Targets)>);

impl Drop for ListGuard {
    fn drop(&mut self) {
        if let Some((coalescer, targets)) = &self.0 {
            // dropping the senders wakes their callers
            coalescer.lock().lists.remove(targets);
        }
    }
}
