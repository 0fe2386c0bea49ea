//! The layout of tuple-space tables: tables with a `ternary` or `optional` key and no
//! `range` key, searched one hash lookup per distinct mask.
//!
//! Takes: a manifest [`Table`] of kind `tuple_space`, typed keys, and the mask slots read
//! from its masks map.
//! Gives: an entry's mask and masked key, its rank and the priority back from it, the keys
//! decoded from a stored key and its mask, and where a new mask goes ([`place_mask`]). Pure:
//! no syscalls; `tuple_table.rs` does the writes.
//!
//! The maps (see `iov_manifest`): the entries are a hash map keyed by `u32 mask_slot` (host
//! order) and the key's fields ANDed with the entry's mask; the masks map is an array whose
//! slot `i` (1 to `masks`) holds `u32 state` and the mask of each field at the key's offsets,
//! then (at `key_size`) a flag and the key of its one entry when it holds one ([`single`]),
//! then `u32 entries` (how many entries use it) and a writers' word at `2 * key_size`, then
//! the highest rank of its entries ([`most`]). Slot 0
//! is the writers' header: `u32 gp_seq` at byte 4, `u32 next_seq` and `u32 lowest` at
//! `2 * key_size`. The program probes slots 1, 2, ... up to the first in state [`END`],
//! skipping [`HOLE`]s, slots whose one entry cannot match and slots whose entries cannot beat
//! the match found, and of the entries it finds
//! keeps the one of the highest rank: `priority << 32 | (u32::MAX - seq)`, so a higher
//! priority wins and, on a tie, the entry added first.
//!
//! Why each write is atomic as a packet sees it: an entry is one hash element, added,
//! replaced or deleted whole (the map is not preallocated, so an element a program still
//! reads is freed only after it is done). A new mask's slot is written with its mask under a
//! state that hides it ([`END`] in the first unused slot, [`HOLE`] in a reused one) after its
//! first entry is in the hash map, then turned [`LIVE`]: the second write changes the state
//! word alone. A mask whose last entry goes becomes a hole after the entry is deleted.
//!
//! Why a sequence of writes is too: a lookup reads the slots one after another, so a packet
//! whose lookup spans two writes could see the first undone and the second done. That can
//! only hide an entry when the first write showed one in an earlier slot than the one the
//! second hides (a delete or the old version of a change), or when a hole made since is
//! reused (a packet that read the slot live could read the new mask's bytes). Each live slot
//! counts its entries shown since the last grace period ([`young`]), each hole keeps when it
//! was made, and the header keeps `gp_seq` (a `u32` at byte 4 of slot 0): before such a
//! write the writer waits for an RCU grace period, which no program run spans
//! ([`must_wait_to_hide`], [`hole_is_safe`]). Adds alone never wait, nor do deletes alone.

use crate::encode::Match;
use crate::encode::{check_key_count, field_pair, get_be, in_bounds, match_of, put_be, u32_at};
use crate::Error;
use iov_manifest::{MatchKind, Table, TupleSpace};

/// A mask slot's state: no mask here or after.
pub(crate) const END: u32 = 0;
/// A mask slot's state: probed.
pub(crate) const LIVE: u32 = 1;
/// A mask slot's state: skipped (no entry uses it; a new mask may take it).
pub(crate) const HOLE: u32 = 2;

/// The tuple-space part of `t`, or a manifest error.
pub(crate) fn space(t: &Table) -> Result<&TupleSpace, Error> {
    t.tuple_space.as_ref().ok_or_else(|| {
        Error::BadManifest(format!(
            "table `{}` is a tuple_space table without its masks",
            t.name
        ))
    })
}

