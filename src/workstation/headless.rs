//! A headless workstation for tests and benchmarks: the real app, effects and server, drawn
//! into ratatui's `TestBackend` and driven by key sequences such as `"/smith<enter>"`.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Result, bail};
use chrono::{NaiveDate, Offset};
use crossterm::event::{KeyEvent, KeyEventKind, KeyEventState};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::layout::Rect;

use super::app::{App, Options};
use super::keymap::Key;
use super::state::{Display, Msg, State};
use super::theme::Theme;

pub struct Headless {
    pub app: App,
    pub terminal: Terminal<TestBackend>,
}

/// A fixed clock and zone so screens are the same on every machine.
pub fn test_display(server: &str, today: NaiveDate) -> Display {
    Display {
        today,
        zone: chrono::Utc.fix(),
        ascii: false,
        braille: true,
        server: server.to_string(),
    }
}

impl Headless {
    /// A workstation holding `token` (as after sign-in).
    pub fn new(
        server: &str,
        token: &str,
        width: u16,
        height: u16,
        today: NaiveDate,
    ) -> Result<Headless> {
        Headless::with(
            server,
            token,
            width,
            height,
            test_display(server, today),
            None,
        )
    }

    pub fn with(
        server: &str,
        token: &str,
        width: u16,
        height: u16,
        display: Display,
        recent_file: Option<PathBuf>,
    ) -> Result<Headless> {
        let mut opts = Options::new(server);
        opts.token = (!token.is_empty()).then(|| token.to_string());
        opts.recent_file = recent_file;
        opts.ascii = display.ascii;
        Headless::with_options(opts, display, width, height)
    }

    pub fn with_options(
        opts: Options,
        display: Display,
        width: u16,
        height: u16,
    ) -> Result<Headless> {
        let mut app = App::new(
            opts,
            display,
            Theme::color(),
            Rect::new(0, 0, width, height),
        )?;
        let terminal = Terminal::new(TestBackend::new(width, height))?;
        app.start();
        let mut h = Headless { app, terminal };
        h.draw()?;
        Ok(h)
    }

    pub fn state(&self) -> &State {
        &self.app.state
    }

    pub fn draw(&mut self) -> Result<()> {
        self.app.draw(&mut self.terminal)
    }

    /// Presses keys: characters as themselves, names in angle brackets (`<enter>`, `<esc>`,
    /// `<tab>`, `<down>`, `<ctrl-c>`...), then draws.
    pub fn keys(&mut self, sequence: &str) -> Result<()> {
        for key in parse_sequence(sequence)? {
            let event = KeyEvent {
                code: key.code,
                modifiers: key.mods,
                kind: KeyEventKind::Press,
                state: KeyEventState::NONE,
            };
            self.app.handle(Msg::Key(event));
        }
        self.draw()
    }

    /// Handles messages from effects until `done` holds (true) or `timeout` passes (false).
    pub async fn wait_for(&mut self, timeout: Duration, done: impl Fn(&State) -> bool) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        while !done(&self.app.state) {
            match tokio::time::timeout_at(deadline, self.app.rx.recv()).await {
                Ok(Some(msg)) => self.app.handle(msg),
                _ => {
                    let _ = self.draw();
                    return false;
                }
            }
        }
        let _ = self.draw();
        true
    }

    /// The last frame, with its styles.
    pub fn buffer(&self) -> &ratatui::buffer::Buffer {
        self.terminal.backend().buffer()
    }

    /// The screen as lines of text.
    pub fn screen(&self) -> String {
        let buf = self.terminal.backend().buffer();
        let mut out = String::new();
        for y in 0..buf.area.height {
            let mut line = String::new();
            for x in 0..buf.area.width {
                line.push_str(buf[(x, y)].symbol());
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
        out
    }
}

pub fn parse_sequence(sequence: &str) -> Result<Vec<Key>> {
    let mut keys = Vec::new();
    let mut chars = sequence.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '<' && chars.peek().is_some_and(|n| *n != '>') {
            let name: String = chars.by_ref().take_while(|c| *c != '>').collect();
            match Key::parse(&name) {
                Ok(k) => keys.push(k),
                Err(e) => bail!("in key sequence: {e}"),
            }
        } else {
            keys.push(Key::new(
                crossterm::event::KeyCode::Char(c),
                crossterm::event::KeyModifiers::NONE,
            ));
        }
    }
    Ok(keys)
}
