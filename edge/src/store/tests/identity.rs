//! Links, merges and their undo, and what proves a browser, on rusqlite.

use super::*;

#[test]
fn a_signed_cookie_links_as_a_logged_undoable_merge() {
    let sql = store();
    let db = db(&sql, T0);
    append(
        &db,
        vec![event("e1", "old", "Order Completed", json!({"total": 10}))],
        None,
    );
    append(
        &db,
        vec![event("e2", "fresh", "Page", json!({}))],
        Some("old"),
    );
    assert_eq!(
        orders(&db, "fresh"),
        1,
        "the wiped browser is its person again"
    );
    let log = as_json(&db.merges(None, &Page::default()).unwrap());
    let merge = log["merges"][0].clone();
    assert_eq!(merge["proof"], "signed_cookie");
    let seq = merge["seq"].as_i64().unwrap();
    db.undo_merge(seq, "test").unwrap();
    assert_eq!(orders(&db, "fresh"), 0);
    assert_eq!(orders(&db, "old"), 1);
}

#[test]
fn a_cookie_links_only_the_browser_that_proved_itself() {
    let sql = store();
    let db = db(&sql, T0);
    victim_orders(&db);
    append(&db, vec![event("e2", "attacker", "Page", json!({}))], None);
    // The attacker holds a valid cookie for its own id and slips the victim's
    // id into the batch, presenting its own key: the victim is not pulled in.
    let batch = Append {
        events: vec![
            event("e3", "victim", "Page", json!({})),
            event("e4", "attacker", "Page", json!({})),
        ],
        cookie_browser: Some("attacker".into()),
        client: "c".into(),
        campaigns: Vec::new(),
        browser_key: Some(BrowserKey {
            anonymous_id: "attacker".into(),
            key_hash: "h-attacker".into(),
        }),
        held: Vec::new(),
        objects: 0,
        away: false,
    };
    let appended = db.append(&batch).unwrap();
    assert_eq!(appended.verified_browser.as_deref(), Some("attacker"));
    assert_eq!(orders(&db, "attacker"), 0);
    // Presenting the victim's id with a key that is not the victim's proves nothing.
    let forged = Append {
        events: vec![event("e5", "victim", "Page", json!({}))],
        cookie_browser: Some("attacker".into()),
        client: "c".into(),
        campaigns: Vec::new(),
        browser_key: Some(BrowserKey {
            anonymous_id: "victim".into(),
            key_hash: "h-guess".into(),
        }),
        held: Vec::new(),
        objects: 0,
        away: false,
    };
    assert_eq!(db.append(&forged).unwrap().verified_browser, None);
    assert_eq!(orders(&db, "attacker"), 0);
    assert_eq!(
        sql.int("SELECT count(*) FROM merges", &[]).unwrap(),
        Some(0)
    );
}

#[test]
fn identify_needs_the_browser_key_and_a_refusal_changes_nothing() {
    let sql = store();
    let db = db(&sql, T0);
    victim_orders(&db);
    let tables = |sql: &TestSql| {
        [
            "persons",
            "identifiers",
            "used_nonces",
            "browser_keys",
            "merges",
        ]
        .map(|t| sql.int(&format!("SELECT count(*) FROM {t}"), &[]).unwrap())
    };
    let before = tables(&sql);
    // The attacker's own (valid) token, on the victim's browser, without its key.
    let attack = identify_as(
        &db,
        "victim",
        Proven::UserId("attacker".into()),
        "h-guess",
        Some("nonce-1"),
    );
    assert!(matches!(attack, Err(StoreError::BrowserKey(_))));
    let mut no_key = Identify {
        anonymous_id: "victim".into(),
        proven: Proven::EmailHash("attacker-email".into()),
        proof: "click_token".into(),
        nonce: Some("nonce-2".into()),
        email: None,
        phone: None,
        browser_key: None,
    };
    assert!(matches!(
        db.identify(&no_key),
        Err(StoreError::BrowserKey(_))
    ));
    // A key for another browser does not count either.
    no_key.browser_key = Some(BrowserKey {
        anonymous_id: "attacker".into(),
        key_hash: "h-attacker".into(),
    });
    assert!(matches!(
        db.identify(&no_key),
        Err(StoreError::BrowserKey(_))
    ));
    assert_eq!(tables(&sql), before, "nothing written, no nonce burned");
    // A conflict is refused before the nonce is used or the key registered.
    identify_user(&db, "a1", "alice").unwrap();
    identify_user(&db, "b1", "bob").unwrap();
    let before = tables(&sql);
    let conflict = identify_as(
        &db,
        "a1",
        Proven::UserId("bob".into()),
        "h-a1",
        Some("nonce-3"),
    );
    assert!(matches!(conflict, Err(StoreError::UserConflict(_))));
    assert_eq!(tables(&sql), before);
    // The link still works once, then the nonce is spent.
    identify_as(
        &db,
        "new",
        Proven::UserId("alice".into()),
        "h-new",
        Some("nonce-4"),
    )
    .unwrap();
    let again = identify_as(
        &db,
        "new",
        Proven::UserId("alice".into()),
        "h-new",
        Some("nonce-4"),
    );
    assert!(matches!(again, Err(StoreError::TokenUsed(_))));
}

