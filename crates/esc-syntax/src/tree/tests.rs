//! Unit tests of the YAML layer: load errors, limits, positions, resolution.
#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

use super::*;

fn parse(text: &str) -> Node {
    parse_document("env", text).unwrap().unwrap()
}

fn error(text: &str) -> Diagnostic {
    parse_document("env", text).unwrap_err()
}

fn entries(node: &Node) -> &[(Node, Node)] {
    match &node.kind {
        NodeKind::Mapping(entries) => entries,
        other => panic!("not a mapping: {other:?}"),
    }
}

fn value<'a>(node: &'a Node, key: &str) -> &'a Node {
    &entries(node)
        .iter()
        .find(|(k, _)| k.as_str() == Some(key))
        .unwrap()
        .1
}

/// (line, column, byte) of start and end.
fn span(node: &Node) -> ((u32, u32, u32), (u32, u32, u32)) {
    let p = |p: Pos| (p.line, p.column, p.byte);
    (p(node.range.start), p(node.range.end))
}

#[test]
fn empty_input_is_no_document() {
    assert_eq!(parse_document("env", ""), Ok(None));
}

#[test]
fn content_free_input_is_not_an_object() {
    for text in ["# just a comment\n", "  \n", "\n\n", "# a\n# b"] {
        let err = error(text);
        assert_eq!(err.summary, "environment must be an object", "{text:?}");
        assert_eq!(err.range, None);
        assert_eq!(err.path, "");
    }
}

