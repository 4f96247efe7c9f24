//! The seams between the evaluator and the outside world: providers,
//! rotators, the loaders that find them and environments, decrypters.
//!
//! All traits are object-safe and `Send + Sync`; the evaluator holds them as
//! `Arc<dyn ...>` and calls them concurrently. Errors are plain text: it is
//! what the evaluator reports (spec §3: a failed `open` is reported with the
//! error text verbatim), so it must never contain secret material.

use std::sync::Arc;

use async_trait::async_trait;

use crate::ParsedEnvironment;
use crate::plain::PlainValue;
use crate::schema::Schema;

/// The execution context given to providers and rotators: the caller's
/// context plus `currentEnvironment` and `rootEnvironment` (spec §2.2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProviderContext {
    /// Name of the environment whose definition makes the call.
    pub environment: String,
    /// The whole execution context object as the document sees it.
    pub context: PlainValue,
}

/// Failure of a provider, rotator, loader or decrypter; the text is shown
/// to the user as is (it must not contain secrets).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct CallError(pub String);

impl CallError {
    /// An error with this text.
    pub fn new(text: impl Into<String>) -> Self {
        CallError(text.into())
    }
}

/// The input and output schemas of a provider.
#[derive(Clone, Debug)]
pub struct ProviderSchema {
    /// Schema of the `inputs` argument; properties listed under its
    /// `rotateOnly` are rotate-only (spec §5.1).
    pub inputs: Schema,
    /// Schema of the data `open` returns (the call's schema in check mode).
    pub outputs: Schema,
}

/// A data source used by `fn::open::NAME` / `fn::open {provider: NAME}`.
#[async_trait]
pub trait Provider: Send + Sync {
    /// Input and output schemas.
    fn schema(&self) -> ProviderSchema;

    /// Fetch the data. `inputs` is plain data (secrets are marked, unknown
    /// members are absent). Wrapping the result in [`PlainValue::Secret`]
    /// makes it a deep secret; mark individual members to make only them
    /// secret.
    async fn open(
        &self,
        inputs: &PlainValue,
        ctx: &ProviderContext,
    ) -> Result<PlainValue, CallError>;
}

/// The schemas of a rotator.
#[derive(Clone, Debug)]
pub struct RotatorSchema {
    /// Schema of `inputs` (may list `rotateOnly` properties).
    pub inputs: Schema,
    /// Schema of the rotation state (the evaluator accepts it or `null`).
    pub state: Schema,
    /// Schema of the data `open` returns.
    pub outputs: Schema,
}

/// A credential that can be rotated (`fn::rotate::NAME`).
#[async_trait]
pub trait Rotator: Send + Sync {
    /// Input, state and output schemas.
    fn schema(&self) -> RotatorSchema;

    /// Produce the current data from the inputs and the state (`None`: the
    /// document has no state yet).
    async fn open(
        &self,
        inputs: &PlainValue,
        state: Option<&PlainValue>,
        ctx: &ProviderContext,
    ) -> Result<PlainValue, CallError>;

    /// Rotate: return the new state (written back into the document).
    async fn rotate(
        &self,
        inputs: &PlainValue,
        state: Option<&PlainValue>,
        ctx: &ProviderContext,
    ) -> Result<PlainValue, CallError>;
}

/// Finds providers and rotators by name.
#[async_trait]
pub trait ProviderLoader: Send + Sync {
    /// The provider called `name`; the error text is reported at the call
    /// (by convention `unknown provider "NAME"`).
    async fn load_provider(&self, name: &str) -> Result<Arc<dyn Provider>, CallError>;

    /// The rotator called `name` (by convention `unknown rotator "NAME"`).
    async fn load_rotator(&self, name: &str) -> Result<Arc<dyn Rotator>, CallError>;
}

/// Turns ciphertext into plaintext for `fn::secret: {ciphertext: ...}`.
#[async_trait]
pub trait Decrypter: Send + Sync {
    /// Decrypt the ciphertext carried in an envelope (spec §3 `fn::secret`).
    async fn decrypt(&self, ciphertext: &[u8]) -> Result<Vec<u8>, CallError>;
}

/// An environment definition found by an [`EnvironmentLoader`].
#[derive(Clone)]
pub struct LoadedEnvironment {
    /// The definition, as text or already parsed.
    pub definition: EnvironmentSource,
    /// The decrypter for its ciphertexts.
    pub decrypter: Arc<dyn Decrypter>,
}

/// The form in which a loader hands over a definition.
#[derive(Clone)]
pub enum EnvironmentSource {
    /// YAML text; the evaluator parses it under the name it was loaded by.
    Text(String),
    /// A definition parsed before with [`ParsedEnvironment::parse`] under
    /// the same name (ranges carry that name). Revisions are immutable, so
    /// a loader that knows which revision it loads may cache the parse and
    /// hand it back: repeated evaluations then never re-parse it.
    Parsed(ParsedEnvironment),
}

/// Finds imported and referenced environments by name (`project/env`).
#[async_trait]
pub trait EnvironmentLoader: Send + Sync {
    /// Load the definition of `name`; the error text is reported at the
    /// import or reference.
    async fn load_environment(&self, name: &str) -> Result<LoadedEnvironment, CallError>;
}
