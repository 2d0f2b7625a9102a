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

mod engine;
pub mod sim;

pub use self::engine::*;

use crate::condition::Condition;
use crate::diagnostics::Diagnostic;
use crate::read::{describe, Fields};
use crate::time::{Millis, DAY, MINUTE, SECOND};
use crate::value::Value;

/// Most journeys one site runs.
pub const MAX_JOURNEYS: usize = 50;
/// Most steps in one journey, counting the steps inside branches.
pub const MAX_STEPS: usize = 50;
/// Deepest nesting of step lists: the top-level steps and three branches
/// inside each other. (A config document nests at most 16 levels, which a
/// fourth branch with a step inside would pass anyway.)
pub const MAX_DEPTH: usize = 4;
/// Longest wait (and cooldown, and derived-entry window).
pub const MAX_WAIT: Millis = 400 * DAY;
const HOUR: Millis = 60 * MINUTE;

/// What starts a run.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Entry {
    /// A track event with this name (`Product Added`).
    Event { name: String },
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
    /// The steps flattened into a program the engine walks with one counter.
    pub(crate) program: Vec<Op>,
    /// Where each op of the program comes from in the journey's JSON
    /// (`steps[1].wait_for.then[0]`), for per-step reports.
    paths: Vec<String>,
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

    /// Whether `event` does anything to this journey: it enters it, it is a
    /// goal, or a `wait_for` step waits for it.
    pub fn listens_to(&self, event: &str) -> bool {
        matches!(&self.entry, Entry::Event { name } if name == event)
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

const JOURNEY_FIELDS: &[&str] = &[
    "id", "name", "enabled", "entry", "audience", "steps", "exit", "cooldown",
];

/// The goal event a journey's `exit.converted_campaigns` names: the edge
/// feeds it when a `Campaign Converted` event for that campaign arrives.
pub fn converted_goal(campaign: &str) -> String {
    format!("Campaign Converted/{campaign}")
}

fn read_journey(value: &Value, path: &str, problems: &mut Vec<Diagnostic>) -> Option<Journey> {
    let f = Fields::of(value, path, problems)?;
    f.unknown_keys(JOURNEY_FIELDS, problems);
    let id = crate::read::id(&f, problems);
    let entry = match f.object("entry", problems) {
        Some(e) => read_entry(&e, problems),
        None => {
            if f.get("entry").is_none() {
                problems.push(Diagnostic::error(f.at("entry"), "is required"));
            }
            None
        }
    };
    let audience = crate::read::condition(&f, "audience", problems).unwrap_or_default();
    let steps = match f.array("steps", problems) {
        Some(items) => {
            let mut count = 0;
            let steps = read_steps(items, &f.at("steps"), 1, &mut count, problems);
            if count > MAX_STEPS {
                problems.push(Diagnostic::error(
                    f.at("steps"),
                    format!("at most {MAX_STEPS} steps (branches included), got {count}"),
                ));
            }
            steps
        }
        None => {
            if f.get("steps").is_none() {
                problems.push(Diagnostic::error(f.at("steps"), "is required"));
            }
            Vec::new()
        }
    };
    let goals = f
        .object("exit", problems)
        .map(|e| read_exit(&e, entry.as_ref(), problems))
        .unwrap_or_default();
    let cooldown = match f.object("cooldown", problems) {
        Some(c) => read_duration(&c, 0, problems),
        None => Some(0),
    };
    let mut program = Vec::new();
    let mut paths = Vec::new();
    compile(&steps, "steps", &mut program, &mut paths);
    Some(Journey {
        id: id?.to_owned(),
        name: f.str("name", problems).unwrap_or_default().to_owned(),
        enabled: f.bool("enabled", problems).unwrap_or(true),
        entry: entry?,
        audience,
        steps,
        goals,
        cooldown: cooldown?,
        shape: shape_of(&program),
        program,
        paths,
    })
}

/// `exit: {goal?, converted_campaigns?}` as the list of goal events.
fn read_exit(e: &Fields<'_>, entry: Option<&Entry>, problems: &mut Vec<Diagnostic>) -> Vec<String> {
    e.unknown_keys(&["goal", "converted_campaigns"], problems);
    let mut goals = Vec::new();
    if let Some(goal) = e.str("goal", problems) {
        if matches!(entry, Some(Entry::Event { name }) if name == goal) {
            problems.push(Diagnostic::error(
                e.at("goal"),
                "must differ from the entry event (each run would end as it starts)",
            ));
        }
        goals.push(goal.to_owned());
    }
    if let Some(items) = e.array("converted_campaigns", problems) {
        for (i, item) in items.iter().take(MAX_JOURNEYS).enumerate() {
            match item.as_str() {
                Some(id) if !id.is_empty() => goals.push(converted_goal(id)),
                _ => problems.push(Diagnostic::error(
                    format!("{}[{i}]", e.at("converted_campaigns")),
                    format!("must be a campaign id, got {}", describe(item)),
                )),
            }
        }
    }
    if goals.is_empty() {
        problems.push(Diagnostic::error(
            e.path.clone(),
            "must name a goal event or converted_campaigns",
        ));
    }
    goals
}

/// FNV-1a over the kinds of the program's ops and its jump targets, in 53
/// bits: the edge's store (SQLite through JavaScript) keeps it exactly as a
/// double.
fn shape_of(program: &[Op]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let mut feed = |n: u64| {
        for byte in n.to_le_bytes() {
            hash = (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
        }
    };
    for op in program {
        match op {
            Op::Branch { otherwise, .. } => (feed(1), feed(*otherwise as u64)),
            Op::Jump(to) => (feed(2), feed(*to as u64)),
            Op::Step(Step::Wait { .. } | Step::WaitUntil { .. }) => (feed(3), ()),
            Op::Step(Step::Send { .. }) => (feed(4), ()),
            Op::Step(Step::Set { .. }) => (feed(5), ()),
            Op::Step(Step::End) => (feed(6), ()),
            Op::Step(Step::Branch { .. }) => (feed(7), ()),
            Op::Await { .. } => (feed(8), ()),
            Op::Timeout { otherwise, .. } => (feed(9), feed(*otherwise as u64)),
            Op::Step(Step::WaitFor { .. }) => (feed(10), ()),
        };
    }
    hash & ((1 << 53) - 1)
}

/// Exactly one key of an object, or a problem naming the choices.
fn only_key<'a>(
    f: &Fields<'a>,
    what: &str,
    known: &[&str],
    problems: &mut Vec<Diagnostic>,
) -> Option<&'a str> {
    let keys: Vec<&str> = f.map.keys().collect();
    match keys.as_slice() {
        [key] if known.contains(key) => Some(key),
        [key] => {
            problems.push(Diagnostic::error(
                f.at(key),
                format!(
                    "unknown {what} (known: {}); written for a newer Nudge version?",
                    known.join(", ")
                ),
            ));
            None
        }
        _ => {
            problems.push(Diagnostic::error(
                f.path.clone(),
                format!(
                    "must name exactly one {what} ({}), got {}",
                    known.join(", "),
                    keys.len()
                ),
            ));
            None
        }
    }
}

