//! `esc-cli-conformance`: replays the golden CLI transcripts of
//! `shared/conformance/esc-cli` against the real `esc` binary (found next to
//! this one), logged in to a fresh fake backend per transcript ([`fake`]: a
//! real `esc-server` in this process with the reference harness's test
//! provider, fixed metadata and cipher).
//!
//! Run with `cargo run -p esc-cli --bin esc-cli-conformance -- [DIR]`.
//! For each transcript: start the backend, `esc login` to it, seed the
//! `environments:` (an empty revision 1, then one revision per definition,
//! then the tags), put the fake `commands` on PATH, run the `run:` script
//! with bash (`set -e`, every `esc` call echoed as `> esc ...` on both
//! streams), compare stdout and stderr. Temp file paths are renamed
//! `temp/esc-temp-N` as the reference harness numbers them ([`TempNames`]), and our ciphertexts the
//! reference's of the same plaintext ([`fake::Fake::reference_ciphertexts`]).
//! Transcripts listed in `conformance-skip.txt` (one `name: reason` a line)
//! are skipped.

// Unit tests may unwrap: a panic is a test failure.
#![cfg_attr(test, allow(clippy::unwrap_used))]

mod fake;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};

use anyhow::{Context as _, bail};
use base64::Engine as _;
use esc_syntax::{Node, NodeKind};

use crate::fake::Fake;

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
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the async runtime")?;
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
        match replay(&runtime, &esc, path) {
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
    header: String,
    script: String,
    environ: Vec<(String, String)>,
    commands: Vec<(String, String)>,
    files: Vec<(String, Vec<u8>)>,
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
        header: header.to_string(),
        script: member(&root, "run")
            .map(|n| scalar_text(&n))
            .unwrap_or_default(),
        environ: string_map(process.as_ref().and_then(|p| member(p, "environ"))),
        commands: string_map(process.as_ref().and_then(|p| member(p, "commands"))),
        files: match process
            .as_ref()
            .and_then(|p| member(p, "fs"))
            .map(|n| n.kind)
        {
            Some(NodeKind::Mapping(entries)) => entries
                .iter()
                .map(|(k, v)| {
                    let name = k.as_str().unwrap_or_default().to_string();
                    Ok((name, file_content(header, v)?))
                })
                .collect::<anyhow::Result<_>>()?,
            _ => Vec::new(),
        },
        environments,
        expect_error: member(&root, "error").is_some(),
        stdout: stdout.to_string(),
        stderr: stderr.to_string(),
    })
}

/// A `process.fs` entry's bytes: `!!binary` values are base64.
fn file_content(header: &str, node: &Node) -> anyhow::Result<Vec<u8>> {
    let at = usize::try_from(node.range.start.byte).unwrap_or(usize::MAX);
    if header
        .get(at..)
        .is_some_and(|rest| rest.starts_with("!!binary"))
    {
        let text: String = scalar_text(node).split_whitespace().collect();
        return base64::engine::general_purpose::STANDARD
            .decode(text)
            .context("a !!binary file is not base64");
    }
    Ok(scalar_text(node).into_bytes())
}

fn scalar_text(node: &Node) -> String {
    match &node.kind {
        NodeKind::String { value, .. } => value.clone(),
        NodeKind::Number(n) => n.clone(),
        NodeKind::Bool(b) => b.to_string(),
        _ => String::new(),
    }
}

/// The YAML text of `node` as written in `header`, dedented to column 1: a
/// flow collection up to its closing bracket, a block one up to the first
/// line indented less than it.
fn source_text(header: &str, node: &Node) -> String {
    let start = usize::try_from(node.range.start.byte).unwrap_or(usize::MAX);
    let Some(rest) = header.get(start..) else {
        return String::new();
    };
    let indent = usize::try_from(node.range.start.column.saturating_sub(1)).unwrap_or(0);
    let mut lines = rest.split('\n');
    let first = lines.next().unwrap_or_default();
    let mut out = vec![first.to_owned()];
    if first.starts_with(['{', '[']) {
        let mut depth = bracket_depth(first);
        for line in lines {
            if depth <= 0 {
                break;
            }
            depth += bracket_depth(line);
            out.push(line.to_owned());
        }
    } else {
        for line in lines {
            let spaces = line.len() - line.trim_start_matches(' ').len();
            if !line.trim().is_empty() && spaces < indent {
                break;
            }
            out.push(line[spaces.min(indent)..].to_owned());
        }
        while out.last().is_some_and(|l| l.trim().is_empty()) {
            out.pop();
        }
    }
    let mut text = out.join("\n");
    text.push('\n');
    text
}

