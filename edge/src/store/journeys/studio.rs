//! What the studio plays without storing or sending anything: a journey on
//! a virtual clock (the dry run), and one send step's message as it would
//! leave (the payload preview and the "send me a test"). Each takes the live
//! journey or the studio's draft of it.

use nudge_core::journey::sim::Simulation;
use nudge_core::journey::{CapsState, Effect, Entry, Journey, Journeys};
use nudge_core::time::DAY as DAY_MS;
use serde_json::{json, Value};

use super::super::persons::Db;
use super::super::protocol::{DryRun, SampleSend, StoreError, StoreResult, StudioPerson};
use super::reads::{effect_json, iso};
use crate::store::protocol::DryRunPlay;
use crate::store::protocol::SampleMessage;

/// The longest a dry run looks ahead, and the most events it takes.
pub const MAX_DRY_RUN_DAYS: i64 = 400;
pub const MAX_DRY_RUN_EVENTS: usize = 50;

impl Db<'_> {
    /// Journey `id`: the studio's draft of it (`draft`), or the live one.
    fn studied_journey(&self, journeys: &Journeys, id: &str, draft: bool) -> StoreResult<Journey> {
        if draft {
            return self.draft_journey(id);
        }
        journeys
            .journey(id)
            .cloned()
            .ok_or_else(|| StoreError::NotFound(format!("the live config has no journey {id:?}")))
    }

    /// The person a play is for: passed from their own object (`who`),
    /// else read here by any of their names; `None` plays a sample person.
    fn player(
        &self,
        person: Option<&str>,
        who: Option<&StudioPerson>,
    ) -> StoreResult<Option<StudioPerson>> {
        match (who, person) {
            (Some(who), _) => Ok(Some(who.clone())),
            (None, Some(id)) => self.studio_person(id).map(Some),
            (None, None) => Ok(None),
        }
    }

    /// What a play at the home needs of a person named `id` (any name).
    pub fn studio_person(&self, id: &str) -> StoreResult<StudioPerson> {
        let Some(person) = self.find_person(id)? else {
            return Err(StoreError::NotFound(format!(
                "no person is known by {id:?}"
            )));
        };
        Ok(StudioPerson {
            facts: self.journey_facts(&person)?,
            caps: self.caps_state(&person)?.sent,
            vouched: self.may_take_pool_code(&person)?,
            send_properties: self.send_properties(&person)?,
        })
    }

    /// Plays `journey` for a person on a virtual clock from now: their real
    /// attributes, consent and caps; `events` are (seconds after now, name).
    #[cfg(test)]
    pub fn dry_run(
        &self,
        journeys: &Journeys,
        journey_id: &str,
        draft: bool,
        person: Option<&str>,
        events: &[(i64, String)],
        days: i64,
    ) -> StoreResult<DryRunPlay> {
        let ask = DryRun {
            journey: journey_id.to_owned(),
            draft,
            person: person.map(str::to_owned),
            events: events.to_vec(),
            days,
            who: None,
        };
        self.dry_run_asked(journeys, &ask)
    }

    /// As `dry_run`, for a person read here or passed from their own object
    /// (`ask.who`, a site over several objects).
    pub fn dry_run_asked(&self, journeys: &Journeys, ask: &DryRun) -> StoreResult<DryRunPlay> {
        let (journey_id, person, events, days) = (
            ask.journey.as_str(),
            ask.person.as_deref(),
            &ask.events,
            ask.days,
        );
        let journey = &self.studied_journey(journeys, journey_id, ask.draft)?;
        let mut only = journeys.clone();
        only.journeys = vec![journey.clone()];
        only.journeys[0].enabled = true;
        let player = self.player(person, ask.who.as_ref())?;
        let who = match &player {
            Some(p) => p.facts.person(),
            None => nudge_core::journey::Person {
                id: "dry-run".into(),
                consent: nudge_core::profile::Consent {
                    analytics: Some(true),
                    marketing: Some(true),
                },
                ..Default::default()
            },
        };
        let caps = CapsState {
            sent: player.as_ref().map(|p| p.caps.clone()).unwrap_or_default(),
        };
        let mut sim = Simulation::new(only, self.now);
        sim.persons.push((who.clone(), caps));
        match &journey.entry {
            Entry::Event { name, .. } if events.is_empty() => sim.event(&who.id, name, self.now),
            Entry::Event { .. } => {}
            _ => sim.enter(&who.id, journey_id, self.now),
        }
        for (after, name) in events.iter().take(MAX_DRY_RUN_EVENTS) {
            sim.event(
                &who.id,
                name,
                self.now + after.clamp(&0, &(MAX_DRY_RUN_DAYS * 86_400)) * 1000,
            );
        }
        sim.advance_to(self.now + days.clamp(1, MAX_DRY_RUN_DAYS) * DAY_MS);
        // The simulation hands out pool codes freely; the store says whether
        // this person would get one now (someone vouches for them, the pool
        // has codes left), as the real step would.
        let vouched = player.as_ref().is_some_and(|p| p.vouched);
        let mut timeline = Vec::new();
        for (at, effect) in &sim.log {
            // What a marketer reads: what happens, not each step passed.
            if matches!(effect, Effect::Reached { .. }) {
                continue;
            }
            let mut e = effect_json(effect);
            e["at"] = json!(iso(*at));
            e["after_seconds"] = json!((at - self.now) / 1000);
            if let Some(pool) = e["coupon_pool"].as_str().map(str::to_owned) {
                let available = self.pool_counts(&pool)?.available;
                e["coupon"] = json!(if !vouched {
                    "unverified"
                } else if available == 0 {
                    "pool_empty"
                } else {
                    "given"
                });
            }
            timeline.push(e);
        }
        Ok(DryRunPlay(
            json!({"journey": journey_id, "person": person, "from": iso(self.now),
                  "days": days.clamp(1, MAX_DRY_RUN_DAYS), "timeline": timeline}),
        ))
    }
}

