//! Users, organization memberships and per-environment grants (schema
//! version 3), and the types they are read into. Every user, access token,
//! membership or grant change appends its audit event in the same
//! transaction (users and tokens under `SERVER_AUDIT_ORG`).

use super::access::{self, append_audit};
use crate::db::{Row, Tx, args};
use crate::error::StoreError;
use crate::model::{NewAccessToken, NewAuditEvent, SERVER_AUDIT_ORG, Timestamp};

/// A person (or robot) who can hold access tokens.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct User {
    /// The unique login.
    pub login: String,
    /// A display name.
    pub name: String,
    /// When it was added.
    pub created: Timestamp,
}

/// A role in an organization; each grants the permissions of the ones below.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum MemberRole {
    /// Read and open every environment of the organization.
    Reader,
    /// Also change them and create environments.
    Writer,
    /// Everything, including deleting and settings.
    Admin,
}

impl MemberRole {
    /// The stored and displayed name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Reader => "reader",
            Self::Writer => "writer",
            Self::Admin => "admin",
        }
    }

    /// Reads a name written by [`MemberRole::as_str`].
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "reader" => Some(Self::Reader),
            "writer" => Some(Self::Writer),
            "admin" => Some(Self::Admin),
            _ => None,
        }
    }
}

/// A permission granted on an environment or project; each includes the
/// ones below.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum GrantPermission {
    /// Read definitions (secrets as ciphertext), revisions, tags.
    Read,
    /// Also open and reveal.
    Open,
    /// Also change the definition and tags.
    Write,
    /// Also delete and change settings.
    Admin,
}

impl GrantPermission {
    /// The stored and displayed name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Read => "read",
            Self::Open => "open",
            Self::Write => "write",
            Self::Admin => "admin",
        }
    }

    /// Reads a name written by [`GrantPermission::as_str`].
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "read" => Some(Self::Read),
            "open" => Some(Self::Open),
            "write" => Some(Self::Write),
            "admin" => Some(Self::Admin),
            _ => None,
        }
    }
}

/// A user's role in one organization.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrgMembership {
    /// The organization.
    pub org: String,
    /// The user's login.
    pub login: String,
    /// The role.
    pub role: MemberRole,
}

/// A permission of a user on one environment, or on every environment of
/// a project (`env: None`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EnvironmentGrant {
    /// The organization.
    pub org: String,
    /// The project.
    pub project: String,
    /// The environment; `None` for the whole project.
    pub env: Option<String>,
    /// The user's login.
    pub login: String,
    /// What is granted.
    pub permission: GrantPermission,
}

/// Everything the store says a user may do, read in one transaction.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UserAccess {
    /// The user's organization memberships, by organization.
    pub memberships: Vec<OrgMembership>,
    /// The user's environment and project grants.
    pub grants: Vec<EnvironmentGrant>,
}

pub(super) async fn create_user(
    tx: &mut dyn Tx,
    login: &str,
    name: &str,
    actor: &str,
) -> Result<User, StoreError> {
    if login.is_empty() {
        return Err(StoreError::invalid("a login must not be empty"));
    }
    let now = Timestamp::now();
    tx.execute(
        "INSERT INTO users (login, name, created) VALUES ($1, $2, $3)",
        args![login, name, now.unix_millis()],
    )
    .await
    .map_err(|error| {
        if error.is_unique_violation() {
            StoreError::already_exists(format!("user {login}"))
        } else {
            error
        }
    })?;
    audit(tx, SERVER_AUDIT_ORG, actor, "user.add", login, "").await?;
    Ok(User {
        login: login.to_owned(),
        name: name.to_owned(),
        created: now,
    })
}

pub(super) async fn user(tx: &mut dyn Tx, login: &str) -> Result<User, StoreError> {
    let row = tx
        .query_opt(
            "SELECT login, name, created FROM users WHERE login = $1",
            args![login],
        )
        .await?
        .ok_or_else(|| StoreError::not_found(format!("user {login}")))?;
    user_from_row(&row)
}

pub(super) async fn list_users(tx: &mut dyn Tx) -> Result<Vec<User>, StoreError> {
    tx.query(
        "SELECT login, name, created FROM users ORDER BY login",
        vec![],
    )
    .await?
    .iter()
    .map(user_from_row)
    .collect()
}

/// Deletes a user with its memberships, grants and access tokens.
pub(super) async fn delete_user(
    tx: &mut dyn Tx,
    login: &str,
    actor: &str,
) -> Result<(), StoreError> {
    let n_tokens = tx
        .execute("DELETE FROM access_tokens WHERE owner = $1", args![login])
        .await?;
    let n_deleted = tx
        .execute("DELETE FROM users WHERE login = $1", args![login])
        .await?;
    if n_deleted == 0 {
        return Err(StoreError::not_found(format!("user {login}")));
    }
    audit(
        tx,
        SERVER_AUDIT_ORG,
        actor,
        "user.remove",
        login,
        &format!("access tokens deleted: {n_tokens}"),
    )
    .await
}

