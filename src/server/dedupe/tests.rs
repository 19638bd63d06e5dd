use super::*;
use serde_json::json;

fn p(id: &str, given: &str, family: &str, birth: &str, phone: &str) -> Person {
    person(
        &json!({"resourceType": "Patient", "id": id,
            "name": [{"given": [given], "family": family}], "birthDate": birth, "gender": "female",
            "telecom": [{"system": "phone", "value": phone}],
            "identifier": [{"system": "http://hospital.example/mrn", "value": id}]}),
        "http://hospital.example/mrn",
    )
    .unwrap()
}

#[test]
fn a_pair_is_scored_field_by_field_and_explained() {
    let a = p("1", "Catherine", "O'Brien", "1956-03-04", "(555) 010-2233");
    // A typo, day and month transposed, the same phone written otherwise.
    let b = p("2", "Katherine", "OBrien", "1956-04-03", "555-010-2233");
    let c = compare(&a, &b);
    let level = |f: Field| c.parts.iter().find(|x| x.field == f).unwrap().level;
    assert_eq!(level(Field::Family), Level::Exact, "punctuation folded");
    assert_eq!(level(Field::Given), Level::Close);
    assert_eq!(level(Field::Birth), Level::Transposed);
    assert_eq!(level(Field::Phone), Level::Exact);
    assert_eq!(
        level(Field::Identifier),
        Level::Missing,
        "the MRN says nothing"
    );
    assert_eq!(
        Thresholds::default().verdict(c.score),
        Verdict::Sure,
        "{}",
        c.score
    );
    let why = explain(&c);
    assert!(why[0].contains("phone agree"), "{why:?}");
    // Given and family swapped.
    let s = p("3", "OBrien", "Catherine", "1956-03-04", "");
    let c = compare(&a, &s);
    assert!(c.parts.iter().any(|x| x.level == Level::Swapped));
    // Namesakes born years apart: different.
    let n = p("4", "Catherine", "O'Brien", "1971-08-19", "");
    assert_eq!(
        Thresholds::default().verdict(compare(&a, &n).score),
        Verdict::Different
    );
}

#[test]
fn blocking_finds_a_duplicate_through_another_key_when_one_field_is_wrong() {
    let a = p("1", "Ann", "Quill", "1940-02-03", "5550102233");
    let b = p("2", "Ann", "Qiull", "1940-02-03", "5550102233");
    let far = p("3", "Zed", "Young", "1999-12-31", "5550000000");
    let pairs = blocking::pairs(&[a, b, far]);
    assert_eq!(pairs, [(0, 1)]);
}

#[test]
fn accuracy_on_the_labelled_population() {
    let l = synthetic::population(4000, 400, 7);
    let acc = synthetic::measure(&l, Thresholds::default(), 2);
    eprintln!("{acc:?}");
    assert!(acc.precision >= 0.98, "{acc:?}");
    assert!(acc.recall >= 0.95, "{acc:?}");
}
