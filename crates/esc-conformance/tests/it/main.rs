//! Runs the conformance runner over `shared/conformance/esc-eval` and checks
//! its verdicts against `known-failures.txt`; spec cases; properties of the
//! evaluator on generated definitions.
#![allow(clippy::unwrap_used)]

mod conformance;
mod props;
mod spec_cases;
