//! An ESC Connect adapter that serves values from its own environment variables.
//!
//! Run with:
//!
//! ```text
//! ADAPTER_URL=https://adapter.example.com/ \
//! ESC_ISSUER=https://esc.example.com \
//! ADAPTER_VALUE_DATABASE_PASSWORD=hunter2 \
//!     cargo run -p env-adapter
//! ```
//!
//! and reference it from an environment:
//!
//! ```yaml
//! values:
//!   db:
//!     fn::open::external:
//!       url: https://adapter.example.com/
//!       request: {name: DATABASE_PASSWORD}
//! ```
//!
//! Settings (environment variables): `ADAPTER_URL` (required; this adapter's URL exactly as
//! written in environments, checked against `aud`), `ESC_ISSUER` (required; checked against
//! `iss`), `ESC_JWKS_URL` (default `<ESC_ISSUER>/.well-known/jwks`), `ADAPTER_LISTEN`
//! (default `127.0.0.1:8080`), `ADAPTER_ALLOWED_ORGS` (optional, comma-separated), and the
//! served values `ADAPTER_VALUE_<NAME>`. Prints `listening on <addr>` once bound.

use std::sync::Arc;

use anyhow::Context as _;
use env_adapter::{AppState, app, values_from};
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
    let mut config = VerifierConfig::new(issuer, audience);
    if let Ok(jwks_url) = std::env::var("ESC_JWKS_URL") {
        config.keys = KeySource::Url(jwks_url);
    }
    let verifier = Verifier::new(config).context("configuring the verifier")?;
    let allowed_orgs = std::env::var("ADAPTER_ALLOWED_ORGS").ok().map(|orgs| {
        Arc::new(
            orgs.split(',')
                .map(|org| org.trim().to_owned())
                .filter(|org| !org.is_empty())
                .collect(),
        )
    });
    let state = AppState {
        verifier: Arc::new(verifier),
        values: Arc::new(values_from(std::env::vars())),
        allowed_orgs,
    };
    let listen = std::env::var("ADAPTER_LISTEN").unwrap_or_else(|_| String::from("127.0.0.1:8080"));
    let listener = tokio::net::TcpListener::bind(&listen)
        .await
        .with_context(|| format!("binding {listen}"))?;
    // Handle SIGTERM from before we announce the address, so a stop right after start is
    // still graceful.
    let terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .context("installing the SIGTERM handler")?;
    println!("listening on {}", listener.local_addr()?);
    axum::serve(listener, app(state))
        .with_graceful_shutdown(shutdown_signal(terminate))
        .await
        .context("serving")?;
    Ok(())
}

/// Resolves on Ctrl-C or SIGTERM (how containers and service managers stop us).
async fn shutdown_signal(mut terminate: tokio::signal::unix::Signal) {
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = terminate.recv() => {}
    }
}
