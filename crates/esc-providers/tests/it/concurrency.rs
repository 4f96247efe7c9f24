//! Independent external opens run concurrently; identical ones are made once.

use std::time::Duration;

use esc_eval::Mode;
use serde_json::json;

use crate::support::{errors, json, open_against};

#[tokio::test]
async fn ten_opens_overlap_and_identical_calls_are_made_once() {
    let url = "{adapter}/sleep/10";
    let mut yaml = String::from("values:\n");
    for i in 0..10 {
        yaml.push_str(&format!(
            "  v{i}:\n    fn::open::external:\n      url: {url}\n      request: {{i: {i}}}\n"
        ));
    }
    // Two more calls identical to v0 (same url and request).
    for name in ["same1", "same2"] {
        yaml.push_str(&format!(
            "  {name}:\n    fn::open::external:\n      url: {url}\n      request: {{i: 0}}\n"
        ));
    }
    let (adapter, eval) = open_against(&yaml, Mode::Eval).await;
    assert_eq!(errors(&eval), Vec::<(String, String)>::new());
    let out = json(&eval, false);
    for i in 0..10 {
        assert_eq!(out[format!("v{i}")], json!({"response": {"got": {"i": i}}}));
    }
    assert_eq!(out["same1"], out["v0"]);
    assert_eq!(out["same2"], out["v0"]);
    // Ten distinct requests, not twelve, each held for the full 10 ms.
    assert_eq!(adapter.hits("/sleep/10"), 10);
    let slept = adapter.slept();
    assert_eq!(slept.len(), 10);
    assert!(
        slept.iter().all(|d| *d >= Duration::from_millis(10)),
        "{slept:?}"
    );
    assert_eq!(adapter.rejected(), 0);
    // Several were being handled at the same time (sequential calls would
    // never overlap).
    assert!(
        adapter.max_in_flight() >= 2,
        "max in flight {}",
        adapter.max_in_flight()
    );
}

#[tokio::test]
async fn ten_opens_are_all_in_flight_together() {
    // The adapter holds each request until ten are in flight (bounded at
    // 5 s each): sequential calls would only ever have one in flight.
    let url = "{adapter}/gate/10";
    let mut yaml = String::from("values:\n");
    for i in 0..10 {
        yaml.push_str(&format!(
            "  v{i}:\n    fn::open::external:\n      url: {url}\n      request: {{i: {i}}}\n"
        ));
    }
    let (adapter, eval) = open_against(&yaml, Mode::Eval).await;
    assert_eq!(errors(&eval), Vec::<(String, String)>::new());
    assert_eq!(adapter.hits("/gate/10"), 10);
    assert_eq!(adapter.max_in_flight(), 10);
}
