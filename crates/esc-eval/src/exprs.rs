//! The `exprs` of the §9 `Environment`: the root's own definitions as an
//! expression tree (ranges, kinds, the schemas their values evaluated to,
//! the imported expressions they override, where each accessor of a
//! reference resolved).
//!
//! Built only on request ([`crate::Evaluation::full_environment`]): the
//! evaluation pass is run once more with every outside call answered from
//! the cache, keeping the value of each expression of each environment, and
//! the tree is exported from the documents and those values, following the
//! reference's `expr.export`.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use esc_syntax::{Accessor, Range};

use crate::document::{Builtin, BuiltinKind, Document, Expr, ExprKind};
use crate::eval::{CapturedEnv, Pass};
use crate::plain::PlainValue;
use crate::run::RunState;
use crate::schema::Schema;
use crate::value::{Repr, Site, Value};

/// The root's own definitions as §9 `Expr` JSON, by property name.
pub(crate) fn root_exprs(run: &RunState) -> BTreeMap<String, PlainValue> {
    let captured = Pass::capture_root(run);
    let exporter = Exporter::new(run, &captured);
    let Some(root) = exporter.envs.get(&*run.root_name) else {
        return BTreeMap::new();
    };
    let Some(values) = &run.root_doc.values else {
        return BTreeMap::new();
    };
    let ExprKind::Object(members) = &values.kind else {
        return BTreeMap::new();
    };
    members
        .iter()
        .map(|m| (m.key.clone(), exporter.expr(root, &m.value)))
        .collect()
}

/// One evaluated environment: its document and its expressions' values.
struct EnvView<'a> {
    doc: &'a Document,
    captured: &'a CapturedEnv,
}

/// What an expression overrode: an imported value, or (when the import is
/// unknown there) a late-bound access into an unknown value.
enum BaseRef<'a> {
    Value(&'a Value),
    Access {
        /// The expression whose key first reached into the unknown.
        range: Range,
        /// The unknown's schema, looked into by the first key.
        schema: Schema,
        /// Where the unknown is defined.
        receiver: Option<Range>,
        keys: Vec<String>,
    },
}

struct Exporter<'a> {
    run: &'a RunState,
    envs: HashMap<&'a str, EnvView<'a>>,
    /// Expression sites (by address) -> the environment and expression.
    defs: HashMap<*const Site, (&'a str, &'a Expr)>,
    /// The argument sites of plaintext `fn::secret` calls (their values'
    /// definitions) -> the secret text.
    plaintexts: HashMap<*const Site, &'a str>,
}

impl<'a> Exporter<'a> {
    fn new(run: &'a RunState, captured: &'a [CapturedEnv]) -> Self {
        let mut exporter = Exporter {
            run,
            envs: HashMap::new(),
            defs: HashMap::new(),
            plaintexts: HashMap::new(),
        };
        for env in captured {
            let doc: &Document = if env.name == run.root_name {
                &run.root_doc
            } else {
                match run.docs.get(&*env.name) {
                    Some(Ok(loaded)) => match &loaded.doc {
                        Ok(doc) => doc,
                        Err(_) => continue,
                    },
                    _ => continue,
                }
            };
            let name: &'a str = &env.name;
            if let Some(values) = &doc.values {
                crate::document::walk(values, &mut |e| {
                    exporter.defs.insert(Arc::as_ptr(&e.site), (name, e));
                    if let ExprKind::Builtin(b) = &e.kind
                        && let BuiltinKind::SecretPlain(text) = &b.kind
                    {
                        exporter
                            .plaintexts
                            .insert(Arc::as_ptr(&b.arg_site), text.as_str());
                    }
                });
            }
            exporter.envs.insert(name, EnvView { doc, captured: env });
        }
        exporter
    }

    fn root_name(&self) -> &str {
        &self.run.root_name
    }

