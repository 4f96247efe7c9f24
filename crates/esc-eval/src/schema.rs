//! The JSON Schema subset of spec §6.1: parsing, lookups, builders.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use crate::plain::PlainValue;

/// A schema: `true` (anything), `false` (nothing) or an object schema.
///
/// Cheap to clone. `$ref`s are resolved when the schema is parsed.
#[derive(Clone, PartialEq)]
pub enum Schema {
    /// `true` or `false`.
    Bool(bool),
    /// An object schema.
    Object(Arc<ObjectSchema>),
}

impl fmt::Debug for Schema {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.to_plain().to_json() {
            Ok(text) => f.write_str(&text),
            Err(_) => f.write_str("<schema>"),
        }
    }
}

/// A regular expression with its source text.
#[derive(Clone, Debug)]
pub struct Pattern {
    /// The pattern as written.
    pub source: String,
    regex: regex::Regex,
}

impl PartialEq for Pattern {
    fn eq(&self, other: &Self) -> bool {
        self.source == other.source
    }
}

impl Pattern {
    /// Whether `s` matches (unanchored).
    pub fn is_match(&self, s: &str) -> bool {
        self.regex.is_match(s)
    }
}

/// An object schema; absent keywords are `None` / empty.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ObjectSchema {
    /// `type`: `null boolean number string array object`, or empty for any.
    pub type_: String,
    /// `$defs`.
    pub defs: BTreeMap<String, Schema>,
    /// `$ref` as written.
    pub reference: Option<String>,
    /// The resolved `$ref` target.
    pub ref_target: Option<Schema>,
    /// `anyOf`.
    pub any_of: Vec<Schema>,
    /// `oneOf`.
    pub one_of: Vec<Schema>,
    /// `prefixItems`.
    pub prefix_items: Vec<Schema>,
    /// `items` (absent = anything).
    pub items: Option<Schema>,
    /// `additionalProperties` (absent = anything).
    pub additional_properties: Option<Schema>,
    /// `properties`.
    pub properties: BTreeMap<String, Schema>,
    /// `const`.
    pub const_: Option<PlainValue>,
    /// `enum`.
    pub enum_: Option<Vec<PlainValue>>,
    /// `multipleOf` (decimal text).
    pub multiple_of: Option<String>,
    /// `maximum` (decimal text).
    pub maximum: Option<String>,
    /// `exclusiveMaximum` (decimal text).
    pub exclusive_maximum: Option<String>,
    /// `minimum` (decimal text).
    pub minimum: Option<String>,
    /// `exclusiveMinimum` (decimal text).
    pub exclusive_minimum: Option<String>,
    /// `maxLength` (bytes).
    pub max_length: Option<u64>,
    /// `minLength` (bytes).
    pub min_length: Option<u64>,
    /// `maxItems`.
    pub max_items: Option<u64>,
    /// `minItems`.
    pub min_items: Option<u64>,
    /// `maxProperties`.
    pub max_properties: Option<u64>,
    /// `minProperties`.
    pub min_properties: Option<u64>,
    /// `pattern` (RE2 syntax, unanchored).
    pub pattern: Option<Pattern>,
    /// `uniqueItems` (kept, not enforced, as the reference).
    pub unique_items: Option<bool>,
    /// `required`.
    pub required: Vec<String>,
    /// `dependentRequired`.
    pub dependent_required: BTreeMap<String, Vec<String>>,
    /// `rotateOnly` extension (spec §5.1).
    pub rotate_only: Vec<String>,
    /// `secret` extension (informational).
    pub secret: Option<bool>,
    /// Metadata kept for output only.
    pub metadata: BTreeMap<String, PlainValue>,
}

/// A schema document that is not in the supported subset.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct SchemaError(pub String);

impl SchemaError {
    /// Whether the schema is well-formed but cannot be compiled (a bad
    /// `$ref` or `pattern`), as opposed to failing the meta-schema.
    pub fn is_compile_error(&self) -> bool {
        self.0.starts_with("only fragment references")
            || self.0.starts_with("unknown subschema")
            || self.0.starts_with("invalid pattern")
    }
}

/// How deep `$ref`s are expanded (recursive schemas become `true` below).
const MAX_REF_DEPTH: usize = 16;

impl Schema {
    /// `true`: anything.
    pub fn always() -> Schema {
        Schema::Bool(true)
    }

    /// `false`: nothing.
    pub fn never() -> Schema {
        Schema::Bool(false)
    }

