//! Signing keys and their rotation, JWT minting with ESC Connect claims, JWKS and OpenID
//! discovery documents.
//!
//! The issuer side of ESC Connect (`shared/spec/CONNECT.md` section 3). An [`Issuer`] holds
//! a [`KeySet`] (keys in the states next / active / retired-until, see [`keyset`]), mints
//! RS256 tokens bound to a request body with [`Issuer::mint`], and renders the [`Jwks`] and
//! [`DiscoveryDocument`] the server publishes. Keys persist through a [`KeyStore`];
//! [`FileKeyStore`] is the local one.
//!
//! Invariant: private key material never derives `Debug`, is never logged, and its PKCS#8
//! bytes are zeroized on drop.

mod error;
mod issuer;
mod jwks;
mod key;
pub mod keyset;
mod store;
mod time;
mod token;

pub use error::Error;
pub use issuer::{Issuer, IssuerConfig};
pub use jwks::{DiscoveryDocument, JWKS_PATHS, Jwk, Jwks, discovery_document};
pub use key::{MIN_RSA_BITS, SigningKey};
pub use keyset::{KeySet, KeyState, RotationPolicy};
pub use store::{FileKeyStore, KeyStore};
pub use time::UnixTime;
pub use token::{CLOCK_SKEW_ALLOWANCE, ConnectClaims, EnvRef, TokenRequest, body_hash, subject};
