//! Sign-in guesses as the service counts them, on every test database: the account at an
//! address, the address across accounts, and the account across addresses, each with its own
//! ceiling, so that no one address can lock the real user out.

use std::net::IpAddr;

use chrono::{TimeDelta, Utc};
use steward_auth::{ACCOUNT_LIMIT, ADDRESS_LIMIT, PAIR_LIMIT, RetryAfter, guess_keys};
use steward_service::{Guess, Steward};
use steward_store::testing::databases;

fn addr(n: u8) -> IpAddr {
    IpAddr::from([192, 0, 2, n])
}

fn reserve(steward: &Steward, email: &str, from: IpAddr) -> Result<Guess, RetryAfter> {
    steward
        .reserve_guess(&guess_keys("password", email, from), Utc::now())
        .unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn an_address_spends_its_own_allowance_not_the_account_s() {
    for db in databases("service_guesses_pair") {
        let b = db.backend;
        let steward = Steward::open(&db.url).unwrap_or_else(|e| panic!("{e}"));
        for n in 1..=PAIR_LIMIT {
            assert!(
                reserve(&steward, "alice@example.org", addr(66)).is_ok(),
                "{b}: {n}"
            );
        }
        // The attacker's address is spent on alice, for up to five minutes...
        let refused = reserve(&steward, "alice@example.org", addr(66));
        assert!(
            refused
                .as_ref()
                .is_err_and(|w| (1..=300).contains(&w.seconds)),
            "{b}: {refused:?}"
        );
        // ...but alice from her own address goes on, unslowed, and her right guess clears
        // nothing of the attacker's.
        let alice = reserve(&steward, "alice@example.org", addr(1));
        assert!(alice.as_ref().is_ok_and(|g| !g.slow), "{b}: {alice:?}");
        if let Ok(guess) = alice {
            steward
                .settle_guess(&guess, true)
                .unwrap_or_else(|e| panic!("{e}"));
        }
        assert!(
            reserve(&steward, "alice@example.org", addr(66)).is_err(),
            "{b}"
        );
    }
}

#[test]
fn an_address_guessing_at_many_accounts_is_refused_at_its_own_ceiling() {
    for db in databases("service_guesses_address") {
        let b = db.backend;
        let steward = Steward::open(&db.url).unwrap_or_else(|e| panic!("{e}"));
        // One guess at each of many accounts: no pair is near its ceiling, the address is.
        for n in 0..ADDRESS_LIMIT {
            let email = format!("p{n}@example.org");
            assert!(reserve(&steward, &email, addr(66)).is_ok(), "{b}: {n}");
        }
        assert!(
            reserve(&steward, "another@example.org", addr(66)).is_err(),
            "{b}"
        );
        // Another address is not touched by it.
        assert!(
            reserve(&steward, "another@example.org", addr(7)).is_ok(),
            "{b}"
        );
    }
}

#[test]
fn many_addresses_at_one_account_slow_it_but_never_lock_it() {
    for db in databases("service_guesses_account") {
        let b = db.backend;
        let steward = Steward::open(&db.url).unwrap_or_else(|e| panic!("{e}"));
        // Guesses from many addresses, a few each: past the account's ceiling.
        for n in 0..ACCOUNT_LIMIT {
            let guess = reserve(&steward, "alice@example.org", addr(100 + (n % 10) as u8));
            assert!(guess.is_ok_and(|g| !g.slow), "{b}: guess {n}");
        }
        // Alice's own guess is checked, slowly, never refused; a right one takes itself back.
        let alice = reserve(&steward, "alice@example.org", addr(1));
        assert!(alice.as_ref().is_ok_and(|g| g.slow), "{b}: {alice:?}");
        if let Ok(guess) = alice {
            steward
                .settle_guess(&guess, true)
                .unwrap_or_else(|e| panic!("{e}"));
        }
        let pair = guess_keys("password", "alice@example.org", addr(1));
        let counted = steward
            .store()
            .sign_in_failures(&pair[2].key, Utc::now() - TimeDelta::minutes(5), 1000)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(counted.len(), ACCOUNT_LIMIT as usize, "{b}");
        // A wrong guess stands.
        let wrong = reserve(&steward, "alice@example.org", addr(1));
        if let Ok(guess) = &wrong {
            steward
                .settle_guess(guess, false)
                .unwrap_or_else(|e| panic!("{e}"));
        }
        let counted = steward
            .store()
            .sign_in_failures(&pair[0].key, Utc::now() - TimeDelta::minutes(5), 1000)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(counted.len(), 1, "{b}");
    }
}
