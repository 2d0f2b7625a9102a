//! The journey state machine: pure functions from (journeys, person, runs,
//! event or timer, clock) to effects and the next run state.
//!
//! At-least-once timers are safe: [`Journeys::on_due`] on the same run state
//! at the same step yields the same [`Effect::Send`] idempotency keys, so the
//! edge sends each step once per run by de-duplicating on the key.

use super::{Entry, Journey, Journeys, Op, Purpose};
use crate::condition::Attributes;
use crate::prelude::*;
use crate::profile::Consent;
use crate::time::{Millis, DAY};

/// The person a journey runs for, as the edge knows them.
#[derive(Clone, Debug, Default)]
pub struct Person {
    pub id: String,
    /// What audience and branch conditions are evaluated against.
    pub attributes: Attributes,
    pub consent: Consent,
    /// On the suppression list: no marketing message at all.
    pub suppressed: bool,
    /// Coupon pools whose codes live in another of the site's objects, none
    /// of them here for this person yet: a `set` step taking from one waits
    /// ([`Effect::AwaitCode`]) while the edge leases codes, then runs again.
    pub codes_elsewhere: Vec<String>,
}

/// How long a `set` step waits for a leased code before it is tried again
/// (the edge wakes it sooner, once codes come).
pub const CODE_WAIT: Millis = 5_000;

/// Which run: a person's `number`th run of a journey.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct RunId {
    pub person: String,
    pub journey: String,
    pub number: u32,
}

/// Where a run is. `step` indexes the journey's flattened program (branches
/// become forward jumps), so one number is the whole position.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Run {
    pub id: RunId,
    pub step: usize,
    pub entered_at: Millis,
    /// When the run is to go on; `None` once it has ended.
    pub next_due: Option<Millis>,
    /// The journey's [`super::Journey::shape`] when the run entered.
    pub shape: u64,
    /// Why it ended, once it has.
    pub exit: Option<ExitReason>,
    /// In the journey's holdout: the run goes through its steps, and every
    /// send and set is skipped ([`SuppressReason::Holdout`]).
    pub held_out: bool,
}

impl Run {
    pub fn is_active(&self) -> bool {
        self.exit.is_none()
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ExitReason {
    /// The journey's goal event arrived.
    Goal,
    /// An `end` step.
    End,
    /// The last step ran.
    Completed,
    /// The journey is no longer in the config.
    Removed,
    /// The journey was disabled.
    Disabled,
    /// The journey's steps changed shape since the run entered.
    Edited,
    /// The person was merged into one with an active run of this journey.
    Merged,
}

impl ExitReason {
    /// The reason's stable name (the edge stores it, reports show it).
    pub fn as_str(self) -> &'static str {
        match self {
            ExitReason::Goal => "goal",
            ExitReason::End => "end",
            ExitReason::Completed => "completed",
            ExitReason::Removed => "removed",
            ExitReason::Disabled => "disabled",
            ExitReason::Edited => "edited",
            ExitReason::Merged => "merged",
        }
    }

    pub fn parse(name: &str) -> Option<ExitReason> {
        [
            ExitReason::Goal,
            ExitReason::End,
            ExitReason::Completed,
            ExitReason::Removed,
            ExitReason::Disabled,
            ExitReason::Edited,
            ExitReason::Merged,
        ]
        .into_iter()
        .find(|r| r.as_str() == name)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SuppressReason {
    /// The per-person cap on marketing messages is reached.
    Cap,
    /// No marketing consent, or on the suppression list.
    Consent,
    /// The run is in the journey's holdout.
    Holdout,
}

/// What the edge is to do; the engine itself does no I/O.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Effect {
    /// Store this new run (its first step is due at once).
    Enter(Run),
    /// Arm the run's timer (replacing any earlier one).
    Schedule {
        run: RunId,
        at: Millis,
    },
    /// Drop the run's pending timer.
    CancelTimer {
        run: RunId,
    },
    /// Send `event` to `destination`, once per `idempotency_key`.
    Send {
        run: RunId,
        /// The send step's position in the journey's program.
        step: usize,
        destination: String,
        event: String,
        purpose: Purpose,
        /// `person/journey/run/step`.
        idempotency_key: String,
    },
    /// A send step that was skipped, for the journey's stats.
    Suppressed {
        run: RunId,
        step: usize,
        reason: SuppressReason,
    },
    /// A marketing send pushed to the end of the quiet hours.
    Delayed {
        run: RunId,
        step: usize,
        until: Millis,
    },
    /// A `set` step's pool has no code here yet ([`Person::codes_elsewhere`]):
    /// the run waits at `step` while the edge leases codes of `pool`.
    AwaitCode {
        run: RunId,
        step: usize,
        pool: String,
    },
    /// Facts the agent shows on the next page (`None` leaves one alone).
    SetFact {
        person: String,
        journey: String,
        tag: Option<String>,
        stage: Option<String>,
        coupon_pool: Option<String>,
    },
    Exit {
        run: RunId,
        reason: ExitReason,
    },
    /// The run reached step `step` (its position in the journey's program:
    /// [`super::Journey::reported_steps`] names it), for per-step reports. A
    /// send is reached when it is decided (sent or skipped), not when quiet
    /// hours put it off.
    Reached {
        run: RunId,
        step: usize,
    },
    /// The event a `wait_for` step waited for came: the run moves to
    /// `step` (its `then` path); the [`Effect::Schedule`] that follows
    /// arms its timer for now.
    Resume {
        run: RunId,
        step: usize,
    },
}

/// When a person was sent marketing messages (over all journeys and
/// channels), for the caps. The edge keeps the last week's per person.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CapsState {
    pub sent: Vec<Millis>,
}

impl CapsState {
    fn count_since(&self, since: Millis) -> u32 {
        self.sent.iter().filter(|&&t| t > since).count() as u32
    }

