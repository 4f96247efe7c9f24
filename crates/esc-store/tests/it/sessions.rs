//! Sessions sharing one stored result (`Store::create_shared_session`).

use esc_store::{
    EnvRef, EnvironmentCipher, LATEST_TAG, NewAuditEvent, Pin, ResolvedRevision, RevisionAt,
    SharedResult, Store, StoreError, Timestamp,
};

use crate::harness::{Harness, Kind, alice, bob, new_env};

fn open_event(detail: &str) -> NewAuditEvent {
    NewAuditEvent {
        time: Timestamp::now(),
        org: "acme".into(),
        actor: "alice".into(),
        action: "environment.open".into(),
        target: "app/dev".into(),
        detail: detail.into(),
    }
}

async fn n_events(store: &dyn Store) -> usize {
    store
        .list_audit_events("acme", None, 100)
        .await
        .unwrap()
        .items
        .len()
}

pub(crate) async fn shared_sessions(h: &Harness) {
    let store = h.dyn_store();
    let env = new_env(&*store, "dev").await;
    let other = new_env(&*store, "other").await;
    let cipher = std::sync::Arc::new(store.environment_cipher(&env).await.unwrap());
    let now = Timestamp::now();
    let expires = now.plus_millis(3_600_000);
    let keep_until = now.plus_millis(4_000_000);
    let first = store
        .create_shared_session(
            &env,
            &cipher,
            1,
            SharedResult::New {
                result: b"{\"a\":1}",
                keep_until,
            },
            expires,
            Some(&open_event("first")),
        )
        .await
        .unwrap();
    // A second session points to the stored result.
    let second = store
        .create_shared_session(
            &env,
            &cipher,
            1,
            SharedResult::Stored(&first.result_id),
            keep_until,
            Some(&open_event("second")),
        )
        .await
        .unwrap();
    assert_eq!(second.result_id, first.result_id);
    assert_ne!(second.id, first.id);
    for id in [&first.id, &second.id] {
        assert_eq!(
            store.session(&env, id).await.unwrap().expose(),
            b"{\"a\":1}"
        );
        // another server on the same database reads them too
        let reopened = h
            .reopen(esc_store::MasterKey::from_bytes(&h.master_key).unwrap())
            .await
            .unwrap();
        assert_eq!(
            reopened.session(&env, id).await.unwrap().expose(),
            b"{\"a\":1}"
        );
        assert!(matches!(
            store.session(&other, id).await,
            Err(StoreError::NotFound { .. })
        ));
    }
    let events = store.list_audit_events("acme", None, 10).await.unwrap();
    let mut details: Vec<_> = events
        .items
        .iter()
        .map(|e| e.event.detail.clone())
        .collect();
    details.sort();
    assert_eq!(details, ["first", "second"]);

    // A session outliving the result, or of another environment, or
    // pointing to an unknown result: NotFound, and neither the session nor
    // its audit event is written.
    let other_cipher = store.environment_cipher(&other).await.unwrap();
    let other_cipher = &other_cipher;
    for (target, cipher, result_id, session_expires) in [
        (
            &env,
            &*cipher,
            first.result_id.as_str(),
            keep_until.plus_millis(1),
        ),
        (&other, other_cipher, first.result_id.as_str(), expires),
        (&env, &*cipher, "0123456789abcdef0123456789abcdef", expires),
    ] {
        assert!(matches!(
            store
                .create_shared_session(
                    target,
                    cipher,
                    1,
                    SharedResult::Stored(result_id),
                    session_expires,
                    Some(&open_event("refused")),
                )
                .await,
            Err(StoreError::NotFound { .. })
        ));
    }
    assert_eq!(n_events(&*store).await, 2);
    // A new result must be kept at least as long as its session.
    assert!(matches!(
        store
            .create_shared_session(
                &env,
                &cipher,
                1,
                SharedResult::New {
                    result: b"{}",
                    keep_until: expires,
                },
                keep_until,
                None,
            )
            .await,
        Err(StoreError::Invalid { .. })
    ));
    // Shared and own sessions in one group commit keep their own outcomes.
    let mut tasks = Vec::new();
    for idx in 0..40_u32 {
        let store = store.clone();
        let cipher = cipher.clone();
        let result_id = first.result_id.clone();
        let env = env.clone();
        tasks.push(tokio::spawn(async move {
            let event = open_event(&format!("concurrent {idx}"));
            if idx % 4 == 0 {
                // outlives the result: refused alone
                store
                    .create_shared_session(
                        &env,
                        &cipher,
                        1,
                        SharedResult::Stored(&result_id),
                        keep_until.plus_millis(1),
                        Some(&event),
                    )
                    .await
                    .map(|session| session.id)
            } else if idx % 4 == 1 {
                store
                    .create_session(&env, &cipher, 1, b"{\"own\":true}", expires, Some(&event))
                    .await
            } else {
                store
                    .create_shared_session(
                        &env,
                        &cipher,
                        1,
                        SharedResult::Stored(&result_id),
                        expires,
                        Some(&event),
                    )
                    .await
                    .map(|session| session.id)
            }
        }));
    }
    for (idx, task) in tasks.into_iter().enumerate() {
        let outcome = task.await.unwrap();
        match idx % 4 {
            0 => assert!(matches!(outcome, Err(StoreError::NotFound { .. }))),
            1 => assert_eq!(
                store
                    .session(&env, &outcome.unwrap())
                    .await
                    .unwrap()
                    .expose(),
                b"{\"own\":true}"
            ),
            _ => assert_eq!(
                store
                    .session(&env, &outcome.unwrap())
                    .await
                    .unwrap()
                    .expose(),
                b"{\"a\":1}"
            ),
        }
    }
    assert_eq!(n_events(&*store).await, 2 + 30);

    // Purging at the sessions' expiry removes them; the result stays until
    // its own, then goes too.
    assert!(
        store
            .purge_expired_sessions(expires.plus_millis(1))
            .await
            .unwrap()
            >= 21
    );
    assert!(matches!(
        store.session(&env, &first.id).await,
        Err(StoreError::NotFound { .. })
    ));
    assert_eq!(
        store.session(&env, &second.id).await.unwrap().expose(),
        b"{\"a\":1}"
    );
    assert_eq!(
        store
            .purge_expired_sessions(keep_until.plus_millis(1))
            .await
            .unwrap(),
        1
    );
    assert!(matches!(
        store
            .create_shared_session(
                &env,
                &cipher,
                1,
                SharedResult::Stored(&first.result_id),
                now.plus_millis(1000),
                None,
            )
            .await,
        Err(StoreError::NotFound { .. })
    ));

    // A deleted environment takes its results along.
    let gone = new_env(&*store, "gone").await;
    let gone_cipher = store.environment_cipher(&gone).await.unwrap();
    let stored = store
        .create_shared_session(
            &gone,
            &gone_cipher,
            1,
            SharedResult::New {
                result: b"{}",
                keep_until,
            },
            expires,
            None,
        )
        .await
        .unwrap();
    store.delete_environment(&gone).await.unwrap();
    for result in [
        SharedResult::Stored(&stored.result_id),
        SharedResult::New {
            result: b"{}",
            keep_until,
        },
    ] {
        assert!(matches!(
            store
                .create_shared_session(&gone, &gone_cipher, 1, result, expires, None)
                .await,
            Err(StoreError::NotFound { .. })
        ));
    }
}

