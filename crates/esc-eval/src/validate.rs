//! Schema validation of known values (spec §6.2) and compatibility of
//! unknown values' schemas (spec §6.3).

use std::cmp::Ordering;
use std::sync::Arc;

use esc_syntax::Diagnostic;

use crate::plain::PlainValue;
use crate::schema::{ObjectSchema, Schema};
use crate::value::{Repr, Site, Value};

/// Validate `value` against `accept`, blaming each checked value's defining
/// expression (or `fallback`). Returns whether it passed; diagnostics are
/// appended to `diags`.
pub(crate) fn validate(
    value: &Value,
    accept: &Schema,
    fallback: &Arc<Site>,
    diags: &mut Vec<Diagnostic>,
) -> bool {
    let site = value.def.clone().unwrap_or_else(|| fallback.clone());
    let o = match accept {
        Schema::Bool(b) => return *b,
        Schema::Object(o) => o,
    };
    if let Repr::Unknown(x) = &value.repr {
        return compatible(x, accept, &site, "", diags);
    }
    if let Some(target) = &o.ref_target {
        return validate(value, target, fallback, diags);
    }
    let mut ok = true;
    if !o.any_of.is_empty() {
        let mut branch_diags = Vec::new();
        let passed = o.any_of.iter().any(|b| {
            let mut d = Vec::new();
            let pass = validate(value, b, &site, &mut d);
            branch_diags.extend(d);
            pass
        });
        if !passed {
            diags.extend(branch_diags);
            diags.push(error("at least one subschema must match", &site));
            ok = false;
        }
    }
    if !o.one_of.is_empty() {
        let mut branch_diags = Vec::new();
        let mut n_passed = 0;
        for b in &o.one_of {
            let mut d = Vec::new();
            if validate(value, b, &site, &mut d) {
                n_passed += 1;
            }
            branch_diags.extend(d);
        }
        if n_passed == 0 {
            diags.extend(branch_diags);
            diags.push(error("exactly one subschema must match", &site));
            ok = false;
        } else if n_passed > 1 {
            diags.push(error("exactly one subschema may match", &site));
            ok = false;
        }
    }
    let plain = || value.export(false);
    if let Some(c) = &o.const_
        && plain() != c.revealed()
    {
        diags.push(error(format!("expected {}", json_text(c)), &site));
        ok = false;
    }
    if let Some(options) = &o.enum_ {
        let p = plain();
        if !options.iter().any(|e| e.revealed() == p) {
            let msg = if options.len() == 1 {
                format!("expected {}", json_text(&options[0]))
            } else {
                format!(
                    "expected one of {}",
                    json_text(&PlainValue::Array(options.clone()))
                )
            };
            diags.push(error(msg, &site));
            ok = false;
        }
    }
    let actual = value.type_name();
    if !o.type_.is_empty() && o.type_ != actual {
        diags.push(error(format!("expected {}, got {actual}", o.type_), &site));
        return false;
    }
    match &value.repr {
        Repr::Number(n) => ok &= check_number(n, o, &site, diags),
        Repr::String(s) => {
            if let Some(min) = o.min_length
                && (s.len() as u64) < min
            {
                diags.push(error(
                    format!("expected a string of at least length {min}"),
                    &site,
                ));
                ok = false;
            }
            if let Some(max) = o.max_length
                && (s.len() as u64) > max
            {
                diags.push(error(
                    format!("expected a string of at most length {max}"),
                    &site,
                ));
                ok = false;
            }
            if let Some(p) = &o.pattern
                && !p.is_match(s)
            {
                diags.push(error(
                    format!(
                        "string must match the pattern {}",
                        crate::go_quote(&p.source)
                    ),
                    &site,
                ));
                ok = false;
            }
        }
        Repr::Array(items) => {
            if let Some(min) = o.min_items
                && (items.len() as u64) < min
            {
                diags.push(error(
                    format!("expected an array with at least {min} items"),
                    &site,
                ));
                ok = false;
            }
            if let Some(max) = o.max_items
                && (items.len() as u64) > max
            {
                diags.push(error(
                    format!("expected an array with at most {max} items"),
                    &site,
                ));
                ok = false;
            }
            for (i, item) in items.iter().enumerate() {
                let s = o.prefix_items.get(i).or(o.items.as_ref());
                if let Some(s) = s {
                    ok &= validate(item, s, &site, diags);
                }
            }
        }
        Repr::Object(_) => {
            let keys = value.keys();
            if let Some(min) = o.min_properties
                && (keys.len() as u64) < min
            {
                diags.push(error(
                    format!("expected an object with at least {min} properties"),
                    &site,
                ));
                ok = false;
            }
            if let Some(max) = o.max_properties
                && (keys.len() as u64) > max
            {
                diags.push(error(
                    format!("expected an object with at most {max} properties"),
                    &site,
                ));
                ok = false;
            }
            for k in &keys {
                let s = o.properties.get(k).or(o.additional_properties.as_ref());
                if let (Some(s), Some(member)) = (s, value.property(k)) {
                    ok &= validate(member, s, &site, diags);
                }
            }
            let mut missing: Vec<&str> = Vec::new();
            for r in &o.required {
                if !keys.contains(r) && !missing.contains(&r.as_str()) {
                    missing.push(r);
                }
            }
            for (k, deps) in &o.dependent_required {
                if keys.contains(k) {
                    for d in deps {
                        if !keys.contains(d) && !missing.contains(&d.as_str()) {
                            missing.push(d);
                        }
                    }
                }
            }
            if !missing.is_empty() {
                diags.push(error(
                    format!("missing required properties: {}", missing.join(", ")),
                    &site,
                ));
                ok = false;
            }
        }
        _ => {}
    }
    ok
}

