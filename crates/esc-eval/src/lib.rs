//! Evaluation of ESC environments: imports, merge, builtins, secrets and unknowns, schemas; check, eval and rotate modes.
//!
//! Entry points:
//!
//! * [`load_definition`] parses a definition (the *load* phase) and returns
//!   its load diagnostics;
//! * [`evaluate`] evaluates it in a [`Mode`] (check, eval or rotate) with a
//!   [`Session`] (loaders, decrypter, execution context, [`Limits`]) and
//!   returns an [`Evaluation`]: diagnostics, the JSON projections of the
//!   properties, rotation records and patches.
//!
//! The outside world is reached through the traits of [`traits`]:
//! [`Provider`], [`Rotator`], [`ProviderLoader`], [`EnvironmentLoader`],
//! [`Decrypter`]. Independent imports load concurrently, independent
//! provider calls run concurrently, and an identical call is made once per
//! evaluation; results do not depend on timing.
//!
//! Mistakes in a document are diagnostics; `Err` ([`EvalError`]) is for the
//! caller's mistakes and for runaway evaluations.

mod builtins;
mod document;
mod eval;
mod exprs;
mod output;
mod plain;
mod quote;
mod run;
mod schema;
pub mod traits;
mod validate;
mod value;

use std::sync::Arc;

use esc_syntax::Diagnostic;

pub use builtins::encode_envelope;
pub use output::Environment;
pub use plain::{JsonError, PlainValue, write_json_string};
pub use quote::{go_quote, go_quote_bytes};
pub use schema::{ObjectSchema, Pattern, Schema, SchemaError};
pub use traits::{
    CallError, Decrypter, EnvironmentLoader, EnvironmentSource, LoadedEnvironment, Provider,
    ProviderContext, ProviderLoader, ProviderSchema, Rotator, RotatorSchema,
};

use crate::eval::PassOutput;
use crate::value::Value;

/// What an evaluation does with calls and secrets (spec §5).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Type-check: providers are not called; ciphertexts stay unknown
    /// unless `show_secrets`.
    Check {
        /// Decrypt ciphertexts.
        show_secrets: bool,
    },
    /// Evaluate: open providers, decrypt.
    Eval,
    /// Evaluate and rotate the selected `fn::rotate` calls of the root.
    Rotate {
        /// Normalised document paths of the calls to rotate (see
        /// [`normalize_rotate_path`]); empty = all.
        paths: Vec<String>,
    },
}

/// Resource limits of one evaluation (each breach is a clear diagnostic or
/// [`EvalError`], never a hang or a crash).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Environments loaded (imports and inline references, transitively).
    /// Default 256.
    pub max_environments: usize,
    /// Length in bytes of one interpolated string. Default 1 MiB.
    pub max_string_bytes: usize,
    /// Nesting of expression evaluation (references through references).
    /// Default 256.
    pub max_depth: usize,
    /// Evaluation passes (each resolves the outside calls the previous one
    /// discovered: the depth of provider calls depending on provider
    /// calls). Default 64.
    pub max_passes: usize,
    /// Values merged over each other (the chain of overridden values an
    /// import merge builds, transitive imports and repeated imports of one
    /// environment included). Default 256.
    pub max_merged: usize,
    /// Size of a value once every reference in it is expanded (a value
    /// referred to ten times counts ten times): 32 bytes per value plus
    /// its text (strings, numbers, keys). Applies to the root's values and
    /// to what interpolation and the string builtins expand. Default 8 MiB.
    pub max_expanded_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_environments: 256,
            max_string_bytes: 1 << 20,
            max_depth: 256,
            max_passes: 64,
            max_merged: 256,
            max_expanded_bytes: 8 << 20,
        }
    }
}

/// What an evaluation needs from its caller.
#[derive(Clone)]
pub struct Session {
    /// Finds providers and rotators.
    pub providers: Arc<dyn ProviderLoader>,
    /// Finds imported and referenced environments.
    pub environments: Arc<dyn EnvironmentLoader>,
    /// Decrypts the root definition's ciphertexts.
    pub decrypter: Arc<dyn Decrypter>,
    /// The execution context object (`${context...}`); must not contain
    /// `currentEnvironment` or `rootEnvironment`, which are added per
    /// environment.
    pub context: PlainValue,
    /// Resource limits.
    pub limits: Limits,
}