    /// A range in a file; `None`: the zero range in the root's file (the
    /// reference's range of an expression without syntax).
    fn range(&self, range: Option<&Range>) -> PlainValue {
        match range {
            Some(r) => range_json(Some(&r.filename), r),
            None => zero_range(Some(self.root_name())),
        }
    }

    fn expr(&self, env: &EnvView<'_>, e: &Expr) -> PlainValue {
        let mut m = BTreeMap::new();
        m.insert("range".to_string(), self.range(Some(&e.site.range)));
        m.insert("schema".into(), self.schema(env, e).to_plain());
        if let Some(base) = self.base_of(env, e) {
            m.insert("base".into(), self.base(base));
        }
        match &e.kind {
            ExprKind::Null => {}
            ExprKind::Bool(b) => {
                m.insert("literal".into(), PlainValue::Bool(*b));
            }
            ExprKind::Number(n) => {
                m.insert("literal".into(), PlainValue::Number(n.clone()));
            }
            ExprKind::String(s) => {
                m.insert("literal".into(), PlainValue::string(s));
            }
            ExprKind::Interpolate(parts) => {
                let parts = parts
                    .iter()
                    .map(|p| {
                        let mut part = BTreeMap::new();
                        if !p.text.is_empty() {
                            part.insert("text".to_string(), PlainValue::string(&p.text));
                        }
                        if let Some(accessors) = &p.access {
                            part.insert("value".into(), self.access(env, e, accessors));
                        }
                        PlainValue::Object(part)
                    })
                    .collect();
                m.insert("interpolate".into(), PlainValue::Array(parts));
            }
            ExprKind::Symbol(accessors) => {
                m.insert("symbol".into(), self.access(env, e, accessors));
            }
            ExprKind::List(items) => {
                if !items.is_empty() {
                    let items = items.iter().map(|i| self.expr(env, i)).collect();
                    m.insert("list".into(), PlainValue::Array(items));
                }
            }
            ExprKind::Object(members) => {
                let key_ranges: BTreeMap<String, PlainValue> = e
                    .key_ranges
                    .iter()
                    .map(|(k, r)| (k.clone(), self.range(Some(r))))
                    .collect();
                if !key_ranges.is_empty() {
                    m.insert("keyRanges".into(), PlainValue::Object(key_ranges));
                }
                if !members.is_empty() {
                    let object = members
                        .iter()
                        .map(|member| (member.key.clone(), self.expr(env, &member.value)))
                        .collect();
                    m.insert("object".into(), PlainValue::Object(object));
                }
            }
            ExprKind::Builtin(b) => {
                m.insert("builtin".into(), self.builtin(env, b));
            }
        }
        PlainValue::Object(m)
    }

    /// The schema of the expression's value, or (not evaluated) the schema
    /// the reference declares for its kind.
    fn schema(&self, env: &EnvView<'_>, e: &Expr) -> Schema {
        if let Some(Some(v)) = env.captured.values.get(e.id) {
            return v.schema();
        }
        declared_schema(e)
    }

    /// The base of an object member reached from the root through object
    /// literals: the merged imports looked up along its keys.
    fn base_of<'e>(&self, env: &'e EnvView<'_>, e: &Expr) -> Option<BaseRef<'e>> {
        let keys = e.member_keys.as_ref()?;
        if keys.is_empty() {
            return None;
        }
        let mut base = BaseRef::Value(env.captured.base.as_deref()?);
        let mut node = env.doc.values.as_ref();
        for key in keys {
            let key_range = node.and_then(|n| n.key_ranges.iter().rev().find(|(k, _)| k == key));
            let key_range = key_range.map(|(_, r)| r.clone());
            node = node.and_then(|n| match &n.kind {
                ExprKind::Object(members) => {
                    members.iter().find(|m| &m.key == key).map(|m| &m.value)
                }
                _ => None,
            });
            base = base_property(base, key, key_range)?;
        }
        Some(base)
    }

