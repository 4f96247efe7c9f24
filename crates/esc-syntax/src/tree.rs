//! YAML text to a positioned node tree (spec §1.1).

use std::borrow::Cow;
use std::sync::Arc;

use saphyr_parser::{Event, Marker, Parser, Span, StrInput, Tag};

use crate::diagnostic::Diagnostic;
use crate::path::DocPath;
use crate::pos::{Pos, Range};
use crate::scalar::{ScalarTag, resolve_scalar};
use crate::source::SourceIndex;

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
    if text.is_empty() {
        return Ok(None);
    }
    if text.len() > limits.max_document_bytes {
        return Err(Diagnostic::error(
            format!(
                "environment document is too large: {} bytes (the limit is {})",
                text.len(),
                limits.max_document_bytes
            ),
            None,
            "",
        ));
    }
    let mut loader = Loader {
        filename: Arc::from(filename),
        index: SourceIndex::new(text),
        parser: Parser::new_from_str(text),
        limits,
        previous_end: 0,
        current_end: 0,
        open_collections: Vec::new(),
    };
    loader.document().map(Some)
}

impl Node {
    /// The string value of a [`NodeKind::String`] node.
    pub fn as_str(&self) -> Option<&str> {
        match &self.kind {
            NodeKind::String { value, .. } => Some(value),
            _ => None,
        }
    }
}

/// Builds the node tree from saphyr's events.
struct Loader<'t, 'l> {
    filename: Arc<str>,
    index: SourceIndex<'t>,
    parser: Parser<'t, StrInput<'t>>,
    limits: &'l Limits,
    /// Byte offset where the event before the current one ended (block
    /// scalar indicators are searched from here).
    previous_end: usize,
    /// Byte offset where the current event ends.
    current_end: usize,
    /// 1-based start lines of the collections being read, innermost last:
    /// the context of a collection's syntax error.
    open_collections: Vec<usize>,
}

