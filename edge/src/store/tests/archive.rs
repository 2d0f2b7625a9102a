//! The event log's way out to R2 (`store/archive.rs`), with a map standing
//! in for the bucket: parts cut by period and size, recorded once, retried
//! safely after a crash between the put and the record; ids kept for
//! de-duplication after the bodies are gone; the listing continued from the
//! parts exactly as the store listed the same events before.

use std::collections::BTreeMap;

use super::*;
use crate::store::archive::{self, Schedule, PARTS_PER_PAGE, PART_EVENTS};
use crate::store::sql::Sql;

const HOUR: i64 = 3_600_000;
const DAY: i64 = 24 * HOUR;
const SITE: &str = "shop";

fn schedule() -> Schedule {
    Schedule {
        period_ms: HOUR,
        settle_ms: 60_000,
    }
}

/// `n` events from one browser received at `at`, ids `{prefix}{i}`.
fn receive(sql: &TestSql, at: i64, prefix: &str, n: usize) {
    let events = (0..n)
        .map(|i| event(&format!("{prefix}{i:04}"), "b1", "Viewed", json!({"i": i})))
        .collect();
    append(&db(sql, at), events, None);
}

/// Puts every due part into `bucket`, as the alarm does step by step.
fn archive_all(sql: &TestSql, now: i64, bucket: &mut BTreeMap<String, Vec<u8>>) -> i64 {
    let db = db(sql, now);
    let mut archived = 0;
    while let Some(part) = db.next_part(SITE, &schedule()).unwrap() {
        bucket.insert(part.key.clone(), archive::compress(&part.lines));
        assert!(db.archived(&part).unwrap());
        archived += part.count;
    }
    archived
}

/// A page of the listing: the first, or the one after `next`.
fn page_at(limit: u32, next: Option<(i64, String)>) -> RecentEvents {
    RecentEvents {
        page: Page {
            before: next.as_ref().map(|(at, _)| *at),
            after: None,
            limit: Some(limit),
        },
        before_id: next.map(|(_, id)| id),
    }
}

/// The whole listing, page by page, as the Worker serves it.
fn list_all(
    sql: &TestSql,
    now: i64,
    bucket: &BTreeMap<String, Vec<u8>>,
    limit: u32,
) -> Vec<StoredEvent> {
    let db = db(sql, now);
    let mut all = Vec::new();
    let mut next = None;
    for _ in 0..10_000 {
        let cursor = page_at(limit, next).cursor();
        let mut answer = db.recent_events(&cursor).unwrap();
        let parts = std::mem::take(&mut answer.parts);
        for part in &parts {
            let Some(bytes) = bucket.get(&part.key) else {
                continue;
            };
            let read = archive::read_part(bytes).unwrap();
            if archive::continue_page(&mut answer, read, &cursor) {
                break;
            }
        }
        if !parts.is_empty() {
            archive::set_next(&mut answer, &parts, cursor.limit);
        }
        all.extend(answer.events);
        match (answer.next_before, answer.next_before_id) {
            (Some(at), Some(id)) => next = Some((at, id)),
            _ => return all,
        }
    }
    panic!("the listing never ended");
}

fn key(e: &StoredEvent) -> (i64, String, String) {
    (e.received_at, e.id.clone(), e.body.clone())
}

#[test]
fn parts_wait_for_their_hour_to_end_and_settle() {
    let sql = store();
    let start = T0 - T0.rem_euclid(HOUR);
    receive(&sql, start + 10, "a", 3);
    let db_at = |now| db(&sql, now);
    // During the hour, and within the settling minute after it: nothing.
    assert_eq!(
        db_at(start + HOUR - 1)
            .next_part(SITE, &schedule())
            .unwrap(),
        None
    );
    assert_eq!(
        db_at(start + HOUR + 59_999)
            .next_part(SITE, &schedule())
            .unwrap(),
        None
    );
    assert_eq!(
        db_at(start).archive_due(&schedule()).unwrap(),
        Some(start + HOUR + 60_000)
    );
    let part = db_at(start + HOUR + 60_000)
        .next_part(SITE, &schedule())
        .unwrap()
        .expect("due");
    assert_eq!(part.count, 3);
    assert!(part.key.starts_with("events/shop/"), "{}", part.key);
    assert!(part.key.ends_with(".jsonl.gz"));
}

