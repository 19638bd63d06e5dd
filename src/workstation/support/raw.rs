//! A resource as the server holds it: formatted JSON, one member per line, that folds and
//! is searched; the references in it, to follow; its versions and what changed between two
//! of them, field by field.

use serde_json::Value;

use crate::fhir::diff::{Change, fields};

/// One line of formatted JSON.
#[derive(Clone, Debug, PartialEq)]
pub struct Line {
    pub depth: usize,
    pub text: String,
    /// For a line that opens an object or array: the index of the line that closes it.
    pub closes_at: Option<usize>,
    /// A reference on this line (`"reference": "Type/id"`), to follow.
    pub reference: Option<String>,
}

fn scalar(v: &Value) -> String {
    v.to_string()
}

fn walk(key: Option<&str>, v: &Value, depth: usize, last: bool, out: &mut Vec<Line>) {
    let comma = if last { "" } else { "," };
    let label = key
        .map(|k| format!("{}: ", Value::String(k.to_string())))
        .unwrap_or_default();
    match v {
        Value::Object(map) if !map.is_empty() => {
            let open = out.len();
            out.push(Line {
                depth,
                text: format!("{label}{{"),
                closes_at: None,
                reference: None,
            });
            let n = map.len();
            for (i, (k, child)) in map.iter().enumerate() {
                walk(Some(k), child, depth + 1, i + 1 == n, out);
            }
            out[open].closes_at = Some(out.len());
            out.push(Line {
                depth,
                text: format!("}}{comma}"),
                closes_at: None,
                reference: None,
            });
        }
        Value::Array(items) if !items.is_empty() => {
            let open = out.len();
            out.push(Line {
                depth,
                text: format!("{label}["),
                closes_at: None,
                reference: None,
            });
            let n = items.len();
            for (i, child) in items.iter().enumerate() {
                walk(None, child, depth + 1, i + 1 == n, out);
            }
            out[open].closes_at = Some(out.len());
            out.push(Line {
                depth,
                text: format!("]{comma}"),
                closes_at: None,
                reference: None,
            });
        }
        _ => {
            let reference = (key == Some("reference"))
                .then(|| v.as_str())
                .flatten()
                .filter(|r| !r.starts_with('#'))
                .map(str::to_string);
            out.push(Line {
                depth,
                text: format!("{label}{}{comma}", scalar(v)),
                closes_at: None,
                reference,
            });
        }
    }
}

/// The resource as formatted lines.
pub fn lines(v: &Value) -> Vec<Line> {
    let mut out = Vec::new();
    walk(None, v, 0, true, &mut out);
    out
}

/// The lines shown when the lines at `folded` (openers) are folded: their insides hidden.
pub fn visible(lines: &[Line], folded: &[usize]) -> Vec<usize> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        out.push(i);
        match lines[i].closes_at {
            Some(end) if folded.contains(&i) => i = end + 1,
            _ => i += 1,
        }
    }
    out
}

/// The next line at or after `from` (wrapping) whose text holds `needle`, ignoring case.
pub fn find(lines: &[Line], needle: &str, from: usize) -> Option<usize> {
    if needle.is_empty() || lines.is_empty() {
        return None;
    }
    let needle = needle.to_lowercase();
    (0..lines.len())
        .map(|k| (from + k) % lines.len())
        .find(|&i| lines[i].text.to_lowercase().contains(&needle))
}

/// The whole resource, pretty-printed (for a file).
pub fn pretty(v: &Value) -> String {
    serde_json::to_string_pretty(v).unwrap_or_default()
}

/// Where the resource came from, in words: `meta.source`, the tags and security labels.
pub fn origin(v: &Value) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(s) = v["meta"]["source"].as_str() {
        out.push(format!("source: {s}"));
    }
    for (key, what) in [("tag", "tag"), ("security", "label")] {
        for c in v["meta"][key].as_array().into_iter().flatten() {
            out.push(format!(
                "{what}: {}|{}{}",
                c["system"].as_str().unwrap_or_default(),
                c["code"].as_str().unwrap_or_default(),
                c["display"]
                    .as_str()
                    .map(|d| format!(" ({d})"))
                    .unwrap_or_default()
            ));
        }
    }
    out
}

/// One version of a resource.
#[derive(Clone, Debug, PartialEq)]
pub struct Version {
    pub version: String,
    pub when: String,
    /// POST, PUT, DELETE.
    pub method: String,
    /// `None` for a delete.
    pub resource: Option<Value>,
}

/// A history Bundle's versions, newest first.
pub fn versions(bundle: &Value) -> Result<Vec<Version>, String> {
    if bundle["resourceType"] != "Bundle" || bundle["type"] != "history" {
        return Err("the server's answer is not a history Bundle".into());
    }
    Ok(bundle["entry"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| {
            let resource = e.get("resource").cloned();
            let version = resource
                .as_ref()
                .and_then(|r| r["meta"]["versionId"].as_str().map(str::to_string))
                .or_else(|| {
                    e["response"]["etag"]
                        .as_str()
                        .map(|t| t.trim_start_matches("W/").trim_matches('"').to_string())
                })
                .unwrap_or_default();
            Version {
                version,
                when: resource
                    .as_ref()
                    .and_then(|r| r["meta"]["lastUpdated"].as_str())
                    .or(e["response"]["lastModified"].as_str())
                    .unwrap_or_default()
                    .to_string(),
                method: e["request"]["method"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
                resource,
            }
        })
        .collect())
}

/// What changed from `older` to `newer` (a delete: everything removed).
pub fn changes(older: &Version, newer: &Version) -> Vec<Change> {
    let empty = Value::Object(Default::default());
    fields(
        older.resource.as_ref().unwrap_or(&empty),
        newer.resource.as_ref().unwrap_or(&empty),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn lines_fold_and_references_are_found() {
        let v = json!({"resourceType": "Observation", "subject": {"reference": "Patient/p1"},
            "code": {"coding": [{"code": "x"}]}, "contained": [{"reference": "#c"}]});
        let l = lines(&v);
        assert_eq!(l[0].text, "{");
        assert_eq!(l[1].text, "\"resourceType\": \"Observation\",");
        let refs: Vec<&str> = l.iter().filter_map(|x| x.reference.as_deref()).collect();
        assert_eq!(refs, ["Patient/p1"]);
        let code = l
            .iter()
            .position(|x| x.text.starts_with("\"code\""))
            .unwrap();
        let all = visible(&l, &[]);
        let folded = visible(&l, &[code]);
        assert_eq!(all.len(), l.len());
        assert!(folded.len() < all.len());
        assert!(folded.contains(&code));
        assert_eq!(find(&l, "patient/P1", 0), Some(3));
        assert_eq!(find(&l, "nowhere", 0), None);
    }

    #[test]
    fn versions_and_their_changes() {
        let h = json!({"resourceType": "Bundle", "type": "history", "entry": [
            {"resource": {"resourceType": "Observation", "id": "o", "status": "amended", "meta": {"versionId": "2", "lastUpdated": "2026-12-01T10:00:00Z"}}, "request": {"method": "PUT"}},
            {"resource": {"resourceType": "Observation", "id": "o", "status": "final", "meta": {"versionId": "1", "lastUpdated": "2026-12-01T09:00:00Z"}}, "request": {"method": "POST"}}]});
        let v = versions(&h).unwrap();
        assert_eq!(v[0].version, "2");
        let c = changes(&v[1], &v[0]);
        assert_eq!(c.len(), 1, "{c:?}");
        assert_eq!(c[0].path, "status");
        assert!(versions(&json!({"resourceType": "Bundle", "type": "searchset"})).is_err());
    }
}
