//! Meters under contention and from the control plane: every CPU runs the same meter at once
//! (one thread pinned to each CPU, each running BPF_PROG_TEST_RUN with a repeat count), with
//! the test clock stopped, so no token is added; exactly as many packets are green as the
//! committed burst holds, and the bucket ends empty: no update was lost to a race. Settings
//! the control plane refuses change nothing and say why.
//!
//! Needs root (skips with a message otherwise, and fails under CI=true).

mod net;

use iov_runtime::{Error, MeterConfig, Module};
use net::privileged;
use std::path::Path;

fn load() -> Module {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/programs/meters.iov");
    let text = std::fs::read_to_string(&path).unwrap();
    let checked = iov_sema::check("meters.iov", &text, &mut iov::loader::FsLoader::new(vec![]));
    assert!(!checked.has_errors());
    let opts = iov_codegen::Options {
        test_build: true,
        ..Default::default()
    };
    let object = iov_codegen::build(&checked, "meters", &opts)
        .unwrap_or_else(|_| panic!("meters.iov builds"))
        .object;
    Module::load(&object).expect("loads")
}

/// A 100-byte frame for meter `which` (0: `by_bytes[0]`).
fn frame(which: u8) -> Vec<u8> {
    let mut f = vec![0xff; 6];
    f.extend([0, 0, 0, 0, 0, 1, 0x88, 0xb5, which, 0]);
    f.resize(100, 0);
    f
}

fn pin_to(cpu: usize) {
    // SAFETY: a zeroed cpu_set_t is a valid empty set; CPU_SET and sched_setaffinity take
    // valid pointers to it.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(cpu, &mut set);
        assert_eq!(
            libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set),
            0,
            "pinned to CPU {cpu}"
        );
    }
}

#[test]
fn every_cpu_at_once_spends_exactly_the_burst() {
    if !privileged() {
        return;
    }
    let module = load();
    let cpus = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .max(2);
    let runs: u32 = 20_000;
    // 100 bytes a packet; the burst holds 3/4 of what all CPUs send.
    let sent = u64::from(runs) * cpus as u64;
    let cbs = sent * 100 * 3 / 4;
    module
        .meter_set(
            "by_bytes",
            0,
            &MeterConfig::Srtcm {
                cir: 1,
                cbs,
                ebs: 0,
            },
        )
        .unwrap();
    let f = frame(0);
    std::thread::scope(|s| {
        for cpu in 0..cpus {
            let (m, f) = (&module, &f);
            s.spawn(move || {
                pin_to(cpu % std::thread::available_parallelism().map_or(1, |n| n.get()));
                m.run_repeat(f, runs).expect("runs");
            });
        }
    });
    let green = module.counter("colours", 0).unwrap().0;
    let red = module.counter("colours", 2).unwrap().0;
    assert_eq!(
        green,
        cbs / 100,
        "exactly the burst was green ({sent} sent)"
    );
    assert_eq!(green + red, sent, "every packet had a colour");
    let state = module.meter_get("by_bytes", 0).unwrap();
    assert_eq!(
        (state.committed, state.excess),
        (0, 0),
        "the bucket is empty"
    );
    eprintln!("{cpus} CPUs x {runs} packets: {green} green (the burst), {red} red");
}

