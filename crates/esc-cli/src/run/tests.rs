//! Tests of `esc run` with real child processes (`/bin/sh`).

use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use esc_eval::PlainValue;

use super::*;

/// An `AsyncWrite` collecting into a shared buffer.
#[derive(Clone, Default)]
struct SharedBuf(Arc<Mutex<Vec<u8>>>);

impl SharedBuf {
    fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
    }
}

impl tokio::io::AsyncWrite for SharedBuf {
    fn poll_write(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Poll::Ready(Ok(buf.len()))
    }
    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

/// The `run.yaml` golden environment, as an open returns it.
fn golden_root() -> Value {
    let PlainValue::Object(map) = PlainValue::from_json(
        r#"{"secret":{"value":"hunter2","secret":true},"plain":{"value":"plaintext"},
            "environmentVariables":{"value":{"SECRET":{"value":"hunter2","secret":true},
               "PLAIN":{"value":"plaintext"},"BOOL":{"value":true},"NUM":{"value":3.14}}},
            "files":{"value":{"FILE":{"value":"export F_SECRET=hunter2\nexport F_PLAIN=plaintext\n","secret":true},
               "BOOL_FILE":{"value":true},"NUM_FILE":{"value":3.14}}}}"#,
    )
    .unwrap() else {
        panic!("not an object")
    };
    Value::root_from_wire(&map).unwrap()
}

struct Captured {
    ending: Ending,
    stdout: String,
    stderr: String,
}

async fn run_sh(script: &str, mask: bool, temp_dir: &Path) -> Captured {
    let args = vec!["-c".to_string(), script.to_string()];
    let plan = plan(
        &golden_root(),
        PathBuf::from("/bin/sh"),
        &args,
        mask,
        temp_dir.to_path_buf(),
    );
    let (stdout, stderr) = (SharedBuf::default(), SharedBuf::default());
    let masker = Masker::new(if mask { &plan.secrets } else { &[] });
    let output = Output::Pipe {
        stdout: Box::new(stdout.clone()),
        stderr: Box::new(stderr.clone()),
        masker,
    };
    let ending = execute_with(plan, output).await.unwrap();
    Captured {
        ending,
        stdout: stdout.text(),
        stderr: stderr.text(),
    }
}

fn n_files(dir: &Path) -> usize {
    std::fs::read_dir(dir).unwrap().count()
}

#[tokio::test]
async fn golden_dump_env_is_masked() {
    let dir = tempfile::tempdir().unwrap();
    let got = run_sh(
        r#"echo "secret: $SECRET, plain: $PLAIN, bool: $BOOL, num: $NUM"; . "$FILE"; echo "f: $F_SECRET $F_PLAIN" >&2; printf 'tail hunter2'"#,
        true,
        dir.path(),
    )
    .await;
    assert_eq!(got.ending, Ending::Exited(0));
    assert_eq!(
        got.stdout,
        "secret: [secret], plain: plaintext, bool: true, num: 3.14\ntail [secret]"
    );
    assert_eq!(got.stderr, "f: [secret] plaintext\n");
}

#[tokio::test]
async fn unmasked_output_shows_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let got = run_sh(r#"echo "$SECRET""#, false, dir.path()).await;
    assert_eq!(got.stdout, "hunter2\n");
}

#[tokio::test]
async fn a_failing_child_exits_one_and_files_are_removed() {
    let dir = tempfile::tempdir().unwrap();
    let got = run_sh(
        r#"test -f "$FILE" && test "$(stat -c %a "$FILE")" = 600 && echo present; cat "$NUM_FILE"; echo; exit 7"#,
        true,
        dir.path(),
    )
    .await;
    assert_eq!(got.stdout, "present\n3.14\n");
    assert_eq!(got.ending, Ending::Exited(7));
    assert_eq!(got.ending.exit_code(), 1);
    assert_eq!(got.ending.error_text().as_deref(), Some("exit status 7"));
    assert_eq!(n_files(dir.path()), 0, "temp files left behind");
}

#[tokio::test]
async fn files_are_removed_when_the_child_is_killed() {
    let dir = tempfile::tempdir().unwrap();
    let got = run_sh(
        r#"ls "$(dirname "$FILE")" | wc -l; kill -9 $$"#,
        true,
        dir.path(),
    )
    .await;
    assert_eq!(
        got.stdout.trim(),
        "3",
        "the three files exist while it runs"
    );
    assert_eq!(got.ending, Ending::Signaled(9));
    assert_eq!(got.ending.exit_code(), 1);
    assert_eq!(got.ending.error_text().as_deref(), Some("signal: killed"));
    assert_eq!(n_files(dir.path()), 0, "temp files left behind");
}

#[test]
fn interpolation_of_arguments() {
    let root = golden_root();
    let mut secrets = Vec::new();
    assert_eq!(
        interpolate("secret: ${secret}, plain: ${plain}", &root, &mut secrets),
        "secret: hunter2, plain: plaintext"
    );
    assert_eq!(secrets, vec!["hunter2".to_string()]);
    let mut none = Vec::new();
    assert_eq!(
        interpolate("$${plain} ${missing} $x", &root, &mut none),
        "${plain}  $x"
    );
    assert_eq!(interpolate("${unclosed", &root, &mut none), "${unclosed");
    assert!(none.is_empty());
}

