//! Everything the workstation shows, in one value that `update` changes and `view` reads.

use std::sync::Arc;

use chrono::{FixedOffset, NaiveDate};
use ratatui::layout::Rect;
use serde_json::Value;

use crate::secret::Secret;
pub use crate::workstation::runtime::session::Unlocked;

use std::collections::BTreeMap;

use crate::workstation::chart::{Chart, Kind, PatientInfo, Target};
use crate::workstation::client::{FetchError, LoginError, SignedIn};
use crate::workstation::notes::Template;
use crate::workstation::notes::document::DocStatus;
use crate::workstation::notes::drafts::Draft;

use super::editor::Editor;
use super::keymap::{Context, Key, Keymap};
use super::theme::{Theme, Themes};

/// Messages into `update`: keys, and the results of effects, tagged with what they were for.
#[derive(Debug)]
pub enum Msg {
    Key(crossterm::event::KeyEvent),
    Resize(u16, u16),
    /// An action from outside the keymap (tests, the command line).
    Action(super::action::Action),
    Tick,
    /// Open a chart by patient id (tests, and typed commands later).
    OpenPatient(String),
    SearchDue(u64),
    SearchDone {
        generation: u64,
        result: Result<Vec<Value>, FetchError>,
    },
    Locations(Vec<(String, Option<String>)>),
    RecentLoaded(Result<Vec<Value>, FetchError>),
    ChartPatient {
        context: u64,
        result: Result<Value, FetchError>,
    },
    ChartAllergies {
        context: u64,
        result: Result<Vec<Value>, FetchError>,
    },
    ChartPage {
        context: u64,
        result: Result<Vec<Value>, FetchError>,
    },
    ChartDone {
        context: u64,
    },
    /// Patients found by the name of the chart's patient (for the similar-name warning).
    Namesakes {
        context: u64,
        result: Result<Vec<Value>, FetchError>,
    },
    /// What the server answered to one of the chart's searches (counts, cut short, failed).
    ChartAnswer {
        context: u64,
        answer: crate::workstation::chart::Answer,
    },
    /// The terminal went away or a signal asked us to stop.
    Shutdown(&'static str),
    /// Drafts left from an earlier session, found at start.
    DraftsFound(Vec<Draft>),
    /// A draft reached the disk (or did not).
    DraftSaved {
        id: String,
        result: Result<String, String>,
    },
    /// Time to autosave the open note if it changed.
    AutosaveDue {
        context: u64,
    },
    /// The server's answer to signing the basket.
    OrdersSigned {
        context: u64,
        result: Result<Value, FetchError>,
    },
    /// The server's answer to discontinuing an order.
    Discontinued {
        context: u64,
        result: Result<Value, FetchError>,
    },
    /// The server's answer to signing or saving a note, with the note as it was sent (so
    /// that `update` can put it in the outbox when the server could not be reached).
    NoteSent {
        context: u64,
        draft: Box<Draft>,
        status: DocStatus,
        /// The author the note was sent under, as a FHIR Reference.
        author: Value,
        result: Result<Value, FetchError>,
    },
    /// The answer to an electronic signature check: `Ok(true)` when it was checked on this
    /// terminal (the server could not be reached; offline notes only).
    SignatureChecked {
        context: u64,
        target: SignTarget,
        result: Result<bool, FetchError>,
    },
    /// The answer to a sign-in (or unlock) attempt.
    SignedIn(Result<SignedIn, LoginError>),
    /// Time to check whether the terminal has been idle long enough to lock.
    IdleCheck,
    /// The answer to a break-the-glass request.
    GlassBroken {
        context: u64,
        /// When the emergency grant ends (epoch ms), if the server says.
        result: Result<Option<i64>, FetchError>,
    },
    /// The signed-in user's recent patients (ids), read from their file.
    RecentIds(Vec<String>),
    /// AuditEvents for the open patient.
    AccessLog {
        context: u64,
        result: Result<Vec<Value>, FetchError>,
    },
    /// The user's offline data (cache, outbox, drafts) is open, or why not.
    VaultOpened(Result<Unlocked, String>),
    /// The chart as the cache held it, shown while the server is asked for changes.
    ChartCached {
        context: u64,
        resources: Vec<Value>,
        fetched_ms: i64,
    },
    /// The cached chart with the server's changes merged in: replaces what is shown.
    ChartMerged {
        context: u64,
        resources: Vec<Value>,
    },
    /// The server answered (true) or could not be reached (false).
    Connectivity(bool),
    /// The answer to a probe while offline.
    Probed(bool),
    /// The outbox as it is now, and how many notes were just sent from it.
    Outbox {
        entries: Vec<OutboxEntry>,
        sent_now: usize,
        /// Sending stopped: the server no longer accepts the sign-in.
        error: Option<FetchError>,
    },
    /// A note signed or saved offline is safe in the outbox.
    NoteQueued {
        context: u64,
        draft_id: String,
        status: DocStatus,
    },
    /// The outbox could not take the note (it stays open in the editor).
    NoteNotQueued {
        context: u64,
        error: String,
    },
}

pub use crate::workstation::vault::outbox::Entry as OutboxEntry;

/// The workstation's offline data and the server's reachability.
#[derive(Debug, Clone, Default)]
pub struct Storage {
    /// The workstation keeps data on disk (the real terminal; not most tests).
    pub enabled: bool,
    /// The key is unwrapped: cache, outbox and drafts can be used.
    pub open: bool,
    /// The server could not be reached, since this time (ms).
    pub offline_since: Option<i64>,
    pub probe_pending: bool,
    pub outbox: Vec<OutboxEntry>,
}

impl Storage {
    pub fn offline(&self) -> bool {
        self.offline_since.is_some()
    }

