//! Remote mode: `esc serve` (the real server) in one home, `esc login` and
//! the commands in another, all over HTTP on 127.0.0.1.

use std::io::BufRead as _;
use std::process::{Child, Stdio};

use super::Esc;

/// A running `esc serve` on a free port; killed on drop (also used by
/// `terminal.rs`).
pub(crate) struct Server {
    child: Child,
    pub(crate) url: String,
    pub(crate) token: String,
    home: Esc,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub(crate) fn start_server() -> Server {
    let home = Esc::new();
    let mut child = home
        .std_cmd()
        .args(["serve", "--listen", "127.0.0.1:0", "--admin", "alice"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    // The first line is `esc login http://127.0.0.1:PORT --token TOKEN`.
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = std::io::BufReader::new(stdout).read_line(&mut line);
        let _ = tx.send(line);
    });
    let line = rx
        .recv_timeout(std::time::Duration::from_secs(30))
        .expect("server did not start");
    let words: Vec<&str> = line.split_whitespace().collect();
    assert_eq!(words.len(), 5, "unexpected first line: {line}");
    Server {
        url: words[2].to_string(),
        token: words[4].to_string(),
        child,
        home,
    }
}

impl Server {
    /// `esc serve ARGS` (user, member, token administration) on this
    /// server's database; returns stdout.
    pub(crate) fn admin_ok(&self, args: &[&str]) -> String {
        let out = self
            .home
            .std_cmd()
            .arg("serve")
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "esc serve {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }
}

#[test]
fn commands_work_against_a_server() {
    let server = start_server();
    let esc = Esc::new();
    let login = esc.ok(&["login", &server.url, "--token", &server.token]);
    assert_eq!(login, format!("Logged in to {} as alice ()\n", server.url));
    use std::os::unix::fs::PermissionsExt;
    let creds = esc.home().join("credentials.json");
    assert_eq!(
        std::fs::metadata(&creds).unwrap().permissions().mode() & 0o777,
        0o600
    );
    assert!(esc.ok(&["whoami"]).starts_with(&format!(
        "User: alice\nBackend: {} (saved by `esc login`)\nToken: saved by `esc login`\n",
        server.url
    )));

    assert_eq!(
        esc.ok(&["env", "init", "app/dev"]),
        "Environment created: alice/app/dev\n"
    );
    esc.ok(&["env", "set", "app/dev", "greeting", "hello"]);
    esc.ok(&["env", "set", "app/dev", "password", "hunter2", "--secret"]);
    esc.ok(&[
        "env",
        "set",
        "app/dev",
        "environmentVariables.PASSWORD",
        "${password}",
    ]);
    assert_eq!(
        esc.ok(&["open", "app/dev", "greeting", "-f", "string"]),
        "hello\n"
    );
    assert_eq!(
        esc.ok(&["env", "get", "app/dev", "password", "--value", "string"]),
        "[secret]\n"
    );
    assert_eq!(
        esc.ok(&["env", "get", "app/dev", "--value", "dotenv"]),
        "PASSWORD=\"[secret]\"\n"
    );
    assert_eq!(
        esc.ok(&["open", "app/dev", "-f", "dotenv"]),
        "PASSWORD=\"hunter2\"\n"
    );
    let out = esc
        .cmd()
        .args(["run", "app/dev", "--", "sh", "-c", "echo $PASSWORD"])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "[secret]\n");
    assert_eq!(esc.ok(&["env", "ls"]), "app/dev\n");

