//! The store suite, run once per backend (see `store_suite!` in main.rs).

use std::collections::BTreeSet;
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use esc_store::{
    Author, EnvRef, EnvironmentTagUpdate, MasterKey, NewAuditEvent, NewRotationEvent, NewSchedule,
    PathRotation, Plaintext, RotationStatus, ScheduleTiming, SettingsUpdate, Store, StoreError,
    Timestamp, WebhookSecretUpdate, WebhookSpec, open_secret, seal_secret,
};

use crate::harness::{Harness, alice, bob, new_env};
pub(crate) use crate::members::users_memberships_and_grants;
pub(crate) use crate::sessions::{
    deleting_an_environment_deletes_its_sessions, pinned_sessions, pinned_sessions_in_batches,
    session_ids_new_old_and_odd, shared_sessions, shared_sessions_in_batches,
};

async fn body(store: &dyn Store, env: &EnvRef, number: u64) -> String {
    let content = store.revision(env, number).await.unwrap();
    assert_eq!(content.revision.number, number);
    content.yaml.expose_str().unwrap().to_owned()
}

pub(crate) async fn create_and_read(h: &Harness) {
    let store = h.dyn_store();
    let missing_org = EnvRef::new("nobody", "app", "dev");
    assert!(matches!(
        store.create_environment(&missing_org, &alice()).await,
        Err(StoreError::NotFound { .. })
    ));
    let env = new_env(&*store, "dev").await;
    let info = store.environment(&env).await.unwrap();
    assert_eq!(info.name, env);
    assert_eq!(info.latest_revision, 1);
    assert!(!info.deletion_protected);
    assert!(matches!(
        store.create_environment(&env, &alice()).await,
        Err(StoreError::AlreadyExists { .. })
    ));
    // Revision 1 is the empty definition, by the creator, tagged latest.
    let first = store.revision(&env, 1).await.unwrap();
    assert!(first.yaml.is_empty());
    assert_eq!(first.revision.author, alice());
    assert_eq!(first.revision.tags, vec!["latest".to_owned()]);
    assert_eq!(
        store
            .tagged_revision(&env, "latest")
            .await
            .unwrap()
            .revision
            .number,
        1
    );
    assert!(matches!(
        store.revision(&env, 2).await,
        Err(StoreError::NotFound { .. })
    ));
    assert!(matches!(
        store.environment(&EnvRef::new("acme", "app", "nope")).await,
        Err(StoreError::NotFound { .. })
    ));
    let projects = store.list_projects("acme").await.unwrap();
    assert_eq!(
        projects.iter().map(|p| p.name.as_str()).collect::<Vec<_>>(),
        ["app"]
    );
    assert_eq!(store.organization("acme").await.unwrap().name, "acme");
    assert_eq!(store.list_organizations().await.unwrap().len(), 1);

    let protected = store
        .update_settings(
            &env,
            &SettingsUpdate {
                deletion_protected: Some(true),
            },
        )
        .await
        .unwrap();
    assert!(protected.deletion_protected);
    assert!(store.environment(&env).await.unwrap().deletion_protected);
}

pub(crate) async fn revisions_are_immutable_and_numbered(h: &Harness) {
    let store = h.dyn_store();
    let env = new_env(&*store, "dev").await;
    for (idx, text) in ["a: 1\n", "a: 2\n", "a: 3\n"].iter().enumerate() {
        let written = store
            .update_environment(&env, text.as_bytes(), None, &bob())
            .await
            .unwrap();
        assert_eq!(written.number, idx as u64 + 2);
        assert_eq!(written.author, bob());
    }
    assert_eq!(body(&*store, &env, 2).await, "a: 1\n");
    assert_eq!(body(&*store, &env, 3).await, "a: 2\n");
    assert_eq!(body(&*store, &env, 4).await, "a: 3\n");
    let info = store.environment(&env).await.unwrap();
    assert_eq!(info.latest_revision, 4);
    assert!(info.modified >= info.created);

    let all = store.list_revisions(&env, None, 100).await.unwrap();
    assert_eq!(
        all.iter().map(|r| r.number).collect::<Vec<_>>(),
        [4, 3, 2, 1]
    );
    assert_eq!(all[0].tags, ["latest"]);
    assert!(all[1].tags.is_empty());
    // Paging as the CLI does: before = last number seen.
    let page = store.list_revisions(&env, Some(4), 2).await.unwrap();
    assert_eq!(page.iter().map(|r| r.number).collect::<Vec<_>>(), [3, 2]);
    let page = store.list_revisions(&env, Some(2), 2).await.unwrap();
    assert_eq!(page.iter().map(|r| r.number).collect::<Vec<_>>(), [1]);
    assert!(
        store
            .list_revisions(&env, Some(1), 2)
            .await
            .unwrap()
            .is_empty()
    );
    // Single revision N is fetched as before = N+1, count = 1.
    let one = store.list_revisions(&env, Some(3), 1).await.unwrap();
    assert_eq!(one[0].number, 2);
    // The etag moves with every revision.
    let before = store.environment(&env).await.unwrap().etag();
    store
        .update_environment(&env, b"a: 4\n", Some(4), &bob())
        .await
        .unwrap();
    assert_ne!(store.environment(&env).await.unwrap().etag(), before);
}

pub(crate) async fn stale_revision_conflicts_and_changes_nothing(h: &Harness) {
    let store = h.dyn_store();
    let env = new_env(&*store, "dev").await;
    store
        .update_environment(&env, b"x: first\n", Some(1), &alice())
        .await
        .unwrap();
    let modified = store.environment(&env).await.unwrap().modified;
    let refused = store
        .update_environment(&env, b"x: stale\n", Some(1), &bob())
        .await;
    match refused {
        Err(StoreError::Conflict { current_revision }) => assert_eq!(current_revision, 2),
        other => panic!("expected a conflict, got {other:?}"),
    }
    let info = store.environment(&env).await.unwrap();
    assert_eq!(info.latest_revision, 2);
    assert_eq!(info.modified, modified);
    assert_eq!(body(&*store, &env, 2).await, "x: first\n");
    assert!(matches!(
        store.revision(&env, 3).await,
        Err(StoreError::NotFound { .. })
    ));
    assert_eq!(store.list_revisions(&env, None, 10).await.unwrap().len(), 2);
    // A future revision is just as stale.
    assert!(matches!(
        store
            .update_environment(&env, b"x: y\n", Some(7), &bob())
            .await,
        Err(StoreError::Conflict {
            current_revision: 2
        })
    ));
}

pub(crate) async fn concurrent_writers_lose_no_update(h: &Harness) {
    let store = h.dyn_store();
    let env = new_env(&*store, "busy").await;
    const N_WRITERS: usize = 16;
    // Everyone reads first, then all write at once with what they read.
    let barrier = Arc::new(tokio::sync::Barrier::new(N_WRITERS));
    let mut tasks = Vec::new();
    for writer in 0..N_WRITERS {
        let store = store.clone();
        let env = env.clone();
        let barrier = barrier.clone();
        tasks.push(tokio::spawn(async move {
            let read = store.environment(&env).await.unwrap().latest_revision;
            barrier.wait().await;
            let yaml = format!("writer: {writer}\nread: {read}\n");
            let outcome = store
                .update_environment(
                    &env,
                    yaml.as_bytes(),
                    Some(read),
                    &Author::new(format!("w{writer}"), "W"),
                )
                .await;
            (writer, read, outcome)
        }));
    }
    let mut accepted = Vec::new();
    let mut n_conflicts = 0;
    for task in tasks {
        let (writer, read, outcome) = task.await.unwrap();
        match outcome {
            Ok(revision) => {
                // Its parent is exactly the revision it read.
                assert_eq!(revision.number, read + 1);
                accepted.push((writer, read, revision.number));
            }
            Err(StoreError::Conflict { current_revision }) => {
                assert!(current_revision > read);
                n_conflicts += 1;
            }
            Err(other) => panic!("writer {writer}: {other}"),
        }
    }
    // All read revision 1, so exactly one wins and everyone else conflicts.
    assert_eq!(accepted.len(), 1, "{accepted:?}");
    assert_eq!(n_conflicts, N_WRITERS - 1);
    let (winner, _, number) = accepted[0];
    assert_eq!(
        body(&*store, &env, number).await,
        format!("writer: {winner}\nread: 1\n")
    );
    assert_eq!(store.environment(&env).await.unwrap().latest_revision, 2);

    // Retrying writers (read, write, on conflict read again): no update is
    // lost, every accepted write is a new revision on top of what it read.
    let mut tasks = Vec::new();
    for writer in 0..N_WRITERS {
        let store = store.clone();
        let env = env.clone();
        tasks.push(tokio::spawn(async move {
            for _attempt in 0..200 {
                let read = store.environment(&env).await.unwrap().latest_revision;
                let yaml = format!("writer: {writer}\nread: {read}\n");
                match store
                    .update_environment(&env, yaml.as_bytes(), Some(read), &bob())
                    .await
                {
                    Ok(revision) => {
                        assert_eq!(revision.number, read + 1);
                        return revision.number;
                    }
                    Err(StoreError::Conflict { .. }) => tokio::task::yield_now().await,
                    Err(other) => panic!("writer {writer}: {other}"),
                }
            }
            panic!("writer {writer} never got through");
        }));
    }
    let mut numbers = BTreeSet::new();
    for task in tasks {
        assert!(
            numbers.insert(task.await.unwrap()),
            "two writers got the same revision"
        );
    }
    assert_eq!(numbers, (3..3 + N_WRITERS as u64).collect::<BTreeSet<_>>());
    let latest = store.environment(&env).await.unwrap().latest_revision;
    assert_eq!(latest, 2 + N_WRITERS as u64);
    // Every revision records the revision its writer read: its parent.
    for number in 3..=latest {
        let text = body(&*store, &env, number).await;
        assert!(
            text.ends_with(&format!("read: {}\n", number - 1)),
            "revision {number}: {text}"
        );
    }
}

