//! Load generator: open-and-read of an environment with 20 values and 2
//! imports over real HTTP, 32 connections, bounded time, on SQLite and
//! PostgreSQL; OpenBao's KV v2 read of a 10-key secret as the reference.
//!
//! Run: `source scripts/services.sh && services_start && cargo bench -p esc-server --bench open_read`
//! (`ESC_BENCH_SECONDS`, default 10, per target; `ESC_BENCH_TARGETS`, a
//! comma-separated subset of `sqlite,postgresql,openbao`, default all).
//! Each target is warmed up for a second first (connection pools, caches),
//! then measured. Prints requests/s, p50/p99 latency, and the CPU time
//! per request of the processes serving it (the esc server process plus
//! the PostgreSQL backends of its database, or the OpenBao server) and of
//! the client: figures that other work on the machine skews far less than
//! requests/s, and the share of the machine's CPU time its hypervisor
//! took for other guests meanwhile ("steal": on a shared host, what makes
//! one run differ from the next). PostgreSQL and OpenBao are skipped when
//! their variables are unset.
//!
//! The esc server runs in its own process, as `esc serve` and OpenBao do:
//! this binary starts itself again with `ESC_BENCH_SERVE` set (the store
//! to serve) and drives it from a one-thread client. A client sharing the
//! server's runtime measured its own task hand-offs more than the server
//! (both halves cost 1.5x the CPU per request, and its p99 was 1.4x).
// a bench binary: it reports on stdout and stops at the first broken assumption
#![allow(clippy::unwrap_used, clippy::print_stdout)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use esc_server::{ServeConfig, start_with_store};
use esc_store::{Location, MasterKey, SqlStore, Store};

const CONNECTIONS: usize = 32;

// the allocator of the `esc` binary, so the server process runs as `esc serve`
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// A running esc server process.
struct Target {
    url: String,
    token: String,
    /// One further token per connection (for the token-per-client run).
    tokens: Vec<String>,
    /// The server process; its stdin closing shuts it down.
    process: tokio::process::Child,
}

/// The server process: serves `store` until stdin closes.
async fn serve_store(store: Arc<dyn Store>, data_dir: &std::path::Path) {
    // what `esc serve` runs: its log subscriber (info; each request opens a
    // span), the issuer, scheduler and key maintenance, and the router
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new("info"))
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .try_init();
    let config = ServeConfig {
        listen: std::net::SocketAddr::from(([127, 0, 0, 1], 0)),
        data_dir: data_dir.to_owned(),
        ..ServeConfig::default()
    };
    let started = start_with_store(config, store.clone()).await.unwrap();
    let mut tokens = Vec::new();
    for _ in 0..CONNECTIONS {
        let extra = store
            .create_access_token("admin", "bench", None, "test-admin")
            .await
            .unwrap();
        tokens.push(extra.secret.expose_str().unwrap().to_owned());
    }
    let token = started.bootstrap_token.as_ref().unwrap();
    let token = token.expose_str().unwrap().to_owned();
    // the first line of stdout tells the parent where we listen
    println!("http://{} {token} {}", started.address, tokens.join(" "));
    started
        .run(async {
            // the parent closes our stdin (or dies): stop
            let _ = tokio::task::spawn_blocking(|| {
                std::io::Read::read_to_end(&mut std::io::stdin(), &mut Vec::new())
            })
            .await;
        })
        .await
        .unwrap();
}

/// The server process's role: `ESC_BENCH_SERVE` is `sqlite:<dir>` or
/// `postgresql:<url>`.
fn server_main(spec: &str) {
    // as `esc serve` runs: a multi-threaded runtime, one worker per core
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        // the store as `esc serve` opens it (its pool size, its master key
        // source: `master.key` in the data directory, or ESC_MASTER_KEY)
        let dir = tempfile::tempdir().unwrap();
        let location = match spec.split_once(':').unwrap() {
            ("sqlite", _) => Location::Embedded(dir.path()),
            ("postgresql", url) => Location::Postgres(url),
            (other, _) => panic!("unknown store {other}"),
        };
        let (store, _) = SqlStore::open(location).await.unwrap();
        serve_store(store, dir.path()).await;
    });
}

