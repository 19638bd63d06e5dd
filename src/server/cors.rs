//! CORS: which web origins' browser apps (a SMART app in a browser) may call the FHIR API.
//! Only the origins the site lists; none by default. Preflight requests are answered here,
//! before sign-in (a browser sends them without the bearer token).

use std::time::Duration;

use axum::http::header::{
    ACCEPT, AUTHORIZATION, CONTENT_LOCATION, CONTENT_TYPE, ETAG, IF_MATCH, IF_MODIFIED_SINCE,
    IF_NONE_MATCH, LAST_MODIFIED, LOCATION,
};
use axum::http::{HeaderName, HeaderValue, Method};
use tower_http::cors::{AllowOrigin, CorsLayer};

/// Checks one configured origin: a scheme, a host and perhaps a port, nothing else
/// (`https://app.example.org`, `http://localhost:3000`).
pub fn check_origin(origin: &str) -> Result<String, String> {
    let bad = |why: &str| {
        Err(format!(
            "'{origin}' is not a web origin ({why}); write it as https://host or https://host:port"
        ))
    };
    if origin == "*" {
        return bad("any origin at all is not allowed: name each app's origin");
    }
    let Some((scheme, rest)) = origin.split_once("://") else {
        return bad("no scheme");
    };
    if scheme != "https" && scheme != "http" {
        return bad("the scheme must be http or https");
    }
    if rest.is_empty() || rest.contains(['/', '?', '#', '@', ' ']) {
        return bad("an origin has no path, query or user");
    }
    if HeaderValue::from_str(origin).is_err() {
        return bad("it has characters a header cannot carry");
    }
    Ok(origin.to_ascii_lowercase())
}

/// The CORS layer for `origins` (already checked), or `None` when there are none.
pub fn layer(origins: &[String]) -> Option<CorsLayer> {
    let list: Vec<HeaderValue> = origins
        .iter()
        .filter_map(|o| HeaderValue::from_str(o).ok())
        .collect();
    if list.is_empty() {
        return None;
    }
    Some(
        CorsLayer::new()
            .allow_origin(AllowOrigin::list(list))
            .allow_methods([
                Method::GET,
                Method::POST,
                Method::PUT,
                Method::PATCH,
                Method::DELETE,
            ])
            .allow_headers([
                AUTHORIZATION,
                CONTENT_TYPE,
                ACCEPT,
                IF_MATCH,
                IF_NONE_MATCH,
                IF_MODIFIED_SINCE,
                HeaderName::from_static("prefer"),
                HeaderName::from_static("if-none-exist"),
            ])
            .expose_headers([ETAG, LOCATION, CONTENT_LOCATION, LAST_MODIFIED])
            .max_age(Duration::from_secs(600)),
    )
}

#[cfg(test)]
mod tests {
    use super::check_origin;

    #[test]
    fn origins() {
        assert_eq!(
            check_origin("https://App.example.org").as_deref(),
            Ok("https://app.example.org")
        );
        assert!(check_origin("http://localhost:3000").is_ok());
        for bad in [
            "*",
            "app.example.org",
            "ftp://x",
            "https://x/path",
            "https://",
        ] {
            assert!(check_origin(bad).is_err(), "{bad}");
        }
    }
}
