//! The evaluation pass: a pure, synchronous walk over the expressions of
//! the root environment and everything it imports or references.
//!
//! Calls to the outside (provider opens, rotations, decryption) are looked
//! up in a cache filled by the async driver (`crate::run`). A call that is
//! not cached yet is recorded as pending and yields an unknown; the driver
//! then makes all pending calls concurrently and runs the pass again. Only
//! the result of a pass without pending calls is reported, so the output
//! does not depend on timing.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use esc_syntax::{Accessor, Diagnostic, Range};

use crate::builtins;
use crate::document::{Builtin, BuiltinKind, Document, Expr, ExprKind, Import, Part};
use crate::plain::PlainValue;
use crate::run::{Op, OpResult, RunState};
use crate::schema::Schema;
use crate::validate::validate;
use crate::value::{Repr, Site, Value, chain_len, expands_within, merge_imported};
use crate::{Limits, Mode, RotationRecord, RotationStatus, levenshtein};

/// `fn::validate` errors when the schema is (derived from) a secret.
const SECRET_SCHEMA_MISMATCH: &str =
    "the value does not match its schema (the schema is secret: the reason is not shown)";
const SECRET_SCHEMA_INVALID: &str =
    "invalid schema (the schema is secret: the reason is not shown)";

fn too_large_message(what: &str, max: usize) -> String {
    format!(
        "{what} too large: over {} MiB once references are expanded (each reference copies the whole value it names)",
        max >> 20
    )
}

/// Output of one pass.
pub(crate) struct PassOutput {
    pub(crate) root: Option<Value>,
    pub(crate) context: Value,
    pub(crate) diags: Vec<Diagnostic>,
    pub(crate) pending: Vec<Op>,
    pub(crate) rotations: Vec<RotationRecord>,
    /// Direct imports of the root that needed no pending call: the next
    /// pass reuses them (their evaluation cannot change).
    pub(crate) finished: Vec<(String, EnvResult)>,
}

/// The complete result of evaluating one directly imported environment.
#[derive(Clone)]
pub(crate) struct EnvResult {
    value: Option<Value>,
    diags: Vec<Diagnostic>,
    /// Environments evaluated on the way (memo entries to restore).
    nested: Vec<(String, Option<Value>)>,
}

enum EnvSlot {
    InProgress,
    Done(Option<Value>),
}

pub(crate) struct Pass<'r> {
    run: &'r RunState,
    envs: HashMap<String, EnvSlot>,
    diags: Vec<Diagnostic>,
    pending: Vec<Op>,
    pending_set: HashSet<Op>,
    rotations: Vec<RotationRecord>,
    depth: usize,
    /// Environments in progress below the root.
    env_depth: usize,
    /// Names memoised as done, in order.
    memo_log: Vec<(String, Option<Value>)>,
    finished: Vec<(String, EnvResult)>,
    /// `Some`: keep every environment's evaluated expressions (only for
    /// the §9 `exprs`, see `crate::exprs`).
    capture: Option<Vec<CapturedEnv>>,
}

/// One evaluated environment as the §9 `exprs` need it.
pub(crate) struct CapturedEnv {
    pub(crate) name: Arc<str>,
    /// The value of each expression (by id); `None`: not evaluated.
    pub(crate) values: Vec<Option<Value>>,
    /// The merged imports under the environment's own values.
    pub(crate) base: Option<Arc<Value>>,
    /// The environment's value.
    pub(crate) root: Option<Value>,
}

enum State {
    Idle,
    Busy,
    Done(Value),
}

/// Per-environment evaluation state.
struct Env<'d> {
    name: Arc<str>,
    doc: &'d Document,
    is_root: bool,
    states: Vec<State>,
    base: Option<Arc<Value>>,
    imports: BTreeMap<String, Value>,
    /// A merge went over [`Limits::max_merged`]: later merges are skipped
    /// (reported once).
    merge_limit_hit: bool,
    /// The execution context (spec §2.2), built on first use: most
    /// environments never read it.
    context: Option<(Arc<PlainValue>, Value)>,
}

impl Env<'_> {
    /// The execution context as plain data (what providers see).
    fn context_plain(&mut self, run: &RunState) -> Arc<PlainValue> {
        self.context(run).0.clone()
    }

    /// The execution context as a value (`${context...}`).
    fn context_value(&mut self, run: &RunState) -> Value {
        self.context(run).1.clone()
    }

    fn context(&mut self, run: &RunState) -> &(Arc<PlainValue>, Value) {
        self.context.get_or_insert_with(|| {
            let plain = env_context(&run.context, &run.root_name, &self.name);
            let value = Value::from_plain(&plain, &zero_site(&self.name));
            (Arc::new(plain), value)
        })
    }
}

enum Cursor<'d> {
    Expr(&'d Expr),
    Value(Value),
}

impl<'r> Pass<'r> {
    pub(crate) fn new(run: &'r RunState) -> Self {
        Pass {
            run,
            envs: HashMap::new(),
            diags: Vec::new(),
            pending: Vec::new(),
            pending_set: HashSet::new(),
            rotations: Vec::new(),
            depth: 0,
            env_depth: 0,
            memo_log: Vec::new(),
            finished: Vec::new(),
            capture: None,
        }
    }

    /// Evaluate the root environment again (every outside call is cached)
    /// keeping each environment's evaluated expressions.
    pub(crate) fn capture_root(run: &'r RunState) -> Vec<CapturedEnv> {
        let mut pass = Pass::new(run);
        pass.capture = Some(Vec::new());
        let name = run.root_name.clone();
        pass.envs.insert(name.to_string(), EnvSlot::InProgress);
        pass.evaluate_document(&name, &run.root_doc, true);
        pass.capture.unwrap_or_default()
    }

    fn limits(&self) -> &Limits {
        &self.run.limits
    }

