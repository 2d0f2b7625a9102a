//! Journeys: timed, cross-channel automation ("added to cart, no order within
//! 4 hours: send `Cart Abandoned` to the email tool").
//!
//! This module reads and validates a site's `journeys` (and the site-level
//! `messaging_caps` and `quiet_hours`), and runs them as a pure state machine
//! ([`Journeys::on_event`], [`Journeys::on_due`]) that is deterministic given
//! a clock: it returns [`Effect`]s and the next [`Run`] state, and the edge
//! persists runs and arms timers. [`sim::Simulation`] is the in-memory twin of
//! the edge's store, for tests and dry runs on a virtual clock.
//!
//! [`crate::Config::from_value`] skips these keys: the browser agent never
//! runs journeys and must not carry their code. The edge validates them with
//! [`validate`].

use crate::prelude::*;

mod due;
mod engine;
mod program;
mod read;
pub mod sim;

pub use self::engine::*;

use self::program::Op;
use self::read::{read_journey, read_offset, read_time};

use crate::condition::Condition;
use crate::diagnostics::Diagnostic;
use crate::read::Fields;
use crate::time::{Millis, DAY, MINUTE};
use crate::value::Value;

/// Most journeys one site runs.
pub const MAX_JOURNEYS: usize = 50;
/// Most steps in one journey, counting the steps inside branches.
pub const MAX_STEPS: usize = 50;
/// Deepest nesting of step lists: the top-level steps and three branches
/// inside each other. (A config document nests at most 16 levels, which a
/// fourth branch with a step inside would pass anyway.)
pub const MAX_DEPTH: usize = 4;
/// Largest holdout, in percent: at least a tenth of entrants get the journey.
pub const MAX_HOLDOUT: u32 = 90;
/// Longest wait (and cooldown, and derived-entry window).
pub const MAX_WAIT: Millis = 400 * DAY;
const HOUR: Millis = 60 * MINUTE;

/// What starts a run.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum Entry {
    /// A track event with this name (`Product Added`) whose properties
    /// match `filter` (`entry.where`: `{"price": {"$gte": 50}}`; empty
    /// matches every such event).
    Event { name: String, filter: Condition },
    /// A category viewed at least `min` times within `within` (derived by the
    /// edge from `Product Viewed` events; it calls [`Journeys::enter`]).
    CategoryViews { min: u32, within: Millis },
    /// No activity for this many days (derived by the edge's daily sweep).
    InactiveDays { days: u32 },
    /// The day (month and day) of a date trait such as `birthday` (derived by
    /// the edge's daily sweep).
    DateTrait { name: String },
}

/// Why a message is sent: marketing messages need consent and count against
/// the caps and quiet hours; transactional ones (an order's receipt) do not.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Purpose {
    Marketing,
    Transactional,
}

/// A time of day in a fixed offset from UTC (the site's time zone).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TimeOfDay {
    /// Minutes after local midnight, `0..1440`.
    pub minute: u32,
    /// Local time minus UTC, in minutes.
    pub offset_minutes: i32,
}

impl TimeOfDay {
    /// The first instant at or after `now` whose local time is this one.
    pub fn next_after(&self, now: Millis) -> Millis {
        let offset = Millis::from(self.offset_minutes) * MINUTE;
        let local = now + offset;
        let midnight = local - local.rem_euclid(DAY);
        let mut at = midnight + Millis::from(self.minute) * MINUTE;
        if at < local {
            at += DAY;
        }
        at - offset
    }
}

/// One step of a journey.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum Step {
    Wait {
        duration: Millis,
    },
    WaitUntil {
        time: TimeOfDay,
    },
    Branch {
        condition: Condition,
        then: Vec<Step>,
        otherwise: Vec<Step>,
    },
    /// Waits for `event` from the person for at most `within`: goes on with
    /// `then` when it comes, with `otherwise` when the time runs out ("wait
    /// for an order, else send the reminder").
    WaitFor {
        event: String,
        within: Millis,
        then: Vec<Step>,
        otherwise: Vec<Step>,
    },
    Send {
        destination: String,
        event: String,
        purpose: Purpose,
    },
    Set {
        tag: Option<String>,
        stage: Option<String>,
        coupon_pool: Option<String>,
    },
    End,
}

