//! `fn::rotate::external`: the rotation body, state carried from one
//! rotation to the next, failures that change nothing, `open` without the
//! adapter.

use std::time::Duration;

use esc_eval::{Mode, PlainValue, ProviderContext, RotationStatus};
use serde_json::json;

use crate::support::{Adapter, Silent, context, errors, evaluate, json, new_issuer, start_adapter};

fn ctx() -> ProviderContext {
    let mut context = context();
    if let PlainValue::Object(map) = &mut context {
        map.insert(
            "rootEnvironment".into(),
            PlainValue::object([("name", PlainValue::string("apps/web"))]),
        );
    }
    ProviderContext {
        environment: "payments/prod".into(),
        context,
    }
}

fn inputs(adapter: &Adapter, path: &str) -> PlainValue {
    PlainValue::object([
        ("url", PlainValue::string(adapter.url(path))),
        (
            "request",
            PlainValue::object([("service", PlainValue::string("database"))]),
        ),
    ])
}

fn plain_json(v: &PlainValue) -> serde_json::Value {
    serde_json::from_str(&v.to_json().unwrap()).unwrap()
}

#[tokio::test]
async fn first_rotation_sends_null_state_and_the_second_sends_the_first_response() {
    let issuer = new_issuer();
    let adapter = start_adapter(&issuer, false).await;
    let providers = esc_providers::registry(adapter.config(), issuer.clone());
    let rotator = providers.load_rotator("external").await.unwrap();
    let inputs = inputs(&adapter, "/rotate");

    let first = rotator.rotate(&inputs, None, &ctx()).await.unwrap();
    let current = first.member("current").unwrap();
    assert!(current.is_secret());
    assert_eq!(plain_json(&first), json!({"current": {"key": "key-1"}}));

    let second = rotator.rotate(&inputs, Some(&first), &ctx()).await.unwrap();
    assert!(second.member("current").unwrap().is_secret());
    assert!(second.member("previous").unwrap().is_secret());
    assert_eq!(
        plain_json(&second),
        json!({"current": {"key": "key-2"}, "previous": {"key": "key-1"}})
    );

    let seen = adapter.seen();
    assert_eq!(seen.len(), 2);
    assert_eq!(
        seen[0].body,
        json!({"request": {"service": "database"}, "state": null})
    );
    assert_eq!(
        seen[1].body,
        json!({"request": {"service": "database"}, "state": {"key": "key-1"}})
    );
    assert_eq!(seen[0].claims.root_env, "acme/apps/web");
    assert_eq!(seen[0].claims.current_env, "acme/payments/prod");
    assert_eq!(adapter.rejected(), 0);

    // Opening uses the state only.
    let opened = rotator.open(&inputs, Some(&second), &ctx()).await.unwrap();
    assert!(opened.is_secret());
    assert_eq!(plain_json(&opened), json!({"current": {"key": "key-2"}}));
    let err = rotator.open(&inputs, None, &ctx()).await.unwrap_err();
    assert!(err.0.contains("not been rotated yet"), "{err}");
    assert_eq!(adapter.hits("/rotate"), 2);
}

#[tokio::test]
async fn rotation_failures_leave_state_unchanged_and_are_not_retried() {
    let issuer = new_issuer();
    let adapter = start_adapter(&issuer, false).await;
    let config = esc_providers::ProvidersConfig {
        total_timeout: Duration::from_millis(300),
        ..adapter.config()
    };
    let providers = esc_providers::registry(config, issuer.clone());
    for (path, expected) in [
        ("/status/500", "500 Internal Server Error"),
        ("/status/503", "503 Service Unavailable"),
        ("/sleep/3000", "did not answer within 300ms"),
        ("/invalid-json", "not valid JSON"),
    ] {
        let yaml = format!(
            "values:\n  creds:\n    fn::rotate::external:\n      inputs:\n        url: {}\n      state:\n        current: {{apiKey: existing-key-123}}\n",
            adapter.url(path)
        );
        let eval = evaluate(&yaml, Mode::Rotate { paths: Vec::new() }, providers.clone()).await;
        let rotations = eval.rotations();
        assert_eq!(rotations.len(), 1, "{path}");
        assert_eq!(rotations[0].status, RotationStatus::Failed, "{path}");
        assert!(rotations[0].patch.is_none(), "{path}");
        assert!(eval.patches().is_empty(), "{path}");
        let errs = errors(&eval);
        assert!(
            errs.iter()
                .any(|(p, s)| p.starts_with("values.creds") && s.contains(expected)),
            "{path}: {errs:?}"
        );
        assert!(
            !errs.iter().any(|(_, s)| s.contains("existing-key-123")),
            "{path}: {errs:?}"
        );
        // Never retried, even on 503.
        assert_eq!(adapter.hits(path), 1, "{path}");
    }
}

