//! A short, deterministic hunt for crashes: every `.iov` file of the repository, mutated many
//! times with a fixed seed (bytes and lines deleted, duplicated, swapped; tokens from the
//! language inserted; characters of several byte lengths spliced in), goes through the
//! checker and the formatter, and every control-plane line of the `.stf` files, mutated
//! the same way, through the control-line parser.
//!
//! Properties: nothing panics; the checker's diagnostics are sorted and point inside the
//! text; whatever parses formats to the same tokens, and formatting again changes nothing.
//! `IOV_MUTANTS=N` runs N mutants a file instead of the default, for a longer hunt.

use iov_syntax::format::format;
use iov_syntax::lexer::tokens;
use std::path::{Path, PathBuf};

#[path = "common/rng.rs"]
mod rng;
use rng::Rng;

const PIECES: &[&str] = &[
    "{",
    "}",
    "(",
    ")",
    "<",
    ">",
    ">>",
    "<<",
    ";",
    ",",
    ".",
    ":",
    "=",
    "&&&",
    "..",
    "_",
    "bit<8>",
    "int<4>",
    "bit<0>",
    "header",
    "struct",
    "parser",
    "control",
    "deparser",
    "state",
    "transition",
    "select",
    "table",
    "key",
    "actions",
    "default_action",
    "const",
    "entries",
    "apply",
    "if",
    "else",
    "return",
    "exit",
    "extract",
    "emit",
    "lpm",
    "exact",
    "ternary",
    "10.0.0.0/8",
    "02:00:00:00:00:01",
    "fe80::1",
    "8w255",
    "0x",
    "1 << 200",
    "é",
    "日本",
    "😀",
    "\u{200b}",
    "\"",
    "/*",
    "*/",
    "//",
    "\n",
    "NoAction",
    "xdp",
    "tc_ingress",
    "main",
];

/// A character boundary at or before `at`.
fn boundary(text: &str, mut at: usize) -> usize {
    at = at.min(text.len());
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    at
}

fn mutate(text: &str, rng: &mut Rng) -> String {
    let mut s = text.to_string();
    for _ in 0..1 + rng.below(3) {
        let a = boundary(&s, rng.below(s.len() + 1));
        let b = boundary(&s, a + rng.below(40));
        match rng.below(6) {
            0 => s.replace_range(a..b, ""),
            1 => {
                let piece = s[a..b].to_string();
                s.insert_str(a, &piece);
            }
            2 => s.insert_str(a, PIECES[rng.below(PIECES.len())]),
            3 => {
                let lines: Vec<&str> = s.lines().collect();
                if lines.len() > 2 {
                    let (i, j) = (rng.below(lines.len()), rng.below(lines.len()));
                    let mut lines: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
                    lines.swap(i, j);
                    s = lines.join("\n");
                }
            }
            4 => s.truncate(a),
            _ => {
                let piece = PIECES[rng.below(PIECES.len())];
                s.replace_range(a..b, piece);
            }
        }
    }
    s
}

fn files(dir: &Path, ext: &str, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            files(&p, ext, out);
        } else if p.extension().is_some_and(|x| x == ext) {
            out.push(p);
        }
    }
}

fn corpus(ext: &str) -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut out = Vec::new();
    for dir in ["examples", "tests/fixtures", "tests/programs", "stdlib"] {
        files(&root.join(dir), ext, &mut out);
    }
    out.sort();
    out
}

fn mutants_per_file() -> usize {
    std::env::var("IOV_MUTANTS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(25)
}

fn token_texts(text: &str) -> Vec<String> {
    tokens(text)
        .filter(|(_, t, _)| t.is_ok())
        .map(|(l, _, r)| text[l..r].to_string())
        .collect()
}

/// Checks and formats one mutant; the broken property, if any.
fn judge(name: &str, text: &str) -> Result<(), String> {
    let checked = iov_sema::check(name, text, &mut iov::loader::FsLoader::new(vec![]));
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

#[test]
fn mutated_programs_never_crash_the_checker_or_the_formatter() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let n = mutants_per_file();
    let files = corpus("iov");
    assert!(files.len() > 50, "the corpus is the repository's programs");
    // The checker recurses over expressions: a deep stack, as `iov check` gives it.
    let failures = std::thread::Builder::new()
        .stack_size(256 << 20)
        .spawn(move || {
            let mut failures = Vec::new();
            let mut rng = Rng(SEED);
            for path in &files {
                let text = std::fs::read_to_string(path).unwrap();
                let name = path
                    .strip_prefix(root)
                    .unwrap_or(path)
                    .display()
                    .to_string();
                for i in 0..n {
                    let m = mutate(&text, &mut rng);
                    let verdict = std::panic::catch_unwind(|| judge(&name, &m))
                        .unwrap_or_else(|_| Err("panicked".into()));
                    if let Err(why) = verdict {
                        failures.push(format!("{name} mutant {i}: {why}\n--- mutant ---\n{m}"));
                    }
                }
            }
            failures
        })
        .unwrap()
        .join()
        .unwrap();
    assert!(
        failures.is_empty(),
        "{} failures; the first:\n{}",
        failures.len(),
        failures[0]
    );
}

/// The fixed seed of the hunt.
const SEED: u64 = 0x9e37_79b9_7f4a_7c15;

#[test]
fn mutated_control_lines_never_crash_the_parser() {
    let mut rng = Rng(SEED);
    let mut lines = Vec::new();
    for path in corpus("stf") {
        let text = std::fs::read_to_string(&path).unwrap();
        lines.extend(
            text.lines()
                .map(|l| l.split('#').next().unwrap_or("").trim().to_string())
                .filter(|l| iov::control_line::is_verb(l.split_whitespace().next().unwrap_or(""))),
        );
    }
    assert!(
        lines.len() > 20,
        "the corpus is the repository's table lines"
    );
    for line in &lines {
        for _ in 0..mutants_per_file() * 4 {
            let m = mutate(line, &mut rng);
            let words: Vec<&str> = m.split_whitespace().collect();
            let outcome = std::panic::catch_unwind(|| iov::control_line::parse(&words));
            assert!(outcome.is_ok(), "control_line::parse panicked on {m:?}");
        }
    }
}
