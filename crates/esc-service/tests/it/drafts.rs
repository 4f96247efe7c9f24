//! Drafts (change requests): who may create, edit, open and submit them,
//! secrets sealed in drafts, etags, submit applying only onto the draft's
//! base revision, and the audit events.

use std::sync::Arc;

use esc_service::{
    AccessPolicy, Caller, Membership, ProviderRegistry, Role, Service, ServiceConfig, ServiceError,
    Version,
};
use esc_store::{EnvRef, Store};

struct Fixture {
    service: Service,
    store: Arc<dyn Store>,
    _dir: tempfile::TempDir,
}

fn caller(login: &str) -> Caller {
    Caller {
        login: login.into(),
        name: login.into(),
    }
}

async fn fixture() -> Fixture {
    let (dir, store) = crate::sqlite_store().await;
    let member = |login: &str, role| Membership {
        login: login.into(),
        org: "acme".into(),
        role,
    };
    let service = Service::new(
        store.clone(),
        Arc::new(ProviderRegistry::new()),
        ServiceConfig {
            access: AccessPolicy {
                admins: vec!["root".into()],
                memberships: vec![
                    member("reader", Role::Reader),
                    member("writer", Role::Writer),
                ],
            },
            ..ServiceConfig::default()
        },
    );
    Fixture {
        service,
        store,
        _dir: dir,
    }
}

fn env() -> EnvRef {
    EnvRef::new("acme", "app", "dev")
}

const DRAFT: &str = "values:\n  greeting: hello\n  password:\n    fn::secret: DRAFT-secret-4e1d\n";

#[tokio::test]
async fn a_draft_is_edited_opened_and_applied_on_submit() {
    let f = fixture().await;
    let (root, writer, reader) = (caller("root"), caller("writer"), caller("reader"));
    f.service.create_environment(&root, &env()).await.unwrap();

    // readers may not propose changes
    assert!(matches!(
        f.service
            .create_draft(&reader, &env(), DRAFT, None)
            .await
            .unwrap_err(),
        ServiceError::Forbidden { .. }
    ));
    let created = f
        .service
        .create_draft(&writer, &env(), DRAFT, None)
        .await
        .unwrap();
    assert_eq!(created.latest_revision, 1);

    // the draft holds the secret sealed; the environment is unchanged
    let read = f.service.draft(&reader, &env(), &created.id).await.unwrap();
    let text = read.yaml.expose_str().unwrap();
    assert!(text.contains("greeting: hello"), "{text}");
    assert!(text.contains("ciphertext:"), "{text}");
    assert!(!text.contains("DRAFT-secret-4e1d"), "{text}");
    assert_eq!(read.etag, created.etag);
    let current = f
        .service
        .definition(&reader, &env(), &Version::Latest, false)
        .await
        .unwrap();
    assert_eq!(current.revision, 1);

    // edits need the draft's current etag
    let edited = f
        .service
        .update_draft(
            &writer,
            &env(),
            &created.id,
            "values:\n  greeting: hi\n  password:\n    fn::secret: DRAFT-secret-4e1d\n",
            Some(&created.etag),
        )
        .await
        .unwrap();
    assert_ne!(edited.etag, created.etag);
    assert!(matches!(
        f.service
            .update_draft(&writer, &env(), &created.id, DRAFT, Some(&created.etag))
            .await
            .unwrap_err(),
        ServiceError::Conflict { .. }
    ));
    // an edit with errors is refused with its diagnostics
    assert!(matches!(
        f.service
            .update_draft(
                &writer,
                &env(),
                &created.id,
                "values:\n  a: ${nope}\n",
                None
            )
            .await
            .unwrap_err(),
        ServiceError::Diagnostics { .. }
    ));

    // opening the draft evaluates the draft, not the environment
    let session = f
        .service
        .open_draft(&writer, &env(), &created.id, None)
        .await
        .unwrap();
    let json = f
        .service
        .read_session_json(&writer, &env(), &session.id, None)
        .await
        .unwrap();
    assert!(json.contains("\"hi\""), "{json}");
    assert!(json.contains("DRAFT-secret-4e1d"), "{json}");

    // a draft of another environment is not found under this one
    let other = EnvRef::new("acme", "app", "other");
    f.service.create_environment(&root, &other).await.unwrap();
    assert!(matches!(
        f.service
            .draft(&writer, &other, &created.id)
            .await
            .unwrap_err(),
        ServiceError::NotFound { .. }
    ));

    // submitting needs write permission, then applies the draft
    assert!(matches!(
        f.service
            .submit_draft(&reader, "acme", &created.id, None)
            .await
            .unwrap_err(),
        ServiceError::Forbidden { .. }
    ));
    let revision = f
        .service
        .submit_draft(&writer, "acme", &created.id, Some("say hi"))
        .await
        .unwrap();
    assert_eq!(revision.number, 2);
    let applied = f
        .service
        .definition(&root, &env(), &Version::Latest, true)
        .await
        .unwrap();
    assert_eq!(
        applied.yaml.expose_str().unwrap(),
        "values:\n  greeting: hi\n  password:\n    fn::secret: DRAFT-secret-4e1d\n"
    );

    // not a draft any more
    for error in [
        f.service
            .submit_draft(&writer, "acme", &created.id, None)
            .await
            .unwrap_err(),
        f.service
            .update_draft(&writer, &env(), &created.id, DRAFT, None)
            .await
            .unwrap_err(),
    ] {
        assert!(matches!(error, ServiceError::Invalid { .. }), "{error}");
    }
    assert!(matches!(
        f.service
            .submit_draft(&writer, "acme", "no-such-id", None)
            .await
            .unwrap_err(),
        ServiceError::NotFound { .. }
    ));

    let events = f.store.list_audit_events("acme", None, 100).await.unwrap();
    let actions: Vec<&str> = events
        .items
        .iter()
        .map(|e| e.event.action.as_str())
        .filter(|a| a.starts_with("environment.draft."))
        .collect();
    for action in [
        "environment.draft.create",
        "environment.draft.update",
        "environment.draft.open",
        "environment.draft.apply",
    ] {
        assert!(
            actions.contains(&action),
            "{action} missing from {actions:?}"
        );
    }
}

#[tokio::test]
async fn submitting_onto_a_newer_revision_conflicts_and_changes_nothing() {
    let f = fixture().await;
    let writer = caller("writer");
    f.service
        .create_environment(&caller("root"), &env())
        .await
        .unwrap();
    let draft = f
        .service
        .create_draft(&writer, &env(), "values:\n  from: draft\n", None)
        .await
        .unwrap();
    f.service
        .update(&writer, &env(), "values:\n  from: update\n", None)
        .await
        .unwrap();
    assert!(matches!(
        f.service
            .submit_draft(&writer, "acme", &draft.id, None)
            .await
            .unwrap_err(),
        ServiceError::Conflict { .. }
    ));
    let latest = f
        .service
        .definition(&writer, &env(), &Version::Latest, false)
        .await
        .unwrap();
    assert_eq!(latest.revision, 2);
    assert_eq!(
        latest.yaml.expose_str().unwrap(),
        "values:\n  from: update\n"
    );
    // a stale environment etag is refused when creating a draft
    let stale = format!("{}-1", latest.etag.strip_suffix("-2").unwrap());
    assert!(matches!(
        f.service
            .create_draft(&writer, &env(), "values: {}\n", Some(&stale))
            .await
            .unwrap_err(),
        ServiceError::Conflict { .. }
    ));
}