    fn base(&self, base: BaseRef<'_>) -> PlainValue {
        match base {
            BaseRef::Value(v) => self.value_def(v),
            BaseRef::Access {
                range,
                schema,
                receiver,
                keys,
            } => {
                let accessors = keys
                    .iter()
                    .map(|k| {
                        PlainValue::object([
                            ("key", PlainValue::string(k)),
                            ("range", self.range(None)),
                        ])
                    })
                    .collect();
                PlainValue::object([
                    ("range", self.range(Some(&range))),
                    ("schema", schema.to_plain()),
                    (
                        "access",
                        PlainValue::object([
                            ("receiver", self.range(receiver.as_ref())),
                            ("accessors", PlainValue::Array(accessors)),
                        ]),
                    ),
                ])
            }
        }
    }

    /// The exported defining expression of a value.
    fn value_def(&self, v: &Value) -> PlainValue {
        if let Some(site) = &v.def {
            let key = Arc::as_ptr(site);
            if let Some((name, e)) = self.defs.get(&key)
                && let Some(env) = self.envs.get(name)
            {
                return self.expr(env, e);
            }
            if let Some(text) = self.plaintexts.get(&key) {
                return literal_string(self.range(Some(&site.range)), text);
            }
        }
        let mut m = BTreeMap::new();
        m.insert(
            "range".to_string(),
            self.range(v.def.as_ref().map(|s| &s.range)),
        );
        m.insert("schema".into(), v.schema().to_plain());
        PlainValue::Object(m)
    }

    /// The §9 `PropertyAccessor` list of a reference: each accessor with the
    /// range of the value it resolved to, as the reference's evaluator
    /// records it (object and array literals are walked without being
    /// evaluated; unknowns and errors give the whole expression's range).
    fn access(&self, env: &EnvView<'_>, e: &Expr, accessors: &[Accessor]) -> PlainValue {
        let resolved = self.resolve(env, e, accessors);
        PlainValue::Array(
            accessors
                .iter()
                .zip(resolved)
                .map(|(a, value)| {
                    let mut m = accessor_json(self, a, &e.site.range);
                    m.insert("value".into(), value);
                    PlainValue::Object(m)
                })
                .collect(),
        )
    }

