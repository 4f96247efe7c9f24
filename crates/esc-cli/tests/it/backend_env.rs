//! The backend and token from Pulumi's variables (spec/CLI.md § 4):
//! `PULUMI_BACKEND_URL`/`PULUMI_API` and `PULUMI_ACCESS_TOKEN`/
//! `ESC_ACCESS_TOKEN` for every command, `esc login`'s `--insecure`,
//! `--default-org`, `--shared` and `--oidc-*`, against a real `esc serve`
//! (and an HTTPS proxy with a self-signed certificate in front of it).

use std::path::Path;
use std::process::{Output, Stdio};
use std::sync::Arc;

use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::{TlsAcceptor, rustls};

use super::Esc;
use super::remote::{Server, start_server};

const NO_CREDENTIALS: &str = "Error: no credentials, please run `esc login` to log in\n";

/// `esc ARGS` with `vars` set (stdin closed), asserting that no token in
/// `secrets` appears on stdout or stderr.
fn run(esc: &Esc, vars: &[(&str, &str)], args: &[&str], secrets: &[&str]) -> Output {
    let mut cmd = esc.std_cmd();
    cmd.args(args).stdin(Stdio::null());
    for (name, value) in vars {
        cmd.env(name, value);
    }
    let out = cmd.output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    for secret in secrets {
        assert!(
            !text.contains(secret),
            "a token leaked in esc {args:?}: {text}"
        );
    }
    out
}

fn stdout(out: &Output) -> &str {
    std::str::from_utf8(&out.stdout).unwrap()
}

fn stderr(out: &Output) -> &str {
    std::str::from_utf8(&out.stderr).unwrap()
}

fn credentials(esc: &Esc) -> std::path::PathBuf {
    esc.home().join("credentials.json")
}

/// The names (not contents) of what is in `dir`.
fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// A server with `alice/app/dev` (`greeting: hello`) and a user `bob`
/// with his own token.
fn seeded_server() -> (Server, String) {
    let server = start_server();
    let setup = Esc::new();
    setup.ok(&["login", &server.url, "--token", &server.token]);
    setup.init("app/dev", "values:\n  greeting: hello\n");
    assert_eq!(server.admin_ok(&["user", "add", "bob"]), "Added user bob\n");
    let out = server.admin_ok(&["token", "create", "bob", "--description", "test"]);
    // "Created token <ID> for bob (shown once):\n<secret>\n"
    let bob = out.lines().nth(1).unwrap().to_owned();
    assert!(bob.starts_with("esc_"), "{out}");
    (server, bob)
}

#[test]
fn the_variables_alone_select_the_server_and_nothing_is_written() {
    let (server, bob) = seeded_server();
    let secrets = [server.token.as_str(), bob.as_str()];
    let esc = Esc::new();
    let url_with_slash = format!("{}/", server.url);
    let vars = [
        ("PULUMI_BACKEND_URL", url_with_slash.as_str()),
        ("PULUMI_ACCESS_TOKEN", server.token.as_str()),
    ];
    let ls = run(&esc, &vars, &["env", "ls"], &secrets);
    assert!(ls.status.success(), "{}", stderr(&ls));
    assert_eq!(stdout(&ls), "app/dev\n");
    // no saved token to replace: the login step is announced (spec § 4)
    assert_eq!(
        stderr(&ls),
        "Logging in using access token from PULUMI_ACCESS_TOKEN\n"
    );
    let open = run(
        &esc,
        &vars,
        &["open", "app/dev", "greeting", "-f", "string"],
        &secrets,
    );
    assert_eq!(stdout(&open), "hello\n", "{}", stderr(&open));
    let who = run(&esc, &vars, &["whoami"], &secrets);
    assert_eq!(
        stdout(&who),
        format!(
            "User: alice\nBackend: {} (from PULUMI_BACKEND_URL)\nToken: from PULUMI_ACCESS_TOKEN\n",
            server.url
        )
    );
    // nothing under $ESC_HOME: no credentials file, no local store
    assert_eq!(entries(esc.home()), Vec::<String>::new());

    // PULUMI_API when PULUMI_BACKEND_URL is empty; ESC_ACCESS_TOKEN when
    // PULUMI_ACCESS_TOKEN is; PULUMI_BACKEND_URL before PULUMI_API.
    let vars = [
        ("PULUMI_BACKEND_URL", ""),
        ("PULUMI_API", server.url.as_str()),
        ("PULUMI_ACCESS_TOKEN", ""),
        ("ESC_ACCESS_TOKEN", bob.as_str()),
    ];
    let who = run(&esc, &vars, &["whoami"], &secrets);
    assert_eq!(
        stdout(&who),
        format!(
            "User: bob\nBackend: {} (from PULUMI_API)\nToken: from ESC_ACCESS_TOKEN\n",
            server.url
        ),
        "{}",
        stderr(&who)
    );
    let vars = [
        ("PULUMI_BACKEND_URL", server.url.as_str()),
        ("PULUMI_API", "http://127.0.0.1:9"),
        ("PULUMI_ACCESS_TOKEN", bob.as_str()),
        ("ESC_ACCESS_TOKEN", "not-used"),
    ];
    let who = run(&esc, &vars, &["whoami"], &secrets);
    assert!(
        stdout(&who).starts_with(&format!(
            "User: bob\nBackend: {} (from PULUMI_BACKEND_URL)\nToken: from PULUMI_ACCESS_TOKEN\n",
            server.url
        )),
        "{}{}",
        stdout(&who),
        stderr(&who)
    );
    assert_eq!(entries(esc.home()), Vec::<String>::new());

    // A token variable without a URL anywhere: local mode, as before.
    let local = run(
        &esc,
        &[("PULUMI_ACCESS_TOKEN", server.token.as_str())],
        &["whoami"],
        &secrets,
    );
    assert!(
        stdout(&local).starts_with("User: test-user\nBackend: local ("),
        "{}",
        stdout(&local)
    );
    assert_eq!(stderr(&local), "");
}

