//! The set of signing keys and the rules of rotation.
//!
//! Each key is in one state:
//! - **next**: published in the JWKS, not yet signing. A key stays next for at least
//!   [`RotationPolicy::publish_lead`], so adapters that cached the JWKS earlier learn it
//!   before the first token it signs reaches them.
//! - **active**: the one key that signs. Exactly one once the set is bootstrapped.
//! - **retired until** `t`: no longer signs, still published until `t` = retire time +
//!   [`RotationPolicy::max_token_lifetime`] + [`RotationPolicy::clock_leeway`], so every
//!   token it signed has expired (even for a verifier with a skewed clock) before it goes.
//!
//! [`KeySet::maintain`] applies the rules for a given time; callers pass the clock.

use std::sync::Arc;
use std::time::Duration;

use crate::{Error, Jwks, SigningKey, UnixTime};

/// When keys rotate and how long they stay published.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RotationPolicy {
    /// How long a key signs before it is replaced.
    pub rotate_after: Duration,
    /// How long a new key is published before it may sign (at least the longest time an
    /// adapter caches the JWKS).
    pub publish_lead: Duration,
    /// The longest lifetime of any token minted; retired keys stay published this long.
    pub max_token_lifetime: Duration,
    /// Extra time a retired key stays published, for verifiers' clock leeway.
    pub clock_leeway: Duration,
}

impl Default for RotationPolicy {
    /// Rotate every 30 days, publish a day ahead, tokens of at most 1 hour, 5 minutes leeway.
    fn default() -> RotationPolicy {
        RotationPolicy {
            rotate_after: Duration::from_secs(30 * 24 * 3600),
            publish_lead: Duration::from_secs(24 * 3600),
            max_token_lifetime: Duration::from_secs(3600),
            clock_leeway: Duration::from_secs(300),
        }
    }
}

/// The state of one key in a [`KeySet`]. Serialised as key stores keep it:
/// `{"state": "next", "published_at": ...}` (flattened beside the `kid`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum KeyState {
    /// Published, not yet signing.
    Next {
        /// When it was first published.
        published_at: UnixTime,
    },
    /// The signing key.
    Active {
        /// When it started signing.
        since: UnixTime,
    },
    /// No longer signing; published until `until`.
    Retired {
        /// When it leaves the JWKS.
        until: UnixTime,
    },
}

/// A key and its state.
#[derive(Clone)]
pub struct ManagedKey {
    /// The key (shared: the issuer signs with it while the set changes).
    pub key: Arc<SigningKey>,
    /// Its state.
    pub state: KeyState,
}

/// The issuer's keys, oldest first, and the store revision they were loaded at (0 for a
/// set never saved). Not `Debug`: it holds private keys.
#[derive(Clone, Default)]
pub struct KeySet {
    keys: Vec<ManagedKey>,
    revision: u64,
}

impl KeySet {
    /// A set from stored keys at store `revision`. Refused when more than one key is
    /// active or two share a kid.
    pub fn from_keys(keys: Vec<ManagedKey>, revision: u64) -> Result<KeySet, Error> {
        let n_active = keys
            .iter()
            .filter(|managed| matches!(managed.state, KeyState::Active { .. }))
            .count();
        if n_active > 1 {
            return Err(Error::Config("key set has more than one active key"));
        }
        for (idx, managed) in keys.iter().enumerate() {
            if keys[..idx]
                .iter()
                .any(|other| other.key.kid() == managed.key.kid())
            {
                return Err(Error::Config("key set has two keys with the same kid"));
            }
        }
        Ok(KeySet { keys, revision })
    }

    /// The store revision this set was loaded or last saved at; a store saves it only
    /// over that same revision (see [`crate::KeyStore::save`]).
    pub fn revision(&self) -> u64 {
        self.revision
    }

    /// Records that the set was saved as `revision`.
    pub fn set_revision(&mut self, revision: u64) {
        self.revision = revision;
    }

    /// All keys with their states, oldest first.
    pub fn keys(&self) -> &[ManagedKey] {
        &self.keys
    }

    /// The key that signs now, if any.
    pub fn active(&self) -> Option<&Arc<SigningKey>> {
        self.keys.iter().find_map(|managed| match managed.state {
            KeyState::Active { .. } => Some(&managed.key),
            _ => None,
        })
    }

    /// The JWKS at `now`: next and active keys, and retired keys whose `until` is later
    /// than `now`.
    pub fn jwks(&self, now: UnixTime) -> Jwks {
        Jwks {
            keys: self
                .keys
                .iter()
                .filter(|managed| match managed.state {
                    KeyState::Retired { until } => until > now,
                    KeyState::Next { .. } | KeyState::Active { .. } => true,
                })
                .map(|managed| managed.key.public_jwk().clone())
                .collect(),
        }
    }

    /// Applies the rotation rules at `now`, calling `generate` for any new key. Returns
    /// whether the set changed (and so must be saved).
    ///
    /// 1. Retired keys past their `until` are dropped.
    /// 2. With no active key, the oldest next key (or a new key, on an empty set) becomes
    ///    active at once: nothing has signed yet, so no verifier can hold a stale JWKS.
    /// 3. When the active key is due for replacement within `publish_lead` and there is no
    ///    next key, a next key is generated and published.
    /// 4. When the active key is due and the next key has been published for at least
    ///    `publish_lead`, the next key becomes active and the old one is retired.
    pub fn maintain(
        &mut self,
        now: UnixTime,
        policy: &RotationPolicy,
        mut generate: impl FnMut() -> Result<SigningKey, Error>,
    ) -> Result<bool, Error> {
        let n_before = self.keys.len();
        self.keys.retain(|managed| match managed.state {
            KeyState::Retired { until } => until > now,
            KeyState::Next { .. } | KeyState::Active { .. } => true,
        });
        let mut changed = self.keys.len() != n_before;

        let Some(active_since) = self.active_since() else {
            match self.next_idx() {
                Some(next_idx) => self.keys[next_idx].state = KeyState::Active { since: now },
                None => self.keys.push(ManagedKey {
                    key: Arc::new(generate()?),
                    state: KeyState::Active { since: now },
                }),
            }
            return Ok(true);
        };

        let due_at = active_since.plus(policy.rotate_after);
        match self.next_idx() {
            None if now.plus(policy.publish_lead) >= due_at => {
                self.keys.push(ManagedKey {
                    key: Arc::new(generate()?),
                    state: KeyState::Next { published_at: now },
                });
                changed = true;
            }
            Some(next_idx) => {
                if let KeyState::Next { published_at } = self.keys[next_idx].state
                    && now >= due_at
                    && now >= published_at.plus(policy.publish_lead)
                {
                    let until = now
                        .plus(policy.max_token_lifetime)
                        .plus(policy.clock_leeway);
                    for managed in &mut self.keys {
                        if matches!(managed.state, KeyState::Active { .. }) {
                            managed.state = KeyState::Retired { until };
                        }
                    }
                    self.keys[next_idx].state = KeyState::Active { since: now };
                    changed = true;
                }
            }
            None => {}
        }
        Ok(changed)
    }

    fn active_since(&self) -> Option<UnixTime> {
        self.keys.iter().find_map(|managed| match managed.state {
            KeyState::Active { since } => Some(since),
            _ => None,
        })
    }

    fn next_idx(&self) -> Option<usize> {
        self.keys
            .iter()
            .position(|managed| matches!(managed.state, KeyState::Next { .. }))
    }
}

#[cfg(test)]
mod tests;