    fn resolve(&self, env: &EnvView<'_>, e: &Expr, accessors: &[Accessor]) -> Vec<PlainValue> {
        let whole = self.range(Some(&e.site.range));
        let mut out: Vec<PlainValue> = Vec::with_capacity(accessors.len());
        let Some(first) = accessors.first() else {
            return out;
        };
        enum Cursor<'c> {
            Expr(&'c Expr),
            Value(&'c Value),
        }
        let mut cursor = match key_of(first) {
            Some("imports") => {
                out.push(self.range(None));
                let imported = accessors
                    .get(1)
                    .and_then(key_of)
                    .filter(|name| env.doc.imports.iter().any(|i| i.name == *name))
                    .and_then(|name| self.env_value(name));
                match imported {
                    Some(v) => {
                        // An environment's root has no syntax.
                        out.push(self.range(None));
                        Cursor::Value(v)
                    }
                    None => return fill(out, accessors.len(), whole),
                }
            }
            Some("context") => {
                // Context values are constants defined nowhere.
                out.push(self.range(None));
                let context = crate::eval::env_context(
                    &self.run.context,
                    self.root_name(),
                    &env.captured.name,
                );
                let mut v = &context;
                for accessor in &accessors[1..] {
                    let next = match (v, accessor) {
                        (
                            PlainValue::Object(map),
                            Accessor::Name { name: key, .. } | Accessor::Key { key, .. },
                        ) => map.get(key),
                        (PlainValue::Array(items), Accessor::Index { index, .. }) => {
                            usize::try_from(*index).ok().and_then(|i| items.get(i))
                        }
                        _ => None,
                    };
                    match next {
                        Some(next) => {
                            out.push(self.range(None));
                            v = next;
                        }
                        None => break,
                    }
                }
                return fill(out, accessors.len(), whole);
            }
            Some("environments") => {
                if accessors.len() < 3 {
                    return fill(out, accessors.len(), whole);
                }
                out.push(whole.clone());
                out.push(whole.clone());
                out.push(self.range(None));
                let (Some(p), Some(name)) = (key_of(&accessors[1]), key_of(&accessors[2])) else {
                    return fill(out, accessors.len(), whole);
                };
                let name = format!("{p}/{name}");
                match self.env_value(&name) {
                    Some(v) => Cursor::Value(v),
                    None => return fill(out, accessors.len(), whole),
                }
            }
            _ => match &env.doc.values {
                Some(values) => Cursor::Expr(values),
                None => match env.captured.base.as_deref() {
                    Some(base) => Cursor::Value(base),
                    None => return fill(out, accessors.len(), whole),
                },
            },
        };
        let mut i = out.len();
        while i < accessors.len() {
            let accessor = &accessors[i];
            cursor = match cursor {
                Cursor::Expr(x) => match (&x.kind, accessor) {
                    (
                        ExprKind::Object(members),
                        Accessor::Name { name: key, .. } | Accessor::Key { key, .. },
                    ) => {
                        match members.iter().find(|m| &m.key == key) {
                            Some(m) => {
                                out.push(self.range(Some(&m.value.site.range)));
                                i += 1;
                                Cursor::Expr(&m.value)
                            }
                            None => {
                                // Continue in the imported object, if any.
                                let base = if x.member_keys.as_ref().is_some_and(Vec::is_empty) {
                                    env.captured.base.as_deref()
                                } else {
                                    self.lookup_base_value(env, x)
                                };
                                match base {
                                    Some(b) if b.is_object() => Cursor::Value(b),
                                    _ => break,
                                }
                            }
                        }
                    }
                    (ExprKind::List(items), Accessor::Index { index, .. }) => {
                        match usize::try_from(*index).ok().and_then(|i| items.get(i)) {
                            Some(item) => {
                                out.push(self.range(Some(&item.site.range)));
                                i += 1;
                                Cursor::Expr(item)
                            }
                            None => break,
                        }
                    }
                    (ExprKind::Object(_) | ExprKind::List(_), _) => break,
                    (ExprKind::Builtin(b), _)
                        if matches!(
                            b.kind,
                            BuiltinKind::SecretPlain(_)
                                | BuiltinKind::SecretCipher(_)
                                | BuiltinKind::SecretInvalid
                        ) =>
                    {
                        break;
                    }
                    _ => match env.captured.values.get(x.id) {
                        Some(Some(v)) => Cursor::Value(v),
                        _ => break,
                    },
                },
                Cursor::Value(v) => match (&v.repr, accessor) {
                    (Repr::Unknown(_), _) => break,
                    (Repr::Array(items), Accessor::Index { index, .. }) => {
                        match usize::try_from(*index).ok().and_then(|i| items.get(i)) {
                            Some(item) => {
                                out.push(self.range(item.def.as_ref().map(|s| &s.range)));
                                i += 1;
                                Cursor::Value(item)
                            }
                            None => break,
                        }
                    }
                    (
                        Repr::Object(map),
                        Accessor::Name { name: key, .. } | Accessor::Key { key, .. },
                    ) => match map.get(key) {
                        Some(member) => {
                            out.push(self.range(member.def.as_ref().map(|s| &s.range)));
                            i += 1;
                            Cursor::Value(member)
                        }
                        None => match v.base.as_deref() {
                            Some(b) if b.is_object() => Cursor::Value(b),
                            _ => break,
                        },
                    },
                    _ => break,
                },
            };
        }
        fill(out, accessors.len(), whole)
    }

    /// The base value of an object expression when it is a known value.
    fn lookup_base_value<'e>(&self, env: &'e EnvView<'_>, x: &Expr) -> Option<&'e Value> {
        match self.base_of(env, x)? {
            BaseRef::Value(v) => Some(v),
            BaseRef::Access { .. } => None,
        }
    }

    /// The root value of an evaluated environment.
    fn env_value(&self, name: &str) -> Option<&'a Value> {
        self.envs.get(name)?.captured.root.as_ref()
    }

