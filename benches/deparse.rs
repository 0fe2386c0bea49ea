//! What the deparser costs: ns per packet of its three tiers at XDP, side by side in the
//! kernel (BPF_PROG_TEST_RUN): a deparser proved the identity (no code), one that keeps the
//! headers in place (the run-time test, nothing moves), and ones that move the packet start
//! (a 4-byte VLAN tag and a 40-byte header pushed and popped in turn).
//!
//! Run as root: `cargo bench --bench deparse` (`IOV_BENCH_ROUNDS=N`, default 15). Every
//! program parses the same headers of one 60-byte TCP frame and adds to a register cell per
//! path; the variants differ only in what they do to the headers. A test run's repeats reuse
//! the packet the previous repeat left, so the moving programs alternate: a frame without
//! the header gains it, one with it loses it, and each repeat measures one push or one pop
//! (the median covers both). Rounds interleave every program; the cost column is the median
//! over rounds of (variant - identity). Every figure proves its path: the verdict is
//! XDP_PASS, the register cells hold exactly the runs of each path (pushes and pops equal).

mod common;

use common::{build, may_run, median, rounds};
use iov_runtime::Module;

const BASE: &str = r#"
import std.net.*;
header tun_t { bit<128> a; bit<128> b; bit<48> c; bit<16> next; }
struct h_t { ethernet_t eth; tun_t tun; vlan_t tag; ipv4_t ipv4; tcp_t tcp; }
parser P(packet_in pkt, out h_t hdr) {
    state start {
        pkt.extract(hdr.eth);
        transition select(hdr.eth.ether_type) {
            0x88b5: tun; ETHERTYPE_VLAN: tag; ETHERTYPE_IPV4: ip; default: accept;
        }
    }
    state tun {
        pkt.extract(hdr.tun);
        transition select(hdr.tun.next) { ETHERTYPE_IPV4: ip; default: accept; }
    }
    state tag {
        pkt.extract(hdr.tag);
        transition select(hdr.tag.ether_type) { ETHERTYPE_IPV4: ip; default: accept; }
    }
    state ip {
        pkt.extract(hdr.ipv4);
        transition select(hdr.ipv4.protocol) { IPPROTO_TCP: tcp; default: accept; }
    }
    state tcp { pkt.extract(hdr.tcp); transition accept; }
}
control C(inout h_t hdr, inout std_meta_t meta) {
    register<bit<32>>(2) r;
    apply { BODY pass(); }
}
DEPARSER
"#;

const DEPARSER: &str = "deparser D(packet_out pkt, inout h_t hdr) { apply { \
    pkt.emit(hdr.eth); pkt.emit(hdr.tun); pkt.emit(hdr.tag); pkt.emit(hdr.ipv4); \
    pkt.emit(hdr.tcp); } }\nxdp(P(), C(), D()) main;";

/// `(name, control body, deparser and entry, moves)`.
fn variants() -> Vec<(&'static str, String, String, bool)> {
    vec![
        (
            "identity (no code)",
            "r.add(0, 1);".into(),
            "xdp(P(), C()) main;".into(),
            false,
        ),
        (
            "in place (tested)",
            "r.add(0, 1); if (hdr.ipv4.ttl == 0) { hdr.tag.setValid(); }".into(),
            DEPARSER.into(),
            false,
        ),
        (
            "move 4 (VLAN tag)",
            "if (hdr.tag.isValid()) { hdr.eth.ether_type = hdr.tag.ether_type; \
             hdr.tag.setInvalid(); r.add(1, 1); } else { hdr.tag.setValid(); \
             hdr.tag.vid = 100; hdr.tag.ether_type = hdr.eth.ether_type; \
             hdr.eth.ether_type = ETHERTYPE_VLAN; r.add(0, 1); }"
                .into(),
            DEPARSER.into(),
            true,
        ),
        (
            "move 40",
            "if (hdr.tun.isValid()) { hdr.eth.ether_type = hdr.tun.next; \
             hdr.tun.setInvalid(); r.add(1, 1); } else { hdr.tun.setValid(); \
             hdr.tun.a = 1; hdr.tun.next = hdr.eth.ether_type; \
             hdr.eth.ether_type = 0x88b5; r.add(0, 1); }"
                .into(),
            DEPARSER.into(),
            true,
        ),
    ]
}

