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

/// Every golden transcript either passes, is skipped by the runner with a
/// reason (`conformance-skip.txt`), or is listed as known to fail
/// (`conformance-known-failures.txt`); a listed transcript that starts
/// passing fails this test too, so the list stays true.
#[test]
fn every_golden_transcript_passes_or_is_a_listed_failure() {
    let listed_text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/conformance-known-failures.txt"
    ))
    .unwrap();
    let listed: std::collections::BTreeSet<&str> = listed_text
        .lines()
        .filter(|line| !line.trim().is_empty() && !line.starts_with('#'))
        .map(|line| line.split(':').next().unwrap().trim())
        .collect();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_esc-cli-conformance"))
        .arg(GOLDEN)
        .output()
        .unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    let mut failed = std::collections::BTreeSet::new();
    let mut passed = std::collections::BTreeSet::new();
    for line in stdout.lines() {
        if let Some(rest) = line.strip_prefix("FAIL ") {
            failed.insert(rest.split(':').next().unwrap().trim().to_owned());
        } else if let Some(rest) = line.strip_prefix("PASS ") {
            passed.insert(rest.trim().to_owned());
        }
    }
    assert!(!passed.is_empty(), "no transcript passed:\n{stdout}");
    let unexpected: Vec<_> = failed
        .iter()
        .filter(|name| !listed.contains(name.as_str()))
        .collect();
    let now_passing: Vec<_> = listed
        .iter()
        .filter(|name| passed.contains(**name))
        .collect();
    let unknown: Vec<_> = listed
        .iter()
        .filter(|name| !passed.contains(**name) && !failed.contains(**name))
        .collect();
    assert!(
        unexpected.is_empty() && now_passing.is_empty() && unknown.is_empty(),
        "failing but not listed: {unexpected:?}\nlisted but passing (remove them): {now_passing:?}\nlisted but not run: {unknown:?}\n{stdout}"
    );
    eprintln!(
        "esc-cli conformance: {}",
        stdout.lines().last().unwrap_or("")
    );
}

/// The runner emulates the reference's fake where the goldens show it: an
/// opened environment is evaluated under its bare name (`test`, in the
/// traces of `open -f detailed`), and a retraction without
/// `--replace-with` is reported as replaced with revision 42.
#[test]
fn the_fake_names_opened_environments_bare_and_reports_replacement_42() {
    let detailed = r#"run: esc open default/test --format detailed
environments:
  test-user/default/test:
    imports:
      - test-2
    values:
      foo: bar
  test-user/default/test-2:
    values:
      foo: baz

---
> esc open default/test --format detailed
{
  "value": {
    "foo": {
      "value": "bar",
      "trace": {
        "def": {
          "environment": "test",
          "begin": {
            "line": 4,
            "column": 10,
            "byte": 39
          },
          "end": {
            "line": 4,
            "column": 13,
            "byte": 42
          }
        },
        "base": {
          "value": "baz",
          "trace": {
            "def": {
              "environment": "test-2",
              "begin": {
                "line": 2,
                "column": 10,
                "byte": 17
              },
              "end": {
                "line": 2,
                "column": 13,
                "byte": 20
              }
            }
          }
        }
      }
    }
  },
  "trace": {
    "def": {
      "begin": {
        "line": 0,
        "column": 0,
        "byte": 0
      },
      "end": {
        "line": 0,
        "column": 0,
        "byte": 0
      }
    }
  }
}

---
> esc open default/test --format detailed
"#;
    let retract = r#"run: |
  esc env version retract default/test@2 --reason "by hand"
  esc env version history default/test --utc
environments:
  test-user/default/test:
    revisions:
      - yaml:
          values:
            a: 1
      - yaml:
          vaues:
            b: 2

---
> esc env version retract default/test@2 --reason by hand
> esc env version history default/test --utc
revision 3
Author: Test Tester <test-tester>
Date:   1970-01-01 03:00:00 +0000 UTC

revision 2 (retracted)
Author: Test Tester <test-tester>
Date:   1970-01-01 02:00:00 +0000 UTC

    Retracted by Test Tester <test-tester> at 1970-01-01 02:00:00 +0000 UTC and replaced with revision 42.

    by hand

revision 1
Author: Test Tester <test-tester>
Date:   1970-01-01 01:00:00 +0000 UTC


---
> esc env version retract default/test@2 --reason by hand
> esc env version history default/test --utc
"#;
    let (ok, out) = run_on(&[
        ("open-detailed-bare", detailed.to_owned()),
        ("retract-default-42", retract.to_owned()),
    ]);
    assert!(ok, "{out}");
    assert!(out.ends_with("2 passed, 0 failed, 0 skipped\n"), "{out}");
}
