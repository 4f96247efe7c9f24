//! Persistence of organizations, environments, revisions, tags and the rest,
//! on SQLite (embedded default) or PostgreSQL, with envelope encryption.
//!
//! The service layer programs against [`Store`] (`Arc<dyn Store>`), obtained
//! from [`SqlStore::open`] (a data directory or a `postgres://` URL) or the
//! backend-specific constructors. **Invariant:** no plaintext secret is ever
//! written to the database: revision bodies, rotation state, open-session
//! results, webhook secrets and signing keys are AES-256-GCM ciphertext
//! under per-environment data keys wrapped by the master key (see [`crypto`]).

pub mod crypto;
mod db;
mod error;
mod migrations;
mod model;
mod postgres;
mod sql;
mod sqlite;
mod store;

pub use crypto::{
    EnvelopeError, EnvironmentCipher, MasterKey, MasterKeySource, OpenSecretError, Plaintext,
    decode_envelope, encode_envelope, open_secret, seal_secret,
};
pub use error::{DatabaseError, StoreError};
pub use migrations::latest_schema_version;
pub use model::*;
pub use sql::{Location, MASTER_KEY_FILE, SqlStore};
pub use sqlite::DATABASE_FILE;
pub use store::{SecretReencryptor, Store, StoreResult};
