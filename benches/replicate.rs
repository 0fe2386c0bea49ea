//! What replication costs: ns per packet of one redirect beside a multicast to groups of 2,
//! 4 and 8 ports, at XDP and at TC ingress, side by side in the kernel (BPF_PROG_TEST_RUN).
//!
//! Run as root: `cargo bench --bench replicate` (`IOV_BENCH_ROUNDS=N`, default 15). The
//! benchmark runs in a private network namespace holding veth devices at indexes 2 to 9
//! (the runtime's `netns::enter_private`, gone when it exits); every program parses the
//! same 60-byte frame and either redirects it to port 2 or multicasts it to a group of the
//! first N of those ports. Rounds interleave every program; the cost column is the median
//! over rounds of (variant - single redirect).
//!
//! What each figure covers, and how it proves its path:
//! - TC: the program and its N - 1 `bpf_clone_redirect` calls, each of which really
//!   transmits a copy on its veth (the last port's redirect is the test run's return value,
//!   which the kernel does not act on). Proved by the return value (TC_ACT_REDIRECT) and by
//!   the first port's veth, whose sent plus dropped frames grow by the runs (and at most a few
//!   frames of the kernel's own IPv6 neighbour discovery).
//! - XDP, column `ns`: the program and its `bpf_redirect_map(BPF_F_BROADCAST)` call, which
//!   only records the group (an ordinary test run does not act on the verdict). Proved by the
//!   return value (XDP_REDIRECT).
//! - XDP, column `live ns`: the same in the kernel's live-frames mode, where every run gets a
//!   fresh frame and the kernel carries out the redirect: one frame per port, cloned and
//!   transmitted on each veth, whose other end runs an XDP program that drops it (a veth takes
//!   redirected frames only when its peer runs XDP). Proved by the first port's peer, which
//!   receives a frame per run.

mod common;

use common::{build, may_run, median, rounds};
use iov_runtime::Module;

const PROGRAM: &str = r#"
import std.net.ethernet_t;
struct h_t { ethernet_t eth; }
parser P(packet_in pkt, out h_t hdr) {
    state start { pkt.extract(hdr.eth); transition accept; }
}
control C(inout h_t hdr, inout std_meta_t meta) {
    multicast_group(8) g;
    apply { BODY }
}
deparser D(packet_out pkt, inout h_t hdr) { apply { pkt.emit(hdr.eth); } }
HOOK(P(), C(), D()) main;
"#;

const REPEAT: u32 = 100_000;

/// `(name, body, ports in the group)`.
const VARIANTS: [(&str, &str, u32); 4] = [
    ("redirect to 1 port", "send_to_port(2);", 0),
    ("multicast to 2", "multicast(g);", 2),
    ("multicast to 4", "multicast(g);", 4),
    ("multicast to 8", "multicast(g);", 8),
];

/// What the far ends of the ports run, so that the veths take redirected XDP frames.
const SINK: &str = r#"
import std.net.ethernet_t;
struct h_t { ethernet_t eth; }
parser P(packet_in pkt, out h_t hdr) {
    state start { pkt.extract(hdr.eth); transition accept; }
}
control C(inout h_t hdr, inout std_meta_t meta) { apply { drop(); } }
xdp(P(), C()) main;
"#;

/// Live-frames runs per figure: the kernel batches 64 frames at a time.
const LIVE_REPEAT: u32 = 20_000;

/// Frames received by interface `iface` (in this thread's namespace).
fn received(iface: &str) -> u64 {
    stats(iface)["rx"]["packets"].as_u64().unwrap_or(0)
}

/// `ip -s -j link show dev IFACE`'s counters.
fn stats(iface: &str) -> serde_json::Value {
    let out = std::process::Command::new("ip")
        .args(["-s", "-j", "link", "show", "dev", iface])
        .output()
        .expect("iproute2 `ip`");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("ip -j gives JSON");
    v[0]["stats64"].clone()
}

/// Frames sent plus dropped by interface `iface` (in this thread's namespace).
fn sent(iface: &str) -> u64 {
    let tx = &stats(iface)["tx"];
    tx["packets"].as_u64().unwrap_or(0) + tx["dropped"].as_u64().unwrap_or(0)
}