pub(crate) async fn revision_tags(h: &Harness) {
    let store = h.dyn_store();
    let env = new_env(&*store, "dev").await;
    store
        .update_environment(&env, b"v: 2\n", None, &alice())
        .await
        .unwrap();
    store
        .update_environment(&env, b"v: 3\n", None, &alice())
        .await
        .unwrap();
    let tag = store
        .create_revision_tag(&env, "stable", Some(2), &bob())
        .await
        .unwrap();
    assert_eq!((tag.name.as_str(), tag.revision), ("stable", 2));
    assert_eq!(tag.editor, Some(bob()));
    // Default: the newest revision.
    assert_eq!(
        store
            .create_revision_tag(&env, "candidate", None, &bob())
            .await
            .unwrap()
            .revision,
        3
    );
    assert!(matches!(
        store
            .create_revision_tag(&env, "stable", Some(3), &bob())
            .await,
        Err(StoreError::AlreadyExists { .. })
    ));
    for bad in ["latest", "tags", "1abc", ""] {
        assert!(
            matches!(
                store.create_revision_tag(&env, bad, None, &bob()).await,
                Err(StoreError::Invalid { .. })
            ),
            "{bad}"
        );
    }
    assert!(matches!(
        store
            .create_revision_tag(&env, "future", Some(9), &bob())
            .await,
        Err(StoreError::NotFound { .. })
    ));
    let names =
        |tags: Vec<esc_store::RevisionTag>| tags.into_iter().map(|t| t.name).collect::<Vec<_>>();
    assert_eq!(
        names(store.list_revision_tags(&env, None, 100).await.unwrap()),
        ["candidate", "latest", "stable"]
    );
    // Paging by the last name seen; ends with an empty page.
    assert_eq!(
        names(store.list_revision_tags(&env, None, 2).await.unwrap()),
        ["candidate", "latest"]
    );
    assert_eq!(
        names(
            store
                .list_revision_tags(&env, Some("latest"), 2)
                .await
                .unwrap()
        ),
        ["stable"]
    );
    assert!(
        store
            .list_revision_tags(&env, Some("stable"), 2)
            .await
            .unwrap()
            .is_empty()
    );

    let latest = store.revision_tag(&env, "latest").await.unwrap();
    assert_eq!(latest.revision, 3);
    assert_eq!(body(&*store, &env, 2).await, "v: 2\n");
    assert_eq!(
        store
            .tagged_revision(&env, "stable")
            .await
            .unwrap()
            .yaml
            .expose(),
        b"v: 2\n"
    );
    let moved = store
        .update_revision_tag(&env, "stable", 3, &alice())
        .await
        .unwrap();
    assert_eq!(moved.revision, 3);
    assert_eq!(moved.created, tag.created);
    assert_eq!(
        store.revision_tag(&env, "stable").await.unwrap().revision,
        3
    );
    let listed = store.list_revisions(&env, None, 10).await.unwrap();
    assert_eq!(listed[0].tags, ["candidate", "latest", "stable"]);
    assert!(matches!(
        store.update_revision_tag(&env, "nope", 2, &alice()).await,
        Err(StoreError::NotFound { .. })
    ));
    assert!(matches!(
        store.update_revision_tag(&env, "latest", 2, &alice()).await,
        Err(StoreError::Invalid { .. })
    ));
    assert!(matches!(
        store.delete_revision_tag(&env, "latest").await,
        Err(StoreError::Invalid { .. })
    ));
    store.delete_revision_tag(&env, "stable").await.unwrap();
    assert!(matches!(
        store.revision_tag(&env, "stable").await,
        Err(StoreError::NotFound { .. })
    ));
    assert!(matches!(
        store.delete_revision_tag(&env, "stable").await,
        Err(StoreError::NotFound { .. })
    ));
    // `latest` follows new revisions.
    store
        .update_environment(&env, b"v: 4\n", None, &alice())
        .await
        .unwrap();
    assert_eq!(
        store.revision_tag(&env, "latest").await.unwrap().revision,
        4
    );
}

pub(crate) async fn retract_moves_tags_and_hides_the_revision(h: &Harness) {
    let store = h.dyn_store();
    let env = new_env(&*store, "dev").await;
    for text in ["v: 2\n", "v: 3\n", "v: 4\n"] {
        store
            .update_environment(&env, text.as_bytes(), None, &alice())
            .await
            .unwrap();
    }
    store
        .create_revision_tag(&env, "prod", Some(3), &alice())
        .await
        .unwrap();
    assert!(matches!(
        store.retract_revision(&env, 4, None, "no", &bob()).await,
        Err(StoreError::Invalid { .. })
    ));
    let retracted = store
        .retract_revision(&env, 3, None, "leaked", &bob())
        .await
        .unwrap();
    let info = retracted.retracted.unwrap();
    assert_eq!(info.replacement, 2);
    assert_eq!(info.reason, "leaked");
    assert_eq!(info.by, bob());
    assert!(matches!(
        store.revision(&env, 3).await,
        Err(StoreError::Retracted { revision: 3 })
    ));
    assert_eq!(store.revision_tag(&env, "prod").await.unwrap().revision, 2);
    let listed = store.list_revisions(&env, None, 10).await.unwrap();
    let third = listed.iter().find(|r| r.number == 3).unwrap();
    assert_eq!(third.retracted.as_ref().unwrap().replacement, 2);
    assert!(
        listed
            .iter()
            .filter(|r| r.number != 3)
            .all(|r| r.retracted.is_none())
    );
    assert!(matches!(
        store.retract_revision(&env, 3, None, "again", &bob()).await,
        Err(StoreError::Invalid { .. })
    ));
    // A retracted revision can neither replace nor be tagged.
    assert!(matches!(
        store.retract_revision(&env, 2, Some(3), "", &bob()).await,
        Err(StoreError::Invalid { .. })
    ));
    assert!(matches!(
        store
            .create_revision_tag(&env, "old", Some(3), &bob())
            .await,
        Err(StoreError::Retracted { .. })
    ));
    // Explicit replacement, later than the retracted revision.
    let second = store
        .retract_revision(&env, 2, Some(4), "", &bob())
        .await
        .unwrap();
    assert_eq!(second.retracted.unwrap().replacement, 4);
    assert_eq!(store.revision_tag(&env, "prod").await.unwrap().revision, 4);
    assert!(matches!(
        store.retract_revision(&env, 9, None, "", &bob()).await,
        Err(StoreError::NotFound { .. })
    ));
}

pub(crate) async fn rollback_writes_an_old_body_as_a_new_revision(h: &Harness) {
    let store = h.dyn_store();
    let env = new_env(&*store, "dev").await;
    store
        .update_environment(&env, b"good: true\n", None, &alice())
        .await
        .unwrap();
    store
        .update_environment(&env, b"good: false\n", None, &alice())
        .await
        .unwrap();
    assert!(matches!(
        store.rollback(&env, 2, Some(2), &bob()).await,
        Err(StoreError::Conflict {
            current_revision: 3
        })
    ));
    let rolled = store.rollback(&env, 2, Some(3), &bob()).await.unwrap();
    assert_eq!(rolled.number, 4);
    assert_eq!(body(&*store, &env, 4).await, "good: true\n");
    // History is intact.
    assert_eq!(body(&*store, &env, 3).await, "good: false\n");
    assert!(matches!(
        store.rollback(&env, 9, None, &bob()).await,
        Err(StoreError::NotFound { .. })
    ));
}

pub(crate) async fn delete_and_recreate(h: &Harness) {
    let store = h.dyn_store();
    let env = new_env(&*store, "dev").await;
    store
        .update_environment(&env, b"old: body\n", None, &alice())
        .await
        .unwrap();
    store
        .create_revision_tag(&env, "stable", Some(2), &alice())
        .await
        .unwrap();
    store
        .create_environment_tag(&env, "owner", "team", &alice())
        .await
        .unwrap();
    store.put_rotation_state(&env, "db", b"{}").await.unwrap();
    let session = store
        .create_session(
            &env,
            &store.environment_cipher(&env).await.unwrap(),
            2,
            b"{}",
            Timestamp::now().plus_millis(60_000),
            None,
        )
        .await
        .unwrap();
    let old_id = store.environment(&env).await.unwrap().id;

    store
        .update_settings(
            &env,
            &SettingsUpdate {
                deletion_protected: Some(true),
            },
        )
        .await
        .unwrap();
    let refused = store.delete_environment(&env).await;
    assert!(
        matches!(refused, Err(StoreError::DeletionProtected { .. })),
        "{refused:?}"
    );
    assert!(refused.unwrap_err().to_string().contains("protect"));
    assert_eq!(store.environment(&env).await.unwrap().latest_revision, 2);
    store
        .update_settings(
            &env,
            &SettingsUpdate {
                deletion_protected: Some(false),
            },
        )
        .await
        .unwrap();
    store.delete_environment(&env).await.unwrap();
    assert!(matches!(
        store.environment(&env).await,
        Err(StoreError::NotFound { .. })
    ));
    assert!(matches!(
        store.delete_environment(&env).await,
        Err(StoreError::NotFound { .. })
    ));
    assert!(matches!(
        store.revision(&env, 2).await,
        Err(StoreError::NotFound { .. })
    ));

    // The name is free again and starts from scratch.
    let again = store.create_environment(&env, &bob()).await.unwrap();
    assert_ne!(again.id, old_id);
    assert_eq!(again.latest_revision, 1);
    assert!(store.revision(&env, 1).await.unwrap().yaml.is_empty());
    assert!(matches!(
        store.revision(&env, 2).await,
        Err(StoreError::NotFound { .. })
    ));
    let tag_names: Vec<_> = store
        .list_revision_tags(&env, None, 10)
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.name)
        .collect();
    assert_eq!(tag_names, ["latest"]);
    assert!(
        store
            .list_environment_tags(&env, None, 10)
            .await
            .unwrap()
            .items
            .is_empty()
    );
    assert!(store.rotation_state(&env, "db").await.unwrap().is_none());
    assert!(matches!(
        store.session(&env, &session).await,
        Err(StoreError::NotFound { .. })
    ));
}

