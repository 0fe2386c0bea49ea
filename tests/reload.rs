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
