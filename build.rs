//! Embeds docs/errors/*.md into the CLI for `iov explain`.

use std::fmt::Write;

fn main() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/errors");
    println!("cargo:rerun-if-changed={}", dir.display());
    let mut pages: Vec<_> = std::fs::read_dir(&dir)
        .map(|rd| rd.filter_map(|e| e.ok()).map(|e| e.path()).collect())
        .unwrap_or_default();
    pages.retain(|p: &std::path::PathBuf| p.extension().is_some_and(|e| e == "md"));
    pages.sort();
    let mut out = String::from("/// `(code, page)` for every page in docs/errors.\npub const PAGES: &[(&str, &str)] = &[\n");
    for p in pages {
        println!("cargo:rerun-if-changed={}", p.display());
        let code = p.file_stem().unwrap().to_string_lossy().into_owned();
        writeln!(out, "    ({code:?}, include_str!({:?})),", p.display().to_string()).unwrap();
    }
    out.push_str("];\n");
    let dest = std::path::Path::new(&std::env::var("OUT_DIR").unwrap()).join("error_pages.rs");
    std::fs::write(dest, out).unwrap();
}
