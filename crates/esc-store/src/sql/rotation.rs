//! Rotation state (encrypted per rotator path), rotation history, and
//! schedules with their run history.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use super::environments::find;
use super::{db_number, limit};
use crate::crypto::{EnvironmentCipher, MasterKey, Plaintext};
use crate::db::{Row, Tx, args};
use crate::error::StoreError;
use crate::model::{
    EnvRef, NewRotationEvent, NewSchedule, PathRotation, RotationEvent, RotationStatus, Schedule,
    ScheduleRun, ScheduleTiming, Timestamp,
};

pub(super) async fn put_state(
    tx: &mut dyn Tx,
    master: &MasterKey,
    env: &EnvRef,
    path: &str,
    state: &[u8],
) -> Result<(), StoreError> {
    let row = find(tx, env, false).await?;
    let sealed = row.cipher(master)?.seal("rotation-state", path, state)?;
    tx.execute(
        "INSERT INTO rotation_states (env_id, path, state, modified) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (env_id, path) DO UPDATE SET state = excluded.state, modified = excluded.modified",
        args![&row.info.id, path, sealed, Timestamp::now().unix_millis()],
    )
    .await?;
    Ok(())
}

pub(super) async fn state(
    tx: &mut dyn Tx,
    master: &MasterKey,
    env: &EnvRef,
    path: &str,
) -> Result<Option<Plaintext>, StoreError> {
    let row = find(tx, env, false).await?;
    let Some(found) = tx
        .query_opt(
            "SELECT state FROM rotation_states WHERE env_id = $1 AND path = $2",
            args![&row.info.id, path],
        )
        .await?
    else {
        return Ok(None);
    };
    row.cipher(master)?
        .open("rotation-state", path, &found.bytes(0)?)
        .map(Some)
}

fn status(text: &str) -> Result<RotationStatus, StoreError> {
    RotationStatus::parse(text).ok_or_else(|| StoreError::Corrupt {
        table: "rotation_events",
        reason: format!("unknown status {text:?}"),
    })
}

/// Error messages of rotations are sealed like the state: a rotation's
/// failure can quote what an adapter answered, and an adapter may echo the
/// secret state it was sent in a form no mask recognises.
const SEALED_MESSAGE: &str = "sealed:";

fn seal_message(
    cipher: &EnvironmentCipher,
    context: &str,
    message: Option<&String>,
) -> Result<Option<String>, StoreError> {
    message
        .map(|m| {
            let sealed = cipher.seal("rotation-error", context, m.as_bytes())?;
            Ok(format!("{SEALED_MESSAGE}{}", STANDARD.encode(sealed)))
        })
        .transpose()
}

/// The message [`seal_message`] stored (rows written before messages were
/// sealed are plain text).
fn open_message(
    cipher: &EnvironmentCipher,
    context: &str,
    stored: Option<String>,
) -> Result<Option<String>, StoreError> {
    let Some(stored) = stored else {
        return Ok(None);
    };
    let Some(encoded) = stored.strip_prefix(SEALED_MESSAGE) else {
        return Ok(Some(stored));
    };
    let corrupt = || StoreError::Corrupt {
        table: "rotation_events",
        reason: "a sealed error message is not valid".to_owned(),
    };
    let sealed = STANDARD.decode(encoded).map_err(|_| corrupt())?;
    let plain = cipher.open("rotation-error", context, &sealed)?;
    plain
        .expose_str()
        .map(|text| Some(text.to_owned()))
        .ok_or_else(corrupt)
}

pub(super) async fn record_event(
    tx: &mut dyn Tx,
    master: &MasterKey,
    env: &EnvRef,
    event: &NewRotationEvent,
) -> Result<RotationEvent, StoreError> {
    let row = find(tx, env, false).await?;
    let cipher = row.cipher(master)?;
    let id = uuid::Uuid::new_v4().to_string();
    tx.execute(
        "INSERT INTO rotation_events (id, env_id, created, completed, pre_revision, post_revision, user_login, \
         status, error_message, schedule_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        args![
            id.as_str(),
            &row.info.id,
            event.created.unix_millis(),
            event.completed.map(Timestamp::unix_millis),
            db_number(event.pre_rotation_revision)?,
            event.post_rotation_revision.map(db_number).transpose()?,
            &event.user,
            event.status.as_str(),
            seal_message(&cipher, &id, event.error_message.as_ref())?,
            event.schedule_id.clone()
        ],
    )
    .await?;
    for (position, rotation) in event.rotations.iter().enumerate() {
        tx.execute(
            "INSERT INTO path_rotations (event_id, position, path, status, error_message) VALUES ($1, $2, $3, $4, $5)",
            args![
                id.as_str(),
                position as i64,
                &rotation.path,
                rotation.status.as_str(),
                seal_message(
                    &cipher,
                    &format!("{id}/{position}"),
                    rotation.error_message.as_ref()
                )?
            ],
        )
        .await?;
    }
    Ok(RotationEvent {
        id,
        environment_id: row.info.id,
        event: event.clone(),
    })
}

