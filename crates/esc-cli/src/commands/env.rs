//! `esc env init|edit|get|set|rm|ls|clone|settings` (spec/CLI.md § 5).

use std::process::ExitCode;

use anyhow::{Context as _, bail};

use super::{Ctx, check_args, json_output, parse_unversioned, read_input, with_env_flag};
use crate::backend::{CloneOptions, Diag};
use crate::cli::{
    CloneArgs, DiffArgs, EditArgs, GetArgs, InitArgs, LsArgs, RmArgs, SetArgs, SettingsCommand,
    SettingsSubcommand,
};
use crate::defined_at;
use crate::diags;
use crate::env_ref::{EnvName, EnvRef, Form};
use crate::format::{self, Format, RenderOptions};
use crate::messages;
use crate::value::{PropertyPath, Value};
use crate::yamledit;

/// `env init [<ref>] [-f file]`.
pub(super) async fn init(
    ctx: &Ctx,
    flag: Option<String>,
    args: InitArgs,
) -> anyhow::Result<ExitCode> {
    let positional = with_env_flag(&flag, args.args);
    check_args(&positional, 0, Some(1))?;
    let Some(text) = positional.first() else {
        bail!("no environment name specified");
    };
    let r = parse_unversioned(text, "init")?;
    let name = ctx.resolve_new(&r).await?;
    let content = match &args.file {
        Some(path) => Some(read_input(path).context("reading environment definition")?),
        None => None,
    };
    ctx.backend
        .create_environment(&name)
        .await
        .context("creating environment")?;
    messages::out(&messages::environment_created(&name.to_string()))?;
    if let Some(yaml) = content.filter(|c| !c.is_empty()) {
        let diags = ctx
            .backend
            .update_definition(&name, &yaml, None)
            .await
            .context("updating environment definition")?;
        if diags::has_errors(&diags) {
            messages::err(&diags::yaml_style(&diags, &doc_key(&name), &yaml));
            bail!("updating environment definition: too many errors");
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The key diagnostics of an update use for the submitted text.
fn doc_key(name: &EnvName) -> String {
    format!("{}/{}", name.project, name.name)
}

/// `env edit [<ref>]` with `-f` or an editor.
pub(super) async fn edit(
    ctx: &Ctx,
    flag: Option<String>,
    args: EditArgs,
) -> anyhow::Result<ExitCode> {
    let positional = with_env_flag(&flag, args.args);
    check_args(&positional, 1, Some(1))?;
    let r = parse_unversioned(&positional[0], "edit")?;
    let name = ctx.resolve(&r).await?;
    let draft = args.draft.as_deref();
    if args.show_secrets && draft.is_some_and(|id| id != NEW_DRAFT) {
        bail!("--show-secrets is not supported for updating drafts");
    }
    if let Some(path) = &args.file {
        let yaml = read_input(path).context("reading environment definition")?;
        let (diags, written) = write_definition(ctx, &name, draft, &yaml, None).await?;
        messages::err(&diags::yaml_style(&diags, &doc_key(&name), &yaml));
        if let Some(written) = written {
            announce(ctx, &name, &written, true).await?;
        }
        return Ok(ExitCode::SUCCESS);
    }
    let editor = find_editor(args.editor.as_deref())?;
    let current = match draft {
        Some(id) if id != NEW_DRAFT => ctx
            .backend
            .draft(&name, id)
            .await
            .context("getting environment draft")?,
        _ => ctx
            .backend
            .definition(&name, None, args.show_secrets)
            .await
            .context("getting environment definition")?,
    };
    let mut text = current.yaml.clone();
    // Bounded: each round needs the user to press Enter.
    for _ in 0..100 {
        let edited = run_editor(&editor, &text)?;
        let cut = cut_at_separator(&edited);
        if cut.trim().is_empty() {
            messages::err("Aborting edit due to empty definition.\n");
            return Ok(ExitCode::SUCCESS);
        }
        let (diags, written) =
            write_definition(ctx, &name, draft, cut, current.etag.as_deref()).await?;
        messages::err(&diags::yaml_style(&diags, &doc_key(&name), cut));
        if let Some(written) = written {
            announce(ctx, &name, &written, true).await?;
            return Ok(ExitCode::SUCCESS);
        }
        messages::err("Press ENTER to continue editing or ^D to exit");
        let mut line = String::new();
        if std::io::stdin().read_line(&mut line).unwrap_or(0) == 0 {
            messages::err("\nAborting edit.\n");
            return Ok(ExitCode::SUCCESS);
        }
        text = cut.to_string();
    }
    bail!("too many edit rounds")
}

/// The `--draft` value meaning "a new change request" (spec/CLI.md § 2).
const NEW_DRAFT: &str = "new";

/// Where a definition was written.
pub(super) enum Written {
    /// The environment itself.
    Environment,
    /// A new draft (change request) with this id, not submitted yet.
    NewDraft(String),
    /// The existing draft with this id.
    Draft(String),
}

/// Write `yaml` to the environment, a new draft (`--draft`) or the draft
/// `--draft=<id>`; `None` when diagnostics with errors rejected it.
pub(super) async fn write_definition(
    ctx: &Ctx,
    name: &EnvName,
    draft: Option<&str>,
    yaml: &str,
    etag: Option<&str>,
) -> anyhow::Result<(Vec<Diag>, Option<Written>)> {
    let (diags, written) = match draft {
        None => {
            let diags = ctx
                .backend
                .update_definition(name, yaml, etag)
                .await
                .context("updating environment definition")?;
            (diags, Some(Written::Environment))
        }
        Some(NEW_DRAFT) => {
            let outcome = ctx
                .backend
                .create_draft(name, yaml, etag)
                .await
                .context("creating environment draft")?;
            (outcome.diagnostics, outcome.id.map(Written::NewDraft))
        }
        Some(id) => {
            let outcome = ctx
                .backend
                .update_draft(name, id, yaml, etag)
                .await
                .context("updating environment draft")?;
            (
                outcome.diagnostics,
                outcome.id.map(|_| Written::Draft(id.to_string())),
            )
        }
    };
    let written = written.filter(|_| !diags::has_errors(&diags));
    Ok((diags, written))
}

/// Report a write: `Environment updated.` (when `say_updated`), or the
/// change request lines; a new change request is submitted here.
pub(super) async fn announce(
    ctx: &Ctx,
    name: &EnvName,
    written: &Written,
    say_updated: bool,
) -> anyhow::Result<()> {
    match written {
        Written::Environment => {
            if say_updated {
                messages::out(messages::ENVIRONMENT_UPDATED)?;
            }
        }
        Written::NewDraft(id) => {
            messages::out(&format!("Change request created: {id}\n"))?;
            if let Some(url) = ctx.backend.change_request_url(name, id) {
                messages::out(&format!("Change request URL: {url}\n"))?;
            }
            ctx.backend
                .submit_draft(&name.org, id)
                .await
                .context("submitting change request")?;
            messages::out("Change request submitted\n")?;
        }
        Written::Draft(id) => {
            messages::out("Change request updated\n")?;
            if let Some(url) = ctx.backend.change_request_url(name, id) {
                messages::out(&format!("Change request URL: {url}\n"))?;
            }
        }
    }
    Ok(())
}

/// `--editor`, `$VISUAL`, `$EDITOR`, else `vi`; split on whitespace with
/// `"..."` quoting.
fn find_editor(flag: Option<&str>) -> anyhow::Result<Vec<String>> {
    let spec = flag
        .map(str::to_string)
        .or_else(|| std::env::var("VISUAL").ok().filter(|v| !v.is_empty()))
        .or_else(|| std::env::var("EDITOR").ok().filter(|v| !v.is_empty()));
    let spec = match spec {
        Some(spec) => spec,
        None => match crate::run::resolve_program("vi") {
            Ok(_) => "vi".to_string(),
            Err(_) => bail!(
                "no available editor; please use the --editor flag or set one of the VISUAL or EDITOR environment variables"
            ),
        },
    };
    let mut words = Vec::new();
    let mut word = String::new();
    let mut quoted = false;
    let mut chars = spec.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if quoted && chars.peek() == Some(&'"') => {
                word.push('"');
                chars.next();
            }
            '"' => quoted = !quoted,
            c if c.is_whitespace() && !quoted => {
                if !word.is_empty() {
                    words.push(std::mem::take(&mut word));
                }
            }
            c => word.push(c),
        }
    }
    if !word.is_empty() {
        words.push(word);
    }
    if words.len() == 1 && words[0] == "code" {
        words.push("-w".to_string());
    }
    if words.is_empty() {
        bail!(
            "no available editor; please use the --editor flag or set one of the VISUAL or EDITOR environment variables"
        );
    }
    let program = crate::run::resolve_program(&words[0])
        .with_context(|| format!("finding {} on path", esc_eval::go_quote(&words[0])))?;
    words[0] = program.to_string_lossy().into_owned();
    Ok(words)
}

fn run_editor(editor: &[String], text: &str) -> anyhow::Result<String> {
    let file = tempfile::Builder::new()
        .prefix("esc-")
        .suffix(".yaml")
        .tempfile()
        .context("creating temporary file")?;
    let mut content = text.to_string();
    if !content.is_empty() && !content.ends_with('\n') {
        content.push('\n');
    }
    std::fs::write(file.path(), content).context("writing temporary file")?;
    let status = std::process::Command::new(&editor[0])
        .args(&editor[1..])
        .arg(file.path())
        .status()
        .context("running the editor")?;
    if !status.success() {
        bail!("the editor exited with {status}");
    }
    std::fs::read_to_string(file.path()).context("reading the edited file")
}

/// Cut at the first `---` line (the evaluated-result section).
fn cut_at_separator(text: &str) -> &str {
    match text.find("---") {
        Some(pos)
            if (pos == 0 || text.as_bytes()[pos - 1] == b'\n')
                && matches!(text.as_bytes().get(pos + 3), None | Some(b'\n')) =>
        {
            &text[..pos]
        }
        _ => text,
    }
}

/// `env get <ref>[@v] [<path>]`.
pub(super) async fn get(
    ctx: &Ctx,
    flag: Option<String>,
    args: GetArgs,
) -> anyhow::Result<ExitCode> {
    let positional = with_env_flag(&flag, args.args);
    check_args(&positional, 1, Some(2))?;
    if args.value.is_some() && args.definition {
        bail!("`--value` and `--definition` flags cannot be used together");
    }
    let format = match &args.value {
        Some(v) => Some(v.parse::<Format>()?),
        None => None,
    };
    let path = match positional.get(1) {
        Some(p) => Some(PropertyPath::parse(p).map_err(|e| anyhow::anyhow!("invalid path: {e}"))?),
        None => None,
    };
    if let (Some(f), Some(_)) = (format, &path)
        && f.whole_environment_only()
    {
        bail!(
            "output format '{}' may not be used with a property path",
            f.name()
        );
    }
    let r = EnvRef::parse(&positional[0])?;
    let name = ctx.resolve(&r).await?;
    let def = ctx
        .backend
        .definition(&name, r.version(), args.show_secrets)
        .await
        .context("getting environment definition")?;
    if args.definition {
        messages::out(&normalize_definition(&def.yaml))?;
        return Ok(ExitCode::SUCCESS);
    }
    if def.yaml.is_empty() {
        messages::out("\n")?;
        return Ok(ExitCode::SUCCESS);
    }
    let checked = ctx
        .backend
        .check(&name, &def.yaml, args.show_secrets)
        .await
        .context("checking environment definition")?;
    // As the reference: nothing when the check answers no environment (a
    // server refuses a definition with errors); an environment that comes
    // with diagnostics is shown, the diagnostics are not.
    let Some(root) = checked.root else {
        return Ok(ExitCode::SUCCESS);
    };
    let redact = !args.show_secrets;
    let selected = match &path {
        Some(p) => root.at(p),
        None => Some(&root),
    };
    if let Some(format) = format {
        let null = Value::root(Default::default());
        let value = selected.cloned().unwrap_or(Value {
            data: crate::value::Data::Null,
            ..null
        });
        let text = format::render(
            &value,
            format,
            &RenderOptions {
                redact,
                files_dir: None,
            },
        )?;
        messages::out(&text)?;
        return Ok(ExitCode::SUCCESS);
    }
    let defined_at = match &path {
        Some(p) => defined_at::defined_at(&name.name, checked.exprs.as_ref(), selected, p),
        None => Vec::new(),
    };
    messages::out(&report(
        &def.yaml,
        selected,
        path.as_ref(),
        &defined_at,
        redact,
    ))?;
    Ok(ExitCode::SUCCESS)
}

/// The Markdown report of § 6.7; `defined_at` from [`defined_at`].
fn report(
    definition: &str,
    value: Option<&Value>,
    path: Option<&PropertyPath>,
    defined_at: &[String],
    redact: bool,
) -> String {
    let mut out = String::new();
    let is_imports = matches!(path.and_then(|p| p.0.first()), Some(crate::value::Accessor::Key(k)) if k == "imports");
    if let (Some(v), false) = (value, is_imports) {
        let json = format::json::render(&v.to_plain(redact));
        out.push_str("# Value\n```json\n");
        out.push_str(json.trim_end_matches('\n'));
        out.push_str("\n```\n");
    }
    let def_text = match path {
        None => Some(normalize_definition(definition)),
        Some(p) => definition_at(definition, p),
    };
    if let Some(text) = def_text.filter(|t| !t.is_empty()) {
        out.push_str("# Definition\n```yaml\n");
        out.push_str(&text);
        if !text.ends_with('\n') {
            out.push('\n');
        }
        out.push_str("\n```\n");
    }
    if !is_imports && !defined_at.is_empty() {
        out.push_str("\n# Defined at\n");
        for entry in defined_at {
            out.push_str("- ");
            out.push_str(entry);
            out.push('\n');
        }
    }
    out.push('\n');
    out
}

/// The definition as the reference prints it (spec/CLI.md § 6.8): the
/// stored text re-emitted the way Go's yaml.v3 does at two-space
/// indentation (comments, order and styles kept). Text that does not parse
/// is shown as stored, with one final newline.
fn normalize_definition(text: &str) -> String {
    match esc_syntax::emit::reemit(text, 2) {
        Ok(emitted) => emitted,
        Err(_) => {
            let trimmed = text.trim_end_matches(['\n', ' ', '\t']);
            if trimmed.is_empty() {
                String::new()
            } else {
                format!("{trimmed}\n")
            }
        }
    }
}

/// The definition node at `values.<path>` (or from the root for
/// `imports...`), re-emitted on its own as in [`normalize_definition`].
fn definition_at(definition: &str, path: &PropertyPath) -> Option<String> {
    use esc_syntax::edit::PathSegment;
    let document = esc_syntax::emit::EmitDocument::parse(definition).ok()?;
    let segment = |a: &crate::value::Accessor| match a {
        crate::value::Accessor::Key(k) => PathSegment::Key(k.clone()),
        crate::value::Accessor::Index(i) => PathSegment::Index(*i),
    };
    let full: Vec<PathSegment> = match path.0.first() {
        Some(crate::value::Accessor::Key(k)) if k == "imports" => {
            path.0.iter().map(segment).collect()
        }
        _ => std::iter::once(PathSegment::Key("values".into()))
            .chain(path.0.iter().map(segment))
            .collect(),
    };
    document.emit_at(&full, 2)
}

/// `env set <ref> <path> [<value>]`.
pub(super) async fn set(
    ctx: &Ctx,
    flag: Option<String>,
    args: SetArgs,
) -> anyhow::Result<ExitCode> {
    let positional = with_env_flag(&flag, args.args);
    check_args(&positional, 1, Some(3))?;
    let r = parse_unversioned(&positional[0], "set")?;
    let name = ctx.resolve(&r).await?;
    let raw = match (&args.file, positional.len()) {
        (Some(file), 2) => read_input(file)?,
        (Some(_), _) => bail!("expected a path"),
        (None, 3) => positional[2].clone(),
        (None, _) => bail!("expected a path and a value"),
    };
    let path =
        PropertyPath::parse(&positional[1]).map_err(|e| anyhow::anyhow!("invalid path: {e}"))?;
    let mut value = yamledit::parse_value(&raw, args.string)?;
    if !args.secret && !args.plaintext && yamledit::looks_like_secret(&path, &value) {
        bail!(
            "value looks like a secret; rerun with --secret to mark it as such, or --plaintext if you meant to leave it as plaintext"
        );
    }
    if args.secret {
        value = yamledit::secret(value, &raw);
    }
    let draft = args.draft.as_deref();
    let def = match draft {
        Some(id) if id != NEW_DRAFT => ctx
            .backend
            .draft(&name, id)
            .await
            .context("getting environment draft")?,
        _ => ctx
            .backend
            .definition(&name, None, false)
            .await
            .context("getting environment definition")?,
    };
    let updated = yamledit::set(&doc_key(&name), &def.yaml, &path, &value)?;
    let (diags, written) =
        write_definition(ctx, &name, draft, &updated, def.etag.as_deref()).await?;
    messages::err(&diags::property_style(&diags));
    if let Some(written) = written {
        announce(ctx, &name, &written, false).await?;
    }
    Ok(ExitCode::SUCCESS)
}

/// `env rm <ref> [<path>]`.
pub(super) async fn rm(ctx: &Ctx, flag: Option<String>, args: RmArgs) -> anyhow::Result<ExitCode> {
    let positional = with_env_flag(&flag, args.args);
    check_args(&positional, 1, Some(2))?;
    let r = parse_unversioned(&positional[0], "rm")?;
    let name = ctx.resolve(&r).await?;
    if let Some(p) = positional.get(1) {
        let path = PropertyPath::parse(p).map_err(|e| anyhow::anyhow!("invalid path: {e}"))?;
        let def = ctx
            .backend
            .definition(&name, None, false)
            .await
            .context("getting environment definition")?;
        let Some(updated) = yamledit::delete(&doc_key(&name), &def.yaml, &path)? else {
            return Ok(ExitCode::SUCCESS);
        };
        let diags = ctx
            .backend
            .update_definition(&name, &updated, def.etag.as_deref())
            .await
            .context("updating environment definition")?;
        messages::err(&diags::property_style(&diags));
        return Ok(ExitCode::SUCCESS);
    }
    let skip = args.yes
        || std::env::var("PULUMI_SKIP_CONFIRMATIONS")
            .is_ok_and(|v| matches!(v.as_str(), "1" | "true" | "TRUE" | "True"));
    if !skip {
        messages::out(&format!(
            "This will permanently remove the \"{name}\" environment!\nPlease confirm that this is what you'd like to do by typing `{name}`: "
        ))?;
        let mut line = String::new();
        std::io::stdin()
            .read_line(&mut line)
            .context("reading confirmation")?;
        if line.trim_end_matches(['\n', '\r']) != name.to_string() {
            bail!("confirmation declined");
        }
    }
    match ctx.backend.delete_environment(&name).await {
        Ok(()) => {}
        Err(e) if e.code() == Some(409) && e.to_string().contains("protect") => bail!(
            "cannot delete environment: deletion protection is enabled. Disable deletion protection with 'esc env settings set {name} deletion-protected false' before deleting"
        ),
        Err(e) => return Err(anyhow::Error::new(e).context("deleting environment")),
    }
    messages::out(&format!("Environment \"{name}\" has been removed!\n"))?;
    Ok(ExitCode::SUCCESS)
}

/// `env ls`.
pub(super) async fn ls(ctx: &Ctx, args: LsArgs) -> anyhow::Result<ExitCode> {
    let json = json_output(&args.output)?;
    let user = ctx.backend.user().await?;
    let mut names = ctx
        .backend
        .list_environments(args.organization.as_deref())
        .await
        .context("listing environments")?;
    if let Some(project) = &args.project {
        names.retain(|n| &n.project == project);
    }
    let mut rows: Vec<(String, String, String)> = names
        .into_iter()
        .map(|n| {
            let org = if n.org == user { String::new() } else { n.org };
            (org, n.project, n.name)
        })
        .collect();
    rows.sort();
    let ids: Vec<String> = rows
        .into_iter()
        .map(|(org, project, name)| {
            if org.is_empty() {
                format!("{project}/{name}")
            } else {
                format!("{org}/{project}/{name}")
            }
        })
        .collect();
    if json {
        let list = esc_eval::PlainValue::object([(
            "environments",
            esc_eval::PlainValue::Array(
                ids.into_iter().map(esc_eval::PlainValue::String).collect(),
            ),
        )]);
        messages::out(&format::json::render(&list))?;
    } else {
        let mut text = String::new();
        for id in ids {
            text.push_str(&id);
            text.push('\n');
        }
        messages::out(&text)?;
    }
    Ok(ExitCode::SUCCESS)
}

/// `env clone <src> <[project/]name>`.
pub(super) async fn clone(
    ctx: &Ctx,
    flag: Option<String>,
    args: CloneArgs,
) -> anyhow::Result<ExitCode> {
    let positional = with_env_flag(&flag, args.args);
    check_args(&positional, 2, Some(2))?;
    let r = parse_unversioned(&positional[0], "clone")?;
    let src = match r.form() {
        Form::Full { org, project } => EnvName::new(org, project, r.name()),
        Form::Legacy => bail!(
            "referring to an environment name ('env' or 'org/env') without a project is not supported"
        ),
        Form::TwoPart { .. } => {
            let resolved = ctx.resolve(&r).await?;
            if resolved.project == "default"
                && !matches!(r.form(), Form::TwoPart { first } if first == "default")
            {
                bail!(
                    "referring to an environment name ('env' or 'org/env') without a project is not supported"
                );
            }
            resolved
        }
    };
    let dest = match positional[1].split_once('/') {
        Some((project, env)) => EnvName::new(&src.org, project, env),
        None => EnvName::new(&src.org, &src.project, &positional[1]),
    };
    let options = CloneOptions {
        history: args.preserve_history,
        access: args.preserve_access,
        env_tags: args.preserve_env_tags,
        rev_tags: args.preserve_rev_tags,
    };
    ctx.backend
        .clone_environment(&src, &dest, options)
        .await
        .context("cloning environment")?;
    messages::out(&format!("Environment {src} cloned into {dest}.\n"))?;
    Ok(ExitCode::SUCCESS)
}

/// `env diff <ref>[@v] [[<ref>]@v]`: a line diff of the rendered outputs.
pub(super) async fn diff(
    ctx: &Ctx,
    flag: Option<String>,
    args: DiffArgs,
) -> anyhow::Result<ExitCode> {
    let positional = with_env_flag(&flag, args.args);
    check_args(&positional, 1, Some(2))?;
    let base = EnvRef::parse(&positional[0])?;
    let base_name = ctx.resolve(&base).await?;
    let (other_name, other_version) = match positional.get(1) {
        Some(text) if text.starts_with('@') => (
            base_name.clone(),
            Some(crate::env_ref::Version::parse(&text[1..])?),
        ),
        Some(text) => {
            let r = EnvRef::parse(text)?;
            (ctx.resolve(&r).await?, r.version().cloned())
        }
        None => (base_name.clone(), None),
    };
    let format = match &args.format {
        Some(f) => Some(f.parse::<Format>()?),
        None => None,
    };
    let path = match &args.path {
        Some(p) => Some(PropertyPath::parse(p).map_err(|e| anyhow::anyhow!("invalid path: {e}"))?),
        None => None,
    };
    let render_side =
        |name: EnvName, version: Option<crate::env_ref::Version>, bare_label: bool| {
            let path = path.clone();
            async move {
                let def = ctx
                    .backend
                    .definition(&name, version.as_ref(), args.show_secrets)
                    .await
                    .context("getting environment definition")?;
                let checked = ctx
                    .backend
                    .check(&name, &def.yaml, args.show_secrets)
                    .await?;
                // an empty definition has no value at all (not `{}`)
                let value = match (&path, checked.root) {
                    (_, None) => None,
                    (Some(p), Some(root)) => root.at(p).cloned(),
                    (None, Some(root)) => Some(root),
                };
                // the reference names the base `@latest` by default but a
                // comparison given without a version by its bare name
                let label = match (&version, bare_label) {
                    (Some(v), _) => format!("{name}@{v}"),
                    (None, false) => format!("{name}@latest"),
                    (None, true) => name.to_string(),
                };
                let text = match (format, value) {
                    (Some(f), Some(v)) => format::render(
                        &v,
                        f,
                        &RenderOptions {
                            redact: !args.show_secrets,
                            files_dir: None,
                        },
                    )?,
                    // the report's value: § 6.1 without the final line break
                    (None, Some(v)) => format::json::render(&v.to_plain(!args.show_secrets))
                        .trim_end_matches('\n')
                        .to_owned(),
                    (_, None) => String::new(),
                };
                let definition = match &path {
                    Some(p) => definition_at(&def.yaml, p).unwrap_or_default(),
                    None => normalize_definition(&def.yaml),
                };
                anyhow::Ok((label, text, definition))
            }
        };
    let bare_other = positional.get(1).is_some_and(|t| !t.starts_with('@'));
    let (left_label, left, left_def) =
        render_side(base_name, base.version().cloned(), false).await?;
    let (right_label, right, right_def) =
        render_side(other_name, other_version, bare_other).await?;
    let mut out = String::new();
    if format.is_some() {
        out.push_str(&unified(&left_label, &right_label, &left, &right));
    } else {
        let value_diff = unified(&left_label, &right_label, &left, &right);
        if !value_diff.is_empty() {
            out.push_str(&format!("# Value\n```diff\n{value_diff}\n```\n"));
        }
        let def_diff = unified(&left_label, &right_label, &left_def, &right_def);
        if !def_diff.is_empty() {
            out.push_str(&format!("# Definition\n```diff\n{def_diff}\n```\n"));
        }
    }
    messages::out(&out)?;
    Ok(ExitCode::SUCCESS)
}

/// A unified diff as Go's gotextdiff writes it (Myers line diff, hunks
/// with three lines of context, `@@ -l +l @@` without a count of one,
/// `\ No newline at end of file` after a last line without one); empty
/// when the texts are equal.
fn unified(left_label: &str, right_label: &str, left: &str, right: &str) -> String {
    let a = split_lines(left);
    let b = split_lines(right);
    let hunks = hunks(&a, &myers(&a, &b));
    if hunks.is_empty() {
        return String::new();
    }
    let mut out = format!("--- {left_label}\n+++ {right_label}\n");
    for hunk in hunks {
        let from = hunk.lines.iter().filter(|(k, _)| *k != '+').count();
        let to = hunk.lines.iter().filter(|(k, _)| *k != '-').count();
        out.push_str("@@");
        if from > 1 {
            out.push_str(&format!(" -{},{from}", hunk.from_line));
        } else {
            out.push_str(&format!(" -{}", hunk.from_line));
        }
        if to > 1 {
            out.push_str(&format!(" +{},{to}", hunk.to_line));
        } else {
            out.push_str(&format!(" +{}", hunk.to_line));
        }
        out.push_str(" @@\n");
        for (kind, line) in hunk.lines {
            out.push(kind);
            out.push_str(line);
            if !line.ends_with('\n') {
                out.push_str("\n\\ No newline at end of file\n");
            }
        }
    }
    out
}

/// Lines with their `\n` (the last one may lack it).
fn split_lines(text: &str) -> Vec<&str> {
    text.split_inclusive('\n').collect()
}

/// A run of deleted lines `a[i1..i2]`, then `inserted` lines of `b`, at `i1`.
struct LineEdit<'t> {
    i1: usize,
    i2: usize,
    inserted: Vec<&'t str>,
}

