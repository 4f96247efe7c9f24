//! Benchmark of the `bench` fixture (26 imports, 10 `fn::open::bench`
//! calls): load + eval with 0/0, 10 ms opens, 10 ms loads, and both, plus
//! YAML parsing of the same 27 files alone. Prints the median of each.
//!
//! Run with `cargo run --release -p esc-conformance --bin esc-bench [DIR]`
//! (DIR defaults to `../shared/conformance/esc-eval/bench`).

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use esc_conformance::fixture_context;
use esc_conformance::providers::{CaseLoader, Rot128, TestProviders};
use esc_eval::{Limits, Session};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let dir = std::env::args()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("../../../shared/conformance/esc-eval/bench")
        });
    let mut texts = HashMap::new();
    for entry in std::fs::read_dir(&dir).with_context(|| format!("reading {}", dir.display()))? {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "yaml") {
            let name = path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            texts.insert(name, std::fs::read_to_string(&path)?);
        }
    }
    let root = texts
        .get("env")
        .cloned()
        .context("bench/env.yaml missing")?;

    let parse_median = median(2000, || {
        let start = Instant::now();
        for (name, text) in &texts {
            let parsed = esc_syntax::parse_document(name, text);
            std::hint::black_box(&parsed);
        }
        start.elapsed()
    });
    report("yaml parse of 27 files", parse_median);

    let ms = Duration::from_millis(10);
    for (label, open, load, iterations) in [
        ("eval 0/0", Duration::ZERO, Duration::ZERO, 2000),
        ("eval 10 ms opens", ms, Duration::ZERO, 31),
        ("eval 10 ms loads", Duration::ZERO, ms, 31),
        ("eval 10 ms loads and opens", ms, ms, 31),
    ] {
        let session = Session {
            providers: Arc::new(TestProviders { open_delay: open }),
            environments: Arc::new(CaseLoader {
                dir: dir.clone(),
                case: "bench".into(),
                load_delay: load,
                preloaded: Some(texts.clone()),
            }),
            decrypter: Arc::new(Rot128),
            context: fixture_context(),
            limits: Limits::default(),
        };
        let mut samples = Vec::with_capacity(iterations);
        for _ in 0..iterations {
            let start = Instant::now();
            let (definition, _) = esc_eval::load_definition("bench", &root);
            let definition = definition.context("bench/env.yaml did not load")?;
            let evaluation =
                esc_eval::evaluate(&definition, esc_eval::Mode::Eval, &session).await?;
            samples.push(start.elapsed());
            anyhow::ensure!(
                evaluation.diagnostics().is_empty(),
                "bench evaluation has diagnostics"
            );
        }
        report(label, middle(samples));
    }
    Ok(())
}

fn median(iterations: usize, mut f: impl FnMut() -> Duration) -> Duration {
    middle((0..iterations).map(|_| f()).collect())
}

fn middle(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples.get(samples.len() / 2).copied().unwrap_or_default()
}

#[allow(clippy::print_stdout)] // the report is the program's output
fn report(label: &str, d: Duration) {
    println!("{label}: median {:.3} ms", d.as_secs_f64() * 1000.0);
}
