//! The remote backend: the REST API of spec/API.md over reqwest, with
//! `Authorization: token <access token>` on every call.

use std::time::Duration;

use anyhow::{Context as _, anyhow};
use async_trait::async_trait;
use esc_eval::{PlainValue, write_json_string};
use reqwest::{Method, StatusCode};

use super::config::RemoteAccount;
use super::schedules::{ScheduleInfo, ScheduleRunInfo, ScheduleTiming};
use super::{
    Backend, BackendError, BackendResult, CloneOptions, DefinitionText, Diag, EnvTagInfo,
    Evaluated, Retraction, RevisionInfo, RevisionTagInfo, RotationOutcome,
};
use crate::env_ref::{EnvName, Version};
use crate::value::{Pos, Range, Value};

mod drafts;
mod referrers;
mod webhooks;

/// Every request's time limit.
mod schedules;

const TIMEOUT: Duration = Duration::from_secs(60);

/// A server reached over HTTP.
pub(crate) struct RemoteBackend {
    client: reqwest::Client,
    base: String,
    token: String,
    /// `esc login --default-org`: answers [`Backend::default_org`] without
    /// asking the server (as the reference's `config.json` does).
    default_org: Option<String>,
}

/// A response: status, headers we use, body text.
struct Reply {
    status: StatusCode,
    etag: Option<String>,
    body: String,
}

impl RemoteBackend {
    /// A client for `account`.
    pub(crate) fn new(account: &RemoteAccount) -> anyhow::Result<RemoteBackend> {
        let client = reqwest::Client::builder()
            .timeout(TIMEOUT)
            .user_agent(concat!("esc/", env!("CARGO_PKG_VERSION")))
            // `esc login --insecure`: the user chose to skip verification
            .tls_danger_accept_invalid_certs(account.insecure)
            .build()
            .context("building the HTTP client")?;
        Ok(RemoteBackend {
            client,
            base: account.url.trim_end_matches('/').to_string(),
            token: account.token.clone(),
            default_org: account.default_org.clone(),
        })
    }

    async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<(String, &'static str)>,
        etag: Option<&str>,
    ) -> BackendResult<Reply> {
        self.call_with(method, path, body, etag.map(|etag| ("ETag", etag)))
            .await
    }

