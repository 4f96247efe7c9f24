//! Plain values: JSON data with exact number text and secret marks.
//!
//! This is what providers and rotators receive and return, and what the JSON
//! projections of an environment are made of. Numbers keep their text
//! exactly (`1.0` stays `1.0`, `1e+06` stays `1e+06`), which is why this is
//! not `serde_json::Value` (whose exact-number mode is a workspace-wide
//! feature we must not enable).

use std::collections::BTreeMap;
use std::fmt;

/// JSON data plus [`PlainValue::Secret`] marks.
///
/// A provider input holds `Secret(..)` around every value that was secret
/// in the environment; a provider output wrapped in `Secret(..)` becomes a
/// deep secret (every nested value is secret). Serialising with
/// [`PlainValue::to_json`] reveals secrets (the marks are dropped).
#[derive(Clone, PartialEq, Eq, Hash, Default)]
pub enum PlainValue {
    /// `null`.
    #[default]
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// A number, as its exact text.
    Number(String),
    /// A string.
    String(String),
    /// An array.
    Array(Vec<PlainValue>),
    /// An object; keys are kept sorted by bytes.
    Object(BTreeMap<String, PlainValue>),
    /// A secret value.
    Secret(Box<PlainValue>),
}

impl fmt::Debug for PlainValue {
    /// Debug output never shows secret content.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PlainValue::Null => f.write_str("null"),
            PlainValue::Bool(b) => write!(f, "{b}"),
            PlainValue::Number(n) => f.write_str(n),
            PlainValue::String(s) => write!(f, "{s:?}"),
            PlainValue::Array(items) => f.debug_list().entries(items).finish(),
            PlainValue::Object(map) => f.debug_map().entries(map).finish(),
            PlainValue::Secret(_) => f.write_str("[secret]"),
        }
    }
}

/// A JSON text that could not be decoded; the text follows Go's
/// `encoding/json` messages (`EOF`, `invalid character 'x' looking for
/// beginning of value`, ...).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct JsonError {
    message: String,
    /// Byte offset of the character the message quotes, if it quotes one.
    offset: Option<usize>,
}

impl JsonError {
    fn new(message: impl Into<String>) -> Self {
        JsonError {
            message: message.into(),
            offset: None,
        }
    }

    /// Where the offending character is, for messages about a text that
    /// must not be quoted (a secret): the message itself quotes it.
    pub fn quoted_offset(&self) -> Option<usize> {
        self.offset
    }
}

impl PlainValue {
    /// A string value.
    pub fn string(s: impl Into<String>) -> Self {
        PlainValue::String(s.into())
    }

    /// An object from `(key, value)` pairs.
    pub fn object<K: Into<String>>(entries: impl IntoIterator<Item = (K, PlainValue)>) -> Self {
        PlainValue::Object(entries.into_iter().map(|(k, v)| (k.into(), v)).collect())
    }

    /// The value with all secret marks removed (top level and nested).
    pub fn revealed(&self) -> PlainValue {
        match self {
            PlainValue::Secret(inner) => inner.revealed(),
            PlainValue::Array(items) => {
                PlainValue::Array(items.iter().map(Self::revealed).collect())
            }
            PlainValue::Object(map) => {
                PlainValue::Object(map.iter().map(|(k, v)| (k.clone(), v.revealed())).collect())
            }
            other => other.clone(),
        }
    }

    /// The value under any secret marks at the top.
    pub fn unwrap_secret(&self) -> &PlainValue {
        match self {
            PlainValue::Secret(inner) => inner.unwrap_secret(),
            other => other,
        }
    }

    /// Whether the value is a secret at the top.
    pub fn is_secret(&self) -> bool {
        matches!(self, PlainValue::Secret(_))
    }

    /// Member `key` of an object (looking through secret marks).
    pub fn member(&self, key: &str) -> Option<&PlainValue> {
        match self.unwrap_secret() {
            PlainValue::Object(map) => map.get(key),
            _ => None,
        }
    }

    /// The string content, if this is a string (looking through secret marks).
    pub fn as_str(&self) -> Option<&str> {
        match self.unwrap_secret() {
            PlainValue::String(s) => Some(s),
            _ => None,
        }
    }

