//! Reading journeys from a config: every field checked, each problem at
//! its path (`journeys[0].steps[2].wait_for.within.hours`), and a journey
//! with problems skipped whole.

use super::program::{compile, shape_of};
use super::{
    converted_goal, Entry, Journey, Purpose, Step, TimeOfDay, HOUR, MAX_DEPTH, MAX_JOURNEYS,
    MAX_STEPS, MAX_WAIT,
};
use crate::diagnostics::Diagnostic;
use crate::prelude::*;
use crate::read::{describe, Fields};
use crate::time::{Millis, DAY, MINUTE, SECOND};
use crate::value::Value;

const JOURNEY_FIELDS: &[&str] = &[
    "id", "name", "enabled", "entry", "audience", "steps", "exit", "cooldown", "holdout",
];

pub(super) fn read_journey(
    value: &Value,
    path: &str,
    problems: &mut Vec<Diagnostic>,
) -> Option<Journey> {
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
    // `{"percent": 10}`: the share of entrants held out.
    let holdout = match f.object("holdout", problems) {
        Some(h) => {
            h.unknown_keys(&["percent"], problems);
            if h.get("percent").is_none() {
                problems.push(Diagnostic::error(h.at("percent"), "is required"));
            }
            h.int_in("percent", 0, super::MAX_HOLDOUT, problems)
        }
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
        holdout: holdout?,
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
        if matches!(entry, Some(Entry::Event { name, .. }) if name == goal) {
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

/// Exactly one key of an object, or a problem naming the choices.
fn only_key<'a>(
    f: &Fields<'a>,
    what: &str,
    known: &[&str],
    beside: &[&str],
    problems: &mut Vec<Diagnostic>,
) -> Option<&'a str> {
    let keys: Vec<&str> = f.map.keys().filter(|k| !beside.contains(k)).collect();
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
    // `where` (an event's property filter) rides beside `event`.
    let kind = only_key(
        f,
        "entry",
        &["event", "category_views", "inactive_days", "date_trait"],
        &["where"],
        problems,
    )?;
    if kind != "event" && f.get("where").is_some() {
        problems.push(Diagnostic::error(
            f.at("where"),
            "only an event entry has a property filter",
        ));
        return None;
    }
    match kind {
        "event" => {
            let filter = crate::read::condition(f, "where", problems);
            let name = f.required_str("event", problems)?;
            Some(Entry::Event {
                name: name.to_owned(),
                filter: filter.unwrap_or_default(),
            })
        }
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
    let unit = only_key(f, "unit", &names, &[], problems)?;
    let scale = DURATION_UNITS.iter().find(|(n, _)| *n == unit)?.1;
    let max = u32::try_from(MAX_WAIT / scale).unwrap_or(u32::MAX);
    f.int_in(unit, min, max, problems)
        .map(|n| Millis::from(n) * scale)
}

pub(super) fn read_offset(f: &Fields<'_>, problems: &mut Vec<Diagnostic>) -> i32 {
    f.number_in("time_zone_offset_minutes", -840.0, 840.0, problems)
        .map_or(0, |n| n as i32)
}

/// `"HH:MM"` local time.
pub(super) fn read_time(
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
    let kind = only_key(&f, "step", STEP_KINDS, &[], problems)?;
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
