//! Environment drafts (change requests, spec/API.md 5.12): a proposed
//! definition written against one revision, editable while open, applied as
//! a new revision only while that revision is still the newest.
//!
//! Bodies are sealed with the environment's data key like revisions (the
//! service has already put every secret under `fn::secret` ciphertext); the
//! seal's context names the draft and its edit count, so a body cannot be
//! swapped between drafts or edits unnoticed.

use super::db_number;
use super::environments;
use crate::crypto::{MasterKey, Plaintext};
use crate::db::{Row, Tx, args};
use crate::error::StoreError;
use crate::model::{Author, EnvRef, Revision, Timestamp};

/// Where a draft is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum DraftState {
    /// Editable; not yet submitted.
    Open,
    /// Submitted and waiting (kept for servers with approvals; this one
    /// applies on submit).
    Submitted,
    /// Written as a revision ([`Draft::applied_revision`]).
    Applied,
}

impl DraftState {
    fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Submitted => "submitted",
            Self::Applied => "applied",
        }
    }

    fn parse(text: &str) -> Result<Self, StoreError> {
        match text {
            "open" => Ok(Self::Open),
            "submitted" => Ok(Self::Submitted),
            "applied" => Ok(Self::Applied),
            other => Err(StoreError::Corrupt {
                table: "drafts",
                reason: format!("unknown state {other:?}"),
            }),
        }
    }
}

/// A draft's metadata.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Draft {
    /// Its id (a UUID), unique across the store.
    pub id: String,
    /// The environment it changes.
    pub env: EnvRef,
    /// The revision it was written against.
    pub base_revision: u64,
    /// Edits so far (1 when created); the etag names it.
    pub version: u64,
    /// Open, submitted or applied.
    pub state: DraftState,
    /// Who created it.
    pub author: Author,
    /// When it was created.
    pub created: Timestamp,
    /// When it last changed.
    pub modified: Timestamp,
    /// The description given on submit (empty if none).
    pub description: String,
    /// The revision it became, once applied.
    pub applied_revision: Option<u64>,
}

/// A draft with its definition.
#[derive(Debug)]
pub struct DraftContent {
    /// The metadata.
    pub draft: Draft,
    /// The YAML text as stored (secrets as ciphertext).
    pub yaml: Plaintext,
}

const COLUMNS: &str = "d.id, e.org, e.project, e.name, d.base_revision, d.version, d.state, \
     d.author_login, d.author_name, d.created, d.modified, d.description, d.applied_revision, d.body";

fn draft_from_row(row: &Row) -> Result<Draft, StoreError> {
    Ok(Draft {
        id: row.text(0)?,
        env: EnvRef::new(row.text(1)?, row.text(2)?, row.text(3)?),
        base_revision: row.number(4)?,
        version: row.number(5)?,
        state: DraftState::parse(&row.text(6)?)?,
        author: Author::new(row.text(7)?, row.text(8)?),
        created: Timestamp::from_unix_millis(row.int(9)?),
        modified: Timestamp::from_unix_millis(row.int(10)?),
        description: row.text(11)?,
        applied_revision: match row.opt_int(12)? {
            Some(_) => Some(row.number(12)?),
            None => None,
        },
    })
}

fn seal_context(id: &str, version: u64) -> String {
    format!("{id}/{version}")
}

/// Creates an open draft of `env` against its newest revision; with
/// `expected_revision`, `Conflict` unless that is still the newest.
pub(super) async fn create(
    tx: &mut dyn Tx,
    master: &MasterKey,
    env: &EnvRef,
    yaml: &[u8],
    expected_revision: Option<u64>,
    author: &Author,
) -> Result<Draft, StoreError> {
    let row = environments::find(tx, env, false).await?;
    let base = row.info.latest_revision;
    if let Some(expected) = expected_revision
        && expected != base
    {
        return Err(StoreError::Conflict {
            current_revision: base,
        });
    }
    let id = uuid::Uuid::new_v4().to_string();
    let cipher = row.cipher(master)?;
    let body = cipher.seal("draft", &seal_context(&id, 1), yaml)?;
    let now = Timestamp::now();
    tx.execute(
        "INSERT INTO drafts (id, env_id, base_revision, version, body, state, author_login, author_name, created, modified) \
         VALUES ($1, $2, $3, 1, $4, 'open', $5, $6, $7, $7)",
        args![
            id.as_str(),
            &row.info.id,
            db_number(base)?,
            body,
            &author.login,
            &author.name,
            now.unix_millis()
        ],
    )
    .await?;
    Ok(Draft {
        id,
        env: env.clone(),
        base_revision: base,
        version: 1,
        state: DraftState::Open,
        author: author.clone(),
        created: now,
        modified: now,
        description: String::new(),
        applied_revision: None,
    })
}

