//! Array tables (a `ternary`, `range` or `optional` key) and direct counters against real
//! kernel maps.
//!
//! Takes: the hand-written `acl` program (`common::acl`), which scans its array map as the
//! manifest's layout rules say, and the router for tables of other kinds.
//! Gives: proof that slots stay sorted by descending priority (ties in the order added) and
//! contiguous from slot 0 through adds, modifications and deletes, byte for byte as the
//! program reads them; that the program's first match is the highest-priority entry; that
//! const entries are installed by priority; that direct counters start at zero, count hits,
//! survive modifications and move with their entries; and that every refused request says why
//! and changes nothing.

mod common;

use common::acl::{self, acl, acl_with, packet, SLOT};
use common::programs::{self, IPV4};
use iov_manifest::{ActionCall as MActionCall, Entry as MEntry, KeyMatch};
use iov_runtime::{ActionCall, Entry, Error, Match, Module};

const ARP: u16 = 0x0806;
const IPV6: u16 = 0x86dd;
/// Return values: the action ids of drop, pass and fwd.
const DROP: u32 = 1;
const PASS: u32 = 2;
const FWD: u32 = 3;

fn ty(value: u128, mask: u128) -> Match {
    Match::Ternary { value, mask }
}

fn ttl(low: u128, high: u128) -> Match {
    Match::Range { low, high }
}

fn entry(priority: u32, keys: [Match; 2], action: &str, args: &[u128]) -> Entry {
    Entry {
        keys: keys.to_vec(),
        action: ActionCall::new(format!("ingress.{action}"), args),
        priority: Some(priority),
    }
}

/// What the program returned for a 60-byte frame of EtherType `ether` and TTL `ttl`.
fn ret(m: &Module, ether: u16, ttl: u8) -> u32 {
    m.run(&packet(ether, ttl, 60)).unwrap().retval
}

/// Every slot of the map, as the program reads it.
fn raw_slots(m: &Module) -> Vec<[u8; SLOT]> {
    let map = m.ebpf().expect("loaded here").map("acl").unwrap();
    let array = aya::maps::Array::<_, [u8; SLOT]>::try_from(map).unwrap();
    (0..acl::SIZE).map(|i| array.get(&i, 0).unwrap()).collect()
}

fn priorities(m: &Module) -> Vec<u32> {
    raw_slots(m)
        .iter()
        .map(|s| u32::from_ne_bytes(s[..4].try_into().unwrap()))
        .collect()
}

#[test]
fn the_highest_priority_matches_first_whatever_the_order_of_adding() {
    require_kernel!();
    let m = Module::load(&acl()).unwrap();
    let (a, b, c, d) = (
        [ty(0x0800, 0xffff), Match::Any],
        [ty(0x0800, 0xff00), ttl(60, 70)],
        [Match::Any, ttl(0, 63)],
        [Match::Exact(u128::from(ARP)), Match::Any],
    );
    m.add_entry_with_priority("acl", 10, &a, "fwd", &[9])
        .unwrap();
    m.add_entry_with_priority("acl", 30, &b, "fwd", &[5])
        .unwrap();
    m.add_entry_with_priority("acl", 20, &c, "drop", &[])
        .unwrap();
    m.add_entry_with_priority("acl", 20, &d, "fwd", &[6])
        .unwrap();
    // Read back in the order the program tries them, each field in its one form.
    assert_eq!(
        m.entries("acl").unwrap(),
        [
            entry(30, b, "fwd", &[5]),
            entry(20, [ty(0, 0), ttl(0, 63)], "drop", &[]),
            entry(20, [ty(0x0806, 0xffff), ttl(0, 255)], "fwd", &[6]),
            entry(10, [ty(0x0800, 0xffff), ttl(0, 255)], "fwd", &[9]),
        ],
        "ties: the entry added first comes first"
    );
    // Byte for byte: host-order priority, big-endian pairs, the value at key_size.
    let slot = raw_slots(&m)[0];
    assert_eq!(slot[..4], 30u32.to_ne_bytes());
    assert_eq!(slot[4..10], [0x08, 0x00, 0xff, 0x00, 60, 70]);
    assert_eq!(slot[10..16], [0; 6], "padding");
    assert_eq!(slot[16..20], FWD.to_ne_bytes());
    assert_eq!(slot[20..22], [0, 5]);
    assert_eq!(slot[22..], [0; 18], "padding, then a zeroed direct counter");
    assert_eq!(priorities(&m), [30, 20, 20, 10, 0, 0, 0, 0]);

    assert_eq!(ret(&m, IPV4, 64), FWD, "b (30) before a (10)");
    assert_eq!(
        ret(&m, ARP, 10),
        DROP,
        "c before d: the tie goes to the first added"
    );
    assert_eq!(ret(&m, ARP, 80), FWD, "d");
    assert_eq!(ret(&m, IPV4, 80), FWD, "a");
    assert_eq!(ret(&m, IPV6, 80), PASS, "no entry: the default");
    let hits = |keys: &[Match; 2]| m.direct_counter("acl", keys).unwrap().0;
    assert_eq!([hits(&a), hits(&b), hits(&c), hits(&d)], [1, 1, 1, 1]);

    // Without a priority: one less than the lowest, so it matches last.
    m.add_entry("acl", &[Match::Any, Match::Any], "drop", &[])
        .unwrap();
    assert_eq!(priorities(&m), [30, 20, 20, 10, 9, 0, 0, 0]);
    assert_eq!(ret(&m, IPV6, 80), DROP);
    assert_eq!(ret(&m, IPV4, 80), FWD, "a still first");
}

