//! The webhook calls of a backend (spec/API.md § 5.11), a supertrait of
//! [`super::Backend`] so each backend implements them in its own module
//! (`local/webhooks.rs`, `remote/webhooks.rs`).

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use super::BackendResult;
use crate::env_ref::EnvName;

/// A webhook as the API shows it (its secret never comes back).
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct WebhookInfo {
    pub(crate) active: bool,
    pub(crate) display_name: String,
    pub(crate) name: String,
    pub(crate) organization_name: String,
    pub(crate) project_name: String,
    pub(crate) env_name: String,
    pub(crate) payload_url: String,
    pub(crate) format: String,
    pub(crate) filters: Vec<String>,
    pub(crate) groups: Vec<String>,
    pub(crate) has_secret: bool,
}

/// What a webhook should be (create, or the full replacement of an edit).
#[derive(Clone)]
pub(crate) struct WebhookFields {
    pub(crate) display_name: String,
    pub(crate) payload_url: String,
    /// `None` on edit = keep.
    pub(crate) format: Option<String>,
    pub(crate) filters: Vec<String>,
    pub(crate) groups: Vec<String>,
    pub(crate) active: bool,
    /// `None` or empty = none (create) / keep (edit); `__remove-secret` clears.
    pub(crate) secret: Option<String>,
}

/// Written by hand: never prints the secret.
impl std::fmt::Debug for WebhookFields {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookFields")
            .field("display_name", &self.display_name)
            .field("format", &self.format)
            .field("filters", &self.filters)
            .field("groups", &self.groups)
            .field("active", &self.active)
            .finish_non_exhaustive()
    }
}

/// One delivery attempt.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct DeliveryInfo {
    pub(crate) id: String,
    pub(crate) kind: String,
    /// Unix seconds.
    pub(crate) timestamp: i64,
    /// Milliseconds.
    pub(crate) duration: i64,
    pub(crate) payload: String,
    pub(crate) request_url: String,
    pub(crate) request_headers: String,
    /// 0 when no response came.
    pub(crate) response_code: u16,
    pub(crate) response_headers: String,
    pub(crate) response_body: String,
}

/// The webhook calls.
#[async_trait]
pub(crate) trait WebhookBackend {
    /// The environment's webhooks.
    async fn list_webhooks(&self, env: &EnvName) -> BackendResult<Vec<WebhookInfo>>;
    /// One webhook.
    async fn webhook(&self, env: &EnvName, name: &str) -> BackendResult<WebhookInfo>;
    /// Create a webhook; the service names it.
    async fn create_webhook(
        &self,
        env: &EnvName,
        fields: &WebhookFields,
    ) -> BackendResult<WebhookInfo>;
    /// Replace a webhook (see [`WebhookFields`]).
    async fn update_webhook(
        &self,
        env: &EnvName,
        name: &str,
        fields: &WebhookFields,
    ) -> BackendResult<WebhookInfo>;
    /// Delete a webhook.
    async fn delete_webhook(&self, env: &EnvName, name: &str) -> BackendResult<()>;
    /// Deliver a ping now.
    async fn ping_webhook(&self, env: &EnvName, name: &str) -> BackendResult<DeliveryInfo>;
    /// Deliveries, newest first (`count` 0 = the service's default).
    async fn webhook_deliveries(
        &self,
        env: &EnvName,
        name: &str,
        count: u32,
    ) -> BackendResult<Vec<DeliveryInfo>>;
    /// Let deliveries the command's writes queued finish (local mode runs
    /// them in this process; bounded). Nothing to do against a server.
    async fn settle_webhooks(&self) {}
}