#[test]
fn a_part_holds_one_hour_and_at_most_its_size() {
    let sql = store();
    let start = T0 - T0.rem_euclid(HOUR);
    receive(&sql, start + 5, "a", 3);
    receive(&sql, start + HOUR + 5, "b", 2);
    let now = start + 3 * HOUR;
    let db = db(&sql, now);
    let first = db.next_part(SITE, &schedule()).unwrap().unwrap();
    assert_eq!(first.count, 3, "the first hour alone");
    assert!(db.archived(&first).unwrap());
    let second = db.next_part(SITE, &schedule()).unwrap().unwrap();
    assert_eq!(second.count, 2);
    assert_ne!(first.key, second.key);
    assert!(db.archived(&second).unwrap());
    assert_eq!(db.next_part(SITE, &schedule()).unwrap(), None);
    assert_eq!(db.archive_due(&schedule()).unwrap(), None);

    // A busy hour: parts of at most PART_EVENTS.
    let sql = store();
    for batch in 0..(PART_EVENTS as usize / 100 + 1) {
        receive(&sql, start + batch as i64, &format!("c{batch:03}-"), 100);
    }
    let mut bucket = BTreeMap::new();
    let db = self::db(&sql, now);
    let part = db.next_part(SITE, &schedule()).unwrap().unwrap();
    assert_eq!(part.count, PART_EVENTS);
    assert!(db.archived(&part).unwrap());
    assert_eq!(archive_all(&sql, now, &mut bucket), 100);
}

#[test]
fn a_crash_between_put_and_record_puts_the_same_part_again() {
    let sql = store();
    let start = T0 - T0.rem_euclid(HOUR);
    receive(&sql, start + 5, "a", 3);
    let now = start + 2 * HOUR;
    let db = db(&sql, now);
    let first = db.next_part(SITE, &schedule()).unwrap().unwrap();
    // Put, then the object stopped before recording: more events of the
    // same hour cannot arrive (it settled), so the retry is the same part.
    let again = db.next_part(SITE, &schedule()).unwrap().unwrap();
    assert_eq!(first, again, "same key, same events");
    assert!(db.archived(&again).unwrap());
    // The first attempt's record, arriving late, changes nothing.
    assert!(!db.archived(&first).unwrap());
    let parts = sql
        .int("SELECT count(*) FROM event_parts", &[])
        .unwrap()
        .unwrap();
    assert_eq!(parts, 1);
}

#[test]
fn archived_bodies_leave_and_their_ids_still_refuse_a_repeat() {
    let sql = store();
    let start = T0 - T0.rem_euclid(HOUR);
    receive(&sql, start + 5, "a", 3);
    let mut bucket = BTreeMap::new();
    let now = start + 2 * HOUR;
    assert_eq!(archive_all(&sql, now, &mut bucket), 3);
    let bodies = sql
        .int("SELECT count(*) FROM events WHERE body != ''", &[])
        .unwrap()
        .unwrap();
    assert_eq!(bodies, 0, "bodies are in R2 now");
    // The agent resends an event it never saw acknowledged: a duplicate.
    let again = append(
        &db(&sql, now),
        vec![event("a0000", "b1", "Viewed", json!({"i": 0}))],
        None,
    );
    assert_eq!((again.accepted, again.duplicates), (0, 1));
    // A visitor back after three weeks resends what it never saw
    // acknowledged: still a repeat. Ids go after 30 days, not before.
    let retention = Retention::default();
    db(&sql, now + 21 * DAY).prune(&retention).unwrap();
    let again = append(
        &db(&sql, now + 21 * DAY),
        vec![event("a0001", "b1", "Viewed", json!({"i": 1}))],
        None,
    );
    assert_eq!((again.accepted, again.duplicates), (0, 1));
    let ids = |sql: &TestSql| {
        sql.int("SELECT count(*) FROM events", &[])
            .unwrap()
            .unwrap()
    };
    assert_eq!(ids(&sql), 3);
    db(&sql, start + 5 + 30 * DAY + 1)
        .prune(&retention)
        .unwrap();
    assert_eq!(ids(&sql), 0);
    // The parts stay until the events' retention: 90 days.
    let db = db(&sql, start + 5 + 89 * DAY);
    assert!(db.expired_parts(db.now - 90 * DAY, 100).unwrap().is_empty());
    let db = self::db(&sql, start + 5 + 91 * DAY);
    let expired = db.expired_parts(db.now - 90 * DAY, 100).unwrap();
    assert_eq!(expired.len(), 1);
    db.forget_parts(&expired).unwrap();
    assert!(db
        .parts_before(&page_at(50, None).cursor())
        .unwrap()
        .0
        .is_empty());
}

