//! Tuple-space tables (ternary and optional keys) at scale, in the kernel: a program with two
//! tables of 65,536 entries and 128 distinct masks each passes the verifier and finds, for
//! every probe packet, the entry a brute-force search of the same entries picks (highest
//! priority, then the earliest added); and the control plane's writes are atomic as packets
//! see them: packets on every CPU during 10,000 adds and deletes never find the table in a
//! state that no write left it in.
//!
//! Needs root (skips with a message otherwise, and fails under CI=true).

mod net;

use iov_runtime::{Match, Module};
use net::{load_text, privileged};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// Two tables over the same fields in other orders; each writes the id of the entry it hit
/// into a MAC address of the frame (0 on a miss).
const PROGRAM: &str = r#"
import std.net.*;
struct h_t { ethernet_t eth; ipv4_t ipv4; }
parser P(packet_in pkt, out h_t hdr) {
    state start { pkt.extract(hdr.eth); transition select(hdr.eth.ether_type) { ETHERTYPE_IPV4: ipv4; default: accept; } }
    state ipv4 { pkt.extract(hdr.ipv4); transition accept; }
}
control C(inout h_t hdr, inout std_meta_t meta) {
    action mark_a(bit<32> id) { hdr.eth.dst = (bit<48>)id; }
    action mark_b(bit<32> id) { hdr.eth.src = (bit<48>)id; }
    table a {
        key = { hdr.ipv4.src: ternary; hdr.ipv4.dst: ternary; hdr.ipv4.protocol: optional; }
        actions = { mark_a; }
        default_action = mark_a(0);
        size = 65536;
        masks = 128;
    }
    table b {
        key = { hdr.ipv4.protocol: optional; hdr.ipv4.dst: ternary; hdr.ipv4.src: ternary; }
        actions = { mark_b; }
        default_action = mark_b(0);
        size = 65536;
        masks = 128;
    }
    apply { if (hdr.ipv4.isValid()) { a.apply(); b.apply(); } }
}
deparser D(packet_out pkt, inout h_t hdr) { apply { pkt.emit(hdr.eth); pkt.emit(hdr.ipv4); } }
xdp(P(), C(), D()) main;
"#;

/// A table whose four entries all match the probe packet, each under its own mask; `hit`
/// counts the entry that won (its id), 0 a miss and 9 an entry read half old, half new.
const SWAP: &str = r#"
import std.net.*;
struct h_t { ethernet_t eth; ipv4_t ipv4; }
parser P(packet_in pkt, out h_t hdr) {
    state start { pkt.extract(hdr.eth); transition select(hdr.eth.ether_type) { ETHERTYPE_IPV4: ipv4; default: accept; } }
    state ipv4 { pkt.extract(hdr.ipv4); transition accept; }
}
control C(inout h_t hdr, inout std_meta_t meta) {
    counter(10, CounterType.packets) hit;
    action won(bit<32> id, bit<32> again) {
        if (id == again) { hit.count(id); } else { hit.count(9); }
    }
    action missed() { hit.count(0); }
    table t {
        key = { hdr.ipv4.src: ternary; hdr.ipv4.dst: ternary; hdr.ipv4.protocol: optional; }
        actions = { won; missed; }
        default_action = missed();
        size = 64;
        masks = 64;
    }
    apply { if (hdr.ipv4.isValid()) { t.apply(); } }
}
deparser D(packet_out pkt, inout h_t hdr) { apply { pkt.emit(hdr.eth); pkt.emit(hdr.ipv4); } }
xdp(P(), C(), D()) main;
"#;

fn frame(src: u32, dst: u32, proto: u8) -> Vec<u8> {
    let mut f = vec![0u8; 12];
    f.extend([0x08, 0x00, 0x45, 0, 0, 20, 0, 1, 0x40, 0, 64, proto, 0, 0]);
    f.extend(src.to_be_bytes());
    f.extend(dst.to_be_bytes());
    f
}

/// A small deterministic generator (xorshift64*).
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u32 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 32) as u32
    }
}

fn prefix(len: u32) -> u32 {
    if len == 0 {
        0
    } else {
        u32::MAX << (32 - len)
    }
}