/// Many opens of stored results at once (on PostgreSQL a batch of them is
/// one statement): each keeps its own outcome, each written session has
/// its own audit event and only those, and one caller's bad write fails
/// that caller alone.
pub(crate) async fn shared_sessions_in_batches(h: &Harness) {
    let store = h.dyn_store();
    let env = new_env(&*store, "dev").await;
    let other = new_env(&*store, "other").await;
    let cipher = std::sync::Arc::new(store.environment_cipher(&env).await.unwrap());
    let other_cipher = std::sync::Arc::new(store.environment_cipher(&other).await.unwrap());
    let now = Timestamp::now();
    let expires = now.plus_millis(3_600_000);
    let keep_until = now.plus_millis(4_000_000);
    let mut result_ids = Vec::new();
    for (target, cipher, body) in [
        (&env, &cipher, &b"{\"env\":1}"[..]),
        (&other, &other_cipher, &b"{\"other\":1}"[..]),
    ] {
        let stored = store
            .create_shared_session(
                target,
                cipher,
                1,
                SharedResult::New {
                    result: body,
                    keep_until,
                },
                expires,
                None,
            )
            .await
            .unwrap();
        result_ids.push(stored.result_id);
    }
    assert_eq!(n_events(&*store).await, 0);
    let mut expected_details = Vec::new();
    // first every write can be stored (on PostgreSQL each batch is one
    // statement), then one in twelve fails its batch
    for (round, poisoned) in [(0, false), (1, true)] {
        let mut tasks = Vec::new();
        for idx in 0..120_u32 {
            let store = store.clone();
            let (env, other) = (env.clone(), other.clone());
            let (cipher, other_cipher) = (cipher.clone(), other_cipher.clone());
            let result_ids = result_ids.clone();
            tasks.push(tokio::spawn(async move {
                let mut event = open_event(&format!("batched {round} {idx}"));
                let (target, cipher, result_id, session_expires, audited) = match idx % 6 {
                    // outlives the result
                    0 => (
                        &env,
                        &cipher,
                        &result_ids[0],
                        keep_until.plus_millis(1),
                        true,
                    ),
                    // the other environment's result
                    1 => (&env, &cipher, &result_ids[1], expires, true),
                    // an unknown result
                    2 => (&env, &cipher, &"f".repeat(32), expires, true),
                    // no audit event asked for
                    3 => (&other, &other_cipher, &result_ids[1], expires, false),
                    // a detail no backend can store: refused, alone
                    4 if poisoned && idx % 12 == 4 => {
                        event.detail.push('\0');
                        (&env, &cipher, &result_ids[0], expires, true)
                    }
                    _ => (&env, &cipher, &result_ids[0], expires, true),
                };
                let outcome = store
                    .create_shared_session(
                        target,
                        cipher,
                        1,
                        SharedResult::Stored(result_id),
                        session_expires,
                        audited.then_some(&event),
                    )
                    .await;
                (idx, outcome)
            }));
        }
        for task in tasks {
            let (idx, outcome) = task.await.unwrap();
            match idx % 6 {
                0..=2 => assert!(
                    matches!(outcome, Err(StoreError::NotFound { .. })),
                    "{idx}: {outcome:?}"
                ),
                3 => assert_eq!(
                    store
                        .session(&other, &outcome.unwrap().id)
                        .await
                        .unwrap()
                        .expose(),
                    b"{\"other\":1}"
                ),
                4 if poisoned && idx % 12 == 4 => assert!(
                    matches!(outcome, Err(StoreError::Invalid { .. })),
                    "{idx}: {outcome:?}"
                ),
                _ => {
                    let session = outcome.unwrap();
                    assert_eq!(session.result_id, result_ids[0]);
                    assert_eq!(
                        store.session(&env, &session.id).await.unwrap().expose(),
                        b"{\"env\":1}"
                    );
                    expected_details.push(format!("batched {round} {idx}"));
                }
            }
        }
    }
    let events = store.list_audit_events("acme", None, 200).await.unwrap();
    let mut details: Vec<String> = events
        .items
        .iter()
        .map(|event| event.event.detail.clone())
        .collect();
    details.sort();
    expected_details.sort();
    assert_eq!(details, expected_details);
    // per round 120 / 6 * 2 written with an event, less the 10 refused in
    // the second
    assert_eq!(details.len(), 40 + 30);
    if h.kind == Kind::Postgres {
        // Merged batches are one statement each, so their sessions share a
        // transaction id; had the merged statement failed, each caller's
        // writes would have run alone (a transaction each).
        let (sessions, transactions) = session_transactions(h).await;
        // two of new results, 60 then 50 of stored ones
        assert_eq!(sessions, 2 + 60 + 50);
        assert!(
            transactions * 2 < sessions,
            "{sessions} sessions written in {transactions} transactions"
        );
    }
}

