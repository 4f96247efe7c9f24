//! Who may do what. Deliberately simple: a token belongs to a user (its
//! owner login); a user has a role in an organization; a role grants
//! permissions on every environment of that organization.
//!
//! Until the store keeps memberships (requested in `notes/store-requests.md`)
//! roles come from [`AccessPolicy`]: configured admins are admins of every
//! organization, every user is admin of the organization named like its
//! login (its personal organization), and extra memberships are configured.

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
}
