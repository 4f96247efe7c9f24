//! Anonymous opens (spec/API.md #19/#20, what the Pulumi CLI uses for a
//! stack's environment): a definition given as text is evaluated fully in
//! an organization's context, like an open of a stored environment, and
//! its result kept as a session.
//!
//! The text is named `<yaml>` in diagnostics (as for `yaml/check`). Its
//! imports resolve within the organization and are loaded with the
//! caller's access, as a stored environment's are; providers run; a
//! plaintext `fn::secret` in it is secret in the result (a ciphertext is an
//! error: it belongs to no environment here).
//!
//! Sessions need an environment (their data key seals the result, and
//! the store binds each session to one), so each organization has one
//! reserved environment, [`anonymous_env`], created on first use: project
//! `yaml`, which no real environment may have (`check_env_ref`), and a
//! name with a `:`, which no import can name (`parse_import`). It has an
//! empty definition and is left out of listings; a session of it is read
//! only through [`Service::read_yaml_session_json`], so a session of
//! another organization (another reserved environment) is not found.

use std::sync::Arc;
use std::time::Duration;

use esc_eval::Mode;
use esc_store::{EnvRef, EnvironmentCipher, NewAuditEvent, StoreError, Timestamp};

use super::{Caller, Service, has_errors, session_result};
use crate::access::Permission;
use crate::error::{ServiceError, ServiceResult};
use crate::loader::NoDecrypter;
use crate::names::check_org;

/// The project of every organization's reserved environment of anonymous
/// sessions (reserved for real environments, see `check_env_ref`).
pub(crate) const ANONYMOUS_PROJECT: &str = "yaml";

/// The reserved environment's name: the `:` keeps it out of every import.
const ANONYMOUS_NAME: &str = "open:anonymous";

/// The name the text is given in diagnostics and the audit event.
const DOCUMENT_NAME: &str = "<yaml>";

/// The reserved environment holding `org`'s anonymous sessions.
pub(crate) fn anonymous_env(org: &str) -> EnvRef {
    EnvRef::new(org, ANONYMOUS_PROJECT, ANONYMOUS_NAME)
}

/// A kept anonymous open.
#[derive(Clone)]
pub struct AnonymousSession {
    /// The session id (a bearer secret for reading the result).
    pub id: String,
    /// When the session expires.
    pub expires: Timestamp,
}

/// Never prints the id: it is the capability to read the result.
impl std::fmt::Debug for AnonymousSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AnonymousSession")
            .field("id", &"[elided]")
            .field("expires", &self.expires)
            .finish()
    }
}

impl Service {
    /// Evaluates `yaml` fully inside `org` (imports, providers, secrets) and
    /// keeps the result as a session for `duration` (the default open
    /// duration when `None`). Mistakes in the text are
    /// [`ServiceError::Diagnostics`] and keep nothing.
    pub async fn open_yaml(
        &self,
        caller: &Caller,
        org: &str,
        yaml: &str,
        duration: Option<Duration>,
    ) -> ServiceResult<AnonymousSession> {
        check_org(org)?;
        self.require(caller, org, Permission::Open)?;
        self.check_size(yaml)?;
        let duration = self.open_duration(duration)?;
        let (definition, mut diagnostics) = esc_eval::load_definition(DOCUMENT_NAME, yaml);
        let Some(definition) = definition else {
            return Err(ServiceError::Diagnostics { diagnostics });
        };
        if has_errors(&diagnostics) {
            return Err(ServiceError::Diagnostics { diagnostics });
        }
        let (session, environments, _) = self.recorded_session(caller, org, Arc::new(NoDecrypter));
        let evaluation = esc_eval::evaluate(&definition, Mode::Eval, &session)
            .await
            .map_err(|error| ServiceError::invalid(error.to_string()))?;
        diagnostics.extend_from_slice(evaluation.diagnostics());
        if has_errors(&diagnostics) {
            return Err(ServiceError::Diagnostics { diagnostics });
        }
        let result = session_result(&evaluation)?;
        // what was opened, by name and revision: nothing of the text itself
        let imports: Vec<String> = environments
            .loaded()
            .iter()
            .map(|dependency| {
                format!(
                    "{}/{}@{}",
                    dependency.env.project, dependency.env.name, dependency.resolved.number
                )
            })
            .collect();
        let event = NewAuditEvent {
            time: Timestamp::now(),
            org: org.to_owned(),
            actor: caller.login.clone(),
            action: "environment.open_yaml".to_owned(),
            target: DOCUMENT_NAME.to_owned(),
            detail: if imports.is_empty() {
                "no imports".to_owned()
            } else {
                format!("imports {}", imports.join(", "))
            },
        };
        let env = anonymous_env(org);
        let cipher = self.anonymous_cipher(caller, &env).await?;
        let expires =
            Timestamp::now().plus_millis(i64::try_from(duration.as_millis()).unwrap_or(i64::MAX));
        // the session and its audit event in one transaction
        let id = self
            .inner
            .store
            .create_session(
                &env,
                &cipher,
                1,
                result.json.as_bytes(),
                expires,
                Some(&event),
            )
            .await?;
        self.inner.sessions.insert(&id, &env, expires, result);
        Ok(AnonymousSession { id, expires })
    }

    /// An anonymous session's Environment JSON (as kept when it was
    /// opened), or the `Value` JSON at `property`. Not found when unknown,
    /// expired or of another organization.
    pub async fn read_yaml_session_json(
        &self,
        caller: &Caller,
        org: &str,
        session_id: &str,
        property: Option<&str>,
    ) -> ServiceResult<String> {
        check_org(org)?;
        self.require(caller, org, Permission::Open)?;
        self.found_session(&anonymous_env(org), session_id, property)
            .await?
            .json_at(property)
    }

    /// The reserved environment's cipher, creating the environment (and
    /// the organization) on first use; two first uses at once both succeed.
    async fn anonymous_cipher(
        &self,
        caller: &Caller,
        env: &EnvRef,
    ) -> ServiceResult<EnvironmentCipher> {
        let store = &self.inner.store;
        match store.environment_cipher(env).await {
            Ok(cipher) => return Ok(cipher),
            Err(StoreError::NotFound { .. }) => {}
            Err(other) => return Err(other.into()),
        }
        self.ensure_org(&env.org).await?;
        match store.create_environment(env, &caller.author()).await {
            Ok(_) | Err(StoreError::AlreadyExists { .. }) => {}
            Err(other) => return Err(other.into()),
        }
        Ok(store.environment_cipher(env).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_prints_the_session_id() {
        let session = AnonymousSession {
            id: "bearer-7c1d".into(),
            expires: Timestamp::now(),
        };
        let printed = format!("{session:?}");
        assert!(!printed.contains("bearer-7c1d"), "{printed}");
        assert!(printed.contains("[elided]"), "{printed}");
    }

    #[test]
    fn the_reserved_environment_is_no_checkable_or_importable_name() {
        let env = anonymous_env("acme");
        assert!(crate::names::check_env_ref(&env).is_err());
        assert!(
            crate::names::parse_import("acme", &format!("{}/{}", env.project, env.name)).is_err()
        );
    }
}
