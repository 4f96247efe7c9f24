//! The operations: environments, definitions, opening, checking, revisions,
//! tags, settings, rotation; each checks access and writes an audit event
//! for every open, write and reveal.

use std::sync::Arc;
use std::time::Duration;

use esc_eval::{Evaluation, Mode, PlainValue, ProviderLoader, Session};
use esc_store::{
    Author, EnvRef, Environment, EnvironmentCipher, EnvironmentTag, EnvironmentTagUpdate,
    NewAccessToken, NewAuditEvent, NewRotationEvent, Page, PathRotation, Pin, Plaintext,
    ResolvedRevision, Revision, RevisionAt, RevisionContent, RevisionTag, RotationEvent,
    RotationStatus, SettingsUpdate, SharedResult, Store, StoreError, Timestamp, open_secret,
    seal_secret,
};
use esc_syntax::{Diagnostic, Severity};

use crate::access::{AccessCache, AccessPolicy, Permission, Scope};
use crate::cache::{SecretEnvironment, SessionCache, SessionResult, TokenCache};
use crate::error::{ServiceError, ServiceResult};
use crate::loader::{
    DefinitionCache, EnvironmentDecrypter, NoDecrypter, RecordingProviders, StoreEnvironmentLoader,
};
use crate::names::{Version, check_env_ref, check_org};
use crate::path::{lookup, parse_property_path};
use crate::results::{CachedResult, Dependency, ResultCache, ResultKey};
use crate::secrets::{later_documents, reseal_ciphertexts};
use crate::webhooks::WebhookConfig;
use crate::webhooks::dispatch::Dispatcher;

mod anonymous;
mod drafts;
mod referrers;

mod webhooks;

mod schedules;

pub use anonymous::AnonymousSession;
pub use drafts::{DraftDefinition, DraftOutcome};
pub use referrers::{EnvironmentReferrer, MAX_REFERRERS_PAGE, ReferrersPage, ReferrersQuery};
pub use schedules::{ROTATION_KIND, SCHEDULER_LOGIN, ScheduleRequest, ScheduledRun, parse_rfc3339};

/// Settings of the service. Every value is valid.
#[derive(Clone, Debug)]
pub struct ServiceConfig {
    /// Who has which role where.
    pub access: AccessPolicy,
    /// How long an open session lives when the caller does not say (1 h).
    pub default_open_duration: Duration,
    /// The longest open session a caller may ask for (7 days).
    pub max_open_duration: Duration,
    /// The largest definition accepted, in bytes (1 MiB).
    pub max_definition_bytes: usize,
    /// How long a token the store verified is trusted without asking the
    /// store again (5 s; zero: every request asks). This bounds revocation:
    /// a deleted token is refused at most this long after, on every server
    /// sharing the database. A token's own expiry is always honoured.
    pub token_cache_ttl: Duration,
    /// How long the result of a session this process opened is kept in
    /// memory to answer reads without the store (60 s; zero: never). The
    /// store keeps every session too, for other servers and later reads.
    pub session_cache_ttl: Duration,
    /// Webhook deliveries: URL policy, timeouts, queue bounds.
    pub webhooks: WebhookConfig,
}

impl Default for ServiceConfig {
    fn default() -> Self {
        Self {
            access: AccessPolicy::default(),
            default_open_duration: Duration::from_secs(3600),
            max_open_duration: Duration::from_secs(7 * 24 * 3600),
            max_definition_bytes: 1 << 20,
            token_cache_ttl: Duration::from_secs(5),
            session_cache_ttl: Duration::from_secs(60),
            webhooks: WebhookConfig::default(),
        }
    }
}

/// An authenticated user.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Caller {
    /// The login (also the name of the user's personal organization).
    pub login: String,
    /// A display name.
    pub name: String,
}

impl Caller {
    fn author(&self) -> Author {
        Author::new(self.login.clone(), self.name.clone())
    }
}

/// Who the caller is, for `GET /api/user`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserInfo {
    /// The login.
    pub login: String,
    /// The display name.
    pub name: String,
    /// The organizations the user can use, sorted, the personal one included.
    pub organizations: Vec<String>,
}

/// A definition as read.
#[derive(Debug)]
pub struct Definition {
    /// The YAML text (secrets as ciphertext unless revealed).
    pub yaml: Plaintext,
    /// The revision it is.
    pub revision: u64,
    /// The etag of that revision (to send back with an update).
    pub etag: String,
}

/// The result of a successful update.
#[derive(Clone, Debug)]
pub struct UpdateOutcome {
    /// The new revision.
    pub revision: Revision,
    /// Warnings of the validation (no errors).
    pub warnings: Vec<Diagnostic>,
}

/// The result of a valid check.
pub struct CheckOutcome {
    /// The environment JSON (`{}` when empty), with `exprs` (secret
    /// literals and secret-derived schemas redacted unless `show_secrets`).
    pub environment: PlainValue,
    /// Warnings.
    pub warnings: Vec<Diagnostic>,
}

/// Written by hand: with `show_secrets` the environment JSON holds revealed
/// secrets as plain strings, so Debug never prints it.
impl std::fmt::Debug for CheckOutcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CheckOutcome")
            .field("environment", &format_args!("[elided]"))
            .field("warnings", &self.warnings)
            .finish()
    }
}

/// An opened environment. Its Debug output hides the session id.
#[derive(Clone)]
pub struct OpenedSession {
    /// The session id (a bearer secret for reading the result).
    pub id: String,
    /// The revision opened.
    pub revision: u64,
    /// When it expires.
    pub expires: Timestamp,
}

impl std::fmt::Debug for OpenedSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenedSession")
            .field("id", &"[secret]")
            .field("revision", &self.revision)
            .field("expires", &self.expires)
            .finish()
    }
}

/// What to carry over when cloning.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CloneOptions {
    /// Copy every revision, not only the newest definition.
    pub preserve_history: bool,
    /// Copy the key/value environment tags.
    pub preserve_environment_tags: bool,
    /// Copy the revision tags (with history only).
    pub preserve_revision_tags: bool,
    /// Clone only while the source's newest revision is this one
    /// (`Conflict` otherwise).
    pub source_revision: Option<u64>,
}

/// The result of a rotation.
#[derive(Clone, Debug)]
pub struct RotationOutcome {
    /// The recorded event.
    pub event: RotationEvent,
}

/// The actor of the audit events of [`Service::bootstrap_user`] (no user
/// acts: the server creates its first user and token), in the style of
/// `SCHEDULER_LOGIN`.
const BOOTSTRAP_ACTOR: &str = "esc:bootstrap";

/// Store pages read at most to fill one page of an environment listing
/// (rows the caller may not read are dropped).
const LIST_STORE_READS: usize = 16;

/// Parsed definitions kept per service (see [`DefinitionCache`]).
const DEFINITION_CACHE_ENTRIES: usize = 1024;
/// Source bytes of the cached definitions (parsed trees take several times
/// more).
const DEFINITION_CACHE_BYTES: usize = 16 << 20;

/// How much longer than the session that stored it a shared session
/// result is kept, so that the sessions opened meanwhile point to it (see
/// [`Service::open`]).
const SHARED_RESULT_WINDOW: Duration = Duration::from_secs(600);

/// Evaluated results of provider-free environments kept per service (see
/// [`ResultCache`]).
const RESULT_CACHE_ENTRIES: usize = 1024;
/// Bytes of result JSON kept (the value trees take a few times more).
const RESULT_CACHE_BYTES: usize = 16 << 20;

/// The domain operations. Cheap to clone; share one per process.
#[derive(Clone)]
pub struct Service {
    inner: Arc<Inner>,
}

struct Inner {
    store: Arc<dyn Store>,
    providers: Arc<dyn ProviderLoader>,
    access: Arc<AccessPolicy>,
    tokens: TokenCache,
    /// Stored memberships and grants of recent callers.
    grants: AccessCache,
    sessions: SessionCache,
    config: ServiceConfig,
    /// Parsed definitions of stored revisions (opens and imports).
    definitions: Arc<DefinitionCache>,
    /// Results of provider-free opens, checked against the store before use.
    results: ResultCache,
    /// The queue of webhook deliveries.
    webhooks: Dispatcher,
}

