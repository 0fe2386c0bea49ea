//! The typed control plane against real kernel maps.
//!
//! Takes: the hand-written router (an exact table, an lpm table, a counter, a register).
//! Gives: proof that entries, defaults, counters and registers round-trip exactly through
//! the kernel's maps, and that every refused request says why and changes nothing.

mod common;

use common::programs::{self, frame, ip, router_with, IPV4};
use iov_manifest::{ActionCall as MActionCall, Entry as MEntry, KeyMatch};
use iov_runtime::{ActionCall, Entry, Error, Match, Module};

fn entry(keys: Vec<Match>, action: &str, args: &[u128]) -> Entry {
    Entry {
        keys,
        action: ActionCall::new(format!("ingress.{action}"), args),
        priority: None,
    }
}

fn v4() -> Match {
    Match::Exact(u128::from(IPV4))
}

fn net(a: [u8; 4], len: u32) -> Match {
    Match::Prefix { value: ip(a), len }
}

#[test]
fn exact_entries_round_trip() {
    require_kernel!();
    let m = Module::load(&programs::router()).unwrap();
    assert_eq!(m.entries("by_type").unwrap(), vec![]);
    m.add_entry("by_type", &[Match::Exact(0x88b5)], "fwd", &[511])
        .unwrap();
    m.add_entry("ingress.by_type", &[Match::Exact(0x0806)], "drop", &[])
        .unwrap();
    m.add_entry("by_type", &[Match::Exact(0)], "ingress.pass", &[])
        .unwrap();
    let expected = vec![
        entry(vec![Match::Exact(0)], "pass", &[]),
        entry(vec![Match::Exact(0x0806)], "drop", &[]),
        entry(vec![Match::Exact(0x88b5)], "fwd", &[511]),
    ];
    assert_eq!(m.entries("by_type").unwrap(), expected);

    m.modify_entry("by_type", &[Match::Exact(0x0806)], "fwd", &[1])
        .unwrap();
    m.delete_entry("by_type", &[Match::Exact(0)]).unwrap();
    assert_eq!(
        m.entries("by_type").unwrap(),
        vec![
            entry(vec![Match::Exact(0x0806)], "fwd", &[1]),
            entry(vec![Match::Exact(0x88b5)], "fwd", &[511]),
        ]
    );
}

#[test]
fn lpm_entries_round_trip() {
    require_kernel!();
    let m = Module::load(&programs::router()).unwrap();
    m.add_entry("routes", &[v4(), net([10, 0, 0, 0], 8)], "drop", &[])
        .unwrap();
    m.add_entry("routes", &[v4(), net([10, 1, 128, 0], 17)], "fwd", &[3])
        .unwrap();
    m.add_entry(
        "routes",
        &[v4(), Match::Exact(ip([10, 1, 2, 3]))],
        "pass",
        &[],
    )
    .unwrap();
    m.add_entry("routes", &[Match::Exact(0x86dd), Match::Any], "drop", &[])
        .unwrap();
    let mut expected = vec![
        entry(vec![v4(), net([10, 0, 0, 0], 8)], "drop", &[]),
        entry(vec![v4(), net([10, 1, 128, 0], 17)], "fwd", &[3]),
        entry(vec![v4(), net([10, 1, 2, 3], 32)], "pass", &[]),
        entry(
            vec![Match::Exact(0x86dd), net([0, 0, 0, 0], 0)],
            "drop",
            &[],
        ),
    ];
    expected.sort();
    assert_eq!(m.entries("routes").unwrap(), expected);
    // A prefix differs from the same value with another length.
    m.add_entry("routes", &[v4(), net([10, 0, 0, 0], 9)], "pass", &[])
        .unwrap();
    assert_eq!(m.entries("routes").unwrap().len(), 5);
    m.delete_entry("routes", &[v4(), net([10, 0, 0, 0], 8)])
        .unwrap();
    assert_eq!(m.entries("routes").unwrap().len(), 4);
}

#[test]
fn defaults_round_trip() {
    require_kernel!();
    let m = Module::load(&programs::router()).unwrap();
    assert_eq!(
        m.default_action("by_type").unwrap(),
        ActionCall::new("ingress.pass", [])
    );
    m.set_default("by_type", "fwd", &[42]).unwrap();
    assert_eq!(
        m.default_action("by_type").unwrap(),
        ActionCall::new("ingress.fwd", [42])
    );
    let run = m.run(&frame(IPV4, [1, 1, 1, 1], 60)).unwrap();
    assert_eq!((run.retval, run.verdict.unwrap().port), (3, 42));
}

