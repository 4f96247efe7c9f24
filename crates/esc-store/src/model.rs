//! The records the store keeps. Plain data: `pub` fields where any value is
//! valid. Secret-bearing fields use [`Plaintext`] (redacted `Debug`, zeroized).

use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::crypto::Plaintext;

/// A point in time, in milliseconds since the Unix epoch (UTC).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(i64);

impl Timestamp {
    /// The current time.
    pub fn now() -> Self {
        let millis = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
            .unwrap_or(0);
        Self(millis)
    }

    /// A time from milliseconds since the Unix epoch.
    pub fn from_unix_millis(millis: i64) -> Self {
        Self(millis)
    }

    /// Milliseconds since the Unix epoch.
    pub fn unix_millis(self) -> i64 {
        self.0
    }

    /// This time plus `millis` (saturating).
    pub fn plus_millis(self, millis: i64) -> Self {
        Self(self.0.saturating_add(millis))
    }

    /// RFC 3339 in UTC with whole seconds (`2024-07-29T12:30:00Z`), the form
    /// the REST API sends.
    pub fn rfc3339(self) -> String {
        let c = self.civil();
        format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
            c.year, c.month, c.day, c.hour, c.minute, c.second
        )
    }

    /// The calendar date and clock time of this instant in UTC (proleptic
    /// Gregorian calendar).
    pub fn civil(self) -> CivilTime {
        let seconds = self.0.div_euclid(1000);
        let days = seconds.div_euclid(86_400);
        let of_day = seconds.rem_euclid(86_400);
        // civil-from-days (Howard Hinnant's algorithm)
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z.rem_euclid(146_097);
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = doy - (153 * mp + 2) / 5 + 1;
        let month = if mp < 10 { mp + 3 } else { mp - 9 };
        // every field below is in range by construction
        let small = |v: i64| u32::try_from(v).unwrap_or(0);
        CivilTime {
            year: yoe + era * 400 + i64::from(month <= 2),
            month: small(month),
            day: small(day),
            hour: small(of_day / 3600),
            minute: small(of_day % 3600 / 60),
            second: small(of_day % 60),
            millisecond: small(self.0.rem_euclid(1000)),
        }
    }

    /// The instant of a UTC calendar date and clock time; `None` when a
    /// field is out of range (month 13, February 30, hour 24, ...).
    pub fn from_civil(c: &CivilTime) -> Option<Self> {
        let leap = c.year % 4 == 0 && (c.year % 100 != 0 || c.year % 400 == 0);
        let month_days = match c.month {
            1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
            4 | 6 | 9 | 11 => 30,
            2 if leap => 29,
            2 => 28,
            _ => return None,
        };
        if c.day == 0
            || c.day > month_days
            || c.hour > 23
            || c.minute > 59
            || c.second > 59
            || c.millisecond > 999
        {
            return None;
        }
        // days-from-civil (Howard Hinnant's algorithm)
        let (month, day) = (i64::from(c.month), i64::from(c.day));
        let year = if month <= 2 { c.year - 1 } else { c.year };
        let era = year.div_euclid(400);
        let yoe = year - era * 400;
        let doy = (153 * ((month + 9) % 12) + 2) / 5 + day - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        let days = era.checked_mul(146_097)?.checked_add(doe - 719_468)?;
        let seconds = days.checked_mul(86_400)?.checked_add(
            i64::from(c.hour) * 3600 + i64::from(c.minute) * 60 + i64::from(c.second),
        )?;
        Some(Self(
            seconds
                .checked_mul(1000)?
                .checked_add(i64::from(c.millisecond))?,
        ))
    }

    /// Parses RFC 3339 (`2024-07-29T12:30:00Z`, `...:00.5+02:00`); digits
    /// beyond milliseconds are dropped. `None` when `text` is not RFC 3339.
    pub fn parse_rfc3339(text: &str) -> Option<Self> {
        fn number<T: std::str::FromStr>(digits: &str, len: usize) -> Option<T> {
            (digits.len() == len && digits.bytes().all(|b| b.is_ascii_digit()))
                .then(|| digits.parse().ok())
                .flatten()
        }
        let (date, time) = text.split_once(['T', 't'])?;
        let mut date_parts = date.split('-');
        let year: i64 = number(date_parts.next()?, 4)?;
        let month = number(date_parts.next()?, 2)?;
        let day = number(date_parts.next()?, 2)?;
        if date_parts.next().is_some() {
            return None;
        }
        let (clock, offset_seconds) = match time.strip_suffix(['Z', 'z']) {
            Some(clock) => (clock, 0),
            None => {
                let at = time.rfind(['+', '-'])?;
                let (clock, offset) = time.split_at(at);
                let sign = if offset.starts_with('-') { -1 } else { 1 };
                let (hours, minutes) = offset.get(1..)?.split_once(':')?;
                let hours: i64 = number(hours, 2)?;
                let minutes: i64 = number(minutes, 2)?;
                if hours > 23 || minutes > 59 {
                    return None;
                }
                (clock, sign * (hours * 3600 + minutes * 60))
            }
        };
        let (whole, fraction) = clock.split_once('.').unwrap_or((clock, ""));
        let mut clock_parts = whole.split(':');
        let hour = number(clock_parts.next()?, 2)?;
        let minute = number(clock_parts.next()?, 2)?;
        let second = number(clock_parts.next()?, 2)?;
        if clock_parts.next().is_some() {
            return None;
        }
        let millisecond = if clock.contains('.') {
            if fraction.is_empty() || !fraction.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            let digits = &fraction[..fraction.len().min(3)];
            number(&format!("{digits:0<3}"), 3)?
        } else {
            0
        };
        let utc = Self::from_civil(&CivilTime {
            year,
            month,
            day,
            hour,
            minute,
            second,
            millisecond,
        })?;
        Some(utc.plus_millis(-offset_seconds * 1000))
    }
}

