//! Detailed output (spec/CLI.md § 6.3): the full Value with flags and
//! traces as indented JSON, fields in the Go struct order.

use esc_eval::write_json_string;

use crate::format::json::newline;
use crate::value::{Data, Pos, Range, Value};

/// `value` in the detailed form followed by a newline.
pub(crate) fn render(value: &Value) -> String {
    let mut out = String::new();
    write_value(value, 0, &mut out);
    out.push('\n');
    out
}

/// Writes `{"k": v, ...}` with Go's indentation, fields in the given order.
struct ObjectWriter<'a> {
    out: &'a mut String,
    depth: usize,
    n_fields: usize,
}

impl<'a> ObjectWriter<'a> {
    fn new(out: &'a mut String, depth: usize) -> Self {
        out.push('{');
        ObjectWriter {
            out,
            depth,
            n_fields: 0,
        }
    }

    fn field(&mut self, key: &str) -> &mut String {
        if self.n_fields > 0 {
            self.out.push(',');
        }
        self.n_fields += 1;
        newline(self.depth + 1, self.out);
        write_json_string(key, self.out);
        self.out.push_str(": ");
        self.out
    }

    fn finish(self) {
        if self.n_fields > 0 {
            newline(self.depth, self.out);
        }
        self.out.push('}');
    }
}

fn write_value(value: &Value, depth: usize, out: &mut String) {
    let mut obj = ObjectWriter::new(out, depth);
    match &value.data {
        Data::Null => {}
        Data::Bool(b) => obj
            .field("value")
            .push_str(if *b { "true" } else { "false" }),
        Data::Number(n) => obj.field("value").push_str(n),
        Data::String(s) => write_json_string(s, obj.field("value")),
        Data::Array(items) => {
            let out = obj.field("value");
            if items.is_empty() {
                out.push_str("[]");
            } else {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    newline(depth + 2, out);
                    write_value(item, depth + 2, out);
                }
                newline(depth + 1, out);
                out.push(']');
            }
        }
        Data::Object(map) => {
            let out = obj.field("value");
            let mut members = ObjectWriter::new(out, depth + 1);
            for (k, v) in map {
                let out = members.field(k);
                write_value(v, depth + 2, out);
            }
            members.finish();
        }
    }
    if value.secret {
        obj.field("secret").push_str("true");
    }
    if value.unknown {
        obj.field("unknown").push_str("true");
    }
    let out = obj.field("trace");
    let mut trace = ObjectWriter::new(out, depth + 1);
    write_range(&value.trace.def, depth + 2, trace.field("def"));
    if let Some(base) = &value.trace.base {
        write_value(base, depth + 2, trace.field("base"));
    }
    trace.finish();
    obj.finish();
}

fn write_range(range: &Range, depth: usize, out: &mut String) {
    let mut obj = ObjectWriter::new(out, depth);
    if !range.environment.is_empty() {
        write_json_string(&range.environment, obj.field("environment"));
    }
    write_pos(&range.begin, depth + 1, obj.field("begin"));
    write_pos(&range.end, depth + 1, obj.field("end"));
    obj.finish();
}

fn write_pos(pos: &Pos, depth: usize, out: &mut String) {
    let mut obj = ObjectWriter::new(out, depth);
    obj.field("line").push_str(&pos.line.to_string());
    obj.field("column").push_str(&pos.column.to_string());
    obj.field("byte").push_str(&pos.byte.to_string());
    obj.finish();
}

#[cfg(test)]
mod tests {
    use esc_eval::PlainValue;

    use super::*;

    #[test]
    fn golden_null_value() {
        // env-get-each-value-detailed.yaml, first case
        let wire = PlainValue::from_json(
            r#"{"trace":{"def":{"environment":"<yaml>","begin":{"line":6,"column":13,"byte":59},"end":{"line":6,"column":17,"byte":63}}}}"#,
        )
        .unwrap();
        let expected = "{\n  \"trace\": {\n    \"def\": {\n      \"environment\": \"\\u003cyaml\\u003e\",\n      \"begin\": {\n        \"line\": 6,\n        \"column\": 13,\n        \"byte\": 59\n      },\n      \"end\": {\n        \"line\": 6,\n        \"column\": 17,\n        \"byte\": 63\n      }\n    }\n  }\n}\n";
        assert_eq!(render(&Value::from_wire(&wire).unwrap()), expected);
    }

    #[test]
    fn golden_list_with_base() {
        let golden = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../../shared/conformance/esc-cli/env-get-each-value-detailed.yaml"
        ))
        .unwrap();
        // The expected output of `... detailed array` in the golden file.
        let start = golden
            .find("> esc env get default/test --value detailed array\n")
            .unwrap();
        let body = &golden[start..];
        let body = &body[body.find('\n').unwrap() + 1..];
        let expected = &body[..body.find("\n>").unwrap() + 1];
        // Round-trip: parse the golden output as wire JSON and render it again.
        let wire = PlainValue::from_json(expected).unwrap();
        assert_eq!(render(&Value::from_wire(&wire).unwrap()), expected);
    }

    #[test]
    fn flags_and_root() {
        let v = Value::from_wire(
            &PlainValue::from_json(r#"{"secret":true,"unknown":true,"trace":{}}"#).unwrap(),
        )
        .unwrap();
        let text = render(&v);
        assert!(text.starts_with("{\n  \"secret\": true,\n  \"unknown\": true,\n  \"trace\""));
        let root = render(&Value::root(Default::default()));
        assert!(
            root.starts_with(
                "{\n  \"value\": {},\n  \"trace\": {\n    \"def\": {\n      \"begin\""
            )
        );
    }
}
