//! Evaluated values as the CLI sees them: the wire format of API.md § 3.2
//! (`{value, secret, unknown, trace}`) parsed into [`Value`], and Pulumi
//! property paths (`a.b[0]["k.x"]`) to select part of one.

use std::collections::BTreeMap;

use esc_eval::PlainValue;

/// A position in a document.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Pos {
    pub(crate) line: i64,
    pub(crate) column: i64,
    pub(crate) byte: i64,
}

/// A range in a named environment.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Range {
    pub(crate) environment: String,
    pub(crate) begin: Pos,
    pub(crate) end: Pos,
}

/// Where a value came from.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Trace {
    pub(crate) def: Range,
    pub(crate) base: Option<Box<Value>>,
}

/// The payload of a value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Data {
    Null,
    Bool(bool),
    Number(String),
    String(String),
    Array(Vec<Value>),
    Object(BTreeMap<String, Value>),
}

/// An evaluated value with its flags and trace.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Value {
    pub(crate) data: Data,
    pub(crate) secret: bool,
    pub(crate) unknown: bool,
    pub(crate) trace: Trace,
}

/// A wire value that is not shaped like API.md § 3.2.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub(crate) enum WireError {
    /// Something other than an object where a Value was expected.
    #[error("malformed value: expected an object")]
    NotAnObject,
    /// A field of the wrong type.
    #[error("malformed value: field {0} has the wrong type")]
    Field(&'static str),
}

impl Value {
    /// The root wrapper of an environment's properties (empty trace).
    pub(crate) fn root(properties: BTreeMap<String, Value>) -> Value {
        Value {
            data: Data::Object(properties),
            secret: false,
            unknown: false,
            trace: Trace::default(),
        }
    }

    /// Parse a wire Value (secrets included as sent).
    pub(crate) fn from_wire(wire: &PlainValue) -> Result<Value, WireError> {
        let PlainValue::Object(map) = wire.unwrap_secret() else {
            return Err(WireError::NotAnObject);
        };
        let flag = |name: &'static str| match map.get(name).map(PlainValue::unwrap_secret) {
            None | Some(PlainValue::Null) => Ok(false),
            Some(PlainValue::Bool(b)) => Ok(*b),
            Some(_) => Err(WireError::Field(name)),
        };
        let data = match map.get("value").map(PlainValue::unwrap_secret) {
            None | Some(PlainValue::Null) => Data::Null,
            Some(PlainValue::Bool(b)) => Data::Bool(*b),
            Some(PlainValue::Number(n)) => Data::Number(n.clone()),
            Some(PlainValue::String(s)) => Data::String(s.clone()),
            Some(PlainValue::Array(items)) => Data::Array(
                items
                    .iter()
                    .map(Value::from_wire)
                    .collect::<Result<_, _>>()?,
            ),
            Some(PlainValue::Object(members)) => Data::Object(
                members
                    .iter()
                    .map(|(k, v)| Ok((k.clone(), Value::from_wire(v)?)))
                    .collect::<Result<_, WireError>>()?,
            ),
            Some(PlainValue::Secret(_)) => return Err(WireError::Field("value")),
        };
        let trace = match map.get("trace").map(PlainValue::unwrap_secret) {
            None | Some(PlainValue::Null) => Trace::default(),
            Some(PlainValue::Object(t)) => Trace {
                def: match t.get("def") {
                    Some(r) => range_from_wire(r)?,
                    None => Range::default(),
                },
                base: match t.get("base").map(PlainValue::unwrap_secret) {
                    None | Some(PlainValue::Null) => None,
                    Some(b) => Some(Box::new(Value::from_wire(b)?)),
                },
            },
            Some(_) => return Err(WireError::Field("trace")),
        };
        Ok(Value {
            data,
            secret: flag("secret")?,
            unknown: flag("unknown")?,
            trace,
        })
    }

    /// The environment root from a map of wire properties.
    pub(crate) fn root_from_wire(
        properties: &BTreeMap<String, PlainValue>,
    ) -> Result<Value, WireError> {
        Ok(Value::root(
            properties
                .iter()
                .map(|(k, v)| Ok((k.clone(), Value::from_wire(v)?)))
                .collect::<Result<_, WireError>>()?,
        ))
    }

    /// The value at `path`, if there is one.
    pub(crate) fn at(&self, path: &PropertyPath) -> Option<&Value> {
        let mut cur = self;
        for accessor in &path.0 {
            cur = match (&cur.data, accessor) {
                (Data::Object(map), Accessor::Key(k)) => map.get(k)?,
                (Data::Array(items), Accessor::Index(i)) => items.get(*i)?,
                _ => return None,
            };
        }
        Some(cur)
    }

    /// Plain JSON data: wrappers stripped, secrets `"[secret]"` when
    /// `redact`, unknowns `"[unknown]"`.
    pub(crate) fn to_plain(&self, redact: bool) -> PlainValue {
        if self.secret && redact {
            return PlainValue::string("[secret]");
        }
        if self.unknown {
            return PlainValue::string("[unknown]");
        }
        match &self.data {
            Data::Null => PlainValue::Null,
            Data::Bool(b) => PlainValue::Bool(*b),
            Data::Number(n) => PlainValue::Number(n.clone()),
            Data::String(s) => PlainValue::String(s.clone()),
            Data::Array(items) => {
                PlainValue::Array(items.iter().map(|v| v.to_plain(redact)).collect())
            }
            Data::Object(map) => PlainValue::Object(
                map.iter()
                    .map(|(k, v)| (k.clone(), v.to_plain(redact)))
                    .collect(),
            ),
        }
    }

    /// Every secret string (or scalar text) inside this value, for masking.
    pub(crate) fn collect_secrets(&self, inherited: bool, out: &mut Vec<String>) {
        let secret = inherited || self.secret;
        match &self.data {
            Data::String(s) if secret => out.push(s.clone()),
            Data::Number(n) if secret => out.push(n.clone()),
            Data::Array(items) => items.iter().for_each(|v| v.collect_secrets(secret, out)),
            Data::Object(map) => map.values().for_each(|v| v.collect_secrets(secret, out)),
            _ => {}
        }
    }
}