    /// Notes not yet on the server.
    pub fn waiting(&self) -> usize {
        self.outbox
            .iter()
            .filter(|e| e.state == crate::workstation::vault::outbox::State::Waiting)
            .count()
    }

    /// Notes that need the clinician (a conflict, a refusal).
    pub fn stuck(&self) -> usize {
        self.outbox
            .iter()
            .filter(|e| {
                matches!(
                    e.state,
                    crate::workstation::vault::outbox::State::Conflict
                        | crate::workstation::vault::outbox::State::Refused
                )
            })
            .count()
    }
}

/// Who is signed in, and the sign-in and lock screens.
#[derive(Debug, Clone, Default)]
pub struct Access {
    /// The signed-in user, when the server says who (bedside's own server).
    pub user: Option<SignedIn>,
    /// A token is held (signed in, or one given on the command line).
    pub signed_in: bool,
    /// The sign-in or lock screen, when showing: nothing else is drawn.
    pub form: Option<SignInForm>,
    /// Lock after this long without a key (0: never, for tests without sign-in).
    pub idle_ms: i64,
    pub last_input_ms: i64,
    /// Shown on the lock screen of the demo only.
    pub demo_password: Option<String>,
    /// What needs an electronic signature (config.toml `signing`).
    pub signing: crate::config::Signing,
}

impl Access {
    pub fn role(&self) -> Option<&str> {
        self.user.as_ref().map(|u| u.role.as_str())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FormMode {
    SignIn,
    /// A passphrase for the offline data (a server where the user has only a token): asked
    /// once per session, and to unlock.
    Passphrase,
    /// The screen is locked; the same user unlocks with their password.
    Unlock,
    /// The account has a one-time password: the user chooses their own (typed twice).
    NewPassword,
}

#[derive(Clone, PartialEq, Eq)]
pub struct SignInForm {
    pub mode: FormMode,
    pub username: String,
    pub password: String,
    pub code: String,
    /// The server asked for a TOTP code.
    pub needs_code: bool,
    /// 0 username, 1 password (the new one when choosing), 2 code, 3 the new one again.
    pub field: usize,
    /// Choosing a new password: the one-time password it replaces.
    pub current: String,
    /// Choosing a new password: typed again.
    pub confirm: String,
    pub error: Option<String>,
    pub busy: bool,
}

// The typed password, code and one-time password are never printed.
impl std::fmt::Debug for SignInForm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignInForm")
            .field("mode", &self.mode)
            .field("username", &self.username)
            .field("field", &self.field)
            .field("needs_code", &self.needs_code)
            .field("error", &self.error)
            .field("busy", &self.busy)
            .finish_non_exhaustive()
    }
}

impl SignInForm {
    pub fn new(mode: FormMode, username: &str) -> SignInForm {
        SignInForm {
            mode,
            username: username.to_string(),
            password: String::new(),
            code: String::new(),
            needs_code: false,
            field: if username.is_empty() { 0 } else { 1 },
            current: String::new(),
            confirm: String::new(),
            error: None,
            busy: false,
        }
    }
}

/// One line of the access log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessEntry {
    pub when: String,
    pub user: String,
    pub what: String,
    pub success: bool,
    pub address: String,
    /// The resource read or written (`Observation/123`), when one was.
    pub resource: Option<String>,
    /// A search's query string.
    pub query: Option<String>,
    /// Why it failed, or what the server noted.
    pub description: Option<String>,
    /// The break-the-glass reason, when it was emergency access.
    pub emergency: Option<String>,
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
    /// Read `reference` for its version, then update it as discontinued.
    Discontinue {
        context: u64,
        reference: String,
        reason: String,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Screen {
    Search,
    Chart,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SearchFocus {
    Input,
    List,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SearchStatus {
    /// Nothing typed: recent patients.
    Recent,
    /// Typed, waiting for the pause that starts a search.
    Typing,
    Searching,
    Done,
    Hint(String),
    NoMatch,
    Failed(String),
}

#[derive(Debug, Clone)]
pub struct Row {
    pub patient: PatientInfo,
    pub matched: Vec<usize>,
    pub location: Option<String>,
}

#[derive(Debug, Clone)]
pub struct SearchState {
    pub query: String,
    pub generation: u64,
    pub focus: SearchFocus,
    pub status: SearchStatus,
    pub rows: Vec<Row>,
    pub recent: Vec<Row>,
    pub cursor: usize,
    pub scroll: usize,
    /// `:open MRN`: open the chart when the search finds exactly one patient.
    pub open_single: bool,
}

impl SearchState {
    /// The rows on screen: search results, or recent patients before any typing.
    pub fn shown(&self) -> &[Row] {
        if self.query.trim().is_empty() {
            &self.recent
        } else {
            &self.rows
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChartFocus {
    Timeline,
    Detail,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ChartView {
    Timeline,
    Summary,
    Trend { key: String, title: String },
    Note,
    Orders,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrdersFocus {
    Composer,
    Basket,
    Active,
}

/// A composer result: a catalog entry or an order set.
#[derive(Debug, Clone, PartialEq)]
pub enum Pick {
    Entry(crate::workstation::orders::catalog::Hit),
    Set(usize),
}

/// The orders pane of this chart: the composer, the basket (kept when the pane closes), the
/// alerts the checks raised, and the active orders.
#[derive(Debug, Clone)]
pub struct OrdersState {
    pub focus: OrdersFocus,
    pub query: String,
    pub picks: Vec<Pick>,
    /// The matches of each shorter query typed on the way to this one (shortest first): a
    /// key searches within the longest that this query extends, so typing narrows and a
    /// Backspace goes back to the matches it had, never to an empty or wrong pool.
    pub pools: Vec<(String, Vec<usize>)>,
    pub pick_cursor: usize,
    pub basket: Vec<crate::workstation::orders::basket::Item>,
    pub basket_cursor: usize,
    pub active_cursor: usize,
    pub alerts: Vec<crate::workstation::orders::checks::Alert>,
    /// Why the checks could not run, if they could not.
    pub checks_error: Option<String>,
    pub checks_acknowledged: bool,
    pub sending: bool,
    pub error: Option<String>,
}

impl OrdersState {
    pub fn new() -> OrdersState {
        OrdersState {
            focus: OrdersFocus::Composer,
            query: String::new(),
            picks: Vec::new(),
            pools: Vec::new(),
            pick_cursor: 0,
            basket: Vec::new(),
            basket_cursor: 0,
            active_cursor: 0,
            alerts: Vec::new(),
            checks_error: None,
            checks_acknowledged: false,
            sending: false,
            error: None,
        }
    }
}

impl Default for OrdersState {
    fn default() -> OrdersState {
        OrdersState::new()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoteMode {
    Editing,
    Command,
}

/// The note being written in this chart. The editor holds the text; `draft` holds everything
/// else and is what goes to disk and to the server.
#[derive(Debug)]
pub struct NoteState {
    pub draft: Draft,
    pub editor: Editor,
    pub mode: NoteMode,
    /// Edits not yet on disk.
    pub unsaved: bool,
    pub autosave_pending: bool,
    /// "draft saved 12:03", or why it was not.
    pub saved: Option<Result<String, String>>,
    /// A send in flight.
    pub sending: Option<DocStatus>,
    /// Why the last send failed, in plain words.
    pub error: Option<String>,
    /// The first line on screen (soft wrap is drawn by bedside, for the visible lines only).
    pub top: usize,
    /// Words, counted when the draft is saved (a count on every key would cost a full pass
    /// over a long note).
    pub words: usize,
}

impl NoteState {
    pub fn new(draft: Draft) -> NoteState {
        let editor = Editor::new(&draft.text);
        let words = count_words(&draft.text);
        NoteState {
            draft,
            editor,
            mode: NoteMode::Editing,
            unsaved: false,
            autosave_pending: false,
            saved: None,
            sending: None,
            error: None,
            top: 0,
            words,
        }
    }

    /// The draft with the editor's text.
    pub fn current(&self) -> Draft {
        let mut d = self.draft.clone();
        d.text = self.editor.text();
        d
    }

    pub fn recount(&mut self) {
        self.words = count_words(&self.editor.lines().join(" "));
    }
}

/// How a chart is being opened.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Opening {
    /// Check for a restricted record first (false once the glass is broken).
    pub check: bool,
    /// The user is support staff: clinical content needs break-the-glass on any chart.
    pub support: bool,
}

impl Opening {
    /// Nothing clinical is shown, from the server or the cache, until the glass is broken.
    pub fn withholds(self) -> bool {
        self.check && self.support
    }
}

#[derive(Debug)]
pub struct ChartState {
    /// The patient-context generation every request for this chart carries.
    pub context: u64,
    pub patient_id: String,
    pub chart: Chart,
    pub loading: bool,
    pub error: Option<String>,
    pub focus: ChartFocus,
    pub view: ChartView,
    pub filter: Option<Kind>,
    pub find: Option<String>,
    /// Timeline indexes that pass the filter and the find text.
    pub visible: Vec<u32>,
    pub cursor: usize,
    pub scroll: usize,
    pub detail_scroll: usize,
    pub detail_cursor: usize,
    /// Once the user moves, new pages keep their item selected instead of the newest.
    pub moved: bool,
    pub note: Option<NoteState>,
    pub orders: Option<OrdersState>,
    /// Clinical content withheld until the glass is broken: `true` for a restricted record,
    /// `false` for support staff (who see demographics only).
    pub withheld: Option<bool>,
    /// How the chart is being opened: what `update` decides on when the record arrives.
    pub opening: Opening,
    /// Shown from the cache, fetched from the server at this time (ms): until the server's
    /// changes are merged in, or for as long as the server cannot be reached.
    pub cached: Option<i64>,
    /// Interactions and duplicates already among the active medications (most severe first).
    pub review: Vec<crate::workstation::orders::checks::Alert>,
    /// The first line of the summary shown, when it is one scrolling column.
    pub summary_scroll: usize,
    /// An emergency (break-the-glass) grant on this chart ends at this time (epoch ms).
    pub grant_until: Option<i64>,
    /// Other patients with this patient's family and first given name, once known; shown on
    /// the banner until acknowledged.
    pub namesakes: Option<usize>,
}

impl ChartState {
    /// A chart being loaded under patient context `context`, timeline focused, newest first.
    pub fn new(context: u64, chart: Chart) -> ChartState {
        ChartState {
            context,
            patient_id: chart.owner().unwrap_or_default().to_string(),
            chart,
            loading: true,
            error: None,
            focus: ChartFocus::Timeline,
            view: ChartView::Timeline,
            filter: None,
            find: None,
            visible: Vec::new(),
            cursor: 0,
            scroll: 0,
            detail_scroll: 0,
            detail_cursor: 0,
            moved: false,
            note: None,
            orders: None,
            withheld: None,
            opening: Opening::default(),
            cached: None,
            review: Vec::new(),
            namesakes: None,
            grant_until: None,
            summary_scroll: 0,
        }
    }

    pub fn selected(&self) -> Option<&crate::workstation::chart::Item> {
        let i = *self.visible.get(self.cursor)?;
        self.chart.timeline.get(i as usize)
    }

    pub fn selected_target(&self) -> Option<Target> {
        self.selected().map(|i| i.target)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PromptKind {
    Find,
    Date,
    /// The reason for emergency access to the open chart.
    BreakGlass,
    /// Filter the access log: a username and/or a date.
    AccessFilter,
}

/// What an electronic signature is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignTarget {
    Note(DocStatus),
    Orders,
}

impl SignTarget {
    /// The word the server records (no patient data).
    pub fn word(self) -> &'static str {
        match self {
            SignTarget::Note(_) => "note",
            SignTarget::Orders => "orders",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Overlay {
    /// The bindings of `context` (where help was asked for), narrowed by `query`.
    Help {
        context: Context,
        query: String,
        scroll: usize,
    },
    /// `:`: fuzzy search over actions and typed commands, opened from `context`.
    Palette {
        context: Context,
        input: String,
        cursor: usize,
    },
    /// Problems found in the user's keymap, theme and config files.
    Problems {
        scroll: usize,
    },
    Filter {
        cursor: usize,
    },
    Prompt {
        kind: PromptKind,
        input: String,
    },
    ConfirmQuit,
    /// Pick a note template.
    Templates {
        cursor: usize,
    },
    /// "Sign progress note for SMITH, John (MRN 0012345)? y/n"
    ConfirmSign {
        status: DocStatus,
    },
    /// Drafts from an earlier session.
    Drafts {
        cursor: usize,
    },
    /// The fields of basket item `item`; `field` is being edited.
    OrderFields {
        item: usize,
        field: usize,
    },
    /// A reason to override high-severity alert `alert` (of the basket's alerts).
    Override {
        alert: usize,
        cursor: usize,
        text: String,
    },
    /// Checks did not run: sign anyway?
    AckChecks,
    /// "Sign 3 orders for SMITH, John (MRN ...)?"
    ConfirmOrders,
    /// This session's messages, newest last.
    Messages {
        scroll: usize,
    },
    /// The electronic signature: the signer's password (or signature PIN), checked by the
    /// server before a note or an order basket is signed.
    Signature {
        target: SignTarget,
        input: Secret,
        error: Option<String>,
        /// Sent for checking: keys wait for the answer.
        checking: bool,
    },
    /// Why the selected active order is being discontinued.
    Discontinue {
        input: String,
    },
    /// Notes waiting for the server, sent, or needing a decision.
    Outbox {
        cursor: usize,
        /// Showing both copies of a conflicting note.
        compare: bool,
        scroll: usize,
    },
    /// Who looked at this chart.
    AccessLog {
        entries: Option<Result<Vec<AccessEntry>, String>>,
        filter: String,
        scroll: usize,
        /// The selected access shown in full (Enter).
        detail: bool,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Info,
    Warning,
    Error,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    pub level: Level,
    pub text: String,
}

/// Display settings fixed at start: the clock and zone for ages and times, and what the
/// terminal can show.
#[derive(Debug, Clone)]
pub struct Display {
    pub today: NaiveDate,
    pub zone: FixedOffset,
    /// No Unicode box drawing or braille: ASCII only.
    pub ascii: bool,
    /// Braille dots for trend charts (not on the Linux console's fonts).
    pub braille: bool,
    pub server: String,
}

/// What notes need: templates, user phrases, and who is writing.
#[derive(Debug, Clone, Default)]
pub struct NoteSettings {
    pub templates: Vec<Template>,
    pub phrases: BTreeMap<String, String>,
    /// The author named on notes and orders: the signed-in user's name.
    pub author: String,
    /// `Practitioner/ID` of the signed-in user, when the server has one.
    pub author_reference: Option<String>,
}

impl NoteSettings {
    /// The author as a FHIR Reference.
    pub fn author_json(&self) -> Value {
        match &self.author_reference {
            Some(r) => serde_json::json!({"reference": r, "display": self.author}),
            None => serde_json::json!({"display": self.author}),
        }
    }
}

/// What orders need: the catalog, the drug knowledge, and the duplicate-test window.
#[derive(Debug, Clone, Default)]
pub struct OrderSettings {
    pub catalog: crate::workstation::orders::catalog::Catalog,
    pub knowledge: crate::workstation::orders::knowledge::Knowledge,
    pub duplicate_window_ms: i64,
}

pub struct State {
    pub screen: Screen,
    pub notes: Arc<NoteSettings>,
    pub order_settings: Arc<OrderSettings>,
    pub access: Access,
    pub storage: Storage,
    /// Now, for the checks (set by the runtime; tests fix it).
    pub now_ms: i64,
    /// Drafts from an earlier session, offered at start.
    pub drafts: Vec<Draft>,
    pub search: SearchState,
    pub chart: Option<ChartState>,
    pub overlay: Option<Overlay>,
    pub notice: Option<Notice>,
    pub size: Rect,
    pub display: Display,
    pub keymap: Arc<Keymap>,
    /// Keys typed so far of a chord (`g` of `g o`), and the context they were typed in.
    pub chord: Vec<Key>,
    pub chord_context: Context,
    pub theme: Theme,
    /// Every theme the user can switch to with `:theme`.
    pub themes: Arc<Themes>,
    /// ASCII drawing asked for by the terminal or the user, whatever the theme.
    pub ascii_terminal: bool,
    /// Problems in the user's keymap, theme and config files (listed at start, `:problems`).
    pub problems: Vec<crate::problem::Problem>,
    pub recent_ids: Vec<String>,
    /// The cursor in the focused one-line field (a character index; `None`: at the end).
    pub field_cursor: Option<usize>,
    /// This session's messages (time, level, text), oldest first: `:messages` lists them.
    pub messages: std::collections::VecDeque<(i64, Level, String)>,
    /// Charts whose similar-name warning was acknowledged this session.
    pub names_acknowledged: std::collections::HashSet<String>,
    pub spinner: usize,
    pub tick_pending: bool,
    /// The last patient context handed out.
    pub context: u64,
    /// Late replies dropped because they were for another patient or an older search.
    pub dropped_stale: u64,
    pub dirty: bool,
    pub full_redraw: bool,
    pub quit: bool,
}

impl State {
    pub fn new(
        display: Display,
        keymap: Arc<Keymap>,
        size: Rect,
        recent_ids: Vec<String>,
    ) -> State {
        let problems = keymap.problems.clone();
        let overlay = (!problems.is_empty()).then_some(Overlay::Problems { scroll: 0 });
        let ascii_terminal = display.ascii;
        State {
            screen: Screen::Search,
            notes: Arc::new(NoteSettings::default()),
            order_settings: Arc::new(OrderSettings::default()),
            access: Access::default(),
            storage: Storage::default(),
            now_ms: 0,
            drafts: Vec::new(),
            search: SearchState {
                query: String::new(),
                generation: 0,
                focus: SearchFocus::Input,
                status: SearchStatus::Recent,
                rows: Vec::new(),
                recent: Vec::new(),
                cursor: 0,
                scroll: 0,
                open_single: false,
            },
            chart: None,
            overlay,
            notice: None,
            size,
            display,
            keymap,
            chord: Vec::new(),
            chord_context: Context::Global,
            theme: Theme::color(),
            themes: Arc::new(Themes::load(None, super::theme::Depth::Ansi16)),
            ascii_terminal,
            problems,
            recent_ids,
            names_acknowledged: Default::default(),
            messages: Default::default(),
            field_cursor: None,
            spinner: 0,
            tick_pending: false,
            context: 0,
            dropped_stale: 0,
            dirty: true,
            full_redraw: false,
            quit: false,
        }
    }

    /// The keymap context of what has focus: where keys are looked up, what help shows.
    pub fn context(&self) -> Context {
        if self.overlay.is_some() {
            return Context::Dialogs;
        }
        self.pane_context()
    }

    /// The keymap context of the focused pane, under any pop-up.
    pub fn pane_context(&self) -> Context {
        match (self.screen, &self.chart) {
            (Screen::Search, _) | (Screen::Chart, None) => Context::Search,
            (Screen::Chart, Some(c)) => match c.view {
                ChartView::Note => Context::Note,
                ChartView::Orders => Context::Orders,
                ChartView::Timeline if c.focus == ChartFocus::Timeline => Context::Timeline,
                _ => Context::Chart,
            },
        }
    }

    /// Uses `theme` from now on (borders follow it: mono draws ASCII).
    pub fn set_theme(&mut self, theme: Theme) {
        self.display.ascii = self.ascii_terminal || theme.ascii;
        self.theme = theme;
        self.full_redraw = true;
        self.dirty = true;
    }

    /// Something is on its way from the server (the spinner turns).
    pub fn busy(&self) -> bool {
        matches!(self.search.status, SearchStatus::Searching)
            || self.chart.as_ref().is_some_and(|c| c.loading)
    }

    /// Effects to start when the app starts (once signed in: before that, nothing about
    /// patients is loaded).
    pub fn startup(&self) -> Vec<Effect> {
        if self.access.form.is_some() {
            return Vec::new();
        }
        let mut effects = vec![Effect::LoadDrafts];
        if !self.recent_ids.is_empty() {
            effects.push(Effect::LoadRecent {
                patient_ids: self.recent_ids.clone(),
            });
        }
        effects
    }

    /// The open note's draft if it has edits not yet on disk (saved on the way out).
    pub fn unsaved_draft(&self) -> Option<Draft> {
        let note = self.chart.as_ref()?.note.as_ref()?;
        note.unsaved.then(|| note.current())
    }
}

fn count_words(text: &str) -> usize {
    text.split_whitespace().count()
}
