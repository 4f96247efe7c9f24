//! Rewriting `fn::secret` values inside definition text, keeping the rest of
//! the user's text (formatting, comments) as it is.
//!
//! Temporary private helper on saphyr-parser spans until esc-syntax grows its
//! editing module (requested in `notes/syntax-requests.md`). Only secrets
//! under the top-level `values` key are touched (spec/API.md § 3.4).

use std::borrow::Cow;

use saphyr_parser::{Event, Parser, ScalarStyle, Span};

/// Why a definition's secrets could not be rewritten.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RewriteError {
    /// The YAML did not parse (validation should have caught it first).
    #[error("yaml: {0}")]
    Yaml(String),
    /// A secret is written in a form we cannot splice (e.g. a tagged scalar).
    #[error("line {line}: {reason}")]
    Unsupported {
        /// 1-based line of the secret.
        line: usize,
        /// What is not supported.
        reason: &'static str,
    },
    /// The replacement function failed (encryption or decryption); its text
    /// never contains secret material.
    #[error("line {line}: {reason}")]
    Replace {
        /// 1-based line of the secret.
        line: usize,
        /// What failed.
        reason: String,
    },
}

/// A parsed YAML node with byte spans into the text.
enum Node<'t> {
    Scalar {
        value: Cow<'t, str>,
        style: ScalarStyle,
        tagged: bool,
        start: usize,
        end: usize,
        line: usize,
    },
    Sequence(Vec<Node<'t>>),
    Mapping {
        entries: Vec<(Node<'t>, Node<'t>)>,
        start: usize,
    },
    Other,
}

/// Rewrites every `fn::secret: <plaintext>` under `values` into
/// `fn::secret: {ciphertext: <seal(plaintext)>}`. Returns the new text (the
/// same text when there is nothing to seal).
pub(crate) fn seal_plaintext_secrets(
    text: &str,
    mut seal: impl FnMut(&str) -> Result<String, String>,
) -> Result<String, RewriteError> {
    let Some(root) = parse(text)? else {
        return Ok(text.to_owned());
    };
    let mut edits = Vec::new();
    if let Some(values) = member(&root, "values") {
        collect_plaintext(text, values, &mut edits, &mut seal)?;
    }
    Ok(apply(text, edits))
}

/// Rewrites every `fn::secret: {ciphertext: X}` under `values` into
/// `fn::secret: "<open(X)>"` (a double-quoted JSON string).
pub(crate) fn open_ciphertext_secrets(
    text: &str,
    mut open: impl FnMut(&str) -> Result<String, String>,
) -> Result<String, RewriteError> {
    let Some(root) = parse(text)? else {
        return Ok(text.to_owned());
    };
    let mut edits = Vec::new();
    if let Some(values) = member(&root, "values") {
        collect_ciphertext(text, values, &mut edits, &mut open)?;
    }
    Ok(apply(text, edits))
}

/// Replaces the ciphertext of every `fn::secret: {ciphertext: X}` under
/// `values` with `reseal(X)`, touching nothing else (cloning into another
/// environment re-seals with its key).
pub(crate) fn reseal_ciphertexts(
    text: &str,
    mut reseal: impl FnMut(&str) -> Result<String, String>,
) -> Result<String, RewriteError> {
    let Some(root) = parse(text)? else {
        return Ok(text.to_owned());
    };
    let mut edits = Vec::new();
    if let Some(values) = member(&root, "values") {
        collect_resealed(values, &mut edits, &mut reseal)?;
    }
    Ok(apply(text, edits))
}

fn collect_resealed(
    node: &Node<'_>,
    edits: &mut Vec<Edit>,
    reseal: &mut impl FnMut(&str) -> Result<String, String>,
) -> Result<(), RewriteError> {
    if let Some(arg) = secret_argument(node) {
        if let Some(Node::Scalar {
            value,
            start,
            end,
            line,
            ..
        }) = member(arg, "ciphertext")
        {
            let replacement = reseal(value).map_err(|reason| RewriteError::Replace {
                line: *line,
                reason,
            })?;
            edits.push(Edit {
                start: *start,
                end: *end,
                replacement,
            });
        }
        return Ok(());
    }
    match node {
        Node::Sequence(items) => {
            for item in items {
                collect_resealed(item, edits, reseal)?;
            }
        }
        Node::Mapping { entries, .. } => {
            for (_, value) in entries {
                collect_resealed(value, edits, reseal)?;
            }
        }
        _ => {}
    }
    Ok(())
}

