//! The slots of array tables: tables with a `range` key (`tuples.rs` has the ternary and
//! optional ones).
//!
//! Takes: a manifest [`Table`] of kind `array`, typed keys, and the used slots read from its
//! map.
//! Gives: the bytes of a slot for an entry and its keys decoded back, the priority of an entry
//! added without one, and the ordered writes ([`Op`]) that insert or remove one entry while
//! the slots stay sorted by descending priority (ties: the earlier-added entry first) and
//! contiguous from slot 0. Pure: no syscalls.
//!
//! A slot (see `iov_manifest`) is a host-order `u32` priority (0 = empty), then a pair `a`,
//! `b` per key field at `offset` and `offset + bytes` after the priority (see
//! `encode::field_pair`), then the table value at `key_size`. The program scans from slot 0 to
//! the first empty slot, and the first slot that matches wins.
//!
//! The writes are ordered for a program that scans while they happen: an insert copies the
//! entries after the new one down by one slot, the last first, then writes the new entry; a
//! delete copies the entries after it up by one slot, the first first, then clears the last
//! used slot. A scan between two writes sees every entry the request keeps, in order (one of
//! them possibly twice), and never an empty slot before the end; a scan that overlaps an
//! insert may see an entry twice but never misses one. A slot that turns from empty to used
//! is written first with priority 0 and then with its priority, and one that turns empty the
//! reverse way, so no scan sees half of it. What is left: the kernel copies array values
//! without a lock, so a scan that reads a used slot while it is overwritten may see a mix of
//! the old and the new entry; a scan that overlaps several writes of a delete may miss the
//! entry that moved up past it; and a hit counted in a slot while it is copied may be lost.

use crate::encode::Match;
use crate::encode::{check_key_count, field_pair, get_be, in_bounds, match_of, put_be, u32_at};
use crate::Error;
use iov_manifest::Table;

/// The priority of a slot; 0 means empty.
pub(crate) fn priority(slot: &[u8]) -> u32 {
    u32_at(slot, 0)
}

pub(crate) fn set_priority(slot: &mut [u8], priority: u32) {
    slot[..4].copy_from_slice(&priority.to_ne_bytes());
}

/// The key half of the slot for `keys` in `table`, with priority 0: `key_size` bytes.
pub(crate) fn encode_slot_key(table: &Table, keys: &[Match]) -> Result<Vec<u8>, Error> {
    check_key_count(table, keys)?;
    let size = table.key_size as usize;
    in_bounds(
        &format!("the priority of table `{}`", table.name),
        0,
        4,
        size,
    )?;
    let mut buf = vec![0u8; size];
    for (field, m) in table.keys.iter().zip(keys) {
        let offset = 4 + field.offset as usize;
        let bytes = field.bytes as usize;
        let what = format!("key `{}` of table `{}`", field.name, table.name);
        in_bounds(&what, offset, 2 * bytes, size)?;
        let (a, b) = field_pair(table, field, m)?;
        put_be(&mut buf, offset, bytes, a);
        put_be(&mut buf, offset + bytes, bytes, b);
    }
    Ok(buf)
}

/// The keys stored in `slot` of `table`, each in its field's one form (see
/// [`Entry`](crate::Entry)).
pub(crate) fn decode_slot_key(table: &Table, slot: &[u8]) -> Result<Vec<Match>, Error> {
    let mut keys = Vec::with_capacity(table.keys.len());
    for field in &table.keys {
        let offset = 4 + field.offset as usize;
        let bytes = field.bytes as usize;
        in_bounds(&field.name, offset, 2 * bytes, slot.len())?;
        let a = get_be(slot, offset, bytes);
        let b = get_be(slot, offset + bytes, bytes);
        keys.push(match_of(field.match_kind, a, b));
    }
    Ok(keys)
}

/// A whole slot: `key` (from [`encode_slot_key`]) with `priority`, then `value`.
pub(crate) fn make_slot(key: &[u8], priority: u32, value: &[u8]) -> Vec<u8> {
    let mut slot = Vec::with_capacity(key.len() + value.len());
    slot.extend_from_slice(key);
    slot.extend_from_slice(value);
    set_priority(&mut slot, priority);
    slot
}

/// Whether `slot` holds the keys of `key` (a slot or a key half), whatever the priorities.
pub(crate) fn same_keys(table: &Table, slot: &[u8], key: &[u8]) -> bool {
    let end = table.key_size as usize;
    slot.get(4..end).is_some() && slot.get(4..end) == key.get(4..end)
}

/// The index of the used slot holding the entry with `key`, or `NoEntry`.
pub(crate) fn find_slot(
    table: &Table,
    used: &[Vec<u8>],
    key: &[u8],
) -> Result<usize, crate::Error> {
    used.iter()
        .position(|s| same_keys(table, s, key))
        .ok_or_else(|| crate::Error::NoEntry {
            table: table.name.clone(),
        })
}

