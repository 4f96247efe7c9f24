//! The terminal experience of the real binary: the spinner of slow opens and
//! coloured severities appear on a pseudo-terminal (util-linux `script`
//! gives esc one) and never when stderr is a pipe or a file; misspelled
//! environment names and subcommands get "did you mean" hints, in local and
//! remote mode; long listings go through the pager on a terminal only, and
//! times print in the zone `TZ` names unless `--utc`.

use std::process::Command;
use std::time::Duration;

use axum::Router;
use axum::routing::post;

use super::Esc;

const OPT_IN: &str = "ESC_ALLOW_INSECURE_LOOPBACK_HTTP";
/// The first spinner frame of opening `test-user/app/slow`.
const FIRST_FRAME: &str = "\r⠋ opening test-user/app/slow…";
/// What erases the spinner's line.
const CLEAR_LINE: &str = "\r\x1b[2K";

/// An adapter on 127.0.0.1 that answers every call after 1.5 s (longer than
/// the spinner's 1 s delay); returns the runtime serving it and its URL.
fn slow_adapter() -> (tokio::runtime::Runtime, String) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    let app = Router::new().route(
        "/",
        post(|| async {
            tokio::time::sleep(Duration::from_millis(1500)).await;
            axum::Json(serde_json::json!({"value": "slow"}))
        }),
    );
    rt.spawn(async move { axum::serve(listener, app).await.unwrap() });
    (rt, url)
}

/// A home with `app/slow` (opens through the slow adapter) and `app/quick`.
fn home_with_slow_env(adapter_url: &str) -> Esc {
    let esc = Esc::new();
    esc.init(
        "app/slow",
        &format!(
            "values:\n  slow:\n    fn::open::external:\n      url: {adapter_url}\n      request: {{}}\n  environmentVariables:\n    SLOW: ${{slow.response.value}}\n"
        ),
    );
    esc.init("app/quick", "values:\n  a: 1\n");
    esc
}

/// `esc <args>` (plus `shell_suffix`, e.g. a redirection) run by `script`
/// on a pseudo-terminal with `TERM=xterm` and `vars`; everything the
/// terminal showed, with the terminal's `\r\n` turned back into `\n` where
/// it ends a line.
fn on_terminal(esc: &Esc, vars: &[(&str, &str)], args: &[&str], shell_suffix: &str) -> String {
    let esc_cmd = esc.std_cmd();
    let mut line = shell_quote(env!("CARGO_BIN_EXE_esc"));
    for arg in args {
        line.push(' ');
        line.push_str(&shell_quote(arg));
    }
    line.push_str(shell_suffix);
    let mut cmd = Command::new("script");
    cmd.args(["-qfec", &line, "/dev/null"])
        .env("SHELL", "/bin/sh")
        .env("TERM", "xterm")
        .env_remove("NO_COLOR")
        .env_remove(OPT_IN);
    for (name, value) in esc_cmd.get_envs() {
        match value {
            Some(value) => cmd.env(name, value),
            None => cmd.env_remove(name),
        };
    }
    for (name, value) in vars {
        cmd.env(name, value);
    }
    let out = cmd
        .output()
        .expect("util-linux `script` (Debian bsdutils) runs esc on a pseudo-terminal");
    String::from_utf8(out.stdout).unwrap().replace("\r\n", "\n")
}

fn shell_quote(word: &str) -> String {
    format!("'{}'", word.replace('\'', "'\\''"))
}

