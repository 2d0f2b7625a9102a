//! A randomized model-based differential of identity across objects: the
//! same random sequence of visits, resends, identifies (user id, verified
//! email, verified phone), cookie links and undos applied to one object
//! (the model) and to 4 or 8 objects; after every step, what a user and the
//! admin can observe must be the same, every refusal must be the same, and
//! nothing may fail with an internal error.
//!
//! `cargo test -p nudge-edge --lib identity_fuzz -- --ignored --nocapture`
//! (`FUZZ_SEQS`, `FUZZ_SEED`, `FUZZ_OBJECTS` to change the run).

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Value};

use super::objects::{ready, signed_in, Dice, Stores};
use super::saga::campaigns;
use crate::store::protocol::*;
use crate::store::saga;

#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) enum Op {
    /// A new visit of browser b: a campaign shown and an order.
    Visit(usize),
    /// Browser b sends its k-th visit again (mod its visits).
    Resend(usize, usize),
    /// Browser b signs in as user u.
    User(usize, usize),
    /// Browser b proves email e.
    Email(usize, usize),
    /// Browser b proves phone p.
    Phone(usize, usize),
    /// The admin undoes the i-th merge logged (mod how many).
    Undo(usize),
    /// Browser `fresh` comes with a signed cookie naming browser `known`.
    Cookie(usize, usize),
    /// A channel's webhook issues a coupon to a name: (0 email, 1 user id,
    /// 2 phone, index).
    Hook(usize, usize),
    /// One batch with a visit of each of two browsers, the first's key.
    Pair(usize, usize),
}

/// The names a sequence plays with.
pub(super) struct Names {
    pub browsers: Vec<String>,
    pub users: Vec<String>,
    pub emails: Vec<String>,
    pub phones: Vec<String>,
}

impl Names {
    pub fn new(tag: &str, browsers: usize, users: usize, emails: usize, phones: usize) -> Names {
        Names {
            browsers: (0..browsers).map(|i| format!("fz{tag}-b{i}")).collect(),
            users: (0..users).map(|i| format!("user-{i}")).collect(),
            emails: (0..emails).map(|i| format!("e{i}@example.com")).collect(),
            phones: (0..phones).map(|i| format!("+1555010{i:04}")).collect(),
        }
    }
}

/// One site (1 or several objects) and what the sequence did to it so far.
pub(super) struct World<'n> {
    pub stores: Stores,
    names: &'n Names,
    /// Merges in the order they were logged (site-wide seqs).
    merges: Vec<i64>,
    seen: BTreeSet<i64>,
    visits: Vec<usize>,
    touched: BTreeSet<usize>,
    cookies: usize,
    hooks: usize,
    pub log: Vec<String>,
}

fn variant(e: &StoreError) -> String {
    match e {
        StoreError::Internal(why) => format!("Internal({why})"),
        StoreError::Moved { object } => format!("Moved({object})"),
        other => {
            let text = format!("{other:?}");
            text.split(['(', ' ', '{'])
                .next()
                .unwrap_or_default()
                .to_owned()
        }
    }
}

