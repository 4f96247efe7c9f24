//! Cron parsing and next-firing times, against instants computed with GNU
//! `date -u -d ... +%s`.

#![allow(clippy::unwrap_used)] // tests: a panic is the failure report

use super::*;

fn next(expression: &str, after_secs: i64) -> Option<i64> {
    Cron::parse(expression)
        .unwrap_or_else(|error| panic!("{expression}: {error}"))
        .next_after(after_secs * 1000)
        .map(|millis| millis / 1000)
}

/// 2024-07-29T12:30:00Z, a Monday.
const MONDAY_NOON_THIRTY: i64 = 1_722_256_200;

#[test]
fn next_firings() {
    // 2026-05-13T12:30:00Z -> 2026-05-14T00:00:00Z
    assert_eq!(next("0 0 * * *", 1_778_675_400), Some(1_778_716_800));
    // strictly after: 12:30 itself is not next
    assert_eq!(
        next("*/15 * * * *", MONDAY_NOON_THIRTY),
        Some(1_722_257_100)
    );
    assert_eq!(next("0 0 * * *", MONDAY_NOON_THIRTY), Some(1_722_297_600));
    assert_eq!(next("0 0 1 * *", MONDAY_NOON_THIRTY), Some(1_722_470_400));
    assert_eq!(next("0 9 * * MON", MONDAY_NOON_THIRTY), Some(1_722_848_400));
    assert_eq!(next("0 9 * * mon", MONDAY_NOON_THIRTY), Some(1_722_848_400));
    assert_eq!(
        next("0 0 29 FEB *", MONDAY_NOON_THIRTY),
        Some(1_835_395_200)
    );
    assert_eq!(
        next("59 23 31 12 *", MONDAY_NOON_THIRTY),
        Some(1_735_689_540)
    );
    assert_eq!(next("0 0 1 1 *", 1_735_689_540), Some(1_735_689_600));
    // Sunday is 0 and 7
    assert_eq!(next("0 0 * * 0", MONDAY_NOON_THIRTY), Some(1_722_729_600));
    assert_eq!(next("0 0 * * 7", MONDAY_NOON_THIRTY), Some(1_722_729_600));
    assert_eq!(
        next("0 0 * * 5-7/2", MONDAY_NOON_THIRTY),
        Some(1_722_729_600 - 2 * 86_400)
    );
    // both day fields restricted: either matches (the 1st before Monday the 5th)
    assert_eq!(next("0 0 1 * MON", MONDAY_NOON_THIRTY), Some(1_722_470_400));
    assert_eq!(next("0 0 1 * MON", 1_722_470_400), Some(1_722_816_000));
    // never
    assert_eq!(next("0 0 31 2 *", MONDAY_NOON_THIRTY), None);
    assert_eq!(next("0 0 30 FEB *", MONDAY_NOON_THIRTY), None);
}

#[test]
fn lists_ranges_and_steps() {
    let cron = Cron::parse("0,30 8-10 * * *").unwrap();
    let mut at = MONDAY_NOON_THIRTY * 1000;
    let mut seen = Vec::new();
    for _ in 0..7 {
        at = cron.next_after(at).unwrap();
        seen.push((at / 1000 - 1_722_297_600) / 60);
    }
    // minutes after 2024-07-30T00:00:00Z
    assert_eq!(seen, [480, 510, 540, 570, 600, 630, 1920]);
    let cron = Cron::parse("10/20 * * * *").unwrap();
    assert_eq!(cron.minutes, (1 << 10) | (1 << 30) | (1 << 50));
}

#[test]
fn refused_expressions_say_why() {
    for (expression, expected) in [
        ("* * * *", "expected 5 fields, found 4"),
        ("* * * * * *", "expected 5 fields, found 6"),
        ("60 * * * *", "minute field \"60\": 60 is outside 0-59"),
        ("* 24 * * *", "hour field \"24\": 24 is outside 0-23"),
        ("* * 0 * *", "day of month field \"0\": 0 is outside 1-31"),
        ("* * * 13 *", "month field \"13\": 13 is outside 1-12"),
        ("* * * * 8", "day of week field \"8\": 8 is outside 0-7"),
        (
            "5-1 * * * *",
            "minute field \"5-1\": range \"5-1\" runs backwards",
        ),
        ("*/0 * * * *", "minute field \"*/0\": invalid step \"0\""),
        ("x * * * *", "minute field \"x\": \"x\" is not a number"),
        (
            "* * * FOO *",
            "month field \"FOO\": \"FOO\" is not a number",
        ),
        (
            "1,,2 * * * *",
            "minute field \"1,,2\": \"\" is not a number",
        ),
    ] {
        assert_eq!(
            Cron::parse(expression).unwrap_err().reason,
            expected,
            "{expression}"
        );
    }
}

#[test]
fn at_most_daily() {
    for daily in ["0 0 * * *", "30 0 * * *", "15 3 1 * MON", "0 0 */2 * *"] {
        assert!(Cron::parse(daily).unwrap().at_most_daily(), "{daily}");
    }
    for more in ["*/5 * * * *", "0 0,12 * * *", "0 * * * *", "0-1 0 * * *"] {
        assert!(!Cron::parse(more).unwrap().at_most_daily(), "{more}");
    }
}

#[test]
fn civil_dates_round_trip() {
    for day in [-800_000, -1, 0, 1, 19_000, 20_000, 2_000_000] {
        let (year, month, day_of_month) = civil_from_days(day);
        assert_eq!(days_from_civil(year, month, day_of_month), day);
    }
    // 2024-07-29
    assert_eq!(days_from_civil(2024, 7, 29) * 86_400, 1_722_211_200);
}

#[test]
fn huge_steps_fire_once_per_range() {
    // `5 + step` does not fit a u32: the range holds its start only
    let cron = Cron::parse("5/4294967295 3 * * *").unwrap();
    assert_eq!(cron.minutes, 1 << 5);
    assert!(cron.at_most_daily());
    let cron = Cron::parse("0 1-23/4294967290 * * *").unwrap();
    assert_eq!(cron.hours, 1 << 1);
}

#[test]
fn instants_at_the_end_of_time_find_nothing() {
    let cron = Cron::parse("0 0 * * *").unwrap();
    assert_eq!(cron.next_after(i64::MAX), None);
    assert_eq!(cron.next_after(i64::MAX - 59_999), None);
}
