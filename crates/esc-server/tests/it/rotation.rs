//! `POST E/rotate` end to end: `esc serve` with `fn::rotate::external` against the
//! dual-secret rotator (verifying with the server's own JWKS). The new state is written
//! back sealed, opens see it, the next rotation sends it, `previous` is kept, and a
//! failing rotator changes nothing but the history.

use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use esc_server::{ServeConfig, start};
use esc_store::{EnvRef, RotationStatus};
use reqwest::Method;
use serde_json::{Value, json};

use crate::secrets::contains;
use crate::started::Served;

const E: &str = "/api/esc/environments/acme/app/creds";

/// What the rotator saw: each rotation request body and its response (status, body).
type Seen = Arc<Mutex<Vec<(Value, u16, Value)>>>;

/// Records rotation exchanges on their way through (test-only; they hold secrets).
async fn record(State(seen): State<Seen>, request: Request, next: Next) -> Response {
    if request.uri().path() != "/" {
        return next.run(request).await;
    }
    let (parts, body) = request.into_parts();
    let bytes = axum::body::to_bytes(body, 1 << 20).await.unwrap();
    let request_json: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    let response = next
        .run(Request::from_parts(parts, Body::from(bytes)))
        .await;
    let (parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, 1 << 20).await.unwrap();
    let response_json: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    seen.lock()
        .unwrap()
        .push((request_json, parts.status.as_u16(), response_json));
    Response::from_parts(parts, Body::from(bytes))
}

/// The plain JSON of an API `Value` (§3.2): `value` unwrapped at every level.
fn plain(value: &Value) -> Value {
    match &value["value"] {
        Value::Object(members) => Value::Object(
            members
                .iter()
                .map(|(name, member)| (name.clone(), plain(member)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(plain).collect()),
        other => other.clone(),
    }
}

async fn open_creds(server: &Served) -> (u16, Value) {
    let (status, body) = server.call(Method::POST, &format!("{E}/open"), None).await;
    if status != 200 {
        return (status, Value::String(body));
    }
    let id = serde_json::from_str::<Value>(&body).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, body) = server
        .call(Method::GET, &format!("{E}/open/{id}"), None)
        .await;
    assert_eq!(status, 200, "{body}");
    let read: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(read["properties"]["creds"]["secret"], true, "{read}");
    (200, plain(&read["properties"]["creds"]))
}

/// The dual-secret rotator on 127.0.0.1, trusting only `issuer_url`'s issuer and JWKS;
/// its URL and task.
async fn start_rotator(
    issuer_url: &str,
    store_path: &std::path::Path,
    seen: &Seen,
) -> (String, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let rotator_url = format!("http://{}/", listener.local_addr().unwrap());
    let verifier =
        esc_adapter::Verifier::new(esc_adapter::VerifierConfig::new(issuer_url, &rotator_url))
            .unwrap();
    let app = dual_secret_rotator::app(dual_secret_rotator::AppState {
        verifier: Arc::new(verifier),
        store: Arc::new(dual_secret_rotator::SlotStore::new(store_path)),
    })
    .layer(axum::middleware::from_fn_with_state(seen.clone(), record));
    let task = tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (rotator_url, task)
}

async fn start_server(data_dir: std::path::PathBuf) -> Served {
    let started = start(ServeConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        data_dir,
        allow_insecure_loopback_http: true,
        ..ServeConfig::default()
    })
    .await
    .unwrap();
    Served::run(started, None)
}

