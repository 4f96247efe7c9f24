//! Environment references as users type them (spec/CLI.md § 3):
//! `[<org>/][<project>/]<env>[@<version>]`, parsed once into [`EnvRef`].

use std::fmt;

/// The version part of a reference.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Version {
    /// A revision number (`@3`).
    Revision(u64),
    /// A tag (`@stable`, `@latest`).
    Tag(String),
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Version::Revision(n) => write!(f, "{n}"),
            Version::Tag(t) => f.write_str(t),
        }
    }
}

impl Version {
    /// Parse a version without its `@`: a leading digit means a revision.
    pub(crate) fn parse(text: &str) -> Result<Version, RefError> {
        if text.is_empty() {
            return Err(RefError::EmptyVersion);
        }
        if text.as_bytes()[0].is_ascii_digit() {
            return text
                .parse()
                .map(Version::Revision)
                .map_err(|_| RefError::BadRevision(text.to_string()));
        }
        Ok(Version::Tag(text.to_string()))
    }
}

/// How the organization and project were given.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Form {
    /// `env`: default organization, project `default`.
    Legacy,
    /// `a/b`: `project/env` in the default organization, or legacy
    /// `org/env`; resolved against the backend.
    TwoPart {
        /// The first part.
        first: String,
    },
    /// `org/project/env`.
    Full {
        /// The organization.
        org: String,
        /// The project.
        project: String,
    },
}

/// A parsed environment reference, before the default organization is known.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct EnvRef {
    form: Form,
    name: String,
    version: Option<Version>,
    text: String,
}

/// Why a reference does not parse.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub(crate) enum RefError {
    /// Nothing at all.
    #[error("no environment name specified")]
    Empty,
    /// A part between slashes is empty.
    #[error("invalid environment reference {}: empty name part", esc_eval::go_quote(.0))]
    EmptyPart(String),
    /// `dev@`.
    #[error("empty version after '@'")]
    EmptyVersion,
    /// `dev@3x`.
    #[error("invalid revision number {}", esc_eval::go_quote(.0))]
    BadRevision(String),
}

impl EnvRef {
    /// Parse `text` (spec/CLI.md § 3).
    pub(crate) fn parse(text: &str) -> Result<EnvRef, RefError> {
        if text.is_empty() {
            return Err(RefError::Empty);
        }
        let parts: Vec<&str> = text.split('/').collect();
        let (form, env_part) = match parts.as_slice() {
            [env] => (Form::Legacy, (*env).to_string()),
            [first, env] => (
                Form::TwoPart {
                    first: (*first).to_string(),
                },
                (*env).to_string(),
            ),
            [org, project, rest @ ..] => (
                Form::Full {
                    org: (*org).to_string(),
                    project: (*project).to_string(),
                },
                // Quirk kept from the reference: the tail parts are glued.
                rest.concat(),
            ),
            [] => return Err(RefError::Empty),
        };
        let (name, version) = match env_part.find('@').or_else(|| env_part.find(':')) {
            Some(at) => (
                env_part[..at].to_string(),
                Some(Version::parse(&env_part[at + 1..])?),
            ),
            None => (env_part, None),
        };
        let empty_part = match &form {
            Form::Legacy => false,
            Form::TwoPart { first } => first.is_empty(),
            Form::Full { org, project } => org.is_empty() || project.is_empty(),
        };
        if name.is_empty() || empty_part {
            return Err(RefError::EmptyPart(text.to_string()));
        }
        Ok(EnvRef {
            form,
            name,
            version,
            text: text.to_string(),
        })
    }

    /// How organization and project were given.
    pub(crate) fn form(&self) -> &Form {
        &self.form
    }

    /// The environment name.
    pub(crate) fn name(&self) -> &str {
        &self.name
    }

    /// The version, if one was given.
    pub(crate) fn version(&self) -> Option<&Version> {
        self.version.as_ref()
    }

    /// The text as typed.
    pub(crate) fn text(&self) -> &str {
        &self.text
    }
}

/// A fully qualified environment: what the backend is asked about.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct EnvName {
    /// Organization.
    pub(crate) org: String,
    /// Project.
    pub(crate) project: String,
    /// Environment.
    pub(crate) name: String,
}

impl EnvName {
    /// `org/project/name`.
    pub(crate) fn new(org: &str, project: &str, name: &str) -> Self {
        EnvName {
            org: org.to_string(),
            project: project.to_string(),
            name: name.to_string(),
        }
    }
}

impl fmt::Display for EnvName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}/{}", self.org, self.project, self.name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn full(org: &str, project: &str) -> Form {
        Form::Full {
            org: org.into(),
            project: project.into(),
        }
    }

    #[test]
    fn forms() {
        let r = EnvRef::parse("dev").unwrap();
        assert_eq!(
            (r.form(), r.name(), r.version()),
            (&Form::Legacy, "dev", None)
        );
        let r = EnvRef::parse("app/dev@3").unwrap();
        assert_eq!(
            r.form(),
            &Form::TwoPart {
                first: "app".into()
            }
        );
        assert_eq!(r.version(), Some(&Version::Revision(3)));
        let r = EnvRef::parse("o/p/x/y@stable").unwrap();
        assert_eq!((r.form(), r.name()), (&full("o", "p"), "xy"));
        assert_eq!(r.version(), Some(&Version::Tag("stable".into())));
    }

    #[test]
    fn legacy_colon_version() {
        let r = EnvRef::parse("o/p/dev:2").unwrap();
        assert_eq!(
            (r.name(), r.version()),
            ("dev", Some(&Version::Revision(2)))
        );
        // `@` wins over an earlier `:`.
        let r = EnvRef::parse("o/p/a:b@latest").unwrap();
        assert_eq!(r.name(), "a:b");
    }

    #[test]
    fn errors() {
        assert_eq!(EnvRef::parse(""), Err(RefError::Empty));
        assert!(matches!(EnvRef::parse("o//e"), Err(RefError::EmptyPart(_))));
        assert!(matches!(EnvRef::parse("/e"), Err(RefError::EmptyPart(_))));
        assert_eq!(EnvRef::parse("dev@"), Err(RefError::EmptyVersion));
        assert!(matches!(
            EnvRef::parse("dev@3x"),
            Err(RefError::BadRevision(_))
        ));
        assert_eq!(
            EnvRef::parse("").unwrap_err().to_string(),
            "no environment name specified"
        );
    }
}