/// A calendar date and clock time (proleptic Gregorian), as
/// [`Timestamp::civil`] gives it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CivilTime {
    /// The year (1 for 1 AD, 0 for 1 BC).
    pub year: i64,
    /// 1 to 12.
    pub month: u32,
    /// 1 to 31.
    pub day: u32,
    /// 0 to 23.
    pub hour: u32,
    /// 0 to 59.
    pub minute: u32,
    /// 0 to 59.
    pub second: u32,
    /// 0 to 999.
    pub millisecond: u32,
}

/// Who made a change: a login and a display name.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Author {
    /// The login (user name).
    pub login: String,
    /// The display name.
    pub name: String,
}

impl Author {
    /// An author from login and display name.
    pub fn new(login: impl Into<String>, name: impl Into<String>) -> Self {
        Self {
            login: login.into(),
            name: name.into(),
        }
    }
}

/// The name of an environment: organization, project, environment.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EnvRef {
    /// Organization name.
    pub org: String,
    /// Project name.
    pub project: String,
    /// Environment name.
    pub name: String,
}

impl EnvRef {
    /// An environment name from its three parts.
    pub fn new(
        org: impl Into<String>,
        project: impl Into<String>,
        name: impl Into<String>,
    ) -> Self {
        Self {
            org: org.into(),
            project: project.into(),
            name: name.into(),
        }
    }
}

impl fmt::Display for EnvRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}/{}", self.org, self.project, self.name)
    }
}

/// An organization.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Organization {
    /// Its name.
    pub name: String,
    /// When it was created.
    pub created: Timestamp,
}

/// A project inside an organization (created with its first environment).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Project {
    /// Organization name.
    pub org: String,
    /// Project name.
    pub name: String,
    /// When it was created.
    pub created: Timestamp,
}

/// An environment's metadata.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Environment {
    /// A unique id, new for every creation (a re-created name gets a new id).
    pub id: String,
    /// Its name.
    pub name: EnvRef,
    /// When it was created.
    pub created: Timestamp,
    /// When its last revision was written or its settings changed.
    pub modified: Timestamp,
    /// The newest revision number (what `latest` points to).
    pub latest_revision: u64,
    /// Whether deletion is refused.
    pub deletion_protected: bool,
}

impl Environment {
    /// An opaque etag for the current revision; differs across revisions and
    /// across re-creations of the same name.
    pub fn etag(&self) -> String {
        format!("{}-{}", self.id, self.latest_revision)
    }
}

/// Settings of an environment that can be changed; `None` keeps the value.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SettingsUpdate {
    /// Turn deletion protection on or off.
    pub deletion_protected: Option<bool>,
}

