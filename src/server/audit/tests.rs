use super::*;
use serde_json::json;

/// An event with every part set (a quoted name, a failure, emergency access).
pub(crate) fn full_event() -> Event {
    let mut event = Event::new(
        Subtype::Search,
        Agent {
            username: Some("t.nurse".into()),
            name: Some("Tess \"Nurse\"".into()),
            role: Some("nurse".into()),
            reference: Some("Practitioner/p1".into()),
        },
    );
    event.success = false;
    event.description = Some("refused".into());
    event.status = Some(403);
    event.address = Some("10.0.0.7".into());
    event.patients = vec!["p-1".into()];
    event.resources = vec!["Observation/o1".into()];
    event.query = Some("name=smith".into());
    event.emergency_reason = Some("arrest".into());
    event
}

/// The served JSON is the same AuditEvent the `json!` builder it replaced made.
#[test]
fn stored_json_has_every_part() {
    let event = full_event();
    let stored: Value = serde_json::from_str(&event.json("a1", 0)).unwrap();
    let entity_type = "http://terminology.hl7.org/CodeSystem/audit-entity-type";
    let object_role = "http://terminology.hl7.org/CodeSystem/object-role";
    let expected = json!({
        "resourceType": "AuditEvent",
        "id": "a1",
        "type": {"system": "http://terminology.hl7.org/CodeSystem/audit-event-type",
            "code": "rest", "display": "RESTful Operation"},
        "subtype": [{"system": "http://hl7.org/fhir/restful-interaction", "code": "search-type"}],
        "action": "E",
        "recorded": "1970-01-01T00:00:00.000Z",
        "outcome": "4",
        "agent": [{
            "type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ParticipationType",
                "code": "IRCP", "display": "information recipient"}]},
            "requestor": true,
            "altId": "t.nurse",
            "who": {"reference": "Practitioner/p1", "display": "Tess \"Nurse\""},
            "role": [{"coding": [{"system": "urn:bedside:role", "code": "nurse"}]}],
            "network": {"address": "10.0.0.7", "type": "2"},
        }],
        "source": {
            "observer": {"display": "bedside"},
            "type": [{"system": "http://terminology.hl7.org/CodeSystem/security-source-type",
                "code": "4", "display": "Application Server"}]
        },
        "outcomeDesc": "refused; HTTP 403",
        "purposeOfEvent": [{
            "coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ActReason",
                "code": "BTG", "display": "break the glass"}],
            "text": "arrest"
        }],
        "entity": [
            {"what": {"reference": "Patient/p-1"},
             "type": {"system": entity_type, "code": "1", "display": "Person"},
             "role": {"system": object_role, "code": "1", "display": "Patient"}},
            {"what": {"reference": "Observation/o1"},
             "type": {"system": entity_type, "code": "2", "display": "System Object"},
             "role": {"system": object_role, "code": "4", "display": "Domain Resource"}},
            {"type": {"system": entity_type, "code": "2", "display": "System Object"},
             "role": {"system": object_role, "code": "24", "display": "Query"},
             "query": "bmFtZT1zbWl0aA==",
             "description": "name=smith"},
        ],
    });
    assert_eq!(stored, expected);
    assert_eq!(event.resource("a1", 0), expected);
}

/// An event with nothing optional leaves those parts out rather than writing nulls.
#[test]
fn bare_event_leaves_out_what_it_lacks() {
    let stored: Value =
        serde_json::from_str(&Event::new(Subtype::Login, Agent::default()).json("a2", 0)).unwrap();
    let agent = stored["agent"][0].as_object().unwrap();
    assert!(!agent.contains_key("who") && !agent.contains_key("altId"));
    assert!(stored.get("entity").is_none() && stored.get("outcomeDesc").is_none());
    assert_eq!(stored["subtype"][0]["code"], "110122");
}
