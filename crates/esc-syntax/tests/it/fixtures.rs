//! Ranges and interpolation load errors against the conformance fixtures
//! (`shared/conformance/esc-eval/*/expected.json`): every expression range
//! in `check.exprs` must be the range of the matching node of our tree,
//! every accessor range the range our interpolation parser gives, and the
//! interpolation load errors of `loadDiags` exactly the ones we report.

use std::path::{Path, PathBuf};

use esc_syntax::{
    Accessor, DocPath, Node, NodeKind, Pos, Range, parse_document, parse_interpolation,
};
use serde_json::Value;

const INTERPOLATION_ERRORS: &[&str] = &[
    "missing closing brace '}' in interpolation",
    "property name must not be empty",
    "subscript is missing closing bracket ']'",
    "key subscript is missing closing quote '\"'",
    "key subscript must not be empty",
    "numeric subscript must be a positive base-10 integer",
    "the first accessor must be a property name or key subscript, not a numeric subscript",
];

fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/conformance/esc-eval")
}

struct Case {
    name: String,
    text: String,
    expected: Value,
}

fn cases() -> Vec<Case> {
    let mut cases = Vec::new();
    for entry in std::fs::read_dir(fixtures_dir()).unwrap() {
        let dir = entry.unwrap().path();
        let expected = dir.join("expected.json");
        if !expected.exists() {
            continue;
        }
        let mut name = dir.file_name().unwrap().to_str().unwrap().to_owned();
        if let Ok(overrides) = std::fs::read_to_string(dir.join("overrides.json")) {
            let overrides: Value = serde_json::from_str(&overrides).unwrap();
            if let Some(root) = overrides["rootEnvironment"].as_str() {
                name = root.to_owned();
            }
        }
        cases.push(Case {
            name,
            text: std::fs::read_to_string(dir.join("env.yaml")).unwrap(),
            expected: serde_json::from_str(&std::fs::read_to_string(expected).unwrap()).unwrap(),
        });
    }
    cases.sort_by(|a, b| a.name.cmp(&b.name));
    assert!(
        cases.len() >= 30,
        "fixtures not found under {:?}",
        fixtures_dir()
    );
    cases
}

fn pos(value: &Value) -> Pos {
    let n = |k: &str| u32::try_from(value[k].as_u64().unwrap()).unwrap();
    Pos {
        line: n("line"),
        column: n("column"),
        byte: n("byte"),
    }
}

fn expected_range(value: &Value) -> Option<(Pos, Pos)> {
    let (start, end) = (pos(&value["begin"]), pos(&value["end"]));
    (start.line != 0).then_some((start, end))
}

fn lookup<'a>(mapping: &'a Node, key: &str) -> Option<&'a Node> {
    match &mapping.kind {
        NodeKind::Mapping(entries) => entries
            .iter()
            .find(|(k, _)| k.as_str() == Some(key))
            .map(|(_, v)| v),
        _ => None,
    }
}

/// Compares ranges of an `Expr` (spec §9) with a node, recursively.
struct Checker {
    checked: usize,
    mismatches: Vec<String>,
}

impl Checker {
    fn compare(&mut self, what: &str, expected: &Value, actual: &Range) {
        if let Some((start, end)) = expected_range(expected) {
            self.checked += 1;
            if (start, end) != (actual.start, actual.end) {
                self.mismatches.push(format!(
                    "{what}: expected {start:?}..{end:?}, got {:?}..{:?}",
                    actual.start, actual.end
                ));
            }
        }
    }

