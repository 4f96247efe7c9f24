//! `esc`: the command line for ESC environments, secrets and configuration.
//!
//! Run with `cargo run -p esc-cli -- env ls`. Without `esc login URL` it
//! works on a local store under `$ESC_HOME` (default `~/.esc`).
//!
//! `main` is glue: clap parses argv into [`cli::Cli`], [`commands`] checks
//! the options and calls a [`backend::Backend`]; errors print as
//! `Error: <message>: <cause>...` (then a hint line, such as `Did you mean
//! "open"?`, when there is one) and exit 1; a closed stdout exits quietly.
//! Colour, the spinner and hints are `ui`'s.

// Unit tests may unwrap: a panic is a test failure there.
#![cfg_attr(test, allow(clippy::unwrap_used))]

mod backend;
mod cli;
mod commands;
mod defined_at;
mod diags;
mod env_ref;
mod format;
mod messages;
mod pager;
mod run;
mod times;
mod ui;
mod value;
mod yamledit;

#[cfg(test)]
mod help_tests;

use std::process::ExitCode;

use clap::Parser as _;
use clap::error::{ContextKind, ContextValue, ErrorKind};

// mimalloc, not glibc's malloc: esc serve's allocations were ~15% of its
// CPU per request under load (perf), and mimalloc cut the whole server's
// CPU per open+read by 8%
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    std::panic::set_hook(Box::new(crash_banner));
    match std::panic::catch_unwind(run_cli) {
        Ok(code) => code,
        // the hook has printed the banner (spec/CLI.md § 10: a crash exits 1)
        Err(_) => ExitCode::FAILURE,
    }
}

/// What a crash prints instead of Rust's panic message: that it is a bug,
/// where, and nothing of the payload (it could hold a value being
/// processed, a secret among them).
fn crash_banner(info: &std::panic::PanicHookInfo<'_>) {
    let location = info
        .location()
        .map(|l| format!("{}:{}", l.file(), l.line()))
        .unwrap_or_else(|| String::from("unknown"));
    messages::err(&banner_text(&location));
}

fn banner_text(location: &str) -> String {
    let rule = "=".repeat(80);
    format!(
        "{rule}\nesc encountered a fatal error. This is a bug!\nPlease report it with the command you ran and this location: {location} (esc v{})\n{rule}\n",
        env!("CARGO_PKG_VERSION")
    )
}

fn run_cli() -> ExitCode {
    ui::init();
    let cli = match cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => return clap_error(&error),
    };
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    // a command needs little parallelism; `esc serve` gets a worker per core
    if !matches!(cli.command, Some(cli::Command::Serve(_))) {
        builder.worker_threads(2);
    }
    let runtime = match builder.enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            messages::err(&format!("Error: starting the async runtime: {error}\n"));
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(commands::run(cli)) {
        Ok(code) => code,
        Err(error) if is_broken_pipe(&error) => ExitCode::SUCCESS,
        Err(error) => {
            match error.downcast_ref::<ui::Hinted>() {
                Some(hinted) => messages::err(&format!("Error: {hinted}\n")),
                None => messages::err(&format!("Error: {error:#}\n")),
            }
            ExitCode::FAILURE
        }
    }
}

