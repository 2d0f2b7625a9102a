//! A site's objects natively, for what runs across them (`store::route`,
//! `store::saga`): one SQLite store each, asked through the wire's JSON both
//! ways as the Worker asks a Durable Object.

use std::cell::Cell;
use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use nudge_core::journey::Journeys;

use crate::store::persons::Db;
use crate::store::protocol::*;
use crate::store::shards::{Placed, ShardMap};
use crate::store::sql::{SqlExt, TestSql};
use crate::store::{route, schema, Objects};

const T0: i64 = 1_790_000_000_000;

/// A site's objects natively: one SQLite store each, asked through the
/// wire's JSON both ways as the Worker asks a Durable Object.
pub struct Stores {
    pub map: ShardMap,
    pub sqls: Vec<TestSql>,
    pub now: Cell<i64>,
    /// Commands each object received.
    pub asked: Vec<Cell<u32>>,
    /// The live config's journeys, as every object adopted them.
    pub journeys: Journeys,
}

impl Stores {
    pub fn new(objects: u32) -> Stores {
        let map = ShardMap::new(objects).unwrap();
        let sqls: Vec<TestSql> = map
            .all()
            .map(|_| {
                let sql = TestSql::new();
                schema::migrate(&sql).unwrap();
                sql
            })
            .collect();
        Stores {
            map,
            asked: sqls.iter().map(|_| Cell::new(0)).collect(),
            sqls,
            now: Cell::new(T0),
            journeys: Journeys::default(),
        }
    }

    pub fn call<A: Placed>(&self, ask: &A) -> StoreResult<A::Answer> {
        self.now.set(self.now.get() + 1);
        ready(route(self, ask))
    }

    /// The site's merge log, the first page.
    pub fn merge_log(&self) -> MergeLog {
        self.call(&ListMerges {
            person: None,
            page: Page::default(),
        })
        .unwrap()
    }

    pub fn count(&self, object: usize, sql: &str) -> i64 {
        self.sqls[object].int(sql, &[]).unwrap().unwrap_or(0)
    }
}

impl Objects for Stores {
    fn map(&self) -> ShardMap {
        self.map
    }

    async fn ask<A: Ask>(&self, object: u16, ask: &A) -> StoreResult<A::Answer> {
        let index = usize::from(object);
        self.asked[index].set(self.asked[index].get() + 1);
        let db = Db {
            sql: &self.sqls[index],
            now: self.now.get(),
        };
        crate::store::ask_in(&db, ask, &self.journeys, self.map.objects())
    }
}

/// A campaign's report over every day, as JSON.
pub fn report_of(stores: &Stores, campaign: &str, window_days: i64) -> serde_json::Value {
    let rows = stores
        .call(&Report {
            campaign: campaign.into(),
            from_day: 0,
            to_day: i64::MAX / 2,
            window_days,
        })
        .unwrap();
    serde_json::to_value(rows).unwrap()
}

/// Every campaign's totals over every day, as JSON.
pub fn summary_of(stores: &Stores, window_days: i64) -> serde_json::Value {
    let summary = stores
        .call(&ReportSummary {
            from_day: 0,
            to_day: i64::MAX / 2,
            window_days,
        })
        .unwrap();
    serde_json::to_value(summary).unwrap()
}

/// A small generator, so every run sends the same traffic.
pub struct Dice(pub u64);

impl Dice {
    pub fn roll(&mut self, sides: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % sides
    }
}

/// A browser's own batch, with its key, as the agent sends it.
pub fn own_batch(
    anon: &str,
    events: Vec<serde_json::Value>,
    campaigns: Vec<ReportedCampaign>,
) -> Append {
    Append {
        events,
        cookie_browser: None,
        client: format!("c-{anon}"),
        browser_key: Some(BrowserKey {
            anonymous_id: anon.into(),
            key_hash: format!("h-{anon}"),
        }),
        campaigns,
        held: Vec::new(),
        objects: 0,
        away: false,
    }
}

/// An identify of `anon` with its browser's key, as the Worker sends it
/// once it has checked the proof (a user token).
pub fn signed_in(anon: &str, proven: Proven, phone: Option<String>) -> Identify {
    Identify {
        anonymous_id: anon.into(),
        proven,
        proof: "user_token".into(),
        nonce: None,
        email: None,
        phone,
        browser_key: Some(BrowserKey {
            anonymous_id: anon.into(),
            key_hash: format!("h-{anon}"),
        }),
    }
}

/// The value of a future that does not wait (the native stores answer at once).
pub fn ready<F: Future>(future: F) -> F::Output {
    let mut context = Context::from_waker(Waker::noop());
    match pin!(future).poll(&mut context) {
        Poll::Ready(value) => value,
        Poll::Pending => panic!("a native store call waited"),
    }
}
