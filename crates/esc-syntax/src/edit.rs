//! Text-preserving YAML edits: write-back of rotated state (spec §5.2) and
//! the encrypt/decrypt-secrets tooling (spec §3 `fn::secret`).
//!
//! Edits replace byte spans of the original text, so comments, key order
//! and formatting outside the edited nodes are kept. New content is
//! rendered in block style (two-space indentation) in block context and in
//! flow style inside flow collections.

use saphyr_parser::{Event, Parser, ScalarStyle as SaphyrStyle, Span};

use crate::diagnostic::Diagnostic;
use crate::scalar::{ScalarTag, resolve_scalar};
use crate::source::SourceIndex;
use crate::tree::NodeKind;

/// A value to write into a document.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EditValue {
    /// `null`.
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// A number as text (`42`, `1.5`, `1e+06`, `+Inf`, `NaN`).
    Number(String),
    /// A string, quoted when needed.
    String(String),
    /// A sequence.
    Sequence(Vec<EditValue>),
    /// A mapping, written in this order.
    Mapping(Vec<(String, EditValue)>),
    /// A secret: a string `s` is written `{fn::secret: s}`, anything else `v`
    /// as `{fn::fromJSON: {fn::secret: <compact JSON of v>}}` (spec §5.2).
    Secret(Box<EditValue>),
}

/// Why an edit could not be made.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EditError {
    /// The document does not parse.
    #[error("{}", .0.summary)]
    Document(Diagnostic),
    /// The document path is not valid path syntax.
    #[error("invalid document path {path:?}: {reason}")]
    InvalidPath {
        /// The path as given.
        path: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The path crosses a node that is neither a mapping nor a sequence.
    #[error("{path}: expected an array or an object")]
    NotACollection {
        /// The path up to the offending node.
        path: String,
    },
    /// A sequence was indexed with a key.
    #[error("{path}: key for an array must be an int")]
    KeyForArray {
        /// The path up to the sequence.
        path: String,
    },
    /// A mapping was indexed with an integer.
    #[error("{path}: key for a map must be a string")]
    IndexForMap {
        /// The path up to the mapping.
        path: String,
    },
    /// A sequence index beyond its length (the length itself appends).
    #[error("{path}: array index out of range")]
    IndexOutOfRange {
        /// The path including the index.
        path: String,
    },
    /// An [`EditValue::Number`] whose text is not a YAML number.
    #[error("invalid number text {0:?}")]
    InvalidNumber(String),
    /// An alias in the document (never supported).
    #[error("alias nodes are not supported")]
    Alias,
    /// A YAML construct the text editor does not rewrite.
    #[error("{path}: cannot edit {reason}")]
    Unsupported {
        /// The path of the node.
        path: String,
        /// What is in the way.
        reason: &'static str,
    },
}

/// One step of a document path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PathSegment {
    /// A mapping key.
    Key(String),
    /// A sequence index.
    Index(usize),
}

/// Parses a document path (`values.full["fn::rotate"].state`, `imports[0]`,
/// the text form of [`crate::DocPath`]) into segments.
pub fn parse_doc_path(path: &str) -> Result<Vec<PathSegment>, EditError> {
    let invalid = |reason| EditError::InvalidPath {
        path: path.to_owned(),
        reason,
    };
    let bytes = path.as_bytes();
    let mut segments = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'[' if bytes.get(i + 1) == Some(&b'"') => {
                let mut key = Vec::new();
                i += 2;
                loop {
                    match bytes.get(i) {
                        None => return Err(invalid("unterminated key")),
                        Some(b'\\') if bytes.get(i + 1) == Some(&b'"') => {
                            key.push(b'"');
                            i += 2;
                        }
                        Some(b'"') => {
                            i += 1;
                            break;
                        }
                        Some(&b) => {
                            key.push(b);
                            i += 1;
                        }
                    }
                }
                if bytes.get(i) != Some(&b']') {
                    return Err(invalid("missing ']'"));
                }
                i += 1;
                let key = String::from_utf8(key).map_err(|_| invalid("invalid UTF-8"))?;
                segments.push(PathSegment::Key(key));
            }
            b'[' => {
                let end = path[i..].find(']').ok_or_else(|| invalid("missing ']'"))? + i;
                let index = path[i + 1..end].parse().map_err(|_| invalid("bad index"))?;
                segments.push(PathSegment::Index(index));
                i = end + 1;
            }
            b'.' if segments.is_empty() => return Err(invalid("leading '.'")),
            _ => {
                if bytes[i] == b'.' {
                    i += 1;
                } else if !segments.is_empty() {
                    return Err(invalid("expected '.' or '['"));
                }
                let start = i;
                while i < bytes.len() && bytes[i] != b'.' && bytes[i] != b'[' {
                    i += 1;
                }
                if i == start {
                    return Err(invalid("empty name"));
                }
                segments.push(PathSegment::Key(path[start..i].to_owned()));
            }
        }
    }
    Ok(segments)
}

