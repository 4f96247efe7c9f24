//! Edits over every conformance fixture document: setting any existing
//! node changes that node only, and the secrets rewrite keeps documents
//! valid.

use std::path::{Path, PathBuf};

use esc_syntax::edit::{EditError, EditValue, decrypt_secrets, encrypt_secrets, set_value};
use esc_syntax::{DocPath, Node, NodeKind, parse_document};

fn fixture_documents() -> Vec<(PathBuf, String)> {
    fn walk(dir: &Path, out: &mut Vec<(PathBuf, String)>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "yaml") {
                let text = std::fs::read_to_string(&path).unwrap();
                if matches!(parse_document("x", &text), Ok(Some(_))) {
                    out.push((path, text));
                }
            }
        }
    }
    let mut out = Vec::new();
    walk(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/conformance/esc-eval"),
        &mut out,
    );
    out.sort();
    assert!(out.len() > 50);
    out
}

/// Paths of every node below the root (first of duplicate keys only, as
/// `set_value` edits the first).
pub(crate) fn paths(node: &Node, path: DocPath, out: &mut Vec<DocPath>) {
    match &node.kind {
        NodeKind::Sequence(items) => {
            for (i, item) in items.iter().enumerate() {
                out.push(path.index(i));
                paths(item, path.index(i), out);
            }
        }
        NodeKind::Mapping(entries) => {
            let mut seen = Vec::new();
            for (key, value) in entries {
                let key = key.as_str().unwrap();
                if seen.contains(&key) {
                    continue;
                }
                seen.push(key);
                out.push(path.key(key));
                paths(value, path.key(key), out);
            }
        }
        _ => {}
    }
}

/// The tree without ranges, as comparable text; the node at `skip` is blanked.
pub(crate) fn shape(node: &Node, path: DocPath, skip: &DocPath) -> String {
    if &path == skip {
        return "<edited>".to_owned();
    }
    match &node.kind {
        NodeKind::Sequence(items) => {
            let items: Vec<_> = items
                .iter()
                .enumerate()
                .map(|(i, n)| shape(n, path.index(i), skip))
                .collect();
            format!("[{}]", items.join(","))
        }
        NodeKind::Mapping(entries) => {
            let mut seen = Vec::new();
            let mut parts = Vec::new();
            for (k, v) in entries {
                let key = k.as_str().unwrap();
                // duplicates after the first are not addressed by paths
                let child = if seen.contains(&key) {
                    DocPath::root().key("\u{0}dup")
                } else {
                    path.key(key)
                };
                seen.push(key);
                parts.push(format!("{key:?}:{}", shape(v, child, skip)));
            }
            format!("{{{}}}", parts.join(","))
        }
        other => format!("{other:?}"),
    }
}

#[test]
fn setting_any_node_changes_only_that_node() {
    let mut edits = 0;
    for (file, text) in fixture_documents() {
        let root = parse_document("x", &text).unwrap().unwrap();
        let mut all = Vec::new();
        paths(&root, DocPath::root(), &mut all);
        for path in all {
            let marker = EditValue::Mapping(vec![(
                "edited".into(),
                EditValue::String("yes: really".into()),
            )]);
            let out = set_value(&text, path.as_str(), &marker)
                .unwrap_or_else(|e| panic!("{file:?} {path}: {e}"));
            let edited = parse_document("x", &out)
                .unwrap_or_else(|e| panic!("{file:?} {path}: {e:?}\n{out}"))
                .unwrap();
            assert_eq!(
                shape(&edited, DocPath::root(), &path),
                shape(&root, DocPath::root(), &path),
                "{file:?} {path}:\n{out}"
            );
            // the edited node holds the marker
            let mut node = &edited;
            for segment in esc_syntax::edit::parse_doc_path(path.as_str()).unwrap() {
                node = match (&node.kind, segment) {
                    (NodeKind::Mapping(e), esc_syntax::edit::PathSegment::Key(k)) => {
                        &e.iter()
                            .find(|(key, _)| key.as_str() == Some(&k))
                            .unwrap()
                            .1
                    }
                    (NodeKind::Sequence(items), esc_syntax::edit::PathSegment::Index(i)) => {
                        &items[i]
                    }
                    _ => panic!("{file:?} {path}: path lost\n{out}"),
                };
            }
            let NodeKind::Mapping(entries) = &node.kind else {
                panic!("{file:?} {path}:\n{out}")
            };
            assert_eq!(entries[0].1.as_str(), Some("yes: really"));
            edits += 1;
        }
    }
    assert!(edits > 500, "only {edits} edits");
}

#[test]
fn secrets_rewrite_keeps_every_fixture_valid() {
    let mut rewritten = 0;
    for (file, text) in fixture_documents() {
        let mut count = 0;
        let encrypted = encrypt_secrets::<EditError>(&text, |plain| {
            count += 1;
            Ok(format!("enc:{plain}"))
        })
        .unwrap();
        let root = parse_document("x", &encrypted)
            .unwrap_or_else(|e| panic!("{file:?}: {e:?}\n{encrypted}"));
        assert!(root.is_some());
        if count == 0 {
            assert_eq!(encrypted, text);
        }
        let decrypted = decrypt_secrets::<EditError>(&encrypted, |ct| {
            Ok(ct.strip_prefix("enc:").unwrap_or(ct).to_owned())
        })
        .unwrap();
        assert!(
            parse_document("x", &decrypted).is_ok(),
            "{file:?}\n{decrypted}"
        );
        rewritten += count;
    }
    // fixtures `plaintext` and `omnibus` (`import-invalid/bad.yaml` has a
    // top-level `fn::secret` property, which is not a call)
    assert_eq!(rewritten, 2);
}
