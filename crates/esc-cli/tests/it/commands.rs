//! Every command in local mode, against expected outputs taken from
//! spec/CLI.md and the golden transcripts.

use super::Esc;

const IMPORTED: &str = "values:\n  foo: baz\n  hello: world\n  environmentVariables:\n    HELLO: ${hello}\n  files:\n    FILE: bar\n";
const MAIN: &str = "imports:\n  - test-2\nvalues:\n  foo: bar\n  yup: true\n  pi: 3.14\n  secret:\n    fn::secret: hunter2\n  environmentVariables:\n    FOO: ${foo}\n    BOOL: ${yup}\n    NUM: ${pi}\n    SECRET: ${secret}\n  files:\n    BOOL_FILE: ${yup}\n    NUM_FILE: ${pi}\n";

fn seeded() -> Esc {
    let esc = Esc::new();
    esc.init("default/test-2", IMPORTED);
    esc.init("default/test", MAIN);
    esc
}

#[test]
fn init_prints_the_full_name_and_rejects_versions() {
    let esc = Esc::new();
    assert_eq!(
        esc.ok(&["env", "init", "default/test"]),
        "Environment created: test-user/default/test\n"
    );
    assert_eq!(
        esc.ok(&["env", "init", "org1/proj/env"]),
        "Environment created: org1/proj/env\n"
    );
    assert!(
        esc.fails(&["env", "init", "default/test"])
            .starts_with("Error: creating environment: ")
    );
    assert_eq!(
        esc.fails(&["env", "init", "a/b@2"]),
        "Error: the init command does not accept versions\n"
    );
    assert_eq!(
        esc.fails(&["env", "init"]),
        "Error: no environment name specified\n"
    );
    assert_eq!(
        esc.fails(&["env", "init", "a", "b"]),
        "Error: accepts at most 1 arg(s), received 2\n"
    );
}

#[test]
fn init_with_errors_prints_source_diagnostics() {
    // golden env-init-diags.yaml
    let esc = Esc::new();
    let out = esc
        .cmd()
        .args(["env", "init", "default/test-stdin", "-f=-"])
        .write_stdin("{\"values\":{\"foo\":\"${bar}\"}}\n")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "Environment created: test-user/default/test-stdin\n"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.starts_with("Error: unknown property \"bar\"\n\n  on default/test-stdin line 1:\n   1: {\"values\":{\"foo\":\"${bar}\"}}\n\n"), "{stderr}");
    assert!(
        stderr.ends_with("Error: updating environment definition: too many errors\n"),
        "{stderr}"
    );
}

#[test]
fn open_formats() {
    let esc = seeded();
    let json = esc.ok(&["open", "default/test"]);
    assert!(
        json.starts_with("{\n  \"environmentVariables\": {\n    \"BOOL\": true,\n"),
        "{json}"
    );
    assert!(json.contains("\n  \"secret\": \"hunter2\",\n"), "{json}");
    assert_eq!(
        esc.ok(&["open", "default/test", "foo", "-f", "string"]),
        "bar\n"
    );
    assert_eq!(
        esc.ok(&["env", "open", "default/test", "hello", "--format=json"]),
        "\"world\"\n"
    );
    assert_eq!(esc.ok(&["open", "default/test", "missing"]), "null\n");
    let yaml = esc.ok(&["open", "default/test", "--format", "yaml"]);
    assert!(
        yaml.contains("\nfoo: bar\nhello: world\npi: 3.14\nsecret: hunter2\nyup: true\n"),
        "{yaml}"
    );
    assert!(
        yaml.starts_with("environmentVariables:\n   BOOL: true\n   FOO: bar\n"),
        "{yaml}"
    );
    let detailed = esc.ok(&["open", "default/test", "foo", "-f", "detailed"]);
    assert!(
        detailed.starts_with("{\n  \"value\": \"bar\",\n  \"trace\": {\n    \"def\": {\n"),
        "{detailed}"
    );
    assert_eq!(
        esc.fails(&["open", "default/test", "-f", "flat"]),
        "Error: unknown output format \"flat\"\n"
    );
    assert_eq!(
        esc.fails(&["open", "default/test", "foo", "-f", "shell"]),
        "Error: output format 'shell' may not be used with a property path\n"
    );
}

/// Values that need escaping, in every format (spec/CLI.md 6.1, 6.4-6.6):
/// Go `strconv.Quote` in dotenv/shell/string (`$` and backticks left alone,
/// not shell quoting), HTML-safe JSON, nested values skipped by dotenv.
const ESCAPES: &str = "values:\n  obj: {k: v, \"a b\": [1, \"x\"]}\n  environmentVariables:\n    QUOTE: 'say \"hi\"'\n    NL: \"a\\nb\\n\"\n    DOLLAR: \"$HOME `x`\"\n    BS: 'C:\\path'\n    TAB: \"a\\tb\"\n    HTML: \"<a&b>\"\n    UNI: \"\u{e9}\u{1F600}\"\n    CTRL: \"hi\\x05world\"\n    NESTED: {a: 1}\n    SEC: {fn::secret: \"s3cr3t\"}\n    NUL: null\n";