#[test]
fn deleting_shifts_later_slots_up_and_clears_the_last() {
    require_kernel!();
    let m = Module::load(&acl()).unwrap();
    let keys = |t: u128| [ty(t, 0xffff), Match::Any];
    for (t, p) in [(1, 40), (2, 30), (3, 20), (4, 10)] {
        m.add_entry_with_priority("acl", p, &keys(t), "drop", &[])
            .unwrap();
    }
    let before = raw_slots(&m);
    m.delete_entry("acl", &keys(2)).unwrap();
    let after = raw_slots(&m);
    assert_eq!(after[0], before[0]);
    assert_eq!(after[1..3], before[2..4], "the later slots moved up");
    assert_eq!(after[3], [0; SLOT], "the last used slot is cleared");
    let err = m.delete_entry("acl", &keys(2)).unwrap_err();
    assert!(matches!(err, Error::NoEntry { .. }), "{err}");
    m.delete_entry("acl", &keys(1)).unwrap();
    assert_eq!(priorities(&m), [20, 10, 0, 0, 0, 0, 0, 0]);
    m.delete_entry("acl", &keys(4)).unwrap();
    assert_eq!(priorities(&m), [20, 0, 0, 0, 0, 0, 0, 0]);
    // A new entry goes where its priority says, between or around the others.
    m.add_entry_with_priority("acl", 25, &keys(5), "pass", &[])
        .unwrap();
    m.add_entry_with_priority("acl", 15, &keys(6), "pass", &[])
        .unwrap();
    assert_eq!(priorities(&m), [25, 20, 15, 0, 0, 0, 0, 0]);
    for t in [3, 5, 6] {
        m.delete_entry("acl", &keys(t)).unwrap();
    }
    assert_eq!(raw_slots(&m), vec![[0; SLOT]; acl::SIZE as usize]);
    assert_eq!(m.entries("acl").unwrap(), []);
}

#[test]
fn full_array_tables_refuse_more_entries() {
    require_kernel!();
    let m = Module::load(&acl()).unwrap();
    let keys = |t: u128| [ty(t, 0xffff), ttl(0, 255)];
    for t in 0..u128::from(acl::SIZE) {
        m.add_entry("acl", &keys(t), "drop", &[]).unwrap();
    }
    assert_eq!(
        priorities(&m),
        [8, 7, 6, 5, 4, 3, 2, 1],
        "the first gets the table's size"
    );
    refused(
        &m,
        |m| m.add_entry("acl", &keys(100), "drop", &[]),
        |e| matches!(e, Error::TableFull { size: 8, .. }),
    );
    refused(
        &m,
        |m| m.add_entry_with_priority("acl", 100, &keys(100), "drop", &[]),
        |e| matches!(e, Error::TableFull { size: 8, .. }),
    );
    // Changing an entry of a full table still works, in place.
    m.modify_entry("acl", &keys(7), "fwd", &[3]).unwrap();
    assert_eq!(m.entries("acl").unwrap()[7], entry(1, keys(7), "fwd", &[3]));
    // The lowest priority is 1 already: the next one ties with it and still goes last.
    m.delete_entry("acl", &keys(0)).unwrap();
    m.add_entry("acl", &keys(100), "pass", &[]).unwrap();
    let entries = m.entries("acl").unwrap();
    assert_eq!(entries[6], entry(1, keys(7), "fwd", &[3]));
    assert_eq!(entries[7], entry(1, keys(100), "pass", &[]));
}