/// Starts this binary again as a server process on the store `spec`
/// names, and waits for it to listen.
async fn start_server(spec: &str) -> Target {
    use tokio::io::AsyncBufReadExt;
    let mut command = tokio::process::Command::new(std::env::current_exe().unwrap());
    command.env("ESC_BENCH_SERVE", spec);
    if spec.starts_with("postgresql:") {
        // PostgreSQL takes its master key from ESC_MASTER_KEY: a fresh one
        let keys = tempfile::tempdir().unwrap();
        let (_, _) = MasterKey::load_or_create(&keys.path().join("master.key")).unwrap();
        let master_key = std::fs::read_to_string(keys.path().join("master.key")).unwrap();
        command.env("ESC_MASTER_KEY", master_key.trim());
    }
    let mut process = command
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let stdout = process.stdout.take().unwrap();
    let mut line = String::new();
    tokio::time::timeout(
        Duration::from_secs(60),
        tokio::io::BufReader::new(stdout).read_line(&mut line),
    )
    .await
    .expect("the server process did not start within 60 s")
    .unwrap();
    let mut words = line.split_whitespace().map(str::to_owned);
    let (Some(url), Some(token)) = (words.next(), words.next()) else {
        panic!("the server process did not say where it listens: {line:?}");
    };
    let tokens: Vec<String> = words.collect();
    assert_eq!(tokens.len(), CONNECTIONS);
    Target {
        url,
        token,
        tokens,
        process,
    }
}