#[test]
fn open_formats_escape_like_go() {
    let esc = Esc::new();
    esc.init("default/escapes", ESCAPES);
    let dotenv = "BS=\"C:\\\\path\"\nCTRL=\"hi\\x05world\"\nDOLLAR=\"$HOME `x`\"\nHTML=\"<a&b>\"\nNL=\"a\\nb\\n\"\nNUL=\"\"\nQUOTE=\"say \\\"hi\\\"\"\nSEC=\"s3cr3t\"\nTAB=\"a\\tb\"\nUNI=\"\u{e9}\u{1F600}\"\n";
    assert_eq!(esc.ok(&["open", "default/escapes", "-f", "dotenv"]), dotenv);
    let shell: String = dotenv.lines().map(|l| format!("export {l}\n")).collect();
    assert_eq!(esc.ok(&["open", "default/escapes", "-f", "shell"]), shell);
    // env get: the same lines with the secret redacted
    assert_eq!(
        esc.ok(&["env", "get", "default/escapes", "--value", "dotenv"]),
        dotenv.replace("s3cr3t", "[secret]")
    );
    assert_eq!(
        esc.ok(&["open", "default/escapes", "obj", "-f", "string"]),
        "\"a b\"=\"\\\"1\\\",\\\"x\\\"\",\"k\"=\"v\"\n"
    );
    let json = esc.ok(&[
        "open",
        "default/escapes",
        "environmentVariables",
        "-f",
        "json",
    ]);
    for line in [
        "  \"BS\": \"C:\\\\path\",\n",
        "  \"CTRL\": \"hi\\u0005world\",\n",
        "  \"HTML\": \"\\u003ca\\u0026b\\u003e\",\n",
        "  \"NESTED\": {\n    \"a\": 1\n  },\n",
        "  \"NL\": \"a\\nb\\n\",\n",
        "  \"NUL\": null,\n",
        "  \"QUOTE\": \"say \\\"hi\\\"\",\n",
    ] {
        assert!(json.contains(line), "{line:?} not in {json}");
    }
    let yaml = esc.ok(&[
        "open",
        "default/escapes",
        "environmentVariables",
        "-f",
        "yaml",
    ]);
    for line in [
        "CTRL: \"hi\\x05world\"\n",
        "NESTED:\n   a: 1\n",
        "NL: |\n   a\n   b\n",
        "QUOTE: say \"hi\"\n",
    ] {
        assert!(yaml.contains(line), "{line:?} not in {yaml}");
    }
}

#[test]
fn open_shell_and_dotenv_write_private_files() {
    let esc = seeded();
    let tmp = tempfile::tempdir().unwrap();
    let out = esc
        .cmd()
        .env("TMPDIR", tmp.path())
        .args(["open", "default/test", "-f", "shell"])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        &lines[..5],
        &[
            "export BOOL=\"true\"",
            "export FOO=\"bar\"",
            "export HELLO=\"world\"",
            "export NUM=\"3.14\"",
            "export SECRET=\"hunter2\""
        ]
    );
    let names: Vec<&str> = lines[5..]
        .iter()
        .map(|l| l.split('=').next().unwrap())
        .collect();
    assert_eq!(
        names,
        ["export BOOL_FILE", "export FILE", "export NUM_FILE"]
    );
    let file_path = lines[6]
        .trim_start_matches("export FILE=\"")
        .trim_end_matches('"');
    assert!(file_path.starts_with(tmp.path().to_str().unwrap()));
    assert_eq!(std::fs::read_to_string(file_path).unwrap(), "bar");
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(file_path).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let dotenv = esc
        .cmd()
        .env("TMPDIR", tmp.path())
        .args(["open", "default/test", "-f", "dotenv"])
        .output()
        .unwrap();
    assert!(
        String::from_utf8(dotenv.stdout)
            .unwrap()
            .starts_with("BOOL=\"true\"\nFOO=\"bar\"\n")
    );
}

#[test]
fn open_versions_and_tags() {
    let esc = Esc::new();
    esc.init("default/test", "values:\n  foo: bar\n");
    esc.ok(&["env", "version", "tag", "default/test@stable"]);
    esc.ok(&["env", "set", "default/test", "hello", "world"]);
    assert_eq!(
        esc.ok(&["open", "default/test@stable"]),
        "{\n  \"foo\": \"bar\"\n}\n"
    );
    assert_eq!(
        esc.ok(&["open", "default/test@2"]),
        "{\n  \"foo\": \"bar\"\n}\n"
    );
    assert_eq!(
        esc.ok(&["open", "default/test@latest"]),
        "{\n  \"foo\": \"bar\",\n  \"hello\": \"world\"\n}\n"
    );
    assert_eq!(esc.ok(&["open", "default/test@1"]), "{}\n");
}

