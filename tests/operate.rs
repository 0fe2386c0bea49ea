//! Operating modules from the command line, on real interfaces: `iov load`, `table`,
//! `counters`, `list`, `unload`, across network namespaces joined by veth pairs.
//!
//! Each test makes its own namespaces and its own pin root (`IOV_PIN_ROOT` under
//! /sys/fs/bpf), and a guard removes both, and unloads what it loaded, even when the test
//! fails. Every `iov` call is a separate process, so each one reopens the module by name.
//! Needs root; skips with a message otherwise, and fails under CI=true.

mod net;

use net::{hex, ip, json, privileged, send_and_capture, Net};
use std::path::{Path, PathBuf};
use std::process::Command;

/// To 10.1.2.3 (routed), and the same after the router: MACs rewritten, TTL 63, checksum
/// recomputed (as in examples/router.stf).
const HIT: &str = net::ROUTED;
const HIT_OUT: &str =
    "02000000000202000000000108004500001c000040003f116f24c0a800010a0102030000000000000000";
/// To 172.16.0.9: no route, so the default action drops it.
const MISS: &str =
    "001122334455aabbccddeeff08004500001c000040004011ce0ec0a80001ac1000090000000000000000";

#[test]
fn a_router_in_another_namespace_forwards_real_frames_and_is_controlled_by_name() {
    if !privileged() {
        return;
    }
    let net = Net::new();
    let loaded = json(&net.load_router("r1", &["--json"]));
    assert_eq!(loaded["attachments"][0]["mode"], "generic");
    let prog_id = loaded["program_id"].as_u64().unwrap();
    assert!(
        net.xdp_progs(&net.a, "va")
            .contains(&format!("id {prog_id}")),
        "{}",
        net.xdp_progs(&net.a, "va")
    );

    // Routed out of vc (towards vd in B).
    let port = net.route_via_vc("r1");
    let listed = net.ok(&["table", "r1", "list", "routes"]);
    assert_eq!(
        listed,
        format!(
            "add RouterIngress.routes hdr.ipv4.dst:10.0.0.0/8 forward(dst_mac:02:00:00:00:00:02, \
             src_mac:02:00:00:00:00:01, port:{port})\nsetdefault RouterIngress.routes drop_packet()\n"
        )
    );

    let frames = vec![hex(HIT), hex(MISS), hex(HIT), hex(MISS), hex(HIT)];
    let got = send_and_capture(&net.b, "vb", "vd", frames);
    let forwarded: Vec<&Vec<u8>> = got
        .iter()
        .filter(|f| f.len() >= 14 && f[12..14] == [8, 0])
        .collect();
    assert_eq!(
        forwarded.len(),
        3,
        "three routed frames arrive, the misses do not: {got:02x?}"
    );
    for f in forwarded {
        assert_eq!(*f, hex(HIT_OUT), "rewritten as the router does");
    }

    // Counters from another process, summed over CPUs: 3 frames of 42 bytes out of `port`.
    let counters = json(&net.ok(&["counters", "r1", "--json"]));
    let values = &counters["counters"][0]["values"];
    assert_eq!(
        counters["counters"][0]["counter"],
        "RouterIngress.port_stats"
    );
    assert_eq!(values.as_array().unwrap().len(), 1, "{counters}");
    assert_eq!(values[0]["index"], port);
    assert_eq!(values[0]["packets"], 3);
    assert_eq!(values[0]["bytes"], 3 * 42);

    let list = json(&net.ok(&["list", "--json"]));
    let m = &list["modules"][0];
    assert_eq!(m["name"], "r1");
    assert_eq!(m["hook"], "xdp");
    assert_eq!(m["program_id"], prog_id);
    assert_eq!(m["attachments"][0]["iface"], "va");
    assert_eq!(m["attachments"][0]["attached"], true);
    assert_eq!(
        m["attachments"][0]["netns"],
        format!("/run/netns/{}", net.a)
    );
    assert_eq!(m["tables"][0]["entries"], 1);
    assert_eq!(m["tables"][0]["size"], 65536);

    // Deleting the route: now every frame misses and is dropped.
    net.ok(&["table", "r1", "del", "routes", "dst:10.0.0.0/8"]);
    let got = send_and_capture(&net.b, "vb", "vd", vec![hex(HIT)]);
    assert!(
        got.iter().all(|f| f != &hex(HIT_OUT)),
        "no route, no forwarding"
    );

    let out = net.ok(&["unload", "r1"]);
    assert_eq!(out, "unloaded `r1` (was on va)\n");
    assert_eq!(net.pins(), Vec::<String>::new(), "no pins left");
    assert_eq!(net.xdp_progs(&net.a, "va"), "", "no program left on va");
}

