//! The async driver: prefetches every environment and provider a
//! definition can reach (breadth-first, each level concurrently), then runs
//! evaluation passes, making the outside calls each pass asks for
//! concurrently between passes (see `crate::eval`).

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use esc_syntax::Diagnostic;
use futures::future::join_all;

use crate::document::{BuiltinKind, Document, ExprKind, inline_reference, walk};
use crate::eval::{EnvResult, Pass, PassOutput, env_context, literal_value};
use crate::plain::PlainValue;
use crate::traits::{Decrypter, EnvironmentSource, Provider, ProviderContext, Rotator};
use crate::{Definition, EvalError, Evaluation, Limits, Mode, ParsedEnvironment, Session};

/// A parsed environment with the decrypter for its ciphertexts.
pub(crate) struct LoadedDoc {
    pub(crate) doc: Result<Arc<Document>, Diagnostic>,
    pub(crate) refs: Arc<DocRefs>,
    pub(crate) decrypter: Arc<dyn Decrypter>,
}

/// The result of an outside call: data or the error text.
pub(crate) type OpResult = Result<PlainValue, String>;

/// An outside call requested by a pass. Identical calls are made once per
/// evaluation (the context is part of the identity: providers see it).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Op {
    Open {
        provider: String,
        inputs: PlainValue,
        context: Arc<PlainValue>,
        environment: String,
    },
    RotatorOpen {
        rotator: String,
        inputs: PlainValue,
        state: Option<PlainValue>,
        context: Arc<PlainValue>,
        environment: String,
    },
    Rotate {
        rotator: String,
        inputs: PlainValue,
        state: Option<PlainValue>,
        context: Arc<PlainValue>,
        environment: String,
        path: String,
    },
    Decrypt {
        env: String,
        ciphertext: Vec<u8>,
    },
}

/// Everything a pass reads.
pub(crate) struct RunState {
    pub(crate) mode: Mode,
    pub(crate) root_name: Arc<str>,
    pub(crate) root_doc: Arc<Document>,
    pub(crate) root_decrypter: Arc<dyn Decrypter>,
    pub(crate) docs: HashMap<String, Result<Arc<LoadedDoc>, String>>,
    pub(crate) providers: HashMap<String, Result<Arc<dyn Provider>, String>>,
    pub(crate) rotators: HashMap<String, Result<Arc<dyn Rotator>, String>>,
    pub(crate) cache: HashMap<Op, OpResult>,
    /// Every ciphertext, decrypted before the first pass: by environment
    /// and the id of its `fn::secret` expression.
    pub(crate) decrypted: HashMap<String, HashMap<usize, Result<Arc<str>, String>>>,
    /// Number of decryptions made (they are not in `cache`).
    pub(crate) n_decrypts: usize,
    /// Direct imports of the root finished in an earlier pass.
    pub(crate) env_cache: HashMap<String, EnvResult>,
    pub(crate) context: PlainValue,
    pub(crate) limits: Limits,
}

/// What a document refers to, found once per parse (see
/// [`ParsedEnvironment`]): the driver prefetches from it.
#[derive(Default)]
pub(crate) struct DocRefs {
    /// Imports and inline references, in order (repeats kept).
    pub(crate) envs: Vec<String>,
    /// Providers named by `fn::open` calls, each once.
    pub(crate) providers: Vec<String>,
    /// Rotators named by `fn::rotate` calls, each once.
    pub(crate) rotators: Vec<String>,
    /// The `fn::secret` expressions (by id) whose envelope decodes, with
    /// their ciphertexts.
    pub(crate) ciphertexts: Vec<(usize, Vec<u8>)>,
}

