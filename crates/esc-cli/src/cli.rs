//! The command tree (spec/CLI.md § 1) as clap derive structs: wire types
//! only; `commands` turns them into checked options and backend calls.
//!
//! Positionals are collected as lists and counted by the commands, so the
//! persistent `--env` flag can shift them as the reference CLI does and the
//! count errors read like cobra's (`accepts 1 arg(s), received 2`).

use clap::{Args, Parser, Subcommand};

/// Pulumi ESC - Manage environments, secrets, and configuration
#[derive(Debug, Parser)]
#[command(
    name = "esc",
    version = env!("CARGO_PKG_VERSION"),
    disable_version_flag = true,
    long_about = crate::messages::LONG_ABOUT,
    after_help = "Example:\n  esc env init myproject/dev\n  esc env set myproject/dev greeting hello\n  esc open myproject/dev"
)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Manage environments
    #[command(after_help = "Example:\n  esc env ls")]
    Env(EnvCommand),
    /// Open the environment with the given name.
    #[command(
        after_help = "Example:\n  esc open myproject/dev --format shell\n  esc open myproject/dev@stable aws.region --format string"
    )]
    Open(OpenArgs),
    /// Open the environment with the given name and run a command.
    #[command(after_help = crate::messages::RUN_HELP)]
    Run(RunArgs),
    /// Log in to an ESC server (or switch back to the local store)
    #[command(after_help = crate::messages::LOGIN_HELP)]
    Login(LoginArgs),
    /// Log out of the ESC server and use the local store again
    #[command(after_help = "Example:\n  esc logout\n  esc logout --all")]
    Logout(LogoutArgs),
    /// Show who and where you are logged in
    #[command(after_help = "Example:\n  esc whoami")]
    Whoami,
    /// Serve the ESC REST API (for `esc login URL` and the ESC SDKs)
    #[command(
        after_help = "Example:\n  esc serve --listen 127.0.0.1:8080\n  esc login http://127.0.0.1:8080 --token <printed token>\n  esc serve user add bob && esc serve member set acme bob --role reader\n  esc serve token create bob\n\nOn first start the admin's access token is printed once as an `esc login` line.\nThe user, member, grant and token commands work directly on the server's database\n(same --data-dir / --database-url)."
    )]
    Serve(ServeArgs),
    /// Show the OIDC issuer that signs calls to external adapters (JWKS, discovery)
    #[command(long_about = crate::commands::oidc::OIDC_ABOUT)]
    Oidc(crate::commands::oidc::OidcCommand),
    /// Print esc's version number
    #[command(after_help = "Example:\n  esc version")]
    Version,
}

#[derive(Debug, Args)]
pub(crate) struct EnvCommand {
    /// The environment to operate on (instead of the first argument)
    #[arg(long, global = true, value_name = "REF")]
    pub(crate) env: Option<String>,
    #[command(subcommand)]
    pub(crate) command: Option<EnvSubcommand>,
}

