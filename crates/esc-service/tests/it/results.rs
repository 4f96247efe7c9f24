//! Opens answered from the service's remembered evaluations: a changed
//! import (new revision, moved tag, re-created environment, deeper import)
//! is seen by the very next open, the caller is part of what is
//! remembered, lost access to the imports is enforced, and environments
//! that call providers are evaluated afresh every time.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use esc_eval::{CallError, PlainValue, Provider, ProviderContext, ProviderSchema, Schema};
use esc_service::{
    AccessPolicy, Caller, Membership, ProviderRegistry, Role, Service, ServiceConfig, ServiceError,
    Version,
};
use esc_store::{EnvRef, MemberRole, OrgMembership, Store};

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

async fn fixture(providers: ProviderRegistry, token_cache_ttl: Duration) -> Fixture {
    let (dir, store) = crate::sqlite_store().await;
    let service = Service::new(
        store.clone(),
        Arc::new(providers),
        ServiceConfig {
            access: AccessPolicy {
                admins: vec!["root".into()],
                memberships: vec![Membership {
                    login: "reader".into(),
                    org: "acme".into(),
                    role: Role::Reader,
                }],
            },
            token_cache_ttl,
            ..ServiceConfig::default()
        },
    );
    Fixture {
        service,
        store,
        _dir: dir,
    }
}

impl Fixture {
    async fn put(&self, name: &str, yaml: &str) -> EnvRef {
        let env = EnvRef::new("acme", "app", name);
        match self.service.create_environment(&caller("root"), &env).await {
            Ok(_) | Err(ServiceError::AlreadyExists { .. }) => {}
            Err(error) => panic!("{error}"),
        }
        self.service
            .update(&caller("root"), &env, yaml, None)
            .await
            .unwrap();
        env
    }

    /// Opens `env` as `who` and reads the whole result back as JSON text.
    async fn open_json(&self, who: &Caller, env: &EnvRef) -> Result<String, ServiceError> {
        let opened = self.service.open(who, env, &Version::Latest, None).await?;
        self.service
            .read_session_json(who, env, &opened.id, None)
            .await
    }
}

