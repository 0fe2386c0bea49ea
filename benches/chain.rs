//! What a hop of a chain costs: ns per packet through chains of 1, 2, 4 and 8 trivial
//! stages against one program doing the same work, in the kernel (BPF_PROG_TEST_RUN).
//!
//! Run as root: `cargo bench --bench chain` (`IOV_BENCH_ROUNDS=N`, default 15). Each stage
//! parses Ethernet and counts IPv4 frames in a per-CPU counter, then passes (handing the
//! packet to the next stage); the single program parses once and counts in N counters. Rounds
//! interleave every configuration, so drift on this shared machine hits all of them alike;
//! the table gives medians, and the cost of a hop as the median over rounds of
//! (chain - single) / N measured side by side. Every figure proves its path: the verdict is
//! XDP_PASS and every stage received exactly the packets sent. Chains of empty stages (no
//! parse, no counter) give what a hop costs by itself.
//!
//! A second table gives what a chain's head (`src/chain_head.iov`) costs for choosing a
//! traffic class: with no classes, with 8 destination classes (8 masks) the packet is in
//! none of, and with the packet in one of them (handed to an empty class chain), each
//! against the trivial program alone.

mod common;

use common::{build, build_with, may_run, median, rounds};
use iov_runtime::{ClassMatch, Match, Module, CLASS_ACTION, CLASS_TABLE};

/// The chain head `iov chain create` attaches.
const HEAD: &str = include_str!("../src/chain_head.iov");

const STAGE: &str = r#"
import std.net.*;
struct h_t { ethernet_t eth; }
parser P(packet_in pkt, out h_t hdr) { state start { pkt.extract(hdr.eth); transition accept; } }
control C(inout h_t hdr, inout std_meta_t meta) {
    counter(1, CounterType.packets) seen;
    apply { if (hdr.eth.ether_type == ETHERTYPE_IPV4) { seen.count(0); } }
}
deparser D(packet_out pkt, inout h_t hdr) { apply { pkt.emit(hdr.eth); } }
xdp(P(), C(), D()) main;
"#;

/// A stage that does nothing of its own: what a hop costs by itself (the tail call, the
/// entry count, the program's prologue).
const EMPTY: &str = r#"
struct h_t { }
parser P(packet_in pkt, out h_t hdr) { state start { transition accept; } }
control C(inout h_t hdr, inout std_meta_t meta) { apply { } }
deparser D(packet_out pkt, inout h_t hdr) { apply { } }
xdp(P(), C(), D()) main;
"#;

/// One program doing what `n` stages do: `n` counters, each counted once.
fn single(n: usize) -> String {
    let decls: String = (0..n)
        .map(|i| format!("    counter(1, CounterType.packets) seen{i};\n"))
        .collect();
    let counts: String = (0..n).map(|i| format!("seen{i}.count(0); ")).collect();
    STAGE
        .replace("    counter(1, CounterType.packets) seen;\n", &decls)
        .replace("seen.count(0); ", &counts)
}

const FRAME: [u8; 60] = {
    let mut f = [0u8; 60];
    f[12] = 0x08;
    f[14] = 0x45;
    f
};
const REPEAT: u32 = 200_000;

