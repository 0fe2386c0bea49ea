//! The files a compilation has loaded, with line tables for positions.

/// Index of a file in a [`SourceMap`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default, PartialOrd, Ord)]
pub struct FileId(pub u32);

#[derive(Clone, Debug)]
pub struct SourceFile {
    /// The name shown to users (a path, or `std/net.iov` for the standard library).
    pub name: String,
    pub text: String,
    line_starts: Vec<usize>,
}

/// Zero-based line and column (column in bytes).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LineCol {
    pub line: u32,
    pub col: u32,
}

impl SourceFile {
    pub fn new(name: impl Into<String>, text: impl Into<String>) -> SourceFile {
        let text = text.into();
        let line_starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        SourceFile {
            name: name.into(),
            text,
            line_starts,
        }
    }

    pub fn line_starts(&self) -> &[usize] {
        &self.line_starts
    }

    /// The byte range of line `line` (1-based) without its indentation and trailing
    /// whitespace; `None` past the last line.
    pub fn line_range(&self, line: u32) -> Option<std::ops::Range<usize>> {
        let start = *self.line_starts.get(line.checked_sub(1)? as usize)?;
        let end = self
            .line_starts
            .get(line as usize)
            .map_or(self.text.len(), |e| e - 1);
        let text = &self.text[start..end];
        let indent = text.len() - text.trim_start().len();
        Some(start + indent..start + text.trim_end().len())
    }

    pub fn line_col(&self, offset: usize) -> LineCol {
        let line = match self.line_starts.binary_search(&offset) {
            Ok(l) => l,
            Err(l) => l - 1,
        };
        LineCol {
            line: line as u32,
            col: (offset - self.line_starts[line]) as u32,
        }
    }
}

/// Every file of one compilation, addressed by [`FileId`].
#[derive(Clone, Debug, Default)]
pub struct SourceMap {
    files: Vec<SourceFile>,
}

impl SourceMap {
    pub fn new() -> SourceMap {
        SourceMap::default()
    }

    pub fn add(&mut self, name: impl Into<String>, text: impl Into<String>) -> FileId {
        self.files.push(SourceFile::new(name, text));
        FileId(self.files.len() as u32 - 1)
    }

    pub fn get(&self, id: FileId) -> &SourceFile {
        &self.files[id.0 as usize]
    }

    pub fn find(&self, name: &str) -> Option<FileId> {
        self.files
            .iter()
            .position(|f| f.name == name)
            .map(|i| FileId(i as u32))
    }

    pub fn len(&self) -> usize {
        self.files.len()
    }

    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::SourceFile;

    #[test]
    fn a_line_range_leaves_out_indentation_and_trailing_space() {
        let f = SourceFile::new("f.iov", "a;\n    bit<8> x = 1;  \n\nlast");
        let text = |l| f.line_range(l).map(|r| &f.text[r]);
        assert_eq!(text(1), Some("a;"));
        assert_eq!(text(2), Some("bit<8> x = 1;"));
        assert_eq!(text(3), Some(""));
        assert_eq!(text(4), Some("last"));
        assert_eq!(text(0), None);
        assert_eq!(text(5), None);
    }
}