pub(crate) async fn environments_page(h: &Harness) {
    let store = h.dyn_store();
    store.create_organization("acme").await.unwrap();
    store.create_organization("zeta").await.unwrap();
    let mut expected = Vec::new();
    for (org, project, name) in [
        ("acme", "b", "dev"),
        ("acme", "a", "prod"),
        ("acme", "a", "dev"),
        ("zeta", "a", "x"),
        ("acme", "B", "dev"),
    ] {
        let env = EnvRef::new(org, project, name);
        store.create_environment(&env, &alice()).await.unwrap();
        expected.push(env);
    }
    expected.sort();
    let mut seen = Vec::new();
    let mut token: Option<String> = None;
    for _page in 0..10 {
        let page = store
            .list_environments(None, token.as_deref(), 2)
            .await
            .unwrap();
        assert!(page.items.len() <= 2);
        seen.extend(page.items.into_iter().map(|e| e.name));
        token = page.next;
        if token.is_none() {
            break;
        }
    }
    assert!(token.is_none());
    assert_eq!(seen, expected);
    let acme = store
        .list_environments(Some("acme"), None, 100)
        .await
        .unwrap();
    assert_eq!(acme.items.len(), 4);
    assert!(acme.next.is_none());
    assert!(acme.items.iter().all(|e| e.name.org == "acme"));
    assert!(matches!(
        store
            .list_environments(None, Some("!!not a token"), 2)
            .await,
        Err(StoreError::Invalid { .. })
    ));
    // a token is sealed: it names no environment, is refused by another
    // organization's listing, and refused when altered
    let first = store.list_environments(None, None, 1).await.unwrap();
    let token = first.next.unwrap();
    let sealed = URL_SAFE_NO_PAD.decode(&token).unwrap();
    let text = String::from_utf8_lossy(&sealed);
    assert!(!text.contains("acme") && !text.contains("prod"), "{text}");
    let second = store
        .list_environments(None, Some(&token), 1)
        .await
        .unwrap();
    assert_eq!(second.items[0].name, expected[1]);
    for (org, bad) in [
        (Some("acme"), token.clone()),
        (None, URL_SAFE_NO_PAD.encode(b"acme\0a\0dev")),
        (None, {
            let mut altered = sealed.clone();
            let last = altered.len() - 1;
            altered[last] ^= 1;
            URL_SAFE_NO_PAD.encode(altered)
        }),
    ] {
        assert!(matches!(
            store.list_environments(org, Some(&bad), 1).await,
            Err(StoreError::Invalid { .. })
        ));
    }
}

pub(crate) async fn environment_tags(h: &Harness) {
    let store = h.dyn_store();
    let env = new_env(&*store, "dev").await;
    let owner = store
        .create_environment_tag(&env, "owner", "team-a", &alice())
        .await
        .unwrap();
    assert_eq!(
        (owner.name.as_str(), owner.value.as_str()),
        ("owner", "team-a")
    );
    assert!(matches!(
        store
            .create_environment_tag(&env, "owner", "team-b", &alice())
            .await,
        Err(StoreError::AlreadyExists { .. })
    ));
    assert!(matches!(
        store.create_environment_tag(&env, "", "x", &alice()).await,
        Err(StoreError::Invalid { .. })
    ));
    assert!(matches!(
        store.create_environment_tag(&env, "x", "", &alice()).await,
        Err(StoreError::Invalid { .. })
    ));
    for name in ["a", "b", "c", "d"] {
        store
            .create_environment_tag(&env, name, "v", &alice())
            .await
            .unwrap();
    }
    let mut names = Vec::new();
    let mut token: Option<String> = None;
    for _page in 0..10 {
        let page = store
            .list_environment_tags(&env, token.as_deref(), 2)
            .await
            .unwrap();
        names.extend(page.items.into_iter().map(|t| t.name));
        token = page.next;
        if token.is_none() {
            break;
        }
    }
    assert_eq!(names, ["a", "b", "c", "d", "owner"]);

    // Stale view of the value: refused, nothing changes.
    let stale = EnvironmentTagUpdate {
        expected_value: Some("team-z".into()),
        new_name: None,
        new_value: Some("team-c".into()),
    };
    assert!(matches!(
        store
            .update_environment_tag(&env, "owner", &stale, &bob())
            .await,
        Err(StoreError::Changed { .. })
    ));
    assert_eq!(
        store.environment_tag(&env, "owner").await.unwrap().value,
        "team-a"
    );
    // Rename onto an existing name: refused.
    let clash = EnvironmentTagUpdate {
        expected_value: None,
        new_name: Some("a".into()),
        new_value: None,
    };
    assert!(matches!(
        store
            .update_environment_tag(&env, "owner", &clash, &bob())
            .await,
        Err(StoreError::AlreadyExists { .. })
    ));
    // Empty new name or value means keep.
    let rename = EnvironmentTagUpdate {
        expected_value: Some("team-a".into()),
        new_name: Some("new-owner".into()),
        new_value: Some(String::new()),
    };
    let renamed = store
        .update_environment_tag(&env, "owner", &rename, &bob())
        .await
        .unwrap();
    assert_eq!(
        (renamed.name.as_str(), renamed.value.as_str()),
        ("new-owner", "team-a")
    );
    assert_eq!(renamed.id, owner.id);
    assert_eq!(renamed.editor, bob());
    assert!(matches!(
        store.environment_tag(&env, "owner").await,
        Err(StoreError::NotFound { .. })
    ));
    let revalue = EnvironmentTagUpdate {
        expected_value: None,
        new_name: None,
        new_value: Some("team-b".into()),
    };
    store
        .update_environment_tag(&env, "new-owner", &revalue, &bob())
        .await
        .unwrap();
    assert_eq!(
        store
            .environment_tag(&env, "new-owner")
            .await
            .unwrap()
            .value,
        "team-b"
    );
    store
        .delete_environment_tag(&env, "new-owner")
        .await
        .unwrap();
    assert!(matches!(
        store.delete_environment_tag(&env, "new-owner").await,
        Err(StoreError::NotFound { .. })
    ));
    assert_eq!(
        store
            .list_environment_tags(&env, None, 100)
            .await
            .unwrap()
            .items
            .len(),
        4
    );
}

pub(crate) async fn bad_text_is_refused_without_echo(h: &Harness) {
    let store = h.dyn_store();
    let env = new_env(&*store, "dev").await;
    let error = store
        .create_environment_tag(&env, "k", "VALUE-\0-9921", &alice())
        .await
        .unwrap_err();
    assert!(matches!(error, StoreError::Invalid { .. }), "{error:?}");
    assert!(!format!("{error} {error:?}").contains("9921"));
    let nul_name = EnvRef::new("acme", "app", "a\0b");
    assert!(matches!(
        store.environment(&nul_name).await,
        Err(StoreError::Invalid { .. })
    ));
    // Nothing was written.
    assert!(
        store
            .list_environment_tags(&env, None, 10)
            .await
            .unwrap()
            .items
            .is_empty()
    );
}

pub(crate) async fn rotation_state_and_history(h: &Harness) {
    let store = h.dyn_store();
    let env = new_env(&*store, "dev").await;
    assert!(
        store
            .rotation_state(&env, "db.creds")
            .await
            .unwrap()
            .is_none()
    );
    store
        .put_rotation_state(&env, "db.creds", b"{\"current\":1}")
        .await
        .unwrap();
    store
        .put_rotation_state(&env, "db.creds", b"{\"current\":2}")
        .await
        .unwrap();
    store
        .put_rotation_state(&env, "api.key", b"{\"k\":0}")
        .await
        .unwrap();
    assert_eq!(
        store
            .rotation_state(&env, "db.creds")
            .await
            .unwrap()
            .unwrap()
            .expose(),
        b"{\"current\":2}"
    );
    assert_eq!(
        store
            .rotation_state(&env, "api.key")
            .await
            .unwrap()
            .unwrap()
            .expose(),
        b"{\"k\":0}"
    );

    let first = NewRotationEvent {
        created: Timestamp::from_unix_millis(1_000),
        completed: Some(Timestamp::from_unix_millis(2_000)),
        pre_rotation_revision: 1,
        post_rotation_revision: Some(2),
        user: "alice".into(),
        status: RotationStatus::Failed,
        error_message: None,
        schedule_id: None,
        rotations: vec![
            PathRotation {
                path: "db.creds".into(),
                status: RotationStatus::Succeeded,
                error_message: None,
            },
            PathRotation {
                path: "api.key".into(),
                status: RotationStatus::Failed,
                error_message: Some("adapter refused".into()),
            },
        ],
    };
    let recorded = store.record_rotation_event(&env, &first).await.unwrap();
    let second = NewRotationEvent {
        created: Timestamp::from_unix_millis(3_000),
        status: RotationStatus::Succeeded,
        rotations: vec![],
        post_rotation_revision: None,
        ..first.clone()
    };
    store.record_rotation_event(&env, &second).await.unwrap();
    let history = store.list_rotation_events(&env, 10).await.unwrap();
    assert_eq!(history.len(), 2);
    assert_eq!(history[0].event, second);
    assert_eq!(history[1].event, first);
    assert_eq!(history[1].id, recorded.id);
    assert_eq!(store.list_rotation_events(&env, 1).await.unwrap().len(), 1);
    // messages are sealed at rest; a row written before they were is read as is
    let sealed = "SELECT COUNT(*) FROM path_rotations WHERE error_message LIKE 'sealed:%'";
    assert_eq!(h.count(sealed).await, 1);
    let legacy = "UPDATE path_rotations SET error_message = 'adapter refused (legacy row)' \
                  WHERE error_message IS NOT NULL RETURNING CAST(1 AS BIGINT)";
    assert_eq!(h.count(legacy).await, 1);
    let history = store.list_rotation_events(&env, 10).await.unwrap();
    assert_eq!(
        history[1].event.rotations[1].error_message.as_deref(),
        Some("adapter refused (legacy row)")
    );
}

