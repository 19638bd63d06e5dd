//! Acknowledgements: original mode (AA, AE, AR) or, when MSH-15/MSH-16 ask for it, enhanced
//! mode (a commit acknowledgement CA, CE, CR once the message is stored, then an application
//! acknowledgement). The ACK's MSH swaps sender and receiver, MSA-2 echoes MSH-10, and an
//! error is named in an ERR segment (its 2.5+ form, or ERR-1 for 2.3 and 2.4).

use super::parse::{Delimiters, Message, ParseError, escape};

/// An acknowledgement code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Code {
    /// Accepted (original mode: applied).
    AA,
    /// Error: the message was understood but could not be applied.
    AE,
    /// Rejected: the message could not be read or is not one this interface takes.
    AR,
    /// Commit accept: stored, will be applied.
    CA,
    CE,
    CR,
}

impl Code {
    pub fn as_str(self) -> &'static str {
        match self {
            Code::AA => "AA",
            Code::AE => "AE",
            Code::AR => "AR",
            Code::CA => "CA",
            Code::CE => "CE",
            Code::CR => "CR",
        }
    }
}

/// When an acknowledgement of one kind is sent (MSH-15 and MSH-16 values).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum When {
    Always,
    Never,
    OnError,
    OnSuccess,
}

fn when(code: &str) -> When {
    match code {
        "NE" => When::Never,
        "ER" => When::OnError,
        "SU" => When::OnSuccess,
        _ => When::Always,
    }
}

impl When {
    pub fn sends(self, success: bool) -> bool {
        match self {
            When::Always => true,
            When::Never => false,
            When::OnError => !success,
            When::OnSuccess => success,
        }
    }
}

/// How a message wants to be acknowledged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Original,
    Enhanced { accept: When, application: When },
}

pub fn mode(m: &Message) -> Mode {
    let (accept, application) = m.ack_types();
    if accept.is_empty() && application.is_empty() {
        Mode::Original
    } else {
        Mode::Enhanced {
            accept: when(accept),
            application: when(application),
        }
    }
}

/// An error for the ERR segment: where (segment, its position, field) and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub segment: String,
    pub position: usize,
    pub field: usize,
    /// HL7 table 0357: 100 segment sequence error, 101 required field missing, 102 data type
    /// error, 103 table value not found, 200 unsupported message type, 201 unsupported event
    /// code, 203 unsupported version id, 204 unknown key identifier, 205 duplicate key, 206
    /// application record locked, 207 application internal error.
    pub code: u16,
    pub text: String,
}

impl From<&ParseError> for Problem {
    fn from(e: &ParseError) -> Problem {
        Problem {
            segment: e.segment.clone(),
            position: e.position,
            field: e.field,
            code: if e.field == 12 { 203 } else { 102 },
            text: e.what.clone(),
        }
    }
}

fn code_text(code: u16) -> &'static str {
    match code {
        100 => "Segment sequence error",
        101 => "Required field missing",
        102 => "Data type error",
        103 => "Table value not found",
        200 => "Unsupported message type",
        201 => "Unsupported event code",
        203 => "Unsupported version id",
        204 => "Unknown key identifier",
        205 => "Duplicate key identifier",
        206 => "Application record locked",
        _ => "Application internal error",
    }
}

/// What the ACK answers: the message read, or, for one that could not be read, what could be
/// found of its header.
#[derive(Debug, Clone, Default)]
pub struct Header {
    pub sending_app: String,
    pub sending_facility: String,
    pub receiving_app: String,
    pub receiving_facility: String,
    pub control_id: String,
    pub trigger: String,
    pub version: String,
    pub processing: String,
}

impl Header {
    pub fn of(m: &Message) -> Header {
        let (sa, sf) = m.sender();
        let (ra, rf) = m.receiver();
        Header {
            sending_app: sa.into(),
            sending_facility: sf.into(),
            receiving_app: ra.into(),
            receiving_facility: rf.into(),
            control_id: m.control_id().into(),
            trigger: m.kind().1.into(),
            version: m.version().into(),
            processing: m.processing().into(),
        }
    }

    /// What can be read of a header that did not parse: the fields of its first line split
    /// on the character after "MSH" (or `|`), taken as plain text.
    pub fn salvage(raw: &str) -> Header {
        let line = raw.split(['\r', '\n']).next().unwrap_or_default();
        let sep = line.get(3..).and_then(|r| r.chars().next()).unwrap_or('|');
        let f: Vec<&str> = line.split(sep).collect();
        let get = |i: usize| -> String {
            f.get(i)
                .map(|s| s.split(['^', '~', '&']).next().unwrap_or_default())
                .unwrap_or_default()
                .chars()
                .filter(|c| !c.is_control())
                .take(50)
                .collect()
        };
        let trigger = f
            .get(8)
            .and_then(|t| t.split('^').nth(1))
            .unwrap_or_default()
            .chars()
            .take(3)
            .collect();
        Header {
            sending_app: get(2),
            sending_facility: get(3),
            receiving_app: get(4),
            receiving_facility: get(5),
            control_id: get(9),
            trigger,
            version: get(11),
            processing: get(10),
        }
    }
}

