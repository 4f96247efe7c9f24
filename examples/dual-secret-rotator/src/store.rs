//! The credential store: two API-key slots (`a`, `b`) and which one is active, in one
//! JSON file that is only ever replaced whole (0600 temporary file, fsync, rename), so a
//! crash leaves the old or the new file, never half of one.
//!
//! A real rotator would keep the keys in the system whose credentials it rotates (a
//! database's users, a SaaS API's keys); this file stands in for that system.

use std::fs::{self, OpenOptions};
use std::io::Write as _;
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use zeroize::Zeroize as _;

/// One of the two credential slots.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Slot {
    /// Slot `a`.
    A,
    /// Slot `b`.
    B,
}

impl Slot {
    /// The other slot.
    pub fn other(self) -> Slot {
        match self {
            Slot::A => Slot::B,
            Slot::B => Slot::A,
        }
    }

    /// `"a"` or `"b"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Slot::A => "a",
            Slot::B => "b",
        }
    }

    /// `"a"` or `"b"` as a slot.
    pub fn parse(text: &str) -> Option<Slot> {
        match text {
            "a" => Some(Slot::A),
            "b" => Some(Slot::B),
            _ => None,
        }
    }
}

/// An API key. Secret: `Debug` redacts it, the text is wiped on drop, and it is read
/// through [`ApiKey::expose`].
#[derive(Clone, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ApiKey(String);

impl ApiKey {
    /// A fresh key with 244 random bits (two random v4 UUIDs) behind a `dsk_` prefix.
    pub fn generate() -> ApiKey {
        ApiKey(format!(
            "dsk_{}{}",
            uuid::Uuid::new_v4().simple(),
            uuid::Uuid::new_v4().simple()
        ))
    }

    /// The key's text.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Whether `candidate` is this key, in time independent of where they differ.
    pub fn matches(&self, candidate: &str) -> bool {
        let (ours, theirs) = (self.0.as_bytes(), candidate.as_bytes());
        ours.len() == theirs.len()
            && ours
                .iter()
                .zip(theirs)
                .fold(0u8, |diff, (x, y)| diff | (x ^ y))
                == 0
    }
}

impl Drop for ApiKey {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl std::fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ApiKey([redacted])")
    }
}

/// The credential a rotation hands to ESC: it becomes the environment's `state.current`.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Credential {
    /// The new key.
    pub api_key: ApiKey,
    /// The slot it lives in.
    pub slot: Slot,
}

/// Why the store could not be read or written. The texts name the file and what is wrong
/// with it, never its contents.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The file exists but could not be read.
    #[error("reading {}: {source}", path.display())]
    Read {
        /// The store file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The file is not a credential store this program wrote.
    #[error("{}: {reason}", path.display())]
    Corrupt {
        /// The store file.
        path: PathBuf,
        /// What is wrong (position and kind, never the text found there).
        reason: String,
    },
    /// The new file could not be written or put in place.
    #[error("writing {}: {source}", path.display())]
    Write {
        /// The store file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The blocking file task did not finish.
    #[error("credential store task failed")]
    Task,
}

/// The two slots in a file, one rotation at a time.
pub struct SlotStore {
    path: PathBuf,
    // Serialises read-modify-write cycles within this process.
    lock: tokio::sync::Mutex<()>,
}

const FORMAT: u32 = 1;

#[derive(Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Slots {
    format: u32,
    /// Counts rotations; informational.
    generation: u64,
    active: Option<Slot>,
    a: Option<ApiKey>,
    b: Option<ApiKey>,
}

impl Slots {
    fn key(&self, slot: Slot) -> Option<&ApiKey> {
        match slot {
            Slot::A => self.a.as_ref(),
            Slot::B => self.b.as_ref(),
        }
    }
}

impl SlotStore {
    /// A store in the file at `path` (created by the first rotation; its directory must
    /// exist).
    pub fn new(path: impl Into<PathBuf>) -> SlotStore {
        SlotStore {
            path: path.into(),
            lock: tokio::sync::Mutex::new(()),
        }
    }

    /// The store file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes a fresh key into the slot that does not hold `keep` and makes it active.
    ///
    /// `keep` is the credential the caller hands out now (ESC's `state.current`): when it
    /// names a slot and that slot holds that very key, the other slot is replaced, so the
    /// caller's key stays valid until the next rotation. Otherwise (first rotation, or a
    /// state this store does not recognise) the inactive slot is replaced.
    pub async fn rotate(&self, keep: Option<(Slot, &str)>) -> Result<Credential, StoreError> {
        let _serialised = self.lock.lock().await;
        let path = self.path.clone();
        let keep = keep.map(|(slot, key)| (slot, ApiKey(key.to_owned())));
        tokio::task::spawn_blocking(move || {
            let mut slots = read(&path)?.unwrap_or_default();
            let held = keep.and_then(|(slot, key)| {
                slots
                    .key(slot)
                    .is_some_and(|stored| stored.matches(key.expose()))
                    .then_some(slot)
            });
            let target = match (held, slots.active) {
                (Some(slot), _) | (None, Some(slot)) => slot.other(),
                (None, None) => Slot::A,
            };
            let api_key = ApiKey::generate();
            match target {
                Slot::A => slots.a = Some(api_key.clone()),
                Slot::B => slots.b = Some(api_key.clone()),
            }
            slots.active = Some(target);
            slots.format = FORMAT;
            slots.generation += 1;
            write(&path, &slots)?;
            Ok(Credential {
                api_key,
                slot: target,
            })
        })
        .await
        .map_err(|_| StoreError::Task)?
    }

