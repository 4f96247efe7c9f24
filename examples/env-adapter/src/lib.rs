//! The env adapter's router: `POST /` with `{"name": "X"}` answers `{"value": <$PREFIX X>}`
//! after esc-adapter has verified the request.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{FromRef, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use esc_adapter::{Verified, Verifier};
use serde::Deserialize;

/// Environment variables whose names start with this are served (without the prefix).
pub const VALUE_PREFIX: &str = "ADAPTER_VALUE_";

/// What the handlers share.
#[derive(Clone)]
pub struct AppState {
    /// Verifies every request.
    pub verifier: Arc<Verifier>,
    /// Served values by name (prefix stripped). Secret: never logged.
    pub values: Arc<HashMap<String, String>>,
    /// When set, only these organizations may fetch.
    pub allowed_orgs: Option<Arc<Vec<String>>>,
}

impl FromRef<AppState> for Arc<Verifier> {
    fn from_ref(state: &AppState) -> Arc<Verifier> {
        Arc::clone(&state.verifier)
    }
}

/// The values to serve: every `(name, value)` whose name starts with [`VALUE_PREFIX`], keyed
/// by the rest of the name.
pub fn values_from(vars: impl IntoIterator<Item = (String, String)>) -> HashMap<String, String> {
    vars.into_iter()
        .filter_map(|(name, value)| {
            let name = name.strip_prefix(VALUE_PREFIX)?;
            (!name.is_empty()).then(|| (name.to_owned(), value))
        })
        .collect()
}

/// The adapter's routes.
pub fn app(state: AppState) -> Router {
    Router::new().route("/", post(fetch)).with_state(state)
}

#[derive(Deserialize)]
struct FetchRequest {
    name: String,
}

async fn fetch(State(state): State<AppState>, request: Verified) -> Response {
    if let Some(allowed) = &state.allowed_orgs
        && !allowed.contains(&request.claims.org)
    {
        return error(StatusCode::FORBIDDEN, "organization not allowed");
    }
    let body: FetchRequest = match request.json() {
        Ok(body) => body,
        Err(_) => return error(StatusCode::BAD_REQUEST, "expected {\"name\": \"...\"}"),
    };
    match state.values.get(&body.name) {
        Some(value) => Json(serde_json::json!({ "value": value })).into_response(),
        None => error(StatusCode::NOT_FOUND, "no such value"),
    }
}

fn error(status: StatusCode, reason: &str) -> Response {
    (status, Json(serde_json::json!({ "error": reason }))).into_response()
}
