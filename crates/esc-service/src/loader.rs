//! The evaluator's seams backed by the store: imports load from the store
//! (inside the importing environment's organization, with the caller's
//! access checked), ciphertexts open with the environment's data key, and a
//! registry of providers others plug into.

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use async_trait::async_trait;
use esc_eval::{
    CallError, Decrypter, EnvironmentLoader, EnvironmentSource, LoadedEnvironment,
    ParsedEnvironment, Provider, ProviderLoader, Rotator,
};
use esc_store::{EnvironmentCipher, ResolvedRevision, Store, StoreError};

use crate::access::{AccessPolicy, Permission};
use crate::names::parse_import;
use crate::results::Dependency;
use crate::service::revision_at;

/// Opens `fn::secret` ciphertexts of one environment.
pub(crate) struct EnvironmentDecrypter {
    pub(crate) cipher: Arc<EnvironmentCipher>,
}

#[async_trait]
impl Decrypter for EnvironmentDecrypter {
    async fn decrypt(&self, ciphertext: &[u8]) -> Result<Vec<u8>, CallError> {
        self.cipher
            .decrypt(ciphertext)
            .map(|plaintext| plaintext.expose().to_vec())
            .map_err(|_| {
                CallError::new(
                    "decrypting: the ciphertext does not belong to this environment or is damaged",
                )
            })
    }
}

/// A decrypter for documents that belong to no environment (`yaml/check`).
pub(crate) struct NoDecrypter;

#[async_trait]
impl Decrypter for NoDecrypter {
    async fn decrypt(&self, _ciphertext: &[u8]) -> Result<Vec<u8>, CallError> {
        Err(CallError::new(
            "a ciphertext can only be decrypted inside its own environment",
        ))
    }
}

/// Loads imported environments of one organization for one caller, and
/// remembers which revision each import resolved to (what a remembered
/// evaluation depends on, see [`crate::results`]).
pub(crate) struct StoreEnvironmentLoader {
    pub(crate) store: Arc<dyn Store>,
    pub(crate) policy: Arc<AccessPolicy>,
    pub(crate) org: String,
    pub(crate) login: String,
    pub(crate) definitions: Arc<DefinitionCache>,
    /// Every environment loaded so far, in order.
    pub(crate) loaded: Mutex<Vec<Dependency>>,
}

impl StoreEnvironmentLoader {
    /// The environments loaded so far.
    pub(crate) fn loaded(&self) -> Vec<Dependency> {
        self.loaded
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }
}

/// A [`ProviderLoader`] that notes whether it was ever asked for a provider
/// or rotator: an evaluation that asked is not a function of its revisions
/// (providers answer differently over time) and is never remembered.
pub(crate) struct RecordingProviders {
    pub(crate) inner: Arc<dyn ProviderLoader>,
    pub(crate) asked: AtomicBool,
}

impl RecordingProviders {
    /// Whether a provider or rotator was asked for.
    pub(crate) fn asked(&self) -> bool {
        self.asked.load(Ordering::Acquire)
    }
}

#[async_trait]
impl ProviderLoader for RecordingProviders {
    async fn load_provider(&self, name: &str) -> Result<Arc<dyn Provider>, CallError> {
        self.asked.store(true, Ordering::Release);
        self.inner.load_provider(name).await
    }

    async fn load_rotator(&self, name: &str) -> Result<Arc<dyn Rotator>, CallError> {
        self.asked.store(true, Ordering::Release);
        self.inner.load_rotator(name).await
    }
}

/// Parsed definitions of stored revisions, shared by every evaluation of
/// one service, so that opening a revision again (or importing it from
/// many environments) does not parse it again.
///
/// Revisions are immutable, so an entry keyed by (organization, the name
/// the definition was parsed under, revision number) stays valid. A
/// deleted and re-created environment starts its numbers again: each entry
/// also keeps a keyed hash and the length of the text it was parsed from,
/// and a text that does not match is parsed afresh (and replaces the
/// entry). Bounded by entries and by source bytes; the least recently used
/// entry goes first.
pub(crate) struct DefinitionCache {
    max_entries: usize,
    max_source_bytes: usize,
    hasher: RandomState,
    state: Mutex<CacheState>,
}

