//! Calendar arithmetic that saturates instead of panicking, anchored on the `today` the caller
//! passes in. There is no clock here.

use chrono::{DateTime, NaiveDate, NaiveTime, TimeDelta, Utc};

use crate::rng::Rng;

pub(crate) const DAY: i64 = 86_400;
pub(crate) const HOUR: i64 = 3_600;

/// `date` moved by `days`, held at the calendar's ends rather than overflowing.
pub(crate) fn shift(date: NaiveDate, days: i64) -> NaiveDate {
    TimeDelta::try_days(days)
        .and_then(|d| date.checked_add_signed(d))
        .unwrap_or(if days < 0 {
            NaiveDate::MIN
        } else {
            NaiveDate::MAX
        })
}

/// A date between `lo` and `hi` inclusive; `hi` when the range is empty.
pub(crate) fn date_between(rng: &mut Rng, lo: NaiveDate, hi: NaiveDate) -> NaiveDate {
    if lo >= hi {
        return hi;
    }
    shift(lo, rng.between(0, (hi - lo).num_days()))
}

/// The instants the generator talks about: "now" is late afternoon of `today`, in UTC, to the
/// second.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Clock {
    pub today: NaiveDate,
    pub now: DateTime<Utc>,
}

impl Clock {
    pub(crate) fn new(today: NaiveDate) -> Clock {
        let time = NaiveTime::from_hms_opt(17, 30, 0).unwrap_or(NaiveTime::MIN);
        Clock {
            today,
            now: today.and_time(time).and_utc(),
        }
    }

    /// `seconds` before now.
    pub(crate) fn ago(&self, seconds: i64) -> DateTime<Utc> {
        before(self.now, seconds)
    }

    /// The instant `seconds` after midnight UTC on `date`, never after now.
    pub(crate) fn on(&self, date: NaiveDate, seconds: i64) -> DateTime<Utc> {
        let midnight = date.and_time(NaiveTime::MIN).and_utc();
        before(midnight, -seconds).min(self.now)
    }

    /// A random instant between `lo_seconds` and `hi_seconds` ago.
    pub(crate) fn ago_between(
        &self,
        rng: &mut Rng,
        lo_seconds: i64,
        hi_seconds: i64,
    ) -> DateTime<Utc> {
        self.ago(rng.between(lo_seconds, hi_seconds))
    }
}

/// `seconds` before `t`, or `t` itself if that would leave the calendar.
pub(crate) fn before(t: DateTime<Utc>, seconds: i64) -> DateTime<Utc> {
    TimeDelta::try_seconds(seconds)
        .and_then(|d| t.checked_sub_signed(d))
        .unwrap_or(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arithmetic_saturates_at_the_ends_of_the_calendar() {
        assert_eq!(shift(NaiveDate::MIN, -10), NaiveDate::MIN);
        assert_eq!(shift(NaiveDate::MAX, 10), NaiveDate::MAX);
        assert_eq!(shift(NaiveDate::MAX, i64::MAX), NaiveDate::MAX);
        let clock = Clock::new(NaiveDate::MIN);
        let _ = clock.ago(i64::MAX);
        let _ = clock.on(NaiveDate::MAX, 3600);
    }

    #[test]
    fn now_is_whole_seconds_on_today() {
        let today = NaiveDate::from_ymd_opt(2026, 3, 2).unwrap_or_default();
        let clock = Clock::new(today);
        assert_eq!(clock.now.date_naive(), today);
        assert_eq!(clock.now.timestamp_subsec_nanos(), 0);
        assert!(clock.on(today, 23 * HOUR) <= clock.now);
    }
}