#[test]
fn events_for_someone_else_browser_are_kept_but_change_nothing() {
    let sql = store();
    let db = db(&sql, T0);
    victim_orders(&db);
    // The attacker names the victim's browser, with its own key or none.
    for key in [Some("h-attacker"), None] {
        let forged = Append {
            events: vec![event(
                &format!("x-{key:?}"),
                "victim",
                "Order Completed",
                json!({"total": 1000}),
            )],
            cookie_browser: None,
            client: "c".into(),
            campaigns: Vec::new(),
            browser_key: key.map(|k| BrowserKey {
                anonymous_id: "attacker".into(),
                key_hash: k.into(),
            }),
            held: Vec::new(),
            objects: 0,
            away: false,
        };
        let appended = db.append(&forged).unwrap();
        assert_eq!(appended.accepted, 1, "kept in the log");
        assert_eq!(
            appended.unproven,
            [format!("x-{key:?}")],
            "not applied, not forwarded"
        );
    }
    assert_eq!(orders(&db, "victim"), 1);
    // The victim's own browser, with its key, still counts.
    append(
        &db,
        vec![event(
            "e2",
            "victim",
            "Order Completed",
            json!({"total": 5}),
        )],
        None,
    );
    assert_eq!(orders(&db, "victim"), 2);
}

#[test]
fn two_user_ids_are_never_merged() {
    let sql = store();
    let db = db(&sql, T0);
    identify_user(&db, "a1", "alice").unwrap();
    identify_user(&db, "a2", "bob").unwrap();
    assert!(matches!(
        identify_user(&db, "a1", "bob"),
        Err(StoreError::UserConflict(_))
    ));
    // Nor through the cookie.
    db.link_cookie("a1", "a2").unwrap();
    assert_ne!(
        db.person_of("anon", "a1").unwrap(),
        db.person_of("anon", "a2").unwrap()
    );
}

#[test]
fn a_user_token_merges_devices_and_undo_gives_everything_back() {
    let sql = store();
    let db = db(&sql, T0);
    append(
        &db,
        vec![event("e1", "desk", "Order Completed", json!({"total": 50}))],
        None,
    );
    identify_user(&db, "desk", "u1").unwrap();
    let phone = identify_user(&db, "phone", "u1").unwrap();
    assert!(
        phone.merged,
        "the phone's own (empty) person is merged in, logged"
    );
    append(
        &db,
        vec![event(
            "e2",
            "tablet",
            "Order Completed",
            json!({"total": 5}),
        )],
        None,
    );
    let tablet_person = db.person_of("anon", "tablet").unwrap().unwrap();
    db.remember_contact(
        &tablet_person,
        Some("t@example.com"),
        None,
        Source::Unverified,
    )
    .unwrap();
    let tablet = identify_user(&db, "tablet", "u1").unwrap();
    assert!(tablet.merged);
    let merged_person = db.person_of("anon", "phone").unwrap().unwrap();
    assert_eq!(
        db.contact(&merged_person).unwrap().email.as_deref(),
        Some("t@example.com")
    );
    assert_eq!(orders(&db, "phone"), 2);
    let seq = as_json(&db.merges(None, &Page::default()).unwrap())["merges"][0]["seq"]
        .as_i64()
        .unwrap();
    db.undo_merge(seq, "wrong").unwrap();
    assert_eq!(
        db.contact(&merged_person).unwrap().email,
        None,
        "the copied contact goes back"
    );
    assert_eq!(orders(&db, "phone"), 1);
    assert_eq!(orders(&db, "tablet"), 1);
    assert_eq!(
        db.undo_merge(seq, "again").map(|_| ()),
        Err(StoreError::AlreadyUndone(format!(
            "merge {seq} was undone already"
        )))
    );
}

