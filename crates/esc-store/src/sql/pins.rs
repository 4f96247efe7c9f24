//! Pins: the check that a selector still points where it pointed when a
//! result was evaluated, written into the session insert itself (see
//! `SharedResult::StoredWhile`), so opening a remembered result is one
//! statement instead of a `resolve_revisions` read and then a write.
//!
//! A pin holds exactly when `resolve_revisions` would answer its recorded
//! revision for it now: the environment of that name has the recorded id
//! (a re-created one has another), the revision exists and is not
//! retracted, and the selector names it (a number is the revision itself;
//! `latest` is the environment's newest revision; another tag points to
//! it). `environments::resolve_revisions` is the other half of this rule:
//! change both together.

use crate::db::Param;
use crate::error::StoreError;
use crate::model::{LATEST_TAG, RevisionAt};
use crate::store::{MAX_PINS, Pin};

use super::db_number;

/// The columns of one pin, with the type each is cast to in a `VALUES`
/// list (the tag is NULL for a number selector).
pub(super) const PIN_COLUMNS: [(&str, &str); 6] = [
    ("org", "text"),
    ("project", "text"),
    ("name", "text"),
    ("env_id", "text"),
    ("number", "bigint"),
    ("tag", "text"),
];

/// The parameters of `pins`, [`PIN_COLUMNS`] each, in order; `None` if one
/// of them can never hold (a number selector recorded at another number).
pub(super) fn pin_args(pins: &[Pin<'_>]) -> Result<Option<Vec<Param>>, StoreError> {
    if pins.len() > MAX_PINS {
        return Err(StoreError::invalid(format!(
            "at most {MAX_PINS} pins per session, not {}",
            pins.len()
        )));
    }
    let mut args = Vec::with_capacity(pins.len() * PIN_COLUMNS.len());
    for pin in pins {
        let tag = match pin.at {
            RevisionAt::Number(number) if number == pin.resolved.number => None,
            RevisionAt::Number(_) => return Ok(None),
            RevisionAt::Tag(tag) => Some(tag.to_owned()),
        };
        args.extend([
            Param::Text(Some(pin.env.org.clone())),
            Param::Text(Some(pin.env.project.clone())),
            Param::Text(Some(pin.env.name.clone())),
            Param::Text(Some(pin.resolved.environment_id.clone())),
            Param::Int(Some(db_number(pin.resolved.number)?)),
            Param::Text(tag),
        ]);
    }
    Ok(Some(args))
}

/// A condition true when the pin whose [`PIN_COLUMNS`] are the SQL
/// expressions `columns` holds.
pub(super) fn pin_holds(columns: [&str; 6]) -> String {
    let [org, project, name, env_id, number, tag] = columns;
    // every piece is ours (column names, numbered placeholders, a constant)
    format!(
        "EXISTS (SELECT 1 FROM environments e JOIN revisions r ON r.env_id = e.id \
         WHERE e.org = {org} AND e.project = {project} AND e.name = {name} \
         AND e.id = {env_id} AND r.number = {number} AND r.retracted_at IS NULL \
         AND ({tag} IS NULL \
         OR ({tag} = '{LATEST_TAG}' AND r.number = e.latest_revision) \
         OR ({tag} <> '{LATEST_TAG}' AND EXISTS (SELECT 1 FROM revision_tags s \
         WHERE s.env_id = e.id AND s.name = {tag} AND s.revision = r.number))))"
    )
}

/// [`pin_holds`] for the pins whose parameters start at placeholder
/// `first` (1-based), [`PIN_COLUMNS`] each, joined by `AND`; empty for none.
pub(super) fn pins_hold_at(first: usize, count: usize) -> String {
    let mut sql = String::new();
    for pin in 0..count {
        let at = first + pin * PIN_COLUMNS.len();
        let columns: Vec<String> = PIN_COLUMNS
            .iter()
            .enumerate()
            // typed: PostgreSQL infers no type from `$n IS NULL`
            .map(|(column, (_, ty))| format!("CAST(${} AS {ty})", at + column))
            .collect();
        sql.push_str(" AND ");
        sql.push_str(&pin_holds([
            &columns[0],
            &columns[1],
            &columns[2],
            &columns[3],
            &columns[4],
            &columns[5],
        ]));
    }
    sql
}
