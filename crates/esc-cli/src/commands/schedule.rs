//! `esc env schedule new|edit|get|list|history|remove` (spec/CLI.md § 5,
//! API.md § 5.10): an environment's rotation schedule. Times print as RFC
//! 3339 in the local time zone, or in UTC with `--utc` (§ 6.9).
//!
//! Against a server, `esc serve`'s scheduler runs due schedules. In local
//! mode nothing runs in the background: a schedule that is due runs when
//! the next `esc` command opens the local store (any command), and not at
//! all while no `esc` command runs; each such run is reported on stderr
//! when stderr is a terminal, and recorded in the history.

use std::process::ExitCode;

use anyhow::{Context as _, bail};
use clap::{Args, Subcommand};

use super::versions::{Cell, table};
use super::{Ctx, check_args, json_output, parse_unversioned, with_env_flag};
use crate::backend::schedules::{ScheduleInfo, ScheduleRunInfo, ScheduleTiming};
use crate::env_ref::EnvName;
use crate::messages;
use crate::times::{self, Zone};

/// `esc env schedule`.
#[derive(Debug, Args)]
pub(crate) struct ScheduleCommand {
    #[command(subcommand)]
    command: Option<ScheduleSubcommand>,
}

#[derive(Debug, Subcommand)]
enum ScheduleSubcommand {
    /// Create the rotation schedule of an environment
    #[command(
        long_about = "[EXPERIMENTAL] Create the rotation schedule of an environment\n\nExactly one of --cron (five fields, UTC, at most once a day) or --once (an RFC 3339 time in the future). One schedule per environment.",
        after_help = "Example:\n  esc env schedule new myproject/dev --cron \"0 0 * * *\"\n  esc env schedule new myproject/dev --once 2030-06-01T00:00:00Z"
    )]
    New(TimingArgs),
    /// Change when a rotation schedule runs
    #[command(
        visible_aliases = ["update", "modify"],
        after_help = "Example:\n  esc env schedule edit myproject/dev <id> --cron \"30 0 * * *\""
    )]
    Edit(TimingArgs),
    /// Show a rotation schedule
    #[command(after_help = "Example:\n  esc env schedule get myproject/dev <id>")]
    Get(ReadArgs),
    /// List the rotation schedules of an environment
    #[command(
        visible_alias = "ls",
        after_help = "Example:\n  esc env schedule list myproject/dev"
    )]
    List(ReadArgs),
    /// Show the runs of a rotation schedule
    #[command(after_help = "Example:\n  esc env schedule history myproject/dev <id>")]
    History(ReadArgs),
    /// Remove a rotation schedule
    #[command(
        visible_aliases = ["rm", "delete"],
        after_help = "Example:\n  esc env schedule remove myproject/dev <id> --yes"
    )]
    Remove(RemoveArgs),
}

#[derive(Debug, Args)]
struct TimingArgs {
    #[arg(value_name = "REF [ID]")]
    args: Vec<String>,
    /// A cron expression: minute hour day-of-month month day-of-week (UTC)
    #[arg(long)]
    cron: Option<String>,
    /// A time to run once, RFC 3339 (e.g. 2030-06-01T00:00:00Z)
    #[arg(long)]
    once: Option<String>,
}

#[derive(Debug, Args)]
struct ReadArgs {
    #[arg(value_name = "REF [ID]")]
    args: Vec<String>,
    /// Print times in UTC
    #[arg(long)]
    utc: bool,
    /// Show at most this many entries (0: all)
    #[arg(long, default_value_t = 0)]
    count: usize,
    /// Output format: text or json
    #[arg(long, default_value = "text")]
    output: String,
}

#[derive(Debug, Args)]
struct RemoveArgs {
    #[arg(value_name = "REF ID")]
    args: Vec<String>,
    /// Skip the confirmation prompt
    #[arg(short, long)]
    yes: bool,
}

/// Runs `esc env schedule …`.
pub(crate) async fn schedule(
    ctx: &Ctx,
    flag: Option<String>,
    command: ScheduleCommand,
) -> anyhow::Result<ExitCode> {
    let Some(command) = command.command else {
        let mut cmd = <crate::cli::Cli as clap::CommandFactory>::command();
        // building names each subcommand's usage line `esc env schedule`
        cmd.build();
        let help = cmd
            .find_subcommand_mut("env")
            .and_then(|env| env.find_subcommand_mut("schedule"))
            .map(|schedule| schedule.render_long_help().to_string())
            .unwrap_or_default();
        messages::out(&format!("{help}\n"))?;
        return Ok(ExitCode::SUCCESS);
    };
    match command {
        ScheduleSubcommand::New(args) => new(ctx, flag, args).await,
        ScheduleSubcommand::Edit(args) => edit(ctx, flag, args).await,
        ScheduleSubcommand::Get(args) => get(ctx, flag, args).await,
        ScheduleSubcommand::List(args) => list(ctx, flag, args).await,
        ScheduleSubcommand::History(args) => history(ctx, flag, args).await,
        ScheduleSubcommand::Remove(args) => remove(ctx, flag, args).await,
    }
}