/// Sets the node at `path` (document path text, see [`parse_doc_path`]) to
/// `value`, creating missing mappings (and appending to a sequence when the
/// index equals its length), and returns the new text. Everything outside
/// the replaced node is kept byte for byte, comments included.
pub fn set_value(text: &str, path: &str, value: &EditValue) -> Result<String, EditError> {
    let segments = parse_doc_path(path)?;
    if segments.is_empty() {
        return Err(EditError::InvalidPath {
            path: path.to_owned(),
            reason: "empty path",
        });
    }
    let doc = parse_spans(text)?;
    let mut edits = Vec::new();
    plan_set(text, &doc, &segments, value, &mut edits)?;
    Ok(apply(text, edits))
}

/// Rewrites every plaintext `fn::secret: "text"` under top-level `values`
/// to `fn::secret: {ciphertext: <encrypt(text)>}`, leaving the rest of the
/// text unchanged. `encrypt` receives the secret's value after `$$`
/// unescaping (what the secret evaluates to). Strings holding an
/// interpolation are not secret literals and are left alone.
pub fn encrypt_secrets<E: From<EditError>>(
    text: &str,
    mut encrypt: impl FnMut(&str) -> Result<String, E>,
) -> Result<String, E> {
    let doc = parse_spans(text)?;
    let mut edits = Vec::new();
    for call in secret_calls(&doc) {
        if let Shape::Scalar { value, quoted, .. } = &call.shape
            && let Some(plaintext) = secret_literal(value, *quoted)
        {
            let ciphertext = encrypt(&plaintext)?;
            let replacement = format!("{{ciphertext: {}}}", scalar_text(&ciphertext));
            edits.push(Edit {
                start: call.start,
                end: call.trimmed_end(text),
                text: replacement,
            });
        }
    }
    Ok(apply(text, edits))
}

/// The reverse of [`encrypt_secrets`]: every `fn::secret: {ciphertext: "..."}`
/// under top-level `values` becomes `fn::secret: <decrypt(ciphertext)>`
/// (with `$` written as `$$`).
pub fn decrypt_secrets<E: From<EditError>>(
    text: &str,
    mut decrypt: impl FnMut(&str) -> Result<String, E>,
) -> Result<String, E> {
    let doc = parse_spans(text)?;
    let mut edits = Vec::new();
    for call in secret_calls(&doc) {
        let Shape::Mapping { entries, .. } = &call.shape else {
            continue;
        };
        let [(key, ciphertext)] = entries.as_slice() else {
            continue;
        };
        let (Some("ciphertext"), Shape::Scalar { value, quoted, .. }) =
            (key.scalar_str(), &ciphertext.shape)
        else {
            continue;
        };
        if !*quoted && !matches!(resolve_scalar(value, false, ScalarTag::None), Ok(None)) {
            continue;
        }
        let plaintext = decrypt(value)?;
        let replacement = scalar_text(&plaintext.replace('$', "$$"));
        edits.push(Edit {
            start: call.start,
            end: call.trimmed_end(text),
            text: replacement,
        });
    }
    Ok(apply(text, edits))
}

/// A node with exact byte spans (unlike [`crate::Node`]'s reference ranges).
#[derive(Debug)]
struct SpanNode {
    start: usize,
    end: usize,
    /// 0-based character column: of `start` for scalars, of the entries
    /// (first key, first `-`) for collections.
    column: usize,
    shape: Shape,
}

