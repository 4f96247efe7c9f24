//! The local backend: `esc-service` in-process on the embedded SQLite store
//! under `$ESC_HOME/data`, acting as the local user (`$ESC_USER`, default
//! `local`, whose personal organization is the default organization).
//!
//! The built-in providers of `esc-providers` (`fn::open::external`,
//! `fn::rotate::external`) are registered as `esc serve` registers them, but
//! sign their adapter calls with local mode's own OIDC issuer: RS256 keys in
//! `$ESC_HOME/data/oidc-keys` (esc-oidc's `FileKeyStore`, files 0600), loaded
//! or created the first time an environment names a provider, so commands
//! that never call one never touch the keys. Its `iss` is
//! [`issuer_url`]; `esc oidc` prints its JWKS and discovery document.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, bail};
use async_trait::async_trait;
use esc_eval::{CallError, PlainValue, Provider, ProviderLoader, Rotator};
use esc_oidc::{FileKeyStore, Issuer, IssuerConfig};
use esc_providers::ProvidersConfig;
use esc_service::{AccessPolicy, Caller, Service, ServiceConfig, ServiceError};
use esc_store::{EnvRef, EnvironmentTagUpdate, Location, SettingsUpdate, SqlStore};

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

mod schedules;

/// The service on the local store.
pub(crate) struct LocalBackend {
    service: Service,
    caller: Caller,
    /// `$ESC_ALLOW_INSECURE_LOOPBACK_HTTP`, for the hint on refusals.
    allow_insecure_loopback_http: bool,
}

impl LocalBackend {
    /// What an open (of an environment or a draft) evaluated to: its
    /// diagnostics, or the session it made, read back.
    async fn read_opened(
        &self,
        env_ref: &EnvRef,
        opened: Result<esc_service::OpenedSession, ServiceError>,
    ) -> BackendResult<Evaluated> {
        let session = match opened {
            Ok(session) => session,
            Err(ServiceError::Diagnostics { diagnostics }) => {
                return Ok(Evaluated {
                    root: None,
                    diagnostics: diagnostics.iter().map(|d| self.diag(d)).collect(),
                    exprs: None,
                });
            }
            Err(e) => return Err(api_error(e)),
        };
        let environment = self
            .service
            .read_session(&self.caller, env_ref, &session.id, None)
            .await
            .map_err(api_error)?;
        Ok(Evaluated {
            root: root_of(&environment)?,
            diagnostics: Vec::new(),
            exprs: None,
        })
    }

    /// Open (creating if needed) the store in `data_dir`.
    pub(crate) async fn open(data_dir: &Path) -> anyhow::Result<LocalBackend> {
        let (store, _) = SqlStore::open(Location::Embedded(data_dir))
            .await
            .with_context(|| format!("opening the local store in {}", data_dir.display()))?;
        let login = std::env::var("ESC_USER")
            .ok()
            .filter(|u| !u.is_empty())
            .unwrap_or_else(|| "local".to_string());
        // One person on a laptop owns every organization of the local store.
        let config = ServiceConfig {
            access: AccessPolicy {
                admins: vec![login.clone()],
                memberships: Vec::new(),
            },
            ..ServiceConfig::default()
        };
        let allow_insecure_loopback_http = allow_insecure_loopback_http()?;
        // webhooks follow the providers' rule for plain http://
        let config = ServiceConfig {
            webhooks: esc_service::WebhookConfig {
                allow_insecure_loopback_http,
                // One attempt: a local command is a short-lived process and
                // retries (seconds apart) would hold it; the failed delivery
                // stays recorded.
                max_attempts: 1,
                ..esc_service::WebhookConfig::default()
            },
            ..config
        };
        let providers = Arc::new(LocalProviders {
            data_dir: data_dir.to_path_buf(),
            allow_insecure_loopback_http,
            loaded: tokio::sync::OnceCell::new(),
        });
        let service = Service::new(store, providers, config);
        // nothing runs schedules in the background in local mode: the ones
        // due run now, when a command opens the store
        schedules::run_due(&service).await;
        Ok(LocalBackend {
            service,
            caller: Caller {
                name: login.clone(),
                login,
            },
            allow_insecure_loopback_http,
        })
    }

    /// The service's diagnostic or rotation error text with, when it is the
    /// providers' refusal of a plain `http://` URL, how to allow it here.
    fn explain(&self, text: &str) -> String {
        if !self.allow_insecure_loopback_http && text.contains(INSECURE_REFUSAL_MARK) {
            format!("{text}; {INSECURE_HINT}")
        } else {
            text.to_string()
        }
    }