    /// Compact JSON encoded like Go's `encoding/json` (secrets revealed).
    ///
    /// Fails only on a number whose text is not a JSON number (`+Inf`).
    pub fn to_json(&self) -> Result<String, JsonError> {
        let mut out = String::new();
        write_json(self, &mut out)?;
        Ok(out)
    }

    /// Parse the first JSON value of `text` (trailing text is ignored, as the
    /// reference's `json.Decoder` does). Numbers keep their text.
    pub fn from_json(text: &str) -> Result<PlainValue, JsonError> {
        let mut reader = Reader {
            bytes: text.as_bytes(),
            pos: 0,
            depth: 0,
        };
        reader.value()
    }

    /// Parse a whole JSON document (only whitespace may follow the value).
    pub fn from_json_document(text: &str) -> Result<PlainValue, JsonError> {
        let mut reader = Reader {
            bytes: text.as_bytes(),
            pos: 0,
            depth: 0,
        };
        let value = reader.value()?;
        reader.skip_ws();
        if reader.pos != reader.bytes.len() {
            return Err(reader.invalid("after top-level value"));
        }
        Ok(value)
    }
}

/// Append the Go `encoding/json` form of `s` (quotes included) to `out`.
pub fn write_json_string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

fn write_json(value: &PlainValue, out: &mut String) -> Result<(), JsonError> {
    match value {
        PlainValue::Null => out.push_str("null"),
        PlainValue::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        PlainValue::Number(n) => {
            if !is_json_number(n) {
                return Err(JsonError::new(format!(
                    "json: invalid number literal {}",
                    crate::go_quote(n)
                )));
            }
            out.push_str(n);
        }
        PlainValue::String(s) => write_json_string(s, out),
        PlainValue::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_json(item, out)?;
            }
            out.push(']');
        }
        PlainValue::Object(map) => {
            out.push('{');
            for (i, (k, v)) in map.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_json_string(k, out);
                out.push(':');
                write_json(v, out)?;
            }
            out.push('}');
        }
        PlainValue::Secret(inner) => write_json(inner, out)?,
    }
    Ok(())
}

/// Whether `s` is a JSON number literal.
pub(crate) fn is_json_number(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    if b.get(i) == Some(&b'-') {
        i += 1;
    }
    match b.get(i) {
        Some(b'0') => i += 1,
        Some(c) if c.is_ascii_digit() => {
            while b.get(i).is_some_and(u8::is_ascii_digit) {
                i += 1;
            }
        }
        _ => return false,
    }
    if b.get(i) == Some(&b'.') {
        i += 1;
        if !b.get(i).is_some_and(u8::is_ascii_digit) {
            return false;
        }
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        if !b.get(i).is_some_and(u8::is_ascii_digit) {
            return false;
        }
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
    }
    i == b.len()
}

/// Nesting limit of the reader (deeper input is refused, never a stack overflow).
const MAX_JSON_DEPTH: usize = 512;

struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
    depth: usize,
}