#[test]
fn open_with_diagnostics_exits_zero_and_prints_them() {
    let esc = Esc::new();
    esc.init("default/test", "values:\n  a: 1\n");
    // Make a valid definition that becomes invalid: delete the import target.
    esc.init("default/base", "values:\n  b: 2\n");
    esc.ok(&["env", "set", "default/test", "imports[0]", "base"]);
    esc.ok(&["env", "rm", "default/base", "--yes"]);
    let out = esc.cmd().args(["open", "default/test"]).output().unwrap();
    assert!(out.status.success());
    assert_eq!(String::from_utf8_lossy(&out.stdout), "");
    assert!(!out.stderr.is_empty());
}

#[test]
fn get_value_formats_and_report() {
    let esc = seeded();
    let shell = esc.ok(&["env", "get", "default/test", "--value=shell"]);
    assert_eq!(
        shell,
        "export BOOL=\"true\"\nexport FOO=\"bar\"\nexport HELLO=\"world\"\nexport NUM=\"3.14\"\nexport SECRET=\"[secret]\"\nexport BOOL_FILE=\"[unknown]\"\nexport FILE=\"[unknown]\"\nexport NUM_FILE=\"[unknown]\"\n"
    );
    let shown = esc.ok(&[
        "env",
        "get",
        "default/test",
        "--value=dotenv",
        "--show-secrets",
    ]);
    assert!(shown.contains("SECRET=\"hunter2\"\n"), "{shown}");
    assert_eq!(
        esc.ok(&["env", "get", "default/test", "foo", "--value", "string"]),
        "bar\n"
    );
    assert_eq!(
        esc.ok(&["env", "get", "default/test", "secret", "--value", "json"]),
        "\"[secret]\"\n"
    );
    let report = esc.ok(&["env", "get", "default/test", "foo"]);
    assert!(
        report.starts_with("# Value\n```json\n\"bar\"\n```\n# Definition\n```yaml\nbar\n\n```\n"),
        "{report}"
    );
    assert!(
        report.contains("\n# Defined at\n- test:4:8\n- test-2:2:8\n"),
        "{report}"
    );
    let definition = esc.ok(&["env", "get", "default/test", "--definition"]);
    assert!(
        definition.contains("fn::secret:") && !definition.contains("hunter2"),
        "{definition}"
    );
    let revealed = esc.ok(&[
        "env",
        "get",
        "default/test",
        "--definition",
        "--show-secrets",
    ]);
    assert!(revealed.contains("hunter2"), "{revealed}");
    assert_eq!(
        esc.fails(&[
            "env",
            "get",
            "default/test",
            "--value",
            "json",
            "--definition"
        ]),
        "Error: `--value` and `--definition` flags cannot be used together\n"
    );
    let empty = Esc::new();
    empty.ok(&["env", "init", "default/empty"]);
    assert_eq!(empty.ok(&["env", "get", "default/empty"]), "\n");
}

#[test]
fn set_and_rm_paths_like_the_golden() {
    // golden env-set.yaml (first steps)
    let esc = Esc::new();
    esc.ok(&["env", "init", "default/test"]);
    assert_eq!(
        esc.ok(&["env", "set", "default/test", "foo.bar.baz", "qux"]),
        ""
    );
    assert_eq!(
        esc.ok(&["env", "get", "default/test"]),
        "# Value\n```json\n{\n  \"foo\": {\n    \"bar\": {\n      \"baz\": \"qux\"\n    }\n  }\n}\n```\n# Definition\n```yaml\nvalues:\n  foo:\n    bar:\n      baz: qux\n\n```\n\n"
    );
    esc.ok(&["env", "rm", "default/test", "foo.bar.baz"]);
    assert_eq!(
        esc.ok(&["env", "get", "default/test"]),
        "# Value\n```json\n{\n  \"foo\": {\n    \"bar\": {}\n  }\n}\n```\n# Definition\n```yaml\nvalues:\n  foo:\n    bar: {}\n\n```\n\n"
    );
    esc.ok(&["env", "set", "default/test", "foo.beta[0]", "gamma"]);
    esc.ok(&["env", "set", "default/test", "foo.beta[1]", "42"]);
    esc.ok(&["env", "set", "default/test", "pw", "hunter2", "--secret"]);
    esc.ok(&["env", "set", "default/test", "n", "007", "--string"]);
    assert_eq!(
        esc.ok(&["open", "default/test", "-f", "json"]),
        "{\n  \"foo\": {\n    \"bar\": {},\n    \"beta\": [\n      \"gamma\",\n      42\n    ]\n  },\n  \"n\": \"007\",\n  \"pw\": \"hunter2\"\n}\n"
    );
    assert_eq!(
        esc.ok(&["env", "get", "default/test", "pw", "--value", "string"]),
        "[secret]\n"
    );
    assert_eq!(
        esc.fails(&["env", "set", "default/test", "foo.beta[5]", "x"]),
        "Error: foo.beta[5]: array index out of range\n"
    );
    assert_eq!(
        esc.fails(&["env", "set", "default/test", "x"]),
        "Error: expected a path and a value\n"
    );
    assert_eq!(
        esc.fails(&["env", "set", "default/test"]),
        "Error: expected a path and a value\n"
    );
    assert_eq!(
        esc.fails(&["env", "set"]),
        "Error: accepts between 1 and 3 arg(s), received 0\n"
    );
    assert_eq!(
        esc.fails(&["env", "set", "default/test", "-f", "-"]),
        "Error: expected a path\n"
    );
    assert_eq!(
        esc.fails(&[
            "env",
            "set",
            "default/test",
            "db.password",
            "YMHdog6VkUqbVS5dAErxWeMy83r4HeBeNRdEuUFwK3M="
        ]),
        "Error: value looks like a secret; rerun with --secret to mark it as such, or --plaintext if you meant to leave it as plaintext\n"
    );
}