    fn diag(&self, d: &esc_syntax::Diagnostic) -> Diag {
        let mut out = diag(d);
        out.summary = self.explain(&out.summary);
        out
    }
}

/// Environment variable naming local mode's issuer URL (every token's `iss`).
pub(crate) const ISSUER_URL_VAR: &str = "ESC_ISSUER_URL";

/// Environment variable that lets local mode call plain `http://` adapters
/// on loopback addresses (`1`/`true`; off by default).
pub(crate) const ALLOW_INSECURE_LOOPBACK_HTTP_VAR: &str = "ESC_ALLOW_INSECURE_LOOPBACK_HTTP";

/// The issuer URL when neither [`ISSUER_URL_VAR`] nor a saved setting names
/// one: a name that never resolves (RFC 6761 `.invalid`), so it can never
/// collide with a real issuer; adapters pin the JWKS `esc oidc jwks` prints.
pub(crate) const DEFAULT_ISSUER_URL: &str = "https://local.esc.invalid";

/// The file under the data directory holding the issuer URL saved by
/// `esc oidc issuer URL` (`{"issuer": "<url>"}`).
const ISSUER_SETTING_FILE: &str = "oidc-issuer.json";

/// The directory under the data directory holding the signing keys.
const KEYS_DIR: &str = "oidc-keys";

/// Part of esc-providers' refusal of a plain `http://` adapter URL (its text
/// names the server setting; local mode adds its own switch).
const INSECURE_REFUSAL_MARK: &str = "allow_insecure_loopback_http";

/// What local mode adds to that refusal.
const INSECURE_HINT: &str = "in local mode, set ESC_ALLOW_INSECURE_LOOPBACK_HTTP=1 to allow plain http:// to a loopback address (local development only)";

/// Where local mode's issuer URL came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum IssuerUrlSource {
    /// [`ISSUER_URL_VAR`].
    Environment,
    /// The setting saved by `esc oidc issuer URL`.
    Saved,
    /// [`DEFAULT_ISSUER_URL`].
    Default,
}

/// Local mode's issuer URL: `$ESC_ISSUER_URL`, else the saved setting, else
/// [`DEFAULT_ISSUER_URL`].
pub(crate) fn issuer_url(data_dir: &Path) -> anyhow::Result<(String, IssuerUrlSource)> {
    if let Some(url) = std::env::var_os(ISSUER_URL_VAR).filter(|v| !v.is_empty()) {
        let url = url
            .into_string()
            .map_err(|_| anyhow::anyhow!("{ISSUER_URL_VAR} is not valid UTF-8"))?;
        check_issuer_url(&url).with_context(|| format!("invalid {ISSUER_URL_VAR}"))?;
        return Ok((url, IssuerUrlSource::Environment));
    }
    let path = data_dir.join(ISSUER_SETTING_FILE);
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Ok((DEFAULT_ISSUER_URL.to_string(), IssuerUrlSource::Default));
        }
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    };
    let url = serde_json::from_str::<serde_json::Value>(&text)
        .ok()
        .and_then(|v| v.get("issuer").and_then(|u| u.as_str()).map(str::to_string))
        .ok_or_else(|| {
            anyhow::anyhow!(
                "reading {}: expected {{\"issuer\": \"<url>\"}}",
                path.display()
            )
        })?;
    check_issuer_url(&url).with_context(|| format!("reading {}", path.display()))?;
    Ok((url, IssuerUrlSource::Saved))
}

/// Save `url` as local mode's issuer URL (`None`: forget the saved one).
pub(crate) fn save_issuer_url(data_dir: &Path, url: Option<&str>) -> anyhow::Result<()> {
    let path = data_dir.join(ISSUER_SETTING_FILE);
    let Some(url) = url else {
        return match std::fs::remove_file(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                Err(e).with_context(|| format!("removing {}", path.display()))
            }
            _ => Ok(()),
        };
    };
    check_issuer_url(url)?;
    std::fs::create_dir_all(data_dir)
        .with_context(|| format!("creating {}", data_dir.display()))?;
    let text = format!("{}\n", serde_json::json!({ "issuer": url }));
    let temp = data_dir.join(format!("{ISSUER_SETTING_FILE}.tmp"));
    std::fs::write(&temp, text).with_context(|| format!("writing {}", temp.display()))?;
    std::fs::rename(&temp, &path).with_context(|| format!("writing {}", path.display()))
}

