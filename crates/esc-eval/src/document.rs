//! The document layer (spec §1.2–§1.5): a YAML [`Node`] tree becomes
//! imports and expressions, with load diagnostics.

use std::sync::Arc;

use esc_syntax::{Accessor, Diagnostic, DocPath, Node, NodeKind, Range, parse_interpolation};

use crate::value::Site;

/// A parsed environment definition.
#[derive(Debug)]
pub(crate) struct Document {
    pub(crate) name: Arc<str>,
    pub(crate) imports: Vec<Import>,
    /// The `values` mapping as an object expression.
    pub(crate) values: Option<Expr>,
    /// Number of expressions (ids are `0..n_exprs`).
    pub(crate) n_exprs: usize,
    /// Load diagnostics.
    pub(crate) diags: Vec<Diagnostic>,
    /// Diagnostics the reference reports when evaluating rather than when
    /// loading (duplicate and reserved keys in `values`).
    pub(crate) eval_diags: Vec<Diagnostic>,
    /// No `values` entries and no imports: evaluates to nothing.
    pub(crate) is_empty: bool,
}

#[derive(Debug)]
pub(crate) struct Import {
    pub(crate) name: String,
    pub(crate) merge: bool,
    pub(crate) site: Arc<Site>,
}

#[derive(Debug)]
pub(crate) struct Expr {
    pub(crate) id: usize,
    pub(crate) site: Arc<Site>,
    /// Path within `values` for cycle messages (`a.p`, `c.a[0]`); empty in
    /// builtin arguments.
    pub(crate) values_path: String,
    /// Keys from the `values` root when reached through object literals
    /// only: such members have merge bases.
    pub(crate) member_keys: Option<Vec<String>>,
    /// The key node of an object member (defines unknown merge bases).
    pub(crate) key_site: Option<Arc<Site>>,
    /// Object literals: every entry's key and key range, duplicates and
    /// dropped entries included (the §9 `keyRanges`; the last one wins).
    pub(crate) key_ranges: Vec<(String, Range)>,
    pub(crate) kind: ExprKind,
}

#[derive(Debug)]
pub(crate) enum ExprKind {
    Null,
    Bool(bool),
    Number(String),
    String(String),
    Interpolate(Vec<Part>),
    Symbol(Vec<Accessor>),
    List(Vec<Expr>),
    Object(Vec<Member>),
    Builtin(Box<Builtin>),
}

#[derive(Debug)]
pub(crate) struct Part {
    pub(crate) text: String,
    pub(crate) access: Option<Vec<Accessor>>,
}

#[derive(Debug)]
pub(crate) struct Member {
    pub(crate) key: String,
    pub(crate) value: Expr,
}

#[derive(Debug)]
pub(crate) struct Builtin {
    pub(crate) name: String,
    /// The range of the builtin's name (the key node).
    pub(crate) name_range: Range,
    /// Literal nodes that are not expressions of their own: the long-form
    /// `provider` of `fn::open`/`fn::rotate` and the `ciphertext` string of
    /// `fn::secret` (their §9 `exprs` are literals).
    pub(crate) literal_sites: Vec<(String, Range, String)>,
    /// The argument node (plaintext secrets are defined there).
    pub(crate) arg_site: Arc<Site>,
    pub(crate) kind: BuiltinKind,
}

#[derive(Debug)]
pub(crate) enum BuiltinKind {
    Open {
        provider: Option<String>,
        inputs: Option<Expr>,
    },
    Rotate {
        provider: Option<String>,
        inputs: Option<Expr>,
        state: Option<Expr>,
    },
    SecretPlain(String),
    SecretCipher(String),
    SecretInvalid,
    Join(Option<(Expr, Expr)>),
    Split(Option<(Expr, Expr)>),
    Concat(Expr),
    ToJson(Expr),
    FromJson(Expr),
    ToString(Expr),
    ToBase64(Expr),
    FromBase64(Expr),
    Final(Expr),
    Validate {
        schema: Option<Expr>,
        value: Option<Expr>,
    },
}

