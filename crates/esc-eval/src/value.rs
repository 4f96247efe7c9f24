//! Evaluated values (spec §4): payload, secret/unknown/final flags, the
//! defining expression and the base value a definition overrode.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use esc_syntax::Range;

use crate::plain::PlainValue;
use crate::quote::go_quote;
use crate::schema::Schema;

/// Where a value is defined: the range and document path of its defining
/// expression.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Site {
    pub(crate) range: Range,
    pub(crate) path: String,
}

/// The payload of a value. Unknowns carry their schema and no data.
#[derive(Clone)]
pub(crate) enum Repr {
    Null,
    Bool(bool),
    Number(String),
    String(String),
    Array(Arc<Vec<Value>>),
    Object(Arc<BTreeMap<String, Value>>),
    Unknown(Schema),
}

/// An evaluated value. Its `Debug` output shows types and flags only,
/// never payloads (they may be secret).
#[derive(Clone)]
pub(crate) struct Value {
    pub(crate) repr: Repr,
    pub(crate) secret: bool,
    /// Set by `fn::final`; copies keep it.
    pub(crate) final_: bool,
    /// An unknown standing for a rotate-only input that was not evaluated.
    pub(crate) rotate_only: bool,
    /// An unknown interpolated string: the detailed output shows its
    /// value as `[unknown]`, as the reference does.
    pub(crate) unknown_text: bool,
    /// A schema set by the producer (string builtins, split, concat,
    /// decrypted secrets); otherwise derived from the payload.
    pub(crate) schema: Option<Schema>,
    /// The defining expression (`None`: provider-created or context data).
    pub(crate) def: Option<Arc<Site>>,
    /// The value this definition overrode (merge base). Keys of an object
    /// base that the value does not define are inherited (lookups, merged
    /// key lists).
    pub(crate) base: Option<Arc<Value>>,
}

impl std::fmt::Debug for Value {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Value")
            .field("type", &self.type_name())
            .field("secret", &self.secret)
            .field("final", &self.final_)
            .finish_non_exhaustive()
    }
}

impl Value {
    pub(crate) fn new(repr: Repr, def: Option<Arc<Site>>) -> Self {
        Value {
            repr,
            secret: false,
            final_: false,
            rotate_only: false,
            unknown_text: false,
            schema: None,
            def,
            base: None,
        }
    }

    pub(crate) fn unknown(schema: Schema, def: Option<Arc<Site>>) -> Self {
        Value::new(Repr::Unknown(schema), def)
    }

    pub(crate) fn string(s: impl Into<String>, def: Option<Arc<Site>>) -> Self {
        Value::new(Repr::String(s.into()), def)
    }

    pub(crate) fn array(items: Vec<Value>, def: Option<Arc<Site>>) -> Self {
        Value::new(Repr::Array(Arc::new(items)), def)
    }

    pub(crate) fn object(members: BTreeMap<String, Value>, def: Option<Arc<Site>>) -> Self {
        Value::new(Repr::Object(Arc::new(members)), def)
    }

    /// Members in the merged view: own members, then inherited ones not
    /// shadowed (unsorted across the two groups).
    pub(crate) fn members(&self) -> Vec<(&str, &Value)> {
        let Repr::Object(map) = &self.repr else {
            return Vec::new();
        };
        let mut out: Vec<(&str, &Value)> = map.iter().map(|(k, v)| (k.as_str(), v)).collect();
        if let Some(base) = self.base.as_deref().filter(|b| b.is_object()) {
            for (k, v) in base.members() {
                if !map.contains_key(k) {
                    out.push((k, v));
                }
            }
        }
        out
    }

    pub(crate) fn with_schema(mut self, schema: Schema) -> Self {
        self.schema = Some(schema);
        self
    }

    /// The value's schema (spec §4 "Schemas"): as set by its producer, an
    /// unknown's schema, or derived: scalars const, arrays tuples, objects
    /// records of the merged members.
    pub(crate) fn schema(&self) -> Schema {
        if let Some(s) = &self.schema {
            return s.clone();
        }
        match &self.repr {
            Repr::Unknown(s) => s.clone(),
            Repr::Null => Schema::of_type("null"),
            Repr::Bool(b) => Schema::of_const(&PlainValue::Bool(*b)),
            Repr::Number(n) => Schema::of_const(&PlainValue::Number(n.clone())),
            Repr::String(t) => Schema::of_const(&PlainValue::String(t.clone())),
            Repr::Array(items) => Schema::tuple(items.iter().map(Value::schema).collect()),
            Repr::Object(_) => Schema::record(
                self.members()
                    .into_iter()
                    .map(|(k, v)| (k.to_string(), v.schema()))
                    .collect(),
            ),
        }
    }

