//! Failures of `fn::open::external`: each a located diagnostic saying what
//! failed, never echoing what was sent.

use std::time::Duration;

use esc_eval::Mode;
use serde_json::json;

use crate::support::{Adapter, Silent, errors, evaluate, json, new_issuer, start_adapter};

/// Evaluate one `x: fn::open::external` of `url` with `extra` input lines;
/// the one error (path, summary).
async fn one_error(
    adapter: &Adapter,
    config: esc_providers::ProvidersConfig,
    url: &str,
    issuer: std::sync::Arc<esc_oidc::Issuer>,
) -> (String, String) {
    let providers = esc_providers::registry(config, issuer);
    let yaml = format!(
        "values:\n  x:\n    fn::open::external:\n      url: {url}\n      request:\n        password:\n          fn::secret: very-secret-request-value\n        plain: visible-request-value\n"
    );
    let eval = evaluate(&yaml, Mode::Eval, providers).await;
    let errs = errors(&eval);
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert_eq!(json(&eval, true)["x"], json!("[unknown]"));
    let _ = adapter;
    errs.into_iter().next().unwrap()
}

fn assert_no_request_echo(summary: &str) {
    assert!(!summary.contains("very-secret-request-value"), "{summary}");
    assert!(!summary.contains("visible-request-value"), "{summary}");
    assert!(!summary.contains("Bearer"), "{summary}");
}

#[tokio::test]
async fn non_200_is_a_located_error_with_status_and_excerpt() {
    let issuer = new_issuer();
    let adapter = start_adapter(&issuer, false).await;
    let url = adapter.url("/status/500");
    let (path, summary) = one_error(&adapter, adapter.config(), &url, issuer).await;
    assert!(path.starts_with("values.x"), "{path}");
    assert!(summary.contains("500 Internal Server Error"), "{summary}");
    assert!(
        summary.contains("adapter failure: backend unavailable"),
        "{summary}"
    );
    assert_no_request_echo(&summary);
    // 500 is not retried.
    assert_eq!(adapter.hits("/status/500"), 1);
}

#[tokio::test]
async fn oversized_responses_are_refused() {
    let issuer = new_issuer();
    let adapter = start_adapter(&issuer, false).await;
    for path in ["/big", "/big-stream"] {
        let url = adapter.url(path);
        let (_, summary) = one_error(&adapter, adapter.config(), &url, issuer.clone()).await;
        assert!(
            summary.contains("larger than the limit of 1048576 bytes"),
            "{path}: {summary}"
        );
    }
}

#[tokio::test]
async fn redirects_are_not_followed() {
    let issuer = new_issuer();
    let adapter = start_adapter(&issuer, false).await;
    let url = adapter.url("/redirect");
    let (_, summary) = one_error(&adapter, adapter.config(), &url, issuer).await;
    assert!(summary.contains("302 Found"), "{summary}");
    assert!(summary.contains("redirects are not followed"), "{summary}");
    assert_eq!(adapter.hits("/secret"), 0);
}

#[tokio::test]
async fn plain_http_only_to_loopback_and_only_when_allowed() {
    let issuer = new_issuer();
    let adapter = start_adapter(&issuer, true).await;
    let url = adapter.url("/echo");
    assert!(url.starts_with("http://127.0.0.1:"));

    let (_, summary) = one_error(&adapter, adapter.config(), &url, issuer.clone()).await;
    assert!(summary.contains("must use https://"), "{summary}");
    assert!(
        summary.contains("allow_insecure_loopback_http"),
        "{summary}"
    );
    assert_eq!(adapter.hits("/echo"), 0);

    let allowed = esc_providers::ProvidersConfig {
        allow_insecure_loopback_http: true,
        ..adapter.config()
    };
    // Not loopback: refused even when allowed (no connection is attempted).
    let (_, summary) = one_error(
        &adapter,
        allowed.clone(),
        "http://192.0.2.1/x",
        issuer.clone(),
    )
    .await;
    assert!(summary.contains("must use https://"), "{summary}");

    let providers = esc_providers::registry(allowed, issuer);
    let yaml = format!("values:\n  x:\n    fn::open::external:\n      url: {url}\n");
    let eval = evaluate(&yaml, Mode::Eval, providers).await;
    assert_eq!(errors(&eval), Vec::<(String, String)>::new());
    assert_eq!(json(&eval, false)["x"], json!({"response": {"got": {}}}));
    assert_eq!(adapter.rejected(), 0);
}

