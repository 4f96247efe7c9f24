//! Opening and reading sessions (§ 5.3) and rotation (§ 5.7).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use esc_service::Version;
use esc_store::Timestamp;
use serde::Serialize;

use crate::AppState;
use crate::duration::parse_go_duration;
use crate::error::ApiError;
use crate::extract::{Authed, Params, RawBody, Segments};
use crate::wire::{json_response, with_type};

#[derive(Serialize)]
struct Opened {
    id: String,
}

/// The `?duration=` of every open (Go's duration syntax); absent = the default.
pub(crate) fn open_duration(params: &Params) -> Result<Option<std::time::Duration>, ApiError> {
    params
        .get("duration")
        .map(parse_go_duration)
        .transpose()
        .map_err(ApiError::bad_request)
}

/// The answer to every open: `{"id": <session id>}`.
pub(crate) fn opened_response(session_id: String) -> Response {
    json_response(StatusCode::OK, &Opened { id: session_id })
}

async fn open_version(
    state: &AppState,
    caller: &esc_service::Caller,
    segments: &Segments,
    params: &Params,
    version: Version,
) -> Result<Response, ApiError> {
    let duration = open_duration(params)?;
    let opened = state
        .service
        .open(caller, &segments.env(), &version, duration)
        .await?;
    Ok(opened_response(opened.id))
}

/// 15. `POST E/open?duration=`.
pub(crate) async fn open(
    State(state): State<AppState>,
    Authed(caller): Authed,
    segments: Segments,
    params: Params,
) -> Result<Response, ApiError> {
    open_version(&state, &caller, &segments, &params, Version::Latest).await
}

/// 16. `POST E/versions/{version}/open?duration=`.
pub(crate) async fn open_at(
    State(state): State<AppState>,
    Authed(caller): Authed,
    segments: Segments,
    params: Params,
) -> Result<Response, ApiError> {
    let version = Version::parse(segments.get("version"))?;
    open_version(&state, &caller, &segments, &params, version).await
}

/// 17/18. `GET E/open/{session}` and `GET E/open//{session}?property=`.
pub(crate) async fn read(
    State(state): State<AppState>,
    Authed(caller): Authed,
    segments: Segments,
    params: Params,
) -> Result<Response, ApiError> {
    // the JSON as kept at open: not parsed and re-encoded per read
    let mut json = state
        .service
        .read_session_json(
            &caller,
            &segments.env(),
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

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RotateResponse {
    secret_rotation_event: WireRotationEvent,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct WireRotationEvent {
    id: String,
    environment_id: String,
    created: String,
    pre_rotation_revision: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    post_rotation_revision: Option<u64>,
    #[serde(rename = "userID")]
    user_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    completed: Option<String>,
    status: &'static str,
    #[serde(rename = "scheduledActionID")]
    scheduled_action_id: Option<String>,
    error_message: Option<String>,
    rotations: Vec<WireRotation>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct WireRotation {
    id: String,
    environment_path: String,
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    error_message: Option<String>,
}

/// 33. `POST E/rotate` with `{"Paths": [...]}` (key case-insensitive).
pub(crate) async fn rotate(
    State(state): State<AppState>,
    Authed(caller): Authed,
    segments: Segments,
    body: RawBody,
) -> Result<Response, ApiError> {
    let request: serde_json::Map<String, serde_json::Value> = body.json()?;
    let mut paths = Vec::new();
    for (key, value) in &request {
        if key.eq_ignore_ascii_case("paths") {
            match value {
                serde_json::Value::Null => {}
                serde_json::Value::Array(items) => {
                    for item in items {
                        let path = item.as_str().ok_or_else(|| {
                            ApiError::bad_request("every rotation path must be a string")
                        })?;
                        paths.push(path.to_owned());
                    }
                }
                _ => return Err(ApiError::bad_request("'Paths' must be a list of strings")),
            }
        }
    }
    let outcome = state
        .service
        .rotate(&caller, &segments.env(), &paths)
        .await?;
    let event = outcome.event;
    Ok(json_response(
        StatusCode::OK,
        &RotateResponse {
            secret_rotation_event: WireRotationEvent {
                id: event.id.clone(),
                environment_id: event.environment_id.clone(),
                created: event.event.created.rfc3339(),
                pre_rotation_revision: event.event.pre_rotation_revision,
                post_rotation_revision: event.event.post_rotation_revision,
                user_id: event.event.user.clone(),
                completed: event.event.completed.map(Timestamp::rfc3339),
                status: event.event.status.as_str(),
                scheduled_action_id: event.event.schedule_id.clone(),
                error_message: event.event.error_message.clone(),
                rotations: event
                    .event
                    .rotations
                    .iter()
                    .enumerate()
                    .map(|(index, rotation)| WireRotation {
                        id: format!("{}-{index}", event.id),
                        environment_path: rotation.path.clone(),
                        status: rotation.status.as_str(),
                        error_message: rotation.error_message.clone(),
                    })
                    .collect(),
            },
        },
    ))
}
