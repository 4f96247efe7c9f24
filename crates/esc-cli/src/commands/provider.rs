//! `esc env provider aws-login|azure-login|gcp-login static|oidc`
//! (spec/CLI.md § 5): build a cloud-login provider block, set it at
//! `values.<--path>` with the text-preserving edit of `env set` (replacing
//! what is there), and store it with the etag read.
//!
//! Blocks, keys in this order, secrets as `{fn::secret: …}`:
//! - aws static: `fn::open::aws-login: {static: {accessKeyId, secretAccessKey*, sessionToken*?}}`
//! - aws oidc: `fn::open::aws-login: {oidc: {roleArn, sessionName, duration?, policyArns?, subjectAttributes?}}`
//! - azure static: `fn::open::azure-login: {clientId, tenantId, subscriptionId, clientSecret*}`
//! - azure oidc: `fn::open::azure-login: {clientId, tenantId, subscriptionId, oidc: true, subjectAttributes?}`
//! - gcp static: `fn::open::gcp-login: {project, accessToken: {accessToken*, serviceAccount?, tokenLifetime?}}`
//! - gcp oidc: `fn::open::gcp-login: {project, oidc: {workloadPoolId, providerId, serviceAccount, region?, tokenLifetime?, subjectAttributes?}}`
//!
//! Drafts (`--draft`) are not implemented here yet (`env edit`/`set` have them).

use std::process::ExitCode;

use anyhow::{Context as _, bail};
use clap::{Args, Subcommand};
use esc_syntax::edit::EditValue;

use super::{Ctx, check_args, is_not_found, parse_unversioned, with_env_flag};
use crate::backend::BackendError;
use crate::diags;
use crate::env_ref::EnvName;
use crate::messages;
use crate::value::{Accessor, PropertyPath};
use crate::yamledit;

/// `esc env provider`.
#[derive(Debug, Args)]
pub(crate) struct ProviderCommand {
    #[command(subcommand)]
    command: Option<ProviderKind>,
}

#[derive(Debug, Subcommand)]
enum ProviderKind {
    /// Add an AWS login provider to an environment
    #[command(
        name = "aws-login",
        long_about = "[EXPERIMENTAL] Add an AWS login provider to an environment\n\nSubcommands select the authentication mode: `static` for static credentials,\n`oidc` for federated identity via OpenID Connect.",
        after_help = "Example:\n  esc env provider aws-login static myproject/dev AKIA... \"$AWS_SECRET_ACCESS_KEY\"\n  esc env provider aws-login oidc myproject/dev arn:aws:iam::123456789012:role/esc esc-session"
    )]
    Aws(AwsLogin),
    /// Add an Azure login provider to an environment
    #[command(
        name = "azure-login",
        long_about = "[EXPERIMENTAL] Add an Azure login provider to an environment\n\nSubcommands select the authentication mode: `static` for static credentials,\n`oidc` for federated identity via OpenID Connect.",
        after_help = "Example:\n  esc env provider azure-login static myproject/dev <tenant-id> <subscription-id> <client-id> \"$CLIENT_SECRET\"\n  esc env provider azure-login oidc myproject/dev <tenant-id> <subscription-id> <client-id>"
    )]
    Azure(AzureLogin),
    /// Add a GCP login provider to an environment
    #[command(
        name = "gcp-login",
        long_about = "[EXPERIMENTAL] Add a GCP login provider to an environment\n\nSubcommands select the authentication mode: `static` for static credentials,\n`oidc` for federated identity via OpenID Connect.",
        after_help = "Example:\n  esc env provider gcp-login static myproject/dev 123456789 \"$ACCESS_TOKEN\"\n  esc env provider gcp-login oidc myproject/dev 123456789 --workload-pool-id pool --provider-id provider --service-account sa@proj.iam.gserviceaccount.com"
    )]
    Gcp(GcpLogin),
}

#[derive(Debug, Args)]
struct AwsLogin {
    #[command(subcommand)]
    mode: Option<AwsMode>,
}

