//! `esc env webhook new|edit|get|list|ping|delivery list|rm` (spec/CLI.md
//! `esc env webhook`, API.md § 5.11). Times print as RFC 3339 in UTC (`--utc`
//! is accepted; this CLI prints UTC throughout).

use std::process::ExitCode;

use anyhow::bail;
use clap::{ArgAction, Args, Subcommand};

use super::versions::{Cell, table};
use super::{Ctx, check_args, json_output, parse_unversioned, with_env_flag};
use crate::backend::webhooks::{DeliveryInfo, WebhookFields, WebhookInfo};
use crate::env_ref::EnvName;
use crate::format;
use crate::messages;

/// Sent as the secret to clear it.
const REMOVE_SECRET: &str = "__remove-secret";
/// The formats a webhook may have.
const FORMATS: &[&str] = &["raw", "slack", "ms_teams", "pulumi_deployments"];

/// `esc env webhook`.
#[derive(Debug, Args)]
pub(crate) struct WebhookCommand {
    #[command(subcommand)]
    command: Option<WebhookSubcommand>,
}

#[derive(Debug, Subcommand)]
enum WebhookSubcommand {
    /// List the webhooks of an environment
    #[command(
        visible_alias = "ls",
        after_help = "Example:\n  esc env webhook list myproject/dev"
    )]
    List(ListArgs),
    /// Show a webhook
    #[command(after_help = "Example:\n  esc env webhook get myproject/dev hook-1")]
    Get(GetArgs),
    /// Create a webhook
    #[command(
        long_about = "[EXPERIMENTAL] Create a webhook\n\nThe webhook receives a JSON payload whenever one of its events happens to the environment (events: created, updated, deleted, tagged, rotated, rotation_failed; group: environments = all of them). With --secret, each delivery carries Pulumi-Webhook-Signature: the hex HMAC-SHA256 of the body keyed with the secret.\n\nURL requirements depend on --format:\n  raw, ms_teams:      an http(s) URL\n  slack:              must begin with https://hooks.slack.com/\n  pulumi_deployments: must be of the form <project>/<stack>",
        after_help = "Example:\n  esc env webhook new myproject/dev deploy --url https://example.com/hook --event updated --secret \"$SECRET\""
    )]
    New(NewArgs),
    /// Change a webhook
    #[command(
        long_about = "[EXPERIMENTAL] Change a webhook\n\nOnly the fields given by flags change. --event replaces the events; --add-event and --remove-event change them (not together with --event); the same for groups. --remove-secret clears the secret.",
        after_help = "Example:\n  esc env webhook edit myproject/dev hook-1 --active=false\n  esc env webhook edit myproject/dev hook-1 --add-event rotated"
    )]
    Edit(EditArgs),
    /// Remove a webhook
    #[command(after_help = "Example:\n  esc env webhook rm myproject/dev hook-1")]
    Rm(PlainArgs),
    /// Send a test delivery to a webhook now
    #[command(after_help = "Example:\n  esc env webhook ping myproject/dev hook-1")]
    Ping(PlainArgs),
    /// Inspect a webhook's deliveries
    #[command(after_help = "Example:\n  esc env webhook delivery list myproject/dev hook-1")]
    Delivery(DeliveryCommand),
}

#[derive(Debug, Args)]
struct ListArgs {
    #[arg(value_name = "REF")]
    args: Vec<String>,
    /// The most webhooks to list (0: all)
    #[arg(long, default_value_t = 0)]
    count: usize,
    /// Output format: text or json
    #[arg(long, default_value = "text")]
    output: String,
}

#[derive(Debug, Args)]
struct GetArgs {
    #[arg(value_name = "REF NAME")]
    args: Vec<String>,
    /// Output format: text or json
    #[arg(long, default_value = "text")]
    output: String,
}

#[derive(Debug, Args)]
struct PlainArgs {
    #[arg(value_name = "REF NAME")]
    args: Vec<String>,
}

#[derive(Debug, Args)]
struct NewArgs {
    #[arg(value_name = "REF DISPLAY-NAME")]
    args: Vec<String>,
    /// The URL deliveries are posted to (required)
    #[arg(long)]
    url: Option<String>,
    /// The payload format: raw, slack, ms_teams or pulumi_deployments
    #[arg(long, default_value = "raw")]
    format: String,
    /// An event to deliver (repeatable)
    #[arg(long = "event", action = ArgAction::Append)]
    events: Vec<String>,
    /// An event group to deliver (repeatable)
    #[arg(long = "group", action = ArgAction::Append)]
    groups: Vec<String>,
    /// Whether the webhook is active (--active=false to create it paused)
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "true")]
    active: bool,
    /// A shared secret that signs deliveries
    #[arg(long)]
    secret: Option<String>,
}

