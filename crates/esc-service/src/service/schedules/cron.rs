//! Five-field cron expressions (`minute hour day-of-month month
//! day-of-week`), evaluated in UTC: `*`, numbers, ranges `a-b`, steps
//! `*/n` and `a-b/n`, lists `a,b`, month and weekday names (`JAN`, `MON`),
//! weekday 7 = Sunday. As in Vixie cron, when both day fields are
//! restricted a day matching either fires. Small on purpose: schedules need
//! nothing more, and a dependency would cost more build time than this.

use std::fmt;

/// A parsed cron expression.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Cron {
    minutes: u64,
    hours: u64,
    days_of_month: u64,
    months: u64,
    days_of_week: u64,
    /// Whether the day-of-month field was `*` (unrestricted).
    any_day_of_month: bool,
    /// Whether the day-of-week field was `*` (unrestricted).
    any_day_of_week: bool,
}

/// Why a cron expression was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct CronError {
    /// What is wrong, naming the field.
    pub(crate) reason: String,
}

impl fmt::Display for CronError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.reason)
    }
}

/// How far ahead [`Cron::next_after`] looks (covers every leap-day
/// expression: 29 February recurs within 8 years).
const SEARCH_DAYS: i64 = 366 * 9;

const MINUTE_MILLIS: i64 = 60_000;
const DAY_MILLIS: i64 = 86_400_000;

struct Field {
    name: &'static str,
    min: u32,
    max: u32,
    names: &'static [&'static str],
}

const FIELDS: [Field; 5] = [
    Field {
        name: "minute",
        min: 0,
        max: 59,
        names: &[],
    },
    Field {
        name: "hour",
        min: 0,
        max: 23,
        names: &[],
    },
    Field {
        name: "day of month",
        min: 1,
        max: 31,
        names: &[],
    },
    Field {
        name: "month",
        min: 1,
        max: 12,
        names: &[
            "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
        ],
    },
    Field {
        name: "day of week",
        min: 0,
        max: 7,
        names: &["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"],
    },
];

impl Cron {
    /// Parses five whitespace-separated fields.
    pub(crate) fn parse(text: &str) -> Result<Cron, CronError> {
        let parts: Vec<&str> = text.split_whitespace().collect();
        if parts.len() != 5 {
            return Err(CronError {
                reason: format!("expected 5 fields, found {}", parts.len()),
            });
        }
        let mut sets = [0u64; 5];
        for ((set, part), field) in sets.iter_mut().zip(&parts).zip(&FIELDS) {
            *set = parse_field(part, field)?;
        }
        // weekday 7 is Sunday
        let mut days_of_week = sets[4];
        if days_of_week & (1 << 7) != 0 {
            days_of_week = (days_of_week | 1) & !(1 << 7);
        }
        Ok(Cron {
            minutes: sets[0],
            hours: sets[1],
            days_of_month: sets[2],
            months: sets[3],
            days_of_week,
            any_day_of_month: parts[2] == "*",
            any_day_of_week: parts[4] == "*",
        })
    }

    /// Whether it fires at most once per day (one minute, one hour): the
    /// API's minimum interval for recurring schedules.
    pub(crate) fn at_most_daily(&self) -> bool {
        self.minutes.count_ones() == 1 && self.hours.count_ones() == 1
    }

    /// The first firing strictly after `after` (Unix milliseconds, UTC), or
    /// `None` when it never fires (e.g. 31 February).
    pub(crate) fn next_after(&self, after: i64) -> Option<i64> {
        // the next whole minute after `after`
        let start = after
            .div_euclid(MINUTE_MILLIS)
            .checked_add(1)?
            .checked_mul(MINUTE_MILLIS)?;
        let first_day = start.div_euclid(DAY_MILLIS);
        for day in first_day..first_day.checked_add(SEARCH_DAYS)? {
            if !self.day_matches(day) {
                continue;
            }
            // the end of the representable time ends the search
            let day_start = day.checked_mul(DAY_MILLIS)?;
            let from_minute = if day == first_day {
                (start - day_start) / MINUTE_MILLIS
            } else {
                0
            };
            for minute_of_day in from_minute..24 * 60 {
                let (hour, minute) = (minute_of_day / 60, minute_of_day % 60);
                if self.hours & (1 << hour) != 0 && self.minutes & (1 << minute) != 0 {
                    return day_start.checked_add(minute_of_day * MINUTE_MILLIS);
                }
            }
        }
        None
    }

    fn day_matches(&self, day: i64) -> bool {
        let (_, month, day_of_month) = civil_from_days(day);
        if self.months & (1 << month) == 0 {
            return false;
        }
        // 1970-01-01 was a Thursday (4)
        let weekday = (day + 4).rem_euclid(7);
        let dom = self.days_of_month & (1 << day_of_month) != 0;
        let dow = self.days_of_week & (1 << weekday) != 0;
        match (self.any_day_of_month, self.any_day_of_week) {
            (true, true) => true,
            (true, false) => dow,
            (false, true) => dom,
            (false, false) => dom || dow,
        }
    }
}

fn parse_field(text: &str, field: &Field) -> Result<u64, CronError> {
    let error = |what: String| CronError {
        reason: format!("{} field {text:?}: {what}", field.name),
    };
    let mut set = 0u64;
    for item in text.split(',') {
        let (range, step) = match item.split_once('/') {
            Some((range, step)) => {
                let step: u32 = step
                    .parse()
                    .ok()
                    .filter(|step| *step > 0)
                    .ok_or_else(|| error(format!("invalid step {step:?}")))?;
                (range, step)
            }
            None => (item, 1),
        };
        let (low, high) = if range == "*" {
            (field.min, field.max)
        } else if let Some((low, high)) = range.split_once('-') {
            (value(low, field, &error)?, value(high, field, &error)?)
        } else {
            let single = value(range, field, &error)?;
            // `5/15` means from 5 to the end in steps of 15
            if item.contains('/') {
                (single, field.max)
            } else {
                (single, single)
            }
        };
        if low > high {
            return Err(error(format!("range {range:?} runs backwards")));
        }
        // `high` is at most 59 and `step` any u32: the sum may not fit
        let mut current = Some(low);
        while let Some(value) = current.filter(|value| *value <= high) {
            set |= 1 << value;
            current = value.checked_add(step);
        }
    }
    Ok(set)
}

fn value(text: &str, field: &Field, error: &dyn Fn(String) -> CronError) -> Result<u32, CronError> {
    let upper = text.to_ascii_uppercase();
    let number = match field.names.iter().position(|name| *name == upper) {
        Some(index) => {
            // month names start at 1, weekday names at 0
            u32::try_from(index).unwrap_or(0) + if field.min == 1 { 1 } else { 0 }
        }
        None => text
            .parse::<u32>()
            .map_err(|_| error(format!("{text:?} is not a number")))?,
    };
    if number < field.min || number > field.max {
        return Err(error(format!(
            "{number} is outside {}-{}",
            field.min, field.max
        )));
    }
    Ok(number)
}

/// (year, month 1-12, day 1-31) of a day number since 1970-01-01 (Howard
/// Hinnant's civil-from-days).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Day number since 1970-01-01 of a civil date (the inverse of
/// [`civil_from_days`]).
pub(crate) fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let yoe = year - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests;
