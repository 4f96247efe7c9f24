//! An ESC Connect rotator with the dual-secret strategy: two API-key slots, each rotation
//! replaces the one ESC does not hand out, so the previous key keeps working until the next
//! rotation.
//!
//! Run with:
//!
//! ```text
//! ADAPTER_URL=https://rotator.example.com/ \
//! ESC_ISSUER=https://esc.example.com \
//! ROTATOR_STORE=/var/lib/rotator/credentials.json \
//!     cargo run -p dual-secret-rotator
//! ```
//!
//! and reference it from an environment:
//!
//! ```yaml
//! values:
//!   apiCredentials:
//!     fn::rotate::external:
//!       inputs:
//!         url: https://rotator.example.com/
//!         request: {}
//! ```
//!
//! then `esc env rotate org/project/env`. Settings (environment variables): `ADAPTER_URL`
//! (required; the rotation URL exactly as written in environments, checked against `aud`),
//! `ESC_ISSUER` (required; checked against `iss`), `ROTATOR_STORE` (required; the
//! credential file, created 0600 on the first rotation), `ESC_JWKS_URL` (default
//! `<ESC_ISSUER>/.well-known/jwks`), `ADAPTER_LISTEN` (default `127.0.0.1:8080`). Prints
//! `listening on <addr>` once bound.

use std::sync::Arc;

use anyhow::Context as _;
use dual_secret_rotator::{AppState, SlotStore, app};
use esc_adapter::{KeySource, Verifier, VerifierConfig};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let audience = std::env::var("ADAPTER_URL").context("ADAPTER_URL is not set")?;
    let issuer = std::env::var("ESC_ISSUER").context("ESC_ISSUER is not set")?;
    let store_path = std::env::var_os("ROTATOR_STORE").context("ROTATOR_STORE is not set")?;
    let mut config = VerifierConfig::new(issuer, audience);
    if let Ok(jwks_url) = std::env::var("ESC_JWKS_URL") {
        config.keys = KeySource::Url(jwks_url);
    }
    let verifier = Verifier::new(config).context("configuring the verifier")?;
    let state = AppState {
        verifier: Arc::new(verifier),
        store: Arc::new(SlotStore::new(store_path)),
    };
    let listen = std::env::var("ADAPTER_LISTEN").unwrap_or_else(|_| String::from("127.0.0.1:8080"));
    let listener = tokio::net::TcpListener::bind(&listen)
        .await
        .with_context(|| format!("binding {listen}"))?;
    // Handle SIGTERM from before we announce the address, so a stop right after start is
    // still graceful (an in-flight rotation finishes writing its file).
    let terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .context("installing the SIGTERM handler")?;
    println!("listening on {}", listener.local_addr()?);
    axum::serve(listener, app(state))
        .with_graceful_shutdown(shutdown_signal(terminate))
        .await
        .context("serving")?;
    Ok(())
}

/// Resolves on Ctrl-C or SIGTERM.
async fn shutdown_signal(mut terminate: tokio::signal::unix::Signal) {
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = terminate.recv() => {}
    }
}