impl Service {
    /// A service over `store`, calling providers found by `providers`.
    pub fn new(
        store: Arc<dyn Store>,
        providers: Arc<dyn ProviderLoader>,
        config: ServiceConfig,
    ) -> Self {
        let webhooks = Dispatcher::new(store.clone(), config.webhooks.clone());
        Self {
            inner: Arc::new(Inner {
                store,
                webhooks,
                providers,
                access: Arc::new(config.access.clone()),
                tokens: TokenCache::new(config.token_cache_ttl),
                grants: AccessCache::new(config.token_cache_ttl),
                sessions: SessionCache::new(config.session_cache_ttl),
                config,
                definitions: Arc::new(DefinitionCache::new(
                    DEFINITION_CACHE_ENTRIES,
                    DEFINITION_CACHE_BYTES,
                )),
                results: ResultCache::new(RESULT_CACHE_ENTRIES, RESULT_CACHE_BYTES),
            }),
        }
    }

    /// The store underneath (for maintenance tasks).
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.inner.store
    }

    // ---- identity ----

    /// The caller an access token belongs to. A token verified less than
    /// [`ServiceConfig::token_cache_ttl`] ago is not looked up again.
    pub async fn authenticate(&self, token: &str) -> ServiceResult<Caller> {
        if token.is_empty() {
            return Err(ServiceError::Unauthenticated {
                reason: "missing access token",
            });
        }
        if let Some(caller) = self.inner.tokens.lookup(token) {
            self.refresh_access(&caller.login).await?;
            return Ok(caller);
        }
        match self.inner.store.authenticate_access_token(token).await {
            Ok(found) => {
                let caller = Caller {
                    name: found.owner.clone(),
                    login: found.owner,
                };
                self.inner
                    .tokens
                    .insert(token, caller.clone(), found.expires);
                self.refresh_access(&caller.login).await?;
                Ok(caller)
            }
            Err(StoreError::NotFound { .. }) => Err(ServiceError::Unauthenticated {
                reason: "invalid access token",
            }),
            Err(other) => Err(other.into()),
        }
    }

    /// Creates a first access token for `login` when it has none; `None`
    /// when it already has one. Also creates its personal organization.
    /// The user and token audit events name `esc:bootstrap` as the actor.
    pub async fn bootstrap_user(
        &self,
        login: &str,
        description: &str,
    ) -> ServiceResult<Option<NewAccessToken>> {
        check_org(login)?;
        self.ensure_org(login).await?;
        match self
            .inner
            .store
            .create_user(login, login, BOOTSTRAP_ACTOR)
            .await
        {
            Ok(_) | Err(StoreError::AlreadyExists { .. }) => {}
            Err(other) => return Err(other.into()),
        }
        if !self.inner.store.list_access_tokens(login).await?.is_empty() {
            return Ok(None);
        }
        Ok(Some(
            self.inner
                .store
                .create_access_token(login, description, None, BOOTSTRAP_ACTOR)
                .await?,
        ))
    }

    /// Who the caller is and which organizations it can use.
    pub async fn user_info(&self, caller: &Caller) -> ServiceResult<UserInfo> {
        let mut organizations = vec![caller.login.clone()];
        if self.inner.access.is_global_admin(&caller.login) {
            organizations.extend(
                self.inner
                    .store
                    .list_organizations()
                    .await?
                    .into_iter()
                    .map(|org| org.name),
            );
        }
        organizations.extend(self.inner.access.organizations_of(&caller.login));
        if let Some(stored) = self.inner.grants.current(&caller.login) {
            organizations.extend(stored.memberships.iter().map(|m| m.org.clone()));
        }
        organizations.sort();
        organizations.dedup();
        Ok(UserInfo {
            login: caller.login.clone(),
            name: caller.name.clone(),
            organizations,
        })
    }

    // ---- environments ----

    /// Creates an empty environment (revision 1).
    pub async fn create_environment(
        &self,
        caller: &Caller,
        env: &EnvRef,
    ) -> ServiceResult<Environment> {
        check_env_ref(env)?;
        self.require(caller, env, Permission::Write)?;
        self.ensure_org(&env.org).await?;
        let created = self
            .inner
            .store
            .create_environment(env, &caller.author())
            .await
            .map_err(|error| with_env_name(error, env))?;
        self.audit(caller, env, "environment.create", "").await?;
        self.notify_webhooks(caller, env, "created", Some(created.latest_revision), None);
        Ok(created)
    }

    /// Environments the caller can read, of one organization or all.
    pub async fn list_environments(
        &self,
        caller: &Caller,
        org: Option<&str>,
        page_token: Option<&str>,
        count: u32,
    ) -> ServiceResult<Page<Environment>> {
        if let Some(org) = org {
            check_org(org)?;
            // a grant on some environments lets the caller list those
            let stored = self.inner.grants.current(&caller.login);
            if !AccessPolicy::has_grant_in(stored.as_deref(), org) {
                self.require(caller, org, Permission::Read)?;
            }
            match self.inner.store.organization(org).await {
                Ok(_) => {}
                // the caller's personal organization exists implicitly
                Err(StoreError::NotFound { .. }) if org == caller.login => {
                    return Ok(Page {
                        items: Vec::new(),
                        next: None,
                    });
                }
                Err(StoreError::NotFound { .. }) => {
                    return Err(ServiceError::NotFound {
                        what: format!("organization '{org}'"),
                    });
                }
                Err(other) => return Err(other.into()),
            }
        }
        // Rows the caller may not read are dropped, so a page is filled from
        // further store pages, each asking only for the room left: the
        // store's token then always follows the last row read, and the page
        // never exceeds `count`. Bounded; a short page with a token is still
        // a page (clients follow tokens until there is none).
        let count = count.max(1);
        let mut items = Vec::new();
        let mut token = page_token.map(str::to_owned);
        for _ in 0..LIST_STORE_READS {
            let room = count - items.len() as u32;
            let page = self
                .inner
                .store
                .list_environments(org, token.as_deref(), room)
                .await?;
            // the reserved environments of anonymous opens are no one's
            items.extend(page.items.into_iter().filter(|env| {
                env.name.project != anonymous::ANONYMOUS_PROJECT
                    && self.allowed(caller, &env.name, Permission::Read)
            }));
            token = page.next;
            if token.is_none() || items.len() as u32 >= count {
                break;
            }
        }
        Ok(Page { items, next: token })
    }

    /// An environment's metadata.
    pub async fn environment(&self, caller: &Caller, env: &EnvRef) -> ServiceResult<Environment> {
        check_env_ref(env)?;
        self.require(caller, env, Permission::Read)?;
        self.inner
            .store
            .environment(env)
            .await
            .map_err(|error| with_env_name(error, env))
    }

    /// A definition at a version; with `reveal`, secrets as plaintext.
    pub async fn definition(
        &self,
        caller: &Caller,
        env: &EnvRef,
        version: &Version,
        reveal: bool,
    ) -> ServiceResult<Definition> {
        check_env_ref(env)?;
        let needed = if reveal {
            Permission::Open
        } else {
            Permission::Read
        };
        self.require(caller, env, needed)?;
        let meta = self
            .inner
            .store
            .environment(env)
            .await
            .map_err(|error| with_env_name(error, env))?;
        let content = revision_content(&*self.inner.store, env, version)
            .await
            .map_err(|error| with_env_name(error, env))?;
        let number = content.revision.number;
        let yaml = if reveal {
            let cipher = self.inner.store.environment_cipher(env).await?;
            let text = utf8(&content.yaml)?;
            let opened = esc_syntax::edit::decrypt_secrets(text, |envelope| {
                let plaintext = open_secret(&cipher, envelope).map_err(|error| {
                    ServiceError::Internal(format!("revealing secrets: {error}"))
                })?;
                plaintext.expose_str().map(str::to_owned).ok_or_else(|| {
                    ServiceError::Internal("revealing secrets: a secret is not UTF-8 text".into())
                })
            })?;
            self.audit(
                caller,
                env,
                "environment.reveal",
                &format!("revision {number}"),
            )
            .await?;
            Plaintext::new(opened.into_bytes())
        } else {
            content.yaml
        };
        Ok(Definition {
            yaml,
            revision: number,
            etag: etag(&meta.id, number),
        })
    }

    /// Replaces the definition after validating it; plaintext secrets are
    /// sealed with the environment's key. With an etag, refuses (Conflict)
    /// unless it is the etag of the newest revision.
    pub async fn update(
        &self,
        caller: &Caller,
        env: &EnvRef,
        yaml: &str,
        if_match: Option<&str>,
    ) -> ServiceResult<UpdateOutcome> {
        check_env_ref(env)?;
        self.require(caller, env, Permission::Write)?;
        self.check_size(yaml)?;
        let expected = self.expected_revision(env, if_match).await?;
        let (sealed, warnings) = self.validated_and_sealed(caller, env, yaml).await?;
        let revision = self
            .inner
            .store
            .update_environment(env, sealed.as_bytes(), expected, &caller.author())
            .await
            .map_err(|error| with_env_name(error, env))?;
        self.audit(
            caller,
            env,
            "environment.update",
            &format!("revision {}", revision.number),
        )
        .await?;
        self.notify_webhooks(caller, env, "updated", Some(revision.number), None);
        Ok(UpdateOutcome { revision, warnings })
    }

    /// Deletes an environment (refused while deletion protection is on).
    pub async fn delete(&self, caller: &Caller, env: &EnvRef) -> ServiceResult<()> {
        check_env_ref(env)?;
        self.require(caller, env, Permission::Admin)?;
        // the hooks go with the environment: found before it
        let hooks = self.deletion_targets(caller, env).await;
        self.inner
            .store
            .delete_environment(env)
            .await
            .map_err(|error| with_env_name(error, env))?;
        self.inner.sessions.forget_environment(env);
        self.inner.results.forget_environment(env);
        self.audit(caller, env, "environment.delete", "").await?;
        self.notify_deletion(hooks);
        Ok(())
    }

    /// Copies `source` to a new environment `target` in the same
    /// organization, re-sealing secrets with the new environment's key.
    pub async fn clone_environment(
        &self,
        caller: &Caller,
        source: &EnvRef,
        target: &EnvRef,
        options: CloneOptions,
    ) -> ServiceResult<Environment> {
        check_env_ref(source)?;
        check_env_ref(target)?;
        if source.org != target.org {
            return Err(ServiceError::invalid(
                "an environment can only be cloned within its organization",
            ));
        }
        self.require(caller, source, Permission::Open)?;
        self.require(caller, target, Permission::Write)?;
        let reencrypt = |from: &EnvironmentCipher, to: &EnvironmentCipher, yaml: &[u8]| {
            let invalid = |reason: String| StoreError::Invalid { reason };
            let text = std::str::from_utf8(yaml)
                .map_err(|_| invalid("a stored definition is not UTF-8".into()))?;
            let resealed = reseal_ciphertexts(text, |envelope| {
                let plaintext = open_secret(from, envelope).map_err(|error| error.to_string())?;
                seal_secret(to, plaintext.expose()).map_err(|error| error.to_string())
            })
            .map_err(|error| invalid(format!("re-sealing secrets: {error}")))?;
            Ok(resealed.into_bytes())
        };
        let created = self
            .inner
            .store
            .clone_environment(
                source,
                target,
                &esc_store::CloneOptions {
                    preserve_history: options.preserve_history,
                    preserve_environment_tags: options.preserve_environment_tags,
                    preserve_revision_tags: options.preserve_revision_tags,
                    source_revision: options.source_revision,
                },
                &caller.author(),
                &reencrypt,
            )
            .await
            .map_err(|error| match error {
                StoreError::NotFound { what } if what.contains(&source.to_string()) => {
                    ServiceError::NotFound {
                        what: format!("environment '{source}'"),
                    }
                }
                other => with_env_name(other, target),
            })?;
        self.audit(
            caller,
            target,
            "environment.clone",
            &format!("from {source}"),
        )
        .await?;
        Ok(created)
    }

    // ---- evaluation ----

    /// Checks a definition given as text (not stored) inside `org`.
    pub async fn check(
        &self,
        caller: &Caller,
        org: &str,
        yaml: &str,
        show_secrets: bool,
    ) -> ServiceResult<CheckOutcome> {
        check_org(org)?;
        self.require(caller, org, Permission::Read)?;
        self.check_size(yaml)?;
        let (definition, mut diagnostics) = esc_eval::load_definition("<yaml>", yaml);
        let Some(definition) = definition else {
            return Err(ServiceError::Diagnostics { diagnostics });
        };
        if has_errors(&diagnostics) {
            return Err(ServiceError::Diagnostics { diagnostics });
        }
        let session = self.session(caller, org, Arc::new(NoDecrypter));
        let evaluation = esc_eval::evaluate(&definition, Mode::Check { show_secrets }, &session)
            .await
            .map_err(|error| ServiceError::Internal(error.to_string()))?;
        diagnostics.extend_from_slice(evaluation.diagnostics());
        if has_errors(&diagnostics) {
            return Err(ServiceError::Diagnostics { diagnostics });
        }
        let mut environment = environment_json(&evaluation);
        if !show_secrets {
            hide_secrets(&mut environment);
        }
        // `exprs` only here (esc env get builds "Defined at" from them),
        // redacted like the properties (see check_exprs).
        let exprs = evaluation
            .full_environment()
            .map(|full| crate::check_exprs::prepare(full.exprs, show_secrets))
            .unwrap_or_default();
        if !exprs.is_empty()
            && let PlainValue::Object(map) = &mut environment
        {
            let mut exprs = PlainValue::Object(exprs);
            complete_ranges(&mut exprs);
            map.insert("exprs".to_owned(), exprs);
        }
        Ok(CheckOutcome {
            environment,
            warnings: diagnostics,
        })
    }

    /// Evaluates a revision fully and keeps the result as a session.
    pub async fn open(
        &self,
        caller: &Caller,
        env: &EnvRef,
        version: &Version,
        duration: Option<Duration>,
    ) -> ServiceResult<OpenedSession> {
        check_env_ref(env)?;
        self.require(caller, env, Permission::Open)?;
        let duration = self.open_duration(duration)?;
        let key = ResultKey {
            env: env.clone(),
            version: version.clone(),
            login: caller.login.clone(),
        };
        let remembered = match self.inner.results.lookup(&key) {
            Some(cached) => {
                if let Some(opened) = self.open_pinned(caller, env, &cached, duration).await? {
                    return Ok(opened);
                }
                self.current_result(caller, &key, cached).await?
            }
            None => None,
        };
        let (revision, cipher, result, shared) = match remembered {
            Some(cached) => {
                let Some(root) = cached.dependencies.first() else {
                    return Err(ServiceError::Internal(
                        "a remembered result without its environment".into(),
                    ));
                };
                (
                    root.resolved.number,
                    cached.cipher.clone(),
                    cached.result.clone(),
                    Some(cached),
                )
            }
            None => self.evaluate_for_open(caller, key).await?,
        };
        let expires =
            Timestamp::now().plus_millis(i64::try_from(duration.as_millis()).unwrap_or(i64::MAX));
        // the session and its audit event in one transaction
        let event = audit_event(
            caller,
            env,
            "environment.open",
            &format!("revision {revision}"),
        );
        let id = match shared {
            Some(cached) => {
                self.create_shared_session(env, &cached, revision, expires, &event)
                    .await?
            }
            None => self
                .inner
                .store
                .create_session(
                    env,
                    &cipher,
                    revision,
                    result.json.as_bytes(),
                    expires,
                    Some(&event),
                )
                .await
                .map_err(|error| with_env_name(error, env))?,
        };
        self.inner.sessions.insert(&id, env, expires, result);
        Ok(OpenedSession {
            id,
            revision,
            expires,
        })
    }

    /// Opens a remembered result in one store write, when its stored copy
    /// is kept long enough: the session is written only while every
    /// selector it was evaluated from still names the revision it read
    /// then (the pins, checked by the write itself, as `current_result`
    /// checks them with a read first). `None` when that could not be done
    /// (a pin moved, the stored copy is gone, the caller lost read on the
    /// imports, too many imports): the caller takes the checked path.
    async fn open_pinned(
        &self,
        caller: &Caller,
        env: &EnvRef,
        cached: &CachedResult,
        duration: Duration,
    ) -> ServiceResult<Option<OpenedSession>> {
        let Some(root) = cached.dependencies.first() else {
            return Ok(None);
        };
        if cached.dependencies.len() > esc_store::MAX_PINS
            || (cached.has_imports() && !self.may_read_imports(caller, &env.org))
        {
            return Ok(None);
        }
        let expires =
            Timestamp::now().plus_millis(i64::try_from(duration.as_millis()).unwrap_or(i64::MAX));
        let Some(result_id) = cached.stored.usable_until(expires) else {
            return Ok(None);
        };
        let pins: Vec<Pin<'_>> = cached
            .dependencies
            .iter()
            .map(|dependency| Pin {
                env: &dependency.env,
                at: revision_at(&dependency.version),
                resolved: &dependency.resolved,
            })
            .collect();
        let revision = root.resolved.number;
        let event = audit_event(
            caller,
            env,
            "environment.open",
            &format!("revision {revision}"),
        );
        let written = self
            .inner
            .store
            .create_shared_session(
                env,
                &cached.cipher,
                revision,
                SharedResult::StoredWhile {
                    result_id: &result_id,
                    pins: &pins,
                },
                expires,
                Some(&event),
            )
            .await;
        match written {
            Ok(session) => {
                self.inner
                    .sessions
                    .insert(&session.id, env, expires, cached.result.clone());
                Ok(Some(OpenedSession {
                    id: session.id,
                    revision,
                    expires,
                }))
            }
            Err(StoreError::NotFound { .. }) => Ok(None),
            Err(other) => Err(with_env_name(other, env)),
        }
    }

    /// Stores a session of a remembered result: pointing to the result
    /// already in the store if it is kept long enough, else storing it for
    /// this session and those of the next [`SHARED_RESULT_WINDOW`] (an
    /// open then writes a small row and its audit event, not the sealed
    /// result).
    async fn create_shared_session(
        &self,
        env: &EnvRef,
        cached: &CachedResult,
        revision: u64,
        expires: Timestamp,
        event: &NewAuditEvent,
    ) -> ServiceResult<String> {
        let store = &self.inner.store;
        if let Some(result_id) = cached.stored.usable_until(expires) {
            match store
                .create_shared_session(
                    env,
                    &cached.cipher,
                    revision,
                    SharedResult::Stored(&result_id),
                    expires,
                    Some(event),
                )
                .await
            {
                Ok(session) => return Ok(session.id),
                // purged meanwhile (or the environment is gone): store it
                // again below, which tells the two apart
                Err(StoreError::NotFound { .. }) => cached.stored.forget(&result_id),
                Err(other) => return Err(with_env_name(other, env)),
            }
        }
        let keep_until = expires
            .plus_millis(i64::try_from(SHARED_RESULT_WINDOW.as_millis()).unwrap_or(i64::MAX));
        let session = store
            .create_shared_session(
                env,
                &cached.cipher,
                revision,
                SharedResult::New {
                    result: cached.result.json.as_bytes(),
                    keep_until,
                },
                expires,
                Some(event),
            )
            .await
            .map_err(|error| with_env_name(error, env))?;
        // only now: a session pointing to it before its commit could be
        // left pointing to nothing if that commit failed
        cached.stored.remember(session.result_id, keep_until);
        Ok(session.id)
    }

    /// `cached` if every selector it was evaluated from still names the
    /// revision it read then (one store statement) and the caller may still
    /// read the imports; otherwise `None`, and the entry is forgotten.
    async fn current_result(
        &self,
        caller: &Caller,
        key: &ResultKey,
        cached: Arc<CachedResult>,
    ) -> ServiceResult<Option<Arc<CachedResult>>> {
        // the loader's check, for the imports it does not load now
        if cached.has_imports() && !self.may_read_imports(caller, &key.env.org) {
            return Ok(None);
        }
        let targets: Vec<(EnvRef, RevisionAt<'_>)> = cached
            .dependencies
            .iter()
            .map(|dependency| (dependency.env.clone(), revision_at(&dependency.version)))
            .collect();
        let now = self.inner.store.resolve_revisions(&targets).await?;
        if cached.is_current(&now) {
            Ok(Some(cached))
        } else {
            self.inner.results.remove(key);
            Ok(None)
        }
    }

    /// Whether `caller` may read the environments of `org` a remembered
    /// result imported (the loader checks this when it loads them).
    fn may_read_imports(&self, caller: &Caller, org: &str) -> bool {
        self.import_policy(caller, org)
            .role(&caller.login, org)
            .is_some_and(|role| role.grants(Permission::Read))
    }

    /// Reads and evaluates the revision `key` names; remembers the result
    /// when no provider or rotator was asked for. Returns the revision
    /// number, the environment's cipher, the result and, when remembered,
    /// the remembered entry.
    async fn evaluate_for_open(
        &self,
        caller: &Caller,
        key: ResultKey,
    ) -> ServiceResult<(
        u64,
        Arc<EnvironmentCipher>,
        SessionResult,
        Option<Arc<CachedResult>>,
    )> {
        let env = &key.env;
        // the definition and the data key in one statement
        let (content, cipher) = self
            .inner
            .store
            .revision_with_cipher(env, revision_at(&key.version))
            .await
            .map_err(|error| with_env_name(error, env))?;
        let cipher = Arc::new(cipher);
        let (evaluation, imports) = self
            .evaluate_stored_recorded(caller, env, &content, Mode::Eval, cipher.clone())
            .await?;
        let result = session_result(&evaluation)?;
        let revision = content.revision.number;
        if let Some(imports) = imports {
            let mut dependencies = Vec::with_capacity(imports.len() + 1);
            dependencies.push(Dependency {
                env: env.clone(),
                version: key.version.clone(),
                resolved: ResolvedRevision {
                    environment_id: cipher.environment_id().to_owned(),
                    number: revision,
                },
            });
            dependencies.extend(imports);
            let cached = Arc::new(CachedResult {
                dependencies,
                cipher: cipher.clone(),
                result: result.clone(),
                stored: Default::default(),
            });
            self.inner.results.insert(key, cached.clone());
            return Ok((revision, cipher, result, Some(cached)));
        }
        Ok((revision, cipher, result, None))
    }

    /// An opened environment's JSON, or the `Value` JSON at `property`.
    pub async fn read_session(
        &self,
        caller: &Caller,
        env: &EnvRef,
        session_id: &str,
        property: Option<&str>,
    ) -> ServiceResult<PlainValue> {
        let found = self
            .session_result(caller, env, session_id, property)
            .await?;
        match property {
            Some(property) => property_of(&**found.value()?, property),
            None => Ok(PlainValue::clone(&**found.value()?)),
        }
    }

    /// As [`Service::read_session`], serialized: what the API answers. The
    /// whole environment is the JSON text kept when it was opened (neither
    /// parsed nor re-encoded).
    pub async fn read_session_json(
        &self,
        caller: &Caller,
        env: &EnvRef,
        session_id: &str,
        property: Option<&str>,
    ) -> ServiceResult<String> {
        self.session_result(caller, env, session_id, property)
            .await?
            .json_at(property)
    }

    /// A session's result, from memory if this process opened it, else from
    /// the store.
    async fn session_result(
        &self,
        caller: &Caller,
        env: &EnvRef,
        session_id: &str,
        property: Option<&str>,
    ) -> ServiceResult<FoundSession> {
        check_env_ref(env)?;
        self.require(caller, env, Permission::Open)?;
        self.found_session(env, session_id, property).await
    }

    /// As [`Service::session_result`], without the caller's checks.
    async fn found_session(
        &self,
        env: &EnvRef,
        session_id: &str,
        property: Option<&str>,
    ) -> ServiceResult<FoundSession> {
        if let Some(property) = property {
            // a malformed path is the caller's mistake whatever the session
            parse_property_path(property)?;
        }
        if let Some(cached) = self.inner.sessions.lookup(session_id, env) {
            return Ok(FoundSession::Cached(cached));
        }
        let bytes =
            self.inner
                .store
                .session(env, session_id)
                .await
                .map_err(|error| match error {
                    StoreError::NotFound { .. } => ServiceError::NotFound {
                        what: "open session (unknown or expired)".into(),
                    },
                    other => other.into(),
                })?;
        Ok(FoundSession::Stored(bytes))
    }

    /// Rotates the selected rotators (all when `paths` is empty), writes the
    /// new states back as a new revision and records the event.
    pub async fn rotate(
        &self,
        caller: &Caller,
        env: &EnvRef,
        paths: &[String],
    ) -> ServiceResult<RotationOutcome> {
        check_env_ref(env)?;
        self.require(caller, env, Permission::Write)?;
        self.rotate_unchecked(caller, env, paths, None).await
    }

    /// [`Service::rotate`] after its access check (the scheduler's runs
    /// come here), recording `schedule_id` with the event.
    async fn rotate_unchecked(
        &self,
        caller: &Caller,
        env: &EnvRef,
        paths: &[String],
        schedule_id: Option<&str>,
    ) -> ServiceResult<RotationOutcome> {
        let created = Timestamp::now();
        let normalized = paths
            .iter()
            .map(|path| esc_eval::normalize_rotate_path(path).map_err(ServiceError::invalid))
            .collect::<ServiceResult<Vec<_>>>()?;
        let content = revision_content(&*self.inner.store, env, &Version::Latest)
            .await
            .map_err(|error| with_env_name(error, env))?;
        let cipher = Arc::new(self.inner.store.environment_cipher(env).await?);
        let write_cipher = cipher.clone();
        let evaluation = self
            .evaluate_stored(
                caller,
                env,
                &content,
                Mode::Rotate { paths: normalized },
                cipher,
            )
            .await?;
        let rotations: Vec<PathRotation> = evaluation
            .rotations()
            .iter()
            .map(|record| {
                let failed = record.status != esc_eval::RotationStatus::Succeeded;
                PathRotation {
                    path: record
                        .path
                        .strip_prefix("values.")
                        .unwrap_or(&record.path)
                        .to_owned(),
                    status: if failed {
                        RotationStatus::Failed
                    } else {
                        RotationStatus::Succeeded
                    },
                    error_message: failed.then(|| {
                        let summaries: Vec<&str> =
                            record.diags.iter().map(|d| d.summary.as_str()).collect();
                        if summaries.is_empty() {
                            record.status.as_str().to_owned()
                        } else {
                            summaries.join("; ")
                        }
                    }),
                }
            })
            .collect();
        let patches = evaluation.patches();
        let any_failed = rotations
            .iter()
            .any(|rotation| rotation.status == RotationStatus::Failed);
        // A failed write-back (e.g. someone edited the environment meanwhile)
        // fails the event: the old state stays in the definition.
        let (post_rotation_revision, error_message) = if patches.is_empty() {
            (None, None)
        } else {
            match self
                .write_back(caller, env, &content, &patches, &write_cipher)
                .await
            {
                Ok(revision) => (Some(revision.number), None),
                Err(error) => (
                    None,
                    Some(format!("writing the rotated state back failed: {error}")),
                ),
            }
        };
        let event = NewRotationEvent {
            created,
            completed: Some(Timestamp::now()),
            pre_rotation_revision: content.revision.number,
            post_rotation_revision,
            user: caller.login.clone(),
            status: if any_failed || error_message.is_some() {
                RotationStatus::Failed
            } else {
                RotationStatus::Succeeded
            },
            error_message,
            schedule_id: schedule_id.map(str::to_owned),
            rotations,
        };
        let event = self.inner.store.record_rotation_event(env, &event).await?;
        self.audit(
            caller,
            env,
            "environment.rotate",
            &format!("revision {}", content.revision.number),
        )
        .await?;
        let kind = if event.event.status == RotationStatus::Succeeded {
            "rotated"
        } else {
            "rotation_failed"
        };
        let revision = event
            .event
            .post_rotation_revision
            .unwrap_or(event.event.pre_rotation_revision);
        self.notify_webhooks(caller, env, kind, Some(revision), None);
        Ok(RotationOutcome { event })
    }

    /// Writes rotated states into the definition read for the rotation and
    /// stores it as the next revision (only if nothing changed meanwhile).
    async fn write_back(
        &self,
        caller: &Caller,
        env: &EnvRef,
        content: &RevisionContent,
        patches: &[esc_eval::Patch],
        cipher: &EnvironmentCipher,
    ) -> ServiceResult<Revision> {
        let mut text = utf8(&content.yaml)?.to_owned();
        for patch in patches {
            // `state:` must be a mapping (a secret one is written as a
            // `fn::fromJSON` mapping): anything else would leave an
            // environment that no longer loads.
            if !matches!(patch.replacement.unwrap_secret(), PlainValue::Object(_)) {
                return Err(ServiceError::invalid(
                    "the new state is not a mapping: a rotation state in a definition must be one",
                ));
            }
            // A `fn::` key would read back as a call the rotator chose.
            if let Some(key) = patch.reserved_key() {
                return Err(ServiceError::invalid(format!(
                    "the new state has the key {key:?}: keys starting with 'fn::' cannot be written into a definition"
                )));
            }
            text = esc_syntax::edit::set_value(&text, &patch.doc_path, &patch.edit_value())?;
        }
        let sealed = seal_secrets(&text, cipher)?;
        let revision = self
            .inner
            .store
            .update_environment(
                env,
                sealed.as_bytes(),
                Some(content.revision.number),
                &caller.author(),
            )
            .await?;
        self.audit(
            caller,
            env,
            "environment.update",
            &format!("revision {} (rotation)", revision.number),
        )
        .await?;
        Ok(revision)
    }

    // ---- revisions ----

    /// Revisions newest first, numbers below `before` when given.
    pub async fn revisions(
        &self,
        caller: &Caller,
        env: &EnvRef,
        before: Option<u64>,
        count: u32,
    ) -> ServiceResult<Vec<Revision>> {
        self.environment(caller, env).await?;
        Ok(self.inner.store.list_revisions(env, before, count).await?)
    }

    /// Retracts a revision.
    pub async fn retract(
        &self,
        caller: &Caller,
        env: &EnvRef,
        version: &Version,
        replacement: Option<u64>,
        reason: &str,
    ) -> ServiceResult<Revision> {
        check_env_ref(env)?;
        self.require(caller, env, Permission::Admin)?;
        let number = self.resolve(env, version).await?;
        let revision = self
            .inner
            .store
            .retract_revision(env, number, replacement, reason, &caller.author())
            .await
            .map_err(|error| with_env_name(error, env))?;
        self.audit(
            caller,
            env,
            "revision.retract",
            &format!("revision {number}"),
        )
        .await?;
        Ok(revision)
    }

    /// The revision an `If-Match` etag names for a write of `env` (`None`
    /// without one), after finding the environment (NotFound named).
    async fn expected_revision(
        &self,
        env: &EnvRef,
        if_match: Option<&str>,
    ) -> ServiceResult<Option<u64>> {
        let meta = self
            .inner
            .store
            .environment(env)
            .await
            .map_err(|error| with_env_name(error, env))?;
        if_match.map(|tag| parse_etag(tag, &meta.id)).transpose()
    }

    /// Writes an older revision's definition again as the newest.
    pub async fn rollback(
        &self,
        caller: &Caller,
        env: &EnvRef,
        version: &Version,
        if_match: Option<&str>,
    ) -> ServiceResult<Revision> {
        check_env_ref(env)?;
        self.require(caller, env, Permission::Write)?;
        let expected = self.expected_revision(env, if_match).await?;
        let number = self.resolve(env, version).await?;
        let revision = self
            .inner
            .store
            .rollback(env, number, expected, &caller.author())
            .await
            .map_err(|error| with_env_name(error, env))?;
        self.audit(
            caller,
            env,
            "environment.rollback",
            &format!("to revision {number} as {}", revision.number),
        )
        .await?;
        self.notify_webhooks(caller, env, "updated", Some(revision.number), None);
        Ok(revision)
    }

    // ---- revision tags ----

    /// Revision tags by name after `after`.
    pub async fn revision_tags(
        &self,
        caller: &Caller,
        env: &EnvRef,
        after: Option<&str>,
        count: u32,
    ) -> ServiceResult<Vec<RevisionTag>> {
        self.environment(caller, env).await?;
        Ok(self
            .inner
            .store
            .list_revision_tags(env, after, count)
            .await?)
    }

    /// One revision tag.
    pub async fn revision_tag(
        &self,
        caller: &Caller,
        env: &EnvRef,
        name: &str,
    ) -> ServiceResult<RevisionTag> {
        self.environment(caller, env).await?;
        Ok(self.inner.store.revision_tag(env, name).await?)
    }

    /// Tags a revision (default: the newest).
    pub async fn create_revision_tag(
        &self,
        caller: &Caller,
        env: &EnvRef,
        name: &str,
        revision: Option<u64>,
    ) -> ServiceResult<RevisionTag> {
        self.writable(caller, env).await?;
        check_tag_name(name)?;
        let tag = self
            .inner
            .store
            .create_revision_tag(env, name, revision, &caller.author())
            .await?;
        self.audit(
            caller,
            env,
            "revision_tag.create",
            &format!("{name} -> {}", tag.revision),
        )
        .await?;
        self.notify_webhooks(caller, env, "tagged", Some(tag.revision), Some(name));
        Ok(tag)
    }

    /// Moves a revision tag.
    pub async fn update_revision_tag(
        &self,
        caller: &Caller,
        env: &EnvRef,
        name: &str,
        revision: u64,
    ) -> ServiceResult<RevisionTag> {
        self.writable(caller, env).await?;
        let tag = self
            .inner
            .store
            .update_revision_tag(env, name, revision, &caller.author())
            .await?;
        self.audit(
            caller,
            env,
            "revision_tag.update",
            &format!("{name} -> {revision}"),
        )
        .await?;
        self.notify_webhooks(caller, env, "tagged", Some(revision), Some(name));
        Ok(tag)
    }

    /// Deletes a revision tag.
    pub async fn delete_revision_tag(
        &self,
        caller: &Caller,
        env: &EnvRef,
        name: &str,
    ) -> ServiceResult<()> {
        self.writable(caller, env).await?;
        self.inner.store.delete_revision_tag(env, name).await?;
        self.audit(caller, env, "revision_tag.delete", name).await?;
        self.notify_webhooks(caller, env, "tagged", None, Some(name));
        Ok(())
    }

    // ---- environment tags ----

    /// Environment tags by name, after a page token.
    pub async fn environment_tags(
        &self,
        caller: &Caller,
        env: &EnvRef,
        page_token: Option<&str>,
        count: u32,
    ) -> ServiceResult<Page<EnvironmentTag>> {
        self.environment(caller, env).await?;
        Ok(self
            .inner
            .store
            .list_environment_tags(env, page_token, count)
            .await?)
    }

    /// One environment tag.
    pub async fn environment_tag(
        &self,
        caller: &Caller,
        env: &EnvRef,
        name: &str,
    ) -> ServiceResult<EnvironmentTag> {
        self.environment(caller, env).await?;
        Ok(self.inner.store.environment_tag(env, name).await?)
    }

    /// Adds a key/value tag.
    pub async fn create_environment_tag(
        &self,
        caller: &Caller,
        env: &EnvRef,
        name: &str,
        value: &str,
    ) -> ServiceResult<EnvironmentTag> {
        self.writable(caller, env).await?;
        if name.is_empty() || value.is_empty() {
            return Err(ServiceError::invalid(
                "a tag needs a non-empty name and value",
            ));
        }
        check_environment_tag(Some(name), Some(value))?;
        let tag = self
            .inner
            .store
            .create_environment_tag(env, name, value, &caller.author())
            .await?;
        self.audit(caller, env, "environment_tag.create", name)
            .await?;
        Ok(tag)
    }

    /// Renames and/or changes a tag.
    pub async fn update_environment_tag(
        &self,
        caller: &Caller,
        env: &EnvRef,
        name: &str,
        update: &EnvironmentTagUpdate,
    ) -> ServiceResult<EnvironmentTag> {
        self.writable(caller, env).await?;
        check_environment_tag(update.new_name.as_deref(), update.new_value.as_deref())?;
        let tag = self
            .inner
            .store
            .update_environment_tag(env, name, update, &caller.author())
            .await?;
        self.audit(caller, env, "environment_tag.update", name)
            .await?;
        Ok(tag)
    }

    /// Deletes a tag.
    pub async fn delete_environment_tag(
        &self,
        caller: &Caller,
        env: &EnvRef,
        name: &str,
    ) -> ServiceResult<()> {
        self.writable(caller, env).await?;
        self.inner.store.delete_environment_tag(env, name).await?;
        self.audit(caller, env, "environment_tag.delete", name)
            .await
    }

    // ---- settings ----

    /// Changes settings (admins only).
    pub async fn update_settings(
        &self,
        caller: &Caller,
        env: &EnvRef,
        update: &SettingsUpdate,
    ) -> ServiceResult<Environment> {
        check_env_ref(env)?;
        self.require(caller, env, Permission::Admin)?;
        let updated = self
            .inner
            .store
            .update_settings(env, update)
            .await
            .map_err(|error| with_env_name(error, env))?;
        self.audit(
            caller,
            env,
            "environment.settings",
            &format!("deletionProtected={}", updated.deletion_protected),
        )
        .await?;
        Ok(updated)
    }

    // ---- helpers ----

    fn allowed<'a>(
        &self,
        caller: &Caller,
        scope: impl Into<Scope<'a>>,
        permission: Permission,
    ) -> bool {
        self.inner.access.allows(
            &caller.login,
            self.inner.grants.current(&caller.login).as_deref(),
            scope.into(),
            permission,
        )
    }

    fn require<'a>(
        &self,
        caller: &Caller,
        scope: impl Into<Scope<'a>>,
        permission: Permission,
    ) -> ServiceResult<()> {
        let scope = scope.into();
        if self.allowed(caller, scope, permission) {
            return Ok(());
        }
        let permission = match permission {
            Permission::Read => "read",
            Permission::Open => "open",
            Permission::Write => "write",
            Permission::Admin => "admin",
        };
        Err(ServiceError::forbidden(match scope {
            Scope::Organization(org) => format!(
                "'{}' lacks {permission} permission in organization '{org}'",
                caller.login
            ),
            Scope::Environment(env) => format!(
                "'{}' lacks {permission} permission on environment '{}/{}' in organization '{}'",
                caller.login, env.project, env.name, env.org
            ),
        }))
    }

    /// Loads the caller's stored memberships and grants unless they were
    /// loaded less than the token cache's time to live ago.
    async fn refresh_access(&self, login: &str) -> ServiceResult<()> {
        if self.inner.grants.fresh(login).is_none() {
            let stored = self.inner.store.user_access(login).await?;
            self.inner.grants.insert(login, stored);
        }
        Ok(())
    }

    async fn writable(&self, caller: &Caller, env: &EnvRef) -> ServiceResult<()> {
        check_env_ref(env)?;
        self.require(caller, env, Permission::Write)?;
        self.inner
            .store
            .environment(env)
            .await
            .map_err(|error| with_env_name(error, env))?;
        Ok(())
    }

    async fn ensure_org(&self, org: &str) -> ServiceResult<()> {
        match self.inner.store.organization(org).await {
            Ok(_) => Ok(()),
            Err(StoreError::NotFound { .. }) => {
                match self.inner.store.create_organization(org).await {
                    Ok(_) | Err(StoreError::AlreadyExists { .. }) => Ok(()),
                    Err(other) => Err(other.into()),
                }
            }
            Err(other) => Err(other.into()),
        }
    }

    async fn resolve(&self, env: &EnvRef, version: &Version) -> ServiceResult<u64> {
        Ok(match version {
            Version::Number(number) => *number,
            Version::Latest => {
                self.inner
                    .store
                    .environment(env)
                    .await
                    .map_err(|error| with_env_name(error, env))?
                    .latest_revision
            }
            Version::Tag(tag) => self.inner.store.revision_tag(env, tag).await?.revision,
        })
    }

    /// The duration of an open: the default when `None`; positive and at
    /// most the configured maximum.
    fn open_duration(&self, duration: Option<Duration>) -> ServiceResult<Duration> {
        let duration = duration.unwrap_or(self.inner.config.default_open_duration);
        if duration.is_zero() || duration > self.inner.config.max_open_duration {
            return Err(ServiceError::invalid(format!(
                "the open duration must be positive and at most {}s",
                self.inner.config.max_open_duration.as_secs()
            )));
        }
        Ok(duration)
    }

    fn check_size(&self, yaml: &str) -> ServiceResult<()> {
        if yaml.len() > self.inner.config.max_definition_bytes {
            return Err(ServiceError::invalid(format!(
                "the definition is {} bytes; the limit is {}",
                yaml.len(),
                self.inner.config.max_definition_bytes
            )));
        }
        Ok(())
    }

    /// The access policy imports of `org` are loaded with for `caller`.
    fn import_policy(&self, caller: &Caller, org: &str) -> AccessPolicy {
        schedules::import_policy(
            self.inner
                .access
                .with_stored(self.inner.grants.current(&caller.login).as_deref()),
            caller,
            org,
        )
    }

    fn session(
        &self,
        caller: &Caller,
        org: &str,
        decrypter: Arc<dyn esc_eval::Decrypter>,
    ) -> Session {
        self.recorded_session(caller, org, decrypter).0
    }

    /// A session whose loaders note what the evaluation reads: the imports
    /// it loaded and whether it asked for a provider or rotator.
    fn recorded_session(
        &self,
        caller: &Caller,
        org: &str,
        decrypter: Arc<dyn esc_eval::Decrypter>,
    ) -> (
        Session,
        Arc<StoreEnvironmentLoader>,
        Arc<RecordingProviders>,
    ) {
        let environments = Arc::new(StoreEnvironmentLoader {
            store: self.inner.store.clone(),
            policy: Arc::new(self.import_policy(caller, org)),
            org: org.to_owned(),
            login: caller.login.clone(),
            definitions: self.inner.definitions.clone(),
            loaded: Default::default(),
        });
        let providers = Arc::new(RecordingProviders {
            inner: self.inner.providers.clone(),
            asked: Default::default(),
        });
        let session = Session {
            providers: providers.clone(),
            environments: environments.clone(),
            decrypter,
            context: PlainValue::object([(
                "pulumi",
                PlainValue::object([
                    (
                        "user",
                        PlainValue::object([("login", PlainValue::string(&caller.login))]),
                    ),
                    (
                        "organization",
                        PlainValue::object([("login", PlainValue::string(org))]),
                    ),
                ]),
            )]),
            limits: esc_eval::Limits::default(),
        };
        (session, environments, providers)
    }

    /// Parse + check-mode evaluation of a definition about to be stored.
    /// `yaml` validated as a new definition of `env` (its warnings), and its
    /// text with plaintext secrets sealed: what an update or a draft stores.
    async fn validated_and_sealed(
        &self,
        caller: &Caller,
        env: &EnvRef,
        yaml: &str,
    ) -> ServiceResult<(String, Vec<Diagnostic>)> {
        let cipher = Arc::new(self.inner.store.environment_cipher(env).await?);
        let mut warnings = self
            .validate(
                caller,
                env,
                yaml,
                Arc::new(EnvironmentDecrypter {
                    cipher: cipher.clone(),
                }),
            )
            .await?;
        // later documents are never evaluated nor sealed: stored, a secret
        // in one would stay in plaintext
        let later = later_documents(yaml).map_err(|error| {
            ServiceError::invalid(format!("the definition is not valid YAML: {error}"))
        })?;
        let yaml = match later {
            Some((start, line)) => {
                warnings.push(Diagnostic::warning(
                    format!(
                        "only the first YAML document is kept: the documents from line {line} on were dropped (they are never evaluated)"
                    ),
                    None,
                    "",
                ));
                &yaml[..start]
            }
            None => yaml,
        };
        Ok((seal_secrets(yaml, &cipher)?, warnings))
    }

    async fn validate(
        &self,
        caller: &Caller,
        env: &EnvRef,
        yaml: &str,
        decrypter: Arc<dyn esc_eval::Decrypter>,
    ) -> ServiceResult<Vec<Diagnostic>> {
        let name = format!("{}/{}", env.project, env.name);
        let (definition, mut diagnostics) = esc_eval::load_definition(&name, yaml);
        let Some(definition) = definition else {
            return Err(ServiceError::Diagnostics { diagnostics });
        };
        if has_errors(&diagnostics) {
            return Err(ServiceError::Diagnostics { diagnostics });
        }
        let session = self.session(caller, &env.org, decrypter);
        let evaluation = esc_eval::evaluate(
            &definition,
            Mode::Check {
                show_secrets: false,
            },
            &session,
        )
        .await
        .map_err(|error| ServiceError::invalid(error.to_string()))?;
        diagnostics.extend_from_slice(evaluation.diagnostics());
        if has_errors(&diagnostics) {
            return Err(ServiceError::Diagnostics { diagnostics });
        }
        Ok(diagnostics)
    }

    async fn evaluate_stored(
        &self,
        caller: &Caller,
        env: &EnvRef,
        content: &RevisionContent,
        mode: Mode,
        cipher: Arc<esc_store::EnvironmentCipher>,
    ) -> ServiceResult<Evaluation> {
        let (evaluation, _) = self
            .evaluate_stored_recorded(caller, env, content, mode, cipher)
            .await?;
        Ok(evaluation)
    }

    /// As [`Service::evaluate_stored`], with the imports the evaluation
    /// loaded, or `None` when it asked for a provider or rotator (its result
    /// is then not a function of the revisions it read).
    async fn evaluate_stored_recorded(
        &self,
        caller: &Caller,
        env: &EnvRef,
        content: &RevisionContent,
        mode: Mode,
        cipher: Arc<esc_store::EnvironmentCipher>,
    ) -> ServiceResult<(Evaluation, Option<Vec<Dependency>>)> {
        let name = format!("{}/{}", env.project, env.name);
        let parsed = self.inner.definitions.parsed(
            &env.org,
            &name,
            content.revision.number,
            utf8(&content.yaml)?,
        );
        let mut diagnostics = parsed.diagnostics().to_vec();
        let Some(definition) = parsed.definition() else {
            return Err(ServiceError::Diagnostics { diagnostics });
        };
        if has_errors(&diagnostics) {
            return Err(ServiceError::Diagnostics { diagnostics });
        }
        let (session, environments, providers) =
            self.recorded_session(caller, &env.org, Arc::new(EnvironmentDecrypter { cipher }));
        let evaluation = esc_eval::evaluate(&definition, mode, &session)
            .await
            .map_err(|error| ServiceError::invalid(error.to_string()))?;
        let imports = (!providers.asked()).then(|| environments.loaded());
        diagnostics.extend_from_slice(evaluation.diagnostics());
        // A rotator's failure is the outcome of its rotation (reported in the
        // event and the history, CONNECT.md §2), not a fault of the definition.
        let rotation_failures: Vec<&Diagnostic> = evaluation
            .rotations()
            .iter()
            .flat_map(|record| &record.diags)
            .collect();
        if diagnostics.iter().any(|diagnostic| {
            diagnostic.severity == Severity::Error && !rotation_failures.contains(&diagnostic)
        }) {
            return Err(ServiceError::Diagnostics { diagnostics });
        }
        Ok((evaluation, imports))
    }

    async fn audit(
        &self,
        caller: &Caller,
        env: &EnvRef,
        action: &str,
        detail: &str,
    ) -> ServiceResult<()> {
        self.inner
            .store
            .append_audit_event(&audit_event(caller, env, action, detail))
            .await?;
        Ok(())
    }
}

