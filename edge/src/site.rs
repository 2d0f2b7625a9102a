//! Each site's store: one SQLite-backed Durable Object holding the event log
//! and the persons behind the events.
//!
//! Events: keyed by event id, so a batch delivered twice (the agent resends
//! what a beacon may already have delivered) is stored once, and the facts it
//! carries (orders, campaign history) are applied in the same transaction as
//! the insert: exactly once, with no second round trip.
//!
//! A person has identifiers (anonymous browser ids, a user id, SHA-256 of an
//! email or phone) and facts (orders, coupons from offsite channels, campaign
//! history). Browsers only ever name their anonymous id; everything else is
//! linked by proof: a user token from the shop, a click token from an email or
//! SMS link, or a signed webhook. An email typed into a popup is kept as an
//! unverified claim and never links anyone. Merges are appended to `merges`
//! with their proof and what moved, so they can be audited and undone; two
//! different user ids are never merged.
//!
//! One object per site keeps every lookup a local SQLite query. Its requests
//! are internal (from this Worker), JSON in and out. (A site outgrowing one
//! object's throughput would shard persons by identifier hash.)

use serde_json::{json, Value};
use worker::{
    durable_object, DurableObject, Env, Request, Response, Result, SqlStorage,
    SqlStorageValue as V, State,
};

/// Anonymous ids kept per person; the oldest are dropped past this.
pub const MAX_ANONYMOUS_IDS: usize = 50;
const MAX_IMPRESSIONS: usize = 20;

const SCHEMA: &[&str] = &[
    "CREATE TABLE IF NOT EXISTS persons (id TEXT PRIMARY KEY, user_id TEXT UNIQUE, created_at INTEGER NOT NULL,
        orders INTEGER NOT NULL DEFAULT 0, total_spent REAL NOT NULL DEFAULT 0, unsubscribed INTEGER NOT NULL DEFAULT 0,
        merged_into TEXT)",
    "CREATE TABLE IF NOT EXISTS identifiers (kind TEXT NOT NULL, value TEXT NOT NULL, person_id TEXT NOT NULL,
        verified INTEGER NOT NULL, added_at INTEGER NOT NULL, PRIMARY KEY (kind, value))",
    "CREATE INDEX IF NOT EXISTS identifiers_by_person ON identifiers (person_id, kind, added_at)",
    "CREATE TABLE IF NOT EXISTS merges (seq INTEGER PRIMARY KEY AUTOINCREMENT, at INTEGER NOT NULL,
        from_person TEXT NOT NULL, into_person TEXT NOT NULL, proof TEXT NOT NULL, moved TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS coupons (person_id TEXT NOT NULL, code TEXT NOT NULL, issued_at INTEGER NOT NULL,
        expires_at INTEGER, redeemed INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (person_id, code))",
    "CREATE TABLE IF NOT EXISTS campaigns (person_id TEXT NOT NULL, campaign_id TEXT NOT NULL,
        impressions TEXT NOT NULL DEFAULT '[]', total INTEGER NOT NULL DEFAULT 0, dismissed_at INTEGER,
        converted_at INTEGER, PRIMARY KEY (person_id, campaign_id))",
    "CREATE TABLE IF NOT EXISTS claims (anonymous_id TEXT NOT NULL, kind TEXT NOT NULL, value TEXT NOT NULL,
        at INTEGER NOT NULL, PRIMARY KEY (anonymous_id, kind, value))",
    "CREATE TABLE IF NOT EXISTS events (id TEXT PRIMARY KEY, received_at INTEGER NOT NULL, body TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS deliveries (destination TEXT NOT NULL, event_id TEXT NOT NULL, at INTEGER NOT NULL,
        PRIMARY KEY (destination, event_id))",
    "CREATE TABLE IF NOT EXISTS dead_letters (seq INTEGER PRIMARY KEY AUTOINCREMENT, at INTEGER NOT NULL,
        reason TEXT NOT NULL, message TEXT NOT NULL)",
    // How channels reach a person (raw, for delivery only: identifiers hold the hashes).
    "CREATE TABLE IF NOT EXISTS contacts (person_id TEXT PRIMARY KEY, email TEXT, phone TEXT, at INTEGER NOT NULL)",
    // Undone merges (the merges table itself stays append-only).
    "CREATE TABLE IF NOT EXISTS merge_undos (seq INTEGER PRIMARY KEY, at INTEGER NOT NULL, reason TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS used_nonces (nonce TEXT PRIMARY KEY, at INTEGER NOT NULL)",
    "CREATE TABLE IF NOT EXISTS webhooks (id TEXT PRIMARY KEY, channel TEXT NOT NULL, at INTEGER NOT NULL, body TEXT NOT NULL)",
];

#[durable_object]
pub struct Site {
    state: State,
}

