//! Drafts (change requests) on both backends: create, read, edit with the
//! version check, apply as a revision only while the base is the newest,
//! refusal once applied, and nothing of a draft's text readable at rest.

use esc_store::{DraftState, StoreError};

use crate::harness::{Harness, Kind, alice, bob, new_env};

async fn lifecycle(kind: Kind) {
    let Some(h) = Harness::start(kind).await else {
        return;
    };
    let store = h.dyn_store();
    let env = new_env(&*store, "drafted").await;
    store
        .update_environment(&env, b"values:\n  a: 1\n", None, &alice())
        .await
        .unwrap();

    // a stale expected revision is refused at creation
    let stale = store
        .create_draft(&env, b"values:\n  a: 2\n", Some(1), &bob())
        .await
        .unwrap_err();
    assert!(
        matches!(
            stale,
            StoreError::Conflict {
                current_revision: 2
            }
        ),
        "{stale}"
    );
    let draft = store
        .create_draft(&env, b"values:\n  a: 2\n", Some(2), &bob())
        .await
        .unwrap();
    assert_eq!(
        (draft.base_revision, draft.version, draft.state),
        (2, 1, DraftState::Open)
    );
    assert_eq!(draft.env, env);
    assert_eq!(draft.author.login, "bob");

    let read = store.draft("acme", &draft.id).await.unwrap();
    assert_eq!(read.yaml.expose(), b"values:\n  a: 2\n");
    assert_eq!(read.draft, draft);
    // drafts are found within their organization only
    store.create_organization("other").await.unwrap();
    assert!(matches!(
        store.draft("other", &draft.id).await.unwrap_err(),
        StoreError::NotFound { .. }
    ));
    assert!(matches!(
        store.draft("acme", "no-such-draft").await.unwrap_err(),
        StoreError::NotFound { .. }
    ));

    // edits check the version they read
    let edited = store
        .update_draft("acme", &draft.id, b"values:\n  a: 3\n", Some(1))
        .await
        .unwrap();
    assert_eq!(edited.version, 2);
    assert!(matches!(
        store
            .update_draft("acme", &draft.id, b"values:\n  a: 4\n", Some(1))
            .await
            .unwrap_err(),
        StoreError::Changed { .. }
    ));
    assert_eq!(
        store.draft("acme", &draft.id).await.unwrap().yaml.expose(),
        b"values:\n  a: 3\n"
    );
    // the environment itself is untouched by drafts
    assert_eq!(store.environment(&env).await.unwrap().latest_revision, 2);

    let (applied, revision) = store
        .apply_draft("acme", &draft.id, "raise a", &alice())
        .await
        .unwrap();
    assert_eq!(revision.number, 3);
    assert_eq!(revision.author.login, "alice");
    assert_eq!(applied.state, DraftState::Applied);
    assert_eq!(applied.applied_revision, Some(3));
    assert_eq!(
        store.revision(&env, 3).await.unwrap().yaml.expose(),
        b"values:\n  a: 3\n"
    );
    let reread = store.draft("acme", &draft.id).await.unwrap();
    assert_eq!(reread.draft.state, DraftState::Applied);
    assert_eq!(reread.draft.description, "raise a");

    // no longer a draft: neither edited nor applied again
    assert!(matches!(
        store
            .update_draft("acme", &draft.id, b"values:\n  a: 5\n", None)
            .await
            .unwrap_err(),
        StoreError::Invalid { .. }
    ));
    assert!(matches!(
        store
            .apply_draft("acme", &draft.id, "", &alice())
            .await
            .unwrap_err(),
        StoreError::Invalid { .. }
    ));
    assert_eq!(store.environment(&env).await.unwrap().latest_revision, 3);
}

async fn stale_base_conflicts(kind: Kind) {
    let Some(h) = Harness::start(kind).await else {
        return;
    };
    let store = h.dyn_store();
    let env = new_env(&*store, "moved-on").await;
    let draft = store
        .create_draft(&env, b"values:\n  from: draft\n", None, &bob())
        .await
        .unwrap();
    assert_eq!(draft.base_revision, 1);
    store
        .update_environment(&env, b"values:\n  from: someone-else\n", None, &alice())
        .await
        .unwrap();
    let error = store
        .apply_draft("acme", &draft.id, "", &bob())
        .await
        .unwrap_err();
    assert!(
        matches!(
            error,
            StoreError::Conflict {
                current_revision: 2
            }
        ),
        "{error}"
    );
    // nothing changed: the environment and the draft are as they were
    assert_eq!(store.environment(&env).await.unwrap().latest_revision, 2);
    assert_eq!(
        store.revision(&env, 2).await.unwrap().yaml.expose(),
        b"values:\n  from: someone-else\n"
    );
    let still = store.draft("acme", &draft.id).await.unwrap();
    assert_eq!(still.draft.state, DraftState::Open);
    assert_eq!(still.draft.applied_revision, None);

    // deleting the environment takes its drafts with it
    store.delete_environment(&env).await.unwrap();
    assert!(matches!(
        store.draft("acme", &draft.id).await.unwrap_err(),
        StoreError::NotFound { .. }
    ));
}

async fn draft_text_is_sealed_at_rest(kind: Kind) {
    let Some(h) = Harness::start(kind).await else {
        return;
    };
    let store = h.dyn_store();
    let env = new_env(&*store, "sealed-draft").await;
    let draft = store
        .create_draft(
            &env,
            b"values:\n  DRAFT-marker-created-2b9e: 1\n",
            None,
            &bob(),
        )
        .await
        .unwrap();
    store
        .update_draft(
            "acme",
            &draft.id,
            b"values:\n  DRAFT-marker-edited-6c1f: 1\n",
            None,
        )
        .await
        .unwrap();
    let raw = h.raw_contents().await;
    for marker in ["DRAFT-marker-created-2b9e", "DRAFT-marker-edited-6c1f"] {
        assert!(
            !raw.windows(marker.len()).any(|w| w == marker.as_bytes()),
            "{marker} is readable at rest"
        );
    }
    // the draft row is there (the check above looked at a real database)
    assert!(
        raw.windows(draft.id.len())
            .any(|w| w == draft.id.as_bytes()),
        "the draft's id is not in the database contents"
    );
}

macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name(crate::harness::Kind::Sqlite).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name(crate::harness::Kind::Postgres).await;
                }
            )*
        }
    };
}

on_both_backends!(
    lifecycle,
    stale_base_conflicts,
    draft_text_is_sealed_at_rest
);
