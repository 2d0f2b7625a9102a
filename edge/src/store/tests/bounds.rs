//! What hostile browsers can make the store keep: campaign history only for
//! the config's campaigns and bounded per person, browser keys pruned with
//! their persons, and persons for ids that never presented a key counted per
//! client and per site.

use super::*;

const DAY: i64 = 24 * 3_600_000;

fn shown(id: &str, anon: &str, campaign: &str) -> Value {
    event(id, anon, "Campaign Shown", json!({"campaign_id": campaign}))
}

fn welcome() -> Vec<ReportedCampaign> {
    vec![ReportedCampaign {
        id: "welcome".into(),
        goal: None,
        variants: Vec::new(),
    }]
}

fn count(db: &Db<'_>, sql: &str) -> i64 {
    db.sql.int(sql, &[]).unwrap().unwrap_or(0)
}

#[test]
fn campaign_history_keeps_only_the_configs_campaigns_and_is_bounded() {
    let sql = store();
    let db = db(&sql, T0);
    let mut batch = agent_batch(vec![
        shown("e1", "a1", "welcome"),
        shown("e2", "a1", "made-up-1"),
        event(
            "e3",
            "a1",
            "Campaign Dismissed",
            json!({"campaign_id": "made-up-2"}),
        ),
    ]);
    batch.campaigns = welcome();
    db.append(&batch).unwrap();
    let profile = as_json(&db.profile("a1").unwrap());
    let ids: Vec<&str> = profile["campaigns"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["id"].as_str())
        .collect();
    assert_eq!(ids, ["welcome"]);
    // However many campaigns a config has had, a person keeps the newest 200.
    let person = db.person_of("anon", "a1").unwrap().unwrap();
    for i in 0..250 {
        db.ensure_campaign(&person, &format!("c{i}")).unwrap();
    }
    assert_eq!(
        count(&db, "SELECT count(*) FROM campaigns"),
        super::super::identity::MAX_CAMPAIGNS_PER_PERSON
    );
    assert!(db
        .sql
        .exists("SELECT 1 FROM campaigns WHERE campaign_id = 'c249'", &[])
        .unwrap());
    assert!(!db
        .sql
        .exists("SELECT 1 FROM campaigns WHERE campaign_id = 'welcome'", &[])
        .unwrap());
}

#[test]
fn browser_keys_are_pruned_with_their_persons() {
    let sql = store();
    append(
        &db(&sql, T0),
        vec![event("e1", "gone", "Page", json!({}))],
        None,
    );
    append(
        &db(&sql, T0),
        vec![event("e2", "kept", "Order Completed", json!({"total": 5}))],
        None,
    );
    let later = db(&sql, T0 + 91 * DAY);
    while later.prune(&Retention::default()).unwrap() {}
    assert_eq!(later.person_of("anon", "gone").unwrap(), None);
    let keys: Vec<String> = later
        .sql
        .query("SELECT anonymous_id FROM browser_keys", &[])
        .unwrap()
        .iter()
        .filter_map(|r| r["anonymous_id"].as_str().map(str::to_owned))
        .collect();
    assert_eq!(
        keys,
        ["kept"],
        "the key went with its person; a kept person keeps it"
    );
    assert!(later.profile_for("kept", "h-kept").is_ok());
}

/// With a site over several objects each admits its share of the keyless
/// budgets (rounded up), so the site's stay about what they were.
#[test]
fn each_object_makes_its_share_of_keyless_persons() {
    let sql = store();
    let db = db(&sql, T0);
    for i in 0..20 {
        let anon = format!("share-{i}");
        let mut batch = agent_batch(vec![event(&format!("e-{anon}"), &anon, "Page", json!({}))]);
        batch.browser_key = None;
        batch.client = "c1".into();
        batch.objects = 4;
        db.append(&batch).unwrap();
    }
    let share = (crate::store::events::KEYLESS_PERSONS_PER_CLIENT_HOUR + 3) / 4;
    assert_eq!(count(&db, "SELECT count(*) FROM persons"), share);
}

