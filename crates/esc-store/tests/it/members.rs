//! Shared suite cases for users, organization memberships, environment
//! grants and revoking tokens by id (schema version 3).

use esc_store::{
    EnvironmentGrant, GrantPermission, MemberRole, OrgMembership, SERVER_AUDIT_ORG, StoreError,
};

use crate::harness::Harness;

pub(crate) async fn users_memberships_and_grants(h: &Harness) {
    let store = h.dyn_store();
    let bob = store
        .create_user("bob", "Bob B", "test-admin")
        .await
        .unwrap();
    assert_eq!((bob.login.as_str(), bob.name.as_str()), ("bob", "Bob B"));
    assert!(matches!(
        store.create_user("bob", "again", "test-admin").await,
        Err(StoreError::AlreadyExists { .. })
    ));
    store
        .create_user("carol", "Carol", "test-admin")
        .await
        .unwrap();
    assert_eq!(store.user("bob").await.unwrap(), bob);
    assert!(matches!(
        store.user("nobody").await,
        Err(StoreError::NotFound { .. })
    ));
    let logins: Vec<String> = store
        .list_users()
        .await
        .unwrap()
        .into_iter()
        .map(|u| u.login)
        .collect();
    assert_eq!(logins, ["bob", "carol"]);

    // a membership creates its organization; setting again changes the role
    let reader = OrgMembership {
        org: "acme".into(),
        login: "bob".into(),
        role: MemberRole::Reader,
    };
    store.set_membership(&reader, "admin").await.unwrap();
    assert!(store.organization("acme").await.is_ok());
    store
        .set_membership(
            &OrgMembership {
                role: MemberRole::Writer,
                ..reader.clone()
            },
            "admin",
        )
        .await
        .unwrap();
    let listed = store.list_memberships(Some("acme")).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].role, MemberRole::Writer);
    // unknown users get nothing
    assert!(matches!(
        store
            .set_membership(
                &OrgMembership {
                    login: "ghost".into(),
                    ..reader.clone()
                },
                "admin"
            )
            .await,
        Err(StoreError::NotFound { .. })
    ));

    let project_grant = EnvironmentGrant {
        org: "acme".into(),
        project: "proj".into(),
        env: None,
        login: "carol".into(),
        permission: GrantPermission::Read,
    };
    let env_grant = EnvironmentGrant {
        env: Some("dev".into()),
        permission: GrantPermission::Write,
        ..project_grant.clone()
    };
    store.set_grant(&project_grant, "admin").await.unwrap();
    store.set_grant(&env_grant, "admin").await.unwrap();
    // re-granting replaces the permission, it does not add a row
    store
        .set_grant(
            &EnvironmentGrant {
                permission: GrantPermission::Open,
                ..env_grant.clone()
            },
            "admin",
        )
        .await
        .unwrap();
    let carol = store.user_access("carol").await.unwrap();
    assert!(carol.memberships.is_empty());
    assert_eq!(carol.grants.len(), 2);
    assert_eq!(carol.grants[0], project_grant);
    assert_eq!(carol.grants[1].env.as_deref(), Some("dev"));
    assert_eq!(carol.grants[1].permission, GrantPermission::Open);
    let bob_access = store.user_access("bob").await.unwrap();
    assert_eq!(bob_access.memberships.len(), 1);
    assert!(bob_access.grants.is_empty());
    assert_eq!(
        store.user_access("ghost").await.unwrap(),
        Default::default()
    );
    assert_eq!(store.list_grants(None).await.unwrap().len(), 2);

    // removals, and the audit trail of every change
    store
        .remove_grant("acme", "proj", Some("dev"), "carol", "admin")
        .await
        .unwrap();
    assert!(matches!(
        store
            .remove_grant("acme", "proj", Some("dev"), "carol", "admin")
            .await,
        Err(StoreError::NotFound { .. })
    ));
    store
        .remove_membership("acme", "bob", "admin")
        .await
        .unwrap();
    assert!(
        store
            .user_access("bob")
            .await
            .unwrap()
            .memberships
            .is_empty()
    );
    let events = store.list_audit_events("acme", None, 100).await.unwrap();
    let mut actions: Vec<&str> = events
        .items
        .iter()
        .map(|e| e.event.action.as_str())
        .collect();
    actions.sort_unstable();
    assert_eq!(
        actions,
        [
            "grant.remove",
            "grant.set",
            "grant.set",
            "grant.set",
            "member.remove",
            "member.set",
            "member.set"
        ]
    );
    assert!(events.items.iter().all(|e| e.event.actor == "admin"));

    // tokens: revoke by id whoever owns it; deleting a user removes its
    // tokens and grants
    let token = store
        .create_access_token("carol", "ci", None, "test-admin")
        .await
        .unwrap();
    let secret = token.secret.expose_str().unwrap().to_owned();
    let other = store
        .create_access_token("bob", "ci", None, "test-admin")
        .await
        .unwrap();
    assert_eq!(
        store
            .revoke_access_token(&other.token.id, "test-admin")
            .await
            .unwrap(),
        "bob"
    );
    assert!(matches!(
        store
            .revoke_access_token(&other.token.id, "test-admin")
            .await,
        Err(StoreError::NotFound { .. })
    ));
    assert!(store.authenticate_access_token(&secret).await.is_ok());
    store.delete_user("carol", "test-admin").await.unwrap();
    assert!(matches!(
        store.authenticate_access_token(&secret).await,
        Err(StoreError::NotFound { .. })
    ));
    assert!(store.user_access("carol").await.unwrap().grants.is_empty());
    assert!(matches!(
        store.delete_user("carol", "test-admin").await,
        Err(StoreError::NotFound { .. })
    ));

    // user and token changes are server-wide audit events, written in the
    // change's transaction (the refused ones left none); the token's id
    // is named, never its secret
    let events = store
        .list_audit_events(SERVER_AUDIT_ORG, None, 100)
        .await
        .unwrap();
    let mut seen: Vec<(&str, &str, &str, &str, &str)> = events
        .items
        .iter()
        .map(|e| {
            (
                e.event.org.as_str(),
                e.event.actor.as_str(),
                e.event.action.as_str(),
                e.event.target.as_str(),
                e.event.detail.as_str(),
            )
        })
        .collect();
    seen.sort_unstable();
    let mut expected = vec![
        (
            "",
            "test-admin",
            "token.create",
            token.token.id.as_str(),
            "owner carol",
        ),
        (
            "",
            "test-admin",
            "token.create",
            other.token.id.as_str(),
            "owner bob",
        ),
        (
            "",
            "test-admin",
            "token.revoke",
            other.token.id.as_str(),
            "owner bob",
        ),
        ("", "test-admin", "user.add", "bob", ""),
        ("", "test-admin", "user.add", "carol", ""),
        (
            "",
            "test-admin",
            "user.remove",
            "carol",
            "access tokens deleted: 1",
        ),
    ];
    expected.sort_unstable();
    assert_eq!(seen, expected);
    let other_secret = other.secret.expose_str().unwrap();
    for e in &events.items {
        let text = format!("{:?}", e.event);
        assert!(
            !text.contains(&secret) && !text.contains(other_secret),
            "{text}"
        );
    }
    // no organization's log lists them
    let acme = store.list_audit_events("acme", None, 100).await.unwrap();
    assert!(
        acme.items
            .iter()
            .all(|e| !e.event.action.starts_with("user.") && !e.event.action.starts_with("token."))
    );
}