/// A validated journey.
#[derive(Clone, Debug)]
pub struct Journey {
    pub id: String,
    pub name: String,
    pub entry: Entry,
    /// Over the person's attributes at the edge; empty matches everyone.
    pub audience: Condition,
    pub steps: Vec<Step>,
    /// Events that end a run at once, on whatever step it waits: the `exit`
    /// goal event, and [`converted_goal`] for each campaign in
    /// `exit.converted_campaigns` (a popup that converted).
    pub goals: Vec<String>,
    /// `false`: nobody enters, and runs in progress end at their next step.
    pub enabled: bool,
    /// A hash of the program's shape (the kinds of its steps and where its
    /// branches go). A run keeps going after an edit that leaves the shape
    /// alone (a new wait, event name or condition); one whose shape changed
    /// ends at its next step ([`ExitReason::Edited`]): its position would
    /// name a different step.
    pub shape: u64,
    /// How long after a run's entry the same person may not enter again.
    pub cooldown: Millis,
    /// The percent of entrants held out (0 to [`MAX_HOLDOUT`]): they run
    /// the journey's clock but are sent nothing and given nothing, so the
    /// report can compare what the journey's messages earn with what
    /// happens without them. Who is held out is decided once per person and
    /// journey ([`Run::held_out`]).
    pub holdout: u32,
    /// The steps flattened into a program the engine walks with one counter.
    pub(crate) program: Vec<Op>,
    /// Where each op of the program comes from in the journey's JSON
    /// (`steps[1].wait_for.then[0]`), for per-step reports.
    paths: Vec<String>,
}

/// A send step of a journey ([`Journey::send_at`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SendStep<'a> {
    pub step: usize,
    pub destination: &'a str,
    pub event: &'a str,
    pub purpose: Purpose,
}

/// One step of a journey as its per-step report lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReportedStep<'a> {
    /// The step's position in the flattened program ([`Effect::Reached`]'s
    /// and a run's `step`).
    pub step: usize,
    /// Where it is in the journey's JSON: `steps[1].wait_for.then[0]`.
    pub path: &'a str,
    /// Its kind, as the JSON names it: `wait`, `wait_for`, `send`, ….
    pub kind: &'static str,
}

impl Journey {
    /// The steps a per-step report lists, in program order: every step the
    /// marketer wrote (a `wait_for`'s own wait once), none of the jumps the
    /// program adds.
    pub fn reported_steps(&self) -> Vec<ReportedStep<'_>> {
        let kind = |op: &Op| match op {
            Op::Step(Step::Wait { .. }) => Some("wait"),
            Op::Step(Step::WaitUntil { .. }) => Some("wait_until"),
            Op::Step(Step::Send { .. }) => Some("send"),
            Op::Step(Step::Set { .. }) => Some("set"),
            Op::Step(Step::End) => Some("end"),
            Op::Branch { .. } | Op::Step(Step::Branch { .. }) => Some("branch"),
            Op::Await { .. } | Op::Step(Step::WaitFor { .. }) => Some("wait_for"),
            Op::Jump(_) | Op::Timeout { .. } => None,
        };
        self.program
            .iter()
            .zip(&self.paths)
            .enumerate()
            .filter_map(|(step, (op, path))| {
                Some(ReportedStep {
                    step,
                    path,
                    kind: kind(op)?,
                })
            })
            .collect()
    }

    /// The send step at `path` (`steps[1].wait_for.else[0]`) with its
    /// position in the program (the `step` of its idempotency key): for the
    /// studio's payload preview and test send.
    pub fn send_at(&self, path: &str) -> Option<SendStep<'_>> {
        let step = self.paths.iter().position(|p| p == path)?;
        match self.program.get(step)? {
            Op::Step(Step::Send {
                destination,
                event,
                purpose,
            }) => Some(SendStep {
                step,
                destination,
                event,
                purpose: *purpose,
            }),
            _ => None,
        }
    }

    /// The coupon pools its `set` steps take codes from.
    pub fn coupon_pools(&self) -> impl Iterator<Item = &str> {
        self.program.iter().filter_map(|op| match op {
            Op::Step(Step::Set {
                coupon_pool: Some(pool),
                ..
            }) => Some(pool.as_str()),
            _ => None,
        })
    }

    /// Whether `event` does anything to this journey: it enters it, it is a
    /// goal, or a `wait_for` step waits for it.
    pub fn listens_to(&self, event: &str) -> bool {
        matches!(&self.entry, Entry::Event { name, .. } if name == event)
            || self.goals.iter().any(|g| g == event)
            || self
                .program
                .iter()
                .any(|op| matches!(op, Op::Timeout { event: e, .. } if e == event))
    }
}

