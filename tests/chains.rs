//! Chains on real interfaces: modules built with the command line run one after another on
//! one hook of one interface; each drops, rewrites or forwards real frames; stages join and
//! leave under a stream of frames without losing one; bad requests change nothing.
//!
//! Uses the bench of tests/net (two namespaces joined by veth pairs, a private pin root,
//! everything removed at the end). Needs root; skips with a message otherwise, and fails
//! under CI=true.

mod net;

use net::{
    frame, hex, json, privileged, send_and_capture, Net, Stream, IN_MACS, OUT_MACS, SSH_SYN, UDP,
};
use std::time::Duration;

/// A frame from vb's side of the wire, untagged (see `net::frame`).
fn ipv4(ttl: u8, macs: [[u8; 6]; 2], src: [u8; 4], dst: [u8; 4], proto: u8, l4: &[u8]) -> Vec<u8> {
    frame(None, ttl, macs, (src, dst), proto, l4)
}

/// Chain `edge` on `va` (A) at `hook`: firewall -> nat -> router, built from examples/ by
/// the command line; nat translates 203.0.113.10 to 10.0.0.10, the router sends 10/8 out of
/// `vc`.
fn edge_chain(net: &Net, hook: &str) {
    let mut create = vec!["chain", "create", "edge", "--dev", "va", "--netns", &net.a];
    create.extend_from_slice(&["--hook", hook]);
    if hook == "xdp" {
        create.extend_from_slice(&["--mode", "generic"]);
    }
    net.ok(&create);
    for (file, name) in [
        ("examples/firewall.iov", "fw"),
        ("examples/nat.iov", "nat"),
        ("examples/router.iov", "r"),
    ] {
        net.ok(&["load", file, "--chain", "edge", "--name", name]);
    }
    net.ok(&[
        "table",
        "nat",
        "add",
        "dnat",
        "hdr.ipv4.dst:203.0.113.10",
        "translate(private_dst:10.0.0.10)",
    ]);
    net.route_via_vc("r");
}

fn stages(net: &Net) -> Vec<(String, u64)> {
    let show = json(&net.ok(&["chain", "show", "edge", "--json"]));
    show["stages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["name"].as_str().unwrap().to_string(),
                s["packets"].as_u64().unwrap(),
            )
        })
        .collect()
}

fn names(stages: &[(String, u64)]) -> Vec<&str> {
    stages.iter().map(|(n, _)| n.as_str()).collect()
}