/// Asserts that `attempt` fails as `check` expects and that neither the slots nor the
/// default changed.
fn refused(
    m: &Module,
    attempt: impl FnOnce(&Module) -> Result<(), Error>,
    check: fn(&Error) -> bool,
) {
    let slots = raw_slots(m);
    let default = m.default_action("acl").unwrap();
    let err = attempt(m).expect_err("the request must be refused");
    assert!(check(&err), "unexpected error: {err:?}");
    assert!(!err.to_string().is_empty());
    assert_eq!(
        slots,
        raw_slots(m),
        "a refused request changed a slot ({err})"
    );
    assert_eq!(default, m.default_action("acl").unwrap(), "({err})");
}

#[test]
fn bad_requests_say_why_and_change_nothing() {
    require_kernel!();
    let m = Module::load(&acl()).unwrap();
    let ipv4 = [ty(0x0800, 0xffff), ttl(1, 255)];
    m.add_entry_with_priority("acl", 10, &ipv4, "fwd", &[1])
        .unwrap();
    m.add_entry_with_priority("acl", 5, &[Match::Any, Match::Any], "drop", &[])
        .unwrap();
    let add = |keys: [Match; 2]| move |m: &Module| m.add_entry("acl", &keys, "drop", &[]);

    refused(&m, add([ty(0x0801, 0xff00), Match::Any]), |e| {
        matches!(e, Error::MaskBits { masked: 0x0800, .. })
    });
    refused(
        &m,
        add([ty(0, 0x1_0000), Match::Any]),
        |e| matches!(e, Error::TooWide { what, bits: 16, .. } if what.starts_with("the mask")),
    );
    refused(&m, add([Match::Exact(0x1_0000), Match::Any]), |e| {
        matches!(e, Error::TooWide { bits: 16, .. })
    });
    refused(&m, add([Match::Any, ttl(9, 3)]), |e| {
        matches!(
            e,
            Error::EmptyRange {
                low: 9,
                high: 3,
                ..
            }
        )
    });
    refused(
        &m,
        add([Match::Any, ttl(0, 256)]),
        |e| matches!(e, Error::TooWide { what, bits: 8, .. } if what.starts_with("the high bound")),
    );
    refused(&m, add([ttl(1, 2), Match::Any]), |e| {
        matches!(
            e,
            Error::WrongMatch {
                kind: "ternary",
                given: "a range",
                ..
            }
        )
    });
    refused(&m, add([Match::Any, ty(1, 1)]), |e| {
        matches!(e, Error::WrongMatch { kind: "range", .. })
    });
    refused(
        &m,
        add([Match::Any, Match::Prefix { value: 0, len: 1 }]),
        |e| matches!(e, Error::WrongMatch { kind: "range", .. }),
    );
    refused(
        &m,
        |m| m.add_entry_with_priority("acl", 0, &[Match::Any, ttl(1, 1)], "drop", &[]),
        |e| matches!(e, Error::ZeroPriority { .. }),
    );
    refused(
        &m,
        |m| m.add_entry("acl", &[Match::Any], "drop", &[]),
        |e| matches!(e, Error::KeyCount { expected: 2, .. }),
    );
    refused(
        &m,
        |m| m.add_entry("acl", &[Match::Any, ttl(1, 1)], "fwd", &[512]),
        |e| matches!(e, Error::TooWide { bits: 9, .. }),
    );
    refused(
        &m,
        |m| m.add_entry("acl", &[Match::Any, ttl(1, 1)], "jump", &[]),
        |e| matches!(e, Error::UnknownAction { .. }),
    );
    // The same keys, in any form and at any priority, are the same entry.
    let same = [Match::Exact(0x0800), ttl(1, 255)];
    refused(
        &m,
        |m| m.add_entry_with_priority("acl", 99, &same, "drop", &[]),
        |e| matches!(e, Error::EntryExists { .. }),
    );
    refused(&m, add([ty(0, 0), ttl(0, 255)]), |e| {
        matches!(e, Error::EntryExists { .. })
    });
    refused(
        &m,
        |m| m.modify_entry("acl", &[ty(0x0800, 0xff00), ttl(1, 255)], "drop", &[]),
        |e| matches!(e, Error::NoEntry { .. }),
    );
    refused(
        &m,
        |m| m.delete_entry("acl", &[Match::Any, ttl(1, 254)]),
        |e| matches!(e, Error::NoEntry { .. }),
    );
    let err = m
        .direct_counter("acl", &[Match::Any, Match::Exact(3)])
        .unwrap_err();
    assert!(matches!(err, Error::NoEntry { .. }), "{err}");
    // Found by its keys in another form.
    assert_eq!(m.direct_counter("acl", &same).unwrap(), (0, 0));
    m.modify_entry("acl", &same, "pass", &[]).unwrap();
    assert_eq!(m.entries("acl").unwrap()[0], entry(10, ipv4, "pass", &[]));

    // Tables of other kinds have no priorities and here no direct counters.
    let router = Module::load(&programs::router()).unwrap();
    let err = router
        .add_entry_with_priority("by_type", 1, &[Match::Exact(1)], "drop", &[])
        .unwrap_err();
    assert!(matches!(err, Error::NoPriority { .. }), "{err}");
    let err = router
        .add_entry("by_type", &[ty(1, 0xffff)], "drop", &[])
        .unwrap_err();
    assert!(
        matches!(err, Error::WrongMatch { kind: "exact", .. }),
        "{err}"
    );
    let err = router
        .direct_counter("by_type", &[Match::Exact(1)])
        .unwrap_err();
    assert!(matches!(err, Error::NoDirectCounter { .. }), "{err}");
    assert!(err.to_string().contains("counters ="), "{err}");
    assert_eq!(router.entries("by_type").unwrap(), []);
}

