//! Properties of the evaluator on generated definitions: no definition
//! panics load, check, eval or rotate (with an import that may import the
//! root back); every diagnostic with a range names a document of the run
//! and starts inside it; load diagnostics are not repeated later; a second
//! run gives the same listing.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use esc_conformance::providers::{CaseLoader, Rot128, TestProviders};
use esc_conformance::{CaseOutput, Overrides, fixture_context, print_case, run_text};
use esc_eval::{Limits, Session};
use proptest::prelude::*;

/// 256 cases a property unless `PROPTEST_CASES` says otherwise.
fn config() -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(256);
    ProptestConfig {
        cases,
        ..ProptestConfig::default()
    }
}

/// Scalars in flow style: literals, references into the generated keys,
/// the other roots (`imports`, `context`, `environments`), malformed
/// accesses and escapes.
fn scalar() -> impl Strategy<Value = String> {
    prop::sample::select(vec![
        "1",
        "-2.5",
        ".inf",
        "null",
        "true",
        "\"\"",
        "abc",
        "\"a,b\"",
        "\"{\\\"k\\\": [1, \\\"x\\\"]}\"",
        "aGk=",
        "ZXNjeAAAAAHo9e705fKyKo30VQ==",
        "hunter23",
        "swap",
        "test",
        "\"${k1}\"",
        "\"${k2.x}\"",
        "\"${k3[0]}\"",
        "\"${k1.x[1].y}\"",
        "\"x ${k2} y ${k3.x}\"",
        "\"${imports.a}\"",
        "\"${imports.a.k1}\"",
        "\"${a1}\"",
        "\"${context.rootEnvironment.name}\"",
        "\"${context.pulumi.user}\"",
        "\"${environments.p.e.x}\"",
        "\"${environments.p.e}\"",
        "\"${environments.p}\"",
        "\"${environments.p[0].x}\"",
        "\"${environments.case.a.x}\"",
        "\"${\"",
        "\"${k1[}\"",
        "\"${k1[\\\"}\"",
        "\"${[0]}\"",
        "\"${k1..x}\"",
        "\"${}\"",
        "\"$${k1}\"",
        "\"${k1} à ${k2}\"",
        "\"${à}\"",
        "日本${k1}",
        "'${k2} it''s'",
        "\"\\t${k3}\\u00e9\"",
        "é${k1.x}",
    ])
    .prop_map(str::to_owned)
}

/// Builtin call heads (some malformed or unknown).
const CALLS: &[&str] = &[
    "fn::open::test",
    "fn::open::secret-wrapper",
    "fn::open::error",
    "fn::open::schema",
    "fn::open::nope",
    "fn::open",
    "fn::rotate::swap",
    "fn::rotate::echo",
    "fn::rotate",
    "fn::secret",
    "fn::join",
    "fn::split",
    "fn::concat",
    "fn::toJSON",
    "fn::fromJSON",
    "fn::toString",
    "fn::toBase64",
    "fn::fromBase64",
    "fn::final",
    "fn::validate",
    "fn::bogus",
    "FN::secret",
];

/// Keys of generated objects: the referenced ones, argument names of the
/// builtins, and odd ones.
const KEYS: &[&str] = &[
    "k1",
    "k2",
    "k3",
    "x",
    "y",
    "provider",
    "inputs",
    "state",
    "ciphertext",
    "schema",
    "value",
    "why",
    "next",
    "a",
    "b",
    "type",
    "items",
    "prefixItems",
    "properties",
    "required",
    "$ref",
    "\"${k1}\"",
    "c$$d",
];

/// Flow-style expressions: scalars, arrays, objects and builtin calls.
fn expr() -> impl Strategy<Value = String> {
    expr_from(scalar().boxed(), CALLS)
}