impl DocRefs {
    pub(crate) fn of(doc: &Document) -> Self {
        let mut refs = DocRefs::default();
        for import in &doc.imports {
            refs.envs.push(import.name.clone());
        }
        let mut providers = HashSet::new();
        let mut rotators = HashSet::new();
        if let Some(values) = &doc.values {
            walk(values, &mut |e| match &e.kind {
                ExprKind::Symbol(accessors) => refs.envs.extend(inline_reference(accessors)),
                ExprKind::Interpolate(parts) => {
                    for p in parts {
                        if let Some(accessors) = &p.access {
                            refs.envs.extend(inline_reference(accessors));
                        }
                    }
                }
                ExprKind::Builtin(b) => match &b.kind {
                    BuiltinKind::Open {
                        provider: Some(name),
                        ..
                    } if providers.insert(name.as_str()) => refs.providers.push(name.clone()),
                    BuiltinKind::Rotate {
                        provider: Some(name),
                        ..
                    } if rotators.insert(name.as_str()) => refs.rotators.push(name.clone()),
                    BuiltinKind::SecretCipher(text) => {
                        if let Ok(ciphertext) = crate::builtins::decode_envelope(text) {
                            refs.ciphertexts.push((e.id, ciphertext));
                        }
                    }
                    _ => {}
                },
                _ => {}
            });
        }
        refs
    }
}

