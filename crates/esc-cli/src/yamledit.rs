//! Editing a definition for `env set` and `env rm <path>` (spec/CLI.md § 7)
//! with esc-syntax's text-preserving edits: comments, order and styles of
//! the document are kept, new content is written as yaml.v3 would (see
//! `esc_syntax::edit`). The path is first checked on an ordered tree of the
//! document so that errors name the user's path like the reference does.
//!
//! Difference from the reference: the stored text is the user's own text
//! with the edit, not the whole document re-emitted at four-space
//! indentation.

use anyhow::{Context as _, bail};
use esc_syntax::edit::{EditError, EditValue, StringStyle};
use esc_syntax::{DocPath, Node, NodeKind, ScalarStyle};

use crate::format::yaml::Tree;
use crate::value::{Accessor, PropertyPath};

/// Parse YAML text into a tree (`None` for an empty document).
pub(crate) fn parse(name: &str, text: &str) -> anyhow::Result<Option<Tree>> {
    match esc_syntax::parse_document(name, text) {
        Ok(node) => Ok(node.as_ref().map(tree_of)),
        Err(diag) => bail!("{}", diag.summary),
    }
}

fn tree_of(node: &Node) -> Tree {
    match &node.kind {
        NodeKind::Null => Tree::Null,
        NodeKind::Bool(b) => Tree::Bool(*b),
        NodeKind::Number(n) => Tree::Number(n.clone()),
        NodeKind::String { value, .. } => Tree::String(value.clone()),
        NodeKind::Sequence(items) => Tree::Seq(items.iter().map(tree_of).collect()),
        NodeKind::Mapping(entries) => Tree::Map(
            entries
                .iter()
                .map(|(k, v)| (k.as_str().unwrap_or_default().to_string(), tree_of(v)))
                .collect(),
        ),
    }
}

/// Parse a value given on the command line (YAML unless `as_string`). The
/// value's own style is dropped (the node it lands in decides it), its
/// children keep theirs.
pub(crate) fn parse_value(text: &str, as_string: bool) -> anyhow::Result<EditValue> {
    if as_string {
        return Ok(EditValue::String(text.to_string()));
    }
    match esc_syntax::parse_document("value", text) {
        Ok(Some(node)) => Ok(match edit_value(&node) {
            EditValue::Styled(s, _) => EditValue::String(s),
            other => other,
        }),
        Ok(None) => Ok(EditValue::String(String::new())),
        Err(diag) => bail!("invalid value: {}", diag.summary),
    }
}

fn string_style(style: ScalarStyle) -> StringStyle {
    match style {
        ScalarStyle::Plain => StringStyle::Plain,
        ScalarStyle::SingleQuoted => StringStyle::SingleQuoted,
        ScalarStyle::DoubleQuoted => StringStyle::DoubleQuoted,
        ScalarStyle::Literal | ScalarStyle::Folded => StringStyle::Literal,
    }
}

fn edit_value(node: &Node) -> EditValue {
    match &node.kind {
        NodeKind::Null => EditValue::Null,
        NodeKind::Bool(b) => EditValue::Bool(*b),
        NodeKind::Number(n) => EditValue::Number(n.clone()),
        NodeKind::String { value, style } => EditValue::Styled(value.clone(), string_style(*style)),
        NodeKind::Sequence(items) => EditValue::Sequence(items.iter().map(edit_value).collect()),
        NodeKind::Mapping(entries) => EditValue::StyledMapping(
            entries
                .iter()
                .map(|(k, v)| {
                    let style = match &k.kind {
                        NodeKind::String { style, .. } => string_style(*style),
                        _ => StringStyle::Plain,
                    };
                    (
                        k.as_str().unwrap_or_default().to_string(),
                        style,
                        edit_value(v),
                    )
                })
                .collect(),
        ),
    }
}

