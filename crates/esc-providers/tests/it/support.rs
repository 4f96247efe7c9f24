//! A recording adapter (HTTPS or plain HTTP on 127.0.0.1) that verifies every
//! request with `esc-adapter`, plus helpers to evaluate environments.

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use esc_adapter::{KeySource, Verifier, VerifierConfig};
use esc_eval::{
    CallError, Decrypter, Definition, EnvironmentLoader, Evaluation, LoadedEnvironment, Mode,
    PlainValue, ProviderLoader, Session,
};
use esc_oidc::{Issuer, IssuerConfig, UnixTime};
use esc_providers::ProvidersConfig;
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls;

pub(crate) const ISSUER: &str = "https://esc.test";

pub(crate) fn new_issuer() -> Arc<Issuer> {
    Arc::new(Issuer::ephemeral(IssuerConfig::new(ISSUER), UnixTime::now()).unwrap())
}

/// One request the adapter accepted.
#[derive(Clone)]
pub(crate) struct Seen {
    pub(crate) method: String,
    /// Every `Content-Type` header value.
    pub(crate) content_types: Vec<String>,
    /// How many `Authorization` headers came.
    pub(crate) n_authorization: usize,
    pub(crate) path: String,
    pub(crate) body: serde_json::Value,
    pub(crate) claims: esc_adapter::Claims,
}

struct AdapterState {
    base: String,
    jwks: String,
    verifiers: Mutex<HashMap<String, Arc<Verifier>>>,
    seen: Mutex<Vec<Seen>>,
    rejected: AtomicUsize,
    hits: Mutex<HashMap<String, usize>>,
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
    slept: Mutex<Vec<Duration>>,
}