/// A session's result as found.
enum FoundSession {
    Cached(SessionResult),
    /// The JSON text from the store.
    Stored(Plaintext),
}

impl FoundSession {
    fn value(&self) -> ServiceResult<Arc<SecretEnvironment>> {
        match self {
            Self::Cached(result) => Ok(result.value.clone()),
            Self::Stored(bytes) => PlainValue::from_json_document(utf8(bytes)?)
                .map(|value| Arc::new(SecretEnvironment(value)))
                .map_err(|error| ServiceError::Internal(format!("decoding a session: {error}"))),
        }
    }

    fn json(&self) -> ServiceResult<&str> {
        match self {
            Self::Cached(result) => Ok(&result.json),
            Self::Stored(bytes) => utf8(bytes),
        }
    }

    /// What a session read answers: the whole environment's JSON text as
    /// kept, or the `Value` JSON at `property`.
    fn json_at(&self, property: Option<&str>) -> ServiceResult<String> {
        match property {
            Some(property) => property_of(&**self.value()?, property)?
                .to_json()
                .map_err(not_json),
            None => Ok(self.json()?.to_owned()),
        }
    }
}

/// The value at `property` of an environment, or `NotFound`.
fn property_of(environment: &PlainValue, property: &str) -> ServiceResult<PlainValue> {
    let path = parse_property_path(property)?;
    lookup(environment, &path)
        .cloned()
        .ok_or_else(|| ServiceError::NotFound {
            what: format!(
                "property '{}'",
                property.chars().take(200).collect::<String>()
            ),
        })
}

