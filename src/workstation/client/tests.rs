use super::*;
use serde_json::json;

#[test]
fn bad_urls_are_explained() {
    assert!(FhirClient::new("ftp://x/fhir", None).is_err());
    assert!(FhirClient::new("not a url", None).is_err());
    let c = FhirClient::new("http://127.0.0.1:8080/fhir/", None).unwrap();
    assert_eq!(c.base(), "http://127.0.0.1:8080/fhir");
}

#[test]
fn bundle_pages() {
    let b = json!({"resourceType": "Bundle", "link": [{"relation": "next", "url": "http://x/n"}],
        "entry": [{"resource": {"resourceType": "Patient"}}, {"fullUrl": "x"}]});
    let (r, next) = bundle_page(b).unwrap();
    assert_eq!(r.len(), 1);
    assert_eq!(next.as_deref(), Some("http://x/n"));
    assert!(bundle_page(json!({"resourceType": "Patient"})).is_err());
    assert!(bundle_page(json!({"resourceType": "Bundle", "entry": 3})).is_err());
}

#[test]
fn paging_links_stay_on_the_server_and_survive_a_tls_proxy() {
    let base = Url::parse("https://fhir.example.org/r4/").unwrap();
    let ok = |link: &str| paging_url(&base, link).map(|u| u.to_string());
    assert_eq!(
        ok("https://fhir.example.org/r4/Patient?page=2").unwrap(),
        "https://fhir.example.org/r4/Patient?page=2"
    );
    assert_eq!(
        ok("Patient?page=2").unwrap(),
        "https://fhir.example.org/r4/Patient?page=2"
    );
    // Behind a TLS-terminating proxy the server believes it is plain http.
    assert_eq!(
        ok("http://fhir.example.org/r4/Patient?page=2").unwrap(),
        "https://fhir.example.org/r4/Patient?page=2"
    );
    for (link, named) in [
        (
            "https://evil.example.net/r4/Patient?page=2",
            "https://evil.example.net",
        ),
        (
            "http://fhir.example.org:8080/r4/Patient?page=2",
            "http://fhir.example.org:8080",
        ),
        (
            "https://fhir.example.org:8443/r4/Patient?page=2",
            "https://fhir.example.org:8443",
        ),
    ] {
        let Err(FetchError::Malformed(why)) = ok(link) else {
            panic!("{link} was followed");
        };
        assert!(
            why.contains(named) && why.contains("https://fhir.example.org"),
            "{why}"
        );
        assert!(
            !why.contains("page=2"),
            "the link's query is not shown: {why}"
        );
    }
    // A plain-http base never upgrades or downgrades.
    let local = Url::parse("http://127.0.0.1:8080/fhir/").unwrap();
    assert!(paging_url(&local, "https://127.0.0.1:8080/fhir/x").is_err());
}

#[test]
fn doctor_reads_what_a_server_declares() {
    let cs = json!({"resourceType": "CapabilityStatement", "rest": [{
    "security": {"description": "Bearer <token> from POST /auth/login"},
    "resource": [
        {"type": "Patient", "operation": [{"name": "everything"}]},
        {"type": "Observation", "searchParam": [{"name": "patient"}]}
    ]}]});
    let lines = capability_report(&cs).join("\n");
    assert!(lines.contains("$everything: declared"), "{lines}");
    assert!(lines.contains("reference search): declared"), "{lines}");
    assert!(lines.contains("bedside's own sign-in"), "{lines}");
    let bare = capability_report(&json!({"resourceType": "CapabilityStatement"})).join("\n");
    assert!(bare.contains("$everything: NOT declared"), "{bare}");
    assert!(bare.contains("sign-in: none declared"), "{bare}");
    let odd = capability_report(&json!({"resourceType": "Bundle"})).join("\n");
    assert!(odd.contains("NOT a CapabilityStatement (Bundle)"), "{odd}");
    let smart = smart_report(&json!({
        "authorization_endpoint": "https://idp/authorize", "token_endpoint": "https://idp/token",
        "grant_types_supported": ["authorization_code", "urn:ietf:params:oauth:grant-type:device_code"],
        "code_challenge_methods_supported": ["S256"]}));
    assert_eq!(
        smart,
        "SMART sign-in: offered (authorization code, device code; PKCE S256 yes)"
    );
    assert!(smart_report(&json!({"token_endpoint": "x"})).contains("lacks"));
}

#[test]
fn a_reason_travels_in_a_header_as_ascii() {
    let json = serde_json::json!({"reason": [{"text": "nom mal orthographi\u{e9} \u{1f600}"}]})
        .to_string();
    let header = super::ascii_json(&json);
    assert!(
        header.bytes().all(|b| (b' '..=b'~').contains(&b)),
        "{header}"
    );
    let back: serde_json::Value = serde_json::from_str(&header).unwrap();
    assert_eq!(back.to_string(), json);
}
