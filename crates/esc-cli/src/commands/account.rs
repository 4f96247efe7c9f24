//! `esc login`, `esc logout`, `esc whoami`: choose between the local store
//! and a server.

use std::process::ExitCode;

use anyhow::{Context as _, anyhow, bail};

use super::Ctx;
use crate::backend::config::{
    ACCESS_TOKEN_VARS, BACKEND_URL_VARS, Config, RemoteAccount, Source, checked_url,
    first_variable, remove_credentials, save_credentials,
};
use crate::backend::{Backend as _, remote::RemoteBackend};
use crate::cli::{LoginArgs, LogoutArgs};
use crate::messages;

/// The console URL shown after login (spec/CLI.md § 4), rooted at the
/// user's page (`https://app.example.com/alice`); empty when the console
/// cannot be told from the API URL.
fn console_url(url: &str, user: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return String::new();
    };
    let host = rest.split('/').next().unwrap_or_default();
    let console_host = match std::env::var("PULUMI_CONSOLE_DOMAIN") {
        Ok(domain) if !domain.is_empty() => domain,
        _ => match host.strip_prefix("api.") {
            Some(tail) => format!("app.{tail}"),
            None if host == "localhost:8080" => String::from("localhost:3000"),
            None => return String::new(),
        },
    };
    if user.is_empty() {
        format!("{scheme}://{console_host}")
    } else {
        format!("{scheme}://{console_host}/{user}")
    }
}

/// How a server is named after login: `pulumi.com` for Pulumi Cloud's API,
/// else its URL.
fn backend_name(url: &str) -> &str {
    if url == "https://api.pulumi.com" {
        "pulumi.com"
    } else {
        url
    }
}

/// `login [<url>] [--token T] [--insecure] [--default-org O] | --local`.
/// URL: the argument, else `PULUMI_BACKEND_URL`/`PULUMI_API`, else the
/// saved one; token: `--token`, else `PULUMI_ACCESS_TOKEN`, else
/// `ESC_ACCESS_TOKEN`, else the saved one for that URL, else a prompt.
/// `--insecure` and `--default-org` not given keep what was saved for that
/// URL.
pub(super) async fn login(config: &Config, args: LoginArgs) -> anyhow::Result<ExitCode> {
    if args.local {
        remove_credentials(&config.home)?;
        messages::out(&format!(
            "Using the local store in {}\n",
            config.data_dir().display()
        ))?;
        warn_of_url_variable();
        return Ok(ExitCode::SUCCESS);
    }
    let url = match (&args.url, &args.cloud_url) {
        (Some(_), Some(_)) => {
            bail!("only one of --cloud-url or argument URL may be specified, not both")
        }
        (Some(url), None) | (None, Some(url)) => Some(url.clone()),
        (None, None) => None,
    };
    if args.shared && url.is_some() {
        bail!("a cloud URL may not be specified with --shared");
    }
    let oidc_flags = args.oidc_flags();
    if !oidc_flags.is_empty() {
        bail!(
            "{}: OIDC token exchange is a Pulumi Cloud feature that esc does not support; log in with an access token (--token or PULUMI_ACCESS_TOKEN)",
            oidc_flags.join(", ")
        );
    }
    let url = match url {
        Some(url) => checked_url(&url)?,
        None => match first_variable(&BACKEND_URL_VARS) {
            Some((url, name)) => checked_url(&url).map_err(|error| anyhow!("{name}: {error}"))?,
            None => match &config.saved {
                Some(saved) => checked_url(&saved.url)?,
                None => return local_login(config, &args).await,
            },
        },
    };
    let saved = config
        .saved
        .as_ref()
        .filter(|saved| saved.url.trim_end_matches('/') == url);
    let token = match args.token {
        Some(token) => token,
        None => match first_variable(&ACCESS_TOKEN_VARS) {
            Some((token, name)) => {
                // spec/CLI.md § 4: announced when it replaces a saved token
                if saved.is_none_or(|saved| saved.token != token) {
                    messages::err(&format!("Logging in using access token from {name}\n"));
                }
                token
            }
            None => match saved {
                Some(saved) => saved.token.clone(),
                None => prompt_token(&url)?,
            },
        },
    };
    let default_org = match args.default_org {
        // `--default-org ""` forgets the saved one
        Some(org) => Some(org).filter(|org| !org.is_empty()),
        None => saved.and_then(|saved| saved.default_org.clone()),
    };
    let account = RemoteAccount {
        insecure: args
            .insecure
            .unwrap_or_else(|| saved.is_some_and(|saved| saved.insecure)),
        url,
        token,
        default_org,
    };
    if account.insecure {
        messages::err(&format!(
            "warning: TLS certificate verification is off for {} (--insecure; `esc login --insecure=false` turns it back on)\n",
            account.url
        ));
    }
    let user = RemoteBackend::new(&account)?
        .user()
        .await
        .with_context(|| format!("logging in to {}", account.url))?;
    save_credentials(&config.home, &account)?;
    messages::out(&format!(
        "Logged in to {} as {user} ({})\n",
        backend_name(&account.url),
        console_url(&account.url, &user)
    ))?;
    Ok(ExitCode::SUCCESS)
}

