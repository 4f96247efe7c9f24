//! Environments, definitions, revisions and settings (§ 5.2, 5.4, 5.7, 5.8).

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use esc_eval::PlainValue;
use esc_service::{Caller, CloneOptions, Definition, Version};
use esc_store::{EnvRef, SettingsUpdate};
use serde::Serialize;

use crate::AppState;
use crate::error::{ApiError, WireDiagnostic};
use crate::extract::{Authed, Params, RawBody, Segments};
use crate::wire::{
    CloneEnvironment, CreateEnvironment, OrgEnvironment, OrgEnvironments, Retract, Settings,
    WireRevision, json_response, no_content, plain_response, with_type,
};

const DEFAULT_PAGE: u32 = 100;

/// 3. `GET /api/esc/environments`.
pub(crate) async fn list_all(
    State(state): State<AppState>,
    Authed(caller): Authed,
    params: Params,
) -> Result<Response, ApiError> {
    list(&state, &caller, None, &params).await
}

/// 4. `GET /api/esc/environments/{org}`.
pub(crate) async fn list_org(
    State(state): State<AppState>,
    Authed(caller): Authed,
    segments: Segments,
    params: Params,
) -> Result<Response, ApiError> {
    list(&state, &caller, Some(segments.get("org")), &params).await
}

async fn list(
    state: &AppState,
    caller: &Caller,
    org: Option<&str>,
    params: &Params,
) -> Result<Response, ApiError> {
    let page = state
        .service
        .list_environments(caller, org, params.get("continuationToken"), DEFAULT_PAGE)
        .await?;
    Ok(json_response(
        StatusCode::OK,
        &OrgEnvironments {
            environments: page.items.iter().map(OrgEnvironment::from).collect(),
            next_token: page.next.unwrap_or_default(),
        },
    ))
}

/// 5. `POST /api/esc/environments/{org}` → 204.
pub(crate) async fn create(
    State(state): State<AppState>,
    Authed(caller): Authed,
    segments: Segments,
    body: RawBody,
) -> Result<Response, ApiError> {
    let request: CreateEnvironment = body.json()?;
    let project = request
        .project
        .filter(|project| !project.is_empty())
        .unwrap_or_else(|| esc_service::DEFAULT_PROJECT.to_owned());
    let env = EnvRef::new(segments.get("org"), project, request.name);
    state.service.create_environment(&caller, &env).await?;
    Ok(no_content())
}

fn definition_response(definition: Definition) -> Response {
    let mut response = with_type(
        StatusCode::OK,
        definition.yaml.expose().to_vec(),
        "application/x-yaml",
    );
    set_revision_headers(
        response.headers_mut(),
        definition.revision,
        Some(&definition.etag),
    );
    response
}

fn set_revision_headers(headers: &mut HeaderMap, revision: u64, etag: Option<&str>) {
    headers.insert("Pulumi-ESC-Revision", HeaderValue::from(revision));
    if let Some(etag) = etag.and_then(|etag| HeaderValue::from_str(etag).ok()) {
        headers.insert(axum::http::header::ETAG, etag);
    }
}

fn version_of(segments: &Segments) -> Result<Version, ApiError> {
    Ok(Version::parse(segments.get("version"))?)
}

/// 6. `GET E`.
pub(crate) async fn definition(
    State(state): State<AppState>,
    Authed(caller): Authed,
    segments: Segments,
) -> Result<Response, ApiError> {
    definition_reply(&state, &caller, &segments, Version::Latest, false).await
}

/// 7. `HEAD E`: the headers of 6, no body.
pub(crate) async fn head(
    State(state): State<AppState>,
    Authed(caller): Authed,
    segments: Segments,
) -> Result<Response, ApiError> {
    let found = state
        .service
        .definition(&caller, &segments.env(), &Version::Latest, false)
        .await?;
    let mut response = Response::new(Body::empty());
    set_revision_headers(response.headers_mut(), found.revision, Some(&found.etag));
    Ok(response)
}

