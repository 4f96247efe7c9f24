//! Rotation schedules (spec/API.md § 5.10): create, read, change and delete
//! an environment's schedule, read its run history, and run the schedules
//! that are due ([`Service::run_due_schedules`], called by the server's
//! scheduler task).
//!
//! Rules: a schedule has exactly one of a cron expression (five fields,
//! UTC, at most one firing a day: one minute and one hour) or a one-time
//! RFC 3339 instant in the future; an environment has at most one schedule.
//! Reading needs read permission on the environment, changing it write
//! permission (a schedule only triggers what its writer could trigger with
//! `POST E/rotate`); every change appends an audit event.
//!
//! A due schedule is claimed before it runs (`Store::claim_schedule`, a
//! compare-and-set on its next execution), so of several servers sharing
//! one database exactly one runs each firing; a server that stops in the
//! middle of a run loses that run (at most once, never twice). The rotation
//! is the one `POST E/rotate` performs, acting as [`SCHEDULER_LOGIN`] with
//! read access to the environment's organization (its imports), and is
//! recorded with the schedule's id in the rotation history.

mod cron;

use esc_store::{
    EnvRef, NewSchedule, RotationStatus, Schedule, ScheduleRun, ScheduleTiming, StoreError,
    Timestamp,
};

use super::{Caller, Service, with_env_name};
use crate::access::{AccessPolicy, Membership, Role};
use crate::error::{ServiceError, ServiceResult};

use self::cron::Cron;

/// The login scheduled rotations act as (in the rotation history, the audit
/// log and the `trigger_user` of adapter calls). No user can have it: logins
/// are organization-like names, without `:`.
pub const SCHEDULER_LOGIN: &str = "esc:scheduler";

/// The kind every schedule has on the wire.
pub const ROTATION_KIND: &str = "environment_rotation";

/// What a caller asks a schedule to be. Empty strings count as absent (the
/// API sends `""` for the unset one of the two).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ScheduleRequest {
    /// A five-field cron expression (UTC).
    pub cron: Option<String>,
    /// An RFC 3339 instant in the future.
    pub once: Option<String>,
    /// The property path to rotate; empty or absent: the whole environment.
    pub environment_path: Option<String>,
}

/// One schedule that [`Service::run_due_schedules`] claimed and ran.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScheduledRun {
    /// The environment rotated.
    pub environment: EnvRef,
    /// The recorded run (its schedule id, time, revision and result).
    pub run: ScheduleRun,
}

impl Service {
    /// Creates the environment's schedule (write permission; at most one
    /// per environment).
    pub async fn create_schedule(
        &self,
        caller: &Caller,
        env: &EnvRef,
        request: &ScheduleRequest,
    ) -> ServiceResult<Schedule> {
        self.writable(caller, env).await?;
        let now = Timestamp::now();
        let timing = match timing_of(request, now)? {
            Some(timing) => timing,
            None => {
                return Err(ServiceError::invalid(
                    "exactly one of scheduleCron or scheduleOnce must be set",
                ));
            }
        };
        let environment_path = checked_path(request.environment_path.as_deref())?;
        let existing = self
            .inner
            .store
            .list_schedules(env)
            .await
            .map_err(|error| with_env_name(error, env))?;
        if let Some(first) = existing.first() {
            return Err(one_per_environment(env, &first.id));
        }
        let next_execution = first_execution(&timing, now);
        let created = self
            .inner
            .store
            .create_schedule(
                env,
                &NewSchedule {
                    timing,
                    environment_path,
                    paused: false,
                    next_execution,
                },
            )
            .await
            .map_err(|error| match error {
                // another creation won the race since the check above
                StoreError::AlreadyExists { what } => {
                    one_per_environment(env, what.strip_prefix("schedule ").unwrap_or(&what))
                }
                other => with_env_name(other, env),
            })?;
        self.audit(caller, env, "schedule.create", &describe(&created))
            .await?;
        Ok(created)
    }

    /// The environment's schedules, oldest first (read permission).
    pub async fn schedules(&self, caller: &Caller, env: &EnvRef) -> ServiceResult<Vec<Schedule>> {
        self.environment(caller, env).await?;
        self.inner
            .store
            .list_schedules(env)
            .await
            .map_err(|error| with_env_name(error, env))
    }