async fn create_env(server: &Served) {
    let (status, body) = server
        .call(
            Method::POST,
            "/api/esc/environments/acme",
            Some(r#"{"project":"app","name":"creds"}"#),
        )
        .await;
    assert!(status < 300, "{status} {body}");
}

async fn rotate(server: &Served) -> Value {
    let (status, body) = server
        .call(
            Method::POST,
            &format!("{E}/rotate"),
            Some(r#"{"Paths":[]}"#),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    serde_json::from_str::<Value>(&body).unwrap()["secretRotationEvent"].clone()
}

async fn validate(rotator_url: &str, api_key: &str) -> u16 {
    reqwest::Client::new()
        .post(format!("{rotator_url}validate"))
        .json(&json!({ "apiKey": api_key }))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test]
async fn external_rotation_through_the_server_keeps_two_valid_keys() {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("data");
    let server = start_server(data_dir.clone()).await;

    let store_path = dir.path().join("rotator.json");
    let seen: Seen = Arc::default();
    let (rotator_url, rotator) = start_rotator(&server.url, &store_path, &seen).await;
    create_env(&server).await;
    let definition = format!(
        "values:\n  # rotated by the dual-secret rotator\n  creds:\n    fn::rotate::external:\n      inputs:\n        url: {rotator_url}\n        request:\n          service: payments\n  other: kept\n"
    );
    let (status, body) = server.call(Method::PATCH, E, Some(&definition)).await;
    assert_eq!(status, 200, "{body}");

    // not rotated yet: opening says so
    let (status, body) = open_creds(&server).await;
    assert_eq!(status, 400, "{body}");
    assert!(body.to_string().contains("not been rotated yet"), "{body}");

    // first rotation: state null, new revision 3 with the sealed state
    let event = rotate(&server).await;
    assert_eq!(event["status"], "succeeded", "{event}");
    assert_eq!(event["preRotationRevision"], 2);
    assert_eq!(event["postRotationRevision"], 3);
    assert_eq!(event["rotations"][0]["environmentPath"], "creds", "{event}");
    assert_eq!(event["rotations"][0]["status"], "succeeded");
    let (request, status, first) = seen.lock().unwrap()[0].clone();
    assert_eq!(status, 200);
    assert_eq!(
        request,
        json!({"request": {"service": "payments"}, "state": null})
    );
    let key1 = first["apiKey"].as_str().unwrap().to_owned();
    assert_eq!(first["slot"], "a");

    let (status, stored) = server.call(Method::GET, E, None).await;
    assert_eq!(status, 200);
    assert!(
        stored.contains("# rotated by the dual-secret rotator"),
        "{stored}"
    );
    assert!(stored.contains("other: kept"), "{stored}");
    assert!(stored.contains("state:"), "{stored}");
    assert!(stored.contains("fn::secret"), "{stored}");
    assert!(stored.contains("ciphertext"), "{stored}");
    assert!(!stored.contains(&key1), "the state is sealed: {stored}");
    let (_, revealed) = server
        .call(Method::GET, &format!("{E}/decrypt"), None)
        .await;
    assert!(revealed.contains(&key1), "{revealed}");

    let (status, opened) = open_creds(&server).await;
    assert_eq!(status, 200, "{opened}");
    assert_eq!(opened, json!({"current": {"apiKey": key1, "slot": "a"}}));
    assert_eq!(validate(&rotator_url, &key1).await, 200);

    // second rotation: the first response is sent as state, `previous` keeps it
    let event = rotate(&server).await;
    assert_eq!(event["status"], "succeeded", "{event}");
    assert_eq!(event["postRotationRevision"], 4);
    let (request, status, second) = seen.lock().unwrap()[1].clone();
    assert_eq!(status, 200);
    assert_eq!(
        request,
        json!({"request": {"service": "payments"}, "state": {"apiKey": key1, "slot": "a"}})
    );
    let key2 = second["apiKey"].as_str().unwrap().to_owned();
    assert_eq!(second["slot"], "b");
    let (_, stored) = server.call(Method::GET, E, None).await;
    assert!(stored.contains("previous:"), "{stored}");
    assert!(
        !stored.contains(&key1) && !stored.contains(&key2),
        "{stored}"
    );
    let (_, revealed) = server
        .call(Method::GET, &format!("{E}/decrypt"), None)
        .await;
    let (at_previous, at_current) = (
        revealed.find("previous:").unwrap(),
        revealed.find("current:").unwrap(),
    );
    let (at_key1, at_key2) = (revealed.find(&key1).unwrap(), revealed.find(&key2).unwrap());
    // current holds key2 and previous key1 (whichever order the two are written in)
    assert_eq!(
        at_current < at_previous,
        at_key2 < at_key1,
        "current must hold the new key, previous the old: {revealed}"
    );
    let (_, opened) = open_creds(&server).await;
    assert_eq!(opened, json!({"current": {"apiKey": key2, "slot": "b"}}));
    assert_eq!(validate(&rotator_url, &key1).await, 200);
    assert_eq!(validate(&rotator_url, &key2).await, 200);

    // a failing rotator (its store is broken: it answers 500) changes nothing
    std::fs::write(&store_path, "{ not json").unwrap();
    let (_, before) = server.call(Method::GET, E, None).await;
    let event = rotate(&server).await;
    assert_eq!(event["status"], "failed", "{event}");
    assert!(event["postRotationRevision"].is_null(), "{event}");
    assert_eq!(event["rotations"][0]["status"], "failed", "{event}");
    let message = event["rotations"][0]["errorMessage"].as_str().unwrap();
    assert!(message.contains("500"), "{message}");
    assert_eq!(seen.lock().unwrap()[2].1, 500);
    let (status, after) = server.call(Method::GET, E, None).await;
    assert_eq!(status, 200);
    assert_eq!(after, before, "the definition is unchanged");
    let (_, revisions) = server
        .call(Method::GET, &format!("{E}/versions"), None)
        .await;
    let revisions: Value = serde_json::from_str(&revisions).unwrap();
    assert_eq!(revisions.as_array().unwrap().len(), 4, "{revisions}");
    let (_, opened) = open_creds(&server).await;
    assert_eq!(opened, json!({"current": {"apiKey": key2, "slot": "b"}}));

    // the history has all three, newest first, the failure with its reason
    let history = server
        .state
        .service
        .store()
        .list_rotation_events(&EnvRef::new("acme", "app", "creds"), 10)
        .await
        .unwrap();
    let statuses: Vec<_> = history.iter().map(|event| event.event.status).collect();
    assert_eq!(
        statuses,
        vec![
            RotationStatus::Failed,
            RotationStatus::Succeeded,
            RotationStatus::Succeeded
        ]
    );
    let failed = &history[0].event;
    assert_eq!(failed.pre_rotation_revision, 4);
    assert_eq!(failed.post_rotation_revision, None);
    assert_eq!(failed.rotations[0].status, RotationStatus::Failed);
    assert!(
        failed.rotations[0]
            .error_message
            .as_deref()
            .is_some_and(|text| text.contains("500")),
        "{failed:?}"
    );
    assert_eq!(history[1].event.post_rotation_revision, Some(4));

    rotator.abort();
    server.stop().await;
    // neither key is in the database files in clear
    for entry in std::fs::read_dir(&data_dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            let bytes = std::fs::read(&path).unwrap();
            for key in [&key1, &key2] {
                assert!(!contains(&bytes, key), "{} holds a key", path.display());
            }
        }
    }
}

#[tokio::test]
async fn a_failing_rotator_does_not_stop_the_others() {
    let dir = tempfile::tempdir().unwrap();
    let server = start_server(dir.path().join("data")).await;
    let seen: Seen = Arc::default();
    let (good_url, good) = start_rotator(&server.url, &dir.path().join("good.json"), &seen).await;
    let broken_store = dir.path().join("broken.json");
    std::fs::write(&broken_store, "[]").unwrap();
    let (broken_url, broken) = start_rotator(&server.url, &broken_store, &seen).await;
    create_env(&server).await;
    let definition = format!(
        "values:\n  good:\n    fn::rotate::external:\n      inputs:\n        url: {good_url}\n  broken:\n    fn::rotate::external:\n      inputs:\n        url: {broken_url}\n"
    );
    let (status, body) = server.call(Method::PATCH, E, Some(&definition)).await;
    assert_eq!(status, 200, "{body}");

    let event = rotate(&server).await;
    assert_eq!(event["status"], "failed", "{event}");
    // the good rotator's state was written back
    assert_eq!(event["postRotationRevision"], 3, "{event}");
    let mut rotations: Vec<(String, String)> = event["rotations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|rotation| {
            (
                rotation["environmentPath"].as_str().unwrap().to_owned(),
                rotation["status"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    rotations.sort();
    assert_eq!(
        rotations,
        vec![
            ("broken".to_owned(), "failed".to_owned()),
            ("good".to_owned(), "succeeded".to_owned())
        ]
    );
    let good_key = seen
        .lock()
        .unwrap()
        .iter()
        .find(|(_, status, _)| *status == 200)
        .map(|(_, _, response)| response["apiKey"].as_str().unwrap().to_owned())
        .unwrap();
    let (_, revealed) = server
        .call(Method::GET, &format!("{E}/decrypt"), None)
        .await;
    assert!(revealed.contains(&good_key), "{revealed}");
    // one `state:` was written, under `good` (before `broken:`)
    assert_eq!(revealed.matches("state:").count(), 1, "{revealed}");
    assert!(
        revealed.find("state:").unwrap() < revealed.find("broken:").unwrap(),
        "{revealed}"
    );

    good.abort();
    broken.abort();
    server.stop().await;
}