    fn expr(&mut self, what: &str, expr: &Value, node: &Node) {
        self.compare(what, &expr["range"], &node.range);
        if let Some(builtin) = expr.get("builtin") {
            let NodeKind::Mapping(entries) = &node.kind else {
                self.mismatches
                    .push(format!("{what}: builtin is not a mapping"));
                return;
            };
            let (key, arg) = &entries[0];
            self.compare(&format!("{what} name"), &builtin["nameRange"], &key.range);
            self.expr(&format!("{what}/arg"), &builtin["arg"], arg);
            return;
        }
        if let Some(list) = expr.get("list").and_then(Value::as_array) {
            let NodeKind::Sequence(items) = &node.kind else {
                self.mismatches
                    .push(format!("{what}: list is not a sequence"));
                return;
            };
            for (i, (e, n)) in list.iter().zip(items).enumerate() {
                self.expr(&format!("{what}[{i}]"), e, n);
            }
            return;
        }
        if let Some(object) = expr.get("object").and_then(Value::as_object) {
            for (key, e) in object {
                match lookup(node, key) {
                    Some(n) => self.expr(&format!("{what}.{key}"), e, n),
                    // the reference synthesises missing builtin arguments with zero ranges
                    None if expected_range(&e["range"]).is_none() => {}
                    None => self.mismatches.push(format!("{what}: no key {key:?}")),
                }
            }
            if let Some(key_ranges) = expr.get("keyRanges").and_then(Value::as_object) {
                let NodeKind::Mapping(entries) = &node.kind else {
                    return;
                };
                for (key, range) in key_ranges {
                    // the reference's key-range map keeps the last duplicate
                    if let Some((k, _)) = entries.iter().rfind(|(k, _)| k.as_str() == Some(key)) {
                        self.compare(&format!("{what} key {key}"), range, &k.range);
                    }
                }
            }
            return;
        }
        let accessors: Vec<&Value> = if let Some(symbol) = expr.get("symbol") {
            symbol.as_array().unwrap().iter().collect()
        } else if let Some(parts) = expr.get("interpolate") {
            parts
                .as_array()
                .unwrap()
                .iter()
                .filter_map(|p| p.get("value").and_then(Value::as_array))
                .flatten()
                .collect()
        } else {
            Vec::new()
        };
        if accessors.is_empty() {
            return;
        }
        let Some(value) = node.as_str() else {
            self.mismatches
                .push(format!("{what}: access in a non-string node"));
            return;
        };
        let (parsed, _) = parse_interpolation(value, node);
        let ours: Vec<&Accessor> = parsed
            .parts
            .iter()
            .filter_map(|p| p.access.as_ref())
            .flat_map(|a| &a.accessors)
            .collect();
        if ours.len() != accessors.len() {
            self.mismatches.push(format!(
                "{what}: {} accessors expected, {} parsed",
                accessors.len(),
                ours.len()
            ));
            return;
        }
        for (i, (e, a)) in accessors.iter().zip(ours).enumerate() {
            self.compare(&format!("{what} accessor {i}"), &e["range"], a.range());
            match (e.get("key"), e.get("index"), a) {
                (Some(k), _, Accessor::Name { name: key, .. } | Accessor::Key { key, .. }) => {
                    if k.as_str() != Some(key.as_str()) {
                        self.mismatches
                            .push(format!("{what} accessor {i}: key {k} vs {key:?}"));
                    }
                }
                (_, Some(ix), Accessor::Index { index, .. }) => {
                    if ix.as_i64() != Some(*index) {
                        self.mismatches
                            .push(format!("{what} accessor {i}: {ix} vs {index}"));
                    }
                }
                _ => self
                    .mismatches
                    .push(format!("{what} accessor {i}: kind differs: {e} vs {a:?}")),
            }
        }
    }
}