/// Run esc without a terminal: (stdout, stderr).
fn plain(esc: &Esc, vars: &[(&str, &str)], args: &[&str]) -> (String, String) {
    let mut cmd = esc.cmd();
    cmd.env("TERM", "xterm").env_remove("NO_COLOR");
    for (name, value) in vars {
        cmd.env(name, value);
    }
    let out = cmd.args(args).output().unwrap();
    (
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

#[test]
fn slow_opens_show_a_spinner_on_a_terminal_only_and_erase_it() {
    let (rt, adapter_url) = slow_adapter();
    let esc = home_with_slow_env(&adapter_url);
    let allow = [(OPT_IN, "1")];

    // no terminal: stdout is the value, stderr is empty
    let (stdout, stderr) = plain(&esc, &allow, &["open", "app/slow"]);
    let opened: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(opened["slow"]["response"]["value"], "slow", "{stdout}");
    assert_eq!(stderr, "");

    // a terminal: frames, erased before the output, which is the same bytes
    let shown = on_terminal(&esc, &allow, &["open", "app/slow"], "");
    assert!(shown.starts_with(FIRST_FRAME), "{shown:?}");
    assert!(
        shown.contains("\r⠙ opening test-user/app/slow…"),
        "{shown:?}"
    );
    let (spinner, after) = shown.rsplit_once(CLEAR_LINE).unwrap();
    assert!(!spinner.contains('{'), "{shown:?}");
    assert_eq!(after, stdout);

    // stderr to a file: nothing of the spinner anywhere
    let dir = tempfile::tempdir().unwrap();
    let stderr_file = dir.path().join("stderr");
    let suffix = format!(" 2>{}", shell_quote(stderr_file.to_str().unwrap()));
    let shown = on_terminal(&esc, &allow, &["open", "app/slow"], &suffix);
    assert_eq!(shown, stdout);
    assert_eq!(std::fs::read_to_string(&stderr_file).unwrap(), "");

    // TERM=dumb: no spinner
    let shown = on_terminal(
        &esc,
        &[(OPT_IN, "1"), ("TERM", "dumb")],
        &["open", "app/slow"],
        "",
    );
    assert_eq!(shown, stdout);

    // `esc run` spins while opening, then the command's output follows
    let shown = on_terminal(
        &esc,
        &allow,
        &["run", "app/slow", "-i", "--", "printenv", "SLOW"],
        "",
    );
    assert!(shown.starts_with(FIRST_FRAME), "{shown:?}");
    assert!(shown.ends_with(&format!("{CLEAR_LINE}slow\n")), "{shown:?}");
    let shown = on_terminal(
        &esc,
        &allow,
        &["env", "run", "app/slow", "--", "printenv", "SLOW"],
        "",
    );
    assert!(
        shown.ends_with(&format!("{CLEAR_LINE}[secret]\n")),
        "{shown:?}"
    );

    // quick opens never show it; on a loaded machine a "quick" open may
    // itself take the spinner's delay, and then the spinner is right to show
    let (quick, _) = plain(&esc, &[], &["open", "app/quick"]);
    let started = std::time::Instant::now();
    let shown = on_terminal(&esc, &[], &["open", "app/quick"], "");
    if started.elapsed() < std::time::Duration::from_millis(900) {
        assert_eq!(shown, quick);
    } else {
        let (_, after) = shown.rsplit_once(CLEAR_LINE).unwrap_or(("", &shown));
        assert_eq!(after, quick, "{shown:?}");
    }

    rt.shutdown_background();
}

#[test]
fn slow_rotations_show_a_spinner_on_a_terminal() {
    let (rt, adapter_url) = slow_adapter();
    let esc = Esc::new();
    esc.init(
        "app/rot",
        &format!(
            "values:\n  creds:\n    fn::rotate::external:\n      inputs:\n        url: {adapter_url}\n        request: {{}}\n"
        ),
    );
    let allow = [(OPT_IN, "1")];
    let shown = on_terminal(&esc, &allow, &["env", "rotate", "app/rot"], "");
    assert!(
        shown.starts_with("\r⠋ rotating test-user/app/rot…"),
        "{shown:?}"
    );
    let (_, after) = shown.rsplit_once(CLEAR_LINE).unwrap();
    assert!(
        after.starts_with("Environment 'app/rot' rotated.\nNew revision '"),
        "{shown:?}"
    );
    // no terminal: the same report, nothing on stderr
    let (stdout, stderr) = plain(&esc, &allow, &["env", "rotate", "app/rot"]);
    assert!(
        stdout.starts_with("Environment 'app/rot' rotated.\nNew revision '"),
        "{stdout}"
    );
    assert_eq!(stderr, "");
    rt.shutdown_background();
}

#[test]
fn severities_are_coloured_on_a_terminal_only() {
    let esc = Esc::new();
    let message = "opening environment: [404] environment 'test-user/app/none' not found\n";

    let shown = on_terminal(&esc, &[], &["open", "app/none"], "");
    assert_eq!(shown, format!("\x1b[1;31mError:\x1b[0m {message}"));

    let shown = on_terminal(&esc, &[("NO_COLOR", "1")], &["open", "app/none"], "");
    assert_eq!(shown, format!("Error: {message}"));
    let shown = on_terminal(&esc, &[("TERM", "dumb")], &["open", "app/none"], "");
    assert_eq!(shown, format!("Error: {message}"));

    let (stdout, stderr) = plain(&esc, &[], &["open", "app/none"]);
    assert_eq!((stdout.as_str(), stderr), ("", format!("Error: {message}")));

    // warnings too: an ambiguous `a/b` resolved to the legacy org reading
    esc.init("other/default/dev", "values:\n  a: 1\n");
    let shown = on_terminal(&esc, &[], &["env", "get", "other/dev"], "");
    assert!(
        shown.starts_with(
            "\x1b[1;33mwarning:\x1b[0m environment reference \"other/dev\" is ambiguous"
        ),
        "{shown:?}"
    );
    let (_, stderr) = plain(&esc, &[], &["env", "get", "other/dev"]);
    assert!(
        stderr.starts_with("warning: environment reference"),
        "{stderr:?}"
    );

    // and the severity of diagnostics (spec/CLI.md § 8.1)
    let bad = esc.home().join("bad.yaml");
    std::fs::write(&bad, "values:\n  a: ${nope}\n").unwrap();
    let shown = on_terminal(
        &esc,
        &[],
        &["env", "init", "app/bad", "-f", bad.to_str().unwrap()],
        "",
    );
    assert!(
        shown.contains(
            "\n\x1b[1;31mError:\x1b[0m unknown property \"nope\"\n\n  on app/bad line 2:\n"
        ),
        "{shown:?}"
    );
}

/// The hints of a misspelled name, given any esc (local or logged in).
fn check_environment_hints(esc: &Esc, org: &str) {
    for name in ["proj/dev", "proj/dev2", "proj/staging"] {
        esc.ok(&["env", "init", &format!("{org}/{name}")]);
    }
    esc.ok(&["env", "init", "elsewhere/proj/dva"]);

    // the error's line as without hints (the server's 404 text says
    // `Not Found: ` first), then the hint
    let stderr = esc.fails(&["open", &format!("{org}/proj/dve")]);
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 2, "{stderr}");
    assert!(
        lines[0].starts_with("Error: opening environment: [404] ")
            && lines[0].ends_with(&format!("environment '{org}/proj/dve' not found")),
        "{stderr}"
    );
    assert_eq!(
        lines[1],
        format!("Did you mean \"{org}/proj/dev\" or \"{org}/proj/dev2\"?")
    );
    let stderr = esc.fails(&["env", "get", &format!("{org}/proj/stagign")]);
    assert!(
        stderr.ends_with(&format!(
            "not found\nDid you mean \"{org}/proj/staging\"?\n"
        )),
        "{stderr}"
    );
    let stderr = esc.fails(&["run", &format!("{org}/proj/dve"), "--", "true"]);
    assert!(stderr.ends_with("\"?\n"), "{stderr}");
    // nothing close: the error alone
    let stderr = esc.fails(&["open", &format!("{org}/proj/production")]);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.starts_with("Error: "), "{stderr}");
    // only the same organization's names
    let stderr = esc.fails(&["open", "elsewhere/proj/dve"]);
    assert!(
        stderr.ends_with("Did you mean \"elsewhere/proj/dva\"?\n"),
        "{stderr}"
    );
    // a misspelled organization: the closest of all visible names
    let stderr = esc.fails(&["open", "elsewher/proj/dva"]);
    assert!(
        stderr.ends_with("\nDid you mean \"elsewhere/proj/dva\"?\n"),
        "{stderr}"
    );
    // the environment exists, its version does not: no hint
    let stderr = esc.fails(&["open", &format!("{org}/proj/dev@9")]);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
}