/// What [`crate::Store::clone_environment`] copies besides the latest definition.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CloneOptions {
    /// Copy every revision (same numbers, authors, times, retractions)
    /// instead of starting from one revision holding the latest definition.
    pub preserve_history: bool,
    /// Copy the key/value environment tags.
    pub preserve_environment_tags: bool,
    /// Copy the revision tags (only with `preserve_history`, since they
    /// point at revision numbers).
    pub preserve_revision_tags: bool,
    /// Clone only while the source's newest revision is this one
    /// (`Conflict` otherwise), checked in the clone's transaction: a
    /// client asking for revision N never gets a copy of N+1.
    pub source_revision: Option<u64>,
}

/// Why and by whom a revision was retracted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Retraction {
    /// The revision that replaces it (tags pointing at it moved there).
    pub replacement: u64,
    /// When it was retracted.
    pub at: Timestamp,
    /// Who retracted it.
    pub by: Author,
    /// The reason given (may be empty).
    pub reason: String,
}

/// An immutable revision of an environment's definition.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Revision {
    /// 1 for the empty definition made at creation, then 2, 3, …
    pub number: u64,
    /// When it was written.
    pub created: Timestamp,
    /// Who wrote it.
    pub author: Author,
    /// Revision tags pointing at it, sorted, including `latest` on the newest.
    pub tags: Vec<String>,
    /// Set when it was retracted.
    pub retracted: Option<Retraction>,
}

/// A revision with its (decrypted) YAML definition.
#[derive(Debug)]
pub struct RevisionContent {
    /// The revision's metadata.
    pub revision: Revision,
    /// The YAML text as stored (secrets as ciphertext once the service rewrote them).
    pub yaml: Plaintext,
}

/// The name of the built-in revision tag of the newest revision.
pub const LATEST_TAG: &str = "latest";

/// Which revision to read: by number or by tag ([`LATEST_TAG`] included).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RevisionAt<'a> {
    /// A revision number.
    Number(u64),
    /// A revision tag name.
    Tag(&'a str),
}

/// A named pointer to a revision.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RevisionTag {
    /// The tag name.
    pub name: String,
    /// The revision it points to.
    pub revision: u64,
    /// When it was created.
    pub created: Timestamp,
    /// When it last moved.
    pub modified: Timestamp,
    /// Who last moved it (`None` for `latest`).
    pub editor: Option<Author>,
}

/// A key/value label on an environment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EnvironmentTag {
    /// A unique id.
    pub id: String,
    /// The key.
    pub name: String,
    /// The value.
    pub value: String,
    /// When it was created.
    pub created: Timestamp,
    /// When it was last changed.
    pub modified: Timestamp,
    /// Who last changed it.
    pub editor: Author,
}

/// A change to an environment tag. `None` keeps the current name or value.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EnvironmentTagUpdate {
    /// When set, the update is refused with `Conflict` unless the current value equals it.
    pub expected_value: Option<String>,
    /// A new name.
    pub new_name: Option<String>,
    /// A new value.
    pub new_value: Option<String>,
}

/// One page of a listing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Page<T> {
    /// The items of this page.
    pub items: Vec<T>,
    /// An opaque token for the next page; `None` when this is the last page.
    pub next: Option<String>,
}

/// Outcome of a rotation (of a whole event or of one path).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RotationStatus {
    /// Still running.
    InProgress,
    /// Done without error.
    Succeeded,
    /// Failed; see the error message.
    Failed,
}

impl RotationStatus {
    /// The wire name (`in_progress`, `succeeded`, `failed`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InProgress => "in_progress",
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
        }
    }

    pub(crate) fn parse(text: &str) -> Option<Self> {
        match text {
            "in_progress" => Some(Self::InProgress),
            "succeeded" => Some(Self::Succeeded),
            "failed" => Some(Self::Failed),
            _ => None,
        }
    }
}

/// The rotation of one path within a rotation event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PathRotation {
    /// The property path of the rotator, e.g. `db.creds`.
    pub path: String,
    /// How it went.
    pub status: RotationStatus,
    /// Why it failed (required when failed).
    pub error_message: Option<String>,
}

/// A rotation event to record (history).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewRotationEvent {
    /// When it started.
    pub created: Timestamp,
    /// When it finished.
    pub completed: Option<Timestamp>,
    /// The revision rotated from.
    pub pre_rotation_revision: u64,
    /// The revision written with the new state, if any.
    pub post_rotation_revision: Option<u64>,
    /// Who asked for it.
    pub user: String,
    /// Overall status.
    pub status: RotationStatus,
    /// Overall error, if any.
    pub error_message: Option<String>,
    /// The schedule that triggered it, if any.
    pub schedule_id: Option<String>,
    /// Per-path results.
    pub rotations: Vec<PathRotation>,
}

