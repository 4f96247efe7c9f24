//! Rotation rules, driven by an injected clock.

#![allow(clippy::unwrap_used)]

use std::collections::HashMap;

use super::*;

const HOUR: u64 = 3600;

fn policy() -> RotationPolicy {
    RotationPolicy {
        rotate_after: Duration::from_secs(10 * HOUR),
        publish_lead: Duration::from_secs(2 * HOUR),
        max_token_lifetime: Duration::from_secs(300),
        clock_leeway: Duration::from_secs(30),
    }
}

fn kids(jwks: &Jwks) -> Vec<String> {
    jwks.keys.iter().map(|key| key.kid.clone()).collect()
}

#[test]
fn empty_set_bootstraps_one_active_key() {
    let mut set = KeySet::default();
    assert!(set.active().is_none());
    let changed = set
        .maintain(UnixTime(1000), &policy(), SigningKey::generate)
        .unwrap();
    assert!(changed);
    let active = set.active().unwrap();
    assert_eq!(kids(&set.jwks(UnixTime(1000))), [active.kid().to_owned()]);
    // Nothing is due yet: a second pass changes nothing.
    assert!(
        !set.maintain(UnixTime(1000 + HOUR), &policy(), SigningKey::generate)
            .unwrap()
    );
}

#[test]
fn next_key_is_published_lead_time_before_it_signs_and_old_key_outlives_its_tokens() {
    let policy = policy();
    let start = UnixTime(1_000_000);
    let mut set = KeySet::default();
    set.maintain(start, &policy, SigningKey::generate).unwrap();
    let first = set.active().unwrap().kid().to_owned();

    // One second before due - lead: no new key.
    let before_lead = start.plus(Duration::from_secs(8 * HOUR - 1));
    assert!(
        !set.maintain(before_lead, &policy, SigningKey::generate)
            .unwrap()
    );
    assert_eq!(set.jwks(before_lead).keys.len(), 1);

    // At due - lead: a next key is published but the first one still signs.
    let lead_start = start.plus(Duration::from_secs(8 * HOUR));
    assert!(
        set.maintain(lead_start, &policy, SigningKey::generate)
            .unwrap()
    );
    let published = kids(&set.jwks(lead_start));
    assert_eq!(published.len(), 2);
    assert_eq!(set.active().unwrap().kid(), first);
    let second = published.iter().find(|kid| **kid != first).unwrap().clone();

    // At due: the second key has been published for `publish_lead` and takes over.
    let due = start.plus(Duration::from_secs(10 * HOUR));
    assert!(set.maintain(due, &policy, SigningKey::generate).unwrap());
    assert_eq!(set.active().unwrap().kid(), second);
    let until = due.plus(Duration::from_secs(330));
    assert!(
        set.keys()
            .iter()
            .any(|managed| managed.key.kid() == first
                && managed.state == KeyState::Retired { until })
    );

    // The retired key stays published until every token it signed (at most `due`, lifetime
    // 300 s) has expired, plus leeway; then it disappears.
    let last_moment = UnixTime(until.0 - 1);
    assert!(kids(&set.jwks(last_moment)).contains(&first));
    set.maintain(last_moment, &policy, SigningKey::generate)
        .unwrap();
    assert!(kids(&set.jwks(last_moment)).contains(&first));
    assert!(!kids(&set.jwks(until)).contains(&first));
    assert!(set.maintain(until, &policy, SigningKey::generate).unwrap());
    assert!(set.keys().iter().all(|managed| managed.key.kid() != first));
}

#[test]
fn late_maintenance_still_waits_for_the_publish_lead() {
    // The clock jumps past the due time before any next key existed: the new key is
    // published now and may sign only `publish_lead` later.
    let policy = policy();
    let start = UnixTime(50_000);
    let mut set = KeySet::default();
    set.maintain(start, &policy, SigningKey::generate).unwrap();
    let first = set.active().unwrap().kid().to_owned();

    let late = start.plus(Duration::from_secs(20 * HOUR));
    set.maintain(late, &policy, SigningKey::generate).unwrap();
    assert_eq!(set.active().unwrap().kid(), first);
    assert_eq!(set.jwks(late).keys.len(), 2);

    let almost = late.plus(Duration::from_secs(2 * HOUR - 1));
    set.maintain(almost, &policy, SigningKey::generate).unwrap();
    assert_eq!(set.active().unwrap().kid(), first);

    let ready = late.plus(Duration::from_secs(2 * HOUR));
    set.maintain(ready, &policy, SigningKey::generate).unwrap();
    assert_ne!(set.active().unwrap().kid(), first);
}

#[test]
fn simulated_months_never_sign_with_an_unannounced_key_or_unpublish_a_live_one() {
    let policy = policy();
    let step = 900; // maintenance every 15 minutes
    let mut now = UnixTime(1_700_000_000);
    let mut set = KeySet::default();
    set.maintain(now, &policy, SigningKey::generate).unwrap();
    let bootstrap_kid = set.active().unwrap().kid().to_owned();
    let mut first_published: HashMap<String, UnixTime> = HashMap::new();
    // (kid, expiry) of a token minted at each step, as the issuer would.
    let mut minted: Vec<(String, u64)> = Vec::new();
    let mut n_rotations = 0;
    let mut last_active = bootstrap_kid.clone();

    for _ in 0..(45 * HOUR / step) {
        now = now.plus(Duration::from_secs(step));
        set.maintain(now, &policy, SigningKey::generate).unwrap();
        for kid in kids(&set.jwks(now)) {
            first_published.entry(kid).or_insert(now);
        }
        let active = set.active().unwrap().kid().to_owned();
        if active != last_active {
            n_rotations += 1;
            last_active = active.clone();
        }
        if active != bootstrap_kid {
            let announced = first_published[&active];
            assert!(
                now.0 - announced.0 >= policy.publish_lead.as_secs(),
                "key signed {} s after it was published",
                now.0 - announced.0
            );
        }
        minted.push((active, now.0 + policy.max_token_lifetime.as_secs()));
        let published = kids(&set.jwks(now));
        for (kid, exp) in &minted {
            if now.0 < exp + policy.clock_leeway.as_secs() {
                assert!(
                    published.contains(kid),
                    "a live token's key was unpublished"
                );
            }
        }
    }
    assert!(n_rotations >= 3, "only {n_rotations} rotations happened");
    assert!(set.jwks(now).keys.len() <= 3);
}

#[test]
fn two_active_keys_are_refused() {
    let key = |state| ManagedKey {
        key: Arc::new(SigningKey::generate().unwrap()),
        state,
    };
    let result = KeySet::from_keys(
        vec![
            key(KeyState::Active { since: UnixTime(1) }),
            key(KeyState::Active { since: UnixTime(2) }),
        ],
        0,
    );
    assert!(matches!(result, Err(Error::Config(_))));
}
