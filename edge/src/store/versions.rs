//! The site's config history and the studio's drafts.
//!
//! Every change to the live config is an immutable version (who, when, what
//! action, which campaign): a publish from the studio, a pause, a roll back
//! (a new version equal to an older one: history is never rewritten), or a
//! `PUT …/config` through the API. Drafts are per campaign, with a revision
//! that only grows (a discarded draft keeps its row), so a stale `If-Match`
//! can never match a newer draft. Each write names the revision or version
//! it was based on; a mismatch is a `Conflict` naming who changed it and when,
//! and nothing is written. The Worker copies the newest version to KV, the
//! fast path `GET /v1/config` reads.
//!
//! A site that had a config before versions existed gets it as version 1
//! (`import`), from the KV text the Worker passes along (`StudioCall::live`).

use serde_json::{json, Map, Value};

use super::persons::Db;
use super::protocol::{
    Discarded, DraftRead, HeadVersion, InFlight, Item, LiveOverview, NewVersion, Page, RuleChange,
    SavedDraft, SetMessaging, StoreError, StoreResult, StudioAction, StudioAsk, StudioCall,
    VersionDetail, VersionPage,
};
use super::sql::{params, Row, SqlExt};

/// Open drafts a site may keep (each up to the admin body limit).
const MAX_OPEN_DRAFTS: i64 = 200;

/// Who changed something and when (UTC, to the minute), for conflict messages.
fn changed_by(row: &Row) -> (String, String) {
    let by = row.get("by").and_then(Value::as_str).unwrap_or("someone");
    let at = row.get("at").and_then(Value::as_i64).unwrap_or_default();
    let iso = nudge_core::time::to_iso8601(at);
    let when = format!(
        "{} {} UTC",
        iso.get(..10).unwrap_or(""),
        iso.get(11..16).unwrap_or("")
    );
    (by.to_owned(), when)
}