const BUILTINS: &[&str] = &[
    "fn::open",
    "fn::rotate",
    "fn::secret",
    "fn::join",
    "fn::split",
    "fn::concat",
    "fn::toJSON",
    "fn::toString",
    "fn::fromJSON",
    "fn::toBase64",
    "fn::fromBase64",
    "fn::final",
    "fn::validate",
];

fn is_builtin_name(k: &str) -> bool {
    BUILTINS.contains(&k) || k.starts_with("fn::open::") || k.starts_with("fn::rotate::")
}

/// Parse a document text. `Err` is the one load error that aborts loading.
pub(crate) fn load_document(name: &str, text: &str) -> Result<Document, Diagnostic> {
    let node = esc_syntax::parse_document(name, text)?;
    Ok(build_document(name, node.as_ref()))
}

/// Build a document from a parsed node (`None`: empty input).
pub(crate) fn build_document(name: &str, node: Option<&Node>) -> Document {
    let mut b = Builder {
        n_exprs: 0,
        diags: Vec::new(),
        eval_diags: Vec::new(),
    };
    let mut doc = Document {
        name: Arc::from(name),
        imports: Vec::new(),
        values: None,
        n_exprs: 0,
        diags: Vec::new(),
        eval_diags: Vec::new(),
        is_empty: true,
    };
    let Some(node) = node else {
        return doc;
    };
    let NodeKind::Mapping(entries) = &node.kind else {
        b.diags.push(Diagnostic::error(
            "environment must be an object",
            Some(node.range.clone()),
            "",
        ));
        doc.diags = b.diags;
        return doc;
    };
    let mut imports_node: Option<&Node> = None;
    let mut values_node: Option<(&Node, &Node)> = None;
    let mut seen: Vec<String> = Vec::new();
    for (key_node, value_node) in entries {
        let key = key_text(key_node);
        let lower = key.to_lowercase();
        let path = DocPath::root().key(&key);
        if seen.contains(&lower) {
            b.diags.push(Diagnostic::warning(
                format!("duplicate key {}", crate::go_quote(&key)),
                Some(key_node.range.clone()),
                path.as_str(),
            ));
        } else {
            seen.push(lower.clone());
        }
        match lower.as_str() {
            "imports" => imports_node = Some(value_node),
            "values" => values_node = Some((key_node, value_node)),
            "description" => {
                // A string literal: parsed like any string (its parse
                // errors reported), so a reference or interpolation is not
                // one.
                let is_literal = match &value_node.kind {
                    NodeKind::String { value, .. } => {
                        matches!(b.string(value, value_node, &path), ExprKind::String(_))
                    }
                    _ => false,
                };
                if !is_literal {
                    b.diags.push(Diagnostic::error(
                        "description must be a string",
                        Some(value_node.range.clone()),
                        path.as_str(),
                    ));
                }
            }
            _ => {
                let mut names = ["imports", "values", "description"];
                let normalized = lower.replace('_', "");
                names.sort_by_key(|n| crate::levenshtein(&normalized, n));
                let list = names
                    .iter()
                    .map(|n| format!("'{n}'"))
                    .collect::<Vec<_>>()
                    .join(", ");
                b.diags.push(Diagnostic::warning(
                    format!("Field '{key}' does not exist on Object 'environment'. Existing fields are: {list}"),
                    Some(key_node.range.clone()),
                    path.as_str(),
                ));
            }
        }
    }
    if let Some(imports) = imports_node {
        let path = DocPath::root().key("imports");
        match &imports.kind {
            NodeKind::Sequence(items) => {
                for (i, item) in items.iter().enumerate() {
                    if let Some(import) = b.import(item, &path.index(i)) {
                        doc.imports.push(import);
                    }
                }
            }
            // `imports:` with no value is a mistake too: the reference (and
            // its CLI transcript env-edit-editor-invalid) reports it
            _ => b.diags.push(Diagnostic::error(
                "imports must be a list",
                Some(imports.range.clone()),
                path.as_str(),
            )),
        }
    }
    if let Some((_, values)) = values_node {
        let path = DocPath::root().key("values");
        match &values.kind {
            NodeKind::Mapping(entries) => {
                if !entries.is_empty() {
                    doc.values = Some(b.values_object(values, entries, &path));
                }
            }
            // `values:` with nothing after it is null, not an empty object:
            // the reference reports it as it reports `imports:`.
            _ => b.diags.push(Diagnostic::error(
                "values must be an object",
                Some(values.range.clone()),
                path.as_str(),
            )),
        }
    }
    let has_import_items = imports_node
        .is_some_and(|n| matches!(&n.kind, NodeKind::Sequence(items) if !items.is_empty()));
    doc.is_empty = doc.values.is_none() && !has_import_items;
    doc.n_exprs = b.n_exprs;
    doc.diags = b.diags;
    doc.eval_diags = b.eval_diags;
    doc
}

