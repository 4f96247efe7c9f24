//! The operations commands need, behind one trait with two implementations:
//! [`local`] (the service layer in-process on the store under `$ESC_HOME`)
//! and [`remote`] (the same calls over the REST API of spec/API.md).

pub(crate) mod config;
pub(crate) mod drafts;
pub(crate) mod local;
pub(crate) mod referrers;
pub(crate) mod remote;
pub(crate) mod schedules;
pub(crate) mod webhooks;

use std::time::Duration;

use async_trait::async_trait;

use crate::backend::config::Config;
use crate::env_ref::{EnvName, Version};
use crate::value::{Range, Value};

/// A backend failure. `Api` carries what the server (or service) said.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub(crate) enum BackendError {
    /// The service refused or failed: printed `[code] message` like the
    /// reference CLI prints Pulumi API errors.
    #[error("[{code}] {message}")]
    Api {
        /// HTTP-style status (404 not found, 409 conflict, ...).
        code: u16,
        /// The service's message.
        message: String,
    },
    /// Anything else (store unreachable, malformed reply, IO).
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

impl BackendError {
    /// The status code, when the service answered.
    pub(crate) fn code(&self) -> Option<u16> {
        match self {
            BackendError::Api { code, .. } => Some(*code),
            BackendError::Other(_) => None,
        }
    }
}

/// Go's zero `time.Time` (0001-01-01T00:00:00Z) in Unix milliseconds: the
/// time of a record that has none.
pub(crate) const GO_ZERO_TIME_MILLIS: i64 = -62_135_596_800_000;

/// Result of backend calls.
pub(crate) type BackendResult<T> = Result<T, BackendError>;

/// A problem the service found in a definition.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Diag {
    /// One-line description.
    pub(crate) summary: String,
    /// `false` = error, `true` = warning.
    pub(crate) warning: bool,
    /// Where, when known.
    pub(crate) range: Option<Range>,
}

/// A stored definition and its concurrency token.
#[derive(Clone, Debug)]
pub(crate) struct DefinitionText {
    /// The YAML text (ciphertexts unless asked to decrypt).
    pub(crate) yaml: String,
    /// Token for optimistic concurrency on update.
    pub(crate) etag: Option<String>,
}

/// The result of checking or opening.
#[derive(Clone, Debug)]
pub(crate) struct Evaluated {
    /// The properties' root, `None` for an empty environment.
    pub(crate) root: Option<Value>,
    /// Problems found; when there are errors `root` is meaningless.
    pub(crate) diagnostics: Vec<Diag>,
    /// The check result's `exprs` (property name -> expression, spec/API.md
    /// § 3.3), for "Defined at"; `None` from opens and older servers.
    pub(crate) exprs: Option<esc_eval::PlainValue>,
}

/// One revision of an environment.
#[derive(Clone, Debug)]
pub(crate) struct RevisionInfo {
    pub(crate) number: u64,
    /// Unix milliseconds.
    pub(crate) created_millis: i64,
    pub(crate) creator_login: String,
    pub(crate) creator_name: String,
    pub(crate) tags: Vec<String>,
    /// `(replacement, by_login, by_name, reason)` when retracted.
    pub(crate) retracted: Option<Retraction>,
}

/// How a revision was retracted.
#[derive(Clone, Debug)]
pub(crate) struct Retraction {
    pub(crate) replacement: u64,
    pub(crate) at_millis: i64,
    pub(crate) by_login: String,
    pub(crate) by_name: String,
    pub(crate) reason: String,
}

/// A named pointer to a revision.
#[derive(Clone, Debug)]
pub(crate) struct RevisionTagInfo {
    pub(crate) name: String,
    pub(crate) revision: u64,
    pub(crate) modified_millis: i64,
    pub(crate) editor_login: String,
    pub(crate) editor_name: String,
}

