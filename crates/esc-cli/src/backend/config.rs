//! Where esc keeps its state and which backend a command uses.
//!
//! `$ESC_HOME` (default `~/.esc`) holds the local store (`data/`) and, after
//! `esc login URL`, `credentials.json` (mode 0600) naming the server, its
//! token, `--insecure` and `--default-org`. The backend of every command
//! (spec/CLI.md § 4, without the pulumi CLI's files): `PULUMI_BACKEND_URL`,
//! else `PULUMI_API` (non-empty), else the saved account, else local mode.
//! The token for that URL: `PULUMI_ACCESS_TOKEN`, else `ESC_ACCESS_TOKEN`
//! (non-empty), else the saved account's when its URL is that one; none is
//! the reference's `no credentials` error. Nothing here writes a file for
//! the variables: they hold only for the process that has them.

use std::io::Write as _;
use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use esc_eval::PlainValue;

/// The credentials file name under `$ESC_HOME`.
pub(crate) const CREDENTIALS_FILE: &str = "credentials.json";

/// The variables naming the backend URL, in precedence order.
pub(crate) const BACKEND_URL_VARS: [&str; 2] = ["PULUMI_BACKEND_URL", "PULUMI_API"];

/// The variables holding an access token, in precedence order.
pub(crate) const ACCESS_TOKEN_VARS: [&str; 2] = ["PULUMI_ACCESS_TOKEN", "ESC_ACCESS_TOKEN"];

/// The reference's error for a server without a token (spec/CLI.md § 4).
pub(crate) const NO_CREDENTIALS: &str = "no credentials, please run `esc login` to log in";

/// A remote account.
#[derive(Clone)]
pub(crate) struct RemoteAccount {
    /// The server's base URL (no trailing `/`).
    pub(crate) url: String,
    /// The access token (never printed).
    pub(crate) token: String,
    /// `esc login --insecure`: TLS certificates are not verified.
    pub(crate) insecure: bool,
    /// `esc login --default-org`: the organization of references that name
    /// none (instead of asking the server).
    pub(crate) default_org: Option<String>,
}

impl std::fmt::Debug for RemoteAccount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RemoteAccount")
            .field("url", &self.url)
            .field("token", &"[secret]")
            .field("insecure", &self.insecure)
            .field("default_org", &self.default_org)
            .finish()
    }
}

/// Where a setting came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Source {
    /// The named environment variable.
    Variable(&'static str),
    /// The credentials file `esc login` wrote.
    Saved,
}

/// The server a command talks to, and where its URL and token came from.
#[derive(Debug)]
pub(crate) struct Remote {
    /// URL, token and the saved options for that URL.
    pub(crate) account: RemoteAccount,
    /// Where the URL came from.
    pub(crate) url_source: Source,
    /// Where the token came from.
    pub(crate) token_source: Source,
    /// The token came from a variable and no saved account of this URL had
    /// it: the command says so on stderr (`Logging in using access token
    /// from <VAR>`), as the reference does when it logs in with it.
    pub(crate) announce_token: bool,
}

/// esc's settings for this invocation.
#[derive(Debug)]
pub(crate) struct Config {
    /// `$ESC_HOME`.
    pub(crate) home: PathBuf,
    /// The account saved by `esc login URL`.
    pub(crate) saved: Option<RemoteAccount>,
    /// The backend: `Ok(None)` = local mode; an error is reported only by
    /// the commands that use a backend (`esc version`, `esc serve` and
    /// `esc logout` work whatever the variables say).
    remote: Result<Option<Remote>, String>,
}