    /// One schedule of the environment (read permission).
    pub async fn schedule(
        &self,
        caller: &Caller,
        env: &EnvRef,
        id: &str,
    ) -> ServiceResult<Schedule> {
        self.environment(caller, env).await?;
        self.inner
            .store
            .schedule(env, id)
            .await
            .map_err(|error| schedule_error(error, env, id))
    }

    /// Changes a schedule: only what `request` sets changes; a new cron or
    /// one-time instant also sets the next execution afresh (write
    /// permission).
    pub async fn update_schedule(
        &self,
        caller: &Caller,
        env: &EnvRef,
        id: &str,
        request: &ScheduleRequest,
    ) -> ServiceResult<Schedule> {
        self.writable(caller, env).await?;
        let now = Timestamp::now();
        let timing = timing_of(request, now)?;
        let path = match request.environment_path.as_deref() {
            Some(path) => Some(checked_path(Some(path))?),
            None => None,
        };
        let current = self
            .inner
            .store
            .schedule(env, id)
            .await
            .map_err(|error| schedule_error(error, env, id))?;
        let mut changed = current.schedule.clone();
        if let Some(timing) = timing {
            changed.next_execution = first_execution(&timing, now);
            changed.timing = timing;
        }
        if let Some(path) = path {
            changed.environment_path = path;
        }
        let updated = self
            .inner
            .store
            .update_schedule(env, id, &changed)
            .await
            .map_err(|error| schedule_error(error, env, id))?;
        self.audit(caller, env, "schedule.update", &describe(&updated))
            .await?;
        Ok(updated)
    }

    /// Deletes a schedule and its run history (write permission).
    pub async fn delete_schedule(
        &self,
        caller: &Caller,
        env: &EnvRef,
        id: &str,
    ) -> ServiceResult<()> {
        self.writable(caller, env).await?;
        self.inner
            .store
            .delete_schedule(env, id)
            .await
            .map_err(|error| schedule_error(error, env, id))?;
        self.audit(caller, env, "schedule.delete", &format!("schedule {id}"))
            .await
    }

    /// A schedule's runs, newest first (read permission).
    pub async fn schedule_runs(
        &self,
        caller: &Caller,
        env: &EnvRef,
        id: &str,
        count: u32,
    ) -> ServiceResult<Vec<ScheduleRun>> {
        self.environment(caller, env).await?;
        self.inner
            .store
            .list_schedule_runs(env, id, count)
            .await
            .map_err(|error| schedule_error(error, env, id))
    }

    /// Claims and runs up to `max` schedules due at `now` (across all
    /// environments, soonest first): each claimed one gets its next
    /// execution (none after a one-time schedule), its environment rotated
    /// and the run recorded. A schedule another server claimed first is
    /// skipped. One schedule's failure is logged and does not stop the
    /// others; `Err` only when the due schedules cannot be read.
    pub async fn run_due_schedules(
        &self,
        now: Timestamp,
        max: u32,
    ) -> ServiceResult<Vec<ScheduledRun>> {
        let due = self.inner.store.due_schedules(now, max).await?;
        let mut runs = Vec::new();
        for schedule in due {
            match self.run_schedule(&schedule, now).await {
                Ok(Some(run)) => runs.push(run),
                Ok(None) => {}
                Err(error) => tracing::error!(
                    schedule = %schedule.id,
                    %error,
                    "running a scheduled rotation failed"
                ),
            }
        }
        Ok(runs)
    }