async fn environment(ctx: &Ctx, text: &str) -> anyhow::Result<EnvName> {
    let r = parse_unversioned(text, "schedule")?;
    ctx.resolve(&r).await
}

/// Exactly one of `--cron` / `--once`; `--once` RFC 3339 and in the future.
fn timing(args: &TimingArgs) -> anyhow::Result<ScheduleTiming> {
    match (&args.cron, &args.once) {
        (None, None) => bail!("exactly one of --cron or --once must be set"),
        (Some(_), Some(_)) => bail!("only one of --cron or --once may be set"),
        (Some(cron), None) => Ok(ScheduleTiming {
            cron: Some(cron.clone()),
            once: None,
        }),
        (None, Some(once)) => {
            let Some(at) = esc_service::parse_rfc3339(once) else {
                bail!(
                    "invalid --once {}: must be an RFC 3339 time such as 2030-06-01T00:00:00Z",
                    esc_eval::go_quote(once)
                );
            };
            if at <= esc_store::Timestamp::now().unix_millis() {
                bail!("--once must be in the future");
            }
            Ok(ScheduleTiming {
                cron: None,
                once: Some(once.clone()),
            })
        }
    }
}

async fn new(ctx: &Ctx, flag: Option<String>, args: TimingArgs) -> anyhow::Result<ExitCode> {
    let positional = with_env_flag(&flag, args.args.clone());
    check_args(&positional, 1, Some(1))?;
    let name = environment(ctx, &positional[0]).await?;
    let timing = timing(&args)?;
    let existing = ctx
        .backend
        .list_schedules(&name)
        .await
        .context("listing schedules")?;
    if let Some(first) = existing.first() {
        bail!(
            "environment {name} already has a schedule ({}); only one schedule per environment is currently supported",
            first.id
        );
    }
    let created = ctx
        .backend
        .create_schedule(&name, &timing)
        .await
        .context("creating schedule")?;
    messages::out(&format!("Created schedule {} for {name}\n", created.id))?;
    Ok(ExitCode::SUCCESS)
}

async fn edit(ctx: &Ctx, flag: Option<String>, args: TimingArgs) -> anyhow::Result<ExitCode> {
    let positional = with_env_flag(&flag, args.args.clone());
    check_args(&positional, 2, Some(2))?;
    let name = environment(ctx, &positional[0]).await?;
    let timing = timing(&args)?;
    let updated = ctx
        .backend
        .update_schedule(&name, &positional[1], &timing)
        .await
        .context("updating schedule")?;
    messages::out(&format!("Updated schedule {} for {name}\n", updated.id))?;
    Ok(ExitCode::SUCCESS)
}

async fn get(ctx: &Ctx, flag: Option<String>, args: ReadArgs) -> anyhow::Result<ExitCode> {
    let json = json_output(&args.output)?;
    let positional = with_env_flag(&flag, args.args);
    check_args(&positional, 2, Some(2))?;
    let name = environment(ctx, &positional[0]).await?;
    let found = ctx
        .backend
        .schedule(&name, &positional[1])
        .await
        .context("getting schedule")?;
    let found = in_zone(found, Zone::utc_if(args.utc));
    if json {
        return print_json(&schedule_json(&found));
    }
    messages::out(&format!(
        "ID: {}\nKind: {}\nSchedule: {}\nNext execution: {}\nLast executed: {}\n",
        found.id,
        found.kind,
        timing_text(&found),
        or_never(&found.next),
        or_never(&found.last)
    ))?;
    Ok(ExitCode::SUCCESS)
}

async fn list(ctx: &Ctx, flag: Option<String>, args: ReadArgs) -> anyhow::Result<ExitCode> {
    let json = json_output(&args.output)?;
    let positional = with_env_flag(&flag, args.args);
    check_args(&positional, 1, Some(1))?;
    let name = environment(ctx, &positional[0]).await?;
    let mut found = ctx
        .backend
        .list_schedules(&name)
        .await
        .context("listing schedules")?;
    limit(&mut found, args.count);
    let zone = Zone::utc_if(args.utc);
    let found: Vec<ScheduleInfo> = found.into_iter().map(|s| in_zone(s, zone)).collect();
    if json {
        return print_json(&serde_json::Value::Array(
            found.iter().map(schedule_json).collect(),
        ));
    }
    if found.is_empty() {
        return Ok(ExitCode::SUCCESS);
    }
    let rows: Vec<Vec<Cell>> = found
        .iter()
        .map(|s| {
            vec![
                Cell::Text(s.id.clone()),
                Cell::Text(s.kind.clone()),
                Cell::Text(timing_text(s)),
                Cell::Text(or_never(&s.next)),
                Cell::Text(or_never(&s.last)),
            ]
        })
        .collect();
    messages::out(&table(&["ID", "KIND", "SCHEDULE", "NEXT", "LAST"], &rows))?;
    Ok(ExitCode::SUCCESS)
}