    /// `{type: T}`.
    pub fn of_type(type_: &str) -> Schema {
        Schema::object(ObjectSchema {
            type_: type_.into(),
            ..Default::default()
        })
    }

    /// Wrap an object schema.
    pub fn object(schema: ObjectSchema) -> Schema {
        Schema::Object(Arc::new(schema))
    }

    /// `{type: array, items}`.
    pub fn array_of(items: Schema) -> Schema {
        Schema::object(ObjectSchema {
            type_: "array".into(),
            items: Some(items),
            ..Default::default()
        })
    }

    /// A record: `properties` with all keys required.
    pub fn record(properties: BTreeMap<String, Schema>) -> Schema {
        let required = properties.keys().cloned().collect();
        Schema::object(ObjectSchema {
            type_: "object".into(),
            properties,
            required,
            ..Default::default()
        })
    }

    /// A tuple: `prefixItems` and `items: false`.
    pub fn tuple(items: Vec<Schema>) -> Schema {
        Schema::object(ObjectSchema {
            type_: "array".into(),
            prefix_items: items,
            items: Some(Schema::never()),
            ..Default::default()
        })
    }

    /// `{oneOf: [...]}`.
    pub fn one_of(branches: Vec<Schema>) -> Schema {
        Schema::object(ObjectSchema {
            one_of: branches,
            ..Default::default()
        })
    }

    /// Parse a JSON Schema text in the supported subset.
    pub fn from_json_str(text: &str) -> Result<Schema, SchemaError> {
        let plain = PlainValue::from_json_document(text).map_err(|e| SchemaError(e.to_string()))?;
        Schema::from_plain(&plain)
    }

    /// Parse a schema from plain data.
    pub fn from_plain(plain: &PlainValue) -> Result<Schema, SchemaError> {
        let raw = parse(plain.unwrap_secret())?;
        let defs = match &raw {
            Schema::Object(o) => o.defs.clone(),
            Schema::Bool(_) => BTreeMap::new(),
        };
        resolve(&raw, &defs, 0)
    }

    /// The object schema, if any.
    pub fn as_object(&self) -> Option<&ObjectSchema> {
        match self {
            Schema::Object(o) => Some(o),
            Schema::Bool(_) => None,
        }
    }

    /// Follow `$ref`s.
    pub fn resolved(&self) -> &Schema {
        let mut s = self;
        for _ in 0..MAX_REF_DEPTH {
            match s {
                Schema::Object(o) if o.ref_target.is_some() => match &o.ref_target {
                    Some(t) => s = t,
                    None => break,
                },
                _ => break,
            }
        }
        s
    }

    /// Whether this is the `false` schema.
    pub fn is_never(&self) -> bool {
        matches!(self, Schema::Bool(false))
    }

    /// The declared type (`""` for none).
    pub fn type_name(&self) -> &str {
        match self.resolved() {
            Schema::Object(o) => &o.type_,
            Schema::Bool(_) => "",
        }
    }

    /// The `rotateOnly` property names.
    pub fn rotate_only(&self) -> &[String] {
        match self.resolved() {
            Schema::Object(o) => &o.rotate_only,
            Schema::Bool(_) => &[],
        }
    }

    /// The schema of property `key` (spec §6.1 lookups).
    pub fn property(&self, key: &str) -> Schema {
        match self.resolved() {
            Schema::Bool(b) => Schema::Bool(*b),
            Schema::Object(o) => {
                if !o.any_of.is_empty() || !o.one_of.is_empty() {
                    return collect(o.any_of.iter().chain(&o.one_of).map(|b| b.property(key)));
                }
                if o.type_ == "object" {
                    return o
                        .properties
                        .get(key)
                        .cloned()
                        .or_else(|| o.additional_properties.clone())
                        .unwrap_or_else(Schema::always);
                }
                if o.type_.is_empty() {
                    // Untyped: properties still apply when present.
                    return o
                        .properties
                        .get(key)
                        .cloned()
                        .or_else(|| o.additional_properties.clone())
                        .unwrap_or_else(Schema::always);
                }
                Schema::never()
            }
        }
    }

    /// The schema of item `index` (spec §6.1 lookups).
    pub fn item(&self, index: usize) -> Schema {
        match self.resolved() {
            Schema::Bool(b) => Schema::Bool(*b),
            Schema::Object(o) => {
                if !o.any_of.is_empty() || !o.one_of.is_empty() {
                    return collect(o.any_of.iter().chain(&o.one_of).map(|b| b.item(index)));
                }
                if o.type_ == "array" || o.type_.is_empty() {
                    return o
                        .prefix_items
                        .get(index)
                        .cloned()
                        .or_else(|| o.items.clone())
                        .unwrap_or_else(Schema::always);
                }
                Schema::never()
            }
        }
    }

