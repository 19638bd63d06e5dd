//! How an audit record is stored: the event's own facts, in short keys, rendered as the FHIR
//! AuditEvent when it is read.
//!
//! Every request leaves a record, and the AuditEvent of a search names each patient it
//! returned with ~250 bytes of fixed codings around a few bytes of id. Stored whole, the
//! trail grew by about 5 MB a second under a ward's load, all of it written twice (the WAL,
//! then the checkpoint) and synced. The stored form keeps only what varies; `render` adds the
//! rest. Records stored whole by earlier versions (they start with `{"resourceType"`) are
//! served as they are.

use serde::{Deserialize, Serialize};

use super::{Agent, Event, Subtype};

/// The stored form's version, its first key: a record that does not start with it is a whole
/// AuditEvent from before.
const VERSION: u8 = 1;

#[derive(Serialize, Deserialize)]
struct Compact<'a> {
    v: u8,
    s: Subtype,
    #[serde(default, skip_serializing_if = "is_true")]
    ok: Option<bool>,
    #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
    d: Option<std::borrow::Cow<'a, str>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    st: Option<u16>,
    #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
    u: Option<std::borrow::Cow<'a, str>>,
    #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
    n: Option<std::borrow::Cow<'a, str>>,
    #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
    r: Option<std::borrow::Cow<'a, str>>,
    #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
    who: Option<std::borrow::Cow<'a, str>>,
    #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
    ip: Option<std::borrow::Cow<'a, str>>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    p: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    res: Vec<String>,
    #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
    q: Option<std::borrow::Cow<'a, str>>,
    #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
    btg: Option<std::borrow::Cow<'a, str>>,
}

/// `ok` is written only for a failure (most records succeed).
fn is_true(ok: &Option<bool>) -> bool {
    *ok != Some(false)
}

fn borrowed(s: &Option<String>) -> Option<std::borrow::Cow<'_, str>> {
    s.as_deref().map(std::borrow::Cow::Borrowed)
}

/// The stored form of `event`.
pub(super) fn compact(event: &Event) -> String {
    let form = Compact {
        v: VERSION,
        s: event.subtype,
        ok: (!event.success).then_some(false),
        d: borrowed(&event.description),
        st: event.status,
        u: borrowed(&event.agent.username),
        n: borrowed(&event.agent.name),
        r: borrowed(&event.agent.role),
        who: borrowed(&event.agent.reference),
        ip: borrowed(&event.address),
        p: event.patients.clone(),
        res: event.resources.clone(),
        q: borrowed(&event.query),
        btg: borrowed(&event.emergency_reason),
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
            let owned = |s: Option<std::borrow::Cow<str>>| s.map(|s| s.into_owned());
            let event = Event {
                subtype: form.s,
                success: form.ok.unwrap_or(true),
                description: owned(form.d),
                agent: Agent {
                    username: owned(form.u),
                    name: owned(form.n),
                    role: owned(form.r),
                    reference: owned(form.who),
                },
                address: owned(form.ip),
                patients: form.p,
                resources: form.res,
                query: owned(form.q),
                emergency_reason: owned(form.btg),
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