impl<'n> World<'n> {
    pub fn new(objects: u32, names: &'n Names) -> World<'n> {
        World {
            stores: Stores::new(objects),
            names,
            merges: Vec::new(),
            seen: BTreeSet::new(),
            visits: vec![0; names.browsers.len()],
            touched: BTreeSet::new(),
            cookies: 0,
            hooks: 0,
            log: Vec::new(),
        }
    }

    fn objects(&self) -> u16 {
        self.stores.map.objects()
    }

    /// Finishes what an alarm would (open merges), at every object.
    fn alarms(&self) {
        for object in self.stores.map.all() {
            let _ = ready(saga::resume(&self.stores, object, &campaigns()));
        }
    }

    fn visit_events(&self, b: usize, k: usize) -> Vec<Value> {
        let anon = &self.names.browsers[b];
        // Every event at its own time (a merge keeps impressions at distinct
        // times once: equal times would read as a difference).
        let hour = format!("{:02}:{:02}", 8 + (k % 12), b);
        vec![
            track(
                &format!("{anon}-v{k}-s"),
                anon,
                "Campaign Shown",
                &hour,
                json!({"campaign_id": "welcome"}),
            ),
            track(
                &format!("{anon}-v{k}-o"),
                anon,
                "Order Completed",
                &hour,
                json!({"total": 1.0 + (b * 10 + k) as f64}),
            ),
        ]
    }

    fn append(&self, b: usize, events: Vec<Value>, cookie: Option<String>) -> String {
        let anon = &self.names.browsers[b];
        let mut batch = super::objects::own_batch(anon, events, campaigns());
        batch.cookie_browser = cookie;
        match self.stores.call(&batch) {
            // A batch of repeats only is answered where the events were
            // stored, which no longer holds the moved browser's key.
            Ok(a) if a.accepted == 0 => format!("accepted=0 duplicates={}", a.duplicates),
            Ok(a) => {
                let mut unproven = a.unproven.clone();
                unproven.sort();
                format!(
                    "accepted={} duplicates={} verified={:?} unproven={unproven:?} moved={}",
                    a.accepted,
                    a.duplicates,
                    a.verified_browser.is_some(),
                    a.moved.len()
                )
            }
            Err(e) => variant(&e),
        }
    }

    fn identify(&self, ask: &Identify) -> String {
        let mut last = String::new();
        for _ in 0..4 {
            self.stores.now.set(self.stores.now.get() + 1);
            match ready(saga::identify(&self.stores, ask, &campaigns())) {
                Ok(identified) => return format!("ok merged={}", identified.merged),
                Err(StoreError::Overloaded(why)) => {
                    last = format!("Overloaded({why})");
                    self.alarms();
                }
                Err(e) => return variant(&e),
            }
        }
        last
    }

    /// Applies `op`; what it answered, as the two worlds must agree on.
    pub fn apply(&mut self, op: Op) -> String {
        let n = self.names;
        let answer = match op {
            Op::Visit(b) => {
                self.touched.insert(b);
                let k = self.visits[b];
                self.visits[b] += 1;
                self.append(b, self.visit_events(b, k), None)
            }
            Op::Resend(b, k) => {
                if self.visits[b] == 0 {
                    "nothing to resend".into()
                } else {
                    let k = k % self.visits[b];
                    self.append(b, self.visit_events(b, k), None)
                }
            }
            Op::User(b, u) => {
                self.touched.insert(b);
                let ask = signed_in(&n.browsers[b], Proven::UserId(n.users[u].clone()), None);
                self.identify(&ask)
            }
            Op::Email(b, e) => {
                self.touched.insert(b);
                let hash = crate::tokens::email_hash(&n.emails[e]).unwrap();
                let mut ask = signed_in(&n.browsers[b], Proven::EmailHash(hash), None);
                ask.email = Some(n.emails[e].clone());
                self.identify(&ask)
            }
            Op::Phone(b, p) => {
                self.touched.insert(b);
                let hash = crate::tokens::phone_hash(&n.phones[p]).unwrap();
                let ask = signed_in(
                    &n.browsers[b],
                    Proven::PhoneHash(hash),
                    Some(n.phones[p].clone()),
                );
                self.identify(&ask)
            }
            Op::Undo(i) => {
                if self.merges.is_empty() {
                    "no merge to undo".into()
                } else {
                    let seq = self.merges[i % self.merges.len()];
                    let undo = UndoMerge {
                        seq,
                        reason: "fuzz".into(),
                    };
                    self.stores.now.set(self.stores.now.get() + 1);
                    match ready(saga::undo_merge(&self.stores, &undo)) {
                        Ok(undone) => format!("undone given_back={:?}", undone.given_back),
                        Err(StoreError::MergedSince(why))
                            if why.contains("moved to another object") =>
                        {
                            "MergedSince(moved)".into()
                        }
                        Err(e) => variant(&e),
                    }
                }
            }
            Op::Cookie(known, fresh) => {
                self.touched.insert(fresh);
                let anon = &n.browsers[fresh];
                // A page view only: one object links before the batch's
                // facts are applied, several after (the Worker's order), so
                // a batch with facts would differ by design.
                let views = self.visits[fresh] + self.cookies;
                self.cookies += 1;
                let event = track(
                    &format!("{anon}-c{views}-p"),
                    anon,
                    "Page Viewed",
                    &format!("07:{fresh:02}"),
                    json!({}),
                );
                let appended = self.append(fresh, vec![event], Some(n.browsers[known].clone()));
                // The Worker links across objects after the append
                // (`routes/events.rs`); one object linked in the append.
                let linked = if self.objects() > 1 && appended.starts_with("accepted") {
                    match ready(saga::link_cookie(
                        &self.stores,
                        &n.browsers[known],
                        anon,
                        &campaigns(),
                    )) {
                        Ok(()) => "linked ok".to_owned(),
                        Err(StoreError::Overloaded(_)) => {
                            self.alarms();
                            "linked ok".to_owned()
                        }
                        Err(e) => variant(&e),
                    }
                } else {
                    "linked ok".to_owned()
                };
                format!("{appended}; {linked}")
            }
            Op::Hook(kind, i) => {
                self.hooks += 1;
                let n = self.names;
                let (field, name) = match kind % 3 {
                    0 => ("email", &n.emails[i % n.emails.len()]),
                    1 => ("user_id", &n.users[i % n.users.len()]),
                    _ => ("phone", &n.phones[i % n.phones.len()]),
                };
                let hook = Hook {
                    id: format!("h{}", self.hooks),
                    channel: "klaviyo".into(),
                    event: json!({"type": "coupon.issued", field: name,
                        "data": {"code": format!("C{}", self.hooks)}}),
                    objects: 0,
                };
                match self.stores.call(&hook) {
                    Ok(_) => "hook ok".into(),
                    Err(e) => variant(&e),
                }
            }
            Op::Pair(b, c) => {
                self.touched.insert(b);
                let mut events = Vec::new();
                for x in [b, c] {
                    let k = self.visits[x];
                    self.visits[x] += 1;
                    events.extend(self.visit_events(x, k));
                }
                self.append(b, events, None)
            }
        };
        let fresh = self.new_merges();
        let answer = format!("{answer}; merges+{fresh}");
        self.log.push(format!("{op:?} -> {answer}"));
        answer
    }

    /// The merges logged since last asked, in the order logged.
    fn new_merges(&mut self) -> usize {
        let mut rows = Vec::new();
        let mut page = Page {
            before: None,
            after: None,
            limit: Some(Page::MAX),
        };
        loop {
            let log = self
                .stores
                .call(&ListMerges {
                    person: None,
                    page: page.clone(),
                })
                .unwrap();
            rows.extend(log.merges);
            match log.next_before {
                Some(before) => page.before = Some(before),
                None => break,
            }
        }
        let mut fresh: Vec<(i64, i64)> = rows
            .iter()
            .filter_map(|r| Some((r["at"].as_i64()?, r["seq"].as_i64()?)))
            .filter(|(_, seq)| !self.seen.contains(seq))
            .collect();
        fresh.sort();
        for (_, seq) in &fresh {
            self.seen.insert(*seq);
            self.merges.push(*seq);
        }
        fresh.len()
    }

    fn person_named(&self, name: &str) -> Result<String, String> {
        match self.stores.call(&JourneyRuns {
            person: name.into(),
        }) {
            Ok(runs) => Ok(runs.0["person"].as_str().unwrap_or_default().to_owned()),
            Err(e) => Err(variant(&e)),
        }
    }

    /// What a user and the admin can see, in names both worlds share.
    pub fn observe(&self) -> Value {
        let n = self.names;
        let mut profiles = BTreeMap::new();
        let mut persons: BTreeMap<String, Vec<usize>> = BTreeMap::new();
        let mut lookups = BTreeMap::new();
        for &b in &self.touched {
            let anon = &n.browsers[b];
            let read = ReadProfile {
                anonymous_id: anon.clone(),
                key_hash: format!("h-{anon}"),
            };
            let profile = match self.stores.call(&read) {
                Ok(p) => {
                    let mut p = serde_json::to_value(p).unwrap();
                    // A coupon's issue time is the store's clock, which
                    // runs differently in each world: its code only.
                    let mut codes: Vec<Value> = p["coupons"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .map(|c| c["code"].clone())
                        .collect();
                    codes.sort_by_key(|c| c.to_string());
                    p["coupons"] = json!(codes);
                    p
                }
                Err(e) => json!(variant(&e)),
            };
            profiles.insert(format!("b{b}"), profile);
            match self.person_named(anon) {
                Ok(person) => persons.entry(person).or_default().push(b),
                Err(e) => {
                    lookups.insert(format!("b{b}"), json!(e));
                }
            }
        }
        let group = |person: &str| -> Value {
            match persons.get(person) {
                Some(browsers) => json!(browsers),
                None => json!("a person no browser leads to"),
            }
        };
        let names = n
            .users
            .iter()
            .map(|u| ("user", u))
            .chain(n.emails.iter().map(|e| ("email", e)))
            .chain(n.phones.iter().map(|p| ("phone", p)));
        for (kind, name) in names {
            let seen = match self.person_named(name) {
                Ok(person) => group(&person),
                Err(e) if e == "NotFound" => Value::Null,
                Err(e) => json!(e),
            };
            if !seen.is_null() {
                lookups.insert(format!("{kind} {name}"), seen);
            }
        }
        let mut partition: Vec<Vec<usize>> = persons.values().cloned().collect();
        partition.sort();
        let live: i64 = (0..self.stores.sqls.len())
            .map(|i| {
                self.stores
                    .count(i, "SELECT count(*) FROM persons WHERE merged_into IS NULL")
            })
            .sum();
        json!({
            "profiles": profiles,
            "partition": partition,
            "lookups": lookups,
            "live_persons": live,
            "report": super::objects::report_of(&self.stores, "welcome", 30),
        })
    }

    /// What must hold in any one world: no merge left open, nobody frozen,
    /// nothing held.
    pub fn settled(&self) -> Option<String> {
        let sum = |sql: &str| -> i64 {
            (0..self.stores.sqls.len())
                .map(|i| self.stores.count(i, sql))
                .sum()
        };
        let open = sum("SELECT count(*) FROM sagas WHERE step < 7");
        let frozen = sum("SELECT count(*) FROM frozen_persons");
        let held = sum("SELECT count(*) FROM held_events");
        (open + frozen + held > 0)
            .then(|| format!("open sagas {open}, frozen {frozen}, held {held}"))
    }
}

/// An event at `time` (hh:mm) of the day.
fn track(id: &str, anon: &str, name: &str, time: &str, props: Value) -> Value {
    json!({"type": "track", "event": name, "messageId": id, "anonymousId": anon,
           "timestamp": format!("2026-09-03T{time}:00.000Z"), "properties": props})
}

/// What kind of failure `why` is, without its step, browsers and numbers.
pub(super) fn signature(why: &str) -> String {
    let rest = why.split_once(": ").map_or(why, |(_, r)| r);
    let op = why
        .split_once(' ')
        .and_then(|(_, r)| r.split(['(', ' ']).nth(1))
        .unwrap_or_default();
    let cut: String = if let Some(path) = rest.strip_prefix("observed ") {
        path.split(':').next().unwrap_or_default().to_owned()
    } else {
        rest.to_owned()
    };
    let plain: String = cut.chars().filter(|c| !c.is_ascii_digit()).collect();
    format!("{op} {plain}")
}

/// The first difference between two observations, as a path.
fn first_difference(path: &str, a: &Value, b: &Value) -> String {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            let keys: BTreeSet<&String> = x.keys().chain(y.keys()).collect();
            for k in keys {
                let (va, vb) = (
                    x.get(k).unwrap_or(&Value::Null),
                    y.get(k).unwrap_or(&Value::Null),
                );
                if va != vb {
                    return first_difference(&format!("{path}.{k}"), va, vb);
                }
            }
            String::new()
        }
        _ => format!("{path}: one object {a} / many {b}"),
    }
}

