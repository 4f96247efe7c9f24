//! `esc serve user|member|grant|token`: administration of a server's users,
//! organization memberships, environment grants and access tokens, working
//! directly on its database (the same `--data-dir` / `--database-url` as
//! `esc serve`; a running server sees changes within its token cache time
//! to live, 5 s). Every change is an audit event by `esc-serve-admin`:
//! membership and grant changes of their organization, user and token
//! changes server-wide (`esc_store::SERVER_AUDIT_ORG`).

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context as _, bail};
use clap::{Args, Subcommand, ValueEnum};
use esc_store::{
    EnvironmentGrant, GrantPermission, Location, MemberRole, OrgMembership, SqlStore, Store,
    Timestamp,
};

use crate::messages;

/// The actor recorded in audit events of these commands.
const ADMIN_ACTOR: &str = "esc-serve-admin";

/// The administration commands under `esc serve`.
#[derive(Debug, Subcommand)]
pub(crate) enum AdminCommand {
    /// Add, remove and list users
    #[command(
        subcommand,
        after_help = "Examples:\n  esc serve user add bob --name 'Bob Builder'\n  esc serve user ls\n  esc serve user rm bob"
    )]
    User(UserCommand),
    /// Set, remove and list organization memberships (reader, writer, admin)
    #[command(
        subcommand,
        after_help = "Examples:\n  esc serve member set acme bob --role reader\n  esc serve member ls acme\n  esc serve member rm acme bob"
    )]
    Member(MemberCommand),
    /// Grant a user a permission on one environment or a whole project
    #[command(
        args_conflicts_with_subcommands = true,
        subcommand_negates_reqs = true,
        after_help = "Examples:\n  esc serve grant acme/proj/dev bob --permission write\n  esc serve grant acme/proj bob --permission open   (every environment of the project)\n  esc serve grant ls acme\n  esc serve grant rm acme/proj/dev bob"
    )]
    Grant(GrantCommand),
    /// Create, revoke and list access tokens
    #[command(
        subcommand,
        after_help = "Examples:\n  esc serve token create bob --description ci --expires 30d\n  esc serve token ls bob\n  esc serve token revoke <ID>"
    )]
    Token(TokenCommand),
}

/// `esc serve user ...`
#[derive(Debug, Subcommand)]
pub(crate) enum UserCommand {
    /// Add a user
    #[command(after_help = "Example:\n  esc serve user add bob --name 'Bob Builder'")]
    Add {
        /// The login (letters, digits, '-', '_', '.')
        login: String,
        /// A display name (default: the login)
        #[arg(long)]
        name: Option<String>,
    },
    /// Remove a user with its memberships, grants and tokens
    #[command(after_help = "Example:\n  esc serve user rm bob")]
    Rm {
        /// The login
        login: String,
    },
    /// List users
    #[command(after_help = "Example:\n  esc serve user ls")]
    Ls,
}

/// `esc serve member ...`
#[derive(Debug, Subcommand)]
pub(crate) enum MemberCommand {
    /// Give a user a role in an organization (created if needed)
    #[command(after_help = "Example:\n  esc serve member set acme bob --role writer")]
    Set {
        /// The organization
        org: String,
        /// The user's login
        login: String,
        /// The role
        #[arg(long, value_enum)]
        role: RoleArg,
    },
    /// Remove a user from an organization
    #[command(after_help = "Example:\n  esc serve member rm acme bob")]
    Rm {
        /// The organization
        org: String,
        /// The user's login
        login: String,
    },
    /// List memberships, of one organization or all
    #[command(after_help = "Example:\n  esc serve member ls acme\n  esc serve member ls")]
    Ls {
        /// The organization
        org: Option<String>,
    },
}