#[test]
fn a_module_survives_its_interface_and_tc_modules_attach_through_tcx() {
    if !privileged() {
        return;
    }
    let net = Net::new();
    let ns = net.a.as_str();
    net.ok(&[
        "load",
        "examples/vlan_filter.iov",
        "--dev",
        "vc",
        "--netns",
        ns,
        "--name",
        "tc1",
    ]);
    let list = json(&net.ok(&["list", "--json"]));
    assert_eq!(list["modules"][0]["hook"], "tc-ingress");
    assert_eq!(list["modules"][0]["attachments"][0]["attached"], true);
    // The namespace disappears under the module: the link is defunct, the module is still
    // listed and unloads cleanly.
    ip(&["-n", ns, "link", "del", "vc"]);
    let list = json(&net.ok(&["list", "--json"]));
    assert_eq!(
        list["modules"][0]["attachments"][0]["attached"], false,
        "{list}"
    );
    assert!(net
        .ok(&["list"])
        .contains("DETACHED: the interface is gone"));
    net.ok(&["unload", "tc1"]);
    assert_eq!(net.pins(), Vec::<String>::new());
}

#[test]
fn auto_mode_falls_back_to_generic_xdp_with_a_notice() {
    if !privileged() {
        return;
    }
    let net = Net::new();
    // A bridge has no native XDP.
    ip(&["-n", &net.a, "link", "add", "dum0", "type", "bridge"]);
    let out = net.iov(&[
        "load",
        "examples/router.iov",
        "--dev",
        "dum0",
        "--netns",
        &net.a,
        "--name",
        "d1",
    ]);
    let err = String::from_utf8_lossy(&out.stderr).replace("\n  │ ", " ");
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains("note: native XDP is not available on `dum0`"),
        "{err}"
    );
    assert!(err.contains("attached in generic mode instead"), "{err}");
    let list = json(&net.ok(&["list", "--json"]));
    assert_eq!(list["modules"][0]["attachments"][0]["mode"], "generic");
    let err = net.fails(
        1,
        &[
            "load",
            "examples/router.iov",
            "--dev",
            "dum0",
            "--netns",
            &net.a,
            "--name",
            "d2",
            "--mode",
            "native",
        ],
    );
    assert!(err.contains("module `d1` is attached to `dum0`"), "{err}");
    net.ok(&["unload", "d1"]);
    // Asked for native where there is none: an environment error (2) that says what to do.
    let err = net.fails(
        2,
        &[
            "load",
            "examples/router.iov",
            "--dev",
            "dum0",
            "--netns",
            &net.a,
            "--name",
            "d2",
            "--mode",
            "native",
        ],
    );
    assert!(err.contains("attaching to `dum0` failed"), "{err}");
    assert!(err.contains("attach in generic mode"), "{err}");
    assert_eq!(net.pins(), Vec::<String>::new());
}