    /// Evaluate the root environment.
    pub(crate) fn run_root(mut self) -> PassOutput {
        let run = self.run;
        let name = run.root_name.clone();
        self.envs.insert(name.to_string(), EnvSlot::InProgress);
        let mut root = self.evaluate_document(&name, &run.root_doc, true);
        // what every output writes out in full
        let max = self.limits().max_expanded_bytes;
        if root.as_ref().is_some_and(|r| !expands_within(r, max)) {
            self.diags.push(Diagnostic::error(
                too_large_message("the environment's values are", max),
                run.root_doc.values.as_ref().map(|v| v.site.range.clone()),
                "values",
            ));
            root = None;
        }
        let (context_plain, _) = self.context_for(&name);
        PassOutput {
            root,
            context: Value::from_plain(&context_plain, &zero_site(&name)),
            diags: self.diags,
            pending: self.pending,
            rotations: self.rotations,
            finished: self.finished,
        }
    }

    fn memo_done(&mut self, name: &str, value: Option<Value>) {
        self.envs
            .insert(name.to_string(), EnvSlot::Done(value.clone()));
        self.memo_log.push((name.to_string(), value));
    }

    fn context_for(&self, name: &str) -> (PlainValue, ()) {
        (
            env_context(&self.run.context, &self.run.root_name, name),
            (),
        )
    }

    fn evaluate_document(
        &mut self,
        name: &Arc<str>,
        doc: &Document,
        is_root: bool,
    ) -> Option<Value> {
        if doc.is_empty {
            return None;
        }
        let mut env = Env {
            name: name.clone(),
            doc,
            is_root,
            states: (0..doc.n_exprs).map(|_| State::Idle).collect(),
            base: None,
            imports: BTreeMap::new(),
            merge_limit_hit: false,
            context: None,
        };
        self.diags.extend(doc.eval_diags.iter().cloned());
        for import in &doc.imports {
            self.import(&mut env, import);
        }
        let root = match &doc.values {
            Some(values) => self.eval_expr(&mut env, values, &Schema::always()),
            None => {
                let mut v = Value::object(BTreeMap::new(), None);
                v.base = env.base.clone();
                v
            }
        };
        if let Some(captured) = &mut self.capture {
            captured.push(CapturedEnv {
                name: name.clone(),
                values: env
                    .states
                    .into_iter()
                    .map(|s| match s {
                        State::Done(v) => Some(v),
                        State::Idle | State::Busy => None,
                    })
                    .collect(),
                base: env.base,
                root: Some(root.clone()),
            });
        }
        Some(root)
    }

    fn import(&mut self, env: &mut Env<'_>, import: &Import) {
        let Some(value) = self.load_env(&import.name, &import.site) else {
            return;
        };
        if import.merge {
            // Each merge lengthens the chain of overridden values, which
            // lookups, traces and merges walk: an unbounded chain (thousands
            // of imports, or imports repeated through a diamond, which
            // doubles it at each level) would exhaust the stack.
            if env.merge_limit_hit {
                return;
            }
            let base_len = env.base.as_deref().map_or(0, chain_len);
            if let Some((merged, max)) = self.merge_over_limit(&value, base_len) {
                env.merge_limit_hit = true;
                self.error(
                    format!(
                        "too many merged imports: merging {} would stack {merged} values over each other (at most {max}); it and the imports after it are not merged",
                        import.name
                    ),
                    &import.site,
                );
                return;
            }
            env.base = Some(Arc::new(match &env.base {
                None => value.clone(),
                Some(base) => merge_imported(&value, base),
            }));
        }
        env.imports.insert(import.name.clone(), value);
    }

    /// Load and evaluate environment `name` once per pass (memo by name);
    /// errors are reported at `site`. Returns its root value (an empty
    /// object for a document without content).
    fn load_env(&mut self, name: &str, site: &Arc<Site>) -> Option<Value> {
        match self.envs.get(name) {
            Some(EnvSlot::InProgress) => {
                self.error(format!("cyclic import of {name}"), site);
                return None;
            }
            Some(EnvSlot::Done(v)) => return v.clone(),
            None => {}
        }
        let run = self.run;
        if self.env_depth == 0
            && self.capture.is_none()
            && let Some(cached) = run.env_cache.get(name)
        {
            self.diags.extend(cached.diags.iter().cloned());
            for (nested, value) in &cached.nested {
                self.memo_done(nested, value.clone());
            }
            self.memo_done(name, cached.value.clone());
            return cached.value.clone();
        }
        let loaded = match run.docs.get(name) {
            Some(Ok(loaded)) => loaded.clone(),
            Some(Err(text)) => {
                self.error(text.clone(), site);
                self.memo_done(name, None);
                return None;
            }
            None => {
                self.error(
                    format!("internal error: environment {name} was not loaded"),
                    site,
                );
                return None;
            }
        };
        let doc = match &loaded.doc {
            Ok(doc) => doc,
            Err(diag) => {
                self.diags.push(diag.clone());
                self.memo_done(name, None);
                return None;
            }
        };
        self.diags.extend(doc.diags.iter().cloned());
        if doc.diags.iter().any(Diagnostic::is_error) {
            self.memo_done(name, None);
            return None;
        }
        let (n_diags, n_pending, n_memo) =
            (self.diags.len(), self.pending.len(), self.memo_log.len());
        self.envs.insert(name.to_string(), EnvSlot::InProgress);
        let env_name: Arc<str> = Arc::from(name);
        self.env_depth += 1;
        let value = self
            .evaluate_document(&env_name, doc, false)
            .or_else(|| Some(Value::object(BTreeMap::new(), None)));
        self.env_depth -= 1;
        self.memo_done(name, value.clone());
        if self.env_depth == 0 && self.pending.len() == n_pending {
            let mut diags = doc.diags.clone();
            diags.extend(self.diags[n_diags..].iter().cloned());
            let result = EnvResult {
                value: value.clone(),
                diags,
                nested: self.memo_log[n_memo..self.memo_log.len() - 1].to_vec(),
            };
            self.finished.push((name.to_string(), result));
        }
        value
    }

    fn error(&mut self, summary: impl Into<String>, site: &Site) {
        self.diags.push(Diagnostic::error(
            summary,
            Some(site.range.clone()),
            site.path.clone(),
        ));
    }