/// Opening minus closing brackets on a line (quotes ignored: fixtures are simple).
fn bracket_depth(line: &str) -> i64 {
    line.chars()
        .map(|c| match c {
            '{' | '[' => 1,
            '}' | ']' => -1,
            _ => 0,
        })
        .sum()
}

/// The text the reference's fake backend stores for a transcript's
/// definition: `yaml.Marshal` of its node, yaml.v3's re-emit at four-space
/// indentation (positions in diagnostics and traces refer to it).
fn stored_definition(text: &str) -> String {
    esc_syntax::emit::reemit(text, 4).unwrap_or_else(|_| text.to_owned())
}

/// A definition to seed: `fn::secret` ciphertexts of the reference's
/// `rot128` cipher become the plaintexts our store then seals itself.
fn seedable_definition(text: &str) -> String {
    esc_syntax::edit::decrypt_secrets(text, |ciphertext| {
        fake::seedable_secret(ciphertext).ok_or(esc_syntax::edit::EditError::Alias)
    })
    .unwrap_or_else(|_| text.to_owned())
}

/// The variables that would choose another backend or token than the
/// fake's login (the goldens ran without them).
const BACKEND_VARIABLES: [&str; 4] = [
    "PULUMI_BACKEND_URL",
    "PULUMI_API",
    "PULUMI_ACCESS_TOKEN",
    "ESC_ACCESS_TOKEN",
];

/// `esc` logged in to the fake in `home`, whatever the caller's variables.
fn esc_command(esc: &Path, home: &Path) -> Command {
    let mut command = Command::new(esc);
    command.env("ESC_HOME", home);
    for name in BACKEND_VARIABLES {
        command.env_remove(name);
    }
    command
}