fn audit_event(caller: &Caller, env: &EnvRef, action: &str, detail: &str) -> NewAuditEvent {
    NewAuditEvent {
        time: Timestamp::now(),
        org: env.org.clone(),
        actor: caller.login.clone(),
        action: action.to_owned(),
        target: format!("{}/{}", env.project, env.name),
        detail: detail.to_owned(),
    }
}

/// Seals every plaintext `fn::secret` under `values` with `cipher`.
fn seal_secrets(yaml: &str, cipher: &EnvironmentCipher) -> ServiceResult<String> {
    esc_syntax::edit::encrypt_secrets(yaml, |plaintext| {
        seal_secret(cipher, plaintext.as_bytes())
            .map_err(|error| ServiceError::Internal(format!("sealing a secret: {error}")))
    })
}

/// Reads a revision by version selector.
pub(crate) async fn revision_content(
    store: &dyn Store,
    env: &EnvRef,
    version: &Version,
) -> Result<RevisionContent, StoreError> {
    match version {
        Version::Latest => store.tagged_revision(env, esc_store::LATEST_TAG).await,
        Version::Number(number) => store.revision(env, *number).await,
        Version::Tag(tag) => store.tagged_revision(env, tag).await,
    }
}

/// A version selector as the store names revisions.
pub(crate) fn revision_at(version: &Version) -> RevisionAt<'_> {
    match version {
        Version::Latest => RevisionAt::Tag(esc_store::LATEST_TAG),
        Version::Number(number) => RevisionAt::Number(*number),
        Version::Tag(tag) => RevisionAt::Tag(tag),
    }
}