#[tokio::test]
async fn metadata_addresses_are_refused() {
    let issuer = new_issuer();
    let adapter = start_adapter(&issuer, false).await;
    for url in [
        "https://169.254.169.254/latest",
        "https://[fd00:ec2::254]/x",
    ] {
        let (_, summary) = one_error(&adapter, adapter.config(), url, issuer.clone()).await;
        assert!(
            summary.contains("link-local or cloud metadata"),
            "{url}: {summary}"
        );
    }
}

#[tokio::test]
async fn slow_adapter_times_out() {
    let issuer = new_issuer();
    let adapter = start_adapter(&issuer, false).await;
    let config = esc_providers::ProvidersConfig {
        total_timeout: Duration::from_millis(300),
        ..adapter.config()
    };
    let url = adapter.url("/sleep/3000");
    let (_, summary) = one_error(&adapter, config, &url, issuer).await;
    assert!(summary.contains("did not answer within 300ms"), "{summary}");
    assert_no_request_echo(&summary);
}

#[tokio::test]
async fn untrusted_certificate_is_refused() {
    let issuer = new_issuer();
    let adapter = start_adapter(&issuer, false).await;
    let config = esc_providers::ProvidersConfig {
        extra_root_certificates_pem: Vec::new(),
        ..adapter.config()
    };
    let url = adapter.url("/echo");
    let (_, summary) = one_error(&adapter, config, &url, issuer).await;
    assert!(
        summary.contains("cannot connect to the adapter"),
        "{summary}"
    );
    assert!(!summary.contains(&url), "{summary}");
    assert_eq!(adapter.hits("/echo"), 0);
}

#[tokio::test]
async fn invalid_json_response_is_an_error() {
    let issuer = new_issuer();
    let adapter = start_adapter(&issuer, false).await;
    let url = adapter.url("/invalid-json");
    let (_, summary) = one_error(&adapter, adapter.config(), &url, issuer).await;
    // The response would be secret: the message says where, not which
    // character the parser met ("this is not json": the 'h' of "this", read
    // as the literal true).
    assert!(
        summary.ends_with(
            "the adapter's response is not valid JSON (unexpected character at offset 1)"
        ),
        "{summary}"
    );
    assert!(!summary.contains("'h'"), "{summary}");
}

#[tokio::test]
async fn connection_errors_are_retried_then_reported() {
    let issuer = new_issuer();
    let adapter = start_adapter(&issuer, false).await;
    // A port nothing listens on: bind, note the port, close.
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let url = format!("https://127.0.0.1:{closed}/fetch");
    let (path, summary) = one_error(&adapter, adapter.config(), &url, issuer).await;
    assert!(path.starts_with("values.x"), "{path}");
    assert!(
        summary.contains("cannot connect to the adapter"),
        "{summary}"
    );
    assert!(summary.contains("after 3 attempts"), "{summary}");
    assert!(!summary.contains(&url), "{summary}");
}

#[tokio::test]
async fn bad_root_certificate_is_reported_at_the_call() {
    let issuer = new_issuer();
    let adapter = start_adapter(&issuer, false).await;
    let config = esc_providers::ProvidersConfig {
        extra_root_certificates_pem: vec![b"not a certificate".to_vec()],
        ..adapter.config()
    };
    assert!(esc_providers::Registry::new(config.clone(), issuer.clone()).is_err());
    let url = adapter.url("/echo");
    let (path, summary) = one_error(&adapter, config, &url, issuer).await;
    assert!(path.starts_with("values.x"), "{path}");
    assert!(
        summary.contains("invalid extra root certificate #0"),
        "{summary}"
    );
    assert_eq!(adapter.hits("/echo"), 0);
}

#[tokio::test]
async fn other_success_statuses_are_errors_too() {
    let issuer = new_issuer();
    let adapter = start_adapter(&issuer, false).await;
    for (path, status) in [
        ("/status/204", "204 No Content"),
        ("/status/201", "201 Created"),
    ] {
        let url = adapter.url(path);
        let (path_in_env, summary) =
            one_error(&adapter, adapter.config(), &url, issuer.clone()).await;
        assert!(path_in_env.starts_with("values.x"), "{path_in_env}");
        assert!(summary.contains(status), "{summary}");
        assert_no_request_echo(&summary);
        assert_eq!(adapter.hits(path), 1, "{path}");
    }
}