    /// The constant schema of a known plain value (literals and provider data).
    pub fn of_const(value: &PlainValue) -> Schema {
        let value = value.revealed();
        let type_ = match &value {
            PlainValue::Null => "null",
            PlainValue::Bool(_) => "boolean",
            PlainValue::Number(_) => "number",
            PlainValue::String(_) => "string",
            PlainValue::Array(items) => {
                return Schema::tuple(items.iter().map(Schema::of_const).collect());
            }
            PlainValue::Object(map) => {
                return Schema::record(
                    map.iter()
                        .map(|(k, v)| (k.clone(), Schema::of_const(v)))
                        .collect(),
                );
            }
            PlainValue::Secret(_) => "",
        };
        if type_ == "null" {
            return Schema::of_type("null");
        }
        Schema::object(ObjectSchema {
            type_: type_.into(),
            const_: Some(value),
            ..Default::default()
        })
    }

    /// The schema as plain JSON Schema data (for output).
    pub fn to_plain(&self) -> PlainValue {
        match self {
            Schema::Bool(b) => PlainValue::Bool(*b),
            Schema::Object(o) => {
                let mut m = BTreeMap::new();
                m.insert("type".to_string(), PlainValue::string(&o.type_));
                let list =
                    |v: &Vec<Schema>| PlainValue::Array(v.iter().map(Schema::to_plain).collect());
                let map = |v: &BTreeMap<String, Schema>| {
                    PlainValue::Object(v.iter().map(|(k, s)| (k.clone(), s.to_plain())).collect())
                };
                let strs =
                    |v: &Vec<String>| PlainValue::Array(v.iter().map(PlainValue::string).collect());
                if !o.defs.is_empty() {
                    m.insert("$defs".into(), map(&o.defs));
                }
                if let Some(r) = &o.reference {
                    m.insert("$ref".into(), PlainValue::string(r));
                }
                if !o.any_of.is_empty() {
                    m.insert("anyOf".into(), list(&o.any_of));
                }
                if !o.one_of.is_empty() {
                    m.insert("oneOf".into(), list(&o.one_of));
                }
                if !o.prefix_items.is_empty() {
                    m.insert("prefixItems".into(), list(&o.prefix_items));
                }
                if let Some(i) = &o.items {
                    m.insert("items".into(), i.to_plain());
                }
                if let Some(a) = &o.additional_properties {
                    m.insert("additionalProperties".into(), a.to_plain());
                }
                if !o.properties.is_empty() {
                    m.insert("properties".into(), map(&o.properties));
                }
                if let Some(c) = &o.const_ {
                    m.insert("const".into(), c.clone());
                }
                if let Some(e) = &o.enum_ {
                    m.insert("enum".into(), PlainValue::Array(e.clone()));
                }
                for (k, v) in [
                    ("multipleOf", &o.multiple_of),
                    ("maximum", &o.maximum),
                    ("exclusiveMaximum", &o.exclusive_maximum),
                    ("minimum", &o.minimum),
                    ("exclusiveMinimum", &o.exclusive_minimum),
                ] {
                    if let Some(v) = v {
                        m.insert(k.into(), PlainValue::Number(v.clone()));
                    }
                }
                for (k, v) in [
                    ("maxLength", o.max_length),
                    ("minLength", o.min_length),
                    ("maxItems", o.max_items),
                    ("minItems", o.min_items),
                    ("maxProperties", o.max_properties),
                    ("minProperties", o.min_properties),
                ] {
                    if let Some(v) = v {
                        m.insert(k.into(), PlainValue::Number(v.to_string()));
                    }
                }
                if let Some(p) = &o.pattern {
                    m.insert("pattern".into(), PlainValue::string(&p.source));
                }
                if !o.required.is_empty() {
                    m.insert("required".into(), strs(&o.required));
                }
                if !o.dependent_required.is_empty() {
                    m.insert(
                        "dependentRequired".into(),
                        PlainValue::Object(
                            o.dependent_required
                                .iter()
                                .map(|(k, v)| (k.clone(), strs(v)))
                                .collect(),
                        ),
                    );
                }
                if !o.rotate_only.is_empty() {
                    m.insert("rotateOnly".into(), strs(&o.rotate_only));
                }
                if let Some(s) = o.secret {
                    m.insert("secret".into(), PlainValue::Bool(s));
                }
                for (k, v) in &o.metadata {
                    m.insert(k.clone(), v.clone());
                }
                PlainValue::Object(m)
            }
        }
    }
}