fn range_from_wire(wire: &PlainValue) -> Result<Range, WireError> {
    let PlainValue::Object(map) = wire.unwrap_secret() else {
        return Err(WireError::Field("range"));
    };
    let pos = |name: &'static str| -> Result<Pos, WireError> {
        let Some(PlainValue::Object(p)) = map.get(name).map(PlainValue::unwrap_secret) else {
            return Ok(Pos::default());
        };
        let num = |k: &str| match p.get(k) {
            Some(PlainValue::Number(n)) => n.parse().map_err(|_| WireError::Field(name)),
            None => Ok(0),
            Some(_) => Err(WireError::Field(name)),
        };
        Ok(Pos {
            line: num("line")?,
            column: num("column")?,
            byte: num("byte")?,
        })
    };
    Ok(Range {
        environment: match map.get("environment") {
            Some(PlainValue::String(s)) => s.clone(),
            None | Some(PlainValue::Null) => String::new(),
            Some(_) => return Err(WireError::Field("environment")),
        },
        begin: pos("begin")?,
        end: pos("end")?,
    })
}

/// One step of a property path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Accessor {
    /// `.key` or `["key"]`.
    Key(String),
    /// `[0]`.
    Index(usize),
}

/// A Pulumi property path: `a.b[0]["key.with.dots"]`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct PropertyPath(pub(crate) Vec<Accessor>);

/// A property path that does not parse.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub(crate) struct PathError {
    message: String,
}

