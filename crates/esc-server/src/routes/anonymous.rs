//! Anonymous YAML opens (§ 5.3, #19/#20), what the Pulumi CLI uses for a
//! stack's environment: the body is a definition evaluated in `{org}`
//! (see `esc_service`'s `open_yaml`); its result is read back like an
//! environment's session.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;

use crate::AppState;
use crate::error::ApiError;
use crate::extract::{Authed, Params, RawBody, Segments};
use crate::routes::open::{open_duration, opened_response};
use crate::wire::with_type;

/// Endpoint 19, `POST /api/esc/environments/{org}/yaml/open?duration=`:
/// the YAML is the body (the CLI sends it with a JSON `Content-Type`).
pub(crate) async fn open(
    State(state): State<AppState>,
    Authed(caller): Authed,
    segments: Segments,
    params: Params,
    body: RawBody,
) -> Result<Response, ApiError> {
    let duration = open_duration(&params)?;
    let opened = state
        .service
        .open_yaml(&caller, segments.get("org"), body.text()?, duration)
        .await?;
    Ok(opened_response(opened.id))
}

/// Endpoint 20, `GET /api/esc/environments/{org}/yaml/open/{session}[?property=]`,
/// also with `open//` (as the SDKs read an environment's session).
pub(crate) async fn read(
    State(state): State<AppState>,
    Authed(caller): Authed,
    segments: Segments,
    params: Params,
) -> Result<Response, ApiError> {
    let mut json = state
        .service
        .read_yaml_session_json(
            &caller,
            segments.get("org"),
            segments.get("session"),
            params.get("property"),
        )
        .await?;
    json.push('\n');
    Ok(with_type(
        StatusCode::OK,
        json.into_bytes(),
        "application/json",
    ))
}
