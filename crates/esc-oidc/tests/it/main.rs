//! Integration tests of esc-oidc: minting, the file key store, and OpenBao accepting our
//! tokens through its JWT auth method.

#![allow(clippy::unwrap_used)]

mod keystore;
mod mint;
mod openbao;
mod support;