#[test]
fn masking_rules() {
    let m = Masker::new(&["hunter2".into(), "ab".into(), "hunter22".into()]);
    assert_eq!(
        m.mask(b"x hunter22 hunter2 ab\n"),
        b"x [secret] [secret] ab\n".to_vec()
    );
}

#[test]
fn multi_line_and_escaped_secrets_are_masked() {
    let m = Masker::new(&[
        "line-one\r\nline-two\nx".into(),
        "SEK\"RET\\7-é".into(),
        "ctl\u{1}".into(),
    ]);
    // output is masked a line at a time: each line of the secret is caught
    assert_eq!(m.mask(b"a line-one\r\n"), b"a [secret]\r\n".to_vec());
    assert_eq!(m.mask(b"line-two\n"), b"[secret]\n".to_vec());
    assert_eq!(
        m.mask(b"x\n"),
        b"x\n".to_vec(),
        "a 1-byte line is not masked"
    );
    // Go-quoted once and twice (string forms of nested containers)
    assert_eq!(
        m.mask(r#"k="SEK\"RET\\7-é" "\"SEK\\\"RET\\\\7-é\"""#.as_bytes()),
        br#"k="[secret]" "\"[secret]\"""#.to_vec()
    );
    // Go quotes a control character as \x01, JSON as \u0001
    assert_eq!(
        m.mask(br#""ctl\x01" {"k":"ctl\u0001"}"#),
        br#""[secret]" {"k":"[secret]"}"#.to_vec()
    );
}

#[tokio::test]
async fn arguments_interpolating_containers_of_secrets_are_masked() {
    let PlainValue::Object(map) = PlainValue::from_json(
        r#"{"s":{"value":"SEK\"RET\\7","secret":true},
            "obj":{"value":{"k":{"value":"SEK\"RET\\7","secret":true},"n":{"value":1}}},
            "lst":{"value":[{"value":"SEK\"RET\\7","secret":true},{"value":"x"}]}}"#,
    )
    .unwrap() else {
        panic!("not an object")
    };
    let root = Value::root_from_wire(&map).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let args = ["echo".to_string(), "${obj} ${lst} ${s}".to_string()];
    let plan = plan(
        &root,
        PathBuf::from("/bin/sh"),
        &[
            "-c".to_string(),
            r#"printf '%s\n' "$1""#.to_string(),
            args[0].clone(),
            args[1].clone(),
        ],
        true,
        dir.path().to_path_buf(),
    );
    // what the child was given: the unredacted string forms
    assert_eq!(
        plan.args[3],
        r#""k"="SEK\"RET\\7","n"="1" "SEK\"RET\\7","x" SEK"RET\7"#
    );
    let (stdout, stderr) = (SharedBuf::default(), SharedBuf::default());
    let output = Output::Pipe {
        stdout: Box::new(stdout.clone()),
        stderr: Box::new(stderr.clone()),
        masker: Masker::new(&plan.secrets),
    };
    assert_eq!(execute_with(plan, output).await.unwrap(), Ending::Exited(0));
    assert_eq!(
        stdout.text(),
        "\"k\"=\"[secret]\",\"n\"=\"1\" \"[secret]\",\"x\" [secret]\n"
    );
}

#[test]
fn separator_detection() {
    let raw = |s: &str| s.split(' ').map(OsString::from).collect::<Vec<_>>();
    assert!(separator_first(&raw("esc run -- pulumi preview")));
    assert!(separator_first(&raw("esc env run -i -l 1h -- x")));
    assert!(!separator_first(&raw("esc run dev -- x")));
    assert!(!separator_first(&raw("esc run dev x")));
}

#[test]
fn program_resolution() {
    assert_eq!(resolve_program("sh").unwrap().file_name().unwrap(), "sh");
    let err = resolve_program("no-such-program-esc")
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        "exec: \"no-such-program-esc\": executable file not found in $PATH"
    );
}

#[test]
fn signal_names_are_gos() {
    assert_eq!(go_signal_name(1), "hangup");
    assert_eq!(go_signal_name(2), "interrupt");
    assert_eq!(go_signal_name(9), "killed");
    assert_eq!(go_signal_name(11), "segmentation fault");
    assert_eq!(go_signal_name(15), "terminated");
    assert_eq!(go_signal_name(31), "bad system call");
    assert_eq!(go_signal_name(34), "signal 34");
    assert_eq!(go_signal_name(0), "signal 0");
    assert_eq!(go_signal_name(-1), "signal -1");
    assert_eq!(Ending::Exited(0).error_text(), None);
    assert_eq!(Ending::Exited(0).exit_code(), 0);
    assert_eq!(Ending::Exited(255).exit_code(), 1);
}