#[test]
fn misspelled_environment_names_get_hints_in_local_mode() {
    check_environment_hints(&Esc::new(), "test-user");
}

#[test]
fn misspelled_environment_names_get_hints_in_remote_mode() {
    let server = super::remote::start_server();
    let esc = Esc::new();
    esc.ok(&["login", &server.url, "--token", &server.token]);
    check_environment_hints(&esc, "alice");
}

#[test]
fn misspelled_subcommands_get_hints() {
    let esc = Esc::new();
    // cobra's first line (`unknown command "x" for "<path>"`), then the hint
    assert_eq!(
        esc.fails(&["opne", "app/dev"]),
        "Error: unknown command \"opne\" for \"esc\"\nDid you mean \"open\"?\n"
    );
    assert_eq!(
        esc.fails(&["env", "lss"]),
        "Error: unknown command \"lss\" for \"esc env\"\nDid you mean \"ls\"?\n"
    );
    // arguments a command does not take, worded as cobra's NoArgs and
    // MaximumNArgs checks
    assert_eq!(
        esc.fails(&["env", "ls", "-o", "acme", "extra"]),
        "Error: unknown command \"extra\" for \"esc env ls\"\n"
    );
    assert_eq!(
        esc.fails(&["login", "-c", "http://a", "b", "c"]),
        "Error: accepts at most 1 arg(s), received 2\n"
    );
    assert_eq!(
        esc.fails(&["logout", "a", "b"]),
        "Error: accepts at most 1 arg(s), received 2\n"
    );
    let stderr = esc.fails(&["qqqqqq"]);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
}

