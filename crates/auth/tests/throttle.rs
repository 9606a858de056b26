//! Throttling: the window's boundaries, Retry-After, clearing on success, bounded memory, and
//! a model-based property test against a naive list of every failure.

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use proptest::prelude::*;
use steward_auth::{DEFAULT_THROTTLE_LIMIT, DEFAULT_THROTTLE_WINDOW, RetryAfter, Throttle};

const ALICE: &str = "account:alice@example.org";
const ADDR: &str = "addr:192.0.2.1";

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).unwrap()
}

fn secs(n: i64) -> DateTime<Utc> {
    t0() + TimeDelta::seconds(n)
}

#[test]
fn defaults_are_ten_failures_in_five_minutes() {
    assert_eq!(DEFAULT_THROTTLE_LIMIT, 10);
    assert_eq!(DEFAULT_THROTTLE_WINDOW, TimeDelta::minutes(5));
}

#[test]
fn tenth_failure_allowed_eleventh_refused_until_the_window_slides() {
    let mut throttle = Throttle::default();
    // Ten attempts, one every 10 seconds (t = 0, 10, .., 90), each checked then failed.
    for i in 0..10 {
        assert_eq!(
            throttle.check(ALICE, secs(i * 10)),
            Ok(()),
            "attempt {}",
            i + 1
        );
        throttle.record_failure(ALICE, secs(i * 10));
    }
    // (seconds after t0, expected) for the 11th attempt. The oldest failure, at 0, leaves the
    // window at 300; the next, at 10, at 310.
    let cases = [
        (90, Err(RetryAfter { seconds: 210 })),
        (91, Err(RetryAfter { seconds: 209 })),
        (299, Err(RetryAfter { seconds: 1 })),
        (300, Ok(())),
        (305, Ok(())),
    ];
    for (at, expected) in cases {
        assert_eq!(throttle.check(ALICE, secs(at)), expected, "at {at}");
    }
    // Another failure at 300 makes ten in the window again, until 310.
    throttle.record_failure(ALICE, secs(300));
    assert_eq!(
        throttle.check(ALICE, secs(300)),
        Err(RetryAfter { seconds: 10 })
    );
    assert_eq!(
        throttle.check(ALICE, secs(309)),
        Err(RetryAfter { seconds: 1 })
    );
    assert_eq!(throttle.check(ALICE, secs(310)), Ok(()));
    // Other keys are untouched.
    assert_eq!(throttle.check(ADDR, secs(300)), Ok(()));
}

#[test]
fn retry_after_rounds_up_to_whole_seconds() {
    let mut throttle = Throttle::new(1, TimeDelta::seconds(60));
    throttle.record_failure(ALICE, t0());
    let cases = [
        (TimeDelta::milliseconds(1), 60),
        (TimeDelta::milliseconds(999), 60),
        (TimeDelta::milliseconds(1000), 59),
        (TimeDelta::milliseconds(59_001), 1),
        (TimeDelta::milliseconds(59_999), 1),
    ];
    for (after, seconds) in cases {
        assert_eq!(
            throttle.check(ALICE, t0() + after),
            Err(RetryAfter { seconds }),
            "{after}"
        );
    }
    assert_eq!(throttle.check(ALICE, t0() + TimeDelta::seconds(60)), Ok(()));
    assert_eq!(
        RetryAfter { seconds: 42 }.to_string(),
        "too many failed attempts; try again in 42 seconds"
    );
}

#[test]
fn success_clears_only_its_key() {
    let mut throttle = Throttle::default();
    for i in 0..10 {
        throttle.record_failure(ALICE, secs(i));
        throttle.record_failure(ADDR, secs(i));
    }
    assert!(throttle.check(ALICE, secs(10)).is_err());
    throttle.record_success(ALICE);
    assert_eq!(throttle.check(ALICE, secs(10)), Ok(()));
    assert!(throttle.check(ADDR, secs(10)).is_err());
}

#[test]
fn a_clock_stepping_back_neither_panics_nor_waits_past_a_window() {
    let mut throttle = Throttle::new(2, TimeDelta::seconds(60));
    throttle.record_failure(ALICE, secs(100));
    throttle.record_failure(ALICE, secs(50));
    // Both are "in the future" at 0: refused, for at most one window.
    assert_eq!(
        throttle.check(ALICE, secs(0)),
        Err(RetryAfter { seconds: 60 })
    );
    // At 100 the failure at 50 has aged 50 s.
    assert_eq!(
        throttle.check(ALICE, secs(100)),
        Err(RetryAfter { seconds: 10 })
    );
    assert_eq!(throttle.check(ALICE, secs(110)), Ok(()));
}