#[derive(Default)]
struct CacheState {
    entries: HashMap<CacheKey, CacheEntry>,
    source_bytes: usize,
    clock: u64,
}

#[derive(Clone, PartialEq, Eq, Hash)]
struct CacheKey {
    org: String,
    name: String,
    revision: u64,
}

struct CacheEntry {
    text_hash: u64,
    text_len: usize,
    parsed: ParsedEnvironment,
    last_used: u64,
}

impl DefinitionCache {
    /// A cache of at most `max_entries` definitions parsed from at most
    /// `max_source_bytes` bytes of text in total.
    pub(crate) fn new(max_entries: usize, max_source_bytes: usize) -> Self {
        Self {
            max_entries,
            max_source_bytes,
            hasher: RandomState::new(),
            state: Mutex::new(CacheState::default()),
        }
    }

    /// The definition of revision `revision` of an environment of `org`,
    /// parsed under `name` from `text`: cached, or parsed now and cached.
    pub(crate) fn parsed(
        &self,
        org: &str,
        name: &str,
        revision: u64,
        text: &str,
    ) -> ParsedEnvironment {
        let text_hash = self.hasher.hash_one(text);
        let key = CacheKey {
            org: org.to_owned(),
            name: name.to_owned(),
            revision,
        };
        {
            let mut state = self.lock();
            state.clock += 1;
            let now = state.clock;
            if let Some(entry) = state.entries.get_mut(&key)
                && entry.text_hash == text_hash
                && entry.text_len == text.len()
            {
                entry.last_used = now;
                return entry.parsed.clone();
            }
        }
        // Parse outside the lock: other evaluations keep using the cache.
        let parsed = ParsedEnvironment::parse(name, text);
        if text.len() <= self.max_source_bytes && self.max_entries > 0 {
            let mut state = self.lock();
            state.clock += 1;
            let entry = CacheEntry {
                text_hash,
                text_len: text.len(),
                parsed: parsed.clone(),
                last_used: state.clock,
            };
            if let Some(old) = state.entries.insert(key, entry) {
                state.source_bytes -= old.text_len;
            }
            state.source_bytes += text.len();
            while state.entries.len() > self.max_entries
                || state.source_bytes > self.max_source_bytes
            {
                let Some(oldest) = state
                    .entries
                    .iter()
                    .min_by_key(|(_, entry)| entry.last_used)
                    .map(|(key, _)| key.clone())
                else {
                    break;
                };
                if let Some(old) = state.entries.remove(&oldest) {
                    state.source_bytes -= old.text_len;
                }
            }
        }
        parsed
    }

    /// Number of cached definitions.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.lock().entries.len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, CacheState> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[async_trait]
impl EnvironmentLoader for StoreEnvironmentLoader {
    async fn load_environment(&self, name: &str) -> Result<LoadedEnvironment, CallError> {
        let (env, version) = parse_import(&self.org, name).map_err(CallError::new)?;
        let allowed = self
            .policy
            .role(&self.login, &self.org)
            .is_some_and(|role| role.grants(Permission::Read));
        if !allowed {
            return Err(CallError::new(format!(
                "environment \"{name}\": permission denied"
            )));
        }
        let describe = |error: StoreError| match error {
            StoreError::NotFound { .. } => {
                CallError::new(format!("environment \"{name}\" not found"))
            }
            StoreError::Retracted { revision } => CallError::new(format!(
                "environment \"{name}\": revision {revision} is retracted"
            )),
            other => {
                tracing::error!(error = %other, "loading an imported environment failed");
                CallError::new(format!("environment \"{name}\" could not be loaded"))
            }
        };
        // the definition and the data key in one statement
        let (content, cipher) = self
            .store
            .revision_with_cipher(&env, revision_at(&version))
            .await
            .map_err(describe)?;
        let text = content
            .yaml
            .expose_str()
            .ok_or_else(|| CallError::new(format!("environment \"{name}\" is not UTF-8")))?;
        let parsed = self
            .definitions
            .parsed(&self.org, name, content.revision.number, text);
        let resolved = ResolvedRevision {
            environment_id: cipher.environment_id().to_owned(),
            number: content.revision.number,
        };
        self.loaded
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(Dependency {
                env,
                version,
                resolved,
            });
        Ok(LoadedEnvironment {
            definition: EnvironmentSource::Parsed(parsed),
            decrypter: Arc::new(EnvironmentDecrypter {
                cipher: Arc::new(cipher),
            }),
        })
    }
}

/// Providers and rotators by name. Empty by default; provider crates
/// register theirs (one line each).
#[derive(Default)]
pub struct ProviderRegistry {
    providers: RwLock<HashMap<String, Arc<dyn Provider>>>,
    rotators: RwLock<HashMap<String, Arc<dyn Rotator>>>,
}

impl ProviderRegistry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds (or replaces) the provider called `name`.
    pub fn register_provider(&self, name: impl Into<String>, provider: Arc<dyn Provider>) {
        self.providers
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(name.into(), provider);
    }

