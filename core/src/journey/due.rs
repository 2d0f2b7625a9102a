//! Running a due run: from its current step up to the next wait or its end,
//! deciding each send (consent, quiet hours, caps, the holdout) as it goes.

use super::engine::{CapsState, Effect, ExitReason, Person, Run, SuppressReason, CODE_WAIT};
use super::{Journeys, Op, Purpose, Step};
use crate::prelude::*;
use crate::time::Millis;

impl Journeys {
    /// Runs a due run from its current step up to the next wait (or its end).
    /// `caps` is the person's marketing sends; sends made here are recorded in
    /// it. A timer that fires early, or for an ended run, changes nothing.
    pub fn on_due(
        &self,
        run: &Run,
        person: &Person,
        caps: &mut CapsState,
        now: Millis,
    ) -> (Vec<Effect>, Run) {
        let mut effects = Vec::new();
        let mut next = run.clone();
        match run.next_due {
            Some(due) if due <= now && run.is_active() => {}
            _ => return (effects, next),
        }
        let journey = match self.journey(&run.id.journey) {
            None => return finish(effects, next, ExitReason::Removed),
            Some(j) if !j.enabled => return finish(effects, next, ExitReason::Disabled),
            Some(j) if j.shape != run.shape => return finish(effects, next, ExitReason::Edited),
            Some(j) => j,
        };
        let id = &run.id;
        loop {
            let Some(op) = journey.program.get(next.step) else {
                return finish(effects, next, ExitReason::Completed);
            };
            let step = next.step;
            next.step += 1;
            let reached = Effect::Reached {
                run: id.clone(),
                step,
            };
            if !matches!(
                op,
                Op::Jump(_) | Op::Timeout { .. } | Op::Step(Step::Send { .. } | Step::Set { .. })
            ) {
                effects.push(reached.clone());
            }
            let step_op = match op {
                Op::Branch {
                    condition,
                    otherwise,
                } => {
                    if !condition.matches(&person.attributes) {
                        next.step = *otherwise;
                    }
                    continue;
                }
                Op::Jump(to) => {
                    next.step = *to;
                    continue;
                }
                // A `wait_for` waits at the next op; its timer brings the
                // run back there only if the event did not come in time.
                Op::Await { within } => return wait(effects, next, now + within),
                Op::Timeout { otherwise, .. } => {
                    next.step = *otherwise;
                    continue;
                }
                Op::Step(step_op) => step_op,
            };
            match step_op {
                Step::Wait { duration } => return wait(effects, next, now + duration),
                Step::WaitUntil { time } => return wait(effects, next, time.next_after(now)),
                Step::Send {
                    destination,
                    event,
                    purpose,
                } => {
                    if let Some(reason) = refused(run, person, *purpose) {
                        effects.push(reached);
                        effects.push(Effect::Suppressed {
                            run: id.clone(),
                            step,
                            reason,
                        });
                        continue;
                    }
                    if *purpose == Purpose::Marketing {
                        if let Some(until) = self.quiet_hours.and_then(|q| q.ends_at(now)) {
                            // Come back to this same step when the window ends.
                            next.step = step;
                            effects.push(Effect::Delayed {
                                run: id.clone(),
                                step,
                                until,
                            });
                            return wait(effects, next, until);
                        }
                        effects.push(reached);
                        if !caps.allows(&self.caps, now) {
                            effects.push(Effect::Suppressed {
                                run: id.clone(),
                                step,
                                reason: SuppressReason::Cap,
                            });
                            continue;
                        }
                        caps.record(now);
                    } else {
                        effects.push(reached);
                    }
                    effects.push(Effect::Send {
                        run: id.clone(),
                        step,
                        destination: destination.clone(),
                        event: event.clone(),
                        purpose: *purpose,
                        idempotency_key: format!(
                            "{}/{}/{}/{step}",
                            id.person, id.journey, id.number
                        ),
                    });
                }
                // Nor a tag, stage or coupon: the comparison is with nothing.
                Step::Set { .. } if run.held_out => effects.push(reached),
                Step::Set {
                    tag,
                    stage,
                    coupon_pool,
                } => {
                    let elsewhere = coupon_pool
                        .as_ref()
                        .filter(|pool| person.codes_elsewhere.contains(pool));
                    if let Some(pool) = elsewhere {
                        // Reached when it runs, so waiting counts nothing.
                        next.step = step;
                        effects.push(Effect::AwaitCode {
                            run: id.clone(),
                            step,
                            pool: pool.clone(),
                        });
                        return wait(effects, next, now + CODE_WAIT);
                    }
                    effects.push(reached);
                    effects.push(Effect::SetFact {
                        person: id.person.clone(),
                        journey: id.journey.clone(),
                        tag: tag.clone(),
                        stage: stage.clone(),
                        coupon_pool: coupon_pool.clone(),
                    });
                }
                Step::End => return finish(effects, next, ExitReason::End),
                // Branches and `wait_for` were flattened into ops when read.
                Step::Branch { .. } | Step::WaitFor { .. } => {}
            }
        }
    }
}

/// Why a send is skipped whatever the clock says: the holdout runs the
/// clock and receives nothing; a marketing message needs consent and an
/// address off the suppression list.
fn refused(run: &Run, person: &Person, purpose: Purpose) -> Option<SuppressReason> {
    if run.held_out {
        Some(SuppressReason::Holdout)
    } else if purpose == Purpose::Marketing
        && (person.suppressed || person.consent.marketing != Some(true))
    {
        Some(SuppressReason::Consent)
    } else {
        None
    }
}

fn wait(mut effects: Vec<Effect>, mut next: Run, at: Millis) -> (Vec<Effect>, Run) {
    next.next_due = Some(at);
    effects.push(Effect::Schedule {
        run: next.id.clone(),
        at,
    });
    (effects, next)
}

fn finish(mut effects: Vec<Effect>, mut next: Run, reason: ExitReason) -> (Vec<Effect>, Run) {
    next.next_due = None;
    next.exit = Some(reason);
    effects.push(Effect::Exit {
        run: next.id.clone(),
        reason,
    });
    (effects, next)
}