impl Db<'_> {
    pub fn studio(&self, call: StudioCall) -> StoreResult<Value> {
        self.seed_versions(call.live.as_deref())?;
        let by = call.by.as_str();
        match call.action {
            StudioAction::Overview(a) => answer(&a, self.overview()),
            StudioAction::Head(a) => answer(
                &a,
                self.head_version().map(|version| HeadVersion { version }),
            ),
            StudioAction::Draft(a) => answer(&a, self.draft(&a.item)),
            StudioAction::SaveDraft(a) => {
                answer(&a, self.save_draft(&a.item, a.expected, &a.body, by))
            }
            StudioAction::DiscardDraft(a) => {
                answer(&a, self.discard_draft(&a.item, a.expected, by))
            }
            StudioAction::Publish(a) => answer(&a, self.publish(&a.item, a.expected, &a.note, by)),
            StudioAction::SetStatus(a) => {
                answer(&a, self.set_status(&a.campaign, &a.status, a.expected, by))
            }
            StudioAction::SetJourney(a) => {
                answer(&a, self.set_journey(&a.journey, a.enabled, a.expected, by))
            }
            StudioAction::SetMessaging(a) => answer(&a, self.set_messaging(&a, by)),
            StudioAction::Versions(a) => answer(&a, self.versions(&a.page)),
            StudioAction::Version(a) => answer(&a, self.version(a.version)),
            StudioAction::Rollback(a) => answer(&a, self.rollback(a.version, a.expected, by)),
            StudioAction::PutConfig(a) => answer(&a, {
                self.check_head(a.expected)
                    .and_then(|()| self.add_version(&a.text, by, "api", None, ""))
            }),
        }
    }

    fn discard_draft(&self, item: &Item, expected: i64, by: &str) -> StoreResult<Discarded> {
        self.check_draft(item, Some(expected))?;
        self.sql.execute(
            "UPDATE drafts SET body = NULL, by = ?, at = ? WHERE campaign = ?",
            params![by, self.now, item.key()],
        )?;
        Ok(Discarded { discarded: true })
    }

    fn set_messaging(&self, change: &SetMessaging, by: &str) -> StoreResult<NewVersion> {
        self.check_head(Some(change.expected))?;
        let mut config = self.head_config()?;
        for (key, value) in [
            ("messaging_caps", &change.caps),
            ("quiet_hours", &change.quiet_hours),
        ] {
            match value {
                RuleChange::Keep => None,
                RuleChange::Remove => config.remove(key),
                RuleChange::Set(value) => config.insert(key.into(), value.clone()),
            };
        }
        let text = Value::Object(config).to_string();
        check_publishable(&text, "the messaging rules")?;
        self.add_version(
            &text,
            by,
            "settings",
            None,
            "messaging caps and quiet hours",
        )
    }

    fn rollback(&self, version: i64, expected: i64, by: &str) -> StoreResult<NewVersion> {
        self.check_head(Some(expected))?;
        let old = self.version_row(version)?;
        let config = old["config"].as_str().unwrap_or_default().to_owned();
        // Today's rules hold for what goes live again.
        check_publishable(&config, &format!("version {version}"))?;
        self.add_version(
            &config,
            by,
            "rollback",
            None,
            &format!("rolled back to version {version}"),
        )
    }

    fn seed_versions(&self, live: Option<&str>) -> StoreResult<()> {
        if let Some(text) = live {
            if !self.sql.exists("SELECT 1 FROM config_versions", &[])? {
                self.sql.execute(
                    "INSERT INTO config_versions (version, at, by, action, campaign, note, config)
                     VALUES (1, ?, 'the config before versions', 'import', NULL, '', ?)",
                    params![self.now, text],
                )?;
            }
        }
        Ok(())
    }

    fn head(&self) -> StoreResult<Option<Row>> {
        Ok(self
            .sql
            .query(
                "SELECT version, at, by, config FROM config_versions ORDER BY version DESC LIMIT 1",
                &[],
            )?
            .into_iter()
            .next())
    }

    fn head_version(&self) -> StoreResult<i64> {
        Ok(self
            .head()?
            .and_then(|row| row.get("version").and_then(Value::as_i64))
            .unwrap_or(0))
    }

    /// Refuses a write based on another live version than the newest.
    fn check_head(&self, expected: Option<i64>) -> StoreResult<()> {
        let Some(expected) = expected else {
            return Ok(());
        };
        let Some(head) = self.head()? else {
            return if expected == 0 {
                Ok(())
            } else {
                Err(StoreError::Conflict {
                    message: format!("there is no version {expected}: nothing is published yet"),
                    current: json!({"version": 0}),
                })
            };
        };
        let version = head["version"].as_i64().unwrap_or_default();
        if version == expected {
            return Ok(());
        }
        let (by, when) = changed_by(&head);
        Err(StoreError::Conflict {
            message: format!(
                "The live config changed since you loaded it: {by} made version {version} on {when}. \
                 Reload to see it, then try again."
            ),
            current: json!({"version": version, "by": head["by"], "at": head["at"]}),
        })
    }

    fn overview(&self) -> StoreResult<LiveOverview> {
        let head = self.head()?;
        let drafts = self.sql.query(
            "SELECT campaign, revision, by, at FROM drafts WHERE body IS NOT NULL ORDER BY campaign",
            &[],
        )?;
        // Who last touched each campaign in the live config.
        let touched = self.sql.query(
            "SELECT campaign, max(version) AS version, by, at FROM config_versions
             WHERE campaign IS NOT NULL GROUP BY campaign",
            &[],
        )?;
        Ok(LiveOverview {
            version: head
                .as_ref()
                .and_then(|h| h["version"].as_i64())
                .unwrap_or(0),
            config: head.and_then(|h| h["config"].as_str().map(str::to_owned)),
            drafts: typed_rows(drafts)?,
            published: typed_rows(touched)?,
        })
    }

    fn draft_row(&self, item: &Item) -> StoreResult<Option<Row>> {
        Ok(self
            .sql
            .query(
                "SELECT campaign, revision, body, by, at FROM drafts WHERE campaign = ?",
                params![item.key()],
            )?
            .into_iter()
            .next())
    }

    /// The draft for the studio: with what publishing it does to runs in
    /// progress and the live config's text.
    fn draft(&self, item: &Item) -> StoreResult<DraftRead> {
        let (row, body) = self.open_draft(item)?;
        Ok(DraftRead {
            in_flight: self.in_flight(item, &body)?,
            body,
            revision: row["revision"].as_i64().unwrap_or_default(),
            by: row["by"].as_str().unwrap_or_default().to_owned(),
            at: row["at"].as_i64().unwrap_or_default(),
            config: self.live_text()?,
        })
    }

    /// The item's open draft: its row and its body; `NotFound` without one.
    fn open_draft(&self, item: &Item) -> StoreResult<(Row, Value)> {
        match self.draft_row(item)? {
            Some(row) if row["body"].is_string() => {
                let body: Value = serde_json::from_str(row["body"].as_str().unwrap_or("null"))
                    .map_err(super::sql::internal)?;
                Ok((row, body))
            }
            _ => Err(StoreError::NotFound(format!(
                "{} {} has no draft",
                item.noun(),
                item.id()
            ))),
        }
    }

    /// The live draft's revision, refusing when it is not `expected` (`None`:
    /// the caller creates a draft and expects there is none).
    fn check_draft(&self, item: &Item, expected: Option<i64>) -> StoreResult<i64> {
        let row = self.draft_row(item)?;
        let name = format!("{} {}", item.noun(), item.id());
        let revision = row
            .as_ref()
            .and_then(|r| r["revision"].as_i64())
            .unwrap_or(0);
        let live = row.as_ref().is_some_and(|r| r["body"].is_string());
        let matches = match expected {
            None => !live,
            Some(expected) => live && expected == revision,
        };
        if matches {
            return Ok(revision);
        }
        let (who, when) = row.as_ref().map(changed_by).unwrap_or_default();
        let message = match (expected, live) {
            (None, true) => format!(
                "A draft of {name} already exists (revision {revision}, saved by {who} on {when}). \
                 Open it instead of starting a new one."
            ),
            (Some(_), false) if revision > 0 => format!(
                "{who} published or discarded the draft of {name} on {when}, after you opened it."
            ),
            (Some(expected), true) => format!(
                "{who} saved this draft (revision {revision}) on {when}, after you opened revision {expected}. \
                 Reload to see their changes; your edits stay in this tab until you do."
            ),
            _ => format!("{name} has no draft"),
        };
        Err(StoreError::Conflict {
            message,
            current: json!({
                "revision": if live { Value::from(revision) } else { Value::Null },
                "updated_by": row.as_ref().map(|r| r["by"].clone()),
                "updated_at": row.as_ref().map(|r| r["at"].clone()),
            }),
        })
    }

    fn save_draft(
        &self,
        item: &Item,
        expected: Option<i64>,
        body: &Value,
        by: &str,
    ) -> StoreResult<SavedDraft> {
        let revision = self.check_draft(item, expected)? + 1;
        if expected.is_none() {
            let open = self
                .sql
                .int("SELECT count(*) FROM drafts WHERE body IS NOT NULL", &[])?
                .unwrap_or_default();
            if open >= MAX_OPEN_DRAFTS {
                return Err(StoreError::Limit(format!(
                    "this site has {open} open drafts, the most it keeps: publish or discard some first"
                )));
            }
        }
        self.sql.execute(
            "INSERT INTO drafts (campaign, revision, body, base_version, by, at) VALUES (?, ?, ?, ?, ?, ?)
             ON CONFLICT (campaign) DO UPDATE SET revision = excluded.revision, body = excluded.body,
               base_version = excluded.base_version, by = excluded.by, at = excluded.at",
            params![
                item.key(),
                revision,
                body.to_string(),
                self.head_version()?,
                by,
                self.now
            ],
        )?;
        Ok(SavedDraft {
            revision,
            in_flight: self.in_flight(item, body)?,
            config: self.live_text()?,
        })
    }

    /// The live config's text (none for a site with none), which the studio
    /// checks a draft against: sent with the draft, one store call, not two.
    fn live_text(&self) -> StoreResult<Option<String>> {
        Ok(self
            .head()?
            .and_then(|h| h["config"].as_str().map(str::to_owned)))
    }

    /// The live config as JSON (an empty config for a site with none).
    fn head_config(&self) -> StoreResult<Map<String, Value>> {
        let text = self
            .head()?
            .and_then(|h| h["config"].as_str().map(str::to_owned));
        let value: Value = match text {
            Some(text) => serde_json::from_str(&text).map_err(super::sql::internal)?,
            None => json!({"version": 1, "campaigns": []}),
        };
        match value {
            Value::Object(map) => Ok(map),
            _ => Err(StoreError::Internal(
                "the live config is not an object".into(),
            )),
        }
    }

    fn publish(&self, item: &Item, expected: i64, note: &str, by: &str) -> StoreResult<NewVersion> {
        self.check_draft(item, Some(expected))?;
        let (_, mut draft) = self.open_draft(item)?;
        let mut config = self.head_config()?;
        // Pause and resume (a journey's on and off) are their own action: a
        // draft made before a pause must not quietly resume the campaign when
        // it is published.
        let switch = match item {
            Item::Campaign(_) => "status",
            Item::Journey(_) => "enabled",
        };
        let live_switch = list_mut(&mut config, item.list())?
            .iter()
            .find(|c| c["id"] == item.id())
            .map(|c| c[switch].clone());
        if let (Some(live), Some(body)) = (live_switch, draft.as_object_mut()) {
            match live {
                Value::Null => body.remove(switch),
                live => body.insert(switch.into(), live),
            };
        }
        put_item(&mut config, item.list(), draft)?;
        let text = Value::Object(config).to_string();
        let name = format!("{} {}", item.noun(), item.id());
        check_publishable(&text, &name)?;
        let key = item.key();
        let answer = self.add_version(&text, by, "publish", Some(&key), note)?;
        self.sql.execute(
            "UPDATE drafts SET body = NULL, by = ?, at = ? WHERE campaign = ?",
            params![by, self.now, key],
        )?;
        Ok(answer)
    }

    /// Journey `id`'s draft, read as core reads journeys, for a dry run
    /// before it is published: `NotFound` without a draft, `InvalidConfig`
    /// (problems at paths relative to the journey) when it does not read.
    pub fn draft_journey(&self, id: &str) -> StoreResult<nudge_core::journey::Journey> {
        journey_of_draft(id, self.draft_body(id)?)
    }

    /// Journey `id`'s draft as the studio saved it (`NotFound` without one).
    pub fn draft_body(&self, id: &str) -> StoreResult<Value> {
        Ok(self.open_draft(&Item::Journey(id.to_owned()))?.1)
    }
    /// What publishing `body` as journey `item` does to the runs in
    /// progress (`null` for a campaign): those whose shape is the draft's
    /// keep going; the others end as `edited` at their next step. A draft
    /// that does not read as a journey yet keeps none.
    fn in_flight(&self, item: &Item, body: &Value) -> StoreResult<Option<InFlight>> {
        let Item::Journey(id) = item else {
            return Ok(None);
        };
        let draft: Option<nudge_core::Value> =
            serde_json::from_value(Value::Array(vec![body.clone()])).ok();
        let shape = draft
            .and_then(|list| {
                nudge_core::journey::Journeys::from_value(&list, "journeys")
                    .0
                    .pop()
            })
            .map(|journey| journey.shape as i64);
        let active = self
            .sql
            .int(
                "SELECT count(*) FROM journey_runs WHERE journey = ? AND exit IS NULL",
                params![id.as_str()],
            )?
            .unwrap_or_default();
        let kept = match shape {
            Some(shape) => self
                .sql
                .int(
                    "SELECT count(*) FROM journey_runs WHERE journey = ? AND exit IS NULL AND shape = ?",
                    params![id.as_str(), shape],
                )?
                .unwrap_or_default(),
            None => 0,
        };
        Ok(Some(InFlight {
            active,
            kept,
            ended: active - kept,
        }))
    }

    fn set_status(
        &self,
        campaign: &str,
        status: &str,
        expected: i64,
        by: &str,
    ) -> StoreResult<NewVersion> {
        self.check_head(Some(expected))?;
        let mut config = self.head_config()?;
        let Some(found) = list_mut(&mut config, "campaigns")?
            .iter_mut()
            .find(|c| c["id"] == campaign)
        else {
            return Err(StoreError::NotFound(format!(
                "campaign {campaign} is not published"
            )));
        };
        found["status"] = Value::from(status);
        let text = Value::Object(config).to_string();
        check_publishable(&text, &format!("campaign {campaign}"))?;
        let note = if status == "paused" {
            "paused"
        } else {
            "resumed"
        };
        self.add_version(&text, by, "status", Some(campaign), note)
    }

    fn set_journey(
        &self,
        journey: &str,
        enabled: bool,
        expected: i64,
        by: &str,
    ) -> StoreResult<NewVersion> {
        self.check_head(Some(expected))?;
        let mut config = self.head_config()?;
        let found = config
            .get_mut("journeys")
            .and_then(Value::as_array_mut)
            .and_then(|list| list.iter_mut().find(|j| j["id"] == journey));
        let Some(found) = found else {
            return Err(StoreError::NotFound(format!(
                "journey {journey} is not in the live config"
            )));
        };
        found["enabled"] = Value::from(enabled);
        let text = Value::Object(config).to_string();
        check_publishable(&text, &format!("journey {journey}"))?;
        let note = format!(
            "journey {journey} {}",
            if enabled { "enabled" } else { "disabled" }
        );
        let key = Item::Journey(journey.to_owned()).key();
        self.add_version(&text, by, "journey", Some(&key), &note)
    }

    fn add_version(
        &self,
        config: &str,
        by: &str,
        action: &str,
        campaign: Option<&str>,
        note: &str,
    ) -> StoreResult<NewVersion> {
        let version = self.head_version()? + 1;
        self.sql.execute(
            "INSERT INTO config_versions (version, at, by, action, campaign, note, config)
             VALUES (?, ?, ?, ?, ?, ?, ?)",
            params![version, self.now, by, action, campaign, note, config],
        )?;
        Ok(NewVersion {
            version,
            at: self.now,
            by: by.to_owned(),
            config: config.to_owned(),
        })
    }

    fn versions(&self, page: &Page) -> StoreResult<VersionPage> {
        let rows = self.sql.query(
            "SELECT version, at, by, action, campaign, note FROM config_versions
             WHERE version < ? ORDER BY version DESC LIMIT ?",
            params![page.before(), page.limit()],
        )?;
        let next = (rows.len() as i64 == page.limit())
            .then(|| rows.last().and_then(|r| r["version"].as_i64()))
            .flatten();
        Ok(VersionPage {
            versions: typed_rows(rows)?,
            next_before: next,
        })
    }

    fn version_row(&self, version: i64) -> StoreResult<Row> {
        self.sql
            .query(
                "SELECT version, at, by, action, campaign, note, config FROM config_versions WHERE version = ?",
                params![version],
            )?
            .into_iter()
            .next()
            .ok_or_else(|| StoreError::NotFound(format!("there is no version {version}")))
    }

    /// One version and the one before it (for the diff).
    fn version(&self, version: i64) -> StoreResult<VersionDetail> {
        let mut row = self.version_row(version)?;
        let previous = self.sql.text(
            "SELECT config FROM config_versions WHERE version < ? ORDER BY version DESC LIMIT 1",
            params![version],
        )?;
        row.insert("previous".into(), previous.into());
        typed_rows(vec![row])?
            .pop()
            .ok_or_else(|| StoreError::Internal("no version row".into()))
    }
}