impl DurableObject for Site {
    fn new(state: State, _env: Env) -> Self {
        let sql = state.storage().sql();
        for statement in SCHEMA {
            if let Err(e) = sql.exec(statement, None) {
                worker::console_error!("site schema: {e}");
            }
        }
        Site { state }
    }

    async fn fetch(&self, mut req: Request) -> Result<Response> {
        let db = Db {
            sql: self.state.storage().sql(),
            now: worker::Date::now().as_millis() as i64,
        };
        // GET requests carry no body.
        let body: Value = if matches!(req.path().as_str(), "/profile" | "/recent") {
            Value::Null
        } else {
            req.json().await?
        };
        // No await below: each request's writes commit together.
        let answer = match req.path().as_str() {
            "/append" => db.append(&body)?,
            "/delivery" => db.delivery(&body)?,
            "/dead-letter" => db.dead_letter(&body)?,
            "/dead-letters" => db.dead_letters(&body)?,
            "/recent" => db.recent()?,
            "/identify" => db.identify(&body)?,
            "/claim" => db.claim(&body)?,
            "/merges" => db.merges(&body)?,
            "/undo-merge" => db.undo_merge(&body)?,
            "/hook" => db.hook(&body)?,
            "/profile" => {
                let url = req.url()?;
                let param = |name: &str| {
                    url.query_pairs()
                        .find(|(k, _)| k == name)
                        .map(|(_, v)| v.into_owned())
                        .unwrap_or_default()
                };
                let anonymous_id = param("anonymous_id");
                let browser = param("browser");
                if !browser.is_empty() {
                    db.link_browser(&browser, &anonymous_id)?;
                }
                db.profile(&anonymous_id)?
            }
            _ => return Response::error("not found", 404),
        };
        Response::from_json(&answer)
    }
}

struct Db {
    sql: SqlStorage,
    now: i64,
}

fn text(s: &str) -> V {
    V::from(s.to_owned())
}

/// The valid, normalized `email` and `phone` fields of `value`.
fn contact_fields(value: &Value) -> (Option<String>, Option<String>) {
    let email = value["email"]
        .as_str()
        .and_then(|e| nudge_core::capture::normalize_email(e).ok());
    let phone = value["phone"]
        .as_str()
        .and_then(|p| nudge_core::capture::normalize_phone(p).ok());
    (email, phone)
}

impl Db {
    fn rows(&self, query: &str, bindings: Vec<V>) -> Result<Vec<Value>> {
        self.sql.exec(query, bindings)?.to_array()
    }

    fn run(&self, query: &str, bindings: Vec<V>) -> Result<usize> {
        Ok(self.sql.exec(query, bindings)?.rows_written())
    }

    /// The text in `column` of the query's first row, if any.
    fn text_of(&self, column: &str, query: &str, bindings: Vec<V>) -> Result<Option<String>> {
        let rows = self.rows(query, bindings)?;
        Ok(rows
            .first()
            .and_then(|r| r[column].as_str())
            .map(str::to_owned))
    }

    fn person_of(&self, kind: &str, value: &str) -> Result<Option<String>> {
        self.text_of(
            "person_id",
            "SELECT person_id FROM identifiers WHERE kind = ? AND value = ?",
            vec![text(kind), text(value)],
        )
    }

    fn new_person(&self, seed: &str) -> Result<String> {
        // Unique and stable enough for a primary key inside one site's object.
        let id = format!(
            "p_{:x}_{:08x}",
            self.now,
            nudge_core::bucket::fingerprint(&[seed, &self.now.to_string()])
        );
        self.run(
            "INSERT INTO persons (id, created_at) VALUES (?, ?)",
            vec![text(&id), V::Integer(self.now)],
        )?;
        Ok(id)
    }

    fn add_identifier(&self, person: &str, kind: &str, value: &str, verified: bool) -> Result<()> {
        self.run(
            "INSERT INTO identifiers (kind, value, person_id, verified, added_at) VALUES (?, ?, ?, ?, ?)
             ON CONFLICT (kind, value) DO UPDATE SET verified = max(verified, excluded.verified)",
            vec![text(kind), text(value), text(person), V::Integer(i64::from(verified)), V::Integer(self.now)],
        )?;
        Ok(())
    }

    /// The person behind a browser, created on first sight.
    fn person_for_browser(&self, anonymous_id: &str) -> Result<String> {
        if let Some(p) = self.person_of("anon", anonymous_id)? {
            return Ok(p);
        }
        let p = self.new_person(anonymous_id)?;
        self.add_identifier(&p, "anon", anonymous_id, false)?;
        Ok(p)
    }

    fn user_id_of(&self, person: &str) -> Result<Option<String>> {
        self.text_of(
            "user_id",
            "SELECT user_id FROM persons WHERE id = ?",
            vec![text(person)],
        )
    }