fn member<'a, 't>(node: &'a Node<'t>, key: &str) -> Option<&'a Node<'t>> {
    match node {
        Node::Mapping { entries, .. } => entries.iter().find_map(|(k, v)| match k {
            Node::Scalar { value, .. } if value == key => Some(v),
            _ => None,
        }),
        _ => None,
    }
}

/// The single `fn::secret` argument of a mapping that is exactly one entry.
fn secret_argument<'a, 't>(node: &'a Node<'t>) -> Option<&'a Node<'t>> {
    match node {
        Node::Mapping { entries, .. } if entries.len() == 1 => match &entries[0] {
            (Node::Scalar { value, .. }, arg) if value == "fn::secret" => Some(arg),
            _ => None,
        },
        _ => None,
    }
}

struct Edit {
    start: usize,
    end: usize,
    replacement: String,
}

/// The start of a block scalar's `|`/`>` header and the end of its last
/// line break, from saphyr's span of its content.
fn block_scalar_bounds(text: &str, start: usize, end: usize) -> Option<(usize, usize)> {
    let before = text.get(..start)?;
    let trimmed = before.trim_end_matches([' ', '\t', '\n', '\r']);
    let header = trimmed.trim_end_matches(|c: char| c == '-' || c == '+' || c.is_ascii_digit());
    let indicator = header.len().checked_sub(1)?;
    if !matches!(text.as_bytes().get(indicator), Some(b'|' | b'>')) {
        return None;
    }
    let body = text.get(start..end)?;
    let last_break = body.rfind('\n')?;
    Some((indicator, start + last_break + 1))
}

fn collect_plaintext(
    text: &str,
    node: &Node<'_>,
    edits: &mut Vec<Edit>,
    seal: &mut impl FnMut(&str) -> Result<String, String>,
) -> Result<(), RewriteError> {
    if let Some(arg) = secret_argument(node) {
        if let Node::Scalar {
            value,
            style,
            tagged,
            start,
            end,
            line,
        } = arg
        {
            if *tagged {
                return Err(RewriteError::Unsupported {
                    line: *line,
                    reason: "a tagged fn::secret value cannot be encrypted; remove the tag",
                });
            }
            if *style == ScalarStyle::Plain && is_plain_null(value) {
                return Ok(());
            }
            let ciphertext = seal(value).map_err(|reason| RewriteError::Replace {
                line: *line,
                reason,
            })?;
            let mut replacement = format!("{{ciphertext: {ciphertext}}}");
            let (mut cut_start, mut cut_end) = (*start, *end);
            if matches!(style, ScalarStyle::Literal | ScalarStyle::Folded) {
                // A block scalar's span starts at its content and runs into
                // the next line's indentation: cut from the `|`/`>` header to
                // the last line break, and keep that line break.
                let (header, body_end) =
                    block_scalar_bounds(text, *start, *end).ok_or(RewriteError::Unsupported {
                        line: *line,
                        reason: "this block scalar layout is not supported; use a quoted string",
                    })?;
                cut_start = header;
                cut_end = body_end;
                replacement.push('\n');
            }
            edits.push(Edit {
                start: cut_start,
                end: cut_end,
                replacement,
            });
        }
        return Ok(());
    }
    match node {
        Node::Sequence(items) => {
            for item in items {
                collect_plaintext(text, item, edits, seal)?;
            }
        }
        Node::Mapping { entries, .. } => {
            for (_, value) in entries {
                collect_plaintext(text, value, edits, seal)?;
            }
        }
        _ => {}
    }
    Ok(())
}

fn collect_ciphertext(
    text: &str,
    node: &Node<'_>,
    edits: &mut Vec<Edit>,
    open: &mut impl FnMut(&str) -> Result<String, String>,
) -> Result<(), RewriteError> {
    if let Some(arg) = secret_argument(node) {
        if let (
            Node::Mapping { entries, start, .. },
            Some(Node::Scalar {
                value,
                end: scalar_end,
                line,
                ..
            }),
        ) = (arg, member(arg, "ciphertext"))
            && entries.len() == 1
        {
            let plaintext = open(value).map_err(|reason| RewriteError::Replace {
                line: *line,
                reason,
            })?;
            let quoted = yaml_double_quoted(&plaintext);
            // A flow mapping ends at its `}`; a block mapping at its value.
            let flow = text.as_bytes().get(*start) == Some(&b'{');
            let cut_end = if flow {
                let rest = text.get(*scalar_end..).unwrap_or("");
                let skipped =
                    rest.len() - rest.trim_start_matches([' ', '\t', '\r', '\n', ',']).len();
                if !rest[skipped..].starts_with('}') {
                    return Err(RewriteError::Unsupported {
                        line: *line,
                        reason: "unexpected text after a ciphertext",
                    });
                }
                scalar_end + skipped + 1
            } else {
                *scalar_end
            };
            edits.push(Edit {
                start: *start,
                end: cut_end,
                replacement: quoted,
            });
        }
        return Ok(());
    }
    match node {
        Node::Sequence(items) => {
            for item in items {
                collect_ciphertext(text, item, edits, open)?;
            }
        }
        Node::Mapping { entries, .. } => {
            for (_, value) in entries {
                collect_ciphertext(text, value, edits, open)?;
            }
        }
        _ => {}
    }
    Ok(())
}

