//! Where events go: a site's destinations as types, and the one message the
//! forwarding queue carries (an event's forward and a journey's send alike).
//!
//! The destinations document is checked field by field, with paths, before
//! it is stored (`forward::destinations::validate`), and must then also read
//! as these types, so a stored document always does: forwarding, journeys'
//! outbox and the studio read it here, never by field name.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A site's destinations document as stored (credentials sealed).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Destinations {
    pub destinations: Vec<Destination>,
}

impl Destinations {
    /// The stored document's text read; `None` if it is not a document at
    /// all. A destination that does not read as these types (one stored
    /// before they checked everything, say, with a cap of -1) is left out
    /// and its id reported, never the whole document: one bad entry must
    /// not stop a site's forwarding.
    pub fn read(text: &str) -> Option<Destinations> {
        Self::read_reporting(text).map(|(read, _)| read)
    }

    /// [`Destinations::read`], with the ids (or positions) of the
    /// destinations left out.
    pub fn read_reporting(text: &str) -> Option<(Destinations, Vec<String>)> {
        let document: Value = serde_json::from_str(text).ok()?;
        let list = document.get("destinations")?.as_array()?;
        let mut read = Destinations::default();
        let mut left_out = Vec::new();
        for (i, entry) in list.iter().enumerate() {
            match serde_json::from_value::<Destination>(entry.clone()) {
                Ok(destination) => read.destinations.push(destination),
                Err(e) => left_out.push(format!(
                    "{} ({e})",
                    entry["id"].as_str().map_or(format!("#{i}"), str::to_owned)
                )),
            }
        }
        Some((read, left_out))
    }

    pub fn by_id(&self, id: &str) -> Option<&Destination> {
        self.destinations.iter().find(|d| d.id == id)
    }

    /// The one marked `"test": true`, where the studio's "Send me a test" goes.
    pub fn test(&self) -> Option<&Destination> {
        self.destinations.iter().find(|d| d.test)
    }
}

/// One destination: which channel, which events, for which purpose.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Destination {
    pub id: String,
    #[serde(flatten)]
    pub channel: Channel,
    /// Event names or calls (`page`, `identify`, `track`), `*` for all;
    /// empty for a destination only journeys send to.
    #[serde(default)]
    pub events: Vec<String>,
    /// The purpose the visitor must have agreed to.
    #[serde(default)]
    pub consent: Purpose,
    /// A webhook's target; for the API channels, a base that replaces the
    /// API's own (a proxy, or a local stand-in in tests).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// The destination's names for events, over the channel's defaults.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub map: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub test: bool,
    /// The credential, sealed for this site and destination
    /// (`forward::credentials`); absent only before `seal_all`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sealed: Option<String>,
}

/// The channel and what it alone needs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Channel {
    /// The event as is, Standard Webhooks signed, to `url`.
    Webhook,
    Klaviyo,
    Drip {
        account: String,
    },
    Twilio {
        account: String,
        /// An E.164 number or a Messaging Service SID.
        from: String,
        /// The text to send, per event name.
        #[serde(default, deserialize_with = "lenient::texts")]
        messages: BTreeMap<String, String>,
        #[serde(
            default,
            skip_serializing_if = "Option::is_none",
            deserialize_with = "lenient::count"
        )]
        daily_cap_per_number: Option<u64>,
        #[serde(
            default,
            skip_serializing_if = "Option::is_none",
            deserialize_with = "lenient::count"
        )]
        daily_cap: Option<u64>,
    },
    Meta {
        pixel: String,
        #[serde(
            default,
            skip_serializing_if = "Option::is_none",
            deserialize_with = "lenient::text"
        )]
        test_event_code: Option<String>,
    },
}

impl Channel {
    /// Its `kind` in the document.
    pub fn kind(&self) -> &'static str {
        match self {
            Channel::Webhook => "webhook",
            Channel::Klaviyo => "klaviyo",
            Channel::Drip { .. } => "drip",
            Channel::Twilio { .. } => "twilio",
            Channel::Meta { .. } => "meta",
        }
    }
}

/// Optional settings read as the code before these types read them, so a
/// document stored then still reads: what is not of the expected type counts
/// as absent (a cap of -1 is the default cap). Validation refuses such
/// values in new documents (`forward::destinations`).
mod lenient {
    use std::collections::BTreeMap;

    use serde::{Deserialize, Deserializer};
    use serde_json::Value;

    pub fn count<'de, D: Deserializer<'de>>(from: D) -> Result<Option<u64>, D::Error> {
        Ok(Value::deserialize(from)?.as_u64())
    }

    pub fn text<'de, D: Deserializer<'de>>(from: D) -> Result<Option<String>, D::Error> {
        Ok(Value::deserialize(from)?.as_str().map(str::to_owned))
    }

    pub fn texts<'de, D: Deserializer<'de>>(from: D) -> Result<BTreeMap<String, String>, D::Error> {
        let value = Value::deserialize(from)?;
        let entries = value.as_object().into_iter().flatten();
        Ok(entries
            .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned())))
            .collect())
    }
}

/// What a destination's messages are for, which the visitor's consent must cover.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Purpose {
    /// Sent whatever the visitor said (the shop's own records).
    None,
    /// Sent unless the visitor refused analytics.
    Analytics,
    /// Sent only if the visitor agreed to marketing.
    #[default]
    Marketing,
}