/// Runs `ops` over 1 object and over `objects`: the first difference, or
/// an internal error, if any.
pub(super) fn run(names: &Names, ops: &[Op], objects: u32) -> Option<String> {
    let mut one = World::new(1, names);
    let mut many = World::new(objects, names);
    let strict = std::env::var("FUZZ_STRICT").is_ok();
    for (i, op) in ops.iter().enumerate() {
        let b = many.apply(*op);
        // Known and refused safely: an undo where the merged person left the
        // object since (one object would undo it). Not applied to either.
        if b.starts_with("MergedSince(moved)") && !strict {
            continue;
        }
        let a = one.apply(*op);
        if b.contains("Internal") || a.contains("Internal") {
            return Some(format!(
                "step {i} {op:?}: internal error: one {a} / many {b}"
            ));
        }
        if a != b.replace("MergedSince(moved)", "MergedSince") {
            return Some(format!("step {i} {op:?}: answered one {a} / many {b}"));
        }
        if let Some(why) = many.settled() {
            return Some(format!("step {i} {op:?}: not settled: {why}"));
        }
        let (seen_one, seen_many) = (one.observe(), many.observe());
        if seen_one != seen_many {
            return Some(format!(
                "step {i} {op:?}: observed {}",
                first_difference("", &seen_one, &seen_many)
            ));
        }
    }
    None
}