/// An acknowledgement of `h` with `code`, its own control id `ack_id`, at `when` (HL7 TS,
/// `YYYYMMDDHHMMSS`), naming `problem` if any.
pub fn build(
    h: &Header,
    code: Code,
    ack_id: &str,
    when: &str,
    problem: Option<&Problem>,
) -> String {
    let d = Delimiters::default();
    let e = |s: &str| escape(s, &d);
    let version = if super::parse::VERSIONS.contains(&h.version.as_str()) {
        h.version.as_str()
    } else {
        "2.5.1"
    };
    let processing = if h.processing.is_empty() {
        "P"
    } else {
        &h.processing
    };
    let mut out = format!(
        "MSH|^~\\&|{}|{}|{}|{}|{when}||ACK^{}^ACK|{}|{}|{version}\r",
        e(&h.receiving_app),
        e(&h.receiving_facility),
        e(&h.sending_app),
        e(&h.sending_facility),
        e(&h.trigger),
        e(ack_id),
        e(processing),
    );
    let text = problem.map(|p| e(&p.text)).unwrap_or_default();
    out.push_str(&format!(
        "MSA|{}|{}|{}\r",
        code.as_str(),
        e(&h.control_id),
        text.chars().take(80).collect::<String>()
    ));
    if let Some(p) = problem {
        let old = matches!(version, "2.3" | "2.3.1" | "2.4");
        if old {
            // ERR-1: segment^sequence^field^code&text
            out.push_str(&format!(
                "ERR|{}^{}^{}^{}&{}\r",
                e(&p.segment),
                p.position,
                p.field,
                p.code,
                e(code_text(p.code))
            ));
        } else {
            // ERR-2 location, ERR-3 code, ERR-4 severity, ERR-8 the words.
            out.push_str(&format!(
                "ERR||{}^{}^{}|{}^{}^HL70357|E||||{}\r",
                e(&p.segment),
                p.position,
                p.field,
                p.code,
                e(code_text(p.code)),
                e(&p.text)
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::parse::parse;
    use super::*;

    const ORU: &str = "MSH|^~\\&|LAB|GENHOSP|BEDSIDE|WARD|20261202083000||ORU^R01^ORU_R01|LAB42|P|2.5.1\rPID|1||0012345^^^GENHOSP^MR\r";

    #[test]
    fn an_ack_swaps_sender_and_receiver_and_echoes_the_control_id() {
        let m = parse(ORU, false).unwrap();
        assert_eq!(mode(&m), Mode::Original);
        let ack = build(&Header::of(&m), Code::AA, "ACK1", "20261202083001", None);
        let a = parse(&ack, false).unwrap();
        assert_eq!(a.sender(), ("BEDSIDE", "WARD"));
        assert_eq!(a.receiver(), ("LAB", "GENHOSP"));
        assert_eq!(a.kind(), ("ACK", "R01", "ACK"));
        let msa = a.segment("MSA").unwrap();
        assert_eq!((msa.text(1), msa.text(2)), ("AA", "LAB42"));
        assert!(a.segment("ERR").is_none());
    }

    #[test]
    fn an_error_is_named_in_err_in_both_forms() {
        let m = parse(ORU, false).unwrap();
        let p = Problem {
            segment: "PID".into(),
            position: 2,
            field: 3,
            code: 204,
            text: "no patient with MRN 0012345|GENHOSP".into(),
        };
        let ack = build(&Header::of(&m), Code::AE, "A2", "20261202083001", Some(&p));
        let a = parse(&ack, false).unwrap();
        let err = a.segment("ERR").unwrap();
        assert_eq!(err.comp(2, 1), "PID");
        assert_eq!(err.comp(2, 3), "3");
        assert_eq!(err.comp(3, 1), "204");
        assert_eq!(
            err.text(8),
            "no patient with MRN 0012345|GENHOSP",
            "escaped and read back"
        );
        let old = ORU.replace("2.5.1", "2.3");
        let m = parse(&old, false).unwrap();
        let ack = build(&Header::of(&m), Code::AE, "A3", "20261202083001", Some(&p));
        let err = parse(&ack, false).unwrap();
        let err = err.segment("ERR").unwrap();
        assert_eq!(err.comp(1, 1), "PID");
        assert_eq!(err.field(1).unwrap().sub(0, 4, 1), "204");
    }

    #[test]
    fn enhanced_mode_and_a_header_that_did_not_parse() {
        let m = parse(&ORU.replace("|2.5.1", "|2.5.1|||AL|ER"), false).unwrap();
        let Mode::Enhanced {
            accept,
            application,
        } = mode(&m)
        else {
            panic!("enhanced")
        };
        assert!(accept.sends(true) && accept.sends(false));
        assert!(!application.sends(true) && application.sends(false));
        let raw = "MSH|^~\\&|LAB|GENHOSP|BEDSIDE|WARD|20261202||ORU^R01|X9|P|9.9\rPID|1\r";
        let err = parse(raw, false).unwrap_err();
        let h = Header::salvage(raw);
        assert_eq!((h.control_id.as_str(), h.trigger.as_str()), ("X9", "R01"));
        let ack = build(
            &h,
            Code::AR,
            "A4",
            "20261202083001",
            Some(&Problem::from(&err)),
        );
        let a = parse(&ack, false).unwrap();
        assert_eq!(a.segment("MSA").unwrap().text(2), "X9");
        assert_eq!(a.segment("ERR").unwrap().comp(3, 1), "203");
        assert_eq!(
            a.version(),
            "2.5.1",
            "an unknown version is answered in one we speak"
        );
    }
}