impl Reader<'_> {
    fn skip_ws(&mut self) {
        while self
            .bytes
            .get(self.pos)
            .is_some_and(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
        {
            self.pos += 1;
        }
    }

    fn invalid(&self, context: &str) -> JsonError {
        match self.bytes.get(self.pos) {
            None => JsonError::new("unexpected end of JSON input"),
            Some(&b) => JsonError {
                message: format!("invalid character {} {context}", quote_char(b)),
                offset: Some(self.pos),
            },
        }
    }

    fn value(&mut self) -> Result<PlainValue, JsonError> {
        self.skip_ws();
        let Some(&b) = self.bytes.get(self.pos) else {
            return Err(JsonError::new(if self.depth == 0 {
                "EOF"
            } else {
                "unexpected EOF"
            }));
        };
        match b {
            b'{' => self.object(),
            b'[' => self.array(),
            b'"' => Ok(PlainValue::String(self.string()?)),
            b't' => self.literal("true", PlainValue::Bool(true)),
            b'f' => self.literal("false", PlainValue::Bool(false)),
            b'n' => self.literal("null", PlainValue::Null),
            b'-' | b'0'..=b'9' => self.number(),
            _ => Err(self.invalid("looking for beginning of value")),
        }
    }

    fn eof(&self) -> JsonError {
        JsonError::new("unexpected EOF")
    }

    fn literal(&mut self, word: &str, value: PlainValue) -> Result<PlainValue, JsonError> {
        for expected in word.bytes() {
            match self.bytes.get(self.pos) {
                None => return Err(self.eof()),
                Some(&b) if b == expected => self.pos += 1,
                Some(_) => {
                    return Err(self.invalid(&format!(
                        "in literal {word} (expecting {})",
                        quote_char(expected)
                    )));
                }
            }
        }
        Ok(value)
    }

    fn number(&mut self) -> Result<PlainValue, JsonError> {
        let start = self.pos;
        let digits = |r: &mut Self| {
            let s = r.pos;
            while r.bytes.get(r.pos).is_some_and(u8::is_ascii_digit) {
                r.pos += 1;
            }
            r.pos > s
        };
        if self.bytes.get(self.pos) == Some(&b'-') {
            self.pos += 1;
        }
        if self.bytes.get(self.pos) == Some(&b'0') {
            self.pos += 1;
        } else if !digits(self) {
            return Err(if self.pos >= self.bytes.len() {
                self.eof()
            } else {
                self.invalid("in numeric literal")
            });
        }
        if self.bytes.get(self.pos) == Some(&b'.') {
            self.pos += 1;
            if !digits(self) {
                return Err(if self.pos >= self.bytes.len() {
                    self.eof()
                } else {
                    self.invalid("after decimal point in numeric literal")
                });
            }
        }
        if matches!(self.bytes.get(self.pos), Some(b'e' | b'E')) {
            self.pos += 1;
            if matches!(self.bytes.get(self.pos), Some(b'+' | b'-')) {
                self.pos += 1;
            }
            if !digits(self) {
                return Err(if self.pos >= self.bytes.len() {
                    self.eof()
                } else {
                    self.invalid("in exponent of numeric literal")
                });
            }
        }
        let text = String::from_utf8_lossy(&self.bytes[start..self.pos]).into_owned();
        Ok(PlainValue::Number(text))
    }

    fn string(&mut self) -> Result<String, JsonError> {
        // Precondition: at the opening quote.
        self.pos += 1;
        let mut out: Vec<u8> = Vec::new();
        loop {
            let Some(&b) = self.bytes.get(self.pos) else {
                return Err(self.eof());
            };
            match b {
                b'"' => {
                    self.pos += 1;
                    return Ok(String::from_utf8_lossy(&out).into_owned());
                }
                b'\\' => {
                    self.pos += 1;
                    let Some(&e) = self.bytes.get(self.pos) else {
                        return Err(self.eof());
                    };
                    self.pos += 1;
                    let c = match e {
                        b'"' => '"',
                        b'\\' => '\\',
                        b'/' => '/',
                        b'b' => '\u{8}',
                        b'f' => '\u{c}',
                        b'n' => '\n',
                        b'r' => '\r',
                        b't' => '\t',
                        b'u' => {
                            let hi = self.hex4()?;
                            if (0xD800..0xDC00).contains(&hi)
                                && self.bytes.get(self.pos) == Some(&b'\\')
                                && self.bytes.get(self.pos + 1) == Some(&b'u')
                            {
                                let save = self.pos;
                                self.pos += 2;
                                let lo = self.hex4()?;
                                if (0xDC00..0xE000).contains(&lo) {
                                    char::from_u32(0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00))
                                        .unwrap_or('\u{fffd}')
                                } else {
                                    self.pos = save;
                                    '\u{fffd}'
                                }
                            } else {
                                char::from_u32(hi).unwrap_or('\u{fffd}')
                            }
                        }
                        _ => {
                            self.pos -= 1;
                            return Err(self.invalid("in string escape code"));
                        }
                    };
                    let mut buf = [0u8; 4];
                    out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                }
                b if b < 0x20 => return Err(self.invalid("in string literal")),
                b => {
                    out.push(b);
                    self.pos += 1;
                }
            }
        }
    }

    fn hex4(&mut self) -> Result<u32, JsonError> {
        let mut v = 0u32;
        for _ in 0..4 {
            let Some(&b) = self.bytes.get(self.pos) else {
                return Err(self.eof());
            };
            let d = (b as char)
                .to_digit(16)
                .ok_or_else(|| self.invalid("in \\u hexadecimal character escape"))?;
            v = v * 16 + d;
            self.pos += 1;
        }
        Ok(v)
    }

    fn enter(&mut self) -> Result<(), JsonError> {
        self.depth += 1;
        if self.depth > MAX_JSON_DEPTH {
            return Err(JsonError::new("exceeded max depth"));
        }
        self.pos += 1;
        Ok(())
    }

    fn array(&mut self) -> Result<PlainValue, JsonError> {
        self.enter()?;
        let mut items = Vec::new();
        self.skip_ws();
        if self.bytes.get(self.pos) == Some(&b']') {
            self.pos += 1;
            self.depth -= 1;
            return Ok(PlainValue::Array(items));
        }
        loop {
            items.push(self.value()?);
            self.skip_ws();
            match self.bytes.get(self.pos) {
                Some(b',') => self.pos += 1,
                Some(b']') => {
                    self.pos += 1;
                    self.depth -= 1;
                    return Ok(PlainValue::Array(items));
                }
                None => return Err(self.eof()),
                Some(_) => return Err(self.invalid("after array element")),
            }
        }
    }

    fn object(&mut self) -> Result<PlainValue, JsonError> {
        self.enter()?;
        let mut map = BTreeMap::new();
        self.skip_ws();
        if self.bytes.get(self.pos) == Some(&b'}') {
            self.pos += 1;
            self.depth -= 1;
            return Ok(PlainValue::Object(map));
        }
        loop {
            self.skip_ws();
            match self.bytes.get(self.pos) {
                Some(b'"') => {}
                None => return Err(self.eof()),
                Some(_) => return Err(self.invalid("looking for beginning of object key string")),
            }
            let key = self.string()?;
            self.skip_ws();
            match self.bytes.get(self.pos) {
                Some(b':') => self.pos += 1,
                None => return Err(self.eof()),
                Some(_) => return Err(self.invalid("after object key")),
            }
            let value = self.value()?;
            map.insert(key, value);
            self.skip_ws();
            match self.bytes.get(self.pos) {
                Some(b',') => self.pos += 1,
                Some(b'}') => {
                    self.pos += 1;
                    self.depth -= 1;
                    return Ok(PlainValue::Object(map));
                }
                None => return Err(self.eof()),
                Some(_) => return Err(self.invalid("after object key:value pair")),
            }
        }
    }
}