#[test]
fn memory_is_bounded() {
    let mut throttle = Throttle::default().with_max_keys(3);
    throttle.record_failure("addr:192.0.2.1", secs(0));
    throttle.record_failure("addr:192.0.2.2", secs(10));
    throttle.record_failure("addr:192.0.2.3", secs(20));
    // Full, nothing expired: the key failing least recently makes room.
    throttle.record_failure("addr:192.0.2.4", secs(30));
    assert_eq!(throttle.tracked_keys(), 3);
    // Later, everything but .4's failure has expired: pruning makes room without evicting it.
    throttle.record_failure("addr:192.0.2.4", secs(320));
    throttle.record_failure("addr:192.0.2.5", secs(321));
    assert_eq!(throttle.tracked_keys(), 2);
    throttle.prune(secs(10_000));
    assert_eq!(throttle.tracked_keys(), 0);
    // A key keeps at most `limit` timestamps however often it fails.
    let mut throttle = Throttle::default();
    for i in 0..10_000 {
        throttle.record_failure(ALICE, secs(i));
    }
    assert_eq!(
        throttle.check(ALICE, secs(10_000)),
        Err(RetryAfter { seconds: 290 })
    );
}

#[test]
fn keys_for_accounts_and_addresses() {
    let cases = [
        (
            Throttle::account_key("  Alice@Example.ORG "),
            "account:alice@example.org",
        ),
        (
            Throttle::addr_key("192.0.2.1".parse().unwrap()),
            "addr:192.0.2.1",
        ),
        (
            Throttle::addr_key("2001:db8:1:2:3:4:5:6".parse().unwrap()),
            "addr:2001:db8:1:2::/64",
        ),
        (
            Throttle::addr_key("2001:db8:1:2:ffff::1".parse().unwrap()),
            "addr:2001:db8:1:2::/64",
        ),
        (
            Throttle::addr_key("::ffff:192.0.2.9".parse().unwrap()),
            "addr:192.0.2.9",
        ),
    ];
    for (got, expected) in cases {
        assert_eq!(got, expected);
    }
}

#[derive(Debug, Clone)]
enum Op {
    /// Wait this many seconds, then check and, if allowed, fail.
    Attempt(u16),
    /// Wait, then fail without checking first (as a careless caller might).
    Fail(u16),
    Succeed,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (0u16..90).prop_map(Op::Attempt),
        2 => (0u16..90).prop_map(Op::Fail),
        1 => Just(Op::Succeed),
    ]
}

/// Every failure since the last success, and the rule stated plainly.
fn model_check(
    failures: &[DateTime<Utc>],
    limit: usize,
    window: TimeDelta,
    now: DateTime<Utc>,
) -> Result<(), RetryAfter> {
    let mut live: Vec<DateTime<Utc>> = failures
        .iter()
        .copied()
        .filter(|t| now - *t < window)
        .collect();
    live.sort();
    if live.len() < limit {
        return Ok(());
    }
    // The failure whose leaving brings the count under the limit.
    let deciding = live[live.len() - limit];
    let wait = (deciding + window - now).num_milliseconds();
    Err(RetryAfter {
        seconds: u64::try_from(wait).unwrap().div_ceil(1000).max(1),
    })
}

proptest! {
    #[test]
    fn throttle_agrees_with_a_naive_model(
        limit in 1u32..6,
        window_secs in 1i64..400,
        ops in proptest::collection::vec(op(), 0..120),
    ) {
        let window = TimeDelta::seconds(window_secs);
        let mut throttle = Throttle::new(limit, window);
        let mut failures = Vec::new();
        let mut now = t0();
        for op in ops {
            match op {
                Op::Attempt(wait) => {
                    now += TimeDelta::seconds(i64::from(wait));
                    let expected = model_check(&failures, limit as usize, window, now);
                    prop_assert_eq!(throttle.check(ALICE, now), expected);
                    if expected.is_ok() {
                        throttle.record_failure(ALICE, now);
                        failures.push(now);
                    }
                }
                Op::Fail(wait) => {
                    now += TimeDelta::seconds(i64::from(wait));
                    throttle.record_failure(ALICE, now);
                    failures.push(now);
                }
                Op::Succeed => {
                    throttle.record_success(ALICE);
                    failures.clear();
                }
            }
            // After every step the throttle and the model agree.
            let expected = model_check(&failures, limit as usize, window, now);
            prop_assert_eq!(throttle.check(ALICE, now), expected);
        }
    }
}

