//! Duplicate patients: an explainable probabilistic record linkage (Fellegi–Sunter). Each
//! pair of records is compared field by field (name words with phonetic and edit-distance
//! levels, the birth date with transpositions, identifiers, phone, address, sex); each
//! field's agreement level adds its weight, log2(m/u), where `m` is how often true
//! duplicates agree so and `u` how often different people do. The sum sorts a pair into
//! sure matches, pairs for review, and the rest; every weight is shown with why.
//!
//! Only pairs sharing a blocking key are compared (`blocking.rs`), so a million records are
//! scanned without comparing a trillion pairs. Records are read from Patients by `person`.

pub mod blocking;
pub mod synthetic;

use serde_json::Value;

/// A patient record, normalised for comparing.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Person {
    pub id: String,
    /// Given names and family name words: folded to ASCII lower case, punctuation gone.
    pub given: Vec<String>,
    pub family: Vec<String>,
    /// Year, month, day.
    pub birth: Option<(u16, u8, u8)>,
    pub sex: Option<char>,
    /// The last 9 digits of each phone number.
    pub phones: Vec<String>,
    /// Postcodes / ZIP codes, without spaces, upper case.
    pub postcodes: Vec<String>,
    /// Address line words (numbers and street names), folded.
    pub street: Vec<String>,
    /// `system|value` of identifiers other than this site's MRN (national numbers, insurance).
    pub identifiers: Vec<String>,
}

fn fold(s: &str) -> String {
    deunicode::deunicode(s)
        .to_lowercase()
        .replace(['\'', '`'], "")
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { ' ' })
        .collect()
}

fn words(s: &str) -> Vec<String> {
    fold(s).split_whitespace().map(str::to_string).collect()
}

/// The record of a FHIR Patient (`mrn_system`'s identifiers left out: they are unique by
/// construction and say nothing about who the person is).
pub fn person(p: &Value, mrn_system: &str) -> Option<Person> {
    let id = p["id"].as_str()?.to_string();
    let name = p["name"]
        .as_array()
        .and_then(|n| {
            n.iter()
                .find(|x| x["use"] == "official")
                .or_else(|| n.iter().find(|x| x["use"] != "old"))
        })
        .cloned()
        .unwrap_or(Value::Null);
    let given: Vec<String> = name["given"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .flat_map(words)
        .collect();
    let family = name["family"].as_str().map(words).unwrap_or_default();
    let birth = p["birthDate"].as_str().and_then(|d| {
        let mut it = d.split('-');
        let y = it.next()?.parse().ok()?;
        let m = it.next()?.parse().ok()?;
        let dd = it.next()?.parse().ok()?;
        Some((y, m, dd))
    });
    let sex = match p["gender"].as_str() {
        Some("female") => Some('f'),
        Some("male") => Some('m'),
        Some("other") => Some('o'),
        _ => None,
    };
    let phones = p["telecom"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|t| t["system"] == "phone" || t["system"].is_null())
        .filter_map(|t| t["value"].as_str())
        .map(|v| v.chars().filter(char::is_ascii_digit).collect::<String>())
        .filter(|d| d.len() >= 7)
        .map(|d| d[d.len().saturating_sub(9)..].to_string())
        .collect();
    let addresses = p["address"].as_array().cloned().unwrap_or_default();
    let postcodes = addresses
        .iter()
        .filter_map(|a| a["postalCode"].as_str())
        .map(|c| {
            c.chars()
                .filter(|c| c.is_ascii_alphanumeric())
                .collect::<String>()
                .to_uppercase()
        })
        .filter(|c| !c.is_empty())
        .collect();
    let street = addresses
        .iter()
        .flat_map(|a| a["line"].as_array().cloned().unwrap_or_default())
        .filter_map(|l| l.as_str().map(words))
        .flatten()
        .collect();
    let identifiers = p["identifier"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|i| i["system"] != mrn_system)
        .filter_map(|i| {
            Some(format!(
                "{}|{}",
                i["system"].as_str()?,
                i["value"].as_str()?
            ))
        })
        .collect();
    Some(Person {
        id,
        given,
        family,
        birth,
        sex,
        phones,
        postcodes,
        street,
        identifiers,
    })
}

/// A phonetic key of a name word (Double Metaphone's primary code).
pub fn phonetic(word: &str) -> String {
    use rphonetic::{DoubleMetaphone, Encoder};
    DoubleMetaphone::default().encode(word)
}

/// How one field of a pair compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Level {
    Exact,
    /// Sounds alike, or a small typo (Jaro–Winkler ≥ 0.9), or a nickname initial.
    Close,
    /// Given and family names swapped.
    Swapped,
    /// Day and month transposed, or one part of the date off.
    Transposed,
    Disagree,
    /// One side has nothing: no weight either way.
    Missing,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Field {
    Family,
    Given,
    Birth,
    Sex,
    Phone,
    Postcode,
    Street,
    Identifier,
}

impl Field {
    pub const ALL: [Field; 8] = [
        Field::Family,
        Field::Given,
        Field::Birth,
        Field::Sex,
        Field::Phone,
        Field::Postcode,
        Field::Street,
        Field::Identifier,
    ];

    pub fn words(self) -> &'static str {
        match self {
            Field::Family => "family name",
            Field::Given => "given name",
            Field::Birth => "birth date",
            Field::Sex => "sex",
            Field::Phone => "phone",
            Field::Postcode => "postcode",
            Field::Street => "street",
            Field::Identifier => "identifier",
        }
    }
}

