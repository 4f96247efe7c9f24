//! The error type of this crate.

use std::path::PathBuf;

/// What went wrong in key handling, storage or minting.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The crypto library could not generate a key.
    #[error("generating an RSA signing key failed")]
    KeyGeneration,
    /// A stored key could not be parsed or is too weak.
    #[error("signing key {kid} rejected: {reason}")]
    KeyRejected {
        /// The key id as stored (not secret).
        kid: String,
        /// Why it was rejected.
        reason: &'static str,
    },
    /// Signing failed inside the crypto library.
    #[error("signing with key {kid} failed")]
    Signing {
        /// The key id.
        kid: String,
    },
    /// There is no active key to sign with.
    #[error("the key set has no active signing key")]
    NoActiveKey,
    /// A configuration value is not acceptable.
    #[error("invalid issuer configuration: {0}")]
    Config(&'static str),
    /// Reading or writing the key store failed.
    #[error("key store {}: {source}", path.display())]
    Io {
        /// The file or directory involved.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The key store's contents are not what this crate wrote.
    #[error("key store {}: {reason}", path.display())]
    CorruptStore {
        /// The file involved.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// The stored key set changed since it was loaded (another process saved first).
    #[error("key store changed concurrently: expected revision {expected}, found {found}")]
    Conflict {
        /// The revision the caller loaded.
        expected: u64,
        /// The revision in the store.
        found: u64,
    },
    /// A blocking store task did not finish (it panicked or was cancelled).
    #[error("key store task failed")]
    StoreTask,
}
