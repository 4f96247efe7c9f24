//! Go-compatible string quoting (`strconv.Quote`).
//!
//! Used for the string form of arrays and objects (spec §2.3), for schema
//! messages, and by the CLI for shell and dotenv output.

/// Quote `s` exactly like Go's `strconv.Quote`: wrapped in `"`; `\"`, `\\`,
/// `\a \b \f \n \r \t \v`; other control bytes and `0x7F` as `\xhh`;
/// non-printable code points as `\uhhhh` / `\Uhhhhhhhh`; printable
/// non-ASCII characters are kept.
///
/// Rust strings are valid UTF-8, so the invalid-byte case of Go (`\xhh` for
/// a stray byte) cannot arise here; use [`go_quote_bytes`] for raw bytes.
pub fn go_quote(s: &str) -> String {
    go_quote_bytes(s.as_bytes())
}

/// [`go_quote`] for arbitrary bytes: invalid UTF-8 bytes become `\xhh`.
pub fn go_quote_bytes(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() + 2);
    out.push('"');
    let mut rest = bytes;
    while !rest.is_empty() {
        match std::str::from_utf8(rest) {
            Ok(valid) => {
                push_chars(valid, &mut out);
                break;
            }
            Err(err) => {
                let (valid, after) = rest.split_at(err.valid_up_to());
                // from_utf8 said these bytes are valid.
                push_chars(std::str::from_utf8(valid).unwrap_or_default(), &mut out);
                let bad = err.error_len().unwrap_or(after.len()).max(1);
                for b in &after[..bad.min(after.len())] {
                    out.push_str(&format!("\\x{b:02x}"));
                }
                rest = &after[bad.min(after.len())..];
            }
        }
    }
    out.push('"');
    out
}

fn push_chars(s: &str, out: &mut String) {
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{b}' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                out.push_str(&format!("\\x{:02x}", c as u32))
            }
            c if is_go_printable(c) => out.push(c),
            c if (c as u32) < 0x10000 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push_str(&format!("\\U{:08x}", c as u32)),
        }
    }
}

/// An approximation of Go's `strconv.IsPrint` without Unicode tables:
/// control characters, separators other than ASCII space, format
/// characters, private-use code points and non-characters are not printable.
fn is_go_printable(c: char) -> bool {
    let u = c as u32;
    if u < 0x80 {
        return (0x20..0x7f).contains(&u);
    }
    if c.is_control() {
        return false;
    }
    !matches!(u,
        0xA0 | 0xAD | 0x34F | 0x61C | 0x115F | 0x1160 | 0x1680 | 0x180E
        | 0x2000..=0x200F | 0x2028..=0x202F | 0x205F..=0x206F | 0x3000 | 0x3164
        | 0xD800..=0xF8FF | 0xFE00..=0xFE0F | 0xFEFF | 0xFFA0 | 0xFFF0..=0xFFFB | 0xFFFE | 0xFFFF
        | 0xE0000..=0xE0FFF | 0xF0000..=0x10FFFF)
        && (u & 0xFFFE) != 0xFFFE
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_like_go() {
        assert_eq!(go_quote("hello"), r#""hello""#);
        assert_eq!(go_quote("a\"b\\c"), r#""a\"b\\c""#);
        assert_eq!(
            go_quote("\u{7}\u{8}\u{c}\n\r\t\u{b}"),
            r#""\a\b\f\n\r\t\v""#
        );
        assert_eq!(go_quote("\u{1}\u{7f}"), r#""\x01\x7f""#);
        assert_eq!(go_quote("héllo ☃"), "\"héllo ☃\"");
        assert_eq!(go_quote("\u{a0}\u{feff}"), r#""\u00a0\ufeff""#);
        assert_eq!(go_quote("\u{f0000}"), r#""\U000f0000""#);
        assert_eq!(go_quote_bytes(b"a\xffb"), r#""a\xffb""#);
        assert_eq!(go_quote(r#""hello""#), r#""\"hello\"""#);
    }
}