/// Flow-style expressions over the given leaves and call heads.
fn expr_from(
    leaves: BoxedStrategy<String>,
    calls: &'static [&'static str],
) -> impl Strategy<Value = String> {
    leaves.prop_recursive(4, 24, 4, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4)
                .prop_map(|items| format!("[{}]", items.join(", "))),
            prop::collection::vec((prop::sample::select(KEYS), inner.clone()), 0..4).prop_map(
                |entries| {
                    let body: Vec<_> = entries.iter().map(|(k, v)| format!("{k}: {v}")).collect();
                    format!("{{{}}}", body.join(", "))
                }
            ),
            (prop::sample::select(calls), inner)
                .prop_map(|(call, arg)| format!("{{{call}: {arg}}}")),
        ]
    })
}

/// A definition: optional imports, then `values` with some of `k1`..`k3`
/// (and a block-style member, so block positions are exercised too).
fn definition(imports: &'static [&'static str]) -> impl Strategy<Value = String> {
    (
        prop::sample::subsequence(imports.to_vec(), 0..=imports.len()),
        prop::collection::vec(
            (
                prop::sample::select(vec!["k1", "k2", "k3", "a1", "fn::x"]),
                expr(),
            ),
            0..5,
        ),
        prop::option::of(expr()),
    )
        .prop_map(|(imports, values, block)| {
            let mut text = String::new();
            if !imports.is_empty() {
                text.push_str("imports:\n");
                for import in imports {
                    text.push_str(&format!("  - {import}\n"));
                }
            }
            text.push_str("values:\n");
            for (key, value) in values {
                text.push_str(&format!("  {key}: {value}\n"));
            }
            if let Some(block) = block {
                text.push_str(&format!(
                    "  blk:\n    - {block}\n    - nested:\n        deeper: {block}\n    - |\n      é ${{k1}}\n      ${{blk[0]}} x\n"
                ));
            }
            text
        })
}

/// Runs every mode of spec §8 (rotating too) on `root` with the others
/// importable.
fn run_all(root: &str, others: &[(&str, &str)]) -> CaseOutput {
    let overrides = Overrides {
        rotate: true,
        ..Overrides::default()
    };
    run_named("case", root, others, &overrides)
}

/// [`run_all`] with the root called `name` and the given overrides.
fn run_named(name: &str, root: &str, others: &[(&str, &str)], overrides: &Overrides) -> CaseOutput {
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
            case: "case".to_string(),
            load_delay: Duration::ZERO,
            preloaded: Some(preloaded),
        }),
        decrypter: Arc::new(Rot128),
        context: fixture_context(),
        limits: Limits::default(),
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime
        .block_on(run_text(name, root, overrides, &session, true))
        .unwrap()
}

