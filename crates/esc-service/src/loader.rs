//! The evaluator's seams backed by the store: imports load from the store
//! (inside the importing environment's organization, with the caller's
//! access checked), ciphertexts open with the environment's data key, and a
//! registry of providers others plug into.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use async_trait::async_trait;
use esc_eval::{
    CallError, Decrypter, EnvironmentLoader, LoadedEnvironment, Provider, ProviderLoader, Rotator,
};
use esc_store::{EnvironmentCipher, Store, StoreError};

use crate::access::{AccessPolicy, Permission};
use crate::names::parse_import;
use crate::service::revision_content;

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

/// Loads imported environments of one organization for one caller.
pub(crate) struct StoreEnvironmentLoader {
    pub(crate) store: Arc<dyn Store>,
    pub(crate) policy: Arc<AccessPolicy>,
    pub(crate) org: String,
    pub(crate) login: String,
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
        let (content, cipher) = tokio::join!(
            revision_content(&*self.store, &env, &version),
            self.store.environment_cipher(&env)
        );
        let content = content.map_err(describe)?;
        let cipher = cipher.map_err(describe)?;
        let text = content
            .yaml
            .expose_str()
            .ok_or_else(|| CallError::new(format!("environment \"{name}\" is not UTF-8")))?
            .to_owned();
        Ok(LoadedEnvironment {
            text,
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
