//! Unix time in whole seconds, passed explicitly so rotation and minting can be tested with
//! an injected clock.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

/// Seconds since the Unix epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct UnixTime(pub u64);

impl UnixTime {
    /// The system clock now (a clock before 1970 reads as 0).
    pub fn now() -> UnixTime {
        UnixTime(
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |elapsed| elapsed.as_secs()),
        )
    }

    /// This time plus `duration` (whole seconds, saturating).
    pub fn plus(self, duration: Duration) -> UnixTime {
        UnixTime(self.0.saturating_add(duration.as_secs()))
    }

    /// This time minus `duration` (whole seconds, saturating at 0).
    pub fn minus(self, duration: Duration) -> UnixTime {
        UnixTime(self.0.saturating_sub(duration.as_secs()))
    }
}
