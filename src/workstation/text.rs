//! Text measured as a terminal draws it: in display cells (a CJK character takes two, a
//! combining accent none) and cut only between graphemes, so `山田 太郎` and `José` (with a
//! combining accent) line up with `John Smith` and are never cut through a letter.

use unicode_segmentation::UnicodeSegmentation;
use unicode_width::UnicodeWidthStr;

/// The cells `s` takes on screen.
pub fn width(s: &str) -> usize {
    UnicodeWidthStr::width(s)
}

/// The user-perceived characters in `s` (a letter and its combining accent are one).
pub fn graphemes(s: &str) -> usize {
    s.graphemes(true).count()
}

/// `s` cut to at most `cells` cells, between graphemes, marking a cut with `…`.
pub fn fit(s: &str, cells: usize) -> String {
    if width(s) <= cells {
        return s.to_string();
    }
    if cells == 0 {
        return String::new();
    }
    let mut out = String::new();
    let mut used = 0;
    for g in s.graphemes(true) {
        let w = width(g);
        if used + w > cells - 1 {
            break;
        }
        out.push_str(g);
        used += w;
    }
    out.push('…');
    out
}

/// `s` padded or cut to exactly `cells` cells.
pub fn cell(s: &str, cells: usize) -> String {
    let mut out = fit(s, cells);
    let pad = cells.saturating_sub(width(&out));
    out.extend(std::iter::repeat_n(' ', pad));
    out
}

/// The first `cells` cells of `s` (no mark), between graphemes.
pub fn take(s: &str, cells: usize) -> &str {
    let mut used = 0;
    for (at, g) in s.grapheme_indices(true) {
        let w = width(g);
        if used + w > cells {
            return &s[..at];
        }
        used += w;
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wide_and_combining_characters_take_their_real_cells() {
        assert_eq!(width("山田 太郎"), 9);
        // `e` + U+0301 COMBINING ACUTE ACCENT: five chars, four cells, four letters.
        let jose = "Jose\u{301}";
        assert_eq!(
            (jose.chars().count(), width(jose), graphemes(jose)),
            (5, 4, 4)
        );
        assert_eq!(cell(jose, 6), "Jose\u{301}  ");
        assert_eq!(width(&cell("山田 太郎", 12)), 12);
        // Cut: never half a wide character, never a letter without its accent.
        assert_eq!(fit("山田太郎", 5), "山田…");
        // Half a wide character is never drawn: one cell short rather than one too many.
        assert_eq!(fit("山田太郎", 6), "山田…");
        assert_eq!(fit("Jose\u{301} Garcia", 5), "Jose\u{301}…");
        assert_eq!(fit("Renée", 4), "Ren…");
        assert_eq!(take("山田太郎", 3), "山");
        assert_eq!(take("Jose\u{301}", 4), "Jose\u{301}");
        assert_eq!(cell("", 0), "");
        assert_eq!(fit("abc", 0), "");
    }
}
