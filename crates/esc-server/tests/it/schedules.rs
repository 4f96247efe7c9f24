//! Schedules (endpoints 37–42) end to end: `esc serve` with a fast scheduler
//! rotates an environment against the dual-secret rotator when a one-time
//! schedule falls due, and the history shows it; bad input gets the
//! documented 400/409 and changes nothing; two service instances on one
//! PostgreSQL never run the same firing twice.

use std::sync::Arc;
use std::time::{Duration, Instant};

use esc_server::{ServeConfig, start};
use esc_service::{
    AccessPolicy, Caller, ProviderRegistry, ScheduleRequest, Service, ServiceConfig,
};
use esc_store::{EnvRef, MasterKey, MemberRole, OrgMembership, SqlStore, Store, Timestamp};
use reqwest::Method;
use serde_json::Value;

use crate::harness::fresh_database;
use crate::started::Served;

const E: &str = "/api/esc/environments/acme/app/creds";

/// The dual-secret rotator on 127.0.0.1, trusting `issuer_url`'s JWKS; its URL.
async fn start_rotator(
    issuer_url: &str,
    store_path: &std::path::Path,
) -> (String, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let rotator_url = format!("http://{}/", listener.local_addr().unwrap());
    let verifier =
        esc_adapter::Verifier::new(esc_adapter::VerifierConfig::new(issuer_url, &rotator_url))
            .unwrap();
    let app = dual_secret_rotator::app(dual_secret_rotator::AppState {
        verifier: Arc::new(verifier),
        store: Arc::new(dual_secret_rotator::SlotStore::new(store_path)),
    });
    let task = tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (rotator_url, task)
}

fn json(body: &str) -> Value {
    serde_json::from_str(body).unwrap_or_else(|error| panic!("{error}: {body}"))
}

/// Asserts a refusal in the API's error shape; its message.
fn refused(reply: (u16, String), status: u16) -> String {
    assert_eq!(reply.0, status, "{}", reply.1);
    let body = json(&reply.1);
    assert_eq!(body["code"], status, "{body}");
    body["message"].as_str().unwrap().to_owned()
}

async fn schedule_count(server: &Served) -> usize {
    let (status, body) = server
        .call(Method::GET, &format!("{E}/schedules"), None)
        .await;
    assert_eq!(status, 200, "{body}");
    json(&body)["schedules"].as_array().unwrap().len()
}

