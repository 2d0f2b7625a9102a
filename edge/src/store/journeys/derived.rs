//! Derived entries: journeys entered by what the store sees over time
//! rather than by one event.
//!
//! - `category_views`: each `Product Viewed` (or `Product List Viewed`)
//!   with a `category` is recorded; once the person has viewed that category
//!   `min` times within the window, they enter (if they may: audience, one
//!   active run, cooldown).
//! - `inactive_days` and `date_trait`: a daily sweep, run by the alarm in
//!   bounded steps with a cursor, enters persons whose last event was exactly
//!   N days ago, or whose date trait (a birthday) falls on today. "Today" is
//!   the site's day: the quiet hours' time zone offset, UTC without one.

use nudge_core::journey::{Entry, Journeys};
use nudge_core::time::DAY as DAY_MS;
use serde_json::Value;

use super::super::persons::Db;
use super::super::protocol::StoreResult;
use super::super::sql::{params, SqlExt};

/// Whether the year of this instant (UTC) is a leap year.
fn leap_year(at: i64) -> bool {
    let year: i64 = nudge_core::time::to_iso8601(at)
        .get(..4)
        .and_then(|y| y.parse().ok())
        .unwrap_or(2001);
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

/// Persons one sweep step looks at per journey.
pub const SWEEP_STEP: i64 = 1_000;
/// Category views kept per person and category (enough for any `min`).
const MAX_VIEWS_KEPT: i64 = 1_000;

impl Db<'_> {
    pub(super) fn derived_on_event(
        &self,
        journeys: &Journeys,
        person: &str,
        name: &str,
        event: &Value,
    ) -> StoreResult<()> {
        if !matches!(name, "Product Viewed" | "Product List Viewed") {
            return Ok(());
        }
        let Some(category) = event["properties"]["category"].as_str() else {
            return Ok(());
        };
        let wanted: Vec<_> = journeys
            .journeys
            .iter()
            .filter_map(|j| match j.entry {
                Entry::CategoryViews { min, within } if j.enabled => {
                    Some((j.id.as_str(), min, within))
                }
                _ => None,
            })
            .collect();
        if wanted.is_empty() {
            return Ok(());
        }
        let category: String = category.chars().take(100).collect();
        self.sql.execute(
            "INSERT INTO category_views (person, category, at) VALUES (?, ?, ?)",
            params![person, category.as_str(), self.now],
        )?;
        self.sql.execute(
            "DELETE FROM category_views WHERE person = ?1 AND category = ?2 AND at <
               (SELECT at FROM category_views WHERE person = ?1 AND category = ?2 ORDER BY at DESC LIMIT 1 OFFSET ?3)",
            params![person, category.as_str(), MAX_VIEWS_KEPT],
        )?;
        for (id, min, within) in wanted {
            let views = self
                .sql
                .int(
                    "SELECT count(*) FROM category_views WHERE person = ? AND category = ? AND at > ?",
                    params![person, category.as_str(), self.now - within],
                )?
                .unwrap_or(0);
            if views < i64::from(min) {
                continue;
            }
            self.enter_derived(journeys, id, person)?;
        }
        Ok(())
    }

    /// Enters `person` into the journey `id` if they may (core's rules).
    fn enter_derived(&self, journeys: &Journeys, id: &str, person: &str) -> StoreResult<()> {
        let who = self.journey_person(person)?;
        let runs = self.person_runs(person)?;
        let effects = journeys.enter(id, &who, &runs, self.now);
        self.apply(journeys, &effects)
    }

    /// The site's day number and `MM-DD` now, and its offset from UTC (ms).
    fn site_day(&self, journeys: &Journeys) -> (i64, String, i64) {
        let offset = journeys
            .quiet_hours
            .map_or(0, |q| i64::from(q.start.offset_minutes) * 60_000);
        let local = self.now + offset;
        let iso = nudge_core::time::to_iso8601(local);
        let month_day = iso.get(5..10).unwrap_or("01-01").to_owned();
        (local.div_euclid(DAY_MS), month_day, offset)
    }

    /// One step of today's sweep; true if more is left for today.
    pub fn sweep_step(&self, journeys: &Journeys) -> StoreResult<bool> {
        let (today, month_day, offset) = self.site_day(journeys);
        let done = self.clock("sweep_day")?.map_or(i64::MIN, |(day, _)| day);
        if done >= today {
            return Ok(false);
        }
        for journey in journeys.journeys.iter().filter(|j| j.enabled) {
            let clock = format!("sweep:{}", journey.id);
            let cursor = match self.clock(&clock)? {
                Some((day, cursor)) if day == today => match cursor {
                    Some(c) => c,
                    None => continue, // finished today
                },
                _ => String::new(),
            };
            // The cursor is `<last_seen>:<person>` for inactivity (walked in
            // the index's order, so each step reads only its own rows) and
            // the person id for date traits.
            let persons = match &journey.entry {
                Entry::InactiveDays { days } => {
                    // Whose last event was on the site's day `days` ago.
                    let day_start = (today - i64::from(*days)) * DAY_MS - offset;
                    let (after_seen, after_person) = cursor
                        .split_once(':')
                        .and_then(|(at, p)| Some((at.parse::<i64>().ok()?, p.to_owned())))
                        .unwrap_or((day_start - 1, String::new()));
                    self.sql.query(
                        "SELECT person, last_seen FROM person_state
                         WHERE last_seen >= ?1 AND last_seen < ?2
                           AND (last_seen > ?3 OR (last_seen = ?3 AND person > ?4))
                         ORDER BY last_seen, person LIMIT ?5",
                        params![
                            day_start,
                            day_start + DAY_MS,
                            after_seen,
                            after_person.as_str(),
                            SWEEP_STEP
                        ],
                    )?
                }
                Entry::DateTrait { name } => {
                    // 29 February is celebrated on the 28th in other years.
                    let leap_day = if month_day == "02-28" && !leap_year(self.now + offset) {
                        "02-29"
                    } else {
                        month_day.as_str()
                    };
                    self.sql.query(
                        "SELECT person FROM person_dates WHERE name = ?1 AND month_day IN (?2, ?3) AND person > ?4
                         ORDER BY person LIMIT ?5",
                        params![name.as_str(), month_day.as_str(), leap_day, cursor.as_str(), SWEEP_STEP],
                    )?
                }
                _ => continue,
            };
            for person in persons.iter().filter_map(|r| r["person"].as_str()) {
                self.enter_derived(journeys, &journey.id, person)?;
            }
            let last = persons.last().and_then(|r| {
                let person = r["person"].as_str()?;
                Some(match r.get("last_seen").and_then(Value::as_i64) {
                    Some(seen) => format!("{seen}:{person}"),
                    None => person.to_owned(),
                })
            });
            let next = (persons.len() as i64 == SWEEP_STEP)
                .then_some(last)
                .flatten();
            self.set_clock(&clock, today, next.as_deref())?;
            if next.is_some() {
                return Ok(true);
            }
        }
        self.set_clock("sweep_day", today, None)?;
        Ok(false)
    }
}
