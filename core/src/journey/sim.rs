//! An in-memory twin of the edge's run store and timers: plays journeys on a
//! virtual clock, for native tests and the edge's dry run.

use super::{CapsState, Effect, Journeys, Person, Run};
use crate::condition::Attributes;
use crate::prelude::*;
use crate::time::Millis;

/// Persons, their runs and caps, and every effect with when it happened.
#[derive(Debug, Default)]
pub struct Simulation {
    pub journeys: Journeys,
    pub persons: Vec<(Person, CapsState)>,
    pub runs: Vec<Run>,
    pub now: Millis,
    /// Every effect in order, with the virtual time it happened at.
    pub log: Vec<(Millis, Effect)>,
}

impl Simulation {
    pub fn new(journeys: Journeys, start: Millis) -> Self {
        Self {
            journeys,
            now: start,
            ..Self::default()
        }
    }

    /// Adds a person (or replaces one with the same id, keeping their caps).
    pub fn person(&mut self, person: Person) {
        match self.persons.iter_mut().find(|(p, _)| p.id == person.id) {
            Some((p, _)) => *p = person,
            None => self.persons.push((person, CapsState::default())),
        }
    }

    /// Plays timers up to `at`, then the event (without properties).
    pub fn event(&mut self, person: &str, event: &str, at: Millis) {
        self.event_with(person, event, &Attributes::new(), at);
    }

    /// Plays timers up to `at`, then the event with its `properties`.
    pub fn event_with(&mut self, person: &str, event: &str, properties: &Attributes, at: Millis) {
        self.play(person, at, |journeys, who, runs, now| {
            journeys.on_event(who, runs, event, properties, now)
        });
    }

    /// Plays timers up to `at`, then enters `person` into `journey` directly
    /// (a derived entry: category views, inactivity, a date trait).
    pub fn enter(&mut self, person: &str, journey: &str, at: Millis) {
        self.play(person, at, |journeys, who, runs, now| {
            journeys.enter(journey, who, runs, now)
        });
    }

    /// Plays timers up to `at`, then what `happen` makes of the person and
    /// their runs; a run entered now is due now, as the edge's alarm would fire it.
    fn play(
        &mut self,
        person: &str,
        at: Millis,
        happen: impl FnOnce(&Journeys, &Person, &[Run], Millis) -> Vec<Effect>,
    ) {
        self.advance_to(at);
        let Some((who, _)) = self.persons.iter().find(|(p, _)| p.id == person) else {
            return;
        };
        let runs: Vec<Run> = self
            .runs
            .iter()
            .filter(|r| r.id.person == person)
            .cloned()
            .collect();
        let effects = happen(&self.journeys, who, &runs, self.now);
        self.apply(effects);
        self.advance_to(self.now);
    }

    /// Fires every timer due by `at`, earliest first, as the edge's alarm would.
    pub fn advance_to(&mut self, at: Millis) {
        loop {
            let due = self
                .runs
                .iter()
                .enumerate()
                .filter_map(|(i, r)| {
                    r.next_due
                        .filter(|&d| d <= at && r.is_active())
                        .map(|d| (d, i))
                })
                .min();
            let Some((due, i)) = due else { break };
            self.now = self.now.max(due);
            let run = self.runs[i].clone();
            let Some((person, caps)) = self.persons.iter_mut().find(|(p, _)| p.id == run.id.person)
            else {
                break;
            };
            let (effects, next) = self.journeys.on_due(&run, person, caps, self.now);
            self.runs[i] = next;
            self.apply(effects);
        }
        self.now = self.now.max(at);
    }

    fn apply(&mut self, effects: Vec<Effect>) {
        for effect in effects {
            match &effect {
                Effect::Enter(run) => self.runs.push(run.clone()),
                Effect::Exit { run, reason } => {
                    if let Some(r) = self.runs.iter_mut().find(|r| &r.id == run) {
                        r.exit = Some(*reason);
                        r.next_due = None;
                    }
                }
                Effect::Resume { run, step } => {
                    if let Some(r) = self.runs.iter_mut().find(|r| &r.id == run) {
                        r.step = *step;
                    }
                }
                Effect::Schedule { run, at } => {
                    if let Some(r) = self.runs.iter_mut().find(|r| &r.id == run && r.is_active()) {
                        r.next_due = Some(*at);
                    }
                }
                _ => {}
            }
            self.log.push((self.now, effect));
        }
    }

    /// The sends so far: (time, person, event, idempotency key).
    pub fn sends(&self) -> Vec<(Millis, &str, &str, &str)> {
        self.log
            .iter()
            .filter_map(|(t, e)| match e {
                Effect::Send {
                    run,
                    event,
                    idempotency_key,
                    ..
                } => Some((
                    *t,
                    run.person.as_str(),
                    event.as_str(),
                    idempotency_key.as_str(),
                )),
                _ => None,
            })
            .collect()
    }
}
