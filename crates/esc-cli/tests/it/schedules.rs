//! `esc env schedule …` in local mode (including a due schedule running on
//! the next invocation) and against a real `esc serve`.

use super::Esc;
use super::remote::start_server;

const ENV: &str = "test-user/default/sched";

/// The id of the only schedule of `env`, from `list --output json`.
fn only_id(esc: &Esc, env: &str) -> String {
    let listed: serde_json::Value =
        serde_json::from_str(&esc.ok(&["env", "schedule", "list", env, "--output", "json"]))
            .unwrap();
    let items = listed.as_array().unwrap();
    assert_eq!(items.len(), 1, "{listed}");
    items[0]["id"].as_str().unwrap().to_owned()
}

/// RFC 3339 `seconds` from now.
fn in_seconds(seconds: i64) -> String {
    esc_store::Timestamp::from_unix_millis(
        esc_store::Timestamp::now().unix_millis() + seconds * 1000,
    )
    .rfc3339()
}

/// The commands' texts and refusals, then the schedule gone.
fn manage(esc: &Esc, env: &str) {
    assert_eq!(
        esc.fails(&["env", "schedule", "new", env]),
        "Error: exactly one of --cron or --once must be set\n"
    );
    assert_eq!(
        esc.fails(&[
            "env",
            "schedule",
            "new",
            env,
            "--cron",
            "0 0 * * *",
            "--once",
            &in_seconds(60)
        ]),
        "Error: only one of --cron or --once may be set\n"
    );
    assert_eq!(
        esc.fails(&[
            "env",
            "schedule",
            "new",
            env,
            "--once",
            "2020-01-01T00:00:00Z"
        ]),
        "Error: --once must be in the future\n"
    );
    assert!(
        esc.fails(&["env", "schedule", "new", env, "--once", "tomorrow"])
            .starts_with("Error: invalid --once \"tomorrow\": must be an RFC 3339 time")
    );
    let refused = esc.fails(&["env", "schedule", "new", env, "--cron", "*/5 * * * *"]);
    assert!(
        refused.starts_with("Error: creating schedule: [400] ")
            && refused.contains("more than once a day"),
        "{refused}"
    );
    // nothing was created by the refusals
    assert_eq!(esc.ok(&["env", "schedule", "list", env]), "");

    let created = esc.ok(&["env", "schedule", "new", env, "--cron", "0 0 * * *"]);
    let id = only_id(esc, env);
    assert_eq!(created, format!("Created schedule {id} for {env}\n"));
    assert_eq!(
        esc.fails(&["env", "schedule", "new", env, "--cron", "0 1 * * *"]),
        format!(
            "Error: environment {env} already has a schedule ({id}); only one schedule per environment is currently supported\n"
        )
    );
    let got = esc.ok(&["env", "schedule", "get", env, &id, "--utc"]);
    let lines: Vec<&str> = got.lines().collect();
    assert_eq!(lines[0], format!("ID: {id}"));
    assert_eq!(lines[1], "Kind: environment_rotation");
    assert_eq!(lines[2], "Schedule: 0 0 * * *");
    assert!(
        lines[3].starts_with("Next execution: ") && lines[3].ends_with("T00:00:00Z"),
        "{got}"
    );
    assert_eq!(lines[4], "Last executed: never");
    assert_eq!(lines.len(), 5, "{got}");
    // without --utc: the local zone (UTC-5 here, all year)
    let local = esc
        .cmd()
        .env("TZ", "Etc/GMT+5")
        .args(["env", "schedule", "get", env, &id])
        .output()
        .unwrap();
    let local = String::from_utf8(local.stdout).unwrap();
    assert!(
        local.contains("Next execution: ") && local.contains("T19:00:00-05:00\n"),
        "{local}"
    );
    let table = esc.ok(&["env", "schedule", "ls", env]);
    assert!(table.starts_with("┌"), "{table}");
    assert!(table.contains("│ ID "), "{table}");
    assert!(
        table.contains(&format!("│ {id} │ environment_rotation │ 0 0 * * * │ ")),
        "{table}"
    );
    assert!(table.contains(" │ never │\n"), "{table}");

    assert_eq!(
        esc.ok(&["env", "schedule", "edit", env, &id, "--cron", "30 0 * * *"]),
        format!("Updated schedule {id} for {env}\n")
    );
    let got = esc.ok(&["env", "schedule", "get", env, &id, "--utc"]);
    assert!(got.contains("Schedule: 30 0 * * *\n"), "{got}");
    assert!(got.contains("T00:30:00Z\n"), "{got}");
    // no runs yet: no table
    assert_eq!(esc.ok(&["env", "schedule", "history", env, &id]), "");
    assert!(
        esc.fails(&["env", "schedule", "get", env, "no-such-id"])
            .starts_with("Error: getting schedule: [404] ")
    );

    // remove asks to type `remove`
    let declined = esc
        .cmd()
        .args(["env", "schedule", "remove", env, &id])
        .write_stdin("yes\n")
        .output()
        .unwrap();
    assert!(!declined.status.success());
    assert_eq!(
        String::from_utf8_lossy(&declined.stderr),
        "Error: confirmation declined\n"
    );
    let removed = esc
        .cmd()
        .args(["env", "schedule", "rm", env, &id])
        .write_stdin("remove\n")
        .output()
        .unwrap();
    assert!(removed.status.success());
    assert!(
        String::from_utf8_lossy(&removed.stdout)
            .ends_with(&format!("Removed schedule {id} from {env}\n"))
    );
    assert_eq!(esc.ok(&["env", "schedule", "list", env]), "");
}