/// An issuer URL adapters can compare `iss` with: an absolute `http(s)://`
/// URL with a host, no query or fragment.
fn check_issuer_url(url: &str) -> anyhow::Result<()> {
    let parsed = reqwest::Url::parse(url)
        .map_err(|e| anyhow::anyhow!("{}: not a URL: {e}", esc_eval::go_quote(url)))?;
    if !matches!(parsed.scheme(), "https" | "http")
        || parsed.host_str().is_none_or(str::is_empty)
        || parsed.query().is_some()
        || parsed.fragment().is_some()
    {
        bail!(
            "{}: the issuer URL must be an http:// or https:// URL with a host and no query or fragment",
            esc_eval::go_quote(url)
        );
    }
    Ok(())
}

/// Whether [`ALLOW_INSECURE_LOOPBACK_HTTP_VAR`] allows plain `http://`.
fn allow_insecure_loopback_http() -> anyhow::Result<bool> {
    match std::env::var(ALLOW_INSECURE_LOOPBACK_HTTP_VAR).as_deref() {
        Err(std::env::VarError::NotPresent) | Ok("" | "0" | "false") => Ok(false),
        Ok("1" | "true") => Ok(true),
        _ => bail!("{ALLOW_INSECURE_LOOPBACK_HTTP_VAR} must be 1 or true (allow) or 0 or false"),
    }
}

/// Local mode's issuer: its keys loaded from (or created in) the data
/// directory, with the rotation rules applied now (a CLI run is short, so
/// applying them at every start is the maintenance).
pub(crate) async fn open_issuer(data_dir: &Path) -> anyhow::Result<Issuer> {
    let (url, _) = issuer_url(data_dir)?;
    let keys = data_dir.join(KEYS_DIR);
    Issuer::open(
        IssuerConfig::new(url),
        Arc::new(FileKeyStore::new(keys.clone())),
    )
    .await
    .with_context(|| format!("loading the local OIDC signing keys in {}", keys.display()))
}

/// The built-in providers, created on first use: loading them opens the
/// issuer (and so reads or creates the signing keys).
struct LocalProviders {
    data_dir: PathBuf,
    allow_insecure_loopback_http: bool,
    loaded: tokio::sync::OnceCell<Arc<dyn ProviderLoader>>,
}

impl LocalProviders {
    async fn loader(&self) -> Result<&Arc<dyn ProviderLoader>, CallError> {
        self.loaded
            .get_or_try_init(|| async {
                let issuer = open_issuer(&self.data_dir)
                    .await
                    .map_err(|e| CallError::new(format!("{e:#}")))?;
                Ok(esc_providers::registry(
                    ProvidersConfig {
                        allow_insecure_loopback_http: self.allow_insecure_loopback_http,
                        ..ProvidersConfig::default()
                    },
                    Arc::new(issuer),
                ))
            })
            .await
    }
}

#[async_trait]
impl ProviderLoader for LocalProviders {
    async fn load_provider(&self, name: &str) -> Result<Arc<dyn Provider>, CallError> {
        self.loader().await?.load_provider(name).await
    }

    async fn load_rotator(&self, name: &str) -> Result<Arc<dyn Rotator>, CallError> {
        self.loader().await?.load_rotator(name).await
    }
}

fn store_ref(env: &EnvName) -> EnvRef {
    EnvRef::new(&env.org, &env.project, &env.name)
}

fn service_version(version: Option<&Version>) -> esc_service::Version {
    match version {
        None => esc_service::Version::Latest,
        Some(Version::Revision(n)) => esc_service::Version::Number(*n),
        Some(Version::Tag(t)) if t == "latest" => esc_service::Version::Latest,
        Some(Version::Tag(t)) => esc_service::Version::Tag(t.clone()),
    }
}

/// The service's error as the CLI shows it (`[code] message`).
fn api_error(error: ServiceError) -> BackendError {
    let code = match &error {
        ServiceError::Unauthenticated { .. } => 401,
        ServiceError::Forbidden { .. } => 403,
        ServiceError::NotFound { .. } => 404,
        ServiceError::AlreadyExists { .. }
        | ServiceError::Conflict { .. }
        | ServiceError::DeletionProtected { .. } => 409,
        ServiceError::Internal(_) => 500,
        _ => 400,
    };
    BackendError::Api {
        code,
        message: error.to_string(),
    }
}

