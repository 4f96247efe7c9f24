//! The direnv pattern: `esc open "$ESC_ENV" --format shell > FILE 2>&1`,
//! then `eval` the file, run by a real shell.

use super::Esc;

fn bash(esc: &Esc, env: &str, work: &std::path::Path) -> std::process::Output {
    let script = r#"
set -u
if ! esc open "$ESC_ENV" --format shell > "$OUT" 2>&1; then
  echo "open failed: $(cat "$OUT")"
  exit 42
fi
eval "$(cat "$OUT")"
printf '%s|%s|%s\n' "$GREETING" "$QUOTED" "$(cat "$CONFIG_FILE")"
"#;
    let esc_dir = std::path::Path::new(env!("CARGO_BIN_EXE_esc"))
        .parent()
        .unwrap();
    let path = format!(
        "{}:{}",
        esc_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    std::process::Command::new("bash")
        .arg("-c")
        .arg(script)
        .env("PATH", path)
        .env("ESC_HOME", esc.home())
        .env("ESC_USER", "test-user")
        .env("ESC_ENV", env)
        .env("OUT", work.join("env.sh"))
        .env("TMPDIR", work)
        .output()
        .unwrap()
}

#[test]
fn shell_output_evaluates_in_bash() {
    let esc = Esc::new();
    esc.init(
        "default/app",
        "values:\n  environmentVariables:\n    GREETING: hello world\n    QUOTED: \"it's \\\"quoted\\\" \\\\ back\"\n  files:\n    CONFIG_FILE: \"line1\\nline2\"\n",
    );
    let work = tempfile::tempdir().unwrap();
    let out = bash(&esc, "default/app", work.path());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "hello world|it's \"quoted\" \\ back|line1\nline2\n"
    );
}

#[test]
fn failure_to_open_is_a_nonzero_exit() {
    let esc = Esc::new();
    let work = tempfile::tempdir().unwrap();
    let out = bash(&esc, "default/missing", work.path());
    assert_eq!(out.status.code(), Some(42));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.starts_with("open failed: Error: "), "{stdout}");
}
