//! yaml.v3 re-emit. Expected texts come from the golden CLI transcripts
//! (`shared/conformance/esc-cli`, named per test) or, where named so, follow
//! from yaml.v3's emitter rules (emitterc.go / encode.go).

#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

use super::*;

fn emit(text: &str, indent: usize) -> String {
    reemit(text, indent).unwrap()
}

fn key(k: &str) -> PathSegment {
    PathSegment::Key(k.into())
}

/// The definition of `env-get-all.yaml` as the transcript writes it, which
/// is also what `esc env get` prints for it.
const ENV_GET_ALL: &str = "imports:
  - a
  - b
values:
  # comment
  \"null\": null
  boolean: true
  number: 42
  string: esc
  array: [hello, world]
  object: {hello: world}
  open:
    fn::open::test: echo
  secret:
    fn::secret:
      ciphertext: ZXNjeAAAAAHz5ePy5fTB4+Pl8/PL5fnJxPD7
";

/// The same at yaml.v3's default indentation (`yaml.Marshal`): mappings
/// and block sequences under a key indented by four (the sequence item
/// `    - c` of `env-version-rollback.yaml`'s diagnostic).
const ENV_GET_ALL_FOUR: &str = "imports:
    - a
    - b
values:
    # comment
    \"null\": null
    boolean: true
    number: 42
    string: esc
    array: [hello, world]
    object: {hello: world}
    open:
        fn::open::test: echo
    secret:
        fn::secret:
            ciphertext: ZXNjeAAAAAHz5ePy5fTB4+Pl8/PL5fnJxPD7
";

#[test]
fn env_get_prints_the_stored_text_at_two_spaces() {
    assert_eq!(emit(ENV_GET_ALL_FOUR, 2), ENV_GET_ALL);
    assert_eq!(emit(ENV_GET_ALL, 2), ENV_GET_ALL);
}

#[test]
fn yaml_marshal_indents_by_four() {
    assert_eq!(emit(ENV_GET_ALL, 4), ENV_GET_ALL_FOUR);
    // env-version-rollback.yaml: line 2 of the stored text is `    - c`.
    assert_eq!(
        emit("imports:\n  - c\nvalues: {}\n", 4),
        "imports:\n    - c\nvalues: {}\n"
    );
}

#[test]
fn open_json_error_stored_text() {
    // open-json-error.yaml reports `test:3:16` (`foo`) and `test:4:31` (the
    // `"` of `"${object}"`) in this text.
    let source =
        "values:\n  object: {}\n  missing: ${foo}\n  invalid: {'fn::toBase64': \"${object}\"}\n";
    let stored = emit(source, 4);
    assert_eq!(
        stored,
        "values:\n    object: {}\n    missing: ${foo}\n    invalid: {'fn::toBase64': \"${object}\"}\n"
    );
    let line3 = stored.lines().nth(2).unwrap();
    assert_eq!(&line3[15..18], "foo");
    let line4 = stored.lines().nth(3).unwrap();
    assert_eq!(&line4[30..31], "\"");
}

#[test]
fn flow_collections_get_a_space_after_colon_and_comma() {
    // spec/CLI.md § 6.8
    assert_eq!(
        emit("{\"values\":{\"foo\":\"bar\"}}", 2),
        "{\"values\": {\"foo\": \"bar\"}}\n"
    );
    assert_eq!(
        emit("values: {a: [1,2,3],b: {}}\n", 2),
        "values: {a: [1, 2, 3], b: {}}\n"
    );
}

#[test]
fn env_set_definitions_are_kept() {
    // env-set.yaml's last definition: quoted keys and values keep their
    // quotes, a mapping in a sequence item starts on the item's line.
    let text = "values:
  foo:
    bar:
      baz: qux
      alpha: zed
    beta:
      - gamma
      - 42
  open:
    \"fn::open::test\": \"cse\"
  array:
    - hello
    - esc
    - foo: \"\"
      boom: baz
imports:
  - default/test2
  - default/test3
";
    assert_eq!(emit(text, 2), text);
    // env-set.yaml after `env rm`: an emptied mapping is `{}`.
    assert_eq!(
        emit("values:\n  foo:\n    bar: {}\n", 2),
        "values:\n  foo:\n    bar: {}\n"
    );
    // env-edit-file-warnings.yaml: duplicate keys stay.
    let duplicate = "values:\n  x: 1\nvalues:\n  y: 2\n";
    assert_eq!(emit(duplicate, 2), duplicate);
}

