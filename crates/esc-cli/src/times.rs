//! Times as the CLI prints them (spec/CLI.md § 6.9): Go's `time.Time.String()`
//! layout and RFC 3339, in the local time zone unless `--utc`.
//!
//! The local zone is found the way Go's `time` package finds it: `TZ` unset
//! means `/etc/localtime`; `TZ=""` and `TZ=UTC` mean UTC; `TZ=[:]/a/path`
//! is that TZif file and `TZ=[:]Area/City` the zone of that name under the
//! system's zoneinfo directories; a zone that cannot be read is UTC. Calendar
//! fields come from [`esc_store::Timestamp`]; only the offset and the zone's
//! abbreviation come from the TZif data (read by jiff).

use std::ffi::OsStr;
use std::sync::OnceLock;

use esc_store::Timestamp;
use jiff::tz::TimeZone;

use crate::backend::GO_ZERO_TIME_MILLIS;

/// The zone a time is shown in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Zone {
    /// UTC (`--utc`).
    Utc,
    /// The local time zone (`TZ`, else `/etc/localtime`).
    Local,
}

impl Zone {
    /// [`Zone::Utc`] when `utc` (the `--utc` flag), else [`Zone::Local`].
    pub(crate) fn utc_if(utc: bool) -> Zone {
        if utc { Zone::Utc } else { Zone::Local }
    }

    /// The UTC offset in seconds and the zone abbreviation at `millis`.
    fn offset_at(self, millis: i64) -> (i64, String) {
        match self {
            Zone::Utc => (0, "UTC".to_owned()),
            Zone::Local => offset_in(local_zone(), millis),
        }
    }
}

/// Go's `time.Time.String()`: `2006-01-02 15:04:05.999 -0700 MST` (the
/// fraction only when not zero, trailing zeros trimmed). A missing time
/// (Go's zero time) prints as Go prints its zero value, in UTC.
pub(crate) fn go_time(millis: i64, zone: Zone) -> String {
    let zone = if millis == GO_ZERO_TIME_MILLIS {
        Zone::Utc
    } else {
        zone
    };
    go_format(millis, zone.offset_at(millis))
}

/// [`go_time`] at a UTC offset (seconds) with its zone abbreviation.
fn go_format(millis: i64, (offset, abbreviation): (i64, String)) -> String {
    let c = Timestamp::from_unix_millis(millis)
        .plus_millis(offset.saturating_mul(1000))
        .civil();
    let sign = if offset < 0 { '-' } else { '+' };
    let minutes = offset.abs() / 60;
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}{} {sign}{:02}{:02} {abbreviation}",
        c.year,
        c.month,
        c.day,
        c.hour,
        c.minute,
        c.second,
        fraction(c.millisecond),
        minutes / 60,
        minutes % 60
    )
}

/// RFC 3339 as Go's JSON encoding writes a time: `2024-07-29T08:30:00-04:00`,
/// `Z` for a zero offset, the fraction only when not zero.
pub(crate) fn rfc3339(millis: i64, zone: Zone) -> String {
    rfc3339_format(millis, zone.offset_at(millis).0)
}

/// [`rfc3339`] at a UTC offset (seconds).
fn rfc3339_format(millis: i64, offset: i64) -> String {
    let c = Timestamp::from_unix_millis(millis)
        .plus_millis(offset.saturating_mul(1000))
        .civil();
    let suffix = if offset == 0 {
        "Z".to_owned()
    } else {
        let sign = if offset < 0 { '-' } else { '+' };
        let minutes = offset.abs() / 60;
        format!("{sign}{:02}:{:02}", minutes / 60, minutes % 60)
    };
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}{}{suffix}",
        c.year,
        c.month,
        c.day,
        c.hour,
        c.minute,
        c.second,
        fraction(c.millisecond)
    )
}

/// `.5`, `.12`, `.123`; empty for zero.
fn fraction(millisecond: u32) -> String {
    if millisecond == 0 {
        String::new()
    } else {
        format!(".{millisecond:03}")
            .trim_end_matches('0')
            .to_owned()
    }
}

fn offset_in(zone: &TimeZone, millis: i64) -> (i64, String) {
    let Ok(instant) = jiff::Timestamp::from_millisecond(millis) else {
        return (0, "UTC".to_owned());
    };
    let info = zone.to_offset_info(instant);
    (
        i64::from(info.offset().seconds()),
        info.abbreviation().to_owned(),
    )
}

/// The local zone, looked up once per process.
fn local_zone() -> &'static TimeZone {
    static LOCAL: OnceLock<TimeZone> = OnceLock::new();
    LOCAL.get_or_init(|| zone_of_tz(std::env::var_os("TZ").as_deref()))
}