/// Whether the failure is a write to a closed pipe (`esc open | head -1`).
fn is_broken_pipe(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// Whether clap refused a flag given without its value (the flag was the
/// last argument).
fn missing_flag_value(error: &clap::Error) -> bool {
    matches!(error.get(ContextKind::InvalidValue), Some(ContextValue::String(v)) if v.is_empty())
        && lossy_args()
            .next_back()
            .is_some_and(|arg| arg.starts_with('-'))
}

/// The command line as text: `std::env::args` panics on an argument that
/// is not UTF-8, and these are only read to word an error.
fn lossy_args() -> impl DoubleEndedIterator<Item = String> {
    std::env::args_os().map(|arg| arg.to_string_lossy().into_owned())
}

/// cobra's words for an argument too many: `accepts at most 1 arg(s),
/// received 2` for a command with optional positionals (`login a b`),
/// `unknown command "x" for "esc env ls"` for one that takes none.
fn unknown_command(arg: &str) -> String {
    let args: Vec<String> = lossy_args().skip(1).collect();
    let (path, command, given) = command_path(&args);
    let accepted = command.get_positionals().count();
    if accepted > 0 && given > accepted {
        return format!("accepts at most {accepted} arg(s), received {given}");
    }
    format!(
        "unknown command {} for {}",
        esc_eval::go_quote(arg),
        esc_eval::go_quote(&path)
    )
}

/// `esc` and the subcommand names `args` walk through, that command, and
/// how many positional arguments follow it (flags and their values
/// skipped; a flag's value that happens to name a subcommand would be taken
/// for it).
fn command_path(args: &[String]) -> (String, clap::Command, usize) {
    let mut command = <cli::Cli as clap::CommandFactory>::command();
    let mut path = vec![String::from("esc")];
    let mut positionals = 0;
    let mut skip_value = false;
    for arg in args {
        if std::mem::take(&mut skip_value) {
            continue;
        }
        if arg == "--" {
            break;
        }
        if let Some(flag) = arg.strip_prefix('-') {
            skip_value = !flag.contains('=') && flag_takes_value(&command, flag);
            continue;
        }
        let sub = (positionals == 0)
            .then(|| {
                command
                    .get_subcommands()
                    .find(|sub| {
                        sub.get_name() == arg || sub.get_all_aliases().any(|alias| alias == arg)
                    })
                    .cloned()
            })
            .flatten();
        match sub {
            Some(sub) => {
                path.push(sub.get_name().to_owned());
                command = sub;
            }
            None => positionals += 1,
        }
    }
    (path.join(" "), command, positionals)
}

/// Whether `flag` (`-c`, `-lf` without the first dash: `c`, `-cloud-url`)
/// of `command` is followed by its value as the next argument.
fn flag_takes_value(command: &clap::Command, flag: &str) -> bool {
    let argument = match flag.strip_prefix('-') {
        Some(long) => command.get_arguments().find(|a| a.get_long() == Some(long)),
        None => {
            // `-xyz`: the value is attached unless `z` is the last letter
            let Some(last) = flag.chars().last() else {
                return false;
            };
            if flag.chars().count() > 1 {
                return false;
            }
            command
                .get_arguments()
                .find(|a| a.get_short() == Some(last))
        }
    };
    argument.is_some_and(|a| a.get_action().takes_values())
}

/// The subcommands clap finds close to a misspelled one.
fn suggested_subcommands(error: &clap::Error) -> Vec<String> {
    match error.get(ContextKind::SuggestedSubcommand) {
        Some(ContextValue::String(one)) => vec![one.clone()],
        Some(ContextValue::Strings(many)) => many.clone(),
        _ => Vec::new(),
    }
}

/// Print a clap error the way the reference CLI words it (spec/CLI.md § 2).
fn clap_error(error: &clap::Error) -> ExitCode {
    match error.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
            let _ = error.print();
            ExitCode::SUCCESS
        }
        ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            let _ = error.print();
            ExitCode::SUCCESS
        }
        ErrorKind::UnknownArgument => {
            let arg = match error.get(ContextKind::InvalidArg) {
                Some(ContextValue::String(arg)) => arg.clone(),
                _ => String::new(),
            };
            let message = match arg.strip_prefix("--") {
                Some(_) => format!("unknown flag: {}", arg.split('=').next().unwrap_or(&arg)),
                None => match arg.strip_prefix('-').and_then(|s| s.chars().next()) {
                    Some(c) => format!("unknown shorthand flag: '{c}' in {arg}"),
                    None => unknown_command(&arg),
                },
            };
            messages::err(&format!("Error: {message}\n"));
            ExitCode::FAILURE
        }
        ErrorKind::InvalidValue if missing_flag_value(error) => {
            // pflag: `flag needs an argument: --format` / `'f' in -f`
            let typed = lossy_args().next_back().unwrap_or_default();
            let message = match typed.strip_prefix("--") {
                Some(name) => format!("flag needs an argument: --{name}"),
                None => match typed.strip_prefix('-').and_then(|s| s.chars().last()) {
                    Some(c) => format!("flag needs an argument: '{c}' in {typed}"),
                    None => String::from("flag needs an argument"),
                },
            };
            messages::err(&format!("Error: {message}\n"));
            ExitCode::FAILURE
        }
        ErrorKind::InvalidSubcommand => {
            let arg = match error.get(ContextKind::InvalidSubcommand) {
                Some(ContextValue::String(arg)) => arg.clone(),
                _ => String::new(),
            };
            messages::err(&format!("Error: {}\n", unknown_command(&arg)));
            if let Some(hint) = ui::did_you_mean(&suggested_subcommands(error)) {
                messages::err(&format!("{hint}\n"));
            }
            ExitCode::FAILURE
        }
        _ => {
            let rendered = error.render().to_string();
            let first = rendered
                .lines()
                .next()
                .unwrap_or_default()
                .trim_start_matches("error: ");
            messages::err(&format!("Error: {first}\n"));
            if let Some(hint) = ui::did_you_mean(&suggested_subcommands(error)) {
                messages::err(&format!("{hint}\n"));
            }
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_crash_banner_names_the_location_only() {
        let banner = super::banner_text("src/x.rs:7");
        let lines: Vec<&str> = banner.lines().collect();
        assert_eq!(lines.len(), 4, "{banner}");
        assert_eq!(lines[0], "=".repeat(80));
        assert_eq!(lines[1], "esc encountered a fatal error. This is a bug!");
        assert!(lines[2].contains("src/x.rs:7"), "{banner}");
        assert_eq!(lines[3], lines[0]);
    }
}