/// Whether an unknown of schema `x` may satisfy `accept` (spec §6.3).
pub(crate) fn compatible(
    x: &Schema,
    accept: &Schema,
    site: &Arc<Site>,
    rel: &str,
    diags: &mut Vec<Diagnostic>,
) -> bool {
    let accept_o = match accept.resolved() {
        Schema::Bool(b) => return *b,
        Schema::Object(o) => o.clone(),
    };
    let x_o = match x.resolved() {
        Schema::Bool(b) => return *b,
        Schema::Object(o) => o.clone(),
    };
    let err = |msg: String| {
        error(
            if rel.is_empty() {
                msg
            } else {
                format!("{rel}: {msg}")
            },
            site,
        )
    };
    let branches =
        |o: &ObjectSchema| -> Vec<Schema> { o.any_of.iter().chain(&o.one_of).cloned().collect() };
    let x_branches = branches(&x_o);
    if !x_branches.is_empty() {
        let mut branch_diags = Vec::new();
        let passed = x_branches.iter().any(|b| {
            let mut d = Vec::new();
            let pass = compatible(b, accept, site, rel, &mut d);
            branch_diags.extend(d);
            pass
        });
        if !passed {
            diags.extend(branch_diags);
            diags.push(err("at least one subschema must match".into()));
        }
        return passed;
    }
    if !accept_o.type_.is_empty() && !x_o.type_.is_empty() && accept_o.type_ != x_o.type_ {
        diags.push(err(format!(
            "expected {}, got {}",
            accept_o.type_, x_o.type_
        )));
        return false;
    }
    let accept_branches = branches(&accept_o);
    if !accept_branches.is_empty() {
        let mut branch_diags = Vec::new();
        let passed = accept_branches.iter().any(|b| {
            let mut d = Vec::new();
            let pass = compatible(x, b, site, rel, &mut d);
            branch_diags.extend(d);
            pass
        });
        if !passed {
            diags.extend(branch_diags);
            diags.push(err("at least one subschema must match".into()));
        }
        return passed;
    }
    let mut ok = true;
    let always = Schema::always();
    if x_o.type_ == "array" {
        let n = x_o.prefix_items.len().max(accept_o.prefix_items.len());
        for i in 0..n {
            let child = format!("{rel}[{i}]");
            let xs = x_o
                .prefix_items
                .get(i)
                .or(x_o.items.as_ref())
                .unwrap_or(&always);
            let accs = accept_o
                .prefix_items
                .get(i)
                .or(accept_o.items.as_ref())
                .unwrap_or(&always);
            ok &= compatible(xs, accs, site, &child, diags);
        }
        if let Some(xi) = &x_o.items
            && !xi.is_never()
        {
            let accs = accept_o.items.as_ref().unwrap_or(&always);
            ok &= compatible(xi, accs, site, rel, diags);
        }
    }
    if x_o.type_ == "object" || !x_o.properties.is_empty() {
        for (k, xs) in &x_o.properties {
            let child = if rel.is_empty() {
                k.clone()
            } else {
                format!("{rel}.{k}")
            };
            let accs = accept_o
                .properties
                .get(k)
                .or(accept_o.additional_properties.as_ref())
                .unwrap_or(&always);
            ok &= compatible(xs, accs, site, &child, diags);
        }
        match &x_o.additional_properties {
            None => {
                let mut missing: Vec<&String> = Vec::new();
                for r in &accept_o.required {
                    if !x_o.required.contains(r) && !missing.contains(&r) {
                        missing.push(r);
                    }
                }
                for name in &x_o.required {
                    if let Some(deps) = accept_o.dependent_required.get(name) {
                        for d in deps {
                            if !x_o.required.contains(d) && !missing.contains(&d) {
                                missing.push(d);
                            }
                        }
                    }
                }
                for m in missing {
                    let child = if rel.is_empty() {
                        m.clone()
                    } else {
                        format!("{rel}.{m}")
                    };
                    diags.push(error(format!("{child}: missing required property"), site));
                    ok = false;
                }
            }
            Some(xa) => {
                let accs = accept_o.additional_properties.as_ref().unwrap_or(&always);
                ok &= compatible(xa, accs, site, rel, diags);
            }
        }
    }
    ok
}

