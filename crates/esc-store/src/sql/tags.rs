//! Revision tags (named pointers to revisions, plus the implicit `latest`)
//! and environment tags (key/value labels).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use super::environments::{EnvRow, find};
use super::{db_number, limit};
use crate::db::{Row, Tx, args};
use crate::error::StoreError;
use crate::model::{
    Author, EnvRef, EnvironmentTag, EnvironmentTagUpdate, LATEST_TAG, Page, RevisionTag, Timestamp,
};

const REVISION_TAG_COLUMNS: &str = "name, revision, created, modified, editor_login, editor_name";
const ENV_TAG_COLUMNS: &str = "id, name, value, created, modified, editor_login, editor_name";

fn check_revision_tag_name(name: &str) -> Result<(), StoreError> {
    if name.is_empty() {
        return Err(StoreError::invalid("a revision tag name must not be empty"));
    }
    if name == LATEST_TAG {
        return Err(StoreError::invalid(
            "the `latest` tag is built in and cannot be changed",
        ));
    }
    if name == "tags" {
        return Err(StoreError::invalid(
            "`tags` is reserved and cannot name a revision tag",
        ));
    }
    if name.starts_with(|c: char| c.is_ascii_digit()) {
        return Err(StoreError::invalid(
            "a revision tag name must not start with a digit (it would read as a revision number)",
        ));
    }
    Ok(())
}

fn latest_tag(row: &EnvRow) -> RevisionTag {
    RevisionTag {
        name: LATEST_TAG.to_owned(),
        revision: row.info.latest_revision,
        created: row.info.created,
        modified: row.info.modified,
        editor: None,
    }
}

fn revision_tag_from_row(row: &Row) -> Result<RevisionTag, StoreError> {
    Ok(RevisionTag {
        name: row.text(0)?,
        revision: row.number(1)?,
        created: Timestamp::from_unix_millis(row.int(2)?),
        modified: Timestamp::from_unix_millis(row.int(3)?),
        editor: Some(Author::new(row.text(4)?, row.text(5)?)),
    })
}

/// A revision that exists and is not retracted (tags may only point there).
async fn check_taggable(tx: &mut dyn Tx, row: &EnvRow, revision: u64) -> Result<(), StoreError> {
    let found = tx
        .query_opt(
            "SELECT retracted_at FROM revisions WHERE env_id = $1 AND number = $2",
            args![&row.info.id, db_number(revision)?],
        )
        .await?
        .ok_or_else(|| {
            StoreError::not_found(format!(
                "revision {revision} of environment {}",
                row.info.name
            ))
        })?;
    if found.opt_int(0)?.is_some() {
        return Err(StoreError::Retracted { revision });
    }
    Ok(())
}

pub(super) async fn create_revision_tag(
    tx: &mut dyn Tx,
    env: &EnvRef,
    name: &str,
    revision: Option<u64>,
    editor: &Author,
) -> Result<RevisionTag, StoreError> {
    check_revision_tag_name(name)?;
    let row = find(tx, env, true).await?;
    let revision = revision.unwrap_or(row.info.latest_revision);
    check_taggable(tx, &row, revision).await?;
    let now = Timestamp::now();
    tx.execute(
        "INSERT INTO revision_tags (env_id, name, revision, created, modified, editor_login, editor_name) \
         VALUES ($1, $2, $3, $4, $4, $5, $6)",
        args![&row.info.id, name, db_number(revision)?, now.unix_millis(), &editor.login, &editor.name],
    )
    .await
    .map_err(|error| {
        if error.is_unique_violation() {
            StoreError::already_exists(format!("revision tag {name}"))
        } else {
            error
        }
    })?;
    Ok(RevisionTag {
        name: name.to_owned(),
        revision,
        created: now,
        modified: now,
        editor: Some(editor.clone()),
    })
}

pub(super) async fn revision_tag(
    tx: &mut dyn Tx,
    row: &EnvRow,
    name: &str,
) -> Result<RevisionTag, StoreError> {
    if name == LATEST_TAG {
        return Ok(latest_tag(row));
    }
    let found = tx
        .query_opt(
            &format!(
                "SELECT {REVISION_TAG_COLUMNS} FROM revision_tags WHERE env_id = $1 AND name = $2"
            ),
            args![&row.info.id, name],
        )
        .await?
        .ok_or_else(|| StoreError::not_found(format!("revision tag {name}")))?;
    revision_tag_from_row(&found)
}