async fn seed(client: &reqwest::Client, target: &Target) {
    let auth = format!("token {}", target.token);
    for (project, name, yaml) in [
        ("shared", "base1", values("b1", 5, 1)),
        ("shared", "base2", values("b2", 5, 1)),
        (
            "app",
            "dev",
            format!(
                "imports: [shared/base1, shared/base2]\n{}",
                values("v", 20, 2)
            ),
        ),
    ] {
        let created = client
            .post(format!("{}/api/esc/environments/bench", target.url))
            .header("Authorization", &auth)
            .body(format!(r#"{{"project":"{project}","name":"{name}"}}"#))
            .send()
            .await
            .unwrap();
        assert_eq!(created.status(), 204);
        let updated = client
            .patch(format!(
                "{}/api/esc/environments/bench/{project}/{name}",
                target.url
            ))
            .header("Authorization", &auth)
            .body(yaml)
            .send()
            .await
            .unwrap();
        assert_eq!(updated.status(), 200, "{}", updated.text().await.unwrap());
    }
}

/// `count` values (the first `secrets` of them secrets, one interpolation).
fn values(prefix: &str, count: usize, secrets: usize) -> String {
    let mut yaml = String::from("values:\n");
    for index in 0..count {
        if index < secrets {
            yaml.push_str(&format!(
                "  {prefix}{index}: {{fn::secret: secret-{prefix}-{index}}}\n"
            ));
        } else if index == count - 1 {
            yaml.push_str(&format!(
                "  {prefix}{index}: prefix-${{{prefix}{}}}\n",
                count - 2
            ));
        } else {
            yaml.push_str(&format!("  {prefix}{index}: value-{prefix}-{index}\n"));
        }
    }
    yaml
}

struct Report {
    requests: usize,
    elapsed: Duration,
    latencies: Vec<Duration>,
    /// How long the first request of each round took (the open).
    firsts: Vec<Duration>,
    errors: usize,
    /// CPU time of the processes serving it, over the measured run.
    cpu: Duration,
    /// Of `cpu`, the database backends' share.
    database_cpu: Duration,
    /// CPU time of the client (this process), over the measured run.
    client_cpu: Duration,
    /// Of the machine's CPU time over the measured run, the share its
    /// hypervisor gave to others ("steal": on a shared host, the main
    /// cause of one run differing from the next).
    steal: Option<f64>,
}

impl Report {
    fn print(&self, label: &str, unit: &str) {
        let pick = quantiles(&self.latencies);
        println!(
            "{label:<50} {:>9.0} {unit}/s   p50 {:>7.2} ms   p99 {:>7.2} ms   server cpu {:>5.0} us/{unit}, client {:>4.0} us   ({} in {:.1} s, {} errors, steal {})",
            self.requests as f64 / self.elapsed.as_secs_f64(),
            pick(0.50).as_secs_f64() * 1e3,
            pick(0.99).as_secs_f64() * 1e3,
            self.cpu.as_secs_f64() * 1e6 / self.requests.max(1) as f64,
            self.client_cpu.as_secs_f64() * 1e6 / self.requests.max(1) as f64,
            self.requests,
            self.elapsed.as_secs_f64(),
            self.errors,
            self.steal
                .map_or_else(|| "?".to_owned(), |steal| format!("{:.0}%", steal * 100.0)),
        );
    }

    /// The open's and the read's own p50/p99 (where the tail comes from),
    /// and the database backends' CPU.
    fn print_legs(&self) {
        let opens = quantiles(&self.firsts);
        let reads = quantiles(
            &self
                .latencies
                .iter()
                .zip(&self.firsts)
                .map(|(round, first)| round.saturating_sub(*first))
                .collect::<Vec<_>>(),
        );
        println!(
            "{:<50} open p50 {:>5.2} p99 {:>5.2} ms, read p50 {:>5.2} p99 {:>5.2} ms; server cpu of which database {:.0} us",
            "",
            opens(0.50).as_secs_f64() * 1e3,
            opens(0.99).as_secs_f64() * 1e3,
            reads(0.50).as_secs_f64() * 1e3,
            reads(0.99).as_secs_f64() * 1e3,
            self.database_cpu.as_secs_f64() * 1e6 / self.requests.max(1) as f64,
        );
    }
}

/// The quantile function of `latencies`.
fn quantiles(latencies: &[Duration]) -> impl Fn(f64) -> Duration + use<> {
    let mut sorted = latencies.to_vec();
    sorted.sort_unstable();
    move |q: f64| {
        sorted
            .get(((sorted.len() as f64 - 1.0) * q).round() as usize)
            .copied()
            .unwrap_or_default()
    }
}

/// What each connection does in a loop; one round is one measured request.
#[derive(Clone)]
enum Workload {
    /// `POST {base}/open`, then `GET {base}/open/{id}` with
    /// `auths[connection]`; the read must carry a decrypted secret.
    EscOpenRead {
        base: String,
        auths: Arc<Vec<String>>,
    },
    /// `GET {path}` with OpenBao's root token.
    BaoRead { path: String },
}

/// One HTTP/1.1 keep-alive connection, written and parsed by hand (a
/// request is one write of prepared bytes, a response is read into a
/// reused buffer; `httparse` reads the head): a load generator should cost
/// the machine as little as it can, as wrk does, since it shares the two
/// cores with the server. hyper's client cost ~60 us of CPU per open+read
/// (a task hand-off per request); this one about half that.
struct Connection {
    address: std::net::SocketAddr,
    stream: Option<tokio::net::TcpStream>,
    buffer: Vec<u8>,
}

impl Target {
    /// The address in `url` (`http://127.0.0.1:port`).
    fn address(&self) -> std::net::SocketAddr {
        self.url.trim_start_matches("http://").parse().unwrap()
    }
}

/// The largest response the load generator reads.
const MAX_RESPONSE: usize = 1 << 20;

impl Connection {
    fn new(address: std::net::SocketAddr) -> Self {
        Self {
            address,
            stream: None,
            buffer: Vec::with_capacity(16 * 1024),
        }
    }

    /// Sends one request (reconnecting if the connection closed); the
    /// status and whole body (`Content-Length` framed), or `None` on a
    /// transport or framing error (the connection is then dropped).
    async fn send(
        &mut self,
        method: &str,
        path: &str,
        header: (&str, &str),
    ) -> Option<(u16, &[u8])> {
        let sent = self.exchange(method, path, header).await;
        if sent.is_none() {
            self.stream = None;
        }
        let (status, body) = sent?;
        Some((status, &self.buffer[body]))
    }

    async fn exchange(
        &mut self,
        method: &str,
        path: &str,
        (name, value): (&str, &str),
    ) -> Option<(u16, std::ops::Range<usize>)> {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        if self.stream.is_none() {
            let stream = tokio::net::TcpStream::connect(self.address).await.ok()?;
            stream.set_nodelay(true).ok()?;
            self.stream = Some(stream);
        }
        let stream = self.stream.as_mut()?;
        let request = format!(
            "{method} {path} HTTP/1.1\r\nhost: 127.0.0.1\r\n{name}: {value}\r\ncontent-length: 0\r\n\r\n"
        );
        stream.write_all(request.as_bytes()).await.ok()?;
        self.buffer.clear();
        let (status, head, length, close) = loop {
            if self.buffer.len() >= MAX_RESPONSE {
                return None;
            }
            self.buffer.reserve(8 * 1024);
            if stream.read_buf(&mut self.buffer).await.ok()? == 0 {
                return None;
            }
            let mut headers = [httparse::EMPTY_HEADER; 32];
            let mut response = httparse::Response::new(&mut headers);
            if let httparse::Status::Complete(head) = response.parse(&self.buffer).ok()? {
                let header = |wanted: &str| {
                    response
                        .headers
                        .iter()
                        .find(|header| header.name.eq_ignore_ascii_case(wanted))
                        .and_then(|header| std::str::from_utf8(header.value).ok())
                };
                // only Content-Length framing (what both servers send here)
                let length: usize = header("content-length")?.trim().parse().ok()?;
                let close =
                    header("connection").is_some_and(|value| value.eq_ignore_ascii_case("close"));
                break (response.code?, head, length, close);
            }
        };
        let end = head
            .checked_add(length)
            .filter(|end| *end <= MAX_RESPONSE)?;
        while self.buffer.len() < end {
            self.buffer.reserve(end - self.buffer.len());
            if stream.read_buf(&mut self.buffer).await.ok()? == 0 {
                return None;
            }
        }
        // one request at a time: nothing may follow the response
        if self.buffer.len() != end {
            return None;
        }
        if close {
            self.stream = None;
        }
        Some((status, head..end))
    }

    /// One round of `workload`; whether it succeeded.
    /// One round of `workload`: `None` if it failed, else how long its
    /// first request took (the open of an open+read).
    async fn round(&mut self, workload: &Workload, connection: usize) -> Option<Duration> {
        let begin = Instant::now();
        let succeeded = match workload {
            Workload::EscOpenRead { base, auths } => {
                let auth = ("authorization", auths[connection].as_str());
                let (status, body) = self.send("POST", &format!("{base}/open"), auth).await?;
                let opened_in = begin.elapsed();
                #[derive(serde::Deserialize)]
                struct Opened {
                    id: String,
                }
                let opened = serde_json::from_slice::<Opened>(body).ok()?;
                if status != 200 {
                    return None;
                }
                let read = self
                    .send("GET", &format!("{base}/open/{}", opened.id), auth)
                    .await
                    // the decrypted secret proves a full evaluation
                    .is_some_and(|(status, body)| {
                        status == 200
                            && std::str::from_utf8(body)
                                .is_ok_and(|text| text.contains("secret-v-1"))
                    });
                return read.then_some(opened_in);
            }
            Workload::BaoRead { path } => self
                .send("GET", path, ("x-vault-token", "root"))
                .await
                .is_some_and(|(status, body)| status == 200 && body.starts_with(b"{")),
        };
        succeeded.then(|| begin.elapsed())
    }
}

/// Runs `workload` on `CONNECTIONS` connections to `address` for a second
/// (not measured), then for `seconds`, with the CPU time `serving`
/// (all, of which the database's)
/// reports over that run.
async fn drive(
    address: std::net::SocketAddr,
    seconds: u64,
    serving: &dyn Fn() -> (Duration, Duration),
    workload: Workload,
) -> Report {
    drive_for(address, 1, workload.clone()).await;
    let ((before, database_before), client_before) = (serving(), process_cpu("self"));
    let machine_before = machine_ticks();
    let mut report = drive_for(address, seconds, workload).await;
    let (after, database_after) = serving();
    report.steal =
        machine_before
            .zip(machine_ticks())
            .map(|((total, steal), (total_after, steal_after))| {
                (steal_after - steal) as f64 / (total_after - total).max(1) as f64
            });
    report.cpu = after.saturating_sub(before);
    report.database_cpu = database_after.saturating_sub(database_before);
    report.client_cpu = process_cpu("self").saturating_sub(client_before);
    report
}

/// Runs `workload` on `CONNECTIONS` connections for `seconds`.
async fn drive_for(address: std::net::SocketAddr, seconds: u64, workload: Workload) -> Report {
    let workload = Arc::new(workload);
    let start = Instant::now();
    let deadline = start + Duration::from_secs(seconds);
    let mut tasks = Vec::new();
    for connection in 0..CONNECTIONS {
        let workload = workload.clone();
        tasks.push(tokio::spawn(async move {
            let mut http = Connection::new(address);
            let (mut latencies, mut firsts) = (Vec::new(), Vec::new());
            let mut errors = 0;
            while Instant::now() < deadline {
                let begin = Instant::now();
                let round = tokio::time::timeout(
                    Duration::from_secs(30),
                    http.round(&workload, connection),
                );
                if let Ok(Some(first)) = round.await {
                    latencies.push(begin.elapsed());
                    firsts.push(first);
                } else {
                    errors += 1;
                }
            }
            (latencies, firsts, errors)
        }));
    }
    let mut report = Report {
        requests: 0,
        elapsed: Duration::ZERO,
        latencies: Vec::new(),
        firsts: Vec::new(),
        errors: 0,
        cpu: Duration::ZERO,
        database_cpu: Duration::ZERO,
        client_cpu: Duration::ZERO,
        steal: None,
    };
    for task in tasks {
        let (latencies, firsts, errors) = task.await.unwrap();
        report.latencies.extend(latencies);
        report.firsts.extend(firsts);
        report.errors += errors;
    }
    report.elapsed = start.elapsed();
    report.requests = report.latencies.len();
    report
}

/// The machine's CPU time so far (all states, in clock ticks) and of it
/// the time stolen by the hypervisor: the `cpu` line of /proc/stat.
fn machine_ticks() -> Option<(u64, u64)> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let line = stat.lines().find(|line| line.starts_with("cpu "))?;
    // user nice system idle iowait irq softirq steal (guest time is
    // already counted in user)
    let ticks: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .take(8)
        .map(|field| field.parse().ok())
        .collect::<Option<_>>()?;
    Some((ticks.iter().sum(), *ticks.get(7)?))
}

/// CPU time (user + system) of process `pid` (`self`: this one), or zero
/// if it is gone.
fn process_cpu(pid: &str) -> Duration {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return Duration::ZERO;
    };
    // after the command name in parentheses: utime and stime are fields
    // 14 and 15, in clock ticks (100 per second on Linux)
    let Some((_, rest)) = stat.rsplit_once(')') else {
        return Duration::ZERO;
    };
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = [11, 12]
        .iter()
        .filter_map(|&idx| fields.get(idx)?.parse::<u64>().ok())
        .sum();
    Duration::from_millis(ticks * 10)
}