#[derive(Debug, Args)]
struct EditArgs {
    #[arg(value_name = "REF NAME")]
    args: Vec<String>,
    /// The URL deliveries are posted to
    #[arg(long)]
    url: Option<String>,
    /// The display name
    #[arg(long)]
    display_name: Option<String>,
    /// The payload format
    #[arg(long)]
    format: Option<String>,
    /// Replace the events (repeatable)
    #[arg(long = "event", action = ArgAction::Append)]
    events: Option<Vec<String>>,
    /// Replace the event groups (repeatable)
    #[arg(long = "group", action = ArgAction::Append)]
    groups: Option<Vec<String>>,
    /// Whether the webhook is active
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true")]
    active: Option<bool>,
    /// Replace the shared secret ("" keeps it)
    #[arg(long)]
    secret: Option<String>,
    /// Clear the shared secret
    #[arg(long)]
    remove_secret: bool,
    /// Add an event (repeatable)
    #[arg(long = "add-event", action = ArgAction::Append)]
    add_events: Vec<String>,
    /// Remove an event (repeatable)
    #[arg(long = "remove-event", action = ArgAction::Append)]
    remove_events: Vec<String>,
    /// Add an event group (repeatable)
    #[arg(long = "add-group", action = ArgAction::Append)]
    add_groups: Vec<String>,
    /// Remove an event group (repeatable)
    #[arg(long = "remove-group", action = ArgAction::Append)]
    remove_groups: Vec<String>,
}

#[derive(Debug, Args)]
struct DeliveryCommand {
    #[command(subcommand)]
    command: Option<DeliverySubcommand>,
}

#[derive(Debug, Subcommand)]
enum DeliverySubcommand {
    /// List a webhook's deliveries, newest first
    #[command(
        visible_alias = "ls",
        after_help = "Example:\n  esc env webhook delivery list myproject/dev hook-1"
    )]
    List(DeliveryListArgs),
}

#[derive(Debug, Args)]
struct DeliveryListArgs {
    #[arg(value_name = "REF NAME")]
    args: Vec<String>,
    /// Print times in UTC (they always are)
    #[arg(long)]
    utc: bool,
    /// The most deliveries to list (0: the service's default, 100)
    #[arg(long, default_value_t = 0)]
    count: u32,
    /// Output format: text or json
    #[arg(long, default_value = "text")]
    output: String,
}

