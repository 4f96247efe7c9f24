//! The bounded `jti` replay cache: each accepted `jti` is remembered until its token expires.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};

use crate::VerifyError;

pub(crate) struct ReplayCache {
    capacity: usize,
    seen: HashMap<String, u64>,
    by_expiry: BinaryHeap<Reverse<(u64, String)>>,
}

impl ReplayCache {
    pub(crate) fn new(capacity: usize) -> ReplayCache {
        ReplayCache {
            capacity,
            seen: HashMap::new(),
            by_expiry: BinaryHeap::new(),
        }
    }

    /// Records `jti` until `forget_after` (Unix seconds). Refuses a `jti` still remembered,
    /// and refuses anything when full of unexpired entries: forgetting one early would let
    /// its token be replayed.
    pub(crate) fn insert(
        &mut self,
        jti: &str,
        forget_after: u64,
        now: u64,
    ) -> Result<(), VerifyError> {
        while let Some(Reverse((expiry, _))) = self.by_expiry.peek() {
            if *expiry >= now {
                break;
            }
            if let Some(Reverse((expiry, old))) = self.by_expiry.pop()
                && self.seen.get(&old) == Some(&expiry)
            {
                self.seen.remove(&old);
            }
        }
        if self.seen.contains_key(jti) {
            return Err(VerifyError::Replayed);
        }
        if self.seen.len() >= self.capacity {
            return Err(VerifyError::ReplayCacheFull);
        }
        self.seen.insert(jti.to_owned(), forget_after);
        self.by_expiry.push(Reverse((forget_after, jti.to_owned())));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembers_until_expiry_then_forgets() {
        let mut cache = ReplayCache::new(10);
        assert_eq!(cache.insert("a", 100, 50), Ok(()));
        assert_eq!(cache.insert("a", 100, 99), Err(VerifyError::Replayed));
        assert_eq!(cache.insert("a", 100, 100), Err(VerifyError::Replayed));
        assert_eq!(cache.insert("a", 200, 101), Ok(()));
    }

    #[test]
    fn full_cache_refuses_until_entries_expire() {
        let mut cache = ReplayCache::new(2);
        assert_eq!(cache.insert("a", 100, 0), Ok(()));
        assert_eq!(cache.insert("b", 150, 0), Ok(()));
        assert_eq!(
            cache.insert("c", 150, 10),
            Err(VerifyError::ReplayCacheFull)
        );
        assert_eq!(cache.insert("c", 150, 101), Ok(()));
        assert_eq!(cache.insert("b", 150, 101), Err(VerifyError::Replayed));
    }
}
