//! The reference's in-process fake backend, rebuilt from our own parts for
//! the golden transcripts: a real `esc-server` on 127.0.0.1 over a fresh
//! SQLite store, plus what the Go harness's fake adds (spec/CLI.md, "How the
//! golden transcripts work"):
//!
//! - the `fn::open::test` provider, which returns its inputs (also serving
//!   `aws-login`, `azure-login` and `gcp-login`, as the harness does);
//! - fixed metadata, applied by a response layer on the revision and tag
//!   endpoints only: revision N was created at N hours after the Unix epoch
//!   by `Test Tester <test-tester>` (a retraction at the same time, by the
//!   same user; a retraction's replacement as the fake was told, see
//!   [`Fake::report_replacement`]), `latest` is not listed among a
//!   revision's tags, revision
//!   tags carry no time and no editor, environment tags were last updated
//!   at 2024-07-29 12:30:00 UTC by `pulumipus`;
//! - the referrers a transcript gives an environment, answered as given
//!   ([`Fake::seed_referrers`]);
//! - the `rot128` cipher of its ciphertexts: [`seedable_secret`] turns one
//!   of its `fn::secret` envelopes into the plaintext our store then seals,
//!   and [`Fake::reference_ciphertexts`] maps our ciphertexts in the output
//!   back to the reference's envelope of the same plaintext.
//!
//! Nothing here is part of the `esc` binary: the runner serves it and `esc`
//! talks to it as to any server (`esc login URL --token T`).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};

use anyhow::Context as _;
use async_trait::async_trait;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse as _, Response};
use esc_eval::{CallError, PlainValue, Provider, ProviderContext, ProviderSchema, Schema};
use esc_server::{AppState, HttpLimits, router};
use esc_service::{AccessPolicy, ProviderRegistry, Service, ServiceConfig};
use esc_store::{
    Author, EnvRef, Location, SqlStore, Store, decode_envelope, encode_envelope, open_secret,
    seal_secret,
};
use serde_json::Value as Json;
use tokio::sync::oneshot;

mod drafts;
mod schedules;
mod webhooks;

pub(crate) use webhooks::SeedWebhook;

/// The fake's logged-in user.
pub(crate) const USER: &str = "test-user";

/// The author the fake reports for every revision.
const REVISION_AUTHOR: (&str, &str) = ("test-tester", "Test Tester");
/// The editor and time the fake reports for every environment tag.
const ENV_TAG_EDITOR: &str = "pulumipus";
const ENV_TAG_TIME: &str = "2024-07-29T12:30:00Z";

/// Replacement numbers the fake reports for retracted revisions, by
/// `(org/project/env, revision)`.
type Replacements = Arc<Mutex<BTreeMap<(String, u64), u64>>>;

/// Referrers the fake was given, by `org/project/env`: the wire JSON of
/// their `referrers` object (stacks and Insights accounts included).
type SeededReferrers = Arc<Mutex<BTreeMap<String, Json>>>;

/// A running fake backend; stops when dropped.
pub(crate) struct Fake {
    /// Base URL to log in to.
    pub(crate) url: String,
    /// An access token of [`USER`].
    pub(crate) token: String,
    store: Arc<dyn Store>,
    replacements: Replacements,
    referrers: SeededReferrers,
    /// Set once seeding is done: from then on a retraction without a
    /// replacement is reported as the fake reports it.
    replaying: Arc<std::sync::atomic::AtomicBool>,
    stop: Option<oneshot::Sender<()>>,
}