#[test]
fn a_guess_counts_under_the_account_at_its_address_the_address_and_the_account() {
    use steward_auth::{ACCOUNT_LIMIT, ADDRESS_LIMIT, Over, PAIR_LIMIT, guess_keys};
    let keys = guess_keys(
        "password",
        " Alice@Example.org",
        "192.0.2.1".parse().unwrap(),
    );
    let named: Vec<(&str, u32, Over)> = keys
        .iter()
        .map(|k| (k.key.as_str(), k.limit, k.over))
        .collect();
    assert_eq!(
        named,
        vec![
            (
                "password:account:alice@example.org+addr:192.0.2.1",
                PAIR_LIMIT,
                Over::Refuse
            ),
            ("password:addr:192.0.2.1", ADDRESS_LIMIT, Over::Refuse),
            (
                "password:account:alice@example.org",
                ACCOUNT_LIMIT,
                Over::Slow
            ),
        ]
    );
    // The pair is Cyber Essentials' ten; the address's ceiling is higher, the account's is never
    // a refusal.
    assert_eq!(PAIR_LIMIT, 10);
    const { assert!(ADDRESS_LIMIT > PAIR_LIMIT && ACCOUNT_LIMIT > PAIR_LIMIT) };
}

#[test]
fn the_verdict_refuses_a_spent_pair_or_address_and_only_slows_a_spent_account() {
    use steward_auth::{Verdict, guess_keys, verdict};
    let keys = guess_keys(
        "password",
        "alice@example.org",
        "192.0.2.1".parse().unwrap(),
    );
    let window = DEFAULT_THROTTLE_WINDOW;
    let now = secs(100);
    let times = |n: usize| -> Vec<DateTime<Utc>> { (0..n).map(|i| secs(i as i64)).collect() };
    let at = |pair: usize, addr: usize, account: usize| {
        verdict(
            &keys,
            &[times(pair), times(addr), times(account)],
            window,
            now,
        )
    };
    assert_eq!(at(9, 40, 29), Verdict::Go);
    // Ten at the pair: refused until the oldest of the ten leaves the window (at 300).
    assert_eq!(
        at(10, 10, 10),
        Verdict::Refused(RetryAfter { seconds: 200 })
    );
    // Fifty from the address, at any accounts: refused; the longest wait wins.
    assert_eq!(at(0, 50, 0), Verdict::Refused(RetryAfter { seconds: 200 }));
    assert_eq!(
        verdict(
            &keys,
            &[times(10), (40..90).map(secs).collect(), vec![]],
            window,
            now
        ),
        Verdict::Refused(RetryAfter { seconds: 240 })
    );
    // However many failures the account has from elsewhere, a guess is slowed, never refused.
    assert_eq!(at(0, 0, 30), Verdict::Slow);
    assert_eq!(at(0, 0, 10_000), Verdict::Slow);
    assert_eq!(
        at(10, 0, 10_000),
        Verdict::Refused(RetryAfter { seconds: 200 })
    );
    // Failures older than the window count for nothing.
    assert_eq!(
        verdict(&keys, &[times(10), times(50), times(30)], window, secs(400)),
        Verdict::Go
    );
}

#[test]
fn the_memory_count_checks_each_key_under_its_own_ceiling() {
    let mut throttle = Throttle::new(50, DEFAULT_THROTTLE_WINDOW);
    for i in 0..10 {
        throttle.record_failure(ADDR, secs(i));
    }
    assert_eq!(
        throttle.check_under(ADDR, 10, secs(10)),
        Err(RetryAfter { seconds: 290 })
    );
    assert_eq!(throttle.check_under(ADDR, 50, secs(10)), Ok(()));
    // A ceiling above what the throttle keeps is held to what it keeps.
    for i in 10..50 {
        throttle.record_failure(ADDR, secs(i));
    }
    assert!(throttle.check_under(ADDR, 1_000, secs(60)).is_err());
}