/// Creates an access token (see `access::create_token`) with a
/// `token.create` audit event: target the token id, never its secret.
pub(super) async fn create_token(
    tx: &mut dyn Tx,
    owner: &str,
    description: &str,
    expires: Option<Timestamp>,
    actor: &str,
) -> Result<NewAccessToken, StoreError> {
    let created = access::create_token(tx, owner, description, expires).await?;
    audit(
        tx,
        SERVER_AUDIT_ORG,
        actor,
        "token.create",
        &created.token.id,
        &format!("owner {owner}"),
    )
    .await?;
    Ok(created)
}

pub(super) async fn set_membership(
    tx: &mut dyn Tx,
    membership: &OrgMembership,
    actor: &str,
) -> Result<(), StoreError> {
    user(tx, &membership.login).await?;
    let now = Timestamp::now().unix_millis();
    ensure_organization(tx, &membership.org, now).await?;
    tx.execute(
        "INSERT INTO memberships (org, login, role, created) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (org, login) DO UPDATE SET role = excluded.role",
        args![
            &membership.org,
            &membership.login,
            membership.role.as_str(),
            now
        ],
    )
    .await?;
    audit(
        tx,
        &membership.org,
        actor,
        "member.set",
        &membership.login,
        &format!("role {}", membership.role.as_str()),
    )
    .await
}

pub(super) async fn remove_membership(
    tx: &mut dyn Tx,
    org: &str,
    login: &str,
    actor: &str,
) -> Result<(), StoreError> {
    let n_deleted = tx
        .execute(
            "DELETE FROM memberships WHERE org = $1 AND login = $2",
            args![org, login],
        )
        .await?;
    if n_deleted == 0 {
        return Err(StoreError::not_found(format!(
            "membership of {login} in {org}"
        )));
    }
    audit(tx, org, actor, "member.remove", login, "").await
}

pub(super) async fn list_memberships(
    tx: &mut dyn Tx,
    org: Option<&str>,
) -> Result<Vec<OrgMembership>, StoreError> {
    let rows = match org {
        Some(org) => {
            tx.query(
                "SELECT org, login, role FROM memberships WHERE org = $1 ORDER BY org, login",
                args![org],
            )
            .await?
        }
        None => {
            tx.query(
                "SELECT org, login, role FROM memberships ORDER BY org, login",
                vec![],
            )
            .await?
        }
    };
    rows.iter().map(membership_from_row).collect()
}

pub(super) async fn set_grant(
    tx: &mut dyn Tx,
    grant: &EnvironmentGrant,
    actor: &str,
) -> Result<(), StoreError> {
    if grant.project.is_empty() || grant.env.as_deref() == Some("") {
        return Err(StoreError::invalid(
            "a grant needs a project and, if given, an environment name",
        ));
    }
    user(tx, &grant.login).await?;
    let now = Timestamp::now().unix_millis();
    ensure_organization(tx, &grant.org, now).await?;
    tx.execute(
        "INSERT INTO environment_grants (org, project, env, login, permission, created) \
         VALUES ($1, $2, $3, $4, $5, $6) \
         ON CONFLICT (org, project, env, login) DO UPDATE SET permission = excluded.permission",
        args![
            &grant.org,
            &grant.project,
            grant.env.as_deref().unwrap_or(""),
            &grant.login,
            grant.permission.as_str(),
            now
        ],
    )
    .await?;
    audit(
        tx,
        &grant.org,
        actor,
        "grant.set",
        &grant_target(&grant.project, grant.env.as_deref(), &grant.login),
        &format!("permission {}", grant.permission.as_str()),
    )
    .await
}

pub(super) async fn remove_grant(
    tx: &mut dyn Tx,
    org: &str,
    project: &str,
    env: Option<&str>,
    login: &str,
    actor: &str,
) -> Result<(), StoreError> {
    let n_deleted = tx
        .execute(
            "DELETE FROM environment_grants WHERE org = $1 AND project = $2 AND env = $3 AND login = $4",
            args![org, project, env.unwrap_or(""), login],
        )
        .await?;
    if n_deleted == 0 {
        return Err(StoreError::not_found(format!(
            "grant on {org}/{project}{} to {login}",
            env.map(|env| format!("/{env}")).unwrap_or_default()
        )));
    }
    audit(
        tx,
        org,
        actor,
        "grant.remove",
        &grant_target(project, env, login),
        "",
    )
    .await
}