pub(crate) async fn evaluate(
    definition: &Definition,
    mode: Mode,
    session: &Session,
) -> Result<Evaluation, EvalError> {
    if let PlainValue::Object(map) = &session.context {
        for key in ["currentEnvironment", "rootEnvironment"] {
            if map.contains_key(key) {
                return Err(EvalError::ReservedContextKey(key.to_string()));
            }
        }
    }
    let root_doc = definition.doc.clone();
    let root_refs = definition.refs.clone();
    let root_name: Arc<str> = root_doc.name.clone();
    let limits = session.limits.clone();

    // Breadth-first prefetch of every reachable environment, concurrently
    // with loading the root's providers and making its literal-input opens.
    let envs_future = async {
        let mut providers: HashSet<&str> = HashSet::new();
        let mut rotators: HashSet<&str> = HashSet::new();
        let mut frontier: Vec<String> = root_refs.envs.clone();
        providers.extend(root_refs.providers.iter().map(String::as_str));
        rotators.extend(root_refs.rotators.iter().map(String::as_str));
        let mut docs: HashMap<String, Result<Arc<LoadedDoc>, String>> = HashMap::new();
        let mut seen: HashSet<String> = HashSet::new();
        seen.insert(root_name.to_string());
        // Names of providers and rotators of loaded documents (owned: the
        // documents move into `docs`).
        let mut more_providers: HashSet<String> = HashSet::new();
        let mut more_rotators: HashSet<String> = HashSet::new();
        loop {
            let mut level = Vec::new();
            for name in frontier.drain(..) {
                if !seen.contains(&name) {
                    seen.insert(name.clone());
                    level.push(name);
                }
            }
            if level.is_empty() {
                break;
            }
            let mut to_load = Vec::new();
            for name in level {
                if docs.len() + to_load.len() >= limits.max_environments {
                    docs.insert(
                        name,
                        Err(format!(
                            "too many environments: an evaluation may load at most {}",
                            limits.max_environments
                        )),
                    );
                } else {
                    to_load.push(name);
                }
            }
            let loader = &session.environments;
            let results = join_all(to_load.iter().map(|name| loader.load_environment(name))).await;
            for (name, result) in to_load.into_iter().zip(results) {
                match result {
                    Ok(loaded) => {
                        let parsed = match loaded.definition {
                            EnvironmentSource::Text(text) => ParsedEnvironment::parse(&name, &text),
                            EnvironmentSource::Parsed(parsed) => parsed,
                        };
                        let (doc, refs) = match parsed.document() {
                            Ok(definition) => {
                                let refs = definition.refs;
                                frontier.extend(refs.envs.iter().cloned());
                                for p in &refs.providers {
                                    if !providers.contains(p.as_str()) {
                                        more_providers.insert(p.clone());
                                    }
                                }
                                for r in &refs.rotators {
                                    if !rotators.contains(r.as_str()) {
                                        more_rotators.insert(r.clone());
                                    }
                                }
                                (Ok(definition.doc), refs)
                            }
                            Err(diag) => (Err(diag), Arc::default()),
                        };
                        docs.insert(
                            name,
                            Ok(Arc::new(LoadedDoc {
                                doc,
                                refs,
                                decrypter: loaded.decrypter,
                            })),
                        );
                    }
                    Err(e) => {
                        docs.insert(name, Err(e.0));
                    }
                }
            }
        }
        let providers: Vec<String> = providers
            .into_iter()
            .map(str::to_string)
            .chain(more_providers)
            .collect();
        let rotators: Vec<String> = rotators
            .into_iter()
            .map(str::to_string)
            .chain(more_rotators)
            .collect();
        (docs, providers, rotators)
    };
    let root_future = async {
        let names = &root_refs.providers;
        let loaded = join_all(names.iter().map(|n| session.providers.load_provider(n))).await;
        let providers: HashMap<String, Result<Arc<dyn Provider>, String>> = names
            .iter()
            .cloned()
            .zip(loaded)
            .map(|(n, r)| (n, r.map_err(|e| e.0)))
            .collect();
        let mut ops = Vec::new();
        if matches!(mode, Mode::Eval | Mode::Rotate { .. }) {
            static_opens(
                &providers,
                &session.context,
                &root_name,
                &root_name,
                &root_doc,
                &mut ops,
            );
        }
        let results = join_all(ops.iter().map(|op| open(&providers, op))).await;
        (providers, ops.into_iter().zip(results).collect::<Vec<_>>())
    };
    let ((docs, providers, rotators), (root_providers, root_opens)) =
        futures::join!(envs_future, root_future);

    // Ciphertexts are literals: decrypt them all now, concurrently with
    // loading providers, rather than one pass later. One call per
    // environment and ciphertext.
    let mut decrypts: Vec<(&str, &[u8], &Arc<dyn Decrypter>)> = Vec::new();
    // (environment, expression id, index into `decrypts`)
    let mut envelopes: Vec<(&str, usize, usize)> = Vec::new();
    if mode
        != (Mode::Check {
            show_secrets: false,
        })
    {
        collect_decrypts(
            &root_name,
            &root_refs,
            &session.decrypter,
            &mut decrypts,
            &mut envelopes,
        );
        for (name, loaded) in &docs {
            if let Ok(loaded) = loaded {
                collect_decrypts(
                    name,
                    &loaded.refs,
                    &loaded.decrypter,
                    &mut decrypts,
                    &mut envelopes,
                );
            }
        }
    }
    let provider_names: Vec<String> = providers
        .into_iter()
        .filter(|n| !root_providers.contains_key(n))
        .collect();
    let rotator_names: Vec<String> = rotators;
    let loader = &session.providers;
    let (provider_results, rotator_results, decrypt_results) = futures::join!(
        join_all(provider_names.iter().map(|n| loader.load_provider(n))),
        join_all(rotator_names.iter().map(|n| loader.load_rotator(n))),
        join_all(
            decrypts
                .iter()
                .map(|(_, ciphertext, decrypter)| decrypt_text(ciphertext, decrypter))
        )
    );
    let n_decrypts = decrypts.len();
    let mut decrypted: HashMap<String, HashMap<usize, Result<Arc<str>, String>>> = HashMap::new();
    for (env, id, call) in envelopes {
        if let Some(result) = decrypt_results.get(call) {
            decrypted
                .entry(env.to_string())
                .or_default()
                .insert(id, result.clone());
        }
    }
    drop(decrypts);
    let cache: HashMap<Op, OpResult> = root_opens.into_iter().collect();
    let mut providers: HashMap<String, Result<Arc<dyn Provider>, String>> = provider_names
        .into_iter()
        .zip(provider_results)
        .map(|(n, r)| (n, r.map_err(|e| e.0)))
        .collect();
    providers.extend(root_providers);
    let rotators = rotator_names
        .into_iter()
        .zip(rotator_results)
        .map(|(n, r)| (n, r.map_err(|e| e.0)))
        .collect();

    let mut state = RunState {
        mode,
        root_name,
        root_doc,
        root_decrypter: session.decrypter.clone(),
        docs,
        providers,
        rotators,
        cache,
        decrypted,
        n_decrypts,
        env_cache: HashMap::new(),
        context: session.context.clone(),
        limits,
    };
    // Opens whose inputs are literals cannot depend on anything: make them
    // now rather than one pass later (only when a pass will surely make
    // them: valid inputs, no rotate-only inputs, not inside a builtin).
    if matches!(state.mode, Mode::Eval | Mode::Rotate { .. }) {
        let mut ops = Vec::new();
        for (name, loaded) in &state.docs {
            if let Ok(loaded) = loaded
                && let Ok(doc) = &loaded.doc
            {
                static_opens(
                    &state.providers,
                    &state.context,
                    &state.root_name,
                    name,
                    doc,
                    &mut ops,
                );
            }
        }
        let results = join_all(ops.iter().map(|op| execute(&state, op))).await;
        state.cache.extend(ops.into_iter().zip(results));
    }
    let mut n_passes = 0;
    let output: PassOutput = loop {
        n_passes += 1;
        let output = Pass::new(&state).run_root();
        if output.pending.is_empty() {
            break output;
        }
        if n_passes >= state.limits.max_passes {
            return Err(EvalError::TooManyPasses(state.limits.max_passes));
        }
        let results = join_all(output.pending.iter().map(|op| execute(&state, op))).await;
        for (op, result) in output.pending.into_iter().zip(results) {
            state.cache.insert(op, result);
        }
        state.env_cache.extend(output.finished);
    };
    Ok(Evaluation::new(output, n_passes, state))
}