/// The etag of revision `number` of the environment with id `env_id`.
fn etag(env_id: &str, number: u64) -> String {
    format!("{env_id}-{number}")
}

/// The revision an etag names; an etag of another environment (or a
/// re-created one) is a conflict. Tolerates quotes and `W/`.
fn parse_etag(tag: &str, env_id: &str) -> ServiceResult<u64> {
    let tag = tag.trim();
    let tag = tag.strip_prefix("W/").unwrap_or(tag);
    let tag = tag.trim_matches('"');
    tag.strip_prefix(env_id)
        .and_then(|rest| rest.strip_prefix('-'))
        .and_then(|number| number.parse::<u64>().ok())
        .ok_or_else(|| ServiceError::Conflict {
            reason: "the etag does not match the environment; read it again".into(),
        })
}

/// Longest environment tag name, in bytes: a name travels in URLs
/// (`E/tags/{name}`), which HTTP servers cap, so a longer one could be
/// stored but never read, changed or deleted.
const MAX_ENVIRONMENT_TAG_NAME: usize = 256;
/// Longest environment tag value, in bytes (tags are labels; every tag
/// comes back with each listing).
const MAX_ENVIRONMENT_TAG_VALUE: usize = 4096;

fn check_environment_tag(name: Option<&str>, value: Option<&str>) -> ServiceResult<()> {
    if let Some(name) = name {
        if name.len() > MAX_ENVIRONMENT_TAG_NAME {
            return Err(ServiceError::invalid(format!(
                "environment tag name is {} bytes long; at most {MAX_ENVIRONMENT_TAG_NAME} are allowed",
                name.len()
            )));
        }
        if name.chars().any(char::is_control) {
            return Err(ServiceError::invalid(
                "environment tag name contains a control character",
            ));
        }
    }
    if let Some(value) = value.filter(|value| value.len() > MAX_ENVIRONMENT_TAG_VALUE) {
        return Err(ServiceError::invalid(format!(
            "environment tag value is {} bytes long; at most {MAX_ENVIRONMENT_TAG_VALUE} are allowed",
            value.len()
        )));
    }
    Ok(())
}

