//! YAML output (spec/CLI.md § 6.2): Go yaml.v3 with `SetIndent(3)`: keys
//! sorted, plain scalars when they read back as the same string, double
//! quotes for strings that would read as another type, `|` blocks for
//! multi-line strings, indented block sequences.

use esc_eval::PlainValue;

/// An ordered YAML tree (what `env set` edits and re-emits).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Tree {
    Null,
    Bool(bool),
    Number(String),
    String(String),
    Seq(Vec<Tree>),
    Map(Vec<(String, Tree)>),
}

impl Tree {
    /// The tree of plain data (keys in sorted order, secret marks dropped).
    pub(crate) fn from_plain(value: &PlainValue) -> Tree {
        match value {
            PlainValue::Null => Tree::Null,
            PlainValue::Bool(b) => Tree::Bool(*b),
            PlainValue::Number(n) => Tree::Number(n.clone()),
            PlainValue::String(s) => Tree::String(s.clone()),
            PlainValue::Array(items) => Tree::Seq(items.iter().map(Tree::from_plain).collect()),
            PlainValue::Object(map) => Tree::Map(
                map.iter()
                    .map(|(k, v)| (k.clone(), Tree::from_plain(v)))
                    .collect(),
            ),
            PlainValue::Secret(inner) => Tree::from_plain(inner),
        }
    }

    fn is_block(&self) -> bool {
        match self {
            Tree::Seq(items) => !items.is_empty(),
            Tree::Map(entries) => !entries.is_empty(),
            _ => false,
        }
    }
}

/// `value` as a YAML document (no leading `---`), 3-space indentation.
pub(crate) fn render(value: &PlainValue) -> String {
    emit(&Tree::from_plain(value), 3)
}

/// `tree` as a YAML document with `step` spaces of indentation.
pub(crate) fn emit(tree: &Tree, step: usize) -> String {
    let mut out = String::new();
    if tree.is_block() {
        write_block(tree, 0, step, &mut out);
    } else {
        out.push_str(&scalar(tree, 0));
        out.push('\n');
    }
    out
}

/// Writes a non-empty mapping or sequence whose first line starts at the
/// current column (already indented) and whose other lines start at `indent`.
fn write_block(tree: &Tree, indent: usize, step: usize, out: &mut String) {
    match tree {
        Tree::Map(entries) => {
            for (i, (key, member)) in entries.iter().enumerate() {
                if i > 0 {
                    push_indent(indent, out);
                }
                out.push_str(&string_scalar(key, indent));
                out.push(':');
                if member.is_block() {
                    out.push('\n');
                    push_indent(indent + step, out);
                    write_block(member, indent + step, step, out);
                } else {
                    out.push(' ');
                    out.push_str(&scalar(member, indent + step));
                    out.push('\n');
                }
            }
        }
        Tree::Seq(items) => {
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    push_indent(indent, out);
                }
                out.push('-');
                if item.is_block() {
                    // yaml.v3 pads after `-` up to the nested indentation.
                    out.push_str(&" ".repeat(step - 1));
                    write_block(item, indent + step, step, out);
                } else {
                    out.push(' ');
                    out.push_str(&scalar(item, indent + step));
                    out.push('\n');
                }
            }
        }
        other => {
            out.push_str(&scalar(other, indent));
            out.push('\n');
        }
    }
}

fn push_indent(indent: usize, out: &mut String) {
    out.push_str(&" ".repeat(indent));
}

/// A scalar (or empty container) in block context; `indent` is the
/// indentation of a literal block's lines.
fn scalar(tree: &Tree, indent: usize) -> String {
    match tree {
        Tree::Null => "null".into(),
        Tree::Bool(b) => b.to_string(),
        Tree::Number(n) => n.clone(),
        Tree::String(s) => string_scalar(s, indent),
        Tree::Seq(_) => "[]".into(),
        Tree::Map(_) => "{}".into(),
    }
}

pub(crate) fn string_scalar(s: &str, indent: usize) -> String {
    if s.contains('\n') && literal_allowed(s) {
        return literal(s, indent);
    }
    if resolves_to_non_string(s) || has_special(s) || s.contains('\n') {
        return double_quoted(s);
    }
    if plain_allowed(s) {
        return s.to_string();
    }
    format!("'{}'", s.replace('\'', "''"))
}

fn has_special(s: &str) -> bool {
    s.chars().any(|c| {
        (c.is_control() && c != '\n' && c != '\t')
            || matches!(c, '\u{feff}' | '\u{2028}' | '\u{2029}' | '\u{85}')
    })
}

fn literal_allowed(s: &str) -> bool {
    !has_special(s)
        && !s.contains('\t')
        && !s.starts_with(' ')
        && s.split('\n').all(|line| !line.ends_with(' '))
}

