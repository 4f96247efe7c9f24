//! Referrers against a server: API.md #36.

use async_trait::async_trait;
use esc_eval::PlainValue;
use reqwest::Method;

use super::{RemoteBackend, segment, str_of, u64_of};
use crate::backend::BackendResult;
use crate::backend::referrers::{Referrer, ReferrerBackend, ReferrersPage, ReferrersQuery};
use crate::env_ref::EnvName;

#[async_trait]
impl ReferrerBackend for RemoteBackend {
    async fn referrers(
        &self,
        env: &EnvName,
        query: &ReferrersQuery,
    ) -> BackendResult<ReferrersPage> {
        let mut params = Vec::new();
        if let Some(count) = query.count {
            params.push(format!("count={count}"));
        }
        if query.all_revisions {
            params.push("allRevisions=true".to_owned());
        }
        if query.latest_stack_version_only {
            params.push("latestStackVersionOnly=true".to_owned());
        }
        if let Some(token) = query
            .continuation_token
            .as_deref()
            .filter(|t| !t.is_empty())
        {
            params.push(format!("continuationToken={}", segment(token)));
        }
        let mut path = format!("{}/referrers", Self::env_path(env));
        if !params.is_empty() {
            path.push('?');
            path.push_str(&params.join("&"));
        }
        let reply = self.json(Method::GET, &path, None).await?;
        let mut page = ReferrersPage {
            continuation_token: str_of(&reply, "continuationToken"),
            ..ReferrersPage::default()
        };
        if let Some(PlainValue::Object(groups)) = reply.member("referrers") {
            for (key, group) in groups {
                let list = page.referrers.entry(key.clone()).or_default();
                if let PlainValue::Array(items) = group {
                    list.extend(items.iter().map(referrer));
                }
            }
        }
        Ok(page)
    }
}

/// One referrer of the wire: exactly one of its kinds is set.
fn referrer(item: &PlainValue) -> Referrer {
    if let Some(env) = item.member("environment") {
        Referrer::Environment {
            project: str_of(env, "project"),
            name: str_of(env, "name"),
            revision: u64_of(env, "revision"),
        }
    } else if let Some(stack) = item.member("stack") {
        Referrer::Stack {
            project: str_of(stack, "project"),
            stack: str_of(stack, "stack"),
            version: u64_of(stack, "version"),
        }
    } else if let Some(account) = item.member("insightsAccount") {
        Referrer::Insights {
            account_name: str_of(account, "accountName"),
        }
    } else {
        Referrer::Unknown
    }
}
