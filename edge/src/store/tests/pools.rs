//! Coupon pools over a site's objects (`store::pools`): the codes uploaded
//! to the pool's home, leased by the objects whose persons reach a `set`
//! step, so a pool with fewer codes than objects still reaches everyone.

use nudge_core::journey::Journeys;
use serde_json::{json, Value};

use super::objects::{own_batch, ready, signed_in, Stores};
use crate::store::persons::Db;
use crate::store::pools::{self, home_of, PoolHomes};
use crate::store::protocol::*;
use crate::store::saga;
use crate::store::sql::Sql;

const CONFIG: &str = r#"{"journeys": [{"id": "wb", "entry": {"event": "Went Quiet"}, "steps": [
  {"set": {"coupon_pool": "wb15", "stage": "invited"}},
  {"send": {"destination": "email", "event": "Win Back"}}]}]}"#;

pub(super) fn stores(objects: u32) -> Stores {
    let mut stores = Stores::new(objects);
    let config: nudge_core::Value = serde_json::from_str(CONFIG).unwrap();
    let (journeys, problems) = Journeys::from_config(&config);
    assert!(problems.is_empty(), "{problems:?}");
    stores.journeys = journeys;
    stores
}

pub(super) fn upload(stores: &Stores, codes: &[&str]) -> PoolCounts {
    stores
        .call(&AddPoolCodes {
            pool: "wb15".into(),
            codes: codes.iter().map(|c| c.to_string()).collect(),
        })
        .unwrap()
}

fn counts(stores: &Stores) -> (i64, i64) {
    let counts = stores
        .call(&ReadPool {
            pool: "wb15".into(),
        })
        .unwrap();
    (counts.available, counts.taken)
}

fn event(id: String, anon: &str, name: &str) -> Value {
    json!({"type": "track", "event": name, "messageId": id, "anonymousId": anon,
           "timestamp": "2026-09-03T10:00:00.000Z", "properties": {},
           "context": {"consent": {"marketing": true, "analytics": true}}})
}

fn append(stores: &Stores, anon: &str, name: &str) {
    let events = vec![event(format!("{anon}-{name}"), anon, name)];
    stores.call(&own_batch(anon, events, Vec::new())).unwrap();
}

/// `n` signed-in shoppers of `object` (a pool code goes only to someone
/// vouched for), each entering the journey.
pub(super) fn shoppers(stores: &Stores, object: u16, n: usize) -> Vec<String> {
    let browsers: Vec<String> = (0..)
        .map(|i| format!("pool-{object}-{i}"))
        .filter(|b| stores.map.browser(b) == object)
        .take(n)
        .collect();
    for anon in &browsers {
        append(stores, anon, "Page Viewed");
        let user = Proven::UserId(format!("user-{anon}"));
        ready(saga::identify(stores, &signed_in(anon, user, None), &[])).unwrap();
        append(stores, anon, "Went Quiet");
    }
    browsers
}

/// One alarm step of `object`, as `Site::tick` runs it: leases, then due runs.
fn alarm(stores: &Stores, object: u16) -> usize {
    stores.now.set(stores.now.get() + 1);
    let db = Db {
        sql: &stores.sqls[usize::from(object)],
        now: stores.now.get(),
    };
    ready(pools::lease_step(stores, object, &db)).unwrap();
    let homes = PoolHomes::new(stores.map, object);
    db.fire_due_runs_in(&stores.journeys, 100, homes).unwrap()
}

/// The coupon codes given in `object`.
fn coupons(stores: &Stores, object: u16) -> Vec<String> {
    let sql = &stores.sqls[usize::from(object)];
    sql.query("SELECT code FROM coupons ORDER BY code", &[])
        .unwrap()
        .iter()
        .filter_map(|r| r["code"].as_str().map(str::to_owned))
        .collect()
}

fn sent(stores: &Stores, object: u16) -> i64 {
    stores.count(
        usize::from(object),
        "SELECT count(*) FROM journey_sends WHERE journey = 'wb'",
    )
}

fn counter(stores: &Stores, object: u16, name: &str) -> i64 {
    stores.count(
        usize::from(object),
        &format!("SELECT coalesce(sum(n), 0) FROM journey_stats WHERE journey = 'wb' AND counter = '{name}'"),
    )
}

/// Objects other than the pool's home.
fn away(stores: &Stores) -> Vec<u16> {
    let home = home_of(stores.map, "wb15");
    stores.map.all().filter(|o| *o != home).collect()
}

