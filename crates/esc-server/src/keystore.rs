//! The OIDC issuer's keys in the server's database, so every `esc serve` on one
//! PostgreSQL signs with and publishes one key set.
//!
//! [`StoreKeyStore`] implements esc-oidc's [`KeyStore`] over the store's signing-key
//! rows, which the store seals with its master key (AES-256-GCM; never plaintext in the
//! database). Two kinds of row share that table:
//!
//! - a key: `kid` = the key's JWK thumbprint, algorithm `RS256`, the PKCS#8 DER;
//! - a key-set index: `kid` = `keyset.<revision>` (zero-padded), algorithm
//!   [`INDEX_ALGORITHM`], a small JSON document listing the kids and their states
//!   (next / active / retired-until). The newest index is the key set.
//!
//! **Compare-and-swap.** Saving over revision `R` inserts index `R + 1`. The kid is the
//! table's primary key, so of two servers that both loaded `R`, exactly one insert
//! succeeds; the other gets [`Error::Conflict`], and `Issuer::maintain` reloads and
//! reapplies. A save first checks that `R` is still the newest index (the cheap path), and
//! the last [`KEPT_INDEXES`] indexes are kept so a revision is never written twice.
//!
//! **Clean-up** (after a successful save, best effort): the key rows the previous index
//! named and the new one does not (keys past retirement), and indexes older than the
//! kept ones. A key another server has inserted but not yet indexed is never removed:
//! only keys dropped by the rules are.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};

use esc_oidc::keyset::ManagedKey;
use esc_oidc::{Error, KeySet, KeyState, KeyStore, SigningKey};
use esc_store::{Plaintext, Store, StoreError};
use serde::{Deserialize, Serialize};

/// The algorithm column of key-set index rows.
pub const INDEX_ALGORITHM: &str = "esc-keyset-v1";
/// How many of the newest key-set indexes are kept.
pub const KEPT_INDEXES: u64 = 8;

const INDEX_PREFIX: &str = "keyset.";
const KEY_ALGORITHM: &str = "RS256";
/// Names the database in errors (esc-oidc's errors carry a path).
const LOCATION: &str = "database table signing_keys";

/// An issuer key store in the server's database (see the module documentation).
pub struct StoreKeyStore {
    store: Arc<dyn Store>,
    /// Keys already parsed, by kid: loads run every maintenance tick, and parsing an RSA
    /// key is the costly part.
    parsed: Mutex<HashMap<String, Arc<SigningKey>>>,
}

#[derive(Serialize, Deserialize)]
struct StoredIndex {
    revision: u64,
    keys: Vec<StoredKey>,
}

#[derive(Serialize, Deserialize)]
struct StoredKey {
    kid: String,
    #[serde(flatten)]
    state: KeyState,
}

/// The rows of the signing-key table, sorted out.
struct Rows {
    /// Index revisions and their rows' contents, oldest first.
    indexes: Vec<(u64, Plaintext)>,
    /// PKCS#8 keys by kid.
    keys: HashMap<String, Plaintext>,
}

impl Rows {
    fn newest_revision(&self) -> u64 {
        self.indexes.last().map_or(0, |(revision, _)| *revision)
    }
}

impl StoreKeyStore {
    /// A key store over `store`.
    pub fn new(store: Arc<dyn Store>) -> StoreKeyStore {
        StoreKeyStore {
            store,
            parsed: Mutex::new(HashMap::new()),
        }
    }

    async fn rows(&self) -> Result<Rows, Error> {
        let mut rows = Rows {
            indexes: Vec::new(),
            keys: HashMap::new(),
        };
        for row in self.store.list_signing_keys().await.map_err(store_error)? {
            if row.algorithm == INDEX_ALGORITHM {
                let revision = row
                    .kid
                    .strip_prefix(INDEX_PREFIX)
                    .and_then(|digits| digits.parse::<u64>().ok())
                    .ok_or_else(|| corrupt(format!("malformed index row {:?}", row.kid)))?;
                rows.indexes.push((revision, row.private_key));
            } else if row.algorithm == KEY_ALGORITHM {
                rows.keys.insert(row.kid, row.private_key);
            }
            // Rows of other algorithms are not ours: left alone.
        }
        rows.indexes.sort_by_key(|(revision, _)| *revision);
        Ok(rows)
    }

    fn key(&self, kid: &str, der: &Plaintext) -> Result<Arc<SigningKey>, Error> {
        let mut parsed = self.parsed.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(key) = parsed.get(kid) {
            return Ok(Arc::clone(key));
        }
        let key = SigningKey::from_pkcs8(der.expose())
            .map_err(|_| corrupt(format!("key {kid} is not an RSA PKCS#8 key of 2048+ bits")))?;
        if key.kid() != kid {
            return Err(corrupt(format!("key {kid} does not match its kid")));
        }
        let key = Arc::new(key);
        parsed.insert(kid.to_owned(), Arc::clone(&key));
        Ok(key)
    }

    /// Deletes rows, logging failures: the save they follow has already landed.
    async fn delete_quietly(&self, kids: impl IntoIterator<Item = String>) {
        for kid in kids {
            match self.store.delete_signing_key(&kid).await {
                Ok(()) | Err(StoreError::NotFound { .. }) => {}
                Err(error) => {
                    tracing::warn!(%kid, %error, "removing an unused issuer key row failed");
                }
            }
        }
    }
}

