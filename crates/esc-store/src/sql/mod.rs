//! [`SqlStore`]: the one implementation of [`Store`], written once against
//! the small [`Tx`] surface and run on SQLite or PostgreSQL. Every trait
//! method is one transaction (`in_tx!`): committed when the logic returns
//! `Ok`, rolled back otherwise.

mod access;
mod batch;
mod coalesce;
pub(crate) mod drafts;
mod environments;
pub(crate) mod members;
mod pins;
pub(crate) mod referrers;
mod rotation;
mod tags;

use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;

use crate::crypto::{EnvironmentCipher, MasterKey, MasterKeySource, Plaintext, create_private_dir};
use crate::db::{Backend, Tx, args};
use crate::error::StoreError;
use crate::migrations;
use crate::model::{
    AccessToken, AuditEvent, Author, CloneOptions, EnvRef, Environment, EnvironmentTag,
    EnvironmentTagUpdate, NewAccessToken, NewAuditEvent, NewRotationEvent, NewSchedule,
    NewWebhookDelivery, Organization, Page, Project, Revision, RevisionAt, RevisionContent,
    RevisionTag, RotationEvent, Schedule, ScheduleRun, SettingsUpdate, SigningKey, Timestamp,
    Webhook, WebhookDelivery, WebhookSecretUpdate, WebhookSpec,
};
use crate::postgres::PostgresBackend;
use crate::sqlite::{DATABASE_FILE, SqliteBackend};
use crate::store::{
    ResolvedRevision, SecretReencryptor, SharedResult, SharedSession, Store, StoreResult,
};
use drafts::{Draft, DraftContent};
use members::{EnvironmentGrant, OrgMembership, User, UserAccess};
use referrers::NewestDefinition;

/// The name of the master key file in the embedded store's data directory.
pub const MASTER_KEY_FILE: &str = "master.key";

