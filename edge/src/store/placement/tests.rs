//! The same traffic through `store::route` to one object and to several
//! (rusqlite stores standing in for a site's Durable Objects): every answer
//! a caller sees is the same, and each object holds only its own browsers.

use std::cell::Cell;

use serde_json::{json, Value};

use crate::store::protocol::*;
use crate::store::shards::{qualify, unqualify};
use crate::store::sql::Sql;
use crate::store::tests::objects::{report_of, signed_in, summary_of, Dice, Stores};

fn campaigns() -> Vec<ReportedCampaign> {
    let arm = |key: &str, control: bool| ReportedVariant {
        key: key.into(),
        weight: 0.5,
        control,
    };
    vec![
        ReportedCampaign {
            id: "ab".into(),
            goal: Some("Order Completed".into()),
            variants: vec![arm("control", true), arm("urgency", false)],
        },
        ReportedCampaign {
            id: "solo".into(),
            goal: Some("Signed Up".into()),
            variants: Vec::new(),
        },
    ]
}

fn track(id: String, anon: &str, name: &str, day: u32, props: Value) -> Value {
    json!({"type": "track", "event": name, "messageId": id, "anonymousId": anon,
           "timestamp": format!("2026-09-{day:02}T10:00:00.000Z"), "properties": props})
}

/// One browser's visit: views, the A/B campaign shown, clicks, a sign-up
/// and orders on some days.
fn visit(dice: &mut Dice, browser: &str, n: &mut u32) -> Vec<Value> {
    let mut id = || {
        *n += 1;
        format!("e{n}")
    };
    let day = 1 + dice.roll(20) as u32;
    let variant = if dice.roll(2) == 0 {
        "control"
    } else {
        "urgency"
    };
    let mut events = vec![
        track(id(), browser, "Page Viewed", day, json!({})),
        track(
            id(),
            browser,
            "Campaign Shown",
            day,
            json!({"campaign_id": "ab", "variant": variant, "control": variant == "control"}),
        ),
        track(
            id(),
            browser,
            "Campaign Shown",
            day,
            json!({"campaign_id": "solo"}),
        ),
    ];
    if dice.roll(3) == 0 {
        events.push(track(
            id(),
            browser,
            "Campaign Clicked",
            day,
            json!({"campaign_id": "solo"}),
        ));
        events.push(track(id(), browser, "Signed Up", day + 1, json!({})));
    }
    for _ in 0..dice.roll(3) {
        let total = 5.0 + dice.roll(9_000) as f64 / 100.0;
        events.push(track(
            id(),
            browser,
            "Order Completed",
            day + 2,
            json!({"total": total}),
        ));
    }
    events
}

fn batch(events: Vec<Value>, key_of: Option<&str>) -> Append {
    // Each batch its own client (the budgets of new keyless persons are
    // per client, and shares per object: see `traffic`).
    let client = events
        .first()
        .and_then(|e| e["messageId"].as_str())
        .unwrap_or("c");
    Append {
        events: events.clone(),
        cookie_browser: None,
        client: format!("client-{client}"),
        browser_key: key_of.map(|anon| BrowserKey {
            anonymous_id: anon.into(),
            key_hash: format!("h-{anon}"),
        }),
        campaigns: campaigns(),
        held: Vec::new(),
        objects: 0,
        away: false,
    }
}

/// What a caller sees after the same traffic: every answer to compare.
#[derive(Debug, PartialEq)]
struct Seen {
    appended: (u32, u32, usize),
    reports: Vec<Value>,
    summary: Value,
    listing: Vec<(i64, String)>,
    totals: (i64, i64),
    profiles: Vec<Value>,
}