/// A parsed environment definition, ready to evaluate.
#[derive(Clone)]
pub struct Definition {
    doc: Arc<document::Document>,
    /// What it refers to (found once, at parse time).
    refs: Arc<run::DocRefs>,
}

impl Definition {
    /// The environment name it was loaded under.
    pub fn name(&self) -> &str {
        &self.doc.name
    }
}

/// Parse definition `text` of environment `name` (the load phase, spec
/// §1): the definition, if one resulted, and the load diagnostics.
pub fn load_definition(name: &str, text: &str) -> (Option<Definition>, Vec<Diagnostic>) {
    let parsed = ParsedEnvironment::parse(name, text);
    (parsed.definition(), parsed.diagnostics().to_vec())
}

/// A definition parsed once under an environment name, with its load
/// diagnostics (the load phase of spec §1, done ahead of evaluation).
///
/// Immutable, cheap to clone and shareable between threads and
/// evaluations: loaders cache it by immutable revision and hand it back as
/// [`EnvironmentSource::Parsed`], so a stored revision is parsed once, not
/// on every open (see `DESIGN.md`: the evaluator never re-parses).
#[derive(Clone)]
pub struct ParsedEnvironment {
    doc: Result<Definition, Arc<Diagnostic>>,
    source_len: usize,
}

impl ParsedEnvironment {
    /// Parse definition `text` of environment `name`.
    pub fn parse(name: &str, text: &str) -> Self {
        ParsedEnvironment {
            doc: document::load_document(name, text)
                .map(|doc| Definition {
                    refs: Arc::new(run::DocRefs::of(&doc)),
                    doc: Arc::new(doc),
                })
                .map_err(Arc::new),
            source_len: text.len(),
        }
    }

    /// The definition, unless a load error stopped loading.
    pub fn definition(&self) -> Option<Definition> {
        self.doc.as_ref().ok().cloned()
    }

    /// The load diagnostics (the aborting load error, if there was one).
    pub fn diagnostics(&self) -> &[Diagnostic] {
        match &self.doc {
            Ok(definition) => &definition.doc.diags,
            Err(diag) => std::slice::from_ref(diag.as_ref()),
        }
    }

    /// Whether `self` and `other` are clones of one parse.
    pub fn ptr_eq(&self, other: &Self) -> bool {
        match (&self.doc, &other.doc) {
            (Ok(a), Ok(b)) => Arc::ptr_eq(&a.doc, &b.doc),
            (Err(a), Err(b)) => Arc::ptr_eq(a, b),
            _ => false,
        }
    }

    /// Length in bytes of the text it was parsed from (a size hint for
    /// caches).
    pub fn source_len(&self) -> usize {
        self.source_len
    }

    /// The parse as the driver uses it.
    pub(crate) fn document(&self) -> Result<Definition, Diagnostic> {
        self.doc.clone().map_err(|diag| Diagnostic::clone(&diag))
    }
}

/// Evaluate `definition` in `mode`.
pub async fn evaluate(
    definition: &Definition,
    mode: Mode,
    session: &Session,
) -> Result<Evaluation, EvalError> {
    run::evaluate(definition, mode, session).await
}

/// Failures that are not mistakes in a document.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EvalError {
    /// The execution context supplied a key the evaluator owns.
    #[error("reserved context key: {}", go_quote(.0))]
    ReservedContextKey(String),
    /// Provider calls kept depending on provider calls beyond the limit.
    #[error("evaluation did not finish within {0} passes")]
    TooManyPasses(usize),
}

/// A property in string form (environment variables, files).
#[derive(Clone, PartialEq, Eq)]
pub struct StringProperty {
    /// The member name (the variable name).
    pub name: String,
    /// The string form (spec §2.3); `[unknown]` for unknowns.
    pub value: String,
    /// Whether the value is secret.
    pub secret: bool,
    /// Whether the value is unknown.
    pub unknown: bool,
}