fn const_entries() -> Vec<MEntry> {
    let mask = |value: &str, mask: &str| KeyMatch::Mask {
        value: value.into(),
        mask: mask.into(),
    };
    let call = |action: &str, args: &[&str]| MActionCall {
        action: action.into(),
        args: args.iter().map(|a| a.to_string()).collect(),
    };
    vec![
        MEntry {
            keys: vec![
                mask("2054", "65535"),
                KeyMatch::Range {
                    low: "0".into(),
                    high: "63".into(),
                },
            ],
            action: call("drop", &[]),
            priority: 5,
        },
        MEntry {
            // 0x0801 &&& 0xfffe: the bits outside the mask are ignored.
            keys: vec![mask("2049", "65534"), KeyMatch::Any],
            action: call("fwd", &["7"]),
            priority: 50,
        },
        MEntry {
            keys: vec![
                KeyMatch::Value {
                    value: "2054".into(),
                },
                KeyMatch::Any,
            ],
            action: call("pass", &[]),
            priority: 5,
        },
    ]
}

#[test]
fn const_entries_are_installed_by_priority() {
    require_kernel!();
    let object = acl_with(|m| {
        m.tables[0].entries = const_entries();
        m.tables[0].entries_const = true;
    });
    let m = Module::load(&object).unwrap();
    let installed = [
        entry(50, [ty(0x0800, 0xfffe), ttl(0, 255)], "fwd", &[7]),
        entry(5, [ty(0x0806, 0xffff), ttl(0, 63)], "drop", &[]),
        entry(5, [ty(0x0806, 0xffff), ttl(0, 255)], "pass", &[]),
    ];
    assert_eq!(m.entries("acl").unwrap(), installed);
    assert_eq!(ret(&m, IPV4, 64), FWD);
    assert_eq!(ret(&m, ARP, 10), DROP, "listed first among equals");
    assert_eq!(ret(&m, ARP, 100), PASS);
    assert_eq!(
        m.direct_counter("acl", &installed[2].keys).unwrap(),
        (1, 60),
        "the pass came from the entry, not the default"
    );
    let any = [Match::Any, Match::Any];
    refused(
        &m,
        |m| m.add_entry("acl", &any, "drop", &[]),
        |e| matches!(e, Error::ConstEntries { .. }),
    );
    refused(
        &m,
        |m| m.delete_entry("acl", &installed[0].keys),
        |e| matches!(e, Error::ConstEntries { .. }),
    );
    refused(
        &m,
        |m| m.modify_entry("acl", &installed[0].keys, "drop", &[]),
        |e| matches!(e, Error::ConstEntries { .. }),
    );

    // Initial entries that are not const: the control plane adds after them.
    let m = Module::load(&acl_with(|m| m.tables[0].entries = const_entries())).unwrap();
    m.add_entry("acl", &any, "drop", &[]).unwrap();
    assert_eq!(priorities(&m)[..4], [50, 5, 5, 4]);
    m.delete_entry("acl", &installed[1].keys).unwrap();
    assert_eq!(priorities(&m)[..4], [50, 5, 4, 0]);
}

