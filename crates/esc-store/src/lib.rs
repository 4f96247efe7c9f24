//! Persistence of organizations, environments, revisions, tags and the rest,
//! on SQLite (embedded default) or PostgreSQL, with envelope encryption.
//!
//! The service layer programs against [`Store`] (`Arc<dyn Store>`), obtained
//! from [`SqlStore::open`] (a data directory or a `postgres://` URL; the
//! master key comes from `ESC_MASTER_KEY` or, embedded, from `master.key` in
//! the data directory, created on first use) or the backend-specific
//! constructors [`SqlStore::open_sqlite`] / [`SqlStore::connect_postgres`].
//!
//! - Environments are named by [`EnvRef`]; revision 1 is the empty
//!   definition made by `create_environment`; `update_environment(env, yaml,
//!   Some(read_revision), author)` writes n+1 or fails with
//!   [`StoreError::Conflict`] and changes nothing. [`Environment::etag`] is
//!   the opaque etag.
//! - YAML bodies go in and come out as plaintext ([`Plaintext`]); the store
//!   encrypts them. `fn::secret` ciphertexts inside them are made with
//!   [`seal_secret`] / [`open_secret`] and the environment's cipher
//!   ([`Store::environment_cipher`]); they are bound to that environment, so
//!   clones re-seal them ([`Store::clone_environment`], [`SecretReencryptor`]).
//! - Reads run on snapshots and never wait for writers.
//!
//! **Invariant:** no plaintext secret is ever written to the database:
//! revision bodies, rotation state, open-session results, webhook secrets and
//! delivery details, and signing keys are AES-256-GCM ciphertext under
//! per-environment data keys wrapped by the master key (see [`crypto`]);
//! access tokens and session ids are stored as SHA-256 hashes only.

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
    decode_envelope, encode_envelope, open_secret, seal_secret, secret_digest,
};
pub use error::{DatabaseError, StoreError};
pub use migrations::latest_schema_version;
pub use model::*;
pub use sql::drafts::{Draft, DraftContent, DraftState};
pub use sql::members::{
    EnvironmentGrant, GrantPermission, MemberRole, OrgMembership, User, UserAccess,
};
pub use sql::referrers::NewestDefinition;
pub use sql::{Location, MASTER_KEY_FILE, SqlStore};
pub use sqlite::DATABASE_FILE;
pub use store::{
    MAX_PINS, Pin, ResolvedRevision, SecretReencryptor, SharedResult, SharedSession, Store,
    StoreResult,
};