/// The draft `id` of organization `org` and its sealed body; `lock` takes
/// the row lock writers serialize on.
async fn find(
    tx: &mut dyn Tx,
    org: &str,
    id: &str,
    lock: bool,
) -> Result<(Draft, Vec<u8>), StoreError> {
    let suffix = if lock { tx.dialect().for_update() } else { "" };
    let sql = format!(
        "SELECT {COLUMNS} FROM drafts d JOIN environments e ON e.id = d.env_id \
         WHERE d.id = $1 AND e.org = $2{suffix}"
    );
    let row = tx
        .query_opt(&sql, args![id, org])
        .await?
        .ok_or_else(|| StoreError::not_found(format!("draft {id}")))?;
    Ok((draft_from_row(&row)?, row.bytes(13)?))
}

/// A draft with its definition.
pub(super) async fn get(
    tx: &mut dyn Tx,
    master: &MasterKey,
    org: &str,
    id: &str,
) -> Result<DraftContent, StoreError> {
    let (draft, body) = find(tx, org, id, false).await?;
    let cipher = environments::find(tx, &draft.env, false)
        .await?
        .cipher(master)?;
    let yaml = cipher.open("draft", &seal_context(&draft.id, draft.version), &body)?;
    Ok(DraftContent { draft, yaml })
}

/// Replaces an open draft's definition. With `expected_version`, `Changed`
/// unless the draft is still at that edit; `Invalid` once submitted.
pub(super) async fn update(
    tx: &mut dyn Tx,
    master: &MasterKey,
    org: &str,
    id: &str,
    yaml: &[u8],
    expected_version: Option<u64>,
) -> Result<Draft, StoreError> {
    let (mut draft, _) = find(tx, org, id, true).await?;
    if draft.state != DraftState::Open {
        return Err(StoreError::invalid(format!(
            "change request {id} is not a draft any more"
        )));
    }
    if let Some(expected) = expected_version
        && expected != draft.version
    {
        return Err(StoreError::Changed {
            what: format!("draft {id}"),
        });
    }
    let cipher = environments::find(tx, &draft.env, false)
        .await?
        .cipher(master)?;
    let version = draft.version + 1;
    let body = cipher.seal("draft", &seal_context(id, version), yaml)?;
    let now = Timestamp::now();
    let n_changed = tx
        .execute(
            "UPDATE drafts SET body = $1, version = $2, modified = $3 WHERE id = $4 AND version = $5",
            args![
                body,
                db_number(version)?,
                now.unix_millis(),
                id,
                db_number(draft.version)?
            ],
        )
        .await?;
    if n_changed != 1 {
        return Err(StoreError::Changed {
            what: format!("draft {id}"),
        });
    }
    draft.version = version;
    draft.modified = now;
    Ok(draft)
}

/// Applies an open draft as the environment's next revision and marks it
/// applied, in one transaction: `Invalid` once submitted, `Conflict` (and
/// nothing changes) when the environment moved on from the draft's base.
pub(super) async fn apply(
    tx: &mut dyn Tx,
    master: &MasterKey,
    org: &str,
    id: &str,
    description: &str,
    author: &Author,
) -> Result<(Draft, Revision), StoreError> {
    let (mut draft, body) = find(tx, org, id, true).await?;
    if draft.state != DraftState::Open {
        return Err(StoreError::invalid(format!(
            "change request {id} is not a draft any more"
        )));
    }
    let cipher = environments::find(tx, &draft.env, false)
        .await?
        .cipher(master)?;
    let yaml = cipher.open("draft", &seal_context(&draft.id, draft.version), &body)?;
    let revision = environments::update(
        tx,
        master,
        &draft.env,
        yaml.expose(),
        Some(draft.base_revision),
        author,
    )
    .await?;
    let now = Timestamp::now();
    tx.execute(
        "UPDATE drafts SET state = $1, applied_revision = $2, description = $3, modified = $4 WHERE id = $5",
        args![
            DraftState::Applied.as_str(),
            db_number(revision.number)?,
            description,
            now.unix_millis(),
            id
        ],
    )
    .await?;
    draft.state = DraftState::Applied;
    draft.applied_revision = Some(revision.number);
    draft.description = description.to_owned();
    draft.modified = now;
    Ok((draft, revision))
}
