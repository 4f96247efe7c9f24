//! Wire shapes of webhooks and their deliveries (spec/API.md § 5.11). A
//! hook's secret is accepted in requests and never sent back (`hasSecret`).

use esc_service::DeliveryRecord;
use esc_store::Webhook;
use serde::{Deserialize, Serialize};

/// `EnvironmentWebhook`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct WireWebhook {
    active: bool,
    display_name: String,
    name: String,
    organization_name: String,
    project_name: String,
    env_name: String,
    payload_url: String,
    format: String,
    filters: Vec<String>,
    groups: Vec<String>,
    has_secret: bool,
}

impl From<&Webhook> for WireWebhook {
    fn from(hook: &Webhook) -> Self {
        Self {
            active: hook.active,
            display_name: hook.display_name.clone(),
            name: hook.name.clone(),
            organization_name: hook.environment.org.clone(),
            project_name: hook.environment.project.clone(),
            env_name: hook.environment.name.clone(),
            payload_url: hook.payload_url.clone(),
            format: hook.format.clone(),
            filters: hook.filters.clone(),
            groups: hook.groups.clone(),
            has_secret: hook.has_secret,
        }
    }
}

/// `POST E/hooks` body: the hook's fields plus an optional `secret`; the
/// names of the environment, when given, must be the path's.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CreateWebhook {
    #[serde(default = "yes")]
    pub(crate) active: bool,
    #[serde(default)]
    pub(crate) display_name: String,
    #[serde(default)]
    pub(crate) name: String,
    #[serde(default)]
    pub(crate) organization_name: String,
    #[serde(default)]
    pub(crate) project_name: String,
    #[serde(default)]
    pub(crate) env_name: String,
    #[serde(default)]
    pub(crate) payload_url: String,
    #[serde(default)]
    pub(crate) format: String,
    #[serde(default)]
    pub(crate) filters: Option<Vec<String>>,
    #[serde(default)]
    pub(crate) groups: Option<Vec<String>>,
    #[serde(default)]
    pub(crate) secret: Option<String>,
}

/// `PATCH E/hooks/{name}` body: a replacement except `format` (absent =
/// keep) and `secret` (absent or `""` = keep, `__remove-secret` = clear).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct UpdateWebhook {
    #[serde(default = "yes")]
    pub(crate) active: bool,
    #[serde(default)]
    pub(crate) display_name: String,
    #[serde(default)]
    pub(crate) payload_url: String,
    #[serde(default)]
    pub(crate) filters: Option<Vec<String>>,
    #[serde(default)]
    pub(crate) groups: Option<Vec<String>>,
    #[serde(default)]
    pub(crate) format: Option<String>,
    #[serde(default)]
    pub(crate) secret: Option<String>,
}

fn yes() -> bool {
    true
}

/// A delivery.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct WireDelivery {
    id: String,
    kind: String,
    /// Unix seconds.
    timestamp: i64,
    /// Milliseconds.
    duration: i64,
    payload: String,
    request_url: String,
    request_headers: String,
    /// 0 when no response came.
    response_code: u16,
    response_headers: String,
    response_body: String,
}

impl From<&DeliveryRecord> for WireDelivery {
    fn from(record: &DeliveryRecord) -> Self {
        Self {
            id: record.id.clone(),
            kind: record.kind.clone(),
            timestamp: record.timestamp,
            duration: record.duration_ms,
            payload: record.payload.clone(),
            request_url: record.request_url.clone(),
            request_headers: record.request_headers.clone(),
            response_code: record.response_code.unwrap_or(0),
            response_headers: record.response_headers.clone(),
            response_body: record.response_body.clone(),
        }
    }
}
