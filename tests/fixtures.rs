//! Tests as data: one generated test per file in tests/fixtures/, examples/ and stdlib/.
//!
//! A fixture marks each diagnostic it expects on the line the diagnostic points at:
//!
//! ```text
//! bit<8> x = 300;   //~ E0202
//! ```
//!
//! `//~^ E0100` points one line up (`^^` two lines), and several codes may follow one
//! marker. The test fails unless the diagnostics (code and line of the primary label) are
//! exactly the marked ones; then the rendered output must match the insta snapshot in
//! tests/snapshots/. Bless changed output with `scripts/bless`.
//! Examples and standard library files must check with no diagnostics at all.
//! A fixture whose first line mentions `iov build` is also compiled when it checks clean,
//! and the code generator's diagnostics count too.

mod common;

use iov::loader::FsLoader;
use iov_diagnostics::{render, ColorChoice};
use std::path::Path;

include!(concat!(env!("OUT_DIR"), "/fixture_tests.rs"));

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn run(rel: &str) -> (String, iov_sema::Checked) {
    let text = std::fs::read_to_string(root().join(rel)).expect("fixture exists");
    // Check with the relative name so rendered paths do not depend on the checkout.
    let _cwd = std::env::set_current_dir(root());
    let mut checked = iov_sema::check(rel, &text, &mut FsLoader::new(vec![]));
    if text.lines().next().is_some_and(|l| l.contains("iov build")) && !checked.has_errors() {
        if let Err(diags) =
            iov_codegen::build(&checked, "fixture", &iov_codegen::Options::default())
        {
            checked.diagnostics.extend(diags);
        }
    }
    (text, checked)
}

fn check_fixture(rel: &str) {
    let (text, checked) = run(rel);
    let expected = common::expected_marks(&text);
    let (actual, elsewhere) = common::reported_marks(&checked, rel);
    let rendered = render(&checked.diagnostics, &checked.files, ColorChoice::Never);
    assert!(
        elsewhere.is_empty(),
        "diagnostics outside the fixture: {elsewhere:?}\n{rendered}"
    );
    assert_eq!(
        actual, expected,
        "diagnostics (line, code) differ from the //~ marks in {rel}:\n{rendered}"
    );
    let name = rel
        .rsplit('/')
        .next()
        .unwrap()
        .trim_end_matches(".iov")
        .to_string();
    insta::with_settings!({snapshot_path => root().join("tests/snapshots"), prepend_module_to_snapshot => false, omit_expression => true}, {
        insta::assert_snapshot!(name, rendered);
    });
}

fn check_clean(rel: &str) {
    let (_, checked) = run(rel);
    let rendered = render(&checked.diagnostics, &checked.files, ColorChoice::Never);
    assert!(
        checked.diagnostics.is_empty(),
        "{rel} must check clean:\n{rendered}"
    );
}
