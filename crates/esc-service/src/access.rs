//! Who may do what. A token belongs to a user (its owner login). A user's
//! role in an organization grants permissions on every environment of that
//! organization; a grant on one environment (or on every environment of a
//! project) adds permissions there only.
//!
//! Roles come from two places, and the strongest applies:
//! - the store (`esc serve member set` / `grant`): memberships and grants,
//!   read with the token on authentication and kept in [`AccessCache`] for
//!   at most `ServiceConfig::token_cache_ttl` (5 s), the same bound as for a
//!   revoked token: a removed membership or grant stops working within it,
//!   on every server sharing the database;
//! - [`AccessPolicy`] (configuration): configured admins are admins of every
//!   organization, and every user is admin of the organization named like
//!   its login (its personal organization: `esc serve` creates the admin's
//!   and local mode relies on it), plus configured memberships.
//!
//! Imports inside an evaluation need read permission in the organization
//! (a membership); an environment grant alone does not cover imports.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use esc_store::{EnvRef, GrantPermission, MemberRole, UserAccess};

/// What an operation needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Permission {
    /// Read definitions (secrets as ciphertext), revisions, tags, listings.
    Read,
    /// Open environments and reveal secrets.
    Open,
    /// Change definitions and tags, create environments.
    Write,
    /// Delete, change settings, retract revisions.
    Admin,
}

/// A user's role in an organization.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    /// Read and open.
    Reader,
    /// Read, open and write.
    Writer,
    /// Everything.
    Admin,
}

impl Role {
    /// Whether this role grants `permission`.
    pub fn grants(self, permission: Permission) -> bool {
        match self {
            Role::Reader => permission <= Permission::Open,
            Role::Writer => permission <= Permission::Write,
            Role::Admin => true,
        }
    }
}

/// A user's role in one organization.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Membership {
    /// The user's login.
    pub login: String,
    /// The organization.
    pub org: String,
    /// The role.
    pub role: Role,
}

/// The roles users have.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AccessPolicy {
    /// Logins that are admins of every organization.
    pub admins: Vec<String>,
    /// Further memberships.
    pub memberships: Vec<Membership>,
}

impl AccessPolicy {
    /// The role of `login` in `org`, if any (the strongest that applies).
    pub fn role(&self, login: &str, org: &str) -> Option<Role> {
        if self.admins.iter().any(|admin| admin == login) || login == org {
            return Some(Role::Admin);
        }
        self.memberships
            .iter()
            .filter(|m| m.login == login && m.org == org)
            .map(|m| m.role)
            .max()
    }

    /// Whether `login` is an admin of every organization.
    pub fn is_global_admin(&self, login: &str) -> bool {
        self.admins.iter().any(|admin| admin == login)
    }

    /// The organizations `login` has an explicit role in (besides its own).
    pub fn organizations_of(&self, login: &str) -> Vec<String> {
        let mut orgs: Vec<String> = self
            .memberships
            .iter()
            .filter(|m| m.login == login)
            .map(|m| m.org.clone())
            .collect();
        orgs.sort();
        orgs.dedup();
        orgs
    }
}

impl AccessPolicy {
    /// Whether `login` (with `stored`, its memberships and grants from the
    /// store, if loaded) has `permission` on `scope`.
    pub(crate) fn allows(
        &self,
        login: &str,
        stored: Option<&UserAccess>,
        scope: Scope<'_>,
        permission: Permission,
    ) -> bool {
        let org = scope.org();
        if self
            .role(login, org)
            .is_some_and(|role| role.grants(permission))
        {
            return true;
        }
        let Some(stored) = stored else {
            return false;
        };
        if stored
            .memberships
            .iter()
            .any(|m| m.org == org && role_of(m.role).grants(permission))
        {
            return true;
        }
        let Scope::Environment(env) = scope else {
            return false;
        };
        stored.grants.iter().any(|grant| {
            grant.org == env.org
                && grant.project == env.project
                && grant.env.as_ref().is_none_or(|name| *name == env.name)
                && permission_of(grant.permission) >= permission
        })
    }

