//! The webhook operations (spec/API.md § 5.11). Every one needs admin on
//! the environment; writes append an audit event naming the hook (never
//! its URL or secret). Secrets are write-only: only `has_secret` comes back.

use esc_store::{EnvRef, Plaintext, StoreError, Timestamp, Webhook, WebhookSecretUpdate};
use esc_store::{WebhookSecretUpdate as SecretUpdate, WebhookSpec};

use super::{Caller, Service, with_env_name};
use crate::access::Permission;
use crate::error::{ServiceError, ServiceResult};
use crate::names::check_env_ref;
use crate::webhooks::dispatch::{Target, record_of, targets_of};
use crate::webhooks::{
    DeliveryRecord, Event, Format, NewWebhook, REMOVE_SECRET, WebhookUpdate, check_display_name,
    check_name, check_secret, validate,
};

/// Hooks per environment, at most.
const MAX_HOOKS_PER_ENVIRONMENT: usize = 32;
/// Deliveries listed when the caller does not say.
const DEFAULT_DELIVERY_COUNT: u32 = 100;

impl Service {
    /// The environment's webhooks, by name.
    pub async fn webhooks(&self, caller: &Caller, env: &EnvRef) -> ServiceResult<Vec<Webhook>> {
        self.hook_admin(caller, env)?;
        self.inner
            .store
            .list_webhooks(env)
            .await
            .map_err(|error| with_env_name(error, env))
    }

    /// One webhook.
    pub async fn webhook(
        &self,
        caller: &Caller,
        env: &EnvRef,
        name: &str,
    ) -> ServiceResult<Webhook> {
        self.hook_admin(caller, env)?;
        self.inner
            .store
            .webhook(env, name)
            .await
            .map_err(|error| hook_error(error, env, name))
    }

    /// Creates a webhook; an empty name becomes `hook-<n>` (the lowest `n`
    /// above every existing `hook-<m>`).
    pub async fn create_webhook(
        &self,
        caller: &Caller,
        env: &EnvRef,
        hook: &NewWebhook,
    ) -> ServiceResult<Webhook> {
        self.hook_admin(caller, env)?;
        check_display_name(&hook.display_name)?;
        let format = if hook.format.is_empty() {
            "raw"
        } else {
            hook.format.as_str()
        };
        validate(
            self.inner.webhooks.config(),
            Format::parse(format)?,
            &hook.payload_url,
            &hook.filters,
            &hook.groups,
        )?;
        check_secret(&hook.secret)?;
        if !hook.name.is_empty() {
            check_name(&hook.name)?;
        }
        let existing = self
            .inner
            .store
            .list_webhooks(env)
            .await
            .map_err(|error| with_env_name(error, env))?;
        if existing.len() >= MAX_HOOKS_PER_ENVIRONMENT {
            return Err(ServiceError::invalid(format!(
                "environment '{env}' already has {MAX_HOOKS_PER_ENVIRONMENT} webhooks, the most allowed"
            )));
        }
        let spec = WebhookSpec {
            display_name: hook.display_name.clone(),
            payload_url: hook.payload_url.clone(),
            format: format.to_owned(),
            filters: dedup(&hook.filters),
            groups: dedup(&hook.groups),
            active: hook.active,
        };
        let secret =
            (!hook.secret.is_empty()).then(|| Plaintext::new(hook.secret.as_bytes().to_vec()));
        let name = if hook.name.is_empty() {
            let highest = existing
                .iter()
                .filter_map(|hook| hook.name.strip_prefix("hook-")?.parse::<u64>().ok())
                .max()
                .unwrap_or(0);
            // `hook-18446744073709551615` is a name a caller may give
            let Some(next) = highest.checked_add(1) else {
                return Err(ServiceError::invalid(format!(
                    "no hook-<n> name is left above 'hook-{highest}': give the webhook a name"
                )));
            };
            format!("hook-{next}")
        } else {
            hook.name.clone()
        };
        let created = self
            .inner
            .store
            .create_webhook(env, &name, &spec, secret.as_ref())
            .await
            .map_err(|error| match error {
                StoreError::AlreadyExists { .. } => ServiceError::AlreadyExists {
                    what: format!("webhook '{name}'"),
                },
                other => with_env_name(other, env),
            })?;
        self.audit(caller, env, "webhook.create", &name).await?;
        Ok(created)
    }

    /// Replaces a webhook (see [`WebhookUpdate`]).
    pub async fn update_webhook(
        &self,
        caller: &Caller,
        env: &EnvRef,
        name: &str,
        update: &WebhookUpdate,
    ) -> ServiceResult<Webhook> {
        let current = self.webhook(caller, env, name).await?;
        check_display_name(&update.display_name)?;
        let format = match &update.format {
            Some(format) if !format.is_empty() => format.clone(),
            _ => current.format.clone(),
        };
        let filters = update.filters.clone().unwrap_or_default();
        let groups = update.groups.clone().unwrap_or_default();
        validate(
            self.inner.webhooks.config(),
            Format::parse(&format)?,
            &update.payload_url,
            &filters,
            &groups,
        )?;
        let secret = match update.secret.as_deref() {
            None | Some("") => SecretUpdate::Keep,
            Some(REMOVE_SECRET) => SecretUpdate::Remove,
            Some(secret) => {
                check_secret(secret)?;
                WebhookSecretUpdate::Set(Plaintext::new(secret.as_bytes().to_vec()))
            }
        };
        let spec = WebhookSpec {
            display_name: update.display_name.clone(),
            payload_url: update.payload_url.clone(),
            format,
            filters: dedup(&filters),
            groups: dedup(&groups),
            active: update.active,
        };
        let updated = self
            .inner
            .store
            .update_webhook(env, name, &spec, &secret)
            .await
            .map_err(|error| hook_error(error, env, name))?;
        self.audit(caller, env, "webhook.update", name).await?;
        Ok(updated)
    }