/// Runs `$body` (a future using `$tx: &mut dyn Tx`) in a transaction of
/// `$store`: a write transaction, with `read` a read-only snapshot, or with
/// `statement` one read statement outside any transaction (the cheapest).
macro_rules! in_tx {
    ($store:expr, read, |$tx:ident| $body:expr) => {
        in_tx!(@run $store.backend.begin_read().await?, |$tx| $body)
    };
    ($store:expr, statement, |$tx:ident| $body:expr) => {
        in_tx!(@run $store.backend.begin_statement().await?, |$tx| $body)
    };
    ($store:expr, |$tx:ident| $body:expr) => {
        in_tx!(@run $store.backend.begin().await?, |$tx| $body)
    };
    (@run $begin:expr, |$tx:ident| $body:expr) => {{
        let mut boxed_tx = $begin;
        let outcome = {
            let $tx: &mut (dyn Tx + '_) = &mut *boxed_tx;
            $body.await
        };
        match outcome {
            Ok(value) => {
                boxed_tx.commit().await?;
                Ok(value)
            }
            Err(error) => {
                // The logic's error matters more than a failed rollback (and
                // an unfinished transaction is discarded by the backend).
                let _ = boxed_tx.rollback().await;
                Err(error)
            }
        }
    }};
}

/// The most expired rows one purge transaction deletes: at 7,000 opens/s a
/// minute's sessions are ~420,000 rows, which in one transaction held the
/// SQLite writer (every open waits for it) for 1.4 s; 1,000 at a time hold
/// it for a few milliseconds each.
const PURGE_BATCH: u32 = 1_000;

/// The store on SQLite or PostgreSQL.
pub struct SqlStore {
    backend: Arc<dyn Backend>,
    /// Group commit of session writes.
    sessions: Arc<batch::WriteBatcher>,
    /// Shared statements of concurrent identical `resolve_revisions` calls.
    resolves: Arc<coalesce::ResolveCoalescer>,
    master: MasterKey,
}

/// Which database a store runs on, from a location string.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Location<'a> {
    /// A `postgres://` or `postgresql://` URL.
    Postgres(&'a str),
    /// A data directory for the embedded SQLite store.
    Embedded(&'a Path),
}

impl<'a> Location<'a> {
    /// Reads a location: a PostgreSQL URL or else a directory path.
    pub fn parse(text: &'a str) -> Self {
        if text.starts_with("postgres://") || text.starts_with("postgresql://") {
            Self::Postgres(text)
        } else {
            Self::Embedded(Path::new(text))
        }
    }
}

impl SqlStore {
    /// Deletes the sessions, then the shared results, expired at `now`, at
    /// most `batch` rows per transaction, letting other work run between
    /// them; returns how many sessions.
    async fn purge_in_batches(&self, now: Timestamp, batch: u32) -> StoreResult<u64> {
        let mut sessions = 0;
        for table in [access::Purged::Sessions, access::Purged::SessionResults] {
            loop {
                let purged = in_tx!(self, |tx| access::purge_expired(tx, table, now, batch))?;
                if let access::Purged::Sessions = table {
                    sessions += purged;
                }
                if purged < u64::from(batch) {
                    break;
                }
                tokio::task::yield_now().await;
            }
        }
        Ok(sessions)
    }

    /// Opens (creating if needed) the embedded store in `data_dir` (mode 0700,
    /// file `esc.db`), migrates it, and checks the master key.
    pub async fn open_sqlite(data_dir: &Path, master: MasterKey) -> StoreResult<Self> {
        create_private_dir(data_dir).map_err(|source| StoreError::Io {
            path: data_dir.to_owned(),
            source,
        })?;
        let backend = SqliteBackend::open(&data_dir.join(DATABASE_FILE)).await?;
        Self::start(Box::new(backend), master).await
    }

    /// Connects to PostgreSQL, migrates the schema, and checks the master key.
    pub async fn connect_postgres(
        url: &str,
        master: MasterKey,
        max_connections: usize,
    ) -> StoreResult<Self> {
        let backend = PostgresBackend::connect(url, max_connections)?;
        Self::start(Box::new(backend), master).await
    }

    /// Opens the store at `location` with the master key from
    /// `ESC_MASTER_KEY`, or else (embedded store only) from `master.key` in
    /// the data directory, generated on first use. Returns where the key is.
    pub async fn open(location: Location<'_>) -> StoreResult<(Arc<dyn Store>, MasterKeySource)> {
        let from_env = MasterKey::from_env()?;
        match location {
            Location::Postgres(url) => {
                let master = from_env.ok_or_else(|| StoreError::MasterKey {
                    source_name: crate::crypto::MASTER_KEY_ENV.into(),
                    reason: "not set (required with PostgreSQL)".into(),
                })?;
                let store = Self::connect_postgres(url, master, 16).await?;
                Ok((
                    Arc::new(store),
                    MasterKeySource::Environment(crate::crypto::MASTER_KEY_ENV.into()),
                ))
            }
            Location::Embedded(dir) => {
                let (master, source) = match from_env {
                    Some(master) => (
                        master,
                        MasterKeySource::Environment(crate::crypto::MASTER_KEY_ENV.into()),
                    ),
                    None => MasterKey::load_or_create(&dir.join(MASTER_KEY_FILE))?,
                };
                let store = Self::open_sqlite(dir, master).await?;
                Ok((Arc::new(store), source))
            }
        }
    }

    async fn start(backend: Box<dyn Backend>, master: MasterKey) -> StoreResult<Self> {
        // PostgreSQL writes a batch of opens as one statement
        let merge = backend.dialect() == crate::db::Dialect::Postgres;
        let store = Self {
            backend: Arc::from(backend),
            master,
            sessions: Arc::new(batch::WriteBatcher::new(merge)),
            resolves: Arc::default(),
        };
        store.migrate().await?;
        store.check_master_key().await?;
        Ok(store)
    }

    /// Applies pending schema migrations; returns the versions applied now
    /// (empty when already current). Opening a store already does this.
    pub async fn migrate(&self) -> StoreResult<Vec<i64>> {
        migrations::migrate(&*self.backend).await
    }

    /// Replaces the master key: every data key and signing key is re-wrapped
    /// under `new` in one transaction, and the database then only accepts
    /// `new`. Returns the store using `new`. Stop other servers on the same
    /// database first: they still hold the old key.
    pub async fn rotate_master_key(self, new: MasterKey) -> StoreResult<Self> {
        let old = &self.master;
        let new_ref = &new;
        in_tx!(self, |tx| async {
            let fingerprint = tx
                .query_opt(
                    "SELECT value FROM store_meta WHERE key = 'master_key_fingerprint'",
                    vec![],
                )
                .await?
                .map(|row| row.text(0))
                .transpose()?;
            if fingerprint.as_deref() != Some(old.fingerprint()) {
                return Err(StoreError::WrongMasterKey {
                    expected: fingerprint.unwrap_or_default(),
                });
            }
            let suffix = tx.dialect().for_update();
            for row in tx
                .query(
                    &format!("SELECT id, data_key FROM environments{suffix}"),
                    vec![],
                )
                .await?
            {
                let id = row.text(0)?;
                let rewrapped = old.rewrap_data_key(&id, &row.bytes(1)?, new_ref)?;
                tx.execute(
                    "UPDATE environments SET data_key = $1 WHERE id = $2",
                    args![rewrapped, id.as_str()],
                )
                .await?;
            }
            for row in tx
                .query(
                    &format!("SELECT kid, private_key FROM signing_keys{suffix}"),
                    vec![],
                )
                .await?
            {
                let kid = row.text(0)?;
                let private_key = old.open_global("signing-key", &kid, &row.bytes(1)?)?;
                let sealed = new_ref.seal_global("signing-key", &kid, private_key.expose())?;
                tx.execute(
                    "UPDATE signing_keys SET private_key = $1 WHERE kid = $2",
                    args![sealed, kid.as_str()],
                )
                .await?;
            }
            tx.execute(
                "UPDATE store_meta SET value = $1 WHERE key = 'master_key_fingerprint'",
                args![new_ref.fingerprint()],
            )
            .await?;
            Ok(())
        })?;
        Ok(Self {
            backend: self.backend,
            master: new,
            sessions: self.sessions,
            resolves: self.resolves,
        })
    }

    /// The first master key used with a database is recorded by fingerprint;
    /// any other key is refused up front instead of failing on every read.
    async fn check_master_key(&self) -> StoreResult<()> {
        let fingerprint = self.master.fingerprint().to_owned();
        let stored = in_tx!(self, |tx| async {
            tx.execute(
                "INSERT INTO store_meta (key, value) VALUES ('master_key_fingerprint', $1) ON CONFLICT (key) DO NOTHING",
                args![fingerprint.as_str()],
            )
            .await?;
            let row = tx
                .query_opt(
                    "SELECT value FROM store_meta WHERE key = 'master_key_fingerprint'",
                    vec![],
                )
                .await?
                .ok_or_else(|| StoreError::Corrupt {
                    table: "store_meta",
                    reason: "master key fingerprint missing".into(),
                })?;
            row.text(0)
        })?;
        if stored != fingerprint {
            return Err(StoreError::WrongMasterKey { expected: stored });
        }
        Ok(())
    }
}

/// Clamps a requested page size.
pub(crate) fn limit(count: u32) -> i64 {
    i64::from(count.clamp(1, 1000))
}

/// A revision number as stored.
pub(crate) fn db_number(number: u64) -> StoreResult<i64> {
    i64::try_from(number).map_err(|_| StoreError::invalid("revision number out of range"))
}

#[async_trait]
impl Store for SqlStore {
    async fn create_draft(
        &self,
        env: &EnvRef,
        yaml: &[u8],
        expected_revision: Option<u64>,
        author: &Author,
    ) -> StoreResult<Draft> {
        in_tx!(self, |tx| drafts::create(
            tx,
            &self.master,
            env,
            yaml,
            expected_revision,
            author
        ))
    }
    async fn draft(&self, org: &str, id: &str) -> StoreResult<DraftContent> {
        in_tx!(self, read, |tx| drafts::get(tx, &self.master, org, id))
    }
    async fn update_draft(
        &self,
        org: &str,
        id: &str,
        yaml: &[u8],
        expected_version: Option<u64>,
    ) -> StoreResult<Draft> {
        in_tx!(self, |tx| drafts::update(
            tx,
            &self.master,
            org,
            id,
            yaml,
            expected_version
        ))
    }
    async fn apply_draft(
        &self,
        org: &str,
        id: &str,
        description: &str,
        author: &Author,
    ) -> StoreResult<(Draft, Revision)> {
        in_tx!(self, |tx| drafts::apply(
            tx,
            &self.master,
            org,
            id,
            description,
            author
        ))
    }
    async fn create_organization(&self, name: &str) -> StoreResult<Organization> {
        in_tx!(self, |tx| access::create_organization(tx, name))
    }
    async fn organization(&self, name: &str) -> StoreResult<Organization> {
        in_tx!(self, statement, |tx| access::organization(tx, name))
    }
    async fn list_organizations(&self) -> StoreResult<Vec<Organization>> {
        in_tx!(self, read, |tx| access::list_organizations(tx))
    }
    async fn list_projects(&self, org: &str) -> StoreResult<Vec<Project>> {
        in_tx!(self, read, |tx| access::list_projects(tx, org))
    }

    async fn create_environment(&self, env: &EnvRef, author: &Author) -> StoreResult<Environment> {
        in_tx!(self, |tx| environments::create(
            tx,
            &self.master,
            env,
            author
        ))
    }
    async fn environment(&self, env: &EnvRef) -> StoreResult<Environment> {
        in_tx!(self, statement, |tx| async {
            Ok(environments::find(tx, env, false).await?.info)
        })
    }
    async fn list_environments(
        &self,
        org: Option<&str>,
        page_token: Option<&str>,
        count: u32,
    ) -> StoreResult<Page<Environment>> {
        in_tx!(self, read, |tx| environments::list(
            tx,
            &self.master,
            org,
            page_token,
            count
        ))
    }
    async fn clone_environment(
        &self,
        source: &EnvRef,
        destination: &EnvRef,
        options: &CloneOptions,
        author: &Author,
        reencrypt: &dyn SecretReencryptor,
    ) -> StoreResult<Environment> {
        in_tx!(self, |tx| environments::clone(
            tx,
            &self.master,
            source,
            destination,
            options,
            author,
            reencrypt
        ))
    }
    async fn delete_environment(&self, env: &EnvRef) -> StoreResult<()> {
        in_tx!(self, |tx| environments::delete(tx, env))
    }
    async fn update_settings(
        &self,
        env: &EnvRef,
        update: &SettingsUpdate,
    ) -> StoreResult<Environment> {
        in_tx!(self, |tx| environments::update_settings(tx, env, update))
    }
    async fn environment_cipher(&self, env: &EnvRef) -> StoreResult<EnvironmentCipher> {
        in_tx!(self, statement, |tx| async {
            environments::find(tx, env, false)
                .await?
                .cipher(&self.master)
        })
    }

    async fn update_environment(
        &self,
        env: &EnvRef,
        yaml: &[u8],
        expected_revision: Option<u64>,
        author: &Author,
    ) -> StoreResult<Revision> {
        in_tx!(self, |tx| environments::update(
            tx,
            &self.master,
            env,
            yaml,
            expected_revision,
            author
        ))
    }
    async fn revision(&self, env: &EnvRef, number: u64) -> StoreResult<RevisionContent> {
        in_tx!(self, statement, |tx| async {
            environments::revision_at(tx, &self.master, env, RevisionAt::Number(number))
                .await
                .map(|(_, content)| content)
        })
    }
    async fn tagged_revision(&self, env: &EnvRef, tag: &str) -> StoreResult<RevisionContent> {
        in_tx!(self, statement, |tx| async {
            environments::revision_at(tx, &self.master, env, RevisionAt::Tag(tag))
                .await
                .map(|(_, content)| content)
        })
    }
    async fn newest_definitions(
        &self,
        org: &str,
        after: Option<&EnvRef>,
        limit: u32,
    ) -> StoreResult<Vec<NewestDefinition>> {
        in_tx!(self, statement, |tx| referrers::newest_definitions(
            tx,
            &self.master,
            org,
            after,
            limit
        ))
    }
    async fn revision_with_cipher(
        &self,
        env: &EnvRef,
        at: RevisionAt<'_>,
    ) -> StoreResult<(RevisionContent, EnvironmentCipher)> {
        in_tx!(self, statement, |tx| async {
            let (row, content) = environments::revision_at(tx, &self.master, env, at).await?;
            Ok((content, row.cipher(&self.master)?))
        })
    }
    async fn resolve_revisions(
        &self,
        targets: &[(EnvRef, RevisionAt<'_>)],
    ) -> StoreResult<Vec<Option<ResolvedRevision>>> {
        // identical concurrent calls share a statement
        self.resolves.resolve(&self.backend, targets).await
    }
    async fn list_revisions(
        &self,
        env: &EnvRef,
        before: Option<u64>,
        count: u32,
    ) -> StoreResult<Vec<Revision>> {
        in_tx!(self, read, |tx| environments::list_revisions(
            tx, env, before, count
        ))
    }
    async fn retract_revision(
        &self,
        env: &EnvRef,
        number: u64,
        replacement: Option<u64>,
        reason: &str,
        by: &Author,
    ) -> StoreResult<Revision> {
        in_tx!(self, |tx| environments::retract(
            tx,
            env,
            number,
            replacement,
            reason,
            by
        ))
    }
    async fn rollback(
        &self,
        env: &EnvRef,
        to: u64,
        expected_revision: Option<u64>,
        author: &Author,
    ) -> StoreResult<Revision> {
        in_tx!(self, |tx| environments::rollback(
            tx,
            &self.master,
            env,
            to,
            expected_revision,
            author
        ))
    }

    async fn create_revision_tag(
        &self,
        env: &EnvRef,
        name: &str,
        revision: Option<u64>,
        editor: &Author,
    ) -> StoreResult<RevisionTag> {
        in_tx!(self, |tx| tags::create_revision_tag(
            tx, env, name, revision, editor
        ))
    }
    async fn revision_tag(&self, env: &EnvRef, name: &str) -> StoreResult<RevisionTag> {
        in_tx!(self, read, |tx| async {
            let row = environments::find(tx, env, false).await?;
            tags::revision_tag(tx, &row, name).await
        })
    }
    async fn list_revision_tags(
        &self,
        env: &EnvRef,
        after: Option<&str>,
        count: u32,
    ) -> StoreResult<Vec<RevisionTag>> {
        in_tx!(self, read, |tx| tags::list_revision_tags(
            tx, env, after, count
        ))
    }
    async fn update_revision_tag(
        &self,
        env: &EnvRef,
        name: &str,
        revision: u64,
        editor: &Author,
    ) -> StoreResult<RevisionTag> {
        in_tx!(self, |tx| tags::update_revision_tag(
            tx, env, name, revision, editor
        ))
    }
    async fn delete_revision_tag(&self, env: &EnvRef, name: &str) -> StoreResult<()> {
        in_tx!(self, |tx| tags::delete_revision_tag(tx, env, name))
    }

    async fn create_environment_tag(
        &self,
        env: &EnvRef,
        name: &str,
        value: &str,
        editor: &Author,
    ) -> StoreResult<EnvironmentTag> {
        in_tx!(self, |tx| tags::create_environment_tag(
            tx, env, name, value, editor
        ))
    }
    async fn environment_tag(&self, env: &EnvRef, name: &str) -> StoreResult<EnvironmentTag> {
        in_tx!(self, read, |tx| async {
            let row = environments::find(tx, env, false).await?;
            tags::environment_tag(tx, &row.info.id, name).await
        })
    }
    async fn list_environment_tags(
        &self,
        env: &EnvRef,
        page_token: Option<&str>,
        count: u32,
    ) -> StoreResult<Page<EnvironmentTag>> {
        in_tx!(self, read, |tx| tags::list_environment_tags(
            tx, env, page_token, count
        ))
    }
    async fn update_environment_tag(
        &self,
        env: &EnvRef,
        name: &str,
        update: &EnvironmentTagUpdate,
        editor: &Author,
    ) -> StoreResult<EnvironmentTag> {
        in_tx!(self, |tx| tags::update_environment_tag(
            tx, env, name, update, editor
        ))
    }
    async fn delete_environment_tag(&self, env: &EnvRef, name: &str) -> StoreResult<()> {
        in_tx!(self, |tx| tags::delete_environment_tag(tx, env, name))
    }

    async fn put_rotation_state(&self, env: &EnvRef, path: &str, state: &[u8]) -> StoreResult<()> {
        in_tx!(self, |tx| rotation::put_state(
            tx,
            &self.master,
            env,
            path,
            state
        ))
    }
    async fn rotation_state(&self, env: &EnvRef, path: &str) -> StoreResult<Option<Plaintext>> {
        in_tx!(self, read, |tx| rotation::state(
            tx,
            &self.master,
            env,
            path
        ))
    }
    async fn record_rotation_event(
        &self,
        env: &EnvRef,
        event: &NewRotationEvent,
    ) -> StoreResult<RotationEvent> {
        in_tx!(self, |tx| rotation::record_event(
            tx,
            &self.master,
            env,
            event
        ))
    }
    async fn list_rotation_events(
        &self,
        env: &EnvRef,
        count: u32,
    ) -> StoreResult<Vec<RotationEvent>> {
        in_tx!(self, read, |tx| rotation::list_events(
            tx,
            &self.master,
            env,
            count
        ))
    }

    async fn create_schedule(&self, env: &EnvRef, schedule: &NewSchedule) -> StoreResult<Schedule> {
        in_tx!(self, |tx| rotation::create_schedule(tx, env, schedule))
    }
    async fn schedule(&self, env: &EnvRef, id: &str) -> StoreResult<Schedule> {
        in_tx!(self, read, |tx| rotation::schedule(tx, Some(env), id))
    }
    async fn list_schedules(&self, env: &EnvRef) -> StoreResult<Vec<Schedule>> {
        in_tx!(self, read, |tx| rotation::list_schedules(tx, env))
    }
    async fn update_schedule(
        &self,
        env: &EnvRef,
        id: &str,
        schedule: &NewSchedule,
    ) -> StoreResult<Schedule> {
        in_tx!(self, |tx| rotation::update_schedule(tx, env, id, schedule))
    }
    async fn delete_schedule(&self, env: &EnvRef, id: &str) -> StoreResult<()> {
        in_tx!(self, |tx| rotation::delete_schedule(tx, env, id))
    }
    async fn due_schedules(&self, now: Timestamp, count: u32) -> StoreResult<Vec<Schedule>> {
        in_tx!(self, read, |tx| rotation::due_schedules(tx, now, count))
    }
    async fn claim_schedule(
        &self,
        id: &str,
        expected_next: Timestamp,
        new_next: Option<Timestamp>,
        now: Timestamp,
    ) -> StoreResult<bool> {
        in_tx!(self, |tx| rotation::claim_schedule(
            tx,
            id,
            expected_next,
            new_next,
            now
        ))
    }
    async fn record_schedule_run(
        &self,
        id: &str,
        executed: Timestamp,
        revision: u64,
        result: &str,
    ) -> StoreResult<ScheduleRun> {
        in_tx!(self, |tx| rotation::record_run(
            tx, id, executed, revision, result
        ))
    }
    async fn list_schedule_runs(
        &self,
        env: &EnvRef,
        id: &str,
        count: u32,
    ) -> StoreResult<Vec<ScheduleRun>> {
        in_tx!(self, read, |tx| rotation::list_runs(tx, env, id, count))
    }

    async fn create_session(
        &self,
        env: &EnvRef,
        cipher: &EnvironmentCipher,
        revision: u64,
        result: &[u8],
        expires: Timestamp,
        audit: Option<&NewAuditEvent>,
    ) -> StoreResult<String> {
        let (id, statements) = access::create_session(cipher, revision, result, expires, audit)?;
        // Nothing to read first: the statements and the commit are one step,
        // shared with the sessions opened meanwhile (group commit).
        let changed = self.sessions.write(&self.backend, statements, None).await?;
        if changed.first() != Some(&1) {
            // the environment is gone: nothing was written
            return Err(StoreError::not_found(format!("environment {env}")));
        }
        Ok(id)
    }
    async fn create_shared_session(
        &self,
        env: &EnvRef,
        cipher: &EnvironmentCipher,
        revision: u64,
        result: SharedResult<'_>,
        expires: Timestamp,
        audit: Option<&NewAuditEvent>,
    ) -> StoreResult<SharedSession> {
        let (session, index, statements, row) =
            access::create_shared_session(cipher, revision, result, expires, audit)?;
        let changed = self
            .sessions
            .write(&self.backend, statements, row)
            .await
            .map_err(|error| {
                if error.is_foreign_key_violation() {
                    StoreError::not_found(format!("environment {env}"))
                } else {
                    error
                }
            })?;
        if changed.get(index) != Some(&1) {
            // the result is gone or kept for less long: nothing was written
            return Err(StoreError::not_found("shared session result"));
        }
        Ok(session)
    }
    async fn session(&self, env: &EnvRef, id: &str) -> StoreResult<Plaintext> {
        in_tx!(self, read, |tx| access::session(tx, &self.master, env, id))
    }
    async fn purge_expired_sessions(&self, now: Timestamp) -> StoreResult<u64> {
        self.purge_in_batches(now, PURGE_BATCH).await
    }

    async fn create_access_token(
        &self,
        owner: &str,
        description: &str,
        expires: Option<Timestamp>,
        actor: &str,
    ) -> StoreResult<NewAccessToken> {
        in_tx!(self, |tx| members::create_token(
            tx,
            owner,
            description,
            expires,
            actor
        ))
    }
    async fn authenticate_access_token(&self, secret: &str) -> StoreResult<AccessToken> {
        // Every request authenticates: a read (no writer lock), and a write
        // only when `last_used` is due.
        let mut token = in_tx!(self, statement, |tx| access::find_token(tx, secret))?;
        if let Some(now) = access::last_used_due(&token) {
            in_tx!(self, |tx| access::touch_token(tx, &token.id, now))?;
            token.last_used = Some(now);
        }
        Ok(token)
    }
    async fn list_access_tokens(&self, owner: &str) -> StoreResult<Vec<AccessToken>> {
        in_tx!(self, read, |tx| access::list_tokens(tx, owner))
    }
    async fn delete_access_token(&self, owner: &str, id: &str, actor: &str) -> StoreResult<()> {
        in_tx!(self, |tx| members::delete_token(tx, owner, id, actor))
    }

    async fn create_user(&self, login: &str, name: &str, actor: &str) -> StoreResult<User> {
        in_tx!(self, |tx| members::create_user(tx, login, name, actor))
    }
    async fn user(&self, login: &str) -> StoreResult<User> {
        in_tx!(self, read, |tx| members::user(tx, login))
    }
    async fn list_users(&self) -> StoreResult<Vec<User>> {
        in_tx!(self, read, |tx| members::list_users(tx))
    }
    async fn delete_user(&self, login: &str, actor: &str) -> StoreResult<()> {
        in_tx!(self, |tx| members::delete_user(tx, login, actor))
    }
    async fn set_membership(&self, membership: &OrgMembership, actor: &str) -> StoreResult<()> {
        in_tx!(self, |tx| members::set_membership(tx, membership, actor))
    }
    async fn remove_membership(&self, org: &str, login: &str, actor: &str) -> StoreResult<()> {
        in_tx!(self, |tx| members::remove_membership(tx, org, login, actor))
    }
    async fn list_memberships(&self, org: Option<&str>) -> StoreResult<Vec<OrgMembership>> {
        in_tx!(self, read, |tx| members::list_memberships(tx, org))
    }
    async fn set_grant(&self, grant: &EnvironmentGrant, actor: &str) -> StoreResult<()> {
        in_tx!(self, |tx| members::set_grant(tx, grant, actor))
    }
    async fn remove_grant(
        &self,
        org: &str,
        project: &str,
        env: Option<&str>,
        login: &str,
        actor: &str,
    ) -> StoreResult<()> {
        in_tx!(self, |tx| members::remove_grant(
            tx, org, project, env, login, actor
        ))
    }
    async fn list_grants(&self, org: Option<&str>) -> StoreResult<Vec<EnvironmentGrant>> {
        in_tx!(self, read, |tx| members::list_grants(tx, org))
    }
    async fn user_access(&self, login: &str) -> StoreResult<UserAccess> {
        in_tx!(self, read, |tx| members::user_access(tx, login))
    }
    async fn revoke_access_token(&self, id: &str, actor: &str) -> StoreResult<String> {
        in_tx!(self, |tx| members::revoke_token(tx, id, actor))
    }

    async fn append_audit_event(&self, event: &NewAuditEvent) -> StoreResult<AuditEvent> {
        in_tx!(self, |tx| access::append_audit(tx, event))
    }
    async fn list_audit_events(
        &self,
        org: &str,
        page_token: Option<&str>,
        count: u32,
    ) -> StoreResult<Page<AuditEvent>> {
        in_tx!(self, read, |tx| access::list_audit(
            tx, org, page_token, count
        ))
    }

    async fn create_webhook(
        &self,
        env: &EnvRef,
        name: &str,
        spec: &WebhookSpec,
        secret: Option<&Plaintext>,
    ) -> StoreResult<Webhook> {
        in_tx!(self, |tx| access::create_webhook(
            tx,
            &self.master,
            env,
            name,
            spec,
            secret
        ))
    }
    async fn webhook(&self, env: &EnvRef, name: &str) -> StoreResult<Webhook> {
        in_tx!(self, read, |tx| access::webhook(tx, env, name))
    }
    async fn list_webhooks(&self, env: &EnvRef) -> StoreResult<Vec<Webhook>> {
        in_tx!(self, read, |tx| access::list_webhooks(tx, env))
    }
    async fn update_webhook(
        &self,
        env: &EnvRef,
        name: &str,
        spec: &WebhookSpec,
        secret: &WebhookSecretUpdate,
    ) -> StoreResult<Webhook> {
        in_tx!(self, |tx| access::update_webhook(
            tx,
            &self.master,
            env,
            name,
            spec,
            secret
        ))
    }
    async fn delete_webhook(&self, env: &EnvRef, name: &str) -> StoreResult<()> {
        in_tx!(self, |tx| access::delete_webhook(tx, env, name))
    }
    async fn webhook_secret(&self, env: &EnvRef, name: &str) -> StoreResult<Option<Plaintext>> {
        in_tx!(self, read, |tx| access::webhook_secret(
            tx,
            &self.master,
            env,
            name
        ))
    }

    async fn record_webhook_delivery(
        &self,
        env: &EnvRef,
        name: &str,
        delivery: &NewWebhookDelivery,
    ) -> StoreResult<WebhookDelivery> {
        in_tx!(self, |tx| access::record_delivery(
            tx,
            &self.master,
            env,
            name,
            delivery
        ))
    }
    async fn list_webhook_deliveries(
        &self,
        env: &EnvRef,
        name: &str,
        count: u32,
    ) -> StoreResult<Vec<WebhookDelivery>> {
        in_tx!(self, read, |tx| access::list_deliveries(
            tx,
            &self.master,
            env,
            name,
            count
        ))
    }

    async fn put_signing_key(
        &self,
        kid: &str,
        algorithm: &str,
        private_key: &Plaintext,
    ) -> StoreResult<()> {
        in_tx!(self, |tx| access::put_signing_key(
            tx,
            &self.master,
            kid,
            algorithm,
            private_key
        ))
    }
    async fn list_signing_keys(&self) -> StoreResult<Vec<SigningKey>> {
        in_tx!(self, read, |tx| access::list_signing_keys(tx, &self.master))
    }
    async fn retire_signing_key(&self, kid: &str) -> StoreResult<()> {
        in_tx!(self, |tx| access::retire_signing_key(tx, kid))
    }
    async fn delete_signing_key(&self, kid: &str) -> StoreResult<()> {
        in_tx!(self, |tx| access::delete_signing_key(tx, kid))
    }
}

#[cfg(test)]
mod tests;
