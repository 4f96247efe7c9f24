//! The JWKS cache: fetched once, refetched for an unknown kid (a rotated-in key), and no
//! more often than the configured interval; static keys need no HTTP; no keys at all is a
//! 503.

use std::time::Duration;

use esc_adapter::{KeySource, VerifierConfig};
use esc_oidc::UnixTime;

use crate::support::{
    AUDIENCE, Adapter, ISSUER, JwksServer, forge_rs256, mint, new_issuer, part, post_to,
};

const BODY: &[u8] = b"{}";

#[tokio::test]
async fn unknown_kid_triggers_a_rate_limited_refetch() {
    let old_issuer = new_issuer();
    let new_issuer = new_issuer();
    let server = JwksServer::start(serde_json::to_value(old_issuer.jwks()).unwrap()).await;
    let mut config = VerifierConfig::new(ISSUER, AUDIENCE);
    config.keys = KeySource::Url(server.url.clone());
    config.jwks_min_refetch_interval = Duration::from_secs(2);
    let adapter = Adapter::start(config).await;
    let now = UnixTime::now();
    let bearer = |token: String| format!("Bearer {token}");

    for _ in 0..3 {
        let token = mint(&old_issuer, AUDIENCE, BODY, now);
        let (status, _, body) = post_to(&adapter.url, Some(&bearer(token)), BODY).await;
        assert_eq!(status, 200, "{body}");
    }
    assert_eq!(server.fetch_count(), 1, "known kid refetched");

    // The issuer publishes a second key; its first token makes the adapter refetch. Wait
    // out the refetch interval first so this refetch is not rate limited.
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let mut both = old_issuer.jwks();
    both.keys.extend(new_issuer.jwks().keys);
    *server.document.write().unwrap() = serde_json::to_value(both).unwrap();
    let token = mint(&new_issuer, AUDIENCE, BODY, now);
    let (status, _, body) = post_to(&adapter.url, Some(&bearer(token)), BODY).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(server.fetch_count(), 2);

    // Unknown kids right after a fetch do not reach the JWKS server again.
    let signing_key = old_issuer.snapshot().active().unwrap().clone();
    let unknown = || {
        let token = mint(&old_issuer, AUDIENCE, BODY, now);
        let header = serde_json::json!({"alg": "RS256", "typ": "JWT", "kid": "rotating-junk"});
        forge_rs256(&header, &part(&token, 1), &signing_key)
    };
    for _ in 0..5 {
        let (status, _, body) = post_to(&adapter.url, Some(&bearer(unknown())), BODY).await;
        assert_eq!(
            (status, body.as_str()),
            (401, r#"{"error":"unknown signing key"}"#)
        );
    }
    assert_eq!(server.fetch_count(), 2, "unknown kids not rate limited");

    tokio::time::sleep(Duration::from_millis(2100)).await;
    let (status, _, _) = post_to(&adapter.url, Some(&bearer(unknown())), BODY).await;
    assert_eq!(status, 401);
    assert_eq!(server.fetch_count(), 3, "no refetch after the interval");
}

#[tokio::test]
async fn static_keys_verify_without_any_fetch() {
    let issuer = new_issuer();
    let mut config = VerifierConfig::new(ISSUER, AUDIENCE);
    config.keys = KeySource::Static(serde_json::to_string(&issuer.jwks()).unwrap());
    let adapter = Adapter::start(config).await;
    let token = mint(&issuer, AUDIENCE, BODY, UnixTime::now());
    let (status, _, body) = post_to(&adapter.url, Some(&format!("Bearer {token}")), BODY).await;
    assert_eq!(status, 200, "{body}");

    let stranger = new_issuer();
    let token = mint(&stranger, AUDIENCE, BODY, UnixTime::now());
    let (status, _, body) = post_to(&adapter.url, Some(&format!("Bearer {token}")), BODY).await;
    assert_eq!(
        (status, body.as_str()),
        (401, r#"{"error":"unknown signing key"}"#)
    );
}

#[tokio::test]
async fn unreachable_jwks_is_503_not_401() {
    // A port that was just free: nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let issuer = new_issuer();
    let mut config = VerifierConfig::new(ISSUER, AUDIENCE);
    config.keys = KeySource::Url(format!("http://127.0.0.1:{port}/.well-known/jwks"));
    config.jwks_fetch_timeout = Duration::from_secs(2);
    let adapter = Adapter::start(config).await;
    let token = mint(&issuer, AUDIENCE, BODY, UnixTime::now());
    let (status, challenge, body) =
        post_to(&adapter.url, Some(&format!("Bearer {token}")), BODY).await;
    assert_eq!(
        (status, body.as_str()),
        (503, r#"{"error":"signing keys unavailable"}"#)
    );
    assert_eq!(challenge, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_first_requests_fetch_the_jwks_once() {
    let issuer = new_issuer();
    let server = JwksServer::start(serde_json::to_value(issuer.jwks()).unwrap()).await;
    let mut config = VerifierConfig::new(ISSUER, AUDIENCE);
    config.keys = KeySource::Url(server.url.clone());
    let adapter = Adapter::start(config).await;
    let now = UnixTime::now();
    let requests = (0..20).map(|_| {
        let token = mint(&issuer, AUDIENCE, BODY, now);
        let url = adapter.url.clone();
        async move {
            post_to(&url, Some(&format!("Bearer {token}")), BODY)
                .await
                .0
        }
    });
    let statuses = futures_join_all(requests).await;
    assert_eq!(statuses, vec![200; 20]);
    assert_eq!(server.fetch_count(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_token_raced_in_parallel_is_accepted_exactly_once() {
    let issuer = new_issuer();
    let mut config = VerifierConfig::new(ISSUER, AUDIENCE);
    config.keys = KeySource::Static(serde_json::to_string(&issuer.jwks()).unwrap());
    let adapter = Adapter::start(config).await;
    let token = mint(&issuer, AUDIENCE, BODY, UnixTime::now());
    let requests = (0..16).map(|_| {
        let (url, token) = (adapter.url.clone(), token.clone());
        async move { post_to(&url, Some(&format!("Bearer {token}")), BODY).await }
    });
    let responses = futures_join_all(requests).await;
    let n_accepted = responses
        .iter()
        .filter(|(status, _, _)| *status == 200)
        .count();
    assert_eq!(n_accepted, 1);
    for (status, _, body) in responses.iter().filter(|(status, _, _)| *status != 200) {
        assert_eq!(
            (*status, body.as_str()),
            (401, r#"{"error":"token replayed"}"#)
        );
    }
}

/// Runs the futures concurrently on the test runtime and collects their outputs in order.
async fn futures_join_all<F>(futures: impl Iterator<Item = F>) -> Vec<F::Output>
where
    F: std::future::Future + Send + 'static,
    F::Output: Send + 'static,
{
    let handles: Vec<_> = futures.map(tokio::spawn).collect();
    let mut outputs = Vec::with_capacity(handles.len());
    for handle in handles {
        outputs.push(handle.await.unwrap());
    }
    outputs
}