fn string_of(value: &EditValue) -> Option<&str> {
    match value {
        EditValue::String(s) | EditValue::Styled(s, _) => Some(s),
        _ => None,
    }
}

/// spec/CLI.md § 5 `env set`: a string set under a key matching
/// `(?i)passwd|pass|password|pwd|secret|token` looks like a secret when the
/// entropy of its first 16 bytes is at least 80 bits, or 40 bits at 3 bits
/// or more per byte.
///
/// The reference uses zxcvbn; this estimate is zxcvbn's with a handful of
/// its dictionary words and none of its keyboard patterns: brute force over
/// the character classes present, less what runs of one character,
/// alphabetic or numeric sequences (`aaaa`, `abcd`, `4321`) and common
/// words save. Values holding an interpolation are never flagged. Being
/// mostly higher than zxcvbn's, it may ask for `--secret`/`--plaintext`
/// where the reference would not.
pub(crate) fn looks_like_secret(path: &PropertyPath, value: &EditValue) -> bool {
    let Some(Accessor::Key(key)) = path.0.last() else {
        return false;
    };
    let key = key.to_lowercase();
    if !["pass", "pwd", "secret", "token"]
        .iter()
        .any(|word| key.contains(word))
    {
        return false;
    }
    let Some(text) = string_of(value) else {
        return false;
    };
    // an interpolation refers to a value, it is not one (zxcvbn rates
    // `${password}` low through its dictionary)
    if text.contains("${") {
        return false;
    }
    let bytes = &text.as_bytes()[..text.len().min(16)];
    if bytes.is_empty() {
        return false;
    }
    let entropy = entropy_bits(bytes);
    #[allow(clippy::cast_precision_loss)] // at most 16
    let per_byte = entropy / bytes.len() as f64;
    entropy >= 80.0 || (entropy >= 40.0 && per_byte >= 3.0)
}

/// Words of zxcvbn's password and English dictionaries likely in values
/// set under password-like keys.
const COMMON_WORDS: [&str; 24] = [
    "password", "passwd", "pass", "secret", "token", "admin", "root", "changeme", "default",
    "example", "test", "letmein", "welcome", "qwerty", "hello", "world", "value", "key", "user",
    "login", "master", "dragon", "monkey", "shadow",
];

/// Minimum entropy of `bytes` over brute-force runs, repeats, sequences
/// and common words.
fn entropy_bits(bytes: &[u8]) -> f64 {
    let cardinality: u32 = [
        (bytes.iter().any(u8::is_ascii_lowercase), 26),
        (bytes.iter().any(u8::is_ascii_uppercase), 26),
        (bytes.iter().any(u8::is_ascii_digit), 10),
        (
            bytes
                .iter()
                .any(|b| b.is_ascii() && !b.is_ascii_alphanumeric()),
            33,
        ),
        (bytes.iter().any(|b| !b.is_ascii()), 100),
    ]
    .iter()
    .filter(|(present, _)| *present)
    .map(|(_, n)| n)
    .sum();
    let per_char = f64::from(cardinality.max(1)).log2();
    let class_size = |b: u8| -> f64 {
        if b.is_ascii_digit() {
            10.0
        } else if b.is_ascii_alphabetic() {
            26.0
        } else {
            33.0
        }
    };
    // best[i]: the lowest entropy of bytes[..i]
    let mut best = vec![0.0_f64; bytes.len() + 1];
    for end in 1..=bytes.len() {
        best[end] = best[end - 1] + per_char;
        for start in (0..end.saturating_sub(2)).rev() {
            let run = &bytes[start..end];
            #[allow(clippy::cast_precision_loss)] // at most 16
            let len = run.len() as f64;
            let repeat = run.iter().all(|b| *b == run[0]);
            let step = i16::from(run[1]) - i16::from(run[0]);
            let sequence = matches!(step, -1 | 1)
                && run
                    .windows(2)
                    .all(|w| i16::from(w[1]) - i16::from(w[0]) == step)
                && run.iter().all(|b| b.is_ascii_alphanumeric());
            let lower = run.to_ascii_lowercase();
            let cost = if COMMON_WORDS
                .iter()
                .any(|w| w.as_bytes() == lower.as_slice())
            {
                // a word of zxcvbn's dictionaries, ranked about 1000th
                10.0
            } else if repeat {
                (class_size(run[0]) * len).log2()
            } else if sequence {
                let base = if matches!(run[0], b'a' | b'A' | b'0' | b'1') {
                    1.0
                } else {
                    class_size(run[0]).log2()
                };
                base + len.log2() + if step < 0 { 1.0 } else { 0.0 }
            } else {
                continue;
            };
            best[end] = best[end].min(best[start] + cost);
        }
    }
    best[bytes.len()]
}

