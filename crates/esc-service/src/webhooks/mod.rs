//! Environment webhooks: what a hook may say (formats, URL rules, events
//! and event groups), the payloads it receives and how they are signed.
//! The operations are on [`crate::Service`] (`service/webhooks.rs`), the
//! HTTP side is [`client`], the bounded background queue [`dispatch`].
//!
//! Signing: when a hook has a secret, every delivery carries
//! `Pulumi-Webhook-Signature: <hex HMAC-SHA256 of the exact body bytes,
//! keyed with the secret>` (Pulumi Cloud's header, so its receivers work
//! unchanged). A payload never holds a value of the environment: only
//! names, the revision, the actor and the time.

pub(crate) mod client;
pub(crate) mod dispatch;

use std::net::IpAddr;
use std::time::Duration;

use aws_lc_rs::hmac;
use esc_store::{EnvRef, Timestamp};

use crate::error::{ServiceError, ServiceResult};

/// The header holding a delivery's signature.
pub const SIGNATURE_HEADER: &str = "Pulumi-Webhook-Signature";
/// The header naming what a delivery is about (`ping`, `updated`, ...).
pub const KIND_HEADER: &str = "Pulumi-Webhook-Kind";
/// The header numbering a retried delivery's attempt (`2`, `3`, ...; absent
/// on the first), so receivers can tell a retry from a new event.
pub const ATTEMPT_HEADER: &str = "Esc-Webhook-Attempt";
/// Sent as `secret` in an update to clear a hook's secret.
pub const REMOVE_SECRET: &str = "__remove-secret";

/// Events a hook may subscribe to (its `filters`), in the order listed to users.
pub const EVENTS: &[&str] = &[
    "created",
    "updated",
    "deleted",
    "tagged",
    "rotated",
    "rotation_failed",
];

/// Event groups a hook may subscribe to: `environments` means every event
/// above; `change_requests` is accepted for compatibility and never fires
/// here (this server has no change requests).
pub const GROUPS: &[&str] = &["environments", "change_requests"];

/// Webhook settings of the service. Every value is valid.
#[derive(Clone, Debug)]
pub struct WebhookConfig {
    /// Allow plain `http://` payload URLs whose host is a loopback address
    /// (development and tests only; off by default).
    pub allow_insecure_loopback_http: bool,
    /// Allow hosts resolving to link-local or cloud metadata addresses
    /// (off by default: SSRF guard).
    pub allow_link_local: bool,
    /// Time allowed to connect (default 5 s).
    pub connect_timeout: Duration,
    /// Time allowed for one whole delivery, response included (default 10 s).
    pub total_timeout: Duration,
    /// Bytes of a receiver's response body kept (default 4 KiB); the rest
    /// is not read.
    pub max_response_bytes: usize,
    /// Events waiting for delivery, at most (default 1024); more are dropped
    /// with a warning rather than slowing writes.
    pub queue_capacity: usize,
    /// Deliveries in flight at once, at most (default 8).
    pub max_concurrent_deliveries: usize,
    /// Attempts per queued delivery, at most (default 3; 0 counts as 1).
    /// An attempt that got no response or a 5xx / 429 status is tried
    /// again; each attempt is recorded as a delivery of its own. Ping is
    /// tried once.
    pub max_attempts: u32,
    /// The wait before the first retry (default 1 s); it doubles for each
    /// further one.
    pub retry_delay: Duration,
    /// Deliveries waiting to be tried again, at most (default 256); a
    /// failure beyond that is not retried (with a warning), so hooks that
    /// keep failing cannot pile up work.
    pub max_waiting_retries: usize,
}

impl Default for WebhookConfig {
    fn default() -> Self {
        Self {
            allow_insecure_loopback_http: false,
            allow_link_local: false,
            connect_timeout: Duration::from_secs(5),
            total_timeout: Duration::from_secs(10),
            max_response_bytes: 4096,
            queue_capacity: 1024,
            max_concurrent_deliveries: 8,
            max_attempts: 3,
            retry_delay: Duration::from_secs(1),
            max_waiting_retries: 256,
        }
    }
}

/// The payload formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Format {
    Raw,
    Slack,
    MsTeams,
    PulumiDeployments,
}

impl Format {
    pub(crate) fn parse(text: &str) -> ServiceResult<Self> {
        match text {
            "raw" => Ok(Self::Raw),
            "slack" => Ok(Self::Slack),
            "ms_teams" => Ok(Self::MsTeams),
            "pulumi_deployments" => Ok(Self::PulumiDeployments),
            other => Err(ServiceError::invalid(format!(
                "invalid format \"{}\": must be one of raw, slack, ms_teams, pulumi_deployments",
                excerpt(other)
            ))),
        }
    }
}

/// A new webhook as the caller describes it.
#[derive(Clone)]
pub struct NewWebhook {
    /// The name; empty = the service picks `hook-<n>`.
    pub name: String,
    /// A display name.
    pub display_name: String,
    /// Where deliveries go.
    pub payload_url: String,
    /// `raw` (empty = raw), `slack`, `ms_teams` or `pulumi_deployments`.
    pub format: String,
    /// Events (see [`EVENTS`]).
    pub filters: Vec<String>,
    /// Event groups (see [`GROUPS`]).
    pub groups: Vec<String>,
    /// Whether events are delivered.
    pub active: bool,
    /// The signing secret (empty = none). Write-only.
    pub secret: String,
}