    /// `(values stacked, limit)` when merging `top` over a base chain of
    /// `base_len` values would exceed [`Limits::max_merged`].
    fn merge_over_limit(&self, top: &Value, base_len: usize) -> Option<(usize, usize)> {
        let merged = chain_len(top) + base_len;
        let max = self.limits().max_merged;
        (merged > max).then_some((merged, max))
    }

    /// Whether `value` is over [`Limits::max_expanded_bytes`] once its
    /// references are expanded (reported at `site`): what is about to
    /// write it out in full must not.
    fn too_large(&mut self, value: &Value, site: &Site) -> bool {
        let max = self.limits().max_expanded_bytes;
        if expands_within(value, max) {
            return false;
        }
        self.error(too_large_message("value is", max), site);
        true
    }

    /// A builtin's string result: unknown (and reported) over
    /// [`Limits::max_string_bytes`], as an interpolated string is.
    fn string_result(&mut self, text: String, def: Option<Arc<Site>>, site: &Site) -> Value {
        let max = self.limits().max_string_bytes;
        if text.len() > max {
            self.error(
                format!("the result exceeds the maximum string length of {max} bytes"),
                site,
            );
            return Value::unknown(string_schema(), def);
        }
        Value::string(text, def).with_schema(string_schema())
    }

    fn error_at(&mut self, summary: impl Into<String>, range: &Range, path: &str) {
        self.diags
            .push(Diagnostic::error(summary, Some(range.clone()), path));
    }

    /// The merge base of an object member: the base value at its key path.
    fn base_of(&self, env: &Env<'_>, expr: &Expr) -> Option<Value> {
        let keys = expr.member_keys.as_ref()?;
        let mut v: &Value = env.base.as_deref()?;
        for (i, k) in keys.iter().enumerate() {
            if let Repr::Unknown(schema) = &v.repr {
                // An unknown base may hold the key: its member is unknown too.
                let s = keys[i..].iter().fold(schema.clone(), |s, k| s.property(k));
                return Some(Value::unknown(s, expr.key_site.clone()));
            }
            v = v.property(k)?;
        }
        Some(v.clone())
    }

    fn skip_rotate_only(&self, env: &Env<'_>) -> bool {
        match &self.run.mode {
            _ if !env.is_root => true,
            Mode::Eval => true,
            Mode::Check { .. } | Mode::Rotate { .. } => false,
        }
    }

    fn is_check(&self) -> bool {
        matches!(self.run.mode, Mode::Check { .. })
    }

    /// Evaluate `expr` (at most once per pass) with the schema `accept`
    /// pushed down into literals.
    fn eval_expr(&mut self, env: &mut Env<'_>, expr: &Expr, accept: &Schema) -> Value {
        match &env.states[expr.id] {
            State::Done(v) => return v.clone(),
            State::Busy => {
                self.error(
                    format!("cyclic reference to {}", expr.values_path),
                    &expr.site,
                );
                return Value::unknown(Schema::always(), Some(expr.site.clone()));
            }
            State::Idle => {}
        }
        if self.depth >= self.limits().max_depth {
            self.error(
                format!(
                    "evaluation exceeds the maximum depth of {}",
                    self.limits().max_depth
                ),
                &expr.site,
            );
            return Value::unknown(Schema::always(), Some(expr.site.clone()));
        }
        env.states[expr.id] = State::Busy;
        self.depth += 1;
        let base = self.base_of(env, expr);
        let value = match &base {
            Some(b) if b.final_ => {
                self.diags.push(Diagnostic::warning(
                    "cannot override final value",
                    Some(expr.site.range.clone()),
                    expr.site.path.clone(),
                ));
                b.clone()
            }
            _ => {
                let mut v = self.eval_inner(env, expr, accept);
                if let Some(b) = base {
                    if v.base.is_none() {
                        v.base = Some(Arc::new(b));
                    } else if v.is_object() && b.is_object() {
                        // A copy that already has a base (a reference to a
                        // merged object) merges as a whole over this base,
                        // within the same bound as imports.
                        if let Some((merged, max)) = self.merge_over_limit(&v, chain_len(&b)) {
                            self.error(
                                format!(
                                    "too many merged values: this override would stack {merged} values over each other, at most {max}"
                                ),
                                &expr.site,
                            );
                        } else {
                            v = merge_imported(&v, &b);
                        }
                    }
                }
                v
            }
        };
        self.depth -= 1;
        env.states[expr.id] = State::Done(value.clone());
        value
    }

    fn eval_inner(&mut self, env: &mut Env<'_>, expr: &Expr, accept: &Schema) -> Value {
        let def = Some(expr.site.clone());
        match &expr.kind {
            ExprKind::Null => Value::new(Repr::Null, def),
            ExprKind::Bool(b) => Value::new(Repr::Bool(*b), def),
            ExprKind::Number(n) => Value::new(Repr::Number(n.clone()), def),
            ExprKind::String(s) => Value::new(Repr::String(s.clone()), def),
            ExprKind::List(items) => {
                let values = items
                    .iter()
                    .enumerate()
                    .map(|(i, item)| self.eval_expr(env, item, &accept.item(i)))
                    .collect();
                Value::array(values, def)
            }
            ExprKind::Object(members) => {
                let mut order: Vec<usize> = (0..members.len()).collect();
                order.sort_by(|a, b| members[*a].key.as_bytes().cmp(members[*b].key.as_bytes()));
                let rotate_only = accept.rotate_only().to_vec();
                let skip = !rotate_only.is_empty() && self.skip_rotate_only(env);
                let mut out = BTreeMap::new();
                for i in order {
                    let m = &members[i];
                    let schema = accept.property(&m.key);
                    let v = if skip && rotate_only.contains(&m.key) {
                        // Schema `true`, as the reference's skipped
                        // expressions (visible in the §9 `exprs`).
                        let mut u = Value::unknown(Schema::always(), Some(m.value.site.clone()));
                        u.rotate_only = true;
                        u
                    } else {
                        self.eval_expr(env, &m.value, &schema)
                    };
                    out.insert(m.key.clone(), v);
                }
                Value::object(out, def)
            }
            ExprKind::Symbol(accessors) => {
                let mut v = self.resolve(env, expr, accessors);
                v.def = def;
                v
            }
            ExprKind::Interpolate(parts) => self.interpolate(env, expr, parts),
            ExprKind::Builtin(b) => self.builtin(env, expr, b, accept),
        }
    }