    /// Deletes a webhook and its deliveries.
    pub async fn delete_webhook(
        &self,
        caller: &Caller,
        env: &EnvRef,
        name: &str,
    ) -> ServiceResult<()> {
        self.hook_admin(caller, env)?;
        self.inner
            .store
            .delete_webhook(env, name)
            .await
            .map_err(|error| hook_error(error, env, name))?;
        self.audit(caller, env, "webhook.delete", name).await
    }

    /// Delivers a `ping` now (active or not) and returns the delivery.
    pub async fn ping_webhook(
        &self,
        caller: &Caller,
        env: &EnvRef,
        name: &str,
    ) -> ServiceResult<DeliveryRecord> {
        let hook = self.webhook(caller, env, name).await?;
        let secret = if hook.has_secret {
            self.inner
                .store
                .webhook_secret(env, name)
                .await
                .map_err(|error| hook_error(error, env, name))?
        } else {
            None
        };
        let event = Event {
            kind: "ping".into(),
            env: env.clone(),
            revision: None,
            tag: None,
            user: caller.login.clone(),
            time: Timestamp::now(),
        };
        let record = self
            .inner
            .webhooks
            .deliver_now(&Target { hook, secret }, &event)
            .await
            .map_err(|error| match error {
                ServiceError::NotFound { .. } => ServiceError::NotFound {
                    what: format!("webhook '{name}'"),
                },
                other => other,
            })?;
        self.audit(caller, env, "webhook.ping", name).await?;
        Ok(record)
    }

    /// A webhook's deliveries, newest first (`count` 0 = 100).
    pub async fn webhook_deliveries(
        &self,
        caller: &Caller,
        env: &EnvRef,
        name: &str,
        count: u32,
    ) -> ServiceResult<Vec<DeliveryRecord>> {
        self.hook_admin(caller, env)?;
        let count = if count == 0 {
            DEFAULT_DELIVERY_COUNT
        } else {
            count
        };
        self.inner
            .store
            .list_webhook_deliveries(env, name, count)
            .await
            .map_err(|error| hook_error(error, env, name))?
            .iter()
            .map(record_of)
            .collect()
    }

    /// Waits until queued webhook deliveries are done, at most `limit`
    /// (the CLI's local mode calls it before exiting).
    pub async fn wait_for_webhooks(&self, limit: std::time::Duration) {
        self.inner.webhooks.wait_idle(limit).await;
    }

    /// For graceful shutdown: deliveries waiting to be retried give up now
    /// (their failed attempts stay recorded) and no failure is retried any
    /// more; then waits for the deliveries in flight, at most `limit`.
    pub async fn close_webhooks(&self, limit: std::time::Duration) {
        self.inner.webhooks.close(limit).await;
    }

    /// Queues `kind` for the environment's hooks (looked up off the
    /// writer's path). Never fails and never waits.
    pub(super) fn notify_webhooks(
        &self,
        caller: &Caller,
        env: &EnvRef,
        kind: &str,
        revision: Option<u64>,
        tag: Option<&str>,
    ) {
        self.inner.webhooks.enqueue(
            Event {
                kind: kind.to_owned(),
                env: env.clone(),
                revision,
                tag: tag.map(str::to_owned),
                user: caller.login.clone(),
                time: Timestamp::now(),
            },
            None,
        );
    }

    /// The hooks to tell of an environment's deletion, found before it
    /// (deleting removes them). A failed lookup is logged, not returned:
    /// it must not fail the deletion.
    pub(super) async fn deletion_targets(
        &self,
        caller: &Caller,
        env: &EnvRef,
    ) -> Option<(Event, Vec<Target>)> {
        let event = Event {
            kind: "deleted".into(),
            env: env.clone(),
            revision: None,
            tag: None,
            user: caller.login.clone(),
            time: Timestamp::now(),
        };
        match targets_of(&*self.inner.store, &event).await {
            Ok(targets) if !targets.is_empty() => Some((event, targets)),
            Ok(_) => None,
            Err(error) => {
                tracing::warn!(%error, "looking up webhooks failed; the deletion is not delivered");
                None
            }
        }
    }

    /// Queues a deletion found by [`Service::deletion_targets`].
    pub(super) fn notify_deletion(&self, found: Option<(Event, Vec<Target>)>) {
        if let Some((event, targets)) = found {
            self.inner.webhooks.enqueue(event, Some(targets));
        }
    }

    fn hook_admin(&self, caller: &Caller, env: &EnvRef) -> ServiceResult<()> {
        check_env_ref(env)?;
        self.require(caller, env, Permission::Admin)
    }
}

/// A store error about a hook, named for the caller.
fn hook_error(error: StoreError, env: &EnvRef, name: &str) -> ServiceError {
    match error {
        StoreError::NotFound { what } if what.starts_with("webhook") => ServiceError::NotFound {
            what: format!("webhook '{name}'"),
        },
        other => with_env_name(other, env),
    }
}

/// `items` without repeats, first occurrence kept.
fn dedup(items: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(items.len());
    for item in items {
        if !out.contains(item) {
            out.push(item.clone());
        }
    }
    out
}
