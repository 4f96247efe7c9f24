//! Referrers in local mode: the service's operation on the local store.

use async_trait::async_trait;

use super::{LocalBackend, api_error, store_ref};
use crate::backend::BackendResult;
use crate::backend::referrers::{Referrer, ReferrerBackend, ReferrersPage, ReferrersQuery};
use crate::env_ref::EnvName;

/// Page size when the command names none (the server's default too).
const DEFAULT_COUNT: u32 = 100;

#[async_trait]
impl ReferrerBackend for LocalBackend {
    async fn referrers(
        &self,
        env: &EnvName,
        query: &ReferrersQuery,
    ) -> BackendResult<ReferrersPage> {
        let page = self
            .service
            .referrers(
                &self.caller,
                &store_ref(env),
                &esc_service::ReferrersQuery {
                    all_revisions: query.all_revisions,
                    count: query.count.unwrap_or(DEFAULT_COUNT),
                    continuation_token: query.continuation_token.clone(),
                },
            )
            .await
            .map_err(api_error)?;
        let mut out = ReferrersPage {
            continuation_token: page.continuation_token.unwrap_or_default(),
            ..ReferrersPage::default()
        };
        for referrer in page.referrers {
            out.referrers
                .entry(referrer.referenced)
                .or_default()
                .push(Referrer::Environment {
                    project: referrer.project,
                    name: referrer.name,
                    revision: referrer.revision,
                });
        }
        Ok(out)
    }
}
