//! The one error type of the store. Messages name things (environments, tags,
//! revisions) but never carry stored values, SQL parameters or key material.

use std::path::PathBuf;

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The named object does not exist (or has expired, for sessions).
    #[error("{what} not found")]
    NotFound {
        /// What was looked for, e.g. `environment acme/app/dev`.
        what: String,
    },
    /// An object with that name already exists.
    #[error("{what} already exists")]
    AlreadyExists {
        /// What could not be created, e.g. `revision tag stable`.
        what: String,
    },
    /// The writer's view is stale: the environment moved on since it was read.
    #[error("conflict: the environment is now at revision {current_revision}")]
    Conflict {
        /// The newest revision at the time of the refused write.
        current_revision: u64,
    },
    /// The environment has deletion protection turned on.
    #[error("environment {env} is protected from deletion")]
    DeletionProtected {
        /// The environment, as `org/project/name`.
        env: String,
    },
    /// The object was changed by someone else since the caller read it.
    #[error("{what} was changed by someone else")]
    Changed {
        /// What changed, e.g. `environment tag owner`.
        what: String,
    },
    /// The revision was retracted and can no longer be read or opened.
    #[error("revision {revision} is retracted")]
    Retracted {
        /// The retracted revision.
        revision: u64,
    },
    /// The request is malformed or not allowed in the current state.
    #[error("invalid request: {reason}")]
    Invalid {
        /// What is wrong, without echoing stored values.
        reason: String,
    },
    /// The master key is not the one this store was created with.
    #[error(
        "the master key does not match the one this store was created with (fingerprint {expected})"
    )]
    WrongMasterKey {
        /// Fingerprint of the key the store expects (a hash, not the key).
        expected: String,
    },
    /// The master key could not be loaded or created.
    #[error("master key {source_name}: {reason}")]
    MasterKey {
        /// Where the key was looked for (a file path or variable name).
        source_name: String,
        /// What went wrong.
        reason: String,
    },
    /// Authenticated decryption failed: wrong key, or the stored bytes were altered.
    #[error("decrypting {what} failed")]
    Decrypt {
        /// What was being decrypted, e.g. `revision 3`.
        what: String,
    },
    /// The cryptographic library refused an operation (random source, key setup).
    #[error("cryptography failure: {operation}")]
    Crypto {
        /// The operation that failed.
        operation: &'static str,
    },
    /// The database refused or failed an operation.
    #[error("database: {0}")]
    Database(#[from] DatabaseError),
    /// A stored row does not have the shape this version expects.
    #[error("corrupt data in {table}: {reason}")]
    Corrupt {
        /// The table the row came from.
        table: &'static str,
        /// What was unexpected.
        reason: String,
    },
    /// A file or directory of the embedded store could not be used.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
}

/// A failure reported by SQLite or PostgreSQL. Carries the server's message
/// (which names constraints and tables, never bound parameters).
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct DatabaseError {
    pub(crate) message: String,
    pub(crate) unique_violation: bool,
    pub(crate) foreign_key_violation: bool,
}

impl DatabaseError {
    pub(crate) fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            unique_violation: false,
            foreign_key_violation: false,
        }
    }
}

impl StoreError {
    pub(crate) fn not_found(what: impl Into<String>) -> Self {
        Self::NotFound { what: what.into() }
    }

    pub(crate) fn already_exists(what: impl Into<String>) -> Self {
        Self::AlreadyExists { what: what.into() }
    }

    pub(crate) fn invalid(reason: impl Into<String>) -> Self {
        Self::Invalid {
            reason: reason.into(),
        }
    }

    /// A row referred to a row that does not exist (any more).
    pub(crate) fn is_foreign_key_violation(&self) -> bool {
        matches!(
            self,
            Self::Database(DatabaseError {
                foreign_key_violation: true,
                ..
            })
        )
    }

    pub(crate) fn is_unique_violation(&self) -> bool {
        matches!(
            self,
            Self::Database(DatabaseError {
                unique_violation: true,
                ..
            })
        )
    }
}