/// A non-empty variable's value and name, the first of `names` set.
pub(crate) fn first_variable(names: &[&'static str]) -> Option<(String, &'static str)> {
    names.iter().find_map(|name| {
        std::env::var(name)
            .ok()
            .filter(|value| !value.is_empty())
            .map(|value| (value, *name))
    })
}

impl Config {
    /// Read `$ESC_HOME`, its credentials file and the backend variables.
    pub(crate) fn from_env() -> anyhow::Result<Config> {
        let home = match std::env::var_os("ESC_HOME") {
            Some(home) if !home.is_empty() => PathBuf::from(home),
            _ => match std::env::var_os("HOME") {
                Some(user_home) => PathBuf::from(user_home).join(".esc"),
                None => bail!("cannot find the esc home directory: set ESC_HOME or HOME"),
            },
        };
        let saved = read_credentials(&home)?;
        let remote = select_remote(
            saved.as_ref(),
            first_variable(&BACKEND_URL_VARS),
            first_variable(&ACCESS_TOKEN_VARS),
        );
        Ok(Config {
            home,
            saved,
            remote,
        })
    }

    /// The server of this invocation, `None` in local mode; an error when
    /// a variable names a URL esc refuses or a server without a token.
    pub(crate) fn remote(&self) -> anyhow::Result<Option<&Remote>> {
        match &self.remote {
            Ok(remote) => Ok(remote.as_ref()),
            Err(message) => Err(anyhow::anyhow!("{message}")),
        }
    }

    /// The local store's data directory.
    pub(crate) fn data_dir(&self) -> PathBuf {
        self.home.join("data")
    }
}

/// The backend for `saved` and the variables' `(value, name)` (module docs).
fn select_remote(
    saved: Option<&RemoteAccount>,
    url_variable: Option<(String, &'static str)>,
    token_variable: Option<(String, &'static str)>,
) -> Result<Option<Remote>, String> {
    let (url, url_source) = match (url_variable, saved) {
        (Some((raw, name)), _) => (
            checked_url(&raw).map_err(|error| format!("{name}: {error}"))?,
            Source::Variable(name),
        ),
        (None, Some(saved)) => (saved.url.trim_end_matches('/').to_string(), Source::Saved),
        (None, None) => return Ok(None),
    };
    let saved = saved.filter(|saved| saved.url.trim_end_matches('/') == url);
    let (token, token_source, announce_token) = match (token_variable, saved) {
        (Some((token, name)), saved) => {
            let announce = saved.is_none_or(|saved| saved.token != token);
            (token, Source::Variable(name), announce)
        }
        (None, Some(saved)) => (saved.token.clone(), Source::Saved, false),
        (None, None) => return Err(NO_CREDENTIALS.to_string()),
    };
    Ok(Some(Remote {
        account: RemoteAccount {
            url,
            token,
            insecure: saved.is_some_and(|saved| saved.insecure),
            default_org: saved.and_then(|saved| saved.default_org.clone()),
        },
        url_source,
        token_source,
        announce_token,
    }))
}

/// `url` as a server URL, or the reference's refusal (also for URLs from
/// the variables): Pulumi Cloud's console and bare domain and the pulumi
/// CLI's DIY state backends are refused in its words, anything but
/// `http://`/`https://` in ours; a trailing `/` is dropped.
pub(crate) fn checked_url(url: &str) -> anyhow::Result<String> {
    let bare = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .unwrap_or(url);
    // Checked first, and the URL not repeated: it would show the password.
    let authority = &bare[..bare.find(['/', '?', '#']).unwrap_or(bare.len())];
    if authority.contains('@') {
        bail!(
            "the server URL must not carry a user name or password (`user:password@host`): esc authenticates with an access token"
        );
    }
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
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        bail!("{url} is not a valid server URL: it must start with http:// or https://");
    }
    Ok(url.trim_end_matches('/').to_string())
}

fn read_credentials(home: &Path) -> anyhow::Result<Option<RemoteAccount>> {
    let path = home.join(CREDENTIALS_FILE);
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    };
    let value = PlainValue::from_json_document(&text)
        .with_context(|| format!("reading {}: malformed JSON", path.display()))?;
    let (Some(url), Some(token)) = (
        value.member("url").and_then(PlainValue::as_str),
        value.member("token").and_then(PlainValue::as_str),
    ) else {
        bail!("reading {}: expected \"url\" and \"token\"", path.display());
    };
    let insecure = match value.member("insecure") {
        None | Some(PlainValue::Null) => false,
        Some(PlainValue::Bool(insecure)) => *insecure,
        Some(_) => bail!("reading {}: \"insecure\" must be a boolean", path.display()),
    };
    let default_org = match value.member("defaultOrg") {
        None | Some(PlainValue::Null) => None,
        Some(PlainValue::String(org)) if org.is_empty() => None,
        Some(PlainValue::String(org)) => Some(org.clone()),
        Some(_) => bail!(
            "reading {}: \"defaultOrg\" must be a string",
            path.display()
        ),
    };
    Ok(Some(RemoteAccount {
        url: url.to_string(),
        token: token.to_string(),
        insecure,
        default_org,
    }))
}

/// Save `account` as the current one (file mode 0600, directory 0700).
pub(crate) fn save_credentials(home: &Path, account: &RemoteAccount) -> anyhow::Result<()> {
    std::fs::create_dir_all(home).with_context(|| format!("creating {}", home.display()))?;
    std::fs::set_permissions(home, std::fs::Permissions::from_mode(0o700))
        .with_context(|| format!("securing {}", home.display()))?;
    let mut text = String::from("{\n    \"url\": ");
    esc_eval::write_json_string(&account.url, &mut text);
    text.push_str(",\n    \"token\": ");
    esc_eval::write_json_string(&account.token, &mut text);
    if account.insecure {
        text.push_str(",\n    \"insecure\": true");
    }
    if let Some(org) = &account.default_org {
        text.push_str(",\n    \"defaultOrg\": ");
        esc_eval::write_json_string(org, &mut text);
    }
    text.push_str("\n}\n");
    let path = home.join(CREDENTIALS_FILE);
    let temp = home.join(format!("{CREDENTIALS_FILE}.tmp"));
    // A leftover temp file would keep its own mode (or be a symlink):
    // remove it and create a fresh 0600 one.
    match std::fs::remove_file(&temp) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e).with_context(|| format!("removing {}", temp.display())),
    }
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&temp)
        .with_context(|| format!("writing {}", temp.display()))?;
    file.write_all(text.as_bytes())
        .and_then(|()| file.sync_all())
        .with_context(|| format!("writing {}", temp.display()))?;
    std::fs::rename(&temp, &path).with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

