//! Re-emitting a YAML document the way Go's yaml.v3 does after
//! `yaml.Unmarshal` into a `yaml.Node` and `yaml.Encoder` with an indent
//! (spec/CLI.md § 6.8): `esc env get` and `env diff` show definitions this
//! way (two spaces), and the reference's test backend stores them this way
//! (`yaml.Marshal`, four spaces).
//!
//! Two halves:
//!
//! * the document is read into a node tree that keeps what yaml.v3's `Node`
//!   keeps: scalar text as written (not resolved), quoting and block styles,
//!   flow or block collections, explicit tags, and comments attached as
//!   head, line and foot comments by yaml.v3's rules for the usual layouts
//!   (comment lines before an entry are its head comment; a comment after a
//!   value on the same line is that value's line comment, after a key whose
//!   value starts on the next line the key's; comment lines right after an
//!   entry and followed by a blank line are its foot comment; comments
//!   before the document's last blank line at the top, and after its last
//!   blank line at the end, belong to the document and are not emitted);
//! * the tree becomes yaml.v3's encoder events (`encode.go`, `node`), which
//!   run through a port of its emitter's state machine (`emitterc.go`) with
//!   no line width limit (yaml.v3 never folds long lines).
//!
//! Not kept, as in yaml.v3: blank lines, document markers, and the text of
//! plain multi-line scalars (folded to one line).

use saphyr_parser::{Event, Parser, ScalarStyle as SaphyrStyle, Tag};

use crate::edit::PathSegment;
use crate::source::SourceIndex;

/// Why a document could not be re-emitted.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EmitError {
    /// The text is not valid YAML.
    #[error("yaml: line {line}: {message}")]
    Syntax {
        /// 1-based line of the problem.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// An alias (ESC never supports them).
    #[error("alias nodes are not supported")]
    Alias,
    /// Collections nested deeper than [`MAX_DEPTH`].
    #[error("document nesting is too deep (the limit is {MAX_DEPTH})")]
    TooDeep,
}

/// Deepest collection nesting accepted (the parser's limit as well).
pub const MAX_DEPTH: usize = 64;

/// Re-emits the first document of `text` as yaml.v3 does with `indent`
/// spaces (2..=9; others become 2, as in yaml.v3). Empty text (or text with
/// no node) gives an empty string.
pub fn reemit(text: &str, indent: usize) -> Result<String, EmitError> {
    Ok(EmitDocument::parse(text)?.emit(indent))
}

/// A parsed document ready to be emitted whole or in parts.
#[derive(Clone, Debug)]
pub struct EmitDocument {
    nodes: Vec<ENode>,
    root: Option<usize>,
    /// Comments of the document node itself, which `esc` never emits (it
    /// encodes the document's content, `docNode.Content[0]`).
    document: DocumentComments,
}

impl EmitDocument {
    /// Reads `text` (its first document) into a node tree with comments.
    pub fn parse(text: &str) -> Result<EmitDocument, EmitError> {
        let mut builder = Builder {
            index: SourceIndex::new(text),
            text,
            parser: Parser::new_from_str(text),
            nodes: Vec::new(),
            entries: Vec::new(),
            scalars: Vec::new(),
        };
        let root = builder.document()?;
        let Builder {
            mut nodes,
            entries,
            scalars,
            ..
        } = builder;
        let document = match root {
            Some(root) => attach_comments(text, &mut nodes, root, &entries, &scalars),
            None => DocumentComments::default(),
        };
        Ok(EmitDocument {
            nodes,
            root,
            document,
        })
    }

    /// Whether the document has no node.
    pub fn is_empty(&self) -> bool {
        self.root.is_none()
    }

    /// The whole document (its root node), `indent` spaces per level.
    pub fn emit(&self, indent: usize) -> String {
        match self.root {
            Some(root) => self.emit_node(root, indent),
            None => String::new(),
        }
    }

    /// The node at `path` (mapping keys and sequence indexes from the root),
    /// emitted on its own; `None` when the path does not exist.
    pub fn emit_at(&self, path: &[PathSegment], indent: usize) -> Option<String> {
        let mut id = self.root?;
        for segment in path {
            id = match (&self.nodes[id].kind, segment) {
                (EKind::Map { entries, .. }, PathSegment::Key(key)) => entries
                    .iter()
                    .find(|(k, _)| {
                        matches!(&self.nodes[*k].kind, EKind::Scalar { value, .. } if value == key)
                    })
                    .map(|(_, v)| *v)?,
                (EKind::Seq { items, .. }, PathSegment::Index(i)) => *items.get(*i)?,
                _ => return None,
            };
        }
        Some(self.emit_node(id, indent))
    }

    /// The whole document node, its own head and foot comments included
    /// (yaml.v3's `Encoder.Encode` of the `DocumentNode`); [`Self::emit`]
    /// encodes only its content, as `esc` does.
    pub fn emit_document(&self, indent: usize) -> String {
        let Some(root) = self.root else {
            return String::new();
        };
        let mut events = vec![
            Ev::new(EvKind::StreamStart),
            Ev {
                head: self.document.head.clone(),
                ..Ev::new(EvKind::DocumentStart)
            },
        ];
        self.events(root, String::new(), &mut events);
        events.push(Ev {
            foot: self.document.foot.clone(),
            ..Ev::new(EvKind::DocumentEnd)
        });
        Emitter::new(&events, indent).run()
    }

    fn emit_node(&self, id: usize, indent: usize) -> String {
        let mut events = vec![Ev::new(EvKind::StreamStart), Ev::new(EvKind::DocumentStart)];
        self.events(id, String::new(), &mut events);
        // No stream end: the CLI's `Encoder.Encode` is never closed, and
        // `yaml.Marshal` clears `open_ended` first; either way no `...`.
        events.push(Ev::new(EvKind::DocumentEnd));
        Emitter::new(&events, indent).run()
    }

    /// yaml.v3 `encoder.node`: the events of one node.
    fn events(&self, id: usize, tail: String, out: &mut Vec<Ev>) {
        let node = &self.nodes[id];
        match &node.kind {
            EKind::Scalar { value, style } => {
                let style = match style {
                    Style::Plain if value.contains('\n') => Style::Literal,
                    other => *other,
                };
                out.push(Ev {
                    kind: EvKind::Scalar {
                        value: value.clone(),
                        style,
                    },
                    tag: node.tag.clone(),
                    anchor: node.anchor.clone(),
                    head: node.head.clone(),
                    line: node.line.clone(),
                    foot: node.foot.clone(),
                    tail,
                });
            }
            EKind::Seq { flow, items } => {
                out.push(Ev {
                    head: node.head.clone(),
                    tag: node.tag.clone(),
                    anchor: node.anchor.clone(),
                    ..Ev::new(EvKind::SequenceStart { flow: *flow })
                });
                for item in items {
                    self.events(*item, String::new(), out);
                }
                out.push(Ev {
                    line: node.line.clone(),
                    foot: node.foot.clone(),
                    ..Ev::new(EvKind::SequenceEnd)
                });
            }
            EKind::Map { flow, entries } => {
                out.push(Ev {
                    head: node.head.clone(),
                    tail,
                    tag: node.tag.clone(),
                    anchor: node.anchor.clone(),
                    ..Ev::new(EvKind::MappingStart { flow: *flow })
                });
                // A key's foot comment is written before the next key (or
                // at the mapping's end), after the whole value.
                let mut tail = String::new();
                for (k, v) in entries {
                    let start = out.len();
                    self.events(*k, std::mem::take(&mut tail), out);
                    if let Some(key_event) = out.get_mut(start) {
                        tail = std::mem::take(&mut key_event.foot);
                    }
                    self.events(*v, String::new(), out);
                }
                out.push(Ev {
                    tail,
                    line: node.line.clone(),
                    foot: node.foot.clone(),
                    ..Ev::new(EvKind::MappingEnd)
                });
            }
        }
    }
}

