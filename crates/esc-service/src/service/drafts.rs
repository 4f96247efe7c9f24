//! Drafts (change requests, spec/API.md 5.12 and #50-54), the self-hosted
//! way: there are no approval rules, so submitting a draft applies it.
//!
//! A draft is a proposed definition of an environment, validated like an
//! update and stored sealed like a revision, written against the newest
//! revision at its creation (its *base*). Anyone who may write the
//! environment creates, edits (with the draft's etag as `If-Match`) and
//! submits drafts; who may open it opens one. Submitting writes the draft
//! as the next revision only while the base is still the newest revision
//! (optimistic concurrency: otherwise `Conflict`, and nothing changes) and
//! marks it applied; an applied draft can be neither edited nor submitted
//! again (`Invalid`, 400). Every write is an audit event; a submit also
//! notifies the environment's webhooks like an update.

use std::sync::Arc;
use std::time::Duration;

use esc_eval::Mode;
use esc_store::{Draft, EnvRef, Plaintext, Revision, RevisionContent, StoreError, Timestamp};
use esc_syntax::Diagnostic;

use super::{Caller, OpenedSession, Service, audit_event, session_result, with_env_name};
use crate::access::Permission;
use crate::error::{ServiceError, ServiceResult};
use crate::names::{check_env_ref, check_org};

/// The result of creating or editing a draft.
#[derive(Clone, Debug)]
pub struct DraftOutcome {
    /// The draft's id (the change request id).
    pub id: String,
    /// The environment's newest revision the draft was written against.
    pub latest_revision: u64,
    /// The draft's new etag (for the next edit's `If-Match`).
    pub etag: String,
    /// Warnings of the validation (no errors).
    pub warnings: Vec<Diagnostic>,
}

/// A draft's definition as read.
#[derive(Debug)]
pub struct DraftDefinition {
    /// The YAML text (secrets as ciphertext).
    pub yaml: Plaintext,
    /// The draft's etag (for `If-Match` on an edit).
    pub etag: String,
}

impl Service {
    /// Creates a draft of `env` holding `yaml` (validated as an update is;
    /// plaintext secrets sealed). With `if_match` (an etag of the
    /// environment), `Conflict` unless it names the newest revision.
    pub async fn create_draft(
        &self,
        caller: &Caller,
        env: &EnvRef,
        yaml: &str,
        if_match: Option<&str>,
    ) -> ServiceResult<DraftOutcome> {
        check_env_ref(env)?;
        self.require(caller, env, Permission::Write)?;
        self.check_size(yaml)?;
        let expected = self.expected_revision(env, if_match).await?;
        let (sealed, warnings) = self.validated_and_sealed(caller, env, yaml).await?;
        let draft = self
            .inner
            .store
            .create_draft(env, sealed.as_bytes(), expected, &caller.author())
            .await
            .map_err(|error| with_env_name(error, env))?;
        self.audit(
            caller,
            env,
            "environment.draft.create",
            &format!("draft {} of revision {}", draft.id, draft.base_revision),
        )
        .await?;
        Ok(outcome(&draft, warnings))
    }

    /// A draft of `env`, with its etag. Needs read permission.
    pub async fn draft(
        &self,
        caller: &Caller,
        env: &EnvRef,
        id: &str,
    ) -> ServiceResult<DraftDefinition> {
        check_env_ref(env)?;
        self.require(caller, env, Permission::Read)?;
        let content = self.draft_of(env, id).await?;
        Ok(DraftDefinition {
            etag: draft_etag(&content.draft),
            yaml: content.yaml,
        })
    }

    /// Replaces an open draft's definition (validated, secrets sealed).
    /// With `if_match` (the draft's etag), `Conflict` unless nobody edited
    /// it since; `Invalid` once submitted.
    pub async fn update_draft(
        &self,
        caller: &Caller,
        env: &EnvRef,
        id: &str,
        yaml: &str,
        if_match: Option<&str>,
    ) -> ServiceResult<DraftOutcome> {
        check_env_ref(env)?;
        self.require(caller, env, Permission::Write)?;
        self.check_size(yaml)?;
        let current = self.draft_of(env, id).await?.draft;
        let expected = match if_match {
            Some(tag) => Some(parse_draft_etag(tag, id)?),
            None => None,
        };
        let (sealed, warnings) = self.validated_and_sealed(caller, env, yaml).await?;
        let draft = self
            .inner
            .store
            .update_draft(&env.org, &current.id, sealed.as_bytes(), expected)
            .await?;
        self.audit(
            caller,
            env,
            "environment.draft.update",
            &format!("draft {} version {}", draft.id, draft.version),
        )
        .await?;
        Ok(outcome(&draft, warnings))
    }