#[test]
fn members_are_emitted_on_their_own() {
    // env-get-each.yaml's Definition sections.
    let text = "values:\n  # comment\n  \"null\": null\n  number: 42\n  string: esc\n  array: [hello, world]\n  object: {hello: world}\n  open:\n    fn::open::test:\n      foo: bar\n";
    let doc = EmitDocument::parse(text).unwrap();
    let at = |path: &[PathSegment]| doc.emit_at(path, 2);
    assert_eq!(at(&[key("values"), key("null")]).unwrap(), "null\n");
    assert_eq!(at(&[key("values"), key("number")]).unwrap(), "42\n");
    assert_eq!(at(&[key("values"), key("string")]).unwrap(), "esc\n");
    assert_eq!(
        at(&[key("values"), key("array")]).unwrap(),
        "[hello, world]\n"
    );
    assert_eq!(
        at(&[key("values"), key("array"), PathSegment::Index(1)]).unwrap(),
        "world\n"
    );
    assert_eq!(
        at(&[key("values"), key("object")]).unwrap(),
        "{hello: world}\n"
    );
    assert_eq!(
        at(&[key("values"), key("open")]).unwrap(),
        "fn::open::test:\n  foo: bar\n"
    );
    assert_eq!(
        at(&[key("values"), key("open"), key("fn::open::test")]).unwrap(),
        "foo: bar\n"
    );
    assert_eq!(at(&[key("values"), key("missing")]), None);
    assert_eq!(at(&[key("values"), PathSegment::Index(0)]), None);
    // env-get-each-import.yaml: an imports list.
    let doc = EmitDocument::parse("imports:\n    - a\n    - b\n").unwrap();
    assert_eq!(doc.emit_at(&[key("imports")], 2).unwrap(), "- a\n- b\n");
}

#[test]
fn empty_documents() {
    assert_eq!(emit("", 2), "");
    assert!(EmitDocument::parse("").unwrap().is_empty());
    assert_eq!(emit("{}\n", 2), "{}\n");
    assert_eq!(emit("{}", 4), "{}\n");
}

#[test]
fn scalar_styles_follow_the_emitter() {
    // yaml.v3 rules: quoted styles are kept (single quotes doubled inside);
    // text yaml.v3 cannot print (four-byte UTF-8, control characters) forces
    // double quotes with escapes; an empty value after a key stays empty.
    assert_eq!(emit("a: 'it''s'\n", 2), "a: 'it''s'\n");
    assert_eq!(emit("a: \"x\\ty\"\n", 2), "a: \"x\\ty\"\n");
    assert_eq!(emit("a: 'x\ty'\n", 2), "a: \"x\\ty\"\n");
    assert_eq!(emit("a: \"\u{1F600}\"\n", 2), "a: \"\\U0001F600\"\n");
    assert_eq!(emit("a: \"caf\u{e9}\"\n", 2), "a: \"caf\u{e9}\"\n");
    assert_eq!(emit("a:\nb: ~\n", 2), "a:\nb: ~\n");
    // numbers and booleans keep their text (yaml.v3 keeps Node.Value)
    assert_eq!(
        emit("a: 0x1F\nb: 1.50\nc: True\n", 2),
        "a: 0x1F\nb: 1.50\nc: True\n"
    );
    // a plain scalar over several lines is folded to one
    assert_eq!(emit("a: one\n  two\n", 2), "a: one two\n");
    // explicit tags are kept
    assert_eq!(
        emit("a: !!str 42\nb: !custom x\n", 2),
        "a: !!str 42\nb: !custom x\n"
    );
}

#[test]
fn multi_line_strings_are_literal_blocks() {
    // yaml.v3: literal blocks are indented one level under their key; the
    // chomping indicator says how the text ends.
    assert_eq!(emit("a: |\n    x\n    y\n", 2), "a: |\n  x\n  y\n");
    assert_eq!(emit("a: |-\n  x\n  y\n", 4), "a: |-\n    x\n    y\n");
    assert_eq!(emit("a: |+\n  x\n\n", 2), "a: |+\n  x\n\n");
    assert_eq!(emit("l:\n  - |\n    x\n", 2), "l:\n  - |\n    x\n");
    // a double-quoted multi-line string keeps its quotes
    assert_eq!(emit("a: \"x\\ny\"\n", 2), "a: \"x\\ny\"\n");
    // in flow context a literal cannot be used
    assert_eq!(emit("a: [\"x\\ny\"]\n", 2), "a: [\"x\\ny\"]\n");
}