    /// Adds (or replaces) the rotator called `name`.
    pub fn register_rotator(&self, name: impl Into<String>, rotator: Arc<dyn Rotator>) {
        self.rotators
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(name.into(), rotator);
    }
}

#[async_trait]
impl ProviderLoader for ProviderRegistry {
    async fn load_provider(&self, name: &str) -> Result<Arc<dyn Provider>, CallError> {
        self.providers
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(name)
            .cloned()
            .ok_or_else(|| CallError::new(format!("unknown provider \"{name}\"")))
    }

    async fn load_rotator(&self, name: &str) -> Result<Arc<dyn Rotator>, CallError> {
        self.rotators
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(name)
            .cloned()
            .ok_or_else(|| CallError::new(format!("unknown rotator \"{name}\"")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "values:\n  a: 1\n";

    #[test]
    fn a_cached_revision_is_parsed_once_per_key() {
        let cache = DefinitionCache::new(8, 1 << 20);
        let first = cache.parsed("org", "p/env", 2, TEXT);
        let again = cache.parsed("org", "p/env", 2, TEXT);
        assert!(first.ptr_eq(&again));
        assert_eq!(cache.len(), 1);
        // another name, revision or organization is another entry
        assert!(!cache.parsed("org", "env", 2, TEXT).ptr_eq(&first));
        assert!(!cache.parsed("org", "p/env", 3, TEXT).ptr_eq(&first));
        assert!(!cache.parsed("other", "p/env", 2, TEXT).ptr_eq(&first));
        assert_eq!(cache.len(), 4);
    }

    #[test]
    fn a_re_created_environment_with_new_text_is_parsed_again() {
        let cache = DefinitionCache::new(8, 1 << 20);
        let old = cache.parsed("org", "p/env", 2, TEXT);
        let new = cache.parsed("org", "p/env", 2, "values: [1]\n");
        assert!(!new.ptr_eq(&old));
        assert!(old.diagnostics().is_empty());
        assert_eq!(new.diagnostics()[0].summary, "values must be an object");
        assert!(
            cache
                .parsed("org", "p/env", 2, "values: [1]\n")
                .ptr_eq(&new)
        );
        assert_eq!(cache.len(), 1);
    }

    #[test]
    fn the_least_recently_used_entry_goes_first() {
        let cache = DefinitionCache::new(2, 1 << 20);
        let one = cache.parsed("org", "one", 1, TEXT);
        let two = cache.parsed("org", "two", 1, TEXT);
        // use `one` again: `two` is now the oldest
        assert!(cache.parsed("org", "one", 1, TEXT).ptr_eq(&one));
        cache.parsed("org", "three", 1, TEXT);
        assert_eq!(cache.len(), 2);
        assert!(cache.parsed("org", "one", 1, TEXT).ptr_eq(&one));
        assert!(!cache.parsed("org", "two", 1, TEXT).ptr_eq(&two));
    }

    #[test]
    fn the_source_byte_bound_holds() {
        let cache = DefinitionCache::new(100, 2 * TEXT.len());
        for revision in 0..5 {
            cache.parsed("org", "env", revision, TEXT);
        }
        assert_eq!(cache.len(), 2);
        // a text larger than the whole bound is parsed but not kept
        let big = format!("values:\n  a: \"{}\"\n", "x".repeat(3 * TEXT.len()));
        let parsed = cache.parsed("org", "big", 1, &big);
        assert!(parsed.definition().is_some());
        assert!(!cache.parsed("org", "big", 1, &big).ptr_eq(&parsed));
        assert_eq!(cache.len(), 2);
    }
}
