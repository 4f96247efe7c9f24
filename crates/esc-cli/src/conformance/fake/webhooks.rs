//! Webhooks as the reference's fake backend has them (goldens
//! `env-webhook-*`): seeded hooks keep the names the transcript gives, and
//! deliveries (which our server really attempts, to `example.invalid`)
//! are reported as the fake reports every delivery: ids `dlv-<hook>-<n>` in
//! the order first seen, response 200, 42 ms, sent 2025-05-13T00:00:00Z.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use anyhow::Context as _;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::Response;
use esc_store::{EnvRef, WebhookSpec};
use serde_json::Value as Json;

use super::Fake;

/// When the fake says every delivery was sent: 2025-05-13T00:00:00Z.
const DELIVERED_AT_SECS: i64 = 1_747_094_400;
/// The duration the fake reports.
const DURATION_MS: i64 = 42;

/// A hook listed under an environment's `webhooks:` in a transcript.
pub(crate) struct SeedWebhook {
    pub(crate) name: String,
    pub(crate) display_name: String,
    pub(crate) payload_url: String,
    pub(crate) format: String,
    pub(crate) filters: Vec<String>,
    pub(crate) groups: Vec<String>,
    pub(crate) active: bool,
}

impl Fake {
    /// Stores a hook of `env` (`org/project/name`) as the transcript names
    /// it (our server would name it `hook-<n>`).
    pub(crate) async fn seed_webhook(&self, env: &str, hook: &SeedWebhook) -> anyhow::Result<()> {
        let mut parts = env.splitn(3, '/');
        let (Some(org), Some(project), Some(name)) = (parts.next(), parts.next(), parts.next())
        else {
            anyhow::bail!("seeding: webhooks need an org/project/name environment, not {env}");
        };
        self.store
            .create_webhook(
                &EnvRef::new(org, project, name),
                &hook.name,
                &WebhookSpec {
                    display_name: hook.display_name.clone(),
                    payload_url: hook.payload_url.clone(),
                    format: hook.format.clone(),
                    filters: hook.filters.clone(),
                    groups: hook.groups.clone(),
                    active: hook.active,
                },
                None,
            )
            .await
            .with_context(|| format!("seeding webhook {} of {env}", hook.name))?;
        Ok(())
    }
}

/// Delivery ids seen, our id -> the fake's.
#[derive(Default)]
pub(super) struct FakeDeliveries {
    ids: Mutex<BTreeMap<String, String>>,
}

impl FakeDeliveries {
    pub(super) fn new() -> Arc<FakeDeliveries> {
        Arc::new(FakeDeliveries::default())
    }

    /// Rewrites one delivery object of hook `hook`.
    fn rewrite(&self, hook: &str, delivery: &mut Json) {
        let Some(object) = delivery.as_object_mut() else {
            return;
        };
        let real = object
            .get("id")
            .and_then(Json::as_str)
            .unwrap_or_default()
            .to_owned();
        let mut ids = self
            .ids
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let seen_of_hook = ids
            .values()
            .filter(|id| id.starts_with(&format!("dlv-{hook}-")))
            .count();
        let fake = ids
            .entry(real)
            .or_insert_with(|| format!("dlv-{hook}-{}", seen_of_hook + 1))
            .clone();
        object.insert("id".into(), fake.into());
        object.insert("responseCode".into(), 200.into());
        object.insert("duration".into(), DURATION_MS.into());
        object.insert("timestamp".into(), DELIVERED_AT_SECS.into());
    }
}

/// The response layer: ping and delivery listings as the fake reports them.
pub(super) async fn fixed_deliveries(
    State(deliveries): State<Arc<FakeDeliveries>>,
    request: Request,
    next: Next,
) -> Response {
    let path = request.uri().path().to_owned();
    let Some(hook) = hook_of(&path) else {
        return next.run(request).await;
    };
    let response = next.run(request).await;
    if !response.status().is_success() {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, 16 << 20).await else {
        return Response::from_parts(parts, Body::empty());
    };
    let Ok(mut json) = serde_json::from_slice::<Json>(&bytes) else {
        return Response::from_parts(parts, Body::from(bytes));
    };
    match &mut json {
        Json::Array(items) => {
            // newest first: number them in the order they happened
            for item in items.iter_mut().rev() {
                deliveries.rewrite(&hook, item);
            }
        }
        other => deliveries.rewrite(&hook, other),
    }
    let mut text = json.to_string();
    text.push('\n');
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, Body::from(text))
}

/// The hook of `…/hooks/<name>/ping` and `…/hooks/<name>/deliveries`.
fn hook_of(path: &str) -> Option<String> {
    let rest = path
        .strip_suffix("/ping")
        .or_else(|| path.strip_suffix("/deliveries"))?;
    let (before, name) = rest.rsplit_once('/')?;
    before.ends_with("/hooks").then(|| name.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delivery_paths() {
        let e = "/api/esc/environments/o/p/e";
        assert_eq!(
            hook_of(&format!("{e}/hooks/hook-1/ping")).as_deref(),
            Some("hook-1")
        );
        assert_eq!(
            hook_of(&format!("{e}/hooks/a/deliveries")).as_deref(),
            Some("a")
        );
        assert_eq!(hook_of(&format!("{e}/hooks/a")), None);
        assert_eq!(hook_of(&format!("{e}/ping")), None);
    }

    #[test]
    fn ids_are_numbered_per_hook_in_order() {
        let fake = FakeDeliveries::default();
        let mut first = serde_json::json!({"id": "u1", "responseCode": 0});
        let mut second = serde_json::json!({"id": "u2"});
        let mut again = serde_json::json!({"id": "u1"});
        fake.rewrite("hook-1", &mut first);
        fake.rewrite("hook-1", &mut second);
        fake.rewrite("hook-1", &mut again);
        assert_eq!(first["id"], "dlv-hook-1-1");
        assert_eq!(first["responseCode"], 200);
        assert_eq!(second["id"], "dlv-hook-1-2");
        assert_eq!(again["id"], "dlv-hook-1-1");
    }
}
