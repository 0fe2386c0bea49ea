//! What the data-driven tests share: reading the `//~ CODE` marks a program carries and the
//! `(line, code)` pairs a check actually reported.
//!
//! Takes: program text, and a checked program with the name of the file of interest.
//! Gives: sorted `(line, code)` pairs (lines 1-based), and the diagnostics that landed in
//! other files, as `file:line: CODE`.

/// `(line, code)` pairs marked in `text`: `//~ E0202` on the line, `//~^ E0202` one up.
pub fn expected_marks(text: &str) -> Vec<(usize, String)> {
    let mut marks = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let Some(at) = line.find("//~") else { continue };
        let rest = &line[at + 3..];
        let ups = rest.chars().take_while(|c| *c == '^').count();
        for code in rest[ups..].split_whitespace() {
            marks.push(((i + 1).saturating_sub(ups), code.to_string()));
        }
    }
    marks.sort();
    marks
}

/// The `(line, code)` of every diagnostic in file `name`, and the others as `file:line: CODE`.
pub fn reported_marks(
    checked: &iov_sema::Checked,
    name: &str,
) -> (Vec<(usize, String)>, Vec<String>) {
    let mut here = Vec::new();
    let mut elsewhere = Vec::new();
    for d in &checked.diagnostics {
        let file = checked.files.get(d.primary.span.file);
        let line = file.line_col(d.primary.span.start as usize).line as usize + 1;
        if file.name == name {
            here.push((line, d.code.as_str().to_string()));
        } else {
            elsewhere.push(format!("{}:{line}: {}", file.name, d.code));
        }
    }
    here.sort();
    (here, elsewhere)
}