/// How a scalar is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Style {
    Plain,
    SingleQuoted,
    DoubleQuoted,
    Literal,
    Folded,
}

#[derive(Clone, Debug)]
enum EKind {
    Scalar {
        value: String,
        style: Style,
    },
    Seq {
        flow: bool,
        items: Vec<usize>,
    },
    Map {
        flow: bool,
        entries: Vec<(usize, usize)>,
    },
}

#[derive(Clone, Debug)]
struct ENode {
    kind: EKind,
    /// Explicit tag in long form (`tag:yaml.org,2002:str`, `!foo`).
    tag: Option<String>,
    /// Anchor name (`&name`).
    anchor: Option<String>,
    /// Byte range in the text (flow collections up to their closing bracket).
    start: usize,
    end: usize,
    depth: usize,
    head: String,
    line: String,
    foot: String,
}

/// A mapping entry (its key) or sequence item, for comment attachment.
#[derive(Clone, Copy, Debug)]
struct Entry {
    /// The key or item node that takes the entry's comments.
    target: usize,
    /// Where the entry starts: the key, or a block item's `-`.
    start: usize,
    /// Where its value ends.
    end: usize,
}

struct Builder<'t> {
    index: SourceIndex<'t>,
    text: &'t str,
    parser: Parser<'t, saphyr_parser::StrInput<'t>>,
    nodes: Vec<ENode>,
    entries: Vec<Entry>,
    /// Byte ranges of scalars (a `#` inside is not a comment).
    scalars: Vec<(usize, usize)>,
}

impl<'t> Builder<'t> {
    fn document(&mut self) -> Result<Option<usize>, EmitError> {
        loop {
            match self.next()? {
                None => return Ok(None),
                Some((Event::DocumentStart(_), ..)) => break,
                Some((Event::StreamEnd, ..)) => return Ok(None),
                Some(_) => {}
            }
        }
        match self.next()? {
            Some((Event::DocumentEnd | Event::StreamEnd, ..)) | None => Ok(None),
            Some((event, start, end)) => self.node(event, start, end, 0).map(Some),
        }
    }

    /// The next event with its byte range.
    fn next(&mut self) -> Result<Option<(Event<'t>, usize, usize)>, EmitError> {
        match self.parser.next_event() {
            None => Ok(None),
            Some(Ok((event, span))) => Ok(Some((
                event,
                self.index.byte_of_char(span.start.index()),
                self.index.byte_of_char(span.end.index()),
            ))),
            Some(Err(err)) => Err(EmitError::Syntax {
                line: err.marker().line(),
                message: err.info().to_owned(),
            }),
        }
    }

    fn next_required(&mut self) -> Result<(Event<'t>, usize, usize), EmitError> {
        self.next()?.ok_or_else(|| EmitError::Syntax {
            line: 0,
            message: "unexpected end of stream".into(),
        })
    }

    fn push(&mut self, kind: EKind, tag: Option<String>, start: usize, depth: usize) -> usize {
        let (anchor, _) = self.properties(start);
        self.nodes.push(ENode {
            kind,
            tag,
            anchor,
            start,
            end: start,
            depth,
            head: String::new(),
            line: String::new(),
            foot: String::new(),
        });
        self.nodes.len() - 1
    }

    fn node(
        &mut self,
        event: Event<'t>,
        start: usize,
        end: usize,
        depth: usize,
    ) -> Result<usize, EmitError> {
        match event {
            Event::Scalar(value, style, _, tag) => {
                let style = match style {
                    SaphyrStyle::Plain => Style::Plain,
                    SaphyrStyle::SingleQuoted => Style::SingleQuoted,
                    SaphyrStyle::DoubleQuoted => Style::DoubleQuoted,
                    SaphyrStyle::Literal => Style::Literal,
                    SaphyrStyle::Folded => Style::Folded,
                };
                // saphyr's span of a quoted scalar runs on over a comment
                // that follows it on the line: end at the closing quote.
                let end = match style {
                    Style::SingleQuoted | Style::DoubleQuoted => {
                        self.closing_quote(start, end).unwrap_or(end)
                    }
                    _ => end,
                };
                let id = self.push(
                    EKind::Scalar {
                        value: value.into_owned(),
                        style,
                    },
                    tag.as_deref().and_then(long_tag),
                    start,
                    depth,
                );
                self.nodes[id].end = end;
                self.scalars.push((start, end));
                Ok(id)
            }
            Event::SequenceStart(_, tag) => {
                if depth >= MAX_DEPTH {
                    return Err(EmitError::TooDeep);
                }
                let (_, content) = self.properties(start);
                let flow = self.text.as_bytes().get(content) == Some(&b'[');
                let id = self.push(
                    EKind::Seq {
                        flow,
                        items: Vec::new(),
                    },
                    tag.as_deref().and_then(long_tag),
                    start,
                    depth,
                );
                let mut items = Vec::new();
                let mut last_end = start;
                loop {
                    let (event, s, e) = self.next_required()?;
                    if event == Event::SequenceEnd {
                        last_end = if flow {
                            self.closing(s, b']')
                        } else {
                            last_end
                        };
                        break;
                    }
                    let item = self.node(event, s, e, depth + 1)?;
                    let item_start = self.nodes[item].start;
                    let entry_start = if flow {
                        item_start
                    } else if items.is_empty() && self.text.as_bytes().get(content) == Some(&b'-') {
                        // saphyr starts a block sequence at its first `-`
                        content
                    } else {
                        self.dash_before(item_start)
                    };
                    last_end = self.nodes[item].end;
                    self.entries.push(Entry {
                        target: item,
                        start: entry_start,
                        end: last_end,
                    });
                    items.push(item);
                }
                self.nodes[id].kind = EKind::Seq { flow, items };
                self.nodes[id].end = last_end;
                Ok(id)
            }
            Event::MappingStart(_, tag) => {
                if depth >= MAX_DEPTH {
                    return Err(EmitError::TooDeep);
                }
                let (_, content) = self.properties(start);
                let flow = self.text.as_bytes().get(content) == Some(&b'{');
                let id = self.push(
                    EKind::Map {
                        flow,
                        entries: Vec::new(),
                    },
                    tag.as_deref().and_then(long_tag),
                    start,
                    depth,
                );
                let mut entries = Vec::new();
                let mut last_end = start;
                loop {
                    let (event, s, e) = self.next_required()?;
                    if event == Event::MappingEnd {
                        last_end = if flow {
                            self.closing(s, b'}')
                        } else {
                            last_end
                        };
                        break;
                    }
                    let key = self.node(event, s, e, depth + 1)?;
                    let (event, s, e) = self.next_required()?;
                    let value = self.node(event, s, e, depth + 1)?;
                    last_end = self.nodes[value].end.max(self.nodes[key].end);
                    self.entries.push(Entry {
                        target: key,
                        start: self.nodes[key].start,
                        end: last_end,
                    });
                    entries.push((key, value));
                }
                self.nodes[id].kind = EKind::Map { flow, entries };
                self.nodes[id].end = last_end;
                Ok(id)
            }
            Event::Alias(_) => Err(EmitError::Alias),
            _ => Err(EmitError::Syntax {
                line: self.index.line_column_of_byte(start).0 as usize,
                message: "did not find expected node content".into(),
            }),
        }
    }

