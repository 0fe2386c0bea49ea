//! The deparser moves headers exactly, at both hooks: tests/programs/headers_move.iov (and
//! its TC twin) adds a header of 4, 8, 36 or 50 bytes after the IPv4 header, or removes the
//! one a packet carries, chosen by the IPv4 protocol byte. For every size, both ways, on
//! frames from the 60-byte minimum to 1514 bytes (TC's test-run limit) and, at XDP, 3000,
//! the output must be the input with exactly that header added or removed: the bytes after
//! the parsed headers untouched (a random payload), the IPv4 protocol rewritten, nothing
//! else changed. Every cut of a frame carrying a header, short of its end, takes the
//! parser's reject path and is dropped, and a packet that keeps its headers moves nothing.
//! A move the kernel refuses drops the packet unchanged and says so in the verdict.
//!
//! Needs root (skips with a message otherwise, and fails under CI=true).

mod net;
#[path = "common/rng.rs"]
mod rng;

use iov_runtime::{Module, VerdictAction};
use net::privileged;
use rng::Rng;
use std::path::Path;

fn load(file: &str) -> Module {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(file);
    load_text(file, &std::fs::read_to_string(&path).unwrap())
}

fn load_text(file: &str, text: &str) -> Module {
    let checked = iov_sema::check(file, text, &mut iov::loader::FsLoader::new(vec![]));
    assert!(!checked.has_errors(), "{file} checks clean");
    let opts = iov_codegen::Options {
        hook: None,
        test_build: true,
        ..Default::default()
    };
    let object = iov_codegen::build(&checked, "deparse", &opts)
        .unwrap_or_else(|_| panic!("{file} builds"))
        .object;
    Module::load(&object).unwrap()
}

/// The header the program adds for protocol `100 + i`, as it writes it.
fn added(i: usize) -> Vec<u8> {
    match i {
        0 => vec![4; 4],
        1 => vec![8; 8],
        2 => [vec![0x36; 16], vec![0; 16], vec![0x36; 4]].concat(),
        _ => [vec![0; 16], vec![0x50; 16], vec![0; 16], vec![0x50; 2]].concat(),
    }
}

const SIZES: [usize; 4] = [4, 8, 36, 50];

/// Ethernet and IPv4 (protocol `proto`) before `rest`.
fn frame(proto: u8, rest: &[u8]) -> Vec<u8> {
    let mut f = vec![0xff; 6];
    f.extend([0, 0, 0, 0, 0, 1, 0x08, 0x00]);
    f.extend([
        0x45, 0, 0, 0x2e, 0, 0, 0, 0, 64, proto, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2,
    ]);
    f.extend_from_slice(rest);
    f
}

fn grid(file: &str, lengths: &[usize]) {
    if !privileged() {
        return;
    }
    let m = load(file);
    let mut rng = Rng(0x6465_7061_7273_6521);
    let mut runs = 0;
    for &len in lengths {
        for (i, size) in SIZES.into_iter().enumerate() {
            let header = added(i);
            assert_eq!(header.len(), size);
            let plain_len = len - 34;
            let payload: Vec<u8> = (0..plain_len).map(|_| rng.below(256) as u8).collect();
            let plain = frame(100 + i as u8, &payload);
            let tagged = frame(200 + i as u8, &[header.clone(), payload.clone()].concat());
            // Adding: `len` bytes grow by `size`.
            let r = m.run(&plain).unwrap();
            assert_eq!(
                r.verdict.map(|v| v.action),
                Some(VerdictAction::Pass),
                "{file}: adding {size} bytes to a {len}-byte frame"
            );
            assert!(
                r.data == tagged,
                "{file}: adding {size} bytes to a {len}-byte frame gave {} bytes, not the {} expected (first difference at byte {:?})",
                r.data.len(),
                tagged.len(),
                r.data.iter().zip(&tagged).position(|(a, b)| a != b)
            );
            // Removing: the tagged frame (`len + size` bytes) shrinks back.
            if tagged.len() <= lengths[lengths.len() - 1] {
                let r = m.run(&tagged).unwrap();
                assert!(
                    r.data == plain,
                    "{file}: removing {size} bytes from a {}-byte frame gave {} bytes (first difference at byte {:?})",
                    tagged.len(),
                    r.data.len(),
                    r.data.iter().zip(&plain).position(|(a, b)| a != b)
                );
                runs += 1;
            }
            runs += 1;
        }
    }
    // Unchanged headers move nothing, whatever the length.
    for &len in lengths {
        let payload: Vec<u8> = (0..len - 34).map(|_| rng.below(256) as u8).collect();
        let same = frame(17, &payload);
        assert_eq!(
            m.run(&same).unwrap().data,
            same,
            "{file}: {len}-byte UDP frame"
        );
    }
    // Every cut inside an added header is rejected and dropped, unmoved.
    for (i, size) in SIZES.into_iter().enumerate() {
        let tagged = frame(200 + i as u8, &added(i));
        for cut in 34..34 + size {
            // Every cut keeps the 20 bytes after Ethernet a TC test run needs for IPv4.
            let r = m.run(&tagged[..cut]).unwrap();
            let v = r.verdict.expect("a verdict");
            assert_eq!(
                v.action,
                VerdictAction::Drop,
                "{file}: cut at {cut} of {size}"
            );
            assert_ne!(v.error, 0, "{file}: cut at {cut}: a parser error");
            assert_eq!(r.data, tagged[..cut], "{file}: cut at {cut} is left alone");
        }
    }
    assert!(runs >= lengths.len() * SIZES.len());
}

