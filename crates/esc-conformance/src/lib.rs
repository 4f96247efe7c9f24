//! Runs the ESC language conformance fixtures (spec/LANGUAGE.md section 8)
//! against esc-eval and compares at the values level: JSON projections
//! (numbers as text), rotation patches, diagnostics as multisets of
//! (severity, summary, path).

pub mod providers;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use esc_eval::{Evaluation, Limits, Mode, PlainValue, Session};
use esc_syntax::{Diagnostic, Severity};

use crate::providers::{CaseLoader, Rot128, TestProviders};

/// The execution context of every case.
pub fn fixture_context() -> PlainValue {
    PlainValue::object([(
        "pulumi",
        PlainValue::object([(
            "user",
            PlainValue::object([("id", PlainValue::string("USER_123"))]),
        )]),
    )])
}

/// The options of a case (`overrides.json`).
#[derive(Clone, Debug, Default)]
pub struct Overrides {
    /// Decrypt in check mode.
    pub show_secrets: bool,
    /// Root environment name (default: the directory name).
    pub root_environment: Option<String>,
    /// Also run rotate mode.
    pub rotate: bool,
    /// Rotation selection (property paths relative to `values`).
    pub rotate_paths: Vec<String>,
}

/// Read `overrides.json` (absent: defaults).
pub fn read_overrides(dir: &Path) -> Result<Overrides> {
    let path = dir.join("overrides.json");
    if !path.exists() {
        return Ok(Overrides::default());
    }
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let v = PlainValue::from_json_document(&text)
        .with_context(|| format!("parsing {}", path.display()))?;
    let flag = |k: &str| matches!(v.member(k), Some(PlainValue::Bool(true)));
    Ok(Overrides {
        show_secrets: flag("showSecrets"),
        root_environment: v
            .member("rootEnvironment")
            .and_then(PlainValue::as_str)
            .map(str::to_string),
        rotate: flag("rotate"),
        rotate_paths: match v.member("rotatePaths") {
            Some(PlainValue::Array(items)) => items
                .iter()
                .filter_map(|i| i.as_str().map(str::to_string))
                .collect(),
            _ => Vec::new(),
        },
    })
}

