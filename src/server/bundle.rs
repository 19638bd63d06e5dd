//! Bundles the server sends: searchset, history, batch/transaction responses. Stored JSON is
//! embedded as it is (no re-parsing), and paging links carry opaque tokens.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Serialize;
use serde_json::Value;
use serde_json::value::RawValue;

use super::response::ApiError;
use crate::fhir::date::{instant, now_ms};
use crate::server::store::{HistoryEntry, Row};

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Bundle {
    resource_type: &'static str,
    id: String,
    meta: BundleMeta,
    #[serde(rename = "type")]
    kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) total: Option<i64>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(super) link: Vec<Link>,
    /// Written by `to_json`, which puts each entry's resource in as it is.
    #[serde(skip)]
    pub entry: Vec<Entry>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct BundleMeta {
    last_updated: String,
}

#[derive(Serialize)]
pub(super) struct Link {
    relation: &'static str,
    url: String,
}

#[derive(Serialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct Entry {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub full_url: Option<String>,
    /// Written by `Bundle::to_json`.
    #[serde(skip)]
    pub resource: Option<Embedded>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub search: Option<SearchMode>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request: Option<EntryRequest>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response: Option<EntryResponse>,
}

#[derive(Serialize)]
pub struct SearchMode {
    mode: &'static str,
}

#[derive(Serialize)]
pub struct EntryRequest {
    method: String,
    url: String,
}

#[derive(Serialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct EntryResponse {
    pub status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub etag: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_modified: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outcome: Option<Box<RawValue>>,
}

impl Bundle {
    pub fn new(kind: &'static str) -> Bundle {
        Bundle {
            resource_type: "Bundle",
            id: uuid::Uuid::new_v4().to_string(),
            meta: BundleMeta {
                last_updated: instant(now_ms()),
            },
            kind,
            total: None,
            link: Vec::new(),
            entry: Vec::new(),
        }
    }

    /// The bundle's JSON. serde writes all but the entries' resources; each resource is JSON
    /// the server wrote itself, so it goes in as it is, in front of its entry's other members,
    /// without being parsed again (a page of 5,000 resources would otherwise be read through
    /// once more just to be copied).
    pub fn to_json(&self) -> String {
        // Serializing strings, numbers and vectors of them to a String cannot fail.
        let mut out = serde_json::to_string(self).unwrap_or_else(|_| "{}".into());
        if self.entry.is_empty() {
            return out;
        }
        let resources: usize = self
            .entry
            .iter()
            .filter_map(|e| e.resource.as_ref())
            .map(|r| r.0.len())
            .sum();
        out.reserve(resources + self.entry.len() * 128);
        out.pop(); // the closing brace
        out.push_str(",\"entry\":[");
        for (i, entry) in self.entry.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            let rest = serde_json::to_string(entry).unwrap_or_else(|_| "{}".into());
            match &entry.resource {
                Some(Embedded(resource)) => {
                    out.push_str("{\"resource\":");
                    out.push_str(resource);
                    match rest.strip_prefix('{') {
                        Some(members) if members != "}" => {
                            out.push(',');
                            out.push_str(members);
                        }
                        _ => out.push('}'),
                    }
                }
                None => out.push_str(&rest),
            }
        }
        out.push_str("]}");
        out
    }
}

/// A resource for a Bundle entry: JSON object text the server wrote itself (a stored row, a
/// bundle or outcome it made).
pub struct Embedded(String);

/// JSON from the store (or the server's own), embedded without parsing it again: the store
/// only holds JSON it parsed and wrote. Text that is not even shaped as one object (a damaged
/// row) is left out rather than break the whole bundle.
pub fn raw(json: String) -> Option<Embedded> {
    let trimmed = json.trim();
    (trimmed.starts_with('{') && trimmed.ends_with('}')).then_some(Embedded(json))
}

pub fn raw_value(value: &Value) -> Option<Embedded> {
    raw(value.to_string())
}

/// The paging links of a listing: `self`, and `next`/`previous` as `_page` tokens.
pub struct Paging<'a> {
    /// The URL the links point at, without query.
    pub url: &'a str,
    /// The parameters of the listing, without `_offset`.
    pub params: &'a [(String, String)],
    pub offset: i64,
    pub count: i64,
    pub has_next: bool,
}