#[test]
fn xdp_adds_and_removes_headers_of_every_size() {
    grid(
        "tests/programs/headers_move.iov",
        &[60, 61, 64, 128, 1514, 3000],
    );
}

#[test]
fn tc_adds_and_removes_headers_of_every_size() {
    grid(
        "tests/programs/headers_move_tc.iov",
        &[60, 61, 64, 128, 1000, 1464],
    );
}

/// Removes a 2-byte header after Ethernet (type 88b5), or, with `EMPTY`, every header.
const REMOVER: &str = r#"
import std.net.*;
header x_t { bit<16> v; }
struct h_t { ethernet_t eth; x_t x; }
parser P(packet_in pkt, out h_t hdr) {
    state start { pkt.extract(hdr.eth); pkt.extract(hdr.x); transition accept; }
}
control C(inout h_t hdr, inout std_meta_t meta) { apply { hdr.x.setInvalid(); pass(); } }
deparser D(packet_out pkt, inout h_t hdr) { apply { EMITS } }
HOOK(P(), C(), D()) main;
"#;

#[test]
fn a_move_the_kernel_refuses_drops_the_packet_unchanged_and_says_so() {
    if !privileged() {
        return;
    }
    let mut frame = vec![0x02; 12];
    frame.extend([0x88, 0xb5, 0xaa, 0xbb]);
    frame.extend(0..8u8);
    // XDP: emitting nothing would leave 8 bytes, and the kernel keeps at least 14.
    // TC: a frame that is not IPv4 or IPv6 cannot shrink.
    for (hook, emits) in [
        ("xdp", ""),
        ("tc_ingress", "pkt.emit(hdr.eth); pkt.emit(hdr.x);"),
    ] {
        let text = REMOVER.replace("HOOK", hook).replace("EMITS", emits);
        let m = load_text(hook, &text);
        let r = m.run(&frame).unwrap();
        let v = r.verdict.expect("a verdict");
        assert_eq!(v.action, VerdictAction::Drop, "{hook}");
        assert_eq!(v.error, iov_manifest::VERDICT_MOVE_REFUSED, "{hook}");
        assert_eq!(r.data, frame, "{hook}: the packet is left as it came");
        // A move the kernel allows goes through: at XDP, Ethernet kept and x removed.
        if hook == "xdp" {
            let text = REMOVER
                .replace("HOOK", hook)
                .replace("EMITS", "pkt.emit(hdr.eth); pkt.emit(hdr.x);");
            let r = load_text(hook, &text).run(&frame).unwrap();
            assert_eq!(
                r.verdict.map(|v| (v.action, v.error)),
                Some((VerdictAction::Pass, 0))
            );
            assert_eq!(r.data, [&frame[..14], &frame[16..]].concat());
        }
    }
}
