//! Digests in the kernel: a full ring buffer drops records and counts every one it dropped
//! (records read + records dropped = packets), and `iov events` prints the records of a
//! deployed module as real frames cross a veth pair. The record layouts are checked by
//! tests/programs/digests.stf.
//!
//! Needs root (skips with a message otherwise, and fails under CI=true).

mod net;

use iov_runtime::Module;
use net::privileged;
use std::path::Path;
use std::process::{Command, Stdio};

fn program() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/programs/digests.iov");
    std::fs::read_to_string(path).unwrap()
}

/// A UDP frame from `src` to 10.9.9.9: it sends one `flows` record.
fn udp_frame(src: [u8; 4]) -> Vec<u8> {
    let mut f = vec![0x02, 0, 0, 0, 0, 2, 0x02, 0, 0, 0, 0, 1, 0x08, 0x00];
    f.extend([0x45, 0, 0, 28, 0, 1, 0x40, 0, 64, 17, 0, 0]);
    f.extend(src);
    f.extend([10, 9, 9, 9]);
    f.extend([0, 53, 0, 53, 0, 8, 0, 0]);
    f.resize(60, 0);
    f
}

#[test]
fn a_full_ring_buffer_counts_every_record_it_dropped() {
    if !privileged() {
        return;
    }
    let text = program();
    let checked = iov_sema::check(
        "digests.iov",
        &text,
        &mut iov::loader::FsLoader::new(vec![]),
    );
    assert!(!checked.has_errors());
    let object = iov_codegen::build(&checked, "digests", &iov_codegen::Options::default())
        .unwrap_or_else(|_| panic!("digests.iov builds"))
        .object;
    let module = Module::load(&object).expect("loads");
    let mut events = module.events("flows").unwrap();
    let sent = 20_000u32;
    module.run_repeat(&udp_frame([10, 1, 2, 3]), sent).unwrap();
    let mut read = 0u64;
    for r in events.by_ref() {
        assert_eq!(r.fields[0], ("src".to_string(), 0x0a01_0203));
        read += 1;
    }
    let dropped = module.digest_drops("flows").unwrap();
    assert!(
        dropped > 0 && read > 5_000,
        "{read} read, {dropped} dropped"
    );
    assert_eq!(
        read + dropped,
        u64::from(sent),
        "every record read or counted as dropped"
    );
    // Room again once read: the next record arrives.
    module.run(&udp_frame([10, 4, 5, 6])).unwrap();
    let next = events.next().expect("a record after the ring was drained");
    assert_eq!(next.fields[0].1, 0x0a04_0506);
    eprintln!("{sent} packets: {read} records read, {dropped} dropped and counted");
}

#[test]
fn iov_events_prints_the_records_of_a_deployed_module() {
    if !privileged() {
        return;
    }
    let net = net::Net::new();
    net.load_file("tests/programs/digests.iov", "d1", &[]);
    let child = Command::new(env!("CARGO_BIN_EXE_iov"))
        .args([
            "events",
            "d1",
            "flows",
            "--json",
            "--count",
            "3",
            "--timeout",
            "20",
        ])
        .env("IOV_PIN_ROOT", &net.root)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("iov events runs");
    std::thread::sleep(std::time::Duration::from_millis(300));
    let frames = (1..=3).map(|i| udp_frame([10, 0, 0, i])).collect();
    net::send(&net.b, "vb", frames);
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let records: Vec<serde_json::Value> = stdout.lines().map(net::json).collect();
    assert_eq!(records.len(), 3, "{stdout}");
    for (i, r) in records.iter().enumerate() {
        assert_eq!(r["digest"], "C.flows");
        let src = u32::from_be_bytes([10, 0, 0, i as u8 + 1]);
        assert_eq!(r["fields"]["src"], src.to_string(), "{stdout}");
        assert_eq!(r["fields"]["syn"], "0");
    }
    let metrics = net.ok(&["metrics", "d1", "--once"]);
    assert!(
        metrics.contains("iov_digest_dropped_total{module=\"d1\",digest=\"C.flows\"} 0\n"),
        "{metrics}"
    );
    // The refusal of an unknown digest.
    let err = net.fails(1, &["events", "d1", "nothing"]);
    assert!(err.contains("no digest `nothing` in this program"), "{err}");
    net.ok(&["unload", "d1"]);
}