async fn execute(state: &RunState, op: &Op) -> OpResult {
    match op {
        Op::Open {
            provider,
            inputs,
            context,
            environment,
        } => {
            let Some(Ok(p)) = state.providers.get(provider) else {
                return Err(format!("unknown provider {}", crate::go_quote(provider)));
            };
            let ctx = ProviderContext {
                environment: environment.clone(),
                context: PlainValue::clone(context),
            };
            p.open(inputs, &ctx).await.map_err(|e| e.0)
        }
        Op::RotatorOpen {
            rotator,
            inputs,
            state: rot_state,
            context,
            environment,
        } => {
            let Some(Ok(r)) = state.rotators.get(rotator) else {
                return Err(format!("unknown rotator {}", crate::go_quote(rotator)));
            };
            let ctx = ProviderContext {
                environment: environment.clone(),
                context: PlainValue::clone(context),
            };
            r.open(inputs, rot_state.as_ref(), &ctx)
                .await
                .map_err(|e| e.0)
        }
        Op::Rotate {
            rotator,
            inputs,
            state: rot_state,
            context,
            environment,
            ..
        } => {
            let Some(Ok(r)) = state.rotators.get(rotator) else {
                return Err(format!("unknown rotator {}", crate::go_quote(rotator)));
            };
            let ctx = ProviderContext {
                environment: environment.clone(),
                context: PlainValue::clone(context),
            };
            r.rotate(inputs, rot_state.as_ref(), &ctx)
                .await
                .map_err(|e| e.0)
        }
        Op::Decrypt { env, .. } => {
            let decrypter = if *env == *state.root_name {
                state.root_decrypter.clone()
            } else {
                match state.docs.get(env) {
                    Some(Ok(loaded)) => loaded.decrypter.clone(),
                    _ => return Err("no decrypter".into()),
                }
            };
            decrypt(op, decrypter).await
        }
    }
}