/// `esc serve grant ORG/PROJECT[/ENV] LOGIN --permission P`, or a subcommand.
#[derive(Debug, Args)]
pub(crate) struct GrantCommand {
    #[command(subcommand)]
    command: Option<GrantSubcommand>,
    /// ORG/PROJECT/ENV, or ORG/PROJECT for every environment of the project
    #[arg(required = true)]
    target: Option<String>,
    /// The user's login
    #[arg(required = true)]
    login: Option<String>,
    /// The permission (each includes the ones before it)
    #[arg(long, value_enum, required = true)]
    permission: Option<PermissionArg>,
}

/// `esc serve grant rm|ls`
#[derive(Debug, Subcommand)]
pub(crate) enum GrantSubcommand {
    /// Remove a grant
    #[command(after_help = "Example:\n  esc serve grant rm acme/proj/dev bob")]
    Rm {
        /// ORG/PROJECT/ENV or ORG/PROJECT, as granted
        target: String,
        /// The user's login
        login: String,
    },
    /// List grants, of one organization or all
    #[command(after_help = "Example:\n  esc serve grant ls acme")]
    Ls {
        /// The organization
        org: Option<String>,
    },
}

/// `esc serve token ...`
#[derive(Debug, Subcommand)]
pub(crate) enum TokenCommand {
    /// Create an access token for a user (printed once)
    #[command(after_help = "Example:\n  esc serve token create bob --description ci --expires 30d")]
    Create {
        /// The user's login
        login: String,
        /// What the token is for
        #[arg(long, default_value = "")]
        description: String,
        /// Lifetime, e.g. 90m, 12h, 30d (default: no expiry)
        #[arg(long)]
        expires: Option<String>,
    },
    /// Revoke a token by id
    #[command(after_help = "Example:\n  esc serve token revoke <ID>")]
    Revoke {
        /// The token id (from `token ls`)
        id: String,
    },
    /// List a user's tokens
    #[command(after_help = "Example:\n  esc serve token ls bob")]
    Ls {
        /// The user's login
        login: String,
    },
}

/// A membership role on the command line.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub(crate) enum RoleArg {
    /// Read and open every environment
    Reader,
    /// Also change them
    Writer,
    /// Everything
    Admin,
}

/// A grant permission on the command line.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub(crate) enum PermissionArg {
    /// Read definitions, revisions, tags
    Read,
    /// Also open and reveal
    Open,
    /// Also change
    Write,
    /// Also delete and change settings
    Admin,
}

/// Runs one administration command on the database of `esc serve`.
pub(crate) async fn run(
    data_dir: PathBuf,
    database_url: Option<String>,
    command: AdminCommand,
) -> anyhow::Result<ExitCode> {
    let (store, _) = match &database_url {
        Some(url) => SqlStore::open(Location::Postgres(url)).await,
        None => SqlStore::open(Location::Embedded(&data_dir)).await,
    }
    .context("opening the server's database")?;
    match command {
        AdminCommand::User(command) => user(&*store, command).await,
        AdminCommand::Member(command) => member(&*store, command).await,
        AdminCommand::Grant(command) => grant(&*store, command).await,
        AdminCommand::Token(command) => token(&store, command).await,
    }?;
    Ok(ExitCode::SUCCESS)
}

async fn user(store: &dyn Store, command: UserCommand) -> anyhow::Result<()> {
    match command {
        UserCommand::Add { login, name } => {
            check_login(&login)?;
            let name = name.unwrap_or_else(|| login.clone());
            store
                .create_user(&login, &name, ADMIN_ACTOR)
                .await
                .with_context(|| format!("adding user {login}"))?;
            messages::out(&format!("Added user {login}\n"))?;
        }
        UserCommand::Rm { login } => {
            store
                .delete_user(&login, ADMIN_ACTOR)
                .await
                .with_context(|| format!("removing user {login}"))?;
            messages::out(&format!("Removed user {login}\n"))?;
        }
        UserCommand::Ls => {
            let mut text = String::from("LOGIN\tNAME\tCREATED\n");
            for user in store.list_users().await.context("listing users")? {
                text.push_str(&format!(
                    "{}\t{}\t{}\n",
                    user.login,
                    user.name,
                    user.created.rfc3339()
                ));
            }
            messages::out(&text)?;
        }
    }
    Ok(())
}

