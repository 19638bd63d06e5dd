//! How an audit record is stored: the event's own facts, in short keys, rendered as the FHIR
//! AuditEvent when it is read.
//!
//! Every request leaves a record, and the AuditEvent of a search names each patient it
//! returned with ~250 bytes of fixed codings around a few bytes of id. Stored whole, the
//! trail grew by about 5 MB a second under a ward's load, all of it written twice (the WAL,
//! then the checkpoint) and synced. The stored form keeps only what varies; `render` adds the
//! rest. Records stored whole by earlier versions (they start with `{"resourceType"`) are
//! served as they are.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

use super::{Agent, Event, Subtype};

/// The stored form's version, its first key: a record that does not start with it is a whole
/// AuditEvent from before.
const VERSION: u8 = 1;

/// Text borrowed from the event when written, and from the stored text when read (owned
/// where it holds escapes).
type Text<'a> = Option<Cow<'a, str>>;

#[derive(Serialize, Deserialize)]
struct Compact<'a> {
    v: u8,
    s: Subtype,
    /// Written only for a failure (most records succeed).
    #[serde(default = "succeeded", skip_serializing_if = "is_success")]
    ok: bool,
    #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
    d: Text<'a>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    st: Option<u16>,
    #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
    u: Text<'a>,
    #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
    n: Text<'a>,
    #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
    r: Text<'a>,
    #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
    who: Text<'a>,
    #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
    ip: Text<'a>,
    #[serde(default, skip_serializing_if = "<[String]>::is_empty")]
    p: Cow<'a, [String]>,
    #[serde(default, skip_serializing_if = "<[String]>::is_empty")]
    res: Cow<'a, [String]>,
    #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
    q: Text<'a>,
    #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
    btg: Text<'a>,
    /// The reason given for a change.
    #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
    why: Text<'a>,
}

fn succeeded() -> bool {
    true
}

fn is_success(ok: &bool) -> bool {
    *ok
}

fn borrowed(s: &Option<String>) -> Text<'_> {
    s.as_deref().map(Cow::Borrowed)
}

/// The stored form of `event`, borrowing all of it (one per request, on its way to the trail).
pub(super) fn compact(event: &Event) -> String {
    let form = Compact {
        v: VERSION,
        s: event.subtype,
        ok: event.success,
        d: borrowed(&event.description),
        st: event.status,
        u: borrowed(&event.agent.username),
        n: borrowed(&event.agent.name),
        r: borrowed(&event.agent.role),
        who: borrowed(&event.agent.reference),
        ip: borrowed(&event.address),
        p: Cow::Borrowed(&event.patients),
        res: Cow::Borrowed(&event.resources),
        q: borrowed(&event.query),
        btg: borrowed(&event.emergency_reason),
        why: borrowed(&event.reason),
    };
    // Serializing strings, numbers and a unit enum to a String cannot fail.
    serde_json::to_string(&form).unwrap_or_default()
}

/// The FHIR AuditEvent JSON of the record stored as `stored`, with its id and time (epoch ms).
pub fn render(id: &str, recorded_ms: i64, stored: &str) -> String {
    if !stored.starts_with("{\"v\":") {
        return stored.to_string();
    }
    match serde_json::from_str::<Compact>(stored) {
        Ok(form) if form.v == VERSION => {
            let owned = |s: Text| s.map(Cow::into_owned);
            let event = Event {
                subtype: form.s,
                success: form.ok,
                description: owned(form.d),
                agent: Agent {
                    username: owned(form.u),
                    name: owned(form.n),
                    role: owned(form.r),
                    reference: owned(form.who),
                },
                address: owned(form.ip),
                patients: form.p.into_owned(),
                resources: form.res.into_owned(),
                query: owned(form.q),
                emergency_reason: owned(form.btg),
                reason: owned(form.why),
                status: form.st,
            };
            event.json(id, recorded_ms)
        }
        // Not expected (records cannot be changed once written): say so in the record
        // rather than fail the whole listing, and never guess its content.
        _ => {
            tracing::warn!(
                record = id,
                "an audit record's stored form could not be read"
            );
            let mut unreadable = Event::new(Subtype::Operation, Agent::default());
            unreadable.success = false;
            unreadable.description = Some(
                "this audit record's stored form could not be read; see the server log".into(),
            );
            unreadable.json(id, recorded_ms)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn full_event() -> Event {
        let mut event = super::super::tests::full_event();
        event.subtype = Subtype::BreakGlass;
        event.patients.push("p-2".into());
        event.emergency_reason = Some("arrest, \u{e9}\u{301}".into());
        event
    }

    /// Rendering the stored form gives the very AuditEvent the event makes.
    #[test]
    fn the_stored_form_renders_as_the_whole_audit_event() {
        for event in [full_event(), Event::new(Subtype::Read, Agent::default())] {
            let stored = compact(&event);
            assert!(stored.starts_with("{\"v\":1,"), "{stored}");
            assert_eq!(
                render("a1", 1_700_000_000_123, &stored),
                event.json("a1", 1_700_000_000_123)
            );
        }
    }

    /// Subtypes are stored by their code: single words in lower case, the others in kebab
    /// case (all of those are here).
    #[test]
    fn subtypes_are_stored_by_their_code() {
        use Subtype::*;
        let words = [
            BreakGlass,
            UserAdmin,
            AuthFailure,
            SecurityLabel,
            PasswordChange,
        ];
        for subtype in words.into_iter().chain([Read, Vread, Search, Rekey]) {
            let stored = serde_json::to_value(subtype).unwrap();
            assert_eq!(stored, subtype.code(), "{subtype:?}");
            assert_eq!(serde_json::from_value::<Subtype>(stored).unwrap(), subtype);
        }
    }

    /// A search's record of 20 patients is a fraction of its AuditEvent's size.
    #[test]
    fn a_search_of_twenty_patients_is_stored_small() {
        let mut event = Event::new(Subtype::Search, Agent::default());
        event.patients = (0..20).map(|n| format!("patient-{n}")).collect();
        event.query = Some("name=smith".into());
        let (stored, whole) = (compact(&event), event.json("a1", 0));
        assert!(
            stored.len() * 5 < whole.len(),
            "{} vs {}",
            stored.len(),
            whole.len()
        );
    }

    /// Records stored whole by earlier versions are served as they are; a damaged one is
    /// served as a failure that says so, with its id.
    #[test]
    fn earlier_and_damaged_records_are_still_served() {
        let whole = full_event().json("old", 5);
        assert_eq!(render("old", 5, &whole), whole);
        let damaged: serde_json::Value =
            serde_json::from_str(&render("bad", 5, "{\"v\":1,\"s\":\"nonsense\"}")).unwrap();
        assert_eq!(damaged["id"], "bad");
        assert_eq!(damaged["outcome"], "4");
        assert!(
            damaged["outcomeDesc"]
                .as_str()
                .unwrap()
                .contains("could not be read")
        );
    }
}
