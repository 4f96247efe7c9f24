//! Overhead of one `fn::open::external` over the adapter's own latency, and
//! ten opens against a 10 ms adapter, over HTTPS on 127.0.0.1 (the test
//! adapter of `tests/it/support.rs`, verifying every request).
//! Run: `cargo bench -p esc-providers --bench external` (add
//! `--profile dev` for a quick figure without a release build).
#![allow(clippy::unwrap_used)]

#[allow(dead_code, unreachable_pub)]
#[path = "../tests/it/support.rs"]
mod support;

use std::time::{Duration, Instant};

use esc_eval::{Mode, PlainValue, ProviderContext};

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let issuer = support::new_issuer();
        let adapter = support::start_adapter(&issuer, false).await;
        let providers = esc_providers::registry(adapter.config(), issuer.clone());
        let provider = providers.load_provider("external").await.unwrap();
        let ctx = ProviderContext {
            environment: "payments/prod".into(),
            context: support::context(),
        };
        let inputs = |path: &str| {
            PlainValue::object([
                ("url", PlainValue::string(adapter.url(path))),
                (
                    "request",
                    PlainValue::object([("k", PlainValue::string("v"))]),
                ),
            ])
        };
        const N: usize = 200;

        // Baseline: the same HTTPS adapter, same keep-alive client kind, no
        // token (answered 401 before verification).
        let client = reqwest::Client::builder()
            .tls_certs_merge([reqwest::Certificate::from_pem(
                adapter.cert_pem.as_ref().unwrap().as_bytes(),
            )
            .unwrap()])
            .build()
            .unwrap();
        // Bare POST, one mint and one open interleaved in one loop: this
        // machine's RSA speed drifts (a 2048-bit signature took 0.86-1.7 ms
        // from one phase to the next), so figures measured in separate
        // phases are not comparable; interleaved, each open is compared with
        // signatures made at the same time.
        let echo = inputs("/echo");
        let env = esc_oidc::EnvRef {
            org: "acme".into(),
            project: "payments".into(),
            name: "prod".into(),
        };
        let (mut bare, mut mints, mut opens) = (Vec::new(), Vec::new(), Vec::new());
        for _ in 0..N {
            // Baseline: the same HTTPS adapter, same keep-alive client kind,
            // no token (answered 401 before verification).
            let t = Instant::now();
            let r = client
                .post(adapter.url("/echo"))
                .body("{}")
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 401);
            r.bytes().await.unwrap();
            bare.push(t.elapsed());

            // The signing part of the overhead: one RS256 mint.
            let t = Instant::now();
            issuer
                .mint(
                    &esc_oidc::TokenRequest {
                        audience: "https://adapter.example/x",
                        current_env: &env,
                        root_env: &env,
                        trigger_user: "alice",
                    },
                    b"{}",
                )
                .unwrap();
            mints.push(t.elapsed());

            // One external open (mint + POST + adapter verification + JSON).
            let t = Instant::now();
            provider.open(&echo, &ctx).await.unwrap();
            opens.push(t.elapsed());
        }

        // Ten opens in one evaluation against a 10 ms adapter.
        let url = adapter.url("/sleep/10");
        let mut yaml = String::from("values:\n");
        for i in 0..10 {
            yaml.push_str(&format!(
                "  v{i}:\n    fn::open::external:\n      url: {url}\n      request: {{i: {i}}}\n"
            ));
        }
        let mut ten = Vec::new();
        for _ in 0..20 {
            let t = Instant::now();
            let eval = support::evaluate(&yaml, Mode::Eval, providers.clone()).await;
            assert!(eval.diagnostics().is_empty());
            ten.push(t.elapsed());
        }

        let sleep_inputs: Vec<PlainValue> = (0..10)
            .map(|i| {
                PlainValue::object([
                    ("url", PlainValue::string(adapter.url("/sleep/10"))),
                    (
                        "request",
                        PlainValue::object([("i", PlainValue::Number(i.to_string()))]),
                    ),
                ])
            })
            .collect();
        let mut direct = Vec::new();
        for _ in 0..20 {
            let t = Instant::now();
            let calls = sleep_inputs.iter().map(|i| provider.open(i, &ctx));
            for r in futures::future::join_all(calls).await {
                r.unwrap();
            }
            direct.push(t.elapsed());
        }
        println!(
            "10 concurrent provider opens (no evaluator) vs a 10 ms adapter, median of 20: {:?}",
            median(direct)
        );

        let (bare, mint, opens, ten) = (median(bare), median(mints), median(opens), median(ten));
        println!("(interleaved, median of {N} each)");
        println!("RS256 mint: {mint:?}");
        println!("bare HTTPS POST (401, no token): {bare:?}");
        println!("external open (signed, verified): {opens:?}");
        println!(
            "  overhead over the bare round trip: {:?} ({:.2} x one mint)",
            opens.saturating_sub(bare),
            opens.saturating_sub(bare).as_secs_f64() / mint.as_secs_f64()
        );
        println!(
            "  beyond one mint: {:?}",
            opens.saturating_sub(bare).saturating_sub(mint)
        );
        println!("10 external opens vs a 10 ms adapter, one evaluation, median of 20: {ten:?}");
    });
}