/// Key/value metadata on an environment.
#[derive(Clone, Debug)]
pub(crate) struct EnvTagInfo {
    pub(crate) name: String,
    pub(crate) value: String,
    pub(crate) modified_millis: i64,
    pub(crate) editor_login: String,
    pub(crate) editor_name: String,
}

/// Outcome of one rotated path.
#[derive(Clone, Debug)]
pub(crate) struct RotationOutcome {
    /// `succeeded`, `failed` or other service status.
    pub(crate) status: String,
    /// Overall error, if any.
    pub(crate) error: Option<String>,
    /// New revision written.
    pub(crate) new_revision: Option<u64>,
    /// `(path, error)` for each failed path.
    pub(crate) failures: Vec<(String, String)>,
    /// Problems in the definition.
    pub(crate) diagnostics: Vec<Diag>,
}

/// Everything the commands ask of a backend.
#[async_trait]
pub(crate) trait Backend:
    webhooks::WebhookBackend + referrers::ReferrerBackend + drafts::DraftBackend + Send + Sync
{
    /// The login of the current user (also the default organization).
    async fn user(&self) -> BackendResult<String>;
    /// The organizations the user belongs to.
    async fn organizations(&self) -> BackendResult<Vec<String>>;
    /// The default organization.
    async fn default_org(&self) -> BackendResult<String>;
    /// Whether the environment exists.
    async fn exists(&self, env: &EnvName) -> BackendResult<bool>;
    /// Create an empty environment.
    async fn create_environment(&self, env: &EnvName) -> BackendResult<()>;
    /// Delete an environment.
    async fn delete_environment(&self, env: &EnvName) -> BackendResult<()>;
    /// All environments visible to the user (of `org` only, if given).
    async fn list_environments(&self, org: Option<&str>) -> BackendResult<Vec<EnvName>>;
    /// Clone `src` into `dest`.
    async fn clone_environment(
        &self,
        src: &EnvName,
        dest: &EnvName,
        options: CloneOptions,
    ) -> BackendResult<()>;
    /// The definition at `version` (latest when `None`).
    async fn definition(
        &self,
        env: &EnvName,
        version: Option<&Version>,
        decrypt: bool,
    ) -> BackendResult<DefinitionText>;
    /// Store a new definition; `etag` guards against lost updates.
    /// Diagnostics (nothing stored) are returned as `Ok`.
    async fn update_definition(
        &self,
        env: &EnvName,
        yaml: &str,
        etag: Option<&str>,
    ) -> BackendResult<Vec<Diag>>;
    /// Check `yaml` as if it were `env`'s definition, without opening providers.
    async fn check(
        &self,
        env: &EnvName,
        yaml: &str,
        show_secrets: bool,
    ) -> BackendResult<Evaluated>;
    /// Open (evaluate) the environment at `version`.
    async fn open(
        &self,
        env: &EnvName,
        version: Option<&Version>,
        lifetime: Duration,
    ) -> BackendResult<Evaluated>;
    /// Revisions, newest first, numbered below `before` (all when `None`).
    async fn list_revisions(
        &self,
        env: &EnvName,
        before: Option<u64>,
        count: u32,
    ) -> BackendResult<Vec<RevisionInfo>>;
    /// Retract a revision.
    async fn retract_revision(
        &self,
        env: &EnvName,
        revision: u64,
        replacement: Option<u64>,
        reason: Option<&str>,
    ) -> BackendResult<()>;
    /// Resolve a version to a revision number.
    async fn resolve_version(&self, env: &EnvName, version: &Version) -> BackendResult<u64>;
    /// A revision tag.
    async fn revision_tag(&self, env: &EnvName, name: &str) -> BackendResult<RevisionTagInfo>;
    /// All revision tags, by name.
    async fn list_revision_tags(&self, env: &EnvName) -> BackendResult<Vec<RevisionTagInfo>>;
    /// Create or move a revision tag.
    async fn set_revision_tag(&self, env: &EnvName, name: &str, revision: u64)
    -> BackendResult<()>;
    /// Delete a revision tag.
    async fn delete_revision_tag(&self, env: &EnvName, name: &str) -> BackendResult<()>;
    /// An environment tag.
    async fn env_tag(&self, env: &EnvName, name: &str) -> BackendResult<EnvTagInfo>;
    /// All environment tags.
    async fn list_env_tags(&self, env: &EnvName) -> BackendResult<Vec<EnvTagInfo>>;
    /// Create an environment tag.
    async fn create_env_tag(
        &self,
        env: &EnvName,
        name: &str,
        value: &str,
    ) -> BackendResult<EnvTagInfo>;
    /// Rename and/or change an environment tag.
    async fn update_env_tag(
        &self,
        env: &EnvName,
        name: &str,
        new_name: Option<&str>,
        new_value: Option<&str>,
    ) -> BackendResult<EnvTagInfo>;
    /// Delete an environment tag.
    async fn delete_env_tag(&self, env: &EnvName, name: &str) -> BackendResult<()>;
    /// Rotate the secrets at `paths` (all when empty).
    async fn rotate(&self, env: &EnvName, paths: &[String]) -> BackendResult<RotationOutcome>;
    /// Whether deletion protection is on.
    async fn deletion_protected(&self, env: &EnvName) -> BackendResult<bool>;
    /// Turn deletion protection on or off.
    async fn set_deletion_protected(&self, env: &EnvName, on: bool) -> BackendResult<()>;
    /// The environment's rotation schedules, oldest first.
    async fn list_schedules(&self, env: &EnvName) -> BackendResult<Vec<schedules::ScheduleInfo>>;
    /// One rotation schedule.
    async fn schedule(&self, env: &EnvName, id: &str) -> BackendResult<schedules::ScheduleInfo>;
    /// Create the environment's rotation schedule.
    async fn create_schedule(
        &self,
        env: &EnvName,
        timing: &schedules::ScheduleTiming,
    ) -> BackendResult<schedules::ScheduleInfo>;
    /// Change a rotation schedule's timing.
    async fn update_schedule(
        &self,
        env: &EnvName,
        id: &str,
        timing: &schedules::ScheduleTiming,
    ) -> BackendResult<schedules::ScheduleInfo>;
    /// Delete a rotation schedule.
    async fn delete_schedule(&self, env: &EnvName, id: &str) -> BackendResult<()>;
    /// A schedule's runs, newest first.
    async fn schedule_runs(
        &self,
        env: &EnvName,
        id: &str,
    ) -> BackendResult<Vec<schedules::ScheduleRunInfo>>;
}

