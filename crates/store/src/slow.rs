//! The slow-query log: a store operation that held its connection for `slow_query` or longer
//! (waiting for it included) is logged with its duration and the line that asked for it.

use std::panic::Location;
use std::time::{Duration, Instant};

pub(crate) struct SlowQuery {
    limit: Option<Duration>,
    started: Instant,
    at: &'static Location<'static>,
}

impl SlowQuery {
    #[track_caller]
    pub(crate) fn start(limit: Option<Duration>) -> SlowQuery {
        SlowQuery {
            limit,
            started: Instant::now(),
            at: Location::caller(),
        }
    }
}

impl Drop for SlowQuery {
    fn drop(&mut self) {
        let took = self.started.elapsed();
        if self.limit.is_some_and(|limit| took >= limit) {
            tracing::warn!(
                duration_ms = u64::try_from(took.as_millis()).unwrap_or(u64::MAX),
                at = %format_args!("{}:{}", self.at.file(), self.at.line()),
                "slow query"
            );
        }
    }
}
