//! The issuer: a key set behind a lock, its store, and minting.

use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use crate::token::{claims, encode_jwt};
use crate::{
    DiscoveryDocument, Error, Jwks, KeySet, KeyStore, RotationPolicy, SigningKey, TokenRequest,
    UnixTime, discovery_document,
};

/// What the issuer needs to know besides its keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuerConfig {
    /// The server's public base URL; every token's `iss`.
    pub issuer: String,
    /// Lifetime of minted tokens (default 5 minutes).
    pub token_lifetime: Duration,
    /// Key rotation rules.
    pub rotation: RotationPolicy,
}

impl IssuerConfig {
    /// The defaults for `issuer`: 5-minute tokens, default rotation.
    pub fn new(issuer: impl Into<String>) -> IssuerConfig {
        IssuerConfig {
            issuer: issuer.into(),
            token_lifetime: Duration::from_secs(300),
            rotation: RotationPolicy::default(),
        }
    }

    fn validate(&self) -> Result<(), Error> {
        if !(self.issuer.starts_with("https://") || self.issuer.starts_with("http://")) {
            return Err(Error::Config("issuer must be an http(s) URL"));
        }
        if self.token_lifetime.as_secs() == 0 {
            return Err(Error::Config("token lifetime must be at least one second"));
        }
        if self.token_lifetime > self.rotation.max_token_lifetime {
            return Err(Error::Config(
                "token lifetime exceeds the rotation policy's max_token_lifetime",
            ));
        }
        Ok(())
    }
}

/// Mints ESC Connect tokens and publishes their keys. Share it behind an `Arc`.
pub struct Issuer {
    config: IssuerConfig,
    keys: RwLock<KeySet>,
    store: Option<Arc<dyn KeyStore>>,
    maintenance: tokio::sync::Mutex<()>,
}

impl Issuer {
    /// An issuer whose keys live in `store`: loads them (or starts an empty set), applies
    /// the rotation rules now, and saves when they changed anything.
    pub async fn open(config: IssuerConfig, store: Arc<dyn KeyStore>) -> Result<Issuer, Error> {
        config.validate()?;
        let keys = store.load().await?.unwrap_or_default();
        let issuer = Issuer {
            config,
            keys: RwLock::new(keys),
            store: Some(store),
            maintenance: tokio::sync::Mutex::new(()),
        };
        issuer.maintain_at(UnixTime::now()).await?;
        Ok(issuer)
    }

    /// An issuer with keys in memory only (tests, throwaway servers), bootstrapped at `now`.
    pub fn ephemeral(config: IssuerConfig, now: UnixTime) -> Result<Issuer, Error> {
        config.validate()?;
        let mut keys = KeySet::default();
        keys.maintain(now, &config.rotation, SigningKey::generate)?;
        Ok(Issuer {
            config,
            keys: RwLock::new(keys),
            store: None,
            maintenance: tokio::sync::Mutex::new(()),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &IssuerConfig {
        &self.config
    }

    /// Applies the rotation rules with the system clock; the server calls this
    /// periodically (more often than `publish_lead`).
    pub async fn maintain(&self) -> Result<(), Error> {
        self.maintain_at(UnixTime::now()).await
    }

    /// Applies the rotation rules at `now` (see [`KeySet::maintain`]). With a store, the
    /// stored set is loaded first (so servers sharing a store converge on one set) and
    /// saved when the rules changed it; if another process saved in between, the whole
    /// step is redone once on its set. Key generation runs on a blocking thread.
    pub async fn maintain_at(&self, now: UnixTime) -> Result<(), Error> {
        let _serialised = self.maintenance.lock().await;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let current = match &self.store {
                Some(store) => store.load().await?.unwrap_or_default(),
                None => self.snapshot(),
            };
            let policy = self.config.rotation;
            let (mut next, changed) = tokio::task::spawn_blocking(move || {
                let mut next = current;
                next.maintain(now, &policy, SigningKey::generate)
                    .map(|changed| (next, changed))
            })
            .await
            .map_err(|_| Error::StoreTask)??;
            if changed && let Some(store) = &self.store {
                match store.save(&next).await {
                    Ok(revision) => next.set_revision(revision),
                    Err(Error::Conflict { .. }) if attempt < 2 => continue,
                    Err(err) => return Err(err),
                }
            }
            *self.keys.write().unwrap_or_else(PoisonError::into_inner) = next;
            return Ok(());
        }
    }

    /// A copy of the current key set (keys are shared, not copied).
    pub fn snapshot(&self) -> KeySet {
        self.keys
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The JWKS to publish now.
    pub fn jwks(&self) -> Jwks {
        self.jwks_at(UnixTime::now())
    }

    /// The JWKS to publish at `now`.
    pub fn jwks_at(&self, now: UnixTime) -> Jwks {
        self.keys
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .jwks(now)
    }

    /// The OpenID discovery document.
    pub fn discovery(&self) -> DiscoveryDocument {
        discovery_document(&self.config.issuer)
    }

    /// A signed token for `request` bound to the exact `body` bytes, valid from now for the
    /// configured lifetime, with a fresh `jti`.
    pub fn mint(&self, request: &TokenRequest<'_>, body: &[u8]) -> Result<String, Error> {
        self.mint_at(request, body, UnixTime::now())
    }

    /// As [`Issuer::mint`], issued at `now`.
    pub fn mint_at(
        &self,
        request: &TokenRequest<'_>,
        body: &[u8],
        now: UnixTime,
    ) -> Result<String, Error> {
        let key = self
            .keys
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .active()
            .cloned()
            .ok_or(Error::NoActiveKey)?;
        let claims = claims(
            &self.config.issuer,
            request,
            body,
            now,
            self.config.token_lifetime,
        );
        encode_jwt(&key, &claims)
    }
}