/// The shortest sequence (one op dropped at a time) still failing.
pub(super) fn minimize(names: &Names, ops: &[Op], objects: u32) -> Vec<Op> {
    let mut ops = ops.to_vec();
    let kind = signature(&run(names, &ops, objects).unwrap_or_default());
    loop {
        let mut shorter = None;
        for i in 0..ops.len() {
            let mut fewer = ops.clone();
            fewer.remove(i);
            if run(names, &fewer, objects).is_some_and(|why| signature(&why) == kind) {
                shorter = Some(fewer);
                break;
            }
        }
        match shorter {
            Some(fewer) => ops = fewer,
            None => return ops,
        }
    }
}

fn random_ops(dice: &mut Dice, names: &Names, len: usize) -> Vec<Op> {
    let nb = names.browsers.len() as u64;
    (0..len)
        .map(|_| {
            let b = dice.roll(nb) as usize;
            match dice.roll(100) {
                0..=19 => Op::Visit(b),
                20..=24 => Op::Resend(b, dice.roll(8) as usize),
                25..=49 => Op::User(b, dice.roll(names.users.len() as u64) as usize),
                50..=64 => Op::Email(b, dice.roll(names.emails.len() as u64) as usize),
                65..=74 => Op::Phone(b, dice.roll(names.phones.len() as u64) as usize),
                75..=86 => Op::Undo(dice.roll(16) as usize),
                87..=92 => Op::Cookie(dice.roll(nb) as usize, b),
                93..=96 => Op::Hook(dice.roll(3) as usize, dice.roll(8) as usize),
                _ => Op::Pair(b, dice.roll(nb) as usize),
            }
        })
        .collect()
}

