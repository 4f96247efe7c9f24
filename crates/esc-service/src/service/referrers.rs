//! Referrers of an environment (spec/API.md #36): the environments of its
//! organization whose newest definition imports it. A self-hosted server
//! knows no stacks or Insights accounts, so environments are the only kind.
//!
//! Each referrer is listed under the version its import names: `latest`
//! for a bare name (or `@latest`), the revision number for `@3`, the tag
//! for `@stable`. By default only `latest` is listed (who follows this
//! environment's newest revision); `all_revisions` lists the imports pinned
//! to other revisions and tags too. Only environments the caller may read
//! are listed.
//!
//! Pages are in (project, name, version) order; a continuation token names
//! the last entry of its page, so a page never repeats or skips an entry
//! that existed on both reads.

use esc_store::{EnvRef, LATEST_TAG};
use esc_syntax::{Node, NodeKind};

use super::{Caller, Service, utf8};
use crate::access::Permission;
use crate::error::{ServiceError, ServiceResult};
use crate::names::{Version, check_env_ref, parse_import};

/// The most referrers one page may hold.
pub const MAX_REFERRERS_PAGE: u32 = 500;

/// Environments read per store statement while scanning for referrers
/// (each holds a definition of up to the body limit in memory).
const SCAN_PAGE: u32 = 32;

/// What [`Service::referrers`] lists.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReferrersQuery {
    /// Also imports pinned to a revision number or tag, not only `latest`.
    pub all_revisions: bool,
    /// Largest page, 1 to [`MAX_REFERRERS_PAGE`].
    pub count: u32,
    /// Where the previous page ended (its [`ReferrersPage::continuation_token`]).
    pub continuation_token: Option<String>,
}

/// An environment whose newest definition imports the one asked about.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EnvironmentReferrer {
    /// The version the import names: `latest`, a revision number or a tag.
    pub referenced: String,
    /// The referring environment's project.
    pub project: String,
    /// The referring environment's name.
    pub name: String,
    /// The referring environment's revision that holds the import (its newest).
    pub revision: u64,
}

/// One page of referrers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReferrersPage {
    /// In (project, name, referenced) order.
    pub referrers: Vec<EnvironmentReferrer>,
    /// Token of the next page; `None` on the last one.
    pub continuation_token: Option<String>,
}

impl Service {
    /// The environments of `env`'s organization whose newest definition
    /// imports `env` (see the module documentation), one page at a time.
    /// Needs read permission on `env`; lists only referrers the caller may
    /// read.
    pub async fn referrers(
        &self,
        caller: &Caller,
        env: &EnvRef,
        query: &ReferrersQuery,
    ) -> ServiceResult<ReferrersPage> {
        check_env_ref(env)?;
        self.require(caller, env, Permission::Read)?;
        if !(1..=MAX_REFERRERS_PAGE).contains(&query.count) {
            return Err(ServiceError::invalid(format!(
                "count must be between 1 and {MAX_REFERRERS_PAGE}"
            )));
        }
        let after = query
            .continuation_token
            .as_deref()
            .map(decode_token)
            .transpose()?;
        // Every environment's newest definition, a page of them per
        // statement so memory stays bounded (the asked-about one is among
        // them, so they say whether it exists); only those the caller may
        // read are parsed.
        let mut exists = false;
        let mut found = Vec::new();
        let mut last: Option<EnvRef> = None;
        loop {
            let page = self
                .inner
                .store
                .newest_definitions(&env.org, last.as_ref(), SCAN_PAGE)
                .await?;
            let full = page.len() == SCAN_PAGE as usize;
            last = page.last().map(|candidate| candidate.env.clone());
            for candidate in page {
                exists |= candidate.env == *env;
                if !self.allowed(caller, &candidate.env, Permission::Read) {
                    continue;
                }
                let text = utf8(&candidate.yaml)?;
                found.extend(
                    imports_of(&env.org, text, env)
                        .into_iter()
                        .filter(|referenced| query.all_revisions || referenced == LATEST_TAG)
                        .map(|referenced| EnvironmentReferrer {
                            referenced,
                            project: candidate.env.project.clone(),
                            name: candidate.env.name.clone(),
                            revision: candidate.revision,
                        }),
                );
            }
            if !full {
                break;
            }
        }
        if !exists {
            return Err(ServiceError::NotFound {
                what: format!("environment '{env}'"),
            });
        }
        Ok(paginate(found, after.as_ref(), query.count as usize))
    }
}

/// The versions under which `text` (a definition of an environment of
/// `org`) imports `target`: `latest`, a revision number or a tag, each once.
fn imports_of(org: &str, text: &str, target: &EnvRef) -> Vec<String> {
    // Without the name and without an escape the text cannot name the
    // environment: skip the parse. (Names are `[A-Za-z0-9_.-]`, so folding
    // cannot split one; only a double-quoted escape could spell it.)
    if !text.contains(target.name.as_str()) && !text.contains('\\') {
        return Vec::new();
    }
    let Ok(Some(root)) = esc_syntax::parse_document("referrer", text) else {
        return Vec::new();
    };
    let NodeKind::Mapping(entries) = &root.kind else {
        return Vec::new();
    };
    let Some((_, imports)) = entries
        .iter()
        .find(|(key, _)| key.as_str() == Some("imports"))
    else {
        return Vec::new();
    };
    let NodeKind::Sequence(items) = &imports.kind else {
        return Vec::new();
    };
    let mut versions: Vec<String> = items
        .iter()
        .filter_map(import_name)
        .filter_map(|name| parse_import(org, name).ok())
        .filter(|(imported, _)| imported == target)
        .map(|(_, version)| match version {
            Version::Latest => LATEST_TAG.to_owned(),
            Version::Number(number) => number.to_string(),
            Version::Tag(tag) => tag,
        })
        .collect();
    versions.sort();
    versions.dedup();
    versions
}