/// The mask and the masked key (slot index 0) of an entry with `keys`: `key_size` bytes each.
pub(crate) fn encode_parts(t: &Table, keys: &[Match]) -> Result<(Vec<u8>, Vec<u8>), Error> {
    check_key_count(t, keys)?;
    let size = t.key_size as usize;
    let mut mask = vec![0u8; size];
    let mut key = vec![0u8; size];
    for (field, m) in t.keys.iter().zip(keys) {
        let what = format!("key `{}` of table `{}`", field.name, t.name);
        if field.match_kind == MatchKind::Range {
            return Err(Error::BadManifest(format!(
                "{what} is a `range` key in a tuple-space table"
            )));
        }
        let offset = 4 + field.offset as usize;
        let bytes = field.bytes as usize;
        in_bounds(&what, offset, bytes, size)?;
        let (value, m) = field_pair(t, field, m)?;
        put_be(&mut key, offset, bytes, value & m);
        put_be(&mut mask, offset, bytes, m);
    }
    Ok((mask, key))
}

/// `key` (from [`encode_parts`]) filed under mask slot `index`.
pub(crate) fn at_slot(mut key: Vec<u8>, index: u32) -> Vec<u8> {
    key[..4].copy_from_slice(&index.to_ne_bytes());
    key
}

/// The mask slot a stored key is filed under.
pub(crate) fn slot_of(key: &[u8]) -> u32 {
    u32_at(key, 0)
}

/// The keys of the stored `key` whose mask slot holds `mask`.
pub(crate) fn decode(t: &Table, key: &[u8], mask: &[u8]) -> Result<Vec<Match>, Error> {
    let mut keys = Vec::with_capacity(t.keys.len());
    for field in &t.keys {
        let offset = 4 + field.offset as usize;
        let bytes = field.bytes as usize;
        in_bounds(&field.name, offset, bytes, key.len().min(mask.len()))?;
        let m = get_be(mask, offset, bytes);
        keys.push(match_of(
            field.match_kind,
            get_be(key, offset, bytes) & m,
            m,
        ));
    }
    Ok(keys)
}

/// The rank of an entry of `priority` added as the `seq`th.
pub(crate) fn rank(priority: u32, seq: u32) -> u64 {
    u64::from(priority) << 32 | u64::from(u32::MAX - seq)
}

/// The priority a rank holds.
pub(crate) fn priority_of(rank: u64) -> u32 {
    (rank >> 32) as u32
}

/// The rank stored in an entry's value.
pub(crate) fn rank_in(ts: &TupleSpace, value: &[u8]) -> u64 {
    let at = ts.rank_offset as usize;
    value
        .get(at..at + 8)
        .map_or(0, |b| u64::from_ne_bytes(b.try_into().expect("8 bytes")))
}

/// Stores `rank` in an entry's value.
pub(crate) fn set_rank(ts: &TupleSpace, value: &mut [u8], rank: u64) -> Result<(), Error> {
    let at = ts.rank_offset as usize;
    in_bounds("the rank of an entry", at, 8, value.len())?;
    value[at..at + 8].copy_from_slice(&rank.to_ne_bytes());
    Ok(())
}

/// A mask slot's state.
pub(crate) fn state(slot: &[u8]) -> u32 {
    u32_at(slot, 0)
}

pub(crate) fn set_state(slot: &mut [u8], state: u32) {
    slot[..4].copy_from_slice(&state.to_ne_bytes());
}

/// The bytes of a mask slot: state and mask (`key_size`), the single entry's key
/// (`key_size`), two words, the highest rank of its entries (`u64`).
pub(crate) fn slot_size(t: &Table) -> usize {
    2 * t.key_size as usize + 16
}

/// The highest rank an entry of the slot has had since the mask went live: a lookup that
/// holds a match of at least that rank skips the mask (it only grows while the mask lives, so
/// it may be too high after a delete, which costs a probe, never a wrong answer).
pub(crate) fn most(t: &Table, slot: &[u8]) -> u64 {
    let at = 2 * t.key_size as usize + 8;
    slot.get(at..at + 8).map_or(u64::MAX, |b| {
        u64::from_ne_bytes(b.try_into().expect("8 bytes"))
    })
}

/// Raises the slot's highest rank to `rank` if it is lower.
pub(crate) fn raise_most(t: &Table, slot: &mut [u8], rank: u64) {
    let at = 2 * t.key_size as usize + 8;
    let m = most(t, slot).max(rank);
    if let Some(b) = slot.get_mut(at..at + 8) {
        b.copy_from_slice(&m.to_ne_bytes());
    }
}

