//! Config versions and drafts: every write names what it was based on, and a
//! stale one is refused with who changed it; history is never rewritten.

use serde_json::{json, Value};

use super::{as_json, db, store, studio, T0};
use crate::store::protocol::*;
use nudge_core::journey::Journeys;

const LIVE: &str = r#"{"version":1,"site":"demo","campaigns":[{"id":"vip","trigger":{"page_view":true},"content":{"layout":"top_banner","body":"VIP"}}]}"#;

fn campaign(title: &str) -> Value {
    json!({"id": "welcome", "trigger": {"scroll_depth": 25},
           "content": {"layout": "modal", "title": title, "body": "Join us"}})
}

fn run<A: StudioAsk>(
    sql: &crate::store::sql::TestSql,
    by: &str,
    action: A,
) -> Result<Value, StoreError> {
    studio(&db(sql, T0), Some(LIVE), by, action)
}

fn save(
    sql: &crate::store::sql::TestSql,
    by: &str,
    expected: Option<i64>,
    title: &str,
) -> Result<Value, StoreError> {
    run(
        sql,
        by,
        SaveDraft {
            item: Item::Campaign("welcome".into()),
            expected,
            body: campaign(title),
        },
    )
}

#[test]
fn the_config_before_versions_becomes_version_one() {
    let sql = store();
    let overview = run(&sql, "Ann", Overview {}).unwrap();
    assert_eq!(overview["version"], 1);
    assert_eq!(overview["config"], LIVE);
    let versions = run(
        &sql,
        "Ann",
        Versions {
            page: Page::default(),
        },
    )
    .unwrap();
    assert_eq!(versions["versions"][0]["action"], "import");
}

#[test]
fn a_stale_draft_save_is_refused_naming_who_saved_it() {
    let sql = store();
    assert_eq!(save(&sql, "Ann", None, "Hello").unwrap()["revision"], 1);
    // Creating again is refused: a draft exists.
    assert!(matches!(
        save(&sql, "Bob", None, "Other"),
        Err(StoreError::Conflict { .. })
    ));
    assert_eq!(
        save(&sql, "Bob", Some(1), "Hello there").unwrap()["revision"],
        2
    );
    // Ann still edits revision 1.
    let Err(StoreError::Conflict { message, current }) = save(&sql, "Ann", Some(1), "Mine") else {
        panic!("a stale save must conflict");
    };
    assert!(
        message.contains("Bob") && message.contains("revision 2"),
        "{message}"
    );
    assert_eq!(current["revision"], 2);
    let draft = run(
        &sql,
        "Ann",
        Draft {
            item: Item::Campaign("welcome".into()),
        },
    )
    .unwrap();
    assert_eq!(draft["body"]["content"]["title"], "Hello there");
}

