//! Test runs in the kernel (`BPF_PROG_TEST_RUN`) through `Module::run` and `run_repeat`.
//!
//! Takes: the hand-written programs of `common::programs`.
//! Gives: proof that return values, output bytes, verdicts, counters and registers come
//! back exactly as the program left them, and that bad inputs are refused clearly.

mod common;

use common::programs::{self, frame, ip, IPV4};
use iov_runtime::{Error, Match, Module, Verdict, VerdictAction};

#[test]
fn pass_program_returns_xdp_pass_and_the_same_bytes() {
    require_kernel!();
    let module = Module::load(&programs::pass()).expect("loads");
    let packet = frame(IPV4, [10, 0, 0, 1], 64);
    let run = module.run(&packet).expect("runs");
    assert_eq!(run.retval, 2, "XDP_PASS");
    assert_eq!(run.data, packet);
    assert_eq!(run.verdict, None, "no verdict map in this build");
}

#[test]
fn frames_shorter_than_an_ethernet_header_are_refused() {
    require_kernel!();
    let module = Module::load(&programs::pass()).expect("loads");
    let err = module.run(&[0u8; 13]).unwrap_err();
    assert!(matches!(err, Error::FrameTooShort { len: 13 }), "{err:?}");
    assert!(err.to_string().contains("at least 14"), "{err}");
    assert_eq!(module.run(&[0u8; 14]).expect("14 bytes run").retval, 2);
}

#[test]
fn run_repeat_reports_an_average_and_the_return_value() {
    require_kernel!();
    let module = Module::load(&programs::pass()).expect("loads");
    let packet = frame(IPV4, [10, 0, 0, 1], 64);
    let bench = module.run_repeat(&packet, 1000).expect("runs");
    assert_eq!(bench.retval, 2);
    assert_eq!(bench.repeat, 1000);
    assert!(bench.avg_ns < 100_000, "{bench:?}");
    assert!(matches!(
        module.run_repeat(&packet, 0),
        Err(Error::ZeroRepeat)
    ));
}

#[test]
fn tc_program_runs_on_an_skb() {
    require_kernel!();
    let module = Module::load(&programs::tc_len("classifier")).expect("loads");
    let long = frame(IPV4, [10, 0, 0, 1], 64);
    let short = frame(IPV4, [10, 0, 0, 1], 40);
    let run = module.run(&long).expect("runs");
    assert_eq!(run.retval, 2, "TC_ACT_SHOT for 64 bytes");
    assert_eq!(run.data, long);
    assert_eq!(module.run(&short).expect("runs").retval, 0, "TC_ACT_OK");
}

#[test]
fn router_default_action_passes_and_records_the_verdict() {
    require_kernel!();
    let module = Module::load(&programs::router()).expect("loads");
    let packet = frame(IPV4, [192, 168, 1, 1], 60);
    let run = module.run(&packet).expect("runs");
    assert_eq!(run.retval, 2, "default action pass returns XDP_PASS");
    assert_eq!(run.data, packet);
    assert_eq!(
        run.verdict,
        Some(Verdict {
            action: VerdictAction::Pass,
            port: 0,
            error: 0,
            clone: 0,
        })
    );
    assert_eq!(module.counter("hits", programs::PASS).unwrap(), (1, 60));
    assert_eq!(module.register_read("last_len", 0).unwrap(), 60);
}

#[test]
fn router_exact_entry_decides_and_its_argument_reaches_the_program() {
    require_kernel!();
    let module = Module::load(&programs::router()).expect("loads");
    module
        .add_entry("by_type", &[Match::Exact(0x88b5)], "fwd", &[300])
        .expect("adds");
    let run = module.run(&frame(0x88b5, [0; 4], 50)).expect("runs");
    assert_eq!(run.retval, 3, "fwd returns XDP_TX");
    assert_eq!(
        run.verdict,
        Some(Verdict {
            action: VerdictAction::Redirect,
            port: 300,
            error: 0,
            clone: 0,
        }),
        "port 300 encoded big-endian in 2 bytes and byte-swapped by the program"
    );
    // Other EtherTypes still take the default action.
    assert_eq!(
        module.run(&frame(IPV4, [1, 2, 3, 4], 50)).unwrap().retval,
        2
    );
    assert_eq!(
        module.counter("ingress.hits", programs::FWD).unwrap(),
        (1, 50)
    );
    assert_eq!(
        module.counter("ingress.hits", programs::PASS).unwrap(),
        (1, 50)
    );
}

#[test]
fn router_lpm_entries_match_by_longest_prefix() {
    require_kernel!();
    let module = Module::load(&programs::router()).expect("loads");
    let net = |a, len| Match::Prefix { value: ip(a), len };
    let v4 = Match::Exact(u128::from(IPV4));
    module
        .add_entry("routes", &[v4, net([10, 0, 0, 0], 8)], "drop", &[])
        .unwrap();
    module
        .add_entry("routes", &[v4, net([10, 1, 0, 0], 16)], "fwd", &[7])
        .unwrap();
    module
        .add_entry(
            "routes",
            &[v4, Match::Exact(ip([10, 1, 2, 3]))],
            "pass",
            &[],
        )
        .unwrap();
    let run = |dst| module.run(&frame(IPV4, dst, 60)).unwrap();
    assert_eq!(run([10, 9, 9, 9]).retval, 1, "10/8: drop");
    let fwd = run([10, 1, 9, 9]);
    assert_eq!(fwd.retval, 3, "10.1/16: fwd");
    assert_eq!(fwd.verdict.unwrap().port, 7);
    assert_eq!(run([10, 1, 2, 3]).retval, 2, "10.1.2.3/32: pass");
    assert_eq!(run([11, 1, 2, 3]).retval, 2, "no route: default pass");
    // The exact EtherType field is part of the prefix: another EtherType never matches.
    assert_eq!(
        module
            .run(&frame(0x86dd, [10, 9, 9, 9], 60))
            .unwrap()
            .retval,
        2
    );
    assert_eq!(module.counter("hits", programs::DROP).unwrap(), (1, 60));
}

#[test]
fn set_default_changes_what_a_miss_does() {
    require_kernel!();
    let module = Module::load(&programs::router()).expect("loads");
    module.set_default("by_type", "drop", &[]).unwrap();
    let run = module.run(&frame(IPV4, [1, 1, 1, 1], 60)).unwrap();
    assert_eq!(run.retval, 1, "XDP_DROP");
    assert_eq!(run.verdict.unwrap().action, VerdictAction::Drop);
}

#[test]
fn frames_too_short_for_the_parser_abort() {
    require_kernel!();
    let module = Module::load(&programs::router()).expect("loads");
    let run = module.run(&frame(IPV4, [1, 1, 1, 1], 20)).unwrap();
    assert_eq!(run.retval, 0, "XDP_ABORTED");
    assert_eq!(run.verdict, None, "the program wrote no verdict");
}