#[test]
fn nested_sequences_and_mappings() {
    assert_eq!(emit("- - a\n  - b\n", 2), "- - a\n  - b\n");
    assert_eq!(emit("-   a: 1\n    b: 2\n", 2), "- a: 1\n  b: 2\n");
    assert_eq!(emit("a:\n- x\n- y\n", 2), "a:\n  - x\n  - y\n");
    assert_eq!(
        emit("a:\n- x: 1\n  y: [2]\n", 4),
        "a:\n    - x: 1\n      y: [2]\n"
    );
    assert_eq!(emit("42", 2), "42\n");
}

#[test]
fn comments_are_placed_as_yaml_v3_does() {
    // head comments before entries, line comments after values
    let text = "# head\nvalues: # values\n  a: 1 # one\n  # before b\n  b: [x, y] # flow\nlist:\n  # first\n  - x # item\n";
    assert_eq!(emit(text, 2), text);
    // indentation follows the emitter
    assert_eq!(
        emit("values:\n      # c\n      a: 1\n", 2),
        "values:\n  # c\n  a: 1\n"
    );
    // blank lines are not kept
    assert_eq!(emit("a: 1\n\n\nb: 2\n", 2), "a: 1\nb: 2\n");
    // a comment right after an entry and followed by a blank line is the
    // entry's foot comment, written with a blank line after it
    assert_eq!(emit("a: 1\n# foot\n\nb: 2\n", 2), "a: 1\n# foot\n\nb: 2\n");
    // yaml.v3's own round-trip case (node_test.go), less the document's
    // head and foot comments
    assert_eq!(
        emit(
            "# DH1\n\n# DH2\n\n# HA1\n# HA2\nka: va # IA\n# FA1\n# FA2\n\n# HB1\n# HB2\nkb: vb # IB\n# FB1\n# FB2\n\n# DF1\n\n# DF2\n",
            2
        ),
        "# HA1\n# HA2\nka: va # IA\n# FA1\n# FA2\n\n# HB1\n# HB2\nkb: vb # IB\n# FB1\n# FB2\n"
    );
    // comments at the top before a blank line and at the end after one
    // belong to the document, which is not emitted
    assert_eq!(
        emit("# doc\n\n# head\na: 1\n\n# end\n", 2),
        "# head\na: 1\n"
    );
    // a comment after the last entry with no blank line is its foot
    assert_eq!(emit("a: 1\n# last\n", 2), "a: 1\n# last\n");
    // after quoted scalars too (esc-cli's set_and_rm_keep_comments_and_styles)
    let text = "a: \"x\" # one\nb: 'y' # two\nc: {k: \"v\"} # three\n";
    assert_eq!(emit(text, 2), text);
    // `#` inside scalars is text
    let text = "a: \"x # y\"\nb: x#y\nc: |\n  # text\n";
    assert_eq!(emit(text, 2), text);
}

#[test]
fn bad_input_is_an_error() {
    assert!(matches!(reemit("a: [", 2), Err(EmitError::Syntax { .. })));
    assert_eq!(reemit("a: &x 1\nb: *x\n", 2), Err(EmitError::Alias));
    let deep = "[".repeat(MAX_DEPTH + 1) + &"]".repeat(MAX_DEPTH + 1);
    assert_eq!(reemit(&deep, 2), Err(EmitError::TooDeep));
}

