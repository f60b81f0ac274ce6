//! A bound on the key fetches that incoming requests can cause.
//!
//! Each request signed by an actor Hearth does not know (or whose key fails) costs one fetch
//! of that actor. Without a bound, a flood of requests naming thousands of made-up actors would
//! turn Hearth into a source of traffic at the hosts they name.

use std::{
    collections::HashMap,
    sync::Mutex,
    time::{Duration, Instant},
};

/// Key fetches allowed per sending host and window.
pub const FETCHES_PER_HOST: u32 = 60;

/// The window.
pub const WINDOW: Duration = Duration::from_secs(60);

/// Hosts remembered at most before old windows are forgotten.
const MAX_HOSTS: usize = 10_000;

/// Counts key fetches per host in fixed one-minute windows.
#[derive(Debug, Default)]
pub struct KeyFetchBudget {
    hosts: Mutex<HashMap<String, (Instant, u32)>>,
}

impl KeyFetchBudget {
    /// Takes one fetch for `host` from its budget; false when the budget is spent.
    pub fn allow(&self, host: &str) -> bool {
        let Ok(mut hosts) = self.hosts.lock() else {
            return false;
        };
        let now = Instant::now();
        if hosts.len() >= MAX_HOSTS {
            hosts.retain(|_, (start, _)| now.duration_since(*start) < WINDOW);
        }
        let entry = hosts.entry(host.to_owned()).or_insert((now, 0));
        if now.duration_since(entry.0) >= WINDOW {
            *entry = (now, 0);
        }
        if entry.1 >= FETCHES_PER_HOST {
            return false;
        }
        entry.1 += 1;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_host_gets_its_own_budget() {
        let budget = KeyFetchBudget::default();
        for _ in 0..FETCHES_PER_HOST {
            assert!(budget.allow("flood.example"));
        }
        assert!(!budget.allow("flood.example"), "the budget is spent");
        assert!(
            budget.allow("other.example"),
            "another host is not affected"
        );
    }
}
