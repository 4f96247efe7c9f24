//! Who may do what, and what the audit log records.

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
    let service = Service::new(
        store.clone(),
        Arc::new(ProviderRegistry::new()),
        ServiceConfig {
            access: AccessPolicy {
                admins: vec!["root".into()],
                memberships: vec![
                    Membership {
                        login: "reader".into(),
                        org: "acme".into(),
                        role: Role::Reader,
                    },
                    Membership {
                        login: "writer".into(),
                        org: "acme".into(),
                        role: Role::Writer,
                    },
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

#[tokio::test]
async fn roles_limit_what_callers_can_do() {
    let f = fixture().await;
    let root = caller("root");
    f.service.create_environment(&root, &env()).await.unwrap();

    // a stranger can do nothing in acme
    let stranger = caller("stranger");
    for result in [
        f.service
            .definition(&stranger, &env(), &Version::Latest, false)
            .await
            .map(|_| ()),
        f.service
            .update(&stranger, &env(), "values: {}\n", None)
            .await
            .map(|_| ()),
        f.service
            .open(&stranger, &env(), &Version::Latest, None)
            .await
            .map(|_| ()),
    ] {
        assert!(
            matches!(result, Err(ServiceError::Forbidden { .. })),
            "{result:?}"
        );
    }
    // but owns its personal organization
    let personal = EnvRef::new("stranger", "p", "e");
    f.service
        .create_environment(&stranger, &personal)
        .await
        .unwrap();

    // a reader reads and opens but does not write
    let reader = caller("reader");
    f.service
        .definition(&reader, &env(), &Version::Latest, false)
        .await
        .unwrap();
    f.service
        .open(&reader, &env(), &Version::Latest, None)
        .await
        .unwrap();
    let refused = f
        .service
        .update(&reader, &env(), "values: {}\n", None)
        .await;
    assert!(matches!(refused, Err(ServiceError::Forbidden { .. })));

    // a writer writes but does not delete or change settings
    let writer = caller("writer");
    f.service
        .update(&writer, &env(), "values:\n  a: 1\n", None)
        .await
        .unwrap();
    let refused = f.service.delete(&writer, &env()).await;
    assert!(matches!(refused, Err(ServiceError::Forbidden { .. })));
    let refused = f
        .service
        .update_settings(
            &writer,
            &env(),
            &esc_store::SettingsUpdate {
                deletion_protected: Some(true),
            },
        )
        .await;
    assert!(matches!(refused, Err(ServiceError::Forbidden { .. })));

    // listing shows only what the caller may read
    let all = f
        .service
        .list_environments(&root, None, None, 100)
        .await
        .unwrap();
    assert_eq!(all.items.len(), 2);
    let mine = f
        .service
        .list_environments(&stranger, None, None, 100)
        .await
        .unwrap();
    assert_eq!(
        mine.items
            .iter()
            .map(|e| e.name.clone())
            .collect::<Vec<_>>(),
        [personal]
    );
}

/// A listing drops what the caller may not read without showing it: pages
/// hold only readable environments, and the continuation token, which
/// follows the last row read (perhaps a hidden one), names nothing.
#[tokio::test]
async fn listing_pages_and_their_tokens_show_only_what_the_caller_may_read() {
    let f = fixture().await;
    let root = caller("root");
    for i in 0..40 {
        let env = EnvRef::new("acme", "app", format!("hidden-{i:02}"));
        f.service.create_environment(&root, &env).await.unwrap();
    }
    let stranger = caller("stranger");
    let mut visible = Vec::new();
    for name in ["a", "b", "c"] {
        let env = EnvRef::new("stranger", "p", name);
        f.service.create_environment(&stranger, &env).await.unwrap();
        visible.push(env);
    }
    let mut seen = Vec::new();
    let mut token: Option<String> = None;
    let mut pages = 0;
    loop {
        pages += 1;
        assert!(pages < 50, "the listing does not end");
        let page = f
            .service
            .list_environments(&stranger, None, token.as_deref(), 2)
            .await
            .unwrap();
        assert!(page.items.len() <= 2);
        seen.extend(page.items.into_iter().map(|e| e.name));
        let Some(next) = page.next else { break };
        let bytes =
            base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, &next)
                .unwrap();
        assert!(
            !String::from_utf8_lossy(&bytes).contains("hidden"),
            "the token names a hidden environment"
        );
        token = Some(next);
    }
    assert_eq!(seen, visible);
    // hidden rows are skipped within a request (up to 16 store reads of a
    // page's room), not one client round trip per store page (20 here)
    assert!((2..=4).contains(&pages), "{pages} pages");
}

#[tokio::test]
async fn opens_writes_and_reveals_are_audited_without_secrets() {
    let f = fixture().await;
    let root = caller("root");
    f.service.create_environment(&root, &env()).await.unwrap();
    f.service
        .update(
            &root,
            &env(),
            "values:\n  pw: {fn::secret: audit-me-not}\n",
            None,
        )
        .await
        .unwrap();
    f.service
        .open(&root, &env(), &Version::Latest, None)
        .await
        .unwrap();
    let revealed = f
        .service
        .definition(&root, &env(), &Version::Latest, true)
        .await
        .unwrap();
    assert!(revealed.yaml.expose_str().unwrap().contains("audit-me-not"));
    let hidden = f
        .service
        .definition(&root, &env(), &Version::Latest, false)
        .await
        .unwrap();
    assert!(!hidden.yaml.expose_str().unwrap().contains("audit-me-not"));

    let events = f.store.list_audit_events("acme", None, 100).await.unwrap();
    let mut actions: Vec<&str> = events
        .items
        .iter()
        .map(|e| e.event.action.as_str())
        .collect();
    actions.sort_unstable();
    assert_eq!(
        actions,
        [
            "environment.create",
            "environment.open",
            "environment.reveal",
            "environment.update"
        ]
    );
    for event in &events.items {
        assert_eq!(event.event.actor, "root");
        assert_eq!(event.event.target, "app/dev");
        assert!(!event.event.detail.contains("audit-me-not"));
    }
}

#[tokio::test]
async fn update_validates_before_storing_and_honours_etags() {
    let f = fixture().await;
    let root = caller("root");
    f.service.create_environment(&root, &env()).await.unwrap();
    let first = f
        .service
        .definition(&root, &env(), &Version::Latest, false)
        .await
        .unwrap();
    let invalid = f
        .service
        .update(
            &root,
            &env(),
            "values:\n  a: ${missing}\n",
            Some(&first.etag),
        )
        .await;
    match invalid {
        Err(ServiceError::Diagnostics { diagnostics }) => {
            assert_eq!(diagnostics.len(), 1);
            assert_eq!(diagnostics[0].summary, "unknown property \"missing\"");
        }
        other => panic!("expected diagnostics, got {other:?}"),
    }
    let ok = f
        .service
        .update(&root, &env(), "values:\n  a: 1\n", Some(&first.etag))
        .await
        .unwrap();
    assert_eq!(ok.revision.number, 2);
    let stale = f
        .service
        .update(&root, &env(), "values:\n  a: 2\n", Some(&first.etag))
        .await;
    assert!(
        matches!(stale, Err(ServiceError::Conflict { .. })),
        "{stale:?}"
    );
    let rolled = f
        .service
        .rollback(&root, &env(), &Version::Number(1), None)
        .await
        .unwrap();
    assert_eq!(rolled.number, 3);
    let now = f
        .service
        .definition(&root, &env(), &Version::Latest, false)
        .await
        .unwrap();
    assert_eq!(now.yaml.expose_str().unwrap(), "");
    assert_eq!(now.revision, 3);
}
