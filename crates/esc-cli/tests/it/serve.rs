//! `esc serve`'s scheduler and key-maintenance flags, on the real binary
//! run as a child process: `--help` explains them, bad values are refused
//! with a message naming the flag (non-zero exit, nothing served), and
//! good values reach the server (its start log, and a schedule run within
//! the interval given).

use std::io::BufRead as _;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use super::Esc;

/// A running `esc serve` (killed on drop).
struct Server {
    child: Child,
    url: String,
    token: String,
    /// The server's stderr lines so far (its log).
    log: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
    _home: Esc,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `esc serve --listen 127.0.0.1:0 --admin alice ARGS`, logging at info.
fn start(args: &[&str]) -> Server {
    start_under(None, args)
}

/// [`start`], run by `wrapper` (a program and its arguments, given esc's
/// path and arguments last) if any.
fn start_under(wrapper: Option<&[&str]>, args: &[&str]) -> Server {
    let home = Esc::new();
    let mut command = home.std_cmd();
    if let Some((program, wrapper_args)) = wrapper.and_then(|w| w.split_first()) {
        let esc = command.get_program().to_owned();
        let mut wrapped = std::process::Command::new(program);
        for (key, value) in command.get_envs() {
            match value {
                Some(value) => wrapped.env(key, value),
                None => wrapped.env_remove(key),
            };
        }
        wrapped.args(wrapper_args).arg(esc);
        command = wrapped;
    }
    let mut child = command
        .args(["serve", "--listen", "127.0.0.1:0", "--admin", "alice"])
        .args(args)
        .env("ESC_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let stderr = child.stderr.take().unwrap();
    let log = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let lines = log.clone();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stderr).lines() {
            let Ok(line) = line else { return };
            lines.lock().unwrap().push(line);
        }
    });
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = std::io::BufReader::new(stdout).read_line(&mut line);
        let _ = tx.send(line);
    });
    let line = rx
        .recv_timeout(Duration::from_secs(60))
        .expect("server did not start");
    let words: Vec<&str> = line.split_whitespace().collect();
    assert_eq!(words.len(), 5, "unexpected first line: {line}");
    Server {
        url: words[2].to_owned(),
        token: words[4].to_owned(),
        child,
        log,
        _home: home,
    }
}