#[test]
fn events_never_archived_still_go_after_their_retention() {
    // No bucket bound: no part is ever recorded, and no mark set.
    let sql = store();
    receive(&sql, T0, "a", 2);
    let retention = Retention::default();
    db(&sql, T0 + 3 * DAY).prune(&retention).unwrap();
    let left = sql
        .int("SELECT count(*) FROM events", &[])
        .unwrap()
        .unwrap();
    assert_eq!(left, 2, "no mark: only the 90-day rule applies");
    db(&sql, T0 + 91 * DAY).prune(&retention).unwrap();
    let left = sql
        .int("SELECT count(*) FROM events", &[])
        .unwrap()
        .unwrap();
    assert_eq!(left, 0);
}

#[test]
fn the_listing_reads_the_same_events_after_they_are_archived() {
    let sql = store();
    let start = T0 - T0.rem_euclid(HOUR);
    // Four hours of traffic, in batches, some sharing a millisecond.
    for hour in 0..4 {
        for batch in 0..7 {
            let at = start + hour * HOUR + batch * 1_000;
            receive(&sql, at, &format!("h{hour}b{batch}-"), 3 + batch as usize);
        }
    }
    let now = start + 3 * HOUR + 10_000;
    let empty = BTreeMap::new();
    let before = list_all(&sql, now, &empty, 1_000);
    assert_eq!(before.len(), 4 * (3 + 4 + 5 + 6 + 7 + 8 + 9));
    // From the store alone too, pages ending inside a batch's millisecond
    // go on with the rest of it.
    let paged = list_all(&sql, now, &empty, 5);
    assert_eq!(
        paged.iter().map(key).collect::<Vec<_>>(),
        before.iter().map(key).collect::<Vec<_>>()
    );
    let mut bucket = BTreeMap::new();
    let later = start + 5 * HOUR;
    archive_all(&sql, later, &mut bucket);
    assert_eq!(bucket.len(), 4, "one part per hour");
    let after = list_all(&sql, later, &bucket, 1_000);
    assert_eq!(
        after.iter().map(key).collect::<Vec<_>>(),
        before.iter().map(key).collect::<Vec<_>>(),
        "same events, same bodies, same order"
    );
    let total = db(&sql, later)
        .recent_events(&page_at(1, None).cursor())
        .unwrap()
        .total;
    assert_eq!(total, before.len() as i64);
    // Page by page across the store's newest events and the parts, with
    // pages that end inside a part and inside a millisecond (a batch's
    // events share their receive time): every event once, in order.
    receive(&sql, later, "new-", 2);
    let everything = list_all(&sql, later, &bucket, 1_000);
    assert_eq!(everything.len(), before.len() + 2);
    for limit in [1, 2, 5, 7] {
        let paged = list_all(&sql, later, &bucket, limit);
        assert_eq!(
            paged.iter().map(key).collect::<Vec<_>>(),
            everything.iter().map(key).collect::<Vec<_>>(),
            "pages of {limit}"
        );
    }
}

#[test]
fn a_quiet_sites_listing_reads_at_most_a_pages_worth_of_parts() {
    let sql = store();
    let start = T0 - T0.rem_euclid(HOUR);
    let hours = PARTS_PER_PAGE + 5;
    for hour in 0..hours {
        receive(&sql, start + hour * HOUR, &format!("q{hour:02}-"), 1);
    }
    let mut bucket = BTreeMap::new();
    let now = start + (hours + 1) * HOUR;
    archive_all(&sql, now, &mut bucket);
    let db = db(&sql, now);
    let answer = db.recent_events(&page_at(50, None).cursor()).unwrap();
    assert_eq!(answer.parts.len() as i64, PARTS_PER_PAGE);
    assert_eq!(list_all(&sql, now, &bucket, 50).len() as i64, hours);
}