/// SQL rows read as the protocol's types (their columns are its fields).
fn typed_rows<T: serde::de::DeserializeOwned>(rows: Vec<Row>) -> StoreResult<Vec<T>> {
    rows.into_iter()
        .map(|row| serde_json::from_value(Value::Object(row)).map_err(super::sql::internal))
        .collect()
}

/// The answer to `ask` as JSON, of `ask`'s own answer type (`StudioAsk`).
fn answer<A: StudioAsk>(_ask: &A, answer: StoreResult<A::Answer>) -> StoreResult<Value> {
    serde_json::to_value(answer?).map_err(super::sql::internal)
}

/// The config's list `name` (`campaigns`, `journeys`), made if missing or
/// not a list.
fn list_mut<'a>(config: &'a mut Map<String, Value>, name: &str) -> StoreResult<&'a mut Vec<Value>> {
    let slot = config
        .entry(name)
        .or_insert_with(|| Value::Array(Vec::new()));
    if !slot.is_array() {
        *slot = Value::Array(Vec::new());
    }
    slot.as_array_mut()
        .ok_or_else(|| StoreError::Internal(format!("{name} is not a list")))
}

/// Replaces the item of list `name` with the same id, or appends it.
fn put_item(config: &mut Map<String, Value>, name: &str, item: Value) -> StoreResult<()> {
    let list = list_mut(config, name)?;
    match list.iter_mut().find(|c| c["id"] == item["id"]) {
        Some(slot) => *slot = item,
        None => list.push(item),
    }
    Ok(())
}