    /// The byte after the closing quote of the quoted scalar whose opening
    /// quote is the first quote at or after `start` (before `limit`).
    fn closing_quote(&self, start: usize, limit: usize) -> Option<usize> {
        let bytes = self.text.as_bytes().get(..limit)?;
        let open = start
            + bytes
                .get(start..)?
                .iter()
                .position(|&b| b == b'"' || b == b'\'')?;
        let quote = bytes[open];
        let mut i = open + 1;
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

    /// The anchor name among the node properties (`&anchor`, `!tag`) that
    /// saphyr's span of a node starts with, and where its content starts.
    fn properties(&self, start: usize) -> (Option<String>, usize) {
        let bytes = self.text.as_bytes();
        let token_end = |mut i: usize| {
            while i < bytes.len() && !matches!(bytes[i], b' ' | b'\t' | b'\r' | b'\n') {
                i += 1;
            }
            i
        };
        let (mut i, mut anchor, mut seen) = (start, None, false);
        loop {
            match bytes.get(i) {
                Some(b'&') => {
                    let end = token_end(i + 1);
                    anchor = Some(self.text[i + 1..end].to_owned());
                    (i, seen) = (end, true);
                }
                Some(b'!') => (i, seen) = (token_end(i + 1), true),
                Some(b' ' | b'\t' | b'\r' | b'\n') if seen => i += 1,
                _ => return (anchor, if seen { i } else { start }),
            }
        }
    }

    /// The byte after a flow collection's closing `bracket`, searched from
    /// saphyr's end event at `from` (which may sit before a trailing comma
    /// or comment).
    fn closing(&self, from: usize, bracket: u8) -> usize {
        let bytes = self.text.as_bytes();
        let mut i = from;
        while i < bytes.len() {
            match bytes[i] {
                b if b == bracket => return i + 1,
                b' ' | b'\t' | b'\r' | b'\n' | b',' => i += 1,
                b'#' => {
                    while i < bytes.len() && bytes[i] != b'\n' {
                        i += 1;
                    }
                }
                _ => break,
            }
        }
        from + 1
    }

    /// A block sequence item's `-` before `start`, over blank and comment
    /// lines (else `start`).
    fn dash_before(&self, start: usize) -> usize {
        let mut end = start.min(self.text.len());
        loop {
            let line_start = self.text[..end].rfind('\n').map_or(0, |n| n + 1);
            let segment = &self.text[line_start..end];
            let content = match segment
                .char_indices()
                .find(|&(i, c)| c == '#' && (i == 0 || segment[..i].ends_with([' ', '\t'])))
            {
                Some((i, _)) => &segment[..i],
                None => segment,
            };
            let trimmed = content.trim_end();
            if trimmed.trim_start() == "-" || trimmed.ends_with(" -") || trimmed.ends_with("\t-") {
                return line_start + trimmed.len() - 1;
            }
            if !trimmed.trim_start().is_empty() || line_start == 0 {
                return start;
            }
            end = line_start - 1;
        }
    }
}

/// A saphyr tag in yaml.v3's long form; `None` for the non-specific `!`.
fn long_tag(tag: &Tag) -> Option<String> {
    if tag.handle == "!" && tag.suffix.is_empty() {
        None
    } else {
        Some(format!("{}{}", tag.handle, tag.suffix))
    }
}

/// One line of the text, for comment attachment.
#[derive(Clone, Debug)]
enum LineKind {
    Blank,
    /// Only a comment, at this byte column.
    Comment {
        text: String,
        column: usize,
    },
    /// Content, possibly followed by a comment at byte offset `at`.
    Content {
        comment: Option<(usize, String)>,
    },
}

/// Attaches comments to nodes the way yaml.v3's parser does for the
/// layouts described in the module documentation.
fn attach_comments(
    text: &str,
    nodes: &mut [ENode],
    root: usize,
    entries: &[Entry],
    scalars: &[(usize, usize)],
) -> DocumentComments {
    let mut document = DocumentComments::default();
    // Scalars come in document order and do not overlap.
    let covered = |at: usize| {
        let after = scalars.partition_point(|&(s, _)| s <= at);
        after > 0 && at < scalars[after - 1].1
    };
    let index = EntryIndex::new(entries);
    let mut lines = Vec::new();
    let mut offset = 0;
    for raw in text.split('\n') {
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        let bytes = line.as_bytes();
        let mut comment_at = None;
        for (i, &b) in bytes.iter().enumerate() {
            if b == b'#' && (i == 0 || matches!(bytes[i - 1], b' ' | b'\t')) && !covered(offset + i)
            {
                comment_at = Some(i);
                break;
            }
        }
        let before = &line[..comment_at.unwrap_or(line.len())];
        let kind = match comment_at {
            _ if !before.trim().is_empty() => LineKind::Content {
                comment: comment_at.map(|i| (offset + i, line[i..].trim_end().to_owned())),
            },
            Some(i) => LineKind::Comment {
                text: line[i..].trim_end().to_owned(),
                column: i,
            },
            None if line.trim().is_empty() && !covered(offset) => LineKind::Blank,
            None => LineKind::Content { comment: None },
        };
        lines.push((offset, kind));
        offset += raw.len() + 1;
    }

    // Line comments: to the node ending last before the comment on its line
    // (innermost on a tie: a scalar rather than the block collection it ends).
    let line_starts: Vec<usize> = lines.iter().map(|(offset, _)| *offset).collect();
    let mut last_on_line: Vec<Option<usize>> = vec![None; lines.len()];
    for (id, node) in nodes.iter().enumerate() {
        if node.end == 0 {
            continue;
        }
        let line = line_starts.partition_point(|&start| start < node.end) - 1;
        let better = match last_on_line[line] {
            None => true,
            Some(other) => (node.end, node.depth) > (nodes[other].end, nodes[other].depth),
        };
        if better {
            last_on_line[line] = Some(id);
        }
    }
    for (line, (_, kind)) in lines.iter().enumerate() {
        let LineKind::Content {
            comment: Some((at, comment)),
        } = kind
        else {
            continue;
        };
        match last_on_line[line].filter(|&id| nodes[id].end <= *at) {
            Some(id) => nodes[id].line = comment.clone(),
            // `- # c` before a nested block: the head of what follows.
            None => {
                if let Some(id) = index.after(*at) {
                    append(&mut nodes[id].head, comment);
                }
            }
        }
    }

    // Runs of comment and blank lines between content.
    let mut i = 0;
    while i < lines.len() {
        if matches!(lines[i].1, LineKind::Content { .. }) {
            i += 1;
            continue;
        }
        let first = i;
        while i < lines.len() && !matches!(lines[i].1, LineKind::Content { .. }) {
            i += 1;
        }
        let run = &lines[first..i];
        if !run
            .iter()
            .any(|(_, k)| matches!(k, LineKind::Comment { .. }))
        {
            continue;
        }
        let has_prev = first > 0;
        let next_start = lines.get(i).map(|(offset, _)| {
            let text_line = &text[*offset..];
            offset + (text_line.len() - text_line.trim_start().len())
        });
        let cx = RunContext {
            text,
            root,
            entries: &index,
            has_prev,
            run_start: run[0].0,
            next_start,
        };
        attach_run(nodes, &mut document, run, &cx);
    }
    document
}

/// Where one run of comment and blank lines sits.
struct RunContext<'a> {
    text: &'a str,
    root: usize,
    entries: &'a EntryIndex<'a>,
    /// Whether content precedes the run.
    has_prev: bool,
    /// Byte offset of the run's first line.
    run_start: usize,
    /// Byte offset of the first non-blank character after the run.
    next_start: Option<usize>,
}

impl RunContext<'_> {
    fn column_of(&self, at: usize) -> usize {
        at - self.text[..at].rfind('\n').map_or(0, |n| n + 1)
    }
}

