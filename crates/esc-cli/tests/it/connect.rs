//! ESC Connect in local mode: the real `esc` binary signs `fn::open::external`
//! and `fn::rotate::external` calls with its own keys, and real adapters on
//! 127.0.0.1 (the example `env-adapter`, and a rotator written here with
//! `esc-adapter`) verify them against the JWKS that `esc oidc jwks` printed.

use std::os::unix::fs::PermissionsExt as _;
use std::process::Output;
use std::sync::{Arc, Mutex};

use axum::extract::{FromRef, State};
use axum::response::IntoResponse as _;
use axum::routing::{get, post};
use axum::{Json, Router};
use esc_adapter::{KeySource, Verified, Verifier, VerifierConfig};

use super::Esc;

const OPT_IN: &str = "ESC_ALLOW_INSECURE_LOOPBACK_HTTP";
const ISSUER_VAR: &str = "ESC_ISSUER_URL";
const SECRET: &str = "s3cr3t-from-the-adapter";

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// A listener on a free 127.0.0.1 port and its `http://` base URL.
fn bind(rt: &tokio::runtime::Runtime) -> (tokio::net::TcpListener, String) {
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    (listener, url)
}

fn serve(rt: &tokio::runtime::Runtime, listener: tokio::net::TcpListener, app: Router) {
    rt.spawn(async move { axum::serve(listener, app).await.unwrap() });
}

/// Run esc with extra environment variables.
fn run(esc: &Esc, vars: &[(&str, &str)], args: &[&str]) -> Output {
    let mut cmd = esc.cmd();
    cmd.env_remove(OPT_IN).env_remove(ISSUER_VAR);
    for (name, value) in vars {
        cmd.env(name, value);
    }
    cmd.args(args).output().unwrap()
}

/// [`run`], requiring success; stdout.
fn ok(esc: &Esc, vars: &[(&str, &str)], args: &[&str]) -> String {
    let out = run(esc, vars, args);
    assert!(
        out.status.success(),
        "esc {args:?} failed: {}\n{}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn kids(jwks: &str) -> Vec<String> {
    let jwks: serde_json::Value = serde_json::from_str(jwks).unwrap();
    jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap().to_owned())
        .collect()
}

