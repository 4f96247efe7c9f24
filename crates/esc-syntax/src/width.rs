//! Display width of grapheme clusters, the way the reference (Go `uniseg`) counts columns.
//!
//! The reference maps a go-yaml column to a byte offset on non-ASCII lines by
//! walking grapheme clusters and adding their display widths, and shifts
//! accessor columns by the display width of the preceding bytes. This module
//! approximates `uniseg` with a small table: East Asian wide/fullwidth and
//! emoji count 2, combining marks, joiners, variation selectors and control
//! characters count 0, everything else 1. Clusters are a base character plus
//! following extenders (combining marks, ZWJ sequences, variation selectors,
//! emoji modifiers, Hangul vowels/finals, regional-indicator pairs, CR LF).

/// Iterates over the grapheme clusters of `text` as `(byte length, display width)`.
pub(crate) fn clusters(text: &str) -> Clusters<'_> {
    Clusters { rest: text }
}

/// Display width of `bytes`, which may start or end in the middle of a UTF-8
/// sequence (accessor offsets are byte offsets): each invalid byte counts 1.
pub(crate) fn bytes_width(bytes: &[u8]) -> u32 {
    let mut width = 0u32;
    for chunk in bytes.utf8_chunks() {
        width = width.saturating_add(str_width(chunk.valid()));
        width = width.saturating_add(u32::try_from(chunk.invalid().len()).unwrap_or(u32::MAX));
    }
    width
}

/// Display width of a string: the sum of its clusters' widths.
pub(crate) fn str_width(text: &str) -> u32 {
    if text.is_ascii() {
        // Control characters are zero-width in uniseg, tab included.
        let controls = text.bytes().filter(|b| b.is_ascii_control()).count();
        return u32::try_from(text.len() - controls).unwrap_or(u32::MAX);
    }
    clusters(text).fold(0u32, |acc, (_, w)| acc.saturating_add(w))
}

/// Iterator returned by [`clusters`].
pub(crate) struct Clusters<'a> {
    rest: &'a str,
}

impl Iterator for Clusters<'_> {
    type Item = (usize, u32);

    fn next(&mut self) -> Option<(usize, u32)> {
        let mut chars = self.rest.char_indices().peekable();
        let (_, first) = chars.next()?;
        let mut width = char_width(first);
        let mut len = first.len_utf8();
        if first == '\r' {
            if let Some(&(_, '\n')) = chars.peek() {
                len += 1;
            }
        } else if is_regional_indicator(first) {
            if let Some(&(_, c)) = chars.peek()
                && is_regional_indicator(c)
            {
                len += c.len_utf8();
                width = 2;
            }
        } else if !first.is_control() {
            while let Some(&(_, c)) = chars.peek() {
                if c == '\u{200D}' {
                    // Zero-width joiner: the joiner and the next character join the cluster.
                    chars.next();
                    len += c.len_utf8();
                    if let Some((_, joined)) = chars.next() {
                        len += joined.len_utf8();
                    }
                } else if c == '\u{FE0F}' {
                    chars.next();
                    len += c.len_utf8();
                    width = 2;
                } else if is_extender(c) {
                    chars.next();
                    len += c.len_utf8();
                } else {
                    break;
                }
            }
        }
        self.rest = &self.rest[len..];
        Some((len, width))
    }
}

fn is_regional_indicator(c: char) -> bool {
    ('\u{1F1E6}'..='\u{1F1FF}').contains(&c)
}

/// Characters that extend the preceding grapheme cluster.
fn is_extender(c: char) -> bool {
    in_table(c, ZERO_WIDTH)
        || in_table(c, SPACING_MARKS)
        || ('\u{1F3FB}'..='\u{1F3FF}').contains(&c)
}

/// Display width of one character in isolation.
fn char_width(c: char) -> u32 {
    if c.is_control() || in_table(c, ZERO_WIDTH) {
        0
    } else if in_table(c, WIDE) {
        2
    } else {
        1
    }
}

fn in_table(c: char, table: &[(u32, u32)]) -> bool {
    let c = c as u32;
    table
        .binary_search_by(|&(lo, hi)| {
            if hi < c {
                std::cmp::Ordering::Less
            } else if lo > c {
                std::cmp::Ordering::Greater
            } else {
                std::cmp::Ordering::Equal
            }
        })
        .is_ok()
}

