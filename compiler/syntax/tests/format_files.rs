//! The formatter on every `.iov` file of the repository: it changes only whitespace (the
//! token sequence stays the same), keeps every comment, and formatting twice changes nothing.

use iov_syntax::format::format;
use iov_syntax::lexer::tokens;
use std::path::{Path, PathBuf};

fn iov_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            iov_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "iov") {
            out.push(p);
        }
    }
}

fn token_texts(text: &str) -> Vec<String> {
    tokens(text)
        .filter(|(_, t, _)| t.is_ok())
        .map(|(l, _, r)| text[l..r].to_string())
        .collect()
}

fn comments(text: &str) -> usize {
    text.matches("//").count() + text.matches("/*").count()
}

#[test]
fn formatting_keeps_meaning_and_comments_and_is_idempotent() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut files = Vec::new();
    for d in ["examples", "stdlib", "tests/fixtures", "tests/programs"] {
        iov_files(&root.join(d), &mut files);
    }
    let mut formatted_count = 0;
    let mut failures = Vec::new();
    for f in &files {
        let text = std::fs::read_to_string(f).unwrap();
        let Some(once) = format(&text) else { continue };
        formatted_count += 1;
        let name = f.display();
        if token_texts(&once) != token_texts(&text) {
            failures.push(format!("{name}: the tokens changed:\n{once}"));
            continue;
        }
        if comments(&once) != comments(&text) {
            failures.push(format!("{name}: comments were lost:\n{once}"));
            continue;
        }
        let twice = format(&once).expect("formatted output parses");
        if twice != once {
            failures.push(format!(
                "{name}: formatting twice changed it:\n--- once\n{once}\n--- twice\n{twice}"
            ));
        }
    }
    assert!(
        formatted_count > 20,
        "only {formatted_count} files formatted"
    );
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn shifts_stay_whole_and_closing_angles_stay_together() {
    let cases = [
        (
            "const bit<64> F = (1 << 100) >> 90;\n",
            "const bit<64> F = (1 << 100) >> 90;\n",
        ),
        ("const bit<8> G = 1>>2;\n", "const bit<8> G = 1 >> 2;\n"),
        (
            "control C(inout std_meta_t m) {\n    register<bit<64>>(4) r;\n    apply { }\n}\n",
            "control C(inout std_meta_t m) {\n    register<bit<64>>(4) r;\n    apply { }\n}\n",
        ),
    ];
    for (input, want) in cases {
        let once = iov_syntax::format::format(input).expect("parses");
        assert_eq!(once, want, "{input}");
        assert_eq!(
            iov_syntax::format::format(&once).as_deref(),
            Some(want),
            "idempotent"
        );
    }
}