#[derive(Debug, Subcommand)]
enum AwsMode {
    /// Add an AWS static-credentials login provider to an environment
    #[command(
        long_about = "[EXPERIMENTAL] Add an AWS static-credentials login provider to an environment\n\nWrites an `fn::open::aws-login` block with static credentials at the configured\npath under `values`. The secret access key and session token, if any, are\nwrapped in `fn::secret`. If a block already exists at the path it is replaced.",
        after_help = "Example:\n  esc env provider aws-login static myproject/dev AKIAEXAMPLE \"$AWS_SECRET_ACCESS_KEY\"\n  esc env provider aws-login static myproject/dev AKIAEXAMPLE \"$AWS_SECRET_ACCESS_KEY\" --session-token \"$AWS_SESSION_TOKEN\" --path aws.creds\n  esc env provider aws-login static myproject/new AKIAEXAMPLE \"$AWS_SECRET_ACCESS_KEY\" --create"
    )]
    Static(AwsStaticArgs),
    /// Add an AWS OIDC login provider to an environment
    #[command(
        long_about = "[EXPERIMENTAL] Add an AWS OIDC login provider to an environment\n\nWrites an `fn::open::aws-login` block with an `oidc` federation block at the\nconfigured path under `values`. The OIDC IAM role and trust policy must be\nprovisioned separately. If a block already exists at the path it is replaced.",
        after_help = "Example:\n  esc env provider aws-login oidc myproject/dev arn:aws:iam::123456789012:role/esc esc-session\n  esc env provider aws-login oidc myproject/dev arn:aws:iam::123456789012:role/esc esc-session --duration 1h --policy-arn arn:aws:iam::aws:policy/ReadOnlyAccess --subject-attribute currentEnvironment.name"
    )]
    Oidc(AwsOidcArgs),
}

/// Flags every provider subcommand has.
#[derive(Debug, Args)]
struct CommonFlags {
    /// Create the environment if it does not already exist
    #[arg(long)]
    create: bool,
}

#[derive(Debug, Args)]
struct AwsStaticArgs {
    #[arg(value_name = "REF ACCESS-KEY-ID SECRET-ACCESS-KEY")]
    args: Vec<String>,
    /// Optional AWS session token (stored as a secret)
    #[arg(long, value_name = "TOKEN")]
    session_token: Option<String>,
    /// Property path under `values` where the provider block is written
    #[arg(long, default_value = "aws.login")]
    path: String,
    #[command(flatten)]
    common: CommonFlags,
}

#[derive(Debug, Args)]
struct AwsOidcArgs {
    #[arg(value_name = "REF ROLE-ARN SESSION-NAME")]
    args: Vec<String>,
    /// Optional session duration, e.g. 1h
    #[arg(long)]
    duration: Option<String>,
    /// AWS managed-policy ARN to attach to the role session (repeatable)
    #[arg(long = "policy-arn", value_name = "ARN")]
    policy_arns: Vec<String>,
    /// OIDC subject attribute to include in the session token (repeatable)
    #[arg(long = "subject-attribute", value_name = "ATTRIBUTE")]
    subject_attributes: Vec<String>,
    /// Property path under `values` where the provider block is written
    #[arg(long, default_value = "aws.login")]
    path: String,
    #[command(flatten)]
    common: CommonFlags,
}

#[derive(Debug, Args)]
struct AzureLogin {
    #[command(subcommand)]
    mode: Option<AzureMode>,
}

