//! What an extern call costs: ns per packet of one program per extern (a counter, a register
//! add, a meter, a hash of an IPv4 5-tuple by each algorithm) against the same program without the
//! call, in the kernel (BPF_PROG_TEST_RUN).
//!
//! Run as root: `cargo bench --bench externs` (`IOV_BENCH_ROUNDS=N`, default 15). Every
//! program parses Ethernet, IPv4 and TCP and writes one register cell; the variants differ
//! only in the call. Rounds interleave every program, so drift on this shared machine hits
//! all of them alike; the table gives medians and the cost of the call as the median over
//! rounds of (variant - baseline), measured side by side. Every figure proves its path: the
//! verdict is XDP_PASS, and the register holds the host's CRC-32 of the 5-tuple for `crc32`
//! (the others: a value other than the baseline's); the meter took one token per run. PSA-eBPF's published cycles per extern
//! are printed beside, for orientation only (another machine, cycles not ns).

mod common;

use common::{build, may_run, median, rounds};
use iov_runtime::Module;

const BASE: &str = r#"
import std.net.*;
struct h_t { ethernet_t eth; ipv4_t ipv4; tcp_t tcp; }
parser P(packet_in pkt, out h_t hdr) {
    state start { pkt.extract(hdr.eth); pkt.extract(hdr.ipv4); pkt.extract(hdr.tcp); transition accept; }
}
control C(inout h_t hdr, inout std_meta_t meta) {
    register<bit<32>>(1) r;
    counter(1, CounterType.packets) c;
    meter(1, MeterType.packets) m;
    apply { CALL }
}
xdp(P(), C()) main;
"#;

const TUPLE: &str =
    "{hdr.ipv4.src, hdr.ipv4.dst, hdr.tcp.src_port, hdr.tcp.dst_port, hdr.ipv4.protocol}";

/// `(name, call, PSA-eBPF's published cycles)`.
fn variants() -> Vec<(String, String, &'static str)> {
    let mut v = vec![
        ("none".to_string(), "r.write(0, 1);".to_string(), "-"),
        ("counter".into(), "r.write(0, 2); c.count(0);".into(), "28"),
        ("register add".into(), "r.add(0, 3);".into(), "3-17"),
        (
            "meter".into(),
            "r.write(0, 4); if (m.execute(0) == MeterColor.RED) { drop(); }".into(),
            "255",
        ),
    ];
    for a in ["crc16", "crc32", "crc32c", "jhash", "xor16"] {
        v.push((
            format!("hash {a}"),
            format!("r.write(0, hash(HashAlgorithm.{a}, {TUPLE}));"),
            "124",
        ));
    }
    v
}

/// A TCP SYN from 10.0.0.1:1234 to 10.0.0.2:80 in a 60-byte frame.
fn frame() -> Vec<u8> {
    let mut f = vec![0u8; 60];
    f[12..14].copy_from_slice(&[0x08, 0x00]);
    f[14] = 0x45;
    f[23] = 6;
    f[26..30].copy_from_slice(&[10, 0, 0, 1]);
    f[30..34].copy_from_slice(&[10, 0, 0, 2]);
    f[34..36].copy_from_slice(&1234u16.to_be_bytes());
    f[36..38].copy_from_slice(&80u16.to_be_bytes());
    f[46] = 0x50;
    f[47] = 0x02;
    f
}

fn crc32(data: &[u8]) -> u32 {
    let mut c = !0u32;
    for b in data {
        c ^= u32::from(*b);
        for _ in 0..8 {
            c = if c & 1 == 1 {
                (c >> 1) ^ 0xedb8_8320
            } else {
                c >> 1
            };
        }
    }
    !c
}

const REPEAT: u32 = 200_000;

fn main() {
    if !may_run("extern") {
        return;
    }
    let rounds = rounds();
    let variants = variants();
    let modules: Vec<Module> = variants
        .iter()
        .map(|(_, call, _)| Module::load(&build(&BASE.replace("CALL", call))).unwrap())
        .collect();
    // The meter's burst outlasts the benchmark: every run is green and takes one token.
    let burst = 4_000_000_000;
    let meter = variants
        .iter()
        .position(|v| v.0 == "meter")
        .expect("a meter variant");
    modules[meter]
        .meter_set(
            "m",
            0,
            &iov_runtime::MeterConfig::Srtcm {
                cir: 1,
                cbs: burst,
                ebs: 0,
            },
        )
        .unwrap();
    let frame = frame();
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
    // The path: what each program left in its register.
    let tuple: Vec<u8> = [&frame[26..38], &[6u8][..]].concat();
    for ((name, _, _), m) in variants.iter().zip(&modules) {
        let v = m.register_read("r", 0).unwrap();
        match name.as_str() {
            "none" => assert_eq!(v, 1),
            "counter" => {
                assert_eq!(v, 2);
                let sent = REPEAT as u64 * rounds as u64;
                assert_eq!(m.counter("c", 0).unwrap().0, sent, "every run counted");
            }
            "register add" => assert_eq!(v, 3 * u128::from(REPEAT) * rounds as u128),
            "meter" => {
                assert_eq!(v, 4);
                let left = m.meter_get("m", 0).unwrap().committed;
                let taken = burst - left;
                let sent = u64::from(REPEAT) * rounds as u64;
                // One token a packet; the 1-token-per-second refill adds a few back.
                assert!(
                    taken <= sent && taken + 100 >= sent,
                    "{taken} tokens for {sent} packets"
                );
            }
            "hash crc32" => assert_eq!(v, u128::from(crc32(&tuple)), "the CRC-32 of the 5-tuple"),
            _ => assert!(v > 3, "{name} wrote its hash"),
        }
    }
    println!(
        "extern calls (ns per packet, median of {rounds} interleaved rounds of {REPEAT}; \
         call = median of variant - none per round)"
    );
    println!(
        "{:<14} {:>10} {:>10} {:>22}",
        "extern", "ns", "call ns", "PSA-eBPF cycles (pub.)"
    );
    for (i, (name, _, psa)) in variants.iter().enumerate() {
        println!(
            "{:<14} {:>10.1} {:>10.1} {:>22}",
            name,
            median(ns[i].clone()),
            median(extra[i].clone()),
            psa
        );
    }
}
