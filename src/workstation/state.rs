//! Everything the workstation shows, in one value that `update` changes and `view` reads.

use std::sync::Arc;

use chrono::{FixedOffset, NaiveDate};
use ratatui::layout::Rect;

use crate::secret::Secret;
pub use crate::workstation::runtime::session::Unlocked;

use crate::workstation::notes::document::DocStatus;
use crate::workstation::notes::drafts::Draft;

use super::keymap::{Context, Key, Keymap};
use super::theme::{Theme, Themes};

pub use crate::workstation::features::access::state::*;
pub use crate::workstation::features::chart::state::*;
pub use crate::workstation::features::note::state::*;
pub use crate::workstation::features::offline::state::*;
pub use crate::workstation::features::orders::state::*;
pub use crate::workstation::features::search::state::*;
pub use crate::workstation::msg::*;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Screen {
    Search,
    Chart,
    /// A ward's census (`features/census`).
    Census,
    /// The results inbox (`features/inbox`).
    Inbox,
    /// My unsigned work: orders to co-sign, unsigned notes (`features/work`).
    Work,
    /// The support desk (`features/support`).
    Support,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PromptKind {
    Find,
    Date,
    /// The reason for emergency access to the open chart.
    BreakGlass,
    /// Why an allergy or problem entry was entered in error.
    EnteredInError,
    /// Filter the access log: a username and/or a date.
    AccessFilter,
    /// The name of a new patient list of my own.
    NewList,
    /// Forward a result: the colleague's name, a colon, a comment.
    Forward,
    /// Why a nurse's draft order is rejected (the nurse sees it).
    CosignReject,
    /// Why a high-severity alert on an order being co-signed is overridden.
    CosignOverride,
    /// A question of the support desk.
    Support(crate::workstation::features::support::Ask),
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
    /// A nurse's draft order under review over its chart: co-sign or reject.
    Cosign,
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

pub struct State {
    pub screen: Screen,
    pub notes: Arc<NoteSettings>,
    pub order_settings: Arc<OrderSettings>,
    /// The coded terms offered for allergies, reactions and problems.
    pub record_terms: Arc<crate::workstation::record::terms::Terms>,
    /// The watch for critical results, on every screen.
    pub critical: crate::workstation::features::inbox::CriticalWatch,
    /// Where the list's handoff is written (`None`: bedside's state folder).
    pub handoff_dir: Option<std::path::PathBuf>,
    /// My unsigned work (F7), once opened.
    pub work: Option<crate::workstation::features::work::WorkState>,
    /// The support desk (F8), once opened.
    pub desk: Option<crate::workstation::features::support::DeskState>,
    /// How long a result may wait before the safety net lists it (the site's settings).
    pub overdue: crate::workstation::inbox::Overdue,
    /// The results inbox, once opened.
    pub inbox: Option<crate::workstation::features::inbox::InboxState>,
    /// The ward census, once opened (kept while charts are opened from it).
    pub census: Option<crate::workstation::features::census::CensusState>,
    /// The registration form, while a patient is being registered.
    pub register: Option<crate::workstation::features::register::RegisterState>,
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
            record_terms: Arc::new(crate::workstation::record::terms::Terms::default()),
            register: None,
            census: None,
            inbox: None,
            critical: Default::default(),
            overdue: Default::default(),
            work: None,
            desk: None,
            handoff_dir: None,
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
            (Screen::Search, _) if self.register.as_ref().is_some_and(|r| r.editing.is_none()) => {
                Context::Register
            }
            (Screen::Census, _) => Context::Census,
            (Screen::Inbox, _) => Context::Inbox,
            (Screen::Work, _) => Context::Work,
            (Screen::Support, _) => Context::Support,
            (Screen::Search, _) | (Screen::Chart, None) => Context::Search,
            (Screen::Chart, Some(c)) => match c.view {
                ChartView::Note => Context::Note,
                ChartView::Orders => Context::Orders,
                ChartView::Vitals => Context::Vitals,
                ChartView::Lists => Context::Lists,
                ChartView::Demographics => Context::Register,
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
        if let Some(owner) = &self.notes.author_reference {
            effects.push(Effect::LoadCritical {
                generation: self.critical.generation,
                owner: owner.clone(),
            });
        }
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
