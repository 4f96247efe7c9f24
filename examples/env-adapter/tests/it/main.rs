//! The env adapter binary as a real child process on 127.0.0.1, with tokens from esc-oidc
//! and a JWKS served by the test.

#![allow(clippy::unwrap_used)]

mod serve;