    fn builtin(&self, env: &EnvView<'_>, b: &Builtin) -> PlainValue {
        let string = Schema::of_type("string");
        let missing = || {
            PlainValue::object([
                ("range", self.range(None)),
                ("schema", Schema::always().to_plain()),
            ])
        };
        let literal = |key: &str| {
            b.literal_sites
                .iter()
                .find(|(k, _, _)| k == key)
                .map(|(_, range, text)| literal_string(self.range(Some(range)), text))
        };
        let arg_range = self.range(Some(&b.arg_site.range));
        let (arg_schema, arg) = match &b.kind {
            BuiltinKind::Open { provider, inputs } => {
                let input_schema = provider
                    .as_deref()
                    .and_then(|p| match self.run.providers.get(p) {
                        Some(Ok(p)) => Some(p.schema().inputs),
                        _ => None,
                    })
                    .unwrap_or_else(Schema::always);
                let inputs = inputs
                    .as_ref()
                    .map(|x| self.expr(env, x))
                    .unwrap_or_else(missing);
                if b.name == "fn::open" {
                    let schema = Schema::record(BTreeMap::from([
                        ("provider".to_string(), string.clone()),
                        ("inputs".to_string(), input_schema),
                    ]));
                    let arg = PlainValue::object([
                        ("range", zero_range(None)),
                        (
                            "object",
                            PlainValue::object([
                                ("provider", literal("provider").unwrap_or_else(missing)),
                                ("inputs", inputs),
                            ]),
                        ),
                    ]);
                    (schema, arg)
                } else {
                    (input_schema, inputs)
                }
            }
            BuiltinKind::Rotate {
                provider,
                inputs,
                state,
            } => {
                let schemas = provider
                    .as_deref()
                    .and_then(|p| match self.run.rotators.get(p) {
                        Some(Ok(r)) => Some(r.schema()),
                        _ => None,
                    });
                let (input_schema, state_schema) = match schemas {
                    Some(s) => (
                        s.inputs,
                        Schema::one_of(vec![s.state, Schema::of_type("null")]),
                    ),
                    None => (Schema::always(), Schema::always()),
                };
                let mut schema = BTreeMap::from([
                    ("inputs".to_string(), input_schema),
                    ("state".to_string(), state_schema),
                ]);
                let mut object = BTreeMap::from([
                    (
                        "inputs".to_string(),
                        inputs
                            .as_ref()
                            .map(|x| self.expr(env, x))
                            .unwrap_or_else(missing),
                    ),
                    (
                        "state".to_string(),
                        state
                            .as_ref()
                            .map(|x| self.expr(env, x))
                            .unwrap_or_else(|| {
                                PlainValue::object([
                                    ("range", self.range(None)),
                                    ("schema", Schema::of_type("null").to_plain()),
                                ])
                            }),
                    ),
                ]);
                if b.name == "fn::rotate" {
                    schema.insert("provider".into(), string.clone());
                    object.insert(
                        "provider".into(),
                        literal("provider").unwrap_or_else(missing),
                    );
                }
                let arg = PlainValue::object([
                    ("range", zero_range(None)),
                    ("object", PlainValue::Object(object)),
                ]);
                (Schema::record(schema), arg)
            }
            BuiltinKind::SecretPlain(text) => (Schema::always(), literal_string(arg_range, text)),
            BuiltinKind::SecretCipher(_) => {
                let ciphertext = literal("ciphertext").unwrap_or_else(missing);
                let arg = PlainValue::object([
                    ("range", arg_range),
                    ("object", PlainValue::object([("ciphertext", ciphertext)])),
                ]);
                (Schema::always(), arg)
            }
            BuiltinKind::SecretInvalid => (Schema::always(), literal_string(self.range(None), "")),
            BuiltinKind::Join(pair) | BuiltinKind::Split(pair) => {
                let second = if matches!(b.kind, BuiltinKind::Join(_)) {
                    Schema::array_of(string.clone())
                } else {
                    string.clone()
                };
                let schema = Schema::tuple(vec![string.clone(), second]);
                let list = match pair {
                    Some((a, c)) => vec![self.expr(env, a), self.expr(env, c)],
                    None => vec![missing(), missing()],
                };
                let arg =
                    PlainValue::object([("range", arg_range), ("list", PlainValue::Array(list))]);
                (schema, arg)
            }
            BuiltinKind::Concat(x) => (
                Schema::array_of(Schema::array_of(Schema::always())),
                self.expr(env, x),
            ),
            BuiltinKind::ToBase64(x) | BuiltinKind::FromBase64(x) => (string, self.expr(env, x)),
            BuiltinKind::ToJson(x)
            | BuiltinKind::FromJson(x)
            | BuiltinKind::ToString(x)
            | BuiltinKind::Final(x) => (Schema::always(), self.expr(env, x)),
            BuiltinKind::Validate { schema, value } => {
                let object = PlainValue::object([
                    (
                        "schema",
                        schema
                            .as_ref()
                            .map(|x| self.expr(env, x))
                            .unwrap_or_else(missing),
                    ),
                    (
                        "value",
                        value
                            .as_ref()
                            .map(|x| self.expr(env, x))
                            .unwrap_or_else(missing),
                    ),
                ]);
                let arg = PlainValue::object([("range", arg_range), ("object", object)]);
                (Schema::always(), arg)
            }
        };
        PlainValue::object([
            ("name", PlainValue::string(&b.name)),
            ("nameRange", self.range(Some(&b.name_range))),
            ("argSchema", arg_schema.to_plain()),
            ("arg", arg),
        ])
    }
}

