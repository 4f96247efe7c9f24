//! `esc env version ...` (revisions and revision tags) and `esc env tag ...`
//! (key/value environment tags).
//!
//! Times print in Go's `time.Time.String()` layout in the local time zone
//! unless `--utc` ([`crate::times`]); long listings go through the pager on
//! a terminal ([`crate::pager`]).

use std::process::ExitCode;

use anyhow::{Context as _, bail};

use super::{Ctx, check_args, is_not_found, json_output, with_env_flag};
use crate::backend::{EnvTagInfo, RevisionInfo, RevisionTagInfo};
use crate::cli::{
    TagCommand, TagSubcommand, VersionCommand, VersionSubcommand, VersionTagSubcommand,
};
use crate::env_ref::{EnvRef, Version};
use crate::format::json::{Ordered, render_ordered};
use crate::messages;
use crate::pager;
use crate::times::{Zone, go_time, rfc3339};

/// `env version ...`.
pub(super) async fn version(
    ctx: &Ctx,
    flag: Option<String>,
    args: VersionCommand,
) -> anyhow::Result<ExitCode> {
    let zone = Zone::utc_if(args.utc);
    match args.command {
        None => {
            let positional = with_env_flag(&flag, args.args);
            check_args(&positional, 1, Some(1))?;
            let r = EnvRef::parse(&positional[0])?;
            let name = ctx.resolve(&r).await?;
            match r.version() {
                None => bail!("please specify a version"),
                Some(Version::Revision(n)) => {
                    let revisions = ctx.backend.list_revisions(&name, Some(n + 1), 1).await?;
                    let Some(rev) = revisions.into_iter().find(|x| x.number == *n) else {
                        bail!("revision {n} not found");
                    };
                    messages::out(&revision_block(&rev, zone))?;
                }
                Some(Version::Tag(t)) => {
                    let tag = ctx.backend.revision_tag(&name, t).await?;
                    messages::out(&format!(
                        "{}\nRevision {}\nLast updated at {} by {}\n",
                        tag.name,
                        tag.revision,
                        go_time(tag.modified_millis, zone),
                        editor(&tag.editor_name, &tag.editor_login)
                    ))?;
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Some(VersionSubcommand::History(h)) => {
            let json = json_output(&h.output)?;
            let zone = Zone::utc_if(h.utc || args.utc);
            let positional = with_env_flag(&flag, h.args);
            check_args(&positional, 1, Some(1))?;
            let r = EnvRef::parse(&positional[0])?;
            let name = ctx.resolve(&r).await?;
            let before = match r.version() {
                Some(v) => Some(ctx.backend.resolve_version(&name, v).await? + 1),
                None => None,
            };
            let mut all = Vec::new();
            let mut cursor = before;
            for _ in 0..10_000 {
                let page = ctx.backend.list_revisions(&name, cursor, 500).await?;
                let Some(last) = page.last() else { break };
                cursor = Some(last.number);
                let done = last.number <= 1;
                all.extend(page);
                if done {
                    break;
                }
            }
            if json {
                let list = all.iter().map(revision_json).collect();
                messages::out(&render_ordered(&Ordered::Object(vec![(
                    "revisions",
                    Ordered::Array(list),
                )])))?;
            } else {
                let mut out = String::new();
                for rev in &all {
                    out.push_str(&revision_block(rev, zone));
                    out.push('\n');
                }
                pager::page(&out, h.pager.as_deref())?;
            }
            Ok(ExitCode::SUCCESS)
        }
        Some(VersionSubcommand::Retract(ra)) => {
            let positional = with_env_flag(&flag, ra.args);
            check_args(&positional, 1, Some(1))?;
            let r = EnvRef::parse(&positional[0])?;
            let name = ctx.resolve(&r).await?;
            let revision = match r.version() {
                None => bail!("please specify a version"),
                Some(Version::Tag(t)) if t == "latest" => {
                    bail!("cannot retract the `latest` revision")
                }
                Some(v) => ctx.backend.resolve_version(&name, v).await?,
            };
            let replacement = match &ra.replace_with {
                None => None,
                Some(text) => {
                    let v = match text.strip_prefix('@') {
                        Some(v) => Version::parse(v)?,
                        None => match EnvRef::parse(text)?.version() {
                            Some(v) => v.clone(),
                            None => bail!("please specify a version to replace with"),
                        },
                    };
                    Some(ctx.backend.resolve_version(&name, &v).await?)
                }
            };
            ctx.backend
                .retract_revision(&name, revision, replacement, ra.reason.as_deref())
                .await?;
            Ok(ExitCode::SUCCESS)
        }
        Some(VersionSubcommand::Rollback(rb)) => {
            let positional = with_env_flag(&flag, rb.args);
            check_args(&positional, 1, Some(1))?;
            let r = EnvRef::parse(&positional[0])?;
            let Some(version) = r.version() else {
                bail!("please specify a version");
            };
            let name = ctx.resolve(&r).await?;
            let def = ctx
                .backend
                .definition(&name, Some(version), false)
                .await
                .context("getting environment definition")?;
            let (diags, written) =
                super::env::write_definition(ctx, &name, rb.draft.as_deref(), &def.yaml, None)
                    .await?;
            if written.is_none() {
                messages::err(&crate::diags::yaml_style(
                    &diags,
                    &format!("{}/{}", name.project, name.name),
                    &def.yaml,
                ));
                bail!("could not roll back: too many errors");
            }
            if let Some(written) = written {
                super::env::announce(ctx, &name, &written, true).await?;
            }
            Ok(ExitCode::SUCCESS)
        }
        Some(VersionSubcommand::Tag(tag)) => match tag.command {
            None => {
                let positional = with_env_flag(&flag, tag.args);
                check_args(&positional, 1, Some(2))?;
                let r = EnvRef::parse(&positional[0])?;
                let tag_name = match r.version() {
                    Some(Version::Tag(t)) => t.clone(),
                    _ => bail!("please specify a name for the tagged version"),
                };
                let name = ctx.resolve(&r).await?;
                let target = match positional.get(1) {
                    Some(v) => {
                        let v = Version::parse(v.strip_prefix('@').unwrap_or(v))?;
                        ctx.backend.resolve_version(&name, &v).await?
                    }
                    None => {
                        ctx.backend
                            .resolve_version(&name, &Version::Tag("latest".into()))
                            .await?
                    }
                };
                ctx.backend
                    .set_revision_tag(&name, &tag_name, target)
                    .await?;
                Ok(ExitCode::SUCCESS)
            }
            Some(VersionTagSubcommand::Ls(ls)) => {
                let json = json_output(&ls.output)?;
                let zone = Zone::utc_if(ls.utc || tag.utc || args.utc);
                let positional = with_env_flag(&flag, ls.args);
                check_args(&positional, 1, Some(1))?;
                let r = EnvRef::parse(&positional[0])?;
                let name = ctx.resolve(&r).await?;
                let tags = ctx.backend.list_revision_tags(&name).await?;
                if json {
                    let list = tags.iter().map(|t| revision_tag_json(t, zone)).collect();
                    messages::out(&render_ordered(&Ordered::Object(vec![(
                        "tags",
                        Ordered::Array(list),
                    )])))?;
                } else if !tags.is_empty() {
                    let rows: Vec<Vec<Cell>> = tags
                        .iter()
                        .map(|t| {
                            vec![
                                Cell::Text(t.name.clone()),
                                Cell::Number(t.revision.to_string()),
                                Cell::Text(go_time(t.modified_millis, zone)),
                                Cell::Text(if t.editor_login.is_empty() {
                                    "<unknown>".into()
                                } else {
                                    t.editor_login.clone()
                                }),
                            ]
                        })
                        .collect();
                    pager::page(
                        &table(&["NAME", "REVISION", "MODIFIED", "EDITOR"], &rows),
                        ls.pager.as_deref(),
                    )?;
                }
                Ok(ExitCode::SUCCESS)
            }
            Some(VersionTagSubcommand::Rm(rm)) => {
                let positional = with_env_flag(&flag, rm.args);
                check_args(&positional, 1, Some(1))?;
                let r = EnvRef::parse(&positional[0])?;
                let tag_name = match r.version() {
                    Some(Version::Tag(t)) => t.clone(),
                    _ => bail!("please specify a tagged version to remove"),
                };
                let name = ctx.resolve(&r).await?;
                ctx.backend.delete_revision_tag(&name, &tag_name).await?;
                Ok(ExitCode::SUCCESS)
            }
        },
    }
}

/// `env tag ...`.
pub(super) async fn tag(
    ctx: &Ctx,
    flag: Option<String>,
    args: TagCommand,
) -> anyhow::Result<ExitCode> {
    let unversioned = |text: &str, command: &str| -> anyhow::Result<EnvRef> {
        let r = EnvRef::parse(text)?;
        if r.version().is_some() {
            bail!("the {command} command does not accept versions");
        }
        Ok(r)
    };
    let zone = Zone::utc_if(args.utc);
    match args.command {
        None => {
            let positional = with_env_flag(&flag, args.args);
            check_args(&positional, 3, Some(3))?;
            let r = unversioned(&positional[0], "tag")?;
            let (tag_name, value) = (&positional[1], &positional[2]);
            if tag_name.is_empty() {
                bail!("environment tag name cannot be empty");
            }
            if value.is_empty() {
                bail!("environment tag value cannot be empty");
            }
            let name = ctx.resolve(&r).await?;
            let tag = match ctx.backend.env_tag(&name, tag_name).await {
                Ok(existing) if &existing.value == value => existing,
                Ok(_) => {
                    ctx.backend
                        .update_env_tag(&name, tag_name, None, Some(value))
                        .await?
                }
                Err(e) if is_not_found(&e) => {
                    ctx.backend.create_env_tag(&name, tag_name, value).await?
                }
                Err(e) => return Err(e.into()),
            };
            messages::out(&env_tag_block(&tag, zone))?;
            Ok(ExitCode::SUCCESS)
        }
        Some(TagSubcommand::Get(get)) => {
            let json = json_output(&get.output)?;
            let zone = Zone::utc_if(get.utc || args.utc);
            let positional = with_env_flag(&flag, get.args);
            check_args(&positional, 2, Some(2))?;
            let r = unversioned(&positional[0], "tag")?;
            if positional[1].is_empty() {
                bail!("environment tag name cannot be empty");
            }
            let name = ctx.resolve(&r).await?;
            let tag = ctx.backend.env_tag(&name, &positional[1]).await?;
            if json {
                messages::out(&render_ordered(&env_tag_json(&tag, zone)))?;
            } else {
                messages::out(&env_tag_block(&tag, zone))?;
            }
            Ok(ExitCode::SUCCESS)
        }
        Some(TagSubcommand::Ls(ls)) => {
            let json = json_output(&ls.output)?;
            let zone = Zone::utc_if(ls.utc || args.utc);
            let positional = with_env_flag(&flag, ls.args);
            check_args(&positional, 1, Some(1))?;
            let r = unversioned(&positional[0], "tag")?;
            let name = ctx.resolve(&r).await?;
            let mut tags = ctx.backend.list_env_tags(&name).await?;
            tags.sort_by_key(|t| t.name.to_lowercase());
            if json {
                let list = tags.iter().map(|t| env_tag_json(t, zone)).collect();
                messages::out(&render_ordered(&Ordered::Object(vec![(
                    "tags",
                    Ordered::Array(list),
                )])))?;
            } else {
                let text: String = tags.iter().map(|t| env_tag_block(t, zone)).collect();
                pager::page(&text, ls.pager.as_deref())?;
            }
            Ok(ExitCode::SUCCESS)
        }
        Some(TagSubcommand::Mv(mv)) => {
            let zone = Zone::utc_if(mv.utc || args.utc);
            let positional = with_env_flag(&flag, mv.args);
            check_args(&positional, 3, Some(3))?;
            let r = unversioned(&positional[0], "tag")?;
            let (old, new) = (&positional[1], &positional[2]);
            if old.is_empty() {
                bail!("environment tag name cannot be empty");
            }
            // the reference's wording for an empty new name
            if new.is_empty() {
                bail!("environment tag value cannot be empty");
            }
            let name = ctx.resolve(&r).await?;
            let tag = if old == new {
                ctx.backend.env_tag(&name, old).await?
            } else {
                ctx.backend
                    .update_env_tag(&name, old, Some(new), None)
                    .await?
            };
            messages::out(&env_tag_block(&tag, zone))?;
            Ok(ExitCode::SUCCESS)
        }
        Some(TagSubcommand::Rm(rm)) => {
            let positional = with_env_flag(&flag, rm.args);
            check_args(&positional, 2, Some(2))?;
            let r = unversioned(&positional[0], "ls")?;
            let name = ctx.resolve(&r).await?;
            ctx.backend.delete_env_tag(&name, &positional[1]).await?;
            messages::out(&format!(
                "Successfully deleted environment tag: {}\n",
                positional[1]
            ))?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn editor(name: &str, login: &str) -> String {
    if login.is_empty() {
        "<unknown>".to_string()
    } else {
        format!("{name} <{login}>")
    }
}

fn revision_block(rev: &RevisionInfo, zone: Zone) -> String {
    let mut head = format!("revision {}", rev.number);
    if rev.retracted.is_some() {
        head.push_str(" (retracted)");
    } else if rev.tags.len() == 1 {
        head.push_str(&format!(" (tag: {})", rev.tags[0]));
    } else if !rev.tags.is_empty() {
        head.push_str(&format!(" (tags: {})", rev.tags.join(", ")));
    }
    let author = if rev.creator_login.is_empty() {
        "<unknown>".to_string()
    } else {
        format!("{} <{}>", rev.creator_name, rev.creator_login)
    };
    let mut out = format!(
        "{head}\nAuthor: {author}\nDate:   {}\n",
        go_time(rev.created_millis, zone)
    );
    if let Some(x) = &rev.retracted {
        out.push_str(&format!(
            "\n    Retracted by {} at {} and replaced with revision {}.\n",
            editor(&x.by_name, &x.by_login),
            go_time(x.at_millis, zone),
            x.replacement
        ));
        if !x.reason.is_empty() {
            out.push('\n');
            // Go splits on "\n" alone: a trailing newline or "\r" is kept
            for line in x.reason.split('\n') {
                out.push_str(&format!("    {line}\n"));
            }
        }
    }
    out
}

fn env_tag_block(tag: &EnvTagInfo, zone: Zone) -> String {
    format!(
        "Name: {}\nValue: {}\nLast updated at {} by {}\n",
        tag.name,
        tag.value,
        go_time(tag.modified_millis, zone),
        editor(&tag.editor_name, &tag.editor_login)
    )
}

/// Environment and revision tag JSON: times in the local zone unless
/// `--utc`, as Go converts them before encoding; members in the order of
/// Go's output structs, editor fields omitted when empty (`omitempty`).
fn env_tag_json(tag: &EnvTagInfo, zone: Zone) -> Ordered {
    let mut fields = vec![
        ("name", Ordered::string(&tag.name)),
        ("value", Ordered::string(&tag.value)),
        (
            "modified",
            Ordered::string(rfc3339(tag.modified_millis, zone)),
        ),
    ];
    push_editor(&mut fields, &tag.editor_login, &tag.editor_name);
    Ordered::Object(fields)
}

fn revision_tag_json(tag: &RevisionTagInfo, zone: Zone) -> Ordered {
    let mut fields = vec![
        ("name", Ordered::string(&tag.name)),
        ("revision", Ordered::number(tag.revision)),
        (
            "modified",
            Ordered::string(rfc3339(tag.modified_millis, zone)),
        ),
    ];
    push_editor(&mut fields, &tag.editor_login, &tag.editor_name);
    Ordered::Object(fields)
}

fn push_editor(fields: &mut Vec<(&'static str, Ordered)>, login: &str, name: &str) {
    if !login.is_empty() {
        fields.push(("editorLogin", Ordered::string(login)));
    }
    if !name.is_empty() {
        fields.push(("editorName", Ordered::string(name)));
    }
}

/// A revision as the reference re-encodes what it received
/// (`client.EnvironmentRevision`: field order, `retracted` and its
/// `byLogin`/`byName`/`reason` omitted when empty).
fn revision_json(rev: &RevisionInfo) -> Ordered {
    let mut fields = vec![
        ("number", Ordered::number(rev.number)),
        (
            "created",
            Ordered::string(rfc3339(rev.created_millis, Zone::Utc)),
        ),
        ("creatorLogin", Ordered::string(&rev.creator_login)),
        ("creatorName", Ordered::string(&rev.creator_name)),
        (
            "tags",
            Ordered::Array(rev.tags.iter().map(Ordered::string).collect()),
        ),
    ];
    if let Some(x) = &rev.retracted {
        let mut retracted = vec![
            ("replacement", Ordered::number(x.replacement)),
            ("at", Ordered::string(rfc3339(x.at_millis, Zone::Utc))),
        ];
        for (key, text) in [
            ("byLogin", &x.by_login),
            ("byName", &x.by_name),
            ("reason", &x.reason),
        ] {
            if !text.is_empty() {
                retracted.push((key, Ordered::string(text)));
            }
        }
        fields.push(("retracted", Ordered::Object(retracted)));
    }
    Ordered::Object(fields)
}

/// A table cell: numbers are right-aligned.
pub(crate) enum Cell {
    Text(String),
    Number(String),
}

/// go-pretty "light" table.
pub(crate) fn table(header: &[&str], rows: &[Vec<Cell>]) -> String {
    let text = |c: &Cell| match c {
        Cell::Text(t) | Cell::Number(t) => t.clone(),
    };
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (i, c) in row.iter().enumerate() {
            if let Some(w) = widths.get_mut(i) {
                *w = (*w).max(text(c).chars().count());
            }
        }
    }
    let rule = |l: &str, m: &str, r: &str| {
        let parts: Vec<String> = widths.iter().map(|w| "─".repeat(w + 2)).collect();
        format!("{l}{}{r}\n", parts.join(m))
    };
    let line = |cells: Vec<(String, bool)>| {
        let parts: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|((t, right), w)| {
                if *right {
                    format!(" {t:>w$} ")
                } else {
                    format!(" {t:<w$} ")
                }
            })
            .collect();
        format!("│{}│\n", parts.join("│"))
    };
    let mut out = rule("┌", "┬", "┐");
    out.push_str(&line(
        header.iter().map(|h| (h.to_string(), false)).collect(),
    ));
    out.push_str(&rule("├", "┼", "┤"));
    for row in rows {
        out.push_str(&line(
            row.iter()
                .map(|c| (text(c), matches!(c, Cell::Number(_))))
                .collect(),
        ));
    }
    out.push_str(&rule("└", "┴", "┘"));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn golden_table() {
        let rows = vec![vec![
            Cell::Text("latest".into()),
            Cell::Number("4".into()),
            Cell::Text("0001-01-01 00:00:00 +0000 UTC".into()),
            Cell::Text("<unknown>".into()),
        ]];
        assert_eq!(
            table(&["NAME", "REVISION", "MODIFIED", "EDITOR"], &rows),
            "┌────────┬──────────┬───────────────────────────────┬───────────┐\n│ NAME   │ REVISION │ MODIFIED                      │ EDITOR    │\n├────────┼──────────┼───────────────────────────────┼───────────┤\n│ latest │        4 │ 0001-01-01 00:00:00 +0000 UTC │ <unknown> │\n└────────┴──────────┴───────────────────────────────┴───────────┘\n"
        );
    }
}