#[derive(Debug, Subcommand)]
enum AzureMode {
    /// Add an Azure static-credentials login provider to an environment
    #[command(
        long_about = "[EXPERIMENTAL] Add an Azure static-credentials login provider to an environment\n\nWrites an `fn::open::azure-login` block at the configured path under `values`.\nThe client secret is wrapped in `fn::secret`. If a block already exists at the\npath it is replaced.",
        after_help = "Example:\n  esc env provider azure-login static myproject/dev <tenant-id> <subscription-id> <client-id> \"$CLIENT_SECRET\"\n  esc env provider azure-login static myproject/dev <tenant-id> <subscription-id> <client-id> \"$CLIENT_SECRET\" --path azure.creds"
    )]
    Static(AzureStaticArgs),
    /// Add an Azure OIDC login provider to an environment
    #[command(
        long_about = "[EXPERIMENTAL] Add an Azure OIDC login provider to an environment\n\nWrites an `fn::open::azure-login` block with `oidc: true` at the configured\npath under `values`. The Azure federated credential must be provisioned\nseparately. If a block already exists at the path it is replaced.",
        after_help = "Example:\n  esc env provider azure-login oidc myproject/dev <tenant-id> <subscription-id> <client-id>\n  esc env provider azure-login oidc myproject/dev <tenant-id> <subscription-id> <client-id> --subject-attribute currentEnvironment.name"
    )]
    Oidc(AzureOidcArgs),
}

#[derive(Debug, Args)]
struct AzureStaticArgs {
    #[arg(value_name = "REF TENANT-ID SUBSCRIPTION-ID CLIENT-ID CLIENT-SECRET")]
    args: Vec<String>,
    /// Property path under `values` where the provider block is written
    #[arg(long, default_value = "azure.login")]
    path: String,
    #[command(flatten)]
    common: CommonFlags,
}

#[derive(Debug, Args)]
struct AzureOidcArgs {
    #[arg(value_name = "REF TENANT-ID SUBSCRIPTION-ID CLIENT-ID")]
    args: Vec<String>,
    /// OIDC subject attribute to include in the federated token (repeatable)
    #[arg(long = "subject-attribute", value_name = "ATTRIBUTE")]
    subject_attributes: Vec<String>,
    /// Property path under `values` where the provider block is written
    #[arg(long, default_value = "azure.login")]
    path: String,
    #[command(flatten)]
    common: CommonFlags,
}

#[derive(Debug, Args)]
struct GcpLogin {
    #[command(subcommand)]
    mode: Option<GcpMode>,
}

#[derive(Debug, Subcommand)]
enum GcpMode {
    /// Add a GCP static-credentials login provider to an environment
    #[command(
        long_about = "[EXPERIMENTAL] Add a GCP static-credentials login provider to an environment\n\nWrites an `fn::open::gcp-login` block at the configured path under `values`. The\naccess token is wrapped in `fn::secret`. <project-number> must be the numerical\nGCP project ID. If a block already exists at the path it is replaced.",
        after_help = "Example:\n  esc env provider gcp-login static myproject/dev 123456789 \"$ACCESS_TOKEN\"\n  esc env provider gcp-login static myproject/dev 123456789 \"$ACCESS_TOKEN\" --service-account sa@proj.iam.gserviceaccount.com --token-lifetime 1h"
    )]
    Static(GcpStaticArgs),
    /// Add a GCP OIDC login provider to an environment
    #[command(
        long_about = "[EXPERIMENTAL] Add a GCP OIDC login provider to an environment\n\nWrites an `fn::open::gcp-login` block with an `oidc` workload-identity\nfederation block at the configured path under `values`. <project-number> must\nbe the numerical GCP project ID. The workload-identity pool, provider, and\nservice account must be provisioned separately. If a block already exists at\nthe path it is replaced.",
        after_help = "Example:\n  esc env provider gcp-login oidc myproject/dev 123456789 --workload-pool-id pool --provider-id provider --service-account sa@proj.iam.gserviceaccount.com\n  esc env provider gcp-login oidc myproject/dev 123456789 --workload-pool-id pool --provider-id provider --service-account sa@proj.iam.gserviceaccount.com --region us-central1 --token-lifetime 1h"
    )]
    Oidc(GcpOidcArgs),
}

#[derive(Debug, Args)]
struct GcpStaticArgs {
    #[arg(value_name = "REF PROJECT-NUMBER ACCESS-TOKEN")]
    args: Vec<String>,
    /// Optional GCP service account to impersonate
    #[arg(long, value_name = "EMAIL")]
    service_account: Option<String>,
    /// Optional lifetime for impersonated credentials, e.g. 1h30m
    #[arg(long, value_name = "DURATION")]
    token_lifetime: Option<String>,
    /// Property path under `values` where the provider block is written
    #[arg(long, default_value = "gcp.login")]
    path: String,
    #[command(flatten)]
    common: CommonFlags,
}

