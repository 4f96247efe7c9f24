//! Evaluated results of provider-free environments, so that opening the
//! same revisions again for the same caller skips the evaluation.
//!
//! An evaluation that called no provider or rotator is a function of the
//! revisions it read (the opened one and every import, transitively), the
//! execution context (the caller's login, the organization, the
//! environment's name) and the decrypted `fn::secret`s of those revisions.
//! An entry is keyed by the context and the version selector the caller
//! asked for, and keeps the revision each environment it read resolved to
//! (environment id + number; a re-created environment has another id).
//! It is used only after the store confirmed, in one statement, that every
//! one of those selectors still resolves to the same revision
//! ([`esc_store::Store::resolve_revisions`]): a new revision of an import,
//! a moved tag or a retraction makes the entry stale at once.
//!
//! Entries hold decrypted secrets (the result and the environment's cipher)
//! in memory only, like the session cache; nothing here derives `Debug` or
//! is logged. Bounded by entries and by bytes of result JSON; the least
//! recently used entry goes first.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use esc_store::{EnvRef, EnvironmentCipher, ResolvedRevision, Timestamp};

use crate::cache::SessionResult;
use crate::names::Version;

/// What an evaluation result is keyed by: everything it depends on apart
/// from the revisions it read.
#[derive(Clone, PartialEq, Eq, Hash)]
pub(crate) struct ResultKey {
    /// The opened environment (its organization is the context's).
    pub(crate) env: EnvRef,
    /// The version the caller asked for.
    pub(crate) version: Version,
    /// The caller's login (`context.pulumi.user.login`).
    pub(crate) login: String,
}

/// One environment an evaluation read, as it was asked for and what that
/// resolved to then.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Dependency {
    pub(crate) env: EnvRef,
    pub(crate) version: Version,
    pub(crate) resolved: ResolvedRevision,
}

/// A remembered evaluation.
pub(crate) struct CachedResult {
    /// The opened environment first, then every import loaded.
    pub(crate) dependencies: Vec<Dependency>,
    /// The opened environment's cipher (sessions are sealed with it).
    pub(crate) cipher: Arc<EnvironmentCipher>,
    /// The Environment JSON, as a value and as text.
    pub(crate) result: SessionResult,
    /// The result as stored in the store for sessions to share, once a
    /// session wrote it.
    pub(crate) stored: StoredResult,
}

/// Where the store keeps a result for sessions to share: its id and until
/// when it is kept (sessions expiring later cannot point to it).
#[derive(Default)]
pub(crate) struct StoredResult(Mutex<Option<(String, Timestamp)>>);

impl StoredResult {
    /// The id of the stored result, if it is kept until `expires` at least.
    pub(crate) fn usable_until(&self, expires: Timestamp) -> Option<String> {
        self.lock()
            .as_ref()
            .filter(|(_, keep_until)| keep_until.unix_millis() >= expires.unix_millis())
            .map(|(id, _)| id.clone())
    }

    /// Remembers a result stored (committed) until `keep_until`, unless one
    /// kept longer is known.
    pub(crate) fn remember(&self, id: String, keep_until: Timestamp) {
        let mut stored = self.lock();
        if stored
            .as_ref()
            .is_none_or(|(_, known)| known.unix_millis() < keep_until.unix_millis())
        {
            *stored = Some((id, keep_until));
        }
    }

    /// Forgets `id` (the store no longer has it).
    pub(crate) fn forget(&self, id: &str) {
        let mut stored = self.lock();
        if stored.as_ref().is_some_and(|(known, _)| known == id) {
            *stored = None;
        }
    }

    fn lock(&self) -> MutexGuard<'_, Option<(String, Timestamp)>> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl CachedResult {
    /// Whether anything besides the opened environment was read.
    pub(crate) fn has_imports(&self) -> bool {
        self.dependencies.len() > 1
    }

    /// Whether `now` (the dependencies resolved again, in order) is exactly
    /// what the evaluation read.
    pub(crate) fn is_current(&self, now: &[Option<ResolvedRevision>]) -> bool {
        now.len() == self.dependencies.len()
            && self
                .dependencies
                .iter()
                .zip(now)
                .all(|(dependency, now)| now.as_ref() == Some(&dependency.resolved))
    }
}

/// The remembered evaluations of one service.
pub(crate) struct ResultCache {
    max_entries: usize,
    max_bytes: usize,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    entries: HashMap<ResultKey, Entry>,
    bytes: usize,
    clock: u64,
}

struct Entry {
    result: Arc<CachedResult>,
    last_used: u64,
}

impl ResultCache {
    /// At most `max_entries` results of at most `max_bytes` bytes of JSON in
    /// all (zero entries: nothing is kept).
    pub(crate) fn new(max_entries: usize, max_bytes: usize) -> Self {
        Self {
            max_entries,
            max_bytes,
            state: Mutex::new(State::default()),
        }
    }

    /// The remembered result for `key`, not yet checked against the store.
    pub(crate) fn lookup(&self, key: &ResultKey) -> Option<Arc<CachedResult>> {
        let mut state = self.lock();
        state.clock += 1;
        let now = state.clock;
        let entry = state.entries.get_mut(key)?;
        entry.last_used = now;
        Some(entry.result.clone())
    }

    /// Remembers `result` for `key` (replacing an older one), then evicts
    /// the least recently used entries beyond the bounds.
    pub(crate) fn insert(&self, key: ResultKey, result: Arc<CachedResult>) {
        let size = entry_size(&result);
        if self.max_entries == 0 || size > self.max_bytes {
            return;
        }
        // Dropping a replaced or evicted result frees a whole value tree:
        // done after the lock is released.
        let mut dropped = Vec::new();
        {
            let mut state = self.lock();
            state.clock += 1;
            let last_used = state.clock;
            if let Some(old) = state.entries.insert(key, Entry { result, last_used }) {
                state.bytes -= entry_size(&old.result);
                dropped.push(old.result);
            }
            state.bytes += size;
            while state.entries.len() > self.max_entries || state.bytes > self.max_bytes {
                let Some(oldest) = state
                    .entries
                    .iter()
                    .min_by_key(|(_, entry)| entry.last_used)
                    .map(|(key, _)| key.clone())
                else {
                    break;
                };
                if let Some(old) = state.entries.remove(&oldest) {
                    state.bytes -= entry_size(&old.result);
                    dropped.push(old.result);
                }
            }
        }
        drop(dropped);
    }

    /// Forgets the entry for `key` (it was found stale).
    pub(crate) fn remove(&self, key: &ResultKey) {
        let removed = {
            let mut state = self.lock();
            let removed = state.entries.remove(key);
            if let Some(old) = &removed {
                state.bytes -= entry_size(&old.result);
            }
            removed
        };
        drop(removed);
    }

    /// Forgets the results of a deleted environment (they hold its
    /// secrets; a re-created one would not match them anyway).
    pub(crate) fn forget_environment(&self, env: &EnvRef) {
        let mut removed = Vec::new();
        {
            let mut state = self.lock();
            let State { entries, bytes, .. } = &mut *state;
            entries.retain(|key, entry| {
                if key.env == *env {
                    *bytes -= entry_size(&entry.result);
                    removed.push(entry.result.clone());
                    false
                } else {
                    true
                }
            });
        }
        drop(removed);
    }

    /// Number of remembered results.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.lock().entries.len()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// What an entry counts against the byte bound: its JSON text (the value
/// tree takes a few times more, in proportion).
fn entry_size(result: &CachedResult) -> usize {
    result.result.json.len()
}

#[cfg(test)]
mod tests;