    /// Stores a validated batch: each new event once, with its facts (orders,
    /// campaign history, redeemed coupons). No await here: one transaction.
    fn append(&self, body: &Value) -> Result<Value> {
        let (mut accepted, mut duplicates) = (0u32, 0u32);
        if let Some(known) = body["browser"].as_str() {
            for event in body["events"].as_array().into_iter().flatten() {
                self.link_browser(known, event["anonymousId"].as_str().unwrap_or_default())?;
            }
        }
        for event in body["events"].as_array().into_iter().flatten() {
            let (Some(anonymous_id), Some(id)) =
                (event["anonymousId"].as_str(), event["messageId"].as_str())
            else {
                continue;
            };
            let stored = self.run(
                "INSERT OR IGNORE INTO events (id, received_at, body) VALUES (?, ?, ?)",
                vec![text(id), V::Integer(self.now), text(&event.to_string())],
            )?;
            if stored == 0 {
                duplicates += 1;
                continue;
            }
            accepted += 1;
            let person = self.person_for_browser(anonymous_id)?;
            let props = &event["properties"];
            let campaign = props["campaign_id"].as_str().unwrap_or_default();
            let at =
                nudge_core::time::parse_iso8601(event["timestamp"].as_str().unwrap_or_default())
                    .unwrap_or(self.now);
            match event["event"].as_str().unwrap_or_default() {
                "Order Completed" => {
                    let total = props["total"]
                        .as_f64()
                        .or_else(|| props["revenue"].as_f64())
                        .unwrap_or(0.0)
                        .max(0.0);
                    self.run("UPDATE persons SET orders = orders + 1, total_spent = total_spent + ? WHERE id = ?", vec![V::Float(total), text(&person)])?;
                    if let Some(code) = props["coupon"].as_str() {
                        self.run(
                            "UPDATE coupons SET redeemed = 1 WHERE person_id = ? AND code = ?",
                            vec![text(&person), text(code)],
                        )?;
                    }
                }
                "Campaign Shown" if !campaign.is_empty() => {
                    self.record_impression(&person, campaign, at)?
                }
                "Campaign Dismissed" if !campaign.is_empty() => {
                    self.ensure_campaign(&person, campaign)?;
                    self.run("UPDATE campaigns SET dismissed_at = ? WHERE person_id = ? AND campaign_id = ?", vec![V::Integer(at), text(&person), text(campaign)])?;
                }
                "Campaign Converted" if !campaign.is_empty() => {
                    self.ensure_campaign(&person, campaign)?;
                    self.run("UPDATE campaigns SET converted_at = ? WHERE person_id = ? AND campaign_id = ?", vec![V::Integer(at), text(&person), text(campaign)])?;
                }
                _ => {
                    // An email or phone typed into a popup: a claim, never a link.
                    if event["type"] == "identify" {
                        let traits = &event["traits"];
                        self.claim(&json!({"anonymous_id": anonymous_id, "email": traits["email"], "phone": traits["phone"]}))?;
                        self.remember_contact(&person, traits)?;
                    }
                }
            }
        }
        Ok(json!({"accepted": accepted, "duplicates": duplicates}))
    }

    /// The first-party cookie says `fresh` is the same browser as `known` (its
    /// script storage was wiped): `fresh` joins `known`'s person.
    fn link_browser(&self, known: &str, fresh: &str) -> Result<()> {
        if known == fresh || fresh.is_empty() {
            return Ok(());
        }
        let Some(person) = self.person_of("anon", known)? else {
            return Ok(());
        };
        match self.person_of("anon", fresh)? {
            None => self.add_identifier(&person, "anon", fresh, false),
            Some(p) if p == person => Ok(()),
            Some(p) => {
                if let (Some(a), Some(b)) = (self.user_id_of(&p)?, self.user_id_of(&person)?) {
                    if a != b {
                        return Ok(()); // never two user ids
                    }
                }
                self.merge(&p, &person, "first_party_cookie")
            }
        }
    }

    /// Forwarding bookkeeping: `{check: {destination, event_id}}` answers whether
    /// it was delivered; `{record: ...}` notes that it was.
    fn delivery(&self, body: &Value) -> Result<Value> {
        if let Some(d) = body.get("record") {
            self.run(
                "INSERT OR IGNORE INTO deliveries (destination, event_id, at) VALUES (?, ?, ?)",
                vec![
                    text(d["destination"].as_str().unwrap_or_default()),
                    text(d["event_id"].as_str().unwrap_or_default()),
                    V::Integer(self.now),
                ],
            )?;
            return Ok(json!({"recorded": true}));
        }
        let d = &body["check"];
        let rows = self.rows(
            "SELECT 1 FROM deliveries WHERE destination = ? AND event_id = ?",
            vec![
                text(d["destination"].as_str().unwrap_or_default()),
                text(d["event_id"].as_str().unwrap_or_default()),
            ],
        )?;
        let person = match body["anonymous_id"].as_str() {
            Some(anonymous_id) => self.person_of("anon", anonymous_id)?,
            None => None,
        };
        let contact = match person {
            Some(person) => self.contact(&person)?,
            None => Value::Null,
        };
        Ok(json!({"delivered": !rows.is_empty(), "contact": contact}))
    }

