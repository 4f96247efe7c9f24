//! The dual-secret rotator's router.
//!
//! - `POST /`: an ESC Connect rotation (`fn::rotate::external`), verified by esc-adapter.
//!   Body `{"request": {...}, "state": <the environment's state.current or null>}`; the
//!   rotator writes a fresh key into the slot that does not hold `state` (see
//!   [`SlotStore::rotate`]), makes it active and answers 200 `{"apiKey": ..., "slot":
//!   "a"|"b"}`, which ESC stores as the new `state.current` (the old one becomes
//!   `state.previous`). Both the new and the previous key stay valid until the next
//!   rotation: consumers that still hold the previous one keep working meanwhile.
//! - `POST /validate`: `{"apiKey": "..."}` → 200 `{"valid": true, "slot": ..., "active":
//!   ...}` or 401 `{"valid": false}`. This stands in for the service the keys protect (it
//!   is what consumers present their key to), so it needs no ESC token.
//!
//! Failures answer `{"error": "<reason>"}`; a store that cannot be read answers 500 with a
//! fixed text and is logged with the file and what is wrong (never its contents).

pub mod store;

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, FromRef, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use esc_adapter::{Verified, Verifier};
use serde::Deserialize;

pub use store::{ApiKey, Credential, Slot, SlotStore, StoreError};

/// Largest body accepted on `/validate` (rotations are capped by the verifier).
const MAX_VALIDATE_BYTES: usize = 16 * 1024;

/// What the handlers share.
#[derive(Clone)]
pub struct AppState {
    /// Verifies every rotation request.
    pub verifier: Arc<Verifier>,
    /// The two credential slots.
    pub store: Arc<SlotStore>,
}

impl FromRef<AppState> for Arc<Verifier> {
    fn from_ref(state: &AppState) -> Arc<Verifier> {
        Arc::clone(&state.verifier)
    }
}

/// The rotator's routes.
pub fn app(state: AppState) -> Router {
    Router::new()
        .route("/", post(rotate))
        .route(
            "/validate",
            post(validate).layer(DefaultBodyLimit::max(MAX_VALIDATE_BYTES)),
        )
        .with_state(state)
}

/// The rotation body ESC sends.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RotateRequest {
    #[serde(default)]
    request: Option<serde_json::Map<String, serde_json::Value>>,
    state: Option<serde_json::Value>,
}

async fn rotate(State(state): State<AppState>, request: Verified) -> Response {
    let Ok(body) = request.json::<RotateRequest>() else {
        return error(
            StatusCode::BAD_REQUEST,
            "expected {\"request\": {...}, \"state\": {...} or null}",
        );
    };
    // The request object carries no options for this rotator; it is accepted as ESC sends it.
    let _ = body.request;
    let keep = body.state.as_ref().and_then(|current| {
        let slot = Slot::parse(current.get("slot")?.as_str()?)?;
        Some((slot, current.get("apiKey")?.as_str()?))
    });
    match state.store.rotate(keep).await {
        Ok(credential) => {
            tracing::info!(
                slot = credential.slot.as_str(),
                environment = %request.claims.current_env,
                trigger_user = %request.claims.trigger_user,
                "rotated"
            );
            Json(serde_json::json!({
                "apiKey": credential.api_key.expose(),
                "slot": credential.slot.as_str(),
            }))
            .into_response()
        }
        Err(store_error) => unavailable(&store_error),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ValidateRequest {
    api_key: String,
}

async fn validate(State(state): State<AppState>, body: Bytes) -> Response {
    let Ok(request) = serde_json::from_slice::<ValidateRequest>(&body) else {
        return error(StatusCode::BAD_REQUEST, "expected {\"apiKey\": \"...\"}");
    };
    let candidate = zeroize::Zeroizing::new(request.api_key);
    match state.store.validate(&candidate).await {
        Ok(Some((slot, active))) => Json(serde_json::json!({
            "valid": true,
            "slot": slot.as_str(),
            "active": active,
        }))
        .into_response(),
        Ok(None) => (
            StatusCode::UNAUTHORIZED,
            Json(serde_json::json!({ "valid": false })),
        )
            .into_response(),
        Err(store_error) => unavailable(&store_error),
    }
}

/// The store failed: log where and why once, answer a fixed text.
fn unavailable(store_error: &StoreError) -> Response {
    tracing::error!(error = %store_error, "credential store unavailable");
    error(
        StatusCode::INTERNAL_SERVER_ERROR,
        "credential store unavailable; see the rotator's log",
    )
}

fn error(status: StatusCode, reason: &str) -> Response {
    (status, Json(serde_json::json!({ "error": reason }))).into_response()
}
