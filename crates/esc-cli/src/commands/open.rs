//! `esc open`, `esc run` and `esc env rotate`. The open and the rotation
//! show `ui::Spinner` on a terminal while they take long.

use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context as _, bail};

use super::{Ctx, check_args, with_env_flag};
use crate::cli::{OpenArgs, RunArgs};
use crate::diags;
use crate::env_ref::EnvRef;
use crate::format::{self, Format, RenderOptions};
use crate::messages;
use crate::run;
use crate::ui;
use crate::value::{Data, PropertyPath, Value};

/// `-l/--lifetime`: a Go duration; a bad one is refused as pflag words a
/// flag value its parser refused.
fn parse_lifetime(text: &str) -> anyhow::Result<Duration> {
    parse_duration(text).map_err(|error| {
        anyhow::anyhow!(
            "invalid argument {} for \"-l, --lifetime\" flag: {error}",
            esc_eval::go_quote(text)
        )
    })
}

/// Parse a Go duration (`2h`, `1h30m`, `90s`, `1.5h`).
pub(crate) fn parse_duration(text: &str) -> anyhow::Result<Duration> {
    let bad = || anyhow::anyhow!("time: invalid duration {}", esc_eval::go_quote(text));
    if text == "0" {
        return Ok(Duration::ZERO);
    }
    let mut total = 0f64;
    let mut rest = text;
    if rest.is_empty() {
        return Err(bad());
    }
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(bad)?;
        let number: f64 = rest[..num_len].parse().map_err(|_| bad())?;
        rest = &rest[num_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let seconds = match &rest[..unit_len] {
            "ns" => 1e-9,
            "us" | "µs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return Err(bad()),
        };
        total += number * seconds;
        rest = &rest[unit_len..];
    }
    Duration::try_from_secs_f64(total).map_err(|_| bad())
}

/// Open `r` and report diagnostics; `None` when there were errors.
async fn open_root(
    ctx: &Ctx,
    r: &EnvRef,
    draft: Option<&str>,
    lifetime: Duration,
) -> anyhow::Result<Option<Value>> {
    let name = ctx.resolve(r).await?;
    let spinner = ui::Spinner::start(format!("opening {name}"));
    let opened = match draft {
        Some(id) => ctx.backend.open_draft(&name, id, lifetime).await,
        None => ctx.backend.open(&name, r.version(), lifetime).await,
    };
    drop(spinner);
    let opened = opened.context("opening environment")?;
    if !opened.diagnostics.is_empty() {
        messages::err(&diags::property_style(&opened.diagnostics));
    }
    if diags::has_errors(&opened.diagnostics) {
        return Ok(None);
    }
    Ok(Some(
        opened
            .root
            .unwrap_or_else(|| Value::root(Default::default())),
    ))
}

/// `open <ref>[@v] [<path>]`.
pub(super) async fn open(
    ctx: &Ctx,
    flag: Option<String>,
    args: OpenArgs,
) -> anyhow::Result<ExitCode> {
    let positional = with_env_flag(&flag, args.args);
    check_args(&positional, 1, Some(2))?;
    let format: Format = args.format.parse()?;
    let lifetime = parse_lifetime(&args.lifetime)?;
    let path = match positional.get(1) {
        Some(p) => Some(PropertyPath::parse(p).map_err(|e| anyhow::anyhow!("invalid path: {e}"))?),
        None => None,
    };
    if path.is_some() && format.whole_environment_only() {
        bail!(
            "output format '{}' may not be used with a property path",
            format.name()
        );
    }
    let r = EnvRef::parse(&positional[0])?;
    let Some(root) = open_root(ctx, &r, args.draft.as_deref(), lifetime).await? else {
        return Ok(ExitCode::SUCCESS);
    };
    let null = Value {
        data: Data::Null,
        ..Value::root(Default::default())
    };
    let value = match &path {
        Some(p) => root.at(p).cloned().unwrap_or(null),
        None => root,
    };
    let temp_dir = std::env::temp_dir();
    let text = format::render(
        &value,
        format,
        &RenderOptions {
            redact: false,
            files_dir: Some(&temp_dir),
        },
    )
    .context("writing files")?;
    messages::out(&text)?;
    Ok(ExitCode::SUCCESS)
}

