//! Runs the ESC language conformance fixtures (spec/LANGUAGE.md section 8).

fn main() {}