#[derive(Debug)]
enum Shape {
    Scalar {
        value: String,
        quoted: bool,
    },
    Sequence {
        flow: bool,
        items: Vec<SpanNode>,
    },
    Mapping {
        flow: bool,
        entries: Vec<(SpanNode, SpanNode)>,
    },
}

impl SpanNode {
    fn scalar_str(&self) -> Option<&str> {
        match &self.shape {
            Shape::Scalar { value, .. } => Some(value),
            _ => None,
        }
    }

    fn is_null(&self) -> bool {
        matches!(&self.shape, Shape::Scalar { value, quoted: false, .. }
            if matches!(resolve_scalar(value, false, ScalarTag::None), Ok(Some(NodeKind::Null))))
    }

    /// End without trailing whitespace and line breaks (block scalars end at
    /// the start of the next line).
    fn trimmed_end(&self, text: &str) -> usize {
        let mut end = self.end;
        while end > self.start && matches!(text.as_bytes()[end - 1], b' ' | b'\t' | b'\n' | b'\r') {
            end -= 1;
        }
        end
    }
}

fn parse_spans(text: &str) -> Result<SpanNode, EditError> {
    // The positioned parser validates the document first (limits, keys, aliases).
    if crate::parse_document("", text)
        .map_err(EditError::Document)?
        .is_none()
    {
        return Err(EditError::Document(Diagnostic::error(
            "environment must be an object",
            None,
            "",
        )));
    }
    let mut builder = SpanBuilder {
        index: SourceIndex::new(text),
        parser: Parser::new_from_str(text),
        previous_end: 0,
        current_end: 0,
    };
    loop {
        let (event, _) = builder.next()?;
        if matches!(event, Event::DocumentStart(_)) {
            break;
        }
    }
    let (event, span) = builder.next()?;
    builder.node(event, span, false)
}

struct SpanBuilder<'t> {
    index: SourceIndex<'t>,
    parser: Parser<'t, saphyr_parser::StrInput<'t>>,
    previous_end: usize,
    current_end: usize,
}

impl<'t> SpanBuilder<'t> {
    fn next(&mut self) -> Result<(Event<'t>, Span), EditError> {
        match self.parser.next_event() {
            Some(Ok((event, span))) => {
                self.previous_end = self.current_end;
                self.current_end = self
                    .current_end
                    .max(self.index.byte_of_char(span.end.index()));
                Ok((event, span))
            }
            Some(Err(err)) => Err(EditError::Document(Diagnostic::error(
                format!("yaml: line {}: {}", err.marker().line(), err.info()),
                None,
                "",
            ))),
            None => Err(EditError::Document(Diagnostic::error(
                "yaml: unexpected end",
                None,
                "",
            ))),
        }
    }

    /// End of a flow collection: just past its closing bracket (saphyr's end
    /// event may extend over a trailing comment).
    fn closing_bracket(&self, end_event: Span, bracket: u8) -> usize {
        let at = self.byte(end_event.start);
        if self.index.text().as_bytes().get(at) == Some(&bracket) {
            at + 1
        } else {
            self.byte(end_event.end)
        }
    }

    /// Whether a collection's start event ends on its opening bracket.
    fn opens_flow(&self, start_event: Span, bracket: u8) -> bool {
        let end = self.byte(start_event.end);
        end > 0 && self.index.text().as_bytes().get(end - 1) == Some(&bracket)
    }

    fn byte(&self, span_mark: saphyr_parser::Marker) -> usize {
        self.index.byte_of_char(span_mark.index())
    }

