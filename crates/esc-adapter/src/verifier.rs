//! The verifier: configuration, the cached JWKS, and the checks in order.

use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::{Duration, Instant};

use aws_lc_rs::constant_time::verify_slices_are_equal;
use axum::http::HeaderMap;
use axum::http::header::AUTHORIZATION;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;

use crate::jwks::{self, KeyMap};
use crate::replay::ReplayCache;
use crate::{Claims, ConfigError, VerifyError};

/// Longest token accepted, in bytes; ours are about 1 KiB.
const MAX_TOKEN_BYTES: usize = 16 * 1024;

/// Where the issuer's public keys come from.
#[derive(Debug, Clone)]
pub enum KeySource {
    /// A JWKS URL, fetched on first use, refetched when a token names an unknown `kid` (at
    /// most once per `jwks_min_refetch_interval`) or when the copy is older than
    /// `jwks_max_age`.
    Url(String),
    /// A fixed JWKS document (JSON), for adapters that pin keys.
    Static(String),
}

/// How an adapter verifies requests.
#[derive(Debug, Clone)]
pub struct VerifierConfig {
    /// The issuer URL every token's `iss` must equal exactly.
    pub issuer: String,
    /// This adapter's own URL, exactly as written in environments; `aud` must equal it.
    pub audience: String,
    /// The issuer's keys.
    pub keys: KeySource,
    /// Clock skew allowed on `exp`, `nbf` and `iat` (default 30 s).
    pub leeway: Duration,
    /// Tokens whose `exp` lies further ahead are refused (default 1 hour); bounds how long
    /// a `jti` must be remembered.
    pub max_token_lifetime: Duration,
    /// Minimum time between JWKS fetches caused by unknown `kid`s (default 10 s).
    pub jwks_min_refetch_interval: Duration,
    /// A fetched JWKS is refreshed when older than this (default 10 minutes).
    pub jwks_max_age: Duration,
    /// Timeout of one JWKS fetch (default 5 s).
    pub jwks_fetch_timeout: Duration,
    /// Most `jti`s remembered at once (default 100 000); when full of unexpired entries,
    /// requests are refused with 503 rather than forgetting one.
    pub replay_cache_capacity: usize,
    /// Largest request body the axum extractor reads (default 1 MiB).
    pub max_body_bytes: usize,
}

impl VerifierConfig {
    /// Defaults for an adapter at `audience` trusting `issuer`, with the JWKS at
    /// `<issuer>/.well-known/jwks`.
    pub fn new(issuer: impl Into<String>, audience: impl Into<String>) -> VerifierConfig {
        let issuer = issuer.into();
        let jwks_url = format!("{}/.well-known/jwks", issuer.trim_end_matches('/'));
        VerifierConfig {
            issuer,
            audience: audience.into(),
            keys: KeySource::Url(jwks_url),
            leeway: Duration::from_secs(30),
            max_token_lifetime: Duration::from_secs(3600),
            jwks_min_refetch_interval: Duration::from_secs(10),
            jwks_max_age: Duration::from_secs(600),
            jwks_fetch_timeout: Duration::from_secs(5),
            replay_cache_capacity: 100_000,
            max_body_bytes: 1024 * 1024,
        }
    }
}

struct CachedKeys {
    keys: KeyMap,
    fetched_at: Instant,
}

struct FetchState {
    last_attempt: Option<Instant>,
}

/// Verifies ESC Connect requests. Build one per adapter and share it (`Arc<Verifier>`).
pub struct Verifier {
    config: VerifierConfig,
    client: reqwest::Client,
    cache: RwLock<Option<Arc<CachedKeys>>>,
    fetch: tokio::sync::Mutex<FetchState>,
    replay: Mutex<ReplayCache>,
}

