//! `esc env referrer list` and `esc env provider` in local mode and against
//! a real `esc serve` (the same commands, the same output).

use super::Esc;
use super::remote::start_server;

/// Both modes: a fresh local home and one logged in to a fresh server.
fn both_modes() -> (super::remote::Server, Vec<Esc>) {
    let server = start_server();
    let remote = Esc::new();
    remote.ok(&["login", &server.url, "--token", &server.token]);
    (server, vec![Esc::new(), remote])
}

#[test]
fn referrers_are_the_environments_importing_one() {
    let (_server, homes) = both_modes();
    for esc in &homes {
        esc.init("shared/base", "values:\n  region: us-west-2\n");
        esc.init("app/dev", "imports:\n  - shared/base\n");
        esc.init("app/pinned", "imports:\n  - shared/base@2\n");
        esc.init("app/old", "imports:\n  - shared/base\n");
        esc.ok(&["env", "set", "app/old", "imports", "[]"]);
        esc.init("app/plain", "values:\n  a: 1\n");

        let table = "┌──────────┬─────────────┬───────────┐\n\
                     │ REVISION │ KIND        │ REFERRER  │\n\
                     ├──────────┼─────────────┼───────────┤\n\
                     │ latest   │ environment │ app/dev@2 │\n\
                     └──────────┴─────────────┴───────────┘\n";
        assert_eq!(esc.ok(&["env", "referrer", "list", "shared/base"]), table);
        assert_eq!(esc.ok(&["env", "referrer", "ls", "shared/base"]), table);
        assert_eq!(
            esc.ok(&["env", "referrer", "ls", "--env", "shared/base", "--all"]),
            table
        );
        assert_eq!(
            esc.ok(&[
                "env",
                "referrer",
                "list",
                "shared/base",
                "--all-revisions",
                "--count",
                "500"
            ]),
            "┌──────────┬─────────────┬──────────────┐\n\
             │ REVISION │ KIND        │ REFERRER     │\n\
             ├──────────┼─────────────┼──────────────┤\n\
             │ latest   │ environment │ app/dev@2    │\n\
             │ 2        │ environment │ app/pinned@2 │\n\
             └──────────┴─────────────┴──────────────┘\n"
        );
        assert_eq!(
            esc.ok(&[
                "env",
                "referrer",
                "list",
                "shared/base",
                "--all-revisions",
                "--output",
                "json"
            ]),
            "{\n  \"referrers\": {\n    \"2\": [\n      {\n        \"environment\": {\n          \"project\": \"app\",\n          \"name\": \"pinned\",\n          \"revision\": 2\n        }\n      }\n    ],\n    \"latest\": [\n      {\n        \"environment\": {\n          \"project\": \"app\",\n          \"name\": \"dev\",\n          \"revision\": 2\n        }\n      }\n    ]\n  }\n}\n"
        );
        // nothing refers to app/dev: nothing printed
        assert_eq!(esc.ok(&["env", "referrer", "list", "app/dev"]), "");
        assert_eq!(
            esc.ok(&["env", "referrer", "list", "app/dev", "--output", "json"]),
            "{\n  \"referrers\": {}\n}\n"
        );

        for (args, error) in [
            (
                &["shared/base", "--count", "501"][..],
                "Error: --count must be in the range [1, 500]\n",
            ),
            (
                &["shared/base", "--count", "-1"][..],
                "Error: --count must be in the range [1, 500]\n",
            ),
            (
                &["shared/base", "--count", "5", "--all"][..],
                "Error: --all and --count are mutually exclusive\n",
            ),
            (
                &["shared/base@2"][..],
                "Error: the list command does not accept versions\n",
            ),
            (
                &["shared/base", "--output", "yaml"][..],
                "Error: invalid --output \"yaml\": must be \"text\" or \"json\"\n",
            ),
            (
                &["shared/base", "app/dev"][..],
                "Error: accepts 1 arg(s), received 2\n",
            ),
        ] {
            let mut full = vec!["env", "referrer", "list"];
            full.extend_from_slice(args);
            assert_eq!(esc.fails(&full), error, "{args:?}");
        }
        let missing = esc.fails(&["env", "referrer", "list", "shared/nope"]);
        assert!(missing.starts_with("Error: [404] "), "{missing}");
        // the group alone prints its help
        assert!(esc.ok(&["env", "referrer"]).contains("list"));
    }
}

#[test]
fn all_follows_the_continuation_token_across_pages() {
    // local mode's page is 100 referrers: 101 need two pages
    let esc = Esc::new();
    esc.init("shared/base", "values:\n  a: 1\n");
    // 101 referrers written straight into the local store (101 `esc env
    // init` runs take half a minute on a loaded machine)
    let data = esc.home().join("data");
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        let (store, _) = esc_store::SqlStore::open(esc_store::Location::Embedded(&data))
            .await
            .unwrap();
        let author = esc_store::Author::new("test-user", "test-user");
        for i in 0..101 {
            let env = esc_store::EnvRef::new("test-user", "app", format!("e{i:03}"));
            store.create_environment(&env, &author).await.unwrap();
            store
                .update_environment(&env, b"imports:\n  - shared/base\n", None, &author)
                .await
                .unwrap();
        }
    });
    let rows = |out: &str| -> Vec<String> {
        out.lines()
            .filter(|line| line.starts_with("│ latest"))
            .map(str::to_owned)
            .collect()
    };
    let first_page = esc.ok(&["env", "referrer", "list", "shared/base"]);
    assert_eq!(rows(&first_page).len(), 100);
    let all = esc.ok(&["env", "referrer", "list", "shared/base", "--all"]);
    let all = rows(&all);
    assert_eq!(all.len(), 101);
    assert_eq!(all[0], "│ latest   │ environment │ app/e000@2 │");
    assert_eq!(all[100], "│ latest   │ environment │ app/e100@2 │");
}

