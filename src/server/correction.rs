//! A change to a patient's registration details that says why: the FHIR `X-Provenance` header
//! (R4 http.html#provenance) on `PUT` or `PATCH Patient/id`, a Provenance whose `reason` is
//! the reason. Support staff correct demographics only this way (and only one record at a
//! time, naming the version they correct with `If-Match`); anyone who edits a patient may
//! give one. The server stores the Provenance beside the new version and writes the reason
//! into the audit record.

use axum::http::{HeaderMap, StatusCode};
use serde_json::{Value, json};

use crate::fhir::IssueCode;
use crate::server::response::ApiError;

pub const HEADER: &str = "x-provenance";

/// The longest reason kept (the header itself is bounded by the HTTP server).
pub const MAX_REASON: usize = 500;

fn bad(detail: impl std::fmt::Display) -> ApiError {
    ApiError::new(
        StatusCode::BAD_REQUEST,
        IssueCode::Invalid,
        format!(
            "the X-Provenance header {detail}; send a Provenance such as \
             {{\"resourceType\": \"Provenance\", \"reason\": [{{\"text\": \"surname misspelt at registration\"}}]}}"
        ),
    )
}

/// The reason the request's `X-Provenance` gives, if it has one; a header that is not a
/// Provenance with a reason in words is refused rather than ignored.
pub fn reason(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    let Some(raw) = headers.get(HEADER) else {
        return Ok(None);
    };
    let text = raw.to_str().map_err(|_| bad("is not text"))?;
    let value: Value = serde_json::from_str(text).map_err(|e| bad(format!("is not JSON ({e})")))?;
    if value["resourceType"] != "Provenance" {
        return Err(bad("is not a Provenance"));
    }
    let words = value["reason"]
        .as_array()
        .into_iter()
        .flatten()
        .find_map(|r| {
            r["text"].as_str().or_else(|| {
                r["coding"]
                    .as_array()?
                    .iter()
                    .find_map(|c| c["display"].as_str())
            })
        })
        .map(str::trim)
        .unwrap_or_default();
    if words.chars().count() < 4 {
        return Err(bad(
            "needs a reason in words (reason[0].text, at least a few words)",
        ));
    }
    if words.chars().count() > MAX_REASON {
        return Err(bad(format!(
            "has a reason longer than {MAX_REASON} characters"
        )));
    }
    if words.chars().any(char::is_control) {
        return Err(bad("has control characters in its reason"));
    }
    Ok(Some(words.to_string()))
}

/// The Provenance stored for a correction: the version it made, when, by whom, and why.
pub fn provenance(target: &str, recorded: &str, username: &str, reason: &str) -> Value {
    json!({
        "resourceType": "Provenance",
        "target": [{"reference": target}],
        "recorded": recorded,
        "activity": {"coding": [{
            "system": "http://terminology.hl7.org/CodeSystem/v3-DataOperation",
            "code": "UPDATE", "display": "revise"
        }]},
        "reason": [{"text": reason}],
        "agent": [{
            "type": {"coding": [{
                "system": "http://terminology.hl7.org/CodeSystem/provenance-participant-type",
                "code": "author", "display": "Author"
            }]},
            "who": {"display": username}
        }],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(HEADER, value.parse().unwrap());
        h
    }

    #[test]
    fn a_reason_is_read_or_the_header_refused() {
        assert_eq!(reason(&HeaderMap::new()).unwrap(), None);
        let ok =
            with(r#"{"resourceType":"Provenance","reason":[{"text":" birth date typed wrong "}]}"#);
        assert_eq!(
            reason(&ok).unwrap().as_deref(),
            Some("birth date typed wrong")
        );
        let coded = with(
            r#"{"resourceType":"Provenance","reason":[{"coding":[{"display":"data correction"}]}]}"#,
        );
        assert_eq!(reason(&coded).unwrap().as_deref(), Some("data correction"));
        for refused in [
            "not json",
            r#"{"resourceType":"Patient"}"#,
            r#"{"resourceType":"Provenance"}"#,
            r#"{"resourceType":"Provenance","reason":[{"text":"x"}]}"#,
            r#"{"resourceType":"Provenance","reason":"text"}"#,
        ] {
            let e = reason(&with(refused)).unwrap_err();
            assert_eq!(e.status, StatusCode::BAD_REQUEST, "{refused}");
        }
        let long = format!(
            r#"{{"resourceType":"Provenance","reason":[{{"text":"{}"}}]}}"#,
            "a".repeat(MAX_REASON + 1)
        );
        assert!(reason(&with(&long)).is_err());
    }
}