fn key_text(node: &Node) -> String {
    match &node.kind {
        NodeKind::String { value, .. } => value.clone(),
        NodeKind::Number(n) => n.clone(),
        NodeKind::Bool(b) => b.to_string(),
        _ => String::new(),
    }
}

struct Builder {
    n_exprs: usize,
    diags: Vec<Diagnostic>,
    eval_diags: Vec<Diagnostic>,
}

impl Builder {
    fn site(&self, range: &Range, path: &DocPath) -> Arc<Site> {
        Arc::new(Site {
            range: range.clone(),
            path: path.as_str().to_string(),
        })
    }

    fn error(&mut self, summary: impl Into<String>, range: &Range, path: &DocPath) {
        self.diags.push(Diagnostic::error(
            summary,
            Some(range.clone()),
            path.as_str(),
        ));
    }

    fn eval_error(&mut self, summary: impl Into<String>, range: &Range, path: &DocPath) {
        self.eval_diags.push(Diagnostic::error(
            summary,
            Some(range.clone()),
            path.as_str(),
        ));
    }

    fn import(&mut self, item: &Node, path: &DocPath) -> Option<Import> {
        match &item.kind {
            NodeKind::String { value, .. } => Some(Import {
                name: value.clone(),
                merge: true,
                site: self.site(&item.range, path),
            }),
            NodeKind::Mapping(entries) => {
                if entries.len() != 1 {
                    self.error("import must have a single key", &item.range, path);
                    return None;
                }
                let (key, options) = &entries[0];
                let name = key_text(key);
                let NodeKind::Mapping(opts) = &options.kind else {
                    self.error("import must be an object", &options.range, &path.key(&name));
                    return None;
                };
                let mut merge = true;
                for (k, v) in opts {
                    // Option names match case-insensitively, like the
                    // document's top-level keys.
                    if key_text(k).eq_ignore_ascii_case("merge") {
                        match v.kind {
                            NodeKind::Bool(b) => merge = b,
                            _ => {
                                self.error(
                                    "merge must be a boolean value",
                                    &v.range,
                                    &path.key(&name).key("merge"),
                                );
                                return None;
                            }
                        }
                    }
                }
                Some(Import {
                    name,
                    merge,
                    site: self.site(&key.range, path),
                })
            }
            _ => {
                self.error("import must be a string or an object", &item.range, path);
                None
            }
        }
    }

    fn next_id(&mut self) -> usize {
        self.n_exprs += 1;
        self.n_exprs - 1
    }

    fn values_object(&mut self, node: &Node, entries: &[(Node, Node)], path: &DocPath) -> Expr {
        let id = self.next_id();
        let mut members: Vec<Member> = Vec::new();
        let mut key_ranges = Vec::new();
        for (key_node, value_node) in entries {
            let key = key_text(key_node);
            key_ranges.push((key.clone(), key_node.range.clone()));
            let member_path = path.key(&key);
            if key.starts_with("fn::") {
                self.error(
                    format!(
                        "builtin function call {} not allowed at the top level",
                        crate::go_quote(&key)
                    ),
                    &key_node.range,
                    &member_path,
                );
            }
            if matches!(key.as_str(), "imports" | "context" | "environments") {
                self.eval_error(
                    format!("{} is a reserved key", crate::go_quote(&key)),
                    &key_node.range,
                    &member_path,
                );
                continue;
            }
            if members.iter().any(|m| m.key == key) {
                self.eval_error(
                    format!("duplicate key {}", crate::go_quote(&key)),
                    &key_node.range,
                    &member_path,
                );
                continue;
            }
            let value = self.expr(
                value_node,
                &member_path,
                Some(&key),
                Some(vec![key.clone()]),
            );
            members.push(Member { key, value });
        }
        Expr {
            id,
            site: self.site(&node.range, path),
            values_path: String::new(),
            member_keys: Some(Vec::new()),
            key_site: None,
            key_ranges,
            kind: ExprKind::Object(members),
        }
    }