/// Every ranged diagnostic names one of `docs` and starts inside it: its
/// line exists, its column is within the line (one past its end at most)
/// and its byte is the line's offset plus the column's bytes (or 0 on a
/// last line without a newline, the reference quirk); ends do not come
/// before starts.
fn check_ranges(out: &CaseOutput, docs: &[(&str, &str)]) -> Result<(), TestCaseError> {
    let phases = [
        &out.load_diags,
        &out.check_diags,
        &out.eval_diags,
        &out.rotate_diags,
    ];
    for diag in phases.into_iter().flatten() {
        let Some(range) = &diag.range else { continue };
        let text = docs
            .iter()
            .find(|(name, _)| *name == &*range.filename)
            .map(|(_, text)| *text);
        prop_assert!(text.is_some(), "{diag:?} names no document");
        let text = text.unwrap_or_default();
        let lines: Vec<&str> = text.split('\n').collect();
        let start = range.start;
        prop_assert!(
            start.line >= 1 && (start.line as usize) <= lines.len(),
            "{diag:?}: line outside {text:?}"
        );
        let line = lines[start.line as usize - 1];
        prop_assert!(
            start.column >= 1 && (start.column as usize) <= line.chars().count() + 1,
            "{diag:?}: column outside line {line:?} of {text:?}"
        );
        let offset: usize = lines[..start.line as usize - 1]
            .iter()
            .map(|l| l.len() + 1)
            .sum();
        let quirk = start.line as usize == lines.len() && !text.ends_with('\n');
        if quirk {
            // §1.1 quirk: the last line of a text without a final newline
            // reports byte 0.
            prop_assert_eq!(start.byte, 0, "{:?} in {:?}", diag, text);
        } else if line.is_ascii() {
            prop_assert_eq!(
                start.byte as usize,
                offset + start.column as usize - 1,
                "{:?}: byte is not the line's offset plus the column in {:?}",
                diag,
                text
            );
        } else {
            prop_assert!(
                (start.byte as usize) >= offset && (start.byte as usize) <= offset + line.len(),
                "{diag:?}: byte outside its line in {text:?}"
            );
        }
        let end = range.end;
        prop_assert!(
            (end.line, end.column) >= (start.line, start.column),
            "{diag:?}: ends before it starts in {text:?}"
        );
        // (No rule on summaries: a provider's error text is reported as
        // is, even empty: `fn::open::error: {why: ""}`.)
    }
    Ok(())
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn generated_definitions_never_panic_and_diagnostics_are_located(
        root in definition(&["a", "p/e", "missing"]),
        a in definition(&["case", "p/e"]),
        pe in definition(&[]),
    ) {
        let docs = [("case", root.as_str()), ("a", a.as_str()), ("p/e", pe.as_str())];
        let out = run_all(&root, &docs[1..]);
        check_ranges(&out, &docs)?;
        // Load diagnostics are not repeated by a later phase.
        for diag in out.check_diags.iter().chain(&out.eval_diags).chain(&out.rotate_diags) {
            prop_assert!(!out.load_diags.contains(diag), "{:?} repeated", diag);
        }
        // The same definition gives the same listing, whatever order the
        // concurrent opens and loads finish in.
        let again = run_all(&root, &docs[1..]);
        prop_assert_eq!(print_case(&out), print_case(&again));
    }
}

/// Text from YAML and ESC pieces, so the evaluator also sees shapes no
/// well-formed generator makes (odd indentation, stray indicators).
fn esc_yamlish() -> impl Strategy<Value = String> {
    let piece = prop::sample::select(vec![
        "values:\n",
        "imports:\n",
        "  ",
        "    ",
        "- ",
        "\n",
        "k1: ",
        "k2: ",
        "a",
        "1",
        "null",
        ": ",
        ", ",
        "[",
        "]",
        "{",
        "}",
        "\"",
        "'",
        "|\n",
        "${k1}",
        "${k2.x[0]}",
        "${",
        "$$",
        "é",
        "fn::open::test: ",
        "fn::open::error: ",
        "fn::open: ",
        "provider: ",
        "inputs: ",
        "fn::rotate::swap: ",
        "fn::rotate::echo: ",
        "state: ",
        "next: ",
        "fn::secret: ",
        "ciphertext: ",
        "fn::join: ",
        "fn::split: ",
        "fn::concat: ",
        "fn::fromJSON: ",
        "fn::toString: ",
        "fn::fromBase64: ",
        "fn::final: ",
        "fn::validate: ",
        "schema: ",
        "value: ",
        "type: ",
        "$ref: ",
        "\"#/$defs/x\"",
        "a",
        "case",
        "&x ",
        "!!str ",
        "- - ",
        "#c\n",
    ]);
    prop::collection::vec(piece, 0..60).prop_map(|pieces| pieces.concat())
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn yamlish_definitions_never_panic_the_evaluator(
        root in esc_yamlish(),
        a in esc_yamlish(),
    ) {
        let docs = [("case", root.as_str()), ("a", a.as_str())];
        let out = run_all(&root, &docs[1..]);
        check_ranges(&out, &docs)?;
    }
}

/// The plaintext of every secret in [`secretive`] definitions.
const MARK: &str = "S3CRET";

