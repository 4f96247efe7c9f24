//! Unit tests of webhook validation, subscription and signing.

use super::*;

fn config() -> WebhookConfig {
    WebhookConfig::default()
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

#[test]
fn formats_parse_and_unknown_is_refused() {
    assert_eq!(Format::parse("raw").ok(), Some(Format::Raw));
    assert_eq!(Format::parse("ms_teams").ok(), Some(Format::MsTeams));
    let error = Format::parse("xml").err().map(|e| e.to_string());
    assert_eq!(
        error.as_deref(),
        Some("invalid format \"xml\": must be one of raw, slack, ms_teams, pulumi_deployments")
    );
}

#[test]
fn url_rules_follow_the_format() {
    let ok = |format, url: &str| validate(&config(), format, url, &[], &[]).is_ok();
    assert!(ok(Format::Raw, "https://example.com/hook"));
    assert!(!ok(Format::Raw, "http://example.com/hook"));
    assert!(!ok(Format::Raw, "ftp://example.com/hook"));
    assert!(!ok(Format::Raw, "not a url"));
    assert!(!ok(Format::Raw, "https://user:pw@example.com/"));
    assert!(!ok(Format::Raw, "https://169.254.169.254/latest"));
    assert!(!ok(Format::Raw, "https://[fe80::1]/"));
    assert!(!ok(Format::Raw, "http://127.0.0.1:9/"));
    assert!(ok(Format::Slack, "https://hooks.slack.com/services/x"));
    assert!(!ok(Format::Slack, "https://example.com/services/x"));
    assert!(ok(Format::PulumiDeployments, "infra/prod"));
    assert!(!ok(Format::PulumiDeployments, "https://example.com/x"));
    assert!(!ok(Format::PulumiDeployments, "infra/"));
    let loopback = WebhookConfig {
        allow_insecure_loopback_http: true,
        ..config()
    };
    assert!(validate(&loopback, Format::Raw, "http://127.0.0.1:9/", &[], &[]).is_ok());
    assert!(validate(&loopback, Format::Raw, "http://localhost:9/", &[], &[]).is_ok());
    assert!(validate(&loopback, Format::Raw, "http://10.0.0.1:9/", &[], &[]).is_err());
}

#[test]
fn events_and_groups_are_checked() {
    let url = "https://example.com/";
    assert!(
        validate(
            &config(),
            Format::Raw,
            url,
            &strings(&["created", "rotated"]),
            &[]
        )
        .is_ok()
    );
    let error = validate(&config(), Format::Raw, url, &strings(&["exploded"]), &[])
        .err()
        .map(|e| e.to_string());
    assert_eq!(
        error.as_deref(),
        Some(
            "unknown webhook event \"exploded\": known events are created, updated, deleted, tagged, rotated, rotation_failed"
        )
    );
    assert!(
        validate(
            &config(),
            Format::Raw,
            url,
            &[],
            &strings(&["environments"])
        )
        .is_ok()
    );
    assert!(validate(&config(), Format::Raw, url, &[], &strings(&["stacks"])).is_err());
}

#[test]
fn names() {
    assert!(check_name("hook-1").is_ok());
    assert!(check_name("a.b_c-D9").is_ok());
    assert!(check_name("").is_err());
    assert!(check_name("a b").is_err());
    assert!(check_name(&"x".repeat(33)).is_err());
}

#[test]
fn subscription() {
    let events = strings(&["created"]);
    assert!(subscribed(&events, &[], "created"));
    assert!(!subscribed(&events, &[], "updated"));
    assert!(subscribed(&[], &strings(&["environments"]), "updated"));
    assert!(!subscribed(&[], &strings(&["change_requests"]), "updated"));
    assert!(subscribed(&[], &[], "deleted"));
}

#[test]
fn signature_is_hmac_sha256_hex() {
    // RFC 4231 test case 2
    assert_eq!(
        signature(b"Jefe", b"what do ya want for nothing?"),
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    );
}

#[test]
fn debug_never_shows_the_secret() {
    let hook = NewWebhook {
        name: String::new(),
        display_name: "d".into(),
        payload_url: "https://example.com/".into(),
        format: "raw".into(),
        filters: Vec::new(),
        groups: Vec::new(),
        active: true,
        secret: "s3cr3t-value".into(),
    };
    assert!(!format!("{hook:?}").contains("s3cr3t-value"));
    let update = WebhookUpdate {
        active: true,
        display_name: "d".into(),
        payload_url: "https://example.com/".into(),
        filters: None,
        groups: None,
        format: None,
        secret: Some("s3cr3t-value".into()),
    };
    assert!(!format!("{update:?}").contains("s3cr3t-value"));
}
