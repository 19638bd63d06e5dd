//! Blocking: only records sharing a key are compared. Each record gets a few keys (family
//! name's sound with the birth year; given name's sound with day and month; the whole birth
//! date with sex; each phone; each identifier; the family name's sound with the postcode),
//! so a typo in one field still meets its duplicate through another. Keys are hashed and
//! sorted, not kept in maps; a block larger than `MAX_BLOCK` (a common name in a common
//! year) is compared only within a sliding window of its records sorted by full name.

use super::{Person, phonetic};

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

/// The blocking keys of one record.
pub fn keys(p: &Person) -> Vec<u64> {
    let mut out = Vec::with_capacity(8);
    let family = p.family.first().map(|f| phonetic(f)).unwrap_or_default();
    let given = p.given.first().map(|g| phonetic(g)).unwrap_or_default();
    if let Some((y, m, d)) = p.birth {
        let (y, md) = (y.to_string(), format!("{m:02}{d:02}"));
        if !family.is_empty() {
            out.push(hash(&["fy", &family, &y]));
        }
        if !given.is_empty() {
            out.push(hash(&["gmd", &given, &md]));
            // Given and family swapped: the same key from the other side.
            out.push(hash(&["fy", &given, &y]));
        }
        out.push(hash(&[
            "dob",
            &y,
            &md,
            &p.sex.map(String::from).unwrap_or_default(),
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
            out.push(hash(&["fpc", &family, pc]));
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
