//! Persistence of the key set: the [`KeyStore`] trait and the file-based store of the local
//! CLI.

use std::fs::{self, OpenOptions};
use std::io::Write as _;
use std::os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::keyset::ManagedKey;
use crate::{Error, KeySet, KeyState, SigningKey};

/// Where an issuer's keys live between runs.
#[async_trait::async_trait]
pub trait KeyStore: Send + Sync {
    /// The saved set (with its revision), or `None` when nothing was saved yet.
    async fn load(&self) -> Result<Option<KeySet>, Error>;
    /// Replaces the saved set with `keys` if the stored revision is still
    /// `keys.revision()` (0: nothing stored), and returns the new revision; otherwise
    /// [`Error::Conflict`]: another process saved first, so reload and reapply.
    async fn save(&self, keys: &KeySet) -> Result<u64, Error>;
}

/// Keys in a directory: `keyset.json` (revision, kids and states) and one `<kid>.pk8`
/// PKCS#8 file per key. Files are created 0600 (directory 0700), written to a temporary
/// file and renamed into place, so a crash leaves the old or the new file, never half of
/// one. Loads and saves hold a lock on `.lock` (shared / exclusive), so processes sharing
/// the directory see whole sets and a save over a stale revision is refused. Loading
/// refuses key files that other users can read.
#[derive(Debug, Clone)]
pub struct FileKeyStore {
    dir: PathBuf,
}

const INDEX_FILE: &str = "keyset.json";
const LOCK_FILE: &str = ".lock";
const KEY_EXTENSION: &str = "pk8";
const FORMAT: u32 = 1;

#[derive(Serialize, Deserialize)]
struct StoredIndex {
    format: u32,
    revision: u64,
    keys: Vec<StoredKey>,
}

#[derive(Serialize, Deserialize)]
struct StoredKey {
    kid: String,
    #[serde(flatten)]
    state: KeyState,
}

impl FileKeyStore {
    /// A store in `dir` (created on first save).
    pub fn new(dir: impl Into<PathBuf>) -> FileKeyStore {
        FileKeyStore { dir: dir.into() }
    }

    /// The directory holding the keys.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

#[async_trait::async_trait]
impl KeyStore for FileKeyStore {
    async fn load(&self) -> Result<Option<KeySet>, Error> {
        let dir = self.dir.clone();
        tokio::task::spawn_blocking(move || load_blocking(&dir))
            .await
            .map_err(|_| Error::StoreTask)?
    }

    async fn save(&self, keys: &KeySet) -> Result<u64, Error> {
        let expected = keys.revision();
        let index = StoredIndex {
            format: FORMAT,
            revision: expected + 1,
            keys: keys
                .keys()
                .iter()
                .map(|managed| StoredKey {
                    kid: managed.key.kid().to_owned(),
                    state: managed.state,
                })
                .collect(),
        };
        let key_files: Vec<(String, Zeroizing<Vec<u8>>)> = keys
            .keys()
            .iter()
            .map(|managed| {
                (
                    managed.key.kid().to_owned(),
                    Zeroizing::new(managed.key.pkcs8_der().to_vec()),
                )
            })
            .collect();
        let dir = self.dir.clone();
        tokio::task::spawn_blocking(move || save_blocking(&dir, expected, &index, &key_files))
            .await
            .map_err(|_| Error::StoreTask)?
    }
}

fn load_blocking(dir: &Path) -> Result<Option<KeySet>, Error> {
    if !dir.exists() {
        return Ok(None);
    }
    let lock = lock_file(dir)?;
    lock.lock_shared().map_err(|source| Error::Io {
        path: dir.join(LOCK_FILE),
        source,
    })?;
    let index_path = dir.join(INDEX_FILE);
    let Some(index) = read_index(&index_path)? else {
        return Ok(None);
    };
    let mut keys = Vec::with_capacity(index.keys.len());
    for stored in index.keys {
        let path = key_path(dir, &stored.kid).ok_or_else(|| Error::CorruptStore {
            path: index_path.clone(),
            reason: String::from("a kid contains characters outside base64url"),
        })?;
        let mode = fs::metadata(&path)
            .map_err(|source| Error::Io {
                path: path.clone(),
                source,
            })?
            .permissions()
            .mode();
        if mode & 0o077 != 0 {
            return Err(Error::CorruptStore {
                path,
                reason: format!(
                    "key file is accessible to other users (mode {:o}); chmod 600 it",
                    mode & 0o777
                ),
            });
        }
        let der = Zeroizing::new(fs::read(&path).map_err(|source| Error::Io {
            path: path.clone(),
            source,
        })?);
        let key = SigningKey::from_pkcs8(&der).map_err(|_| Error::CorruptStore {
            path: path.clone(),
            reason: String::from("not an RSA PKCS#8 key of at least 2048 bits"),
        })?;
        if key.kid() != stored.kid {
            return Err(Error::CorruptStore {
                path,
                reason: String::from("key does not match its kid"),
            });
        }
        keys.push(ManagedKey {
            key: Arc::new(key),
            state: stored.state,
        });
    }
    KeySet::from_keys(keys, index.revision).map(Some)
}

/// The index at `path`, `None` when absent.
fn read_index(path: &Path) -> Result<Option<StoredIndex>, Error> {
    let bytes = match fs::read(path) {
        Ok(bytes) => bytes,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(Error::Io {
                path: path.to_path_buf(),
                source,
            });
        }
    };
    let index: StoredIndex = serde_json::from_slice(&bytes).map_err(|err| Error::CorruptStore {
        path: path.to_path_buf(),
        reason: format!("not a key set index: {err}"),
    })?;
    if index.format != FORMAT {
        return Err(Error::CorruptStore {
            path: path.to_path_buf(),
            reason: format!("unsupported format {}", index.format),
        });
    }
    Ok(Some(index))
}