/// Leaves holding the secret `S3CRET` in every form (plaintext, rot128
/// ciphertext, inside a JSON text, a list and a base64 round trip) and
/// references that carry it around.
fn secret_leaf() -> impl Strategy<Value = String> {
    prop::sample::select(vec![
        "{fn::secret: S3CRET}",
        "{fn::secret: {ciphertext: ZXNjeAAAAAHTs8PSxdR9qgcG}}",
        "{fn::fromJSON: {fn::secret: '{\"k\": [\"S3CRET\", 1]}'}}",
        "{fn::fromBase64: {fn::toBase64: {fn::secret: S3CRET}}}",
        "{fn::open::secret-wrapper: {w: S3CRET}}",
        "\"${k1}\"",
        "\"${k2.x}\"",
        "\"${k3[0]}\"",
        "\"${k1.k[0]}\"",
        "\"x${k2}y\"",
        "1",
        "abc",
        "null",
    ])
    .prop_map(str::to_owned)
}

/// Calls that keep secrets secret. Left out: `fn::split` (the reference
/// flags only the array, so `${split[0]}` is a plain string: spec §3),
/// the `error` provider (its message is its input) and `fn::validate`
/// (messages quote the schema, which could be a secret).
const SECRET_SAFE_CALLS: &[&str] = &[
    "fn::open::test",
    "fn::open::secret-wrapper",
    "fn::rotate::swap",
    "fn::join",
    "fn::concat",
    "fn::toJSON",
    "fn::fromJSON",
    "fn::toString",
    "fn::toBase64",
    "fn::fromBase64",
    "fn::final",
    "fn::secret",
];

