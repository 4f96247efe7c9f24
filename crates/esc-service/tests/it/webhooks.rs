//! Webhook operations at the service: only environment admins manage hooks,
//! every write is audited without the URL or the secret, and a secret is
//! never handed back.

use std::sync::Arc;

use esc_service::{
    AccessPolicy, Caller, Membership, NewWebhook, ProviderRegistry, Role, Service, ServiceConfig,
    ServiceError, WebhookUpdate,
};
use esc_store::EnvRef;

const SECRET: &str = "hook-secret-0d9e";
const URL: &str = "https://hooks.example.com/t0ken-in-path";

fn caller(login: &str) -> Caller {
    Caller {
        login: login.into(),
        name: login.into(),
    }
}

#[tokio::test]
async fn admins_manage_hooks_and_the_audit_log_holds_no_url_or_secret() {
    let (_dir, store) = crate::sqlite_store().await;
    let service = Service::new(
        store.clone(),
        Arc::new(ProviderRegistry::new()),
        ServiceConfig {
            access: AccessPolicy {
                admins: vec!["root".into()],
                memberships: vec![Membership {
                    login: "writer".into(),
                    org: "acme".into(),
                    role: Role::Writer,
                }],
            },
            ..ServiceConfig::default()
        },
    );
    let env = EnvRef::new("acme", "app", "dev");
    let root = caller("root");
    service.create_environment(&root, &env).await.unwrap();
    let hook = NewWebhook {
        name: String::new(),
        display_name: "deploy".into(),
        payload_url: URL.into(),
        format: String::new(),
        filters: vec!["updated".into()],
        groups: Vec::new(),
        active: true,
        secret: SECRET.into(),
    };

    // a writer may edit the environment but not manage its hooks
    let refused = service
        .create_webhook(&caller("writer"), &env, &hook)
        .await
        .unwrap_err();
    assert!(
        matches!(refused, ServiceError::Forbidden { .. }),
        "{refused}"
    );
    assert!(matches!(
        service.webhooks(&caller("writer"), &env).await,
        Err(ServiceError::Forbidden { .. })
    ));

    let created = service.create_webhook(&root, &env, &hook).await.unwrap();
    assert_eq!(created.name, "hook-1");
    assert_eq!(created.format, "raw");
    assert!(created.has_secret);
    let second = service.create_webhook(&root, &env, &hook).await.unwrap();
    assert_eq!(second.name, "hook-2");
    assert_eq!(
        store
            .webhook_secret(&env, "hook-1")
            .await
            .unwrap()
            .unwrap()
            .expose(),
        SECRET.as_bytes()
    );

    let updated = service
        .update_webhook(
            &root,
            &env,
            "hook-1",
            &WebhookUpdate {
                active: false,
                display_name: "renamed".into(),
                payload_url: URL.into(),
                filters: None,
                groups: Some(vec!["environments".into()]),
                format: None,
                secret: Some("__remove-secret".into()),
            },
        )
        .await
        .unwrap();
    assert!(!updated.has_secret);
    assert!(!updated.active);
    assert!(updated.filters.is_empty());
    assert_eq!(updated.groups, ["environments"]);
    assert!(
        store
            .webhook_secret(&env, "hook-1")
            .await
            .unwrap()
            .is_none()
    );
    service.delete_webhook(&root, &env, "hook-2").await.unwrap();
    assert!(matches!(
        service.webhook(&root, &env, "hook-2").await,
        Err(ServiceError::NotFound { .. })
    ));

    let events = store.list_audit_events("acme", None, 100).await.unwrap();
    let mut actions: Vec<&str> = events
        .items
        .iter()
        .map(|e| e.event.action.as_str())
        .filter(|action| action.starts_with("webhook."))
        .collect();
    actions.sort_unstable();
    assert_eq!(
        actions,
        [
            "webhook.create",
            "webhook.create",
            "webhook.delete",
            "webhook.update"
        ]
    );
    for event in &events.items {
        let text = format!("{:?}", event.event);
        assert!(!text.contains(SECRET), "{text}");
        assert!(!text.contains("t0ken-in-path"), "{text}");
    }
    assert!(!format!("{hook:?}").contains(SECRET));
}

#[tokio::test]
async fn a_hook_named_with_the_largest_number_leaves_generated_names_refused_not_panicking() {
    let (_dir, store) = crate::sqlite_store().await;
    let service = Service::new(
        store.clone(),
        Arc::new(ProviderRegistry::new()),
        ServiceConfig {
            access: AccessPolicy {
                admins: vec!["root".into()],
                memberships: Vec::new(),
            },
            ..ServiceConfig::default()
        },
    );
    let env = EnvRef::new("acme", "app", "dev");
    let root = caller("root");
    service.create_environment(&root, &env).await.unwrap();
    let hook = |name: &str| NewWebhook {
        name: name.into(),
        display_name: "deploy".into(),
        payload_url: URL.into(),
        format: String::new(),
        filters: Vec::new(),
        groups: Vec::new(),
        active: true,
        secret: String::new(),
    };
    let largest = format!("hook-{}", u64::MAX);
    service
        .create_webhook(&root, &env, &hook(&largest))
        .await
        .unwrap();
    // `hook-<u64::MAX + 1>` does not exist: a clear refusal, nothing created
    let refused = service
        .create_webhook(&root, &env, &hook(""))
        .await
        .unwrap_err();
    assert!(matches!(refused, ServiceError::Invalid { .. }), "{refused}");
    assert!(
        refused.to_string().contains("give the webhook a name"),
        "{refused}"
    );
    let names: Vec<String> = service
        .webhooks(&root, &env)
        .await
        .unwrap()
        .into_iter()
        .map(|hook| hook.name)
        .collect();
    assert_eq!(names, [largest]);
}