/// Attach one run of comment/blank lines (see [`attach_comments`]);
/// document head and foot comments go to `document`.
fn attach_run(
    nodes: &mut [ENode],
    document: &mut DocumentComments,
    run: &[(usize, LineKind)],
    cx: &RunContext<'_>,
) {
    let column = |k: &LineKind| match k {
        LineKind::Comment { column, .. } => *column,
        _ => 0,
    };
    // The foot part: comment lines right after the previous content, up to
    // a blank line, when a blank line (or the end) follows them; else those
    // indented deeper than the next content.
    let lead = run
        .iter()
        .take_while(|(_, k)| matches!(k, LineKind::Comment { .. }))
        .count();
    let foot_lines = match cx.next_start {
        _ if !cx.has_prev => 0,
        None => lead,
        Some(_) if lead < run.len() => lead,
        Some(next) => {
            let next_column = cx.column_of(next);
            run[..lead]
                .iter()
                .take_while(|(_, k)| column(k) > next_column)
                .count()
        }
    };
    // Each group of foot lines at one indentation belongs to the entry that
    // ends last before the run and is not indented deeper than the group
    // (innermost on a tie).
    // Lines that close nothing (a key whose value follows) are not feet: they
    // head what follows.
    let root_closed = nodes[cx.root].end <= cx.run_start;
    let mut i = 0;
    while i < foot_lines {
        let group_column = column(&run[i].1);
        let mut j = i;
        while j < foot_lines && column(&run[j].1) == group_column {
            j += 1;
        }
        let target = cx.entries.closing(
            cx.run_start,
            |e| cx.column_of(e.start) <= group_column,
            |e| cx.column_of(e.start),
        );
        let target = match target {
            Some(target) => target,
            None if root_closed => cx.root,
            None => break,
        };
        append(&mut nodes[target].foot, &comment_text(&run[i..j]));
        i = j;
    }
    let mut rest = &run[i..];
    let Some(next) = cx.next_start else {
        append(&mut document.foot, &comment_text(rest));
        return;
    };
    // Before any content, lines up to the last blank line are the
    // document's head comment.
    if !cx.has_prev
        && let Some(last_blank) = rest.iter().rposition(|(_, k)| matches!(k, LineKind::Blank))
    {
        append(&mut document.head, &comment_text(&rest[..last_blank]));
        rest = &rest[last_blank + 1..];
    }
    let head = comment_text(rest);
    if head.is_empty() {
        return;
    }
    let target = match cx.entries.at(next) {
        Some(target) => target,
        // At the top: the root's head comment.
        None if !cx.has_prev => cx.root,
        // Before something that takes no comment here: dropped.
        None => return,
    };
    append(&mut nodes[target].head, &head);
}

/// Entries sorted for the look-ups of comment attachment.
struct EntryIndex<'a> {
    entries: &'a [Entry],
    /// Indexes by start (stable: document order among equal starts).
    by_start: Vec<usize>,
    /// Indexes by end (stable).
    by_end: Vec<usize>,
}

impl<'a> EntryIndex<'a> {
    fn new(entries: &'a [Entry]) -> Self {
        let mut by_start: Vec<usize> = (0..entries.len()).collect();
        by_start.sort_by_key(|&i| entries[i].start);
        let mut by_end: Vec<usize> = (0..entries.len()).collect();
        by_end.sort_by_key(|&i| entries[i].end);
        EntryIndex {
            entries,
            by_start,
            by_end,
        }
    }

    /// The first entry starting at `at` (the innermost when several do).
    fn at(&self, at: usize) -> Option<usize> {
        let i = self
            .by_start
            .partition_point(|&i| self.entries[i].start < at);
        let e = &self.entries[*self.by_start.get(i)?];
        (e.start == at).then_some(e.target)
    }

    /// The first entry starting after `at`.
    fn after(&self, at: usize) -> Option<usize> {
        let i = self
            .by_start
            .partition_point(|&i| self.entries[i].start <= at);
        self.by_start.get(i).map(|&i| self.entries[i].target)
    }

    /// Among the entries ending at or before `at` that `fits`, the one
    /// ending last, then with the greatest `rank` (the last such in
    /// document order on a full tie).
    fn closing(
        &self,
        at: usize,
        fits: impl Fn(&Entry) -> bool,
        rank: impl Fn(&Entry) -> usize,
    ) -> Option<usize> {
        let upto = self.by_end.partition_point(|&i| self.entries[i].end <= at);
        let mut best: Option<&Entry> = None;
        for &i in self.by_end[..upto].iter().rev() {
            let e = &self.entries[i];
            if let Some(b) = best
                && e.end < b.end
            {
                break;
            }
            if fits(e) && best.is_none_or(|b| rank(e) > rank(b)) {
                best = Some(e);
            }
        }
        best.map(|e| e.target)
    }
}

/// The document node's own comments (not part of its content).
#[derive(Clone, Debug, Default)]
struct DocumentComments {
    head: String,
    foot: String,
}

/// The comment text of lines: comments joined by newlines, blank lines
/// inside kept as empty lines, blank lines around dropped.
fn comment_text(lines: &[(usize, LineKind)]) -> String {
    let texts: Vec<&str> = lines
        .iter()
        .map(|(_, k)| match k {
            LineKind::Comment { text, .. } => text.as_str(),
            _ => "",
        })
        .collect();
    let first = texts.iter().position(|t| !t.is_empty());
    let last = texts.iter().rposition(|t| !t.is_empty());
    match (first, last) {
        (Some(f), Some(l)) => texts[f..=l].join("\n"),
        _ => String::new(),
    }
}

fn append(slot: &mut String, text: &str) {
    if !slot.is_empty() {
        slot.push('\n');
    }
    slot.push_str(text);
}

// ---------------------------------------------------------------------------
// yaml.v3's emitter (emitterc.go), for the events `encoder.node` produces.

#[derive(Clone, Debug, PartialEq, Eq)]
enum EvKind {
    StreamStart,
    DocumentStart,
    DocumentEnd,
    Scalar { value: String, style: Style },
    SequenceStart { flow: bool },
    SequenceEnd,
    MappingStart { flow: bool },
    MappingEnd,
}

#[derive(Clone, Debug)]
struct Ev {
    kind: EvKind,
    /// Long-form tag; `Some` means not implicit.
    tag: Option<String>,
    anchor: Option<String>,
    head: String,
    line: String,
    foot: String,
    tail: String,
}

impl Ev {
    fn new(kind: EvKind) -> Self {
        Ev {
            kind,
            tag: None,
            anchor: None,
            head: String::new(),
            line: String::new(),
            foot: String::new(),
            tail: String::new(),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    StreamStart,
    FirstDocumentStart,
    DocumentStart,
    DocumentContent,
    DocumentEnd,
    FlowSequenceFirstItem,
    FlowSequenceTrailItem,
    FlowSequenceItem,
    FlowMappingFirstKey,
    FlowMappingTrailKey,
    FlowMappingKey,
    FlowMappingSimpleValue,
    FlowMappingValue,
    BlockSequenceFirstItem,
    BlockSequenceItem,
    BlockMappingFirstKey,
    BlockMappingKey,
    BlockMappingSimpleValue,
    BlockMappingValue,
    End,
}

/// What `yaml_emitter_analyze_scalar` finds out about a scalar.
#[derive(Clone, Copy, Debug, Default)]
struct ScalarAnalysis {
    multiline: bool,
    flow_plain_allowed: bool,
    block_plain_allowed: bool,
    single_quoted_allowed: bool,
    block_allowed: bool,
}

struct Emitter<'e> {
    events: &'e [Ev],
    head: usize,
    out: String,
    best_indent: i64,
    state: State,
    states: Vec<State>,
    indent: i64,
    indents: Vec<i64>,
    flow_level: usize,
    root_context: bool,
    simple_key_context: bool,
    column: i64,
    whitespace: bool,
    indention: bool,
    open_ended: bool,
    foot_indent: i64,
    head_comment: String,
    line_comment: String,
    foot_comment: String,
    tail_comment: String,
    key_line_comment: String,
    tag_handle: String,
    tag_suffix: String,
    anchor: String,
    scalar_value: &'e str,
    scalar: ScalarAnalysis,
    scalar_style: Style,
}

const SECONDARY_TAG_PREFIX: &str = "tag:yaml.org,2002:";

impl<'e> Emitter<'e> {
    fn new(events: &'e [Ev], indent: usize) -> Self {
        Emitter {
            events,
            head: 0,
            out: String::new(),
            best_indent: i64::try_from(indent).unwrap_or(2),
            state: State::StreamStart,
            states: Vec::new(),
            indent: -1,
            indents: Vec::new(),
            flow_level: 0,
            root_context: false,
            simple_key_context: false,
            column: 0,
            whitespace: true,
            indention: true,
            open_ended: false,
            foot_indent: -1,
            head_comment: String::new(),
            line_comment: String::new(),
            foot_comment: String::new(),
            tail_comment: String::new(),
            key_line_comment: String::new(),
            tag_handle: String::new(),
            tag_suffix: String::new(),
            anchor: String::new(),
            scalar_value: "",
            scalar: ScalarAnalysis::default(),
            scalar_style: Style::Plain,
        }
    }

