//! Traffic classes on real interfaces: one chain's head hands each class of packets (by
//! destination prefix, by VLAN, by priority where they overlap) to the class's own chain
//! and every other packet to its own stages; classes come and go under a stream of frames
//! without losing one; bad requests change nothing.
//!
//! Uses the bench of tests/net (two namespaces joined by veth pairs, a private pin root,
//! everything removed at the end). Needs root; skips with a message otherwise, and fails
//! under CI=true.

mod net;

use net::{
    frame, hex, json, privileged, send_and_capture, Net, Stream, IN_MACS, OUT_MACS, SSH_SYN, UDP,
};
use std::time::Duration;

/// Chain `edge` on `va` at `hook`: firewall -> router; and its class `web` (destination
/// 10.1.0.0/16): a router alone, so the firewall does not see web's packets.
fn edge_with_web(net: &Net, hook: &str) {
    let mut create = vec!["chain", "create", "edge", "--dev", "va", "--netns", &net.a];
    create.extend_from_slice(&["--hook", hook]);
    if hook == "xdp" {
        create.extend_from_slice(&["--mode", "generic"]);
    }
    net.ok(&create);
    net.ok(&[
        "load",
        "examples/firewall.iov",
        "--chain",
        "edge",
        "--name",
        "fw",
    ]);
    net.ok(&[
        "load",
        "examples/router.iov",
        "--chain",
        "edge",
        "--name",
        "r",
    ]);
    net.route_via_vc("r");
    let made = json(&net.ok(&[
        "chain",
        "create",
        "web",
        "--parent",
        "edge",
        "--dst",
        "10.1.0.0/16",
        "--json",
    ]));
    assert_eq!(made["priority"], 17, "{made}");
    net.ok(&[
        "load",
        "examples/router.iov",
        "--chain",
        "web",
        "--name",
        "r2",
    ]);
    net.route_via_vc("r2");
}

fn hops(v: &serde_json::Value) -> Vec<(String, u64)> {
    v["stages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["name"].as_str().unwrap().into(),
                s["packets"].as_u64().unwrap(),
            )
        })
        .collect()
}

#[test]
fn a_class_by_destination_runs_its_own_chain_and_other_packets_run_the_chains_at_both_hooks() {
    if !privileged() {
        return;
    }
    for hook in ["xdp", "tc-ingress"] {
        let net = Net::new();
        edge_with_web(&net, hook);
        let web_ssh = frame(
            None,
            64,
            IN_MACS,
            ([10, 2, 2, 2], [10, 1, 2, 3]),
            6,
            &SSH_SYN,
        );
        let other_ssh = frame(
            None,
            64,
            IN_MACS,
            ([10, 2, 2, 2], [10, 3, 0, 1]),
            6,
            &SSH_SYN,
        );
        let other_udp = frame(None, 64, IN_MACS, ([192, 0, 2, 1], [10, 3, 0, 1]), 17, &UDP);
        let got = send_and_capture(&net.b, "vb", "vd", vec![web_ssh, other_ssh, other_udp]);
        let ipv4_out: Vec<&Vec<u8>> = got
            .iter()
            .filter(|f| f.len() >= 14 && f[12..14] == [8, 0])
            .collect();
        // web's SSH SYN skipped the firewall and was routed by web's router; the other
        // SYN met edge's firewall; the other UDP frame was routed by edge's router.
        let web_routed = frame(
            None,
            63,
            OUT_MACS,
            ([10, 2, 2, 2], [10, 1, 2, 3]),
            6,
            &SSH_SYN,
        );
        let routed = frame(
            None,
            63,
            OUT_MACS,
            ([192, 0, 2, 1], [10, 3, 0, 1]),
            17,
            &UDP,
        );
        assert_eq!(ipv4_out, vec![&web_routed, &routed], "{hook}: {got:02x?}");
        let show = json(&net.ok(&["chain", "show", "edge", "--json"]));
        assert_eq!(show["packets"], 3, "{hook}: {show}");
        assert_eq!(
            hops(&show),
            [("fw".into(), 2), ("r".into(), 1)],
            "{hook}: {show}"
        );
        let classes = show["classes"].as_array().unwrap();
        assert_eq!(classes.len(), 1, "{show}");
        assert_eq!(classes[0]["name"], "web");
        assert_eq!(
            classes[0]["match"],
            serde_json::json!({"vlan": null, "dst": "10.1.0.0/16"})
        );
        assert_eq!(classes[0]["packets"], 1, "{hook}: {show}");
        assert_eq!(hops(&classes[0]), [("r2".into(), 1)], "{hook}: {show}");
        let web = json(&net.ok(&["chain", "show", "web", "--json"]));
        assert_eq!(web["parent"], "edge", "{web}");
        assert_eq!(hops(&web), [("r2".into(), 1)], "{web}");
        let text = net.ok(&["chain", "show", "edge"]);
        assert!(
            text.contains(
                "  class `web` (--dst 10.1.0.0/16, priority 17): 1 packets\n    1. r2 (program"
            ),
            "{text}"
        );
        let list = json(&net.ok(&["list", "--json"]));
        let web_role = list["modules"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["name"] == "web")
            .map(|m| m["chain"].clone());
        assert_eq!(
            web_role,
            Some(serde_json::json!({"role": "class", "parent": "edge"}))
        );

        // Deleting the class sends its packets through edge's stages again.
        let deleted = json(&net.ok(&["chain", "delete", "web", "--json"]));
        assert_eq!(deleted["unloaded"], serde_json::json!(["r2"]), "{deleted}");
        let web_ssh = frame(
            None,
            64,
            IN_MACS,
            ([10, 2, 2, 2], [10, 1, 2, 3]),
            6,
            &SSH_SYN,
        );
        let got = send_and_capture(&net.b, "vb", "vd", vec![web_ssh]);
        assert!(
            !got.contains(&web_routed),
            "{hook}: the firewall drops it now"
        );
        let show = json(&net.ok(&["chain", "show", "edge", "--json"]));
        assert_eq!(show["classes"], serde_json::json!([]), "{show}");
        assert_eq!(
            hops(&show),
            [("fw".into(), 3), ("r".into(), 1)],
            "{hook}: {show}"
        );
        assert!(!net.pins().contains(&"web".to_string()), "{:?}", net.pins());
    }
}

