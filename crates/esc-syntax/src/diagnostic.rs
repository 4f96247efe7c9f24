//! Diagnostics: a problem found in a document, with an optional range.

use serde::Serialize;

use crate::pos::{Pos, Range};

/// How bad a diagnostic is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Severity {
    /// An error (`Severity: 1` in JSON).
    Error,
    /// A warning (`Severity: 2` in JSON).
    Warning,
}

/// A problem found in a document: severity, summary text, optional range,
/// document path.
///
/// Serialises in the reference JSON shape of spec §7: `Severity` (1/2),
/// `Summary`, `Detail` (`""`), `Subject` (`null` or
/// `{"Filename","Start":{"Line","Column","Byte"},"End":{...}}`), `Context`,
/// `Expression`, `EvalContext`, `Extra` (all `null`) and `Path`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    /// Error or warning.
    pub severity: Severity,
    /// The message, lowercase, no final period.
    pub summary: String,
    /// Where the problem is, when known.
    pub range: Option<Range>,
    /// Document path of the offending node (spec §1.1), may be empty.
    pub path: String,
}

impl Diagnostic {
    /// An error diagnostic.
    pub fn error(
        summary: impl Into<String>,
        range: Option<Range>,
        path: impl Into<String>,
    ) -> Self {
        Self {
            severity: Severity::Error,
            summary: summary.into(),
            range,
            path: path.into(),
        }
    }

    /// A warning diagnostic.
    pub fn warning(
        summary: impl Into<String>,
        range: Option<Range>,
        path: impl Into<String>,
    ) -> Self {
        Self {
            severity: Severity::Warning,
            summary: summary.into(),
            range,
            path: path.into(),
        }
    }

    /// Whether this is an error.
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct WirePos {
    line: u32,
    column: u32,
    byte: u32,
}

impl From<Pos> for WirePos {
    fn from(pos: Pos) -> Self {
        Self {
            line: pos.line,
            column: pos.column,
            byte: pos.byte,
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct WireSubject<'a> {
    filename: &'a str,
    start: WirePos,
    end: WirePos,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct WireDiagnostic<'a> {
    severity: u8,
    summary: &'a str,
    detail: &'a str,
    subject: Option<WireSubject<'a>>,
    context: Option<()>,
    expression: Option<()>,
    eval_context: Option<()>,
    extra: Option<()>,
    path: &'a str,
}

impl Serialize for Diagnostic {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        WireDiagnostic {
            severity: match self.severity {
                Severity::Error => 1,
                Severity::Warning => 2,
            },
            summary: &self.summary,
            detail: "",
            subject: self.range.as_ref().map(|r| WireSubject {
                filename: &r.filename,
                start: r.start.into(),
                end: r.end.into(),
            }),
            context: None,
            expression: None,
            eval_context: None,
            extra: None,
            path: &self.path,
        }
        .serialize(serializer)
    }
}
