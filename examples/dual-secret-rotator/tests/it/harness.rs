//! A test issuer with its JWKS served on 127.0.0.1, the rotator in-process, and a client
//! that signs rotation requests like esc's `fn::rotate::external` does.

use std::path::PathBuf;
use std::sync::Arc;

use dual_secret_rotator::{AppState, SlotStore, app};
use esc_adapter::{KeySource, Verifier, VerifierConfig};
use esc_oidc::{EnvRef, Issuer, IssuerConfig, TokenRequest, UnixTime};

pub(crate) const ISSUER: &str = "https://esc.example.com";

/// The issuer's JWKS on a local port.
pub(crate) async fn serve_jwks(issuer: Arc<Issuer>) -> (String, tokio::task::JoinHandle<()>) {
    let router = axum::Router::new().route(
        "/.well-known/jwks",
        axum::routing::get(move || async move { axum::Json(issuer.jwks()) }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/.well-known/jwks", listener.local_addr().unwrap());
    let task = tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    (url, task)
}

/// A running rotator with its own issuer, JWKS server and store directory.
pub(crate) struct Rotator {
    pub(crate) issuer: Arc<Issuer>,
    /// The rotation URL (`POST /`), which is also the token audience.
    pub(crate) url: String,
    pub(crate) store_path: PathBuf,
    _dir: tempfile::TempDir,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Rotator {
    pub(crate) async fn start() -> Rotator {
        let issuer =
            Arc::new(Issuer::ephemeral(IssuerConfig::new(ISSUER), UnixTime::now()).unwrap());
        let (jwks_url, jwks_task) = serve_jwks(Arc::clone(&issuer)).await;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/", listener.local_addr().unwrap());
        let mut config = VerifierConfig::new(ISSUER, &url);
        config.keys = KeySource::Url(jwks_url);
        let dir = tempfile::tempdir().unwrap();
        let store_path = dir.path().join("credentials.json");
        let state = AppState {
            verifier: Arc::new(Verifier::new(config).unwrap()),
            store: Arc::new(SlotStore::new(&store_path)),
        };
        let server = tokio::spawn(async move { axum::serve(listener, app(state)).await.unwrap() });
        Rotator {
            issuer,
            url,
            store_path,
            _dir: dir,
            tasks: vec![jwks_task, server],
        }
    }

    /// A rotation signed by `issuer` (the rotator's own unless given), as ESC sends it.
    pub(crate) async fn rotate_with(
        &self,
        issuer: &Issuer,
        state: serde_json::Value,
    ) -> (u16, serde_json::Value) {
        let body = serde_json::json!({ "request": {}, "state": state }).to_string();
        signed_post(issuer, &self.url, &self.url, &body).await
    }

    pub(crate) async fn rotate(&self, state: serde_json::Value) -> (u16, serde_json::Value) {
        self.rotate_with(&self.issuer, state).await
    }

    pub(crate) async fn validate(&self, api_key: &str) -> (u16, serde_json::Value) {
        let response = client()
            .post(format!("{}validate", self.url))
            .json(&serde_json::json!({ "apiKey": api_key }))
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap())
    }
}

impl Drop for Rotator {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

pub(crate) fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(10))
        .build()
        .unwrap()
}

/// POSTs `body` to `url` with a token for `audience` bound to it.
pub(crate) async fn signed_post(
    issuer: &Issuer,
    url: &str,
    audience: &str,
    body: &str,
) -> (u16, serde_json::Value) {
    let env = EnvRef {
        org: String::from("acme"),
        project: String::from("payments"),
        name: String::from("prod"),
    };
    let token = issuer
        .mint(
            &TokenRequest {
                audience,
                current_env: &env,
                root_env: &env,
                trigger_user: "alice",
            },
            body.as_bytes(),
        )
        .unwrap();
    let response = client()
        .post(url)
        .header("Authorization", format!("Bearer {token}"))
        .header("Content-Type", "application/json")
        .body(body.to_owned())
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}