fn quote_char(b: u8) -> String {
    match b {
        b'\'' => "'\\''".into(),
        b'"' => "'\"'".into(),
        b if b.is_ascii_graphic() || b == b' ' => format!("'{}'", b as char),
        b => {
            let q = crate::go_quote(&(b as char).to_string());
            format!("'{}'", &q[1..q.len() - 1])
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn numbers_keep_their_text() {
        let v = PlainValue::from_json(r#"{"b":1.0,"a":[1e+06,-0.5]}"#).unwrap();
        assert_eq!(v.to_json().unwrap(), r#"{"a":[1e+06,-0.5],"b":1.0}"#);
    }

    #[test]
    fn go_escapes() {
        let v = PlainValue::string("<a&b>\u{2028}\u{1}\"\\\n");
        assert_eq!(
            v.to_json().unwrap(),
            r#""\u003ca\u0026b\u003e\u2028\u0001\"\\\n""#
        );
    }

    #[test]
    fn trailing_text_ignored_and_errors() {
        assert_eq!(
            PlainValue::from_json("true xyz").unwrap(),
            PlainValue::Bool(true)
        );
        assert_eq!(PlainValue::from_json("").unwrap_err().message, "EOF");
        assert_eq!(PlainValue::from_json("  ").unwrap_err().message, "EOF");
        assert_eq!(
            PlainValue::from_json("x").unwrap_err().message,
            "invalid character 'x' looking for beginning of value"
        );
        assert_eq!(
            PlainValue::from_json(" [1,x").unwrap_err().quoted_offset(),
            Some(4)
        );
        assert_eq!(
            PlainValue::from_json("[1").unwrap_err().quoted_offset(),
            None
        );
        assert!(PlainValue::from_json_document("1 2").is_err());
    }

    #[test]
    fn invalid_number_text_fails_to_encode() {
        assert!(PlainValue::Number("+Inf".into()).to_json().is_err());
    }

    #[test]
    fn secrets_do_not_show_in_debug() {
        let v = PlainValue::object([(
            "k",
            PlainValue::Secret(Box::new(PlainValue::string("hunter2"))),
        )]);
        assert!(!format!("{v:?}").contains("hunter2"));
        assert_eq!(v.to_json().unwrap(), r#"{"k":"hunter2"}"#);
    }
}