/// The Myers shortest edit script from `a` to `b` as gotextdiff's `myers`
/// package computes it (deletions before insertions at one place).
fn myers<'t>(a: &[&'t str], b: &[&'t str]) -> Vec<LineEdit<'t>> {
    let (m, n) = (a.len(), b.len());
    if m == 0 && n == 0 {
        return Vec::new();
    }
    let offset = m + n;
    let index = |k: isize| -> usize { (k + offset as isize) as usize };
    let mut v = vec![0usize; 2 * (m + n) + 1];
    let mut trace: Vec<Vec<usize>> = Vec::new();
    'search: for d in 0..=(m + n) as isize {
        let mut k = -d;
        while k <= d {
            let mut x = if k == -d || (k != d && v[index(k - 1)] < v[index(k + 1)]) {
                v[index(k + 1)]
            } else {
                v[index(k - 1)] + 1
            };
            let mut y = (x as isize - k) as usize;
            while x < m && y < n && a[x] == b[y] {
                x += 1;
                y += 1;
            }
            v[index(k)] = x;
            if x == m && y == n {
                trace.push(v.clone());
                break 'search;
            }
            k += 2;
        }
        trace.push(v.clone());
    }
    // backtrack: the snake end points, by d
    let mut snakes: Vec<Option<(usize, usize)>> = vec![None; trace.len()];
    let (mut x, mut y) = (m as isize, n as isize);
    let mut d = trace.len() as isize - 1;
    while x > 0 && y > 0 && d > 0 {
        let v = &trace[d as usize];
        snakes[d as usize] = Some((x as usize, y as usize));
        let k = x - y;
        let previous = if k == -d || (k != d && v[index(k - 1)] < v[index(k + 1)]) {
            k + 1
        } else {
            k - 1
        };
        x = v[index(previous)] as isize;
        y = x - previous;
        d -= 1;
    }
    if x >= 0 && y >= 0 {
        snakes[d as usize] = Some((x as usize, y as usize));
    }
    // the operations along the snakes
    let mut edits = Vec::new();
    let (mut x, mut y) = (0usize, 0usize);
    for (sx, sy) in snakes.into_iter().flatten() {
        let diagonal = sx as isize - sy as isize;
        let start = x;
        while diagonal > x as isize - y as isize {
            x += 1;
            if x == m {
                break;
            }
        }
        if x > start {
            edits.push(LineEdit {
                i1: start,
                i2: x,
                inserted: Vec::new(),
            });
        }
        let y_start = y;
        while diagonal < x as isize - y as isize {
            y += 1;
        }
        if y > y_start {
            edits.push(LineEdit {
                i1: x,
                i2: x,
                inserted: b[y_start..y].to_vec(),
            });
        }
        while x < sx {
            x += 1;
            y += 1;
        }
        if x >= m && y >= n {
            break;
        }
    }
    edits
}

