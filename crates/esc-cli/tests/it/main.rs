//! Integration tests of the real `esc` binary in local mode; every test
//! gets its own `$ESC_HOME` (a fresh SQLite store).

#![allow(clippy::unwrap_used)]

mod admin;
mod backend_env;
mod commands;
mod conformance;
mod connect;
mod direnv;
mod drafts;
mod referrers;
mod remote;
mod run;
mod schedules;
mod serve;
mod terminal;
mod webhooks;

use std::path::Path;

use assert_cmd::Command;

/// A fresh local esc installation.
pub(crate) struct Esc {
    home: tempfile::TempDir,
}

impl Esc {
    pub(crate) fn new() -> Esc {
        Esc {
            home: tempfile::tempdir().unwrap(),
        }
    }

    pub(crate) fn home(&self) -> &Path {
        self.home.path()
    }

    /// `esc` with this home and a clean environment.
    pub(crate) fn cmd(&self) -> Command {
        Command::from_std(self.std_cmd())
    }

    /// [`Esc::cmd`] as a plain `std::process::Command` (to spawn and signal).
    pub(crate) fn std_cmd(&self) -> std::process::Command {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_esc"));
        cmd.env("ESC_HOME", self.home.path())
            .env("ESC_USER", "test-user")
            .env_remove("ESC_MASTER_KEY")
            .env_remove("ESC_ACCESS_TOKEN")
            .env_remove("PULUMI_ACCESS_TOKEN")
            .env_remove("PULUMI_BACKEND_URL")
            .env_remove("PULUMI_API")
            .env_remove("VISUAL")
            .env_remove("EDITOR")
            .env_remove("PULUMI_SKIP_CONFIRMATIONS");
        cmd
    }

    /// Run `args`, require success and return stdout.
    pub(crate) fn ok(&self, args: &[&str]) -> String {
        let out = self.cmd().args(args).output().unwrap();
        assert!(
            out.status.success(),
            "esc {args:?} failed: {}\n{}",
            String::from_utf8_lossy(&out.stderr),
            String::from_utf8_lossy(&out.stdout)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// Run `args`, require failure and return stderr.
    pub(crate) fn fails(&self, args: &[&str]) -> String {
        let out = self.cmd().args(args).output().unwrap();
        assert!(
            !out.status.success(),
            "esc {args:?} succeeded: {}",
            String::from_utf8_lossy(&out.stdout)
        );
        String::from_utf8(out.stderr).unwrap()
    }

    /// Create `name` with `yaml` as its definition.
    pub(crate) fn init(&self, name: &str, yaml: &str) {
        let out = self
            .cmd()
            .args(["env", "init", name, "-f", "-"])
            .write_stdin(yaml)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "init {name} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
