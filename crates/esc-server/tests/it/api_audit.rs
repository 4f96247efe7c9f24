//! The API audited endpoint by endpoint against spec/API.md over real HTTP:
//! every JSON body is checked before anything changes, optional fields may
//! be `null`, trailing slashes route like their path, the `Authorization`
//! scheme is case-insensitive, definition reads carry their headers
//! whatever `Accept` says, and clone refuses a revision it cannot clone.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::harness::{E, TestServer, create_env, patch_yaml, sqlite_server};

/// Everything a refused request must leave as it was.
async fn snapshot(server: &TestServer) -> Vec<String> {
    let mut seen = Vec::new();
    for path in [
        "/api/esc/environments/acme".to_owned(),
        E.to_owned(),
        format!("{E}/versions"),
        format!("{E}/versions/tags"),
        format!("{E}/tags"),
        format!("{E}/settings"),
    ] {
        let reply = server.call(Method::GET, &path, None).await;
        assert_eq!(reply.status, StatusCode::OK, "{path}: {}", reply.body);
        seen.push(format!("{path}: {}", reply.body));
    }
    seen
}

#[tokio::test]
async fn malformed_json_bodies_get_400_and_change_nothing() {
    let (server, _dir) = sqlite_server().await;
    create_env(&server, "app", "dev").await;
    assert_eq!(
        patch_yaml(&server, E, "values:\n  a: 1\n", None)
            .await
            .status,
        StatusCode::OK
    );
    let tag = server
        .call(
            Method::POST,
            &format!("{E}/versions/tags"),
            Some(r#"{"name":"stable","revision":1}"#),
        )
        .await;
    assert_eq!(tag.status, StatusCode::NO_CONTENT, "{}", tag.body);
    let env_tag = server
        .call(
            Method::POST,
            &format!("{E}/tags"),
            Some(r#"{"name":"owner","value":"team-a"}"#),
        )
        .await;
    assert_eq!(env_tag.status, StatusCode::OK, "{}", env_tag.body);
    let before = snapshot(&server).await;

    // (method, path, body, what the message must name)
    let cases: Vec<(Method, String, &str, &str)> = vec![
        // 5. create
        (
            Method::POST,
            "/api/esc/environments/acme".into(),
            "{nope",
            "invalid JSON body",
        ),
        (
            Method::POST,
            "/api/esc/environments/acme".into(),
            r#"{"project":"app","name":5}"#,
            "field 'name': invalid type: integer `5`, expected a string",
        ),
        (
            Method::POST,
            "/api/esc/environments/acme".into(),
            r#"{"project":"app"}"#,
            "missing field `name`",
        ),
        (
            Method::POST,
            "/api/esc/environments/acme".into(),
            "[]",
            "invalid JSON body: expected an object",
        ),
        // 13. clone
        (
            Method::POST,
            format!("{E}/clone"),
            r#"{"name":"copy","preserveHistory":"yes"}"#,
            "expected a boolean",
        ),
        (
            Method::POST,
            format!("{E}/clone"),
            r#"{"project":"app2"}"#,
            "missing field `name`",
        ),
        // 22. retract
        (
            Method::POST,
            format!("{E}/versions/1/retract"),
            r#"{"replacement":"one"}"#,
            "invalid type",
        ),
        // 24. create revision tag
        (
            Method::POST,
            format!("{E}/versions/tags"),
            r#"{"name":"v","revision":"1"}"#,
            "invalid type",
        ),
        (
            Method::POST,
            format!("{E}/versions/tags"),
            r#"{"revision":1}"#,
            "missing field `name`",
        ),
        // 26. move a revision tag
        (
            Method::PATCH,
            format!("{E}/versions/tags/stable"),
            "{}",
            "missing field `revision`",
        ),
        (
            Method::PATCH,
            format!("{E}/versions/tags/stable"),
            r#"{"revision":-2}"#,
            "field 'revision': invalid value: integer `-2`, expected a non-negative integer",
        ),
        // 29. create environment tag
        (
            Method::POST,
            format!("{E}/tags"),
            r#"{"name":"k"}"#,
            "missing field `value`",
        ),
        (
            Method::POST,
            format!("{E}/tags"),
            r#"{"name":"k","value":7}"#,
            "invalid type",
        ),
        // 31. update environment tag
        (
            Method::PATCH,
            format!("{E}/tags/owner"),
            r#"{"currentTag":"team-a"}"#,
            "field 'currentTag': invalid type: string \"team-a\", expected an object",
        ),
        (
            Method::PATCH,
            format!("{E}/tags/owner"),
            r#"{"newTag":{"name":"x""#,
            "invalid JSON body",
        ),
        // 35. settings
        (
            Method::PATCH,
            format!("{E}/settings"),
            r#"{"deletionProtected":"yes"}"#,
            "expected a boolean",
        ),
        (
            Method::PATCH,
            format!("{E}/settings"),
            "true",
            "invalid JSON body: expected an object",
        ),
    ];
    for (method, path, body, expected) in cases {
        let reply = server.call(method.clone(), &path, Some(body)).await;
        let message = reply.error(StatusCode::BAD_REQUEST);
        assert!(
            message.starts_with("Bad Request: invalid JSON body") && message.contains(expected),
            "{method} {path} with {body}: {message}"
        );
    }
    // a wrong query parameter is as clear
    for (path, parameter) in [
        (format!("{E}/versions?before=x"), "before"),
        (format!("{E}/versions?count=many"), "count"),
        (format!("{E}/versions/tags?count=-1"), "count"),
        (format!("{E}/tags?count=1.5"), "count"),
    ] {
        let message = server
            .call(Method::GET, &path, None)
            .await
            .error(StatusCode::BAD_REQUEST);
        assert!(
            message.contains(&format!(
                "'{parameter}' must be a non-negative whole number"
            )),
            "{path}: {message}"
        );
    }
    let message = server
        .call(
            Method::POST,
            "/api/esc/environments/acme/yaml/check?showSecrets=yes",
            Some("values: {}"),
        )
        .await
        .error(StatusCode::BAD_REQUEST);
    assert!(message.contains("'showSecrets'"), "{message}");

    assert_eq!(snapshot(&server).await, before);
    server.stop().await;
}

#[tokio::test]
async fn null_optional_fields_read_as_absent() {
    let (server, _dir) = sqlite_server().await;
    create_env(&server, "app", "dev").await;
    assert_eq!(
        patch_yaml(&server, E, "values:\n  a: 1\n", None)
            .await
            .status,
        StatusCode::OK
    );

    let created = server
        .call(
            Method::POST,
            "/api/esc/environments/acme",
            Some(r#"{"project":null,"name":"legacy"}"#),
        )
        .await;
    assert_eq!(created.status, StatusCode::NO_CONTENT, "{}", created.body);
    let legacy = server
        .call(
            Method::GET,
            "/api/esc/environments/acme/default/legacy",
            None,
        )
        .await;
    assert_eq!(legacy.status, StatusCode::OK, "{}", legacy.body);

    let cloned = server
        .call(
            Method::POST,
            &format!("{E}/clone"),
            Some(
                r#"{"project":null,"name":"copy","version":null,"preserveHistory":null,
                    "preserveAccess":null,"preserveEnvironmentTags":null,"preserveRevisionTags":null}"#,
            ),
        )
        .await;
    assert_eq!(cloned.status, StatusCode::NO_CONTENT, "{}", cloned.body);
    // no history: one revision holding the newest definition
    let copy = "/api/esc/environments/acme/app/copy";
    let revisions = server
        .call(Method::GET, &format!("{copy}/versions"), None)
        .await
        .json();
    assert_eq!(revisions.as_array().unwrap().len(), 1, "{revisions}");
    assert_eq!(
        server.call(Method::GET, copy, None).await.body,
        "values:\n  a: 1\n"
    );

    let tagged = server
        .call(
            Method::POST,
            &format!("{E}/versions/tags"),
            Some(r#"{"name":"stable","revision":null}"#),
        )
        .await;
    assert_eq!(tagged.status, StatusCode::NO_CONTENT, "{}", tagged.body);
    let stable = server
        .call(Method::GET, &format!("{E}/versions/tags/stable"), None)
        .await
        .json();
    assert_eq!(stable["revision"], 2, "null revision = latest: {stable}");

    assert_eq!(
        patch_yaml(&server, E, "values:\n  a: 3\n", None)
            .await
            .status,
        StatusCode::OK
    );
    let retracted = server
        .call(
            Method::POST,
            &format!("{E}/versions/2/retract"),
            Some(r#"{"replacement":null,"reason":null}"#),
        )
        .await;
    assert_eq!(
        retracted.status,
        StatusCode::NO_CONTENT,
        "{}",
        retracted.body
    );
    let revisions = server
        .call(Method::GET, &format!("{E}/versions"), None)
        .await
        .json();
    assert_eq!(revisions[1]["number"], 2, "{revisions}");
    assert_eq!(revisions[1]["retracted"]["replacement"], 1, "{revisions}");
    assert_eq!(revisions[1]["retracted"]["reason"], "", "{revisions}");

    let env_tag = server
        .call(
            Method::POST,
            &format!("{E}/tags"),
            Some(r#"{"name":"owner","value":"team-a"}"#),
        )
        .await;
    assert_eq!(env_tag.status, StatusCode::OK, "{}", env_tag.body);
    let renamed = server
        .call(
            Method::PATCH,
            &format!("{E}/tags/owner"),
            Some(r#"{"currentTag":null,"newTag":{"name":"team","value":null}}"#),
        )
        .await;
    assert_eq!(renamed.status, StatusCode::OK, "{}", renamed.body);
    let renamed = renamed.json();
    assert_eq!(renamed["name"], "team");
    assert_eq!(renamed["value"], "team-a", "null value = keep: {renamed}");

    let settings = server
        .call(
            Method::PATCH,
            &format!("{E}/settings"),
            Some(r#"{"deletionProtected":null}"#),
        )
        .await;
    assert_eq!(settings.status, StatusCode::NO_CONTENT, "{}", settings.body);
    assert_eq!(
        server
            .call(Method::GET, &format!("{E}/settings"), None)
            .await
            .json(),
        json!({"deletionProtected": false})
    );
    server.stop().await;
}

#[tokio::test]
async fn trailing_slashes_route_like_the_path_without() {
    let (server, _dir) = sqlite_server().await;
    let created = server
        .call(
            Method::POST,
            "/api/esc/environments/acme/",
            Some(r#"{"project":"app","name":"dev"}"#),
        )
        .await;
    assert_eq!(created.status, StatusCode::NO_CONTENT, "{}", created.body);

    let definition = server.call(Method::GET, &format!("{E}/"), None).await;
    assert_eq!(definition.status, StatusCode::OK, "{}", definition.body);
    assert_eq!(definition.header("Pulumi-ESC-Revision"), "1");
    let updated = patch_yaml(&server, &format!("{E}/"), "values:\n  a: 1\n", None).await;
    assert_eq!(updated.status, StatusCode::OK, "{}", updated.body);
    assert_eq!(updated.header("Pulumi-ESC-Revision"), "2");

    // the query string survives the trim
    let page = server
        .call(Method::GET, &format!("{E}/versions/?count=1"), None)
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert_eq!(page.json(), json!([page.json()[0].clone()]));
    assert_eq!(page.json()[0]["number"], 2);

    let tagged = server
        .call(
            Method::POST,
            &format!("{E}/tags/"),
            Some(r#"{"name":"owner","value":"me"}"#),
        )
        .await;
    assert_eq!(tagged.status, StatusCode::OK, "{}", tagged.body);
    let got = server
        .call(Method::GET, &format!("{E}/tags/owner/"), None)
        .await;
    assert_eq!(got.json()["value"], "me", "{}", got.body);
    let listed = server
        .call(Method::GET, "/api/esc/environments/", None)
        .await;
    assert_eq!(
        listed.json()["environments"][0]["name"],
        "dev",
        "{}",
        listed.body
    );

    // a path that is not one stays unknown, slash or not
    server
        .call(Method::GET, "/api/esc/nothing/", None)
        .await
        .error(StatusCode::NOT_FOUND);
    server
        .call(Method::GET, "/", None)
        .await
        .error(StatusCode::NOT_FOUND);
    server.stop().await;
}

#[tokio::test]
async fn authorization_schemes_are_case_insensitive_and_errors_say_things_once() {
    let (store, _dir) = crate::harness::sqlite_store().await;
    let server = TestServer::over(store.clone(), esc_server::HttpLimits::default()).await;
    create_env(&server, "app", "dev").await;
    let user = |authorization: String| {
        server
            .client
            .get(format!("{}/api/user", server.url))
            .header("Authorization", authorization)
    };
    for authorization in [
        format!("token {}", server.token),
        format!("Token {}", server.token),
        format!("TOKEN {}", server.token),
        format!("Bearer {}", server.token),
        format!("bearer {}", server.token),
        format!("token   {}  ", server.token),
    ] {
        let reply = server.send(user(authorization.clone())).await;
        assert_eq!(
            reply.status,
            StatusCode::OK,
            "{authorization:?}: {}",
            reply.body
        );
        assert_eq!(reply.json()["githubLogin"], crate::harness::ADMIN);
    }
    for authorization in [
        format!("Basic {}", server.token),
        format!("token{}", server.token),
        "token".to_owned(),
        "token   ".to_owned(),
        server.token.clone(),
    ] {
        let reply = server.send(user(authorization.clone())).await;
        assert_eq!(
            reply.error(StatusCode::UNAUTHORIZED),
            "Unauthorized: the Authorization header must be 'token <access token>'",
            "{authorization:?}"
        );
    }
    let bad = server
        .send(user("token esc_not-a-real-token".to_owned()))
        .await;
    assert_eq!(
        bad.error(StatusCode::UNAUTHORIZED),
        "Unauthorized: invalid access token"
    );

    let bob = store
        .create_access_token("bob", "test", None, "test-admin")
        .await
        .unwrap();
    let denied = server
        .send(server.client.get(format!("{}{E}", server.url)).header(
            "Authorization",
            format!("token {}", bob.secret.expose_str().unwrap()),
        ))
        .await;
    let message = denied.error(StatusCode::FORBIDDEN);
    assert!(
        message.starts_with("Forbidden: ")
            && !message.to_lowercase()["Forbidden: ".len()..].starts_with("forbidden"),
        "{message}"
    );
    server.stop().await;
}

#[tokio::test]
async fn definition_reads_carry_revision_headers_whatever_accept_says() {
    let (server, _dir) = sqlite_server().await;
    create_env(&server, "app", "dev").await;
    let definition = "values:\n  s:\n    fn::secret: hunter2\n";
    assert_eq!(
        patch_yaml(&server, E, definition, None).await.status,
        StatusCode::OK
    );
    let tagged = server
        .call(
            Method::POST,
            &format!("{E}/versions/tags"),
            Some(r#"{"name":"first","revision":1}"#),
        )
        .await;
    assert_eq!(tagged.status, StatusCode::NO_CONTENT, "{}", tagged.body);

    // (path, revision, shows the plaintext)
    let reads = [
        (E.to_owned(), "2", false),
        (format!("{E}/versions/2"), "2", false),
        (format!("{E}/versions/latest"), "2", false),
        (format!("{E}/versions/first"), "1", false),
        (format!("{E}/decrypt"), "2", true),
        (format!("{E}/versions/2/decrypt"), "2", true),
        (format!("{E}/versions/latest/decrypt"), "2", true),
        (format!("{E}/versions/first/decrypt"), "1", true),
    ];
    let mut etags = Vec::new();
    for (path, revision, plaintext) in reads {
        for accept in ["application/json", "application/vnd.pulumi+8", "*/*"] {
            let reply = server
                .send(server.request(Method::GET, &path).header("Accept", accept))
                .await;
            assert_eq!(reply.status, StatusCode::OK, "{path}: {}", reply.body);
            assert_eq!(reply.header("Pulumi-ESC-Revision"), revision, "{path}");
            assert!(reply.header("Content-Type").contains("yaml"), "{path}");
            assert!(!reply.header("ETag").is_empty(), "{path}");
            if revision == "2" {
                assert_eq!(
                    reply.body.contains("hunter2"),
                    plaintext,
                    "{path}: {}",
                    reply.body
                );
                assert_eq!(reply.body.contains("ciphertext"), !plaintext, "{path}");
            } else {
                assert_eq!(reply.body, "", "{path}");
            }
            etags.push((revision, reply.header("ETag").to_owned()));
        }
    }
    // one etag per revision
    for (revision, etag) in &etags {
        for (other_revision, other) in &etags {
            assert_eq!(revision == other_revision, etag == other, "{etags:?}");
        }
    }

    // 7. HEAD: the headers, no body; 404 for an unknown environment
    let head = server.send(server.request(Method::HEAD, E)).await;
    assert_eq!(head.status, StatusCode::OK);
    assert_eq!(head.header("Pulumi-ESC-Revision"), "2");
    let newest_etag = &etags[0].1;
    assert_eq!(head.header("ETag"), newest_etag);
    assert_eq!(head.body, "");
    let missing = server
        .send(server.request(Method::HEAD, "/api/esc/environments/acme/app/nope"))
        .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert_eq!(missing.body, "");

    // a stale precondition refuses the write, as `ETag` or as `If-Match`
    for header in ["ETag", "If-Match"] {
        let stale = server
            .send(
                server
                    .request(Method::PATCH, E)
                    .header(header, "someone-else-1")
                    .body("values:\n  a: 1\n"),
            )
            .await;
        stale.error(StatusCode::CONFLICT);
    }
    let fresh = server
        .send(
            server
                .request(Method::PATCH, E)
                .header("If-Match", format!("\"{newest_etag}\""))
                .body("values:\n  a: 1\n"),
        )
        .await;
    assert_eq!(fresh.status, StatusCode::OK, "{}", fresh.body);
    assert_eq!(fresh.header("Pulumi-ESC-Revision"), "3");
    server.stop().await;
}

#[tokio::test]
async fn clone_at_a_version_clones_the_newest_or_says_it_cannot() {
    let (server, _dir) = sqlite_server().await;
    create_env(&server, "app", "dev").await;
    assert_eq!(
        patch_yaml(&server, E, "values:\n  a: 1\n", None)
            .await
            .status,
        StatusCode::OK
    );
    let older = server
        .call(
            Method::POST,
            &format!("{E}/clone"),
            Some(r#"{"name":"old","version":1}"#),
        )
        .await;
    assert!(
        older
            .error(StatusCode::BAD_REQUEST)
            .contains("cloning at revision 1 is not supported"),
        "{}",
        older.body
    );
    server
        .call(Method::GET, "/api/esc/environments/acme/app/old", None)
        .await
        .error(StatusCode::NOT_FOUND);
    let beyond = server
        .call(
            Method::POST,
            &format!("{E}/clone"),
            Some(r#"{"name":"old","version":7}"#),
        )
        .await;
    beyond.error(StatusCode::BAD_REQUEST);

    let newest = server
        .call(
            Method::POST,
            &format!("{E}/clone"),
            Some(r#"{"project":"other","name":"new","version":2}"#),
        )
        .await;
    assert_eq!(newest.status, StatusCode::NO_CONTENT, "{}", newest.body);
    assert_eq!(
        server
            .call(Method::GET, "/api/esc/environments/acme/other/new", None)
            .await
            .body,
        "values:\n  a: 1\n"
    );
    let unknown = server
        .call(
            Method::POST,
            "/api/esc/environments/acme/app/nope/clone",
            Some(r#"{"name":"x","version":1}"#),
        )
        .await;
    unknown.error(StatusCode::NOT_FOUND);
    server.stop().await;
}

#[tokio::test]
async fn unreadable_definitions_are_refused_with_a_diagnostic() {
    let (server, _dir) = sqlite_server().await;
    create_env(&server, "app", "dev").await;
    let not_utf8 = b"values:\n  a: \xff\xfe\n".to_vec();
    for (method, path) in [
        (
            Method::POST,
            "/api/esc/environments/acme/yaml/check".to_owned(),
        ),
        (Method::PATCH, E.to_owned()),
        (Method::POST, format!("{E}/drafts")),
    ] {
        let reply = server
            .send(
                server
                    .request(method.clone(), &path)
                    .header("Content-Type", "application/x-yaml")
                    .body(not_utf8.clone()),
            )
            .await;
        let message = reply.error(StatusCode::BAD_REQUEST);
        assert_eq!(
            message, "Bad Request: the body is not UTF-8 text (byte 13)",
            "{method} {path}"
        );
        // the SDKs' check and the CLI read the diagnostics of a 400
        assert_eq!(
            reply.json()["diagnostics"],
            json!([{"summary": "the body is not UTF-8 text (byte 13)", "severity": "error"}]),
            "{method} {path}"
        );
    }
    let definition = server.call(Method::GET, E, None).await;
    assert_eq!(definition.header("Pulumi-ESC-Revision"), "1");
    server.stop().await;
}

#[tokio::test]
async fn a_zero_count_is_the_default_page() {
    let (server, _dir) = sqlite_server().await;
    create_env(&server, "app", "dev").await;
    for value in 1..=3 {
        let yaml = format!("values:\n  a: {value}\n");
        assert_eq!(
            patch_yaml(&server, E, &yaml, None).await.status,
            StatusCode::OK
        );
    }
    let tagged = server
        .call(
            Method::POST,
            &format!("{E}/versions/tags"),
            Some(r#"{"name":"first","revision":1}"#),
        )
        .await;
    assert_eq!(tagged.status, StatusCode::NO_CONTENT, "{}", tagged.body);
    for name in ["a", "b"] {
        let body = format!(r#"{{"name":"{name}","value":"v"}}"#);
        let created = server
            .call(Method::POST, &format!("{E}/tags"), Some(&body))
            .await;
        assert_eq!(created.status, StatusCode::OK, "{}", created.body);
    }
    let revisions = server
        .call(Method::GET, &format!("{E}/versions?count=0&before=0"), None)
        .await
        .json();
    assert_eq!(revisions.as_array().unwrap().len(), 4, "{revisions}");
    let revision_tags = server
        .call(Method::GET, &format!("{E}/versions/tags?count=0"), None)
        .await
        .json();
    assert_eq!(
        revision_tags,
        json!({"tags": [revision_tags["tags"][0].clone(), revision_tags["tags"][1].clone()], "nextToken": ""})
    );
    assert_eq!(revision_tags["tags"][0]["name"], "first");
    assert_eq!(revision_tags["tags"][1]["name"], "latest");
    let env_tags = server
        .call(Method::GET, &format!("{E}/tags?count=0"), None)
        .await
        .json();
    assert_eq!(env_tags["nextToken"], "0", "{env_tags}");
    assert_eq!(env_tags["tags"].as_object().unwrap().len(), 2, "{env_tags}");
    server.stop().await;
}

#[tokio::test]
async fn p2_anonymous_opens_work_and_gated_opens_say_none() {
    let (server, _dir) = sqlite_server().await;
    create_env(&server, "app", "dev").await;

    // 19/20: anonymous YAML opens
    let opened = server
        .send(
            server
                .request(Method::POST, "/api/esc/environments/acme/yaml/open")
                .body("values:\n  a: 1\n"),
        )
        .await;
    assert_eq!(opened.status, StatusCode::OK, "{}", opened.body);
    let id = opened.json()["id"].as_str().unwrap().to_owned();
    let read = server
        .call(
            Method::GET,
            &format!("/api/esc/environments/acme/yaml/open/{id}?property=a"),
            None,
        )
        .await;
    assert_eq!(read.status, StatusCode::OK, "{}", read.body);
    assert_eq!(read.json()["value"], 1);
    let unknown = server
        .call(
            Method::GET,
            "/api/esc/environments/acme/yaml/open/abc?property=a",
            None,
        )
        .await;
    assert!(
        unknown
            .error(StatusCode::NOT_FOUND)
            .contains("open session"),
        "{}",
        unknown.body
    );
    let anonymous = server
        .send(server.client.post(format!(
            "{}/api/esc/environments/acme/yaml/open",
            server.url
        )))
        .await;
    anonymous.error(StatusCode::UNAUTHORIZED);

    // 55: no environment here has gated opens
    let request = r#"{"grantExpirationSeconds":90000,"accessDurationSeconds":259200}"#;
    let refused = server
        .call(Method::POST, &format!("{E}/open/request"), Some(request))
        .await;
    assert_eq!(
        refused.error(StatusCode::BAD_REQUEST),
        "Bad Request: environment 'acme/app/dev' has no gated opens: open it directly"
    );
    let unknown = server
        .call(
            Method::POST,
            "/api/esc/environments/acme/app/nope/open/request",
            Some(request),
        )
        .await;
    unknown.error(StatusCode::NOT_FOUND);
    let malformed = server
        .call(
            Method::POST,
            &format!("{E}/open/request"),
            Some(r#"{"grantExpirationSeconds":"long"}"#),
        )
        .await;
    assert!(
        malformed
            .error(StatusCode::BAD_REQUEST)
            .contains("invalid JSON body")
    );
    // the session read beside it still works
    let id = server
        .call(Method::POST, &format!("{E}/open"), None)
        .await
        .json()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let session = server
        .call(Method::GET, &format!("{E}/open/{id}"), None)
        .await;
    assert_eq!(session.status, StatusCode::OK, "{}", session.body);
    assert_eq!(session.body, "{}\n");
    server.stop().await;
}

/// A request as the Go CLI sends it (spec/API.md § 1.3): its `Accept`,
/// `User-Agent`, and `Content-Type: application/json` even on YAML bodies.
fn as_cli(server: &TestServer, method: Method, path: &str) -> reqwest::RequestBuilder {
    server
        .request(method, path)
        .header("Accept", "application/vnd.pulumi+8")
        .header("User-Agent", "esc-cli/1 (v0.25.0; linux)")
        .header("Content-Type", "application/json")
}

#[tokio::test]
async fn the_clis_paging_loops_end_and_see_everything() {
    let (server, _dir) = sqlite_server().await;
    create_env(&server, "app", "dev").await;
    // read-modify-write as `esc env set` does: GET for the etag, PATCH with it
    for value in 1..=6 {
        let current = server.send(as_cli(&server, Method::GET, E)).await;
        let etag = current.header("ETag").to_owned();
        let written = server
            .send(
                as_cli(&server, Method::PATCH, E)
                    .header("ETag", etag)
                    .body(format!("values:\n  a: {value}\n")),
            )
            .await;
        assert_eq!(written.status, StatusCode::OK, "{}", written.body);
        assert_eq!(
            written.header("Pulumi-ESC-Revision"),
            (value + 1).to_string()
        );
    }
    for (name, revision) in [("blue", 2), ("green", 3), ("red", 5)] {
        let body = format!(r#"{{"name":"{name}","revision":{revision}}}"#);
        let tagged = server
            .send(as_cli(&server, Method::POST, &format!("{E}/versions/tags")).body(body))
            .await;
        assert_eq!(tagged.status, StatusCode::NO_CONTENT, "{}", tagged.body);
    }
    // a tag named "0" (the listing's end marker) must not end the listing
    for name in ["0", "k1", "k2", "k3", "k4", "k5"] {
        let body = format!(r#"{{"name":"{name}","value":"v-{name}"}}"#);
        let tagged = server
            .send(as_cli(&server, Method::POST, &format!("{E}/tags")).body(body))
            .await;
        assert_eq!(tagged.status, StatusCode::OK, "{}", tagged.body);
    }

    for count in [1, 2, 500] {
        // revisions: re-ask with before = the last number until []
        let mut numbers = Vec::new();
        let mut before = String::new();
        for _ in 0..20 {
            let page = server
                .send(as_cli(
                    &server,
                    Method::GET,
                    &format!("{E}/versions?before={before}&count={count}"),
                ))
                .await
                .json();
            let page = page.as_array().unwrap().clone();
            let Some(last) = page.last() else { break };
            before = last["number"].to_string();
            numbers.extend(
                page.iter()
                    .map(|revision| revision["number"].as_u64().unwrap()),
            );
        }
        assert_eq!(numbers, vec![7, 6, 5, 4, 3, 2, 1], "count={count}");

        // revision tags: after = the last name until an empty list
        let mut names = Vec::new();
        let mut after = String::new();
        for _ in 0..20 {
            let page = server
                .send(as_cli(
                    &server,
                    Method::GET,
                    &format!("{E}/versions/tags?after={after}&count={count}"),
                ))
                .await
                .json();
            let tags = page["tags"].as_array().unwrap().clone();
            let Some(last) = tags.last() else { break };
            after = last["name"].as_str().unwrap().to_owned();
            names.extend(
                tags.iter()
                    .map(|tag| tag["name"].as_str().unwrap().to_owned()),
            );
        }
        assert_eq!(names, ["blue", "green", "latest", "red"], "count={count}");

        // environment tags: after = nextToken until it is "0"
        let mut keys = Vec::new();
        let mut after = String::new();
        let mut pages = 0;
        loop {
            pages += 1;
            assert!(pages <= 20, "environment tag paging did not end");
            let page = server
                .send(as_cli(
                    &server,
                    Method::GET,
                    &format!("{E}/tags?after={after}&count={count}"),
                ))
                .await
                .json();
            keys.extend(page["tags"].as_object().unwrap().keys().cloned());
            let next = page["nextToken"].as_str().unwrap().to_owned();
            if next == "0" {
                break;
            }
            after = next;
        }
        assert_eq!(keys, ["0", "k1", "k2", "k3", "k4", "k5"], "count={count}");
    }

    // one revision N is fetched as before=N+1&count=1; beyond the newest
    // that is the newest (a CLI quirk the server keeps)
    for (asked, got) in [(3, 3), (7, 7), (40, 7)] {
        let page = server
            .send(as_cli(
                &server,
                Method::GET,
                &format!("{E}/versions?before={}&count=1", asked + 1),
            ))
            .await
            .json();
        assert_eq!(page.as_array().unwrap().len(), 1, "{page}");
        assert_eq!(page[0]["number"], got, "{page}");
    }
    // listing environments: continuationToken omitted, then absent again
    let listed = server
        .send(as_cli(&server, Method::GET, "/api/esc/environments"))
        .await
        .json();
    assert_eq!(listed["nextToken"], "", "{listed}");
    assert_eq!(listed["environments"][0]["project"], "app");
    server.stop().await;
}

#[tokio::test]
async fn path_values_are_percent_decoded_and_must_be_utf8() {
    let (server, _dir) = sqlite_server().await;
    create_env(&server, "app", "dev").await;
    // `d%65v` is `dev`
    let definition = server
        .call(Method::GET, "/api/esc/environments/acme/app/d%65v", None)
        .await;
    assert_eq!(definition.status, StatusCode::OK, "{}", definition.body);
    assert_eq!(definition.header("Pulumi-ESC-Revision"), "1");
    // a value that decodes to no UTF-8 text is the caller's mistake
    let message = server
        .call(Method::GET, "/api/esc/environments/acme/app/d%FFv", None)
        .await
        .error(StatusCode::BAD_REQUEST);
    assert!(message.contains("malformed path"), "{message}");
    server.stop().await;
}

/// `router()`, the form to embed, answers as the served API does.
#[tokio::test]
async fn the_embeddable_router_routes_as_the_served_api() {
    use std::sync::Arc;

    use axum::body::Body;
    use esc_server::{AppState, HttpLimits, router};
    use esc_service::{AccessPolicy, ProviderRegistry, Service, ServiceConfig};

    let (store, _dir) = crate::harness::sqlite_store().await;
    let service = Service::new(
        store.clone(),
        Arc::new(ProviderRegistry::new()),
        ServiceConfig {
            access: AccessPolicy {
                admins: vec![crate::harness::ADMIN.into()],
                memberships: Vec::new(),
            },
            ..ServiceConfig::default()
        },
    );
    service
        .bootstrap_user(crate::harness::ADMIN, "test")
        .await
        .unwrap();
    let token = store
        .create_access_token(crate::harness::ADMIN, "test", None, "test-admin")
        .await
        .unwrap();
    let auth = format!("token {}", token.secret.expose_str().unwrap());
    let app = router(AppState {
        service,
        issuer: None,
        limits: HttpLimits::default(),
    });
    for (path, status, body_has) in [
        ("/api/user", 200, r#""githubLogin":"admin""#),
        ("/api/user/", 200, r#""githubLogin":"admin""#),
        ("/api/esc/nothing/", 404, r#""code":404"#),
    ] {
        let request = axum::http::Request::get(path)
            .header("Authorization", &auth)
            .body(Body::empty())
            .unwrap();
        let response = tower::ServiceExt::oneshot(app.clone(), request)
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), status, "{path}");
        let body = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .unwrap();
        let body = String::from_utf8(body.to_vec()).unwrap();
        assert!(body.contains(body_has), "{path}: {body}");
    }
}
