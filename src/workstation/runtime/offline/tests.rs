use super::*;
use serde_json::json;

#[test]
fn merge_replaces_by_type_and_id_and_appends_new() {
    let cached = vec![
        json!({"resourceType": "Patient", "id": "1", "v": 1}),
        json!({"resourceType": "Observation", "id": "1", "v": 1}),
    ];
    let delta = vec![
        json!({"resourceType": "Observation", "id": "1", "v": 2}),
        json!({"resourceType": "Observation", "id": "2", "v": 1}),
    ];
    let m = merge(cached, delta);
    assert_eq!(m.len(), 3);
    assert_eq!(m[1]["v"], 2);
    assert_eq!(m[0]["resourceType"], "Patient");
}

#[test]
fn cached_search_follows_the_server_parameters() {
    let ps = vec![
        json!({"resourceType": "Patient", "id": "1", "birthDate": "1950-01-02",
            "name": [{"family": "Åberg", "given": ["Lena"]}],
            "identifier": [{"value": "0000042"}]}),
        json!({"resourceType": "Patient", "id": "2", "birthDate": "1961-05-05",
            "name": [{"family": "Smith", "given": ["John"]}]}),
    ];
    let found = |params: &[(&str, String)]| {
        search_cached(&ps, params)
            .iter()
            .map(|p| p["id"].as_str().unwrap().to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(found(&[("name", "aber".into())]), ["1"]);
    assert_eq!(
        found(&[("name", "jo".into()), ("birthdate", "1961".into())]),
        ["2"]
    );
    assert_eq!(found(&[("identifier", "0000042".into())]), ["1"]);
    assert!(found(&[("identifier", "00000".into())]).is_empty());
    assert_eq!(found(&[("_count", "20".into())]).len(), 2);
}