/// The name of an import item: a string, or the one key of a mapping.
fn import_name(item: &Node) -> Option<&str> {
    match &item.kind {
        NodeKind::String { value, .. } => Some(value),
        NodeKind::Mapping(entries) if entries.len() == 1 => entries[0].0.as_str(),
        _ => None,
    }
}

/// Sort, skip up to and including `after`, cut at `count`.
fn paginate(
    mut found: Vec<EnvironmentReferrer>,
    after: Option<&Cursor>,
    count: usize,
) -> ReferrersPage {
    found.sort_by_key(cursor_of);
    let start = after.map_or(0, |after| found.partition_point(|r| cursor_of(r) <= *after));
    let mut rest = found.split_off(start);
    let continuation_token = if rest.len() > count {
        rest.truncate(count);
        rest.last().map(|last| encode_token(&cursor_of(last)))
    } else {
        None
    };
    ReferrersPage {
        referrers: rest,
        continuation_token,
    }
}

/// Where a page ended: (project, name, referenced).
type Cursor = (String, String, String);

fn cursor_of(referrer: &EnvironmentReferrer) -> Cursor {
    (
        referrer.project.clone(),
        referrer.name.clone(),
        referrer.referenced.clone(),
    )
}

/// A cursor as an opaque token: hex of its JSON array (safe in a query
/// string as is).
fn encode_token(cursor: &Cursor) -> String {
    let json = serde_json::json!([cursor.0, cursor.1, cursor.2]).to_string();
    json.bytes().map(|b| format!("{b:02x}")).collect()
}

fn decode_token(token: &str) -> ServiceResult<Cursor> {
    let invalid = || ServiceError::invalid("invalid continuation token");
    if !token.len().is_multiple_of(2) || token.len() > 4096 {
        return Err(invalid());
    }
    let bytes = (0..token.len())
        .step_by(2)
        .map(|i| {
            token
                .get(i..i + 2)
                .and_then(|pair| u8::from_str_radix(pair, 16).ok())
        })
        .collect::<Option<Vec<u8>>>()
        .ok_or_else(invalid)?;
    let parts: Vec<String> = serde_json::from_slice(&bytes).map_err(|_| invalid())?;
    match <[String; 3]>::try_from(parts) {
        Ok([project, name, referenced]) => Ok((project, name, referenced)),
        Err(_) => Err(invalid()),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn target() -> EnvRef {
        EnvRef::new("acme", "shared", "base")
    }

    #[test]
    fn imports_are_found_by_name_and_version() {
        let text = "imports:\n  - shared/base\n  - shared/base@3\n  - other/base\n  - shared/base@stable\n  - shared/base@latest\n  - {shared/base@3: {merge: false}}\nvalues: {}\n";
        assert_eq!(
            imports_of("acme", text, &target()),
            ["3", "latest", "stable"]
        );
        // legacy one-part names live in project `default`
        let legacy = EnvRef::new("acme", "default", "base");
        assert_eq!(imports_of("acme", "imports: [base]\n", &legacy), ["latest"]);
        assert!(imports_of("acme", "imports: [base]\n", &target()).is_empty());
        // escapes spell the name too
        assert_eq!(
            imports_of("acme", "imports: [\"shared/\\x62ase\"]\n", &target()),
            ["latest"]
        );
        // no imports, broken text, values that merely mention the name
        assert!(imports_of("acme", "values: {a: shared/base}\n", &target()).is_empty());
        assert!(imports_of("acme", "imports: [shared/base\n", &target()).is_empty());
        assert!(imports_of("acme", "imports: shared/base\n", &target()).is_empty());
    }

    fn referrer(project: &str, name: &str, referenced: &str) -> EnvironmentReferrer {
        EnvironmentReferrer {
            referenced: referenced.into(),
            project: project.into(),
            name: name.into(),
            revision: 2,
        }
    }

    #[test]
    fn pages_follow_each_other_without_gaps() {
        let all = vec![
            referrer("b", "x", "latest"),
            referrer("a", "y", "latest"),
            referrer("a", "y", "3"),
            referrer("a", "z", "latest"),
        ];
        let first = paginate(all.clone(), None, 2);
        assert_eq!(
            first.referrers,
            [referrer("a", "y", "3"), referrer("a", "y", "latest")]
        );
        let token = first.continuation_token.unwrap();
        let cursor = decode_token(&token).unwrap();
        let second = paginate(all.clone(), Some(&cursor), 2);
        assert_eq!(
            second.referrers,
            [referrer("a", "z", "latest"), referrer("b", "x", "latest")]
        );
        assert_eq!(second.continuation_token, None);
        // an entry removed between the reads is not a reason to repeat one
        let fewer: Vec<_> = all.into_iter().filter(|r| r.name != "y").collect();
        let second = paginate(fewer, Some(&cursor), 2);
        assert_eq!(second.referrers.len(), 2);
        assert_eq!(second.referrers[0], referrer("a", "z", "latest"));
    }

    #[test]
    fn bad_tokens_are_refused() {
        for token in ["zz", "abc", "5b5d", "7b7d", &"00".repeat(3000)] {
            assert!(
                matches!(decode_token(token), Err(ServiceError::Invalid { .. })),
                "{token}"
            );
        }
    }
}
