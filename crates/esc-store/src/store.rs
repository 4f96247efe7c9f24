//! The storage trait the service layer programs against. One implementation
//! ([`crate::SqlStore`]) runs on SQLite or PostgreSQL; both pass the same suite.
//!
//! Conventions: every method is one transaction; names are passed as given
//! (the service validates them); YAML bodies, rotation state, session results,
//! webhook secrets and signing keys go in and come out as plaintext and are
//! encrypted at rest by the store; list `count`s are clamped to 1..=1000.

use async_trait::async_trait;

use crate::crypto::{EnvironmentCipher, Plaintext};
use crate::error::StoreError;
use crate::model::{
    AccessToken, AuditEvent, Author, CloneOptions, EnvRef, Environment, EnvironmentTag,
    EnvironmentTagUpdate, NewAccessToken, NewAuditEvent, NewRotationEvent, NewSchedule,
    NewWebhookDelivery, Organization, Page, Project, Revision, RevisionAt, RevisionContent,
    RevisionTag, RotationEvent, Schedule, ScheduleRun, SettingsUpdate, SigningKey, Timestamp,
    Webhook, WebhookDelivery, WebhookSecretUpdate, WebhookSpec,
};
use crate::sql::drafts::{Draft, DraftContent};
use crate::sql::members::{EnvironmentGrant, OrgMembership, User, UserAccess};
use crate::sql::referrers::NewestDefinition;

/// Shorthand for this crate's results.
pub type StoreResult<T> = Result<T, StoreError>;

/// Re-seals the `fn::secret` ciphertexts of a YAML definition from one
/// environment's cipher to another's (implemented by the service, which
/// understands YAML; used by [`Store::clone_environment`]). Any
/// `Fn(&EnvironmentCipher, &EnvironmentCipher, &[u8]) -> StoreResult<Vec<u8>>`
/// closure is one.
pub trait SecretReencryptor: Send + Sync {
    /// Returns `yaml` with every ciphertext re-sealed from `from` to `to`.
    fn reencrypt(
        &self,
        from: &EnvironmentCipher,
        to: &EnvironmentCipher,
        yaml: &[u8],
    ) -> StoreResult<Vec<u8>>;
}

impl<F> SecretReencryptor for F
where
    F: Fn(&EnvironmentCipher, &EnvironmentCipher, &[u8]) -> StoreResult<Vec<u8>> + Send + Sync,
{
    fn reencrypt(
        &self,
        from: &EnvironmentCipher,
        to: &EnvironmentCipher,
        yaml: &[u8],
    ) -> StoreResult<Vec<u8>> {
        self(from, to, yaml)
    }
}

/// The revision a selector points at (see [`Store::resolve_revisions`]).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ResolvedRevision {
    /// The environment's id (a re-created environment has a new one).
    pub environment_id: String,
    /// The revision number.
    pub number: u64,
}

/// The result of a session written by [`Store::create_shared_session`].
pub enum SharedResult<'a> {
    /// Store `result` now, for this session and for later sessions of the
    /// environment expiring no later than `keep_until` (at least the
    /// session's own expiry).
    New {
        /// The evaluated result (plaintext; sealed by the store).
        result: &'a [u8],
        /// Until when the stored result is kept.
        keep_until: Timestamp,
    },
    /// The result stored earlier under this id ([`SharedSession::result_id`]).
    Stored(&'a str),
    /// As `Stored`, and only while every pin still holds: each selector
    /// still points where it pointed when the result was evaluated (as
    /// [`Store::resolve_revisions`] would answer now). The check is part
    /// of the write, so an open of a remembered result needs no read
    /// before it. At most [`MAX_PINS`].
    StoredWhile {
        /// The stored result's id.
        result_id: &'a str,
        /// The selectors the result was evaluated from.
        pins: &'a [Pin<'a>],
    },
}

/// The most pins one [`SharedResult::StoredWhile`] takes.
pub const MAX_PINS: usize = 64;

/// A selector and the revision it pointed at (see
/// [`SharedResult::StoredWhile`]).
#[derive(Clone, Copy, Debug)]
pub struct Pin<'a> {
    /// The environment, by name.
    pub env: &'a EnvRef,
    /// The selector.
    pub at: RevisionAt<'a>,
    /// Where it pointed.
    pub resolved: &'a ResolvedRevision,
}

