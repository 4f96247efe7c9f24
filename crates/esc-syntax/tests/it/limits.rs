//! Large and hostile documents: bounded time, clear errors, no panics.

use std::time::{Duration, Instant};

use esc_syntax::{NodeKind, parse_document};

/// Generous bounds: debug builds on a loaded 2-core machine.
const BOUND: Duration = Duration::from_secs(20);

fn timed<T>(f: impl FnOnce() -> T) -> (T, Duration) {
    let started = Instant::now();
    let out = f();
    (out, started.elapsed())
}

#[test]
fn a_one_mebibyte_document_parses_in_bounded_time() {
    let mut text = String::from("values:\n");
    let mut i = 0;
    while text.len() < (1 << 20) - 64 {
        text.push_str(&format!("  key{i}: \"value ${{other.k{i}}} é日\"\n"));
        i += 1;
    }
    let (root, elapsed) = timed(|| parse_document("big", &text));
    let root = root.unwrap().unwrap();
    let NodeKind::Mapping(entries) = &root.kind else {
        panic!()
    };
    let NodeKind::Mapping(values) = &entries[0].1.kind else {
        panic!()
    };
    assert_eq!(values.len(), i);
    println!("1 MiB block document: {elapsed:?}");
    assert!(elapsed < BOUND, "{elapsed:?}");
}

#[test]
fn long_non_ascii_lines_parse_in_bounded_time() {
    // one flow mapping on a single non-ASCII line: every position walks that line
    let mut text = String::from("{");
    let mut i = 0;
    while text.len() < (1 << 20) - 64 {
        text.push_str(&format!("é{i}: 日{i}, "));
        i += 1;
    }
    text.push_str("}\n");
    let (root, elapsed) = timed(|| parse_document("wide", &text));
    assert!(root.unwrap().is_some());
    println!("1 MiB single non-ASCII line: {elapsed:?}");
    assert!(elapsed < BOUND, "{elapsed:?}");
}

#[test]
fn oversized_and_deep_documents_are_refused_quickly() {
    let text = "a".repeat((1 << 20) + 1);
    let (err, elapsed) = timed(|| parse_document("huge", &text).unwrap_err());
    assert!(err.summary.contains("too large"));
    assert!(elapsed < Duration::from_secs(1));

    let deep = format!("{}{}", "[".repeat(500_000), "]".repeat(500_000));
    let (err, elapsed) = timed(|| parse_document("deep", &deep).unwrap_err());
    // saphyr's own flow recursion guard may answer first
    assert!(
        err.summary.contains("nesting is too deep") || err.summary.contains("recursion limit"),
        "{}",
        err.summary
    );
    assert!(elapsed < BOUND, "{elapsed:?}");

    let mut block = String::new();
    for depth in 0..200 {
        block.push_str(&" ".repeat(depth));
        block.push_str("k:\n");
    }
    let err = parse_document("deep", &block).unwrap_err();
    assert!(
        err.summary.contains("nesting is too deep"),
        "{}",
        err.summary
    );
}

#[test]
fn many_anchors_without_aliases_are_fine_and_any_alias_is_refused() {
    let mut text = String::from("values:\n");
    for i in 0..10_000 {
        text.push_str(&format!("  k{i}: &a{i} [x, y]\n"));
    }
    assert!(parse_document("anchors", &text).unwrap().is_some());
    text.push_str("  last: *a0\n");
    assert_eq!(
        parse_document("anchors", &text).unwrap_err().summary,
        "alias nodes are not supported"
    );
}
