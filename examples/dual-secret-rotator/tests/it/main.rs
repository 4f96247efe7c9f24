//! The dual-secret rotator over real HTTP on 127.0.0.1: in-process (router with a test
//! issuer's JWKS) and as the real binary in a child process.

#![allow(clippy::unwrap_used)]

mod binary;
mod harness;
mod rotate;
