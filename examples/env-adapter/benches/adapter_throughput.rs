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
    addr: String,
}

impl Adapter {
    fn spawn(mut command: Command, addr_of: impl Fn(&str) -> String) -> Adapter {
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
        let addr = addr_of(
            line.trim()
                .strip_prefix("listening on ")
                .unwrap_or_else(|| panic!("unexpected first line {line:?}")),
        );
        Adapter { child, addr }
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
    /// CPU seconds the adapter process used during the run (user + system, all threads).
    adapter_cpu_seconds: f64,
}

/// User + system CPU seconds of process `pid` so far, from `/proc/<pid>/stat`.
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    let after_name = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let ticks = |idx: usize| {
        fields
            .get(idx)
            .and_then(|f| f.parse::<u64>().ok())
            .unwrap_or(0)
    };
    (ticks(11) + ticks(12)) as f64 / clock_ticks_per_second()
}

fn clock_ticks_per_second() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|out| String::from_utf8_lossy(&out.stdout).trim().parse().ok())
        .unwrap_or(100.0)
}

/// `connections` concurrent HTTP/1.1 connections to `addr` for at most `run`, each request
/// carrying the next unused token; stops early when the pool runs out. A deliberately lean
/// client (pre-serialised requests, keep-alive when the server allows it, reconnect when it
/// closes) so the load generator takes little of the CPU it shares with the server.
async fn load(
    pid: u32,
    addr: std::net::SocketAddr,
    requests: Arc<Vec<Vec<u8>>>,
    connections: usize,
    run: Duration,
) -> Outcome {
    let next = Arc::new(AtomicUsize::new(0));
    let ok = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let cpu_before = cpu_seconds(pid);
    let start = Instant::now();
    let deadline = start + run;
    let mut tasks = Vec::new();
    for _ in 0..connections {
        let requests = Arc::clone(&requests);
        let (next, ok, failed) = (Arc::clone(&next), Arc::clone(&ok), Arc::clone(&failed));
        tasks.push(tokio::spawn(async move {
            let mut stream: Option<BufStream> = None;
            let mut body = Vec::with_capacity(1024);
            while Instant::now() < deadline {
                let idx = next.fetch_add(1, Ordering::Relaxed);
                let Some(request) = requests.get(idx) else {
                    break;
                };
                let exchange = tokio::time::timeout(
                    Duration::from_secs(10),
                    exchange(addr, &mut stream, request, &mut body),
                )
                .await;
                // A response after the deadline is not counted: the rate is over the run.
                if Instant::now() > deadline {
                    break;
                }
                let good = match exchange {
                    Ok(Ok(status)) => status == 200 && body.starts_with(b"{\"value\""),
                    _ => {
                        stream = None;
                        false
                    }
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
        seconds: start.elapsed().min(run).as_secs_f64(),
        adapter_cpu_seconds: cpu_seconds(pid) - cpu_before,
    }
}

type BufStream = tokio::io::BufReader<tokio::net::TcpStream>;

/// Sends one request on `stream` (connecting first if needed), reads the response into
/// `body`, returns the status; drops the connection when the server closes it.
async fn exchange(
    addr: std::net::SocketAddr,
    stream: &mut Option<BufStream>,
    request: &[u8],
    body: &mut Vec<u8>,
) -> std::io::Result<u16> {
    use tokio::io::{AsyncBufReadExt as _, AsyncReadExt as _, AsyncWriteExt as _};
    let bad = |what: &str| std::io::Error::new(std::io::ErrorKind::InvalidData, what.to_owned());
    if stream.is_none() {
        let tcp = tokio::net::TcpStream::connect(addr).await?;
        tcp.set_nodelay(true)?;
        *stream = Some(tokio::io::BufReader::new(tcp));
    }
    let conn = stream.as_mut().ok_or_else(|| bad("no connection"))?;
    conn.get_mut().write_all(request).await?;
    let mut line = String::new();
    conn.read_line(&mut line).await?;
    let mut words = line.split_whitespace();
    let version = words
        .next()
        .ok_or_else(|| bad("empty status line"))?
        .to_owned();
    let status: u16 = words
        .next()
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| bad("no status code"))?;
    let mut content_length = None;
    let mut close = version == "HTTP/1.0";
    loop {
        line.clear();
        if conn.read_line(&mut line).await? == 0 {
            return Err(bad("eof in headers"));
        }
        let header = line.trim_end();
        if header.is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':') {
            let value = value.trim();
            if name.eq_ignore_ascii_case("content-length") {
                content_length = value.parse::<usize>().ok();
            } else if name.eq_ignore_ascii_case("connection") {
                close = value.eq_ignore_ascii_case("close");
            }
        }
    }
    body.clear();
    match content_length {
        Some(len) => {
            body.resize(len, 0);
            conn.read_exact(body).await?;
        }
        None => {
            conn.read_to_end(body).await?;
            close = true;
        }
    }
    if close {
        *stream = None;
    }
    Ok(status)
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
    // One thread for the load generator (and the JWKS server): the rest of the machine is
    // the adapter's.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();

    let issuer = Arc::new(Issuer::ephemeral(IssuerConfig::new(ISSUER), UnixTime::now()).unwrap());
    let minting = Instant::now();
    let requests: Arc<Vec<Vec<u8>>> = Arc::new(
        mint_pool(&issuer, n_tokens)
            .into_iter()
            .map(|token| {
                format!(
                    "POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n\
                     Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{BODY}",
                    BODY.len()
                )
                .into_bytes()
            })
            .collect(),
    );
    println!(
        "minted {} tokens in {:.1} s",
        requests.len(),
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
    let rust = Adapter::spawn(rust_command, |addr| addr.to_owned());
    let rust_outcome = runtime.block_on(load(
        rust.child.id(),
        rust.addr.parse().unwrap(),
        Arc::clone(&requests),
        connections,
        run,
    ));
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
    let python = Adapter::spawn(python_command, |port| format!("127.0.0.1:{port}"));
    let python_outcome = runtime.block_on(load(
        python.child.id(),
        python.addr.parse().unwrap(),
        requests,
        connections,
        run,
    ));
    drop(python);
    report("python PyJWT adapter (http.server)", &python_outcome);

    let rate = |outcome: &Outcome| outcome.ok as f64 / outcome.seconds;
    let per_cpu = |outcome: &Outcome| outcome.ok as f64 / outcome.adapter_cpu_seconds.max(1e-9);
    println!(
        "rust / python: {:.1}x verified req/s, {:.1}x verified req per adapter CPU-second",
        rate(&rust_outcome) / rate(&python_outcome),
        per_cpu(&rust_outcome) / per_cpu(&python_outcome)
    );
}

fn report(name: &str, outcome: &Outcome) {
    println!(
        "{name:<36} {:>8.0} verified req/s, {:>8.0} per adapter CPU-second  \
         ({} ok, {} failed, {:.2} s, adapter CPU {:.2} s, {} connections)",
        outcome.ok as f64 / outcome.seconds,
        outcome.ok as f64 / outcome.adapter_cpu_seconds.max(1e-9),
        outcome.ok,
        outcome.failed,
        outcome.seconds,
        outcome.adapter_cpu_seconds,
        setting("BENCH_CONNECTIONS", 32)
    );
}
