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

/// A serializable value as `--output json` prints it (spec/CLI.md § 6.9):
/// indented like [`render`], HTML-safe, keys sorted.
pub(crate) fn render_serialize<T: serde::Serialize>(value: &T) -> anyhow::Result<String> {
    let text = serde_json::to_string(value)?;
    let plain = PlainValue::from_json_document(&text)
        .map_err(|error| anyhow::anyhow!("encoding JSON output: {error}"))?;
    Ok(render(&plain))
}

/// JSON whose objects keep their members in the order given: Go marshals a
/// struct in field order (`--output json` of tags and revisions), unlike a
/// map, whose keys it sorts.
pub(crate) enum Ordered {
    /// A value printed as [`write_indented`] does (objects sorted).
    Plain(PlainValue),
    /// An object, members in this order.
    Object(Vec<(&'static str, Ordered)>),
    /// An array.
    Array(Vec<Ordered>),
}

impl Ordered {
    /// A JSON string.
    pub(crate) fn string(text: impl Into<String>) -> Ordered {
        Ordered::Plain(PlainValue::string(text.into()))
    }

    /// A JSON number from its text.
    pub(crate) fn number(text: impl ToString) -> Ordered {
        Ordered::Plain(PlainValue::Number(text.to_string()))
    }
}

/// `value` as indented JSON followed by a newline, objects in their order.
pub(crate) fn render_ordered(value: &Ordered) -> String {
    let mut out = String::new();
    write_ordered(value, 0, &mut out);
    out.push('\n');
    out
}

fn write_ordered(value: &Ordered, depth: usize, out: &mut String) {
    match value {
        Ordered::Plain(plain) => write_indented(plain, depth, out),
        Ordered::Array(items) if items.is_empty() => out.push_str("[]"),
        Ordered::Object(members) if members.is_empty() => out.push_str("{}"),
        Ordered::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                newline(depth + 1, out);
                write_ordered(item, depth + 1, out);
            }
            newline(depth, out);
            out.push(']');
        }
        Ordered::Object(members) => {
            out.push('{');
            for (i, (k, v)) in members.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                newline(depth + 1, out);
                write_json_string(k, out);
                out.push_str(": ");
                write_ordered(v, depth + 1, out);
            }
            newline(depth, out);
            out.push('}');
        }
    }
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

    #[test]
    fn ordered_objects_keep_their_member_order() {
        let value = Ordered::Object(vec![
            ("name", Ordered::string("<b>")),
            ("revision", Ordered::number(4)),
            ("tags", Ordered::Array(vec![])),
            (
                "nested",
                Ordered::Object(vec![("z", Ordered::number(1)), ("a", Ordered::number(2))]),
            ),
        ]);
        assert_eq!(
            render_ordered(&value),
            "{\n  \"name\": \"\\u003cb\\u003e\",\n  \"revision\": 4,\n  \"tags\": [],\n  \"nested\": {\n    \"z\": 1,\n    \"a\": 2\n  }\n}\n"
        );
    }

    #[test]
    fn serializable_outputs_are_html_safe_and_sorted() {
        let value = serde_json::json!({"scheduleCron": "0 3 * * *", "id": "<a&b>"});
        assert_eq!(
            render_serialize(&value).unwrap(),
            "{\n  \"id\": \"\\u003ca\\u0026b\\u003e\",\n  \"scheduleCron\": \"0 3 * * *\"\n}\n"
        );
    }
}
