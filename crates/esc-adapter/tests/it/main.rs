//! Integration tests of esc-adapter over real HTTP on 127.0.0.1: the hostile-token suite
//! through the axum extractor, CONNECT.md § 5 rule by rule, JWKS caching, and PyJWT compatibility of our tokens.

#![allow(clippy::unwrap_used)]

mod hostile;
mod jwks_cache;
mod python;
mod rules;
mod support;
