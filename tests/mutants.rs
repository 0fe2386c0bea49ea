//! A short, deterministic hunt for crashes: every `.iov` file of the repository, mutated many
//! times with a fixed seed (bytes and lines deleted, duplicated, swapped; tokens from the
//! language inserted; characters of several byte lengths spliced in), goes through the
//! checker and the formatter, every `.stf` file through the packet-test reader, and every
//! control-plane line of the `.stf` files through the control-line parser: the properties of
//! src/fuzz.rs, which the coverage-guided fuzz targets (fuzz/, `scripts/fuzz`) check too.
//!
//! Properties: nothing panics; the checker's diagnostics are sorted and point inside the
//! text; whatever parses formats to the same tokens, and formatting again changes nothing.
//! `IOV_MUTANTS=N` runs N mutants a file instead of the default, for a longer hunt.

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
                    let verdict = std::panic::catch_unwind(|| iov::fuzz::check(&name, &m))
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
            let outcome = std::panic::catch_unwind(|| iov::fuzz::control_line(&m));
            assert!(
                matches!(outcome, Ok(Ok(()))),
                "the control-line parser failed on {m:?}"
            );
        }
    }
}

#[test]
fn mutated_packet_test_files_never_crash_their_reader() {
    let mut rng = Rng(SEED);
    let files = corpus("stf");
    assert!(
        files.len() > 20,
        "the corpus is the repository's packet tests"
    );
    for path in &files {
        let text = std::fs::read_to_string(path).unwrap();
        for i in 0..mutants_per_file() {
            let m = mutate(&text, &mut rng);
            let verdict = std::panic::catch_unwind(|| iov::fuzz::stf(&m))
                .unwrap_or_else(|_| Err("panicked".into()));
            if let Err(why) = verdict {
                panic!("{} mutant {i}: {why}\n--- mutant ---\n{m}", path.display());
            }
        }
    }
}
