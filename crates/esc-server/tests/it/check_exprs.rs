//! `exprs` in check responses (spec/API.md § 3.3): present for check, absent
//! from read-open, index accessors keyed, secrets redacted unless
//! `showSecrets`, `access` only for the CLI.

use reqwest::{Method, StatusCode};

use crate::harness::{E, Reply, TestServer, create_env, patch_yaml, sqlite_server};

const SECRET: &str = "Sekr3t-hunter2-4711";
const CLI_ACCEPT: &str = "application/vnd.pulumi+8";

async fn check(server: &TestServer, body: &str, query: &str, accept: &str) -> Reply {
    server
        .send(
            server
                .request(
                    Method::POST,
                    &format!("/api/esc/environments/acme/yaml/check{query}"),
                )
                .header("Content-Type", "application/x-yaml")
                .header("Accept", accept)
                .body(body.to_owned()),
        )
        .await
}

#[tokio::test]
async fn check_answers_exprs_with_keyed_index_accessors_and_open_does_not() {
    let (server, _dir) = sqlite_server().await;
    let yaml = "values:\n  list: [a, b]\n  first: ${list[1]}\n  greeting: hello-${list[0]}\n";
    let reply = check(&server, yaml, "", CLI_ACCEPT).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let json = reply.json();
    let exprs = &json["exprs"];
    assert_eq!(exprs["list"]["range"]["environment"], "<yaml>", "{exprs}");
    assert_eq!(exprs["list"]["range"]["begin"]["line"], 2);
    assert_eq!(exprs["list"]["list"][1]["literal"], "b");
    let symbol = &exprs["first"]["symbol"];
    assert_eq!(symbol[0]["key"], "list", "{symbol}");
    assert_eq!(symbol[1]["index"], 1, "{symbol}");
    assert_eq!(symbol[1]["key"], "1", "{symbol}");
    // The accessor resolved to the list item's definition (line 2).
    assert_eq!(symbol[1]["value"]["begin"]["line"], 2, "{symbol}");
    let parts = &exprs["greeting"]["interpolate"];
    assert_eq!(parts[0]["text"], "hello-", "{parts}");
    assert_eq!(parts[0]["value"][1]["key"], "0", "{parts}");
    assert_eq!(json["properties"]["first"]["value"], "b");

    // Read-open keeps omitting exprs.
    create_env(&server, "app", "dev").await;
    let patched = patch_yaml(&server, E, yaml, None).await;
    assert_eq!(patched.status, StatusCode::OK, "{}", patched.body);
    let opened = server.call(Method::POST, &format!("{E}/open"), None).await;
    let id = opened.json()["id"].as_str().unwrap().to_owned();
    let read = server
        .call(Method::GET, &format!("{E}/open/{id}"), None)
        .await;
    assert_eq!(read.status, StatusCode::OK, "{}", read.body);
    assert!(read.json().get("exprs").is_none(), "{}", read.body);
    assert_eq!(read.json()["properties"]["first"]["value"], "b");
    server.stop().await;
}

#[tokio::test]
async fn hidden_secrets_appear_nowhere_in_a_check_response() {
    let (server, _dir) = sqlite_server().await;
    let yaml = format!(
        "values:\n  pw:\n    fn::secret: {SECRET}\n  derived: ${{pw}}-x\n  nested:\n    inner: [\"${{pw}}\"]\n  encoded:\n    fn::toBase64: ${{pw}}\n  plain: visible\n"
    );
    for accept in [CLI_ACCEPT, "application/json"] {
        let hidden = check(&server, &yaml, "", accept).await;
        assert_eq!(hidden.status, StatusCode::OK, "{}", hidden.body);
        assert!(!hidden.body.contains(SECRET), "{}", hidden.body);
        let json = hidden.json();
        // Still the structure "Defined at" needs.
        assert_eq!(json["exprs"]["pw"]["builtin"]["name"], "fn::secret");
        assert_eq!(json["exprs"]["derived"]["range"]["begin"]["line"], 4);
        assert!(json["exprs"]["nested"]["object"]["inner"]["list"].is_array());
        assert_eq!(json["exprs"]["plain"]["literal"], "visible");
        assert_eq!(json["properties"]["derived"]["unknown"], true);
    }
    // The test can see the secret when it is there to see.
    let shown = check(&server, &yaml, "?showSecrets=true", CLI_ACCEPT).await;
    assert_eq!(shown.status, StatusCode::OK, "{}", shown.body);
    assert!(shown.body.contains(SECRET), "{}", shown.body);
    let json = shown.json();
    assert_eq!(json["exprs"]["pw"]["builtin"]["arg"]["literal"], SECRET);
    // Derived schemas carry it: what the redaction removes.
    assert_eq!(
        json["exprs"]["encoded"]["builtin"]["arg"]["schema"]["const"], SECRET,
        "{}",
        shown.body
    );
    server.stop().await;
}