pub(super) async fn list_events(
    tx: &mut dyn Tx,
    master: &MasterKey,
    env: &EnvRef,
    count: u32,
) -> Result<Vec<RotationEvent>, StoreError> {
    let row = find(tx, env, false).await?;
    let cipher = row.cipher(master)?;
    let rows = tx
        .query(
            "SELECT id, created, completed, pre_revision, post_revision, user_login, status, error_message, schedule_id \
             FROM rotation_events WHERE env_id = $1 ORDER BY created DESC, id DESC LIMIT $2",
            args![&row.info.id, limit(count)],
        )
        .await?;
    let mut events = Vec::with_capacity(rows.len());
    for found in rows {
        let id = found.text(0)?;
        let mut rotations = Vec::new();
        for rotation in tx
            .query(
                "SELECT path, status, error_message, position FROM path_rotations WHERE event_id = $1 ORDER BY position",
                args![id.as_str()],
            )
            .await?
        {
            rotations.push(PathRotation {
                path: rotation.text(0)?,
                status: status(&rotation.text(1)?)?,
                error_message: open_message(
                    &cipher,
                    &format!("{id}/{}", rotation.int(3)?),
                    rotation.opt_text(2)?,
                )?,
            });
        }
        let error_message = open_message(&cipher, &id, found.opt_text(7)?)?;
        events.push(RotationEvent {
            id,
            environment_id: row.info.id.clone(),
            event: NewRotationEvent {
                created: Timestamp::from_unix_millis(found.int(1)?),
                completed: found.opt_int(2)?.map(Timestamp::from_unix_millis),
                pre_rotation_revision: found.number(3)?,
                post_rotation_revision: found.opt_number(4)?,
                user: found.text(5)?,
                status: status(&found.text(6)?)?,
                error_message,
                schedule_id: found.opt_text(8)?,
                rotations,
            },
        });
    }
    Ok(events)
}

const SCHEDULE_SELECT: &str = "SELECT s.id, e.org, e.project, e.name, s.cron, s.once, s.environment_path, s.paused, \
     s.next_execution, s.last_executed, s.created, s.modified FROM schedules s JOIN environments e ON e.id = s.env_id";

fn schedule_from_row(row: &Row) -> Result<Schedule, StoreError> {
    let timing = match (row.opt_text(4)?, row.opt_int(5)?) {
        (Some(cron), None) => ScheduleTiming::Cron(cron),
        (None, Some(once)) => ScheduleTiming::Once(Timestamp::from_unix_millis(once)),
        _ => {
            return Err(StoreError::Corrupt {
                table: "schedules",
                reason: "a schedule needs exactly one of cron and once".into(),
            });
        }
    };
    Ok(Schedule {
        id: row.text(0)?,
        environment: EnvRef::new(row.text(1)?, row.text(2)?, row.text(3)?),
        schedule: NewSchedule {
            timing,
            environment_path: row.text(6)?,
            paused: row.bool(7)?,
            next_execution: row.opt_int(8)?.map(Timestamp::from_unix_millis),
        },
        last_executed: row.opt_int(9)?.map(Timestamp::from_unix_millis),
        created: Timestamp::from_unix_millis(row.int(10)?),
        modified: Timestamp::from_unix_millis(row.int(11)?),
    })
}

fn timing_columns(timing: &ScheduleTiming) -> (Option<String>, Option<i64>) {
    match timing {
        ScheduleTiming::Cron(cron) => (Some(cron.clone()), None),
        ScheduleTiming::Once(at) => (None, Some(at.unix_millis())),
    }
}

pub(super) async fn create_schedule(
    tx: &mut dyn Tx,
    env: &EnvRef,
    schedule: &NewSchedule,
) -> Result<Schedule, StoreError> {
    // One schedule per environment. The environment's row is locked (on
    // SQLite the writer lock serialises anyway), so two creations for one
    // environment cannot both pass this check.
    let row = find(tx, env, true).await?;
    if let Some(existing) = tx
        .query_opt(
            "SELECT id FROM schedules WHERE env_id = $1 LIMIT 1",
            args![&row.info.id],
        )
        .await?
    {
        return Err(StoreError::already_exists(format!(
            "schedule {}",
            existing.text(0)?
        )));
    }
    let id = uuid::Uuid::new_v4().to_string();
    let (cron, once) = timing_columns(&schedule.timing);
    let now = Timestamp::now().unix_millis();
    tx.execute(
        "INSERT INTO schedules (id, env_id, cron, once, environment_path, paused, next_execution, last_executed, \
         created, modified) VALUES ($1, $2, $3, $4, $5, $6, $7, NULL, $8, $8)",
        args![
            id.as_str(),
            &row.info.id,
            cron,
            once,
            &schedule.environment_path,
            schedule.paused,
            schedule.next_execution.map(Timestamp::unix_millis),
            now
        ],
    )
    .await?;
    self::schedule(tx, Some(env), &id).await
}