pub fn searchset(
    base: &str,
    total: Option<i64>,
    matches: Vec<Row>,
    included: Vec<Row>,
    paging: &Paging,
    outcome: Option<Value>,
) -> Bundle {
    let mut bundle = Bundle::new("searchset");
    bundle.total = total;
    bundle.link = links(paging);
    let rows = matches
        .into_iter()
        .map(|r| (r, "match"))
        .chain(included.into_iter().map(|r| (r, "include")));
    for (row, mode) in rows {
        bundle.entry.push(Entry {
            full_url: Some(format!("{base}/{}/{}", row.rtype, row.id)),
            resource: raw(row.json),
            search: Some(SearchMode { mode }),
            ..Entry::default()
        });
    }
    if let Some(outcome) = outcome {
        bundle.entry.push(Entry {
            resource: raw_value(&outcome),
            search: Some(SearchMode { mode: "outcome" }),
            ..Entry::default()
        });
    }
    bundle
}

/// A search's answer as a searchset: its page, its links, and a warning naming any parameter
/// that was ignored. The same for a REST search and a Bundle entry's.
pub fn search_result(
    base: &str,
    query: &crate::server::store::Query,
    found: crate::server::store::Found,
) -> Bundle {
    let url = format!("{base}/{}", query.rtype);
    let outcome = (!query.ignored.is_empty()).then(|| {
        crate::fhir::operation_outcome(
            "warning",
            crate::fhir::IssueCode::NotSupported,
            &query.ignored.join("; "),
        )
    });
    let paging = Paging {
        url: &url,
        params: &query.canonical,
        offset: query.offset,
        count: query.count,
        // `_summary=count` asks for the number only: there is no next page of nothing.
        has_next: found.has_next && !query.summary_count,
    };
    searchset(
        base,
        found.total,
        found.matches,
        found.included,
        &paging,
        outcome,
    )
}

pub fn history(base: &str, total: Option<i64>, rows: Vec<HistoryEntry>, paging: &Paging) -> Bundle {
    let mut bundle = Bundle::new("history");
    bundle.total = total;
    bundle.link = links(paging);
    for row in rows {
        let url = format!("{}/{}", row.rtype, row.id);
        let status = match row.method.as_str() {
            "POST" => "201 Created",
            "DELETE" => "204 No Content",
            _ => "200 OK",
        };
        bundle.entry.push(Entry {
            full_url: Some(format!("{base}/{url}")),
            request: Some(EntryRequest {
                method: row.method.clone(),
                url: if row.method == "POST" {
                    row.rtype.clone()
                } else {
                    url
                },
            }),
            response: Some(EntryResponse {
                status: status.into(),
                etag: Some(format!("W/\"{}\"", row.version)),
                last_modified: Some(instant(row.updated)),
                ..EntryResponse::default()
            }),
            resource: row.json.and_then(raw),
            ..Entry::default()
        });
    }
    bundle
}

fn links(p: &Paging) -> Vec<Link> {
    let mut links = vec![Link {
        relation: "self",
        url: page_url(p, p.offset),
    }];
    if p.has_next {
        links.push(Link {
            relation: "next",
            url: page_url(p, p.offset + p.count),
        });
    }
    if p.offset > 0 {
        links.push(Link {
            relation: "previous",
            url: page_url(p, (p.offset - p.count).max(0)),
        });
    }
    links
}

fn page_url(p: &Paging, offset: i64) -> String {
    if offset == 0 && p.params.iter().all(|(k, _)| k != "_page") {
        let query: String = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(p.params)
            .finish();
        return if query.is_empty() {
            p.url.to_string()
        } else {
            format!("{}?{query}", p.url)
        };
    }
    format!("{}?_page={}", p.url, encode_page(p.params, offset))
}

/// An opaque page token: the listing's parameters and where the page starts.
pub fn encode_page(params: &[(String, String)], offset: i64) -> String {
    let mut all: Vec<(&str, String)> = params
        .iter()
        .map(|(k, v)| (k.as_str(), v.clone()))
        .collect();
    all.push(("_offset", offset.to_string()));
    let json = serde_json::to_vec(&all).unwrap_or_default();
    URL_SAFE_NO_PAD.encode(json)
}