async fn history(ctx: &Ctx, flag: Option<String>, args: ReadArgs) -> anyhow::Result<ExitCode> {
    let json = json_output(&args.output)?;
    let positional = with_env_flag(&flag, args.args);
    check_args(&positional, 2, Some(2))?;
    let name = environment(ctx, &positional[0]).await?;
    let mut runs = ctx
        .backend
        .schedule_runs(&name, &positional[1])
        .await
        .context("getting schedule history")?;
    limit(&mut runs, args.count);
    let zone = Zone::utc_if(args.utc);
    for run in &mut runs {
        run.executed = shown(&run.executed, zone);
    }
    if json {
        return print_json(&serde_json::Value::Array(
            runs.iter().map(run_json).collect(),
        ));
    }
    if runs.is_empty() {
        return Ok(ExitCode::SUCCESS);
    }
    let rows: Vec<Vec<Cell>> = runs
        .iter()
        .map(|run| {
            vec![
                Cell::Text(run.id.clone()),
                Cell::Text(or_never(&run.executed)),
                Cell::Number(run.version.to_string()),
                Cell::Text(run.result.clone()),
            ]
        })
        .collect();
    messages::out(&table(&["ID", "EXECUTED", "VERSION", "RESULT"], &rows))?;
    Ok(ExitCode::SUCCESS)
}

async fn remove(ctx: &Ctx, flag: Option<String>, args: RemoveArgs) -> anyhow::Result<ExitCode> {
    let positional = with_env_flag(&flag, args.args);
    check_args(&positional, 2, Some(2))?;
    let name = environment(ctx, &positional[0]).await?;
    let id = &positional[1];
    let skip = args.yes
        || std::env::var("PULUMI_SKIP_CONFIRMATIONS")
            .is_ok_and(|v| matches!(v.as_str(), "1" | "true" | "TRUE" | "True"));
    if !skip {
        messages::out(&format!(
            "This will permanently remove schedule {id} from {name}!\nPlease confirm that this is what you'd like to do by typing `remove`: "
        ))?;
        let mut line = String::new();
        std::io::stdin()
            .read_line(&mut line)
            .context("reading confirmation")?;
        if line.trim_end_matches(['\n', '\r']) != "remove" {
            bail!("confirmation declined");
        }
    }
    ctx.backend
        .delete_schedule(&name, id)
        .await
        .context("removing schedule")?;
    messages::out(&format!("Removed schedule {id} from {name}\n"))?;
    Ok(ExitCode::SUCCESS)
}

fn limit<T>(items: &mut Vec<T>, count: usize) {
    if count > 0 {
        items.truncate(count);
    }
}

/// The cron expression, or the one-time instant.
fn timing_text(schedule: &ScheduleInfo) -> String {
    if schedule.cron.is_empty() {
        schedule.once.clone()
    } else {
        schedule.cron.clone()
    }
}

/// A schedule with its times in `zone`.
fn in_zone(schedule: ScheduleInfo, zone: Zone) -> ScheduleInfo {
    ScheduleInfo {
        once: shown(&schedule.once, zone),
        next: shown(&schedule.next, zone),
        last: shown(&schedule.last, zone),
        ..schedule
    }
}

/// An RFC 3339 time from a backend, in `zone`; empty stays empty, anything
/// unreadable is shown as it came.
fn shown(time: &str, zone: Zone) -> String {
    match esc_service::parse_rfc3339(time) {
        Some(millis) => times::rfc3339(millis, zone),
        None => time.to_string(),
    }
}

fn or_never(time: &str) -> String {
    if time.is_empty() {
        "never".to_string()
    } else {
        time.to_string()
    }
}

fn schedule_json(schedule: &ScheduleInfo) -> serde_json::Value {
    serde_json::json!({
        "id": schedule.id,
        "kind": schedule.kind,
        "scheduleCron": schedule.cron,
        "scheduleOnce": schedule.once,
        "nextExecution": schedule.next,
        "lastExecuted": schedule.last,
    })
}

fn run_json(run: &ScheduleRunInfo) -> serde_json::Value {
    serde_json::json!({
        "id": run.id,
        "executed": run.executed,
        "version": run.version,
        "result": run.result,
    })
}

/// 2-space indented, HTML-escaped JSON and a newline (spec/CLI.md § 6.9).
fn print_json(value: &serde_json::Value) -> anyhow::Result<ExitCode> {
    messages::out(&crate::format::json::render_serialize(value)?)?;
    Ok(ExitCode::SUCCESS)
}