impl Fake {
    /// Open a store in `data_dir` and serve the API on a free loopback port.
    pub(crate) async fn start(data_dir: &Path) -> anyhow::Result<Fake> {
        let (store, _) = SqlStore::open(Location::Embedded(data_dir))
            .await
            .context("opening the fake backend's store")?;
        let providers = ProviderRegistry::new();
        providers.register_provider("test", Arc::new(EchoProvider));
        // the reference harness serves its login providers with the test
        // provider too (`env provider` transcripts)
        for login in ["aws-login", "azure-login", "gcp-login"] {
            providers.register_provider(login, Arc::new(EchoProvider));
        }
        let service = Service::new(
            store.clone(),
            Arc::new(providers),
            ServiceConfig {
                // The fake's user may use every organization (`test-org`...).
                access: AccessPolicy {
                    admins: vec![USER.to_owned()],
                    memberships: Vec::new(),
                },
                ..ServiceConfig::default()
            },
        );
        let token = service
            .bootstrap_user(USER, "conformance runner")
            .await
            .context("creating the fake backend's user")?
            .context("the fresh store already had a token")?;
        let token = String::from_utf8(token.secret.expose().to_vec())
            .context("the access token is not text")?;
        let replacements = Replacements::default();
        let referrers = SeededReferrers::default();
        let replaying = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let app = router(AppState {
            service,
            issuer: None,
            limits: HttpLimits::default(),
        })
        .layer(axum::middleware::from_fn_with_state(
            replacements.clone(),
            fixed_metadata,
        ))
        .layer(axum::middleware::from_fn_with_state(
            (replacements.clone(), replaying.clone()),
            default_replacement,
        ))
        .layer(axum::middleware::from_fn(tolerant_check))
        .layer(axum::middleware::from_fn(fake_diagnostics))
        .layer(axum::middleware::from_fn(bare_opened_traces))
        // deliveries as the reference's fake reports them
        .layer(axum::middleware::from_fn_with_state(
            webhooks::FakeDeliveries::new(),
            webhooks::fixed_deliveries,
        ))
        .layer(axum::middleware::from_fn_with_state(
            referrers.clone(),
            seeded_referrers,
        ));
        // schedule ids, times and history as the reference's fake reports
        // them; outside the routes, so the rewritten ids are what is routed
        let app = axum::Router::new()
            .fallback_service(app)
            .layer(axum::middleware::from_fn_with_state(
                schedules::FakeSchedules::new(store.clone()),
                schedules::fixed_schedules,
            ))
            // drafts as the fake keeps them: `<name>_DRAFT` environments
            .layer(axum::middleware::from_fn_with_state(
                drafts::FakeDrafts::new(store.clone()),
                drafts::fake_drafts,
            ));
        let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
            .await
            .context("binding the fake backend")?;
        let address = listener.local_addr()?;
        let (stop, stopped) = oneshot::channel::<()>();
        tokio::spawn(async move {
            let shutdown = async {
                let _ = stopped.await;
            };
            if let Err(error) = axum::serve(listener, app)
                .with_graceful_shutdown(shutdown)
                .await
            {
                eprintln!("fake backend: {error}");
            }
        });
        Ok(Fake {
            url: format!("http://{address}"),
            token,
            store,
            replacements,
            referrers,
            replaying,
            stop: Some(stop),
        })
    }

    /// Seeding is done: the transcript's own commands run from now on.
    pub(crate) fn start_replay(&self) {
        self.replaying
            .store(true, std::sync::atomic::Ordering::SeqCst);
    }

    /// For every `fn::secret` envelope in `texts` that one of the fake's
    /// environments can open, the reference's `rot128` envelope of the same
    /// plaintext.
    pub(crate) async fn reference_ciphertexts(&self, texts: &[&str]) -> BTreeMap<String, String> {
        let mut candidates: Vec<&str> = texts.iter().flat_map(|t| envelopes(t)).collect();
        candidates.sort_unstable();
        candidates.dedup();
        let mut mapping = BTreeMap::new();
        if candidates.is_empty() {
            return mapping;
        }
        let mut ciphers = Vec::new();
        let mut token: Option<String> = None;
        // Bounded: a transcript has a handful of environments.
        for _ in 0..100 {
            let Ok(page) = self
                .store
                .list_environments(None, token.as_deref(), 500)
                .await
            else {
                break;
            };
            for env in &page.items {
                if let Ok(cipher) = self.store.environment_cipher(&env.name).await {
                    ciphers.push(cipher);
                }
            }
            match page.next {
                Some(next) => token = Some(next),
                None => break,
            }
        }
        for candidate in candidates {
            if let Some(plaintext) = ciphers
                .iter()
                .find_map(|cipher| open_secret(cipher, candidate).ok())
            {
                mapping.insert(candidate.to_owned(), rot128_envelope(plaintext.expose()));
            }
        }
        mapping
    }
}

