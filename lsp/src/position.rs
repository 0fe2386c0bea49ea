//! Positions: byte offsets in our files and the line/UTF-16 column pairs of LSP.
//!
//! Takes: a file's text and either a byte offset or an LSP position.
//! Gives: the other one. LSP counts columns in UTF-16 code units, iov in bytes.

use tower_lsp_server::lsp_types::{Position, Range};

pub fn position(text: &str, offset: usize) -> Position {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line = before.matches('\n').count();
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let character: usize = text[line_start..offset].chars().map(char::len_utf16).sum();
    Position::new(line as u32, character as u32)
}

pub fn range(text: &str, start: usize, end: usize) -> Range {
    Range::new(position(text, start), position(text, end))
}

pub fn offset(text: &str, pos: Position) -> usize {
    let mut line_start = 0;
    for _ in 0..pos.line {
        match text[line_start..].find('\n') {
            Some(i) => line_start += i + 1,
            None => return text.len(),
        }
    }
    let mut units = 0;
    for (i, c) in text[line_start..].char_indices() {
        if units >= pos.character as usize || c == '\n' {
            return line_start + i;
        }
        units += c.len_utf16();
    }
    text.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf16_columns_round_trip() {
        let text = "ab\n// é𝄞x\nz";
        let x = text.find('x').unwrap();
        let p = position(text, x);
        assert_eq!(p, Position::new(1, 6));
        assert_eq!(offset(text, p), x);
        assert_eq!(offset(text, Position::new(9, 0)), text.len());
    }
}