    pub(crate) fn with_secret(mut self, secret: bool) -> Self {
        self.secret |= secret;
        self
    }

    pub(crate) fn is_unknown(&self) -> bool {
        matches!(self.repr, Repr::Unknown(_))
    }

    /// Whether the value is a known object.
    pub(crate) fn is_object(&self) -> bool {
        matches!(self.repr, Repr::Object(_))
    }

    /// Member `key`: own definitions first, then the base (when the base is
    /// an object).
    pub(crate) fn property(&self, key: &str) -> Option<&Value> {
        match &self.repr {
            Repr::Object(map) => map
                .get(key)
                .or_else(|| self.base.as_deref().and_then(|b| b.property(key))),
            _ => None,
        }
    }

    /// Own keys plus the base's keys when the base is a known object, sorted.
    pub(crate) fn keys(&self) -> Vec<String> {
        let mut keys: Vec<String> = self
            .members()
            .into_iter()
            .map(|(k, _)| k.to_string())
            .collect();
        keys.sort();
        keys
    }

    /// Whether any visited value (merged view) is unknown.
    pub(crate) fn deep_unknown(&self) -> bool {
        match &self.repr {
            Repr::Unknown(_) => true,
            Repr::Array(items) => items.iter().any(Value::deep_unknown),
            Repr::Object(_) => self
                .keys()
                .iter()
                .any(|k| self.property(k).is_some_and(Value::deep_unknown)),
            _ => false,
        }
    }

    /// Whether any visited value (merged view) is unknown, ignoring unknowns
    /// that stand for skipped rotate-only inputs.
    pub(crate) fn deep_observable_unknown(&self) -> bool {
        match &self.repr {
            Repr::Unknown(_) => !self.rotate_only,
            Repr::Array(items) => items.iter().any(Value::deep_observable_unknown),
            Repr::Object(_) => self
                .keys()
                .iter()
                .any(|k| self.property(k).is_some_and(Value::deep_observable_unknown)),
            _ => false,
        }
    }

    /// Whether the value or anything in it (merged view) is secret.
    pub(crate) fn deep_secret(&self) -> bool {
        if self.secret {
            return true;
        }
        match &self.repr {
            Repr::Array(items) => items.iter().any(Value::deep_secret),
            Repr::Object(_) => self
                .keys()
                .iter()
                .any(|k| self.property(k).is_some_and(Value::deep_secret)),
            _ => false,
        }
    }

    /// Mark the value and everything in it secret (merged members are
    /// materialised as own members so that they are marked too).
    pub(crate) fn make_deep_secret(&mut self) {
        self.secret = true;
        match &self.repr {
            Repr::Array(items) => {
                let mut items: Vec<Value> = items.as_ref().clone();
                items.iter_mut().for_each(Value::make_deep_secret);
                self.repr = Repr::Array(Arc::new(items));
            }
            Repr::Object(_) => {
                let members: BTreeMap<String, Value> = self
                    .members()
                    .into_iter()
                    .map(|(k, v)| {
                        let mut v = v.clone();
                        v.make_deep_secret();
                        (k.to_string(), v)
                    })
                    .collect();
                self.repr = Repr::Object(Arc::new(members));
                self.base = None;
            }
            _ => {}
        }
    }

    /// The JSON projection of spec §4 (`redact`: secrets as `"[secret]"`).
    pub(crate) fn export(&self, redact: bool) -> PlainValue {
        if redact && self.secret {
            return PlainValue::string("[secret]");
        }
        match &self.repr {
            Repr::Unknown(_) => PlainValue::string("[unknown]"),
            Repr::Null => PlainValue::Null,
            Repr::Bool(b) => PlainValue::Bool(*b),
            Repr::Number(n) => PlainValue::Number(n.clone()),
            Repr::String(s) => PlainValue::String(s.clone()),
            Repr::Array(items) => {
                PlainValue::Array(items.iter().map(|v| v.export(redact)).collect())
            }
            Repr::Object(_) => PlainValue::Object(
                self.members()
                    .into_iter()
                    .map(|(k, v)| (k.to_string(), v.export(redact)))
                    .collect(),
            ),
        }
    }

