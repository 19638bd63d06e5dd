//! The loop that ties it together: messages in, `update`, effects out, and a frame drawn only
//! when something changed (bursts of messages are coalesced into one frame; nothing is written
//! while idle).

use crate::workstation::msg::AccessMsg;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Result;
use chrono::{Local, Offset};
use ratatui::Terminal;
use ratatui::backend::Backend;
use ratatui::layout::Rect;
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};

use crate::workstation::client::{FhirClient, SignedIn, Transport};

use super::keymap::Keymap;
use super::recent::RecentStore;
use super::runtime::Runner;
use super::state::{Display, Msg, NoteSettings, State};
use super::theme::{self, Depth, Theme, Themes};
use super::update::update;
use super::view::view;

/// What the workstation needs to start.
pub struct Options {
    pub server: String,
    pub token: Option<String>,
    pub keymap: Keymap,
    /// Where recently opened patient ids are kept (none: not kept).
    pub recent_file: Option<PathBuf>,
    /// Force ASCII drawing whatever the terminal says.
    pub ascii: bool,
    /// Problems with the user's files, shown on screen at start.
    pub warnings: Vec<String>,
    /// The user's own templates and phrases (`templates/`, `phrases.toml` in the config dir).
    pub templates_dir: Option<PathBuf>,
    pub phrases_file: Option<PathBuf>,
    /// The name notes are filed under.
    pub author: String,
    /// The user's order catalog, drug tables and order sets (`orders/` in the config dir).
    pub orders_dir: Option<PathBuf>,
    /// A site's own term lists (`allergens.toml`, `conditions.toml`), if any.
    pub record_dir: Option<PathBuf>,
    /// Hours within which a repeated test is flagged.
    pub duplicate_test_hours: u32,
    /// Where the list's handoff is written (`None`: bedside's state folder).
    pub handoff_dir: Option<std::path::PathBuf>,
    /// The safety net's limits: critical results waiting longer (ms), abnormal ones.
    pub overdue: crate::workstation::inbox::Overdue,
    /// Who the token belongs to, when it came from a sign-in (the demo signs in itself).
    pub user: Option<SignedIn>,
    /// Lock the screen after this long without a key (none: never; tests).
    pub idle_lock: Option<std::time::Duration>,
    /// CA certificate and plain-HTTP policy.
    pub transport: Transport,
    /// The demo's password, shown on its lock screen (the demo only).
    pub demo_password: Option<String>,
    /// What needs an electronic signature (config.toml `signing`).
    pub signing: crate::config::Signing,
    /// Where offline data (cache, outbox, drafts) lives; none: nothing is kept on disk.
    pub storage: Option<super::runtime::offline::StorageConfig>,
    /// The password of the user signed in before start (the demo), to open their vault.
    pub vault_secret: Option<String>,
    /// A vault opened by the caller (tests).
    pub vault: Option<crate::workstation::vault::Vault>,
    /// The theme asked for (`--theme`, `theme =` in config.toml); none: chosen from the
    /// terminal (mono without colour, else default).
    pub theme: Option<String>,
    /// The themes to choose from (shipped and the user's), built for the terminal's colours.
    pub themes: Option<Themes>,
    /// Settings problems found before start (a keymap or theme that does not exist), listed
    /// with the keymap's and the theme's.
    pub problems: Vec<crate::problem::Problem>,
    /// A sign-in with the hospital's identity provider: how its tokens are renewed, and how
    /// the user signs in again when they cannot be.
    pub renewal: Option<super::runtime::provider::Renewal>,
    /// The user's own FHIR resource (`Practitioner/123`, SMART `fhirUser`): the author and
    /// requester of what they sign, when the server has no sign-in of its own to say.
    pub fhir_user: Option<String>,
    /// How the user got in, for the sign-in and lock screens ("the identity provider at ...
    /// (device code)", "a bearer token"); none: the server's own sign-in.
    pub way_in: Option<String>,
}

impl Options {
    /// Options with the default keymap and no files: tests and benchmarks.
    pub fn new(server: &str) -> Options {
        Options {
            server: server.to_string(),
            token: None,
            keymap: Keymap::default_keymap(),
            recent_file: None,
            ascii: false,
            warnings: Vec::new(),
            templates_dir: None,
            phrases_file: None,
            author: "bedside user".into(),
            orders_dir: None,
            record_dir: None,
            duplicate_test_hours: 24,
            overdue: Default::default(),
            handoff_dir: None,
            user: None,
            idle_lock: None,
            transport: Transport::default(),
            demo_password: None,
            signing: crate::config::Signing::default(),
            storage: None,
            vault_secret: None,
            vault: None,
            theme: None,
            themes: None,
            problems: Vec::new(),
            renewal: None,
            fhir_user: None,
            way_in: None,
        }
    }
}

