//! The draft (change request) calls of a backend (spec/API.md § 5.12), a
//! supertrait of [`super::Backend`] implemented in `local/drafts.rs` and
//! `remote/drafts.rs`.

use std::time::Duration;

use async_trait::async_trait;

use super::{BackendResult, DefinitionText, Diag, Evaluated};
use crate::env_ref::EnvName;

/// The outcome of writing a draft: its id when stored, else the
/// diagnostics that rejected it (warnings come with an id too).
#[derive(Debug)]
pub(crate) struct DraftWrite {
    /// The change request id; `None` when diagnostics rejected the text.
    pub(crate) id: Option<String>,
    /// Diagnostics of the validation.
    pub(crate) diagnostics: Vec<Diag>,
}

/// Drafts of environments.
#[async_trait]
pub(crate) trait DraftBackend {
    /// Create a draft of `env` holding `yaml`; `etag` (of the environment)
    /// guards against lost updates.
    async fn create_draft(
        &self,
        env: &EnvName,
        yaml: &str,
        etag: Option<&str>,
    ) -> BackendResult<DraftWrite>;
    /// The draft `id`'s definition and etag.
    async fn draft(&self, env: &EnvName, id: &str) -> BackendResult<DefinitionText>;
    /// Replace draft `id`'s definition; `etag` (of the draft) guards it.
    async fn update_draft(
        &self,
        env: &EnvName,
        id: &str,
        yaml: &str,
        etag: Option<&str>,
    ) -> BackendResult<DraftWrite>;
    /// Open (evaluate) draft `id`.
    async fn open_draft(
        &self,
        env: &EnvName,
        id: &str,
        lifetime: Duration,
    ) -> BackendResult<Evaluated>;
    /// Submit change request `id` of `org`.
    async fn submit_draft(&self, org: &str, id: &str) -> BackendResult<()>;
    /// The console link of change request `id`, when there is a console.
    fn change_request_url(&self, env: &EnvName, id: &str) -> Option<String>;
}