/// Replaces a request's parameters with those its `_page` token stands for.
pub fn expand_page(params: Vec<(String, String)>) -> Result<Vec<(String, String)>, ApiError> {
    let Some((_, token)) = params.iter().find(|(k, _)| k == "_page") else {
        return Ok(params);
    };
    URL_SAFE_NO_PAD
        .decode(token)
        .ok()
        .and_then(|bytes| serde_json::from_slice::<Vec<(String, String)>>(&bytes).ok())
        .ok_or_else(|| {
            ApiError::bad_request(
                "the paging link is not valid here; run the search again from its start",
            )
        })
}

/// Splits `_offset` and `_count` out of listing parameters (history, $everything).
pub fn offset_and_count(
    params: &[(String, String)],
    default_count: i64,
    max: i64,
) -> Result<(i64, i64), ApiError> {
    let mut offset = 0;
    let mut count = default_count;
    for (k, v) in params {
        match k.as_str() {
            "_offset" => {
                offset = v
                    .parse()
                    .ok()
                    .filter(|o: &i64| *o >= 0)
                    .ok_or_else(|| ApiError::bad_request("invalid _offset"))?
            }
            "_count" => {
                count = v
                    .parse::<i64>()
                    .ok()
                    .filter(|c| *c >= 0)
                    .ok_or_else(|| {
                        ApiError::bad_request(format!("_count must be a whole number, not '{v}'"))
                    })?
                    .min(max)
            }
            _ => {}
        }
    }
    Ok((offset, count))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Entries with and without a resource, with and without other members, come out as
    /// one well-formed Bundle holding each resource as it was stored.
    #[test]
    fn embedded_resources_are_written_whole_into_their_entries() {
        let mut bundle = Bundle::new("batch-response");
        let stored = r#"{"resourceType":"Patient","id":"p1","name":[{"family":"O\"Brien"}]}"#;
        bundle.entry.push(Entry {
            full_url: Some("http://x/fhir/Patient/p1".into()),
            resource: raw(stored.to_string()),
            search: Some(SearchMode { mode: "match" }),
            ..Entry::default()
        });
        bundle.entry.push(Entry {
            resource: raw(r#"{"resourceType":"Basic"}"#.into()),
            ..Entry::default()
        });
        bundle.entry.push(Entry {
            response: Some(EntryResponse {
                status: "204 No Content".into(),
                ..EntryResponse::default()
            }),
            ..Entry::default()
        });
        bundle.entry.push(Entry {
            resource: raw("damaged row".into()),
            ..Entry::default()
        });
        let written: Value = serde_json::from_str(&bundle.to_json()).unwrap();
        let entries = written["entry"].as_array().unwrap();
        assert_eq!(entries.len(), 4);
        assert_eq!(
            entries[0]["resource"],
            serde_json::from_str::<Value>(stored).unwrap()
        );
        assert_eq!(entries[0]["fullUrl"], "http://x/fhir/Patient/p1");
        assert_eq!(entries[0]["search"]["mode"], "match");
        assert_eq!(
            entries[1],
            serde_json::json!({"resource": {"resourceType": "Basic"}})
        );
        assert_eq!(
            entries[2],
            serde_json::json!({"response": {"status": "204 No Content"}})
        );
        assert_eq!(entries[3], serde_json::json!({}));
        assert_eq!(written["resourceType"], "Bundle");
        assert_eq!(written["type"], "batch-response");
        // No entries: no `entry` member at all.
        let empty: Value = serde_json::from_str(&Bundle::new("searchset").to_json()).unwrap();
        assert!(empty.get("entry").is_none());
    }

    #[test]
    fn page_tokens_round_trip() {
        let params = vec![
            ("name".to_string(), "smi".to_string()),
            ("_count".into(), "5".into()),
        ];
        let token = encode_page(&params, 10);
        let back = expand_page(vec![("_page".into(), token)]).unwrap();
        assert_eq!(
            back.last().unwrap(),
            &("_offset".to_string(), "10".to_string())
        );
        assert!(expand_page(vec![("_page".into(), "garbage!".into())]).is_err());
    }
}