#[tokio::test]
async fn a_due_schedule_rotates_through_the_server() {
    let dir = tempfile::tempdir().unwrap();
    let started = start(ServeConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        data_dir: dir.path().join("data"),
        allow_insecure_loopback_http: true,
        schedule_interval: Duration::from_millis(100),
        ..ServeConfig::default()
    })
    .await
    .unwrap();
    let server = Served::run(started, None);
    let (rotator_url, rotator) = start_rotator(&server.url, &dir.path().join("slots.json")).await;
    let (status, body) = server
        .call(
            Method::POST,
            "/api/esc/environments/acme",
            Some(r#"{"project":"app","name":"creds"}"#),
        )
        .await;
    assert!(status < 300, "{status} {body}");
    let definition = format!(
        "values:\n  creds:\n    fn::rotate::external:\n      inputs:\n        url: {rotator_url}\n        request:\n          service: payments\n"
    );
    let (status, body) = server.call(Method::PATCH, E, Some(&definition)).await;
    assert_eq!(status, 200, "{body}");

    // bad input: the documented errors, and no schedule appears
    let schedules = format!("{E}/schedules");
    let post = |body: String| {
        let server = &server;
        let schedules = schedules.clone();
        async move { server.call(Method::POST, &schedules, Some(&body)).await }
    };
    let message = refused(post(r#"{"scheduleCron":"0 0 * *"}"#.into()).await, 400);
    assert_eq!(
        message,
        "Bad Request: invalid cron expression \"0 0 * *\": expected 5 fields, found 4"
    );
    let message = refused(post(r#"{"scheduleCron":"*/5 * * * *"}"#.into()).await, 400);
    assert!(message.contains("more than once a day"), "{message}");
    let message = refused(
        post(r#"{"scheduleOnce":"2020-01-01T00:00:00Z"}"#.into()).await,
        400,
    );
    assert_eq!(
        message,
        "Bad Request: scheduleOnce \"2020-01-01T00:00:00Z\" is not in the future"
    );
    let message = refused(post(r#"{"scheduleOnce":"tomorrow"}"#.into()).await, 400);
    assert!(message.contains("RFC 3339"), "{message}");
    let message = refused(post("{}".into()).await, 400);
    assert_eq!(
        message,
        "Bad Request: exactly one of scheduleCron or scheduleOnce must be set"
    );
    let message = refused(
        post(r#"{"scheduleCron":"0 0 * * *","scheduleOnce":"2099-01-01T00:00:00Z"}"#.into()).await,
        400,
    );
    assert!(message.contains("only one of"), "{message}");
    assert_eq!(schedule_count(&server).await, 0);

    // a one-time schedule two seconds ahead
    let due = Timestamp::from_unix_millis(Timestamp::now().unix_millis() + 2_000).rfc3339();
    let (status, body) = post(format!(
        r#"{{"scheduleOnce":"{due}","secretRotationRequest":{{"environmentPath":""}}}}"#
    ))
    .await;
    assert_eq!(status, 200, "{body}");
    let created = json(&body);
    let id = created["id"].as_str().unwrap().to_owned();
    assert_eq!(created["kind"], "environment_rotation");
    assert_eq!(created["orgID"], "acme");
    assert_eq!(created["paused"], false);
    assert_eq!(created["scheduleOnce"], due.as_str());
    assert_eq!(created["scheduleCron"], "");
    assert_eq!(created["nextExecution"], due.as_str());
    assert_eq!(created["lastExecuted"], "");
    assert_eq!(created["definition"]["environmentPath"], "");

    // a second schedule is refused; the first stays as it is
    let message = refused(post(r#"{"scheduleCron":"0 0 * * *"}"#.into()).await, 409);
    assert!(
        message.contains(&format!(
            "environment 'acme/app/creds' already has a schedule ({id})"
        )),
        "{message}"
    );
    assert_eq!(schedule_count(&server).await, 1);

    // the scheduler runs it: the history shows the run and revision 3 exists
    let history = format!("{E}/schedules/{id}/history");
    let deadline = Instant::now() + Duration::from_secs(30);
    let events = loop {
        let (status, body) = server.call(Method::GET, &history, None).await;
        assert_eq!(status, 200, "{body}");
        let events = json(&body)["scheduleHistoryEvents"].clone();
        if !events.as_array().unwrap().is_empty() {
            break events;
        }
        assert!(Instant::now() < deadline, "the schedule never ran");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(events.as_array().unwrap().len(), 1, "{events}");
    assert_eq!(events[0]["scheduledActionID"], id.as_str());
    assert_eq!(events[0]["result"], "succeeded", "{events}");
    assert_eq!(events[0]["version"], 3, "{events}");
    assert!(events[0]["executed"].as_str().unwrap().ends_with('Z'));

    let (status, body) = server
        .call(Method::GET, &format!("{E}/versions"), None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(json(&body).as_array().unwrap().len(), 3, "{body}");
    let (_, revealed) = server
        .call(Method::GET, &format!("{E}/decrypt"), None)
        .await;
    let slots: Value = json(&std::fs::read_to_string(dir.path().join("slots.json")).unwrap());
    let key = slots["a"].as_str().unwrap_or_else(|| panic!("{slots}"));
    assert!(
        revealed.contains(key),
        "the rotated key is written back: {revealed}"
    );
    // recorded as this schedule's rotation, by the scheduler
    let env = EnvRef::new("acme", "app", "creds");
    let rotations = server
        .state
        .service
        .store()
        .list_rotation_events(&env, 10)
        .await
        .unwrap();
    assert_eq!(rotations.len(), 1);
    assert_eq!(rotations[0].event.schedule_id.as_deref(), Some(id.as_str()));
    assert_eq!(rotations[0].event.user, esc_service::SCHEDULER_LOGIN);

    // a one-time schedule does not fire again
    let (status, body) = server
        .call(Method::GET, &format!("{E}/schedules/{id}"), None)
        .await;
    assert_eq!(status, 200, "{body}");
    let ran = json(&body);
    assert_eq!(ran["nextExecution"], "", "{ran}");
    assert_ne!(ran["lastExecuted"], "", "{ran}");

    // PATCH changes only what it sets: now a daily cron at 03:00 UTC
    let (status, body) = server
        .call(
            Method::PATCH,
            &format!("{E}/schedules/{id}"),
            Some(r#"{"scheduleCron":"0 3 * * *"}"#),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let patched = json(&body);
    assert_eq!(patched["id"], id.as_str());
    assert_eq!(patched["scheduleCron"], "0 3 * * *");
    assert_eq!(patched["scheduleOnce"], "");
    assert!(
        patched["nextExecution"]
            .as_str()
            .unwrap()
            .ends_with("T03:00:00Z"),
        "{patched}"
    );
    let message = refused(
        server
            .call(
                Method::PATCH,
                &format!("{E}/schedules/{id}"),
                Some(r#"{"scheduleCron":"bad"}"#),
            )
            .await,
        400,
    );
    assert!(message.contains("invalid cron expression"), "{message}");
    let (_, body) = server
        .call(Method::GET, &format!("{E}/schedules/{id}"), None)
        .await;
    assert_eq!(json(&body)["scheduleCron"], "0 3 * * *", "unchanged");

    // unknown schedules and environments
    let message = refused(
        server
            .call(Method::GET, &format!("{E}/schedules/nope"), None)
            .await,
        404,
    );
    assert!(message.contains("schedule 'nope'"), "{message}");
    refused(
        server
            .call(
                Method::GET,
                "/api/esc/environments/acme/app/missing/schedules",
                None,
            )
            .await,
        404,
    );

    // DELETE → 204, then gone with its history
    let (status, body) = server
        .call(Method::DELETE, &format!("{E}/schedules/{id}"), None)
        .await;
    assert_eq!(status, 204, "{body}");
    assert_eq!(body, "");
    refused(server.call(Method::GET, &history, None).await, 404);
    assert_eq!(schedule_count(&server).await, 0);

    access_is_checked(&server).await;
    server.stop().await;
    rotator.abort();
}

/// A reader of the organization may read schedules, not change them.
async fn access_is_checked(server: &Served) {
    let store = server.state.service.store();
    store.create_user("bob", "Bob", "test-admin").await.unwrap();
    store
        .set_membership(
            &OrgMembership {
                org: "acme".into(),
                login: "bob".into(),
                role: MemberRole::Reader,
            },
            "admin",
        )
        .await
        .unwrap();
    let token = store
        .create_access_token("bob", "test", None, "test-admin")
        .await
        .unwrap();
    let token = String::from_utf8(token.secret.expose().to_vec()).unwrap();
    let as_bob = |method: Method, path: String, body: Option<&'static str>| {
        let mut request = server
            .client
            .request(method, format!("{}{path}", server.url))
            .header("Authorization", format!("token {token}"));
        if let Some(body) = body {
            request = request.body(body);
        }
        async move {
            let response = request.send().await.unwrap();
            let status = response.status().as_u16();
            (status, response.text().await.unwrap())
        }
    };
    let (status, body) = as_bob(Method::GET, format!("{E}/schedules"), None).await;
    assert_eq!(status, 200, "{body}");
    let message = refused(
        as_bob(
            Method::POST,
            format!("{E}/schedules"),
            Some(r#"{"scheduleCron":"0 0 * * *"}"#),
        )
        .await,
        403,
    );
    assert!(message.contains("lacks write permission"), "{message}");
    assert_eq!(schedule_count(server).await, 0, "nothing was created");
}

/// A service instance with its own store and pool on `url`.
async fn instance(url: &str, key: &[u8; 32]) -> Service {
    let store = SqlStore::connect_postgres(url, MasterKey::from_bytes(key).unwrap(), 4)
        .await
        .unwrap();
    let store: Arc<dyn Store> = Arc::new(store);
    Service::new(
        store,
        Arc::new(ProviderRegistry::new()),
        ServiceConfig {
            access: AccessPolicy {
                admins: vec!["admin".into()],
                memberships: Vec::new(),
            },
            ..ServiceConfig::default()
        },
    )
}

#[tokio::test]
async fn two_servers_on_one_postgres_never_run_a_firing_twice() {
    let Some(url) = fresh_database().await else {
        return;
    };
    let key = [9u8; 32];
    let first = instance(&url, &key).await;
    let second = instance(&url, &key).await;
    let admin = Caller {
        login: "admin".into(),
        name: "admin".into(),
    };
    const N_ENVS: usize = 8;
    let mut envs = Vec::new();
    for index in 0..N_ENVS {
        let env = EnvRef::new("acme", "app", format!("e{index}"));
        first.create_environment(&admin, &env).await.unwrap();
        first
            .update(&admin, &env, "values:\n  a: 1\n", None)
            .await
            .unwrap();
        envs.push(env);
    }
    // Due after the setup above (slow on a loaded machine): a one-time
    // schedule must be in the future when it is created.
    let due = Timestamp::from_unix_millis(Timestamp::now().unix_millis() + 2_000);
    for (index, env) in envs.iter().enumerate() {
        // half through each instance: both see all of them
        let service = if index % 2 == 0 { &first } else { &second };
        service
            .create_schedule(
                &admin,
                env,
                &ScheduleRequest {
                    once: Some(due.rfc3339()),
                    ..ScheduleRequest::default()
                },
            )
            .await
            .unwrap();
    }
    // two creations racing for one environment: exactly one wins
    let racing = EnvRef::new("acme", "app", "racing");
    first.create_environment(&admin, &racing).await.unwrap();
    let daily = ScheduleRequest {
        cron: Some("0 0 * * *".into()),
        ..ScheduleRequest::default()
    };
    let (a, b) = tokio::join!(
        first.create_schedule(&admin, &racing, &daily),
        second.create_schedule(&admin, &racing, &daily)
    );
    assert_eq!(u8::from(a.is_ok()) + u8::from(b.is_ok()), 1, "{a:?} {b:?}");
    let lost = a.err().or(b.err()).unwrap();
    assert!(
        lost.to_string().contains("already has a schedule"),
        "{lost}"
    );
    assert_eq!(first.schedules(&admin, &racing).await.unwrap().len(), 1);

    // nothing is due yet
    assert!(
        first
            .run_due_schedules(Timestamp::now(), 100)
            .await
            .unwrap()
            .is_empty()
    );
    let wait = due.unix_millis() - Timestamp::now().unix_millis() + 100;
    tokio::time::sleep(Duration::from_millis(u64::try_from(wait.max(0)).unwrap())).await;

    // both race for the same due firings, several rounds
    let mut ran = Vec::new();
    for _ in 0..3 {
        let now = Timestamp::now();
        let (a, b) = tokio::join!(
            first.run_due_schedules(now, 100),
            second.run_due_schedules(now, 100)
        );
        ran.extend(a.unwrap());
        ran.extend(b.unwrap());
    }
    assert_eq!(ran.len(), N_ENVS, "{ran:?}");
    for env in &envs {
        let schedules = second.schedules(&admin, env).await.unwrap();
        assert_eq!(schedules.len(), 1);
        let runs = first
            .schedule_runs(&admin, env, &schedules[0].id, 10)
            .await
            .unwrap();
        assert_eq!(runs.len(), 1, "{env}: {runs:?}");
        assert_eq!(runs[0].result, "succeeded");
        let rotations = first.store().list_rotation_events(env, 10).await.unwrap();
        assert_eq!(rotations.len(), 1, "{env}: one rotation, not two");
        assert_eq!(
            rotations[0].event.schedule_id.as_deref(),
            Some(schedules[0].id.as_str())
        );
        assert_eq!(
            ran.iter().filter(|run| run.environment == *env).count(),
            1,
            "{env}"
        );
    }
}

#[tokio::test]
async fn a_zero_scheduler_interval_or_batch_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    for config in [
        ServeConfig {
            schedule_interval: Duration::ZERO,
            ..ServeConfig::default()
        },
        ServeConfig {
            schedules_per_tick: 0,
            ..ServeConfig::default()
        },
    ] {
        let refused = start(ServeConfig {
            listen: "127.0.0.1:0".parse().unwrap(),
            data_dir: dir.path().join("data"),
            ..config
        })
        .await
        .err()
        .expect("refused");
        assert!(
            refused
                .to_string()
                .contains("schedule_interval and schedules_per_tick must be non-zero"),
            "{refused}"
        );
    }
}
