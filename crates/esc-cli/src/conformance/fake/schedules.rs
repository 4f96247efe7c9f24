//! Schedules as the reference's fake backend reports them (golden
//! `env-schedule-ok`): ids `sched-1`, `sched-2`, … in creation order (the
//! layer maps them to our ids in request paths and back in replies), the
//! next execution always `2026-05-14 00:00:00.000` and never executed, and
//! one past run of every schedule: `evt-1` on 2026-05-13 12:30 UTC against
//! revision 1, succeeded. That run is written into the store when the
//! schedule is first seen, so `history` reads it through the real route;
//! run ids are mapped to `evt-N` likewise.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{StatusCode, Uri, header};
use axum::middleware::Next;
use axum::response::Response;
use esc_store::{Store, Timestamp};
use serde_json::Value as Json;

/// The next execution the fake reports (Pulumi Cloud's time format).
const NEXT_EXECUTION: &str = "2026-05-14 00:00:00.000";
/// When the fake's one past run happened: 2026-05-13T12:30:00Z.
const RUN_EXECUTED_MILLIS: i64 = 1_778_675_400_000;

/// The id mappings of one fake backend.
pub(super) struct FakeSchedules {
    store: Arc<dyn Store>,
    ids: Mutex<Ids>,
}

#[derive(Default)]
struct Ids {
    /// our schedule id -> `sched-N`
    schedules: BTreeMap<String, String>,
    /// our run id -> `evt-N`
    runs: BTreeMap<String, String>,
}

impl FakeSchedules {
    pub(super) fn new(store: Arc<dyn Store>) -> Arc<FakeSchedules> {
        Arc::new(FakeSchedules {
            store,
            ids: Mutex::new(Ids::default()),
        })
    }

    fn ids(&self) -> std::sync::MutexGuard<'_, Ids> {
        self.ids
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Our id of a fake `sched-N`.
    fn real_schedule_id(&self, fake: &str) -> Option<String> {
        self.ids()
            .schedules
            .iter()
            .find(|(_, known)| known.as_str() == fake)
            .map(|(real, _)| real.clone())
    }

    /// The fake id of one of our schedules; a new one also gets the fake's
    /// past run in the store.
    async fn fake_schedule_id(&self, real: &str) -> String {
        let (fake, new) = {
            let mut ids = self.ids();
            let next = format!("sched-{}", ids.schedules.len() + 1);
            match ids.schedules.get(real) {
                Some(fake) => (fake.clone(), false),
                None => {
                    ids.schedules.insert(real.to_owned(), next.clone());
                    (next, true)
                }
            }
        };
        if new
            && let Err(error) = self
                .store
                .record_schedule_run(
                    real,
                    Timestamp::from_unix_millis(RUN_EXECUTED_MILLIS),
                    1,
                    "succeeded",
                )
                .await
        {
            eprintln!("fake backend: seeding a schedule run: {error}");
        }
        fake
    }

    fn fake_run_id(&self, real: &str) -> String {
        let mut ids = self.ids();
        let next = format!("evt-{}", ids.runs.len() + 1);
        ids.runs.entry(real.to_owned()).or_insert(next).clone()
    }
}

/// The `…/schedules[/{id}[/history]]` tail of an environment path: the id
/// segment's index, if any.
fn schedule_path(path: &str) -> Option<Option<usize>> {
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    if segments.len() < 7 || segments[..3] != ["api", "esc", "environments"] {
        return None;
    }
    match &segments[6..] {
        ["schedules"] => Some(None),
        ["schedules", _] | ["schedules", _, "history"] => Some(Some(7)),
        _ => None,
    }
}

/// The response layer (and request rewrite) described in the module docs.
pub(super) async fn fixed_schedules(
    State(fake): State<Arc<FakeSchedules>>,
    mut request: Request,
    next: Next,
) -> Response {
    let Some(id_index) = schedule_path(request.uri().path()) else {
        return next.run(request).await;
    };
    if let Some(index) = id_index {
        let mut segments: Vec<String> = request
            .uri()
            .path()
            .trim_start_matches('/')
            .split('/')
            .map(str::to_owned)
            .collect();
        if let Some(real) = segments
            .get(index)
            .and_then(|fake_id| fake.real_schedule_id(fake_id))
        {
            segments[index] = real;
            let mut path = format!("/{}", segments.join("/"));
            if let Some(query) = request.uri().query() {
                path = format!("{path}?{query}");
            }
            if let Ok(uri) = path.parse::<Uri>() {
                *request.uri_mut() = uri;
            }
        }
    }
    let response = next.run(request).await;
    if response.status() != StatusCode::OK {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, 64 << 20).await else {
        return Response::from_parts(parts, Body::empty());
    };
    let Ok(mut json) = serde_json::from_slice::<Json>(&bytes) else {
        return Response::from_parts(parts, Body::from(bytes));
    };
    if let Some(Json::Array(schedules)) = json.get_mut("schedules") {
        for schedule in schedules {
            fake_schedule(&fake, schedule).await;
        }
    } else if let Some(Json::Array(events)) = json.get_mut("scheduleHistoryEvents") {
        for event in events {
            fake_event(&fake, event).await;
        }
    } else {
        fake_schedule(&fake, &mut json).await;
    }
    let Ok(body) = serde_json::to_vec(&json) else {
        return Response::from_parts(parts, Body::from(bytes));
    };
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, Body::from(body))
}

async fn fake_schedule(fake: &FakeSchedules, schedule: &mut Json) {
    let Some(real) = schedule.get("id").and_then(Json::as_str).map(str::to_owned) else {
        return;
    };
    let fake_id = fake.fake_schedule_id(&real).await;
    if let Json::Object(fields) = schedule {
        fields.insert("id".into(), fake_id.into());
        fields.insert("nextExecution".into(), NEXT_EXECUTION.into());
        fields.insert("lastExecuted".into(), "".into());
    }
}

async fn fake_event(fake: &FakeSchedules, event: &mut Json) {
    let Json::Object(fields) = event else {
        return;
    };
    if let Some(real) = fields.get("id").and_then(Json::as_str).map(str::to_owned) {
        fields.insert("id".into(), fake.fake_run_id(&real).into());
    }
    if let Some(real) = fields
        .get("scheduledActionID")
        .and_then(Json::as_str)
        .map(str::to_owned)
    {
        let fake_id = fake.fake_schedule_id(&real).await;
        fields.insert("scheduledActionID".into(), fake_id.into());
    }
}

#[cfg(test)]
mod tests {
    use super::schedule_path;

    #[test]
    fn schedule_paths() {
        let e = "/api/esc/environments/o/p/e";
        assert_eq!(schedule_path(&format!("{e}/schedules")), Some(None));
        assert_eq!(
            schedule_path(&format!("{e}/schedules/sched-1")),
            Some(Some(7))
        );
        assert_eq!(
            schedule_path(&format!("{e}/schedules/sched-1/history")),
            Some(Some(7))
        );
        assert_eq!(schedule_path(&format!("{e}/tags")), None);
        assert_eq!(schedule_path(e), None);
    }
}
