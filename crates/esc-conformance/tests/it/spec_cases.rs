//! Conformance-style cases for rules of spec/LANGUAGE.md that no shared
//! fixture covers (or covers only in part): a definition, the environments
//! it may import, and the expected listing of `print_case` (diagnostics
//! with severity, summary, range and path per phase, then the JSON
//! projections). Expectations are written from the spec and the reference
//! behaviour it describes, range by range.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use esc_conformance::providers::{CaseLoader, Rot128, TestProviders};
use esc_conformance::{Overrides, fixture_context, print_case, run_text};
use esc_eval::{Limits, Session};

/// Runs the case procedure of spec §8 on `text` (root `name`, imports from
/// `others`) and returns the listing.
async fn run(name: &str, text: &str, others: &[(&str, &str)], overrides: Overrides) -> String {
    let preloaded: HashMap<String, String> = others
        .iter()
        .map(|(n, t)| (n.to_string(), t.to_string()))
        .collect();
    let session = Session {
        providers: Arc::new(TestProviders {
            open_delay: Duration::ZERO,
        }),
        environments: Arc::new(CaseLoader {
            dir: PathBuf::new(),
            case: name.to_string(),
            load_delay: Duration::ZERO,
            preloaded: Some(preloaded),
        }),
        decrypter: Arc::new(Rot128),
        context: fixture_context(),
        limits: Limits::default(),
    };
    let mut out = run_text(name, text, &overrides, &session, false)
        .await
        .unwrap();
    // The §9 structures are the fixtures' business (`--full`).
    out.environments.clear();
    print_case(&out)
}

/// Asserts the listing of a case without imports.
async fn check(text: &str, expected: &str) {
    check_with(text, &[], expected).await;
}

/// Asserts the listing of a case (root `case`).
async fn check_with(text: &str, others: &[(&str, &str)], expected: &str) {
    let got = run("case", text, others, Overrides::default()).await;
    assert_eq!(got, expected, "\n--- got ---\n{got}");
}