/// The forwarding queue's message: `event` for `destination` of `site`;
/// `person` names whom a journey's send is for (an event's forward finds
/// its person by the event's browser).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ForwardMessage {
    pub site: String,
    pub destination: Destination,
    pub event: Value,
    #[serde(default)]
    pub person: Option<String>,
    /// The site's object that stored the event or the send
    /// (`store::shards`), where its delivery is recorded; 0, left out,
    /// with one object.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub object: u16,
}

impl ForwardMessage {
    /// The event's id (`messageId`), which deliveries are recorded by.
    pub fn event_id(&self) -> &str {
        self.event["messageId"].as_str().unwrap_or_default()
    }

    /// As JSON text: the message survives the queue byte for byte.
    pub fn text(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// As a JSON value, for a dead letter.
    pub fn value(&self) -> Value {
        serde_json::to_value(self).unwrap_or_default()
    }
}

/// What `/v1/events` puts on the forwarding queue: the events of one batch
/// that one destination wants, as one message (up to the queue's message
/// size), so a batch of 20 events costs the queue one message per
/// destination, not 20. The consumer reads it as one [`ForwardMessage`] per
/// event ([`ForwardBatch::units`]); journeys' sends, test sends and
/// replayed dead letters stay single `ForwardMessage`s.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ForwardBatch {
    pub site: String,
    pub destination: Destination,
    pub events: Vec<Value>,
    /// How many times these events were tried already: a batch's events
    /// that must be tried again travel on as a new batch, one attempt on,
    /// so one failing event never makes its siblings sent again.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub attempt: u32,
    /// As `ForwardMessage::object`: a batch's events are all one object's.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub object: u16,
}

fn is_zero<N: Default + PartialEq>(n: &N) -> bool {
    *n == N::default()
}

impl ForwardBatch {
    /// One forward per event, in order.
    pub fn units(self) -> Vec<ForwardMessage> {
        let ForwardBatch {
            site,
            destination,
            events,
            object,
            ..
        } = self;
        events
            .into_iter()
            .map(|event| ForwardMessage {
                site: site.clone(),
                destination: destination.clone(),
                event,
                person: None,
                object,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_document_reads_as_types_and_writes_back_as_it_was() {
        let text = json!({"destinations": [
            {"id": "hook", "kind": "webhook", "url": "https://x.example/h", "events": ["*"],
             "consent": "none", "sealed": "s1"},
            {"id": "sms", "kind": "twilio", "account": "AC1", "from": "+15550001111",
             "events": ["Order Completed"], "messages": {"Order Completed": "Thanks!"},
             "daily_cap": 10, "consent": "marketing", "sealed": "s2", "test": true},
            {"id": "ads", "kind": "meta", "pixel": "123", "events": ["page"], "consent": "analytics",
             "map": {"Signed Up": "Lead"}, "sealed": "s3"},
        ]});
        let read = Destinations::read(&text.to_string()).unwrap();
        assert_eq!(read.destinations[0].channel, Channel::Webhook);
        assert_eq!(read.destinations[0].consent, Purpose::None);
        assert_eq!(read.by_id("sms").unwrap().channel.kind(), "twilio");
        assert_eq!(read.test().unwrap().id, "sms");
        assert_eq!(serde_json::to_value(&read).unwrap(), text);
        // Consent defaults to marketing, the strictest.
        let bare = json!({"destinations": [{"id": "k", "kind": "klaviyo"}]});
        let bare = Destinations::read(&bare.to_string()).unwrap();
        assert_eq!(bare.destinations[0].consent, Purpose::Marketing);
        // An unknown kind, or a channel missing what it needs, does not
        // read: that destination is left out, the others still forward.
        let good = json!({"id": "k", "kind": "klaviyo"});
        for bad in [
            json!({"id": "x", "kind": "fax"}),
            json!({"id": "x", "kind": "drip"}),
            json!({"id": "x", "kind": "meta"}),
        ] {
            let doc = json!({"destinations": [bad, good]}).to_string();
            let (read, left_out) = Destinations::read_reporting(&doc).unwrap();
            assert_eq!(read.destinations.len(), 1, "{doc}");
            assert_eq!(read.destinations[0].id, "k");
            assert!(left_out[0].starts_with("x ("), "{left_out:?}");
        }
        assert_eq!(Destinations::read("[]"), None);
        // A document stored before the types checked everything still reads
        // as it did: a cap that is not a count is the default.
        let old = json!({"destinations": [{"id": "sms", "kind": "twilio", "account": "AC1",
            "from": "+1", "daily_cap": -1, "daily_cap_per_number": "3",
            "messages": {"Order Completed": "Thanks", "Other": 5}, "events": ["Order Completed"]}]});
        let read = Destinations::read(&old.to_string()).unwrap();
        let Channel::Twilio {
            daily_cap,
            daily_cap_per_number,
            messages,
            ..
        } = &read.destinations[0].channel
        else {
            panic!("a twilio destination");
        };
        assert_eq!((*daily_cap, *daily_cap_per_number), (None, None));
        assert_eq!(messages.len(), 1);
    }
}
