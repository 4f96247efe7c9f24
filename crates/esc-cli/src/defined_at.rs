//! The "# Defined at" list of `esc env get ENV PATH` (spec/CLI.md § 6.7).
//!
//! When the path names a node of the document, the list is the range of the
//! check result's expression at that path and then its `base` chain (the
//! imported expressions it overrides). The walk descends `object` members
//! and `list` items; a builtin call is entered only by its own name
//! (`open["fn::open::test"]` is the argument of `fn::open::test`). When the
//! node is not in the document (a member that only an import defines), the
//! list is the value's `trace.def` and then its `trace.base` chain. The check
//! names the checked document `<yaml>`: it prints as the environment's name.

use esc_eval::PlainValue;

use crate::value::{Accessor, PropertyPath, Range, Value};

/// The entries (`env:line:col`) for `path`, first the definition itself.
/// `exprs` is the check result's `exprs` object, `value` the value at the
/// path (if any).
pub(crate) fn defined_at(
    env_name: &str,
    exprs: Option<&PlainValue>,
    value: Option<&Value>,
    path: &PropertyPath,
) -> Vec<String> {
    let ranges = match exprs.and_then(|exprs| expr_at(exprs, path)) {
        Some(expr) => expr_chain(expr),
        None => value_chain(value),
    };
    ranges
        .iter()
        .filter(|range| range.begin.line > 0)
        .map(|range| {
            let env = if range.environment == "<yaml>" || range.environment.is_empty() {
                env_name
            } else {
                range.environment.as_str()
            };
            format!("{env}:{}:{}", range.begin.line, range.begin.column)
        })
        .collect()
}

/// The expression at `path` below the `exprs` object (property name ->
/// expression).
fn expr_at<'e>(exprs: &'e PlainValue, path: &PropertyPath) -> Option<&'e PlainValue> {
    let (first, rest) = path.0.split_first()?;
    let Accessor::Key(name) = first else {
        return None;
    };
    let mut expr = exprs.member(name)?;
    for accessor in rest {
        expr = match accessor {
            Accessor::Key(key) => {
                let builtin = expr.member("builtin");
                if builtin
                    .and_then(|b| b.member("name"))
                    .and_then(PlainValue::as_str)
                    == Some(key.as_str())
                {
                    builtin?.member("arg")?
                } else {
                    expr.member("object")?.member(key)?
                }
            }
            Accessor::Index(index) => match expr.member("list")? {
                PlainValue::Array(items) => items.get(*index)?,
                _ => return None,
            },
        };
    }
    Some(expr)
}

/// The range of `expr`, then of each `base` below it.
fn expr_chain(expr: &PlainValue) -> Vec<Range> {
    let mut ranges = Vec::new();
    let mut current = Some(expr);
    // A chain is as long as the import graph; the bound only guards against
    // a malformed reply.
    while let Some(expr) = current.filter(|_| ranges.len() < 1024) {
        if let Some(range) = expr.member("range").and_then(range_of) {
            ranges.push(range);
        }
        current = expr.member("base");
    }
    ranges
}

/// The value's `trace.def`, then each `trace.base` below it.
fn value_chain(value: Option<&Value>) -> Vec<Range> {
    let mut ranges = Vec::new();
    let mut current = value;
    while let Some(value) = current {
        ranges.push(value.trace.def.clone());
        current = value.trace.base.as_deref();
    }
    ranges
}