#[derive(Debug, Args)]
struct GcpOidcArgs {
    #[arg(value_name = "REF PROJECT-NUMBER")]
    args: Vec<String>,
    /// GCP workload identity pool ID (required)
    #[arg(long, value_name = "ID")]
    workload_pool_id: Option<String>,
    /// GCP workload identity pool provider ID (required)
    #[arg(long, value_name = "ID")]
    provider_id: Option<String>,
    /// GCP service account to impersonate (required)
    #[arg(long, value_name = "EMAIL")]
    service_account: Option<String>,
    /// Optional GCP region for the workload identity pool
    #[arg(long)]
    region: Option<String>,
    /// Optional lifetime for impersonated credentials, e.g. 1h30m
    #[arg(long, value_name = "DURATION")]
    token_lifetime: Option<String>,
    /// OIDC subject attribute to include in the federated token (repeatable)
    #[arg(long = "subject-attribute", value_name = "ATTRIBUTE")]
    subject_attributes: Vec<String>,
    /// Property path under `values` where the provider block is written
    #[arg(long, default_value = "gcp.login")]
    path: String,
    #[command(flatten)]
    common: CommonFlags,
}

/// `env provider …`.
pub(super) async fn provider(
    ctx: &Ctx,
    flag: Option<String>,
    command: ProviderCommand,
) -> anyhow::Result<ExitCode> {
    let Some(kind) = command.command else {
        return group_help(&["provider"]);
    };
    match kind {
        ProviderKind::Aws(AwsLogin { mode: None }) => group_help(&["provider", "aws-login"]),
        ProviderKind::Azure(AzureLogin { mode: None }) => group_help(&["provider", "azure-login"]),
        ProviderKind::Gcp(GcpLogin { mode: None }) => group_help(&["provider", "gcp-login"]),
        ProviderKind::Aws(AwsLogin {
            mode: Some(AwsMode::Static(a)),
        }) => {
            let target = Target::parse(ctx, &flag, a.args, (2, 3), &a.path).await?;
            let [key_id, secret_key] =
                target.operands("<access-key-id> and <secret-access-key>")?;
            let mut fields = vec![
                field("accessKeyId", string(&key_id)),
                field("secretAccessKey", secret(&secret_key)),
            ];
            if let Some(token) = a.session_token.filter(|t| !t.is_empty()) {
                fields.push(field("sessionToken", secret(&token)));
            }
            let block = provider_block(
                "fn::open::aws-login",
                EditValue::Mapping(vec![field("static", EditValue::Mapping(fields))]),
            );
            apply(ctx, &target, a.common.create, &block).await
        }
        ProviderKind::Aws(AwsLogin {
            mode: Some(AwsMode::Oidc(a)),
        }) => {
            let target = Target::parse(ctx, &flag, a.args, (2, 3), &a.path).await?;
            let [role_arn, session_name] = target.operands("<role-arn> and <session-name>")?;
            let mut fields = vec![
                field("roleArn", string(&role_arn)),
                field("sessionName", string(&session_name)),
            ];
            push_optional(&mut fields, "duration", a.duration);
            push_list(&mut fields, "policyArns", &a.policy_arns);
            push_list(&mut fields, "subjectAttributes", &a.subject_attributes);
            let block = provider_block(
                "fn::open::aws-login",
                EditValue::Mapping(vec![field("oidc", EditValue::Mapping(fields))]),
            );
            apply(ctx, &target, a.common.create, &block).await
        }
        ProviderKind::Azure(AzureLogin {
            mode: Some(AzureMode::Static(a)),
        }) => {
            let target = Target::parse(ctx, &flag, a.args, (4, 5), &a.path).await?;
            let [tenant, subscription, client, client_secret] =
                target.operands("<tenant-id> <subscription-id> <client-id> <client-secret>")?;
            let block = provider_block(
                "fn::open::azure-login",
                EditValue::Mapping(vec![
                    field("clientId", string(&client)),
                    field("tenantId", string(&tenant)),
                    field("subscriptionId", string(&subscription)),
                    field("clientSecret", secret(&client_secret)),
                ]),
            );
            apply(ctx, &target, a.common.create, &block).await
        }
        ProviderKind::Azure(AzureLogin {
            mode: Some(AzureMode::Oidc(a)),
        }) => {
            let target = Target::parse(ctx, &flag, a.args, (3, 4), &a.path).await?;
            let [tenant, subscription, client] =
                target.operands("<tenant-id> <subscription-id> <client-id>")?;
            let mut fields = vec![
                field("clientId", string(&client)),
                field("tenantId", string(&tenant)),
                field("subscriptionId", string(&subscription)),
                field("oidc", EditValue::Bool(true)),
            ];
            push_list(&mut fields, "subjectAttributes", &a.subject_attributes);
            let block = provider_block("fn::open::azure-login", EditValue::Mapping(fields));
            apply(ctx, &target, a.common.create, &block).await
        }
        ProviderKind::Gcp(GcpLogin {
            mode: Some(GcpMode::Static(a)),
        }) => {
            let target = Target::parse(ctx, &flag, a.args, (2, 3), &a.path).await?;
            let [project, token] = target.operands("<project-number> and <access-token>")?;
            let project = project_number(&project)?;
            let mut token_fields = vec![field("accessToken", secret(&token))];
            push_optional(&mut token_fields, "serviceAccount", a.service_account);
            push_optional(&mut token_fields, "tokenLifetime", a.token_lifetime);
            let block = provider_block(
                "fn::open::gcp-login",
                EditValue::Mapping(vec![
                    field("project", EditValue::Number(project.to_string())),
                    field("accessToken", EditValue::Mapping(token_fields)),
                ]),
            );
            apply(ctx, &target, a.common.create, &block).await
        }
        ProviderKind::Gcp(GcpLogin {
            mode: Some(GcpMode::Oidc(a)),
        }) => {
            // cobra checks required flags before anything else, sorted by name
            let required = [
                ("provider-id", &a.provider_id),
                ("service-account", &a.service_account),
                ("workload-pool-id", &a.workload_pool_id),
            ];
            let missing: Vec<&str> = required
                .iter()
                .filter(|(_, value)| value.is_none())
                .map(|(name, _)| *name)
                .collect();
            if !missing.is_empty() {
                bail!("required flag(s) \"{}\" not set", missing.join("\", \""));
            }
            let target = Target::parse(ctx, &flag, a.args, (1, 2), &a.path).await?;
            let [project] = target.operands("<project-number>")?;
            let project = project_number(&project)?;
            let mut fields = vec![
                field(
                    "workloadPoolId",
                    string(&a.workload_pool_id.unwrap_or_default()),
                ),
                field("providerId", string(&a.provider_id.unwrap_or_default())),
                field(
                    "serviceAccount",
                    string(&a.service_account.unwrap_or_default()),
                ),
            ];
            push_optional(&mut fields, "region", a.region);
            push_optional(&mut fields, "tokenLifetime", a.token_lifetime);
            push_list(&mut fields, "subjectAttributes", &a.subject_attributes);
            let block = provider_block(
                "fn::open::gcp-login",
                EditValue::Mapping(vec![
                    field("project", EditValue::Number(project.to_string())),
                    field("oidc", EditValue::Mapping(fields)),
                ]),
            );
            apply(ctx, &target, a.common.create, &block).await
        }
    }
}