    fn run(mut self) -> String {
        let events = self.events;
        for (i, event) in events.iter().enumerate() {
            self.head = i;
            self.analyze_event(event);
            self.state_machine(event);
        }
        self.out
    }

    // --- output primitives -------------------------------------------------

    fn put(&mut self, c: char) {
        self.out.push(c);
        self.column += 1;
    }

    fn put_break(&mut self) {
        self.out.push('\n');
        self.column = 0;
        self.indention = true;
    }

    fn write(&mut self, c: char) {
        self.out.push(c);
        self.column += 1;
    }

    fn write_all(&mut self, s: &str) {
        for c in s.chars() {
            self.write(c);
        }
    }

    fn write_break(&mut self, c: char) {
        if c == '\n' {
            self.put_break();
        } else {
            self.write(c);
            self.column = 0;
            self.indention = true;
        }
    }

    fn write_indent(&mut self) {
        let indent = self.indent.max(0);
        if !self.indention || self.column > indent || (self.column == indent && !self.whitespace) {
            self.put_break();
        }
        if self.foot_indent == indent {
            self.put_break();
        }
        while self.column < indent {
            self.put(' ');
        }
        self.whitespace = true;
        self.foot_indent = -1;
    }

    fn write_indicator(
        &mut self,
        indicator: &str,
        need_whitespace: bool,
        is_whitespace: bool,
        is_indention: bool,
    ) {
        if need_whitespace && !self.whitespace {
            self.put(' ');
        }
        self.write_all(indicator);
        self.whitespace = is_whitespace;
        self.indention = self.indention && is_indention;
        self.open_ended = false;
    }

    // --- state machine -----------------------------------------------------

    fn pop_state(&mut self) {
        self.state = self.states.pop().unwrap_or(State::End);
    }

    fn pop_indent(&mut self) {
        self.indent = self.indents.pop().unwrap_or(-1);
    }

    fn increase_indent(&mut self, flow: bool, indentless: bool) {
        self.indents.push(self.indent);
        if self.indent < 0 {
            self.indent = if flow { self.best_indent } else { 0 };
        } else if !indentless {
            if self.states.last() == Some(&State::BlockSequenceItem) {
                // The first indent inside a sequence just skips the "- ".
                self.indent += 2;
            } else {
                self.indent =
                    self.best_indent * ((self.indent + self.best_indent) / self.best_indent);
            }
        }
    }

    fn state_machine(&mut self, event: &'e Ev) {
        match self.state {
            State::StreamStart => self.emit_stream_start(),
            State::FirstDocumentStart => self.emit_document_start(event, true),
            State::DocumentStart => self.emit_document_start(event, false),
            State::DocumentContent => self.emit_document_content(event),
            State::DocumentEnd => self.emit_document_end(),
            State::FlowSequenceFirstItem => self.emit_flow_sequence_item(event, true, false),
            State::FlowSequenceTrailItem => self.emit_flow_sequence_item(event, false, true),
            State::FlowSequenceItem => self.emit_flow_sequence_item(event, false, false),
            State::FlowMappingFirstKey => self.emit_flow_mapping_key(event, true, false),
            State::FlowMappingTrailKey => self.emit_flow_mapping_key(event, false, true),
            State::FlowMappingKey => self.emit_flow_mapping_key(event, false, false),
            State::FlowMappingSimpleValue => self.emit_flow_mapping_value(event, true),
            State::FlowMappingValue => self.emit_flow_mapping_value(event, false),
            State::BlockSequenceFirstItem => self.emit_block_sequence_item(event, true),
            State::BlockSequenceItem => self.emit_block_sequence_item(event, false),
            State::BlockMappingFirstKey => self.emit_block_mapping_key(event, true),
            State::BlockMappingKey => self.emit_block_mapping_key(event, false),
            State::BlockMappingSimpleValue => self.emit_block_mapping_value(event, true),
            State::BlockMappingValue => self.emit_block_mapping_value(event, false),
            State::End => {}
        }
    }

    fn emit_stream_start(&mut self) {
        if !(2..=9).contains(&self.best_indent) {
            self.best_indent = 2;
        }
        self.indent = -1;
        self.column = 0;
        self.whitespace = true;
        self.indention = true;
        self.foot_indent = -1;
        self.state = State::FirstDocumentStart;
    }

    fn emit_document_start(&mut self, event: &'e Ev, first: bool) {
        match event.kind {
            EvKind::DocumentStart => {
                if !first {
                    self.write_indent();
                    self.write_indicator("---", true, false, false);
                    self.write_indent();
                }
                if !self.head_comment.is_empty() {
                    self.process_head_comment();
                    self.put_break();
                }
                self.state = State::DocumentContent;
            }
            _ => {
                if self.open_ended {
                    self.write_indicator("...", true, false, false);
                    self.write_indent();
                }
                self.state = State::End;
            }
        }
    }

    fn emit_document_content(&mut self, event: &'e Ev) {
        self.states.push(State::DocumentEnd);
        self.process_head_comment();
        self.emit_node(event, true, false);
        self.process_line_comment();
        self.process_foot_comment();
    }

    fn emit_document_end(&mut self) {
        // Force document foot separation.
        self.foot_indent = 0;
        self.process_foot_comment();
        self.foot_indent = -1;
        self.write_indent();
        self.state = State::DocumentStart;
    }

    fn has_trailing_comments(&self) -> bool {
        !(self.line_comment.is_empty()
            && self.foot_comment.is_empty()
            && self.tail_comment.is_empty())
    }

    fn emit_flow_sequence_item(&mut self, event: &'e Ev, first: bool, trail: bool) {
        if first {
            self.write_indicator("[", true, true, false);
            self.increase_indent(true, false);
            self.flow_level += 1;
        }
        if event.kind == EvKind::SequenceEnd {
            self.flow_level -= 1;
            self.pop_indent();
            if self.column == 0 {
                self.write_indent();
            }
            self.write_indicator("]", false, false, false);
            self.process_line_comment();
            self.process_foot_comment();
            self.pop_state();
            return;
        }
        if !first && !trail {
            self.write_indicator(",", false, false, false);
        }
        self.process_head_comment();
        if self.column == 0 {
            self.write_indent();
        }
        let trailing = self.has_trailing_comments();
        self.states.push(if trailing {
            State::FlowSequenceTrailItem
        } else {
            State::FlowSequenceItem
        });
        self.emit_node(event, false, false);
        if self.has_trailing_comments() {
            self.write_indicator(",", false, false, false);
        }
        self.process_line_comment();
        self.process_foot_comment();
    }

