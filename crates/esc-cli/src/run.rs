//! `esc run` (spec/CLI.md § 9): run a program with an opened environment's
//! variables and files, masking secrets in its output.
//!
//! Temp files live until the child is gone: they are removed when it exits,
//! when it is killed, and when esc itself gets SIGINT/SIGTERM/SIGHUP (the
//! signal is forwarded to the child first).

use std::ffi::OsString;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use anyhow::{Context as _, bail};
use esc_eval::go_quote;
use tokio::io::{AsyncBufReadExt as _, AsyncRead, AsyncWriteExt as _, BufReader};
use tokio::process::Command;
use tokio::signal::unix::{SignalKind, signal};

use crate::format::dotenv::project;
use crate::format::string::string_form;
use crate::value::{PropertyPath, Value};

/// Everything needed to run the child.
pub(crate) struct RunPlan {
    /// The program, already found on PATH.
    pub(crate) program: PathBuf,
    /// Its arguments, already interpolated.
    pub(crate) args: Vec<String>,
    /// Variables to add to esc's own environment.
    pub(crate) variables: Vec<(String, String)>,
    /// `(variable, content)`: each becomes a temp file whose path is the value.
    pub(crate) files: Vec<(String, String)>,
    /// Values to mask in the output.
    pub(crate) secrets: Vec<String>,
    /// Mask secrets (not `-i`).
    pub(crate) mask: bool,
    /// Directory for the temp files.
    pub(crate) temp_dir: PathBuf,
}

/// Build the plan: project variables and files from `root`, interpolate
/// `args` against it and collect the secrets to mask.
pub(crate) fn plan(
    root: &Value,
    program: PathBuf,
    args: &[String],
    mask: bool,
    temp_dir: PathBuf,
) -> RunPlan {
    let projection = project(root, false);
    let mut secrets = Vec::new();
    collect_secret_text(root, &mut secrets);
    let args = args
        .iter()
        .map(|a| interpolate(a, root, &mut secrets))
        .collect();
    RunPlan {
        program,
        args,
        variables: projection.variables,
        files: projection.files,
        secrets,
        mask,
        temp_dir,
    }
}

/// Secrets as they appear in variables and files: the string form of every
/// secret value (scalars inside secret containers included).
fn collect_secret_text(root: &Value, out: &mut Vec<String>) {
    let mut raw = Vec::new();
    root.collect_secrets(false, &mut raw);
    out.extend(raw);
    // A file or variable whose whole value is secret is masked as a whole.
    for section in ["environmentVariables", "files"] {
        if let Some(v) = root.at(&PropertyPath(vec![crate::value::Accessor::Key(
            section.to_string(),
        )])) && let crate::value::Data::Object(entries) = &v.data
        {
            for entry in entries.values().filter(|e| e.secret) {
                out.push(string_form(entry, false));
            }
        }
    }
}

/// Replace each `${path}` in `arg` by the string form of the value at
/// `path` (missing: empty); `$${` is a literal `${`; an argument that does
/// not parse is passed unchanged.
pub(crate) fn interpolate(arg: &str, root: &Value, secrets: &mut Vec<String>) -> String {
    let mut out = String::new();
    let mut found_secrets = Vec::new();
    let mut rest = arg;
    while let Some(pos) = rest.find('$') {
        out.push_str(&rest[..pos]);
        let after = &rest[pos..];
        if let Some(tail) = after.strip_prefix("$${") {
            out.push_str("${");
            rest = tail;
        } else if let Some(tail) = after.strip_prefix("${") {
            let Some(close) = tail.find('}') else {
                return arg.to_string();
            };
            let Ok(path) = PropertyPath::parse(&tail[..close]) else {
                return arg.to_string();
            };
            if let Some(v) = root.at(&path) {
                let text = string_form(v, false);
                let mut inner = Vec::new();
                v.collect_secrets(false, &mut inner);
                if v.secret {
                    found_secrets.push(text.clone());
                } else {
                    found_secrets.extend(inner);
                }
                out.push_str(&text);
            }
            rest = &tail[close + 1..];
        } else {
            out.push('$');
            rest = &after[1..];
        }
    }
    out.push_str(rest);
    secrets.extend(found_secrets);
    out
}

/// Find `name` on PATH (a name with a slash is used as is).
pub(crate) fn resolve_program(name: &str) -> anyhow::Result<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let is_executable = |p: &Path| {
        std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    };
    if name.contains('/') {
        let path = PathBuf::from(name);
        if is_executable(&path) {
            return Ok(path);
        }
        bail!("exec: {}: not an executable file", esc_eval::go_quote(name));
    }
    let path_var = std::env::var_os("PATH").unwrap_or_default();
    for dir in std::env::split_paths(&path_var) {
        let candidate = dir.join(name);
        if is_executable(&candidate) {
            return Ok(candidate);
        }
    }
    bail!(
        "exec: {}: executable file not found in $PATH",
        esc_eval::go_quote(name)
    )
}

/// How the child ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Ending {
    /// It exited with this code.
    Exited(i32),
    /// It was killed by this signal.
    Signaled(i32),
}