/// One entry: src and dst as value and mask, protocol (None: any), priority, id.
#[derive(Clone, Copy)]
struct Rule {
    src: (u32, u32),
    dst: (u32, u32),
    proto: Option<u8>,
    priority: u32,
    id: u32,
}

impl Rule {
    fn matches(&self, src: u32, dst: u32, proto: u8) -> bool {
        src & self.src.1 == self.src.0
            && dst & self.dst.1 == self.dst.0
            && self.proto.is_none_or(|p| p == proto)
    }
}

/// 128 masks (src /1 to /32 by dst /12, /16, /24 and /32; a third of them with the
/// protocol given), 512 entries each; priorities repeat across masks so that ties are
/// common.
fn rules() -> Vec<Rule> {
    let mut rules = Vec::with_capacity(65_536);
    for m in 0..128u32 {
        let s = m / 4 + 1;
        let d = [12, 16, 24, 32][m as usize % 4];
        for j in 0..512u32 {
            let id = rules.len() as u32 + 1;
            rules.push(Rule {
                src: (0x0a00_0000 & prefix(s), prefix(s)),
                dst: ((j << (32 - d)) & prefix(d), prefix(d)),
                proto: (m % 3 == 0).then_some(6),
                priority: 1 + (m * 7 + j) % 50,
                id,
            });
        }
    }
    rules
}

fn keys(r: &Rule, swapped: bool) -> Vec<Match> {
    let t = |(value, mask): (u32, u32)| Match::Ternary {
        value: value.into(),
        mask: mask.into(),
    };
    let proto = r.proto.map_or(Match::Any, |p| Match::Exact(p.into()));
    if swapped {
        vec![proto, t(r.dst), t(r.src)]
    } else {
        vec![t(r.src), t(r.dst), proto]
    }
}

/// The id the program should find: the highest priority, then the first added.
fn winner(rules: &[Rule], src: u32, dst: u32, proto: u8) -> u32 {
    let mut best: Option<&Rule> = None;
    for r in rules.iter().filter(|r| r.matches(src, dst, proto)) {
        if best.is_none_or(|b| r.priority > b.priority) {
            best = Some(r);
        }
    }
    best.map_or(0, |r| r.id)
}

fn mac(data: &[u8], at: usize) -> u32 {
    u32::from_be_bytes(data[at + 2..at + 6].try_into().unwrap())
}

#[test]
fn two_tables_of_65536_entries_and_128_masks_find_what_a_brute_force_search_finds() {
    if !privileged() {
        return;
    }
    let m = load_text(PROGRAM, false);
    for t in ["a", "b"] {
        let ts = m.table(t).unwrap().tuple_space.clone().unwrap();
        assert_eq!(ts.masks, 128);
    }
    let rules = rules();
    for r in &rules {
        m.add_entry_with_priority("a", r.priority, &keys(r, false), "mark_a", &[r.id.into()])
            .unwrap();
        m.add_entry_with_priority("b", r.priority, &keys(r, true), "mark_b", &[r.id.into()])
            .unwrap();
    }
    assert_eq!(m.occupancy("a").unwrap().entries, 65_536);
    // Full: no room for another entry, and no room for another mask.
    let extra = Rule {
        dst: (0x0a00_0000, prefix(32)),
        ..rules[0]
    };
    let err = m
        .add_entry_with_priority("a", 1, &keys(&extra, false), "mark_a", &[1])
        .unwrap_err();
    assert!(matches!(err, iov_runtime::Error::TableFull { .. }), "{err}");
    m.delete_entry("a", &keys(&rules[0], false)).unwrap();
    let new_mask = Rule {
        dst: (0, prefix(8)),
        ..rules[0]
    };
    let err = m
        .add_entry_with_priority("a", 1, &keys(&new_mask, false), "mark_a", &[1])
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("already holds 128 distinct masks, the most it can"),
        "{err}"
    );
    m.add_entry_with_priority(
        "a",
        rules[0].priority,
        &keys(&rules[0], false),
        "mark_a",
        &[1],
    )
    .unwrap();
    // Re-added last: on a tie it now loses to entries added before it.
    let mut order_a = rules.clone();
    let first = order_a.remove(0);
    order_a.push(first);
    let mut rng = Rng(0x1234_5678_9abc_def1);
    let (mut hits, mut probes) = (0, 0);
    for _ in 0..400 {
        let src = match rng.next() % 4 {
            0 => rng.next(),
            1 => 0x0a00_0000 | (rng.next() & 0x00ff_ffff),
            _ => 0x0a00_0000 | (rng.next() & 0x0000_00ff),
        };
        let j = rng.next() % 600;
        let dst = match rng.next() % 3 {
            0 => j << 20,
            1 => j << 16 | (rng.next() & 0xffff),
            _ => j << 8,
        };
        let proto = if rng.next() % 2 == 0 { 6 } else { 17 };
        let out = m.run(&frame(src, dst, proto)).unwrap().data;
        let (want_a, want_b) = (
            winner(&order_a, src, dst, proto),
            winner(&rules, src, dst, proto),
        );
        assert_eq!(
            (mac(&out, 0), mac(&out, 6)),
            (want_a, want_b),
            "src {src:#x} dst {dst:#x} proto {proto}"
        );
        hits += usize::from(want_a != 0);
        probes += 1;
    }
    assert!(hits > probes / 2, "the probes hit: {hits} of {probes}");
    // Entries read back in the order the program ranks them.
    let listed = m.entries("b").unwrap();
    assert_eq!(listed.len(), 65_536);
    assert!(listed.windows(2).all(|w| w[0].priority >= w[1].priority));
    assert_eq!(m.clear("a").unwrap(), 65_536);
    assert_eq!(m.run(&frame(0x0a00_0001, 0, 6)).unwrap().data[..6], [0; 6]);
}