/// Union of lookups through `anyOf`/`oneOf` branches, minus `false`.
fn collect(results: impl Iterator<Item = Schema>) -> Schema {
    let mut found: Vec<Schema> = results.filter(|s| !s.is_never()).collect();
    match found.len() {
        0 => Schema::never(),
        1 => found.remove(0),
        _ => Schema::one_of(found),
    }
}

fn parse(plain: &PlainValue) -> Result<Schema, SchemaError> {
    let map = match plain {
        PlainValue::Bool(b) => return Ok(Schema::Bool(*b)),
        PlainValue::Object(map) => map,
        _ => return Err(SchemaError("schema must be a boolean or an object".into())),
    };
    let mut o = ObjectSchema::default();
    let list = |v: &PlainValue, key: &str| -> Result<Vec<Schema>, SchemaError> {
        match v {
            PlainValue::Array(items) => items.iter().map(parse).collect(),
            _ => Err(SchemaError(format!("{key} must be an array"))),
        }
    };
    let map_of = |v: &PlainValue, key: &str| -> Result<BTreeMap<String, Schema>, SchemaError> {
        match v {
            PlainValue::Object(m) => m.iter().map(|(k, s)| Ok((k.clone(), parse(s)?))).collect(),
            _ => Err(SchemaError(format!("{key} must be an object"))),
        }
    };
    let strings = |v: &PlainValue, key: &str| -> Result<Vec<String>, SchemaError> {
        match v {
            PlainValue::Array(items) => items
                .iter()
                .map(|i| {
                    i.as_str()
                        .map(str::to_string)
                        .ok_or_else(|| SchemaError(format!("{key} must be an array of strings")))
                })
                .collect(),
            _ => Err(SchemaError(format!("{key} must be an array of strings"))),
        }
    };
    let number = |v: &PlainValue, key: &str| -> Result<String, SchemaError> {
        match v {
            PlainValue::Number(n) => Ok(n.clone()),
            _ => Err(SchemaError(format!("{key} must be a number"))),
        }
    };
    let unsigned = |v: &PlainValue, key: &str| -> Result<u64, SchemaError> {
        match v {
            PlainValue::Number(n) => n
                .parse::<u64>()
                .map_err(|_| SchemaError(format!("{key} must be a non-negative integer"))),
            _ => Err(SchemaError(format!("{key} must be a non-negative integer"))),
        }
    };
    for (key, v) in map {
        match key.as_str() {
            "type" => {
                let t = v
                    .as_str()
                    .ok_or_else(|| SchemaError("type must be a string".into()))?;
                if !matches!(
                    t,
                    "" | "null" | "boolean" | "number" | "string" | "array" | "object"
                ) {
                    return Err(SchemaError(format!("unknown type {}", crate::go_quote(t))));
                }
                o.type_ = t.into();
            }
            "$defs" => o.defs = map_of(v, key)?,
            "$ref" => {
                o.reference = Some(
                    v.as_str()
                        .ok_or_else(|| SchemaError("$ref must be a string".into()))?
                        .into(),
                )
            }
            "anyOf" => o.any_of = list(v, key)?,
            "oneOf" => o.one_of = list(v, key)?,
            "prefixItems" => o.prefix_items = list(v, key)?,
            "items" => o.items = Some(parse(v)?),
            "additionalProperties" => o.additional_properties = Some(parse(v)?),
            "properties" => o.properties = map_of(v, key)?,
            "const" => o.const_ = Some(v.clone()),
            "enum" => match v {
                PlainValue::Array(items) => o.enum_ = Some(items.clone()),
                _ => return Err(SchemaError("enum must be an array".into())),
            },
            "multipleOf" => o.multiple_of = Some(number(v, key)?),
            "maximum" => o.maximum = Some(number(v, key)?),
            "exclusiveMaximum" => o.exclusive_maximum = Some(number(v, key)?),
            "minimum" => o.minimum = Some(number(v, key)?),
            "exclusiveMinimum" => o.exclusive_minimum = Some(number(v, key)?),
            "maxLength" => o.max_length = Some(unsigned(v, key)?),
            "minLength" => o.min_length = Some(unsigned(v, key)?),
            "maxItems" => o.max_items = Some(unsigned(v, key)?),
            "minItems" => o.min_items = Some(unsigned(v, key)?),
            "maxProperties" => o.max_properties = Some(unsigned(v, key)?),
            "minProperties" => o.min_properties = Some(unsigned(v, key)?),
            "pattern" => {
                let source = v
                    .as_str()
                    .ok_or_else(|| SchemaError("pattern must be a string".into()))?;
                let regex = regex::Regex::new(source)
                    .map_err(|e| SchemaError(format!("invalid pattern: {e}")))?;
                o.pattern = Some(Pattern {
                    source: source.into(),
                    regex,
                });
            }
            "uniqueItems" => match v {
                PlainValue::Bool(b) => o.unique_items = Some(*b),
                _ => return Err(SchemaError("uniqueItems must be a boolean".into())),
            },
            "required" => o.required = strings(v, key)?,
            "dependentRequired" => match v {
                PlainValue::Object(m) => {
                    for (k, deps) in m {
                        o.dependent_required.insert(k.clone(), strings(deps, key)?);
                    }
                }
                _ => return Err(SchemaError("dependentRequired must be an object".into())),
            },
            "rotateOnly" => o.rotate_only = strings(v, key)?,
            "secret" => match v {
                PlainValue::Bool(b) => o.secret = Some(*b),
                _ => return Err(SchemaError("secret must be a boolean".into())),
            },
            _ => {
                o.metadata.insert(key.clone(), v.clone());
            }
        }
    }
    Ok(Schema::object(o))
}