    /// `values_path`: `Some` outside builtin arguments.
    fn expr(
        &mut self,
        node: &Node,
        path: &DocPath,
        values_path: Option<&str>,
        member_keys: Option<Vec<String>>,
    ) -> Expr {
        let id = self.next_id();
        let site = self.site(&node.range, path);
        let kind = match &node.kind {
            NodeKind::Null => ExprKind::Null,
            NodeKind::Bool(b) => ExprKind::Bool(*b),
            NodeKind::Number(n) => ExprKind::Number(n.clone()),
            NodeKind::String { value, .. } => self.string(value, node, path),
            NodeKind::Sequence(items) => ExprKind::List(
                items
                    .iter()
                    .enumerate()
                    .map(|(i, item)| {
                        let vp = values_path.map(|p| format!("{p}[{i}]"));
                        self.expr(item, &path.index(i), vp.as_deref(), None)
                    })
                    .collect(),
            ),
            NodeKind::Mapping(entries) => {
                return self.mapping(id, site, node, entries, path, values_path, member_keys);
            }
        };
        Expr {
            id,
            site,
            values_path: values_path.unwrap_or("").to_string(),
            member_keys,
            key_site: None,
            key_ranges: Vec::new(),
            kind,
        }
    }

    fn string(&mut self, value: &str, node: &Node, path: &DocPath) -> ExprKind {
        let (interp, diags) = parse_interpolation(value, node);
        for mut d in diags {
            d.path = path.as_str().to_string();
            self.diags.push(d);
        }
        let parts: Vec<_> = interp
            .parts
            .into_iter()
            .filter(|p| !p.text.is_empty() || p.access.is_some())
            .collect();
        if parts.iter().all(|p| p.access.is_none()) {
            return ExprKind::String(parts.into_iter().map(|p| p.text).collect());
        }
        if parts.len() == 1
            && parts[0].text.is_empty()
            && let Some(access) = &parts[0].access
        {
            return ExprKind::Symbol(access.accessors.clone());
        }
        ExprKind::Interpolate(
            parts
                .into_iter()
                .map(|p| Part {
                    text: p.text,
                    access: p.access.map(|a| a.accessors),
                })
                .collect(),
        )
    }

