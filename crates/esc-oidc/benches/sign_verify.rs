//! RS256 throughput with our crypto (aws-lc-rs): raw sign, full token mint, verify; then
//! `openssl speed -seconds 3 rsa2048` from the same machine for comparison, by CPU time
//! (openssl's default) and by wall-clock time (`-elapsed`).
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

/// CPU time the calling thread has used so far (`/proc/thread-self/schedstat`,
/// nanoseconds on CPU); `None` where that is not available.
fn thread_cpu() -> Option<Duration> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    Some(Duration::from_nanos(
        text.split_whitespace().next()?.parse().ok()?,
    ))
}

/// Operations per wall-clock second, and the thread's CPU time per
/// operation (what `openssl speed` divides by unless given `-elapsed`):
/// on a shared machine the two differ by the time the thread waited.
fn per_second(mut op: impl FnMut()) -> (f64, Option<Duration>) {
    // Warm up, then count whole operations for RUN.
    for _ in 0..10 {
        op();
    }
    let cpu = thread_cpu();
    let start = Instant::now();
    let mut n_ops = 0u64;
    while start.elapsed() < RUN {
        for _ in 0..16 {
            op();
        }
        n_ops += 16;
    }
    let rate = n_ops as f64 / start.elapsed().as_secs_f64();
    let cpu_per_op = match (cpu, thread_cpu()) {
        (Some(before), Some(after)) => Some(after.saturating_sub(before) / n_ops as u32),
        _ => None,
    };
    (rate, cpu_per_op)
}

/// `rate` as "N /s (wall M ms, CPU C ms per operation)".
fn figure((rate, cpu): (f64, Option<Duration>)) -> String {
    let cpu = cpu.map_or(String::from("n/a"), |c| {
        format!("{:.3} ms", c.as_secs_f64() * 1e3)
    });
    format!(
        "{rate:>8.0} /s (wall {:.3} ms, CPU {cpu} per op)",
        1e3 / rate
    )
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
    println!("  sign (RSASSA-PKCS1-v1_5 SHA-256)  {}", figure(sign));
    println!("  mint (claims + jti + sign + b64)  {}", figure(mint));
    println!("  verify (parsed public key)        {}", figure(verify));
    // openssl speed divides by the process's user CPU time unless given
    // -elapsed: both, so each of our figures has its like beside it.
    for args in [
        &["speed", "-seconds", "3", "rsa2048"][..],
        &["speed", "-elapsed", "-seconds", "3", "rsa2048"],
    ] {
        openssl_speed(args);
    }
}

fn openssl_speed(args: &[&str]) {
    match std::process::Command::new("openssl")
        .args(args)
        .stderr(std::process::Stdio::null())
        .output()
    {
        Ok(output) if output.status.success() => {
            println!("openssl {} (same machine):", args.join(" "));
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
