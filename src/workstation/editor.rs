//! The note editor: lines of text, a cursor, a selection, a clipboard, and undo/redo that
//! record only the lines an edit touched. Every edit goes through `replace`, so each costs
//! what its lines cost, not what the whole note costs (ratatui-textarea rebuilds a map of
//! every line on each edit, which took 2-4 ms per key in a 5,000-line note).

use crossterm::event::{KeyCode, KeyModifiers};

use super::action::Action;
use super::keymap::Key;

/// What the editor does besides typing and moving; each is an action in the keymap's
/// `[editor]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    Undo,
    Redo,
    SelectAll,
    Copy,
    Cut,
    Paste,
}

impl Command {
    pub fn of(action: Action) -> Option<Command> {
        Some(match action {
            Action::Undo => Command::Undo,
            Action::Redo => Command::Redo,
            Action::SelectAll => Command::SelectAll,
            Action::Copy => Command::Copy,
            Action::Cut => Command::Cut,
            Action::Paste => Command::Paste,
            _ => return None,
        })
    }
}

/// A position: line and character (not byte) within it.
pub type Pos = (usize, usize);

/// Lines `row..row + old.len()` became `new`.
#[derive(Clone)]
struct Change {
    row: usize,
    old: Vec<String>,
    new: Vec<String>,
    before: Pos,
    after: Pos,
    /// Typing that later characters may join (one undo step per run of typing).
    typing: bool,
}

#[derive(Clone)]
pub struct Editor {
    lines: Vec<String>,
    cursor: Pos,
    /// The other end of the selection, while selecting.
    anchor: Option<Pos>,
    /// The column up/down moves try to keep.
    goal: Option<usize>,
    undo: Vec<Change>,
    redo: Vec<Change>,
    clipboard: String,
    /// Bumped by every change to the text.
    version: u64,
}

// Note text is patient data: never printed.
impl std::fmt::Debug for Editor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Editor")
            .field("lines", &self.lines.len())
            .field("cursor", &self.cursor)
            .field("undo", &self.undo.len())
            .finish_non_exhaustive()
    }
}

/// Undo steps kept.
const HISTORY: usize = 2000;
/// Lines a page key moves.
const PAGE: usize = 20;

fn char_len(s: &str) -> usize {
    s.chars().count()
}

fn byte_at(s: &str, col: usize) -> usize {
    s.char_indices().nth(col).map_or(s.len(), |(i, _)| i)
}

impl Editor {
    pub fn new(text: &str) -> Editor {
        Editor {
            lines: text.split('\n').map(str::to_string).collect(),
            cursor: (0, 0),
            anchor: None,
            goal: None,
            undo: Vec::new(),
            redo: Vec::new(),
            clipboard: String::new(),
            version: 0,
        }
    }

    pub fn lines(&self) -> &[String] {
        &self.lines
    }

    pub fn text(&self) -> String {
        self.lines.join("\n")
    }

    pub fn cursor(&self) -> Pos {
        self.cursor
    }

    /// The selection as `(start, end)`, start first.
    pub fn selection(&self) -> Option<(Pos, Pos)> {
        let a = self.anchor?;
        (a != self.cursor).then(|| (a.min(self.cursor), a.max(self.cursor)))
    }

    fn clamp(&self, (row, col): Pos) -> Pos {
        let row = row.min(self.lines.len() - 1);
        (row, col.min(char_len(&self.lines[row])))
    }

    /// Moves the cursor to `pos` (clamped), ending any selection.
    pub fn jump(&mut self, pos: Pos) {
        self.cursor = self.clamp(pos);
        self.anchor = None;
        self.goal = None;
    }

