//! CONNECT.md § 5 rule by rule, each with the case just inside and just outside its
//! bound: clock leeway on `exp`/`nbf`/`iat`, every required claim, `aud` forms, header
//! `typ`/`crit`, the raw-body hash, a refused token keeping its `jti`, the bounded replay
//! cache (503 when full), the JWKS refreshed when old, and the extractor's body limit.

use std::time::Duration;

use axum::http::{HeaderMap, HeaderValue};
use esc_adapter::{KeySource, Verifier, VerifierConfig, VerifyError};
use esc_oidc::{Issuer, UnixTime};

use crate::support::{
    AUDIENCE, Adapter, ISSUER, JwksServer, forge_rs256, mint, new_issuer, part, post_to,
};

const BODY: &[u8] = br#"{"secretName":"DATABASE_PASSWORD"}"#;

/// A verifier pinned to `issuer`'s keys (no HTTP), with `leeway`.
fn pinned(issuer: &Issuer, leeway: Duration) -> Verifier {
    let mut config = VerifierConfig::new(ISSUER, AUDIENCE);
    config.keys = KeySource::Static(serde_json::to_string(&issuer.jwks()).unwrap());
    config.leeway = leeway;
    Verifier::new(config).unwrap()
}

/// A token signed by `issuer`'s active key whose claims are a genuine token's with `edit`
/// applied.
fn edited(issuer: &Issuer, edit: impl FnOnce(&mut serde_json::Value)) -> String {
    let token = mint(issuer, AUDIENCE, BODY, UnixTime::now());
    let key = issuer.snapshot().active().unwrap().clone();
    let mut claims = part(&token, 1);
    edit(&mut claims);
    forge_rs256(&part(&token, 0), &claims, &key)
}

fn bearer(token: &str) -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert(
        "authorization",
        HeaderValue::from_str(&format!("Bearer {token}")).unwrap(),
    );
    headers
}

async fn verdict(verifier: &Verifier, token: &str, body: &[u8]) -> Result<(), VerifyError> {
    verifier.verify(&bearer(token), body).await.map(|_| ())
}

#[tokio::test]
async fn exp_nbf_and_iat_are_checked_with_the_leeway_only() {
    let issuer = new_issuer();
    let verifier = pinned(&issuer, Duration::from_secs(30));
    let now = UnixTime::now().0;
    let cases: Vec<(&str, serde_json::Value, Result<(), VerifyError>)> = vec![
        (
            "expired 10 s ago",
            serde_json::json!({"exp": now - 10}),
            Ok(()),
        ),
        (
            "expired 60 s ago",
            serde_json::json!({"exp": now - 60}),
            Err(VerifyError::Expired),
        ),
        (
            "nbf 10 s ahead",
            serde_json::json!({"nbf": now + 10, "iat": now + 10}),
            Ok(()),
        ),
        (
            "nbf 60 s ahead",
            serde_json::json!({"nbf": now + 60}),
            Err(VerifyError::NotYetValid),
        ),
        (
            "iat 60 s ahead",
            serde_json::json!({"iat": now + 60}),
            Err(VerifyError::NotYetValid),
        ),
        (
            "fractional exp",
            serde_json::json!({"exp": now as f64 + 100.5}),
            Ok(()),
        ),
    ];
    for (name, overrides, expected) in cases {
        let token = edited(&issuer, |claims| {
            for (key, value) in overrides.as_object().unwrap() {
                claims[key] = value.clone();
            }
        });
        assert_eq!(verdict(&verifier, &token, BODY).await, expected, "{name}");
    }

    // No leeway: a token expired a few seconds ago is refused.
    let strict = pinned(&issuer, Duration::ZERO);
    let token = edited(&issuer, |claims| claims["exp"] = (now - 5).into());
    assert_eq!(
        verdict(&strict, &token, BODY).await,
        Err(VerifyError::Expired)
    );
}

