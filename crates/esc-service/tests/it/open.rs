//! Opening and reading sessions with the service's caches in play: a
//! revoked token is refused within the configured bound, sessions are
//! readable by another server on the same database, every open is audited,
//! and a deleted environment's sessions are gone.

use std::sync::Arc;
use std::time::{Duration, Instant};

use esc_service::{
    AccessPolicy, Caller, ProviderRegistry, Service, ServiceConfig, ServiceError, Version,
};
use esc_store::{EnvRef, MasterKey, SqlStore, Store};

const KEY: [u8; 32] = [7; 32];

async fn server(dir: &std::path::Path, config: ServiceConfig) -> (Service, Arc<dyn Store>) {
    let store: Arc<dyn Store> = Arc::new(
        SqlStore::open_sqlite(dir, MasterKey::from_bytes(&KEY).unwrap())
            .await
            .unwrap(),
    );
    let service = Service::new(
        store.clone(),
        Arc::new(ProviderRegistry::new()),
        ServiceConfig {
            access: AccessPolicy {
                admins: vec!["root".into()],
                memberships: Vec::new(),
            },
            ..config
        },
    );
    (service, store)
}

fn root() -> Caller {
    Caller {
        login: "root".into(),
        name: "root".into(),
    }
}

async fn environment(service: &Service) -> EnvRef {
    let env = EnvRef::new("acme", "app", "dev");
    service.create_environment(&root(), &env).await.unwrap();
    service
        .update(
            &root(),
            &env,
            "values:\n  password: {fn::secret: hunter2}\n  name: app\n",
            None,
        )
        .await
        .unwrap();
    env
}

#[tokio::test]
async fn a_deleted_token_is_refused_within_the_cache_bound() {
    let dir = tempfile::tempdir().unwrap();
    let ttl = Duration::from_millis(300);
    let (service, store) = server(
        dir.path(),
        ServiceConfig {
            token_cache_ttl: ttl,
            ..ServiceConfig::default()
        },
    )
    .await;
    let token = store
        .create_access_token("root", "t", None, "test-admin")
        .await
        .unwrap();
    let secret = token.secret.expose_str().unwrap().to_owned();
    assert_eq!(service.authenticate(&secret).await.unwrap(), root());
    // Revoked in the database (by this or any other server).
    store
        .delete_access_token("root", &token.token.id, "test-admin")
        .await
        .unwrap();
    let revoked = Instant::now();
    // Refused once the bound has passed, and never later than that.
    let refused_after = loop {
        match service.authenticate(&secret).await {
            Ok(_) => {
                assert!(revoked.elapsed() < ttl, "still accepted after {ttl:?}");
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            Err(ServiceError::Unauthenticated { .. }) => break revoked.elapsed(),
            Err(other) => panic!("unexpected {other:?}"),
        }
    };
    assert!(refused_after <= ttl + Duration::from_millis(100));
    // Without the cache, the next request already fails.
    let (uncached, store) = server(
        dir.path(),
        ServiceConfig {
            token_cache_ttl: Duration::ZERO,
            ..ServiceConfig::default()
        },
    )
    .await;
    let token = store
        .create_access_token("root", "t", None, "test-admin")
        .await
        .unwrap();
    let secret = token.secret.expose_str().unwrap().to_owned();
    uncached.authenticate(&secret).await.unwrap();
    store
        .delete_access_token("root", &token.token.id, "test-admin")
        .await
        .unwrap();
    assert!(matches!(
        uncached.authenticate(&secret).await,
        Err(ServiceError::Unauthenticated { .. })
    ));
}

#[tokio::test]
async fn an_expired_token_is_refused_even_when_cached() {
    let dir = tempfile::tempdir().unwrap();
    let (service, store) = server(dir.path(), ServiceConfig::default()).await;
    let token = store
        .create_access_token(
            "root",
            "t",
            Some(esc_store::Timestamp::now().plus_millis(1_000)),
            "test-admin",
        )
        .await
        .unwrap();
    let secret = token.secret.expose_str().unwrap().to_owned();
    service.authenticate(&secret).await.unwrap();
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    assert!(matches!(
        service.authenticate(&secret).await,
        Err(ServiceError::Unauthenticated { .. })
    ));
}

#[tokio::test]
async fn sessions_are_stored_for_other_servers_and_every_open_is_audited() {
    let dir = tempfile::tempdir().unwrap();
    let (first, store) = server(dir.path(), ServiceConfig::default()).await;
    let (second, _) = server(dir.path(), ServiceConfig::default()).await;
    let env = environment(&first).await;
    let audited_before = store
        .list_audit_events("acme", None, 1000)
        .await
        .unwrap()
        .items
        .len();
    let mut ids = Vec::new();
    for _ in 0..3 {
        ids.push(
            first
                .open(&root(), &env, &Version::Latest, None)
                .await
                .unwrap()
                .id,
        );
    }
    for id in &ids {
        // the server that opened it (from memory) and another (from the
        // database) read the same result
        let here = first.read_session(&root(), &env, id, None).await.unwrap();
        let there = second.read_session(&root(), &env, id, None).await.unwrap();
        assert_eq!(here, there);
        assert!(here.to_json().unwrap().contains(r#""value":"hunter2""#));
        let property = second
            .read_session(&root(), &env, id, Some("password"))
            .await
            .unwrap();
        let property = property.to_json().unwrap();
        assert!(property.contains(r#""value":"hunter2""#), "{property}");
        assert!(!property.contains(r#""name""#), "{property}");
    }
    let events = store.list_audit_events("acme", None, 1000).await.unwrap();
    let opens = events
        .items
        .iter()
        .filter(|event| event.event.action == "environment.open")
        .count();
    assert_eq!(opens, 3);
    assert_eq!(events.items.len(), audited_before + 3);
    // a session is bound to its environment, cached or not
    let other = EnvRef::new("acme", "app", "other");
    first.create_environment(&root(), &other).await.unwrap();
    for service in [&first, &second] {
        assert!(matches!(
            service.read_session(&root(), &other, &ids[0], None).await,
            Err(ServiceError::NotFound { .. })
        ));
    }
}

#[tokio::test]
async fn sessions_of_a_deleted_environment_are_gone() {
    let dir = tempfile::tempdir().unwrap();
    let (service, _) = server(dir.path(), ServiceConfig::default()).await;
    let env = environment(&service).await;
    let id = service
        .open(&root(), &env, &Version::Latest, None)
        .await
        .unwrap()
        .id;
    service
        .read_session(&root(), &env, &id, None)
        .await
        .unwrap();
    service.delete(&root(), &env).await.unwrap();
    assert!(matches!(
        service.read_session(&root(), &env, &id, None).await,
        Err(ServiceError::NotFound { .. })
    ));
}
