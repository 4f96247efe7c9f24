//! The fixture suite: every case passes except those listed (with a reason)
//! in `known-failures.txt`; a listed case that passes fails this test so the
//! list stays honest.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::Command;

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/conformance/esc-eval")
}

fn known_failures() -> BTreeSet<String> {
    let text = std::fs::read_to_string(
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("known-failures.txt"),
    )
    .unwrap();
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| l.split_whitespace().next().unwrap().to_string())
        .collect()
}

#[test]
fn fixtures_pass_except_known_failures() {
    let output = Command::new(env!("CARGO_BIN_EXE_esc-conformance"))
        .arg(fixtures())
        .output()
        .unwrap();
    let stdout = String::from_utf8(output.stdout).unwrap();
    let mut failed = BTreeSet::new();
    let mut passed = BTreeSet::new();
    for line in stdout.lines() {
        if let Some(rest) = line.strip_prefix("FAIL ") {
            failed.insert(rest.split(':').next().unwrap().to_string());
        } else if let Some(rest) = line.strip_prefix("PASS ") {
            passed.insert(rest.trim().to_string());
        }
    }
    assert!(
        passed.len() + failed.len() >= 38,
        "too few cases ran:\n{stdout}"
    );
    let last = stdout.lines().last().unwrap();
    assert_eq!(
        last,
        format!("{} passed, {} failed", passed.len(), failed.len())
    );
    let known = known_failures();
    let unexpected: Vec<_> = failed.difference(&known).collect();
    let fixed: Vec<_> = known.difference(&failed).collect();
    assert!(
        unexpected.is_empty(),
        "cases failing that are not in known-failures.txt: {unexpected:?}\n{stdout}"
    );
    assert!(
        fixed.is_empty(),
        "cases in known-failures.txt that now pass (remove them): {fixed:?}"
    );
    assert_eq!(output.status.success(), failed.is_empty());
}

#[test]
fn full_structures_match() {
    // `--full` compares the §9 properties (values, flags, traces), schemas
    // and execution context of check, eval and rotate.
    let output = Command::new(env!("CARGO_BIN_EXE_esc-conformance"))
        .arg("--full")
        .arg(fixtures())
        .output()
        .unwrap();
    let stdout = String::from_utf8(output.stdout).unwrap();
    let full_failures: Vec<_> = stdout
        .lines()
        .filter(|l| l.starts_with("FULL-FAIL "))
        .collect();
    assert!(full_failures.is_empty(), "{full_failures:#?}");
    let summary = stdout.lines().find(|l| l.starts_with("full: ")).unwrap();
    assert!(summary.ends_with(" passed, 0 failed"), "{summary}");
}