impl std::fmt::Debug for StringProperty {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let value = if self.secret { "[secret]" } else { &self.value };
        f.debug_struct("StringProperty")
            .field("name", &self.name)
            .field("value", &value)
            .field("secret", &self.secret)
            .field("unknown", &self.unknown)
            .finish()
    }
}

/// Whether a rotation happened.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RotationStatus {
    /// The rotator returned a new state.
    Succeeded,
    /// The rotator failed.
    Failed,
    /// Inputs or state were unknown or invalid: not attempted.
    NotEvaluated,
}

impl RotationStatus {
    /// `succeeded`, `failed` or `not-evaluated`.
    pub fn as_str(self) -> &'static str {
        match self {
            RotationStatus::Succeeded => "succeeded",
            RotationStatus::Failed => "failed",
            RotationStatus::NotEvaluated => "not-evaluated",
        }
    }
}

/// A write-back of a new rotation state (spec §5.2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Patch {
    /// Where: `values.full["fn::rotate"].state`.
    pub doc_path: String,
    /// The new state; secret parts are marked [`PlainValue::Secret`].
    pub replacement: PlainValue,
}

impl Patch {
    /// The replacement as plain YAML data for write-back (spec §5.2): a
    /// secret string `s` becomes `{fn::secret: s}`, any other secret value
    /// `v` becomes `{fn::fromJSON: {fn::secret: <compact JSON of v>}}`
    /// (a secret container is wrapped whole).
    pub fn write_back_form(&self) -> PlainValue {
        write_back_form(&self.replacement)
    }

    /// The replacement as an edit for [`esc_syntax::edit::set_value`] at
    /// [`Self::doc_path`]: secrets marked for wrapping as in
    /// [`Self::write_back_form`], and every `$` in strings and keys doubled,
    /// because the definition reads strings through the interpolation
    /// grammar (a state `${x}` or `pa$$word` must read back as itself, not
    /// as a reference or `pa$word`).
    pub fn edit_value(&self) -> esc_syntax::edit::EditValue {
        edit_value(&self.replacement)
    }

    /// The first key of the replacement that a definition cannot hold as a
    /// literal key: one starting with `fn::` (any case) reads back as a
    /// builtin call or a load error (§1.5), so a state with one must not be
    /// written back (a rotator's reply would otherwise choose calls, e.g.
    /// `fn::open::…`, run at every open). Keys inside a secret other than a
    /// string are safe: [`Self::edit_value`] writes those as JSON text.
    pub fn reserved_key(&self) -> Option<&str> {
        reserved_key(&self.replacement)
    }
}

fn reserved_key(v: &PlainValue) -> Option<&str> {
    match v {
        PlainValue::Object(map) => map.iter().find_map(|(k, member)| {
            let reserved = k
                .as_bytes()
                .get(..4)
                .is_some_and(|prefix| prefix.eq_ignore_ascii_case(b"fn::"));
            if reserved {
                Some(k.as_str())
            } else {
                reserved_key(member)
            }
        }),
        PlainValue::Array(items) => items.iter().find_map(reserved_key),
        PlainValue::Null
        | PlainValue::Bool(_)
        | PlainValue::Number(_)
        | PlainValue::String(_)
        | PlainValue::Secret(_) => None,
    }
}

fn edit_value(v: &PlainValue) -> esc_syntax::edit::EditValue {
    use esc_syntax::edit::EditValue;
    let escape = |s: &str| s.replace('$', "$$");
    match v {
        PlainValue::Null => EditValue::Null,
        PlainValue::Bool(b) => EditValue::Bool(*b),
        PlainValue::Number(n) => EditValue::Number(n.clone()),
        PlainValue::String(s) => EditValue::String(escape(s)),
        PlainValue::Array(items) => EditValue::Sequence(items.iter().map(edit_value).collect()),
        PlainValue::Object(map) => EditValue::Mapping(
            map.iter()
                .map(|(k, member)| (escape(k), edit_value(member)))
                .collect(),
        ),
        PlainValue::Secret(inner) => EditValue::Secret(Box::new(edit_value(inner))),
    }
}

