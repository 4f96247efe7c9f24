//! YAML text to a positioned node tree (spec §1.1).

use crate::diagnostic::Diagnostic;
use crate::pos::Range;

/// How a string scalar was written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ScalarStyle {
    /// Unquoted.
    Plain,
    /// `'...'`.
    SingleQuoted,
    /// `"..."`.
    DoubleQuoted,
    /// `|` block.
    Literal,
    /// `>` block.
    Folded,
}

/// A YAML node with its source range.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Node {
    /// Where the node is (spec §1.1 rules).
    pub range: Range,
    /// What the node is.
    pub kind: NodeKind,
}

/// The resolved content of a node (YAML 1.2 core schema, go-yaml v3 rules).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NodeKind {
    /// `null`, `~`, empty.
    Null,
    /// `true` / `false` (and their `True`/`TRUE` spellings).
    Bool(bool),
    /// Canonical number text as the reference prints it (`0x1F` -> `31`,
    /// `1.0` -> `1`, `.inf` -> `+Inf`, `1000000.0` -> `1e+06`).
    Number(String),
    /// A string and how it was written.
    String {
        /// The decoded value.
        value: String,
        /// Its style.
        style: ScalarStyle,
    },
    /// A sequence.
    Sequence(Vec<Node>),
    /// Entries in document order, duplicates kept (the evaluator applies
    /// first-wins / last-wins rules). Keys are always [`NodeKind::String`].
    Mapping(Vec<(Node, Node)>),
}

/// Resource limits enforced while parsing (each breach is a range-less load
/// error, never a panic).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Maximum document size in bytes.
    pub max_document_bytes: usize,
    /// Maximum nesting depth of collections.
    pub max_depth: usize,
    /// Maximum length in bytes of one decoded scalar.
    pub max_scalar_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_document_bytes: 1 << 20,
            max_depth: 64,
            max_scalar_bytes: 256 << 10,
        }
    }
}

/// Parse one environment document with the default [`Limits`].
///
/// `Ok(None)` for empty input (0 bytes: "empty object" is decided by the
/// evaluator). Load errors of spec §1.1 (`mapping keys must be strings`,
/// `alias nodes are not supported`, `yaml: line N: ...` with no range,
/// comments-only input -> `environment must be an object`) come back as
/// `Err(Diagnostic)`.
pub fn parse_document(filename: &str, text: &str) -> Result<Option<Node>, Diagnostic> {
    parse_document_with_limits(filename, text, &Limits::default())
}

/// [`parse_document`] with explicit limits.
pub fn parse_document_with_limits(
    filename: &str,
    text: &str,
    limits: &Limits,
) -> Result<Option<Node>, Diagnostic> {
    let _ = (filename, text, limits);
    unimplemented!()
}