    // Depth is bounded: `parse_document` ran first and enforces the nesting limit.
    fn node(&mut self, event: Event<'t>, span: Span, in_flow: bool) -> Result<SpanNode, EditError> {
        let start = self.byte(span.start);
        let column = span.start.col();
        match event {
            Event::Scalar(value, style, anchor, tag) => {
                let block = matches!(style, SaphyrStyle::Literal | SaphyrStyle::Folded);
                let mut start = start;
                let mut column = column;
                let text = self.index.text();
                if block && anchor == 0 && tag.is_none() {
                    // saphyr starts a block scalar at its content: find the indicator
                    let from = self.previous_end.min(start);
                    let mut in_comment = false;
                    for (i, b) in text.as_bytes()[from..start].iter().enumerate() {
                        match b {
                            b'\n' => in_comment = false,
                            b'#' => in_comment = true,
                            b'|' | b'>' if !in_comment => {
                                start = from + i;
                                column = column_of_byte(text, start);
                                break;
                            }
                            _ => {}
                        }
                    }
                }
                let mut end = self.byte(span.end).max(start);
                // saphyr puts an empty value at its `:`; it belongs after it
                if value.is_empty()
                    && style == SaphyrStyle::Plain
                    && anchor == 0
                    && tag.is_none()
                    && text.as_bytes().get(start) == Some(&b':')
                {
                    start += 1;
                    end = start;
                }
                let quoted = style != SaphyrStyle::Plain || tag.is_some();
                Ok(SpanNode {
                    start,
                    end,
                    column,
                    shape: Shape::Scalar {
                        value: value.into_owned(),
                        quoted,
                    },
                })
            }
            Event::SequenceStart(..) => {
                let inner = in_flow || self.opens_flow(span, b'[');
                let mut items = Vec::new();
                loop {
                    let (event, span) = self.next()?;
                    if event == Event::SequenceEnd {
                        // an implicit `k: v` pair inside a flow sequence has no braces
                        let flow = in_flow || !span.is_empty();
                        let end = if flow {
                            self.closing_bracket(span, b']')
                        } else {
                            items.last().map_or(start, |n: &SpanNode| n.end)
                        };
                        // entries line up with the first `-` (a tag or anchor may come first)
                        let column = match items.first() {
                            Some(first) if !flow => {
                                let text = self.index.text();
                                text[..first.start]
                                    .rfind('-')
                                    .map_or(column, |dash| column_of_byte(text, dash))
                            }
                            _ => column,
                        };
                        return Ok(SpanNode {
                            start,
                            end,
                            column,
                            shape: Shape::Sequence { flow, items },
                        });
                    }
                    items.push(self.node(event, span, inner)?);
                }
            }
            Event::MappingStart(..) => {
                let inner = in_flow || self.opens_flow(span, b'{');
                let mut entries = Vec::new();
                loop {
                    let (event, span) = self.next()?;
                    if event == Event::MappingEnd {
                        // an implicit `k: v` pair inside a flow sequence has no braces
                        let flow = in_flow || !span.is_empty();
                        let end = if flow {
                            self.closing_bracket(span, b'}')
                        } else {
                            entries
                                .last()
                                .map_or(start, |(_, v): &(SpanNode, SpanNode)| v.end)
                        };
                        // entries line up with the first key (a tag or anchor may come first)
                        let column = entries.first().map_or(column, |(k, _)| k.column);
                        return Ok(SpanNode {
                            start,
                            end,
                            column,
                            shape: Shape::Mapping { flow, entries },
                        });
                    }
                    let key = self.node(event, span, inner)?;
                    let (event, span) = self.next()?;
                    let value = self.node(event, span, inner)?;
                    entries.push((key, value));
                }
            }
            _ => Err(EditError::Alias),
        }
    }
}

/// 0-based character column of `byte`, counting lines the way YAML (and
/// saphyr) does: a lone `\r` also ends a line.
fn column_of_byte(text: &str, byte: usize) -> usize {
    let line_start = text[..byte].rfind(['\n', '\r']).map_or(0, |i| i + 1);
    text[line_start..byte].chars().count()
}

