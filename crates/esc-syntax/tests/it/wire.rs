//! JSON shapes of diagnostics (spec §7) and ranges (spec §9).

use std::sync::Arc;

use esc_syntax::{Diagnostic, Pos, Range};
use serde_json::json;

fn range() -> Range {
    Range::new(
        Arc::from("invalid-access-load"),
        Pos {
            line: 3,
            column: 9,
            byte: 38,
        },
        Pos {
            line: 3,
            column: 10,
            byte: 39,
        },
    )
}

#[test]
fn diagnostic_serialises_like_the_reference() {
    let diag = Diagnostic::error("boom", Some(range()), "values.a[0]");
    assert_eq!(
        serde_json::to_value(&diag).unwrap(),
        json!({
            "Severity": 1, "Summary": "boom", "Detail": "",
            "Subject": {"Filename": "invalid-access-load",
                        "Start": {"Line": 3, "Column": 9, "Byte": 38},
                        "End": {"Line": 3, "Column": 10, "Byte": 39}},
            "Context": null, "Expression": null, "EvalContext": null, "Extra": null,
            "Path": "values.a[0]"
        })
    );
    let warning = Diagnostic::warning("w", None, "");
    assert_eq!(
        serde_json::to_value(&warning).unwrap(),
        json!({
            "Severity": 2, "Summary": "w", "Detail": "", "Subject": null,
            "Context": null, "Expression": null, "EvalContext": null, "Extra": null,
            "Path": ""
        })
    );
}

#[test]
fn range_serialises_like_section_9() {
    assert_eq!(
        serde_json::to_value(range()).unwrap(),
        json!({"environment": "invalid-access-load",
               "begin": {"line": 3, "column": 9, "byte": 38},
               "end": {"line": 3, "column": 10, "byte": 39}})
    );
    assert_eq!(
        serde_json::to_value(Range::zero()).unwrap(),
        json!({"begin": {"line": 0, "column": 0, "byte": 0},
               "end": {"line": 0, "column": 0, "byte": 0}})
    );
}