#[test]
fn set_and_rm_keep_comments_and_styles() {
    let esc = Esc::new();
    esc.init(
        "default/kept",
        "# about\nvalues:\n  # the greeting\n  greeting: \"hi\" # quoted\n  list: [a, b]\n  gone: 1\n",
    );
    esc.ok(&["env", "set", "default/kept", "greeting", "hello"]);
    esc.ok(&["env", "set", "default/kept", "list[2]", "c"]);
    esc.ok(&["env", "rm", "default/kept", "gone"]);
    assert_eq!(
        esc.ok(&["env", "get", "default/kept", "--definition"]),
        "# about\nvalues:\n  # the greeting\n  greeting: \"hello\" # quoted\n  list: [a, b, c]\n"
    );
    assert_eq!(
        esc.fails(&["env", "set", "default/test@2", "x", "y"]),
        "Error: the set command does not accept versions\n"
    );
}

#[test]
fn set_reports_diagnostics_and_exits_zero() {
    let esc = Esc::new();
    esc.ok(&["env", "init", "default/test"]);
    let out = esc
        .cmd()
        .args(["env", "set", "default/test", "a", "${nope}"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("unknown property \"nope\""), "{stderr}");
    // nothing was stored
    assert_eq!(esc.ok(&["env", "get", "default/test"]), "\n");
    // positions refer to the document as the reference sends it (yaml.v3,
    // four spaces): spec/CLI.md 8.2's example
    let out = esc
        .cmd()
        .args(["env", "set", "default/test", "password", "[]", "--secret"])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "default/test:3:21: secret values must be string literals\n"
    );
}

#[test]
fn rm_environment_confirms() {
    let esc = Esc::new();
    esc.ok(&["env", "init", "default/test"]);
    let out = esc
        .cmd()
        .args(["env", "rm", "default/test"])
        .write_stdin("nope\n")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "This will permanently remove the \"test-user/default/test\" environment!\nPlease confirm that this is what you'd like to do by typing `test-user/default/test`: "
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "Error: confirmation declined\n"
    );
    let out = esc
        .cmd()
        .args(["env", "rm", "default/test"])
        .write_stdin("test-user/default/test\n")
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stdout)
            .ends_with("Environment \"test-user/default/test\" has been removed!\n")
    );
    assert!(
        esc.fails(&["env", "rm", "default/test", "-y"])
            .starts_with("Error: deleting environment: [404] ")
    );
}

#[test]
fn deletion_protection_settings() {
    let esc = Esc::new();
    esc.ok(&["env", "init", "default/test"]);
    assert_eq!(
        esc.ok(&["env", "settings", "get", "default/test"]),
        "deletion-protected false\n"
    );
    assert_eq!(
        esc.ok(&[
            "env",
            "settings",
            "set",
            "default/test",
            "deletion-protected",
            "true"
        ]),
        "true\n"
    );
    assert_eq!(
        esc.ok(&[
            "env",
            "settings",
            "get",
            "default/test",
            "deletion-protected"
        ]),
        "true\n"
    );
    assert_eq!(
        esc.fails(&["env", "rm", "default/test", "-y"]),
        "Error: cannot delete environment: deletion protection is enabled. Disable deletion protection with 'esc env settings set test-user/default/test deletion-protected false' before deleting\n"
    );
    assert_eq!(
        esc.fails(&[
            "env",
            "settings",
            "set",
            "default/test",
            "deletion-protected",
            "maybe"
        ]),
        "Error: invalid value for deletion-protected: maybe (expected true or false)\n"
    );
    assert_eq!(
        esc.fails(&["env", "settings", "get", "default/test", "color"]),
        "Error: unknown setting name: color\n"
    );
}

#[test]
fn ls_and_clone() {
    let esc = Esc::new();
    esc.ok(&["env", "init", "b/dev"]);
    esc.ok(&["env", "init", "a/dev"]);
    esc.ok(&["env", "init", "other-org/p/e"]);
    assert_eq!(esc.ok(&["env", "ls"]), "a/dev\nb/dev\nother-org/p/e\n");
    assert_eq!(esc.ok(&["env", "ls", "-p", "a"]), "a/dev\n");
    assert_eq!(
        esc.ok(&["env", "ls", "--output", "json"]),
        "{\n  \"environments\": [\n    \"a/dev\",\n    \"b/dev\",\n    \"other-org/p/e\"\n  ]\n}\n"
    );
    assert_eq!(
        esc.fails(&["env", "ls", "--output", "xml"]),
        "Error: invalid --output \"xml\": must be \"text\" or \"json\"\n"
    );
    esc.ok(&["env", "set", "a/dev", "x", "1"]);
    assert_eq!(
        esc.ok(&["env", "clone", "test-user/a/dev", "c/copy"]),
        "Environment test-user/a/dev cloned into test-user/c/copy.\n"
    );
    assert_eq!(esc.ok(&["open", "c/copy", "x", "-f", "string"]), "1\n");
    assert!(
        esc.fails(&["env", "clone", "test-user/a/dev", "c/copy"])
            .starts_with("Error: cloning environment: [409] ")
    );
    assert!(
        esc.fails(&["env", "clone", "test-user/a/nope", "c/x"])
            .starts_with("Error: cloning environment: [404] ")
    );
}

