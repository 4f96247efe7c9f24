//! RS256 throughput with our crypto (aws-lc-rs): raw sign, full token mint, verify; then
//! `openssl speed -seconds 3 rsa2048` from the same machine for comparison.
//!
//! Run with `cargo bench -p esc-oidc --bench sign_verify`. Single thread, 3 s per figure.

#![allow(clippy::unwrap_used, clippy::print_stdout)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use aws_lc_rs::signature::{RSA_PKCS1_2048_8192_SHA256, RsaPublicKeyComponents};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use esc_oidc::{EnvRef, Issuer, IssuerConfig, TokenRequest, UnixTime};

const RUN: Duration = Duration::from_secs(3);

fn per_second(mut op: impl FnMut()) -> f64 {
    // Warm up, then count whole operations for RUN.
    for _ in 0..10 {
        op();
    }
    let start = Instant::now();
    let mut n_ops = 0u64;
    while start.elapsed() < RUN {
        for _ in 0..16 {
            op();
        }
        n_ops += 16;
    }
    n_ops as f64 / start.elapsed().as_secs_f64()
}

fn main() {
    let issuer = Issuer::ephemeral(
        IssuerConfig::new("https://esc.example.com"),
        UnixTime::now(),
    )
    .unwrap();
    let key = issuer.snapshot().active().unwrap().clone();
    let env = EnvRef {
        org: String::from("acme"),
        project: String::from("payments"),
        name: String::from("prod"),
    };
    let request = TokenRequest {
        audience: "https://adapter.example.com/fetch-secrets",
        current_env: &env,
        root_env: &env,
        trigger_user: "alice",
    };
    let body = br#"{"secretName":"DATABASE_PASSWORD"}"#;
    let token = issuer.mint(&request, body).unwrap();
    let (signed, signature) = token.rsplit_once('.').unwrap();
    let signature = URL_SAFE_NO_PAD.decode(signature).unwrap();
    let jwk = key.public_jwk();
    let public = RsaPublicKeyComponents {
        n: URL_SAFE_NO_PAD.decode(&jwk.n).unwrap(),
        e: URL_SAFE_NO_PAD.decode(&jwk.e).unwrap(),
    }
    .to_parsed_public_key(&RSA_PKCS1_2048_8192_SHA256)
    .unwrap();

    let sign = per_second(|| {
        black_box(key.sign_rs256(black_box(signed.as_bytes())).unwrap());
    });
    let mint = per_second(|| {
        black_box(issuer.mint(&request, black_box(body)).unwrap());
    });
    let verify = per_second(|| {
        public
            .verify_sig(black_box(signed.as_bytes()), black_box(&signature))
            .unwrap();
    });
    println!("esc-oidc RS256, RSA-2048, one thread, aws-lc-rs:");
    println!("  sign (RSASSA-PKCS1-v1_5 SHA-256)   {sign:>10.0} /s");
    println!("  mint (claims + jti + sign + b64)   {mint:>10.0} /s");
    println!("  verify (parsed public key)         {verify:>10.0} /s");

    match std::process::Command::new("openssl")
        .args(["speed", "-seconds", "3", "rsa2048"])
        .stderr(std::process::Stdio::null())
        .output()
    {
        Ok(output) if output.status.success() => {
            println!("openssl speed -seconds 3 rsa2048 (same machine):");
            let text = String::from_utf8_lossy(&output.stdout);
            for line in text.lines().filter(|line| {
                line.contains("sign") || line.contains("rsa") || line.contains("version")
            }) {
                println!("  {line}");
            }
        }
        _ => println!("openssl not available: no comparison figures"),
    }
}
