//! Row ids: time-ordered 64-bit numbers, made by the application so that no insert needs
//! `RETURNING` (which diesel's multi-backend connection lacks) and so that ids sort by age,
//! as Mastodon's do (clients page with `max_id` and `since_id`).

use std::sync::atomic::{AtomicI64, AtomicU16, Ordering};

static SEQUENCE: AtomicU16 = AtomicU16::new(0);
static LAST: AtomicI64 = AtomicI64::new(0);

/// A new id: milliseconds since the Unix epoch in the high bits, then 6 random bits and a
/// 10-bit per-process sequence, so ids from several processes in one millisecond rarely meet.
/// Within a process each id is greater than the one before (the outbox's cursors rely on
/// it), even within a millisecond or if the clock steps back.
pub fn new_id() -> i64 {
    let millis = chrono::Utc::now().timestamp_millis().max(0);
    let random = i64::from(rand::random::<u8>() & 0x3f);
    let sequence = i64::from(SEQUENCE.fetch_add(1, Ordering::Relaxed) & 0x3ff);
    let candidate = (millis << 16) | (random << 10) | sequence;
    let previous = LAST.fetch_max(candidate, Ordering::Relaxed);
    if candidate > previous {
        candidate
    } else {
        LAST.fetch_add(1, Ordering::Relaxed) + 1
    }
}

/// A name no one can guess, for files and the URLs that serve them: 128 random bits in hex.
pub fn random_token() -> String {
    format!("{:032x}", rand::random::<u128>())
}

/// Makes every later id greater than `floor`.
pub fn at_least(floor: i64) {
    LAST.fetch_max(floor, Ordering::Relaxed);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_positive_unique_and_grow_with_time() {
        let first = new_id();
        let many: Vec<i64> = (0..1000).map(|_| new_id()).collect();
        assert!(
            many.windows(2).all(|w| w[0] < w[1]),
            "each greater than the one before"
        );
        std::thread::sleep(std::time::Duration::from_millis(2));
        let later = new_id();
        assert!(first > 0 && later > first);
    }
}