#[test]
fn refused_settings_change_nothing_and_say_why() {
    if !privileged() {
        return;
    }
    let module = load();
    let good = MeterConfig::Trtcm {
        cir: 10,
        cbs: 2,
        pir: 20,
        pbs: 4,
    };
    module.meter_set("by_packets", 1, &good).unwrap();
    let before = module.meter_get("by_packets", 1).unwrap();
    assert_eq!(before.config, Some(good));
    assert_eq!(
        (before.committed, before.excess),
        (2, 4),
        "buckets start full"
    );
    let refusals = [
        (
            "by_packets",
            1,
            MeterConfig::Trtcm { cir: 20, cbs: 2, pir: 10, pbs: 4 },
            "meter `C.by_packets`: the peak rate (10) must be at least the committed rate (20), as RFC 2698 requires",
        ),
        (
            "by_packets",
            1,
            MeterConfig::Srtcm { cir: 0, cbs: 2, ebs: 4 },
            "meter `C.by_packets`: the committed rate must be 1 to 1000000000000 tokens per second, not 0",
        ),
        (
            "by_packets",
            1,
            MeterConfig::Srtcm { cir: 5, cbs: 0, ebs: 0 },
            "meter `C.by_packets`: at least one burst must be above 0 (RFC 2697, 2698)",
        ),
        (
            "by_packets",
            1,
            MeterConfig::Srtcm { cir: 5, cbs: 5_000_000_000, ebs: 0 },
            "meter `C.by_packets`: the committed burst must be at most 4000000000 tokens, not 5000000000",
        ),
        (
            "by_packets",
            2,
            good,
            "index 2 is out of range for meter `C.by_packets` of size 2 (valid: 0..2)",
        ),
    ];
    for (name, index, config, why) in refusals {
        let e = module.meter_set(name, index, &config).unwrap_err();
        assert_eq!(e.to_string(), why);
    }
    assert!(matches!(
        module.meter_set("nothing", 0, &good),
        Err(Error::UnknownExtern { .. })
    ));
    assert_eq!(
        module.meter_get("by_packets", 1).unwrap(),
        before,
        "nothing changed"
    );
    module.meter_clear("by_packets", 1).unwrap();
    assert_eq!(module.meter_get("by_packets", 1).unwrap().config, None);
}

#[test]
fn iov_meter_sets_shows_and_refuses_and_a_reload_keeps_the_setting() {
    if !privileged() {
        return;
    }
    let net = net::Net::new();
    net.load_file("tests/programs/meters.iov", "m1", &[]);
    let set = net.ok(&[
        "meter", "m1", "by_bytes", "0", "srtcm", "cir:1M", "cbs:15k", "ebs:30k",
    ]);
    assert_eq!(
        set.trim(),
        "by_bytes[0] srtcm cir:1000000 cbs:15000 ebs:30000: C holds 15000 tokens, E 30000"
    );
    let all: serde_json::Value = serde_json::from_str(&net.ok(&["meter", "m1", "--json"])).unwrap();
    assert_eq!(all["meters"][0]["meter"], "C.by_bytes");
    assert_eq!(all["meters"][0]["kind"], "bytes");
    assert_eq!(
        all["meters"][0]["cells"][0]["setting"],
        "srtcm cir:1000000 cbs:15000 ebs:30000"
    );
    assert_eq!(
        all["meters"][1]["cells"].as_array().unwrap().len(),
        0,
        "by_packets unset"
    );
    // Refused by the runtime (exit 1) and by the syntax (exit 2): nothing changes.
    let err = net.fails(
        1,
        &[
            "meter", "m1", "by_bytes", "0", "trtcm", "cir:20", "cbs:2", "pir:10", "pbs:4",
        ],
    );
    assert!(
        err.contains("the peak rate (10) must be at least the committed rate (20)"),
        "{err}"
    );
    let err = net.fails(2, &["meter", "m1", "by_bytes", "0", "srtcm", "cir:1k"]);
    assert!(
        err.contains("srtcm needs `cbs:` (all of cir, cbs, ebs)"),
        "{err}"
    );
    let err = net.fails(
        2,
        &[
            "meter", "m1", "by_bytes", "0", "srtcm", "cir:1k", "cbs:2", "ebs:1x",
        ],
    );
    assert!(
        err.contains("`1x` is not a whole number (optionally with k, M or G)"),
        "{err}"
    );
    let metrics = net.ok(&["metrics", "m1", "--once"]);
    assert!(
        metrics.contains(
            "iov_meter_tokens{module=\"m1\",meter=\"C.by_bytes\",index=\"0\",bucket=\"committed\"} 15000\n"
        ),
        "{metrics}"
    );
    net.ok(&["reload", "m1", "tests/programs/meters.iov"]);
    let kept = net.ok(&["meter", "m1", "by_bytes", "0"]);
    assert_eq!(kept, set, "the reload kept the meter's setting and buckets");
    net.ok(&["meter", "m1", "by_bytes", "0", "clear"]);
    assert!(net
        .ok(&["meter", "m1", "by_bytes", "0"])
        .contains("unconfigured"));
    net.ok(&["unload", "m1"]);
}