fn diag(d: &esc_syntax::Diagnostic) -> Diag {
    let pos = |p: &esc_syntax::Pos| Pos {
        line: i64::from(p.line),
        column: i64::from(p.column),
        byte: i64::from(p.byte),
    };
    Diag {
        summary: d.summary.clone(),
        warning: !d.is_error(),
        range: d.range.as_ref().map(|r| Range {
            environment: r.filename.to_string(),
            begin: pos(&r.start),
            end: pos(&r.end),
        }),
    }
}

/// `{"properties": {...}}` (API.md § 3.3) to the root value.
fn root_of(environment: &PlainValue) -> BackendResult<Option<Value>> {
    match environment.member("properties") {
        None => Ok(None),
        Some(PlainValue::Object(props)) => Ok(Some(
            Value::root_from_wire(props).map_err(|e| BackendError::Other(e.into()))?,
        )),
        Some(_) => Err(BackendError::Other(anyhow::anyhow!(
            "malformed environment: properties is not an object"
        ))),
    }
}

fn author_parts(author: &esc_store::Author) -> (String, String) {
    (author.login.clone(), author.name.clone())
}

fn env_tag(tag: esc_store::EnvironmentTag) -> EnvTagInfo {
    let (login, name) = author_parts(&tag.editor);
    EnvTagInfo {
        name: tag.name,
        value: tag.value,
        modified_millis: tag.modified.unix_millis(),
        editor_login: login,
        editor_name: name,
    }
}

fn revision_tag(tag: esc_store::RevisionTag) -> RevisionTagInfo {
    let (login, name) = tag.editor.as_ref().map(author_parts).unwrap_or_default();
    RevisionTagInfo {
        name: tag.name,
        revision: tag.revision,
        modified_millis: tag.modified.unix_millis(),
        editor_login: login,
        editor_name: name,
    }
}

#[async_trait]
impl Backend for LocalBackend {
    async fn user(&self) -> BackendResult<String> {
        Ok(self.caller.login.clone())
    }

    async fn organizations(&self) -> BackendResult<Vec<String>> {
        self.service
            .user_info(&self.caller)
            .await
            .map(|info| info.organizations)
            .map_err(api_error)
    }

    async fn default_org(&self) -> BackendResult<String> {
        Ok(self.caller.login.clone())
    }

    async fn exists(&self, env: &EnvName) -> BackendResult<bool> {
        match self
            .service
            .environment(&self.caller, &store_ref(env))
            .await
        {
            Ok(_) => Ok(true),
            Err(ServiceError::NotFound { .. }) => Ok(false),
            Err(e) => Err(api_error(e)),
        }
    }

    async fn create_environment(&self, env: &EnvName) -> BackendResult<()> {
        self.service
            .create_environment(&self.caller, &store_ref(env))
            .await
            .map(|_| ())
            .map_err(api_error)
    }

    async fn delete_environment(&self, env: &EnvName) -> BackendResult<()> {
        self.service
            .delete(&self.caller, &store_ref(env))
            .await
            .map_err(api_error)
    }