#[test]
fn bad_entries_and_layouts_in_the_manifest_fail_the_load() {
    require_kernel!();
    let err = Module::load(&acl_with(|m| {
        m.tables[0].entries = const_entries();
        m.tables[0].entries[1].priority = 0;
    }))
    .err()
    .unwrap();
    assert!(
        matches!(&err, Error::BadManifest(why) if why.contains("priority 0")),
        "{err}"
    );
    let err = Module::load(&acl_with(|m| {
        m.tables[0].entries = [const_entries(), const_entries(), const_entries()].concat();
    }))
    .err()
    .unwrap();
    assert!(
        matches!(&err, Error::BadManifest(why) if why.contains("room for 8")),
        "{err}"
    );
    let err = Module::load(&acl_with(|m| m.tables[0].key_size = 8))
        .err()
        .unwrap();
    assert!(
        matches!(&err, Error::MapMismatch { what: "the value size", expected, .. } if expected == "32"),
        "{err}"
    );
    for offset in [4, 16] {
        let err = Module::load(&acl_with(|m| {
            m.tables[0].direct_counter.as_mut().unwrap().offset = offset;
        }))
        .err()
        .unwrap();
        assert!(
            matches!(&err, Error::BadManifest(why) if why.contains("direct counter")),
            "{err}"
        );
    }
}

#[test]
fn direct_counters_count_hits_and_stay_with_their_entries() {
    require_kernel!();
    let m = Module::load(&acl()).unwrap();
    let x = [ty(0x0800, 0xffff), Match::Any];
    let y = [Match::Any, Match::Any];
    let z = [ty(0x0806, 0xffff), Match::Any];
    m.add_entry_with_priority("acl", 10, &x, "fwd", &[1])
        .unwrap();
    m.add_entry_with_priority("acl", 5, &y, "drop", &[])
        .unwrap();
    assert_eq!(m.direct_counter("acl", &x).unwrap(), (0, 0));
    m.run(&packet(IPV4, 64, 60)).unwrap();
    m.run(&packet(IPV4, 64, 100)).unwrap();
    m.run(&packet(ARP, 64, 60)).unwrap();
    assert_eq!(m.direct_counter("acl", &x).unwrap(), (2, 160));
    assert_eq!(m.direct_counter("acl", &y).unwrap(), (1, 60));

    // Modifying keeps the counter.
    m.modify_entry("acl", &x, "pass", &[]).unwrap();
    assert_eq!(m.direct_counter("acl", &x).unwrap(), (2, 160));
    assert_eq!(ret(&m, IPV4, 64), PASS);
    assert_eq!(m.direct_counter("acl", &x).unwrap(), (3, 220));

    // An entry added before them moves them down a slot, counters and all.
    m.add_entry_with_priority("acl", 20, &z, "fwd", &[2])
        .unwrap();
    assert_eq!(priorities(&m)[..3], [20, 10, 5]);
    assert_eq!(m.direct_counter("acl", &z).unwrap(), (0, 0));
    assert_eq!(m.direct_counter("acl", &x).unwrap(), (3, 220));
    assert_eq!(m.direct_counter("acl", &y).unwrap(), (1, 60));
    assert_eq!(ret(&m, ARP, 64), FWD);
    assert_eq!(m.direct_counter("acl", &z).unwrap(), (1, 60));
    assert_eq!(m.direct_counter("acl", &y).unwrap(), (1, 60), "z took it");

    // Deleting moves them back up; an entry added again starts from zero.
    m.delete_entry("acl", &z).unwrap();
    assert_eq!(m.direct_counter("acl", &x).unwrap(), (3, 220));
    assert_eq!(m.direct_counter("acl", &y).unwrap(), (1, 60));
    m.delete_entry("acl", &x).unwrap();
    m.add_entry_with_priority("acl", 10, &x, "pass", &[])
        .unwrap();
    assert_eq!(m.direct_counter("acl", &x).unwrap(), (0, 0));
    assert_eq!(m.direct_counter("acl", &y).unwrap(), (1, 60));

    // A miss counts nothing.
    m.delete_entry("acl", &y).unwrap();
    m.set_default("acl", "drop", &[]).unwrap();
    assert_eq!(ret(&m, IPV6, 64), DROP);
    assert_eq!(m.direct_counter("acl", &x).unwrap(), (0, 0));
}