    /// The plain data given to providers: secrets wrapped in
    /// [`PlainValue::Secret`], unknown object members omitted, unknown array
    /// elements null.
    pub(crate) fn to_plain(&self) -> PlainValue {
        let plain = match &self.repr {
            Repr::Unknown(_) | Repr::Null => PlainValue::Null,
            Repr::Bool(b) => PlainValue::Bool(*b),
            Repr::Number(n) => PlainValue::Number(n.clone()),
            Repr::String(s) => PlainValue::String(s.clone()),
            Repr::Array(items) => PlainValue::Array(items.iter().map(Value::to_plain).collect()),
            Repr::Object(_) => PlainValue::Object(
                self.keys()
                    .into_iter()
                    .filter_map(|k| {
                        self.property(&k)
                            .filter(|v| !v.is_unknown())
                            .map(|v| (k.clone(), v.to_plain()))
                    })
                    .collect(),
            ),
        };
        if self.secret {
            PlainValue::Secret(Box::new(plain))
        } else {
            plain
        }
    }

    /// Build a value from plain data, every node defined at `def`; secret
    /// marks make their subtree deep-secret.
    pub(crate) fn from_plain(plain: &PlainValue, def: &Option<Arc<Site>>) -> Value {
        let repr = match plain {
            PlainValue::Secret(inner) => {
                let mut v = Value::from_plain(inner, def);
                v.make_deep_secret();
                return v;
            }
            PlainValue::Null => Repr::Null,
            PlainValue::Bool(b) => Repr::Bool(*b),
            PlainValue::Number(n) => Repr::Number(n.clone()),
            PlainValue::String(s) => Repr::String(s.clone()),
            PlainValue::Array(items) => Repr::Array(Arc::new(
                items.iter().map(|v| Value::from_plain(v, def)).collect(),
            )),
            PlainValue::Object(map) => Repr::Object(Arc::new(
                map.iter()
                    .map(|(k, v)| (k.clone(), Value::from_plain(v, def)))
                    .collect(),
            )),
        };
        Value::new(repr, def.clone())
    }

    /// The string form of spec §2.3 with the unknown and secret flags of
    /// everything visited (objects: own keys only).
    pub(crate) fn string_form(&self) -> (String, bool, bool) {
        let mut unknown = false;
        let mut secret = false;
        let text = self.string_form_into(&mut unknown, &mut secret);
        (text, unknown, secret)
    }

    fn string_form_into(&self, unknown: &mut bool, secret: &mut bool) -> String {
        *secret |= self.secret;
        match &self.repr {
            Repr::Unknown(_) => {
                *unknown = true;
                "[unknown]".into()
            }
            Repr::Null => String::new(),
            Repr::Bool(b) => b.to_string(),
            Repr::Number(n) => n.clone(),
            Repr::String(s) => s.clone(),
            Repr::Array(items) => items
                .iter()
                .map(|v| go_quote(&v.string_form_into(unknown, secret)))
                .collect::<Vec<_>>()
                .join(","),
            Repr::Object(map) => map
                .iter()
                .map(|(k, v)| {
                    format!(
                        "{}={}",
                        go_quote(k),
                        go_quote(&v.string_form_into(unknown, secret))
                    )
                })
                .collect::<Vec<_>>()
                .join(","),
        }
    }

    /// The type name used in schema messages.
    pub(crate) fn type_name(&self) -> &'static str {
        match &self.repr {
            Repr::Null => "null",
            Repr::Bool(_) => "boolean",
            Repr::Number(_) => "number",
            Repr::String(_) => "string",
            Repr::Array(_) => "array",
            Repr::Object(_) => "object",
            Repr::Unknown(_) => "unknown",
        }
    }
}

/// What `value` weighs once every reference in it is expanded: 32 per
/// value plus its text (strings, numbers, keys), copies of one value
/// counted each time, as output and string forms would write them out.
/// Whether that is at most `limit`. References share containers (`Arc`),
/// so ten references to a list of ten references to ... cost little to
/// evaluate and exponentially much to write: this is counted without
/// expanding, once per shared container.
pub(crate) fn expands_within(value: &Value, limit: usize) -> bool {
    weigh(value, limit, &mut HashMap::new()) <= limit
}