/// `esc open` in local mode calls the example adapter, which fetches the
/// JWKS from where the `esc oidc --help` recipe hosts it and verifies the
/// call; plain `http://` needs the explicit opt-in.
#[test]
fn local_open_calls_the_example_adapter_verified_with_the_local_jwks() {
    let rt = runtime();
    let esc = Esc::new();

    // host `esc oidc jwks` and `esc oidc discovery` at the issuer URL
    let (jwks_listener, issuer) = bind(&rt);
    let with_issuer = [(ISSUER_VAR, issuer.as_str())];
    let jwks = ok(&esc, &with_issuer, &["oidc", "jwks"]);
    assert_eq!(kids(&jwks).len(), 1, "{jwks}");
    let discovery = ok(&esc, &with_issuer, &["oidc", "discovery"]);
    let discovery_json: serde_json::Value = serde_json::from_str(&discovery).unwrap();
    assert_eq!(discovery_json["issuer"], issuer.as_str());
    assert_eq!(
        discovery_json["jwks_uri"],
        format!("{issuer}/.well-known/jwks")
    );
    let json = |body: String| {
        move || async move { ([("content-type", "application/json")], body).into_response() }
    };
    serve(
        &rt,
        jwks_listener,
        Router::new()
            .route("/.well-known/jwks", get(json(jwks)))
            .route("/.well-known/openid-configuration", get(json(discovery))),
    );

    // the example adapter trusts that issuer and fetches its JWKS by URL
    let (adapter_listener, adapter_base) = bind(&rt);
    let adapter_url = format!("{adapter_base}/");
    let verifier = Verifier::new(VerifierConfig::new(&issuer, &adapter_url)).unwrap();
    serve(
        &rt,
        adapter_listener,
        env_adapter::app(env_adapter::AppState {
            verifier: Arc::new(verifier),
            values: Arc::new([("DB_PASSWORD".to_owned(), SECRET.to_owned())].into()),
            allowed_orgs: Some(Arc::new(vec!["test-user".to_owned()])),
        }),
    );

    esc.init(
        "app/dev",
        &format!(
            "values:\n  db:\n    fn::open::external:\n      url: {adapter_url}\n      request:\n        name: DB_PASSWORD\n  environmentVariables:\n    DB_PASSWORD: ${{db.response.value}}\n"
        ),
    );

    // without the opt-in, plain http:// is refused and the error says how to allow it
    let refused = run(&esc, &with_issuer, &["open", "app/dev"]);
    let stderr = text(&refused.stderr);
    assert!(stderr.contains("url must use https://"), "{stderr}");
    assert!(
        stderr.contains("set ESC_ALLOW_INSECURE_LOOPBACK_HTTP=1"),
        "{stderr}"
    );
    assert_eq!(text(&refused.stdout), "");
    assert!(!stderr.contains(SECRET));

    // with it, the adapter verifies the call and its answer is the value
    let allowed = [(ISSUER_VAR, issuer.as_str()), (OPT_IN, "1")];
    let opened: serde_json::Value =
        serde_json::from_str(&ok(&esc, &allowed, &["open", "app/dev"])).unwrap();
    assert_eq!(opened["db"]["response"]["value"], SECRET, "{opened}");
    assert_eq!(opened["environmentVariables"]["DB_PASSWORD"], SECRET);
    assert_eq!(
        ok(
            &esc,
            &allowed,
            &["open", "app/dev", "db.response.value", "-f", "string"]
        ),
        format!("{SECRET}\n")
    );

    // the value is secret: `esc run` masks it unless asked not to
    assert_eq!(
        ok(
            &esc,
            &allowed,
            &["run", "app/dev", "--", "printenv", "DB_PASSWORD"]
        ),
        "[secret]\n"
    );
    assert_eq!(
        ok(
            &esc,
            &allowed,
            &["run", "app/dev", "-i", "--", "printenv", "DB_PASSWORD"]
        ),
        format!("{SECRET}\n")
    );
    // and checking the environment does not call the adapter
    let got = ok(&esc, &allowed, &["env", "get", "app/dev"]);
    assert!(!got.contains(SECRET), "{got}");

    // tokens name the issuer: an adapter trusting another issuer refuses them
    let other_issuer = format!("{issuer}/other");
    let wrong = run(
        &esc,
        &[(ISSUER_VAR, other_issuer.as_str()), (OPT_IN, "1")],
        &["open", "app/dev"],
    );
    let stderr = text(&wrong.stderr);
    assert!(stderr.contains("401"), "{stderr}");
    assert_eq!(text(&wrong.stdout), "");

    rt.shutdown_background();
}

/// What the rotator adapter saw.
#[derive(Clone)]
struct RotatorState {
    verifier: Arc<Verifier>,
    calls: Arc<Mutex<Vec<(serde_json::Value, esc_adapter::Claims)>>>,
}

impl FromRef<RotatorState> for Arc<Verifier> {
    fn from_ref(state: &RotatorState) -> Arc<Verifier> {
        Arc::clone(&state.verifier)
    }
}

/// A rotator: records each verified request and answers a new password.
async fn rotate(State(state): State<RotatorState>, request: Verified) -> Json<serde_json::Value> {
    let body: serde_json::Value = request.json().unwrap();
    let mut calls = state.calls.lock().unwrap();
    calls.push((body, request.claims.clone()));
    Json(serde_json::json!({ "password": format!("pw-{}", calls.len()) }))
}