/// Core's validation of the whole config that would go live: any problem
/// refuses the write (problem paths relative to the config). `what` names
/// what was being published ("campaign cart-rescue").
fn check_publishable(text: &str, what: &str) -> StoreResult<()> {
    let problems = crate::config_policy::problems(text);
    if problems.is_empty() {
        return Ok(());
    }
    Err(StoreError::InvalidConfig {
        message: format!("{} problems; {what} was not published", problems.len()),
        problems: problems
            .into_iter()
            .map(|p| json!({"path": p.path, "message": p.message}))
            .collect(),
    })
}

/// A journey's draft (as the studio saved it) read as core reads journeys:
/// `InvalidConfig`, with problems at paths relative to the journey, when it
/// does not read.
pub fn journey_of_draft(id: &str, body: Value) -> StoreResult<nudge_core::journey::Journey> {
    let list: nudge_core::Value = serde_json::from_value(Value::Array(vec![body]))
        .map_err(|e| StoreError::Internal(format!("the draft does not read: {e}")))?;
    let (mut journeys, problems) = nudge_core::journey::Journeys::from_value(&list, "");
    match journeys.pop() {
        Some(journey) if problems.is_empty() => Ok(journey),
        _ => Err(StoreError::InvalidConfig {
            message: format!(
                "the draft of journey {id} has problems to fix before it can be played"
            ),
            problems: problems
                .into_iter()
                .map(|p| {
                    let path = p.path.strip_prefix("[0]").unwrap_or(&p.path);
                    json!({"path": path.trim_start_matches('.'), "message": p.message})
                })
                .collect(),
        }),
    }
}
