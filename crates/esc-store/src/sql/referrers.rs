//! The newest definition of every environment of an organization, a page
//! per statement: what looking for an environment's referrers (spec/API.md
//! #36) reads. Bodies are sealed with each environment's data key, so the
//! database cannot search them; the caller parses what it needs.

use crate::crypto::{MasterKey, Plaintext};
use crate::db::{Tx, args};
use crate::error::StoreError;
use crate::model::EnvRef;

/// An environment with the text of its newest revision.
#[derive(Clone, Debug)]
pub struct NewestDefinition {
    /// The environment.
    pub env: EnvRef,
    /// Its newest revision's number.
    pub revision: u64,
    /// That revision's YAML text as stored (secrets as ciphertext).
    pub yaml: Plaintext,
}

/// Up to `limit` environments of `org` after `after`, in (project, name)
/// order, with their newest definitions. The newest revision is never
/// retracted (the store refuses that), so every environment has one.
pub(super) async fn newest_definitions(
    tx: &mut dyn Tx,
    master: &MasterKey,
    org: &str,
    after: Option<&EnvRef>,
    limit: u32,
) -> Result<Vec<NewestDefinition>, StoreError> {
    const COLUMNS: &str = "SELECT e.id, e.project, e.name, e.latest_revision, e.data_key, r.body \
         FROM environments e \
         JOIN revisions r ON r.env_id = e.id AND r.number = e.latest_revision";
    let limit = i64::from(limit);
    let rows = match after {
        None => {
            tx.query(
                &format!("{COLUMNS} WHERE e.org = $1 ORDER BY e.project, e.name LIMIT $2"),
                args![org, limit],
            )
            .await?
        }
        Some(after) => {
            tx.query(
                &format!(
                    "{COLUMNS} WHERE e.org = $1 AND (e.project > $2 OR (e.project = $2 AND e.name > $3)) \
                     ORDER BY e.project, e.name LIMIT $4"
                ),
                args![org, &after.project, &after.name, limit],
            )
            .await?
        }
    };
    rows.iter()
        .map(|row| {
            let id = row.text(0)?;
            let revision = row.number(3)?;
            let yaml = master.unwrap_data_key(&id, &row.bytes(4)?)?.open(
                "revision",
                &revision.to_string(),
                &row.bytes(5)?,
            )?;
            Ok(NewestDefinition {
                env: EnvRef::new(org, row.text(1)?, row.text(2)?),
                revision,
                yaml,
            })
        })
        .collect()
}