/// The decryptions environment `env` needs: one call per distinct
/// ciphertext, and per `fn::secret` expression the index of its call.
fn collect_decrypts<'a>(
    env: &'a str,
    refs: &'a DocRefs,
    decrypter: &'a Arc<dyn Decrypter>,
    decrypts: &mut Vec<(&'a str, &'a [u8], &'a Arc<dyn Decrypter>)>,
    envelopes: &mut Vec<(&'a str, usize, usize)>,
) {
    let first = decrypts.len();
    for (id, ciphertext) in &refs.ciphertexts {
        let call = match decrypts[first..]
            .iter()
            .position(|(_, c, _)| *c == ciphertext.as_slice())
        {
            Some(i) => first + i,
            None => {
                decrypts.push((env, ciphertext, decrypter));
                decrypts.len() - 1
            }
        };
        envelopes.push((env, *id, call));
    }
}

/// Decrypt a ciphertext into its text (invalid UTF-8 replaced).
async fn decrypt_text(
    ciphertext: &[u8],
    decrypter: &Arc<dyn Decrypter>,
) -> Result<Arc<str>, String> {
    let plain = decrypter.decrypt(ciphertext).await.map_err(|e| e.0)?;
    Ok(Arc::from(String::from_utf8_lossy(&plain)))
}

async fn decrypt(op: &Op, decrypter: Arc<dyn Decrypter>) -> OpResult {
    let Op::Decrypt { ciphertext, .. } = op else {
        return Err("internal error: not a decryption".into());
    };
    let plain = decrypter.decrypt(ciphertext).await.map_err(|e| e.0)?;
    Ok(PlainValue::Secret(Box::new(PlainValue::String(
        String::from_utf8_lossy(&plain).into_owned(),
    ))))
}

/// The literal-input `fn::open` calls of a document (see `evaluate`).
fn static_opens(
    providers: &HashMap<String, Result<Arc<dyn Provider>, String>>,
    context: &PlainValue,
    root_name: &str,
    env: &str,
    doc: &Document,
    ops: &mut Vec<Op>,
) {
    let Some(values) = &doc.values else {
        return;
    };
    // Built on the first call found: most documents have none.
    let mut env_ctx: Option<Arc<PlainValue>> = None;
    let mut seen: Option<HashSet<Op>> = None;
    walk(values, &mut |e| {
        let ExprKind::Builtin(b) = &e.kind else {
            return;
        };
        let BuiltinKind::Open {
            provider: Some(name),
            inputs: Some(inputs),
        } = &b.kind
        else {
            return;
        };
        // Inside a builtin argument the call might not be evaluated.
        if e.values_path.is_empty() {
            return;
        }
        let Some(Ok(provider)) = providers.get(name) else {
            return;
        };
        let schema = provider.schema();
        let Some(value) = literal_value(inputs) else {
            return;
        };
        if !schema.inputs.rotate_only().is_empty() {
            return;
        }
        let mut diags = Vec::new();
        if !crate::validate::validate(&value, &schema.inputs, &inputs.site, &mut diags)
            || !diags.is_empty()
        {
            return;
        }
        let context = env_ctx
            .get_or_insert_with(|| Arc::new(env_context(context, root_name, env)))
            .clone();
        let op = Op::Open {
            provider: name.clone(),
            inputs: value.to_plain(),
            context,
            environment: env.to_string(),
        };
        let seen = seen.get_or_insert_with(|| ops.iter().cloned().collect());
        if seen.insert(op.clone()) {
            ops.push(op);
        }
    });
}

/// Make an `Op::Open` with these providers.
async fn open(providers: &HashMap<String, Result<Arc<dyn Provider>, String>>, op: &Op) -> OpResult {
    let Op::Open {
        provider,
        inputs,
        context,
        environment,
    } = op
    else {
        return Err("internal error: not an open".into());
    };
    let Some(Ok(p)) = providers.get(provider) else {
        return Err(format!("unknown provider {}", crate::go_quote(provider)));
    };
    let ctx = ProviderContext {
        environment: environment.clone(),
        context: PlainValue::clone(context),
    };
    p.open(inputs, &ctx).await.map_err(|e| e.0)
}
