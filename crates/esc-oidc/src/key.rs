//! One RSA signing key: generation, PKCS#8 import and export, its `kid` and public JWK.

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::{KeyPair, KeySize, PublicKeyComponents};
use aws_lc_rs::signature::{KeyPair as _, RSA_PKCS1_SHA256};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use zeroize::Zeroizing;

use crate::Error;
use crate::jwks::Jwk;

/// The smallest RSA modulus, in bits, this crate signs with or loads.
pub const MIN_RSA_BITS: usize = 2048;

/// An RSA private key that signs RS256 tokens.
///
/// Deliberately not `Debug`, `Clone` or serialisable: the private half leaves this type only
/// as PKCS#8 bytes handed to a [`crate::KeyStore`], and those bytes are zeroized on drop.
pub struct SigningKey {
    kid: String,
    pair: KeyPair,
    pkcs8: Zeroizing<Vec<u8>>,
    public: Jwk,
}

impl SigningKey {
    /// A fresh 2048-bit key.
    pub fn generate() -> Result<SigningKey, Error> {
        let pair = KeyPair::generate(KeySize::Rsa2048).map_err(|_| Error::KeyGeneration)?;
        let pkcs8 = pair.as_der().map_err(|_| Error::KeyGeneration)?;
        SigningKey::from_parts(pair, Zeroizing::new(pkcs8.as_ref().to_vec()))
            .map_err(|_| Error::KeyGeneration)
    }

    /// A key from its PKCS#8 (v1) DER encoding; refused below [`MIN_RSA_BITS`].
    pub fn from_pkcs8(der: &[u8]) -> Result<SigningKey, Error> {
        let pair = KeyPair::from_pkcs8(der).map_err(|_| Error::KeyRejected {
            kid: String::from("(unparsed)"),
            reason: "not an RSA PKCS#8 private key",
        })?;
        SigningKey::from_parts(pair, Zeroizing::new(der.to_vec()))
    }

    fn from_parts(pair: KeyPair, pkcs8: Zeroizing<Vec<u8>>) -> Result<SigningKey, Error> {
        let components = PublicKeyComponents::<Vec<u8>>::from(pair.public_key());
        let public = Jwk::rsa(&components.n, &components.e);
        if pair.public_modulus_len() * 8 < MIN_RSA_BITS {
            return Err(Error::KeyRejected {
                kid: public.kid,
                reason: "RSA modulus shorter than 2048 bits",
            });
        }
        Ok(SigningKey {
            kid: public.kid.clone(),
            pair,
            pkcs8,
            public,
        })
    }

    /// The key id: the RFC 7638 JWK thumbprint (SHA-256, base64url) of the public key.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The public half as a JWK (`kty` RSA, `use` sig, `alg` RS256, `kid`, `n`, `e`).
    pub fn public_jwk(&self) -> &Jwk {
        &self.public
    }

    /// RSASSA-PKCS1-v1_5 with SHA-256 (JWS `RS256`) over `message`.
    pub fn sign_rs256(&self, message: &[u8]) -> Result<Vec<u8>, Error> {
        let mut signature = vec![0; self.pair.public_modulus_len()];
        self.pair
            .sign(
                &RSA_PKCS1_SHA256,
                &SystemRandom::new(),
                message,
                &mut signature,
            )
            .map_err(|_| Error::Signing {
                kid: self.kid.clone(),
            })?;
        Ok(signature)
    }

    /// The PKCS#8 DER bytes, for a key store to persist. Secret.
    pub fn pkcs8_der(&self) -> &[u8] {
        &self.pkcs8
    }
}

/// RFC 7638 thumbprint of an RSA public key: members `e`, `kty`, `n` in that order, no
/// whitespace, SHA-256, base64url without padding.
pub(crate) fn rsa_thumbprint(n_b64: &str, e_b64: &str) -> String {
    let canonical = format!(r#"{{"e":"{e_b64}","kty":"RSA","n":"{n_b64}"}}"#);
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, canonical.as_bytes());
    URL_SAFE_NO_PAD.encode(digest.as_ref())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn thumbprint_matches_rfc7638_example() {
        // The example key and expected thumbprint of RFC 7638 section 3.1.
        let n = "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw";
        assert_eq!(
            rsa_thumbprint(n, "AQAB"),
            "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
        );
    }

    #[test]
    fn pkcs8_round_trip_keeps_kid_and_signature_verifies() {
        let key = SigningKey::generate().unwrap();
        let reloaded = SigningKey::from_pkcs8(key.pkcs8_der()).unwrap();
        assert_eq!(key.kid(), reloaded.kid());
        let signature = reloaded.sign_rs256(b"message").unwrap();
        let n = URL_SAFE_NO_PAD.decode(&key.public_jwk().n).unwrap();
        let e = URL_SAFE_NO_PAD.decode(&key.public_jwk().e).unwrap();
        let public = aws_lc_rs::signature::RsaPublicKeyComponents { n, e };
        public
            .verify(
                &aws_lc_rs::signature::RSA_PKCS1_2048_8192_SHA256,
                b"message",
                &signature,
            )
            .unwrap();
        assert!(
            public
                .verify(
                    &aws_lc_rs::signature::RSA_PKCS1_2048_8192_SHA256,
                    b"massage",
                    &signature,
                )
                .is_err()
        );
    }

    #[test]
    fn garbage_pkcs8_is_rejected_without_panic() {
        assert!(matches!(
            SigningKey::from_pkcs8(b"not a key"),
            Err(Error::KeyRejected { .. })
        ));
    }
}
