//! Signing in with a handle and a password, limited per account and per address.
//!
//! The limiter keeps addresses in memory only, and only while they are being limited: a key
//! whose allowance has filled up again is forgotten at the next sweep.

use crate::{
    Error,
    db::{
        Database,
        actors::ActorRow,
        users::{self, UserRow},
    },
};
use argon2::{Argon2, PasswordHash, PasswordVerifier};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use std::{
    net::IpAddr,
    num::NonZeroU32,
    sync::Mutex,
    time::{Duration, Instant},
};

/// Failed or not, attempts allowed for one account: 10 at once, then one every 30 s.
const PER_ACCOUNT: (u32, Duration) = (10, Duration::from_secs(30));
/// Attempts allowed from one address: 30 at once, then one every 6 s.
const PER_ADDRESS: (u32, Duration) = (30, Duration::from_secs(6));
/// Sign-ups allowed from one address: 5 at once, then one every 6 minutes (as Mastodon), so a
/// script cannot flood the moderators' approval queue.
const SIGN_UPS_PER_ADDRESS: (u32, Duration) = (5, Duration::from_secs(360));
/// How often keys whose allowance has filled up are dropped.
const SWEEP_EVERY: Duration = Duration::from_secs(60);

/// A hash of some password, checked when the account does not exist so that an unknown handle
/// takes as long to refuse as a wrong password.
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$4JmWfEeZlGZSd0A3ywTWyVnR5vQ2Q2pJ3eQ1lWmGmXo";

/// The sign-in limits of one process.
pub struct SignInLimits {
    accounts: DefaultKeyedRateLimiter<String>,
    addresses: DefaultKeyedRateLimiter<IpAddr>,
    sign_ups: DefaultKeyedRateLimiter<IpAddr>,
    last_sweep: Mutex<Instant>,
}

fn quota((burst, every): (u32, Duration)) -> Quota {
    let burst = NonZeroU32::new(burst).unwrap_or(NonZeroU32::MIN);
    Quota::with_period(every)
        .unwrap_or_else(|| Quota::per_minute(NonZeroU32::MIN))
        .allow_burst(burst)
}

impl Default for SignInLimits {
    fn default() -> Self {
        Self {
            accounts: RateLimiter::keyed(quota(PER_ACCOUNT)),
            addresses: RateLimiter::keyed(quota(PER_ADDRESS)),
            sign_ups: RateLimiter::keyed(quota(SIGN_UPS_PER_ADDRESS)),
            last_sweep: Mutex::new(Instant::now()),
        }
    }
}

impl std::fmt::Debug for SignInLimits {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (accounts, addresses) = self.remembered();
        f.debug_struct("SignInLimits")
            .field("accounts", &accounts)
            .field("addresses", &addresses)
            .finish()
    }
}

impl SignInLimits {
    /// Counts an attempt for `handle` from `address`; refused once either is over its limit.
    fn check(&self, handle: &str, address: Option<IpAddr>) -> Result<(), Error> {
        self.sweep();
        let limited = || {
            Error::TooManyRequests("Too many sign-in attempts; wait a minute and try again".into())
        };
        if let Some(address) = address {
            self.addresses.check_key(&address).map_err(|_| limited())?;
        }
        self.accounts
            .check_key(&handle.to_owned())
            .map_err(|_| limited())
    }

    /// Counts a sign-up from `address`; refused once the address is over its limit.
    pub fn check_sign_up(&self, address: Option<IpAddr>) -> Result<(), Error> {
        self.sweep();
        match address {
            Some(address) => self.sign_ups.check_key(&address).map_err(|_| {
                Error::TooManyRequests(
                    "Too many sign-ups from your network; try again later".into(),
                )
            }),
            None => Ok(()),
        }
    }

    fn sweep(&self) {
        let Ok(mut last) = self.last_sweep.lock() else {
            return;
        };
        if last.elapsed() >= SWEEP_EVERY {
            *last = Instant::now();
            self.accounts.retain_recent();
            self.addresses.retain_recent();
            self.sign_ups.retain_recent();
            self.sign_ups.shrink_to_fit();
            self.accounts.shrink_to_fit();
            self.addresses.shrink_to_fit();
        }
    }

    /// How many accounts and addresses are remembered now (for tests of the forgetting).
    pub fn remembered(&self) -> (usize, usize) {
        (self.accounts.len(), self.addresses.len())
    }
}

/// The local person with this handle and password. A wrong password and an unknown handle
/// give the same answer, in about the same time. An account waiting for a moderator's
/// approval is refused, saying so.
pub async fn sign_in(
    db: &Database,
    limits: &SignInLimits,
    handle: &str,
    password: String,
    address: Option<IpAddr>,
) -> Result<(ActorRow, UserRow), Error> {
    let handle = handle.trim().trim_start_matches('@').to_ascii_lowercase();
    limits.check(&handle, address)?;
    let name = handle.clone();
    let found = db
        .run(move |conn| Ok(users::account_by_handle(conn, &name)?))
        .await?;
    let hash = found.as_ref().map_or(DUMMY_HASH.to_owned(), |(_, user)| {
        user.password_hash.clone()
    });
    let matches = tokio::task::spawn_blocking(move || {
        PasswordHash::new(&hash).is_ok_and(|parsed| {
            Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
    })
    .await?;
    match found {
        // Said only to whoever knows the password.
        Some((_, user)) if matches && !user.approved => Err(Error::Forbidden(
            "Your account is waiting for a moderator's approval".to_owned(),
        )),
        Some((_, user)) if matches && user.suspended_at.is_some() => {
            Err(Error::Forbidden("Your account is suspended".to_owned()))
        }
        Some(account) if matches => Ok(account),
        _ => Err(Error::Unprocessable(
            "Invalid handle or password".to_owned(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_account_is_limited_whatever_the_address() {
        let limits = SignInLimits::default();
        for i in 0..PER_ACCOUNT.0 {
            let address = IpAddr::from([127, 0, 0, (i % 250) as u8 + 1]);
            assert!(limits.check("ana", Some(address)).is_ok(), "attempt {i}");
        }
        assert!(matches!(
            limits.check("ana", Some(IpAddr::from([127, 0, 1, 1]))),
            Err(Error::TooManyRequests(_))
        ));
        assert!(
            limits.check("bo", None).is_ok(),
            "other accounts are not affected"
        );
    }

    #[test]
    fn an_address_is_limited_whatever_the_account() {
        let limits = SignInLimits::default();
        let address = Some(IpAddr::from([127, 0, 0, 9]));
        for i in 0..PER_ADDRESS.0 {
            assert!(limits.check(&format!("user{i}"), address).is_ok());
        }
        assert!(limits.check("another", address).is_err());
    }

    #[test]
    fn sign_ups_are_limited_per_address() {
        let limits = SignInLimits::default();
        let address = Some(IpAddr::from([127, 0, 0, 7]));
        for _ in 0..SIGN_UPS_PER_ADDRESS.0 {
            assert!(limits.check_sign_up(address).is_ok());
        }
        assert!(limits.check_sign_up(address).is_err());
        assert!(
            limits
                .check_sign_up(Some(IpAddr::from([127, 0, 0, 8])))
                .is_ok()
        );
    }

    #[test]
    fn the_dummy_hash_is_a_valid_argon2id_hash() {
        assert!(PasswordHash::new(DUMMY_HASH).is_ok());
    }
}
