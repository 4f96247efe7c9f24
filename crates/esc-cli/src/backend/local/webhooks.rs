//! Webhooks in local mode: the service's operations on the local store.
//! Deliveries run in this process, so before exiting a command waits (at
//! most [`SETTLE_LIMIT`]) for the ones its writes queued.

use std::time::Duration;

use async_trait::async_trait;
use esc_service::{DeliveryRecord, NewWebhook, WebhookUpdate};
use esc_store::Webhook;

use super::{LocalBackend, api_error, store_ref};
use crate::backend::BackendResult;
use crate::backend::webhooks::{DeliveryInfo, WebhookBackend, WebhookFields, WebhookInfo};
use crate::env_ref::EnvName;

/// The longest a command waits for its webhook deliveries.
const SETTLE_LIMIT: Duration = Duration::from_secs(15);

#[async_trait]
impl WebhookBackend for LocalBackend {
    async fn list_webhooks(&self, env: &EnvName) -> BackendResult<Vec<WebhookInfo>> {
        let hooks = self
            .service
            .webhooks(&self.caller, &store_ref(env))
            .await
            .map_err(api_error)?;
        Ok(hooks.iter().map(info).collect())
    }

    async fn webhook(&self, env: &EnvName, name: &str) -> BackendResult<WebhookInfo> {
        let hook = self
            .service
            .webhook(&self.caller, &store_ref(env), name)
            .await
            .map_err(api_error)?;
        Ok(info(&hook))
    }

    async fn create_webhook(
        &self,
        env: &EnvName,
        fields: &WebhookFields,
    ) -> BackendResult<WebhookInfo> {
        let hook = self
            .service
            .create_webhook(
                &self.caller,
                &store_ref(env),
                &NewWebhook {
                    name: String::new(),
                    display_name: fields.display_name.clone(),
                    payload_url: fields.payload_url.clone(),
                    format: fields.format.clone().unwrap_or_default(),
                    filters: fields.filters.clone(),
                    groups: fields.groups.clone(),
                    active: fields.active,
                    secret: fields.secret.clone().unwrap_or_default(),
                },
            )
            .await
            .map_err(api_error)?;
        Ok(info(&hook))
    }

    async fn update_webhook(
        &self,
        env: &EnvName,
        name: &str,
        fields: &WebhookFields,
    ) -> BackendResult<WebhookInfo> {
        let hook = self
            .service
            .update_webhook(
                &self.caller,
                &store_ref(env),
                name,
                &WebhookUpdate {
                    active: fields.active,
                    display_name: fields.display_name.clone(),
                    payload_url: fields.payload_url.clone(),
                    filters: Some(fields.filters.clone()),
                    groups: Some(fields.groups.clone()),
                    format: fields.format.clone(),
                    secret: fields.secret.clone(),
                },
            )
            .await
            .map_err(api_error)?;
        Ok(info(&hook))
    }

    async fn delete_webhook(&self, env: &EnvName, name: &str) -> BackendResult<()> {
        self.service
            .delete_webhook(&self.caller, &store_ref(env), name)
            .await
            .map_err(api_error)
    }

    async fn ping_webhook(&self, env: &EnvName, name: &str) -> BackendResult<DeliveryInfo> {
        let record = self
            .service
            .ping_webhook(&self.caller, &store_ref(env), name)
            .await
            .map_err(api_error)?;
        Ok(delivery(&record))
    }

    async fn webhook_deliveries(
        &self,
        env: &EnvName,
        name: &str,
        count: u32,
    ) -> BackendResult<Vec<DeliveryInfo>> {
        let records = self
            .service
            .webhook_deliveries(&self.caller, &store_ref(env), name, count)
            .await
            .map_err(api_error)?;
        Ok(records.iter().map(delivery).collect())
    }

    async fn settle_webhooks(&self) {
        self.service.wait_for_webhooks(SETTLE_LIMIT).await;
    }
}

fn info(hook: &Webhook) -> WebhookInfo {
    WebhookInfo {
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

fn delivery(record: &DeliveryRecord) -> DeliveryInfo {
    DeliveryInfo {
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
