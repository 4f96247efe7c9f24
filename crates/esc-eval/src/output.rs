//! The `Environment` output structure of spec §9, as exact JSON.
//!
//! Built as [`PlainValue`] data (not serde) so numbers keep their text.

use std::collections::BTreeMap;

use esc_syntax::Range;

use crate::plain::PlainValue;
use crate::value::{Repr, Value};

/// An evaluated environment for tools: its properties with flags and
/// traces, and the execution context (spec §9).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Environment {
    /// Property name -> §9 `Expr` JSON of the root's own definitions; empty
    /// unless asked for ([`crate::Evaluation::full_environment`]).
    pub exprs: BTreeMap<String, PlainValue>,
    /// Property name -> §9 `Value` JSON.
    pub properties: BTreeMap<String, PlainValue>,
    /// The schema of the properties.
    pub schema: PlainValue,
    /// The execution context's properties as §9 `Value` JSON.
    pub execution_context: BTreeMap<String, PlainValue>,
    /// The schema of the execution context.
    pub execution_context_schema: PlainValue,
}

impl Environment {
    pub(crate) fn new(root: &Value, context: &Value) -> Self {
        let members = |v: &Value| -> BTreeMap<String, PlainValue> {
            v.keys()
                .into_iter()
                .filter_map(|k| v.property(&k).map(|m| (k.clone(), value_json(m))))
                .collect()
        };
        Environment {
            exprs: BTreeMap::new(),
            properties: members(root),
            schema: root.schema().to_plain(),
            execution_context: members(context),
            execution_context_schema: context.schema().to_plain(),
        }
    }

    /// The structure as JSON data: `{"exprs"?, "properties", "schema",
    /// "executionContext": {"properties", "schema"}}` (`exprs` left out
    /// when empty, as the reference does).
    pub fn to_plain(&self) -> PlainValue {
        let mut plain = PlainValue::object([
            (
                "properties",
                // The reference leaves an empty property map out (null).
                if self.properties.is_empty() {
                    PlainValue::Null
                } else {
                    PlainValue::Object(self.properties.clone())
                },
            ),
            ("schema", self.schema.clone()),
            (
                "executionContext",
                PlainValue::object([
                    (
                        "properties",
                        PlainValue::Object(self.execution_context.clone()),
                    ),
                    ("schema", self.execution_context_schema.clone()),
                ]),
            ),
        ]);
        if !self.exprs.is_empty()
            && let PlainValue::Object(map) = &mut plain
        {
            map.insert("exprs".into(), PlainValue::Object(self.exprs.clone()));
        }
        plain
    }
}

/// `Range` JSON: `{environment?, begin, end}`.
pub(crate) fn range_json(range: Option<&Range>) -> PlainValue {
    let pos = |line: u32, column: u32, byte: u32| {
        PlainValue::object([
            ("line", PlainValue::Number(line.to_string())),
            ("column", PlainValue::Number(column.to_string())),
            ("byte", PlainValue::Number(byte.to_string())),
        ])
    };
    let mut m = BTreeMap::new();
    match range {
        Some(r) => {
            if !r.filename.is_empty() {
                m.insert("environment".to_string(), PlainValue::string(&*r.filename));
            }
            m.insert(
                "begin".into(),
                pos(r.start.line, r.start.column, r.start.byte),
            );
            m.insert("end".into(), pos(r.end.line, r.end.column, r.end.byte));
        }
        None => {
            m.insert("begin".into(), pos(0, 0, 0));
            m.insert("end".into(), pos(0, 0, 0));
        }
    }
    PlainValue::Object(m)
}

/// §9 `Value` JSON of a value (secrets included: this is the detailed
/// form, callers redact).
pub(crate) fn value_json(v: &Value) -> PlainValue {
    let mut m = BTreeMap::new();
    let payload = match &v.repr {
        Repr::Unknown(_) if v.unknown_text => Some(PlainValue::string("[unknown]")),
        Repr::Null | Repr::Unknown(_) => None,
        Repr::Bool(b) => Some(PlainValue::Bool(*b)),
        Repr::Number(n) => Some(PlainValue::Number(n.clone())),
        Repr::String(s) => Some(PlainValue::string(s)),
        Repr::Array(items) => Some(PlainValue::Array(items.iter().map(value_json).collect())),
        Repr::Object(_) => Some(PlainValue::Object(
            v.keys()
                .into_iter()
                .filter_map(|k| v.property(&k).map(|m| (k.clone(), value_json(m))))
                .collect(),
        )),
    };
    if let Some(p) = payload {
        m.insert("value".to_string(), p);
    }
    if v.secret {
        m.insert("secret".into(), PlainValue::Bool(true));
    }
    if v.is_unknown() {
        m.insert("unknown".into(), PlainValue::Bool(true));
    }
    let mut trace = BTreeMap::new();
    trace.insert(
        "def".to_string(),
        range_json(v.def.as_ref().map(|s| &s.range)),
    );
    if let Some(base) = &v.base {
        trace.insert("base".into(), value_json(base));
    }
    m.insert("trace".into(), PlainValue::Object(trace));
    PlainValue::Object(m)
}
