//! Checked names: organizations, projects, environments, version selectors,
//! and the import names definitions use.

use esc_store::EnvRef;

use crate::error::{ServiceError, ServiceResult};

/// The project a one-part (legacy) environment name lives in.
pub const DEFAULT_PROJECT: &str = "default";

/// Checks an organization name: 3–40 of `[A-Za-z0-9_-]`, alphanumeric at both ends.
pub fn check_org(org: &str) -> ServiceResult<()> {
    let bytes = org.as_bytes();
    let ok = (3..=40).contains(&bytes.len())
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || *b == b'-' || *b == b'_')
        && bytes.first().is_some_and(u8::is_ascii_alphanumeric)
        && bytes.last().is_some_and(u8::is_ascii_alphanumeric);
    if ok {
        Ok(())
    } else {
        Err(ServiceError::invalid(format!(
            "invalid organization name '{}': use 3-40 letters, digits, '-' or '_', starting and ending with a letter or digit",
            shorten(org)
        )))
    }
}

/// Checks a project or environment name: 1–100 of `[A-Za-z0-9_.-]`, not `.`/`..`.
pub fn check_segment(kind: &str, name: &str) -> ServiceResult<()> {
    let ok = (1..=100).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        && name != "."
        && name != "..";
    if ok {
        Ok(())
    } else {
        Err(ServiceError::invalid(format!(
            "invalid {kind} name '{}': use 1-100 letters, digits, '-', '_' or '.'",
            shorten(name)
        )))
    }
}

/// Checks all three parts of an environment name. The project name `yaml` is
/// reserved (it would collide with `/environments/{org}/yaml/check`).
pub fn check_env_ref(env: &EnvRef) -> ServiceResult<()> {
    check_org(&env.org)?;
    check_segment("project", &env.project)?;
    check_segment("environment", &env.name)?;
    if env.project == "yaml" {
        return Err(ServiceError::invalid("the project name 'yaml' is reserved"));
    }
    Ok(())
}

/// Which revision of an environment to read.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Version {
    /// The newest revision.
    Latest,
    /// A revision number.
    Number(u64),
    /// A revision tag.
    Tag(String),
}

impl Version {
    /// Reads `{version}` of a path: a leading digit means a revision number
    /// (which must parse as a positive integer), anything else a tag.
    pub fn parse(text: &str) -> ServiceResult<Self> {
        match text.as_bytes().first() {
            None => Err(ServiceError::invalid("empty version")),
            Some(b) if b.is_ascii_digit() => match text.parse::<u64>() {
                Ok(n) if n > 0 => Ok(Self::Number(n)),
                _ => Err(ServiceError::invalid(format!(
                    "invalid revision number '{}'",
                    shorten(text)
                ))),
            },
            Some(_) if text == esc_store::LATEST_TAG => Ok(Self::Latest),
            Some(_) => Ok(Self::Tag(text.to_owned())),
        }
    }
}

/// An import or reference name as written in a definition, resolved inside `org`:
/// `project/env` or legacy `env` (project `default`), optionally `@version`.
pub(crate) fn parse_import(org: &str, name: &str) -> Result<(EnvRef, Version), String> {
    let (path, version) = match name.split_once('@') {
        Some((path, version)) => (
            path,
            Version::parse(version).map_err(|error| error.to_string())?,
        ),
        None => (name, Version::Latest),
    };
    let env = match path.split_once('/') {
        Some((project, env)) => EnvRef::new(org, project, env),
        None => EnvRef::new(org, DEFAULT_PROJECT, path),
    };
    check_segment("project", &env.project).map_err(|error| error.to_string())?;
    check_segment("environment", &env.name).map_err(|error| error.to_string())?;
    Ok((env, version))
}

/// At most 100 characters of a name for an error message.
fn shorten(text: &str) -> String {
    text.chars().take(100).collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn org_names() {
        assert!(check_org("acme").is_ok());
        assert!(check_org("a-b_c9").is_ok());
        assert!(check_org("ab").is_err());
        assert!(check_org("-abc").is_err());
        assert!(check_org("abc-").is_err());
        assert!(check_org("a/bc").is_err());
    }

    #[test]
    fn versions() {
        assert_eq!(Version::parse("3").unwrap(), Version::Number(3));
        assert_eq!(Version::parse("latest").unwrap(), Version::Latest);
        assert_eq!(
            Version::parse("stable").unwrap(),
            Version::Tag("stable".into())
        );
        assert!(Version::parse("0").is_err());
        assert!(Version::parse("3x").is_err());
    }

    #[test]
    fn imports() {
        let (env, version) = parse_import("acme", "app/dev@2").unwrap();
        assert_eq!(env, EnvRef::new("acme", "app", "dev"));
        assert_eq!(version, Version::Number(2));
        let (env, version) = parse_import("acme", "base").unwrap();
        assert_eq!(env, EnvRef::new("acme", "default", "base"));
        assert_eq!(version, Version::Latest);
        assert!(parse_import("acme", "a/b/c").is_err());
    }
}