/// Everything a case produces, in the shape of `expected.json`.
#[derive(Debug, Default)]
pub struct CaseOutput {
    /// Load diagnostics.
    pub load_diags: Vec<Diagnostic>,
    /// Check diagnostics.
    pub check_diags: Vec<Diagnostic>,
    /// Redacted JSON of check.
    pub check_json: Option<PlainValue>,
    /// Eval diagnostics.
    pub eval_diags: Vec<Diagnostic>,
    /// Redacted JSON of eval.
    pub eval_json_redacted: Option<PlainValue>,
    /// Revealed JSON of eval.
    pub eval_json_revealed: Option<PlainValue>,
    /// Rotate diagnostics.
    pub rotate_diags: Vec<Diagnostic>,
    /// Redacted JSON of rotate.
    pub rotate_json: Option<PlainValue>,
    /// `(DocPath, plain JSON of the replacement)`, sorted.
    pub rotate_patches: Vec<(String, PlainValue)>,
    /// `(DocPath, §9 Value JSON of the replacement)`, sorted (for `--full`).
    pub rotate_patch_values: Vec<(String, PlainValue)>,
    /// §9 structures of check, eval and rotate (for `--full`).
    pub environments: Vec<(&'static str, Option<PlainValue>)>,
}

/// Delays for the benchmark (zero for conformance).
#[derive(Clone, Copy, Debug, Default)]
pub struct Delays {
    /// Per provider open.
    pub open: Duration,
    /// Per environment load.
    pub load: Duration,
}

/// Run the load/check/eval/rotate procedure of spec §8 on one case;
/// `full`: also build the whole §9 structures (`exprs` included).
pub async fn run_case(dir: &Path, delays: Delays, full: bool) -> Result<CaseOutput> {
    let case = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let overrides = read_overrides(dir)?;
    let name = overrides
        .root_environment
        .clone()
        .unwrap_or_else(|| case.clone());
    let text = std::fs::read_to_string(dir.join("env.yaml")).context("reading env.yaml")?;
    let loader = CaseLoader {
        dir: dir.to_path_buf(),
        case: case.clone(),
        load_delay: delays.load,
        preloaded: None,
    };
    let session = Session {
        providers: Arc::new(TestProviders {
            open_delay: delays.open,
        }),
        environments: Arc::new(loader),
        decrypter: Arc::new(Rot128),
        context: fixture_context(),
        limits: Limits::default(),
    };
    run_text(&name, &text, &overrides, &session, full).await
}

/// [`run_case`] on a definition text with a ready session.
pub async fn run_text(
    name: &str,
    text: &str,
    overrides: &Overrides,
    session: &Session,
    full: bool,
) -> Result<CaseOutput> {
    let structure = |e: &Evaluation| {
        let environment = if full {
            e.full_environment()
        } else {
            e.environment()
        };
        environment.map(|e| e.to_plain())
    };
    let mut out = CaseOutput::default();
    let (definition, load_diags) = esc_eval::load_definition(name, text);
    out.load_diags = load_diags;
    let Some(definition) = definition else {
        return Ok(out);
    };
    let check = esc_eval::evaluate(
        &definition,
        Mode::Check {
            show_secrets: overrides.show_secrets,
        },
        session,
    )
    .await?;
    out.check_diags = check.diagnostics().to_vec();
    out.check_json = check.to_json(true);
    out.environments.push(("check", structure(&check)));
    let eval = esc_eval::evaluate(&definition, Mode::Eval, session).await?;
    out.eval_diags = eval.diagnostics().to_vec();
    out.eval_json_redacted = eval.to_json(true);
    out.eval_json_revealed = eval.to_json(false);
    out.environments.push(("eval", structure(&eval)));
    if overrides.rotate {
        let paths = overrides
            .rotate_paths
            .iter()
            .map(|p| esc_eval::normalize_rotate_path(p).map_err(anyhow::Error::msg))
            .collect::<Result<Vec<_>>>()?;
        let rotate: Evaluation =
            esc_eval::evaluate(&definition, Mode::Rotate { paths }, session).await?;
        out.rotate_diags = rotate.diagnostics().to_vec();
        out.rotate_json = rotate.to_json(true);
        out.environments.push(("rotate", structure(&rotate)));
        let patches = rotate.patches();
        out.rotate_patch_values = patches
            .iter()
            .map(|p| (p.doc_path.clone(), patch_value_json(&p.replacement)))
            .collect();
        out.rotate_patches = patches
            .into_iter()
            .map(|p| (p.doc_path, p.replacement.revealed()))
            .collect();
    }
    Ok(out)
}

/// A readable listing of a case's output: one line per diagnostic
/// (`phase: E|W summary @file line:column(byte)-line:column(byte) path`),
/// then the JSON projections and patches.
pub fn print_case(out: &CaseOutput) -> String {
    use std::fmt::Write as _;
    let mut text = String::new();
    let phases = [
        ("load", &out.load_diags),
        ("check", &out.check_diags),
        ("eval", &out.eval_diags),
        ("rotate", &out.rotate_diags),
    ];
    for (phase, diags) in phases {
        for d in diags {
            let severity = if d.is_error() { 'E' } else { 'W' };
            let at = match &d.range {
                Some(r) => format!(
                    "{} {}:{}({})-{}:{}({})",
                    r.filename,
                    r.start.line,
                    r.start.column,
                    r.start.byte,
                    r.end.line,
                    r.end.column,
                    r.end.byte
                ),
                None => "-".to_string(),
            };
            let _ = writeln!(text, "{phase}: {severity} {} @{at} {}", d.summary, d.path);
        }
    }
    let json = |v: &Option<PlainValue>| match v {
        // Number texts JSON cannot carry (`+Inf`): the debug form instead.
        Some(v) => v.to_json().unwrap_or_else(|_| format!("{v:?}")),
        None => "-".to_string(),
    };
    let _ = writeln!(text, "checkJson: {}", json(&out.check_json));
    let _ = writeln!(text, "evalJsonRedacted: {}", json(&out.eval_json_redacted));
    let _ = writeln!(text, "evalJSONRevealed: {}", json(&out.eval_json_revealed));
    if out.rotate_json.is_some() {
        let _ = writeln!(text, "rotateJson: {}", json(&out.rotate_json));
    }
    for (path, value) in &out.rotate_patches {
        let _ = writeln!(text, "patch {path}: {}", json(&Some(value.clone())));
    }
    for (phase, environment) in &out.environments {
        if let Some(environment) = environment {
            let _ = writeln!(text, "{phase}: {}", json(&Some(environment.clone())));
        }
    }
    text
}

/// Compare a case's output with its `expected.json`; the first difference.
pub fn compare(dir: &Path, out: &CaseOutput) -> Result<Option<String>> {
    let text =
        std::fs::read_to_string(dir.join("expected.json")).context("reading expected.json")?;
    let expected = PlainValue::from_json_document(&text).context("parsing expected.json")?;
    let diags = [
        ("loadDiags", &out.load_diags),
        ("checkDiags", &out.check_diags),
        ("evalDiags", &out.eval_diags),
        ("rotateDiags", &out.rotate_diags),
    ];
    for (key, actual) in diags {
        if let Some(diff) = compare_diags(key, expected.member(key), actual)? {
            return Ok(Some(diff));
        }
    }
    let jsons = [
        ("checkJson", &out.check_json),
        ("evalJsonRedacted", &out.eval_json_redacted),
        ("evalJSONRevealed", &out.eval_json_revealed),
        ("rotateJson", &out.rotate_json),
    ];
    for (key, actual) in jsons {
        let wanted = expected.member(key);
        if wanted != actual.as_ref() {
            return Ok(Some(format!(
                "{key}: expected {}, got {}",
                show(wanted),
                show(actual.as_ref())
            )));
        }
    }
    let wanted_patches: Vec<(String, PlainValue)> = match expected.member("rotatePatches") {
        Some(PlainValue::Array(items)) => items
            .iter()
            .map(|p| {
                let path = p
                    .member("DocPath")
                    .and_then(PlainValue::as_str)
                    .unwrap_or_default()
                    .to_string();
                (
                    path,
                    p.member("Replacement")
                        .map(plain_of_value)
                        .unwrap_or_default(),
                )
            })
            .collect(),
        None => Vec::new(),
        Some(_) => bail!("rotatePatches is not an array"),
    };
    if wanted_patches != out.rotate_patches {
        let fmt = |ps: &[(String, PlainValue)]| {
            ps.iter()
                .map(|(p, v)| format!("{p} = {}", show(Some(v))))
                .collect::<Vec<_>>()
                .join("; ")
        };
        return Ok(Some(format!(
            "rotatePatches: expected [{}], got [{}]",
            fmt(&wanted_patches),
            fmt(&out.rotate_patches)
        )));
    }
    Ok(None)
}

/// The §9 `Value` JSON of a patch replacement: rotators return plain data
/// (the `Rotator` trait carries no traces), so every node is defined
/// nowhere (the zero range).
fn patch_value_json(v: &PlainValue) -> PlainValue {
    let (inner, secret) = match v {
        PlainValue::Secret(inner) => (inner.as_ref(), true),
        other => (other, false),
    };
    let payload = match inner {
        PlainValue::Null => None,
        PlainValue::Array(items) => Some(PlainValue::Array(
            items.iter().map(patch_value_json).collect(),
        )),
        PlainValue::Object(map) => Some(PlainValue::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), patch_value_json(v)))
                .collect(),
        )),
        scalar => Some(scalar.clone()),
    };
    let zero = || {
        PlainValue::object([
            ("line", PlainValue::Number("0".into())),
            ("column", PlainValue::Number("0".into())),
            ("byte", PlainValue::Number("0".into())),
        ])
    };
    let mut m = std::collections::BTreeMap::new();
    if let Some(p) = payload {
        m.insert("value".to_string(), p);
    }
    if secret {
        m.insert("secret".into(), PlainValue::Bool(true));
    }
    m.insert(
        "trace".into(),
        PlainValue::object([(
            "def",
            PlainValue::object([("begin", zero()), ("end", zero())]),
        )]),
    );
    PlainValue::Object(m)
}