/// 8. `GET E/versions/{version}`.
pub(crate) async fn definition_at(
    State(state): State<AppState>,
    Authed(caller): Authed,
    segments: Segments,
) -> Result<Response, ApiError> {
    let version = version_of(&segments)?;
    definition_reply(&state, &caller, &segments, version, false).await
}

/// 9. `GET E/decrypt`.
pub(crate) async fn decrypt(
    State(state): State<AppState>,
    Authed(caller): Authed,
    segments: Segments,
) -> Result<Response, ApiError> {
    definition_reply(&state, &caller, &segments, Version::Latest, true).await
}

/// 10. `GET E/versions/{version}/decrypt`.
pub(crate) async fn decrypt_at(
    State(state): State<AppState>,
    Authed(caller): Authed,
    segments: Segments,
) -> Result<Response, ApiError> {
    let version = version_of(&segments)?;
    definition_reply(&state, &caller, &segments, version, true).await
}

/// The definition at `version` as 6, 8, 9 and 10 answer it (`decrypt`:
/// secrets shown in plaintext).
async fn definition_reply(
    state: &AppState,
    caller: &Caller,
    segments: &Segments,
    version: Version,
    decrypt: bool,
) -> Result<Response, ApiError> {
    let found = state
        .service
        .definition(caller, &segments.env(), &version, decrypt)
        .await?;
    Ok(definition_response(found))
}

#[derive(Serialize)]
struct UpdateBody {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    diagnostics: Vec<WireDiagnostic>,
}

/// 11. `PATCH E` (YAML body, optional `ETag`).
pub(crate) async fn update(
    State(state): State<AppState>,
    Authed(caller): Authed,
    segments: Segments,
    headers: HeaderMap,
    body: RawBody,
) -> Result<Response, ApiError> {
    // the clients send `ETag`; HTTP's own precondition header works too
    let etag = match headers
        .get(axum::http::header::ETAG)
        .or_else(|| headers.get(axum::http::header::IF_MATCH))
    {
        Some(value) => Some(
            value
                .to_str()
                .map_err(|_| ApiError::bad_request("malformed ETag header"))?,
        ),
        None => None,
    }
    .filter(|etag| !etag.is_empty());
    let outcome = state
        .service
        .update(&caller, &segments.env(), body.text()?, etag)
        .await?;
    let mut response = json_response(
        StatusCode::OK,
        &UpdateBody {
            diagnostics: outcome.warnings.iter().map(WireDiagnostic::from).collect(),
        },
    );
    set_revision_headers(response.headers_mut(), outcome.revision.number, None);
    Ok(response)
}

/// 12. `DELETE E` → 204.
pub(crate) async fn delete(
    State(state): State<AppState>,
    Authed(caller): Authed,
    segments: Segments,
) -> Result<Response, ApiError> {
    state.service.delete(&caller, &segments.env()).await?;
    Ok(no_content())
}

/// 13. `POST E/clone` → 204.
pub(crate) async fn clone(
    State(state): State<AppState>,
    Authed(caller): Authed,
    segments: Segments,
    body: RawBody,
) -> Result<Response, ApiError> {
    let request: CloneEnvironment = body.json()?;
    let source = segments.env();
    let target = EnvRef::new(
        source.org.clone(),
        request
            .project
            .filter(|project| !project.is_empty())
            .unwrap_or_else(|| source.project.clone()),
        request.name,
    );
    let _ = request.preserve_access;
    let source_revision = request.version.filter(|version| *version > 0);
    if let Some(version) = source_revision {
        // only the newest revision can be the start of a clone here: say
        // so rather than silently cloning another revision
        let newest = state
            .service
            .definition(&caller, &source, &Version::Latest, false)
            .await?
            .revision;
        if version != newest {
            return Err(ApiError::bad_request(format!(
                "cloning at revision {version} is not supported: only the newest revision ({newest}) can be cloned"
            )));
        }
    }
    state
        .service
        .clone_environment(
            &caller,
            &source,
            &target,
            CloneOptions {
                preserve_history: request.preserve_history,
                preserve_environment_tags: request.preserve_environment_tags,
                preserve_revision_tags: request.preserve_revision_tags,
                // a write between the check above and the clone: 409
                source_revision,
            },
        )
        .await?;
    Ok(no_content())
}

