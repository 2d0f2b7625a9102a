//! The merge log, read a page at a time, and undoing one merge.

use serde_json::Value;

use super::identity::next_page;
use super::persons::Db;
use super::protocol::{Page, StoreError, StoreResult};
use super::sql::{params, SqlExt};
use crate::store::protocol::MergeLog;
use crate::store::protocol::Undone;

impl Db<'_> {
    /// The merges (optionally of one person), newest first, a page at a time.
    pub fn merges(&self, person: Option<&str>, page: &Page) -> StoreResult<MergeLog> {
        let person = person.unwrap_or_default();
        let rows = self.sql.query(
            "SELECT m.seq, m.at, m.from_person, m.into_person, m.proof, m.moved, u.at AS undone_at, u.reason AS undo_reason
             FROM merges m LEFT JOIN merge_undos u ON u.seq = m.seq
             WHERE (?1 = '' OR m.from_person = ?1 OR m.into_person = ?1) AND m.seq < ?2
             ORDER BY m.seq DESC LIMIT ?3",
            params![person, page.before(), page.limit()],
        )?;
        let next = next_page(&rows, "seq", page);
        let merges = rows
            .into_iter()
            .map(|mut r| {
                let moved = r["moved"]
                    .as_str()
                    .and_then(|m| serde_json::from_str(m).ok())
                    .unwrap_or(Value::Null);
                r.insert("moved".into(), moved);
                r
            })
            .collect();
        Ok(MergeLog {
            merges,
            next_before: next,
        })
    }

    fn undone(&self, seq: i64) -> StoreResult<bool> {
        self.sql
            .exists("SELECT 1 FROM merge_undos WHERE seq = ?", params![seq])
    }

    /// Gives back what merge `seq` moved: the browser ids and verified ids,
    /// orders and spend, user id, coupons and campaign history of the merged
    /// person. Facts recorded after the merge stay where they were recorded.
    /// A merge whose surviving person was merged again since is undone only
    /// after that later merge. The suppression list is keyed by address, so
    /// an undo never lifts an unsubscribe; one made while merged marked the
    /// merged-in person unsubscribed too (`hook`), which the undo leaves.
    ///
    /// Campaign reports are left as the merge made them: the merged person
    /// stays one exposed person (at the earlier exposure, with at most one
    /// conversion and both persons' orders), and the person split off has
    /// no report rows, so their next exposure counts them as newly exposed
    /// on that day. Undoing the report merge exactly would need what both
    /// persons did since, which the rollups do not keep; undos are rare and
    /// this keeps every count backed by one row, never counting a
    /// conversion twice.
    pub fn undo_merge(&self, seq: i64, reason: &str) -> StoreResult<Undone> {
        let rows = self.sql.query(
            "SELECT from_person, into_person, moved FROM merges WHERE seq = ?",
            params![seq],
        )?;
        let Some(merge) = rows.first() else {
            return Err(StoreError::NotFound(format!("no merge {seq}")));
        };
        if self.undone(seq)? {
            return Err(StoreError::AlreadyUndone(format!(
                "merge {seq} was undone already"
            )));
        }
        let from = merge["from_person"].as_str().unwrap_or_default();
        let into = merge["into_person"].as_str().unwrap_or_default();
        for later in self.sql.query(
            "SELECT seq FROM merges WHERE from_person = ? AND seq > ?",
            params![into, seq],
        )? {
            let later = later["seq"].as_i64().unwrap_or_default();
            if !self.undone(later)? {
                return Err(StoreError::MergedSince(format!(
                    "{into} was merged again (merge {later}); undo that first"
                )));
            }
        }
        // A merge across objects still finishing (its saga stopped after the
        // import, until its coordinator's alarm resumes it): undone now, the
        // resumed saga would meet a person split out of what it moved.
        // Its id across objects (`saga::merge_id`: the same for the same pair).
        let merge_id = super::saga::merge_id(from, into);
        if self.merge_finishing(&merge_id)? {
            return Err(StoreError::Overloaded(format!(
                "merge {seq} is still being finished between objects; try again in a minute"
            )));
        }
        // The person merged into left this object since, in a later merge
        // across objects: what this merge gave it went with it, so nothing
        // here can give it back (undone here, the person split out would
        // come back with no browser or name, and its browsers would stay
        // merged). The later merge is undone first, where it was logged.
        if !self.sql.exists(
            "SELECT 1 FROM persons WHERE id = ? AND merged_into IS NULL",
            params![into],
        )? {
            return Err(StoreError::MergedSince(format!(
                "{into} moved to another object in a later merge; undo that first"
            )));
        }
        let moved: Value = merge["moved"]
            .as_str()
            .and_then(|m| serde_json::from_str(m).ok())
            .unwrap_or(Value::Null);
        for id in moved["identifiers"].as_array().into_iter().flatten() {
            self.sql.execute(
                "UPDATE identifiers SET person_id = ? WHERE kind = ? AND value = ? AND person_id = ?",
                params![
                    from,
                    id["kind"].as_str().unwrap_or_default(),
                    id["value"].as_str().unwrap_or_default(),
                    into
                ],
            )?;
        }
        let facts = &moved["facts"];
        let orders = facts["orders"].as_i64().unwrap_or(0);
        let spent = facts["total_spent"].as_f64().unwrap_or(0.0);
        if moved["gave_user_id"] == true {
            // Cleared first: user_id is unique.
            self.sql.execute(
                "UPDATE persons SET user_id = NULL WHERE id = ?",
                params![into],
            )?;
        }
        self.sql.execute(
            "UPDATE persons SET orders = max(orders - ?, 0), total_spent = max(total_spent - ?, 0) WHERE id = ?",
            params![orders, spent, into],
        )?;
        self.sql.execute(
            "UPDATE persons SET merged_into = NULL, orders = ?, total_spent = ?, user_id = ? WHERE id = ?",
            params![orders, spent, facts["user_id"].as_str(), from],
        )?;
        if moved["contacts_copied"] == true {
            // The copy goes unless `into` changed it since (then it is theirs).
            self.sql.execute(
                "DELETE FROM contacts WHERE person_id = ?1 AND
                 email IS (SELECT email FROM contacts WHERE person_id = ?2) AND
                 phone IS (SELECT phone FROM contacts WHERE person_id = ?2)",
                params![into, from],
            )?;
        }
        for coupon in moved["coupons"].as_array().into_iter().flatten() {
            self.sql.execute(
                "UPDATE coupons SET person_id = ? WHERE person_id = ? AND code = ?",
                params![from, into, coupon["code"].as_str().unwrap_or_default()],
            )?;
        }
        for c in moved["campaigns"].as_array().into_iter().flatten() {
            self.sql.execute(
                "INSERT OR REPLACE INTO campaigns (person_id, campaign_id, impressions, total, dismissed_at, converted_at)
                 VALUES (?, ?, ?, ?, ?, ?)",
                params![
                    from,
                    c["campaign_id"].as_str().unwrap_or_default(),
                    c["impressions"].as_str().unwrap_or("[]"),
                    c["total"].as_i64().unwrap_or(0),
                    c["dismissed_at"].as_i64(),
                    c["converted_at"].as_i64()
                ],
            )?;
        }
        self.sql.execute(
            "INSERT INTO merge_undos (seq, at, reason) VALUES (?, ?, ?)",
            params![seq, self.now, reason],
        )?;
        // The person split out lives here: a record here of it living
        // elsewhere (it once moved out of here, or an undo left it in
        // another object before it came back) no longer holds.
        self.sql
            .execute("DELETE FROM moved_persons WHERE person = ?", params![from])?;
        // A merge across objects of the same two persons again is another
        // merge under the same id (`saga::merge_id`): its import is not done.
        self.sql.execute(
            "DELETE FROM imported_merges WHERE merge = ?",
            params![merge_id],
        )?;
        let mut given_back: Vec<(String, String)> = moved["identifiers"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|id| Some((id["kind"].as_str()?, id["value"].as_str()?)))
            .filter(|(kind, _)| matches!(*kind, "user" | "email" | "phone"))
            .map(|(kind, value)| (kind.to_owned(), value.to_owned()))
            .collect();
        if let (true, Some(user)) = (moved["gave_user_id"] == true, facts["user_id"].as_str()) {
            given_back.push(("user".into(), user.to_owned()));
        }
        given_back.sort();
        given_back.dedup();
        Ok(Undone {
            undone: seq,
            person: from.to_owned(),
            split_from: into.to_owned(),
            given_back,
        })
    }
}
