//! The event log leaves the store (issue #22): event bodies go to R2 as
//! compressed parts, one period (an hour by default) at a time; the store
//! keeps each event's id for de-duplication (`RETENTION_EVENT_IDS_DAYS`) and an index
//! of the parts, and the rollups, facts and journeys it always kept.
//!
//! The way out is an outbox, so nothing acknowledged is lost and nothing is
//! archived twice: events are inserted with their body as before (one
//! transaction with their facts); once their period is over (and settled,
//! so no later insert can fall into it), the object's alarm drafts the next
//! part ([`Db::next_part`]: the oldest events after the archive mark, at
//! most [`PART_EVENTS`] of one period, in `(received_at, id)` order), puts
//! it to R2 under a key named by its first event, then records it
//! ([`Db::archived`]): the part in `event_parts`, the bodies emptied, the
//! mark moved, in one transaction. A crash between the put and the record
//! drafts the same part again (the same first event, so the same key, with
//! the same or more events) and overwrites it; a record for a mark that has
//! moved on is a repeat and changes nothing.
//!
//! A part is gzip'd JSON lines, one `{"id", "received_at", "body"}` per
//! event (`body`: the event's wire JSON). The admin listing reads the
//! newest events from the store and older ones from the parts.

use std::io::{Read, Write};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::persons::Db;
use super::protocol::{EventCursor, EventPage, EventPart, StoreError, StoreResult, StoredEvent};
use super::sql::{params, Row, SqlExt};

/// The R2 bucket event bodies are archived to. Without it bound, events
/// stay in the store, pruned after `RETENTION_EVENTS_DAYS`.
pub const ARCHIVE_BUCKET: &str = "EVENTS";
/// At most this many events per part: a part is drafted, compressed and
/// put in one alarm step (about 2 MB of bodies at most, below).
pub const PART_EVENTS: i64 = 2_000;
/// At most this many bytes of bodies per part (events are up to 32 KB).
pub const PART_BYTES: usize = 2 << 20;
/// The largest part object read back (compressed, as stored; and its text
/// once decompressed): anything larger was not written by this code.
pub const MAX_PART_READ: u64 = 2 * PART_BYTES as u64 + 1;
/// How many parts one page of the admin listing may read.
pub const PARTS_PER_PAGE: i64 = 10;

/// When parts are cut: events are archived once their period is over and
/// `settle_ms` more have passed (a clock that steps back a little cannot
/// put a new event into a period already archived).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Schedule {
    pub period_ms: i64,
    pub settle_ms: i64,
}

impl Default for Schedule {
    fn default() -> Self {
        Schedule {
            period_ms: 3_600_000,
            settle_ms: 60_000,
        }
    }
}

impl Schedule {
    /// The defaults, with `EVENT_ARCHIVE_PERIOD_SECONDS` (1 or more) and
    /// `EVENT_ARCHIVE_SETTLE_SECONDS` (0 or more) where set.
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Schedule {
        let seconds = |name: &str| var(name).and_then(|v| v.parse::<i64>().ok());
        let default = Schedule::default();
        Schedule {
            period_ms: seconds("EVENT_ARCHIVE_PERIOD_SECONDS")
                .map_or(default.period_ms, |s| s.clamp(1, 24 * 3600) * 1000),
            settle_ms: seconds("EVENT_ARCHIVE_SETTLE_SECONDS")
                .map_or(default.settle_ms, |s| s.clamp(0, 3600) * 1000),
        }
    }

    fn period_end(&self, at: i64) -> i64 {
        at - at.rem_euclid(self.period_ms) + self.period_ms
    }

    /// When an event received `at` may be archived.
    pub fn due(&self, at: i64) -> i64 {
        self.period_end(at) + self.settle_ms
    }
}

/// Where the archive has reached: every event at or before it, in
/// `(received_at, id)` order, is in a part.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Mark {
    pub at: i64,
    pub id: String,
}

