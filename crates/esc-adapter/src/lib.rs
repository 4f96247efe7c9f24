//! SDK for ESC Connect adapters: verify the request JWT (JWKS, RS256, aud, iss, exp, body
//! hash, replay).
//!
//! An adapter builds one [`Verifier`] from a [`VerifierConfig`] (its own URL, the issuer,
//! where the JWKS is) and either calls [`Verifier::verify`] with the request headers and
//! raw body, or puts `Arc<Verifier>` in its axum state and takes a [`Verified`] extractor,
//! which answers 401 with a short reason on any failure (see [`VerifyError`]).
//!
//! Invariant: an error says which check failed and nothing else: never token contents,
//! key material or the body.

mod axum_helper;
mod error;
mod jwks;
mod replay;
mod verifier;

pub use axum_helper::{Rejection, Verified};
pub use error::{ConfigError, VerifyError};
pub use esc_oidc::ConnectClaims as Claims;
pub use verifier::{KeySource, Verifier, VerifierConfig};
