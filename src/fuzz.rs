//! What must hold for any input, checked by the fuzz targets (fuzz/, coverage-guided with
//! libFuzzer: `scripts/fuzz TARGET SECONDS`) and by the suite's short seeded hunt
//! (tests/mutants.rs).
//!
//! Takes: arbitrary text (the targets turn bytes into text lossily).
//! Gives: `Err` with the broken property, or a panic, which both count as a finding:
//! - [`syntax`]: whatever parses formats to the same tokens, and formatting again changes
//!   nothing (the formatter is idempotent and token-preserving);
//! - [`check`]: the checker's diagnostics point inside their files and come in order, and
//!   [`syntax`] holds;
//! - [`stf`]: the packet-test reader gives commands or a line-numbered error;
//! - [`control_line`]: the control-plane line parser gives a line or an error.
//!
//! Pure: no kernel, no LLVM, no files but the standard library's modules.

use iov_syntax::format::format;
use iov_syntax::lexer::tokens;

fn token_texts(text: &str) -> Vec<String> {
    tokens(text)
        .filter(|(_, t, _)| t.is_ok())
        .map(|(l, _, r)| text[l..r].to_string())
        .collect()
}

/// The formatter keeps the tokens and is idempotent.
pub fn syntax(text: &str) -> Result<(), String> {
    if let Some(once) = format(text) {
        if token_texts(&once) != token_texts(text) {
            return Err("formatting changed the tokens".into());
        }
        match format(&once) {
            Some(twice) if twice == once => {}
            Some(_) => return Err("formatting twice changed the text".into()),
            None => return Err("the formatted text no longer parses".into()),
        }
    }
    Ok(())
}

/// The checker's diagnostics are well formed, and [`syntax`] holds.
pub fn check(name: &str, text: &str) -> Result<(), String> {
    let checked = iov_sema::check(name, text, &mut crate::loader::FsLoader::new(vec![]));
    for d in &checked.diagnostics {
        let span = d.primary.span;
        let len = checked.files.get(span.file).text.len();
        if span.start > span.end || span.end as usize > len {
            return Err(format!("{}: a span outside its file", d.code));
        }
    }
    let positions: Vec<_> = checked
        .diagnostics
        .iter()
        .map(|d| (d.primary.span.file, d.primary.span.start))
        .collect();
    if positions.windows(2).any(|w| w[0] > w[1]) && positions.iter().all(|p| p.0 == positions[0].0)
    {
        return Err("diagnostics out of order".into());
    }
    syntax(text)
}

/// The packet-test reader answers every file; an error names a line of it.
pub fn stf(text: &str) -> Result<(), String> {
    match crate::stf::parse(text) {
        Ok(_) => Ok(()),
        Err((line, _)) if line >= 1 && line <= text.lines().count().max(1) => Ok(()),
        Err((line, e)) => Err(format!("an error on line {line}, outside the file: {e}")),
    }
}

/// The control-plane line parser answers every line.
pub fn control_line(text: &str) -> Result<(), String> {
    let words: Vec<&str> = text.split_whitespace().collect();
    let _ = crate::control_line::parse(&words);
    if let Some((_, rest)) = text.split_once(char::is_whitespace) {
        let _ = crate::control_line::meter_setting(&rest.split_whitespace().collect::<Vec<_>>());
    }
    Ok(())
}
