//! One object's part in a site spread over several (`store::shards`): the
//! identity directory's entries that hash here, and a person moving to
//! another object in a merge (`store::saga` drives the steps). Every step
//! is idempotent by its merge id, so a step retried after a crash changes
//! nothing twice.
//!
//! While a person moves it is frozen: events for its browsers are taken
//! (acknowledged) and held apart, to be stored at the winner's object; once
//! it has left, its browsers and its id lead there (`moved_browsers`,
//! `moved_persons`).

use serde_json::Value;

use super::persons::Db;
use super::protocol::*;
use super::sql::{params, Param, Row, SqlExt};

/// The tables that hold a person, and the column naming it. Everything
/// here leaves with the person; report rollups stay (they are sums, and
/// the merge's corrections are added where the person arrives).
const PERSON_TABLES: &[(&str, &str)] = &[
    ("persons", "id"),
    ("identifiers", "person_id"),
    ("coupons", "person_id"),
    ("campaigns", "person_id"),
    ("contacts", "person_id"),
    ("report_persons", "person"),
    ("report_orders", "person"),
    ("journey_runs", "person"),
    ("journey_sends", "person"),
    ("person_state", "person"),
    ("person_tags", "person"),
    ("journey_stages", "person"),
    ("person_dates", "person"),
    ("category_views", "person"),
];

/// The tables that hold a person's browsers, by anonymous id
/// (`foreign_events`: the ids of a browser's events stored away from its
/// home, which only the object that stored them knows: `store::events`.)
const BROWSER_TABLES: &[&str] = &["browser_keys", "claims", "foreign_events"];

