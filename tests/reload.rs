//! `iov reload` on real interfaces: the program of a running module is replaced while frames
//! flow, with its routes and counters carried over; layout changes are refused until named
//! in `--reset`.
//!
//! Uses the bench of tests/net (two namespaces joined by veth pairs, a private pin root,
//! everything removed at the end). Needs root; skips with a message otherwise, and fails
//! under CI=true.

mod net;

use net::{hex, json, privileged, Net, Stream};
use std::sync::atomic::Ordering;
use std::time::Duration;

/// To 10.1.2.3 (routed), with an 8-byte payload whose last 4 bytes carry a number.
const HIT: &str = net::ROUTED;

/// examples/router.iov with one more counter and one more statement: a different program
/// whose tables and `port_stats` keep their layout.
fn version_b(dir: &std::path::Path) -> std::path::PathBuf {
    let src = std::fs::read_to_string("examples/router.iov").unwrap();
    let b = src
        .replacen(
            "counter(256, CounterType.packets_and_bytes) port_stats;",
            "counter(256, CounterType.packets_and_bytes) port_stats;\n    counter(1, CounterType.packets) seen_by_b;",
            1,
        )
        .replacen("routes.apply();", "seen_by_b.count(0);\n        routes.apply();", 1);
    assert_ne!(src, b, "the edit applies");
    let path = dir.join("router_b.iov");
    std::fs::write(&path, b).unwrap();
    path
}

/// A scratch directory for this test's sources and objects, removed when dropped.
struct Scratch(std::path::PathBuf);

