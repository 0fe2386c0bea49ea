//! Malformed packets take a defined verdict. Every test frame of every example is run in the
//! kernel through the example (a test build, so each run records its decision and the parser's
//! error), with its tables set up as its `.stf` sets them, cut and spoiled two ways:
//! - every prefix from 14 bytes: either not forwarded, or forwarded as the whole frame is (same
//!   way, same port, grown or shrunk by as many bytes, and the same bytes as far as the prefix
//!   goes, unless the program writes the packet's length into it, as an encapsulation does);
//! - garbage after every byte from the 14th on (random, all zeros, all ones), which spoils every
//!   header after the first at each of its bytes; a spoiled frame forwarded grows or shrinks
//!   only by an amount some unspoiled frame of the example does.
//!
//! In both, a packet the parser rejected must be dropped (the kernel's return value too), a
//! forwarded one must have been accepted by the parser (never a forward of bytes the parser
//! refused), and the same packet run again must come out the same (nothing read that the
//! packet and the tables do not decide).
//!
//! Needs root (skips with a message otherwise, and fails under CI=true).

mod net;
#[path = "common/rng.rs"]
mod rng;

use iov::control_line::{self, Line};
use iov_runtime::{Module, RunResult, VerdictAction};
use net::privileged;
use rng::Rng;
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
                test_build: true,
                ..Default::default()
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

/// An example's frame with the module it runs through.
struct Frame {
    module: std::rc::Rc<Module>,
    /// `file:line` of the frame.
    at: String,
    frame: Vec<u8>,
    /// The program reads the packet's length (its output may depend on it).
    reads_length: bool,
}

/// The example frames with the module each runs through.
fn example_frames() -> Vec<Frame> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut stfs: Vec<_> = std::fs::read_dir(root.join("examples"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "stf"))
        .collect();
    stfs.sort();
    let mut frames = Vec::new();
    for stf in &stfs {
        let module = std::rc::Rc::new(load(&stf.with_extension("iov")));
        let source = std::fs::read_to_string(stf.with_extension("iov")).unwrap();
        let reads_length = source.contains("packet_length") || source.contains(".length()");
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
            let at = format!("{}:{}", stf.display(), n + 1);
            frames.push(Frame {
                module: module.clone(),
                at,
                frame: hex(&words[2..]),
                reads_length,
            });
        }
    }
    assert!(frames.len() > 20, "the examples' frames were found");
    frames
}

/// The kernel's return value for a drop at the module's hook.
fn drop_code(module: &Module) -> u32 {
    if module.manifest().hook == iov_manifest::Hook::Xdp {
        1
    } else {
        2
    }
}

/// Runs `packet` twice and checks what every run must hold; `None` when the kernel refused the
/// run (some short TC frames: nothing ran, nothing went out).
fn run_checked(
    module: &Module,
    packet: &[u8],
    at: &str,
    problems: &mut Vec<String>,
) -> Option<RunResult> {
    let r = module.run(packet).ok()?;
    let Some(v) = r.verdict else {
        problems.push(format!(
            "{at}: no decision recorded (returned {})",
            r.retval
        ));
        return None;
    };
    if v.error != 0 && (v.action != VerdictAction::Drop || r.retval != drop_code(module)) {
        problems.push(format!(
            "{at}: the parser rejected it (error {}) but it was {:?}, returned {}",
            v.error, v.action, r.retval
        ));
    }
    match module.run(packet) {
        Ok(again)
            if again
                == RunResult {
                    duration: again.duration,
                    ..r.clone()
                } => {}
        again => problems.push(format!(
            "{at}: run again, it came out otherwise: {r:?} then {again:?}"
        )),
    }
    Some(r)
}