/// The processes whose command line contains `needle` (PostgreSQL names
/// each backend's database in its title).
fn processes_titled(needle: &str) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|entry| {
            let name = entry.ok()?.file_name().into_string().ok()?;
            name.bytes().all(|b| b.is_ascii_digit()).then_some(())?;
            let title = std::fs::read(format!("/proc/{name}/cmdline")).ok()?;
            String::from_utf8_lossy(&title)
                .contains(needle)
                .then_some(name)
        })
        .collect()
}

async fn bench_esc(label: &str, spec: &str, seconds: u64, database: Option<&str>) {
    let mut target = start_server(spec).await;
    // the server process, and the backends of its database
    let server_pid = target.process.id().unwrap().to_string();
    let serving = |database: Option<&str>| {
        let backends = database.map(processes_titled).unwrap_or_default();
        let database = backends
            .iter()
            .map(|pid| process_cpu(pid))
            .sum::<Duration>();
        (process_cpu(&server_pid) + database, database)
    };
    let serving = move || serving(database);
    seed(&reqwest::Client::new(), &target).await;
    for per_connection in [false, true] {
        let base = "/api/esc/environments/bench/app/dev".to_owned();
        let auths: Arc<Vec<String>> = Arc::new(if per_connection {
            target
                .tokens
                .iter()
                .map(|token| format!("token {token}"))
                .collect()
        } else {
            vec![format!("token {}", target.token); CONNECTIONS]
        });
        let report = drive(
            target.address(),
            seconds,
            &serving,
            Workload::EscOpenRead { base, auths },
        )
        .await;
        let tokens = if per_connection {
            "token per connection"
        } else {
            "one token"
        };
        report.print(&format!("{label}, {tokens}"), "open+read");
        report.print_legs();
    }
    // closing its stdin stops the server; wait so its database is free
    drop(target.process.stdin.take());
    let _ = tokio::time::timeout(Duration::from_secs(30), target.process.wait()).await;
}

