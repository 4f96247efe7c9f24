//! The `${...}` interpolation and property-access grammar (spec §2.1).

use crate::diagnostic::Diagnostic;
use crate::pos::Range;
use crate::tree::Node;

/// A parsed string: text parts, each optionally followed by a property access.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Interpolation {
    /// The parts in order. An empty string has no parts; a string without
    /// `${` has one part with no access.
    pub parts: Vec<InterpolationPart>,
}

/// `text` precedes `access` (text is already `$$`-unescaped); the last part
/// may have no access.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct InterpolationPart {
    /// Literal text before the access.
    pub text: String,
    /// The `${...}` access following the text, if any.
    pub access: Option<PropertyAccess>,
}

/// A property access `${a.b[0]["c"]}`: at least one accessor.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct PropertyAccess {
    /// The accessors in order; the first is a name or key.
    pub accessors: Vec<Accessor>,
}

/// One step of a property access.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Accessor {
    /// A bare name: `a` or `.a`.
    Name {
        /// The name.
        name: String,
        /// Its range (covers the leading dot).
        range: Range,
    },
    /// A string subscript `["..."]` (a bad numeric subscript also becomes a key).
    Key {
        /// The key, with `\"` unescaped.
        key: String,
        /// Its range, `[` to `]`.
        range: Range,
    },
    /// An integer subscript `[n]`.
    Index {
        /// The index (may be negative: that is an evaluation error).
        index: i64,
        /// Its range, `[` to `]`.
        range: Range,
    },
}

impl Accessor {
    /// The accessor's range.
    pub fn range(&self) -> &Range {
        match self {
            Accessor::Name { range, .. }
            | Accessor::Key { range, .. }
            | Accessor::Index { range, .. } => range,
        }
    }
}

/// How a parsed string is to be evaluated (spec §1.5).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InterpolationKind<'a> {
    /// No access: a string literal with this (unescaped) text.
    Literal(&'a str),
    /// Exactly one access and no text (`"${a.b}"`): a reference, which keeps
    /// the target's type.
    Reference(&'a PropertyAccess),
    /// Anything else: an interpolated string.
    Interpolated,
}

impl Interpolation {
    /// Classifies the string as literal, reference or interpolation.
    pub fn kind(&self) -> InterpolationKind<'_> {
        unimplemented!()
    }
}

/// Parse the string value of a scalar node (uses its style/range to decide
/// accessor ranges: only single-line plain scalars get per-accessor ranges,
/// else the whole scalar's range).
///
/// Returns the parse and its load diagnostics (their `path` is left empty:
/// the caller fills it in).
pub fn parse_interpolation(value: &str, node: &Node) -> (Interpolation, Vec<Diagnostic>) {
    let _ = (value, node);
    unimplemented!()
}