    /// Replaces the text between `start` and `end` with `text`; the cursor ends after it.
    fn replace(&mut self, start: Pos, end: Pos, text: &str, typing: bool) {
        let (start, end) = (self.clamp(start.min(end)), self.clamp(start.max(end)));
        let old: Vec<String> = self.lines[start.0..=end.0].to_vec();
        let head = &old[0][..byte_at(&old[0], start.1)];
        let last = &old[old.len() - 1];
        let tail = &last[byte_at(last, end.1)..];
        let joined = format!("{head}{text}{tail}");
        let new: Vec<String> = joined.split('\n').map(str::to_string).collect();
        let inserted: Vec<&str> = text.split('\n').collect();
        let after_row = start.0 + inserted.len() - 1;
        let after_col = if inserted.len() == 1 {
            start.1 + char_len(text)
        } else {
            char_len(inserted[inserted.len() - 1])
        };
        let before = self.cursor;
        self.version += 1;
        self.lines.splice(start.0..=end.0, new.iter().cloned());
        self.cursor = (after_row, after_col);
        self.anchor = None;
        self.goal = None;
        self.redo.clear();
        // A run of typing on one line is one undo step.
        if let Some(last) = self.undo.last_mut() {
            if typing
                && last.typing
                && last.row == start.0
                && last.new.len() == 1
                && old.len() == 1
                && new.len() == 1
                && last.after == start
            {
                last.new = new;
                last.after = self.cursor;
                return;
            }
        }
        self.undo.push(Change {
            row: start.0,
            old,
            new,
            before,
            after: self.cursor,
            typing,
        });
        if self.undo.len() > HISTORY {
            self.undo.remove(0);
        }
    }

    pub fn insert_str(&mut self, text: &str) {
        let (s, e) = self.selection().unwrap_or((self.cursor, self.cursor));
        self.replace(s, e, text, false);
    }

    fn type_char(&mut self, c: char) {
        let (s, e) = self.selection().unwrap_or((self.cursor, self.cursor));
        let typing = self.selection().is_none() && c != ' ';
        self.replace(s, e, &c.to_string(), typing);
    }

    /// Deletes the `n` characters before the cursor on its line (a smart phrase's name).
    pub fn delete_before(&mut self, n: usize) {
        let (row, col) = self.cursor;
        self.replace((row, col.saturating_sub(n)), (row, col), "", false);
    }

    fn delete_selection_or(&mut self, motion: impl Fn(&Editor) -> Pos) {
        if let Some((s, e)) = self.selection() {
            self.replace(s, e, "", false);
        } else {
            let to = motion(self);
            if to != self.cursor {
                self.replace(to, self.cursor, "", false);
            }
        }
    }

    fn left(&self, (row, col): Pos) -> Pos {
        if col > 0 {
            (row, col - 1)
        } else if row > 0 {
            (row - 1, char_len(&self.lines[row - 1]))
        } else {
            (0, 0)
        }
    }

    fn right(&self, (row, col): Pos) -> Pos {
        if col < char_len(&self.lines[row]) {
            (row, col + 1)
        } else if row + 1 < self.lines.len() {
            (row + 1, 0)
        } else {
            (row, col)
        }
    }

    /// The start of the word before `pos` (crossing line starts).
    fn word_left(&self, pos: Pos) -> Pos {
        let (row, col) = pos;
        if col == 0 {
            return self.left(pos);
        }
        let chars: Vec<char> = self.lines[row].chars().collect();
        let mut c = col;
        while c > 0 && chars[c - 1].is_whitespace() {
            c -= 1;
        }
        while c > 0 && !chars[c - 1].is_whitespace() {
            c -= 1;
        }
        (row, c)
    }

    /// The start of the next word after `pos`.
    fn word_right(&self, pos: Pos) -> Pos {
        let (row, col) = pos;
        let chars: Vec<char> = self.lines[row].chars().collect();
        if col >= chars.len() {
            return self.right(pos);
        }
        let mut c = col;
        while c < chars.len() && !chars[c].is_whitespace() {
            c += 1;
        }
        while c < chars.len() && chars[c].is_whitespace() {
            c += 1;
        }
        (row, c)
    }

    fn vertical(&mut self, rows: isize) -> Pos {
        let goal = *self.goal.get_or_insert(self.cursor.1);
        let row = (self.cursor.0 as isize + rows).clamp(0, self.lines.len() as isize - 1) as usize;
        (row, goal.min(char_len(&self.lines[row])))
    }

    fn go(&mut self, to: Pos, select: bool, keep_goal: bool) {
        if select {
            self.anchor.get_or_insert(self.cursor);
        } else {
            self.anchor = None;
        }
        self.cursor = to;
        if !keep_goal {
            self.goal = None;
        }
    }

    pub fn undo(&mut self) -> bool {
        let Some(c) = self.undo.pop() else {
            return false;
        };
        self.lines
            .splice(c.row..c.row + c.new.len(), c.old.iter().cloned());
        self.version += 1;
        self.cursor = self.clamp(c.before);
        self.anchor = None;
        self.redo.push(c);
        true
    }