    #[allow(clippy::too_many_arguments)] // one call site; the pieces are all needed
    fn mapping(
        &mut self,
        id: usize,
        site: Arc<Site>,
        node: &Node,
        entries: &[(Node, Node)],
        path: &DocPath,
        values_path: Option<&str>,
        member_keys: Option<Vec<String>>,
    ) -> Expr {
        if entries.len() == 1 {
            let key = key_text(&entries[0].0);
            if is_builtin_name(&key) {
                let kind = self.builtin(&key, &entries[0].0, &entries[0].1, path);
                return Expr {
                    id,
                    site,
                    values_path: values_path.unwrap_or("").to_string(),
                    member_keys,
                    key_site: None,
                    key_ranges: Vec::new(),
                    kind: ExprKind::Builtin(Box::new(kind)),
                };
            }
            if key.to_lowercase().starts_with("fn::") {
                // At the key, but with the mapping's path (as the reference).
                self.error("'fn::' is a reserved prefix", &entries[0].0.range, path);
            }
        } else {
            for (k, _) in entries {
                let key = key_text(k);
                if key.starts_with("fn::") {
                    self.error(
                        format!("illegal call to builtin function: {} must be the only key within its containing object", crate::go_quote(&key)),
                        &node.range,
                        path,
                    );
                }
            }
        }
        let mut members: Vec<Member> = Vec::new();
        let mut key_ranges = Vec::new();
        for (key_node, value_node) in entries {
            let raw = key_text(key_node);
            let member_path = path.key(&raw);
            let (interp, _) = parse_interpolation(&raw, key_node);
            let parts: Vec<_> = interp
                .parts
                .into_iter()
                .filter(|p| !p.text.is_empty() || p.access.is_some())
                .collect();
            if parts.iter().any(|p| p.access.is_some()) {
                self.error("object keys must be strings", &key_node.range, &member_path);
                continue;
            }
            let key: String = parts.into_iter().map(|p| p.text).collect();
            key_ranges.push((key.clone(), key_node.range.clone()));
            if members.iter().any(|m| m.key == key) {
                self.eval_error(
                    format!("duplicate key {}", crate::go_quote(&key)),
                    &key_node.range,
                    &member_path,
                );
                continue;
            }
            let vp = values_path.map(|p| {
                if p.is_empty() {
                    key.clone()
                } else {
                    format!("{p}.{key}")
                }
            });
            let mk = member_keys.as_ref().map(|keys| {
                let mut keys = keys.clone();
                keys.push(key.clone());
                keys
            });
            let mut value = self.expr(value_node, &member_path, vp.as_deref(), mk);
            value.key_site = Some(self.site(&key_node.range, &member_path));
            members.push(Member { key, value });
        }
        Expr {
            id,
            site,
            values_path: values_path.unwrap_or("").to_string(),
            member_keys,
            key_site: None,
            key_ranges,
            kind: ExprKind::Object(members),
        }
    }

    fn arg(&mut self, node: &Node, path: &DocPath) -> Expr {
        self.expr(node, path, None, None)
    }

    fn builtin(
        &mut self,
        name: &str,
        name_node: &Node,
        arg: &Node,
        call_path: &DocPath,
    ) -> Builtin {
        let arg_path = call_path.key(name);
        let arg_site = self.site(&arg.range, &arg_path);
        let kind = match name {
            "fn::open" => self.open_long(arg, &arg_path),
            "fn::rotate" => self.rotate(arg, &arg_path, None),
            _ if name.starts_with("fn::open::") => BuiltinKind::Open {
                provider: Some(name["fn::open::".len()..].to_string()),
                inputs: Some(self.arg(arg, &arg_path)),
            },
            _ if name.starts_with("fn::rotate::") => self.rotate(
                arg,
                &arg_path,
                Some(name["fn::rotate::".len()..].to_string()),
            ),
            "fn::secret" => self.secret(arg, &arg_path),
            "fn::join" | "fn::split" => {
                let pair = match &arg.kind {
                    NodeKind::Sequence(items) if items.len() == 2 => Some((
                        self.arg(&items[0], &arg_path.index(0)),
                        self.arg(&items[1], &arg_path.index(1)),
                    )),
                    _ => {
                        self.error(
                            format!("the argument to {name} must be a two-valued list"),
                            &arg.range,
                            &arg_path,
                        );
                        None
                    }
                };
                if name == "fn::join" {
                    BuiltinKind::Join(pair)
                } else {
                    BuiltinKind::Split(pair)
                }
            }
            "fn::concat" => {
                if !matches!(arg.kind, NodeKind::Sequence(_)) {
                    self.error(
                        "the argument to fn::concat must be an array of arrays",
                        &arg.range,
                        &arg_path,
                    );
                }
                BuiltinKind::Concat(self.arg(arg, &arg_path))
            }
            "fn::toJSON" => BuiltinKind::ToJson(self.arg(arg, &arg_path)),
            "fn::fromJSON" => BuiltinKind::FromJson(self.arg(arg, &arg_path)),
            "fn::toString" => BuiltinKind::ToString(self.arg(arg, &arg_path)),
            "fn::toBase64" => BuiltinKind::ToBase64(self.arg(arg, &arg_path)),
            "fn::fromBase64" => BuiltinKind::FromBase64(self.arg(arg, &arg_path)),
            "fn::final" => BuiltinKind::Final(self.arg(arg, &arg_path)),
            _ => self.validate(arg, &arg_path),
        };
        let mut literal_sites = Vec::new();
        if let NodeKind::Mapping(entries) = &arg.kind {
            let literal = match name {
                "fn::open" | "fn::rotate" => "provider",
                "fn::secret" => "ciphertext",
                _ => "",
            };
            if let Some(node) = Self::entry(entries, literal)
                && let NodeKind::String { value, .. } = &node.kind
                && let Some(text) = literal_text(value, node)
            {
                literal_sites.push((literal.to_string(), node.range.clone(), text));
            }
        }
        Builtin {
            name: name.to_string(),
            name_range: name_node.range.clone(),
            literal_sites,
            arg_site,
            kind,
        }
    }

