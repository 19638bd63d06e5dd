//! The official FHIR R4 examples (npm `hl7.fhir.r4.examples` 4.0.1): every example of a type
//! this server supports imports, and reads back over HTTP semantically equal to the input.

mod common;

use bedside::workstation::msg::ChartMsg;
use std::path::PathBuf;

use bedside::fhir::extract::IndexValue;
use common::TestServer;
use serde_json::Value;

fn examples_dir() -> Option<PathBuf> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let dir = std::env::var_os("BEDSIDE_FHIR_EXAMPLES")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target/fhir-examples/package"));
    if !dir.join("Patient-example.json").exists() {
        let fetched = std::process::Command::new("bash")
            .arg(root.join(".ci/fetch-fhir-examples"))
            .status();
        if !fetched.is_ok_and(|s| s.success()) {
            assert!(
                std::env::var_os("CI").is_none(),
                "the FHIR examples could not be fetched; CI must run them"
            );
            eprintln!("skipping: FHIR examples not available (run .ci/fetch-fhir-examples)");
            return None;
        }
    }
    Some(dir)
}

/// The committed tables in `src/fhir/r4/` are what the generator makes of the package: they
/// are reproducible, and nobody edited them by hand.
#[test]
fn generated_tables_are_reproducible() {
    let Some(dir) = examples_dir() else { return };
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let out = tempfile::tempdir().unwrap();
    let run = std::process::Command::new("python3")
        .arg(root.join("tools/fhir-r4/generate.py"))
        .arg(&dir)
        .arg(out.path())
        .output();
    let run = match run {
        Ok(r) => r,
        Err(e) => {
            assert!(std::env::var_os("CI").is_none(), "python3 is needed: {e}");
            eprintln!("skipping: no python3 ({e})");
            return;
        }
    };
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    for name in [
        "search-parameters.json",
        "compartment.json",
        "elements.json",
        "valuesets.json",
        "types.rs",
    ] {
        let made = std::fs::read(out.path().join(name)).unwrap();
        let committed = std::fs::read(root.join("src/fhir/r4").join(name)).unwrap();
        assert!(
            made == committed,
            "src/fhir/r4/{name} differs from what the generator makes"
        );
    }
}

