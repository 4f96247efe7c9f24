//! Checked options to backend calls: one function per command. Output text
//! is built with `messages` and the `format` modules.

mod account;
pub(crate) mod admin;
mod env;
pub(crate) mod oidc;
mod open;
pub(crate) mod provider;
pub(crate) mod referrer;
pub(crate) mod schedule;
mod versions;
pub(crate) mod webhook;

use std::process::ExitCode;

use anyhow::{Context as _, bail};

use crate::backend::{Backend, BackendError, config::Config};
use crate::cli::{Cli, Command, EnvCommand, EnvSubcommand};
use crate::env_ref::{EnvName, EnvRef, Form};
use crate::messages;

/// Run the parsed command line.
pub(crate) async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let Some(command) = cli.command else {
        let mut cmd = <Cli as clap::CommandFactory>::command();
        messages::out(&format!("{}\n", cmd.render_long_help()))?;
        return Ok(ExitCode::SUCCESS);
    };
    let config = Config::from_env()?;
    match command {
        Command::Version => {
            messages::out(&format!("v{}\n", env!("CARGO_PKG_VERSION")))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Login(args) => account::login(&config, args).await,
        Command::Logout(args) => account::logout(&config, args),
        Command::Whoami => {
            let ctx = Ctx::new(&config).await?;
            account::whoami(&ctx, &config).await
        }
        Command::Serve(args) => account::serve(&config, args).await,
        Command::Oidc(args) => oidc::oidc(&config, args).await,
        Command::Open(args) => {
            let ctx = Ctx::new(&config).await?;
            let result = open::open(&ctx, None, args).await;
            ctx.with_name_hint(result).await
        }
        Command::Run(args) => {
            let ctx = Ctx::new(&config).await?;
            let result = open::run(&ctx, None, args).await;
            ctx.with_name_hint(result).await
        }
        Command::Env(env) => run_env(&config, env).await,
    }
}

async fn run_env(config: &Config, env: EnvCommand) -> anyhow::Result<ExitCode> {
    let Some(command) = env.command else {
        let mut cmd = <Cli as clap::CommandFactory>::command();
        if let Some(sub) = cmd.find_subcommand_mut("env") {
            messages::out(&format!("{}\n", sub.render_long_help()))?;
        }
        return Ok(ExitCode::SUCCESS);
    };
    let ctx = Ctx::new(config).await?;
    let flag = env.env;
    let result = match command {
        EnvSubcommand::Init(args) => env::init(&ctx, flag, args).await,
        EnvSubcommand::Edit(args) => env::edit(&ctx, flag, args).await,
        EnvSubcommand::Get(args) => env::get(&ctx, flag, args).await,
        EnvSubcommand::Set(args) => env::set(&ctx, flag, args).await,
        EnvSubcommand::Rm(args) => env::rm(&ctx, flag, args).await,
        EnvSubcommand::Ls(args) => env::ls(&ctx, args).await,
        EnvSubcommand::Clone(args) => env::clone(&ctx, flag, args).await,
        EnvSubcommand::Diff(args) => env::diff(&ctx, flag, args).await,
        EnvSubcommand::Settings(args) => env::settings(&ctx, flag, args).await,
        EnvSubcommand::Webhook(args) => webhook::webhook(&ctx, flag, args).await,
        EnvSubcommand::Schedule(args) => schedule::schedule(&ctx, flag, args).await,
        EnvSubcommand::Version(args) => versions::version(&ctx, flag, args).await,
        EnvSubcommand::Tag(args) => versions::tag(&ctx, flag, args).await,
        EnvSubcommand::Rotate(args) => open::rotate(&ctx, flag, args.args).await,
        EnvSubcommand::Open(args) => open::open(&ctx, flag, args).await,
        EnvSubcommand::Run(args) => open::run(&ctx, flag, args).await,
        EnvSubcommand::Provider(args) => provider::provider(&ctx, flag, args).await,
        EnvSubcommand::Referrer(args) => referrer::referrer(&ctx, flag, args).await,
    };
    // local mode delivers the webhooks of this command's writes in-process
    ctx.backend.settle_webhooks().await;
    ctx.with_name_hint(result).await
}