/// `esc env rotate` in local mode against a rotator that pins the JWKS:
/// the first rotation sends `state: null`, the next the previous state.
#[test]
fn local_rotate_sends_null_state_first_and_the_previous_state_next() {
    let rt = runtime();
    let esc = Esc::new();

    // the default issuer URL, and the JWKS pinned in the adapter
    let issuer_out = ok(&esc, &[], &["oidc", "issuer"]);
    let issuer = issuer_out.lines().next().unwrap().to_owned();
    assert_eq!(issuer, "https://local.esc.invalid", "{issuer_out}");
    let jwks = ok(&esc, &[], &["oidc", "jwks"]);

    let (listener, base) = bind(&rt);
    let url = format!("{base}/rotate");
    let mut config = VerifierConfig::new(&issuer, &url);
    config.keys = KeySource::Static(jwks);
    let calls = Arc::new(Mutex::new(Vec::new()));
    serve(
        &rt,
        listener,
        Router::new()
            .route("/rotate", post(rotate))
            .with_state(RotatorState {
                verifier: Arc::new(Verifier::new(config).unwrap()),
                calls: Arc::clone(&calls),
            }),
    );

    esc.init(
        "app/rot",
        &format!(
            "values:\n  creds:\n    fn::rotate::external:\n      inputs:\n        url: {url}\n        request:\n          service: db\n"
        ),
    );

    // refused without the opt-in: nothing is sent, the error says how to allow it
    // (reported as a failed path or as a diagnostic, depending on the service)
    let refused = run(&esc, &[], &["env", "rotate", "app/rot"]);
    let output = text(&refused.stdout) + &text(&refused.stderr);
    assert!(
        output.contains("rotate: external: url must use https://"),
        "{output}"
    );
    assert!(
        output.contains("set ESC_ALLOW_INSECURE_LOOPBACK_HTTP=1"),
        "{output}"
    );
    assert!(!output.contains("rotated.\n"), "{output}");
    assert!(calls.lock().unwrap().is_empty());

    let allowed = [(OPT_IN, "1")];
    for _ in 0..2 {
        let out = ok(&esc, &allowed, &["env", "rotate", "app/rot"]);
        assert!(
            out.starts_with("Environment 'app/rot' rotated.\nNew revision '"),
            "{out}"
        );
    }
    let calls = calls.lock().unwrap().clone();
    let bodies: Vec<&serde_json::Value> = calls.iter().map(|(body, _)| body).collect();
    assert_eq!(
        bodies,
        [
            &serde_json::json!({"request": {"service": "db"}, "state": null}),
            &serde_json::json!({"request": {"service": "db"}, "state": {"password": "pw-1"}}),
        ]
    );
    let claims = &calls[0].1;
    assert_eq!(claims.iss, issuer);
    assert_eq!(claims.aud, url);
    assert_eq!(claims.org, "test-user");
    assert_eq!(claims.trigger_user, "test-user");
    assert_eq!(claims.current_env, "test-user/app/rot");

    // opening reads the stored state (the adapter is not called again)
    let opened: serde_json::Value =
        serde_json::from_str(&ok(&esc, &[], &["open", "app/rot"])).unwrap();
    assert_eq!(opened["creds"]["current"]["password"], "pw-2", "{opened}");
    // the state is secret in the definition: shown only when asked
    let definition = ok(&esc, &[], &["env", "get", "app/rot", "--definition"]);
    assert!(!definition.contains("pw-2"), "{definition}");
    let shown = ok(
        &esc,
        &[],
        &["env", "get", "app/rot", "--definition", "--show-secrets"],
    );
    assert!(shown.contains("pw-2"), "{shown}");

    rt.shutdown_background();
}

/// The signing key is created once, private to the user, and reused by
/// later runs; commands that call no provider never create it.
#[test]
fn signing_key_is_private_and_reused_across_runs() {
    let esc = Esc::new();
    let keys_dir = esc.home().join("data").join("oidc-keys");
    esc.init("app/plain", "values:\n  greeting: hello\n");
    ok(&esc, &[], &["open", "app/plain"]);
    assert!(!keys_dir.exists(), "a command without providers made keys");

    let first = kids(&ok(&esc, &[], &["oidc", "jwks"]));
    let second = kids(&ok(&esc, &[], &["oidc", "jwks"]));
    assert_eq!(first.len(), 1);
    assert_eq!(first, second);
    let key_file = keys_dir.join(format!("{}.pk8", first[0]));
    let mode = std::fs::metadata(&key_file).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "{}", key_file.display());
    let dir_mode = std::fs::metadata(&keys_dir).unwrap().permissions().mode();
    assert_eq!(dir_mode & 0o077, 0, "{dir_mode:o}");

    // a key file others can read is refused, not used
    std::fs::set_permissions(&key_file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = run(&esc, &[], &["oidc", "jwks"]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("accessible to other users"),
        "{}",
        text(&out.stderr)
    );
}

