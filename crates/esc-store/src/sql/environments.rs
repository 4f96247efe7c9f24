//! Environments and their immutable revisions. Writers lock the environment
//! row (PostgreSQL `FOR UPDATE`; SQLite transactions are already exclusive),
//! compare the revision they read with `latest_revision`, and insert n+1; the
//! `(env_id, number)` primary key backs this up, so two writers can never
//! both create the same revision.

use std::collections::BTreeMap;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use super::{db_number, limit};
use crate::crypto::{EnvironmentCipher, MasterKey};
use crate::db::{Row, Tx, args};
use crate::error::StoreError;
use crate::model::{
    Author, CloneOptions, EnvRef, Environment, LATEST_TAG, Page, Retraction, Revision, RevisionAt,
    RevisionContent, SettingsUpdate, Timestamp,
};
use crate::store::{ResolvedRevision, SecretReencryptor};

const ENV_COLUMNS: &str =
    "id, org, project, name, created, modified, latest_revision, deletion_protected, data_key";
const REVISION_COLUMNS: &str = "number, created, author_login, author_name, retracted_at, \
     retracted_by_login, retracted_by_name, retracted_reason, replacement";

/// An environment row with its wrapped data key.
pub(super) struct EnvRow {
    pub(super) info: Environment,
    data_key: Vec<u8>,
}

impl EnvRow {
    pub(super) fn cipher(&self, master: &MasterKey) -> Result<EnvironmentCipher, StoreError> {
        master.unwrap_data_key(&self.info.id, &self.data_key)
    }
}

fn env_from_row(row: &Row) -> Result<EnvRow, StoreError> {
    Ok(EnvRow {
        info: Environment {
            id: row.text(0)?,
            name: EnvRef::new(row.text(1)?, row.text(2)?, row.text(3)?),
            created: Timestamp::from_unix_millis(row.int(4)?),
            modified: Timestamp::from_unix_millis(row.int(5)?),
            latest_revision: row.number(6)?,
            deletion_protected: row.bool(7)?,
        },
        data_key: row.bytes(8)?,
    })
}

/// The environment's row; `lock` takes the row lock writers serialize on.
pub(super) async fn find(tx: &mut dyn Tx, env: &EnvRef, lock: bool) -> Result<EnvRow, StoreError> {
    let suffix = if lock { tx.dialect().for_update() } else { "" };
    let sql = format!(
        "SELECT {ENV_COLUMNS} FROM environments WHERE org = $1 AND project = $2 AND name = $3{suffix}"
    );
    let row = tx
        .query_opt(&sql, args![&env.org, &env.project, &env.name])
        .await?
        .ok_or_else(|| StoreError::not_found(format!("environment {env}")))?;
    env_from_row(&row)
}

pub(super) async fn create(
    tx: &mut dyn Tx,
    master: &MasterKey,
    env: &EnvRef,
    author: &Author,
) -> Result<Environment, StoreError> {
    if env.org.is_empty() || env.project.is_empty() || env.name.is_empty() {
        return Err(StoreError::invalid(
            "organization, project and environment names must not be empty",
        ));
    }
    if tx
        .query_opt(
            "SELECT name FROM organizations WHERE name = $1",
            args![&env.org],
        )
        .await?
        .is_none()
    {
        return Err(StoreError::not_found(format!("organization {}", env.org)));
    }
    let now = Timestamp::now();
    tx.execute(
        "INSERT INTO projects (org, name, created) VALUES ($1, $2, $3) ON CONFLICT (org, name) DO NOTHING",
        args![&env.org, &env.project, now.unix_millis()],
    )
    .await?;
    let id = uuid::Uuid::new_v4().to_string();
    let (wrapped_key, cipher) = master.new_data_key(&id)?;
    tx.execute(
        "INSERT INTO environments (id, org, project, name, created, modified, latest_revision, deletion_protected, data_key) \
         VALUES ($1, $2, $3, $4, $5, $5, 1, FALSE, $6)",
        args![id.as_str(), &env.org, &env.project, &env.name, now.unix_millis(), wrapped_key],
    )
    .await
    .map_err(|error| {
        if error.is_unique_violation() {
            StoreError::already_exists(format!("environment {env}"))
        } else {
            error
        }
    })?;
    insert_revision(tx, &cipher, 1, b"", author, now).await?;
    Ok(Environment {
        id,
        name: env.clone(),
        created: now,
        modified: now,
        latest_revision: 1,
        deletion_protected: false,
    })
}

