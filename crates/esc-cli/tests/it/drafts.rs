//! `--draft` on `env edit`, `env set`, `open` and `run` (spec/CLI.md § 2,
//! API.md § 5.12) in local mode and against a real `esc serve`.

use std::os::unix::fs::PermissionsExt as _;

use super::Esc;
use super::remote::start_server;

/// The id in `Change request created: <id>`.
fn created_id(stdout: &str) -> String {
    stdout
        .lines()
        .find_map(|line| line.strip_prefix("Change request created: "))
        .unwrap_or_else(|| panic!("no change request id in {stdout:?}"))
        .to_string()
}

/// An executable "editor" script in `dir` running `body` (`$1` is the file).
fn editor(dir: &tempfile::TempDir, body: &str) -> std::path::PathBuf {
    let path = dir.path().join("ed.sh");
    std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

#[test]
fn new_change_requests_are_created_and_submitted_in_local_mode() {
    let esc = Esc::new();
    esc.ok(&["env", "init", "default/test"]);
    let out = esc.ok(&["env", "set", "default/test", "greeting", "hello", "--draft"]);
    let id = created_id(&out);
    // local mode has no console: no URL line
    assert_eq!(
        out,
        format!("Change request created: {id}\nChange request submitted\n")
    );
    assert_eq!(
        esc.ok(&["open", "default/test"]),
        "{\n  \"greeting\": \"hello\"\n}\n"
    );
    // the draft stays readable and openable by its id
    assert_eq!(
        esc.ok(&["open", "default/test", "--draft", &id]),
        "{\n  \"greeting\": \"hello\"\n}\n"
    );
    // a submitted change request is not a draft any more
    let err = esc.fails(&[
        "env",
        "set",
        "default/test",
        "x",
        "1",
        &format!("--draft={id}"),
    ]);
    assert!(err.contains("is not a draft any more"), "{err}");
    let err = esc.fails(&["open", "default/test", "--draft=nope"]);
    assert!(err.contains("[404]"), "{err}");

    let dir = tempfile::tempdir().unwrap();
    let ok = editor(&dir, "printf 'values:\\n  foo: baz\\n' > \"$1\"");
    let out = esc
        .cmd()
        .env("EDITOR", &ok)
        .args(["env", "edit", "default/test", "--draft"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    let id = created_id(&stdout);
    assert_eq!(
        stdout,
        format!("Change request created: {id}\nChange request submitted\n")
    );
    assert_eq!(
        esc.ok(&["open", "default/test"]),
        "{\n  \"foo\": \"baz\"\n}\n"
    );

    let err = esc.fails(&["env", "edit", "default/test", "--draft=x", "--show-secrets"]);
    assert_eq!(
        err,
        "Error: --show-secrets is not supported for updating drafts\n"
    );

    // a rejected draft: diagnostics, then ^D aborts; nothing changes
    let bad = editor(&dir, "printf 'imports:\\n' > \"$1\"");
    let out = esc
        .cmd()
        .env("EDITOR", &bad)
        .args(["env", "edit", "default/test", "--draft"])
        .write_stdin("")
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(String::from_utf8_lossy(&out.stdout), "");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("imports must be a list"), "{stderr}");
    assert!(stderr.ends_with("Aborting edit.\n"), "{stderr}");
    assert_eq!(
        esc.ok(&["open", "default/test"]),
        "{\n  \"foo\": \"baz\"\n}\n"
    );

    // rollback through a new change request (revision 2 is the first draft's)
    let out = esc.ok(&["env", "version", "rollback", "default/test@2", "--draft"]);
    let id = created_id(&out);
    assert_eq!(
        out,
        format!("Change request created: {id}\nChange request submitted\n")
    );
    assert_eq!(
        esc.ok(&["open", "default/test"]),
        "{\n  \"greeting\": \"hello\"\n}\n"
    );
}

/// Create an unsubmitted draft of `org/project/env` over HTTP; its id.
fn create_draft(url: &str, token: &str, env: &str, yaml: &str) -> String {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let reply = reqwest::Client::new()
            .post(format!("{url}/api/esc/environments/{env}/drafts"))
            .header("Authorization", format!("token {token}"))
            .header("Content-Type", "application/x-yaml")
            .body(yaml.to_string())
            .send()
            .await
            .unwrap();
        assert!(reply.status().is_success(), "{}", reply.status());
        let body: serde_json::Value = reply.json().await.unwrap();
        body["changeRequestId"].as_str().unwrap().to_string()
    })
}

#[test]
fn drafts_against_a_server() {
    let server = start_server();
    let esc = Esc::new();
    esc.ok(&["login", &server.url, "--token", &server.token]);
    esc.ok(&["env", "init", "app/dev"]);
    let out = esc
        .cmd()
        .env("PULUMI_CONSOLE_DOMAIN", "console.example")
        .args(["env", "set", "app/dev", "greeting", "hello", "--draft"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    let id = created_id(&stdout);
    assert_eq!(
        stdout,
        format!(
            "Change request created: {id}\nChange request URL: https://console.example/alice/esc/app/dev?version={id}\nChange request submitted\n"
        )
    );
    // without a console domain a 127.0.0.1 server has no console link
    let out = esc.ok(&["env", "set", "app/dev", "other", "1", "--draft"]);
    let id = created_id(&out);
    assert_eq!(
        out,
        format!("Change request created: {id}\nChange request submitted\n")
    );
    assert_eq!(
        esc.ok(&["open", "app/dev"]),
        "{\n  \"greeting\": \"hello\",\n  \"other\": 1\n}\n"
    );

    // an open draft: updated by id, opened and run by id, not applied
    let draft = create_draft(
        &server.url,
        &server.token,
        "alice/app/dev",
        "values:\n  greeting: draft\n",
    );
    let out = esc
        .cmd()
        .env("PULUMI_CONSOLE_DOMAIN", "console.example")
        .args([
            "env",
            "set",
            "app/dev",
            "extra",
            "x",
            &format!("--draft={draft}"),
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        format!(
            "Change request updated\nChange request URL: https://console.example/alice/esc/app/dev?version={draft}\n"
        )
    );
    assert_eq!(
        esc.ok(&["open", "app/dev", &format!("--draft={draft}")]),
        "{\n  \"extra\": \"x\",\n  \"greeting\": \"draft\"\n}\n"
    );
    assert_eq!(
        esc.ok(&["open", "app/dev"]),
        "{\n  \"greeting\": \"hello\",\n  \"other\": 1\n}\n"
    );
    let dir = tempfile::tempdir().unwrap();
    let ed = editor(&dir, "sed -i 's/draft/edited/' \"$1\"");
    let out = esc
        .cmd()
        .env("EDITOR", &ed)
        .args(["env", "edit", "app/dev", &format!("--draft={draft}")])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "Change request updated\n"
    );
    esc.ok(&[
        "env",
        "set",
        "app/dev",
        "environmentVariables.GREETING",
        "${greeting}",
        &format!("--draft={draft}"),
    ]);
    let out = esc.ok(&[
        "run",
        "--draft",
        &draft,
        "app/dev",
        "--",
        "sh",
        "-c",
        "echo $GREETING",
    ]);
    assert_eq!(out, "edited\n");
}