#[test]
fn iov_meter_sets_a_direct_meter_by_its_entry_and_a_reload_keeps_it() {
    if !privileged() {
        return;
    }
    let net = net::Net::new();
    net.load_file("examples/rate_limiter.iov", "rl", &[]);
    for prefix in ["10.0.0.0/8", "192.168.0.0/16"] {
        net.ok(&[
            "table",
            "rl",
            "add",
            "sources",
            &format!("hdr.ipv4.src:{prefix}"),
            "limit()",
        ]);
    }
    let empty = net.ok(&["meter", "rl"]);
    assert_eq!(
        empty.trim(),
        "RlIngress.limits: no entry of RlIngress.sources has a configured meter (every packet green)"
    );
    let set = net.ok(&[
        "meter",
        "rl",
        "limits",
        "hdr.ipv4.src:10.0.0.0/8",
        "srtcm",
        "cir:125M",
        "cbs:100k",
        "ebs:200k",
    ]);
    assert_eq!(
        set.trim(),
        "limits{hdr.ipv4.src:10.0.0.0/8} srtcm cir:125000000 cbs:100000 ebs:200000: C holds 100000 tokens, E 200000"
    );
    // The other entry has its own cell, still unconfigured.
    let other = net.ok(&["meter", "rl", "limits", "src:192.168.0.0/16"]);
    assert!(other.contains("unconfigured"), "{other}");
    let all: serde_json::Value = serde_json::from_str(&net.ok(&["meter", "rl", "--json"])).unwrap();
    let m = &all["meters"][0];
    assert_eq!(m["table"], "RlIngress.sources");
    assert_eq!(m["size"], 1025, "a cell per entry, and cell 0 for misses");
    assert_eq!(m["cells"].as_array().unwrap().len(), 1);
    assert_eq!(m["cells"][0]["entry"], "hdr.ipv4.src:10.0.0.0/8");
    let metrics = net.ok(&["metrics", "rl", "--once"]);
    assert!(
        metrics.contains(
            "iov_meter_tokens{module=\"rl\",meter=\"RlIngress.limits\",entry=\"hdr.ipv4.src:10.0.0.0/8\",bucket=\"committed\"} 100000\n"
        ),
        "{metrics}"
    );
    // Refused, exit 1, nothing changed: an index for a direct meter, a key no entry has, a
    // setting RFC 2697 refuses.
    let err = net.fails(
        1,
        &[
            "meter", "rl", "limits", "1", "srtcm", "cir:1", "cbs:1", "ebs:1",
        ],
    );
    assert!(
        err.contains("it is the direct meter of table `RlIngress.sources`, with a cell per entry"),
        "{err}"
    );
    let err = net.fails(
        1,
        &[
            "meter",
            "rl",
            "limits",
            "src:172.16.0.0/12",
            "srtcm",
            "cir:1",
            "cbs:1",
            "ebs:1",
        ],
    );
    assert!(err.contains("no entry"), "{err}");
    let err = net.fails(
        1,
        &[
            "meter",
            "rl",
            "limits",
            "src:10.0.0.0/8",
            "srtcm",
            "cir:0",
            "cbs:1",
            "ebs:1",
        ],
    );
    assert!(err.contains("the committed rate must be 1 to"), "{err}");
    assert_eq!(net.ok(&["meter", "rl", "limits", "src:10.0.0.0/8"]), set);
    // Changing the entry keeps its meter; a reload keeps entries and cells together.
    net.ok(&[
        "table",
        "rl",
        "modify",
        "sources",
        "src:10.0.0.0/8",
        "limit()",
    ]);
    assert_eq!(net.ok(&["meter", "rl", "limits", "src:10.0.0.0/8"]), set);
    net.ok(&["reload", "rl", "examples/rate_limiter.iov"]);
    assert_eq!(
        net.ok(&["meter", "rl", "limits", "src:10.0.0.0/8"]),
        set,
        "the reload kept the entry's meter"
    );
    // A deleted entry's cell goes to the next entry added, reset.
    net.ok(&["table", "rl", "del", "sources", "src:10.0.0.0/8"]);
    net.ok(&[
        "table",
        "rl",
        "add",
        "sources",
        "src:172.16.0.0/12",
        "limit()",
    ]);
    let fresh = net.ok(&["meter", "rl", "limits", "src:172.16.0.0/12"]);
    assert!(fresh.contains("unconfigured"), "{fresh}");
    net.ok(&["meter", "rl", "limits", "src:172.16.0.0/12", "clear"]);
    net.ok(&["unload", "rl"]);
}