/// The environment, the operands after it and the checked `--path`.
struct Target {
    name: EnvName,
    operands: Vec<String>,
    path: PropertyPath,
}

impl Target {
    /// Count the positionals as cobra does (`accepts between …`), resolve
    /// the environment (first positional or `--env`), refuse a version,
    /// parse `--path`.
    async fn parse(
        ctx: &Ctx,
        flag: &Option<String>,
        args: Vec<String>,
        (min, max): (usize, usize),
        path: &str,
    ) -> anyhow::Result<Target> {
        check_args(&args, min, Some(max))?;
        let mut positional = with_env_flag(flag, args);
        let r = parse_unversioned(&positional.remove(0), "provider")?;
        let name = ctx.resolve(&r).await?;
        let path = PropertyPath::parse(path).map_err(|e| anyhow::anyhow!("invalid --path: {e}"))?;
        Ok(Target {
            name,
            operands: positional,
            path,
        })
    }

    /// Exactly `N` operands, else `expected <what>`.
    fn operands<const N: usize>(&self, what: &str) -> anyhow::Result<[String; N]> {
        <[String; N]>::try_from(self.operands.clone())
            .map_err(|_| anyhow::anyhow!("expected {what}"))
    }
}

/// A GCP project number: a positive 64-bit integer.
fn project_number(text: &str) -> anyhow::Result<i64> {
    match text.parse::<i64>() {
        Ok(n) if n > 0 => Ok(n),
        _ => bail!(
            "invalid project number {}: must be a positive integer",
            esc_eval::go_quote(text)
        ),
    }
}

