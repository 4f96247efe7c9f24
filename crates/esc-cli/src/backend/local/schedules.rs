//! Schedules in local mode: the service's schedule operations in-process.
//! Nothing runs in the background here: [`run_due`] runs the schedules that
//! are due when an `esc` command opens the local store (see
//! `LocalBackend::open`), and says so on stderr when stderr is a terminal
//! (never into pipes or files: `esc open … --format shell > f 2>&1` output
//! is evaluated by shells). The history records every run either way.

use esc_service::{ROTATION_KIND, ScheduleRequest, Service};
use esc_store::{Schedule, ScheduleRun, Timestamp};

use super::{LocalBackend, api_error, store_ref};
use crate::backend::BackendResult;
use crate::backend::schedules::{ScheduleInfo, ScheduleRunInfo, ScheduleTiming};
use crate::env_ref::EnvName;

/// The most due schedules one `esc` invocation runs (the rest on the next).
const RUN_PER_INVOCATION: u32 = 8;

impl LocalBackend {
    pub(super) async fn schedules_of(&self, env: &EnvName) -> BackendResult<Vec<ScheduleInfo>> {
        let found = self
            .service
            .schedules(&self.caller, &store_ref(env))
            .await
            .map_err(api_error)?;
        Ok(found.iter().map(info).collect())
    }

    pub(super) async fn schedule_of(&self, env: &EnvName, id: &str) -> BackendResult<ScheduleInfo> {
        self.service
            .schedule(&self.caller, &store_ref(env), id)
            .await
            .map(|found| info(&found))
            .map_err(api_error)
    }

    pub(super) async fn new_schedule(
        &self,
        env: &EnvName,
        timing: &ScheduleTiming,
    ) -> BackendResult<ScheduleInfo> {
        self.service
            .create_schedule(&self.caller, &store_ref(env), &request(timing))
            .await
            .map(|created| info(&created))
            .map_err(api_error)
    }

    pub(super) async fn change_schedule(
        &self,
        env: &EnvName,
        id: &str,
        timing: &ScheduleTiming,
    ) -> BackendResult<ScheduleInfo> {
        self.service
            .update_schedule(&self.caller, &store_ref(env), id, &request(timing))
            .await
            .map(|updated| info(&updated))
            .map_err(api_error)
    }

    pub(super) async fn remove_schedule(&self, env: &EnvName, id: &str) -> BackendResult<()> {
        self.service
            .delete_schedule(&self.caller, &store_ref(env), id)
            .await
            .map_err(api_error)
    }

    pub(super) async fn runs_of(
        &self,
        env: &EnvName,
        id: &str,
    ) -> BackendResult<Vec<ScheduleRunInfo>> {
        let runs = self
            .service
            .schedule_runs(&self.caller, &store_ref(env), id, 1000)
            .await
            .map_err(api_error)?;
        Ok(runs.iter().map(run_info).collect())
    }
}

/// Runs the local schedules that are due now (at most
/// [`RUN_PER_INVOCATION`]), one stderr line each on a terminal. Failing to
/// read them is not the command's failure: the command goes on.
pub(super) async fn run_due(service: &Service) {
    use std::io::IsTerminal as _;
    let outcome = service
        .run_due_schedules(Timestamp::now(), RUN_PER_INVOCATION)
        .await;
    if !std::io::stderr().is_terminal() {
        return;
    }
    match outcome {
        Ok(runs) => {
            for run in runs {
                crate::messages::err(&format!(
                    "Ran the scheduled rotation {} of {} (due in local mode): {}, revision {}\n",
                    run.run.schedule_id, run.environment, run.run.result, run.run.revision
                ));
            }
        }
        Err(error) => {
            crate::messages::err(&format!("warning: could not run due schedules: {error}\n"))
        }
    }
}

fn request(timing: &ScheduleTiming) -> ScheduleRequest {
    ScheduleRequest {
        cron: timing.cron.clone(),
        once: timing.once.clone(),
        environment_path: None,
    }
}

fn info(schedule: &Schedule) -> ScheduleInfo {
    let time = |at: Option<Timestamp>| at.map(Timestamp::rfc3339).unwrap_or_default();
    let (cron, once) = match &schedule.schedule.timing {
        esc_store::ScheduleTiming::Cron(text) => (text.clone(), String::new()),
        esc_store::ScheduleTiming::Once(at) => (String::new(), at.rfc3339()),
        _ => (String::new(), String::new()),
    };
    ScheduleInfo {
        id: schedule.id.clone(),
        kind: ROTATION_KIND.to_string(),
        cron,
        once,
        next: time(schedule.schedule.next_execution),
        last: time(schedule.last_executed),
    }
}

fn run_info(run: &ScheduleRun) -> ScheduleRunInfo {
    ScheduleRunInfo {
        id: run.id.clone(),
        executed: run.executed.rfc3339(),
        version: run.revision,
        result: run.result.clone(),
    }
}
