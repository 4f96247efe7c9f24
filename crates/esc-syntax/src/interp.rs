//! The `${...}` interpolation and property-access grammar (spec §2.1).

use crate::diagnostic::Diagnostic;
use crate::pos::{Pos, Range};
use crate::tree::{Node, NodeKind, ScalarStyle};
use crate::width;

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
        /// The name's bytes when they are not UTF-8: the whitespace quirk
        /// (spec §2.1) cut a character, and `name` holds U+FFFD for the
        /// piece; messages quote these bytes as the reference does.
        invalid_utf8: Option<Vec<u8>>,
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

impl PropertyAccess {
    /// The access in the reference's text form (`a.b[0]["c \"d\""]`), as used
    /// in messages.
    pub fn to_text(&self) -> String {
        let mut text = String::new();
        for accessor in &self.accessors {
            match accessor {
                Accessor::Name { name, .. } => {
                    if !text.is_empty() {
                        text.push('.');
                    }
                    text.push_str(name);
                }
                Accessor::Key { key, .. } => {
                    text.push_str("[\"");
                    text.push_str(&key.replace('"', "\\\""));
                    text.push_str("\"]");
                }
                Accessor::Index { index, .. } => {
                    text.push('[');
                    text.push_str(&index.to_string());
                    text.push(']');
                }
            }
        }
        text
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
        match self.parts.as_slice() {
            [] => InterpolationKind::Literal(""),
            [InterpolationPart { text, access: None }] => InterpolationKind::Literal(text),
            [
                InterpolationPart {
                    text,
                    access: Some(access),
                },
            ] if text.is_empty() => InterpolationKind::Reference(access),
            _ => InterpolationKind::Interpolated,
        }
    }

    /// Whether the string contains at least one access.
    pub fn has_access(&self) -> bool {
        self.parts.iter().any(|p| p.access.is_some())
    }
}

/// Parse the string value of a scalar node (uses its style/range to decide
/// accessor ranges: only single-line plain scalars get per-accessor ranges,
/// else the whole scalar's range).
///
/// Returns the parse and its load diagnostics (their `path` is left empty:
/// the caller fills it in).
pub fn parse_interpolation(value: &str, node: &Node) -> (Interpolation, Vec<Diagnostic>) {
    // Most strings hold no `$` at all: one text part, nothing to measure.
    if !value.contains('$') {
        let parts = if value.is_empty() {
            Vec::new()
        } else {
            vec![InterpolationPart {
                text: value.to_owned(),
                access: None,
            }]
        };
        return (Interpolation { parts }, Vec::new());
    }
    let ranges = RangeMaker::new(value, node);
    let bytes = value.as_bytes();
    let mut parts = Vec::new();
    let mut diags = Vec::new();
    let mut text: Vec<u8> = Vec::new();
    let mut offset = 0;
    while offset < bytes.len() {
        match (bytes[offset], bytes.get(offset + 1)) {
            (b'$', Some(b'$')) => {
                text.push(b'$');
                offset += 2;
            }
            (b'$', Some(b'{')) => {
                let mut parser = AccessParser {
                    bytes,
                    offset: offset + 2,
                    ranges: &ranges,
                    accessors: Vec::new(),
                    diags: &mut diags,
                };
                let access = parser.parse();
                offset = parser.offset;
                parts.push(InterpolationPart {
                    text: lossy(std::mem::take(&mut text)),
                    access: Some(access),
                });
            }
            (b, _) => {
                text.push(b);
                offset += 1;
            }
        }
    }
    if !text.is_empty() {
        parts.push(InterpolationPart {
            text: lossy(text),
            access: None,
        });
    }
    (Interpolation { parts }, diags)
}