/// `fn::secret` argument nodes under top-level `values` (any depth).
fn secret_calls(root: &SpanNode) -> Vec<&SpanNode> {
    fn walk<'a>(node: &'a SpanNode, out: &mut Vec<&'a SpanNode>) {
        match &node.shape {
            Shape::Scalar { .. } => {}
            Shape::Sequence { items, .. } => items.iter().for_each(|n| walk(n, out)),
            Shape::Mapping { entries, .. } => {
                if let [(key, arg)] = entries.as_slice()
                    && key.scalar_str() == Some("fn::secret")
                {
                    out.push(arg);
                    return;
                }
                entries.iter().for_each(|(_, v)| walk(v, out));
            }
        }
    }
    let mut out = Vec::new();
    if let Shape::Mapping { entries, .. } = &root.shape {
        for (key, value) in entries {
            if key
                .scalar_str()
                .is_some_and(|k| k.eq_ignore_ascii_case("values"))
            {
                // a top-level `fn::` key in `values` is a property, not a call (spec §1.4)
                match &value.shape {
                    Shape::Mapping { entries, .. } => {
                        entries.iter().for_each(|(_, v)| walk(v, &mut out));
                    }
                    _ => walk(value, &mut out),
                }
            }
        }
    }
    out
}

/// The value of a plaintext secret literal: a string without accesses,
/// `$$`-unescaped; `None` for anything else.
fn secret_literal(value: &str, quoted: bool) -> Option<String> {
    if !quoted && !matches!(resolve_scalar(value, false, ScalarTag::None), Ok(None)) {
        return None; // a number, bool or null: not a string literal
    }
    let mut out = String::with_capacity(value.len());
    let mut rest = value;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        match rest.as_bytes().get(i + 1) {
            Some(b'$') => {
                out.push('$');
                rest = &rest[i + 2..];
            }
            Some(b'{') => return None,
            _ => {
                out.push('$');
                rest = &rest[i + 1..];
            }
        }
    }
    out.push_str(rest);
    Some(out)
}

/// A replacement of `text[start..end]`.
#[derive(Debug)]
struct Edit {
    start: usize,
    end: usize,
    text: String,
}

fn apply(text: &str, mut edits: Vec<Edit>) -> String {
    edits.sort_by_key(|e| (e.start, e.end));
    let mut out =
        String::with_capacity(text.len() + edits.iter().map(|e| e.text.len()).sum::<usize>());
    let mut at = 0;
    for edit in edits {
        if edit.start < at {
            continue; // overlapping edits cannot happen: each targets a distinct node
        }
        out.push_str(&text[at..edit.start]);
        out.push_str(&edit.text);
        at = edit.end;
    }
    out.push_str(&text[at..]);
    out
}

/// Where a node sits, which decides how its replacement is written.
#[derive(Clone, Copy, Debug)]
enum Slot {
    /// The document root.
    Root,
    /// A block mapping value or sequence item: the replacement goes right
    /// after the `:`/`-` indicator (ending at `indicator_end`), and nested
    /// block content is indented by `indent`.
    Block { indicator_end: usize, indent: usize },
    /// Inside a flow collection: flow style, in place.
    Flow,
}

fn plan_set(
    text: &str,
    root: &SpanNode,
    segments: &[PathSegment],
    value: &EditValue,
    edits: &mut Vec<Edit>,
) -> Result<(), EditError> {
    let mut node = root;
    let mut slot = Slot::Root;
    let mut walked = String::new();
    for (i, segment) in segments.iter().enumerate() {
        let rest = &segments[i..];
        match (&node.shape, segment) {
            (Shape::Mapping { flow, entries }, PathSegment::Key(key)) => {
                match entries.iter().find(|(k, _)| k.scalar_str() == Some(key)) {
                    Some((k, v)) => {
                        slot = if *flow {
                            Slot::Flow
                        } else {
                            let Some(colon) = value_indicator(text, k.end) else {
                                push_segment(&mut walked, segment);
                                return Err(EditError::Unsupported {
                                    path: walked,
                                    reason: "an explicit key without a value",
                                });
                            };
                            Slot::Block {
                                indicator_end: colon,
                                indent: k.column + 2,
                            }
                        };
                        node = v;
                    }
                    None => {
                        let nested = nest(&rest[1..], value.clone());
                        edits.push(append_entry(
                            text,
                            node,
                            *flow,
                            entries.is_empty(),
                            key,
                            &nested,
                        )?);
                        return Ok(());
                    }
                }
            }
            (Shape::Sequence { flow, items }, PathSegment::Index(index)) => {
                if let Some(item) = items.get(*index) {
                    slot = if *flow {
                        Slot::Flow
                    } else {
                        // saphyr starts a block sequence at its first `-`; each item follows its `-`
                        let dash = text[..item.start].rfind('-').map_or(item.start, |d| d + 1);
                        Slot::Block {
                            indicator_end: dash,
                            indent: node.column + 2,
                        }
                    };
                    node = item;
                } else if *index == items.len() {
                    let nested = nest(&rest[1..], value.clone());
                    edits.push(append_item(text, node, *flow, items.is_empty(), &nested)?);
                    return Ok(());
                } else {
                    push_segment(&mut walked, segment);
                    return Err(EditError::IndexOutOfRange { path: walked });
                }
            }
            (Shape::Sequence { .. }, PathSegment::Key(_)) => {
                return Err(EditError::KeyForArray { path: walked });
            }
            (Shape::Mapping { .. }, PathSegment::Index(_)) => {
                return Err(EditError::IndexForMap { path: walked });
            }
            (Shape::Scalar { .. }, _) if node.is_null() && !matches!(slot, Slot::Root) => {
                // a null node becomes the collection the path needs
                edits.push(replace(text, node, slot, &nest(rest, value.clone()))?);
                return Ok(());
            }
            (Shape::Scalar { .. }, _) => return Err(EditError::NotACollection { path: walked }),
        }
        push_segment(&mut walked, segment);
    }
    edits.push(replace(text, node, slot, value)?);
    Ok(())
}

