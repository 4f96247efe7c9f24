//! Text-preserving YAML edits: write-back of rotated state (spec §5.2),
//! the encrypt/decrypt-secrets tooling (spec §3 `fn::secret`) and the
//! `esc env set` / `esc env rm <path>` edits (spec/CLI.md § 7).
//!
//! Edits replace byte spans of the original text, so comments, key order
//! and formatting outside the edited nodes are kept. New content is written
//! the way Go's yaml.v3 would re-emit the edited node tree, at two-space
//! indentation: block style in block context (a mapping or sequence inside
//! a sequence item starts on the item's line, multi-line strings are `|`
//! blocks), flow style inside flow collections; a replaced flow collection
//! stays flow, a replaced quoted string keeps its quotes, and an empty
//! `{}`/`[]` in block context that gains its first entry becomes block.

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
    /// A string written in `style` when the string allows it.
    Styled(String, StringStyle),
    /// A mapping whose keys are written in their own styles.
    StyledMapping(Vec<(String, StringStyle, EditValue)>),
}

/// How a string is written.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum StringStyle {
    /// Unquoted when it reads back as the same string, else double-quoted
    /// (multi-line strings as `|` blocks in block context).
    #[default]
    Plain,
    /// `'...'` (double-quoted when it holds line breaks or control characters).
    SingleQuoted,
    /// `"..."`.
    DoubleQuoted,
    /// A `|` block in block context (double-quoted in flow context or when
    /// the text cannot be a block).
    Literal,
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
/// the replaced node is kept byte for byte, comments included. An empty
/// document becomes a new one holding the path.
pub fn set_value(text: &str, path: &str, value: &EditValue) -> Result<String, EditError> {
    let segments = parse_doc_path(path)?;
    if segments.is_empty() {
        return Err(EditError::InvalidPath {
            path: path.to_owned(),
            reason: "empty path",
        });
    }
    // (YAML also ends lines at a lone `\r`)
    let content_free = text
        .split(['\n', '\r'])
        .all(|line| line.trim().is_empty() || line.trim_start().starts_with('#'));
    if content_free {
        // an empty (or comment-only) document: the value becomes the document
        let mut out = text.to_owned();
        if !out.trim().is_empty() && !out.ends_with(['\n', '\r']) {
            out.push('\n');
        } else if out.trim().is_empty() {
            out.clear();
        }
        out.push_str(&render_root(&lower(&nest(&segments, value.clone())))?);
        out.push('\n');
        return Ok(out);
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
    // 0 bytes is the empty environment (a revision 1, a rollback to it)
    if text.is_empty() {
        return Ok(String::new());
    }
    let doc = parse_spans(text)?;
    let mut edits = Vec::new();
    for call in secret_calls(&doc) {
        let arg = call.arg;
        if let Shape::Scalar { value, quoted, .. } = &arg.shape
            && let Some(plaintext) = secret_literal(value, *quoted)
        {
            let ciphertext = scalar_text(&encrypt(&plaintext)?);
            // block context: `fn::secret:` then `ciphertext:` on its own line,
            // as yaml.v3 writes a mapping that replaced a scalar
            let edit = match call.block_indicator(text) {
                Some(colon) => Edit {
                    start: colon,
                    end: arg.trimmed_end(text).max(colon),
                    text: format!(
                        "\n{}ciphertext: {ciphertext}",
                        " ".repeat(call.key.column + 2)
                    ),
                },
                None => Edit {
                    start: arg.start,
                    end: arg.trimmed_end(text),
                    text: format!("{{ciphertext: {ciphertext}}}"),
                },
            };
            edits.push(edit);
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
    if text.is_empty() {
        return Ok(String::new());
    }
    let doc = parse_spans(text)?;
    let mut edits = Vec::new();
    for call in secret_calls(&doc) {
        let Shape::Mapping { entries, .. } = &call.arg.shape else {
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
        let plaintext = Out::Str(decrypt(value)?.replace('$', "$$"), StringStyle::Plain);
        let edit = match call.block_indicator(text) {
            Some(colon) => Edit {
                start: colon,
                end: call.arg.trimmed_end(text).max(colon),
                text: render_after(&plaintext, call.key.column + 2, false)?,
            },
            None => Edit {
                start: call.arg.start,
                end: call.arg.trimmed_end(text),
                text: render_flow(&plaintext)?,
            },
        };
        edits.push(edit);
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
        style: StringStyle,
        /// A `|+`/`>+` block: its trailing line breaks are content.
        keep: bool,
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
    // (YAML also ends lines at a lone `\r`)
    let content_free = text
        .split(['\n', '\r'])
        .all(|line| line.trim().is_empty() || line.trim_start().starts_with('#'));
    if content_free {
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
                // saphyr's span of a quoted scalar may run over a trailing comment
                if let Some(close) = closing_quote(text, start, style) {
                    end = end.min(close);
                }
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
                // an empty value in a flow collection (`{a b }`) has no width
                if value.is_empty() && style == SaphyrStyle::Plain && in_flow {
                    end = start;
                }
                let quoted = style != SaphyrStyle::Plain || tag.is_some();
                let keep = block
                    && text[start..]
                        .chars()
                        .skip(1)
                        .take_while(|c| c.is_ascii_digit() || matches!(c, '+' | '-'))
                        .any(|c| c == '+');
                Ok(SpanNode {
                    start,
                    end,
                    column,
                    shape: Shape::Scalar {
                        value: value.into_owned(),
                        quoted,
                        style: match style {
                            SaphyrStyle::SingleQuoted => StringStyle::SingleQuoted,
                            SaphyrStyle::DoubleQuoted => StringStyle::DoubleQuoted,
                            SaphyrStyle::Literal | SaphyrStyle::Folded => StringStyle::Literal,
                            SaphyrStyle::Plain => StringStyle::Plain,
                        },
                        keep,
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

/// Just past the closing quote of a quoted scalar starting at `start`.
fn closing_quote(text: &str, start: usize, style: SaphyrStyle) -> Option<usize> {
    let quote = match style {
        SaphyrStyle::DoubleQuoted => b'"',
        SaphyrStyle::SingleQuoted => b'\'',
        _ => return None,
    };
    let bytes = text.as_bytes();
    if bytes.get(start) != Some(&quote) {
        return None;
    }
    let mut i = start + 1;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' if quote == b'"' => i += 2,
            b'\'' if quote == b'\'' && bytes.get(i + 1) == Some(&b'\'') => i += 2,
            b if b == quote => return Some(i + 1),
            _ => i += 1,
        }
    }
    None
}

/// 0-based character column of `byte`, counting lines the way YAML (and
/// saphyr) does: a lone `\r` also ends a line.
fn column_of_byte(text: &str, byte: usize) -> usize {
    let line_start = text[..byte].rfind(['\n', '\r']).map_or(0, |i| i + 1);
    text[line_start..byte].chars().count()
}

/// A `{fn::secret: arg}` call.
struct SecretCall<'a> {
    /// The `fn::secret` key.
    key: &'a SpanNode,
    /// Its argument.
    arg: &'a SpanNode,
    /// Whether the call is a flow mapping (or inside one).
    flow: bool,
}

impl SecretCall<'_> {
    /// Just past the `:` after the key, for a call in block context.
    fn block_indicator(&self, text: &str) -> Option<usize> {
        if self.flow {
            None
        } else {
            value_indicator(text, self.key.end)
        }
    }
}

/// `fn::secret` calls under top-level `values` (any depth).
fn secret_calls(root: &SpanNode) -> Vec<SecretCall<'_>> {
    fn walk<'a>(node: &'a SpanNode, out: &mut Vec<SecretCall<'a>>) {
        match &node.shape {
            Shape::Scalar { .. } => {}
            Shape::Sequence { items, .. } => items.iter().for_each(|n| walk(n, out)),
            Shape::Mapping { entries, flow } => {
                if let [(key, arg)] = entries.as_slice()
                    && key.scalar_str() == Some("fn::secret")
                {
                    out.push(SecretCall {
                        key,
                        arg,
                        flow: *flow,
                    });
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
    /// A block mapping value (`item` false) or sequence item (`item` true):
    /// the replacement goes right after the `:`/`-` indicator (ending at
    /// `indicator_end`), and nested block content is indented by `indent`.
    Block {
        indicator_end: usize,
        indent: usize,
        item: bool,
    },
    /// Inside a flow collection: flow style, in place.
    Flow,
}

/// The slot of the value of `key` in a mapping whose slot is `parent`.
fn entry_slot(
    text: &str,
    flow: bool,
    key: &SpanNode,
    walked: &mut String,
    segment: &PathSegment,
) -> Result<Slot, EditError> {
    if flow {
        return Ok(Slot::Flow);
    }
    let Some(colon) = value_indicator(text, key.end) else {
        push_segment(walked, segment);
        return Err(EditError::Unsupported {
            path: std::mem::take(walked),
            reason: "an explicit key without a value",
        });
    };
    Ok(Slot::Block {
        indicator_end: colon,
        indent: key.column + 2,
        item: false,
    })
}

/// The slot of `item` in a sequence at `sequence_column`.
fn item_slot(text: &str, flow: bool, item: &SpanNode, sequence_column: usize) -> Slot {
    if flow {
        return Slot::Flow;
    }
    // saphyr starts a block sequence at its first `-`; each item follows its `-`
    let dash = text[..item.start].rfind('-').map_or(item.start, |d| d + 1);
    Slot::Block {
        indicator_end: dash,
        indent: sequence_column + 2,
        item: true,
    }
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
                        slot = entry_slot(text, *flow, k, &mut walked, segment)?;
                        node = v;
                    }
                    None if *flow && entries.is_empty() && !matches!(slot, Slot::Flow) => {
                        // `{}` in block context gains its first key: block style
                        let nested = nest(rest, value.clone());
                        edits.push(replace(text, node, slot, &nested, false)?);
                        return Ok(());
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
                    slot = item_slot(text, *flow, item, node.column);
                    node = item;
                } else if *index == items.len() {
                    if *flow && items.is_empty() && !matches!(slot, Slot::Flow) {
                        // `[]` in block context gains its first item: block style
                        let nested = nest(rest, value.clone());
                        edits.push(replace(text, node, slot, &nested, false)?);
                        return Ok(());
                    }
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
                edits.push(replace(text, node, slot, &nest(rest, value.clone()), true)?);
                return Ok(());
            }
            (Shape::Scalar { .. }, _) => return Err(EditError::NotACollection { path: walked }),
        }
        push_segment(&mut walked, segment);
    }
    edits.push(replace(text, node, slot, value, true)?);
    Ok(())
}

/// Removes the node at `path` (document path text, see [`parse_doc_path`]):
/// a mapping entry, with the comment lines right above it (a missing key,
/// or a missing mapping on the way, changes nothing), or a sequence item.
/// A collection that loses its last entry becomes `{}` / `[]`. Everything
/// else is kept byte for byte.
pub fn delete_value(text: &str, path: &str) -> Result<String, EditError> {
    let segments = parse_doc_path(path)?;
    if segments.is_empty() {
        return Err(EditError::InvalidPath {
            path: path.to_owned(),
            reason: "empty path",
        });
    }
    let doc = parse_spans(text)?;
    let mut node = &doc;
    let mut slot = Slot::Root;
    let mut walked = String::new();
    for (i, segment) in segments.iter().enumerate() {
        let last = i + 1 == segments.len();
        match (&node.shape, segment) {
            (Shape::Mapping { flow, entries }, PathSegment::Key(key)) => {
                let Some(idx) = entries
                    .iter()
                    .position(|(k, _)| k.scalar_str() == Some(key))
                else {
                    return Ok(text.to_owned());
                };
                if last {
                    let spans: Vec<(&SpanNode, &SpanNode)> =
                        entries.iter().map(|(k, v)| (k, v)).collect();
                    let edit = delete_member(text, node, slot, *flow, &spans, idx)?;
                    return Ok(apply(text, vec![edit]));
                }
                slot = entry_slot(text, *flow, &entries[idx].0, &mut walked, segment)?;
                node = &entries[idx].1;
            }
            (Shape::Sequence { flow, items }, PathSegment::Index(index)) => {
                let Some(item) = items.get(*index) else {
                    push_segment(&mut walked, segment);
                    return Err(EditError::IndexOutOfRange { path: walked });
                };
                if last {
                    let spans: Vec<(&SpanNode, &SpanNode)> = items.iter().map(|n| (n, n)).collect();
                    let edit = delete_member(text, node, slot, *flow, &spans, *index)?;
                    return Ok(apply(text, vec![edit]));
                }
                slot = item_slot(text, *flow, item, node.column);
                node = item;
            }
            (Shape::Sequence { .. }, PathSegment::Key(_)) => {
                return Err(EditError::KeyForArray { path: walked });
            }
            (Shape::Mapping { .. }, PathSegment::Index(_)) => {
                return Err(EditError::IndexForMap { path: walked });
            }
            (Shape::Scalar { .. }, _) if node.is_null() => return Ok(text.to_owned()),
            (Shape::Scalar { .. }, _) => return Err(EditError::NotACollection { path: walked }),
        }
        push_segment(&mut walked, segment);
    }
    Ok(text.to_owned())
}

/// The edit that removes member `idx` of a collection; `members` are
/// (first node, last node) pairs: (key, value) of entries, (item, item) of
/// sequence items.
fn delete_member(
    text: &str,
    collection: &SpanNode,
    slot: Slot,
    flow: bool,
    members: &[(&SpanNode, &SpanNode)],
    idx: usize,
) -> Result<Edit, EditError> {
    let (first, last) = members[idx];
    if members.len() == 1 {
        let empty = match collection.shape {
            Shape::Sequence { .. } => EditValue::Sequence(Vec::new()),
            _ => EditValue::Mapping(Vec::new()),
        };
        return replace(text, collection, slot, &empty, true);
    }
    let member_start = |i: usize| -> usize {
        let node = members[i].0;
        match collection.shape {
            // a block item starts at its `-`
            Shape::Sequence { flow: false, .. } => {
                text[..node.start].rfind('-').unwrap_or(node.start)
            }
            _ => node.start,
        }
    };
    let start = member_start(idx);
    if flow {
        // `a, ` up to the next member, or `, a` after the previous one
        let (start, end) = if idx + 1 < members.len() {
            (start, member_start(idx + 1))
        } else {
            let previous = members[idx - 1].1;
            (
                previous.trimmed_end(text).max(previous.start),
                last.trimmed_end(text).max(first.end),
            )
        };
        return Ok(Edit {
            start,
            end,
            text: String::new(),
        });
    }
    let line_start = text[..start].rfind(['\n', '\r']).map_or(0, |i| i + 1);
    if !text[line_start..start].trim().is_empty() {
        // a compact mapping's first key right after `- `: up to the next key
        return Ok(Edit {
            start,
            end: member_start(idx + 1),
            text: String::new(),
        });
    }
    let end = end_of_line(text, last.trimmed_end(text).max(first.end));
    let end = end + line_break_len(&text[end..]);
    Ok(Edit {
        start: comments_above(text, line_start),
        end,
        text: String::new(),
    })
}

/// The start of the run of comment-only lines right above `line_start`.
fn comments_above(text: &str, mut line_start: usize) -> usize {
    while line_start > 0 {
        let above = text[..line_start - 1]
            .rfind(['\n', '\r'])
            .map_or(0, |i| i + 1);
        if !text[above..line_start].trim_start().starts_with('#') {
            break;
        }
        line_start = above;
    }
    line_start
}

fn line_break_len(rest: &str) -> usize {
    if rest.starts_with("\r\n") {
        2
    } else if rest.starts_with(['\n', '\r']) {
        1
    } else {
        0
    }
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

/// The replacement of `node` by `value`. Like yaml.v3 replacing a node's
/// content but keeping its style: a string replacing a scalar keeps that
/// scalar's quoting, and (with `keep_flow`) a collection replacing a flow
/// collection is written in flow style.
fn replace(
    text: &str,
    node: &SpanNode,
    slot: Slot,
    value: &EditValue,
    keep_flow: bool,
) -> Result<Edit, EditError> {
    let mut value = lower(value);
    if let (Shape::Scalar { style, .. }, Out::Str(_, new_style)) = (&node.shape, &mut value) {
        *new_style = *style;
    }
    let old_flow = matches!(
        node.shape,
        Shape::Mapping { flow: true, .. } | Shape::Sequence { flow: true, .. }
    );
    let end = node.trimmed_end(text).max(node.start);
    Ok(match slot {
        Slot::Root => Edit {
            start: node.start,
            end,
            text: render_root(&value)?,
        },
        Slot::Block { .. } if keep_flow && old_flow && value.is_collection() => Edit {
            start: node.start,
            end,
            text: render_flow(&value)?,
        },
        Slot::Flow => {
            let mut rendered = render_flow(&value)?;
            let before = text[..node.start].trim_end_matches([' ', '\t']);
            if node.start == node.end && !before.ends_with([':', '[', ',']) {
                // an implicit null value (`{a b }`): the key needs its `:`
                rendered.insert_str(0, ": ");
            } else if node.start > 0 && text.as_bytes()[node.start - 1] == b':' {
                // an empty value right after its `:` needs the separating space
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
            item,
        } => {
            // saphyr may put an empty scalar at its `:`; the replacement always
            // starts right after the indicator
            let end = end.max(indicator_end);
            Edit {
                start: indicator_end,
                end,
                text: render_after(&value, indent, item)?,
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
    let value = lower(value);
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
        let entry = format!("{sep}{}: {}", scalar_text(key), render_flow(&value)?);
        return Ok(Edit {
            start: close,
            end: close,
            text: entry,
        });
    }
    let entry = format!(
        "{}{}:{}",
        " ".repeat(mapping.column),
        scalar_text(key),
        render_after(&value, mapping.column + 2, false)?
    );
    Ok(append_block_line(text, mapping, entry))
}

fn append_item(
    text: &str,
    sequence: &SpanNode,
    flow: bool,
    empty: bool,
    value: &EditValue,
) -> Result<Edit, EditError> {
    let value = lower(value);
    if flow {
        let close = text[..sequence.end].rfind(']').unwrap_or(sequence.end);
        let sep = if empty { "" } else { ", " };
        return Ok(Edit {
            start: close,
            end: close,
            text: format!("{sep}{}", render_flow(&value)?),
        });
    }
    let item = format!(
        "{}-{}",
        " ".repeat(sequence.column),
        render_after(&value, sequence.column + 2, true)?
    );
    Ok(append_block_line(text, sequence, item))
}

/// The edit that adds `line` after the last line of a block collection:
/// after any comment trailing that line, or, when the collection ends in a
/// `|+` block, after the block's trailing line breaks (they are its content).
fn append_block_line(text: &str, collection: &SpanNode, line: String) -> Edit {
    let last = last_descendant(collection);
    if let Shape::Scalar { keep: true, .. } = last.shape {
        let at = last.end.min(text.len());
        if text[..at].ends_with(['\n', '\r']) {
            return Edit {
                start: at,
                end: at,
                text: format!("{line}\n"),
            };
        }
    }
    let at = end_of_line(text, collection.trimmed_end(text));
    Edit {
        start: at,
        end: at,
        text: format!("\n{line}"),
    }
}

fn last_descendant(node: &SpanNode) -> &SpanNode {
    match &node.shape {
        Shape::Mapping { entries, .. } => entries.last().map_or(node, |(_, v)| last_descendant(v)),
        Shape::Sequence { items, .. } => items.last().map_or(node, last_descendant),
        Shape::Scalar { .. } => node,
    }
}

/// Where the line holding `at` ends (before its `\r` or `\n`, or at the
/// text end): a new block entry goes after any comment trailing the previous
/// one. YAML also ends lines at a lone `\r`.
fn end_of_line(text: &str, at: usize) -> usize {
    let at = at.min(text.len());
    text[at..].find(['\n', '\r']).map_or(text.len(), |i| at + i)
}

/// A value ready to write: secrets expanded, every string with its style.
#[derive(Clone, Debug)]
enum Out {
    Null,
    Bool(bool),
    Number(String),
    Str(String, StringStyle),
    Seq(Vec<Out>),
    Map(Vec<(String, StringStyle, Out)>),
}

impl Out {
    fn is_collection(&self) -> bool {
        matches!(self, Out::Seq(_) | Out::Map(_))
    }
}

fn lower(value: &EditValue) -> Out {
    match value {
        EditValue::Null => Out::Null,
        EditValue::Bool(b) => Out::Bool(*b),
        EditValue::Number(n) => Out::Number(n.clone()),
        EditValue::String(s) => Out::Str(s.clone(), StringStyle::Plain),
        EditValue::Styled(s, style) => Out::Str(s.clone(), *style),
        EditValue::Sequence(items) => Out::Seq(items.iter().map(lower).collect()),
        EditValue::Mapping(entries) => Out::Map(
            entries
                .iter()
                .map(|(k, v)| (k.clone(), StringStyle::Plain, lower(v)))
                .collect(),
        ),
        EditValue::StyledMapping(entries) => Out::Map(
            entries
                .iter()
                .map(|(k, style, v)| (k.clone(), *style, lower(v)))
                .collect(),
        ),
        EditValue::Secret(inner) => {
            let call =
                |name: &str, arg: Out| Out::Map(vec![(name.to_owned(), StringStyle::Plain, arg)]);
            match inner.as_ref() {
                EditValue::String(s) => call("fn::secret", Out::Str(s.clone(), StringStyle::Plain)),
                EditValue::Styled(s, style) => call("fn::secret", Out::Str(s.clone(), *style)),
                other => call(
                    "fn::fromJSON",
                    call(
                        "fn::secret",
                        Out::Str(compact_json(other), StringStyle::Plain),
                    ),
                ),
            }
        }
    }
}

fn render_root(value: &Out) -> Result<String, EditError> {
    match value {
        Out::Map(entries) if !entries.is_empty() => render_entries(entries, 0),
        Out::Seq(items) if !items.is_empty() => render_items(items, 0),
        other => render_flow(other),
    }
}

/// Text for after a `key:` or (`item`) a `-`: ` scalar`, ` {}`, a `|`
/// block, or block lines (on the `-` line for an item, as yaml.v3 writes
/// `- k: v`).
fn render_after(value: &Out, indent: usize, item: bool) -> Result<String, EditError> {
    let lines = match value {
        Out::Map(entries) if !entries.is_empty() => render_entries(entries, indent)?,
        Out::Seq(items) if !items.is_empty() => render_items(items, indent)?,
        Out::Str(s, style) => {
            return Ok(match literal_block(s, *style, indent) {
                Some(block) => format!(" {block}"),
                None => format!(" {}", string_text(s, *style)),
            });
        }
        other => return Ok(format!(" {}", render_flow(other)?)),
    };
    Ok(if item {
        format!(" {}", &lines[indent..])
    } else {
        format!("\n{lines}")
    })
}

fn render_entries(
    entries: &[(String, StringStyle, Out)],
    indent: usize,
) -> Result<String, EditError> {
    let pad = " ".repeat(indent);
    let mut lines = Vec::with_capacity(entries.len());
    for (key, style, value) in entries {
        lines.push(format!(
            "{pad}{}:{}",
            key_text(key, *style),
            render_after(value, indent + 2, false)?
        ));
    }
    Ok(lines.join("\n"))
}

fn render_items(items: &[Out], indent: usize) -> Result<String, EditError> {
    let pad = " ".repeat(indent);
    let mut lines = Vec::with_capacity(items.len());
    for item in items {
        lines.push(format!("{pad}-{}", render_after(item, indent + 2, true)?));
    }
    Ok(lines.join("\n"))
}

fn render_flow(value: &Out) -> Result<String, EditError> {
    Ok(match value {
        Out::Null => "null".to_owned(),
        Out::Bool(b) => b.to_string(),
        Out::Number(n) => number_text(n)?,
        Out::Str(s, style) => string_text(s, *style),
        Out::Seq(items) => {
            let items: Result<Vec<_>, _> = items.iter().map(render_flow).collect();
            format!("[{}]", items?.join(", "))
        }
        Out::Map(entries) => {
            let entries: Result<Vec<_>, EditError> = entries
                .iter()
                .map(|(k, style, v)| Ok(format!("{}: {}", key_text(k, *style), render_flow(v)?)))
                .collect();
            format!("{{{}}}", entries?.join(", "))
        }
    })
}

/// A string in `style`, on one line (flow context or a key).
fn string_text(s: &str, style: StringStyle) -> String {
    match style {
        StringStyle::Plain => scalar_text(s),
        StringStyle::SingleQuoted if !s.chars().any(char::is_control) => {
            format!("'{}'", s.replace('\'', "''"))
        }
        _ => double_quoted(s),
    }
}

fn key_text(key: &str, style: StringStyle) -> String {
    match style {
        StringStyle::Literal => double_quoted(key),
        other => string_text(key, other),
    }
}

/// `s` as a `|` block whose lines are indented by `indent`, when yaml.v3
/// would write one: a multi-line plain string or a literal, without
/// control characters, trailing spaces, leading spaces or several final
/// line breaks.
fn literal_block(s: &str, style: StringStyle, indent: usize) -> Option<String> {
    let wanted = match style {
        StringStyle::Literal => true,
        StringStyle::Plain => s.contains('\n'),
        _ => false,
    };
    if !wanted
        || s.is_empty()
        || s.starts_with([' ', '\n'])
        || s.ends_with("\n\n")
        || s.chars().any(|c| {
            c != '\n'
                && (c.is_control() || matches!(c, '\u{FEFF}' | '\u{2028}' | '\u{2029}' | '\u{85}'))
        })
        || s.contains(" \n")
        || s.ends_with(' ')
    {
        return None;
    }
    let (body, chomp) = match s.strip_suffix('\n') {
        Some(body) => (body, ""),
        None => (s, "-"),
    };
    let pad = " ".repeat(indent);
    let mut out = format!("|{chomp}");
    for line in body.split('\n') {
        out.push('\n');
        if !line.is_empty() {
            out.push_str(&pad);
            out.push_str(line);
        }
    }
    Some(out)
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
/// `'...'` when plain does not work but the text needs no escapes, and
/// `"..."` for text that reads as another type (`42`, `true`, `yes`, `1:20`)
/// or holds line breaks or unprintable characters: yaml.v3's choices.
pub(crate) fn scalar_text(s: &str) -> String {
    if is_plain_safe(s) {
        s.to_owned()
    } else if reads_as_non_string(s) || s.chars().any(|c| !yaml_printable(c) || c == '\n') {
        double_quoted(s)
    } else {
        format!("'{}'", s.replace('\'', "''"))
    }
}

/// Whether yaml.v3 would read `s` unquoted as something else than a string
/// (YAML 1.1 booleans and sexagesimal numbers included).
fn reads_as_non_string(s: &str) -> bool {
    const OLD_BOOLS: [&str; 16] = [
        "y", "Y", "yes", "Yes", "YES", "n", "N", "no", "No", "NO", "on", "On", "ON", "off", "Off",
        "OFF",
    ];
    !matches!(resolve_scalar(s, false, ScalarTag::None), Ok(None))
        || OLD_BOOLS.contains(&s)
        || is_base60_float(s)
}

/// `[-+]?[0-9][0-9_]*(:[0-5]?[0-9])+(\.[0-9_]*)?`
fn is_base60_float(s: &str) -> bool {
    let s = s.strip_prefix(['-', '+']).unwrap_or(s);
    let (whole, _fraction) = match s.split_once('.') {
        Some((w, f)) if f.chars().all(|c| c.is_ascii_digit() || c == '_') => (w, f),
        Some(_) => return false,
        None => (s, ""),
    };
    let mut parts = whole.split(':');
    let head = parts.next().unwrap_or_default();
    let head_ok = head.starts_with(|c: char| c.is_ascii_digit())
        && head.chars().all(|c| c.is_ascii_digit() || c == '_');
    let mut n_tail = 0;
    for part in parts {
        let ok = matches!(part.len(), 1 | 2)
            && part.chars().all(|c| c.is_ascii_digit())
            && (part.len() == 1 || part.as_bytes()[0] <= b'5');
        if !ok {
            return false;
        }
        n_tail += 1;
    }
    head_ok && n_tail > 0
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
    !reads_as_non_string(s)
}

/// `s` double-quoted with yaml.v3's escapes: the named ones (`\0 \a \b \t
/// \n \v \f \r \e \N \L \P`), then `\xXX`, `\uXXXX` or `\UXXXXXXXX`
/// (upper-case hex) for anything else that is not printable YAML.
fn double_quoted(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\0' => out.push_str("\\0"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\u{b}' => out.push_str("\\v"),
            '\u{c}' => out.push_str("\\f"),
            '\r' => out.push_str("\\r"),
            '\u{1b}' => out.push_str("\\e"),
            '\u{85}' => out.push_str("\\N"),
            '\u{2028}' => out.push_str("\\L"),
            '\u{2029}' => out.push_str("\\P"),
            c if !yaml_printable(c) => {
                let v = c as u32;
                if v <= 0xFF {
                    out.push_str(&format!("\\x{v:02X}"));
                } else if v <= 0xFFFF {
                    out.push_str(&format!("\\u{v:04X}"));
                } else {
                    out.push_str(&format!("\\U{v:08X}"));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// YAML's printable characters, less the byte order mark.
fn yaml_printable(c: char) -> bool {
    matches!(c, '\n' | '\u{20}'..='\u{7E}' | '\u{85}' | '\u{A0}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
        && c != '\u{FEFF}'
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
        EditValue::Styled(s, _) => write_json_string(s, out),
        EditValue::StyledMapping(entries) => {
            let plain = EditValue::Mapping(
                entries
                    .iter()
                    .map(|(k, _, v)| (k.clone(), v.clone()))
                    .collect(),
            );
            write_json(&plain, out);
        }
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
