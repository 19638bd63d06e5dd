//! HL7 v2 messages read by their own delimiters (MSH-1 and MSH-2): segments, fields,
//! repetitions, components and subcomponents, escapes undone. Segments end in CR; a lenient
//! reader also takes LF and CRLF. Versions 2.3 to 2.8. A message that cannot be read is an
//! error naming the segment and field, for the ERR segment of the acknowledgement.

/// The longest message read (a lab report with its notes fits many times over).
pub const MAX_MESSAGE: usize = 1 << 20;
/// The most segments one message may have.
pub const MAX_SEGMENTS: usize = 10_000;

/// The versions read.
pub const VERSIONS: [&str; 11] = [
    "2.3", "2.3.1", "2.4", "2.5", "2.5.1", "2.6", "2.7", "2.7.1", "2.8", "2.8.1", "2.8.2",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Delimiters {
    pub field: char,
    pub component: char,
    pub repetition: char,
    pub escape: char,
    pub subcomponent: char,
}

impl Default for Delimiters {
    fn default() -> Delimiters {
        Delimiters {
            field: '|',
            component: '^',
            repetition: '~',
            escape: '\\',
            subcomponent: '&',
        }
    }
}

/// Why a message could not be read: what, and where (segment name, its position from 1, the
/// field number), as an ERR segment names it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{what} ({segment}-{field})")]
pub struct ParseError {
    pub what: String,
    pub segment: String,
    pub position: usize,
    pub field: usize,
}

fn error(what: impl Into<String>, segment: &str, position: usize, field: usize) -> ParseError {
    ParseError {
        what: what.into(),
        segment: segment.to_string(),
        position,
        field,
    }
}

/// A field: its repetitions, each of components, each of subcomponents (text, escapes undone).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Field {
    pub repetitions: Vec<Vec<Vec<String>>>,
}

impl Field {
    /// Component `c` (from 1) of repetition `r` (from 0), its first subcomponent; "" if absent.
    pub fn component(&self, r: usize, c: usize) -> &str {
        self.sub(r, c, 1)
    }

    /// Subcomponent `s` (from 1) of component `c` (from 1) of repetition `r` (from 0).
    pub fn sub(&self, r: usize, c: usize, s: usize) -> &str {
        self.repetitions
            .get(r)
            .and_then(|rep| rep.get(c.saturating_sub(1)))
            .and_then(|comp| comp.get(s.saturating_sub(1)))
            .map_or("", String::as_str)
    }

    pub fn is_empty(&self) -> bool {
        self.repetitions
            .iter()
            .all(|r| r.iter().all(|c| c.iter().all(String::is_empty)))
    }
}

/// A segment: its name and fields, numbered as HL7 numbers them (`field(1)` is the first
/// after the name; for MSH, `field(1)` is the field separator itself).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    pub name: String,
    pub fields: Vec<Field>,
}

impl Segment {
    pub fn field(&self, n: usize) -> Option<&Field> {
        self.fields.get(n.checked_sub(1)?)
    }

    /// The first component of the first repetition of field `n`.
    pub fn text(&self, n: usize) -> &str {
        self.field(n).map_or("", |f| f.component(0, 1))
    }

    /// Component `c` of the first repetition of field `n`.
    pub fn comp(&self, n: usize, c: usize) -> &str {
        self.field(n).map_or("", |f| f.component(0, c))
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub delimiters: Delimiters,
    pub segments: Vec<Segment>,
}

impl Message {
    /// The first segment named `name`.
    pub fn segment(&self, name: &str) -> Option<&Segment> {
        self.segments.iter().find(|s| s.name == name)
    }

    pub fn segments_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Segment> {
        self.segments.iter().filter(move |s| s.name == name)
    }

    fn msh(&self) -> &Segment {
        // `parse` only returns messages that start with MSH.
        &self.segments[0]
    }

    /// MSH-9: message type, trigger event, structure (`ADT`, `A01`, `ADT_A01`).
    pub fn kind(&self) -> (&str, &str, &str) {
        let m = self.msh();
        (m.comp(9, 1), m.comp(9, 2), m.comp(9, 3))
    }

    /// MSH-10, the control id.
    pub fn control_id(&self) -> &str {
        self.msh().text(10)
    }