    /// Claims and runs one due schedule; `None` when another server won.
    async fn run_schedule(
        &self,
        schedule: &Schedule,
        now: Timestamp,
    ) -> ServiceResult<Option<ScheduledRun>> {
        let Some(expected) = schedule.schedule.next_execution else {
            return Ok(None);
        };
        let next = match &schedule.schedule.timing {
            ScheduleTiming::Cron(text) => match Cron::parse(text) {
                // from the later of now and the due time: a server that was
                // down does not replay the firings it missed
                Ok(cron) => next_firing(&cron, expected.max(now)),
                Err(error) => {
                    tracing::error!(schedule = %schedule.id, %error, "a stored cron expression is invalid; the schedule stops");
                    None
                }
            },
            _ => None,
        };
        if !self
            .inner
            .store
            .claim_schedule(&schedule.id, expected, next, now)
            .await?
        {
            return Ok(None);
        }
        let env = &schedule.environment;
        let caller = Caller {
            login: SCHEDULER_LOGIN.to_owned(),
            name: "Scheduled rotation".to_owned(),
        };
        let paths: Vec<String> = if schedule.schedule.environment_path.is_empty() {
            Vec::new()
        } else {
            vec![schedule.schedule.environment_path.clone()]
        };
        let (result, revision) = match self
            .rotate_unchecked(&caller, env, &paths, Some(&schedule.id))
            .await
        {
            Ok(outcome) => {
                let event = outcome.event.event;
                let result = if event.status == RotationStatus::Succeeded {
                    "succeeded"
                } else {
                    "failed"
                };
                (
                    result,
                    event
                        .post_rotation_revision
                        .unwrap_or(event.pre_rotation_revision),
                )
            }
            Err(error) => {
                // e.g. the definition has errors now: the run failed, and
                // the history says so against the revision it found
                tracing::warn!(schedule = %schedule.id, %error, "a scheduled rotation failed");
                let revision = match self.inner.store.environment(env).await {
                    Ok(found) => found.latest_revision,
                    Err(_) => 0,
                };
                ("failed", revision)
            }
        };
        let run = self
            .inner
            .store
            .record_schedule_run(&schedule.id, now, revision, result)
            .await?;
        self.audit(
            &caller,
            env,
            "schedule.run",
            &format!("schedule {}: {result}", schedule.id),
        )
        .await?;
        Ok(Some(ScheduledRun {
            environment: env.clone(),
            run,
        }))
    }
}

/// The access policy imports are loaded with: `policy`, plus read in
/// `org` for the scheduler (its rotation reads imports as the schedule's
/// writer could when it was created; nobody else can act as it).
pub(super) fn import_policy(mut policy: AccessPolicy, caller: &Caller, org: &str) -> AccessPolicy {
    if caller.login == SCHEDULER_LOGIN {
        policy.memberships.push(Membership {
            login: SCHEDULER_LOGIN.to_owned(),
            org: org.to_owned(),
            role: Role::Reader,
        });
    }
    policy
}

/// The timing `request` asks for: `None` when it sets neither, an error when
/// it sets both or one is invalid.
fn timing_of(request: &ScheduleRequest, now: Timestamp) -> ServiceResult<Option<ScheduleTiming>> {
    let cron = request.cron.as_deref().filter(|text| !text.is_empty());
    let once = request.once.as_deref().filter(|text| !text.is_empty());
    match (cron, once) {
        (Some(_), Some(_)) => Err(ServiceError::invalid(
            "only one of scheduleCron or scheduleOnce may be set",
        )),
        (None, None) => Ok(None),
        (Some(text), None) => {
            let cron = Cron::parse(text).map_err(|error| {
                ServiceError::invalid(format!("invalid cron expression {text:?}: {error}"))
            })?;
            if !cron.at_most_daily() {
                return Err(ServiceError::invalid(format!(
                    "cron expression {text:?} fires more than once a day; the minimum interval is one day (use one minute and one hour)"
                )));
            }
            if next_firing(&cron, now).is_none() {
                return Err(ServiceError::invalid(format!(
                    "cron expression {text:?} never fires"
                )));
            }
            Ok(Some(ScheduleTiming::Cron(text.trim().to_owned())))
        }
        (None, Some(text)) => {
            let millis = parse_rfc3339(text).ok_or_else(|| {
                ServiceError::invalid(format!(
                    "invalid scheduleOnce {text:?}: expected an RFC 3339 time such as 2026-06-01T00:00:00Z"
                ))
            })?;
            if millis <= now.unix_millis() {
                return Err(ServiceError::invalid(format!(
                    "scheduleOnce {text:?} is not in the future"
                )));
            }
            Ok(Some(ScheduleTiming::Once(Timestamp::from_unix_millis(
                millis,
            ))))
        }
    }
}

/// A checked property path to rotate (empty: the whole environment).
fn checked_path(path: Option<&str>) -> ServiceResult<String> {
    let path = path.unwrap_or("");
    if !path.is_empty() {
        esc_eval::normalize_rotate_path(path)
            .map_err(|error| ServiceError::invalid(format!("invalid environmentPath: {error}")))?;
    }
    Ok(path.to_owned())
}

