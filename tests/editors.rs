//! The editor integrations, tested from the Rust suite: the TextMate grammar on its fixtures
//! (`npm test` in grammar/test), the VS Code extension's build and tests (`npm test` in
//! editors/vscode, against this build's `iov`), and Neovim as a real LSP client
//! (editors/nvim/test/e2e.sh): the diagnostics it receives from `iov lsp` must have the codes
//! and lines that `iov check --message-format json` reports for the same file.
//! Needs node, npm and nvim (scripts/install-deps installs them); `npm ci` runs when a
//! directory's node_modules is missing or older than its package-lock.json. Without the tools
//! each test skips with a message, except under CI=true, where it fails.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn iov() -> &'static str {
    env!("CARGO_BIN_EXE_iov")
}

fn installed(tool: &str) -> bool {
    Command::new(tool)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Whether every tool is installed; if not, skips (returns false) or, under CI, fails.
fn tools(what: &str, needed: &[&str]) -> bool {
    let missing: Vec<&str> = needed.iter().copied().filter(|t| !installed(t)).collect();
    if missing.is_empty() {
        return true;
    }
    let why = format!(
        "needs {} (scripts/install-deps installs what is missing)",
        missing.join(" and ")
    );
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "{what} {why}, and CI must run it"
    );
    // Straight to stderr, past the test harness's capture, so the skip shows.
    let _ = writeln!(std::io::stderr(), "skipping {what}: it {why}");
    false
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn run(dir: &Path, program: &str, args: &[&str], env: &[(&str, &str)]) -> Output {
    let out = Command::new(program)
        .args(args)
        .envs(env.iter().copied())
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
    assert!(
        out.status.success(),
        "`{program} {}` in {} failed ({}):\n{}\n{}",
        args.join(" "),
        dir.display(),
        out.status,
        text(&out.stdout),
        text(&out.stderr)
    );
    out
}

/// `npm ci` unless node_modules is at least as new as package-lock.json.
fn npm_ci_if_stale(dir: &Path) {
    let modified = |p: PathBuf| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    let lock = modified(dir.join("package-lock.json")).expect("package-lock.json exists");
    let installed = modified(dir.join("node_modules/.package-lock.json"));
    if installed.is_none_or(|t| t < lock) {
        run(dir, "npm", &["ci", "--no-audit", "--no-fund"], &[]);
    }
}

#[test]
fn textmate_grammar_passes_its_fixture_tests() {
    if !tools("the TextMate grammar test", &["node", "npm"]) {
        return;
    }
    let dir = root().join("grammar/test");
    npm_ci_if_stale(&dir);
    let out = run(&dir, "npm", &["test"], &[]);
    let report = text(&out.stdout);
    assert!(
        report.contains("# fail 0") && !report.contains("# pass 0"),
        "{report}"
    );
}

#[test]
fn vscode_extension_builds_and_passes_its_tests() {
    if !tools("the VS Code extension test", &["node", "npm"]) {
        return;
    }
    let dir = root().join("editors/vscode");
    npm_ci_if_stale(&dir);
    run(&dir, "npm", &["run", "build"], &[]);
    let out = run(&dir, "npm", &["test"], &[("IOV_BIN", iov())]);
    let report = text(&out.stdout);
    assert!(
        report.contains("# fail 0") && report.contains("# skipped 0"),
        "{report}"
    );
    let copy = std::fs::read(dir.join("syntaxes/iov.tmLanguage.json")).unwrap();
    let source = std::fs::read(root().join("grammar/iov.tmLanguage.json")).unwrap();
    assert!(
        copy == source,
        "the extension's grammar is not a copy of grammar/"
    );
}

/// `(code, line)` of each diagnostic, sorted.
fn keys(diagnostics: &[(String, u64, String)]) -> Vec<(String, u64)> {
    let mut keys: Vec<(String, u64)> = diagnostics
        .iter()
        .map(|(c, l, _)| (c.clone(), *l))
        .collect();
    keys.sort();
    keys
}

#[test]
fn neovim_receives_the_diagnostics_of_iov_check() {
    if !tools("the Neovim end-to-end test", &["nvim"]) {
        return;
    }
    let test_dir = root().join("editors/nvim/test");
    let out_file = std::env::temp_dir().join(format!("iov-nvim-e2e-{}.txt", std::process::id()));
    let script = test_dir.join("e2e.sh");
    let result = Command::new("bash")
        .arg(&script)
        .arg(&out_file)
        .env("IOV_BIN", iov())
        .output()
        .expect("bash runs e2e.sh");
    let written = std::fs::read_to_string(&out_file).unwrap_or_default();
    let _ = std::fs::remove_file(&out_file);
    assert!(
        result.status.success(),
        "e2e.sh failed ({}):\n{}\n{}",
        result.status,
        text(&result.stdout),
        text(&result.stderr)
    );

    // What Neovim received: CODE<TAB>LINE<TAB>MESSAGE.
    let from_nvim: Vec<(String, u64, String)> = written
        .lines()
        .map(|l| {
            let mut parts = l.splitn(3, '\t');
            let code = parts.next().unwrap().to_string();
            let line = parts.next().and_then(|n| n.parse().ok());
            let message = parts.next().unwrap_or_default().to_string();
            (
                code,
                line.unwrap_or_else(|| panic!("bad line {l:?}")),
                message,
            )
        })
        .collect();

    // What `iov check` reports for the same file.
    let check = Command::new(iov())
        .args(["check", "--message-format", "json", "broken.iov"])
        .current_dir(&test_dir)
        .output()
        .unwrap();
    assert_eq!(check.status.code(), Some(1), "broken.iov has errors");
    let from_check: Vec<(String, u64, String)> = text(&check.stdout)
        .lines()
        .map(|l| {
            let d: serde_json::Value = serde_json::from_str(l).unwrap();
            (
                d["code"].as_str().unwrap().to_string(),
                d["primary"]["line_start"].as_u64().unwrap(),
                d["message"].as_str().unwrap().to_string(),
            )
        })
        .collect();

    assert!(from_check.len() >= 5, "{from_check:?}");
    assert_eq!(keys(&from_nvim), keys(&from_check));
    // The server appends notes and help to the message; it starts with the same words.
    for (code, line, message) in &from_check {
        assert!(
            from_nvim
                .iter()
                .any(|(c, l, m)| c == code && l == line && m.starts_with(message.as_str())),
            "{code} on line {line}: Neovim shows no message starting with {message:?}: {from_nvim:?}"
        );
    }
}