#[async_trait::async_trait]
impl KeyStore for StoreKeyStore {
    async fn load(&self) -> Result<Option<KeySet>, Error> {
        let rows = self.rows().await?;
        let Some((revision, index)) = rows.indexes.last() else {
            return Ok(None);
        };
        let index = parse_index(*revision, index)?;
        let mut keys = Vec::with_capacity(index.keys.len());
        for stored in &index.keys {
            let der = rows.keys.get(&stored.kid).ok_or_else(|| {
                corrupt(format!(
                    "index {revision} names key {} which is missing",
                    stored.kid
                ))
            })?;
            keys.push(ManagedKey {
                key: self.key(&stored.kid, der)?,
                state: stored.state,
            });
        }
        let in_set: HashSet<&str> = index.keys.iter().map(|key| key.kid.as_str()).collect();
        self.parsed
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .retain(|kid, _| in_set.contains(kid.as_str()));
        KeySet::from_keys(keys, *revision).map(Some)
    }

    async fn save(&self, keys: &KeySet) -> Result<u64, Error> {
        let expected = keys.revision();
        let rows = self.rows().await?;
        let found = rows.newest_revision();
        if found != expected {
            return Err(Error::Conflict { expected, found });
        }
        // Keys first, index last: an index never names a key that is not there yet.
        let mut inserted = Vec::new();
        for managed in keys.keys() {
            let kid = managed.key.kid();
            if rows.keys.contains_key(kid) {
                continue;
            }
            let der = Plaintext::new(managed.key.pkcs8_der().to_vec());
            match self.store.put_signing_key(kid, KEY_ALGORITHM, &der).await {
                Ok(()) => inserted.push(kid.to_owned()),
                // the same kid is the same key (it is the public key's thumbprint)
                Err(StoreError::AlreadyExists { .. }) => {}
                Err(error) => {
                    self.delete_quietly(inserted).await;
                    return Err(store_error(error));
                }
            }
        }
        let revision = expected + 1;
        let index = StoredIndex {
            revision,
            keys: keys
                .keys()
                .iter()
                .map(|managed| StoredKey {
                    kid: managed.key.kid().to_owned(),
                    state: managed.state,
                })
                .collect(),
        };
        // Serialising strings and integers cannot fail.
        let index_json = serde_json::to_vec(&index)
            .map_err(|error| corrupt(format!("encoding the key set index: {error}")))?;
        match self
            .store
            .put_signing_key(
                &index_kid(revision),
                INDEX_ALGORITHM,
                &Plaintext::new(index_json),
            )
            .await
        {
            Ok(()) => {}
            Err(error) => {
                // Keys nobody else knows of yet: ours to remove.
                self.delete_quietly(inserted).await;
                return Err(match error {
                    StoreError::AlreadyExists { .. } => Error::Conflict {
                        expected,
                        found: revision,
                    },
                    other => store_error(other),
                });
            }
        }

        let mut unused = Vec::new();
        if let Some((previous, content)) = rows.indexes.last()
            && let Ok(previous) = parse_index(*previous, content)
        {
            let kept: HashSet<&str> = index.keys.iter().map(|key| key.kid.as_str()).collect();
            unused.extend(
                previous
                    .keys
                    .into_iter()
                    .map(|key| key.kid)
                    .filter(|kid| !kept.contains(kid.as_str())),
            );
        }
        unused.extend(
            rows.indexes
                .iter()
                .filter(|(old, _)| old + KEPT_INDEXES <= revision)
                .map(|(old, _)| index_kid(*old)),
        );
        self.delete_quietly(unused).await;
        Ok(revision)
    }
}

/// Copies the key set saved in `from` (e.g. the `FileKeyStore` of a server that kept
/// its keys in its data directory) into `to` when `to` holds none yet, so the keys
/// adapters already trust stay in use. Returns whether it copied.
pub async fn import_keys(from: &dyn KeyStore, to: &dyn KeyStore) -> Result<bool, Error> {
    if to.load().await?.is_some() {
        return Ok(false);
    }
    let Some(mut keys) = from.load().await? else {
        return Ok(false);
    };
    keys.set_revision(0);
    match to.save(&keys).await {
        Ok(_) => Ok(true),
        // another server filled the store meanwhile: use its keys
        Err(Error::Conflict { .. }) => Ok(false),
        Err(error) => Err(error),
    }
}

fn index_kid(revision: u64) -> String {
    format!("{INDEX_PREFIX}{revision:020}")
}

fn parse_index(revision: u64, content: &Plaintext) -> Result<StoredIndex, Error> {
    let index: StoredIndex = serde_json::from_slice(content.expose())
        .map_err(|_| corrupt(format!("index {revision} is not a key set index")))?;
    if index.revision != revision {
        return Err(corrupt(format!(
            "index row {revision} holds revision {}",
            index.revision
        )));
    }
    Ok(index)
}

fn corrupt(reason: String) -> Error {
    Error::CorruptStore {
        path: PathBuf::from(LOCATION),
        reason,
    }
}

fn store_error(error: StoreError) -> Error {
    Error::Io {
        path: PathBuf::from(LOCATION),
        source: std::io::Error::other(error),
    }
}
