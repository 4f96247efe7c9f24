//! Webhooks against a server: API.md #43-49.

use async_trait::async_trait;
use reqwest::Method;
use serde::de::DeserializeOwned;

use super::{RemoteBackend, segment};
use crate::backend::webhooks::{DeliveryInfo, WebhookBackend, WebhookFields, WebhookInfo};
use crate::backend::{BackendError, BackendResult};
use crate::env_ref::EnvName;

impl RemoteBackend {
    /// Call and decode a JSON reply.
    async fn hook_json<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> BackendResult<T> {
        let body = body.map(|b| (b.to_string(), "application/json"));
        let reply = self.ok(method, path, body, None).await?;
        serde_json::from_str(&reply.body).map_err(|error| {
            BackendError::Other(anyhow::anyhow!("unexpected reply from the server: {error}"))
        })
    }

    fn hooks_path(env: &EnvName) -> String {
        format!("{}/hooks", Self::env_path(env))
    }

    fn hook_path(env: &EnvName, name: &str) -> String {
        format!("{}/hooks/{}", Self::env_path(env), segment(name))
    }
}

#[async_trait]
impl WebhookBackend for RemoteBackend {
    async fn list_webhooks(&self, env: &EnvName) -> BackendResult<Vec<WebhookInfo>> {
        self.hook_json(Method::GET, &Self::hooks_path(env), None)
            .await
    }

    async fn webhook(&self, env: &EnvName, name: &str) -> BackendResult<WebhookInfo> {
        self.hook_json(Method::GET, &Self::hook_path(env, name), None)
            .await
    }

    async fn create_webhook(
        &self,
        env: &EnvName,
        fields: &WebhookFields,
    ) -> BackendResult<WebhookInfo> {
        let mut body = serde_json::json!({
            "active": fields.active,
            "displayName": fields.display_name,
            "name": "",
            "organizationName": env.org,
            "projectName": env.project,
            "envName": env.name,
            "payloadUrl": fields.payload_url,
            "format": fields.format.clone().unwrap_or_default(),
            "filters": fields.filters,
            "groups": fields.groups,
        });
        if let Some(secret) = fields.secret.as_deref().filter(|s| !s.is_empty()) {
            body["secret"] = secret.into();
        }
        self.hook_json(Method::POST, &Self::hooks_path(env), Some(body))
            .await
    }

    async fn update_webhook(
        &self,
        env: &EnvName,
        name: &str,
        fields: &WebhookFields,
    ) -> BackendResult<WebhookInfo> {
        let mut body = serde_json::json!({
            "active": fields.active,
            "displayName": fields.display_name,
            "payloadUrl": fields.payload_url,
            "filters": fields.filters,
            "groups": fields.groups,
        });
        if let Some(format) = &fields.format {
            body["format"] = format.as_str().into();
        }
        if let Some(secret) = &fields.secret {
            body["secret"] = secret.as_str().into();
        }
        self.hook_json(Method::PATCH, &Self::hook_path(env, name), Some(body))
            .await
    }

    async fn delete_webhook(&self, env: &EnvName, name: &str) -> BackendResult<()> {
        self.ok(Method::DELETE, &Self::hook_path(env, name), None, None)
            .await
            .map(|_| ())
    }

    async fn ping_webhook(&self, env: &EnvName, name: &str) -> BackendResult<DeliveryInfo> {
        let path = format!("{}/ping", Self::hook_path(env, name));
        self.hook_json(Method::POST, &path, None).await
    }

    async fn webhook_deliveries(
        &self,
        env: &EnvName,
        name: &str,
        count: u32,
    ) -> BackendResult<Vec<DeliveryInfo>> {
        let mut path = format!("{}/deliveries", Self::hook_path(env, name));
        if count > 0 {
            path.push_str(&format!("?count={count}"));
        }
        self.hook_json(Method::GET, &path, None).await
    }
}