pub(super) async fn list_revision_tags(
    tx: &mut dyn Tx,
    env: &EnvRef,
    after: Option<&str>,
    count: u32,
) -> Result<Vec<RevisionTag>, StoreError> {
    let row = find(tx, env, false).await?;
    let after = after.unwrap_or("");
    let n_wanted = limit(count);
    let mut tags = tx
        .query(
            &format!(
                "SELECT {REVISION_TAG_COLUMNS} FROM revision_tags WHERE env_id = $1 AND name > $2 ORDER BY name LIMIT $3"
            ),
            args![&row.info.id, after, n_wanted],
        )
        .await?
        .iter()
        .map(revision_tag_from_row)
        .collect::<Result<Vec<_>, _>>()?;
    if LATEST_TAG > after {
        tags.push(latest_tag(&row));
        // Byte order, as both databases sort names (see the schema).
        tags.sort_by(|a, b| a.name.as_bytes().cmp(b.name.as_bytes()));
        tags.truncate(n_wanted as usize);
    }
    Ok(tags)
}

pub(super) async fn update_revision_tag(
    tx: &mut dyn Tx,
    env: &EnvRef,
    name: &str,
    revision: u64,
    editor: &Author,
) -> Result<RevisionTag, StoreError> {
    if name == LATEST_TAG {
        return Err(StoreError::invalid(
            "the `latest` tag is built in and cannot be changed",
        ));
    }
    let row = find(tx, env, true).await?;
    let existing = revision_tag(tx, &row, name).await?;
    check_taggable(tx, &row, revision).await?;
    let now = Timestamp::now();
    tx.execute(
        "UPDATE revision_tags SET revision = $1, modified = $2, editor_login = $3, editor_name = $4 \
         WHERE env_id = $5 AND name = $6",
        args![db_number(revision)?, now.unix_millis(), &editor.login, &editor.name, &row.info.id, name],
    )
    .await?;
    Ok(RevisionTag {
        revision,
        modified: now,
        editor: Some(editor.clone()),
        ..existing
    })
}

pub(super) async fn delete_revision_tag(
    tx: &mut dyn Tx,
    env: &EnvRef,
    name: &str,
) -> Result<(), StoreError> {
    if name == LATEST_TAG {
        return Err(StoreError::invalid(
            "the `latest` tag is built in and cannot be deleted",
        ));
    }
    let row = find(tx, env, true).await?;
    let n_deleted = tx
        .execute(
            "DELETE FROM revision_tags WHERE env_id = $1 AND name = $2",
            args![&row.info.id, name],
        )
        .await?;
    if n_deleted == 0 {
        return Err(StoreError::not_found(format!("revision tag {name}")));
    }
    Ok(())
}

fn env_tag_from_row(row: &Row) -> Result<EnvironmentTag, StoreError> {
    Ok(EnvironmentTag {
        id: row.text(0)?,
        name: row.text(1)?,
        value: row.text(2)?,
        created: Timestamp::from_unix_millis(row.int(3)?),
        modified: Timestamp::from_unix_millis(row.int(4)?),
        editor: Author::new(row.text(5)?, row.text(6)?),
    })
}

fn check_env_tag(name: &str, value: &str) -> Result<(), StoreError> {
    if name.is_empty() {
        return Err(StoreError::invalid("environment tag name cannot be empty"));
    }
    if value.is_empty() {
        return Err(StoreError::invalid("environment tag value cannot be empty"));
    }
    Ok(())
}

pub(super) async fn create_environment_tag(
    tx: &mut dyn Tx,
    env: &EnvRef,
    name: &str,
    value: &str,
    editor: &Author,
) -> Result<EnvironmentTag, StoreError> {
    check_env_tag(name, value)?;
    let row = find(tx, env, false).await?;
    let now = Timestamp::now();
    let id = uuid::Uuid::new_v4().to_string();
    tx.execute(
        "INSERT INTO environment_tags (id, env_id, name, value, created, modified, editor_login, editor_name) \
         VALUES ($1, $2, $3, $4, $5, $5, $6, $7)",
        args![id.as_str(), &row.info.id, name, value, now.unix_millis(), &editor.login, &editor.name],
    )
    .await
    .map_err(|error| {
        if error.is_unique_violation() {
            StoreError::already_exists(format!("environment tag {name}"))
        } else {
            error
        }
    })?;
    Ok(EnvironmentTag {
        id,
        name: name.to_owned(),
        value: value.to_owned(),
        created: now,
        modified: now,
        editor: editor.clone(),
    })
}