/// The cart, viewed products and coupon a sample person's message carries,
/// when the studio previews a step without a real person.
fn sample_properties() -> Value {
    json!({
        "cart": {"products": [{"product_id": "sample-1", "name": "Sample product", "price": 49.0, "quantity": 1}],
                 "value": 49.0},
        "viewed_products": [{"product_id": "sample-1", "name": "Sample product", "price": 49.0}],
        "coupon": {"code": "SAMPLE-CODE", "expires_at": null},
    })
}

impl Db<'_> {
    /// The message send step `path` of the journey (live, or its draft)
    /// would deliver for `person` (their cart and products, their coupon
    /// masked; without one, a sample person's), marked as a test and
    /// addressed to nobody real: `{destination, purpose, event}`. Nothing is
    /// stored, counted or sent here.
    #[cfg(test)]
    pub fn sample_send(
        &self,
        journeys: &Journeys,
        journey_id: &str,
        draft: bool,
        path: &str,
        person: Option<&str>,
    ) -> StoreResult<SampleMessage> {
        let ask = SampleSend {
            journey: journey_id.to_owned(),
            draft,
            path: path.to_owned(),
            person: person.map(str::to_owned),
            who: None,
        };
        self.sample_send_asked(journeys, &ask)
    }

    /// As `sample_send`, for a person read here or passed from their own
    /// object (`ask.who`).
    pub fn sample_send_asked(
        &self,
        journeys: &Journeys,
        ask: &SampleSend,
    ) -> StoreResult<SampleMessage> {
        let (journey_id, path) = (ask.journey.as_str(), ask.path.as_str());
        let journey = self.studied_journey(journeys, journey_id, ask.draft)?;
        let Some(send) = journey.send_at(path) else {
            return Err(StoreError::NotFound(format!(
                "journey {journey_id} has no send step at {path}"
            )));
        };
        let (person, properties) = match self.player(ask.person.as_deref(), ask.who.as_ref())? {
            Some(p) => (Some(p.facts.id), p.send_properties),
            None => (None, sample_properties()),
        };
        let purpose = match send.purpose {
            nudge_core::journey::Purpose::Marketing => "marketing",
            nudge_core::journey::Purpose::Transactional => "transactional",
        };
        let run = nudge_core::journey::RunId {
            person: person.clone().unwrap_or_else(|| "sample-person".into()),
            journey: journey.id.clone(),
            number: 0,
        };
        // Its own key: a test never meets a real send's de-duplication.
        let key = format!(
            "test/{}/{}/{}/{}",
            run.person, run.journey, self.now, send.step
        );
        let mut event = self.send_event(&run, send.event, purpose, &key, properties)?;
        event["properties"]["test"] = json!(true);
        event["context"]["test"] = json!(true);
        // Nobody real: no channel may address the person it was built for,
        // and their coupon, a code anyone could redeem, is not shown.
        event["anonymousId"] = json!(format!("test-{}", key.replace('/', "-")));
        event["userId"] = Value::Null;
        if person.is_some() && event["properties"]["coupon"].is_object() {
            event["properties"]["coupon"]["code"] = json!("(their code)");
        }
        Ok(SampleMessage {
            destination: send.destination.to_string(),
            purpose: purpose.to_owned(),
            event,
        })
    }
}
