//! Line table of a document: go-yaml (line, column) to [`Pos`] the way the reference computes it.

use std::collections::HashMap;

use crate::pos::Pos;
use crate::width;

/// One line of the document, split on `\n` like the reference does.
#[derive(Clone, Copy, Debug)]
struct Line {
    offset: u32,
    len: u32,
    ascii: bool,
}

/// Position lookups over one document text.
pub(crate) struct SourceIndex<'t> {
    text: &'t str,
    lines: Vec<Line>,
    /// Byte offset of each character (saphyr's markers count characters);
    /// `None` when the text is ASCII and offsets are the identity.
    char_bytes: Option<Vec<u32>>,
    /// Per non-ASCII line: `(column before cluster, byte offset before cluster)`
    /// for each cluster boundary, end included. Built on first use.
    column_tables: HashMap<usize, Vec<(u32, u32)>>,
}

impl<'t> SourceIndex<'t> {
    /// Indexes `text` (at most `u32::MAX` bytes: the caller enforces a far smaller limit).
    pub(crate) fn new(text: &'t str) -> Self {
        let mut lines = Vec::new();
        let mut offset = 0usize;
        for line in text.split('\n') {
            lines.push(Line {
                offset: to_u32(offset),
                len: to_u32(line.len()),
                ascii: line.is_ascii(),
            });
            offset += line.len() + 1;
        }
        let char_bytes = if text.is_ascii() {
            None
        } else {
            let mut table: Vec<u32> = text.char_indices().map(|(i, _)| to_u32(i)).collect();
            table.push(to_u32(text.len()));
            Some(table)
        };
        Self {
            text,
            lines,
            char_bytes,
            column_tables: HashMap::new(),
        }
    }

    /// The document text.
    pub(crate) fn text(&self) -> &'t str {
        self.text
    }

    /// Byte offset of the character with index `char_index` (clamped to the text).
    pub(crate) fn byte_of_char(&self, char_index: usize) -> usize {
        match &self.char_bytes {
            None => char_index.min(self.text.len()),
            Some(table) => table
                .get(char_index)
                .map_or(self.text.len(), |&b| b as usize),
        }
    }

    /// go-yaml style (1-based line, 1-based character column) of a byte offset.
    pub(crate) fn line_column_of_byte(&self, byte: usize) -> (u32, u32) {
        let byte = byte.min(self.text.len());
        let line_idx = self
            .lines
            .partition_point(|l| l.offset as usize <= byte)
            .saturating_sub(1);
        let line_start = self.lines.get(line_idx).map_or(0, |l| l.offset as usize);
        let column = self
            .text
            .get(line_start..byte)
            .map_or(0, |s| s.chars().count());
        (to_u32(line_idx + 1), to_u32(column + 1))
    }

    /// The reference's position for a go-yaml (line, column): byte = line
    /// offset + column - 1 on ASCII lines; on other lines the column is
    /// walked over grapheme clusters by display width. *Quirk:* a line
    /// number at or past the number of `\n`-separated lines (the last line of
    /// a text without a trailing newline) gets byte 0.
    pub(crate) fn pos(&mut self, line: u32, column: u32) -> Pos {
        let idx = line as usize;
        if idx == 0 || idx >= self.lines.len() {
            return Pos {
                line,
                column,
                byte: 0,
            };
        }
        let info = self.lines[idx - 1];
        if info.ascii {
            let byte = info.offset.saturating_add(column.saturating_sub(1));
            return Pos { line, column, byte };
        }
        let text = self.text;
        let table = self.column_tables.entry(idx - 1).or_insert_with(|| {
            let start = info.offset as usize;
            let line_text = text.get(start..start + info.len as usize).unwrap_or("");
            let mut table = Vec::new();
            let (mut col, mut byte) = (1u32, info.offset);
            for (len, width) in width::clusters(line_text) {
                table.push((col, byte));
                col = col.saturating_add(width);
                byte = byte.saturating_add(to_u32(len));
            }
            table.push((col, byte));
            table
        });
        // The reference stops at the first cluster boundary whose column reaches `column`.
        let at = table.partition_point(|&(c, _)| c < column);
        let byte = table
            .get(at)
            .or(table.last())
            .map_or(info.offset, |&(_, b)| b);
        Pos { line, column, byte }
    }
}

/// Offsets are bounded by the document size limit, far below `u32::MAX`.
fn to_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ascii_lines_and_last_line_quirk() {
        let mut index = SourceIndex::new("ab: c\nd: e");
        assert_eq!(
            index.pos(1, 5),
            Pos {
                line: 1,
                column: 5,
                byte: 4
            }
        );
        // last line without trailing newline: byte 0
        assert_eq!(
            index.pos(2, 4),
            Pos {
                line: 2,
                column: 4,
                byte: 0
            }
        );
        let mut index = SourceIndex::new("ab: c\nd: e\n");
        assert_eq!(
            index.pos(2, 4),
            Pos {
                line: 2,
                column: 4,
                byte: 9
            }
        );
    }

    #[test]
    fn non_ascii_columns_walk_display_width() {
        // "日: x": '日' is 3 bytes wide 2; go-yaml puts 'x' at character column 4.
        let mut index = SourceIndex::new("日: x\n");
        // column 4 reached after "日" (col 3) and ":" (col 4): byte 4
        assert_eq!(index.pos(1, 4).byte, 4);
        assert_eq!(index.pos(1, 1).byte, 0);
        // column 2 falls inside the wide character: the walk passes it
        assert_eq!(index.pos(1, 2).byte, 3);
        // past the end of the line: the line end
        assert_eq!(index.pos(1, 40).byte, 6);
    }

    #[test]
    fn char_and_byte_offsets() {
        let index = SourceIndex::new("é: ü\nx");
        assert_eq!(index.byte_of_char(3), 4);
        assert_eq!(index.byte_of_char(99), 8);
        assert_eq!(index.line_column_of_byte(4), (1, 4));
        assert_eq!(index.line_column_of_byte(7), (2, 1));
    }
}
