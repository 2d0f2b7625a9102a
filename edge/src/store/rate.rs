//! Events per minute, per site and per client, counted where every event of
//! a site passes: its store. Counters live in the object's memory (a limiter,
//! not state: an evicted object starts counting afresh, which only ever lets
//! a little more through).

use std::collections::HashMap;

const MINUTE_MS: i64 = 60_000;
/// Clients tracked at once; past this the oldest window's counters are dropped.
const MAX_CLIENTS: usize = 10_000;

/// Events a site and a client may send per minute.
#[derive(Debug, Clone, Copy)]
pub struct EventRates {
    pub per_site: u32,
    pub per_client: u32,
}

impl Default for EventRates {
    fn default() -> Self {
        // A browser sends a few events a minute; a busy shop thousands.
        EventRates {
            per_site: 30_000,
            per_client: 600,
        }
    }
}

#[derive(Default)]
pub struct Counters {
    minute: i64,
    site: u32,
    clients: HashMap<String, u32>,
}

impl Counters {
    /// Counts `n` events from `client` at `now`; `Err(seconds to wait)` if
    /// either budget would be exceeded (then nothing is counted).
    pub fn take(&mut self, rates: EventRates, client: &str, n: u32, now: i64) -> Result<(), u32> {
        let minute = now.div_euclid(MINUTE_MS);
        if minute != self.minute {
            self.minute = minute;
            self.site = 0;
            self.clients.clear();
        } else if self.clients.len() > MAX_CLIENTS {
            // Too many clients to track: their counters go, the site's stays
            // (many addresses must not buy a fresh site budget).
            self.clients.clear();
        }
        let from_client = self.clients.get(client).copied().unwrap_or(0);
        if self.site.saturating_add(n) > rates.per_site
            || from_client.saturating_add(n) > rates.per_client
        {
            let wait_ms = (minute + 1) * MINUTE_MS - now;
            return Err((wait_ms / 1000).max(1) as u32);
        }
        self.site += n;
        self.clients.insert(client.to_owned(), from_client + n);
        Ok(())
    }

    /// Counts `n` events from `client` that were accepted already (batches
    /// spilled while the store was overloaded, written now): never refused,
    /// but they use up this minute's budgets, so the next direct sends of a
    /// flood that overloaded the store are refused sooner.
    pub fn spend(&mut self, client: &str, n: u32, now: i64) {
        let unlimited = EventRates {
            per_site: u32::MAX,
            per_client: u32::MAX,
        };
        let _ = self.take(unlimited, client, n, now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spilled_events_use_up_the_budget_without_being_refused() {
        let rates = EventRates {
            per_site: 50,
            per_client: 10,
        };
        let mut counters = Counters::default();
        counters.spend("flood", 40, 0);
        assert!(counters.take(rates, "flood", 1, 1).is_err());
        assert!(counters.take(rates, "other", 10, 2).is_ok());
        assert!(
            counters.take(rates, "third", 1, 3).is_err(),
            "the site's 50 are spent"
        );
    }

    #[test]
    fn events_not_requests_are_counted_per_client_and_site() {
        let rates = EventRates {
            per_site: 150,
            per_client: 100,
        };
        let mut c = Counters::default();
        assert_eq!(c.take(rates, "a", 100, 0), Ok(()));
        assert_eq!(c.take(rates, "a", 1, 1_000), Err(59));
        assert_eq!(c.take(rates, "b", 50, 2_000), Ok(()));
        assert_eq!(
            c.take(rates, "c", 1, 2_000),
            Err(58),
            "the site's budget is spent"
        );
        assert_eq!(c.take(rates, "a", 100, 60_000), Ok(()), "a new minute");
        // Many addresses in one minute never reset the site's budget.
        let rates = EventRates {
            per_site: 50,
            per_client: 10,
        };
        let mut c = Counters::default();
        for i in 0..=MAX_CLIENTS {
            let _ = c.take(rates, &format!("ip-{i}"), 0, 0);
        }
        assert_eq!(c.take(rates, "x", 10, 1), Ok(()));
        for i in 0..4 {
            assert_eq!(c.take(rates, &format!("y{i}"), 10, 1), Ok(()));
        }
        assert_eq!(
            c.take(rates, "z", 1, 2),
            Err(59),
            "still the same minute's site budget"
        );
    }
}