/// A part ready to be put: its key, its text, and the marks it spans.
#[derive(Debug, PartialEq)]
pub struct PartDraft {
    pub key: String,
    /// The archive mark it was drafted after (`None`: the first part).
    pub after: Option<Mark>,
    pub first: Mark,
    pub last: Mark,
    pub count: i64,
    /// The ids of its events: their bodies, and only theirs, are emptied
    /// once it is recorded.
    pub ids: Vec<String>,
    /// JSON lines, one event each.
    pub lines: String,
}

/// One line of a part.
#[derive(Serialize, Deserialize)]
struct Line<'a> {
    #[serde(borrow)]
    id: std::borrow::Cow<'a, str>,
    received_at: i64,
    #[serde(borrow)]
    body: &'a serde_json::value::RawValue,
}

impl Db<'_> {
    /// The archive mark (`None` before the first part).
    pub fn archive_mark(&self) -> StoreResult<Option<Mark>> {
        Ok(self.clock("archive")?.map(|(at, id)| Mark {
            at,
            id: id.unwrap_or_default(),
        }))
    }

    /// The latest receive time the archive has drafted or recorded: an
    /// event must be received after it, or it would fall behind the mark
    /// (a clock that stepped back), neither archived nor listed.
    pub fn archive_floor(&self) -> StoreResult<Option<i64>> {
        self.sql.int(
            "SELECT max(at) FROM store_clock WHERE name IN ('archive', 'archive_draft')",
            &[],
        )
    }

    /// When the oldest event not yet archived may be archived (`None`:
    /// every event is).
    pub fn archive_due(&self, schedule: &Schedule) -> StoreResult<Option<i64>> {
        let mark = self.archive_mark()?.unwrap_or_default();
        Ok(self.oldest_after(&mark)?.map(|at| schedule.due(at)))
    }

    /// When the oldest event after `mark` was received, if any.
    fn oldest_after(&self, mark: &Mark) -> StoreResult<Option<i64>> {
        self.sql.int(
            "SELECT received_at FROM events WHERE (received_at, id) > (?, ?)
               ORDER BY received_at, id LIMIT 1",
            params![mark.at, mark.id.as_str()],
        )
    }

    /// The next part of `site`'s archive, if an event's period is over.
    pub fn next_part(&self, site: &str, schedule: &Schedule) -> StoreResult<Option<PartDraft>> {
        let after = self.archive_mark()?;
        let mark = after.clone().unwrap_or_default();
        let first = self.oldest_after(&mark)?;
        let Some(first_at) = first.filter(|at| schedule.due(*at) <= self.now) else {
            return Ok(None);
        };
        // One period per part, so a part's key names the hour it holds.
        let rows = self.sql.query(
            "SELECT id, received_at, body FROM events WHERE (received_at, id) > (?, ?)
               AND received_at < ? ORDER BY received_at, id LIMIT ?",
            params![
                mark.at,
                mark.id.as_str(),
                schedule.period_end(first_at),
                PART_EVENTS
            ],
        )?;
        let mut lines = String::new();
        let mut last = None;
        let mut count = 0;
        let mut ids = Vec::new();
        for row in &rows {
            let (id, at, body) = event_of(row)?;
            if count > 0 && lines.len() + body.len() > PART_BYTES {
                break;
            }
            let body = serde_json::value::RawValue::from_string(body.to_owned())
                .map_err(|e| StoreError::Internal(format!("event {id}: {e}")))?;
            let line = Line {
                id: id.into(),
                received_at: at,
                body: &body,
            };
            lines.push_str(&serde_json::to_string(&line).map_err(super::sql::internal)?);
            lines.push('\n');
            last = Some(Mark {
                at,
                id: id.to_owned(),
            });
            ids.push(id.to_owned());
            count += 1;
        }
        let Some(last) = last else {
            return Ok(None);
        };
        // Appends from now on are received after this part, whatever the
        // clock says, while it is being put (`archive_floor`).
        self.set_clock("archive_draft", last.at, None)?;
        let first_id = event_of(&rows[0])?.0;
        Ok(Some(PartDraft {
            key: part_key(site, first_at, first_id),
            after,
            first: Mark {
                at: first_at,
                id: first_id.to_owned(),
            },
            last,
            count,
            ids,
            lines,
        }))
    }

    /// Records `part` as put: indexed, the mark moved past it, its events'
    /// bodies emptied, in that order, so a statement that fails part way
    /// leaves a state the next alarm mends (a part put again under its key;
    /// bodies left, pruned with their ids). A part drafted after a mark that
    /// has moved on since is a repeat: false, nothing changes.
    pub fn archived(&self, part: &PartDraft) -> StoreResult<bool> {
        if self.archive_mark()? != part.after {
            return Ok(false);
        }
        self.sql.execute(
            "INSERT INTO event_parts (key, first_at, first_id, last_at, count, at) VALUES (?, ?, ?, ?, ?, ?)
               ON CONFLICT (key) DO UPDATE SET last_at = excluded.last_at, count = excluded.count",
            params![
                part.key.as_str(),
                part.first.at,
                part.first.id.as_str(),
                part.last.at,
                part.count,
                self.now
            ],
        )?;
        self.set_clock("archive", part.last.at, Some(&part.last.id))?;
        // By id: an event that arrived while the part was put (a clock
        // stepping back) keeps its body, whatever its time.
        let ids = serde_json::to_string(&part.ids).map_err(super::sql::internal)?;
        self.sql.execute(
            "UPDATE events SET body = '' WHERE id IN (SELECT value FROM json_each(?))",
            params![ids],
        )?;
        Ok(true)
    }

    /// Parts older than `before` (retention), at most `limit`, to delete.
    pub fn expired_parts(&self, before: i64, limit: i64) -> StoreResult<Vec<String>> {
        let rows = self.sql.query(
            "SELECT key FROM event_parts WHERE last_at < ? ORDER BY last_at LIMIT ?",
            params![before, limit],
        )?;
        Ok(rows
            .iter()
            .filter_map(|r| r.get("key")?.as_str().map(str::to_owned))
            .collect())
    }

    /// Forgets parts deleted from R2.
    pub fn forget_parts(&self, keys: &[String]) -> StoreResult<()> {
        let keys = serde_json::to_string(keys).map_err(super::sql::internal)?;
        self.sql.execute(
            "DELETE FROM event_parts WHERE key IN (SELECT value FROM json_each(?))",
            params![keys],
        )?;
        Ok(())
    }

    /// The newest parts holding events before `cursor`, at most
    /// [`PARTS_PER_PAGE`]; and how many events all parts hold.
    pub fn parts_before(&self, cursor: &EventCursor) -> StoreResult<(Vec<EventPart>, i64)> {
        let (condition, id) = match &cursor.before_id {
            Some(id) => ("(first_at, first_id) < (?, ?)", id.as_str()),
            // The id parameter is unused here.
            None => ("first_at < ? AND ? = ''", ""),
        };
        let rows = self.sql.query(
            &format!(
                "SELECT key, first_at, first_id, last_at, count FROM event_parts WHERE {condition}
                   ORDER BY first_at DESC, first_id DESC LIMIT ?"
            ),
            params![cursor.before, id, PARTS_PER_PAGE],
        )?;
        let parts = rows
            .iter()
            .filter_map(|r| {
                Some(EventPart {
                    key: r.get("key")?.as_str()?.to_owned(),
                    first_at: r.get("first_at")?.as_i64()?,
                    first_id: r.get("first_id")?.as_str()?.to_owned(),
                    last_at: r.get("last_at")?.as_i64()?,
                    count: r.get("count")?.as_i64()?,
                })
            })
            .collect();
        let total = self
            .sql
            .int("SELECT coalesce(sum(count), 0) FROM event_parts", &[])?
            .unwrap_or(0);
        Ok((parts, total))
    }
}