/// The issuer URL: `$ESC_ISSUER_URL`, else the saved one, else the default.
#[test]
fn issuer_url_comes_from_the_variable_the_saved_setting_or_the_default() {
    let esc = Esc::new();
    assert_eq!(
        ok(&esc, &[], &["oidc", "issuer"]),
        "https://local.esc.invalid\n(the default; set it with `esc oidc issuer URL`)\n"
    );
    ok(&esc, &[], &["oidc", "issuer", "https://esc.example.com"]);
    assert_eq!(
        ok(&esc, &[], &["oidc", "issuer"]),
        "https://esc.example.com\n(saved with `esc oidc issuer URL`)\n"
    );
    let discovery: serde_json::Value =
        serde_json::from_str(&ok(&esc, &[], &["oidc", "discovery"])).unwrap();
    assert_eq!(discovery["issuer"], "https://esc.example.com");
    assert_eq!(
        ok(
            &esc,
            &[(ISSUER_VAR, "http://127.0.0.1:9/")],
            &["oidc", "issuer"]
        ),
        "http://127.0.0.1:9/\n(from $ESC_ISSUER_URL)\n"
    );

    let bad = run(&esc, &[], &["oidc", "issuer", "ftp://esc.example.com"]);
    assert!(!bad.status.success());
    assert_eq!(
        text(&bad.stderr),
        "Error: saving the issuer URL: \"ftp://esc.example.com\": the issuer URL must be an http:// or https:// URL with a host and no query or fragment\n"
    );
    let bad_var = run(&esc, &[(ISSUER_VAR, "not a url")], &["oidc", "discovery"]);
    assert!(!bad_var.status.success());
    assert!(
        text(&bad_var.stderr)
            .starts_with("Error: invalid ESC_ISSUER_URL: \"not a url\": not a URL"),
        "{}",
        text(&bad_var.stderr)
    );
    let bad_opt_in = run(&esc, &[(OPT_IN, "yes")], &["env", "ls"]);
    assert_eq!(
        text(&bad_opt_in.stderr),
        "Error: ESC_ALLOW_INSECURE_LOOPBACK_HTTP must be 1 or true (allow) or 0 or false\n"
    );

    ok(&esc, &[], &["oidc", "issuer", "--reset"]);
    assert!(ok(&esc, &[], &["oidc", "issuer"]).starts_with("https://local.esc.invalid\n"));
}

/// `esc oidc --help` explains the issuer URL, the key files and the opt-in.
#[test]
fn oidc_help_explains_hosting_and_the_opt_in() {
    let esc = Esc::new();
    let help = ok(&esc, &[], &["oidc", "--help"]);
    for needle in [
        "$ESC_ISSUER_URL",
        "$ESC_HOME/data/oidc-keys",
        "ESC_ALLOW_INSECURE_LOOPBACK_HTTP=1",
        "esc oidc jwks > site/.well-known/jwks",
        "esc oidc discovery > site/.well-known/openid-configuration",
    ] {
        assert!(help.contains(needle), "missing {needle:?} in:\n{help}");
    }
}