#[test]
fn a_url_from_the_variables_without_a_token_is_the_references_error() {
    let server = start_server();
    let esc = Esc::new();
    for args in [&["env", "ls"][..], &["open", "app/dev"], &["whoami"]] {
        let out = run(&esc, &[("PULUMI_BACKEND_URL", &server.url)], args, &[]);
        assert_eq!(out.status.code(), Some(1));
        assert_eq!(stderr(&out), NO_CREDENTIALS, "esc {args:?}");
        assert_eq!(stdout(&out), "");
    }
    assert_eq!(entries(esc.home()), Vec::<String>::new());

    // A saved account of another URL lends it no token.
    esc.ok(&["login", &server.url, "--token", &server.token]);
    let saved = std::fs::read_to_string(credentials(&esc)).unwrap();
    let out = run(
        &esc,
        &[("PULUMI_API", "http://127.0.0.1:9")],
        &["env", "ls"],
        &[&server.token],
    );
    assert_eq!(stderr(&out), NO_CREDENTIALS);
    assert_eq!(std::fs::read_to_string(credentials(&esc)).unwrap(), saved);
    // The same URL with a trailing slash is the saved account.
    let out = run(
        &esc,
        &[("PULUMI_BACKEND_URL", &format!("{}/", server.url))],
        &["whoami"],
        &[&server.token],
    );
    assert_eq!(
        stdout(&out),
        format!(
            "User: alice\nBackend: {} (from PULUMI_BACKEND_URL)\nToken: saved by `esc login`\n",
            server.url
        )
    );

    // URLs esc login refuses are refused from the variables too, naming them.
    for (name, url, message) in [
        (
            "PULUMI_BACKEND_URL",
            "s3://bucket/state",
            "s3://bucket/state does not support Pulumi ESC.",
        ),
        (
            "PULUMI_API",
            "https://app.pulumi.com/acme",
            "https://app.pulumi.com/acme is not a valid self-hosted backend, use `esc login` without arguments to log into the Pulumi Cloud backend",
        ),
        (
            "PULUMI_BACKEND_URL",
            "ftp://x",
            "ftp://x is not a valid server URL: it must start with http:// or https://",
        ),
    ] {
        let out = run(
            &esc,
            &[(name, url), ("PULUMI_ACCESS_TOKEN", "t")],
            &["env", "ls"],
            &[],
        );
        assert_eq!(stderr(&out), format!("Error: {name}: {message}\n"));
    }
    // Commands that use no backend ignore them.
    let out = run(&esc, &[("PULUMI_BACKEND_URL", "s3://b")], &["version"], &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    // Logging out leaves the variable in charge, and says so.
    let out = run(
        &esc,
        &[("PULUMI_BACKEND_URL", "http://127.0.0.1:9")],
        &["logout"],
        &[&server.token],
    );
    assert_eq!(stdout(&out), format!("Logged out of {}\n", server.url));
    assert_eq!(
        stderr(&out),
        "warning: PULUMI_BACKEND_URL is set: commands use http://127.0.0.1:9 while it is\n"
    );
    assert!(!credentials(&esc).exists());
}

#[test]
fn a_token_variable_wins_over_the_saved_token() {
    let (server, bob) = seeded_server();
    let secrets = [server.token.as_str(), bob.as_str(), "wrong-token-123"];
    let esc = Esc::new();
    esc.ok(&["login", &server.url, "--token", &server.token]);
    let saved = std::fs::read_to_string(credentials(&esc)).unwrap();

    let who = run(
        &esc,
        &[("PULUMI_ACCESS_TOKEN", &bob)],
        &["whoami"],
        &secrets,
    );
    assert_eq!(
        stdout(&who),
        format!(
            "User: bob\nBackend: {} (saved by `esc login`)\nToken: from PULUMI_ACCESS_TOKEN\n",
            server.url
        )
    );
    assert_eq!(
        stderr(&who),
        "Logging in using access token from PULUMI_ACCESS_TOKEN\n"
    );
    // The same token as the saved one: nothing to announce.
    let same = run(
        &esc,
        &[("PULUMI_ACCESS_TOKEN", &server.token)],
        &["env", "ls"],
        &secrets,
    );
    assert_eq!(stdout(&same), "app/dev\n");
    assert_eq!(stderr(&same), "");
    // A wrong token variable fails with the server's answer.
    let wrong = run(
        &esc,
        &[("PULUMI_ACCESS_TOKEN", "wrong-token-123")],
        &["env", "ls"],
        &secrets,
    );
    assert_eq!(wrong.status.code(), Some(1));
    let err = stderr(&wrong);
    assert!(
        err.starts_with("Logging in using access token from PULUMI_ACCESS_TOKEN\nError: ")
            && err.contains("[401] "),
        "{err}"
    );
    // The variables never change the saved account.
    assert_eq!(std::fs::read_to_string(credentials(&esc)).unwrap(), saved);
}

#[test]
fn login_takes_the_url_and_token_from_the_variables() {
    let (server, bob) = seeded_server();
    let secrets = [server.token.as_str(), bob.as_str(), "wrong-token-123"];
    let esc = Esc::new();
    // no URL, no token: PULUMI_BACKEND_URL and PULUMI_ACCESS_TOKEN
    let out = run(
        &esc,
        &[
            ("PULUMI_BACKEND_URL", &server.url),
            ("PULUMI_ACCESS_TOKEN", &server.token),
            ("ESC_ACCESS_TOKEN", "wrong-token-123"),
        ],
        &["login"],
        &secrets,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        format!("Logged in to {} as alice ()\n", server.url)
    );
    assert_eq!(
        stderr(&out),
        "Logging in using access token from PULUMI_ACCESS_TOKEN\n"
    );
    let who = esc.ok(&["whoami"]);
    assert_eq!(
        who,
        format!(
            "User: alice\nBackend: {} (saved by `esc login`)\nToken: saved by `esc login`\n",
            server.url
        )
    );
    // --token before the variables
    let out = run(
        &esc,
        &[("PULUMI_ACCESS_TOKEN", "wrong-token-123")],
        &["login", &server.url, "--token", &bob],
        &secrets,
    );
    assert_eq!(
        stdout(&out),
        format!("Logged in to {} as bob ()\n", server.url)
    );
    assert_eq!(stderr(&out), "");
    // ESC_ACCESS_TOKEN when PULUMI_ACCESS_TOKEN is not set
    let out = run(
        &esc,
        &[("ESC_ACCESS_TOKEN", &server.token)],
        &["login", &server.url],
        &secrets,
    );
    assert_eq!(
        stdout(&out),
        format!("Logged in to {} as alice ()\n", server.url)
    );
    assert_eq!(
        stderr(&out),
        "Logging in using access token from ESC_ACCESS_TOKEN\n"
    );
    // the saved token itself in the variable: nothing to announce (§ 4:
    // only a variable that differs from the stored token is announced)
    let out = run(
        &esc,
        &[("PULUMI_ACCESS_TOKEN", &server.token)],
        &["login"],
        &secrets,
    );
    assert_eq!(
        stdout(&out),
        format!("Logged in to {} as alice ()\n", server.url)
    );
    assert_eq!(stderr(&out), "");
    // a wrong variable token is refused and the saved account kept
    let saved = std::fs::read_to_string(credentials(&esc)).unwrap();
    let out = run(
        &esc,
        &[("PULUMI_ACCESS_TOKEN", "wrong-token-123")],
        &["login"],
        &secrets,
    );
    assert!(
        stderr(&out).contains(&format!("Error: logging in to {}: [401] ", server.url)),
        "{}",
        stderr(&out)
    );
    assert_eq!(std::fs::read_to_string(credentials(&esc)).unwrap(), saved);
    // no token anywhere for a new URL and nothing to read it from
    let fresh = Esc::new();
    let out = run(
        &fresh,
        &[("PULUMI_BACKEND_URL", &server.url)],
        &["login"],
        &secrets,
    );
    assert_eq!(
        stderr(&out),
        format!(
            "Enter your access token for {}: Error: no access token given: pass --token or set PULUMI_ACCESS_TOKEN\n",
            server.url
        )
    );
    assert!(!credentials(&fresh).exists());
}

#[test]
fn default_org_is_saved_with_the_account_and_used() {
    let server = start_server();
    server.admin_ok(&["member", "set", "acme", "alice", "--role", "admin"]);
    let esc = Esc::new();
    esc.ok(&[
        "login",
        &server.url,
        "--token",
        &server.token,
        "--default-org",
        "acme",
    ]);
    let text = std::fs::read_to_string(credentials(&esc)).unwrap();
    assert!(text.contains("\"defaultOrg\": \"acme\""), "{text}");
    assert_eq!(
        esc.ok(&["env", "init", "app/dev"]),
        "Environment created: acme/app/dev\n"
    );
    esc.ok(&["env", "set", "app/dev", "x", "1"]);
    // (ls blanks the user's own organization only, spec § 5)
    assert_eq!(esc.ok(&["env", "ls"]), "acme/app/dev\n");
    assert_eq!(esc.ok(&["open", "app/dev", "x", "-f", "string"]), "1\n");
    assert!(
        esc.ok(&["whoami"])
            .contains("\nDefault organization: acme (saved by `esc login --default-org`)\n")
    );
    // Logging in again without the flag keeps it; "" forgets it.
    esc.ok(&["login"]);
    assert_eq!(
        esc.ok(&["env", "init", "app/stage"]),
        "Environment created: acme/app/stage\n"
    );
    esc.ok(&["login", "--default-org", ""]);
    assert!(!esc.ok(&["whoami"]).contains("Default organization"));
    assert_eq!(
        esc.ok(&["env", "init", "app/prod"]),
        "Environment created: alice/app/prod\n"
    );
    // The saved default belongs to a server's account: none in local mode.
    let local = Esc::new();
    assert_eq!(
        local.fails(&["login", "--default-org", "acme"]),
        "Error: --default-org and --insecure are saved with a server's account: run `esc login <url>` with them\n"
    );
}

#[test]
fn shared_and_oidc_flags() {
    let server = start_server();
    let esc = Esc::new();
    assert_eq!(
        esc.fails(&["login", "--shared", &server.url]),
        "Error: a cloud URL may not be specified with --shared\n"
    );
    assert_eq!(
        esc.fails(&["login", "--shared", "-c", &server.url]),
        "Error: a cloud URL may not be specified with --shared\n"
    );
    esc.ok(&["login", &server.url, "--token", &server.token]);
    // --shared alone logs in to the current server (esc has no pulumi
    // CLI account to leave alone)
    assert_eq!(
        esc.ok(&["login", "--shared"]),
        format!("Logged in to {} as alice ()\n", server.url)
    );
    let out = run(
        &esc,
        &[],
        &[
            "login",
            &server.url,
            "--oidc-token",
            "oidc-secret-987",
            "--oidc-org",
            "acme",
        ],
        &["oidc-secret-987"],
    );
    assert_eq!(
        stderr(&out),
        "Error: --oidc-token, --oidc-org: OIDC token exchange is a Pulumi Cloud feature that esc does not support; log in with an access token (--token or PULUMI_ACCESS_TOKEN)\n"
    );
    assert!(
        esc.ok(&["login", "--help"]).contains("PULUMI_BACKEND_URL"),
        "login --help names the variables"
    );
}

/// A TLS-terminating proxy on 127.0.0.1 with a self-signed certificate in
/// front of `target` (`host:port`); stops when dropped.
struct TlsProxy {
    url: String,
    _runtime: tokio::runtime::Runtime,
}

fn start_tls_proxy(target: &str) -> TlsProxy {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let certified =
        rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])
            .unwrap();
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(certified.signing_key.serialize_der().into());
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![certified.cert.der().clone()], key)
        .unwrap();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    let acceptor = TlsAcceptor::from(Arc::new(config));
    let listener = runtime.block_on(TcpListener::bind("127.0.0.1:0")).unwrap();
    let port = listener.local_addr().unwrap().port();
    let target = target.to_owned();
    runtime.spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            let target = target.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(tcp).await else {
                    return;
                };
                if let Ok(mut upstream) = TcpStream::connect(&target).await {
                    let _ = tokio::io::copy_bidirectional(&mut tls, &mut upstream).await;
                }
            });
        }
    });
    TlsProxy {
        url: format!("https://127.0.0.1:{port}"),
        _runtime: runtime,
    }
}

