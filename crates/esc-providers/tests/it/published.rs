//! An adapter written as Pulumi's published docs show one (Python, PyJWT,
//! `tests/python/published_adapter.py`, stricter than the docs: every claim
//! required, `iss`/`nbf`/`iat` checked, replayed `jti` refused) accepts our
//! opens and rotations unchanged, over plain HTTP on 127.0.0.1 (the
//! operator's loopback opt-in).

use std::io::{BufRead as _, BufReader};
use std::process::{Child, Command, Stdio};

use esc_eval::{Mode, PlainValue, ProviderContext};
use serde_json::json;

use crate::support::{ISSUER, context, errors, evaluate, json, new_issuer};

/// `var`, or `None` after saying the test is skipped; a failure when
/// `ESC_TEST_SERVICES=required`.
fn service(var: &str) -> Option<String> {
    match std::env::var(var) {
        Ok(value) if !value.is_empty() => Some(value),
        _ => {
            assert_ne!(
                std::env::var("ESC_TEST_SERVICES").as_deref(),
                Ok("required"),
                "{var} is not set and ESC_TEST_SERVICES=required"
            );
            eprintln!("skipped: {var} is not set (source scripts/services.sh)");
            None
        }
    }
}

/// The Python adapter as a child process, killed on drop.
struct PythonAdapter {
    child: Child,
    base: String,
}

impl PythonAdapter {
    fn start(python: &str, jwks_url: &str) -> PythonAdapter {
        let script = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/python/published_adapter.py"
        );
        let mut child = Command::new(python)
            .arg(script)
            .env("JWKS_URL", jwks_url)
            .env("ISSUER", ISSUER)
            .env("PORT", "0")
            .env("DATABASE_PASSWORD", "hunter2-from-the-adapter")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        // The script prints its port before serving (or exits: EOF); read
        // on a thread so a child that stalls fails the test in 30 s.
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let Ok(line) = rx.recv_timeout(std::time::Duration::from_secs(30)) else {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the Python adapter printed no port within 30 s");
        };
        let port = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("unexpected first line from the adapter: {line:?}"));
        PythonAdapter {
            child,
            base: format!("http://127.0.0.1:{port}"),
        }
    }
}

impl Drop for PythonAdapter {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Serve `jwks` at `/.well-known/jwks.json` on 127.0.0.1; its URL.
async fn serve_jwks(jwks: serde_json::Value) -> (String, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!(
        "http://{}/.well-known/jwks.json",
        listener.local_addr().unwrap()
    );
    let app = axum::Router::new().route(
        "/.well-known/jwks.json",
        axum::routing::get(move || {
            let jwks = jwks.clone();
            async move { axum::Json(jwks) }
        }),
    );
    let task = tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    (url, task)
}

#[tokio::test]
async fn a_published_style_python_adapter_accepts_our_opens_and_rotations() {
    let Some(python) = service("ESC_TEST_PYTHON") else {
        return;
    };
    let issuer = new_issuer();
    let (jwks_url, jwks_task) = serve_jwks(serde_json::to_value(issuer.jwks()).unwrap()).await;
    let adapter = PythonAdapter::start(&python, &jwks_url);
    let config = esc_providers::ProvidersConfig {
        allow_insecure_loopback_http: true,
        retry_backoff: std::time::Duration::from_millis(20),
        ..esc_providers::ProvidersConfig::default()
    };
    let providers = esc_providers::registry(config, issuer);

    // Open: the value, and the claims the adapter verified.
    let url = format!("{}/fetch-secrets", adapter.base);
    let yaml = format!(
        "values:\n  db:\n    fn::open::external:\n      url: {url}\n      request:\n        secretName: DATABASE_PASSWORD\n  environmentVariables:\n    DB_PASSWORD: ${{db.response.value}}\n"
    );
    let eval = evaluate(&yaml, Mode::Eval, providers.clone()).await;
    assert_eq!(errors(&eval), Vec::<(String, String)>::new());
    let out = json(&eval, false);
    assert_eq!(
        out["environmentVariables"]["DB_PASSWORD"],
        "hunter2-from-the-adapter"
    );
    let claims = &out["db"]["response"]["claims"];
    let (iat, exp) = (
        claims["iat"].as_u64().unwrap(),
        claims["exp"].as_u64().unwrap(),
    );
    assert_eq!(exp - iat, 300);
    assert_eq!(
        *claims,
        json!({
            "iss": ISSUER,
            "sub": "pulumi:environments:org:acme:env:payments/prod",
            "aud": url,
            "exp": exp,
            "iat": iat,
            "nbf": iat,
            "org": "acme",
            "env": "payments/prod",
            "current_env": "acme/payments/prod",
            "root_env": "acme/payments/prod",
            "trigger_user": "alice",
        })
    );
    assert_eq!(json(&eval, true)["db"], json!("[secret]"));

    // Rotations: null state first, then the previous response.
    let rotator = providers.load_rotator("external").await.unwrap();
    let inputs = PlainValue::object([
        (
            "url",
            PlainValue::string(format!("{}/rotate-credentials", adapter.base)),
        ),
        (
            "request",
            PlainValue::object([("service", PlainValue::string("billing"))]),
        ),
    ]);
    let ctx = ProviderContext {
        environment: "payments/prod".into(),
        context: context(),
    };
    let first = rotator.rotate(&inputs, None, &ctx).await.unwrap();
    let second = rotator.rotate(&inputs, Some(&first), &ctx).await.unwrap();
    let second: serde_json::Value = serde_json::from_str(&second.to_json().unwrap()).unwrap();
    assert_eq!(
        second,
        json!({
            "current": {
                "apiKey": "billing-key-2",
                "n": 2,
                "sawState": {"apiKey": "billing-key-1", "n": 1, "sawState": null},
            },
            "previous": {"apiKey": "billing-key-1", "n": 1, "sawState": null},
        })
    );

    // 503 from send_error: retried with fresh tokens (a reused jti would be
    // a 401), then reported with the status.
    let yaml = format!(
        "values:\n  x:\n    fn::open::external:\n      url: {}/unavailable\n",
        adapter.base
    );
    let eval = evaluate(&yaml, Mode::Eval, providers).await;
    let errs = errors(&eval);
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert!(
        errs[0]
            .1
            .contains("503 Service Unavailable (after 3 attempts)"),
        "{errs:?}"
    );
    jwks_task.abort();
}
