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
//!
//! # Fidelity to the reference
//!
//! Ranges follow go-yaml v3 and the reference's position rules (spec §1.1):
//! all expression, key and accessor ranges of the conformance fixtures are
//! reproduced exactly. Known approximations: grapheme clusters and display
//! widths come from a small table (`width.rs`), not the full Unicode data;
//! the position of an empty scalar inside a flow collection may differ by a
//! token; syntax error texts are saphyr's, reworded into go-yaml's
//! `yaml: line N: did not find expected ...` shape.
//!
//! # Limits
//!
//! Enforced by [`parse_document`] with [`Limits::default`]; each breach is a
//! load error, never a panic:
//!
//! * document size: 1 MiB (range-less error);
//! * nesting depth of collections: 64 (error at the collection too deep);
//! * length of one scalar: 256 KiB (error at the scalar).
//!
//! Aliases are rejected (`alias nodes are not supported`), so alias bombs
//! cannot expand. The evaluator enforces the number of imports and the
//! length of interpolated strings.

mod diagnostic;
pub mod edit;
pub mod emit;
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