#[tokio::test]
async fn every_claim_adapters_authorize_by_is_required_and_typed() {
    let issuer = new_issuer();
    let verifier = pinned(&issuer, Duration::from_secs(30));
    for claim in [
        "exp",
        "nbf",
        "iat",
        "jti",
        "sub",
        "org",
        "env",
        "current_env",
        "root_env",
        "trigger_user",
        "body_hash",
    ] {
        let token = edited(&issuer, |claims| {
            claims.as_object_mut().unwrap().remove(claim);
        });
        assert_eq!(
            verdict(&verifier, &token, BODY).await,
            Err(VerifyError::MissingClaim { claim }),
            "{claim}"
        );
    }
    // iss and aud are compared, so their absence is a mismatch
    let token = edited(&issuer, |claims| {
        claims.as_object_mut().unwrap().remove("iss");
    });
    assert_eq!(
        verdict(&verifier, &token, BODY).await,
        Err(VerifyError::WrongIssuer)
    );
    let token = edited(&issuer, |claims| {
        claims.as_object_mut().unwrap().remove("aud");
    });
    assert_eq!(
        verdict(&verifier, &token, BODY).await,
        Err(VerifyError::WrongAudience)
    );
    // a claim of the wrong type is a malformed token, not a missing one
    for (claim, value) in [
        ("exp", serde_json::json!("tomorrow")),
        ("org", serde_json::json!(7)),
        ("aud", serde_json::json!({"url": AUDIENCE})),
        ("jti", serde_json::json!(null)),
    ] {
        let token = edited(&issuer, |claims| claims[claim] = value.clone());
        let got = verdict(&verifier, &token, BODY).await;
        let expected = if claim == "jti" {
            Err(VerifyError::MissingClaim { claim: "jti" })
        } else {
            Err(VerifyError::MalformedToken)
        };
        assert_eq!(got, expected, "{claim}");
    }
    let token = edited(&issuer, |claims| claims["jti"] = "".into());
    assert_eq!(
        verdict(&verifier, &token, BODY).await,
        Err(VerifyError::MalformedToken)
    );
    // issuer compared exactly: a trailing slash is another issuer
    let token = edited(&issuer, |claims| {
        claims["iss"] = format!("{ISSUER}/").into()
    });
    assert_eq!(
        verdict(&verifier, &token, BODY).await,
        Err(VerifyError::WrongIssuer)
    );
}

#[tokio::test]
async fn aud_may_be_a_list_naming_this_adapter() {
    let issuer = new_issuer();
    let verifier = pinned(&issuer, Duration::from_secs(30));
    let token = edited(&issuer, |claims| {
        claims["aud"] = serde_json::json!(["https://other.example.com", AUDIENCE]);
    });
    assert_eq!(verdict(&verifier, &token, BODY).await, Ok(()));
    let token = edited(&issuer, |claims| {
        claims["aud"] = serde_json::json!(["https://other.example.com"]);
    });
    assert_eq!(
        verdict(&verifier, &token, BODY).await,
        Err(VerifyError::WrongAudience)
    );
    let token = edited(&issuer, |claims| claims["aud"] = serde_json::json!([]));
    assert_eq!(
        verdict(&verifier, &token, BODY).await,
        Err(VerifyError::WrongAudience)
    );
}

#[tokio::test]
async fn header_typ_and_crit_are_checked_and_the_scheme_is_case_insensitive() {
    let issuer = new_issuer();
    let verifier = pinned(&issuer, Duration::from_secs(30));
    let key = issuer.snapshot().active().unwrap().clone();
    let with_header = |extra: serde_json::Value| {
        let token = mint(&issuer, AUDIENCE, BODY, UnixTime::now());
        let mut header = part(&token, 0);
        for (name, value) in extra.as_object().unwrap() {
            header[name] = value.clone();
        }
        forge_rs256(&header, &part(&token, 1), &key)
    };
    let token = with_header(serde_json::json!({"typ": "at+jwt"}));
    assert_eq!(
        verdict(&verifier, &token, BODY).await,
        Err(VerifyError::MalformedToken)
    );
    let token = with_header(serde_json::json!({"crit": ["exp"], "exp": 1}));
    assert_eq!(
        verdict(&verifier, &token, BODY).await,
        Err(VerifyError::MalformedToken)
    );
    let token = with_header(serde_json::json!({"typ": "jwt"}));
    assert_eq!(verdict(&verifier, &token, BODY).await, Ok(()));

    let token = mint(&issuer, AUDIENCE, BODY, UnixTime::now());
    let mut headers = HeaderMap::new();
    headers.insert(
        "authorization",
        HeaderValue::from_str(&format!("bearer {token}")).unwrap(),
    );
    assert!(verifier.verify(&headers, BODY).await.is_ok());

    // Two Authorization headers, even one of them genuine, are refused.
    let token = mint(&issuer, AUDIENCE, BODY, UnixTime::now());
    let mut headers = bearer(&token);
    headers.append("authorization", HeaderValue::from_static("Bearer x.y.z"));
    assert_eq!(
        verifier.verify(&headers, BODY).await.map(|_| ()),
        Err(VerifyError::MalformedAuthorization)
    );
    // An oversized token is refused before any parsing.
    let huge = "a".repeat(20 * 1024);
    assert_eq!(
        verdict(&verifier, &huge, BODY).await,
        Err(VerifyError::MalformedToken)
    );
}

#[tokio::test]
async fn the_hash_covers_the_raw_bytes_and_a_refused_token_keeps_its_jti() {
    let issuer = new_issuer();
    let verifier = pinned(&issuer, Duration::from_secs(30));
    let token = mint(&issuer, AUDIENCE, BODY, UnixTime::now());
    // The same JSON re-serialized (whitespace, key order) is another body.
    for other in [
        &br#"{ "secretName": "DATABASE_PASSWORD" }"#[..],
        br#"{"secretName":"DATABASE_PASSWORD"}
"#,
        b"",
    ] {
        assert_eq!(
            verdict(&verifier, &token, other).await,
            Err(VerifyError::BodyHashMismatch)
        );
    }
    // Refusals above did not remember the jti: the genuine request still passes, once.
    assert_eq!(verdict(&verifier, &token, BODY).await, Ok(()));
    assert_eq!(
        verdict(&verifier, &token, BODY).await,
        Err(VerifyError::Replayed)
    );
    // An empty body is hashed like any other.
    let empty = mint(&issuer, AUDIENCE, b"", UnixTime::now());
    assert_eq!(verdict(&verifier, &empty, b"").await, Ok(()));
}