pub(crate) async fn schedules(h: &Harness) {
    let store = h.dyn_store();
    let env = new_env(&*store, "dev").await;
    let daily = NewSchedule {
        timing: ScheduleTiming::Cron("0 0 * * *".into()),
        environment_path: String::new(),
        paused: false,
        next_execution: Some(Timestamp::from_unix_millis(10_000)),
    };
    let created = store.create_schedule(&env, &daily).await.unwrap();
    assert_eq!(created.schedule, daily);
    assert_eq!(created.environment, env);
    assert_eq!(store.schedule(&env, &created.id).await.unwrap(), created);
    let other = new_env(&*store, "other").await;
    assert!(matches!(
        store.schedule(&other, &created.id).await,
        Err(StoreError::NotFound { .. })
    ));
    let once = NewSchedule {
        timing: ScheduleTiming::Once(Timestamp::from_unix_millis(20_000)),
        environment_path: "db.creds".into(),
        paused: false,
        next_execution: Some(Timestamp::from_unix_millis(20_000)),
    };
    let later = store.create_schedule(&other, &once).await.unwrap();
    assert_eq!(store.list_schedules(&env).await.unwrap().len(), 1);

    let due = store
        .due_schedules(Timestamp::from_unix_millis(15_000), 10)
        .await
        .unwrap();
    assert_eq!(
        due.iter().map(|s| s.id.as_str()).collect::<Vec<_>>(),
        [created.id.as_str()]
    );
    let due = store
        .due_schedules(Timestamp::from_unix_millis(25_000), 10)
        .await
        .unwrap();
    assert_eq!(due.len(), 2);
    assert_eq!(due[1].id, later.id);

    // Two servers claim the same run: exactly one wins.
    let now = Timestamp::from_unix_millis(15_000);
    let next = Some(Timestamp::from_unix_millis(96_400_000));
    let (a, b) = tokio::join!(
        store.claim_schedule(&created.id, Timestamp::from_unix_millis(10_000), next, now),
        store.claim_schedule(&created.id, Timestamp::from_unix_millis(10_000), next, now),
    );
    assert_eq!(u8::from(a.unwrap()) + u8::from(b.unwrap()), 1);
    let claimed = store.schedule(&env, &created.id).await.unwrap();
    assert_eq!(claimed.schedule.next_execution, next);
    assert_eq!(claimed.last_executed, Some(now));
    assert!(store.due_schedules(now, 10).await.unwrap().is_empty());

    store
        .record_schedule_run(&created.id, now, 1, "succeeded")
        .await
        .unwrap();
    store
        .record_schedule_run(
            &created.id,
            Timestamp::from_unix_millis(16_000),
            2,
            "failed",
        )
        .await
        .unwrap();
    let runs = store
        .list_schedule_runs(&env, &created.id, 10)
        .await
        .unwrap();
    assert_eq!(
        runs.iter().map(|r| r.result.as_str()).collect::<Vec<_>>(),
        ["failed", "succeeded"]
    );
    assert!(matches!(
        store.record_schedule_run("no-such", now, 1, "failed").await,
        Err(StoreError::NotFound { .. })
    ));

    let paused = NewSchedule {
        paused: true,
        ..daily.clone()
    };
    let updated = store
        .update_schedule(&env, &created.id, &paused)
        .await
        .unwrap();
    assert!(updated.schedule.paused);
    assert!(
        store
            .due_schedules(Timestamp::from_unix_millis(i64::MAX), 10)
            .await
            .unwrap()
            .iter()
            .all(|s| s.id != created.id)
    );
    store.delete_schedule(&env, &created.id).await.unwrap();
    assert!(matches!(
        store.schedule(&env, &created.id).await,
        Err(StoreError::NotFound { .. })
    ));
    assert!(matches!(
        store.delete_schedule(&env, &created.id).await,
        Err(StoreError::NotFound { .. })
    ));
}

pub(crate) async fn sessions(h: &Harness) {
    let store = h.dyn_store();
    let env = new_env(&*store, "dev").await;
    let other = new_env(&*store, "other").await;
    let expires = Timestamp::now().plus_millis(3_600_000);
    let id = store
        .create_session(
            &env,
            &store.environment_cipher(&env).await.unwrap(),
            1,
            b"{\"a\":1}",
            expires,
            None,
        )
        .await
        .unwrap();
    assert!(id.len() >= 32);
    assert_eq!(
        store.session(&env, &id).await.unwrap().expose(),
        b"{\"a\":1}"
    );
    // Another store on the same database (another server) reads it too.
    let second = h
        .reopen(MasterKey::from_bytes(&h.master_key).unwrap())
        .await
        .unwrap();
    assert_eq!(
        second.session(&env, &id).await.unwrap().expose(),
        b"{\"a\":1}"
    );
    assert!(matches!(
        store.session(&other, &id).await,
        Err(StoreError::NotFound { .. })
    ));
    assert!(matches!(
        store.session(&env, "nope").await,
        Err(StoreError::NotFound { .. })
    ));
    let expired = store
        .create_session(
            &env,
            &store.environment_cipher(&env).await.unwrap(),
            1,
            b"{}",
            Timestamp::now().plus_millis(-1),
            None,
        )
        .await
        .unwrap();
    assert!(matches!(
        store.session(&env, &expired).await,
        Err(StoreError::NotFound { .. })
    ));
    assert_eq!(
        store
            .purge_expired_sessions(Timestamp::now())
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        store
            .purge_expired_sessions(expires.plus_millis(1))
            .await
            .unwrap(),
        1
    );
    assert!(matches!(
        store.session(&env, &id).await,
        Err(StoreError::NotFound { .. })
    ));
}

pub(crate) async fn session_with_audit_event(h: &Harness) {
    let store = h.dyn_store();
    let env = new_env(&*store, "dev").await;
    let event = NewAuditEvent {
        time: Timestamp::now(),
        org: "acme".into(),
        actor: "alice".into(),
        action: "environment.open".into(),
        target: "app/dev".into(),
        detail: "revision 1".into(),
    };
    let id = store
        .create_session(
            &env,
            &store.environment_cipher(&env).await.unwrap(),
            1,
            b"{}",
            Timestamp::now().plus_millis(60_000),
            Some(&event),
        )
        .await
        .unwrap();
    assert_eq!(store.session(&env, &id).await.unwrap().expose(), b"{}");
    let events = store.list_audit_events("acme", None, 10).await.unwrap();
    assert_eq!(events.items.len(), 1);
    assert_eq!(events.items[0].event, event);
    // Neither is written when the session cannot be (its environment was
    // deleted meanwhile): no event for an open that failed.
    let gone = new_env(&*store, "gone").await;
    let gone_cipher = store.environment_cipher(&gone).await.unwrap();
    store.delete_environment(&gone).await.unwrap();
    assert!(matches!(
        store
            .create_session(
                &gone,
                &gone_cipher,
                1,
                b"{}",
                Timestamp::now().plus_millis(60_000),
                Some(&event),
            )
            .await,
        Err(StoreError::NotFound { .. })
    ));
    assert_eq!(
        store
            .list_audit_events("acme", None, 10)
            .await
            .unwrap()
            .items
            .len(),
        1
    );
}

/// Many opens at once share write transactions (group commit): each still
/// gets its own session and audit event, and a failing one (its
/// environment is gone) fails alone.
pub(crate) async fn concurrent_sessions_commit_together_and_fail_alone(h: &Harness) {
    let store = h.dyn_store();
    let env = new_env(&*store, "dev").await;
    let cipher = Arc::new(store.environment_cipher(&env).await.unwrap());
    let gone = new_env(&*store, "gone").await;
    let gone_cipher = Arc::new(store.environment_cipher(&gone).await.unwrap());
    store.delete_environment(&gone).await.unwrap();
    let mut tasks = Vec::new();
    for idx in 0..60_u32 {
        let store = store.clone();
        let (target, cipher) = if idx % 10 == 3 {
            (gone.clone(), gone_cipher.clone())
        } else {
            (env.clone(), cipher.clone())
        };
        tasks.push(tokio::spawn(async move {
            let event = NewAuditEvent {
                time: Timestamp::now(),
                org: "acme".into(),
                actor: "alice".into(),
                action: "environment.open".into(),
                target: format!("app/{}", target.name),
                detail: format!("open {idx}"),
            };
            let body = format!("{{\"n\":{idx}}}");
            let outcome = store
                .create_session(
                    &target,
                    &cipher,
                    1,
                    body.as_bytes(),
                    Timestamp::now().plus_millis(60_000),
                    Some(&event),
                )
                .await;
            (idx, body, outcome)
        }));
    }
    let mut n_opened = 0;
    for task in tasks {
        let (idx, body, outcome) = task.await.unwrap();
        if idx % 10 == 3 {
            assert!(
                matches!(outcome, Err(StoreError::NotFound { .. })),
                "open {idx}: {outcome:?}"
            );
        } else {
            let id = outcome.unwrap();
            assert_eq!(
                store.session(&env, &id).await.unwrap().expose(),
                body.as_bytes()
            );
            n_opened += 1;
        }
    }
    assert_eq!(n_opened, 54);
    let events = store.list_audit_events("acme", None, 1000).await.unwrap();
    let mut details: Vec<String> = events
        .items
        .iter()
        .filter(|event| event.event.action == "environment.open")
        .map(|event| event.event.detail.clone())
        .collect();
    details.sort();
    let mut expected: Vec<String> = (0..60)
        .filter(|idx| idx % 10 != 3)
        .map(|idx| format!("open {idx}"))
        .collect();
    expected.sort();
    assert_eq!(details, expected);
}

pub(crate) async fn revision_with_cipher(h: &Harness) {
    let store = h.dyn_store();
    let env = new_env(&*store, "dev").await;
    let cipher = store.environment_cipher(&env).await.unwrap();
    let secret = seal_secret(&cipher, b"s3cret").unwrap();
    store
        .update_environment(&env, format!("values: {secret}").as_bytes(), None, &alice())
        .await
        .unwrap();
    store
        .create_revision_tag(&env, "stable", Some(1), &alice())
        .await
        .unwrap();
    let (latest, latest_cipher) = store
        .revision_with_cipher(&env, esc_store::RevisionAt::Tag("latest"))
        .await
        .unwrap();
    assert_eq!(latest.revision.number, 2);
    assert_eq!(latest.revision.tags, vec!["latest".to_owned()]);
    assert_eq!(
        latest.yaml.expose_str().unwrap(),
        format!("values: {secret}")
    );
    // the cipher is the environment's: it opens what was sealed for it
    assert_eq!(
        open_secret(&latest_cipher, &secret).unwrap().expose(),
        b"s3cret"
    );
    let (tagged, _) = store
        .revision_with_cipher(&env, esc_store::RevisionAt::Tag("stable"))
        .await
        .unwrap();
    assert_eq!(tagged.revision.number, 1);
    assert_eq!(tagged.revision.tags, vec!["stable".to_owned()]);
    let (numbered, _) = store
        .revision_with_cipher(&env, esc_store::RevisionAt::Number(1))
        .await
        .unwrap();
    assert!(numbered.yaml.is_empty());
    for missing in [
        store
            .revision_with_cipher(&env, esc_store::RevisionAt::Number(3))
            .await,
        store
            .revision_with_cipher(&env, esc_store::RevisionAt::Tag("nope"))
            .await,
        store
            .revision_with_cipher(
                &EnvRef::new("acme", "app", "nope"),
                esc_store::RevisionAt::Number(1),
            )
            .await,
    ] {
        assert!(matches!(missing, Err(StoreError::NotFound { .. })));
    }
}

