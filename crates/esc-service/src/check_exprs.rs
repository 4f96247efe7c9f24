//! The `exprs` of a check response (spec/API.md § 3.3): the evaluator's §9
//! expressions made fit to send.
//!
//! Two adjustments, both structural (the walk follows the `Expr` shape, so a
//! user's member named `index` or `range` is never mistaken for a field):
//! - every index accessor also gets a `key` (its decimal index): the Python
//!   SDK's accessor model requires `key`; the Go CLI ignores accessors;
//! - with secrets hidden, nothing derived from a secret may remain. In a
//!   check without `showSecrets` the only known secrets are plaintext
//!   `fn::secret` literals of the checked text (ciphertexts stay unknown and
//!   stored imports are sealed), but their values flow into the schemas of
//!   every expression that uses them, and the JSON does not say which
//!   those are. So the literal argument of every `fn::secret` is replaced by
//!   `"[secret]"`, and every expression schema is reduced to its `type`
//!   (no `const`, no member names, no items). Ranges, kinds, keys, `base`
//!   chains and builtin names, what clients use, stay.
//!
//! [`drop_access`] removes `access` expressions (late-bound accesses into
//! unknown imported values) for clients whose models cannot read them.

use std::collections::BTreeMap;

use esc_eval::PlainValue;

/// What stands in for a hidden `fn::secret` literal.
const REDACTED: &str = "[secret]";

/// The evaluator's `exprs` prepared for a check response.
pub(crate) fn prepare(
    mut exprs: BTreeMap<String, PlainValue>,
    show_secrets: bool,
) -> BTreeMap<String, PlainValue> {
    let adjust = Adjust {
        redact: !show_secrets,
        drop_access: false,
    };
    for expr in exprs.values_mut() {
        adjust.expr(expr);
    }
    exprs
}

/// Removes every `access` expression kind from the `exprs` of a check
/// response (`environment` is the whole response object): the Python SDK
/// models `access` as a list where the reference sends an object, so a
/// response carrying one fails its validation (spec/API.md § 3.3). The
/// expression keeps its `range` and `schema`.
pub fn drop_access(environment: &mut PlainValue) {
    let adjust = Adjust {
        redact: false,
        drop_access: true,
    };
    if let PlainValue::Object(map) = environment
        && let Some(PlainValue::Object(exprs)) = map.get_mut("exprs")
    {
        for expr in exprs.values_mut() {
            adjust.expr(expr);
        }
    }
}

/// One structural walk over `Expr` JSON.
struct Adjust {
    redact: bool,
    drop_access: bool,
}

impl Adjust {
    fn expr(&self, expr: &mut PlainValue) {
        let PlainValue::Object(fields) = expr else {
            return;
        };
        if self.redact
            && let Some(schema) = fields.get_mut("schema")
        {
            *schema = type_only(schema);
        }
        if self.drop_access {
            fields.remove("access");
        }
        if let Some(base) = fields.get_mut("base") {
            self.expr(base);
        }
        if let Some(PlainValue::Array(parts)) = fields.get_mut("interpolate") {
            for part in parts {
                if let PlainValue::Object(part) = part
                    && let Some(accessors) = part.get_mut("value")
                {
                    self.accessors(accessors);
                }
            }
        }
        if let Some(accessors) = fields.get_mut("symbol") {
            self.accessors(accessors);
        }
        if let Some(PlainValue::Object(access)) = fields.get_mut("access")
            && let Some(accessors) = access.get_mut("accessors")
        {
            self.accessors(accessors);
        }
        if let Some(PlainValue::Array(items)) = fields.get_mut("list") {
            items.iter_mut().for_each(|item| self.expr(item));
        }
        if let Some(PlainValue::Object(members)) = fields.get_mut("object") {
            members.values_mut().for_each(|member| self.expr(member));
        }
        if let Some(PlainValue::Object(builtin)) = fields.get_mut("builtin") {
            let is_secret = builtin.get("name").and_then(PlainValue::as_str) == Some("fn::secret");
            if let Some(arg) = builtin.get_mut("arg") {
                if self.redact && is_secret {
                    redact_secret_arg(arg);
                }
                self.expr(arg);
            }
        }
    }

    fn accessors(&self, accessors: &mut PlainValue) {
        let PlainValue::Array(list) = accessors else {
            return;
        };
        for accessor in list {
            if let PlainValue::Object(fields) = accessor
                && !fields.contains_key("key")
                && let Some(PlainValue::Number(index)) = fields.get("index")
            {
                let key = PlainValue::string(index.clone());
                fields.insert("key".to_owned(), key);
            }
        }
    }
}

/// The plaintext argument of `fn::secret` (a `literal`) loses its text; the
/// ciphertext form (`object` with a `ciphertext` literal) is already opaque.
fn redact_secret_arg(arg: &mut PlainValue) {
    if let PlainValue::Object(fields) = arg
        && let Some(literal) = fields.get_mut("literal")
    {
        *literal = PlainValue::string(REDACTED);
    }
}