/// `esc login` with no URL anywhere: local mode, nothing to save.
async fn local_login(config: &Config, args: &LoginArgs) -> anyhow::Result<ExitCode> {
    if args.default_org.is_some() || args.insecure == Some(true) {
        bail!(
            "--default-org and --insecure are saved with a server's account: run `esc login <url>` with them"
        );
    }
    let ctx = Ctx::new(config).await?;
    let user = ctx.backend.user().await?;
    messages::out(&format!(
        "Using the local store in {} as {user}; run `esc login <url>` to use a server\n",
        config.data_dir().display()
    ))?;
    Ok(ExitCode::SUCCESS)
}

fn prompt_token(url: &str) -> anyhow::Result<String> {
    messages::err(&format!("Enter your access token for {url}: "));
    let mut line = String::new();
    let n = std::io::stdin()
        .read_line(&mut line)
        .context("reading the access token")?;
    let token = line.trim().to_string();
    if n == 0 || token.is_empty() {
        bail!("no access token given: pass --token or set PULUMI_ACCESS_TOKEN");
    }
    Ok(token)
}

/// `logout [<url>] [--all]`: forget the server, back to the local store.
pub(super) fn logout(config: &Config, args: LogoutArgs) -> anyhow::Result<ExitCode> {
    let url = match (args.url, args.cloud_url) {
        (Some(_), Some(_)) => return Err(only_one_logout_target()),
        (Some(url), None) | (None, Some(url)) => Some(url),
        (None, None) => None,
    };
    if args.all {
        if url.is_some() {
            return Err(only_one_logout_target());
        }
        remove_credentials(&config.home)?;
        messages::out("Logged out of all clouds\n")?;
        warn_of_url_variable();
        return Ok(ExitCode::SUCCESS);
    }
    let current = config.saved.as_ref().map(|account| account.url.as_str());
    match (url.as_deref(), current) {
        (None, None) => messages::out("Already logged out.\n")?,
        (None, Some(current)) => {
            remove_credentials(&config.home)?;
            messages::out(&format!("Logged out of {current}\n"))?;
        }
        (Some(url), current) => {
            // esc keeps one account: forget it only when it is the one named
            if current == Some(url.trim_end_matches('/')) {
                remove_credentials(&config.home)?;
            }
            messages::out(&format!("Logged out of {url}\n"))?;
        }
    }
    warn_of_url_variable();
    Ok(ExitCode::SUCCESS)
}

/// After leaving the saved server: a URL variable still names one, which
/// the next commands use (stderr only: the goldens run without it).
fn warn_of_url_variable() {
    if let Some((url, name)) = first_variable(&BACKEND_URL_VARS) {
        messages::err(&format!(
            "warning: {name} is set: commands use {url} while it is\n"
        ));
    }
}

fn only_one_logout_target() -> anyhow::Error {
    anyhow::anyhow!("only one of --all, --cloud-url or argument URL may be specified, not both")
}

/// `whoami`: the user, where environments live and where the server's URL
/// and token came from (never the token).
pub(super) async fn whoami(ctx: &Ctx, config: &Config) -> anyhow::Result<ExitCode> {
    let user = ctx.backend.user().await?;
    let mut out = format!("User: {user}\n");
    match config.remote()? {
        Some(remote) => {
            let origin = |source: Source| match source {
                Source::Variable(name) => format!("from {name}"),
                Source::Saved => String::from("saved by `esc login`"),
            };
            let account = &remote.account;
            out.push_str(&format!(
                "Backend: {} ({})\nToken: {}\n",
                account.url,
                origin(remote.url_source),
                origin(remote.token_source)
            ));
            if let Some(org) = &account.default_org {
                out.push_str(&format!(
                    "Default organization: {org} (saved by `esc login --default-org`)\n"
                ));
            }
            if account.insecure {
                out.push_str("TLS verification: off (saved by `esc login --insecure`)\n");
            }
        }
        None => out.push_str(&format!(
            "Backend: local ({})\n",
            config.data_dir().display()
        )),
    }
    messages::out(&out)?;
    Ok(ExitCode::SUCCESS)
}