/// `--create`, then read, edit, write (with the etag read).
async fn apply(
    ctx: &Ctx,
    target: &Target,
    create: bool,
    block: &EditValue,
) -> anyhow::Result<ExitCode> {
    let name = &target.name;
    if create && !ctx.backend.exists(name).await.unwrap_or(false) {
        ctx.backend
            .create_environment(name)
            .await
            .context("creating environment")?;
        messages::out(&messages::environment_created(&name.to_string()))?;
    }
    let def = match ctx.backend.definition(name, None, false).await {
        Ok(def) => def,
        Err(error) if is_not_found(&error) => bail!(
            "environment {name} does not exist; pass --create to create it, or run `esc env init {name}` first"
        ),
        Err(error) => {
            return Err(
                anyhow::Error::new::<BackendError>(error).context("getting environment definition")
            );
        }
    };
    let doc_key = format!("{}/{}", name.project, name.name);
    let updated = yamledit::set_in_values(&doc_key, &def.yaml, &target.path, block)
        .map_err(|e| anyhow::anyhow!("setting provider at {}: {e:#}", go_path(&target.path)))?;
    let diags = ctx
        .backend
        .update_definition(name, &updated, def.etag.as_deref())
        .await
        .context("updating environment definition")?;
    if diags.is_empty() {
        messages::out(messages::PROVIDER_UPDATED)?;
        return Ok(ExitCode::SUCCESS);
    }
    // The diagnostics show source lines: show them with the secrets given
    // on the command line masked (the reference prints them in plaintext).
    // A masked secret must not move the lines: else no source is shown.
    let shown = yamledit::set_in_values(&doc_key, &def.yaml, &target.path, &masked(block))
        .ok()
        .filter(|shown| shown.lines().count() == updated.lines().count())
        .unwrap_or_default();
    messages::err(&diags::yaml_style(&diags, &doc_key, &shown));
    if diags::has_errors(&diags) {
        bail!("provider update failed");
    }
    Ok(ExitCode::SUCCESS)
}

/// `block` with every `{fn::secret: <string>}` value replaced by `[secret]`.
fn masked(block: &EditValue) -> EditValue {
    match block {
        EditValue::Mapping(entries) => EditValue::Mapping(
            entries
                .iter()
                .map(|(key, value)| match value {
                    EditValue::String(_) if key == "fn::secret" => {
                        (key.clone(), string("[secret]"))
                    }
                    other => (key.clone(), masked(other)),
                })
                .collect(),
        ),
        EditValue::Sequence(items) => EditValue::Sequence(items.iter().map(masked).collect()),
        other => other.clone(),
    }
}

/// A property path as Go's `%v` prints `resource.PropertyPath` (`[aws login]`).
fn go_path(path: &PropertyPath) -> String {
    let parts: Vec<String> = path
        .0
        .iter()
        .map(|a| match a {
            Accessor::Key(k) => k.clone(),
            Accessor::Index(i) => i.to_string(),
        })
        .collect();
    format!("[{}]", parts.join(" "))
}

