//! Integration tests of the service layer over a real SQLite store: access
//! checks, audit events, secrets sealing and revision semantics.
#![allow(clippy::unwrap_used)]

mod access;
mod deliveries;
mod drafts;
mod open;
mod results;
mod rotation;
mod webhooks;

/// A fresh SQLite store (with a new master key) in a temporary directory,
/// kept while the directory lives.
async fn sqlite_store() -> (tempfile::TempDir, std::sync::Arc<dyn esc_store::Store>) {
    let dir = tempfile::tempdir().unwrap();
    let store =
        esc_store::SqlStore::open_sqlite(dir.path(), esc_store::MasterKey::generate().unwrap())
            .await
            .unwrap();
    (dir, std::sync::Arc::new(store))
}
