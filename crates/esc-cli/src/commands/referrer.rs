//! `esc env referrer list|ls <ref>` (spec/CLI.md § 5): what refers to an
//! environment, grouped by the revision it refers to. Against our own
//! server and in local mode only environments can refer (they import it);
//! stacks and Insights accounts come from Pulumi Cloud-compatible servers.

use std::cmp::Ordering;
use std::process::ExitCode;

use anyhow::bail;
use clap::{Args, Subcommand};

use super::versions::{Cell, table};
use super::{Ctx, check_args, json_output, parse_unversioned, with_env_flag};
use crate::backend::referrers::{Referrer, ReferrersPage, ReferrersQuery};
use crate::format::json::newline;
use crate::messages;

/// The largest `--count`.
const MAX_COUNT: i64 = 500;

/// Pages `--all` fetches at most (500 referrers each at the most).
const MAX_PAGES: usize = 10_000;

/// `esc env referrer`.
#[derive(Debug, Args)]
pub(crate) struct ReferrerCommand {
    #[command(subcommand)]
    command: Option<ReferrerSubcommand>,
}

#[derive(Debug, Subcommand)]
enum ReferrerSubcommand {
    /// List entities that reference an environment.
    #[command(
        visible_alias = "ls",
        long_about = "[EXPERIMENTAL] List entities that reference an environment\n\nThis command lists referrers (other environments, Pulumi IaC stacks, and Pulumi\nInsights accounts) that reference the given environment. Results are grouped by\nthe revision of the referenced environment. An esc server (and local mode) knows\nonly environments: those whose newest revision imports this one.",
        after_help = "Example:\n  esc env referrer list myproject/base\n  esc env referrer ls myproject/base --all-revisions --all\n  esc env referrer list myproject/base --count 50 --output json"
    )]
    List(ListArgs),
}

#[derive(Debug, Args)]
struct ListArgs {
    #[arg(value_name = "REF")]
    args: Vec<String>,
    /// The maximum number of referrers to return (server default if unset; max 500). Mutually exclusive with --all
    #[arg(long, default_value_t = 0, allow_negative_numbers = true)]
    count: i64,
    /// Return all referrers, paginating through every page. Mutually exclusive with --count
    #[arg(long)]
    all: bool,
    /// Include referrers across all revisions of the environment, not just the latest
    #[arg(long)]
    all_revisions: bool,
    /// Only include the latest version of each referring stack
    #[arg(long)]
    latest_stack_version_only: bool,
    /// Output format: text or json
    #[arg(long, default_value = "text")]
    output: String,
}

/// `env referrer …`.
pub(super) async fn referrer(
    ctx: &Ctx,
    flag: Option<String>,
    command: ReferrerCommand,
) -> anyhow::Result<ExitCode> {
    let Some(ReferrerSubcommand::List(args)) = command.command else {
        let mut cmd = <crate::cli::Cli as clap::CommandFactory>::command();
        cmd.build();
        if let Some(sub) = cmd
            .find_subcommand_mut("env")
            .and_then(|env| env.find_subcommand_mut("referrer"))
        {
            messages::out(&format!("{}\n", sub.render_long_help()))?;
        }
        return Ok(ExitCode::SUCCESS);
    };
    let json = json_output(&args.output)?;
    let positional = with_env_flag(&flag, args.args);
    check_args(&positional, 1, Some(1))?;
    let r = parse_unversioned(&positional[0], "list")?;
    let name = ctx.resolve(&r).await?;
    if args.all && args.count != 0 {
        bail!("--all and --count are mutually exclusive");
    }
    if !(0..=MAX_COUNT).contains(&args.count) {
        bail!("--count must be in the range [1, {MAX_COUNT}]");
    }
    let count = u32::try_from(args.count).unwrap_or(0);
    let mut merged = ReferrersPage::default();
    let mut token: Option<String> = None;
    for _ in 0..MAX_PAGES {
        let page = ctx
            .backend
            .referrers(
                &name,
                &ReferrersQuery {
                    count: (count > 0).then_some(count),
                    all_revisions: args.all_revisions,
                    latest_stack_version_only: args.latest_stack_version_only,
                    continuation_token: token.clone(),
                },
            )
            .await?;
        for (key, group) in page.referrers {
            merged.referrers.entry(key).or_default().extend(group);
        }
        if !args.all || page.continuation_token.is_empty() {
            break;
        }
        token = Some(page.continuation_token);
    }
    if json {
        messages::out(&render_json(&merged))?;
    } else {
        messages::out(&render_table(&merged))?;
    }
    Ok(ExitCode::SUCCESS)
}