fn show(v: Option<&PlainValue>) -> String {
    match v {
        None => "(absent)".into(),
        // Number texts JSON cannot carry (`+Inf`): the debug form instead.
        Some(v) => v.to_json().unwrap_or_else(|_| format!("{v:?}")),
    }
}

/// The plain data of a §9 `Value` JSON (`value` payloads, recursively).
fn plain_of_value(v: &PlainValue) -> PlainValue {
    match v.member("value") {
        None => PlainValue::Null,
        Some(PlainValue::Array(items)) => {
            PlainValue::Array(items.iter().map(plain_of_value).collect())
        }
        Some(PlainValue::Object(map)) => PlainValue::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), plain_of_value(v)))
                .collect(),
        ),
        Some(scalar) => scalar.clone(),
    }
}

/// (severity, summary, path, range-less parser error?)
type DiagKey = (u8, String, String, bool);

fn compare_diags(
    key: &str,
    expected: Option<&PlainValue>,
    actual: &[Diagnostic],
) -> Result<Option<String>> {
    let mut wanted: Vec<DiagKey> = Vec::new();
    match expected {
        None => {}
        Some(PlainValue::Array(items)) => {
            for d in items {
                let severity = match d.member("Severity") {
                    Some(PlainValue::Number(n)) if n == "2" => 2,
                    _ => 1,
                };
                let summary = d
                    .member("Summary")
                    .and_then(PlainValue::as_str)
                    .unwrap_or_default()
                    .to_string();
                let path = d
                    .member("Path")
                    .and_then(PlainValue::as_str)
                    .unwrap_or_default()
                    .to_string();
                let rangeless = matches!(d.member("Subject"), None | Some(PlainValue::Null));
                let parser = rangeless && summary.starts_with("yaml: ");
                wanted.push((severity, summary, path, parser));
            }
        }
        Some(_) => bail!("{key} is not an array"),
    }
    let mut got: Vec<DiagKey> = actual
        .iter()
        .map(|d| {
            let severity = if d.severity == Severity::Warning {
                2
            } else {
                1
            };
            (
                severity,
                d.summary.clone(),
                d.path.clone(),
                d.range.is_none(),
            )
        })
        .collect();
    let mut missing = Vec::new();
    for w in &wanted {
        let pos = got.iter().position(|g| {
            if w.3 {
                // Parser messages are implementation-specific: any range-less
                // load error matches (spec §8).
                g.0 == w.0 && g.3
            } else {
                g.0 == w.0 && g.1 == w.1 && g.2 == w.2
            }
        });
        match pos {
            Some(i) => {
                got.remove(i);
            }
            None => missing.push(w),
        }
    }
    if missing.is_empty() && got.is_empty() {
        return Ok(None);
    }
    let fmt = |d: &DiagKey| format!("{}{} @ {}", if d.0 == 2 { "W:" } else { "" }, d.1, d.2);
    let mut parts = Vec::new();
    if !missing.is_empty() {
        parts.push(format!(
            "missing [{}]",
            missing
                .iter()
                .map(|d| fmt(d))
                .collect::<Vec<_>>()
                .join("; ")
        ));
    }
    if !got.is_empty() {
        parts.push(format!(
            "unexpected [{}]",
            got.iter().map(fmt).collect::<Vec<_>>().join("; ")
        ));
    }
    Ok(Some(format!("{key}: {}", parts.join(", "))))
}