fn write_back_form(v: &PlainValue) -> PlainValue {
    match v {
        PlainValue::Secret(inner) => match inner.unwrap_secret() {
            PlainValue::String(s) => PlainValue::object([("fn::secret", PlainValue::string(s))]),
            other => {
                // Numbers come from JSON or YAML text, so they encode; an
                // invalid number text falls back to its string form.
                let json = other.to_json().unwrap_or_else(|_| format!("{other:?}"));
                PlainValue::object([(
                    "fn::fromJSON",
                    PlainValue::object([("fn::secret", PlainValue::String(json))]),
                )])
            }
        },
        PlainValue::Array(items) => PlainValue::Array(items.iter().map(write_back_form).collect()),
        PlainValue::Object(map) => PlainValue::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), write_back_form(v)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// One selected `fn::rotate` call in rotate mode.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RotationRecord {
    /// Document path of the call (the mapping holding the `fn::rotate` key).
    pub path: String,
    /// What happened.
    pub status: RotationStatus,
    /// Diagnostics of this rotation.
    pub diags: Vec<Diagnostic>,
    /// The patch, when the rotation succeeded.
    pub patch: Option<Patch>,
}

/// The result of [`evaluate`].
pub struct Evaluation {
    root: Option<Value>,
    context: Value,
    diags: Vec<Diagnostic>,
    rotations: Vec<RotationRecord>,
    n_passes: usize,
    n_calls: usize,
    /// What the evaluation read (documents, providers, every outside call's
    /// result): kept to build the §9 `exprs` on request.
    run: Arc<run::RunState>,
}

impl Evaluation {
    fn new(output: PassOutput, n_passes: usize, run: run::RunState) -> Self {
        let n_calls = run.cache.len() + run.n_decrypts;
        Evaluation {
            root: output.root,
            context: output.context,
            diags: output.diags,
            rotations: output.rotations,
            n_passes,
            n_calls,
            run: Arc::new(run),
        }
    }

    /// Diagnostics of this phase (imported environments' included).
    pub fn diagnostics(&self) -> &[Diagnostic] {
        &self.diags
    }

    /// Whether the definition evaluated to nothing (no values, no imports).
    pub fn is_empty(&self) -> bool {
        self.root.is_none()
    }

    /// The JSON projection of the properties (spec §4): with `redact`,
    /// secrets are `"[secret]"`; unknowns are `"[unknown]"`. `None` for an
    /// empty definition.
    pub fn to_json(&self, redact: bool) -> Option<PlainValue> {
        self.root.as_ref().map(|v| v.export(redact))
    }

    /// The properties as plain data with secret marks (unknowns are
    /// absent): what `esc env get`/`run` consume.
    pub fn to_plain(&self) -> Option<PlainValue> {
        self.root.as_ref().map(Value::to_plain)
    }

    /// The `Environment` structure of spec §9 without `exprs` (properties,
    /// schema and execution context): what consumers of values need.
    pub fn environment(&self) -> Option<Environment> {
        self.root
            .as_ref()
            .map(|root| Environment::new(root, &self.context))
    }

    /// The whole `Environment` structure of spec §9, `exprs` included
    /// (the root's own definitions as expressions, with their schemas,
    /// overridden imported expressions and resolved references). Costs one
    /// more evaluation pass over cached results; for tools (check output,
    /// editors), not for reading values. Like `properties`, `exprs` is the
    /// unredacted form: it carries the definition's plaintext secrets
    /// (`fn::secret` literals) and the schemas of values derived from
    /// decrypted ones, so callers redact before showing it.
    pub fn full_environment(&self) -> Option<Environment> {
        let mut environment = self.environment()?;
        environment.exprs = exprs::root_exprs(&self.run);
        Some(environment)
    }

    /// The `environmentVariables` convention (spec §1.4): each scalar
    /// member (null, bool, number, string, or unknown) as its string form,
    /// null as empty; other members are ignored. Sorted by name.
    pub fn environment_variables(&self) -> Vec<StringProperty> {
        self.string_properties("environmentVariables")
    }

    /// The `files` convention: like [`Self::environment_variables`]; each
    /// name is the variable that will hold the path of a file with the
    /// value as content.
    pub fn files(&self) -> Vec<StringProperty> {
        self.string_properties("files")
    }