/// The pieces of a running workstation, for the real terminal and for headless tests alike.
pub struct App {
    pub state: State,
    pub runner: Runner,
    pub tx: UnboundedSender<Msg>,
    pub rx: UnboundedReceiver<Msg>,
}

impl App {
    /// Builds the app; must run inside a tokio runtime (effects are tasks).
    /// `theme` is used unless `opts.theme` names another.
    pub fn new(mut opts: Options, display: Display, theme: Theme, size: Rect) -> Result<App> {
        let themes = opts.themes.take().unwrap_or_else(|| {
            let depth = if theme.colour {
                Depth::Ansi16
            } else {
                Depth::None
            };
            Themes::load(None, depth)
        });
        let mut theme_problems = std::mem::take(&mut opts.problems);
        theme_problems.extend(themes.problems.iter().cloned());
        let theme = match &opts.theme {
            Some(name) => {
                let (t, p) = themes.build(name);
                theme_problems.extend(p);
                t
            }
            None => theme,
        };
        let client = FhirClient::with_transport(&opts.server, opts.token.clone(), &opts.transport)?;
        let (tx, rx) = unbounded_channel();
        let signed_in = client.has_token();
        // Each user has their own recent list; before sign-in there is none to show.
        let recent_path = match (&opts.user, &opts.recent_file) {
            (Some(user), Some(path)) => {
                Some(path.with_file_name(format!("recent-patients-{}.json", user.username)))
            }
            (None, Some(path)) if signed_in => Some(path.clone()),
            _ => None,
        };
        let recent = recent_path.map(|path| RecentStore::new(path, &client.base()));
        let recent_ids = recent.as_ref().map(RecentStore::load).unwrap_or_default();
        let mut runner = Runner::new(client.clone(), tx.clone(), recent, display.zone);
        let storage_enabled = opts.storage.is_some() || opts.vault.is_some();
        let vault_given = opts.vault.is_some();
        // A token with no sign-in behind it: the offline data needs a passphrase.
        let needs_passphrase =
            signed_in && opts.user.is_none() && opts.storage.is_some() && opts.vault.is_none();
        runner.storage = opts.storage.map(std::sync::Arc::new);
        if let Some(vault) = opts.vault {
            // Before the first frame: nothing is waiting for the screen yet.
            let ready = super::runtime::offline::ready(runner.storage.as_deref(), &vault);
            runner.attach(super::state::Unlocked {
                ready,
                vault,
                offline_user: None,
                set_aside: None,
            });
        }
        if let (Some(secret), Some(user), Some(cfg)) =
            (opts.vault_secret, opts.user.clone(), runner.storage.clone())
        {
            let tx = tx.clone();
            tokio::spawn(async move {
                let opened =
                    super::runtime::offline::open_after_sign_in(cfg, user, secret.into()).await;
                let _ = tx.send(Msg::Access(AccessMsg::VaultOpened(Box::new(opened))));
            });
        }
        runner.recent_file = opts.recent_file.clone();
        let mut warnings = opts.warnings;
        let (templates, problems) =
            crate::workstation::notes::templates(opts.templates_dir.as_deref());
        warnings.extend(problems);
        let (phrases, problem) = match &opts.phrases_file {
            Some(path) => crate::workstation::notes::phrases::user_phrases(path),
            None => Default::default(),
        };
        warnings.extend(problem);
        let (knowledge, problems) =
            crate::workstation::orders::knowledge::Knowledge::load(opts.orders_dir.as_deref());
        warnings.extend(problems);
        let (catalog, problems) = crate::workstation::orders::catalog::Catalog::load(
            &knowledge,
            opts.orders_dir.as_deref(),
        );
        warnings.extend(problems);
        let (terms, problems) =
            crate::workstation::record::terms::Terms::load(&knowledge, opts.record_dir.as_deref());
        warnings.extend(problems);
        let mut state = State::new(display, Arc::new(opts.keymap), size, recent_ids);
        state.record_terms = Arc::new(terms);
        state.themes = Arc::new(themes);
        state.set_theme(theme);
        state.full_redraw = false;
        state.problems.extend(theme_problems);
        if !state.problems.is_empty() {
            state.overlay = Some(super::state::Overlay::Problems { scroll: 0 });
        }
        state.order_settings = Arc::new(super::state::OrderSettings {
            catalog,
            knowledge,
            duplicate_window_ms: i64::from(opts.duplicate_test_hours) * 3_600_000,
        });
        state.overdue = opts.overdue;
        state.handoff_dir = opts.handoff_dir.clone();
        state.notes = Arc::new(NoteSettings {
            templates,
            phrases,
            author: opts
                .user
                .as_ref()
                .map(|u| u.name.clone())
                .unwrap_or(opts.author),
            author_reference: opts
                .user
                .as_ref()
                .and_then(|u| u.practitioner.as_ref())
                .map(|p| format!("Practitioner/{p}"))
                .or(opts.fhir_user.clone()),
        });
        state.access = super::state::Access {
            user: opts.user,
            signed_in,
            form: if !signed_in {
                Some(super::state::SignInForm::new(
                    super::state::FormMode::SignIn,
                    "",
                ))
            } else if needs_passphrase {
                Some(super::state::SignInForm::new(
                    super::state::FormMode::Passphrase,
                    "",
                ))
            } else {
                None
            },
            idle_ms: opts.idle_lock.map_or(0, |d| d.as_millis().max(1) as i64),
            last_input_ms: crate::fhir::date::now_ms(),
            demo_password: opts.demo_password,
            signing: opts.signing,
            way_in: opts.way_in,
            provider: opts.renewal.as_ref().map(|r| super::state::ProviderAccess {
                who: r.who.clone(),
                ..Default::default()
            }),
        };
        if let Some(renewal) = opts.renewal {
            runner.provider(renewal);
        }
        state.storage.enabled = storage_enabled;
        state.storage.open = vault_given;
        if let Some(w) = warnings.first() {
            state.notice = Some(super::state::Notice {
                level: super::state::Level::Warning,
                text: w.clone(),
            });
        }
        Ok(App {
            state,
            runner,
            tx,
            rx,
        })
    }

