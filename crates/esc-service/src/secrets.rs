//! Re-sealing `fn::secret` ciphertexts in place (cloning into another
//! environment), keeping every other byte of the user's text. Sealing and
//! revealing secrets use `esc_syntax::edit`; this one edit is not there.
//! Only secrets under the top-level `values` key are touched.

use std::borrow::Cow;

use saphyr_parser::{Event, Parser, Span};

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
        tagged: bool,
        start: usize,
        end: usize,
        line: usize,
    },
    Sequence(Vec<Node<'t>>),
    Mapping {
        entries: Vec<(Node<'t>, Node<'t>)>,
    },
    Other,
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
            tagged,
            start,
            end,
            line,
        }) = member(arg, "ciphertext")
        {
            if *tagged {
                // saphyr gives tagged scalars an empty span: nothing to splice
                return Err(RewriteError::Unsupported {
                    line: *line,
                    reason: "a tagged ciphertext cannot be re-sealed; remove the tag",
                });
            }
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

/// Where the documents after the first begin in `text`: their byte offset
/// and 1-based line, or `None` when there is one document or none. Only
/// the first is ever evaluated (LANGUAGE.md §1), and only its secrets are
/// sealed, so what follows is not stored.
pub(crate) fn later_documents(text: &str) -> Result<Option<(usize, usize)>, RewriteError> {
    let mut parser = Parser::new_from_str(text);
    let mut ended_first = false;
    while let Some(next) = parser.next_event() {
        let (event, span) = next.map_err(|error| RewriteError::Yaml(error.to_string()))?;
        match event {
            Event::DocumentEnd => ended_first = true,
            Event::DocumentStart(_) if ended_first => {
                let (start, _) = CharOffsets::new(text).span(&span);
                return Ok(Some((start, span.start.line())));
            }
            Event::StreamEnd => return Ok(None),
            _ => {}
        }
    }
    Ok(None)
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
            Event::Scalar(value, _, _, tag) => {
                let (start, end) = offsets.span(&span);
                Some(Node::Scalar {
                    value,
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
                stack.push(Frame::Mapping {
                    entries: Vec::new(),
                    pending_key: None,
                });
                None
            }
            Event::SequenceEnd => match stack.pop() {
                Some(Frame::Sequence(items)) => Some(Node::Sequence(items)),
                _ => return Err(RewriteError::Yaml("unbalanced sequence".into())),
            },
            Event::MappingEnd => match stack.pop() {
                Some(Frame::Mapping { entries, .. }) => Some(Node::Mapping { entries }),
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