/// `{environment?, begin, end}`; `environment` left out when empty.
fn range_json(environment: Option<&str>, r: &Range) -> PlainValue {
    let mut m = BTreeMap::new();
    if let Some(name) = environment.filter(|n| !n.is_empty()) {
        m.insert("environment".to_string(), PlainValue::string(name));
    }
    m.insert("begin".into(), pos_json(r.start));
    m.insert("end".into(), pos_json(r.end));
    PlainValue::Object(m)
}

/// The zero range, in `environment` if given.
fn zero_range(environment: Option<&str>) -> PlainValue {
    let zero = esc_syntax::Pos::default();
    range_json(environment, &Range::new(Arc::from(""), zero, zero))
}

fn pos_json(p: esc_syntax::Pos) -> PlainValue {
    PlainValue::object([
        ("line", PlainValue::Number(p.line.to_string())),
        ("column", PlainValue::Number(p.column.to_string())),
        ("byte", PlainValue::Number(p.byte.to_string())),
    ])
}

/// A string literal expression.
fn literal_string(range: PlainValue, text: &str) -> PlainValue {
    PlainValue::object([
        ("range", range),
        (
            "schema",
            Schema::of_const(&PlainValue::string(text)).to_plain(),
        ),
        ("literal", PlainValue::string(text)),
    ])
}

/// Complete the accessor value ranges with `rest` (unresolved accessors:
/// the reference gives them the whole expression's range).
fn fill(mut out: Vec<PlainValue>, n: usize, rest: PlainValue) -> Vec<PlainValue> {
    while out.len() < n {
        out.push(rest.clone());
    }
    out.truncate(n);
    out
}

/// The key of a name or string-subscript accessor.
fn key_of(accessor: &Accessor) -> Option<&str> {
    match accessor {
        Accessor::Name { name, .. } => Some(name),
        Accessor::Key { key, .. } => Some(key),
        Accessor::Index { .. } => None,
    }
}