/// The table of spec/CLI.md: groups `latest`, then revision numbers
/// ascending, then other keys; rows in a group by "kind referrer"; nothing
/// when there are no referrers.
fn render_table(page: &ReferrersPage) -> String {
    if page.referrers.is_empty() {
        return String::new();
    }
    let mut keys: Vec<&String> = page.referrers.keys().collect();
    keys.sort_by(|a, b| compare_keys(a, b));
    let mut rows = Vec::new();
    for key in keys {
        let mut group: Vec<(String, String)> =
            page.referrers[key.as_str()].iter().map(columns).collect();
        group.sort_by(|a, b| format!("{} {}", a.0, a.1).cmp(&format!("{} {}", b.0, b.1)));
        for (kind, referrer) in group {
            rows.push(vec![
                Cell::Text(key.clone()),
                Cell::Text(kind),
                Cell::Text(referrer),
            ]);
        }
    }
    table(&["REVISION", "KIND", "REFERRER"], &rows)
}

/// `latest` first, then numbers ascending, then the rest by bytes.
fn compare_keys(a: &str, b: &str) -> Ordering {
    match (a == "latest", b == "latest") {
        (true, true) => return Ordering::Equal,
        (true, false) => return Ordering::Less,
        (false, true) => return Ordering::Greater,
        _ => {}
    }
    match (a.parse::<i64>(), b.parse::<i64>()) {
        (Ok(x), Ok(y)) => x.cmp(&y),
        (Ok(_), Err(_)) => Ordering::Less,
        (Err(_), Ok(_)) => Ordering::Greater,
        (Err(_), Err(_)) => a.cmp(b),
    }
}

/// The KIND and REFERRER columns.
fn columns(referrer: &Referrer) -> (String, String) {
    match referrer {
        Referrer::Environment {
            project,
            name,
            revision,
        } => ("environment".into(), format!("{project}/{name}@{revision}")),
        Referrer::Stack {
            project,
            stack,
            version,
        } => ("stack".into(), format!("{project}/{stack}@{version}")),
        Referrer::Insights { account_name } => ("insights".into(), account_name.clone()),
        Referrer::Unknown => ("unknown".into(), String::new()),
    }
}

/// `{"referrers": {...}}` as the reference writes it: two-space indented,
/// groups by key, each referrer's fields in its wire order.
fn render_json(page: &ReferrersPage) -> String {
    let mut out = String::from("{");
    newline(1, &mut out);
    out.push_str("\"referrers\": ");
    if page.referrers.is_empty() {
        out.push_str("{}");
    } else {
        out.push('{');
        for (i, (key, group)) in page.referrers.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            newline(2, &mut out);
            esc_eval::write_json_string(key, &mut out);
            out.push_str(": ");
            if group.is_empty() {
                out.push_str("[]");
                continue;
            }
            out.push('[');
            for (j, referrer) in group.iter().enumerate() {
                if j > 0 {
                    out.push(',');
                }
                newline(3, &mut out);
                write_referrer(referrer, &mut out);
            }
            newline(2, &mut out);
            out.push(']');
        }
        newline(1, &mut out);
        out.push('}');
    }
    newline(0, &mut out);
    out.push_str("}\n");
    out
}

/// A field of a referrer object.
enum Field<'a> {
    Text(&'a str),
    Number(u64),
}