/// Definitions whose values mix `S3CRET` into everything.
fn secretive() -> impl Strategy<Value = String> {
    prop::collection::vec(
        (
            prop::sample::select(vec!["k1", "k2", "k3", "k4"]),
            expr_from(secret_leaf().boxed(), SECRET_SAFE_CALLS),
        ),
        1..5,
    )
    .prop_map(|values| {
        let mut text = String::from("values:\n");
        for (key, value) in values {
            text.push_str(&format!("  {key}: {value}\n"));
        }
        text
    })
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn secrets_never_show_in_redacted_projections_or_diagnostics(root in secretive()) {
        let out = run_all(&root, &[]);
        let phases = [&out.load_diags, &out.check_diags, &out.eval_diags, &out.rotate_diags];
        for diag in phases.into_iter().flatten() {
            prop_assert!(!diag.summary.contains(MARK), "{:?} in {:?}", diag, root);
        }
        let redacted = [&out.check_json, &out.eval_json_redacted, &out.rotate_json];
        for json in redacted.into_iter().flatten() {
            let text = json.to_json().unwrap_or_else(|_| format!("{json:?}"));
            prop_assert!(!text.contains(MARK), "{} of {:?}", text, root);
        }
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn anonymous_roots_and_selected_rotations_never_panic(
        name in prop::sample::select(vec!["<yaml>", "", "p/e"]),
        root in definition(&["a", "p/e"]),
        a in definition(&["p/e"]),
        pe in definition(&["a"]),
        paths in prop::sample::subsequence(
            vec!["k1", "k2.x", "k3[0]", "blk[0]", "blk[1].nested.deeper", "[\"k1\"]", "a1"],
            0..=3,
        ),
    ) {
        // The root may be anonymous (§2.2: imports see their own name as
        // rootEnvironment), nameless, or share its name with an import.
        let overrides = Overrides {
            rotate: true,
            rotate_paths: paths.iter().map(|p| p.to_string()).collect(),
            ..Overrides::default()
        };
        let docs = [(name, root.as_str()), ("a", a.as_str()), ("p/e", pe.as_str())];
        let out = run_named(name, &root, &docs[1..], &overrides);
        let ranged = if name == "p/e" { &docs[..2] } else { &docs[..] };
        check_ranges(&out, ranged)?;
    }
}

/// Rotation state strings: plain, quoted, escaped, secret, multi-line and
/// YAML-significant texts (written back, they must read back the same).
fn state_string() -> impl Strategy<Value = String> {
    prop::sample::select(vec![
        "abc",
        "\"q\\\"uote\"",
        "'it''s'",
        "{fn::secret: s3}",
        "{fn::secret: \"two\\nlines\"}",
        "\"multi\\nline\"",
        "\"#hash\"",
        "\"- dash\"",
        "\": colon\"",
        "\"$${x}\"",
        "\"\"",
        "\"true\"",
        "\"1.50\"",
        "é",
        "\" lead\"",
    ])
    .prop_map(str::to_owned)
}

/// Members holding `fn::rotate::swap` calls in block and flow styles, with
/// comments, nested in mappings and sequences, among plain ones.
fn rotating_member() -> impl Strategy<Value = String> {
    (0..6usize, state_string(), state_string()).prop_map(|(shape, a, b)| match shape {
        0 => format!(
            "    fn::rotate::swap:\n      inputs: {{}}\n      state:\n        a: {a}\n        b: {b}\n"
        ),
        1 => format!("    {{fn::rotate::swap: {{inputs: {{}}, state: {{a: {a}, b: {b}}}}}}}\n"),
        2 => format!(
            "    - x\n    - fn::rotate::swap:\n        inputs: {{}}\n        state: {{a: {a}, b: {b}}}\n"
        ),
        // (no state would rotate to nulls, which swap's state schema refuses)
        3 => format!(
            "    fn::rotate::swap: # rotated\n      inputs: {{}}\n      state: {{b: {b}, a: {a}}} # old\n"
        ),
        4 => format!(
            "    n:\n      fn::rotate:\n        provider: swap\n        inputs: {{}}\n        state:\n          b: {b}\n          a: {a}\n    m: {a}\n"
        ),
        _ => format!("    plain: {a}\n"),
    })
}

fn rotating_definition() -> impl Strategy<Value = String> {
    prop::collection::vec(rotating_member(), 1..5).prop_map(|members| {
        let mut text = String::from("values:\n");
        for (i, member) in members.iter().enumerate() {
            text.push_str(&format!("  k{i}:\n{member}"));
        }
        text
    })
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn written_back_states_evaluate_like_the_rotation(text in rotating_definition()) {
        // §5.2: write each patch into the definition, then evaluate it: no
        // load error, and every value (flags included) is what the rotation
        // produced.
        let session = Session {
            providers: Arc::new(TestProviders { open_delay: Duration::ZERO }),
            environments: Arc::new(CaseLoader {
                dir: PathBuf::new(),
                case: "case".to_string(),
                load_delay: Duration::ZERO,
                preloaded: Some(HashMap::new()),
            }),
            decrypter: Arc::new(Rot128),
            context: fixture_context(),
            limits: Limits::default(),
        };
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let (definition, diags) = esc_eval::load_definition("case", &text);
        prop_assert!(diags.is_empty(), "{:?}", diags);
        let definition = definition.unwrap();
        let rotated = runtime
            .block_on(esc_eval::evaluate(&definition, esc_eval::Mode::Rotate { paths: vec![] }, &session))
            .unwrap();
        prop_assert!(rotated.diagnostics().is_empty(), "{:?}", rotated.diagnostics());
        let mut edited = text.clone();
        for patch in rotated.patches() {
            edited = esc_syntax::edit::set_value(&edited, &patch.doc_path, &patch.edit_value())
                .map_err(|e| TestCaseError::fail(format!("{e} at {} in {edited:?}", patch.doc_path)))?;
        }
        let (definition, diags) = esc_eval::load_definition("case", &edited);
        prop_assert!(diags.is_empty(), "{:?} in {:?}", diags, edited);
        let evaluated = runtime
            .block_on(esc_eval::evaluate(&definition.unwrap(), esc_eval::Mode::Eval, &session))
            .unwrap();
        prop_assert!(evaluated.diagnostics().is_empty(), "{:?} in {:?}", evaluated.diagnostics(), edited);
        for redact in [true, false] {
            prop_assert_eq!(
                evaluated.to_json(redact).map(|j| j.to_json().unwrap_or_default()),
                rotated.to_json(redact).map(|j| j.to_json().unwrap_or_default()),
                "redacted {}: {:?} became {:?}", redact, text, edited
            );
        }
    }
}

/// Rotation states of any shape: strings (any text, `$`, YAML-significant
/// ones), integers and short decimals, bools, null, arrays, objects (keys
/// any text) and secrets of any of these.
fn state_value() -> impl Strategy<Value = esc_eval::PlainValue> {
    use esc_eval::PlainValue;
    let text = prop_oneof![
        any::<String>(),
        "[$#:{}\\[\\],'\"&*!|>%@` \\-?\n\t\\\\a-c0-9é]{0,12}",
        prop::sample::select(vec![
            "", "null", "true", "~", "1", "0x1F", "1e3", ".inf", "- a", "a: b", "${x}", "$$", "#c",
            " x ", "yes",
        ])
        .prop_map(str::to_owned),
    ];
    let leaf = prop_oneof![
        text.clone().prop_map(PlainValue::String),
        prop::sample::select(vec!["0", "1", "-3", "42", "1.5", "-0.25"])
            .prop_map(|n| PlainValue::Number(n.to_owned())),
        any::<bool>().prop_map(PlainValue::Bool),
        Just(PlainValue::Null),
    ];
    leaf.prop_recursive(3, 16, 4, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(PlainValue::Array),
            prop::collection::btree_map(text.clone(), inner.clone(), 0..4)
                .prop_map(PlainValue::Object),
            inner.prop_map(|v| match v {
                PlainValue::Secret(_) => v,
                other => PlainValue::Secret(Box::new(other)),
            }),
        ]
    })
}