fn check_tag_name(name: &str) -> ServiceResult<()> {
    if name.is_empty()
        || name.len() > 100
        || name == esc_store::LATEST_TAG
        || name == "tags"
        || name.as_bytes()[0].is_ascii_digit()
        || !name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
    {
        return Err(ServiceError::invalid(format!(
            "invalid revision tag name '{}': use letters, digits, '-', '_' or '.', not starting with a digit, and not 'latest' or 'tags'",
            name.chars().take(100).collect::<String>()
        )));
    }
    Ok(())
}

fn has_errors(diagnostics: &[Diagnostic]) -> bool {
    diagnostics
        .iter()
        .any(|diagnostic| diagnostic.severity == Severity::Error)
}

fn utf8(bytes: &Plaintext) -> ServiceResult<&str> {
    bytes
        .expose_str()
        .ok_or_else(|| ServiceError::Internal("stored text is not UTF-8".into()))
}

/// Names the environment in a not-found error the way the API shows it.
fn with_env_name(error: StoreError, env: &EnvRef) -> ServiceError {
    match error {
        StoreError::NotFound { what } if what.starts_with("environment") => {
            ServiceError::NotFound {
                what: format!("environment '{env}'"),
            }
        }
        StoreError::AlreadyExists { .. } => ServiceError::AlreadyExists {
            what: format!("environment '{env}'"),
        },
        other => other.into(),
    }
}

