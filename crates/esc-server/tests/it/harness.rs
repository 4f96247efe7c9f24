//! Starts servers on free 127.0.0.1 ports over fresh stores, and a small
//! HTTP client speaking the API's conventions.

use std::sync::Arc;

use esc_server::{ApiService, AppState, HttpLimits};
use esc_service::{AccessPolicy, ProviderRegistry, Service, ServiceConfig};
use esc_store::{MasterKey, SqlStore, Store};
use reqwest::{Method, StatusCode};
use tokio::sync::oneshot;

pub(crate) const ADMIN: &str = "admin";

/// A running server.
pub(crate) struct TestServer {
    pub(crate) url: String,
    pub(crate) token: String,
    pub(crate) client: reqwest::Client,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl TestServer {
    /// A server over `store`, with a fresh token for the admin.
    pub(crate) async fn over(store: Arc<dyn Store>, limits: HttpLimits) -> Self {
        Self::over_with_webhooks(store, limits, esc_service::WebhookConfig::default()).await
    }

    /// A server over `store` whose webhooks follow `webhooks`.
    pub(crate) async fn over_with_webhooks(
        store: Arc<dyn Store>,
        limits: HttpLimits,
        webhooks: esc_service::WebhookConfig,
    ) -> Self {
        let service = Service::new(
            store.clone(),
            Arc::new(ProviderRegistry::new()),
            ServiceConfig {
                access: AccessPolicy {
                    admins: vec![ADMIN.into()],
                    memberships: Vec::new(),
                },
                webhooks,
                ..ServiceConfig::default()
            },
        );
        service.bootstrap_user(ADMIN, "test").await.unwrap();
        let token = store
            .create_access_token(ADMIN, "test", None, "test-admin")
            .await
            .unwrap();
        let token = token.secret.expose_str().unwrap().to_owned();
        let state = AppState {
            service,
            issuer: None,
            limits,
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            // what `esc serve` runs
            let api = axum::ServiceExt::<axum::extract::Request>::into_make_service(
                ApiService::new(state),
            );
            axum::serve(listener, api)
                .with_graceful_shutdown(async {
                    let _ = rx.await;
                })
                .await
                .unwrap();
        });
        Self {
            url,
            token,
            client: reqwest::Client::builder()
                .timeout(std::time::Duration::from_secs(30))
                .build()
                .unwrap(),
            shutdown: Some(tx),
            task: Some(task),
        }
    }

    pub(crate) async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            tokio::time::timeout(std::time::Duration::from_secs(10), task)
                .await
                .unwrap()
                .unwrap();
        }
    }

    /// A request with the admin token.
    pub(crate) fn request(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        self.client
            .request(method, format!("{}{path}", self.url))
            .header("Authorization", format!("token {}", self.token))
    }

    /// Sends and returns status, headers and body text.
    pub(crate) async fn send(&self, request: reqwest::RequestBuilder) -> Reply {
        let response = request.send().await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let body = response.text().await.unwrap();
        Reply {
            status,
            headers,
            body,
        }
    }

    pub(crate) async fn call(&self, method: Method, path: &str, body: Option<&str>) -> Reply {
        let mut request = self.request(method, path);
        if let Some(body) = body {
            request = request
                .header("Content-Type", "application/json")
                .body(body.to_owned());
        }
        self.send(request).await
    }
}

/// A response as read.
#[derive(Debug)]
pub(crate) struct Reply {
    pub(crate) status: StatusCode,
    pub(crate) headers: reqwest::header::HeaderMap,
    pub(crate) body: String,
}

impl Reply {
    pub(crate) fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|error| panic!("not JSON ({error}): {}", self.body))
    }

    pub(crate) fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .unwrap_or_else(|| panic!("missing header {name}"))
            .to_str()
            .unwrap()
    }

    /// Asserts the status and the error shape; returns the message.
    pub(crate) fn error(&self, status: StatusCode) -> String {
        assert_eq!(self.status, status, "body: {}", self.body);
        let json = self.json();
        assert_eq!(json["code"], status.as_u16(), "body: {}", self.body);
        json["message"].as_str().unwrap().to_owned()
    }
}

/// A fresh SQLite store in a temporary directory.
pub(crate) async fn sqlite_store() -> (Arc<dyn Store>, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let store = SqlStore::open_sqlite(dir.path(), MasterKey::generate().unwrap())
        .await
        .unwrap();
    (Arc::new(store), dir)
}

/// A server over a fresh SQLite store.
pub(crate) async fn sqlite_server() -> (TestServer, tempfile::TempDir) {
    let (store, dir) = sqlite_store().await;
    (TestServer::over(store, HttpLimits::default()).await, dir)
}

/// Whether a service-backed test may skip: panics when services are
/// required and the variable is missing, prints a note otherwise.
pub(crate) fn service_var(name: &str) -> Option<String> {
    match std::env::var(name) {
        Ok(value) if !value.is_empty() => Some(value),
        _ => {
            if std::env::var("ESC_TEST_SERVICES").as_deref() == Ok("required") {
                panic!("ESC_TEST_SERVICES=required but {name} is not set");
            }
            eprintln!("skipped: {name} is not set (source scripts/services.sh && services_start)");
            None
        }
    }
}

/// A fresh PostgreSQL database; its URL.
pub(crate) async fn fresh_database() -> Option<String> {
    let admin = service_var("ESC_TEST_DATABASE_URL")?;
    let (client, connection) = tokio_postgres::connect(&admin, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    let name = format!(
        "esc_server_test_{}_{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    );
    client
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .await
        .unwrap();
    let base = admin.rsplit_once('/').unwrap().0;
    Some(format!("{base}/{name}"))
}

pub(crate) const E: &str = "/api/esc/environments/acme/app/dev";

/// Creates `acme/app/dev`.
pub(crate) async fn create_env(server: &TestServer, project: &str, name: &str) {
    let reply = server
        .call(
            Method::POST,
            "/api/esc/environments/acme",
            Some(&format!(r#"{{"project":"{project}","name":"{name}"}}"#)),
        )
        .await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT, "{}", reply.body);
}

/// PATCHes a YAML definition; returns the reply.
pub(crate) async fn patch_yaml(
    server: &TestServer,
    path: &str,
    yaml: &str,
    etag: Option<&str>,
) -> Reply {
    let mut request = server
        .request(Method::PATCH, path)
        .header("Content-Type", "application/x-yaml")
        .body(yaml.to_owned());
    if let Some(etag) = etag {
        request = request.header("ETag", etag);
    }
    server.send(request).await
}