fn read_entry(f: &Fields<'_>, problems: &mut Vec<Diagnostic>) -> Option<Entry> {
    let kind = only_key(
        f,
        "entry",
        &["event", "category_views", "inactive_days", "date_trait"],
        problems,
    )?;
    match kind {
        "event" => f.required_str("event", problems).map(|name| Entry::Event {
            name: name.to_owned(),
        }),
        "category_views" => {
            let o = f.object("category_views", problems)?;
            o.unknown_keys(&["min", "within_hours"], problems);
            let min = o.int_in("min", 1, 1000, problems);
            let hours = o.int_in("within_hours", 1, 9600, problems);
            if o.get("min").is_none() {
                problems.push(Diagnostic::error(o.at("min"), "is required"));
            }
            Some(Entry::CategoryViews {
                min: min?,
                within: Millis::from(hours.unwrap_or(24)) * HOUR,
            })
        }
        "inactive_days" => f
            .int_in("inactive_days", 1, 400, problems)
            .map(|days| Entry::InactiveDays { days }),
        _ => f
            .required_str("date_trait", problems)
            .map(|name| Entry::DateTrait {
                name: name.to_owned(),
            }),
    }
}

const DURATION_UNITS: &[(&str, Millis)] = &[
    ("seconds", SECOND),
    ("minutes", MINUTE),
    ("hours", HOUR),
    ("days", DAY),
];

/// `{seconds|minutes|hours|days: n}`, a whole number from `min` units up to [`MAX_WAIT`].
fn read_duration(f: &Fields<'_>, min: u32, problems: &mut Vec<Diagnostic>) -> Option<Millis> {
    let names: Vec<&str> = DURATION_UNITS.iter().map(|(n, _)| *n).collect();
    let unit = only_key(f, "unit", &names, problems)?;
    let scale = DURATION_UNITS.iter().find(|(n, _)| *n == unit)?.1;
    let max = u32::try_from(MAX_WAIT / scale).unwrap_or(u32::MAX);
    f.int_in(unit, min, max, problems)
        .map(|n| Millis::from(n) * scale)
}