/// 400 browsers: most send their own batches (with their key), some
/// arrive in a server's mixed batches, some in spilled batches; a few
/// resend (duplicates).
fn traffic(stores: &Stores) -> Seen {
    let mut dice = Dice(7);
    let mut n = 0;
    let (mut accepted, mut duplicates, mut unproven) = (0, 0, 0);
    let mut count = |a: &Appended| {
        accepted += a.accepted;
        duplicates += a.duplicates;
        unproven += a.unproven.len();
    };
    let browsers: Vec<String> = (0..400).map(|i| format!("browser-{i}")).collect();
    for browser in &browsers[..300] {
        let events = visit(&mut dice, browser, &mut n);
        let appended = stores.call(&batch(events.clone(), Some(browser))).unwrap();
        count(&appended);
        if dice.roll(10) == 0 {
            count(&stores.call(&batch(events, Some(browser))).unwrap());
        }
    }
    // A server's batches: many browsers each, no browser key; and batches
    // spilled with one browser's key. Each browser was first seen alone
    // (its own client), so no budget of new keyless persons decides here:
    // those budgets are shares per object, only about the site's
    // (`store::events`), and which browsers share an object differs with
    // the count.
    for browser in &browsers[300..] {
        let first = track(
            format!("first-{browser}"),
            browser,
            "Page Viewed",
            1,
            json!({}),
        );
        count(&stores.call(&batch(vec![first], None)).unwrap());
    }
    for chunk in browsers[300..360].chunks(12) {
        let events: Vec<Value> = chunk
            .iter()
            .flat_map(|b| visit(&mut dice, b, &mut n))
            .collect();
        count(&stores.call(&batch(events, None)).unwrap());
    }
    // Batches spilled while an object was overloaded, written later at once.
    let spilled = AppendSpilled {
        batches: browsers[360..]
            .chunks(8)
            .map(|chunk| {
                let events = chunk
                    .iter()
                    .flat_map(|b| visit(&mut dice, b, &mut n))
                    .collect();
                batch(events, Some(&chunk[0]))
            })
            .collect(),
    };
    let answers = stores.call(&spilled).unwrap();
    assert_eq!(answers.len(), spilled.batches.len());
    answers.iter().for_each(&mut count);

    let report = |campaign: &str| report_of(stores, campaign, 7);
    let summary = summary_of(stores, 7);
    let (listing, totals) = list_events(stores, 7);
    let profiles = [
        "browser-0",
        "browser-17",
        "browser-301",
        "browser-360",
        "browser-399",
    ]
    .iter()
    .map(|anon| {
        let read = ReadProfile {
            anonymous_id: (*anon).into(),
            key_hash: format!("h-{anon}"),
        };
        // A browser that never presented a key has no profile to read.
        match stores.call(&read) {
            Ok(profile) => serde_json::to_value(profile).unwrap(),
            Err(refused) => json!(format!("{refused:?}")),
        }
    })
    .collect();
    Seen {
        appended: (accepted, duplicates, unproven),
        reports: vec![report("ab"), report("solo"), report("none")],
        summary,
        listing,
        totals,
        profiles,
    }
}

/// Every stored event, page by page of `limit`: (received at, id), and the totals.
fn list_events(stores: &Stores, limit: u32) -> (Vec<(i64, String)>, (i64, i64)) {
    let mut listed = Vec::new();
    let mut page = Page {
        limit: Some(limit),
        ..Page::default()
    };
    let mut before_id = None;
    loop {
        let ask = RecentEvents {
            page: page.clone(),
            before_id: before_id.clone(),
        };
        let answer = stores.call(&ask).unwrap();
        assert!(answer.events.len() <= limit as usize);
        listed.extend(answer.events.iter().map(|e| (e.received_at, e.id.clone())));
        match answer.next_before {
            Some(at) => {
                page.before = Some(at);
                before_id = answer.next_before_id;
            }
            None => return (listed, (answer.total, answer.archived)),
        }
    }
}

/// Receive times differ by store (each object's clock ticks with its own
/// calls here), so listings are compared by order of ids within a browser.
fn ids(listing: &[(i64, String)]) -> Vec<String> {
    let mut ids: Vec<String> = listing.iter().map(|(_, id)| id.clone()).collect();
    ids.sort();
    ids
}