fn error(summary: impl Into<String>, site: &Site) -> Diagnostic {
    // A value defined nowhere in the text (the "" of an invalid
    // `fn::secret`, a missing part) has a zero range; the reference blames
    // its synthetic node, which has no range: the diagnostic has none.
    let range = (site.range.start.line != 0).then(|| site.range.clone());
    Diagnostic::error(summary, range, site.path.clone())
}

fn json_text(v: &PlainValue) -> String {
    v.to_json().unwrap_or_else(|_| "<invalid>".into())
}

fn check_number(n: &str, o: &ObjectSchema, site: &Site, diags: &mut Vec<Diagnostic>) -> bool {
    let Some(value) = Decimal::parse(n) else {
        return true;
    };
    let mut ok = true;
    let mut fail = |msg: String| {
        diags.push(error(msg, site));
        ok = false;
    };
    if let Some(m) = &o.multiple_of
        && let Some(md) = Decimal::parse(m)
        && !value.is_multiple_of(&md)
    {
        fail(format!("expected a multiple of {m}"));
    }
    let cmp = |bound: &Option<String>| {
        bound
            .as_ref()
            .and_then(|b| Decimal::parse(b).map(|d| (b.clone(), value.cmp(&d))))
    };
    if let Some((b, ord)) = cmp(&o.minimum)
        && ord == Ordering::Less
    {
        fail(format!("expected a number greater than or equal to {b}"));
    }
    if let Some((b, ord)) = cmp(&o.exclusive_minimum)
        && ord != Ordering::Greater
    {
        fail(format!("expected a number greater than {b}"));
    }
    if let Some((b, ord)) = cmp(&o.maximum)
        && ord == Ordering::Greater
    {
        // The reference's message has no space before the number.
        fail(format!("expected a number less than or equal to{b}"));
    }
    if let Some((b, ord)) = cmp(&o.exclusive_maximum)
        && ord != Ordering::Less
    {
        fail(format!("expected a number less than {b}"));
    }
    ok
}

/// An exact decimal: `(-1)^neg * digits * 10^exp`, digits without leading
/// or trailing zeros (zero has no digits).
#[derive(Clone, Debug, PartialEq, Eq)]
struct Decimal {
    neg: bool,
    digits: Vec<u8>,
    exp: i64,
}