impl<'t> Loader<'t, '_> {
    fn document(&mut self) -> Result<Node, Diagnostic> {
        loop {
            let (event, _) = self.next_event()?;
            match event {
                Event::StreamStart | Event::Nothing => {}
                Event::DocumentStart(_) => break,
                _ => return Err(not_an_object()),
            }
        }
        let (event, span) = self.next_event()?;
        let root = self.node(event, span, &PathRef::Root, 0)?;
        // The first document must end well (go-yaml reads up to its end:
        // `[a\n]}` is an error, as `[a]}` is); later documents are never
        // read.
        self.next_event()?;
        Ok(root)
    }

    fn next_event(&mut self) -> Result<(Event<'t>, Span), Diagnostic> {
        match self.parser.next_event() {
            Some(Ok((event, span))) => {
                self.previous_end = self.current_end;
                let end = self.index.byte_of_char(span.end.index());
                self.current_end = self.current_end.max(end);
                Ok((event, span))
            }
            Some(Err(err)) => {
                let line = match self.open_collections.last() {
                    Some(&context) if is_collection_error(err.info()) => {
                        go_parser_error_line(context, err.marker().line())
                    }
                    _ => err.marker().line(),
                };
                let message = scan_message(err.info());
                Err(Diagnostic::error(
                    if line == 0 {
                        format!("yaml: {message}")
                    } else {
                        format!("yaml: line {line}: {message}")
                    },
                    None,
                    "",
                ))
            }
            None => Err(Diagnostic::error(
                "yaml: unexpected end of stream",
                None,
                "",
            )),
        }
    }

    fn node(
        &mut self,
        event: Event<'t>,
        span: Span,
        path: &PathRef<'_>,
        depth: usize,
    ) -> Result<Node, Diagnostic> {
        match event {
            Event::Scalar(value, style, anchor, tag) => {
                self.scalar(value, style, anchor != 0, tag, span, path)
            }
            Event::SequenceStart(..) => {
                let mapping_value = matches!(path, PathRef::Key(..));
                let (line, column) = self.sequence_start(span.start, mapping_value);
                let start = self.index.pos(line, column);
                self.check_depth(depth, &start, path)?;
                self.open_collections.push(span.start.line());
                let mut items = Vec::new();
                loop {
                    let (event, span) = self.next_event()?;
                    if event == Event::SequenceEnd {
                        break;
                    }
                    let item_path = PathRef::Index(path, items.len());
                    let item = self.node(event, span, &item_path, depth + 1)?;
                    items.push(item);
                }
                self.open_collections.pop();
                let end = items.last().map_or(start, |n| n.range.end);
                Ok(Node {
                    range: self.range(start, end),
                    kind: NodeKind::Sequence(items),
                })
            }
            Event::MappingStart(..) => {
                let start = self.start_pos(span.start);
                self.check_depth(depth, &start, path)?;
                self.open_collections.push(span.start.line());
                let mut entries = Vec::new();
                loop {
                    let (event, span) = self.next_event()?;
                    if event == Event::MappingEnd {
                        break;
                    }
                    // Borrowed from the text unless the key has escapes.
                    let key_text: Cow<'t, str> = match &event {
                        Event::Scalar(value, ..) => value.clone(),
                        _ => Cow::Borrowed(""),
                    };
                    let entry_path = PathRef::Key(path, &key_text);
                    let key = self.node(event, span, &entry_path, depth + 1)?;
                    if !matches!(key.kind, NodeKind::String { .. }) {
                        return Err(Diagnostic::error(
                            "mapping keys must be strings",
                            Some(key.range),
                            entry_path.doc_path().into_string(),
                        ));
                    }
                    let (event, span) = self.next_event()?;
                    let value = self.node(event, span, &entry_path, depth + 1)?;
                    entries.push((key, value));
                }
                self.open_collections.pop();
                let end = entries.last().map_or(start, |(_, v)| v.range.end);
                Ok(Node {
                    range: self.range(start, end),
                    kind: NodeKind::Mapping(entries),
                })
            }
            Event::Alias(_) => {
                let (line, column) = go_line_column(span.start);
                let start = self.index.pos(line, column);
                // go-yaml ends an alias at its start column plus the anchor name's length
                let name_len = span
                    .end
                    .index()
                    .saturating_sub(span.start.index())
                    .saturating_sub(1);
                let end = self
                    .index
                    .pos(line, column.saturating_add(to_u32(name_len)));
                Err(Diagnostic::error(
                    "alias nodes are not supported",
                    Some(self.range(start, end)),
                    path.doc_path().as_str(),
                ))
            }
            _ => Err(Diagnostic::error(
                "yaml: did not find expected node content",
                None,
                "",
            )),
        }
    }

    fn scalar(
        &mut self,
        value: Cow<'t, str>,
        style: saphyr_parser::ScalarStyle,
        anchored: bool,
        tag: Option<Cow<'t, Tag>>,
        span: Span,
        path: &PathRef<'_>,
    ) -> Result<Node, Diagnostic> {
        use saphyr_parser::ScalarStyle as S;
        let short_tag = tag.as_deref().and_then(short_tag);
        let decorated = anchored || short_tag.is_some() || tag.is_some();
        // go-yaml's start: the anchor or tag if any, else the scalar itself; for
        // block scalars the `|`/`>` indicator; for an empty plain scalar just
        // after the indicator (`:` or `-`) that introduced it.
        let (line, column) = match style {
            S::Literal | S::Folded if !decorated => self.block_indicator(span.start),
            S::Plain if value.is_empty() && !decorated => self.empty_scalar(span.start),
            _ => go_line_column(span.start),
        };
        let start = self.index.pos(line, column);
        // go-yaml's end: the start column plus the byte length of the value;
        // literal blocks advance one line per newline; a tagged plain scalar
        // also skips its tag and one space.
        let (mut end_line, mut end_column, mut tail) = (line, column, &*value);
        if style == S::Literal {
            let newlines = value.bytes().filter(|&b| b == b'\n').count();
            end_line = end_line.saturating_add(to_u32(newlines));
            tail = value.rsplit('\n').next().unwrap_or("");
        } else if let (S::Plain, Some(tag)) = (style, &short_tag) {
            end_column = end_column.saturating_add(to_u32(tag.len() + 1));
        }
        let end = self
            .index
            .pos(end_line, end_column.saturating_add(to_u32(tail.len())));
        let range = self.range(start, end);
        if value.len() > self.limits.max_scalar_bytes {
            return Err(Diagnostic::error(
                format!(
                    "scalar value is too long: {} bytes (the limit is {})",
                    value.len(),
                    self.limits.max_scalar_bytes
                ),
                Some(range),
                path.doc_path().as_str(),
            ));
        }
        let scalar_tag = match short_tag.as_deref() {
            None => ScalarTag::None,
            Some(tag) => ScalarTag::Explicit(tag),
        };
        let quoted = style != S::Plain;
        let kind = match resolve_scalar(&value, quoted, scalar_tag) {
            Ok(Some(kind)) => kind,
            Ok(None) => NodeKind::String {
                value: value.into_owned(),
                style: match style {
                    S::Plain => ScalarStyle::Plain,
                    S::SingleQuoted => ScalarStyle::SingleQuoted,
                    S::DoubleQuoted => ScalarStyle::DoubleQuoted,
                    S::Literal => ScalarStyle::Literal,
                    S::Folded => ScalarStyle::Folded,
                },
            },
            Err(summary) => {
                return Err(Diagnostic::error(
                    summary,
                    Some(range),
                    path.doc_path().as_str(),
                ));
            }
        };
        Ok(Node { range, kind })
    }

    /// go-yaml puts a block scalar at its `|`/`>` indicator, saphyr at its
    /// content: search the indicator between the previous event and the content.
    fn block_indicator(&self, content: Marker) -> (u32, u32) {
        let text = self.index.text();
        let content_byte = self.index.byte_of_char(content.index());
        let from = self.previous_end.min(content_byte);
        let mut in_comment = false;
        for (i, b) in text.as_bytes()[from..content_byte].iter().enumerate() {
            match b {
                b'\n' => in_comment = false,
                b'#' => in_comment = true,
                b'|' | b'>' if !in_comment => return self.index.line_column_of_byte(from + i),
                _ => {}
            }
        }
        go_line_column(content)
    }

    /// go-yaml puts an empty plain scalar just after the `:` or `-` indicator
    /// that introduced it; saphyr at the indicator (`:`) or after the spaces
    /// following it (`-`).
    fn empty_scalar(&self, mark: Marker) -> (u32, u32) {
        let text = self.index.text().as_bytes();
        let byte = self.index.byte_of_char(mark.index());
        let (line, column) = go_line_column(mark);
        if text.get(byte) == Some(&b':') {
            return (line, column.saturating_add(1));
        }
        let mut back = byte;
        while back > 0 && matches!(text[back - 1], b' ' | b'\t') {
            back -= 1;
        }
        // Only a `-` on the marker's own line: at the end of a text with no
        // final newline saphyr puts the marker on a line that does not exist.
        if back > 0 && text[back - 1] == b'-' && self.index.line_column_of_byte(back - 1).0 == line
        {
            return (line, column.saturating_sub(to_u32(byte - back)).max(1));
        }
        (line, column)
    }

    /// go-yaml starts a block sequence at its first `-` (or at its own tag
    /// or anchor); saphyr starts an indentless one (a mapping value whose
    /// `- a` sits at the key's indentation) at its first item, after the
    /// `- ` (at the item's anchor or tag, if any).
    fn sequence_start(&self, mark: Marker, mapping_value: bool) -> (u32, u32) {
        let text = self.index.text().as_bytes();
        let byte = self.index.byte_of_char(mark.index());
        let (line, column) = go_line_column(mark);
        if !mapping_value {
            return (line, column);
        }
        let mut back = byte;
        while back > 0 && matches!(text[back - 1], b' ' | b'\t') {
            back -= 1;
        }
        if back > 0 && text[back - 1] == b'-' && self.index.line_column_of_byte(back - 1).0 == line
        {
            return self.index.line_column_of_byte(back - 1);
        }
        (line, column)
    }

    fn start_pos(&mut self, mark: Marker) -> Pos {
        let (line, column) = go_line_column(mark);
        self.index.pos(line, column)
    }

    fn range(&self, start: Pos, end: Pos) -> Range {
        Range {
            filename: self.filename.clone(),
            start,
            end,
        }
    }

    fn check_depth(&self, depth: usize, start: &Pos, path: &PathRef<'_>) -> Result<(), Diagnostic> {
        if depth >= self.limits.max_depth {
            return Err(Diagnostic::error(
                format!(
                    "document nesting is too deep (the limit is {})",
                    self.limits.max_depth
                ),
                Some(self.range(*start, *start)),
                path.doc_path().as_str(),
            ));
        }
        Ok(())
    }
}