    fn entry<'n>(entries: &'n [(Node, Node)], key: &str) -> Option<&'n Node> {
        entries
            .iter()
            .find(|(k, _)| key_text(k) == key)
            .map(|(_, v)| v)
    }

    fn provider_name(
        &mut self,
        entries: &[(Node, Node)],
        arg: &Node,
        path: &DocPath,
    ) -> Option<String> {
        match Self::entry(entries, "provider") {
            None => {
                self.error("missing provider name ('provider')", &arg.range, path);
                None
            }
            Some(node) => {
                let provider_path = path.key("provider");
                // The name goes through the string parser like any string
                // (`$$` is `$`); a reference or interpolation is not a literal.
                let literal = match &node.kind {
                    NodeKind::String { value, .. } => {
                        match self.string(value, node, &provider_path) {
                            ExprKind::String(text) => Some(text),
                            _ => None,
                        }
                    }
                    _ => None,
                };
                if literal.is_none() {
                    self.error(
                        "provider name must be a string literal",
                        &node.range,
                        &provider_path,
                    );
                }
                literal
            }
        }
    }

    fn inputs(&mut self, entries: &[(Node, Node)], arg: &Node, path: &DocPath) -> Option<Expr> {
        match Self::entry(entries, "inputs") {
            None => {
                self.error("missing provider inputs ('inputs')", &arg.range, path);
                None
            }
            Some(node) => Some(self.arg(node, &path.key("inputs"))),
        }
    }

    fn open_long(&mut self, arg: &Node, path: &DocPath) -> BuiltinKind {
        let NodeKind::Mapping(entries) = &arg.kind else {
            self.error(
                "the argument to fn::open must be an object containing 'provider' and 'inputs'",
                &arg.range,
                path,
            );
            return BuiltinKind::Open {
                provider: None,
                inputs: None,
            };
        };
        let provider = self.provider_name(entries, arg, path);
        let inputs = self.inputs(entries, arg, path);
        BuiltinKind::Open { provider, inputs }
    }

    fn rotate(&mut self, arg: &Node, path: &DocPath, short: Option<String>) -> BuiltinKind {
        let NodeKind::Mapping(entries) = &arg.kind else {
            let msg = if short.is_some() {
                "the argument to fn::rotate must be an object containing 'inputs' and 'state'"
            } else {
                "the argument to fn::rotate must be an object containing 'provider', 'inputs' and 'state'"
            };
            self.error(msg, &arg.range, path);
            return BuiltinKind::Rotate {
                provider: None,
                inputs: None,
                state: None,
            };
        };
        let provider = match short {
            Some(name) => Some(name),
            None => self.provider_name(entries, arg, path),
        };
        let inputs = self.inputs(entries, arg, path);
        let state = match Self::entry(entries, "state") {
            None => None,
            Some(node) => {
                if !matches!(node.kind, NodeKind::Mapping(_)) {
                    self.error(
                        "rotation state must be an object literal",
                        &node.range,
                        &path.key("state"),
                    );
                }
                Some(self.arg(node, &path.key("state")))
            }
        };
        BuiltinKind::Rotate {
            provider,
            inputs,
            state,
        }
    }

    fn secret(&mut self, arg: &Node, path: &DocPath) -> BuiltinKind {
        match &arg.kind {
            NodeKind::String { value, .. } => {
                if let ExprKind::String(text) = self.string(value, arg, path) {
                    return BuiltinKind::SecretPlain(text);
                }
            }
            NodeKind::Mapping(entries)
                if entries.len() == 1 && key_text(&entries[0].0) == "ciphertext" =>
            {
                if let NodeKind::String { value, .. } = &entries[0].1.kind
                    && let ExprKind::String(text) =
                        self.string(value, &entries[0].1, &path.key("ciphertext"))
                {
                    return BuiltinKind::SecretCipher(text);
                }
            }
            _ => {}
        }
        self.error("secret values must be string literals", &arg.range, path);
        BuiltinKind::SecretInvalid
    }

    fn validate(&mut self, arg: &Node, path: &DocPath) -> BuiltinKind {
        let NodeKind::Mapping(entries) = &arg.kind else {
            self.error(
                "the argument to fn::validate must be an object containing 'schema' and 'value'",
                &arg.range,
                path,
            );
            return BuiltinKind::Validate {
                schema: None,
                value: None,
            };
        };
        let schema = match Self::entry(entries, "schema") {
            Some(n) => Some(self.arg(n, &path.key("schema"))),
            None => {
                self.error("missing required property 'schema'", &arg.range, path);
                None
            }
        };
        let value = match Self::entry(entries, "value") {
            Some(n) => Some(self.arg(n, &path.key("value"))),
            None => {
                self.error("missing required property 'value'", &arg.range, path);
                None
            }
        };
        BuiltinKind::Validate { schema, value }
    }
}

