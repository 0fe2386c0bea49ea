//! The one diagnostic model of iov.
//!
//! Takes: nothing from other passes; every pass (lexer, parser, resolver, checker) builds
//! [`Diagnostic`]s with a stable [`Code`], a primary label on an exact byte [`Span`],
//! secondary labels, notes and help.
//! Gives: the model itself, a [`SourceMap`] of loaded files, and renderers to the terminal
//! (codespan-reporting, [`render`]) and to JSON ([`to_json`]). The language server maps the
//! same model to LSP; nothing here knows about LSP, LLVM or the kernel.

mod codes;
mod render;
mod source;

pub use codes::Code;
pub use render::{render, render_json_line, to_json, ColorChoice};
pub use source::{FileId, LineCol, SourceFile, SourceMap};

/// A byte range `start..end` in one file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default, PartialOrd, Ord)]
pub struct Span {
    pub file: FileId,
    pub start: u32,
    pub end: u32,
}

impl Span {
    pub fn new(file: FileId, start: usize, end: usize) -> Span {
        Span {
            file,
            start: start as u32,
            end: end as u32,
        }
    }

    /// The smallest span covering both (they must be in the same file).
    pub fn to(self, other: Span) -> Span {
        Span {
            file: self.file,
            start: self.start.min(other.start),
            end: self.end.max(other.end),
        }
    }

    pub fn range(self) -> std::ops::Range<usize> {
        self.start as usize..self.end as usize
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    Error,
    Warning,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Label {
    pub span: Span,
    pub message: String,
}

/// One finding about a program: what is wrong, exactly where, and what to do about it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    pub code: Code,
    pub severity: Severity,
    pub message: String,
    pub primary: Label,
    pub secondary: Vec<Label>,
    pub notes: Vec<String>,
    pub help: Vec<String>,
}

impl Diagnostic {
    /// An error with `code`; its severity comes from the code (warnings are `W` codes).
    pub fn new(code: Code, message: impl Into<String>, span: Span) -> Diagnostic {
        Diagnostic {
            code,
            severity: code.severity(),
            message: message.into(),
            primary: Label {
                span,
                message: String::new(),
            },
            secondary: Vec::new(),
            notes: Vec::new(),
            help: Vec::new(),
        }
    }

    /// Sets the text under the primary label.
    pub fn label(mut self, message: impl Into<String>) -> Diagnostic {
        self.primary.message = message.into();
        self
    }

    pub fn secondary(mut self, span: Span, message: impl Into<String>) -> Diagnostic {
        self.secondary.push(Label {
            span,
            message: message.into(),
        });
        self
    }

    pub fn note(mut self, note: impl Into<String>) -> Diagnostic {
        self.notes.push(note.into());
        self
    }

    pub fn help(mut self, help: impl Into<String>) -> Diagnostic {
        self.help.push(help.into());
        self
    }

    /// Adds "did you mean `x`?" when `candidates` holds a name close to `wrong`.
    pub fn suggest<'a>(
        self,
        wrong: &str,
        candidates: impl IntoIterator<Item = &'a str>,
    ) -> Diagnostic {
        match closest(wrong, candidates) {
            Some(best) => self.help(format!("did you mean `{best}`?")),
            None => self,
        }
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

/// The longest name [`closest`] finds a suggestion for.
pub const MAX_SUGGESTED_LEN: usize = 256;

/// The candidate nearest to `wrong` by edit distance, if it is near enough to be a typo.
/// Names of one or two letters only match when they differ in case; among equally near
/// candidates, one that extends `wrong` wins (`ETHERTYPE_IP` -> `ETHERTYPE_IPV4`).
pub fn closest<'a>(wrong: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let len = wrong.chars().count();
    // Past this, a name is no typo of a declared one; and the edit distance costs
    // `len * candidate` steps, which a generated megabyte-long name must not pay.
    if len > MAX_SUGGESTED_LEN {
        return None;
    }
    let limit = len / 3;
    candidates
        .into_iter()
        .filter(|c| *c != wrong)
        // Names whose lengths differ by more than the limit are further apart than it.
        .filter(|c| c.chars().count().abs_diff(len) <= limit)
        .map(|c| (edit_distance(wrong, c), !c.starts_with(wrong), c))
        .filter(|(d, _, _)| *d <= limit)
        .min()
        .map(|(_, _, c)| c)
}

/// Edit distance where swapping two neighbouring letters counts as one edit (`lmp` -> `lpm`).
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().map(|c| c.to_ascii_lowercase()).collect();
    let b: Vec<char> = b.chars().map(|c| c.to_ascii_lowercase()).collect();
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = best;
        }
    }
    d[a.len()][b.len()]
}

/// Sorts diagnostics by file and position, so output order never depends on pass order.
pub fn sort(diags: &mut [Diagnostic]) {
    diags.sort_by(|a, b| {
        (
            a.primary.span.file,
            a.primary.span.start,
            a.primary.span.end,
            a.code,
        )
            .cmp(&(
                b.primary.span.file,
                b.primary.span.start,
                b.primary.span.end,
                b.code,
            ))
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggestions_pick_the_nearest_name() {
        assert_eq!(closest("ipv5", ["ipv4", "eth", "tcp"]), Some("ipv4"));
        assert_eq!(closest("xyz", ["ipv4", "eth"]), None);
        assert_eq!(
            closest("parse_ipv", ["parse_ipv4", "parse_ipv6"]),
            Some("parse_ipv4")
        );
        assert_eq!(closest("lmp", ["exact", "lpm", "ternary"]), Some("lpm"));
        assert_eq!(closest("y", ["A", "x"]), None);
        assert_eq!(closest("a", ["A", "x"]), Some("A"));
        assert_eq!(
            closest("ETHERTYPE_IP", ["ETHERTYPE_ARP", "ETHERTYPE_IPV4"]),
            Some("ETHERTYPE_IPV4")
        );
    }

    #[test]
    fn long_names_get_no_suggestion_and_cost_nothing() {
        // A name as long as a generated megabyte: no edit distance is computed at all (a
        // quadratic table of 10^6 x 10^6 cells would not fit in memory).
        let huge = "a".repeat(1 << 20);
        assert_eq!(closest(&huge, [huge[1..].as_ref(), "ipv4"]), None);
        let at_limit = "b".repeat(MAX_SUGGESTED_LEN);
        let near = format!("{at_limit}x");
        assert_eq!(closest(&at_limit, [near.as_str()]), Some(near.as_str()));
        // Lengths too far apart are never near.
        assert_eq!(closest("abcdef", ["abcdefghijk"]), None);
    }
}
