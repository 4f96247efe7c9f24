//! The referrer call of a backend (spec/API.md #36), a supertrait of
//! [`super::Backend`] so each backend implements it in its own module
//! (`local/referrers.rs`, `remote/referrers.rs`).

use std::collections::BTreeMap;

use async_trait::async_trait;

use super::BackendResult;
use crate::env_ref::EnvName;

/// What one call asks for.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct ReferrersQuery {
    /// Page size (the server's default when `None`).
    pub(crate) count: Option<u32>,
    /// Also referrers of revisions other than `latest`.
    pub(crate) all_revisions: bool,
    /// Only the latest version of each referring stack.
    pub(crate) latest_stack_version_only: bool,
    /// Where the previous page ended.
    pub(crate) continuation_token: Option<String>,
}

/// Something that refers to an environment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Referrer {
    /// An environment that imports it, at a revision.
    Environment {
        project: String,
        name: String,
        revision: u64,
    },
    /// A stack whose configuration imports it, at an update version.
    Stack {
        project: String,
        stack: String,
        version: u64,
    },
    /// An Insights account that uses it.
    Insights { account_name: String },
    /// A kind this CLI does not know.
    Unknown,
}

/// One page of referrers.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct ReferrersPage {
    /// Referrers by the referenced version (`latest`, a number, a tag), in
    /// the order received.
    pub(crate) referrers: BTreeMap<String, Vec<Referrer>>,
    /// The next page's token, empty on the last page.
    pub(crate) continuation_token: String,
}

/// Listing referrers.
#[async_trait]
pub(crate) trait ReferrerBackend {
    /// One page of the referrers of `env`.
    async fn referrers(
        &self,
        env: &EnvName,
        query: &ReferrersQuery,
    ) -> BackendResult<ReferrersPage>;
}
