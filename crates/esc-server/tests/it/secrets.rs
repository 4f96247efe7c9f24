//! Secrets at rest: after saving plaintext secrets through the API, the
//! SQLite files do not contain them; opening reveals them; reading the
//! definition shows ciphertext.

use reqwest::{Method, StatusCode};

use crate::harness::{E, create_env, patch_yaml, sqlite_server};

pub(crate) const SECRET_A: &str = "plaintext-password-7f3a9c";
pub(crate) const SECRET_B: &str = "second-api-key-2b8e11";

pub(crate) fn definition() -> String {
    format!(
        "values:\n  a:\n    fn::secret: {SECRET_A}\n  nested:\n    list:\n      - fn::secret: \"{SECRET_B}\"\n  plain: visible\n"
    )
}

/// Saves secrets, checks the API's views; returns nothing (panics on failure).
pub(crate) async fn save_and_check(server: &crate::harness::TestServer) {
    create_env(server, "app", "dev").await;
    let saved = patch_yaml(server, E, &definition(), None).await;
    assert_eq!(saved.status, StatusCode::OK, "{}", saved.body);
    let stored = server.call(Method::GET, E, None).await;
    assert!(!stored.body.contains(SECRET_A) && !stored.body.contains(SECRET_B));
    assert_eq!(
        stored.body.matches("fn::secret:\n").count(),
        2,
        "{}",
        stored.body
    );
    assert_eq!(
        stored.body.matches("ciphertext: ZXNjeA").count(),
        2,
        "{}",
        stored.body
    );
    let id = server
        .call(Method::POST, &format!("{E}/open"), None)
        .await
        .json()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let opened = server
        .call(Method::GET, &format!("{E}/open/{id}"), None)
        .await
        .json();
    assert_eq!(opened["properties"]["a"]["value"], SECRET_A);
    assert_eq!(
        opened["properties"]["nested"]["value"]["list"]["value"][0]["value"],
        SECRET_B
    );
}

/// Every byte under `dir` (database, WAL, journal files).
fn all_bytes(dir: &std::path::Path) -> Vec<u8> {
    let mut bytes = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            bytes.extend(std::fs::read(&path).unwrap());
        }
    }
    bytes
}

pub(crate) fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle.as_bytes())
}

#[tokio::test]
async fn sqlite_files_never_hold_plaintext_secrets() {
    let (server, dir) = sqlite_server().await;
    save_and_check(&server).await;
    // the session stored by the open is encrypted too
    server.stop().await;
    let bytes = all_bytes(dir.path());
    assert!(bytes.len() > 1000, "the database files were read");
    assert!(
        !contains(&bytes, SECRET_A),
        "plaintext secret found in the SQLite files"
    );
    assert!(
        !contains(&bytes, SECRET_B),
        "plaintext secret found in the SQLite files"
    );
}

/// Only the first YAML document is evaluated, so only its secrets are
/// sealed: later documents are dropped on save (with a warning) rather than
/// stored with a plaintext secret that every read would show.
#[tokio::test]
async fn later_yaml_documents_are_not_stored() {
    let (server, _dir) = sqlite_server().await;
    create_env(&server, "app", "dev").await;
    let first = "values:\n  a: x\n";
    let text = format!("{first}---\nvalues:\n  b:\n    fn::secret: {SECRET_A}\n");
    let saved = patch_yaml(&server, E, &text, None).await;
    assert_eq!(saved.status, StatusCode::OK, "{}", saved.body);
    let warning = saved.json()["diagnostics"][0]["summary"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(
        warning.contains("first YAML document") && warning.contains("line 3"),
        "{}",
        saved.body
    );
    for path in [E.to_owned(), format!("{E}/decrypt")] {
        let stored = server.call(Method::GET, &path, None).await;
        assert_eq!(stored.status, StatusCode::OK, "{}", stored.body);
        assert_eq!(stored.body, first, "{path}");
    }
    // a single document ending in `...` is kept whole
    let ended = "values:\n  a: y\n...\n";
    let saved = patch_yaml(&server, E, ended, None).await;
    assert_eq!(saved.status, StatusCode::OK, "{}", saved.body);
    assert!(
        !saved.body.contains("first YAML document"),
        "{}",
        saved.body
    );
    assert_eq!(server.call(Method::GET, E, None).await.body, ended);
    server.stop().await;
}