pub(crate) async fn resolve_revisions(h: &Harness) {
    use esc_store::{ResolvedRevision, RevisionAt};
    let store = h.dyn_store();
    let dev = new_env(&*store, "dev").await;
    let base = new_env(&*store, "base").await;
    for text in ["v: 2\n", "v: 3\n", "v: 4\n"] {
        store
            .update_environment(&dev, text.as_bytes(), None, &alice())
            .await
            .unwrap();
    }
    store
        .create_revision_tag(&dev, "prod", Some(3), &alice())
        .await
        .unwrap();
    let dev_id = store.environment(&dev).await.unwrap().id;
    let base_id = store.environment(&base).await.unwrap().id;
    let at = |id: &str, number| {
        Some(ResolvedRevision {
            environment_id: id.to_owned(),
            number,
        })
    };
    let unknown = EnvRef::new("acme", "app", "nope");
    let targets = [
        (dev.clone(), RevisionAt::Tag("latest")),
        (base.clone(), RevisionAt::Tag("latest")),
        (dev.clone(), RevisionAt::Tag("prod")),
        (dev.clone(), RevisionAt::Number(3)),
        (dev.clone(), RevisionAt::Number(9)),
        (dev.clone(), RevisionAt::Tag("nope")),
        (unknown.clone(), RevisionAt::Tag("latest")),
    ];
    assert_eq!(
        store.resolve_revisions(&targets).await.unwrap(),
        vec![
            at(&dev_id, 4),
            at(&base_id, 1),
            at(&dev_id, 3),
            at(&dev_id, 3),
            None,
            None,
            None
        ]
    );
    assert!(store.resolve_revisions(&[]).await.unwrap().is_empty());
    // a retracted revision resolves to nothing; its tag moved on
    store
        .retract_revision(&dev, 3, None, "leaked", &bob())
        .await
        .unwrap();
    // a new revision moves latest
    store
        .update_environment(&base, b"v: 2\n", None, &alice())
        .await
        .unwrap();
    let after = store.resolve_revisions(&targets[..4]).await.unwrap();
    assert_eq!(
        after,
        vec![at(&dev_id, 4), at(&base_id, 2), at(&dev_id, 2), None]
    );
    // a re-created environment has another id
    store.delete_environment(&base).await.unwrap();
    store.create_environment(&base, &alice()).await.unwrap();
    let recreated = store.resolve_revisions(&targets[1..2]).await.unwrap();
    let new_id = store.environment(&base).await.unwrap().id;
    assert_ne!(new_id, base_id);
    assert_eq!(recreated, vec![at(&new_id, 1)]);
    // more targets than one statement takes: same answers, in order
    let many: Vec<_> = (0..300)
        .map(|idx| {
            if idx % 2 == 0 {
                (dev.clone(), RevisionAt::Number(1 + idx % 4))
            } else {
                (unknown.clone(), RevisionAt::Tag("latest"))
            }
        })
        .collect();
    let resolved = store.resolve_revisions(&many).await.unwrap();
    assert_eq!(resolved.len(), 300);
    for (idx, found) in resolved.iter().enumerate() {
        let expected = if idx % 2 == 0 {
            // revision 3 is retracted
            let number = 1 + idx as u64 % 4;
            (number != 3).then(|| ResolvedRevision {
                environment_id: dev_id.clone(),
                number,
            })
        } else {
            None
        };
        assert_eq!(*found, expected, "target {idx}");
    }
}

pub(crate) async fn access_tokens(h: &Harness) {
    let store = h.dyn_store();
    let created = store
        .create_access_token("alice", "ci", None, "test-admin")
        .await
        .unwrap();
    let secret = created.secret.expose_str().unwrap().to_owned();
    assert!(secret.starts_with("esc_"));
    assert!(!format!("{created:?}").contains(&secret));
    let found = store.authenticate_access_token(&secret).await.unwrap();
    assert_eq!(found.id, created.token.id);
    assert_eq!(found.owner, "alice");
    assert!(found.last_used.is_some());
    // a second use within the minute keeps the recorded time (no row write)
    let again = store.authenticate_access_token(&secret).await.unwrap();
    assert_eq!(again.last_used, found.last_used);
    assert!(matches!(
        store.authenticate_access_token("esc_wrong").await,
        Err(StoreError::NotFound { .. })
    ));
    let expired = store
        .create_access_token(
            "alice",
            "old",
            Some(Timestamp::now().plus_millis(-1)),
            "test-admin",
        )
        .await
        .unwrap();
    assert!(matches!(
        store
            .authenticate_access_token(expired.secret.expose_str().unwrap())
            .await,
        Err(StoreError::NotFound { .. })
    ));
    store
        .create_access_token("bob", "other", None, "test-admin")
        .await
        .unwrap();
    let listed = store.list_access_tokens("alice").await.unwrap();
    assert_eq!(listed.len(), 2);
    // (Both were created within moments: find by id, not by position.)
    let used = listed.iter().find(|t| t.id == created.token.id).unwrap();
    assert_eq!(used.last_used, found.last_used);
    assert!(matches!(
        store
            .delete_access_token("bob", &created.token.id, "test-admin")
            .await,
        Err(StoreError::NotFound { .. })
    ));
    store
        .delete_access_token("alice", &created.token.id, "alice")
        .await
        .unwrap();
    assert!(matches!(
        store.authenticate_access_token(&secret).await,
        Err(StoreError::NotFound { .. })
    ));
    // the deletion is audited like the creation (the refused one left no
    // event): server-wide, naming the token id and its owner, never the secret
    let events = store
        .list_audit_events(esc_store::SERVER_AUDIT_ORG, None, 100)
        .await
        .unwrap();
    let revokes: Vec<(&str, &str, &str)> = events
        .items
        .iter()
        .filter(|e| e.event.action == "token.revoke")
        .map(|e| {
            (
                e.event.actor.as_str(),
                e.event.target.as_str(),
                e.event.detail.as_str(),
            )
        })
        .collect();
    assert_eq!(
        revokes,
        [("alice", created.token.id.as_str(), "owner alice")]
    );
    for e in &events.items {
        let text = format!("{:?}", e.event);
        assert!(!text.contains(&secret), "{text}");
    }
}

pub(crate) async fn audit_events_page(h: &Harness) {
    let store = h.dyn_store();
    for idx in 0..5 {
        let event = NewAuditEvent {
            time: Timestamp::from_unix_millis(1_000 + idx / 2),
            org: "acme".into(),
            actor: "alice".into(),
            action: format!("action-{idx}"),
            target: "app/dev".into(),
            detail: String::new(),
        };
        store.append_audit_event(&event).await.unwrap();
    }
    store
        .append_audit_event(&NewAuditEvent {
            time: Timestamp::from_unix_millis(5),
            org: "zeta".into(),
            actor: "bob".into(),
            action: "x".into(),
            target: "y".into(),
            detail: String::new(),
        })
        .await
        .unwrap();
    let mut seen = Vec::new();
    let mut token: Option<String> = None;
    for _page in 0..10 {
        let page = store
            .list_audit_events("acme", token.as_deref(), 2)
            .await
            .unwrap();
        seen.extend(page.items);
        token = page.next;
        if token.is_none() {
            break;
        }
    }
    assert_eq!(seen.len(), 5);
    assert!(seen.windows(2).all(|w| w[0].event.time >= w[1].event.time));
    let actions: BTreeSet<_> = seen.iter().map(|e| e.event.action.clone()).collect();
    assert_eq!(actions.len(), 5);
}

