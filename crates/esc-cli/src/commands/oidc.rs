//! `esc oidc`: the OIDC issuer whose tokens authenticate `fn::open::external`
//! and `fn::rotate::external` calls, as adapters need to see it: its JWKS,
//! its discovery document and its issuer URL.
//!
//! In local mode that issuer is local mode's own (`backend::local`: keys in
//! `$ESC_HOME/data/oidc-keys`, created on first use). After `esc login URL`
//! the server signs, so these commands print what the server publishes.

use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context as _, bail};
use clap::{Args, Subcommand};
use esc_oidc::{DiscoveryDocument, Jwks};

use crate::backend::config::{Config, RemoteAccount};
use crate::backend::local::{self, IssuerUrlSource};
use crate::messages;

/// The help of `esc oidc` (how adapters find and trust local mode's keys).
pub(crate) const OIDC_ABOUT: &str = "Show the OIDC issuer that signs calls to external adapters.

Every fn::open::external and fn::rotate::external call carries an RS256 JWT; an adapter \
verifies it against the issuer's public keys (the JWKS) and checks that its `iss` claim \
equals the issuer URL.

In local mode (no `esc login URL`) esc is its own issuer. Its signing keys live in \
$ESC_HOME/data/oidc-keys (files mode 0600), are created the first time they are needed \
and kept across runs; the active key is replaced every 30 days, and a new key appears in \
the JWKS a day before it signs, so an adapter that pins the JWKS must be given a fresh \
copy at least once in that day (or fetch it from where you host it).

The issuer URL of local mode is, first found:
  $ESC_ISSUER_URL
  the URL saved with `esc oidc issuer URL` ($ESC_HOME/data/oidc-issuer.json)
  https://local.esc.invalid (never resolves: adapters pin the JWKS instead of fetching it)

Adapters must use https://. For local development only, local mode calls plain http:// \
adapters on a loopback address (127.0.0.0/8, ::1, localhost) when \
ESC_ALLOW_INSECURE_LOOPBACK_HTTP=1; by default it refuses them and says so.

After `esc login URL` the server is the issuer (`esc serve --public-url`, \
--allow-insecure-loopback-http); these commands then print what it publishes.";

/// Examples of `esc oidc`.
const OIDC_EXAMPLES: &str = "Example:
  # pin local mode's keys in an adapter (esc-adapter: KeySource::Static; PyJWT: PyJWKSet)
  esc oidc jwks > jwks.json

  # or host them where the issuer URL says, for adapters that fetch the JWKS
  esc oidc issuer http://127.0.0.1:8000
  mkdir -p site/.well-known
  esc oidc jwks > site/.well-known/jwks
  esc oidc discovery > site/.well-known/openid-configuration
  python3 -m http.server --directory site --bind 127.0.0.1 8000

  # open an environment whose adapter listens on http://127.0.0.1:9000/
  ESC_ALLOW_INSECURE_LOOPBACK_HTTP=1 esc open myproject/dev";

/// `esc oidc` and its subcommands.
#[derive(Debug, Args)]
#[command(after_help = OIDC_EXAMPLES)]
pub(crate) struct OidcCommand {
    #[command(subcommand)]
    command: Option<OidcSubcommand>,
}

#[derive(Debug, Subcommand)]
enum OidcSubcommand {
    /// Print the issuer's public signing keys (JWKS) as JSON
    #[command(
        long_about = "Print the issuer's public signing keys as a JSON Web Key Set.\n\nAdapters verify request tokens with these keys, by `kid`. In local mode this creates the signing key on first use. The document holds public keys only.",
        after_help = "Example:\n  esc oidc jwks > jwks.json\n  esc oidc jwks > site/.well-known/jwks"
    )]
    Jwks,
    /// Print the issuer's OpenID discovery document as JSON
    #[command(
        long_about = "Print the issuer's OpenID discovery document (/.well-known/openid-configuration).\n\nIts `issuer` is every token's `iss`; its `jwks_uri` is <issuer URL>/.well-known/jwks, where adapters that fetch keys look for the JWKS.",
        after_help = "Example:\n  esc oidc discovery > site/.well-known/openid-configuration"
    )]
    Discovery,
    /// Show the issuer URL (the `iss` claim), or save it for local mode
    #[command(
        long_about = "Show the issuer URL (every token's `iss` claim) and where it comes from; with URL, save it as local mode's issuer URL ($ESC_ISSUER_URL still takes precedence).\n\nAdapters compare `iss` with their configured issuer exactly; tokens minted before a change carry the old URL.",
        after_help = "Example:\n  esc oidc issuer\n  esc oidc issuer https://esc-local.example.com\n  esc oidc issuer --reset"
    )]
    Issuer(IssuerArgs),
}