/// Run `esc` quietly for seeding.
fn seed_call(esc: &Path, home: &Path, args: &[&str], stdin: Option<&str>) -> anyhow::Result<()> {
    let mut child = esc_command(esc, home)
        .args(args)
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

/// Writes `text` as the next revision of `name` with `esc env edit -f -`;
/// `false` when the server refused it (errors on stderr). Warnings alone
/// mean it was stored: writing it again would add a revision.
fn seed_edit(esc: &Path, home: &Path, name: &str, text: &str) -> anyhow::Result<bool> {
    let mut child = esc_command(esc, home)
        .args(["env", "edit", name, "-f", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .context("running esc")?;
    if let Some(mut input) = child.stdin.take() {
        std::io::Write::write_all(&mut input, text.as_bytes())?;
    }
    let out = child.wait_with_output()?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    let refused = stderr.lines().any(|line| line.starts_with("Error:"));
    Ok(out.status.success() && !refused)
}

/// One revision of a seeded environment.
struct SeedRevision {
    definition: String,
    tags: Vec<String>,
    /// `(replacement, reason)`.
    retracted: Option<(String, String)>,
}

/// The fake's YAML state as API JSON: keys in camel case
/// (`insights-account` -> `insightsAccount`), numbers as numbers.
fn wire_json(node: &Node) -> serde_json::Value {
    use serde_json::Value as Json;
    match &node.kind {
        NodeKind::Null => Json::Null,
        NodeKind::Bool(b) => Json::Bool(*b),
        NodeKind::Number(text) => serde_json::from_str(text).unwrap_or(Json::String(text.clone())),
        NodeKind::String { value, .. } => Json::String(value.clone()),
        NodeKind::Sequence(items) => Json::Array(items.iter().map(wire_json).collect()),
        NodeKind::Mapping(entries) => Json::Object(
            entries
                .iter()
                .map(|(k, v)| (camel_case(k.as_str().unwrap_or_default()), wire_json(v)))
                .collect(),
        ),
    }
}

/// `account-name` -> `accountName`.
fn camel_case(key: &str) -> String {
    let mut out = String::with_capacity(key.len());
    let mut upper = false;
    for c in key.chars() {
        if c == '-' {
            upper = true;
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

/// A transcript's webhook (`name`, `display-name`, `payload-url`, `format`,
/// `filters`, `groups`, `active`).
fn seed_webhook(node: &Node) -> crate::fake::SeedWebhook {
    let text = |key: &str| member(node, key).map(scalar_text).unwrap_or_default();
    let list = |key: &str| match member(node, key).map(|n| &n.kind) {
        Some(NodeKind::Sequence(items)) => items.iter().map(scalar_text).collect(),
        _ => Vec::new(),
    };
    crate::fake::SeedWebhook {
        name: text("name"),
        display_name: text("display-name"),
        payload_url: text("payload-url"),
        format: text("format"),
        filters: list("filters"),
        groups: list("groups"),
        active: text("active") != "false",
    }
}

fn member<'n>(node: &'n Node, key: &str) -> Option<&'n Node> {
    match &node.kind {
        NodeKind::Mapping(entries) => entries
            .iter()
            .find(|(k, _)| k.as_str() == Some(key))
            .map(|(_, v)| v),
        _ => None,
    }
}

fn seed(
    runtime: &tokio::runtime::Runtime,
    fake: &Fake,
    esc: &Path,
    home: &Path,
    header: &str,
    environments: &[(String, Node)],
) -> anyhow::Result<()> {
    // All first, so that imports resolve whatever the order.
    for (name, _) in environments {
        seed_call(esc, home, &["env", "init", name], None)?;
    }
    for (name, node) in environments {
        // `webhooks` are the fake's state, seeded with their given names
        if let Some(NodeKind::Sequence(hooks)) = member(node, "webhooks").map(|w| &w.kind) {
            for hook in hooks {
                runtime.block_on(fake.seed_webhook(name, &seed_webhook(hook)))?;
            }
        }
    }
    for (name, node) in environments {
        // `referrers` (stacks and Insights accounts too) are the fake's to
        // answer
        if let Some(referrers) = member(node, "referrers") {
            fake.seed_referrers(name, wire_json(referrers));
        }
        // `revisions` and `tags` (environment tags) are fake-backend state,
        // everything else is the definition.
        let revisions: Vec<SeedRevision> = match member(node, "revisions").map(|r| &r.kind) {
            Some(NodeKind::Sequence(items)) => items
                .iter()
                .map(|item| SeedRevision {
                    definition: member(item, "yaml")
                        .map(|y| source_text(header, y))
                        .unwrap_or_else(|| "{}\n".into()),
                    tags: match member(item, "tags").map(|t| &t.kind) {
                        Some(NodeKind::Sequence(tags)) => tags.iter().map(scalar_text).collect(),
                        _ => Vec::new(),
                    },
                    retracted: member(item, "retracted").map(|r| {
                        (
                            member(r, "replacement")
                                .map(scalar_text)
                                .unwrap_or_default(),
                            member(r, "reason").map(scalar_text).unwrap_or_default(),
                        )
                    }),
                })
                .collect(),
            _ => {
                let mut definition = source_text(header, node);
                if member(node, "webhooks").is_some() {
                    definition = esc_syntax::edit::delete_value(&definition, "webhooks")
                        .context("seeding: removing the webhooks")?;
                }
                if member(node, "tags").is_some() {
                    definition = esc_syntax::edit::delete_value(&definition, "tags")
                        .context("seeding: removing the environment tags")?;
                }
                if member(node, "referrers").is_some() {
                    definition = esc_syntax::edit::delete_value(&definition, "referrers")
                        .context("seeding: removing the referrers")?;
                }
                vec![SeedRevision {
                    definition,
                    tags: Vec::new(),
                    retracted: None,
                }]
            }
        };
        if let Some(NodeKind::Mapping(tags)) = member(node, "tags").map(|t| &t.kind) {
            for (k, v) in tags {
                let key = k.as_str().unwrap_or_default();
                seed_call(esc, home, &["env", "tag", name, key, &scalar_text(v)], None)?;
            }
        }
        for (i, revision) in revisions.iter().enumerate() {
            let text = seedable_definition(&stored_definition(&revision.definition));
            // The fake backend stores anything; our server validates. What it
            // refuses is written to the store directly, like the fake's state.
            if !seed_edit(esc, home, name, &text)? {
                runtime.block_on(fake.write_revision(name, &text))?;
            }
            for tag in &revision.tags {
                let target = format!("@{}", i + 2);
                seed_call(
                    esc,
                    home,
                    &["env", "version", "tag", &format!("{name}@{tag}"), &target],
                    None,
                )?;
            }
        }
        for (i, revision) in revisions.iter().enumerate() {
            if let Some((replacement, reason)) = &revision.retracted {
                let number = u64::try_from(i + 2)?;
                let version = format!("{name}@{number}");
                let mut args = vec!["env", "version", "retract", version.as_str()];
                if !reason.is_empty() {
                    args.extend(["--reason", reason.as_str()]);
                }
                let with = format!("@{replacement}");
                let mut with_replacement = args.clone();
                if !replacement.is_empty() {
                    with_replacement.extend(["--replace-with", with.as_str()]);
                }
                // The fake keeps any replacement number without interpreting
                // it; our server refuses one that cannot replace the revision
                // (itself, say). Then retract with the default replacement
                // and have the fake report the transcript's number.
                if seed_call(esc, home, &with_replacement, None).is_err() {
                    let reported: u64 = replacement
                        .parse()
                        .with_context(|| format!("seeding: replacement {replacement:?}"))?;
                    seed_call(esc, home, &args, None)?;
                    fake.report_replacement(name, number, reported);
                }
            }
        }
    }
    Ok(())
}

/// Replay one transcript: `None` when it matches, else a description.
fn replay(
    runtime: &tokio::runtime::Runtime,
    esc: &Path,
    path: &Path,
) -> anyhow::Result<Option<String>> {
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
    let fake = runtime.block_on(Fake::start(&work.path().join("backend")))?;
    seed_call(
        esc,
        &home,
        &["login", &fake.url, "--token", &fake.token],
        None,
    )?;
    seed(runtime, &fake, esc, &home, &t.header, &t.environments)?;
    fake.start_replay();
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
        // esc finds only the transcript's commands on its PATH, as the
        // reference's fake `LookPath` does (their scripts use shell builtins)
        "set -e\nesc() {{ echo \"> esc $*\"; echo \"> esc $*\" >&2; PATH=\"$ESC_FAKE_PATH\" \"$ESC_BIN\" \"$@\"; }}\n{}",
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
        .env("ESC_FAKE_PATH", &bin)
        // the reference harness's console (change request links)
        .env("PULUMI_CONSOLE_DOMAIN", "app.fake.pulumi.com")
        .env("ESC_HOME", &home)
        .env("TMPDIR", &tmp)
        // Times print in the local zone unless `--utc`; the goldens were
        // recorded in UTC (and pass `--utc` wherever a time is printed).
        .env("TZ", "UTC")
        .env_remove("EDITOR")
        .env_remove("VISUAL")
        .stdin(Stdio::null());
    for name in BACKEND_VARIABLES {
        command.env_remove(name);
    }
    for (k, v) in &t.environ {
        command.env(k, v);
    }
    let out = command.output().context("running bash")?;
    let tmp_prefix = format!("{}/", tmp.display());
    let mut temp_names = TempNames::default();
    let stdout = temp_names.rename(&String::from_utf8_lossy(&out.stdout), &tmp_prefix);
    let stderr = temp_names.rename(&String::from_utf8_lossy(&out.stderr), &tmp_prefix);
    let ciphertexts = runtime.block_on(fake.reference_ciphertexts(&[&stdout, &stderr]));
    drop(fake);
    let stdout = replace_all(stdout, &ciphertexts);
    let stderr = replace_all(stderr, &ciphertexts);
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

fn replace_all(mut text: String, mapping: &BTreeMap<String, String>) -> String {
    for (ours, reference) in mapping {
        text = text.replace(ours.as_str(), reference);
    }
    text
}

/// The reference harness's temp file names: `temp/esc-temp-N` with N the
/// lowest number not in use when the file is created. `esc` names its files
/// `esc-<n>-<random>` with n the creation order within one command; a
/// file that no longer exists when the script is over (`esc run` deletes
/// its files) frees its number once its command is done.
#[derive(Default)]
struct TempNames {
    /// Our path -> the harness's number.
    assigned: BTreeMap<String, usize>,
    /// Numbers in use.
    live: std::collections::BTreeSet<usize>,
}

impl TempNames {
    /// Rename the temp paths of `text`, one `> esc` command at a time.
    fn rename(&mut self, text: &str, tmp_prefix: &str) -> String {
        let mut out = String::with_capacity(text.len());
        for segment in split_commands(text) {
            let mut paths: Vec<(usize, String)> = temp_paths(segment, tmp_prefix)
                .into_iter()
                .filter(|p| !self.assigned.contains_key(p))
                .map(|p| (creation_index(&p, tmp_prefix), p))
                .collect();
            paths.sort();
            paths.dedup();
            for (_, path) in &paths {
                let number = (0..).find(|n| !self.live.contains(n)).unwrap_or(0);
                self.live.insert(number);
                self.assigned.insert(path.clone(), number);
            }
            out.push_str(&self.replace(segment, tmp_prefix));
            for (_, path) in paths {
                if !Path::new(&path).exists()
                    && let Some(number) = self.assigned.get(&path)
                {
                    self.live.remove(number);
                }
            }
        }
        out
    }

    fn replace(&self, text: &str, tmp_prefix: &str) -> String {
        let mut out = String::new();
        let mut rest = text;
        while let Some(pos) = rest.find(tmp_prefix) {
            out.push_str(&rest[..pos]);
            let tail = &rest[pos..];
            let end = path_end(tail);
            match self.assigned.get(&tail[..end]) {
                Some(n) => out.push_str(&format!("temp/esc-temp-{n}")),
                None => out.push_str(&tail[..end]),
            }
            rest = &tail[end..];
        }
        out.push_str(rest);
        out
    }
}

/// `text` cut before each `> esc ` echo line.
fn split_commands(text: &str) -> Vec<&str> {
    let mut starts: Vec<usize> = text.match_indices("> esc ").map(|(i, _)| i).collect();
    starts.retain(|&i| i == 0 || text.as_bytes()[i - 1] == b'\n');
    starts.push(text.len());
    let mut segments = vec![&text[..starts[0]]];
    segments.extend(starts.windows(2).map(|w| &text[w[0]..w[1]]));
    segments
}

fn path_end(tail: &str) -> usize {
    tail.find(|c: char| c.is_whitespace() || c == '"' || c == ',')
        .unwrap_or(tail.len())
}

fn temp_paths(text: &str, tmp_prefix: &str) -> Vec<String> {
    text.match_indices(tmp_prefix)
        .map(|(i, _)| {
            let tail = &text[i..];
            tail[..path_end(tail)].to_owned()
        })
        .collect()
}

/// The `<n>` of `<tmp>/esc-<n>-<random>`.
fn creation_index(path: &str, tmp_prefix: &str) -> usize {
    path.strip_prefix(tmp_prefix)
        .and_then(|name| name.strip_prefix("esc-"))
        .and_then(|rest| rest.split('-').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(usize::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temp_files_are_numbered_like_the_harness() {
        let dir = tempfile::tempdir().unwrap();
        let prefix = format!("{}/", dir.path().display());
        let kept = |name: &str| {
            let path = format!("{prefix}{name}");
            std::fs::write(&path, "x").unwrap();
            path
        };
        // `run` (files gone afterwards): numbered by creation, then reused
        let (r0, r1) = (format!("{prefix}esc-0-aa"), format!("{prefix}esc-1-bb"));
        // `open` (files kept): numbers stay taken
        let (o0, o1) = (kept("esc-0-cc"), kept("esc-1-dd"));
        let text = format!(
            "> esc run\nfile: {r1}, other: {r0}\n> esc run\nfile: {r1}\n> esc open\nA={o0}\nB={o1}\n> esc open\nA={o0}\n"
        );
        assert_eq!(
            TempNames::default().rename(&text, &prefix),
            "> esc run\nfile: temp/esc-temp-1, other: temp/esc-temp-0\n> esc run\nfile: temp/esc-temp-1\n> esc open\nA=temp/esc-temp-0\nB=temp/esc-temp-1\n> esc open\nA=temp/esc-temp-0\n"
        );
        let (p0, p1) = (kept("esc-0-ee"), kept("esc-1-ff"));
        let text = format!("> esc open\nA={o0}\n> esc open\nA={p0}\nB={p1}\n");
        assert_eq!(
            TempNames::default().rename(&text, &prefix),
            "> esc open\nA=temp/esc-temp-0\n> esc open\nA=temp/esc-temp-1\nB=temp/esc-temp-2\n"
        );
    }

    #[test]
    fn source_text_of_nested_definitions() {
        let header = "environments:\n  o/p/e:\n    imports:\n      - a\n    values:\n      # comment\n      x: [1, 2]\n\n  o/p/f: {}\nafter: 1\n";
        let root = esc_syntax::parse_document("t", header).unwrap().unwrap();
        let envs = member(&root, "environments").unwrap();
        let e = member(envs, "o/p/e").unwrap();
        assert_eq!(
            source_text(header, e),
            "imports:\n  - a\nvalues:\n  # comment\n  x: [1, 2]\n"
        );
        assert_eq!(source_text(header, member(envs, "o/p/f").unwrap()), "{}\n");
    }
}