    fn emit_flow_mapping_key(&mut self, event: &'e Ev, first: bool, trail: bool) {
        if first {
            self.write_indicator("{", true, true, false);
            self.increase_indent(true, false);
            self.flow_level += 1;
        }
        if event.kind == EvKind::MappingEnd {
            let comments = !(self.head_comment.is_empty()
                && self.foot_comment.is_empty()
                && self.tail_comment.is_empty());
            if comments && !first && !trail {
                self.write_indicator(",", false, false, false);
            }
            self.process_head_comment();
            self.flow_level -= 1;
            self.pop_indent();
            self.write_indicator("}", false, false, false);
            self.process_line_comment();
            self.process_foot_comment();
            self.pop_state();
            return;
        }
        if !first && !trail {
            self.write_indicator(",", false, false, false);
        }
        self.process_head_comment();
        if self.column == 0 {
            self.write_indent();
        }
        if self.check_simple_key(event) {
            self.states.push(State::FlowMappingSimpleValue);
            self.emit_node(event, false, true);
        } else {
            self.write_indicator("?", true, false, false);
            self.states.push(State::FlowMappingValue);
            self.emit_node(event, false, false);
        }
    }

    fn emit_flow_mapping_value(&mut self, event: &'e Ev, simple: bool) {
        self.write_indicator(":", !simple, false, false);
        self.states.push(if self.has_trailing_comments() {
            State::FlowMappingTrailKey
        } else {
            State::FlowMappingKey
        });
        self.emit_node(event, false, false);
        if self.has_trailing_comments() {
            self.write_indicator(",", false, false, false);
        }
        self.process_line_comment();
        self.process_foot_comment();
    }

    fn emit_block_sequence_item(&mut self, event: &'e Ev, first: bool) {
        if first {
            self.increase_indent(false, false);
        }
        if event.kind == EvKind::SequenceEnd {
            self.pop_indent();
            self.pop_state();
            return;
        }
        self.process_head_comment();
        self.write_indent();
        self.write_indicator("-", true, false, true);
        self.states.push(State::BlockSequenceItem);
        self.emit_node(event, false, false);
        self.process_line_comment();
        self.process_foot_comment();
    }

    fn emit_block_mapping_key(&mut self, event: &'e Ev, first: bool) {
        if first {
            self.increase_indent(false, false);
        }
        self.process_head_comment();
        if event.kind == EvKind::MappingEnd {
            self.pop_indent();
            self.pop_state();
            return;
        }
        self.write_indent();
        if !self.line_comment.is_empty() {
            // A key's line comment: written after the value's indicator.
            self.key_line_comment = std::mem::take(&mut self.line_comment);
        }
        if self.check_simple_key(event) {
            self.states.push(State::BlockMappingSimpleValue);
            self.emit_node(event, false, true);
        } else {
            self.write_indicator("?", true, false, true);
            self.states.push(State::BlockMappingValue);
            self.emit_node(event, false, false);
        }
    }

    fn emit_block_mapping_value(&mut self, event: &'e Ev, simple: bool) {
        if simple {
            self.write_indicator(":", false, false, false);
        } else {
            self.write_indent();
            self.write_indicator(":", true, false, true);
        }
        if !self.key_line_comment.is_empty() {
            match event.kind {
                // The value's own line comment wins over the key's.
                EvKind::Scalar { .. } if self.line_comment.is_empty() => {
                    self.line_comment = std::mem::take(&mut self.key_line_comment);
                }
                EvKind::MappingStart { flow: false } | EvKind::SequenceStart { flow: false } => {
                    // An indented block follows: write the comment now.
                    std::mem::swap(&mut self.line_comment, &mut self.key_line_comment);
                    self.process_line_comment();
                    std::mem::swap(&mut self.line_comment, &mut self.key_line_comment);
                }
                _ => {}
            }
        }
        self.states.push(State::BlockMappingKey);
        self.emit_node(event, false, false);
        self.process_line_comment();
        self.process_foot_comment();
    }

    fn emit_node(&mut self, event: &'e Ev, root: bool, simple_key: bool) {
        self.root_context = root;
        self.simple_key_context = simple_key;
        match &event.kind {
            EvKind::Scalar { style, .. } => self.emit_scalar(*style, event.tag.is_none()),
            EvKind::SequenceStart { flow } => {
                self.process_anchor();
                self.process_tag();
                self.state = if self.flow_level > 0 || *flow || self.next_is(&EvKind::SequenceEnd) {
                    State::FlowSequenceFirstItem
                } else {
                    State::BlockSequenceFirstItem
                };
            }
            EvKind::MappingStart { flow } => {
                self.process_anchor();
                self.process_tag();
                self.state = if self.flow_level > 0 || *flow || self.next_is(&EvKind::MappingEnd) {
                    State::FlowMappingFirstKey
                } else {
                    State::BlockMappingFirstKey
                };
            }
            _ => {}
        }
    }

    fn next_is(&self, kind: &EvKind) -> bool {
        self.events
            .get(self.head + 1)
            .is_some_and(|e| &e.kind == kind)
    }

    fn check_simple_key(&self, event: &Ev) -> bool {
        let tag_len = self.anchor.len() + self.tag_handle.len() + self.tag_suffix.len();
        let length = match &event.kind {
            EvKind::Scalar { .. } => {
                if self.scalar.multiline {
                    return false;
                }
                tag_len + self.scalar_value.len()
            }
            EvKind::SequenceStart { .. } if self.next_is(&EvKind::SequenceEnd) => tag_len,
            EvKind::MappingStart { .. } if self.next_is(&EvKind::MappingEnd) => tag_len,
            _ => return false,
        };
        length <= 128
    }

    fn emit_scalar(&mut self, style: Style, implicit: bool) {
        self.select_scalar_style(style, implicit);
        self.process_anchor();
        self.process_tag();
        self.increase_indent(true, false);
        self.process_scalar();
        self.pop_indent();
        self.pop_state();
    }

    fn select_scalar_style(&mut self, requested: Style, implicit: bool) {
        let no_tag = self.tag_handle.is_empty() && self.tag_suffix.is_empty();
        let mut style = requested;
        if self.simple_key_context && self.scalar.multiline {
            style = Style::DoubleQuoted;
        }
        if style == Style::Plain {
            if (self.flow_level > 0 && !self.scalar.flow_plain_allowed)
                || (self.flow_level == 0 && !self.scalar.block_plain_allowed)
            {
                style = Style::SingleQuoted;
            }
            if self.scalar_value.is_empty() && (self.flow_level > 0 || self.simple_key_context) {
                style = Style::SingleQuoted;
            }
            if no_tag && !implicit {
                style = Style::SingleQuoted;
            }
        }
        if style == Style::SingleQuoted && !self.scalar.single_quoted_allowed {
            style = Style::DoubleQuoted;
        }
        if matches!(style, Style::Literal | Style::Folded)
            && (!self.scalar.block_allowed || self.flow_level > 0 || self.simple_key_context)
        {
            style = Style::DoubleQuoted;
        }
        if no_tag && !implicit && style != Style::Plain {
            self.tag_handle = "!".into();
        }
        self.scalar_style = style;
    }

    fn process_anchor(&mut self) {
        if self.anchor.is_empty() {
            return;
        }
        self.write_indicator("&", true, false, false);
        let anchor = std::mem::take(&mut self.anchor);
        self.write_all(&anchor);
        self.anchor = anchor;
        self.whitespace = false;
        self.indention = false;
    }

