//! A labelled synthetic population for measuring the duplicate finder: distinct people
//! (names, birth dates, sex, phones, addresses and a national identifier on some, drawn
//! deterministically). Names are drawn as census tables show them: a few common names carry
//! a large share (the seed's lists, the first ones more often: 30 % of family names and 60 %
//! of given names), the rest come from a long tail of rarer names (made of syllables, tens of
//! thousands of them), so namesakes and shared birthdays occur as in life and a name's weight
//! depends on how common it is) and duplicates of some of them made the way registration makes them: typos,
//! initials, given and family names swapped, day and month transposed, a digit off in the
//! year, a married surname, a new phone or address, fields left empty. Which records are the
//! same person is known, so precision and recall can be counted.

use std::collections::HashSet;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::{Person, Thresholds, Verdict};
use crate::server::seed::names::{CITIES, FAMILY, GIVEN_FEMALE, GIVEN_MALE, STREETS};

/// A population and its true duplicate pairs (`a < b`).
pub struct Labelled {
    pub people: Vec<Person>,
    pub truth: HashSet<(usize, usize)>,
}

fn pick<'a>(rng: &mut ChaCha8Rng, from: &'a [&'a str]) -> &'a str {
    from[rng.random_range(0..from.len())]
}

fn typo(rng: &mut ChaCha8Rng, word: &str) -> String {
    let mut c: Vec<char> = word.chars().collect();
    if c.len() < 3 {
        return word.to_string();
    }
    let i = rng.random_range(1..c.len() - 1);
    match rng.random_range(0..3) {
        0 => c.swap(i, i + 1),
        1 => {
            c.remove(i);
        }
        _ => c[i] = (b'a' + rng.random_range(0..26u8)) as char,
    }
    c.into_iter().collect()
}

/// Syllables of the long tail of rarer names.
const SYLLABLES: [&str; 40] = [
    "an", "bel", "cor", "da", "el", "fen", "gar", "hal", "is", "jon", "kel", "lor", "mar", "nor",
    "os", "par", "quin", "ros", "sal", "tam", "ul", "val", "wes", "yar", "zan", "bri", "cas",
    "dor", "em", "fal", "gil", "har", "ive", "jas", "ken", "lan", "mel", "nat", "or", "pen",
];

/// A common name (the list's first ones more often), or, with `1 - common`, a rarer one.
fn name(rng: &mut ChaCha8Rng, list: &[&str], common: f64, ending: &str) -> String {
    if rng.random_bool(common) {
        let skew: f64 = rng.random::<f64>().powi(2);
        return list[((list.len() as f64 * skew) as usize).min(list.len() - 1)].to_string();
    }
    let n = if rng.random_bool(0.3) { 2 } else { 3 };
    let mut out = String::new();
    for _ in 0..n {
        out.push_str(SYLLABLES[rng.random_range(0..SYLLABLES.len())]);
    }
    out.push_str(ending);
    out
}

fn base(rng: &mut ChaCha8Rng, i: usize) -> Person {
    let female = rng.random_bool(0.5);
    let given = name(
        rng,
        if female { GIVEN_FEMALE } else { GIVEN_MALE },
        0.6,
        if female { "a" } else { "o" },
    );
    let family = name(rng, FAMILY, 0.3, "");
    let mut p = Person {
        id: format!("p{i}"),
        given: super::words(&given),
        family: super::words(&family),
        birth: Some((
            rng.random_range(1925..2024),
            rng.random_range(1..=12),
            rng.random_range(1..=28),
        )),
        sex: Some(if female { 'f' } else { 'm' }),
        ..Person::default()
    };
    if rng.random_bool(0.8) {
        p.phones
            .push(format!("{:09}", rng.random_range(0..1_000_000_000u64)));
    }
    if rng.random_bool(0.9) {
        let (_, _, zip) = CITIES[rng.random_range(0..CITIES.len())];
        p.postcodes
            .push(format!("{zip}{:02}", rng.random_range(0..100)));
        p.street = super::words(&format!(
            "{} {}",
            rng.random_range(1..2000),
            pick(rng, STREETS)
        ));
    }
    if rng.random_bool(0.3) {
        p.identifiers.push(format!(
            "urn:national|{:09}",
            rng.random_range(0..1_000_000_000u64)
        ));
    }
    p.sounded()
}

/// A duplicate of `p`: one to three of the errors registration makes.
fn duplicate(rng: &mut ChaCha8Rng, p: &Person, id: String) -> Person {
    let mut d = p.clone();
    d.id = id;
    for _ in 0..rng.random_range(1..=3) {
        match rng.random_range(0..11) {
            0 => d.family = d.family.iter().map(|w| typo(rng, w)).collect(),
            1 => d.given = d.given.iter().map(|w| typo(rng, w)).collect(),
            2 => d.given = d.given.iter().map(|w| w[..1].to_string()).collect(),
            3 => std::mem::swap(&mut d.given, &mut d.family),
            4 => {
                if let Some((y, m, day)) = d.birth
                    && day <= 12
                {
                    d.birth = Some((y, day, m));
                }
            }
            5 => {
                if let Some((y, m, day)) = d.birth {
                    d.birth = Some((y + 1, m, day));
                }
            }
            6 if d.sex == Some('f') => d.family = super::words(pick(rng, FAMILY)),
            7 => d.phones = vec![format!("{:09}", rng.random_range(0..1_000_000_000u64))],
            8 => {
                d.postcodes.clear();
                d.street.clear();
            }
            9 => d.phones.clear(),
            _ => d.identifiers.clear(),
        }
    }
    d.sounded()
}

/// `people` distinct people and, for `duplicated` of them, one or two duplicates each.
pub fn population(people: usize, duplicated: usize, seed: u64) -> Labelled {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut out: Vec<Person> = (0..people).map(|i| base(&mut rng, i)).collect();
    let mut truth = HashSet::new();
    for k in 0..duplicated.min(people) {
        let original = k * (people / duplicated.max(1)).max(1);
        let copies = if rng.random_bool(0.2) { 2 } else { 1 };
        let mut group = vec![original];
        for _ in 0..copies {
            let id = format!("d{}", out.len());
            let d = duplicate(&mut rng, &out[original], id);
            group.push(out.len());
            out.push(d);
        }
        for (x, &a) in group.iter().enumerate() {
            for &b in &group[x + 1..] {
                truth.insert((a.min(b), a.max(b)));
            }
        }
    }
    Labelled { people: out, truth }
}

/// Precision and recall at the thresholds: of the pairs called sure, how many are true; of
/// the true pairs, how many are called sure; and how many are sent for review.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Accuracy {
    pub sure: usize,
    pub sure_true: usize,
    pub review: usize,
    pub review_true: usize,
    pub truth: usize,
    pub precision: f64,
    pub recall: f64,
    /// True pairs found sure or for review.
    pub recall_with_review: f64,
}

pub fn measure(l: &Labelled, t: Thresholds, threads: usize) -> Accuracy {
    let found = super::find(&l.people, t, threads);
    let is_true = |a: usize, b: usize| l.truth.contains(&(a.min(b), a.max(b)));
    let sure: Vec<_> = found
        .iter()
        .filter(|c| c.verdict == Verdict::Sure)
        .collect();
    let review: Vec<_> = found
        .iter()
        .filter(|c| c.verdict == Verdict::Review)
        .collect();
    let sure_true = sure.iter().filter(|c| is_true(c.a, c.b)).count();
    let review_true = review.iter().filter(|c| is_true(c.a, c.b)).count();
    let ratio = |n: usize, d: usize| if d == 0 { 1.0 } else { n as f64 / d as f64 };
    Accuracy {
        sure: sure.len(),
        sure_true,
        review: review.len(),
        review_true,
        truth: l.truth.len(),
        precision: ratio(sure_true, sure.len()),
        recall: ratio(sure_true, l.truth.len()),
        recall_with_review: ratio(sure_true + review_true, l.truth.len()),
    }
}
