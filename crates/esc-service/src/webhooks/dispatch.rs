//! Delivering events off the writer's path. A write only puts its event in
//! a bounded queue (`try_send`: never waits; a full queue drops the event
//! with a warning); one worker task, started on first use, looks up the
//! environment's hooks and spawns one task per delivery while holding one
//! of `max_concurrent_deliveries` permits, so hooks that hang occupy at
//! most that many tasks (each bounded by the client's total timeout) and
//! everything else waits in the queue as data. Ping does not use the
//! queue: it delivers in the caller's task, once, and returns the record.
//!
//! Retries: a delivery that got no response or a 5xx / 429 status is
//! tried again, up to `max_attempts` in all, after `retry_delay`, doubling
//! each time; every attempt is recorded as a delivery. While it waits, a
//! delivery gives its permit back and holds one of `max_waiting_retries`
//! slots instead (none free: it is not retried), so the tasks alive are
//! bounded by the permits plus the slots. [`Dispatcher::close`] (graceful
//! shutdown) ends the waits: those deliveries are not tried again.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use esc_store::{NewWebhookDelivery, Plaintext, Store, Timestamp, Webhook};
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore, mpsc, watch};

use super::client::{Client, Response};
use super::{ATTEMPT_HEADER, DeliveryRecord, Event, Format, KIND_HEADER, SIGNATURE_HEADER};
use super::{WebhookConfig, payload, signature, subscribed};
use crate::error::{ServiceError, ServiceResult};

/// A hook to deliver to, with its secret.
pub(crate) struct Target {
    pub(crate) hook: Webhook,
    pub(crate) secret: Option<Plaintext>,
}

/// One event waiting for delivery.
struct Job {
    event: Event,
    /// Hooks found before the write (an environment's deletion removes
    /// them); `None`: look them up when delivering.
    targets: Option<Vec<Target>>,
}

/// The queue and what its worker needs.
pub(crate) struct Dispatcher {
    shared: Arc<Shared>,
    sender: OnceLock<mpsc::Sender<Job>>,
}

/// What the worker and every delivery task share.
struct Shared {
    store: Arc<dyn Store>,
    client: Client,
    config: WebhookConfig,
    /// Events queued or being delivered (for [`Dispatcher::wait_idle`]).
    pending: Pending,
    /// One per delivery attempt in flight.
    permits: Arc<Semaphore>,
    /// One per delivery waiting to be tried again.
    retry_slots: Arc<Semaphore>,
    /// Set once by [`Dispatcher::close`]: waiting retries give up.
    closing: watch::Sender<bool>,
}

#[derive(Default)]
struct Pending {
    count: AtomicUsize,
    idle: Notify,
}

impl Pending {
    fn done(&self) {
        if self.count.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.idle.notify_waiters();
        }
    }
}

impl Dispatcher {
    pub(crate) fn new(store: Arc<dyn Store>, config: WebhookConfig) -> Self {
        let shared = Shared {
            store,
            client: Client::new(&config),
            // (Semaphore::new panics above MAX_PERMITS)
            permits: Arc::new(Semaphore::new(
                config
                    .max_concurrent_deliveries
                    .clamp(1, Semaphore::MAX_PERMITS),
            )),
            retry_slots: Arc::new(Semaphore::new(
                config.max_waiting_retries.min(Semaphore::MAX_PERMITS),
            )),
            closing: watch::Sender::new(false),
            pending: Pending::default(),
            config,
        };
        Self {
            shared: Arc::new(shared),
            sender: OnceLock::new(),
        }
    }

    pub(crate) fn config(&self) -> &WebhookConfig {
        &self.shared.config
    }

    /// Queues `event` for the environment's subscribed hooks (looked up by
    /// the worker, or `targets` when given). Never waits.
    pub(crate) fn enqueue(&self, event: Event, targets: Option<Vec<Target>>) {
        if targets.as_ref().is_some_and(Vec::is_empty) {
            return;
        }
        let Some(sender) = self.sender() else {
            return;
        };
        self.shared.pending.count.fetch_add(1, Ordering::AcqRel);
        if sender.try_send(Job { event, targets }).is_err() {
            self.shared.pending.done();
            tracing::warn!("webhook delivery queue is full; an event was dropped");
        }
    }

