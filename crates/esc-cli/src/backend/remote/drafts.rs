//! Drafts against a server: API.md #50-54, and the console link of a change
//! request (API.md § 5.12).

use std::time::Duration;

use async_trait::async_trait;
use esc_eval::PlainValue;
use reqwest::Method;

use super::{RemoteBackend, api_error, diag, diagnostics_of, parse_json, segment, str_of};
use crate::backend::drafts::{DraftBackend, DraftWrite};
use crate::backend::{BackendResult, DefinitionText, Evaluated};
use crate::env_ref::EnvName;

impl RemoteBackend {
    fn drafts_path(env: &EnvName) -> String {
        format!("{}/drafts", Self::env_path(env))
    }

    fn draft_path(env: &EnvName, id: &str) -> String {
        format!("{}/drafts/{}", Self::env_path(env), segment(id))
    }

    /// A create or update reply: the id, or the diagnostics of a 400.
    fn draft_write(reply: &super::Reply) -> BackendResult<DraftWrite> {
        if reply.status.is_success() {
            let body = parse_json(&reply.body)?;
            return Ok(DraftWrite {
                id: Some(str_of(&body, "changeRequestId")),
                diagnostics: match body.member("diagnostics") {
                    Some(PlainValue::Array(list)) => list.iter().map(diag).collect(),
                    _ => Vec::new(),
                },
            });
        }
        match diagnostics_of(reply) {
            Some(diagnostics) => Ok(DraftWrite {
                id: None,
                diagnostics,
            }),
            None => Err(api_error(reply)),
        }
    }
}

/// The console's base URL for a backend at `api_url` (as the Pulumi CLI
/// derives it): `$PULUMI_CONSOLE_DOMAIN`, else `api.<host>` → `app.<host>`,
/// else `localhost:8080` → `localhost:3000`, else none.
fn console_url(api_url: &str, console_domain: Option<&str>) -> Option<String> {
    if let Some(domain) = console_domain.filter(|d| !d.is_empty()) {
        return Some(format!("https://{domain}"));
    }
    let (scheme, rest) = api_url.split_once("://")?;
    let host = rest.split('/').next().unwrap_or_default();
    if host == "localhost:8080" {
        return Some(format!("{scheme}://localhost:3000"));
    }
    let tail = host.strip_prefix("api.")?;
    Some(format!("{scheme}://app.{tail}"))
}

#[async_trait]
impl DraftBackend for RemoteBackend {
    async fn create_draft(
        &self,
        env: &EnvName,
        yaml: &str,
        etag: Option<&str>,
    ) -> BackendResult<DraftWrite> {
        let reply = self
            .call_with(
                Method::POST,
                &Self::drafts_path(env),
                Some((yaml.to_string(), "application/x-yaml")),
                etag.map(|etag| ("ETag", etag)),
            )
            .await?;
        Self::draft_write(&reply)
    }

    async fn draft(&self, env: &EnvName, id: &str) -> BackendResult<DefinitionText> {
        let reply = self
            .ok(Method::GET, &Self::draft_path(env, id), None, None)
            .await?;
        Ok(DefinitionText {
            yaml: reply.body,
            etag: reply.etag,
        })
    }

    async fn update_draft(
        &self,
        env: &EnvName,
        id: &str,
        yaml: &str,
        etag: Option<&str>,
    ) -> BackendResult<DraftWrite> {
        let reply = self
            .call_with(
                Method::PATCH,
                &Self::draft_path(env, id),
                Some((yaml.to_string(), "application/x-yaml")),
                etag.map(|etag| ("If-Match", etag)),
            )
            .await?;
        Self::draft_write(&reply)
    }

    async fn open_draft(
        &self,
        env: &EnvName,
        id: &str,
        lifetime: Duration,
    ) -> BackendResult<Evaluated> {
        let path = format!(
            "{}/open?duration={}s",
            Self::draft_path(env, id),
            lifetime.as_secs()
        );
        self.open_and_read(env, &path).await
    }

    async fn submit_draft(&self, org: &str, id: &str) -> BackendResult<()> {
        let path = format!(
            "/api/change-requests/{}/{}/submit",
            segment(org),
            segment(id)
        );
        self.ok(
            Method::POST,
            &path,
            Some(("{}".to_string(), "application/json")),
            None,
        )
        .await?;
        Ok(())
    }

    fn change_request_url(&self, env: &EnvName, id: &str) -> Option<String> {
        let domain = std::env::var("PULUMI_CONSOLE_DOMAIN").ok();
        let console = console_url(&self.base, domain.as_deref())?;
        Some(format!(
            "{console}/{}/esc/{}/{}?version={id}",
            env.org, env.project, env.name
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::console_url;

    #[test]
    fn console_urls_like_the_pulumi_cli() {
        assert_eq!(
            console_url("https://api.pulumi.com", None).as_deref(),
            Some("https://app.pulumi.com")
        );
        assert_eq!(
            console_url("http://localhost:8080", None).as_deref(),
            Some("http://localhost:3000")
        );
        assert_eq!(console_url("http://127.0.0.1:4000", None), None);
        assert_eq!(
            console_url("http://127.0.0.1:4000", Some("app.fake.pulumi.com")).as_deref(),
            Some("https://app.fake.pulumi.com")
        );
    }
}