impl Fake {
    /// Answer `GET .../referrers` of `name` (`org/project/env`) with
    /// `referrers` (the wire JSON object of API.md #36), as the reference's
    /// fake answers with the state it is given: it knows stacks and
    /// Insights accounts, which our server cannot.
    pub(crate) fn seed_referrers(&self, name: &str, referrers: Json) {
        if let Ok(mut map) = self.referrers.lock() {
            map.insert(name.to_owned(), referrers);
        }
    }

    /// Report `replacement` as the replacement of the retracted `revision`
    /// of `name` (`org/project/env`), whatever the store holds: the
    /// reference's fake keeps the number it is given without interpreting
    /// it (even the revision itself), which our server refuses.
    pub(crate) fn report_replacement(&self, name: &str, revision: u64, replacement: u64) {
        if let Ok(mut map) = self.replacements.lock() {
            map.insert((name.to_owned(), revision), replacement);
        }
    }

    /// Write `text` as the next revision of `name` (`org/project/env`)
    /// straight into the store, as the fake keeps whatever it is given;
    /// plaintext secrets are sealed first, as the service would.
    pub(crate) async fn write_revision(&self, name: &str, text: &str) -> anyhow::Result<()> {
        let parts: Vec<&str> = name.split('/').collect();
        let [org, project, env] = parts.as_slice() else {
            anyhow::bail!("seeding {name}: expected org/project/env");
        };
        let env = EnvRef::new(*org, *project, *env);
        let cipher = self.store.environment_cipher(&env).await?;
        let sealed = esc_syntax::edit::encrypt_secrets(text, |plaintext| {
            seal_secret(&cipher, plaintext.as_bytes())
                .map_err(|e| anyhow::anyhow!("sealing a secret: {e}"))
        })
        .unwrap_or_else(|_| text.to_owned());
        self.store
            .update_environment(&env, sealed.as_bytes(), None, &Author::new(USER, USER))
            .await
            .with_context(|| format!("seeding {name}"))?;
        Ok(())
    }
}

impl Drop for Fake {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// The plaintext of a reference `rot128` envelope, when `ciphertext` is one
/// holding UTF-8 text.
pub(crate) fn seedable_secret(ciphertext: &str) -> Option<String> {
    let payload = decode_envelope(ciphertext).ok()?;
    String::from_utf8(rot128(&payload)).ok()
}

fn rot128(bytes: &[u8]) -> Vec<u8> {
    bytes.iter().map(|b| b.wrapping_add(128)).collect()
}

fn rot128_envelope(plaintext: &[u8]) -> String {
    encode_envelope(&rot128(plaintext))
}

/// Every base64 run starting like an `escx` envelope (`ZXNjeA`).
fn envelopes(text: &str) -> impl Iterator<Item = &str> {
    text.match_indices("ZXNjeA").filter_map(move |(start, _)| {
        let rest = &text[start..];
        let len = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '+' || c == '/' || c == '='))
            .unwrap_or(rest.len());
        let preceded_by_base64 = text[..start]
            .chars()
            .next_back()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == '+' || c == '/');
        (!preceded_by_base64).then_some(&rest[..len])
    })
}

/// The harness's `test` provider: returns its inputs.
struct EchoProvider;

#[async_trait]
impl Provider for EchoProvider {
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
        Ok(inputs.clone())
    }
}

/// Which metadata a response carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Metadata {
    Revisions,
    RevisionTags,
    EnvironmentTags,
}