/// A recorded rotation event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RotationEvent {
    /// A unique id.
    pub id: String,
    /// The environment's id.
    pub environment_id: String,
    /// The recorded data.
    pub event: NewRotationEvent,
}

/// When a schedule fires.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ScheduleTiming {
    /// A cron expression (interpreted by the scheduler, not the store).
    Cron(String),
    /// Once, at this time.
    Once(Timestamp),
}

/// A schedule to create, or the new content of one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewSchedule {
    /// When it fires.
    pub timing: ScheduleTiming,
    /// The path to rotate; empty for the whole environment.
    pub environment_path: String,
    /// Whether it is paused.
    pub paused: bool,
    /// The next time it is due (computed by the scheduler); `None` = never.
    pub next_execution: Option<Timestamp>,
}

/// A scheduled rotation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Schedule {
    /// A unique id.
    pub id: String,
    /// The environment it belongs to.
    pub environment: EnvRef,
    /// Its content.
    pub schedule: NewSchedule,
    /// When it was created.
    pub created: Timestamp,
    /// When it was last changed.
    pub modified: Timestamp,
    /// When it last ran.
    pub last_executed: Option<Timestamp>,
}

/// One run of a schedule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScheduleRun {
    /// A unique id.
    pub id: String,
    /// The schedule.
    pub schedule_id: String,
    /// When it ran.
    pub executed: Timestamp,
    /// The revision it produced or ran against.
    pub revision: u64,
    /// `succeeded` or `failed` (free text kept for the wire).
    pub result: String,
}

/// An access token as listed (the token itself is never stored).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccessToken {
    /// A unique id (not secret).
    pub id: String,
    /// The login it acts as.
    pub owner: String,
    /// What it is for.
    pub description: String,
    /// When it was created.
    pub created: Timestamp,
    /// When it was last used to authenticate.
    pub last_used: Option<Timestamp>,
    /// When it stops working.
    pub expires: Option<Timestamp>,
}

/// A freshly created access token: the only time its secret value exists.
#[derive(Debug)]
pub struct NewAccessToken {
    /// The stored record.
    pub token: AccessToken,
    /// The bearer value to hand to the user (redacted in `Debug`).
    pub secret: Plaintext,
}

/// The `org` of server-wide audit events (users and access tokens, which
/// belong to no organization): the empty name, which no organization can
/// have, so no organization's audit log lists them;
/// `list_audit_events(SERVER_AUDIT_ORG, ..)` does.
pub const SERVER_AUDIT_ORG: &str = "";

/// An audit event to append.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewAuditEvent {
    /// When it happened.
    pub time: Timestamp,
    /// The organization it concerns ([`SERVER_AUDIT_ORG`] for users and
    /// access tokens).
    pub org: String,
    /// Who did it.
    pub actor: String,
    /// What was done, e.g. `environment.update`.
    pub action: String,
    /// What it was done to, e.g. `app/dev@3`.
    pub target: String,
    /// Extra detail; must not contain secrets.
    pub detail: String,
}

/// A recorded audit event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditEvent {
    /// A unique id.
    pub id: String,
    /// The event.
    pub event: NewAuditEvent,
}

/// A webhook's content, to create or replace.
#[derive(Debug, Clone)]
pub struct WebhookSpec {
    /// A display name.
    pub display_name: String,
    /// Where deliveries are posted.
    pub payload_url: String,
    /// `raw`, `slack`, `ms_teams` or `pulumi_deployments`.
    pub format: String,
    /// Event filters.
    pub filters: Vec<String>,
    /// Event groups.
    pub groups: Vec<String>,
    /// Whether deliveries are made.
    pub active: bool,
}

/// What to do with a webhook's signing secret on update.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum WebhookSecretUpdate {
    /// Keep the current secret.
    Keep,
    /// Remove it.
    Remove,
    /// Replace it.
    Set(Plaintext),
}

