//! `esc run` with real child processes through the real binary.

use super::Esc;

const ENV: &str = "values:\n  secret:\n    fn::secret: hunter2\n  plain: plaintext\n  environmentVariables:\n    SECRET: ${secret}\n    PLAIN: ${plain}\n  files:\n    FILE: |\n      export F_SECRET=${secret}\n";

fn seeded() -> Esc {
    let esc = Esc::new();
    esc.init("default/test", ENV);
    esc
}

#[test]
fn secrets_are_masked_unless_interactive() {
    let esc = seeded();
    let script = r#"echo "secret: $SECRET, plain: $PLAIN"; . "$FILE"; echo "f: $F_SECRET" >&2"#;
    let out = esc
        .cmd()
        .args(["run", "default/test", "--", "sh", "-c", script])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "secret: [secret], plain: plaintext\n"
    );
    assert_eq!(String::from_utf8_lossy(&out.stderr), "f: [secret]\n");
    let out = esc
        .cmd()
        .args(["env", "run", "default/test", "-i", "--", "sh", "-c", script])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "secret: hunter2, plain: plaintext\n"
    );
    assert_eq!(String::from_utf8_lossy(&out.stderr), "f: hunter2\n");
    // golden run.yaml: interpolated arguments, output without a newline
    let out = esc
        .cmd()
        .args([
            "env",
            "run",
            "default/test",
            "echo",
            "secret: ${secret}, plain: ${plain}",
        ])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "secret: [secret], plain: plaintext\n"
    );
    let out = esc
        .cmd()
        .args(["env", "run", "default/test", "--", "printf", "hunter2"])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "[secret]");
}

#[test]
fn a_failing_child_is_exit_one_with_gos_error_text() {
    let esc = seeded();
    let out = esc
        .cmd()
        .args(["run", "default/test", "--", "sh", "-c", "exit 3"])
        .output()
        .unwrap();
    // spec/CLI.md 9.7: the child's code is not propagated
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "Error: exit status 3\n"
    );
    let out = esc
        .cmd()
        .args(["run", "default/test", "--", "sh", "-c", "kill -TERM $$"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "Error: signal: terminated\n"
    );
}

#[test]
fn temp_files_are_removed_after_exit_and_after_kill() {
    let esc = seeded();
    let tmp = tempfile::tempdir().unwrap();
    for script in [
        r#"cat "$FILE" >/dev/null && echo "$FILE""#,
        r#"echo "$FILE"; kill -KILL $$"#,
    ] {
        let out = esc
            .cmd()
            .env("TMPDIR", tmp.path())
            .args(["run", "-i", "default/test", "--", "sh", "-c", script])
            .output()
            .unwrap();
        let path = String::from_utf8_lossy(&out.stdout).trim().to_string();
        assert!(path.starts_with(tmp.path().to_str().unwrap()), "{path}");
        assert!(!std::path::Path::new(&path).exists(), "{path} left behind");
        assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), 0);
    }
}

#[test]
fn files_are_removed_when_esc_is_terminated() {
    let esc = seeded();
    let tmp = tempfile::tempdir().unwrap();
    let marker = tmp.path().join("started");
    let mut child = esc
        .std_cmd()
        .env("TMPDIR", tmp.path())
        .args(["run", "-i", "default/test", "--", "sh", "-c"])
        .arg(format!("touch {}; exec sleep 30", marker.display()))
        .spawn()
        .unwrap();
    // Bounded wait for the child to start.
    for _ in 0..200 {
        if marker.exists() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert!(marker.exists(), "the command did not start");
    std::fs::remove_file(&marker).unwrap();
    assert_eq!(
        std::fs::read_dir(tmp.path()).unwrap().count(),
        1,
        "the temp file exists while running"
    );
    let pid = i32::try_from(child.id()).unwrap();
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    let status = child.wait().unwrap();
    // the child, killed by the forwarded signal, is a failure: exit 1
    assert_eq!(status.code(), Some(1));
    assert_eq!(
        std::fs::read_dir(tmp.path()).unwrap().count(),
        0,
        "temp file left behind"
    );
}

#[test]
fn argument_errors() {
    let esc = seeded();
    assert_eq!(
        esc.fails(&["run", "--", "pulumi", "preview"]),
        "Error: no environment specified\n"
    );
    assert_eq!(
        esc.fails(&["run", "default/test"]),
        "Error: no command specified\n"
    );
    assert_eq!(
        esc.fails(&["run", "default/test", "--", "no-such-cmd-esc"]),
        "Error: resolving command: exec: \"no-such-cmd-esc\": executable file not found in $PATH\n"
    );
}