/// `/api/esc/environments/{org}/{project}/{env}/<tail>` by its tail.
fn metadata_of(path: &str) -> Option<Metadata> {
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    if segments.len() < 6 || segments[..3] != ["api", "esc", "environments"] {
        return None;
    }
    match &segments[6..] {
        ["versions"] => Some(Metadata::Revisions),
        ["versions", "tags"] | ["versions", "tags", _] => Some(Metadata::RevisionTags),
        ["tags"] | ["tags", _] => Some(Metadata::EnvironmentTags),
        _ => None,
    }
}

/// `org/project/env` of an environment path.
fn environment_of(path: &str) -> String {
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    segments.get(3..6).map(|s| s.join("/")).unwrap_or_default()
}

/// The fake's `yaml/check` answers an environment even when imports fail
/// to load (its Go harness returns the checked environment with the
/// diagnostics, and `env get` prints it); a real server answers 400. When
/// every error of a 400 is an import that was not found, this layer checks
/// the definition again without those imports (a failed import adds
/// nothing to the environment) and answers 200 with that environment and
/// the original diagnostics.
async fn tolerant_check(request: Request, next: Next) -> Response {
    if request.method() != axum::http::Method::POST
        || !request.uri().path().ends_with("/yaml/check")
    {
        return next.run(request).await;
    }
    let (parts, body) = request.into_parts();
    let Ok(definition) = axum::body::to_bytes(body, 16 << 20).await else {
        return StatusCode::PAYLOAD_TOO_LARGE.into_response();
    };
    let retry_parts = parts.clone();
    let response = next
        .clone()
        .run(Request::from_parts(parts, Body::from(definition.clone())))
        .await;
    if response.status() != StatusCode::BAD_REQUEST {
        return response;
    }
    let (response_parts, response_body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(response_body, 16 << 20).await else {
        return Response::from_parts(response_parts, Body::empty());
    };
    let refused = || Response::from_parts(response_parts.clone(), Body::from(bytes.clone()));
    let Ok(json) = serde_json::from_slice::<Json>(&bytes) else {
        return refused();
    };
    let Some(diagnostics) = json.get("diagnostics").cloned() else {
        return refused();
    };
    let Some(without) = std::str::from_utf8(&definition)
        .ok()
        .and_then(|text| without_missing_imports(text, &diagnostics))
    else {
        return refused();
    };
    let retried = next
        .run(Request::from_parts(retry_parts, Body::from(without)))
        .await;
    if retried.status() != StatusCode::OK {
        return refused();
    }
    let (mut parts, body) = retried.into_parts();
    let Ok(body) = axum::body::to_bytes(body, 64 << 20).await else {
        return refused();
    };
    let Ok(Json::Object(mut environment)) = serde_json::from_slice::<Json>(&body) else {
        return refused();
    };
    environment.insert("diagnostics".into(), diagnostics);
    let Ok(body) = serde_json::to_vec(&environment) else {
        return refused();
    };
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, Body::from(body))
}

/// Diagnostics as the reference's fake words them: its environment loader
/// fails with `not found` (ours: `environment "b" not found`), and it
/// evaluates an opened environment under its bare name (`test`, not
/// `default/test`). Applied to every response under
/// `/api/esc/environments` that carries `diagnostics`.
async fn fake_diagnostics(request: Request, next: Next) -> Response {
    let path = request.uri().path().to_owned();
    if !path.starts_with("/api/esc/environments/") {
        return next.run(request).await;
    }
    let response = next.run(request).await;
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, 64 << 20).await else {
        return Response::from_parts(parts, Body::empty());
    };
    let Ok(Json::Object(mut fields)) = serde_json::from_slice::<Json>(&bytes) else {
        return Response::from_parts(parts, Body::from(bytes));
    };
    let Some(Json::Array(diagnostics)) = fields.get_mut("diagnostics") else {
        return Response::from_parts(parts, Body::from(bytes));
    };
    let opened = opened_environment(&path);
    for diagnostic in diagnostics.iter_mut() {
        fake_diagnostic(diagnostic, opened.as_ref());
    }
    let Ok(body) = serde_json::to_vec(&fields) else {
        return Response::from_parts(parts, Body::from(bytes));
    };
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, Body::from(body))
}