#[test]
fn every_prefix_of_every_test_frame_is_rejected_or_forwarded_as_the_whole() {
    if !privileged() {
        return;
    }
    let (mut runs, mut refused) = (0, 0);
    let mut problems = Vec::new();
    for f in example_frames() {
        let (module, at, frame) = (&f.module, &f.at, &f.frame);
        let Some(whole) = run_checked(module, frame, at, &mut problems) else {
            continue;
        };
        let moved = whole.data.len() as isize - frame.len() as isize;
        for len in 14..frame.len() {
            let prefix = &frame[..len];
            let at = format!("{at} cut to {len} bytes");
            let Some(r) = run_checked(module, prefix, &at, &mut problems) else {
                refused += 1;
                continue;
            };
            runs += 1;
            let Some(way) = forwarded(&r) else { continue };
            let grew = r.data.len() as isize - prefix.len() as isize;
            if forwarded(&whole) != Some(way) {
                problems.push(format!(
                    "{at}: forwarded ({way:?}) where the whole frame was not"
                ));
            } else if grew != moved {
                problems.push(format!(
                    "{at}: changed size by {grew} bytes where the whole frame changed by {moved}"
                ));
            } else if !f.reads_length && r.data[..] != whole.data[..r.data.len()] {
                problems.push(format!(
                    "{at}: forwarded with other bytes than the whole frame\n  {:02x?}\n  {:02x?}",
                    r.data, whole.data
                ));
            }
        }
    }
    assert!(runs > 500, "every example's frames were cut ({runs} runs)");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    eprintln!("{runs} prefixes run, {refused} refused by the kernel, all rejected or forwarded as the whole");
}

#[test]
fn garbage_after_any_byte_is_rejected_or_forwarded_only_when_parsed() {
    if !privileged() {
        return;
    }
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let (mut runs, mut refused, mut rejected, mut sent) = (0, 0, 0, 0);
    let mut problems = Vec::new();
    let frames = example_frames();
    // How much each example's unspoiled frames grow or shrink, by module.
    let mut moves: std::collections::HashMap<*const Module, std::collections::BTreeSet<isize>> =
        std::collections::HashMap::new();
    for f in &frames {
        let set = moves.entry(std::rc::Rc::as_ptr(&f.module)).or_default();
        set.insert(0);
        if let Ok(r) = f.module.run(&f.frame) {
            if forwarded(&r).is_some() {
                set.insert(r.data.len() as isize - f.frame.len() as isize);
            }
        }
    }
    for f in &frames {
        let (module, at, frame) = (&f.module, &f.at, &f.frame);
        let allowed = &moves[&std::rc::Rc::as_ptr(module)];
        for cut in 14..frame.len() {
            for fill in ["random", "zeros", "ones"] {
                let mut spoiled = frame.clone();
                for b in &mut spoiled[cut..] {
                    *b = match fill {
                        "random" => rng.next() as u8,
                        "zeros" => 0,
                        _ => 0xff,
                    };
                }
                let at = format!("{at} with {fill} after byte {cut}");
                let Some(r) = run_checked(module, &spoiled, &at, &mut problems) else {
                    refused += 1;
                    continue;
                };
                runs += 1;
                let v = r.verdict.unwrap_or(iov_runtime::Verdict {
                    action: VerdictAction::Other(0),
                    port: 0,
                    error: 0,
                    clone: 0,
                });
                rejected += usize::from(v.error != 0);
                sent += usize::from(forwarded(&r).is_some());
                let grew = r.data.len() as isize - spoiled.len() as isize;
                if forwarded(&r).is_some() && !allowed.contains(&grew) {
                    problems.push(format!(
                        "{at}: forwarded {} bytes of {}: no unspoiled frame of the example changes size by {grew} (they do by {allowed:?})",
                        r.data.len(),
                        spoiled.len()
                    ));
                }
            }
        }
    }
    assert!(
        runs > 2000,
        "every example's frames were spoiled ({runs} runs)"
    );
    assert!(
        rejected > 100 && sent > 100,
        "both paths were taken ({rejected} rejected, {sent} forwarded)"
    );
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    eprintln!(
        "{runs} spoiled frames run ({refused} refused by the kernel): {rejected} rejected by the parser and dropped, {sent} forwarded after the parser accepted them, every one the same when run again"
    );
}
