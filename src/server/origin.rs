//! Where a request came from and which base URL the answer's links use. Links are written with
//! the scheme the server is served on; a `Host` header is used only when it names this server
//! (localhost or an address literal on its port), so a forged one is never reflected; the
//! `X-Forwarded-*` headers count only from a proxy named in `--trusted-proxy`. Every answer is
//! marked `Cache-Control: no-store`: it may hold patient data or a token.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, Request, State};
use axum::http::header::{CACHE_CONTROL, HOST, HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;

use super::access::ClientAddr;
use super::{AppState, ServerConfig};

/// The header the base URL is handed to the handlers in (any sent by a client is replaced).
pub const BASE_HEADER: &str = "x-bedside-base";

pub struct Origin {
    scheme: &'static str,
    /// `scheme://host[:port]` from `--public-url`, without `/fhir`.
    public: Option<String>,
    trusted: Vec<IpAddr>,
    port: u16,
    /// The host written when the request's own cannot be used.
    fallback: String,
}

impl Origin {
    pub fn new(config: &ServerConfig, local: SocketAddr) -> Origin {
        let scheme = if config.tls { "https" } else { "http" };
        let fallback = if local.ip().is_unspecified() || local.ip().is_loopback() {
            format!("localhost:{}", local.port())
        } else {
            local.to_string()
        };
        Origin {
            scheme,
            public: config.public_url.as_ref().map(|u| {
                u.trim_end_matches('/')
                    .trim_end_matches("/fhir")
                    .trim_end_matches('/')
                    .to_string()
            }),
            trusted: config.trusted_proxies.clone(),
            port: local.port(),
            fallback,
        }
    }

    /// Whether `host` (a `Host` header's value) names this server.
    fn known_host(&self, host: &str) -> bool {
        let (name, port) = split_host(host);
        let port_ok = port.is_none_or(|p| p == self.port);
        let name_ok = name.eq_ignore_ascii_case("localhost")
            || name
                .trim_start_matches('[')
                .trim_end_matches(']')
                .parse::<IpAddr>()
                .is_ok();
        port_ok && name_ok
    }

    /// `scheme://host/fhir` for a request from `peer` with `headers`.
    fn base(&self, peer: Option<IpAddr>, headers: &axum::http::HeaderMap) -> String {
        if let Some(public) = &self.public {
            return format!("{public}/fhir");
        }
        let trusted = peer.is_some_and(|p| self.trusted.contains(&p));
        let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
        let scheme = match header("x-forwarded-proto").map(str::trim) {
            Some(p @ ("http" | "https")) if trusted => p,
            _ => self.scheme,
        };
        let forwarded_host = header("x-forwarded-host")
            .map(|h| h.split(',').next().unwrap_or_default().trim())
            .filter(|h| trusted && valid_host(h));
        let host = match forwarded_host {
            Some(h) => h.to_string(),
            None => headers
                .get(HOST)
                .and_then(|h| h.to_str().ok())
                .filter(|h| valid_host(h) && self.known_host(h))
                .map(str::to_string)
                .unwrap_or_else(|| self.fallback.clone()),
        };
        format!("{scheme}://{host}/fhir")
    }

    /// The client behind a trusted proxy (the last address it added to `X-Forwarded-For`).
    fn forwarded_for(&self, peer: IpAddr, headers: &axum::http::HeaderMap) -> Option<IpAddr> {
        if !self.trusted.contains(&peer) {
            return None;
        }
        headers
            .get("x-forwarded-for")?
            .to_str()
            .ok()?
            .rsplit(',')
            .next()?
            .trim()
            .parse()
            .ok()
    }
}

fn split_host(host: &str) -> (&str, Option<u16>) {
    if let Some(rest) = host.strip_prefix('[') {
        // [v6]:port
        return match rest.split_once(']') {
            Some((addr, tail)) => (addr, tail.strip_prefix(':').and_then(|p| p.parse().ok())),
            None => (host, None),
        };
    }
    match host.rsplit_once(':') {
        Some((name, port)) if !name.contains(':') => (name, port.parse().ok()),
        _ => (host, None),
    }
}

/// A host name as it may appear in a URL: letters, digits, `.-:[]`, at most 255 characters.
fn valid_host(host: &str) -> bool {
    !host.is_empty()
        && host.len() <= 255
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b))
}

/// In front of every route: the client's address behind a trusted proxy, the base URL for
/// links, and `Cache-Control: no-store` on the way out.
pub async fn stamp(State(st): State<AppState>, mut req: Request, next: Next) -> Response {
    let peer = req
        .extensions()
        .get::<ConnectInfo<ClientAddr>>()
        .map(|c| c.0.0);
    if let Some(peer) = peer {
        if let Some(client) = st.origin.forwarded_for(peer.ip(), req.headers()) {
            req.extensions_mut()
                .insert(ConnectInfo(ClientAddr(SocketAddr::new(client, 0))));
        }
    }
    let base = st.origin.base(peer.map(|p| p.ip()), req.headers());
    let name = HeaderName::from_static(BASE_HEADER);
    match HeaderValue::from_str(&base) {
        Ok(value) => {
            req.headers_mut().insert(name, value);
        }
        Err(_) => {
            req.headers_mut().remove(name);
        }
    }
    let mut response = next.run(req).await;
    let headers = response.headers_mut();
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        HeaderName::from_static("x-content-type-options"),
        HeaderValue::from_static("nosniff"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderMap;

    fn origin(trusted: &[&str]) -> Origin {
        let config = ServerConfig {
            trusted_proxies: trusted.iter().map(|t| t.parse().unwrap()).collect(),
            ..ServerConfig::default()
        };
        Origin::new(&config, "127.0.0.1:8180".parse().unwrap())
    }

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, v.parse().unwrap());
        }
        h
    }

    #[test]
    fn only_this_servers_host_is_reflected() {
        let o = origin(&[]);
        let peer = Some("10.1.2.3".parse().unwrap());
        assert_eq!(
            o.base(peer, &headers(&[("host", "127.0.0.1:8180")])),
            "http://127.0.0.1:8180/fhir"
        );
        assert_eq!(
            o.base(peer, &headers(&[("host", "evil.example:8180")])),
            "http://localhost:8180/fhir"
        );
        assert_eq!(
            o.base(peer, &headers(&[("host", "localhost:9999")])),
            "http://localhost:8180/fhir"
        );
        // Forwarded headers from an untrusted peer are ignored.
        assert_eq!(
            o.base(
                peer,
                &headers(&[
                    ("host", "localhost:8180"),
                    ("x-forwarded-proto", "https"),
                    ("x-forwarded-host", "evil.example")
                ])
            ),
            "http://localhost:8180/fhir"
        );
    }

    #[test]
    fn a_trusted_proxy_names_scheme_host_and_client() {
        let o = origin(&["10.0.0.1"]);
        let proxy = "10.0.0.1".parse().unwrap();
        let h = headers(&[
            ("x-forwarded-proto", "https"),
            ("x-forwarded-host", "ehr.hospital.example"),
            ("x-forwarded-for", "192.0.2.7, 10.9.9.9"),
        ]);
        assert_eq!(o.base(Some(proxy), &h), "https://ehr.hospital.example/fhir");
        assert_eq!(
            o.forwarded_for(proxy, &h),
            Some("10.9.9.9".parse().unwrap())
        );
        assert_eq!(o.forwarded_for("10.0.0.2".parse().unwrap(), &h), None);
    }
}