/// The `u32` at `2 * key_size + 4 * word` of a mask slot: its entry count (word 0) and the
/// writers' word (1), or in the header `next_seq` (0) and `lowest` (1).
pub(crate) fn word(t: &Table, slot: &[u8], word: usize) -> u32 {
    let at = 2 * t.key_size as usize + 4 * word;
    slot.get(at..at + 4)
        .map_or(0, |b| u32::from_ne_bytes(b.try_into().expect("4 bytes")))
}

pub(crate) fn set_word(t: &Table, slot: &mut [u8], word: usize, v: u32) {
    let at = 2 * t.key_size as usize + 4 * word;
    if let Some(b) = slot.get_mut(at..at + 4) {
        b.copy_from_slice(&v.to_ne_bytes());
    }
}

/// The header's `gp_seq`: the sequence number (`next_seq`) when a writer last waited for a
/// grace period. An entry whose `seq` is at least `gp_seq` was added since.
pub(crate) fn gp_seq(header: &[u8]) -> u32 {
    u32_at(header, 4)
}

pub(crate) fn set_gp_seq(header: &mut [u8], seq: u32) {
    header[4..8].copy_from_slice(&seq.to_ne_bytes());
}

/// The `seq` of the entry of rank `rank`.
pub(crate) fn seq_of(rank: u64) -> u32 {
    u32::MAX - rank as u32
}

/// How many entries of a live slot became visible (added or changed) since the grace period
/// of `gp_seq`: its second word holds that count under the low 16 bits of the `gp_seq` it
/// was counted at (a count from an earlier period is 0; one that saturated stays, which only
/// makes writers wait more).
pub(crate) fn young(t: &Table, slot: &[u8], gp_seq: u32) -> u32 {
    let w = word(t, slot, 1);
    if w >> 16 == gp_seq & 0xffff {
        w & 0xffff
    } else {
        0
    }
}

fn set_young(t: &Table, slot: &mut [u8], gp_seq: u32, n: u32) {
    set_word(t, slot, 1, (gp_seq & 0xffff) << 16 | n.min(0xffff));
}

/// One more young entry in `slot`.
pub(crate) fn add_young(t: &Table, slot: &mut [u8], gp_seq: u32) {
    let n = young(t, slot, gp_seq);
    set_young(t, slot, gp_seq, n + 1);
}

/// One young entry fewer in `slot` (a saturated count stays).
pub(crate) fn drop_young(t: &Table, slot: &mut [u8], gp_seq: u32) {
    let n = young(t, slot, gp_seq);
    if n > 0 && n < 0xffff {
        set_young(t, slot, gp_seq, n - 1);
    }
}

/// Marks `slot` a hole made when the sequence number was `seq`.
pub(crate) fn make_hole(t: &Table, slot: &mut [u8], seq: u32) {
    set_state(slot, HOLE);
    set_word(t, slot, 1, seq);
}

/// Whether a hole may take a new mask: a grace period came after it was made, so no lookup
/// that read it live is still reading it.
pub(crate) fn hole_is_safe(t: &Table, slot: &[u8], gp_seq: u32) -> bool {
    word(t, slot, 1) < gp_seq
}

/// Whether a write that hides something in slot `index` (a delete, or a change's old
/// version) must wait for a grace period first: a live slot before it holds an entry that
/// became visible since the last one, and a lookup that probed that slot before it did and
/// this one after would see neither, a table no write left. (Within one slot a lookup makes
/// one probe, so writes there are seen one by one.)
pub(crate) fn must_wait_to_hide(t: &Table, slots: &[Vec<u8>], gp_seq: u32, index: u32) -> bool {
    slots
        .iter()
        .take(index.saturating_sub(1) as usize)
        .any(|s| state(s) == LIVE && young(t, s, gp_seq) > 0)
}

/// A fresh mask slot holding `mask` (from [`encode_parts`]) in `state`, with `entries`
/// entries counted.
pub(crate) fn mask_slot(t: &Table, mask: &[u8], state: u32, entries: u32) -> Vec<u8> {
    let mut slot = vec![0u8; slot_size(t)];
    slot[..mask.len()].copy_from_slice(mask);
    set_state(&mut slot, state);
    set_word(t, &mut slot, 0, entries);
    slot
}