    /// Whether `stored` holds a grant on some environment of `org` (such a
    /// user may list the organization and sees the granted environments).
    pub(crate) fn has_grant_in(stored: Option<&UserAccess>, org: &str) -> bool {
        stored.is_some_and(|stored| stored.grants.iter().any(|grant| grant.org == org))
    }

    /// This policy plus the stored memberships of one user: what the import
    /// loader (which checks organization roles only) is given.
    pub(crate) fn with_stored(&self, stored: Option<&UserAccess>) -> AccessPolicy {
        let mut policy = self.clone();
        if let Some(stored) = stored {
            policy
                .memberships
                .extend(stored.memberships.iter().map(|m| Membership {
                    login: m.login.clone(),
                    org: m.org.clone(),
                    role: role_of(m.role),
                }));
        }
        policy
    }
}

/// What a permission is asked for: an organization as a whole, or one
/// environment (where grants also count).
#[derive(Clone, Copy, Debug)]
pub(crate) enum Scope<'a> {
    /// Every environment of an organization.
    Organization(&'a str),
    /// One environment.
    Environment(&'a EnvRef),
}

impl Scope<'_> {
    pub(crate) fn org(&self) -> &str {
        match self {
            Scope::Organization(org) => org,
            Scope::Environment(env) => &env.org,
        }
    }
}

impl<'a> From<&'a str> for Scope<'a> {
    fn from(org: &'a str) -> Self {
        Scope::Organization(org)
    }
}

impl<'a> From<&'a String> for Scope<'a> {
    fn from(org: &'a String) -> Self {
        Scope::Organization(org)
    }
}

impl<'a> From<&'a EnvRef> for Scope<'a> {
    fn from(env: &'a EnvRef) -> Self {
        Scope::Environment(env)
    }
}

fn role_of(role: MemberRole) -> Role {
    match role {
        MemberRole::Reader => Role::Reader,
        MemberRole::Writer => Role::Writer,
        MemberRole::Admin => Role::Admin,
    }
}

fn permission_of(permission: GrantPermission) -> Permission {
    match permission {
        GrantPermission::Read => Permission::Read,
        GrantPermission::Open => Permission::Open,
        GrantPermission::Write => Permission::Write,
        GrantPermission::Admin => Permission::Admin,
    }
}

/// Most users whose stored access is kept; past it, expired entries are
/// dropped, and if none are, everything is (reloaded on next use).
const ACCESS_CACHE_ENTRIES: usize = 4096;

/// The stored memberships and grants of recent callers, per login. An entry
/// is reloaded by authentication once older than the time to live, so a
/// change in the store is seen within that bound.
pub(crate) struct AccessCache {
    ttl: Duration,
    entries: Mutex<HashMap<String, (Instant, Arc<UserAccess>)>>,
}

impl AccessCache {
    pub(crate) fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// The entry of `login` if loaded less than the time to live ago.
    pub(crate) fn fresh(&self, login: &str) -> Option<Arc<UserAccess>> {
        let entries = self.lock();
        let (loaded, access) = entries.get(login)?;
        (loaded.elapsed() < self.ttl).then(|| access.clone())
    }

    /// The entry of `login` whatever its age (authentication refreshed it
    /// at the start of the request).
    pub(crate) fn current(&self, login: &str) -> Option<Arc<UserAccess>> {
        self.lock().get(login).map(|(_, access)| access.clone())
    }

