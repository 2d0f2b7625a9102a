//! Campaign reports across a person's devices: a merge makes one exposed
//! person converting once; an undo leaves the reports as they were.

use super::*;

#[test]
fn a_goal_on_another_device_of_the_person_counts_once() {
    let sql = store();
    let db = db(&sql, T0);
    one(&db, shown("s1", "desk", "09-01T10", "ab", Some("plain")));
    identify_user(&db, "desk", "u1").unwrap();
    one(&db, track("p1", "phone", "Page", "09-02T10", json!({})));
    assert!(identify_user(&db, "phone", "u1").unwrap().merged);
    one(
        &db,
        track("g1", "phone", "Signed Up", "09-03T11", json!({})),
    );
    one(&db, track("g2", "desk", "Signed Up", "09-04T11", json!({})));
    let ab = report(&db, "ab", 7);
    let plain = arm(&ab, "plain");
    assert_eq!(
        (plain.counts.exposed_persons, plain.counts.conversions),
        (1, 1)
    );
    assert_eq!(ab.persons_in_several_arms, 0);
}

#[test]
fn two_persons_in_two_arms_merge_into_one_at_the_earlier_exposure() {
    let sql = store();
    let db = db(&sql, T0);
    // The phone saw `urgency` first, bought and signed up; the desktop saw
    // `plain` later and signed up too.
    one(&db, shown("s1", "phone", "09-01T10", "ab", Some("urgency")));
    one(&db, order("o1", "phone", "09-03T12", 40.0));
    one(
        &db,
        track("g1", "phone", "Signed Up", "09-06T12", json!({})),
    );
    one(&db, shown("s2", "desk", "09-02T10", "ab", Some("plain")));
    one(&db, track("g2", "desk", "Signed Up", "09-02T11", json!({})));
    let before = report(&db, "ab", 7);
    assert_eq!(before.exposed_persons(), 2);
    assert_eq!(arm(&before, "plain").counts.conversions, 1);
    assert_eq!(arm(&before, "urgency").counts.conversions, 1);

    // The desktop's person survives the merge; the phone's exposure is earlier.
    identify_user(&db, "desk", "u2").unwrap();
    assert!(identify_user(&db, "phone", "u2").unwrap().merged);
    let after = report(&db, "ab", 7);
    assert_eq!(after.exposed_persons(), 1, "one person");
    assert_eq!(after.persons_in_several_arms, 1);
    assert_eq!(
        after.to_json(crate::reports::Horizon::Sequential)["several_arms_share"],
        1.0
    );
    let (urgency, plain) = (arm(&after, "urgency"), arm(&after, "plain"));
    assert_eq!(
        (urgency.counts.exposed_persons, plain.counts.exposed_persons),
        (1, 0)
    );
    // One conversion, the earliest (desk, 09-02 11:00): lag 1 from the phone's exposure.
    assert_eq!(
        (urgency.counts.conversions, plain.counts.conversions),
        (1, 0)
    );
    assert_eq!(arm(&report(&db, "ab", 1), "urgency").counts.conversions, 0);
    // Impressions stay where they happened.
    assert_eq!(
        (urgency.counts.impressions, plain.counts.impressions),
        (1, 1)
    );
    assert_eq!(urgency.counts.revenue, 40.0);
    assert_eq!(count(&sql, "report_persons"), 1);

    // Seeing an arm again changes nothing more.
    one(&db, shown("s3", "desk", "09-07T10", "ab", Some("plain")));
    let again = report(&db, "ab", 7);
    assert_eq!(
        (again.exposed_persons(), again.persons_in_several_arms),
        (1, 1)
    );
}

#[test]
fn a_later_exposure_merged_into_an_earlier_one_brings_its_orders_at_their_new_lag() {
    let sql = store();
    let db = db(&sql, T0);
    one(&db, shown("s1", "desk", "09-01T10", "ab", Some("plain")));
    one(&db, shown("s2", "phone", "09-05T10", "ab", Some("plain")));
    one(&db, order("o1", "phone", "09-05T12", 25.0));
    assert_eq!(
        arm(&report(&db, "ab", 1), "plain").counts.revenue,
        25.0,
        "lag 0 of the phone"
    );
    identify_user(&db, "desk", "u3").unwrap();
    identify_user(&db, "phone", "u3").unwrap();
    let merged = |window| arm(&report(&db, "ab", window), "plain").clone();
    assert_eq!(
        merged(4).counts.revenue,
        0.0,
        "lag 4 from the desk's exposure"
    );
    assert_eq!(merged(5).counts.revenue, 25.0);
    assert_eq!(
        (
            merged(5).counts.exposed_persons,
            merged(5).counts.impressions
        ),
        (1, 2)
    );
    assert_eq!(report(&db, "ab", 5).persons_in_several_arms, 0, "one arm");
}

#[test]
fn an_undo_leaves_reports_as_the_merge_made_them() {
    let sql = store();
    let db = db(&sql, T0);
    one(&db, shown("s1", "desk", "09-01T10", "ab", Some("plain")));
    one(&db, shown("s2", "phone", "09-02T10", "ab", Some("urgency")));
    identify_user(&db, "desk", "u4").unwrap();
    identify_user(&db, "phone", "u4").unwrap();
    let merged = report(&db, "ab", 7);
    let seq = as_json(&db.merges(None, &Page::default()).unwrap())["merges"][0]["seq"]
        .as_i64()
        .unwrap();
    db.undo_merge(seq, "test").unwrap();
    assert_eq!(report(&db, "ab", 7), merged);
    // The person split off is exposed anew when they see the campaign again.
    one(&db, shown("s3", "phone", "09-08T10", "ab", Some("urgency")));
    let after = report(&db, "ab", 7);
    assert_eq!(after.exposed_persons(), 2);
    assert_eq!(on(&after, "09-08", "urgency"), (1, 1, 0, 0, 0));
}
