//! Drafts as the reference's fake backend keeps them (goldens `*-draft`):
//! an environment's draft is the separate environment `<name>_DRAFT`
//! (created on first use), change request ids are ignored (every one names
//! that environment) and reported as [`CHANGE_REQUEST_ID`], and submitting
//! does nothing. The layer rewrites the draft routes (API #50-54) into
//! environment routes on `<name>_DRAFT` before routing, and the opened
//! draft's session reads likewise.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{Method, StatusCode, Uri, header};
use axum::middleware::Next;
use axum::response::Response;
use esc_store::{Author, EnvRef, Store, StoreError};
use serde_json::Value as Json;

use super::USER;

/// The change request id the fake reports for every draft.
const CHANGE_REQUEST_ID: &str = "00000000-0000-0000-0000-000000000000";

/// The state of the drafts layer of one fake backend.
pub(super) struct FakeDrafts {
    store: Arc<dyn Store>,
    /// Session ids of opened drafts (read from `<name>_DRAFT`).
    sessions: Mutex<BTreeSet<String>>,
}

impl FakeDrafts {
    pub(super) fn new(store: Arc<dyn Store>) -> Arc<FakeDrafts> {
        Arc::new(FakeDrafts {
            store,
            sessions: Mutex::new(BTreeSet::new()),
        })
    }

    fn sessions(&self) -> std::sync::MutexGuard<'_, BTreeSet<String>> {
        self.sessions
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// What a request is, for this layer.
#[derive(Debug, PartialEq, Eq)]
enum DraftCall {
    /// #50 or #52: write the draft environment.
    Write,
    /// #51: read it.
    Read,
    /// #53: open it.
    Open,
    /// #54: submit (nothing happens).
    Submit,
    /// #17 on a session of an opened draft.
    ReadSession,
}

/// `/api/esc/environments/{org}/{project}/{env}` and the rest of `path`.
fn split_env_path(path: &str) -> Option<(Vec<&str>, Vec<&str>)> {
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    match segments.as_slice() {
        ["api", "esc", "environments", _, _, _, ..] => {
            Some((segments[..6].to_vec(), segments[6..].to_vec()))
        }
        _ => None,
    }
}

fn classify(method: &Method, path: &str, sessions: &BTreeSet<String>) -> Option<DraftCall> {
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    if let ["api", "change-requests", _, _, "submit"] = segments.as_slice() {
        return (*method == Method::POST).then_some(DraftCall::Submit);
    }
    let (_, rest) = split_env_path(path)?;
    match (method, rest.as_slice()) {
        (&Method::POST, ["drafts"]) | (&Method::PATCH, ["drafts", _]) => Some(DraftCall::Write),
        (&Method::GET, ["drafts", _]) => Some(DraftCall::Read),
        (&Method::POST, ["drafts", _, "open"]) => Some(DraftCall::Open),
        (&Method::GET, ["open", id, ..]) if sessions.contains(*id) => Some(DraftCall::ReadSession),
        _ => None,
    }
}

/// The path of `<name>_DRAFT` plus `tail`.
fn draft_env_path(path: &str, tail: &[&str]) -> Option<String> {
    let (env, _) = split_env_path(path)?;
    let mut out = format!("/{}_DRAFT", env.join("/"));
    for segment in tail {
        out.push('/');
        out.push_str(segment);
    }
    Some(out)
}

fn json_reply(status: StatusCode, body: &Json) -> Response {
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_string()))
        .unwrap_or_else(|_| Response::new(Body::empty()))
}