const VALUE_WEIGHT: usize = 32;

fn weigh(value: &Value, limit: usize, memo: &mut HashMap<(usize, usize), usize>) -> usize {
    let key = |ptr: *const (), base: Option<&Arc<Value>>| {
        (ptr as usize, base.map_or(0, |b| Arc::as_ptr(b) as usize))
    };
    match &value.repr {
        Repr::String(s) | Repr::Number(s) => VALUE_WEIGHT + s.len(),
        Repr::Array(items) => {
            let k = key(Arc::as_ptr(items).cast(), None);
            if let Some(w) = memo.get(&k) {
                return *w;
            }
            let mut w = VALUE_WEIGHT;
            for item in items.iter() {
                w = w.saturating_add(weigh(item, limit, memo));
                if w > limit {
                    break;
                }
            }
            memo.insert(k, w);
            w
        }
        Repr::Object(map) => {
            // the merged view depends on the base too
            let k = key(Arc::as_ptr(map).cast(), value.base.as_ref());
            if let Some(w) = memo.get(&k) {
                return *w;
            }
            let mut w = VALUE_WEIGHT;
            for (name, member) in value.members() {
                w = w
                    .saturating_add(name.len())
                    .saturating_add(weigh(member, limit, memo));
                if w > limit {
                    break;
                }
            }
            memo.insert(k, w);
            w
        }
        Repr::Null | Repr::Bool(_) | Repr::Unknown(_) => VALUE_WEIGHT,
    }
}

/// How many values `value` and its chain of overridden values are: what
/// [`merge_imported`] and every walk of the chain recurse through.
pub(crate) fn chain_len(value: &Value) -> usize {
    let mut n = 1;
    let mut next = value.base.as_deref();
    while let Some(v) = next {
        n += 1;
        next = v.base.as_deref();
    }
    n
}

/// Merge `top` over `base` (imports over each other, spec §1.3): objects
/// over objects take the union of keys, merging common keys; anything else
/// replaces.
///
/// The result keeps `top`'s members (flattened with whatever `top` itself
/// inherited) and inherits the rest from `base` through its base pointer,
/// so the cost is the size of `top`, not of the accumulated base.
pub(crate) fn merge_imported(top: &Value, base: &Value) -> Value {
    let mut out = top.clone();
    if top.is_object() && base.is_object() {
        let mut members: BTreeMap<String, Value> = BTreeMap::new();
        for (k, t) in top.members() {
            let merged = match base.property(k) {
                Some(b) => merge_imported(t, b),
                None => t.clone(),
            };
            members.insert(k.to_string(), merged);
        }
        out.repr = Repr::Object(Arc::new(members));
    }
    // The chain of overridden values continues below top's own base.
    out.base = Some(Arc::new(match top.base.as_deref() {
        None => base.clone(),
        Some(own) => merge_imported(own, base),
    }));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obj(members: &[(&str, Value)]) -> Value {
        Value::object(
            members
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect(),
            None,
        )
    }

    fn s(text: &str) -> Value {
        Value::string(text, None)
    }

    #[test]
    fn string_form_quotes_nested_values() {
        let v = obj(&[
            ("a", Value::new(Repr::Null, None)),
            ("b", Value::new(Repr::Bool(true), None)),
            ("d", Value::array(vec![s("hello")], None)),
        ]);
        let (text, unknown, secret) = v.string_form();
        assert_eq!(text, r#""a"="","b"="true","d"="\"hello\"""#);
        assert!(!unknown && !secret);
    }

    #[test]
    fn merged_keys_and_own_keys() {
        let base = obj(&[("foo", s("bar")), ("x", obj(&[("p", s("1"))]))]);
        let top = obj(&[("x", obj(&[("q", s("2"))])), ("y", s("3"))]);
        let merged = merge_imported(&top, &base);
        assert_eq!(merged.keys(), vec!["foo", "x", "y"]);
        let x = merged.property("x").map(|v| v.keys());
        assert_eq!(x, Some(vec!["p".to_string(), "q".to_string()]));
    }

    #[test]
    fn unknown_top_hides_base() {
        let base = obj(&[("foo", s("bar"))]);
        let top = Value::unknown(Schema::always(), None);
        let merged = merge_imported(&top, &base);
        assert!(merged.is_unknown());
        assert!(merged.keys().is_empty());
    }
}