/// The document path of the node being built, as a chain of borrowed
/// segments: turned into a [`DocPath`] only for an error, so building the
/// tree does not allocate a path per entry.
#[derive(Clone, Copy)]
enum PathRef<'p> {
    Root,
    Key(&'p PathRef<'p>, &'p str),
    Index(&'p PathRef<'p>, usize),
}

impl PathRef<'_> {
    fn doc_path(&self) -> DocPath {
        match self {
            PathRef::Root => DocPath::root(),
            PathRef::Key(parent, key) => parent.doc_path().key(key),
            PathRef::Index(parent, index) => parent.doc_path().index(*index),
        }
    }
}

fn not_an_object() -> Diagnostic {
    Diagnostic::error("environment must be an object", None, "")
}

/// saphyr marker (1-based line, 0-based character column) to go-yaml's 1-based pair.
fn go_line_column(mark: Marker) -> (u32, u32) {
    (to_u32(mark.line()), to_u32(mark.col()).saturating_add(1))
}

/// A tag in go-yaml's short form (`!!str`, `!foo`); `None` for the
/// non-specific `!`, which go-yaml treats as no tag.
fn short_tag(tag: &Tag) -> Option<String> {
    if tag.handle == "tag:yaml.org,2002:" {
        Some(format!("!!{}", tag.suffix))
    } else if tag.handle == "!" && tag.suffix.is_empty() {
        None
    } else if tag.handle == "!" {
        Some(format!("!{}", tag.suffix))
    } else {
        Some(format!("{}{}", tag.handle, tag.suffix))
    }
}

