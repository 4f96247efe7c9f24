//! Shared helpers: a JWKS server that counts fetches, an adapter app on 127.0.0.1, token
//! forging, and service variables.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::extract::State;
use axum::routing::post;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use esc_adapter::{Verified, Verifier, VerifierConfig};
use esc_oidc::{EnvRef, Issuer, IssuerConfig, SigningKey, TokenRequest, UnixTime};

pub(crate) const ISSUER: &str = "https://esc.example.com";
pub(crate) const AUDIENCE: &str = "https://adapter.example.com/fetch";

/// The value of a service variable, or `None` (after saying so) when it is unset and
/// services are not required; panics when they are required.
pub(crate) fn service(var: &str) -> Option<String> {
    match std::env::var(var) {
        Ok(value) if !value.is_empty() => Some(value),
        _ => {
            assert!(
                std::env::var("ESC_TEST_SERVICES").as_deref() != Ok("required"),
                "{var} is not set but ESC_TEST_SERVICES=required"
            );
            eprintln!("skipped: {var} is not set");
            None
        }
    }
}

pub(crate) fn new_issuer() -> Arc<Issuer> {
    Arc::new(Issuer::ephemeral(IssuerConfig::new(ISSUER), UnixTime::now()).unwrap())
}

pub(crate) fn current_env() -> EnvRef {
    EnvRef {
        org: String::from("acme"),
        project: String::from("payments"),
        name: String::from("prod"),
    }
}

pub(crate) fn root_env() -> EnvRef {
    EnvRef {
        org: String::from("acme"),
        project: String::from("apps"),
        name: String::from("web"),
    }
}

/// A token for `body` addressed to `audience`, issued at `now`.
pub(crate) fn mint(issuer: &Issuer, audience: &str, body: &[u8], now: UnixTime) -> String {
    let (current, root) = (current_env(), root_env());
    issuer
        .mint_at(
            &TokenRequest {
                audience,
                current_env: &current,
                root_env: &root,
                trigger_user: "alice",
            },
            body,
            now,
        )
        .unwrap()
}

/// `header.claims.signature` from JSON values, signed RS256 by `key`.
pub(crate) fn forge_rs256(
    header: &serde_json::Value,
    claims: &serde_json::Value,
    key: &SigningKey,
) -> String {
    let signed = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let signature = key.sign_rs256(signed.as_bytes()).unwrap();
    format!("{signed}.{}", URL_SAFE_NO_PAD.encode(signature))
}

/// Decodes the JSON of one token part (0 header, 1 claims).
pub(crate) fn part(token: &str, idx: usize) -> serde_json::Value {
    let bytes = URL_SAFE_NO_PAD
        .decode(token.split('.').nth(idx).unwrap())
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

/// Serves a JWKS document that tests can swap, counting GETs, until dropped.
pub(crate) struct JwksServer {
    pub(crate) url: String,
    pub(crate) document: Arc<std::sync::RwLock<serde_json::Value>>,
    pub(crate) fetches: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl JwksServer {
    pub(crate) async fn start(document: serde_json::Value) -> JwksServer {
        let document = Arc::new(std::sync::RwLock::new(document));
        let fetches = Arc::new(AtomicUsize::new(0));
        let router = axum::Router::new().route(
            "/.well-known/jwks",
            axum::routing::get({
                let (document, fetches) = (Arc::clone(&document), Arc::clone(&fetches));
                move || async move {
                    fetches.fetch_add(1, Ordering::SeqCst);
                    let body = document.read().unwrap().clone();
                    axum::Json(body)
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/.well-known/jwks", listener.local_addr().unwrap());
        let task = tokio::spawn(async move {
            axum::serve(listener, router).await.unwrap();
        });
        JwksServer {
            url,
            document,
            fetches,
            task,
        }
    }

    pub(crate) fn fetch_count(&self) -> usize {
        self.fetches.load(Ordering::SeqCst)
    }
}

impl Drop for JwksServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// An adapter using the `Verified` extractor on 127.0.0.1; answers 200 with the claims it
/// was handed and the body length.
pub(crate) struct Adapter {
    pub(crate) url: String,
    task: tokio::task::JoinHandle<()>,
}

impl Adapter {
    pub(crate) async fn start(config: VerifierConfig) -> Adapter {
        async fn handler(
            State(_verifier): State<Arc<Verifier>>,
            request: Verified,
        ) -> axum::Json<serde_json::Value> {
            axum::Json(serde_json::json!({
                "org": request.claims.org,
                "current_env": request.claims.current_env,
                "root_env": request.claims.root_env,
                "trigger_user": request.claims.trigger_user,
                "body_len": request.body.len(),
            }))
        }
        let verifier = Arc::new(Verifier::new(config).unwrap());
        let router = axum::Router::new()
            .route("/fetch", post(handler))
            .with_state(verifier);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/fetch", listener.local_addr().unwrap());
        let task = tokio::spawn(async move {
            axum::serve(listener, router).await.unwrap();
        });
        Adapter { url, task }
    }
}

impl Drop for Adapter {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// POSTs `body` with `authorization` (if any); returns status, `WWW-Authenticate` and body.
pub(crate) async fn post_to(
    url: &str,
    authorization: Option<&str>,
    body: &[u8],
) -> (u16, Option<String>, String) {
    let mut request = reqwest::Client::new()
        .post(url)
        .header("Content-Type", "application/json")
        .body(body.to_vec());
    if let Some(authorization) = authorization {
        request = request.header("Authorization", authorization);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let challenge = response
        .headers()
        .get("www-authenticate")
        .map(|value| value.to_str().unwrap().to_owned());
    (status, challenge, response.text().await.unwrap())
}
