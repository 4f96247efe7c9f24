//! Source positions and ranges.

use std::sync::Arc;

use serde::Serialize;

/// 1-based line and column, 0-based byte offset (spec §1.1 quirks included:
/// on the last line of a file without a trailing newline the byte is 0).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize)]
pub struct Pos {
    /// 1-based line.
    pub line: u32,
    /// 1-based column, counted in display cells as the reference does.
    pub column: u32,
    /// 0-based byte offset into the document.
    pub byte: u32,
}

/// A source range; `filename` is the environment name given to the parser.
///
/// Serialises in the shape of spec §9:
/// `{"environment"?: name, "begin": Pos, "end": Pos}` (`environment` omitted
/// when the filename is empty).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Range {
    /// The environment name the document was parsed under.
    pub filename: Arc<str>,
    /// Start position.
    pub start: Pos,
    /// End position.
    pub end: Pos,
}

impl Range {
    /// A range from `start` to `end` in `filename`.
    pub fn new(filename: Arc<str>, start: Pos, end: Pos) -> Self {
        Self {
            filename,
            start,
            end,
        }
    }

    /// The zero range (no filename, zero positions): what the reference
    /// prints for values with no source.
    pub fn zero() -> Self {
        Self {
            filename: Arc::from(""),
            start: Pos::default(),
            end: Pos::default(),
        }
    }
}

impl Serialize for Range {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let with_env = !self.filename.is_empty();
        let mut s = serializer.serialize_struct("Range", if with_env { 3 } else { 2 })?;
        if with_env {
            s.serialize_field("environment", &*self.filename)?;
        } else {
            s.skip_field("environment")?;
        }
        s.serialize_field("begin", &self.start)?;
        s.serialize_field("end", &self.end)?;
        s.end()
    }
}
