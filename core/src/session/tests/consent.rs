//! Consent: what may leave the browser, and when a sign-in is another user's.

use crate::profile::Consent;
use crate::session::consent::{is_another_user, Mode};

#[test]
fn what_may_leave_the_browser() {
    let consent = |analytics| Consent {
        analytics,
        marketing: None,
    };
    let (open, opt_in, preview) = (
        Mode::default(),
        Mode {
            opt_in: true,
            previewing: false,
        },
        Mode {
            opt_in: false,
            previewing: true,
        },
    );
    // (mode, analytics consent, may contact the edge, queues events)
    let table = [
        (open, None, true, true),
        (open, Some(true), true, true),
        (open, Some(false), false, false),
        // Opt-in: events wait in the outbox until analytics is granted.
        (opt_in, None, false, true),
        (opt_in, Some(true), true, true),
        (opt_in, Some(false), false, false),
        // A preview's tab sends and queues nothing, whatever was consented.
        (preview, None, false, false),
        (preview, Some(true), false, false),
    ];
    for (mode, analytics, contact, queue) in table {
        assert_eq!(
            mode.may_contact_edge(consent(analytics)),
            contact,
            "{mode:?} {analytics:?}"
        );
        assert_eq!(
            mode.queues_events(consent(analytics)),
            queue,
            "{mode:?} {analytics:?}"
        );
    }
}

#[test]
fn a_sign_in_is_another_users_only_over_a_different_signed_in_user() {
    let table = [
        (None, None, false),
        (None, Some("u1"), false), // an anonymous visitor signs in: the same person
        (Some("u1"), None, false),
        (Some("u1"), Some("u1"), false),
        (Some("u1"), Some("u2"), true),
    ];
    for (current, next, another) in table {
        assert_eq!(
            is_another_user(current, next),
            another,
            "{current:?} {next:?}"
        );
    }
}
