//! The local backend: `esc-service` in-process on the embedded SQLite store
//! under `$ESC_HOME/data`, acting as the local user (`$ESC_USER`, default
//! `local`, whose personal organization is the default organization).

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use async_trait::async_trait;
use esc_eval::PlainValue;
use esc_service::{AccessPolicy, Caller, ProviderRegistry, Service, ServiceConfig, ServiceError};
use esc_store::{EnvRef, EnvironmentTagUpdate, Location, SettingsUpdate, SqlStore};

use super::{
    Backend, BackendError, BackendResult, CloneOptions, DefinitionText, Diag, EnvTagInfo,
    Evaluated, Retraction, RevisionInfo, RevisionTagInfo, RotationOutcome,
};
use crate::env_ref::{EnvName, Version};
use crate::value::{Pos, Range, Value};

/// The service on the local store.
pub(crate) struct LocalBackend {
    service: Service,
    caller: Caller,
}

impl LocalBackend {
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
        let service = Service::new(store, Arc::new(ProviderRegistry::new()), config);
        Ok(LocalBackend {
            service,
            caller: Caller {
                name: login.clone(),
                login,
            },
        })
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
            Ok(outcome) => Ok(outcome.warnings.iter().map(diag).collect()),
            Err(ServiceError::Diagnostics { diagnostics }) => {
                Ok(diagnostics.iter().map(diag).collect())
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
                diagnostics: outcome.warnings.iter().map(diag).collect(),
            }),
            Err(ServiceError::Diagnostics { diagnostics }) => Ok(Evaluated {
                root: None,
                diagnostics: diagnostics.iter().map(diag).collect(),
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
        let session = match self
            .service
            .open(
                &self.caller,
                &env_ref,
                &service_version(version),
                Some(lifetime),
            )
            .await
        {
            Ok(session) => session,
            Err(ServiceError::Diagnostics { diagnostics }) => {
                return Ok(Evaluated {
                    root: None,
                    diagnostics: diagnostics.iter().map(diag).collect(),
                });
            }
            Err(e) => return Err(api_error(e)),
        };
        let environment = self
            .service
            .read_session(&self.caller, &env_ref, &session.id, None)
            .await
            .map_err(api_error)?;
        Ok(Evaluated {
            root: root_of(&environment)?,
            diagnostics: Vec::new(),
        })
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
                    error: event.error_message,
                    new_revision: event.post_rotation_revision,
                    failures: event
                        .rotations
                        .into_iter()
                        .filter(|r| r.status == esc_store::RotationStatus::Failed)
                        .map(|r| (r.path, r.error_message.unwrap_or_default()))
                        .collect(),
                    diagnostics: Vec::new(),
                })
            }
            Err(ServiceError::Diagnostics { diagnostics }) => Ok(RotationOutcome {
                status: String::new(),
                error: None,
                new_revision: None,
                failures: Vec::new(),
                diagnostics: diagnostics.iter().map(diag).collect(),
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
}
