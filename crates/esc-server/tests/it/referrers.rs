//! `GET E/referrers` (#36) over real HTTP, on SQLite and PostgreSQL: the
//! environments whose newest definition imports one, by the version they
//! name, paged with continuation tokens, and only what the caller may read.

use std::sync::Arc;

use esc_server::HttpLimits;
use esc_store::{EnvironmentGrant, GrantPermission, MasterKey, SqlStore, Store};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::harness::{TestServer, create_env, fresh_database, patch_yaml, sqlite_store};

const BASE: &str = "/api/esc/environments/acme/shared/base";

fn env_path(project: &str, name: &str) -> String {
    format!("/api/esc/environments/acme/{project}/{name}")
}

async fn define(server: &TestServer, project: &str, name: &str, yaml: &str) {
    let reply = patch_yaml(server, &env_path(project, name), yaml, None).await;
    assert_eq!(
        reply.status,
        StatusCode::OK,
        "{project}/{name}: {}",
        reply.body
    );
}

fn referrer(project: &str, name: &str, revision: u64) -> Value {
    json!({"environment": {"project": project, "name": name, "revision": revision}})
}

/// The whole scenario against one server whose store is `store`.
async fn scenario(server: &TestServer, store: &Arc<dyn Store>) {
    // the referenced environment, at revision 2, tagged `stable`
    create_env(server, "shared", "base").await;
    define(server, "shared", "base", "values:\n  region: us-west-2\n").await;
    let tagged = server
        .call(
            Method::POST,
            &format!("{BASE}/versions/tags"),
            Some(r#"{"name":"stable","revision":2}"#),
        )
        .await;
    assert_eq!(tagged.status, StatusCode::NO_CONTENT, "{}", tagged.body);

    for name in [
        "dev",
        "merge",
        "pinned",
        "tagged",
        "both",
        "old",
        "unrelated",
    ] {
        create_env(server, "app", name).await;
    }
    define(server, "app", "dev", "imports:\n  - shared/base\n").await;
    define(
        server,
        "app",
        "merge",
        "imports:\n  - shared/base@latest: {merge: false}\n",
    )
    .await;
    define(server, "app", "pinned", "imports:\n  - shared/base@2\n").await;
    define(
        server,
        "app",
        "tagged",
        "imports: [\"shared/base@stable\"]\n",
    )
    .await;
    define(
        server,
        "app",
        "both",
        "# follows and pins\nimports:\n  - shared/base\n  - shared/base@2\n",
    )
    .await;
    // imported it once, no longer does: not a referrer
    define(server, "app", "old", "imports:\n  - shared/base\n").await;
    define(
        server,
        "app",
        "old",
        "values:\n  shared/base: mentioned only\n",
    )
    .await;
    define(server, "app", "unrelated", "values:\n  a: 1\n").await;
    // a legacy name is project `default`; another organization's import of
    // `shared/base` is its own environment
    let legacy = server
        .call(
            Method::GET,
            "/api/esc/environments/acme/default/base/referrers",
            None,
        )
        .await;
    legacy.error(StatusCode::NOT_FOUND);
    create_env(server, "default", "base").await;
    create_env(server, "default", "legacy").await;
    define(server, "default", "legacy", "imports:\n  - base\n").await;
    let created = server
        .call(
            Method::POST,
            "/api/esc/environments/beta",
            Some(r#"{"project":"shared","name":"base"}"#),
        )
        .await;
    assert_eq!(created.status, StatusCode::NO_CONTENT, "{}", created.body);
    let created = server
        .call(
            Method::POST,
            "/api/esc/environments/beta",
            Some(r#"{"project":"app","name":"dev"}"#),
        )
        .await;
    assert_eq!(created.status, StatusCode::NO_CONTENT, "{}", created.body);
    let other_org = patch_yaml(
        server,
        "/api/esc/environments/beta/app/dev",
        "imports:\n  - shared/base\n",
        None,
    )
    .await;
    assert_eq!(other_org.status, StatusCode::OK, "{}", other_org.body);

    // by default: who follows the newest revision
    let latest = server
        .call(Method::GET, &format!("{BASE}/referrers"), None)
        .await;
    assert_eq!(latest.status, StatusCode::OK, "{}", latest.body);
    assert_eq!(
        latest.json(),
        json!({
            "referrers": {"latest": [
                referrer("app", "both", 2),
                referrer("app", "dev", 2),
                referrer("app", "merge", 2),
            ]},
            "continuationToken": "",
        })
    );
    // every version, and `latestStackVersionOnly` has nothing to filter
    let all = server
        .call(
            Method::GET,
            &format!("{BASE}/referrers?allRevisions=true&latestStackVersionOnly=true"),
            None,
        )
        .await;
    let everything = json!({
        "referrers": {
            "2": [referrer("app", "both", 2), referrer("app", "pinned", 2)],
            "latest": [
                referrer("app", "both", 2),
                referrer("app", "dev", 2),
                referrer("app", "merge", 2),
            ],
            "stable": [referrer("app", "tagged", 2)],
        },
        "continuationToken": "",
    });
    assert_eq!(all.json(), everything);
    // the legacy environment `default/base` has its own referrer
    let legacy = server
        .call(
            Method::GET,
            "/api/esc/environments/acme/default/base/referrers",
            None,
        )
        .await;
    assert_eq!(
        legacy.json(),
        json!({"referrers": {"latest": [referrer("default", "legacy", 2)]}, "continuationToken": ""})
    );

    // one entry per page, merged: the same as one page
    let mut merged = serde_json::Map::new();
    let mut token = String::new();
    let mut pages = 0;
    loop {
        pages += 1;
        assert!(pages <= 10, "paging does not end");
        let page = server
            .call(
                Method::GET,
                &format!("{BASE}/referrers?allRevisions=true&count=1&continuationToken={token}"),
                None,
            )
            .await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        let page = page.json();
        let groups = page["referrers"].as_object().unwrap();
        assert_eq!(
            groups
                .values()
                .map(|g| g.as_array().unwrap().len())
                .sum::<usize>(),
            1
        );
        for (key, group) in groups {
            let list = merged.entry(key.clone()).or_insert_with(|| json!([]));
            list.as_array_mut()
                .unwrap()
                .extend(group.as_array().unwrap().iter().cloned());
        }
        token = page["continuationToken"].as_str().unwrap().to_owned();
        if token.is_empty() {
            break;
        }
        assert!(token.bytes().all(|b| b.is_ascii_hexdigit()), "{token}");
    }
    assert_eq!(pages, 6);
    assert_eq!(
        json!({"referrers": merged, "continuationToken": ""}),
        everything
    );

    // mistakes
    for query in [
        "count=0",
        "count=501",
        "count=x",
        "allRevisions=maybe",
        "continuationToken=zz",
    ] {
        let reply = server
            .call(Method::GET, &format!("{BASE}/referrers?{query}"), None)
            .await;
        reply.error(StatusCode::BAD_REQUEST);
    }
    let missing = server
        .call(
            Method::GET,
            "/api/esc/environments/acme/shared/nope/referrers",
            None,
        )
        .await;
    missing.error(StatusCode::NOT_FOUND);

    // bob reads `shared/base` and `app/dev` only: he sees that referrer alone
    store.create_user("bob", "Bob", "test-admin").await.unwrap();
    let bob = store
        .create_access_token("bob", "test", None, "test-admin")
        .await
        .unwrap();
    let bob = format!("token {}", bob.secret.expose_str().unwrap());
    let as_bob = |path: &str| {
        server
            .client
            .request(Method::GET, format!("{}{path}", server.url))
            .header("Authorization", bob.clone())
    };
    let denied = server.send(as_bob(&format!("{BASE}/referrers"))).await;
    assert!(
        denied
            .error(StatusCode::FORBIDDEN)
            .contains("'bob' lacks read permission")
    );
    for (project, env) in [("shared", "base"), ("app", "dev")] {
        store
            .set_grant(
                &EnvironmentGrant {
                    org: "acme".into(),
                    project: project.into(),
                    env: Some(env.into()),
                    login: "bob".into(),
                    permission: GrantPermission::Read,
                },
                "admin",
            )
            .await
            .unwrap();
    }
    // the service keeps a user's grants for up to 5 s
    let mut seen = None;
    for _ in 0..40 {
        let reply = server
            .send(as_bob(&format!("{BASE}/referrers?allRevisions=true")))
            .await;
        if reply.status == StatusCode::OK {
            seen = Some(reply.json());
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
    assert_eq!(
        seen.expect("bob's grant never took effect"),
        json!({"referrers": {"latest": [referrer("app", "dev", 2)]}, "continuationToken": ""})
    );
}

#[tokio::test]
async fn referrers_on_sqlite() {
    let (store, _dir) = sqlite_store().await;
    let server = TestServer::over(store.clone(), HttpLimits::default()).await;
    scenario(&server, &store).await;
    server.stop().await;
}

#[tokio::test]
async fn referrers_on_postgres() {
    let Some(url) = fresh_database().await else {
        return;
    };
    let store = SqlStore::connect_postgres(&url, MasterKey::generate().unwrap(), 4)
        .await
        .unwrap();
    let store: Arc<dyn Store> = Arc::new(store);
    let server = TestServer::over(store.clone(), HttpLimits::default()).await;
    scenario(&server, &store).await;
    server.stop().await;
}

/// More environments than one store read holds (the scan reads them a page
/// at a time): every referrer is found, and the asked-about environment,
/// sorting last, is found to exist.
#[tokio::test]
async fn referrers_span_several_scan_pages() {
    let (store, _dir) = sqlite_store().await;
    let server = TestServer::over(store.clone(), HttpLimits::default()).await;
    create_env(&server, "zz", "target").await;
    let mut expected = Vec::new();
    for index in 0..70 {
        let name = format!("m{index:02}");
        create_env(&server, "many", &name).await;
        define(&server, "many", &name, "imports:\n  - zz/target\n").await;
        expected.push(referrer("many", &name, 2));
    }
    let reply = server
        .call(
            Method::GET,
            "/api/esc/environments/acme/zz/target/referrers?count=500",
            None,
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(
        reply.json(),
        json!({"referrers": {"latest": expected}, "continuationToken": ""})
    );
    server.stop().await;
}