#[test]
fn the_same_traffic_reads_the_same_over_one_four_and_sixty_four_objects() {
    let one = Stores::new(1);
    let seen_one = traffic(&one);
    assert!(seen_one.appended.0 > 1_500, "{:?}", seen_one.appended);
    assert!(seen_one.appended.1 > 0, "some resends are duplicates");
    for objects in [4, 64] {
        let many = Stores::new(objects);
        let seen = traffic(&many);
        assert_eq!(seen.appended, seen_one.appended, "{objects}");
        assert_eq!(seen.reports, seen_one.reports, "{objects}");
        assert_eq!(seen.summary, seen_one.summary, "{objects}");
        assert_eq!(seen.profiles, seen_one.profiles, "{objects}");
        assert_eq!(seen.totals, seen_one.totals, "{objects}");
        // Every event listed once, newest first, at a page size that ends
        // pages inside batches.
        assert_eq!(ids(&seen.listing), ids(&seen_one.listing), "{objects}");
        assert!(seen
            .listing
            .windows(2)
            .all(|w| (w[0].0, &w[0].1) > (w[1].0, &w[1].1)));
        // Each object holds exactly its own browsers' persons, and every
        // object holds some.
        let mut persons = 0;
        for object in many.map.all() {
            let index = usize::from(object);
            let here = many.count(index, "SELECT count(*) FROM persons");
            assert!(here > 0, "object {object} of {objects} holds nobody");
            persons += here;
            let anons = many.sqls[index]
                .query("SELECT value FROM identifiers WHERE kind = 'anon'", &[])
                .unwrap();
            for row in anons {
                let anon = row["value"].as_str().unwrap();
                assert_eq!(many.map.browser(anon), object, "{anon}");
            }
            let ids = many.sqls[index]
                .query("SELECT id FROM persons", &[])
                .unwrap();
            for row in ids {
                assert_eq!(many.map.person(row["id"].as_str().unwrap()), object);
            }
        }
        assert_eq!(persons, one.count(0, "SELECT count(*) FROM persons"));
    }
}

#[test]
fn a_batch_of_one_browser_goes_to_one_object_and_a_mixed_one_is_split() {
    let stores = Stores::new(8);
    let events = |batch: &str, browsers: &[&str]| -> Vec<Value> {
        browsers
            .iter()
            .enumerate()
            .map(|(i, b)| track(format!("{batch}-{i}"), b, "Page Viewed", 1, json!({})))
            .collect()
    };
    let a = "alpha";
    let b = (0..)
        .map(|i| format!("other-{i}"))
        .find(|b| stores.map.browser(b) != stores.map.browser(a))
        .unwrap();
    let appended = stores
        .call(&batch(events("one", &[a, a]), Some(a)))
        .unwrap();
    assert_eq!(appended.accepted, 2);
    assert_eq!(appended.verified_browser.as_deref(), Some(a));
    let asked: u32 = stores.asked.iter().map(Cell::get).sum();
    assert_eq!(asked, 1, "one browser's batch is one request");
    // Mixed: each object gets its own events, and the key only where its
    // browser is; the answers add up.
    let mixed = batch(events("mixed", &[a, &b, a]), Some(a));
    let appended = stores.call(&mixed).unwrap();
    assert_eq!((appended.accepted, appended.duplicates), (3, 0));
    assert_eq!(appended.verified_browser.as_deref(), Some(a));
    let at = |browser: &str| usize::from(stores.map.browser(browser));
    assert_eq!(stores.count(at(a), "SELECT count(*) FROM events"), 4);
    assert_eq!(stores.count(at(&b), "SELECT count(*) FROM events"), 1);
    assert_eq!(stores.count(at(&b), "SELECT count(*) FROM browser_keys"), 0);
    // Sent again: duplicates everywhere, nothing new.
    let again = stores.call(&mixed).unwrap();
    assert_eq!((again.accepted, again.duplicates), (0, 3));
}