/// The Environment JSON of an evaluation: `{}` when it evaluated to
/// nothing; `exprs` never (no client reads them from opens).
/// What an open keeps of `evaluation`: the Environment JSON as a value
/// and as the text a whole-environment read answers.
fn session_result(evaluation: &Evaluation) -> ServiceResult<SessionResult> {
    let environment = environment_json(evaluation);
    let json = environment.to_json().map_err(not_json)?;
    Ok(SessionResult::new(environment, json))
}

/// The only values JSON cannot carry are numbers a definition wrote as
/// YAML's `.nan` and `.inf`: the definition's fault, so a 400 that says
/// how to mend it rather than a 500.
pub fn not_json(error: esc_eval::JsonError) -> ServiceError {
    ServiceError::invalid(format!(
        "the environment's values cannot be encoded as JSON: {error} (YAML's .nan and .inf are numbers JSON has no form for: quote them to make strings)"
    ))
}

fn environment_json(evaluation: &Evaluation) -> PlainValue {
    let mut json = environment_json_raw(evaluation);
    complete_ranges(&mut json);
    json
}

/// Every range gets an `environment` (the Python SDK requires the key;
/// the evaluator omits it for values of no document, like the context).
fn complete_ranges(value: &mut PlainValue) {
    match value {
        PlainValue::Object(map) => {
            if map.contains_key("begin")
                && map.contains_key("end")
                && !map.contains_key("environment")
            {
                map.insert("environment".to_owned(), PlainValue::string(""));
            }
            for member in map.values_mut() {
                complete_ranges(member);
            }
        }
        PlainValue::Array(items) => items.iter_mut().for_each(complete_ranges),
        PlainValue::Secret(inner) => complete_ranges(inner),
        _ => {}
    }
}