/// The two parts of the `--full` comparison, each `Some(first difference)`
/// when it fails.
#[derive(Debug, Default)]
pub struct FullVerdict {
    /// [`compare_structures`].
    pub structures: Option<String>,
    /// [`compare_patch_values`].
    pub patch_values: Option<String>,
}

/// Both parts of the `--full` comparison.
pub fn compare_full_parts(dir: &Path, out: &CaseOutput) -> Result<FullVerdict> {
    let text =
        std::fs::read_to_string(dir.join("expected.json")).context("reading expected.json")?;
    let expected = PlainValue::from_json_document(&text).context("parsing expected.json")?;
    Ok(FullVerdict {
        structures: compare_structures(&expected, out),
        patch_values: compare_patch_values(&expected, out),
    })
}

/// The §9 structures of check, eval and rotate: `exprs` (ranges, kinds,
/// schemas, bases, resolved accessors), `properties` (values, flags, traces
/// with bases), `schema`, and the execution context's properties and
/// schema.
pub fn compare_structures(expected: &PlainValue, out: &CaseOutput) -> Option<String> {
    for (key, actual) in &out.environments {
        let wanted = expected.member(key);
        let pick = |env: Option<&PlainValue>| {
            env.map(|e| {
                let context = e.member("executionContext");
                PlainValue::object([
                    (
                        "exprs",
                        // The reference leaves an empty map out.
                        e.member("exprs")
                            .filter(|x| !matches!(x, PlainValue::Null))
                            .cloned()
                            .unwrap_or_else(|| PlainValue::Object(Default::default())),
                    ),
                    (
                        "properties",
                        e.member("properties").cloned().unwrap_or_default(),
                    ),
                    ("schema", e.member("schema").cloned().unwrap_or_default()),
                    (
                        "executionContext",
                        context
                            .and_then(|c| c.member("properties"))
                            .cloned()
                            .unwrap_or_default(),
                    ),
                    (
                        "executionContextSchema",
                        context
                            .and_then(|c| c.member("schema"))
                            .cloned()
                            .unwrap_or_default(),
                    ),
                ])
            })
        };
        let (w, a) = (pick(wanted), pick(actual.as_ref()));
        if w != a {
            return Some(first_difference(w.as_ref(), a.as_ref(), key));
        }
    }
    None
}