/// The m and u probabilities of each field's levels: `(level, m, u)`. Chosen from the shape
/// of registration errors (typos, transpositions, married names, missing fields) and the
/// frequencies of names and dates in a hospital's population; `synthetic.rs` measures them.
pub fn probabilities(field: Field) -> &'static [(Level, f64, f64)] {
    use Level::*;
    match field {
        Field::Family => &[
            (Exact, 0.86, 0.003),
            (Close, 0.07, 0.01),
            (Swapped, 0.02, 0.000_05),
            (Disagree, 0.05, 0.987),
        ],
        Field::Given => &[
            (Exact, 0.88, 0.006),
            (Close, 0.08, 0.02),
            (Swapped, 0.02, 0.000_05),
            (Disagree, 0.02, 0.974),
        ],
        Field::Birth => &[
            (Exact, 0.90, 0.000_1),
            (Transposed, 0.08, 0.002),
            (Disagree, 0.02, 0.9979),
        ],
        Field::Sex => &[(Exact, 0.98, 0.5), (Disagree, 0.02, 0.5)],
        Field::Phone => &[(Exact, 0.70, 0.000_01), (Disagree, 0.30, 0.999_99)],
        Field::Postcode => &[(Exact, 0.75, 0.002), (Disagree, 0.25, 0.998)],
        Field::Street => &[
            (Exact, 0.70, 0.001),
            (Close, 0.10, 0.01),
            (Disagree, 0.20, 0.989),
        ],
        Field::Identifier => &[(Exact, 0.98, 0.000_000_1), (Disagree, 0.02, 0.999_999_9)],
    }
}

/// The weight of `level` on `field`: log2(m/u); 0 when missing.
pub fn weight(field: Field, level: Level) -> f64 {
    if level == Level::Missing {
        return 0.0;
    }
    probabilities(field)
        .iter()
        .find(|(l, _, _)| *l == level)
        .or_else(|| {
            probabilities(field)
                .iter()
                .find(|(l, _, _)| *l == Level::Disagree)
        })
        .map_or(0.0, |(_, m, u)| (m / u).log2())
}

fn close_word(a: &str, b: &str) -> bool {
    if a == b {
        return true;
    }
    // An initial against the name it starts.
    if (a.len() == 1 && b.starts_with(a)) || (b.len() == 1 && a.starts_with(b)) {
        return true;
    }
    if a.len() >= 3 && b.len() >= 3 && strsim::jaro_winkler(a, b) >= 0.9 {
        return true;
    }
    a.len() >= 2 && b.len() >= 2 && phonetic(a) == phonetic(b)
}

fn names(a: &[String], b: &[String]) -> Level {
    if a.is_empty() || b.is_empty() {
        return Level::Missing;
    }
    if a.first() == b.first() || a.concat() == b.concat() {
        return Level::Exact;
    }
    if a.iter().any(|x| b.iter().any(|y| x == y && x.len() > 1)) {
        return Level::Close;
    }
    if a.iter().any(|x| b.iter().any(|y| close_word(x, y))) {
        return Level::Close;
    }
    Level::Disagree
}

fn birth(a: Option<(u16, u8, u8)>, b: Option<(u16, u8, u8)>) -> Level {
    let (Some((ya, ma, da)), Some((yb, mb, db))) = (a, b) else {
        return Level::Missing;
    };
    if (ya, ma, da) == (yb, mb, db) {
        return Level::Exact;
    }
    let same = [ya == yb, ma == mb, da == db]
        .iter()
        .filter(|x| **x)
        .count();
    let swapped = ya == yb && ma == db && da == mb;
    // A digit off in the year (1956 / 1965, 1956 / 1957).
    let year_typo = ma == mb && da == db && {
        let (x, y) = (format!("{ya:04}"), format!("{yb:04}"));
        let diff = x.chars().zip(y.chars()).filter(|(p, q)| p != q).count();
        let transposed =
            x.len() == 4 && x[..2] == y[..2] && x[2..] == y[2..].chars().rev().collect::<String>();
        diff == 1 || transposed
    };
    // Day and month swapped, a digit off in the year, or one of day and month off.
    if swapped || year_typo || (same == 2 && ya == yb) {
        return Level::Transposed;
    }
    Level::Disagree
}

fn any_equal(a: &[String], b: &[String]) -> Level {
    if a.is_empty() || b.is_empty() {
        return Level::Missing;
    }
    if a.iter().any(|x| b.contains(x)) {
        Level::Exact
    } else {
        Level::Disagree
    }
}