    fn interpolate(&mut self, env: &mut Env<'_>, expr: &Expr, parts: &[Part]) -> Value {
        let mut text = String::new();
        let mut unknown = false;
        let mut secret = false;
        for part in parts {
            text.push_str(&part.text);
            if let Some(accessors) = &part.access {
                let v = self.resolve(env, expr, accessors);
                if self.too_large(&v, &expr.site) {
                    return Value::unknown(string_schema(), Some(expr.site.clone()))
                        .with_secret(v.deep_secret());
                }
                let (s, u, sec) = v.string_form();
                text.push_str(&s);
                unknown |= u;
                secret |= sec;
            }
            if text.len() > self.limits().max_string_bytes {
                self.error(
                    format!(
                        "interpolated string exceeds the maximum length of {} bytes",
                        self.limits().max_string_bytes
                    ),
                    &expr.site,
                );
                return Value::unknown(string_schema(), Some(expr.site.clone()))
                    .with_secret(secret);
            }
        }
        let def = Some(expr.site.clone());
        if unknown {
            let mut v = Value::unknown(string_schema(), def).with_secret(secret);
            v.unknown_text = true;
            return v;
        }
        Value::string(text, def)
            .with_secret(secret)
            .with_schema(string_schema())
    }

    /// Resolve a property access (spec §2.2). Errors make the result unknown.
    fn resolve(&mut self, env: &mut Env<'_>, expr: &Expr, accessors: &[Accessor]) -> Value {
        let unknown = || Value::unknown(Schema::always(), Some(expr.site.clone()));
        let Some(first) = accessors.first() else {
            return unknown();
        };
        let first_name = match first {
            Accessor::Name { name, .. } => Some(name.as_str()),
            Accessor::Key { key, .. } => Some(key.as_str()),
            Accessor::Index { .. } => None,
        };
        let doc = env.doc;
        let (mut cursor, rest): (Cursor<'_>, &[Accessor]) = match first_name {
            Some("imports") => {
                let v = Value::object(env.imports.clone(), None);
                (Cursor::Value(v), &accessors[1..])
            }
            Some("context") => (Cursor::Value(env.context_value(self.run)), &accessors[1..]),
            Some("environments") => {
                if accessors.len() < 3 {
                    return unknown();
                }
                let mut names = Vec::new();
                for a in &accessors[1..3] {
                    match a {
                        Accessor::Name { name, .. } => names.push(name.clone()),
                        Accessor::Key { key, .. } => names.push(key.clone()),
                        Accessor::Index { range, .. } => {
                            self.error_at(
                                "cannot access an object property using an integer index",
                                range,
                                &expr.site.path,
                            );
                            return unknown();
                        }
                    }
                }
                let name = format!("{}/{}", names[0], names[1]);
                match self.load_env(&name, &expr.site) {
                    Some(v) => (Cursor::Value(v), &accessors[3..]),
                    None => return unknown(),
                }
            }
            _ => match &doc.values {
                Some(values) => (Cursor::Expr(values), accessors),
                None => {
                    let mut v = Value::object(BTreeMap::new(), None);
                    v.base = env.base.clone();
                    (Cursor::Value(v), accessors)
                }
            },
        };
        for accessor in rest {
            cursor = match cursor {
                Cursor::Expr(e) => {
                    match (&e.kind, accessor) {
                        (
                            ExprKind::Object(members),
                            Accessor::Name { name: key, .. } | Accessor::Key { key, .. },
                        ) => match members.iter().find(|m| &m.key == key) {
                            Some(m) => Cursor::Expr(&m.value),
                            None => {
                                let base = if e.member_keys.is_some() {
                                    self.base_of(env, e)
                                } else {
                                    None
                                };
                                match base {
                                    Some(b) if b.is_object() || b.is_unknown() => {
                                        match self.step(b, accessor, &expr.site.path) {
                                            Some(v) => Cursor::Value(v),
                                            None => return unknown(),
                                        }
                                    }
                                    _ => {
                                        let keys: Vec<String> =
                                            members.iter().map(|m| m.key.clone()).collect();
                                        self.unknown_property(
                                            accessor,
                                            key,
                                            &keys,
                                            accessor.range(),
                                            &expr.site.path,
                                        );
                                        return unknown();
                                    }
                                }
                            }
                        },
                        (ExprKind::Object(_), Accessor::Index { range, .. }) => {
                            self.error_at(
                                "cannot access an object property using an integer index",
                                range,
                                &expr.site.path,
                            );
                            return unknown();
                        }
                        (ExprKind::List(items), Accessor::Index { index, range }) => {
                            if *index < 0 {
                                self.error_at(
                                    "array indices must not be negative",
                                    range,
                                    &expr.site.path,
                                );
                                return unknown();
                            }
                            match items.get(*index as usize) {
                                Some(item) => Cursor::Expr(item),
                                None => {
                                    self.error_at(
                                    format!("array index {index} out-of-bounds for array of length {}", items.len()),
                                    range,
                                    &expr.site.path,
                                );
                                    return unknown();
                                }
                            }
                        }
                        (ExprKind::List(_), _) => {
                            self.error_at(
                                "cannot access an array element using a property name",
                                accessor.range(),
                                &expr.site.path,
                            );
                            return unknown();
                        }
                        (ExprKind::Builtin(b), _)
                            if matches!(b.kind, BuiltinKind::SecretCipher(_)) =>
                        {
                            // Quirk of the reference (spec §2.2): a ciphertext
                            // definition has no receiver to access into.
                            self.error_at(
                                "internal error: no receiver",
                                accessor.range(),
                                &expr.site.path,
                            );
                            return unknown();
                        }
                        _ => {
                            let v = self.eval_expr(env, e, &Schema::always());
                            match self.step(v, accessor, &expr.site.path) {
                                Some(v) => Cursor::Value(v),
                                None => return unknown(),
                            }
                        }
                    }
                }
                Cursor::Value(v) => match self.step(v, accessor, &expr.site.path) {
                    Some(v) => Cursor::Value(v),
                    None => return unknown(),
                },
            };
        }
        match cursor {
            Cursor::Expr(e) => self.eval_expr(env, e, &Schema::always()),
            Cursor::Value(v) => v,
        }
    }

