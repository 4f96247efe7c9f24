//! Unit tests of behaviour no conformance fixture covers.
#![allow(clippy::unwrap_used)]

use super::*;

#[test]
fn rotate_paths_normalise() {
    assert_eq!(normalize_rotate_path("a.b[0]").unwrap(), "values.a.b[0]");
    assert_eq!(
        normalize_rotate_path(r#"["quoted \"k\""].x"#).unwrap(),
        r#"values["quoted \"k\""].x"#
    );
    assert_eq!(
        normalize_rotate_path("examples.subscript-path[0]").unwrap(),
        r#"values.examples["subscript-path"][0]"#
    );
}

#[test]
fn levenshtein_distances() {
    assert_eq!(levenshtein("bar", "baz"), 1);
    assert_eq!(levenshtein("", "abc"), 3);
    assert_eq!(levenshtein("kitten", "sitting"), 3);
}

mod harness {
    //! In-memory loaders and a slow, counting provider.

    use std::collections::HashMap;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use async_trait::async_trait;

    use crate::*;

    /// Tracks how many calls run at once and in total.
    #[derive(Default)]
    pub(super) struct Gauge {
        current: AtomicUsize,
        pub(super) max: AtomicUsize,
        pub(super) total: AtomicUsize,
    }

    impl Gauge {
        async fn during(&self, delay: Duration) {
            let now = self.current.fetch_add(1, Ordering::SeqCst) + 1;
            self.max.fetch_max(now, Ordering::SeqCst);
            self.total.fetch_add(1, Ordering::SeqCst);
            tokio::time::sleep(delay).await;
            self.current.fetch_sub(1, Ordering::SeqCst);
        }
    }

    /// `slow`: echoes its inputs after a delay.
    pub(super) struct Slow {
        pub(super) gauge: Arc<Gauge>,
    }

    #[async_trait]
    impl Provider for Slow {
        fn schema(&self) -> ProviderSchema {
            ProviderSchema {
                inputs: Schema::always(),
                outputs: Schema::always(),
            }
        }

        async fn open(
            &self,
            inputs: &PlainValue,
            _ctx: &ProviderContext,
        ) -> Result<PlainValue, CallError> {
            self.gauge.during(Duration::from_millis(40)).await;
            Ok(inputs.clone())
        }
    }

    pub(super) struct Providers {
        pub(super) gauge: Arc<Gauge>,
    }

    #[async_trait]
    impl ProviderLoader for Providers {
        async fn load_provider(&self, name: &str) -> Result<Arc<dyn Provider>, CallError> {
            match name {
                "slow" => Ok(Arc::new(Slow {
                    gauge: self.gauge.clone(),
                })),
                _ => Err(CallError::new(format!(
                    "unknown provider {}",
                    go_quote(name)
                ))),
            }
        }

        async fn load_rotator(&self, name: &str) -> Result<Arc<dyn Rotator>, CallError> {
            Err(CallError::new(format!(
                "unknown rotator {}",
                go_quote(name)
            )))
        }
    }

    pub(super) struct Plain;

    #[async_trait]
    impl Decrypter for Plain {
        async fn decrypt(&self, ciphertext: &[u8]) -> Result<Vec<u8>, CallError> {
            Ok(ciphertext.to_vec())
        }
    }

    pub(super) struct Envs {
        pub(super) texts: HashMap<String, String>,
        pub(super) gauge: Arc<Gauge>,
    }

    #[async_trait]
    impl EnvironmentLoader for Envs {
        async fn load_environment(&self, name: &str) -> Result<LoadedEnvironment, CallError> {
            self.gauge.during(Duration::from_millis(40)).await;
            match self.texts.get(name) {
                Some(text) => Ok(LoadedEnvironment {
                    definition: crate::EnvironmentSource::Text(text.clone()),
                    decrypter: Arc::new(Plain),
                }),
                None => Err(CallError::new(format!("environment {name} not found"))),
            }
        }
    }

    pub(super) struct Setup {
        pub(super) session: Session,
        pub(super) opens: Arc<Gauge>,
        pub(super) loads: Arc<Gauge>,
    }

    pub(super) fn setup(envs: &[(&str, &str)], limits: Limits) -> Setup {
        let opens = Arc::new(Gauge::default());
        let loads = Arc::new(Gauge::default());
        let texts = envs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let session = Session {
            providers: Arc::new(Providers {
                gauge: opens.clone(),
            }),
            environments: Arc::new(Envs {
                texts,
                gauge: loads.clone(),
            }),
            decrypter: Arc::new(Plain),
            context: PlainValue::object::<String>([]),
            limits,
        };
        Setup {
            session,
            opens,
            loads,
        }
    }

    pub(super) async fn run(text: &str, mode: Mode, session: &Session) -> Evaluation {
        let (def, diags) = load_definition("root", text);
        assert!(diags.is_empty(), "{diags:?}");
        evaluate(&def.unwrap(), mode, session).await.unwrap()
    }

    pub(super) fn summaries(e: &Evaluation) -> Vec<String> {
        e.diagnostics().iter().map(|d| d.summary.clone()).collect()
    }

    /// [`summaries`] sorted: for diagnostics whose order is not the point.
    pub(super) fn sorted_summaries(e: &Evaluation) -> Vec<String> {
        let mut got = summaries(e);
        got.sort();
        got
    }
}

use std::sync::atomic::Ordering;

use harness::{run, setup, sorted_summaries, summaries};

const FOUR_OPENS: &str = "values:
  a: { fn::open::slow: { x: 1 } }
  b: { fn::open::slow: { x: 2 } }
  c: { fn::open::slow: { x: 3 } }
  d: { fn::open::slow: { x: 1 } }
";

#[tokio::test]
async fn independent_opens_overlap_and_identical_opens_run_once() {
    let s = setup(&[], Limits::default());
    let e = run(FOUR_OPENS, Mode::Eval, &s.session).await;
    assert!(e.diagnostics().is_empty());
    // Three distinct (provider, inputs) pairs: three calls, all at once.
    assert_eq!(s.opens.total.load(Ordering::SeqCst), 3);
    assert_eq!(s.opens.max.load(Ordering::SeqCst), 3);
    // Literal inputs: the calls are made before the first pass.
    assert_eq!(e.n_passes(), 1);
    let json = e.to_json(false).unwrap().to_json().unwrap();
    assert_eq!(json, r#"{"a":{"x":1},"b":{"x":2},"c":{"x":3},"d":{"x":1}}"#);
}

#[tokio::test]
async fn check_mode_calls_no_provider() {
    let s = setup(&[], Limits::default());
    let e = run(FOUR_OPENS, Mode::Check { show_secrets: true }, &s.session).await;
    assert_eq!(s.opens.total.load(Ordering::SeqCst), 0);
    assert_eq!(
        e.to_json(false).unwrap().member("a"),
        Some(&PlainValue::string("[unknown]"))
    );
}

#[tokio::test]
async fn dependent_opens_run_in_order() {
    let s = setup(&[], Limits::default());
    let text = "values:
  a: { fn::open::slow: { x: 1 } }
  b: { fn::open::slow: { y: '${a.x}' } }
";
    let e = run(text, Mode::Eval, &s.session).await;
    assert_eq!(s.opens.total.load(Ordering::SeqCst), 2);
    assert_eq!(s.opens.max.load(Ordering::SeqCst), 1);
    // `a` (literal inputs) before the first pass, `b` after it.
    assert_eq!(e.n_passes(), 2);
    assert_eq!(
        e.to_json(false).unwrap().to_json().unwrap(),
        r#"{"a":{"x":1},"b":{"y":1}}"#
    );
}

#[tokio::test]
async fn imports_load_concurrently() {
    let s = setup(
        &[
            ("a", "imports: [c]\nvalues: { a: 1 }"),
            ("b", "values: { b: 2 }"),
            ("c", "values: { c: 3 }"),
            ("d", "values: { d: 4 }"),
        ],
        Limits::default(),
    );
    let e = run(
        "imports: [a, b, d]\nvalues: { r: '${a}' }",
        Mode::Eval,
        &s.session,
    )
    .await;
    assert!(e.diagnostics().is_empty(), "{:?}", summaries(&e));
    assert_eq!(s.loads.total.load(Ordering::SeqCst), 4);
    // a, b and d at once; c (imported by a) on the next level.
    assert_eq!(s.loads.max.load(Ordering::SeqCst), 3);
    assert_eq!(
        e.to_json(false).unwrap().to_json().unwrap(),
        r#"{"a":1,"b":2,"c":3,"d":4,"r":1}"#
    );
}

#[tokio::test]
async fn environment_limit_is_a_diagnostic() {
    let limits = Limits {
        max_environments: 2,
        ..Limits::default()
    };
    let s = setup(
        &[
            ("a", "values: { a: 1 }"),
            ("b", "values: { b: 2 }"),
            ("c", "values: { c: 3 }"),
        ],
        limits,
    );
    let e = run("imports: [a, b, c]", Mode::Eval, &s.session).await;
    assert_eq!(
        summaries(&e),
        vec!["too many environments: an evaluation may load at most 2"]
    );
    assert_eq!(s.loads.total.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn merged_import_chains_are_bounded() {
    // 6,000 imports of one environment overflowed the stack (every merge
    // lengthens the chain of overridden values that lookups walk)
    let s = setup(&[("e", "values: { x: 1 }")], Limits::default());
    let text = format!("imports:\n{}", "  - e\n".repeat(6_000));
    let e = run(&text, Mode::Eval, &s.session).await;
    assert_eq!(
        summaries(&e),
        vec![
            "too many merged imports: merging e would stack 257 values over each other (at most 256); it and the imports after it are not merged"
        ]
    );
    assert_eq!(e.to_json(true).unwrap().to_json().unwrap(), r#"{"x":1}"#);
    // a diamond doubles the chain at each level: d8 holds 2^8 merges of d0
    let limits = Limits {
        max_merged: 100,
        ..Limits::default()
    };
    let docs: Vec<(String, String)> = (1..=8)
        .map(|i| {
            (
                format!("d{i}"),
                format!("imports: [d{}, d{}]", i - 1, i - 1),
            )
        })
        .chain([("d0".to_string(), "values: { x: 1 }".to_string())])
        .collect();
    let docs: Vec<(&str, &str)> = docs.iter().map(|(n, t)| (n.as_str(), t.as_str())).collect();
    let s = setup(&docs, limits);
    let e = run("imports: [d8]\nvalues: { y: 2 }", Mode::Eval, &s.session).await;
    let got = summaries(&e);
    assert!(
        !got.is_empty()
            && got
                .iter()
                .all(|m| m.starts_with("too many merged imports: merging d")),
        "{got:?}"
    );
    assert_eq!(
        e.to_json(true).unwrap().to_json().unwrap(),
        r#"{"x":1,"y":2}"#
    );
}

/// `a: [x, ...]`, `b: ["${a}", ...]`, ...: each level ten references to
/// the one before, `levels` levels.
fn reference_bomb(levels: usize, top: &str) -> String {
    let mut text = String::from("values:\n  l0: [lol,lol,lol,lol,lol,lol,lol,lol,lol,lol]\n");
    for i in 1..levels {
        let item = format!("\"${{l{}}}\"", i - 1);
        text.push_str(&format!("  l{i}: [{}]\n", vec![item; 10].join(",")));
    }
    text.push_str(top);
    text
}

#[tokio::test]
async fn expanded_values_are_bounded() {
    // references share what they copy, so evaluating is cheap, but every
    // output writes each copy out: 9 levels (600 bytes) were 10^9 values
    let s = setup(&[], Limits::default());
    let e = run(&reference_bomb(9, ""), Mode::Eval, &s.session).await;
    assert_eq!(
        summaries(&e),
        vec![
            "the environment's values are too large: over 8 MiB once references are expanded (each reference copies the whole value it names)"
        ]
    );
    assert!(e.to_json(true).is_none());
    // and what interpolation, fn::toString, fn::join and fn::toJSON expand
    let limits = Limits {
        max_expanded_bytes: 1 << 20,
        ..Limits::default()
    };
    let s = setup(&[], limits);
    for top in [
        "  top: \"${l5}\"\n",
        "  top: {fn::toString: \"${l5}\"}\n",
        "  top: {fn::toJSON: \"${l5}\"}\n",
        "  top: {fn::join: [',', \"${l5}\"]}\n",
    ] {
        let text = format!(
            "values:\n  l0: [lol]\n  l1: [\"${{l0}}\"]\n{}",
            reference_bomb(6, top).replacen("values:\n", "", 1)
        );
        let e = run(&text, Mode::Eval, &s.session).await;
        assert!(
            summaries(&e)
                .iter()
                .any(|m| m.starts_with("value is too large: over 1 MiB")
                    || m.starts_with("the environment's values are too large")),
            "{top}: {:?}",
            summaries(&e)
        );
    }
    // a legitimate copy of a large tree stays well inside
    let s = setup(&[], Limits::default());
    let e = run(
        &reference_bomb(4, "  copies: [\"${l3}\", \"${l3}\"]\n"),
        Mode::Eval,
        &s.session,
    )
    .await;
    assert!(summaries(&e).is_empty(), "{:?}", summaries(&e));
}

#[tokio::test]
async fn builtin_strings_are_bounded_like_interpolation() {
    let limits = Limits {
        max_string_bytes: 64,
        ..Limits::default()
    };
    let s = setup(&[], limits);
    let text = r#"values:
  a: [aaaaaaaaaa, bbbbbbbbbb, cccccccccc]
  j: {fn::toJSON: "${a}"}
  k: {fn::toJSON: ["${j}", "${j}"]}
  s: {fn::join: ["------------", "${a}"]}
  b: {fn::toBase64: "${s}"}
  long: {fn::join: ["--------------------", "${a}"]}
"#;
    let e = run(text, Mode::Eval, &s.session).await;
    let got: Vec<(String, String)> = e
        .diagnostics()
        .iter()
        .map(|d| (d.path.clone(), d.summary.clone()))
        .collect();
    let over = "the result exceeds the maximum string length of 64 bytes".to_string();
    assert_eq!(
        got,
        vec![
            ("values.b".to_string(), over.clone()),
            ("values.k".to_string(), over.clone()),
            ("values.long".to_string(), over),
        ]
    );
    let json = e.to_json(true).unwrap().to_json().unwrap();
    assert!(
        json.contains(r#""j":"[\"aaaaaaaaaa\",\"bbbbbbbbbb\",\"cccccccccc\"]""#),
        "{json}"
    );
    assert!(
        json.contains(r#""k":"[unknown]""#) && json.contains(r#""b":"[unknown]""#),
        "{json}"
    );
}

#[tokio::test]
async fn string_and_depth_limits_are_diagnostics() {
    let limits = Limits {
        max_string_bytes: 8,
        max_depth: 4,
        ..Limits::default()
    };
    let s = setup(&[], limits);
    let e = run(
        "values:\n  s: 'abcdefgh${t}'\n  t: x\n",
        Mode::Eval,
        &s.session,
    )
    .await;
    assert_eq!(
        summaries(&e),
        vec!["interpolated string exceeds the maximum length of 8 bytes"]
    );
    let chain = "values:\n  a: ${b}\n  b: ${c}\n  c: ${d}\n  d: ${e}\n  e: ${f}\n  f: 1\n";
    let e = run(chain, Mode::Eval, &s.session).await;
    assert_eq!(
        summaries(&e),
        vec!["evaluation exceeds the maximum depth of 4"]
    );
}

#[tokio::test]
async fn reserved_context_keys_are_refused() {
    let mut s = setup(&[], Limits::default());
    s.session.context = PlainValue::object([("rootEnvironment", PlainValue::Null)]);
    let (def, _) = load_definition("root", "values: { a: 1 }");
    let err = evaluate(&def.unwrap(), Mode::Eval, &s.session).await.err();
    assert_eq!(
        err.map(|e| e.to_string()).as_deref(),
        Some(r#"reserved context key: "rootEnvironment""#)
    );
}

#[tokio::test]
async fn validate_checks_the_value_against_the_schema() {
    let s = setup(&[], Limits::default());
    let text = r##"values:
  ok: { fn::validate: { schema: { type: string, minLength: 2 }, value: hi } }
  bad: { fn::validate: { schema: { type: string }, value: 42 } }
  short: { fn::validate: { schema: { type: string, minLength: 3 }, value: hi } }
  badref: { fn::validate: { schema: { $ref: "http://example.com" }, value: 1 } }
  notschema: { fn::validate: { schema: { type: 42 }, value: 1 } }
"##;
    let e = run(text, Mode::Eval, &s.session).await;
    assert_eq!(
        sorted_summaries(&e),
        vec![
            "expected a string of at least length 3",
            "expected string, got number",
            "invalid schema: only fragment references of the form #/$defs/ref are supported",
        ]
    );
    assert_eq!(
        e.to_json(false).unwrap().to_json().unwrap(),
        r#"{"bad":42,"badref":1,"notschema":1,"ok":"hi","short":"hi"}"#
    );
}

#[tokio::test]
async fn validate_never_quotes_a_secret_schema() {
    let s = setup(&[], Limits::default());
    let text = r##"values:
  pat: { fn::secret: '{"type":"string","pattern":"^(abc|SEKRET-PAT)$"}' }
  roles: { fn::secret: '{"enum":["abc","SEKRET-ENUM"]}' }
  broken: { fn::secret: '{"type":"string","pattern":"SEKRET-RE(("}' }
  v1: { fn::validate: { schema: { fn::fromJSON: "${pat}" }, value: zzz } }
  v2: { fn::validate: { schema: { fn::fromJSON: "${roles}" }, value: zzz } }
  v3: { fn::validate: { schema: { fn::fromJSON: "${broken}" }, value: zzz } }
  ok: { fn::validate: { schema: { fn::fromJSON: "${pat}" }, value: abc } }
  plain: { fn::validate: { schema: { enum: [abc, PLAIN-ENUM] }, value: zzz } }
"##;
    let e = run(text, Mode::Eval, &s.session).await;
    assert_eq!(
        sorted_summaries(&e),
        vec![
            r#"expected one of ["abc","PLAIN-ENUM"]"#,
            "invalid schema (the schema is secret: the reason is not shown)",
            "the value does not match its schema (the schema is secret: the reason is not shown)",
            "the value does not match its schema (the schema is secret: the reason is not shown)",
        ]
    );
    // the values are still the values, secret where their schema is
    assert_eq!(
        e.to_json(true).unwrap().to_json().unwrap(),
        r#"{"broken":"[secret]","ok":"[secret]","pat":"[secret]","plain":"zzz","roles":"[secret]","v1":"[secret]","v2":"[secret]","v3":"zzz"}"#
    );
}

#[tokio::test]
async fn validate_argument_shape_errors() {
    let (_, diags) = load_definition(
        "root",
        "values:\n  a: { fn::validate: { value: 1 } }\n  b: { fn::validate: 3 }\n",
    );
    let got: Vec<_> = diags.iter().map(|d| d.summary.as_str()).collect();
    assert_eq!(
        got,
        vec![
            "missing required property 'schema'",
            "the argument to fn::validate must be an object containing 'schema' and 'value'"
        ]
    );
}

#[test]
fn write_back_wraps_secrets() {
    let secret = |v: PlainValue| PlainValue::Secret(Box::new(v));
    let patch = Patch {
        doc_path: "values.x".into(),
        replacement: PlainValue::object([
            ("a", secret(PlainValue::string("s3cret"))),
            (
                "b",
                secret(PlainValue::object([(
                    "n",
                    PlainValue::Number("1.0".into()),
                )])),
            ),
            ("c", PlainValue::string("plain")),
        ]),
    };
    assert_eq!(
        patch.write_back_form().to_json().unwrap(),
        r#"{"a":{"fn::secret":"s3cret"},"b":{"fn::fromJSON":{"fn::secret":"{\"n\":1.0}"}},"c":"plain"}"#
    );
}

#[tokio::test]
async fn ciphertext_has_no_receiver() {
    let s = setup(&[], Limits::default());
    let text =
        "values:\n  p: { fn::secret: { ciphertext: ZXNjeAAAAAHo9e705fKyKo30VQ== } }\n  q: ${p.x}\n";
    let e = run(text, Mode::Eval, &s.session).await;
    assert_eq!(summaries(&e), vec!["internal error: no receiver"]);
}

#[tokio::test]
async fn environment_variables_are_string_forms() {
    let s = setup(&[], Limits::default());
    let text = "values:
  environmentVariables:
    A: hello
    B: 42
    C: null
    D: { fn::secret: s3cret }
    E: [ 1 ]
    F: ${nope}
";
    let e = run(text, Mode::Eval, &s.session).await;
    let vars: Vec<_> = e
        .environment_variables()
        .into_iter()
        .map(|v| (v.name, v.value, v.secret, v.unknown))
        .collect();
    assert_eq!(
        vars,
        vec![
            ("A".into(), "hello".into(), false, false),
            ("B".into(), "42".into(), false, false),
            ("C".into(), "".into(), false, false),
            ("D".into(), "s3cret".into(), true, false),
            ("F".into(), "[unknown]".into(), false, true),
        ]
    );
    assert!(!format!("{:?}", e.environment_variables()).contains("s3cret"));
}

#[tokio::test]
async fn long_reference_chains_stay_within_the_stack() {
    // Just under the default depth limit: must evaluate, not overflow.
    let s = setup(&[], Limits::default());
    let n = 250;
    let mut text = String::from("values:\n");
    for i in 0..n {
        text.push_str(&format!("  v{i}: ${{v{}}}\n", i + 1));
    }
    text.push_str(&format!("  v{n}: end\n"));
    let e = run(&text, Mode::Eval, &s.session).await;
    assert!(e.diagnostics().is_empty(), "{:?}", summaries(&e));
    assert_eq!(
        e.to_json(false).unwrap().member("v0"),
        Some(&PlainValue::string("end"))
    );
    // Beyond it: a diagnostic.
    let mut text = String::from("values:\n");
    for i in 0..300 {
        text.push_str(&format!("  v{i}: ${{v{}}}\n", i + 1));
    }
    text.push_str("  v300: end\n");
    let e = run(&text, Mode::Eval, &s.session).await;
    assert!(summaries(&e).contains(&"evaluation exceeds the maximum depth of 256".to_string()));
}

#[test]
fn default_depth_fits_a_two_megabyte_stack() {
    // Tokio worker threads have 2 MiB stacks: the default depth limit must
    // be reachable there, even in debug builds.
    let handle = std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(|| {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async {
                let s = setup(&[], Limits::default());
                let mut text = String::from("values:\n");
                for i in 0..300 {
                    text.push_str(&format!(
                        "  v{i}: {{ fn::toString: {{ a: [ \"${{v{}}}\" ] }} }}\n",
                        i + 1
                    ));
                }
                text.push_str("  v300: end\n");
                let e = run(&text, Mode::Eval, &s.session).await;
                summaries(&e)
            })
        })
        .unwrap();
    let diags = handle.join().unwrap();
    assert!(
        diags.contains(&"evaluation exceeds the maximum depth of 256".to_string()),
        "{diags:?}"
    );
}

#[tokio::test]
async fn decoding_errors_do_not_quote_secrets() {
    let s = setup(&[], Limits::default());
    let text = "values:\n  a: { fn::fromJSON: { fn::secret: 'xsecret' } }\n  b: { fn::fromJSON: 'xplain' }\n";
    let e = run(text, Mode::Eval, &s.session).await;
    assert_eq!(
        sorted_summaries(&e),
        vec![
            "decoding JSON string: invalid JSON",
            "decoding JSON string: invalid character 'x' looking for beginning of value"
        ]
    );
}

#[tokio::test]
async fn opens_in_builtin_arguments_or_with_references_wait_for_a_pass() {
    // `slow` accepts anything; an `fn::open` inside a builtin argument or
    // with a reference is left to the passes, and still opened once.
    let s = setup(&[], Limits::default());
    let text = "values:
  a: { fn::toJSON: { fn::open::slow: { x: 1 } } }
  b: { fn::open::slow: { x: '${c}' } }
  c: 1
";
    let e = run(text, Mode::Eval, &s.session).await;
    assert!(e.diagnostics().is_empty(), "{:?}", summaries(&e));
    assert_eq!(s.opens.total.load(Ordering::SeqCst), 1);
    assert_eq!(e.n_passes(), 2);
    assert_eq!(
        e.to_json(false).unwrap().to_json().unwrap(),
        r#"{"a":"{\"x\":1}","b":{"x":1},"c":1}"#
    );
}

#[test]
fn imports_without_a_value_is_an_error() {
    let (definition, diags) = load_definition("env", "imports:\nvalues:\n  a: 1\n");
    assert!(definition.is_some());
    let summaries: Vec<_> = diags.iter().map(|d| d.summary.as_str()).collect();
    assert_eq!(summaries, ["imports must be a list"]);
    assert_eq!(diags[0].path, "imports");
    assert_eq!(diags[0].range.as_ref().map(|r| r.start.line), Some(1));
}

/// Hands back definitions parsed once, as a loader caching revisions does.
struct ParsedEnvs(std::collections::HashMap<String, ParsedEnvironment>);

#[async_trait::async_trait]
impl EnvironmentLoader for ParsedEnvs {
    async fn load_environment(&self, name: &str) -> Result<LoadedEnvironment, CallError> {
        let parsed = self
            .0
            .get(name)
            .cloned()
            .ok_or_else(|| CallError::new("missing"))?;
        Ok(LoadedEnvironment {
            definition: EnvironmentSource::Parsed(parsed),
            decrypter: Arc::new(harness::Plain),
        })
    }
}

#[tokio::test]
async fn parsed_definitions_evaluate_like_texts_and_can_be_reused() {
    let secret = encode_envelope(b"hush");
    let base =
        format!("values:\n  a: 1\n  s: {{fn::secret: {{ciphertext: {secret}}}}}\n  x: ${{a}}\n");
    let envs = [("base", base.as_str()), ("bad", "values: [1]\n")];
    let root = "imports: [base, bad]\nvalues:\n  y: ${imports.base.s}\n";
    let from_text = setup(&envs, Limits::default());
    let text_eval = run(root, Mode::Eval, &from_text.session).await;

    let parsed = envs
        .iter()
        .map(|(name, text)| (name.to_string(), ParsedEnvironment::parse(name, text)))
        .collect();
    let mut session = from_text.session.clone();
    session.environments = Arc::new(ParsedEnvs(parsed));
    for _ in 0..2 {
        let e = run(root, Mode::Eval, &session).await;
        assert_eq!(summaries(&e), summaries(&text_eval));
        assert_eq!(summaries(&e), ["values must be an object"]);
        let json = e.to_json(false).unwrap().to_json().unwrap();
        assert_eq!(json, text_eval.to_json(false).unwrap().to_json().unwrap());
        assert_eq!(json, r#"{"a":1,"s":"hush","x":1,"y":"hush"}"#);
        // one decryption (the same ciphertext is decrypted once per environment)
        assert_eq!(e.n_calls(), 1);
    }
}

#[tokio::test]
async fn each_environment_loads_once_per_evaluation() {
    // §1.3: within one top-level evaluation each environment is loaded and
    // evaluated once, the memo shared by imports (direct, repeated,
    // transitive) and inline references (§2.2).
    let s = setup(
        &[
            ("p/e", "values: { x: 1 }"),
            (
                "b",
                "imports: [p/e]\nvalues: { y: '${environments.p.e.x}' }",
            ),
        ],
        Limits::default(),
    );
    let text = "imports: [p/e, b, p/e]\nvalues:\n  r: ${environments.p.e.x}\n  s: ${environments[\"p\"][\"e\"]}\n";
    let e = run(text, Mode::Eval, &s.session).await;
    assert!(e.diagnostics().is_empty(), "{:?}", summaries(&e));
    assert_eq!(s.loads.total.load(Ordering::SeqCst), 2);
    assert_eq!(
        e.to_json(false).unwrap().to_json().unwrap(),
        r#"{"r":1,"s":{"x":1},"x":1,"y":1}"#
    );
}

/// Refuses every ciphertext, as a decrypter with the wrong key would.
struct Refusing;

#[async_trait::async_trait]
impl Decrypter for Refusing {
    async fn decrypt(&self, _ciphertext: &[u8]) -> Result<Vec<u8>, CallError> {
        Err(CallError::new("wrong key"))
    }
}

#[tokio::test]
async fn decryption_failures_are_unknown_secrets_at_the_call() {
    // §3 fn::secret: a well-formed envelope the decrypter refuses:
    // `decrypting: <reason>` at the call, the value unknown and secret; in
    // check mode without showSecrets nothing is decrypted, so no error.
    let mut s = setup(&[], Limits::default());
    s.session.decrypter = Arc::new(Refusing);
    let envelope = encode_envelope(b"hush");
    let text = format!("values:\n  p: {{fn::secret: {{ciphertext: {envelope}}}}}\n");
    let e = run(&text, Mode::Eval, &s.session).await;
    assert_eq!(summaries(&e), ["decrypting: wrong key"]);
    let d = &e.diagnostics()[0];
    assert_eq!(d.path, "values.p");
    assert_eq!(
        d.range.as_ref().map(|r| (r.start.line, r.start.column)),
        Some((2, 6))
    );
    assert_eq!(
        e.to_json(true).unwrap().to_json().unwrap(),
        r#"{"p":"[secret]"}"#
    );
    assert_eq!(
        e.to_json(false).unwrap().to_json().unwrap(),
        r#"{"p":"[unknown]"}"#
    );
    let e = run(
        &text,
        Mode::Check {
            show_secrets: false,
        },
        &s.session,
    )
    .await;
    assert!(e.diagnostics().is_empty(), "{:?}", summaries(&e));
    let e = run(&text, Mode::Check { show_secrets: true }, &s.session).await;
    assert_eq!(summaries(&e), ["decrypting: wrong key"]);
}

#[tokio::test]
async fn files_are_string_forms_like_environment_variables() {
    // §1.4: `files` members become files holding their string forms, as
    // environmentVariables: scalars only, null empty, secretness kept.
    let s = setup(&[], Limits::default());
    let text = "values:\n  files:\n    F: x\n    G: { fn::secret: s3cret }\n    H: [ 1 ]\n    I: null\n    J: 2.50\n";
    let e = run(text, Mode::Eval, &s.session).await;
    let files: Vec<_> = e
        .files()
        .into_iter()
        .map(|v| (v.name, v.value, v.secret, v.unknown))
        .collect();
    assert_eq!(
        files,
        vec![
            ("F".into(), "x".into(), false, false),
            ("G".into(), "s3cret".into(), true, false),
            ("I".into(), "".into(), false, false),
            ("J".into(), "2.5".into(), false, false),
        ]
    );
}

/// `flaky`: its rotation fails when `inputs.fail` is true, else gives the
/// state `{k: "new"}` flagged secret; `open` returns the state.
struct Flaky;

#[async_trait::async_trait]
impl Rotator for Flaky {
    fn schema(&self) -> RotatorSchema {
        RotatorSchema {
            inputs: Schema::always(),
            state: Schema::always(),
            outputs: Schema::always(),
        }
    }

    async fn open(
        &self,
        _inputs: &PlainValue,
        state: Option<&PlainValue>,
        _ctx: &ProviderContext,
    ) -> Result<PlainValue, CallError> {
        Ok(state.cloned().unwrap_or(PlainValue::Null))
    }

    async fn rotate(
        &self,
        inputs: &PlainValue,
        _state: Option<&PlainValue>,
        _ctx: &ProviderContext,
    ) -> Result<PlainValue, CallError> {
        if inputs.member("fail") == Some(&PlainValue::Bool(true)) {
            return Err(CallError::new("boom"));
        }
        Ok(PlainValue::Secret(Box::new(PlainValue::object([(
            "k",
            PlainValue::string("new"),
        )]))))
    }
}

struct FlakyLoader;

#[async_trait::async_trait]
impl ProviderLoader for FlakyLoader {
    async fn load_provider(&self, name: &str) -> Result<Arc<dyn Provider>, CallError> {
        Err(CallError::new(format!(
            "unknown provider {}",
            go_quote(name)
        )))
    }

    async fn load_rotator(&self, name: &str) -> Result<Arc<dyn Rotator>, CallError> {
        match name {
            "flaky" => Ok(Arc::new(Flaky)),
            _ => Err(CallError::new(format!(
                "unknown rotator {}",
                go_quote(name)
            ))),
        }
    }
}

#[tokio::test]
async fn rotator_failures_and_secret_states() {
    // §3 fn::rotate: a failing rotation is `rotate: <text>` at the call,
    // status failed, the value unknown, no patch; a successful one
    // patches the state, and a new state flagged secret is deep secret
    // in what `open` then returns (§4).
    let mut s = setup(&[], Limits::default());
    s.session.providers = Arc::new(FlakyLoader);
    let text = "values:\n  bad: { fn::rotate::flaky: { inputs: { fail: true }, state: { k: old } } }\n  good: { fn::rotate::flaky: { inputs: { fail: false }, state: { k: old } } }\n  ref: ${good.k}\n";
    let e = run(text, Mode::Rotate { paths: vec![] }, &s.session).await;
    assert_eq!(summaries(&e), ["rotate: boom"]);
    let d = &e.diagnostics()[0];
    assert_eq!(d.path, "values.bad");
    assert_eq!(
        d.range.as_ref().map(|r| (r.start.line, r.start.column)),
        Some((2, 8))
    );
    let statuses: Vec<_> = e
        .rotations()
        .iter()
        .map(|r| (r.path.as_str(), r.status, r.patch.is_some()))
        .collect();
    assert_eq!(
        statuses,
        [
            ("values.bad", RotationStatus::Failed, false),
            ("values.good", RotationStatus::Succeeded, true),
        ]
    );
    let patches = e.patches();
    assert_eq!(patches.len(), 1);
    assert_eq!(
        patches[0].doc_path,
        r#"values.good["fn::rotate::flaky"].state"#
    );
    assert_eq!(
        patches[0].replacement.revealed().to_json().unwrap(),
        r#"{"k":"new"}"#
    );
    assert_eq!(
        e.to_json(true).unwrap().to_json().unwrap(),
        r#"{"bad":"[unknown]","good":"[secret]","ref":"[secret]"}"#
    );
    assert_eq!(
        e.to_json(false).unwrap().to_json().unwrap(),
        r#"{"bad":"[unknown]","good":{"k":"new"},"ref":"new"}"#
    );
}

#[test]
fn write_back_edits_double_every_dollar() {
    // §5.2 write-back goes through the definition's string grammar (§2.1):
    // a rotated state `${x}` must not read back as a reference, nor
    // `pa$$word` as `pa$word`; keys are parsed too. Found by the
    // write-back property (esc-conformance props): `${x}` came back as
    // `unknown property "x"`.
    use esc_syntax::edit::EditValue;
    let secret = |v: PlainValue| PlainValue::Secret(Box::new(v));
    let patch = Patch {
        doc_path: "values.r[\"fn::rotate::swap\"].state".into(),
        replacement: PlainValue::object([
            ("a", PlainValue::string("${x}")),
            ("k$", secret(PlainValue::string("pa$$word"))),
            ("n", PlainValue::Number("1".into())),
        ]),
    };
    assert_eq!(
        patch.edit_value(),
        EditValue::Mapping(vec![
            ("a".into(), EditValue::String("$${x}".into())),
            (
                "k$$".into(),
                EditValue::Secret(Box::new(EditValue::String("pa$$$$word".into())))
            ),
            ("n".into(), EditValue::Number("1".into())),
        ])
    );
    // Written into a definition, it evaluates to the state itself.
    let at_s = Patch {
        doc_path: "values.s".into(),
        ..patch
    };
    let edited =
        esc_syntax::edit::set_value("values:\n  s: old\n", &at_s.doc_path, &at_s.edit_value())
            .unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let s = setup(&[], Limits::default());
    let e = rt.block_on(run(&edited, Mode::Eval, &s.session));
    assert!(e.diagnostics().is_empty(), "{:?}", summaries(&e));
    assert_eq!(
        e.to_json(false).unwrap().to_json().unwrap(),
        r#"{"s":{"a":"${x}","k$":"pa$$word","n":1}}"#
    );
    assert_eq!(
        e.to_json(true).unwrap().to_json().unwrap(),
        r#"{"s":{"a":"${x}","k$":"[secret]","n":1}}"#
    );
}

#[test]
fn reserved_keys_of_a_write_back() {
    // §1.5: a key starting with `fn::` (any case) is a call or an error
    // when read back; inside a secret container it is JSON text.
    let secret = |v: PlainValue| PlainValue::Secret(Box::new(v));
    let patch = |replacement: PlainValue| Patch {
        doc_path: "values.r[\"fn::rotate::x\"].state".into(),
        replacement,
    };
    let call = PlainValue::object([("fn::open::aws-login", PlainValue::object::<&str>([]))]);
    assert_eq!(
        patch(PlainValue::object([("current", call.clone())])).reserved_key(),
        Some("fn::open::aws-login")
    );
    let nested = PlainValue::object([(
        "a",
        PlainValue::Array(vec![
            PlainValue::Null,
            PlainValue::object([
                ("fine", PlainValue::string("fn::secret")),
                ("FN::Secret", PlainValue::string("x")),
            ]),
        ]),
    )]);
    assert_eq!(patch(nested).reserved_key(), Some("FN::Secret"));
    for safe in [
        PlainValue::object([("fn:", PlainValue::Null), ("xfn::y", PlainValue::Null)]),
        PlainValue::object([("é", PlainValue::string("fn::open::x"))]),
        PlainValue::object([("s", secret(call))]),
        PlainValue::string("fn::secret"),
    ] {
        assert_eq!(patch(safe.clone()).reserved_key(), None, "{safe:?}");
    }
}
