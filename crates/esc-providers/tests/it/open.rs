//! `fn::open::external` end to end over HTTPS: values, redaction,
//! `secret: false`, the token's claims, check mode, retries.

use esc_eval::Mode;
use serde_json::json;

use crate::support::{errors, json, open_against};

#[tokio::test]
async fn open_over_https_with_verified_token() {
    let (adapter, eval) = open_against(
        r#"values:
  secretOne:
    fn::open::external:
      url: {adapter}/secret
      request:
        secretName: DATABASE_PASSWORD
        nested: {n: 1.50, list: [true, null]}
  plainOne:
    fn::open::external:
      url: {adapter}/echo
      request: {who: plain}
      secret: false
  environmentVariables:
    DB_PASSWORD: ${secretOne.response.value}
"#,
        Mode::Eval,
    )
    .await;
    assert_eq!(errors(&eval), Vec::<(String, String)>::new());

    let revealed = json(&eval, false);
    assert_eq!(
        revealed["secretOne"],
        json!({"response": {"value": "s3cr3t-value", "n": 1.50}})
    );
    assert_eq!(
        revealed["plainOne"],
        json!({"response": {"got": {"who": "plain"}}})
    );
    assert_eq!(
        revealed["environmentVariables"]["DB_PASSWORD"],
        "s3cr3t-value"
    );

    // Deep secret by default (redacted whole); `secret: false` stays plain.
    let redacted = json(&eval, true);
    assert_eq!(redacted["secretOne"], json!("[secret]"));
    assert_eq!(
        redacted["plainOne"],
        json!({"response": {"got": {"who": "plain"}}})
    );
    assert_eq!(redacted["environmentVariables"]["DB_PASSWORD"], "[secret]");

    // The adapter verified both requests (aud = url as written, body_hash
    // of the exact bytes) and saw the request object as the body.
    assert_eq!(adapter.rejected(), 0);
    let seen = adapter.seen();
    assert_eq!(seen.len(), 2);
    let secret_call = seen.iter().find(|s| s.path == "/secret").unwrap();
    assert_eq!(
        secret_call.body,
        json!({"secretName": "DATABASE_PASSWORD", "nested": {"n": 1.50, "list": [true, null]}})
    );
    let claims = &secret_call.claims;
    assert_eq!(claims.aud, adapter.url("/secret"));
    assert_eq!(claims.iss, crate::support::ISSUER);
    assert_eq!(claims.org, "acme");
    assert_eq!(claims.current_env, "acme/payments/prod");
    assert_eq!(claims.root_env, "acme/payments/prod");
    assert_eq!(claims.trigger_user, "alice");
    assert_eq!(claims.sub, "pulumi:environments:org:acme:env:payments/prod");
    assert_eq!(claims.env, "payments/prod");
    // Default lifetime 5 minutes, valid from issue.
    assert_eq!(claims.exp - claims.iat, 300);
    assert_eq!(claims.nbf, claims.iat);
    // One POST each, JSON, one bearer token (the verifier read it).
    for call in &seen {
        assert_eq!(call.method, "POST");
        assert_eq!(call.content_types, ["application/json"]);
        assert_eq!(call.n_authorization, 1);
    }
}

#[tokio::test]
async fn any_json_response_becomes_the_response_member() {
    let (_adapter, eval) = open_against(
        "values:\n  x:\n    fn::open::external:\n      url: {adapter}/array\n      secret: false\n",
        Mode::Eval,
    )
    .await;
    assert_eq!(errors(&eval), Vec::<(String, String)>::new());
    assert_eq!(
        json(&eval, false)["x"],
        json!({"response": [1, "two", {"three": 3}]})
    );
}

#[tokio::test]
async fn absent_request_sends_empty_object() {
    let (adapter, eval) = open_against(
        "values:\n  x:\n    fn::open::external:\n      url: {adapter}/echo\n",
        Mode::Eval,
    )
    .await;
    assert_eq!(errors(&eval), Vec::<(String, String)>::new());
    assert_eq!(json(&eval, false)["x"], json!({"response": {"got": {}}}));
    assert_eq!(adapter.seen()[0].body, json!({}));
}

#[tokio::test]
async fn check_mode_does_not_call_the_adapter() {
    let (adapter, eval) = open_against(
        "values:\n  x:\n    fn::open::external:\n      url: {adapter}/echo\n",
        Mode::Check {
            show_secrets: false,
        },
    )
    .await;
    assert_eq!(errors(&eval), Vec::<(String, String)>::new());
    assert_eq!(json(&eval, true)["x"], json!("[unknown]"));
    assert_eq!(adapter.hits("/echo"), 0);
}

#[tokio::test]
async fn unknown_and_mistyped_inputs_are_errors() {
    let (adapter, eval) = open_against(
        "values:\n  x:\n    fn::open::external:\n      url: {adapter}/echo\n      extra: 1\n  y:\n    fn::open::external:\n      url: 42\n      request: text\n",
        Mode::Eval,
    )
    .await;
    let errs = errors(&eval);
    assert!(
        errs.iter()
            .any(|(p, s)| p.starts_with("values.x") && s == r#"external: unknown input "extra""#),
        "{errs:?}"
    );
    assert!(
        errs.iter().any(|(p, _)| p.starts_with("values.y")),
        "{errs:?}"
    );
    assert_eq!(adapter.hits("/echo"), 0);
}

#[tokio::test]
async fn retries_503_with_a_fresh_token_each_time() {
    let (adapter, eval) = open_against(
        "values:\n  x:\n    fn::open::external:\n      url: {adapter}/flaky/2\n      secret: false\n",
        Mode::Eval,
    )
    .await;
    assert_eq!(errors(&eval), Vec::<(String, String)>::new());
    assert_eq!(json(&eval, false)["x"], json!({"response": {"hit": 3}}));
    // Every attempt passed verification: replay protection would refuse a
    // reused jti, so each carried a fresh token.
    let seen = adapter.seen();
    assert_eq!(seen.len(), 3);
    assert_eq!(adapter.rejected(), 0);
    let mut jtis: Vec<&str> = seen.iter().map(|s| s.claims.jti.as_str()).collect();
    jtis.dedup();
    assert_eq!(jtis.len(), 3);
}

#[tokio::test]
async fn retries_are_bounded() {
    let (adapter, eval) = open_against(
        "values:\n  x:\n    fn::open::external:\n      url: {adapter}/status/502\n",
        Mode::Eval,
    )
    .await;
    let errs = errors(&eval);
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert!(errs[0].1.contains("502 Bad Gateway"), "{errs:?}");
    assert!(errs[0].1.contains("after 3 attempts"), "{errs:?}");
    assert_eq!(adapter.hits("/status/502"), 3);
}

#[tokio::test]
async fn secret_input_makes_the_output_secret_even_with_secret_false() {
    let (_adapter, eval) = open_against(
        "values:\n  x:\n    fn::open::external:\n      url: {adapter}/echo\n      secret: false\n      request:\n        token:\n          fn::secret: hunter2\n",
        Mode::Eval,
    )
    .await;
    assert_eq!(errors(&eval), Vec::<(String, String)>::new());
    assert_eq!(
        json(&eval, false)["x"],
        json!({"response": {"got": {"token": "hunter2"}}})
    );
    assert_eq!(json(&eval, true)["x"], json!("[secret]"));
}