/// Entry `k` of the swap test: all match the probe packet, each under another mask.
fn swap_keys(k: u32) -> Vec<Match> {
    let t = |value: u32, mask: u32| Match::Ternary {
        value: value.into(),
        mask: mask.into(),
    };
    let probe_src = 0x0a01_0203;
    let probe_dst = 0xc0a8_0001;
    match k {
        0 => vec![t(probe_src & prefix(8), prefix(8)), t(0, 0), Match::Any],
        1 => vec![t(0, 0), t(probe_dst & prefix(16), prefix(16)), Match::Any],
        2 => vec![t(probe_src, prefix(32)), t(0, 0), Match::Exact(6)],
        _ => vec![
            t(probe_src & prefix(24), prefix(24)),
            t(probe_dst, prefix(32)),
            Match::Any,
        ],
    }
}

#[test]
fn packets_on_every_cpu_see_each_add_and_delete_whole() {
    if !privileged() {
        return;
    }
    // As the search copies an entry out, and (the table having a direct counter, which
    // packets write) as it finds the entry again after the search.
    swap_under_traffic(SWAP);
    let counted = SWAP
        .replace(
            "    table t {",
            "    direct_counter(CounterType.packets) per_entry;\n    table t {",
        )
        .replace(
            "        masks = 64;",
            "        masks = 64;\n        counters = per_entry;",
        );
    assert_ne!(counted, SWAP);
    swap_under_traffic(&counted);
}