/// Traces as the reference's fake words them: it evaluates an opened
/// environment under its bare name, so the ranges of a session read
/// (`GET .../{org}/{project}/{env}/open/{id}`, API #17) that name
/// `project/env` name `env` (`open -f detailed`).
async fn bare_opened_traces(request: Request, next: Next) -> Response {
    let path = request.uri().path().to_owned();
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let is_read = request.method() == axum::http::Method::GET
        && segments.len() == 8
        && segments[..3] == ["api", "esc", "environments"]
        && segments[6] == "open";
    if !is_read {
        return next.run(request).await;
    }
    let (qualified, bare) = (
        format!("{}/{}", segments[4], segments[5]),
        segments[5].to_owned(),
    );
    let response = next.run(request).await;
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, 64 << 20).await else {
        return Response::from_parts(parts, Body::empty());
    };
    let Ok(mut value) = serde_json::from_slice::<Json>(&bytes) else {
        return Response::from_parts(parts, Body::from(bytes));
    };
    rename_ranges(&mut value, &qualified, &bare);
    let Ok(body) = serde_json::to_vec(&value) else {
        return Response::from_parts(parts, Body::from(bytes));
    };
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, Body::from(body))
}

/// Renames the environment of every range (`{environment, begin, end}`) in
/// `value` that names `qualified` to `bare`.
fn rename_ranges(value: &mut Json, qualified: &str, bare: &str) {
    match value {
        Json::Object(fields) => {
            let is_range = fields.contains_key("begin")
                && fields.contains_key("end")
                && fields.get("environment").and_then(Json::as_str) == Some(qualified);
            if is_range {
                fields.insert("environment".into(), Json::String(bare.to_owned()));
            }
            for member in fields.values_mut() {
                rename_ranges(member, qualified, bare);
            }
        }
        Json::Array(items) => {
            for item in items {
                rename_ranges(item, qualified, bare);
            }
        }
        _ => {}
    }
}

/// `(project/env, env)` of an open request's path
/// (`.../{org}/{project}/{env}/open`, `.../versions/{v}/open`).
fn opened_environment(path: &str) -> Option<(String, String)> {
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    if segments.last() != Some(&"open") {
        return None;
    }
    let (project, env) = (segments.get(4)?, segments.get(5)?);
    Some((format!("{project}/{env}"), (*env).to_owned()))
}

/// One diagnostic as the reference's fake words it.
fn fake_diagnostic(diagnostic: &mut Json, opened: Option<&(String, String)>) {
    let Json::Object(fields) = diagnostic else {
        return;
    };
    if let Some(Json::String(summary)) = fields.get_mut("summary")
        && summary.starts_with("environment \"")
        && summary.ends_with("\" not found")
    {
        *summary = "not found".to_owned();
    }
    if let (Some((qualified, bare)), Some(Json::Object(range))) = (opened, fields.get_mut("range"))
        && range.get("environment").and_then(Json::as_str) == Some(qualified.as_str())
    {
        range.insert("environment".into(), Json::String(bare.clone()));
    }
}

/// `text` without the import entries that `diagnostics` (a check's) say
/// were not found; `None` unless every diagnostic is such an import.
fn without_missing_imports(text: &str, diagnostics: &Json) -> Option<String> {
    let Json::Array(list) = diagnostics else {
        return None;
    };
    let mut indexes = Vec::new();
    for diagnostic in list {
        let summary = diagnostic.get("summary").and_then(Json::as_str)?;
        let path = diagnostic.get("path").and_then(Json::as_str)?;
        let index: usize = path
            .strip_prefix("imports[")?
            .strip_suffix(']')?
            .parse()
            .ok()?;
        let not_found = summary.starts_with("environment \"") && summary.ends_with("\" not found");
        if !not_found {
            return None;
        }
        indexes.push(index);
    }
    indexes.sort_unstable();
    indexes.dedup();
    let mut text = text.to_owned();
    for index in indexes.iter().rev() {
        text = esc_syntax::edit::delete_value(&text, &format!("imports[{index}]")).ok()?;
    }
    (!indexes.is_empty()).then_some(text)
}

