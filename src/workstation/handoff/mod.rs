//! The I-PASS shift handoff, with no UI code: a summary per patient (Illness severity,
//! Patient summary, Action list, Situation awareness, Synthesis by the receiver), filled in
//! from the chart where it has nothing yet (active problems, NEWS2 and its trend, results
//! waiting, active orders, allergies, code status), kept on the server as a `Composition`
//! (one per patient and author, updated over the version read), and the whole list's
//! handoff as plain text and as a PDF.

use serde_json::{Value, json};

use crate::workstation::census::{AllergyMark, Row};

/// The I-PASS illness severity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    Stable,
    Watcher,
    Unstable,
}

impl Severity {
    pub const ALL: [Severity; 3] = [Severity::Stable, Severity::Watcher, Severity::Unstable];

    pub fn words(self) -> &'static str {
        match self {
            Severity::Stable => "Stable",
            Severity::Watcher => "Watcher",
            Severity::Unstable => "UNSTABLE",
        }
    }

    fn parse(s: &str) -> Option<Severity> {
        Severity::ALL
            .into_iter()
            .find(|v| v.words().eq_ignore_ascii_case(s.trim()))
    }
}

/// The five parts of I-PASS.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IPass {
    /// `None`: not chosen (never guessed when NEWS2 is unknown).
    pub severity: Option<Severity>,
    pub summary: String,
    pub actions: String,
    pub awareness: String,
    pub synthesis: String,
}

/// The section titles, in order (after the severity).
pub const SECTIONS: [&str; 5] = [
    "Illness severity",
    "Patient summary",
    "Action list",
    "Situation awareness",
    "Synthesis by receiver",
];

impl IPass {
    /// The text fields, in order, for the form.
    pub fn fields_mut(&mut self) -> [&mut String; 4] {
        [
            &mut self.summary,
            &mut self.actions,
            &mut self.awareness,
            &mut self.synthesis,
        ]
    }

    pub fn fields(&self) -> [&str; 4] {
        [
            &self.summary,
            &self.actions,
            &self.awareness,
            &self.synthesis,
        ]
    }
}

/// What the handoffs are filled from (each a search for the list's patients).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Parts {
    pub problems: Vec<Value>,
    pub orders: Vec<Value>,
    pub flags: Vec<Value>,
    pub compositions: Vec<Value>,
}

/// A handoff as kept on the server.
#[derive(Debug, Clone, PartialEq)]
pub struct Saved {
    pub id: String,
    pub version: String,
    pub ipass: IPass,
    /// Who wrote it (a Reference) and when.
    pub author: Value,
    pub date: String,
}

fn about(part: &[Value], patient: &str) -> Vec<Value> {
    let reference = format!("Patient/{patient}");
    part.iter()
        .filter(|r| {
            ["subject", "patient"]
                .iter()
                .any(|k| r[*k]["reference"].as_str() == Some(reference.as_str()))
        })
        .cloned()
        .collect()
}

fn concept_text(c: &Value) -> Option<String> {
    c["text"]
        .as_str()
        .or_else(|| c["coding"][0]["display"].as_str())
        .map(str::to_string)
}

