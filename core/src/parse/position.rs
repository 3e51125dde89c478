//! Byte offsets → 1-based line and column. Columns count Unicode scalar values (what
//! most editors show), not bytes, so an error in a line with accents still points at
//! the right character.

/// A 1-based line and column in the whole file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pos {
    /// 1-based line.
    pub line: u32,
    /// 1-based column, in characters.
    pub column: u32,
}

impl Pos {
    /// A position at `line`, `column`.
    pub fn new(line: u32, column: u32) -> Pos {
        Pos { line, column }
    }
}

/// Saturating conversion: files are capped far below `u32::MAX` lines, but never panic.
pub fn to_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// Line and column of byte `offset` in `bytes` (clamped to the end). Works on bytes that
/// are not valid UTF-8 too: the column counts UTF-8 lead bytes, so it is the character
/// column for the valid prefix.
pub fn pos_of_offset(bytes: &[u8], offset: usize) -> Pos {
    let offset = offset.min(bytes.len());
    let before = &bytes[..offset];
    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
    let line_start = before
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |i| i + 1);
    let column = before[line_start..]
        .iter()
        .filter(|&&b| (b & 0xC0) != 0x80)
        .count()
        + 1;
    Pos::new(to_u32(line), to_u32(column))
}

/// Converts a 1-based (line, byte column) as serde_json reports it into a character
/// column on that line of `text`.
pub fn char_column(text: &str, line: usize, byte_column: usize) -> u32 {
    let Some(line_text) = text.split('\n').nth(line.saturating_sub(1)) else {
        return to_u32(byte_column);
    };
    let bytes = line_text.as_bytes();
    let upto = byte_column.saturating_sub(1).min(bytes.len());
    let chars = bytes[..upto]
        .iter()
        .filter(|&&b| (b & 0xC0) != 0x80)
        .count();
    to_u32(chars + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_map_to_lines_and_char_columns() {
        let s = "ab\ncé d\n";
        assert_eq!(pos_of_offset(s.as_bytes(), 0), Pos::new(1, 1));
        assert_eq!(pos_of_offset(s.as_bytes(), 3), Pos::new(2, 1));
        // 'd' is byte 7 (c=3, é=4..6, ' '=6) → column 4.
        assert_eq!(pos_of_offset(s.as_bytes(), 7), Pos::new(2, 4));
        assert_eq!(pos_of_offset(s.as_bytes(), 999), Pos::new(3, 1));
    }

    #[test]
    fn byte_columns_become_char_columns() {
        let s = "x\n\"é\": 1";
        // serde_json would report the ':' at byte column 5 of line 2 → char column 4.
        assert_eq!(char_column(s, 2, 5), 4);
        assert_eq!(char_column(s, 9, 5), 5);
    }
}