impl Scratch {
    fn new() -> Scratch {
        static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("iov-reload-{}-{n}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }
    fn path(&self) -> &std::path::Path {
        &self.0
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Router module `r1` on `va`, routing 10.0.0.0/8 out of `vc`; the port.
fn load_router(net: &Net) -> u32 {
    net.load_router("r1", &[]);
    net.route_via_vc("r1")
}

fn port_stats(net: &Net) -> (u64, u64) {
    let c = json(&net.ok(&["counters", "r1", "port_stats", "--json"]));
    let v = &c["counters"][0]["values"][0];
    (
        v["packets"].as_u64().unwrap_or(0),
        v["bytes"].as_u64().unwrap_or(0),
    )
}

#[test]
fn twenty_reloads_under_a_stream_of_frames_lose_none_and_keep_routes_and_counters() {
    if !privileged() {
        return;
    }
    let net = Net::new();
    let work = Scratch::new();
    let port = load_router(&net);
    // Both versions built once, so each reload is only the swap.
    let (a, b) = (work.path().join("a.o"), work.path().join("b.o"));
    let b_src = version_b(work.path());
    net.ok(&["build", "examples/router.iov", "-o", a.to_str().unwrap()]);
    net.ok(&["build", b_src.to_str().unwrap(), "-o", b.to_str().unwrap()]);

    let stream = Stream::start(&net, hex(HIT));
    std::thread::sleep(Duration::from_millis(200));
    let mut ids = Vec::new();
    for round in 0..20 {
        let next = if round % 2 == 0 { &b } else { &a };
        let out = json(&net.ok(&["reload", "r1", next.to_str().unwrap(), "--json"]));
        let kept: Vec<&str> = out["kept"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k.as_str().unwrap())
            .collect();
        assert!(
            kept.contains(&"table `RouterIngress.routes`")
                && kept.contains(&"counter `RouterIngress.port_stats`"),
            "round {round}: {out}"
        );
        assert_ne!(out["program_id"], out["old_program_id"], "{out}");
        ids.push(out["program_id"].as_u64().unwrap());
        std::thread::sleep(Duration::from_millis(30));
    }
    let sent = stream.finish("across 20 reloads");

    // The counter counted every frame, across all 21 programs, and the route is still there.
    assert_eq!(port_stats(&net), (u64::from(sent), u64::from(sent) * 42));
    let routes = net.ok(&["table", "r1", "list", "routes"]);
    assert!(routes.contains(&format!("port:{port})")), "{routes}");
    // The module runs the last program loaded, on its interface, and says so.
    let list = json(&net.ok(&["list", "--json"]));
    assert_eq!(
        list["modules"][0]["program_id"].as_u64(),
        ids.last().copied(),
        "{list}"
    );
    assert!(net
        .xdp_progs(&net.a, "va")
        .contains(&format!("id {}", ids.last().unwrap())));
}

#[test]
fn a_changed_layout_is_refused_until_reset_and_nothing_changes_meanwhile() {
    if !privileged() {
        return;
    }
    let net = Net::new();
    let work = Scratch::new();
    let port = load_router(&net);
    let hits: Vec<Vec<u8>> = (0..3).map(|_| hex(HIT)).collect();
    net::send(&net.b, "vb", hits.clone());
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(port_stats(&net), (3, 126));
    let before = json(&net.ok(&["list", "--json"]))["modules"][0]["program_id"].clone();

    let src = std::fs::read_to_string("examples/router.iov").unwrap();
    let smaller = work.path().join("router_small.iov");
    std::fs::write(&smaller, src.replacen("size = 65536;", "size = 1024;", 1)).unwrap();
    let err = net.fails(1, &["reload", "r1", smaller.to_str().unwrap()]);
    assert!(
        err.contains("module `r1` was not reloaded (nothing changed)")
            && err.contains("table `RouterIngress.routes`: its size changed from 65536 to 1024")
            && err.contains("--reset NAME"),
        "{err}"
    );
    let unknown = net.fails(
        1,
        &[
            "reload",
            "r1",
            smaller.to_str().unwrap(),
            "--reset",
            "nosuch",
        ],
    );
    assert!(
        unknown.contains("`--reset nosuch` names no table, counter or register"),
        "{unknown}"
    );
    // Nothing changed: same program, same route, same counts.
    assert_eq!(
        json(&net.ok(&["list", "--json"]))["modules"][0]["program_id"],
        before
    );
    assert!(net
        .ok(&["table", "r1", "list", "routes"])
        .contains(&format!("port:{port})")));

    // An object built for another hook is refused too.
    let tc = work.path().join("tc.o");
    net.ok(&["build", "examples/ipv6_acl.iov", "-o", tc.to_str().unwrap()]);
    let err = net.fails(1, &["reload", "r1", tc.to_str().unwrap()]);
    assert!(err.contains("a reload keeps the module's hook"), "{err}");

    // Named in --reset, the table starts empty (with its default) and the counter stays.
    let out = net.ok(&[
        "reload",
        "r1",
        smaller.to_str().unwrap(),
        "--reset",
        "routes",
    ]);
    assert!(
        out.contains("started empty: table `RouterIngress.routes` (reset as asked)")
            && out.contains("kept: counter `RouterIngress.port_stats`"),
        "{out}"
    );
    assert_eq!(
        net.ok(&["table", "r1", "list", "routes"]),
        "setdefault RouterIngress.routes drop_packet()\n"
    );
    assert_eq!(port_stats(&net), (3, 126), "counts carried over");
    // No route now: the frames are dropped and counted nowhere.
    net::send(&net.b, "vb", hits);
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(port_stats(&net), (3, 126));
    // The pins follow the new program: a fresh process finds the 1024-entry table.
    let list = json(&net.ok(&["list", "--json"]));
    assert_eq!(list["modules"][0]["tables"][0]["size"], 1024, "{list}");
}

#[test]
fn a_module_whose_interface_is_gone_still_reloads_on_the_others() {
    if !privileged() {
        return;
    }
    let net = Net::new();
    net.load_router("r1", &["--dev", "vc"]);
    // Deleting vc detaches its link; the reload switches the link of va and skips it.
    net::ip(&["-n", &net.a, "link", "del", "vc"]);
    let out = json(&net.ok(&["reload", "r1", "examples/router.iov", "--json"]));
    let id = out["program_id"].as_u64().unwrap();
    assert!(
        net.xdp_progs(&net.a, "va").contains(&format!("id {id}")),
        "{}",
        net.xdp_progs(&net.a, "va")
    );
    let list = json(&net.ok(&["list", "--json"]));
    let attachments = &list["modules"][0]["attachments"];
    assert_eq!(attachments[0]["attached"], true, "{list}");
    assert_eq!(attachments[1]["attached"], false, "{list}");
}

/// A program whose tables, counter and register a later version widens.
const NARROW: &str = r#"import std.net.*;
header tag_t { bit<16> id; bit<16> rest; }
struct h_t { ethernet_t eth; tag_t tag; }
parser P(packet_in pkt, out h_t hdr) {
    state start { pkt.extract(hdr.eth); pkt.extract(hdr.tag); transition accept; }
}
control C(inout h_t hdr, inout std_meta_t meta) {
    counter(4, CounterType.packets) hits;
    register<bit<16>>(2) last;
    action mark(bit<8> v) { hits.count(1); last.write(1, (bit<16>) v); }
    action fwd(bit<16> port) { send_to_port((bit<32>) port); }
    table by_id { key = { hdr.tag.id: lpm; } actions = { mark; fwd; } default_action = mark(8w0); size = 64; }
    table by_kind { key = { hdr.eth.ether_type: exact; hdr.tag.id: ternary; } actions = { mark; fwd; } default_action = mark(8w0); size = 16; }
    apply { hits.count(0); by_id.apply(); by_kind.apply(); last.write(0, (bit<16>) hdr.tag.id); }
}
deparser D(packet_out pkt, inout h_t hdr) { apply { pkt.emit(hdr.eth); pkt.emit(hdr.tag); } }
xdp(P(), C(), D()) main;
"#;

/// [`NARROW`] widened: a 24-bit key field, a 16-bit action parameter, a larger table,
/// counter and register, 32-bit register values.
fn widened() -> String {
    let w = NARROW
        .replace("bit<16> id; bit<16> rest;", "bit<24> id; bit<8> rest;")
        .replace("counter(4,", "counter(8,")
        .replace("register<bit<16>>(2)", "register<bit<32>>(4)")
        .replace("mark(bit<8> v)", "mark(bit<16> v)")
        .replace("mark(8w0)", "mark(16w0)")
        .replace("(bit<16>) v", "(bit<32>) v")
        .replace("(bit<16>) hdr.tag.id", "(bit<32>) hdr.tag.id")
        .replace("size = 64;", "size = 128;");
    assert_eq!(w.matches("bit<24>").count(), 1, "the edits apply");
    w
}

#[test]
fn a_widened_layout_is_migrated_losslessly_and_a_narrowed_one_refused() {
    if !privileged() {
        return;
    }
    let net = Net::new();
    let work = Scratch::new();
    let (v1, v2) = (
        work.path().join("tags.iov"),
        work.path().join("tags_v2.iov"),
    );
    std::fs::write(&v1, NARROW).unwrap();
    std::fs::write(&v2, widened()).unwrap();
    let (v1, v2) = (v1.to_str().unwrap(), v2.to_str().unwrap());
    let load = [
        "load", v1, "--dev", "va", "--netns", &net.a, "--mode", "generic", "--name", "t",
    ];
    net.ok(&load);
    for line in [
        ["add", "by_id", "hdr.tag.id:0x1200/8", "fwd(port:7)"].as_slice(),
        &["add", "by_id", "hdr.tag.id:0x1234", "mark(v:5)"],
        &[
            "add",
            "by_kind",
            "hdr.eth.ether_type:0x88b5",
            "hdr.tag.id:0x0010&&&0x00f0",
            "mark(v:9)",
        ],
        &["setdefault", "by_kind", "fwd(port:3)"],
    ] {
        let mut args = vec!["table", "t"];
        args.extend_from_slice(line);
        net.ok(&args);
    }
    // Three tagged frames (id 0x0016): by_id misses (mark 0), by_kind matches (mark 9).
    let frame = hex("00112233445566778899aabb88b500160000");
    net::send(&net.b, "vb", vec![frame.clone(), frame.clone(), frame]);
    std::thread::sleep(Duration::from_millis(100));
    let counts =
        |net: &Net| json(&net.ok(&["counters", "t", "--json"]))["counters"][0]["values"].clone();
    let registers =
        |net: &Net| json(&net.ok(&["registers", "t", "--json"]))["registers"][0]["values"].clone();
    let (hits, last) = (counts(&net), registers(&net));
    assert_eq!(hits[0]["packets"], 3, "{hits}");
    assert_eq!(hits[1]["packets"], 6, "{hits}");

    let out = json(&net.ok(&["reload", "t", v2, "--json"]));
    assert_eq!(
        out["migrated"],
        serde_json::json!([
            "table `C.by_id` (its size changed from 64 to 128; key field `hdr.tag.id` widened from bit<16> to bit<24>; parameter `v` of action `mark` changed from bit<8> to bit<16>)",
            "table `C.by_kind` (key field `hdr.tag.id` widened from bit<16> to bit<24>; parameter `v` of action `mark` changed from bit<8> to bit<16>)",
            "counter `C.hits` (its size changed from 4 to 8)",
            "register `C.last` (its size changed from 2 to 4; its values changed from bit<16> to bit<32>)",
        ]),
        "{out}"
    );
    // Every entry in the wider layout: an lpm prefix grown by the added bits, a ternary mask
    // covering them (both keep requiring them to be zero); defaults and counts carried.
    assert_eq!(
        net.ok(&["table", "t", "list"]),
        "add C.by_id hdr.tag.id:4608/16 fwd(port:7)\n\
         add C.by_id hdr.tag.id:4660/24 mark(v:5)\n\
         setdefault C.by_id mark(v:0)\n\
         add C.by_kind 16 hdr.eth.ether_type:34997 hdr.tag.id:16&&&0xff00f0 mark(v:9)\n\
         setdefault C.by_kind fwd(port:3)\n"
    );
    assert_eq!(counts(&net), hits);
    assert_eq!(registers(&net), last);
    // Back to the narrow version would lose bits: refused, nothing changed.
    let err = net.fails(1, &["reload", "t", v1]);
    assert!(
        err.contains("key field `hdr.tag.id` narrowed from bit<24> to bit<16>")
            && err.contains("counter `C.hits`: its size changed from 8 to 4"),
        "{err}"
    );
    assert_eq!(counts(&net), hits);
}