/// The table value in `slot`.
pub(crate) fn value_of<'s>(table: &Table, slot: &'s [u8]) -> &'s [u8] {
    &slot[table.key_size as usize..]
}

/// The priority of an entry added without one: one less than the lowest priority in the
/// table, but at least 1 (a tie still goes after the existing entries); `size` in an empty
/// table. Either way the new entry is the last to match.
pub(crate) fn next_priority(table: &Table, used: &[Vec<u8>]) -> u32 {
    match used.last() {
        Some(last) => priority(last).saturating_sub(1).max(1),
        None => table.size.max(1),
    }
}

/// One write to the slots of an array map.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Op {
    /// Write `slot` into the empty slot `index`: first with priority 0, then as given.
    Fill { index: u32, slot: Vec<u8> },
    /// Overwrite the used slot `index` with `slot`.
    Write { index: u32, slot: Vec<u8> },
    /// Copy slot `from` (read just before, so its direct counter is as fresh as can be) into
    /// slot `to`, which is empty when `into_empty` (then written as [`Op::Fill`] does).
    Copy {
        from: u32,
        to: u32,
        into_empty: bool,
    },
    /// Empty the used slot `index`: first set its priority to 0, then zero every byte.
    Clear { index: u32 },
}

/// The writes that insert `slot` among `used` (the used slots, sorted by descending
/// priority): after every entry of the same or a higher priority. The caller has checked
/// that a slot is free.
pub(crate) fn plan_insert(used: &[Vec<u8>], slot: Vec<u8>) -> Vec<Op> {
    let p = priority(&slot);
    let n = used.len();
    let at = used.iter().position(|s| priority(s) < p).unwrap_or(n);
    let mut ops = Vec::with_capacity(n - at + 1);
    for to in (at + 1..=n).rev() {
        ops.push(Op::Copy {
            from: (to - 1) as u32,
            to: to as u32,
            into_empty: to == n,
        });
    }
    let index = at as u32;
    ops.push(if at == n {
        Op::Fill { index, slot }
    } else {
        Op::Write { index, slot }
    });
    ops
}

/// The writes that remove the entry in slot `index` of `used` used slots.
pub(crate) fn plan_delete(used: usize, index: usize) -> Vec<Op> {
    let mut ops: Vec<Op> = (index..used.saturating_sub(1))
        .map(|to| Op::Copy {
            from: (to + 1) as u32,
            to: to as u32,
            into_empty: false,
        })
        .collect();
    if used > 0 {
        ops.push(Op::Clear {
            index: (used - 1) as u32,
        });
    }
    ops
}

#[cfg(test)]
mod tests {
    use super::*;
    use iov_manifest::{self as manifest, Action, KeyField, MapKind, MatchKind};

    fn field(name: &str, bits: u32, match_kind: MatchKind, offset: u32) -> KeyField {
        KeyField {
            name: name.into(),
            bits,
            match_kind,
            offset,
            bytes: bits.div_ceil(8),
        }
    }

    /// ternary bit<16> at 0, range bit<8> at 4, optional bit<12> at 6, lpm bit<32> at 10,
    /// exact bit<8> at 18: 4 + 20 bytes of pairs, padded to 24.
    fn table() -> Table {
        Table {
            name: "c.acl".into(),
            map: "acl".into(),
            default_map: "acl_default".into(),
            kind: MapKind::Array,
            size: 4,
            key_size: 24,
            value_size: 8,
            keys: vec![
                field("t", 16, MatchKind::Ternary, 0),
                field("r", 8, MatchKind::Range, 4),
                field("o", 12, MatchKind::Optional, 6),
                field("l", 32, MatchKind::Lpm, 10),
                field("e", 8, MatchKind::Exact, 18),
            ],
            actions: vec![Action {
                name: "c.nop".into(),
                id: 1,
                params: vec![],
            }],
            default_action: manifest::ActionCall {
                action: "nop".into(),
                args: vec![],
            },
            default_const: false,
            entries: vec![],
            entries_const: false,
            direct_counter: None,
            direct_meter: None,
            data_plane: None,
            tuple_space: None,
        }
    }

