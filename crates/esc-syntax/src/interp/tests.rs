//! Unit tests of the interpolation grammar: every load error of spec §2.1
//! with its range, recovery, `$$` escapes and the literal/reference split.
#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

use super::*;
use crate::parse_document;

/// The value node of `k: <yaml>` (line 1, value at column 4, byte 3).
fn node(yaml: &str) -> Node {
    let doc = parse_document("env", &format!("k: {yaml}\n"))
        .unwrap()
        .unwrap();
    let NodeKind::Mapping(mut entries) = doc.kind else {
        panic!("not a mapping")
    };
    entries.remove(0).1
}

fn parse(yaml: &str) -> (Interpolation, Vec<Diagnostic>) {
    let node = node(yaml);
    let value = node.as_str().unwrap().to_owned();
    parse_interpolation(&value, &node)
}

/// (summary, start column, end column, start byte, end byte) of each diagnostic.
fn errors(yaml: &str) -> Vec<(String, u32, u32, u32, u32)> {
    let (_, diags) = parse(yaml);
    diags
        .into_iter()
        .map(|d| {
            assert_eq!(d.path, "");
            let r = d.range.unwrap();
            assert_eq!((r.start.line, r.end.line), (1, 1));
            (
                d.summary,
                r.start.column,
                r.end.column,
                r.start.byte,
                r.end.byte,
            )
        })
        .collect()
}

fn err(summary: &str, start_col: u32, end_col: u32) -> (String, u32, u32, u32, u32) {
    (
        summary.to_owned(),
        start_col,
        end_col,
        start_col - 1,
        end_col - 1,
    )
}

fn accessors(yaml: &str) -> Vec<(String, u32, u32)> {
    let (parsed, _) = parse(yaml);
    parsed
        .parts
        .iter()
        .filter_map(|p| p.access.as_ref())
        .flat_map(|a| &a.accessors)
        .map(|a| {
            let text = match a {
                Accessor::Name { name, .. } => format!("name {name}"),
                Accessor::Key { key, .. } => format!("key {key}"),
                Accessor::Index { index, .. } => format!("index {index}"),
            };
            (text, a.range().start.column, a.range().end.column)
        })
        .collect()
}

const BRACE: &str = "missing closing brace '}' in interpolation";
const EMPTY_NAME: &str = "property name must not be empty";
const BRACKET: &str = "subscript is missing closing bracket ']'";
const QUOTE: &str = "key subscript is missing closing quote '\"'";
const EMPTY_KEY: &str = "key subscript must not be empty";
const NUMERIC: &str = "numeric subscript must be a positive base-10 integer";
const FIRST: &str =
    "the first accessor must be a property name or key subscript, not a numeric subscript";