fn without_server_meta(mut v: Value) -> Value {
    if let Some(obj) = v.as_object_mut() {
        if let Some(Value::Object(meta)) = obj.get_mut("meta") {
            meta.remove("versionId");
            meta.remove("lastUpdated");
            if meta.is_empty() {
                obj.remove("meta");
            }
        }
    }
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn official_examples_round_trip() {
    let Some(dir) = examples_dir() else { return };
    let mut files: Vec<(PathBuf, Value)> = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "json") {
            continue;
        }
        let Ok(value) = serde_json::from_slice::<Value>(&std::fs::read(&path).unwrap()) else {
            continue;
        };
        // AuditEvents come only from the server's own trail (import refuses them).
        if value["resourceType"].is_string() && value["resourceType"] != "AuditEvent" {
            files.push((path, value));
        }
    }
    // The whole package (5,307 files) but its nine AuditEvents and its index files.
    assert!(files.len() > 5_250, "{} examples", files.len());
    // Bundles whose entries are data to load (collections, searchsets, transactions) go first,
    // so a standalone example that shares an id with an entry is what stays.
    let unpacked = |v: &Value| {
        v["resourceType"] == "Bundle"
            && matches!(
                v["type"].as_str(),
                Some("transaction" | "batch" | "collection" | "searchset" | "history")
            )
    };
    files.sort_by_key(|(p, v)| (!unpacked(v), p.clone()));

    let srv = TestServer::start().await;
    let paths: Vec<PathBuf> = files.iter().map(|(p, _)| p.clone()).collect();
    let store = srv.store.clone();
    let summary = tokio::task::spawn_blocking(move || {
        bedside::server::import::import_files(&store, &paths, |_| {})
    })
    .await
    .unwrap();
    // The official examples the validator refuses, each for a real fault of the example
    // (known errata of the R4 publication):
    let invalid: &[(&str, &str)] = &[
        ("SearchParameter-codesystem-extensions-", "no base (1..*)"),
        ("SearchParameter-valueset-extensions-", "no base (1..*)"),
        (
            "CodeSystem-v2-0550.json",
            "codes end in a non-breaking space",
        ),
        (
            "Bundle-v2-valuesets.json entry 814",
            "the same CodeSystem, inside",
        ),
        ("ImplementationGuide-fhir.json", "no name (1..1)"),
        ("ig-r4.json", "no name (1..1)"),
        (
            "DeviceMetric-example.json",
            "parent refers to a DeviceDefinition, not a Device",
        ),
        (
            "DeviceUseStatement-example.json",
            "reasonReference refers to a Procedure",
        ),
        (
            "MedicationRequest-medrx0301.json",
            "dispenseRequest.performer is a Practitioner",
        ),
        (
            "Observation-clinical-gender.json",
            "performer refers to an Encounter",
        ),
        (
            "OrganizationAffiliation-orgrole1.json",
            "network refers to a 'Network'",
        ),
        ("Questionnaire-qs1.json", "items without linkId (1..1)"),
    ];
    let unexplained: Vec<&String> = summary
        .rejections
        .iter()
        .filter(|r| !invalid.iter().any(|(name, _)| r.contains(name)))
        .collect();
    assert!(unexplained.is_empty(), "{unexplained:#?}");
    assert_eq!(summary.rejected, 20, "{:#?}", summary.rejections);
    let refused = |path: &PathBuf| {
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        invalid
            .iter()
            .any(|(n, _)| name.starts_with(n.split(' ').next().unwrap()))
    };

    let mut mismatches = Vec::new();
    let mut bad_ids = Vec::new();
    let mut read = 0;
    for (path, input) in files.iter().filter(|(p, v)| !unpacked(v) && !refused(p)) {
        let id = input["id"].as_str().unwrap_or_default();
        if !bedside::fhir::valid_id(id) {
            // Stored under an id derived from its content: the example's own breaks the
            // 64-character limit of FHIR ids.
            bad_ids.push(id.to_string());
            continue;
        }
        let url = format!("{}/{id}", input["resourceType"].as_str().unwrap());
        let (status, back) = srv.get(&url).await;
        assert_eq!(status, reqwest::StatusCode::OK, "{url}");
        read += 1;
        if without_server_meta(back) != without_server_meta(input.clone()) {
            mismatches.push(path.display().to_string());
        }
    }
    assert!(
        mismatches.is_empty(),
        "read back differently: {mismatches:?}"
    );
    assert!(bad_ids.len() < 10, "{bad_ids:?}");
    eprintln!(
        "{} official example files imported ({} resources); {read} read back equal; {} with an \
         id longer than FHIR allows: {bad_ids:?}",
        files.len(),
        summary.imported,
        bad_ids.len()
    );
    search_by_every_parameter(&srv, &files, &refused).await;
    render_every_chart(&srv, &files).await;
}

/// A search value that must find a resource whose index holds `v`, or `None` for values a
/// search cannot spell (a separator inside a code).
fn search_value(param: &bedside::fhir::params::Param, v: &IndexValue) -> Option<String> {
    use bedside::fhir::params::Kind;
    let esc = |s: &str| {
        s.replace('\\', "\\\\")
            .replace(',', "\\,")
            .replace('$', "\\$")
    };
    let instant = |ms: i64| bedside::fhir::date::instant(ms);
    let number = |lo: f64, hi: f64| {
        if lo == hi && lo.is_finite() {
            Some(format!("{lo}"))
        } else if lo.is_finite() {
            Some(format!("ge{lo}"))
        } else if hi.is_finite() {
            Some(format!("le{hi}"))
        } else {
            None
        }
    };
    let token = |system: &str, code: &str| {
        if code.contains('|') || system.contains('|') || code.is_empty() {
            None
        } else if system.is_empty() {
            Some(esc(code))
        } else {
            Some(format!("{}|{}", esc(system), esc(code)))
        }
    };
    match v {
        IndexValue::String { value, .. } => (!value.is_empty()).then(|| esc(value)),
        IndexValue::Token { system, code, .. } => token(system, code),
        IndexValue::Date { lo, hi } => {
            if *lo > i64::MIN / 2 {
                Some(format!("ge{}", instant(*lo)))
            } else if *hi < i64::MAX / 2 {
                Some(format!("le{}", instant(*hi)))
            } else {
                None
            }
        }
        IndexValue::Reference { rtype, id } => Some(format!("{rtype}/{id}")),
        IndexValue::Quantity {
            lo,
            hi,
            system,
            code,
            ..
        } => {
            let n = number(lo.0, hi.0)?;
            if param.kind == Kind::Quantity
                && !code.is_empty()
                && !code.contains('|')
                && !system.contains('|')
            {
                Some(format!("{n}|{}|{}", esc(system), esc(code)))
            } else {
                Some(n)
            }
        }
        IndexValue::Composite {
            code1,
            system1,
            code2,
            system2,
            lo2,
            hi2,
            ..
        } if param.kind == Kind::Composite => {
            let first = token(system1, code1)?;
            let second = match param.components.get(1)?.kind {
                Kind::Token => token(system2, code2)?,
                Kind::String => esc(code2),
                Kind::Date => format!("ge{}", instant(lo2.0 as i64)),
                _ => number(lo2.0, hi2.0)?,
            };
            Some(format!("{first}${second}"))
        }
        // An Identifier's type and value, for `:of-type`.
        IndexValue::Composite {
            code1,
            system1,
            code2,
            ..
        } => {
            let plain = [system1, code1, code2].iter().all(|s| !s.contains('|'));
            (plain && !code1.is_empty() && !code2.is_empty())
                .then(|| format!("{}|{}|{}", esc(system1), esc(code1), esc(code2)))
        }
    }
}