pub(super) async fn list_grants(
    tx: &mut dyn Tx,
    org: Option<&str>,
) -> Result<Vec<EnvironmentGrant>, StoreError> {
    let columns = "org, project, env, login, permission";
    let rows = match org {
        Some(org) => {
            tx.query(
                &format!(
                    "SELECT {columns} FROM environment_grants WHERE org = $1 \
                     ORDER BY org, project, env, login"
                ),
                args![org],
            )
            .await?
        }
        None => {
            tx.query(
                &format!(
                    "SELECT {columns} FROM environment_grants ORDER BY org, project, env, login"
                ),
                vec![],
            )
            .await?
        }
    };
    rows.iter().map(grant_from_row).collect()
}

/// A user's memberships and grants (empty for an unknown login).
pub(super) async fn user_access(tx: &mut dyn Tx, login: &str) -> Result<UserAccess, StoreError> {
    let memberships = tx
        .query(
            "SELECT org, login, role FROM memberships WHERE login = $1 ORDER BY org",
            args![login],
        )
        .await?
        .iter()
        .map(membership_from_row)
        .collect::<Result<_, _>>()?;
    let grants = tx
        .query(
            "SELECT org, project, env, login, permission FROM environment_grants \
             WHERE login = $1 ORDER BY org, project, env",
            args![login],
        )
        .await?
        .iter()
        .map(grant_from_row)
        .collect::<Result<_, _>>()?;
    Ok(UserAccess {
        memberships,
        grants,
    })
}

/// Deletes an access token by id; returns its owner.
pub(super) async fn revoke_token(
    tx: &mut dyn Tx,
    id: &str,
    actor: &str,
) -> Result<String, StoreError> {
    let owner = tx
        .query_opt("SELECT owner FROM access_tokens WHERE id = $1", args![id])
        .await?
        .ok_or_else(|| StoreError::not_found(format!("access token {id}")))?
        .text(0)?;
    tx.execute("DELETE FROM access_tokens WHERE id = $1", args![id])
        .await?;
    audit(
        tx,
        SERVER_AUDIT_ORG,
        actor,
        "token.revoke",
        id,
        &format!("owner {owner}"),
    )
    .await?;
    Ok(owner)
}

/// Deletes an owner's token (`NotFound` unless `owner` has it) with a
/// `token.revoke` audit event, as [`revoke_token`].
pub(super) async fn delete_token(
    tx: &mut dyn Tx,
    owner: &str,
    id: &str,
    actor: &str,
) -> Result<(), StoreError> {
    access::delete_token(tx, owner, id).await?;
    audit(
        tx,
        SERVER_AUDIT_ORG,
        actor,
        "token.revoke",
        id,
        &format!("owner {owner}"),
    )
    .await
}

/// Creates the organization unless it exists.
async fn ensure_organization(tx: &mut dyn Tx, org: &str, now: i64) -> Result<(), StoreError> {
    if org.is_empty() {
        return Err(StoreError::invalid(
            "an organization name must not be empty",
        ));
    }
    tx.execute(
        "INSERT INTO organizations (name, created) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
        args![org, now],
    )
    .await?;
    Ok(())
}

async fn audit(
    tx: &mut dyn Tx,
    org: &str,
    actor: &str,
    action: &str,
    target: &str,
    detail: &str,
) -> Result<(), StoreError> {
    append_audit(
        tx,
        &NewAuditEvent {
            time: Timestamp::now(),
            org: org.to_owned(),
            actor: actor.to_owned(),
            action: action.to_owned(),
            target: target.to_owned(),
            detail: detail.to_owned(),
        },
    )
    .await?;
    Ok(())
}

fn grant_target(project: &str, env: Option<&str>, login: &str) -> String {
    match env {
        Some(env) => format!("{project}/{env} {login}"),
        None => format!("{project} {login}"),
    }
}

fn user_from_row(row: &Row) -> Result<User, StoreError> {
    Ok(User {
        login: row.text(0)?,
        name: row.text(1)?,
        created: Timestamp::from_unix_millis(row.int(2)?),
    })
}

fn membership_from_row(row: &Row) -> Result<OrgMembership, StoreError> {
    let role = row.text(2)?;
    Ok(OrgMembership {
        org: row.text(0)?,
        login: row.text(1)?,
        role: MemberRole::parse(&role)
            .ok_or_else(|| StoreError::invalid(format!("stored role '{role}' is unknown")))?,
    })
}

fn grant_from_row(row: &Row) -> Result<EnvironmentGrant, StoreError> {
    let permission = row.text(4)?;
    let env = row.text(2)?;
    Ok(EnvironmentGrant {
        org: row.text(0)?,
        project: row.text(1)?,
        env: (!env.is_empty()).then_some(env),
        login: row.text(3)?,
        permission: GrantPermission::parse(&permission).ok_or_else(|| {
            StoreError::invalid(format!("stored permission '{permission}' is unknown"))
        })?,
    })
}