    /// Whether one more marketing message at `now` stays within `caps`.
    pub fn allows(&self, caps: &super::MessagingCaps, now: Millis) -> bool {
        let under = |cap: Option<u32>, window: Millis| {
            cap.is_none_or(|cap| self.count_since(now - window) < cap)
        };
        under(caps.per_day, DAY) && under(caps.per_week, 7 * DAY)
    }

    /// Records a send and forgets those older than a week.
    pub fn record(&mut self, now: Millis) {
        self.sent.retain(|&t| t > now - 7 * DAY);
        self.sent.push(now);
    }
}

impl Journeys {
    /// What an event from `person` does: enters journeys it starts (audience
    /// matching, no active run, past the cooldown) and ends active runs whose
    /// goal it is. `runs` are the person's runs, the latest of each journey
    /// at least (for run numbers and the cooldown).
    /// `properties` are the event's: an event entry with a filter enters
    /// only when they match it.
    pub fn on_event(
        &self,
        person: &Person,
        runs: &[Run],
        event: &str,
        properties: &Attributes,
        now: Millis,
    ) -> Vec<Effect> {
        let mut effects = Vec::new();
        for run in runs
            .iter()
            .filter(|r| r.is_active() && r.id.person == person.id)
        {
            let is_goal = self
                .journey(&run.id.journey)
                .is_some_and(|j| j.goals.iter().any(|g| g == event));
            if is_goal {
                effects.push(Effect::CancelTimer {
                    run: run.id.clone(),
                });
                effects.push(Effect::Exit {
                    run: run.id.clone(),
                    reason: ExitReason::Goal,
                });
            } else if self.awaits(run, event) {
                effects.push(Effect::Resume {
                    run: run.id.clone(),
                    step: run.step + 1,
                });
                effects.push(Effect::Schedule {
                    run: run.id.clone(),
                    at: now,
                });
            }
        }
        for journey in &self.journeys {
            if matches!(&journey.entry, Entry::Event { name, filter }
                if name == event && filter.matches(properties))
            {
                effects.extend(self.enter(&journey.id, person, runs, now));
            }
        }
        effects
    }

    /// Whether `run` waits in a `wait_for` step for `event` (and its journey
    /// still has the shape it entered with: after an edit its position
    /// names another step, and its next step ends it as edited).
    fn awaits(&self, run: &Run, event: &str) -> bool {
        let Some(journey) = self.journey(&run.id.journey) else {
            return false;
        };
        journey.shape == run.shape
            && matches!(journey.program.get(run.step), Some(Op::Timeout { event: e, .. }) if e == event)
    }

    /// Enters `person` into the journey `id` now if they may (enabled,
    /// audience matching, no active run, past the cooldown): the edge calls
    /// this for derived entries (category views, inactivity, a date trait),
    /// [`Journeys::on_event`] for events. `runs` as there.
    pub fn enter(&self, id: &str, person: &Person, runs: &[Run], now: Millis) -> Vec<Effect> {
        let Some(run) = self
            .journey(id)
            .and_then(|journey| self.entry(journey, person, runs, now))
        else {
            return Vec::new();
        };
        let schedule = Effect::Schedule {
            run: run.id.clone(),
            at: now,
        };
        vec![Effect::Enter(run), schedule]
    }

    /// A new run of `journey` for `person`, if they may enter now.
    fn entry(&self, journey: &Journey, person: &Person, runs: &[Run], now: Millis) -> Option<Run> {
        let mine = || {
            runs.iter()
                .filter(|r| r.id.journey == journey.id && r.id.person == person.id)
        };
        if !journey.enabled
            || mine().any(Run::is_active)
            || !journey.audience.matches(&person.attributes)
        {
            return None;
        }
        // The cooldown counts from the latest entry (after a merge the
        // highest-numbered run need not be the latest).
        let last_entry = mine().map(|r| r.entered_at).max();
        if last_entry.is_some_and(|at| now < at + journey.cooldown) {
            return None;
        }
        let last_number = mine().map(|r| r.id.number).max();
        Some(Run {
            id: RunId {
                person: person.id.clone(),
                journey: journey.id.clone(),
                number: last_number.map_or(1, |n| n + 1),
            },
            step: 0,
            entered_at: now,
            next_due: Some(now),
            shape: journey.shape,
            exit: None,
            held_out: held_out(journey, &person.id),
        })
    }
}

/// Whether `person` is in `journey`'s holdout: the same answer for every run
/// of theirs (GrowthBook's hash of the person id, seeded by the journey id),
/// so a person is compared in one group only.
pub fn held_out(journey: &Journey, person: &str) -> bool {
    journey.holdout > 0
        && crate::bucket::hash(&format!("holdout/{}", journey.id), person, 2)
            .is_some_and(|n| n * 100.0 < f64::from(journey.holdout))
}
