//! What a tuple-space table (ternary and optional keys) costs per packet against the number
//! of live masks and entries, next to an exact table of the same entries (one hash lookup),
//! in the kernel (BPF_PROG_TEST_RUN); and how fast the runtime adds entries.
//!
//! Run as root: `cargo bench --bench tables` (`IOV_BENCH_ROUNDS=N`, default 15). Each
//! configuration is a module of its own, filled through the runtime API with `entries`
//! entries spread evenly over `masks` masks (src and dst prefixes); rounds interleave every
//! configuration, hit and miss, so drift on this shared machine hits all alike, and the table
//! gives medians. The first rows hold one entry per mask, which a missing packet passes
//! without a hash lookup. Then bulk loading: 1,000,000 exact entries and 1,000,000 lpm
//! routes written through the runtime API (`Module::add_entry`) and as one all-or-nothing
//! batch (`Module::apply_batch`, what `iov table MODULE apply` runs), each timed once into a
//! fresh module and checked by the table's occupancy and a lookup of the last entry. Every figure proves its path: a hit drops (XDP_DROP), a miss passes
//! (XDP_PASS), and the hit counter grew by exactly the runs that hit.

mod common;

use common::{build, may_run, median, rounds};
use iov_runtime::{Match, Module, Request};
use std::time::Instant;

const PROGRAM: &str = r#"
import std.net.*;
struct h_t { ethernet_t eth; ipv4_t ipv4; }
parser P(packet_in pkt, out h_t hdr) {
    state start { pkt.extract(hdr.eth); transition select(hdr.eth.ether_type) { ETHERTYPE_IPV4: ipv4; default: accept; } }
    state ipv4 { pkt.extract(hdr.ipv4); transition accept; }
}
control C(inout h_t hdr, inout std_meta_t meta) {
    counter(1, CounterType.packets) hits;
    action deny() { hits.count(0); drop(); }
    action allow() { pass(); }
    table acl {
        key = { hdr.ipv4.src: KIND; hdr.ipv4.dst: KIND; hdr.ipv4.protocol: OPTIONAL; }
        actions = { deny; allow; }
        default_action = allow();
        size = 65536;
        MASKS
    }
    apply { if (hdr.ipv4.isValid()) { acl.apply(); } }
}
deparser D(packet_out pkt, inout h_t hdr) { apply { pkt.emit(hdr.eth); pkt.emit(hdr.ipv4); } }
xdp(P(), C(), D()) main;
"#;

fn frame(src: u32, dst: u32) -> Vec<u8> {
    let mut f = vec![0u8; 12];
    f.extend([0x08, 0x00, 0x45, 0, 0, 46, 0, 1, 0x40, 0, 64, 6, 0, 0]);
    f.extend(src.to_be_bytes());
    f.extend(dst.to_be_bytes());
    f.resize(60, 0);
    f
}

fn prefix(len: u32) -> u32 {
    if len == 0 {
        0
    } else {
        u32::MAX << (32 - len)
    }
}

const REPEAT: u32 = 100_000;
const HIT: (u32, u32) = (0x0a00_0000, 0);

/// Entry `j` of mask `m` (of `masks`): src 10.0.0.0 under a prefix of 1 to 32 bits, dst a
/// distinct value under a prefix of 16 to 32 bits (`j` in its top bits). Entry 0 of every
/// mask matches `HIT`.
fn keys(m: u32, j: u32) -> [Match; 3] {
    let s = m % 32 + 1;
    let d = 16 + m / 32 * 4;
    let t = |value: u32, mask: u32| Match::Ternary {
        value: value.into(),
        mask: mask.into(),
    };
    [
        t(HIT.0 & prefix(s), prefix(s)),
        t((j << (32 - d)) & prefix(d), prefix(d)),
        Match::Any,
    ]
}

struct Config {
    masks: u32,
    entries: u32,
    module: Module,
    add_ns: f64,
}

