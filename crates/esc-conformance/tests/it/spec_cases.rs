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
    // string that does not parse reports its parse error only.
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