#[test]
fn a_firewall_nat_router_chain_drops_rewrites_and_forwards_real_frames_at_both_hooks() {
    if !privileged() {
        return;
    }
    for hook in ["xdp", "tc-ingress"] {
        let net = Net::new();
        edge_chain(&net, hook);
        let deny = ipv4(64, IN_MACS, [10, 2, 2, 2], [10, 1, 2, 3], 6, &SSH_SYN);
        let dnat = ipv4(64, IN_MACS, [192, 0, 2, 1], [203, 0, 113, 10], 17, &UDP);
        let plain = ipv4(64, IN_MACS, [192, 0, 2, 1], [10, 1, 2, 3], 17, &UDP);
        let no_route = ipv4(64, IN_MACS, [192, 0, 2, 1], [198, 51, 100, 1], 17, &UDP);
        let frames = vec![deny, dnat, plain.clone(), no_route];
        let got = send_and_capture(&net.b, "vb", "vd", frames);
        let ipv4_out: Vec<&Vec<u8>> = got
            .iter()
            .filter(|f| f.len() >= 14 && f[12..14] == [8, 0])
            .collect();
        // The firewall dropped the SSH SYN from 10/8, nat translated the second frame, the
        // router rewrote and forwarded both routed frames and dropped the unroutable one.
        let translated = ipv4(63, OUT_MACS, [192, 0, 2, 1], [10, 0, 0, 10], 17, &UDP);
        let routed = ipv4(63, OUT_MACS, [192, 0, 2, 1], [10, 1, 2, 3], 17, &UDP);
        assert_eq!(
            ipv4_out,
            vec![&translated, &routed],
            "{hook}: what arrives on vd: {got:02x?}"
        );
        // Per hop: every frame entered the chain and the firewall; one stopped there.
        let show = json(&net.ok(&["chain", "show", "edge", "--json"]));
        assert_eq!(show["hook"], hook, "{show}");
        assert_eq!(show["packets"], 4, "{hook}: {show}");
        assert_eq!(
            stages(&net),
            vec![("fw".into(), 4), ("nat".into(), 3), ("r".into(), 3)],
            "{hook}: {show}"
        );
        let verdicts = json(&net.ok(&["counters", "fw", "FwIngress.verdicts", "--json"]));
        assert_eq!(
            verdicts["counters"][0]["values"][1]["packets"], 1,
            "{verdicts}"
        );
        let translated = json(&net.ok(&["counters", "nat", "--json"]));
        assert_eq!(
            translated["counters"][0]["values"][0]["packets"], 1,
            "{translated}"
        );
        // `iov list` shows the chain and its stages for what they are.
        let list = json(&net.ok(&["list", "--json"]));
        let roles: Vec<String> = list["modules"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| format!("{}:{}", m["name"], m["chain"]))
            .collect();
        assert_eq!(
            roles,
            vec![
                r#""edge":{"role":"chain"}"#,
                r#""fw":{"chain":"edge","role":"stage"}"#,
                r#""nat":{"chain":"edge","role":"stage"}"#,
                r#""r":{"chain":"edge","role":"stage"}"#,
            ],
            "{list}"
        );
        // Deleting the chain detaches it and unloads its stages: frames reach the kernel.
        let deleted = json(&net.ok(&["chain", "delete", "edge", "--json"]));
        assert_eq!(deleted["unloaded"], serde_json::json!(["fw", "nat", "r"]));
        assert!(net.pins().is_empty(), "{:?}", net.pins());
        assert_eq!(net.xdp_progs(&net.a, "va"), "");
        let got = send_and_capture(&net.b, "vb", "vd", vec![plain]);
        assert!(
            !got.iter().any(|f| f == &routed),
            "{hook}: nothing routes now"
        );
    }
}

#[test]
fn stages_join_leave_and_reload_under_a_stream_of_frames_without_losing_one() {
    if !privileged() {
        return;
    }
    let net = Net::new();
    edge_chain(&net, "xdp");
    let head = json(&net.ok(&["chain", "show", "edge", "--json"]))["program_id"].clone();
    let stream = Stream::start(&net, hex(net::ROUTED));
    std::thread::sleep(Duration::from_millis(200));
    // A monitor joins between nat and the router, the nat is reloaded, the monitor leaves,
    // the firewall leaves: each an atomic switch of one slot; the chain stays attached.
    net.ok(&[
        "load",
        "examples/monitor.iov",
        "--chain",
        "edge",
        "--name",
        "mon",
        "--after",
        "nat",
    ]);
    assert_eq!(names(&stages(&net)), ["fw", "nat", "mon", "r"]);
    std::thread::sleep(Duration::from_millis(150));
    let reloaded = json(&net.ok(&["reload", "nat", "examples/nat.iov", "--json"]));
    assert!(
        reloaded["kept"]
            .as_array()
            .unwrap()
            .contains(&serde_json::json!("table `NatIngress.dnat`")),
        "{reloaded}"
    );
    std::thread::sleep(Duration::from_millis(150));
    let mid = stages(&net);
    net.ok(&["unload", "mon"]);
    std::thread::sleep(Duration::from_millis(150));
    net.ok(&["unload", "fw"]);
    assert_eq!(names(&stages(&net)), ["nat", "r"]);
    std::thread::sleep(Duration::from_millis(150));
    net.ok(&[
        "load",
        "examples/firewall.iov",
        "--chain",
        "edge",
        "--name",
        "fw",
        "--before",
        "nat",
    ]);
    std::thread::sleep(Duration::from_millis(150));
    let sent = stream.finish("while stages joined, left and reloaded");

    let show = json(&net.ok(&["chain", "show", "edge", "--json"]));
    assert_eq!(show["program_id"], head, "the chain was never detached");
    assert_eq!(show["packets"].as_u64(), Some(u64::from(sent)), "{show}");
    let end = stages(&net);
    assert_eq!(names(&end), ["fw", "nat", "r"]);
    // The router and the nat saw every frame (nat's count carried over its reload); the
    // monitor saw some while it was in; the firewall only those after it came back.
    let count = |s: &[(String, u64)], n: &str| s.iter().find(|(m, _)| m == n).unwrap().1;
    assert_eq!(count(&end, "r"), u64::from(sent), "{show}");
    assert_eq!(count(&end, "nat"), u64::from(sent), "{show}");
    assert!(
        count(&mid, "mon") > 0 && count(&end, "fw") < u64::from(sent),
        "{mid:?} {end:?}"
    );
    let dnat = net.ok(&["table", "nat", "list", "dnat"]);
    assert!(dnat.contains("10.0.0.10"), "{dnat}");
}