/// When a new or changed schedule first fires.
fn first_execution(timing: &ScheduleTiming, now: Timestamp) -> Option<Timestamp> {
    match timing {
        ScheduleTiming::Cron(text) => Cron::parse(text)
            .ok()
            .and_then(|cron| next_firing(&cron, now)),
        ScheduleTiming::Once(at) => Some(*at),
        _ => None,
    }
}

fn next_firing(cron: &Cron, after: Timestamp) -> Option<Timestamp> {
    cron.next_after(after.unix_millis())
        .map(Timestamp::from_unix_millis)
}

/// The audit detail of a created or changed schedule.
fn describe(schedule: &Schedule) -> String {
    let timing = match &schedule.schedule.timing {
        ScheduleTiming::Cron(text) => format!("cron {text}"),
        ScheduleTiming::Once(at) => format!("once {}", at.rfc3339()),
        _ => "unknown timing".to_owned(),
    };
    format!("schedule {}: {timing}", schedule.id)
}

/// The refusal of a second schedule.
fn one_per_environment(env: &EnvRef, existing: &str) -> ServiceError {
    ServiceError::Conflict {
        reason: format!(
            "environment '{env}' already has a schedule ({existing}); only one schedule per environment is supported"
        ),
    }
}

/// A store error about a schedule, naming the environment or the schedule.
fn schedule_error(error: StoreError, env: &EnvRef, id: &str) -> ServiceError {
    match error {
        StoreError::NotFound { what } if what.starts_with("environment") => {
            ServiceError::NotFound {
                what: format!("environment '{env}'"),
            }
        }
        StoreError::NotFound { .. } => ServiceError::NotFound {
            what: format!("schedule '{id}' of environment '{env}'"),
        },
        other => other.into(),
    }
}

/// An RFC 3339 date-time (`2026-06-01T00:00:00Z`, `…T02:00:00.5+02:00`)
/// as Unix milliseconds; `None` when it is not one (fields out of range
/// included). Fractions beyond milliseconds are dropped.
pub fn parse_rfc3339(text: &str) -> Option<i64> {
    let bytes = text.as_bytes();
    let digits = |range: std::ops::Range<usize>| -> Option<i64> {
        let part = bytes.get(range)?;
        if part.is_empty() || !part.iter().all(u8::is_ascii_digit) {
            return None;
        }
        std::str::from_utf8(part).ok()?.parse().ok()
    };
    let expect =
        |index: usize, allowed: &[u8]| bytes.get(index).is_some_and(|b| allowed.contains(b));
    if !(expect(4, b"-")
        && expect(7, b"-")
        && expect(10, b"Tt")
        && expect(13, b":")
        && expect(16, b":"))
    {
        return None;
    }
    let (year, month, day) = (digits(0..4)?, digits(5..7)?, digits(8..10)?);
    let (hour, minute, second) = (digits(11..13)?, digits(14..16)?, digits(17..19)?);
    let mut index = 19;
    let mut millis = 0;
    if expect(index, b".") {
        let start = index + 1;
        let mut end = start;
        while bytes.get(end).is_some_and(u8::is_ascii_digit) {
            end += 1;
        }
        if end == start {
            return None;
        }
        let kept = &text[start..end.min(start + 3)];
        millis = format!("{kept:0<3}").parse::<i64>().ok()?;
        index = end;
    }
    let offset_minutes = match bytes.get(index)? {
        b'Z' | b'z' if index + 1 == bytes.len() => 0,
        sign @ (b'+' | b'-') if index + 6 == bytes.len() && expect(index + 3, b":") => {
            let (hours, minutes) = (digits(index + 1..index + 3)?, digits(index + 4..index + 6)?);
            if hours > 23 || minutes > 59 {
                return None;
            }
            let offset = hours * 60 + minutes;
            if *sign == b'-' { -offset } else { offset }
        }
        _ => return None,
    };
    let days_in_month = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        _ => return None,
    };
    if day < 1 || day > days_in_month || hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    let days = cron::days_from_civil(year, month, day);
    let seconds = days * 86_400 + hour * 3600 + minute * 60 + second.min(59) - offset_minutes * 60;
    Some(seconds * 1000 + millis)
}

#[cfg(test)]
mod tests;
