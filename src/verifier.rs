//! Verifier rejections as diagnostics on `.iov` lines.
//!
//! Takes: the kernel verifier's log for a rejected program (from the runtime) and the files
//! the program was compiled from.
//! Gives: one E0701 diagnostic whose primary label is the `.iov` line the rejected
//! instruction came from (the log names it through the BTF line info the compiler emits,
//! as `; source text @ file.iov:LINE`), with the verifier's complaint as the message.

use iov_diagnostics::{Code, Diagnostic, SourceMap, Span};

/// `(file, line)` of a `; text @ file:line` annotation.
fn location(line: &str) -> Option<(&str, u32)> {
    let rest = line.strip_prefix("; ")?;
    let (_, at) = rest.rsplit_once(" @ ")?;
    let (file, num) = at.rsplit_once(':')?;
    Some((file, num.trim().parse().ok()?))
}

fn is_instruction(line: &str) -> bool {
    line.split_once(": (")
        .is_some_and(|(n, _)| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()))
}

fn is_summary(line: &str) -> bool {
    [
        "verification time",
        "stack depth",
        "processed ",
        "max_states_per_insn",
    ]
    .iter()
    .any(|p| line.starts_with(p))
}

/// The span of line `line` (1-based) of the file whose name ends with `file`, without its
/// indentation.
fn line_span(files: &SourceMap, file: &str, line: u32) -> Option<Span> {
    let id = (0..files.len() as u32)
        .map(iov_diagnostics::FileId)
        .find(|id| {
            let name = &files.get(*id).name;
            name == file || name.ends_with(&format!("/{file}"))
        })?;
    let r = files.get(id).line_range(line)?;
    Some(Span::new(id, r.start, r.end))
}

/// Turns a verifier log into a diagnostic; `fallback` is used when the log names no line.
pub fn diagnose(log: &str, files: &SourceMap, fallback: Span) -> Diagnostic {
    let lines: Vec<&str> = log.lines().map(str::trim_end).collect();
    let last_insn = lines.iter().rposition(|l| is_instruction(l));
    let mut loc = None;
    for l in &lines[..last_insn.map_or(lines.len(), |i| i + 1)] {
        if let Some(at) = location(l) {
            loc = Some(at);
        }
    }
    let complaint: Vec<&str> = lines[last_insn.map_or(0, |i| i + 1)..]
        .iter()
        .copied()
        .filter(|l| !l.is_empty() && !is_summary(l) && location(l).is_none())
        .collect();
    let summary = lines.iter().find(|l| l.starts_with("processed ")).copied();
    let what = complaint
        .first()
        .copied()
        .unwrap_or("the program was rejected");
    let span = loc
        .and_then(|(f, n)| line_span(files, f, n))
        .unwrap_or(fallback);
    let mut d = Diagnostic::new(
        Code::E0701,
        format!("the kernel verifier rejected the program: {what}"),
        span,
    )
    .label("the rejected instruction comes from this line");
    for more in complaint.iter().skip(1) {
        d = d.note(more.to_string());
    }
    if let Some(s) = summary {
        d = d.note(s.to_string());
    }
    d.help("`iov build --verify --verbose` prints the whole verifier log")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn points_at_the_line_of_the_rejected_instruction() {
        let log = "0: R1=ctx() R10=fp0\n\
                   ; import std.net.ethernet_t; @ router.iov:1\n\
                   0: (b4) w6 = 0                        ; R6=0\n\
                   ; transition select(hdr.eth.ether_type) { @ router.iov:3\n\
                   6: (71) r2 = *(u8 *)(r7 +12)\n\
                   invalid access to packet, off=12 size=1, R7(id=0,off=12,r=0)\n\
                   R7 offset is outside of the packet\n\
                   verification time 107 usec\n\
                   processed 7 insns (limit 1000000) max_states_per_insn 0 total_states 0\n";
        let mut files = SourceMap::new();
        let id = files.add(
            "examples/router.iov",
            "a\nb\n    transition select(x) {\n}\n",
        );
        let d = diagnose(log, &files, Span::new(id, 0, 0));
        assert_eq!(d.code, Code::E0701);
        assert_eq!(d.message, "the kernel verifier rejected the program: invalid access to packet, off=12 size=1, R7(id=0,off=12,r=0)");
        assert_eq!(d.primary.span, Span::new(id, 8, 30));
        assert_eq!(d.notes[0], "R7 offset is outside of the packet");
        assert!(d.notes[1].starts_with("processed 7 insns"));
    }
}
