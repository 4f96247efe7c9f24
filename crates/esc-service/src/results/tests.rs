//! The result cache's keys, freshness check and bounds.
#![allow(clippy::unwrap_used)]

use super::*;
use esc_eval::PlainValue;
use esc_store::{Author, MasterKey, SqlStore, Store};

/// A real environment's cipher (the store is the only maker of ciphers).
async fn cipher() -> Arc<EnvironmentCipher> {
    let dir = tempfile::tempdir().unwrap();
    let store = SqlStore::open_sqlite(dir.path(), MasterKey::generate().unwrap())
        .await
        .unwrap();
    store.create_organization("acme").await.unwrap();
    let env = EnvRef::new("acme", "app", "dev");
    store
        .create_environment(&env, &Author::new("root", "root"))
        .await
        .unwrap();
    Arc::new(store.environment_cipher(&env).await.unwrap())
}

/// Results sharing one cipher (what they hold is not what is tested).
struct Results(Arc<EnvironmentCipher>);

impl Results {
    async fn new() -> Self {
        Self(cipher().await)
    }

    fn make(&self, json: &str, dependencies: Vec<Dependency>) -> Arc<CachedResult> {
        Arc::new(CachedResult {
            dependencies,
            cipher: self.0.clone(),
            result: SessionResult::new(PlainValue::string(json), json.to_owned()),
            stored: Default::default(),
        })
    }
}

fn key(name: &str, login: &str) -> ResultKey {
    ResultKey {
        env: EnvRef::new("acme", "app", name),
        version: Version::Latest,
        login: login.to_owned(),
    }
}

fn resolved(id: &str, number: u64) -> ResolvedRevision {
    ResolvedRevision {
        environment_id: id.to_owned(),
        number,
    }
}

fn dependency(name: &str, number: u64) -> Dependency {
    Dependency {
        env: EnvRef::new("acme", "app", name),
        version: Version::Latest,
        resolved: resolved(name, number),
    }
}

#[tokio::test]
async fn the_login_and_the_version_are_part_of_the_key() {
    let results = Results::new().await;
    let cache = ResultCache::new(8, 1 << 20);
    cache.insert(
        key("dev", "alice"),
        results.make("a", vec![dependency("dev", 1)]),
    );
    assert!(cache.lookup(&key("dev", "alice")).is_some());
    assert!(cache.lookup(&key("dev", "bob")).is_none());
    assert!(cache.lookup(&key("prod", "alice")).is_none());
    let mut tagged = key("dev", "alice");
    tagged.version = Version::Tag("stable".into());
    assert!(cache.lookup(&tagged).is_none());
    let mut numbered = key("dev", "alice");
    numbered.version = Version::Number(1);
    assert!(cache.lookup(&numbered).is_none());
}

#[tokio::test]
async fn a_result_is_current_only_when_every_dependency_resolves_the_same() {
    let results = Results::new().await;
    let cached = results.make("x", vec![dependency("dev", 2), dependency("base", 5)]);
    assert!(cached.has_imports());
    assert!(cached.is_current(&[Some(resolved("dev", 2)), Some(resolved("base", 5))]));
    // a new revision of the import
    assert!(!cached.is_current(&[Some(resolved("dev", 2)), Some(resolved("base", 6))]));
    // the import re-created (another id, same number)
    assert!(!cached.is_current(&[Some(resolved("dev", 2)), Some(resolved("other", 5))]));
    // gone or retracted
    assert!(!cached.is_current(&[Some(resolved("dev", 2)), None]));
    // a different number of answers
    assert!(!cached.is_current(&[Some(resolved("dev", 2))]));
}

#[tokio::test]
async fn entries_and_bytes_are_bounded_least_recently_used_first() {
    let results = Results::new().await;
    let cache = ResultCache::new(2, 1 << 20);
    cache.insert(
        key("one", "u"),
        results.make("1", vec![dependency("one", 1)]),
    );
    cache.insert(
        key("two", "u"),
        results.make("2", vec![dependency("two", 1)]),
    );
    // use `one`: `two` is now the oldest
    assert!(cache.lookup(&key("one", "u")).is_some());
    cache.insert(
        key("three", "u"),
        results.make("3", vec![dependency("three", 1)]),
    );
    assert_eq!(cache.len(), 2);
    assert!(cache.lookup(&key("one", "u")).is_some());
    assert!(cache.lookup(&key("two", "u")).is_none());
    assert!(cache.lookup(&key("three", "u")).is_some());

    let cache = ResultCache::new(100, 10);
    for name in ["a", "b", "c"] {
        cache.insert(
            key(name, "u"),
            results.make("four", vec![dependency(name, 1)]),
        );
    }
    // 3 x 4 bytes of JSON do not fit in 10
    assert_eq!(cache.len(), 2);
    assert!(cache.lookup(&key("a", "u")).is_none());
    // a result larger than the whole bound is not kept
    cache.insert(
        key("big", "u"),
        results.make("eleven-byte", vec![dependency("big", 1)]),
    );
    assert!(cache.lookup(&key("big", "u")).is_none());
    assert_eq!(cache.len(), 2);
    // replacing an entry counts its bytes once
    for _ in 0..5 {
        cache.insert(
            key("b", "u"),
            results.make("four", vec![dependency("b", 2)]),
        );
    }
    assert_eq!(cache.len(), 2);
    assert!(cache.lookup(&key("c", "u")).is_some());
}

#[tokio::test]
async fn forgetting_an_environment_and_a_stale_entry() {
    let results = Results::new().await;
    let cache = ResultCache::new(8, 1 << 20);
    cache.insert(
        key("dev", "alice"),
        results.make("a", vec![dependency("dev", 1)]),
    );
    cache.insert(
        key("dev", "bob"),
        results.make("b", vec![dependency("dev", 1)]),
    );
    cache.insert(
        key("prod", "bob"),
        results.make("c", vec![dependency("prod", 1)]),
    );
    cache.remove(&key("prod", "bob"));
    assert!(cache.lookup(&key("prod", "bob")).is_none());
    cache.forget_environment(&EnvRef::new("acme", "app", "dev"));
    assert_eq!(cache.len(), 0);
    // nothing is kept at all with no room
    let none = ResultCache::new(0, 1 << 20);
    none.insert(
        key("dev", "alice"),
        results.make("a", vec![dependency("dev", 1)]),
    );
    assert!(none.lookup(&key("dev", "alice")).is_none());
}