#[derive(Deserialize)]
struct Header {
    alg: String,
    kid: Option<String>,
    typ: Option<String>,
    crit: Option<serde::de::IgnoredAny>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Audience {
    One(String),
    Many(Vec<String>),
}

#[derive(Deserialize)]
struct RawClaims {
    iss: Option<String>,
    sub: Option<String>,
    aud: Option<Audience>,
    exp: Option<f64>,
    iat: Option<f64>,
    nbf: Option<f64>,
    jti: Option<String>,
    org: Option<String>,
    env: Option<String>,
    current_env: Option<String>,
    root_env: Option<String>,
    trigger_user: Option<String>,
    body_hash: Option<String>,
}

impl Verifier {
    /// A verifier for `config`. A static JWKS is parsed now; a URL is fetched on first use.
    pub fn new(config: VerifierConfig) -> Result<Verifier, ConfigError> {
        let invalid = |field, reason| ConfigError::Invalid { field, reason };
        if config.issuer.is_empty() {
            return Err(invalid("issuer", "must not be empty"));
        }
        if config.audience.is_empty() {
            return Err(invalid("audience", "must not be empty"));
        }
        if config.replay_cache_capacity == 0 {
            return Err(invalid("replay_cache_capacity", "must be at least 1"));
        }
        let cache = match &config.keys {
            KeySource::Static(document) => {
                let keys = jwks::parse(document.as_bytes())
                    .ok_or_else(|| invalid("keys", "not a JWKS document"))?;
                Some(Arc::new(CachedKeys {
                    keys,
                    fetched_at: Instant::now(),
                }))
            }
            KeySource::Url(url) => {
                if !(url.starts_with("https://") || url.starts_with("http://")) {
                    return Err(invalid("keys", "JWKS URL must be http(s)"));
                }
                None
            }
        };
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(config.jwks_fetch_timeout)
            .build()
            .map_err(ConfigError::HttpClient)?;
        Ok(Verifier {
            replay: Mutex::new(ReplayCache::new(config.replay_cache_capacity)),
            config,
            client,
            cache: RwLock::new(cache),
            fetch: tokio::sync::Mutex::new(FetchState { last_attempt: None }),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &VerifierConfig {
        &self.config
    }

    /// Verifies a request from its headers and exact body bytes; on success the `jti` is
    /// remembered so the same token is refused next time.
    pub async fn verify(&self, headers: &HeaderMap, body: &[u8]) -> Result<Claims, VerifyError> {
        let token = bearer_token(headers)?;
        self.verify_token(token, body).await
    }

    /// As [`Verifier::verify`], for a token already taken out of its header.
    pub async fn verify_token(&self, token: &str, body: &[u8]) -> Result<Claims, VerifyError> {
        if token.len() > MAX_TOKEN_BYTES {
            return Err(VerifyError::MalformedToken);
        }
        let mut parts = token.split('.');
        let (Some(header_b64), Some(claims_b64), Some(signature_b64), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(VerifyError::MalformedToken);
        };
        let header: Header = decode_json(header_b64)?;
        // Only RS256, whatever else the header says; the key is chosen by kid from our JWKS
        // alone (jku, jwk, x5u and friends are ignored), so no algorithm or key confusion.
        if header.alg != "RS256" {
            return Err(VerifyError::UnsupportedAlgorithm);
        }
        if header.crit.is_some()
            || header
                .typ
                .as_deref()
                .is_some_and(|typ| !typ.eq_ignore_ascii_case("JWT"))
        {
            return Err(VerifyError::MalformedToken);
        }
        let kid = header.kid.ok_or(VerifyError::MissingKeyId)?;
        let signature = URL_SAFE_NO_PAD
            .decode(signature_b64)
            .map_err(|_| VerifyError::MalformedToken)?;
        let keys = self.keys_for(&kid).await?;
        let key = keys.keys.get(&kid).ok_or(VerifyError::UnknownKey)?;
        let signed_len = header_b64.len() + 1 + claims_b64.len();
        key.verify_sig(&token.as_bytes()[..signed_len], &signature)
            .map_err(|_| VerifyError::BadSignature)?;

        let raw: RawClaims = decode_json(claims_b64)?;
        self.check_claims(raw, body)
    }

    fn check_claims(&self, raw: RawClaims, body: &[u8]) -> Result<Claims, VerifyError> {
        let missing = |claim| VerifyError::MissingClaim { claim };
        if raw.iss.as_deref() != Some(self.config.issuer.as_str()) {
            return Err(VerifyError::WrongIssuer);
        }
        let audience_matches = match &raw.aud {
            Some(Audience::One(aud)) => *aud == self.config.audience,
            Some(Audience::Many(auds)) => auds.contains(&self.config.audience),
            None => false,
        };
        if !audience_matches {
            return Err(VerifyError::WrongAudience);
        }
        let now = esc_oidc::UnixTime::now().0 as f64;
        let leeway = self.config.leeway.as_secs_f64();
        let exp = raw.exp.ok_or(missing("exp"))?;
        if now > exp + leeway {
            return Err(VerifyError::Expired);
        }
        if exp - now > self.config.max_token_lifetime.as_secs_f64() + leeway {
            return Err(VerifyError::LifetimeTooLong);
        }
        let nbf = raw.nbf.ok_or(missing("nbf"))?;
        let iat = raw.iat.ok_or(missing("iat"))?;
        if nbf > now + leeway || iat > now + leeway {
            return Err(VerifyError::NotYetValid);
        }
        let body_hash = raw.body_hash.ok_or(missing("body_hash"))?;
        let expected = esc_oidc::body_hash(body);
        verify_slices_are_equal(body_hash.as_bytes(), expected.as_bytes())
            .map_err(|_| VerifyError::BodyHashMismatch)?;
        let jti = raw.jti.ok_or(missing("jti"))?;
        if jti.is_empty() || jti.len() > 128 {
            return Err(VerifyError::MalformedToken);
        }
        let claims = Claims {
            iss: self.config.issuer.clone(),
            sub: raw.sub.ok_or(missing("sub"))?,
            aud: self.config.audience.clone(),
            exp: exp as u64,
            iat: iat as u64,
            nbf: nbf as u64,
            jti,
            org: raw.org.ok_or(missing("org"))?,
            env: raw.env.ok_or(missing("env"))?,
            current_env: raw.current_env.ok_or(missing("current_env"))?,
            root_env: raw.root_env.ok_or(missing("root_env"))?,
            trigger_user: raw.trigger_user.ok_or(missing("trigger_user"))?,
            body_hash,
        };
        // Last, so a token failing any other check does not burn its jti.
        let forget_after = (exp + leeway).ceil() as u64;
        self.replay
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(&claims.jti, forget_after, now as u64)?;
        Ok(claims)
    }

    /// The cached keys, refreshed first when missing, stale, or lacking `kid`.
    async fn keys_for(&self, kid: &str) -> Result<Arc<CachedKeys>, VerifyError> {
        let cached = self.cached();
        let KeySource::Url(url) = &self.config.keys else {
            return cached.ok_or(VerifyError::KeysUnavailable);
        };
        if let Some(cached) = &cached
            && cached.keys.contains_key(kid)
            && cached.fetched_at.elapsed() < self.config.jwks_max_age
        {
            return Ok(Arc::clone(cached));
        }
        let mut fetch = self.fetch.lock().await;
        // Another request may have refreshed while this one waited.
        if let Some(cached) = self.cached()
            && cached.keys.contains_key(kid)
            && cached.fetched_at.elapsed() < self.config.jwks_max_age
        {
            return Ok(cached);
        }
        let rate_limited = fetch
            .last_attempt
            .is_some_and(|last| last.elapsed() < self.config.jwks_min_refetch_interval);
        if !rate_limited {
            fetch.last_attempt = Some(Instant::now());
            match jwks::fetch(&self.client, url, self.config.jwks_fetch_timeout).await {
                Ok(keys) => {
                    let fresh = Arc::new(CachedKeys {
                        keys,
                        fetched_at: Instant::now(),
                    });
                    *self.cache.write().unwrap_or_else(PoisonError::into_inner) =
                        Some(Arc::clone(&fresh));
                    return Ok(fresh);
                }
                Err(err) => tracing::warn!(error = %err, "fetching the issuer's JWKS failed"),
            }
        }
        // Keep using what we have (a failed refresh must not lock every adapter out).
        self.cached().ok_or(VerifyError::KeysUnavailable)
    }

    fn cached(&self) -> Option<Arc<CachedKeys>> {
        self.cache
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

/// The token of an `Authorization: Bearer <token>` header. Two `Authorization` headers
/// are refused: which one a proxy or framework would pick is anyone's guess.
fn bearer_token(headers: &HeaderMap) -> Result<&str, VerifyError> {
    let mut values = headers.get_all(AUTHORIZATION).iter();
    let value = values.next().ok_or(VerifyError::MissingToken)?;
    if values.next().is_some() {
        return Err(VerifyError::MalformedAuthorization);
    }
    let value = value
        .to_str()
        .map_err(|_| VerifyError::MalformedAuthorization)?;
    let (scheme, token) = value
        .split_once(' ')
        .ok_or(VerifyError::MalformedAuthorization)?;
    let token = token.trim();
    if !scheme.eq_ignore_ascii_case("bearer") || token.is_empty() {
        return Err(VerifyError::MalformedAuthorization);
    }
    Ok(token)
}

fn decode_json<T: serde::de::DeserializeOwned>(part: &str) -> Result<T, VerifyError> {
    let bytes = URL_SAFE_NO_PAD
        .decode(part)
        .map_err(|_| VerifyError::MalformedToken)?;
    serde_json::from_slice(&bytes).map_err(|_| VerifyError::MalformedToken)
}