#[derive(Debug, Subcommand)]
pub(crate) enum EnvSubcommand {
    /// Create an environment
    #[command(
        visible_alias = "new",
        after_help = "Example:\n  esc env init myproject/dev\n  esc env init myproject/dev -f env.yaml"
    )]
    Init(InitArgs),
    /// Edit an environment definition
    #[command(
        after_help = "Example:\n  esc env edit myproject/dev\n  esc env edit myproject/dev -f env.yaml"
    )]
    Edit(EditArgs),
    /// Get a value within an environment
    #[command(
        after_help = "Example:\n  esc env get myproject/dev\n  esc env get myproject/dev aws.region --value string\n  esc env get myproject/dev --definition"
    )]
    Get(GetArgs),
    /// Set a value within an environment
    #[command(
        after_help = "Example:\n  esc env set myproject/dev region us-west-2\n  esc env set myproject/dev db.password hunter2 --secret"
    )]
    Set(SetArgs),
    /// Remove an environment or a value from an environment
    #[command(
        after_help = "Example:\n  esc env rm myproject/dev --yes\n  esc env rm myproject/dev db.password"
    )]
    Rm(RmArgs),
    /// List environments
    #[command(after_help = "Example:\n  esc env ls\n  esc env ls --project myproject")]
    Ls(LsArgs),
    /// Clone an existing environment into a new environment
    #[command(after_help = "Example:\n  esc env clone myorg/myproject/dev staging")]
    Clone(CloneArgs),
    /// Show changes between versions
    #[command(after_help = "Example:\n  esc env diff myproject/dev@1 @2")]
    Diff(DiffArgs),
    /// Manage versions
    #[command(
        after_help = "Example:\n  esc env version myproject/dev@3\n  esc env version history myproject/dev"
    )]
    Version(VersionCommand),
    /// Manage environment tags
    #[command(
        after_help = "Example:\n  esc env tag myproject/dev owner alice\n  esc env tag ls myproject/dev"
    )]
    Tag(TagCommand),
    /// Rotate secrets in an environment
    #[command(
        after_help = "Example:\n  esc env rotate myproject/dev\n  esc env rotate myproject/dev db.password"
    )]
    Rotate(ArgList),
    /// Open the environment with the given name.
    #[command(after_help = "Example:\n  esc env open myproject/dev --format dotenv")]
    Open(OpenArgs),
    /// Open the environment with the given name and run a command.
    #[command(after_help = crate::messages::RUN_HELP)]
    Run(RunArgs),
    /// Manage environment settings
    #[command(
        after_help = "Example:\n  esc env settings get myproject/dev\n  esc env settings set myproject/dev deletion-protected true"
    )]
    Settings(SettingsCommand),
    /// Manage environment webhooks
    #[command(
        long_about = "[EXPERIMENTAL] Manage environment webhooks\n\nA webhook receives a JSON payload at its URL whenever one of its events happens to the environment.",
        after_help = "Example:\n  esc env webhook new myproject/dev deploy --url https://example.com/hook --event updated\n  esc env webhook list myproject/dev"
    )]
    Webhook(crate::commands::webhook::WebhookCommand),
    /// Manage login providers within an environment
    #[command(
        long_about = "[EXPERIMENTAL] Manage login providers within an environment\n\nSubcommands add cloud-provider login blocks (AWS, Azure, GCP) to an environment.",
        after_help = "Example:\n  esc env provider aws-login oidc myproject/dev arn:aws:iam::123456789012:role/esc esc-session\n  esc env provider gcp-login static myproject/dev 123456789 \"$ACCESS_TOKEN\""
    )]
    Provider(crate::commands::provider::ProviderCommand),
    /// Manage environment referrers
    #[command(
        long_about = "[EXPERIMENTAL] Manage environment referrers\n\nA referrer is an entity that references an environment, such as another environment\nthat imports it, a Pulumi IaC stack that opens it, or a Pulumi Insights account\nthat consumes it.",
        after_help = "Example:\n  esc env referrer list myproject/base"
    )]
    Referrer(crate::commands::referrer::ReferrerCommand),
    /// Manage rotation schedules of an environment
    #[command(
        long_about = "[EXPERIMENTAL] Manage rotation schedules of an environment\n\nAgainst a server (esc login URL), the server runs due schedules. In local mode nothing runs in the background: a due schedule runs when the next esc command starts (any command); it is reported on stderr when that is a terminal, and recorded in the history.",
        after_help = "Example:\n  esc env schedule new myproject/dev --cron \"0 0 * * *\"\n  esc env schedule list myproject/dev"
    )]
    Schedule(crate::commands::schedule::ScheduleCommand),
}

/// Positional arguments only.
#[derive(Debug, Args)]
pub(crate) struct ArgList {
    #[arg(value_name = "ARGS")]
    pub(crate) args: Vec<String>,
}

/// `env version rollback` options.
#[derive(Debug, Args)]
pub(crate) struct RollbackArgs {
    #[arg(value_name = "REF@V")]
    pub(crate) args: Vec<String>,
    /// Write a draft: alone, a new change request; `=<id>`, update that draft
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "new", value_name = "ID")]
    pub(crate) draft: Option<String>,
}

#[derive(Debug, Args)]
pub(crate) struct InitArgs {
    #[arg(value_name = "REF")]
    pub(crate) args: Vec<String>,
    /// Initial definition: a file, or `-` for stdin
    #[arg(short = 'f', long = "file")]
    pub(crate) file: Option<String>,
}