fn event_of(row: &Row) -> StoreResult<(&str, i64, &str)> {
    let field = |name: &str| row.get(name).ok_or_else(|| missing(name));
    Ok((
        field("id")?.as_str().ok_or_else(|| missing("id"))?,
        field("received_at")?
            .as_i64()
            .ok_or_else(|| missing("received_at"))?,
        field("body")?.as_str().ok_or_else(|| missing("body"))?,
    ))
}

fn missing(column: &str) -> StoreError {
    StoreError::Internal(format!("events: {column} unreadable"))
}

/// `events/{site}/{date}/{hour}/{first_at}-{id hash}.jsonl.gz`: a site's
/// parts by day and hour, named by their first event (the same draft,
/// retried, overwrites its own part).
pub fn part_key(site: &str, first_at: i64, first_id: &str) -> String {
    let time = nudge_core::time::to_iso8601(first_at);
    let (date, hour) = (
        time.get(..10).unwrap_or("0000-00-00"),
        time.get(11..13).unwrap_or("00"),
    );
    let hash = Sha256::digest(first_id.as_bytes());
    // 128 bits: ids are the sender's to choose, and two parts must never
    // share a key.
    let hash: String = hash[..16].iter().map(|b| format!("{b:02x}")).collect();
    format!("events/{site}/{date}/{hour}/{first_at}-{hash}.jsonl.gz")
}