#[test]
fn bad_chain_requests_are_refused_and_change_nothing() {
    if !privileged() {
        return;
    }
    let net = Net::new();
    edge_chain(&net, "xdp");
    let before = stages(&net);
    let pins = net.pins();
    let tmp = std::env::temp_dir();
    let work = tmp.join(format!("iov-chains-{}.o", std::process::id()));
    net.ok(&[
        "build",
        "examples/ipv6_acl.iov",
        "--chain-stage",
        "-o",
        work.to_str().unwrap(),
    ]);
    // The router as `iov build` makes it by default: no chain maps, no hand-over.
    let alone = tmp.join(format!("iov-chains-alone-{}.o", std::process::id()));
    net.ok(&[
        "build",
        "examples/router.iov",
        "-o",
        alone.to_str().unwrap(),
    ]);
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec![
                "load",
                alone.to_str().unwrap(),
                "--chain",
                "edge",
                "--name",
                "r2",
            ],
            "`r2` cannot join a chain: its object was not built as a stage; give the .iov \
             source, or build it with `iov build --chain-stage`",
        ),
        (
            vec!["reload", "r", alone.to_str().unwrap()],
            "`r` is a stage of a chain, and the new object was not built as one; give the \
             .iov source, or build it with `iov build --chain-stage`",
        ),
        (
            vec![
                "load",
                work.to_str().unwrap(),
                "--chain",
                "edge",
                "--name",
                "acl",
            ],
            "the object was built for hook tc-ingress and cannot run at xdp",
        ),
        (
            vec![
                "load",
                "examples/nat.iov",
                "--chain",
                "edge",
                "--name",
                "nat",
            ],
            "`nat` is already a stage of chain `edge`; take it out first",
        ),
        (
            vec![
                "load",
                "examples/monitor.iov",
                "--chain",
                "edge",
                "--before",
                "nope",
            ],
            "`nope` is not a stage of chain `edge`; its stages, in order: fw, nat, r",
        ),
        (
            vec!["load", "examples/monitor.iov", "--chain", "nochain"],
            "`nochain` is not a chain (nothing of that name is loaded); chains: edge",
        ),
        (
            vec!["load", "examples/monitor.iov", "--chain", "r"],
            "`r` is not a chain (it is a stage of chain `edge`); chains: edge",
        ),
        (
            vec!["unload", "edge"],
            "`edge` is a chain; delete it with `iov chain delete edge`",
        ),
        (
            vec!["reload", "edge", "examples/router.iov"],
            "`edge` is a chain, whose program iov provides; reload its stages",
        ),
        (
            vec!["chain", "show", "r"],
            "`r` is not a chain (it is a stage of chain `edge`)",
        ),
        (
            vec!["chain", "create", "edge2", "--dev", "va", "--netns", &net.a],
            "chain `edge` is attached to `va` at xdp already; load modules into it",
        ),
        (
            vec![
                "load",
                "examples/router.iov",
                "--dev",
                "va",
                "--netns",
                &net.a,
            ],
            "chain `edge` is attached to `va` at xdp already; load modules into it",
        ),
    ];
    for (args, message) in &cases {
        let err = net.fails(1, args);
        assert!(err.contains(message), "iov {args:?}: {err}");
        assert_eq!(stages(&net), before, "iov {args:?} changed the chain");
        assert_eq!(net.pins(), pins, "iov {args:?} left pins");
    }
    let _ = std::fs::remove_file(work);
    let _ = std::fs::remove_file(alone);
}
