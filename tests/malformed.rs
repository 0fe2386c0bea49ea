//! Malformed packets take a defined verdict: every prefix (from 14 bytes) of every test frame
//! of every example, run in the kernel through the example with its tables set up as its
//! `.stf` sets them, either is not forwarded or is forwarded exactly as the whole frame is
//! (same way, same port, the same bytes as far as the prefix goes). A frame cut inside a
//! header the parser extracts must take the reject path, never go out with unparsed bytes.
//!
//! Needs root (skips with a message otherwise, and fails under CI=true).

mod net;

use iov::control_line::{self, Line};
use iov_runtime::{Module, RunResult, VerdictAction};
use net::privileged;
use std::path::Path;

/// The example compiled as a test build (its verdicts recorded) and loaded.
fn load(path: &Path) -> Module {
    let text = std::fs::read_to_string(path).unwrap();
    let name = path.display().to_string();
    let object = std::thread::Builder::new()
        .stack_size(64 << 20)
        .spawn(move || {
            let checked = iov_sema::check(&name, &text, &mut iov::loader::FsLoader::new(vec![]));
            assert!(!checked.has_errors(), "{name} checks clean");
            let opts = iov_codegen::Options {
                hook: None,
                omit_bounds_checks: false,
                test_build: true,
                asm: false,
            };
            iov_codegen::build(&checked, "example", &opts)
                .map(|o| o.object)
                .unwrap_or_else(|_| panic!("{name} builds"))
        })
        .unwrap()
        .join()
        .unwrap();
    Module::load(&object).unwrap()
}

fn hex(words: &[&str]) -> Vec<u8> {
    let s: String = words.concat();
    (0..s.len() / 2)
        .map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap())
        .collect()
}

fn forwarded(r: &RunResult) -> Option<(VerdictAction, u32)> {
    match r.verdict.map(|v| (v.action, v.port)) {
        Some((a @ (VerdictAction::Redirect | VerdictAction::Reflect), p)) => Some((a, p)),
        _ => None,
    }
}

#[test]
fn every_prefix_of_every_test_frame_is_rejected_or_forwarded_as_the_whole() {
    if !privileged() {
        return;
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut stfs: Vec<_> = std::fs::read_dir(root.join("examples"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "stf"))
        .collect();
    stfs.sort();
    let (mut runs, mut refused) = (0, 0);
    let mut problems = Vec::new();
    for stf in &stfs {
        let module = load(&stf.with_extension("iov"));
        let text = std::fs::read_to_string(stf).unwrap();
        for (n, raw) in text.lines().enumerate() {
            let content = raw.split('#').next().unwrap_or("").trim();
            let words: Vec<&str> = content.split_whitespace().collect();
            match words.first() {
                Some(&"packet") => {}
                Some(w) if control_line::is_verb(w) => {
                    if let Ok(Line::Change(r)) = control_line::parse(&words) {
                        module.apply(&r).unwrap();
                    }
                    continue;
                }
                _ => continue,
            }
            let frame = hex(&words[2..]);
            let Ok(whole) = module.run(&frame) else {
                continue;
            };
            for len in 14..frame.len() {
                let prefix = &frame[..len];
                let Ok(r) = module.run(prefix) else {
                    // The kernel refuses some short TC frames (IPv4 with less than an IPv4
                    // header): nothing ran, nothing went out.
                    refused += 1;
                    continue;
                };
                runs += 1;
                let Some(way) = forwarded(&r) else { continue };
                let at = format!("{}:{} cut to {len} bytes", stf.display(), n + 1);
                if forwarded(&whole) != Some(way) {
                    problems.push(format!(
                        "{at}: forwarded ({way:?}) where the whole frame was not"
                    ));
                } else if r.data.len() > whole.data.len()
                    || r.data[..] != whole.data[..r.data.len()]
                {
                    problems.push(format!(
                        "{at}: forwarded with other bytes than the whole frame\n  {:02x?}\n  {:02x?}",
                        r.data, whole.data
                    ));
                }
            }
        }
    }
    assert!(runs > 500, "every example's frames were cut ({runs} runs)");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    eprintln!("{runs} prefixes run, {refused} refused by the kernel, all rejected or forwarded as the whole");
}