async fn insert_revision(
    tx: &mut dyn Tx,
    cipher: &EnvironmentCipher,
    number: u64,
    yaml: &[u8],
    author: &Author,
    now: Timestamp,
) -> Result<(), StoreError> {
    let body = cipher.seal("revision", &number.to_string(), yaml)?;
    tx.execute(
        "INSERT INTO revisions (env_id, number, body, author_login, author_name, created) VALUES ($1, $2, $3, $4, $5, $6)",
        args![
            cipher.environment_id(),
            db_number(number)?,
            body,
            &author.login,
            &author.name,
            now.unix_millis()
        ],
    )
    .await?;
    Ok(())
}

pub(super) async fn list(
    tx: &mut dyn Tx,
    master: &MasterKey,
    org: Option<&str>,
    page_token: Option<&str>,
    count: u32,
) -> Result<Page<Environment>, StoreError> {
    let scope = token_scope(org);
    let (after_org, after_project, after_name) = match page_token.filter(|t| !t.is_empty()) {
        Some(token) => decode_env_token(master, &scope, token)?,
        None => (String::new(), String::new(), String::new()),
    };
    let n_wanted = limit(count);
    let rows = match org {
        Some(org) => {
            tx.query(
                &format!(
                    "SELECT {ENV_COLUMNS} FROM environments WHERE org = $1 AND (org, project, name) > ($2, $3, $4) \
                     ORDER BY org, project, name LIMIT $5"
                ),
                args![org, after_org, after_project, after_name, n_wanted + 1],
            )
            .await?
        }
        None => {
            tx.query(
                &format!(
                    "SELECT {ENV_COLUMNS} FROM environments WHERE (org, project, name) > ($1, $2, $3) \
                     ORDER BY org, project, name LIMIT $4"
                ),
                args![after_org, after_project, after_name, n_wanted + 1],
            )
            .await?
        }
    };
    let mut items = rows
        .iter()
        .map(|row| env_from_row(row).map(|r| r.info))
        .collect::<Result<Vec<_>, _>>()?;
    let next = if items.len() as i64 > n_wanted {
        items.truncate(n_wanted as usize);
        match items.last() {
            Some(last) => Some(encode_env_token(master, &scope, &last.name)?),
            None => None,
        }
    } else {
        None
    };
    Ok(Page { items, next })
}

/// What a listing's page tokens are bound to: a token of one
/// organization's listing is refused by another's.
fn token_scope(org: Option<&str>) -> String {
    match org {
        Some(org) => format!("org {org}"),
        None => "all".to_owned(),
    }
}

/// A page token is the last row's key sealed under the master key: the
/// caller may be shown less than the rows read (esc-service drops what it
/// may not read), and a plain key would name the environment it stopped
/// at. Sealing also makes tokens unforgeable.
fn encode_env_token(master: &MasterKey, scope: &str, env: &EnvRef) -> Result<String, StoreError> {
    let key = format!("{}\0{}\0{}", env.org, env.project, env.name);
    let sealed = master.seal_global("page-token", scope, key.as_bytes())?;
    Ok(URL_SAFE_NO_PAD.encode(sealed))
}

fn decode_env_token(
    master: &MasterKey,
    scope: &str,
    token: &str,
) -> Result<(String, String, String), StoreError> {
    let invalid = || StoreError::invalid("malformed continuation token");
    let sealed = URL_SAFE_NO_PAD.decode(token).map_err(|_| invalid())?;
    let key = master
        .open_global("page-token", scope, &sealed)
        .map_err(|_| invalid())?;
    let text = key.expose_str().ok_or_else(invalid)?;
    let mut parts = text.split('\0');
    match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some(org), Some(project), Some(name), None) => {
            Ok((org.into(), project.into(), name.into()))
        }
        _ => Err(invalid()),
    }
}