#[test]
fn a_vlan_class_outranks_a_prefix_class_and_deleting_the_chain_deletes_its_classes() {
    if !privileged() {
        return;
    }
    let net = Net::new();
    edge_with_web(&net, "xdp");
    let made = json(&net.ok(&[
        "chain", "create", "v10", "--parent", "edge", "--vlan", "10", "--json",
    ]));
    assert_eq!(made["priority"], 256, "{made}");
    net.ok(&[
        "load",
        "examples/monitor.iov",
        "--chain",
        "v10",
        "--name",
        "mon",
    ]);
    // Both classes would take the tagged frame to 10.1.2.3: the VLAN class ranks higher.
    // A tag of another VLAN leaves it to web; an explicit priority reorders.
    let frames = vec![
        frame(
            Some(10),
            64,
            IN_MACS,
            ([192, 0, 2, 1], [10, 1, 2, 3]),
            17,
            &UDP,
        ),
        frame(
            Some(10),
            64,
            IN_MACS,
            ([192, 0, 2, 1], [10, 9, 9, 9]),
            17,
            &UDP,
        ),
        frame(
            Some(20),
            64,
            IN_MACS,
            ([192, 0, 2, 1], [10, 1, 2, 3]),
            17,
            &UDP,
        ),
        frame(None, 64, IN_MACS, ([192, 0, 2, 1], [10, 1, 2, 3]), 17, &UDP),
    ];
    send_and_capture(&net.b, "vb", "vd", frames.clone());
    let show = json(&net.ok(&["chain", "show", "edge", "--json"]));
    let count = |name: &str| {
        show["classes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == name)
            .map(|c| c["packets"].as_u64().unwrap())
    };
    assert_eq!(show["packets"], 4, "{show}");
    assert_eq!((count("v10"), count("web")), (Some(2), Some(2)), "{show}");
    let names: Vec<&str> = show["classes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["v10", "web"], "highest priority first: {show}");
    assert_eq!(hops(&show), [("fw".into(), 0), ("r".into(), 0)], "{show}");

    // Deleting the chain deletes its classes and their stages; nothing is left.
    let deleted = json(&net.ok(&["chain", "delete", "edge", "--json"]));
    assert_eq!(
        deleted["unloaded"],
        serde_json::json!(["fw", "r"]),
        "{deleted}"
    );
    let mut classes: Vec<String> = deleted["classes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| format!("{}:{}", c["name"], c["unloaded"]))
        .collect();
    classes.sort();
    assert_eq!(
        classes,
        [r#""v10":["mon"]"#, r#""web":["r2"]"#],
        "{deleted}"
    );
    assert!(net.pins().is_empty(), "{:?}", net.pins());
    assert_eq!(net.xdp_progs(&net.a, "va"), "");
}

#[test]
fn classes_come_and_go_under_a_stream_of_frames_without_losing_one() {
    if !privileged() {
        return;
    }
    let net = Net::new();
    edge_with_web(&net, "xdp");
    let head = json(&net.ok(&["chain", "show", "edge", "--json"]))["program_id"].clone();
    // The stream goes to 10.1.2.3: web's, and routed alike by edge's stages.
    let stream = Stream::start(&net, hex(net::ROUTED));
    std::thread::sleep(Duration::from_millis(200));
    let mid = json(&net.ok(&["chain", "show", "edge", "--json"]));
    // A class the stream is not in comes and goes; then web goes, and the stream falls
    // back to edge's own stages; then a class for it comes back with a router in it.
    net.ok(&[
        "chain",
        "create",
        "other",
        "--parent",
        "edge",
        "--dst",
        "192.0.2.0/24",
    ]);
    std::thread::sleep(Duration::from_millis(150));
    net.ok(&["chain", "delete", "other"]);
    std::thread::sleep(Duration::from_millis(150));
    net.ok(&["chain", "delete", "web"]);
    std::thread::sleep(Duration::from_millis(150));
    let sent = stream.finish("while classes were made and deleted");
    let end = json(&net.ok(&["chain", "show", "edge", "--json"]));
    assert_eq!(end["program_id"], head, "the chain was never detached");
    assert_eq!(end["packets"].as_u64(), Some(u64::from(sent)), "{end}");
    let mid_web = mid["classes"][0]["packets"].as_u64().unwrap();
    let via_edge = hops(&end).iter().find(|(n, _)| n == "r").unwrap().1;
    assert!(mid_web > 0, "web had the stream: {mid}");
    // Every frame went through web's router or edge's: none was lost to an edit.
    assert!(via_edge > 0 && via_edge < u64::from(sent), "{end}");
}

#[test]
fn bad_class_requests_are_refused_and_change_nothing() {
    if !privileged() {
        return;
    }
    let net = Net::new();
    edge_with_web(&net, "xdp");
    let show = || net.ok(&["chain", "show", "edge", "--json"]);
    let before = show();
    let pins = net.pins();
    let class = |extra: &[&'static str]| {
        let mut a = vec!["chain", "create", "c2", "--parent", "edge"];
        a.extend_from_slice(extra);
        a
    };
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            class(&[]),
            "`c2` cannot be a class: it selects no packets in particular; give `--vlan ID`, \
             `--dst PREFIX` or both",
        ),
        (
            class(&["--dst", "10.1.0.0/16"]),
            "`c2` cannot select `--dst 10.1.0.0/16`: class `web` of `edge` does already",
        ),
        (
            class(&["--vlan", "4096"]),
            "`c2` cannot be a class: it has VLAN id 4096; VLAN ids are 0 to 4095",
        ),
        (
            class(&["--dst", "10.1.2.3/16"]),
            "it has prefix 10.1.2.3/16, with bits set after the first 16; write the network's \
             address",
        ),
        (
            vec!["chain", "create", "c2", "--parent", "web", "--vlan", "3"],
            "`c2` cannot be a class of `web`, itself a class of `edge`; make it a class of \
             `edge`",
        ),
        (
            vec!["chain", "create", "c2", "--parent", "r", "--vlan", "3"],
            "`r` is not a chain (it is a stage of chain `edge`); chains: edge, web",
        ),
        (
            vec!["chain", "create", "fw", "--parent", "edge", "--vlan", "3"],
            "a module named `fw` is loaded already (`iov list` shows it); give the chain \
             another name",
        ),
        (
            vec!["unload", "web"],
            "`web` is a chain; delete it with `iov chain delete web`",
        ),
        (
            vec!["reload", "web", "examples/router.iov"],
            "`web` is a chain, whose program iov provides; reload its stages",
        ),
    ];
    for (args, message) in &cases {
        let err = net.fails(1, args);
        assert!(err.contains(message), "iov {args:?}: {err}");
        assert_eq!(show(), before, "iov {args:?} changed the chain");
        assert_eq!(net.pins(), pins, "iov {args:?} left pins");
    }
    let err = net.fails(
        2,
        &[
            "chain", "create", "c2", "--parent", "edge", "--dst", "10.1/16",
        ],
    );
    assert!(
        err.contains("`--dst 10.1/16` is not an IPv4 or IPv6 prefix"),
        "{err}"
    );
    let err = net.fails(2, &["chain", "create", "c2", "--vlan", "3"]);
    assert!(err.contains("--parent"), "{err}");
    // At TC the kernel has taken the tag off the packet before the head runs.
    let net = Net::new();
    edge_with_web(&net, "tc-ingress");
    let err = net.fails(
        1,
        &["chain", "create", "c2", "--parent", "edge", "--vlan", "3"],
    );
    assert!(
        err.contains(
            "`c2` cannot select by VLAN at tc-ingress: the kernel takes the outer tag off the \
             packet before TC programs run; select by `--dst`, or make the chain at xdp"
        ),
        "{err}"
    );
}
