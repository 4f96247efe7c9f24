//! Fuzz target: any text through `parse_interpolation`, as a plain and as a quoted scalar.
#![no_main]

use std::sync::Arc;

use esc_syntax::{Node, NodeKind, Pos, Range, ScalarStyle, parse_interpolation};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let width = u32::try_from(text.len()).unwrap_or(u32::MAX);
    for style in [ScalarStyle::Plain, ScalarStyle::DoubleQuoted] {
        let node = Node {
            range: Range::new(
                Arc::from("fuzz"),
                Pos { line: 1, column: 1, byte: 0 },
                Pos { line: 1, column: 1u32.saturating_add(width), byte: width },
            ),
            kind: NodeKind::String { value: text.to_owned(), style },
        };
        let (parsed, diags) = parse_interpolation(text, &node);
        assert!(diags.iter().all(|d| d.range.is_some()));
        assert!(parsed.parts.iter().all(|p| p.access.as_ref().is_none_or(|a| !a.accessors.is_empty())));
    }
});