/// What every command works with.
pub(crate) struct Ctx {
    /// Where environments live.
    pub(crate) backend: Box<dyn Backend>,
    /// Every environment [`Ctx::resolve`] named, for "did you mean" hints.
    resolved: std::sync::Mutex<Vec<EnvName>>,
}

impl Ctx {
    async fn new(config: &Config) -> anyhow::Result<Ctx> {
        Ok(Ctx {
            backend: crate::backend::connect(config).await?,
            resolved: std::sync::Mutex::new(Vec::new()),
        })
    }

    /// `result`, or when it failed with a not-found answer about an
    /// environment this command resolved and that does not exist, the same
    /// error with a hint naming the closest existing environments of its
    /// organization, else of all the user sees (`ui::Hinted`). Best effort:
    /// any failure while looking keeps the error as it was.
    async fn with_name_hint(&self, result: anyhow::Result<ExitCode>) -> anyhow::Result<ExitCode> {
        let Err(error) = result else {
            return result;
        };
        let not_found = error.chain().any(|cause| {
            cause
                .downcast_ref::<BackendError>()
                .is_some_and(is_not_found)
        });
        if !not_found {
            return Err(error);
        }
        let resolved = match self.resolved.lock() {
            Ok(names) => names.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        };
        for name in &resolved {
            if self.backend.exists(name).await.unwrap_or(true) {
                continue;
            }
            let existing = self
                .backend
                .list_environments(Some(&name.org))
                .await
                .unwrap_or_default();
            let typed = format!("{}/{}", name.project, name.name);
            let in_org: Vec<String> = existing
                .iter()
                .filter(|e| e.org == name.org)
                .map(|e| format!("{}/{}", e.project, e.name))
                .collect();
            let mut close: Vec<String> =
                crate::ui::closest(&typed, in_org.iter().map(String::as_str))
                    .into_iter()
                    .map(|project_env| format!("{}/{project_env}", name.org))
                    .collect();
            if close.is_empty() {
                // perhaps the organization is misspelled: all visible names
                let visible = self.backend.list_environments(None).await;
                let full: Vec<String> = visible
                    .unwrap_or_default()
                    .iter()
                    .map(ToString::to_string)
                    .collect();
                close = crate::ui::closest(&name.to_string(), full.iter().map(String::as_str));
            }
            if let Some(hint) = crate::ui::did_you_mean(&close) {
                return Err(anyhow::Error::new(crate::ui::Hinted { error, hint }));
            }
            break;
        }
        Err(error)
    }

    /// Resolve a typed reference of an existing environment (§ 3).
    pub(crate) async fn resolve(&self, r: &EnvRef) -> anyhow::Result<EnvName> {
        let name = self.resolve_existing(r).await?;
        if let Ok(mut names) = self.resolved.lock() {
            names.push(name.clone());
        }
        Ok(name)
    }

    async fn resolve_existing(&self, r: &EnvRef) -> anyhow::Result<EnvName> {
        let default_org = self.backend.default_org().await?;
        Ok(match r.form() {
            Form::Full { org, project } => EnvName::new(org, project, r.name()),
            Form::Legacy => EnvName::new(&default_org, "default", r.name()),
            Form::TwoPart { first } => {
                let modern = EnvName::new(&default_org, first, r.name());
                let legacy = EnvName::new(first, "default", r.name());
                let modern_exists = self.backend.exists(&modern).await.unwrap_or(false);
                let legacy_exists = self.backend.exists(&legacy).await.unwrap_or(false);
                match (modern_exists, legacy_exists) {
                    (true, true) => bail!(
                        "ambiguous path provided\n\nEnvironments found at both '{modern}' and '{legacy}'.\nPlease specify the full path as <org-name>/<project-name>/<env-name>"
                    ),
                    (false, true) => {
                        messages::err(&format!(
                            "warning: environment reference {} is ambiguous (resolved to {legacy}). Use <org>/<project>/<environment> instead.\n",
                            esc_eval::go_quote(r.text())
                        ));
                        legacy
                    }
                    _ => modern,
                }
            }
        })
    }