pub(super) async fn delete(tx: &mut dyn Tx, env: &EnvRef) -> Result<(), StoreError> {
    let row = find(tx, env, true).await?;
    if row.info.deletion_protected {
        return Err(StoreError::DeletionProtected {
            env: env.to_string(),
        });
    }
    // Tags first: they reference revisions, and not every SQLite build
    // orders cascades the way the foreign keys would need.
    tx.execute(
        "DELETE FROM revision_tags WHERE env_id = $1",
        args![&row.info.id],
    )
    .await?;
    // no foreign key cascades to sessions (schema version 6)
    tx.execute(
        "DELETE FROM sessions WHERE env_id = $1",
        args![&row.info.id],
    )
    .await?;
    tx.execute(
        "DELETE FROM environments WHERE id = $1",
        args![&row.info.id],
    )
    .await?;
    Ok(())
}

pub(super) async fn update_settings(
    tx: &mut dyn Tx,
    env: &EnvRef,
    update: &SettingsUpdate,
) -> Result<Environment, StoreError> {
    let mut row = find(tx, env, true).await?;
    if let Some(protected) = update.deletion_protected {
        let now = Timestamp::now();
        tx.execute(
            "UPDATE environments SET deletion_protected = $1, modified = $2 WHERE id = $3",
            args![protected, now.unix_millis(), &row.info.id],
        )
        .await?;
        row.info.deletion_protected = protected;
        row.info.modified = now;
    }
    Ok(row.info)
}

pub(super) async fn update(
    tx: &mut dyn Tx,
    master: &MasterKey,
    env: &EnvRef,
    yaml: &[u8],
    expected_revision: Option<u64>,
    author: &Author,
) -> Result<Revision, StoreError> {
    let row = find(tx, env, true).await?;
    check_expected(&row, expected_revision)?;
    write_revision(tx, master, &row, yaml, author).await
}

fn check_expected(row: &EnvRow, expected_revision: Option<u64>) -> Result<(), StoreError> {
    match expected_revision {
        Some(expected) if expected != row.info.latest_revision => Err(StoreError::Conflict {
            current_revision: row.info.latest_revision,
        }),
        _ => Ok(()),
    }
}

/// Appends revision n+1 to a locked environment row.
async fn write_revision(
    tx: &mut dyn Tx,
    master: &MasterKey,
    row: &EnvRow,
    yaml: &[u8],
    author: &Author,
) -> Result<Revision, StoreError> {
    let current = row.info.latest_revision;
    let number = current + 1;
    let now = Timestamp::now();
    let cipher = row.cipher(master)?;
    insert_revision(tx, &cipher, number, yaml, author, now)
        .await
        .map_err(|error| {
            if error.is_unique_violation() {
                StoreError::Conflict {
                    current_revision: number,
                }
            } else {
                error
            }
        })?;
    let n_changed = tx
        .execute(
            "UPDATE environments SET latest_revision = $1, modified = $2 WHERE id = $3 AND latest_revision = $4",
            args![db_number(number)?, now.unix_millis(), &row.info.id, db_number(current)?],
        )
        .await?;
    if n_changed != 1 {
        return Err(StoreError::Conflict {
            current_revision: number,
        });
    }
    Ok(Revision {
        number,
        created: now,
        author: author.clone(),
        tags: vec![LATEST_TAG.to_owned()],
        retracted: None,
    })
}

fn revision_from_row(row: &Row, tags: Vec<String>) -> Result<Revision, StoreError> {
    let retracted = match row.opt_int(4)? {
        Some(at) => Some(Retraction {
            replacement: row.number(8)?,
            at: Timestamp::from_unix_millis(at),
            by: Author::new(row.text(5)?, row.text(6)?),
            reason: row.opt_text(7)?.unwrap_or_default(),
        }),
        None => None,
    };
    Ok(Revision {
        number: row.number(0)?,
        created: Timestamp::from_unix_millis(row.int(1)?),
        author: Author::new(row.text(2)?, row.text(3)?),
        tags,
        retracted,
    })
}