    #[test]
    fn pairs_are_laid_out_after_the_priority() {
        let t = table();
        let keys = [
            Match::Ternary {
                value: 0x0800,
                mask: 0xff00,
            },
            Match::Range { low: 2, high: 64 },
            Match::Exact(0xabc),
            Match::Prefix {
                value: 0x0a00_0000,
                len: 8,
            },
            Match::Exact(6),
        ];
        let key = encode_slot_key(&t, &keys).unwrap();
        assert_eq!(key.len(), 24);
        assert_eq!(key[..4], [0; 4], "priority left 0");
        assert_eq!(key[4..8], [0x08, 0x00, 0xff, 0x00], "ternary a, b");
        assert_eq!(key[8..10], [2, 64], "range low, high");
        assert_eq!(
            key[10..14],
            [0x0a, 0xbc, 0x0f, 0xff],
            "optional: mask is 12 bits"
        );
        assert_eq!(
            key[14..22],
            [10, 0, 0, 0, 0xff, 0, 0, 0],
            "lpm: prefix mask"
        );
        assert_eq!(key[22..], [6, 0xff]);
        assert_eq!(decode_slot_key(&t, &key).unwrap(), keys);
    }

    #[test]
    fn every_form_reads_back_in_its_fields_one_form() {
        let t = table();
        let keys = [
            Match::Exact(0x86dd),
            Match::Exact(7),
            Match::Any,
            Match::Ternary {
                value: 0x0a01_0000,
                mask: 0xffff_0000,
            },
            Match::Exact(1),
        ];
        let key = encode_slot_key(&t, &keys).unwrap();
        assert_eq!(key[10..14], [0; 4], "optional `_` is a = b = 0");
        assert_eq!(
            decode_slot_key(&t, &key).unwrap(),
            [
                Match::Ternary {
                    value: 0x86dd,
                    mask: 0xffff
                },
                Match::Range { low: 7, high: 7 },
                Match::Any,
                Match::Prefix {
                    value: 0x0a01_0000,
                    len: 16
                },
                Match::Exact(1),
            ]
        );
        let any = [
            Match::Any,
            Match::Any,
            Match::Any,
            Match::Any,
            Match::Exact(0),
        ];
        let key = encode_slot_key(&t, &any).unwrap();
        assert_eq!(
            key[4..10],
            [0, 0, 0, 0, 0, 0xff],
            "ternary mask 0, range 0..255"
        );
        let prefix = encode_slot_key(
            &t,
            &[
                Match::Prefix {
                    value: 0x0800,
                    len: 5,
                },
                Match::Any,
                Match::Any,
                Match::Any,
                Match::Exact(0),
            ],
        )
        .unwrap();
        assert_eq!(
            prefix[4..8],
            [0x08, 0, 0xf8, 0],
            "a prefix on a ternary key"
        );
    }

    #[test]
    fn bad_matches_are_refused_with_the_reason() {
        let t = table();
        let with = |i: usize, m: Match| {
            let mut keys = [
                Match::Any,
                Match::Any,
                Match::Any,
                Match::Any,
                Match::Exact(0),
            ];
            keys[i] = m;
            encode_slot_key(&t, &keys).unwrap_err()
        };
        let e = with(
            0,
            Match::Ternary {
                value: 0,
                mask: 0x1_0000,
            },
        );
        assert!(
            matches!(&e, Error::TooWide { what, bits: 16, .. } if what.starts_with("the mask"))
        );
        let e = with(
            0,
            Match::Ternary {
                value: 0x0801,
                mask: 0xff00,
            },
        );
        assert!(matches!(e, Error::MaskBits { masked: 0x0800, .. }), "{e}");
        assert!(e.to_string().contains("write 0x800 &&& 0xff00"), "{e}");
        let e = with(0, Match::Range { low: 1, high: 2 });
        assert!(
            matches!(
                e,
                Error::WrongMatch {
                    kind: "ternary",
                    ..
                }
            ),
            "{e}"
        );
        let e = with(1, Match::Range { low: 9, high: 3 });
        assert!(
            matches!(
                e,
                Error::EmptyRange {
                    low: 9,
                    high: 3,
                    ..
                }
            ),
            "{e}"
        );
        assert!(e.to_string().contains("write 3..9"), "{e}");
        let e = with(1, Match::Range { low: 0, high: 256 });
        assert!(matches!(&e, Error::TooWide { what, .. } if what.starts_with("the high")));
        let e = with(1, Match::Ternary { value: 0, mask: 0 });
        assert!(matches!(e, Error::WrongMatch { kind: "range", .. }), "{e}");
        let e = with(2, Match::Prefix { value: 0, len: 4 });
        assert!(
            matches!(
                e,
                Error::WrongMatch {
                    kind: "optional",
                    ..
                }
            ),
            "{e}"
        );
        let e = with(
            3,
            Match::Ternary {
                value: 0,
                mask: 0xff00_ff00,
            },
        );
        assert!(matches!(e, Error::WrongMatch { kind: "lpm", .. }), "{e}");
        assert!(e.to_string().contains("not a prefix"), "{e}");
        let e = with(3, Match::Prefix { value: 1, len: 8 });
        assert!(matches!(e, Error::HostBits { .. }), "{e}");
        let e = with(4, Match::Any);
        assert!(matches!(e, Error::WrongMatch { kind: "exact", .. }), "{e}");
        let e = with(4, Match::Range { low: 1, high: 1 });
        assert!(matches!(e, Error::WrongMatch { kind: "exact", .. }), "{e}");
        let e = encode_slot_key(&t, &[Match::Any]).unwrap_err();
        assert!(matches!(e, Error::KeyCount { expected: 5, .. }), "{e}");
    }