#[derive(Debug, Args)]
pub(crate) struct EditArgs {
    #[arg(value_name = "REF")]
    pub(crate) args: Vec<String>,
    /// The editor to use (default: $VISUAL, then $EDITOR, then vi)
    #[arg(long)]
    pub(crate) editor: Option<String>,
    /// Replace the definition with this file (`-` for stdin)
    #[arg(short = 'f', long = "file")]
    pub(crate) file: Option<String>,
    /// Show static secrets in plaintext while editing
    #[arg(long)]
    pub(crate) show_secrets: bool,
    /// Write a draft: alone, a new change request; `=<id>`, update that draft
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "new", value_name = "ID")]
    pub(crate) draft: Option<String>,
}

#[derive(Debug, Args)]
pub(crate) struct GetArgs {
    #[arg(value_name = "REF [PATH]")]
    pub(crate) args: Vec<String>,
    /// Print the value in this format: json, string, dotenv, shell or detailed
    #[arg(long)]
    pub(crate) value: Option<String>,
    /// Print the definition YAML
    #[arg(long)]
    pub(crate) definition: bool,
    /// Show static secrets in plaintext
    #[arg(long)]
    pub(crate) show_secrets: bool,
}

#[derive(Debug, Args)]
pub(crate) struct SetArgs {
    #[arg(value_name = "REF PATH [VALUE]")]
    pub(crate) args: Vec<String>,
    /// Store the value as a secret
    #[arg(long)]
    pub(crate) secret: bool,
    /// Store the value in plaintext even if it looks like a secret
    #[arg(long)]
    pub(crate) plaintext: bool,
    /// Treat the value as a string, not YAML
    #[arg(long)]
    pub(crate) string: bool,
    /// Read the value from a file (`-` for stdin)
    #[arg(short = 'f', long = "file")]
    pub(crate) file: Option<String>,
    /// Write a draft: alone, a new change request; `=<id>`, update that draft
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "new", value_name = "ID")]
    pub(crate) draft: Option<String>,
}

#[derive(Debug, Args)]
pub(crate) struct RmArgs {
    #[arg(value_name = "REF [PATH]")]
    pub(crate) args: Vec<String>,
    /// Do not ask for confirmation
    #[arg(short = 'y', long)]
    pub(crate) yes: bool,
}

#[derive(Debug, Args)]
pub(crate) struct LsArgs {
    /// Only environments of this organization
    #[arg(short = 'o', long = "organization")]
    pub(crate) organization: Option<String>,
    /// Only environments of this project
    #[arg(short = 'p', long = "project")]
    pub(crate) project: Option<String>,
    /// Output format: text or json
    #[arg(long, default_value = "text")]
    pub(crate) output: String,
}

#[derive(Debug, Args)]
pub(crate) struct CloneArgs {
    #[arg(value_name = "SRC [PROJECT/]NAME")]
    pub(crate) args: Vec<String>,
    /// Copy the revision history
    #[arg(long)]
    pub(crate) preserve_history: bool,
    /// Copy access settings
    #[arg(long)]
    pub(crate) preserve_access: bool,
    /// Copy environment tags
    #[arg(long)]
    pub(crate) preserve_env_tags: bool,
    /// Copy revision tags
    #[arg(long)]
    pub(crate) preserve_rev_tags: bool,
}

#[derive(Debug, Args)]
pub(crate) struct DiffArgs {
    #[arg(value_name = "REF[@V] [[REF]@V]")]
    pub(crate) args: Vec<String>,
    /// Diff the rendered output of this format instead of the report
    #[arg(short = 'f', long = "format")]
    pub(crate) format: Option<String>,
    /// Show static secrets in plaintext
    #[arg(long)]
    pub(crate) show_secrets: bool,
    /// Only this property path
    #[arg(long)]
    pub(crate) path: Option<String>,
}

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub(crate) struct VersionCommand {
    #[command(subcommand)]
    pub(crate) command: Option<VersionSubcommand>,
    #[arg(value_name = "REF@V")]
    pub(crate) args: Vec<String>,
    /// Print times in UTC
    #[arg(long)]
    pub(crate) utc: bool,
}

#[derive(Debug, Subcommand)]
pub(crate) enum VersionSubcommand {
    /// Show revision history
    #[command(after_help = "Example:\n  esc env version history myproject/dev")]
    History(PagedListArgs),
    /// Retract a revision
    #[command(
        after_help = "Example:\n  esc env version retract myproject/dev@3 --reason \"leaked key\""
    )]
    Retract(RetractArgs),
    /// Roll back to a revision
    #[command(after_help = "Example:\n  esc env version rollback myproject/dev@2")]
    Rollback(RollbackArgs),
    /// Tag a revision
    #[command(
        after_help = "Example:\n  esc env version tag myproject/dev@stable @3\n  esc env version tag ls myproject/dev"
    )]
    Tag(VersionTagCommand),
}

