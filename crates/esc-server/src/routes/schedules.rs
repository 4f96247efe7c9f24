//! Schedules (§ 5.10, endpoints 37–42): an environment's rotation schedule
//! and its run history. The wire shapes live here with their handlers: no
//! other route uses them. Times are RFC 3339 strings, `""` for never.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use esc_service::{ROTATION_KIND, ScheduleRequest};
use esc_store::{Schedule, ScheduleRun, ScheduleTiming, Timestamp};
use serde::{Deserialize, Serialize};

use crate::AppState;
use crate::error::ApiError;
use crate::extract::{Authed, Params, RawBody, Segments};
use crate::wire::{json_response, no_content};

/// Runs listed when the caller gives no `count`.
const DEFAULT_HISTORY: u32 = 100;

/// `ScheduledAction`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct WireSchedule {
    id: String,
    #[serde(rename = "orgID")]
    org_id: String,
    kind: &'static str,
    paused: bool,
    created: String,
    modified: String,
    last_executed: String,
    next_execution: String,
    definition: WireDefinition,
    schedule_cron: String,
    schedule_once: String,
}

#[derive(Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct WireDefinition {
    #[serde(default)]
    environment_path: Option<String>,
}

impl From<&Schedule> for WireSchedule {
    fn from(schedule: &Schedule) -> Self {
        let (cron, once) = match &schedule.schedule.timing {
            ScheduleTiming::Cron(text) => (text.clone(), String::new()),
            ScheduleTiming::Once(at) => (String::new(), at.rfc3339()),
            _ => (String::new(), String::new()),
        };
        let time = |at: Option<Timestamp>| at.map(Timestamp::rfc3339).unwrap_or_default();
        Self {
            id: schedule.id.clone(),
            org_id: schedule.environment.org.clone(),
            kind: ROTATION_KIND,
            paused: schedule.schedule.paused,
            created: schedule.created.rfc3339(),
            modified: schedule.modified.rfc3339(),
            last_executed: time(schedule.last_executed),
            next_execution: time(schedule.schedule.next_execution),
            definition: WireDefinition {
                environment_path: Some(schedule.schedule.environment_path.clone()),
            },
            schedule_cron: cron,
            schedule_once: once,
        }
    }
}

/// The body of POST and PATCH.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireScheduleRequest {
    #[serde(default)]
    schedule_cron: Option<String>,
    #[serde(default)]
    schedule_once: Option<String>,
    #[serde(default)]
    secret_rotation_request: Option<WireDefinition>,
}

impl WireScheduleRequest {
    fn into_request(self) -> ScheduleRequest {
        ScheduleRequest {
            cron: self.schedule_cron,
            once: self.schedule_once,
            environment_path: self
                .secret_rotation_request
                .and_then(|request| request.environment_path),
        }
    }
}

#[derive(Serialize)]
struct WireSchedules {
    schedules: Vec<WireSchedule>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct WireRun {
    id: String,
    #[serde(rename = "scheduledActionID")]
    scheduled_action_id: String,
    executed: String,
    version: u64,
    result: String,
}

impl From<&ScheduleRun> for WireRun {
    fn from(run: &ScheduleRun) -> Self {
        Self {
            id: run.id.clone(),
            scheduled_action_id: run.schedule_id.clone(),
            executed: run.executed.rfc3339(),
            version: run.revision,
            result: run.result.clone(),
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct WireRuns {
    schedule_history_events: Vec<WireRun>,
}

/// 37. `GET E/schedules`.
pub(crate) async fn list(
    State(state): State<AppState>,
    Authed(caller): Authed,
    segments: Segments,
) -> Result<Response, ApiError> {
    let schedules = state.service.schedules(&caller, &segments.env()).await?;
    Ok(json_response(
        StatusCode::OK,
        &WireSchedules {
            schedules: schedules.iter().map(WireSchedule::from).collect(),
        },
    ))
}

/// 38. `POST E/schedules` → 200 ScheduledAction.
pub(crate) async fn create(
    State(state): State<AppState>,
    Authed(caller): Authed,
    segments: Segments,
    body: RawBody,
) -> Result<Response, ApiError> {
    let request: WireScheduleRequest = body.json()?;
    let created = state
        .service
        .create_schedule(&caller, &segments.env(), &request.into_request())
        .await?;
    Ok(json_response(StatusCode::OK, &WireSchedule::from(&created)))
}

/// 39. `GET E/schedules/{id}`.
pub(crate) async fn get(
    State(state): State<AppState>,
    Authed(caller): Authed,
    segments: Segments,
) -> Result<Response, ApiError> {
    let schedule = state
        .service
        .schedule(&caller, &segments.env(), segments.get("id"))
        .await?;
    Ok(json_response(
        StatusCode::OK,
        &WireSchedule::from(&schedule),
    ))
}

/// 40. `PATCH E/schedules/{id}`: only the fields set change.
pub(crate) async fn update(
    State(state): State<AppState>,
    Authed(caller): Authed,
    segments: Segments,
    body: RawBody,
) -> Result<Response, ApiError> {
    let request: WireScheduleRequest = body.json()?;
    let updated = state
        .service
        .update_schedule(
            &caller,
            &segments.env(),
            segments.get("id"),
            &request.into_request(),
        )
        .await?;
    Ok(json_response(StatusCode::OK, &WireSchedule::from(&updated)))
}

/// 41. `DELETE E/schedules/{id}` → 204.
pub(crate) async fn delete(
    State(state): State<AppState>,
    Authed(caller): Authed,
    segments: Segments,
) -> Result<Response, ApiError> {
    state
        .service
        .delete_schedule(&caller, &segments.env(), segments.get("id"))
        .await?;
    Ok(no_content())
}

/// 42. `GET E/schedules/{id}/history[?count=]`, newest first.
pub(crate) async fn history(
    State(state): State<AppState>,
    Authed(caller): Authed,
    segments: Segments,
    params: Params,
) -> Result<Response, ApiError> {
    let count = params.number("count")?.map_or(DEFAULT_HISTORY, |count| {
        u32::try_from(count.clamp(1, 1000)).unwrap_or(1000)
    });
    let runs = state
        .service
        .schedule_runs(&caller, &segments.env(), segments.get("id"), count)
        .await?;
    Ok(json_response(
        StatusCode::OK,
        &WireRuns {
            schedule_history_events: runs.iter().map(WireRun::from).collect(),
        },
    ))
}