    /// One accessor applied to a value; `None` after reporting an error.
    fn step(&mut self, v: Value, accessor: &Accessor, path: &str) -> Option<Value> {
        let range = accessor.range();
        if let Repr::Unknown(schema) = &v.repr {
            let schema = schema.resolved().clone();
            let secret = v.secret;
            let next = match (&schema, accessor) {
                (Schema::Bool(true), _) => Schema::always(),
                (Schema::Bool(false), _) => {
                    self.error_at("receiver must be an array or an object", range, path);
                    return None;
                }
                (Schema::Object(o), _) if o.type_ == "array" => match accessor {
                    Accessor::Index { index, .. } => {
                        if *index < 0 {
                            self.error_at("array indices must not be negative", range, path);
                            return None;
                        }
                        let i = *index as usize;
                        if o.items.as_ref().is_some_and(Schema::is_never)
                            && i >= o.prefix_items.len()
                        {
                            self.error_at(
                                format!(
                                    "array index {index} out-of-bounds for array of length {}",
                                    o.prefix_items.len()
                                ),
                                range,
                                path,
                            );
                            return None;
                        }
                        schema.item(i)
                    }
                    _ => {
                        self.error_at(
                            "cannot access an array element using a property name",
                            range,
                            path,
                        );
                        return None;
                    }
                },
                (Schema::Object(o), _) if o.type_ == "object" => match accessor {
                    Accessor::Name { name: key, .. } | Accessor::Key { key, .. } => {
                        schema.property(key)
                    }
                    Accessor::Index { .. } => {
                        self.error_at(
                            "cannot access an object property using an integer index",
                            range,
                            path,
                        );
                        return None;
                    }
                },
                _ => {
                    self.error_at("receiver must be an array or an object", range, path);
                    return None;
                }
            };
            return Some(Value::unknown(next, v.def.clone()).with_secret(secret));
        }
        match (&v.repr, accessor) {
            (Repr::Object(_), Accessor::Name { name: key, .. } | Accessor::Key { key, .. }) => {
                if let Some(found) = v.property(key) {
                    return Some(found.clone());
                }
                // A known object over an unknown base: the key may be there.
                let mut b = v.base.as_deref();
                while let Some(base) = b {
                    if base.is_unknown() {
                        return self.step(base.clone(), accessor, path);
                    }
                    if !base.is_object() {
                        break;
                    }
                    b = base.base.as_deref();
                }
                let keys = v.keys();
                self.unknown_property(accessor, key, &keys, range, path);
                None
            }
            (Repr::Object(_), Accessor::Index { .. }) => {
                self.error_at(
                    "cannot access an object property using an integer index",
                    range,
                    path,
                );
                None
            }
            (Repr::Array(items), Accessor::Index { index, .. }) => {
                if *index < 0 {
                    self.error_at("array indices must not be negative", range, path);
                    return None;
                }
                match items.get(*index as usize) {
                    Some(item) => Some(item.clone()),
                    None => {
                        self.error_at(
                            format!(
                                "array index {index} out-of-bounds for array of length {}",
                                items.len()
                            ),
                            range,
                            path,
                        );
                        None
                    }
                }
            }
            (Repr::Array(_), _) => {
                self.error_at(
                    "cannot access an array element using a property name",
                    range,
                    path,
                );
                None
            }
            _ => {
                self.error_at("receiver must be an array or an object", range, path);
                None
            }
        }
    }

    fn unknown_property(
        &mut self,
        accessor: &Accessor,
        key: &str,
        keys: &[String],
        range: &Range,
        path: &str,
    ) {
        // A name cut inside a character (§2.1 quirk) is the reference's
        // string of those bytes: quoted with `\x..`, measured in bytes.
        let raw = match accessor {
            Accessor::Name {
                invalid_utf8: Some(bytes),
                ..
            } => Some(bytes.as_slice()),
            _ => None,
        };
        let quoted = raw.map_or_else(|| crate::go_quote(key), crate::go_quote_bytes);
        let mut msg = format!("unknown property {quoted}");
        let normalize = |s: &str| s.to_lowercase().replace('_', "");
        let wanted = normalize(key);
        let limit = raw.map_or(key.len(), <[u8]>::len).div_ceil(2);
        let mut sorted: Vec<&String> = keys.iter().collect();
        sorted.sort();
        let mut best: Option<(usize, &String)> = None;
        for k in sorted {
            let d = levenshtein(&wanted, &normalize(k));
            if d < limit && best.is_none_or(|(bd, _)| d < bd) {
                best = Some((d, k));
            }
        }
        if let Some((_, k)) = best {
            msg.push_str(&format!("; did you mean {}?", crate::go_quote(k)));
        }
        self.error_at(msg, range, path);
    }

    /// Evaluate `expr` typed by `accept`: (value, whether it validated).
    fn eval_typed(&mut self, env: &mut Env<'_>, expr: &Expr, accept: &Schema) -> (Value, bool) {
        let v = self.eval_expr(env, expr, accept);
        let mut diags = Vec::new();
        let ok = validate(&v, accept, &expr.site, &mut diags);
        self.diags.extend(diags);
        (v, ok)
    }