/// A TCP SYN from 10.0.0.1:1234 to 10.0.0.2:80 in a 60-byte frame.
fn frame() -> Vec<u8> {
    let mut f = vec![0u8; 60];
    f[12..14].copy_from_slice(&[0x08, 0x00]);
    f[14] = 0x45;
    f[22] = 64;
    f[23] = 6;
    f[26..30].copy_from_slice(&[10, 0, 0, 1]);
    f[30..34].copy_from_slice(&[10, 0, 0, 2]);
    f[34..36].copy_from_slice(&1234u16.to_be_bytes());
    f[36..38].copy_from_slice(&80u16.to_be_bytes());
    f[46] = 0x50;
    f[47] = 0x02;
    f
}

/// Even: every round ends on the frame it started with.
const REPEAT: u32 = 200_000;

fn main() {
    if !may_run("deparse") {
        return;
    }
    let rounds = rounds();
    let variants = variants();
    let modules: Vec<Module> = variants
        .iter()
        .map(|(_, body, dep, _)| {
            let text = BASE.replace("BODY", body).replace("DEPARSER", dep);
            Module::load(&build(&text)).unwrap()
        })
        .collect();
    let frame = frame();
    // One run first: each program does to the frame what its name says.
    for ((name, _, _, moves), m) in variants.iter().zip(&modules) {
        let r = m.run(&frame).unwrap();
        assert_eq!(r.retval, 2, "{name}: XDP_PASS");
        let grew = r.data.len() as isize - frame.len() as isize;
        let expect = match *name {
            "move 4 (VLAN tag)" => 4,
            "move 40" => 40,
            _ => 0,
        };
        assert_eq!(grew, expect, "{name} changes the frame's size by {expect}");
        assert_eq!(
            r.data[r.data.len() - 46..],
            frame[14..],
            "{name} keeps the rest"
        );
        if !moves {
            assert_eq!(r.data, frame, "{name} leaves the frame as it came");
        }
        let again = m.run(&r.data).unwrap();
        if *moves {
            assert_eq!(again.data, frame, "{name}: a second run takes it off again");
        }
    }
    let mut ns = vec![Vec::new(); variants.len()];
    let mut extra = vec![Vec::new(); variants.len()];
    for _ in 0..rounds {
        let mut base = 0.0;
        for (i, m) in modules.iter().enumerate() {
            let r = m.run_repeat(&frame, REPEAT).unwrap();
            assert_eq!(r.retval, 2, "XDP_PASS");
            let t = f64::from(r.avg_ns);
            if i == 0 {
                base = t;
            }
            ns[i].push(t);
            extra[i].push(t - base);
        }
    }
    // The paths: the cells hold every run (2 single runs each before the rounds).
    let runs = u128::from(REPEAT) * rounds as u128;
    for ((name, _, _, moves), m) in variants.iter().zip(&modules) {
        let (a, b) = (
            m.register_read("r", 0).unwrap(),
            m.register_read("r", 1).unwrap(),
        );
        if *moves {
            assert_eq!(
                (a, b),
                (runs / 2 + 1, runs / 2 + 1),
                "{name}: pushes and pops"
            );
        } else {
            assert_eq!((a, b), (runs + 2, 0), "{name}: every run on its path");
        }
    }
    println!(
        "deparser tiers at XDP (ns per packet, median of {rounds} interleaved rounds of \
         {REPEAT}; cost = median of variant - identity per round; moves alternate push and pop)"
    );
    println!("{:<20} {:>10} {:>10}", "deparser", "ns", "cost ns");
    for (i, (name, _, _, _)) in variants.iter().enumerate() {
        println!(
            "{:<20} {:>10.1} {:>10.1}",
            name,
            median(ns[i].clone()),
            median(extra[i].clone())
        );
    }
}