/// The text of a string that parses as a literal (no `${...}` access;
/// `$$` is `$`), without reporting anything.
fn literal_text(value: &str, node: &Node) -> Option<String> {
    let (interp, _) = parse_interpolation(value, node);
    let mut text = String::new();
    for part in interp.parts {
        if part.access.is_some() {
            return None;
        }
        text.push_str(&part.text);
    }
    Some(text)
}

/// Walk all expressions of a document (for prefetching names).
pub(crate) fn walk<'e>(expr: &'e Expr, f: &mut dyn FnMut(&'e Expr)) {
    f(expr);
    match &expr.kind {
        ExprKind::List(items) => items.iter().for_each(|e| walk(e, f)),
        ExprKind::Object(members) => members.iter().for_each(|m| walk(&m.value, f)),
        ExprKind::Builtin(b) => match &b.kind {
            BuiltinKind::Open { inputs, .. } => inputs.iter().for_each(|e| walk(e, f)),
            BuiltinKind::Rotate { inputs, state, .. } => {
                inputs.iter().chain(state.iter()).for_each(|e| walk(e, f));
            }
            BuiltinKind::Join(Some((a, b))) | BuiltinKind::Split(Some((a, b))) => {
                walk(a, f);
                walk(b, f);
            }
            BuiltinKind::Concat(e)
            | BuiltinKind::ToJson(e)
            | BuiltinKind::FromJson(e)
            | BuiltinKind::ToString(e)
            | BuiltinKind::ToBase64(e)
            | BuiltinKind::FromBase64(e)
            | BuiltinKind::Final(e) => walk(e, f),
            BuiltinKind::Validate { schema, value } => {
                schema.iter().chain(value.iter()).for_each(|e| walk(e, f))
            }
            _ => {}
        },
        _ => {}
    }
}

/// The environment named by an inline reference `${environments.P.E...}`,
/// if the accessors name one.
pub(crate) fn inline_reference(accessors: &[Accessor]) -> Option<String> {
    let name = |a: &Accessor| match a {
        Accessor::Name { name, .. } => Some(name.clone()),
        Accessor::Key { key, .. } => Some(key.clone()),
        Accessor::Index { .. } => None,
    };
    if accessors.len() < 3 || name(&accessors[0])? != "environments" {
        return None;
    }
    Some(format!("{}/{}", name(&accessors[1])?, name(&accessors[2])?))
}
