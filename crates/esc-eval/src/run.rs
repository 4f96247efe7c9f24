//! The async driver: prefetches every environment and provider a
//! definition can reach (breadth-first, each level concurrently), then runs
//! evaluation passes, making the outside calls each pass asks for
//! concurrently between passes (see `crate::eval`).

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use esc_syntax::Diagnostic;
use futures::future::join_all;

use crate::document::{BuiltinKind, Document, ExprKind, inline_reference, load_document, walk};
use crate::eval::{EnvResult, Pass, PassOutput, env_context, literal_value};
use crate::plain::PlainValue;
use crate::traits::{Decrypter, Provider, ProviderContext, Rotator};
use crate::{Definition, EvalError, Evaluation, Limits, Mode, Session};

/// A parsed environment with the decrypter for its ciphertexts.
pub(crate) struct LoadedDoc {
    pub(crate) doc: Result<Document, Diagnostic>,
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
        context: PlainValue,
        environment: String,
    },
    RotatorOpen {
        rotator: String,
        inputs: PlainValue,
        state: Option<PlainValue>,
        context: PlainValue,
        environment: String,
    },
    Rotate {
        rotator: String,
        inputs: PlainValue,
        state: Option<PlainValue>,
        context: PlainValue,
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
    /// Direct imports of the root finished in an earlier pass.
    pub(crate) env_cache: HashMap<String, EnvResult>,
    pub(crate) context: PlainValue,
    pub(crate) limits: Limits,
}

/// Names a document refers to: environments, providers, rotators.
fn references(
    doc: &Document,
    envs: &mut Vec<String>,
    providers: &mut HashSet<String>,
    rotators: &mut HashSet<String>,
) {
    for import in &doc.imports {
        envs.push(import.name.clone());
    }
    if let Some(values) = &doc.values {
        walk(values, &mut |e| match &e.kind {
            ExprKind::Symbol(accessors) => envs.extend(inline_reference(accessors)),
            ExprKind::Interpolate(parts) => {
                for p in parts {
                    if let Some(accessors) = &p.access {
                        envs.extend(inline_reference(accessors));
                    }
                }
            }
            ExprKind::Builtin(b) => match &b.kind {
                BuiltinKind::Open {
                    provider: Some(name),
                    ..
                } => {
                    providers.insert(name.clone());
                }
                BuiltinKind::Rotate {
                    provider: Some(name),
                    ..
                } => {
                    rotators.insert(name.clone());
                }
                _ => {}
            },
            _ => {}
        });
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
    let root_name: Arc<str> = root_doc.name.clone();
    let limits = session.limits.clone();

    // Breadth-first prefetch of every reachable environment, concurrently
    // with loading the root's providers and making its literal-input opens.
    let envs_future = async {
        let mut providers = HashSet::new();
        let mut rotators = HashSet::new();
        let mut frontier = Vec::new();
        references(&root_doc, &mut frontier, &mut providers, &mut rotators);
        let mut docs: HashMap<String, Result<Arc<LoadedDoc>, String>> = HashMap::new();
        let mut seen: HashSet<String> = HashSet::new();
        seen.insert(root_name.to_string());
        loop {
            let mut level = Vec::new();
            for name in frontier.drain(..) {
                if seen.insert(name.clone()) {
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
                        let doc = load_document(&name, &loaded.text);
                        if let Ok(doc) = &doc {
                            references(doc, &mut frontier, &mut providers, &mut rotators);
                        }
                        docs.insert(
                            name,
                            Ok(Arc::new(LoadedDoc {
                                doc,
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
        (docs, providers, rotators)
    };
    let root_future = async {
        let mut names = HashSet::new();
        references(&root_doc, &mut Vec::new(), &mut names, &mut HashSet::new());
        let names: Vec<String> = names.into_iter().collect();
        let loaded = join_all(names.iter().map(|n| session.providers.load_provider(n))).await;
        let providers: HashMap<String, Result<Arc<dyn Provider>, String>> = names
            .into_iter()
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
    // loading providers, rather than one pass later.
    let mut decrypts: Vec<(Op, Arc<dyn Decrypter>)> = Vec::new();
    if mode
        != (Mode::Check {
            show_secrets: false,
        })
    {
        let mut seen_ops = HashSet::new();
        let mut collect = |env: &str, doc: &Document, decrypter: &Arc<dyn Decrypter>| {
            if let Some(values) = &doc.values {
                walk(values, &mut |e| {
                    if let ExprKind::Builtin(b) = &e.kind
                        && let BuiltinKind::SecretCipher(text) = &b.kind
                        && let Ok(ciphertext) = crate::builtins::decode_envelope(text)
                    {
                        let op = Op::Decrypt {
                            env: env.to_string(),
                            ciphertext,
                        };
                        if seen_ops.insert(op.clone()) {
                            decrypts.push((op, decrypter.clone()));
                        }
                    }
                });
            }
        };
        collect(&root_name, &root_doc, &session.decrypter);
        for (name, loaded) in &docs {
            if let Ok(loaded) = loaded
                && let Ok(doc) = &loaded.doc
            {
                collect(name, doc, &loaded.decrypter);
            }
        }
    }
    let provider_names: Vec<String> = providers
        .into_iter()
        .filter(|n| !root_providers.contains_key(n))
        .collect();
    let rotator_names: Vec<String> = rotators.into_iter().collect();
    let loader = &session.providers;
    let (provider_results, rotator_results, decrypt_results) = futures::join!(
        join_all(provider_names.iter().map(|n| loader.load_provider(n))),
        join_all(rotator_names.iter().map(|n| loader.load_rotator(n))),
        join_all(
            decrypts
                .iter()
                .map(|(op, decrypter)| decrypt(op, decrypter.clone()))
        )
    );
    let mut cache: HashMap<Op, OpResult> = decrypts
        .into_iter()
        .map(|(op, _)| op)
        .zip(decrypt_results)
        .collect();
    cache.extend(root_opens);
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
                context: context.clone(),
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
                context: context.clone(),
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
                context: context.clone(),
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
    let context = env_context(context, root_name, env);
    let mut seen: HashSet<Op> = ops.iter().cloned().collect();
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
        let op = Op::Open {
            provider: name.clone(),
            inputs: value.to_plain(),
            context: context.clone(),
            environment: env.to_string(),
        };
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
        context: context.clone(),
    };
    p.open(inputs, &ctx).await.map_err(|e| e.0)
}
