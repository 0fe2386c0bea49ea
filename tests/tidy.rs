//! House rules checked on every test run: every diagnostic code is documented, emitted and
//! covered by a fixture; every Rust file says what it is; no file grows past one sitting.

use iov_diagnostics::Code;
use std::path::{Path, PathBuf};

const MAX_LINES: usize = 800;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn files_under(dir: &Path, ext: &str, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            if !path.ends_with("target")
                && !path
                    .file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with('.'))
            {
                files_under(&path, ext, out);
            }
        } else if path.extension().is_some_and(|e| e == ext) {
            out.push(path);
        }
    }
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap()
}

#[test]
fn every_code_has_a_page() {
    let missing: Vec<&str> = Code::ALL
        .iter()
        .map(|c| c.as_str())
        .filter(|c| !root().join(format!("docs/errors/{c}.md")).exists())
        .collect();
    assert!(
        missing.is_empty(),
        "codes without docs/errors/CODE.md: {missing:?}"
    );
    for page in std::fs::read_dir(root().join("docs/errors"))
        .unwrap()
        .flatten()
    {
        let name = page
            .file_name()
            .to_string_lossy()
            .trim_end_matches(".md")
            .to_string();
        assert!(
            Code::parse(&name).is_some(),
            "docs/errors/{name}.md documents no code"
        );
        let text = read(&page.path());
        let code = Code::parse(&name).expect("checked above");
        let heading = format!("# {name}: {}\n", code.title());
        assert!(
            text.starts_with(&heading),
            "docs/errors/{name}.md must start with `{}`",
            heading.trim_end()
        );
    }
}

#[test]
fn every_code_is_emitted_by_the_compiler() {
    let mut sources = Vec::new();
    files_under(&root().join("compiler"), "rs", &mut sources);
    files_under(&root().join("src"), "rs", &mut sources);
    let all: String = sources
        .iter()
        .filter(|p| !p.ends_with("codes.rs"))
        .map(|p| read(p))
        .collect();
    let unused: Vec<&str> = Code::ALL
        .iter()
        .map(|c| c.as_str())
        .filter(|c| !all.contains(&format!("Code::{c}")))
        .collect();
    assert!(unused.is_empty(), "codes no pass emits: {unused:?}");
}

#[test]
fn every_code_has_a_fixture() {
    let mut fixtures = Vec::new();
    files_under(&root().join("tests/fixtures"), "iov", &mut fixtures);
    let marks: String = fixtures.iter().map(|p| read(p)).collect();
    // Codes only the kernel can produce are covered by a kernel test naming them instead.
    let mut kernel_tests = Vec::new();
    files_under(&root().join("tests"), "rs", &mut kernel_tests);
    let kernel: String = kernel_tests
        .iter()
        .filter(|p| !p.ends_with("tidy.rs"))
        .map(|p| read(p))
        .collect();
    let uncovered: Vec<&str> = Code::ALL
        .iter()
        .map(|c| c.as_str())
        .filter(|c| {
            !marks.lines().any(|l| {
                l.split("//~")
                    .nth(1)
                    .is_some_and(|m| m.split_whitespace().any(|w| w == *c))
            }) && !kernel.contains(&format!("Code::{c}"))
        })
        .collect();
    assert!(
        uncovered.is_empty(),
        "codes no fixture expects and no test checks: {uncovered:?}"
    );
}

#[test]
fn rust_files_have_a_header_and_fit_in_one_sitting() {
    let mut sources = Vec::new();
    for dir in ["compiler", "src", "tests"] {
        files_under(&root().join(dir), "rs", &mut sources);
    }
    for path in sources {
        let text = read(&path);
        let rel = path.strip_prefix(root()).unwrap().display().to_string();
        let first = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
        assert!(
            first.starts_with("//!"),
            "{rel} must start with a `//!` header saying what it takes and gives"
        );
        let lines = text.lines().count();
        assert!(
            lines <= MAX_LINES,
            "{rel} has {lines} lines; split it (limit {MAX_LINES})"
        );
        assert!(
            !text.contains(concat!("#[", "ignore")),
            "{rel}: tests are never ignored; assert today's behaviour instead"
        );
    }
}