    /// Keeps the email and phone an identify carried (valid ones only), so
    /// channels that address people can reach this one.
    fn remember_contact(&self, person: &str, traits: &Value) -> Result<()> {
        let (email, phone) = contact_fields(traits);
        if email.is_none() && phone.is_none() {
            return Ok(());
        }
        self.run(
            "INSERT INTO contacts (person_id, email, phone, at) VALUES (?, ?, ?, ?)
             ON CONFLICT (person_id) DO UPDATE SET email = coalesce(excluded.email, email),
             phone = coalesce(excluded.phone, phone), at = excluded.at",
            vec![
                text(person),
                email.as_deref().map_or(V::Null, text),
                phone.as_deref().map_or(V::Null, text),
                V::Integer(self.now),
            ],
        )?;
        Ok(())
    }

    /// `{user_id, email, phone, unsubscribed}` of a person.
    fn contact(&self, person: &str) -> Result<Value> {
        let rows = self.rows(
            "SELECT p.user_id, p.unsubscribed, c.email, c.phone FROM persons p
             LEFT JOIN contacts c ON c.person_id = p.id WHERE p.id = ?",
            vec![text(person)],
        )?;
        let Some(row) = rows.first() else {
            return Ok(Value::Null);
        };
        Ok(
            json!({"user_id": row["user_id"], "email": row["email"], "phone": row["phone"],
            "unsubscribed": row["unsubscribed"].as_i64() == Some(1)}),
        )
    }

    fn dead_letter(&self, body: &Value) -> Result<Value> {
        self.run(
            "INSERT INTO dead_letters (at, reason, message) VALUES (?, ?, ?)",
            vec![
                V::Integer(self.now),
                text(body["reason"].as_str().unwrap_or("unknown")),
                text(&body["message"].to_string()),
            ],
        )?;
        Ok(json!({"kept": true}))
    }

    /// Lists dead letters; with `{take: true}` also removes them (for a replay).
    fn dead_letters(&self, body: &Value) -> Result<Value> {
        let rows = self.rows(
            "SELECT seq, at, reason, message FROM dead_letters ORDER BY seq",
            vec![],
        )?;
        let letters: Vec<Value> = rows
            .iter()
            .map(|r| {
                let message: Value = r["message"]
                    .as_str()
                    .and_then(|m| serde_json::from_str(m).ok())
                    .unwrap_or(Value::Null);
                json!({"seq": r["seq"], "at": r["at"], "reason": r["reason"], "message": message})
            })
            .collect();
        if body["take"] == true {
            self.run("DELETE FROM dead_letters", vec![])?;
        }
        Ok(json!({"letters": letters}))
    }

    /// The newest stored events, for support and tests.
    fn recent(&self) -> Result<Value> {
        let events = self.rows(
            "SELECT id, received_at, body FROM events ORDER BY received_at DESC, id LIMIT 200",
            vec![],
        )?;
        let total = self.rows("SELECT COUNT(*) AS n FROM events", vec![])?;
        Ok(json!({"total": total.first().map_or(json!(0), |r| r["n"].clone()), "events": events}))
    }

    fn ensure_campaign(&self, person: &str, campaign: &str) -> Result<()> {
        self.run(
            "INSERT OR IGNORE INTO campaigns (person_id, campaign_id) VALUES (?, ?)",
            vec![text(person), text(campaign)],
        )?;
        Ok(())
    }

    /// When `person` saw `campaign` (the newest MAX_IMPRESSIONS, oldest first).
    fn impressions_of(&self, person: &str, campaign: &str) -> Result<Vec<i64>> {
        let impressions = self.text_of(
            "impressions",
            "SELECT impressions FROM campaigns WHERE person_id = ? AND campaign_id = ?",
            vec![text(person), text(campaign)],
        )?;
        Ok(impressions
            .and_then(|s| serde_json::from_str(&s).ok())
            .unwrap_or_default())
    }

    fn record_impression(&self, person: &str, campaign: &str, at: i64) -> Result<()> {
        self.ensure_campaign(person, campaign)?;
        let mut impressions = self.impressions_of(person, campaign)?;
        impressions.push(at);
        impressions.sort_unstable();
        let excess = impressions.len().saturating_sub(MAX_IMPRESSIONS);
        impressions.drain(..excess);
        self.run(
            "UPDATE campaigns SET impressions = ?, total = total + 1 WHERE person_id = ? AND campaign_id = ?",
            vec![text(&serde_json::to_string(&impressions)?), text(person), text(campaign)],
        )?;
        Ok(())
    }