impl Db<'_> {
    /// Whether any person here moved away or is moving: where none did
    /// (always, with one object), nothing else is asked per browser.
    pub fn any_moves(&self) -> StoreResult<bool> {
        self.sql.exists(
            "SELECT 1 WHERE EXISTS (SELECT 1 FROM moved_browsers) OR EXISTS (SELECT 1 FROM frozen_persons)",
            &[],
        )
    }

    /// The object a browser's person moved to, if it did.
    pub fn moved_browser(&self, anonymous_id: &str) -> StoreResult<Option<u16>> {
        let object = self.sql.int(
            "SELECT object FROM moved_browsers WHERE anonymous_id = ?",
            params![anonymous_id],
        )?;
        Ok(object.map(|o| o as u16))
    }

    /// Refuses a command that would write to `person` while it is moving
    /// to another object (frozen after its export: what is written here now
    /// would not go with it, and the move's forget would delete it).
    pub fn refuse_moving(&self, person: &str) -> StoreResult<()> {
        if self.frozen(person)?.is_some() {
            return Err(StoreError::Overloaded(
                "this person is moving between objects; try again in a moment".into(),
            ));
        }
        Ok(())
    }

    /// Refuses a browser's command where its person is not (any more): it
    /// moved (`Moved`, asked there instead), or it is moving now (try again).
    pub fn browser_is_here(&self, anonymous_id: &str) -> StoreResult<()> {
        if !self.any_moves()? {
            return Ok(());
        }
        if let Some(object) = self.moved_browser(anonymous_id)? {
            return Err(StoreError::Moved { object });
        }
        match self.person_of("anon", anonymous_id)? {
            Some(person) => self.refuse_moving(&person),
            None => Ok(()),
        }
    }

    /// The merge moving `person` now, if one is.
    pub fn frozen(&self, person: &str) -> StoreResult<Option<String>> {
        self.sql.text(
            "SELECT merge FROM frozen_persons WHERE person = ?",
            params![person],
        )
    }

    /// Holds a new event of a frozen person for `merge`: acknowledged, kept
    /// apart, stored where the person goes with the proof it came with
    /// (`proof`: none, or whether the browser's key proved it). False for a
    /// repeat.
    pub fn hold(
        &self,
        merge: &str,
        id: &str,
        received_at: i64,
        event: &Value,
        proof: Option<bool>,
    ) -> StoreResult<bool> {
        let held = self.sql.execute(
            "INSERT OR IGNORE INTO held_events (id, merge, received_at, body, proof) VALUES (?, ?, ?, ?, ?)",
            params![id, merge, received_at, event.to_string(), proof.map(i64::from)],
        )?;
        Ok(held > 0)
    }

    /// Logs the step a merge across objects reached (never going back) and
    /// answers the step logged.
    pub fn saga_step(&self, step: &SagaStep) -> StoreResult<SagaStep> {
        self.sql.execute(
            "INSERT INTO sagas (merge, from_person, into_person, proof, step, at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
             ON CONFLICT (merge) DO UPDATE SET step = CASE WHEN step >= 7 AND ?5 = 1 THEN 1 ELSE max(step, ?5) END, at = ?6",
            params![
                step.merge.as_str(),
                step.from.as_str(),
                step.into.as_str(),
                step.proof.as_str(),
                i64::from(step.step),
                self.now
            ],
        )?;
        let logged = self
            .sql
            .int(
                "SELECT step FROM sagas WHERE merge = ?",
                params![step.merge.as_str()],
            )?
            .unwrap_or(0);
        Ok(SagaStep {
            step: logged as u8,
            ..step.clone()
        })
    }

    /// The merges logged here that are not done.
    pub fn open_sagas(&self, done: u8) -> StoreResult<Vec<SagaStep>> {
        let rows = self.sql.query(
            "SELECT merge, from_person, into_person, proof, step FROM sagas WHERE step < ? ORDER BY at",
            params![i64::from(done)],
        )?;
        Ok(rows
            .iter()
            .map(|r| SagaStep {
                merge: text(r, "merge"),
                from: text(r, "from_person"),
                into: text(r, "into_person"),
                proof: text(r, "proof"),
                step: r.get("step").and_then(Value::as_i64).unwrap_or(0) as u8,
                object: 0,
            })
            .collect())
    }

    /// Freezes `person` for `merge` and gives back everything it has. A
    /// person that already left in this merge gives nothing (the step is
    /// done); one frozen by another merge is busy.
    pub fn export_person(&self, ask: &ExportPerson) -> StoreResult<PersonExport> {
        let person = ask.person.as_str();
        if let Some(merge) = self.sql.text(
            "SELECT merge FROM moved_persons WHERE person = ?",
            params![person],
        )? {
            return if merge == ask.merge {
                Ok(PersonExport {
                    person: person.into(),
                    tables: Vec::new(),
                })
            } else {
                Err(StoreError::Invalid(format!(
                    "{person} moved in another merge"
                )))
            };
        }
        match self.frozen(person)? {
            Some(merge) if merge != ask.merge => {
                return Err(StoreError::Overloaded(format!(
                    "{person} is moving in another merge"
                )))
            }
            Some(_) => {}
            None => {
                self.sql.execute(
                    "INSERT INTO frozen_persons (person, merge, into_person, at) VALUES (?, ?, ?, ?)",
                    params![person, ask.merge.as_str(), ask.into.as_str(), self.now],
                )?;
            }
        }
        let mut tables = Vec::new();
        for (table, column) in PERSON_TABLES {
            let rows = self.sql.query(
                &format!("SELECT * FROM {table} WHERE {column} = ?"),
                params![person],
            )?;
            tables.push(((*table).to_owned(), rows));
        }
        let mut export = PersonExport {
            person: person.into(),
            tables,
        };
        let browsers = export.browsers();
        for table in BROWSER_TABLES {
            let mut rows = Vec::new();
            for browser in &browsers {
                rows.extend(self.sql.query(
                    &format!("SELECT * FROM {table} WHERE anonymous_id = ?"),
                    params![browser.as_str()],
                )?);
            }
            export.tables.push(((*table).to_owned(), rows));
        }
        Ok(export)
    }

    /// The merge whose import this object took is finished.
    pub fn merge_done(&self, ask: &MergeDone) -> StoreResult<()> {
        self.sql.execute(
            "UPDATE imported_merges SET done_at = ? WHERE merge = ? AND done_at IS NULL",
            params![self.now, ask.merge.as_str()],
        )?;
        Ok(())
    }

    /// Whether a merge across objects this object imported is still being
    /// finished (its loser not yet forgotten where it was).
    pub fn merge_finishing(&self, merge: &str) -> StoreResult<bool> {
        self.sql.exists(
            "SELECT 1 FROM imported_merges WHERE merge = ? AND done_at IS NULL",
            params![merge],
        )
    }

    /// Takes an exported person in and merges it into `into`: once per merge.
    pub fn import_person(&self, ask: &ImportPerson) -> StoreResult<Identified> {
        let done = self.sql.exists(
            "SELECT 1 FROM imported_merges WHERE merge = ?",
            params![ask.merge.as_str()],
        )?;
        if done || ask.export.tables.is_empty() {
            return Ok(Identified {
                person: ask.into.clone(),
                merged: true,
            });
        }
        // Never into a person that is leaving: what it took in after its
        // own export would be lost when it goes. The saga stays open and
        // its coordinator's alarm tries again; the answer says which merge
        // moves the person and where (a merge the other way is a cycle).
        let leaving = self.sql.query(
            "SELECT merge, into_person FROM frozen_persons WHERE person = ?",
            params![ask.into.as_str()],
        )?;
        if let Some(row) = leaving.first() {
            return Err(StoreError::Conflict {
                message: format!("{} is moving to another object; the merge waits", ask.into),
                current: serde_json::json!({"merge": row["merge"], "into": row["into_person"]}),
            });
        }
        if self.sql.exists(
            "SELECT 1 FROM moved_persons WHERE person = ?",
            params![ask.into.as_str()],
        )? {
            return Err(StoreError::Overloaded(format!(
                "{} moved to another object; the merge follows it",
                ask.into
            )));
        }
        for (table, rows) in &ask.export.tables {
            let known = PERSON_TABLES.iter().any(|(t, _)| t == table)
                || BROWSER_TABLES.contains(&table.as_str());
            if !known {
                return Err(StoreError::Invalid(format!(
                    "an export names table {table}"
                )));
            }
            for row in rows {
                insert_row(self, table, row)?;
            }
        }
        // Browsers whose person once left this object and now comes back
        // with it are at home here again: no redirect may lead away.
        for browser in ask.export.browsers() {
            self.sql.execute(
                "DELETE FROM moved_browsers WHERE anonymous_id = ?",
                params![browser.as_str()],
            )?;
        }
        self.merge(&ask.export.person, &ask.into, &ask.proof)?;
        self.sql.execute(
            "INSERT INTO imported_merges (merge, into_person, at) VALUES (?, ?, ?)",
            params![ask.merge.as_str(), ask.into.as_str(), self.now],
        )?;
        Ok(Identified {
            person: ask.into.clone(),
            merged: true,
        })
    }

    /// The person has arrived at `into_object`: it leaves here, and its
    /// browsers and id lead there. Its held events stay until taken.
    /// Answers the browsers that lead there now (asked again, the ones
    /// this merge redirected that still do).
    pub fn forget_person(&self, ask: &ForgetPerson) -> StoreResult<Vec<String>> {
        let person = ask.person.as_str();
        let column = |rows: Vec<Row>, name: &str| -> Vec<String> {
            rows.iter()
                .filter_map(|r| r[name].as_str().map(str::to_owned))
                .collect()
        };
        if self.sql.exists(
            "SELECT 1 FROM moved_persons WHERE person = ?",
            params![person],
        )? {
            let redirected = self.sql.query(
                "SELECT anonymous_id FROM moved_browsers WHERE merge = ?",
                params![ask.merge.as_str()],
            )?;
            return Ok(column(redirected, "anonymous_id"));
        }
        let browsers = column(
            self.sql.query(
                "SELECT value FROM identifiers WHERE person_id = ? AND kind = 'anon'",
                params![person],
            )?,
            "value",
        );
        for browser in &browsers {
            let browser = browser.as_str();
            self.record_redirect(browser, ask.into_object, &ask.merge)?;
            for table in BROWSER_TABLES {
                self.sql.execute(
                    &format!("DELETE FROM {table} WHERE anonymous_id = ?"),
                    params![browser],
                )?;
            }
        }
        for (table, column) in PERSON_TABLES {
            self.sql.execute(
                &format!("DELETE FROM {table} WHERE {column} = ?"),
                params![person],
            )?;
        }
        self.sql.execute(
            "INSERT INTO moved_persons (person, into_person, object, merge, at) VALUES (?, ?, ?, ?, ?)",
            params![
                person,
                ask.into.as_str(),
                i64::from(ask.into_object),
                ask.merge.as_str(),
                self.now
            ],
        )?;
        self.sql.execute(
            "DELETE FROM frozen_persons WHERE person = ?",
            params![person],
        )?;
        Ok(browsers)
    }

    /// At a browser's own object: its person lives in `object` now. Not
    /// where the browser's person is here after all (it came back since).
    pub fn redirect_browser(&self, ask: &RedirectBrowser) -> StoreResult<()> {
        if self.person_of("anon", &ask.anonymous_id)?.is_some() {
            return Ok(());
        }
        self.record_redirect(&ask.anonymous_id, ask.object, &ask.merge)
    }

    /// A browser's events go to `object` from here on (`merge` moved its
    /// person there).
    fn record_redirect(&self, anonymous_id: &str, object: u16, merge: &str) -> StoreResult<()> {
        self.sql.execute(
            "INSERT OR REPLACE INTO moved_browsers (anonymous_id, object, merge, at) VALUES (?, ?, ?, ?)",
            params![anonymous_id, i64::from(object), merge, self.now],
        )?;
        Ok(())
    }

    /// Unfreezes a person a merge froze (only that merge's freeze) and
    /// gives back the events held meanwhile, to store here after all.
    pub fn unfreeze(&self, ask: &Unfreeze) -> StoreResult<HeldEvents> {
        self.sql.execute(
            "DELETE FROM frozen_persons WHERE person = ? AND merge = ?",
            params![ask.person.as_str(), ask.merge.as_str()],
        )?;
        self.take_held(&TakeHeld {
            merge: ask.merge.clone(),
            person: ask.person.clone(),
        })
    }

    pub fn take_held(&self, ask: &TakeHeld) -> StoreResult<HeldEvents> {
        let rows = self.sql.query(
            "SELECT id, body, proof FROM held_events WHERE merge = ? ORDER BY received_at, id",
            params![ask.merge.as_str()],
        )?;
        let mut held = HeldEvents::default();
        for row in &rows {
            let Some(event) = row["body"]
                .as_str()
                .and_then(|body| serde_json::from_str::<Value>(body).ok())
            else {
                continue;
            };
            if let (Some(id), Some(proof)) = (row["id"].as_str(), row["proof"].as_i64()) {
                held.proofs.push((id.to_owned(), proof == 1));
            }
            held.events.push(event);
        }
        Ok(held)
    }

    pub fn drop_held(&self, ask: &DropHeld) -> StoreResult<()> {
        self.sql.execute(
            "DELETE FROM held_events WHERE merge = ?",
            params![ask.merge.as_str()],
        )?;
        Ok(())
    }
}