impl Server {
    /// The first log line containing `needle`, waiting at most 20 s.
    fn log_line(&self, needle: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(line) = self.log.lock().unwrap().iter().find(|l| l.contains(needle)) {
                return line.clone();
            }
            assert!(Instant::now() < deadline, "no log line with {needle:?}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

#[test]
fn help_explains_the_scheduler_and_key_flags() {
    let esc = Esc::new();
    let help = esc.ok(&["serve", "--help"]);
    for expected in [
        "--schedule-interval <DURATION>",
        "How often the server looks for due rotation schedules",
        "(1s to 24h)",
        "[default: 30s]",
        "--schedules-per-tick <N>",
        "The most rotation schedules run per look (1 to 10000)",
        "[default: 16]",
        "--key-maintenance-interval <DURATION>",
        "How often the OIDC signing keys' rotation rules run",
        "[default: 5m]",
    ] {
        let flat = help.split_whitespace().collect::<Vec<_>>().join(" ");
        assert!(flat.contains(expected), "{expected:?} not in:\n{help}");
    }
}

#[test]
fn bad_values_are_refused_before_anything_starts() {
    for (args, message) in [
        (
            ["--schedule-interval", "0s"],
            "Error: invalid value '0s' for '--schedule-interval <DURATION>': must be from 1s to 24h",
        ),
        (
            ["--schedule-interval", "500ms"],
            "Error: invalid value '500ms' for '--schedule-interval <DURATION>': must be from 1s to 24h",
        ),
        (
            ["--schedule-interval", "25h"],
            "Error: invalid value '25h' for '--schedule-interval <DURATION>': must be from 1s to 24h",
        ),
        (
            ["--schedule-interval", "30"],
            "Error: invalid value '30' for '--schedule-interval <DURATION>': invalid duration \"30\": use a duration such as 30s, 5m or 1h",
        ),
        (
            ["--schedule-interval=-5s", "--schedules-per-tick=16"],
            "Error: invalid value '-5s' for '--schedule-interval <DURATION>': invalid duration \"-5s\": use a duration such as 30s, 5m or 1h",
        ),
        (
            ["--schedules-per-tick", "0"],
            "Error: invalid value '0' for '--schedules-per-tick <N>': 0 is not in 1..=10000",
        ),
        (
            ["--schedules-per-tick", "many"],
            "Error: invalid value 'many' for '--schedules-per-tick <N>': invalid digit found in string",
        ),
        (
            ["--key-maintenance-interval", "2h"],
            "Error: invalid value '2h' for '--key-maintenance-interval <DURATION>': must be from 1s to 1h",
        ),
        (
            ["--key-maintenance-interval", "soon"],
            "Error: invalid value 'soon' for '--key-maintenance-interval <DURATION>': invalid duration \"soon\": use a duration such as 30s, 5m or 1h",
        ),
    ] {
        let esc = Esc::new();
        let started = Instant::now();
        let out = esc
            .cmd()
            .args(["serve", "--listen", "127.0.0.1:0"])
            .args(args)
            .timeout(Duration::from_secs(30))
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        assert!(started.elapsed() < Duration::from_secs(20), "{args:?}");
        assert_eq!(String::from_utf8_lossy(&out.stdout), "", "{args:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(stderr.lines().next(), Some(message), "{stderr}");
        // refused before the store was opened
        assert!(!esc.home().join("server").exists(), "{args:?}");
    }
}

#[test]
fn the_values_given_reach_the_server() {
    let server = start(&[
        "--schedule-interval",
        "1s",
        "--schedules-per-tick",
        "3",
        "--key-maintenance-interval",
        "90s",
    ]);
    let line = server.log_line("esc server listening");
    for expected in [
        "schedule_interval=1s",
        "schedules_per_tick=3",
        "key_maintenance_interval=90s",
    ] {
        assert!(line.contains(expected), "{expected} not in {line}");
    }

    // a one-time schedule due in 5 s runs within a few seconds of that (the
    // default interval of 30 s would leave it waiting); 5 s: creating it
    // takes separate processes, slow on a loaded machine, and a one-time
    // schedule must still be in the future then
    let esc = Esc::new();
    esc.ok(&["login", &server.url, "--token", &server.token]);
    let env = "alice/default/sched";
    esc.ok(&["env", "init", env]);
    let due = in_seconds(5);
    esc.ok(&["env", "schedule", "new", env, "--once", &due]);
    let listed: serde_json::Value =
        serde_json::from_str(&esc.ok(&["env", "schedule", "list", env, "--output", "json"]))
            .unwrap();
    let id = listed[0]["id"].as_str().unwrap().to_owned();
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let history: serde_json::Value = serde_json::from_str(
            &esc.ok(&["env", "schedule", "history", env, &id, "--output", "json"]),
        )
        .unwrap();
        if history.as_array().is_some_and(|runs| !runs.is_empty()) {
            assert_eq!(history[0]["result"], "succeeded", "{history}");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the schedule due at {due} did not run with --schedule-interval 1s"
        );
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// RFC 3339 `seconds` from now.
fn in_seconds(seconds: i64) -> String {
    esc_store::Timestamp::from_unix_millis(
        esc_store::Timestamp::now().unix_millis() + seconds * 1000,
    )
    .rfc3339()
}

/// A log written to a pipe or a file is plain text: no colour escapes.
#[test]
fn the_log_to_a_non_terminal_has_no_colour() {
    let server = start(&[]);
    server.log_line("esc server listening");
    let log = server.log.lock().unwrap();
    assert!(!log.is_empty());
    for line in log.iter() {
        assert!(!line.contains('\u{1b}'), "escape sequence in {line:?}");
    }
}

/// `esc serve` runs a worker thread per core it may use (other commands
/// keep two): under `taskset -c 0`, one.
#[test]
fn serve_runs_a_worker_per_core_it_may_use() {
    let server = start_under(Some(&["taskset", "-c", "0"]), &[]);
    let line = server.log_line("esc server listening");
    assert!(line.contains("workers=1"), "{line}");
    let server = start(&[]);
    let line = server.log_line("esc server listening");
    let cores = std::thread::available_parallelism().unwrap().get();
    assert!(line.contains(&format!("workers={cores}")), "{line}");
}