#[derive(Debug, Args)]
pub(crate) struct HistoryArgs {
    #[arg(value_name = "REF[@V]")]
    pub(crate) args: Vec<String>,
    /// Print times in UTC
    #[arg(long)]
    pub(crate) utc: bool,
    /// Output format: text or json
    #[arg(long, default_value = "text")]
    pub(crate) output: String,
}

/// A listing paged on a terminal (`version history`, `version tag ls`,
/// `tag ls`).
#[derive(Debug, Args)]
pub(crate) struct PagedListArgs {
    #[arg(value_name = "REF[@V]")]
    pub(crate) args: Vec<String>,
    /// Print times in UTC
    #[arg(long)]
    pub(crate) utc: bool,
    /// Output format: text or json
    #[arg(long, default_value = "text")]
    pub(crate) output: String,
    /// The pager for text output on a terminal (default: $PAGER, else "less -R -F")
    #[arg(long)]
    pub(crate) pager: Option<String>,
}

#[derive(Debug, Args)]
pub(crate) struct RetractArgs {
    #[arg(value_name = "REF@V")]
    pub(crate) args: Vec<String>,
    /// The revision that replaces the retracted one
    #[arg(long)]
    pub(crate) replace_with: Option<String>,
    /// Why the revision is retracted
    #[arg(long)]
    pub(crate) reason: Option<String>,
}

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub(crate) struct VersionTagCommand {
    #[command(subcommand)]
    pub(crate) command: Option<VersionTagSubcommand>,
    #[arg(value_name = "REF@TAG [@V]")]
    pub(crate) args: Vec<String>,
    /// Print times in UTC
    #[arg(long)]
    pub(crate) utc: bool,
}

#[derive(Debug, Subcommand)]
pub(crate) enum VersionTagSubcommand {
    /// List revision tags
    #[command(after_help = "Example:\n  esc env version tag ls myproject/dev")]
    Ls(PagedListArgs),
    /// Remove a revision tag
    #[command(after_help = "Example:\n  esc env version tag rm myproject/dev@stable")]
    Rm(ArgList),
}

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub(crate) struct TagCommand {
    #[command(subcommand)]
    pub(crate) command: Option<TagSubcommand>,
    #[arg(value_name = "REF NAME VALUE")]
    pub(crate) args: Vec<String>,
    /// Print times in UTC
    #[arg(long)]
    pub(crate) utc: bool,
}

#[derive(Debug, Subcommand)]
pub(crate) enum TagSubcommand {
    /// Get an environment tag
    #[command(after_help = "Example:\n  esc env tag get myproject/dev owner")]
    Get(HistoryArgs),
    /// List environment tags
    #[command(after_help = "Example:\n  esc env tag ls myproject/dev")]
    Ls(PagedListArgs),
    /// Rename an environment tag
    #[command(after_help = "Example:\n  esc env tag mv myproject/dev owner maintainer")]
    Mv(HistoryArgs),
    /// Remove an environment tag
    #[command(after_help = "Example:\n  esc env tag rm myproject/dev owner")]
    Rm(ArgList),
}

#[derive(Debug, Args)]
pub(crate) struct SettingsCommand {
    #[command(subcommand)]
    pub(crate) command: Option<SettingsSubcommand>,
}

#[derive(Debug, Subcommand)]
pub(crate) enum SettingsSubcommand {
    /// Show settings
    #[command(after_help = "Example:\n  esc env settings get myproject/dev deletion-protected")]
    Get(HistoryArgs),
    /// Change a setting
    #[command(
        after_help = "Example:\n  esc env settings set myproject/dev deletion-protected true"
    )]
    Set(ArgList),
}

#[derive(Debug, Args)]
pub(crate) struct OpenArgs {
    #[arg(value_name = "REF[@V] [PATH]")]
    pub(crate) args: Vec<String>,
    /// Output format: json, yaml, detailed, string, dotenv or shell
    #[arg(short = 'f', long, default_value = "json")]
    pub(crate) format: String,
    /// How long the opened environment stays valid (Go duration: 2h, 90m)
    #[arg(short = 'l', long, default_value = "2h")]
    pub(crate) lifetime: String,
    /// Open the draft (change request) with this id
    #[arg(long, value_name = "ID")]
    pub(crate) draft: Option<String>,
}