/// Asserts that `attempt` fails as `check` expects and that no table changed.
fn refused(
    m: &Module,
    attempt: impl FnOnce(&Module) -> Result<(), Error>,
    check: fn(&Error) -> bool,
) {
    let tables = ["by_type", "routes"];
    let before: Vec<_> = tables.iter().map(|t| m.entries(t).unwrap()).collect();
    let defaults: Vec<_> = tables
        .iter()
        .map(|t| m.default_action(t).unwrap())
        .collect();
    let err = attempt(m).expect_err("the request must be refused");
    assert!(check(&err), "unexpected error: {err:?}");
    assert!(!err.to_string().is_empty());
    let after: Vec<_> = tables.iter().map(|t| m.entries(t).unwrap()).collect();
    let defaults_after: Vec<_> = tables
        .iter()
        .map(|t| m.default_action(t).unwrap())
        .collect();
    assert_eq!(before, after, "a refused request changed a table ({err})");
    assert_eq!(
        defaults, defaults_after,
        "a refused request changed a default ({err})"
    );
}

#[test]
fn bad_requests_say_why_and_change_nothing() {
    require_kernel!();
    let m = Module::load(&programs::router()).unwrap();
    m.add_entry("by_type", &[Match::Exact(0x0800)], "drop", &[])
        .unwrap();
    m.add_entry("routes", &[v4(), net([10, 0, 0, 0], 8)], "drop", &[])
        .unwrap();
    let e = |k| Match::Exact(k);

    refused(
        &m,
        |m| m.add_entry("nope", &[e(1)], "drop", &[]),
        |e| matches!(e, Error::UnknownTable { known, .. } if known.contains("ingress.by_type")),
    );
    refused(
        &m,
        |m| m.add_entry("by_type", &[e(1)], "jump", &[]),
        |e| matches!(e, Error::UnknownAction { known, .. } if known.contains("ingress.fwd")),
    );
    refused(
        &m,
        |m| m.add_entry("by_type", &[e(1), e(2)], "drop", &[]),
        |e| {
            matches!(
                e,
                Error::KeyCount {
                    expected: 1,
                    found: 2,
                    ..
                }
            )
        },
    );
    refused(
        &m,
        |m| m.add_entry("by_type", &[e(1)], "fwd", &[]),
        |e| {
            matches!(
                e,
                Error::ArgCount {
                    expected: 1,
                    found: 0,
                    ..
                }
            )
        },
    );
    refused(
        &m,
        |m| m.add_entry("by_type", &[e(1)], "drop", &[5]),
        |e| {
            matches!(
                e,
                Error::ArgCount {
                    expected: 0,
                    found: 1,
                    ..
                }
            )
        },
    );
    refused(
        &m,
        |m| m.add_entry("by_type", &[e(0x1_0000)], "drop", &[]),
        |e| {
            matches!(
                e,
                Error::TooWide {
                    bits: 16,
                    max: 0xffff,
                    ..
                }
            )
        },
    );
    refused(
        &m,
        |m| m.add_entry("by_type", &[e(1)], "fwd", &[512]),
        |e| {
            matches!(
                e,
                Error::TooWide {
                    bits: 9,
                    max: 511,
                    ..
                }
            ) && e.to_string().contains("argument `port`")
        },
    );
    refused(
        &m,
        |m| m.set_default("by_type", "fwd", &[512]),
        |e| matches!(e, Error::TooWide { bits: 9, .. }),
    );
    refused(
        &m,
        |m| m.add_entry("routes", &[v4(), net([10, 0, 0, 0], 33)], "drop", &[]),
        |e| {
            matches!(
                e,
                Error::PrefixTooLong {
                    len: 33,
                    bits: 32,
                    ..
                }
            )
        },
    );
    refused(
        &m,
        |m| m.add_entry("routes", &[v4(), net([10, 0, 0, 1], 8)], "drop", &[]),
        |e| matches!(e, Error::HostBits { masked, .. } if *masked == ip([10, 0, 0, 0])),
    );
    refused(
        &m,
        |m| m.add_entry("by_type", &[net([0, 0, 8, 0], 16)], "drop", &[]),
        |e| matches!(e, Error::WrongMatch { kind: "exact", .. }),
    );
    refused(
        &m,
        |m| m.add_entry("by_type", &[Match::Any], "drop", &[]),
        |e| matches!(e, Error::WrongMatch { kind: "exact", .. }),
    );
    refused(
        &m,
        |m| m.add_entry("by_type", &[e(0x0800)], "pass", &[]),
        |e| matches!(e, Error::EntryExists { .. }),
    );
    refused(
        &m,
        |m| m.modify_entry("by_type", &[e(0x0801)], "pass", &[]),
        |e| matches!(e, Error::NoEntry { .. }),
    );
    refused(
        &m,
        |m| m.delete_entry("routes", &[v4(), net([10, 0, 0, 0], 9)]),
        |e| matches!(e, Error::NoEntry { .. }),
    );
}