fn swap_under_traffic(text: &str) {
    let m = load_text(text, false);
    // Entry k is written with id k + 1; every tenth is changed to id k + 5 before it goes,
    // both arguments in one write.
    let args = |id: u32| [u128::from(id), u128::from(id)];
    m.add_entry_with_priority("t", 5, &swap_keys(0), "won", &args(1))
        .unwrap();
    let probe = frame(0x0a01_0203, 0xc0a8_0001, 6);
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    let done = AtomicBool::new(false);
    let batches = AtomicU64::new(0);
    let started = std::sync::Barrier::new(cpus + 1);
    let (writes, took) = std::thread::scope(|s| {
        for _ in 0..cpus {
            let (m, probe, done, started, batches) = (&m, &probe, &done, &started, &batches);
            s.spawn(move || {
                started.wait();
                while !done.load(Ordering::Relaxed) {
                    m.run_repeat(probe, 20).expect("runs");
                    batches.fetch_add(1, Ordering::Relaxed);
                }
            });
        }
        started.wait();
        // Always one entry or two: the next is added before the current one goes, under a
        // mask of its own, so slots turn holes and are taken again by other masks, some
        // before the grace period that makes that safe.
        let start = std::time::Instant::now();
        let mut writes = 0;
        for i in 0..5_000u32 {
            let (now, next) = (i % 4, (i + 1) % 4);
            m.add_entry_with_priority("t", 5, &swap_keys(next), "won", &args(next + 1))
                .unwrap();
            if i % 10 == 0 {
                m.modify_entry("t", &swap_keys(now), "won", &args(now + 5))
                    .unwrap();
            }
            m.delete_entry("t", &swap_keys(now)).unwrap();
            writes += 2;
            // The writes are far faster than the packets: let a batch run before the next.
            let seen = batches.load(Ordering::Relaxed);
            while batches.load(Ordering::Relaxed) == seen {
                std::thread::yield_now();
            }
        }
        done.store(true, Ordering::Relaxed);
        (writes, start.elapsed())
    });
    assert_eq!(writes, 10_000, "adds and deletes, besides 500 changes");
    let count = |i| m.counter("hit", i).unwrap().0;
    let seen: Vec<u64> = (1..=4).map(count).collect();
    let packets: u64 = (0..10).map(count).sum();
    eprintln!(
        "{packets} packets during 10,500 writes in {took:?}; entries seen as added: {seen:?}"
    );
    assert_eq!(count(0), 0, "no packet found the table empty");
    assert_eq!(count(9), 0, "no packet read an entry half written");
    assert!(
        seen.iter().all(|&n| n > 0),
        "every entry was seen while it was there: {seen:?}"
    );
}

#[test]
fn the_verifier_checks_a_search_once_whatever_its_masks() {
    if !privileged() {
        return;
    }
    // Five tables of 256 masks each: the verifier walked every mask of every table (four
    // such tables took 376,901 of its 1,000,000 steps, and a program was held to 1,024
    // masks in all); with the search a `bpf_loop`, it checks each table's callback once.
    let table = |n: usize, masks: u32| {
        format!(
            "    table t{n} {{ key = {{ hdr.ipv4.src: ternary; }} actions = {{ mark_a; }} masks = {masks}; }}\n"
        )
    };
    let program = |masks: u32| {
        let tables: String = (0..5).map(|n| table(n, masks)).collect();
        let applies: String = (0..5).map(|n| format!("t{n}.apply(); ")).collect();
        PROGRAM
            .split("    table a {")
            .next()
            .unwrap()
            .to_string()
            + &tables
            + &format!("    apply {{ if (hdr.ipv4.isValid()) {{ {applies}}} }}\n}}\n")
            + "deparser D(packet_out pkt, inout h_t hdr) { apply { pkt.emit(hdr.eth); pkt.emit(hdr.ipv4); } }\nxdp(P(), C(), D()) main;\n"
    };
    let steps = |masks: u32| {
        let m = load_text(&program(masks), false);
        m.verified_instructions()
            .expect("the kernel reports the count")
    };
    let (few, many) = (steps(2), steps(256));
    assert!(
        many < 20_000 && few < 20_000,
        "5 tables of 2 masks cost {few} steps, of 256 masks {many}"
    );
}