#[derive(Debug, Args)]
pub(crate) struct RunArgs {
    #[arg(value_name = "REF[@V] [--] COMMAND [ARGS]")]
    pub(crate) args: Vec<String>,
    /// Do not mask secrets in the command's output (for interactive programs)
    #[arg(short = 'i', long)]
    pub(crate) interactive: bool,
    /// How long the opened environment stays valid (Go duration: 2h, 90m)
    #[arg(short = 'l', long, default_value = "2h")]
    pub(crate) lifetime: String,
    /// Open the draft (change request) with this id
    #[arg(long, value_name = "ID")]
    pub(crate) draft: Option<String>,
}

/// `esc login` options. `Debug` is written by hand: the tokens are secrets.
#[derive(Args)]
pub(crate) struct LoginArgs {
    /// The server URL (http:// or https://; default: $PULUMI_BACKEND_URL,
    /// else $PULUMI_API, else the saved one)
    pub(crate) url: Option<String>,
    /// The server URL (same as the argument)
    #[arg(short = 'c', long = "cloud-url")]
    pub(crate) cloud_url: Option<String>,
    /// Access token (default: $PULUMI_ACCESS_TOKEN, else $ESC_ACCESS_TOKEN,
    /// else the saved one for that URL, else a prompt)
    #[arg(long)]
    pub(crate) token: Option<String>,
    /// The organization of references that name none (saved with the account;
    /// default: the server's default organization)
    #[arg(long, value_name = "ORG")]
    pub(crate) default_org: Option<String>,
    /// Do not verify the server's TLS certificate (saved with the account;
    /// --insecure=false turns verification back on)
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true")]
    pub(crate) insecure: Option<bool>,
    /// Log in without a URL of its own (esc has no pulumi CLI account to
    /// keep: the same as no flag)
    #[arg(long)]
    pub(crate) shared: bool,
    /// Exchange an OIDC token for an access token (Pulumi Cloud only: not supported)
    #[arg(long, value_name = "TOKEN")]
    pub(crate) oidc_token: Option<String>,
    /// Organization for the OIDC token exchange (Pulumi Cloud only: not supported)
    #[arg(long, value_name = "ORG")]
    pub(crate) oidc_org: Option<String>,
    /// Team for the OIDC token exchange (Pulumi Cloud only: not supported)
    #[arg(long, value_name = "TEAM")]
    pub(crate) oidc_team: Option<String>,
    /// User for the OIDC token exchange (Pulumi Cloud only: not supported)
    #[arg(long, value_name = "USER")]
    pub(crate) oidc_user: Option<String>,
    /// Lifetime of the exchanged token (Pulumi Cloud only: not supported)
    #[arg(long, value_name = "DURATION")]
    pub(crate) oidc_expiration: Option<String>,
    /// Use the local store under $ESC_HOME instead of a server
    #[arg(long, conflicts_with_all = ["url", "cloud_url", "token", "default_org", "insecure", "shared"])]
    pub(crate) local: bool,
}

impl LoginArgs {
    /// The `--oidc-*` flags given, by name.
    pub(crate) fn oidc_flags(&self) -> Vec<&'static str> {
        [
            ("--oidc-token", self.oidc_token.is_some()),
            ("--oidc-org", self.oidc_org.is_some()),
            ("--oidc-team", self.oidc_team.is_some()),
            ("--oidc-user", self.oidc_user.is_some()),
            ("--oidc-expiration", self.oidc_expiration.is_some()),
        ]
        .into_iter()
        .filter_map(|(name, given)| given.then_some(name))
        .collect()
    }
}

#[derive(Debug, Args)]
pub(crate) struct LogoutArgs {
    /// The server URL to log out of (default: the one in use)
    pub(crate) url: Option<String>,
    /// The server URL (same as the argument)
    #[arg(short = 'c', long = "cloud-url")]
    pub(crate) cloud_url: Option<String>,
    /// Log out of every server (forget all saved credentials)
    #[arg(long)]
    pub(crate) all: bool,
}

