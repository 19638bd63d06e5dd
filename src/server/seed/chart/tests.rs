use super::results::*;
use super::*;
use rand::SeedableRng;

/// Every date-time string in `v`, with the key it is under.
fn times<'a>(v: &'a Value, key: &'a str, out: &mut Vec<(&'a str, &'a str)>) {
    match v {
        Value::String(s) if s.len() >= 16 && s.as_bytes().get(10) == Some(&b'T') => {
            out.push((key, s))
        }
        Value::Array(a) => a.iter().for_each(|x| times(x, key, out)),
        Value::Object(o) => o.iter().for_each(|(k, x)| times(x, k, out)),
        _ => {}
    }
}

#[test]
fn nothing_is_dated_after_the_seeding_and_values_agree() {
    let today = chrono::Utc::now().date_naive();
    let mut g = Generator::new(ChaCha8Rng::seed_from_u64(7), 7, today);
    let seeded_at = crate::fhir::date::now_ms();
    let mut all = g.facility();
    for i in 0..60 {
        all.extend(g.patient(i, Depth::Full, false));
    }
    let mut found = Vec::new();
    for r in &all {
        times(r, "", &mut found);
    }
    assert!(found.len() > 1000);
    for (key, t) in found {
        let ms = DateTime::parse_from_rfc3339(t).unwrap().timestamp_millis();
        assert!(ms <= seeded_at, "{key} {t} is after the seeding");
    }
    // Haematocrit about three times the haemoglobin, in every CBC; a normal anion gap.
    let value = |id: &Value| {
        let id = id["reference"]
            .as_str()
            .unwrap()
            .trim_start_matches("Observation/");
        let o = all.iter().find(|r| r["id"] == id).unwrap();
        let code = o["code"]["coding"][0]["code"].as_str().unwrap().to_string();
        (code, o["valueQuantity"]["value"].as_f64().unwrap())
    };
    let mut panels = 0;
    for report in all
        .iter()
        .filter(|r| r["resourceType"] == "DiagnosticReport")
    {
        let results: std::collections::HashMap<String, f64> = report["result"]
            .as_array()
            .unwrap()
            .iter()
            .map(value)
            .collect();
        if let (Some(hb), Some(hct)) = (results.get(HEMOGLOBIN), results.get(HEMATOCRIT)) {
            panels += 1;
            let ratio = hct / hb;
            assert!((2.8..=3.2).contains(&ratio), "Hb {hb} with Hct {hct}");
        }
        if let (Some(na), Some(cl), Some(co2)) = (
            results.get(SODIUM),
            results.get(CHLORIDE),
            results.get(BICARBONATE),
        ) {
            let gap = na - cl - co2;
            assert!((7.0..=15.0).contains(&gap), "anion gap {gap}");
        }
    }
    assert!(panels > 10);
}