/// Answers the referrers of an environment the fake was given referrers
/// for; everything else goes to the server.
async fn seeded_referrers(
    State(seeded): State<SeededReferrers>,
    request: Request,
    next: Next,
) -> Response {
    let path = request.uri().path();
    let seeded = path
        .strip_suffix("/referrers")
        .filter(|_| request.method() == axum::http::Method::GET)
        .and_then(|env_path| {
            let name = environment_of(env_path);
            seeded.lock().ok()?.get(&name).cloned()
        });
    let Some(referrers) = seeded else {
        return next.run(request).await;
    };
    let body = serde_json::json!({"referrers": referrers, "continuationToken": ""});
    Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_string()))
        .unwrap_or_else(|_| Response::new(Body::empty()))
}

/// The replacement the reference's fake reports for a retraction the CLI
/// asked for without `--replace-with`: it does not interpret the value and
/// records 42.
const FAKE_DEFAULT_REPLACEMENT: u64 = 42;

/// A transcript's `POST .../versions/{n}/retract` without a `replacement`
/// that succeeds is reported as replaced with [`FAKE_DEFAULT_REPLACEMENT`]
/// (seeding's retractions keep what they were given).
async fn default_replacement(
    State((replacements, replaying)): State<(Replacements, Arc<std::sync::atomic::AtomicBool>)>,
    request: Request,
    next: Next,
) -> Response {
    let path = request.uri().path().to_owned();
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let retraction = (request.method() == axum::http::Method::POST
        && replaying.load(std::sync::atomic::Ordering::SeqCst)
        && segments.len() == 9
        && segments[..3] == ["api", "esc", "environments"]
        && segments[6] == "versions"
        && segments[8] == "retract")
        .then(|| segments[7].parse::<u64>().ok())
        .flatten();
    let Some(number) = retraction else {
        return next.run(request).await;
    };
    let environment = format!("{}/{}/{}", segments[3], segments[4], segments[5]);
    let (parts, body) = request.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, 1 << 20).await else {
        return next.run(Request::from_parts(parts, Body::empty())).await;
    };
    let given = serde_json::from_slice::<Json>(&bytes)
        .ok()
        .and_then(|json| json.get("replacement").filter(|r| !r.is_null()).cloned());
    let response = next
        .run(Request::from_parts(parts, Body::from(bytes)))
        .await;
    if given.is_none()
        && response.status().is_success()
        && let Ok(mut map) = replacements.lock()
    {
        map.insert((environment, number), FAKE_DEFAULT_REPLACEMENT);
    }
    response
}

/// The response layer that replaces times and authors by the fake's.
async fn fixed_metadata(
    State(replacements): State<Replacements>,
    request: Request,
    next: Next,
) -> Response {
    let metadata = metadata_of(request.uri().path());
    let environment = environment_of(request.uri().path());
    let response = next.run(request).await;
    let Some(metadata) = metadata else {
        return response;
    };
    if response.status() != StatusCode::OK {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, 64 << 20).await else {
        return Response::from_parts(parts, Body::empty());
    };
    let Ok(mut json) = serde_json::from_slice::<Json>(&bytes) else {
        return Response::from_parts(parts, Body::from(bytes));
    };
    match metadata {
        Metadata::Revisions => {
            if let Json::Array(items) = &mut json {
                let reported = replacements.lock().map(|m| m.clone()).unwrap_or_default();
                for item in items.iter_mut() {
                    fake_revision(item);
                    report_replacement(item, |number| {
                        reported.get(&(environment.clone(), number)).copied()
                    });
                }
            }
        }
        Metadata::RevisionTags => match json.get_mut("tags") {
            Some(Json::Array(tags)) => tags.iter_mut().for_each(fake_revision_tag),
            _ => fake_revision_tag(&mut json),
        },
        Metadata::EnvironmentTags => match json.get_mut("tags") {
            Some(Json::Object(tags)) => tags.values_mut().for_each(fake_environment_tag),
            _ => fake_environment_tag(&mut json),
        },
    }
    let Ok(body) = serde_json::to_vec(&json) else {
        return Response::from_parts(parts, Body::from(bytes));
    };
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, Body::from(body))
}