#[test]
fn a_writer_that_remembers_the_masks_sees_another_process_change_them() {
    if !privileged() {
        return;
    }
    let net = net::Net::new();
    net.ok(&[
        "load",
        "examples/vlan_filter.iov",
        "--dev",
        "vc",
        "--netns",
        &net.a,
        "--name",
        "vf",
    ]);
    let m = Module::open(&net.root, "vf").unwrap();
    let vid = |value: u128, mask: u128| [Match::Ternary { value, mask }];
    // Slot 1 holds the const entry's mask (0xfff); this process puts 0xf00 in slot 2.
    m.add_entry_with_priority("blocked_vids", 5, &vid(0x100, 0xf00), "block", &[])
        .unwrap();
    // Another process empties slot 2 and gives it to mask 0xff0.
    let table = "blocked_vids";
    net.ok(&[
        "table",
        "vf",
        "del",
        table,
        "hdr.vlans[0].vid:0x100&&&0xf00",
    ]);
    net.ok(&[
        "table",
        "vf",
        "add",
        table,
        "hdr.vlans[0].vid:0x200&&&0xff0",
        "block()",
    ]);
    // This process must not file an entry of mask 0xf00 under slot 2 any more.
    m.add_entry_with_priority("blocked_vids", 5, &vid(0x300, 0xf00), "block", &[])
        .unwrap();
    let keys: Vec<Vec<Match>> = m
        .entries("blocked_vids")
        .unwrap()
        .into_iter()
        .map(|e| e.keys)
        .collect();
    assert_eq!(
        keys,
        [vid(0x300, 0xf00), vid(0xfff, 0xfff), vid(0x200, 0xff0)].map(|k| k.to_vec()),
        "by rank: priority 5, then the const entry's 1, then the entry added without one (1, later)"
    );
    let listed = net.ok(&["table", "vf", "list"]);
    assert!(
        listed.starts_with(
            "add VlanFilter.blocked_vids 5 hdr.vlans[0].vid:768&&&3840 block()\n\
             add VlanFilter.blocked_vids 1 hdr.vlans[0].vid:4095&&&4095 block()\n\
             add VlanFilter.blocked_vids 1 hdr.vlans[0].vid:512&&&4080 block()\n"
        ),
        "{listed}"
    );
}

#[test]
fn a_mask_that_holds_one_entry_skips_the_hash_lookup_only_while_it_holds_one() {
    if !privileged() {
        return;
    }
    let m = load_text(SWAP, false);
    let hits = |id: u32| m.counter("hit", id).unwrap().0;
    let src = |last: u32| {
        let value = 0x0a01_0200 | last;
        vec![
            Match::Ternary {
                value: value.into(),
                mask: u32::MAX.into(),
            },
            Match::Any,
            Match::Any,
        ]
    };
    let packet = |last: u8| frame(0x0a01_0200 | u32::from(last), 0xc0a8_0001, 6);
    m.add_entry_with_priority("t", 5, &src(1), "won", &[1, 1])
        .unwrap();
    // One entry under the mask: a packet with another source misses, its own hits.
    m.run(&packet(2)).unwrap();
    m.run(&packet(1)).unwrap();
    assert_eq!((hits(0), hits(1)), (1, 1));
    // A second entry under the same mask: the slot no longer speaks for one entry.
    m.add_entry_with_priority("t", 5, &src(2), "won", &[2, 2])
        .unwrap();
    m.run(&packet(2)).unwrap();
    m.run(&packet(1)).unwrap();
    assert_eq!((hits(1), hits(2)), (2, 1));
    // Back to one entry: both still found as they should be.
    m.delete_entry("t", &src(1)).unwrap();
    m.run(&packet(2)).unwrap();
    m.run(&packet(1)).unwrap();
    assert_eq!((hits(0), hits(1), hits(2)), (2, 2, 2));
}

#[test]
fn a_reload_carries_a_table_into_more_masks_and_refuses_fewer() {
    let manifest = |masks: u32| {
        let text = SWAP.replace("masks = 64;", &format!("masks = {masks};"));
        let checked = iov_sema::check("swap.iov", &text, &mut iov::loader::FsLoader::new(vec![]));
        iov_codegen::build(&checked, "swap", &iov_codegen::Options::default())
            .unwrap_or_else(|_| panic!("the program builds"))
            .manifest
    };
    let (now, more, fewer) = (manifest(16), manifest(32), manifest(8));
    let fate = |new| {
        let plan = iov_runtime::carry::plan(&now, new, &[]);
        let t = plan.carry.iter().find(|c| c.name == "C.t").unwrap();
        (t.fate.clone(), t.maps.clone(), plan.refusals)
    };
    let (grown, maps, refusals) = fate(&more);
    assert_eq!(
        grown,
        iov_runtime::carry::Fate::Migrated(vec!["its masks changed from 16 to 32".into()])
    );
    assert_eq!(
        maps,
        ["t", "t_default", "t_masks"],
        "the masks map goes with the table"
    );
    assert!(refusals.is_empty(), "{refusals:?}");
    let (_, _, refusals) = fate(&fewer);
    assert_eq!(
        refusals,
        [
            "table `C.t`: its masks changed from 16 to 8",
            "start the changed objects empty with `--reset NAME...`, or keep their layout"
        ]
    );
}