#[tokio::test]
async fn sealed_secrets_stay_hidden_in_checks_of_stored_and_imported_definitions() {
    let (server, _dir) = sqlite_server().await;
    create_env(&server, "app", "dev").await;
    let yaml = format!(
        "values:\n  pw:\n    fn::secret: {SECRET}\n  derived: ${{pw}}-x\n  list: [\"${{pw}}\"]\n"
    );
    let patched = patch_yaml(&server, E, &yaml, None).await;
    assert_eq!(patched.status, StatusCode::OK, "{}", patched.body);
    // What `esc env get` checks: the stored (sealed) definition.
    let stored = server.call(Method::GET, E, None).await;
    assert!(stored.body.contains("ciphertext"), "{}", stored.body);
    assert!(!stored.body.contains(SECRET));
    let hidden = check(&server, &stored.body, "", CLI_ACCEPT).await;
    assert_eq!(hidden.status, StatusCode::OK, "{}", hidden.body);
    assert!(!hidden.body.contains(SECRET), "{}", hidden.body);
    assert_eq!(
        hidden.json()["exprs"]["pw"]["builtin"]["name"],
        "fn::secret",
        "{}",
        hidden.body
    );

    // An importer that derives from the imported secret.
    let importer =
        "imports:\n  - app/dev\nvalues:\n  again: ${pw}-y\n  pw: override\n  item: ${list[0]}\n";
    let hidden = check(&server, importer, "", CLI_ACCEPT).await;
    assert_eq!(hidden.status, StatusCode::OK, "{}", hidden.body);
    assert!(!hidden.body.contains(SECRET), "{}", hidden.body);
    let json = hidden.json();
    assert!(json["exprs"]["pw"]["base"].is_object(), "{}", hidden.body);
    assert_eq!(json["exprs"]["item"]["symbol"][1]["key"], "0");
    server.stop().await;
}

#[tokio::test]
async fn access_expressions_go_to_the_cli_only() {
    let (server, _dir) = sqlite_server().await;
    create_env(&server, "app", "creds").await;
    // A sealed secret stays unknown in a check without showSecrets.
    let opened = "values:\n  creds:\n    fn::fromJSON:\n      fn::secret: '{\"user\":\"x\"}'\n";
    let path = "/api/esc/environments/acme/app/creds";
    let patched = patch_yaml(&server, path, opened, None).await;
    assert_eq!(patched.status, StatusCode::OK, "{}", patched.body);
    // Overriding a member of an imported value that is unknown in a check:
    // its base is a late-bound `access` into that unknown.
    let importer = "imports:\n  - app/creds\nvalues:\n  creds:\n    user: me\n";
    let cli = check(&server, importer, "", CLI_ACCEPT).await;
    assert_eq!(cli.status, StatusCode::OK, "{}", cli.body);
    let json = cli.json();
    let base = &json["exprs"]["creds"]["object"]["user"]["base"];
    assert!(base["access"]["accessors"].is_array(), "{}", cli.body);

    let sdk = check(&server, importer, "", "application/json").await;
    assert_eq!(sdk.status, StatusCode::OK, "{}", sdk.body);
    assert!(!sdk.body.contains("\"access\""), "{}", sdk.body);
    let json = sdk.json();
    let base = &json["exprs"]["creds"]["object"]["user"]["base"];
    assert!(base["range"].is_object(), "{}", sdk.body);
    server.stop().await;
}