/// A home with `default/test` at revision 3, tagged `stable` at revision 2,
/// with the environment tag `owner: ops`.
fn home_with_history() -> Esc {
    let esc = Esc::new();
    esc.ok(&["env", "init", "default/test"]);
    esc.ok(&["env", "set", "default/test", "v", "one"]);
    esc.ok(&["env", "set", "default/test", "v", "two"]);
    esc.ok(&["env", "version", "tag", "default/test@stable", "@2"]);
    esc.ok(&["env", "tag", "default/test", "owner", "ops"]);
    esc
}

#[test]
fn listings_are_paged_on_a_terminal_only() {
    let esc = home_with_history();
    let pager = [("PAGER", "sed 's/^/paged: /'")];
    for args in [
        &["env", "version", "history", "default/test"][..],
        &["env", "version", "tag", "ls", "default/test"],
        &["env", "tag", "ls", "default/test"],
    ] {
        let (direct, _) = plain(&esc, &pager, args);
        assert!(
            !direct.is_empty() && !direct.contains("paged: "),
            "{args:?}: {direct}"
        );
        let paged = on_terminal(&esc, &pager, args, "");
        let expected: String = direct.lines().map(|l| format!("paged: {l}\n")).collect();
        assert_eq!(paged, expected, "{args:?}");
        // --pager wins over $PAGER
        let mut with_flag = args.to_vec();
        with_flag.extend(["--pager", "sed s/^/flag:/"]);
        let flagged = on_terminal(&esc, &pager, &with_flag, "");
        assert!(flagged.lines().all(|l| l.starts_with("flag:")), "{flagged}");
        // a pager that is not there: the text itself
        let missing = on_terminal(&esc, &[("PAGER", "no-such-pager-for-esc -x")], args, "");
        assert_eq!(missing, direct, "{args:?}");
        // JSON output is never paged
        let mut json = args.to_vec();
        json.extend(["--output", "json"]);
        let json_out = on_terminal(&esc, &pager, &json, "");
        assert!(
            json_out.starts_with('{') && !json_out.contains("paged: "),
            "{json_out}"
        );
    }
    // stdout redirected to a file on a terminal: not paged either
    let file = esc.home().join("history.txt");
    on_terminal(
        &esc,
        &pager,
        &["env", "version", "history", "default/test"],
        &format!(" > {}", shell_quote(&file.display().to_string())),
    );
    let written = std::fs::read_to_string(&file).unwrap();
    assert!(written.starts_with("revision 3"), "{written}");
}