/// Revision number → sorted tag names, with `latest` on the newest.
async fn tags_by_revision(
    tx: &mut dyn Tx,
    row: &EnvRow,
) -> Result<BTreeMap<u64, Vec<String>>, StoreError> {
    let mut map: BTreeMap<u64, Vec<String>> = BTreeMap::new();
    for tag in tx
        .query(
            "SELECT name, revision FROM revision_tags WHERE env_id = $1",
            args![&row.info.id],
        )
        .await?
    {
        map.entry(tag.number(1)?).or_default().push(tag.text(0)?);
    }
    map.entry(row.info.latest_revision)
        .or_default()
        .push(LATEST_TAG.to_owned());
    for names in map.values_mut() {
        names.sort();
    }
    Ok(map)
}

pub(super) async fn revision(
    tx: &mut dyn Tx,
    master: &MasterKey,
    row: &EnvRow,
    number: u64,
) -> Result<RevisionContent, StoreError> {
    let found = tx
        .query_opt(
            &format!(
                "SELECT {REVISION_COLUMNS}, body FROM revisions WHERE env_id = $1 AND number = $2"
            ),
            args![&row.info.id, db_number(number)?],
        )
        .await?
        .ok_or_else(|| {
            StoreError::not_found(format!(
                "revision {number} of environment {}",
                row.info.name
            ))
        })?;
    let mut tags = tags_by_revision(tx, row).await?;
    let revision = revision_from_row(&found, tags.remove(&number).unwrap_or_default())?;
    if revision.retracted.is_some() {
        return Err(StoreError::Retracted { revision: number });
    }
    let yaml = row
        .cipher(master)?
        .open("revision", &number.to_string(), &found.bytes(9)?)?;
    Ok(RevisionContent { revision, yaml })
}

/// The environment and prefixed revision columns of [`revision_at`]'s query.
const JOINED_COLUMNS: &str = "e.id, e.org, e.project, e.name, e.created, e.modified, \
     e.latest_revision, e.deletion_protected, e.data_key, r.number, r.created, r.author_login, \
     r.author_name, r.retracted_at, r.retracted_by_login, r.retracted_by_name, \
     r.retracted_reason, r.replacement, r.body, t.name";
const N_ENV_COLUMNS: usize = 9;
/// Where the revision's own columns end in a joined row (the body is next).
const N_JOINED_REVISION_COLUMNS: usize = 9;

/// An environment and one of its revisions (by number or tag, `latest`
/// included) with the revision's tags, in one statement: one round trip
/// where `find` + `revision` take three.
/// Targets resolved per statement (4 parameters each).
pub(super) const RESOLVE_CHUNK: usize = 128;

