//! What flows through `update`: messages in (keys, and the facts the runtime reports, each
//! tagged with what it was for) and effects out (work for the runtime).

use serde_json::Value;

use crate::secret::Secret;
use crate::workstation::client::FetchError;
use crate::workstation::features::access::state::*;
use crate::workstation::notes::document::DocStatus;
use crate::workstation::notes::drafts::Draft;
use crate::workstation::runtime::session::Unlocked;

pub use crate::workstation::features::access::msg::Msg as AccessMsg;
pub use crate::workstation::features::census::msg::Msg as CensusMsg;
pub use crate::workstation::features::chart::msg::Msg as ChartMsg;
pub use crate::workstation::features::inbox::msg::Msg as InboxMsg;
pub use crate::workstation::features::lists::msg::Msg as ListsMsg;
pub use crate::workstation::features::note::msg::Msg as NoteMsg;
pub use crate::workstation::features::offline::msg::Msg as OfflineMsg;
pub use crate::workstation::features::orders::msg::Msg as OrdersMsg;
pub use crate::workstation::features::register::msg::Msg as RegisterMsg;
pub use crate::workstation::features::search::msg::Msg as SearchMsg;
pub use crate::workstation::features::support::msg::Msg as SupportMsg;
pub use crate::workstation::features::vitals::msg::Msg as VitalsMsg;
pub use crate::workstation::features::work::msg::Msg as WorkMsg;

/// Messages into `update`: keys, and the results of effects, tagged with what they were for.
#[derive(Debug)]
pub enum Msg {
    Key(crossterm::event::KeyEvent),
    Resize(u16, u16),
    /// An action from outside the keymap (tests, the command line).
    Action(super::action::Action),
    Tick,
    /// The terminal went away or a signal asked us to stop.
    Shutdown(&'static str),
    Search(SearchMsg),
    Chart(ChartMsg),
    Note(NoteMsg),
    Orders(OrdersMsg),
    Vitals(VitalsMsg),
    Lists(ListsMsg),
    Register(RegisterMsg),
    Census(CensusMsg),
    Inbox(InboxMsg),
    Work(WorkMsg),
    Support(SupportMsg),
    Access(AccessMsg),
    Offline(OfflineMsg),
}

/// The lists asked for again while they are on screen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Polled {
    Census,
    Inbox,
    Critical,
    Work,
}

