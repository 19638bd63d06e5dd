//! Clinical notes: templates, smart phrases, drafts that survive a dropped session, and the
//! DocumentReference a signed note becomes.

pub mod document;
pub mod drafts;
pub mod phrases;

use std::path::Path;

use serde::Deserialize;

/// The shipped templates, compiled in (`templates/` in the crate).
const SHIPPED: &[(&str, &str)] = &[
    (
        "progress",
        include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/templates/progress.toml"
        )),
    ),
    (
        "admission",
        include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/templates/admission.toml"
        )),
    ),
    (
        "discharge",
        include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/templates/discharge.toml"
        )),
    ),
    (
        "procedure",
        include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/templates/procedure.toml"
        )),
    ),
    (
        "nursing",
        include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/templates/nursing.toml"
        )),
    ),
    (
        "free",
        include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/templates/free.toml")),
    ),
];

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Template {
    #[serde(skip)]
    pub key: String,
    pub name: String,
    pub loinc: String,
    pub loinc_display: String,
    #[serde(default)]
    pub text: String,
}

/// The templates: shipped ones, replaced or joined by `*.toml` files in `user_dir`. A broken
/// user file is reported and skipped.
pub fn templates(user_dir: Option<&Path>) -> (Vec<Template>, Vec<String>) {
    let mut out = Vec::new();
    let mut problems = Vec::new();
    for (key, text) in SHIPPED {
        match parse_template(key, text) {
            Ok(t) => out.push(t),
            Err(e) => problems.push(format!("templates/{key}.toml: {e}")),
        }
    }
    if let Some(dir) = user_dir {
        let mut files: Vec<_> = std::fs::read_dir(dir)
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "toml"))
            .collect();
        files.sort();
        for path in files {
            let key = path
                .file_stem()
                .map(|s| s.to_string_lossy().to_string())
                .unwrap_or_default();
            let parsed = std::fs::read_to_string(&path)
                .map_err(|e| e.to_string())
                .and_then(|text| parse_template(&key, &text));
            match parsed {
                Ok(t) => match out.iter_mut().find(|x| x.key == key) {
                    Some(existing) => *existing = t,
                    None => out.push(t),
                },
                Err(e) => problems.push(format!("{}: {e} (template skipped)", path.display())),
            }
        }
    }
    (out, problems)
}

fn parse_template(key: &str, text: &str) -> Result<Template, String> {
    let mut t: Template = toml::from_str(text).map_err(|e| e.message().trim().to_string())?;
    t.key = key.to_string();
    t.text = t.text.trim_start_matches('\n').to_string();
    Ok(t)
}

/// Fills `{{placeholder}}`s: the given values first, then smart phrases by name. Unknown
/// placeholders are left as written so nothing silently disappears.
pub fn fill(
    text: &str,
    values: &[(&str, String)],
    phrase: impl Fn(&str) -> Option<String>,
) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else {
            out.push_str(&rest[start..]);
            return out;
        };
        let name = after[..end].trim();
        let value = values
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.clone())
            .or_else(|| phrase(name));
        match value {
            Some(v) => out.push_str(&v),
            None => out.push_str(&rest[start..start + 4 + end]),
        }
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_templates_load_and_user_files_override() {
        let (t, problems) = templates(None);
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(t.len(), 6);
        assert!(t.iter().any(|t| t.loinc == "11506-3"));
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("progress.toml"),
            "name = \"Mine\"\nloinc = \"11506-3\"\nloinc_display = \"Progress note\"\ntext = \"x\"\n",
        )
        .unwrap();
        std::fs::write(dir.path().join("bad.toml"), "name = 3").unwrap();
        let (t, problems) = templates(Some(dir.path()));
        assert_eq!(t.iter().find(|t| t.key == "progress").unwrap().name, "Mine");
        assert_eq!(problems.len(), 1);
    }

    #[test]
    fn placeholders_fill_from_values_then_phrases() {
        let out = fill(
            "{{name}}: {{vitals}} {{nope}} {{",
            &[("name", "SMITH, John".into())],
            |p| (p == "vitals").then(|| "HR 80".to_string()),
        );
        assert_eq!(out, "SMITH, John: HR 80 {{nope}} {{");
    }
}
