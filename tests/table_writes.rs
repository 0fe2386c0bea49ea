//! Tables the data plane writes (`add_on_miss`, `add_entry`) and entries that expire
//! (`idle_timeout`), in the kernel: two CPUs adding one key at once add it once; a full table
//! makes room by evicting, so every add succeeds and the table never holds more than its
//! size; an entry the control plane adds starts its idle time then. The packet-level
//! behaviour (added on miss, refreshed on hit, expired after the timeout) is in
//! examples/conntrack.stf.
//!
//! Needs root (skips with a message otherwise, and fails under CI=true).

mod net;

use iov_runtime::Match;
use net::{load_text, privileged};
use std::path::Path;

/// A table that learns IPv4 sources: `learn` adds `known(7)`; counter 0 counts adds, 1 hits.
const LEARNER: &str = r#"
import std.net.*;
struct h_t { ethernet_t eth; ipv4_t ipv4; }
parser P(packet_in pkt, out h_t hdr) {
    state start { pkt.extract(hdr.eth); transition select(hdr.eth.ether_type) { ETHERTYPE_IPV4: ipv4; default: accept; } }
    state ipv4 { pkt.extract(hdr.ipv4); transition accept; }
}
control C(inout h_t hdr, inout std_meta_t meta) {
    counter(2, CounterType.packets) c;
    action known(bit<8> tag) { c.count(1); }
    action learn() { if (add_entry(known(7))) { c.count(0); } }
    table seen {
        key = { hdr.ipv4.src: exact; }
        actions = { known; learn; }
        default_action = learn();
        add_on_miss = true;
        idle_timeout = 10;
        size = 4;
    }
    apply { if (hdr.ipv4.isValid()) { seen.apply(); } }
}
deparser D(packet_out pkt, inout h_t hdr) { apply { pkt.emit(hdr.eth); pkt.emit(hdr.ipv4); } }
xdp(P(), C(), D()) main;
"#;

fn ipv4_from(src: [u8; 4]) -> Vec<u8> {
    let mut f = vec![0x02, 0, 0, 0, 0, 2, 0x02, 0, 0, 0, 0, 1, 0x08, 0x00];
    f.extend([0x45, 0, 0, 20, 0, 1, 0x40, 0, 64, 17, 0, 0]);
    f.extend(src);
    f.extend([10, 0, 0, 1]);
    f
}

fn pin_to(cpu: usize) {
    // SAFETY: a zeroed cpu_set_t is a valid empty set; CPU_SET and sched_setaffinity take
    // valid pointers to it.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(cpu, &mut set);
        libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set);
    }
}

#[test]
fn two_cpus_adding_one_connection_add_it_once() {
    if !privileged() {
        return;
    }
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/conntrack.iov");
    let m = load_text(&std::fs::read_to_string(path).unwrap(), true);
    // Test runs without a port arrive on interface 1: make it inside.
    m.add_entry("zones", &[Match::Exact(1)], "inside", &[])
        .unwrap();
    let mut syn = ipv4_from([10, 0, 0, 5]);
    syn[23] = 6; // TCP
    syn[16..18].copy_from_slice(&40u16.to_be_bytes());
    syn.extend([
        0x9c, 0x40, 0x01, 0xbb, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x02, 4, 0, 0, 0, 0, 0,
    ]);
    let cpus = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .max(2);
    let runs = 5_000u32;
    std::thread::scope(|s| {
        for cpu in 0..cpus {
            let (m, f) = (&m, &syn);
            s.spawn(move || {
                pin_to(cpu % std::thread::available_parallelism().map_or(1, |n| n.get()));
                m.run_repeat(f, runs).expect("runs");
            });
        }
    });
    let opened = m.counter("verdicts", 0).unwrap().0;
    let established = m.counter("verdicts", 1).unwrap().0;
    assert_eq!(opened, 1, "one add won");
    assert_eq!(
        opened + established,
        u64::from(runs) * cpus as u64,
        "every SYN was tracked or found"
    );
    assert_eq!(m.occupancy("conns").unwrap().entries, 1);
}

#[test]
fn a_full_table_evicts_to_make_room_and_control_plane_entries_age_from_their_add() {
    if !privileged() {
        return;
    }
    let m = load_text(LEARNER, true);
    for i in 1..=6u8 {
        m.run(&ipv4_from([192, 0, 2, i])).unwrap();
    }
    assert_eq!(m.counter("c", 0).unwrap().0, 6, "every add succeeded");
    let held = m.occupancy("seen").unwrap().entries;
    assert!(held <= 4, "the table holds at most its size ({held})");
    // An entry added by the control plane at 100 s is live at 105 s and expired at 111 s.
    m.set_clock(100_000_000_000).unwrap();
    m.add_entry("seen", &[Match::Exact(0xc633_6401)], "known", &[9])
        .unwrap();
    m.set_clock(105_000_000_000).unwrap();
    let before = m.counter("c", 1).unwrap().0;
    m.run(&ipv4_from([198, 51, 100, 1])).unwrap();
    assert_eq!(
        m.counter("c", 1).unwrap().0,
        before + 1,
        "a hit 5 s after the add"
    );
    m.set_clock(116_000_000_000).unwrap();
    let adds = m.counter("c", 0).unwrap().0;
    m.run(&ipv4_from([198, 51, 100, 1])).unwrap();
    assert_eq!(
        m.counter("c", 0).unwrap().0,
        adds + 1,
        "expired 11 s after the hit: added again"
    );
}
