//! Wire shapes (DTOs) of the API and their conversions from domain types.
//! Domain types stay in esc-store/esc-service; only this module knows the
//! JSON field names.

use axum::body::Body;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use esc_eval::PlainValue;
use esc_store::{Environment, EnvironmentTag, Revision, RevisionTag};
use serde::{Deserialize, Deserializer, Serialize};

use crate::log::Fault;

pub(crate) mod webhooks;

/// A JSON response: compact, followed by one `\n` (Go's encoder).
pub(crate) fn json_response<T: Serialize>(status: StatusCode, body: &T) -> Response {
    match serde_json::to_vec(body) {
        Ok(mut bytes) => {
            bytes.push(b'\n');
            with_type(status, bytes, "application/json")
        }
        Err(error) => encoding_failed(&error),
    }
}

/// A JSON response from exact-number plain data; a number JSON has no form
/// for (a definition's `.nan`) is the definition's fault, a 400.
pub(crate) fn plain_response(
    status: StatusCode,
    value: &PlainValue,
) -> Result<Response, crate::error::ApiError> {
    let mut text = value.to_json().map_err(esc_service::not_json)?;
    text.push('\n');
    Ok(with_type(status, text.into_bytes(), "application/json"))
}

/// The 500 answer when a response could not be encoded; the request log
/// reports `error`.
fn encoding_failed(error: &dyn std::fmt::Display) -> Response {
    let mut response = with_type(
        StatusCode::INTERNAL_SERVER_ERROR,
        b"{\"code\":500,\"message\":\"Internal Server Error\"}\n".to_vec(),
        "application/json",
    );
    let fault = format!("encoding a response failed: {error}");
    response.extensions_mut().insert(Fault(fault.into()));
    response
}

/// A response with a body and content type.
pub(crate) fn with_type(status: StatusCode, body: Vec<u8>, content_type: &'static str) -> Response {
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

/// 204 with no body.
pub(crate) fn no_content() -> Response {
    let mut response = Response::new(Body::empty());
    *response.status_mut() = StatusCode::NO_CONTENT;
    response
}

/// `OrgEnvironment`.
#[derive(Serialize)]
pub(crate) struct OrgEnvironment {
    organization: String,
    project: String,
    name: String,
    created: String,
    modified: String,
}

impl From<&Environment> for OrgEnvironment {
    fn from(env: &Environment) -> Self {
        Self {
            organization: env.name.org.clone(),
            project: env.name.project.clone(),
            name: env.name.name.clone(),
            created: env.created.rfc3339(),
            modified: env.modified.rfc3339(),
        }
    }
}

/// `{"environments": [...], "nextToken": "..."}`.
#[derive(Serialize)]
pub(crate) struct OrgEnvironments {
    /// The page.
    pub(crate) environments: Vec<OrgEnvironment>,
    /// Empty when this is the last page.
    #[serde(rename = "nextToken")]
    pub(crate) next_token: String,
}

/// `EnvironmentRevision`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct WireRevision {
    number: u64,
    created: String,
    creator_login: String,
    creator_name: String,
    tags: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    retracted: Option<WireRetraction>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct WireRetraction {
    replacement: u64,
    at: String,
    by_login: String,
    by_name: String,
    reason: String,
}

impl From<&Revision> for WireRevision {
    fn from(revision: &Revision) -> Self {
        Self {
            number: revision.number,
            created: revision.created.rfc3339(),
            creator_login: revision.author.login.clone(),
            creator_name: revision.author.name.clone(),
            tags: revision.tags.clone(),
            retracted: revision.retracted.as_ref().map(|r| WireRetraction {
                replacement: r.replacement,
                at: r.at.rfc3339(),
                by_login: r.by.login.clone(),
                by_name: r.by.name.clone(),
                reason: r.reason.clone(),
            }),
        }
    }
}

/// `RevisionTag`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct WireRevisionTag {
    name: String,
    revision: u64,
    created: String,
    modified: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    editor_login: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    editor_name: Option<String>,
}

impl From<&RevisionTag> for WireRevisionTag {
    fn from(tag: &RevisionTag) -> Self {
        Self {
            name: tag.name.clone(),
            revision: tag.revision,
            created: tag.created.rfc3339(),
            modified: tag.modified.rfc3339(),
            editor_login: tag.editor.as_ref().map(|e| e.login.clone()),
            editor_name: tag.editor.as_ref().map(|e| e.name.clone()),
        }
    }
}

/// `{"tags": [RevisionTag], "nextToken": "..."}`.
#[derive(Serialize)]
pub(crate) struct WireRevisionTags {
    /// The page.
    pub(crate) tags: Vec<WireRevisionTag>,
    /// Cursor (the last name) when the page was full, else empty.
    #[serde(rename = "nextToken")]
    pub(crate) next_token: String,
}

/// `EnvironmentTag`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct WireEnvironmentTag {
    id: String,
    name: String,
    value: String,
    created: String,
    modified: String,
    editor_login: String,
    editor_name: String,
}

impl From<&EnvironmentTag> for WireEnvironmentTag {
    fn from(tag: &EnvironmentTag) -> Self {
        Self {
            id: tag.id.clone(),
            name: tag.name.clone(),
            value: tag.value.clone(),
            created: tag.created.rfc3339(),
            modified: tag.modified.rfc3339(),
            editor_login: tag.editor.login.clone(),
            editor_name: tag.editor.name.clone(),
        }
    }
}

