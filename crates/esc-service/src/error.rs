//! The one error type of the service. Messages name environments, revisions
//! and tags but never carry definition text or secret values.

use esc_syntax::Diagnostic;

/// Why a service operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServiceError {
    /// No valid credentials were presented.
    #[error("unauthorized: {reason}")]
    Unauthenticated {
        /// What was wrong with the credentials.
        reason: &'static str,
    },
    /// The caller may not do this.
    #[error("forbidden: {reason}")]
    Forbidden {
        /// What permission was missing.
        reason: String,
    },
    /// The named object does not exist.
    #[error("{what} not found")]
    NotFound {
        /// What was looked for, e.g. `environment 'acme/app/dev'`.
        what: String,
    },
    /// An object with that name already exists.
    #[error("{what} already exists")]
    AlreadyExists {
        /// What could not be created.
        what: String,
    },
    /// The writer's etag or expected value is stale; nothing was changed.
    #[error("{reason}")]
    Conflict {
        /// What changed since the caller read it.
        reason: String,
    },
    /// The environment has deletion protection turned on.
    #[error("environment '{env}' is protected from deletion; turn deletion protection off first")]
    DeletionProtected {
        /// The environment, as `org/project/name`.
        env: String,
    },
    /// The revision was retracted.
    #[error("revision {revision} is retracted")]
    Retracted {
        /// The retracted revision.
        revision: u64,
    },
    /// The request is malformed.
    #[error("{reason}")]
    Invalid {
        /// What is wrong.
        reason: String,
    },
    /// The definition has errors; nothing was stored or opened.
    #[error("the definition has {} error(s)", .diagnostics.len())]
    Diagnostics {
        /// The diagnostics (errors and warnings).
        diagnostics: Vec<Diagnostic>,
    },
    /// The machine failed (database, cryptography, evaluation limits). The
    /// text is for logs; callers see a generic message.
    #[error("internal error: {0}")]
    Internal(String),
}

impl ServiceError {
    pub(crate) fn invalid(reason: impl Into<String>) -> Self {
        Self::Invalid {
            reason: reason.into(),
        }
    }

    pub(crate) fn forbidden(reason: impl Into<String>) -> Self {
        Self::Forbidden {
            reason: reason.into(),
        }
    }
}

impl From<esc_store::StoreError> for ServiceError {
    fn from(error: esc_store::StoreError) -> Self {
        use esc_store::StoreError as S;
        match error {
            S::NotFound { what } => Self::NotFound { what },
            S::AlreadyExists { what } => Self::AlreadyExists { what },
            S::Conflict { current_revision } => Self::Conflict {
                reason: format!(
                    "the environment has changed since it was read (it is now at revision {current_revision})"
                ),
            },
            S::Changed { what } => Self::Conflict {
                reason: format!("{what} was changed by someone else"),
            },
            S::DeletionProtected { env } => Self::DeletionProtected { env },
            S::Retracted { revision } => Self::Retracted { revision },
            S::Invalid { reason } => Self::Invalid { reason },
            other => Self::Internal(other.to_string()),
        }
    }
}

/// Shorthand for this crate's results.
pub type ServiceResult<T> = Result<T, ServiceError>;

impl From<esc_syntax::edit::EditError> for ServiceError {
    fn from(error: esc_syntax::edit::EditError) -> Self {
        Self::Invalid {
            reason: error.to_string(),
        }
    }
}