/// After `esc login URL` the server is the issuer: `esc oidc` prints what
/// it publishes, and refuses to set a local issuer URL.
#[test]
fn logged_in_oidc_commands_print_the_servers_documents() {
    use std::io::BufRead as _;

    let server_home = Esc::new();
    let mut server = server_home
        .std_cmd()
        .args(["serve", "--listen", "127.0.0.1:0", "--admin", "alice"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // kill the server even when an assertion fails
    struct Kill(std::process::Child);
    impl Drop for Kill {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let stdout = server.stdout.take().unwrap();
    let _server = Kill(server);
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = std::io::BufReader::new(stdout).read_line(&mut line);
        let _ = tx.send(line);
    });
    // `esc login http://127.0.0.1:PORT --token TOKEN`
    let line = rx
        .recv_timeout(std::time::Duration::from_secs(30))
        .expect("server did not start");
    let words: Vec<&str> = line.split_whitespace().collect();
    assert_eq!(words.len(), 5, "{line}");
    let (url, token) = (words[2], words[4]);

    let esc = Esc::new();
    ok(&esc, &[], &["login", url, "--token", token]);
    let rt = runtime();
    let published = rt
        .block_on(async {
            reqwest::get(format!("{url}/.well-known/jwks"))
                .await?
                .text()
                .await
        })
        .unwrap();
    let printed = ok(&esc, &[], &["oidc", "jwks"]);
    assert_eq!(kids(&printed), kids(&published));
    assert!(!kids(&printed).is_empty());
    let discovery: serde_json::Value =
        serde_json::from_str(&ok(&esc, &[], &["oidc", "discovery"])).unwrap();
    assert_eq!(discovery["issuer"], url);
    assert_eq!(
        ok(&esc, &[], &["oidc", "issuer"]),
        format!("{url}\n(the issuer of the server {url})\n")
    );
    let refused = run(&esc, &[], &["oidc", "issuer", "https://x.example.com"]);
    assert!(!refused.status.success());
    assert!(
        text(&refused.stderr).contains("esc serve --public-url"),
        "{}",
        text(&refused.stderr)
    );
    // no local keys were made for any of this
    assert!(!esc.home().join("data").join("oidc-keys").exists());
}

/// A Python adapter written like the published examples (PyJWT's
/// PyJWKClient, `jwt.decode(..., audience=ADAPTER_URL)`, body_hash) accepts
/// local mode's calls, fetching the JWKS where `esc oidc --help` hosts it.
#[test]
fn pyjwt_reference_adapter_accepts_local_calls() {
    let python = match std::env::var("ESC_TEST_PYTHON") {
        Ok(python) if !python.is_empty() => python,
        _ => {
            assert_ne!(
                std::env::var("ESC_TEST_SERVICES").as_deref(),
                Ok("required"),
                "ESC_TEST_PYTHON is not set (source scripts/services.sh && services_start)"
            );
            eprintln!("skipped: ESC_TEST_PYTHON is not set");
            return;
        }
    };
    let rt = runtime();
    let esc = Esc::new();
    let (jwks_listener, issuer) = bind(&rt);
    let with_issuer = [(ISSUER_VAR, issuer.as_str()), (OPT_IN, "1")];
    let jwks = ok(&esc, &with_issuer, &["oidc", "jwks"]);
    serve(
        &rt,
        jwks_listener,
        Router::new().route(
            "/.well-known/jwks",
            get(move || async move { ([("content-type", "application/json")], jwks) }),
        ),
    );

    // the script binds the port it is given: the URL (its audience) must be known first
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let adapter_url = format!("http://127.0.0.1:{port}/fetch");
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../esc-adapter/tests/python/pyjwt_adapter.py"
    );
    let mut child = std::process::Command::new(python)
        .arg(script)
        .env("JWKS_URL", format!("{issuer}/.well-known/jwks"))
        .env("ADAPTER_URL", &adapter_url)
        .env("PORT", port.to_string())
        .env("ADAPTER_VALUE_API_KEY", SECRET)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::inherit())
        .spawn()
        .unwrap();
    struct Kill(std::process::Child);
    impl Drop for Kill {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let stdout = child.stdout.take().unwrap();
    let _child = Kill(child);
    let mut line = String::new();
    // the script prints its port before serving, or exits (EOF)
    std::io::BufRead::read_line(&mut std::io::BufReader::new(stdout), &mut line).unwrap();
    assert_eq!(line.trim(), format!("listening on {port}"));

    esc.init(
        "app/py",
        &format!(
            "values:\n  api:\n    fn::open::external:\n      url: {adapter_url}\n      request:\n        name: API_KEY\n"
        ),
    );
    let opened: serde_json::Value =
        serde_json::from_str(&ok(&esc, &with_issuer, &["open", "app/py"])).unwrap();
    assert_eq!(opened["api"]["response"]["value"], SECRET, "{opened}");
    assert_eq!(opened["api"]["response"]["org"], "test-user", "{opened}");
    rt.shutdown_background();
}