/// Forget the remote account (back to local mode). `false` if there was none.
pub(crate) fn remove_credentials(home: &Path) -> anyhow::Result<bool> {
    let path = home.join(CREDENTIALS_FILE);
    match std::fs::remove_file(&path) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e).with_context(|| format!("removing {}", path.display())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn saved(url: &str, token: &str) -> RemoteAccount {
        RemoteAccount {
            url: url.to_string(),
            token: token.to_string(),
            insecure: true,
            default_org: Some("acme".to_string()),
        }
    }

    fn var(value: &str, name: &'static str) -> Option<(String, &'static str)> {
        Some((value.to_string(), name))
    }

    #[test]
    fn no_url_anywhere_is_local_mode_even_with_a_token_variable() {
        let remote = select_remote(None, None, var("t", "PULUMI_ACCESS_TOKEN")).unwrap();
        assert!(remote.is_none());
    }

    #[test]
    fn the_saved_account_is_used_as_saved() {
        let account = saved("https://esc.example/", "saved-token");
        let remote = select_remote(Some(&account), None, None).unwrap().unwrap();
        assert_eq!(remote.account.url, "https://esc.example");
        assert_eq!(remote.account.token, "saved-token");
        assert!(remote.account.insecure);
        assert_eq!(remote.account.default_org.as_deref(), Some("acme"));
        assert_eq!(
            (
                remote.url_source,
                remote.token_source,
                remote.announce_token
            ),
            (Source::Saved, Source::Saved, false)
        );
    }

    #[test]
    fn a_url_variable_overrides_the_saved_url_and_needs_its_own_token() {
        let account = saved("https://esc.example", "saved-token");
        let error = select_remote(
            Some(&account),
            var("https://other.example/", "PULUMI_BACKEND_URL"),
            None,
        )
        .unwrap_err();
        assert_eq!(error, NO_CREDENTIALS);
        let remote = select_remote(
            Some(&account),
            var("https://other.example/", "PULUMI_API"),
            var("env-token", "ESC_ACCESS_TOKEN"),
        )
        .unwrap()
        .unwrap();
        assert_eq!(remote.account.url, "https://other.example");
        assert_eq!(remote.account.token, "env-token");
        // the saved options belong to the saved URL only
        assert!(!remote.account.insecure);
        assert_eq!(remote.account.default_org, None);
        assert_eq!(remote.url_source, Source::Variable("PULUMI_API"));
        assert_eq!(remote.token_source, Source::Variable("ESC_ACCESS_TOKEN"));
        assert!(remote.announce_token);
    }

    #[test]
    fn a_url_variable_naming_the_saved_url_uses_its_token_and_options() {
        let account = saved("https://esc.example", "saved-token");
        let remote = select_remote(
            Some(&account),
            var("https://esc.example/", "PULUMI_BACKEND_URL"),
            None,
        )
        .unwrap()
        .unwrap();
        assert_eq!(remote.account.token, "saved-token");
        assert!(remote.account.insecure);
        assert_eq!(remote.token_source, Source::Saved);
    }

    #[test]
    fn a_token_variable_wins_and_is_announced_only_when_it_differs() {
        let account = saved("https://esc.example", "saved-token");
        let differs = select_remote(Some(&account), None, var("new", "PULUMI_ACCESS_TOKEN"))
            .unwrap()
            .unwrap();
        assert_eq!(differs.account.token, "new");
        assert!(differs.announce_token);
        let same = select_remote(
            Some(&account),
            None,
            var("saved-token", "PULUMI_ACCESS_TOKEN"),
        )
        .unwrap()
        .unwrap();
        assert!(!same.announce_token);
    }

    #[test]
    fn url_variables_get_the_login_checks_named_by_the_variable() {
        for (url, message) in [
            ("s3://bucket", "s3://bucket does not support Pulumi ESC."),
            (
                "ftp://x",
                "ftp://x is not a valid server URL: it must start with http:// or https://",
            ),
            (
                "https://app.pulumi.com/acme",
                "https://app.pulumi.com/acme is not a valid self-hosted backend, use `esc login` without arguments to log into the Pulumi Cloud backend",
            ),
        ] {
            let error = select_remote(
                None,
                var(url, "PULUMI_BACKEND_URL"),
                var("t", "PULUMI_ACCESS_TOKEN"),
            )
            .unwrap_err();
            assert_eq!(error, format!("PULUMI_BACKEND_URL: {message}"));
        }
    }

    #[test]
    fn debug_output_never_shows_the_token() {
        let account = saved("https://esc.example", "tok-123-secret");
        let remote = select_remote(Some(&account), None, None).unwrap();
        for text in [format!("{account:?}"), format!("{remote:?}")] {
            assert!(!text.contains("tok-123-secret"), "{text}");
            assert!(text.contains("[secret]"), "{text}");
        }
    }

    #[test]
    fn a_stale_temp_file_never_widens_the_credentials_mode() {
        // A `credentials.json.tmp` left behind (a crash, an older esc, a
        // home that was not 0700) keeps its mode through `truncate`: the
        // token must still land in a 0600 file, and through no symlink.
        let home = tempfile::tempdir().unwrap();
        let temp = home.path().join(format!("{CREDENTIALS_FILE}.tmp"));
        std::fs::write(&temp, "stale").unwrap();
        std::fs::set_permissions(&temp, std::fs::Permissions::from_mode(0o644)).unwrap();
        save_credentials(home.path(), &saved("https://esc.example", "tok")).unwrap();
        let path = home.path().join(CREDENTIALS_FILE);
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);

        let elsewhere = tempfile::tempdir().unwrap();
        let target = elsewhere.path().join("target");
        std::fs::write(&target, "untouched").unwrap();
        std::os::unix::fs::symlink(&target, &temp).unwrap();
        save_credentials(home.path(), &saved("https://esc.example", "tok2")).unwrap();
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "untouched");
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert!(std::fs::read_to_string(&path).unwrap().contains("\"tok2\""));
    }

    #[test]
    fn saved_options_round_trip_through_the_file() {
        let home = tempfile::tempdir().unwrap();
        let account = saved("https://esc.example", "t\"ok");
        save_credentials(home.path(), &account).unwrap();
        let read = read_credentials(home.path()).unwrap().unwrap();
        assert_eq!(
            (read.url, read.token, read.insecure, read.default_org),
            (account.url, account.token, true, Some("acme".to_string()))
        );
        let plain = RemoteAccount {
            insecure: false,
            default_org: None,
            ..saved("http://x", "t")
        };
        save_credentials(home.path(), &plain).unwrap();
        let text = std::fs::read_to_string(home.path().join(CREDENTIALS_FILE)).unwrap();
        assert_eq!(
            text,
            "{\n    \"url\": \"http://x\",\n    \"token\": \"t\"\n}\n"
        );
    }
}
