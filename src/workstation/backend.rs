//! A crossterm backend that writes nothing when nothing changed. ratatui hides or shows and
//! places the cursor on every frame; over a slow link those bytes add up and an idle screen
//! should send none. This remembers what the terminal already has and skips repeats.

use std::io::Write;

use ratatui::backend::{Backend, ClearType, CrosstermBackend, WindowSize};
use ratatui::buffer::Cell;
use ratatui::layout::{Position, Size};

pub struct QuietBackend<W: Write> {
    inner: CrosstermBackend<W>,
    cursor_visible: Option<bool>,
    cursor_at: Option<Position>,
}

impl<W: Write> QuietBackend<W> {
    /// `cursor_visible`: what the terminal shows now (hidden after `terminal::enter`).
    pub fn new(writer: W, cursor_visible: Option<bool>) -> QuietBackend<W> {
        QuietBackend {
            inner: CrosstermBackend::new(writer),
            cursor_visible,
            cursor_at: None,
        }
    }
}

impl<W: Write> Backend for QuietBackend<W> {
    type Error = std::io::Error;

    fn draw<'a, I>(&mut self, content: I) -> std::io::Result<()>
    where
        I: Iterator<Item = (u16, u16, &'a Cell)>,
    {
        let mut content = content.peekable();
        if content.peek().is_some() {
            // Writing cells moves the terminal's cursor.
            self.cursor_at = None;
            self.inner.draw(content)?;
        }
        Ok(())
    }

    fn append_lines(&mut self, n: u16) -> std::io::Result<()> {
        self.cursor_at = None;
        self.inner.append_lines(n)
    }

    fn hide_cursor(&mut self) -> std::io::Result<()> {
        if self.cursor_visible != Some(false) {
            self.inner.hide_cursor()?;
            self.cursor_visible = Some(false);
        }
        Ok(())
    }

    fn show_cursor(&mut self) -> std::io::Result<()> {
        if self.cursor_visible != Some(true) {
            self.inner.show_cursor()?;
            self.cursor_visible = Some(true);
        }
        Ok(())
    }

    fn get_cursor_position(&mut self) -> std::io::Result<Position> {
        self.inner.get_cursor_position()
    }

    fn set_cursor_position<P: Into<Position>>(&mut self, position: P) -> std::io::Result<()> {
        let position = position.into();
        if self.cursor_at != Some(position) {
            self.inner.set_cursor_position(position)?;
            self.cursor_at = Some(position);
        }
        Ok(())
    }

    fn clear(&mut self) -> std::io::Result<()> {
        self.cursor_at = None;
        self.inner.clear()
    }

    fn clear_region(&mut self, clear_type: ClearType) -> std::io::Result<()> {
        self.cursor_at = None;
        self.inner.clear_region(clear_type)
    }

    fn size(&self) -> std::io::Result<Size> {
        self.inner.size()
    }

    fn window_size(&mut self) -> std::io::Result<WindowSize> {
        self.inner.window_size()
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Backend::flush(&mut self.inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui::layout::Rect;
    use ratatui::widgets::Paragraph;
    use ratatui::{Terminal, TerminalOptions, Viewport};
    use std::sync::{Arc, Mutex};

    #[derive(Clone, Default)]
    struct Shared(Arc<Mutex<Vec<u8>>>);
    impl Write for Shared {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn an_unchanged_frame_writes_nothing() {
        let out = Shared::default();
        let backend = QuietBackend::new(out.clone(), Some(false));
        let options = TerminalOptions {
            viewport: Viewport::Fixed(Rect::new(0, 0, 20, 3)),
        };
        let mut t = Terminal::with_options(backend, options).unwrap();
        for with_cursor in [false, true] {
            let draw = |t: &mut Terminal<QuietBackend<Shared>>| {
                t.draw(|f| {
                    f.render_widget(Paragraph::new("hello"), f.area());
                    if with_cursor {
                        f.set_cursor_position((5, 0));
                    }
                })
                .unwrap();
            };
            draw(&mut t);
            let before = out.0.lock().unwrap().len();
            draw(&mut t);
            assert_eq!(out.0.lock().unwrap().len(), before, "cursor {with_cursor}");
        }
    }
}