/// Just past the `:` that follows a block mapping key at `key_end`, skipping
/// whitespace, line breaks and comments (an explicit `? key` may have none).
fn value_indicator(text: &str, key_end: usize) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut i = key_end;
    while i < bytes.len() {
        match bytes[i] {
            b':' => return Some(i + 1),
            b' ' | b'\t' | b'\r' | b'\n' => i += 1,
            b'#' => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
            }
            _ => return None,
        }
    }
    None
}

fn push_segment(path: &mut String, segment: &PathSegment) {
    match segment {
        PathSegment::Key(k) => {
            let joined = crate::DocPath::from_text(std::mem::take(path)).key(k);
            *path = joined.into_string();
        }
        PathSegment::Index(i) => path.push_str(&format!("[{i}]")),
    }
}

/// The value for the rest of a path: missing mappings (and `[0]`
/// sequences) around `value`.
fn nest(rest: &[PathSegment], value: EditValue) -> EditValue {
    rest.iter()
        .rev()
        .fold(value, |inner, segment| match segment {
            PathSegment::Key(k) => EditValue::Mapping(vec![(k.clone(), inner)]),
            PathSegment::Index(_) => EditValue::Sequence(vec![inner]),
        })
}

fn replace(text: &str, node: &SpanNode, slot: Slot, value: &EditValue) -> Result<Edit, EditError> {
    let end = node.trimmed_end(text).max(node.start);
    Ok(match slot {
        Slot::Root => Edit {
            start: node.start,
            end,
            text: render_root(value)?,
        },
        Slot::Flow => {
            let mut rendered = render_flow(value)?;
            // an empty value right after its `:` needs the separating space
            if node.start > 0 && text.as_bytes()[node.start - 1] == b':' {
                rendered.insert(0, ' ');
            }
            Edit {
                start: node.start,
                end,
                text: rendered,
            }
        }
        Slot::Block {
            indicator_end,
            indent,
        } => {
            // saphyr may put an empty scalar at its `:`; the replacement always
            // starts right after the indicator
            let end = end.max(indicator_end);
            Edit {
                start: indicator_end,
                end,
                text: render_after_indicator(value, indent)?,
            }
        }
    })
}