/// `run <ref>[@v] [--] <command> [args...]`.
pub(super) async fn run(
    ctx: &Ctx,
    flag: Option<String>,
    args: RunArgs,
) -> anyhow::Result<ExitCode> {
    let raw: Vec<std::ffi::OsString> = std::env::args_os().collect();
    if flag.is_none() && run::separator_first(&raw) {
        bail!("no environment specified");
    }
    let positional = with_env_flag(&flag, args.args);
    let Some((env_text, rest)) = positional.split_first() else {
        bail!("no environment specified");
    };
    let (program, program_args) = run::split_command(rest)?;
    let program = run::resolve_program(program).context("resolving command")?;
    let lifetime = parse_lifetime(&args.lifetime)?;
    let r = EnvRef::parse(env_text)?;
    let Some(root) = open_root(ctx, &r, args.draft.as_deref(), lifetime).await? else {
        return Ok(ExitCode::SUCCESS);
    };
    let plan = run::plan(
        &root,
        program,
        program_args,
        !args.interactive,
        std::env::temp_dir(),
    );
    let ending = run::execute(plan).await?;
    if let Some(error) = ending.error_text() {
        messages::err(&format!("Error: {error}\n"));
    }
    Ok(ExitCode::from(ending.exit_code()))
}

/// `env rotate <ref> [<path>...]`.
pub(super) async fn rotate(
    ctx: &Ctx,
    flag: Option<String>,
    args: Vec<String>,
) -> anyhow::Result<ExitCode> {
    // spec/CLI.md § 2 quirk: the reference takes the paths from the
    // arguments after the first whatever `--env` says, so with `--env` the
    // first path given is skipped
    let paths: Vec<String> = args.iter().skip(1).cloned().collect();
    let positional = with_env_flag(&flag, args);
    check_args(&positional, 1, None)?;
    let r = EnvRef::parse(&positional[0])?;
    if r.version().is_some() {
        bail!("the rotate command does not accept environments at specific versions");
    }
    for p in &paths {
        PropertyPath::parse(p)
            .map_err(|e| anyhow::anyhow!("'{p}' is an invalid property path: {e}"))?;
    }
    let name = ctx.resolve(&r).await?;
    let spinner = ui::Spinner::start(format!("rotating {name}"));
    let outcome = ctx.backend.rotate(&name, &paths).await;
    drop(spinner);
    let outcome = outcome.context("rotating environment")?;
    if !outcome.diagnostics.is_empty() {
        messages::err(&diags::property_style(&outcome.diagnostics));
        return Ok(ExitCode::SUCCESS);
    }
    let mut out = String::new();
    match outcome.status.as_str() {
        "succeeded" => out.push_str(&format!("Environment '{}' rotated.\n", r.text())),
        "failed" => match &outcome.error {
            Some(e) => out.push_str(&format!("Error rotating: {e}.\n")),
            None => out.push_str(&format!(
                "Environment '{}' rotated with errors.\n",
                r.text()
            )),
        },
        _ => {}
    }
    if let Some(n) = outcome.new_revision {
        out.push_str(&format!("New revision '{n}' was created.\n"));
    }
    if !outcome.failures.is_empty() {
        out.push_str("\nFailed secrets:\n");
        for (path, error) in &outcome.failures {
            out.push_str(&format!("Path: {path}, error: {error}\n"));
        }
    }
    messages::out(&out)?;
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_durations() {
        assert_eq!(parse_duration("2h").unwrap(), Duration::from_secs(7200));
        assert_eq!(parse_duration("1h30m").unwrap(), Duration::from_secs(5400));
        assert_eq!(parse_duration("90s").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_duration("1.5h").unwrap(), Duration::from_secs(5400));
        assert!(parse_duration("").is_err());
        assert!(parse_duration("5").is_err());
        assert_eq!(
            parse_duration("2x").unwrap_err().to_string(),
            "time: invalid duration \"2x\""
        );
    }
}