/// Work for the runtime; results come back as `Msg`s.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    Debounce {
        generation: u64,
    },
    SearchPatients {
        generation: u64,
        params: Vec<(&'static str, String)>,
    },
    FetchLocations {
        patient_ids: Vec<String>,
    },
    LoadRecent {
        patient_ids: Vec<String>,
    },
    SaveRecent {
        patient_ids: Vec<String>,
    },
    /// Show the cached copy (when `from_cache`) and fetch the patient's record; `update`
    /// decides on the record (`Msg::ChartPatient`) whether the rest is loaded.
    OpenChart {
        context: u64,
        patient_id: String,
        from_cache: bool,
    },
    /// Load the rest of the chart (or the server's changes to the cached copy); keep the
    /// complete chart in the cache only when `keep`.
    LoadChartBody {
        context: u64,
        patient_id: String,
        keep: bool,
    },
    /// Remove a patient's chart from this terminal's cache.
    EvictCached {
        patient_id: String,
    },
    Login {
        username: String,
        password: Secret,
        code: Option<Secret>,
        /// The previous user's token, revoked once the new one is held (switching user).
        replace: bool,
    },
    /// The server could not be reached for a sign-in: check the password against this
    /// terminal's key file instead, for reading cached charts (`update` decides to try).
    OpenOffline {
        username: String,
        password: Secret,
        /// Unlocking for the user already signed in: their token is kept; anyone else's goes.
        same_user: bool,
        /// What the sign-in got, reported again if this terminal keeps no offline data.
        unreachable: FetchError,
    },
    /// Replace a one-time password with the user's own, and sign in with it.
    ChangePassword {
        username: String,
        current: Secret,
        new: Secret,
        code: Option<Secret>,
    },
    /// Unwrap (or create) the offline data key with a passphrase (token-only servers).
    OpenVault {
        secret: Secret,
    },
    /// Use this unlocked vault for the cache, outbox and drafts.
    AttachVault(Box<Unlocked>),
    /// Wipe the key from memory (the lock screen), after pending draft writes.
    CloseVault,
    /// Put a note signed or saved offline in the outbox.
    QueueNote {
        context: u64,
        draft: Box<Draft>,
        status: DocStatus,
        author: Value,
    },
    /// Send what the outbox holds, in order.
    FlushOutbox,
    /// Ask the server whether it is back, after a pause.
    Probe,
    /// Drop outbox entry `seq` (the clinician discarded it or took it back as a draft).
    RemoveFromOutbox {
        seq: i64,
    },
    Logout,
    /// Sign in again with the identity provider (the lock screen, after the sign-in ended).
    ProviderSignIn,
    /// What the user pasted for that sign-in (the address the browser landed on, or a code).
    ProviderPaste(Secret),
    /// Send the new sign-in's tokens from now on: the same person signed in.
    ProviderAccept,
    /// Drop the new sign-in's tokens: someone else signed in.
    ProviderDiscard,
    /// A user signed in: their recent patients and drafts are the ones to show.
    UserChanged {
        username: String,
    },
    BreakGlass {
        context: u64,
        patient_id: String,
        reason: String,
    },
    LoadAccessLog {
        context: u64,
        patient_id: String,
        params: Vec<(&'static str, String)>,
    },
    Tick,
    LoadDrafts,
    SaveDraft(Box<Draft>),
    DeleteDraft(String),
    Autosave {
        context: u64,
    },
    SendNote {
        context: u64,
        draft: Box<Draft>,
        status: DocStatus,
        /// The signed-in author, as a FHIR Reference.
        author: Value,
    },
    /// Post the basket's transaction Bundle.
    /// Search patients by this family and given name (the similar-name warning).
    FindNamesakes {
        context: u64,
        family: String,
        given: String,
    },
    /// Check the user's electronic signature with the server (on this terminal's key file
    /// when the server cannot be reached and a note is being signed).
    CheckSignature {
        context: u64,
        target: SignTarget,
        secret: Secret,
    },
    SignOrders {
        context: u64,
        bundle: Box<Value>,
    },
    /// Post a set of vital signs (a transaction of `sent` entries).
    RecordVitals {
        context: u64,
        bundle: Box<Value>,
        sent: usize,
    },
    /// Keep a set of vital signs in the outbox (the server cannot be reached).
    QueueVitals {
        context: u64,
        item: Box<crate::workstation::vault::outbox::Item>,
    },
    /// Search patients by each of `searches` (likely existing records before a registration).
    FindDuplicates {
        generation: u64,
        searches: Vec<Vec<(&'static str, String)>>,
    },
    /// Post a registration (a transaction: the Patient, and a Coverage).
    RegisterPatient {
        generation: u64,
        bundle: Box<Value>,
    },
    /// `owner`'s critical results waiting for review (the watch on every screen).
    LoadCritical {
        generation: u64,
        owner: String,
    },
    /// `owner`'s results waiting for review (their Tasks, results, patients, earlier values).
    LoadInbox {
        generation: u64,
        query: crate::workstation::inbox::InboxQuery,
    },
    /// The practitioners whose name is `name` (to forward a result with `comment`).
    FindColleague {
        generation: u64,
        name: String,
        comment: String,
    },
    /// My unsigned work: medication orders (a prescriber's: every draft waiting; a nurse's
    /// (`nurse`): those they entered since `since`) and my unsigned notes.
    LoadWork {
        generation: u64,
        me: String,
        nurse: bool,
        since: String,
    },
    /// Ask the server for the support desk.
    Support {
        generation: u64,
        request: crate::workstation::features::support::Request,
    },
    /// Write a support desk file (a record's JSON, a list's CSV) into the state folder.
    WriteSupportFile {
        name: String,
        contents: String,
    },
    /// Co-sign or reject a draft order: a transaction on the version read.
    SaveCosign {
        words: String,
        bundle: Box<Value>,
    },
    /// Forward a result: a transaction changing its review Task's owner.
    ForwardResult {
        generation: u64,
        to: String,
        bundle: Box<Value>,
    },
    /// Acknowledge `count` results for `who`: a transaction of Task updates.
    AcknowledgeResults {
        generation: u64,
        count: usize,
        who: String,
        bundle: Box<Value>,
    },
    /// Report `what`'s `Due` after this many seconds (a list kept up to date on screen).
    Poll {
        what: Polled,
        generation: u64,
        after_seconds: u64,
    },
    /// What the patient lists are made from: the site's Locations (its wards) and, for a user
    /// with a practitioner (`me`: `Practitioner/id`), their teams and their own lists.
    LoadLists {
        generation: u64,
        me: Option<String>,
    },
    /// A list's rows: its patients' stays and, for them, the columns' parts. `clinical`: the
    /// user reads clinical content (support staff and clerks do not: those columns are not
    /// asked for, and show as unknown).
    LoadCensus {
        generation: u64,
        source: crate::workstation::census::Source,
        me: Option<String>,
        clinical: bool,
    },
    /// What I-PASS handoffs are filled from, for `patients`: active problems, active
    /// orders, active flags, and the handoffs kept.
    LoadHandoffs {
        generation: u64,
        patients: Vec<String>,
    },
    /// Save a handoff: an update of one's own (`If-Match: version`) or a new one.
    SaveHandoff {
        resource: Box<Value>,
        version: Option<String>,
        name: String,
    },
    /// Write the list's handoff as `name`.txt and `name`.pdf in `dir` (else the private
    /// `handoff` folder in bedside's state folder).
    WriteHandoff {
        dir: Option<std::path::PathBuf>,
        name: String,
        text: String,
        pdf: Vec<u8>,
    },
    /// A ward's bed board: its beds and the stays under way there.
    LoadBoard {
        generation: u64,
        ward_id: String,
    },
    /// Write an admission (a new stay), a transfer or a discharge (the stay read for its
    /// version, changed, written with `If-Match`, read again once if it changed meanwhile).
    Adt {
        change: Box<crate::workstation::census::adt::AdtChange>,
    },
    /// Change one of my own lists: read it for its version and write it back with
    /// `If-Match` (read again once if it changed meanwhile), or make a new one.
    ChangeList {
        change: crate::workstation::census::ListChange,
    },
    /// Read `Patient/{patient_id}` as the server holds it now, to edit it.
    ReadForEdit {
        generation: u64,
        patient_id: String,
    },
    /// Update a patient's registration details: `PUT` with `If-Match: W/"version"`, and the
    /// reason as `X-Provenance` when one was given. On a conflict the current version is read.
    SaveDemographics {
        generation: u64,
        patient: Box<Value>,
        version: String,
        reason: Option<String>,
    },
    /// Read an allergy or problem (`Type/id`) to edit it.
    ReadEntry {
        context: u64,
        reference: String,
    },
    /// Update an allergy or problem with `If-Match: W/"version"`; on a conflict the current
    /// version is read.
    UpdateEntry {
        context: u64,
        resource: Box<Value>,
        version: String,
        what: String,
    },
    /// Post a new allergy or problem (a one-entry transaction, a conditional create).
    WriteEntry {
        context: u64,
        bundle: Box<Value>,
    },
    /// Read `reference` for its version, then update it with `change` (`If-Match`).
    ChangeEntry {
        context: u64,
        reference: String,
        what: String,
        change: crate::workstation::record::entries::Change,
        /// Who changes it, for the note kept with it.
        who: String,
    },
    /// Keep a new allergy or problem in the outbox (the server cannot be reached).
    QueueEntry {
        context: u64,
        item: Box<crate::workstation::vault::outbox::Item>,
    },
    /// Read `reference` for its version, then update it as discontinued.
    Discontinue {
        context: u64,
        reference: String,
        reason: String,
    },
}