#[test]
fn ids_without_a_key_make_persons_only_within_the_client_and_site_budgets() {
    let sql = store();
    let db = db(&sql, T0);
    let keyless = |client: &str, anon: &str| {
        let mut batch = agent_batch(vec![event(
            &format!("e-{anon}"),
            anon,
            "Order Completed",
            json!({"total": 1}),
        )]);
        batch.browser_key = None;
        batch.client = client.into();
        db.append(&batch).unwrap()
    };
    for i in 0..100 {
        keyless("c1", &format!("made-up-{i}"));
    }
    let persons = || count(&db, "SELECT count(*) FROM persons");
    assert_eq!(
        persons(),
        crate::store::events::KEYLESS_PERSONS_PER_CLIENT_HOUR
    );
    // Past the budget: stored, but credited to nobody (and not forwarded).
    let refused = keyless("c1", "one-more");
    assert_eq!((refused.accepted, refused.unproven.len()), (1, 1));
    assert_eq!(db.person_of("anon", "one-more").unwrap(), None);
    // A known keyless id is still credited; another client has its own budget.
    assert!(keyless("c1", "made-up-0").unproven.is_empty());
    assert!(keyless("c2", "other-client").unproven.is_empty());
    // The site's budget holds however many clients there are.
    db.sql
        .execute(
            "UPDATE keyless_persons SET n = ? WHERE client = ''",
            crate::store::sql::params![crate::store::events::KEYLESS_PERSONS_PER_SITE_HOUR],
        )
        .unwrap();
    assert_eq!(keyless("c3", "third-client").unproven.len(), 1);
    // The next hour, budgets are back.
    let next = super::db(&sql, T0 + 3_600_000);
    let mut batch = agent_batch(vec![event("e-next", "next-hour", "Page", json!({}))]);
    batch.browser_key = None;
    batch.client = "c1".into();
    assert!(next.append(&batch).unwrap().unproven.is_empty());
}

#[test]
fn campaign_history_of_campaigns_gone_from_the_config_is_pruned() {
    let sql = store();
    let db = db(&sql, T0);
    let person = db.person_for_browser("a1").unwrap();
    for campaign in ["welcome", "retired"] {
        db.ensure_campaign(&person, campaign).unwrap();
    }
    // No config version yet: nothing is known to be gone.
    db.prune(&Retention::default()).unwrap();
    assert_eq!(count(&db, "SELECT count(*) FROM campaigns"), 2);
    db.sql
        .execute(
            "INSERT INTO config_versions (version, at, by, action, config) VALUES (1, 0, 't', 'api', ?)",
            crate::store::sql::params![json!({"campaigns": [{"id": "welcome"}]}).to_string()],
        )
        .unwrap();
    db.prune(&Retention::default()).unwrap();
    let left: Vec<String> = db
        .sql
        .query("SELECT campaign_id FROM campaigns", &[])
        .unwrap()
        .iter()
        .filter_map(|r| r["campaign_id"].as_str().map(str::to_owned))
        .collect();
    assert_eq!(left, ["welcome"]);
}

/// The ids of events stored away from their browser's home (sent on to
/// where the browser's person had moved) are kept as long as any event id
/// is, then pruned: a repeat until then, stored again after.
#[test]
fn ids_of_events_stored_away_from_home_are_pruned_with_event_ids() {
    let sql = store();
    let mut batch = agent_batch(vec![event("away1", "visitor", "Page", json!({}))]);
    batch.away = true;
    assert_eq!(db(&sql, T0).append(&batch).unwrap().accepted, 1);
    let stored_away = |db: &Db<'_>| count(db, "SELECT count(*) FROM foreign_events");
    let soon = db(&sql, T0 + 30 * DAY);
    while soon.prune(&Retention::default()).unwrap() {}
    assert_eq!(stored_away(&soon), 1, "kept while an event id may be");
    let later = db(&sql, T0 + 91 * DAY);
    while later.prune(&Retention::default()).unwrap() {}
    assert_eq!(stored_away(&later), 0);
}