impl PropertyPath {
    /// Parse a property path.
    pub(crate) fn parse(text: &str) -> Result<PropertyPath, PathError> {
        let err = |m: &str| PathError {
            message: m.to_string(),
        };
        let chars: Vec<char> = text.chars().collect();
        let mut accessors = Vec::new();
        let mut i = 0;
        while i < chars.len() {
            match chars[i] {
                '[' => {
                    if chars.get(i + 1) == Some(&'"') {
                        let mut key = String::new();
                        let mut j = i + 2;
                        loop {
                            match chars.get(j) {
                                None => return Err(err("missing closing quote in property name")),
                                Some('\\') if j + 1 < chars.len() => {
                                    key.push(chars[j + 1]);
                                    j += 2;
                                }
                                Some('"') => break,
                                Some(c) => {
                                    key.push(*c);
                                    j += 1;
                                }
                            }
                        }
                        if chars.get(j + 1) != Some(&']') {
                            return Err(err("missing closing bracket in property access"));
                        }
                        accessors.push(Accessor::Key(key));
                        i = j + 2;
                    } else {
                        let close = chars[i..]
                            .iter()
                            .position(|c| *c == ']')
                            .ok_or_else(|| err("missing closing bracket in array index"))?;
                        let digits: String = chars[i + 1..i + close].iter().collect();
                        let index = digits.parse().map_err(|_| err("invalid array index"))?;
                        accessors.push(Accessor::Index(index));
                        i += close + 1;
                    }
                }
                '.' if i > 0 => {
                    i += 1;
                    let start = i;
                    while i < chars.len() && chars[i] != '.' && chars[i] != '[' {
                        i += 1;
                    }
                    if start == i {
                        return Err(err("expected property name after '.'"));
                    }
                    accessors.push(Accessor::Key(chars[start..i].iter().collect()));
                }
                _ => {
                    let start = i;
                    while i < chars.len() && chars[i] != '.' && chars[i] != '[' {
                        i += 1;
                    }
                    if start == i {
                        return Err(err("expected property name"));
                    }
                    accessors.push(Accessor::Key(chars[start..i].iter().collect()));
                }
            }
        }
        Ok(PropertyPath(accessors))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(k: &str) -> Accessor {
        Accessor::Key(k.into())
    }

    #[test]
    fn paths() {
        let p = PropertyPath::parse(r#"open["fn::open::test"].foo[1]"#).unwrap();
        assert_eq!(
            p.0,
            vec![
                key("open"),
                key("fn::open::test"),
                key("foo"),
                Accessor::Index(1)
            ]
        );
        assert_eq!(
            PropertyPath::parse("a.b").unwrap().0,
            vec![key("a"), key("b")]
        );
        assert!(PropertyPath::parse("a[").is_err());
        assert!(PropertyPath::parse("a[x]").is_err());
        assert!(PropertyPath::parse("a..b").is_err());
        assert!(PropertyPath::parse(r#"a["x"#).is_err());
    }

    #[test]
    fn wire_round_trip_and_selection() {
        let wire = PlainValue::from_json(
            r#"{"value":{"a":{"value":[{"value":1,"trace":{"def":{"begin":{"line":1,"column":2,"byte":3},"end":{"line":1,"column":3,"byte":4}}}}],"trace":{}},
                "s":{"value":"hunter2","secret":true,"trace":{}},
                "u":{"unknown":true,"trace":{}}},"trace":{}}"#,
        )
        .unwrap();
        let v = Value::from_wire(&wire).unwrap();
        let one = v.at(&PropertyPath::parse("a[0]").unwrap()).unwrap();
        assert_eq!(one.data, Data::Number("1".into()));
        assert_eq!(one.trace.def.begin.column, 2);
        assert_eq!(
            v.to_plain(true).to_json().unwrap(),
            r#"{"a":[1],"s":"[secret]","u":"[unknown]"}"#
        );
        assert_eq!(
            v.to_plain(false).to_json().unwrap(),
            r#"{"a":[1],"s":"hunter2","u":"[unknown]"}"#
        );
        let mut secrets = Vec::new();
        v.collect_secrets(false, &mut secrets);
        assert_eq!(secrets, vec!["hunter2".to_string()]);
        assert!(v.at(&PropertyPath::parse("a.b").unwrap()).is_none());
        assert_eq!(
            Value::from_wire(&PlainValue::Bool(true)),
            Err(WireError::NotAnObject)
        );
    }
}