/// `serve`: the REST server until SIGINT/SIGTERM.
pub(super) async fn serve(
    config: &Config,
    args: crate::cli::ServeArgs,
) -> anyhow::Result<ExitCode> {
    let data_dir = args.data_dir.unwrap_or_else(|| config.home.join("server"));
    if let Some(command) = args.command {
        return super::admin::run(data_dir, args.database_url, command).await;
    }
    let serve_config = esc_server::ServeConfig {
        listen: args.listen,
        data_dir,
        database_url: args.database_url,
        public_url: args.public_url,
        admin_login: args.admin,
        allow_insecure_loopback_http: args.allow_insecure_loopback_http,
        schedule_interval: args.schedule_interval,
        schedules_per_tick: args.schedules_per_tick,
        key_maintenance_interval: args.key_maintenance_interval,
        ..esc_server::ServeConfig::default()
    };
    // The binary subscribes to the libraries' events (`ESC_LOG`, default info).
    let filter = tracing_subscriber::EnvFilter::try_from_env("ESC_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // Colour only for a person at a terminal: a log file or journald would
    // keep the escape sequences as text.
    let colour = std::io::IsTerminal::is_terminal(&std::io::stderr())
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(colour)
        .with_writer(std::io::stderr)
        .try_init();
    let mut sigterm = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .context("installing signal handler")?;
    let shutdown = async move {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = sigterm.recv() => {}
        }
    };
    esc_server::serve(serve_config, shutdown)
        .await
        .context("serving")?;
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn login_args_debug_hides_the_token() {
        let args = LoginArgs {
            url: Some("http://x".into()),
            cloud_url: None,
            token: Some("tok-123-secret".into()),
            default_org: None,
            insecure: None,
            shared: false,
            oidc_token: Some("oidc-456-secret".into()),
            oidc_org: None,
            oidc_team: None,
            oidc_user: None,
            oidc_expiration: None,
            local: false,
        };
        let text = format!("{args:?}");
        assert!(
            !text.contains("tok-123-secret")
                && !text.contains("oidc-456-secret")
                && text.contains("[secret]"),
            "{text}"
        );
    }

    #[test]
    fn console_urls() {
        // golden login-logout.yaml: the console link names the user's page
        assert_eq!(
            console_url("https://api.example.com", "alice"),
            "https://app.example.com/alice"
        );
        assert_eq!(
            console_url("http://localhost:8080", "alice"),
            "http://localhost:3000/alice"
        );
        assert_eq!(console_url("http://10.0.0.5:9000", "alice"), "");
        assert_eq!(backend_name("https://api.pulumi.com"), "pulumi.com");
        assert_eq!(
            backend_name("https://esc.example.com"),
            "https://esc.example.com"
        );
    }

    #[test]
    fn urls_that_are_no_esc_server_are_refused_with_the_references_words() {
        for url in [
            "https://app.pulumi.com/acme",
            "pulumi.com",
            "https://pulumi.com",
        ] {
            assert_eq!(
                checked_url(url).unwrap_err().to_string(),
                format!(
                    "{url} is not a valid self-hosted backend, use `esc login` without arguments to log into the Pulumi Cloud backend"
                )
            );
        }
        for url in ["file:///tmp/state", "s3://bucket", "azblob://c", "gs://b"] {
            assert_eq!(
                checked_url(url).unwrap_err().to_string(),
                format!("{url} does not support Pulumi ESC.")
            );
        }
        for url in [
            "https://alice:hunter2-pw@esc.example.com",
            "http://alice:hunter2-pw@127.0.0.1:8080/",
            "https://token-hunter2-pw@esc.example.com/api",
        ] {
            let message = checked_url(url).unwrap_err().to_string();
            assert!(
                message.contains("must not carry a user name or password")
                    && !message.contains("hunter2-pw"),
                "{message}"
            );
        }
        // an `@` past the authority is no user name
        assert!(checked_url("https://esc.example.com/a@b").is_ok());
        assert!(checked_url("https://api.pulumi.com").is_ok());
        assert!(checked_url("https://pulumi.company.example").is_ok());
        assert!(checked_url("https://app.pulumi.com.example/x").is_ok());
        assert!(checked_url("http://127.0.0.1:8080").is_ok());
    }
}