    /// MSH-12, the version.
    pub fn version(&self) -> &str {
        self.msh().text(12)
    }

    /// Sending application and facility (MSH-3, MSH-4), first components.
    pub fn sender(&self) -> (&str, &str) {
        (self.msh().text(3), self.msh().text(4))
    }

    pub fn receiver(&self) -> (&str, &str) {
        (self.msh().text(5), self.msh().text(6))
    }

    /// MSH-15 and MSH-16: accept and application acknowledgement types (AL, NE, ER, SU), when
    /// given: their presence asks for enhanced mode.
    pub fn ack_types(&self) -> (&str, &str) {
        (self.msh().text(15), self.msh().text(16))
    }

    /// MSH-11, processing id (P, T, D).
    pub fn processing(&self) -> &str {
        self.msh().text(11)
    }
}

/// Undoes HL7 escapes in `s`: `\F\ \S\ \T\ \R\ \E\`, `\Xhh..\` (bytes, as UTF-8 or Latin-1),
/// and drops formatting escapes (`\H\ \N\ \.br\`...). An escape that is not closed is kept
/// as written.
pub fn unescape(s: &str, d: &Delimiters) -> String {
    if !s.contains(d.escape) {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find(d.escape) {
        out.push_str(&rest[..i]);
        let after = &rest[i + d.escape.len_utf8()..];
        let Some(j) = after.find(d.escape) else {
            out.push_str(&rest[i..]);
            return out;
        };
        let code = &after[..j];
        match code {
            "F" => out.push(d.field),
            "S" => out.push(d.component),
            "T" => out.push(d.subcomponent),
            "R" => out.push(d.repetition),
            "E" => out.push(d.escape),
            _ if code.starts_with('X') && code.len() > 1 => {
                let hex = &code[1..];
                let bytes: Option<Vec<u8>> = (0..hex.len() / 2)
                    .map(|k| u8::from_str_radix(hex.get(2 * k..2 * k + 2)?, 16).ok())
                    .collect();
                match bytes {
                    Some(b) if hex.len() % 2 == 0 => match String::from_utf8(b.clone()) {
                        Ok(t) => out.push_str(&t),
                        Err(_) => out.extend(b.iter().map(|&c| c as char)),
                    },
                    _ => {
                        out.push(d.escape);
                        out.push_str(code);
                        out.push(d.escape);
                    }
                }
            }
            // Highlighting and formatted text: the words are kept, the formatting is not.
            "H" | "N" => {}
            _ if code.starts_with('.') => {
                if code == ".br" {
                    out.push('\n');
                }
            }
            _ => {
                out.push(d.escape);
                out.push_str(code);
                out.push(d.escape);
            }
        }
        rest = &after[j + d.escape.len_utf8()..];
    }
    out.push_str(rest);
    out
}

/// `s` with the delimiters in it escaped, for a field of a message built here (an ACK).
pub fn escape(s: &str, d: &Delimiters) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        let code = if c == d.escape {
            Some('E')
        } else if c == d.field {
            Some('F')
        } else if c == d.component {
            Some('S')
        } else if c == d.subcomponent {
            Some('T')
        } else if c == d.repetition {
            Some('R')
        } else {
            None
        };
        match code {
            Some(x) => {
                out.push(d.escape);
                out.push(x);
                out.push(d.escape);
            }
            None if c == '\r' || c == '\n' => out.push(' '),
            None => out.push(c),
        }
    }
    out
}

fn field(raw: &str, d: &Delimiters) -> Field {
    Field {
        repetitions: raw
            .split(d.repetition)
            .map(|rep| {
                rep.split(d.component)
                    .map(|comp| {
                        comp.split(d.subcomponent)
                            .map(|sub| unescape(sub, d))
                            .collect()
                    })
                    .collect()
            })
            .collect(),
    }
}