/// A parser error inside a collection ("while parsing a flow sequence,
/// expected ',' or ']'"), whose context is the collection's start.
fn is_collection_error(info: &str) -> bool {
    [
        "while parsing a flow sequence",
        "while parsing a flow mapping",
        "while parsing a block collection",
        "while parsing a block mapping",
    ]
    .iter()
    .any(|context| info.starts_with(context))
}

/// The line yaml.v3 names for a parser error (`parser.fail`): the context
/// mark's 0-based line when it is not the first line, else the problem
/// mark's 0-based line (0: no line at all). Parser errors are not shifted
/// to 1-based as scanner errors are, so `[a` fails on "line 1" (the stream
/// end, forced onto a new line). Both arguments are saphyr's 1-based lines.
fn go_parser_error_line(context: usize, problem: usize) -> usize {
    let context = context.saturating_sub(1);
    if context != 0 {
        context
    } else {
        problem.saturating_sub(1)
    }
}

/// saphyr's messages carry libyaml's context ("while parsing a flow
/// sequence, expected ',' or ']'"); go-yaml reports the problem part
/// ("did not find expected ',' or ']'").
fn scan_message(info: &str) -> String {
    let problem = match info.split_once(", ") {
        Some((context, problem)) if context.starts_with("while ") => problem,
        _ => info,
    };
    match problem.strip_prefix("expected ") {
        Some(rest) => format!("did not find expected {rest}"),
        None => problem.to_owned(),
    }
}

fn to_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests;