    fn process_tag(&mut self) {
        if self.tag_handle.is_empty() && self.tag_suffix.is_empty() {
            return;
        }
        if !self.tag_handle.is_empty() {
            let handle = std::mem::take(&mut self.tag_handle);
            self.write_tag_handle(&handle);
            self.tag_handle = handle;
            if !self.tag_suffix.is_empty() {
                let suffix = std::mem::take(&mut self.tag_suffix);
                self.write_tag_content(&suffix);
                self.tag_suffix = suffix;
            }
        } else {
            self.write_indicator("!<", true, false, false);
            let suffix = std::mem::take(&mut self.tag_suffix);
            self.write_tag_content(&suffix);
            self.tag_suffix = suffix;
            self.write_indicator(">", false, false, false);
        }
    }

    fn process_scalar(&mut self) {
        let value = self.scalar_value;
        match self.scalar_style {
            Style::Plain => self.write_plain_scalar(value),
            Style::SingleQuoted => self.write_single_quoted_scalar(value),
            Style::DoubleQuoted => self.write_double_quoted_scalar(value),
            Style::Literal => self.write_literal_scalar(value),
            Style::Folded => self.write_folded_scalar(value),
        }
    }

    fn process_head_comment(&mut self) {
        if !self.tail_comment.is_empty() {
            self.write_indent();
            let tail = std::mem::take(&mut self.tail_comment);
            self.write_comment(&tail);
            self.foot_indent = self.indent.max(0);
        }
        if self.head_comment.is_empty() {
            return;
        }
        self.write_indent();
        let head = std::mem::take(&mut self.head_comment);
        self.write_comment(&head);
    }

    fn process_line_comment(&mut self) {
        if self.line_comment.is_empty() {
            return;
        }
        if !self.whitespace {
            self.put(' ');
        }
        let line = std::mem::take(&mut self.line_comment);
        self.write_comment(&line);
    }

    fn process_foot_comment(&mut self) {
        if self.foot_comment.is_empty() {
            return;
        }
        self.write_indent();
        let foot = std::mem::take(&mut self.foot_comment);
        self.write_comment(&foot);
        self.foot_indent = self.indent.max(0);
    }

    fn analyze_event(&mut self, event: &'e Ev) {
        self.tag_handle.clear();
        self.tag_suffix.clear();
        self.anchor.clear();
        if let Some(anchor) = &event.anchor {
            self.anchor.clone_from(anchor);
        }
        self.scalar_value = "";
        if !event.head.is_empty() {
            self.head_comment.clone_from(&event.head);
        }
        if !event.line.is_empty() {
            self.line_comment.clone_from(&event.line);
        }
        if !event.foot.is_empty() {
            self.foot_comment.clone_from(&event.foot);
        }
        if !event.tail.is_empty() {
            self.tail_comment.clone_from(&event.tail);
        }
        match &event.kind {
            EvKind::Scalar { value, .. } => {
                if let Some(tag) = &event.tag {
                    self.analyze_tag(tag);
                }
                self.analyze_scalar(value);
            }
            EvKind::SequenceStart { .. } | EvKind::MappingStart { .. } => {
                if let Some(tag) = &event.tag {
                    self.analyze_tag(tag);
                }
            }
            _ => {}
        }
    }

    /// Splits a long tag by the default tag directives (`!`, `!!`).
    fn analyze_tag(&mut self, tag: &str) {
        if let Some(suffix) = tag.strip_prefix('!') {
            self.tag_handle = "!".into();
            self.tag_suffix = suffix.into();
        } else if let Some(suffix) = tag.strip_prefix(SECONDARY_TAG_PREFIX) {
            self.tag_handle = "!!".into();
            self.tag_suffix = suffix.into();
        } else {
            self.tag_suffix = tag.into();
        }
    }

    fn analyze_scalar(&mut self, value: &'e str) {
        self.scalar_value = value;
        if value.is_empty() {
            self.scalar = ScalarAnalysis {
                multiline: false,
                flow_plain_allowed: false,
                block_plain_allowed: true,
                single_quoted_allowed: true,
                block_allowed: false,
            };
            return;
        }
        let chars: Vec<char> = value.chars().collect();
        let (mut block_indicators, mut flow_indicators) = (false, false);
        let (mut line_breaks, mut special_characters, mut tab_characters) = (false, false, false);
        let (mut leading_space, mut leading_break) = (false, false);
        let (mut trailing_space, mut trailing_break) = (false, false);
        let (mut break_space, mut space_break) = (false, false);
        let (mut previous_space, mut previous_break) = (false, false);
        if value.starts_with("---") || value.starts_with("...") {
            block_indicators = true;
            flow_indicators = true;
        }
        let mut preceded_by_whitespace = true;
        for (i, &c) in chars.iter().enumerate() {
            let followed_by_whitespace = chars.get(i + 1).is_none_or(|&n| is_blank(n));
            if i == 0 {
                match c {
                    '#' | ',' | '[' | ']' | '{' | '}' | '&' | '*' | '!' | '|' | '>' | '\''
                    | '"' | '%' | '@' | '`' => {
                        flow_indicators = true;
                        block_indicators = true;
                    }
                    '?' | ':' => {
                        flow_indicators = true;
                        if followed_by_whitespace {
                            block_indicators = true;
                        }
                    }
                    '-' if followed_by_whitespace => {
                        flow_indicators = true;
                        block_indicators = true;
                    }
                    _ => {}
                }
            } else {
                match c {
                    ',' | '?' | '[' | ']' | '{' | '}' => flow_indicators = true,
                    ':' => {
                        flow_indicators = true;
                        if followed_by_whitespace {
                            block_indicators = true;
                        }
                    }
                    '#' if preceded_by_whitespace => {
                        flow_indicators = true;
                        block_indicators = true;
                    }
                    _ => {}
                }
            }
            if c == '\t' {
                tab_characters = true;
            } else if !is_printable(c) {
                special_characters = true;
            }
            let last = i + 1 == chars.len();
            if c == ' ' {
                if i == 0 {
                    leading_space = true;
                }
                if last {
                    trailing_space = true;
                }
                if previous_break {
                    break_space = true;
                }
                previous_space = true;
                previous_break = false;
            } else if is_break(c) {
                line_breaks = true;
                if i == 0 {
                    leading_break = true;
                }
                if last {
                    trailing_break = true;
                }
                if previous_space {
                    space_break = true;
                }
                previous_space = false;
                previous_break = true;
            } else {
                previous_space = false;
                previous_break = false;
            }
            preceded_by_whitespace = is_blank(c) || is_break(c) || c == '\0';
        }
        let mut a = ScalarAnalysis {
            multiline: line_breaks,
            flow_plain_allowed: true,
            block_plain_allowed: true,
            single_quoted_allowed: true,
            block_allowed: true,
        };
        if leading_space || leading_break || trailing_space || trailing_break {
            a.flow_plain_allowed = false;
            a.block_plain_allowed = false;
        }
        if trailing_space {
            a.block_allowed = false;
        }
        if break_space {
            a.flow_plain_allowed = false;
            a.block_plain_allowed = false;
            a.single_quoted_allowed = false;
        }
        if space_break || tab_characters || special_characters {
            a.flow_plain_allowed = false;
            a.block_plain_allowed = false;
            a.single_quoted_allowed = false;
        }
        if space_break || special_characters {
            a.block_allowed = false;
        }
        if line_breaks {
            a.flow_plain_allowed = false;
            a.block_plain_allowed = false;
        }
        if flow_indicators {
            a.flow_plain_allowed = false;
        }
        if block_indicators {
            a.block_plain_allowed = false;
        }
        self.scalar = a;
    }

    // --- writers -------------------------------------------------------------