/// Sequence `s` of run `seed`: its dice, having drawn its names.
fn sequence_names(seed: u64, s: u64) -> (Dice, Names) {
    let mut dice = Dice(seed.wrapping_mul(1_000_003).wrapping_add(s));
    let names = Names::new(
        &format!("{seed}x{s}"),
        6 + dice.roll(7) as usize,
        3 + dice.roll(3) as usize,
        3 + dice.roll(3) as usize,
        2 + dice.roll(2) as usize,
    );
    (dice, names)
}

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[test]
#[ignore]
fn identity_fuzz_one_object_against_several() {
    let sequences = env_u64("FUZZ_SEQS", 300);
    let seed = env_u64("FUZZ_SEED", 1);
    let only = std::env::var("FUZZ_OBJECTS")
        .ok()
        .and_then(|v| v.parse::<u32>().ok());
    let mut failures: BTreeMap<String, (u64, u32, Vec<Op>)> = BTreeMap::new();
    let mut ran = 0;
    for s in 0..sequences {
        let (mut dice, names) = sequence_names(seed, s);
        let len = 10 + dice.roll(31) as usize;
        let ops = random_ops(&mut dice, &names, len);
        let objects = only.unwrap_or(if s % 2 == 0 { 4 } else { 8 });
        ran += 1;
        if let Some(why) = run(&names, &ops, objects) {
            // Grouped by what differed (without step numbers).
            let kind = signature(&why);
            let kind: String = kind.chars().take(160).collect();
            eprintln!("sequence {s} ({objects} objects): {why}");
            failures
                .entry(kind)
                .or_insert_with(|| (s, objects, ops.clone()));
        }
    }
    eprintln!("{ran} sequences, {} kinds of failure", failures.len());
    for (kind, (s, objects, ops)) in &failures {
        let (_, names) = sequence_names(seed, *s);
        let small = minimize(&names, ops, *objects);
        let why = run(&names, &small, *objects).unwrap_or_default();
        eprintln!("\n== {kind}\n   sequence {s}, {objects} objects, minimal ({} ops): {small:?}\n   {why}", small.len());
        let mut many = World::new(*objects, &names);
        for op in &small {
            many.apply(*op);
        }
        for line in &many.log {
            eprintln!("     {line}");
        }
        for (i, b) in names.browsers.iter().enumerate() {
            if small.iter().any(|op| {
                format!("{op:?}").contains(&format!("({i}"))
                    || format!("{op:?}").contains(&format!(", {i})"))
            }) {
                eprintln!("     b{i} = {b} in object {}", many.stores.map.browser(b));
            }
        }
    }
    assert!(failures.is_empty(), "{} kinds of failure", failures.len());
}

