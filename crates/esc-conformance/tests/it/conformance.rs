//! The fixture suite: every case passes except those listed (with a reason)
//! in `known-failures.txt` (values level: `<case> <reason>`; `--full` only:
//! `full <case> <reason>`); a listed case that passes fails these tests so
//! the list stays honest.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::Command;

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/conformance/esc-eval")
}

/// The listed cases: values level (`full == false`) or `--full` only.
fn known_failures(full: bool) -> BTreeSet<String> {
    let text = std::fs::read_to_string(
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("known-failures.txt"),
    )
    .unwrap();
    let mut cases = BTreeSet::new();
    for line in text.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let mut words = line.split_whitespace();
        let first = words.next().unwrap();
        let (case, is_full) = if first == "full" {
            (words.next().expect("full needs a case name"), true)
        } else {
            (first, false)
        };
        assert!(
            words.next().is_some(),
            "known failure without a reason: {line}"
        );
        if is_full == full {
            cases.insert(case.to_string());
        }
    }
    cases
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
    let known = known_failures(false);
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
    // `--full` compares the whole §9 structures of check, eval and rotate
    // (exprs, properties with flags and traces, schemas, execution
    // context) and the patch replacements as §9 Values.
    let output = Command::new(env!("CARGO_BIN_EXE_esc-conformance"))
        .arg("--full")
        .arg(fixtures())
        .output()
        .unwrap();
    let stdout = String::from_utf8(output.stdout).unwrap();
    let full_failed: BTreeSet<String> = stdout
        .lines()
        .filter_map(|l| l.strip_prefix("FULL-FAIL "))
        .map(|rest| rest.split(':').next().unwrap().to_string())
        .collect();
    let known = known_failures(true);
    let unexpected: Vec<_> = full_failed.difference(&known).collect();
    let fixed: Vec<_> = known.difference(&full_failed).collect();
    assert!(
        unexpected.is_empty(),
        "--full failures not in known-failures.txt: {unexpected:?}\n{stdout}"
    );
    assert!(
        fixed.is_empty(),
        "--full cases in known-failures.txt that now pass (remove them): {fixed:?}"
    );
    let n_cases = stdout
        .lines()
        .filter(|l| l.starts_with("PASS ") || l.starts_with("FAIL "))
        .count();
    assert!(n_cases >= 38, "too few cases ran:\n{stdout}");
    let summary = stdout.lines().find(|l| l.starts_with("full: ")).unwrap();
    assert_eq!(
        summary,
        format!(
            "full: {} passed, {} failed",
            n_cases - full_failed.len(),
            full_failed.len()
        )
    );
    // The parts: a case failing only in its patch values reports its first
    // difference under `rotatePatches`.
    let n_patch_only = stdout
        .lines()
        .filter_map(|l| l.strip_prefix("FULL-FAIL "))
        .filter(|l| l.contains(": rotatePatches"))
        .count();
    let n_structures_failed = full_failed.len() - n_patch_only;
    let parts = stdout
        .lines()
        .find(|l| l.starts_with("full parts: "))
        .unwrap();
    let expected_prefix = format!(
        "full parts: structures {} passed, {n_structures_failed} failed; patch values ",
        n_cases - n_structures_failed
    );
    assert!(parts.starts_with(&expected_prefix), "{parts}");
}

#[test]
fn full_structures_carry_exprs() {
    // Guard against `--full` silently comparing nothing: exprs are built
    // and differ from the expected ones when a range is off. The case
    // `interp` passes in full, so a changed copy of its expected output
    // must fail.
    let case = fixtures().join("interp");
    let scratch = tempdir_in_target("interp");
    for entry in std::fs::read_dir(&case).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, scratch.join(path.file_name().unwrap())).unwrap();
    }
    let expected = std::fs::read_to_string(scratch.join("expected.json")).unwrap();
    // `a.q`'s literal starts at column 8 of line 4; move it in `exprs` only
    // (properties trace it too, with the same text: change one occurrence).
    let needle = r#""symbol": ["#;
    assert!(expected.contains(needle));
    let changed = expected.replacen(needle, r#""symbol": [ {"key": "x"},"#, 1);
    std::fs::write(scratch.join("expected.json"), changed).unwrap();
    let parent = scratch.parent().unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_esc-conformance"))
        .arg("--full")
        .arg(parent)
        .output()
        .unwrap();
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert!(stdout.contains("PASS interp"), "{stdout}");
    let full_fail = stdout
        .lines()
        .find(|l| l.starts_with("FULL-FAIL interp: "))
        .unwrap_or_else(|| panic!("changed exprs not detected:\n{stdout}"));
    assert!(full_fail.contains(".exprs."), "{full_fail}");
    std::fs::remove_dir_all(parent).unwrap();
}

/// A fresh directory `target/tmp/esc-conformance-<n>/<case>`.
fn tempdir_in_target(case: &str) -> PathBuf {
    let base = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let dir = base
        .join(format!("esc-conformance-{}", std::process::id()))
        .join(case);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
