use super::*;

fn k() -> Knowledge {
    Knowledge::load(None).0
}

fn med(code: &str, name: &str) -> Proposed {
    Proposed::Medication {
        rxnorm: code.into(),
        name: name.into(),
    }
}

fn settings() -> Settings {
    Settings {
        duplicate_test_window_ms: 24 * 3_600_000,
        now_ms: 100 * 3_600_000,
    }
}

fn assessed() -> Patient {
    Patient {
        allergies_assessed: true,
        ..Patient::default()
    }
}

fn allergy(code: Option<&str>, text: &str) -> RecordedAllergy {
    RecordedAllergy {
        rxnorm: code.map(str::to_string),
        text: text.into(),
        reaction: Some("anaphylaxis".into()),
    }
}

fn kinds(alerts: &[Alert]) -> Vec<(AlertKind, Severity)> {
    alerts.iter().map(|a| (a.kind, a.severity)).collect()
}

#[test]
fn allergy_by_ingredient_by_class_and_cross_sensitivity() {
    let k = k();
    let mut p = assessed();
    p.allergies.push(allergy(Some("723"), "amoxicillin"));
    // The same ingredient.
    let a = check(&[med("723", "amoxicillin")], &p, &k, settings());
    assert_eq!(kinds(&a), [(AlertKind::DrugAllergy, Severity::High)]);
    assert!(a[0].why.contains("anaphylaxis"));
    // Another penicillin: the class.
    let a = check(&[med("7980", "penicillin G")], &p, &k, settings());
    assert_eq!(kinds(&a), [(AlertKind::DrugAllergy, Severity::High)]);
    assert!(a[0].what.contains("also a penicillin"));
    // A cephalosporin: cross-sensitivity, lower severity.
    let a = check(&[med("2231", "cephalexin")], &p, &k, settings());
    assert_eq!(
        kinds(&a),
        [(AlertKind::CrossSensitivity, Severity::Moderate)]
    );
    // Something unrelated: nothing.
    assert!(check(&[med("2551", "ciprofloxacin")], &p, &k, settings()).is_empty());
}

#[test]
fn allergies_recorded_as_words_or_classes() {
    let k = k();
    let mut p = assessed();
    p.allergies.push(allergy(None, "Penicillin G"));
    p.allergies.push(allergy(None, "sulfa drugs"));
    let a = check(&[med("733", "ampicillin")], &p, &k, settings());
    assert_eq!(kinds(&a), [(AlertKind::DrugAllergy, Severity::High)]);
    let a = check(
        &[med("10180", "sulfamethoxazole / trimethoprim")],
        &p,
        &k,
        settings(),
    );
    assert_eq!(kinds(&a), [(AlertKind::DrugAllergy, Severity::High)]);
    // Latex is not a drug: no drug alert.
    let mut p = assessed();
    p.allergies.push(allergy(None, "latex"));
    assert!(check(&[med("723", "amoxicillin")], &p, &k, settings()).is_empty());
}

#[test]
fn drug_drug_against_active_medications_and_the_basket() {
    let k = k();
    let mut p = assessed();
    p.medications.push(ActiveMedication {
        rxnorm: Some("11289".into()),
        name: "warfarin".into(),
    });
    let a = check(&[med("5640", "ibuprofen")], &p, &k, settings());
    assert_eq!(kinds(&a), [(AlertKind::DrugDrug, Severity::High)]);
    assert!(a[0].source.as_deref().unwrap().contains("Phansalkar"));
    assert!(!a[0].instead.is_empty());
    // An azole antifungal with warfarin; fluconazole is not an NSAID, so one alert.
    let a = check(&[med("4450", "fluconazole")], &p, &k, settings());
    assert_eq!(kinds(&a), [(AlertKind::DrugDrug, Severity::High)]);
    // Within the basket, in either order, reported once on the later order.
    let basket = [med("136411", "sildenafil"), med("4917", "nitroglycerin")];
    let a = check(&basket, &assessed(), &k, settings());
    assert_eq!(a.len(), 1);
    assert_eq!((a[0].order, a[0].kind), (1, AlertKind::DrugDrug));
    let basket = [med("21212", "clarithromycin"), med("36567", "simvastatin")];
    assert_eq!(check(&basket, &assessed(), &k, settings()).len(), 1);
    // Atorvastatin is not in the CYP3A4-sensitive class here: no alert.
    let basket = [med("21212", "clarithromycin"), med("83367", "atorvastatin")];
    assert!(check(&basket, &assessed(), &k, settings()).is_empty());
    // Methotrexate with the combination product containing trimethoprim.
    let basket = [
        med("6851", "methotrexate"),
        med("10180", "sulfamethoxazole / trimethoprim"),
    ];
    assert_eq!(check(&basket, &assessed(), &k, settings()).len(), 1);
}