    fn write_tag_handle(&mut self, handle: &str) {
        if !self.whitespace {
            self.put(' ');
        }
        self.write_all(handle);
        self.whitespace = false;
        self.indention = false;
    }

    fn write_tag_content(&mut self, value: &str) {
        for c in value.chars() {
            let must_write = c.is_ascii_alphanumeric()
                || matches!(
                    c,
                    '_' | '-'
                        | ';'
                        | '/'
                        | '?'
                        | ':'
                        | '@'
                        | '&'
                        | '='
                        | '+'
                        | '$'
                        | ','
                        | '.'
                        | '~'
                        | '*'
                        | '\''
                        | '('
                        | ')'
                        | '['
                        | ']'
                );
            if must_write {
                self.write(c);
            } else {
                let mut buf = [0u8; 4];
                for b in c.encode_utf8(&mut buf).bytes() {
                    self.put('%');
                    self.put(hex_digit(b >> 4));
                    self.put(hex_digit(b & 0x0f));
                }
            }
        }
        self.whitespace = false;
        self.indention = false;
    }

    fn write_plain_scalar(&mut self, value: &str) {
        if !value.is_empty() && !self.whitespace {
            self.put(' ');
        }
        let mut breaks = false;
        for c in value.chars() {
            if c == ' ' {
                self.write(c);
            } else if is_break(c) {
                if !breaks && c == '\n' {
                    self.put_break();
                }
                self.write_break(c);
                breaks = true;
            } else {
                if breaks {
                    self.write_indent();
                }
                self.write(c);
                self.indention = false;
                breaks = false;
            }
        }
        if !value.is_empty() {
            self.whitespace = false;
        }
        self.indention = false;
        if self.root_context {
            self.open_ended = true;
        }
    }

    fn write_single_quoted_scalar(&mut self, value: &str) {
        self.write_indicator("'", true, false, false);
        let mut breaks = false;
        for c in value.chars() {
            if c == ' ' {
                self.write(c);
            } else if is_break(c) {
                if !breaks && c == '\n' {
                    self.put_break();
                }
                self.write_break(c);
                breaks = true;
            } else {
                if breaks {
                    self.write_indent();
                }
                if c == '\'' {
                    self.put('\'');
                }
                self.write(c);
                self.indention = false;
                breaks = false;
            }
        }
        self.write_indicator("'", false, false, false);
        self.whitespace = false;
        self.indention = false;
    }

    fn write_double_quoted_scalar(&mut self, value: &str) {
        self.write_indicator("\"", true, false, false);
        for c in value.chars() {
            if !is_printable(c) || c == '\u{FEFF}' || is_break(c) || c == '"' || c == '\\' {
                self.put('\\');
                match c {
                    '\0' => self.put('0'),
                    '\u{07}' => self.put('a'),
                    '\u{08}' => self.put('b'),
                    '\t' => self.put('t'),
                    '\n' => self.put('n'),
                    '\u{0b}' => self.put('v'),
                    '\u{0c}' => self.put('f'),
                    '\r' => self.put('r'),
                    '\u{1b}' => self.put('e'),
                    '"' => self.put('"'),
                    '\\' => self.put('\\'),
                    '\u{85}' => self.put('N'),
                    '\u{A0}' => self.put('_'),
                    '\u{2028}' => self.put('L'),
                    '\u{2029}' => self.put('P'),
                    _ => {
                        let v = u32::from(c);
                        let (letter, digits) = if v <= 0xFF {
                            ('x', 2)
                        } else if v <= 0xFFFF {
                            ('u', 4)
                        } else {
                            ('U', 8)
                        };
                        self.put(letter);
                        for k in (0..digits).rev() {
                            // The shift keeps 4 bits: always below 16.
                            let digit = u8::try_from((v >> (k * 4)) & 0x0F).unwrap_or(0);
                            self.put(hex_digit(digit));
                        }
                    }
                }
            } else {
                self.write(c);
            }
        }
        self.write_indicator("\"", false, false, false);
        self.whitespace = false;
        self.indention = false;
    }

    fn write_block_scalar_hints(&mut self, value: &str) {
        let chars: Vec<char> = value.chars().collect();
        if chars.first().is_some_and(|&c| c == ' ' || is_break(c)) {
            let hint =
                char::from_digit(u32::try_from(self.best_indent).unwrap_or(2), 10).unwrap_or('2');
            self.write_indicator(&hint.to_string(), false, false, false);
        }
        self.open_ended = false;
        let chomp = match chars.as_slice() {
            [] => Some('-'),
            [.., last] if !is_break(*last) => Some('-'),
            [_] => {
                self.open_ended = true;
                Some('+')
            }
            [.., before, _] if is_break(*before) => {
                self.open_ended = true;
                Some('+')
            }
            _ => None,
        };
        if let Some(chomp) = chomp {
            self.write_indicator(&chomp.to_string(), false, false, false);
        }
    }

    fn write_literal_scalar(&mut self, value: &str) {
        self.write_indicator("|", true, false, false);
        self.write_block_scalar_hints(value);
        self.process_line_comment();
        self.whitespace = true;
        let mut breaks = true;
        for c in value.chars() {
            if is_break(c) {
                self.write_break(c);
                breaks = true;
            } else {
                if breaks {
                    self.write_indent();
                }
                self.write(c);
                self.indention = false;
                breaks = false;
            }
        }
    }

    fn write_folded_scalar(&mut self, value: &str) {
        self.write_indicator(">", true, false, false);
        self.write_block_scalar_hints(value);
        self.process_line_comment();
        self.whitespace = true;
        let chars: Vec<char> = value.chars().collect();
        let mut breaks = true;
        let mut leading_spaces = true;
        for &c in &chars {
            if is_break(c) {
                if !breaks && !leading_spaces && c == '\n' {
                    // As yaml.v3: the look-ahead starts at the text's beginning.
                    let mut k = 0;
                    while chars.get(k).is_some_and(|&c| is_break(c)) {
                        k += 1;
                    }
                    if !chars
                        .get(k)
                        .is_none_or(|&c| is_blank(c) || is_break(c) || c == '\0')
                    {
                        self.put_break();
                    }
                }
                self.write_break(c);
                breaks = true;
            } else {
                if breaks {
                    self.write_indent();
                    leading_spaces = is_blank(c);
                }
                self.write(c);
                self.indention = false;
                breaks = false;
            }
        }
    }

    fn write_comment(&mut self, comment: &str) {
        let mut breaks = false;
        let mut pound = false;
        for c in comment.chars() {
            if is_break(c) {
                self.write_break(c);
                breaks = true;
                pound = false;
            } else {
                if breaks {
                    self.write_indent();
                }
                if !pound {
                    if c != '#' {
                        self.put('#');
                        self.put(' ');
                    }
                    pound = true;
                }
                self.write(c);
                self.indention = false;
                breaks = false;
            }
        }
        if !breaks {
            self.put_break();
        }
        self.whitespace = true;
    }
}

fn hex_digit(d: u8) -> char {
    char::from(if d < 10 { b'0' + d } else { b'A' + d - 10 })
}

fn is_blank(c: char) -> bool {
    c == ' ' || c == '\t'
}

fn is_break(c: char) -> bool {
    matches!(c, '\r' | '\n' | '\u{85}' | '\u{2028}' | '\u{2029}')
}

/// yaml.v3's `is_printable`: characters of four UTF-8 bytes are not.
fn is_printable(c: char) -> bool {
    let v = u32::from(c);
    c == '\n'
        || (0x20..=0x7E).contains(&v)
        || (0xA0..=0xD7FF).contains(&v)
        || ((0xE000..=0xFFFD).contains(&v) && v != 0xFEFF)
}

#[cfg(test)]
mod tests;