#[test]
fn accessor_ranges() {
    // value starts at column 4: `$` 4, `{` 5, `a` 6
    assert_eq!(
        accessors(r#"${a.b[0]["c\"d"]}"#),
        vec![
            ("name a".to_owned(), 6, 7),
            ("name b".to_owned(), 7, 9),
            ("index 0".to_owned(), 9, 12),
            ("key c\"d".to_owned(), 12, 20),
        ]
    );
    assert_eq!(
        accessors(r#"${["a.b"][-1][+2]}"#),
        vec![
            ("key a.b".to_owned(), 6, 13),
            ("index -1".to_owned(), 13, 17),
            ("index 2".to_owned(), 17, 21),
        ]
    );
    // names run to `.`, `[`, `}` or whitespace
    assert_eq!(
        accessors("${with-hyphen}${34}${a]b}"),
        vec![
            ("name with-hyphen".to_owned(), 6, 17),
            ("name 34".to_owned(), 20, 22),
            ("name a]b".to_owned(), 25, 28),
        ]
    );
    // a leading dot is accepted and covered
    assert_eq!(accessors("${.bad}"), vec![("name bad".to_owned(), 6, 10)]);
    // other backslashes in keys are kept
    assert_eq!(
        accessors(r#"${["a\b"]}"#),
        vec![("key a\\b".to_owned(), 6, 13)]
    );
}

#[test]
fn each_load_error_with_its_range() {
    // end of string before `}`: zero width at the end
    assert_eq!(errors("${a"), vec![err(BRACE, 7, 7)]);
    assert_eq!(errors("${"), vec![err(BRACE, 6, 6)]);
    // `.` without a name: covers the dot
    assert_eq!(errors("${a.}"), vec![err(EMPTY_NAME, 7, 8)]);
    assert_eq!(errors("${a..b}"), vec![err(EMPTY_NAME, 7, 8)]);
    // `[` at the end, then the missing brace
    assert_eq!(errors("${a["), vec![err(BRACKET, 7, 8), err(BRACE, 8, 8)]);
    // subscript not followed by `]`: from `[` to the current offset
    assert_eq!(errors(r#"${a["b"}"#), vec![err(BRACKET, 7, 11)]);
    assert_eq!(errors("${a[1}"), vec![err(BRACKET, 7, 9)]);
    // unterminated `["`: quote error from one byte after `[`
    assert_eq!(
        errors(r#"${a["b}"#),
        vec![err(QUOTE, 8, 11), err(BRACKET, 7, 11), err(BRACE, 11, 11)]
    );
    // `[""]`
    assert_eq!(errors(r#"${a[""]}"#), vec![err(EMPTY_KEY, 8, 10)]);
    // `[x]` with x not an integer: becomes a key
    assert_eq!(errors("${a[x]}"), vec![err(NUMERIC, 8, 9)]);
    assert_eq!(accessors("${a[x]}")[1].0, "key x");
    assert_eq!(errors("${a[1x]}"), vec![err(NUMERIC, 8, 10)]);
    // a `.` ends the digits: `[1` lacks its `]`, then `.5]` is a name
    assert_eq!(errors("${a[1.5]}"), vec![err(BRACKET, 7, 9)]);
    assert_eq!(accessors("${a[1.5]}")[2].0, "name 5]");
    assert_eq!(errors("${a[]}"), vec![err(NUMERIC, 8, 8)]);
    // integer subscript first
    assert_eq!(errors("${[2]}"), vec![err(FIRST, 6, 8)]);
    assert_eq!(accessors("${[2]}"), vec![("index 2".to_owned(), 6, 9)]);
}

#[test]
fn no_errors_for_valid_and_empty_accesses() {
    for ok in [
        "${a}",
        "${}",
        "${a.b[0]}",
        "${.a}",
        "x ${a} y ${b}",
        "$$",
        "$",
        "a$",
        "$a",
    ] {
        assert_eq!(errors(ok), vec![], "{ok}");
    }
    // `${}` is one empty name covering the brace
    assert_eq!(accessors("${}"), vec![("name ".to_owned(), 6, 7)]);
    // `${` alone is one empty name, zero width
    assert_eq!(accessors("${"), vec![("name ".to_owned(), 6, 6)]);
}

#[test]
fn recovery_after_a_missing_brace() {
    let (parsed, diags) = parse("${foo bar}");
    assert_eq!(diags.len(), 1);
    assert_eq!(parsed.parts.len(), 2);
    assert_eq!(parsed.parts[0].text, "");
    assert_eq!(parsed.parts[0].access.as_ref().unwrap().to_text(), "foo");
    assert_eq!(parsed.parts[1].text, " bar}");
    assert!(parsed.parts[1].access.is_none());
    assert_eq!(parsed.kind(), InterpolationKind::Interpolated);
    // parsing resumes after the error: a later access is still found
    let (parsed, diags) = parse("${a b} ${c}");
    assert_eq!(diags.len(), 1);
    let texts: Vec<_> = parsed.parts.iter().map(|p| p.text.as_str()).collect();
    assert_eq!(texts, vec!["", " b} "]);
    assert_eq!(parsed.parts[1].access.as_ref().unwrap().to_text(), "c");
}

#[test]
fn dollar_escapes() {
    let (parsed, _) = parse("pa$$word");
    assert_eq!(parsed.kind(), InterpolationKind::Literal("pa$word"));
    let (parsed, _) = parse("$${a}");
    assert_eq!(parsed.kind(), InterpolationKind::Literal("${a}"));
    let (parsed, _) = parse("$$$${a}");
    assert_eq!(parsed.kind(), InterpolationKind::Literal("$${a}"));
    let (parsed, _) = parse("$$${a}");
    assert_eq!(parsed.parts[0].text, "$");
    assert_eq!(parsed.parts[0].access.as_ref().unwrap().to_text(), "a");
    let (parsed, _) = parse("'cost: $5'");
    assert_eq!(parsed.kind(), InterpolationKind::Literal("cost: $5"));
}

#[test]
fn kinds() {
    let kind_of = |yaml: &str| {
        let (parsed, _) = parse(yaml);
        match parsed.kind() {
            InterpolationKind::Literal(text) => format!("literal {text}"),
            InterpolationKind::Reference(access) => format!("reference {}", access.to_text()),
            InterpolationKind::Interpolated => "interpolated".to_owned(),
        }
    };
    assert_eq!(kind_of("''"), "literal ");
    assert_eq!(kind_of("abc"), "literal abc");
    assert_eq!(kind_of(r#"${a.b["c"][0]}"#), r#"reference a.b["c"][0]"#);
    assert_eq!(kind_of("' ${a}'"), "interpolated");
    assert_eq!(kind_of("'${a} '"), "interpolated");
    assert_eq!(kind_of("${a}${b}"), "interpolated");
    let (empty, _) = parse("''");
    assert!(empty.parts.is_empty());
    assert!(!empty.has_access());
}

#[test]
fn non_plain_scalars_use_the_whole_range() {
    let n = node(r#""${a b}""#);
    let whole = n.range.clone();
    let (parsed, diags) = parse_interpolation(n.as_str().unwrap(), &n);
    assert_eq!(diags.len(), 1);
    assert_eq!(diags[0].range.as_ref(), Some(&whole));
    assert_eq!(
        parsed.parts[0].access.as_ref().unwrap().accessors[0].range(),
        &whole
    );
    // a tagged plain scalar is not eligible either
    let n = node("!!str ${a}");
    let (parsed, _) = parse_interpolation(n.as_str().unwrap(), &n);
    assert_eq!(
        parsed.parts[0].access.as_ref().unwrap().accessors[0].range(),
        &n.range
    );
    // nor a literal block
    let doc = parse_document("env", "k: |\n  ${a}\n").unwrap().unwrap();
    let NodeKind::Mapping(entries) = &doc.kind else {
        panic!()
    };
    let n = &entries[0].1;
    let (parsed, _) = parse_interpolation(n.as_str().unwrap(), n);
    assert_eq!(
        parsed.parts[0].access.as_ref().unwrap().accessors[0].range(),
        &n.range
    );
}

#[test]
fn non_ascii_values_shift_columns_by_display_width() {
    // `k: é日${a}`: value at column 4, byte 3; "é日${" is 2+3+2 = 7 bytes, width 1+2+2 = 5
    let (parsed, _) = parse("é日${a}");
    let access = parsed.parts[0].access.as_ref().unwrap();
    let range = access.accessors[0].range();
    assert_eq!((range.start.column, range.start.byte), (9, 10));
    assert_eq!((range.end.column, range.end.byte), (10, 11));
    assert_eq!(parsed.parts[0].text, "é日");
}

#[test]
fn whitespace_quirk_splits_utf8() {
    // 'à' is C3 A0 and 0xA0 is a space byte for the reference: the name ends
    // inside the character.
    let (parsed, diags) = parse("${à}");
    assert_eq!(diags.len(), 1);
    assert_eq!(diags[0].summary, BRACE);
    let Accessor::Name { name, .. } = &parsed.parts[0].access.as_ref().unwrap().accessors[0] else {
        panic!()
    };
    assert_eq!(name, "\u{FFFD}");
    assert_eq!(parsed.parts[1].text, "\u{FFFD}}");
    // a whole non-breaking space (C2 A0) ends a name too
    let (parsed, diags) = parse("${a\u{A0}b}");
    assert_eq!(diags.len(), 1);
    assert_eq!(
        parsed.parts[0].access.as_ref().unwrap().to_text(),
        "a\u{FFFD}"
    );
}

fn plain_node(value: &str) -> Node {
    let width = u32::try_from(value.len()).unwrap();
    Node {
        range: Range {
            filename: std::sync::Arc::from("env"),
            start: Pos {
                line: 1,
                column: 1,
                byte: 0,
            },
            end: Pos {
                line: 1,
                column: 1 + width,
                byte: width,
            },
        },
        kind: NodeKind::String {
            value: value.to_owned(),
            style: ScalarStyle::Plain,
        },
    }
}

#[test]
fn prefix_widths_match_measuring_each_prefix() {
    let value = "aé日😀e\u{301}👨\u{200D}👩🇫🇷\t${x}à${y}❤\u{FE0F}";
    let node = plain_node(value);
    let maker = RangeMaker::new(value, &node);
    assert!(maker.precise);
    for offset in 0..=value.len() {
        assert_eq!(
            maker.width_before(offset),
            width::bytes_width(&value.as_bytes()[..offset]),
            "offset {offset}"
        );
    }
}

#[test]
fn many_accesses_in_a_long_string_stay_fast() {
    let value = "é${a}".repeat(40_000);
    let node = plain_node(&value);
    let started = std::time::Instant::now();
    let (parsed, diags) = parse_interpolation(&value, &node);
    assert!(diags.is_empty());
    assert_eq!(parsed.parts.len(), 40_000);
    // before the last name: 39_999 × "é${a}" (width 5 each), then "é${" (width 3)
    let last = parsed.parts[39_999].access.as_ref().unwrap().accessors[0].range();
    assert_eq!(last.start.column, 1 + 39_999 * 5 + 3);
    // re-measuring each prefix took seconds here; the cluster table takes milliseconds
    assert!(
        started.elapsed() < std::time::Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
}