/// A stored webhook (its secret is fetched separately with `webhook_secret`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Webhook {
    /// The environment.
    pub environment: EnvRef,
    /// Its unique name within the environment.
    pub name: String,
    /// A display name.
    pub display_name: String,
    /// Where deliveries are posted.
    pub payload_url: String,
    /// Delivery format.
    pub format: String,
    /// Event filters.
    pub filters: Vec<String>,
    /// Event groups.
    pub groups: Vec<String>,
    /// Whether deliveries are made.
    pub active: bool,
    /// Whether a signing secret is set.
    pub has_secret: bool,
    /// When it was created.
    pub created: Timestamp,
    /// When it was last changed.
    pub modified: Timestamp,
}

/// An OIDC signing key of the issuer.
#[derive(Debug)]
pub struct SigningKey {
    /// Key id (`kid`).
    pub kid: String,
    /// Algorithm, e.g. `RS256`.
    pub algorithm: String,
    /// The private key (e.g. PKCS#8 DER), decrypted.
    pub private_key: Plaintext,
    /// When it was created.
    pub created: Timestamp,
    /// When it stopped signing (still published for verification until deleted).
    pub retired: Option<Timestamp>,
}

/// A webhook delivery to record.
#[derive(Debug, Clone)]
pub struct NewWebhookDelivery {
    /// What was delivered, e.g. `environment_updated` or `ping`.
    pub kind: String,
    /// When it was sent.
    pub time: Timestamp,
    /// How long it took, in milliseconds.
    pub duration_ms: i64,
    /// The HTTP status received, if any.
    pub response_code: Option<u16>,
    /// The request and response details (payload, headers, response body) as
    /// the service serializes them; stored encrypted.
    pub details: Plaintext,
}

/// A recorded webhook delivery.
#[derive(Debug, Clone)]
pub struct WebhookDelivery {
    /// A unique id.
    pub id: String,
    /// The webhook's name.
    pub webhook: String,
    /// The delivery.
    pub delivery: NewWebhookDelivery,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_rfc3339() {
        assert_eq!(
            Timestamp::from_unix_millis(0).rfc3339(),
            "1970-01-01T00:00:00Z"
        );
        assert_eq!(
            Timestamp::from_unix_millis(1_722_256_200_999).rfc3339(),
            "2024-07-29T12:30:00Z"
        );
        assert_eq!(
            Timestamp::from_unix_millis(951_782_400_000).rfc3339(),
            "2000-02-29T00:00:00Z"
        );
    }

    #[test]
    fn civil_fields_round_trip() {
        let civil = Timestamp::from_unix_millis(1_700_000_000_120).civil();
        assert_eq!(
            civil,
            CivilTime {
                year: 2023,
                month: 11,
                day: 14,
                hour: 22,
                minute: 13,
                second: 20,
                millisecond: 120
            }
        );
        // Go's zero time, before the epoch
        let zero = Timestamp::from_unix_millis(-62_135_596_800_000);
        assert_eq!(
            (zero.civil().year, zero.civil().month, zero.civil().day),
            (1, 1, 1)
        );
        for millis in [
            0,
            -1,
            951_782_400_000,
            1_722_256_200_999,
            -62_135_596_800_000,
        ] {
            let t = Timestamp::from_unix_millis(millis);
            assert_eq!(Timestamp::from_civil(&t.civil()), Some(t), "{millis}");
        }
        let mut february_30 = Timestamp::from_unix_millis(0).civil();
        (february_30.month, february_30.day) = (2, 30);
        assert_eq!(Timestamp::from_civil(&february_30), None);
    }

    #[test]
    fn parses_rfc3339() {
        let parse = |text| Timestamp::parse_rfc3339(text).map(Timestamp::unix_millis);
        assert_eq!(parse("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(parse("2000-02-29T00:00:00.5Z"), Some(951_782_400_500));
        assert_eq!(
            parse("2000-02-29T00:00:00.123456789Z"),
            Some(951_782_400_123)
        );
        assert_eq!(parse("1970-01-01T01:00:00+01:00"), Some(0));
        assert_eq!(parse("1969-12-31T19:00:00-05:00"), Some(0));
        assert_eq!(parse("0001-01-01T00:00:00Z"), Some(-62_135_596_800_000));
        for bad in [
            "junk",
            "",
            "2024-13-01T00:00:00Z",
            "2023-02-29T00:00:00Z",
            "2024-01-01T24:00:00Z",
            "2024-01-01T00:00:00",
            "2024-01-01T00:00:00.Z",
            "2024-1-01T00:00:00Z",
            "2024-01-01T00:00:00+1:00",
        ] {
            assert_eq!(parse(bad), None, "{bad:?}");
        }
    }
}
