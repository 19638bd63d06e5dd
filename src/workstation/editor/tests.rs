use super::*;

/// Keys as the note pane gives them: the default keymap's `[editor]` commands, the rest
/// typed.
fn keys(e: &mut Editor, seq: &str) {
    let keymap = crate::workstation::keymap::Keymap::default_keymap();
    let context = crate::workstation::keymap::Context::Editor;
    for k in crate::workstation::headless::parse_sequence(seq).unwrap() {
        match keymap.lookup_local(context, k).and_then(Command::of) {
            Some(command) => e.command(command),
            None => e.input(k),
        };
    }
}

#[test]
fn typing_newlines_and_backspace() {
    let mut e = Editor::new("");
    keys(&mut e, "hello<enter>world<backspace><backspace>");
    assert_eq!(e.lines(), ["hello", "wor"]);
    keys(&mut e, "<home><backspace>");
    assert_eq!(e.lines(), ["hellowor"]);
    assert_eq!(e.cursor(), (0, 5));
}

#[test]
fn word_and_line_motions() {
    let mut e = Editor::new("one two  three\nfour");
    keys(&mut e, "<ctrl-right>");
    assert_eq!(e.cursor(), (0, 4));
    keys(&mut e, "<ctrl-right>");
    assert_eq!(e.cursor(), (0, 9));
    keys(&mut e, "<end><ctrl-left>");
    assert_eq!(e.cursor(), (0, 9));
    keys(&mut e, "<down>");
    assert_eq!(e.cursor(), (1, 4), "down keeps the column it can");
    keys(&mut e, "<up>");
    assert_eq!(e.cursor(), (0, 9), "and returns to the goal column");
    keys(&mut e, "<ctrl-end>");
    assert_eq!(e.cursor(), (1, 4));
    keys(&mut e, "<ctrl-home>");
    assert_eq!(e.cursor(), (0, 0));
}

#[test]
fn undo_redo_group_typing() {
    let mut e = Editor::new("");
    keys(&mut e, "abc def");
    assert_eq!(e.lines(), ["abc def"]);
    keys(&mut e, "<ctrl-z>");
    assert_eq!(e.lines(), ["abc "], "the last word is one step");
    keys(&mut e, "<ctrl-z><ctrl-z>");
    assert_eq!(e.lines(), [""]);
    keys(&mut e, "<ctrl-y><ctrl-y><ctrl-y>");
    assert_eq!(e.lines(), ["abc def"]);
    keys(&mut e, "<enter>x<ctrl-z><ctrl-z>");
    assert_eq!(e.lines(), ["abc def"]);
}

#[test]
fn select_cut_copy_paste() {
    let mut e = Editor::new("alpha beta\ngamma");
    keys(
        &mut e,
        "<shift-right><shift-right><shift-right><shift-right><shift-right>",
    );
    assert_eq!(e.selection(), Some(((0, 0), (0, 5))));
    keys(&mut e, "<ctrl-x>");
    assert_eq!(e.lines(), [" beta", "gamma"]);
    keys(&mut e, "<ctrl-end><ctrl-v>");
    assert_eq!(e.lines(), [" beta", "gammaalpha"]);
    keys(&mut e, "<ctrl-a><ctrl-c><ctrl-end><enter><ctrl-v>");
    assert_eq!(e.lines(), [" beta", "gammaalpha", " beta", "gammaalpha"]);
    // Typing over a selection replaces it, across lines.
    keys(&mut e, "<ctrl-a>z");
    assert_eq!(e.lines(), ["z"]);
    keys(&mut e, "<ctrl-z>");
    assert_eq!(e.lines().len(), 4);
}

#[test]
fn unicode_is_characters_not_bytes() {
    let mut e = Editor::new("Zoë 日本");
    keys(&mut e, "<end><backspace><left><left>é");
    assert_eq!(e.lines(), ["Zoëé 日"]);
    assert_eq!(e.cursor(), (0, 4));
    keys(&mut e, "<ctrl-w>");
    assert_eq!(e.lines(), [" 日"]);
    e.jump((0, 99));
    assert_eq!(e.cursor(), (0, 2));
    e.delete_before(1);
    assert_eq!(e.lines(), [" "]);
}

#[test]
fn an_edit_in_a_long_note_touches_only_its_line() {
    let text: Vec<String> = (0..5000).map(|i| format!("line {i}")).collect();
    let mut e = Editor::new(&text.join("\n"));
    e.jump((2500, 4));
    keys(&mut e, "X");
    assert_eq!(e.lines()[2500], "lineX 2500");
    assert_eq!(e.undo.last().unwrap().old.len(), 1);
    keys(&mut e, "<ctrl-z>");
    assert_eq!(e.lines()[2500], "line 2500");
}