/// Opens (creating, 0600) the directory's lock file; the caller takes the lock, which is
/// released when the file is dropped.
fn lock_file(dir: &Path) -> Result<fs::File, Error> {
    let path = dir.join(LOCK_FILE);
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(&path)
        .map_err(|source| Error::Io { path, source })
}

fn save_blocking(
    dir: &Path,
    expected: u64,
    index: &StoredIndex,
    key_files: &[(String, Zeroizing<Vec<u8>>)],
) -> Result<u64, Error> {
    let io_error = |path: &Path| {
        let path = path.to_path_buf();
        move |source| Error::Io { path, source }
    };
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(io_error(dir))?;
    let lock = lock_file(dir)?;
    lock.lock().map_err(io_error(&dir.join(LOCK_FILE)))?;
    let found = read_index(&dir.join(INDEX_FILE))?.map_or(0, |stored| stored.revision);
    if found != expected {
        return Err(Error::Conflict { expected, found });
    }
    // Key files first, index last: a crash in between leaves an unreferenced key file,
    // never an index naming a missing key.
    for (kid, der) in key_files {
        let path = key_path(dir, kid).ok_or_else(|| Error::CorruptStore {
            path: dir.to_path_buf(),
            reason: String::from("a kid contains characters outside base64url"),
        })?;
        if !path.exists() {
            write_atomically(dir, &path, der)?;
        }
    }
    // Serialising plain strings and integers cannot fail.
    let index_bytes = serde_json::to_vec_pretty(index).map_err(|err| Error::CorruptStore {
        path: dir.join(INDEX_FILE),
        reason: err.to_string(),
    })?;
    write_atomically(dir, &dir.join(INDEX_FILE), &index_bytes)?;
    // Drop key files no longer in the set (keys past their retirement).
    for entry in fs::read_dir(dir).map_err(io_error(dir))? {
        let path = entry.map_err(io_error(dir))?.path();
        let is_key_file = path.extension().is_some_and(|ext| ext == KEY_EXTENSION);
        let referenced = path.file_stem().is_some_and(|stem| {
            key_files
                .iter()
                .any(|(kid, _)| stem == std::ffi::OsStr::new(kid))
        });
        if is_key_file && !referenced {
            fs::remove_file(&path).map_err(io_error(&path))?;
        }
    }
    Ok(index.revision)
}

/// `<dir>/<kid>.pk8`, or `None` when `kid` is not plain base64url (no path tricks).
fn key_path(dir: &Path, kid: &str) -> Option<PathBuf> {
    let plain = !kid.is_empty()
        && kid
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_');
    plain.then(|| dir.join(format!("{kid}.{KEY_EXTENSION}")))
}

/// Writes `bytes` to `path` through a 0600 temporary file in `dir`, then renames it.
fn write_atomically(dir: &Path, path: &Path, bytes: &[u8]) -> Result<(), Error> {
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
        file.write_all(bytes)?;
        file.sync_all()?;
        fs::rename(&temp, path)?;
        fs::File::open(dir)?.sync_all()
    })();
    result.map_err(|source| {
        let _ = fs::remove_file(&temp);
        Error::Io {
            path: path.to_path_buf(),
            source,
        }
    })
}