pub(super) async fn environment_tag(
    tx: &mut dyn Tx,
    env_id: &str,
    name: &str,
) -> Result<EnvironmentTag, StoreError> {
    let found = tx
        .query_opt(
            &format!(
                "SELECT {ENV_TAG_COLUMNS} FROM environment_tags WHERE env_id = $1 AND name = $2"
            ),
            args![env_id, name],
        )
        .await?
        .ok_or_else(|| StoreError::not_found(format!("environment tag {name}")))?;
    env_tag_from_row(&found)
}

pub(super) async fn list_environment_tags(
    tx: &mut dyn Tx,
    env: &EnvRef,
    page_token: Option<&str>,
    count: u32,
) -> Result<Page<EnvironmentTag>, StoreError> {
    let row = find(tx, env, false).await?;
    let after = match page_token.filter(|token| !token.is_empty()) {
        Some(token) => decode_tag_token(token)?,
        None => String::new(),
    };
    let n_wanted = limit(count);
    let mut items = tx
        .query(
            &format!(
                "SELECT {ENV_TAG_COLUMNS} FROM environment_tags WHERE env_id = $1 AND name > $2 ORDER BY name LIMIT $3"
            ),
            args![&row.info.id, after, n_wanted + 1],
        )
        .await?
        .iter()
        .map(env_tag_from_row)
        .collect::<Result<Vec<_>, _>>()?;
    let next = if items.len() as i64 > n_wanted {
        items.truncate(n_wanted as usize);
        items.last().map(|tag| URL_SAFE_NO_PAD.encode(&tag.name))
    } else {
        None
    };
    Ok(Page { items, next })
}

/// The name a page token of [`list_environment_tags`] stops at. Tokens are
/// the name in base64url, never `0` (the API's "no more pages", which a
/// tag may be named) nor empty.
fn decode_tag_token(token: &str) -> Result<String, StoreError> {
    let invalid = || StoreError::invalid("malformed continuation token");
    let bytes = URL_SAFE_NO_PAD.decode(token).map_err(|_| invalid())?;
    String::from_utf8(bytes).map_err(|_| invalid())
}

pub(super) async fn update_environment_tag(
    tx: &mut dyn Tx,
    env: &EnvRef,
    name: &str,
    update: &EnvironmentTagUpdate,
    editor: &Author,
) -> Result<EnvironmentTag, StoreError> {
    let row = find(tx, env, true).await?;
    let current = environment_tag(tx, &row.info.id, name).await?;
    if let Some(expected) = &update.expected_value
        && *expected != current.value
    {
        return Err(StoreError::Changed {
            what: format!("environment tag {name}"),
        });
    }
    let new_name = update
        .new_name
        .clone()
        .filter(|n| !n.is_empty())
        .unwrap_or(current.name.clone());
    let new_value = update
        .new_value
        .clone()
        .filter(|v| !v.is_empty())
        .unwrap_or(current.value.clone());
    let now = Timestamp::now();
    tx.execute(
        "UPDATE environment_tags SET name = $1, value = $2, modified = $3, editor_login = $4, editor_name = $5 \
         WHERE id = $6",
        args![new_name.as_str(), new_value.as_str(), now.unix_millis(), &editor.login, &editor.name, &current.id],
    )
    .await
    .map_err(|error| {
        if error.is_unique_violation() {
            StoreError::already_exists(format!("environment tag {new_name}"))
        } else {
            error
        }
    })?;
    Ok(EnvironmentTag {
        name: new_name,
        value: new_value,
        modified: now,
        editor: editor.clone(),
        ..current
    })
}

pub(super) async fn delete_environment_tag(
    tx: &mut dyn Tx,
    env: &EnvRef,
    name: &str,
) -> Result<(), StoreError> {
    let row = find(tx, env, false).await?;
    let n_deleted = tx
        .execute(
            "DELETE FROM environment_tags WHERE env_id = $1 AND name = $2",
            args![&row.info.id, name],
        )
        .await?;
    if n_deleted == 0 {
        return Err(StoreError::not_found(format!("environment tag {name}")));
    }
    Ok(())
}
