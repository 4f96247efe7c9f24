//! Shared helpers: a JWKS server on 127.0.0.1, service variables, token pieces.

use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use esc_oidc::{EnvRef, Issuer, IssuerConfig, UnixTime};

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

pub(crate) fn issuer(url: &str) -> Issuer {
    Issuer::ephemeral(IssuerConfig::new(url), UnixTime::now()).unwrap()
}

pub(crate) fn env(org: &str, project: &str, name: &str) -> EnvRef {
    EnvRef {
        org: org.to_owned(),
        project: project.to_owned(),
        name: name.to_owned(),
    }
}

/// Decodes the JSON of one token part (0 header, 1 claims).
pub(crate) fn part(token: &str, idx: usize) -> serde_json::Value {
    let bytes = URL_SAFE_NO_PAD
        .decode(token.split('.').nth(idx).unwrap())
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

/// Serves `issuer`'s JWKS (at every published path) and discovery document on 127.0.0.1
/// until dropped; returns the base URL.
pub(crate) struct JwksServer {
    pub(crate) base_url: String,
    task: tokio::task::JoinHandle<()>,
}

impl JwksServer {
    pub(crate) async fn start(issuer: Arc<Issuer>) -> JwksServer {
        let mut router = axum::Router::new();
        for path in esc_oidc::JWKS_PATHS {
            let issuer = Arc::clone(&issuer);
            router = router.route(
                path,
                axum::routing::get(move || async move { axum::Json(issuer.jwks()) }),
            );
        }
        let discovery = issuer.discovery();
        router = router.route(
            "/.well-known/openid-configuration",
            axum::routing::get(move || async move { axum::Json(discovery) }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base_url = format!("http://{}", listener.local_addr().unwrap());
        let task = tokio::spawn(async move {
            axum::serve(listener, router).await.unwrap();
        });
        JwksServer { base_url, task }
    }
}

impl Drop for JwksServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}