#[test]
fn expression_and_accessor_ranges_match_the_reference() {
    let mut checker = Checker {
        checked: 0,
        mismatches: Vec::new(),
    };
    for case in cases() {
        let Some(exprs) = case.expected["check"]["exprs"].as_object() else {
            continue;
        };
        let root = parse_document(&case.name, &case.text).unwrap().unwrap();
        assert_eq!(&*root.range.filename, case.name);
        let values = lookup(&root, "values").unwrap();
        for (key, expr) in exprs {
            let node = lookup(values, key).unwrap();
            checker.expr(&format!("{}: {key}", case.name), expr, node);
        }
    }
    assert!(
        checker.mismatches.is_empty(),
        "{} of {} ranges differ:\n{}",
        checker.mismatches.len(),
        checker.checked,
        checker.mismatches.join("\n")
    );
    assert!(
        checker.checked > 500,
        "only {} ranges checked",
        checker.checked
    );
}

/// Every string node of the tree with its document path.
fn strings<'a>(node: &'a Node, path: DocPath, out: &mut Vec<(DocPath, &'a Node)>) {
    match &node.kind {
        NodeKind::String { .. } => out.push((path, node)),
        NodeKind::Sequence(items) => {
            for (i, item) in items.iter().enumerate() {
                strings(item, path.index(i), out);
            }
        }
        NodeKind::Mapping(entries) => {
            for (key, value) in entries {
                let key_path = path.key(key.as_str().unwrap());
                strings(value, key_path, out);
            }
        }
        _ => {}
    }
}

fn diag_key(summary: &str, path: &str, start: Pos, end: Pos) -> String {
    format!("{path} {summary} {start:?}..{end:?}")
}

#[test]
fn interpolation_load_errors_match_the_reference() {
    let mut compared = 0;
    for case in cases() {
        let Ok(Some(root)) = parse_document(&case.name, &case.text) else {
            continue;
        };
        let mut expected: Vec<String> = case.expected["loadDiags"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|d| INTERPOLATION_ERRORS.contains(&d["Summary"].as_str().unwrap()))
            .map(|d| {
                let s = &d["Subject"];
                let p = |v: &Value| Pos {
                    line: v["Line"].as_u64().unwrap() as u32,
                    column: v["Column"].as_u64().unwrap() as u32,
                    byte: v["Byte"].as_u64().unwrap() as u32,
                };
                diag_key(
                    d["Summary"].as_str().unwrap(),
                    d["Path"].as_str().unwrap(),
                    p(&s["Start"]),
                    p(&s["End"]),
                )
            })
            .collect();
        let Some(values) = lookup(&root, "values") else {
            continue;
        };
        let mut nodes = Vec::new();
        strings(values, DocPath::root().key("values"), &mut nodes);
        let mut actual = Vec::new();
        for (path, node) in nodes {
            let (_, diags) = parse_interpolation(node.as_str().unwrap(), node);
            for d in diags {
                let r = d.range.unwrap();
                actual.push(diag_key(&d.summary, path.as_str(), r.start, r.end));
            }
        }
        expected.sort();
        actual.sort();
        compared += expected.len();
        assert_eq!(actual, expected, "case {}", case.name);
    }
    assert!(
        compared >= 10,
        "only {compared} interpolation errors compared"
    );
}

#[test]
fn unterminated_array_is_one_rangeless_error() {
    let dir = fixtures_dir().join("unterminated-array");
    let text = std::fs::read_to_string(dir.join("env.yaml")).unwrap();
    let err = parse_document("unterminated-array", &text).unwrap_err();
    assert!(err.range.is_none());
    assert_eq!(err.path, "");
    assert!(err.summary.starts_with("yaml: line "), "{}", err.summary);
    assert!(
        err.summary.contains("did not find expected ',' or ']'"),
        "{}",
        err.summary
    );
}

#[test]
fn every_fixture_document_parses() {
    for entry in walk(&fixtures_dir()) {
        let text = std::fs::read_to_string(&entry).unwrap();
        let result = parse_document("x", &text);
        let is_unterminated = entry.to_string_lossy().contains("unterminated-array");
        assert_eq!(result.is_err(), is_unterminated, "{entry:?}: {result:?}");
    }
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else if path.extension().is_some_and(|e| e == "yaml") {
            out.push(path);
        }
    }
    out
}
