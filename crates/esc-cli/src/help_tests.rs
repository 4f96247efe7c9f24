//! Every command's `--help` shows at least one example (an `Example:` or
//! `Examples:` section): walks clap's command tree (clap's own generated
//! `help` subcommands aside).

use clap::CommandFactory as _;

use crate::cli::Cli;

/// `(path, long help)` of `command` and every command below it.
fn walk(command: &mut clap::Command, path: &str, out: &mut Vec<(String, String)>) {
    out.push((path.to_owned(), command.render_long_help().to_string()));
    for sub in command.get_subcommands_mut() {
        if sub.get_name() == "help" {
            continue;
        }
        let sub_path = format!("{path} {}", sub.get_name());
        walk(sub, &sub_path, out);
    }
}

#[test]
fn every_command_has_an_example_in_its_help() {
    let mut root = Cli::command();
    root.build();
    let mut helps = Vec::new();
    walk(&mut root, "esc", &mut helps);
    // the tree as spec/CLI.md § 1 and our additions name it
    for expected in [
        "esc",
        "esc env",
        "esc env get",
        "esc env version rollback",
        "esc env tag ls",
        "esc env provider",
        "esc env provider aws-login static",
        "esc env provider azure-login oidc",
        "esc env provider gcp-login oidc",
        "esc env referrer",
        "esc env referrer list",
        "esc open",
        "esc run",
        "esc oidc",
        "esc oidc jwks",
        "esc oidc discovery",
        "esc oidc issuer",
        "esc serve",
    ] {
        assert!(
            helps.iter().any(|(path, _)| path == expected),
            "{expected} missing from the command tree"
        );
    }
    let missing: Vec<&str> = helps
        .iter()
        .filter(|(_, help)| !help.contains("Example"))
        .map(|(path, _)| path.as_str())
        .collect();
    assert!(missing.is_empty(), "no example in the help of {missing:?}");
}