#[test]
fn dead_letters_list_and_go_by_site_wide_numbers() {
    let stores = Stores::new(4);
    let letter = |i: usize| DeadLetter {
        reason: format!("r{i}"),
        message: json!({"site": "shop", "i": i}),
    };
    // Filed where the forwards were recorded: three objects, 3 letters each.
    for object in [0u16, 1, 3] {
        let outcomes = Outcomes {
            delivered: Vec::new(),
            dead_letters: (0..3)
                .map(|i| letter(usize::from(object) * 10 + i))
                .collect(),
            object,
        };
        stores.call(&outcomes).unwrap();
    }
    let mut listed = Vec::new();
    let mut after = None;
    loop {
        let page = stores
            .call(&ListDeadLetters {
                page: Page {
                    after,
                    limit: Some(2),
                    ..Page::default()
                },
            })
            .unwrap();
        assert_eq!(page.total, 9);
        listed.extend(page.letters.iter().map(|l| (l.seq, l.reason.clone())));
        match page.next_after {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    let reasons: Vec<&str> = listed.iter().map(|(_, r)| r.as_str()).collect();
    assert_eq!(
        reasons,
        ["r0", "r1", "r2", "r10", "r11", "r12", "r30", "r31", "r32"]
    );
    assert_eq!(unqualify(listed[3].0), Some((1, 1)));
    // Removing by those numbers removes exactly those letters.
    let seqs = vec![listed[0].0, listed[4].0, listed[8].0, qualify(2, 1)];
    let removed = stores.call(&RemoveDeadLetters { seqs }).unwrap();
    assert_eq!(removed.removed, 3);
    let left = stores
        .call(&ListDeadLetters {
            page: Page::default(),
        })
        .unwrap();
    let reasons: Vec<&str> = left.letters.iter().map(|l| l.reason.as_str()).collect();
    assert_eq!(reasons, ["r1", "r2", "r10", "r12", "r30", "r31"]);
}

#[test]
fn merges_in_any_object_list_and_undo_by_site_wide_numbers() {
    let stores = Stores::new(4);
    // Two browsers of one object, identified as one user: a merge there.
    let object = 2;
    let mut browsers = (0..)
        .map(|i| format!("b{i}"))
        .filter(|b| stores.map.browser(b) == object);
    let (a, b) = (browsers.next().unwrap(), browsers.next().unwrap());
    for anon in [&a, &b] {
        let view = track(format!("v-{anon}"), anon, "Page Viewed", 1, json!({}));
        stores.call(&batch(vec![view], Some(anon))).unwrap();
        let identified = stores
            .call(&signed_in(anon, Proven::UserId("u1".into()), None))
            .unwrap();
        assert_eq!(stores.map.person(&identified.person), object);
    }
    let log = stores.merge_log();
    assert_eq!(log.merges.len(), 1);
    let seq = log.merges[0]["seq"].as_i64().unwrap();
    assert_eq!(unqualify(seq).map(|(o, _)| o), Some(object));
    // The person's own log is read at its object only.
    let person = log.merges[0]["into_person"].as_str().unwrap().to_owned();
    let before: Vec<u32> = stores.asked.iter().map(Cell::get).collect();
    let own = stores
        .call(&ListMerges {
            person: Some(person),
            page: Page::default(),
        })
        .unwrap();
    assert_eq!(own.merges, log.merges);
    let after: Vec<u32> = stores.asked.iter().map(Cell::get).collect();
    let asked: Vec<usize> = (0..4).filter(|&i| after[i] != before[i]).collect();
    assert_eq!(asked, [usize::from(object)]);
    let undone = stores
        .call(&UndoMerge {
            seq,
            reason: "test".into(),
        })
        .unwrap();
    assert_eq!(undone.undone, seq);
    // A number no object gave is refused, not undone somewhere else.
    assert!(stores
        .call(&UndoMerge {
            seq: qualify(1, 1),
            reason: "x".into(),
        })
        .is_err());
}

#[test]
fn every_object_adopts_the_live_config_and_the_home_keeps_its_own() {
    let stores = Stores::new(4);
    stores.sqls[0]
        .execute(
            "INSERT INTO config_versions (version, at, by, action, note, config)
             VALUES (3, 1, 'ann', 'publish', 'welcome', '{\"home\": true}')",
            &[],
        )
        .unwrap();
    let adopt = AdoptConfig {
        version: 3,
        config: "{\"pushed\": true}".into(),
    };
    stores.call(&adopt).unwrap();
    stores.call(&adopt).unwrap();
    for (object, sql) in stores.sqls.iter().enumerate() {
        let rows = sql
            .query("SELECT version, by, config FROM config_versions", &[])
            .unwrap();
        assert_eq!(rows.len(), 1, "object {object}");
        assert_eq!(rows[0]["version"], 3);
        let expected = if object == 0 { "ann" } else { "site" };
        assert_eq!(rows[0]["by"], expected);
    }
}

#[test]
fn the_journeys_list_adds_every_objects_counters_and_compares_the_holdout_on_the_sums() {
    let config = json!({"campaigns": [], "journeys": [{"id": "cart", "entry": {"event": "Product Added"},
        "holdout": {"percent": 50},
        "steps": [{"wait": {"hours": 1}}, {"send": {"destination": "email", "event": "Cart Abandoned"}}]}]});
    let (journeys, problems) =
        nudge_core::journey::Journeys::from_config(&serde_json::from_value(config).unwrap());
    assert!(problems.is_empty(), "{problems:?}");
    let mut stores = Stores::new(4);
    stores.journeys = journeys;
    for i in 0..60 {
        let anon = format!("cart-{i}");
        let mut added = track(format!("a{i}"), &anon, "Product Added", 1, json!({}));
        added["context"] = json!({"consent": {"marketing": true, "analytics": true}});
        stores.call(&batch(vec![added], Some(&anon))).unwrap();
    }
    // Half an hour on, a few runs still wait in every object.
    let list = stores.call(&ListJourneys {}).unwrap().0;
    let cart = &list["journeys"][0];
    let n = |key: &str| cart["stats"][key].as_i64().unwrap_or(0);
    assert_eq!(n("entered"), 60, "{cart}");
    assert_eq!(n("entered_sent") + n("entered_held_out"), 60);
    assert_eq!(n("in_progress"), 60);
    assert_eq!(list["pending_timers"], 60);
    // The sum of every object's own list, counter by counter.
    let mut by_object = 0;
    for sql in &stores.sqls {
        let db = crate::store::persons::Db {
            sql,
            now: stores.now.get(),
        };
        let own = db.journey_list(&stores.journeys).unwrap().0;
        by_object += own["journeys"][0]["stats"]["entered_sent"]
            .as_i64()
            .unwrap_or(0);
        assert!(
            own["pending_timers"].as_i64().unwrap() < 60,
            "spread over objects"
        );
    }
    assert_eq!(by_object, n("entered_sent"));
    let arms = &cart["holdout"]["arms"];
    assert_eq!(arms[0]["runs"], n("entered_sent"));
    assert_eq!(arms[1]["runs"], n("entered_held_out"));
    let waiting: i64 = cart["step_report"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| row["waiting"].as_i64().unwrap_or(0))
        .sum();
    assert_eq!(waiting, 60);
}

#[test]
fn a_pools_codes_go_to_its_home_and_are_counted_over_every_object() {
    let stores = Stores::new(4);
    let codes: Vec<String> = (0..200).map(|i| format!("CODE-{i}")).collect();
    let added = stores
        .call(&AddPoolCodes {
            pool: "welcome".into(),
            codes: codes.clone(),
        })
        .unwrap();
    assert_eq!(
        (added.available, added.taken, added.added),
        (200, 0, Some(200))
    );
    // Other objects lease codes from the home as their persons need them
    // (`store/tests/pools.rs`).
    let home = crate::store::pools::home_of(stores.map, "welcome");
    for i in 0..4u16 {
        let here = stores.count(usize::from(i), "SELECT count(*) FROM coupon_pools");
        assert_eq!(here, if i == home { 200 } else { 0 }, "object {i}");
    }
    // Again: nothing new; one bad code refuses the whole upload.
    let again = stores
        .call(&AddPoolCodes {
            pool: "welcome".into(),
            codes,
        })
        .unwrap();
    assert_eq!(again.added, Some(0));
    let bad = AddPoolCodes {
        pool: "welcome".into(),
        codes: vec!["FINE-1".into(), "not fine".into()],
    };
    assert!(matches!(stores.call(&bad), Err(StoreError::Invalid(_))));
    let counts = stores
        .call(&ReadPool {
            pool: "welcome".into(),
        })
        .unwrap();
    assert_eq!((counts.available, counts.taken), (200, 0));
}

#[test]
fn each_object_texts_within_its_share_of_the_sites_daily_budget() {
    let stores = Stores::new(4);
    // Twelve browsers of one object, each with a verified phone.
    let object = 1;
    let browsers: Vec<String> = (0..)
        .map(|i| format!("sms-{i}"))
        .filter(|b| stores.map.browser(b) == object)
        .take(12)
        .collect();
    for (i, anon) in browsers.iter().enumerate() {
        let view = track(format!("v-{anon}"), anon, "Page Viewed", 1, json!({}));
        stores.call(&batch(vec![view], Some(anon))).unwrap();
        let phone = format!("+1555000{i:04}");
        let proven = Proven::PhoneHash(crate::tokens::phone_hash(&phone).unwrap());
        stores.call(&signed_in(anon, proven, Some(phone))).unwrap();
    }
    let check = |anon: &str| DeliveryCheck {
        destination: "sms".into(),
        event_id: format!("v-{anon}"),
        anonymous_id: Some(anon.into()),
        person: None,
        purpose: None,
        claim: Some(SmsBudget {
            per_number_per_day: 3,
            per_site_per_day: 20,
        }),
    };
    let verdicts = stores
        .call(&Deliveries {
            checks: browsers.iter().map(|b| check(b)).collect(),
            object,
        })
        .unwrap();
    let sent = verdicts
        .iter()
        .filter(|v| matches!(v, DeliveryVerdict::Send { .. }))
        .count();
    // 20 a day for the site: 5 for each of its four objects.
    assert_eq!(sent, 5, "{verdicts:?}");
}
