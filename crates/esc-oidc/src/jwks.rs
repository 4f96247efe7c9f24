//! The JWKS and OpenID discovery documents the issuer publishes.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};

use crate::key::rsa_thumbprint;

/// Paths under the issuer's base URL where the server serves the JWKS.
pub const JWKS_PATHS: [&str; 3] = [
    "/.well-known/jwks",
    "/.well-known/jwks.json",
    "/oidc/.well-known/jwks",
];

/// One public RSA key in JWK form (RFC 7517).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Jwk {
    /// Key type; always `RSA` here.
    pub kty: String,
    /// Intended use; `sig`.
    #[serde(rename = "use")]
    pub key_use: String,
    /// Algorithm; `RS256`.
    pub alg: String,
    /// Key id (RFC 7638 thumbprint).
    pub kid: String,
    /// Modulus, base64url without padding.
    pub n: String,
    /// Public exponent, base64url without padding.
    pub e: String,
}

impl Jwk {
    /// The JWK of an RSA public key given as big-endian modulus and exponent bytes.
    pub(crate) fn rsa(modulus: &[u8], exponent: &[u8]) -> Jwk {
        let n = URL_SAFE_NO_PAD.encode(modulus);
        let e = URL_SAFE_NO_PAD.encode(exponent);
        Jwk {
            kty: String::from("RSA"),
            key_use: String::from("sig"),
            alg: String::from("RS256"),
            kid: rsa_thumbprint(&n, &e),
            n,
            e,
        }
    }
}

/// A JSON Web Key Set: `{"keys": [...]}`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Jwks {
    /// The published keys.
    pub keys: Vec<Jwk>,
}

/// The OpenID Provider metadata served at `/.well-known/openid-configuration`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiscoveryDocument {
    /// The issuer identifier, equal to every token's `iss`.
    pub issuer: String,
    /// Where the JWKS is served.
    pub jwks_uri: String,
    /// Always `["id_token"]`.
    pub response_types_supported: Vec<String>,
    /// Always `["public"]`.
    pub subject_types_supported: Vec<String>,
    /// Always `["RS256"]`.
    pub id_token_signing_alg_values_supported: Vec<String>,
    /// The claims tokens carry.
    pub claims_supported: Vec<String>,
}

/// The discovery document for `issuer` (the configured public base URL); `jwks_uri` is
/// `<issuer>/.well-known/jwks`.
pub fn discovery_document(issuer: &str) -> DiscoveryDocument {
    let strings = |items: &[&str]| items.iter().map(|item| (*item).to_owned()).collect();
    DiscoveryDocument {
        issuer: issuer.to_owned(),
        jwks_uri: format!("{}{}", issuer.trim_end_matches('/'), JWKS_PATHS[0]),
        response_types_supported: strings(&["id_token"]),
        subject_types_supported: strings(&["public"]),
        id_token_signing_alg_values_supported: strings(&["RS256"]),
        claims_supported: strings(&crate::token::CLAIM_NAMES),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn discovery_points_at_the_jwks_and_names_rs256() {
        let doc = discovery_document("https://esc.example.com/");
        assert_eq!(doc.issuer, "https://esc.example.com/");
        assert_eq!(doc.jwks_uri, "https://esc.example.com/.well-known/jwks");
        assert_eq!(doc.id_token_signing_alg_values_supported, ["RS256"]);
        assert!(
            doc.claims_supported
                .iter()
                .any(|claim| claim == "body_hash")
        );
    }
}