/// Ops written as `Debug` writes them: `[Visit(1), User(2, 0)]`.
pub(super) fn parse_ops(text: &str) -> Vec<Op> {
    text.trim()
        .trim_start_matches('[')
        .trim_end_matches(']')
        .split(')')
        .map(|s| s.trim_start_matches([',', ' ']))
        .filter(|s| !s.is_empty())
        .map(|s| {
            let (name, args) = s.split_once('(').unwrap();
            let n: Vec<usize> = args.split(',').map(|a| a.trim().parse().unwrap()).collect();
            match name {
                "Visit" => Op::Visit(n[0]),
                "Resend" => Op::Resend(n[0], n[1]),
                "User" => Op::User(n[0], n[1]),
                "Email" => Op::Email(n[0], n[1]),
                "Phone" => Op::Phone(n[0], n[1]),
                "Undo" => Op::Undo(n[0]),
                "Cookie" => Op::Cookie(n[0], n[1]),
                "Hook" => Op::Hook(n[0], n[1]),
                "Pair" => Op::Pair(n[0], n[1]),
                other => panic!("no op {other}"),
            }
        })
        .collect()
}

/// Replays one sequence (`FUZZ_REPLAY="seed:sequence:objects:[ops]"`) and
/// prints both worlds' steps, placements, and each step's observations.
#[test]
#[ignore]
fn identity_fuzz_replay() {
    let spec = std::env::var("FUZZ_REPLAY").unwrap();
    let mut parts = spec.splitn(4, ':');
    let seed: u64 = parts.next().unwrap().parse().unwrap();
    let s: u64 = parts.next().unwrap().parse().unwrap();
    let objects: u32 = parts.next().unwrap().parse().unwrap();
    let ops = parse_ops(parts.next().unwrap());
    let (_, names) = sequence_names(seed, s);
    let mut one = World::new(1, &names);
    let mut many = World::new(objects, &names);
    for (i, b) in names.browsers.iter().enumerate() {
        eprintln!("b{i} in object {}", many.stores.map.browser(b));
    }
    for op in &ops {
        let (a, b) = (one.apply(*op), many.apply(*op));
        eprintln!("{op:?}\n  one:  {a}\n  many: {b}");
        let (x, y) = (one.observe(), many.observe());
        eprintln!("  one:  {}\n  many: {}", x["partition"], y["partition"]);
        if x != y {
            eprintln!("  DIFFERS {}", first_difference("", &x, &y));
        }
    }
    for (i, sql) in many.stores.sqls.iter().enumerate() {
        use crate::store::sql::Sql;
        let dump = |q: &str| sql.query(q, &[]).unwrap();
        eprintln!(
            "object {i}: persons {:?}",
            dump("SELECT id, merged_into, user_id, orders FROM persons")
        );
        eprintln!(
            "  identifiers {:?}",
            dump("SELECT kind, substr(value,1,12) AS v, person_id FROM identifiers")
        );
        eprintln!(
            "  directory {:?}",
            dump("SELECT kind, substr(value,1,12) AS v, person, object FROM directory")
        );
        eprintln!(
            "  moved_persons {:?}",
            dump("SELECT person, into_person, object, merge FROM moved_persons")
        );
        eprintln!(
            "  moved_browsers {:?}",
            dump("SELECT anonymous_id, object FROM moved_browsers")
        );
        eprintln!(
            "  merges {:?}",
            dump("SELECT seq, from_person, into_person FROM merges")
        );
    }
}