/// Nonspacing/enclosing marks, joiners, format characters, variation
/// selectors, Hangul medial vowels and finals (sorted, disjoint).
const ZERO_WIDTH: &[(u32, u32)] = &[
    (0x0300, 0x036F),
    (0x0483, 0x0489),
    (0x0591, 0x05BD),
    (0x05BF, 0x05BF),
    (0x05C1, 0x05C2),
    (0x05C4, 0x05C5),
    (0x05C7, 0x05C7),
    (0x0610, 0x061A),
    (0x064B, 0x065F),
    (0x0670, 0x0670),
    (0x06D6, 0x06DC),
    (0x06DF, 0x06E4),
    (0x06E7, 0x06E8),
    (0x06EA, 0x06ED),
    (0x0711, 0x0711),
    (0x0730, 0x074A),
    (0x07A6, 0x07B0),
    (0x0900, 0x0902),
    (0x093A, 0x093A),
    (0x093C, 0x093C),
    (0x0941, 0x0948),
    (0x094D, 0x094D),
    (0x0951, 0x0957),
    (0x0962, 0x0963),
    (0x0981, 0x0981),
    (0x09BC, 0x09BC),
    (0x09C1, 0x09C4),
    (0x09CD, 0x09CD),
    (0x0A01, 0x0A02),
    (0x0A3C, 0x0A3C),
    (0x0A41, 0x0A51),
    (0x0A70, 0x0A71),
    (0x0B01, 0x0B01),
    (0x0BC0, 0x0BC0),
    (0x0BCD, 0x0BCD),
    (0x0C3E, 0x0C40),
    (0x0C46, 0x0C56),
    (0x0CBC, 0x0CBC),
    (0x0D41, 0x0D44),
    (0x0D4D, 0x0D4D),
    (0x0E31, 0x0E31),
    (0x0E34, 0x0E3A),
    (0x0E47, 0x0E4E),
    (0x0EB1, 0x0EB1),
    (0x0EB4, 0x0EBC),
    (0x0EC8, 0x0ECD),
    (0x0F18, 0x0F19),
    (0x0F71, 0x0F7E),
    (0x0F80, 0x0F84),
    (0x102D, 0x1030),
    (0x1160, 0x11FF),
    (0x135D, 0x135F),
    (0x17B4, 0x17B5),
    (0x17B7, 0x17BD),
    (0x180B, 0x180F),
    (0x1AB0, 0x1AFF),
    (0x1DC0, 0x1DFF),
    (0x200B, 0x200F),
    (0x202A, 0x202E),
    (0x2060, 0x2064),
    (0x20D0, 0x20FF),
    (0x302A, 0x302F),
    (0x3099, 0x309A),
    (0xD7B0, 0xD7FF),
    (0xFE00, 0xFE0F),
    (0xFE20, 0xFE2F),
    (0xFEFF, 0xFEFF),
    (0xE0000, 0xE0FFF),
];

/// Spacing combining marks of common scripts: they extend a cluster but
/// keep the cluster's width (sorted, disjoint).
const SPACING_MARKS: &[(u32, u32)] = &[
    (0x0903, 0x0903),
    (0x093B, 0x093B),
    (0x093E, 0x0940),
    (0x0949, 0x094C),
    (0x094E, 0x094F),
    (0x0982, 0x0983),
    (0x09BE, 0x09C0),
    (0x09C7, 0x09CC),
    (0x0A03, 0x0A03),
    (0x0A3E, 0x0A40),
    (0x0B02, 0x0B03),
    (0x0BBE, 0x0BBF),
    (0x0BC1, 0x0BCC),
    (0x0C01, 0x0C03),
    (0x0C41, 0x0C44),
    (0x0D02, 0x0D03),
    (0x0D3E, 0x0D40),
    (0x0D46, 0x0D4C),
];

