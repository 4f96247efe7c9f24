//! Editing a definition for `env set` and `env rm <path>` (spec/CLI.md § 7):
//! parse into an ordered tree, set or delete at a property path, emit again.
//!
//! Known difference from the reference: comments and scalar quoting styles
//! of the edited document are not preserved (the tree keeps key order and
//! values only).

use anyhow::{Context as _, bail};
use esc_syntax::{Node, NodeKind};

use crate::format::yaml::{Tree, emit};
use crate::value::{Accessor, PropertyPath};

/// Indentation of re-emitted definitions (what `env get` shows).
const STEP: usize = 2;

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

/// Parse a value given on the command line (YAML unless `as_string`).
pub(crate) fn parse_value(text: &str, as_string: bool) -> anyhow::Result<Tree> {
    if as_string {
        return Ok(Tree::String(text.to_string()));
    }
    match esc_syntax::parse_document("value", text) {
        Ok(Some(node)) => Ok(tree_of(&node)),
        Ok(None) => Ok(Tree::String(String::new())),
        Err(diag) => bail!("invalid value: {}", diag.summary),
    }
}

/// Wrap `value` as `{fn::secret: value}`; a non-string scalar becomes the
/// string it was typed as.
pub(crate) fn secret(value: Tree, typed: &str) -> Tree {
    let inner = match value {
        Tree::Null | Tree::Bool(_) | Tree::Number(_) => Tree::String(typed.trim().to_string()),
        other => other,
    };
    Tree::Map(vec![("fn::secret".to_string(), inner)])
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

/// Set `path` (a user path) to `value` in `text`; returns the new text.
pub(crate) fn set(
    name: &str,
    text: &str,
    path: &PropertyPath,
    value: Tree,
) -> anyhow::Result<String> {
    if path.0.is_empty() {
        bail!("path must contain at least one element");
    }
    let mut doc = parse(name, text)
        .context("parsing the definition")?
        .unwrap_or(Tree::Map(Vec::new()));
    let full = document_path(path);
    let at = At {
        idx: 0,
        offset: full.0.len() - path.0.len(),
        user: path,
    };
    set_at(&mut doc, &full.0, value, at)?;
    Ok(emit(&doc, STEP))
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
    Ok(Some(emit(&doc, STEP)))
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

    #[test]
    fn set_creates_values_and_intermediates() {
        let out = set("t", "", &path("a.b[0]"), Tree::Number("1".into())).unwrap();
        assert_eq!(out, "values:\n  a:\n    b:\n      - 1\n");
        let out = set(
            "t",
            "imports:\n  - base\nvalues:\n  x: 1\n",
            &path("z"),
            Tree::String("hi".into()),
        )
        .unwrap();
        assert_eq!(out, "imports:\n  - base\nvalues:\n  x: 1\n  z: hi\n");
        let out = set(
            "t",
            "values:\n  x: 1\n",
            &path("x"),
            secret(Tree::Number("1234".into()), "1234"),
        )
        .unwrap();
        assert_eq!(out, "values:\n  x:\n    fn::secret: \"1234\"\n");
        let out = set("t", "values: {}\n", &path("imports"), Tree::Seq(vec![])).unwrap();
        assert_eq!(out, "values: {}\nimports: []\n");
    }

    #[test]
    fn set_errors() {
        let doc = "values:\n  string: s\n  array: [1]\n  object: {}\n";
        let err = |p: &str| set("t", doc, &path(p), Tree::Null).unwrap_err().to_string();
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
        assert!(set("t", doc, &PropertyPath::default(), Tree::Null).is_err());
    }

    #[test]
    fn delete_paths() {
        let doc = "values:\n  a: 1\n  l: [1, 2]\n";
        assert_eq!(
            delete("t", doc, &path("a")).unwrap().unwrap(),
            "values:\n  l:\n    - 1\n    - 2\n"
        );
        assert_eq!(
            delete("t", doc, &path("l[0]")).unwrap().unwrap(),
            "values:\n  a: 1\n  l:\n    - 2\n"
        );
        assert_eq!(
            delete("t", doc, &path("zz")).unwrap().unwrap(),
            "values:\n  a: 1\n  l:\n    - 1\n    - 2\n"
        );
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
    fn values_parse_as_yaml_unless_string() {
        assert_eq!(parse_value("42", false).unwrap(), Tree::Number("42".into()));
        assert_eq!(
            parse_value("[a, b]", false).unwrap(),
            Tree::Seq(vec![Tree::String("a".into()), Tree::String("b".into())])
        );
        assert_eq!(parse_value("42", true).unwrap(), Tree::String("42".into()));
        assert_eq!(parse_value("", false).unwrap(), Tree::String(String::new()));
        assert!(
            parse_value("[a, b", false)
                .unwrap_err()
                .to_string()
                .starts_with("invalid value: ")
        );
    }
}
