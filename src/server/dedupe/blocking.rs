//! Blocking: only records sharing a key are compared. Each record gets a few keys (`keys`),
//! so a typo in one field still meets its duplicate through another. Keys are hashed and
//! sorted, not kept in maps; a block larger than `MAX_BLOCK` (a common name in a common
//! year) is compared only within a sliding window of its records sorted by full name.

use super::Person;

/// Records in one block compared all against all; above this, a window.
pub const MAX_BLOCK: usize = 64;
/// The window inside a larger block.
pub const WINDOW: usize = 16;

fn hash(parts: &[&str]) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    parts.hash(&mut h);
    h.finish()
}

/// The blocking keys of one record: its names' sounds with the birth year and the day and
/// month as a set (robust to a typo in the other name and to day and month swapped; given
/// and family share the key, so swapped names meet); the given name's sound with the day,
/// month and decade (robust to the family name changing); the family name's sound with the
/// given initial and the year (robust to a day or month typo); the birth date with sex and
/// the family initial; each phone and identifier; the names with the postcode.
pub fn keys(p: &Person) -> Vec<u64> {
    let mut out = Vec::with_capacity(10);
    let family = p.family_sound.first().map_or("", String::as_str);
    let given = p.given_sound.first().map_or("", String::as_str);
    let f1 = p.family.first().and_then(|f| f.get(..1)).unwrap_or("");
    let g1 = p.given.first().and_then(|g| g.get(..1)).unwrap_or("");
    if let Some((y, m, d)) = p.birth {
        let (y, decade) = (y.to_string(), (y / 10).to_string());
        let md = format!("{m:02}{d:02}");
        let pair = format!("{:02}{:02}", m.min(d), m.max(d));
        for name in [family, given] {
            if !name.is_empty() {
                out.push(hash(&["ny", name, &y, &pair]));
            }
        }
        if !given.is_empty() {
            out.push(hash(&["gmd", given, &md, &decade]));
        }
        if !family.is_empty() {
            out.push(hash(&["fgy", family, g1, &y]));
        }
        out.push(hash(&[
            "dob",
            &y,
            &md,
            &p.sex.map(String::from).unwrap_or_default(),
            f1,
        ]));
    }
    for phone in &p.phones {
        out.push(hash(&["tel", phone]));
    }
    for id in &p.identifiers {
        out.push(hash(&["id", id]));
    }
    if !family.is_empty() {
        for pc in &p.postcodes {
            out.push(hash(&["fpc", family, g1, pc]));
        }
    }
    out.sort_unstable();
    out.dedup();
    out
}

/// The candidate pairs (`a < b`, each once) of `people`.
pub fn pairs(people: &[Person]) -> Vec<(u32, u32)> {
    let mut entries: Vec<(u64, u32)> = Vec::with_capacity(people.len() * 6);
    for (i, p) in people.iter().enumerate() {
        for k in keys(p) {
            entries.push((k, i as u32));
        }
    }
    entries.sort_unstable();
    let mut out: Vec<(u32, u32)> = Vec::new();
    let mut start = 0;
    while start < entries.len() {
        let key = entries[start].0;
        let mut end = start;
        while end < entries.len() && entries[end].0 == key {
            end += 1;
        }
        let block: Vec<u32> = entries[start..end].iter().map(|e| e.1).collect();
        if block.len() <= MAX_BLOCK {
            for (x, &a) in block.iter().enumerate() {
                for &b in &block[x + 1..] {
                    out.push((a.min(b), a.max(b)));
                }
            }
        } else {
            let mut sorted = block;
            sorted.sort_by(|a, b| {
                let (pa, pb) = (&people[*a as usize], &people[*b as usize]);
                (&pa.family, &pa.given).cmp(&(&pb.family, &pb.given))
            });
            for (x, &a) in sorted.iter().enumerate() {
                for &b in sorted.iter().skip(x + 1).take(WINDOW) {
                    out.push((a.min(b), a.max(b)));
                }
            }
        }
        start = end;
    }
    out.sort_unstable();
    out.dedup();
    out
}