#[tokio::test]
async fn rotate_mode_writes_back_a_secret_state() {
    let issuer = new_issuer();
    let adapter = start_adapter(&issuer, false).await;
    let providers = esc_providers::registry(adapter.config(), issuer.clone());
    let yaml = format!(
        "values:\n  creds:\n    fn::rotate::external:\n      inputs:\n        url: {}\n        request: {{service: database}}\n      state:\n        current: {{apiKey: existing-key-123}}\n",
        adapter.url("/rotate")
    );
    let eval = evaluate(&yaml, Mode::Rotate { paths: Vec::new() }, providers.clone()).await;
    assert_eq!(errors(&eval), Vec::<(String, String)>::new());
    let patches = eval.patches();
    assert_eq!(patches.len(), 1);
    assert_eq!(
        plain_json(&patches[0].replacement),
        json!({"current": {"key": "key-1"}, "previous": {"apiKey": "existing-key-123"}})
    );
    assert!(
        patches[0]
            .replacement
            .member("current")
            .unwrap()
            .is_secret()
    );
    assert_eq!(
        adapter.seen()[0].body,
        json!({"request": {"service": "database"}, "state": {"apiKey": "existing-key-123"}})
    );
    // The opened value is the new current, secret.
    assert_eq!(
        json(&eval, false)["creds"],
        json!({"current": {"key": "key-1"}})
    );
    assert_eq!(json(&eval, true)["creds"], json!("[secret]"));

    // Opening (eval mode) does not call the adapter.
    let eval = evaluate(&yaml, Mode::Eval, providers.clone()).await;
    assert_eq!(errors(&eval), Vec::<(String, String)>::new());
    assert_eq!(
        json(&eval, false)["creds"],
        json!({"current": {"apiKey": "existing-key-123"}})
    );
    assert_eq!(adapter.hits("/rotate"), 1);

    // Without state, opening says it has not been rotated yet.
    let no_state = format!(
        "values:\n  creds:\n    fn::rotate::external:\n      inputs:\n        url: {}\n",
        adapter.url("/rotate")
    );
    let eval = evaluate(&no_state, Mode::Eval, providers).await;
    let errs = errors(&eval);
    assert!(
        errs.iter()
            .any(|(p, s)| p.starts_with("values.creds") && s.contains("not been rotated yet")),
        "{errs:?}"
    );
}

#[tokio::test]
async fn rotation_without_request_sends_an_empty_object() {
    let issuer = new_issuer();
    let adapter = start_adapter(&issuer, false).await;
    let providers = esc_providers::registry(adapter.config(), issuer.clone());
    let rotator = providers.load_rotator("external").await.unwrap();
    let inputs = PlainValue::object([("url", PlainValue::string(adapter.url("/rotate")))]);
    rotator.rotate(&inputs, None, &ctx()).await.unwrap();
    assert_eq!(
        adapter.seen()[0].body,
        json!({"request": {}, "state": null})
    );
    assert_eq!(adapter.seen()[0].method, "POST");
    assert_eq!(adapter.seen()[0].content_types, ["application/json"]);
}

#[tokio::test]
async fn connection_failures_of_a_rotation_are_not_retried() {
    let issuer = new_issuer();
    let silent = Silent::start().await;
    let config = esc_providers::ProvidersConfig {
        connect_timeout: Duration::from_millis(200),
        ..esc_providers::ProvidersConfig::default()
    };
    let providers = esc_providers::registry(config, issuer);
    let rotator = providers.load_rotator("external").await.unwrap();
    let inputs = PlainValue::object([("url", PlainValue::string(silent.url.clone()))]);
    let err = rotator.rotate(&inputs, None, &ctx()).await.unwrap_err();
    assert!(
        err.0.contains("cannot connect to the adapter within 200ms"),
        "{err}"
    );
    assert!(!err.0.contains("attempts"), "{err}");
    assert!(!err.0.contains(&silent.url), "{err}");
    assert_eq!(silent.accepted(), 1);
}

#[tokio::test]
async fn an_adapter_echoing_the_state_in_an_error_does_not_reveal_it() {
    let issuer = new_issuer();
    let adapter = start_adapter(&issuer, false).await;
    let providers = esc_providers::registry(adapter.config(), issuer.clone());
    // The state was written by hand, not as a secret: it is hidden anyway.
    let yaml = format!(
        "values:\n  creds:\n    fn::rotate::external:\n      inputs:\n        url: {}\n      state:\n        current: {{apiKey: existing-key-123, n: 20250115}}\n",
        adapter.url("/echo-error/400")
    );
    let eval = evaluate(&yaml, Mode::Rotate { paths: Vec::new() }, providers).await;
    assert_eq!(eval.rotations()[0].status, RotationStatus::Failed);
    let errs = errors(&eval);
    assert_eq!(errs.len(), 1, "{errs:?}");
    let summary = &errs[0].1;
    assert!(summary.contains("400 Bad Request"), "{summary}");
    assert!(summary.contains("[hidden]"), "{summary}");
    assert!(!summary.contains("existing-key-123"), "{summary}");
    assert!(!summary.contains("20250115"), "{summary}");
    assert!(!summary.contains("eyJ"), "{summary}");
}

#[tokio::test]
async fn one_failing_rotator_leaves_the_others_to_succeed() {
    let issuer = new_issuer();
    let adapter = start_adapter(&issuer, false).await;
    let providers = esc_providers::registry(adapter.config(), issuer.clone());
    let yaml = format!(
        "values:\n  broken:\n    fn::rotate::external:\n      inputs:\n        url: {}\n      state:\n        current: {{k: old-broken}}\n  working:\n    fn::rotate::external:\n      inputs:\n        url: {}\n      state:\n        current: {{k: old-working}}\n",
        adapter.url("/status/500"),
        adapter.url("/rotate")
    );
    let eval = evaluate(&yaml, Mode::Rotate { paths: Vec::new() }, providers).await;
    let mut rotations: Vec<_> = eval
        .rotations()
        .iter()
        .map(|r| (r.path.clone(), r.status, r.patch.is_some()))
        .collect();
    rotations.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        rotations,
        [
            ("values.broken".to_owned(), RotationStatus::Failed, false),
            ("values.working".to_owned(), RotationStatus::Succeeded, true),
        ]
    );
    let patches = eval.patches();
    assert_eq!(patches.len(), 1);
    assert_eq!(
        plain_json(&patches[0].replacement),
        json!({"current": {"key": "key-1"}, "previous": {"k": "old-working"}})
    );
}