fn literal(s: &str, indent: usize) -> String {
    let chomp = if !s.ends_with('\n') {
        "-"
    } else if s.ends_with("\n\n") {
        "+"
    } else {
        ""
    };
    let mut out = format!("|{chomp}");
    let body = s.strip_suffix('\n').unwrap_or(s);
    for line in body.split('\n') {
        out.push('\n');
        if !line.is_empty() {
            out.push_str(&" ".repeat(indent));
            out.push_str(line);
        }
    }
    out
}

/// Whether yaml.v3 would read `s` back as something other than a string.
fn resolves_to_non_string(s: &str) -> bool {
    const WORDS: &[&str] = &[
        "", "~", "null", "Null", "NULL", "true", "True", "TRUE", "false", "False", "FALSE", ".inf",
        ".Inf", ".INF", "+.inf", "+.Inf", "+.INF", "-.inf", "-.Inf", "-.INF", ".nan", ".NaN",
        ".NAN", "y", "Y", "yes", "Yes", "YES", "n", "N", "no", "No", "NO", "on", "On", "ON", "off",
        "Off", "OFF",
    ];
    WORDS.contains(&s) || looks_numeric(s)
}

fn looks_numeric(s: &str) -> bool {
    let t = s.strip_prefix(['+', '-']).unwrap_or(s);
    if t.is_empty() {
        return false;
    }
    let t = t.replace('_', "");
    if let Some(hex) = t.strip_prefix("0x") {
        return !hex.is_empty() && hex.chars().all(|c| c.is_ascii_hexdigit());
    }
    if let Some(oct) = t.strip_prefix("0o") {
        return !oct.is_empty() && oct.chars().all(|c| c.is_digit(8));
    }
    if let Some(bin) = t.strip_prefix("0b") {
        return !bin.is_empty() && bin.chars().all(|c| c == '0' || c == '1');
    }
    // Base-60 numbers (`1:20`) are quoted by yaml.v3 for YAML 1.1 readers.
    if t.contains(':')
        && t.split(':')
            .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit() || c == '.'))
    {
        return true;
    }
    t.parse::<f64>().is_ok()
        && t.chars()
            .next()
            .is_some_and(|c| c.is_ascii_digit() || c == '.')
}

fn plain_allowed(s: &str) -> bool {
    let first = s.chars().next().unwrap_or(' ');
    let second = s.chars().nth(1);
    if s.starts_with(' ') || s.ends_with(' ') || s.starts_with('\t') || s.ends_with('\t') {
        return false;
    }
    if s.starts_with("---") || s.starts_with("...") {
        return false;
    }
    let starts_badly = match first {
        ',' | '[' | ']' | '{' | '}' | '#' | '&' | '*' | '!' | '|' | '>' | '\'' | '"' | '%'
        | '@' | '`' => true,
        '-' | '?' | ':' => second.is_none_or(|c| c == ' '),
        _ => false,
    };
    !starts_badly && !s.contains(": ") && !s.contains(" #") && !s.ends_with(':')
}

fn double_quoted(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\0' => out.push_str("\\0"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\u{b}' => out.push_str("\\v"),
            '\u{c}' => out.push_str("\\f"),
            '\r' => out.push_str("\\r"),
            '\u{1b}' => out.push_str("\\e"),
            '\u{85}' => out.push_str("\\N"),
            '\u{a0}' => out.push_str("\\_"),
            '\u{2028}' => out.push_str("\\L"),
            '\u{2029}' => out.push_str("\\P"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                out.push_str(&format!("\\x{:02X}", c as u32));
            }
            '\u{feff}' => out.push_str("\\uFEFF"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn yaml(json: &str) -> String {
        render(&PlainValue::from_json(json).unwrap())
    }

    #[test]
    fn golden_open_yaml() {
        assert_eq!(
            yaml(r#"{"hello":"world","foo":"bar"}"#),
            "foo: bar\nhello: world\n"
        );
    }

    #[test]
    fn nesting_uses_three_spaces() {
        assert_eq!(
            yaml(r#"{"a":{"b":{"c":1}},"l":["x",{"k":"v","w":true}],"e":{},"nil":null,"n":"y"}"#),
            "a:\n   b:\n      c: 1\ne: {}\nl:\n   - x\n   -  k: v\n      w: true\n\"n\": \"y\"\nnil: null\n"
        );
    }

    #[test]
    fn scalar_styles() {
        assert_eq!(
            yaml(r##"{"s":["true","42","","yes","a: b","#c","- x","ok-x","é","1.5e3"]}"##),
            "s:\n   - \"true\"\n   - \"42\"\n   - \"\"\n   - \"yes\"\n   - 'a: b'\n   - '#c'\n   - '- x'\n   - ok-x\n   - é\n   - \"1.5e3\"\n"
        );
        assert_eq!(yaml(r#"{"t":"a\nb\n"}"#), "t: |\n   a\n   b\n");
        assert_eq!(yaml(r#"{"t":"a\n\nb"}"#), "t: |-\n   a\n\n   b\n");
        assert_eq!(yaml(r#"{"t":"hi\u0005"}"#), "t: \"hi\\x05\"\n");
        assert_eq!(yaml("{}"), "{}\n");
    }
}