pub(super) async fn schedule(
    tx: &mut dyn Tx,
    env: Option<&EnvRef>,
    id: &str,
) -> Result<Schedule, StoreError> {
    let found = tx
        .query_opt(&format!("{SCHEDULE_SELECT} WHERE s.id = $1"), args![id])
        .await?
        .ok_or_else(|| StoreError::not_found(format!("schedule {id}")))?;
    let schedule = schedule_from_row(&found)?;
    match env {
        Some(env) if schedule.environment != *env => {
            Err(StoreError::not_found(format!("schedule {id}")))
        }
        _ => Ok(schedule),
    }
}

pub(super) async fn list_schedules(
    tx: &mut dyn Tx,
    env: &EnvRef,
) -> Result<Vec<Schedule>, StoreError> {
    let row = find(tx, env, false).await?;
    tx.query(
        &format!("{SCHEDULE_SELECT} WHERE s.env_id = $1 ORDER BY s.created, s.id"),
        args![&row.info.id],
    )
    .await?
    .iter()
    .map(schedule_from_row)
    .collect()
}

pub(super) async fn update_schedule(
    tx: &mut dyn Tx,
    env: &EnvRef,
    id: &str,
    schedule: &NewSchedule,
) -> Result<Schedule, StoreError> {
    self::schedule(tx, Some(env), id).await?;
    let (cron, once) = timing_columns(&schedule.timing);
    tx.execute(
        "UPDATE schedules SET cron = $1, once = $2, environment_path = $3, paused = $4, next_execution = $5, \
         modified = $6 WHERE id = $7",
        args![
            cron,
            once,
            &schedule.environment_path,
            schedule.paused,
            schedule.next_execution.map(Timestamp::unix_millis),
            Timestamp::now().unix_millis(),
            id
        ],
    )
    .await?;
    self::schedule(tx, Some(env), id).await
}

pub(super) async fn delete_schedule(
    tx: &mut dyn Tx,
    env: &EnvRef,
    id: &str,
) -> Result<(), StoreError> {
    self::schedule(tx, Some(env), id).await?;
    tx.execute("DELETE FROM schedules WHERE id = $1", args![id])
        .await?;
    Ok(())
}

pub(super) async fn due_schedules(
    tx: &mut dyn Tx,
    now: Timestamp,
    count: u32,
) -> Result<Vec<Schedule>, StoreError> {
    tx.query(
        &format!(
            "{SCHEDULE_SELECT} WHERE s.paused = FALSE AND s.next_execution IS NOT NULL AND s.next_execution <= $1 \
             ORDER BY s.next_execution, s.id LIMIT $2"
        ),
        args![now.unix_millis(), limit(count)],
    )
    .await?
    .iter()
    .map(schedule_from_row)
    .collect()
}

pub(super) async fn claim_schedule(
    tx: &mut dyn Tx,
    id: &str,
    expected_next: Timestamp,
    new_next: Option<Timestamp>,
    now: Timestamp,
) -> Result<bool, StoreError> {
    // Compare-and-set: of several servers claiming the same due run, the
    // first update wins and the others see zero rows changed.
    let n_changed = tx
        .execute(
            "UPDATE schedules SET next_execution = $1, last_executed = $2 \
             WHERE id = $3 AND next_execution = $4 AND paused = FALSE",
            args![
                new_next.map(Timestamp::unix_millis),
                now.unix_millis(),
                id,
                expected_next.unix_millis()
            ],
        )
        .await?;
    Ok(n_changed == 1)
}

pub(super) async fn record_run(
    tx: &mut dyn Tx,
    schedule_id: &str,
    executed: Timestamp,
    revision: u64,
    result: &str,
) -> Result<ScheduleRun, StoreError> {
    schedule(tx, None, schedule_id).await?;
    let id = uuid::Uuid::new_v4().to_string();
    tx.execute(
        "INSERT INTO schedule_runs (id, schedule_id, executed, revision, result) VALUES ($1, $2, $3, $4, $5)",
        args![id.as_str(), schedule_id, executed.unix_millis(), db_number(revision)?, result],
    )
    .await?;
    Ok(ScheduleRun {
        id,
        schedule_id: schedule_id.to_owned(),
        executed,
        revision,
        result: result.to_owned(),
    })
}

pub(super) async fn list_runs(
    tx: &mut dyn Tx,
    env: &EnvRef,
    schedule_id: &str,
    count: u32,
) -> Result<Vec<ScheduleRun>, StoreError> {
    schedule(tx, Some(env), schedule_id).await?;
    tx.query(
        "SELECT id, executed, revision, result FROM schedule_runs WHERE schedule_id = $1 \
         ORDER BY executed DESC, id DESC LIMIT $2",
        args![schedule_id, limit(count)],
    )
    .await?
    .iter()
    .map(|row| {
        Ok(ScheduleRun {
            id: row.text(0)?,
            schedule_id: schedule_id.to_owned(),
            executed: Timestamp::from_unix_millis(row.int(1)?),
            revision: row.number(2)?,
            result: row.text(3)?,
        })
    })
    .collect()
}
