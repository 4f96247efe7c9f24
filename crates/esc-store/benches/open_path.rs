//! The store's share of an open of an unchanged environment, as esc-service
//! makes it once the result is remembered: `create_shared_session` of the
//! stored result with its audit event, pinned to the revisions of the
//! environment and its two imports (`pinned`), and as the checked path
//! makes it (`checked`: `resolve_revisions` of the three, then the
//! session without pins). Many tasks at once, bounded time, on
//! SQLite and on PostgreSQL; prints opens/s and the CPU per open of this
//! process and of the PostgreSQL backends of its database (found by their
//! process title), apart from the HTTP and evaluation work of the server
//! (`esc-server`'s `open_read` bench measures the whole).
//!
//! Run: `source scripts/services.sh && services_start && cargo bench -p esc-store --bench open_path`
//! (`ESC_BENCH_SECONDS`, default 10; `ESC_BENCH_TARGETS`, a subset of
//! `sqlite,postgresql`; `ESC_BENCH_POOL`, the PostgreSQL pool size,
//! default 16 as `SqlStore::open`; `ESC_BENCH_TASKS`, default 32: fewer
//! opens at once make smaller batches, as a server busy evaluating does).
// a bench binary: it reports on stdout and stops at the first broken assumption
#![allow(clippy::unwrap_used, clippy::print_stdout)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use esc_store::{
    Author, EnvRef, LATEST_TAG, MasterKey, NewAuditEvent, Pin, ResolvedRevision, RevisionAt,
    SharedResult, SqlStore, Store, Timestamp,
};

fn main() {
    let seconds: u64 = var("ESC_BENCH_SECONDS")
        .and_then(|s| s.parse().ok())
        .unwrap_or(10)
        .clamp(1, 120);
    let pool: usize = var("ESC_BENCH_POOL")
        .and_then(|s| s.parse().ok())
        .unwrap_or(16)
        .clamp(1, 256);
    let tasks: usize = var("ESC_BENCH_TASKS")
        .and_then(|s| s.parse().ok())
        .unwrap_or(32)
        .clamp(1, 1024);
    let targets = var("ESC_BENCH_TARGETS");
    let wanted = |name: &str| {
        targets
            .as_deref()
            .is_none_or(|targets| targets.split(',').any(|target| target.trim() == name))
    };
    // as `esc serve` runs: a multi-threaded runtime, one worker per core
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        println!("{tasks} tasks, {seconds} s per target, postgresql pool {pool}");
        if wanted("sqlite") {
            let dir = tempfile::tempdir().unwrap();
            let store = SqlStore::open_sqlite(dir.path(), MasterKey::generate().unwrap())
                .await
                .unwrap();
            bench("sqlite", Arc::new(store), tasks, seconds, None).await;
        }
        match var("ESC_TEST_DATABASE_URL").filter(|_| wanted("postgresql")) {
            Some(admin) => {
                let (client, connection) = tokio_postgres::connect(&admin, tokio_postgres::NoTls)
                    .await
                    .unwrap();
                tokio::spawn(connection);
                let name = format!("esc_open_path_{}", std::process::id());
                client
                    .batch_execute(&format!("CREATE DATABASE {name}"))
                    .await
                    .unwrap();
                let url = format!("{}/{name}", admin.rsplit_once('/').unwrap().0);
                let store = SqlStore::connect_postgres(&url, MasterKey::generate().unwrap(), pool)
                    .await
                    .unwrap();
                bench("postgresql", Arc::new(store), tasks, seconds, Some(&name)).await;
            }
            None => println!("postgresql: skipped (ESC_TEST_DATABASE_URL unset or not asked for)"),
        }
    });
}