#[test]
fn a_part_reads_back_exactly_and_a_damaged_one_is_refused() {
    let sql = store();
    let start = T0 - T0.rem_euclid(HOUR);
    receive(&sql, start, "a", 2);
    let part = db(&sql, start + 2 * HOUR)
        .next_part(SITE, &schedule())
        .unwrap()
        .unwrap();
    let bytes = archive::compress(&part.lines);
    let read = archive::read_part(&bytes).unwrap();
    let stored: Vec<String> = sql
        .query("SELECT body FROM events ORDER BY id", &[])
        .unwrap()
        .iter()
        .map(|r| r["body"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        read.iter().map(|e| e.body.clone()).collect::<Vec<_>>(),
        stored
    );
    assert!(archive::read_part(&bytes[..bytes.len() / 2]).is_err());
    assert!(archive::read_part(b"not gzip").is_err());
}

/// The alarm's archive step, natively (release: `cargo test -p nudge-edge
/// --release --lib archive_step_bench -- --ignored --nocapture`): a full
/// part drafted, compressed and recorded. A benchmark, not a timed test.
#[test]
#[ignore]
fn archive_step_bench() {
    let sql = store();
    let start = T0 - T0.rem_euclid(HOUR);
    // About 1 KB each, as a page view with its context is.
    let padding = "a product page with its context, ".repeat(25);
    for batch in 0..(PART_EVENTS as usize / 100) {
        let events = (0..100)
            .map(|i| {
                let id = format!("bench{batch:03}-{i:03}");
                event(&id, "b1", "Viewed", json!({"i": i, "note": padding}))
            })
            .collect();
        append(&self::db(&sql, start + batch as i64), events, None);
    }
    let db = db(&sql, start + 2 * HOUR);
    let t = std::time::Instant::now();
    let part = db.next_part(SITE, &schedule()).unwrap().unwrap();
    let drafted = t.elapsed();
    let bytes = archive::compress(&part.lines);
    let compressed = t.elapsed();
    assert!(db.archived(&part).unwrap());
    let recorded = t.elapsed();
    println!(
        "{} events, {} B of lines, {} B gzip: draft {:?}, compress {:?}, record {:?}, step {:?}",
        part.count,
        part.lines.len(),
        bytes.len(),
        drafted,
        compressed - drafted,
        recorded - compressed,
        recorded
    );
}

#[test]
fn a_clock_that_steps_back_cannot_put_an_event_behind_the_archive() {
    let sql = store();
    let start = T0 - T0.rem_euclid(HOUR);
    receive(&sql, start + 5, "a", 3);
    let now = start + 2 * HOUR;
    let db = db(&sql, now);
    let part = db.next_part(SITE, &schedule()).unwrap().unwrap();
    // While the part is put, an event arrives with a clock an hour behind,
    // inside the part's own time.
    receive(&sql, start + 6, "late", 1);
    assert!(db.archived(&part).unwrap());
    let late = sql
        .query(
            "SELECT received_at, body FROM events WHERE id = 'late0000'",
            &[],
        )
        .unwrap();
    assert!(
        late[0]["received_at"].as_i64().unwrap() > part.last.at,
        "received after the part"
    );
    assert_ne!(late[0]["body"], "", "its body stays: it is not in the part");
    // It is listed, and archived in a later part.
    let mut bucket = BTreeMap::new();
    bucket.insert(part.key.clone(), archive::compress(&part.lines));
    let ids = |l: &[StoredEvent]| l.iter().map(|e| e.id.clone()).collect::<Vec<_>>();
    assert_eq!(
        ids(&list_all(&sql, now, &bucket, 50)),
        ["late0000", "a0002", "a0001", "a0000"]
    );
    assert_eq!(archive_all(&sql, now + HOUR, &mut bucket), 1);
    assert_eq!(
        ids(&list_all(&sql, now + HOUR, &bucket, 50)),
        ["late0000", "a0002", "a0001", "a0000"]
    );
}

#[test]
fn a_part_too_large_to_be_ours_is_refused_unread() {
    let huge = archive::compress(&"x".repeat(5 << 20));
    assert!(archive::read_part(&huge).unwrap_err().contains("too large"));
}
