//! `esc-cli-conformance`: replays the golden CLI transcripts of
//! `shared/conformance/esc-cli` against the real `esc` binary (found next to
//! this one) on a fresh local store per transcript.
//!
//! Run with `cargo run -p esc-cli --bin esc-cli-conformance -- [DIR]`.
//! For each transcript: seed the `environments:` (an empty revision 1, then
//! one revision per definition, then the tags), put the fake `commands` on
//! PATH, run the `run:` script with bash (`set -e`, every `esc` call echoed
//! as `> esc ...` on both streams), compare stdout and stderr. Temp file
//! paths are renamed `temp/esc-temp-N` in order of appearance. Transcripts
//! listed in `conformance-skip.txt` (one `name: reason` a line) are skipped.

// Unit tests of the shared emitter may unwrap: a panic is a test failure.
#![cfg_attr(test, allow(clippy::unwrap_used))]

// The emitter is shared with the `esc` binary; the runner uses part of it.
#[allow(dead_code)]
#[path = "../format/yaml.rs"]
mod yaml;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};

use anyhow::{Context as _, bail};
use esc_syntax::{Node, NodeKind};

use crate::yaml::{Tree, emit};

fn main() -> ExitCode {
    match run() {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(error) => {
            eprintln!("Error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> anyhow::Result<bool> {
    let dir = match std::env::args_os().nth(1) {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../../shared/conformance/esc-cli"
        )),
    };
    let esc = std::env::current_exe()
        .context("finding this program")?
        .with_file_name("esc");
    if !esc.exists() {
        bail!(
            "{} not found: build it with `cargo build -p esc-cli`",
            esc.display()
        );
    }
    let skips = read_skips()?;
    let mut names: Vec<PathBuf> = std::fs::read_dir(&dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    names.sort();
    let (mut passed, mut failed, mut skipped) = (0, 0, 0);
    let verbose = std::env::var_os("ESC_CONFORMANCE_VERBOSE").is_some();
    for path in &names {
        let name = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        if let Some(reason) = skips.get(&name) {
            println!("SKIP {name}: {reason}");
            skipped += 1;
            continue;
        }
        match replay(&esc, path) {
            Ok(None) => {
                println!("PASS {name}");
                passed += 1;
            }
            Ok(Some(diff)) => {
                println!("FAIL {name}");
                if verbose {
                    println!("{diff}");
                }
                failed += 1;
            }
            Err(error) => {
                println!("FAIL {name}: {error:#}");
                failed += 1;
            }
        }
    }
    println!("{passed} passed, {failed} failed, {skipped} skipped");
    Ok(failed == 0)
}

fn read_skips() -> anyhow::Result<BTreeMap<String, String>> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/conformance-skip.txt");
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {path}"))?;
    Ok(text
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .filter_map(|l| l.split_once(':'))
        .map(|(n, r)| (n.trim().to_string(), r.trim().to_string()))
        .collect())
}

/// A transcript split into its parts.
struct Transcript {
    script: String,
    environ: Vec<(String, String)>,
    commands: Vec<(String, String)>,
    files: Vec<(String, String)>,
    environments: Vec<(String, Node)>,
    expect_error: bool,
    stdout: String,
    stderr: String,
}

fn parse(text: &str) -> anyhow::Result<Transcript> {
    let mut parts = text.splitn(3, "\n---\n");
    let header = parts.next().unwrap_or_default();
    let stdout = parts.next().context("missing stdout section")?;
    let stderr = parts.next().context("missing stderr section")?;
    let root = esc_syntax::parse_document("transcript", header)
        .map_err(|d| anyhow::anyhow!("{}", d.summary))?
        .context("empty header")?;
    let member = |node: &Node, key: &str| -> Option<Node> {
        match &node.kind {
            NodeKind::Mapping(entries) => entries
                .iter()
                .find(|(k, _)| k.as_str() == Some(key))
                .map(|(_, v)| v.clone()),
            _ => None,
        }
    };
    let string_map = |node: Option<Node>| -> Vec<(String, String)> {
        match node.map(|n| n.kind) {
            Some(NodeKind::Mapping(entries)) => entries
                .iter()
                .map(|(k, v)| (k.as_str().unwrap_or_default().to_string(), scalar_text(v)))
                .collect(),
            _ => Vec::new(),
        }
    };
    let process = member(&root, "process");
    let environments = match member(&root, "environments").map(|n| n.kind) {
        Some(NodeKind::Mapping(entries)) => entries
            .into_iter()
            .map(|(k, v)| (k.as_str().unwrap_or_default().to_string(), v))
            .collect(),
        _ => Vec::new(),
    };
    Ok(Transcript {
        script: member(&root, "run")
            .map(|n| scalar_text(&n))
            .unwrap_or_default(),
        environ: string_map(process.as_ref().and_then(|p| member(p, "environ"))),
        commands: string_map(process.as_ref().and_then(|p| member(p, "commands"))),
        files: string_map(process.as_ref().and_then(|p| member(p, "fs"))),
        environments,
        expect_error: member(&root, "error").is_some(),
        stdout: stdout.to_string(),
        stderr: stderr.to_string(),
    })
}

fn scalar_text(node: &Node) -> String {
    match &node.kind {
        NodeKind::String { value, .. } => value.clone(),
        NodeKind::Number(n) => n.clone(),
        NodeKind::Bool(b) => b.to_string(),
        _ => String::new(),
    }
}

fn tree_of(node: &Node) -> Tree {
    match &node.kind {
        NodeKind::Null => Tree::Null,
        NodeKind::Bool(b) => Tree::Bool(*b),
        NodeKind::Number(n) => Tree::Number(n.clone()),
        NodeKind::String { value, .. } => Tree::String(value.clone()),
        NodeKind::Sequence(items) => Tree::Seq(items.iter().map(tree_of).collect()),
        NodeKind::Mapping(entries) => Tree::Map(
            entries
                .iter()
                .map(|(k, v)| (k.as_str().unwrap_or_default().to_string(), tree_of(v)))
                .collect(),
        ),
    }
}

/// Run `esc` quietly for seeding.
fn seed_call(esc: &Path, home: &Path, args: &[&str], stdin: Option<&str>) -> anyhow::Result<()> {
    let mut child = Command::new(esc)
        .args(args)
        .env("ESC_HOME", home)
        .env("ESC_USER", "test-user")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .context("running esc")?;
    if let Some(mut input) = child.stdin.take() {
        std::io::Write::write_all(&mut input, stdin.unwrap_or_default().as_bytes())?;
    }
    let out = child.wait_with_output()?;
    if !out.status.success() || !out.stderr.is_empty() {
        bail!(
            "seeding: esc {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(())
}

fn seed(esc: &Path, home: &Path, environments: &[(String, Node)]) -> anyhow::Result<()> {
    // All first, so that imports resolve whatever the order.
    for (name, _) in environments {
        seed_call(esc, home, &["env", "init", name], None)?;
    }
    for (name, node) in environments {
        let entries: &[(Node, Node)] = match &node.kind {
            NodeKind::Mapping(entries) => entries,
            _ => &[],
        };
        let meta = |key: &str| {
            entries
                .iter()
                .find(|(k, _)| k.as_str() == Some(key))
                .map(|(_, v)| v)
        };
        // `revisions` and `tags` (environment tags) are fake-backend state,
        // everything else is the definition.
        let revisions: Vec<(Tree, Vec<String>)> = match meta("revisions").map(|r| &r.kind) {
            Some(NodeKind::Sequence(items)) => items
                .iter()
                .map(|item| {
                    let get = |key: &str| match &item.kind {
                        NodeKind::Mapping(e) => e
                            .iter()
                            .find(|(k, _)| k.as_str() == Some(key))
                            .map(|(_, v)| v),
                        _ => None,
                    };
                    let tree = get("yaml").map(tree_of).unwrap_or(Tree::Map(Vec::new()));
                    let tags = match get("tags").map(|t| &t.kind) {
                        Some(NodeKind::Sequence(tags)) => tags.iter().map(scalar_text).collect(),
                        _ => Vec::new(),
                    };
                    (tree, tags)
                })
                .collect(),
            _ => {
                let definition = match &node.kind {
                    NodeKind::Mapping(entries) => Tree::Map(
                        entries
                            .iter()
                            .filter(|(k, _)| !matches!(k.as_str(), Some("revisions" | "tags")))
                            .map(|(k, v)| (k.as_str().unwrap_or_default().to_string(), tree_of(v)))
                            .collect(),
                    ),
                    _ => tree_of(node),
                };
                vec![(definition, Vec::new())]
            }
        };
        if let Some(NodeKind::Mapping(tags)) = meta("tags").map(|t| &t.kind) {
            for (k, v) in tags {
                let key = k.as_str().unwrap_or_default();
                seed_call(esc, home, &["env", "tag", name, key, &scalar_text(v)], None)?;
            }
        }
        for (i, (tree, tags)) in revisions.iter().enumerate() {
            let text = match tree {
                Tree::Map(entries) if entries.is_empty() => "{}\n".to_string(),
                other => emit(other, 2),
            };
            // The fake backend stores anything; we validate. A definition we
            // refuse stays unstored and the comparison decides the outcome.
            let _ = seed_call(esc, home, &["env", "edit", name, "-f", "-"], Some(&text));
            for tag in tags {
                let target = format!("@{}", i + 2);
                seed_call(
                    esc,
                    home,
                    &["env", "version", "tag", &format!("{name}@{tag}"), &target],
                    None,
                )?;
            }
        }
    }
    Ok(())
}

/// Replay one transcript: `None` when it matches, else a description.
fn replay(esc: &Path, path: &Path) -> anyhow::Result<Option<String>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let t = parse(&text)?;
    let work = tempfile::tempdir().context("creating a work directory")?;
    let home = work.path().join("home");
    let bin = work.path().join("bin");
    let tmp = work.path().join("tmp");
    for dir in [&home, &bin, &tmp] {
        std::fs::create_dir_all(dir)?;
    }
    seed(esc, &home, &t.environments)?;
    for (name, script) in &t.commands {
        let file = bin.join(name);
        std::fs::write(&file, format!("#!/bin/bash\n{script}"))?;
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o755))?;
    }
    for (name, content) in &t.files {
        let file = work.path().join(name);
        if let Some(parent) = file.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(file, content)?;
    }
    let script = format!(
        "set -e\nesc() {{ echo \"> esc $*\"; echo \"> esc $*\" >&2; \"$ESC_BIN\" \"$@\"; }}\n{}",
        t.script
    );
    let path_var = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut command = Command::new("bash");
    command
        .arg("-c")
        .arg(&script)
        .current_dir(work.path())
        .env("PATH", path_var)
        .env("ESC_BIN", esc)
        .env("ESC_HOME", &home)
        .env("ESC_USER", "test-user")
        .env("TMPDIR", &tmp)
        .env_remove("EDITOR")
        .env_remove("VISUAL")
        .stdin(Stdio::null());
    for (k, v) in &t.environ {
        command.env(k, v);
    }
    let out = command.output().context("running bash")?;
    let tmp_prefix = format!("{}/", tmp.display());
    let stdout = rename_temp_files(&String::from_utf8_lossy(&out.stdout), &tmp_prefix);
    let stderr = rename_temp_files(&String::from_utf8_lossy(&out.stderr), &tmp_prefix);
    let mut problems = String::new();
    if out.status.success() == t.expect_error {
        problems.push_str(&format!(
            "exit status {:?}, expected error: {}\n",
            out.status.code(),
            t.expect_error
        ));
    }
    if stdout != t.stdout {
        problems.push_str(&format!(
            "--- expected stdout\n{}\n--- actual stdout\n{stdout}\n",
            t.stdout
        ));
    }
    if stderr != t.stderr {
        problems.push_str(&format!(
            "--- expected stderr\n{}\n--- actual stderr\n{stderr}\n",
            t.stderr
        ));
    }
    Ok((!problems.is_empty()).then_some(problems))
}

/// Rename `<tmp>/esc-XXXX` paths to `temp/esc-temp-N` in order of appearance.
fn rename_temp_files(text: &str, tmp_prefix: &str) -> String {
    let mut seen: Vec<String> = Vec::new();
    let mut out = String::new();
    let mut rest = text;
    while let Some(pos) = rest.find(tmp_prefix) {
        out.push_str(&rest[..pos]);
        let tail = &rest[pos..];
        let end = tail
            .find(|c: char| c.is_whitespace() || c == '"' || c == ',')
            .unwrap_or(tail.len());
        let path = &tail[..end];
        let idx = match seen.iter().position(|p| p == path) {
            Some(i) => i,
            None => {
                seen.push(path.to_string());
                seen.len() - 1
            }
        };
        out.push_str(&format!("temp/esc-temp-{idx}"));
        rest = &tail[end..];
    }
    out.push_str(rest);
    out
}
