//! Delivering events off the writer's path. A write only puts its event in
//! a bounded queue (`try_send`: never waits; a full queue drops the event
//! with a warning); one worker task, started on first use, looks up the
//! environment's hooks and spawns one task per delivery while holding one
//! of `max_concurrent_deliveries` permits, so hooks that hang occupy at
//! most that many tasks (each bounded by the client's total timeout) and
//! everything else waits in the queue as data. Ping does not use the
//! queue: it delivers in the caller's task and returns the record.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use esc_store::{NewWebhookDelivery, Plaintext, Store, Timestamp, Webhook};
use tokio::sync::{Notify, Semaphore, mpsc};

use super::client::Client;
use super::{DeliveryRecord, Event, Format, KIND_HEADER, SIGNATURE_HEADER, WebhookConfig};
use super::{payload, signature, subscribed};
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
    store: Arc<dyn Store>,
    client: Arc<Client>,
    config: WebhookConfig,
    sender: OnceLock<mpsc::Sender<Job>>,
    /// Events queued or being delivered (for [`Dispatcher::wait_idle`]).
    pending: Arc<Pending>,
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
        Self {
            store,
            client: Arc::new(Client::new(&config)),
            config,
            sender: OnceLock::new(),
            pending: Arc::default(),
        }
    }

    pub(crate) fn config(&self) -> &WebhookConfig {
        &self.config
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
        self.pending.count.fetch_add(1, Ordering::AcqRel);
        if sender.try_send(Job { event, targets }).is_err() {
            self.pending.done();
            tracing::warn!("webhook delivery queue is full; an event was dropped");
        }
    }

    /// Waits until nothing is queued or in flight, at most `limit`.
    pub(crate) async fn wait_idle(&self, limit: Duration) {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let idle = self.pending.idle.notified();
            if self.pending.count.load(Ordering::Acquire) == 0 {
                return;
            }
            if tokio::time::timeout_at(deadline, idle).await.is_err() {
                return;
            }
        }
    }

    /// Delivers `event` to `target` now and records it.
    pub(crate) async fn deliver_now(
        &self,
        target: &Target,
        event: &Event,
    ) -> ServiceResult<DeliveryRecord> {
        deliver(&*self.store, &self.client, &self.config, target, event).await
    }

    /// The worker's queue, started on first use (needs a Tokio runtime;
    /// without one, events are not delivered).
    fn sender(&self) -> Option<&mpsc::Sender<Job>> {
        if let Some(sender) = self.sender.get() {
            return Some(sender);
        }
        let runtime = tokio::runtime::Handle::try_current().ok()?;
        let (sender, receiver) = mpsc::channel(self.config.queue_capacity.max(1));
        if self.sender.set(sender).is_ok() {
            runtime.spawn(worker(
                receiver,
                self.store.clone(),
                self.client.clone(),
                self.config.clone(),
                self.pending.clone(),
            ));
        }
        self.sender.get()
    }
}

async fn worker(
    mut receiver: mpsc::Receiver<Job>,
    store: Arc<dyn Store>,
    client: Arc<Client>,
    config: WebhookConfig,
    pending: Arc<Pending>,
) {
    let permits = Arc::new(Semaphore::new(config.max_concurrent_deliveries.max(1)));
    while let Some(job) = receiver.recv().await {
        let targets = match job.targets {
            Some(targets) => targets,
            None => match targets_of(&*store, &job.event).await {
                Ok(targets) => targets,
                Err(error) => {
                    tracing::warn!(%error, "looking up webhooks failed; an event was not delivered");
                    pending.done();
                    continue;
                }
            },
        };
        let event = Arc::new(job.event);
        let remaining = Arc::new(AtomicUsize::new(targets.len()));
        if targets.is_empty() {
            pending.done();
        }
        for target in targets {
            let Ok(permit) = permits.clone().acquire_owned().await else {
                return;
            };
            let (store, client, config) = (store.clone(), client.clone(), config.clone());
            let (event, remaining, pending) = (event.clone(), remaining.clone(), pending.clone());
            tokio::spawn(async move {
                if let Err(error) = deliver(&*store, &client, &config, &target, &event).await {
                    tracing::debug!(%error, hook = %target.hook.name, "recording a webhook delivery failed");
                }
                drop(permit);
                if remaining.fetch_sub(1, Ordering::AcqRel) == 1 {
                    pending.done();
                }
            });
        }
    }
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
/// environment is gone).
async fn deliver(
    store: &dyn Store,
    client: &Client,
    config: &WebhookConfig,
    target: &Target,
    event: &Event,
) -> ServiceResult<DeliveryRecord> {
    let hook = &target.hook;
    let format = Format::parse(&hook.format).unwrap_or(Format::Raw);
    let body = payload(format, &hook.name, event);
    let mut headers = vec![
        ("Content-Type".to_owned(), "application/json".to_owned()),
        (KIND_HEADER.to_owned(), event.kind.clone()),
    ];
    if let Some(secret) = &target.secret {
        headers.push((
            SIGNATURE_HEADER.to_owned(),
            signature(secret.expose(), body.as_bytes()),
        ));
    }
    let time = Timestamp::now();
    let started = Instant::now();
    let response = if format == Format::PulumiDeployments {
        super::client::Response {
            status: None,
            headers: String::new(),
            body: "pulumi_deployments webhooks trigger Pulumi Deployments, which this server does not run; nothing was sent".into(),
            duration: started.elapsed(),
        }
    } else {
        match super::check_http_url(config, &hook.payload_url) {
            Ok(url) => client.post(url, &headers, body.clone()).await,
            Err(error) => super::client::Response {
                status: None,
                headers: String::new(),
                body: error.to_string(),
                duration: started.elapsed(),
            },
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
    record_of(&recorded)
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