#[test]
fn non_string_keys_are_errors() {
    let err = error("values:\n  1: x\n");
    assert_eq!(err.summary, "mapping keys must be strings");
    assert_eq!(err.path, r#"values["1"]"#);
    assert_eq!(
        span_of(err.range.as_ref().unwrap()),
        ((2, 3, 10), (2, 4, 11))
    );
    for text in [
        "true: x\n",
        "~: x\n",
        "1.5: x\n",
        "[a]: x\n",
        "{a: b}: x\n",
        "? - a\n: x\n",
    ] {
        assert_eq!(
            error(text).summary,
            "mapping keys must be strings",
            "{text:?}"
        );
    }
    // quoted numbers are strings
    assert_eq!(entries(&parse("'1': x\n"))[0].0.as_str(), Some("1"));
}

fn span_of(range: &Range) -> ((u32, u32, u32), (u32, u32, u32)) {
    let p = |p: Pos| (p.line, p.column, p.byte);
    (p(range.start), p(range.end))
}

#[test]
fn aliases_are_errors() {
    let err = error("a: &x 1\nb: *x\n");
    assert_eq!(err.summary, "alias nodes are not supported");
    assert_eq!(err.path, "b");
    assert_eq!(
        span_of(err.range.as_ref().unwrap()),
        ((2, 4, 11), (2, 5, 12))
    );
    // anchors alone are fine
    assert_eq!(
        value(&parse("a: &x 1\n"), "a").kind,
        NodeKind::Number("1".into())
    );
    // billion laughs never expands
    let laughs = "a: &a [x, x]\nb: &b [*a, *a]\nc: [*b, *b]\n";
    assert_eq!(error(laughs).summary, "alias nodes are not supported");
}

#[test]
fn syntax_errors_are_rangeless() {
    let err = error("values:\n  list: [hello, world\n");
    assert_eq!(err.range, None);
    assert_eq!(err.path, "");
    assert!(err.summary.starts_with("yaml: line "), "{}", err.summary);
    assert!(
        err.summary.contains("did not find expected ',' or ']'"),
        "{}",
        err.summary
    );
    for text in [
        "a: b: c\n",
        "a: 'x\n",
        "- a\nb: c\n",
        "a:\n\t- b\n",
        "[a, b\n",
    ] {
        let err = error(text);
        assert!(
            err.summary.starts_with("yaml: line "),
            "{text:?}: {}",
            err.summary
        );
        assert_eq!(err.range, None);
    }
}

/// yaml.v3 names a collection's parser error by the collection's 0-based
/// start line, or the problem's 0-based line when the collection starts on
/// the first line (the goldens: `[a` -> line 1, the esc-eval fixture
/// `unterminated-array` -> line 1).
#[test]
fn collection_errors_name_go_yaml_lines() {
    for (text, summary) in [
        ("[a", "yaml: line 1: did not find expected ',' or ']'"),
        ("[a\n", "yaml: line 1: did not find expected ',' or ']'"),
        ("{a: 1", "yaml: line 1: did not find expected ',' or '}'"),
        (
            "values:\n  some_unterminated_list: [hello, world\n",
            "yaml: line 1: did not find expected ',' or ']'",
        ),
        (
            "x:\n  - 1\n  - [a,\n     b\n",
            "yaml: line 2: did not find expected ',' or ']'",
        ),
        (
            "- a\nb: c\n",
            "yaml: line 1: did not find expected '-' indicator",
        ),
    ] {
        assert_eq!(error(text).summary, summary, "{text:?}");
    }
}

#[test]
fn only_the_first_document_is_used() {
    let root = parse("a: 1\n---\nb: [\n");
    assert_eq!(entries(&root).len(), 1);
    assert_eq!(value(&root, "a").kind, NodeKind::Number("1".into()));
    let root = parse("---\na: 1\n...\n---\nb: 2\n");
    assert_eq!(entries(&root).len(), 1);
}

#[test]
fn non_mapping_documents_parse() {
    // "environment must be an object" for these is the evaluator's call
    let NodeKind::Sequence(items) = parse("[1, 2]\n").kind else {
        panic!()
    };
    assert_eq!(items.len(), 2);
    assert_eq!(parse("hello\n").as_str(), Some("hello"));
    assert_eq!(parse("---\n").kind, NodeKind::Null);
}

#[test]
fn scalar_kinds() {
    let root = parse(
        "n: null\nt: ~\ne:\nb: True\ny: yes\ni: 0x1F\nf: 1000000.0\ninf: .inf\ns: hello\n\
         q: '42'\nd: \"true\"\nl: |\n  x\nfo: >\n  a\n  b\ntagged: !!str 12\nint: !!int '7'\n",
    );
    let kind = |k: &str| value(&root, k).kind.clone();
    let string = |v: &str, style| NodeKind::String {
        value: v.to_owned(),
        style,
    };
    assert_eq!(kind("n"), NodeKind::Null);
    assert_eq!(kind("t"), NodeKind::Null);
    assert_eq!(kind("e"), NodeKind::Null);
    assert_eq!(kind("b"), NodeKind::Bool(true));
    assert_eq!(kind("y"), string("yes", ScalarStyle::Plain));
    assert_eq!(kind("i"), NodeKind::Number("31".into()));
    assert_eq!(kind("f"), NodeKind::Number("1e+06".into()));
    assert_eq!(kind("inf"), NodeKind::Number("+Inf".into()));
    assert_eq!(kind("s"), string("hello", ScalarStyle::Plain));
    assert_eq!(kind("q"), string("42", ScalarStyle::SingleQuoted));
    assert_eq!(kind("d"), string("true", ScalarStyle::DoubleQuoted));
    assert_eq!(kind("l"), string("x\n", ScalarStyle::Literal));
    assert_eq!(kind("fo"), string("a b\n", ScalarStyle::Folded));
    assert_eq!(kind("tagged"), string("12", ScalarStyle::Plain));
    assert_eq!(kind("int"), NodeKind::Number("7".into()));
}

#[test]
fn tag_mismatch_is_a_located_error() {
    let err = error("a: !!bool yes\n");
    assert_eq!(err.summary, "yaml: cannot decode !!str `yes` as a !!bool");
    assert_eq!(err.path, "a");
    assert_eq!(span_of(err.range.as_ref().unwrap()).0, (1, 4, 3));
}

#[test]
fn duplicate_keys_are_kept_in_order() {
    let root = parse("a: 1\nb: 2\na: 3\n");
    let keys: Vec<_> = entries(&root)
        .iter()
        .map(|(k, _)| k.as_str().unwrap())
        .collect();
    assert_eq!(keys, vec!["a", "b", "a"]);
}

#[test]
fn collection_positions() {
    let root = parse(
        "values:\n  m:\n    x: 1\n    y: ab\n  s:\n    - a\n    - bc\n  f: {k: [1, 22]}\n  e: []\n",
    );
    assert_eq!(span(&root), ((1, 1, 0), (9, 6, 77)));
    let values = value(&root, "values");
    // block mapping: its first key; ends where its last value ends
    assert_eq!(span(values), ((2, 3, 10), (9, 6, 77)));
    assert_eq!(span(value(values, "m")), ((3, 5, 17), (4, 10, 31)));
    // block sequence: its first `-`
    assert_eq!(span(value(values, "s")), ((6, 5, 41), (7, 9, 53)));
    // flow collections: the bracket; the end misses the closing bracket
    let f = value(values, "f");
    assert_eq!(span(f), ((8, 6, 59), (8, 16, 69)));
    assert_eq!(span(value(f, "k")), ((8, 10, 63), (8, 16, 69)));
    // empty collection: zero width at its start
    assert_eq!(span(value(values, "e")), ((9, 6, 77), (9, 6, 77)));
    // key ranges
    assert_eq!(span(&entries(values)[0].0), ((2, 3, 10), (2, 4, 11)));
}

#[test]
fn scalar_positions() {
    let root = parse(
        "a: plain\nb: \"dq\\tx\"\nc: 'it''s'\nd: |\n  one\n  two\ne: >-\n  folded\n  text\n\
         f: !!str tagged\ng: &anchor anchored\nh:\ni: \"\"\n",
    );
    assert_eq!(span(value(&root, "a")), ((1, 4, 3), (1, 9, 8)));
    // quoted: the opening quote; end = start + decoded length (so 2 columns early)
    assert_eq!(span(value(&root, "b")), ((2, 4, 12), (2, 8, 16)));
    assert_eq!(span(value(&root, "c")), ((3, 4, 23), (3, 8, 27)));
    // literal block: at `|`, one line per newline, column + last segment length
    assert_eq!(span(value(&root, "d")), ((4, 4, 34), (6, 4, 45)));
    // folded block: at `>`, same line, column + byte length of the whole value
    assert_eq!(span(value(&root, "e")), ((7, 4, 51), (7, 15, 62)));
    // tagged plain: at the tag; end skips the tag and a space
    assert_eq!(span(value(&root, "f")), ((10, 4, 73), (10, 16, 85)));
    // anchored: at the anchor; end = start + value length
    assert_eq!(span(value(&root, "g")), ((11, 4, 89), (11, 12, 97)));
    // empty value: just after the `:`
    assert_eq!(span(value(&root, "h")), ((12, 3, 108), (12, 3, 108)));
    assert_eq!(span(value(&root, "i")), ((13, 4, 112), (13, 4, 112)));
}

#[test]
fn empty_sequence_item_sits_after_the_dash() {
    // fixture invalid-import: `  - ` reports at line 2, column 4, byte 12
    let root = parse("imports:\n  - \nvalues:\n  foo: bar\n");
    let NodeKind::Sequence(items) = &value(&root, "imports").kind else {
        panic!()
    };
    assert_eq!(items[0].kind, NodeKind::Null);
    assert_eq!(span(&items[0]), ((2, 4, 12), (2, 4, 12)));
    let root = parse("- \n-\n- x\n");
    let NodeKind::Sequence(items) = &root.kind else {
        panic!()
    };
    assert_eq!(span(&items[0]).0, (1, 2, 1));
    assert_eq!(span(&items[1]).0, (2, 2, 4));
}

#[test]
fn block_scalar_indicator_after_a_comment_and_in_sequences() {
    let root = parse("a: # note > not this\n  |\n  x\nb:\n  - >\n    y\n");
    assert_eq!(span(value(&root, "a")).0, (2, 3, 23));
    let NodeKind::Sequence(items) = &value(&root, "b").kind else {
        panic!()
    };
    assert_eq!(span(&items[0]).0, (5, 5, 36));
}

#[test]
fn last_line_without_newline_has_byte_zero() {
    let root = parse("a: 1\nb: xyz");
    assert_eq!(span(value(&root, "a")), ((1, 4, 3), (1, 5, 4)));
    assert_eq!(span(value(&root, "b")), ((2, 4, 0), (2, 7, 0)));
}

#[test]
fn non_ascii_lines_map_columns_by_display_width() {
    // go-yaml counts characters; the reference walks clusters by width
    let root = parse("é: 日本${a}\nnext: 1\n");
    assert_eq!(span(&entries(&root)[0].0), ((1, 1, 0), (1, 3, 3)));
    // column 4 = after "é", ":" and " " (width 1 each): byte 4
    // end column 4 + 10 bytes = 14: walks past "日本" (width 4) to the line end
    assert_eq!(span(value(&root, "é")), ((1, 4, 4), (1, 14, 14)));
    assert_eq!(span(value(&root, "next")), ((2, 7, 21), (2, 8, 22)));
}

#[test]
fn crlf_lines() {
    let root = parse("a: x\r\nb: yz\r\n");
    assert_eq!(value(&root, "b").as_str(), Some("yz"));
    assert_eq!(span(value(&root, "b")), ((2, 4, 9), (2, 6, 11)));
}

#[test]
fn limits_are_enforced_with_diagnostics() {
    let limits = Limits {
        max_document_bytes: 16,
        ..Limits::default()
    };
    let err = parse_document_with_limits("env", "a: 0123456789abcdef\n", &limits).unwrap_err();
    assert!(err.summary.contains("too large"), "{}", err.summary);
    assert_eq!(err.range, None);

    let deep = format!("a: {}{}\n", "[".repeat(70), "]".repeat(70));
    let err = error(&deep);
    assert!(
        err.summary.contains("nesting is too deep"),
        "{}",
        err.summary
    );
    assert!(err.range.is_some());
    // the limit itself is fine
    let ok = format!("{}{}\n", "[".repeat(64), "]".repeat(64));
    assert!(parse_document("env", &ok).is_ok());
    let too_deep = format!("{}{}\n", "[".repeat(65), "]".repeat(65));
    assert!(parse_document("env", &too_deep).is_err());

    let limits = Limits {
        max_scalar_bytes: 4,
        ..Limits::default()
    };
    let err = parse_document_with_limits("env", "a: abcde\n", &limits).unwrap_err();
    assert!(err.summary.contains("too long"), "{}", err.summary);
    assert_eq!(err.path, "a");
    assert!(parse_document_with_limits("env", "a: abcd\n", &limits).is_ok());
}

#[test]
fn filename_is_in_every_range() {
    let root = parse_document("proj/env", "a: [1]\n").unwrap().unwrap();
    assert_eq!(&*root.range.filename, "proj/env");
    assert_eq!(&*value(&root, "a").range.filename, "proj/env");
}

#[test]
fn reference_unicode_fixture_ranges() {
    // The reference's `eval/testdata/eval/unicode` case (document rebuilt
    // from its expected ranges, which are asserted here).
    let root = parse(
        "values:\n  hello: 世界\n  世界: hello\n  linear-b:\n    - 𐀀\n    - 𐀁\n  danmark:\n    hovedstad: københavn\n",
    );
    let values = value(&root, "values");
    assert_eq!(span(value(values, "hello")), ((2, 10, 17), (2, 16, 23)));
    assert_eq!(span(value(values, "世界")), ((3, 7, 32), (3, 12, 37)));
    let linear_b = value(values, "linear-b");
    assert_eq!(span(linear_b), ((5, 5, 56), (6, 11, 73)));
    let NodeKind::Sequence(items) = &linear_b.kind else {
        panic!()
    };
    assert_eq!(span(&items[0]), ((5, 7, 58), (5, 11, 62)));
    assert_eq!(span(&items[1]), ((6, 7, 69), (6, 11, 73)));
    let danmark = value(values, "danmark");
    assert_eq!(span(danmark), ((8, 5, 89), (8, 26, 110)));
    assert_eq!(span(&entries(danmark)[0].0), ((8, 5, 89), (8, 14, 98)));
    assert_eq!(
        span(value(danmark, "hovedstad")),
        ((8, 16, 100), (8, 26, 110))
    );
}

#[test]
fn reference_escape_keys_fixture_ranges() {
    // The reference's `eval/testdata/eval/escape-keys` case (document rebuilt
    // from its expected ranges, which are asserted here).
    let root = parse(
        "values:\n  object:\n    with-hyphen: foo\n    0leadingDigit: bar\n    \"\\\"quoted\\\"\": baz\n",
    );
    let object = value(value(&root, "values"), "object");
    assert_eq!(span(object), ((3, 5, 22), (5, 22, 83)));
    let keys: Vec<_> = entries(object).iter().map(|(k, _)| span(k)).collect();
    assert_eq!(
        keys,
        vec![
            ((3, 5, 22), (3, 16, 33)),
            ((4, 5, 43), (4, 18, 56)),
            ((5, 5, 66), (5, 13, 74))
        ]
    );
    assert_eq!(entries(object)[2].0.as_str(), Some("\"quoted\""));
    assert_eq!(
        span(value(object, "with-hyphen")),
        ((3, 18, 35), (3, 21, 38))
    );
    assert_eq!(
        span(value(object, "0leadingDigit")),
        ((4, 20, 58), (4, 23, 61))
    );
    assert_eq!(
        span(value(object, "\"quoted\"")),
        ((5, 19, 80), (5, 22, 83))
    );
    let path = crate::DocPath::root().key("values").key("object");
    assert_eq!(
        path.key("\"quoted\"").as_str(),
        r#"values.object["\"quoted\""]"#
    );
    assert_eq!(
        path.key("0leadingDigit").as_str(),
        r#"values.object["0leadingDigit"]"#
    );
}

#[test]
fn empty_value_at_the_end_of_a_text_ignores_a_dash_on_an_earlier_line() {
    // found by the property test: the key `:-` ends in a dash, the empty value's
    // marker sits on the line after the last one, column 1 (never column 0)
    let root = parse("? :- ");
    let (key, value) = &entries(&root)[0];
    assert_eq!(
        key.kind,
        NodeKind::String {
            value: ":-".into(),
            style: ScalarStyle::Plain
        }
    );
    assert_eq!(value.kind, NodeKind::Null);
    assert_eq!(span(value).0, (2, 1, 0));
    // a dash on the marker's own line still places the item after it
    let root = parse("- ");
    let NodeKind::Sequence(items) = &root.kind else {
        panic!()
    };
    assert_eq!(span(&items[0]).0, (1, 2, 0));
}

#[test]
fn indentless_sequences_start_at_their_first_dash() {
    // A block sequence as a mapping value at the key's own indentation
    // (go-yaml's "indentless sequence") starts at its first `-`, like any
    // block sequence. Found by the evaluator property test: `values:\n- `
    // reported the sequence from column 3 to column 2.
    let root = parse("values:\n- a\n- bc\nx: 1\n");
    assert_eq!(span(value(&root, "values")), ((2, 1, 8), (3, 5, 16)));
    let root = parse("values:\n- \n");
    assert_eq!(span(value(&root, "values")), ((2, 1, 8), (2, 2, 9)));
    // nested under a sequence item's mapping, and with a tag or an anchor
    let root = parse("a:\n  - k:\n    - x\nb: !!seq\n- y\nc: &s\n- z\n");
    let NodeKind::Sequence(items) = &value(&root, "a").kind else {
        panic!()
    };
    assert_eq!(span(value(&items[0], "k")).0, (3, 5, 14));
    assert_eq!(span(value(&root, "b")).0, (4, 4, 21));
    assert_eq!(span(value(&root, "c")).0, (6, 4, 34));
}

#[test]
fn indentless_sequences_whose_first_item_has_properties() {
    // The first item's anchor or tag belongs to the item: the sequence
    // still starts at the `-` before it.
    let root = parse("a:\n- &x 1\nb:\n- !!str 2\nc:\n-   [3]\nd:\n- - x\n");
    assert_eq!(span(value(&root, "a")).0, (2, 1, 3));
    assert_eq!(span(value(&root, "b")).0, (4, 1, 13));
    assert_eq!(span(value(&root, "c")).0, (6, 1, 26));
    let d = value(&root, "d");
    assert_eq!(span(d).0, (8, 1, 37));
    let NodeKind::Sequence(items) = &d.kind else {
        panic!()
    };
    assert_eq!(span(&items[0]).0, (8, 3, 39));
}

#[test]
fn sequences_with_their_own_properties_start_there() {
    // A sequence's own anchor or tag (before its first `-`) is its start;
    // a nested sequence starts at its own `-`.
    let root = parse("a: &s\n- 1\nb:\n- - x\n- &t\n  - y\n");
    assert_eq!(span(value(&root, "a")).0, (1, 4, 3));
    let NodeKind::Sequence(items) = &value(&root, "b").kind else {
        panic!()
    };
    assert_eq!(span(&items[0]).0, (4, 3, 15));
    assert_eq!(span(&items[1]).0, (5, 3, 21));
}

#[test]
fn junk_after_a_multi_line_root_is_an_error() {
    // The first document is read to its end: a stray bracket after a root
    // flow collection closed on a later line was accepted (found by the
    // edit property: editing `[---\n"]}` gave a document that no longer
    // parsed).
    for text in ["[a\n]}", "{a: 1\n}}", "[---\n\"]}"] {
        let err = error(text);
        assert!(
            err.summary.starts_with("yaml: line "),
            "{text:?}: {}",
            err.summary
        );
        assert_eq!(err.range, None);
    }
    // the same as on one line
    assert_eq!(error("[a]}").summary, error("[a]}\n").summary);
    // a later document is still never read
    assert!(parse_document("env", "a: 1\n---\nb: [\n").is_ok());
}