#[test]
fn an_object_loaded_by_bpftool_alone_runs_the_declared_default_on_a_miss() {
    if !privileged() {
        return;
    }
    let dir = std::env::temp_dir().join(format!("iov-bpftool-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let obj = dir.join("router.o");
    let out = Command::new(env!("CARGO_BIN_EXE_iov"))
        .args(["build", "examples/router.iov", "-o"])
        .arg(&obj)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // bpffs may not be mounted yet (a new mount over a mounted one would hide its pins).
    let bpffs = Path::new("/sys/fs/bpf");
    if !iov_runtime::is_bpffs(bpffs) {
        let _ = Command::new("mount")
            .args(["-t", "bpf", "bpf", "/sys/fs/bpf"])
            .output();
    }
    let pin = bpffs.join(format!("iov-bpftool-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&pin);
    struct Cleanup(PathBuf, PathBuf);
    impl Drop for Cleanup {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
            let _ = std::fs::remove_dir_all(&self.1);
        }
    }
    let _cleanup = Cleanup(pin.clone(), dir.clone());
    let out = Command::new("bpftool")
        .args(["prog", "loadall"])
        .arg(&obj)
        .arg(&pin)
        .args(["type", "xdp"])
        .output()
        .expect("bpftool");
    assert!(
        out.status.success(),
        "bpftool prog loadall: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let prog = std::fs::read_dir(&pin)
        .unwrap()
        .flatten()
        .next()
        .unwrap()
        .path();
    let run = |frame: &str| {
        let data = dir.join("in.bin");
        std::fs::write(&data, hex(frame)).unwrap();
        let out = Command::new("bpftool")
            .args(["prog", "run", "pinned"])
            .arg(&prog)
            .arg("data_in")
            .arg(&data)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            out.status.success(),
            "{text}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        text
    };
    // No entries and a default slot nobody wrote: the declared `drop_packet()` runs
    // (XDP_DROP = 1), not whatever action id 0 would mean.
    let miss = run(MISS);
    assert!(miss.contains("Return value: 1,"), "{miss}");
    // Not IPv4: passed (XDP_PASS = 2), so the verdict above is the table's doing.
    let arp =
        run("001122334455aabbccddeeff080600000000000000000000000000000000000000000000000000000000");
    assert!(arp.contains("Return value: 2,"), "{arp}");
}

/// SSH SYN from 10.1.1.1 (denied by the firewall's const entry) and HTTP from the same host
/// (allowed), as in examples/firewall.stf.
const SSH_SYN: &str = "001122334455aabbccddeeff0800450000280000400040066f250a010101c0a800019c40001600000001000000005002200000000000";
const HTTP: &str = "001122334455aabbccddeeff0800450000280000400040066f250a010101c0a800019c40005000000001000000005010200000000000";

#[test]
fn const_entries_registers_and_counters_of_a_firewall_from_the_command_line() {
    if !privileged() {
        return;
    }
    let net = Net::new();
    let ns = net.a.as_str();
    net.ok(&[
        "load",
        "examples/firewall.iov",
        "--dev",
        "va",
        "--netns",
        ns,
        "--mode",
        "generic",
    ]);
    // The default name is the file's.
    assert_eq!(net.pins(), vec!["firewall".to_string()]);
    send_and_capture(
        &net.b,
        "vb",
        "vb",
        vec![hex(SSH_SYN), hex(HTTP), hex(SSH_SYN)],
    );
    // The const entry was installed by `iov load`: both SYNs denied, HTTP allowed.
    assert_eq!(
        net.ok(&["counters", "firewall", "verdicts"]),
        "FwIngress.verdicts[0] packets 1\nFwIngress.verdicts[1] packets 2\n"
    );
    assert_eq!(
        net.ok(&["registers", "firewall"]),
        "FwIngress.syn_seen[0] = 2\n"
    );
    assert_eq!(
        net.ok(&["registers", "firewall", "syn_seen", "0", "0x100"]),
        "syn_seen[0] = 256\n"
    );
    let read = json(&net.ok(&["registers", "firewall", "syn_seen", "0", "--json"]));
    assert_eq!(read["value"], "256");
    let err = net.fails(1, &["registers", "firewall", "syn_seen", "1", "5"]);
    assert!(
        err.contains("index 1 is out of range for register `FwIngress.syn_seen` of size 1"),
        "{err}"
    );
    let err = net.fails(
        1,
        &[
            "registers",
            "firewall",
            "syn_seen",
            "0",
            "0x10000000000000000",
        ],
    );
    assert!(err.contains("does not fit in 64 bits"), "{err}");
    assert_eq!(
        net.ok(&["registers", "firewall", "syn_seen", "0"]),
        "syn_seen[0] = 256\n"
    );

    // Const entries are listed commented out, and cannot be changed.
    let listed = net.ok(&["table", "firewall", "list"]);
    assert_eq!(
        listed,
        "# const: add FwIngress.acl 1 hdr.ipv4.src:10.0.0.0&&&255.0.0.0 hdr.ipv4.dst:0.0.0.0&&&0.0.0.0 \
         hdr.ipv4.protocol:6 hdr.tcp.dst_port:22..22 deny()\nsetdefault FwIngress.acl allow()\n"
    );
    let err = net.fails(
        1,
        &[
            "table",
            "firewall",
            "add",
            "acl",
            "src:_",
            "dst:_",
            "protocol:17",
            "dst_port:_",
            "deny()",
        ],
    );
    assert!(
        err.contains("the entries of table `FwIngress.acl` are `const`"),
        "{err}"
    );
    // The default is not const: changing it takes effect on the next packet.
    net.ok(&["table", "firewall", "setdefault", "acl", "deny()"]);
    send_and_capture(&net.b, "vb", "vb", vec![hex(HTTP)]);
    assert_eq!(
        net.ok(&["counters", "firewall", "verdicts"]),
        "FwIngress.verdicts[0] packets 1\nFwIngress.verdicts[1] packets 3\n"
    );
    net.ok(&["unload", "firewall"]);
}

#[test]
fn one_module_on_several_interfaces_shares_its_program_and_unloads_from_all() {
    if !privileged() {
        return;
    }
    let net = Net::new();
    let ns = net.a.as_str();
    let loaded = json(&net.ok(&[
        "load",
        "examples/router.iov",
        "--dev",
        "va",
        "--dev",
        "vc",
        "--netns",
        ns,
        "--mode",
        "generic",
        "--name",
        "two",
        "--json",
    ]));
    let id = loaded["program_id"].as_u64().unwrap();
    assert_eq!(loaded["attachments"].as_array().unwrap().len(), 2);
    for dev in ["va", "vc"] {
        assert!(
            net.xdp_progs(ns, dev).contains(&format!("id {id}")),
            "{dev}"
        );
    }
    let list = json(&net.ok(&["list", "--json"]));
    let ifaces: Vec<&str> = list["modules"][0]["attachments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["iface"].as_str().unwrap())
        .collect();
    assert_eq!(ifaces, ["va", "vc"]);
    assert_eq!(
        net.ok(&["unload", "two"]),
        "unloaded `two` (was on va, vc)\n"
    );
    assert_eq!(net.xdp_progs(ns, "va"), "");
    assert_eq!(net.xdp_progs(ns, "vc"), "");
    assert_eq!(net.pins(), Vec::<String>::new());
}