/// `Date:` of the newest revision, as `env version` prints it with `vars`.
fn newest_date(esc: &Esc, vars: &[(&str, &str)], extra: &[&str]) -> String {
    let mut args = vec!["env", "version", "default/test@3"];
    args.extend(extra);
    let (out, err) = plain(esc, vars, &args);
    assert!(err.is_empty(), "{err}");
    out.lines()
        .find_map(|l| l.strip_prefix("Date:   "))
        .unwrap_or_else(|| panic!("no date in {out}"))
        .to_owned()
}

/// Minutes since midnight of a `2006-01-02 15:04:05 ...` time, and its day.
fn clock_minutes(time: &str) -> (String, i64) {
    let (day, rest) = time.split_once(' ').unwrap();
    let hour: i64 = rest[0..2].parse().unwrap();
    let minute: i64 = rest[3..5].parse().unwrap();
    (day.to_owned(), hour * 60 + minute)
}

#[test]
fn times_print_in_the_tz_zone_unless_utc() {
    let esc = home_with_history();
    let utc = newest_date(&esc, &[("TZ", "UTC")], &[]);
    assert!(utc.ends_with(" +0000 UTC"), "{utc}");
    // Go's rules: empty TZ and unknown zones are UTC
    assert!(newest_date(&esc, &[("TZ", "")], &[]).ends_with(" +0000 UTC"));
    assert!(newest_date(&esc, &[("TZ", "Nowhere/Atlantis")], &[]).ends_with(" +0000 UTC"));
    // India has one offset all year: +05:30
    for tz in [
        "Asia/Kolkata",
        ":Asia/Kolkata",
        "/usr/share/zoneinfo/Asia/Kolkata",
    ] {
        let local = newest_date(&esc, &[("TZ", tz)], &[]);
        assert!(local.ends_with(" +0530 IST"), "{tz}: {local}");
        let ((utc_day, utc_minutes), (local_day, local_minutes)) =
            (clock_minutes(&utc), clock_minutes(&local));
        let shifted = if utc_day == local_day {
            local_minutes
        } else {
            local_minutes + 24 * 60
        };
        assert_eq!(shifted - utc_minutes, 5 * 60 + 30, "{utc} / {local}");
        assert_eq!(newest_date(&esc, &[("TZ", tz)], &["--utc"]), utc);
    }
    let history = plain(
        &esc,
        &[("TZ", "Asia/Kolkata")],
        &["env", "version", "history", "default/test"],
    )
    .0;
    assert_eq!(history.matches(" +0530 IST\n").count(), 3, "{history}");
    let history = plain(
        &esc,
        &[("TZ", "Asia/Kolkata")],
        &["env", "version", "history", "default/test", "--utc"],
    )
    .0;
    assert_eq!(history.matches(" +0000 UTC\n").count(), 3, "{history}");
    // tag blocks and tables, and tag JSON (RFC 3339 with the offset)
    let kolkata = [("TZ", "Asia/Kolkata")];
    let tag = plain(
        &esc,
        &kolkata,
        &["env", "tag", "get", "default/test", "owner"],
    )
    .0;
    assert!(
        tag.contains(" +0530 IST by test-user <test-user>\n"),
        "{tag}"
    );
    let tag = plain(
        &esc,
        &kolkata,
        &["env", "tag", "get", "default/test", "owner", "--utc"],
    )
    .0;
    assert!(
        tag.contains(" +0000 UTC by test-user <test-user>\n"),
        "{tag}"
    );
    let json = plain(
        &esc,
        &kolkata,
        &[
            "env",
            "tag",
            "get",
            "default/test",
            "owner",
            "--output",
            "json",
        ],
    )
    .0;
    assert!(json.contains("+05:30\","), "{json}");
    let json = plain(
        &esc,
        &kolkata,
        &[
            "env",
            "tag",
            "get",
            "default/test",
            "owner",
            "--output",
            "json",
            "--utc",
        ],
    )
    .0;
    assert!(json.contains("Z\","), "{json}");
    let table = plain(
        &esc,
        &kolkata,
        &["env", "version", "tag", "ls", "default/test"],
    )
    .0;
    assert!(table.contains(" +0530 IST │"), "{table}");
}
