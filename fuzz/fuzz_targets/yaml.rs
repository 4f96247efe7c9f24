//! Fuzz target: any text through the YAML layer, the interpolation parser and the edits.
#![no_main]

use esc_syntax::edit::{EditError, EditValue, decrypt_secrets, encrypt_secrets, set_value};
use esc_syntax::{DocPath, Node, NodeKind, parse_document, parse_interpolation};
use libfuzzer_sys::fuzz_target;

/// Interpolates every string and collects the path of every node.
fn walk(node: &Node, path: DocPath, paths: &mut Vec<DocPath>) {
    match &node.kind {
        NodeKind::String { value, .. } => {
            let _ = parse_interpolation(value, node);
        }
        NodeKind::Sequence(items) => {
            for (i, item) in items.iter().enumerate() {
                paths.push(path.index(i));
                walk(item, path.index(i), paths);
            }
            // appending is allowed too
            paths.push(path.index(items.len()));
        }
        NodeKind::Mapping(entries) => {
            for (key, value) in entries {
                let _ = parse_interpolation(key.as_str().unwrap_or(""), key);
                let child = path.key(key.as_str().unwrap_or(""));
                paths.push(child.clone());
                walk(value, child, paths);
            }
            paths.push(path.key("new key"));
        }
        _ => {}
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(Some(root)) = parse_document("fuzz", text) else { return };
    let mut paths = vec![DocPath::root().key("values").key("a").key("b").index(0)];
    walk(&root, DocPath::root(), &mut paths);

    if let Ok(out) = encrypt_secrets::<EditError>(text, |s| Ok(format!("x{}", s.len()))) {
        assert!(parse_document("fuzz", &out).is_ok(), "secrets rewrite broke the document");
        if let Ok(back) = decrypt_secrets::<EditError>(&out, |c| Ok(c.to_owned())) {
            assert!(parse_document("fuzz", &back).is_ok(), "decrypt rewrite broke the document");
        }
    }
    let value = EditValue::Mapping(vec![
        ("k".into(), EditValue::String("v: w".into())),
        ("s".into(), EditValue::Secret(Box::new(EditValue::Sequence(vec![EditValue::Null])))),
    ]);
    // a few paths, chosen by the input's length so runs differ
    for path in paths.iter().skip(data.len() % 3).step_by(3).take(8) {
        if let Ok(out) = set_value(text, path.as_str(), &value) {
            let edited = parse_document("fuzz", &out);
            assert!(matches!(edited, Ok(Some(_))), "write-back at {path} broke the document:\n{out}");
        }
    }
});