#[test]
fn a_typed_email_is_a_claim_and_never_overwrites_the_record() {
    let sql = store();
    let db = db(&sql, T0);
    let person = db.person_for_browser("a1").unwrap();
    db.remember_contact(
        &person,
        Some("real@example.com"),
        Some("+15551230000"),
        Source::Verified,
    )
    .unwrap();
    let typed = json!({"type": "identify", "messageId": "i1", "anonymousId": "a1",
        "timestamp": "2026-09-01T00:00:00.000Z", "traits": {"email": "attacker@example.com", "phone": "+15559990000"}});
    append(&db, vec![typed], None);
    let contact = db.contact(&person).unwrap();
    assert_eq!(contact.email.as_deref(), Some("real@example.com"));
    assert_eq!(contact.phone.as_deref(), Some("+15551230000"));
    assert!(contact.phone_verified);
    // Someone with no record keeps what they typed, unverified.
    let typed = json!({"type": "identify", "messageId": "i2", "anonymousId": "a2",
        "timestamp": "2026-09-01T00:00:00.000Z", "traits": {"phone": "+15559990000"}});
    append(&db, vec![typed], None);
    let other = db.person_of("anon", "a2").unwrap().unwrap();
    let contact = db.contact(&other).unwrap();
    assert_eq!(contact.phone.as_deref(), Some("+15559990000"));
    assert!(!contact.phone_verified);
    assert_eq!(
        sql.int("SELECT count(*) FROM claims", &[]).unwrap(),
        Some(3)
    );
    assert_eq!(
        sql.int("SELECT count(*) FROM merges", &[]).unwrap(),
        Some(0)
    );
}

/// A shared browser: user A signed in, then user B signs in without A
/// signing out. The agent starts a fresh anonymous id for B, but the edge's
/// cookie still names A's browser: B's events must not be linked into A, and
/// B's sign-in must succeed on B's own person.
#[test]
fn the_next_user_on_a_shared_browser_never_reaches_the_previous_one() {
    let sql = store();
    let db = db(&sql, T0);
    identify_user(&db, "a-old", "alice").unwrap();
    append(
        &db,
        vec![event(
            "e1",
            "a-old",
            "Order Completed",
            json!({"total": 10}),
        )],
        None,
    );
    let alice = db.person_of("anon", "a-old").unwrap().unwrap();
    // B's first events carry the cookie of A's browser.
    append(
        &db,
        vec![event(
            "e2",
            "b-fresh",
            "Order Completed",
            json!({"total": 99}),
        )],
        Some("a-old"),
    );
    identify_user(&db, "b-fresh", "bob").expect("B signs in on B's own person");
    let bob = db.person_of("anon", "b-fresh").unwrap().unwrap();
    assert_ne!(bob, alice);
    assert_eq!(orders(&db, "a-old"), 1, "nothing of B reached A");
    assert_eq!(orders(&db, "b-fresh"), 1);
    let read = as_json(&db.profile_for("b-fresh", "h-b-fresh").unwrap());
    assert_eq!(read["user_id"], "bob");
    assert_eq!(
        as_json(&db.merges(None, &Page::default()).unwrap())["merges"],
        json!([])
    );
    // An agent that kept A's anonymous id is still refused (409), changing nothing.
    assert!(matches!(
        identify_user(&db, "a-old", "bob"),
        Err(StoreError::UserConflict(_))
    ));
    assert_eq!(db.user_id_of(&alice).unwrap().as_deref(), Some("alice"));
}
