//! Runs the conformance runner over `shared/conformance/esc-eval` and checks
//! its verdicts against `known-failures.txt`.
#![allow(clippy::unwrap_used)]

mod conformance;
mod spec_cases;
