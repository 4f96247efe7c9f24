//! Output formats of `esc open` and `esc env get --value` (spec/CLI.md § 6),
//! one module per format.

pub(crate) mod detailed;
pub(crate) mod dotenv;
pub(crate) mod json;
pub(crate) mod string;
pub(crate) mod yaml;

use std::path::Path;
use std::str::FromStr;

use crate::value::Value;

/// An output format named by `--format` / `--value`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Format {
    Json,
    Yaml,
    Detailed,
    String,
    Dotenv,
    Shell,
}

/// A format name we do not know.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown output format {}", esc_eval::go_quote(.0))]
pub(crate) struct UnknownFormat(pub(crate) String);

impl FromStr for Format {
    type Err = UnknownFormat;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "json" => Format::Json,
            "yaml" => Format::Yaml,
            "detailed" => Format::Detailed,
            "string" => Format::String,
            "dotenv" => Format::Dotenv,
            "shell" => Format::Shell,
            other => return Err(UnknownFormat(other.to_string())),
        })
    }
}

impl Format {
    /// The name as typed.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Format::Json => "json",
            Format::Yaml => "yaml",
            Format::Detailed => "detailed",
            Format::String => "string",
            Format::Dotenv => "dotenv",
            Format::Shell => "shell",
        }
    }

    /// Whether the format renders a whole environment only.
    pub(crate) fn whole_environment_only(self) -> bool {
        matches!(self, Format::Dotenv | Format::Shell)
    }
}

/// How secrets and `files` are treated.
pub(crate) struct RenderOptions<'a> {
    /// Replace secrets by `[secret]`.
    pub(crate) redact: bool,
    /// Where to write `files` for dotenv/shell; `None` prints `[unknown]`.
    pub(crate) files_dir: Option<&'a Path>,
}

/// Render `value` (the root for dotenv/shell) in `format`.
pub(crate) fn render(
    value: &Value,
    format: Format,
    options: &RenderOptions<'_>,
) -> std::io::Result<String> {
    let files = match options.files_dir {
        Some(dir) => dotenv::Files::WriteIn(dir),
        None => dotenv::Files::Pretend,
    };
    Ok(match format {
        Format::Json => json::render(&value.to_plain(options.redact)),
        Format::Yaml => yaml::render(&value.to_plain(options.redact)),
        Format::Detailed => detailed::render(value),
        Format::String => string::render(value, options.redact),
        Format::Dotenv => dotenv::render(value, options.redact, files, false)?,
        Format::Shell => dotenv::render(value, options.redact, files, true)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        for name in ["json", "yaml", "detailed", "string", "dotenv", "shell"] {
            assert_eq!(name.parse::<Format>().unwrap().name(), name);
        }
        assert_eq!(
            "flat".parse::<Format>().unwrap_err().to_string(),
            "unknown output format \"flat\""
        );
    }
}
