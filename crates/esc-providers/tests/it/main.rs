//! Integration tests of the built-in providers against real adapters on
//! 127.0.0.1 (HTTPS with an `rcgen` certificate, verified by `esc-adapter`).
#![allow(clippy::unwrap_used)]

mod concurrency;
mod failures;
mod open;
mod published;
mod rotate;
mod support;