/// What `env clone` copies besides the latest definition.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct CloneOptions {
    pub(crate) history: bool,
    pub(crate) access: bool,
    pub(crate) env_tags: bool,
    pub(crate) rev_tags: bool,
}

/// The backend of this invocation (`config.rs`): a server named by the
/// variables or `esc login`, else the local store. Says on stderr when the
/// token comes from a variable in place of a saved one, and when TLS
/// verification is off.
pub(crate) async fn connect(config: &Config) -> anyhow::Result<Box<dyn Backend>> {
    match config.remote()? {
        Some(remote) => {
            if let config::Source::Variable(name) = remote.token_source
                && remote.announce_token
            {
                crate::messages::err(&format!("Logging in using access token from {name}\n"));
            }
            if remote.account.insecure {
                crate::messages::err(&insecure_warning(&remote.account.url));
            }
            Ok(Box::new(remote::RemoteBackend::new(&remote.account)?))
        }
        None => Ok(Box::new(
            local::LocalBackend::open(&config.data_dir()).await?,
        )),
    }
}

/// The warning of every command on an account saved with `--insecure`.
pub(crate) fn insecure_warning(url: &str) -> String {
    format!(
        "warning: TLS certificate verification is off for {url} (saved by `esc login --insecure`)\n"
    )
}