/// A session written by [`Store::create_shared_session`].
#[derive(Clone, PartialEq, Eq)]
pub struct SharedSession {
    /// The session id (as [`Store::create_session`] returns).
    pub id: String,
    /// The id of the stored result it reads, for later sessions.
    pub result_id: String,
}

/// The id is left out: it is a bearer credential (with a token, it reads
/// the session's result), so it must not reach logs or panic messages.
impl std::fmt::Debug for SharedSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedSession")
            .field("id", &"<redacted>")
            .field("result_id", &self.result_id)
            .finish()
    }
}

/// Persistence of everything the service keeps. Object-safe: use `Arc<dyn Store>`.
#[async_trait]
pub trait Store: Send + Sync {
    // ---- organizations and projects ----

    /// Creates an organization. `AlreadyExists` if it exists.
    async fn create_organization(&self, name: &str) -> StoreResult<Organization>;
    /// One organization, or `NotFound`.
    async fn organization(&self, name: &str) -> StoreResult<Organization>;
    /// All organizations, by name.
    async fn list_organizations(&self) -> StoreResult<Vec<Organization>>;
    /// The projects of an organization, by name.
    async fn list_projects(&self, org: &str) -> StoreResult<Vec<Project>>;

    // ---- environments ----

    /// Creates an environment with revision 1 (an empty definition) and a
    /// fresh data key; creates the project if needed. The organization must
    /// exist (`NotFound`); `AlreadyExists` if the name is taken.
    async fn create_environment(&self, env: &EnvRef, author: &Author) -> StoreResult<Environment>;
    /// An environment's metadata, or `NotFound`.
    async fn environment(&self, env: &EnvRef) -> StoreResult<Environment>;
    /// Environments ordered by (org, project, name), optionally of one
    /// organization, after the opaque `page_token` of a previous page.
    async fn list_environments(
        &self,
        org: Option<&str>,
        page_token: Option<&str>,
        count: u32,
    ) -> StoreResult<Page<Environment>>;
    /// Copies `source` into the new environment `destination` (same rules as
    /// [`Store::create_environment`] for the destination), atomically.
    /// `reencrypt` is called on every
    /// copied definition and must return it with each `fn::secret`
    /// ciphertext re-sealed for the destination (ciphertexts are bound to
    /// their environment); the store does not parse YAML.
    async fn clone_environment(
        &self,
        source: &EnvRef,
        destination: &EnvRef,
        options: &CloneOptions,
        author: &Author,
        reencrypt: &dyn SecretReencryptor,
    ) -> StoreResult<Environment>;
    /// Deletes an environment and everything it owns, atomically.
    /// `DeletionProtected` while protection is on. The name can be reused.
    async fn delete_environment(&self, env: &EnvRef) -> StoreResult<()>;
    /// Changes settings; returns the environment.
    async fn update_settings(
        &self,
        env: &EnvRef,
        update: &SettingsUpdate,
    ) -> StoreResult<Environment>;
    /// The cipher of an environment, for `fn::secret` ciphertexts
    /// ([`crate::seal_secret`] / [`crate::open_secret`]).
    async fn environment_cipher(&self, env: &EnvRef) -> StoreResult<EnvironmentCipher>;

    // ---- revisions ----