/// Whether a mask slot says it holds one entry, whose masked key it keeps: a lookup whose
/// masked key differs then skips the hash lookup.
pub(crate) fn single(t: &Table, slot: &[u8]) -> bool {
    u32_at(slot, t.key_size as usize) == 1
}

/// Makes a mask slot keep `key` (a stored key: slot index, then the masked fields) as its
/// one entry's, or (`None`) say it holds more: the key bytes stay, only the flag changes, so
/// a lookup reading the slot while it is written sees one or the other whole.
pub(crate) fn set_single(t: &Table, slot: &mut [u8], key: Option<&[u8]>) {
    let at = t.key_size as usize;
    slot[at..at + 4].copy_from_slice(&u32::from(key.is_some()).to_ne_bytes());
    if let Some(key) = key {
        slot[at + 4..2 * at].copy_from_slice(&key[4..at]);
    }
}

/// Whether a mask slot holds `mask`, whatever its state and count.
pub(crate) fn same_mask(t: &Table, slot: &[u8], mask: &[u8]) -> bool {
    let end = t.key_size as usize;
    slot.get(4..end).is_some() && slot.get(4..end) == mask.get(4..end)
}

/// Where an entry with `mask` goes.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Place {
    /// The live slot with the same mask.
    Live(u32),
    /// A new mask in this slot: a hole (`hole`) or the first unused one; `wait` when it is a
    /// hole that needs a grace period first ([`hole_is_safe`]).
    New { index: u32, hole: bool, wait: bool },
    /// Every slot holds another live mask.
    Full,
}