/// Secret `Value`s lose their value and become unknown (check without
/// `showSecrets`: plaintext secrets of the checked text are not echoed).
fn hide_secrets(value: &mut PlainValue) {
    match value {
        PlainValue::Object(map) => {
            let is_secret_value = map.contains_key("trace")
                && matches!(map.get("secret"), Some(PlainValue::Bool(true)));
            if is_secret_value {
                map.remove("value");
                map.insert("unknown".to_owned(), PlainValue::Bool(true));
            }
            for member in map.values_mut() {
                hide_secrets(member);
            }
        }
        PlainValue::Array(items) => items.iter_mut().for_each(hide_secrets),
        _ => {}
    }
}

fn environment_json_raw(evaluation: &Evaluation) -> PlainValue {
    match evaluation.environment() {
        None => PlainValue::Object(Default::default()),
        Some(environment) => {
            let mut map = std::collections::BTreeMap::new();
            if !environment.properties.is_empty() {
                map.insert(
                    "properties".to_owned(),
                    PlainValue::Object(environment.properties),
                );
            }
            if !environment.execution_context.is_empty() {
                map.insert(
                    "executionContext".to_owned(),
                    PlainValue::object([(
                        "properties",
                        PlainValue::Object(environment.execution_context),
                    )]),
                );
            }
            PlainValue::Object(map)
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn etags_round_trip_and_reject_others() {
        let tag = etag("env-1", 7);
        assert_eq!(parse_etag(&tag, "env-1").unwrap(), 7);
        assert_eq!(parse_etag(&format!("W/\"{tag}\""), "env-1").unwrap(), 7);
        assert!(parse_etag(&tag, "env-2").is_err());
        assert!(parse_etag("garbage", "env-1").is_err());
    }

    #[test]
    fn tag_names() {
        assert!(check_tag_name("stable").is_ok());
        assert!(check_tag_name("latest").is_err());
        assert!(check_tag_name("tags").is_err());
        assert!(check_tag_name("1x").is_err());
        assert!(check_tag_name("").is_err());
    }

    #[test]
    fn opened_session_debug_hides_the_session_id() {
        let opened = OpenedSession {
            id: "session-7f3a9c".to_owned(),
            revision: 4,
            expires: Timestamp::now(),
        };
        let text = format!("{opened:?}");
        assert!(!text.contains("session-7f3a9c"), "{text}");
        assert!(text.contains("revision: 4"), "{text}");
    }

    #[test]
    fn check_outcome_debug_never_prints_the_environment() {
        let mut properties = std::collections::BTreeMap::new();
        properties.insert(
            "password".to_owned(),
            PlainValue::String("revealed-hunter2".to_owned()),
        );
        let outcome = CheckOutcome {
            environment: PlainValue::Object(properties),
            warnings: Vec::new(),
        };
        let printed = format!("{outcome:?}");
        assert!(!printed.contains("revealed-hunter2"), "{printed}");
        assert!(printed.contains("[elided]"), "{printed}");
    }
}
