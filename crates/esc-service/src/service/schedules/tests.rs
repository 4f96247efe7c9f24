//! Schedule request checks and RFC 3339 parsing (instants from GNU
//! `date -u -d ... +%s`).

#![allow(clippy::unwrap_used)] // tests: a panic is the failure report

use super::*;

#[test]
fn rfc3339_instants() {
    assert_eq!(
        parse_rfc3339("2026-05-14T00:00:00Z"),
        Some(1_778_716_800_000)
    );
    assert_eq!(
        parse_rfc3339("2026-05-14t00:00:00z"),
        Some(1_778_716_800_000)
    );
    assert_eq!(
        parse_rfc3339("2026-05-14T02:00:00+02:00"),
        Some(1_778_716_800_000)
    );
    assert_eq!(
        parse_rfc3339("2026-05-13T23:30:00-00:30"),
        Some(1_778_716_800_000)
    );
    assert_eq!(
        parse_rfc3339("2026-05-14T00:00:00.5Z"),
        Some(1_778_716_800_500)
    );
    assert_eq!(
        parse_rfc3339("2026-05-14T00:00:00.123456789Z"),
        Some(1_778_716_800_123)
    );
    assert_eq!(
        parse_rfc3339("2028-02-29T00:00:00Z"),
        Some(1_835_395_200_000)
    );
    for bad in [
        "",
        "2026-05-14",
        "2026-05-14 00:00:00Z",
        "2026-05-14T00:00:00",
        "2026-05-14T00:00Z",
        "2026-13-01T00:00:00Z",
        "2026-02-29T00:00:00Z",
        "2026-04-31T00:00:00Z",
        "2026-05-14T24:00:00Z",
        "2026-05-14T00:60:00Z",
        "2026-05-14T00:00:00.Z",
        "2026-05-14T00:00:00+0200",
        "2026-05-14T00:00:00+02:00x",
        "2026-05-14T00:00:00Zx",
        "tomorrow",
        "2026-05-1éT00:00:00Z",
    ] {
        assert_eq!(parse_rfc3339(bad), None, "{bad:?}");
    }
}

fn request(cron: Option<&str>, once: Option<&str>) -> ScheduleRequest {
    ScheduleRequest {
        cron: cron.map(str::to_owned),
        once: once.map(str::to_owned),
        environment_path: None,
    }
}

/// 2026-05-13T12:30:00Z
fn now() -> Timestamp {
    Timestamp::from_unix_millis(1_778_675_400_000)
}

fn refused(request: &ScheduleRequest) -> String {
    match timing_of(request, now()) {
        Err(ServiceError::Invalid { reason }) => reason,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[test]
fn timings_are_checked() {
    assert_eq!(
        timing_of(&request(Some("0 0 * * *"), Some("")), now()).unwrap(),
        Some(ScheduleTiming::Cron("0 0 * * *".into()))
    );
    assert_eq!(
        timing_of(&request(Some(""), Some("2026-05-14T00:00:00Z")), now()).unwrap(),
        Some(ScheduleTiming::Once(Timestamp::from_unix_millis(
            1_778_716_800_000
        )))
    );
    assert_eq!(timing_of(&request(None, Some("")), now()).unwrap(), None);
    assert_eq!(
        refused(&request(Some("0 0 * * *"), Some("2026-05-14T00:00:00Z"))),
        "only one of scheduleCron or scheduleOnce may be set"
    );
    assert_eq!(
        refused(&request(Some("0 0 * *"), None)),
        "invalid cron expression \"0 0 * *\": expected 5 fields, found 4"
    );
    assert!(refused(&request(Some("*/5 * * * *"), None)).contains("more than once a day"));
    assert_eq!(
        refused(&request(Some("0 0 31 2 *"), None)),
        "cron expression \"0 0 31 2 *\" never fires"
    );
    assert_eq!(
        refused(&request(None, Some("2026-05-13T12:30:00Z"))),
        "scheduleOnce \"2026-05-13T12:30:00Z\" is not in the future"
    );
    assert!(refused(&request(None, Some("next week"))).starts_with("invalid scheduleOnce"));
}

#[test]
fn first_executions() {
    assert_eq!(
        first_execution(&ScheduleTiming::Cron("0 0 * * *".into()), now()),
        Some(Timestamp::from_unix_millis(1_778_716_800_000))
    );
    let at = Timestamp::from_unix_millis(1_800_000_000_000);
    assert_eq!(first_execution(&ScheduleTiming::Once(at), now()), Some(at));
}

#[test]
fn paths_are_checked() {
    assert_eq!(checked_path(None).unwrap(), "");
    assert_eq!(checked_path(Some("db.creds")).unwrap(), "db.creds");
    assert!(matches!(
        checked_path(Some("a[\"x")),
        Err(ServiceError::Invalid { .. })
    ));
}
