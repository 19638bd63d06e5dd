//! One message in, its acknowledgement out: stored with its dedupe key first (so an ACK
//! never precedes the durable write), read, applied, answered, and what it did recorded. A
//! repeat of a message already answered gets the same answer and is not applied again.

use super::ack::{self, Code, Header, Mode, Problem};
use super::apply::{self, Setup};
use super::log::{self, Received};
use super::parse;
use crate::server::store::Store;

/// How the interface reads what it receives.
#[derive(Debug, Clone, Default)]
pub struct Options {
    pub setup: Setup,
    /// Segments may end in LF or CRLF too.
    pub lenient: bool,
}

/// The message's text: UTF-8, or Latin-1 when it is not (most v2 senders).
pub fn decode(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(s) => s.to_string(),
        Err(_) => bytes.iter().map(|&b| b as char).collect(),
    }
}

fn now_ts() -> String {
    chrono::Utc::now().format("%Y%m%d%H%M%S").to_string()
}

fn ack_id() -> String {
    format!("ACK{}", uuid::Uuid::now_v7().simple())
}

/// Handles one framed message; returns the acknowledgement to send (`None`: none is wanted).
pub fn handle(store: &Store, bytes: &[u8], options: &Options) -> Option<String> {
    let raw = decode(bytes);
    let message = match parse::parse(&raw, options.lenient) {
        Ok(m) => m,
        Err(e) => {
            let h = Header::salvage(&raw);
            let sender = format!("{}^{}", h.sending_app, h.sending_facility);
            let problem = Problem::from(&e);
            let answer = ack::build(&h, Code::AR, &ack_id(), &now_ts(), Some(&problem));
            // Kept for support even when it could not be read (no dedupe: its key is unsure).
            if let Ok(Received::New(seq)) = log::receive(store, &raw, &sender, "", "?") {
                let _ = log::finish(store, seq, "rejected", &answer, Some(&e.to_string()), &[]);
            }
            return Some(answer);
        }
    };
    let header = Header::of(&message);
    let sender = format!("{}^{}", header.sending_app, header.sending_facility);
    let (kind, trigger, _) = message.kind();
    let kind_text = format!("{kind}^{trigger}");
    let mode = ack::mode(&message);
    let (ok_code, error_code, reject_code) = match mode {
        Mode::Original => (Code::AA, Code::AE, Code::AR),
        Mode::Enhanced { .. } => (Code::CA, Code::CE, Code::CR),
    };
    let seq = match log::receive(store, &raw, &sender, message.control_id(), &kind_text) {
        Ok(Received::New(seq)) => seq,
        Ok(Received::Repeat {
            ack: Some(answer), ..
        }) => return Some(answer),
        // Stored before but never answered (the server stopped in between): handled now,
        // under the same record.
        Ok(Received::Repeat { seq, ack: None, .. }) => seq,
        Err(_) => {
            // Not stored: the sender must send it again.
            let p = Problem {
                segment: "MSH".into(),
                position: 1,
                field: 10,
                code: 207,
                text: "the message could not be stored; send it again".into(),
            };
            return Some(ack::build(
                &header,
                error_code,
                &ack_id(),
                &now_ts(),
                Some(&p),
            ));
        }
    };
    let (status, problem, written) = apply_message(store, &message, options);
    let code = match status {
        "applied" => ok_code,
        "rejected" => reject_code,
        _ => error_code,
    };
    let answer = ack::build(&header, code, &ack_id(), &now_ts(), problem.as_ref());
    let _ = log::finish(
        store,
        seq,
        status,
        &answer,
        problem.as_ref().map(|p| p.text.as_str()),
        &written,
    );
    let wanted = match mode {
        Mode::Original => true,
        Mode::Enhanced { accept, .. } => accept.sends(problem.is_none()),
    };
    wanted.then_some(answer)
}

/// Applies a message read: its status (applied, rejected, error), the problem, and the
/// versions it wrote.
pub fn apply_message(
    store: &Store,
    message: &parse::Message,
    options: &Options,
) -> (&'static str, Option<Problem>, Vec<String>) {
    let (kind, trigger, _) = message.kind();
    let result = match kind {
        "ADT" => apply::adt(store, message, &options.setup),
        "ORU" if trigger == "R01" => apply::oru(store, message, &options.setup),
        "MDM" if matches!(trigger, "T02" | "T04" | "T08" | "T10") => {
            apply::mdm(store, message, &options.setup)
        }
        other => Err(Problem {
            segment: "MSH".into(),
            position: 1,
            field: 9,
            code: 200,
            text: format!("{other}^{trigger} messages are not taken by this interface"),
        }),
    };
    match result {
        Ok(applied) => ("applied", None, applied.written),
        Err(p) if (200..=203).contains(&p.code) => ("rejected", Some(p), Vec::new()),
        Err(p) => ("error", Some(p), Vec::new()),
    }
}

/// Applies logged message `seq` again (a rejected or failed one, after a fix); returns its
/// new status and the problem if it failed again. The sender's acknowledgement was sent
/// already: the new outcome is recorded in the log.
pub fn reprocess(
    store: &Store,
    seq: i64,
    options: &Options,
) -> Result<(String, Option<String>), String> {
    let logged = log::get(store, seq)
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("no message {seq} in the log"))?;
    if !matches!(logged.status.as_str(), "rejected" | "error") {
        return Err(format!(
            "message {seq} was {}: only rejected or failed messages are processed again",
            logged.status
        ));
    }
    let message = parse::parse(&logged.raw, options.lenient)
        .map_err(|e| format!("message {seq} still cannot be read: {e}"))?;
    let (status, problem, written) = apply_message(store, &message, options);
    let ack = logged.ack.unwrap_or_default();
    let error = problem.as_ref().map(|p| p.text.clone());
    log::finish(store, seq, status, &ack, error.as_deref(), &written).map_err(|e| e.to_string())?;
    Ok((status.to_string(), error))
}
