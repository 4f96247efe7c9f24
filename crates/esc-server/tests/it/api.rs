//! Endpoint tests over real HTTP: shapes, headers, status codes, errors.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::harness::{E, create_env, patch_yaml, sqlite_server};

const DEFINITION: &str = "# my config\nvalues:\n  foo: bar\n  my_secret:\n    fn::secret: hunter2-secret\n  my_array: [1, 2, 3]\n  big: 12345678901234567890\n  pulumiConfig:\n    foo: ${foo}\n  environmentVariables:\n    FOO: ${foo}\n";

#[tokio::test]
async fn create_get_update_open_read_delete() {
    let (server, _dir) = sqlite_server().await;
    create_env(&server, "app", "dev").await;

    let again = server
        .call(
            Method::POST,
            "/api/esc/environments/acme",
            Some(r#"{"project":"app","name":"dev"}"#),
        )
        .await;
    assert!(again.error(StatusCode::CONFLICT).contains("already exists"));

    // a fresh environment: empty definition, revision 1
    let fresh = server.call(Method::GET, E, None).await;
    assert_eq!(fresh.status, StatusCode::OK);
    assert_eq!(fresh.body, "");
    assert_eq!(fresh.header("Pulumi-ESC-Revision"), "1");
    assert!(fresh.header("content-type").contains("yaml"));
    let etag = fresh.header("etag").to_owned();

    // empty environment opens to exactly `{}\n`
    let opened = server.call(Method::POST, &format!("{E}/open"), None).await;
    assert_eq!(opened.status, StatusCode::OK, "{}", opened.body);
    let id = opened.json()["id"].as_str().unwrap().to_owned();
    let read = server
        .call(Method::GET, &format!("{E}/open/{id}"), None)
        .await;
    assert_eq!(read.status, StatusCode::OK);
    assert_eq!(read.body, "{}\n");

    let updated = patch_yaml(&server, E, DEFINITION, Some(&etag)).await;
    assert_eq!(updated.status, StatusCode::OK, "{}", updated.body);
    assert_eq!(updated.body, "{}\n");
    assert_eq!(updated.header("Pulumi-ESC-Revision"), "2");

    // stored with the secret sealed, the rest of the text as written
    let stored = server.call(Method::GET, E, None).await;
    assert_eq!(stored.header("Pulumi-ESC-Revision"), "2");
    assert_ne!(stored.header("etag"), etag);
    assert!(!stored.body.contains("hunter2-secret"), "{}", stored.body);
    assert!(
        stored
            .body
            .contains("  my_secret:\n    fn::secret:\n      ciphertext: ZXNjeA"),
        "{}",
        stored.body
    );
    assert!(stored.body.starts_with("# my config\n"));
    assert!(stored.body.contains("FOO: ${foo}"));

    let decrypted = server
        .call(Method::GET, &format!("{E}/decrypt"), None)
        .await;
    assert_eq!(decrypted.status, StatusCode::OK);
    assert_eq!(
        decrypted.body, DEFINITION,
        "revealing gives back the text as written"
    );
    assert_eq!(decrypted.header("Pulumi-ESC-Revision"), "2");

    let at_one = server
        .call(Method::GET, &format!("{E}/versions/1"), None)
        .await;
    assert_eq!(at_one.body, "");
    assert_eq!(at_one.header("Pulumi-ESC-Revision"), "1");
    let at_latest = server
        .call(Method::GET, &format!("{E}/versions/latest"), None)
        .await;
    assert_eq!(at_latest.header("Pulumi-ESC-Revision"), "2");

    // open and read
    let opened = server
        .call(Method::POST, &format!("{E}/open?duration=2h0m0s"), None)
        .await;
    let id = opened.json()["id"].as_str().unwrap().to_owned();
    let read = server
        .call(Method::GET, &format!("{E}/open/{id}"), None)
        .await;
    assert_eq!(read.status, StatusCode::OK);
    assert!(read.body.ends_with("}\n"));
    let env = read.json();
    let props = &env["properties"];
    assert_eq!(props["foo"]["value"], "bar");
    assert_eq!(props["my_secret"]["value"], "hunter2-secret");
    assert_eq!(props["my_secret"]["secret"], true);
    assert_eq!(props["my_array"]["value"][1]["value"], 2);
    assert_eq!(props["pulumiConfig"]["value"]["foo"]["value"], "bar");
    assert_eq!(
        props["environmentVariables"]["value"]["FOO"]["value"],
        "bar"
    );
    assert_eq!(props["foo"]["trace"]["def"]["environment"], "app/dev");
    assert!(env.get("exprs").is_none());
    // numbers keep their text (beyond f64 precision)
    assert!(
        read.body.contains(r#""value":12345678901234567890"#),
        "{}",
        read.body
    );
    // every range names its environment (the Python SDK requires the key)
    assert!(
        env["executionContext"]["properties"]["currentEnvironment"]["trace"]["def"]["environment"]
            .is_string()
    );

    // single property, SDK double-slash form and CLI single-slash form
    for path in [
        format!("{E}/open//{id}?property=pulumiConfig.foo"),
        format!("{E}/open/{id}?property=pulumiConfig.foo"),
    ] {
        let value = server.call(Method::GET, &path, None).await;
        assert_eq!(value.status, StatusCode::OK, "{path}: {}", value.body);
        assert_eq!(value.json()["value"], "bar");
        assert!(value.json()["trace"].is_object());
    }
    let element = server
        .call(
            Method::GET,
            &format!("{E}/open//{id}?property=my_array[2]"),
            None,
        )
        .await;
    assert_eq!(element.json()["value"], 3);
    let missing = server
        .call(Method::GET, &format!("{E}/open//{id}?property=nope"), None)
        .await;
    assert!(
        missing
            .error(StatusCode::NOT_FOUND)
            .contains("property 'nope'")
    );
    let unknown_session = server
        .call(Method::GET, &format!("{E}/open/not-a-session"), None)
        .await;
    unknown_session.error(StatusCode::NOT_FOUND);

    // the session belongs to its environment
    create_env(&server, "app", "other").await;
    let elsewhere = server
        .call(
            Method::GET,
            &format!("/api/esc/environments/acme/app/other/open/{id}"),
            None,
        )
        .await;
    elsewhere.error(StatusCode::NOT_FOUND);

    // list
    let list = server
        .call(Method::GET, "/api/esc/environments/acme", None)
        .await;
    assert_eq!(list.status, StatusCode::OK);
    let list = list.json();
    let names: Vec<&str> = list["environments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|env| env["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["dev", "other"]);
    assert_eq!(list["environments"][0]["project"], "app");
    assert_eq!(list["environments"][0]["organization"], "acme");
    assert!(
        list["environments"][0]["created"]
            .as_str()
            .unwrap()
            .ends_with('Z')
    );
    assert_eq!(list["nextToken"], "");
    let all = server
        .call(
            Method::GET,
            "/api/esc/environments?continuationToken=",
            None,
        )
        .await;
    assert_eq!(all.json()["environments"].as_array().unwrap().len(), 2);
    let unknown_org = server
        .call(Method::GET, "/api/esc/environments/nosuchorg", None)
        .await;
    unknown_org.error(StatusCode::NOT_FOUND);

    // delete protection, then delete
    let protect = server
        .call(
            Method::PATCH,
            &format!("{E}/settings"),
            Some(r#"{"deletionProtected":true}"#),
        )
        .await;
    assert_eq!(protect.status, StatusCode::NO_CONTENT);
    let settings = server
        .call(Method::GET, &format!("{E}/settings"), None)
        .await;
    assert_eq!(settings.json(), json!({"deletionProtected": true}));
    let refused = server.call(Method::DELETE, E, None).await;
    assert!(refused.error(StatusCode::CONFLICT).contains("protect"));
    server
        .call(
            Method::PATCH,
            &format!("{E}/settings"),
            Some(r#"{"deletionProtected":false}"#),
        )
        .await;
    let deleted = server.call(Method::DELETE, E, None).await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    let gone = server.call(Method::GET, E, None).await;
    assert_eq!(
        gone.error(StatusCode::NOT_FOUND),
        "Not Found: environment 'acme/app/dev' not found"
    );
    server.stop().await;
}

#[tokio::test]
async fn check_reports_values_and_diagnostics() {
    let (server, _dir) = sqlite_server().await;
    let check = |body: &'static str, query: &'static str| {
        let server = &server;
        async move {
            server
                .send(
                    server
                        .request(
                            Method::POST,
                            &format!("/api/esc/environments/acme/yaml/check{query}"),
                        )
                        .header("Content-Type", "application/x-yaml")
                        .body(body),
                )
                .await
        }
    };
    let valid = check("values:\n  a: 1\n  s: {fn::secret: shh}\n", "").await;
    assert_eq!(valid.status, StatusCode::OK, "{}", valid.body);
    let json = valid.json();
    assert_eq!(json["properties"]["a"]["value"], 1, "{}", valid.body);
    assert_eq!(json["properties"]["s"]["secret"], true, "{}", valid.body);
    assert_eq!(json["properties"]["s"]["unknown"], true);
    assert!(json["properties"]["s"].get("value").is_none());
    assert!(json.get("diagnostics").is_none());
    assert_eq!(
        json["properties"]["a"]["trace"]["def"]["environment"],
        "<yaml>"
    );

    let shown = check("values:\n  s: {fn::secret: shh}\n", "?showSecrets=true").await;
    assert_eq!(shown.json()["properties"]["s"]["value"], "shh");

    let invalid = check("values:\n  pulumiConfig:\n    foo: ${bad_ref}\n", "").await;
    invalid.error(StatusCode::BAD_REQUEST);
    let diagnostics = invalid.json()["diagnostics"].as_array().unwrap().clone();
    assert_eq!(diagnostics.len(), 1, "{}", invalid.body);
    assert_eq!(diagnostics[0]["summary"], "unknown property \"bad_ref\"");
    assert_eq!(diagnostics[0]["range"]["environment"], "<yaml>");
    assert_eq!(diagnostics[0]["range"]["begin"]["line"], 3);

    let malformed = check("values: [unclosed\n", "").await;
    malformed.error(StatusCode::BAD_REQUEST);
    let summary = malformed.json()["diagnostics"][0]["summary"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(summary.starts_with("yaml: "), "{summary}");
    server.stop().await;
}

#[tokio::test]
async fn numbers_json_cannot_carry_are_a_400_not_a_500() {
    let (server, _dir) = sqlite_server().await;
    create_env(&server, "app", "dev").await;
    // YAML's .nan and .inf are numbers (spec/LANGUAGE.md § 1.1) without a
    // JSON form: storing them is allowed, answering them is the 400
    let stored = patch_yaml(&server, E, "values:\n  a: .nan\n  b: -.inf\n", None).await;
    assert_eq!(stored.status, StatusCode::OK, "{}", stored.body);
    let expected =
        "the environment's values cannot be encoded as JSON: json: invalid number literal";
    let opened = server.call(Method::POST, &format!("{E}/open"), None).await;
    let message = opened.error(StatusCode::BAD_REQUEST);
    assert!(message.contains(expected), "{message}");
    assert!(message.contains("quote them"), "{message}");
    let checked = server
        .send(
            server
                .request(Method::POST, "/api/esc/environments/acme/yaml/check")
                .header("Content-Type", "application/x-yaml")
                .body("values:\n  a: .inf\n"),
        )
        .await;
    assert!(
        checked.error(StatusCode::BAD_REQUEST).contains(expected),
        "{}",
        checked.body
    );
    // quoted, they are strings
    patch_yaml(&server, E, "values:\n  a: '.nan'\n", None).await;
    let opened = server.call(Method::POST, &format!("{E}/open"), None).await;
    assert_eq!(opened.status, StatusCode::OK, "{}", opened.body);
    server.stop().await;
}

#[tokio::test]
async fn bad_input_gets_documented_errors() {
    let (server, _dir) = sqlite_server().await;
    create_env(&server, "app", "dev").await;

    // malformed YAML on update: 400 + diagnostics, nothing stored
    let malformed = patch_yaml(&server, E, "values:\n  a: [1, 2\n", None).await;
    assert_eq!(malformed.error(StatusCode::BAD_REQUEST), "Bad Request");
    assert!(
        !malformed.json()["diagnostics"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    let unknown_ref = patch_yaml(&server, E, "values:\n  a: ${nope}\n", None).await;
    unknown_ref.error(StatusCode::BAD_REQUEST);
    assert_eq!(
        unknown_ref.json()["diagnostics"][0]["range"]["environment"],
        "app/dev"
    );
    let bad_import = patch_yaml(&server, E, "imports: [missing]\nvalues:\n  a: 1\n", None).await;
    bad_import.error(StatusCode::BAD_REQUEST);
    assert!(bad_import.body.contains("not found"), "{}", bad_import.body);
    assert_eq!(
        server
            .call(Method::GET, E, None)
            .await
            .header("Pulumi-ESC-Revision"),
        "1"
    );

    // unknown environment
    let unknown = patch_yaml(
        &server,
        "/api/esc/environments/acme/app/nope",
        "values: {}\n",
        None,
    )
    .await;
    assert_eq!(
        unknown.error(StatusCode::NOT_FOUND),
        "Not Found: environment 'acme/app/nope' not found"
    );
    let unknown_open = server
        .call(
            Method::POST,
            "/api/esc/environments/acme/app/nope/open",
            None,
        )
        .await;
    unknown_open.error(StatusCode::NOT_FOUND);
    let unknown_version = server
        .call(Method::GET, &format!("{E}/versions/9"), None)
        .await;
    unknown_version.error(StatusCode::NOT_FOUND);
    let bad_version = server
        .call(Method::GET, &format!("{E}/versions/9x"), None)
        .await;
    assert!(
        bad_version
            .error(StatusCode::BAD_REQUEST)
            .contains("invalid revision number")
    );

    // bad or missing token
    let no_token = server
        .send(server.client.get(format!("{}{E}", server.url)))
        .await;
    assert!(
        no_token
            .error(StatusCode::UNAUTHORIZED)
            .contains("no access token")
    );
    let bad_token = server
        .send(
            server
                .client
                .get(format!("{}{E}", server.url))
                .header("Authorization", "token esc_not-a-real-token"),
        )
        .await;
    assert!(
        bad_token
            .error(StatusCode::UNAUTHORIZED)
            .contains("invalid access token")
    );
    let bad_scheme = server
        .send(
            server
                .client
                .get(format!("{}/api/user", server.url))
                .header("Authorization", "Basic abc"),
        )
        .await;
    bad_scheme.error(StatusCode::UNAUTHORIZED);

    // stale ETag: 409, nothing changed
    let first = server.call(Method::GET, E, None).await;
    let etag = first.header("etag").to_owned();
    assert_eq!(
        patch_yaml(&server, E, "values:\n  a: 1\n", Some(&etag))
            .await
            .status,
        StatusCode::OK
    );
    let stale = patch_yaml(&server, E, "values:\n  a: 2\n", Some(&etag)).await;
    assert!(stale.error(StatusCode::CONFLICT).contains("changed"));
    let now = server.call(Method::GET, E, None).await;
    assert_eq!(now.header("Pulumi-ESC-Revision"), "2");
    assert_eq!(now.body, "values:\n  a: 1\n");
    let foreign = patch_yaml(&server, E, "values:\n  a: 3\n", Some("someone-else-2")).await;
    foreign.error(StatusCode::CONFLICT);

    // oversized body: 413 in the error shape
    let huge = "#".repeat(3 << 20);
    let too_big = patch_yaml(&server, E, &huge, None).await;
    assert!(
        too_big
            .error(StatusCode::PAYLOAD_TOO_LARGE)
            .contains("exceeds")
    );

    // malformed JSON bodies, bad names, bad durations, unknown paths
    let bad_json = server
        .call(Method::POST, "/api/esc/environments/acme", Some("{nope"))
        .await;
    assert!(
        bad_json
            .error(StatusCode::BAD_REQUEST)
            .contains("invalid JSON body")
    );
    let bad_name = server
        .call(
            Method::POST,
            "/api/esc/environments/acme",
            Some(r#"{"project":"a b","name":"x"}"#),
        )
        .await;
    assert!(
        bad_name
            .error(StatusCode::BAD_REQUEST)
            .contains("invalid project name")
    );
    let bad_duration = server
        .call(Method::POST, &format!("{E}/open?duration=soon"), None)
        .await;
    assert!(
        bad_duration
            .error(StatusCode::BAD_REQUEST)
            .contains("invalid duration")
    );
    let nowhere = server.call(Method::GET, "/api/nothing/here", None).await;
    nowhere.error(StatusCode::NOT_FOUND);
    let wrong_method = server.call(Method::PUT, E, None).await;
    wrong_method.error(StatusCode::METHOD_NOT_ALLOWED);
    server.stop().await;
}

#[tokio::test]
async fn revisions_tags_and_environment_tags() {
    let (server, _dir) = sqlite_server().await;
    create_env(&server, "app", "dev").await;
    for n in 1..=3 {
        let reply = patch_yaml(&server, E, &format!("values:\n  n: {n}\n"), None).await;
        assert_eq!(reply.status, StatusCode::OK);
    }
    let revisions = server
        .call(Method::GET, &format!("{E}/versions"), None)
        .await
        .json();
    let numbers: Vec<u64> = revisions
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["number"].as_u64().unwrap())
        .collect();
    assert_eq!(numbers, [4, 3, 2, 1]);
    assert_eq!(revisions[0]["tags"], json!(["latest"]));
    assert_eq!(revisions[0]["creatorLogin"], "admin");
    // the CLI's paging: before=N+1&count=1 for revision N, empty list at the end
    let one = server
        .call(Method::GET, &format!("{E}/versions?before=3&count=1"), None)
        .await
        .json();
    assert_eq!(one.as_array().unwrap().len(), 1);
    assert_eq!(one[0]["number"], 2);
    let done = server
        .call(
            Method::GET,
            &format!("{E}/versions?before=1&count=500"),
            None,
        )
        .await;
    assert_eq!(done.body, "[]\n");

    // revision tags
    let created = server
        .call(
            Method::POST,
            &format!("{E}/versions/tags"),
            Some(r#"{"name":"testTag","revision":2}"#),
        )
        .await;
    assert_eq!(created.status, StatusCode::NO_CONTENT, "{}", created.body);
    let dup = server
        .call(
            Method::POST,
            &format!("{E}/versions/tags"),
            Some(r#"{"name":"testTag","revision":2}"#),
        )
        .await;
    dup.error(StatusCode::CONFLICT);
    let bad = server
        .call(
            Method::POST,
            &format!("{E}/versions/tags"),
            Some(r#"{"name":"latest"}"#),
        )
        .await;
    bad.error(StatusCode::BAD_REQUEST);
    let tags = server
        .call(Method::GET, &format!("{E}/versions/tags"), None)
        .await
        .json();
    let names: Vec<&str> = tags["tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["latest", "testTag"]);
    let after = server
        .call(
            Method::GET,
            &format!("{E}/versions/tags?after=testTag&count=500"),
            None,
        )
        .await
        .json();
    assert_eq!(after["tags"], json!([]));
    let at_tag = server
        .call(Method::GET, &format!("{E}/versions/testTag"), None)
        .await;
    assert_eq!(at_tag.header("Pulumi-ESC-Revision"), "2");
    let opened = server
        .call(Method::POST, &format!("{E}/versions/testTag/open"), None)
        .await;
    let id = opened.json()["id"].as_str().unwrap().to_owned();
    let read = server
        .call(Method::GET, &format!("{E}/open/{id}?property=n"), None)
        .await;
    assert_eq!(read.json()["value"], 1);
    let moved = server
        .call(
            Method::PATCH,
            &format!("{E}/versions/tags/testTag"),
            Some(r#"{"revision":3}"#),
        )
        .await;
    assert_eq!(moved.status, StatusCode::NO_CONTENT);
    let tag = server
        .call(Method::GET, &format!("{E}/versions/tags/testTag"), None)
        .await
        .json();
    assert_eq!(tag["revision"], 3);
    assert_eq!(tag["editorLogin"], "admin");
    let latest = server
        .call(Method::GET, &format!("{E}/versions/tags/latest"), None)
        .await
        .json();
    assert_eq!(latest["revision"], 4);
    let missing = server
        .call(
            Method::PATCH,
            &format!("{E}/versions/tags/nope"),
            Some(r#"{"revision":3}"#),
        )
        .await;
    missing.error(StatusCode::NOT_FOUND);
    let deleted = server
        .call(Method::DELETE, &format!("{E}/versions/tags/testTag"), None)
        .await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    server
        .call(Method::DELETE, &format!("{E}/versions/tags/latest"), None)
        .await
        .error(StatusCode::BAD_REQUEST);

    // retract: tags move, the revision can no longer be read
    let retracted = server
        .call(
            Method::POST,
            &format!("{E}/versions/2/retract"),
            Some(r#"{"reason":"leaked"}"#),
        )
        .await;
    assert_eq!(
        retracted.status,
        StatusCode::NO_CONTENT,
        "{}",
        retracted.body
    );
    server
        .call(Method::GET, &format!("{E}/versions/2"), None)
        .await
        .error(StatusCode::NOT_FOUND);
    let listed = server
        .call(Method::GET, &format!("{E}/versions?before=3&count=1"), None)
        .await
        .json();
    assert_eq!(listed[0]["retracted"]["reason"], "leaked");
    assert_eq!(listed[0]["retracted"]["replacement"], 1);

    // environment tags
    let created = server
        .call(
            Method::POST,
            &format!("{E}/tags"),
            Some(r#"{"name":"owner","value":"esc-sdk-test"}"#),
        )
        .await;
    assert_eq!(created.status, StatusCode::OK);
    assert_eq!(created.json()["value"], "esc-sdk-test");
    let list = server
        .call(Method::GET, &format!("{E}/tags"), None)
        .await
        .json();
    assert_eq!(list["tags"]["owner"]["value"], "esc-sdk-test");
    assert_eq!(list["nextToken"], "0");
    let renamed = server
        .call(
            Method::PATCH,
            &format!("{E}/tags/owner"),
            Some(r#"{"currentTag":{"name":"owner","value":"esc-sdk-test"},"newTag":{"name":"new-owner","value":"esc-sdk-test-updated"}}"#),
        )
        .await;
    assert_eq!(renamed.status, StatusCode::OK, "{}", renamed.body);
    assert_eq!(renamed.json()["name"], "new-owner");
    let stale = server
        .call(
            Method::PATCH,
            &format!("{E}/tags/new-owner"),
            Some(r#"{"currentTag":{"value":"wrong"},"newTag":{"value":"x"}}"#),
        )
        .await;
    stale.error(StatusCode::CONFLICT);
    let got = server
        .call(Method::GET, &format!("{E}/tags/new-owner"), None)
        .await
        .json();
    assert_eq!(got["value"], "esc-sdk-test-updated");
    server
        .call(Method::GET, &format!("{E}/tags/owner"), None)
        .await
        .error(StatusCode::NOT_FOUND);
    let deleted = server
        .call(Method::DELETE, &format!("{E}/tags/new-owner"), None)
        .await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    let empty = server
        .call(Method::GET, &format!("{E}/tags"), None)
        .await
        .json();
    assert_eq!(empty, json!({"tags": {}, "nextToken": "0"}));
    server.stop().await;
}

/// Environment tags have bounded names and values: a name too long for a
/// URL could be stored but never deleted. Refused with 400 and nothing
/// stored, on create and on update.
#[tokio::test]
async fn environment_tags_too_long_are_refused() {
    let (server, _dir) = sqlite_server().await;
    create_env(&server, "app", "dev").await;
    let long_name = "n".repeat(257);
    let long_value = "v".repeat(4097);
    for body in [
        json!({"name": long_name, "value": "v"}),
        json!({"name": "owner", "value": long_value}),
        json!({"name": "bad\nname", "value": "v"}),
    ] {
        let refused = server
            .call(Method::POST, &format!("{E}/tags"), Some(&body.to_string()))
            .await;
        let message = refused.error(StatusCode::BAD_REQUEST);
        assert!(message.contains("environment tag"), "{message}");
    }
    // the longest allowed are stored and can be read back and deleted
    let name = "n".repeat(256);
    let created = server
        .call(
            Method::POST,
            &format!("{E}/tags"),
            Some(&json!({"name": name, "value": "v".repeat(4096)}).to_string()),
        )
        .await;
    assert_eq!(created.status, StatusCode::OK, "{}", created.body);
    for body in [
        json!({"currentTag": {"value": ""}, "newTag": {"name": long_name, "value": ""}}),
        json!({"currentTag": {"value": ""}, "newTag": {"name": "", "value": long_value}}),
    ] {
        let refused = server
            .call(
                Method::PATCH,
                &format!("{E}/tags/{name}"),
                Some(&body.to_string()),
            )
            .await;
        refused.error(StatusCode::BAD_REQUEST);
    }
    let listed = server
        .call(Method::GET, &format!("{E}/tags"), None)
        .await
        .json();
    let tags = listed["tags"].as_object().unwrap();
    assert_eq!(tags.len(), 1, "{listed}");
    assert_eq!(tags[&name]["value"], "v".repeat(4096));
    let deleted = server
        .call(Method::DELETE, &format!("{E}/tags/{name}"), None)
        .await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    server.stop().await;
}

#[tokio::test]
async fn imports_clone_identity_and_rotate() {
    let (server, _dir) = sqlite_server().await;
    create_env(&server, "shared", "base").await;
    create_env(&server, "default", "legacy").await;
    create_env(&server, "app", "dev").await;
    let base = patch_yaml(
        &server,
        "/api/esc/environments/acme/shared/base",
        "values:\n  region: eu\n  token: {fn::secret: base-secret}\n",
        None,
    )
    .await;
    assert_eq!(base.status, StatusCode::OK);
    patch_yaml(
        &server,
        "/api/esc/environments/acme/default/legacy",
        "values:\n  old: yes\n",
        None,
    )
    .await;
    let dev = patch_yaml(
        &server,
        E,
        "imports: [shared/base, legacy]\nvalues:\n  where: ${region}\n",
        None,
    )
    .await;
    assert_eq!(dev.status, StatusCode::OK, "{}", dev.body);
    let id = server
        .call(Method::POST, &format!("{E}/open"), None)
        .await
        .json()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let env = server
        .call(Method::GET, &format!("{E}/open/{id}"), None)
        .await
        .json();
    assert_eq!(env["properties"]["where"]["value"], "eu");
    assert_eq!(env["properties"]["token"]["value"], "base-secret");
    assert_eq!(env["properties"]["old"]["value"], "yes");

    // clone into another project: secrets re-sealed, values identical
    let cloned = server
        .call(
            Method::POST,
            "/api/esc/environments/acme/shared/base/clone",
            Some(r#"{"project":"copy","name":"base2","preserveHistory":true}"#),
        )
        .await;
    assert_eq!(cloned.status, StatusCode::NO_CONTENT, "{}", cloned.body);
    let source = server
        .call(Method::GET, "/api/esc/environments/acme/shared/base", None)
        .await;
    let copy = server
        .call(Method::GET, "/api/esc/environments/acme/copy/base2", None)
        .await;
    assert_eq!(
        copy.header("Pulumi-ESC-Revision"),
        source.header("Pulumi-ESC-Revision")
    );
    assert_ne!(
        copy.body, source.body,
        "ciphertexts are bound to their environment"
    );
    let copy_plain = server
        .call(
            Method::GET,
            "/api/esc/environments/acme/copy/base2/decrypt",
            None,
        )
        .await;
    assert!(
        copy_plain.body.contains("fn::secret: base-secret"),
        "{}",
        copy_plain.body
    );
    let exists = server
        .call(
            Method::POST,
            "/api/esc/environments/acme/shared/base/clone",
            Some(r#"{"project":"copy","name":"base2"}"#),
        )
        .await;
    exists.error(StatusCode::CONFLICT);

    // identity
    let user = server.call(Method::GET, "/api/user", None).await.json();
    assert_eq!(user["githubLogin"], "admin");
    let orgs: Vec<&str> = user["organizations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["githubLogin"].as_str().unwrap())
        .collect();
    assert!(
        orgs.contains(&"acme") && orgs.contains(&"admin"),
        "{orgs:?}"
    );
    let default = server
        .call(Method::GET, "/api/user/organizations/default", None)
        .await
        .json();
    assert_eq!(default, json!({"gitHubLogin": "admin"}));

    // rotate with no rotators: a succeeded, empty event
    let rotated = server
        .call(
            Method::POST,
            &format!("{E}/rotate"),
            Some(r#"{"Paths":[]}"#),
        )
        .await;
    assert_eq!(rotated.status, StatusCode::OK, "{}", rotated.body);
    let event = &rotated.json()["secretRotationEvent"];
    assert_eq!(event["status"], "succeeded");
    assert_eq!(event["preRotationRevision"], 2);
    assert_eq!(event["rotations"], json!([]));
    server.stop().await;
}

#[tokio::test]
async fn other_users_are_kept_out_of_organizations_they_do_not_belong_to() {
    let (store, _dir) = crate::harness::sqlite_store().await;
    let server =
        crate::harness::TestServer::over(store.clone(), esc_server::HttpLimits::default()).await;
    create_env(&server, "app", "dev").await;
    let bob = store
        .create_access_token("bob", "test", None, "test-admin")
        .await
        .unwrap();
    let bob = format!("token {}", bob.secret.expose_str().unwrap());
    let as_bob = |method: Method, path: &str| {
        server
            .client
            .request(method, format!("{}{path}", server.url))
            .header("Authorization", bob.clone())
    };
    let denied = server.send(as_bob(Method::GET, E)).await;
    assert!(
        denied
            .error(StatusCode::FORBIDDEN)
            .contains("'bob' lacks read permission")
    );
    let denied = server
        .send(as_bob(Method::PATCH, E).body("values:\n  a: 1\n"))
        .await;
    denied.error(StatusCode::FORBIDDEN);
    let denied = server
        .send(as_bob(Method::POST, &format!("{E}/open")))
        .await;
    denied.error(StatusCode::FORBIDDEN);
    let listed = server
        .send(as_bob(Method::GET, "/api/esc/environments"))
        .await;
    assert_eq!(listed.json()["environments"], json!([]));

    // bob's own organization is his to use
    let created = server
        .send(
            as_bob(Method::POST, "/api/esc/environments/bob").body(r#"{"project":"p","name":"e"}"#),
        )
        .await;
    assert_eq!(created.status, StatusCode::NO_CONTENT, "{}", created.body);
    let user = server.send(as_bob(Method::GET, "/api/user")).await.json();
    assert_eq!(user["githubLogin"], "bob");
    assert_eq!(
        user["organizations"],
        json!([{"githubLogin": "bob", "name": "bob"}])
    );
    // the admin sees everything
    let all = server
        .call(Method::GET, "/api/esc/environments", None)
        .await
        .json();
    assert_eq!(all["environments"].as_array().unwrap().len(), 2);
    server.stop().await;
}

#[tokio::test]
async fn requests_over_the_time_limit_get_408_in_the_error_shape() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let (store, _dir) = crate::harness::sqlite_store().await;
    let server = crate::harness::TestServer::over(
        store,
        esc_server::HttpLimits {
            request_timeout: std::time::Duration::from_millis(200),
            ..esc_server::HttpLimits::default()
        },
    )
    .await;
    // A body announced but never finished keeps the handler waiting, so the
    // request deterministically outlives the limit (a zero limit raced the
    // database and was flaky).
    let address = server.url.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
    let head = format!(
        "PATCH {E} HTTP/1.1\r\nHost: {address}\r\nAuthorization: token {}\r\nContent-Length: 100\r\n\r\nvalues:",
        server.token
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut reply = Vec::new();
    let read = tokio::time::timeout(
        std::time::Duration::from_secs(10),
        stream.read_to_end(&mut reply),
    )
    .await
    .expect("the server answers within the time limit, not when the body ends");
    read.unwrap();
    let reply = String::from_utf8_lossy(&reply);
    assert!(reply.starts_with("HTTP/1.1 408"), "{reply}");
    assert!(reply.contains(r#""code":408"#), "{reply}");
    assert!(reply.contains("took too long"), "{reply}");
    server.stop().await;
}

#[tokio::test]
async fn listing_pages_until_next_token_is_empty() {
    let (server, _dir) = sqlite_server().await;
    for index in 0..105 {
        create_env(&server, "many", &format!("env-{index:03}")).await;
    }
    let mut names = Vec::new();
    let mut token = String::new();
    let mut pages = 0;
    loop {
        pages += 1;
        assert!(pages <= 10, "paging does not end");
        let page = server
            .call(
                Method::GET,
                &format!("/api/esc/environments/acme?continuationToken={token}"),
                None,
            )
            .await
            .json();
        for env in page["environments"].as_array().unwrap() {
            names.push(env["name"].as_str().unwrap().to_owned());
        }
        token = page["nextToken"].as_str().unwrap().to_owned();
        if token.is_empty() {
            break;
        }
    }
    assert_eq!(pages, 2);
    let expected: Vec<String> = (0..105).map(|index| format!("env-{index:03}")).collect();
    assert_eq!(names, expected);
    server.stop().await;
}
