//! Verified requests per second: the Rust env adapter against the PyJWT reference adapter
//! (crates/esc-adapter/tests/python/pyjwt_adapter.py), same machine, same load generator,
//! same run.
//!
//! Run with `source scripts/services.sh && services_start && cargo bench -p env-adapter`
//! (`ESC_TEST_PYTHON` must point at a python with PyJWT; without it only the Rust adapter
//! is measured). Settings: `BENCH_SECONDS` (default 5), `BENCH_CONNECTIONS` (default 32),
//! `BENCH_TOKENS` (tokens minted up front, default 60000). Each token is used once: the
//! Rust adapter refuses replays, so the pool bounds the run as well as the clock does.

#![allow(clippy::unwrap_used, clippy::print_stdout, clippy::expect_used)]

use std::io::{BufRead as _, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use esc_oidc::{EnvRef, Issuer, IssuerConfig, TokenRequest, UnixTime};

const ISSUER: &str = "https://esc.example.com";
/// The URL both adapters are configured with (checked against `aud`); they listen elsewhere.
const AUDIENCE: &str = "https://adapter.example.com/";
const BODY: &str = r#"{"name":"DB_PASSWORD"}"#;

fn setting(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(default)
}

/// A child adapter process, killed on drop.
struct Adapter {
    child: Child,
    url: String,
}

impl Adapter {
    fn spawn(mut command: Command, url_of: impl Fn(&str) -> String) -> Adapter {
        let mut child = command
            .env("ADAPTER_VALUE_DB_PASSWORD", "hunter2")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let url = url_of(
            line.trim()
                .strip_prefix("listening on ")
                .unwrap_or_else(|| panic!("unexpected first line {line:?}")),
        );
        Adapter { child, url }
    }
}

impl Drop for Adapter {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

struct Outcome {
    ok: u64,
    failed: u64,
    seconds: f64,
}

/// `connections` concurrent request loops against `url` for at most `run`, each request
/// with the next unused token; stops early when the pool runs out.
async fn load(url: &str, tokens: Arc<Vec<String>>, connections: usize, run: Duration) -> Outcome {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(connections)
        .build()
        .unwrap();
    let next = Arc::new(AtomicUsize::new(0));
    let ok = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let deadline = start + run;
    let mut tasks = Vec::new();
    for _ in 0..connections {
        let (client, url, tokens) = (client.clone(), url.to_owned(), Arc::clone(&tokens));
        let (next, ok, failed) = (Arc::clone(&next), Arc::clone(&ok), Arc::clone(&failed));
        tasks.push(tokio::spawn(async move {
            while Instant::now() < deadline {
                let idx = next.fetch_add(1, Ordering::Relaxed);
                let Some(token) = tokens.get(idx) else { break };
                let response = client
                    .post(&url)
                    .header("Authorization", format!("Bearer {token}"))
                    .header("Content-Type", "application/json")
                    .body(BODY)
                    .timeout(Duration::from_secs(10))
                    .send()
                    .await;
                let good = match response {
                    Ok(response) => {
                        response.status() == 200
                            && response
                                .bytes()
                                .await
                                .is_ok_and(|body| body.starts_with(b"{\"value\""))
                    }
                    Err(_) => false,
                };
                if good { &ok } else { &failed }.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    Outcome {
        ok: ok.load(Ordering::Relaxed),
        failed: failed.load(Ordering::Relaxed),
        seconds: start.elapsed().as_secs_f64(),
    }
}

fn mint_pool(issuer: &Arc<Issuer>, n_tokens: usize) -> Vec<String> {
    let n_threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    let per_thread = n_tokens.div_ceil(n_threads);
    let threads: Vec<_> = (0..n_threads)
        .map(|_| {
            let issuer = Arc::clone(issuer);
            std::thread::spawn(move || {
                let env = EnvRef {
                    org: String::from("acme"),
                    project: String::from("payments"),
                    name: String::from("prod"),
                };
                let request = TokenRequest {
                    audience: AUDIENCE,
                    current_env: &env,
                    root_env: &env,
                    trigger_user: "bench",
                };
                (0..per_thread)
                    .map(|_| issuer.mint(&request, BODY.as_bytes()).unwrap())
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    threads
        .into_iter()
        .flat_map(|thread| thread.join().unwrap())
        .collect()
}

fn main() {
    let run = Duration::from_secs(setting("BENCH_SECONDS", 5));
    let connections = setting("BENCH_CONNECTIONS", 32) as usize;
    let n_tokens = setting("BENCH_TOKENS", 60_000) as usize;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();

    let issuer = Arc::new(Issuer::ephemeral(IssuerConfig::new(ISSUER), UnixTime::now()).unwrap());
    let minting = Instant::now();
    let tokens = Arc::new(mint_pool(&issuer, n_tokens));
    println!(
        "minted {} tokens in {:.1} s",
        tokens.len(),
        minting.elapsed().as_secs_f64()
    );

    let jwks_url = runtime.block_on(async {
        let issuer = Arc::clone(&issuer);
        let router = axum::Router::new().route(
            "/.well-known/jwks",
            axum::routing::get(move || async move { axum::Json(issuer.jwks()) }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/.well-known/jwks", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
        url
    });

    let mut rust_command = Command::new(env!("CARGO_BIN_EXE_env-adapter"));
    rust_command
        .env("ADAPTER_URL", AUDIENCE)
        .env("ESC_ISSUER", ISSUER)
        .env("ESC_JWKS_URL", &jwks_url)
        .env("ADAPTER_LISTEN", "127.0.0.1:0");
    let rust = Adapter::spawn(rust_command, |addr| format!("http://{addr}/"));
    let rust_outcome = runtime.block_on(load(&rust.url, Arc::clone(&tokens), connections, run));
    drop(rust);
    report("rust env-adapter (esc-adapter)", &rust_outcome);

    let Ok(python) = std::env::var("ESC_TEST_PYTHON") else {
        println!("ESC_TEST_PYTHON not set: PyJWT adapter not measured");
        return;
    };
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../crates/esc-adapter/tests/python/pyjwt_adapter.py"
    );
    let mut python_command = Command::new(python);
    python_command
        .arg(script)
        .env("JWKS_URL", &jwks_url)
        .env("ADAPTER_URL", AUDIENCE)
        .env("PORT", "0");
    let python = Adapter::spawn(python_command, |port| format!("http://127.0.0.1:{port}/"));
    let python_outcome = runtime.block_on(load(&python.url, tokens, connections, run));
    drop(python);
    report("python PyJWT adapter (http.server)", &python_outcome);

    let rust_rate = rust_outcome.ok as f64 / rust_outcome.seconds;
    let python_rate = python_outcome.ok as f64 / python_outcome.seconds;
    println!("rust / python: {:.1}x", rust_rate / python_rate);
}

fn report(name: &str, outcome: &Outcome) {
    println!(
        "{name:<40} {:>9.0} verified req/s  ({} ok, {} failed, {:.2} s, {} connections)",
        outcome.ok as f64 / outcome.seconds,
        outcome.ok,
        outcome.failed,
        outcome.seconds,
        setting("BENCH_CONNECTIONS", 32)
    );
}