fn read_offset(f: &Fields<'_>, problems: &mut Vec<Diagnostic>) -> i32 {
    f.number_in("time_zone_offset_minutes", -840.0, 840.0, problems)
        .map_or(0, |n| n as i32)
}

/// `"HH:MM"` local time.
fn read_time(
    f: &Fields<'_>,
    key: &str,
    offset: i32,
    problems: &mut Vec<Diagnostic>,
) -> Option<TimeOfDay> {
    let text = f.required_str(key, problems)?;
    let parsed = text.split_once(':').and_then(|(h, m)| {
        let ok = |s: &str| s.len() == 2 && s.bytes().all(|b| b.is_ascii_digit());
        if !ok(h) || !ok(m) {
            return None;
        }
        let (h, m) = (h.parse::<u32>().ok()?, m.parse::<u32>().ok()?);
        (h < 24 && m < 60).then_some(h * 60 + m)
    });
    if parsed.is_none() {
        problems.push(Diagnostic::error(
            f.at(key),
            format!(
                "must be a time of day like \"09:00\", got {}",
                describe(f.get(key)?)
            ),
        ));
    }
    Some(TimeOfDay {
        minute: parsed?,
        offset_minutes: offset,
    })
}

const STEP_KINDS: &[&str] = &[
    "wait",
    "wait_until",
    "wait_for",
    "branch",
    "send",
    "set",
    "end",
];

fn read_steps(
    items: &[Value],
    path: &str,
    depth: usize,
    count: &mut usize,
    problems: &mut Vec<Diagnostic>,
) -> Vec<Step> {
    let mut steps = Vec::new();
    for (i, item) in items.iter().enumerate() {
        *count += 1;
        if *count > MAX_STEPS {
            // Reported once by the caller; reading on would only cost time.
            *count += items.len() - i - 1;
            break;
        }
        let here = format!("{path}[{i}]");
        if let Some(step) = read_step(item, &here, depth, count, problems) {
            steps.push(step);
        }
    }
    steps
}

fn read_step(
    value: &Value,
    path: &str,
    depth: usize,
    count: &mut usize,
    problems: &mut Vec<Diagnostic>,
) -> Option<Step> {
    let f = Fields::of(value, path, problems)?;
    let kind = only_key(&f, "step", STEP_KINDS, problems)?;
    match kind {
        "wait" => {
            let w = f.object("wait", problems)?;
            read_duration(&w, 1, problems).map(|duration| Step::Wait { duration })
        }
        "wait_until" => {
            let w = f.object("wait_until", problems)?;
            w.unknown_keys(&["time", "time_zone_offset_minutes"], problems);
            let offset = read_offset(&w, problems);
            read_time(&w, "time", offset, problems).map(|time| Step::WaitUntil { time })
        }
        "branch" => {
            let b = f.object("branch", problems)?;
            b.unknown_keys(&["if", "then", "else"], problems);
            let (then, otherwise) = read_arms(&b, depth, count, problems)?;
            let Some(condition) = crate::read::condition(&b, "if", problems) else {
                problems.push(Diagnostic::error(b.at("if"), "is required"));
                return None;
            };
            Some(Step::Branch {
                condition,
                then,
                otherwise,
            })
        }
        "wait_for" => {
            let w = f.object("wait_for", problems)?;
            w.unknown_keys(&["event", "within", "then", "else"], problems);
            let (then, otherwise) = read_arms(&w, depth, count, problems)?;
            let event = w.required_str("event", problems).map(str::to_owned);
            let within = match w.object("within", problems) {
                Some(within) => read_duration(&within, 1, problems),
                None => {
                    problems.push(Diagnostic::error(w.at("within"), "is required"));
                    None
                }
            };
            Some(Step::WaitFor {
                event: event?,
                within: within?,
                then,
                otherwise,
            })
        }
        "send" => {
            let s = f.object("send", problems)?;
            s.unknown_keys(&["destination", "event", "purpose"], problems);
            let destination = s.required_str("destination", problems);
            let event = s.required_str("event", problems);
            let purpose = match s.str("purpose", problems).unwrap_or("marketing") {
                "marketing" => Some(Purpose::Marketing),
                "transactional" => Some(Purpose::Transactional),
                other => {
                    problems.push(Diagnostic::error(
                        s.at("purpose"),
                        format!("must be marketing or transactional; got \"{other}\""),
                    ));
                    None
                }
            };
            Some(Step::Send {
                destination: destination?.to_owned(),
                event: event?.to_owned(),
                purpose: purpose?,
            })
        }
        "set" => {
            let s = f.object("set", problems)?;
            s.unknown_keys(&["tag", "stage", "coupon_pool"], problems);
            let text =
                |key: &str, problems: &mut Vec<Diagnostic>| s.str(key, problems).map(str::to_owned);
            let step = Step::Set {
                tag: text("tag", problems),
                stage: text("stage", problems),
                coupon_pool: text("coupon_pool", problems),
            };
            if s.map.is_empty() {
                problems.push(Diagnostic::error(
                    s.path.clone(),
                    "must set a tag, stage or coupon_pool",
                ));
            }
            Some(step)
        }
        _ => match f.get("end") {
            Some(Value::Bool(true)) => Some(Step::End),
            other => {
                problems.push(Diagnostic::error(
                    f.at("end"),
                    format!(
                        "must be true, got {}",
                        describe(other.unwrap_or(&Value::Null))
                    ),
                ));
                None
            }
        },
    }
}

