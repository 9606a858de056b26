//! How long a session lives, as a pure decision over times the caller supplies.

use chrono::{DateTime, TimeDelta, Utc};

/// A session unused for this long has ended.
pub const SESSION_IDLE_TIMEOUT: TimeDelta = TimeDelta::minutes(30);
/// A session this old has ended however busy it is.
pub const SESSION_ABSOLUTE_TIMEOUT: TimeDelta = TimeDelta::hours(12);

/// When a session began and when it was last used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionTimes {
    pub created: DateTime<Utc>,
    pub last_seen: DateTime<Utc>,
}

impl SessionTimes {
    /// A session beginning at `now`.
    pub fn new(now: DateTime<Utc>) -> SessionTimes {
        SessionTimes {
            created: now,
            last_seen: now,
        }
    }

    /// Whether the session is still usable at `now`: used less than `idle` ago and begun less
    /// than `absolute` ago. At exactly either limit it has ended.
    pub fn is_live(&self, now: DateTime<Utc>, idle: TimeDelta, absolute: TimeDelta) -> bool {
        now.signed_duration_since(self.last_seen) < idle
            && now.signed_duration_since(self.created) < absolute
    }

    /// When the session ends if it is not used again: the earlier of the two limits. `None`
    /// only if that lies beyond the dates chrono can represent.
    pub fn expires_at(&self, idle: TimeDelta, absolute: TimeDelta) -> Option<DateTime<Utc>> {
        let idle_end = self.last_seen.checked_add_signed(idle)?;
        let absolute_end = self.created.checked_add_signed(absolute)?;
        Some(idle_end.min(absolute_end))
    }

    /// Marks the session used at `now` (never moving `last_seen` backwards).
    pub fn touch(&mut self, now: DateTime<Utc>) {
        self.last_seen = self.last_seen.max(now);
    }
}