    fn builtin(&mut self, env: &mut Env<'_>, expr: &Expr, b: &Builtin, accept: &Schema) -> Value {
        let call = &expr.site;
        let def = Some(call.clone());
        let string_schema = string_schema();
        match &b.kind {
            BuiltinKind::SecretPlain(text) => {
                Value::string(text.clone(), Some(b.arg_site.clone())).with_secret(true)
            }
            BuiltinKind::SecretInvalid => Value::string("", zero_site(&env.name)).with_secret(true),
            BuiltinKind::SecretCipher(text) => self.decrypt(env, expr.id, call, text),
            BuiltinKind::Join(None) | BuiltinKind::Split(None) => {
                Value::unknown(Schema::always(), def)
            }
            BuiltinKind::Join(Some((delim, values))) => {
                let (d, ok1) = self.eval_typed(env, delim, &string_schema);
                let (vs, ok2) =
                    self.eval_typed(env, values, &Schema::array_of(string_schema.clone()));
                let secret = d.deep_secret() || vs.deep_secret();
                if !ok1 || !ok2 || d.deep_unknown() || vs.deep_unknown() {
                    return Value::unknown(string_schema, def).with_secret(secret);
                }
                if self.too_large(&vs, call) {
                    return Value::unknown(string_schema, def).with_secret(secret);
                }
                let sep = d.string_form().0;
                let items: Vec<String> = match &vs.repr {
                    Repr::Array(items) => items.iter().map(|i| i.string_form().0).collect(),
                    _ => Vec::new(),
                };
                self.string_result(items.join(&sep), def, call)
                    .with_secret(secret)
            }
            BuiltinKind::Split(Some((delim, s))) => {
                let (d, ok1) = self.eval_typed(env, delim, &string_schema);
                let (sv, ok2) = self.eval_typed(env, s, &string_schema);
                let secret = d.deep_secret() || sv.deep_secret();
                if !ok1 || !ok2 || d.deep_unknown() || sv.deep_unknown() {
                    return Value::unknown(Schema::array_of(string_schema), def)
                        .with_secret(secret);
                }
                let parts = builtins::split(&sv.string_form().0, &d.string_form().0);
                let items = parts
                    .into_iter()
                    .map(|p| Value::string(p, def.clone()))
                    .collect();
                Value::array(items, def)
                    .with_secret(secret)
                    .with_schema(Schema::array_of(string_schema))
            }
            BuiltinKind::Concat(arg) => {
                let schema = Schema::array_of(Schema::of_type("array"));
                let (v, ok) = self.eval_typed(env, arg, &schema);
                let secret = v.deep_secret();
                if !ok || v.deep_unknown() {
                    return Value::unknown(Schema::array_of(Schema::always()), def)
                        .with_secret(secret);
                }
                let mut out = Vec::new();
                if let Repr::Array(lists) = &v.repr {
                    for list in lists.iter() {
                        if let Repr::Array(items) = &list.repr {
                            out.extend(items.iter().cloned());
                        }
                    }
                }
                Value::array(out, def)
                    .with_secret(secret)
                    .with_schema(Schema::array_of(Schema::always()))
            }
            BuiltinKind::ToJson(arg) => {
                let v = self.eval_expr(env, arg, &Schema::always());
                let secret = v.deep_secret();
                if v.deep_unknown() {
                    return Value::unknown(string_schema, def).with_secret(secret);
                }
                if self.too_large(&v, call) {
                    return Value::unknown(string_schema, def).with_secret(secret);
                }
                match v.export(false).to_json() {
                    Ok(text) => self.string_result(text, def, call).with_secret(secret),
                    Err(e) => {
                        self.error(format!("failed to encode JSON: {e}"), call);
                        Value::unknown(string_schema, def).with_secret(secret)
                    }
                }
            }
            BuiltinKind::FromJson(arg) => {
                let (v, ok) = self.eval_typed(env, arg, &string_schema);
                let secret = v.deep_secret();
                if !ok || v.deep_unknown() {
                    return Value::unknown(Schema::always(), def).with_secret(secret);
                }
                match PlainValue::from_json(&v.string_form().0) {
                    Ok(plain) => {
                        let mut out = Value::from_plain(&plain, &def);
                        if secret {
                            out.make_deep_secret();
                        }
                        out
                    }
                    Err(e) => {
                        // The decoder quotes the offending character: not
                        // for a secret string.
                        let reason = if secret {
                            "invalid JSON".to_string()
                        } else {
                            e.to_string()
                        };
                        self.error(format!("decoding JSON string: {reason}"), call);
                        Value::unknown(Schema::always(), def).with_secret(secret)
                    }
                }
            }
            BuiltinKind::ToString(arg) => {
                let v = self.eval_expr(env, arg, &Schema::always());
                if self.too_large(&v, call) {
                    return Value::unknown(string_schema, def).with_secret(v.deep_secret());
                }
                let (text, unknown, secret) = v.string_form();
                if unknown {
                    return Value::unknown(string_schema, def).with_secret(secret);
                }
                self.string_result(text, def, call).with_secret(secret)
            }
            BuiltinKind::ToBase64(arg) | BuiltinKind::FromBase64(arg) => {
                let (v, ok) = self.eval_typed(env, arg, &string_schema);
                let secret = v.deep_secret();
                if !ok || v.deep_unknown() {
                    return Value::unknown(string_schema, def).with_secret(secret);
                }
                let text = v.string_form().0;
                if matches!(b.kind, BuiltinKind::ToBase64(_)) {
                    return self
                        .string_result(builtins::to_base64(&text), def, call)
                        .with_secret(secret);
                }
                match builtins::from_base64(&text) {
                    Ok(s) => Value::string(s, def)
                        .with_secret(secret)
                        .with_schema(string_schema),
                    Err(e) => {
                        self.error(format!("decoding base64 string: {e}"), call);
                        Value::unknown(string_schema, def).with_secret(secret)
                    }
                }
            }
            BuiltinKind::Final(arg) => {
                let mut v = self.eval_expr(env, arg, accept);
                v.final_ = true;
                v.def = def;
                v
            }
            BuiltinKind::Validate { schema, value } => {
                self.validate_builtin(env, expr, schema.as_ref(), value.as_ref())
            }
            BuiltinKind::Open { provider, inputs } => {
                self.open(env, expr, provider.as_deref(), inputs.as_ref())
            }
            BuiltinKind::Rotate {
                provider,
                inputs,
                state,
            } => self.rotate(
                env,
                expr,
                b,
                provider.as_deref(),
                inputs.as_ref(),
                state.as_ref(),
            ),
        }
    }