    pub fn start(&mut self) {
        for effect in self.state.startup() {
            self.runner.run(effect);
        }
    }

    /// Feeds one message through `update` and starts its effects.
    pub fn handle(&mut self, msg: Msg) {
        self.state.now_ms = crate::fhir::date::now_ms();
        for effect in update(&mut self.state, msg) {
            self.runner.run(effect);
        }
    }

    pub fn draw<B: Backend>(&mut self, terminal: &mut Terminal<B>) -> Result<()> {
        if self.state.full_redraw {
            self.state.full_redraw = false;
            // Not `Terminal::clear`: it asks the terminal where its cursor is and waits for
            // the answer (a round trip over SSH, seconds when none comes). Resizing to the
            // same area clears the screen and resets the back buffer without asking.
            let size = terminal.size().map_err(|e| anyhow::anyhow!("{e}"))?;
            terminal
                .resize(Rect::new(0, 0, size.width, size.height))
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            self.state.dirty = true;
        }
        if self.state.dirty {
            let state = &self.state;
            terminal
                .draw(|f| view(state, &state.theme, f))
                .map_err(|e| anyhow::anyhow!("cannot draw: {e}"))?;
            self.state.dirty = false;
        }
        Ok(())
    }

    /// Runs until the user quits or the terminal goes away.
    pub async fn run<B: Backend>(&mut self, terminal: &mut Terminal<B>) -> Result<()> {
        self.start();
        self.draw(terminal)?;
        // Debug builds only: lets the pty tests check that a panic restores the terminal.
        if cfg!(debug_assertions) && std::env::var_os("BEDSIDE_TEST_PANIC").is_some() {
            panic!("BEDSIDE_TEST_PANIC is set");
        }
        while !self.state.quit {
            let msg = match self.idle_deadline() {
                Some(wait) => match tokio::time::timeout(wait, self.rx.recv()).await {
                    Ok(msg) => msg,
                    Err(_) => Some(Msg::Access(AccessMsg::IdleCheck)),
                },
                None => self.rx.recv().await,
            };
            let Some(msg) = msg else {
                break;
            };
            self.handle(msg);
            // Coalesce what has already arrived into one frame.
            while !self.state.quit {
                match self.rx.try_recv() {
                    Ok(msg) => self.handle(msg),
                    Err(_) => break,
                }
            }
            if self.state.quit {
                break;
            }
            self.draw(terminal)?;
        }
        self.save_unsaved();
        // Leaving is signing out: the key goes, and the cache too where the site asks.
        self.runner.close_vault(true);
        Ok(())
    }

