//! The transcript runner itself: known-good golden transcripts pass, and a
//! transcript whose expected output is wrong fails.

const GOLDEN: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/conformance/esc-cli"
);

fn run_on(files: &[(&str, String)]) -> (bool, String) {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in files {
        std::fs::write(dir.path().join(format!("{name}.yaml")), text).unwrap();
    }
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_esc-cli-conformance"))
        .arg(dir.path())
        .output()
        .unwrap();
    (out.status.success(), String::from_utf8(out.stdout).unwrap())
}

fn golden(name: &str) -> (&str, String) {
    (
        name,
        std::fs::read_to_string(format!("{GOLDEN}/{name}.yaml")).unwrap(),
    )
}

#[test]
fn golden_transcripts_pass() {
    let (ok, out) = run_on(&[
        golden("open-yaml"),
        golden("open-shell"),
        golden("env-settings-get"),
        golden("run-no-env-error"),
    ]);
    assert!(ok, "{out}");
    assert!(out.ends_with("4 passed, 0 failed, 0 skipped\n"), "{out}");
    assert!(out.contains("PASS open-shell\n"), "{out}");
}

#[test]
fn a_wrong_expectation_fails() {
    let (_, text) = golden("open-yaml");
    // Change the expected stdout only (the seeded environment stays).
    let (header, outputs) = text.split_once("\n---\n").unwrap();
    let broken = format!(
        "{header}\n---\n{}",
        outputs.replace("hello: world", "hello: mars")
    );
    assert_ne!(broken, text);
    let (ok, out) = run_on(&[("open-yaml-broken", broken)]);
    assert!(!ok, "{out}");
    assert!(out.contains("FAIL open-yaml-broken\n"), "{out}");
    assert!(out.ends_with("0 passed, 1 failed, 0 skipped\n"), "{out}");
}
