//! Soft wrap for the note editor, computed only for the lines on screen: a 5,000-line note
//! costs what a screenful does. Words move whole to the next row; a word longer than a row is
//! cut at the row's end.

/// The character ranges `[start, end)` of `line` shown on each screen row of `width`
/// display cells (a CJK character takes two, a combining accent none and stays with its
/// letter).
pub fn rows(line: &str, width: usize) -> Vec<(usize, usize)> {
    use unicode_width::UnicodeWidthChar;
    let width = width.max(2);
    let chars: Vec<char> = line.chars().collect();
    let cells: Vec<usize> = chars.iter().map(|c| c.width().unwrap_or(0)).collect();
    if cells.iter().sum::<usize>() <= width {
        return vec![(0, chars.len())];
    }
    let mut out = Vec::new();
    let mut start = 0;
    loop {
        // The first character past the row: where the row's cells run out.
        let mut used = 0;
        let mut limit = start;
        while limit < chars.len() && used + cells[limit] <= width {
            used += cells[limit];
            limit += 1;
        }
        // Zero-width marks after the last letter belong to it.
        while limit < chars.len() && cells[limit] == 0 {
            limit += 1;
        }
        if limit >= chars.len() {
            break;
        }
        // Break after the last space that fits; else cut the word.
        let end = (start + 1..=limit)
            .rev()
            .find(|&i| chars[i - 1] == ' ')
            .unwrap_or(limit)
            .max(start + 1);
        out.push((start, end));
        start = end;
    }
    out.push((start, chars.len()));
    out
}

/// The screen row, within `line`'s rows, that holds character `col` (the cursor).
pub fn row_of(rows: &[(usize, usize)], col: usize) -> usize {
    rows.iter()
        .position(|&(s, e)| col >= s && col < e)
        .unwrap_or(rows.len().saturating_sub(1))
}

/// The first line to show so that line `cursor` (at character `col`) is on screen, starting
/// from the previous `top`.
pub fn follow(
    lines: &[String],
    top: usize,
    cursor: usize,
    col: usize,
    width: usize,
    height: usize,
) -> usize {
    let height = height.max(1);
    if cursor < top {
        return cursor;
    }
    // Rows from `top` down to the cursor's row, counted only as far as the screen needs.
    let mut used = 0;
    let mut first = top;
    for (i, line) in lines.iter().enumerate().take(cursor + 1).skip(top) {
        let r = rows(line, width);
        used += if i == cursor {
            row_of(&r, col) + 1
        } else {
            r.len()
        };
    }
    while used > height && first < cursor {
        used -= rows(&lines[first], width).len();
        first += 1;
    }
    first
}

/// Word-wraps `text` to `width` columns.
pub fn words(text: &str, width: usize) -> Vec<String> {
    let width = width.max(10);
    let mut out = Vec::new();
    for para in text.split('\n') {
        let mut line = String::new();
        for word in para.split(' ') {
            let need = crate::workstation::text::width(&line)
                + crate::workstation::text::width(word)
                + usize::from(!line.is_empty());
            if need > width && !line.is_empty() {
                out.push(std::mem::take(&mut line));
            }
            if !line.is_empty() {
                line.push(' ');
            }
            line.push_str(word);
            while crate::workstation::text::width(&line) > width {
                let head = crate::workstation::text::take(&line, width).to_string();
                if head.is_empty() {
                    // One grapheme wider than the line: it goes on a line of its own.
                    break;
                }
                line = line[head.len()..].to_string();
                out.push(head);
            }
        }
        out.push(line);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wraps_at_spaces_and_cuts_long_words() {
        assert_eq!(rows("short", 10), vec![(0, 5)]);
        assert_eq!(rows("hello big world", 10), vec![(0, 10), (10, 15)]);
        assert_eq!(rows("abcdefghijkl", 5), vec![(0, 5), (5, 10), (10, 12)]);
        assert_eq!(rows("", 5), vec![(0, 0)]);
        // Unicode: characters, not bytes.
        assert_eq!(rows("ééééé ééé", 6), vec![(0, 6), (6, 9)]);
        assert_eq!(row_of(&rows("hello big world", 10), 12), 1);
        assert_eq!(row_of(&rows("hello", 10), 5), 0);
        // Display cells: a CJK character takes two; an accent stays with its letter.
        assert_eq!(rows("山田太郎", 5), vec![(0, 2), (2, 4)]);
        assert_eq!(rows("山田太郎", 8), vec![(0, 4)]);
        assert_eq!(rows("Jose\u{301}xyz", 4), vec![(0, 5), (5, 8)]);
    }

    #[test]
    fn follow_keeps_the_cursor_on_screen() {
        let lines: Vec<String> = (0..100).map(|i| format!("line {i}")).collect();
        assert_eq!(follow(&lines, 0, 5, 0, 20, 10), 0);
        assert_eq!(follow(&lines, 0, 15, 0, 20, 10), 6);
        assert_eq!(follow(&lines, 50, 10, 0, 20, 10), 10);
        let long = vec!["word ".repeat(20), "x".into()];
        // The first line takes 5 rows at width 20; the cursor on line 1 needs both in 6 rows.
        assert_eq!(follow(&long, 0, 1, 0, 20, 6), 0);
        assert_eq!(follow(&long, 0, 1, 0, 20, 3), 1);
    }
}