#[test]
fn schedules_in_local_mode() {
    let esc = Esc::new();
    esc.init("default/sched", "values:\n  a: 1\n");
    manage(&esc, ENV);

    // a due schedule runs when the next command opens the local store
    esc.ok(&["env", "schedule", "new", ENV, "--once", &in_seconds(2)]);
    let id = only_id(&esc, ENV);
    std::thread::sleep(std::time::Duration::from_millis(3000));
    // stderr is no terminal here: nothing is written into a pipe (output
    // like `esc open --format shell` gets evaluated); the history has it
    let out = esc.cmd().args(["env", "ls"]).output().unwrap();
    assert!(out.status.success());
    assert_eq!(String::from_utf8_lossy(&out.stderr), "");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "default/sched\n");
    // once only: a second invocation adds no run
    esc.ok(&["env", "ls"]);
    let history = esc.ok(&["env", "schedule", "history", ENV, &id, "--utc"]);
    assert_eq!(history.lines().count(), 5, "one row: {history}");
    assert!(history.contains("│ ID "), "{history}");
    assert!(history.contains("│       2 │ succeeded │\n"), "{history}");
    let got = esc.ok(&["env", "schedule", "get", ENV, &id]);
    assert!(got.contains("Next execution: never\n"), "{got}");
    assert!(!got.contains("Last executed: never"), "{got}");
    let json: serde_json::Value = serde_json::from_str(
        &esc.ok(&["env", "schedule", "history", ENV, &id, "--output", "json"]),
    )
    .unwrap();
    assert_eq!(json[0]["result"], "succeeded", "{json}");
    assert_eq!(json[0]["version"], 2, "{json}");
}

#[test]
fn schedules_against_a_server() {
    let server = start_server();
    let esc = Esc::new();
    esc.ok(&["login", &server.url, "--token", &server.token]);
    let env = "alice/default/sched";
    esc.ok(&["env", "init", env]);
    manage(&esc, env);
    let missing = esc.fails(&["env", "schedule", "list", "alice/default/missing"]);
    assert!(
        missing.starts_with("Error: listing schedules: [404] "),
        "{missing}"
    );
}