fn resolve(
    schema: &Schema,
    defs: &BTreeMap<String, Schema>,
    depth: usize,
) -> Result<Schema, SchemaError> {
    let Schema::Object(o) = schema else {
        return Ok(schema.clone());
    };
    if depth > MAX_REF_DEPTH {
        return Ok(Schema::always());
    }
    let mut o = (**o).clone();
    let r = |s: &Schema| resolve(s, defs, depth);
    let rl = |v: &Vec<Schema>| {
        v.iter()
            .map(|s| resolve(s, defs, depth))
            .collect::<Result<Vec<_>, _>>()
    };
    let rm = |v: &BTreeMap<String, Schema>| {
        v.iter()
            .map(|(k, s)| Ok((k.clone(), resolve(s, defs, depth)?)))
            .collect::<Result<BTreeMap<_, _>, SchemaError>>()
    };
    if let Some(reference) = &o.reference {
        let Some(name) = reference.strip_prefix("#/$defs/") else {
            return Err(SchemaError(
                "only fragment references of the form #/$defs/ref are supported".into(),
            ));
        };
        let name = percent_decode(name);
        let Some(target) = defs.get(&name) else {
            return Err(SchemaError(format!("unknown subschema {reference}")));
        };
        o.ref_target = Some(resolve(target, defs, depth + 1)?);
    }
    o.any_of = rl(&o.any_of)?;
    o.one_of = rl(&o.one_of)?;
    o.prefix_items = rl(&o.prefix_items)?;
    o.items = o.items.as_ref().map(r).transpose()?;
    o.additional_properties = o.additional_properties.as_ref().map(r).transpose()?;
    o.properties = rm(&o.properties)?;
    Ok(Schema::object(o))
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 3 <= b.len() {
            let hex = |c: u8| (c as char).to_digit(16);
            if let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2])) {
                // Two hex digits make one byte value below 256.
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn refs_and_lookups() {
        let s = Schema::from_json_str(
            r##"{"type":"object","$defs":{"r":{"type":"object","properties":{"baz":{"type":"string"}},"required":["baz"]}},
                "properties":{"ref":{"$ref":"#/$defs/r"},"any":{"anyOf":[{"type":"string"},{"type":"number"}]}}}"##,
        )
        .unwrap();
        assert_eq!(s.property("ref").property("baz").type_name(), "string");
        assert_eq!(s.property("missing"), Schema::always());
        assert!(s.property("any").property("x").is_never());
        assert!(Schema::from_json_str(r##"{"$ref":"http://x"}"##).is_err());
        assert!(Schema::from_json_str(r##"{"$ref":"#/$defs/x"}"##).is_err());
    }

    #[test]
    fn tuple_items() {
        let t = Schema::tuple(vec![Schema::of_type("string")]);
        assert_eq!(t.item(0).type_name(), "string");
        assert!(t.item(1).is_never());
    }
}
