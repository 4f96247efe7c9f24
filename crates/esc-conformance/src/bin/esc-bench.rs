//! Benchmark of the `bench` fixture (26 imports, 10 `fn::open::bench`
//! calls) with 0/0, 10 ms opens, 10 ms loads, and both, each twice:
//!
//! * **cold**: every environment is parsed in every evaluation (the root
//!   with `load_definition`, imports from text by the loader);
//! * **warm**: definitions are parsed once and handed back already parsed
//!   (`EnvironmentSource::Parsed`), as a server or CLI that caches stored
//!   revisions sees repeated opens.
//!
//! Also YAML parsing of the same 27 files alone. Prints the median of each.
//!
//! Run with `cargo run --release -p esc-conformance --bin esc-bench [DIR]`
//! (DIR defaults to `../shared/conformance/esc-eval/bench`).
//! `--profile cold|warm N` runs only the 0/0 evaluation N times and prints
//! nothing (for `perf` / `valgrind --tool=callgrind`).

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use async_trait::async_trait;
use esc_conformance::fixture_context;
use esc_conformance::providers::{CaseLoader, Rot128, TestProviders};
use esc_eval::{
    CallError, Definition, EnvironmentLoader, EnvironmentSource, Limits, LoadedEnvironment,
    ParsedEnvironment, Session,
};

/// Whether definitions are parsed in every evaluation or once.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Temperature {
    Cold,
    Warm,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let profile = match args.iter().position(|a| a == "--profile") {
        Some(i) => {
            let temperature = match args.get(i + 1).map(String::as_str) {
                Some("cold") => Temperature::Cold,
                Some("warm") => Temperature::Warm,
                _ => anyhow::bail!("usage: --profile cold|warm N"),
            };
            let n: usize = args
                .get(i + 2)
                .and_then(|n| n.parse().ok())
                .context("usage: --profile cold|warm N")?;
            args.drain(i..i + 3);
            Some((temperature, n))
        }
        None => None,
    };
    let dir = args.first().map(PathBuf::from).unwrap_or_else(|| {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/conformance/esc-eval/bench")
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
    let bench = Bench::new(dir, texts)?;

    if let Some((temperature, n)) = profile {
        let session = bench.session(temperature, Duration::ZERO, Duration::ZERO);
        for _ in 0..n {
            bench.evaluate(temperature, &session).await?;
        }
        return Ok(());
    }

    let parse_median = median(2000, || {
        let start = Instant::now();
        for (name, text) in &bench.texts {
            let parsed = esc_syntax::parse_document(name, text);
            std::hint::black_box(&parsed);
        }
        start.elapsed()
    });
    report("yaml parse of 27 files", parse_median);

    let ms = Duration::from_millis(10);
    for (temperature, title) in [
        (
            Temperature::Cold,
            "cold (every environment parsed in every evaluation)",
        ),
        (
            Temperature::Warm,
            "warm (definitions parsed once, handed over parsed)",
        ),
    ] {
        for (label, open, load, iterations) in [
            ("eval 0/0", Duration::ZERO, Duration::ZERO, 2000),
            ("eval 10 ms opens", ms, Duration::ZERO, 31),
            ("eval 10 ms loads", Duration::ZERO, ms, 31),
            ("eval 10 ms loads and opens", ms, ms, 31),
        ] {
            let session = bench.session(temperature, open, load);
            let mut samples = Vec::with_capacity(iterations);
            for _ in 0..iterations {
                let start = Instant::now();
                bench.evaluate(temperature, &session).await?;
                samples.push(start.elapsed());
            }
            report(&format!("{title}: {label}"), middle(samples));
        }
    }
    Ok(())
}

/// The fixture: texts, and the same definitions parsed once.
struct Bench {
    dir: PathBuf,
    texts: HashMap<String, String>,
    root_text: String,
    root: Definition,
    parsed: Arc<HashMap<String, ParsedEnvironment>>,
}

impl Bench {
    fn new(dir: PathBuf, texts: HashMap<String, String>) -> anyhow::Result<Self> {
        let root_text = texts
            .get("env")
            .cloned()
            .context("bench/env.yaml missing")?;
        let (root, _) = esc_eval::load_definition("bench", &root_text);
        let root = root.context("bench/env.yaml did not load")?;
        let parsed = texts
            .iter()
            .map(|(name, text)| (name.clone(), ParsedEnvironment::parse(name, text)))
            .collect();
        Ok(Bench {
            dir,
            texts,
            root_text,
            root,
            parsed: Arc::new(parsed),
        })
    }

    fn session(&self, temperature: Temperature, open: Duration, load: Duration) -> Session {
        let environments: Arc<dyn EnvironmentLoader> = match temperature {
            Temperature::Cold => Arc::new(CaseLoader {
                dir: self.dir.clone(),
                case: "bench".into(),
                load_delay: load,
                preloaded: Some(self.texts.clone()),
            }),
            Temperature::Warm => Arc::new(ParsedLoader {
                parsed: self.parsed.clone(),
                load_delay: load,
            }),
        };
        Session {
            providers: Arc::new(TestProviders { open_delay: open }),
            environments,
            decrypter: Arc::new(Rot128),
            context: fixture_context(),
            limits: Limits::default(),
        }
    }

    /// One evaluation of the root in eval mode; it must have no diagnostics.
    async fn evaluate(&self, temperature: Temperature, session: &Session) -> anyhow::Result<()> {
        let evaluation = match temperature {
            Temperature::Cold => {
                let (definition, _) = esc_eval::load_definition("bench", &self.root_text);
                let definition = definition.context("bench/env.yaml did not load")?;
                esc_eval::evaluate(&definition, esc_eval::Mode::Eval, session).await?
            }
            Temperature::Warm => {
                esc_eval::evaluate(&self.root, esc_eval::Mode::Eval, session).await?
            }
        };
        anyhow::ensure!(
            evaluation.diagnostics().is_empty(),
            "bench evaluation has diagnostics"
        );
        std::hint::black_box(&evaluation);
        Ok(())
    }
}

/// Hands back definitions parsed once (what a loader caching immutable
/// revisions does), after the configured delay.
struct ParsedLoader {
    parsed: Arc<HashMap<String, ParsedEnvironment>>,
    load_delay: Duration,
}

#[async_trait]
impl EnvironmentLoader for ParsedLoader {
    async fn load_environment(&self, name: &str) -> Result<LoadedEnvironment, CallError> {
        if !self.load_delay.is_zero() {
            tokio::time::sleep(self.load_delay).await;
        }
        let parsed = self
            .parsed
            .get(name)
            .cloned()
            .ok_or_else(|| CallError::new(format!("environment {name} not found")))?;
        Ok(LoadedEnvironment {
            definition: EnvironmentSource::Parsed(parsed),
            decrypter: Arc::new(Rot128),
        })
    }
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