async fn member(store: &dyn Store, command: MemberCommand) -> anyhow::Result<()> {
    match command {
        MemberCommand::Set { org, login, role } => {
            esc_service::check_org(&org).context("checking the organization")?;
            let role = match role {
                RoleArg::Reader => MemberRole::Reader,
                RoleArg::Writer => MemberRole::Writer,
                RoleArg::Admin => MemberRole::Admin,
            };
            let membership = OrgMembership {
                org: org.clone(),
                login: login.clone(),
                role,
            };
            store
                .set_membership(&membership, ADMIN_ACTOR)
                .await
                .with_context(|| format!("setting the role of {login} in {org}"))?;
            messages::out(&format!("{login} is {} of {org}\n", role.as_str()))?;
        }
        MemberCommand::Rm { org, login } => {
            store
                .remove_membership(&org, &login, ADMIN_ACTOR)
                .await
                .with_context(|| format!("removing {login} from {org}"))?;
            messages::out(&format!("Removed {login} from {org}\n"))?;
        }
        MemberCommand::Ls { org } => {
            let mut text = String::from("ORGANIZATION\tLOGIN\tROLE\n");
            for m in store
                .list_memberships(org.as_deref())
                .await
                .context("listing memberships")?
            {
                text.push_str(&format!("{}\t{}\t{}\n", m.org, m.login, m.role.as_str()));
            }
            messages::out(&text)?;
        }
    }
    Ok(())
}

async fn grant(store: &dyn Store, command: GrantCommand) -> anyhow::Result<()> {
    match command.command {
        Some(GrantSubcommand::Rm { target, login }) => {
            let (org, project, env) = parse_target(&target)?;
            store
                .remove_grant(&org, &project, env.as_deref(), &login, ADMIN_ACTOR)
                .await
                .with_context(|| format!("removing the grant on {target} to {login}"))?;
            messages::out(&format!("Removed the grant on {target} to {login}\n"))?;
        }
        Some(GrantSubcommand::Ls { org }) => {
            let mut text = String::from("TARGET\tLOGIN\tPERMISSION\n");
            for g in store
                .list_grants(org.as_deref())
                .await
                .context("listing grants")?
            {
                let target = match &g.env {
                    Some(env) => format!("{}/{}/{env}", g.org, g.project),
                    None => format!("{}/{}", g.org, g.project),
                };
                text.push_str(&format!(
                    "{target}\t{}\t{}\n",
                    g.login,
                    g.permission.as_str()
                ));
            }
            messages::out(&text)?;
        }
        None => {
            // clap requires all three without a subcommand
            let (Some(target), Some(login), Some(permission)) =
                (command.target, command.login, command.permission)
            else {
                bail!("usage: esc serve grant ORG/PROJECT[/ENV] LOGIN --permission PERMISSION");
            };
            let (org, project, env) = parse_target(&target)?;
            let permission = match permission {
                PermissionArg::Read => GrantPermission::Read,
                PermissionArg::Open => GrantPermission::Open,
                PermissionArg::Write => GrantPermission::Write,
                PermissionArg::Admin => GrantPermission::Admin,
            };
            let grant = EnvironmentGrant {
                org,
                project,
                env,
                login: login.clone(),
                permission,
            };
            store
                .set_grant(&grant, ADMIN_ACTOR)
                .await
                .with_context(|| format!("granting {target} to {login}"))?;
            messages::out(&format!(
                "Granted {} on {target} to {login}\n",
                permission.as_str()
            ))?;
        }
    }
    Ok(())
}