/// Run `esc env webhook …`.
pub(crate) async fn webhook(
    ctx: &Ctx,
    flag: Option<String>,
    command: WebhookCommand,
) -> anyhow::Result<ExitCode> {
    let Some(command) = command.command else {
        print_help(&["env", "webhook"])?;
        return Ok(ExitCode::SUCCESS);
    };
    match command {
        WebhookSubcommand::List(args) => {
            let json = json_output(&args.output)?;
            let (env, _) = target(ctx, &flag, args.args, 1, "list").await?;
            let mut hooks = ctx.backend.list_webhooks(&env).await?;
            if args.count > 0 {
                hooks.truncate(args.count);
            }
            if json {
                messages::out(&render_json(&hooks)?)?;
            } else if !hooks.is_empty() {
                let rows: Vec<Vec<Cell>> = hooks
                    .iter()
                    .map(|h| {
                        vec![
                            Cell::Text(h.name.clone()),
                            Cell::Text(h.display_name.clone()),
                            Cell::Text(h.payload_url.clone()),
                            Cell::Text(h.active.to_string()),
                            Cell::Text(dash(&h.format)),
                        ]
                    })
                    .collect();
                messages::out(&table(
                    &["NAME", "DISPLAY NAME", "URL", "ACTIVE", "FORMAT"],
                    &rows,
                ))?;
            }
        }
        WebhookSubcommand::Get(args) => {
            let json = json_output(&args.output)?;
            let (env, name) = target(ctx, &flag, args.args, 2, "get").await?;
            let hook = ctx.backend.webhook(&env, &name).await?;
            if json {
                messages::out(&render_json(&hook)?)?;
            } else {
                messages::out(&hook_block(&hook))?;
            }
        }
        WebhookSubcommand::New(args) => {
            let (env, display_name) = target(ctx, &flag, args.args, 2, "new").await?;
            let Some(url) = args.url.filter(|url| !url.is_empty()) else {
                bail!("--url is required");
            };
            check_format(&args.format)?;
            check_url(&args.format, &url)?;
            let hook = ctx
                .backend
                .create_webhook(
                    &env,
                    &WebhookFields {
                        display_name,
                        payload_url: url,
                        format: Some(args.format),
                        filters: args.events,
                        groups: args.groups,
                        active: args.active,
                        secret: args.secret,
                    },
                )
                .await?;
            messages::out(&format!(
                "Created webhook \"{}\" for {env}; use this name to reference the webhook in other commands.\n",
                hook.name
            ))?;
        }
        WebhookSubcommand::Edit(args) => edit(ctx, &flag, args).await?,
        WebhookSubcommand::Rm(args) => {
            let (env, name) = target(ctx, &flag, args.args, 2, "rm").await?;
            ctx.backend.delete_webhook(&env, &name).await?;
            messages::out(&format!("Removed webhook {name} from {env}\n"))?;
        }
        WebhookSubcommand::Ping(args) => {
            let (env, name) = target(ctx, &flag, args.args, 2, "ping").await?;
            let delivery = ctx.backend.ping_webhook(&env, &name).await?;
            messages::out(&format!(
                "ID: {}\nKind: {}\nResponse code: {}\nDuration (ms): {}\n",
                delivery.id, delivery.kind, delivery.response_code, delivery.duration
            ))?;
        }
        WebhookSubcommand::Delivery(delivery) => {
            let Some(DeliverySubcommand::List(args)) = delivery.command else {
                print_help(&["env", "webhook", "delivery"])?;
                return Ok(ExitCode::SUCCESS);
            };
            let json = json_output(&args.output)?;
            let (env, name) = target(ctx, &flag, args.args, 2, "list").await?;
            let deliveries = ctx
                .backend
                .webhook_deliveries(&env, &name, args.count)
                .await?;
            if json {
                messages::out(&render_json(&deliveries)?)?;
            } else if !deliveries.is_empty() {
                messages::out(&deliveries_table(&deliveries))?;
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn edit(ctx: &Ctx, flag: &Option<String>, args: EditArgs) -> anyhow::Result<()> {
    let (env, name) = target(ctx, flag, args.args, 2, "edit").await?;
    let incremental = !args.add_events.is_empty() || !args.remove_events.is_empty();
    if args.events.is_some() && incremental {
        bail!("--event cannot be combined with --add-event or --remove-event");
    }
    let incremental_groups = !args.add_groups.is_empty() || !args.remove_groups.is_empty();
    if args.groups.is_some() && incremental_groups {
        bail!("--group cannot be combined with --add-group or --remove-group");
    }
    if args.secret.is_some() && args.remove_secret {
        bail!("--secret cannot be combined with --remove-secret");
    }
    if let Some(format) = &args.format {
        check_format(format)?;
    }
    let current = ctx.backend.webhook(&env, &name).await?;
    let format = args
        .format
        .clone()
        .unwrap_or_else(|| current.format.clone());
    if let Some(url) = &args.url {
        check_url(&format, url)?;
    }
    let fields = WebhookFields {
        display_name: args.display_name.unwrap_or(current.display_name),
        payload_url: args.url.unwrap_or(current.payload_url),
        format: args.format,
        filters: args
            .events
            .unwrap_or_else(|| merge(&current.filters, &args.add_events, &args.remove_events)),
        groups: args
            .groups
            .unwrap_or_else(|| merge(&current.groups, &args.add_groups, &args.remove_groups)),
        active: args.active.unwrap_or(current.active),
        secret: if args.remove_secret {
            Some(REMOVE_SECRET.to_owned())
        } else {
            args.secret
        },
    };
    let hook = ctx.backend.update_webhook(&env, &name, &fields).await?;
    messages::out(&format!("Updated webhook {} for {env}\n", hook.name))?;
    Ok(())
}

/// The environment (never versioned) and, with `count` 2, the second
/// positional.
async fn target(
    ctx: &Ctx,
    flag: &Option<String>,
    args: Vec<String>,
    count: usize,
    command: &str,
) -> anyhow::Result<(EnvName, String)> {
    let args = with_env_flag(flag, args);
    check_args(&args, count, Some(count))?;
    let env = ctx.resolve(&parse_unversioned(&args[0], command)?).await?;
    let second = args.get(1).cloned().unwrap_or_default();
    if count == 2 && second.is_empty() {
        bail!("webhook name cannot be empty");
    }
    Ok((env, second))
}

fn check_format(format: &str) -> anyhow::Result<()> {
    if !FORMATS.contains(&format) {
        bail!(
            "invalid --format {}: must be one of raw, slack, ms_teams, pulumi_deployments",
            esc_eval::go_quote(format)
        );
    }
    Ok(())
}

/// The URL rules of each format (the service checks them again, with its
/// own address policy).
fn check_url(format: &str, url: &str) -> anyhow::Result<()> {
    let quoted = esc_eval::go_quote(url);
    match format {
        "slack" if !url.starts_with("https://hooks.slack.com/") => {
            bail!(
                "invalid --url {quoted}: a slack webhook URL must begin with https://hooks.slack.com/"
            )
        }
        "pulumi_deployments" => {
            let valid = url.split_once('/').is_some_and(|(project, stack)| {
                !project.is_empty() && !stack.is_empty() && !stack.contains('/')
            });
            if !valid {
                bail!(
                    "invalid --url {quoted}: a pulumi_deployments webhook URL must be of the form <project>/<stack>"
                );
            }
        }
        "slack" => {}
        _ => {
            let host = url
                .strip_prefix("https://")
                .or_else(|| url.strip_prefix("http://"))
                .map(|rest| rest.split(['/', '?', '#']).next().unwrap_or_default());
            if host.is_none_or(str::is_empty) {
                bail!("invalid --url {quoted}: must be an http(s) URL with a host");
            }
        }
    }
    Ok(())
}

/// `existing` minus `removes`, then `adds` not already there.
fn merge(existing: &[String], adds: &[String], removes: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for item in existing.iter().chain(adds) {
        if !removes.contains(item) && !out.contains(item) {
            out.push(item.clone());
        }
    }
    out
}

fn dash(text: &str) -> String {
    if text.is_empty() {
        "-".to_owned()
    } else {
        text.to_owned()
    }
}

fn joined(items: &[String]) -> String {
    if items.is_empty() {
        "-".to_owned()
    } else {
        items.join(", ")
    }
}

fn hook_block(hook: &WebhookInfo) -> String {
    format!(
        "Name: {}\nDisplay name: {}\nURL: {}\nActive: {}\nFormat: {}\nEvents: {}\nEvent groups: {}\nHas secret: {}\n",
        hook.name,
        hook.display_name,
        hook.payload_url,
        hook.active,
        dash(&hook.format),
        joined(&hook.filters),
        joined(&hook.groups),
        hook.has_secret
    )
}

fn deliveries_table(deliveries: &[DeliveryInfo]) -> String {
    let rows: Vec<Vec<Cell>> = deliveries
        .iter()
        .map(|d| {
            vec![
                Cell::Text(d.id.clone()),
                Cell::Text(d.kind.clone()),
                Cell::Text(
                    esc_store::Timestamp::from_unix_millis(d.timestamp.saturating_mul(1000))
                        .rfc3339(),
                ),
                Cell::Number(d.response_code.to_string()),
                Cell::Number(d.duration.to_string()),
            ]
        })
        .collect();
    table(
        &["ID", "KIND", "TIMESTAMP", "RESPONSE", "DURATION (MS)"],
        &rows,
    )
}

/// `--output json`: 2-space indented, HTML-escaped like every JSON output.
fn render_json<T: serde::Serialize>(value: &T) -> anyhow::Result<String> {
    format::json::render_serialize(value)
}

fn print_help(path: &[&str]) -> anyhow::Result<()> {
    let mut cmd = <crate::cli::Cli as clap::CommandFactory>::command();
    for name in path {
        match cmd.find_subcommand(name) {
            Some(sub) => cmd = sub.clone(),
            None => break,
        }
    }
    messages::out(&format!("{}\n", cmd.render_long_help()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn merging_events_keeps_order_and_drops_removed() {
        assert_eq!(
            merge(
                &strings(&["created", "updated"]),
                &strings(&["rotated", "updated"]),
                &strings(&["created"])
            ),
            strings(&["updated", "rotated"])
        );
    }

    #[test]
    fn urls_follow_the_format() {
        assert!(check_url("raw", "https://example.com/x").is_ok());
        assert!(check_url("raw", "http://127.0.0.1:8080/x").is_ok());
        assert!(check_url("raw", "ftp://example.com/").is_err());
        assert!(check_url("raw", "https:///x").is_err());
        assert!(check_url("slack", "https://hooks.slack.com/services/a").is_ok());
        assert!(check_url("slack", "https://example.com/").is_err());
        assert!(check_url("pulumi_deployments", "infra/prod").is_ok());
        assert!(check_url("pulumi_deployments", "infra").is_err());
        assert_eq!(
            check_format("xml").err().map(|e| e.to_string()).as_deref(),
            Some(
                "invalid --format \"xml\": must be one of raw, slack, ms_teams, pulumi_deployments"
            )
        );
    }

    #[test]
    fn the_block_shows_dashes_for_empty_lists() {
        let hook = WebhookInfo {
            name: "hook-1".into(),
            display_name: "deploy".into(),
            payload_url: "https://example.invalid/hook".into(),
            active: true,
            format: "raw".into(),
            filters: strings(&["created", "updated"]),
            ..WebhookInfo::default()
        };
        assert_eq!(
            hook_block(&hook),
            "Name: hook-1\nDisplay name: deploy\nURL: https://example.invalid/hook\nActive: true\nFormat: raw\nEvents: created, updated\nEvent groups: -\nHas secret: false\n"
        );
    }
}
