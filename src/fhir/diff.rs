//! Two versions of a resource compared field by field (not line by line): each element that
//! was added, removed or changed, by its path (`name[0].given[1]`), with the value before and
//! after. `meta.versionId` and `meta.lastUpdated` change with every version and are left out.

use serde_json::Value;

/// One element that differs.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    pub path: String,
    /// `None`: added.
    pub before: Option<Value>,
    /// `None`: removed.
    pub after: Option<Value>,
}

fn skipped(path: &str) -> bool {
    matches!(path, "meta.versionId" | "meta.lastUpdated")
}

fn walk(path: &str, a: Option<&Value>, b: Option<&Value>, out: &mut Vec<Change>) {
    if skipped(path) {
        return;
    }
    match (a, b) {
        (Some(Value::Object(x)), Some(Value::Object(y))) => {
            let mut keys: Vec<&String> = x.keys().chain(y.keys()).collect();
            keys.sort();
            keys.dedup();
            for k in keys {
                let p = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                walk(&p, x.get(k), y.get(k), out);
            }
        }
        (Some(Value::Array(x)), Some(Value::Array(y))) => {
            for i in 0..x.len().max(y.len()) {
                walk(&format!("{path}[{i}]"), x.get(i), y.get(i), out);
            }
        }
        (x, y) if x == y => {}
        (x, y) => out.push(Change {
            path: path.to_string(),
            before: x.cloned(),
            after: y.cloned(),
        }),
    }
}

/// What changed from `before` to `after`, in the order of the paths.
pub fn fields(before: &Value, after: &Value) -> Vec<Change> {
    let mut out = Vec::new();
    walk("", Some(before), Some(after), &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn field_by_field_with_paths() {
        let a = json!({"resourceType": "AllergyIntolerance", "id": "a1",
            "meta": {"versionId": "1", "lastUpdated": "2026-01-01T00:00:00Z"},
            "code": {"text": "penicillin"},
            "reaction": [{"manifestation": [{"text": "rash"}]}],
            "note": [{"text": "old"}]});
        let b = json!({"resourceType": "AllergyIntolerance", "id": "a1",
            "meta": {"versionId": "2", "lastUpdated": "2026-02-01T00:00:00Z"},
            "code": {"text": "amoxicillin"},
            "reaction": [{"manifestation": [{"text": "rash"}, {"text": "wheeze"}]}],
            "criticality": "high"});
        let c = fields(&a, &b);
        let paths: Vec<&str> = c.iter().map(|x| x.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "code.text",
                "criticality",
                "note",
                "reaction[0].manifestation[1]"
            ]
        );
        assert_eq!(c[0].before, Some(json!("penicillin")));
        assert_eq!(c[0].after, Some(json!("amoxicillin")));
        assert_eq!(c[1].before, None, "added");
        assert_eq!(c[2].after, None, "removed");
        assert!(fields(&a, &a).is_empty());
    }
}