    /// How long until the idle lock is due, when it can be.
    fn idle_deadline(&self) -> Option<std::time::Duration> {
        let a = &self.state.access;
        if a.idle_ms <= 0 || a.form.is_some() || !a.signed_in {
            return None;
        }
        let due = a.last_input_ms + a.idle_ms - crate::fhir::date::now_ms();
        Some(std::time::Duration::from_millis(due.max(0) as u64 + 5))
    }

    /// On the way out (quit, SIGHUP, SIGTERM, a dead terminal): the open note's last edits
    /// go to disk now, not in a task that may never run.
    pub fn save_unsaved(&mut self) {
        if let (Some(draft), Some(store)) = (self.state.unsaved_draft(), self.runner.draft_store())
        {
            let mut draft = draft;
            draft.saved = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
            if draft.created.is_empty() {
                draft.created = draft.saved.clone();
            }
            match store.save(&draft) {
                Ok(()) => tracing::info!("saved the open draft on the way out"),
                Err(e) => tracing::error!("cannot save the open draft on the way out: {e}"),
            }
        }
    }
}

/// What the terminal says about itself: for the display, the theme and `bedside doctor`.
#[derive(Debug, Clone)]
pub struct TerminalEnv {
    pub term: String,
    pub colorterm: Option<String>,
    pub no_color: bool,
    pub locale: Option<String>,
}

impl TerminalEnv {
    pub fn from_env() -> TerminalEnv {
        TerminalEnv {
            term: std::env::var("TERM").unwrap_or_default(),
            colorterm: std::env::var("COLORTERM").ok().filter(|v| !v.is_empty()),
            no_color: std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty()),
            locale: ["LC_ALL", "LC_CTYPE", "LANG"]
                .iter()
                .find_map(|k| std::env::var(k).ok().filter(|v| !v.is_empty())),
        }
    }

    /// Box drawing cannot be trusted (VT100-class terminal, or a locale that is not UTF-8).
    pub fn needs_ascii(&self) -> bool {
        theme::needs_ascii(&self.term, self.locale.as_deref())
    }

    /// Colours, and why. `NO_COLOR` yields to a theme the user chose themselves.
    pub fn depth(&self, theme_chosen: bool) -> (Depth, String) {
        Depth::detect(
            self.no_color,
            self.colorterm.as_deref(),
            &self.term,
            !theme_chosen,
        )
    }
}

/// Display settings from the environment: today, the local zone, and what the terminal can
/// show; the theme asked for (or the one that suits the terminal) with every theme the user
/// can switch to.
pub fn display_from_env(opts: &mut Options) -> (Display, Theme) {
    let env = TerminalEnv::from_env();
    let ascii = opts.ascii || env.needs_ascii();
    let now = Local::now();
    let display = Display {
        today: now.date_naive(),
        zone: now.offset().fix(),
        ascii,
        // The Linux console's fonts have no braille.
        braille: !ascii && env.term != "linux",
        server: opts.server.trim_end_matches('/').to_string(),
    };
    let (depth, _) = env.depth(opts.theme.is_some());
    if opts.themes.is_none() {
        opts.themes = Some(Themes::load(None, depth));
    }
    if opts.theme.is_none() {
        opts.theme = Some(
            if depth == Depth::None {
                "mono"
            } else {
                "default"
            }
            .into(),
        );
    }
    let fallback = if depth == Depth::None {
        "mono"
    } else {
        "default"
    };
    (display, theme::builtin(fallback, depth))
}

/// The workstation on the real terminal.
pub async fn run_terminal(mut opts: Options) -> Result<()> {
    let (display, theme) = display_from_env(&mut opts);
    let mut terminal = super::terminal::enter()?;
    let size = terminal.size().map(|s| Rect::new(0, 0, s.width, s.height));
    let size = size.unwrap_or(Rect::new(0, 0, 80, 24));
    let result = async {
        let mut app = App::new(opts, display, theme, size)?;
        super::terminal::spawn_input(app.tx.clone())?;
        super::terminal::spawn_watchdog(app.tx.clone())?;
        super::terminal::spawn_signals(app.tx.clone());
        app.run(&mut terminal).await
    }
    .await;
    super::terminal::restore();
    result
}