/// A schema reduced to its `type` (`true` when it has none).
fn type_only(schema: &PlainValue) -> PlainValue {
    match schema {
        PlainValue::Bool(b) => PlainValue::Bool(*b),
        PlainValue::Object(fields) => match fields.get("type") {
            Some(PlainValue::String(t)) if !t.is_empty() => {
                PlainValue::object([("type", PlainValue::string(t.clone()))])
            }
            Some(PlainValue::Array(types)) if !types.is_empty() => {
                PlainValue::object([("type", PlainValue::Array(types.clone()))])
            }
            _ => PlainValue::Bool(true),
        },
        _ => PlainValue::Bool(true),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn json(text: &str) -> PlainValue {
        PlainValue::from_json(text).unwrap()
    }

    fn exprs(text: &str) -> BTreeMap<String, PlainValue> {
        match json(text) {
            PlainValue::Object(map) => map,
            _ => panic!("not an object"),
        }
    }

    fn text(exprs: &BTreeMap<String, PlainValue>) -> String {
        PlainValue::Object(exprs.clone()).to_json().unwrap()
    }

    const RANGE: &str = r#"{"environment":"<yaml>","begin":{"line":1,"column":1,"byte":0},"end":{"line":1,"column":2,"byte":1}}"#;

    #[test]
    fn index_accessors_get_their_index_as_key() {
        let input = format!(
            r#"{{"a":{{"range":{RANGE},"schema":true,"symbol":[{{"key":"list","range":{RANGE},"value":{RANGE}}},{{"index":3,"range":{RANGE},"value":{RANGE}}}]}},
                "b":{{"range":{RANGE},"schema":true,"interpolate":[{{"text":"x","value":[{{"index":0,"range":{RANGE},"value":{RANGE}}}]}}]}}}}"#
        );
        let out = prepare(exprs(&input), true);
        let a = out["a"].member("symbol").unwrap();
        let PlainValue::Array(a) = a else { panic!() };
        assert_eq!(a[0].member("key"), Some(&PlainValue::string("list")));
        assert_eq!(a[1].member("key"), Some(&PlainValue::string("3")));
        assert_eq!(a[1].member("index"), Some(&PlainValue::Number("3".into())));
        let b = text(&out);
        assert!(b.contains(r#""index":0,"key":"0""#), "{b}");
    }

    #[test]
    fn members_named_like_accessor_fields_are_left_alone() {
        // An object literal with members `index` and `range` is not an accessor.
        let input = format!(
            r#"{{"o":{{"range":{RANGE},"schema":true,"object":{{"index":{{"range":{RANGE},"schema":true,"literal":1}},"range":{{"range":{RANGE},"schema":true,"literal":2}}}}}}}}"#
        );
        let out = prepare(exprs(&input), true);
        let object = out["o"].member("object").unwrap();
        let PlainValue::Object(members) = object else {
            panic!()
        };
        assert_eq!(members.len(), 2);
        assert!(members["index"].member("key").is_none());
    }

    #[test]
    fn hidden_secrets_leave_no_literal_or_const() {
        let input = format!(
            r#"{{"pw":{{"range":{RANGE},"schema":{{"type":"string","const":"hunter2"}},"builtin":{{"name":"fn::secret","nameRange":{RANGE},"argSchema":true,"arg":{{"range":{RANGE},"schema":{{"type":"string","const":"hunter2"}},"literal":"hunter2"}}}}}},
                "derived":{{"range":{RANGE},"schema":{{"type":"object","properties":{{"hunter2x":{{"type":"string","const":"hunter2-x"}}}}}},"base":{{"range":{RANGE},"schema":{{"type":"string","const":"hunter2"}}}},"interpolate":[{{"value":[{{"key":"pw","range":{RANGE},"value":{RANGE}}}]}},{{"text":"-x"}}]}}}}"#
        );
        let shown = text(&prepare(exprs(&input), true));
        assert!(shown.contains("hunter2"));
        let hidden = prepare(exprs(&input), false);
        let hidden_text = text(&hidden);
        assert!(!hidden_text.contains("hunter2"), "{hidden_text}");
        let arg = hidden["pw"]
            .member("builtin")
            .and_then(|b| b.member("arg"))
            .unwrap();
        assert_eq!(arg.member("literal"), Some(&PlainValue::string("[secret]")));
        assert_eq!(
            hidden["derived"].member("schema"),
            Some(&json(r#"{"type":"object"}"#))
        );
        // Ranges and kinds stay.
        assert!(hidden["derived"].member("interpolate").is_some());
        assert!(
            hidden["derived"]
                .member("base")
                .unwrap()
                .member("range")
                .is_some()
        );
    }

    #[test]
    fn access_is_dropped_on_request_only() {
        let access = format!(
            r#"{{"range":{RANGE},"schema":true,"access":{{"receiver":{RANGE},"accessors":[{{"key":"user","range":{RANGE}}}]}}}}"#
        );
        let input = format!(
            r#"{{"exprs":{{"creds":{{"range":{RANGE},"schema":true,"object":{{"user":{{"range":{RANGE},"schema":true,"literal":"x","base":{access}}}}}}}}}}}"#
        );
        let mut environment = json(&input);
        let kept = environment.to_json().unwrap();
        assert!(kept.contains(r#""access""#));
        drop_access(&mut environment);
        let dropped = environment.to_json().unwrap();
        assert!(!dropped.contains(r#""access""#), "{dropped}");
        assert!(dropped.contains(r#""base":{"range""#), "{dropped}");
    }
}