    /// Writes a new definition as revision n+1. With `expected_revision`
    /// (the revision the writer read), refuses with `Conflict` unless it is
    /// still the newest; nothing changes then. `None` writes unconditionally.
    async fn update_environment(
        &self,
        env: &EnvRef,
        yaml: &[u8],
        expected_revision: Option<u64>,
        author: &Author,
    ) -> StoreResult<Revision>;
    /// A revision with its definition. `Retracted` for a retracted revision,
    /// `NotFound` for an unknown one.
    async fn revision(&self, env: &EnvRef, number: u64) -> StoreResult<RevisionContent>;
    /// A revision by tag name (`latest` included), as [`Store::revision`].
    async fn tagged_revision(&self, env: &EnvRef, tag: &str) -> StoreResult<RevisionContent>;
    /// Up to `limit` environments of `org` after `after` (by project, then
    /// name; from the first when `None`) with their newest definitions, in
    /// that order, read in one statement: what finding an environment's
    /// referrers scans, a page at a time so memory stays bounded however
    /// many environments an organization holds. An unknown organization
    /// has none.
    async fn newest_definitions(
        &self,
        org: &str,
        after: Option<&EnvRef>,
        limit: u32,
    ) -> StoreResult<Vec<NewestDefinition>>;
    /// A revision (as [`Store::revision`] / [`Store::tagged_revision`]) and
    /// the environment's cipher, read in one transaction: what evaluating
    /// a stored definition needs.
    async fn revision_with_cipher(
        &self,
        env: &EnvRef,
        at: RevisionAt<'_>,
    ) -> StoreResult<(RevisionContent, EnvironmentCipher)>;
    /// Where each of `targets` points now, in one statement (one blocking
    /// hop on SQLite, one round trip on PostgreSQL; a long list is read in
    /// chunks inside one snapshot): the environment's id and the revision
    /// number, or `None` when it names nothing readable (no such
    /// environment, tag or revision, or a retracted revision). Reads no
    /// definition: for checking that remembered evaluations are current.
    async fn resolve_revisions(
        &self,
        targets: &[(EnvRef, RevisionAt<'_>)],
    ) -> StoreResult<Vec<Option<ResolvedRevision>>>;
    /// Revisions newest first, only numbers below `before` when given
    /// (`Some(0)` counts as not given, as in the API).
    async fn list_revisions(
        &self,
        env: &EnvRef,
        before: Option<u64>,
        count: u32,
    ) -> StoreResult<Vec<Revision>>;
    /// Retracts a revision: it can no longer be read; tags pointing at it move
    /// to `replacement` (default: the newest non-retracted revision before
    /// it). The newest revision cannot be retracted (`Invalid`).
    async fn retract_revision(
        &self,
        env: &EnvRef,
        number: u64,
        replacement: Option<u64>,
        reason: &str,
        by: &Author,
    ) -> StoreResult<Revision>;
    /// Writes revision `to`'s definition again as a new revision (with the
    /// same `expected_revision` check as [`Store::update_environment`]).
    async fn rollback(
        &self,
        env: &EnvRef,
        to: u64,
        expected_revision: Option<u64>,
        author: &Author,
    ) -> StoreResult<Revision>;

    // ---- drafts (change requests) ----

    /// Creates an open draft of `env` holding `yaml`, written against the
    /// newest revision; with `expected_revision`, `Conflict` unless that is
    /// still the newest. The id is a new UUID.
    async fn create_draft(
        &self,
        env: &EnvRef,
        yaml: &[u8],
        expected_revision: Option<u64>,
        author: &Author,
    ) -> StoreResult<Draft>;
    /// A draft of an environment of `org`, with its definition.
    async fn draft(&self, org: &str, id: &str) -> StoreResult<DraftContent>;
    /// Replaces an open draft's definition (its version goes up by one).
    /// With `expected_version`, `Changed` unless it is still that version;
    /// `Invalid` once the draft was submitted.
    async fn update_draft(
        &self,
        org: &str,
        id: &str,
        yaml: &[u8],
        expected_version: Option<u64>,
    ) -> StoreResult<Draft>;
    /// Writes an open draft as its environment's next revision and marks it
    /// applied, atomically: `Invalid` once submitted, `Conflict` (nothing
    /// changes) when the environment's newest revision is no longer the
    /// draft's base.
    async fn apply_draft(
        &self,
        org: &str,
        id: &str,
        description: &str,
        author: &Author,
    ) -> StoreResult<(Draft, Revision)>;

    // ---- revision tags ----

    /// Tags `revision` (default: the newest). `latest` and names starting
    /// with a digit or equal to `tags` are `Invalid`; `AlreadyExists` if taken.
    async fn create_revision_tag(
        &self,
        env: &EnvRef,
        name: &str,
        revision: Option<u64>,
        editor: &Author,
    ) -> StoreResult<RevisionTag>;
    /// One revision tag (`latest` included), or `NotFound`.
    async fn revision_tag(&self, env: &EnvRef, name: &str) -> StoreResult<RevisionTag>;
    /// Revision tags sorted by name (`latest` included), names after `after`.
    async fn list_revision_tags(
        &self,
        env: &EnvRef,
        after: Option<&str>,
        count: u32,
    ) -> StoreResult<Vec<RevisionTag>>;
    /// Moves a tag. `NotFound` if absent; `latest` is `Invalid`.
    async fn update_revision_tag(
        &self,
        env: &EnvRef,
        name: &str,
        revision: u64,
        editor: &Author,
    ) -> StoreResult<RevisionTag>;
    /// Deletes a tag. `NotFound` if absent; `latest` is `Invalid`.
    async fn delete_revision_tag(&self, env: &EnvRef, name: &str) -> StoreResult<()>;

    // ---- environment tags ----

    /// Adds a key/value tag. `AlreadyExists` if the name is taken.
    async fn create_environment_tag(
        &self,
        env: &EnvRef,
        name: &str,
        value: &str,
        editor: &Author,
    ) -> StoreResult<EnvironmentTag>;
    /// One tag, or `NotFound`.
    async fn environment_tag(&self, env: &EnvRef, name: &str) -> StoreResult<EnvironmentTag>;
    /// Tags sorted by name, after the page token of a previous page.
    async fn list_environment_tags(
        &self,
        env: &EnvRef,
        page_token: Option<&str>,
        count: u32,
    ) -> StoreResult<Page<EnvironmentTag>>;
    /// Renames and/or changes a tag. `Conflict` when `expected_value`
    /// differs, `AlreadyExists` when renaming onto a taken name.
    async fn update_environment_tag(
        &self,
        env: &EnvRef,
        name: &str,
        update: &EnvironmentTagUpdate,
        editor: &Author,
    ) -> StoreResult<EnvironmentTag>;
    /// Deletes a tag, or `NotFound`.
    async fn delete_environment_tag(&self, env: &EnvRef, name: &str) -> StoreResult<()>;

    // ---- rotation ----

    /// Stores (replaces) the rotation state kept for a rotator path.
    async fn put_rotation_state(&self, env: &EnvRef, path: &str, state: &[u8]) -> StoreResult<()>;
    /// The rotation state of a path, if any.
    async fn rotation_state(&self, env: &EnvRef, path: &str) -> StoreResult<Option<Plaintext>>;
    /// Records a rotation event in the history.
    async fn record_rotation_event(
        &self,
        env: &EnvRef,
        event: &NewRotationEvent,
    ) -> StoreResult<RotationEvent>;
    /// Rotation history, newest first.
    async fn list_rotation_events(
        &self,
        env: &EnvRef,
        count: u32,
    ) -> StoreResult<Vec<RotationEvent>>;

    // ---- schedules ----

    /// Creates a schedule; `AlreadyExists` (naming `schedule <id>`) when the
    /// environment has one: one schedule per environment.
    async fn create_schedule(&self, env: &EnvRef, schedule: &NewSchedule) -> StoreResult<Schedule>;
    /// One schedule of an environment, or `NotFound`.
    async fn schedule(&self, env: &EnvRef, id: &str) -> StoreResult<Schedule>;
    /// The schedules of an environment, oldest first.
    async fn list_schedules(&self, env: &EnvRef) -> StoreResult<Vec<Schedule>>;
    /// Replaces a schedule's content.
    async fn update_schedule(
        &self,
        env: &EnvRef,
        id: &str,
        schedule: &NewSchedule,
    ) -> StoreResult<Schedule>;
    /// Deletes a schedule (and its run history), or `NotFound`.
    async fn delete_schedule(&self, env: &EnvRef, id: &str) -> StoreResult<()>;
    /// Unpaused schedules whose next execution is at or before `now`, across
    /// all environments, soonest first.
    async fn due_schedules(&self, now: Timestamp, count: u32) -> StoreResult<Vec<Schedule>>;
    /// Claims a due schedule for one run: succeeds (true) only if its next
    /// execution is still `expected_next`, then sets it to `new_next` and
    /// records `now` as last executed. Several servers can race safely.
    async fn claim_schedule(
        &self,
        id: &str,
        expected_next: Timestamp,
        new_next: Option<Timestamp>,
        now: Timestamp,
    ) -> StoreResult<bool>;
    /// Records a run of a schedule.
    async fn record_schedule_run(
        &self,
        id: &str,
        executed: Timestamp,
        revision: u64,
        result: &str,
    ) -> StoreResult<ScheduleRun>;
    /// The runs of a schedule, newest first.
    async fn list_schedule_runs(
        &self,
        env: &EnvRef,
        id: &str,
        count: u32,
    ) -> StoreResult<Vec<ScheduleRun>>;

    // ---- open sessions ----

    /// Keeps an evaluated result (encrypted with `cipher`, the environment's,
    /// from [`Store::revision_with_cipher`] or [`Store::environment_cipher`])
    /// until `expires`; returns the session id (random, 128 bits; only its
    /// hash is stored). `NotFound` if the environment is gone. `audit`, if
    /// given, is appended in the same transaction (one round trip; the
    /// session exists only if its audit event does).
    async fn create_session(
        &self,
        env: &EnvRef,
        cipher: &EnvironmentCipher,
        revision: u64,
        result: &[u8],
        expires: Timestamp,
        audit: Option<&NewAuditEvent>,
    ) -> StoreResult<String>;
    /// As [`Store::create_session`], the result written once and shared by
    /// sessions (an open of an unchanged environment then writes a small
    /// row and its audit event). With [`SharedResult::Stored`], `NotFound`
    /// (and nothing written, the audit event neither) if that result is
    /// gone, of another environment, or kept for less long than `expires`;
    /// with [`SharedResult::StoredWhile`], also if a pin no longer holds.
    async fn create_shared_session(
        &self,
        env: &EnvRef,
        cipher: &EnvironmentCipher,
        revision: u64,
        result: SharedResult<'_>,
        expires: Timestamp,
        audit: Option<&NewAuditEvent>,
    ) -> StoreResult<SharedSession>;
    /// A session's result. `NotFound` if unknown, expired, or of another environment.
    async fn session(&self, env: &EnvRef, id: &str) -> StoreResult<Plaintext>;
    /// Deletes sessions (and shared session results) expired at `now`, a
    /// bounded number of rows per transaction (a large backlog does not
    /// hold the writer for long); returns how many sessions.
    async fn purge_expired_sessions(&self, now: Timestamp) -> StoreResult<u64>;

    // ---- access tokens ----

    /// Creates a token; the secret is returned once, only its SHA-256 is
    /// stored. Appends a `token.create` audit event by `actor` (org
    /// [`SERVER_AUDIT_ORG`](crate::SERVER_AUDIT_ORG), target the token id,
    /// detail its owner; never the secret or its hash) in the same
    /// transaction.
    async fn create_access_token(
        &self,
        owner: &str,
        description: &str,
        expires: Option<Timestamp>,
        actor: &str,
    ) -> StoreResult<NewAccessToken>;
    /// The token a bearer value belongs to, if valid and unexpired; `NotFound`
    /// otherwise. A read; `last_used` is written only when it is a minute
    /// or more old.
    async fn authenticate_access_token(&self, secret: &str) -> StoreResult<AccessToken>;
    /// The tokens of an owner, oldest first.
    async fn list_access_tokens(&self, owner: &str) -> StoreResult<Vec<AccessToken>>;
    /// Deletes a token of an owner, or `NotFound`. Appends a `token.revoke`
    /// audit event by `actor` in the same transaction, as
    /// [`Store::revoke_access_token`].
    async fn delete_access_token(&self, owner: &str, id: &str, actor: &str) -> StoreResult<()>;

    // ---- users, memberships, grants (see `sql/members.rs`) ----

    /// Adds a user. `AlreadyExists` if the login is taken. Appends a
    /// `user.add` audit event by `actor` (org
    /// [`SERVER_AUDIT_ORG`](crate::SERVER_AUDIT_ORG), target the login) in
    /// the same transaction.
    async fn create_user(&self, login: &str, name: &str, actor: &str) -> StoreResult<User>;
    /// One user, or `NotFound`.
    async fn user(&self, login: &str) -> StoreResult<User>;
    /// All users, by login.
    async fn list_users(&self) -> StoreResult<Vec<User>>;
    /// Deletes a user with its memberships, grants and access tokens, or
    /// `NotFound`; with a `user.remove` audit event, as [`Store::create_user`].
    async fn delete_user(&self, login: &str, actor: &str) -> StoreResult<()>;
    /// Sets (adds or changes) a user's role in an organization, creating
    /// the organization if needed; `NotFound` for an unknown user. Appends
    /// a `member.set` audit event by `actor` in the same transaction.
    async fn set_membership(&self, membership: &OrgMembership, actor: &str) -> StoreResult<()>;
    /// Removes a membership (`NotFound` if absent), with a `member.remove` audit event.
    async fn remove_membership(&self, org: &str, login: &str, actor: &str) -> StoreResult<()>;
    /// Memberships, of one organization or all, by (org, login).
    async fn list_memberships(&self, org: Option<&str>) -> StoreResult<Vec<OrgMembership>>;
    /// Sets (adds or changes) a grant, as [`Store::set_membership`]
    /// (`grant.set` audit event).
    async fn set_grant(&self, grant: &EnvironmentGrant, actor: &str) -> StoreResult<()>;
    /// Removes a grant (`NotFound` if absent), with a `grant.remove` audit event.
    async fn remove_grant(
        &self,
        org: &str,
        project: &str,
        env: Option<&str>,
        login: &str,
        actor: &str,
    ) -> StoreResult<()>;
    /// Grants, of one organization or all, by (org, project, env, login).
    async fn list_grants(&self, org: Option<&str>) -> StoreResult<Vec<EnvironmentGrant>>;
    /// A user's memberships and grants, read in one transaction (empty for
    /// an unknown login).
    async fn user_access(&self, login: &str) -> StoreResult<UserAccess>;
    /// Deletes an access token by id whoever owns it; returns the owner.
    /// `NotFound` if unknown. Appends a `token.revoke` audit event, as
    /// [`Store::create_access_token`].
    async fn revoke_access_token(&self, id: &str, actor: &str) -> StoreResult<String>;

    // ---- audit ----

    /// Appends an audit event.
    async fn append_audit_event(&self, event: &NewAuditEvent) -> StoreResult<AuditEvent>;
    /// Audit events of an organization, newest first, after an opaque page token.
    async fn list_audit_events(
        &self,
        org: &str,
        page_token: Option<&str>,
        count: u32,
    ) -> StoreResult<Page<AuditEvent>>;

    // ---- webhooks ----

    /// Creates a webhook named `name`; `AlreadyExists` if taken.
    async fn create_webhook(
        &self,
        env: &EnvRef,
        name: &str,
        spec: &WebhookSpec,
        secret: Option<&Plaintext>,
    ) -> StoreResult<Webhook>;
    /// One webhook, or `NotFound`.
    async fn webhook(&self, env: &EnvRef, name: &str) -> StoreResult<Webhook>;
    /// The webhooks of an environment, by name.
    async fn list_webhooks(&self, env: &EnvRef) -> StoreResult<Vec<Webhook>>;
    /// Replaces a webhook's content and optionally its secret.
    async fn update_webhook(
        &self,
        env: &EnvRef,
        name: &str,
        spec: &WebhookSpec,
        secret: &WebhookSecretUpdate,
    ) -> StoreResult<Webhook>;
    /// Deletes a webhook, or `NotFound`.
    async fn delete_webhook(&self, env: &EnvRef, name: &str) -> StoreResult<()>;
    /// A webhook's signing secret, if set.
    async fn webhook_secret(&self, env: &EnvRef, name: &str) -> StoreResult<Option<Plaintext>>;

    /// Records a delivery attempt of a webhook; only the newest 1000 of a
    /// webhook are kept.
    async fn record_webhook_delivery(
        &self,
        env: &EnvRef,
        name: &str,
        delivery: &NewWebhookDelivery,
    ) -> StoreResult<WebhookDelivery>;
    /// The deliveries of a webhook, newest first.
    async fn list_webhook_deliveries(
        &self,
        env: &EnvRef,
        name: &str,
        count: u32,
    ) -> StoreResult<Vec<WebhookDelivery>>;

    // ---- OIDC signing keys ----

    /// Stores a new signing key (encrypted with the master key).
    async fn put_signing_key(
        &self,
        kid: &str,
        algorithm: &str,
        private_key: &Plaintext,
    ) -> StoreResult<()>;
    /// All signing keys, oldest first.
    async fn list_signing_keys(&self) -> StoreResult<Vec<SigningKey>>;
    /// Marks a key as no longer signing (kept for verification).
    async fn retire_signing_key(&self, kid: &str) -> StoreResult<()>;
    /// Deletes a key, or `NotFound`.
    async fn delete_signing_key(&self, kid: &str) -> StoreResult<()>;
}