impl Decimal {
    fn parse(text: &str) -> Option<Decimal> {
        let (neg, rest) = match text.as_bytes().first()? {
            b'-' => (true, &text[1..]),
            b'+' => (false, &text[1..]),
            _ => (false, text),
        };
        let (mantissa, exp_text) = match rest.find(['e', 'E']) {
            Some(i) => (&rest[..i], Some(&rest[i + 1..])),
            None => (rest, None),
        };
        let mut exp: i64 = match exp_text {
            Some(e) => e.parse().ok()?,
            None => 0,
        };
        let (int, frac) = match mantissa.find('.') {
            Some(i) => (&mantissa[..i], &mantissa[i + 1..]),
            None => (mantissa, ""),
        };
        if int.is_empty() && frac.is_empty() {
            return None;
        }
        let mut digits = Vec::new();
        for c in int.bytes().chain(frac.bytes()) {
            if !c.is_ascii_digit() {
                return None;
            }
            digits.push(c - b'0');
        }
        exp = exp.checked_sub(frac.len() as i64)?;
        while digits.first() == Some(&0) {
            digits.remove(0);
        }
        while digits.last() == Some(&0) {
            digits.pop();
            exp += 1;
        }
        let neg = neg && !digits.is_empty();
        Some(Decimal { neg, digits, exp })
    }

    fn cmp_magnitude(&self, other: &Decimal) -> Ordering {
        match (self.digits.is_empty(), other.digits.is_empty()) {
            (true, true) => return Ordering::Equal,
            (true, false) => return Ordering::Less,
            (false, true) => return Ordering::Greater,
            _ => {}
        }
        let a_top = self.digits.len() as i64 + self.exp;
        let b_top = other.digits.len() as i64 + other.exp;
        if a_top != b_top {
            return a_top.cmp(&b_top);
        }
        let n = self.digits.len().max(other.digits.len());
        for i in 0..n {
            let a = self.digits.get(i).copied().unwrap_or(0);
            let b = other.digits.get(i).copied().unwrap_or(0);
            if a != b {
                return a.cmp(&b);
            }
        }
        Ordering::Equal
    }

    fn cmp(&self, other: &Decimal) -> Ordering {
        match (self.neg, other.neg) {
            (false, true) => Ordering::Greater,
            (true, false) => Ordering::Less,
            (false, false) => self.cmp_magnitude(other),
            (true, true) => other.cmp_magnitude(self),
        }
    }

    fn is_multiple_of(&self, m: &Decimal) -> bool {
        if m.digits.is_empty() {
            return true;
        }
        if self.digits.is_empty() {
            return true;
        }
        let e = self.exp.min(m.exp);
        let scaled = |d: &Decimal| -> Option<u128> {
            let mut v: u128 = 0;
            for &x in &d.digits {
                v = v.checked_mul(10)?.checked_add(u128::from(x))?;
            }
            for _ in 0..(d.exp - e) {
                v = v.checked_mul(10)?;
            }
            Some(v)
        };
        match (scaled(self), scaled(m)) {
            (Some(a), Some(b)) => a % b == 0,
            _ => {
                let q = self.to_f64() / m.to_f64();
                q.is_finite() && q.fract() == 0.0
            }
        }
    }

    fn to_f64(&self) -> f64 {
        let text: String = self.digits.iter().map(|d| char::from(b'0' + d)).collect();
        let v: f64 = format!(
            "{}{}e{}",
            if self.neg { "-" } else { "" },
            if text.is_empty() { "0" } else { &text },
            self.exp
        )
        .parse()
        .unwrap_or(f64::NAN);
        v
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn d(s: &str) -> Decimal {
        Decimal::parse(s).unwrap()
    }

    #[test]
    fn decimals_compare_exactly() {
        assert_eq!(d("1").cmp(&d("1.0")), Ordering::Equal);
        assert_eq!(d("0.1").cmp(&d("0.10000000000000000001")), Ordering::Less);
        assert_eq!(d("-2").cmp(&d("1")), Ordering::Less);
        assert_eq!(d("1e3").cmp(&d("999.9")), Ordering::Greater);
        assert!(d("4").is_multiple_of(&d("2")));
        assert!(!d("3.14").is_multiple_of(&d("2")));
        assert!(d("0.3").is_multiple_of(&d("0.1")));
        assert!(Decimal::parse("+Inf").is_none());
    }
}
