//! Fetching and parsing the issuer's JWKS into verification keys.

use std::collections::HashMap;
use std::time::Duration;

use aws_lc_rs::signature::{ParsedPublicKey, RSA_PKCS1_2048_8192_SHA256, RsaPublicKeyComponents};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;

/// Largest JWKS document read; a JWKS of a few keys is a few KiB.
const MAX_JWKS_BYTES: usize = 256 * 1024;

/// RS256 keys by kid.
pub(crate) type KeyMap = HashMap<String, ParsedPublicKey>;

#[derive(Deserialize)]
struct Document {
    keys: Vec<serde_json::Value>,
}

#[derive(Deserialize)]
struct RsaJwk {
    kty: String,
    kid: Option<String>,
    #[serde(rename = "use")]
    key_use: Option<String>,
    alg: Option<String>,
    n: Option<String>,
    e: Option<String>,
}

/// Why a fetch failed; only logged, never sent to a caller.
#[derive(Debug, thiserror::Error)]
pub(crate) enum FetchError {
    #[error("request failed: {0}")]
    Http(#[from] reqwest::Error),
    #[error("status {0}")]
    Status(u16),
    #[error("document larger than {MAX_JWKS_BYTES} bytes")]
    TooLarge,
    #[error("not a JWKS document")]
    NotJwks,
}

/// GETs and parses the JWKS at `url`.
pub(crate) async fn fetch(
    client: &reqwest::Client,
    url: &str,
    timeout: Duration,
) -> Result<KeyMap, FetchError> {
    let mut response = client.get(url).timeout(timeout).send().await?;
    if !response.status().is_success() {
        return Err(FetchError::Status(response.status().as_u16()));
    }
    let mut bytes = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        if bytes.len() + chunk.len() > MAX_JWKS_BYTES {
            return Err(FetchError::TooLarge);
        }
        bytes.extend_from_slice(&chunk);
    }
    parse(&bytes).ok_or(FetchError::NotJwks)
}

/// The usable keys of a JWKS: RSA keys with a kid, `use` absent or `sig`, `alg` absent or
/// `RS256`, and a modulus of at least 2048 bits. Other entries are skipped. `None` when
/// the document is not a JWKS at all.
pub(crate) fn parse(document: &[u8]) -> Option<KeyMap> {
    let document: Document = serde_json::from_slice(document).ok()?;
    let mut keys = KeyMap::new();
    for value in document.keys {
        let Ok(jwk) = serde_json::from_value::<RsaJwk>(value) else {
            continue;
        };
        if jwk.kty != "RSA"
            || jwk
                .key_use
                .as_deref()
                .is_some_and(|key_use| key_use != "sig")
            || jwk.alg.as_deref().is_some_and(|alg| alg != "RS256")
        {
            continue;
        }
        let (Some(kid), Some(n), Some(e)) = (jwk.kid, jwk.n, jwk.e) else {
            continue;
        };
        let (Ok(n), Ok(e)) = (URL_SAFE_NO_PAD.decode(n), URL_SAFE_NO_PAD.decode(e)) else {
            continue;
        };
        if n.len() < esc_oidc::MIN_RSA_BITS / 8 {
            continue;
        }
        let Ok(parsed) =
            (RsaPublicKeyComponents { n, e }).to_parsed_public_key(&RSA_PKCS1_2048_8192_SHA256)
        else {
            continue;
        };
        keys.insert(kid, parsed);
    }
    Some(keys)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn skips_foreign_and_weak_entries_and_rejects_non_jwks() {
        let key = esc_oidc::SigningKey::generate().unwrap();
        let good = serde_json::to_value(key.public_jwk()).unwrap();
        let mut hs = good.clone();
        hs["alg"] = "HS256".into();
        hs["kid"] = "hs".into();
        let mut enc = good.clone();
        enc["use"] = "enc".into();
        enc["kid"] = "enc".into();
        let weak = serde_json::json!({"kty": "RSA", "kid": "weak", "n": "AQAB", "e": "AQAB"});
        let ec = serde_json::json!({"kty": "EC", "kid": "ec", "crv": "P-256"});
        let document = serde_json::json!({"keys": [good, hs, enc, weak, ec, 7]});
        let keys = parse(document.to_string().as_bytes()).unwrap();
        assert_eq!(keys.len(), 1);
        assert!(keys.contains_key(key.kid()));
        assert!(parse(b"[]").is_none());
        assert!(parse(b"{\"keys\": {}}").is_none());
    }
}
