//! Integration tests of `esc-syntax`: the public API against the spec and the conformance fixtures.
#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

mod edit;
mod emit;
mod fixtures;
mod limits;
mod props;
mod wire;