#[tokio::test]
async fn provider_name_goes_through_the_string_parser() {
    // §3 fn::open: a provider name must be a string literal; a string is
    // parsed like any other (§1.5), so `${x}` is a reference, not a name,
    // and `$$` is a literal `$`. The name's own parse errors are reported.
    let text = "values:
  o1:
    fn::open: {provider: \"${x}\", inputs: {}}
  o2:
    fn::open: {provider: \"te$$st\", inputs: {}}
  o3:
    fn::rotate: {provider: \"${x\", inputs: {}}
";
    // o1: the quoted scalar `"${x}"` starts at its quote, line 3 (byte 14)
    // column 26 (byte 39), and ends 4 columns (the decoded length) later.
    // o2: line 5 starts at byte 65; the call's mapping runs from its key
    // (column 5) to the end of its last value (`{}`, empty: its start).
    // o3: line 7 starts at byte 118; its quote is at column 28.
    check(
        text,
        r#"load: E provider name must be a string literal @case 3:26(39)-3:30(43) values.o1["fn::open"].provider
load: E missing closing brace '}' in interpolation @case 7:28(145)-7:31(148) values.o3["fn::rotate"].provider
load: E provider name must be a string literal @case 7:28(145)-7:31(148) values.o3["fn::rotate"].provider
check: E unknown provider "te$st" @case 5:5(69)-5:44(108) values.o2
eval: E unknown provider "te$st" @case 5:5(69)-5:44(108) values.o2
checkJson: {"o1":"[unknown]","o2":"[unknown]","o3":"[unknown]"}
evalJsonRedacted: {"o1":"[unknown]","o2":"[unknown]","o3":"[unknown]"}
evalJSONRevealed: {"o1":"[unknown]","o2":"[unknown]","o3":"[unknown]"}
"#,
    )
    .await;
}

#[tokio::test]
async fn ciphertext_must_be_a_string_literal() {
    // §3 fn::secret: `{ciphertext: <string literal>}`; a reference there
    // makes the plaintext rule apply: `secret values must be string
    // literals` at the argument, and the value is the secret "".
    check(
        "values:\n  s:\n    fn::secret: {ciphertext: \"${x}\"}\n  x: 1\n",
        r#"load: E secret values must be string literals @case 3:17(29)-3:34(46) values.s["fn::secret"]
checkJson: {"s":"[secret]","x":1}
evalJsonRedacted: {"s":"[secret]","x":1}
evalJSONRevealed: {"s":"","x":1}
"#,
    )
    .await;
}

#[tokio::test]
async fn reserved_prefix_is_reported_at_the_key_with_the_mapping_path() {
    // §1.5: one key starting with `fn::` (any case) that names no builtin:
    // `'fn::' is a reserved prefix` at the key; the reference gives it the
    // path of the mapping holding the key. The mapping stays an object.
    // Several keys: `illegal call ...` per (case-sensitive) `fn::` key, at
    // the mapping.
    check(
        "values:\n  a:\n    fn::foo: 1\n  b:\n    FN::secret: x\n  c: {fn::join: x, FN::y: 1, z: 2}\n",
        r#"load: E 'fn::' is a reserved prefix @case 3:5(17)-3:12(24) values.a
load: E 'fn::' is a reserved prefix @case 5:5(37)-5:15(47) values.b
load: E illegal call to builtin function: "fn::join" must be the only key within its containing object @case 6:6(56)-6:34(84) values.c
checkJson: {"a":{"fn::foo":1},"b":{"FN::secret":"x"},"c":{"FN::y":1,"fn::join":"x","z":2}}
evalJsonRedacted: {"a":{"fn::foo":1},"b":{"FN::secret":"x"},"c":{"FN::y":1,"fn::join":"x","z":2}}
evalJSONRevealed: {"a":{"fn::foo":1},"b":{"FN::secret":"x"},"c":{"FN::y":1,"fn::join":"x","z":2}}
"#,
    )
    .await;
}

/// Asserts the listing with the ranges left out (`@file range` → `@file`),
/// for cases about texts, paths and values rather than positions.
async fn check_texts(text: &str, others: &[(&str, &str)], expected: &str) {
    let got = run("case", text, others, Overrides::default()).await;
    let got: String = got
        .lines()
        .map(|line| match line.split_once(" @") {
            Some((head, rest)) => {
                let mut words = rest.splitn(3, ' ');
                let file = words.next().unwrap_or_default();
                let _range = words.next();
                let path = words.next().unwrap_or_default();
                format!("{head} @{file} {path}\n")
            }
            None => format!("{line}\n"),
        })
        .collect();
    assert_eq!(got, expected, "\n--- got ---\n{got}");
}

#[tokio::test]
async fn description_must_be_a_string_literal() {
    // §1.2: `description` is a string literal; a reference is not one; a
    // string that does not parse reports its parse error too (it is an
    // access all the same).
    check(
        "description: ${x}\nvalues:\n  a: 1\n",
        r#"load: E description must be a string @case 1:14(13)-1:18(17) description
checkJson: {"a":1}
evalJsonRedacted: {"a":1}
evalJSONRevealed: {"a":1}
"#,
    )
    .await;
    check(
        "description: \"a $$ b ${x\"\nvalues:\n  a: 1\n",
        r#"load: E missing closing brace '}' in interpolation @case 1:14(13)-1:24(23) description
load: E description must be a string @case 1:14(13)-1:24(23) description
checkJson: {"a":1}
evalJsonRedacted: {"a":1}
evalJSONRevealed: {"a":1}
"#,
    )
    .await;
}

#[tokio::test]
async fn top_level_keys() {
    // §1.2: keys match case-insensitively; unknown keys warn with the
    // field names sorted by Levenshtein distance (stable); a repeated key
    // warns and the last wins; wrong shapes are errors at the value.
    check(
        "valeus: {}\nimprots: []\ndescrption: x\nVALUES:\n  a: 1\nvalues:\n  b: 2\ndescription: 3\n",
        r#"load: W Field 'valeus' does not exist on Object 'environment'. Existing fields are: 'values', 'imports', 'description' @case 1:1(0)-1:7(6) valeus
load: W Field 'improts' does not exist on Object 'environment'. Existing fields are: 'imports', 'values', 'description' @case 2:1(11)-2:8(18) improts
load: W Field 'descrption' does not exist on Object 'environment'. Existing fields are: 'description', 'imports', 'values' @case 3:1(23)-3:11(33) descrption
load: W duplicate key "values" @case 6:1(52)-6:7(58) values
load: E description must be a string @case 8:14(80)-8:15(81) description
checkJson: {"b":2}
evalJsonRedacted: {"b":2}
evalJSONRevealed: {"b":2}
"#,
    )
    .await;
    // Comments only: an error without a range, no evaluation.
    check(
        "# nothing here\n",
        "load: E environment must be an object @- \ncheckJson: -\nevalJsonRedacted: -\nevalJSONRevealed: -\n",
    )
    .await;
    // `values:` with nothing after it is null, not an object (like
    // `imports:`, which the reference reports as not a list).
    check(
        "values:\n",
        "load: E values must be an object @case 1:8(7)-1:8(7) values\ncheckJson: -\nevalJsonRedacted: -\nevalJSONRevealed: -\n",
    )
    .await;
    // No values and no imports: nothing at all.
    check(
        "imports: []\n",
        "checkJson: -\nevalJsonRedacted: -\nevalJSONRevealed: -\n",
    )
    .await;
}

#[tokio::test]
async fn import_shapes_and_options() {
    // §1.3: shape errors at the offending node, bad items skipped; the
    // `merge` option is a boolean literal (matched case-insensitively);
    // `merge: false` imports are reachable only through `imports`.
    let text = "imports:
  - other:
  - {a: {}, b: {}}
  - c: {merge: \"true\"}
  -
  - [1]
  - d: {Merge: false, ignored: 1}
  - e
values:
  x: ${imports.d.dv}
";
    // `"true"` ends 4 columns (its decoded length) after its quote; `[1]`
    // ends where its last value ends.
    check_with(
        text,
        &[("d", "values:\n  dv: 1\n")],
        r#"load: E import must be an object @case 2:11(19)-2:11(19) imports[0].other
load: E import must have a single key @case 3:5(24)-3:16(35) imports[1]
load: E merge must be a boolean value @case 4:16(54)-4:20(58) imports[2].c.merge
load: E import must be a string or an object @case 5:4(65)-5:4(65) imports[3]
load: E import must be a string or an object @case 6:5(70)-6:7(72) imports[4]
check: E open testdata/eval/case/e.yaml: no such file or directory @case 8:5(112)-8:6(113) imports[6]
eval: E open testdata/eval/case/e.yaml: no such file or directory @case 8:5(112)-8:6(113) imports[6]
checkJson: {"x":1}
evalJsonRedacted: {"x":1}
evalJSONRevealed: {"x":1}
"#,
    )
    .await;
    check_texts(
        "imports:\n  - d: {merge: false}\nvalues:\n  x: ${dv}\n",
        &[("d", "values:\n  dv: 1\n")],
        "check: E unknown property \"dv\" @case values.x\neval: E unknown property \"dv\" @case values.x\ncheckJson: {\"x\":\"[unknown]\"}\nevalJsonRedacted: {\"x\":\"[unknown]\"}\nevalJSONRevealed: {\"x\":\"[unknown]\"}\n",
    )
    .await;
}

#[tokio::test]
async fn builtin_argument_shapes() {
    // §3: load-time shape errors at the argument; the call is unknown.
    let text = "values:
  o1: {fn::open: 1}
  o2: {fn::open: {inputs: {}}}
  o3: {fn::open: {provider: test}}
  o4: {fn::open: {provider: [x], inputs: {}}}
  o5: {fn::open::nope: {}}
  r1: {fn::rotate: 1}
  r2: {fn::rotate::swap: 1}
  r3: {fn::rotate::swap: {inputs: {}, state: 1}}
  r4: {fn::rotate::nope: {inputs: {}}}
  j1: {fn::join: [\",\"]}
  s1: {fn::split: [a, b, c]}
  c1: {fn::concat: x}
  v1: {fn::validate: 1}
";
    check_texts(
        text,
        &[],
        r#"load: E the argument to fn::open must be an object containing 'provider' and 'inputs' @case values.o1["fn::open"]
load: E missing provider name ('provider') @case values.o2["fn::open"]
load: E missing provider inputs ('inputs') @case values.o3["fn::open"]
load: E provider name must be a string literal @case values.o4["fn::open"].provider
load: E the argument to fn::rotate must be an object containing 'provider', 'inputs' and 'state' @case values.r1["fn::rotate"]
load: E the argument to fn::rotate must be an object containing 'inputs' and 'state' @case values.r2["fn::rotate::swap"]
load: E rotation state must be an object literal @case values.r3["fn::rotate::swap"].state
load: E the argument to fn::join must be a two-valued list @case values.j1["fn::join"]
load: E the argument to fn::split must be a two-valued list @case values.s1["fn::split"]
load: E the argument to fn::concat must be an array of arrays @case values.c1["fn::concat"]
load: E the argument to fn::validate must be an object containing 'schema' and 'value' @case values.v1["fn::validate"]
check: E expected array, got string @case values.c1["fn::concat"]
check: E unknown provider "nope" @case values.o5
check: E expected object, got number @case values.r3["fn::rotate::swap"].state
check: E expected null, got number @case values.r3["fn::rotate::swap"].state
check: E exactly one subschema must match @case values.r3["fn::rotate::swap"].state
check: E unknown rotator "nope" @case values.r4
eval: E expected array, got string @case values.c1["fn::concat"]
eval: E unknown provider "nope" @case values.o5
eval: E expected object, got number @case values.r3["fn::rotate::swap"].state
eval: E expected null, got number @case values.r3["fn::rotate::swap"].state
eval: E exactly one subschema must match @case values.r3["fn::rotate::swap"].state
eval: E unknown rotator "nope" @case values.r4
checkJson: {"c1":"[unknown]","j1":"[unknown]","o1":"[unknown]","o2":"[unknown]","o3":"[unknown]","o4":"[unknown]","o5":"[unknown]","r1":"[unknown]","r2":"[unknown]","r3":"[unknown]","r4":"[unknown]","s1":"[unknown]","v1":"[unknown]"}
evalJsonRedacted: {"c1":"[unknown]","j1":"[unknown]","o1":"[unknown]","o2":"[unknown]","o3":"[unknown]","o4":"[unknown]","o5":"[unknown]","r1":"[unknown]","r2":"[unknown]","r3":"[unknown]","r4":"[unknown]","s1":"[unknown]","v1":"[unknown]"}
evalJSONRevealed: {"c1":"[unknown]","j1":"[unknown]","o1":"[unknown]","o2":"[unknown]","o3":"[unknown]","o4":"[unknown]","o5":"[unknown]","r1":"[unknown]","r2":"[unknown]","r3":"[unknown]","r4":"[unknown]","s1":"[unknown]","v1":"[unknown]"}
"#,
    )
    .await;
}

#[tokio::test]
async fn decoding_error_texts() {
    // §3: Go's texts: base64 `illegal base64 data at input byte N`,
    // json.Decoder's `EOF` / `unexpected EOF` / `invalid character ...`,
    // envelope checks `EOF` (under 16 bytes) then `invalid header`;
    // fromJSON ignores trailing text; split/concat edge results.
    let text = r#"values:
  b1: {fn::fromBase64: "a"}
  b2: {fn::fromBase64: "aGk=x"}
  j1: {fn::fromJSON: ""}
  j2: {fn::fromJSON: "{"}
  j3: {fn::fromJSON: "x"}
  j4: {fn::fromJSON: "[1,]"}
  j5: {fn::fromJSON: "[1.50, -0] trailing"}
  c1: {fn::secret: {ciphertext: "abc!"}}
  c2: {fn::secret: {ciphertext: "AAAAAAAAAAAAAAAAAAAAAA=="}}
  c3: {fn::secret: {ciphertext: "aHVudGVyMjM="}}
  s1: {fn::split: ["", "abc"]}
  s2: {fn::split: [",", ""]}
  k1: {fn::concat: []}
"#;
    // In evaluation order: members by key.
    let expected_diags = [
        r#"E decoding base64 string: illegal base64 data at input byte 0 @case values.b1"#,
        r#"E decoding base64 string: illegal base64 data at input byte 4 @case values.b2"#,
        r#"E invalid ciphertext: illegal base64 data at input byte 3 @case values.c1"#,
        r#"E invalid ciphertext: invalid header @case values.c2"#,
        r#"E invalid ciphertext: EOF @case values.c3"#,
        r#"E decoding JSON string: EOF @case values.j1"#,
        r#"E decoding JSON string: unexpected EOF @case values.j2"#,
        r#"E decoding JSON string: invalid character 'x' looking for beginning of value @case values.j3"#,
        r#"E decoding JSON string: invalid character ']' looking for beginning of value @case values.j4"#,
    ];
    let mut expected = String::new();
    for phase in ["check", "eval"] {
        for d in expected_diags {
            expected.push_str(&format!("{phase}: {d}\n"));
        }
    }
    let values = r#"{"b1":"[unknown]","b2":"[unknown]","c1":"[secret]","c2":"[secret]","c3":"[secret]","j1":"[unknown]","j2":"[unknown]","j3":"[unknown]","j4":"[unknown]","j5":[1.50,-0],"k1":[],"s1":["a","b","c"],"s2":[""]}"#;
    expected.push_str(&format!(
        "checkJson: {values}\nevalJsonRedacted: {values}\n"
    ));
    expected.push_str(r#"evalJSONRevealed: {"b1":"[unknown]","b2":"[unknown]","c1":"[unknown]","c2":"[unknown]","c3":"[unknown]","j1":"[unknown]","j2":"[unknown]","j3":"[unknown]","j4":"[unknown]","j5":[1.50,-0],"k1":[],"s1":["a","b","c"],"s2":[""]}"#);
    expected.push('\n');
    check_texts(text, &[], &expected).await;
}

#[tokio::test]
async fn string_forms_and_json() {
    // §2.3: string forms quote nested values with Go's strconv.Quote
    // (C0 bytes as \x.., escapes multiply) and use own keys only;
    // fn::toJSON uses merged keys; `$$` is `$` in every string.
    let base = "values:\n  obj:\n    inherited: yes\n";
    let text = r#"imports:
  - base
values:
  obj:
    z: 1
    b: [x, "q\"", null, true]
    n: null
  ts: {fn::toString: "${obj}"}
  tj: {fn::toJSON: "${obj}"}
  interp: "v=${obj.b} ${obj.n}|${obj.z}"
  esc: "\t\x01é"
  escs: {fn::toString: ["${esc}"]}
  p: pa$$word
"#;
    let values = r#"{"esc":"\t\u0001é","escs":"\"\\t\\x01é\"","interp":"v=\"x\",\"q\\\"\",\"\",\"true\" |1","obj":{"b":["x","q\"",null,true],"inherited":"yes","n":null,"z":1},"p":"pa$word","tj":"{\"b\":[\"x\",\"q\\\"\",null,true],\"inherited\":\"yes\",\"n\":null,\"z\":1}","ts":"\"b\"=\"\\\"x\\\",\\\"q\\\\\\\"\\\",\\\"\\\",\\\"true\\\"\",\"n\"=\"\",\"z\"=\"1\""}"#;
    check_texts(
        text,
        &[("base", base)],
        &format!("checkJson: {values}\nevalJsonRedacted: {values}\nevalJSONRevealed: {values}\n"),
    )
    .await;
}

#[tokio::test]
async fn accessing_unknowns_and_secrets() {
    // §2.2: an unknown is walked through its schema (the `schema` test
    // provider in check mode); `fn::secret` is transparent to accessors
    // (plaintext: a string receiver; ciphertext: `internal error: no
    // receiver`); `did you mean` among own keys.
    let text = "values:
  o: {fn::open::schema: {}}
  a1: ${o.number.x}
  a2: ${o.array.x}
  a3: ${o.tuple[5]}
  a4: ${o.map[0]}
  a5: ${o.anyOf.x}
  a6: ${o.never.x}
  a7: ${o.ref.baz}
  s: {fn::secret: abc}
  c: {fn::secret: {ciphertext: ZXNjeAAAAAHo9e705fKyKo30VQ==}}
  a8: ${s.x}
  a9: ${c.x}
  a10: ${a1x}
  a11: ${oo}
";
    let got = run("case", text, &[], Overrides::default()).await;
    let check: Vec<_> = got
        .lines()
        .filter(|l| l.starts_with("check: "))
        .map(|l| {
            let (head, rest) = l.split_once(" @case ").unwrap();
            format!("{head} {}", rest.rsplit(' ').next().unwrap())
        })
        .collect();
    assert_eq!(
        check,
        [
            "check: E receiver must be an array or an object values.a1",
            // distance 1 < (3 + 1) / 2 for both `a1` and `a10`: the first
            // in key order wins
            r#"check: E unknown property "a1x"; did you mean "a1"? values.a10"#,
            // `o` is at distance 1, not < (2 + 1) / 2: no suggestion
            r#"check: E unknown property "oo" values.a11"#,
            "check: E cannot access an array element using a property name values.a2",
            "check: E array index 5 out-of-bounds for array of length 2 values.a3",
            "check: E cannot access an object property using an integer index values.a4",
            "check: E receiver must be an array or an object values.a5",
            "check: E receiver must be an array or an object values.a6",
            "check: E receiver must be an array or an object values.a8",
            "check: E internal error: no receiver values.a9",
        ],
        "{got}"
    );
}

#[tokio::test]
async fn final_values_warn_when_overridden() {
    // §3 fn::final: an own property overriding a final base warns at the
    // overriding expression and the base stays; references stay final.
    check_texts(
        "imports:\n  - f\nvalues:\n  a: 2\n  b:\n    c: 3\n  d: ${a}\n",
        &[(
            "f",
            "values:\n  a:\n    fn::final: 1\n  b:\n    fn::final:\n      c: 1\n",
        )],
        r#"check: W cannot override final value @case values.a
check: W cannot override final value @case values.b
eval: W cannot override final value @case values.a
eval: W cannot override final value @case values.b
checkJson: {"a":1,"b":{"c":1},"d":1}
evalJsonRedacted: {"a":1,"b":{"c":1},"d":1}
evalJSONRevealed: {"a":1,"b":{"c":1},"d":1}
"#,
    )
    .await;
}

#[tokio::test]
async fn rotate_paths_select_calls() {
    // §5.2: paths are relative to `values` (normalised: bare segments of
    // [A-Za-z0-9_], else ["..."]); only selected calls rotate and patch.
    let text = r#"values:
  examples:
    not-rotated:
      fn::rotate::swap:
        inputs: {}
        state: {a: a, b: b}
    subscript-path:
      - fn::rotate::swap:
          inputs: {}
          state: {a: a, b: b}
    deeply:
      nested:
      - quoted "property":
          path:
            fn::rotate::swap:
              inputs: {}
              state: {a: a, b: b}
"#;
    let overrides = Overrides {
        rotate: true,
        rotate_paths: vec![
            r#"examples["subscript-path"][0]"#.to_string(),
            r#"examples.deeply.nested[0]["quoted \"property\""].path"#.to_string(),
            // Prefixed with `values.` once more: selects nothing.
            "values.examples.not-rotated".to_string(),
        ],
        ..Overrides::default()
    };
    let got = run("case", text, &[], overrides).await;
    let tail: Vec<_> = got
        .lines()
        .filter(|l| l.starts_with("rotateJson") || l.starts_with("patch "))
        .collect();
    assert_eq!(
        tail,
        [
            r#"rotateJson: {"examples":{"deeply":{"nested":[{"quoted \"property\"":{"path":{"a":"b","b":"a"}}}]},"not-rotated":{"a":"a","b":"b"},"subscript-path":[{"a":"b","b":"a"}]}}"#,
            r#"patch values.examples.deeply.nested[0]["quoted \"property\""].path["fn::rotate::swap"].state: {"a":"b","b":"a"}"#,
            r#"patch values.examples["subscript-path"][0]["fn::rotate::swap"].state: {"a":"b","b":"a"}"#,
        ],
        "{got}"
    );
}

#[tokio::test]
async fn names_cut_inside_a_character() {
    // §2.1 quirk: whitespace is tested per byte, so the second byte of `à`
    // (0xA0) ends a name: `${à}` is the name "\xc3" and a missing `}`. The
    // reference quotes that string byte by byte and measures it in bytes
    // (1: no suggestion; "abc\xc3" is 4: "abcà" is close enough).
    check_texts(
        "values:\n  à: 1\n  abcà: 2\n  x: ${à}\n  y: ${abcà}\n",
        &[],
        r#"load: E missing closing brace '}' in interpolation @case values.x
load: E missing closing brace '}' in interpolation @case values.y
check: E unknown property "\xc3" @case values.x
check: E unknown property "abc\xc3"; did you mean "abcà"? @case values.y
eval: E unknown property "\xc3" @case values.x
eval: E unknown property "abc\xc3"; did you mean "abcà"? @case values.y
checkJson: {"abcà":2,"x":"[unknown]","y":"[unknown]","à":1}
evalJsonRedacted: {"abcà":2,"x":"[unknown]","y":"[unknown]","à":1}
evalJSONRevealed: {"abcà":2,"x":"[unknown]","y":"[unknown]","à":1}
"#,
    )
    .await;
}

/// The three JSON projection lines when check and eval agree and nothing is
/// secret.
fn same_json(values: &str) -> String {
    format!("checkJson: {values}\nevalJsonRedacted: {values}\nevalJSONRevealed: {values}\n")
}

/// `line` once for the check phase and once for eval (`check: ...`,
/// `eval: ...`), for diagnostics both phases report alike.
fn both_phases(lines: &[&str]) -> String {
    let mut text = String::new();
    for phase in ["check", "eval"] {
        for line in lines {
            text.push_str(&format!("{phase}: {line}\n"));
        }
    }
    text
}

#[tokio::test]
async fn non_mapping_documents_are_not_environments() {
    // §1.2: the document must be a mapping; the error is at the document
    // node (a block sequence from its first `-` to the end of its last
    // value; a scalar from its start, as long as its value), with the
    // root's empty path, and nothing is evaluated.
    let nothing = "checkJson: -\nevalJsonRedacted: -\nevalJSONRevealed: -\n";
    check(
        "- a\n",
        &format!("load: E environment must be an object @case 1:1(0)-1:4(3) \n{nothing}"),
    )
    .await;
    check(
        "hello\n",
        &format!("load: E environment must be an object @case 1:1(0)-1:6(5) \n{nothing}"),
    )
    .await;
}

#[tokio::test]
async fn empty_values_and_no_imports_evaluate_to_nothing() {
    // §5: no `values` entries and no `imports`: no output at all, also
    // when both keys are present but empty.
    let nothing = "checkJson: -\nevalJsonRedacted: -\nevalJSONRevealed: -\n";
    check("values: {}\n", nothing).await;
    check("imports: []\nvalues: {}\ndescription: x\n", nothing).await;
    // An import with nothing in it still makes an (empty) environment.
    check_texts("imports: [e]\n", &[("e", "values: {}\n")], &same_json("{}")).await;
}

#[tokio::test]
async fn import_names_are_verbatim() {
    // §1.3: a string item is the name as written: no interpolation and no
    // `$$` unescaping; the loader's text is reported at the name.
    check_texts(
        "imports:\n  - ${x}\n  - a$$b\nvalues:\n  v: 1\n",
        &[],
        &format!(
            "{}{}",
            both_phases(&[
                "E open testdata/eval/case/${x}.yaml: no such file or directory @case imports[0]",
                "E open testdata/eval/case/a$$b.yaml: no such file or directory @case imports[1]",
            ]),
            same_json(r#"{"v":1}"#)
        ),
    )
    .await;
}

#[tokio::test]
async fn imported_load_errors_skip_the_import_and_warnings_do_not() {
    // §1.3: the imported document's load diagnostics are appended to the
    // importer's (in the imported file); an error skips the import, a
    // warning does not. `foo` is 6 edits from both 'imports' and 'values':
    // the stable sort keeps their order.
    check_texts(
        "imports:\n  - bad\n  - warn\nvalues:\n  own: 1\n",
        &[
            ("bad", "values:\n  a: 1\n  b: ${x\n"),
            ("warn", "foo: 1\nvalues:\n  c: 1\n"),
        ],
        &format!(
            "{}{}",
            both_phases(&[
                "E missing closing brace '}' in interpolation @bad values.b",
                "W Field 'foo' does not exist on Object 'environment'. Existing fields are: 'imports', 'values', 'description' @warn foo",
            ]),
            same_json(r#"{"c":1,"own":1}"#)
        ),
    )
    .await;
}

#[tokio::test]
async fn imports_are_evaluated_in_the_roots_mode() {
    // §1.3: an import is checked in check mode (its opens are unknown) and
    // evaluated in eval mode.
    check_texts(
        "imports:\n  - a\nvalues:\n  r: ${o.x}\n",
        &[("a", "values:\n  o:\n    fn::open::test: {x: 1}\n")],
        r#"checkJson: {"o":"[unknown]","r":"[unknown]"}
evalJsonRedacted: {"o":{"x":1},"r":1}
evalJSONRevealed: {"o":{"x":1},"r":1}
"#,
    )
    .await;
}

#[tokio::test]
async fn import_cycles_through_another_environment() {
    // §1.3 (fixture import-cycle-2): `case` imports `a`, `a` imports `b`,
    // `b` imports `a` while `a` is in progress: the error is in `b` at the
    // name (line 2 starts at byte 9; the name at column 5), `b` goes on
    // without it.
    check_with(
        "imports:\n  - a\n",
        &[
            ("a", "imports:\n  - b\nvalues:\n  a: 1\n"),
            ("b", "imports:\n  - a\nvalues:\n  b: 1\n"),
        ],
        &format!(
            "{}{}",
            both_phases(&["E cyclic import of a @b 2:5(13)-2:6(14) imports[0]"]),
            same_json(r#"{"a":1,"b":1}"#)
        ),
    )
    .await;
}

#[tokio::test]
async fn merging_replaces_everything_but_objects() {
    // §1.3: object over object merges key by key; anything else replaces
    // (arrays never concatenate, `null` is a value and deletes nothing);
    // own > later imports > earlier imports; `imports.NAME` is the import's
    // own value, untouched by the merge.
    check_texts(
        "imports:\n  - a\n  - b\nvalues:\n  arr: [3]\n  obj: null\n  scalar: {x: 1}\n  orig: ${imports.a.obj}\n",
        &[
            (
                "a",
                "values:\n  arr: [1, 2]\n  obj: {a: 1}\n  scalar: s\n  only_a: 1\n  shared: a\n  nested: {k: a, l: a}\n",
            ),
            ("b", "values:\n  shared: b\n  nested: {k: b}\n"),
        ],
        &same_json(
            r#"{"arr":[3],"nested":{"k":"b","l":"a"},"obj":null,"only_a":1,"orig":{"a":1},"scalar":{"x":1},"shared":"b"}"#,
        ),
    )
    .await;
}

#[tokio::test]
async fn unknowns_are_opaque_when_merging() {
    // §1.3 (fixture import-merge-2): an unknown top hides its base's keys;
    // a known object over an unknown base shows only its own keys (check
    // mode, where the import's open is unknown), the union once known.
    // §2.2: a key missing from an object whose base may be an object is
    // looked up in the base: unknown in check mode, no error.
    check_texts(
        "imports:\n  - a\nvalues:\n  o:\n    own: 1\n  u:\n    fn::open::test: {x: 1}\n  r: ${o.base}\n",
        &[(
            "a",
            "values:\n  o:\n    fn::open::test: {base: 1}\n  u:\n    hidden: 1\n",
        )],
        r#"checkJson: {"o":{"own":1},"r":"[unknown]","u":"[unknown]"}
evalJsonRedacted: {"o":{"base":1,"own":1},"r":1,"u":{"hidden":1,"x":1}}
evalJSONRevealed: {"o":{"base":1,"own":1},"r":1,"u":{"hidden":1,"x":1}}
"#,
    )
    .await;
}

#[tokio::test]
async fn environments_is_a_reserved_key_too() {
    // §1.4: `imports`, `context` and `environments` are reserved at the
    // top of `values`: an error at the key (path of its entry), the entry
    // dropped; deeper down they are ordinary keys.
    check(
        "values:\n  environments: 1\n  a:\n    environments: 2\n",
        &format!(
            "{}{}",
            both_phases(&[
                r#"E "environments" is a reserved key @case 2:3(10)-2:15(22) values.environments"#
            ]),
            same_json(r#"{"a":{"environments":2}}"#)
        ),
    )
    .await;
}

#[tokio::test]
async fn nested_keys_go_through_the_string_parser() {
    // §1.4 (fixture escape-keys): top-level keys are verbatim, nested keys
    // are parsed: `$$` is `$`, and a lone `$` stays.
    check(
        "values:\n  a$$b: 1\n  n:\n    c$$d: 2\n    \"$${x}\": 3\n    e$: 4\n",
        &same_json(r#"{"a$$b":1,"n":{"${x}":3,"c$d":2,"e$":4}}"#),
    )
    .await;
}

#[tokio::test]
async fn nested_keys_with_accesses_are_dropped() {
    // §1.4 (fixture invalid-object-key): a nested key that parses as a
    // reference or an interpolation: `object keys must be strings` at the
    // key (a quoted key from its quote, as long as its decoded text), the
    // entry dropped.
    check(
        "values:\n  x: 1\n  b:\n    ${x}: 1\n    \"a ${x}\": 2\n",
        &format!(
            r#"load: E object keys must be strings @case 4:5(24)-4:9(28) values.b["${{x}}"]
load: E object keys must be strings @case 5:5(36)-5:11(42) values.b["a ${{x}}"]
{}"#,
            same_json(r#"{"b":{},"x":1}"#)
        ),
    )
    .await;
}

#[tokio::test]
async fn top_level_builtin_keys_are_errors_but_still_evaluated() {
    // §1.4: a `fn::` key at the top of `values` is an error at the key
    // (path of its entry); the entry is parsed and evaluated as an ordinary
    // property.
    check_texts(
        "values:\n  fn::secret: x\n  a: 1\n",
        &[],
        &format!(
            "load: E builtin function call \"fn::secret\" not allowed at the top level @case values[\"fn::secret\"]\n{}",
            same_json(r#"{"a":1,"fn::secret":"x"}"#)
        ),
    )
    .await;
}

#[tokio::test]
async fn context_names_the_root_in_every_environment() {
    // §2.2 (fixture context-interpolation): each environment sees its own
    // name as currentEnvironment and the root's as rootEnvironment.
    check_texts(
        "imports:\n  - a\nvalues:\n  root: ${context.currentEnvironment.name}-${context.rootEnvironment.name}\n",
        &[(
            "a",
            "values:\n  a: ${context.currentEnvironment.name}-${context.rootEnvironment.name}-${context.pulumi.user.id}\n",
        )],
        &same_json(r#"{"a":"a-case-USER_123","root":"case-case"}"#),
    )
    .await;
}

#[tokio::test]
async fn inline_references() {
    // §2.2: `${environments.P.E...}` loads `P/E` (names or string
    // subscripts); three accessors give the whole environment; an integer
    // for P or E is an object-with-integer error; fewer than three
    // accessors are silently unknown; nothing is merged into the root.
    check_texts(
        "values:\n  whole: ${environments.p.e}\n  keyed: ${environments[\"p\"][\"e\"].x}\n  bad: ${environments.p[0].x}\n  short: ${environments.p}\n",
        &[("p/e", "values:\n  x: 1\n  y: 2\n")],
        &format!(
            "{}{}",
            both_phases(&[
                "E cannot access an object property using an integer index @case values.bad"
            ]),
            same_json(
                r#"{"bad":"[unknown]","keyed":1,"short":"[unknown]","whole":{"x":1,"y":2}}"#
            )
        ),
    )
    .await;
}

#[tokio::test]
async fn opens_fail_skip_and_keep_secrets() {
    // §3 fn::open (fixture open-unknown): a provider error is reported in
    // eval mode only (check never opens), verbatim, at the call; inputs
    // with an unknown are not opened (no `testing` for `n`); without a
    // provider name the inputs are not evaluated (no error for `nope2`);
    // secret inputs stay secret when echoed.
    check_texts(
        "values:
  e: {fn::open::error: {why: testing}}
  n: {fn::open::error: {why: \"${nope}\"}}
  np:
    fn::open:
      inputs: ${nope2}
  s: {fn::open::test: {a: {fn::secret: x}, b: 1}}
",
        &[],
        r#"load: E missing provider name ('provider') @case values.np["fn::open"]
check: E unknown property "nope" @case values.n["fn::open::error"].why
eval: E testing @case values.e
eval: E unknown property "nope" @case values.n["fn::open::error"].why
checkJson: {"e":"[unknown]","n":"[unknown]","np":"[unknown]","s":"[unknown]"}
evalJsonRedacted: {"e":"[unknown]","n":"[unknown]","np":"[unknown]","s":{"a":"[secret]","b":1}}
evalJSONRevealed: {"e":"[unknown]","n":"[unknown]","np":"[unknown]","s":{"a":"x","b":1}}
"#,
    )
    .await;
}

#[tokio::test]
async fn secret_flags_through_builtins_and_references() {
    // §3/§4: plaintext secrets unescape `$$`; a ciphertext mapping with
    // another key follows the plaintext rule (an error, the secret ""); a
    // split of a secret flags only the array, a concat only the whole (the
    // elements keep their own flags); fromJSON of a secret is deep secret;
    // an interpolation with a secret is secret.
    let text = r#"values:
  p: {fn::secret: pa$$word}
  c: {fn::secret: {ciphertext: ZXNjeAAAAAHo9e705fKyKo30VQ==, extra: 1}}
  sp: {fn::split: [",", {fn::secret: "a,b"}]}
  sp0: ${sp[0]}
  cc: {fn::concat: [[1], [{fn::secret: x}]]}
  cc0: ${cc[0]}
  fj: {fn::fromJSON: {fn::secret: '{"a":{"b":[1,"x"]}}'}}
  fj0: ${fj.a.b[0]}
  t: "x${p}"
"#;
    let redacted = r#"{"c":"[secret]","cc":"[secret]","cc0":1,"fj":"[secret]","fj0":"[secret]","p":"[secret]","sp":"[secret]","sp0":"a","t":"[secret]"}"#;
    check_texts(
        text,
        &[],
        &format!(
            "load: E secret values must be string literals @case values.c[\"fn::secret\"]\ncheckJson: {redacted}\nevalJsonRedacted: {redacted}\nevalJSONRevealed: {}\n",
            r#"{"c":"","cc":[1,"x"],"cc0":1,"fj":{"a":{"b":[1,"x"]}},"fj0":1,"p":"pa$word","sp":["a","b"],"sp0":"a","t":"xpa$word"}"#
        ),
    )
    .await;
}

#[tokio::test]
async fn ciphertext_envelope_checks_in_order() {
    // §3 envelope: "escx" ‖ u32 BE version ‖ ciphertext ‖ CRC-32/IEEE.
    // `good` is rot128("abcd") in a version-1 envelope; `badcrc` flips the
    // checksum's last bit; `v2` is version 2 with a right checksum, `v2bad`
    // with a wrong one (checksum before version); `short` holds a 3-byte
    // ciphertext: 15 bytes in all, under 16, so `EOF` (the quirk); `magic`
    // starts "escy".
    let text = "values:
  good: {fn::secret: {ciphertext: ZXNjeAAAAAHh4uPk9r66Vg==}}
  badcrc: {fn::secret: {ciphertext: ZXNjeAAAAAHh4uPk9r66Vw==}}
  v2: {fn::secret: {ciphertext: ZXNjeAAAAALh4uPksR7Ahg==}}
  v2bad: {fn::secret: {ciphertext: ZXNjeAAAAALh4uPksR7Ahw==}}
  short: {fn::secret: {ciphertext: ZXNjeAAAAAHh4uMI9n0X}}
  magic: {fn::secret: {ciphertext: ZXNjeQAAAAFhYmNkO5IYxQ==}}
";
    let all_secret = r#"{"badcrc":"[secret]","good":"[secret]","magic":"[secret]","short":"[secret]","v2":"[secret]","v2bad":"[secret]"}"#;
    check_texts(
        text,
        &[],
        &format!(
            "{}checkJson: {all_secret}\nevalJsonRedacted: {all_secret}\nevalJSONRevealed: {}\n",
            both_phases(&[
                "E invalid ciphertext: invalid checksum @case values.badcrc",
                "E invalid ciphertext: invalid header @case values.magic",
                "E invalid ciphertext: EOF @case values.short",
                "E invalid ciphertext: unsupported version @case values.v2",
                "E invalid ciphertext: invalid checksum @case values.v2bad",
            ]),
            r#"{"badcrc":"[unknown]","good":"abcd","magic":"[unknown]","short":"[unknown]","v2":"[unknown]","v2bad":"[unknown]"}"#
        ),
    )
    .await;
}

#[tokio::test]
async fn show_secrets_decrypts_in_check_mode() {
    // §3 fn::secret (fixture ciphertext-show-secrets): with `showSecrets`
    // check mode decrypts: known and secret.
    let text =
        "values:\n  p: {fn::secret: {ciphertext: ZXNjeAAAAAHo9e705fKyKo30VQ==}}\n  q: ${p}\n";
    let overrides = Overrides {
        show_secrets: true,
        ..Overrides::default()
    };
    let got = run("case", text, &[], overrides).await;
    assert_eq!(
        got,
        r#"checkJson: {"p":"[secret]","q":"[secret]"}
evalJsonRedacted: {"p":"[secret]","q":"[secret]"}
evalJSONRevealed: {"p":"hunter2","q":"hunter2"}
"#
    );
    // Without it the check-mode value is unknown (and secret): the same
    // redacted projection, but an unknown is only checked for its type
    // (§6.3) where a known value is fully validated (§6.2).
    let text = "values:\n  p: {fn::secret: {ciphertext: ZXNjeAAAAAHo9e705fKyKo30VQ==}}\n  v: {fn::validate: {schema: {type: string, maxLength: 1}, value: \"${p}\"}}\n";
    for show_secrets in [false, true] {
        let overrides = Overrides {
            show_secrets,
            ..Overrides::default()
        };
        let got = run("case", text, &[], overrides).await;
        let check: Vec<_> = got.lines().filter(|l| l.starts_with("check")).collect();
        let mut expected = vec![];
        if show_secrets {
            expected.push(r#"check: E expected a string of at most length 1 @case 3:67(136)-3:71(140) values.v["fn::validate"].value"#);
        }
        expected.push(r#"checkJson: {"p":"[secret]","v":"[secret]"}"#);
        assert_eq!(check, expected, "{got}");
    }
}

#[tokio::test]
async fn rotate_only_inputs_by_mode() {
    // §5.1 (fixture inline-reference-rotateOnly): `echo`'s `next` is
    // rotate-only. The root's is evaluated in check and rotate modes, not
    // in eval (so its failing inline reference is reported there only); an
    // import's is never evaluated. `fn::open` inputs are always evaluated.
    // Eval: the skipped input is an unknown that does not count, so echo
    // opens and returns its (absent) state `{}`; rotate: the root's input
    // is an observable unknown, so the call is unknown and nothing is
    // rotated (no patch).
    let text = "imports:
  - imp
values:
  r:
    fn::rotate::echo:
      inputs:
        next: ${environments.fake.inaccessible1.x}
  o:
    fn::open::test:
      x: ${environments.fake.inaccessible3.x}
";
    let imp = "values:
  ri:
    fn::rotate::echo:
      inputs:
        next: ${environments.fake.inaccessible2.x}
";
    let overrides = Overrides {
        rotate: true,
        ..Overrides::default()
    };
    let got = run("case", text, &[("imp", imp)], overrides).await;
    let open1 = "open testdata/eval/case/fake/inaccessible1.yaml: no such file or directory";
    let open3 = "open testdata/eval/case/fake/inaccessible3.yaml: no such file or directory";
    let at_o = r#"@case 10:10(151)-10:46(187) values.o["fn::open::test"].x"#;
    let at_r = r#"@case 7:15(80)-7:51(116) values.r["fn::rotate::echo"].inputs.next"#;
    assert_eq!(
        got,
        format!(
            r#"check: E {open3} {at_o}
check: E {open1} {at_r}
eval: E {open3} {at_o}
rotate: E {open3} {at_o}
rotate: E {open1} {at_r}
checkJson: {{"o":"[unknown]","r":"[unknown]","ri":"[unknown]"}}
evalJsonRedacted: {{"o":"[unknown]","r":{{}},"ri":{{}}}}
evalJSONRevealed: {{"o":"[unknown]","r":{{}},"ri":{{}}}}
rotateJson: {{"o":"[unknown]","r":"[unknown]","ri":{{}}}}
"#
        )
    );
}

#[tokio::test]
async fn final_values_in_imports_and_unevaluated_overrides() {
    // §3 fn::final: the override of a final value is not evaluated (no
    // error for `${nope}`); finality is not checked when imports merge
    // over each other (`g`); only object members have bases, so a final
    // array element under a replaced array warns nothing.
    check_texts(
        "imports:\n  - a\n  - b\nvalues:\n  f: ${nope}\n  arr: [2]\n",
        &[
            (
                "a",
                "values:\n  f: {fn::final: 1}\n  g: {fn::final: 1}\n  arr: [{fn::final: 1}]\n",
            ),
            ("b", "values:\n  g: 2\n"),
        ],
        &format!(
            "{}{}",
            both_phases(&["W cannot override final value @case values.f"]),
            same_json(r#"{"arr":[2],"f":1,"g":2}"#)
        ),
    )
    .await;
}

#[tokio::test]
async fn cycles_are_reported_at_the_reentered_expression() {
    // §2.4: accesses walk definitions, so a sibling reference enters the
    // member, not its object: `a.p` -> `a.q` -> `a.p` re-enters `a.p`;
    // array elements are paths too. One error per cycle, every member on
    // it unknown.
    check(
        "values:\n  a:\n    p: ${a.q}\n    q: ${a.p}\n  c: [\"${c[1]}\", \"${c[0]}\"]\n",
        &format!(
            "{}{}",
            both_phases(&[
                "E cyclic reference to a.p @case 3:8(20)-3:14(26) values.a.p",
                "E cyclic reference to c[0] @case 5:7(47)-5:14(54) values.c[0]",
            ]),
            same_json(r#"{"a":{"p":"[unknown]","q":"[unknown]"},"c":["[unknown]","[unknown]"]}"#)
        ),
    )
    .await;
}

#[tokio::test]
async fn members_evaluate_in_byte_order() {
    // §2.4: object members (the root's too) run in byte-sorted key order,
    // so their errors come in that order: `B` < `a` < `b`, `n.Z` < `n.y`.
    check_texts(
        "values:\n  b: ${x1}\n  a: ${x2}\n  B: ${x3}\n  n:\n    y: ${x4}\n    Z: ${x5}\n",
        &[],
        &format!(
            "{}{}",
            both_phases(&[
                r#"E unknown property "x3" @case values.B"#,
                r#"E unknown property "x2" @case values.a"#,
                r#"E unknown property "x1" @case values.b"#,
                r#"E unknown property "x5" @case values.n.Z"#,
                r#"E unknown property "x4" @case values.n.y"#,
            ]),
            same_json(
                r#"{"B":"[unknown]","a":"[unknown]","b":"[unknown]","n":{"Z":"[unknown]","y":"[unknown]"}}"#
            )
        ),
    )
    .await;
}

#[tokio::test]
async fn lookups_continue_in_the_base_and_suggest_from_there() {
    // §2.2: a key missing from an object is looked up in its base; the
    // suggestion comes from the keys of the object where the lookup failed
    // (the base): `xyy` is 1 edit from the base's `xyz`, `abd` gets none
    // although it is 1 edit from the own `abc`.
    check_texts(
        "imports:\n  - a\nvalues:\n  o:\n    abc: 1\n  m1: ${o.xyy}\n  m2: ${o.abd}\n  m3: ${o.xyz}\n",
        &[("a", "values:\n  o:\n    xyz: 2\n")],
        &format!(
            "{}{}",
            both_phases(&[
                r#"E unknown property "xyy"; did you mean "xyz"? @case values.m1"#,
                r#"E unknown property "abd" @case values.m2"#,
            ]),
            same_json(r#"{"m1":"[unknown]","m2":"[unknown]","m3":2,"o":{"abc":1,"xyz":2}}"#)
        ),
    )
    .await;
}

#[tokio::test]
async fn references_keep_types_and_interpolations_make_strings() {
    // §1.5/§2.3 and pitfall 1: a whole-string reference keeps the target's
    // type; any text around it (a space) makes a string of string forms:
    // null is empty, bools and numbers their text (numbers as decoded).
    check(
        "values:\n  nul: null\n  t: true\n  num: 1.50\n  r: ${num}\n  rn: ${nul}\n  s: \" ${num}\"\n  n: \"a${nul}b${t}c${num}\"\n",
        &same_json(
            r#"{"n":"abtruec1.5","nul":null,"num":1.5,"r":1.5,"rn":null,"s":" 1.5","t":true}"#,
        ),
    )
    .await;
}

#[tokio::test]
async fn to_json_escapes_like_go() {
    // §3 fn::toJSON: Go's encoding/json: `<`, `>`, `&`, U+2028/2029 as
    // \u escapes, \b \f \n \r \t \" \\ by name, other control bytes \u00XX;
    // a number text JSON cannot carry (`.inf`) fails the call.
    let got = run(
        "case",
        "values:\n  tj: {fn::toJSON: {a: \"<>&\", b: \"\\u2028\\u2029\", c: \"\\x01\\t\\b\\f\\n\\r\\\"\\\\\"}}\n  inf: {fn::toJSON: [.inf]}\n",
        &[],
        Overrides::default(),
    )
    .await;
    let eval: Vec<_> = got
        .lines()
        .filter(|l| l.starts_with("eval"))
        .map(|l| match l.split_once(" @") {
            Some((head, rest)) => format!("{head} {}", rest.rsplit(' ').next().unwrap()),
            None => l.to_string(),
        })
        .collect();
    // The projection quotes that JSON text once more (only `\` and `"` in
    // it need escaping).
    let inner = r#"{"a":"\u003c\u003e\u0026","b":"\u2028\u2029","c":"\u0001\t\b\f\n\r\"\\"}"#;
    let quoted = inner.replace('\\', "\\\\").replace('"', "\\\"");
    let value = format!(r#"{{"inf":"[unknown]","tj":"{quoted}"}}"#);
    assert_eq!(
        eval,
        [
            r#"eval: E failed to encode JSON: json: invalid number literal "+Inf" values.inf"#
                .to_string(),
            format!("evalJsonRedacted: {value}"),
            format!("evalJSONRevealed: {value}"),
        ],
        "{got}"
    );
}

#[tokio::test]
async fn validate_follows_the_schema_rules() {
    // §3 fn::validate with §6.1/§6.2: the result is always the value.
    // const compares number texts (`1.0` from fromJSON is not `1`); a
    // one-member enum reads like a const; oneOf: two passes -> `may`, none
    // -> branch errors then `must`; `$ref` only into `$defs` (an unknown
    // one is an invalid schema, at the schema); lengths in bytes (`é` is
    // 2); patterns unanchored; multipleOf by exact decimals; missing
    // required names, then dependentRequired ones; `type: ""` is any;
    // extra items under `items: false` and a short tuple pass silently, as
    // does the `false` schema; an unknown (check-mode open, output schema
    // `true`) is only checked for compatibility.
    let text = r##"values:
  c1: {fn::validate: {schema: {const: 1}, value: {fn::fromJSON: "1.0"}}}
  c2: {fn::validate: {schema: {const: 1}, value: {fn::fromJSON: "1"}}}
  e1: {fn::validate: {schema: {enum: [a]}, value: b}}
  e2: {fn::validate: {schema: {enum: [a, 1]}, value: b}}
  f1: {fn::validate: {schema: false, value: 1}}
  m1: {fn::validate: {schema: {multipleOf: 0.1}, value: 0.3}}
  m2: {fn::validate: {schema: {multipleOf: 0.1}, value: 0.35}}
  mv: {fn::validate: {schema: true}}
  o1: {fn::validate: {schema: {oneOf: [{type: string}, {minLength: 1}]}, value: ab}}
  o2: {fn::validate: {schema: {oneOf: [{type: number}, {type: boolean}]}, value: ab}}
  q1: {fn::validate: {schema: {type: object, required: [a, b], dependentRequired: {c: [d]}}, value: {c: 1}}}
  r1: {fn::validate: {schema: {$ref: "#/$defs/x"}, value: 1}}
  r2: {fn::validate: {schema: {$defs: {x: {type: string}}, $ref: "#/$defs/x"}, value: 1}}
  s1: {fn::validate: {schema: {type: string, maxLength: 1}, value: é}}
  s2: {fn::validate: {schema: {pattern: "b+"}, value: abbc}}
  t1: {fn::validate: {schema: {type: ""}, value: 1}}
  t2: {fn::validate: {schema: {prefixItems: [{type: string}], items: false, uniqueItems: true}, value: [a, a]}}
  t3: {fn::validate: {schema: {prefixItems: [{type: string}, {type: number}]}, value: [a]}}
  u1: {fn::validate: {schema: {type: string}, value: {fn::open::test: {x: 1}}}}
"##;
    let diags = [
        r#"E expected 1 @case values.c1["fn::validate"].value"#,
        r#"E expected "a" @case values.e1["fn::validate"].value"#,
        r#"E expected one of ["a",1] @case values.e2["fn::validate"].value"#,
        r#"E expected a multiple of 0.1 @case values.m2["fn::validate"].value"#,
        r#"E exactly one subschema may match @case values.o1["fn::validate"].value"#,
        r#"E expected number, got string @case values.o2["fn::validate"].value"#,
        r#"E expected boolean, got string @case values.o2["fn::validate"].value"#,
        r#"E exactly one subschema must match @case values.o2["fn::validate"].value"#,
        r#"E missing required properties: a, b, d @case values.q1["fn::validate"].value"#,
        r#"E invalid schema: unknown subschema #/$defs/x @case values.r1["fn::validate"].schema"#,
        r#"E expected string, got number @case values.r2["fn::validate"].value"#,
        r#"E expected a string of at most length 1 @case values.s1["fn::validate"].value"#,
    ];
    let mut expected = String::from(
        "load: E missing required property 'value' @case values.mv[\"fn::validate\"]\n",
    );
    for d in diags {
        expected.push_str(&format!("check: {d}\n"));
    }
    for d in diags {
        expected.push_str(&format!("eval: {d}\n"));
        if d.contains("values.s1") {
            expected.push_str(
                "eval: E expected string, got object @case values.u1[\"fn::validate\"].value\n",
            );
        }
    }
    let common = r#""c1":1.0,"c2":1,"e1":"b","e2":"b","f1":1,"m1":0.3,"m2":0.35,"mv":"[unknown]","o1":"ab","o2":"ab","q1":{"c":1},"r1":1,"r2":1,"s1":"é","s2":"abbc","t1":1,"t2":["a","a"],"t3":["a"]"#;
    expected.push_str(&format!(
        "checkJson: {{{common},\"u1\":\"[unknown]\"}}\nevalJsonRedacted: {{{common},\"u1\":{{\"x\":1}}}}\nevalJSONRevealed: {{{common},\"u1\":{{\"x\":1}}}}\n"
    ));
    check_texts(text, &[], &expected).await;
}

#[tokio::test]
async fn values_defined_nowhere_are_blamed_without_a_range() {
    // §3 fn::secret: an invalid plaintext evaluates to the secret "",
    // defined nowhere in the text (§9: a zero range); a validation error
    // blaming it (§6.2) has no range and the empty path, as the
    // reference's error on a synthetic node. Found by the evaluator
    // property test (it reported line 0). The concat is unknown (a type
    // error) and secret (its argument holds a secret).
    check(
        "values:\n  k1: {fn::open::error: {fn::secret: [x]}}\n  k4: {fn::concat: [{fn::secret: [1]}]}\n",
        &format!(
            r#"load: E secret values must be string literals @case 2:38(45)-2:40(47) values.k1["fn::open::error"]["fn::secret"]
load: E secret values must be string literals @case 3:34(84)-3:36(86) values.k4["fn::concat"][0]["fn::secret"]
{}checkJson: {{"k1":"[unknown]","k4":"[secret]"}}
evalJsonRedacted: {{"k1":"[unknown]","k4":"[secret]"}}
evalJSONRevealed: {{"k1":"[unknown]","k4":"[unknown]"}}
"#,
            both_phases(&[
                "E expected object, got string @- ",
                "E expected array, got string @- ",
            ])
        ),
    )
    .await;
}

#[tokio::test]
async fn digit_leading_keys_are_never_selected_for_rotation() {
    // §5.2 quirk: a rotate path's segment of [A-Za-z0-9_] stays bare
    // (`values.1a`) while the document path brackets a digit-leading key
    // (`values["1a"]`): the call is never selected, so it only opens;
    // `z1` is selected and rotated.
    let text = "values:\n  \"1a\":\n    fn::rotate::swap: {inputs: {}, state: {a: x, b: y}}\n  z1:\n    fn::rotate::swap: {inputs: {}, state: {a: x, b: y}}\n";
    let overrides = Overrides {
        rotate: true,
        rotate_paths: vec!["1a".to_string(), "z1".to_string()],
        ..Overrides::default()
    };
    let got = run("case", text, &[], overrides).await;
    let tail: Vec<_> = got
        .lines()
        .filter(|l| l.starts_with("rotate") || l.starts_with("patch "))
        .collect();
    assert_eq!(
        tail,
        [
            r#"rotateJson: {"1a":{"a":"x","b":"y"},"z1":{"a":"y","b":"x"}}"#,
            r#"patch values.z1["fn::rotate::swap"].state: {"a":"y","b":"x"}"#,
        ],
        "{got}"
    );
}

#[tokio::test]
async fn indentless_sequences_start_at_their_dash() {
    // §1.1: a block sequence starts at its first `-`, also when it sits at
    // its key's indentation; it ends where its last value ends. Found by
    // the evaluator property test (`values:\n- ` ran from column 3 to 2).
    let nothing = "checkJson: -\nevalJsonRedacted: -\nevalJSONRevealed: -\n";
    check(
        "values:\n- a\n- bc\n",
        &format!("load: E values must be an object @case 2:1(8)-3:5(16) values\n{nothing}"),
    )
    .await;
}

#[tokio::test]
async fn other_argument_keys_are_ignored_and_context_is_an_object() {
    // §3: fn::open (and fn::rotate, fn::validate) ignore keys other than
    // their own: not evaluated, so `${nope}` there reports nothing; a
    // rotate without `state` has state null (swap opens to `{}`). §2.2:
    // `${context}` is the execution context with the two added names.
    let ctx = r#"{"currentEnvironment":{"name":"case"},"pulumi":{"user":{"id":"USER_123"}},"rootEnvironment":{"name":"case"}}"#;
    check_texts(
        "values:\n  o: {fn::open: {provider: test, inputs: {a: 1}, extra: \"${nope}\"}}\n  r: {fn::rotate: {provider: swap, inputs: {}, extra: \"${nope}\"}}\n  v: {fn::validate: {schema: {type: number}, value: 1, extra: \"${nope}\"}}\n  ctx: ${context}\n",
        &[],
        &format!(
            "checkJson: {{\"ctx\":{ctx},\"o\":\"[unknown]\",\"r\":\"[unknown]\",\"v\":1}}\nevalJsonRedacted: {{\"ctx\":{ctx},\"o\":{{\"a\":1}},\"r\":{{}},\"v\":1}}\nevalJSONRevealed: {{\"ctx\":{ctx},\"o\":{{\"a\":1}},\"r\":{{}},\"v\":1}}\n"
        ),
    )
    .await;
}

#[tokio::test]
async fn show_secrets_reaches_imports() {
    // §1.3/§3: imports are checked in the root's mode, `showSecrets`
    // included: an imported ciphertext is decrypted (so fully validated)
    // only when it is set.
    let text = "imports:\n  - a\nvalues:\n  v: {fn::validate: {schema: {type: string, maxLength: 1}, value: \"${p}\"}}\n";
    let a = "values:\n  p: {fn::secret: {ciphertext: ZXNjeAAAAAHo9e705fKyKo30VQ==}}\n";
    for show_secrets in [false, true] {
        let overrides = Overrides {
            show_secrets,
            ..Overrides::default()
        };
        let got = run("case", text, &[("a", a)], overrides).await;
        let check: Vec<_> = got.lines().filter(|l| l.starts_with("check")).collect();
        let mut expected = vec![];
        if show_secrets {
            expected.push(r#"check: E expected a string of at most length 1 @case 4:67(89)-4:71(93) values.v["fn::validate"].value"#);
        }
        expected.push(r#"checkJson: {"p":"[secret]","v":"[secret]"}"#);
        assert_eq!(check, expected, "{got}");
    }
}

#[tokio::test]
async fn string_forms_flag_only_what_they_visit() {
    // §2.3 quirk: an object's string form uses its own keys only and its
    // unknown/secret flags are ORed over what was visited, so an inherited
    // secret (or check-mode unknown) member leaves toString and
    // interpolations plain; toJSON uses the merged keys and is secret (and
    // unknown in check mode).
    check_texts(
        "imports:\n  - a\nvalues:\n  o:\n    p: 1\n  t: {fn::toString: \"${o}\"}\n  j: {fn::toJSON: \"${o}\"}\n  i: \"x${o}\"\n",
        &[(
            "a",
            "values:\n  o:\n    s: {fn::secret: hidden}\n    u: {fn::open::test: 1}\n",
        )],
        r#"checkJson: {"i":"x\"p\"=\"1\"","j":"[secret]","o":{"p":1,"s":"[secret]","u":"[unknown]"},"t":"\"p\"=\"1\""}
evalJsonRedacted: {"i":"x\"p\"=\"1\"","j":"[secret]","o":{"p":1,"s":"[secret]","u":1},"t":"\"p\"=\"1\""}
evalJSONRevealed: {"i":"x\"p\"=\"1\"","j":"{\"p\":1,\"s\":\"hidden\",\"u\":1}","o":{"p":1,"s":"hidden","u":1},"t":"\"p\"=\"1\""}
"#,
    )
    .await;
}
