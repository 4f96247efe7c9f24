//! `esc login`, `esc logout`, `esc whoami`: choose between the local store
//! and a server.

use std::process::ExitCode;

use anyhow::{Context as _, bail};

use super::Ctx;
use crate::backend::config::{Config, RemoteAccount, remove_credentials, save_credentials};
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

/// The reference's refusals of URLs that are no ESC server: Pulumi Cloud's
/// console and bare domain, and the pulumi CLI's DIY state backends.
fn check_backend_url(url: &str) -> anyhow::Result<()> {
    let bare = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .unwrap_or(url);
    // The host exactly: `pulumi.company.example` is someone's own server.
    let host_end = bare.find(['/', ':']).unwrap_or(bare.len());
    let (host, rest) = bare.split_at(host_end);
    if host == "pulumi.com" || (host == "app.pulumi.com" && rest.starts_with('/')) {
        bail!(
            "{url} is not a valid self-hosted backend, use `esc login` without arguments to log into the Pulumi Cloud backend"
        );
    }
    if ["file://", "s3://", "azblob://", "gs://"]
        .iter()
        .any(|scheme| url.starts_with(scheme))
    {
        bail!("{url} does not support Pulumi ESC.");
    }
    Ok(())
}

/// `login [<url>] [--token T] | --local`.
pub(super) async fn login(config: &Config, args: LoginArgs) -> anyhow::Result<ExitCode> {
    if args.local {
        remove_credentials(&config.home)?;
        messages::out(&format!(
            "Using the local store in {}\n",
            config.data_dir().display()
        ))?;
        return Ok(ExitCode::SUCCESS);
    }
    let url = match (args.url, args.cloud_url) {
        (Some(_), Some(_)) => {
            bail!("only one of --cloud-url or argument URL may be specified, not both")
        }
        (Some(url), None) | (None, Some(url)) => Some(url),
        (None, None) => None,
    };
    let Some(url) = url.or_else(|| config.remote.as_ref().map(|r| r.url.clone())) else {
        let ctx = Ctx::new(config).await?;
        let user = ctx.backend.user().await?;
        messages::out(&format!(
            "Using the local store in {} as {user}; run `esc login <url>` to use a server\n",
            config.data_dir().display()
        ))?;
        return Ok(ExitCode::SUCCESS);
    };
    check_backend_url(&url)?;
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        bail!("{url} is not a valid server URL: it must start with http:// or https://");
    }
    let token = match args.token {
        Some(t) => t,
        None => match std::env::var("ESC_ACCESS_TOKEN")
            .ok()
            .filter(|t| !t.is_empty())
        {
            Some(t) => t,
            None => match config.remote.as_ref().filter(|r| r.url == url) {
                Some(existing) => existing.token.clone(),
                None => prompt_token(&url)?,
            },
        },
    };
    let account = RemoteAccount {
        url: url.trim_end_matches('/').to_string(),
        token,
    };
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

fn prompt_token(url: &str) -> anyhow::Result<String> {
    messages::err(&format!("Enter your access token for {url}: "));
    let mut line = String::new();
    let n = std::io::stdin()
        .read_line(&mut line)
        .context("reading the access token")?;
    let token = line.trim().to_string();
    if n == 0 || token.is_empty() {
        bail!("no access token given: pass --token or set ESC_ACCESS_TOKEN");
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
        return Ok(ExitCode::SUCCESS);
    }
    let current = config.remote.as_ref().map(|account| account.url.as_str());
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
    Ok(ExitCode::SUCCESS)
}

fn only_one_logout_target() -> anyhow::Error {
    anyhow::anyhow!("only one of --all, --cloud-url or argument URL may be specified, not both")
}

/// `whoami`: the user and where environments live.
pub(super) async fn whoami(ctx: &Ctx, config: &Config) -> anyhow::Result<ExitCode> {
    let user = ctx.backend.user().await?;
    let backend = match &config.remote {
        Some(account) => account.url.clone(),
        None => format!("local ({})", config.data_dir().display()),
    };
    messages::out(&format!("User: {user}\nBackend: {backend}\n"))?;
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
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
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
            local: false,
        };
        let text = format!("{args:?}");
        assert!(
            !text.contains("tok-123-secret") && text.contains("[secret]"),
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
                check_backend_url(url).unwrap_err().to_string(),
                format!(
                    "{url} is not a valid self-hosted backend, use `esc login` without arguments to log into the Pulumi Cloud backend"
                )
            );
        }
        for url in ["file:///tmp/state", "s3://bucket", "azblob://c", "gs://b"] {
            assert_eq!(
                check_backend_url(url).unwrap_err().to_string(),
                format!("{url} does not support Pulumi ESC.")
            );
        }
        assert!(check_backend_url("https://api.pulumi.com").is_ok());
        assert!(check_backend_url("https://pulumi.company.example").is_ok());
        assert!(check_backend_url("https://app.pulumi.com.example/x").is_ok());
        assert!(check_backend_url("http://127.0.0.1:8080").is_ok());
    }
}