    /// The slot holding `candidate` (and whether it is the active one), or `None` when no
    /// slot holds it.
    pub async fn validate(&self, candidate: &str) -> Result<Option<(Slot, bool)>, StoreError> {
        let path = self.path.clone();
        let candidate = ApiKey(candidate.to_owned());
        tokio::task::spawn_blocking(move || {
            let Some(slots) = read(&path)? else {
                return Ok(None);
            };
            // Check both slots so the time taken does not say which one matched.
            let found = [Slot::A, Slot::B].into_iter().fold(None, |found, slot| {
                let matched = slots
                    .key(slot)
                    .is_some_and(|key| key.matches(candidate.expose()));
                if matched { Some(slot) } else { found }
            });
            Ok(found.map(|slot| (slot, slots.active == Some(slot))))
        })
        .await
        .map_err(|_| StoreError::Task)?
    }
}

/// The slots in `path`, `None` when the file does not exist yet.
fn read(path: &Path) -> Result<Option<Slots>, StoreError> {
    let bytes = match fs::read(path) {
        Ok(bytes) => zeroize::Zeroizing::new(bytes),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(StoreError::Read {
                path: path.to_owned(),
                source,
            });
        }
    };
    let corrupt = |reason: String| StoreError::Corrupt {
        path: path.to_owned(),
        reason,
    };
    // serde_json's messages can quote the text they choke on (a key): keep only where
    // and what kind of error it was.
    let slots: Slots = serde_json::from_slice(&bytes).map_err(|error| {
        corrupt(format!(
            "not a credential store ({:?} error at line {}, column {})",
            error.classify(),
            error.line(),
            error.column()
        ))
    })?;
    if slots.format != FORMAT {
        return Err(corrupt(format!("unsupported format {}", slots.format)));
    }
    if let Some(active) = slots.active
        && slots.key(active).is_none()
    {
        return Err(corrupt(format!("active slot {} is empty", active.as_str())));
    }
    Ok(Some(slots))
}

/// Replaces `path` with `slots` through a 0600 temporary file in the same directory.
fn write(path: &Path, slots: &Slots) -> Result<(), StoreError> {
    let write_error = |source| StoreError::Write {
        path: path.to_owned(),
        source,
    };
    // Serialising strings, integers and enums cannot fail.
    let bytes = zeroize::Zeroizing::new(
        serde_json::to_vec_pretty(slots)
            .map_err(|error| write_error(std::io::Error::other(error.to_string())))?,
    );
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_owned(),
        _ => PathBuf::from("."),
    };
    let file_name = path
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default();
    let temp = dir.join(format!(
        ".{file_name}.{}.tmp",
        uuid::Uuid::new_v4().simple()
    ));
    let result = (|| {
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&temp)?;
        file.write_all(&bytes)?;
        file.sync_all()?;
        fs::rename(&temp, path)?;
        fs::File::open(&dir)?.sync_all()
    })();
    result.map_err(|source| {
        let _ = fs::remove_file(&temp);
        write_error(source)
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn keys_are_random_redacted_and_compared_exactly() {
        let key = ApiKey::generate();
        let other = ApiKey::generate();
        assert_ne!(key.expose(), other.expose());
        assert_eq!(key.expose().len(), 4 + 64);
        assert!(key.matches(key.expose()));
        assert!(!key.matches(other.expose()));
        assert!(!key.matches(&key.expose()[..10]));
        assert!(!key.matches(""));
        assert_eq!(format!("{key:?}"), "ApiKey([redacted])");
        let credential = Credential {
            api_key: key.clone(),
            slot: Slot::B,
        };
        assert!(!format!("{credential:?}").contains(key.expose()));
    }

    #[test]
    fn unreadable_json_error_does_not_quote_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("store.json");
        fs::write(
            &path,
            r#"{"format": 1, "generation": 1, "active": "a", "a": 7, "b": "dsk_leaked"}"#,
        )
        .unwrap();
        let error = read(&path).err().unwrap();
        let text = error.to_string();
        assert!(text.contains("not a credential store"), "{text}");
        assert!(!text.contains("dsk_leaked"), "{text}");
        fs::write(&path, r#"{"format": 1, "generation": 1, "active": "zz"}"#).unwrap();
        let text = read(&path).err().unwrap().to_string();
        assert!(!text.contains("zz"), "{text}");
        fs::write(&path, r#"{"format": 1, "generation": 1, "active": "b"}"#).unwrap();
        let text = read(&path).err().unwrap().to_string();
        assert!(text.contains("active slot b is empty"), "{text}");
    }
}
