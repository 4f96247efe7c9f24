//! Unit tests of the §9 `exprs`: ranges of interpolation accessors and of
//! nested builtin calls, worked out by hand from the YAML text (spec §1.1
//! and §2.1 range rules), and that plain `environment()` builds none.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use async_trait::async_trait;

use crate::*;

struct Nothing;

#[async_trait]
impl ProviderLoader for Nothing {
    async fn load_provider(&self, name: &str) -> Result<Arc<dyn Provider>, CallError> {
        Err(CallError::new(format!(
            "unknown provider {}",
            go_quote(name)
        )))
    }

    async fn load_rotator(&self, name: &str) -> Result<Arc<dyn Rotator>, CallError> {
        Err(CallError::new(format!(
            "unknown rotator {}",
            go_quote(name)
        )))
    }
}

#[async_trait]
impl EnvironmentLoader for Nothing {
    async fn load_environment(&self, name: &str) -> Result<LoadedEnvironment, CallError> {
        Err(CallError::new(format!("environment {name} not found")))
    }
}

#[async_trait]
impl Decrypter for Nothing {
    async fn decrypt(&self, _ciphertext: &[u8]) -> Result<Vec<u8>, CallError> {
        Err(CallError::new("no decrypter"))
    }
}

async fn full(text: &str, mode: Mode) -> Environment {
    let (environment, load_diags) = full_with_load_diagnostics(text, mode).await;
    assert!(load_diags.is_empty(), "{load_diags:?}");
    environment
}

/// The full environment and the load diagnostics' summaries.
async fn full_with_load_diagnostics(text: &str, mode: Mode) -> (Environment, Vec<String>) {
    let session = Session {
        providers: Arc::new(Nothing),
        environments: Arc::new(Nothing),
        decrypter: Arc::new(Nothing),
        context: PlainValue::object::<String>([]),
        limits: Limits::default(),
    };
    let (def, diags) = load_definition("root", text);
    let load_diags = diags.into_iter().map(|d| d.summary).collect();
    let evaluation = evaluate(&def.unwrap(), mode, &session).await.unwrap();
    assert!(
        evaluation.diagnostics().is_empty(),
        "{:?}",
        evaluation.diagnostics()
    );
    assert!(evaluation.environment().unwrap().exprs.is_empty());
    (evaluation.full_environment().unwrap(), load_diags)
}

/// `line:column(byte)-line:column(byte)` of a §9 Range (`@` prefix when it
/// names no environment).
fn range(v: &PlainValue) -> String {
    let pos = |p: &PlainValue| {
        let n = |k: &str| match p.member(k) {
            Some(PlainValue::Number(n)) => n.clone(),
            other => panic!("{k}: {other:?}"),
        };
        format!("{}:{}({})", n("line"), n("column"), n("byte"))
    };
    let prefix = match v.member("environment") {
        Some(PlainValue::String(name)) => {
            assert_eq!(name, "root");
            ""
        }
        None => "@",
        other => panic!("environment: {other:?}"),
    };
    format!(
        "{prefix}{}-{}",
        pos(v.member("begin").unwrap()),
        pos(v.member("end").unwrap())
    )
}

fn at<'v>(v: &'v PlainValue, path: &[&str]) -> &'v PlainValue {
    path.iter().fold(v, |v, k| match (v, k.parse::<usize>()) {
        (PlainValue::Array(items), Ok(i)) => &items[i],
        _ => v
            .member(k)
            .unwrap_or_else(|| panic!("no {k} in {}", v.to_json().unwrap())),
    })
}

fn json(v: &PlainValue) -> String {
    v.to_json().unwrap()
}

// Lines start at bytes 0, 8, 17, 41 and 46.
const INTERPOLATION: &str = "values:
  a: foo
  b: x-${a}-y ${c.d[0]}
  c:
    d: [bar]
";