/// Written by hand: never prints the secret.
impl std::fmt::Debug for NewWebhook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewWebhook")
            .field("name", &self.name)
            .field("display_name", &self.display_name)
            .field("format", &self.format)
            .field("filters", &self.filters)
            .field("groups", &self.groups)
            .field("active", &self.active)
            .field("has_secret", &!self.secret.is_empty())
            .finish_non_exhaustive()
    }
}

/// A replacement of a webhook (spec/API.md § 5.11 PATCH): everything is
/// replaced except `format` (`None` = keep) and `secret` (`None` or empty =
/// keep, [`REMOVE_SECRET`] = clear).
#[derive(Clone)]
pub struct WebhookUpdate {
    /// Whether events are delivered.
    pub active: bool,
    /// A display name.
    pub display_name: String,
    /// Where deliveries go.
    pub payload_url: String,
    /// Events; `None` = none.
    pub filters: Option<Vec<String>>,
    /// Event groups; `None` = none.
    pub groups: Option<Vec<String>>,
    /// The format; `None` = keep.
    pub format: Option<String>,
    /// The secret (see above). Write-only.
    pub secret: Option<String>,
}

/// Written by hand: never prints the secret.
impl std::fmt::Debug for WebhookUpdate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookUpdate")
            .field("active", &self.active)
            .field("display_name", &self.display_name)
            .field("filters", &self.filters)
            .field("groups", &self.groups)
            .field("format", &self.format)
            .field("secret_given", &self.secret.is_some())
            .finish_non_exhaustive()
    }
}

/// A recorded delivery, as the API shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeliveryRecord {
    /// Its id.
    pub id: String,
    /// `ping` or the event.
    pub kind: String,
    /// When it was sent, Unix seconds.
    pub timestamp: i64,
    /// How long it took, milliseconds.
    pub duration_ms: i64,
    /// The body sent.
    pub payload: String,
    /// Where it was sent.
    pub request_url: String,
    /// The request headers, one `Name: value` per line (signature elided).
    pub request_headers: String,
    /// The HTTP status received; `None` when no response came.
    pub response_code: Option<u16>,
    /// The response headers, one `Name: value` per line.
    pub response_headers: String,
    /// The start of the response body, or why nothing was received.
    pub response_body: String,
}

/// Checks a hook's format, URL, events and groups together.
pub(crate) fn validate(
    config: &WebhookConfig,
    format: Format,
    url: &str,
    filters: &[String],
    groups: &[String],
) -> ServiceResult<()> {
    check_url(config, format, url)?;
    for filter in filters {
        if !EVENTS.contains(&filter.as_str()) {
            return Err(ServiceError::invalid(format!(
                "unknown webhook event \"{}\": known events are {}",
                excerpt(filter),
                EVENTS.join(", ")
            )));
        }
    }
    for group in groups {
        if !GROUPS.contains(&group.as_str()) {
            return Err(ServiceError::invalid(format!(
                "unknown webhook event group \"{}\": known groups are {}",
                excerpt(group),
                GROUPS.join(", ")
            )));
        }
    }
    Ok(())
}

/// A webhook name: 1-32 characters of `[a-zA-Z0-9._-]`.
pub(crate) fn check_name(name: &str) -> ServiceResult<()> {
    if name.is_empty()
        || name.len() > 32
        || !name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
    {
        return Err(ServiceError::invalid(format!(
            "invalid webhook name \"{}\": use 1-32 letters, digits, '.', '_' or '-'",
            excerpt(name)
        )));
    }
    Ok(())
}

/// A display name: non-empty, one line, at most 256 bytes.
pub(crate) fn check_display_name(name: &str) -> ServiceResult<()> {
    if name.trim().is_empty() || name.len() > 256 || name.contains(['\n', '\r']) {
        return Err(ServiceError::invalid(
            "a webhook display name must be one non-empty line of at most 256 bytes",
        ));
    }
    Ok(())
}

/// A secret: at most 1024 bytes (it is never echoed, so no excerpt).
pub(crate) fn check_secret(secret: &str) -> ServiceResult<()> {
    if secret.len() > 1024 {
        return Err(ServiceError::invalid(
            "a webhook secret must be at most 1024 bytes",
        ));
    }
    Ok(())
}

/// The URL rules of each format. Plain `http://` only to loopback when
/// allowed; literal link-local or metadata addresses are refused here
/// already (names resolving to them are refused when delivering).
fn check_url(config: &WebhookConfig, format: Format, url: &str) -> ServiceResult<()> {
    match format {
        Format::PulumiDeployments => {
            let valid = url.split_once('/').is_some_and(|(project, stack)| {
                [project, stack].iter().all(|part| {
                    !part.is_empty()
                        && part
                            .bytes()
                            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
                })
            });
            if !valid {
                return Err(ServiceError::invalid(format!(
                    "invalid payload URL \"{}\": a pulumi_deployments webhook's URL must be <project>/<stack>",
                    excerpt(url)
                )));
            }
            Ok(())
        }
        Format::Slack if !url.starts_with("https://hooks.slack.com/") => {
            Err(ServiceError::invalid(format!(
                "invalid payload URL \"{}\": a slack webhook's URL must begin with https://hooks.slack.com/",
                excerpt(url)
            )))
        }
        _ => check_http_url(config, url).map(|_| ()),
    }
}