    /// Records what a visitor typed (hashed): evidence for later, never a merge.
    fn claim(&self, body: &Value) -> Result<Value> {
        let Some(anonymous_id) = body["anonymous_id"].as_str() else {
            return Ok(json!({"claimed": 0}));
        };
        let mut claimed = 0;
        for (kind, hash) in [
            (
                "email",
                body["email"].as_str().and_then(crate::tokens::email_hash),
            ),
            (
                "phone",
                body["phone"].as_str().and_then(crate::tokens::phone_hash),
            ),
        ] {
            if let Some(hash) = hash {
                claimed += self.run(
                    "INSERT OR IGNORE INTO claims (anonymous_id, kind, value, at) VALUES (?, ?, ?, ?)",
                    vec![text(anonymous_id), text(kind), text(&hash), V::Integer(self.now)],
                )?;
            }
        }
        Ok(json!({"claimed": claimed, "merged": false}))
    }

    /// Links a browser to a proven identity. `body`: `{anonymous_id, user_id | email_hash,
    /// proof, nonce?}` (the Worker has verified the token already).
    fn identify(&self, body: &Value) -> Result<Value> {
        let anonymous_id = body["anonymous_id"].as_str().unwrap_or_default();
        let proof = body["proof"].as_str().unwrap_or("unknown");
        if let Some(nonce) = body["nonce"].as_str() {
            if self.run(
                "INSERT OR IGNORE INTO used_nonces (nonce, at) VALUES (?, ?)",
                vec![text(nonce), V::Integer(self.now)],
            )? == 0
            {
                return Ok(json!({"error": "token_used", "message": "this link was already used"}));
            }
        }
        let browser = self.person_for_browser(anonymous_id)?;
        let (kind, value) = match (body["user_id"].as_str(), body["email_hash"].as_str()) {
            (Some(user), _) => ("user", user),
            (None, Some(hash)) => ("email", hash),
            _ => return Ok(json!({"error": "no_identity", "message": "nothing proven"})),
        };
        let target = match self.person_of(kind, value)? {
            Some(existing) => existing,
            None => {
                if kind == "user" {
                    if let Some(other) = self.user_id_of(&browser)? {
                        if other != value {
                            return Ok(
                                json!({"error": "user_conflict", "message": "this browser belongs to another user id"}),
                            );
                        }
                    }
                    self.run(
                        "UPDATE persons SET user_id = ? WHERE id = ?",
                        vec![text(value), text(&browser)],
                    )?;
                }
                self.add_identifier(&browser, kind, value, true)?;
                return Ok(json!({"person": browser, "merged": false}));
            }
        };
        if target == browser {
            return Ok(json!({"person": target, "merged": false}));
        }
        if let (Some(a), Some(b)) = (self.user_id_of(&browser)?, self.user_id_of(&target)?) {
            if a != b {
                return Ok(
                    json!({"error": "user_conflict", "message": "never merging two different user ids"}),
                );
            }
        }
        self.merge(&browser, &target, proof)?;
        Ok(json!({"person": target, "merged": true}))
    }