fn has(json: &str, value: &str) -> bool {
    json.contains(&format!(r#""value":"{value}""#))
}

#[tokio::test]
async fn a_changed_import_is_seen_by_the_next_open() {
    let f = fixture(ProviderRegistry::new(), Duration::from_secs(5)).await;
    f.put("deep", "values:\n  d: deep-1\n").await;
    let base = f
        .put(
            "base",
            "imports: [app/deep]\nvalues:\n  a: base-1\n  s: {fn::secret: base-secret}\n",
        )
        .await;
    f.put("tagged", "values:\n  t: tagged-1\n").await;
    let tagged = EnvRef::new("acme", "app", "tagged");
    f.service
        .create_revision_tag(&caller("root"), &tagged, "stable", Some(2))
        .await
        .unwrap();
    let app = f
        .put(
            "app",
            "imports: [app/base, app/tagged@stable]\nvalues:\n  b: ${a}-${d}-${t}\n",
        )
        .await;
    let root = caller("root");
    let first = f.open_json(&root, &app).await.unwrap();
    assert!(has(&first, "base-1-deep-1-tagged-1"), "{first}");
    assert!(has(&first, "base-secret"), "{first}");
    // remembered: the same answer again
    assert_eq!(f.open_json(&root, &app).await.unwrap(), first);

    // a new revision of a direct import
    f.put("base", "imports: [app/deep]\nvalues:\n  a: base-2\n")
        .await;
    let json = f.open_json(&root, &app).await.unwrap();
    assert!(has(&json, "base-2-deep-1-tagged-1"), "{json}");
    assert!(!has(&json, "base-secret"), "{json}");

    // a new revision of an import of an import
    f.put("deep", "values:\n  d: deep-2\n").await;
    let json = f.open_json(&root, &app).await.unwrap();
    assert!(has(&json, "base-2-deep-2-tagged-1"), "{json}");

    // a tag moved onto another revision
    f.put("tagged", "values:\n  t: tagged-2\n").await;
    let json = f.open_json(&root, &app).await.unwrap();
    assert!(has(&json, "base-2-deep-2-tagged-1"), "{json}");
    f.service
        .update_revision_tag(&root, &tagged, "stable", 3)
        .await
        .unwrap();
    let json = f.open_json(&root, &app).await.unwrap();
    assert!(has(&json, "base-2-deep-2-tagged-2"), "{json}");

    // an import deleted and re-created with as many revisions: same
    // numbers, another environment
    f.service.delete(&root, &base).await.unwrap();
    assert!(f.open_json(&root, &app).await.is_err());
    f.put("base", "values:\n  a: reborn\n  d: own\n").await;
    let json = f.open_json(&root, &app).await.unwrap();
    assert!(has(&json, "reborn-own-tagged-2"), "{json}");

    // a new revision of the opened environment itself
    f.put("app", "imports: [app/base]\nvalues:\n  b: again-${a}\n")
        .await;
    let json = f.open_json(&root, &app).await.unwrap();
    assert!(has(&json, "again-reborn"), "{json}");
}

#[tokio::test]
async fn every_remembered_open_is_still_stored_and_audited() {
    let f = fixture(ProviderRegistry::new(), Duration::from_secs(5)).await;
    f.put("base", "values:\n  a: one\n").await;
    let app = f
        .put("app", "imports: [app/base]\nvalues:\n  b: ${a}\n")
        .await;
    let root = caller("root");
    let mut ids = Vec::new();
    for _ in 0..4 {
        ids.push(
            f.service
                .open(&root, &app, &Version::Latest, None)
                .await
                .unwrap()
                .id,
        );
    }
    for id in &ids {
        // straight from the database, as another server would read it
        let stored = f.store.session(&app, id).await.unwrap();
        assert!(stored.expose_str().unwrap().contains(r#""value":"one""#));
    }
    let opens = f
        .store
        .list_audit_events("acme", None, 1000)
        .await
        .unwrap()
        .items
        .into_iter()
        .filter(|event| event.event.action == "environment.open")
        .count();
    assert_eq!(opens, 4);
}

/// Sessions of a remembered result point to one stored copy of it: each
/// still reads back from the database (another server's view) with its
/// own caller's and revision's values, including after the stored copy
/// was purged (stored again) and for a session outliving the others.
#[tokio::test]
async fn sessions_of_a_remembered_result_share_its_stored_copy() {
    let f = fixture(ProviderRegistry::new(), Duration::from_secs(5)).await;
    f.put(
        "base",
        "values:\n  a: one\n  s: {fn::secret: base-secret}\n",
    )
    .await;
    let app = f
        .put(
            "app",
            "imports: [app/base]\nvalues:\n  b: ${context.pulumi.user.login}-${a}\n",
        )
        .await;
    let open = |who: &'static str, duration: Option<Duration>| {
        let service = f.service.clone();
        let app = app.clone();
        async move {
            service
                .open(&caller(who), &app, &Version::Latest, duration)
                .await
                .unwrap()
                .id
        }
    };
    let stored = |id: String| {
        let store = f.store.clone();
        let app = app.clone();
        async move {
            store
                .session(&app, &id)
                .await
                .unwrap()
                .expose_str()
                .unwrap()
                .to_owned()
        }
    };
    let mut sessions = Vec::new();
    for who in ["root", "root", "reader", "root", "reader"] {
        sessions.push((who, open(who, None).await));
    }
    for (who, id) in sessions {
        let json = stored(id).await;
        assert!(has(&json, &format!("{who}-one")), "{json}");
        assert!(has(&json, "base-secret"), "{json}");
    }
    // a new revision of the import: the next session stores the new result
    f.put("base", "values:\n  a: two\n").await;
    let json = stored(open("root", None).await).await;
    assert!(has(&json, "root-two"), "{json}");
    assert!(!has(&json, "base-secret"), "{json}");

    // a week-long session, then the default ones' results expire and are
    // purged: the long one still reads, and the next open stores it again
    let long = open("root", Some(Duration::from_secs(7 * 24 * 3600))).await;
    let short = open("root", None).await;
    let purged = f
        .store
        .purge_expired_sessions(esc_store::Timestamp::now().plus_millis(2 * 3600 * 1000))
        .await
        .unwrap();
    assert_eq!(purged, 7);
    assert!(f.store.session(&app, &short).await.is_err());
    assert!(has(&stored(long).await, "root-two"));
    let purged = f
        .store
        .purge_expired_sessions(esc_store::Timestamp::now().plus_millis(8 * 24 * 3600 * 1000))
        .await
        .unwrap();
    assert_eq!(purged, 1);
    for _ in 0..2 {
        let json = stored(open("root", None).await).await;
        assert!(has(&json, "root-two"), "{json}");
    }
}

#[tokio::test]
async fn the_caller_is_part_of_what_is_remembered() {
    let f = fixture(ProviderRegistry::new(), Duration::from_secs(5)).await;
    f.put("base", "values:\n  a: shared\n").await;
    let app = f
        .put(
            "app",
            "imports: [app/base]\nvalues:\n  who: ${context.pulumi.user.login}-${a}\n",
        )
        .await;
    for _ in 0..2 {
        for login in ["root", "reader", "root"] {
            let json = f.open_json(&caller(login), &app).await.unwrap();
            assert!(has(&json, &format!("{login}-shared")), "{json}");
        }
    }
}

#[tokio::test]
async fn a_caller_who_lost_read_on_the_imports_is_refused_despite_a_remembered_result() {
    let ttl = Duration::from_millis(200);
    let f = fixture(ProviderRegistry::new(), ttl).await;
    f.put("base", "values:\n  a: one\n").await;
    let app = f
        .put("app", "imports: [app/base]\nvalues:\n  b: ${a}\n")
        .await;
    f.store
        .create_user("carol", "Carol", "test-admin")
        .await
        .unwrap();
    f.store
        .set_membership(
            &OrgMembership {
                org: "acme".into(),
                login: "carol".into(),
                role: MemberRole::Reader,
            },
            "root",
        )
        .await
        .unwrap();
    let token = f
        .store
        .create_access_token("carol", "test", None, "test-admin")
        .await
        .unwrap();
    let token = token.secret.expose_str().unwrap().to_owned();
    let carol = f.service.authenticate(&token).await.unwrap();
    assert!(has(&f.open_json(&carol, &app).await.unwrap(), "one"));
    assert!(has(&f.open_json(&carol, &app).await.unwrap(), "one"));
    // An environment grant keeps open on `app` itself, but imports need a
    // membership: once that is gone (and the access cache's bound passed),
    // the remembered result must not be handed out.
    f.store
        .set_grant(
            &esc_store::EnvironmentGrant {
                org: "acme".into(),
                project: "app".into(),
                env: Some("app".into()),
                login: "carol".into(),
                permission: esc_store::GrantPermission::Open,
            },
            "root",
        )
        .await
        .unwrap();
    f.store
        .remove_membership("acme", "carol", "root")
        .await
        .unwrap();
    tokio::time::sleep(ttl + Duration::from_millis(100)).await;
    let carol = f.service.authenticate(&token).await.unwrap();
    let refused = f.open_json(&carol, &app).await;
    assert!(refused.is_err(), "{refused:?}");
}

/// A provider answering a new number on every call.
struct Counter(AtomicU64);

#[async_trait]
impl Provider for Counter {
    fn schema(&self) -> ProviderSchema {
        ProviderSchema {
            inputs: Schema::always(),
            outputs: Schema::always(),
        }
    }

    async fn open(
        &self,
        _inputs: &PlainValue,
        _ctx: &ProviderContext,
    ) -> Result<PlainValue, CallError> {
        let next = self.0.fetch_add(1, Ordering::SeqCst) + 1;
        Ok(PlainValue::string(format!("call-{next}")))
    }
}

#[tokio::test]
async fn environments_calling_providers_are_evaluated_every_time() {
    let providers = ProviderRegistry::new();
    providers.register_provider("counter", Arc::new(Counter(AtomicU64::new(0))));
    let f = fixture(providers, Duration::from_secs(5)).await;
    // the provider sits in an import: the opened environment looks plain
    f.put("base", "values:\n  n:\n    fn::open::counter: {}\n")
        .await;
    let app = f
        .put("app", "imports: [app/base]\nvalues:\n  b: ${n}\n")
        .await;
    let root = caller("root");
    for expected in ["call-1", "call-2", "call-3"] {
        let json = f.open_json(&root, &app).await.unwrap();
        assert!(has(&json, expected), "{json}");
    }
}
