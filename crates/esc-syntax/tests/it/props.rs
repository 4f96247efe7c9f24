//! Properties: no input panics the parsers, every outcome is a tree or a
//! diagnostic, generated accesses round-trip, `$$` escaping round-trips,
//! setting an existing node of a document changes only that node.

use std::sync::Arc;

use esc_syntax::edit::{EditValue, set_value};
use esc_syntax::{
    Accessor, DocPath, InterpolationKind, Node, NodeKind, Pos, Range, ScalarStyle, parse_document,
    parse_interpolation,
};
use proptest::prelude::*;

/// Text made of YAML-significant pieces, so the parser sees many shapes.
fn yamlish() -> impl Strategy<Value = String> {
    let piece = prop::sample::select(vec![
        "a",
        "b: ",
        ":",
        "- ",
        "-",
        "\n",
        "  ",
        "\t",
        "[",
        "]",
        "{",
        "}",
        ",",
        "\"",
        "'",
        "|",
        ">",
        "#",
        "&x ",
        "*x",
        "!!str ",
        "!t ",
        "? ",
        "---\n",
        "...\n",
        "1",
        "0x1F",
        ".5",
        "~",
        "true",
        "${a.b}",
        "$$",
        "é",
        "日",
        "😀",
        "\r\n",
        "\\",
        "%YAML 1.2\n",
        "@",
        "`",
        "\u{FEFF}",
    ]);
    prop::collection::vec(piece, 0..40).prop_map(|pieces| pieces.concat())
}

fn check_tree(node: &Node, filename: &str) {
    assert_eq!(&*node.range.filename, filename);
    assert!(node.range.start.line >= 1 && node.range.start.column >= 1);
    match &node.kind {
        NodeKind::Sequence(items) => items.iter().for_each(|n| check_tree(n, filename)),
        NodeKind::Mapping(entries) => {
            for (k, v) in entries {
                assert!(matches!(k.kind, NodeKind::String { .. }));
                check_tree(k, filename);
                check_tree(v, filename);
            }
        }
        _ => {}
    }
}

fn check_document(text: &str) {
    match parse_document("env", text) {
        Ok(None) => assert!(text.is_empty()),
        Ok(Some(node)) => check_tree(&node, "env"),
        Err(diag) => assert!(!diag.summary.is_empty()),
    }
}

fn plain_node(value: &str) -> Node {
    let start = Pos {
        line: 3,
        column: 5,
        byte: 40,
    };
    let width = u32::try_from(value.len()).unwrap_or(u32::MAX);
    Node {
        range: Range::new(
            Arc::from("env"),
            start,
            Pos {
                line: 3,
                column: 5 + width,
                byte: 40 + width,
            },
        ),
        kind: NodeKind::String {
            value: value.to_owned(),
            style: ScalarStyle::Plain,
        },
    }
}

#[derive(Clone, Debug)]
enum Step {
    Name(String),
    Key(String),
    Index(i64),
}

fn render(steps: &[Step]) -> String {
    let mut text = String::from("${");
    for (i, step) in steps.iter().enumerate() {
        match step {
            Step::Name(name) if i == 0 => text.push_str(name),
            Step::Name(name) => {
                text.push('.');
                text.push_str(name);
            }
            Step::Key(key) => {
                text.push_str("[\"");
                text.push_str(&key.replace('"', "\\\""));
                text.push_str("\"]");
            }
            Step::Index(index) => text.push_str(&format!("[{index}]")),
        }
    }
    text.push('}');
    text
}

fn access() -> impl Strategy<Value = Vec<Step>> {
    let name = "[a-zA-Z_][a-zA-Z0-9_-]{0,8}".prop_map(Step::Name);
    // keys: anything but a backslash right before a quote or at the end, and not empty
    let key = "[^\\\\]{1,8}".prop_map(Step::Key);
    let index = any::<i64>().prop_map(Step::Index);
    let first = prop_oneof![name.clone(), key.clone()];
    let rest = prop::collection::vec(prop_oneof![name, key, index], 0..5);
    (first, rest).prop_map(|(first, mut rest)| {
        rest.insert(0, first);
        rest
    })
}