#[tokio::test]
async fn interpolation_accessors_have_their_own_ranges_and_resolved_values() {
    let env = full(INTERPOLATION, Mode::Eval).await;
    let b = &env.exprs["b"];
    // The plain scalar starts at column 6 and is 18 bytes long.
    assert_eq!(range(at(b, &["range"])), "3:6(22)-3:24(40)");
    assert_eq!(json(at(b, &["schema"])), r#"{"type":"string"}"#);
    let parts = at(b, &["interpolate"]);
    assert_eq!(json(at(parts, &["0", "text"])), r#""x-""#);
    assert_eq!(json(at(parts, &["1", "text"])), r#""-y ""#);
    let first = at(parts, &["0", "value", "0"]);
    assert_eq!(json(at(first, &["key"])), r#""a""#);
    // `a` is byte 4 of the scalar.
    assert_eq!(range(at(first, &["range"])), "3:10(26)-3:11(27)");
    // ... and resolves to the literal `foo`.
    assert_eq!(range(at(first, &["value"])), "2:6(13)-2:9(16)");
    let second = at(parts, &["1", "value"]);
    let PlainValue::Array(accessors) = second else {
        panic!("{}", json(second))
    };
    assert_eq!(accessors.len(), 3);
    // `c` (byte 11), `.d` with its dot (12..14), `[0]` (14..17).
    let ranges: Vec<String> = accessors.iter().map(|a| range(at(a, &["range"]))).collect();
    assert_eq!(
        ranges,
        [
            "3:17(33)-3:18(34)",
            "3:18(34)-3:20(36)",
            "3:20(36)-3:23(39)"
        ]
    );
    assert_eq!(json(at(&accessors[2], &["index"])), "0");
    // They resolve to the mapping under `c` (starting at its first key),
    // the flow sequence, and its element.
    let values: Vec<String> = accessors.iter().map(|a| range(at(a, &["value"]))).collect();
    assert_eq!(
        values,
        ["5:5(50)-5:12(57)", "5:8(53)-5:12(57)", "5:9(54)-5:12(57)"]
    );
}

#[tokio::test]
async fn quoted_interpolation_accessors_have_no_range_of_their_own() {
    let env = full(
        "values:\n  a: foo\n  b: \"${a}!\"\n",
        Mode::Check {
            show_secrets: false,
        },
    )
    .await;
    let accessor = at(&env.exprs["b"], &["interpolate", "0", "value", "0"]);
    assert_eq!(range(at(accessor, &["range"])), "0:0(0)-0:0(0)");
    assert_eq!(range(at(accessor, &["value"])), "2:6(13)-2:9(16)");
}

// Lines start at bytes 0, 8, 13, 31, 47 and 61.
const NESTED: &str = "values:
  n:
    fn::toBase64:
      fn::join:
        - \"-\"
        - [x, y]
";

#[tokio::test]
async fn nested_builtins_have_call_name_and_argument_ranges() {
    let env = full(NESTED, Mode::Eval).await;
    let n = &env.exprs["n"];
    // The call is the mapping under `n`: from its key to the end of its
    // last value (`y`).
    assert_eq!(range(at(n, &["range"])), "3:5(17)-6:16(76)");
    assert_eq!(json(at(n, &["schema"])), r#"{"type":"string"}"#);
    let outer = at(n, &["builtin"]);
    assert_eq!(json(at(outer, &["name"])), r#""fn::toBase64""#);
    assert_eq!(range(at(outer, &["nameRange"])), "3:5(17)-3:17(29)");
    assert_eq!(json(at(outer, &["argSchema"])), r#"{"type":"string"}"#);
    let join = at(outer, &["arg"]);
    assert_eq!(range(at(join, &["range"])), "4:7(37)-6:16(76)");
    assert_eq!(json(at(join, &["schema"])), r#"{"type":"string"}"#);
    let inner = at(join, &["builtin"]);
    assert_eq!(json(at(inner, &["name"])), r#""fn::join""#);
    assert_eq!(range(at(inner, &["nameRange"])), "4:7(37)-4:15(45)");
    assert_eq!(
        json(at(inner, &["argSchema"])),
        r#"{"items":false,"prefixItems":[{"type":"string"},{"items":{"type":"string"},"type":"array"}],"type":"array"}"#
    );
    // The argument list: the block sequence from its first `-`; no schema
    // (the reference builds it for the output only).
    let arg = at(inner, &["arg"]);
    assert_eq!(range(at(arg, &["range"])), "5:9(55)-6:16(76)");
    assert!(arg.member("schema").is_none());
    // A quoted scalar starts at its quote and ends one byte of value later.
    let delimiter = at(arg, &["list", "0"]);
    assert_eq!(range(at(delimiter, &["range"])), "5:11(57)-5:12(58)");
    assert_eq!(json(at(delimiter, &["literal"])), r#""-""#);
    let values = at(arg, &["list", "1"]);
    assert_eq!(range(at(values, &["range"])), "6:11(71)-6:16(76)");
    assert_eq!(
        range(at(values, &["list", "1", "range"])),
        "6:15(75)-6:16(76)"
    );
    assert_eq!(
        json(at(values, &["schema"])),
        r#"{"items":false,"prefixItems":[{"const":"x","type":"string"},{"const":"y","type":"string"}],"type":"array"}"#
    );
}

#[tokio::test]
async fn unevaluated_expressions_keep_their_declared_schema() {
    // In check mode a reference into an unknown call result resolves to the
    // whole expression's range; the open has no provider, so its inputs
    // are never evaluated and keep the schema declared for a list.
    // Lines start at bytes 0, 8 and 45.
    let (env, load_diags) = full_with_load_diagnostics(
        "values:\n  o: { fn::open: { inputs: [ x ] } }\n  r: ${o.p}\n",
        Mode::Check {
            show_secrets: false,
        },
    )
    .await;
    assert_eq!(load_diags, ["missing provider name ('provider')"]);
    let open = at(&env.exprs["o"], &["builtin"]);
    assert_eq!(range(at(open, &["arg", "range"])), "@0:0(0)-0:0(0)");
    let provider = at(open, &["arg", "object", "provider"]);
    assert_eq!(range(at(provider, &["range"])), "0:0(0)-0:0(0)");
    assert_eq!(json(at(provider, &["schema"])), "true");
    let inputs = at(open, &["arg", "object", "inputs"]);
    assert_eq!(
        json(at(inputs, &["schema"])),
        r#"{"items":true,"type":"array"}"#
    );
    let accessors = at(&env.exprs["r"], &["symbol"]);
    // `o` is the call (the flow mapping from its brace to the end of `x`),
    // `.p` reaches into its unknown result.
    assert_eq!(range(at(&env.exprs["o"], &["range"])), "2:6(13)-2:31(38)");
    assert_eq!(range(at(accessors, &["0", "value"])), "2:6(13)-2:31(38)");
    assert_eq!(range(at(accessors, &["1", "value"])), "3:6(50)-3:12(56)");
}

#[test]
fn evaluations_keeping_the_driver_state_stay_shareable() {
    // `Evaluation` keeps the driver's state for `full_environment`; callers
    // hold evaluations across awaits and threads.
    fn shareable<T: Send + Sync>() {}
    shareable::<Evaluation>();
}