/// Text pieces are cut at byte offsets; the whitespace quirk can split a
/// UTF-8 sequence (spec §2.1), whose halves become U+FFFD.
fn lossy(bytes: Vec<u8>) -> String {
    String::from_utf8(bytes).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// Go `unicode.IsSpace(rune(b))` for one byte: ASCII whitespace, 0x85 and 0xA0.
fn is_space_byte(b: u8) -> bool {
    matches!(b, b'\t' | b'\n' | 0x0B | 0x0C | b'\r' | b' ' | 0x85 | 0xA0)
}

fn terminates_name(b: u8) -> bool {
    b == b'.' || b == b'[' || b == b'}' || is_space_byte(b)
}

/// Turns byte offsets in the value into ranges: per-offset for single-line
/// plain scalars, the whole scalar otherwise.
struct RangeMaker<'a> {
    value: &'a [u8],
    node: &'a Node,
    precise: bool,
    /// `(byte offset, width of the value before it)` at each cluster start,
    /// plus the end: widths of prefixes in O(log n) instead of re-measuring
    /// the prefix for every accessor (quadratic on long strings). Empty
    /// when every byte is one column wide (printable ASCII).
    clusters: Vec<(usize, u32)>,
}

impl<'a> RangeMaker<'a> {
    fn new(value: &'a str, node: &'a Node) -> Self {
        let range = &node.range;
        // Single-line plain untagged scalar: go-yaml's end column is then the
        // start column plus the value's byte length (a tag would add to it).
        let plain = matches!(
            node.kind,
            NodeKind::String {
                style: ScalarStyle::Plain,
                ..
            }
        );
        let untagged =
            u64::from(range.end.column) == u64::from(range.start.column) + value.len() as u64;
        let precise = plain && untagged && range.start.line == range.end.line;
        let mut clusters = Vec::new();
        let one_column_bytes = value.bytes().all(|b| b.is_ascii() && !b.is_ascii_control());
        if precise && !one_column_bytes {
            let (mut offset, mut before) = (0usize, 0u32);
            for (len, width) in width::clusters(value) {
                clusters.push((offset, before));
                offset += len;
                before = before.saturating_add(width);
            }
            clusters.push((offset, before));
        }
        Self {
            value: value.as_bytes(),
            node,
            precise,
            clusters,
        }
    }

    /// Display width of the value's first `offset` bytes (`uniseg.StringWidth`
    /// of the prefix): whole clusters before it plus the cut cluster's head.
    fn width_before(&self, offset: usize) -> u32 {
        if self.clusters.is_empty() {
            // printable ASCII: one column per byte
            return u32::try_from(offset).unwrap_or(u32::MAX);
        }
        let idx = self
            .clusters
            .partition_point(|&(start, _)| start <= offset)
            .saturating_sub(1);
        let Some(&(start, before)) = self.clusters.get(idx) else {
            return 0;
        };
        let cut = self.value.get(start..offset).unwrap_or(&[]);
        before.saturating_add(width::bytes_width(cut))
    }

    fn at(&self, offset: usize) -> Pos {
        let start = self.node.range.start;
        let offset = offset.min(self.value.len());
        Pos {
            line: start.line,
            column: start.column.saturating_add(self.width_before(offset)),
            byte: start
                .byte
                .saturating_add(u32::try_from(offset).unwrap_or(u32::MAX)),
        }
    }

    fn range(&self, start: usize, end: usize) -> Range {
        if !self.precise {
            return self.node.range.clone();
        }
        Range {
            filename: self.node.range.filename.clone(),
            start: self.at(start),
            end: self.at(end),
        }
    }
}

/// Parses one access after `${`; consumes the closing `}` if present.
struct AccessParser<'a, 'd> {
    bytes: &'a [u8],
    offset: usize,
    ranges: &'a RangeMaker<'a>,
    accessors: Vec<Accessor>,
    diags: &'d mut Vec<Diagnostic>,
}

