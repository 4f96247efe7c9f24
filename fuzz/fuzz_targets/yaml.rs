//! Fuzz target: any text through the YAML layer, the interpolation parser and the edits.
#![no_main]

use esc_syntax::edit::{EditError, EditValue, encrypt_secrets, set_value};
use esc_syntax::{Node, NodeKind, parse_document, parse_interpolation};
use libfuzzer_sys::fuzz_target;

fn strings(node: &Node) {
    match &node.kind {
        NodeKind::String { value, .. } => {
            let _ = parse_interpolation(value, node);
        }
        NodeKind::Sequence(items) => items.iter().for_each(strings),
        NodeKind::Mapping(entries) => entries.iter().for_each(|(k, v)| {
            strings(k);
            strings(v);
        }),
        _ => {}
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(Some(root)) = parse_document("fuzz", text) {
        strings(&root);
        if let Ok(out) = encrypt_secrets::<EditError>(text, |s| Ok(format!("x{}", s.len()))) {
            assert!(parse_document("fuzz", &out).is_ok(), "secrets rewrite broke the document");
        }
        let value = EditValue::Mapping(vec![("k".into(), EditValue::String("v: w".into()))]);
        if let Ok(out) = set_value(text, r#"values.a["b"][0]"#, &value) {
            assert!(parse_document("fuzz", &out).is_ok(), "write-back broke the document");
        }
    }
});