#[derive(Debug, Args)]
pub(crate) struct ServeArgs {
    /// Administration of the server's users, memberships, grants and tokens
    #[command(subcommand)]
    pub(crate) command: Option<crate::commands::admin::AdminCommand>,
    /// Address to listen on (loopback by default)
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub(crate) listen: std::net::SocketAddr,
    /// Data directory (default: $ESC_HOME/server)
    #[arg(long, global = true)]
    pub(crate) data_dir: Option<std::path::PathBuf>,
    /// Use PostgreSQL at this URL instead of SQLite (needs ESC_MASTER_KEY)
    #[arg(long, env = "ESC_DATABASE_URL", global = true)]
    pub(crate) database_url: Option<String>,
    /// Public base URL (the OIDC issuer); default http://<listen>
    #[arg(long)]
    pub(crate) public_url: Option<String>,
    /// Login of the administrator (admin of every organization)
    #[arg(long, default_value = "admin")]
    pub(crate) admin: String,
    /// Let fn::open::external and fn::rotate::external call plain http://
    /// adapters, and webhooks deliver to plain http:// URLs, on loopback
    /// addresses (local development only; HTTPS is required otherwise)
    #[arg(long)]
    pub(crate) allow_insecure_loopback_http: bool,
    /// How often the server looks for due rotation schedules, as a duration
    /// such as 30s, 5m or 1h (1s to 24h)
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = schedule_interval)]
    pub(crate) schedule_interval: std::time::Duration,
    /// The most rotation schedules run per look (1 to 10000); the rest wait
    /// for the next ones
    #[arg(long, value_name = "N", default_value_t = 16,
          value_parser = clap::value_parser!(u32).range(1..=MAX_SCHEDULES_PER_TICK))]
    pub(crate) schedules_per_tick: u32,
    /// How often the OIDC signing keys' rotation rules run and the key set
    /// is reloaded from the database, as a duration such as 5m (1s to 1h)
    #[arg(long, value_name = "DURATION", default_value = "5m", value_parser = key_maintenance_interval)]
    pub(crate) key_maintenance_interval: std::time::Duration,
}

/// `--schedules-per-tick` at most.
const MAX_SCHEDULES_PER_TICK: i64 = 10_000;

/// `--schedule-interval`: 1 s (a shorter one only loads the database) to
/// 24 h (a daily schedule would run late).
fn schedule_interval(text: &str) -> Result<std::time::Duration, String> {
    duration_between(text, 1, 24 * 3600)
}

/// `--key-maintenance-interval`: 1 s to 1 h (the rules publish a new key
/// a day before using it, so rounds must come well within that).
fn key_maintenance_interval(text: &str) -> Result<std::time::Duration, String> {
    duration_between(text, 1, 3600)
}

/// A Go duration (`90s`, `5m`, `1h30m`) from `min_secs` to `max_secs`.
fn duration_between(
    text: &str,
    min_secs: u64,
    max_secs: u64,
) -> Result<std::time::Duration, String> {
    let duration = esc_server::parse_go_duration(text)
        .map_err(|why| format!("{why}: use a duration such as 30s, 5m or 1h"))?;
    let (min, max) = (
        std::time::Duration::from_secs(min_secs),
        std::time::Duration::from_secs(max_secs),
    );
    if duration < min || duration > max {
        return Err(format!(
            "must be from {} to {}",
            go_seconds(min_secs),
            go_seconds(max_secs)
        ));
    }
    Ok(duration)
}

/// Whole seconds as a short duration text (`1s`, `1h`, `24h`).
fn go_seconds(secs: u64) -> String {
    match secs {
        s if s % 3600 == 0 => format!("{}h", s / 3600),
        s if s % 60 == 0 => format!("{}m", s / 60),
        s => format!("{s}s"),
    }
}

impl std::fmt::Debug for LoginArgs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginArgs")
            .field("url", &self.url)
            .field("cloud_url", &self.cloud_url)
            .field("token", &self.token.as_ref().map(|_| "[secret]"))
            .field("default_org", &self.default_org)
            .field("insecure", &self.insecure)
            .field("shared", &self.shared)
            .field("oidc_token", &self.oidc_token.as_ref().map(|_| "[secret]"))
            .field("oidc_org", &self.oidc_org)
            .field("oidc_team", &self.oidc_team)
            .field("oidc_user", &self.oidc_user)
            .field("oidc_expiration", &self.oidc_expiration)
            .field("local", &self.local)
            .finish()
    }
}
