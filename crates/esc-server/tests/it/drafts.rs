//! Drafts and change requests (#50-54) over real HTTP, on SQLite and
//! PostgreSQL: the wire shapes, `ETag` / `If-Match`, opening a draft,
//! submit applying the draft once, and the statuses of stale and repeated
//! requests.

use std::sync::Arc;

use esc_server::HttpLimits;
use esc_store::{MasterKey, SqlStore, Store};
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::harness::{E, TestServer, create_env, fresh_database, patch_yaml, sqlite_store};

async fn post_yaml(
    server: &TestServer,
    path: &str,
    yaml: &str,
    etag: Option<&str>,
) -> crate::harness::Reply {
    let mut request = server
        .request(Method::POST, path)
        .header("Content-Type", "application/x-yaml")
        .body(yaml.to_owned());
    if let Some(etag) = etag {
        request = request.header("ETag", etag);
    }
    server.send(request).await
}

async fn patch_draft(
    server: &TestServer,
    path: &str,
    yaml: &str,
    if_match: &str,
) -> crate::harness::Reply {
    let request = server
        .request(Method::PATCH, path)
        .header("Content-Type", "application/x-yaml")
        .header("If-Match", if_match)
        .body(yaml.to_owned());
    server.send(request).await
}

async fn scenario(server: &TestServer) {
    create_env(server, "app", "dev").await;
    let defined = patch_yaml(server, E, "values:\n  stage: one\n", None).await;
    assert_eq!(defined.status, StatusCode::OK, "{}", defined.body);

    // 50: create, with the environment's etag
    let current = server.call(Method::GET, E, None).await;
    let env_etag = current.header("etag").to_owned();
    let created = post_yaml(
        server,
        &format!("{E}/drafts"),
        "values:\n  stage: two\n  token:\n    fn::secret: DRAFT-token-99aa\n",
        Some(&env_etag),
    )
    .await;
    assert_eq!(created.status, StatusCode::OK, "{}", created.body);
    let body = created.json();
    let id = body["changeRequestId"].as_str().unwrap().to_owned();
    assert_eq!(body["latestRevisionNumber"], json!(2));
    assert_eq!(body.as_object().unwrap().len(), 2, "{body}");

    // diagnostics → 400 with the diagnostics
    let invalid = post_yaml(server, &format!("{E}/drafts"), "imports:\n", None).await;
    assert_eq!(invalid.status, StatusCode::BAD_REQUEST, "{}", invalid.body);
    let diagnostics = invalid.json()["diagnostics"].as_array().unwrap().clone();
    assert!(
        diagnostics[0]["summary"]
            .as_str()
            .unwrap()
            .contains("imports must be a list"),
        "{diagnostics:?}"
    );

    // 51: the draft as YAML with its ETag, secrets sealed
    let draft_path = format!("{E}/drafts/{id}");
    let read = server.call(Method::GET, &draft_path, None).await;
    assert_eq!(read.status, StatusCode::OK, "{}", read.body);
    assert!(read.body.contains("stage: two"), "{}", read.body);
    assert!(read.body.contains("ciphertext:"), "{}", read.body);
    assert!(!read.body.contains("DRAFT-token-99aa"), "{}", read.body);
    let draft_etag = read.header("etag").to_owned();
    // the environment itself is unchanged
    let env_now = server.call(Method::GET, E, None).await;
    assert_eq!(env_now.header("etag"), env_etag);

    // 52: an edit with the draft's etag; a stale etag is refused
    let edited = patch_draft(
        server,
        &draft_path,
        "values:\n  stage: three\n",
        &format!("\"{draft_etag}\""),
    )
    .await;
    assert_eq!(edited.status, StatusCode::OK, "{}", edited.body);
    assert_eq!(edited.json()["changeRequestId"], json!(id));
    let stale = patch_draft(server, &draft_path, "values:\n  stage: four\n", &draft_etag).await;
    stale.error(StatusCode::CONFLICT);
    let unknown = server
        .call(Method::GET, &format!("{E}/drafts/no-such-draft"), None)
        .await;
    unknown.error(StatusCode::NOT_FOUND);

    // 53: open the draft, read the session via #17
    let opened = server
        .call(
            Method::POST,
            &format!("{draft_path}/open?duration=1h"),
            None,
        )
        .await;
    assert_eq!(opened.status, StatusCode::OK, "{}", opened.body);
    let session = opened.json()["id"].as_str().unwrap().to_owned();
    let result = server
        .call(Method::GET, &format!("{E}/open/{session}"), None)
        .await;
    assert_eq!(result.status, StatusCode::OK, "{}", result.body);
    assert_eq!(
        result.json()["properties"]["stage"]["value"],
        json!("three")
    );

    // 54: submit applies the draft as revision 3
    let submit_path = format!("/api/change-requests/acme/{id}/submit");
    let submitted = server
        .call(
            Method::POST,
            &submit_path,
            Some(r#"{"description":"to three"}"#),
        )
        .await;
    assert!(submitted.status.is_success(), "{}", submitted.body);
    let latest = server.call(Method::GET, E, None).await;
    assert_eq!(latest.header("Pulumi-ESC-Revision"), "3");
    assert_eq!(latest.body, "values:\n  stage: three\n");
    // not a draft any more → 400, nothing changes
    server
        .call(Method::POST, &submit_path, Some("{}"))
        .await
        .error(StatusCode::BAD_REQUEST);
    patch_draft(server, &draft_path, "values: {}\n", &draft_etag)
        .await
        .error(StatusCode::BAD_REQUEST);
    assert_eq!(
        server
            .call(Method::GET, E, None)
            .await
            .header("Pulumi-ESC-Revision"),
        "3"
    );

    // a draft of an older revision does not overwrite a newer one: 409
    let old = post_yaml(
        server,
        &format!("{E}/drafts"),
        "values:\n  stage: old\n",
        None,
    )
    .await;
    let old_id = old.json()["changeRequestId"].as_str().unwrap().to_owned();
    let moved = patch_yaml(server, E, "values:\n  stage: four\n", None).await;
    assert_eq!(moved.status, StatusCode::OK, "{}", moved.body);
    server
        .call(
            Method::POST,
            &format!("/api/change-requests/acme/{old_id}/submit"),
            None,
        )
        .await
        .error(StatusCode::CONFLICT);
    let after = server.call(Method::GET, E, None).await;
    assert_eq!(after.header("Pulumi-ESC-Revision"), "4");
    assert_eq!(after.body, "values:\n  stage: four\n");
    // a stale environment etag at creation is refused
    post_yaml(
        server,
        &format!("{E}/drafts"),
        "values: {}\n",
        Some(&env_etag),
    )
    .await
    .error(StatusCode::CONFLICT);
    server
        .call(
            Method::POST,
            "/api/change-requests/acme/no-such-id/submit",
            None,
        )
        .await
        .error(StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn drafts_on_sqlite() {
    let (store, _dir) = sqlite_store().await;
    let server = TestServer::over(store, HttpLimits::default()).await;
    scenario(&server).await;
    server.stop().await;
}

#[tokio::test]
async fn drafts_on_postgres() {
    let Some(url) = fresh_database().await else {
        return;
    };
    let store = SqlStore::connect_postgres(&url, MasterKey::generate().unwrap(), 4)
        .await
        .unwrap();
    let store: Arc<dyn Store> = Arc::new(store);
    let server = TestServer::over(store, HttpLimits::default()).await;
    scenario(&server).await;
    server.stop().await;
}