/// A wire range (`{environment, begin: {line, column, byte}, end}`).
fn range_of(range: &PlainValue) -> Option<Range> {
    let number = |pos: Option<&PlainValue>, field: &str| -> Option<i64> {
        match pos?.member(field)? {
            PlainValue::Number(text) => text.parse().ok(),
            _ => None,
        }
    };
    let begin = range.member("begin");
    Some(Range {
        environment: range
            .member("environment")
            .and_then(PlainValue::as_str)
            .unwrap_or_default()
            .to_owned(),
        begin: crate::value::Pos {
            line: number(begin, "line")?,
            column: number(begin, "column")?,
            byte: number(begin, "byte").unwrap_or_default(),
        },
        end: Default::default(),
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn range(env: &str, line: u32, column: u32) -> String {
        format!(
            r#"{{"environment":"{env}","begin":{{"line":{line},"column":{column},"byte":0}},"end":{{"line":{line},"column":{column},"byte":0}}}}"#
        )
    }

    fn path(text: &str) -> PropertyPath {
        PropertyPath::parse(text).unwrap()
    }

    /// `exprs` of a document `test` importing `b`:
    /// `string: esc` (over b's), `array: [hello, world]`, `object: {hello:
    /// world}` over b's object, and `open: {fn::open::test: {foo: bar}}`.
    fn exprs() -> PlainValue {
        let text = format!(
            r#"{{
              "string": {{"range": {s}, "literal": "esc", "base": {{"range": {bs}, "literal": "foo"}}}},
              "array": {{"range": {a}, "list": [{{"range": {a0}, "literal": "hello"}}, {{"range": {a1}, "literal": "world"}}]}},
              "object": {{"range": {o}, "base": {{"range": {bo}}},
                          "object": {{"hello": {{"range": {oh}, "literal": "world", "base": {{"range": {ah}}}}}}}}},
              "open": {{"range": {op}, "builtin": {{"name": "fn::open::test", "nameRange": {op},
                        "arg": {{"range": {arg}, "object": {{"foo": {{"range": {foo}, "literal": "bar"}}}}}}}}}}
            }}"#,
            s = range("<yaml>", 9, 13),
            bs = range("b", 2, 13),
            a = range("<yaml>", 10, 12),
            a0 = range("<yaml>", 10, 13),
            a1 = range("<yaml>", 10, 20),
            o = range("<yaml>", 11, 13),
            bo = range("b", 3, 13),
            oh = range("<yaml>", 11, 21),
            ah = range("a", 2, 21),
            op = range("<yaml>", 13, 9),
            arg = range("<yaml>", 14, 13),
            foo = range("<yaml>", 14, 18),
        );
        PlainValue::from_json(&text).unwrap()
    }

    fn check(p: &str, expect: &[&str]) {
        let exprs = exprs();
        assert_eq!(
            defined_at("test", Some(&exprs), None, &path(p)),
            expect,
            "{p}"
        );
    }

    #[test]
    fn follows_the_expression_and_its_bases() {
        check("string", &["test:9:13", "b:2:13"]);
        check("array", &["test:10:12"]);
        check("array[1]", &["test:10:20"]);
        check("object", &["test:11:13", "b:3:13"]);
        check("object.hello", &["test:11:21", "a:2:21"]);
    }

    #[test]
    fn enters_a_builtin_only_by_its_name() {
        check("open", &["test:13:9"]);
        check(r#"open["fn::open::test"]"#, &["test:14:13"]);
        check(r#"open["fn::open::test"].foo"#, &["test:14:18"]);
        check("open.foo", &[]);
        check("array[2]", &[]);
        check("string.x", &[]);
    }

    #[test]
    fn falls_back_to_the_value_trace_outside_the_document() {
        let wire = format!(
            r#"{{"goodbye": {{"value": "all", "trace": {{"def": {b}, "base": {{"value": "world", "trace": {{"def": {a}}}}}}}}}}}"#,
            b = range("b", 3, 23),
            a = range("a", 2, 35),
        );
        let PlainValue::Object(props) = PlainValue::from_json(&wire).unwrap() else {
            panic!()
        };
        let root = Value::root_from_wire(&props).unwrap();
        let value = root.at(&path("goodbye"));
        assert!(value.is_some());
        let exprs = exprs();
        assert_eq!(
            defined_at("test", Some(&exprs), value, &path("goodbye")),
            ["b:3:23", "a:2:35"]
        );
        // No exprs at all (an older server): the value's trace.
        assert_eq!(
            defined_at("test", None, value, &path("goodbye")),
            ["b:3:23", "a:2:35"]
        );
        assert!(defined_at("test", None, None, &path("goodbye")).is_empty());
    }
}