    /// Moves everything `from` has to `into` and records the merge.
    fn merge(&self, from: &str, into: &str, proof: &str) -> Result<()> {
        let moved_identifiers = self.rows(
            "SELECT kind, value FROM identifiers WHERE person_id = ?",
            vec![text(from)],
        )?;
        let facts = self.rows(
            "SELECT user_id, orders, total_spent FROM persons WHERE id = ?",
            vec![text(from)],
        )?;
        let fact = facts.first().cloned().unwrap_or(Value::Null);
        let gave_user_id = fact["user_id"].is_string() && self.user_id_of(into)?.is_none();
        self.run(
            "UPDATE identifiers SET person_id = ? WHERE person_id = ?",
            vec![text(into), text(from)],
        )?;
        // Clear `from` first: user_id is unique.
        self.run("UPDATE persons SET merged_into = ?, user_id = NULL, orders = 0, total_spent = 0 WHERE id = ?", vec![text(into), text(from)])?;
        self.run(
            "UPDATE persons SET orders = orders + ?, total_spent = total_spent + ?, user_id = coalesce(user_id, ?) WHERE id = ?",
            vec![
                V::Integer(fact["orders"].as_i64().unwrap_or(0)),
                V::Float(fact["total_spent"].as_f64().unwrap_or(0.0)),
                fact["user_id"].as_str().map_or(V::Null, text),
                text(into),
            ],
        )?;
        // What an undo must give back: coupons `into` did not have, and `from`'s own
        // campaign history (undo restores it; `into` keeps the merged one, so caps stay on the safe side).
        let moved_coupons = self.rows(
            "SELECT code FROM coupons WHERE person_id = ? AND code NOT IN (SELECT code FROM coupons WHERE person_id = ?)",
            vec![text(from), text(into)],
        )?;
        self.run("INSERT OR IGNORE INTO coupons SELECT ?, code, issued_at, expires_at, redeemed FROM coupons WHERE person_id = ?", vec![text(into), text(from)])?;
        self.run("DELETE FROM coupons WHERE person_id = ?", vec![text(from)])?;
        self.run(
            "INSERT OR IGNORE INTO contacts SELECT ?, email, phone, at FROM contacts WHERE person_id = ?",
            vec![text(into), text(from)],
        )?;
        let campaigns = self.rows("SELECT campaign_id, impressions, total, dismissed_at, converted_at FROM campaigns WHERE person_id = ?", vec![text(from)])?;
        for row in &campaigns {
            let campaign = row["campaign_id"].as_str().unwrap_or_default();
            self.ensure_campaign(into, campaign)?;
            let mut impressions = self.impressions_of(into, campaign)?;
            let theirs: Vec<i64> = row["impressions"]
                .as_str()
                .and_then(|s| serde_json::from_str(s).ok())
                .unwrap_or_default();
            impressions.extend(theirs);
            impressions.sort_unstable();
            impressions.dedup();
            let excess = impressions.len().saturating_sub(MAX_IMPRESSIONS);
            impressions.drain(..excess);
            self.run(
                "UPDATE campaigns SET impressions = ?, total = total + ?, dismissed_at = max(coalesce(dismissed_at, 0), coalesce(?, 0)),
                 converted_at = max(coalesce(converted_at, 0), coalesce(?, 0)) WHERE person_id = ? AND campaign_id = ?",
                vec![
                    text(&serde_json::to_string(&impressions)?),
                    V::Integer(row["total"].as_i64().unwrap_or(0)),
                    row["dismissed_at"].as_i64().map_or(V::Null, V::Integer),
                    row["converted_at"].as_i64().map_or(V::Null, V::Integer),
                    text(into),
                    text(campaign),
                ],
            )?;
        }
        self.run(
            "DELETE FROM campaigns WHERE person_id = ?",
            vec![text(from)],
        )?;
        self.run(
            "INSERT INTO merges (at, from_person, into_person, proof, moved) VALUES (?, ?, ?, ?, ?)",
            vec![V::Integer(self.now), text(from), text(into), text(proof), text(&json!({"identifiers": moved_identifiers, "facts": fact, "gave_user_id": gave_user_id,
                "coupons": moved_coupons, "campaigns": campaigns}).to_string())],
        )?;
        self.cap_anonymous_ids(into)
    }

    fn cap_anonymous_ids(&self, person: &str) -> Result<()> {
        let anons = self.rows("SELECT value FROM identifiers WHERE person_id = ? AND kind = 'anon' ORDER BY added_at DESC", vec![text(person)])?;
        for old in anons.iter().skip(MAX_ANONYMOUS_IDS) {
            if let Some(value) = old["value"].as_str() {
                self.run(
                    "DELETE FROM identifiers WHERE kind = 'anon' AND value = ?",
                    vec![text(value)],
                )?;
            }
        }
        Ok(())
    }

    /// The newest merges (optionally of one person), with what moved and whether undone.
    fn merges(&self, body: &Value) -> Result<Value> {
        let person = body["person"].as_str().unwrap_or_default();
        let rows = self.rows(
            "SELECT m.seq, m.at, m.from_person, m.into_person, m.proof, m.moved, u.at AS undone_at, u.reason AS undo_reason
             FROM merges m LEFT JOIN merge_undos u ON u.seq = m.seq
             WHERE ? = '' OR m.from_person = ? OR m.into_person = ? ORDER BY m.seq DESC LIMIT 200",
            vec![text(person), text(person), text(person)],
        )?;
        let merges: Vec<Value> = rows
            .into_iter()
            .map(|mut r| {
                r["moved"] = r["moved"]
                    .as_str()
                    .and_then(|m| serde_json::from_str(m).ok())
                    .unwrap_or(Value::Null);
                r
            })
            .collect();
        Ok(json!({"merges": merges}))
    }