fn provider_block(function: &str, inputs: EditValue) -> EditValue {
    EditValue::Mapping(vec![field(function, inputs)])
}

fn field(key: &str, value: EditValue) -> (String, EditValue) {
    (key.to_owned(), value)
}

fn string(text: &str) -> EditValue {
    EditValue::String(text.to_owned())
}

/// `{fn::secret: text}`, the text always a string.
fn secret(text: &str) -> EditValue {
    EditValue::Mapping(vec![field("fn::secret", string(text))])
}

/// Add `key: value` when the flag was given a non-empty value.
fn push_optional(fields: &mut Vec<(String, EditValue)>, key: &str, value: Option<String>) {
    if let Some(value) = value.filter(|v| !v.is_empty()) {
        fields.push(field(key, EditValue::String(value)));
    }
}

/// Add `key: [values…]` when the repeatable flag was given.
fn push_list(fields: &mut Vec<(String, EditValue)>, key: &str, values: &[String]) {
    if !values.is_empty() {
        fields.push(field(
            key,
            EditValue::Sequence(values.iter().map(|v| string(v)).collect()),
        ));
    }
}

/// Print the long help of `esc env <path…>` (a group given no subcommand).
fn group_help(path: &[&str]) -> anyhow::Result<ExitCode> {
    let mut cmd = <crate::cli::Cli as clap::CommandFactory>::command();
    cmd.build();
    let mut current = cmd.find_subcommand_mut("env");
    for name in path {
        current = current.and_then(|c| c.find_subcommand_mut(name));
    }
    if let Some(sub) = current {
        messages::out(&format!("{}\n", sub.render_long_help()))?;
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn project_numbers_are_positive_integers() {
        assert_eq!(project_number("123456789").unwrap(), 123_456_789);
        for bad in ["0", "-5", "12x", "", "99999999999999999999"] {
            assert_eq!(
                project_number(bad).unwrap_err().to_string(),
                format!(
                    "invalid project number {}: must be a positive integer",
                    esc_eval::go_quote(bad)
                )
            );
        }
    }

    #[test]
    fn blocks_are_written_in_the_reference_order_and_replace_the_old_one() {
        let block = provider_block(
            "fn::open::aws-login",
            EditValue::Mapping(vec![field(
                "static",
                EditValue::Mapping(vec![
                    field("accessKeyId", string("AKIA")),
                    field("secretAccessKey", secret("true")),
                ]),
            )]),
        );
        let path = PropertyPath::parse("aws.login").unwrap();
        let doc = "# keep me\nvalues:\n  aws:\n    login:\n      old: 1\n  other: 2\n";
        let out = yamledit::set_in_values("p/e", doc, &path, &block).unwrap();
        assert_eq!(
            out,
            "# keep me\nvalues:\n  aws:\n    login:\n      fn::open::aws-login:\n        static:\n          accessKeyId: AKIA\n          secretAccessKey:\n            fn::secret: \"true\"\n  other: 2\n"
        );
        // `imports…` is a path under `values` here, unlike `env set`
        let path = PropertyPath::parse("imports").unwrap();
        // an empty document is written as yaml.v3 marshals it (four spaces)
        let out = yamledit::set_in_values("p/e", "", &path, &string("x")).unwrap();
        assert_eq!(out, "values:\n    imports: x\n");
    }

    #[test]
    fn secrets_are_masked_for_display() {
        let block = provider_block(
            "fn::open::azure-login",
            EditValue::Mapping(vec![
                field("clientId", string("cid")),
                field("clientSecret", secret("hunter2")),
            ]),
        );
        let path = PropertyPath::parse("azure.login").unwrap();
        let shown = yamledit::set_in_values("p/e", "", &path, &masked(&block)).unwrap();
        assert!(shown.contains("fn::secret: '[secret]'"), "{shown}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("clientId: cid"), "{shown}");
    }

    #[test]
    fn go_paths() {
        let path = PropertyPath::parse("a[0].b").unwrap();
        assert_eq!(go_path(&path), "[a 0 b]");
    }
}
