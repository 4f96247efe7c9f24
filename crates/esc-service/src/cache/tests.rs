//! The caches' bounds: staleness, expiry, environment, size.
#![allow(clippy::unwrap_used)]

use super::*;

fn alice() -> Caller {
    Caller {
        login: "alice".into(),
        name: "alice".into(),
    }
}

fn result(value: PlainValue) -> SessionResult {
    let json = value.to_json().unwrap();
    SessionResult::new(value, json)
}

#[test]
fn a_verified_token_is_trusted_for_the_ttl_only() {
    let cache = TokenCache::new(Duration::from_millis(100));
    assert_eq!(cache.lookup("esc_a"), None);
    cache.insert("esc_a", alice(), None);
    assert_eq!(cache.lookup("esc_a"), Some(alice()));
    assert_eq!(cache.lookup("esc_b"), None);
    std::thread::sleep(Duration::from_millis(150));
    assert_eq!(cache.lookup("esc_a"), None);
}

#[test]
fn a_token_expiry_ends_its_cache_entry() {
    let cache = TokenCache::new(Duration::from_secs(60));
    cache.insert("esc_a", alice(), Some(Timestamp::now().plus_millis(50)));
    assert_eq!(cache.lookup("esc_a"), Some(alice()));
    std::thread::sleep(Duration::from_millis(80));
    assert_eq!(cache.lookup("esc_a"), None);
}

#[test]
fn a_zero_ttl_caches_nothing() {
    let tokens = TokenCache::new(Duration::ZERO);
    tokens.insert("esc_a", alice(), None);
    assert_eq!(tokens.lookup("esc_a"), None);
    let sessions = SessionCache::new(Duration::ZERO);
    let env = EnvRef::new("acme", "app", "dev");
    sessions.insert(
        "s",
        &env,
        Timestamp::now().plus_millis(60_000),
        result(PlainValue::Null),
    );
    assert!(sessions.lookup("s", &env).is_none());
}

#[test]
fn the_token_cache_stays_bounded() {
    let cache = TokenCache::new(Duration::from_secs(60));
    for idx in 0..MAX_TOKENS + 10 {
        cache.insert(&format!("esc_{idx}"), alice(), None);
    }
    assert!(lock(&cache.entries).len() <= MAX_TOKENS);
    assert_eq!(
        cache.lookup(&format!("esc_{}", MAX_TOKENS + 9)),
        Some(alice())
    );
}

#[test]
fn sessions_answer_for_their_environment_until_expiry() {
    let cache = SessionCache::new(Duration::from_secs(60));
    let env = EnvRef::new("acme", "app", "dev");
    let other = EnvRef::new("acme", "app", "prod");
    let value = PlainValue::string("x");
    cache.insert(
        "id1",
        &env,
        Timestamp::now().plus_millis(60),
        result(value.clone()),
    );
    let found = cache.lookup("id1", &env).unwrap();
    assert_eq!(**found.value, value);
    assert_eq!(&**found.json, "\"x\"");
    assert!(cache.lookup("id1", &other).is_none());
    assert!(cache.lookup("id2", &env).is_none());
    std::thread::sleep(Duration::from_millis(100));
    assert!(cache.lookup("id1", &env).is_none());
}

#[test]
fn sessions_leave_after_the_ttl_and_with_their_environment() {
    let cache = SessionCache::new(Duration::from_millis(50));
    let env = EnvRef::new("acme", "app", "dev");
    let far = Timestamp::now().plus_millis(3_600_000);
    cache.insert("id1", &env, far, result(PlainValue::Null));
    std::thread::sleep(Duration::from_millis(80));
    assert!(cache.lookup("id1", &env).is_none());

    let cache = SessionCache::new(Duration::from_secs(60));
    cache.insert("id1", &env, far, result(PlainValue::Null));
    cache.insert(
        "id2",
        &EnvRef::new("acme", "app", "other"),
        far,
        result(PlainValue::Null),
    );
    cache.forget_environment(&env);
    assert!(cache.lookup("id1", &env).is_none());
    assert!(
        cache
            .lookup("id2", &EnvRef::new("acme", "app", "other"))
            .is_some()
    );
}

#[test]
fn the_session_cache_keeps_the_newest_within_its_bound() {
    let cache = SessionCache::new(Duration::from_secs(60));
    let env = EnvRef::new("acme", "app", "dev");
    let far = Timestamp::now().plus_millis(3_600_000);
    for idx in 0..MAX_SESSIONS + 5 {
        cache.insert(&format!("id{idx}"), &env, far, result(PlainValue::Null));
    }
    let sessions = lock(&cache.entries);
    assert_eq!(sessions.by_id.len(), MAX_SESSIONS);
    assert_eq!(sessions.order.len(), MAX_SESSIONS);
    drop(sessions);
    assert!(cache.lookup("id0", &env).is_none());
    assert!(
        cache
            .lookup(&format!("id{}", MAX_SESSIONS + 4), &env)
            .is_some()
    );
}

#[test]
fn wiping_an_environment_zeroizes_every_value_text() {
    let object = |password: &str, number: &str, secret: &str| {
        PlainValue::Object(
            [
                ("password".to_owned(), PlainValue::string(password)),
                (
                    "nested".to_owned(),
                    PlainValue::Array(vec![
                        PlainValue::Number(number.into()),
                        PlainValue::Secret(Box::new(PlainValue::string(secret))),
                        PlainValue::Bool(true),
                    ]),
                ),
            ]
            .into_iter()
            .collect(),
        )
    };
    let mut value = object("hunter2", "42", "s3cret");
    wipe(&mut value);
    // the same shape and names, every text gone
    assert_eq!(value, object("", "", ""));
}
