//! YAML text to a positioned tree, the `${...}` interpolation and property-path grammar, and diagnostics with ranges.
//!
//! This is the bottom layer of the ESC environment language (spec
//! `LANGUAGE.md` §1.1, §2.1 and §7):
//!
//! * [`parse_document`] turns YAML text into a [`Node`] tree whose every node
//!   carries a [`Range`] computed the way the reference (go-yaml v3) does;
//! * [`parse_interpolation`] parses the `${...}` grammar of a string scalar;
//! * [`Diagnostic`] is a problem with an optional range and a document path
//!   ([`DocPath`]).
//!
//! No IO, no async, and no panics on any input.

mod diagnostic;
mod interp;
mod path;
mod pos;
mod scalar;
mod source;
mod tree;
mod width;

pub use diagnostic::{Diagnostic, Severity};
pub use interp::{
    Accessor, Interpolation, InterpolationKind, InterpolationPart, PropertyAccess,
    parse_interpolation,
};
pub use path::DocPath;
pub use pos::{Pos, Range};
pub use scalar::format_float;
pub use tree::{Limits, Node, NodeKind, ScalarStyle, parse_document, parse_document_with_limits};
