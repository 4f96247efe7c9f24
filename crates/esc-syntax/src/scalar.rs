//! Scalar resolution (YAML 1.2 core schema as go-yaml v3 applies it) and number text (spec §1.1).

use crate::tree::NodeKind;

/// What a scalar's text resolves to before it becomes a [`NodeKind`].
#[derive(Clone, Debug, PartialEq)]
enum Resolved {
    Null,
    Bool(bool),
    Int(i64),
    Uint(u64),
    Float(f64),
    Str,
}

impl Resolved {
    fn tag(&self) -> &'static str {
        match self {
            Resolved::Null => "!!null",
            Resolved::Bool(_) => "!!bool",
            Resolved::Int(_) | Resolved::Uint(_) => "!!int",
            Resolved::Float(_) => "!!float",
            Resolved::Str => "!!str",
        }
    }
}

/// The explicit tag of a scalar, in go-yaml's short form.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ScalarTag<'a> {
    /// No tag, or the non-specific `!`.
    None,
    /// `!!null`, `!!bool`, `!!int`, `!!float`, `!!str` or any other tag (`!foo`, `!!binary`).
    Explicit(&'a str),
}

/// Resolves a scalar to a node kind. `quoted` is true for quoted and block
/// scalars, which are strings unless explicitly tagged otherwise. Returns the
/// go-yaml decode error text when an explicit tag does not fit the value.
pub(crate) fn resolve_scalar(
    value: &str,
    quoted: bool,
    tag: ScalarTag<'_>,
) -> Result<Option<NodeKind>, String> {
    let resolved = match tag {
        ScalarTag::None if quoted => Resolved::Str,
        ScalarTag::None => resolve_plain(value),
        ScalarTag::Explicit("!!str") => Resolved::Str,
        ScalarTag::Explicit(wanted @ ("!!null" | "!!bool" | "!!int" | "!!float")) => {
            let resolved = resolve_plain(value);
            match (wanted, &resolved) {
                (_, r) if r.tag() == wanted => resolved,
                // go-yaml converts signed integers to floats for `!!float`, not unsigned ones.
                ("!!float", Resolved::Int(i)) => Resolved::Float(*i as f64),
                _ => {
                    return Err(format!(
                        "yaml: cannot decode {} `{}` as a {}",
                        resolved.tag(),
                        value,
                        wanted
                    ));
                }
            }
        }
        ScalarTag::Explicit(_) => Resolved::Str,
    };
    Ok(match resolved {
        Resolved::Null => Some(NodeKind::Null),
        Resolved::Bool(b) => Some(NodeKind::Bool(b)),
        Resolved::Int(i) => Some(NodeKind::Number(i.to_string())),
        Resolved::Uint(u) => Some(NodeKind::Number(u.to_string())),
        Resolved::Float(f) => Some(NodeKind::Number(format_float(f))),
        // the caller builds the string node (it knows the style)
        Resolved::Str => None,
    })
}

/// go-yaml v3 `resolve("", value)` for a plain scalar.
fn resolve_plain(value: &str) -> Resolved {
    let hint = match value.as_bytes().first() {
        None => b'N',
        Some(b'+' | b'-') => b'S',
        Some(b'0'..=b'9') => b'D',
        Some(b'.') => b'.',
        Some(b'y' | b'Y' | b'n' | b'N' | b't' | b'T' | b'f' | b'F' | b'o' | b'O' | b'~') => b'M',
        Some(_) => return Resolved::Str,
    };
    match value {
        "true" | "True" | "TRUE" => return Resolved::Bool(true),
        "false" | "False" | "FALSE" => return Resolved::Bool(false),
        "" | "~" | "null" | "Null" | "NULL" => return Resolved::Null,
        ".nan" | ".NaN" | ".NAN" => return Resolved::Float(f64::NAN),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => {
            return Resolved::Float(f64::INFINITY);
        }
        "-.inf" | "-.Inf" | "-.INF" => return Resolved::Float(f64::NEG_INFINITY),
        _ => {}
    }
    match hint {
        b'.' => parse_dot_float(value).map_or(Resolved::Str, Resolved::Float),
        b'D' | b'S' => {
            // Timestamps (`2001-12-14`) would resolve here too, but they decode to
            // strings holding the raw text, which is what falling through gives.
            let plain: String = value.chars().filter(|&c| c != '_').collect();
            if let Some(i) = parse_int(&plain) {
                Resolved::Int(i)
            } else if let Some(u) = parse_uint(&plain) {
                Resolved::Uint(u)
            } else if is_yaml_float(&plain) {
                parse_finite(&plain).map_or(Resolved::Str, Resolved::Float)
            } else {
                // go-yaml's remaining `0b`/`0o` branches repeat what parse_int tried.
                Resolved::Str
            }
        }
        _ => Resolved::Str,
    }
}

/// Go `strconv.ParseInt(s, 0, 64)` (underscores already removed).
fn parse_int(s: &str) -> Option<i64> {
    let (negative, digits) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let magnitude = parse_uint(digits)?;
    if negative {
        if magnitude > 1u64 << 63 {
            None
        } else {
            Some((magnitude as i64).wrapping_neg())
        }
    } else {
        i64::try_from(magnitude).ok()
    }
}