/// A part's text, gzip'd for R2.
pub fn compress(lines: &str) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    // Writing to a Vec cannot fail.
    let _ = gz.write_all(lines.as_bytes());
    gz.finish().unwrap_or_default()
}

/// The events of a part as stored, oldest first; a part that does not
/// read (cut, corrupted) is an error, never a partial answer.
pub fn read_part(bytes: &[u8]) -> Result<Vec<StoredEvent>, String> {
    if bytes.len() as u64 > MAX_PART_READ {
        return Err(format!("part of {} bytes: too large", bytes.len()));
    }
    let mut text = String::new();
    flate2::read::GzDecoder::new(bytes)
        .take(MAX_PART_READ)
        .read_to_string(&mut text)
        .map_err(|e| format!("part unreadable: {e}"))?;
    if text.len() as u64 >= MAX_PART_READ {
        return Err("part too large once decompressed".into());
    }
    text.lines()
        .map(|line| {
            let line: Line<'_> =
                serde_json::from_str(line).map_err(|e| format!("part line: {e}"))?;
            Ok(StoredEvent {
                id: line.id.into_owned(),
                received_at: line.received_at,
                body: line.body.get().to_owned(),
            })
        })
        .collect()
}

/// Continues `page` (newest first) with one part's events (oldest first, as
/// [`read_part`] gives them) that come after `cursor`, up to its limit;
/// whether the page is full.
pub fn continue_page(page: &mut EventPage, part: Vec<StoredEvent>, cursor: &EventCursor) -> bool {
    let limit = cursor.limit as usize;
    for event in part.into_iter().rev() {
        if page.events.len() >= limit {
            break;
        }
        if cursor.admits(event.received_at, &event.id) {
            page.events.push(event);
        }
    }
    page.events.len() >= limit
}

/// Where the next page starts once `page` was continued from `parts` (the
/// ones the store named): after its last event when full; before the
/// oldest part read when the store named as many as a page may read (more
/// may be older); nowhere when every archived event was listed.
pub fn set_next(page: &mut EventPage, parts: &[EventPart], limit: i64) {
    let next = if page.events.len() as i64 >= limit {
        page.events.last().map(|e| (e.received_at, e.id.clone()))
    } else if parts.len() as i64 >= PARTS_PER_PAGE {
        parts.last().map(|p| (p.first_at, p.first_id.clone()))
    } else {
        None
    };
    page.next_before = next.as_ref().map(|(at, _)| *at);
    page.next_before_id = next.map(|(_, id)| id);
}
