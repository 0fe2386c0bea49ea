//! Renders diagnostics for people (codespan-reporting) and for tools (JSON).

use crate::{Diagnostic, FileId, Severity, SourceMap, Span};
use codespan_reporting::diagnostic as cs;
use codespan_reporting::files::{Error as FilesError, Files};
use codespan_reporting::term;
use serde_json::{json, Value};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ColorChoice {
    Never,
    Always,
}

impl<'a> Files<'a> for SourceMap {
    type FileId = FileId;
    type Name = &'a str;
    type Source = &'a str;

    fn name(&'a self, id: FileId) -> Result<&'a str, FilesError> {
        Ok(&self.get(id).name)
    }

    fn source(&'a self, id: FileId) -> Result<&'a str, FilesError> {
        Ok(&self.get(id).text)
    }

    fn line_index(&'a self, id: FileId, byte_index: usize) -> Result<usize, FilesError> {
        Ok(self.get(id).line_col(byte_index).line as usize)
    }

    fn line_range(
        &'a self,
        id: FileId,
        line_index: usize,
    ) -> Result<std::ops::Range<usize>, FilesError> {
        let file = self.get(id);
        let starts = file.line_starts();
        let start = *starts.get(line_index).ok_or(FilesError::LineTooLarge {
            given: line_index,
            max: starts.len() - 1,
        })?;
        let end = starts
            .get(line_index + 1)
            .copied()
            .unwrap_or(file.text.len());
        Ok(start..end)
    }
}

fn to_codespan(d: &Diagnostic) -> cs::Diagnostic<FileId> {
    let severity = match d.severity {
        Severity::Error => cs::Severity::Error,
        Severity::Warning => cs::Severity::Warning,
    };
    let mut labels = vec![
        cs::Label::primary(d.primary.span.file, d.primary.span.range())
            .with_message(&d.primary.message),
    ];
    labels.extend(
        d.secondary
            .iter()
            .map(|l| cs::Label::secondary(l.span.file, l.span.range()).with_message(&l.message)),
    );
    let mut notes: Vec<String> = d.notes.iter().map(|n| format!("note: {n}")).collect();
    notes.extend(d.help.iter().map(|h| format!("help: {h}")));
    cs::Diagnostic::new(severity)
        .with_code(d.code.as_str())
        .with_message(&d.message)
        .with_labels(labels)
        .with_notes(notes)
}

/// Renders diagnostics as a person reads them in a terminal.
pub fn render(diags: &[Diagnostic], files: &SourceMap, color: ColorChoice) -> String {
    let config = term::Config::default();
    let mut out = String::new();
    for d in diags {
        let cs = to_codespan(d);
        let rendered = match color {
            ColorChoice::Never => term::emit_into_string(&config, files, &cs),
            ColorChoice::Always => {
                let mut buf = term::termcolor::Buffer::ansi();
                term::emit_to_write_style(&mut buf, &config, files, &cs)
                    .map(|()| String::from_utf8_lossy(buf.as_slice()).into_owned())
            }
        };
        out.push_str(&rendered.unwrap_or_else(|e| format!("{}: {}\n", d.code, e)));
    }
    out
}

fn span_json(span: Span, files: &SourceMap) -> Value {
    let file = files.get(span.file);
    let start = file.line_col(span.start as usize);
    let end = file.line_col(span.end as usize);
    json!({
        "file": file.name,
        "byte_start": span.start,
        "byte_end": span.end,
        "line_start": start.line + 1,
        "column_start": start.col + 1,
        "line_end": end.line + 1,
        "column_end": end.col + 1,
    })
}

/// One diagnostic as a JSON object (the `--message-format json` schema, documented in docs/cli.md).
pub fn to_json(d: &Diagnostic, files: &SourceMap) -> Value {
    let label = |l: &crate::Label| {
        let mut v = span_json(l.span, files);
        v["message"] = json!(l.message);
        v
    };
    json!({
        "code": d.code.as_str(),
        "severity": d.severity.as_str(),
        "message": d.message,
        "primary": label(&d.primary),
        "secondary": d.secondary.iter().map(label).collect::<Vec<_>>(),
        "notes": d.notes,
        "help": d.help,
    })
}

/// One diagnostic as a single line of JSON.
pub fn render_json_line(d: &Diagnostic, files: &SourceMap) -> String {
    to_json(d, files).to_string()
}