/// A branch's or a `wait_for`'s `then` and `else` step lists, one level
/// deeper; `None` (and a problem) past the nesting bound.
fn read_arms(
    f: &Fields<'_>,
    depth: usize,
    count: &mut usize,
    problems: &mut Vec<Diagnostic>,
) -> Option<(Vec<Step>, Vec<Step>)> {
    if depth >= MAX_DEPTH {
        problems.push(Diagnostic::error(
            f.path.clone(),
            format!("branches nest at most {} deep", MAX_DEPTH - 1),
        ));
        return None;
    }
    let mut arm = |key: &str, problems: &mut Vec<Diagnostic>| {
        f.array(key, problems)
            .map(|items| read_steps(items, &f.at(key), depth + 1, count, problems))
            .unwrap_or_default()
    };
    let then = arm("then", problems);
    let otherwise = arm("else", problems);
    Some((then, otherwise))
}

/// One instruction of a journey's flattened program. Branches become a
/// conditional forward jump, so a run's position is one counter and the
/// engine cannot loop.
#[derive(Clone, Debug)]
pub(crate) enum Op {
    Step(Step),
    /// Go on at the next op when the condition holds, else at `otherwise`.
    Branch {
        condition: Condition,
        otherwise: usize,
    },
    Jump(usize),
    /// A `wait_for` begins: wait at most `within` (at the next op).
    Await {
        within: Millis,
    },
    /// Where a `wait_for` waits. Reached by its timer, the event did not
    /// come: go on at `otherwise`; the event coming moves the run to the
    /// next op instead ([`Journeys::on_event`]).
    Timeout {
        event: String,
        otherwise: usize,
    },
}

/// Compiles `then`, a jump over `otherwise` if there is one, and
/// `otherwise`, at `path` (the branching step's); returns where
/// `otherwise` starts.
fn compile_arms(
    (then, otherwise): (&[Step], &[Step]),
    path: &str,
    out: &mut Vec<Op>,
    paths: &mut Vec<String>,
) -> usize {
    compile(then, &format!("{path}.then"), out, paths);
    let jump = (!otherwise.is_empty()).then(|| {
        out.push(Op::Jump(0));
        paths.push(path.to_owned());
        out.len() - 1
    });
    let else_at = out.len();
    compile(otherwise, &format!("{path}.else"), out, paths);
    let end = out.len();
    if let Some(Op::Jump(to)) = jump.and_then(|j| out.get_mut(j)) {
        *to = end;
    }
    else_at
}

/// Flattens `steps` (at `path` in the journey's JSON) into `out`, with the
/// path of each op in `paths`.
fn compile(steps: &[Step], path: &str, out: &mut Vec<Op>, paths: &mut Vec<String>) {
    for (i, step) in steps.iter().enumerate() {
        let here = format!("{path}[{i}]");
        match step {
            Step::Branch {
                condition,
                then,
                otherwise,
            } => {
                let branch = out.len();
                out.push(Op::Branch {
                    condition: condition.clone(),
                    otherwise: 0,
                });
                paths.push(here.clone());
                let at = format!("{here}.branch");
                let else_at = compile_arms((then, otherwise), &at, out, paths);
                if let Some(Op::Branch { otherwise, .. }) = out.get_mut(branch) {
                    *otherwise = else_at;
                }
            }
            Step::WaitFor {
                event,
                within,
                then,
                otherwise,
            } => {
                out.push(Op::Await { within: *within });
                let timeout = out.len();
                out.push(Op::Timeout {
                    event: event.clone(),
                    otherwise: 0,
                });
                paths.extend([here.clone(), here.clone()]);
                let at = format!("{here}.wait_for");
                let else_at = compile_arms((then, otherwise), &at, out, paths);
                if let Some(Op::Timeout { otherwise, .. }) = out.get_mut(timeout) {
                    *otherwise = else_at;
                }
            }
            other => {
                out.push(Op::Step(other.clone()));
                paths.push(here);
            }
        }
    }
}