impl AccessParser<'_, '_> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.offset).copied()
    }

    fn range_from(&self, start: usize) -> Range {
        self.ranges.range(start, self.offset)
    }

    fn error(&mut self, start: usize, summary: &str) {
        let range = self.range_from(start);
        self.diags.push(Diagnostic::error(summary, Some(range), ""));
    }

    fn parse(&mut self) -> PropertyAccess {
        loop {
            let Some(c) = self.peek() else {
                self.error(self.offset, "missing closing brace '}' in interpolation");
                return self.finish(self.offset);
            };
            match c {
                b'}' => {
                    let at = self.offset;
                    self.offset += 1;
                    return self.finish(at);
                }
                b'.' => {
                    let at = self.offset;
                    self.offset += 1;
                    let name = self.parse_name(at);
                    self.accessors.push(name);
                }
                b'[' => {
                    let at = self.offset;
                    self.offset += 1;
                    let subscript = self.parse_subscript(at);
                    self.accessors.push(subscript);
                }
                c if is_space_byte(c) => {
                    // Recovery: the rest of the string is text again.
                    self.error(self.offset, "missing closing brace '}' in interpolation");
                    return self.finish(self.offset);
                }
                _ => {
                    let name = self.parse_name(self.offset);
                    self.accessors.push(name);
                }
            }
        }
    }

    /// `${` and `${}` have one empty name.
    fn finish(&mut self, start: usize) -> PropertyAccess {
        if self.accessors.is_empty() {
            let range = self.range_from(start);
            self.accessors.push(Accessor::Name {
                name: String::new(),
                range,
                invalid_utf8: None,
            });
        }
        PropertyAccess {
            accessors: std::mem::take(&mut self.accessors),
        }
    }

    fn parse_name(&mut self, start: usize) -> Accessor {
        let name_start = self.offset;
        while self.peek().is_some_and(|c| !terminates_name(c)) {
            self.offset += 1;
        }
        let bytes = &self.bytes[name_start..self.offset];
        let invalid_utf8 = std::str::from_utf8(bytes).is_err().then(|| bytes.to_vec());
        let name = lossy(bytes.to_vec());
        if name.is_empty() {
            self.error(start, "property name must not be empty");
        }
        Accessor::Name {
            name,
            range: self.range_from(start),
            invalid_utf8,
        }
    }

    /// After `[`; consumes the closing `]` if present.
    fn parse_subscript(&mut self, start: usize) -> Accessor {
        let Some(c) = self.peek() else {
            self.error(start, "subscript is missing closing bracket ']'");
            return Accessor::Key {
                key: String::new(),
                range: self.range_from(start),
            };
        };
        let index = if c == b'"' {
            self.offset += 1;
            Subscript::Key(self.parse_string_subscript(start))
        } else {
            self.parse_index_subscript(start)
        };
        if self.peek() == Some(b']') {
            self.offset += 1;
        } else {
            self.error(start, "subscript is missing closing bracket ']'");
        }
        let range = self.range_from(start);
        match index {
            Subscript::Key(key) => Accessor::Key { key, range },
            Subscript::Index(index) => Accessor::Index { index, range },
        }
    }

    /// After `["`; consumes the closing `"` if present.
    fn parse_string_subscript(&mut self, start: usize) -> String {
        let mut key = Vec::new();
        loop {
            let Some(c) = self.peek() else {
                // the reference reports from just after the `[`
                self.error(start + 1, "key subscript is missing closing quote '\"'");
                return lossy(key);
            };
            self.offset += 1;
            if c == b'"' {
                if key.is_empty() {
                    self.error(start + 1, "key subscript must not be empty");
                }
                return lossy(key);
            }
            if c == b'\\' && self.peek() == Some(b'"') {
                self.offset += 1;
                key.push(b'"');
            } else {
                key.push(c);
            }
        }
    }

    /// After `[`; stops before `]` or a name terminator.
    fn parse_index_subscript(&mut self, start: usize) -> Subscript {
        let digits_start = self.offset;
        while self
            .peek()
            .is_some_and(|c| c != b']' && !terminates_name(c))
        {
            self.offset += 1;
        }
        let text = lossy(self.bytes[digits_start..self.offset].to_vec());
        // Go's ParseInt(s, 10, 64) and Rust's i64 parser accept the same texts.
        match text.parse::<i64>() {
            Ok(index) => {
                if self.accessors.is_empty() {
                    self.error(
                        start,
                        "the first accessor must be a property name or key subscript, not a numeric subscript",
                    );
                }
                Subscript::Index(index)
            }
            Err(_) => {
                self.error(
                    start + 1,
                    "numeric subscript must be a positive base-10 integer",
                );
                Subscript::Key(text)
            }
        }
    }
}

enum Subscript {
    Key(String),
    Index(i64),
}

#[cfg(test)]
mod tests;