/// `{"<kind>": {fields}}` at nesting depth 3.
fn write_referrer(referrer: &Referrer, out: &mut String) {
    let (kind, fields): (&str, Vec<(&str, Field<'_>)>) = match referrer {
        Referrer::Environment {
            project,
            name,
            revision,
        } => (
            "environment",
            vec![
                ("project", Field::Text(project)),
                ("name", Field::Text(name)),
                ("revision", Field::Number(*revision)),
            ],
        ),
        Referrer::Stack {
            project,
            stack,
            version,
        } => (
            "stack",
            vec![
                ("project", Field::Text(project)),
                ("stack", Field::Text(stack)),
                ("version", Field::Number(*version)),
            ],
        ),
        Referrer::Insights { account_name } => (
            "insightsAccount",
            vec![("accountName", Field::Text(account_name))],
        ),
        Referrer::Unknown => {
            out.push_str("{}");
            return;
        }
    };
    out.push('{');
    newline(4, out);
    esc_eval::write_json_string(kind, out);
    out.push_str(": {");
    for (i, (name, value)) in fields.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        newline(5, out);
        esc_eval::write_json_string(name, out);
        out.push_str(": ");
        match value {
            Field::Text(text) => esc_eval::write_json_string(text, out),
            Field::Number(n) => out.push_str(&n.to_string()),
        }
    }
    newline(4, out);
    out.push('}');
    newline(3, out);
    out.push('}');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(project: &str, name: &str, revision: u64) -> Referrer {
        Referrer::Environment {
            project: project.into(),
            name: name.into(),
            revision,
        }
    }

    fn page(groups: &[(&str, Vec<Referrer>)]) -> ReferrersPage {
        ReferrersPage {
            referrers: groups
                .iter()
                .map(|(k, v)| ((*k).to_owned(), v.clone()))
                .collect(),
            continuation_token: String::new(),
        }
    }

    #[test]
    fn groups_are_ordered_latest_numbers_then_tags() {
        let mut keys = vec!["stable", "10", "latest", "2", "beta"];
        keys.sort_by(|a, b| compare_keys(a, b));
        assert_eq!(keys, ["latest", "2", "10", "beta", "stable"]);
    }

    #[test]
    fn the_table_sorts_rows_within_a_group() {
        let p = page(&[
            (
                "latest",
                vec![
                    Referrer::Stack {
                        project: "iac".into(),
                        stack: "prod".into(),
                        version: 42,
                    },
                    env("shared", "dev", 7),
                    Referrer::Insights {
                        account_name: "acct".into(),
                    },
                ],
            ),
            ("12", vec![env("b", "x", 3)]),
            ("3", vec![env("a", "y", 1)]),
        ]);
        assert_eq!(
            render_table(&p),
            "┌──────────┬─────────────┬──────────────┐\n\
             │ REVISION │ KIND        │ REFERRER     │\n\
             ├──────────┼─────────────┼──────────────┤\n\
             │ latest   │ environment │ shared/dev@7 │\n\
             │ latest   │ insights    │ acct         │\n\
             │ latest   │ stack       │ iac/prod@42  │\n\
             │ 3        │ environment │ a/y@1        │\n\
             │ 12       │ environment │ b/x@3        │\n\
             └──────────┴─────────────┴──────────────┘\n"
        );
        assert_eq!(render_table(&page(&[])), "");
    }

    #[test]
    fn json_keeps_the_wire_field_order() {
        let p = page(&[("latest", vec![env("shared", "<dev>", 7)])]);
        assert_eq!(
            render_json(&p),
            "{\n  \"referrers\": {\n    \"latest\": [\n      {\n        \"environment\": {\n          \"project\": \"shared\",\n          \"name\": \"\\u003cdev\\u003e\",\n          \"revision\": 7\n        }\n      }\n    ]\n  }\n}\n"
        );
        assert_eq!(render_json(&page(&[])), "{\n  \"referrers\": {}\n}\n");
    }
}
