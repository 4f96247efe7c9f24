//! The yaml.v3 re-emitter over every definition of the conformance fixtures
//! (`shared/conformance/esc-eval/*/*.yaml`): the re-emitted text reads back
//! as the same values at two and four spaces, and re-emitting it again
//! changes nothing.

use std::path::Path;

use esc_syntax::emit::reemit;
use esc_syntax::{Node, NodeKind, parse_document};

/// A node's values without ranges or string styles.
fn values(node: &Node) -> String {
    match &node.kind {
        NodeKind::String { value, .. } => format!("{value:?}"),
        NodeKind::Sequence(items) => {
            format!(
                "[{}]",
                items.iter().map(values).collect::<Vec<_>>().join(",")
            )
        }
        NodeKind::Mapping(entries) => format!(
            "{{{}}}",
            entries
                .iter()
                .map(|(k, v)| format!("{}:{}", values(k), values(v)))
                .collect::<Vec<_>>()
                .join(",")
        ),
        other => format!("{other:?}"),
    }
}

#[test]
fn fixture_definitions_keep_their_values() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/conformance/esc-eval");
    let mut checked = 0;
    for case in std::fs::read_dir(&dir).unwrap() {
        let case = case.unwrap().path();
        if !case.is_dir() {
            continue;
        }
        for file in std::fs::read_dir(&case).unwrap() {
            let file = file.unwrap().path();
            if file.extension().is_none_or(|e| e != "yaml") {
                continue;
            }
            let text = std::fs::read_to_string(&file).unwrap();
            let Ok(Some(original)) = parse_document("env", &text) else {
                continue;
            };
            for indent in [2, 4] {
                let emitted = reemit(&text, indent).unwrap();
                let reread = parse_document("env", &emitted)
                    .unwrap_or_else(|d| panic!("{file:?} at {indent}: {}\n{emitted}", d.summary))
                    .unwrap();
                assert_eq!(
                    values(&reread),
                    values(&original),
                    "{file:?} at {indent}:\n{emitted}"
                );
                assert_eq!(
                    reemit(&emitted, indent).unwrap(),
                    emitted,
                    "{file:?} at {indent}"
                );
            }
            checked += 1;
        }
    }
    assert!(checked >= 30, "only {checked} definitions under {dir:?}");
}
