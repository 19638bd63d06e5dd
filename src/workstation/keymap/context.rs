//! Where a key is pressed: each context has its own bindings and falls back to its parent.

use crate::workstation::action::Action;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Context {
    Global,
    Search,
    /// The chart screen, whatever pane has focus (the detail pane, the summary, the trend).
    Chart,
    /// The chart's timeline list when it has focus; falls back to `chart`, then `global`.
    Timeline,
    /// The note pane's command mode (in editing mode keys go to the editor).
    Note,
    /// The orders pane's basket and active-order lists (in the composer, keys search).
    Orders,
    /// The vital-signs pane: its entry takes typed keys; these are the others.
    Vitals,
    /// The allergies-and-problems pane (in its form, letters type; these are the other keys).
    Lists,
    /// The registration form (letters type; these are the other keys).
    Register,
    /// A ward's census and its ward picker.
    Census,
    /// The results inbox.
    Inbox,
    /// My unsigned work (F7).
    Work,
    /// The support desk (F8).
    Support,
    /// Pop-ups: help, pickers, questions, the access log.
    Dialogs,
    /// Typing in the note (its line-editing keys, arrows, Home/End, Backspace, are fixed).
    Editor,
    /// Text fields: the sign-in and lock screens, prompts, order fields, the signature.
    Form,
    /// The outbox pop-up (falls back to `dialogs`).
    Outbox,
    /// The command palette: its input and list.
    Palette,
}

impl Context {
    pub const ALL: [Context; 18] = [
        Context::Global,
        Context::Search,
        Context::Chart,
        Context::Timeline,
        Context::Note,
        Context::Orders,
        Context::Vitals,
        Context::Lists,
        Context::Register,
        Context::Census,
        Context::Inbox,
        Context::Work,
        Context::Support,
        Context::Dialogs,
        Context::Editor,
        Context::Form,
        Context::Outbox,
        Context::Palette,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Context::Global => "global",
            Context::Search => "search",
            Context::Chart => "chart",
            Context::Timeline => "timeline",
            Context::Note => "note",
            Context::Orders => "orders",
            Context::Vitals => "vitals",
            Context::Lists => "lists",
            Context::Register => "register",
            Context::Census => "census",
            Context::Inbox => "inbox",
            Context::Work => "work",
            Context::Support => "support",
            Context::Dialogs => "dialogs",
            Context::Editor => "editor",
            Context::Form => "form",
            Context::Outbox => "outbox",
            Context::Palette => "palette",
        }
    }

    /// `[dialog]` is the name keymaps used before `[dialogs]`; it still works.
    pub fn from_name(name: &str) -> Option<Context> {
        if name == "dialog" {
            return Some(Context::Dialogs);
        }
        Context::ALL.into_iter().find(|c| c.name() == name)
    }

    /// The context consulted when this one has no binding for a key.
    pub fn parent(self) -> Option<Context> {
        match self {
            // Text fields take every key they do not bind: no fallback.
            Context::Global | Context::Editor | Context::Form | Context::Palette => None,
            Context::Timeline => Some(Context::Chart),
            Context::Outbox => Some(Context::Dialogs),
            _ => Some(Context::Global),
        }
    }

    /// This context and those it falls back to, most specific first.
    pub fn chain(self) -> Vec<Context> {
        let mut chain = vec![self];
        let mut c = self;
        while let Some(p) = c.parent() {
            chain.push(p);
            c = p;
        }
        chain
    }

    /// Actions that leave this context: one must be reachable, or the user is stuck.
    pub(super) fn exits(self) -> &'static [Action] {
        match self {
            Context::Global => &[],
            Context::Search => &[Action::Quit],
            Context::Census | Context::Inbox | Context::Work | Context::Support => {
                &[Action::Back, Action::SearchPatients, Action::Quit]
            }
            Context::Chart | Context::Timeline => &[
                Action::Back,
                Action::CloseChart,
                Action::SearchPatients,
                Action::Quit,
            ],
            Context::Note => &[Action::CloseNote, Action::Back, Action::SearchPatients],
            Context::Orders => &[Action::Back, Action::SearchPatients],
            Context::Vitals | Context::Lists | Context::Register => &[Action::Back],
            Context::Dialogs | Context::Editor => &[Action::Back],
            Context::Form | Context::Palette => &[Action::Submit, Action::Back],
            Context::Outbox => &[Action::Back, Action::ShowOutbox],
        }
    }
}