    /// Gives back what merge `seq` moved: the browser ids and verified ids,
    /// orders and spend, user id, coupons and campaign history of the merged
    /// person. Facts recorded after the merge stay where they were recorded.
    /// A merge whose surviving person was merged again since is undone only
    /// after that later merge.
    fn undo_merge(&self, body: &Value) -> Result<Value> {
        let seq = body["seq"].as_i64().unwrap_or(-1);
        let rows = self.rows(
            "SELECT from_person, into_person, moved FROM merges WHERE seq = ?",
            vec![V::Integer(seq)],
        )?;
        let Some(merge) = rows.first() else {
            return Ok(json!({"error": "not_found", "message": format!("no merge {seq}")}));
        };
        let undone = |seq: i64| -> Result<bool> {
            Ok(!self
                .rows(
                    "SELECT 1 FROM merge_undos WHERE seq = ?",
                    vec![V::Integer(seq)],
                )?
                .is_empty())
        };
        if undone(seq)? {
            return Ok(
                json!({"error": "already_undone", "message": format!("merge {seq} was undone already")}),
            );
        }
        let from = merge["from_person"].as_str().unwrap_or_default();
        let into = merge["into_person"].as_str().unwrap_or_default();
        for later in self.rows(
            "SELECT seq FROM merges WHERE from_person = ? AND seq > ?",
            vec![text(into), V::Integer(seq)],
        )? {
            let later = later["seq"].as_i64().unwrap_or_default();
            if !undone(later)? {
                return Ok(
                    json!({"error": "merged_since", "message": format!("{into} was merged again (merge {later}); undo that first")}),
                );
            }
        }
        let moved: Value = merge["moved"]
            .as_str()
            .and_then(|m| serde_json::from_str(m).ok())
            .unwrap_or(Value::Null);
        for id in moved["identifiers"].as_array().into_iter().flatten() {
            self.run(
                "UPDATE identifiers SET person_id = ? WHERE kind = ? AND value = ? AND person_id = ?",
                vec![
                    text(from),
                    text(id["kind"].as_str().unwrap_or_default()),
                    text(id["value"].as_str().unwrap_or_default()),
                    text(into),
                ],
            )?;
        }
        let facts = &moved["facts"];
        let orders = facts["orders"].as_i64().unwrap_or(0);
        let spent = facts["total_spent"].as_f64().unwrap_or(0.0);
        if moved["gave_user_id"] == true {
            // Cleared first: user_id is unique.
            self.run(
                "UPDATE persons SET user_id = NULL WHERE id = ?",
                vec![text(into)],
            )?;
        }
        self.run(
            "UPDATE persons SET orders = max(orders - ?, 0), total_spent = max(total_spent - ?, 0) WHERE id = ?",
            vec![V::Integer(orders), V::Float(spent), text(into)],
        )?;
        self.run(
            "UPDATE persons SET merged_into = NULL, orders = ?, total_spent = ?, user_id = ? WHERE id = ?",
            vec![
                V::Integer(orders),
                V::Float(spent),
                facts["user_id"].as_str().map_or(V::Null, text),
                text(from),
            ],
        )?;
        for coupon in moved["coupons"].as_array().into_iter().flatten() {
            self.run(
                "UPDATE coupons SET person_id = ? WHERE person_id = ? AND code = ?",
                vec![
                    text(from),
                    text(into),
                    text(coupon["code"].as_str().unwrap_or_default()),
                ],
            )?;
        }
        for c in moved["campaigns"].as_array().into_iter().flatten() {
            self.run(
                "INSERT OR REPLACE INTO campaigns (person_id, campaign_id, impressions, total, dismissed_at, converted_at)
                 VALUES (?, ?, ?, ?, ?, ?)",
                vec![
                    text(from),
                    text(c["campaign_id"].as_str().unwrap_or_default()),
                    text(c["impressions"].as_str().unwrap_or("[]")),
                    V::Integer(c["total"].as_i64().unwrap_or(0)),
                    c["dismissed_at"].as_i64().map_or(V::Null, V::Integer),
                    c["converted_at"].as_i64().map_or(V::Null, V::Integer),
                ],
            )?;
        }
        self.run(
            "INSERT INTO merge_undos (seq, at, reason) VALUES (?, ?, ?)",
            vec![
                V::Integer(seq),
                V::Integer(self.now),
                text(body["reason"].as_str().unwrap_or("undone by an admin")),
            ],
        )?;
        Ok(json!({"undone": seq, "person": from, "split_from": into}))
    }

