//! Embeds docs/errors/*.md into the CLI for `iov explain`, and generates one test per
//! fixture (tests/fixtures/*.iov) and per example and standard library file.

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
        writeln!(
            out,
            "    ({code:?}, include_str!({:?})),",
            p.display().to_string()
        )
        .unwrap();
    }
    out.push_str("];\n");
    let out_dir = std::path::PathBuf::from(std::env::var("OUT_DIR").unwrap());
    std::fs::write(out_dir.join("error_pages.rs"), out).unwrap();
    std::fs::write(out_dir.join("fixture_tests.rs"), fixture_tests()).unwrap();
}

fn iov_files(dir: &str) -> Vec<String> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    println!("cargo:rerun-if-changed={}", root.join(dir).display());
    let mut files: Vec<String> = std::fs::read_dir(root.join(dir))
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.ends_with(".iov"))
                .map(|n| format!("{dir}/{n}"))
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files
}

fn test_name(prefix: &str, path: &str) -> String {
    let stem = path.rsplit('/').next().unwrap().trim_end_matches(".iov");
    let clean: String = stem
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    format!("{prefix}_{clean}")
}

fn fixture_tests() -> String {
    let mut out = String::new();
    for f in iov_files("tests/fixtures") {
        writeln!(
            out,
            "#[test]\nfn {}() {{ check_fixture({f:?}); }}",
            test_name("fixture", &f)
        )
        .unwrap();
    }
    for f in iov_files("examples") {
        writeln!(
            out,
            "#[test]\nfn {}() {{ check_clean({f:?}); }}",
            test_name("example", &f)
        )
        .unwrap();
    }
    for f in iov_files("stdlib/std") {
        writeln!(
            out,
            "#[test]\nfn {}() {{ check_clean({f:?}); }}",
            test_name("stdlib", &f)
        )
        .unwrap();
    }
    out
}