    pub(crate) fn insert(&self, login: &str, access: UserAccess) {
        let mut entries = self.lock();
        if entries.len() >= ACCESS_CACHE_ENTRIES && !entries.contains_key(login) {
            let ttl = self.ttl;
            entries.retain(|_, (loaded, _)| loaded.elapsed() < ttl);
            if entries.len() >= ACCESS_CACHE_ENTRIES {
                entries.clear();
            }
        }
        entries.insert(login.to_owned(), (Instant::now(), Arc::new(access)));
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, (Instant, Arc<UserAccess>)>> {
        self.entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_and_permissions() {
        let policy = AccessPolicy {
            admins: vec!["root".into()],
            memberships: vec![Membership {
                login: "bob".into(),
                org: "acme".into(),
                role: Role::Reader,
            }],
        };
        assert_eq!(policy.role("root", "acme"), Some(Role::Admin));
        assert_eq!(policy.role("alice", "alice"), Some(Role::Admin));
        assert_eq!(policy.role("alice", "acme"), None);
        assert_eq!(policy.role("bob", "acme"), Some(Role::Reader));
        assert!(Role::Reader.grants(Permission::Open));
        assert!(!Role::Reader.grants(Permission::Write));
        assert!(Role::Writer.grants(Permission::Write));
        assert!(!Role::Writer.grants(Permission::Admin));
    }

    #[test]
    fn stored_memberships_and_grants() {
        use esc_store::{EnvironmentGrant, OrgMembership};
        let policy = AccessPolicy {
            admins: vec!["root".into()],
            memberships: Vec::new(),
        };
        let stored = UserAccess {
            memberships: vec![OrgMembership {
                org: "acme".into(),
                login: "bob".into(),
                role: MemberRole::Reader,
            }],
            grants: vec![
                EnvironmentGrant {
                    org: "acme".into(),
                    project: "proj".into(),
                    env: Some("dev".into()),
                    login: "bob".into(),
                    permission: GrantPermission::Write,
                },
                EnvironmentGrant {
                    org: "other".into(),
                    project: "app".into(),
                    env: None,
                    login: "bob".into(),
                    permission: GrantPermission::Open,
                },
            ],
        };
        let dev = EnvRef::new("acme", "proj", "dev");
        let prod = EnvRef::new("acme", "proj", "prod");
        let other_app = EnvRef::new("other", "app", "x");
        let other_lib = EnvRef::new("other", "lib", "x");
        let allows =
            |scope: Scope<'_>, permission| policy.allows("bob", Some(&stored), scope, permission);
        assert!(allows((&prod).into(), Permission::Open));
        assert!(!allows((&prod).into(), Permission::Write));
        assert!(allows((&dev).into(), Permission::Write));
        assert!(!allows((&dev).into(), Permission::Admin));
        assert!(!allows("acme".into(), Permission::Write));
        // a project grant covers its environments only, and no org-wide scope
        assert!(allows((&other_app).into(), Permission::Open));
        assert!(!allows((&other_app).into(), Permission::Write));
        assert!(!allows((&other_lib).into(), Permission::Read));
        assert!(!allows("other".into(), Permission::Read));
        // nothing loaded: the configured policy alone
        assert!(!policy.allows("bob", None, (&dev).into(), Permission::Read));
        assert!(policy.allows("root", None, (&dev).into(), Permission::Admin));
        assert!(AccessPolicy::has_grant_in(Some(&stored), "other"));
        assert!(!AccessPolicy::has_grant_in(Some(&stored), "nobody"));
        assert!(!AccessPolicy::has_grant_in(None, "other"));
        assert_eq!(
            policy.with_stored(Some(&stored)).role("bob", "acme"),
            Some(Role::Reader)
        );
    }

    #[test]
    fn access_cache_entries_go_stale_after_the_ttl() {
        let cache = AccessCache::new(Duration::from_millis(50));
        cache.insert("bob", UserAccess::default());
        assert!(cache.fresh("bob").is_some());
        std::thread::sleep(Duration::from_millis(80));
        assert!(cache.fresh("bob").is_none());
        assert!(cache.current("bob").is_some());
        assert!(cache.current("carol").is_none());
    }
}
