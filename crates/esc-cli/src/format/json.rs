//! JSON output (spec/CLI.md § 6.1): Go `encoding/json` `MarshalIndent`
//! with two spaces, HTML-safe escaping, numbers as their source text.

use esc_eval::{PlainValue, write_json_string};

/// `value` as indented JSON followed by a newline.
pub(crate) fn render(value: &PlainValue) -> String {
    let mut out = String::new();
    write_indented(value, 0, &mut out);
    out.push('\n');
    out
}

/// Append the indented JSON of `value` at nesting `depth` (no newline).
pub(crate) fn write_indented(value: &PlainValue, depth: usize, out: &mut String) {
    match value {
        PlainValue::Null => out.push_str("null"),
        PlainValue::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        PlainValue::Number(n) => out.push_str(n),
        PlainValue::String(s) => write_json_string(s, out),
        PlainValue::Secret(inner) => write_indented(inner, depth, out),
        PlainValue::Array(items) if items.is_empty() => out.push_str("[]"),
        PlainValue::Object(map) if map.is_empty() => out.push_str("{}"),
        PlainValue::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                newline(depth + 1, out);
                write_indented(item, depth + 1, out);
            }
            newline(depth, out);
            out.push(']');
        }
        PlainValue::Object(map) => {
            out.push('{');
            for (i, (k, v)) in map.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                newline(depth + 1, out);
                write_json_string(k, out);
                out.push_str(": ");
                write_indented(v, depth + 1, out);
            }
            newline(depth, out);
            out.push('}');
        }
    }
}

/// A newline and `depth` levels of two-space indentation.
pub(crate) fn newline(depth: usize, out: &mut String) {
    out.push('\n');
    for _ in 0..depth {
        out.push_str("  ");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn golden_open_json() {
        let v = PlainValue::object([
            ("hello", PlainValue::string("world")),
            ("foo", PlainValue::string("bar")),
        ]);
        assert_eq!(
            render(&v),
            "{\n  \"foo\": \"bar\",\n  \"hello\": \"world\"\n}\n"
        );
    }

    #[test]
    fn nesting_escapes_and_empties() {
        let v = PlainValue::from_json(
            r#"{"a":[1,{"b":null}],"e":{},"l":[],"n":3.140,"s":"<yaml> & \u0005"}"#,
        )
        .unwrap();
        assert_eq!(
            render(&v),
            "{\n  \"a\": [\n    1,\n    {\n      \"b\": null\n    }\n  ],\n  \"e\": {},\n  \"l\": [],\n  \"n\": 3.140,\n  \"s\": \"\\u003cyaml\\u003e \\u0026 \\u0005\"\n}\n"
        );
    }
}
