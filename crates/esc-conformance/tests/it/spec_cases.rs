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