/// East Asian wide and fullwidth characters and emoji with default emoji
/// presentation (sorted, disjoint).
const WIDE: &[(u32, u32)] = &[
    (0x1100, 0x115F),
    (0x231A, 0x231B),
    (0x2329, 0x232A),
    (0x23E9, 0x23EC),
    (0x23F0, 0x23F0),
    (0x23F3, 0x23F3),
    (0x25FD, 0x25FE),
    (0x2614, 0x2615),
    (0x2648, 0x2653),
    (0x267F, 0x267F),
    (0x2693, 0x2693),
    (0x26A1, 0x26A1),
    (0x26AA, 0x26AB),
    (0x26BD, 0x26BE),
    (0x26C4, 0x26C5),
    (0x26CE, 0x26CE),
    (0x26D4, 0x26D4),
    (0x26EA, 0x26EA),
    (0x26F2, 0x26F3),
    (0x26F5, 0x26F5),
    (0x26FA, 0x26FA),
    (0x26FD, 0x26FD),
    (0x2705, 0x2705),
    (0x270A, 0x270B),
    (0x2728, 0x2728),
    (0x274C, 0x274C),
    (0x274E, 0x274E),
    (0x2753, 0x2755),
    (0x2757, 0x2757),
    (0x2795, 0x2797),
    (0x27B0, 0x27B0),
    (0x27BF, 0x27BF),
    (0x2B1B, 0x2B1C),
    (0x2B50, 0x2B50),
    (0x2B55, 0x2B55),
    (0x2E80, 0x3029),
    (0x3030, 0x303E),
    (0x3041, 0x3098),
    (0x309B, 0x33FF),
    (0x3400, 0x4DBF),
    (0x4E00, 0x9FFF),
    (0xA000, 0xA4CF),
    (0xA960, 0xA97F),
    (0xAC00, 0xD7A3),
    (0xF900, 0xFAFF),
    (0xFE10, 0xFE19),
    (0xFE30, 0xFE6F),
    (0xFF00, 0xFF60),
    (0xFFE0, 0xFFE6),
    (0x16FE0, 0x16FE4),
    (0x17000, 0x18AFF),
    (0x1B000, 0x1B2FF),
    (0x1F004, 0x1F004),
    (0x1F0CF, 0x1F0CF),
    (0x1F18E, 0x1F18E),
    (0x1F191, 0x1F19A),
    (0x1F200, 0x1F251),
    (0x1F260, 0x1F265),
    (0x1F300, 0x1F3FA),
    (0x1F400, 0x1F64F),
    (0x1F680, 0x1F6FF),
    (0x1F7E0, 0x1F7EB),
    (0x1F90C, 0x1F9FF),
    (0x1FA70, 0x1FAFF),
    (0x20000, 0x2FFFD),
    (0x30000, 0x3FFFD),
];

#[cfg(test)]
mod tests {
    use super::*;

    fn widths(text: &str) -> Vec<(usize, u32)> {
        clusters(text).collect()
    }

    #[test]
    fn tables_are_sorted_and_disjoint() {
        for table in [ZERO_WIDTH, SPACING_MARKS, WIDE] {
            for pair in table.windows(2) {
                assert!(pair[0].0 <= pair[0].1 && pair[0].1 < pair[1].0, "{pair:?}");
            }
        }
    }

    #[test]
    fn clusters_and_widths() {
        assert_eq!(widths("aé"), vec![(1, 1), (2, 1)]);
        // e + combining acute is one cluster of width 1
        assert_eq!(widths("e\u{301}x"), vec![(3, 1), (1, 1)]);
        assert_eq!(widths("日本"), vec![(3, 2), (3, 2)]);
        assert_eq!(widths("😀"), vec![(4, 2)]);
        // family emoji joined with ZWJ is one cluster
        assert_eq!(widths("👨\u{200D}👩"), vec![(11, 2)]);
        // flag = two regional indicators
        assert_eq!(widths("🇫🇷"), vec![(8, 2)]);
        // heart + VS16 is wide
        assert_eq!(widths("❤\u{FE0F}"), vec![(6, 2)]);
        assert_eq!(widths("\r\n"), vec![(2, 0)]);
        assert_eq!(str_width("a\tb"), 2);
        assert_eq!(str_width("日本a"), 5);
    }

    #[test]
    fn bytes_width_counts_split_sequences() {
        // "à" is C3 A0: the first byte alone is an invalid sequence of width 1.
        assert_eq!(bytes_width(&"xà".as_bytes()[..2]), 2);
        assert_eq!(bytes_width("xà".as_bytes()), 2);
    }
}