fn config(masks: u32, entries: u32) -> Config {
    let text = PROGRAM
        .replace("KIND", "ternary")
        .replace("OPTIONAL", "optional")
        .replace("MASKS", "masks = 128;");
    let module = Module::load(&build(&text)).unwrap();
    let start = Instant::now();
    for i in 0..entries {
        let (m, j) = (i % masks, i / masks);
        module
            .add_entry_with_priority("acl", 1, &keys(m, j), "deny", &[])
            .unwrap();
    }
    let add_ns = start.elapsed().as_nanos() as f64 / f64::from(entries);
    Config {
        masks,
        entries,
        module,
        add_ns,
    }
}

fn main() {
    if !may_run("tables") {
        return;
    }
    let rounds = rounds();
    let mut configs: Vec<Config> = Vec::new();
    // One entry per mask first: a probe whose fields differ from it skips the hash lookup.
    for (entries, masks) in [(10, 10), (128, 128)] {
        configs.push(config(masks, entries));
    }
    for entries in [1_024, 65_536] {
        for masks in [1, 10, 32, 128] {
            configs.push(config(masks, entries));
        }
    }
    // The floor: one exact lookup of the same fields.
    let exact_text = PROGRAM
        .replace("KIND", "exact")
        .replace("OPTIONAL", "exact")
        .replace("MASKS", "");
    let exact = Module::load(&build(&exact_text)).unwrap();
    let start = Instant::now();
    for j in 0..65_536u32 {
        let keys = [
            Match::Exact(HIT.0.into()),
            Match::Exact((j << 16).into()),
            Match::Exact(6),
        ];
        exact.add_entry("acl", &keys, "deny", &[]).unwrap();
    }
    let exact_add_ns = start.elapsed().as_nanos() as f64 / 65_536.0;
    let (hit, miss) = (frame(HIT.0, HIT.1), frame(0x8a00_0000, 0x0100_0000));
    let run = |m: &Module, f: &[u8], verdict: u32| {
        let r = m.run_repeat(f, REPEAT).unwrap();
        assert_eq!(
            r.retval, verdict,
            "1 XDP_DROP on a hit, 2 XDP_PASS on a miss"
        );
        f64::from(r.avg_ns)
    };
    let mut hit_ns = vec![Vec::new(); configs.len()];
    let mut miss_ns = vec![Vec::new(); configs.len()];
    let (mut exact_hit, mut exact_miss) = (Vec::new(), Vec::new());
    for _ in 0..rounds {
        exact_hit.push(run(&exact, &hit, 1));
        exact_miss.push(run(&exact, &miss, 2));
        for (i, c) in configs.iter().enumerate() {
            hit_ns[i].push(run(&c.module, &hit, 1));
            miss_ns[i].push(run(&c.module, &miss, 2));
        }
    }
    let runs = u64::from(REPEAT) * rounds as u64;
    for m in configs.iter().map(|c| &c.module).chain([&exact]) {
        assert_eq!(m.counter("hits", 0).unwrap().0, runs, "every hit counted");
    }
    println!("tuple-space table lookups vs live masks and entries (ns per packet, median of {rounds} interleaved rounds of {REPEAT})");
    println!(
        "{:>8} {:>6} {:>8} {:>8} {:>12} {:>12}",
        "entries", "masks", "hit", "miss", "hit/exact", "add (us)"
    );
    let (eh, em) = (median(exact_hit), median(exact_miss));
    println!(
        "{:>8} {:>6} {:>8.1} {:>8.1} {:>12} {:>12.2}",
        65_536,
        "exact",
        eh,
        em,
        "1.00",
        exact_add_ns / 1000.0
    );
    for (i, c) in configs.iter().enumerate() {
        let h = median(hit_ns[i].clone());
        println!(
            "{:>8} {:>6} {:>8.1} {:>8.1} {:>12.2} {:>12.2}",
            c.entries,
            c.masks,
            h,
            median(miss_ns[i].clone()),
            h / eh,
            c.add_ns / 1000.0
        );
    }
    bulk();
}

