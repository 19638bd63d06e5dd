//! One entry of a batch or transaction, read and checked before anything runs.

use super::*;

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
pub(super) enum Method {
    // Declared in the order a transaction processes them.
    Delete,
    Post,
    Put,
    Get,
}

pub(super) struct Op {
    pub(super) index: usize,
    pub(super) method: Method,
    pub(super) rtype: String,
    pub(super) id: Option<String>,
    pub(super) version: Option<String>,
    pub(super) query: Option<Vec<(String, String)>>,
    pub(super) resource: Option<Value>,
    pub(super) full_url: Option<String>,
    pub(super) if_match: Option<String>,
    pub(super) if_none_exist: Option<Vec<(String, String)>>,
    pub(super) label: String,
}

pub(super) fn parse_entry(index: usize, entry: Value, base: &str) -> Result<Op, ApiError> {
    let fail = |msg: &str| ApiError::bad_request(format!("entry {index}: {msg}"));
    let request = entry.get("request").ok_or_else(|| fail("has no request"))?;
    let method = match request.get("method").and_then(Value::as_str) {
        Some("GET") | Some("HEAD") => Method::Get,
        Some("POST") => Method::Post,
        Some("PUT") => Method::Put,
        Some("DELETE") => Method::Delete,
        Some(m) => return Err(fail(&format!("method {m} is not supported"))),
        None => return Err(fail("request.method is missing")),
    };
    let url = request
        .get("url")
        .and_then(Value::as_str)
        .ok_or_else(|| fail("request.url is missing"))?;
    let relative = url
        .strip_prefix(base)
        .unwrap_or(url)
        .trim_start_matches('/');
    let (path, query) = match relative.split_once('?') {
        Some((p, q)) => (
            p,
            Some(form_urlencoded::parse(q.as_bytes()).into_owned().collect()),
        ),
        None => (relative, None),
    };
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let (rtype, id, version) = match segments.as_slice() {
        [t] => (t.to_string(), None, None),
        [t, id] => (t.to_string(), Some(id.to_string()), None),
        [t, id, "_history", v] => (t.to_string(), Some(id.to_string()), Some(v.to_string())),
        _ => {
            return Err(fail(&format!(
                "request.url '{url}' is not a resource URL this server understands"
            )));
        }
    };
    let header = |name: &str| {
        request
            .get(name)
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    let op = Op {
        index,
        method,
        label: format!(
            "entry {index} ({} {url})",
            request["method"].as_str().unwrap_or_default()
        ),
        rtype,
        id,
        version,
        query,
        resource: entry.get("resource").cloned(),
        full_url: entry
            .get("fullUrl")
            .and_then(Value::as_str)
            .map(str::to_string),
        if_match: header("ifMatch").map(|v| crate::server::response::parse_etag(&v)),
        if_none_exist: header("ifNoneExist").map(|q| {
            form_urlencoded::parse(q.trim_start_matches('?').as_bytes())
                .into_owned()
                .collect()
        }),
    };
    match op.method {
        Method::Post | Method::Put if op.resource.is_none() => Err(fail("has no resource")),
        Method::Put if op.id.is_none() && op.query.is_none() => Err(fail(
            "PUT needs Type/id, or Type?search for a conditional update",
        )),
        Method::Post if op.id.is_some() => {
            Err(fail("POST goes to the type, e.g. 'Patient', not to an id"))
        }
        Method::Delete if op.id.is_none() && op.query.is_none() => Err(fail(
            "DELETE needs Type/id or Type?search (deleting a whole type is not allowed)",
        )),
        _ => Ok(op),
    }
}