fn street(a: &[String], b: &[String]) -> Level {
    if a.is_empty() || b.is_empty() {
        return Level::Missing;
    }
    if a == b {
        return Level::Exact;
    }
    let shared = a.iter().filter(|w| w.len() > 1 && b.contains(w)).count();
    if shared >= 2 {
        Level::Close
    } else {
        Level::Disagree
    }
}

/// Identifiers agree when one system has the same value on both, disagree when a system
/// they both have differs; otherwise missing.
fn identifiers(a: &[String], b: &[String]) -> Level {
    let mut level = Level::Missing;
    for x in a {
        let (sx, vx) = x.split_once('|').unwrap_or(("", x));
        for y in b {
            let (sy, vy) = y.split_once('|').unwrap_or(("", y));
            if sx == sy {
                if vx == vy {
                    return Level::Exact;
                }
                level = Level::Disagree;
            }
        }
    }
    level
}

/// One field's part of a score.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Part {
    pub field: Field,
    pub level: Level,
    pub weight: f64,
}

/// A pair's comparison: each field's level and weight, and their sum.
#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    pub parts: Vec<Part>,
    pub score: f64,
}

/// Compares two records field by field.
pub fn compare(a: &Person, b: &Person) -> Comparison {
    let (mut family, mut given) = (names(&a.family, &b.family), names(&a.given, &b.given));
    // Given and family swapped on one of them.
    if family == Level::Disagree
        && given == Level::Disagree
        && names(&a.family, &b.given) == Level::Exact
        && names(&a.given, &b.family) == Level::Exact
    {
        family = Level::Swapped;
        given = Level::Swapped;
    }
    let sex = match (a.sex, b.sex) {
        (Some(x), Some(y)) if x == y => Level::Exact,
        (Some(_), Some(_)) => Level::Disagree,
        _ => Level::Missing,
    };
    let levels = [
        (Field::Family, family),
        (Field::Given, given),
        (Field::Birth, birth(a.birth, b.birth)),
        (Field::Sex, sex),
        (Field::Phone, any_equal(&a.phones, &b.phones)),
        (Field::Postcode, any_equal(&a.postcodes, &b.postcodes)),
        (Field::Street, street(&a.street, &b.street)),
        (
            Field::Identifier,
            identifiers(&a.identifiers, &b.identifiers),
        ),
    ];
    let parts: Vec<Part> = levels
        .into_iter()
        .map(|(field, level)| Part {
            field,
            level,
            weight: weight(field, level),
        })
        .collect();
    let score = parts.iter().map(|p| p.weight).sum();
    Comparison { parts, score }
}

/// Where a score puts a pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Verdict {
    Sure,
    Review,
    Different,
}

/// The two thresholds: at or above `sure`, a sure match; at or above `review`, for review.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Thresholds {
    pub sure: f64,
    pub review: f64,
}

impl Default for Thresholds {
    fn default() -> Thresholds {
        Thresholds {
            sure: 18.0,
            review: 11.0,
        }
    }
}

impl Thresholds {
    pub fn verdict(self, score: f64) -> Verdict {
        if score >= self.sure {
            Verdict::Sure
        } else if score >= self.review {
            Verdict::Review
        } else {
            Verdict::Different
        }
    }
}

/// A candidate pair with its comparison.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    pub a: usize,
    pub b: usize,
    pub comparison: Comparison,
    pub verdict: Verdict,
}

/// Every pair of `people` sharing a blocking key that scores at least `t.review`, best
/// first. Scans on `threads` threads.
pub fn find(people: &[Person], t: Thresholds, threads: usize) -> Vec<Candidate> {
    let pairs = blocking::pairs(people);
    let threads = threads.max(1);
    let chunk = pairs.len().div_ceil(threads).max(1);
    let mut out: Vec<Candidate> = std::thread::scope(|s| {
        let handles: Vec<_> = pairs
            .chunks(chunk)
            .map(|part| {
                s.spawn(move || {
                    part.iter()
                        .filter_map(|&(a, b)| {
                            let comparison = compare(&people[a as usize], &people[b as usize]);
                            let verdict = t.verdict(comparison.score);
                            (verdict != Verdict::Different).then_some(Candidate {
                                a: a as usize,
                                b: b as usize,
                                comparison,
                                verdict,
                            })
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_default())
            .collect()
    });
    out.sort_by(|x, y| y.comparison.score.total_cmp(&x.comparison.score));
    out
}

/// Why, in words: each field's level and weight, strongest first.
pub fn explain(c: &Comparison) -> Vec<String> {
    let mut parts = c.parts.clone();
    parts.sort_by(|a, b| b.weight.abs().total_cmp(&a.weight.abs()));
    parts
        .iter()
        .map(|p| {
            let level = match p.level {
                Level::Exact => "agree",
                Level::Close => "agree closely (sounds alike, a typo, an initial)",
                Level::Swapped => "agree with given and family names swapped",
                Level::Transposed => "nearly agree (day and month swapped, or a digit off)",
                Level::Disagree => "disagree",
                Level::Missing => "missing on one side",
            };
            format!("{:+6.1}  {} {level}", p.weight, p.field.words())
        })
        .collect()
}

#[cfg(test)]
mod tests;