/// A running adapter; stops when dropped.
pub(crate) struct Adapter {
    /// `https://127.0.0.1:PORT` (or `http://`).
    pub(crate) base: String,
    /// The certificate to trust (HTTPS adapters).
    pub(crate) cert_pem: Option<String>,
    state: Arc<AdapterState>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Adapter {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Adapter {
    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
    /// Requests that passed verification, in order.
    pub(crate) fn seen(&self) -> Vec<Seen> {
        self.state.seen.lock().unwrap().clone()
    }
    /// Requests refused by the verifier.
    pub(crate) fn rejected(&self) -> usize {
        self.state.rejected.load(Ordering::SeqCst)
    }
    /// Requests that reached `path` (verified or not).
    pub(crate) fn hits(&self, path: &str) -> usize {
        self.state
            .hits
            .lock()
            .unwrap()
            .get(path)
            .copied()
            .unwrap_or(0)
    }
    /// Most requests handled at the same time.
    pub(crate) fn max_in_flight(&self) -> usize {
        self.state.max_in_flight.load(Ordering::SeqCst)
    }
    /// How long each `/sleep/MS` request really slept, in order.
    pub(crate) fn slept(&self) -> Vec<Duration> {
        self.state.slept.lock().unwrap().clone()
    }
    /// Providers config trusting this adapter's certificate.
    pub(crate) fn config(&self) -> ProvidersConfig {
        ProvidersConfig {
            extra_root_certificates_pem: self
                .cert_pem
                .iter()
                .map(|p| p.as_bytes().to_vec())
                .collect(),
            retry_backoff: Duration::from_millis(20),
            ..ProvidersConfig::default()
        }
    }
}

/// TLS connections handshaken concurrently (one task each), so
/// handshakes do not serialise the requests under test.
struct TlsListener {
    accepted: tokio::sync::mpsc::Receiver<(tokio_rustls::server::TlsStream<TcpStream>, SocketAddr)>,
    local: SocketAddr,
}

impl TlsListener {
    fn new(tcp: TcpListener, acceptor: TlsAcceptor) -> TlsListener {
        let local = tcp.local_addr().unwrap();
        let (tx, accepted) = tokio::sync::mpsc::channel(64);
        tokio::spawn(async move {
            loop {
                let Ok((stream, addr)) = tcp.accept().await else {
                    tokio::time::sleep(Duration::from_millis(5)).await;
                    continue;
                };
                // Answers go out at once, as a real server's do.
                let _ = stream.set_nodelay(true);
                let (acceptor, tx) = (acceptor.clone(), tx.clone());
                tokio::spawn(async move {
                    // Bounded: a stuck handshake is dropped.
                    if let Ok(Ok(tls)) =
                        tokio::time::timeout(Duration::from_secs(5), acceptor.accept(stream)).await
                    {
                        let _ = tx.send((tls, addr)).await;
                    }
                });
            }
        });
        TlsListener { accepted, local }
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = tokio_rustls::server::TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.accepted.recv().await {
            Some(conn) => conn,
            // The accept task never ends while the listener lives.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        Ok(self.local)
    }
}

/// Start an adapter trusting `issuer`; HTTPS unless `plain_http`.
pub(crate) async fn start_adapter(issuer: &Issuer, plain_http: bool) -> Adapter {
    let tcp = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = tcp.local_addr().unwrap().port();
    let scheme = if plain_http { "http" } else { "https" };
    let base = format!("{scheme}://127.0.0.1:{port}");
    let state = Arc::new(AdapterState {
        base: base.clone(),
        jwks: serde_json::to_string(&issuer.jwks()).unwrap(),
        verifiers: Mutex::new(HashMap::new()),
        seen: Mutex::new(Vec::new()),
        rejected: AtomicUsize::new(0),
        hits: Mutex::new(HashMap::new()),
        in_flight: AtomicUsize::new(0),
        max_in_flight: AtomicUsize::new(0),
        slept: Mutex::new(Vec::new()),
    });
    let app = axum::Router::new()
        .fallback(handle)
        .with_state(state.clone());
    let (cert_pem, task) = if plain_http {
        let task = tokio::spawn(async move {
            axum::serve(tcp, app).await.unwrap();
        });
        (None, task)
    } else {
        let certified = rcgen::generate_simple_self_signed(vec![
            "127.0.0.1".to_owned(),
            "localhost".to_owned(),
        ])
        .unwrap();
        let cert_der = certified.cert.der().clone();
        let key_der =
            rustls::pki_types::PrivateKeyDer::Pkcs8(certified.signing_key.serialize_der().into());
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let mut server = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(vec![cert_der], key_der)
            .unwrap();
        server.alpn_protocols = vec![b"http/1.1".to_vec()];
        let listener = TlsListener::new(tcp, TlsAcceptor::from(Arc::new(server)));
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        (Some(certified.cert.pem()), task)
    };
    Adapter {
        base,
        cert_pem,
        state,
        task,
    }
}

fn verifier(state: &AdapterState, path: &str) -> Arc<Verifier> {
    let mut verifiers = state.verifiers.lock().unwrap();
    verifiers
        .entry(path.to_owned())
        .or_insert_with(|| {
            let mut config = VerifierConfig::new(ISSUER, format!("{}{path}", state.base));
            config.keys = KeySource::Static(state.jwks.clone());
            Arc::new(Verifier::new(config).unwrap())
        })
        .clone()
}

struct InFlight<'a>(&'a AdapterState);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Routes: `/echo` answers `{"got": body}`; `/secret` a fixed secret;
/// `/status/N` status N; `/long-status/N` status N with a 5000-character
/// body; `/echo-error/N` status N echoing the URI, the `Authorization`
/// header and the body; `/echo-chunked/N` and `/echo-python/N` status N
/// echoing the body in small chunks (the second as Python escapes it);
/// `/array` a JSON array; `/flaky/N` 503 for the first N hits; `/big`
/// 2 MiB with a length, `/big-stream` 2 MiB streamed; `/redirect` a 302;
/// `/sleep/MS` echoes after MS ms; `/gate/N` echoes once N requests are
/// in flight (or after 5 s); `/rotate` a new key per hit;
/// `/invalid-json` a non-JSON 200.
async fn handle(
    State(state): State<Arc<AdapterState>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().to_owned();
    let hit = {
        let mut hits = state.hits.lock().unwrap();
        let n = hits.entry(path.clone()).or_insert(0);
        *n += 1;
        *n
    };
    // The audience is the URL as written, query included.
    let target = uri
        .path_and_query()
        .map_or(path.clone(), |p| p.as_str().to_owned());
    let claims = match verifier(&state, &target).verify(&headers, &body).await {
        Ok(claims) => claims,
        Err(e) => {
            state.rejected.fetch_add(1, Ordering::SeqCst);
            return (e.status(), "unverified").into_response();
        }
    };
    let got: serde_json::Value = serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null);
    state.seen.lock().unwrap().push(Seen {
        method: method.to_string(),
        content_types: headers
            .get_all("content-type")
            .iter()
            .map(|v| v.to_str().unwrap_or("(not text)").to_owned())
            .collect(),
        n_authorization: headers.get_all("authorization").iter().count(),
        path: path.clone(),
        body: got.clone(),
        claims: claims.clone(),
    });
    let now = state.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
    state.max_in_flight.fetch_max(now, Ordering::SeqCst);
    let _guard = InFlight(&state);
    let json = |v: serde_json::Value| {
        ([("content-type", "application/json")], v.to_string()).into_response()
    };
    let mut parts = path.trim_start_matches('/').splitn(2, '/');
    match (parts.next().unwrap_or(""), parts.next()) {
        ("echo", _) => json(serde_json::json!({"got": got})),
        ("secret", _) => json(serde_json::json!({"value": "s3cr3t-value", "n": 1.50})),
        ("status", Some(code)) => {
            let code = StatusCode::from_u16(code.parse().unwrap()).unwrap();
            (code, "adapter failure: backend unavailable").into_response()
        }
        ("long-status", Some(code)) => {
            let code = StatusCode::from_u16(code.parse().unwrap()).unwrap();
            let mut text = String::from("first line\r\n\tsecond line ");
            text.push_str(&"y".repeat(5000));
            (code, text).into_response()
        }
        ("echo-error", Some(code)) => {
            let code = StatusCode::from_u16(code.parse().unwrap()).unwrap();
            let auth = headers
                .get("authorization")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            let text = format!(
                "cannot serve {uri}; auth {auth}; body {}",
                String::from_utf8_lossy(&body)
            );
            (code, text).into_response()
        }
        ("echo-chunked" | "echo-python", Some(code)) => {
            // The body echoed after a short prefix in 64-byte chunks; as
            // Python's json.dumps and PHP write strings for echo-python
            // (non-ASCII as \uXXXX, `/` as `\/`).
            let code = StatusCode::from_u16(code.parse().unwrap()).unwrap();
            let mut echoed = String::from_utf8_lossy(&body).into_owned();
            if path.starts_with("/echo-python") {
                echoed = echoed
                    .chars()
                    .map(|c| match c {
                        '/' => "\\/".to_owned(),
                        c if !c.is_ascii() => format!("\\u{:04x}", u32::from(c)),
                        c => c.to_string(),
                    })
                    .collect();
            }
            let text = format!("bad request: {echoed}").into_bytes();
            let chunks: Vec<Result<Bytes, Infallible>> = text
                .chunks(64)
                .map(|c| Ok(Bytes::copy_from_slice(c)))
                .collect();
            (code, Body::from_stream(futures::stream::iter(chunks))).into_response()
        }
        ("array", _) => json(serde_json::json!([1, "two", {"three": 3}])),
        ("flaky", Some(n)) if hit <= n.parse().unwrap() => {
            (StatusCode::SERVICE_UNAVAILABLE, "try later").into_response()
        }
        ("flaky", Some(_)) => json(serde_json::json!({"hit": hit})),
        ("big", _) => json(serde_json::Value::String("x".repeat(2 << 20))),
        ("big-stream", _) => {
            let chunks = (0..64).map(|_| Ok::<_, Infallible>(Bytes::from(vec![b' '; 32 * 1024])));
            Body::from_stream(futures::stream::iter(chunks)).into_response()
        }
        ("redirect", _) => (
            StatusCode::FOUND,
            [("location", format!("{}/secret", state.base))],
        )
            .into_response(),
        ("sleep", Some(ms)) => {
            let wanted = Duration::from_millis(ms.parse().unwrap());
            let started = Instant::now();
            if wanted < Duration::from_secs(1) {
                // tokio's timer ticks in whole milliseconds and rounds up
                // (a 10 ms sleep took 10-12 ms): the thread sleep is
                // precise, which the benchmark's "10 ms adapter" needs.
                tokio::task::spawn_blocking(move || std::thread::sleep(wanted))
                    .await
                    .unwrap();
            } else {
                // Long sleeps (timeout tests) stay on the timer: a blocking
                // one would outlive the test and hold up runtime shutdown.
                tokio::time::sleep(wanted).await;
            }
            state.slept.lock().unwrap().push(started.elapsed());
            json(serde_json::json!({"got": got}))
        }
        ("gate", Some(n)) => {
            // Hold the request until `n` have arrived (at most 5 s); arrivals
            // only grow, so every waiter sees the gate open.
            let n: usize = n.parse().unwrap();
            for _ in 0..5000 {
                if state.hits.lock().unwrap().get(&path).copied().unwrap_or(0) >= n {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
            json(serde_json::json!({"got": got}))
        }
        ("rotate", _) => json(serde_json::json!({"key": format!("key-{hit}")})),
        ("invalid-json", _) => "this is not json".into_response(),
        _ => StatusCode::NOT_FOUND.into_response(),
    }
}

struct NoEnvironments;

#[async_trait]
impl EnvironmentLoader for NoEnvironments {
    async fn load_environment(&self, name: &str) -> Result<LoadedEnvironment, CallError> {
        Err(CallError::new(format!("no environment {name}")))
    }
}

struct NoDecrypter;

#[async_trait]
impl Decrypter for NoDecrypter {
    async fn decrypt(&self, _ciphertext: &[u8]) -> Result<Vec<u8>, CallError> {
        Err(CallError::new("no decrypter"))
    }
}

/// The execution context the service passes: user `alice` in org `acme`.
pub(crate) fn context() -> PlainValue {
    PlainValue::object([(
        "pulumi",
        PlainValue::object([
            (
                "user",
                PlainValue::object([("login", PlainValue::string("alice"))]),
            ),
            (
                "organization",
                PlainValue::object([("login", PlainValue::string("acme"))]),
            ),
        ]),
    )])
}

/// Start an HTTPS adapter trusting a new issuer and evaluate `yaml` against
/// it in `mode`, with the built-in providers configured for it; every
/// `{adapter}` in `yaml` is replaced by the adapter's base URL
/// (`https://127.0.0.1:PORT`).
pub(crate) async fn open_against(yaml: &str, mode: Mode) -> (Adapter, Evaluation) {
    let issuer = new_issuer();
    let adapter = start_adapter(&issuer, false).await;
    let providers = esc_providers::registry(adapter.config(), issuer);
    let yaml = yaml.replace("{adapter}", &adapter.base);
    let eval = evaluate(&yaml, mode, providers).await;
    (adapter, eval)
}

/// Evaluate `yaml` as `payments/prod` in `mode` with `providers`.
pub(crate) async fn evaluate(
    yaml: &str,
    mode: Mode,
    providers: Arc<dyn ProviderLoader>,
) -> Evaluation {
    evaluate_definition(&parse(yaml), mode, providers).await
}

/// `yaml` parsed as `payments/prod`; panics on load diagnostics.
pub(crate) fn parse(yaml: &str) -> Definition {
    let (definition, diags) = esc_eval::load_definition("payments/prod", yaml);
    assert!(diags.is_empty(), "{diags:?}");
    definition.unwrap()
}

/// Evaluate a parsed `definition` in `mode` with `providers`.
pub(crate) async fn evaluate_definition(
    definition: &Definition,
    mode: Mode,
    providers: Arc<dyn ProviderLoader>,
) -> Evaluation {
    let session = Session {
        providers,
        environments: Arc::new(NoEnvironments),
        decrypter: Arc::new(NoDecrypter),
        context: context(),
        limits: esc_eval::Limits::default(),
    };
    esc_eval::evaluate(definition, mode, &session)
        .await
        .unwrap()
}

/// Compact JSON of an evaluation (`redact`: secrets as `[secret]`).
pub(crate) fn json(eval: &Evaluation, redact: bool) -> serde_json::Value {
    serde_json::from_str(&eval.to_json(redact).unwrap().to_json().unwrap()).unwrap()
}

/// The error summaries of an evaluation with their paths.
pub(crate) fn errors(eval: &Evaluation) -> Vec<(String, String)> {
    eval.diagnostics()
        .iter()
        .map(|d| (d.path.clone(), d.summary.clone()))
        .collect()
}

/// A TCP listener on 127.0.0.1 that accepts connections and never answers
/// (a stalled TLS handshake); counts connections; stops when dropped.
pub(crate) struct Silent {
    pub(crate) url: String,
    accepted: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl Silent {
    pub(crate) async fn start() -> Silent {
        let tcp = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("https://{}/fetch", tcp.local_addr().unwrap());
        let accepted = Arc::new(AtomicUsize::new(0));
        let counter = accepted.clone();
        let task = tokio::spawn(async move {
            let mut held = Vec::new();
            // Bounded: a test makes a handful of attempts.
            while held.len() < 64 {
                let Ok((stream, _)) = tcp.accept().await else {
                    break;
                };
                counter.fetch_add(1, Ordering::SeqCst);
                held.push(stream);
            }
        });
        Silent {
            url,
            accepted,
            task,
        }
    }

    /// Connections accepted so far.
    pub(crate) fn accepted(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }
}

impl Drop for Silent {
    fn drop(&mut self) {
        self.task.abort();
    }
}