    /// Waits until nothing is queued or in flight, at most `limit`.
    pub(crate) async fn wait_idle(&self, limit: Duration) {
        let pending = &self.shared.pending;
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let idle = pending.idle.notified();
            if pending.count.load(Ordering::Acquire) == 0 {
                return;
            }
            if tokio::time::timeout_at(deadline, idle).await.is_err() {
                return;
            }
        }
    }

    /// For shutdown: deliveries waiting to be tried again give up now
    /// (their last attempt stays recorded), and later failures are not
    /// retried; then waits for the rest, at most `limit`.
    pub(crate) async fn close(&self, limit: Duration) {
        self.shared.closing.send_replace(true);
        self.wait_idle(limit).await;
    }

    /// Delivers `event` to `target` now, once, and records it.
    pub(crate) async fn deliver_now(
        &self,
        target: &Target,
        event: &Event,
    ) -> ServiceResult<DeliveryRecord> {
        let shared = &*self.shared;
        let (record, _) = deliver(
            &*shared.store,
            &shared.client,
            &shared.config,
            target,
            event,
            1,
        )
        .await?;
        Ok(record)
    }

    /// The worker's queue, started on first use (needs a Tokio runtime;
    /// without one, events are not delivered).
    fn sender(&self) -> Option<&mpsc::Sender<Job>> {
        if let Some(sender) = self.sender.get() {
            return Some(sender);
        }
        let runtime = tokio::runtime::Handle::try_current().ok()?;
        let (sender, receiver) = mpsc::channel(self.shared.config.queue_capacity.max(1));
        if self.sender.set(sender).is_ok() {
            runtime.spawn(worker(receiver, self.shared.clone()));
        }
        self.sender.get()
    }
}

async fn worker(mut receiver: mpsc::Receiver<Job>, shared: Arc<Shared>) {
    while let Some(job) = receiver.recv().await {
        let targets = match job.targets {
            Some(targets) => targets,
            None => match targets_of(&*shared.store, &job.event).await {
                Ok(targets) => targets,
                Err(error) => {
                    tracing::warn!(%error, "looking up webhooks failed; an event was not delivered");
                    shared.pending.done();
                    continue;
                }
            },
        };
        let event = Arc::new(job.event);
        let remaining = Arc::new(AtomicUsize::new(targets.len()));
        if targets.is_empty() {
            shared.pending.done();
        }
        for target in targets {
            let Ok(permit) = shared.permits.clone().acquire_owned().await else {
                return;
            };
            let (shared, event, remaining) = (shared.clone(), event.clone(), remaining.clone());
            tokio::spawn(async move {
                deliver_with_retries(&shared, target, &event, permit).await;
                if remaining.fetch_sub(1, Ordering::AcqRel) == 1 {
                    shared.pending.done();
                }
            });
        }
    }
}

/// Delivers and records, trying again as the module documentation says.
/// Holds `permit` while an attempt runs, a retry slot while it waits.
/// Each retry reads the hook again: one deleted, deactivated or no longer
/// subscribed meanwhile is not tried again, and a new URL or secret is
/// used (a secret rotated because it leaked must not sign retries).
async fn deliver_with_retries(
    shared: &Shared,
    target: Target,
    event: &Event,
    permit: OwnedSemaphorePermit,
) {
    let max_attempts = shared.config.max_attempts.max(1);
    let mut permit = permit;
    let mut target = target;
    let mut attempt = 1;
    loop {
        let outcome = deliver(
            &*shared.store,
            &shared.client,
            &shared.config,
            &target,
            event,
            attempt,
        )
        .await;
        drop(permit);
        let transient = match outcome {
            Ok((_, transient)) => transient,
            Err(error) => {
                // the environment or hook is gone, or the store failed:
                // nothing more to tell or record
                tracing::debug!(%error, hook = %target.hook.name, "recording a webhook delivery failed");
                return;
            }
        };
        if !transient || attempt >= max_attempts || *shared.closing.borrow() {
            return;
        }
        let Ok(slot) = shared.retry_slots.clone().try_acquire_owned() else {
            tracing::warn!(
                hook = %target.hook.name,
                "too many webhook deliveries wait to be retried; a failed delivery is not retried"
            );
            return;
        };
        let mut closing = shared.closing.subscribe();
        tokio::select! {
            () = tokio::time::sleep(backoff(shared.config.retry_delay, attempt)) => {}
            _ = closing.wait_for(|closed| *closed) => return,
        }
        permit = match shared.permits.clone().acquire_owned().await {
            Ok(permit) => permit,
            Err(_) => return,
        };
        drop(slot);
        // closed while waiting for a permit
        if *shared.closing.borrow() {
            return;
        }
        target = match current_target(&*shared.store, event, &target.hook.name).await {
            Ok(Some(current)) => current,
            Ok(None) => return,
            Err(error) => {
                tracing::debug!(%error, hook = %target.hook.name, "reading a webhook to retry failed");
                return;
            }
        };
        attempt += 1;
    }
}

/// The wait after failed attempt `attempt` (1-based): `first`, doubled for
/// each attempt after the first.
fn backoff(first: Duration, attempt: u32) -> Duration {
    first.saturating_mul(1 << attempt.saturating_sub(1).min(16))
}

/// The hook named `name` as it is now, if it still exists, is active and
/// subscribes to the event.
async fn current_target(
    store: &dyn Store,
    event: &Event,
    name: &str,
) -> ServiceResult<Option<Target>> {
    let hook = match store.webhook(&event.env, name).await {
        Ok(hook) => hook,
        // the hook or its environment was deleted meanwhile
        Err(esc_store::StoreError::NotFound { .. }) => return Ok(None),
        Err(other) => return Err(other.into()),
    };
    if !(hook.active && subscribed(&hook.filters, &hook.groups, &event.kind)) {
        return Ok(None);
    }
    let secret = if hook.has_secret {
        store.webhook_secret(&event.env, &hook.name).await?
    } else {
        None
    };
    Ok(Some(Target { hook, secret }))
}