fn main() {
    if !may_run("chain") {
        return;
    }
    let rounds = rounds();
    // Stages are built as such (entry count, hand-over); the single program runs alone.
    let as_stage = iov_codegen::Options {
        chain_stage: true,
        ..Default::default()
    };
    let (stage, empty) = (build_with(STAGE, &as_stage), build_with(EMPTY, &as_stage));
    let sizes = [1usize, 2, 4, 8];
    let chain_of = |object: &[u8], n: usize| {
        let stages: Vec<Module> = (0..n).map(|_| Module::load(object).unwrap()).collect();
        for w in stages.windows(2) {
            w[0].hand_on_to(Some(&w[1])).unwrap();
        }
        stages
    };
    let chains: Vec<Vec<Module>> = sizes.iter().map(|&n| chain_of(&stage, n)).collect();
    let empties: Vec<Vec<Module>> = sizes.iter().map(|&n| chain_of(&empty, n)).collect();
    let alone = Module::load(&empty).unwrap();
    let singles: Vec<Module> = sizes
        .iter()
        .map(|&n| Module::load(&build(&single(n))).unwrap())
        .collect();
    let run = |m: &Module| {
        let r = m.run_repeat(&FRAME, REPEAT).unwrap();
        assert_eq!(r.retval, 2, "XDP_PASS");
        f64::from(r.avg_ns)
    };
    let mut chain_ns = vec![Vec::new(); sizes.len()];
    let mut single_ns = vec![Vec::new(); sizes.len()];
    let mut hop_ns = vec![Vec::new(); sizes.len()];
    let mut empty_ns = vec![Vec::new(); sizes.len()];
    let mut empty_hop_ns = vec![Vec::new(); sizes.len()];
    for _ in 0..rounds {
        let floor = run(&alone);
        for (i, &n) in sizes.iter().enumerate() {
            let c = run(&chains[i][0]);
            let s = run(&singles[i]);
            chain_ns[i].push(c);
            single_ns[i].push(s);
            hop_ns[i].push((c - s) / n as f64);
            let e = run(&empties[i][0]);
            empty_ns[i].push(e);
            // Hops after the first: the first empty stage is the program run alone.
            if n > 1 {
                empty_hop_ns[i].push((e - floor) / (n - 1) as f64);
            }
        }
    }
    // The path: every stage of every chain saw every packet sent to its head.
    let sent = REPEAT as u64 * rounds as u64;
    for c in chains.iter().chain(&empties) {
        for s in c {
            assert_eq!(s.packets_received().unwrap(), sent, "every stage ran");
        }
    }
    println!("chain of N trivial stages vs one program doing the same (ns per packet, median of {rounds} interleaved rounds of {REPEAT})");
    println!(
        "{:>6} {:>10} {:>10} {:>10} {:>12} {:>14}",
        "stages", "chain", "single", "per hop", "empty chain", "per empty hop"
    );
    for (i, n) in sizes.iter().enumerate() {
        let empty_hop = if *n > 1 {
            format!("{:.2}", median(empty_hop_ns[i].clone()))
        } else {
            "-".into()
        };
        println!(
            "{:>6} {:>10.1} {:>10.1} {:>10.2} {:>12.1} {:>14}",
            n,
            median(chain_ns[i].clone()),
            median(single_ns[i].clone()),
            median(hop_ns[i].clone()),
            median(empty_ns[i].clone()),
            empty_hop
        );
    }
    heads(rounds, &as_stage, &empty, &alone, &run);
}

/// The head's cost: no classes, a miss among 8, a hit among 8, against `alone`.
fn heads(
    rounds: usize,
    as_stage: &iov_codegen::Options,
    empty: &[u8],
    alone: &Module,
    run: &dyn Fn(&Module) -> f64,
) {
    let head = build_with(HEAD, as_stage);
    let bare = Module::load(&head).unwrap();
    let classified = Module::load(&head).unwrap();
    let class = Module::load(empty).unwrap();
    let prefixes = [
        "10.1.2.0/24",
        "172.16.0.0/12",
        "192.168.0.0/16",
        "198.51.100.0/24",
        "203.0.113.0/25",
        "100.64.0.0/10",
        "192.0.2.0/26",
        "10.2.0.0/15",
    ];
    for (slot, p) in prefixes.iter().enumerate() {
        let (a, l) = p.split_once('/').unwrap();
        let m = ClassMatch {
            vlan: None,
            dst: Some((a.parse().unwrap(), l.parse().unwrap())),
        };
        let keys: Vec<Match> = m.keys();
        classified
            .add_entry_with_priority(
                CLASS_TABLE,
                m.default_priority(),
                &keys,
                CLASS_ACTION,
                &[slot as u128],
            )
            .unwrap();
    }
    classified.hand_class_to(0, Some(&class)).unwrap();
    let mut hit_frame = FRAME;
    hit_frame[30..34].copy_from_slice(&[10, 1, 2, 3]);
    let run_on = |m: &Module, f: &[u8]| {
        let r = m.run_repeat(f, REPEAT).unwrap();
        assert_eq!(r.retval, 2, "XDP_PASS");
        f64::from(r.avg_ns)
    };
    let names = [
        "head, no classes",
        "head, miss among 8 classes",
        "head, hit among 8 classes",
    ];
    let mut ns = vec![Vec::new(); 3];
    let mut over = vec![Vec::new(); 3];
    for _ in 0..rounds {
        let floor = run(alone);
        let got = [
            run_on(&bare, &FRAME),
            run_on(&classified, &FRAME),
            run_on(&classified, &hit_frame),
        ];
        for i in 0..3 {
            ns[i].push(got[i]);
            over[i].push(got[i] - floor);
        }
    }
    // The path: only the hit runs reached the class's chain.
    assert_eq!(
        class.packets_received().unwrap(),
        REPEAT as u64 * rounds as u64,
        "every hit reached the class"
    );
    println!();
    println!("a chain's head choosing a traffic class (ns per packet, median of {rounds} interleaved rounds of {REPEAT})");
    println!("{:>28} {:>10} {:>16}", "", "ns", "over the floor");
    for i in 0..3 {
        println!(
            "{:>28} {:>10.1} {:>16.1}",
            names[i],
            median(ns[i].clone()),
            median(over[i].clone())
        );
    }
}