fn main() {
    if !may_run("replicate") {
        return;
    }
    let ports: Vec<u32> = (2..=9).collect();
    iov_runtime::netns::enter_private(&ports).expect("a private namespace with ports 2 to 9");
    let rounds = rounds();
    let mut frame = vec![0u8; 60];
    frame[..6].copy_from_slice(&[2, 0, 0, 0, 0, 1]);
    frame[12..14].copy_from_slice(&[0x88, 0xb5]);
    // The far ends run XDP, so the ports take redirected frames (kept attached to the end).
    let mut sink = std::mem::ManuallyDrop::new(Module::load(&build(SINK)).unwrap());
    for p in &ports {
        sink.attach(&format!("iovq{p}"), iov_runtime::XdpMode::Native)
            .expect("an XDP program on the far end of each port");
    }
    println!(
        "replication (ns per packet, median of {rounds} interleaved rounds of {REPEAT}, live: \
         of {LIVE_REPEAT}; cost = median of variant - single redirect per round)"
    );
    println!(
        "{:<6} {:<20} {:>10} {:>10} {:>10} {:>10}",
        "hook", "decision", "ns", "cost ns", "live ns", "live cost"
    );
    for (hook, redirect) in [("xdp", 4u32), ("tc_ingress", 7)] {
        let modules: Vec<Module> = VARIANTS
            .iter()
            .map(|(_, body, n)| {
                let text = PROGRAM.replace("BODY", body).replace("HOOK", hook);
                let m = Module::load(&build(&text)).unwrap();
                if *n > 0 {
                    m.group_add("g", &ports[..*n as usize]).unwrap();
                }
                m
            })
            .collect();
        let mut ns = vec![Vec::new(); VARIANTS.len()];
        let mut extra = vec![Vec::new(); VARIANTS.len()];
        let mut live = vec![Vec::new(); VARIANTS.len()];
        let mut live_extra = vec![Vec::new(); VARIANTS.len()];
        for _ in 0..rounds {
            if hook == "xdp" {
                let mut base = 0.0;
                for (i, m) in modules.iter().enumerate() {
                    let before = received("iovq2");
                    let t = f64::from(m.run_live(&frame, LIVE_REPEAT).unwrap());
                    let got = received("iovq2") - before;
                    assert!(
                        (u64::from(LIVE_REPEAT)..u64::from(LIVE_REPEAT) + 8).contains(&got),
                        "xdp live {}: a frame at port 2's far end per run ({got} for {LIVE_REPEAT})",
                        VARIANTS[i].0
                    );
                    if i == 0 {
                        base = t;
                    }
                    live[i].push(t);
                    live_extra[i].push(t - base);
                }
            }
            let mut base = 0.0;
            for (i, m) in modules.iter().enumerate() {
                let before = sent("iovp2");
                let r = m.run_repeat(&frame, REPEAT).unwrap();
                assert_eq!(r.retval, redirect, "{hook} {}: redirected", VARIANTS[i].0);
                if hook != "xdp" && VARIANTS[i].2 > 1 {
                    // The kernel's own IPv6 neighbour discovery on the fresh link may add a
                    // frame or two.
                    let copies = sent("iovp2") - before;
                    assert!(
                        (u64::from(REPEAT)..u64::from(REPEAT) + 8).contains(&copies),
                        "{hook} {}: a copy out of port 2 per run ({copies} for {REPEAT})",
                        VARIANTS[i].0
                    );
                }
                let t = f64::from(r.avg_ns);
                if i == 0 {
                    base = t;
                }
                ns[i].push(t);
                extra[i].push(t - base);
            }
        }
        for (i, (name, _, _)) in VARIANTS.iter().enumerate() {
            let (l, le) = if live[i].is_empty() {
                ("-".to_string(), "-".to_string())
            } else {
                (
                    format!("{:.1}", median(live[i].clone())),
                    format!("{:.1}", median(live_extra[i].clone())),
                )
            };
            println!(
                "{:<6} {:<20} {:>10.1} {:>10.1} {:>10} {:>10}",
                if hook == "xdp" { "xdp" } else { "tc" },
                name,
                median(ns[i].clone()),
                median(extra[i].clone()),
                l,
                le
            );
        }
    }
}
