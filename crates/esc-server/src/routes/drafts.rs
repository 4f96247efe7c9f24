//! Drafts and change requests (§ 5.12, #50-54): create, read, edit
//! (`If-Match`), open a draft, submit a change request. Submitting applies
//! the draft as a new revision (this server has no approval rules; see
//! `esc_service::Service::submit_draft`).

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use esc_service::DraftOutcome;
use serde::{Deserialize, Serialize};

use crate::AppState;
use crate::error::{ApiError, WireDiagnostic};
use crate::extract::{Authed, Params, RawBody, Segments};
use crate::routes::open::{open_duration, opened_response};
use crate::wire::{json_response, no_content, with_type};

/// The answer to a create or an edit.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ChangeRequestRef {
    change_request_id: String,
    latest_revision_number: u64,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    diagnostics: Vec<WireDiagnostic>,
}

/// The optional body of a submit.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Submit {
    #[serde(default)]
    description: Option<String>,
}

/// The value of header `name`, `None` when absent or empty.
fn header_text<'a>(
    headers: &'a HeaderMap,
    name: &header::HeaderName,
) -> Result<Option<&'a str>, ApiError> {
    match headers.get(name) {
        Some(value) => value
            .to_str()
            .map(|text| Some(text).filter(|text| !text.is_empty()))
            .map_err(|_| ApiError::bad_request(format!("malformed {name} header"))),
        None => Ok(None),
    }
}

fn draft_response(outcome: &DraftOutcome) -> Response {
    let mut response = json_response(
        StatusCode::OK,
        &ChangeRequestRef {
            change_request_id: outcome.id.clone(),
            latest_revision_number: outcome.latest_revision,
            diagnostics: outcome.warnings.iter().map(WireDiagnostic::from).collect(),
        },
    );
    if let Ok(etag) = HeaderValue::from_str(&outcome.etag) {
        response.headers_mut().insert(header::ETAG, etag);
    }
    response
}

/// 50. `POST E/drafts` (YAML body, optional `ETag` of the environment).
pub(crate) async fn create(
    State(state): State<AppState>,
    Authed(caller): Authed,
    segments: Segments,
    headers: HeaderMap,
    body: RawBody,
) -> Result<Response, ApiError> {
    let etag = header_text(&headers, &header::ETAG)?;
    let outcome = state
        .service
        .create_draft(&caller, &segments.env(), body.text()?, etag)
        .await?;
    Ok(draft_response(&outcome))
}

/// 51. `GET E/drafts/{id}` → YAML with the draft's `ETag`.
pub(crate) async fn get(
    State(state): State<AppState>,
    Authed(caller): Authed,
    segments: Segments,
) -> Result<Response, ApiError> {
    let draft = state
        .service
        .draft(&caller, &segments.env(), segments.get("id"))
        .await?;
    let mut response = with_type(
        StatusCode::OK,
        draft.yaml.expose().to_vec(),
        "application/x-yaml",
    );
    if let Ok(etag) = HeaderValue::from_str(&draft.etag) {
        response.headers_mut().insert(header::ETAG, etag);
    }
    Ok(response)
}

/// 52. `PATCH E/drafts/{id}` (YAML body, `If-Match: <etag>`).
pub(crate) async fn update(
    State(state): State<AppState>,
    Authed(caller): Authed,
    segments: Segments,
    headers: HeaderMap,
    body: RawBody,
) -> Result<Response, ApiError> {
    let if_match = header_text(&headers, &header::IF_MATCH)?;
    let outcome = state
        .service
        .update_draft(
            &caller,
            &segments.env(),
            segments.get("id"),
            body.text()?,
            if_match,
        )
        .await?;
    Ok(draft_response(&outcome))
}

/// 53. `POST E/drafts/{id}/open?duration=` → `{"id"}` (read via #17).
pub(crate) async fn open(
    State(state): State<AppState>,
    Authed(caller): Authed,
    segments: Segments,
    params: Params,
) -> Result<Response, ApiError> {
    let duration = open_duration(&params)?;
    let opened = state
        .service
        .open_draft(&caller, &segments.env(), segments.get("id"), duration)
        .await?;
    Ok(opened_response(opened.id))
}

/// Body of `POST E/open/request`: how long the grant and the access last.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct OpenRequest {
    #[serde(default)]
    grant_expiration_seconds: Option<u64>,
    #[serde(default)]
    access_duration_seconds: Option<u64>,
}

/// `POST E/open/request` (#55): this server has no gated opens, so every
/// environment answers as spec/API.md § 5.12 says for one without them
/// (400), once the environment is known to exist and be readable.
pub(crate) async fn open_request(
    State(state): State<AppState>,
    Authed(caller): Authed,
    segments: Segments,
    body: RawBody,
) -> Result<Response, ApiError> {
    let request: OpenRequest = body.json()?;
    let _ = (
        request.grant_expiration_seconds,
        request.access_duration_seconds,
    );
    let env = segments.env();
    state.service.environment(&caller, &env).await?;
    Err(ApiError::bad_request(format!(
        "environment '{env}' has no gated opens: open it directly"
    )))
}

/// 54. `POST /api/change-requests/{org}/{id}/submit` → 204 once applied.
pub(crate) async fn submit(
    State(state): State<AppState>,
    Authed(caller): Authed,
    segments: Segments,
    body: RawBody,
) -> Result<Response, ApiError> {
    let request: Submit = body.json()?;
    state
        .service
        .submit_draft(
            &caller,
            segments.get("org"),
            segments.get("id"),
            request.description.as_deref(),
        )
        .await?;
    Ok(no_content())
}