async fn bench(
    label: &str,
    store: Arc<dyn Store>,
    tasks: usize,
    seconds: u64,
    database: Option<&str>,
) {
    let author = Author::new("admin", "Admin");
    store.create_organization("bench").await.unwrap();
    let mut envs = Vec::new();
    for name in ["base1", "base2", "dev"] {
        let env = EnvRef::new("bench", "app", name);
        store.create_environment(&env, &author).await.unwrap();
        store
            .update_environment(&env, b"values: {a: 1}", None, &author)
            .await
            .unwrap();
        envs.push(env);
    }
    let env = envs[2].clone();
    let cipher = Arc::new(store.environment_cipher(&env).await.unwrap());
    let expires = Timestamp::now().plus_millis(3_600_000);
    let stored = store
        .create_shared_session(
            &env,
            &cipher,
            2,
            SharedResult::New {
                result: &[b'x'; 2000],
                keep_until: expires.plus_millis(3_600_000),
            },
            expires,
            None,
        )
        .await
        .unwrap();
    let targets: Vec<(EnvRef, RevisionAt<'_>)> = envs
        .iter()
        .map(|env| (env.clone(), RevisionAt::Tag(LATEST_TAG)))
        .collect();
    let recorded: Arc<Vec<ResolvedRevision>> = Arc::new(
        store
            .resolve_revisions(&targets)
            .await
            .unwrap()
            .into_iter()
            .map(Option::unwrap)
            .collect(),
    );
    let envs = Arc::new(envs);
    let result_id = Arc::new(stored.result_id);
    let serving = || {
        let backends = database.map(processes_titled).unwrap_or_default();
        let pg: Duration = backends.iter().map(|pid| process_cpu(pid)).sum();
        (process_cpu("self"), pg)
    };
    for (phase, seconds) in [
        ("warm-up", 1),
        ("pinned", seconds),
        ("warm-up", 1),
        ("checked", seconds),
    ] {
        let pinned = phase == "pinned";
        let (own_before, pg_before) = serving();
        let started = Instant::now();
        let deadline = started + Duration::from_secs(seconds);
        let mut running = Vec::new();
        for _ in 0..tasks {
            let (store, envs, env) = (store.clone(), envs.clone(), env.clone());
            let (cipher, result_id) = (cipher.clone(), result_id.clone());
            let recorded = recorded.clone();
            running.push(tokio::spawn(async move {
                let mut latencies = Vec::new();
                let pins: Vec<Pin<'_>> = envs
                    .iter()
                    .zip(recorded.iter())
                    .map(|(env, resolved)| Pin {
                        env,
                        at: RevisionAt::Tag(LATEST_TAG),
                        resolved,
                    })
                    .collect();
                while Instant::now() < deadline {
                    let begun = Instant::now();
                    if !pinned {
                        let targets: Vec<(EnvRef, RevisionAt<'_>)> = envs
                            .iter()
                            .map(|env| (env.clone(), RevisionAt::Tag(LATEST_TAG)))
                            .collect();
                        let resolved = store.resolve_revisions(&targets).await.unwrap();
                        assert!(resolved.iter().all(Option::is_some));
                    }
                    let result = match pinned {
                        true => SharedResult::StoredWhile {
                            result_id: &result_id,
                            pins: &pins,
                        },
                        false => SharedResult::Stored(&result_id),
                    };
                    let event = NewAuditEvent {
                        time: Timestamp::now(),
                        org: "bench".into(),
                        actor: "admin".into(),
                        action: "environment.open".into(),
                        target: "app/dev".into(),
                        detail: "revision 2".into(),
                    };
                    store
                        .create_shared_session(&env, &cipher, 2, result, expires, Some(&event))
                        .await
                        .unwrap();
                    latencies.push(begun.elapsed());
                }
                latencies
            }));
        }
        let mut latencies = Vec::new();
        for task in running {
            latencies.extend(task.await.unwrap());
        }
        let elapsed = started.elapsed();
        let (own_after, pg_after) = serving();
        if phase == "warm-up" {
            continue;
        }
        let label = format!("{label} {phase}");
        latencies.sort();
        let n = latencies.len().max(1);
        let at = |q: f64| latencies[((n as f64 * q) as usize).min(n - 1)];
        let per = |cpu: Duration| cpu.as_micros() / n as u128;
        println!(
            "{label:<18} {:>6.0} opens/s   p50 {:>6.2} ms   p99 {:>6.2} ms   cpu per open: store process {:>4} us, postgresql backends {:>4} us   ({n} in {:.1} s)",
            n as f64 / elapsed.as_secs_f64(),
            at(0.5).as_secs_f64() * 1e3,
            at(0.99).as_secs_f64() * 1e3,
            per(own_after.saturating_sub(own_before)),
            per(pg_after.saturating_sub(pg_before)),
            elapsed.as_secs_f64(),
        );
    }
}

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|value| !value.is_empty())
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
