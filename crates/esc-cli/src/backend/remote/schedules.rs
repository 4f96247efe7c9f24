//! Schedules over the REST API: endpoints 37–42 of spec/API.md § 5.10.

use esc_eval::PlainValue;
use reqwest::Method;

use super::{RemoteBackend, parse_json, segment, str_of, u64_of};
use crate::backend::BackendResult;
use crate::backend::schedules::{ScheduleInfo, ScheduleRunInfo, ScheduleTiming, normalize_time};
use crate::env_ref::EnvName;

impl RemoteBackend {
    fn schedules_path(env: &EnvName) -> String {
        format!("{}/schedules", Self::env_path(env))
    }

    fn schedule_path(env: &EnvName, id: &str) -> String {
        format!("{}/schedules/{}", Self::env_path(env), segment(id))
    }

    pub(super) async fn schedules_of(&self, env: &EnvName) -> BackendResult<Vec<ScheduleInfo>> {
        let body = self
            .json(Method::GET, &Self::schedules_path(env), None)
            .await?;
        Ok(items(&body, "schedules").iter().map(info).collect())
    }

    pub(super) async fn schedule_of(&self, env: &EnvName, id: &str) -> BackendResult<ScheduleInfo> {
        let body = self
            .json(Method::GET, &Self::schedule_path(env, id), None)
            .await?;
        Ok(info(&body))
    }

    pub(super) async fn new_schedule(
        &self,
        env: &EnvName,
        timing: &ScheduleTiming,
    ) -> BackendResult<ScheduleInfo> {
        let mut body = timing_body(timing);
        body.insert(
            "secretRotationRequest".into(),
            serde_json::json!({"environmentPath": ""}),
        );
        let body = serde_json::Value::Object(body).to_string();
        let created = self
            .json(Method::POST, &Self::schedules_path(env), Some(body))
            .await?;
        Ok(info(&created))
    }

    pub(super) async fn change_schedule(
        &self,
        env: &EnvName,
        id: &str,
        timing: &ScheduleTiming,
    ) -> BackendResult<ScheduleInfo> {
        let body = serde_json::Value::Object(timing_body(timing)).to_string();
        let updated = self
            .json(Method::PATCH, &Self::schedule_path(env, id), Some(body))
            .await?;
        Ok(info(&updated))
    }

    pub(super) async fn remove_schedule(&self, env: &EnvName, id: &str) -> BackendResult<()> {
        self.ok(Method::DELETE, &Self::schedule_path(env, id), None, None)
            .await?;
        Ok(())
    }

    pub(super) async fn runs_of(
        &self,
        env: &EnvName,
        id: &str,
    ) -> BackendResult<Vec<ScheduleRunInfo>> {
        let reply = self
            .ok(
                Method::GET,
                &format!("{}/history", Self::schedule_path(env, id)),
                None,
                None,
            )
            .await?;
        let body = parse_json(&reply.body)?;
        Ok(items(&body, "scheduleHistoryEvents")
            .iter()
            .map(|event| ScheduleRunInfo {
                id: str_of(event, "id"),
                executed: normalize_time(&str_of(event, "executed")),
                version: u64_of(event, "version"),
                result: str_of(event, "result"),
            })
            .collect())
    }
}

fn timing_body(timing: &ScheduleTiming) -> serde_json::Map<String, serde_json::Value> {
    let mut body = serde_json::Map::new();
    if let Some(cron) = &timing.cron {
        body.insert("scheduleCron".into(), cron.clone().into());
    }
    if let Some(once) = &timing.once {
        body.insert("scheduleOnce".into(), once.clone().into());
    }
    body
}

fn items<'a>(body: &'a PlainValue, key: &str) -> &'a [PlainValue] {
    match body.member(key) {
        Some(PlainValue::Array(items)) => items,
        _ => &[],
    }
}

fn info(wire: &PlainValue) -> ScheduleInfo {
    ScheduleInfo {
        id: str_of(wire, "id"),
        kind: str_of(wire, "kind"),
        cron: str_of(wire, "scheduleCron"),
        once: normalize_time(&str_of(wire, "scheduleOnce")),
        next: normalize_time(&str_of(wire, "nextExecution")),
        last: normalize_time(&str_of(wire, "lastExecuted")),
    }
}