    /// [`Self::call`] with an optional extra header (`ETag` or `If-Match`).
    async fn call_with(
        &self,
        method: Method,
        path: &str,
        body: Option<(String, &'static str)>,
        header: Option<(&'static str, &str)>,
    ) -> BackendResult<Reply> {
        let url = format!("{}{path}", self.base);
        let mut request = self
            .client
            .request(method, &url)
            .header("Authorization", format!("token {}", self.token))
            .header("Accept", "application/vnd.pulumi+8");
        if let Some((body, content_type)) = body {
            request = request.header("Content-Type", content_type).body(body);
        }
        if let Some((name, value)) = header {
            request = request.header(name, value);
        }
        let response = request
            .send()
            .await
            .with_context(|| format!("contacting {}", self.base))?;
        let status = response.status();
        let etag = response
            .headers()
            .get("ETag")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let body = response
            .text()
            .await
            .with_context(|| format!("reading the reply of {}", self.base))?;
        Ok(Reply { status, etag, body })
    }

    /// Call and require success; an error body becomes `BackendError::Api`.
    async fn ok(
        &self,
        method: Method,
        path: &str,
        body: Option<(String, &'static str)>,
        etag: Option<&str>,
    ) -> BackendResult<Reply> {
        let reply = self.call(method, path, body, etag).await?;
        if reply.status.is_success() {
            Ok(reply)
        } else {
            Err(api_error(&reply))
        }
    }

    async fn json(
        &self,
        method: Method,
        path: &str,
        body: Option<String>,
    ) -> BackendResult<PlainValue> {
        let reply = self
            .ok(method, path, body.map(|b| (b, "application/json")), None)
            .await?;
        parse_json(&reply.body)
    }

    /// POST `open_path` (an environment's or a draft's open), then read the
    /// session it names: diagnostics instead when the open has them.
    async fn open_and_read(&self, env: &EnvName, open_path: &str) -> BackendResult<Evaluated> {
        let reply = self.call(Method::POST, open_path, None, None).await?;
        if let Some(diagnostics) = diagnostics_of(&reply) {
            return Ok(Evaluated {
                root: None,
                diagnostics,
                exprs: None,
            });
        }
        if !reply.status.is_success() {
            return Err(api_error(&reply));
        }
        let id = str_of(&parse_json(&reply.body)?, "id");
        let body = self
            .json(
                Method::GET,
                &format!("{}/open/{}", Self::env_path(env), segment(&id)),
                None,
            )
            .await?;
        Ok(Evaluated {
            root: root_of(&body)?,
            diagnostics: Vec::new(),
            exprs: None,
        })
    }

    fn env_path(env: &EnvName) -> String {
        format!(
            "/api/esc/environments/{}/{}/{}",
            segment(&env.org),
            segment(&env.project),
            segment(&env.name)
        )
    }
}

/// Percent-encode a path segment.
fn segment(text: &str) -> String {
    let mut out = String::new();
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn parse_json(text: &str) -> BackendResult<PlainValue> {
    PlainValue::from_json_document(text)
        .map_err(|e| BackendError::Other(anyhow!("malformed reply from the server: {e}")))
}

fn api_error(reply: &Reply) -> BackendError {
    let code = reply.status.as_u16();
    let message = match PlainValue::from_json_document(&reply.body) {
        Ok(v) => v
            .member("message")
            .and_then(PlainValue::as_str)
            .map(str::to_string)
            .unwrap_or_else(|| reply.body.trim().to_string()),
        Err(_) => reply.body.trim().to_string(),
    };
    BackendError::Api { code, message }
}

/// Diagnostics of a 400 body, if it carries any.
fn diagnostics_of(reply: &Reply) -> Option<Vec<Diag>> {
    if reply.status != StatusCode::BAD_REQUEST {
        return None;
    }
    let body = PlainValue::from_json_document(&reply.body).ok()?;
    let PlainValue::Array(list) = body.member("diagnostics")? else {
        return None;
    };
    let diags: Vec<Diag> = list.iter().map(diag).collect();
    (!diags.is_empty()).then_some(diags)
}

fn diag(wire: &PlainValue) -> Diag {
    let num = |v: Option<&PlainValue>, k: &str| -> i64 {
        match v.and_then(|p| p.member(k)) {
            Some(PlainValue::Number(n)) => n.parse().unwrap_or(0),
            _ => 0,
        }
    };
    let pos = |r: &PlainValue, k: &str| Pos {
        line: num(r.member(k), "line"),
        column: num(r.member(k), "column"),
        byte: num(r.member(k), "byte"),
    };
    Diag {
        summary: str_of(wire, "summary"),
        warning: wire.member("severity").and_then(PlainValue::as_str) == Some("warning"),
        range: wire
            .member("range")
            .filter(|r| !matches!(r, PlainValue::Null))
            .map(|r| Range {
                environment: str_of(r, "environment"),
                begin: pos(r, "begin"),
                end: pos(r, "end"),
            }),
    }
}

fn str_of(v: &PlainValue, key: &str) -> String {
    v.member(key)
        .and_then(PlainValue::as_str)
        .unwrap_or_default()
        .to_string()
}

fn u64_of(v: &PlainValue, key: &str) -> u64 {
    match v.member(key) {
        Some(PlainValue::Number(n)) => n.parse().unwrap_or(0),
        _ => 0,
    }
}

/// A time field in Unix milliseconds; a missing or unreadable one is Go's
/// zero time, as the reference prints it (`0001-01-01 00:00:00 +0000 UTC`).
fn millis_of(v: &PlainValue, key: &str) -> i64 {
    v.member(key)
        .and_then(PlainValue::as_str)
        .and_then(esc_store::Timestamp::parse_rfc3339)
        .map_or(
            super::GO_ZERO_TIME_MILLIS,
            esc_store::Timestamp::unix_millis,
        )
}

fn json_body(fields: &[(&str, JsonField<'_>)]) -> String {
    let mut out = String::from("{");
    for (i, (k, v)) in fields.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_json_string(k, &mut out);
        out.push(':');
        match v {
            JsonField::Str(s) => write_json_string(s, &mut out),
            JsonField::Num(n) => out.push_str(&n.to_string()),
            JsonField::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            JsonField::Raw(r) => out.push_str(r),
        }
    }
    out.push('}');
    out
}

enum JsonField<'a> {
    Str(&'a str),
    Num(u64),
    Bool(bool),
    Raw(String),
}

fn version_path(version: Option<&Version>) -> String {
    match version {
        None => String::new(),
        Some(v) => format!("/versions/{}", segment(&v.to_string())),
    }
}

fn root_of(environment: &PlainValue) -> BackendResult<Option<Value>> {
    match environment.member("properties") {
        None => Ok(None),
        Some(PlainValue::Object(props)) => Ok(Some(
            Value::root_from_wire(props).map_err(|e| BackendError::Other(e.into()))?,
        )),
        Some(_) => Err(BackendError::Other(anyhow!(
            "malformed environment: properties is not an object"
        ))),
    }
}

fn env_tag(v: &PlainValue) -> EnvTagInfo {
    EnvTagInfo {
        name: str_of(v, "name"),
        value: str_of(v, "value"),
        modified_millis: millis_of(v, "modified"),
        editor_login: str_of(v, "editorLogin"),
        editor_name: str_of(v, "editorName"),
    }
}

fn revision_tag(v: &PlainValue) -> RevisionTagInfo {
    RevisionTagInfo {
        name: str_of(v, "name"),
        revision: u64_of(v, "revision"),
        modified_millis: millis_of(v, "modified"),
        editor_login: str_of(v, "editorLogin"),
        editor_name: str_of(v, "editorName"),
    }
}

#[async_trait]
impl Backend for RemoteBackend {
    async fn user(&self) -> BackendResult<String> {
        let user = self.json(Method::GET, "/api/user", None).await?;
        let login = str_of(&user, "githubLogin");
        if login.is_empty() {
            return Err(BackendError::Other(anyhow!(
                "unexpected response from server"
            )));
        }
        Ok(login)
    }

    async fn organizations(&self) -> BackendResult<Vec<String>> {
        let user = self.json(Method::GET, "/api/user", None).await?;
        Ok(match user.member("organizations") {
            Some(PlainValue::Array(orgs)) => {
                orgs.iter().map(|o| str_of(o, "githubLogin")).collect()
            }
            _ => Vec::new(),
        })
    }

    async fn default_org(&self) -> BackendResult<String> {
        if let Some(org) = &self.default_org {
            return Ok(org.clone());
        }
        let reply = self
            .call(Method::GET, "/api/user/organizations/default", None, None)
            .await?;
        if reply.status.is_success() {
            let org = str_of(&parse_json(&reply.body)?, "gitHubLogin");
            if !org.is_empty() {
                return Ok(org);
            }
        } else if reply.status != StatusCode::NOT_FOUND {
            return Err(api_error(&reply));
        }
        self.user().await
    }

    async fn exists(&self, env: &EnvName) -> BackendResult<bool> {
        let reply = self
            .call(Method::GET, &Self::env_path(env), None, None)
            .await?;
        Ok(reply.status.is_success())
    }

    async fn create_environment(&self, env: &EnvName) -> BackendResult<()> {
        let body = json_body(&[
            ("project", JsonField::Str(&env.project)),
            ("name", JsonField::Str(&env.name)),
        ]);
        self.ok(
            Method::POST,
            &format!("/api/esc/environments/{}", segment(&env.org)),
            Some((body, "application/json")),
            None,
        )
        .await
        .map(|_| ())
    }

    async fn delete_environment(&self, env: &EnvName) -> BackendResult<()> {
        self.ok(Method::DELETE, &Self::env_path(env), None, None)
            .await
            .map(|_| ())
    }

    async fn list_environments(&self, org: Option<&str>) -> BackendResult<Vec<EnvName>> {
        let base = match org {
            Some(org) => format!("/api/esc/environments/{}", segment(org)),
            None => "/api/esc/environments".to_string(),
        };
        let mut names = Vec::new();
        let mut token = String::new();
        for _ in 0..10_000 {
            let path = if token.is_empty() {
                base.clone()
            } else {
                format!("{base}?continuationToken={}", segment(&token))
            };
            let page = self.json(Method::GET, &path, None).await?;
            if let Some(PlainValue::Array(list)) = page.member("environments") {
                names.extend(list.iter().map(|e| {
                    EnvName::new(
                        &str_of(e, "organization"),
                        &str_of(e, "project"),
                        &str_of(e, "name"),
                    )
                }));
            }
            token = str_of(&page, "nextToken");
            if token.is_empty() {
                break;
            }
        }
        Ok(names)
    }

    async fn clone_environment(
        &self,
        src: &EnvName,
        dest: &EnvName,
        options: CloneOptions,
    ) -> BackendResult<()> {
        let body = json_body(&[
            ("project", JsonField::Str(&dest.project)),
            ("name", JsonField::Str(&dest.name)),
            ("preserveHistory", JsonField::Bool(options.history)),
            ("preserveAccess", JsonField::Bool(options.access)),
            ("preserveEnvironmentTags", JsonField::Bool(options.env_tags)),
            ("preserveRevisionTags", JsonField::Bool(options.rev_tags)),
        ]);
        self.ok(
            Method::POST,
            &format!("{}/clone", Self::env_path(src)),
            Some((body, "application/json")),
            None,
        )
        .await
        .map(|_| ())
    }

    async fn definition(
        &self,
        env: &EnvName,
        version: Option<&Version>,
        decrypt: bool,
    ) -> BackendResult<DefinitionText> {
        let mut path = format!("{}{}", Self::env_path(env), version_path(version));
        if decrypt {
            path.push_str("/decrypt");
        }
        let reply = self.ok(Method::GET, &path, None, None).await?;
        Ok(DefinitionText {
            yaml: reply.body,
            etag: reply.etag,
        })
    }

    async fn update_definition(
        &self,
        env: &EnvName,
        yaml: &str,
        etag: Option<&str>,
    ) -> BackendResult<Vec<Diag>> {
        let reply = self
            .call(
                Method::PATCH,
                &Self::env_path(env),
                Some((yaml.to_string(), "application/x-yaml")),
                etag,
            )
            .await?;
        if reply.status.is_success() {
            let body = PlainValue::from_json_document(&reply.body).unwrap_or(PlainValue::Null);
            return Ok(match body.member("diagnostics") {
                Some(PlainValue::Array(list)) => list.iter().map(diag).collect(),
                _ => Vec::new(),
            });
        }
        if let Ok(body) = PlainValue::from_json_document(&reply.body)
            && let Some(PlainValue::Array(list)) = body.member("diagnostics")
            && !list.is_empty()
        {
            return Ok(list.iter().map(diag).collect());
        }
        Err(api_error(&reply))
    }

    async fn check(
        &self,
        env: &EnvName,
        yaml: &str,
        show_secrets: bool,
    ) -> BackendResult<Evaluated> {
        let path = format!(
            "/api/esc/environments/{}/yaml/check?showSecrets={show_secrets}",
            segment(&env.org)
        );
        let reply = self
            .call(
                Method::POST,
                &path,
                Some((yaml.to_string(), "application/x-yaml")),
                None,
            )
            .await?;
        if let Some(diagnostics) = diagnostics_of(&reply) {
            return Ok(Evaluated {
                root: None,
                diagnostics,
                exprs: None,
            });
        }
        if !reply.status.is_success() {
            return Err(api_error(&reply));
        }
        let body = parse_json(&reply.body)?;
        Ok(Evaluated {
            root: root_of(&body)?,
            diagnostics: match body.member("diagnostics") {
                Some(PlainValue::Array(list)) => list.iter().map(diag).collect(),
                _ => Vec::new(),
            },
            exprs: body.member("exprs").cloned(),
        })
    }

    async fn open(
        &self,
        env: &EnvName,
        version: Option<&Version>,
        lifetime: Duration,
    ) -> BackendResult<Evaluated> {
        let path = format!(
            "{}{}/open?duration={}s",
            Self::env_path(env),
            version_path(version),
            lifetime.as_secs()
        );
        self.open_and_read(env, &path).await
    }

    async fn list_revisions(
        &self,
        env: &EnvName,
        before: Option<u64>,
        count: u32,
    ) -> BackendResult<Vec<RevisionInfo>> {
        let path = format!(
            "{}/versions?before={}&count={count}",
            Self::env_path(env),
            before.unwrap_or(0)
        );
        let PlainValue::Array(list) = self.json(Method::GET, &path, None).await? else {
            return Err(BackendError::Other(anyhow!(
                "malformed reply from the server: expected a list"
            )));
        };
        Ok(list
            .iter()
            .map(|r| RevisionInfo {
                number: u64_of(r, "number"),
                created_millis: millis_of(r, "created"),
                creator_login: str_of(r, "creatorLogin"),
                creator_name: str_of(r, "creatorName"),
                tags: match r.member("tags") {
                    Some(PlainValue::Array(tags)) => tags
                        .iter()
                        .filter_map(|t| t.as_str().map(str::to_string))
                        .collect(),
                    _ => Vec::new(),
                },
                retracted: r
                    .member("retracted")
                    .filter(|x| !matches!(x, PlainValue::Null))
                    .map(|x| Retraction {
                        replacement: u64_of(x, "replacement"),
                        at_millis: millis_of(x, "at"),
                        by_login: str_of(x, "byLogin"),
                        by_name: str_of(x, "byName"),
                        reason: str_of(x, "reason"),
                    }),
            })
            .collect())
    }

    async fn retract_revision(
        &self,
        env: &EnvName,
        revision: u64,
        replacement: Option<u64>,
        reason: Option<&str>,
    ) -> BackendResult<()> {
        let mut fields = Vec::new();
        if let Some(r) = replacement {
            fields.push(("replacement", JsonField::Num(r)));
        }
        if let Some(reason) = reason {
            fields.push(("reason", JsonField::Str(reason)));
        }
        self.ok(
            Method::POST,
            &format!("{}/versions/{revision}/retract", Self::env_path(env)),
            Some((json_body(&fields), "application/json")),
            None,
        )
        .await
        .map(|_| ())
    }

    async fn resolve_version(&self, env: &EnvName, version: &Version) -> BackendResult<u64> {
        match version {
            Version::Revision(n) => Ok(*n),
            Version::Tag(t) => Ok(self.revision_tag(env, t).await?.revision),
        }
    }

    async fn revision_tag(&self, env: &EnvName, name: &str) -> BackendResult<RevisionTagInfo> {
        let v = self
            .json(
                Method::GET,
                &format!("{}/versions/tags/{}", Self::env_path(env), segment(name)),
                None,
            )
            .await?;
        Ok(revision_tag(&v))
    }

    async fn list_revision_tags(&self, env: &EnvName) -> BackendResult<Vec<RevisionTagInfo>> {
        let mut tags: Vec<RevisionTagInfo> = Vec::new();
        for _ in 0..10_000 {
            let after = tags.last().map(|t| segment(&t.name)).unwrap_or_default();
            let page = self
                .json(
                    Method::GET,
                    &format!(
                        "{}/versions/tags?after={after}&count=500",
                        Self::env_path(env)
                    ),
                    None,
                )
                .await?;
            let Some(PlainValue::Array(list)) = page.member("tags") else {
                break;
            };
            if list.is_empty() {
                break;
            }
            tags.extend(list.iter().map(revision_tag));
        }
        Ok(tags)
    }

    async fn set_revision_tag(
        &self,
        env: &EnvName,
        name: &str,
        revision: u64,
    ) -> BackendResult<()> {
        let path = format!("{}/versions/tags/{}", Self::env_path(env), segment(name));
        let body = json_body(&[("revision", JsonField::Num(revision))]);
        let reply = self
            .call(Method::PATCH, &path, Some((body, "application/json")), None)
            .await?;
        if reply.status.is_success() {
            return Ok(());
        }
        if reply.status != StatusCode::NOT_FOUND {
            return Err(api_error(&reply));
        }
        let body = json_body(&[
            ("name", JsonField::Str(name)),
            ("revision", JsonField::Num(revision)),
        ]);
        self.ok(
            Method::POST,
            &format!("{}/versions/tags", Self::env_path(env)),
            Some((body, "application/json")),
            None,
        )
        .await
        .map(|_| ())
    }

    async fn delete_revision_tag(&self, env: &EnvName, name: &str) -> BackendResult<()> {
        self.ok(
            Method::DELETE,
            &format!("{}/versions/tags/{}", Self::env_path(env), segment(name)),
            None,
            None,
        )
        .await
        .map(|_| ())
    }

    async fn env_tag(&self, env: &EnvName, name: &str) -> BackendResult<EnvTagInfo> {
        let v = self
            .json(
                Method::GET,
                &format!("{}/tags/{}", Self::env_path(env), segment(name)),
                None,
            )
            .await?;
        Ok(env_tag(&v))
    }

    async fn list_env_tags(&self, env: &EnvName) -> BackendResult<Vec<EnvTagInfo>> {
        let mut tags = Vec::new();
        let mut after = String::new();
        for _ in 0..10_000 {
            let page = self
                .json(
                    Method::GET,
                    &format!(
                        "{}/tags?after={}&count=500",
                        Self::env_path(env),
                        segment(&after)
                    ),
                    None,
                )
                .await?;
            if let Some(PlainValue::Object(map)) = page.member("tags") {
                tags.extend(map.values().map(env_tag));
            }
            after = str_of(&page, "nextToken");
            if after == "0" || after.is_empty() {
                break;
            }
        }
        Ok(tags)
    }

    async fn create_env_tag(
        &self,
        env: &EnvName,
        name: &str,
        value: &str,
    ) -> BackendResult<EnvTagInfo> {
        let body = json_body(&[
            ("name", JsonField::Str(name)),
            ("value", JsonField::Str(value)),
        ]);
        let v = self
            .json(
                Method::POST,
                &format!("{}/tags", Self::env_path(env)),
                Some(body),
            )
            .await?;
        Ok(env_tag(&v))
    }

    async fn update_env_tag(
        &self,
        env: &EnvName,
        name: &str,
        new_name: Option<&str>,
        new_value: Option<&str>,
    ) -> BackendResult<EnvTagInfo> {
        let current = self.env_tag(env, name).await?;
        let current_json = json_body(&[
            ("name", JsonField::Str("")),
            ("value", JsonField::Str(&current.value)),
        ]);
        let new_json = json_body(&[
            ("name", JsonField::Str(new_name.unwrap_or_default())),
            ("value", JsonField::Str(new_value.unwrap_or_default())),
        ]);
        let body = json_body(&[
            ("currentTag", JsonField::Raw(current_json)),
            ("newTag", JsonField::Raw(new_json)),
        ]);
        let v = self
            .json(
                Method::PATCH,
                &format!("{}/tags/{}", Self::env_path(env), segment(name)),
                Some(body),
            )
            .await?;
        Ok(env_tag(&v))
    }

    async fn delete_env_tag(&self, env: &EnvName, name: &str) -> BackendResult<()> {
        self.ok(
            Method::DELETE,
            &format!("{}/tags/{}", Self::env_path(env), segment(name)),
            None,
            None,
        )
        .await
        .map(|_| ())
    }

    async fn rotate(&self, env: &EnvName, paths: &[String]) -> BackendResult<RotationOutcome> {
        let mut list = String::from("[");
        for (i, p) in paths.iter().enumerate() {
            if i > 0 {
                list.push(',');
            }
            write_json_string(p, &mut list);
        }
        list.push(']');
        let body = json_body(&[("Paths", JsonField::Raw(list))]);
        let reply = self
            .call(
                Method::POST,
                &format!("{}/rotate", Self::env_path(env)),
                Some((body, "application/json")),
                None,
            )
            .await?;
        if let Some(diagnostics) = diagnostics_of(&reply) {
            return Ok(RotationOutcome {
                status: String::new(),
                error: None,
                new_revision: None,
                failures: Vec::new(),
                diagnostics,
            });
        }
        if !reply.status.is_success() {
            return Err(api_error(&reply));
        }
        let body = parse_json(&reply.body)?;
        let event = body
            .member("secretRotationEvent")
            .cloned()
            .unwrap_or(PlainValue::Null);
        let error = event
            .member("errorMessage")
            .and_then(PlainValue::as_str)
            .map(str::to_string);
        Ok(RotationOutcome {
            status: str_of(&event, "status"),
            error,
            new_revision: match event.member("postRotationRevision") {
                Some(PlainValue::Number(n)) => n.parse().ok(),
                _ => None,
            },
            failures: match event.member("rotations") {
                Some(PlainValue::Array(list)) => list
                    .iter()
                    .filter(|r| str_of(r, "status") == "failed")
                    .map(|r| (str_of(r, "environmentPath"), str_of(r, "errorMessage")))
                    .collect(),
                _ => Vec::new(),
            },
            diagnostics: Vec::new(),
        })
    }

    async fn deletion_protected(&self, env: &EnvName) -> BackendResult<bool> {
        let v = self
            .json(
                Method::GET,
                &format!("{}/settings", Self::env_path(env)),
                None,
            )
            .await?;
        Ok(matches!(
            v.member("deletionProtected"),
            Some(PlainValue::Bool(true))
        ))
    }

    async fn set_deletion_protected(&self, env: &EnvName, on: bool) -> BackendResult<()> {
        let body = json_body(&[("deletionProtected", JsonField::Bool(on))]);
        let reply = self
            .call(
                Method::PATCH,
                &format!("{}/settings", Self::env_path(env)),
                Some((body, "application/json")),
                None,
            )
            .await?;
        if reply.status == StatusCode::FORBIDDEN {
            return Err(BackendError::Other(anyhow!(
                "permission denied: insufficient permissions to update settings"
            )));
        }
        if !reply.status.is_success() {
            return Err(api_error(&reply));
        }
        Ok(())
    }

    async fn list_schedules(&self, env: &EnvName) -> BackendResult<Vec<ScheduleInfo>> {
        self.schedules_of(env).await
    }

    async fn schedule(&self, env: &EnvName, id: &str) -> BackendResult<ScheduleInfo> {
        self.schedule_of(env, id).await
    }

    async fn create_schedule(
        &self,
        env: &EnvName,
        timing: &ScheduleTiming,
    ) -> BackendResult<ScheduleInfo> {
        self.new_schedule(env, timing).await
    }

    async fn update_schedule(
        &self,
        env: &EnvName,
        id: &str,
        timing: &ScheduleTiming,
    ) -> BackendResult<ScheduleInfo> {
        self.change_schedule(env, id, timing).await
    }

    async fn delete_schedule(&self, env: &EnvName, id: &str) -> BackendResult<()> {
        self.remove_schedule(env, id).await
    }

    async fn schedule_runs(&self, env: &EnvName, id: &str) -> BackendResult<Vec<ScheduleRunInfo>> {
        self.runs_of(env, id).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_fields() {
        let record = PlainValue::from_json_document(
            r#"{"a":"1970-01-01T01:00:00+01:00","b":"2000-02-29T00:00:00.5Z","c":"junk"}"#,
        )
        .unwrap();
        assert_eq!(millis_of(&record, "a"), 0);
        assert_eq!(millis_of(&record, "b"), 951_782_400_500);
        // unreadable or missing: Go's zero time
        assert_eq!(millis_of(&record, "c"), crate::backend::GO_ZERO_TIME_MILLIS);
        assert_eq!(millis_of(&record, "d"), crate::backend::GO_ZERO_TIME_MILLIS);
    }

    #[test]
    fn segments_are_encoded() {
        assert_eq!(segment("a b/c"), "a%20b%2Fc");
        assert_eq!(segment("dev-1_x.y"), "dev-1_x.y");
    }
}