pub(crate) async fn webhooks(h: &Harness) {
    let store = h.dyn_store();
    let env = new_env(&*store, "dev").await;
    let spec = WebhookSpec {
        display_name: "deploy".into(),
        payload_url: "https://example.test/hook".into(),
        format: "raw".into(),
        filters: vec!["environment_updated".into()],
        groups: vec!["environments".into()],
        active: true,
    };
    let secret = Plaintext::new(b"hook-secret".to_vec());
    let hook = store
        .create_webhook(&env, "hook-1", &spec, Some(&secret))
        .await
        .unwrap();
    assert!(hook.has_secret);
    assert_eq!(hook.filters, spec.filters);
    assert!(matches!(
        store.create_webhook(&env, "hook-1", &spec, None).await,
        Err(StoreError::AlreadyExists { .. })
    ));
    assert_eq!(
        store
            .webhook_secret(&env, "hook-1")
            .await
            .unwrap()
            .unwrap()
            .expose(),
        b"hook-secret"
    );
    let changed = WebhookSpec {
        active: false,
        groups: vec![],
        ..spec.clone()
    };
    let updated = store
        .update_webhook(&env, "hook-1", &changed, &WebhookSecretUpdate::Keep)
        .await
        .unwrap();
    assert!(!updated.active && updated.has_secret && updated.groups.is_empty());
    store
        .update_webhook(&env, "hook-1", &changed, &WebhookSecretUpdate::Remove)
        .await
        .unwrap();
    assert!(
        store
            .webhook_secret(&env, "hook-1")
            .await
            .unwrap()
            .is_none()
    );
    assert!(!store.webhook(&env, "hook-1").await.unwrap().has_secret);
    store
        .create_webhook(&env, "hook-0", &spec, None)
        .await
        .unwrap();
    let names: Vec<_> = store
        .list_webhooks(&env)
        .await
        .unwrap()
        .into_iter()
        .map(|w| w.name)
        .collect();
    assert_eq!(names, ["hook-0", "hook-1"]);
    for (idx, code) in [(0, Some(200)), (1, None)] {
        let delivery = esc_store::NewWebhookDelivery {
            kind: format!("kind-{idx}"),
            time: Timestamp::from_unix_millis(1_000 + idx),
            duration_ms: 12,
            response_code: code,
            details: Plaintext::new(format!("{{\"n\":{idx}}}").into_bytes()),
        };
        store
            .record_webhook_delivery(&env, "hook-1", &delivery)
            .await
            .unwrap();
    }
    let deliveries = store
        .list_webhook_deliveries(&env, "hook-1", 10)
        .await
        .unwrap();
    assert_eq!(deliveries.len(), 2);
    assert_eq!(deliveries[0].delivery.kind, "kind-1");
    assert_eq!(deliveries[0].delivery.response_code, None);
    assert_eq!(deliveries[1].delivery.response_code, Some(200));
    assert_eq!(deliveries[1].delivery.details.expose(), b"{\"n\":0}");
    assert!(matches!(
        store.list_webhook_deliveries(&env, "nope", 10).await,
        Err(StoreError::NotFound { .. })
    ));
    store.delete_webhook(&env, "hook-1").await.unwrap();
    store
        .create_webhook(&env, "hook-1", &spec, None)
        .await
        .unwrap();
    assert!(
        store
            .list_webhook_deliveries(&env, "hook-1", 10)
            .await
            .unwrap()
            .is_empty()
    );
    store.delete_webhook(&env, "hook-1").await.unwrap();
    assert!(matches!(
        store.webhook(&env, "hook-1").await,
        Err(StoreError::NotFound { .. })
    ));
}

pub(crate) async fn signing_keys(h: &Harness) {
    let store = h.dyn_store();
    store
        .put_signing_key("k1", "RS256", &Plaintext::new(b"private-one".to_vec()))
        .await
        .unwrap();
    store
        .put_signing_key("k2", "RS256", &Plaintext::new(b"private-two".to_vec()))
        .await
        .unwrap();
    assert!(matches!(
        store
            .put_signing_key("k1", "RS256", &Plaintext::new(b"x".to_vec()))
            .await,
        Err(StoreError::AlreadyExists { .. })
    ));
    store.retire_signing_key("k1").await.unwrap();
    let keys = store.list_signing_keys().await.unwrap();
    assert_eq!(keys.len(), 2);
    let k1 = keys.iter().find(|k| k.kid == "k1").unwrap();
    assert_eq!(k1.private_key.expose(), b"private-one");
    assert!(k1.retired.is_some());
    assert!(
        keys.iter()
            .find(|k| k.kid == "k2")
            .unwrap()
            .retired
            .is_none()
    );
    store.delete_signing_key("k1").await.unwrap();
    assert!(matches!(
        store.delete_signing_key("k1").await,
        Err(StoreError::NotFound { .. })
    ));
    assert!(matches!(
        store.retire_signing_key("k1").await,
        Err(StoreError::NotFound { .. })
    ));
    assert_eq!(store.list_signing_keys().await.unwrap().len(), 1);
}