/// Reads a message. `lenient`: segments may also end in LF or CRLF.
pub fn parse(text: &str, lenient: bool) -> Result<Message, ParseError> {
    if text.len() > MAX_MESSAGE {
        return Err(error(
            format!("the message is larger than {MAX_MESSAGE} bytes"),
            "MSH",
            1,
            0,
        ));
    }
    let text = text.trim_start_matches(['\u{feff}', ' ']);
    if !text.starts_with("MSH") {
        return Err(error(
            "the message does not start with an MSH segment",
            "MSH",
            1,
            0,
        ));
    }
    let mut chars = text[3..].chars();
    let Some(field_sep) = chars.next() else {
        return Err(error("MSH-1 (the field separator) is missing", "MSH", 1, 1));
    };
    if field_sep.is_alphanumeric() || field_sep == '\r' || field_sep == '\n' {
        return Err(error(
            format!("MSH-1 {field_sep:?} cannot be a field separator"),
            "MSH",
            1,
            1,
        ));
    }
    let encoding: String = text[3 + field_sep.len_utf8()..]
        .chars()
        .take_while(|c| *c != field_sep)
        .collect();
    let enc: Vec<char> = encoding.chars().collect();
    if enc.len() < 4 || enc.len() > 5 {
        return Err(error(
            format!(
                "MSH-2 {encoding:?} must hold the component, repetition, escape and subcomponent characters"
            ),
            "MSH",
            1,
            2,
        ));
    }
    let mut all = vec![field_sep];
    all.extend(&enc[..4]);
    for (i, c) in all.iter().enumerate() {
        if c.is_alphanumeric() || all[i + 1..].contains(c) {
            return Err(error(
                format!(
                    "MSH-2 {encoding:?}: the delimiters must be distinct and not letters or digits"
                ),
                "MSH",
                1,
                2,
            ));
        }
    }
    let d = Delimiters {
        field: field_sep,
        component: enc[0],
        repetition: enc[1],
        escape: enc[2],
        subcomponent: enc[3],
    };
    let lines: Vec<&str> = if lenient {
        text.split(['\r', '\n']).collect()
    } else {
        if !text.contains('\r') && text.contains('\n') {
            return Err(error(
                "segments end in LF, not CR (the sender may need the lenient mode)",
                "MSH",
                1,
                0,
            ));
        }
        text.split('\r').collect()
    };
    let mut segments = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let line = if lenient { line.trim_end() } else { line };
        if line.is_empty() {
            continue;
        }
        if segments.len() >= MAX_SEGMENTS {
            return Err(error(
                format!("more than {MAX_SEGMENTS} segments"),
                "MSH",
                1,
                0,
            ));
        }
        let name: String = line.chars().take_while(|c| *c != field_sep).collect();
        let position = segments.len() + 1;
        if name.len() != 3
            || !name
                .chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
        {
            return Err(error(
                format!(
                    "segment {} has no valid name ({:?})",
                    i + 1,
                    name.chars().take(8).collect::<String>()
                ),
                &name.chars().take(3).collect::<String>(),
                position,
                0,
            ));
        }
        let rest = &line[name.len()..];
        let mut fields: Vec<Field> = Vec::new();
        if name == "MSH" {
            // MSH-1 is the separator and MSH-2 the encoding characters, taken as they are.
            fields.push(Field {
                repetitions: vec![vec![vec![field_sep.to_string()]]],
            });
            let after = &rest[field_sep.len_utf8()..];
            let mut parts = after.split(field_sep);
            let encoding = parts.next().unwrap_or_default();
            fields.push(Field {
                repetitions: vec![vec![vec![encoding.to_string()]]],
            });
            fields.extend(parts.map(|f| field(f, &d)));
        } else if !rest.is_empty() {
            fields.extend(
                rest[field_sep.len_utf8()..]
                    .split(field_sep)
                    .map(|f| field(f, &d)),
            );
        }
        segments.push(Segment { name, fields });
    }
    let message = Message {
        delimiters: d,
        segments,
    };
    let msh = message.msh();
    if msh.text(9).is_empty() {
        return Err(error("MSH-9 (the message type) is empty", "MSH", 1, 9));
    }
    if msh.text(10).is_empty() {
        return Err(error("MSH-10 (the control id) is empty", "MSH", 1, 10));
    }
    let version = msh.text(12);
    if !VERSIONS.contains(&version) {
        return Err(error(
            format!("version {version:?} (MSH-12) is not one this interface reads (2.3 to 2.8)"),
            "MSH",
            1,
            12,
        ));
    }
    Ok(message)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ADT: &str = "MSH|^~\\&|ADMIT|GENHOSP|BEDSIDE|WARD|20261202083000||ADT^A01^ADT_A01|MSG00001|P|2.5.1\rEVN|A01|20261202083000\rPID|1||0012345^^^GENHOSP^MR~987654321^^^NHS^NH||O'BRIEN^CATHERINE^M||19560304|F|||12 Mill Lane^^Springfield^IL^62701\rPV1|1|I|WARD7^12^B||||1234^HOUSE^GREGORY\r";

    #[test]
    fn a_message_is_read_by_its_delimiters() {
        let m = parse(ADT, false).unwrap();
        assert_eq!(m.kind(), ("ADT", "A01", "ADT_A01"));
        assert_eq!(m.control_id(), "MSG00001");
        assert_eq!(m.version(), "2.5.1");
        assert_eq!(m.sender(), ("ADMIT", "GENHOSP"));
        let pid = m.segment("PID").unwrap();
        let ids = pid.field(3).unwrap();
        assert_eq!(ids.repetitions.len(), 2);
        assert_eq!(ids.component(0, 1), "0012345");
        assert_eq!(ids.component(0, 4), "GENHOSP");
        assert_eq!(ids.component(1, 5), "NH");
        assert_eq!(pid.comp(5, 1), "O'BRIEN");
        assert_eq!(pid.comp(5, 2), "CATHERINE");
        assert_eq!(pid.text(7), "19560304");
        assert_eq!(m.segment("PV1").unwrap().comp(3, 2), "12");
        assert_eq!(m.segment("MSH").unwrap().text(1), "|");
        assert_eq!(m.segment("MSH").unwrap().text(2), "^~\\&");
    }

    #[test]
    fn other_delimiters_escapes_and_subcomponents() {
        let text = "MSH#$*@%#LAB#X#B#Y#2026##ORU$R01#1#P#2.3\rOBX#1#ST#8310-5$Temp##a@F@b@S@c@T@d@R@e@E@f@X41C3A9@ g@H@bold@N@#\rNTE#1##one%two\r";
        let m = parse(text, false).unwrap();
        assert_eq!(m.kind().0, "ORU");
        let obx = m.segment("OBX").unwrap();
        assert_eq!(obx.comp(3, 2), "Temp");
        assert_eq!(obx.text(5), "a#b$c%d*e@fAé gbold");
        let nte = m.segment("NTE").unwrap();
        assert_eq!(nte.field(3).unwrap().sub(0, 1, 2), "two");
        let d = m.delimiters;
        assert_eq!(unescape(&escape("a#b$c%d*e@f", &d), &d), "a#b$c%d*e@f");
    }

    #[test]
    fn line_endings_strict_and_lenient() {
        let lf = ADT.replace('\r', "\n");
        let err = parse(&lf, false).unwrap_err();
        assert!(err.what.contains("LF"), "{err}");
        assert_eq!(parse(&lf, true).unwrap().segments.len(), 4);
        let crlf = ADT.replace('\r', "\r\n");
        assert_eq!(parse(&crlf, true).unwrap().segments.len(), 4);
    }

    #[test]
    fn malformed_messages_name_the_segment_and_field() {
        for (text, field) in [
            ("PID|1||x\r", 0),
            ("MSH", 1),
            ("MSHA^~\\&|x\r", 1),
            ("MSH|^~|A|B|C|D|20261202||ADT^A01|1|P|2.5\r", 2),
            ("MSH|^^\\&|A|B|C|D|20261202||ADT^A01|1|P|2.5\r", 2),
            ("MSH|^~\\&|A|B|C|D|20261202|||1|P|2.5\r", 9),
            ("MSH|^~\\&|A|B|C|D|20261202||ADT^A01||P|2.5\r", 10),
            ("MSH|^~\\&|A|B|C|D|20261202||ADT^A01|1|P|3.0\r", 12),
            ("MSH|^~\\&|A|B|C|D|20261202||ADT^A01|1|P|2.5\rpid|1\r", 0),
        ] {
            let err = parse(text, false).unwrap_err();
            assert_eq!(err.field, field, "{text:?}: {err}");
        }
        let huge = format!("{ADT}{}", "NTE|1||x\r".repeat(MAX_SEGMENTS));
        assert!(parse(&huge, false).unwrap_err().what.contains("segments"));
    }
}