#[derive(Debug, Args)]
struct IssuerArgs {
    /// The issuer URL to save (http:// or https://)
    url: Option<String>,
    /// Forget the saved issuer URL (back to the default)
    #[arg(long, conflicts_with = "url")]
    reset: bool,
}

/// Run `esc oidc ...`.
pub(super) async fn oidc(config: &Config, command: OidcCommand) -> anyhow::Result<ExitCode> {
    let Some(command) = command.command else {
        let mut cmd = <crate::cli::Cli as clap::CommandFactory>::command();
        if let Some(sub) = cmd.find_subcommand_mut("oidc") {
            messages::out(&format!("{}\n", sub.render_long_help()))?;
        }
        return Ok(ExitCode::SUCCESS);
    };
    match command {
        OidcSubcommand::Jwks => {
            let jwks = match config.remote()? {
                Some(remote) => fetch::<Jwks>(&remote.account, esc_oidc::JWKS_PATHS[0]).await?,
                None => local::open_issuer(&config.data_dir()).await?.jwks(),
            };
            print_json(&jwks)?;
        }
        OidcSubcommand::Discovery => {
            let discovery = match config.remote()? {
                Some(remote) => fetch::<DiscoveryDocument>(&remote.account, DISCOVERY_PATH).await?,
                None => {
                    let (url, _) = local::issuer_url(&config.data_dir())?;
                    esc_oidc::discovery_document(&url)
                }
            };
            print_json(&discovery)?;
        }
        OidcSubcommand::Issuer(args) => issuer(config, args).await?,
    }
    Ok(ExitCode::SUCCESS)
}

/// Where a server publishes its discovery document.
const DISCOVERY_PATH: &str = "/.well-known/openid-configuration";

/// Largest document read from a server.
const MAX_DOCUMENT_BYTES: usize = 256 * 1024;

async fn issuer(config: &Config, args: IssuerArgs) -> anyhow::Result<()> {
    if let Some(remote) = config.remote()? {
        let account = &remote.account;
        if args.url.is_some() || args.reset {
            bail!(
                "logged in to {}: the server's issuer URL is set where it runs (esc serve --public-url); use `esc logout` to configure local mode",
                account.url
            );
        }
        let discovery = fetch::<DiscoveryDocument>(account, DISCOVERY_PATH).await?;
        messages::out(&format!(
            "{}\n(the issuer of the server {})\n",
            discovery.issuer, account.url
        ))?;
        return Ok(());
    }
    let data_dir = config.data_dir();
    if args.reset || args.url.is_some() {
        local::save_issuer_url(&data_dir, args.url.as_deref()).context("saving the issuer URL")?;
    }
    let (url, source) = local::issuer_url(&data_dir)?;
    let origin = match source {
        IssuerUrlSource::Environment => format!("from ${}", local::ISSUER_URL_VAR),
        IssuerUrlSource::Saved => "saved with `esc oidc issuer URL`".to_string(),
        IssuerUrlSource::Default => "the default; set it with `esc oidc issuer URL`".to_string(),
    };
    let mut out = format!("{url}\n({origin})\n");
    if args.url.is_some() && source == IssuerUrlSource::Environment {
        out.push_str(&format!(
            "warning: ${} overrides the saved URL while it is set\n",
            local::ISSUER_URL_VAR
        ));
    }
    messages::out(&out)?;
    Ok(())
}

fn print_json(document: &impl serde::Serialize) -> anyhow::Result<()> {
    let text = serde_json::to_string_pretty(document).context("rendering JSON")?;
    messages::out(&format!("{text}\n"))?;
    Ok(())
}

/// GET a public OIDC document from the server (no credentials sent).
async fn fetch<T: serde::de::DeserializeOwned>(
    account: &RemoteAccount,
    path: &str,
) -> anyhow::Result<T> {
    let url = format!("{}{path}", account.url.trim_end_matches('/'));
    let what = || format!("fetching {url}");
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .redirect(reqwest::redirect::Policy::none())
        .tls_danger_accept_invalid_certs(account.insecure)
        .build()
        .context("building the HTTP client")?;
    let mut response = client.get(&url).send().await.with_context(what)?;
    if !response.status().is_success() {
        bail!("{}: status {}", what(), response.status().as_u16());
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.with_context(what)? {
        if body.len() + chunk.len() > MAX_DOCUMENT_BYTES {
            bail!("{}: larger than {MAX_DOCUMENT_BYTES} bytes", what());
        }
        body.extend_from_slice(&chunk);
    }
    serde_json::from_slice(&body).with_context(|| format!("{}: unexpected document", what()))
}