/// Stores `result` of revision `revision` of `env` for sessions to share
/// (kept a minute past `expires`), with a session of its own; its id.
async fn stored_result(
    store: &dyn Store,
    env: &EnvRef,
    cipher: &EnvironmentCipher,
    revision: u64,
    result: &[u8],
    expires: Timestamp,
) -> String {
    store
        .create_shared_session(
            env,
            cipher,
            revision,
            SharedResult::New {
                result,
                keep_until: expires.plus_millis(60_000),
            },
            expires,
            None,
        )
        .await
        .unwrap()
        .result_id
}

/// A session of a stored result written under pins: for every selector
/// and every change to what it names (a new revision, a tag moved or
/// deleted, a retraction, a re-created environment), the pin holds exactly
/// when `resolve_revisions` still answers the revision it recorded; a
/// session whose pins do not all hold is not written, nor its audit event.
pub(crate) async fn pinned_sessions(h: &Harness) {
    let store = h.dyn_store();
    let dev = new_env(&*store, "dev").await;
    let base = new_env(&*store, "base").await;
    for text in ["v: 2\n", "v: 3\n", "v: 4\n"] {
        store
            .update_environment(&dev, text.as_bytes(), None, &alice())
            .await
            .unwrap();
    }
    for (tag, number) in [("prod", 3), ("gone", 2)] {
        store
            .create_revision_tag(&dev, tag, Some(number), &alice())
            .await
            .unwrap();
    }
    let cipher = store.environment_cipher(&dev).await.unwrap();
    let expires = Timestamp::now().plus_millis(60_000);
    let result_id = stored_result(&*store, &dev, &cipher, 4, b"{\"pinned\":1}", expires).await;
    let targets = [
        (dev.clone(), RevisionAt::Tag(LATEST_TAG)),
        (base.clone(), RevisionAt::Tag(LATEST_TAG)),
        (dev.clone(), RevisionAt::Tag("prod")),
        (dev.clone(), RevisionAt::Tag("gone")),
        (dev.clone(), RevisionAt::Number(3)),
        (dev.clone(), RevisionAt::Number(2)),
    ];
    let recorded: Vec<ResolvedRevision> = store
        .resolve_revisions(&targets)
        .await
        .unwrap()
        .into_iter()
        .map(Option::unwrap)
        .collect();
    let pins: Vec<Pin<'_>> = targets
        .iter()
        .zip(&recorded)
        .map(|((env, at), resolved)| Pin {
            env,
            at: *at,
            resolved,
        })
        .collect();
    let events = std::cell::Cell::new(0);
    let open = async |pins: &[Pin<'_>], written: bool, what: &str| {
        let outcome = store
            .create_shared_session(
                &dev,
                &cipher,
                4,
                SharedResult::StoredWhile {
                    result_id: &result_id,
                    pins,
                },
                expires,
                Some(&open_event(what)),
            )
            .await;
        match (outcome, written) {
            (Ok(session), true) => {
                events.set(events.get() + 1);
                let read = store.session(&dev, &session.id).await.unwrap();
                assert_eq!(read.expose(), b"{\"pinned\":1}", "{what}");
            }
            (Err(StoreError::NotFound { .. }), false) => {}
            (outcome, _) => panic!("{what}: written {written} expected, got {outcome:?}"),
        }
        assert_eq!(n_events(&*store).await, events.get(), "{what}");
    };
    // Each pin alone, and all together, against resolve_revisions now.
    let check = async |state: &str| {
        let now = store.resolve_revisions(&targets).await.unwrap();
        let holds: Vec<bool> = now
            .iter()
            .zip(&recorded)
            .map(|(now, recorded)| now.as_ref() == Some(recorded))
            .collect();
        for (index, pin) in pins.iter().enumerate() {
            open(
                std::slice::from_ref(pin),
                holds[index],
                &format!("{state}: pin {index}"),
            )
            .await;
        }
        open(
            &pins,
            holds.iter().all(|holds| *holds),
            &format!("{state}: all"),
        )
        .await;
        holds
    };
    assert_eq!(check("as recorded").await, [true; 6]);
    // no pins: as `Stored`
    open(&[], true, "no pins").await;
    // a number pinned at another number never holds
    let other = ResolvedRevision {
        number: 2,
        ..recorded[4].clone()
    };
    let wrong = Pin {
        env: &dev,
        at: RevisionAt::Number(3),
        resolved: &other,
    };
    open(&[wrong], false, "a number recorded at another").await;

    store
        .update_environment(&base, b"v: 2\n", None, &alice())
        .await
        .unwrap();
    assert_eq!(
        check("base has a new revision").await,
        [true, false, true, true, true, true]
    );
    store
        .update_revision_tag(&dev, "prod", 4, &alice())
        .await
        .unwrap();
    assert_eq!(
        check("prod moved").await,
        [true, false, false, true, true, true]
    );
    store.delete_revision_tag(&dev, "gone").await.unwrap();
    assert_eq!(
        check("gone deleted").await,
        [true, false, false, false, true, true]
    );
    store
        .retract_revision(&dev, 3, None, "leaked", &bob())
        .await
        .unwrap();
    assert_eq!(
        check("3 retracted").await,
        [true, false, false, false, false, true]
    );
    store
        .update_environment(&dev, b"v: 5\n", None, &alice())
        .await
        .unwrap();
    assert_eq!(
        check("dev has a new revision").await,
        [false, false, false, false, false, true]
    );
    // re-created with as many revisions: another environment
    store.delete_environment(&base).await.unwrap();
    store.create_environment(&base, &alice()).await.unwrap();
    let base_pin = &pins[1..2];
    let recreated = store.resolve_revisions(&targets[1..2]).await.unwrap();
    assert_eq!(recreated[0].as_ref().map(|r| r.number), Some(1));
    open(base_pin, false, "base re-created").await;
}