#[test]
fn versions_history_retract_rollback() {
    let esc = Esc::new();
    esc.ok(&["env", "init", "default/test"]);
    esc.ok(&["env", "set", "default/test", "v", "one"]);
    esc.ok(&["env", "set", "default/test", "v", "two"]);
    let history = esc.ok(&["env", "version", "history", "default/test"]);
    let heads: Vec<&str> = history
        .lines()
        .filter(|l| l.starts_with("revision"))
        .collect();
    assert_eq!(
        heads,
        ["revision 3 (tag: latest)", "revision 2", "revision 1"]
    );
    assert!(
        history.contains("Author: test-user <test-user>\nDate:   "),
        "{history}"
    );
    let one = esc.ok(&["env", "version", "default/test@2"]);
    assert!(
        one.starts_with("revision 2\nAuthor: test-user <test-user>\nDate:   "),
        "{one}"
    );
    assert_eq!(
        esc.fails(&["env", "version", "default/test"]),
        "Error: please specify a version\n"
    );
    assert_eq!(
        esc.ok(&["env", "version", "rollback", "default/test@2"]),
        "Environment updated.\n"
    );
    assert_eq!(
        esc.ok(&["open", "default/test", "v", "-f", "string"]),
        "one\n"
    );
    esc.ok(&[
        "env",
        "version",
        "retract",
        "default/test@3",
        "--reason",
        "oops",
    ]);
    let history = esc.ok(&["env", "version", "history", "default/test"]);
    assert!(history.contains("revision 3 (retracted)"), "{history}");
    assert!(
        history.contains("and replaced with revision 2.\n\n    oops\n"),
        "{history}"
    );
    assert_eq!(
        esc.fails(&["env", "version", "retract", "default/test@latest"]),
        "Error: cannot retract the `latest` revision\n"
    );
    let json = esc.ok(&[
        "env",
        "version",
        "history",
        "default/test",
        "--output",
        "json",
    ]);
    // client.EnvironmentRevision re-encoded: members in field order
    assert!(
        json.starts_with(
            "{\n  \"revisions\": [\n    {\n      \"number\": 4,\n      \"created\": \""
        ),
        "{json}"
    );
    assert!(
        json.contains("\"creatorLogin\": \"test-user\",\n      \"creatorName\": \"test-user\",\n      \"tags\": [\n        \"latest\"\n      ]\n    },"),
        "{json}"
    );
    assert!(
        json.contains(
            "\"tags\": [],\n      \"retracted\": {\n        \"replacement\": 2,\n        \"at\": \""
        ),
        "{json}"
    );
    assert!(
        json.contains("\",\n        \"byLogin\": \"test-user\",\n        \"byName\": \"test-user\",\n        \"reason\": \"oops\"\n      }\n"),
        "{json}"
    );
}

#[test]
fn revision_tags() {
    let esc = Esc::new();
    esc.ok(&["env", "init", "default/test"]);
    esc.ok(&["env", "set", "default/test", "v", "one"]);
    esc.ok(&["env", "version", "tag", "default/test@stable", "@1"]);
    let tag = esc.ok(&["env", "version", "default/test@stable"]);
    assert!(
        tag.starts_with("stable\nRevision 1\nLast updated at "),
        "{tag}"
    );
    esc.ok(&["env", "version", "tag", "default/test@stable"]);
    assert!(
        esc.ok(&["env", "version", "default/test@stable"])
            .starts_with("stable\nRevision 2\n")
    );
    let table = esc.ok(&["env", "version", "tag", "ls", "default/test"]);
    let rows: Vec<&str> = table.lines().filter(|l| l.starts_with("│ ")).collect();
    assert_eq!(rows.len(), 3, "{table}");
    assert!(
        rows[0].starts_with("│ NAME   │ REVISION │ MODIFIED"),
        "{table}"
    );
    assert!(rows[1].starts_with("│ latest │        2 │"), "{table}");
    assert!(rows[2].starts_with("│ stable │        2 │"), "{table}");
    let json = esc.ok(&[
        "env",
        "version",
        "tag",
        "ls",
        "default/test",
        "--output",
        "json",
        "--utc",
    ]);
    // revisionTagJSON: name, revision, modified, then the editor when known
    assert!(
        json.starts_with("{\n  \"tags\": [\n    {\n      \"name\": \"latest\",\n      \"revision\": 2,\n      \"modified\": \""),
        "{json}"
    );
    assert!(
        json.contains(
            "\n    {\n      \"name\": \"stable\",\n      \"revision\": 2,\n      \"modified\": \""
        ),
        "{json}"
    );
    assert!(
        json.ends_with("Z\",\n      \"editorLogin\": \"test-user\",\n      \"editorName\": \"test-user\"\n    }\n  ]\n}\n"),
        "{json}"
    );
    esc.ok(&["env", "version", "tag", "rm", "default/test@stable"]);
    assert!(
        esc.fails(&["env", "version", "default/test@stable"])
            .contains("[404]")
    );
    assert_eq!(
        esc.fails(&["env", "version", "tag", "default/test@3"]),
        "Error: please specify a name for the tagged version\n"
    );
}