async fn bench_bao(bao: &str, seconds: u64) {
    let port = {
        let socket = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        socket.local_addr().unwrap().port()
    };
    let mut child = tokio::process::Command::new(bao)
        .args([
            "server",
            "-dev",
            &format!("-dev-listen-address=127.0.0.1:{port}"),
            "-dev-root-token-id=root",
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let url = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    let mut ready = false;
    for _ in 0..100 {
        if let Ok(reply) = client.get(format!("{url}/v1/sys/health")).send().await
            && reply.status() == 200
        {
            ready = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(ready, "OpenBao did not start within 10 s");
    let data: serde_json::Map<String, serde_json::Value> = (0..10)
        .map(|i| {
            (
                format!("key{i}"),
                serde_json::Value::from(format!("value-{i}")),
            )
        })
        .collect();
    let written = client
        .post(format!("{url}/v1/secret/data/bench"))
        .header("X-Vault-Token", "root")
        .json(&serde_json::json!({ "data": data }))
        .send()
        .await
        .unwrap();
    assert_eq!(written.status(), 200);
    let bao_pid = child.id().map(|pid| pid.to_string()).unwrap_or_default();
    let serving = || (process_cpu(&bao_pid), Duration::ZERO);
    let address = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let workload = Workload::BaoRead {
        path: "/v1/secret/data/bench".to_owned(),
    };
    let report = drive(address, seconds, &serving, workload).await;
    report.print("openbao kv v2 read (10 keys)", "read");
    let _ = child.kill().await;
}

fn service_var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|value| !value.is_empty())
}

fn main() {
    if let Some(spec) = service_var("ESC_BENCH_SERVE") {
        return server_main(&spec);
    }
    // the load generator: one thread, as a separate client would be
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(client_main());
}

async fn client_main() {
    let seconds = service_var("ESC_BENCH_SECONDS")
        .and_then(|s| s.parse().ok())
        .unwrap_or(10u64)
        .clamp(1, 120);
    println!(
        "{CONNECTIONS} connections, {seconds} s per target, environment: 20 values + 2 imports; load average {}",
        load_average()
    );

    let targets = service_var("ESC_BENCH_TARGETS");
    let wanted = |name: &str| {
        targets
            .as_deref()
            .is_none_or(|targets| targets.split(',').any(|target| target.trim() == name))
    };

    if wanted("sqlite") {
        let spec = "sqlite:".to_owned();
        bench_esc("esc open+read (sqlite)", &spec, seconds, None).await;
    }

    match service_var("ESC_TEST_DATABASE_URL").filter(|_| wanted("postgresql")) {
        Some(admin) => {
            let (client, connection) = tokio_postgres::connect(&admin, tokio_postgres::NoTls)
                .await
                .unwrap();
            tokio::spawn(connection);
            let name = format!("esc_bench_{}", std::process::id());
            client
                .batch_execute(&format!("DROP DATABASE IF EXISTS {name}"))
                .await
                .unwrap();
            client
                .batch_execute(&format!("CREATE DATABASE {name}"))
                .await
                .unwrap();
            let url = format!("{}/{name}", admin.rsplit_once('/').unwrap().0);
            bench_esc(
                "esc open+read (postgresql)",
                &format!("postgresql:{url}"),
                seconds,
                Some(&name),
            )
            .await;
        }
        None => println!("postgresql: skipped (ESC_TEST_DATABASE_URL unset or not asked for)"),
    }

    match service_var("ESC_TEST_BAO").filter(|_| wanted("openbao")) {
        Some(bao) => bench_bao(&bao, seconds).await,
        None => println!("openbao: skipped (ESC_TEST_BAO unset or not asked for)"),
    }
    // other work on the machine skews every figure: print it beside them
    println!("load average at the end {}", load_average());
}

/// The 1, 5 and 15 minute load averages (Linux), or `?`.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|text| {
            text.split_whitespace()
                .take(3)
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_else(|_| "?".into())
}