/// The layer (outside the routes, so the rewritten paths are routed).
pub(super) async fn fake_drafts(
    State(fake): State<Arc<FakeDrafts>>,
    mut request: Request,
    next: Next,
) -> Response {
    let path = request.uri().path().to_owned();
    let call = {
        let sessions = fake.sessions();
        classify(request.method(), &path, &sessions)
    };
    let Some(call) = call else {
        return next.run(request).await;
    };
    if call == DraftCall::Submit {
        return Response::builder()
            .status(StatusCode::NO_CONTENT)
            .body(Body::empty())
            .unwrap_or_else(|_| Response::new(Body::empty()));
    }
    let Some((env, rest)) = split_env_path(&path) else {
        return next.run(request).await;
    };
    let (method, tail): (Method, Vec<&str>) = match call {
        DraftCall::Write => (Method::PATCH, Vec::new()),
        DraftCall::Read => (Method::GET, Vec::new()),
        DraftCall::Open => (Method::POST, vec!["open"]),
        DraftCall::ReadSession => (Method::GET, rest.clone()),
        DraftCall::Submit => return next.run(request).await,
    };
    if call == DraftCall::Write {
        // the fake creates `<name>_DRAFT` as needed; an existing one is kept
        let draft = EnvRef::new(env[3], env[4], format!("{}_DRAFT", env[5]));
        match fake.store.environment(&draft).await {
            Ok(_) => {}
            Err(StoreError::NotFound { .. }) => {
                if let Err(error) = fake
                    .store
                    .create_environment(&draft, &Author::new(USER, USER))
                    .await
                {
                    return json_reply(
                        StatusCode::INTERNAL_SERVER_ERROR,
                        &serde_json::json!({"code": 500, "message": error.to_string()}),
                    );
                }
            }
            Err(error) => {
                return json_reply(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    &serde_json::json!({"code": 500, "message": error.to_string()}),
                );
            }
        }
    }
    let Some(mut new_path) = draft_env_path(&path, &tail) else {
        return next.run(request).await;
    };
    if let Some(query) = request.uri().query() {
        new_path = format!("{new_path}?{query}");
    }
    if let Ok(uri) = new_path.parse::<Uri>() {
        *request.uri_mut() = uri;
    }
    *request.method_mut() = method;
    // the fake checks no etags of drafts
    request.headers_mut().remove(header::ETAG);
    request.headers_mut().remove(header::IF_MATCH);
    let response = next.run(request).await;
    if response.status() != StatusCode::OK {
        if call != DraftCall::Write {
            return response;
        }
        // diagnostics name the environment, not its `_DRAFT` stand-in
        let (parts, body) = response.into_parts();
        let Ok(bytes) = axum::body::to_bytes(body, 64 << 20).await else {
            return Response::from_parts(parts, Body::empty());
        };
        let stand_in = format!("{}/{}_DRAFT", env[4], env[5]);
        let text =
            String::from_utf8_lossy(&bytes).replace(&stand_in, &format!("{}/{}", env[4], env[5]));
        let mut response = Response::from_parts(parts, Body::from(text));
        response.headers_mut().remove(header::CONTENT_LENGTH);
        return response;
    }
    match call {
        DraftCall::Write => json_reply(
            StatusCode::OK,
            &serde_json::json!({"changeRequestId": CHANGE_REQUEST_ID, "latestRevisionNumber": 0}),
        ),
        DraftCall::Open => {
            let (parts, body) = response.into_parts();
            let Ok(bytes) = axum::body::to_bytes(body, 64 << 20).await else {
                return Response::from_parts(parts, Body::empty());
            };
            if let Ok(json) = serde_json::from_slice::<Json>(&bytes)
                && let Some(id) = json.get("id").and_then(Json::as_str)
            {
                fake.sessions().insert(id.to_owned());
            }
            Response::from_parts(parts, Body::from(bytes))
        }
        _ => response,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draft_routes_are_recognised() {
        let none = BTreeSet::new();
        let env = "/api/esc/environments/o/p/e";
        assert_eq!(
            classify(&Method::POST, &format!("{env}/drafts"), &none),
            Some(DraftCall::Write)
        );
        assert_eq!(
            classify(&Method::PATCH, &format!("{env}/drafts/X"), &none),
            Some(DraftCall::Write)
        );
        assert_eq!(
            classify(&Method::POST, &format!("{env}/drafts/X/open"), &none),
            Some(DraftCall::Open)
        );
        assert_eq!(
            classify(&Method::POST, "/api/change-requests/o/X/submit", &none),
            Some(DraftCall::Submit)
        );
        assert_eq!(
            classify(&Method::GET, &format!("{env}/open/s1"), &none),
            None
        );
        let opened = BTreeSet::from(["s1".to_owned()]);
        assert_eq!(
            classify(&Method::GET, &format!("{env}/open/s1"), &opened),
            Some(DraftCall::ReadSession)
        );
        assert_eq!(
            draft_env_path(&format!("{env}/drafts/X/open"), &["open"]).as_deref(),
            Some("/api/esc/environments/o/p/e_DRAFT/open")
        );
    }
}