async fn token(store: &Arc<dyn Store>, command: TokenCommand) -> anyhow::Result<()> {
    match command {
        TokenCommand::Create {
            login,
            description,
            expires,
        } => {
            let expires = expires
                .map(|text| parse_lifetime(&text))
                .transpose()?
                .map(|millis| Timestamp::now().plus_millis(millis));
            store
                .user(&login)
                .await
                .with_context(|| format!("creating a token for {login}"))?;
            let created = store
                .create_access_token(&login, &description, expires, ADMIN_ACTOR)
                .await
                .with_context(|| format!("creating a token for {login}"))?;
            let secret = created
                .secret
                .expose_str()
                .context("the new token is not text")?;
            messages::out(&format!(
                "Created token {} for {login} (shown once):\n{secret}\n",
                created.token.id
            ))?;
        }
        TokenCommand::Revoke { id } => {
            let owner = store
                .revoke_access_token(&id, ADMIN_ACTOR)
                .await
                .with_context(|| format!("revoking token {id}"))?;
            messages::out(&format!("Revoked token {id} of {owner}\n"))?;
        }
        TokenCommand::Ls { login } => {
            let mut text = String::from("ID\tDESCRIPTION\tCREATED\tLAST USED\tEXPIRES\n");
            for t in store
                .list_access_tokens(&login)
                .await
                .context("listing tokens")?
            {
                let time = |t: Option<Timestamp>| t.map_or("-".to_owned(), Timestamp::rfc3339);
                text.push_str(&format!(
                    "{}\t{}\t{}\t{}\t{}\n",
                    t.id,
                    t.description,
                    t.created.rfc3339(),
                    time(t.last_used),
                    time(t.expires)
                ));
            }
            messages::out(&text)?;
        }
    }
    Ok(())
}

fn check_login(login: &str) -> anyhow::Result<()> {
    esc_service::check_org(login).map_err(|error| anyhow::anyhow!("invalid login: {error}"))
}

/// `ORG/PROJECT/ENV` or `ORG/PROJECT`.
fn parse_target(text: &str) -> anyhow::Result<(String, String, Option<String>)> {
    let parts: Vec<&str> = text.split('/').collect();
    let (org, project, env) = match parts.as_slice() {
        [org, project] => (*org, *project, None),
        [org, project, env] => (*org, *project, Some(*env)),
        _ => bail!("'{text}' is not ORG/PROJECT or ORG/PROJECT/ENV"),
    };
    esc_service::check_org(org).with_context(|| format!("in '{text}'"))?;
    esc_service::check_segment("project", project).with_context(|| format!("in '{text}'"))?;
    if let Some(env) = env {
        esc_service::check_segment("environment", env).with_context(|| format!("in '{text}'"))?;
    }
    Ok((org.to_owned(), project.to_owned(), env.map(str::to_owned)))
}

/// A lifetime like `90m`, `12h` or `30d`, in milliseconds.
fn parse_lifetime(text: &str) -> anyhow::Result<i64> {
    let (number, unit) = text.split_at(text.len().saturating_sub(1));
    let unit_millis: i64 = match unit {
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        _ => bail!("invalid --expires '{text}': use a number with m, h or d (e.g. 30d)"),
    };
    let number: i64 = number
        .parse()
        .ok()
        .filter(|n| *n > 0)
        .with_context(|| format!("invalid --expires '{text}': use a number with m, h or d"))?;
    number
        .checked_mul(unit_millis)
        .with_context(|| format!("--expires '{text}' is too long"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_and_lifetimes() {
        assert_eq!(
            parse_target("acme/proj/dev").unwrap(),
            ("acme".into(), "proj".into(), Some("dev".into()))
        );
        assert_eq!(
            parse_target("acme/proj").unwrap(),
            ("acme".into(), "proj".into(), None)
        );
        assert!(parse_target("acme").is_err());
        assert!(parse_target("acme/a/b/c").is_err());
        assert!(parse_target("acme//dev").is_err());
        assert_eq!(parse_lifetime("90m").unwrap(), 90 * 60_000);
        assert_eq!(parse_lifetime("30d").unwrap(), 30 * 86_400_000);
        assert!(parse_lifetime("30").is_err());
        assert!(parse_lifetime("-1d").is_err());
        assert!(parse_lifetime("d").is_err());
    }
}