/// The redacted projection of plain data (§4): secrets as `[secret]`.
fn redacted(v: &esc_eval::PlainValue) -> esc_eval::PlainValue {
    use esc_eval::PlainValue;
    match v {
        PlainValue::Secret(_) => PlainValue::string("[secret]"),
        PlainValue::Array(items) => PlainValue::Array(items.iter().map(redacted).collect()),
        PlainValue::Object(map) => {
            PlainValue::Object(map.iter().map(|(k, v)| (k.clone(), redacted(v))).collect())
        }
        other => other.clone(),
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn any_state_written_back_reads_back_the_same(state in state_value()) {
        // §5.2 write-back of any state (as Patch::edit_value writes it, in
        // a block and in a flow mapping): the definition then evaluates to
        // the same data, secrets secret.
        let session = Session {
            providers: Arc::new(TestProviders { open_delay: Duration::ZERO }),
            environments: Arc::new(CaseLoader {
                dir: PathBuf::new(),
                case: "case".to_string(),
                load_delay: Duration::ZERO,
                preloaded: Some(HashMap::new()),
            }),
            decrypter: Arc::new(Rot128),
            context: fixture_context(),
            limits: Limits::default(),
        };
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let patch = esc_eval::Patch { doc_path: "values.s.state".into(), replacement: state.clone() };
        for text in ["values:\n  s:\n    state: old\n  t: 1\n", "values:\n  s: {state: old}\n  t: 1\n"] {
            let edited = esc_syntax::edit::set_value(text, &patch.doc_path, &patch.edit_value())
                .map_err(|e| TestCaseError::fail(format!("{e}: {state:?} into {text:?}")))?;
            let (definition, diags) = esc_eval::load_definition("case", &edited);
            prop_assert!(diags.is_empty(), "{:?} in {:?}", diags, edited);
            let e = runtime
                .block_on(esc_eval::evaluate(&definition.unwrap(), esc_eval::Mode::Eval, &session))
                .unwrap();
            prop_assert!(e.diagnostics().is_empty(), "{:?} in {:?}", e.diagnostics(), edited);
            let got = e.to_json(false).and_then(|j| j.member("s").and_then(|s| s.member("state")).cloned());
            prop_assert_eq!(got.as_ref(), Some(&state.revealed()), "{:?}", edited);
            let got = e.to_json(true).and_then(|j| j.member("s").and_then(|s| s.member("state")).cloned());
            prop_assert_eq!(got, Some(redacted(&state)), "{:?}", edited);
        }
    }
}