impl Ending {
    /// esc's own exit code for this ending: 0 on success, else 1 whatever the
    /// child's status (spec/CLI.md § 9.7: the child's code is not propagated).
    pub(crate) fn exit_code(self) -> u8 {
        match self {
            Ending::Exited(0) => 0,
            Ending::Exited(_) | Ending::Signaled(_) => 1,
        }
    }

    /// The error a failed child becomes, worded as Go's `exec.ExitError`
    /// (`exit status 3`, `signal: terminated`); `None` on success.
    pub(crate) fn error_text(self) -> Option<String> {
        match self {
            Ending::Exited(0) => None,
            Ending::Exited(code) => Some(format!("exit status {code}")),
            Ending::Signaled(sig) => Some(format!("signal: {}", go_signal_name(sig))),
        }
    }
}

/// A signal's name as Go's `syscall.Signal.String()` prints it on Linux;
/// `signal <n>` for numbers outside its table (real-time signals).
pub(crate) fn go_signal_name(sig: i32) -> String {
    const NAMES: [&str; 31] = [
        "hangup",
        "interrupt",
        "quit",
        "illegal instruction",
        "trace/breakpoint trap",
        "aborted",
        "bus error",
        "floating point exception",
        "killed",
        "user defined signal 1",
        "segmentation fault",
        "user defined signal 2",
        "broken pipe",
        "alarm clock",
        "terminated",
        "stack fault",
        "child exited",
        "continued",
        "stopped (signal)",
        "stopped",
        "stopped (tty input)",
        "stopped (tty output)",
        "urgent I/O condition",
        "CPU time limit exceeded",
        "file size limit exceeded",
        "virtual timer expired",
        "profiling timer expired",
        "window changed",
        "I/O possible",
        "power failure",
        "bad system call",
    ];
    usize::try_from(sig)
        .ok()
        .and_then(|n| n.checked_sub(1))
        .and_then(|idx| NAMES.get(idx))
        .map_or_else(|| format!("signal {sig}"), |name| (*name).to_owned())
}

/// Run the plan to the end of the child, copying its output to esc's own
/// stdout and stderr (masked unless the plan says otherwise).
pub(crate) async fn execute(plan: RunPlan) -> anyhow::Result<Ending> {
    let output = if plan.mask {
        Output::Pipe {
            stdout: Box::new(tokio::io::stdout()),
            stderr: Box::new(tokio::io::stderr()),
            masker: Masker::new(&plan.secrets),
        }
    } else {
        Output::Inherit
    };
    execute_with(plan, output).await
}

/// Where the child's output goes.
pub(crate) enum Output {
    /// Straight to esc's stdout/stderr (`-i`: no masking, terminals work).
    Inherit,
    /// Through pipes, line by line, masked.
    Pipe {
        stdout: Box<dyn tokio::io::AsyncWrite + Unpin + Send>,
        stderr: Box<dyn tokio::io::AsyncWrite + Unpin + Send>,
        masker: Masker,
    },
}

/// [`execute`] with an explicit output.
pub(crate) async fn execute_with(plan: RunPlan, output: Output) -> anyhow::Result<Ending> {
    // Files are deleted when `temp_files` drops: after the child is gone.
    let mut temp_files = Vec::with_capacity(plan.files.len());
    let mut command = Command::new(&plan.program);
    command.args(&plan.args);
    for (name, value) in &plan.variables {
        command.env(name, value);
    }
    for (index, (name, content)) in plan.files.iter().enumerate() {
        // tempfile creates the file with mode 0600; `esc-<n>-<random>`
        // numbers the files in creation order (as the reference's test
        // harness names them) without making the names predictable.
        let mut file = tempfile::Builder::new()
            .prefix(&format!("esc-{index}-"))
            .tempfile_in(&plan.temp_dir)
            .context("creating temporary file")?;
        file.write_all(content.as_bytes())
            .and_then(|()| file.flush())
            .context("writing temporary file")?;
        command.env(name, file.path());
        temp_files.push(file);
    }
    command.stdin(Stdio::inherit());
    let (sinks, masker) = match output {
        Output::Inherit => {
            command.stdout(Stdio::inherit()).stderr(Stdio::inherit());
            (None, Masker::new(&[]))
        }
        Output::Pipe {
            stdout,
            stderr,
            masker,
        } => {
            command.stdout(Stdio::piped()).stderr(Stdio::piped());
            (Some((stdout, stderr)), masker)
        }
    };
    command.kill_on_drop(true);
    let mut child = command
        .spawn()
        .with_context(|| format!("running {}", plan.program.display()))?;
    let pid = child.id();
    let child_out = child.stdout.take();
    let child_err = child.stderr.take();

    let copying = async {
        if let (Some((stdout, stderr)), Some(out), Some(err)) = (sinks, child_out, child_err) {
            // A failed copy (closed pipe) must not keep the files around.
            let _ = tokio::join!(
                copy_masked(out, stdout, masker.clone()),
                copy_masked(err, stderr, masker.clone())
            );
        }
    };
    let mut sigint = signal(SignalKind::interrupt()).context("installing signal handler")?;
    let mut sigterm = signal(SignalKind::terminate()).context("installing signal handler")?;
    let mut sighup = signal(SignalKind::hangup()).context("installing signal handler")?;
    let waiting = async {
        loop {
            let forward = tokio::select! {
                status = child.wait() => return status,
                // The terminal already sent SIGINT to the whole process group;
                // forwarding covers `kill -INT <esc>` too (a second one is harmless).
                _ = sigint.recv() => nix::sys::signal::Signal::SIGINT,
                _ = sigterm.recv() => nix::sys::signal::Signal::SIGTERM,
                _ = sighup.recv() => nix::sys::signal::Signal::SIGHUP,
            };
            if let Some(pid) = pid.and_then(|p| i32::try_from(p).ok()) {
                let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), forward);
            }
        }
    };
    let (status, ()) = tokio::join!(waiting, copying);
    drop(temp_files);
    let status = status.context("waiting for the command")?;
    use std::os::unix::process::ExitStatusExt;
    Ok(match (status.code(), status.signal()) {
        (Some(code), _) => Ending::Exited(code),
        (None, Some(sig)) => Ending::Signaled(sig),
        (None, None) => Ending::Exited(1),
    })
}

