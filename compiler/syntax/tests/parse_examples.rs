//! The example programs parse without syntax errors.

use iov_diagnostics::{render, ColorChoice, SourceMap};

#[test]
fn examples_parse_cleanly() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples");
    let mut files = SourceMap::new();
    let mut all = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "iov") {
            let text = std::fs::read_to_string(&path).unwrap();
            let id = files.add(path.display().to_string(), text.clone());
            let (_, diags) = iov_syntax::parse(id, &text);
            all.extend(diags);
        }
    }
    assert!(
        all.is_empty(),
        "{}",
        render(&all, &files, ColorChoice::Never)
    );
}
