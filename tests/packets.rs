//! Packet tests in the real kernel: every `NAME.stf` in examples/ and tests/programs/ runs
//! through the `NAME.iov` beside it with `iov test`, and must pass. examples/ shows the
//! language; tests/programs/ holds code-generation regression tests.
//!
//! Loading BPF programs needs root (or CAP_BPF and CAP_NET_ADMIN). Without it the test says
//! so and skips, except under CI (CI=true), where skipping is a failure.

use std::path::Path;
use std::process::Command;

fn privileged() -> bool {
    let out = Command::new("id").arg("-u").output().expect("id runs");
    String::from_utf8_lossy(&out.stdout).trim() == "0"
}

fn require_privileges(what: &str) -> bool {
    if privileged() {
        return true;
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "{what} needs root to load BPF programs, and CI must run it: run the tests as root"
    );
    eprintln!("skipping {what}: loading BPF programs needs root (or CAP_BPF); run `sudo -E cargo test` to include it");
    false
}

#[test]
fn every_program_passes_its_packet_tests_in_the_kernel() {
    if !require_privileges("the packet tests") {
        return;
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut stfs: Vec<_> = ["examples", "tests/programs", "tests/p4c_stf"]
        .iter()
        .flat_map(|d| std::fs::read_dir(root.join(d)).unwrap().flatten())
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "stf"))
        .collect();
    stfs.sort();
    assert!(!stfs.is_empty(), "examples/ has no .stf files");
    let mut failures = Vec::new();
    for stf in &stfs {
        let program = stf.with_extension("iov");
        let out = Command::new(env!("CARGO_BIN_EXE_iov"))
            .args(["test", "--color", "never"])
            .arg(&program)
            .arg(stf)
            .current_dir(root)
            .output()
            .expect("iov runs");
        let stdout = String::from_utf8_lossy(&out.stdout);
        let last = stdout.lines().last().unwrap_or("");
        if out.status.code() != Some(0) || !last.ends_with(" 0 failed") {
            failures.push(format!(
                "{}: exit {:?}\n{stdout}{}",
                stf.display(),
                out.status.code(),
                String::from_utf8_lossy(&out.stderr)
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Runs `iov test examples/router.iov` on a file `name` holding `text` (in a scratch
/// directory removed afterwards); its exit code and stdout.
fn router_test(name: &str, text: &str) -> (Option<i32>, String) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = std::env::temp_dir().join(format!("iov-packets-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let stf = dir.join(name);
    std::fs::write(&stf, text).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_iov"))
        .args(["test", "--color", "never", "examples/router.iov"])
        .arg(&stf)
        .current_dir(root)
        .output()
        .expect("iov runs");
    let _ = std::fs::remove_dir_all(&dir);
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

/// The table line that routes 10.0.0.0/8 out of port 3.
const ROUTE: &str = "add routes hdr.ipv4.dst:10.0.0.0/8 \
                     forward(dst_mac:02:00:00:00:00:02, src_mac:02:00:00:00:00:01, port:3)";

#[test]
fn a_wrong_expectation_fails_with_a_diff() {
    if !require_privileges("the packet tests") {
        return;
    }
    // An ARP frame is passed untouched; expecting a changed byte must fail and show where.
    let arp = format!("001122334455aabbccddeeff0806{}", "00".repeat(28));
    let mut wrong = arp.clone();
    wrong.replace_range(0..2, "ff");
    // An IPv4 frame cut inside its IPv4 header is rejected by the parser, and the run says so.
    let short = format!("001122334455aabbccddeeff0800{}", "45".repeat(10));
    let (code, stdout) = router_test(
        "wrong.stf",
        &format!(
            "packet 1 {arp}\nexpect pass {wrong}\nexpect drop\npacket 1 {short}\nexpect drop\n"
        ),
    );
    assert_eq!(code, Some(1), "{stdout}");
    assert!(
        stdout.contains(
            "wrong.stf:2: FAILED: the packet of line 1 went to the kernel as expected, but its bytes differ"
        ),
        "{stdout}"
    );
    assert!(stdout.contains("expected ff1122334455"), "{stdout}");
    assert!(stdout.contains("actual   001122334455"), "{stdout}");
    // And header by header, as the router's parser reads the frame: ARP ends it after eth.
    assert!(
        stdout.contains(
            "    decoded as the parser reads them (actual, and what was expected where it differs):\n      \
             hdr.eth: dst=00:11:22:33:44:55 (expected ff:11:22:33:44:55) src=aa:bb:cc:dd:ee:ff ether_type=0x0806\n"
        ),
        "{stdout}"
    );
    assert!(
        stdout.contains(
            "wrong.stf:3: FAILED: expected the packet dropped, but it was passed to the kernel"
        ),
        "{stdout}"
    );
    assert!(
        stdout.contains(
            "wrong.stf:4: packet in on port 1 (24 bytes): rejected by the parser (error.PacketTooShort) and dropped"
        ),
        "{stdout}"
    );
    assert!(
        stdout.trim_end().ends_with("1 passed, 2 failed"),
        "{stdout}"
    );
}

#[test]
fn a_packet_that_nothing_expects_must_be_dropped() {
    if !require_privileges("the packet tests") {
        return;
    }
    // Routed (sent to port 3), passed (ARP) and dropped (no route), none of them expected
    // but one routed frame.
    let routed =
        "001122334455aabbccddeeff08004500001c0000400040116e24c0a800010a0102030000000000000000";
    let unrouted =
        "001122334455aabbccddeeff08004500001c000040004011ce0ec0a80001ac1000090000000000000000";
    let arp = format!("001122334455aabbccddeeff0806{}", "00".repeat(28));
    let (code, stdout) = router_test(
        "unexpected.stf",
        &format!(
            "{ROUTE}\npacket 1 {routed}\npacket 1 {arp}\npacket 1 {unrouted}\npacket 1 {routed}\n\
             expect 3\npacket 1 {arp}\n"
        ),
    );
    assert_eq!(code, Some(1), "{stdout}");
    // `expect 3` takes the first packet out of port 3 (line 2), as p4c's STF does; the
    // second one (line 5) and the two passed ARP frames are left over.
    let failures: Vec<&str> = stdout.lines().filter(|l| l.contains("FAILED")).collect();
    assert_eq!(failures.len(), 3, "{stdout}");
    assert!(
        failures[0].contains("unexpected.stf:3: FAILED: the packet went to the kernel (42 bytes)"),
        "{stdout}"
    );
    assert!(failures[0].contains("no `expect` matched it"), "{stdout}");
    assert!(
        failures[1].contains("unexpected.stf:5: FAILED: the packet went out of port 3 (42 bytes)"),
        "{stdout}"
    );
    assert!(
        failures[2].contains("unexpected.stf:7: FAILED: the packet went to the kernel"),
        "{stdout}"
    );
    assert!(
        stdout.trim_end().ends_with("1 passed, 3 failed"),
        "{stdout}"
    );
}

#[test]
fn expects_may_come_before_their_packets_and_queue_per_port() {
    if !require_privileges("the packet tests") {
        return;
    }
    // Two routed frames, to 10.1.2.3 (A) and 10.7.7.7 (B), both out of port 3; expectations
    // name the destination address only.
    let a = "001122334455aabbccddeeff08004500001c0000400040116e24c0a800010a0102030000000000000000";
    let b = a.replace("0a010203", "0a070707");
    let to = |addr: &str| format!("{}{addr}", "*".repeat(60));
    let (code, stdout) = router_test(
        "queued.stf",
        &format!(
            "{ROUTE}\nexpect 3 {}\npacket 1 {a}\npacket 1 {b}\npacket 1 {a}\nexpect 3 {}\nexpect 3 {}\n",
            to("0a010203"),
            to("0a070707"),
            to("0a070707"),
        ),
    );
    assert_eq!(code, Some(1), "{stdout}");
    // Line 2 (before its packet) meets A, line 6 meets B; line 7 meets the second A.
    let failures: Vec<&str> = stdout.lines().filter(|l| l.contains("FAILED")).collect();
    assert_eq!(failures.len(), 1, "{stdout}");
    assert!(
        failures[0].contains(
            "queued.stf:7: FAILED: the packet of line 5 went out of port 3 as expected, but its bytes differ"
        ),
        "{stdout}"
    );
    assert!(
        stdout.trim_end().ends_with("2 passed, 1 failed"),
        "{stdout}"
    );
}

/// The records of a classic pcap file: (seconds, frame).
fn pcap_records(path: &Path) -> Vec<(u32, Vec<u8>)> {
    let d = std::fs::read(path).unwrap();
    assert_eq!(&d[..4], &0xa1b2_c3d4u32.to_le_bytes(), "{}", path.display());
    let word = |at: usize| u32::from_le_bytes(d[at..at + 4].try_into().unwrap());
    assert_eq!(word(20), 1, "Ethernet link type");
    let (mut at, mut out) = (24, Vec::new());
    while at < d.len() {
        let len = word(at + 8) as usize;
        out.push((word(at), d[at + 16..at + 16 + len].to_vec()));
        at += 16 + len;
    }
    out
}

#[test]
fn pcap_files_hold_each_ports_frames_in_and_out_and_tcpdump_reads_them() {
    if !require_privileges("the pcap test") {
        return;
    }
    let dir = std::env::temp_dir().join(format!("iov-pcap-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let out = Command::new(env!("CARGO_BIN_EXE_iov"))
        .args([
            "test",
            "tests/programs/ingress_ports.iov",
            "tests/programs/ingress_ports.stf",
        ])
        .arg("--pcap")
        .arg(&dir)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "port-2-in.pcap",
            "port-2-out.pcap",
            "port-3-out.pcap",
            "port-7-in.pcap",
            "port-9-in.pcap"
        ]
    );
    // What went out of port 3: the frames of lines 6 and 18, rewritten (ether type = port 2).
    let sent = pcap_records(&dir.join("port-3-out.pcap"));
    let lines: Vec<u32> = sent.iter().map(|(l, _)| *l).collect();
    assert_eq!(lines, [6, 18]);
    assert_eq!(
        &sent[0].1[..14],
        &[255, 255, 255, 255, 255, 255, 0, 0, 0, 0, 0, 1, 0, 2]
    );
    assert_eq!(
        pcap_records(&dir.join("port-9-in.pcap")).len(),
        1,
        "dropped, so only in"
    );
    // tcpdump opens them (scripts/install-deps installs it).
    let dump = Command::new("tcpdump")
        .args(["-nn", "-e", "-r"])
        .arg(dir.join("port-2-in.pcap"))
        .output()
        .expect("tcpdump (scripts/install-deps installs it)");
    assert!(
        dump.status.success(),
        "{}",
        String::from_utf8_lossy(&dump.stderr)
    );
    let text = String::from_utf8_lossy(&dump.stdout);
    // One line per frame (its hex dump lines start with a tab).
    let frames = text.lines().filter(|l| !l.starts_with('\t')).count();
    assert_eq!(frames, 2, "{text}");
    assert!(
        text.contains("00:00:00:00:00:01 > ff:ff:ff:ff:ff:ff"),
        "{text}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn changing_an_expected_byte_port_count_or_verdict_makes_a_p4c_style_file_fail() {
    if !require_privileges("the packet tests") {
        return;
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let original = std::fs::read_to_string(root.join("tests/p4c_stf/acl_handles.stf")).unwrap();
    let dir = std::env::temp_dir().join(format!("iov-mutants-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let run = |text: &str| {
        let stf = dir.join("m.stf");
        std::fs::write(&stf, text).unwrap();
        let out = Command::new(env!("CARGO_BIN_EXE_iov"))
            .args(["test", "--color", "never", "tests/p4c_stf/acl_handles.iov"])
            .arg(&stf)
            .current_dir(root)
            .output()
            .expect("iov runs");
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    };
    assert_eq!(run(&original).0, Some(0), "the file as written passes");
    let mutants = [
        ("an expected byte", "0a010203 $", "0a010204 $"),
        ("an expected port", "EXPECT 3 ", "EXPECT 4 "),
        (
            "a counter value",
            "hits($A) packets == 1",
            "hits($A) packets == 2",
        ),
        ("a verdict", "c0a80001\nno_packet", "c0a80001\nEXPECT 2"),
        ("a handle's entry", "hits($B) == 1", "hits($A) == 0"),
    ];
    for (what, from, to) in mutants {
        assert!(original.contains(from), "{what}: `{from}` is in the file");
        let (code, stdout) = run(&original.replacen(from, to, 1));
        assert_eq!(
            code,
            Some(1),
            "changing {what} makes the file fail:\n{stdout}"
        );
        assert!(stdout.contains("FAILED"), "{what}: {stdout}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