#[test]
fn a_pool_of_one_code_reaches_a_person_in_any_object_and_then_runs_out() {
    let stores = stores(4);
    let home = home_of(stores.map, "wb15");
    assert_eq!(upload(&stores, &["WB15-ONLY"]).added, Some(1));
    assert_eq!(
        stores.count(usize::from(home), "SELECT count(*) FROM coupon_pools"),
        1
    );
    let (first, second) = (away(&stores)[0], away(&stores)[1]);
    shoppers(&stores, first, 1);

    // The set step finds no code here: it waits, and nothing after it runs.
    assert_eq!(alarm(&stores, first), 1);
    assert!(coupons(&stores, first).is_empty());
    assert_eq!(sent(&stores, first), 0);
    // The next step leases the code and plays the run at once.
    assert_eq!(alarm(&stores, first), 1);
    assert_eq!(coupons(&stores, first), ["WB15-ONLY"]);
    assert_eq!(sent(&stores, first), 1);
    assert_eq!(counter(&stores, first, "coupon_pool_empty"), 0);
    assert_eq!(counts(&stores), (0, 1), "counted where the code went");

    // Someone in another object: the home has none left, so the step
    // misses as it would with one object (and the send still goes).
    shoppers(&stores, second, 1);
    assert_eq!(alarm(&stores, second), 1);
    assert_eq!(sent(&stores, second), 0);
    assert_eq!(alarm(&stores, second), 1);
    assert!(coupons(&stores, second).is_empty());
    assert_eq!(counter(&stores, second, "coupon_pool_empty"), 1);
    assert_eq!(sent(&stores, second), 1);
    // Told "none left", the object does not ask again for a while: the
    // next person there misses at once.
    shoppers(&stores, second, 2);
    let asked = stores.asked[usize::from(home)].get();
    alarm(&stores, second);
    assert_eq!(counter(&stores, second, "coupon_pool_empty"), 2);
    assert_eq!(sent(&stores, second), 2);
    assert_eq!(stores.asked[usize::from(home)].get(), asked);
    assert_eq!(counts(&stores), (0, 1));
}

#[test]
fn a_lease_takes_as_many_codes_as_runs_wait_and_the_home_keeps_the_rest() {
    let stores = stores(4);
    let codes: Vec<String> = (0..10).map(|i| format!("WB15-{i:02}")).collect();
    let codes: Vec<&str> = codes.iter().map(String::as_str).collect();
    upload(&stores, &codes);
    let object = away(&stores)[2];
    shoppers(&stores, object, 3);
    assert_eq!(alarm(&stores, object), 3);
    assert_eq!(alarm(&stores, object), 3);
    assert_eq!(coupons(&stores, object).len(), 3);
    assert_eq!(sent(&stores, object), 3);
    assert_eq!(counts(&stores), (7, 3));
    // Every code is in exactly one object.
    let everywhere: i64 = stores
        .map
        .all()
        .map(|o| stores.count(usize::from(o), "SELECT count(*) FROM coupon_pools"))
        .sum();
    assert_eq!(everywhere, 10);
}

#[test]
fn a_lease_asked_again_gets_the_same_codes_and_no_code_goes_twice() {
    let stores = stores(4);
    upload(&stores, &["A", "B", "C", "D", "E"]);
    let lease = |lease: i64, count: i64| {
        stores
            .call(&LeaseCodes {
                pool: "wb15".into(),
                to: 3,
                lease,
                count,
            })
            .unwrap()
            .codes
    };
    assert_eq!(lease(7, 2), ["A", "B"]);
    // An answer lost on the way: asked again, the same codes, no more.
    assert_eq!(lease(7, 2), ["A", "B"]);
    assert_eq!(lease(8, 10), ["C", "D", "E"]);
    assert!(lease(9, 10).is_empty());
    assert_eq!(lease(8, 10), ["C", "D", "E"]);
}

#[test]
fn a_person_who_holds_a_code_or_is_not_vouched_for_does_not_wait() {
    let stores = stores(4);
    upload(&stores, &["WB15-1", "WB15-2"]);
    let object = away(&stores)[0];
    // Never signed in: the step misses as unverified, at once.
    let anon = (0..)
        .map(|i| format!("anon-{i}"))
        .find(|b| stores.map.browser(b) == object)
        .unwrap();
    append(&stores, &anon, "Page Viewed");
    append(&stores, &anon, "Went Quiet");
    alarm(&stores, object);
    assert_eq!(counter(&stores, object, "coupon_unverified"), 1);
    assert_eq!(sent(&stores, object), 1);
    assert_eq!(
        stores.count(usize::from(object), "SELECT count(*) FROM pool_wants"),
        0
    );
}

#[test]
fn with_one_object_a_set_step_never_waits() {
    let stores = stores(1);
    upload(&stores, &["WB15-1"]);
    shoppers(&stores, 0, 2);
    assert_eq!(alarm(&stores, 0), 2);
    assert_eq!(coupons(&stores, 0), ["WB15-1"]);
    assert_eq!(counter(&stores, 0, "coupon_pool_empty"), 1);
    assert_eq!(sent(&stores, 0), 2);
}