/// A text column of a row (empty when absent).
pub(super) fn text(row: &Row, column: &str) -> String {
    row.get(column)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

/// Inserts an exported row as it was (its columns are this schema's: every
/// object runs the same migrations). A row that collides is an error, never
/// dropped: the import (one transaction) changes nothing and the saga waits.
fn insert_row(db: &Db<'_>, table: &str, row: &Row) -> StoreResult<()> {
    let columns: Vec<&str> = row.keys().map(String::as_str).collect();
    if columns.is_empty()
        || !columns.iter().all(|c| {
            *c != "rowid"
                && !c.is_empty()
                && c.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        })
    {
        return Err(StoreError::Invalid(format!(
            "an exported {table} row has odd columns"
        )));
    }
    let marks = vec!["?"; columns.len()].join(", ");
    // An event id is the client's: two browsers' events stored away under
    // one id meet when their persons merge. The id is a repeat either way.
    let or_ignore = if table == "foreign_events" {
        " OR IGNORE"
    } else {
        ""
    };
    let statement = format!(
        "INSERT{or_ignore} INTO {table} ({}) VALUES ({marks})",
        columns.join(", ")
    );
    let values: Vec<Param> = row.values().map(param_of).collect();
    db.sql.execute(&statement, &values)?;
    Ok(())
}

fn param_of(value: &Value) -> Param {
    match value {
        Value::Null => Param::Null,
        Value::Number(n) => match n.as_i64() {
            Some(i) => Param::Int(i),
            None => Param::Real(n.as_f64().unwrap_or(0.0)),
        },
        Value::String(s) => Param::Text(s.clone()),
        Value::Bool(b) => Param::Int(i64::from(*b)),
        other => Param::Text(other.to_string()),
    }
}