/// The composite row a pairing of two parts' rows makes (the first a token).
fn pair_row(first: &IndexValue, second: &IndexValue) -> IndexValue {
    use bedside::fhir::extract::Num;
    let IndexValue::Token { system, code, .. } = first else {
        panic!("the first part of a pair is a token: {first:?}");
    };
    let (code2, system2, lo2, hi2, canon2) = match second.clone() {
        IndexValue::Token { system, code, .. } => (code, system, 0.0, 0.0, None),
        IndexValue::Date { lo, hi } => (String::new(), String::new(), lo as f64, hi as f64, None),
        IndexValue::Quantity {
            lo,
            hi,
            system,
            code,
            canon,
        } => (code, system, lo.0, hi.0, canon),
        other => panic!("not a second part of a pair: {other:?}"),
    };
    IndexValue::Composite {
        code1: code.clone(),
        system1: system.clone(),
        code2,
        system2,
        lo2: Num(lo2),
        hi2: Num(hi2),
        canon2,
    }
}

/// For every search parameter of the specification that has a value in the examples, a
/// search by that value (and the example's id) finds the example: up to three examples per
/// parameter.
async fn search_by_every_parameter(
    srv: &TestServer,
    files: &[(PathBuf, Value)],
    refused: &dyn Fn(&PathBuf) -> bool,
) {
    use std::collections::HashMap;
    let reader = srv.store.reader().unwrap();
    let mut tried: HashMap<(String, &'static str), usize> = HashMap::new();
    let mut misses = Vec::new();
    let mut searches = 0;
    for (path, v) in files {
        let (Some(rtype), Some(id)) = (v["resourceType"].as_str(), v["id"].as_str()) else {
            continue;
        };
        if rtype == "Bundle" && v["type"] != "document" && v["type"] != "message" {
            continue;
        }
        if refused(path) || !bedside::fhir::valid_id(id) {
            continue;
        }
        let extracted = bedside::fhir::extract::extract(rtype, id, v);
        // Skipping the parameters whose elements are absent loses no row.
        let every = bedside::fhir::extract::extract_every_parameter(rtype, id, v);
        let rows = |x: &bedside::fhir::extract::Extracted| {
            x.entries
                .iter()
                .map(|(p, v)| (p.name, v.clone()))
                .collect::<Vec<_>>()
        };
        assert_eq!(rows(&extracted), rows(&every), "{rtype}/{id}");
        // A paired composite (`code-value-quantity`) stores no rows: the rows it would have
        // are exactly every pairing of its two parts' own rows, so both matching is the same.
        let mut paired = Vec::new();
        for param in bedside::fhir::params::params(rtype) {
            let Some([a, b]) = param.pair else { continue };
            let own = bedside::fhir::extract::composite_rows(param, v);
            let of = |name: &str| -> Vec<IndexValue> {
                extracted
                    .entries
                    .iter()
                    .filter(|(p, _)| p.name == name)
                    .map(|(_, v)| v.clone())
                    .collect()
            };
            let mut product = Vec::new();
            for first in of(a) {
                for second in of(b) {
                    product.push(pair_row(&first, &second));
                }
            }
            let mut own: Vec<String> = own.iter().map(|r| format!("{r:?}")).collect();
            let mut product: Vec<String> = product.iter().map(|r| format!("{r:?}")).collect();
            own.sort();
            own.dedup();
            product.sort();
            product.dedup();
            assert_eq!(own, product, "{rtype}/{id} {}", param.name);
            paired.extend(
                bedside::fhir::extract::composite_rows(param, v)
                    .into_iter()
                    .map(|row| (param, row)),
            );
        }
        let mut done: Vec<&str> = Vec::new();
        for (param, value) in extracted.entries.iter().chain(paired.iter()) {
            if done.contains(&param.name) {
                continue;
            }
            let n = tried.entry((rtype.to_string(), param.name)).or_default();
            if *n >= 3 {
                continue;
            }
            let Some(search) = search_value(param, value) else {
                continue;
            };
            done.push(param.name);
            *n += 1;
            searches += 1;
            // A logical reference (by identifier) is found with `:identifier`.
            let key = match (param.kind, value) {
                (bedside::fhir::params::Kind::Reference, IndexValue::Token { .. }) => {
                    format!("{}:identifier", param.name)
                }
                (bedside::fhir::params::Kind::Token, IndexValue::Composite { .. }) => {
                    format!("{}:of-type", param.name)
                }
                _ => param.name.to_string(),
            };
            let params = vec![(key, search.clone()), ("_id".to_string(), id.to_string())];
            let found = match reader.search(rtype, &params, true) {
                Ok((_, found)) => {
                    // A listed row carries its patients from the compartment index: the gate
                    // judges it by them, so they are exactly those its JSON names.
                    for row in &found.matches {
                        // A Patient is judged by its own id: the listing leaves it out.
                        assert_eq!(row.patients.is_none(), row.rtype == "Patient");
                        let json: Value = serde_json::from_str(&row.json).unwrap();
                        let mut want =
                            bedside::server::auth::policy::patients_of(&row.rtype, &row.id, &json);
                        want.sort();
                        want.dedup();
                        let Some(mut got) = row.patients.clone() else {
                            continue;
                        };
                        got.sort();
                        assert_eq!(got, want, "{}/{} patients", row.rtype, row.id);
                    }
                    found.matches.iter().any(|r| r.id == id)
                }
                Err(e) => {
                    misses.push(format!("{rtype}?{}={search} (id {id}): {e}", param.name));
                    continue;
                }
            };
            if !found {
                misses.push(format!("{rtype}?{}={search} did not find {id}", param.name));
            }
        }
    }
    let total: usize = bedside::fhir::RESOURCE_TYPES
        .iter()
        .map(|t| {
            bedside::fhir::params::params(t)
                .iter()
                .filter(|p| !p.is_alias())
                .count()
        })
        .sum();
    assert!(misses.is_empty(), "{} misses: {misses:#?}", misses.len());
    eprintln!(
        "{} of the {total} indexed search parameters have a value in the examples; {searches} searches by those values each found their example",
        tried.len()
    );
    assert!(tried.len() > 1000, "{} parameters covered", tried.len());
}

/// Every chart the examples make opens and renders in every view without an error: each
/// timeline item's detail, a trend where there are numbers, and the summary.
async fn render_every_chart(srv: &TestServer, files: &[(PathBuf, Value)]) {
    use bedside::workstation::headless::Headless;
    use bedside::workstation::state::{ChartView, Msg};
    let today = chrono::NaiveDate::from_ymd_opt(2026, 11, 20).unwrap();
    let patients: Vec<&str> = files
        .iter()
        .filter(|(_, v)| v["resourceType"] == "Patient")
        .filter_map(|(_, v)| v["id"].as_str())
        .collect();
    let mut items = 0;
    for (w, h) in [(80, 24), (160, 48)] {
        let mut app = Headless::new(&srv.base, &srv.token, w, h, today).unwrap();
        for id in &patients {
            app.app.handle(Msg::Chart(ChartMsg::Open(id.to_string())));
            let loaded = app
                .wait_for(std::time::Duration::from_secs(20), |s| {
                    s.chart.as_ref().is_some_and(|c| !c.loading)
                })
                .await;
            assert!(loaded, "chart of Patient/{id} did not load");
            let c = app.state().chart.as_ref().unwrap();
            assert_eq!(c.error, None, "Patient/{id}");
            assert!(c.chart.patient.is_some(), "Patient/{id} has no banner");
            let n = c.visible.len();
            items += n;
            for _ in 0..n {
                app.keys("<tab>t").unwrap();
                let trend = matches!(
                    app.state().chart.as_ref().unwrap().view,
                    ChartView::Trend { .. }
                );
                app.keys(if trend { "<esc><esc>j" } else { "<esc>j" })
                    .unwrap();
            }
            app.keys("s").unwrap();
            assert!(app.screen().contains("Active problems"), "Patient/{id}");
            app.keys("s").unwrap();
        }
    }
    eprintln!(
        "{} example charts rendered ({items} timeline items)",
        patients.len()
    );
}