#[test]
fn publish_makes_a_version_and_roll_back_makes_another_equal_to_the_old_one() {
    let sql = store();
    save(&sql, "Ann", None, "Hello").unwrap();
    let published = run(
        &sql,
        "Pat",
        Publish {
            item: Item::Campaign("welcome".into()),
            expected: 1,
            note: "launch".into(),
        },
    )
    .unwrap();
    assert_eq!(published["version"], 2);
    let config: Value = serde_json::from_str(published["config"].as_str().unwrap()).unwrap();
    assert_eq!(config["campaigns"][1]["content"]["title"], "Hello");
    assert_eq!(
        config["campaigns"][0]["id"], "vip",
        "other campaigns are kept"
    );
    // The draft is gone, and its revision can never match again.
    assert!(run(
        &sql,
        "Ann",
        Draft {
            item: Item::Campaign("welcome".into())
        }
    )
    .is_err());
    assert!(matches!(
        save(&sql, "Ann", Some(1), "late"),
        Err(StoreError::Conflict { .. })
    ));
    // A second publish, then roll back to version 2.
    assert_eq!(save(&sql, "Ann", None, "Hello v2").unwrap()["revision"], 2);
    run(
        &sql,
        "Pat",
        Publish {
            item: Item::Campaign("welcome".into()),
            expected: 2,
            note: String::new(),
        },
    )
    .unwrap();
    let stale = run(
        &sql,
        "Pat",
        Rollback {
            version: 2,
            expected: 2,
        },
    );
    assert!(
        matches!(stale, Err(StoreError::Conflict { .. })),
        "the live version is 3"
    );
    let rolled = run(
        &sql,
        "Pat",
        Rollback {
            version: 2,
            expected: 3,
        },
    )
    .unwrap();
    assert_eq!(rolled["version"], 4);
    assert_eq!(rolled["config"], published["config"]);
    let history = run(
        &sql,
        "Pat",
        Versions {
            page: Page::default(),
        },
    )
    .unwrap();
    let actions: Vec<&str> = history["versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["rollback", "publish", "publish", "import"]);
    assert_eq!(history["versions"][1]["by"], "Pat");
    let version = run(&sql, "Pat", Version { version: 3 }).unwrap();
    assert_eq!(version["previous"], published["config"]);
}

#[test]
fn an_invalid_draft_is_saved_but_never_published() {
    let sql = store();
    let mut bad = campaign("Hi");
    bad["trigger"]["scroll_depth"] = json!(140);
    run(
        &sql,
        "Ann",
        SaveDraft {
            item: Item::Campaign("welcome".into()),
            expected: None,
            body: bad,
        },
    )
    .unwrap();
    let Err(StoreError::InvalidConfig { problems, .. }) = run(
        &sql,
        "Pat",
        Publish {
            item: Item::Campaign("welcome".into()),
            expected: 1,
            note: String::new(),
        },
    ) else {
        panic!("an invalid config must not be published");
    };
    assert!(
        problems
            .iter()
            .any(|p| p["path"] == "campaigns[1].trigger.scroll_depth"),
        "{problems:?}"
    );
    let overview = run(&sql, "Ann", Overview {}).unwrap();
    assert_eq!(overview["version"], 1, "nothing was published");
    assert_eq!(overview["drafts"][0]["revision"], 1, "the draft is kept");
}

#[test]
fn pause_and_resume_are_versions_and_need_the_live_version() {
    let sql = store();
    run(&sql, "Ann", Overview {}).unwrap();
    let paused = run(
        &sql,
        "Pat",
        SetStatus {
            campaign: "vip".into(),
            status: "paused".into(),
            expected: 1,
        },
    )
    .unwrap();
    let config: Value = serde_json::from_str(paused["config"].as_str().unwrap()).unwrap();
    assert_eq!(config["campaigns"][0]["status"], "paused");
    assert!(matches!(
        run(
            &sql,
            "Pat",
            SetStatus {
                campaign: "vip".into(),
                status: "active".into(),
                expected: 1
            }
        ),
        Err(StoreError::Conflict { .. })
    ));
    assert!(matches!(
        run(
            &sql,
            "Pat",
            SetStatus {
                campaign: "nope".into(),
                status: "paused".into(),
                expected: 2
            }
        ),
        Err(StoreError::NotFound(_))
    ));
}

#[test]
fn publishing_a_draft_made_before_a_pause_keeps_the_campaign_paused() {
    let sql = store();
    run(&sql, "Ann", Overview {}).unwrap();
    let mut vip = json!({"id": "vip", "status": "active", "trigger": {"page_view": true},
                         "content": {"layout": "top_banner", "body": "VIP, edited"}});
    run(
        &sql,
        "Ann",
        SaveDraft {
            item: Item::Campaign("vip".into()),
            expected: None,
            body: vip.clone(),
        },
    )
    .unwrap();
    run(
        &sql,
        "Pat",
        SetStatus {
            campaign: "vip".into(),
            status: "paused".into(),
            expected: 1,
        },
    )
    .unwrap();
    let published = run(
        &sql,
        "Pat",
        Publish {
            item: Item::Campaign("vip".into()),
            expected: 1,
            note: String::new(),
        },
    )
    .unwrap();
    let config: Value = serde_json::from_str(published["config"].as_str().unwrap()).unwrap();
    assert_eq!(config["campaigns"][0]["status"], "paused");
    assert_eq!(config["campaigns"][0]["content"]["body"], "VIP, edited");
    // A new campaign keeps the status its draft gives it.
    vip["id"] = json!("welcome");
    vip["status"] = json!("draft");
    run(
        &sql,
        "Ann",
        SaveDraft {
            item: Item::Campaign("welcome".into()),
            expected: None,
            body: vip,
        },
    )
    .unwrap();
    let next = run(
        &sql,
        "Pat",
        Publish {
            item: Item::Campaign("welcome".into()),
            expected: 1,
            note: String::new(),
        },
    )
    .unwrap();
    let config: Value = serde_json::from_str(next["config"].as_str().unwrap()).unwrap();
    assert_eq!(config["campaigns"][1]["status"], "draft");
}

#[test]
fn rolling_back_to_a_config_that_fails_todays_rules_is_refused() {
    let sql = store();
    // Version 1 imported as it was, with a problem today's validation finds.
    let broken = r#"{"version":1,"campaigns":[{"id":"x","trigger":{"scroll_depth":140},"content":{"layout":"modal","title":"t"}}]}"#;
    studio(&db(&sql, T0), Some(broken), "Ann", Overview {}).unwrap();
    run(
        &sql,
        "Pat",
        PutConfig {
            text: LIVE.into(),
            expected: Some(1),
        },
    )
    .unwrap();
    let refused = run(
        &sql,
        "Pat",
        Rollback {
            version: 1,
            expected: 2,
        },
    );
    assert!(
        matches!(refused, Err(StoreError::InvalidConfig { .. })),
        "{refused:?}"
    );
}

#[test]
fn a_journey_is_turned_on_as_a_new_version_and_its_steps_read_in_words() {
    let sql = store();
    let config = json!({"campaigns": [], "journeys": [{"id": "cart", "enabled": false,
        "entry": {"event": "Product Added"}, "exit": {"goal": "Order Completed"},
        "steps": [{"wait": {"hours": 4}}, {"set": {"coupon_pool": "cart10"}},
                  {"send": {"destination": "email", "event": "Cart Abandoned"}}]}]});
    let live = Some(config.to_string());
    let at = db(&sql, T0);
    macro_rules! call {
        ($action:expr $(,)?) => {
            studio(&at, live.as_deref(), "Pat", $action)
        };
    }
    call!(Overview {}).unwrap();
    let on = |expected| SetJourney {
        journey: "cart".into(),
        enabled: true,
        expected,
    };
    let answer = call!(on(1)).unwrap();
    let stored: Value = serde_json::from_str(answer["config"].as_str().unwrap()).unwrap();
    assert_eq!(stored["journeys"][0]["enabled"], true);
    assert!(matches!(call!(on(1)), Err(StoreError::Conflict { .. })));
    let journeys = Journeys::from_config(&serde_json::from_value(stored).unwrap()).0;
    let list = as_json(&db(&sql, T0).journey_list(&journeys).unwrap());
    assert_eq!(list["live_version"], 2);
    assert_eq!(
        list["journeys"][0]["steps"],
        json!([
            "Wait 4 hours",
            "Give a coupon from pool cart10",
            "Send \"Cart Abandoned\" to email"
        ])
    );
    let missing = SetJourney {
        journey: "nope".into(),
        enabled: true,
        expected: 2,
    };
    assert!(matches!(call!(missing), Err(StoreError::NotFound(_))));
}

/// A journey's draft: saved beside campaigns' without meeting them, told
/// what publishing does to the runs in progress, published into `journeys`
/// keeping the live on/off switch, and listed with the journeys.
#[test]
fn journeys_have_drafts_publish_and_say_what_happens_to_runs_in_flight() {
    let sql = store();
    let cart = |wait_hours: u32, extra_step: bool| {
        let mut steps = vec![
            json!({"wait": {"hours": wait_hours}}),
            json!({"send": {"destination": "email", "event": "Cart Abandoned"}}),
        ];
        if extra_step {
            steps.push(json!({"end": true}));
        }
        json!({"id": "cart", "name": "Cart", "enabled": false,
               "entry": {"event": "Product Added"}, "steps": steps})
    };
    let config = json!({"version": 1, "campaigns": [], "journeys": [cart(4, false)]});
    let live = Some(config.to_string());
    let at = db(&sql, T0);
    macro_rules! call {
        ($by:expr, $action:expr $(,)?) => {
            studio(&at, live.as_deref(), $by, $action)
        };
    }
    let item = Item::Journey("cart".into());
    let live_shape = Journeys::from_config(&serde_json::from_value(config.clone()).unwrap())
        .0
        .journeys[0]
        .shape as i64;
    // Two runs in progress on the live shape, one on an older shape, one ended.
    for (person, shape, exit) in [
        ("p1", live_shape, None),
        ("p2", live_shape, None),
        ("p3", live_shape + 1, None),
        ("p4", live_shape, Some("goal")),
    ] {
        use crate::store::sql::{params, Sql};
        sql.execute(
            "INSERT INTO journey_runs (person, journey, number, step, entered_at, shape, exit)
             VALUES (?, 'cart', 1, 1, 0, ?, ?)",
            params![person, shape, exit],
        )
        .unwrap();
    }
    call!("Ann", Overview {}).unwrap();
    let save = |by: &str, expected, body: Value| {
        call!(
            by,
            SaveDraft {
                item: item.clone(),
                expected,
                body,
            },
        )
    };
    // Same shape (a longer wait): the live shape's runs keep going.
    let saved = save("Ann", None, cart(6, false)).unwrap();
    assert_eq!(saved["revision"], 1);
    assert_eq!(
        saved["in_flight"],
        json!({"active": 3, "kept": 2, "ended": 1})
    );
    // A step added changes the shape: every run in progress ends as edited.
    let saved = save("Ann", Some(1), cart(6, true)).unwrap();
    assert_eq!(
        saved["in_flight"],
        json!({"active": 3, "kept": 0, "ended": 3})
    );
    let draft = call!("Ann", Draft { item: item.clone() }).unwrap();
    assert_eq!(draft["body"]["steps"][2], json!({"end": true}));
    assert_eq!(draft["in_flight"]["ended"], 3);
    // A campaign of the same id is another draft, and journeys' drafts are
    // listed under their own key.
    let overview = call!("Ann", Overview {}).unwrap();
    assert_eq!(overview["drafts"][0]["campaign"], "journey:cart");
    assert!(matches!(
        call!(
            "Ann",
            Draft {
                item: Item::Campaign("cart".into())
            }
        ),
        Err(StoreError::NotFound(_))
    ));
    // A stale save is refused, naming the journey.
    match save("Bo", Some(1), cart(5, false)) {
        Err(StoreError::Conflict { message, .. }) => {
            assert!(message.contains("revision 2"), "{message}")
        }
        other => panic!("{other:?}"),
    }
    // Turned on while the draft waited: publishing keeps it on.
    call!(
        "Pat",
        SetJourney {
            journey: "cart".into(),
            enabled: true,
            expected: 1,
        },
    )
    .unwrap();
    let published = call!(
        "Pat",
        Publish {
            item: item.clone(),
            expected: 2,
            note: "an end step".into(),
        },
    )
    .unwrap();
    assert_eq!(published["version"], 3);
    let stored: Value = serde_json::from_str(published["config"].as_str().unwrap()).unwrap();
    assert_eq!(stored["journeys"].as_array().unwrap().len(), 1);
    assert_eq!(stored["journeys"][0]["enabled"], true);
    assert_eq!(stored["journeys"][0]["steps"][0]["wait"]["hours"], 6);
    let versions = call!(
        "Pat",
        Versions {
            page: Page::default(),
        },
    )
    .unwrap();
    assert_eq!(versions["versions"][0]["campaign"], "journey:cart");
    assert!(matches!(
        call!("Pat", Draft { item: item.clone() }),
        Err(StoreError::NotFound(_))
    ));
    // An invalid journey draft saves, but does not publish.
    let mut broken = cart(0, false);
    broken["id"] = "broken".into();
    let broken_item = Item::Journey("broken".into());
    call!(
        "Ann",
        SaveDraft {
            item: broken_item.clone(),
            expected: None,
            body: broken,
        },
    )
    .unwrap();
    match call!(
        "Pat",
        Publish {
            item: broken_item,
            expected: 1,
            note: String::new(),
        },
    ) {
        Err(StoreError::InvalidConfig { message, problems }) => {
            assert!(message.contains("journey broken"), "{message}");
            assert!(
                problems
                    .iter()
                    .any(|p| p["path"] == "journeys[1].steps[0].wait.hours"),
                "{problems:?}"
            );
        }
        other => panic!("{other:?}"),
    }
    let journeys = Journeys::from_config(&serde_json::from_value(stored).unwrap()).0;
    let list = as_json(&db(&sql, T0).journey_list(&journeys).unwrap());
    assert_eq!(list["drafts"][0]["id"], "broken");
    assert_eq!(list["drafts"][0]["revision"], 1);
}

/// The site's messaging rules from the studio: a new version, checked like
/// any other, refused when stale or invalid, removed with null.
#[test]
fn messaging_rules_are_a_version_checked_like_any_other() {
    let sql = store();
    run(&sql, "Ann", Overview {}).unwrap();
    let set = |caps: Value, quiet: Value, expected| {
        run(
            &sql,
            "Pat",
            SetMessaging {
                caps: RuleChange::of(Some(&caps)),
                quiet_hours: RuleChange::of(Some(&quiet)),
                expected,
            },
        )
    };
    let answer = set(
        json!({"per_day": 2, "per_week": 5}),
        json!({"start": "21:00", "end": "08:00", "time_zone_offset_minutes": 60}),
        1,
    )
    .unwrap();
    let stored: Value = serde_json::from_str(answer["config"].as_str().unwrap()).unwrap();
    assert_eq!(stored["messaging_caps"]["per_week"], 5);
    assert_eq!(stored["quiet_hours"]["time_zone_offset_minutes"], 60);
    assert_eq!(
        stored["campaigns"][0]["id"], "vip",
        "the rest of the config is kept"
    );
    assert!(matches!(
        set(json!({"per_day": 1}), Value::Null, 1),
        Err(StoreError::Conflict { .. })
    ));
    match set(json!({"per_day": 101}), Value::Null, 2) {
        Err(StoreError::InvalidConfig { problems, .. }) => {
            assert_eq!(
                problems[0]["path"], "messaging_caps.per_day",
                "{problems:?}"
            )
        }
        other => panic!("{other:?}"),
    }
    // A rule left out stays as it is.
    let kept = run(
        &sql,
        "Pat",
        SetMessaging {
            caps: RuleChange::Keep,
            quiet_hours: RuleChange::Set(json!({"start": "22:00", "end": "07:00"})),
            expected: 2,
        },
    )
    .unwrap();
    let stored: Value = serde_json::from_str(kept["config"].as_str().unwrap()).unwrap();
    assert_eq!(stored["messaging_caps"]["per_day"], 2);
    assert_eq!(stored["quiet_hours"]["start"], "22:00");
    let removed = set(Value::Null, Value::Null, 3).unwrap();
    let stored: Value = serde_json::from_str(removed["config"].as_str().unwrap()).unwrap();
    assert!(stored.get("messaging_caps").is_none() && stored.get("quiet_hours").is_none());
    let versions = run(
        &sql,
        "Pat",
        Versions {
            page: Page::default(),
        },
    )
    .unwrap();
    assert_eq!(versions["versions"][0]["action"], "settings");
    // "Remove" survives the trip to the store (serde reads null as None).
    let studio = Studio {
        live: None,
        by: "Pat".into(),
        action: SetMessaging {
            caps: RuleChange::Remove,
            quiet_hours: RuleChange::Keep,
            expected: 1,
        },
    };
    let tagged = crate::store::protocol::Tagged {
        command: "studio",
        ask: &studio,
    };
    let wire: crate::store::protocol::Command =
        serde_json::from_str(&serde_json::to_string(&tagged).unwrap()).unwrap();
    assert!(matches!(
        wire,
        crate::store::protocol::Command::Studio(StudioCall {
            action: StudioAction::SetMessaging(SetMessaging {
                caps: RuleChange::Remove,
                quiet_hours: RuleChange::Keep,
                ..
            }),
            ..
        })
    ));
}
