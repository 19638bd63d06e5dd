//! The order catalog: laboratory and imaging tests (LOINC) and medications (RxNorm), searched
//! as the clinician types, plus order sets. Shipped as `orders/*.toml`, compiled in; a file
//! of the same name in the config directory's `orders/` replaces each.

use std::path::Path;

use fuzzy_matcher::FuzzyMatcher;
use fuzzy_matcher::skim::SkimMatcherV2;
use serde::Deserialize;

use super::knowledge::Knowledge;

const TESTS: &str = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/orders/tests.toml"));
const ORDER_SETS: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/orders/order-sets.toml"
));

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Lab,
    Imaging,
    Medication,
}

impl Kind {
    pub fn tag(self) -> &'static str {
        match self {
            Kind::Lab => "LAB",
            Kind::Imaging => "IMG",
            Kind::Medication => "MED",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Entry {
    pub kind: Kind,
    /// LOINC code for tests, RxNorm RXCUI for medications.
    pub code: String,
    pub name: String,
    pub also: Vec<String>,
    /// Lower-case name and other names, what a query is matched against.
    search: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct TestRow {
    loinc: String,
    name: String,
    kind: Kind,
    #[serde(default)]
    also: Vec<String>,
}

#[derive(Deserialize)]
struct TestFile {
    test: Vec<TestRow>,
}

/// One item of an order set: a catalog code (`loinc:...` or `rxnorm:...`) and defaults.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SetItem {
    pub code: String,
    #[serde(default)]
    pub priority: Option<String>,
    #[serde(default)]
    pub reason: Option<String>,
    #[serde(default)]
    pub dose: Option<f64>,
    #[serde(default)]
    pub frequency: Option<String>,
    #[serde(default)]
    pub indication: Option<String>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct OrderSet {
    pub name: String,
    pub items: Vec<SetItem>,
}

#[derive(Deserialize)]
struct SetFile {
    set: Vec<OrderSet>,
}

#[derive(Debug, Clone, Default)]
pub struct Catalog {
    pub entries: Vec<Entry>,
    pub sets: Vec<OrderSet>,
    /// Entries by the first one and two letters of each of their words: the first keys of a
    /// search look up instead of scanning.
    starts: std::collections::HashMap<String, Vec<usize>>,
}

/// A search hit: the entry, its score, and which characters of its name matched.
#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    pub entry: usize,
    pub score: i64,
    pub matched: Vec<usize>,
}

impl Catalog {
    /// Tests and order sets from the shipped files (or the user's), medications from
    /// `knowledge`. Problems are returned, not fatal.
    pub fn load(knowledge: &Knowledge, user_dir: Option<&Path>) -> (Catalog, Vec<String>) {
        let mut problems = Vec::new();
        let text = |name: &str, shipped: &'static str, problems: &mut Vec<String>| -> String {
            match user_dir.map(|d| d.join(name)).filter(|p| p.exists()) {
                Some(path) => std::fs::read_to_string(&path).unwrap_or_else(|e| {
                    problems.push(format!("{}: cannot read it ({e})", path.display()));
                    shipped.to_string()
                }),
                None => shipped.to_string(),
            }
        };
        let tests = match toml::from_str::<TestFile>(&text("tests.toml", TESTS, &mut problems)) {
            Ok(f) => f.test,
            Err(e) => {
                problems.push(format!(
                    "orders/tests.toml: {} (shipped list used)",
                    e.message().trim()
                ));
                toml::from_str::<TestFile>(TESTS)
                    .map(|f| f.test)
                    .unwrap_or_default()
            }
        };
        let sets =
            match toml::from_str::<SetFile>(&text("order-sets.toml", ORDER_SETS, &mut problems)) {
                Ok(f) => f.set,
                Err(e) => {
                    problems.push(format!(
                        "orders/order-sets.toml: {} (shipped sets used)",
                        e.message().trim()
                    ));
                    toml::from_str::<SetFile>(ORDER_SETS)
                        .map(|f| f.set)
                        .unwrap_or_default()
                }
            };
        let mut entries: Vec<Entry> = tests
            .into_iter()
            .map(|t| Entry::new(t.kind, t.loinc, t.name, t.also))
            .collect();
        for m in &knowledge.medications {
            let also = m
                .strengths
                .iter()
                .map(|s| format!("{} {s}", m.name))
                .collect();
            entries.push(Entry::new(
                Kind::Medication,
                m.rxnorm.clone(),
                m.name.clone(),
                also,
            ));
        }
        let mut catalog = Catalog::from_entries(entries);
        catalog.sets = sets;
        for set in &catalog.sets {
            for item in &set.items {
                if catalog.by_code(&item.code).is_none() {
                    problems.push(format!(
                        "order set \"{}\": {} is not in the catalog (skipped)",
                        set.name, item.code
                    ));
                }
            }
        }
        (catalog, problems)
    }

    pub fn from_entries(entries: Vec<Entry>) -> Catalog {
        let mut starts: std::collections::HashMap<String, Vec<usize>> = Default::default();
        for (i, e) in entries.iter().enumerate() {
            for word in e.search.split(|c: char| !c.is_alphanumeric()) {
                let mut chars = word.chars();
                let one: String = chars.by_ref().take(1).collect();
                let two: String = word.chars().take(2).collect();
                for key in [one, two] {
                    if key.is_empty() {
                        continue;
                    }
                    let list = starts.entry(key).or_default();
                    if list.last() != Some(&i) {
                        list.push(i);
                    }
                }
            }
        }
        Catalog {
            entries,
            sets: Vec::new(),
            starts,
        }
    }

    /// The entry for `loinc:CODE` or `rxnorm:CODE`.
    pub fn by_code(&self, code: &str) -> Option<&Entry> {
        let (system, code) = code.split_once(':')?;
        let kind_ok = |e: &Entry| match system {
            "loinc" => e.kind != Kind::Medication,
            "rxnorm" => e.kind == Kind::Medication,
            _ => false,
        };
        self.entries.iter().find(|e| e.code == code && kind_ok(e))
    }

    /// The best `limit` entries for `query`: fuzzy over names and other names, with a cheap
    /// in-order character test first so the fuzzy matcher only scores candidates.
    pub fn search(&self, query: &str, limit: usize) -> Vec<Hit> {
        self.search_within(query, None, limit).0
    }

    /// As `search`, looking only at `candidates` (the matches of a shorter query this one
    /// extends, as typing does), and returning this query's matches for the next key.
    pub fn search_within(
        &self,
        query: &str,
        candidates: Option<&[usize]>,
        limit: usize,
    ) -> (Vec<Hit>, Vec<usize>) {
        let q: String = query.trim().to_lowercase();
        if q.is_empty() {
            return (Vec::new(), Vec::new());
        }
        let all: Vec<usize>;
        let pool: &[usize] = match candidates {
            Some(c) => c,
            None => {
                all = (0..self.entries.len()).collect();
                &all
            }
        };
        let matcher = SkimMatcherV2::default().ignore_case();
        // One or two letters match almost everything fuzzily: take words that start with
        // them instead (cheap, and what a clinician expects from "k" or "cr").
        if q.chars().count() <= 2 {
            let pool: &[usize] = match candidates {
                Some(c) => c,
                None => self.starts.get(&q).map(Vec::as_slice).unwrap_or(&[]),
            };
            let hits: Vec<Hit> = pool
                .iter()
                .map(|&i| (i, &self.entries[i]))
                .filter_map(|(i, e)| {
                    let at = word_start(&e.search, &q)?;
                    Some(Hit {
                        entry: i,
                        score: 1000 - at.min(999) as i64,
                        matched: Vec::new(),
                    })
                })
                .collect();
            let matches = hits.iter().map(|h| h.entry).collect();
            return (self.best(hits, limit, &matcher, &q), matches);
        }
        let hits: Vec<Hit> = pool
            .iter()
            .map(|&i| (i, &self.entries[i]))
            .filter(|(_, e)| in_order(&e.search, &q))
            .filter_map(|(i, e)| {
                // The typed text as it stands beats any scattered match; the fuzzy matcher
                // (the costly part) only scores what is not a plain substring.
                let score = match e.search.find(&q) {
                    Some(0) => 3000,
                    Some(at) => 2000 - at.min(999) as i64,
                    None => matcher.fuzzy_match(&e.search, &q)?,
                };
                Some(Hit {
                    entry: i,
                    score,
                    matched: Vec::new(),
                })
            })
            .collect();
        let matches = hits.iter().map(|h| h.entry).collect();
        (self.best(hits, limit, &matcher, &q), matches)
    }

    /// The top `limit` hits, best first, with their highlighted characters.
    fn best(&self, mut hits: Vec<Hit>, limit: usize, matcher: &SkimMatcherV2, q: &str) -> Vec<Hit> {
        // Only the hits shown need their highlighted characters.
        let shown = limit.min(hits.len());
        if shown > 0 {
            hits.select_nth_unstable_by(shown - 1, |a, b| {
                b.score.cmp(&a.score).then(a.entry.cmp(&b.entry))
            });
        }
        hits.truncate(shown);
        hits.sort_by(|a, b| b.score.cmp(&a.score).then(a.entry.cmp(&b.entry)));
        for h in &mut hits {
            h.matched = matcher
                .fuzzy_indices(&self.entries[h.entry].name, q)
                .map(|(_, m)| m)
                .unwrap_or_default();
        }
        hits
    }
}

impl Entry {
    pub fn new(kind: Kind, code: String, name: String, also: Vec<String>) -> Entry {
        let search = std::iter::once(name.as_str())
            .chain(also.iter().map(String::as_str))
            .collect::<Vec<_>>()
            .join(" | ")
            .to_lowercase();
        Entry {
            kind,
            code,
            name,
            also,
            search,
        }
    }
}

/// Where a word of `s` starts with `q`.
fn word_start(s: &str, q: &str) -> Option<usize> {
    let mut at = 0;
    for word in s.split(|c: char| !c.is_alphanumeric()) {
        if word.starts_with(q) {
            return Some(at);
        }
        at += word.len() + 1;
    }
    None
}

/// True when every character of `q` appears in `s` in order (spaces ignored).
fn in_order(s: &str, q: &str) -> bool {
    let mut chars = s.chars();
    q.chars()
        .filter(|c| !c.is_whitespace())
        .all(|c| chars.any(|x| x == c))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn catalog() -> Catalog {
        let (k, _) = Knowledge::load(None);
        let (c, problems) = Catalog::load(&k, None);
        assert!(problems.is_empty(), "{problems:?}");
        c
    }

    #[test]
    fn finds_tests_and_medications_by_name_and_other_names() {
        let c = catalog();
        let name = |q: &str| c.entries[c.search(q, 5)[0].entry].name.clone();
        assert_eq!(name("cbc"), "CBC panel (complete blood count)");
        assert_eq!(name("troponin"), "Troponin I, cardiac");
        assert_eq!(name("chest x"), "XR Chest 2 views");
        assert_eq!(name("warf"), "warfarin");
        assert_eq!(name("amox"), "amoxicillin");
        assert!(c.search("zzzz", 5).is_empty());
        // Typing narrows: each key searches the previous key's matches only.
        let (_, pool) = c.search_within("tr", None, 5);
        let (hits, _) = c.search_within("trop", Some(&pool), 5);
        assert_eq!(c.entries[hits[0].entry].name, "Troponin I, cardiac");
        assert!(c.search("  ", 5).is_empty());
    }

    #[test]
    fn order_sets_name_catalog_entries() {
        let c = catalog();
        let chest = c
            .sets
            .iter()
            .find(|s| s.name == "Chest pain workup")
            .unwrap();
        assert!(chest.items.iter().all(|i| c.by_code(&i.code).is_some()));
        assert_eq!(c.by_code("rxnorm:1191").unwrap().name, "aspirin");
        assert!(c.by_code("loinc:1191").is_none());
    }
}