/// Go `strconv.ParseUint(s, 0, 64)`: `0x`/`0o`/`0b` prefixes, a leading `0` means octal.
fn parse_uint(s: &str) -> Option<u64> {
    let bytes = s.as_bytes();
    if bytes.is_empty() {
        return None;
    }
    let (radix, digits) = if bytes[0] == b'0' {
        match bytes.get(1).map(u8::to_ascii_lowercase) {
            Some(b'b') if bytes.len() >= 3 => (2, &s[2..]),
            Some(b'o') if bytes.len() >= 3 => (8, &s[2..]),
            Some(b'x') if bytes.len() >= 3 => (16, &s[2..]),
            _ => (8, &s[1..]),
        }
    } else {
        (10, s)
    };
    let mut n: u64 = 0;
    for c in digits.chars() {
        let d = c.to_digit(radix)?;
        n = n.checked_mul(u64::from(radix))?.checked_add(u64::from(d))?;
    }
    Some(n)
}

/// go-yaml's `yamlStyleFloat`: `^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$`.
fn is_yaml_float(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    if matches!(b.first(), Some(b'+' | b'-')) {
        i += 1;
    }
    let digits = |i: &mut usize| {
        let start = *i;
        while b.get(*i).is_some_and(u8::is_ascii_digit) {
            *i += 1;
        }
        *i - start
    };
    if b.get(i) == Some(&b'.') {
        i += 1;
        if digits(&mut i) == 0 {
            return false;
        }
    } else {
        if digits(&mut i) == 0 {
            return false;
        }
        if b.get(i) == Some(&b'.') {
            i += 1;
            digits(&mut i);
        }
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        if digits(&mut i) == 0 {
            return false;
        }
    }
    i == b.len()
}

/// Go `strconv.ParseFloat` on a text starting with `.` (underscores allowed between digits).
fn parse_dot_float(s: &str) -> Option<f64> {
    if s.contains('_') && !underscores_ok(s) {
        return None;
    }
    let plain: String = s.chars().filter(|&c| c != '_').collect();
    if !is_yaml_float(&plain) {
        return None;
    }
    parse_finite(&plain)
}

/// Go's `underscoreOK` for a decimal float: each `_` sits between digits.
fn underscores_ok(s: &str) -> bool {
    let mut saw = b'^';
    for &c in s.as_bytes() {
        if c.is_ascii_digit() {
            saw = b'0';
        } else if c == b'_' {
            if saw != b'0' {
                return false;
            }
            saw = b'_';
        } else {
            if saw == b'_' {
                return false;
            }
            saw = b'!';
        }
    }
    saw != b'_'
}

/// Parses a decimal float; an overflow to infinity is an error, as in Go.
fn parse_finite(s: &str) -> Option<f64> {
    s.parse::<f64>().ok().filter(|f| f.is_finite())
}

/// Go `strconv.FormatFloat(f, 'g', -1, 64)`: shortest round-trip digits,
/// `%e` form when the decimal exponent is < -4 or >= 6 (exponent with a sign
/// and at least two digits), else plain decimal; `+Inf`, `-Inf`, `NaN`.
pub fn format_float(f: f64) -> String {
    if f.is_nan() {
        return "NaN".to_owned();
    }
    if f.is_infinite() {
        return if f > 0.0 { "+Inf" } else { "-Inf" }.to_owned();
    }
    let negative = f.is_sign_negative();
    if f == 0.0 {
        return if negative { "-0" } else { "0" }.to_owned();
    }
    // Rust's `{:e}` prints the shortest round-trip digits: `-1.2345e-7`.
    let sci = format!("{:e}", f.abs());
    let (mantissa, exponent) = sci.split_once('e').unwrap_or((&sci, "0"));
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let exponent: i32 = exponent.parse().unwrap_or(0);
    let mut out = String::with_capacity(digits.len() + 8);
    if negative {
        out.push('-');
    }
    if !(-4..6).contains(&exponent) {
        out.push_str(&digits[..1]);
        if digits.len() > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        out.push('e');
        out.push(if exponent < 0 { '-' } else { '+' });
        let magnitude = exponent.unsigned_abs();
        if magnitude < 10 {
            out.push('0');
        }
        out.push_str(&magnitude.to_string());
    } else {
        // decimal point after `point` digits (may be <= 0 or past the digits)
        let point = exponent + 1;
        let n_digits = digits.len() as i32;
        if point <= 0 {
            out.push_str("0.");
            for _ in point..0 {
                out.push('0');
            }
            out.push_str(&digits);
        } else if point >= n_digits {
            out.push_str(&digits);
            for _ in n_digits..point {
                out.push('0');
            }
        } else {
            let (int_part, frac_part) = digits.split_at(point as usize);
            out.push_str(int_part);
            out.push('.');
            out.push_str(frac_part);
        }
    }
    out
}

#[cfg(test)]
mod tests;
