//! Every ```iov block of docs/language.md checks as the page says.
//!
//! Takes: the page's blocks. A block whose first line is `// path.iov` is written to that
//! path of a scratch directory so other blocks can import it; every block is checked as a
//! file of that directory. A block that declares a parser, control or deparser but no entry
//! gets a harness appended after its last line (so its line numbers stay put). Expected
//! diagnostics are `//~ CODE` marks, as in tests/fixtures/ (`//~^` points one line up).
//! Gives: a failure naming the doc line of each block whose diagnostics (line and code of
//! the primary label) are not exactly its marks, or that has diagnostics in other files.

mod common;

use iov::loader::FsLoader;
use iov_diagnostics::{render, ColorChoice};
use std::path::{Path, PathBuf};

/// `(doc line of the opening fence, code)` for each ```iov block.
fn blocks(doc: &str) -> Vec<(usize, String)> {
    let mut blocks = Vec::new();
    let mut open: Option<(usize, String)> = None;
    for (i, line) in doc.lines().enumerate() {
        match open.as_mut() {
            None if line == "```iov" => open = Some((i + 1, String::new())),
            Some(_) if line.starts_with("```") => blocks.extend(open.take()),
            Some((_, code)) => {
                code.push_str(line);
                code.push('\n');
            }
            None => {}
        }
    }
    blocks
}

/// Matches `pattern` against the start of `line`: `@` is a captured word, `#` a word,
/// `~` any number of spaces, and every other character itself.
fn matches<'a>(line: &'a str, pattern: &str) -> Option<Vec<&'a str>> {
    let mut rest = line;
    let mut words = Vec::new();
    for p in pattern.chars() {
        match p {
            '@' | '#' => {
                let end = rest
                    .find(|c: char| !(c.is_alphanumeric() || c == '_'))
                    .unwrap_or(rest.len());
                if end == 0 {
                    return None;
                }
                if p == '@' {
                    words.push(&rest[..end]);
                }
                rest = &rest[end..];
            }
            '~' => rest = rest.trim_start_matches(' '),
            _ => rest = rest.strip_prefix(p)?,
        }
    }
    Some(words)
}

/// The captures of the first line of `code` matching `pattern`.
fn find<'a>(code: &'a str, pattern: &str) -> Option<Vec<&'a str>> {
    code.lines().find_map(|l| matches(l, pattern))
}

/// Stand-ins for a missing parser, control or deparser over the header type `{H}`.
const HARNESS: [(&str, &str); 3] = [
    (
        "HarnessP",
        "parser HarnessP(packet_in p, out {H} h) { state start { transition accept; } }\n",
    ),
    (
        "HarnessC",
        "control HarnessC(inout {H} h, inout std_meta_t m) { apply { } }\n",
    ),
    (
        "HarnessD",
        "deparser HarnessD(packet_out p, inout {H} h) { apply { } }\n",
    ),
];

/// A parser, control, deparser and entry around whichever of the first three `code`
/// declares, when it declares one but no entry.
fn harness(code: &str) -> String {
    if find(code, "#(#(),~#(),~#())~#;").is_some() {
        return String::new();
    }
    let p = find(code, "parser @(packet_in #, out @ #)");
    let c = find(code, "control @(inout @ #, inout std_meta_t #)");
    let d = find(code, "deparser @(packet_out #, inout @ #)");
    let Some(h) = [&p, &c, &d].into_iter().flatten().next().map(|w| w[1]) else {
        return String::new();
    };
    let mut out = String::new();
    let mut names = Vec::new();
    // A missing deparser is left out of the entry (packets leave as parsed): an empty one
    // would remove every header the block's parser extracts (W0002).
    let has_deparser = d.is_some();
    for (found, (name, decl)) in [p, c, d].iter().zip(HARNESS) {
        if name == "HarnessD" && !has_deparser {
            continue;
        }
        match found {
            Some(w) => names.push(w[0]),
            None => {
                out += &decl.replace("{H}", h);
                names.push(name);
            }
        }
    }
    out + &format!(
        "xdp({}) harness;\n",
        names
            .iter()
            .map(|n| format!("{n}()"))
            .collect::<Vec<_>>()
            .join(", ")
    )
}

/// The `(line, code)` items of `a` left after taking out one equal item per item of `b`,
/// as `CODE at docs/language.md:LINE` for a block whose fence is on doc line `fence`.
fn minus(a: &[(usize, String)], b: &[(usize, String)], fence: usize) -> Vec<String> {
    let mut left = a.to_vec();
    for x in b {
        if let Some(i) = left.iter().position(|y| y == x) {
            left.remove(i);
        }
    }
    left.sort();
    let at = |(l, c): (usize, String)| format!("{c} at docs/language.md:{}", fence + l);
    left.into_iter().map(at).collect()
}

#[test]
fn language_reference_blocks_check_as_marked() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let doc = std::fs::read_to_string(root.join("docs/language.md")).unwrap();
    let dir =
        Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("language_doc-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    // Write every block first, so a block may import one that comes later.
    let mut files: Vec<(usize, PathBuf, String)> = Vec::new();
    for (i, (line, code)) in blocks(&doc).into_iter().enumerate() {
        let first = code.lines().next().unwrap_or("");
        let module = first.strip_prefix("// ").filter(|p| {
            p.strip_suffix(".iov").is_some_and(|s| {
                !s.is_empty() && s.chars().all(|c| c.is_alphanumeric() || "_/".contains(c))
            })
        });
        let path = dir.join(module.map_or(format!("block{i:02}.iov"), str::to_string));
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        let extra = module.map_or_else(|| harness(&code), |_| String::new());
        std::fs::write(&path, code.clone() + &extra).unwrap();
        files.push((line, path, code));
    }
    assert!(!files.is_empty(), "docs/language.md has no ```iov blocks");
    let mut failures = Vec::new();
    for (line, path, code) in &files {
        let name = path.display().to_string();
        let text = std::fs::read_to_string(path).unwrap();
        let checked = iov_sema::check(&name, &text, &mut FsLoader::new(vec![]));
        let (actual, elsewhere) = common::reported_marks(&checked, &name);
        let expected = common::expected_marks(code);
        let missing = minus(&expected, &actual, *line);
        let unmarked = minus(&actual, &expected, *line);
        if !missing.is_empty() || !unmarked.is_empty() || !elsewhere.is_empty() {
            let out = render(&checked.diagnostics, &checked.files, ColorChoice::Never);
            failures.push(format!(
                "docs/language.md:{line}: the block written to {name}\n  \
                 marked but not reported: {missing:?}\n  reported but not marked: {unmarked:?}\n  \
                 reported in other files: {elsewhere:?}\n{out}",
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} ```iov blocks in docs/language.md differ from their //~ marks:\n\n{}",
        failures.len(),
        files.len(),
        failures.join("\n")
    );
    let _ = std::fs::remove_dir_all(&dir);
}