/// One hunk: where it starts on each side and its lines (`' '`, `-`, `+`).
struct Hunk<'t> {
    from_line: usize,
    to_line: usize,
    lines: Vec<(char, &'t str)>,
}

/// gotextdiff's `ToUnified`: edits grouped into hunks with three lines of
/// context, hunks closer than six lines merged.
fn hunks<'t>(lines: &[&'t str], edits: &[LineEdit<'t>]) -> Vec<Hunk<'t>> {
    const EDGE: usize = 3;
    fn add_equal<'t>(hunk: &mut Hunk<'t>, lines: &[&'t str], start: isize, end: isize) -> usize {
        let mut added = 0;
        for i in start..end {
            if i < 0 {
                continue;
            }
            let Some(line) = lines.get(i as usize) else {
                return added;
            };
            hunk.lines.push((' ', line));
            added += 1;
        }
        added
    }
    let mut out = Vec::new();
    let mut current: Option<Hunk<'t>> = None;
    let (mut last, mut to_line) = (0usize, 0usize);
    for edit in edits {
        let (start, end) = (edit.i1, edit.i2);
        match current.as_mut() {
            Some(_) if start == last => {}
            Some(hunk) if start <= last + 2 * EDGE => {
                add_equal(hunk, lines, last as isize, start as isize);
            }
            _ => {
                if let Some(mut hunk) = current.take() {
                    add_equal(&mut hunk, lines, last as isize, (last + EDGE) as isize);
                    out.push(hunk);
                }
                to_line += start.saturating_sub(last);
                let mut hunk = Hunk {
                    from_line: start + 1,
                    to_line: to_line + 1,
                    lines: Vec::new(),
                };
                let delta = add_equal(
                    &mut hunk,
                    lines,
                    start as isize - EDGE as isize,
                    start as isize,
                );
                hunk.from_line -= delta;
                hunk.to_line -= delta;
                current = Some(hunk);
            }
        }
        let Some(hunk) = current.as_mut() else {
            continue;
        };
        last = start;
        for line in &lines[start..end] {
            hunk.lines.push(('-', line));
            last += 1;
        }
        for line in &edit.inserted {
            hunk.lines.push(('+', line));
            to_line += 1;
        }
    }
    if let Some(mut hunk) = current {
        add_equal(&mut hunk, lines, last as isize, (last + EDGE) as isize);
        out.push(hunk);
    }
    out
}

/// `env settings get|set`.
pub(super) async fn settings(
    ctx: &Ctx,
    flag: Option<String>,
    args: SettingsCommand,
) -> anyhow::Result<ExitCode> {
    match args.command {
        None => {
            let mut cmd = <crate::cli::Cli as clap::CommandFactory>::command();
            let text = cmd
                .find_subcommand_mut("env")
                .and_then(|e| e.find_subcommand_mut("settings"))
                .map(|s| s.render_long_help().to_string())
                .unwrap_or_default();
            messages::out(&format!("{text}\n"))?;
            Ok(ExitCode::SUCCESS)
        }
        Some(SettingsSubcommand::Get(get)) => {
            let json = json_output(&get.output)?;
            let positional = with_env_flag(&flag, get.args);
            check_args(&positional, 1, Some(2))?;
            let r = parse_unversioned(&positional[0], "settings")?;
            if let Some(setting) = positional.get(1)
                && setting != "deletion-protected"
            {
                bail!("unknown setting name: {setting}");
            }
            let name = ctx.resolve(&r).await?;
            let on = ctx.backend.deletion_protected(&name).await?;
            let text = match (json, positional.get(1)) {
                (true, Some(_)) => format!("{on}\n"),
                (true, None) => format!("{{\n  \"deletion-protected\": {on}\n}}\n"),
                (false, Some(_)) => format!("{on}\n"),
                (false, None) => format!("deletion-protected {on}\n"),
            };
            messages::out(&text)?;
            Ok(ExitCode::SUCCESS)
        }
        Some(SettingsSubcommand::Set(set)) => {
            let positional = with_env_flag(&flag, set.args);
            if positional.len() < 3 {
                bail!("expected a setting name and value");
            }
            check_args(&positional, 3, Some(3))?;
            let r = parse_unversioned(&positional[0], "settings")?;
            if positional[1] != "deletion-protected" {
                bail!("unknown setting name: {}", positional[1]);
            }
            let on = match positional[2].as_str() {
                "true" => true,
                "false" => false,
                other => {
                    bail!("invalid value for deletion-protected: {other} (expected true or false)")
                }
            };
            let name = ctx.resolve(&r).await?;
            ctx.backend.set_deletion_protected(&name, on).await?;
            let now = ctx.backend.deletion_protected(&name).await?;
            messages::out(&format!("{now}\n"))?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unified_diffs_like_gotextdiff() {
        assert_eq!(unified("a", "b", "x\n", "x\n"), "");
        // from nothing: `-1`, no count of one; no final newline is marked
        assert_eq!(
            unified("a", "b", "", "{\n}"),
            "--- a\n+++ b\n@@ -1 +1,2 @@\n+{\n+}\n\\ No newline at end of file\n"
        );
        // a change inside a long text: three lines of context each side
        let old: String = (1..=10).map(|i| format!("{i}\n")).collect();
        let new = old.replace("5\n", "five\n");
        assert_eq!(
            unified("a", "b", &old, &new),
            "--- a\n+++ b\n@@ -2,7 +2,7 @@\n 2\n 3\n 4\n-5\n+five\n 6\n 7\n 8\n"
        );
        // changes far apart make two hunks
        let new = old.replace("1\n", "one\n").replace("10\n", "ten\n");
        let diff = unified("a", "b", &old, &new);
        assert_eq!(diff.matches("@@ -").count(), 2, "{diff}");
        assert!(
            diff.starts_with("--- a\n+++ b\n@@ -1,4 +1,4 @@\n-1\n+one\n 2\n"),
            "{diff}"
        );
        assert!(diff.ends_with(" 9\n-10\n+ten\n"), "{diff}");
    }

    #[test]
    fn flow_collections_get_spaces() {
        assert_eq!(
            normalize_definition("{\"values\":{\"foo\":\"bar\",\"l\":[1,2]}}\n\n"),
            "{\"values\": {\"foo\": \"bar\", \"l\": [1, 2]}}\n"
        );
        // URLs, quoted commas, comments and block style stay as they are.
        let block = "values:\n  url: http://x:80/a,b # a,b:c\n  s: \"a,b\"\n  f: {k: 'x,y'}\n";
        assert_eq!(normalize_definition(block), block);
        assert_eq!(normalize_definition("\n\n"), "");
        // stored at another indentation (the reference's backend keeps
        // yaml.v3's four spaces): printed at two
        assert_eq!(
            normalize_definition("values:\n    a:\n        - x # c\n"),
            "values:\n  a:\n    - x # c\n"
        );
    }
}