fn fake_revision(revision: &mut Json) {
    let Some(number) = revision.get("number").and_then(Json::as_u64) else {
        return;
    };
    let created = rfc3339(number.saturating_mul(3600));
    let Json::Object(fields) = revision else {
        return;
    };
    fields.insert("created".into(), Json::String(created.clone()));
    fields.insert("creatorLogin".into(), REVISION_AUTHOR.0.into());
    fields.insert("creatorName".into(), REVISION_AUTHOR.1.into());
    if let Some(Json::Array(tags)) = fields.get_mut("tags") {
        tags.retain(|t| t.as_str() != Some("latest"));
    }
    if let Some(Json::Object(retracted)) = fields.get_mut("retracted") {
        retracted.insert("at".into(), Json::String(created));
        retracted.insert("byLogin".into(), REVISION_AUTHOR.0.into());
        retracted.insert("byName".into(), REVISION_AUTHOR.1.into());
    }
}

/// Sets a retracted revision's `replacement` to what `reported` says.
fn report_replacement(revision: &mut Json, reported: impl Fn(u64) -> Option<u64>) {
    let Some(number) = revision.get("number").and_then(Json::as_u64) else {
        return;
    };
    if let (Some(Json::Object(retracted)), Some(replacement)) =
        (revision.get_mut("retracted"), reported(number))
    {
        retracted.insert("replacement".into(), replacement.into());
    }
}

fn fake_revision_tag(tag: &mut Json) {
    if let Json::Object(fields) = tag {
        for key in ["created", "modified", "editorLogin", "editorName"] {
            fields.remove(key);
        }
    }
}

fn fake_environment_tag(tag: &mut Json) {
    if let Json::Object(fields) = tag {
        for key in ["created", "modified"] {
            fields.insert(key.into(), ENV_TAG_TIME.into());
        }
        for key in ["editorLogin", "editorName"] {
            fields.insert(key.into(), ENV_TAG_EDITOR.into());
        }
    }
}