/// The latest handoff kept for `patient` among `compositions` (any author).
pub fn latest(compositions: &[Value], patient: &str) -> Option<Saved> {
    let mut mine: Vec<Value> = about(compositions, patient)
        .into_iter()
        .filter(|c| c["status"] != "entered-in-error")
        .collect();
    mine.sort_by(|a, b| b["date"].as_str().cmp(&a["date"].as_str()));
    let c = mine.first()?;
    let section = |title: &str| -> String {
        c["section"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|s| s["title"] == title)
            .and_then(|s| s["text"]["div"].as_str())
            .map(from_div)
            .unwrap_or_default()
    };
    Some(Saved {
        id: c["id"].as_str()?.to_string(),
        version: c["meta"]["versionId"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
        ipass: IPass {
            severity: Severity::parse(&section(SECTIONS[0])),
            summary: section(SECTIONS[1]),
            actions: section(SECTIONS[2]),
            awareness: section(SECTIONS[3]),
            synthesis: section(SECTIONS[4]),
        },
        author: c["author"][0].clone(),
        date: c["date"].as_str().unwrap_or_default().to_string(),
    })
}

/// What the chart says, for a handoff that has nothing yet: the receiver's synthesis is
/// left empty, and a severity NEWS2 cannot tell is left to choose.
pub fn prefill(row: &Row, problems: &[Value], orders: &[Value], flags: &[Value]) -> IPass {
    let pid = &row.patient_id;
    let severity = match row.news2 {
        Ok((Some(n), _)) if n >= 7 => Some(Severity::Unstable),
        Ok((Some(n), _)) if n >= 5 => Some(Severity::Watcher),
        Ok((Some(_), _)) => Some(Severity::Stable),
        _ => None,
    };
    let active: Vec<String> = about(problems, pid)
        .iter()
        .filter(|c| {
            c["clinicalStatus"]["coding"][0]["code"]
                .as_str()
                .is_none_or(|s| s == "active" || s == "recurrence" || s == "relapse")
        })
        .filter(|c| c["verificationStatus"]["coding"][0]["code"] != "entered-in-error")
        .filter_map(|c| concept_text(&c["code"]))
        .collect();
    let mut summary = row.age_sex.clone();
    if let Some(d) = row.days {
        summary.push_str(&format!(", day {d} of stay"));
    }
    summary.push_str(&match active.as_slice() {
        [] => "; no active problems recorded".to_string(),
        p => format!("; active problems: {}", p.join(", ")),
    });
    let mut actions = Vec::new();
    match row.reviews {
        None => actions.push("results waiting: NOT KNOWN".to_string()),
        Some((0, 0, 0)) => {}
        Some((c, a, n)) => actions.push(format!(
            "review results ({c} critical, {a} abnormal, {n} other)"
        )),
    }
    let pending: Vec<String> = about(orders, pid)
        .iter()
        .filter(|o| o["status"] == "active")
        .filter_map(|o| concept_text(&o["code"]))
        .take(6)
        .collect();
    if !pending.is_empty() {
        actions.push(format!("pending: {}", pending.join(", ")));
    }
    if let Some(n) = row.cosign.filter(|n| *n > 0) {
        actions.push(format!("{n} order(s) waiting for co-signature"));
    }
    let allergies = match &row.allergies {
        AllergyMark::Known(n) => format!("{n} allergies recorded"),
        AllergyMark::Nkda => "no known drug allergies".to_string(),
        AllergyMark::NotAssessed => "allergies NOT ASSESSED".to_string(),
        AllergyMark::Unknown => "allergies NOT KNOWN".to_string(),
    };
    let news = match row.news2 {
        Err(()) => "NEWS2 NOT KNOWN".to_string(),
        Ok((None, _)) => "no NEWS2 in 14 days".to_string(),
        Ok((Some(n), Some(b))) => format!("NEWS2 {n} (was {b})"),
        Ok((Some(n), None)) => format!("NEWS2 {n}"),
    };
    let code_status = about(flags, pid)
        .iter()
        .filter(|f| f["status"] == "active")
        .filter_map(|f| concept_text(&f["code"]))
        .find(|t| {
            let t = t.to_ascii_lowercase();
            t.contains("resuscitat")
                || t.contains("dnr")
                || t.contains("dnacpr")
                || t.contains("full code")
        })
        .map_or_else(
            || "code status NOT RECORDED".to_string(),
            |t| format!("code status: {t}"),
        );
    IPass {
        severity,
        summary,
        actions: actions.join("; "),
        awareness: format!("{allergies}; {news}; {code_status}"),
        synthesis: String::new(),
    }
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn from_div(div: &str) -> String {
    let inner = div
        .trim()
        .strip_prefix("<div xmlns=\"http://www.w3.org/1999/xhtml\">")
        .and_then(|d| d.strip_suffix("</div>"))
        .unwrap_or(div);
    inner
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

fn div(s: &str) -> Value {
    json!({"status": "generated", "div": format!("<div xmlns=\"http://www.w3.org/1999/xhtml\">{}</div>", escape(s))})
}

/// The Composition of `patient`'s handoff by `author` (a Reference) at `now`; `id` when it
/// updates one of this author's.
pub fn composition(
    patient: &str,
    ipass: &IPass,
    author: &Value,
    now: &str,
    id: Option<&str>,
) -> Value {
    let (system, code) = crate::fhir::HANDOFF;
    let texts = [
        ipass.severity.map_or("NOT CHOSEN", Severity::words),
        &ipass.summary,
        &ipass.actions,
        &ipass.awareness,
        &ipass.synthesis,
    ];
    let sections: Vec<Value> = SECTIONS
        .iter()
        .zip(texts)
        .map(|(title, text)| json!({"title": title, "text": div(text)}))
        .collect();
    let mut c = json!({
        "resourceType": "Composition",
        "status": "preliminary",
        "type": {"coding": [{"system": system, "code": code, "display": "I-PASS handoff"}], "text": "I-PASS handoff"},
        "subject": {"reference": format!("Patient/{patient}")},
        "date": now,
        "author": [author],
        "title": "I-PASS handoff",
        "section": sections
    });
    if let Some(id) = id {
        c["id"] = json!(id);
    }
    c
}

/// The whole list's handoff as plain text, a block per patient.
pub fn text(title: &str, printed: &str, entries: &[(Row, IPass, Option<String>)]) -> String {
    let mut out = format!(
        "I-PASS HANDOFF: {title}\nPrinted {printed}. {} patients. CONFIDENTIAL: patient information.\n",
        entries.len()
    );
    for (row, ipass, from) in entries {
        out.push_str(&format!(
            "\n{} | {} | {} | MRN {} | {}\n",
            row.bed,
            row.name,
            row.age_sex,
            row.mrn.as_deref().unwrap_or("none"),
            from.as_deref()
                .unwrap_or("not saved: filled from the chart")
        ));
        out.push_str(&format!(
            "  I  {}: {}\n",
            SECTIONS[0],
            ipass.severity.map_or("NOT CHOSEN", Severity::words)
        ));
        for ((letter, title), text) in ["P ", "A ", "S ", "S "]
            .iter()
            .zip(&SECTIONS[1..])
            .zip(ipass.fields())
        {
            out.push_str(&format!(
                "  {letter} {title}: {}\n",
                if text.is_empty() { "-" } else { text }
            ));
        }
    }
    out
}

/// `text` as a PDF: A4 pages of Helvetica (a base-14 font, nothing embedded), lines wrapped
/// at 95 characters, characters outside Latin-1 as `?`.
pub fn pdf(text: &str) -> Vec<u8> {
    use pdf_writer::{Content, Finish, Name, Pdf, Rect, Ref, Str};
    const PER_PAGE: usize = 60;
    let mut lines: Vec<String> = Vec::new();
    for line in text.lines() {
        let mut rest: Vec<char> = line.chars().collect();
        loop {
            if rest.len() <= 95 {
                lines.push(rest.iter().collect());
                break;
            }
            let cut = rest[..95]
                .iter()
                .rposition(|c| *c == ' ')
                .filter(|p| *p > 40)
                .unwrap_or(95);
            lines.push(rest[..cut].iter().collect());
            rest = std::iter::repeat_n(' ', 4)
                .chain(rest[cut..].iter().copied().skip_while(|c| *c == ' '))
                .collect();
        }
    }
    let pages: Vec<&[String]> = lines.chunks(PER_PAGE).collect();
    let mut pdf = Pdf::new();
    let catalog = Ref::new(1);
    let tree = Ref::new(2);
    let font = Ref::new(3);
    let font_name = Name(b"F1");
    let page_ids: Vec<Ref> = (0..pages.len())
        .map(|i| Ref::new(4 + 2 * i as i32))
        .collect();
    pdf.catalog(catalog).pages(tree);
    pdf.pages(tree)
        .kids(page_ids.iter().copied())
        .count(page_ids.len() as i32);
    pdf.type1_font(font)
        .base_font(Name(b"Helvetica"))
        .encoding_predefined(Name(b"WinAnsiEncoding"));
    for (i, chunk) in pages.iter().enumerate() {
        let page_id = page_ids[i];
        let content_id = Ref::new(page_id.get() + 1);
        let mut page = pdf.page(page_id);
        page.media_box(Rect::new(0.0, 0.0, 595.0, 842.0));
        page.parent(tree);
        page.contents(content_id);
        page.resources().fonts().pair(font_name, font);
        page.finish();
        let mut content = Content::new();
        content.begin_text();
        content.set_font(font_name, 9.0);
        content.set_leading(12.5);
        content.next_line(40.0, 800.0);
        for line in chunk.iter() {
            let bytes: Vec<u8> = line
                .chars()
                .map(|c| {
                    u8::try_from(u32::from(c))
                        .ok()
                        .filter(|b| (0x20..0x7f).contains(b) || *b >= 0xa0)
                        .unwrap_or(b'?')
                })
                .collect();
            content.show(Str(&bytes));
            content.next_line_using_leading();
        }
        content.end_text();
        pdf.stream(content_id, &content.finish());
    }
    pdf.finish()
}

#[cfg(test)]
mod tests;