/// A YAML double-quoted scalar holding exactly `text`.
fn yaml_double_quoted(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn is_plain_null(value: &str) -> bool {
    matches!(value, "" | "~" | "null" | "Null" | "NULL")
}

fn apply(text: &str, mut edits: Vec<Edit>) -> String {
    if edits.is_empty() {
        return text.to_owned();
    }
    edits.sort_by_key(|edit| edit.start);
    let mut out = String::with_capacity(text.len() + edits.len() * 64);
    let mut cursor = 0;
    for edit in edits {
        if edit.start < cursor || edit.end > text.len() || edit.start > edit.end {
            // overlapping or out-of-range edits cannot come from one tree
            continue;
        }
        out.push_str(&text[cursor..edit.start]);
        out.push_str(&edit.replacement);
        cursor = edit.end;
    }
    out.push_str(&text[cursor..]);
    out
}

/// Parses the first document into a span-carrying tree; `None` when empty.
fn parse(text: &str) -> Result<Option<Node<'_>>, RewriteError> {
    let offsets = CharOffsets::new(text);
    let mut parser = Parser::new_from_str(text);
    let mut stack: Vec<Frame<'_>> = Vec::new();
    loop {
        let Some(next) = parser.next_event() else {
            return Ok(None);
        };
        let (event, span) = next.map_err(|error| RewriteError::Yaml(error.to_string()))?;
        let node = match event {
            Event::StreamEnd | Event::DocumentEnd => return Ok(None),
            Event::Scalar(value, style, _, tag) => {
                let (start, end) = offsets.span(&span);
                Some(Node::Scalar {
                    value,
                    style,
                    tagged: tag.is_some(),
                    start,
                    end,
                    line: span.start.line(),
                })
            }
            Event::SequenceStart(..) => {
                stack.push(Frame::Sequence(Vec::new()));
                None
            }
            Event::MappingStart(..) => {
                let (start, _) = offsets.span(&span);
                stack.push(Frame::Mapping {
                    entries: Vec::new(),
                    pending_key: None,
                    start,
                });
                None
            }
            Event::SequenceEnd => match stack.pop() {
                Some(Frame::Sequence(items)) => Some(Node::Sequence(items)),
                _ => return Err(RewriteError::Yaml("unbalanced sequence".into())),
            },
            Event::MappingEnd => match stack.pop() {
                Some(Frame::Mapping { entries, start, .. }) => {
                    Some(Node::Mapping { entries, start })
                }
                _ => return Err(RewriteError::Yaml("unbalanced mapping".into())),
            },
            Event::Alias(_) => Some(Node::Other),
            Event::StreamStart | Event::DocumentStart(_) | Event::Nothing => None,
        };
        let Some(node) = node else { continue };
        match stack.last_mut() {
            None => return Ok(Some(node)),
            Some(Frame::Sequence(items)) => items.push(node),
            Some(Frame::Mapping {
                entries,
                pending_key,
                ..
            }) => match pending_key.take() {
                None => *pending_key = Some(node),
                Some(key) => entries.push((key, node)),
            },
        }
    }
}

enum Frame<'t> {
    Sequence(Vec<Node<'t>>),
    Mapping {
        entries: Vec<(Node<'t>, Node<'t>)>,
        pending_key: Option<Node<'t>>,
        start: usize,
    },
}

/// saphyr markers count characters; edits need byte offsets.
struct CharOffsets {
    /// Byte offset of each char index (plus the end).
    bytes: Vec<usize>,
}

impl CharOffsets {
    fn new(text: &str) -> Self {
        let mut bytes: Vec<usize> = text.char_indices().map(|(offset, _)| offset).collect();
        bytes.push(text.len());
        Self { bytes }
    }

    fn byte(&self, char_index: usize) -> usize {
        self.bytes
            .get(char_index)
            .copied()
            .unwrap_or_else(|| self.bytes.last().copied().unwrap_or(0))
    }

    fn span(&self, span: &Span) -> (usize, usize) {
        (self.byte(span.start.index()), self.byte(span.end.index()))
    }
}

#[cfg(test)]
mod tests;