/// Wrap `value` as `{fn::secret: value}`; a non-string scalar becomes the
/// string it was typed as, double-quoted (the reference re-reads the
/// Go-quoted argument).
pub(crate) fn secret(value: EditValue, typed: &str) -> EditValue {
    let inner = match value {
        EditValue::Null | EditValue::Bool(_) | EditValue::Number(_) => {
            EditValue::Styled(typed.to_string(), StringStyle::DoubleQuoted)
        }
        other => other,
    };
    EditValue::StyledMapping(vec![("fn::secret".to_string(), StringStyle::Plain, inner)])
}

/// The document path for a user path: `imports...` edits the root, anything
/// else is under `values`.
fn document_path(path: &PropertyPath) -> PropertyPath {
    match path.0.first() {
        Some(Accessor::Key(k)) if k == "imports" => path.clone(),
        _ => {
            let mut full = vec![Accessor::Key("values".to_string())];
            full.extend(path.0.iter().cloned());
            PropertyPath(full)
        }
    }
}

/// The document path text of esc-syntax for a property path.
fn doc_path_text(path: &PropertyPath) -> String {
    path.0
        .iter()
        .fold(DocPath::root(), |p, a| match a {
            Accessor::Key(k) => p.key(k),
            Accessor::Index(i) => p.index(*i),
        })
        .into_string()
}

fn edit_error(error: EditError) -> anyhow::Error {
    anyhow::anyhow!("{error}")
}

/// Set `path` (a user path) to `value` in `text`; returns the new text.
pub(crate) fn set(
    name: &str,
    text: &str,
    path: &PropertyPath,
    value: &EditValue,
) -> anyhow::Result<String> {
    set_at_document_path(name, text, path, &document_path(path), value)
}

/// Set `values.<path>` to `value` in `text`, whatever the path's first key
/// (`env provider` writes under `values` only, even for a path starting
/// with `imports`); returns the new text.
pub(crate) fn set_in_values(
    name: &str,
    text: &str,
    path: &PropertyPath,
    value: &EditValue,
) -> anyhow::Result<String> {
    let mut full = vec![Accessor::Key("values".to_string())];
    full.extend(path.0.iter().cloned());
    set_at_document_path(name, text, path, &PropertyPath(full), value)
}

/// Set the node at `full` (the document path of the user's `path`).
fn set_at_document_path(
    name: &str,
    text: &str,
    path: &PropertyPath,
    full: &PropertyPath,
    value: &EditValue,
) -> anyhow::Result<String> {
    if path.0.is_empty() {
        bail!("path must contain at least one element");
    }
    let mut doc = parse(name, text)
        .context("parsing the definition")?
        .unwrap_or(Tree::Map(Vec::new()));
    let at = At {
        idx: 0,
        offset: full.0.len() - path.0.len(),
        user: path,
    };
    // the reference's errors, on the tree; then the edit itself, on the text
    set_at(&mut doc, &full.0, Tree::Null, at)?;
    let edited =
        esc_syntax::edit::set_value(text, &doc_path_text(full), value).map_err(edit_error)?;
    Ok(as_marshaled(text, edited))
}