    /// Evaluates a draft fully and keeps the result as a session of `env`
    /// (read as any session, API #17). Needs open permission.
    pub async fn open_draft(
        &self,
        caller: &Caller,
        env: &EnvRef,
        id: &str,
        duration: Option<Duration>,
    ) -> ServiceResult<OpenedSession> {
        check_env_ref(env)?;
        self.require(caller, env, Permission::Open)?;
        let duration = duration.unwrap_or(self.inner.config.default_open_duration);
        if duration.is_zero() || duration > self.inner.config.max_open_duration {
            return Err(ServiceError::invalid(format!(
                "the open duration must be positive and at most {}s",
                self.inner.config.max_open_duration.as_secs()
            )));
        }
        let content = self.draft_of(env, id).await?;
        let cipher = Arc::new(self.inner.store.environment_cipher(env).await?);
        let base = content.draft.base_revision;
        // Revision 0 never exists: the parsed-definition cache keeps the
        // draft's text apart from every stored revision's.
        let as_revision = RevisionContent {
            revision: Revision {
                number: 0,
                created: content.draft.modified,
                author: content.draft.author.clone(),
                tags: Vec::new(),
                retracted: None,
            },
            yaml: content.yaml,
        };
        let (evaluation, _) = self
            .evaluate_stored_recorded(caller, env, &as_revision, Mode::Eval, cipher.clone())
            .await?;
        let result = session_result(&evaluation)?;
        let expires =
            Timestamp::now().plus_millis(i64::try_from(duration.as_millis()).unwrap_or(i64::MAX));
        let event = audit_event(
            caller,
            env,
            "environment.draft.open",
            &format!("draft {} of revision {base}", content.draft.id),
        );
        let session_id = self
            .inner
            .store
            .create_session(
                env,
                &cipher,
                base,
                result.json.as_bytes(),
                expires,
                Some(&event),
            )
            .await
            .map_err(|error| with_env_name(error, env))?;
        self.inner
            .sessions
            .insert(&session_id, env, expires, result);
        Ok(OpenedSession {
            id: session_id,
            revision: base,
            expires,
        })
    }

    /// Submits the change request `id` of organization `org`: applies the
    /// draft as its environment's next revision (see the module
    /// documentation). Needs write permission on the environment.
    pub async fn submit_draft(
        &self,
        caller: &Caller,
        org: &str,
        id: &str,
        description: Option<&str>,
    ) -> ServiceResult<Revision> {
        check_org(org)?;
        let found = self.inner.store.draft(org, id).await;
        let env = match found {
            Ok(content) => content.draft.env,
            Err(StoreError::NotFound { .. }) => return Err(draft_not_found(id)),
            Err(error) => return Err(error.into()),
        };
        self.require(caller, &env, Permission::Write)?;
        let (draft, revision) = self
            .inner
            .store
            .apply_draft(org, id, description.unwrap_or(""), &caller.author())
            .await
            .map_err(|error| with_env_name(error, &env))?;
        self.audit(
            caller,
            &env,
            "environment.draft.apply",
            &format!("draft {} as revision {}", draft.id, revision.number),
        )
        .await?;
        self.notify_webhooks(caller, &env, "updated", Some(revision.number), None);
        Ok(revision)
    }

    /// The draft `id` if it belongs to `env` (`NotFound` otherwise, so
    /// drafts of other environments are not disclosed).
    async fn draft_of(&self, env: &EnvRef, id: &str) -> ServiceResult<esc_store::DraftContent> {
        match self.inner.store.draft(&env.org, id).await {
            Ok(content) if content.draft.env == *env => Ok(content),
            Ok(_) | Err(StoreError::NotFound { .. }) => Err(draft_not_found(id)),
            Err(error) => Err(error.into()),
        }
    }
}

fn outcome(draft: &Draft, warnings: Vec<Diagnostic>) -> DraftOutcome {
    DraftOutcome {
        id: draft.id.clone(),
        latest_revision: draft.base_revision,
        etag: draft_etag(draft),
        warnings,
    }
}

fn draft_not_found(id: &str) -> ServiceError {
    ServiceError::NotFound {
        what: format!(
            "change request '{}'",
            id.chars().take(100).collect::<String>()
        ),
    }
}

/// A draft's etag: its id and edit count.
fn draft_etag(draft: &Draft) -> String {
    format!("{}-v{}", draft.id, draft.version)
}

/// The edit count a draft etag names; an etag of another draft (or not a
/// draft etag) is a conflict. Tolerates quotes and `W/`.
fn parse_draft_etag(tag: &str, id: &str) -> ServiceResult<u64> {
    let tag = tag.trim();
    let tag = tag.strip_prefix("W/").unwrap_or(tag);
    let tag = tag.trim_matches('"');
    tag.strip_prefix(id)
        .and_then(|rest| rest.strip_prefix("-v"))
        .and_then(|number| number.parse::<u64>().ok())
        .ok_or_else(|| ServiceError::Conflict {
            reason: "the etag does not name this draft; read it again".into(),
        })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn draft_etags_name_the_draft_and_its_version() {
        assert_eq!(parse_draft_etag("abc-v3", "abc").unwrap(), 3);
        assert_eq!(parse_draft_etag("W/\"abc-v3\"", "abc").unwrap(), 3);
        assert!(parse_draft_etag("abc-v3", "abd").is_err());
        assert!(parse_draft_etag("abc-3", "abc").is_err());
        assert!(parse_draft_etag("", "abc").is_err());
    }
}
