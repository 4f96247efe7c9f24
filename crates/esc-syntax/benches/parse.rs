//! Parsing cost alone: the 27 documents of `shared/conformance/esc-eval/bench`
//! through `parse_document` and every string through `parse_interpolation`.
//!
//! Run with `cargo bench -p esc-syntax --bench parse`. Besides criterion's
//! report, prints the median of 101 timed runs of the whole set.
#![allow(clippy::unwrap_used)] // bench setup: a missing fixture should stop the run

use std::hint::black_box;
use std::path::Path;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use esc_syntax::{Node, NodeKind, parse_document, parse_interpolation};

fn documents() -> Vec<(String, String)> {
    let dir =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/conformance/esc-eval/bench");
    let mut docs: Vec<(String, String)> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .map(|p| {
            let name = p.file_stem().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read_to_string(&p).unwrap())
        })
        .collect();
    docs.sort();
    assert_eq!(docs.len(), 27, "expected the 27 bench documents in {dir:?}");
    docs
}

fn interpolate_all(node: &Node) -> usize {
    match &node.kind {
        NodeKind::String { value, .. } => parse_interpolation(value, node).0.parts.len(),
        NodeKind::Sequence(items) => items.iter().map(interpolate_all).sum(),
        NodeKind::Mapping(entries) => entries.iter().map(|(_, v)| interpolate_all(v)).sum(),
        _ => 0,
    }
}

fn parse_all(docs: &[(String, String)]) -> usize {
    docs.iter()
        .map(|(name, text)| {
            let node = parse_document(name, text).unwrap().unwrap();
            interpolate_all(&node)
        })
        .sum()
}

fn bench(c: &mut Criterion) {
    let docs = documents();
    let bytes: usize = docs.iter().map(|(_, t)| t.len()).sum();

    let mut times: Vec<Duration> = (0..101)
        .map(|_| {
            let start = Instant::now();
            black_box(parse_all(black_box(&docs)));
            start.elapsed()
        })
        .collect();
    times.sort();
    println!(
        "parse of the 27 bench documents ({bytes} bytes): median {:?} over 101 runs",
        times[times.len() / 2]
    );

    c.bench_function("parse_document+interpolation/27 bench documents", |b| {
        b.iter(|| parse_all(black_box(&docs)))
    });
    let (name, text) = &docs.iter().find(|(n, _)| n == "env").unwrap();
    c.bench_function("parse_document/env.yaml", |b| {
        b.iter(|| parse_document(black_box(name), black_box(text)))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