/// The reference re-marshals the whole document with yaml.v3 (four-space
/// indent) before it sends it, so positions in the server's diagnostics
/// refer to that text. A document already in that form (or empty: one esc
/// wrote) is re-emitted the same way after the edit, so positions match
/// the reference's; a document the user laid out otherwise keeps their
/// text and only the edited part changes.
fn as_marshaled(before: &str, edited: String) -> String {
    let marshaled = before.trim().is_empty()
        || esc_syntax::emit::reemit(before, 4).is_ok_and(|again| again == before);
    if !marshaled {
        return edited;
    }
    esc_syntax::emit::reemit(&edited, 4).unwrap_or(edited)
}

/// Delete `path` from `text`; `None` when the document is empty.
pub(crate) fn delete(
    name: &str,
    text: &str,
    path: &PropertyPath,
) -> anyhow::Result<Option<String>> {
    if path.0.is_empty() {
        bail!("path must contain at least one element");
    }
    let Some(mut doc) = parse(name, text).context("parsing the definition")? else {
        return Ok(None);
    };
    let full = document_path(path);
    let at = At {
        idx: 0,
        offset: full.0.len() - path.0.len(),
        user: path,
    };
    delete_at(&mut doc, &full.0, at)?;
    let edited = esc_syntax::edit::delete_value(text, &doc_path_text(&full)).map_err(edit_error)?;
    Ok(Some(as_marshaled(text, edited)))
}

/// Where an accessor is: its index in the document path and how many
/// accessors (`values`) precede the user's path there.
#[derive(Clone, Copy)]
struct At<'a> {
    idx: usize,
    offset: usize,
    user: &'a PropertyPath,
}

impl At<'_> {
    fn next(self) -> Self {
        At {
            idx: self.idx + 1,
            ..self
        }
    }

    /// The user's path up to and including this accessor, for messages
    /// like `string.bar: ...`.
    fn prefix(self) -> String {
        let upto = (self.idx + 1).saturating_sub(self.offset);
        let mut out = String::new();
        for (i, a) in self.user.0.iter().take(upto).enumerate() {
            match a {
                Accessor::Key(k)
                    if !k.is_empty() && k.chars().all(|c| c.is_alphanumeric() || c == '_') =>
                {
                    if i > 0 {
                        out.push('.');
                    }
                    out.push_str(k);
                }
                Accessor::Key(k) => out.push_str(&format!("[{}]", esc_eval::go_quote(k))),
                Accessor::Index(n) => out.push_str(&format!("[{n}]")),
            }
        }
        out
    }
}

fn set_at(node: &mut Tree, path: &[Accessor], value: Tree, at: At<'_>) -> anyhow::Result<()> {
    let Some((first, rest)) = path.split_first() else {
        *node = value;
        return Ok(());
    };
    // A missing or null container becomes what the accessor needs.
    if matches!(node, Tree::Null) {
        *node = match first {
            Accessor::Key(_) => Tree::Map(Vec::new()),
            Accessor::Index(_) => Tree::Seq(Vec::new()),
        };
    }
    let child = match (node, first) {
        (Tree::Map(entries), Accessor::Key(k)) => {
            let idx = match entries.iter().position(|(key, _)| key == k) {
                Some(idx) => idx,
                None => {
                    entries.push((k.clone(), Tree::Null));
                    entries.len() - 1
                }
            };
            &mut entries[idx].1
        }
        (Tree::Seq(items), Accessor::Index(i)) => {
            if *i > items.len() {
                bail!("{}: array index out of range", at.prefix());
            }
            if *i == items.len() {
                items.push(Tree::Null);
            }
            &mut items[*i]
        }
        (Tree::Seq(_), Accessor::Key(_)) => {
            bail!("{}: key for an array must be an int", at.prefix())
        }
        (Tree::Map(_), Accessor::Index(_)) => {
            bail!("{}: key for a map must be a string", at.prefix())
        }
        _ => bail!("{}: expected an array or an object", at.prefix()),
    };
    set_at(child, rest, value, at.next())
}