/// Many pinned opens at once (on PostgreSQL a batch of them is one
/// statement, equal lists of pins shared): each is written exactly when its
/// own pins hold, with its audit event.
pub(crate) async fn pinned_sessions_in_batches(h: &Harness) {
    let store = h.dyn_store();
    let dev = new_env(&*store, "dev").await;
    let base = new_env(&*store, "base").await;
    store
        .update_environment(&base, b"v: 2\n", None, &alice())
        .await
        .unwrap();
    let cipher = store.environment_cipher(&dev).await.unwrap();
    let expires = Timestamp::now().plus_millis(60_000);
    let result_id = stored_result(&*store, &dev, &cipher, 1, b"{}", expires).await;
    let dev_id = store.environment(&dev).await.unwrap().id;
    let base_id = store.environment(&base).await.unwrap().id;
    let at = |id: &str, number| ResolvedRevision {
        environment_id: id.to_owned(),
        number,
    };
    // holds: dev latest 1, base latest 2; stale: base latest 1
    let (dev_1, base_2, base_1) = (at(&dev_id, 1), at(&base_id, 2), at(&base_id, 1));
    let latest = RevisionAt::Tag(LATEST_TAG);
    let current = [
        Pin {
            env: &dev,
            at: latest,
            resolved: &dev_1,
        },
        Pin {
            env: &base,
            at: latest,
            resolved: &base_2,
        },
    ];
    let stale = [
        Pin {
            env: &dev,
            at: latest,
            resolved: &dev_1,
        },
        Pin {
            env: &base,
            at: latest,
            resolved: &base_1,
        },
    ];
    let number = [Pin {
        env: &base,
        at: RevisionAt::Number(1),
        resolved: &base_1,
    }];
    let lists: [(&[Pin<'_>], bool); 4] = [
        (&current, true),
        (&stale, false),
        (&number, true),
        (&[], true),
    ];
    let opens = (0..120).map(|index| {
        let (pins, _) = lists[index % lists.len()];
        let store = store.clone();
        let (dev, cipher, result_id) = (&dev, &cipher, &result_id);
        async move {
            store
                .create_shared_session(
                    dev,
                    cipher,
                    1,
                    SharedResult::StoredWhile { result_id, pins },
                    expires,
                    Some(&open_event(&format!("open {index}"))),
                )
                .await
        }
    });
    let outcomes = futures::future::join_all(opens).await;
    let mut expected_details = Vec::new();
    for (index, outcome) in outcomes.into_iter().enumerate() {
        let (_, written) = lists[index % lists.len()];
        match (outcome, written) {
            (Ok(session), true) => {
                store.session(&dev, &session.id).await.unwrap();
                expected_details.push(format!("open {index}"));
            }
            (Err(StoreError::NotFound { .. }), false) => {}
            (outcome, _) => panic!("open {index}: written {written} expected, got {outcome:?}"),
        }
    }
    assert_eq!(expected_details.len(), 90);
    let mut details: Vec<String> = store
        .list_audit_events("acme", None, 200)
        .await
        .unwrap()
        .items
        .into_iter()
        .map(|event| event.event.detail)
        .collect();
    details.sort();
    expected_details.sort();
    assert_eq!(details, expected_details);
    if h.kind == Kind::Postgres {
        // merged: far fewer transactions than sessions
        let (sessions, transactions) = session_transactions(h).await;
        assert_eq!(sessions, 1 + 90);
        assert!(
            transactions * 2 < sessions,
            "{sessions} sessions written in {transactions} transactions"
        );
    }
}

/// Deleting an environment deletes its sessions, of both forms (the
/// sessions table has no foreign key to cascade from since schema version
/// 6), and no other environment's.
pub(crate) async fn deleting_an_environment_deletes_its_sessions(h: &Harness) {
    let store = h.dyn_store();
    let expires = Timestamp::now().plus_millis(60_000);
    let keep_until = expires.plus_millis(60_000);
    let mut sessions = Vec::new();
    for name in ["kept", "gone"] {
        let env = new_env(&*store, name).await;
        let cipher = store.environment_cipher(&env).await.unwrap();
        let own = store
            .create_session(&env, &cipher, 1, b"{}", expires, Some(&open_event(name)))
            .await
            .unwrap();
        let shared = store
            .create_shared_session(
                &env,
                &cipher,
                1,
                SharedResult::New {
                    result: b"{}",
                    keep_until,
                },
                expires,
                None,
            )
            .await
            .unwrap();
        sessions.push((env, own, shared.id));
    }
    assert_eq!(h.count("SELECT count(*) FROM sessions").await, 4);
    if h.kind == Kind::Postgres {
        // dropped in place by the PostgreSQL form of migration 6
        let foreign_keys = "SELECT count(*) FROM pg_constraint \
                            WHERE conrelid = 'sessions'::regclass AND contype = 'f'";
        assert_eq!(h.count(foreign_keys).await, 0);
    }
    let (gone, _, _) = &sessions[1];
    store.delete_environment(gone).await.unwrap();
    assert_eq!(h.count("SELECT count(*) FROM sessions").await, 2);
    assert_eq!(h.count("SELECT count(*) FROM session_results").await, 1);
    // the other environment's sessions still open; the audit events stay
    let (kept, own, shared) = &sessions[0];
    for id in [own, shared] {
        assert_eq!(store.session(kept, id).await.unwrap().expose(), b"{}");
    }
    assert_eq!(n_events(&*store).await, 2);
}

/// How many sessions are stored, and by how many transactions (PostgreSQL).
async fn session_transactions(h: &Harness) -> (i64, i64) {
    let url = h.database_url.as_ref().unwrap();
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    let row = client
        .query_one(
            "SELECT count(*), count(DISTINCT xmin::text) FROM sessions",
            &[],
        )
        .await
        .unwrap();
    (row.get(0), row.get(1))
}

/// Rewrites the key of the only session stored to `key` (as a session of
/// an earlier version was stored), on the database itself.
async fn rekey_only_session(h: &Harness, key: Vec<u8>) {
    match h.kind {
        Kind::Sqlite => {
            let path = h
                .data_dir
                .as_ref()
                .unwrap()
                .path()
                .join(esc_store::DATABASE_FILE);
            let db = rusqlite::Connection::open(path).unwrap();
            let changed = db
                .execute("UPDATE sessions SET id_hash = ?1", rusqlite::params![key])
                .unwrap();
            assert_eq!(changed, 1);
        }
        Kind::Postgres => {
            let url = h.database_url.as_ref().unwrap();
            let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
                .await
                .unwrap();
            tokio::spawn(connection);
            let changed = client
                .execute("UPDATE sessions SET id_hash = $1", &[&key])
                .await
                .unwrap();
            assert_eq!(changed, 1);
        }
    }
}

/// Session ids are 12 hex digits of their creation time then 32 hex
/// digits (128 random bits); a session stored under an id of the earlier
/// form (32 hex digits, keyed by its SHA-256) still opens; an id of any
/// other shape (it comes from a URL) is not found, without a panic.
pub(crate) async fn session_ids_new_old_and_odd(h: &Harness) {
    let store = h.dyn_store();
    let env = new_env(&*store, "dev").await;
    let cipher = store.environment_cipher(&env).await.unwrap();
    let now = Timestamp::now();
    let session = store
        .create_shared_session(
            &env,
            &cipher,
            1,
            SharedResult::New {
                result: b"{\"a\":1}",
                keep_until: now.plus_millis(4_000_000),
            },
            now.plus_millis(3_600_000),
            None,
        )
        .await
        .unwrap();
    let id = session.id.clone();
    // a bearer credential: not in Debug output (panic messages, logs)
    let debug = format!("{session:?}");
    assert!(!debug.contains(&id[12..]), "{debug}");
    assert!(debug.contains(&session.result_id), "{debug}");
    assert_eq!(id.len(), 44, "{id}");
    assert!(id.bytes().all(|b| b.is_ascii_hexdigit()), "{id}");
    let millis = i64::from_str_radix(&id[..12], 16).unwrap();
    assert!(
        (millis - now.unix_millis()).abs() < 60_000,
        "{millis} vs {}",
        now.unix_millis()
    );
    assert_eq!(
        store.session(&env, &id).await.unwrap().expose(),
        b"{\"a\":1}"
    );
    // each id carries fresh randomness: no two of many share their tail
    let mut tails = std::collections::HashSet::new();
    for _ in 0..50 {
        let other = store
            .create_shared_session(
                &env,
                &cipher,
                1,
                SharedResult::Stored(&session.result_id),
                now.plus_millis(3_600_000),
                None,
            )
            .await
            .unwrap();
        assert!(tails.insert(other.id[12..].to_owned()), "{}", other.id);
    }
    let odd = [
        String::new(),
        "zz".to_owned(),
        id[..12].to_owned(),
        id[..43].to_owned(),
        format!("{id}0"),
        id.to_uppercase(),
        // 12 hex digits of a time no session has, then the right tail
        format!("ffffffffffff{}", &id[12..]),
        format!("{}{}", &id[..12], "g".repeat(32)),
        format!("+{}", &id[1..]),
        // a multi-byte character across the 12th byte
        format!("00000000000é{}", &id[13..]),
        "é".repeat(22),
        "0".repeat(32),
        "a".repeat(10_000),
        "../../x".to_owned(),
        "\0".repeat(44),
    ];
    for other in &odd {
        assert!(
            matches!(
                store.session(&env, other).await,
                Err(StoreError::NotFound { .. })
            ),
            "{other:?}"
        );
    }
    // only the session just made and the 50 others: drop those 50, then
    // store the first under the key of an id of the earlier form
    store
        .purge_expired_sessions(now.plus_millis(3_600_001))
        .await
        .unwrap();
    let session = store
        .create_shared_session(
            &env,
            &cipher,
            1,
            SharedResult::New {
                result: b"{\"b\":2}",
                keep_until: now.plus_millis(8_000_000),
            },
            now.plus_millis(7_200_000),
            None,
        )
        .await
        .unwrap();
    let old_id = "0123456789abcdef0123456789abcdef";
    let old_key = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, old_id.as_bytes())
        .as_ref()
        .to_vec();
    rekey_only_session(h, old_key).await;
    assert_eq!(
        store.session(&env, old_id).await.unwrap().expose(),
        b"{\"b\":2}"
    );
    assert!(matches!(
        store.session(&env, &session.id).await,
        Err(StoreError::NotFound { .. })
    ));
}