/// Replaces secrets (of at least 3 bytes, longest first) by `[secret]`.
#[derive(Clone)]
pub(crate) struct Masker {
    secrets: std::sync::Arc<Vec<Vec<u8>>>,
}

impl Masker {
    /// A masker for `secrets`.
    pub(crate) fn new(secrets: &[String]) -> Self {
        let mut list: Vec<Vec<u8>> = secrets
            .iter()
            .flat_map(|s| printed_forms(s))
            .filter(|s| s.len() >= 3)
            .map(String::into_bytes)
            .collect();
        list.sort_by_key(|s| std::cmp::Reverse(s.len()));
        list.dedup();
        Masker {
            secrets: std::sync::Arc::new(list),
        }
    }

    /// `line` with every secret replaced.
    pub(crate) fn mask(&self, line: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(line.len());
        let mut i = 0;
        'scan: while i < line.len() {
            for secret in self.secrets.iter() {
                if line[i..].starts_with(secret) {
                    out.extend_from_slice(b"[secret]");
                    i += secret.len();
                    continue 'scan;
                }
            }
            out.push(line[i]);
            i += 1;
        }
        out
    }
}

/// How a secret can reach the child's output besides verbatim: its lines
/// (output is masked line by line, so a multi-line secret never matches
/// whole), and its escaped forms inside the string form of a container
/// (§ 6.4 Go-quotes elements, recursively: `${obj}` of `{k: a"b}` passes
/// `"k"="a\"b"`) or inside JSON the child prints.
fn printed_forms(secret: &str) -> Vec<String> {
    let mut forms = vec![secret.to_string()];
    if secret.contains('\n') {
        forms.extend(
            secret
                .split('\n')
                .map(|line| line.strip_suffix('\r').unwrap_or(line).to_string()),
        );
    }
    // containers nest at most a few levels in practice; each level quotes again
    let mut quoted = secret.to_string();
    for _ in 0..4 {
        let next = go_quote(&quoted);
        let inner = next[1..next.len() - 1].to_string();
        if inner == quoted {
            break;
        }
        forms.push(inner.clone());
        quoted = inner;
    }
    if let Ok(json) = serde_json::to_string(secret) {
        forms.push(json[1..json.len() - 1].to_string());
    }
    forms
}

/// Copy `input` to `output` line by line, masking each line (a trailing
/// partial line is masked at the end of the stream).
async fn copy_masked(
    input: impl AsyncRead + Unpin,
    mut output: impl tokio::io::AsyncWrite + Unpin,
    masker: Masker,
) -> std::io::Result<()> {
    let mut reader = BufReader::new(input);
    let mut line = Vec::new();
    loop {
        line.clear();
        if reader.read_until(b'\n', &mut line).await? == 0 {
            return output.flush().await;
        }
        output.write_all(&masker.mask(&line)).await?;
        output.flush().await?;
    }
}

/// The program name and arguments from the positionals after the reference.
pub(crate) fn split_command(rest: &[String]) -> anyhow::Result<(&str, &[String])> {
    match rest.split_first() {
        Some((program, args)) => Ok((program.as_str(), args)),
        None => bail!("no command specified"),
    }
}

/// Whether `--` came before any positional of `run` in the raw arguments
/// (`esc run -- cmd`: no environment given).
pub(crate) fn separator_first(raw: &[OsString]) -> bool {
    let Some(run_idx) = raw.iter().position(|a| a == "run") else {
        return false;
    };
    let mut i = run_idx + 1;
    while let Some(arg) = raw.get(i) {
        let text = arg.to_string_lossy();
        if text == "--" {
            return true;
        }
        if !text.starts_with('-') {
            return false;
        }
        // Flags that take a separate value.
        if matches!(text.as_ref(), "-l" | "--lifetime" | "--env" | "--draft") {
            i += 1;
        }
        i += 1;
    }
    false
}

#[cfg(test)]
mod tests;
