//! Display width: how many terminal columns text takes. A Thai name has combining
//! vowel and tone marks that take none (`ใจดี` is 4 characters, 3 columns), a Chinese
//! or Japanese character takes two (`王小明` is 3 characters, 6 columns), so counting
//! characters misaligns columns and overflows lines. Text is cut only between grapheme
//! clusters (a base character with its marks), measured as ratatui measures it.

use unicode_segmentation::UnicodeSegmentation;
use unicode_width::UnicodeWidthStr;

/// Columns `text` takes in a terminal.
pub fn width(text: &str) -> usize {
    text.graphemes(true).map(UnicodeWidthStr::width).sum()
}

/// `text` cut to at most `max` columns, the cut marked with `…` (which takes one).
pub fn fit(text: &str, max: usize) -> String {
    if width(text) <= max {
        return text.to_string();
    }
    if max == 0 {
        return String::new();
    }
    let mut out = String::new();
    let mut used = 0;
    for g in text.graphemes(true) {
        let w = g.width();
        if used + w > max - 1 {
            break;
        }
        out.push_str(g);
        used += w;
    }
    out.push('…');
    out
}

/// `text` in exactly `cols` columns: cut as [`fit`] does, then filled with spaces on
/// the right (what `{:<N}` does for ASCII).
pub fn pad(text: &str, cols: usize) -> String {
    let mut out = fit(text, cols);
    let w = width(&out);
    out.extend(std::iter::repeat_n(' ', cols.saturating_sub(w)));
    out
}

/// The end of `text` that fits in `max` columns (an input line shows what was typed
/// last).
pub fn tail(text: &str, max: usize) -> &str {
    let mut used = 0;
    let mut start = text.len();
    for (i, g) in text.grapheme_indices(true).rev() {
        used += g.width();
        if used > max {
            break;
        }
        start = i;
    }
    &text[start..]
}

/// `text` in lines of at most `cols` columns, broken between grapheme clusters (a wide
/// character that would straddle the edge starts the next line). Empty text is one
/// empty line.
pub fn wrap(text: &str, cols: usize) -> Vec<String> {
    let cols = cols.max(2);
    let mut lines = vec![String::new()];
    let mut used = 0;
    for g in text.graphemes(true) {
        let w = g.width();
        if used + w > cols {
            lines.push(String::new());
            used = 0;
        }
        lines.last_mut().expect("one line at least").push_str(g);
        used += w;
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    const THAI: &str = "สมชาย ใจดี"; // 10 characters, 2 of them combining marks
    const CJK: &str = "王小明"; // 3 characters, 6 columns

    #[test]
    fn width_counts_columns_not_characters() {
        assert_eq!((THAI.chars().count(), width(THAI)), (10, 9));
        assert_eq!((CJK.chars().count(), width(CJK)), (3, 6));
        assert_eq!(width("ผัดกะเพรา"), 8);
        assert_eq!(width("Ann"), 3);
    }

    #[test]
    fn fit_cuts_on_grapheme_boundaries_within_the_width() {
        let cases: [(&str, usize, &str); 9] = [
            ("Ann", 3, "Ann"),
            ("Anna", 3, "An…"),
            (THAI, 9, THAI),
            // ใจดี: ด keeps its ี; the cut never leaves a mark without its base.
            (THAI, 8, "สมชาย ใ…"),
            ("ดีดีดี", 2, "ดี…"),
            (CJK, 6, CJK),
            (CJK, 5, "王小…"),
            // A wide character that does not fit leaves a column free.
            (CJK, 4, "王…"),
            (CJK, 0, ""),
        ];
        for (text, max, want) in cases {
            let got = fit(text, max);
            assert_eq!(got, want, "fit({text:?}, {max})");
            assert!(width(&got) <= max, "fit({text:?}, {max}) = {got:?}");
        }
        assert_eq!(fit("ดีดีดี", 2).width(), 2);
    }

    #[test]
    fn pad_fills_to_exactly_the_columns() {
        for text in ["Ann", THAI, CJK, "ผัดกะเพราไก่ไข่ดาว", "王小明王小明王小明"]
        {
            for cols in [0, 1, 5, 9, 16] {
                assert_eq!(width(&pad(text, cols)), cols, "pad({text:?}, {cols})");
            }
        }
        assert_eq!(pad(CJK, 8), "王小明  ");
    }

    #[test]
    fn tail_and_wrap_keep_clusters_whole() {
        assert_eq!(tail("hello", 3), "llo");
        assert_eq!(tail(CJK, 5), "小明");
        assert_eq!(tail("ใจดี", 1), "ดี");
        assert_eq!(tail("", 4), "");
        assert_eq!(wrap("abcdef", 4), ["abcd", "ef"]);
        assert_eq!(wrap(CJK, 5), ["王小", "明"]);
        assert_eq!(wrap("ใจดีใจดี", 3), ["ใจดี", "ใจดี"]);
        assert_eq!(wrap("", 4), [""]);
        for line in wrap("ผัดกะเพรา 王小明 ok", 5) {
            assert!(width(&line) <= 5, "{line:?}");
        }
    }
}