    /// Resolve a reference of an environment to be created (§ 3).
    pub(crate) async fn resolve_new(&self, r: &EnvRef) -> anyhow::Result<EnvName> {
        let default_org = self.backend.default_org().await?;
        Ok(match r.form() {
            Form::Full { org, project } => EnvName::new(org, project, r.name()),
            Form::Legacy => EnvName::new(&default_org, "default", r.name()),
            Form::TwoPart { first } => {
                // `a/b` means org `a` only when `a` is one of the user's
                // organizations and no project `a` exists yet.
                let orgs = self.backend.organizations().await.unwrap_or_default();
                let org = orgs.iter().find(|o| o.eq_ignore_ascii_case(first));
                let modern = EnvName::new(&default_org, first, r.name());
                match org {
                    None => modern,
                    Some(org) => {
                        let project_exists = self
                            .backend
                            .list_environments(None)
                            .await
                            .unwrap_or_default()
                            .iter()
                            .any(|e| e.project.eq_ignore_ascii_case(first));
                        let chosen = if project_exists {
                            modern
                        } else {
                            EnvName::new(org, "default", r.name())
                        };
                        messages::err(&format!(
                            "warning: environment reference {} is ambiguous (resolved to {chosen}). Use <org>/<project>/<environment> instead.\n",
                            esc_eval::go_quote(r.text())
                        ));
                        chosen
                    }
                }
            }
        })
    }
}

/// The positionals with `--env` put first, as the reference does.
pub(crate) fn with_env_flag(flag: &Option<String>, args: Vec<String>) -> Vec<String> {
    match flag {
        Some(env) => std::iter::once(env.clone()).chain(args).collect(),
        None => args,
    }
}

/// cobra-style positional count check.
pub(crate) fn check_args(args: &[String], min: usize, max: Option<usize>) -> anyhow::Result<()> {
    if args.len() < min || max.is_some_and(|m| args.len() > m) {
        bail!(messages::wrong_arg_count(min, max, args.len()));
    }
    Ok(())
}

/// Parse a reference and refuse a version (`the <cmd> command does not accept versions`).
pub(crate) fn parse_unversioned(text: &str, command: &str) -> anyhow::Result<EnvRef> {
    let r = EnvRef::parse(text)?;
    if r.version().is_some() {
        bail!("the {command} command does not accept versions");
    }
    Ok(r)
}

/// Read `-f` content: a file, or stdin for `-`.
pub(crate) fn read_input(path: &str) -> anyhow::Result<String> {
    let bytes = if path == "-" {
        let mut buf = Vec::new();
        std::io::Read::read_to_end(&mut std::io::stdin(), &mut buf).context("reading stdin")?;
        buf
    } else {
        std::fs::read(path).map_err(|error| anyhow::anyhow!(go_file_error(path, &error)))?
    };
    String::from_utf8(bytes).map_err(|_| anyhow::anyhow!("file content must be valid UTF-8"))
}

/// A failed `os.ReadFile` as Go words it: `open <path>: no such file or
/// directory`, `read <path>: is a directory` (the errno text in lower case,
/// without Rust's `(os error N)`).
pub(crate) fn go_file_error(path: &str, error: &std::io::Error) -> String {
    let text = error.to_string();
    let text = match text.rsplit_once(" (os error ") {
        Some((text, _)) => text,
        None => text.as_str(),
    };
    let mut chars = text.chars();
    let text: String = match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    };
    // opening a directory succeeds; reading it fails
    let operation = if error.raw_os_error() == Some(21) {
        "read"
    } else {
        "open"
    };
    format!("{operation} {path}: {text}")
}

/// Parse `--output text|json`.
pub(crate) fn json_output(output: &str) -> anyhow::Result<bool> {
    match output {
        "text" => Ok(false),
        "json" => Ok(true),
        other => bail!(
            "invalid --output {}: must be \"text\" or \"json\"",
            esc_eval::go_quote(other)
        ),
    }
}

/// Whether the error is a not-found answer.
pub(crate) fn is_not_found(error: &BackendError) -> bool {
    error.code() == Some(404)
}