#[test]
fn environment_tags() {
    let esc = Esc::new();
    esc.ok(&["env", "init", "default/test"]);
    let block = esc.ok(&["env", "tag", "default/test", "owner", "alice"]);
    assert!(
        block.starts_with("Name: owner\nValue: alice\nLast updated at "),
        "{block}"
    );
    assert!(block.ends_with(" by test-user <test-user>\n"), "{block}");
    esc.ok(&["env", "tag", "default/test", "owner", "bob"]);
    esc.ok(&["env", "tag", "default/test", "Area", "x"]);
    let list = esc.ok(&["env", "tag", "ls", "default/test"]);
    let names: Vec<&str> = list.lines().filter(|l| l.starts_with("Name: ")).collect();
    assert_eq!(names, ["Name: Area", "Name: owner"]);
    assert!(list.contains("Value: bob\n"));
    let json = esc.ok(&[
        "env",
        "tag",
        "get",
        "default/test",
        "owner",
        "--output",
        "json",
    ]);
    // Go's tagJSON struct: members in field order, not sorted
    let (head, tail) = json.split_once("  \"modified\": \"").unwrap();
    assert_eq!(head, "{\n  \"name\": \"owner\",\n  \"value\": \"bob\",\n");
    let (modified, tail) = tail.split_once('"').unwrap();
    assert!(modified.ends_with('Z'), "{modified}");
    assert_eq!(
        tail,
        ",\n  \"editorLogin\": \"test-user\",\n  \"editorName\": \"test-user\"\n}\n"
    );
    esc.ok(&["env", "tag", "mv", "default/test", "owner", "maintainer"]);
    assert!(
        esc.ok(&["env", "tag", "get", "default/test", "maintainer"])
            .starts_with("Name: maintainer\nValue: bob\n")
    );
    assert_eq!(
        esc.ok(&["env", "tag", "rm", "default/test", "maintainer"]),
        "Successfully deleted environment tag: maintainer\n"
    );
    assert!(
        esc.fails(&["env", "tag", "get", "default/test", "maintainer"])
            .contains("[404]")
    );
    assert_eq!(
        esc.fails(&["env", "tag", "default/test", "", "v"]),
        "Error: environment tag name cannot be empty\n"
    );
    assert_eq!(
        esc.fails(&["env", "tag", "get", "default/test", ""]),
        "Error: environment tag name cannot be empty\n"
    );
    assert_eq!(
        esc.fails(&["env", "tag", "mv", "default/test", "", "x"]),
        "Error: environment tag name cannot be empty\n"
    );
    // the reference words an empty new name as an empty value
    assert_eq!(
        esc.fails(&["env", "tag", "mv", "default/test", "Area", ""]),
        "Error: environment tag value cannot be empty\n"
    );
    assert_eq!(
        esc.fails(&["env", "tag", "default/test@1", "a", "v"]),
        "Error: the tag command does not accept versions\n"
    );
}

#[test]
fn unreadable_definition_files_are_worded_like_go() {
    let esc = seeded();
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.yaml");
    let missing = missing.to_str().unwrap();
    assert_eq!(
        esc.fails(&["env", "edit", "default/test", "-f", missing]),
        format!(
            "Error: reading environment definition: open {missing}: no such file or directory\n"
        )
    );
    assert_eq!(
        esc.fails(&["env", "init", "default/other", "-f", missing]),
        format!(
            "Error: reading environment definition: open {missing}: no such file or directory\n"
        )
    );
    let directory = dir.path().to_str().unwrap();
    assert_eq!(
        esc.fails(&["env", "edit", "default/test", "-f", directory]),
        format!("Error: reading environment definition: read {directory}: is a directory\n")
    );
}

#[test]
fn edit_with_a_file_and_with_an_editor() {
    let esc = Esc::new();
    esc.ok(&["env", "init", "default/test"]);
    let out = esc
        .cmd()
        .args(["env", "edit", "default/test", "-f", "-"])
        .write_stdin("values:\n  a: 1\n")
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "Environment updated.\n"
    );
    // An "editor" that appends a value to the file it is given.
    let dir = tempfile::tempdir().unwrap();
    let editor = dir.path().join("ed.sh");
    std::fs::write(&editor, "#!/bin/sh\nprintf '  b: 2\\n' >> \"$1\"\n").unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&editor, std::fs::Permissions::from_mode(0o755)).unwrap();
    let out = esc
        .cmd()
        .env("EDITOR", &editor)
        .args(["env", "edit", "default/test"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "Environment updated.\n"
    );
    assert_eq!(
        esc.ok(&["open", "default/test"]),
        "{\n  \"a\": 1,\n  \"b\": 2\n}\n"
    );
    // An editor that empties the file aborts.
    std::fs::write(&editor, "#!/bin/sh\n: > \"$1\"\n").unwrap();
    let out = esc
        .cmd()
        .env("VISUAL", &editor)
        .args(["env", "edit", "default/test"])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "Aborting edit due to empty definition.\n"
    );
}