pub(crate) async fn nothing_secret_at_rest(h: &Harness) {
    let store = h.dyn_store();
    let env = new_env(&*store, "at-rest-env").await;
    let cipher = store.environment_cipher(&env).await.unwrap();
    let sealed = seal_secret(&cipher, b"SEALED-hunter2-7f3a").unwrap();
    assert_eq!(
        open_secret(&cipher, &sealed).unwrap().expose(),
        b"SEALED-hunter2-7f3a"
    );
    let yaml = format!(
        "values:\n  sealed:\n    fn::secret:\n      ciphertext: {sealed}\n  plain:\n    fn::secret: PLAINTEXT-not-yet-rewritten-91c2\n"
    );
    store
        .update_environment(&env, yaml.as_bytes(), None, &alice())
        .await
        .unwrap();
    store
        .put_rotation_state(
            &env,
            "db.creds",
            b"{\"password\":\"ROTATION-state-secret-5d1e\"}",
        )
        .await
        .unwrap();
    // a failed rotation whose adapter echoed (a form of) the state it was sent
    let failure = NewRotationEvent {
        created: Timestamp::now(),
        completed: Some(Timestamp::now()),
        pre_rotation_revision: 2,
        post_rotation_revision: None,
        user: "alice".into(),
        status: RotationStatus::Failed,
        error_message: Some("EVENT-message-secret-2b7e".into()),
        schedule_id: None,
        rotations: vec![PathRotation {
            path: "db.creds".into(),
            status: RotationStatus::Failed,
            error_message: Some("adapter said: ROTATION-error-secret-64d0".into()),
        }],
    };
    store.record_rotation_event(&env, &failure).await.unwrap();
    let session = store
        .create_session(
            &env,
            &store.environment_cipher(&env).await.unwrap(),
            2,
            b"{\"password\":{\"value\":\"SESSION-result-secret-a8b0\",\"secret\":true}}",
            Timestamp::now().plus_millis(3_600_000),
            None,
        )
        .await
        .unwrap();
    let shared_expires = Timestamp::now().plus_millis(3_600_000);
    let shared = store
        .create_shared_session(
            &env,
            &store.environment_cipher(&env).await.unwrap(),
            2,
            esc_store::SharedResult::New {
                result: b"{\"password\":{\"value\":\"SHARED-result-secret-3c9d\",\"secret\":true}}",
                keep_until: shared_expires,
            },
            shared_expires,
            None,
        )
        .await
        .unwrap();
    let spec = WebhookSpec {
        display_name: "d".into(),
        payload_url: "https://example.test".into(),
        format: "raw".into(),
        filters: vec![],
        groups: vec![],
        active: true,
    };
    store
        .create_webhook(
            &env,
            "hook",
            &spec,
            Some(&Plaintext::new(b"WEBHOOK-secret-0c44".to_vec())),
        )
        .await
        .unwrap();
    store
        .record_webhook_delivery(
            &env,
            "hook",
            &esc_store::NewWebhookDelivery {
                kind: "ping".into(),
                time: Timestamp::now(),
                duration_ms: 1,
                response_code: Some(200),
                details: Plaintext::new(b"{\"signature\":\"DELIVERY-signature-77aa\"}".to_vec()),
            },
        )
        .await
        .unwrap();
    store
        .put_signing_key(
            "kid-1",
            "RS256",
            &Plaintext::new(b"SIGNING-private-key-e9f2".to_vec()),
        )
        .await
        .unwrap();
    let token = store
        .create_access_token("alice", "ci", None, "test-admin")
        .await
        .unwrap();
    let token_secret = token.secret.expose_str().unwrap().to_owned();

    // Everything is readable through the store...
    assert!(
        body(&*store, &env, 2)
            .await
            .contains("PLAINTEXT-not-yet-rewritten-91c2")
    );
    assert!(
        store
            .session(&env, &session)
            .await
            .unwrap()
            .expose_str()
            .unwrap()
            .contains("SESSION-result")
    );
    assert!(
        store
            .session(&env, &shared.id)
            .await
            .unwrap()
            .expose_str()
            .unwrap()
            .contains("SHARED-result")
    );
    assert_eq!(
        store.list_rotation_events(&env, 1).await.unwrap()[0].event,
        failure
    );
    // ...and nothing of it is on disk in the clear (raw, or hex as pg_dump
    // prints bytea).
    let raw = h.raw_contents().await;
    assert!(
        contains(&raw, b"at-rest-env"),
        "the dump should hold the (public) environment name"
    );
    for secret in [
        "SEALED-hunter2-7f3a",
        "PLAINTEXT-not-yet-rewritten-91c2",
        "ROTATION-state-secret-5d1e",
        "EVENT-message-secret-2b7e",
        "ROTATION-error-secret-64d0",
        "SESSION-result-secret-a8b0",
        "SHARED-result-secret-3c9d",
        "WEBHOOK-secret-0c44",
        "DELIVERY-signature-77aa",
        "SIGNING-private-key-e9f2",
        token_secret.as_str(),
        session.as_str(),
        shared.id.as_str(),
    ] {
        let hex: String = secret.bytes().map(|b| format!("{b:02x}")).collect();
        assert!(
            !contains(&raw, secret.as_bytes()),
            "{secret} found in the clear"
        );
        assert!(
            !contains(&raw, hex.as_bytes()),
            "{secret} found hex-encoded"
        );
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

pub(crate) async fn wrong_master_key_is_refused(h: &Harness) {
    let store = h.dyn_store();
    new_env(&*store, "dev").await;
    let other = MasterKey::generate().unwrap();
    match h.reopen(other).await {
        Err(StoreError::WrongMasterKey { expected }) => {
            assert_eq!(
                expected,
                MasterKey::from_bytes(&h.master_key).unwrap().fingerprint()
            );
        }
        Err(other) => panic!("expected WrongMasterKey, got {other}"),
        Ok(_) => panic!("a store opened with the wrong master key"),
    }
    // The right key still works.
    let again = h
        .reopen(MasterKey::from_bytes(&h.master_key).unwrap())
        .await
        .unwrap();
    assert_eq!(
        again
            .environment(&EnvRef::new("acme", "app", "dev"))
            .await
            .unwrap()
            .latest_revision,
        1
    );
}

pub(crate) async fn migrations_are_idempotent(h: &Harness) {
    // Opening already migrated; running again and reopening change nothing.
    assert!(h.store.migrate().await.unwrap().is_empty());
    assert!(h.store.migrate().await.unwrap().is_empty());
    let env = new_env(&*h.dyn_store(), "dev").await;
    let again = h
        .reopen(MasterKey::from_bytes(&h.master_key).unwrap())
        .await
        .unwrap();
    assert!(again.migrate().await.unwrap().is_empty());
    assert_eq!(again.environment(&env).await.unwrap().latest_revision, 1);
}

/// Re-seals every `ciphertext: <envelope>` line (a stand-in for the
/// service's YAML-aware rewrite).
fn reseal_lines(
    from: &esc_store::EnvironmentCipher,
    to: &esc_store::EnvironmentCipher,
    yaml: &[u8],
) -> Result<Vec<u8>, StoreError> {
    let text = std::str::from_utf8(yaml).unwrap();
    let mut out = String::new();
    for line in text.lines() {
        match line.split_once("ciphertext: ") {
            Some((indent, envelope)) => {
                let plain = open_secret(from, envelope).map_err(|e| StoreError::Invalid {
                    reason: e.to_string(),
                })?;
                out.push_str(&format!(
                    "{indent}ciphertext: {}\n",
                    seal_secret(to, plain.expose())?
                ));
            }
            None => {
                out.push_str(line);
                out.push('\n');
            }
        }
    }
    Ok(out.into_bytes())
}

fn ciphertext_of(yaml: &str) -> String {
    yaml.lines()
        .find_map(|line| line.split_once("ciphertext: ").map(|(_, c)| c.to_owned()))
        .unwrap()
}

pub(crate) async fn clone_environment(h: &Harness) {
    let store = h.dyn_store();
    let source = new_env(&*store, "src").await;
    let source_cipher = store.environment_cipher(&source).await.unwrap();
    let v2 = format!(
        "values:\n  s:\n    fn::secret:\n      ciphertext: {}\n",
        seal_secret(&source_cipher, b"one").unwrap()
    );
    let v3 = format!(
        "values:\n  s:\n    fn::secret:\n      ciphertext: {}\n",
        seal_secret(&source_cipher, b"two").unwrap()
    );
    store
        .update_environment(&source, v2.as_bytes(), None, &bob())
        .await
        .unwrap();
    store
        .update_environment(&source, v3.as_bytes(), None, &bob())
        .await
        .unwrap();
    store
        .create_revision_tag(&source, "stable", Some(2), &bob())
        .await
        .unwrap();
    store
        .create_environment_tag(&source, "owner", "team", &bob())
        .await
        .unwrap();

    let everything = esc_store::CloneOptions {
        preserve_history: true,
        preserve_environment_tags: true,
        preserve_revision_tags: true,
        source_revision: None,
    };
    let full = EnvRef::new("acme", "other", "full");
    let cloned = store
        .clone_environment(&source, &full, &everything, &alice(), &reseal_lines)
        .await
        .unwrap();
    assert_eq!(cloned.latest_revision, 3);
    assert_ne!(cloned.id, store.environment(&source).await.unwrap().id);
    let full_cipher = store.environment_cipher(&full).await.unwrap();
    let revisions = store.list_revisions(&full, None, 10).await.unwrap();
    assert_eq!(
        revisions.iter().map(|r| r.number).collect::<Vec<_>>(),
        [3, 2, 1]
    );
    assert_eq!(revisions[0].author, bob());
    let copied = body(&*store, &full, 2).await;
    let envelope = ciphertext_of(&copied);
    assert_eq!(
        open_secret(&full_cipher, &envelope).unwrap().expose(),
        b"one"
    );
    // Ciphertexts are bound to their environment: the source's do not open here.
    assert!(open_secret(&full_cipher, &ciphertext_of(&v2)).is_err());
    assert_eq!(
        store.revision_tag(&full, "stable").await.unwrap().revision,
        2
    );
    assert_eq!(
        store.environment_tag(&full, "owner").await.unwrap().value,
        "team"
    );
    // The clone's next write is revision 4.
    assert_eq!(
        store
            .update_environment(&full, b"", Some(3), &alice())
            .await
            .unwrap()
            .number,
        4
    );

    // A clone asked for at a revision that is no longer the newest is a
    // conflict and creates nothing; at the newest it goes ahead.
    let pinned = EnvRef::new("acme", "app", "pinned");
    let at = |revision| esc_store::CloneOptions {
        source_revision: Some(revision),
        ..esc_store::CloneOptions::default()
    };
    let refused = store
        .clone_environment(&source, &pinned, &at(2), &alice(), &reseal_lines)
        .await;
    assert!(
        matches!(
            refused,
            Err(StoreError::Conflict {
                current_revision: 3
            })
        ),
        "{refused:?}"
    );
    assert!(matches!(
        store.environment(&pinned).await,
        Err(StoreError::NotFound { .. })
    ));
    let cloned = store
        .clone_environment(&source, &pinned, &at(3), &alice(), &reseal_lines)
        .await
        .unwrap();
    assert_eq!(cloned.latest_revision, 1);

    let minimal = EnvRef::new("acme", "app", "minimal");
    let cloned = store
        .clone_environment(
            &source,
            &minimal,
            &esc_store::CloneOptions::default(),
            &alice(),
            &reseal_lines,
        )
        .await
        .unwrap();
    assert_eq!(cloned.latest_revision, 1);
    let only = store.revision(&minimal, 1).await.unwrap();
    assert_eq!(only.revision.author, alice());
    let minimal_cipher = store.environment_cipher(&minimal).await.unwrap();
    let text = only.yaml.expose_str().unwrap().to_owned();
    assert_eq!(
        open_secret(&minimal_cipher, &ciphertext_of(&text))
            .unwrap()
            .expose(),
        b"two"
    );
    assert!(
        store
            .list_environment_tags(&minimal, None, 10)
            .await
            .unwrap()
            .items
            .is_empty()
    );
    assert_eq!(
        store
            .list_revision_tags(&minimal, None, 10)
            .await
            .unwrap()
            .len(),
        1
    );

    assert!(matches!(
        store
            .clone_environment(&source, &minimal, &everything, &alice(), &reseal_lines)
            .await,
        Err(StoreError::AlreadyExists { .. })
    ));
    // A failing rewrite leaves nothing behind.
    let failing = |_: &esc_store::EnvironmentCipher, _: &esc_store::EnvironmentCipher, _: &[u8]| {
        Err(StoreError::Invalid {
            reason: "cannot".into(),
        })
    };
    let broken = EnvRef::new("acme", "app", "broken");
    assert!(matches!(
        store
            .clone_environment(&source, &broken, &everything, &alice(), &failing)
            .await,
        Err(StoreError::Invalid { .. })
    ));
    assert!(matches!(
        store.environment(&broken).await,
        Err(StoreError::NotFound { .. })
    ));
    let missing = EnvRef::new("acme", "app", "missing");
    assert!(matches!(
        store
            .clone_environment(&missing, &broken, &everything, &alice(), &reseal_lines)
            .await,
        Err(StoreError::NotFound { .. })
    ));
}

pub(crate) async fn cancelled_operations_leave_no_half_writes(h: &Harness) {
    let store = h.dyn_store();
    let env = new_env(&*store, "dev").await;
    // Abandon writes at arbitrary points (a client hanging up mid-request):
    // each either happened completely or not at all, and the store keeps working.
    let author = alice();
    // Spread the deadlines over 0..6x the time one write takes here, so
    // some writes are cut off at every stage and some finish.
    let started = std::time::Instant::now();
    store
        .update_environment(&env, b"n: timed\n", None, &author)
        .await
        .unwrap();
    let one_write = started.elapsed();
    let mut n_finished = 0;
    for idx in 0..60u32 {
        let yaml = format!("n: {idx}\n");
        let write = store.update_environment(&env, yaml.as_bytes(), None, &author);
        if let Ok(result) = tokio::time::timeout(one_write * idx / 10, write).await {
            result.unwrap();
            n_finished += 1;
        }
    }
    eprintln!("{n_finished} of 60 abandoned writes finished (one write: {one_write:?})");
    let final_write = store
        .update_environment(&env, b"n: final\n", None, &alice())
        .await
        .unwrap();
    let latest = store.environment(&env).await.unwrap().latest_revision;
    assert_eq!(final_write.number, latest);
    assert!(latest >= 3 + n_finished, "{latest} {n_finished}");
    let revisions = store.list_revisions(&env, None, 1000).await.unwrap();
    assert_eq!(
        revisions.len() as u64,
        latest,
        "revisions are numbered without gaps"
    );
    for revision in &revisions {
        store.revision(&env, revision.number).await.unwrap();
    }
    assert_eq!(body(&*store, &env, latest).await, "n: final\n");
}

pub(crate) async fn master_key_rotation(h: &Harness) {
    let store = h.dyn_store();
    let env = new_env(&*store, "dev").await;
    let cipher = store.environment_cipher(&env).await.unwrap();
    let sealed = seal_secret(&cipher, b"kept-secret").unwrap();
    store
        .update_environment(&env, sealed.as_bytes(), None, &alice())
        .await
        .unwrap();
    store.put_rotation_state(&env, "p", b"state").await.unwrap();
    store
        .put_signing_key("kid", "RS256", &Plaintext::new(b"pkcs8".to_vec()))
        .await
        .unwrap();
    drop(store);

    let old = h
        .reopen(MasterKey::from_bytes(&h.master_key).unwrap())
        .await
        .unwrap();
    let new_key = MasterKey::generate().unwrap();
    let new_fingerprint = new_key.fingerprint().to_owned();
    let rotated = old.rotate_master_key(new_key).await.unwrap();
    // Everything still reads, and old ciphertexts still open (same data keys).
    assert_eq!(body(&rotated, &env, 2).await, sealed);
    let cipher = rotated.environment_cipher(&env).await.unwrap();
    assert_eq!(
        open_secret(&cipher, &sealed).unwrap().expose(),
        b"kept-secret"
    );
    assert_eq!(
        rotated
            .rotation_state(&env, "p")
            .await
            .unwrap()
            .unwrap()
            .expose(),
        b"state"
    );
    assert_eq!(
        rotated.list_signing_keys().await.unwrap()[0]
            .private_key
            .expose(),
        b"pkcs8"
    );
    // The old key is refused from now on.
    match h
        .reopen(MasterKey::from_bytes(&h.master_key).unwrap())
        .await
    {
        Err(StoreError::WrongMasterKey { expected }) => assert_eq!(expected, new_fingerprint),
        Err(other) => panic!("expected WrongMasterKey, got {other}"),
        Ok(_) => panic!("the old master key still opens the store"),
    }
    // The store opened before the rotation still holds the old key: its
    // reads of data keys fail cleanly instead of returning garbage.
    assert!(matches!(
        h.store.environment_cipher(&env).await,
        Err(StoreError::Decrypt { .. })
    ));
}

pub(crate) async fn newest_definitions(h: &Harness) {
    let store = h.dyn_store();
    assert!(
        store
            .newest_definitions("acme", None, 100)
            .await
            .unwrap()
            .is_empty()
    );
    let dev = new_env(&*store, "dev").await;
    for text in ["a: 1\n", "a: 2\n", "a: 3\n"] {
        store
            .update_environment(&dev, text.as_bytes(), None, &alice())
            .await
            .unwrap();
    }
    // a retracted older revision does not matter: the newest is read
    store
        .retract_revision(&dev, 2, None, "leaked", &bob())
        .await
        .unwrap();
    let empty = new_env(&*store, "base").await;
    let other_project = EnvRef::new("acme", "aaa", "zzz");
    store
        .create_environment(&other_project, &alice())
        .await
        .unwrap();
    store
        .update_environment(&other_project, b"imports: [app/base]\n", None, &bob())
        .await
        .unwrap();
    let gone = new_env(&*store, "gone").await;
    store.delete_environment(&gone).await.unwrap();
    store.create_organization("other").await.unwrap();
    let elsewhere = EnvRef::new("other", "app", "dev");
    store
        .create_environment(&elsewhere, &alice())
        .await
        .unwrap();
    store
        .update_environment(&elsewhere, b"b: 1\n", None, &alice())
        .await
        .unwrap();

    let found: Vec<(String, u64, String)> = store
        .newest_definitions("acme", None, 100)
        .await
        .unwrap()
        .into_iter()
        .map(|d| {
            assert_eq!(d.env.org, "acme");
            (
                format!("{}/{}", d.env.project, d.env.name),
                d.revision,
                d.yaml.expose_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        found,
        [
            ("aaa/zzz".to_owned(), 2, "imports: [app/base]\n".to_owned()),
            ("app/base".to_owned(), 1, String::new()),
            ("app/dev".to_owned(), 4, "a: 3\n".to_owned()),
        ]
    );
    assert_eq!(empty, EnvRef::new("acme", "app", "base"));
    // a page at a time: each starts after the last one's final environment
    let mut paged = Vec::new();
    let mut after: Option<EnvRef> = None;
    for _ in 0..10 {
        let page = store
            .newest_definitions("acme", after.as_ref(), 1)
            .await
            .unwrap();
        assert!(page.len() <= 1);
        let Some(last) = page.last() else { break };
        after = Some(last.env.clone());
        paged.push((
            format!("{}/{}", last.env.project, last.env.name),
            last.revision,
        ));
    }
    assert_eq!(
        paged,
        [
            ("aaa/zzz".to_owned(), 2),
            ("app/base".to_owned(), 1),
            ("app/dev".to_owned(), 4),
        ]
    );
    let two = store
        .newest_definitions("acme", Some(&other_project), 2)
        .await
        .unwrap();
    assert_eq!(
        two.iter().map(|d| d.env.clone()).collect::<Vec<_>>(),
        [empty.clone(), dev.clone()]
    );
    assert!(
        store
            .newest_definitions("nobody", None, 100)
            .await
            .unwrap()
            .is_empty()
    );
    let other = store.newest_definitions("other", None, 100).await.unwrap();
    assert_eq!(other.len(), 1);
    assert_eq!(other[0].env, elsewhere);
    assert_eq!(other[0].revision, 2);
    assert_eq!(other[0].yaml.expose_str(), Some("b: 1\n"));
}

/// Concurrent `resolve_revisions` calls (identical ones share a statement):
/// each sees every write committed before it was called, different lists
/// get their own answers, and a list that cannot be read fails alone.
pub(crate) async fn concurrent_resolves_see_earlier_writes(h: &Harness) {
    use esc_store::RevisionAt;
    let store = h.dyn_store();
    let dev = new_env(&*store, "dev").await;
    let base = new_env(&*store, "base").await;
    let dev_id = store.environment(&dev).await.unwrap().id;
    let base_id = store.environment(&base).await.unwrap().id;
    // A writer moves `latest` of dev while readers resolve it without a
    // pause, so a shared statement is nearly always in flight: right after
    // each of its updates returns, the writer resolves dev itself and must
    // see that update (a call joining a statement that started before it
    // was made would see the revision before). Each reader resolves after
    // reading the newest revision it knows of, and must see that one.
    const WRITES: u64 = 60;
    // bounds the readers should the writer stop early
    const MAX_READS: u32 = 20_000;
    let newest = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(1));
    let writing = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    let writer = {
        let (store, dev, newest, writing) =
            (store.clone(), dev.clone(), newest.clone(), writing.clone());
        tokio::spawn(async move {
            // the readers stop when the writer does, even on a failure
            struct Stop(std::sync::Arc<std::sync::atomic::AtomicBool>);
            impl Drop for Stop {
                fn drop(&mut self) {
                    self.0.store(false, std::sync::atomic::Ordering::SeqCst);
                }
            }
            let _stop = Stop(writing);
            let mut stale = Vec::new();
            for number in 2..=WRITES + 1 {
                store
                    .update_environment(&dev, format!("v: {number}\n").as_bytes(), None, &alice())
                    .await
                    .unwrap();
                newest.store(number, std::sync::atomic::Ordering::SeqCst);
                let resolved = store
                    .resolve_revisions(&[(dev.clone(), RevisionAt::Tag("latest"))])
                    .await
                    .unwrap();
                let seen = resolved[0].as_ref().map_or(0, |found| found.number);
                if seen < number {
                    stale.push((number, seen));
                }
                // let the readers' statements overlap the next update
                tokio::task::yield_now().await;
            }
            assert!(
                stale.is_empty(),
                "resolved right after an update returned, (written, seen): {stale:?}"
            );
        })
    };
    let mut readers = Vec::new();
    for idx in 0..16_u32 {
        let (store, dev, base, newest, writing) = (
            store.clone(),
            dev.clone(),
            base.clone(),
            newest.clone(),
            writing.clone(),
        );
        let (dev_id, base_id) = (dev_id.clone(), base_id.clone());
        readers.push(tokio::spawn(async move {
            for read in 0..MAX_READS {
                // at least a few reads each, then until the writer is done
                if read >= 25 && !writing.load(std::sync::atomic::Ordering::SeqCst) {
                    break;
                }
                let committed = newest.load(std::sync::atomic::Ordering::SeqCst);
                match idx % 4 {
                    // an unreadable number: refused, alone
                    3 => assert!(matches!(
                        store
                            .resolve_revisions(&[(dev.clone(), RevisionAt::Number(u64::MAX))])
                            .await,
                        Err(esc_store::StoreError::Invalid { .. })
                    )),
                    // another list, with an import
                    2 => {
                        let resolved = store
                            .resolve_revisions(&[
                                (dev.clone(), RevisionAt::Number(1)),
                                (base.clone(), RevisionAt::Tag("latest")),
                            ])
                            .await
                            .unwrap();
                        let [Some(first), Some(second)] = &resolved[..] else {
                            panic!("unresolved: {resolved:?}");
                        };
                        assert_eq!(
                            (first.environment_id.as_str(), first.number),
                            (dev_id.as_str(), 1)
                        );
                        assert_eq!(
                            (second.environment_id.as_str(), second.number),
                            (base_id.as_str(), 1)
                        );
                    }
                    _ => {
                        let resolved = store
                            .resolve_revisions(&[(dev.clone(), RevisionAt::Tag("latest"))])
                            .await
                            .unwrap();
                        let Some(Some(latest)) = resolved.first() else {
                            panic!("unresolved: {resolved:?}");
                        };
                        assert_eq!(latest.environment_id, dev_id);
                        assert!(
                            latest.number >= committed,
                            "resolved {} after {committed} was committed",
                            latest.number
                        );
                    }
                }
            }
        }));
    }
    writer.await.unwrap();
    for reader in readers {
        reader.await.unwrap();
    }
    let resolved = store
        .resolve_revisions(&[(dev.clone(), RevisionAt::Tag("latest"))])
        .await
        .unwrap();
    assert_eq!(
        resolved[0].as_ref().map(|found| found.number),
        Some(WRITES + 1)
    );
}

/// Callers of `resolve_revisions` dropped while they wait for a shared
/// statement (their client went away) hold up nobody: the callers still
/// waiting with them, and later ones, get their answers.
pub(crate) async fn dropped_resolves_do_not_hold_up_others(h: &Harness) {
    use esc_store::RevisionAt;
    let store = h.dyn_store();
    let dev = new_env(&*store, "dev").await;
    let base = new_env(&*store, "base").await;
    for round in 0..50_u32 {
        let mut kept = Vec::new();
        for idx in 0..12_u32 {
            let (store, dev, base) = (store.clone(), dev.clone(), base.clone());
            let task = tokio::spawn(async move {
                let targets = if idx % 2 == 0 {
                    vec![(dev, RevisionAt::Tag("latest"))]
                } else {
                    vec![
                        (dev, RevisionAt::Number(1)),
                        (base, RevisionAt::Tag("latest")),
                    ]
                };
                store
                    .resolve_revisions(&targets)
                    .await
                    .map(|found| found.len())
            });
            if (idx + round) % 3 == 0 {
                // dropped at once, or after a moment in the queue
                if round % 2 == 1 {
                    tokio::task::yield_now().await;
                }
                task.abort();
            } else {
                kept.push((idx, task));
            }
        }
        for (idx, task) in kept {
            let answered = tokio::time::timeout(std::time::Duration::from_secs(20), task)
                .await
                .unwrap_or_else(|_| panic!("round {round}: caller {idx} still waits"))
                .unwrap()
                .unwrap();
            assert_eq!(answered, if idx % 2 == 0 { 1 } else { 2 });
        }
    }
    let resolved = tokio::time::timeout(
        std::time::Duration::from_secs(20),
        store.resolve_revisions(&[(dev.clone(), RevisionAt::Tag("latest"))]),
    )
    .await
    .unwrap()
    .unwrap();
    assert_eq!(resolved[0].as_ref().map(|found| found.number), Some(1));
}