/// yaml.v3's own round-trip cases (node_test.go, `nodeTests` entries that
/// are both decoded and encoded, with `SetIndent(2)`), less those with
/// aliases: each document comes back unchanged, comments included.
const YAML_V3_ROUND_TRIPS: &[&str] = &[
    "null\n",
    "foo\n",
    "\"foo\"\n",
    "'foo'\n",
    "!!str 123\n",
    "!tag:something 123\n",
    "!tag:something {}\n",
    "!tag:something []\n",
    "''\n",
    "|\n  foo\n  bar\n",
    "true\n",
    "-10\n",
    "4294967296\n",
    "0.1000\n",
    "-.inf\n",
    ".nan\n",
    "{}\n",
    "a: b c\n",
    "a:\n  b: c\n  d: e\n",
    "a:\n  - b: c\n    d: e\n",
    "a: # AI\n  - b\nc:\n  - d\n",
    "a: | # IA\n  str\nb: >- # IB\n  str\nc: # IC\n  - str\nd: # ID\n  str:\n",
    "- a\n- b\n",
    "- a\n- - b\n  - c\n",
    "[a, b]\n",
    "- a\n- [b, c]\n",
    "# One\n# Two\ntrue # Three\n# Four\n# Five\n",
    "# \u{161}\ntrue # \u{161}\n",
    "# DH1\n\n# DH2\n\n# H1\n# H2\ntrue # I\n# F1\n# F2\n\n# DF1\n\n# DF2\n",
    "# DH1\n\n# DH2\n\n# HA1\n# HA2\nka: va # IA\n# FA1\n# FA2\n\n# HB1\n# HB2\nkb: vb # IB\n# FB1\n# FB2\n\n# DF1\n\n# DF2\n",
    "# DH1\n\n# DH2\n\n# HA1\n# HA2\n- la # IA\n# FA1\n# FA2\n\n# HB1\n# HB2\n- lb # IB\n# FB1\n# FB2\n\n# DF1\n\n# DF2\n",
    "# DH1\n\n- la # IA\n# HB1\n- lb\n",
    "- la # IA\n- lb # IB\n- lc # IC\n",
    "# DH1\n\n# HL1\n- - la\n  # HB1\n  - lb\n",
    "# DH1\n\n# HL1\n- # HA1\n  - la\n  # HB1\n  - lb\n",
    "# DH1\n\n# HA1\nka:\n  # HB1\n  kb:\n    # HC1\n    # HC2\n    - lc # IC\n    # FC1\n    # FC2\n\n    # HD1\n    - ld # ID\n    # FD1\n\n# DF1\n",
    "# DH1\n\n# HA1\nka:\n  # HB1\n  kb:\n    # HC1\n    # HC2\n    - lc # IC\n    # FC1\n    # FC2\n\n    # HD1\n    - ld # ID\n    # FD1\nke: ve\n\n# DF1\n",
    concat!(
        "# DH1\n\n# DH2\n\n# HA1\n# HA2\nka:\n  # HB1\n  # HB2\n  kb:\n",
        "    # HC1\n    # HC2\n    kc:\n      # HD1\n      # HD2\n      kd: vd\n      # FD1\n      # FD2\n",
        "    # FC1\n    # FC2\n  # FB1\n  # FB2\n# FA1\n# FA2\n\n# HE1\n# HE2\nke: ve\n# FE1\n# FE2\n\n# DF1\n\n# DF2\n",
    ),
    concat!(
        "# DH1\n\n# DH2\n\n# HA1\n# HA2\nka:\n  # HB1\n  # HB2\n  kb:\n",
        "    # HC1\n    # HC2\n    kc:\n      # HD1\n      # HD2\n      kd: vd\n      # FD1\n      # FD2\n",
        "    # FC1\n    # FC2\n  # FB1\n  # FB2\n\n  # HE1\n  # HE2\n  ke: ve\n  # FE1\n  # FE2\n# FA1\n# FA2\n\n# DF1\n\n# DF2\n",
    ),
    "# HA1\nka:\n  # HB1\n  kb: vb\n  # FB1\n# FA1\n",
    "# HA1\nka:\n  # HB1\n  kb: vb\n# FA1\n",
    "ka:\n  kb: vb\n# FA1\n\nkc: vc\n",
    "ka:\n  kb: vb\n# HC1\nkc: vc\n",
    "ka: # IA\n  kb: # IB\n",
    "# HA1\nka:\n  # HB1\n  kb: vb\n  # FB1\n# HC1\n# HC2\nkc: vc\n# FC1\n# FC2\n",
    "# H1\n[la, lb] # I\n# F1\n",
    "# DH1\n\n# SH1\n[\n  # HA1\n  la, # IA\n  # FA1\n\n  # HB1\n  lb, # IB\n  # FB1\n]\n# SF1\n\n# DF1\n",
    "# DH1\n\n# SH1\n[\n  # HA1\n  la,\n  # FA1\n\n  # HB1\n  lb,\n  # FB1\n]\n# SF1\n\n# DF1\n",
    "ka:\n  kb: [\n    # HA1\n    la,\n    # FA1\n\n    # HB1\n    lb,\n    # FB1\n  ]\n",
    "# DH1\n\n# MH1\n{\n  # HA1\n  ka: va, # IA\n  # FA1\n\n  # HB1\n  kb: vb, # IB\n  # FB1\n}\n# MF1\n\n# DF1\n",
    "# DH1\n\n# MH1\n{\n  # HA1\n  ka: va,\n  # FA1\n\n  # HB1\n  kb: vb,\n  # FB1\n}\n# MF1\n\n# DF1\n",
];