#[test]
fn diff_between_versions() {
    let esc = Esc::new();
    esc.init("default/test", "values:\n  a: 1\n");
    esc.ok(&["env", "set", "default/test", "b", "2"]);
    let out = esc.ok(&["env", "diff", "default/test@2", "@3", "--format", "dotenv"]);
    assert_eq!(out, "");
    let out = esc.ok(&["env", "diff", "default/test@2", "@3", "--format", "json"]);
    assert_eq!(
        out,
        "--- test-user/default/test@2\n+++ test-user/default/test@3\n@@ -1,3 +1,4 @@\n {\n-  \"a\": 1\n+  \"a\": 1,\n+  \"b\": 2\n }\n"
    );
}

#[test]
fn rotate_without_rotators() {
    let esc = Esc::new();
    esc.init("default/test", "values:\n  a: 1\n");
    let out = esc
        .cmd()
        .args(["env", "rotate", "default/test"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        esc.fails(&["env", "rotate", "default/test@2"]),
        "Error: the rotate command does not accept environments at specific versions\n"
    );
    assert!(
        esc.fails(&["env", "rotate", "default/test", "a["])
            .starts_with("Error: 'a[' is an invalid property path: ")
    );
    // spec/CLI.md § 2 quirk: with --env the first path is skipped
    esc.ok(&["env", "rotate", "--env", "default/test", "a["]);
    assert!(
        esc.fails(&["env", "rotate", "--env", "default/test", "skipped", "b["])
            .starts_with("Error: 'b[' is an invalid property path: ")
    );
}

#[test]
fn two_part_references_resolve_like_the_reference() {
    let esc = Esc::new();
    esc.ok(&["env", "init", "test-user/default/dev"]);
    // `dev` alone is the legacy form: default project.
    assert_eq!(esc.ok(&["env", "get", "dev"]), "\n");
    // `p/dev` is project/env in the default org.
    esc.ok(&["env", "init", "p/dev"]);
    assert_eq!(esc.ok(&["env", "ls"]), "default/dev\np/dev\n");
}

#[test]
fn login_logout_whoami_local() {
    let esc = Esc::new();
    let who = esc.ok(&["whoami"]);
    assert!(
        who.starts_with("User: test-user\nBackend: local ("),
        "{who}"
    );
    assert_eq!(esc.ok(&["logout"]), "Already logged out.\n");
    assert!(
        esc.ok(&["login", "--local"])
            .starts_with("Using the local store in ")
    );
    assert_eq!(
        esc.fails(&["login", "ftp://x"]),
        "Error: ftp://x is not a valid server URL: it must start with http:// or https://\n"
    );
    assert_eq!(
        esc.fails(&["login", "http://a", "-c", "http://b"]),
        "Error: only one of --cloud-url or argument URL may be specified, not both\n"
    );
    assert_eq!(
        esc.fails(&["login", "https://app.pulumi.com/acme"]),
        "Error: https://app.pulumi.com/acme is not a valid self-hosted backend, use `esc login` without arguments to log into the Pulumi Cloud backend\n"
    );
    assert_eq!(
        esc.fails(&["login", "s3://bucket/state"]),
        "Error: s3://bucket/state does not support Pulumi ESC.\n"
    );
    assert_eq!(
        esc.fails(&["logout", "http://a", "-c", "http://b"]),
        "Error: only one of --all, --cloud-url or argument URL may be specified, not both\n"
    );
    assert_eq!(esc.ok(&["logout", "--all"]), "Logged out of all clouds\n");
    // A server that is not there: the login fails and nothing is saved.
    let err = esc.fails(&["login", "http://127.0.0.1:9", "--token", "t"]);
    assert!(
        err.starts_with("Error: logging in to http://127.0.0.1:9: "),
        "{err}"
    );
    assert!(!esc.home().join("credentials.json").exists());
}

#[test]
fn help_version_and_flag_errors() {
    let esc = Esc::new();
    let bare = esc.ok(&[]);
    assert!(
        bare.starts_with("Pulumi ESC - Manage environments, secrets, and configuration\n"),
        "{bare}"
    );
    assert!(esc.ok(&["env", "--help"]).contains("Example:"));
    for cmd in [
        vec!["env", "init"],
        vec!["env", "edit"],
        vec!["env", "get"],
        vec!["env", "set"],
        vec!["env", "rm"],
        vec!["env", "ls"],
        vec!["env", "clone"],
        vec!["env", "diff"],
        vec!["env", "version"],
        vec!["env", "version", "history"],
        vec!["env", "version", "retract"],
        vec!["env", "version", "rollback"],
        vec!["env", "version", "tag"],
        vec!["env", "version", "tag", "ls"],
        vec!["env", "version", "tag", "rm"],
        vec!["env", "tag"],
        vec!["env", "tag", "get"],
        vec!["env", "tag", "ls"],
        vec!["env", "tag", "mv"],
        vec!["env", "tag", "rm"],
        vec!["env", "rotate"],
        vec!["env", "open"],
        vec!["env", "run"],
        vec!["env", "settings", "get"],
        vec!["env", "settings", "set"],
        vec!["open"],
        vec!["run"],
        vec!["login"],
        vec!["logout"],
        vec!["whoami"],
        vec!["version"],
    ] {
        let mut args = cmd.clone();
        args.push("--help");
        let help = esc.ok(&args);
        assert!(
            help.contains("Example:\n  esc "),
            "no example in help of {cmd:?}"
        );
    }
    assert_eq!(
        esc.ok(&["version"]),
        format!("v{}\n", env!("CARGO_PKG_VERSION"))
    );
    assert_eq!(
        esc.fails(&["open", "--nope"]),
        "Error: unknown flag: --nope\n"
    );
    assert_eq!(
        esc.fails(&["open", "-z"]),
        "Error: unknown shorthand flag: 'z' in -z\n"
    );
    // pflag's words for a flag without its value and a bad duration
    assert_eq!(
        esc.fails(&["open", "default/test", "-f"]),
        "Error: flag needs an argument: 'f' in -f\n"
    );
    assert_eq!(
        esc.fails(&["env", "get", "default/test", "--value"]),
        "Error: flag needs an argument: --value\n"
    );
    assert_eq!(
        esc.fails(&["open", "default/test", "-l", "2 hours"]),
        "Error: invalid argument \"2 hours\" for \"-l, --lifetime\" flag: time: invalid duration \"2 hours\"\n"
    );
    assert_eq!(
        esc.fails(&["run", "default/test", "--lifetime=1y", "--", "true"]),
        "Error: invalid argument \"1y\" for \"-l, --lifetime\" flag: time: invalid duration \"1y\"\n"
    );
}

#[test]
fn get_prints_definitions_as_yaml_v3_at_two_spaces() {
    // Stored at four spaces, compact flow, a comment and a literal block:
    // printed as Go yaml.v3 re-emits it (spec/CLI.md 6.8).
    let esc = Esc::new();
    esc.init(
        "default/emitted",
        "# about\n\nimports: []\nvalues:\n    # the list\n    list:\n        - a   # first\n        - {\"k\":\"v\",\"n\":[1,2]}\n    text: |\n        line one\n        line two\n",
    );
    let definition = "values:\n  # the list\n  list:\n    - a # first\n    - {\"k\": \"v\", \"n\": [1, 2]}\n  text: |\n    line one\n    line two\n";
    let full = format!("imports: []\n{definition}");
    assert_eq!(
        esc.ok(&["env", "get", "default/emitted", "--definition"]),
        full
    );
    let report = esc.ok(&["env", "get", "default/emitted"]);
    assert!(
        report.contains(&format!("# Definition\n```yaml\n{full}\n```\n")),
        "{report}"
    );
    // a member is re-emitted on its own
    let member = esc.ok(&["env", "get", "default/emitted", "list"]);
    assert!(
        member.contains(
            "# Definition\n```yaml\n- a # first\n- {\"k\": \"v\", \"n\": [1, 2]}\n\n```\n"
        ),
        "{member}"
    );
}

#[test]
fn rollback_to_the_empty_first_revision() {
    // revision 1 is the empty creation revision (0 bytes = the empty
    // environment, LANGUAGE.md); rolling back to it must store it again
    let esc = Esc::new();
    esc.ok(&["env", "init", "default/empty"]);
    esc.ok(&["env", "set", "default/empty", "a", "b"]);
    assert_eq!(
        esc.ok(&["env", "version", "rollback", "default/empty@1"]),
        "Environment updated.\n"
    );
    assert_eq!(esc.ok(&["env", "get", "default/empty", "--definition"]), "");
    assert_eq!(esc.ok(&["open", "default/empty"]), "{}\n");
}

/// An argument that is not UTF-8 gets an error, not a crash, even where the
/// error's wording reads the command line again.
#[test]
fn arguments_that_are_not_utf8_get_an_error_not_a_crash() {
    use std::os::unix::ffi::OsStrExt as _;
    let esc = Esc::new();
    let bad = std::ffi::OsStr::from_bytes(b"\xff");
    for args in [
        vec![std::ffi::OsStr::new("env"), std::ffi::OsStr::new("ls"), bad],
        vec![std::ffi::OsStr::new("nosuch"), bad],
        vec![
            std::ffi::OsStr::new("env"),
            std::ffi::OsStr::new("get"),
            bad,
            std::ffi::OsStr::new("-f"),
        ],
    ] {
        let out = esc.cmd().args(&args).output().unwrap();
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.starts_with("Error: "), "{args:?}: {stderr}");
        assert!(!stderr.contains("bug"), "{args:?}: {stderr}");
    }
}