    async fn list_environments(&self, org: Option<&str>) -> BackendResult<Vec<EnvName>> {
        let mut names = Vec::new();
        let mut token: Option<String> = None;
        // Bounded: a misbehaving store cannot loop forever.
        for _ in 0..10_000 {
            let page = self
                .service
                .list_environments(&self.caller, org, token.as_deref(), 500)
                .await
                .map_err(api_error)?;
            names.extend(
                page.items
                    .into_iter()
                    .map(|e| EnvName::new(&e.name.org, &e.name.project, &e.name.name)),
            );
            match page.next {
                Some(next) if !next.is_empty() => token = Some(next),
                _ => break,
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
        let options = esc_service::CloneOptions {
            preserve_history: options.history,
            preserve_environment_tags: options.env_tags,
            preserve_revision_tags: options.rev_tags,
            source_revision: None,
        };
        self.service
            .clone_environment(&self.caller, &store_ref(src), &store_ref(dest), options)
            .await
            .map(|_| ())
            .map_err(api_error)
    }

    async fn definition(
        &self,
        env: &EnvName,
        version: Option<&Version>,
        decrypt: bool,
    ) -> BackendResult<DefinitionText> {
        let def = self
            .service
            .definition(
                &self.caller,
                &store_ref(env),
                &service_version(version),
                decrypt,
            )
            .await
            .map_err(api_error)?;
        let yaml = def
            .yaml
            .expose_str()
            .ok_or_else(|| BackendError::Other(anyhow::anyhow!("the definition is not UTF-8")))?
            .to_string();
        Ok(DefinitionText {
            yaml,
            etag: Some(def.etag),
        })
    }

    async fn update_definition(
        &self,
        env: &EnvName,
        yaml: &str,
        etag: Option<&str>,
    ) -> BackendResult<Vec<Diag>> {
        match self
            .service
            .update(&self.caller, &store_ref(env), yaml, etag)
            .await
        {
            Ok(outcome) => Ok(outcome.warnings.iter().map(|d| self.diag(d)).collect()),
            Err(ServiceError::Diagnostics { diagnostics }) => {
                Ok(diagnostics.iter().map(|d| self.diag(d)).collect())
            }
            Err(e) => Err(api_error(e)),
        }
    }

    async fn check(
        &self,
        env: &EnvName,
        yaml: &str,
        show_secrets: bool,
    ) -> BackendResult<Evaluated> {
        match self
            .service
            .check(&self.caller, &env.org, yaml, show_secrets)
            .await
        {
            Ok(outcome) => Ok(Evaluated {
                root: root_of(&outcome.environment)?,
                diagnostics: outcome.warnings.iter().map(|d| self.diag(d)).collect(),
                exprs: outcome.environment.member("exprs").cloned(),
            }),
            Err(ServiceError::Diagnostics { diagnostics }) => Ok(Evaluated {
                root: None,
                diagnostics: diagnostics.iter().map(|d| self.diag(d)).collect(),
                exprs: None,
            }),
            Err(e) => Err(api_error(e)),
        }
    }

    async fn open(
        &self,
        env: &EnvName,
        version: Option<&Version>,
        lifetime: Duration,
    ) -> BackendResult<Evaluated> {
        let env_ref = store_ref(env);
        let opened = self
            .service
            .open(
                &self.caller,
                &env_ref,
                &service_version(version),
                Some(lifetime),
            )
            .await;
        self.read_opened(&env_ref, opened).await
    }

    async fn list_revisions(
        &self,
        env: &EnvName,
        before: Option<u64>,
        count: u32,
    ) -> BackendResult<Vec<RevisionInfo>> {
        let revisions = self
            .service
            .revisions(&self.caller, &store_ref(env), before, count)
            .await
            .map_err(api_error)?;
        Ok(revisions
            .into_iter()
            .map(|r| RevisionInfo {
                number: r.number,
                created_millis: r.created.unix_millis(),
                creator_login: r.author.login.clone(),
                creator_name: r.author.name.clone(),
                tags: r.tags,
                retracted: r.retracted.map(|x| Retraction {
                    replacement: x.replacement,
                    at_millis: x.at.unix_millis(),
                    by_login: x.by.login,
                    by_name: x.by.name,
                    reason: x.reason,
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
        self.service
            .retract(
                &self.caller,
                &store_ref(env),
                &esc_service::Version::Number(revision),
                replacement,
                reason.unwrap_or_default(),
            )
            .await
            .map(|_| ())
            .map_err(api_error)
    }

    async fn resolve_version(&self, env: &EnvName, version: &Version) -> BackendResult<u64> {
        match version {
            Version::Revision(n) => Ok(*n),
            Version::Tag(_) => Ok(self
                .service
                .definition(
                    &self.caller,
                    &store_ref(env),
                    &service_version(Some(version)),
                    false,
                )
                .await
                .map_err(api_error)?
                .revision),
        }
    }

    async fn revision_tag(&self, env: &EnvName, name: &str) -> BackendResult<RevisionTagInfo> {
        self.service
            .revision_tag(&self.caller, &store_ref(env), name)
            .await
            .map(revision_tag)
            .map_err(api_error)
    }

    async fn list_revision_tags(&self, env: &EnvName) -> BackendResult<Vec<RevisionTagInfo>> {
        let mut tags: Vec<RevisionTagInfo> = Vec::new();
        for _ in 0..10_000 {
            let after = tags.last().map(|t| t.name.clone());
            let page = self
                .service
                .revision_tags(&self.caller, &store_ref(env), after.as_deref(), 500)
                .await
                .map_err(api_error)?;
            if page.is_empty() {
                break;
            }
            tags.extend(page.into_iter().map(revision_tag));
        }
        Ok(tags)
    }

    async fn set_revision_tag(
        &self,
        env: &EnvName,
        name: &str,
        revision: u64,
    ) -> BackendResult<()> {
        let env = store_ref(env);
        match self
            .service
            .update_revision_tag(&self.caller, &env, name, revision)
            .await
        {
            Ok(_) => Ok(()),
            Err(ServiceError::NotFound { .. }) => self
                .service
                .create_revision_tag(&self.caller, &env, name, Some(revision))
                .await
                .map(|_| ())
                .map_err(api_error),
            Err(e) => Err(api_error(e)),
        }
    }

    async fn delete_revision_tag(&self, env: &EnvName, name: &str) -> BackendResult<()> {
        self.service
            .delete_revision_tag(&self.caller, &store_ref(env), name)
            .await
            .map_err(api_error)
    }

    async fn env_tag(&self, env: &EnvName, name: &str) -> BackendResult<EnvTagInfo> {
        self.service
            .environment_tag(&self.caller, &store_ref(env), name)
            .await
            .map(env_tag)
            .map_err(api_error)
    }

    async fn list_env_tags(&self, env: &EnvName) -> BackendResult<Vec<EnvTagInfo>> {
        let mut tags = Vec::new();
        let mut token: Option<String> = None;
        for _ in 0..10_000 {
            let page = self
                .service
                .environment_tags(&self.caller, &store_ref(env), token.as_deref(), 500)
                .await
                .map_err(api_error)?;
            tags.extend(page.items.into_iter().map(env_tag));
            match page.next {
                Some(next) if !next.is_empty() && next != "0" => token = Some(next),
                _ => break,
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
        self.service
            .create_environment_tag(&self.caller, &store_ref(env), name, value)
            .await
            .map(env_tag)
            .map_err(api_error)
    }

    async fn update_env_tag(
        &self,
        env: &EnvName,
        name: &str,
        new_name: Option<&str>,
        new_value: Option<&str>,
    ) -> BackendResult<EnvTagInfo> {
        let update = EnvironmentTagUpdate {
            expected_value: None,
            new_name: new_name.map(str::to_string),
            new_value: new_value.map(str::to_string),
        };
        self.service
            .update_environment_tag(&self.caller, &store_ref(env), name, &update)
            .await
            .map(env_tag)
            .map_err(api_error)
    }

    async fn delete_env_tag(&self, env: &EnvName, name: &str) -> BackendResult<()> {
        self.service
            .delete_environment_tag(&self.caller, &store_ref(env), name)
            .await
            .map_err(api_error)
    }

    async fn rotate(&self, env: &EnvName, paths: &[String]) -> BackendResult<RotationOutcome> {
        match self
            .service
            .rotate(&self.caller, &store_ref(env), paths)
            .await
        {
            Ok(outcome) => {
                let event = outcome.event.event;
                Ok(RotationOutcome {
                    status: event.status.as_str().to_string(),
                    error: event.error_message.map(|e| self.explain(&e)),
                    new_revision: event.post_rotation_revision,
                    failures: event
                        .rotations
                        .into_iter()
                        .filter(|r| r.status == esc_store::RotationStatus::Failed)
                        .map(|r| {
                            let error = self.explain(&r.error_message.unwrap_or_default());
                            (r.path, error)
                        })
                        .collect(),
                    diagnostics: Vec::new(),
                })
            }
            Err(ServiceError::Diagnostics { diagnostics }) => Ok(RotationOutcome {
                status: String::new(),
                error: None,
                new_revision: None,
                failures: Vec::new(),
                diagnostics: diagnostics.iter().map(|d| self.diag(d)).collect(),
            }),
            Err(e) => Err(api_error(e)),
        }
    }

    async fn deletion_protected(&self, env: &EnvName) -> BackendResult<bool> {
        self.service
            .environment(&self.caller, &store_ref(env))
            .await
            .map(|e| e.deletion_protected)
            .map_err(api_error)
    }

    async fn set_deletion_protected(&self, env: &EnvName, on: bool) -> BackendResult<()> {
        let update = SettingsUpdate {
            deletion_protected: Some(on),
        };
        self.service
            .update_settings(&self.caller, &store_ref(env), &update)
            .await
            .map(|_| ())
            .map_err(api_error)
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