    fn validate_builtin(
        &mut self,
        env: &mut Env<'_>,
        expr: &Expr,
        schema: Option<&Expr>,
        value: Option<&Expr>,
    ) -> Value {
        let def = Some(expr.site.clone());
        let Some(value) = value else {
            return Value::unknown(Schema::always(), def);
        };
        let Some(schema_expr) = schema else {
            return self.eval_expr(env, value, &Schema::always());
        };
        let s = self.eval_expr(env, schema_expr, &Schema::always());
        if s.deep_unknown() || !matches!(s.repr, Repr::Bool(_) | Repr::Object(_)) {
            return self.eval_expr(env, value, &Schema::always());
        }
        // A schema built from a secret must not be quoted back: its patterns,
        // enums and constants would appear in every error of a value it rejects.
        let secret = s.deep_secret();
        let compiled = match Schema::from_plain(&s.export(false)) {
            Ok(c) => c,
            Err(e) if e.is_compile_error() => {
                let summary = if secret {
                    SECRET_SCHEMA_INVALID.to_string()
                } else {
                    format!("invalid schema: {e}")
                };
                self.error(summary, &schema_expr.site);
                return self.eval_expr(env, value, &Schema::always());
            }
            // Not a schema by the meta-schema: the value is returned unchecked.
            Err(_) => return self.eval_expr(env, value, &Schema::always()),
        };
        let v = self.eval_expr(env, value, &compiled);
        let mut diags = Vec::new();
        validate(&v, &compiled, &value.site, &mut diags);
        if secret {
            for d in &mut diags {
                d.summary = SECRET_SCHEMA_MISMATCH.to_string();
            }
            diags.dedup_by(|a, b| a.range == b.range && a.path == b.path);
        }
        self.diags.extend(diags);
        v.with_secret(secret)
    }

    fn decrypt(&mut self, env: &Env<'_>, id: usize, call: &Arc<Site>, text: &str) -> Value {
        let def = Some(call.clone());
        let unknown = || Value::unknown(string_schema(), def.clone()).with_secret(true);
        // Every ciphertext was decrypted before the first pass.
        let run = self.run;
        if let Some(result) = run.decrypted.get(&*env.name).and_then(|m| m.get(&id)) {
            return match result {
                Err(e) => {
                    self.error(format!("decrypting: {e}"), call);
                    unknown()
                }
                Ok(plain) => Value::string(&**plain, def.clone())
                    .with_secret(true)
                    .with_schema(string_schema()),
            };
        }
        let ciphertext = match builtins::decode_envelope(text) {
            Ok(c) => c,
            Err(reason) => {
                self.error(format!("invalid ciphertext: {reason}"), call);
                return unknown();
            }
        };
        if matches!(
            self.run.mode,
            Mode::Check {
                show_secrets: false
            }
        ) {
            return unknown();
        }
        let op = Op::Decrypt {
            env: env.name.to_string(),
            ciphertext,
        };
        match self.call(op) {
            None => unknown(),
            Some(Err(e)) => {
                self.error(format!("decrypting: {e}"), call);
                unknown()
            }
            Some(Ok(plain)) => Value::string(plain.as_str().unwrap_or_default(), def.clone())
                .with_secret(true)
                .with_schema(string_schema()),
        }
    }

    /// A cached call result, or `None` after recording it as pending.
    fn call(&mut self, op: Op) -> Option<OpResult> {
        if let Some(result) = self.run.cache.get(&op) {
            return Some(result.clone());
        }
        if self.pending_set.insert(op.clone()) {
            self.pending.push(op);
        }
        None
    }

    fn open(
        &mut self,
        env: &mut Env<'_>,
        expr: &Expr,
        provider: Option<&str>,
        inputs: Option<&Expr>,
    ) -> Value {
        let call = &expr.site;
        let def = Some(call.clone());
        let Some(name) = provider else {
            return Value::unknown(Schema::always(), def);
        };
        let schema = match self.run.providers.get(name) {
            Some(Ok(p)) => Some(p.schema()),
            Some(Err(text)) => {
                self.error(text.clone(), call);
                None
            }
            None => {
                self.error(format!("unknown provider {}", crate::go_quote(name)), call);
                None
            }
        };
        let input_schema = schema
            .as_ref()
            .map(|s| s.inputs.clone())
            .unwrap_or_else(Schema::always);
        let (inputs_v, ok) = match inputs {
            Some(x) => self.eval_typed(env, x, &input_schema),
            None => (Value::unknown(Schema::always(), None), true),
        };
        let Some(schema) = schema else {
            return Value::unknown(Schema::always(), def);
        };
        if !ok || inputs_v.deep_unknown() || self.is_check() {
            return Value::unknown(schema.outputs, def);
        }
        let op = Op::Open {
            provider: name.to_string(),
            inputs: inputs_v.to_plain(),
            context: env.context_plain(self.run),
            environment: env.name.to_string(),
        };
        match self.call(op) {
            None => Value::unknown(schema.outputs, def),
            Some(Err(e)) => {
                self.error(e, call);
                Value::unknown(schema.outputs, def)
            }
            Some(Ok(plain)) => Value::from_plain(&plain, &def),
        }
    }