#[test]
fn duplicate_therapy_same_drug_and_same_class() {
    let k = k();
    let mut p = assessed();
    p.medications.push(ActiveMedication {
        rxnorm: Some("5640".into()),
        name: "ibuprofen".into(),
    });
    let a = check(&[med("5640", "ibuprofen")], &p, &k, settings());
    assert_eq!(
        kinds(&a),
        [(AlertKind::DuplicateTherapy, Severity::Moderate)]
    );
    let a = check(&[med("7258", "naproxen")], &p, &k, settings());
    assert_eq!(
        kinds(&a),
        [(AlertKind::DuplicateTherapy, Severity::Moderate)]
    );
    assert!(a[0].what.contains("nsaid"));
    // Different classes: nothing.
    assert!(check(&[med("161", "acetaminophen")], &p, &k, settings()).is_empty());
}

#[test]
fn duplicate_tests_within_the_window_only() {
    let k = k();
    let s = settings();
    let mut p = assessed();
    p.tests.push(RecentTest {
        loinc: "58410-2".into(),
        when_ms: s.now_ms - 5 * 3_600_000,
        resulted: true,
    });
    let cbc = Proposed::Test {
        loinc: "58410-2".into(),
        name: "CBC".into(),
    };
    let a = check(std::slice::from_ref(&cbc), &p, &k, s);
    assert_eq!(kinds(&a), [(AlertKind::DuplicateTest, Severity::Low)]);
    assert!(a[0].what.contains("5 h ago"));
    p.tests[0].when_ms = s.now_ms - 30 * 3_600_000;
    assert!(check(std::slice::from_ref(&cbc), &p, &k, s).is_empty());
    let a = check(&[cbc.clone(), cbc], &assessed(), &k, s);
    assert_eq!(kinds(&a), [(AlertKind::DuplicateTest, Severity::Moderate)]);
}

#[test]
fn no_allergy_assessment_warns_before_medications_only() {
    let k = k();
    let p = Patient::default();
    let a = check(&[med("161", "acetaminophen")], &p, &k, settings());
    assert_eq!(
        kinds(&a),
        [(AlertKind::NoAllergyAssessment, Severity::Moderate)]
    );
    let test = Proposed::Test {
        loinc: "2160-0".into(),
        name: "Creatinine".into(),
    };
    assert!(check(&[test], &p, &k, settings()).is_empty());
    assert!(!a[0].needs_override());
}

/// The code of the shipped medication named `name`.
fn code(name: &str) -> String {
    k().medication_named(name).unwrap().rxnorm.clone()
}

fn on(names: &[&str]) -> Patient {
    Patient {
        medications: names
            .iter()
            .map(|n| ActiveMedication {
                rxnorm: Some(code(n)),
                name: n.to_string(),
            })
            .collect(),
        ..assessed()
    }
}

/// The interaction alert, if any, for ordering `new` while on `active`.
fn pair(active: &str, new: &str) -> Option<Alert> {
    check(&[med(&code(new), new)], &on(&[active]), &k(), settings())
        .into_iter()
        .find(|a| a.kind == AlertKind::DrugDrug)
}