/// 512 cases a property unless `PROPTEST_CASES` asks for more (or fewer):
/// long random hunts run as `PROPTEST_CASES=200000 cargo test ... props::`.
fn config() -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(512);
    ProptestConfig {
        cases,
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn arbitrary_strings_never_panic_the_yaml_parser(text in any::<String>()) {
        check_document(&text);
    }

    #[test]
    fn yamlish_strings_never_panic_the_yaml_parser(text in yamlish()) {
        check_document(&text);
    }

    #[test]
    fn yamlish_strings_never_panic_the_reemitter(text in yamlish()) {
        // Whatever the parser accepts, the yaml.v3 re-emitter accepts too.
        let accepted = matches!(parse_document("env", &text), Ok(Some(_)));
        for indent in [2, 4] {
            let emitted = esc_syntax::emit::reemit(&text, indent);
            prop_assert!(!accepted || emitted.is_ok(), "{:?}: {:?}", text, emitted);
        }
    }

    #[test]
    fn arbitrary_strings_never_panic_the_reemitter(text in any::<String>()) {
        let _ = esc_syntax::emit::reemit(&text, 2);
    }

    #[test]
    fn arbitrary_bytes_never_panic_the_yaml_parser(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
        check_document(&String::from_utf8_lossy(&bytes));
    }

    #[test]
    fn arbitrary_strings_never_panic_the_interpolation_parser(
        text in prop_oneof![any::<String>(), "[$\\{\\}\\[\\]\\.\"\\\\ a0-9à]{0,30}"]
    ) {
        let node = plain_node(&text);
        let (parsed, diags) = parse_interpolation(&text, &node);
        for diag in &diags {
            let range = diag.range.as_ref().expect("interpolation errors have a range");
            prop_assert_eq!(range.start.line, 3);
            prop_assert!(range.start.column >= 5 && range.end.column >= range.start.column);
        }
        for part in &parsed.parts {
            if let Some(access) = &part.access {
                prop_assert!(!access.accessors.is_empty());
            }
        }
        // no `$` means nothing to interpolate
        if !text.contains('$') {
            prop_assert!(diags.is_empty());
            let expected = InterpolationKind::Literal(&text);
            prop_assert_eq!(parsed.kind(), expected);
        }
    }

    #[test]
    fn doubled_dollars_are_always_literal(text in any::<String>()) {
        let escaped = text.replace('$', "$$");
        let node = plain_node(&escaped);
        let (parsed, diags) = parse_interpolation(&escaped, &node);
        prop_assert!(diags.is_empty());
        prop_assert_eq!(parsed.kind(), InterpolationKind::Literal(&text));
    }

    #[test]
    fn rendered_accesses_round_trip(steps in access(), before in "[a-z ]{0,3}") {
        let text = format!("{before}{}", render(&steps));
        let node = plain_node(&text);
        let (parsed, diags) = parse_interpolation(&text, &node);
        prop_assert!(diags.is_empty(), "{:?}", diags);
        prop_assert_eq!(parsed.parts.len(), 1);
        prop_assert_eq!(&parsed.parts[0].text, &before);
        let accessors = &parsed.parts[0].access.as_ref().unwrap().accessors;
        prop_assert_eq!(accessors.len(), steps.len());
        let mut column = 5 + u32::try_from(before.len()).unwrap() + 2;
        for (step, accessor) in steps.iter().zip(accessors) {
            match (step, accessor) {
                (Step::Name(a), Accessor::Name { name, .. }) => prop_assert_eq!(a, name),
                (Step::Key(a), Accessor::Key { key, .. }) => prop_assert_eq!(a, key),
                (Step::Index(a), Accessor::Index { index, .. }) => prop_assert_eq!(a, index),
                (a, b) => prop_assert!(false, "{:?} parsed as {:?}", a, b),
            }
            // accessor ranges tile the access text (ASCII here)
            let range = accessor.range();
            if steps.iter().all(|s| !matches!(s, Step::Key(k) if !k.is_ascii())) {
                prop_assert_eq!(range.start.column, column);
                column = range.end.column;
            }
        }
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn setting_a_node_of_a_yamlish_document_changes_only_that_node(text in yamlish()) {
        // What the rotation write-back and `esc env set` rely on: on any
        // document the parser accepts, setting an existing node keeps the
        // document valid, puts the value there and leaves the rest alone.
        // (explicit `? ` keys are left out: esoteric, and the edit module
        // does not track their spans)
        let Ok(Some(root)) = parse_document("x", &text) else {
            return Ok(());
        };
        if text.contains('?') {
            return Ok(());
        }
        if !matches!(root.kind, NodeKind::Mapping(_) | NodeKind::Sequence(_)) {
            return Ok(());
        }
        let mut all = Vec::new();
        crate::edit::paths(&root, DocPath::root(), &mut all);
        let marker = EditValue::Mapping(vec![("edited".into(), EditValue::String("yes: $x".into()))]);
        for path in all.into_iter().take(12) {
            let out = match set_value(&text, path.as_str(), &marker) {
                Ok(out) => out,
                // documents with aliases or several `<<` are refused, not damaged
                Err(_) => continue,
            };
            let edited = parse_document("x", &out);
            prop_assert!(matches!(edited, Ok(Some(_))), "{} in {:?}: {:?}\n{}", path, text, edited, out);
            let Ok(Some(edited)) = edited else { continue };
            prop_assert_eq!(
                crate::edit::shape(&edited, DocPath::root(), &path),
                crate::edit::shape(&root, DocPath::root(), &path),
                "{} in {:?}:\n{}", path, text, out
            );
        }
    }
}