/// Per-person caps on marketing messages across all journeys and channels.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MessagingCaps {
    pub per_day: Option<u32>,
    pub per_week: Option<u32>,
}

/// A nightly window (`21:00`-`08:00` local) in which no marketing message is sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QuietHours {
    pub start: TimeOfDay,
    pub end: TimeOfDay,
}

impl QuietHours {
    /// When the quiet window that holds `now` ends, or `None` outside it.
    pub fn ends_at(&self, now: Millis) -> Option<Millis> {
        let end = self.end.next_after(now + 1);
        let start = self.start.next_after(now + 1);
        // Inside the window exactly when its end comes before the next start.
        (end <= start && end > now).then_some(end)
    }
}

/// A site's journeys and the site-wide messaging rules they share.
#[derive(Clone, Debug, Default)]
pub struct Journeys {
    pub journeys: Vec<Journey>,
    pub caps: MessagingCaps,
    pub quiet_hours: Option<QuietHours>,
}

/// Every problem in a config's `journeys`, `messaging_caps` and
/// `quiet_hours`; empty means valid. The edge calls this beside
/// [`crate::Config::validate`] on write.
pub fn validate(config: &Value) -> Vec<Diagnostic> {
    Journeys::from_config(config).1
}

impl Journeys {
    /// Reads the journey parts of a whole config; an absent part is empty.
    pub fn from_config(config: &Value) -> (Journeys, Vec<Diagnostic>) {
        let mut problems = Vec::new();
        let mut out = Journeys::default();
        let Some(f) = Fields::of(config, "", &mut problems) else {
            return (out, problems);
        };
        if let Some(value) = f.get("journeys") {
            let (journeys, found) = Journeys::from_value(value, "journeys");
            out.journeys = journeys;
            problems.extend(found);
        }
        if let Some(c) = f.object("messaging_caps", &mut problems) {
            c.unknown_keys(&["per_day", "per_week"], &mut problems);
            out.caps = MessagingCaps {
                per_day: c.int_in("per_day", 0, 100, &mut problems),
                per_week: c.int_in("per_week", 0, 700, &mut problems),
            };
        }
        if let Some(q) = f.object("quiet_hours", &mut problems) {
            q.unknown_keys(&["start", "end", "time_zone_offset_minutes"], &mut problems);
            let offset = read_offset(&q, &mut problems);
            let start = read_time(&q, "start", offset, &mut problems);
            let end = read_time(&q, "end", offset, &mut problems);
            if let (Some(start), Some(end)) = (start, end) {
                if start == end {
                    problems.push(Diagnostic::error(q.at("end"), "must differ from start"));
                } else {
                    out.quiet_hours = Some(QuietHours { start, end });
                }
            }
        }
        (out, problems)
    }

    /// Reads the `journeys` array at `path`; a journey with an error is left out.
    pub fn from_value(value: &Value, path: &str) -> (Vec<Journey>, Vec<Diagnostic>) {
        let mut problems = Vec::new();
        let Some(items) = value.as_array() else {
            problems.push(Diagnostic::error(
                path,
                format!("must be an array of journeys, got {}", value.type_name()),
            ));
            return (Vec::new(), problems);
        };
        let journeys = crate::read::items_with_ids(
            items,
            path,
            MAX_JOURNEYS,
            "journey",
            read_journey,
            &mut problems,
        );
        (journeys, problems)
    }

    pub fn journey(&self, id: &str) -> Option<&Journey> {
        self.journeys.iter().find(|j| j.id == id)
    }
}

/// The goal event a journey's `exit.converted_campaigns` names: the edge
/// feeds it when a `Campaign Converted` event for that campaign arrives.
pub fn converted_goal(campaign: &str) -> String {
    format!("Campaign Converted/{campaign}")
}
