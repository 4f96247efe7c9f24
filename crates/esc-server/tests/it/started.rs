//! Servers started the way `esc serve` starts them (`start`/`start_with_store`, then
//! `run`), with a client holding the admin token and the shared state for inspection.

use std::time::Duration;

use esc_server::{AppState, StartedServer};
use reqwest::Method;
use tokio::sync::oneshot;

/// A running `esc serve`-style server.
pub(crate) struct Served {
    pub(crate) url: String,
    pub(crate) token: String,
    /// The state the server runs with (its service, store and issuer).
    pub(crate) state: AppState,
    pub(crate) client: reqwest::Client,
    shutdown: oneshot::Sender<()>,
    task: tokio::task::JoinHandle<Result<(), esc_server::ServeError>>,
}

impl Served {
    /// Runs `started`; `token` is the admin token (the bootstrap one unless given).
    pub(crate) fn run(started: StartedServer, token: Option<String>) -> Served {
        let token = token.unwrap_or_else(|| {
            String::from_utf8(started.bootstrap_token.as_ref().unwrap().expose().to_vec()).unwrap()
        });
        let url = format!("http://{}", started.address);
        let state = started.state.clone();
        let (shutdown, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(started.run(async {
            let _ = stopped.await;
        }));
        Served {
            url,
            token,
            state,
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .unwrap(),
            shutdown,
            task,
        }
    }

    /// Sends a request with the admin token; status and body text.
    pub(crate) async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<&str>,
    ) -> (u16, String) {
        let mut request = self
            .client
            .request(method, format!("{}{path}", self.url))
            .header("Authorization", format!("token {}", self.token));
        if let Some(body) = body {
            request = request.body(body.to_owned());
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        (status, response.text().await.unwrap())
    }

    /// The published JWKS, as `kid`s in order.
    pub(crate) async fn jwks_kids(&self) -> Vec<String> {
        let jwks: serde_json::Value = self
            .client
            .get(format!("{}/.well-known/jwks", self.url))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        jwks["keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|key| key["kid"].as_str().unwrap().to_owned())
            .collect()
    }

    /// Graceful shutdown; fails the test if the server does not stop within 10 s.
    pub(crate) async fn stop(self) {
        let _ = self.shutdown.send(());
        tokio::time::timeout(Duration::from_secs(10), self.task)
            .await
            .unwrap()
            .unwrap()
            .unwrap();
    }
}