#[test]
fn insecure_is_remembered_and_turns_tls_verification_off() {
    let server = start_server();
    let proxy = start_tls_proxy(server.url.trim_start_matches("http://"));
    let secrets = [server.token.as_str()];
    let esc = Esc::new();
    // verified by default: the self-signed certificate is refused
    let out = run(
        &esc,
        &[],
        &["login", &proxy.url, "--token", &server.token],
        &secrets,
    );
    assert!(
        stderr(&out).starts_with(&format!("Error: logging in to {}: ", proxy.url)),
        "{}",
        stderr(&out)
    );
    assert!(!credentials(&esc).exists());

    let out = run(
        &esc,
        &[],
        &["login", &proxy.url, "--token", &server.token, "--insecure"],
        &secrets,
    );
    assert_eq!(
        stdout(&out),
        format!("Logged in to {} as alice ()\n", proxy.url),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        stderr(&out),
        format!(
            "warning: TLS certificate verification is off for {} (--insecure; `esc login --insecure=false` turns it back on)\n",
            proxy.url
        )
    );
    let text = std::fs::read_to_string(credentials(&esc)).unwrap();
    assert!(text.contains("\"insecure\": true"), "{text}");
    // every command on that account works, and says verification is off
    let warning = format!(
        "warning: TLS certificate verification is off for {} (saved by `esc login --insecure`)\n",
        proxy.url
    );
    esc.init("app/dev", "values:\n  greeting: hello\n");
    let ls = run(&esc, &[], &["env", "ls"], &secrets);
    assert_eq!(stdout(&ls), "app/dev\n");
    assert_eq!(stderr(&ls), warning);
    let who = run(&esc, &[], &["whoami"], &secrets);
    assert_eq!(
        stdout(&who),
        format!(
            "User: alice\nBackend: {} (saved by `esc login`)\nToken: saved by `esc login`\nTLS verification: off (saved by `esc login --insecure`)\n",
            proxy.url
        )
    );
    // logging in again keeps it; --insecure=false turns verification back
    // on, which this certificate then fails (and the saved account stays)
    let again = run(&esc, &[], &["login"], &secrets);
    assert!(again.status.success(), "{}", stderr(&again));
    let out = run(&esc, &[], &["login", "--insecure=false"], &secrets);
    assert!(
        stderr(&out).starts_with(&format!("Error: logging in to {}: ", proxy.url)),
        "{}",
        stderr(&out)
    );
    assert_eq!(std::fs::read_to_string(credentials(&esc)).unwrap(), text);
    // the variables naming that URL use the saved option with the saved URL
    let out = run(
        &esc,
        &[("PULUMI_BACKEND_URL", &proxy.url)],
        &["env", "ls"],
        &secrets,
    );
    assert_eq!(stdout(&out), "app/dev\n", "{}", stderr(&out));
    // ... but a URL from the variables alone is always verified
    let fresh = Esc::new();
    let out = run(
        &fresh,
        &[
            ("PULUMI_BACKEND_URL", &proxy.url),
            ("PULUMI_ACCESS_TOKEN", &server.token),
        ],
        &["env", "ls"],
        &secrets,
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        !stderr(&out).contains("verification is off"),
        "{}",
        stderr(&out)
    );
    assert_eq!(stdout(&out), "");
}