    fn string_properties(&self, key: &str) -> Vec<StringProperty> {
        let Some(container) = self.root.as_ref().and_then(|r| r.property(key)) else {
            return Vec::new();
        };
        let mut out: Vec<StringProperty> = container
            .members()
            .into_iter()
            .filter(|(_, v)| {
                matches!(
                    v.repr,
                    value::Repr::Null
                        | value::Repr::Bool(_)
                        | value::Repr::Number(_)
                        | value::Repr::String(_)
                        | value::Repr::Unknown(_)
                )
            })
            .map(|(k, v)| {
                let (text, unknown, secret) = v.string_form();
                StringProperty {
                    name: k.to_string(),
                    value: text,
                    secret: secret || container.secret,
                    unknown,
                }
            })
            .collect();
        out.sort_by(|a, b| a.name.cmp(&b.name));
        out
    }

    /// Rotation records (rotate mode).
    pub fn rotations(&self) -> &[RotationRecord] {
        &self.rotations
    }

    /// Patches of succeeded rotations, sorted by document path.
    pub fn patches(&self) -> Vec<Patch> {
        let mut patches: Vec<Patch> = self
            .rotations
            .iter()
            .filter_map(|r| r.patch.clone())
            .collect();
        patches.sort_by(|a, b| a.doc_path.cmp(&b.doc_path));
        patches
    }

    /// Number of evaluation passes the driver ran (1 when no outside call
    /// was needed).
    pub fn n_passes(&self) -> usize {
        self.n_passes
    }

    /// Number of distinct outside calls made (opens, rotations, decryptions).
    pub fn n_calls(&self) -> usize {
        self.n_calls
    }
}

/// Normalise a Pulumi property path relative to `values` (`a.b[0]`,
/// `["quoted \"k\""]`) into the document-path form used to select rotations
/// (spec §5.2): `values.a.b[0]`.
pub fn normalize_rotate_path(path: &str) -> Result<String, String> {
    let b = path.as_bytes();
    let mut out = String::from("values");
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'.' => i += 1,
            b'[' => {
                if b.get(i + 1) == Some(&b'"') {
                    let mut key = Vec::new();
                    let mut j = i + 2;
                    loop {
                        match b.get(j) {
                            None => {
                                return Err(format!(
                                    "unterminated string in property path {}",
                                    go_quote(path)
                                ));
                            }
                            Some(b'\\') if b.get(j + 1).is_some() => {
                                key.push(b[j + 1]);
                                j += 2;
                            }
                            Some(b'"') => break,
                            Some(&c) => {
                                key.push(c);
                                j += 1;
                            }
                        }
                    }
                    if b.get(j + 1) != Some(&b']') {
                        return Err(format!(
                            "missing closing bracket in property path {}",
                            go_quote(path)
                        ));
                    }
                    push_segment(&mut out, &String::from_utf8_lossy(&key));
                    i = j + 2;
                } else {
                    let end = path[i..].find(']').map(|e| i + e).ok_or_else(|| {
                        format!(
                            "missing closing bracket in property path {}",
                            go_quote(path)
                        )
                    })?;
                    let index: usize = path[i + 1..end].parse().map_err(|_| {
                        format!("invalid index in property path {}", go_quote(path))
                    })?;
                    out.push_str(&format!("[{index}]"));
                    i = end + 1;
                }
            }
            _ => {
                let end = path[i..]
                    .find(['.', '['])
                    .map(|e| i + e)
                    .unwrap_or(path.len());
                push_segment(&mut out, &path[i..end]);
                i = end;
            }
        }
    }
    Ok(out)
}

fn push_segment(out: &mut String, key: &str) {
    if !key.is_empty() && key.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'_') {
        out.push('.');
        out.push_str(key);
    } else {
        out.push_str("[\"");
        out.push_str(&key.replace('"', "\\\""));
        out.push_str("\"]");
    }
}

/// Levenshtein distance in characters.
pub(crate) fn levenshtein(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for i in 1..=a.len() {
        cur[0] = i;
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            cur[j] = (prev[j] + 1).min(cur[j - 1] + 1).min(prev[j - 1] + cost);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests;
