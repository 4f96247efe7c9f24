//! Independent external opens run concurrently; identical ones are made once.

use esc_eval::Mode;
use serde_json::json;

use crate::support::{errors, evaluate, json, new_issuer, start_adapter};

#[tokio::test]
async fn ten_opens_overlap_and_identical_calls_are_made_once() {
    let issuer = new_issuer();
    let adapter = start_adapter(&issuer, false).await;
    let providers = esc_providers::registry(adapter.config(), issuer.clone());
    let url = adapter.url("/sleep/10");
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
    let eval = evaluate(&yaml, Mode::Eval, providers).await;
    assert_eq!(errors(&eval), Vec::<(String, String)>::new());
    let out = json(&eval, false);
    for i in 0..10 {
        assert_eq!(out[format!("v{i}")], json!({"response": {"got": {"i": i}}}));
    }
    assert_eq!(out["same1"], out["v0"]);
    assert_eq!(out["same2"], out["v0"]);
    // Ten distinct requests, not twelve.
    assert_eq!(adapter.hits("/sleep/10"), 10);
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
    let issuer = new_issuer();
    let adapter = start_adapter(&issuer, false).await;
    let providers = esc_providers::registry(adapter.config(), issuer.clone());
    // The adapter holds each request until ten are in flight (bounded at
    // 5 s each): sequential calls would only ever have one in flight.
    let url = adapter.url("/gate/10");
    let mut yaml = String::from("values:\n");
    for i in 0..10 {
        yaml.push_str(&format!(
            "  v{i}:\n    fn::open::external:\n      url: {url}\n      request: {{i: {i}}}\n"
        ));
    }
    let eval = evaluate(&yaml, Mode::Eval, providers).await;
    assert_eq!(errors(&eval), Vec::<(String, String)>::new());
    assert_eq!(adapter.hits("/gate/10"), 10);
    assert_eq!(adapter.max_in_flight(), 10);
}