#[test]
fn yaml_v3_round_trips() {
    let mut failures = Vec::new();
    for text in YAML_V3_ROUND_TRIPS {
        let emitted = EmitDocument::parse(text).unwrap().emit_document(2);
        if emitted != *text {
            failures.push(format!("{text:?}\n  -> {emitted:?}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn yaml_v3_decode_then_encode() {
    // node_test.go: a document decoded to a tree that encodes as the
    // `[encode]` case after it ("it loses b's inline comment"); the
    // indentless sequence decodes to the same tree.
    let encoded = "a:\n  # HM\n  - # HB1\n    # HB2\n    b: c # IC\n";
    assert_eq!(
        emit(
            "a:\n  # HM\n  - # HB1\n    # HB2\n    b: # IB\n      c # IC\n",
            2
        ),
        encoded
    );
    assert_eq!(
        emit("a:\n# HM\n- # HB1\n  # HB2\n  b: # IB\n    c # IC\n", 2),
        encoded
    );
}

#[test]
fn large_documents_in_linear_time() {
    // ~1 MiB: 20,000 entries, each with a head and a line comment, nested
    // under a few mappings; quadratic attachment would take minutes.
    let mut text = String::from("values:\n");
    for i in 0..20_000 {
        text.push_str(&format!("  # head {i}\n  key{i}:\n    v: {i} # line {i}\n"));
    }
    let started = std::time::Instant::now();
    let out = emit(&text, 2);
    assert_eq!(out, text);
    assert!(
        started.elapsed() < std::time::Duration::from_secs(20),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn yaml_v3_decode_only_cases() {
    // node_test.go's `[decode]` documents: the trees it expects, encoded by
    // yaml.v3's emitter rules (blank lines are not kept; a head comment
    // ending in a newline writes the same text as one without).
    let cases = [
        (
            "ka:\n  kb: vb\n\n# HC1\nkc: vc\n",
            "ka:\n  kb: vb\n# HC1\nkc: vc\n",
        ),
        (
            "ka:\n  kb: vb\n\n# HC1\n\nkc: vc\n",
            "ka:\n  kb: vb\n# HC1\nkc: vc\n",
        ),
        (
            "# HA1\nka:\n# HB1\n\n  kb: vb\n# FA1\n",
            "# HA1\nka:\n  # HB1\n  kb: vb\n# FA1\n",
        ),
        (
            "# HA1\nka:\n  # HB1\n  kb: vb\n  # FB1\n# FA1\n\n",
            "# HA1\nka:\n  # HB1\n  kb: vb\n  # FB1\n# FA1\n",
        ),
        (
            "# HA1\nka:\n  # HB1\n  kb: vb\n  # FB1\n\n# HC1\n# HC2\nkc: vc\n# FC1\n# FC2\n",
            "# HA1\nka:\n  # HB1\n  kb: vb\n  # FB1\n# HC1\n# HC2\nkc: vc\n# FC1\n# FC2\n",
        ),
        (
            "\n# One\n\n# Two\n\n# Three\ntrue # Four\n# Five\n\n# Six\n\n# Seven\n",
            "# One\n\n# Two\n\n# Three\ntrue # Four\n# Five\n\n# Six\n\n# Seven\n",
        ),
        (
            "# DH1\n\n# HL1\n- # HA1\n\n  - la\n  # HB1\n  - lb\n",
            "# DH1\n\n# HL1\n- # HA1\n  - la\n  # HB1\n  - lb\n",
        ),
    ];
    for (decoded, encoded) in cases {
        let emitted = EmitDocument::parse(decoded).unwrap().emit_document(2);
        assert_eq!(emitted, encoded, "{decoded:?}");
    }
}

#[test]
fn anchors_and_tags_on_collections() {
    // yaml.v3 writes a node's anchor, then its tag; tagged flow collections
    // stay flow.
    assert_eq!(
        emit(
            "a: &x 1\nb: !!map &z {e: 2}\nl: &w\n  - 1\nm: !!seq [1]\n",
            2
        ),
        "a: &x 1\nb: &z !!map {e: 2}\nl: &w\n  - 1\nm: !!seq [1]\n"
    );
}
