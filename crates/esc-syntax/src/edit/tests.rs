//! Unit tests of the text-preserving edits.
#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

use super::*;
use crate::{Node, parse_document};

fn lookup<'a>(node: &'a Node, path: &str) -> &'a Node {
    let mut node = node;
    for segment in parse_doc_path(path).unwrap() {
        node = match (&node.kind, segment) {
            (NodeKind::Mapping(entries), PathSegment::Key(k)) => {
                &entries
                    .iter()
                    .find(|(key, _)| key.as_str() == Some(&k))
                    .unwrap()
                    .1
            }
            (NodeKind::Sequence(items), PathSegment::Index(i)) => &items[i],
            (kind, segment) => panic!("{segment:?} into {kind:?}"),
        };
    }
    node
}

fn reparsed(text: &str) -> Node {
    parse_document("env", text).unwrap().unwrap()
}

fn s(text: &str) -> EditValue {
    EditValue::String(text.to_owned())
}

fn string_kind(node: &Node) -> Option<&str> {
    node.as_str()
}

#[test]
fn doc_paths_parse() {
    use PathSegment::{Index, Key};
    let k = |s: &str| Key(s.to_owned());
    assert_eq!(
        parse_doc_path(r#"values.full["fn::rotate"].state"#).unwrap(),
        vec![k("values"), k("full"), k("fn::rotate"), k("state")]
    );
    assert_eq!(
        parse_doc_path("imports[0]").unwrap(),
        vec![k("imports"), Index(0)]
    );
    assert_eq!(
        parse_doc_path(r#"values["a\"b"][2].c"#).unwrap(),
        vec![k("values"), k("a\"b"), Index(2), k("c")]
    );
    assert_eq!(parse_doc_path(r#"["x-y"]"#).unwrap(), vec![k("x-y")]);
    for bad in [
        ".a",
        "a..b",
        "a[",
        "a[x]",
        r#"a["b"#,
        r#"a["b"x"#,
        "a[0]b",
        "a[-1]",
    ] {
        assert!(parse_doc_path(bad).is_err(), "{bad}");
    }
    // DocPath text round-trips
    let path = crate::DocPath::root()
        .key("values")
        .key("a b")
        .index(3)
        .key("c");
    assert_eq!(
        parse_doc_path(path.as_str()).unwrap(),
        vec![k("values"), k("a b"), Index(3), k("c")]
    );
}

#[test]
fn replaces_existing_state_keeping_comments() {
    let text = "\
# top comment
values:
  full:
    fn::rotate:
      provider: swap # the provider
      inputs: {}
      state:
        a: old-a   # old a
        b: old-b
  after: 1 # keep me
";
    let state = EditValue::Mapping(vec![("a".into(), s("new-a")), ("b".into(), s("new-b"))]);
    let out = set_value(text, r#"values.full["fn::rotate"].state"#, &state).unwrap();
    assert_eq!(
        out,
        "\
# top comment
values:
  full:
    fn::rotate:
      provider: swap # the provider
      inputs: {}
      state:
        a: new-a
        b: new-b
  after: 1 # keep me
"
    );
}

#[test]
fn creates_missing_state_and_mappings() {
    let text =
        "values:\n  short:\n    fn::rotate::swap:\n      inputs: {} # no state yet\n  x: 1\n";
    let state = EditValue::Mapping(vec![("a".into(), s("1")), ("b".into(), EditValue::Null)]);
    let out = set_value(text, r#"values.short["fn::rotate::swap"].state"#, &state).unwrap();
    assert_eq!(
        out,
        "values:\n  short:\n    fn::rotate::swap:\n      inputs: {} # no state yet\n      state:\n        a: \"1\"\n        b: null\n  x: 1\n"
    );
    // deeper: several missing levels at once
    let out = set_value(
        "values:\n  a: 1\n",
        "values.b.c[0].d",
        &EditValue::Bool(true),
    )
    .unwrap();
    assert_eq!(out, "values:\n  a: 1\n  b:\n    c:\n      - d: true\n");
    let root = reparsed(&out);
    assert_eq!(lookup(&root, "values.b.c[0].d").kind, NodeKind::Bool(true));
}

#[test]
fn null_and_scalar_targets() {
    // an empty value is replaced after its colon
    let out = set_value("values:\n  state:\n  z: 2\n", "values.state", &s("x")).unwrap();
    assert_eq!(out, "values:\n  state: x\n  z: 2\n");
    // a null node on the way becomes a mapping
    let out = set_value(
        "values:\n  a: ~\n",
        "values.a.b",
        &EditValue::Number("3".into()),
    )
    .unwrap();
    assert_eq!(out, "values:\n  a:\n    b: 3\n");
    // a string on the way is an error
    let err = set_value("values:\n  a: text\n", "values.a.b", &EditValue::Null).unwrap_err();
    assert_eq!(
        err,
        EditError::NotACollection {
            path: "values.a".into()
        }
    );
    assert_eq!(err.to_string(), "values.a: expected an array or an object");
}

#[test]
fn sequences() {
    let text = "values:\n  list:\n    - a\n    - b # bee\n";
    let out = set_value(text, "values.list[1]", &s("B")).unwrap();
    assert_eq!(out, "values:\n  list:\n    - a\n    - B # bee\n");
    let out = set_value(text, "values.list[2]", &s("c")).unwrap();
    assert_eq!(out, "values:\n  list:\n    - a\n    - b # bee\n    - c\n");
    let err = set_value(text, "values.list[3]", &s("c")).unwrap_err();
    assert_eq!(
        err,
        EditError::IndexOutOfRange {
            path: "values.list[3]".into()
        }
    );
    assert!(matches!(
        set_value(text, "values.list.x", &s("c")),
        Err(EditError::KeyForArray { .. })
    ));
    assert!(matches!(
        set_value(text, "values[0]", &s("c")),
        Err(EditError::IndexForMap { .. })
    ));
    // block mapping inside a sequence item
    let out = set_value(
        "values:\n  l:\n    - k: v\n",
        "values.l[0].k",
        &EditValue::Mapping(vec![("x".into(), s("y"))]),
    )
    .unwrap();
    assert_eq!(
        lookup(&reparsed(&out), "values.l[0].k.x").as_str(),
        Some("y")
    );
}

#[test]
fn flow_collections_stay_flow() {
    let text = "values: {a: 1, b: [x, y]} # flow\n";
    let out = set_value(
        text,
        "values.a",
        &EditValue::Mapping(vec![("k".into(), s("v"))]),
    )
    .unwrap();
    assert_eq!(out, "values: {a: {k: v}, b: [x, y]} # flow\n");
    let out = set_value(text, "values.c", &s("new")).unwrap();
    assert_eq!(out, "values: {a: 1, b: [x, y], c: new} # flow\n");
    let out = set_value(text, "values.b[2]", &s("z")).unwrap();
    assert_eq!(out, "values: {a: 1, b: [x, y, z]} # flow\n");
    // an empty flow mapping in block context that gains a key becomes block
    let out = set_value("values: {}\n", "values.c", &s("new")).unwrap();
    assert_eq!(out, "values:\n  c: new\n");
    let out = set_value("values:\n  l: [] # none\n", "values.l[0]", &s("x")).unwrap();
    assert_eq!(out, "values:\n  l:\n    - x # none\n");
    // ...but not inside a flow collection
    let out = set_value("values: {a: {}}\n", "values.a.c", &s("new")).unwrap();
    assert_eq!(out, "values: {a: {c: new}}\n");
}

#[test]
fn block_scalars_are_replaced_whole() {
    let text = "values:\n  a: |\n    line one\n    line two\n  b: 2\n";
    // the replacement keeps the `|` style, as yaml.v3 keeps a node's style
    let out = set_value(text, "values.a", &s("short")).unwrap();
    assert_eq!(out, "values:\n  a: |-\n    short\n  b: 2\n");
    let out = set_value("values:\n  a: |\n    x\n", "values.z", &s("new")).unwrap();
    assert_eq!(lookup(&reparsed(&out), "values.a").as_str(), Some("x\n"));
    assert_eq!(lookup(&reparsed(&out), "values.z").as_str(), Some("new"));
}

#[test]
fn secrets_are_wrapped() {
    let state = EditValue::Mapping(vec![
        ("password".into(), EditValue::Secret(Box::new(s("hunter2")))),
        (
            "obj".into(),
            EditValue::Secret(Box::new(EditValue::Mapping(vec![
                ("b".into(), EditValue::Number("1".into())),
                ("a".into(), s("<x>")),
            ]))),
        ),
        ("plain".into(), s("p")),
    ]);
    let out = set_value(
        "values:\n  r:\n    fn::rotate::x:\n      inputs: {}\n",
        r#"values.r["fn::rotate::x"].state"#,
        &state,
    )
    .unwrap();
    let root = reparsed(&out);
    let state = lookup(&root, r#"values.r["fn::rotate::x"].state"#);
    assert_eq!(
        lookup(state, r#"password["fn::secret"]"#).as_str(),
        Some("hunter2")
    );
    assert_eq!(
        lookup(state, r#"obj["fn::fromJSON"]["fn::secret"]"#).as_str(),
        Some(r#"{"a":"\u003cx\u003e","b":1}"#)
    );
    assert_eq!(lookup(state, "plain").as_str(), Some("p"));
}

#[test]
fn scalars_round_trip_through_quoting() {
    let values = [
        "plain",
        "",
        "42",
        "true",
        "null",
        "~",
        "yes",
        "a: b",
        "a #b",
        "- x",
        "#x",
        "[x]",
        "x,y",
        "'q'",
        "\"dq\"",
        "tab\there",
        "nl\nline",
        "trailing ",
        " leading",
        "é日😀",
        "$${x}",
        "back\\slash",
        "\u{7f}",
        "\u{85}",
        "1e+06",
        ".inf",
        "{a}",
        "a:",
        "@x",
        "%x",
        "`x",
        "\u{FEFF}bom",
        "<<",
        "... x",
        "--- x",
        "2001-12-14",
        "0o17",
        "1_000",
        "=",
    ];
    for v in values {
        let out = set_value("values:\n  a: 0\n", "values.a", &s(v)).unwrap();
        let root = reparsed(&out);
        assert_eq!(
            string_kind(lookup(&root, "values.a")),
            Some(v),
            "{v:?} -> {out:?}"
        );
        let flow = set_value("values: {a: 0}\n", "values.a", &s(v)).unwrap();
        assert_eq!(
            string_kind(lookup(&reparsed(&flow), "values.a")),
            Some(v),
            "{v:?} -> {flow:?}"
        );
        let key = set_value(
            "values:\n  a: 0\n",
            &crate::DocPath::root().key("values").key(v).into_string(),
            &s("x"),
        )
        .unwrap();
        let root = reparsed(&key);
        let NodeKind::Mapping(entries) = &lookup(&root, "values").kind else {
            panic!()
        };
        assert_eq!(entries[1].0.as_str(), Some(v), "key {v:?} -> {key:?}");
    }
    for (number, kind) in [
        ("42", "42"),
        ("1e+06", "1e+06"),
        ("+Inf", "+Inf"),
        ("-Inf", "-Inf"),
        ("NaN", "NaN"),
        ("-0.5", "-0.5"),
    ] {
        let out = set_value(
            "values:\n  a: 0\n",
            "values.a",
            &EditValue::Number(number.into()),
        )
        .unwrap();
        assert_eq!(
            lookup(&reparsed(&out), "values.a").kind,
            NodeKind::Number(kind.into())
        );
    }
    assert_eq!(
        set_value(
            "values:\n  a: 0\n",
            "values.a",
            &EditValue::Number("x".into())
        ),
        Err(EditError::InvalidNumber("x".into()))
    );
}

#[test]
fn encrypt_and_decrypt_secrets() {
    let text = "\
# comment stays
imports: [base]
values:
  password:
    fn::secret: hunter2 # inline comment
  quoted:
    fn::secret: \"pa$$word\"
  block:
    fn::secret: |
      multi
      line
  list:
    - fn::secret: in-a-list
  nested:
    fn::open::test:
      token:
        fn::secret: deep
  interpolated:
    fn::secret: ${other}
  number:
    fn::secret: 42
  already:
    fn::secret:
      ciphertext: ZXNjeAAAAAE=
  other: ${password}
";
    let mut seen = Vec::new();
    let encrypted = encrypt_secrets::<EditError>(text, |plain| {
        seen.push(plain.to_owned());
        Ok(format!("CT({})", plain.len()))
    })
    .unwrap();
    assert_eq!(
        seen,
        vec!["hunter2", "pa$word", "multi\nline\n", "in-a-list", "deep"]
    );
    assert!(encrypted.starts_with("# comment stays\nimports: [base]\n"));
    assert!(
        encrypted.contains("fn::secret:\n      ciphertext: CT(7) # inline comment\n"),
        "{encrypted}"
    );
    assert!(
        encrypted.contains("fn::secret:\n      ciphertext: CT(11)\n  list:"),
        "{encrypted}"
    );
    assert!(encrypted.contains("fn::secret: ${other}"));
    assert!(encrypted.contains("fn::secret: 42"));
    let root = reparsed(&encrypted);
    assert_eq!(
        lookup(&root, r#"values.password["fn::secret"].ciphertext"#).as_str(),
        Some("CT(7)")
    );
    assert_eq!(
        lookup(&root, r#"values.list[0]["fn::secret"].ciphertext"#).as_str(),
        Some("CT(9)")
    );
    assert_eq!(
        lookup(
            &root,
            r#"values.nested["fn::open::test"].token["fn::secret"].ciphertext"#
        )
        .as_str(),
        Some("CT(4)")
    );

    // decrypt reverses it (here: every ciphertext decrypts to "$x")
    let decrypted = decrypt_secrets::<EditError>(&encrypted, |ct| Ok(format!("$<{ct}>"))).unwrap();
    let root = reparsed(&decrypted);
    assert_eq!(
        lookup(&root, r#"values.password["fn::secret"]"#).as_str(),
        Some("$$<CT(7)>")
    );
    assert_eq!(
        lookup(&root, r#"values.already["fn::secret"]"#).as_str(),
        Some("$$<ZXNjeAAAAAE=>")
    );
    assert!(decrypted.contains("# inline comment"), "{decrypted}");

    // callback errors stop the rewrite
    let err = encrypt_secrets(text, |_| Err(EditError::Alias)).unwrap_err();
    assert_eq!(err, EditError::Alias);
}

#[test]
fn only_top_level_values_is_rewritten() {
    let text =
        "description: x\nother:\n  fn::secret: nope\nvalues:\n  a:\n    fn::secret: yes-please\n";
    let out = encrypt_secrets::<EditError>(text, |_| Ok("C".into())).unwrap();
    assert_eq!(
        out,
        "description: x\nother:\n  fn::secret: nope\nvalues:\n  a:\n    fn::secret:\n      ciphertext: C\n"
    );
}

#[test]
fn top_level_fn_keys_in_values_are_not_calls() {
    let text = "values:\n  fn::secret: property\n";
    assert_eq!(
        encrypt_secrets::<EditError>(text, |_| Ok("C".into())).unwrap(),
        text
    );
}

#[test]
fn carriage_returns_end_lines() {
    // found by fuzzing: a lone `\r` ends a line, so the new entry goes before it
    let text = "values:\n  o:\n    baz: q\r\repsilon: delta\n";
    let out = set_value(text, "values.a", &s("new")).unwrap();
    assert_eq!(
        out,
        "values:\n  o:\n    baz: q\n  a: new\r\repsilon: delta\n"
    );
    let root = reparsed(&out);
    assert_eq!(lookup(&root, "values.a").as_str(), Some("new"));
    assert_eq!(lookup(&root, "epsilon").as_str(), Some("delta"));
    let crlf = "values:\r\n  a: 1\r\n";
    let out = set_value(crlf, "values.b", &s("2")).unwrap();
    assert_eq!(out, "values:\r\n  a: 1\n  b: \"2\"\r\n");
}

#[test]
fn root_must_be_a_collection() {
    // found by fuzzing: an anchored null root
    for text in ["&es*\n &es*h", "~\n", "---\n", "text\n"] {
        let err = set_value(text, r#"values.a["b"][0]"#, &s("x")).unwrap_err();
        assert_eq!(
            err,
            EditError::NotACollection {
                path: String::new()
            },
            "{text:?}"
        );
    }
    assert!(matches!(
        set_value("a: 1\n", "", &s("x")),
        Err(EditError::InvalidPath { .. })
    ));
}

#[test]
fn tagged_collections_indent_like_their_entries() {
    // found by fuzzing: a tagged block mapping starts at its tag
    let text = "values:\n !missing-pen:\n      inputre$$s:";
    let out = set_value(text, r#"values.a["b"][0]"#, &s("x")).unwrap();
    assert_eq!(
        lookup(&reparsed(&out), r#"values.a["b"][0]"#).as_str(),
        Some("x"),
        "{out}"
    );
    let text = "values:\n  l: !seq\n    - a\n";
    let out = set_value(text, "values.l[1]", &s("b")).unwrap();
    assert_eq!(out, "values:\n  l: !seq\n    - a\n    - b\n");
}

#[test]
fn root_level_keys_that_look_like_markers_are_quoted() {
    for key in ["... x", "---", "<<"] {
        let path = crate::DocPath::root().key(key).into_string();
        let out = set_value("a: 1\n", &path, &s("v")).unwrap();
        let root = reparsed(&out);
        let NodeKind::Mapping(entries) = &root.kind else {
            panic!("{out}")
        };
        assert_eq!(entries[1].0.as_str(), Some(key), "{out}");
    }
}

#[test]
fn explicit_keys() {
    // `? key` then `: value` on the next line is edited after that `:`
    let out = set_value("values:\n  ? a\n  : 1\n", "values.a", &s("x")).unwrap();
    assert_eq!(out, "values:\n  ? a\n  : x\n");
    // found by fuzzing: an explicit key with no value at all is refused
    // (it used to search for a `:` further down the text)
    let err = set_value("imports:\n? -0bad\n", r#"["-0bad"]"#, &s("x")).unwrap_err();
    assert!(matches!(err, EditError::Unsupported { .. }), "{err:?}");
}

#[test]
fn collections_ending_in_an_empty_value() {
    // found by fuzzing: the empty value's span sat on its `:`, so replacing
    // the enclosing node left the `:` behind
    let out = set_value("values:\n   -\n    t:\n", "values", &s("x")).unwrap();
    assert_eq!(out, "values: x\n");
    let out = set_value("values:\n  a:\n", "values", &s("x")).unwrap();
    assert_eq!(out, "values: x\n");
}

#[test]
fn empty_values_in_flow_mappings() {
    // found by fuzzing: `{ k:}` got `k:{...}` (no space: not a key any more)
    let out = set_value("values:\n  - { k:}\n", "values[0].k", &s("x")).unwrap();
    assert_eq!(out, "values:\n  - { k: x}\n");
    let out = set_value("values: {a: , b: 1}\n", "values.a", &s("x")).unwrap();
    assert_eq!(
        lookup(&reparsed(&out), "values.a").as_str(),
        Some("x"),
        "{out}"
    );
    assert_eq!(
        lookup(&reparsed(&out), "values.b").kind,
        NodeKind::Number("1".into())
    );
}

#[test]
fn implicit_pairs_in_flow_sequences() {
    // found by fuzzing: `[a, k:]` holds a brace-less mapping, which is flow
    let text = "values:\n  s: [a, k:]\n";
    let out = set_value(text, "values.s[1].k", &s("x")).unwrap();
    assert_eq!(out, "values:\n  s: [a, k: x]\n");
    assert!(matches!(
        set_value(text, "values.s[1].other", &s("x")),
        Err(EditError::Unsupported { .. })
    ));
}

#[test]
fn carriage_return_only_documents() {
    // found by fuzzing: columns must count lines ended by a lone `\r`
    let text = "values:\r  l:\r    - a\r";
    let out = set_value(text, "values.l[1]", &s("b")).unwrap();
    let root = reparsed(&out);
    assert_eq!(lookup(&root, "values.l[1]").as_str(), Some("b"), "{out:?}");
    assert_eq!(lookup(&root, "values.l[0]").as_str(), Some("a"), "{out:?}");
}

#[test]
fn invalid_documents_are_errors() {
    assert!(matches!(
        set_value("a: [", "a", &EditValue::Null),
        Err(EditError::Document(_))
    ));
    assert!(matches!(
        encrypt_secrets::<EditError>("a: *x", |_| Ok(String::new())),
        Err(EditError::Document(_))
    ));
}

#[test]
fn empty_documents_become_new_documents() {
    let out = set_value("", "values.foo.bar", &s("qux")).unwrap();
    assert_eq!(out, "values:\n  foo:\n    bar: qux\n");
    let out = set_value("# just a comment", "imports[0]", &s("base")).unwrap();
    assert_eq!(out, "# just a comment\nimports:\n  - base\n");
}

#[test]
fn implicit_null_values_in_flow_mappings_get_their_colon() {
    // `{a b }` is the key `a b` with a null value and no `:`
    let out = set_value("values: {a b }\n", r#"values["a b"]"#, &s("x")).unwrap();
    assert_eq!(
        lookup(&reparsed(&out), r#"values["a b"]"#).as_str(),
        Some("x"),
        "{out}"
    );
    assert!(out.ends_with("}\n"), "{out}");
}

#[test]
fn keep_blocks_keep_their_trailing_line_breaks() {
    let text = "values:\n  a: |+\n    x\n\n";
    for (path, value) in [
        ("values.z", s("new")),
        ("values.a2", EditValue::Number("1".into())),
    ] {
        let out = set_value(text, path, &value).unwrap();
        let root = reparsed(&out);
        assert_eq!(lookup(&root, "values.a").as_str(), Some("x\n\n"), "{out:?}");
        assert!(matches!(
            lookup(&root, path).kind,
            NodeKind::String { .. } | NodeKind::Number(_)
        ));
    }
    let text = "l:\n  - |+\n    x\n\n";
    let out = set_value(text, "l[1]", &s("y")).unwrap();
    let root = reparsed(&out);
    assert_eq!(lookup(&root, "l[0]").as_str(), Some("x\n\n"), "{out:?}");
    assert_eq!(lookup(&root, "l[1]").as_str(), Some("y"), "{out:?}");
}

#[test]
fn replacements_keep_the_old_style() {
    // a quoted string stays quoted
    let text = "values:\n  open:\n    \"fn::open::test\": \"esc\"\n  s: 'single'\n";
    let out = set_value(text, r#"values.open["fn::open::test"]"#, &s("cse")).unwrap();
    assert_eq!(
        out,
        "values:\n  open:\n    \"fn::open::test\": \"cse\"\n  s: 'single'\n"
    );
    let out = set_value(text, "values.s", &s("it's")).unwrap();
    assert!(out.ends_with("  s: 'it''s'\n"), "{out}");
    // a flow collection replaced by a collection stays flow
    let out = set_value(
        "values:\n  o: {a: 1}\n",
        "values.o",
        &EditValue::Mapping(vec![("b".into(), s("2"))]),
    )
    .unwrap();
    assert_eq!(out, "values:\n  o: {b: \"2\"}\n");
}

#[test]
fn new_values_are_written_like_yaml_v3() {
    // children keep their own styles; the value itself is block
    let value = EditValue::StyledMapping(vec![(
        "fn::open::test".into(),
        StringStyle::DoubleQuoted,
        EditValue::Styled("esc".into(), StringStyle::DoubleQuoted),
    )]);
    let out = set_value("values:\n  a: 1\n", "values.open", &value).unwrap();
    assert_eq!(
        out,
        "values:\n  a: 1\n  open:\n    \"fn::open::test\": \"esc\"\n"
    );
    // multi-line strings are `|` blocks (`|-` without a final line break)
    let out = set_value("values:\n  a: 1\n", "values.a", &s("hello world\n")).unwrap();
    assert_eq!(out, "values:\n  a: |\n    hello world\n");
    let out = set_value("values:\n  a: 1\n", "values.a", &s("two\nlines")).unwrap();
    assert_eq!(out, "values:\n  a: |-\n    two\n    lines\n");
    assert_eq!(
        lookup(&reparsed(&out), "values.a").as_str(),
        Some("two\nlines")
    );
    // ...but quoted where a block cannot hold them
    let out = set_value("values:\n  a: 1\n", "values.a", &s(" lead\n")).unwrap();
    assert_eq!(out, "values:\n  a: \" lead\\n\"\n");
    // mappings in sequence items start on the `-` line
    let item = EditValue::Mapping(vec![("foo".into(), s("bar")), ("boom".into(), s("baz"))]);
    let out = set_value("values:\n  l:\n    - a\n", "values.l[1]", &item).unwrap();
    assert_eq!(
        out,
        "values:\n  l:\n    - a\n    - foo: bar\n      boom: baz\n"
    );
    let out = set_value(&out, "values.l[1].x", &s("z")).unwrap();
    assert_eq!(
        out,
        "values:\n  l:\n    - a\n    - foo: bar\n      boom: baz\n      x: z\n"
    );
    let out = set_value("values:\n  l:\n    - {}\n", "values.l[0].foo", &s("bar")).unwrap();
    assert_eq!(out, "values:\n  l:\n    - foo: bar\n");
}

#[test]
fn deletes_keep_everything_else() {
    let text = "\
imports:
  - a
values:
  # comment
  \"null\": null
  boolean: true # yes
  array: [hello, world]
  object: {hello: world}
  open:
    fn::open::test:
      foo: bar
      baz: qux
";
    let out = delete_value(text, r#"values["null"]"#).unwrap();
    assert_eq!(out, text.replace("  # comment\n  \"null\": null\n", ""));
    let out = delete_value(text, "values.boolean").unwrap();
    assert_eq!(out, text.replace("  boolean: true # yes\n", ""));
    let out = delete_value(text, "values.array[1]").unwrap();
    assert!(out.contains("  array: [hello]\n"), "{out}");
    let out = delete_value(&out, "values.array[0]").unwrap();
    assert!(out.contains("  array: []\n"), "{out}");
    let out = delete_value(text, "values.array[0]").unwrap();
    assert!(out.contains("  array: [world]\n"), "{out}");
    let out = delete_value(text, "values.object.hello").unwrap();
    assert!(out.contains("  object: {}\n"), "{out}");
    let out = delete_value(text, r#"values.open["fn::open::test"].foo"#).unwrap();
    assert!(
        out.ends_with("    fn::open::test:\n      baz: qux\n"),
        "{out}"
    );
    let out = delete_value(text, "values.open").unwrap();
    assert!(out.ends_with("  object: {hello: world}\n"), "{out}");
    let out = delete_value(text, "imports[0]").unwrap();
    assert!(out.starts_with("imports: []\nvalues:\n"), "{out}");
    // the last key leaves `{}`
    let out = delete_value("values:\n  a: 1\n", "values.a").unwrap();
    assert_eq!(out, "values: {}\n");
    // absent keys change nothing; a bad index is an error
    assert_eq!(delete_value(text, "values.nope.deeper").unwrap(), text);
    assert_eq!(
        delete_value(text, "values.array[5]").unwrap_err(),
        EditError::IndexOutOfRange {
            path: "values.array[5]".into()
        }
    );
    assert!(matches!(
        delete_value(text, "values.boolean.x"),
        Err(EditError::NotACollection { .. })
    ));
    // a compact mapping in a sequence item keeps its `-`
    let out = delete_value("l:\n  - foo: \"\"\n    boom: baz\n", "l[0].foo").unwrap();
    assert_eq!(out, "l:\n  - boom: baz\n");
    let out = delete_value("l:\n  - a\n  - b\n", "l[0]").unwrap();
    assert_eq!(out, "l:\n  - b\n");
}

#[test]
fn secrets_in_block_context_are_sealed_in_block_style() {
    let text = "values:\n  password:\n    fn::secret: hunter2\n  l:\n    - fn::secret: x\n  f: {fn::secret: y}\n";
    let out = encrypt_secrets::<EditError>(text, |p| Ok(format!("C{}", p.len()))).unwrap();
    assert_eq!(
        out,
        "values:\n  password:\n    fn::secret:\n      ciphertext: C7\n  l:\n    - fn::secret:\n        ciphertext: C1\n  f: {fn::secret: {ciphertext: C1}}\n"
    );
    let back = decrypt_secrets::<EditError>(&out, |c| Ok(format!("p-{c}"))).unwrap();
    assert_eq!(
        back,
        "values:\n  password:\n    fn::secret: p-C7\n  l:\n    - fn::secret: p-C1\n  f: {fn::secret: p-C1}\n"
    );
}

#[test]
fn double_quotes_escape_like_yaml_v3() {
    let out = set_value("a: 1\n", "a", &s("hi\u{5}world\t\u{1b}\u{FEFF}\u{2028}é")).unwrap();
    assert_eq!(out, "a: \"hi\\x05world\\t\\e\\uFEFF\\Lé\"\n");
    assert_eq!(
        lookup(&reparsed(&out), "a").as_str(),
        Some("hi\u{5}world\t\u{1b}\u{FEFF}\u{2028}é")
    );
}

#[test]
fn strings_are_quoted_like_yaml_v3() {
    for (value, written) in [
        ("[a", "'[a'"),
        ("it's: x", "'it''s: x'"),
        ("42", "\"42\""),
        ("yes", "\"yes\""),
        ("1:20", "\"1:20\""),
        ("1:70", "1:70"),
        ("", "\"\""),
        ("plain text", "plain text"),
    ] {
        let out = set_value("a: 1\n", "a", &s(value)).unwrap();
        assert_eq!(out, format!("a: {written}\n"), "{value:?}");
        assert_eq!(lookup(&reparsed(&out), "a").as_str(), Some(value));
    }
}

#[test]
fn comments_after_quoted_scalars_are_kept() {
    // saphyr's span of a quoted scalar runs over a trailing comment
    let out = set_value("a: \"q\" # c\nb: 'r' # d\n", "a", &s("new")).unwrap();
    assert_eq!(out, "a: \"new\" # c\nb: 'r' # d\n");
    let out = set_value(&out, "b", &s("it's")).unwrap();
    assert_eq!(out, "a: \"new\" # c\nb: 'it''s' # d\n");
    let out = set_value("a: \"x\\\"y\" # c\n", "a", &s("z")).unwrap();
    assert_eq!(out, "a: \"z\" # c\n");
}

#[test]
fn the_empty_document_has_nothing_to_seal_or_reveal_but_comments_only_is_refused() {
    let never = |_: &str| -> Result<String, EditError> { panic!("no secret in an empty document") };
    assert_eq!(encrypt_secrets::<EditError>("", never).unwrap(), "");
    assert_eq!(decrypt_secrets::<EditError>("", never).unwrap(), "");
    // non-empty input without content stays a load error (LANGUAGE.md)
    assert!(encrypt_secrets::<EditError>("# only a comment\n", never).is_err());
}
