//! In-memory caches that spare the store a transaction on the hot paths:
//! verified access tokens (a bounded staleness, so a deleted token is
//! refused within `ttl` on every server) and the results of the sessions
//! this process opened (write-through: the store has them too, so any
//! server sharing the database reads them). Both are keyed by the SHA-256
//! of the bearer secret, never by the secret itself, and bounded in size.
//! No lock is held across an `.await`.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use esc_eval::PlainValue;
use esc_store::{EnvRef, Timestamp, secret_digest};
use zeroize::Zeroize;

use crate::service::Caller;

/// The most verified tokens remembered.
const MAX_TOKENS: usize = 10_000;

/// The most sessions remembered.
const MAX_SESSIONS: usize = 1_024;

/// Locks `mutex`, recovering from a panic elsewhere (the maps stay valid:
/// every change is one map operation).
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Access tokens the store verified recently: token digest → caller.
pub(crate) struct TokenCache {
    ttl: Duration,
    entries: Mutex<HashMap<[u8; 32], VerifiedToken>>,
}

struct VerifiedToken {
    caller: Caller,
    verified: Instant,
    /// The token's own expiry: the cache never outlives it.
    expires: Option<Timestamp>,
}

impl TokenCache {
    /// A cache trusting a verification for `ttl` (zero: no caching).
    pub(crate) fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// The caller of `token` if the store verified it less than `ttl` ago
    /// and it has not expired since.
    pub(crate) fn lookup(&self, token: &str) -> Option<Caller> {
        if self.ttl.is_zero() {
            return None;
        }
        let digest = secret_digest(token.as_bytes());
        let mut entries = lock(&self.entries);
        let entry = entries.get(&digest)?;
        if self.fresh(entry) {
            Some(entry.caller.clone())
        } else {
            entries.remove(&digest);
            None
        }
    }

    /// Remembers that the store verified `token` as `caller` just now.
    pub(crate) fn insert(&self, token: &str, caller: Caller, expires: Option<Timestamp>) {
        if self.ttl.is_zero() {
            return;
        }
        let digest = secret_digest(token.as_bytes());
        let mut entries = lock(&self.entries);
        if entries.len() >= MAX_TOKENS {
            entries.retain(|_, entry| self.fresh(entry));
            if entries.len() >= MAX_TOKENS {
                entries.clear();
            }
        }
        entries.insert(
            digest,
            VerifiedToken {
                caller,
                verified: Instant::now(),
                expires,
            },
        );
    }

    fn fresh(&self, entry: &VerifiedToken) -> bool {
        entry.verified.elapsed() < self.ttl
            && entry
                .expires
                .is_none_or(|expires| expires > Timestamp::now())
    }
}

/// Results of sessions opened by this process: session id digest → result.
pub(crate) struct SessionCache {
    ttl: Duration,
    entries: Mutex<Sessions>,
}

#[derive(Default)]
struct Sessions {
    by_id: HashMap<[u8; 32], CachedSession>,
    /// Insertion order, for eviction (the oldest first).
    order: VecDeque<([u8; 32], Instant)>,
}

struct CachedSession {
    env: EnvRef,
    expires: Timestamp,
    added: Instant,
    result: SessionResult,
}

/// A session's result, as a value and as the JSON text the store keeps.
/// Both hold the environment's secrets in clear: they are wiped when the
/// last holder drops them, and neither has a Debug form.
#[derive(Clone)]
pub(crate) struct SessionResult {
    /// The environment.
    pub(crate) value: Arc<SecretEnvironment>,
    /// `value` serialized (what a read of the whole environment answers).
    pub(crate) json: Arc<SecretJson>,
}

impl SessionResult {
    /// The result `value`, serialized as `json`.
    pub(crate) fn new(value: PlainValue, json: String) -> Self {
        Self {
            value: Arc::new(SecretEnvironment(value)),
            json: Arc::new(SecretJson(json)),
        }
    }
}

/// An opened environment (secrets in clear): its strings are zeroized on
/// drop.
pub(crate) struct SecretEnvironment(pub(crate) PlainValue);

impl std::ops::Deref for SecretEnvironment {
    type Target = PlainValue;

    fn deref(&self) -> &PlainValue {
        &self.0
    }
}

impl Drop for SecretEnvironment {
    fn drop(&mut self) {
        wipe(&mut self.0);
    }
}

/// Zeroizes every string and number text in `value` (keys are names, not
/// values).
fn wipe(value: &mut PlainValue) {
    match value {
        PlainValue::Null | PlainValue::Bool(_) => {}
        PlainValue::Number(text) | PlainValue::String(text) => text.zeroize(),
        PlainValue::Array(items) => items.iter_mut().for_each(wipe),
        PlainValue::Object(map) => map.values_mut().for_each(wipe),
        PlainValue::Secret(inner) => wipe(inner),
    }
}

/// An opened environment's JSON text (secrets in clear): zeroized on drop.
pub(crate) struct SecretJson(String);

impl std::ops::Deref for SecretJson {
    type Target = str;

    fn deref(&self) -> &str {
        &self.0
    }
}

impl Drop for SecretJson {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl SessionCache {
    /// A cache keeping each result for `ttl` at most (zero: no caching).
    pub(crate) fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            entries: Mutex::new(Sessions::default()),
        }
    }

    /// Remembers the result of a session just stored.
    pub(crate) fn insert(&self, id: &str, env: &EnvRef, expires: Timestamp, result: SessionResult) {
        if self.ttl.is_zero() {
            return;
        }
        let digest = secret_digest(id.as_bytes());
        let now = Instant::now();
        let mut sessions = lock(&self.entries);
        while let Some((oldest, added)) = sessions.order.front().copied() {
            if sessions.order.len() < MAX_SESSIONS && now.duration_since(added) < self.ttl {
                break;
            }
            sessions.order.pop_front();
            sessions.by_id.remove(&oldest);
        }
        sessions.order.push_back((digest, now));
        sessions.by_id.insert(
            digest,
            CachedSession {
                env: env.clone(),
                expires,
                added: now,
                result,
            },
        );
    }

    /// The result of session `id` of `env`, if this process opened it less
    /// than `ttl` ago and it has not expired. `None` means: ask the store.
    pub(crate) fn lookup(&self, id: &str, env: &EnvRef) -> Option<SessionResult> {
        if self.ttl.is_zero() {
            return None;
        }
        let digest = secret_digest(id.as_bytes());
        let sessions = lock(&self.entries);
        let session = sessions.by_id.get(&digest)?;
        (session.env == *env
            && session.expires > Timestamp::now()
            && session.added.elapsed() < self.ttl)
            .then(|| session.result.clone())
    }

    /// Forgets the sessions of a deleted environment.
    pub(crate) fn forget_environment(&self, env: &EnvRef) {
        let mut sessions = lock(&self.entries);
        sessions.by_id.retain(|_, session| session.env != *env);
        let Sessions { by_id, order } = &mut *sessions;
        order.retain(|(key, _)| by_id.contains_key(key));
    }
}

#[cfg(test)]
mod tests;