    /// An inbound offsite event (already signature-checked). `body`: `{id, channel,
    /// event: {type, user_id?, email?, phone?, data}}`.
    fn hook(&self, body: &Value) -> Result<Value> {
        let id = body["id"].as_str().unwrap_or_default();
        let channel = body["channel"].as_str().unwrap_or_default();
        let event = &body["event"];
        if self.run(
            "INSERT OR IGNORE INTO webhooks (id, channel, at, body) VALUES (?, ?, ?, ?)",
            vec![
                text(id),
                text(channel),
                V::Integer(self.now),
                text(&event.to_string()),
            ],
        )? == 0
        {
            return Ok(json!({"error": "already_processed"}));
        }
        let who = if let Some(user) = event["user_id"].as_str() {
            Some(("user", user.to_owned()))
        } else if let Some(hash) = event["email"].as_str().and_then(crate::tokens::email_hash) {
            Some(("email", hash))
        } else {
            event["phone"]
                .as_str()
                .and_then(crate::tokens::phone_hash)
                .map(|h| ("phone", h))
        };
        let Some((kind, value)) = who else {
            return Ok(
                json!({"error": "no_person", "message": "the event names no user_id, email or phone"}),
            );
        };
        // The channel knows this person: a verified identifier.
        let person = match self.person_of(kind, &value)? {
            Some(p) => p,
            None => {
                let p = self.new_person(&value)?;
                if kind == "user" {
                    self.run(
                        "UPDATE persons SET user_id = ? WHERE id = ?",
                        vec![text(&value), text(&p)],
                    )?;
                }
                self.add_identifier(&p, kind, &value, true)?;
                p
            }
        };
        let data = &event["data"];
        match event["type"].as_str().unwrap_or_default() {
            "coupon.issued" => {
                let Some(code) = data["code"].as_str() else {
                    return Ok(
                        json!({"error": "invalid_event", "message": "data.code is required"}),
                    );
                };
                let expires = data["expires_at"]
                    .as_str()
                    .and_then(nudge_core::time::parse_iso8601);
                self.run(
                    "INSERT INTO coupons (person_id, code, issued_at, expires_at) VALUES (?, ?, ?, ?)
                     ON CONFLICT (person_id, code) DO UPDATE SET expires_at = excluded.expires_at",
                    vec![text(&person), text(code), V::Integer(self.now), expires.map_or(V::Null, V::Integer)],
                )?;
            }
            "unsubscribed" => {
                self.run(
                    "UPDATE persons SET unsubscribed = 1 WHERE id = ?",
                    vec![text(&person)],
                )?;
                // Everyone reached at that address or number: a visitor who typed
                // it into a popup is not a verified match, but must not be messaged there either.
                let (email, phone) = contact_fields(event);
                self.run(
                    "UPDATE persons SET unsubscribed = 1 WHERE id IN
                     (SELECT person_id FROM contacts WHERE lower(email) = lower(?) OR phone = ?)",
                    vec![
                        email.as_deref().map_or(V::Null, text),
                        phone.as_deref().map_or(V::Null, text),
                    ],
                )?;
            }
            // Kept in `webhooks` for audit; no profile fact follows from them yet.
            "email.sent" | "email.opened" | "email.clicked" | "sms.sent" | "sms.clicked" => {}
            other => {
                return Ok(
                    json!({"error": "unknown_type", "message": format!("unknown event type {other:?}")}),
                )
            }
        }
        Ok(json!({"applied": true, "person": person}))
    }

    /// What the agent needs, in `nudge_core::profile::RemoteFacts`' wire shape.
    fn profile(&self, anonymous_id: &str) -> Result<Value> {
        let Some(person) = self.person_of("anon", anonymous_id)? else {
            return Ok(
                json!({"orders": 0, "total_spent": 0, "coupons": [], "segments": [], "campaigns": []}),
            );
        };
        let facts = self.rows(
            "SELECT user_id, orders, total_spent, unsubscribed FROM persons WHERE id = ?",
            vec![text(&person)],
        )?;
        let fact = facts.first().cloned().unwrap_or(Value::Null);
        let iso = |v: &Value| v.as_i64().map(nudge_core::time::to_iso8601);
        let coupons: Vec<Value> = self
            .rows("SELECT code, issued_at, expires_at, redeemed FROM coupons WHERE person_id = ? ORDER BY issued_at", vec![text(&person)])?
            .iter()
            .map(|c| json!({"code": c["code"], "issued_at": iso(&c["issued_at"]), "expires_at": iso(&c["expires_at"]), "redeemed": c["redeemed"].as_i64() == Some(1)}))
            .collect();
        let campaigns: Vec<Value> = self
            .rows("SELECT campaign_id, impressions, total, dismissed_at, converted_at FROM campaigns WHERE person_id = ?", vec![text(&person)])?
            .iter()
            .map(|c| {
                let impressions: Value = c["impressions"].as_str().and_then(|s| serde_json::from_str(s).ok()).unwrap_or(json!([]));
                json!({"id": c["campaign_id"], "imp": impressions, "total": c["total"], "dismissed": c["dismissed_at"], "converted": c["converted_at"]})
            })
            .collect();
        let orders = fact["orders"].as_i64().unwrap_or(0);
        let verified = !self
            .rows(
                "SELECT 1 FROM identifiers WHERE person_id = ? AND kind = 'email' AND verified = 1",
                vec![text(&person)],
            )?
            .is_empty();
        let mut segments = Vec::new();
        if orders > 0 {
            segments.push("customer");
        }
        if orders >= 3 {
            segments.push("vip");
        }
        if verified && fact["unsubscribed"].as_i64() != Some(1) {
            segments.push("email_subscriber");
        }
        Ok(json!({
            "user_id": fact["user_id"], "orders": orders, "total_spent": fact["total_spent"],
            "coupons": coupons, "segments": segments, "campaigns": campaigns,
        }))
    }
}