/// The active hooks of the event's environment that subscribe to it.
pub(crate) async fn targets_of(store: &dyn Store, event: &Event) -> ServiceResult<Vec<Target>> {
    let mut targets = Vec::new();
    let hooks = match store.list_webhooks(&event.env).await {
        Ok(hooks) => hooks,
        // deleted meanwhile: nobody to tell
        Err(esc_store::StoreError::NotFound { .. }) => return Ok(targets),
        Err(other) => return Err(other.into()),
    };
    for hook in hooks {
        if hook.active && subscribed(&hook.filters, &hook.groups, &event.kind) {
            let secret = if hook.has_secret {
                store.webhook_secret(&event.env, &hook.name).await?
            } else {
                None
            };
            targets.push(Target { hook, secret });
        }
    }
    Ok(targets)
}

/// POSTs the event to one hook and records the delivery (unless the
/// environment is gone); also says whether trying again may succeed.
/// `attempt` (1-based) is sent in [`ATTEMPT_HEADER`] from the second on.
async fn deliver(
    store: &dyn Store,
    client: &Client,
    config: &WebhookConfig,
    target: &Target,
    event: &Event,
    attempt: u32,
) -> ServiceResult<(DeliveryRecord, bool)> {
    let hook = &target.hook;
    let format = Format::parse(&hook.format).unwrap_or(Format::Raw);
    let body = payload(format, &hook.name, event);
    let mut headers = vec![
        ("Content-Type".to_owned(), "application/json".to_owned()),
        (KIND_HEADER.to_owned(), event.kind.clone()),
    ];
    if attempt > 1 {
        headers.push((ATTEMPT_HEADER.to_owned(), attempt.to_string()));
    }
    if let Some(secret) = &target.secret {
        headers.push((
            SIGNATURE_HEADER.to_owned(),
            signature(secret.expose(), body.as_bytes()),
        ));
    }
    let time = Timestamp::now();
    let started = Instant::now();
    let response = if format == Format::PulumiDeployments {
        Response::final_failure(
            "pulumi_deployments webhooks trigger Pulumi Deployments, which this server does not run; nothing was sent".into(),
            started.elapsed(),
        )
    } else {
        match super::check_http_url(config, &hook.payload_url) {
            Ok(url) => client.post(url, &headers, body.clone()).await,
            Err(error) => Response::final_failure(error.to_string(), started.elapsed()),
        }
    };
    // The signature is derived from the secret: not kept.
    let request_headers: String = headers
        .iter()
        .map(|(name, value)| {
            if name == SIGNATURE_HEADER {
                format!("{name}: [redacted]\n")
            } else {
                format!("{name}: {value}\n")
            }
        })
        .collect();
    let duration_ms = i64::try_from(response.duration.as_millis()).unwrap_or(i64::MAX);
    let details = serde_json::json!({
        "payload": body,
        "requestUrl": hook.payload_url,
        "requestHeaders": request_headers,
        "responseHeaders": response.headers,
        "responseBody": response.body,
    });
    let recorded = store
        .record_webhook_delivery(
            &event.env,
            &hook.name,
            &NewWebhookDelivery {
                kind: event.kind.clone(),
                time,
                duration_ms,
                response_code: response.status,
                details: Plaintext::new(details.to_string().into_bytes()),
            },
        )
        .await?;
    Ok((record_of(&recorded)?, response.transient))
}

/// A stored delivery as the API shows it.
pub(crate) fn record_of(delivery: &esc_store::WebhookDelivery) -> ServiceResult<DeliveryRecord> {
    let details: serde_json::Value = delivery
        .delivery
        .details
        .expose_str()
        .and_then(|text| serde_json::from_str(text).ok())
        .ok_or_else(|| ServiceError::Internal("a stored webhook delivery is not JSON".into()))?;
    let field = |name: &str| {
        details
            .get(name)
            .and_then(serde_json::Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    Ok(DeliveryRecord {
        id: delivery.id.clone(),
        kind: delivery.delivery.kind.clone(),
        timestamp: delivery.delivery.time.unix_millis().div_euclid(1000),
        duration_ms: delivery.delivery.duration_ms,
        payload: field("payload"),
        request_url: field("requestUrl"),
        request_headers: field("requestHeaders"),
        response_code: delivery.delivery.response_code,
        response_headers: field("responseHeaders"),
        response_body: field("responseBody"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_wait_doubles_and_saturates() {
        let second = Duration::from_secs(1);
        assert_eq!(backoff(second, 1), second);
        assert_eq!(backoff(second, 2), 2 * second);
        assert_eq!(backoff(second, 3), 4 * second);
        // the exponent stops at 16, the product at Duration::MAX
        assert_eq!(backoff(second, u32::MAX), 65_536 * second);
        assert_eq!(backoff(Duration::MAX, 9), Duration::MAX);
        assert_eq!(backoff(Duration::ZERO, 9), Duration::ZERO);
    }
}