fn append_entry(
    text: &str,
    mapping: &SpanNode,
    flow: bool,
    empty: bool,
    key: &str,
    value: &EditValue,
) -> Result<Edit, EditError> {
    if flow {
        // an implicit `k: v` pair in a flow sequence has no braces to extend
        if !text[..mapping.end].ends_with('}') {
            return Err(EditError::Unsupported {
                path: String::new(),
                reason: "a flow pair without braces",
            });
        }
        // before the closing brace
        let close = mapping.end - 1;
        let sep = if empty { "" } else { ", " };
        let entry = format!("{sep}{}: {}", scalar_text(key), render_flow(value)?);
        return Ok(Edit {
            start: close,
            end: close,
            text: entry,
        });
    }
    let indent = " ".repeat(mapping.column);
    let entry = format!(
        "\n{indent}{}:{}",
        scalar_text(key),
        render_after_indicator(value, mapping.column + 2)?
    );
    let at = end_of_line(text, mapping.trimmed_end(text));
    Ok(Edit {
        start: at,
        end: at,
        text: entry,
    })
}

fn append_item(
    text: &str,
    sequence: &SpanNode,
    flow: bool,
    empty: bool,
    value: &EditValue,
) -> Result<Edit, EditError> {
    if flow {
        let close = text[..sequence.end].rfind(']').unwrap_or(sequence.end);
        let sep = if empty { "" } else { ", " };
        return Ok(Edit {
            start: close,
            end: close,
            text: format!("{sep}{}", render_flow(value)?),
        });
    }
    let indent = " ".repeat(sequence.column);
    let item = format!(
        "\n{indent}-{}",
        render_after_indicator(value, sequence.column + 2)?
    );
    let at = end_of_line(text, sequence.trimmed_end(text));
    Ok(Edit {
        start: at,
        end: at,
        text: item,
    })
}

/// Where the line holding `at` ends (before its `\r` or `\n`, or at the
/// text end): a new block entry goes after any comment trailing the previous
/// one. YAML also ends lines at a lone `\r`.
fn end_of_line(text: &str, at: usize) -> usize {
    let at = at.min(text.len());
    text[at..].find(['\n', '\r']).map_or(text.len(), |i| at + i)
}

/// Replaces secrets by their `fn::secret` forms.
fn expand_secrets(value: &EditValue) -> EditValue {
    match value {
        EditValue::Secret(inner) => match inner.as_ref() {
            EditValue::String(s) => EditValue::Mapping(vec![(
                "fn::secret".to_owned(),
                EditValue::String(s.clone()),
            )]),
            other => EditValue::Mapping(vec![(
                "fn::fromJSON".to_owned(),
                EditValue::Mapping(vec![(
                    "fn::secret".to_owned(),
                    EditValue::String(compact_json(other)),
                )]),
            )]),
        },
        EditValue::Sequence(items) => {
            EditValue::Sequence(items.iter().map(expand_secrets).collect())
        }
        EditValue::Mapping(entries) => EditValue::Mapping(
            entries
                .iter()
                .map(|(k, v)| (k.clone(), expand_secrets(v)))
                .collect(),
        ),
        other => other.clone(),
    }
}

fn render_root(value: &EditValue) -> Result<String, EditError> {
    let value = expand_secrets(value);
    match &value {
        EditValue::Mapping(entries) if !entries.is_empty() => render_entries(entries, 0),
        EditValue::Sequence(items) if !items.is_empty() => render_items(items, 0),
        other => render_flow(other),
    }
}

/// Text for after a `key:` or `-`: ` scalar`, ` {}`, or block lines.
fn render_after_indicator(value: &EditValue, indent: usize) -> Result<String, EditError> {
    let value = expand_secrets(value);
    match &value {
        EditValue::Mapping(entries) if !entries.is_empty() => {
            Ok(format!("\n{}", render_entries(entries, indent)?))
        }
        EditValue::Sequence(items) if !items.is_empty() => {
            Ok(format!("\n{}", render_items(items, indent)?))
        }
        other => Ok(format!(" {}", render_flow(other)?)),
    }
}

fn render_entries(entries: &[(String, EditValue)], indent: usize) -> Result<String, EditError> {
    let pad = " ".repeat(indent);
    let mut lines = Vec::with_capacity(entries.len());
    for (key, value) in entries {
        lines.push(format!(
            "{pad}{}:{}",
            scalar_text(key),
            render_after_indicator(value, indent + 2)?
        ));
    }
    Ok(lines.join("\n"))
}