#[test]
fn the_classes_behind_most_harm_are_checked() {
    let cases = [
        ("warfarin", "sertraline", Severity::Moderate, "bleeding"),
        ("ibuprofen", "sertraline", Severity::Moderate, "bleeding"),
        ("clopidogrel", "duloxetine", Severity::Moderate, "bleeding"),
        ("apixaban", "naproxen", Severity::High, "bleeding"),
        ("rivaroxaban", "clopidogrel", Severity::High, "bleeding"),
        ("sertraline", "linezolid", Severity::High, "serotonin"),
        ("phenelzine", "tramadol", Severity::High, "serotonin"),
        ("sumatriptan", "fluoxetine", Severity::Moderate, "serotonin"),
        ("sertraline", "tramadol", Severity::Moderate, "serotonin"),
        ("venlafaxine", "citalopram", Severity::Moderate, "serotonin"),
        ("citalopram", "ondansetron", Severity::Moderate, "QT"),
        ("methadone", "levofloxacin", Severity::Moderate, "QT"),
        (
            "spironolactone",
            "losartan",
            Severity::Moderate,
            "hyperkalemia",
        ),
        (
            "lisinopril",
            "eplerenone",
            Severity::Moderate,
            "hyperkalemia",
        ),
        (
            "lisinopril",
            "valsartan",
            Severity::Moderate,
            "hyperkalemia",
        ),
        (
            "simvastatin",
            "clarithromycin",
            Severity::High,
            "simvastatin",
        ),
        ("lovastatin", "itraconazole", Severity::High, "simvastatin"),
        ("simvastatin", "diltiazem", Severity::Moderate, "myopathy"),
        ("colchicine", "ritonavir", Severity::High, "colchicine"),
        ("apixaban", "ketoconazole", Severity::Moderate, "apixaban"),
        ("warfarin", "amiodarone", Severity::High, "INR"),
        ("digoxin", "amiodarone", Severity::Moderate, "digoxin"),
    ];
    for (active, new, severity, words) in cases {
        let a = pair(active, new).unwrap_or_else(|| panic!("{new} with {active}"));
        assert_eq!(a.severity, severity, "{new} with {active}");
        assert!(a.why.contains(words), "{new} with {active}: {}", a.why);
        assert!(a.source.is_some());
    }
    // Either order finds the pair, and two drugs that share classes alert once.
    assert!(pair("linezolid", "sertraline").is_some());
    let aspirin = check(
        &[med(&code("aspirin"), "aspirin")],
        &on(&["warfarin"]),
        &k(),
        settings(),
    );
    let drug_drug = aspirin.iter().filter(|a| a.kind == AlertKind::DrugDrug);
    assert_eq!(drug_drug.count(), 1);
    // And unrelated drugs stay quiet.
    assert!(pair("metformin", "sertraline").is_none());
    assert!(pair("acetaminophen", "warfarin").is_none());
}

#[test]
fn every_pair_in_the_table_is_cited_and_names_drugs_that_exist() {
    let k = k();
    assert!(k.interactions.len() >= 30);
    let named = |side: &str| match side.split_once(':') {
        Some(("rxnorm", c)) => k.medication(c).is_some(),
        Some(("class", c)) => k
            .medications
            .iter()
            .any(|m| m.classes.iter().any(|x| x == c)),
        _ => false,
    };
    for x in &k.interactions {
        assert!(named(&x.a) && named(&x.b), "{} / {}", x.a, x.b);
        assert!(x.source.len() > 10, "{} / {}", x.a, x.b);
        // Some drug on each side fires the pair.
        let side = |s: &str| {
            k.medications
                .iter()
                .find(|m| matches(s, &m.rxnorm, Some(m)))
                .unwrap()
                .clone()
        };
        let (a, b) = (side(&x.a), side(&x.b));
        let b = if a.rxnorm == b.rxnorm {
            k.medications
                .iter()
                .find(|m| m.rxnorm != a.rxnorm && matches(&x.b, &m.rxnorm, Some(m)))
                .unwrap()
                .clone()
        } else {
            b
        };
        let found = check(&[med(&b.rxnorm, &b.name)], &on(&[&a.name]), &k, settings());
        assert!(
            found.iter().any(|f| f.kind == AlertKind::DrugDrug),
            "{} with {}",
            b.name,
            a.name
        );
    }
}

#[test]
fn the_medication_review_finds_what_is_already_active() {
    let k = k();
    let review = review(&on(&["warfarin", "metformin", "ibuprofen", "naproxen"]), &k);
    let whats: Vec<&str> = review.iter().map(|a| a.what.as_str()).collect();
    assert_eq!(review[0].severity, Severity::High, "{whats:?}");
    assert!(
        whats.contains(&"warfarin with ibuprofen (both active)"),
        "{whats:?}"
    );
    assert!(
        whats.contains(&"warfarin with naproxen (both active)"),
        "{whats:?}"
    );
    assert!(
        whats.contains(&"Two nsaids active: ibuprofen and naproxen"),
        "{whats:?}"
    );
    assert_eq!(review.len(), 3, "{whats:?}");
    assert!(super::review(&on(&["metformin", "lisinopril"]), &k).is_empty());
}