/// Where `mask` goes among `slots`: slots 1, 2, ... as read up to the first unused one
/// (`slots[0]` is slot 1), of a table of `masks` slots. A hole safe to reuse comes first (the
/// program's probes stay short), then the first unused slot, then a hole after a wait.
pub(crate) fn place_mask(
    t: &Table,
    slots: &[Vec<u8>],
    masks: u32,
    mask: &[u8],
    gp_seq: u32,
) -> Place {
    let (mut safe, mut unsafe_hole) = (None, None);
    for (i, s) in slots.iter().enumerate() {
        let index = i as u32 + 1;
        match state(s) {
            LIVE if same_mask(t, s, mask) => return Place::Live(index),
            HOLE if hole_is_safe(t, s, gp_seq) => {
                safe.get_or_insert(index);
            }
            HOLE => {
                unsafe_hole.get_or_insert(index);
            }
            END => break,
            _ => {}
        }
    }
    if let Some(index) = safe {
        return Place::New {
            index,
            hole: true,
            wait: false,
        };
    }
    let used = slots.iter().take_while(|s| state(s) != END).count() as u32;
    if used < masks {
        return Place::New {
            index: used + 1,
            hole: false,
            wait: false,
        };
    }
    match unsafe_hole {
        Some(index) => Place::New {
            index,
            hole: true,
            wait: true,
        },
        None => Place::Full,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use iov_manifest::{self as manifest, Action, KeyField, MapKind};

    fn table() -> Table {
        let field = |name: &str, bits, match_kind, offset| KeyField {
            name: name.into(),
            bits,
            match_kind,
            offset,
            bytes: bits.div_ceil(8),
        };
        Table {
            name: "C.acl".into(),
            map: "acl".into(),
            default_map: "acl_default".into(),
            kind: MapKind::TupleSpace,
            size: 16,
            key_size: 8,
            value_size: 16,
            keys: vec![
                field("src", 16, MatchKind::Ternary, 0),
                field("proto", 8, MatchKind::Optional, 2),
            ],
            actions: vec![Action {
                name: "deny".into(),
                id: 1,
                params: vec![],
            }],
            default_action: manifest::ActionCall {
                action: "deny".into(),
                args: vec![],
            },
            default_const: false,
            entries: vec![],
            entries_const: false,
            direct_counter: None,
            direct_meter: None,
            data_plane: None,
            tuple_space: Some(TupleSpace {
                masks_map: "acl_masks".into(),
                masks: 2,
                rank_offset: 8,
            }),
        }
    }

    #[test]
    fn an_entry_is_its_mask_and_its_masked_key_and_decodes_back() {
        let t = table();
        let keys = [
            Match::Ternary {
                value: 0x1200,
                mask: 0xff00,
            },
            Match::Any,
        ];
        let (mask, key) = encode_parts(&t, &keys).unwrap();
        assert_eq!(mask, [0, 0, 0, 0, 0xff, 0x00, 0, 0]);
        assert_eq!(key, [0, 0, 0, 0, 0x12, 0x00, 0, 0]);
        let key = at_slot(key, 3);
        assert_eq!(slot_of(&key), 3);
        assert_eq!(decode(&t, &key, &mask).unwrap(), keys);
        let exact = [Match::Exact(0xabcd), Match::Exact(6)];
        let (mask, key) = encode_parts(&t, &exact).unwrap();
        assert_eq!(mask, [0, 0, 0, 0, 0xff, 0xff, 0xff, 0]);
        let back = decode(&t, &key, &mask).unwrap();
        assert_eq!(
            back,
            [
                Match::Ternary {
                    value: 0xabcd,
                    mask: 0xffff
                },
                Match::Exact(6)
            ]
        );
    }

    #[test]
    fn bad_keys_are_refused_before_any_write() {
        let t = table();
        let err = encode_parts(
            &t,
            &[
                Match::Ternary {
                    value: 0x1201,
                    mask: 0xff00,
                },
                Match::Any,
            ],
        )
        .unwrap_err();
        assert!(matches!(err, Error::MaskBits { .. }), "{err}");
        let err = encode_parts(&t, &[Match::Any]).unwrap_err();
        assert!(matches!(err, Error::KeyCount { .. }), "{err}");
        let err = encode_parts(&t, &[Match::Any, Match::Range { low: 1, high: 2 }]).unwrap_err();
        assert!(matches!(err, Error::WrongMatch { .. }), "{err}");
    }

    #[test]
    fn a_higher_priority_ranks_higher_and_ties_go_to_the_first_added() {
        assert!(rank(5, 100) > rank(4, 0));
        assert!(rank(5, 1) > rank(5, 2));
        assert_eq!(priority_of(rank(7, 9)), 7);
        let ts = table().tuple_space.unwrap();
        let mut value = vec![0u8; 16];
        set_rank(&ts, &mut value, rank(3, 4)).unwrap();
        assert_eq!(rank_in(&ts, &value), rank(3, 4));
        assert!(set_rank(&ts, &mut [0u8; 12], 1).is_err());
    }

    #[test]
    fn a_mask_goes_to_its_live_slot_else_a_safe_hole_else_an_unused_slot_else_a_hole_after_a_wait()
    {
        let t = table();
        let (a, _) = encode_parts(&t, &[Match::Exact(1), Match::Any]).unwrap();
        let (b, _) = encode_parts(&t, &[Match::Any, Match::Exact(1)]).unwrap();
        let (c, _) = encode_parts(&t, &[Match::Any, Match::Any]).unwrap();
        let new = |index, hole, wait| Place::New { index, hole, wait };
        let unused = vec![0u8; 16];
        let gp = 10;
        assert_eq!(
            place_mask(&t, std::slice::from_ref(&unused), 2, &a, gp),
            new(1, false, false)
        );
        let live_a = mask_slot(&t, &a, LIVE, 1);
        assert_eq!(word(&t, &live_a, 0), 1);
        let two = [live_a.clone(), unused.clone()];
        assert_eq!(place_mask(&t, &two, 2, &a, gp), Place::Live(1));
        assert_eq!(place_mask(&t, &two, 2, &b, gp), new(2, false, false));
        let live_b = mask_slot(&t, &b, LIVE, 4);
        assert_eq!(
            place_mask(&t, &[live_a, live_b.clone()], 2, &c, gp),
            Place::Full
        );
        // A hole made before the last grace period is taken at once, a mask only in a hole
        // is new, and a hole made since waits when no unused slot is left.
        let mut old_hole = mask_slot(&t, &a, LIVE, 0);
        make_hole(&t, &mut old_hole, gp - 1);
        let mut new_hole = old_hole.clone();
        make_hole(&t, &mut new_hole, gp);
        assert_eq!(
            place_mask(&t, &[old_hole.clone(), live_b.clone()], 2, &c, gp),
            new(1, true, false)
        );
        assert_eq!(
            place_mask(&t, &[old_hole, live_b.clone()], 2, &a, gp),
            new(1, true, false)
        );
        let three = [new_hole.clone(), live_b.clone(), unused.clone()];
        assert_eq!(place_mask(&t, &three, 3, &c, gp), new(3, false, false));
        assert_eq!(
            place_mask(&t, &[new_hole, live_b], 2, &c, gp),
            new(1, true, true)
        );
    }

    #[test]
    fn a_slot_keeps_the_key_of_its_one_entry_and_only_the_flag_changes_after() {
        let t = table();
        let (mask, key) = encode_parts(&t, &[Match::Exact(0x1234), Match::Exact(6)]).unwrap();
        let key = at_slot(key, 3);
        let mut slot = mask_slot(&t, &mask, LIVE, 1);
        assert_eq!(slot.len(), slot_size(&t));
        assert!(!single(&t, &slot));
        set_single(&t, &mut slot, Some(&key));
        assert!(single(&t, &slot));
        assert_eq!(
            slot[8..16],
            [1, 0, 0, 0, 0x12, 0x34, 6, 0],
            "flag, then the fields"
        );
        let before = slot.clone();
        set_single(&t, &mut slot, None);
        assert!(!single(&t, &slot));
        assert_eq!(slot[12..], before[12..], "the key bytes stay");
        assert_eq!(word(&t, &slot, 0), 1, "the count follows at 2 * key_size");
        assert_eq!(most(&t, &slot), 0);
        raise_most(&t, &mut slot, rank(5, 2));
        raise_most(&t, &mut slot, rank(3, 1));
        assert_eq!(most(&t, &slot), rank(5, 2), "only raised");
        assert_eq!(
            slot[24..32],
            rank(5, 2).to_ne_bytes(),
            "at 2 * key_size + 8"
        );
        assert_eq!(
            most(&t, &slot[..20]),
            u64::MAX,
            "a short slot is never skipped"
        );
    }

    #[test]
    fn hiding_waits_only_behind_an_earlier_slot_shown_since_the_last_grace_period() {
        let t = table();
        let (a, _) = encode_parts(&t, &[Match::Exact(1), Match::Any]).unwrap();
        let (b, _) = encode_parts(&t, &[Match::Any, Match::Exact(1)]).unwrap();
        let mut first = mask_slot(&t, &a, LIVE, 1);
        let second = mask_slot(&t, &b, LIVE, 1);
        let gp = 0x2_0005;
        assert_eq!(young(&t, &first, gp), 0);
        assert!(!must_wait_to_hide(
            &t,
            &[first.clone(), second.clone()],
            gp,
            2
        ));
        add_young(&t, &mut first, gp);
        add_young(&t, &mut first, gp);
        assert_eq!(young(&t, &first, gp), 2);
        let slots = [first.clone(), second];
        assert!(must_wait_to_hide(&t, &slots, gp, 2), "slot 1 shown since");
        assert!(!must_wait_to_hide(&t, &slots, gp, 1), "within one slot");
        assert!(
            !must_wait_to_hide(&t, &slots, gp + 1, 2),
            "a grace period since"
        );
        drop_young(&t, &mut first, gp);
        drop_young(&t, &mut first, gp);
        assert_eq!(young(&t, &first, gp), 0);
        // A saturated count never comes down: writers wait at the next hide.
        for _ in 0..0x1_0000 {
            add_young(&t, &mut first, gp);
        }
        drop_young(&t, &mut first, gp);
        assert_eq!(young(&t, &first, gp), 0xffff);
        let mut header = vec![0u8; 16];
        set_gp_seq(&mut header, 7);
        assert_eq!(gp_seq(&header), 7);
        assert_eq!(seq_of(rank(3, 9)), 9);
    }
}