    esc.ok(&["env", "version", "tag", "app/dev@stable", "@2"]);
    assert!(
        esc.ok(&["env", "version", "app/dev@stable"])
            .starts_with("stable\nRevision 2\n")
    );
    let history = esc.ok(&["env", "version", "history", "app/dev"]);
    assert!(
        history.starts_with("revision 4 (tag: latest)\nAuthor: alice <alice>\n"),
        "{history}"
    );
    assert!(
        esc.ok(&["env", "tag", "app/dev", "owner", "alice"])
            .starts_with("Name: owner\nValue: alice\n")
    );
    assert_eq!(
        esc.ok(&[
            "env",
            "settings",
            "set",
            "app/dev",
            "deletion-protected",
            "true"
        ]),
        "true\n"
    );
    assert!(
        esc.fails(&["env", "rm", "app/dev", "-y"])
            .starts_with("Error: cannot delete environment: deletion protection is enabled.")
    );
    esc.ok(&[
        "env",
        "settings",
        "set",
        "app/dev",
        "deletion-protected",
        "false",
    ]);
    assert_eq!(
        esc.ok(&["env", "rm", "app/dev", "-y"]),
        "Environment \"alice/app/dev\" has been removed!\n"
    );
    assert!(esc.fails(&["open", "app/dev"]).contains("[404]"));

    assert_eq!(
        esc.ok(&["logout"]),
        format!("Logged out of {}\n", server.url)
    );
    assert!(!creds.exists());
    assert!(esc.ok(&["whoami"]).contains("Backend: local ("));

    // The console link is the user's page on PULUMI_CONSOLE_DOMAIN when set.
    let out = esc
        .cmd()
        .env("PULUMI_CONSOLE_DOMAIN", "console.example.com")
        .args(["login", &server.url, "--token", &server.token])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        format!(
            "Logged in to {} as alice (http://console.example.com/alice)\n",
            server.url
        )
    );
    // Logging out of another server keeps this one; --all forgets it.
    assert_eq!(
        esc.ok(&["logout", "http://127.0.0.1:9"]),
        "Logged out of http://127.0.0.1:9\n"
    );
    assert!(creds.exists());
    assert_eq!(
        esc.fails(&["logout", "--all", &server.url]),
        "Error: only one of --all, --cloud-url or argument URL may be specified, not both\n"
    );
    assert_eq!(esc.ok(&["logout", "--all"]), "Logged out of all clouds\n");
    assert!(!creds.exists());
    esc.ok(&["login", &server.url, "--token", &server.token]);
    assert_eq!(
        esc.ok(&["logout", "-c", &server.url]),
        format!("Logged out of {}\n", server.url)
    );
    assert!(!creds.exists());
}

#[test]
fn a_bad_token_is_refused_and_not_saved() {
    let server = start_server();
    let esc = Esc::new();
    let err = esc.fails(&["login", &server.url, "--token", "wrong"]);
    assert!(
        err.starts_with(&format!("Error: logging in to {}: [401] ", server.url)),
        "{err}"
    );
    assert!(!esc.home().join("credentials.json").exists());
}

/// "Defined at" of `env get ENV PATH` comes from the check's `exprs` in
/// both modes: through a builtin's argument (where no value exists, so the
/// value-trace fallback would print nothing) and down an import's base.
#[test]
fn env_get_defined_at_comes_from_the_check_exprs_in_both_modes() {
    let server = start_server();
    let remote = Esc::new();
    remote.ok(&["login", &server.url, "--token", &server.token]);
    let local = Esc::new();
    let base = "values:\n  greeting: hi\n";
    let top = "imports:\n  - app/base\nvalues:\n  greeting: hello\n  doc:\n    fn::toJSON:\n      a: [1, 2]\n";
    for esc in [&remote, &local] {
        esc.init("app/base", base);
        esc.init("app/top", top);
        let greeting = esc.ok(&["env", "get", "app/top", "greeting"]);
        assert!(
            greeting.ends_with("\n# Defined at\n- top:4:13\n- app/base:2:13\n\n"),
            "{greeting}"
        );
        let item = esc.ok(&["env", "get", "app/top", r#"doc["fn::toJSON"].a[1]"#]);
        assert_eq!(
            item, "# Definition\n```yaml\n2\n\n```\n\n# Defined at\n- top:7:14\n\n",
            "{item}"
        );
        // Imports show only their definition.
        let import = esc.ok(&["env", "get", "app/top", "imports[0]"]);
        assert!(!import.contains("Defined at"), "{import}");
    }
}