#[tokio::test]
async fn a_full_replay_cache_answers_503_until_entries_expire() {
    let issuer = new_issuer();
    let mut config = VerifierConfig::new(ISSUER, AUDIENCE);
    config.keys = KeySource::Static(serde_json::to_string(&issuer.jwks()).unwrap());
    config.replay_cache_capacity = 2;
    config.leeway = Duration::ZERO;
    let adapter = Adapter::start(config).await;
    let now = UnixTime::now().0;
    let key = issuer.snapshot().active().unwrap().clone();
    // Two tokens that expire in 5 s fill the cache (5 s: the three posts
    // below must all happen before then, on a loaded machine too).
    let expiry = now + 5;
    let short_lived = || {
        let token = mint(&issuer, AUDIENCE, BODY, UnixTime::now());
        let mut claims = part(&token, 1);
        claims["exp"] = expiry.into();
        forge_rs256(&part(&token, 0), &claims, &key)
    };
    for _ in 0..2 {
        let (status, _, body) = post_to(
            &adapter.url,
            Some(&format!("Bearer {}", short_lived())),
            BODY,
        )
        .await;
        assert_eq!(status, 200, "{body}");
    }
    let waiting = mint(&issuer, AUDIENCE, BODY, UnixTime::now());
    let (status, challenge, body) =
        post_to(&adapter.url, Some(&format!("Bearer {waiting}")), BODY).await;
    assert_eq!(
        (status, body.as_str()),
        (503, r#"{"error":"replay cache full"}"#)
    );
    assert_eq!(challenge, None, "a 503 is not a token problem");
    // Once those two expire, their entries are forgotten and the waiting token passes.
    for _ in 0..100 {
        if UnixTime::now().0 > expiry {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        UnixTime::now().0 > expiry,
        "the clock did not pass the expiry"
    );
    let (status, _, body) = post_to(&adapter.url, Some(&format!("Bearer {waiting}")), BODY).await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn an_old_jwks_is_refetched_even_for_a_known_kid() {
    let issuer = new_issuer();
    let server = JwksServer::start(serde_json::to_value(issuer.jwks()).unwrap()).await;
    let mut config = VerifierConfig::new(ISSUER, AUDIENCE);
    config.keys = KeySource::Url(server.url.clone());
    // 2 s: the first two sends must both fall inside it on a loaded machine.
    config.jwks_max_age = Duration::from_secs(2);
    config.jwks_min_refetch_interval = Duration::from_millis(100);
    let adapter = Adapter::start(config).await;
    let send = || async {
        let token = mint(&issuer, AUDIENCE, BODY, UnixTime::now());
        post_to(&adapter.url, Some(&format!("Bearer {token}")), BODY).await
    };
    assert_eq!(send().await.0, 200);
    assert_eq!(send().await.0, 200);
    assert_eq!(server.fetch_count(), 1);
    tokio::time::sleep(Duration::from_millis(2200)).await;
    assert_eq!(send().await.0, 200);
    assert_eq!(server.fetch_count(), 2, "a stale JWKS was not refreshed");

    // The issuer drops the key (a retired key past its tokens' lifetime): once the copy is
    // old, the adapter learns it and refuses the key's tokens.
    *server.document.write().unwrap() = serde_json::json!({"keys": []});
    tokio::time::sleep(Duration::from_millis(2200)).await;
    let (status, _, body) = send().await;
    assert_eq!(
        (status, body.as_str()),
        (401, r#"{"error":"unknown signing key"}"#)
    );
}

#[tokio::test]
async fn the_extractor_limits_the_body_and_refuses_before_the_handler() {
    let issuer = new_issuer();
    let mut config = VerifierConfig::new(ISSUER, AUDIENCE);
    config.keys = KeySource::Static(serde_json::to_string(&issuer.jwks()).unwrap());
    config.max_body_bytes = 64;
    let adapter = Adapter::start(config).await;
    let big = vec![b'x'; 65];
    let token = mint(&issuer, AUDIENCE, &big, UnixTime::now());
    let (status, _, body) = post_to(&adapter.url, Some(&format!("Bearer {token}")), &big).await;
    assert_eq!(
        (status, body.as_str()),
        (413, r#"{"error":"body too large or unreadable"}"#)
    );
    let fits = vec![b'x'; 64];
    let token = mint(&issuer, AUDIENCE, &fits, UnixTime::now());
    let (status, _, body) = post_to(&adapter.url, Some(&format!("Bearer {token}")), &fits).await;
    assert_eq!(status, 200, "{body}");
}