    fn rotate(
        &mut self,
        env: &mut Env<'_>,
        expr: &Expr,
        b: &Builtin,
        provider: Option<&str>,
        inputs: Option<&Expr>,
        state: Option<&Expr>,
    ) -> Value {
        let call = &expr.site;
        let def = Some(call.clone());
        let Some(name) = provider else {
            return Value::unknown(Schema::always(), def);
        };
        let schema = match self.run.rotators.get(name) {
            Some(Ok(r)) => Some(r.schema()),
            Some(Err(text)) => {
                self.error(text.clone(), call);
                None
            }
            None => {
                self.error(format!("unknown rotator {}", crate::go_quote(name)), call);
                None
            }
        };
        let input_schema = schema
            .as_ref()
            .map(|s| s.inputs.clone())
            .unwrap_or_else(Schema::always);
        let state_schema = schema
            .as_ref()
            .map(|s| Schema::one_of(vec![s.state.clone(), Schema::of_type("null")]))
            .unwrap_or_else(Schema::always);
        let (inputs_v, ok_inputs) = match inputs {
            Some(x) => self.eval_typed(env, x, &input_schema),
            None => (Value::unknown(Schema::always(), None), true),
        };
        let (state_v, ok_state) = match state {
            Some(x) => self.eval_typed(env, x, &state_schema),
            None => (Value::new(Repr::Null, None), true),
        };
        let rotating = matches!(self.run.mode, Mode::Rotate { .. }) && env.is_root;
        let selected = rotating && self.selected(&call.path);
        let Some(schema) = schema else {
            if selected {
                self.record(call, RotationStatus::NotEvaluated, None);
            }
            return Value::unknown(Schema::always(), def);
        };
        let inputs_unknown = if rotating {
            inputs_v.deep_unknown()
        } else {
            inputs_v.deep_observable_unknown()
        };
        if !ok_inputs || inputs_unknown || !ok_state || state_v.deep_unknown() || self.is_check() {
            if selected {
                self.record(call, RotationStatus::NotEvaluated, None);
            }
            return Value::unknown(schema.outputs, def);
        }
        let inputs_plain = inputs_v.to_plain();
        let mut state_plain = match state_v.repr {
            Repr::Null => None,
            _ => Some(state_v.to_plain()),
        };
        if selected {
            let op = Op::Rotate {
                rotator: name.to_string(),
                inputs: inputs_plain.clone(),
                state: state_plain.clone(),
                context: env.context_plain(self.run),
                environment: env.name.to_string(),
                path: call.path.clone(),
            };
            match self.call(op) {
                None => return Value::unknown(schema.outputs, def),
                Some(Err(e)) => {
                    let diag = Diagnostic::error(
                        format!("rotate: {e}"),
                        Some(call.range.clone()),
                        call.path.clone(),
                    );
                    self.diags.push(diag.clone());
                    self.rotations.push(RotationRecord {
                        path: call.path.clone(),
                        status: RotationStatus::Failed,
                        diags: vec![diag],
                        patch: None,
                    });
                    return Value::unknown(schema.outputs, def);
                }
                Some(Ok(new_state)) => {
                    let doc_path = format!("{}[{}].state", call.path, crate::go_quote(&b.name));
                    let patch = crate::Patch {
                        doc_path,
                        replacement: new_state.clone(),
                    };
                    self.record(call, RotationStatus::Succeeded, Some(patch));
                    state_plain = Some(new_state);
                }
            }
        }
        let op = Op::RotatorOpen {
            rotator: name.to_string(),
            inputs: inputs_plain,
            state: state_plain,
            context: env.context_plain(self.run),
            environment: env.name.to_string(),
        };
        match self.call(op) {
            None => Value::unknown(schema.outputs, def),
            Some(Err(e)) => {
                self.error(e, call);
                Value::unknown(schema.outputs, def)
            }
            Some(Ok(plain)) => Value::from_plain(&plain, &def),
        }
    }

    fn selected(&self, path: &str) -> bool {
        match &self.run.mode {
            Mode::Rotate { paths } => paths.is_empty() || paths.iter().any(|p| p == path),
            _ => false,
        }
    }

    fn record(&mut self, call: &Site, status: RotationStatus, patch: Option<crate::Patch>) {
        self.rotations.push(RotationRecord {
            path: call.path.clone(),
            status,
            diags: Vec::new(),
            patch,
        });
    }
}

/// `{type: string}`, shared (string builtins and interpolations would
/// otherwise allocate one per call).
fn string_schema() -> Schema {
    static STRING: std::sync::LazyLock<Schema> =
        std::sync::LazyLock::new(|| Schema::of_type("string"));
    STRING.clone()
}

/// The definition site of values with no source in environment `name`
/// (context values): a zero range in that file.
fn zero_site(name: &str) -> Option<Arc<Site>> {
    let range = Range::new(
        Arc::from(name),
        esc_syntax::Pos::default(),
        esc_syntax::Pos::default(),
    );
    Some(Arc::new(Site {
        range,
        path: String::new(),
    }))
}

/// The execution context of environment `name` (spec §2.2): the caller's
/// context plus `currentEnvironment` and `rootEnvironment`.
pub(crate) fn env_context(context: &PlainValue, root: &str, name: &str) -> PlainValue {
    let root_name = if root.is_empty() || root == "<yaml>" {
        name
    } else {
        root
    };
    let mut map = match context {
        PlainValue::Object(m) => m.clone(),
        _ => BTreeMap::new(),
    };
    map.insert(
        "currentEnvironment".into(),
        PlainValue::object([("name", PlainValue::string(name))]),
    );
    map.insert(
        "rootEnvironment".into(),
        PlainValue::object([("name", PlainValue::string(root_name))]),
    );
    PlainValue::Object(map)
}

/// The value of an expression made of literals only (no references,
/// interpolations or builtins), as a pass would evaluate it.
pub(crate) fn literal_value(expr: &Expr) -> Option<Value> {
    let def = Some(expr.site.clone());
    Some(match &expr.kind {
        ExprKind::Null => Value::new(Repr::Null, def),
        ExprKind::Bool(b) => Value::new(Repr::Bool(*b), def),
        ExprKind::Number(n) => Value::new(Repr::Number(n.clone()), def),
        ExprKind::String(t) => Value::new(Repr::String(t.clone()), def),
        ExprKind::List(items) => Value::array(
            items
                .iter()
                .map(literal_value)
                .collect::<Option<Vec<_>>>()?,
            def,
        ),
        ExprKind::Object(members) => Value::object(
            members
                .iter()
                .map(|m| Some((m.key.clone(), literal_value(&m.value)?)))
                .collect::<Option<_>>()?,
            def,
        ),
        _ => return None,
    })
}