#[test]
fn full_tables_refuse_more_entries() {
    require_kernel!();
    let m = Module::load(&programs::router()).unwrap();
    for k in 0..4 {
        m.add_entry("by_type", &[Match::Exact(k)], "drop", &[])
            .unwrap();
    }
    refused(
        &m,
        |m| m.add_entry("by_type", &[Match::Exact(9)], "drop", &[]),
        |e| matches!(e, Error::TableFull { size: 4, .. }),
    );
    // Changing an entry of a full table still works.
    m.modify_entry("by_type", &[Match::Exact(3)], "pass", &[])
        .unwrap();
    for i in 0..8 {
        m.add_entry("routes", &[v4(), net([10, i, 0, 0], 16)], "drop", &[])
            .unwrap();
    }
    refused(
        &m,
        |m| m.add_entry("routes", &[v4(), net([11, 0, 0, 0], 8)], "drop", &[]),
        |e| matches!(e, Error::TableFull { size: 8, .. }),
    );
}

#[test]
fn const_entries_are_installed_and_read_only() {
    require_kernel!();
    let object = router_with(|m| {
        let t = &mut m.tables[0];
        t.entries = vec![MEntry {
            keys: vec![KeyMatch::Value {
                value: "34997".into(), // 0x88b5
            }],
            action: MActionCall {
                action: "fwd".into(),
                args: vec!["9".into()],
            },
            priority: 0,
        }];
        t.entries_const = true;
        t.default_action = MActionCall {
            action: "drop".into(),
            args: vec![],
        };
        t.default_const = true;
    });
    let m = Module::load(&object).unwrap();
    assert_eq!(
        m.entries("by_type").unwrap(),
        vec![entry(vec![Match::Exact(0x88b5)], "fwd", &[9])]
    );
    let run = m.run(&frame(0x88b5, [0; 4], 60)).unwrap();
    assert_eq!((run.retval, run.verdict.unwrap().port), (3, 9));
    assert_eq!(
        m.run(&frame(IPV4, [0; 4], 60)).unwrap().retval,
        1,
        "const default drop"
    );
    refused(
        &m,
        |m| m.add_entry("by_type", &[Match::Exact(1)], "drop", &[]),
        |e| matches!(e, Error::ConstEntries { .. }),
    );
    refused(
        &m,
        |m| m.delete_entry("by_type", &[Match::Exact(0x88b5)]),
        |e| matches!(e, Error::ConstEntries { .. }),
    );
    refused(
        &m,
        |m| m.set_default("by_type", "pass", &[]),
        |e| matches!(e, Error::ConstDefault { .. }),
    );
    // The other table stays writable.
    m.add_entry("routes", &[v4(), net([10, 0, 0, 0], 8)], "drop", &[])
        .unwrap();
}

#[test]
fn counters_sum_every_run() {
    require_kernel!();
    let m = Module::load(&programs::router()).unwrap();
    m.add_entry("by_type", &[Match::Exact(0x88b5)], "drop", &[])
        .unwrap();
    let bench = m.run_repeat(&frame(0x88b5, [0; 4], 100), 1000).unwrap();
    assert_eq!(bench.retval, 1, "measured the drop path");
    assert_eq!(m.counter("hits", programs::DROP).unwrap(), (1000, 100_000));
    assert_eq!(m.counter("hits", programs::PASS).unwrap(), (0, 0));
    let err = m.counter("hits", 4).unwrap_err();
    assert!(
        matches!(
            err,
            Error::IndexOutOfRange {
                index: 4,
                size: 4,
                ..
            }
        ),
        "{err}"
    );
    let err = m.counter("misses", 0).unwrap_err();
    assert!(
        matches!(
            err,
            Error::UnknownExtern {
                kind: "counter",
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn registers_round_trip_and_check_widths() {
    require_kernel!();
    let m = Module::load(&programs::router()).unwrap();
    m.register_write("last_len", 1, 0xdead_beef).unwrap();
    assert_eq!(m.register_read("ingress.last_len", 1).unwrap(), 0xdead_beef);
    assert_eq!(m.register_read("last_len", 0).unwrap(), 0);
    let err = m.register_write("last_len", 1, 1 << 32).unwrap_err();
    assert!(matches!(err, Error::TooWide { bits: 32, .. }), "{err}");
    assert_eq!(
        m.register_read("last_len", 1).unwrap(),
        0xdead_beef,
        "unchanged"
    );
    let err = m.register_write("last_len", 2, 0).unwrap_err();
    assert!(
        matches!(
            err,
            Error::IndexOutOfRange {
                index: 2,
                size: 2,
                ..
            }
        ),
        "{err}"
    );
    let err = m.register_read("nope", 0).unwrap_err();
    assert!(
        matches!(
            err,
            Error::UnknownExtern {
                kind: "register",
                ..
            }
        ),
        "{err}"
    );
    // The program writes register 0 with the frame length.
    m.run(&frame(IPV4, [1, 2, 3, 4], 77)).unwrap();
    assert_eq!(m.register_read("last_len", 0).unwrap(), 77);
}
