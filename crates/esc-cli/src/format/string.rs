//! The string form of a value (spec/CLI.md § 6.4): scalars as text,
//! lists and maps as Go-quoted, comma-joined elements.

use esc_eval::go_quote;

use crate::value::{Data, Value};

/// The string form of `value`; secrets are `[secret]` when `redact`,
/// unknowns `[unknown]`, null is empty.
pub(crate) fn string_form(value: &Value, redact: bool) -> String {
    if value.secret && redact {
        return "[secret]".to_string();
    }
    if value.unknown {
        return "[unknown]".to_string();
    }
    match &value.data {
        Data::Null => String::new(),
        Data::Bool(b) => b.to_string(),
        Data::Number(n) => n.clone(),
        Data::String(s) => s.clone(),
        Data::Array(items) => items
            .iter()
            .map(|v| go_quote(&string_form(v, redact)))
            .collect::<Vec<_>>()
            .join(","),
        Data::Object(map) => map
            .iter()
            .map(|(k, v)| format!("{}={}", go_quote(k), go_quote(&string_form(v, redact))))
            .collect::<Vec<_>>()
            .join(","),
    }
}

/// `-f string` output: the string form plus a newline unless it ends in one.
pub(crate) fn render(value: &Value, redact: bool) -> String {
    let mut text = string_form(value, redact);
    if !text.ends_with('\n') {
        text.push('\n');
    }
    text
}

#[cfg(test)]
mod tests {
    use esc_eval::PlainValue;

    use super::*;

    fn value(json: &str) -> Value {
        Value::from_wire(&PlainValue::from_json(json).unwrap()).unwrap()
    }

    #[test]
    fn goldens() {
        // open-string.yaml and env-get-each-value-string.yaml
        let map = value(
            r#"{"value":{"foo":{"value":"bar","trace":{}},"hello":{"value":"world","trace":{}}},"trace":{}}"#,
        );
        assert_eq!(render(&map, false), "\"foo\"=\"bar\",\"hello\"=\"world\"\n");
        let list = value(r#"{"value":[{"value":"hello"},{"value":"world"}]}"#);
        assert_eq!(render(&list, true), "\"hello\",\"world\"\n");
        assert_eq!(render(&value(r#"{"value":42}"#), true), "42\n");
        assert_eq!(render(&value(r#"{}"#), true), "\n");
        assert_eq!(render(&value(r#"{"unknown":true}"#), true), "[unknown]\n");
        let secret = value(r#"{"value":"hunter2","secret":true}"#);
        assert_eq!(render(&secret, true), "[secret]\n");
        assert_eq!(render(&secret, false), "hunter2\n");
        assert_eq!(render(&value(r#"{"value":"a\n"}"#), false), "a\n");
    }

    #[test]
    fn nested_containers_are_quoted_recursively() {
        let v = value(r#"{"value":{"k":{"value":[{"value":"a\"b"}]}}}"#);
        assert_eq!(string_form(&v, true), r#""k"="\"a\\\"b\"""#);
    }
}