fn render_items(items: &[EditValue], indent: usize) -> Result<String, EditError> {
    let pad = " ".repeat(indent);
    let mut lines = Vec::with_capacity(items.len());
    for item in items {
        lines.push(format!(
            "{pad}-{}",
            render_after_indicator(item, indent + 2)?
        ));
    }
    Ok(lines.join("\n"))
}

fn render_flow(value: &EditValue) -> Result<String, EditError> {
    Ok(match &expand_secrets(value) {
        EditValue::Null => "null".to_owned(),
        EditValue::Bool(b) => b.to_string(),
        EditValue::Number(n) => number_text(n)?,
        EditValue::String(s) => scalar_text(s),
        EditValue::Sequence(items) => {
            let items: Result<Vec<_>, _> = items.iter().map(render_flow).collect();
            format!("[{}]", items?.join(", "))
        }
        EditValue::Mapping(entries) => {
            let entries: Result<Vec<_>, EditError> = entries
                .iter()
                .map(|(k, v)| Ok(format!("{}: {}", scalar_text(k), render_flow(v)?)))
                .collect();
            format!("{{{}}}", entries?.join(", "))
        }
        // expand_secrets removed them
        EditValue::Secret(_) => "null".to_owned(),
    })
}

/// Go number text to YAML: `+Inf` → `.inf` and so on; anything that does not
/// read back as a number is refused.
fn number_text(text: &str) -> Result<String, EditError> {
    let yaml = match text {
        "+Inf" => ".inf",
        "-Inf" => "-.inf",
        "NaN" => ".nan",
        other => other,
    };
    match resolve_scalar(yaml, false, ScalarTag::None) {
        Ok(Some(NodeKind::Number(_))) => Ok(yaml.to_owned()),
        _ => Err(EditError::InvalidNumber(text.to_owned())),
    }
}

/// A string as a YAML scalar: plain when it reads back as the same string
/// in block and flow context, else double-quoted.
pub(crate) fn scalar_text(s: &str) -> String {
    if is_plain_safe(s) {
        s.to_owned()
    } else {
        double_quoted(s)
    }
}

fn is_plain_safe(s: &str) -> bool {
    let Some(first) = s.chars().next() else {
        return false;
    };
    if "-?:,[]{}#&*!|>'\"%@` \t".contains(first) || s.ends_with([' ', ':']) {
        return false;
    }
    // a merge key, and document markers when written at column 0
    if s == "<<" || s.starts_with("...") {
        return false;
    }
    if s.chars().any(|c| {
        c.is_control()
            || matches!(
                c,
                ',' | '[' | ']' | '{' | '}' | '\u{FEFF}' | '\u{2028}' | '\u{2029}' | '\u{85}'
            )
    }) || s.contains(": ")
        || s.contains(" #")
    {
        return false;
    }
    matches!(resolve_scalar(s, false, ScalarTag::None), Ok(None))
}

fn double_quoted(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() || matches!(c, '\u{FEFF}' | '\u{2028}' | '\u{2029}') => {
                out.push_str(&format!("\\u{:04X}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Compact JSON like Go's `json.Marshal`: object keys sorted, `<`, `>`, `&`,
/// U+2028 and U+2029 escaped. Secrets inside are written as their values.
fn compact_json(value: &EditValue) -> String {
    let mut out = String::new();
    write_json(value, &mut out);
    out
}

fn write_json(value: &EditValue, out: &mut String) {
    match value {
        EditValue::Null => out.push_str("null"),
        EditValue::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        EditValue::Number(n) => out.push_str(n),
        EditValue::String(s) => write_json_string(s, out),
        EditValue::Sequence(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_json(item, out);
            }
            out.push(']');
        }
        EditValue::Mapping(entries) => {
            let mut sorted: Vec<_> = entries.iter().collect();
            sorted.sort_by(|a, b| a.0.cmp(&b.0));
            out.push('{');
            for (i, (k, v)) in sorted.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_json_string(k, out);
                out.push(':');
                write_json(v, out);
            }
            out.push('}');
        }
        EditValue::Secret(inner) => write_json(inner, out),
    }
}

fn write_json_string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '<' | '>' | '&' | '\u{2028}' | '\u{2029}' => {
                out.push_str(&format!("\\u{:04x}", c as u32))
            }
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests;