/// Where Go looks for a zone named by `TZ` (`platformZoneSources`).
const ZONE_DIRECTORIES: [&str; 4] = [
    "/usr/share/zoneinfo",
    "/usr/share/lib/zoneinfo",
    "/usr/lib/locale/TZ",
    "/etc/zoneinfo",
];

/// The zone a value of `TZ` names (Go's `initLocal`).
fn zone_of_tz(tz: Option<&OsStr>) -> TimeZone {
    let Some(tz) = tz else {
        return read_tzif("/etc/localtime").unwrap_or(TimeZone::UTC);
    };
    let tz = tz.to_string_lossy();
    let name = tz.strip_prefix(':').unwrap_or(&tz);
    if name.is_empty() || name == "UTC" {
        return TimeZone::UTC;
    }
    if name.starts_with('/') {
        return read_tzif(name).unwrap_or(TimeZone::UTC);
    }
    ZONE_DIRECTORIES
        .iter()
        .find_map(|dir| read_tzif(&format!("{dir}/{name}")))
        .unwrap_or(TimeZone::UTC)
}

fn read_tzif(path: &str) -> Option<TimeZone> {
    let data = std::fs::read(path).ok()?;
    TimeZone::tzif(path, &data).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const NEW_YORK: &str = "/usr/share/zoneinfo/America/New_York";

    #[test]
    fn utc_times() {
        assert_eq!(go_time(0, Zone::Utc), "1970-01-01 00:00:00 +0000 UTC");
        assert_eq!(
            go_time(4 * 3_600_000, Zone::Utc),
            "1970-01-01 04:00:00 +0000 UTC"
        );
        assert_eq!(
            go_time(1_700_000_000_120, Zone::Utc),
            "2023-11-14 22:13:20.12 +0000 UTC"
        );
        assert_eq!(rfc3339(951_782_400_000, Zone::Utc), "2000-02-29T00:00:00Z");
        assert_eq!(
            rfc3339(951_782_400_500, Zone::Utc),
            "2000-02-29T00:00:00.5Z"
        );
        // a missing time is Go's zero time, in UTC whatever the zone
        assert_eq!(
            go_time(GO_ZERO_TIME_MILLIS, Zone::Local),
            "0001-01-01 00:00:00 +0000 UTC"
        );
        assert_eq!(
            rfc3339(GO_ZERO_TIME_MILLIS, Zone::Utc),
            "0001-01-01T00:00:00Z"
        );
    }

    #[test]
    fn tz_values_name_zones_as_go_reads_them() {
        let abbreviation = |zone: TimeZone, millis| offset_in(&zone, millis);
        // 2024-07-29T12:30:00Z and 2024-01-15T12:00:00Z
        let (summer, winter) = (1_722_256_200_000, 1_705_320_000_000);
        assert_eq!(
            abbreviation(zone_of_tz(Some(OsStr::new(""))), summer),
            (0, "UTC".into())
        );
        assert_eq!(
            abbreviation(zone_of_tz(Some(OsStr::new("UTC"))), summer),
            (0, "UTC".into())
        );
        // unreadable zones are UTC, as in Go
        assert_eq!(
            abbreviation(zone_of_tz(Some(OsStr::new("Nowhere/Atlantis"))), summer),
            (0, "UTC".into())
        );
        if std::path::Path::new(NEW_YORK).exists() {
            for tz in ["America/New_York", ":America/New_York", NEW_YORK] {
                let zone = zone_of_tz(Some(OsStr::new(tz)));
                assert_eq!(
                    abbreviation(zone.clone(), summer),
                    (-4 * 3600, "EDT".into()),
                    "{tz}"
                );
                assert_eq!(
                    abbreviation(zone, winter),
                    (-5 * 3600, "EST".into()),
                    "{tz}"
                );
            }
            let zone = zone_of_tz(Some(OsStr::new("America/New_York")));
            assert_eq!(
                go_format(summer, offset_in(&zone, summer)),
                "2024-07-29 08:30:00 -0400 EDT"
            );
            assert_eq!(
                go_format(winter + 5, offset_in(&zone, winter)),
                "2024-01-15 07:00:00.005 -0500 EST"
            );
            assert_eq!(
                rfc3339_format(summer, offset_in(&zone, summer).0),
                "2024-07-29T08:30:00-04:00"
            );
            // before standard time: local mean time, seconds of the offset dropped
            assert_eq!(
                go_format(-3_000_000_000_000, offset_in(&zone, -3_000_000_000_000)),
                "1874-12-07 13:43:58 -0456 LMT"
            );
        }
    }
}