/// An http(s) URL deliveries may go to.
pub(crate) fn check_http_url(config: &WebhookConfig, url: &str) -> ServiceResult<reqwest::Url> {
    let bad = |why: &str| {
        ServiceError::invalid(format!("invalid payload URL \"{}\": {why}", excerpt(url)))
    };
    let parsed = reqwest::Url::parse(url).map_err(|_| bad("not a valid URL"))?;
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(bad("it must not contain credentials"));
    }
    let host = parsed.host_str().unwrap_or_default();
    if host.is_empty() {
        return Err(bad("it has no host"));
    }
    let literal: Option<IpAddr> = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .parse()
        .ok();
    match parsed.scheme() {
        "https" => {}
        "http" => {
            let loopback = host == "localhost" || literal.is_some_and(|ip| ip.is_loopback());
            if !(config.allow_insecure_loopback_http && loopback) {
                return Err(bad(
                    "it must use https:// (plain http:// is accepted only to a loopback address, and only when the server allows insecure loopback http)",
                ));
            }
        }
        _ => return Err(bad("it must use https://")),
    }
    if let Some(ip) = literal
        && !config.allow_link_local
        && esc_providers::guard::is_blocked(ip)
    {
        return Err(bad(
            "its host is a link-local or cloud metadata address, which is refused",
        ));
    }
    Ok(parsed)
}

/// Whether a hook with these filters and groups receives `event`. A hook
/// with neither receives every event.
pub(crate) fn subscribed(filters: &[String], groups: &[String], event: &str) -> bool {
    if filters.is_empty() && groups.is_empty() {
        return true;
    }
    filters.iter().any(|filter| filter == event) || groups.iter().any(|g| g == "environments")
}

/// What happened, for a payload.
#[derive(Clone, Debug)]
pub(crate) struct Event {
    /// `ping` or one of [`EVENTS`].
    pub(crate) kind: String,
    pub(crate) env: EnvRef,
    /// The revision it concerns, when there is one.
    pub(crate) revision: Option<u64>,
    /// A revision tag's name (`tagged`).
    pub(crate) tag: Option<String>,
    /// Who did it.
    pub(crate) user: String,
    pub(crate) time: Timestamp,
}

/// The body sent for `event` in `format` to the hook named `hook`.
pub(crate) fn payload(format: Format, hook: &str, event: &Event) -> String {
    let env = &event.env;
    match format {
        Format::Raw | Format::PulumiDeployments => {
            let mut body = serde_json::Map::new();
            body.insert("kind".into(), event.kind.clone().into());
            body.insert("webhook".into(), hook.into());
            body.insert("organization".into(), env.org.clone().into());
            body.insert("project".into(), env.project.clone().into());
            body.insert("environment".into(), env.name.clone().into());
            if let Some(revision) = event.revision {
                body.insert("revision".into(), revision.into());
            }
            if let Some(tag) = &event.tag {
                body.insert("tag".into(), tag.clone().into());
            }
            body.insert("user".into(), event.user.clone().into());
            body.insert("timestamp".into(), event.time.rfc3339().into());
            serde_json::Value::Object(body).to_string()
        }
        Format::Slack => serde_json::json!({ "text": summary(event) }).to_string(),
        Format::MsTeams => serde_json::json!({
            "@type": "MessageCard",
            "@context": "https://schema.org/extensions",
            "summary": summary(event),
            "text": summary(event),
        })
        .to_string(),
    }
}

/// One line saying what happened.
fn summary(event: &Event) -> String {
    let what = match event.kind.as_str() {
        "ping" => "was pinged",
        "created" => "was created",
        "updated" => "was updated",
        "deleted" => "was deleted",
        "tagged" => "had a revision tagged",
        "rotated" => "had its secrets rotated",
        "rotation_failed" => "failed to rotate its secrets",
        _ => "changed",
    };
    let mut text = format!("Environment {} {what} by {}", event.env, event.user);
    if let Some(revision) = event.revision {
        text.push_str(&format!(" (revision {revision})"));
    }
    text
}

/// Hex HMAC-SHA256 of `body` keyed with `secret`.
pub(crate) fn signature(secret: &[u8], body: &[u8]) -> String {
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret);
    let tag = hmac::sign(&key, body);
    let mut hex = String::with_capacity(64);
    for byte in tag.as_ref() {
        hex.push_str(&format!("{byte:02x}"));
    }
    hex
}

/// At most 100 characters of caller input, for error texts.
fn excerpt(text: &str) -> String {
    text.chars().take(100).collect()
}

#[cfg(test)]
mod tests;
