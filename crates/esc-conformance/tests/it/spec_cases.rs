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