/// `secs` after the Unix epoch as RFC 3339 UTC.
fn rfc3339(secs: u64) -> String {
    let millis = i64::try_from(secs.saturating_mul(1000)).unwrap_or(i64::MAX);
    esc_store::Timestamp::from_unix_millis(millis).rfc3339()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_of_known_instants() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(5 * 3600), "1970-01-01T05:00:00Z");
        // 2024-07-29T12:30:00Z
        assert_eq!(rfc3339(1_722_256_200), "2024-07-29T12:30:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
    }

    #[test]
    fn the_reference_ciphertext_round_trips() {
        // From the golden transcripts: `secretAccessKey` under rot128.
        let reference = "ZXNjeAAAAAHz5ePy5fTB4+Pl8/PL5fnJxPD7";
        assert_eq!(seedable_secret(reference).unwrap(), "secretAccessKey");
        assert_eq!(rot128_envelope(b"secretAccessKey"), reference);
        assert_eq!(seedable_secret("not an envelope"), None);
    }

    #[test]
    fn envelopes_are_found_whole() {
        let text = "ciphertext: ZXNjeAAAAAHz5ePy5fTB4+Pl8/PL5fnJxPD7\n  x: aZXNjeA\n\"ZXNjeAB=\"";
        let found: Vec<&str> = envelopes(text).collect();
        assert_eq!(found, ["ZXNjeAAAAAHz5ePy5fTB4+Pl8/PL5fnJxPD7", "ZXNjeAB="]);
    }

    #[test]
    fn reported_replacements_replace_the_stored_one() {
        let mut revision: Json =
            serde_json::from_str(r#"{"number":3,"retracted":{"replacement":2,"reason":"leaked"}}"#)
                .unwrap();
        report_replacement(&mut revision, |n| (n == 3).then_some(3));
        assert_eq!(revision["retracted"]["replacement"], 3);
        let mut other: Json = serde_json::from_str(r#"{"number":4}"#).unwrap();
        report_replacement(&mut other, |_| Some(9));
        assert_eq!(other.get("retracted"), None);
        assert_eq!(
            environment_of("/api/esc/environments/o/p/e/versions"),
            "o/p/e"
        );
    }

    #[test]
    fn diagnostics_are_worded_as_the_fake_words_them() {
        let opened = opened_environment("/api/esc/environments/o/default/test/versions/3/open");
        assert_eq!(opened, Some(("default/test".into(), "test".into())));
        assert_eq!(
            opened_environment("/api/esc/environments/o/default/test"),
            None
        );
        let mut missing: Json = serde_json::from_str(
            r#"{"summary":"environment \"c\" not found","range":{"environment":"default/test"}}"#,
        )
        .unwrap();
        fake_diagnostic(&mut missing, None);
        assert_eq!(missing["summary"], "not found");
        assert_eq!(missing["range"]["environment"], "default/test");
        let mut unknown: Json = serde_json::from_str(
            r#"{"summary":"unknown property \"foo\"","range":{"environment":"default/test"}}"#,
        )
        .unwrap();
        fake_diagnostic(&mut unknown, opened.as_ref());
        assert_eq!(unknown["summary"], "unknown property \"foo\"");
        assert_eq!(unknown["range"]["environment"], "test");
        let mut imported: Json =
            serde_json::from_str(r#"{"summary":"x","range":{"environment":"default/other"}}"#)
                .unwrap();
        fake_diagnostic(&mut imported, opened.as_ref());
        assert_eq!(imported["range"]["environment"], "default/other");
    }

    #[test]
    fn missing_imports_are_dropped_only_when_they_are_the_only_errors() {
        let text = "imports:\n  - a\n  - b\n  - c\nvalues:\n  x: 1\n";
        let missing: Json = serde_json::from_str(
            r#"[{"summary":"environment \"b\" not found","path":"imports[1]"},
                {"summary":"environment \"c\" not found","path":"imports[2]"}]"#,
        )
        .unwrap();
        assert_eq!(
            without_missing_imports(text, &missing).unwrap(),
            "imports:\n  - a\nvalues:\n  x: 1\n"
        );
        let other: Json = serde_json::from_str(
            r#"[{"summary":"environment \"b\" not found","path":"imports[1]"},
                {"summary":"unknown property \"y\"","path":"values.x"}]"#,
        )
        .unwrap();
        assert_eq!(without_missing_imports(text, &other), None);
        assert_eq!(
            without_missing_imports(text, &Json::Array(Vec::new())),
            None
        );
    }

    #[test]
    fn metadata_routes() {
        let e = "/api/esc/environments/o/p/e";
        assert_eq!(
            metadata_of(&format!("{e}/versions")),
            Some(Metadata::Revisions)
        );
        assert_eq!(
            metadata_of(&format!("{e}/versions/tags/stable")),
            Some(Metadata::RevisionTags)
        );
        assert_eq!(
            metadata_of(&format!("{e}/tags/owner")),
            Some(Metadata::EnvironmentTags)
        );
        assert_eq!(metadata_of(&format!("{e}/versions/3")), None);
        assert_eq!(metadata_of(e), None);
    }
}