/// `{key|index, range}` of an accessor of the string at `scalar`.
fn accessor_json(
    exporter: &Exporter<'_>,
    accessor: &Accessor,
    scalar: &Range,
) -> BTreeMap<String, PlainValue> {
    let mut m = BTreeMap::new();
    match accessor {
        Accessor::Name { name: key, .. } | Accessor::Key { key, .. } => {
            m.insert("key".to_string(), PlainValue::string(key));
        }
        Accessor::Index { index, .. } => {
            m.insert("index".to_string(), PlainValue::Number(index.to_string()));
        }
    }
    // Only accessors in single-line plain scalars have ranges of their own;
    // esc-syntax gives the others the whole scalar's range (for
    // diagnostics), the reference none.
    let range = Some(accessor.range()).filter(|r| *r != scalar);
    m.insert("range".into(), exporter.range(range));
    m
}

/// Member `key` of a base, as the reference's `value.property`: own
/// members, then the value's own base; into an unknown, a late-bound
/// access (whose range is the key that first reached into it).
fn base_property<'v>(
    base: BaseRef<'v>,
    key: &str,
    key_range: Option<Range>,
) -> Option<BaseRef<'v>> {
    match base {
        BaseRef::Value(v) => match &v.repr {
            Repr::Object(map) => match map.get(key) {
                Some(member) => Some(BaseRef::Value(member)),
                None => base_property(BaseRef::Value(v.base.as_deref()?), key, key_range),
            },
            Repr::Unknown(schema) => Some(BaseRef::Access {
                range: key_range?,
                schema: go_property(schema, key),
                receiver: v.def.as_ref().map(|s| s.range.clone()),
                keys: vec![key.to_string()],
            }),
            _ => None,
        },
        BaseRef::Access {
            range,
            schema,
            receiver,
            mut keys,
        } => {
            keys.push(key.to_string());
            Some(BaseRef::Access {
                range,
                schema,
                receiver,
                keys,
            })
        }
    }
}

/// The reference's `Schema.Property`: only typed object schemas have
/// properties (so `true` gives `false`).
fn go_property(schema: &Schema, key: &str) -> Schema {
    match schema.resolved() {
        Schema::Bool(_) => Schema::never(),
        s => match s.as_object() {
            Some(o) if o.type_.is_empty() && o.any_of.is_empty() && o.one_of.is_empty() => {
                Schema::never()
            }
            _ => s.property(key),
        },
    }
}

/// The schema the reference gives an expression before evaluating it.
fn declared_schema(e: &Expr) -> Schema {
    match &e.kind {
        ExprKind::Null => Schema::of_type("null"),
        ExprKind::Bool(b) => Schema::of_const(&PlainValue::Bool(*b)),
        ExprKind::Number(n) => Schema::of_const(&PlainValue::Number(n.clone())),
        ExprKind::String(s) => Schema::of_const(&PlainValue::string(s)),
        ExprKind::Interpolate(_) => Schema::of_type("string"),
        ExprKind::Symbol(_) => Schema::always(),
        ExprKind::List(_) => Schema::array_of(Schema::always()),
        ExprKind::Object(_) => Schema::object(crate::schema::ObjectSchema {
            type_: "object".into(),
            additional_properties: Some(Schema::always()),
            ..Default::default()
        }),
        ExprKind::Builtin(b) => match &b.kind {
            BuiltinKind::Open { .. }
            | BuiltinKind::Rotate { .. }
            | BuiltinKind::FromJson(_)
            | BuiltinKind::Final(_)
            | BuiltinKind::Validate { .. } => Schema::always(),
            BuiltinKind::Split(_) => Schema::array_of(Schema::of_type("string")),
            BuiltinKind::Concat(_) => Schema::array_of(Schema::always()),
            _ => Schema::of_type("string"),
        },
    }
}

#[cfg(test)]
mod tests;
