//! Every page in docs/errors/ proves what it says: its `## Example` program reports the
//! page's code, and its `## Fix` program checks clean. For code-generation codes (E07xx) the
//! programs are also compiled, so those pages prove themselves too.

use iov::loader::FsLoader;
use iov_diagnostics::{render, Code, ColorChoice};
use std::path::Path;

/// Checks `text`; for a code-generation code (E07xx), also compiles it when it checks clean.
fn diagnose(code: Code, name: &str, text: &str) -> iov_sema::Checked {
    let mut checked = iov_sema::check(name, text, &mut FsLoader::new(vec![]));
    if code.as_str().starts_with("E07") && !checked.has_errors() {
        if let Err(d) = iov_codegen::build(&checked, "page", &iov_codegen::Options::default()) {
            checked.diagnostics.extend(d);
        }
    }
    checked
}

/// The first ```iov block after `heading`.
fn block_after<'a>(page: &'a str, heading: &str) -> Option<&'a str> {
    let rest = &page[page.find(heading)?..];
    let start = rest.find("```iov\n")? + "```iov\n".len();
    let end = rest[start..].find("```")?;
    Some(&rest[start..start + end])
}

#[test]
fn examples_report_their_code_and_fixes_check_clean() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut failures = Vec::new();
    for code in Code::ALL {
        // E0701 comes from the kernel: tests/verifier.rs produces and checks it for real.
        if *code == Code::E0701 {
            continue;
        }
        let name = format!("docs/errors/{code}.md");
        let page = std::fs::read_to_string(root.join(&name)).unwrap();
        let (Some(example), Some(fix)) = (
            block_after(&page, "## Example"),
            block_after(&page, "## Fix"),
        ) else {
            failures.push(format!(
                "{name}: needs an `## Example` and a `## Fix` iov block"
            ));
            continue;
        };
        let checked = diagnose(*code, &format!("{name}#example"), example);
        if !checked.diagnostics.iter().any(|d| d.code == *code) {
            let out = render(&checked.diagnostics, &checked.files, ColorChoice::Never);
            failures.push(format!(
                "{name}: the example does not report {code}:\n{out}"
            ));
        }
        let checked = diagnose(*code, &format!("{name}#fix"), fix);
        if !checked.diagnostics.is_empty() {
            let out = render(&checked.diagnostics, &checked.files, ColorChoice::Never);
            failures.push(format!("{name}: the fix does not check clean:\n{out}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