#[test]
fn providers_write_their_block_and_the_server_checks_it() {
    let (_server, homes) = both_modes();
    for esc in &homes {
        let before = "values:\n  region: us-west-2\n";
        esc.init("app/dev", before);
        let user = if esc.ok(&["whoami"]).starts_with("User: alice") {
            "alice"
        } else {
            "test-user"
        };

        // Our server has no aws-login provider: its check refuses the
        // block, shown YAML-style with the secret masked, and nothing is
        // stored.
        let out = esc
            .cmd()
            .args([
                "env",
                "provider",
                "aws-login",
                "static",
                "app/dev",
                "AKIAEXAMPLE",
                "s3cr3t-value",
                "--session-token",
                "t0ken-value",
                "--path",
                "cloud.aws",
            ])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1));
        assert_eq!(String::from_utf8_lossy(&out.stdout), "");
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert!(
            stderr.starts_with(
                "Error: unknown provider \"aws-login\"\n\n  on app/dev line 5:\n   5:       fn::open::aws-login:\n   6:         static:\n   7:           accessKeyId: AKIAEXAMPLE\n   8:           secretAccessKey:\n   9:             fn::secret: '[secret]'\n"
            ),
            "{stderr}"
        );
        assert!(
            stderr.ends_with("Error: provider update failed\n"),
            "{stderr}"
        );
        assert!(
            !stderr.contains("s3cr3t") && !stderr.contains("t0ken"),
            "{stderr}"
        );
        assert_eq!(esc.ok(&["env", "get", "app/dev", "--definition"]), before);

        // a missing environment, with and without --create
        assert_eq!(
            esc.fails(&[
                "env",
                "provider",
                "azure-login",
                "oidc",
                "app/nope",
                "t",
                "s",
                "c"
            ]),
            format!(
                "Error: environment {user}/app/nope does not exist; pass --create to create it, or run `esc env init {user}/app/nope` first\n"
            )
        );
        let out = esc
            .cmd()
            .args([
                "env",
                "provider",
                "gcp-login",
                "oidc",
                "app/new",
                "123",
                "--create",
                "--workload-pool-id",
                "pool",
                "--provider-id",
                "prov",
                "--service-account",
                "sa@p.iam.gserviceaccount.com",
            ])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1));
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            format!("Environment created: {user}/app/new\n")
        );
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert!(
            // the new definition as yaml.v3 marshals it (four spaces), as the
            // reference sends it
            stderr.starts_with("Error: unknown provider \"gcp-login\"\n\n  on app/new line 4:\n   4:             fn::open::gcp-login:\n   5:                 project: 123\n   6:                 oidc:\n   7:                     workloadPoolId: pool\n"),
            "{stderr}"
        );
        assert_eq!(esc.ok(&["env", "get", "app/new", "--definition"]), "");

        // argument mistakes, checked before anything is written
        for (args, error) in [
            (
                &["aws-login", "static", "app/dev", "AKIA"][..],
                "Error: expected <access-key-id> and <secret-access-key>\n",
            ),
            (
                &["aws-login", "static", "app/dev", "a", "b", "c"][..],
                "Error: accepts between 2 and 3 arg(s), received 4\n",
            ),
            (
                &["aws-login", "oidc", "app/dev@2", "arn", "sess"][..],
                "Error: the provider command does not accept versions\n",
            ),
            (
                &["azure-login", "static", "app/dev", "t", "s", "c"][..],
                "Error: expected <tenant-id> <subscription-id> <client-id> <client-secret>\n",
            ),
            (
                &["gcp-login", "static", "app/dev", "0", "tok"][..],
                "Error: invalid project number \"0\": must be a positive integer\n",
            ),
            (
                &["gcp-login", "oidc", "app/dev", "12", "--provider-id", "p"][..],
                "Error: required flag(s) \"service-account\", \"workload-pool-id\" not set\n",
            ),
            (
                &[
                    "aws-login",
                    "oidc",
                    "app/dev",
                    "arn",
                    "sess",
                    "--path",
                    "a[x",
                ][..],
                "Error: invalid --path: missing closing bracket in array index\n",
            ),
            (
                &[
                    "aws-login",
                    "oidc",
                    "app/dev",
                    "arn",
                    "sess",
                    "--path",
                    "region.x",
                ][..],
                "Error: setting provider at [region x]: region.x: expected an array or an object\n",
            ),
        ] {
            let mut full = vec!["env", "provider"];
            full.extend_from_slice(args);
            assert_eq!(esc.fails(&full), error, "{args:?}");
        }
        assert_eq!(esc.ok(&["env", "get", "app/dev", "--definition"]), before);
        // groups alone print their help
        assert!(esc.ok(&["env", "provider"]).contains("aws-login"));
        assert!(esc.ok(&["env", "provider", "gcp-login"]).contains("oidc"));
    }
}