    /// Applies `ops` to `slots` as the kernel would (a copy reads the current source).
    fn apply(slots: &mut [Vec<u8>], ops: &[Op]) {
        for op in ops {
            match op {
                Op::Fill { index, slot } => {
                    assert_eq!(
                        priority(&slots[*index as usize]),
                        0,
                        "{op:?} fills a used slot"
                    );
                    slots[*index as usize] = slot.clone();
                }
                Op::Write { index, slot } => {
                    assert_ne!(
                        priority(&slots[*index as usize]),
                        0,
                        "{op:?} on an empty slot"
                    );
                    slots[*index as usize] = slot.clone();
                }
                Op::Copy {
                    from,
                    to,
                    into_empty,
                } => {
                    assert_eq!(priority(&slots[*to as usize]) == 0, *into_empty, "{op:?}");
                    slots[*to as usize] = slots[*from as usize].clone();
                }
                Op::Clear { index } => slots[*index as usize] = vec![0; 5],
            }
            // Between any two writes the used slots stay contiguous from slot 0.
            let used = slots.iter().take_while(|s| priority(s) != 0).count();
            assert!(slots[used..].iter().all(|s| priority(s) == 0), "{slots:?}");
        }
    }

    fn s(priority: u32, tag: u8) -> Vec<u8> {
        let mut v = priority.to_ne_bytes().to_vec();
        v.push(tag);
        v
    }

    fn used(slots: &[Vec<u8>]) -> Vec<Vec<u8>> {
        slots
            .iter()
            .take_while(|s| priority(s) != 0)
            .cloned()
            .collect()
    }

    #[test]
    fn inserts_keep_descending_priority_with_ties_in_insertion_order() {
        let mut slots = vec![vec![0; 5]; 5];
        for (p, tag) in [(10, 1), (30, 2), (10, 3), (20, 4), (40, 5)] {
            let ops = plan_insert(&used(&slots), s(p, tag));
            apply(&mut slots, &ops);
        }
        assert_eq!(
            slots,
            [s(40, 5), s(30, 2), s(20, 4), s(10, 1), s(10, 3)],
            "ties: the earlier-added entry first"
        );
        let ops = plan_insert(&used(&slots[..3]), s(35, 6));
        assert_eq!(
            ops,
            [
                Op::Copy {
                    from: 2,
                    to: 3,
                    into_empty: true
                },
                Op::Copy {
                    from: 1,
                    to: 2,
                    into_empty: false
                },
                Op::Write {
                    index: 1,
                    slot: s(35, 6)
                },
            ],
            "the last entry moves first, into the free slot"
        );
    }

    #[test]
    fn deletes_shift_later_slots_up_and_clear_the_last() {
        let mut slots = vec![s(4, 1), s(3, 2), s(2, 3), s(1, 4), vec![0; 5]];
        apply(&mut slots, &plan_delete(4, 1));
        assert_eq!(slots[..3], [s(4, 1), s(2, 3), s(1, 4)]);
        assert_eq!(priority(&slots[3]), 0);
        apply(&mut slots, &plan_delete(3, 2));
        assert_eq!(used(&slots), [s(4, 1), s(2, 3)]);
        apply(&mut slots, &plan_delete(2, 0));
        assert_eq!(used(&slots), [s(2, 3)]);
        apply(&mut slots, &plan_delete(1, 0));
        assert!(used(&slots).is_empty());
    }

    #[test]
    fn entries_added_without_a_priority_match_last() {
        let t = table();
        assert_eq!(next_priority(&t, &[]), 4, "the table's size");
        assert_eq!(next_priority(&t, &[s(9, 0), s(5, 0)]), 4);
        assert_eq!(next_priority(&t, &[s(1, 0)]), 1, "a tie, inserted last");
        let slot = make_slot(&[0; 6], 7, &[1, 2]);
        assert_eq!(slot, [7, 0, 0, 0, 0, 0, 1, 2]);
        assert!(!same_keys(&t, &[0; 24], &[1; 24]));
        let mut other = vec![0; 32];
        set_priority(&mut other, 3);
        assert!(same_keys(&t, &other, &[0; 24]), "priorities do not count");
    }
}