fn delete_at(node: &mut Tree, path: &[Accessor], at: At<'_>) -> anyhow::Result<()> {
    let Some((first, rest)) = path.split_first() else {
        return Ok(());
    };
    match (node, first) {
        (Tree::Map(entries), Accessor::Key(k)) => {
            let Some(idx) = entries.iter().position(|(key, _)| key == k) else {
                return Ok(());
            };
            if rest.is_empty() {
                entries.remove(idx);
                Ok(())
            } else {
                delete_at(&mut entries[idx].1, rest, at.next())
            }
        }
        (Tree::Seq(items), Accessor::Index(i)) => {
            if *i >= items.len() {
                bail!("{}: array index out of range", at.prefix());
            }
            if rest.is_empty() {
                items.remove(*i);
                Ok(())
            } else {
                delete_at(&mut items[*i], rest, at.next())
            }
        }
        (Tree::Seq(_), Accessor::Key(_)) => {
            bail!("{}: key for an array must be an int", at.prefix())
        }
        (Tree::Map(_), Accessor::Index(_)) => {
            bail!("{}: key for a map must be a string", at.prefix())
        }
        (Tree::Null, _) => Ok(()),
        _ => bail!("{}: expected an array or an object", at.prefix()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(p: &str) -> PropertyPath {
        PropertyPath::parse(p).unwrap()
    }

    fn string(s: &str) -> EditValue {
        EditValue::String(s.into())
    }

    #[test]
    fn set_creates_values_and_intermediates() {
        // an empty document comes out as yaml.v3 marshals it (four spaces)
        let out = set("t", "", &path("a.b[0]"), &EditValue::Number("1".into())).unwrap();
        assert_eq!(out, "values:\n    a:\n        b:\n            - 1\n");
        // and stays so: a document in that form is re-marshaled after an edit
        let out = set("t", &out, &path("a.c"), &string("x")).unwrap();
        assert_eq!(
            out,
            "values:\n    a:\n        b:\n            - 1\n        c: x\n"
        );
        let out = delete("t", &out, &path("a.b")).unwrap().unwrap();
        assert_eq!(out, "values:\n    a:\n        c: x\n");
        let out = set(
            "t",
            "imports:\n  - base\nvalues:\n  x: 1\n",
            &path("z"),
            &string("hi"),
        )
        .unwrap();
        assert_eq!(out, "imports:\n  - base\nvalues:\n  x: 1\n  z: hi\n");
        let out = set(
            "t",
            "values:\n  x: 1\n",
            &path("x"),
            &secret(EditValue::Number("1234".into()), "1234"),
        )
        .unwrap();
        assert_eq!(out, "values:\n  x:\n    fn::secret: \"1234\"\n");
        let out = set(
            "t",
            "values: {}\n",
            &path("imports"),
            &EditValue::Sequence(vec![]),
        )
        .unwrap();
        assert_eq!(out, "values: {}\nimports: []\n");
    }

    #[test]
    fn set_keeps_comments_and_styles() {
        let doc = "# top\nvalues:\n  # about a\n  a: \"quoted\" # trailing\n  l: [x, y]\n";
        let out = set("t", doc, &path("a"), &parse_value("new", false).unwrap()).unwrap();
        assert_eq!(out, doc.replace("\"quoted\"", "\"new\""));
        let value = parse_value(r#"{"fn::open::test": 'esc'}"#, false).unwrap();
        let out = set("t", doc, &path("open"), &value).unwrap();
        assert_eq!(
            out,
            format!("{doc}  open:\n    \"fn::open::test\": 'esc'\n")
        );
        let out = set("t", doc, &path("l[2]"), &string("z")).unwrap();
        assert_eq!(out, doc.replace("[x, y]", "[x, y, z]"));
    }

    #[test]
    fn set_errors() {
        let doc = "values:\n  string: s\n  array: [1]\n  object: {}\n";
        let err = |p: &str| {
            set("t", doc, &path(p), &EditValue::Null)
                .unwrap_err()
                .to_string()
        };
        assert_eq!(
            err("string.bar"),
            "string.bar: expected an array or an object"
        );
        assert_eq!(
            err("array.foo"),
            "array.foo: key for an array must be an int"
        );
        assert_eq!(
            err("object[0]"),
            "object[0]: key for a map must be a string"
        );
        assert_eq!(err("array[5]"), "array[5]: array index out of range");
        assert!(set("t", doc, &PropertyPath::default(), &EditValue::Null).is_err());
    }

    #[test]
    fn delete_paths() {
        let doc = "values:\n  # about a\n  a: 1\n  l: [1, 2]\n";
        assert_eq!(
            delete("t", doc, &path("a")).unwrap().unwrap(),
            "values:\n  l: [1, 2]\n"
        );
        assert_eq!(
            delete("t", doc, &path("l[0]")).unwrap().unwrap(),
            "values:\n  # about a\n  a: 1\n  l: [2]\n"
        );
        assert_eq!(delete("t", doc, &path("zz")).unwrap().unwrap(), doc);
        assert_eq!(
            delete("t", "values:\n  a: 1\n", &path("a"))
                .unwrap()
                .unwrap(),
            "values: {}\n"
        );
        assert_eq!(
            delete("t", doc, &path("l[7]")).unwrap_err().to_string(),
            "l[7]: array index out of range"
        );
        assert_eq!(delete("t", "", &path("a")).unwrap(), None);
    }

    #[test]
    fn secret_heuristic() {
        let looks = |key: &str, value: &str| looks_like_secret(&path(key), &string(value));
        // the golden value: random base64
        assert!(looks(
            "password",
            "YMHdog6VkUqbVS5dAErxWeMy83r4HeBeNRdEuUFwK3M="
        ));
        assert!(looks("apiToken", "x8#kQ2!vL9zP4m"));
        // short, simple or patterned values do not
        assert!(!looks("password", "hunter2"));
        assert!(!looks("password", "aaaaaaaaaaaaaaaaaaaaaaaa"));
        assert!(!looks("password", "abcdefghijklmnop"));
        assert!(!looks("token", "1234567890123456"));
        assert!(!looks("PASSWORD", "${password}"));
        assert!(!looks("password", "changeme-secret-token"));
        // other keys and non-strings are never checked
        assert!(!looks(
            "greeting",
            "YMHdog6VkUqbVS5dAErxWeMy83r4HeBeNRdEuUFwK3M="
        ));
        assert!(!looks_like_secret(
            &path("password"),
            &EditValue::Number("1".into())
        ));
        assert!(!looks_like_secret(
            &path("a[0]"),
            &string("YMHdog6VkUqbVS5d")
        ));
    }

    #[test]
    fn values_parse_as_yaml_unless_string() {
        assert_eq!(
            parse_value("42", false).unwrap(),
            EditValue::Number("42".into())
        );
        assert_eq!(
            parse_value("[a, 'b']", false).unwrap(),
            EditValue::Sequence(vec![
                EditValue::Styled("a".into(), StringStyle::Plain),
                EditValue::Styled("b".into(), StringStyle::SingleQuoted)
            ])
        );
        // the value's own style is the target's business
        assert_eq!(parse_value("'x'", false).unwrap(), string("x"));
        assert_eq!(parse_value("42", true).unwrap(), string("42"));
        assert_eq!(parse_value("", false).unwrap(), string(""));
        assert!(
            parse_value("[a, b", false)
                .unwrap_err()
                .to_string()
                .starts_with("invalid value: ")
        );
    }
}