/// The rotation patches' replacements as §9 Values (payload, flags and
/// traces), by DocPath.
pub fn compare_patch_values(expected: &PlainValue, out: &CaseOutput) -> Option<String> {
    let wanted_patches = PlainValue::Object(match expected.member("rotatePatches") {
        Some(PlainValue::Array(items)) => items
            .iter()
            .map(|p| {
                let path = p.member("DocPath").and_then(PlainValue::as_str);
                (
                    path.unwrap_or_default().to_string(),
                    p.member("Replacement").cloned().unwrap_or_default(),
                )
            })
            .collect(),
        _ => Default::default(),
    });
    let got_patches = PlainValue::Object(out.rotate_patch_values.iter().cloned().collect());
    if wanted_patches != got_patches {
        return Some(first_difference(
            Some(&wanted_patches),
            Some(&got_patches),
            "rotatePatches",
        ));
    }
    None
}

fn first_difference(w: Option<&PlainValue>, a: Option<&PlainValue>, path: &str) -> String {
    match (w, a) {
        (Some(PlainValue::Object(wm)), Some(PlainValue::Object(am))) => {
            for (k, wv) in wm {
                if am.get(k) != Some(wv) {
                    return first_difference(Some(wv), am.get(k), &format!("{path}.{k}"));
                }
            }
            for k in am.keys() {
                if !wm.contains_key(k) {
                    return format!("{path}.{k}: unexpected {}", show(am.get(k)));
                }
            }
            format!("{path}: differs")
        }
        (Some(PlainValue::Array(wl)), Some(PlainValue::Array(al))) if wl.len() == al.len() => {
            for (i, (wv, av)) in wl.iter().zip(al).enumerate() {
                if wv != av {
                    return first_difference(Some(wv), Some(av), &format!("{path}[{i}]"));
                }
            }
            format!("{path}: differs")
        }
        _ => format!("{path}: expected {}, got {}", show(w), show(a)),
    }
}

/// Case directories under `root` (sorted; `bench` is a benchmark, not a case).
pub fn case_dirs(root: &Path) -> Result<Vec<std::path::PathBuf>> {
    let mut dirs = Vec::new();
    for entry in std::fs::read_dir(root).with_context(|| format!("reading {}", root.display()))? {
        let path = entry?.path();
        if path.is_dir()
            && path.join("env.yaml").exists()
            && path.file_name().is_some_and(|n| n != "bench")
        {
            dirs.push(path);
        }
    }
    dirs.sort();
    Ok(dirs)
}