    pub fn redo(&mut self) -> bool {
        let Some(c) = self.redo.pop() else {
            return false;
        };
        self.lines
            .splice(c.row..c.row + c.old.len(), c.new.iter().cloned());
        self.version += 1;
        self.cursor = self.clamp(c.after);
        self.anchor = None;
        self.undo.push(c);
        true
    }

    fn selected_text(&self) -> Option<String> {
        let ((r0, c0), (r1, c1)) = self.selection()?;
        let mut out = String::new();
        for row in r0..=r1 {
            let line = &self.lines[row];
            let from = if row == r0 { byte_at(line, c0) } else { 0 };
            let to = if row == r1 {
                byte_at(line, c1)
            } else {
                line.len()
            };
            out.push_str(&line[from..to]);
            if row < r1 {
                out.push('\n');
            }
        }
        Some(out)
    }

    /// Runs a command bound in the keymap's `[editor]`; true when the text changed.
    pub fn command(&mut self, command: Command) -> bool {
        let version = self.version;
        match command {
            Command::Undo => {
                self.undo();
            }
            Command::Redo => {
                self.redo();
            }
            Command::SelectAll => {
                let end = self.lines.len() - 1;
                self.anchor = Some((0, 0));
                self.cursor = (end, char_len(&self.lines[end]));
            }
            Command::Copy => {
                if let Some(t) = self.selected_text() {
                    self.clipboard = t;
                }
            }
            Command::Cut => {
                if let Some(t) = self.selected_text() {
                    self.clipboard = t;
                    self.delete_selection_or(|e| e.cursor);
                }
            }
            Command::Paste => {
                let text = self.clipboard.clone();
                self.insert_str(&text);
            }
        }
        self.version != version
    }

    /// Handles a typing or moving key (the commands come through `command`); true when the
    /// text changed.
    pub fn input(&mut self, key: Key) -> bool {
        let ctrl = key.mods.contains(KeyModifiers::CONTROL);
        let shift = key.mods.contains(KeyModifiers::SHIFT);
        let version = self.version;
        match key.code {
            KeyCode::Char(c) if !ctrl && !key.mods.contains(KeyModifiers::ALT) => self.type_char(c),
            KeyCode::Char('w') if ctrl => self.delete_selection_or(|e| e.word_left(e.cursor)),
            KeyCode::Enter => self.insert_str("\n"),
            KeyCode::Tab => self.insert_str("    "),
            KeyCode::Backspace if ctrl => self.delete_selection_or(|e| e.word_left(e.cursor)),
            KeyCode::Backspace => self.delete_selection_or(|e| e.left(e.cursor)),
            KeyCode::Delete => {
                if let Some((s, e)) = self.selection() {
                    self.replace(s, e, "", false);
                } else {
                    let to = self.right(self.cursor);
                    if to != self.cursor {
                        self.replace(self.cursor, to, "", false);
                    }
                }
            }
            KeyCode::Left if ctrl => self.go(self.word_left(self.cursor), shift, false),
            KeyCode::Right if ctrl => self.go(self.word_right(self.cursor), shift, false),
            KeyCode::Left => self.go(self.left(self.cursor), shift, false),
            KeyCode::Right => self.go(self.right(self.cursor), shift, false),
            KeyCode::Up => {
                let to = self.vertical(-1);
                self.go(to, shift, true)
            }
            KeyCode::Down => {
                let to = self.vertical(1);
                self.go(to, shift, true)
            }
            KeyCode::PageUp => {
                let to = self.vertical(-(PAGE as isize));
                self.go(to, shift, true)
            }
            KeyCode::PageDown => {
                let to = self.vertical(PAGE as isize);
                self.go(to, shift, true)
            }
            KeyCode::Home if ctrl => self.go((0, 0), shift, false),
            KeyCode::End if ctrl => {
                let end = self.lines.len() - 1;
                self.go((end, char_len(&self.lines[end])), shift, false)
            }
            KeyCode::Home => self.go((self.cursor.0, 0), shift, false),
            KeyCode::End => {
                let end = char_len(&self.lines[self.cursor.0]);
                self.go((self.cursor.0, end), shift, false)
            }
            _ => {}
        }
        self.version != version
    }
}

#[cfg(test)]
mod tests;