/// `{"tags": {name: EnvironmentTag}, "nextToken": "0"|cursor}`.
#[derive(Serialize)]
pub(crate) struct WireEnvironmentTags {
    /// Tags by name.
    pub(crate) tags: std::collections::BTreeMap<String, WireEnvironmentTag>,
    /// `"0"` when there are no more pages.
    #[serde(rename = "nextToken")]
    pub(crate) next_token: String,
}

/// Body of `POST /api/esc/environments/{org}`.
#[derive(Deserialize)]
pub(crate) struct CreateEnvironment {
    /// Project (the CLI sends `default` for one-part names).
    #[serde(default)]
    pub(crate) project: Option<String>,
    /// Environment name.
    pub(crate) name: String,
}

/// Body of `POST E/clone`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CloneEnvironment {
    /// Destination project (default: the source's).
    #[serde(default)]
    pub(crate) project: Option<String>,
    /// Destination name.
    pub(crate) name: String,
    /// The source revision to clone (the Go client's optional `version`;
    /// absent or 0 = the newest).
    #[serde(default)]
    pub(crate) version: Option<u64>,
    /// Copy all revisions.
    #[serde(default, deserialize_with = "null_as_default")]
    pub(crate) preserve_history: bool,
    /// Accepted and ignored (access is per organization here).
    #[serde(default, deserialize_with = "null_as_default")]
    pub(crate) preserve_access: bool,
    /// Copy environment tags.
    #[serde(default, deserialize_with = "null_as_default")]
    pub(crate) preserve_environment_tags: bool,
    /// Copy revision tags.
    #[serde(default, deserialize_with = "null_as_default")]
    pub(crate) preserve_revision_tags: bool,
}

/// An optional field sent as JSON `null` (generated clients do) reads as
/// its default, like an absent one.
fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Option::<T>::deserialize(deserializer).map(Option::unwrap_or_default)
}

/// Body of `POST E/versions/{version}/retract`.
#[derive(Deserialize, Default)]
pub(crate) struct Retract {
    /// The revision tags move to.
    #[serde(default)]
    pub(crate) replacement: Option<u64>,
    /// Why.
    #[serde(default)]
    pub(crate) reason: Option<String>,
}

/// Body of `POST E/versions/tags`.
#[derive(Deserialize)]
pub(crate) struct CreateRevisionTag {
    /// Tag name.
    pub(crate) name: String,
    /// Revision (default: latest).
    #[serde(default)]
    pub(crate) revision: Option<u64>,
}

/// Body of `PATCH E/versions/tags/{tag}`.
#[derive(Deserialize)]
pub(crate) struct UpdateRevisionTag {
    /// The new revision.
    pub(crate) revision: u64,
}

/// Body of `POST E/tags`.
#[derive(Deserialize)]
pub(crate) struct CreateEnvironmentTag {
    /// Key.
    pub(crate) name: String,
    /// Value.
    pub(crate) value: String,
}

/// A name/value pair of `PATCH E/tags/{name}`.
#[derive(Deserialize, Default)]
pub(crate) struct TagPair {
    /// Name (empty = keep).
    #[serde(default, deserialize_with = "null_as_default")]
    pub(crate) name: String,
    /// Value (empty = keep / unknown).
    #[serde(default, deserialize_with = "null_as_default")]
    pub(crate) value: String,
}

/// Body of `PATCH E/tags/{name}`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct UpdateEnvironmentTag {
    /// The caller's view of the current tag.
    #[serde(default, deserialize_with = "null_as_default")]
    pub(crate) current_tag: TagPair,
    /// The new name/value.
    #[serde(default, deserialize_with = "null_as_default")]
    pub(crate) new_tag: TagPair,
}

/// Body of `PATCH E/settings` and response of `GET E/settings`.
#[derive(Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Settings {
    /// Deletion protection.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) deletion_protected: Option<bool>,
}

/// Response of `GET E/referrers` (#36): referrers by the referenced version
/// (`latest`, a revision number, a tag), and the next page's token (`""`
/// on the last page).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct WireReferrers {
    /// Referrers by referenced version.
    pub(crate) referrers: std::collections::BTreeMap<String, Vec<WireReferrer>>,
    /// Token of the next page, `""` when there is none.
    pub(crate) continuation_token: String,
}

/// One referrer; a self-hosted server only knows environments.
#[derive(Serialize)]
pub(crate) struct WireReferrer {
    /// The referring environment.
    pub(crate) environment: WireEnvironmentReferrer,
}

/// An environment that imports the one asked about.
#[derive(Serialize)]
pub(crate) struct WireEnvironmentReferrer {
    /// Its project.
    pub(crate) project: String,
    /// Its name.
    pub(crate) name: String,
    /// Its revision holding the import.
    pub(crate) revision: u64,
}

impl WireReferrers {
    /// The wire form of a page.
    pub(crate) fn from_page(page: esc_service::ReferrersPage) -> Self {
        let mut referrers: std::collections::BTreeMap<String, Vec<WireReferrer>> =
            std::collections::BTreeMap::new();
        for referrer in page.referrers {
            referrers
                .entry(referrer.referenced)
                .or_default()
                .push(WireReferrer {
                    environment: WireEnvironmentReferrer {
                        project: referrer.project,
                        name: referrer.name,
                        revision: referrer.revision,
                    },
                });
        }
        Self {
            referrers,
            continuation_token: page.continuation_token.unwrap_or_default(),
        }
    }
}