const BULK: &str = r#"
import std.net.*;
struct h_t { ethernet_t eth; ipv4_t ipv4; }
parser P(packet_in pkt, out h_t hdr) {
    state start { pkt.extract(hdr.eth); transition select(hdr.eth.ether_type) { ETHERTYPE_IPV4: ipv4; default: accept; } }
    state ipv4 { pkt.extract(hdr.ipv4); transition accept; }
}
control C(inout h_t hdr, inout std_meta_t meta) {
    action deny() { drop(); }
    action to(bit<32> port) { send_to_port(port); }
    table flows {
        key = { hdr.ipv4.src: exact; hdr.ipv4.dst: exact; }
        actions = { deny; }
        size = 1048576;
    }
    table routes {
        key = { hdr.ipv4.dst: lpm; }
        actions = { to; }
        size = 1048576;
    }
    apply { if (hdr.ipv4.isValid()) { if (!flows.apply().hit) { routes.apply(); } } }
}
deparser D(packet_out pkt, inout h_t hdr) { apply { pkt.emit(hdr.eth); pkt.emit(hdr.ipv4); } }
xdp(P(), C(), D()) main;
"#;

const MILLION: u32 = 1_000_000;

/// Entry `i` of the exact table and route `i` (a /24 under 0.0.0.0/4 to 15.255.255.0/24).
fn flow(i: u32) -> Vec<Match> {
    vec![Match::Exact(0x0a00_0000), Match::Exact(i.into())]
}
fn route(i: u32) -> Vec<Match> {
    vec![Match::Prefix {
        value: u128::from(i << 8),
        len: 24,
    }]
}

/// A million adds to `table`, as `iov table MODULE apply` hands them over once parsed.
fn requests(table: &str) -> Vec<Request> {
    (0..MILLION)
        .map(|i| {
            let (keys, action, args) = if table == "flows" {
                (flow(i), "deny", vec![])
            } else {
                (route(i), "to", vec![("port".to_string(), u128::from(i))])
            };
            let names = if table == "flows" {
                vec!["hdr.ipv4.src", "hdr.ipv4.dst"]
            } else {
                vec!["hdr.ipv4.dst"]
            };
            Request::Add {
                table: table.into(),
                priority: None,
                keys: names.into_iter().map(String::from).zip(keys).collect(),
                action: action.into(),
                args,
            }
        })
        .collect()
}

/// Times one way of writing a million entries into a fresh module; checks they are there.
fn load_million(object: &[u8], table: &str, how: &str) -> f64 {
    let m = Module::load(object).unwrap();
    let requests = if how == "batch" {
        requests(table)
    } else {
        Vec::new()
    };
    let start = Instant::now();
    match (table, how) {
        ("flows", "api") => {
            for i in 0..MILLION {
                m.add_entry("flows", &flow(i), "deny", &[]).unwrap();
            }
        }
        ("routes", "api") => {
            for i in 0..MILLION {
                m.add_entry("routes", &route(i), "to", &[i.into()]).unwrap();
            }
        }
        _ => m.apply_batch(&requests).unwrap(),
    }
    let secs = start.elapsed().as_secs_f64();
    assert_eq!(
        m.occupancy(table).unwrap().entries,
        MILLION,
        "every entry went in"
    );
    // The last route answers a packet to its /24.
    if table == "routes" {
        let dst = (MILLION - 1) << 8 | 7;
        let pkt = frame(0x0b00_0000, dst);
        assert_eq!(
            m.run(&pkt).unwrap().retval,
            4,
            "XDP_REDIRECT by the last route"
        );
    }
    secs
}

fn bulk() {
    let object = build(BULK);
    println!("bulk loading into a fresh module (seconds for 1,000,000 entries, one run each)");
    println!("{:>8} {:>10} {:>10}", "table", "api", "batch");
    for (table, kind) in [("flows", "exact"), ("routes", "lpm")] {
        let api = load_million(&object, table, "api");
        let batch = load_million(&object, table, "batch");
        println!("{:>8} {:>10.2} {:>10.2}", kind, api, batch);
    }
}
