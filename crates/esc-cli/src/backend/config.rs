//! Where esc keeps its state: `$ESC_HOME` (default `~/.esc`) holds the
//! local store (`data/`) and, after `esc login URL`, `credentials.json`
//! (mode 0600) naming the server and token. No credentials file = local mode.

use std::io::Write as _;
use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use esc_eval::PlainValue;

/// The credentials file name under `$ESC_HOME`.
pub(crate) const CREDENTIALS_FILE: &str = "credentials.json";

/// A remote account.
pub(crate) struct RemoteAccount {
    /// The server's base URL.
    pub(crate) url: String,
    /// The access token (never printed).
    pub(crate) token: String,
}

impl std::fmt::Debug for RemoteAccount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RemoteAccount")
            .field("url", &self.url)
            .field("token", &"[secret]")
            .finish()
    }
}

/// esc's settings for this invocation.
#[derive(Debug)]
pub(crate) struct Config {
    /// `$ESC_HOME`.
    pub(crate) home: PathBuf,
    /// `Some` after `esc login URL`.
    pub(crate) remote: Option<RemoteAccount>,
}

impl Config {
    /// Read `$ESC_HOME` and its credentials file.
    pub(crate) fn from_env() -> anyhow::Result<Config> {
        let home = match std::env::var_os("ESC_HOME") {
            Some(home) if !home.is_empty() => PathBuf::from(home),
            _ => match std::env::var_os("HOME") {
                Some(user_home) => PathBuf::from(user_home).join(".esc"),
                None => bail!("cannot find the esc home directory: set ESC_HOME or HOME"),
            },
        };
        let remote = read_credentials(&home)?;
        Ok(Config { home, remote })
    }

    /// The local store's data directory.
    pub(crate) fn data_dir(&self) -> PathBuf {
        self.home.join("data")
    }
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
    match (
        value.member("url").and_then(PlainValue::as_str),
        value.member("token").and_then(PlainValue::as_str),
    ) {
        (Some(url), Some(token)) => Ok(Some(RemoteAccount {
            url: url.to_string(),
            token: token.to_string(),
        })),
        _ => bail!("reading {}: expected \"url\" and \"token\"", path.display()),
    }
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
    text.push_str("\n}\n");
    let path = home.join(CREDENTIALS_FILE);
    let temp = home.join(format!("{CREDENTIALS_FILE}.tmp"));
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
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
