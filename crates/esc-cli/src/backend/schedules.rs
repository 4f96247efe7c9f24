//! What the schedule commands ask of a backend (spec/API.md § 5.10) and
//! get back; both backends fill these from the same ScheduledAction and
//! history shapes. Times are RFC 3339 in UTC, empty for never.

/// A rotation schedule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ScheduleInfo {
    pub(crate) id: String,
    /// `environment_rotation`.
    pub(crate) kind: String,
    /// The cron expression, or empty.
    pub(crate) cron: String,
    /// The one-time instant, or empty.
    pub(crate) once: String,
    /// The next execution, or empty.
    pub(crate) next: String,
    /// The last execution, or empty.
    pub(crate) last: String,
}

/// One run of a schedule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ScheduleRunInfo {
    pub(crate) id: String,
    pub(crate) executed: String,
    pub(crate) version: u64,
    pub(crate) result: String,
}

/// A new timing: exactly one is set (the command checked).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ScheduleTiming {
    pub(crate) cron: Option<String>,
    pub(crate) once: Option<String>,
}

/// A time the API sent (RFC 3339, or `2006-01-02 15:04:05.000` in UTC as
/// Pulumi Cloud sends) as RFC 3339 in UTC to the second; empty stays
/// empty, anything else is shown as sent.
pub(crate) fn normalize_time(text: &str) -> String {
    if text.is_empty() {
        return String::new();
    }
    let rfc3339 = if text.as_bytes().get(10) == Some(&b' ') && !text.ends_with('Z') {
        format!("{}T{}Z", &text[..10], &text[11..])
    } else {
        text.to_string()
    };
    match esc_service::parse_rfc3339(&rfc3339) {
        Some(millis) => esc_store::Timestamp::from_unix_millis(millis).rfc3339(),
        None => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::normalize_time;

    #[test]
    fn times_become_rfc3339_in_utc() {
        assert_eq!(normalize_time(""), "");
        assert_eq!(
            normalize_time("2026-05-14 00:00:00.000"),
            "2026-05-14T00:00:00Z"
        );
        assert_eq!(
            normalize_time("2026-05-14T00:00:00Z"),
            "2026-05-14T00:00:00Z"
        );
        assert_eq!(
            normalize_time("2026-05-14T02:00:00+02:00"),
            "2026-05-14T00:00:00Z"
        );
        assert_eq!(
            normalize_time("2026-05-14T00:00:00.250Z"),
            "2026-05-14T00:00:00Z"
        );
        assert_eq!(normalize_time("soon"), "soon");
    }
}