#[tokio::test]
async fn error_excerpt_is_short_and_on_one_line() {
    let issuer = new_issuer();
    let adapter = start_adapter(&issuer, false).await;
    let url = adapter.url("/long-status/500");
    let (_, summary) = one_error(&adapter, adapter.config(), &url, issuer).await;
    assert!(summary.contains("500 Internal Server Error"), "{summary}");
    assert!(summary.contains("first line"), "{summary}");
    assert!(summary.contains("second line"), "{summary}");
    assert!(!summary.contains(['\r', '\n', '\t']), "{summary}");
    assert!(summary.ends_with('…'), "{summary}");
    // 5000 bytes came; a few hundred are shown.
    assert!(summary.chars().count() < 400, "{summary}");
}

#[tokio::test]
async fn what_an_adapter_echoes_of_secrets_token_and_url_is_hidden() {
    let issuer = new_issuer();
    let adapter = start_adapter(&issuer, false).await;
    // A non-retried status and a retried one (each attempt's token hidden).
    for status in [400, 503] {
        let path = format!("/echo-error/{status}");
        let url = format!("{}?key=query-secret-123", adapter.url(&path));
        let (_, summary) = one_error(&adapter, adapter.config(), &url, issuer.clone()).await;
        assert!(summary.contains(&status.to_string()), "{summary}");
        assert!(summary.contains("[hidden]"), "{summary}");
        assert!(!summary.contains("very-secret-request-value"), "{summary}");
        assert!(!summary.contains("query-secret-123"), "{summary}");
        // No part of a JWT (base64url of `{"`) or the URL.
        assert!(!summary.contains("eyJ"), "{summary}");
        assert!(!summary.contains(&adapter.base), "{summary}");
        // What was not secret is quoted as the adapter said it.
        assert!(summary.contains("visible-request-value"), "{summary}");
    }
}

/// A long secret echoed across many chunks is read whole before it is
/// hidden (a secret cut at the read's end would match nothing), and the
/// escaped forms of Python's and PHP's encoders are hidden too.
#[tokio::test]
async fn long_and_escaped_echoes_of_a_secret_are_hidden() {
    let issuer = new_issuer();
    let adapter = start_adapter(&issuer, false).await;
    let providers = esc_providers::registry(adapter.config(), issuer.clone());
    let secret = format!("SECRETSTART-é/{}", "k".repeat(1500));
    for path in ["/echo-chunked/400", "/echo-python/400"] {
        let yaml = format!(
            "values:\n  x:\n    fn::open::external:\n      url: {}\n      request:\n        password:\n          fn::secret: {secret}\n",
            adapter.url(path)
        );
        let eval = evaluate(&yaml, Mode::Eval, providers.clone()).await;
        let errs = errors(&eval);
        assert_eq!(errs.len(), 1, "{errs:?}");
        let summary = &errs[0].1;
        assert!(summary.contains("bad request"), "{summary}");
        assert!(summary.contains("[hidden]"), "{summary}");
        assert!(!summary.contains("SECRETSTART"), "{summary}");
        assert!(!summary.contains("kkkk"), "{summary}");
    }
}

#[tokio::test]
async fn stalled_handshake_hits_the_connect_timeout_and_is_retried() {
    let issuer = new_issuer();
    let adapter = start_adapter(&issuer, false).await;
    let silent = Silent::start().await;
    let config = esc_providers::ProvidersConfig {
        connect_timeout: Duration::from_millis(200),
        ..adapter.config()
    };
    let started = std::time::Instant::now();
    let (path, summary) = one_error(&adapter, config, &silent.url, issuer).await;
    assert!(path.starts_with("values.x"), "{path}");
    assert!(
        summary.contains("cannot connect to the adapter within 200ms (after 3 attempts)"),
        "{summary}"
    );
    assert!(!summary.contains(&silent.url), "{summary}");
    assert_eq!(silent.accepted(), 3);
    // Three 200 ms attempts and two short backoffs, far below the 30 s total.
    assert!(started.elapsed() < Duration::from_secs(5));
}
