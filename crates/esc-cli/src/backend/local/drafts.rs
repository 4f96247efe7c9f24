//! Drafts in local mode: the service's draft operations on the local store.
//! There is no console, so no change request links.

use std::time::Duration;

use async_trait::async_trait;
use esc_service::ServiceError;

use super::{LocalBackend, api_error, store_ref};
use crate::backend::drafts::{DraftBackend, DraftWrite};
use crate::backend::{BackendError, BackendResult, DefinitionText, Evaluated};
use crate::env_ref::EnvName;

impl LocalBackend {
    fn draft_write(
        &self,
        result: Result<esc_service::DraftOutcome, ServiceError>,
    ) -> BackendResult<DraftWrite> {
        match result {
            Ok(outcome) => Ok(DraftWrite {
                id: Some(outcome.id),
                diagnostics: outcome.warnings.iter().map(|d| self.diag(d)).collect(),
            }),
            Err(ServiceError::Diagnostics { diagnostics }) => Ok(DraftWrite {
                id: None,
                diagnostics: diagnostics.iter().map(|d| self.diag(d)).collect(),
            }),
            Err(e) => Err(api_error(e)),
        }
    }
}

#[async_trait]
impl DraftBackend for LocalBackend {
    async fn create_draft(
        &self,
        env: &EnvName,
        yaml: &str,
        etag: Option<&str>,
    ) -> BackendResult<DraftWrite> {
        let result = self
            .service
            .create_draft(&self.caller, &store_ref(env), yaml, etag)
            .await;
        self.draft_write(result)
    }

    async fn draft(&self, env: &EnvName, id: &str) -> BackendResult<DefinitionText> {
        let draft = self
            .service
            .draft(&self.caller, &store_ref(env), id)
            .await
            .map_err(api_error)?;
        let yaml = draft
            .yaml
            .expose_str()
            .ok_or_else(|| BackendError::Other(anyhow::anyhow!("the draft is not UTF-8")))?
            .to_string();
        Ok(DefinitionText {
            yaml,
            etag: Some(draft.etag),
        })
    }

    async fn update_draft(
        &self,
        env: &EnvName,
        id: &str,
        yaml: &str,
        etag: Option<&str>,
    ) -> BackendResult<DraftWrite> {
        let result = self
            .service
            .update_draft(&self.caller, &store_ref(env), id, yaml, etag)
            .await;
        self.draft_write(result)
    }

    async fn open_draft(
        &self,
        env: &EnvName,
        id: &str,
        lifetime: Duration,
    ) -> BackendResult<Evaluated> {
        let env_ref = store_ref(env);
        let opened = self
            .service
            .open_draft(&self.caller, &env_ref, id, Some(lifetime))
            .await;
        self.read_opened(&env_ref, opened).await
    }

    async fn submit_draft(&self, org: &str, id: &str) -> BackendResult<()> {
        self.service
            .submit_draft(&self.caller, org, id, None)
            .await
            .map_err(api_error)?;
        Ok(())
    }

    fn change_request_url(&self, _env: &EnvName, _id: &str) -> Option<String> {
        None
    }
}
