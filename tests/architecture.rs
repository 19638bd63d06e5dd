//! The house rules of ARCHITECTURE.md that a build alone does not check: no import circles
//! between rooms, and the server and the workstation apart (also built alone in `.ci/run`).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

type Module = Vec<String>;

/// Every source file's module path (`src/server/store/read.rs` is `server::store::read`).
fn modules() -> BTreeMap<Module, String> {
    fn walk(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    walk(&root, &mut files);
    files
        .into_iter()
        .filter(|f| !f.ends_with("tests.rs") && !f.components().any(|c| c.as_os_str() == "tests"))
        .map(|f| {
            let rel = f.strip_prefix(&root).unwrap().with_extension("");
            let mut parts: Module = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            if parts.last().is_some_and(|p| p == "mod" || p == "lib") {
                parts.pop();
            }
            let text = std::fs::read_to_string(&f).unwrap();
            // Test modules may reach anywhere: a `#[cfg(test)] mod tests;` line names a file of
            // its own (left out below), and an inline one is cut off with all after it.
            let text = text.replace("#[cfg(test)]\nmod tests;", "");
            let text = text.split("#[cfg(test)]").next().unwrap_or("").to_string();
            (parts, text)
        })
        .collect()
}

/// The modules each module names by a `crate::`, `super::` or `self::` path, leaving out its
/// own parents and children (a room and its parts are one room).
fn imports(mods: &BTreeMap<Module, String>) -> BTreeMap<Module, BTreeSet<Module>> {
    let mut edges = BTreeMap::new();
    for (m, text) in mods {
        let mut to = BTreeSet::new();
        let bytes = text.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            if !text.is_char_boundary(i) {
                i += 1;
                continue;
            }
            let rest = &text[i..];
            let starts = ["crate::", "super::", "self::"]
                .iter()
                .any(|p| rest.starts_with(p));
            let boundary =
                i == 0 || !(bytes[i - 1].is_ascii_alphanumeric() || bytes[i - 1] == b'_');
            if !(starts && boundary) {
                i += 1;
                continue;
            }
            let path: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == ':')
                .collect();
            i += path.len().max(1);
            let segs: Vec<&str> = path.split("::").filter(|s| !s.is_empty()).collect();
            let (mut base, mut segs): (Module, &[&str]) = match segs.first() {
                Some(&"crate") => (Vec::new(), &segs[1..]),
                Some(&"self") => (m.clone(), &segs[1..]),
                _ => (m.clone(), &segs[..]),
            };
            while segs.first() == Some(&"super") {
                base.pop();
                segs = &segs[1..];
            }
            let target = (0..=segs.len()).rev().find_map(|n| {
                let mut t = base.clone();
                t.extend(segs[..n].iter().map(|s| s.to_string()));
                mods.contains_key(&t).then_some(t)
            });
            if let Some(t) = target
                && !t.starts_with(m)
                && !m.starts_with(&t)
            {
                to.insert(t);
            }
        }
        edges.insert(m.clone(), to);
    }
    edges
}

#[test]
fn no_import_circles_between_rooms() {
    let mods = modules();
    let edges = imports(&mods);
    // Any module that reaches itself again is in a circle.
    let mut circles = Vec::new();
    for start in edges.keys() {
        let mut seen = BTreeSet::new();
        let mut todo: Vec<&Module> = edges[start].iter().collect();
        while let Some(m) = todo.pop() {
            if m == start {
                circles.push(start.join("::"));
                break;
            }
            if seen.insert(m.clone()) {
                todo.extend(edges.get(m).into_iter().flatten());
            }
        }
    }
    assert!(
        circles.is_empty(),
        "modules in an import circle: {circles:?}"
    );
    assert!(
        edges.values().map(BTreeSet::len).sum::<usize>() > 100,
        "the import scan found too little to be checking anything"
    );
}

#[test]
fn the_server_and_the_workstation_do_not_import_each_other() {
    let mods = modules();
    let edges = imports(&mods);
    let crossing: Vec<String> = edges
        .iter()
        .flat_map(|(m, to)| to.iter().map(move |t| (m, t)))
        .filter(|(m, t)| {
            let (a, b) = (m.first().map(String::as_str), t.first().map(String::as_str));
            matches!(
                (a, b),
                (Some("server"), Some("workstation")) | (Some("workstation"), Some("server"))
            ) || (a == Some("fhir") && matches!(b, Some("server" | "workstation")))
        })
        .map(|(m, t)| format!("{} -> {}", m.join("::"), t.join("::")))
        .collect();
    assert!(crossing.is_empty(), "{crossing:?}");
}
