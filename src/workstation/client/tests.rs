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