/// 14. `POST /api/esc/environments/{org}/yaml/check`.
pub(crate) async fn check(
    State(state): State<AppState>,
    Authed(caller): Authed,
    segments: Segments,
    params: Params,
    headers: HeaderMap,
    body: RawBody,
) -> Result<Response, ApiError> {
    let show_secrets = params.flag("showSecrets")?;
    let outcome = state
        .service
        .check(&caller, segments.get("org"), body.text()?, show_secrets)
        .await?;
    let mut environment = outcome.environment;
    if !is_cli(&headers) {
        // The SDKs model `access` as a list (Go sends an object) and fail
        // to parse it; only the CLI reads exprs (spec/API.md § 3.3).
        esc_service::drop_access(&mut environment);
    }
    if !outcome.warnings.is_empty()
        && let PlainValue::Object(map) = &mut environment
    {
        let diagnostics = serde_json::to_string(
            &outcome
                .warnings
                .iter()
                .map(WireDiagnostic::from)
                .collect::<Vec<_>>(),
        )
        .map_err(|error| ApiError::from(esc_service::ServiceError::Internal(error.to_string())))?;
        let diagnostics = PlainValue::from_json_document(&diagnostics).map_err(|error| {
            ApiError::from(esc_service::ServiceError::Internal(error.to_string()))
        })?;
        map.insert("diagnostics".to_owned(), diagnostics);
    }
    plain_response(StatusCode::OK, &environment)
}

/// Whether the request comes from the `esc` CLI, the one client that
/// sends `Accept: application/vnd.pulumi+8` (Go's and ours).
fn is_cli(headers: &HeaderMap) -> bool {
    headers
        .get_all(axum::http::header::ACCEPT)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .any(|value| value.contains("application/vnd.pulumi+"))
}

/// 21. `GET E/versions?before=&count=`.
pub(crate) async fn revisions(
    State(state): State<AppState>,
    Authed(caller): Authed,
    segments: Segments,
    params: Params,
) -> Result<Response, ApiError> {
    let before = params.number("before")?.filter(|before| *before > 0);
    // 0, like absent, is the server's default (spec/API.md § 5.4)
    let count = params
        .number("count")?
        .filter(|count| *count > 0)
        .map_or(DEFAULT_PAGE, |count| {
            u32::try_from(count.min(1000)).unwrap_or(1000)
        });
    let revisions = state
        .service
        .revisions(&caller, &segments.env(), before, count)
        .await?;
    Ok(json_response(
        StatusCode::OK,
        &revisions.iter().map(WireRevision::from).collect::<Vec<_>>(),
    ))
}

/// 22. `POST E/versions/{version}/retract` → 204.
pub(crate) async fn retract(
    State(state): State<AppState>,
    Authed(caller): Authed,
    segments: Segments,
    body: RawBody,
) -> Result<Response, ApiError> {
    let version = version_of(&segments)?;
    let request: Retract = body.json()?;
    state
        .service
        .retract(
            &caller,
            &segments.env(),
            &version,
            request.replacement,
            request.reason.as_deref().unwrap_or(""),
        )
        .await?;
    Ok(no_content())
}

/// 34. `GET E/settings`.
pub(crate) async fn settings(
    State(state): State<AppState>,
    Authed(caller): Authed,
    segments: Segments,
) -> Result<Response, ApiError> {
    let env = state.service.environment(&caller, &segments.env()).await?;
    Ok(json_response(
        StatusCode::OK,
        &Settings {
            deletion_protected: Some(env.deletion_protected),
        },
    ))
}

/// 35. `PATCH E/settings` → 204.
pub(crate) async fn update_settings(
    State(state): State<AppState>,
    Authed(caller): Authed,
    segments: Segments,
    body: RawBody,
) -> Result<Response, ApiError> {
    let request: Settings = body.json()?;
    state
        .service
        .update_settings(
            &caller,
            &segments.env(),
            &SettingsUpdate {
                deletion_protected: request.deletion_protected,
            },
        )
        .await?;
    Ok(no_content())
}
