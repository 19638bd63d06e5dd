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
    /// The phonetic codes of `given` and `family`, word by word (computed once: `sounded`).
    pub given_sound: Vec<String>,
    pub family_sound: Vec<String>,
}

impl Person {
    /// With the phonetic codes of its names filled in.
    pub fn sounded(mut self) -> Person {
        self.given_sound = self.given.iter().map(|w| phonetic(w)).collect();
        self.family_sound = self.family.iter().map(|w| phonetic(w)).collect();
        self
    }
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
    Some(
        Person {
            id,
            given,
            family,
            birth,
            sex,
            phones,
            postcodes,
            street,
            identifiers,
            ..Person::default()
        }
        .sounded(),
    )
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

fn close_word(a: &str, b: &str, sa: &str, sb: &str) -> bool {
    if a == b {
        return true;
    }
    // An initial against the name it starts.
    if (a.len() == 1 && b.starts_with(a)) || (b.len() == 1 && a.starts_with(b)) {
        return true;
    }
    if a.len() >= 2 && b.len() >= 2 && !sa.is_empty() && sa == sb {
        return true;
    }
    a.len() >= 3 && b.len() >= 3 && strsim::jaro_winkler(a, b) >= 0.9
}

fn sound(s: &[String], i: usize) -> &str {
    s.get(i).map_or("", String::as_str)
}

fn names(a: &[String], b: &[String], sa: &[String], sb: &[String]) -> Level {
    if a.is_empty() || b.is_empty() {
        return Level::Missing;
    }
    if a.first() == b.first() || a.concat() == b.concat() {
        return Level::Exact;
    }
    for (i, x) in a.iter().enumerate() {
        for (j, y) in b.iter().enumerate() {
            if (x == y && x.len() > 1) || close_word(x, y, sound(sa, i), sound(sb, j)) {
                return Level::Close;
            }
        }
    }
    Level::Disagree
}

/// Digit strings one typo apart: one digit different, or two adjacent ones swapped.
fn one_typo(x: &str, y: &str) -> bool {
    if x.len() != y.len() {
        return false;
    }
    let diff: Vec<usize> = x
        .bytes()
        .zip(y.bytes())
        .enumerate()
        .filter(|(_, (p, q))| p != q)
        .map(|(i, _)| i)
        .collect();
    match diff.as_slice() {
        [_] => true,
        [i, j] => {
            *j == i + 1
                && x.as_bytes()[*i] == y.as_bytes()[*j]
                && x.as_bytes()[*j] == y.as_bytes()[*i]
        }
        _ => false,
    }
}

fn birth(a: Option<(u16, u8, u8)>, b: Option<(u16, u8, u8)>) -> Level {
    let (Some((ya, ma, da)), Some((yb, mb, db))) = (a, b) else {
        return Level::Missing;
    };
    if (ya, ma, da) == (yb, mb, db) {
        return Level::Exact;
    }
    // Day and month swapped, or one of year, month and day a typo away.
    let swapped = ya == yb && ma == db && da == mb;
    let (a8, b8) = (
        format!("{ya:04}{ma:02}{da:02}"),
        format!("{yb:04}{mb:02}{db:02}"),
    );
    let parts_off = [ya != yb, ma != mb, da != db]
        .iter()
        .filter(|x| **x)
        .count();
    if swapped || (parts_off == 1 && one_typo(&a8, &b8)) {
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
    let number = |s: &[String]| {
        s.iter()
            .find(|w| w.chars().all(|c| c.is_ascii_digit()))
            .cloned()
    };
    let (na, nb) = (number(a), number(b));
    let shared = a
        .iter()
        .filter(|w| w.len() > 1 && !w.chars().all(|c| c.is_ascii_digit()) && b.contains(w))
        .count();
    // The same house on the same street written otherwise; a neighbour (another number on
    // the same street) is not the same address.
    let close = match (&na, &nb) {
        (Some(x), Some(y)) => x == y && shared >= 1,
        _ => shared >= 2,
    };
    if close { Level::Close } else { Level::Disagree }
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

/// How common each name is in the records scanned: an agreement on a rare name weighs more
/// than one on a common name (the u of an exact name is its frequency, within bounds).
#[derive(Debug, Clone, Default)]
pub struct Frequencies {
    family: std::collections::HashMap<String, u32>,
    given: std::collections::HashMap<String, u32>,
    n: u32,
}

/// The bounds of a name's u: no name weighs more than log2(m / 0.0005) nor less than
/// log2(m / 0.05), however rare or common it is.
const NAME_U: (f64, f64) = (0.0005, 0.05);

impl Frequencies {
    pub fn of(people: &[Person]) -> Frequencies {
        let mut f = Frequencies {
            n: people.len() as u32,
            ..Frequencies::default()
        };
        for p in people {
            if let Some(w) = p.family.first() {
                *f.family.entry(w.clone()).or_default() += 1;
            }
            if let Some(w) = p.given.first() {
                *f.given.entry(w.clone()).or_default() += 1;
            }
        }
        f
    }

    fn u(
        &self,
        table: &std::collections::HashMap<String, u32>,
        word: Option<&String>,
    ) -> Option<f64> {
        let count = *table.get(word?)?;
        Some((f64::from(count) / f64::from(self.n.max(1))).clamp(NAME_U.0, NAME_U.1))
    }
}

/// Compares two records field by field (name weights from the field's fixed u).
pub fn compare(a: &Person, b: &Person) -> Comparison {
    compare_with(a, b, None)
}

/// Compares two records field by field; with `freq`, an exact name weighs by how common it is.
pub fn compare_with(a: &Person, b: &Person, freq: Option<&Frequencies>) -> Comparison {
    let (mut family, mut given) = (
        names(&a.family, &b.family, &a.family_sound, &b.family_sound),
        names(&a.given, &b.given, &a.given_sound, &b.given_sound),
    );
    // Given and family swapped on one of them.
    if family == Level::Disagree
        && given == Level::Disagree
        && names(&a.family, &b.given, &a.family_sound, &b.given_sound) == Level::Exact
        && names(&a.given, &b.family, &a.given_sound, &b.family_sound) == Level::Exact
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
    let exact_u = |field: Field| -> Option<f64> {
        let f = freq?;
        match field {
            Field::Family => f.u(&f.family, a.family.first()),
            Field::Given => f.u(&f.given, a.given.first()),
            _ => None,
        }
    };
    let parts: Vec<Part> = levels
        .into_iter()
        .map(|(field, level)| {
            let weight = match (level, exact_u(field)) {
                (Level::Exact, Some(u)) => {
                    let m = probabilities(field)
                        .iter()
                        .find(|(l, _, _)| *l == Level::Exact)
                        .map_or(0.9, |(_, m, _)| *m);
                    (m / u).log2()
                }
                _ => weight(field, level),
            };
            Part {
                field,
                level,
                weight,
            }
        })
        .collect();
    // A given name that agrees already says the sex agrees (most names are given to one
    // sex): counting both would count the same evidence twice.
    let mut parts = parts;
    if given == Level::Exact {
        for p in parts
            .iter_mut()
            .filter(|p| p.field == Field::Sex && p.level == Level::Exact)
        {
            p.weight = 0.0;
        }
    }
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
    let freq = Frequencies::of(people);
    let freq = &freq;
    let threads = threads.max(1);
    let chunk = pairs.len().div_ceil(threads).max(1);
    let mut out: Vec<Candidate> = std::thread::scope(|s| {
        let handles: Vec<_> = pairs
            .chunks(chunk)
            .map(|part| {
                s.spawn(move || {
                    part.iter()
                        .filter_map(|&(a, b)| {
                            let comparison =
                                compare_with(&people[a as usize], &people[b as usize], Some(freq));
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