/// One `UNION ALL` statement resolving every target to the environment id
/// and revision number it names now (see `Store::resolve_revisions`).
pub(super) async fn resolve_revisions(
    tx: &mut dyn Tx,
    targets: &[(EnvRef, RevisionAt<'_>)],
) -> Result<Vec<Option<ResolvedRevision>>, StoreError> {
    if targets.is_empty() {
        return Ok(Vec::new());
    }
    let mut sql = String::new();
    let mut params = Vec::with_capacity(targets.len() * 4);
    for (idx, (env, at)) in targets.iter().enumerate() {
        let first = params.len() + 1;
        params.extend(args![&env.org, &env.project, &env.name]);
        let (org, project, name, selector) = (first, first + 1, first + 2, first + 3);
        let join = match at {
            RevisionAt::Tag(LATEST_TAG) => {
                "JOIN revisions r ON r.env_id = e.id AND r.number = e.latest_revision".to_owned()
            }
            RevisionAt::Number(number) => {
                params.extend(args![db_number(*number)?]);
                format!("JOIN revisions r ON r.env_id = e.id AND r.number = ${selector}")
            }
            RevisionAt::Tag(tag) => {
                params.extend(args![*tag]);
                format!(
                    "JOIN revision_tags s ON s.env_id = e.id AND s.name = ${selector} \
                     JOIN revisions r ON r.env_id = e.id AND r.number = s.revision"
                )
            }
        };
        if idx > 0 {
            sql.push_str(" UNION ALL ");
        }
        // `idx` is ours, not input: formatting it into the text is safe.
        sql.push_str(&format!(
            "SELECT {idx}, e.id, r.number FROM environments e {join} \
             WHERE e.org = ${org} AND e.project = ${project} AND e.name = ${name} \
             AND r.retracted_at IS NULL"
        ));
    }
    let mut resolved = vec![None; targets.len()];
    for row in tx.query(&sql, params).await? {
        let slot = usize::try_from(row.int(0)?)
            .ok()
            .and_then(|idx| resolved.get_mut(idx))
            .ok_or_else(|| StoreError::Corrupt {
                table: "query result",
                reason: "resolved a target that was not asked for".into(),
            })?;
        *slot = Some(ResolvedRevision {
            environment_id: row.text(1)?,
            number: row.number(2)?,
        });
    }
    Ok(resolved)
}

pub(super) async fn revision_at(
    tx: &mut dyn Tx,
    master: &MasterKey,
    env: &EnvRef,
    at: RevisionAt<'_>,
) -> Result<(EnvRow, RevisionContent), StoreError> {
    const WHERE: &str = "LEFT JOIN revision_tags t ON t.env_id = e.id AND t.revision = r.number \
         WHERE e.org = $1 AND e.project = $2 AND e.name = $3";
    let (sql, args) = match at {
        RevisionAt::Tag(LATEST_TAG) => (
            format!(
                "SELECT {JOINED_COLUMNS}, NULL FROM environments e \
                 LEFT JOIN revisions r ON r.env_id = e.id AND r.number = e.latest_revision {WHERE}"
            ),
            args![&env.org, &env.project, &env.name],
        ),
        RevisionAt::Number(number) => (
            format!(
                "SELECT {JOINED_COLUMNS}, NULL FROM environments e \
                 LEFT JOIN revisions r ON r.env_id = e.id AND r.number = $4 {WHERE}"
            ),
            args![&env.org, &env.project, &env.name, db_number(number)?],
        ),
        RevisionAt::Tag(tag) => (
            format!(
                "SELECT {JOINED_COLUMNS}, selected.name FROM environments e \
                 LEFT JOIN revision_tags selected ON selected.env_id = e.id AND selected.name = $4 \
                 LEFT JOIN revisions r ON r.env_id = e.id AND r.number = selected.revision {WHERE}"
            ),
            args![&env.org, &env.project, &env.name, tag],
        ),
    };
    let mut rows = tx.query(&sql, args).await?.into_iter();
    let first = rows
        .next()
        .ok_or_else(|| StoreError::not_found(format!("environment {env}")))?;
    let tag_column = N_ENV_COLUMNS + N_JOINED_REVISION_COLUMNS + 2;
    if let RevisionAt::Tag(tag) = at
        && tag != LATEST_TAG
        && first.opt_text(tag_column)?.is_none()
    {
        return Err(StoreError::not_found(format!("revision tag {tag}")));
    }
    let mut values = first.values;
    let revision_values = values.split_off(N_ENV_COLUMNS);
    let row = env_from_row(&Row { values })?;
    let revision = Row {
        values: revision_values,
    };
    let Some(number) = revision.opt_number(0)? else {
        let number = match at {
            RevisionAt::Number(number) => number.to_string(),
            RevisionAt::Tag(_) => row.info.latest_revision.to_string(),
        };
        return Err(StoreError::not_found(format!(
            "revision {number} of environment {}",
            row.info.name
        )));
    };
    let mut tags: Vec<String> = std::iter::once(revision.opt_text(N_JOINED_REVISION_COLUMNS + 1))
        .chain(rows.map(|more| more.opt_text(tag_column - 1)))
        .filter_map(Result::transpose)
        .collect::<Result<_, _>>()?;
    if number == row.info.latest_revision {
        tags.push(LATEST_TAG.to_owned());
    }
    tags.sort();
    let found = revision_from_row(&revision, tags)?;
    if found.retracted.is_some() {
        return Err(StoreError::Retracted { revision: number });
    }
    let yaml = row.cipher(master)?.open(
        "revision",
        &number.to_string(),
        &revision.bytes(N_JOINED_REVISION_COLUMNS)?,
    )?;
    Ok((
        row,
        RevisionContent {
            revision: found,
            yaml,
        },
    ))
}

pub(super) async fn list_revisions(
    tx: &mut dyn Tx,
    env: &EnvRef,
    before: Option<u64>,
    count: u32,
) -> Result<Vec<Revision>, StoreError> {
    let row = find(tx, env, false).await?;
    let before = match before {
        Some(0) | None => i64::MAX,
        Some(before) => i64::try_from(before).unwrap_or(i64::MAX),
    };
    let rows = tx
        .query(
            &format!(
                "SELECT {REVISION_COLUMNS} FROM revisions WHERE env_id = $1 AND number < $2 ORDER BY number DESC LIMIT $3"
            ),
            args![&row.info.id, before, limit(count)],
        )
        .await?;
    let mut tags = tags_by_revision(tx, &row).await?;
    rows.iter()
        .map(|r| revision_from_row(r, tags.remove(&r.number(0)?).unwrap_or_default()))
        .collect()
}

pub(super) async fn retract(
    tx: &mut dyn Tx,
    env: &EnvRef,
    number: u64,
    replacement: Option<u64>,
    reason: &str,
    by: &Author,
) -> Result<Revision, StoreError> {
    let row = find(tx, env, true).await?;
    if number == row.info.latest_revision {
        return Err(StoreError::invalid(
            "the latest revision cannot be retracted",
        ));
    }
    let target = tx
        .query_opt(
            "SELECT retracted_at FROM revisions WHERE env_id = $1 AND number = $2",
            args![&row.info.id, db_number(number)?],
        )
        .await?
        .ok_or_else(|| StoreError::not_found(format!("revision {number} of environment {env}")))?;
    if target.opt_int(0)?.is_some() {
        return Err(StoreError::invalid(format!(
            "revision {number} is already retracted"
        )));
    }
    let replacement = match replacement {
        Some(replacement) => {
            if replacement == number {
                return Err(StoreError::invalid("a revision cannot replace itself"));
            }
            let found = tx
                .query_opt(
                    "SELECT retracted_at FROM revisions WHERE env_id = $1 AND number = $2",
                    args![&row.info.id, db_number(replacement)?],
                )
                .await?
                .ok_or_else(|| StoreError::not_found(format!("replacement revision {replacement}")))?;
            if found.opt_int(0)?.is_some() {
                return Err(StoreError::invalid(format!(
                    "replacement revision {replacement} is retracted"
                )));
            }
            replacement
        }
        None => tx
            .query_opt(
                "SELECT number FROM revisions WHERE env_id = $1 AND number < $2 AND retracted_at IS NULL \
                 ORDER BY number DESC LIMIT 1",
                args![&row.info.id, db_number(number)?],
            )
            .await?
            .ok_or_else(|| StoreError::invalid(format!("no earlier revision can replace revision {number}")))?
            .number(0)?,
    };
    let now = Timestamp::now();
    tx.execute(
        "UPDATE revisions SET retracted_at = $1, retracted_by_login = $2, retracted_by_name = $3, \
         retracted_reason = $4, replacement = $5 WHERE env_id = $6 AND number = $7",
        args![
            now.unix_millis(),
            &by.login,
            &by.name,
            reason,
            db_number(replacement)?,
            &row.info.id,
            db_number(number)?
        ],
    )
    .await?;
    tx.execute(
        "UPDATE revision_tags SET revision = $1, modified = $2, editor_login = $3, editor_name = $4 \
         WHERE env_id = $5 AND revision = $6",
        args![
            db_number(replacement)?,
            now.unix_millis(),
            &by.login,
            &by.name,
            &row.info.id,
            db_number(number)?
        ],
    )
    .await?;
    let found = tx
        .query_opt(
            &format!("SELECT {REVISION_COLUMNS} FROM revisions WHERE env_id = $1 AND number = $2"),
            args![&row.info.id, db_number(number)?],
        )
        .await?
        .ok_or_else(|| StoreError::not_found(format!("revision {number} of environment {env}")))?;
    revision_from_row(&found, Vec::new())
}

pub(super) async fn rollback(
    tx: &mut dyn Tx,
    master: &MasterKey,
    env: &EnvRef,
    to: u64,
    expected_revision: Option<u64>,
    author: &Author,
) -> Result<Revision, StoreError> {
    let row = find(tx, env, true).await?;
    check_expected(&row, expected_revision)?;
    let old = revision(tx, master, &row, to).await?;
    write_revision(tx, master, &row, old.yaml.expose(), author).await
}

/// Copies `source` to the new environment `destination` (see
/// [`crate::Store::clone_environment`]).
pub(super) async fn clone(
    tx: &mut dyn Tx,
    master: &MasterKey,
    source: &EnvRef,
    destination: &EnvRef,
    options: &CloneOptions,
    author: &Author,
    reencrypt: &dyn SecretReencryptor,
) -> Result<Environment, StoreError> {
    let src = find(tx, source, false).await?;
    check_expected(&src, options.source_revision)?;
    let src_cipher = src.cipher(master)?;
    // Creates the row, its data key and an empty revision 1 (replaced below).
    let mut created = create(tx, master, destination, author).await?;
    let dst = find(tx, destination, true).await?;
    let dst_cipher = dst.cipher(master)?;
    tx.execute(
        "DELETE FROM revisions WHERE env_id = $1",
        args![&dst.info.id],
    )
    .await?;
    let copy_body = |number: u64, sealed: &[u8]| -> Result<Vec<u8>, StoreError> {
        let plain = src_cipher.open("revision", &number.to_string(), sealed)?;
        reencrypt.reencrypt(&src_cipher, &dst_cipher, plain.expose())
    };
    let latest = if options.preserve_history {
        let rows = tx
            .query(
                &format!("SELECT {REVISION_COLUMNS}, body FROM revisions WHERE env_id = $1 ORDER BY number"),
                args![&src.info.id],
            )
            .await?;
        for row in &rows {
            let number = row.number(0)?;
            let yaml = copy_body(number, &row.bytes(9)?)?;
            let body = dst_cipher.seal("revision", &number.to_string(), &yaml)?;
            tx.execute(
                "INSERT INTO revisions (env_id, number, body, author_login, author_name, created, retracted_at, \
                 retracted_by_login, retracted_by_name, retracted_reason, replacement) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
                args![
                    &dst.info.id,
                    row.int(0)?,
                    body,
                    row.text(2)?,
                    row.text(3)?,
                    row.int(1)?,
                    row.opt_int(4)?,
                    row.opt_text(5)?,
                    row.opt_text(6)?,
                    row.opt_text(7)?,
                    row.opt_int(8)?
                ],
            )
            .await?;
        }
        if options.preserve_revision_tags {
            tx.execute(
                "INSERT INTO revision_tags (env_id, name, revision, created, modified, editor_login, editor_name) \
                 SELECT $1, name, revision, created, modified, editor_login, editor_name FROM revision_tags \
                 WHERE env_id = $2",
                args![&dst.info.id, &src.info.id],
            )
            .await?;
        }
        src.info.latest_revision
    } else {
        let number = src.info.latest_revision;
        let row = tx
            .query_opt(
                "SELECT body FROM revisions WHERE env_id = $1 AND number = $2",
                args![&src.info.id, db_number(number)?],
            )
            .await?
            .ok_or_else(|| {
                StoreError::not_found(format!("revision {number} of environment {source}"))
            })?;
        let yaml = copy_body(number, &row.bytes(0)?)?;
        insert_revision(tx, &dst_cipher, 1, &yaml, author, created.created).await?;
        1
    };
    if options.preserve_environment_tags {
        for tag in tx
            .query(
                "SELECT name, value, created, modified, editor_login, editor_name FROM environment_tags \
                 WHERE env_id = $1",
                args![&src.info.id],
            )
            .await?
        {
            tx.execute(
                "INSERT INTO environment_tags (id, env_id, name, value, created, modified, editor_login, editor_name) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                args![
                    uuid::Uuid::new_v4().to_string(),
                    &dst.info.id,
                    tag.text(0)?,
                    tag.text(1)?,
                    tag.int(2)?,
                    tag.int(3)?,
                    tag.text(4)?,
                    tag.text(5)?
                ],
            )
            .await?;
        }
    }
    tx.execute(
        "UPDATE environments SET latest_revision = $1 WHERE id = $2",
        args![db_number(latest)?, &dst.info.id],
    )
    .await?;
    created.latest_revision = latest;
    Ok(created)
}
