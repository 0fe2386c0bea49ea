//! The control plane of tuple-space tables (a `ternary` or `optional` key, no `range` key).
//!
//! Takes: a manifest [`Table`] of kind `tuple_space`, typed keys and action calls, checked by
//! `tuples.rs` and `encode.rs` before any map is touched.
//! Gives: entries added, changed, deleted, read and listed (in the order the program ranks
//! them) and the table cleared, through the entries map and the masks map, each write in the
//! order `tuples.rs` explains so that a packet sees the table before or after it, never in
//! between. Writers hold the module's write lock; the masks map's header (slot 0) keeps the
//! lowest priority given and a sequence number every add and delete advances: it breaks
//! priority ties, and it tells a writer whether the mask slots it remembers ([`Writes`]) are
//! still those in the map (another process may have written since), so an add reads two
//! slots, not every mask.

use crate::control::{delete_all, hash_values, keep_counter, update_error};
use crate::encode::{decode_action, encode_action, ActionCall, Entry, Match};
use crate::sys::{self, RawMap, Update};
use crate::tuples::{add_young, drop_young, gp_seq, make_hole, must_wait_to_hide, seq_of};
use crate::tuples::{
    at_slot, decode, encode_parts, mask_slot, place_mask, priority_of, rank, rank_in, set_rank,
    set_state, set_word, slot_of, space, state, word, Place, END, HOLE, LIVE,
};
use crate::tuples::{raise_most, set_gp_seq, set_single, single};
use crate::{Error, Module};
use iov_manifest::{Table, TupleSpace};
use std::collections::HashMap;
use std::io;

/// What the writers of a module remember, under its write lock: per tuple-space table, the
/// header's sequence number when they last read or wrote the mask slots, and those slots.
#[derive(Default)]
pub(crate) struct Writes {
    masks: HashMap<String, (u32, Vec<Vec<u8>>)>,
}

impl Writes {
    /// Forgets what it knew of `table`'s masks (after they were written behind its back).
    pub(crate) fn forget(&mut self, table: &str) {
        self.masks.remove(table);
    }
}

/// Keys and values of a map, as a batch snapshots them.
pub(crate) type Pairs = Vec<(Vec<u8>, Vec<u8>)>;

/// Slot `index` of the masks map.
fn read(masks: &RawMap<'_>, ts: &TupleSpace, index: u32) -> Result<Vec<u8>, Error> {
    masks
        .lookup(&index.to_ne_bytes())
        .map_err(|e| Error::syscall("BPF_MAP_LOOKUP_ELEM", &ts.masks_map, e))?
        .ok_or_else(|| {
            let e = io::Error::from_raw_os_error(libc::ENOENT);
            Error::syscall("BPF_MAP_LOOKUP_ELEM", &ts.masks_map, e)
        })
}

fn write(masks: &RawMap<'_>, ts: &TupleSpace, index: u32, slot: &[u8]) -> Result<(), Error> {
    masks
        .update(&index.to_ne_bytes(), slot, Update::Any)
        .map_err(|e| Error::syscall("BPF_MAP_UPDATE_ELEM", &ts.masks_map, e))
}

/// Mask slots 1, 2, ... up to and including the first unused one (or the last slot).
fn read_masks(masks: &RawMap<'_>, ts: &TupleSpace) -> Result<Vec<Vec<u8>>, Error> {
    let mut slots = Vec::new();
    for index in 1..=ts.masks {
        let slot = read(masks, ts, index)?;
        let end = state(&slot) == END;
        slots.push(slot);
        if end {
            break;
        }
    }
    Ok(slots)
}

/// The header and the mask slots of `t` (as [`read_masks`] gives them): remembered when the
/// header's sequence number is the one they were remembered at, else read.
fn masks_of(
    w: &mut Writes,
    t: &Table,
    ts: &TupleSpace,
    masks: &RawMap<'_>,
) -> Result<(Vec<u8>, Vec<Vec<u8>>), Error> {
    let header = read(masks, ts, 0)?;
    let seq = word(t, &header, 0);
    // Taken out, not copied: [`advance`] or [`keep`] puts them back; a write that fails
    // half way leaves nothing remembered, and the next reads the map.
    if let Some((at, slots)) = w.masks.remove(&t.name) {
        if at == seq {
            return Ok((header, slots));
        }
    }
    Ok((header, read_masks(masks, ts)?))
}

/// Puts back the slots [`masks_of`] gave, unchanged, at the header's sequence number.
fn keep(w: &mut Writes, t: &Table, header: &[u8], slots: Vec<Vec<u8>>) {
    w.masks.insert(t.name.clone(), (word(t, header, 0), slots));
}

/// Writes `slot` as mask slot `index` (1 or more) and remembers it.
fn write_mask(
    masks: &RawMap<'_>,
    ts: &TupleSpace,
    slots: &mut Vec<Vec<u8>>,
    index: u32,
    slot: &[u8],
) -> Result<(), Error> {
    write(masks, ts, index, slot)?;
    let i = index as usize - 1;
    if i < slots.len() {
        slots[i] = slot.to_vec();
    } else {
        slots.push(slot.to_vec());
    }
    Ok(())
}

/// Advances the header's sequence number (setting `lowest` when given), writes it, and
/// remembers `slots` at the new number.
fn advance(
    w: &mut Writes,
    t: &Table,
    ts: &TupleSpace,
    masks: &RawMap<'_>,
    mut header: Vec<u8>,
    lowest: Option<u32>,
    mut slots: Vec<Vec<u8>>,
) -> Result<(), Error> {
    let seq = word(t, &header, 0).wrapping_add(1);
    set_word(t, &mut header, 0, seq);
    if let Some(low) = lowest {
        set_word(t, &mut header, 1, low);
    }
    // As read_masks gives them: up to the first unused slot, included.
    if slots.last().is_none_or(|s| state(s) != END) && (slots.len() as u32) < ts.masks {
        slots.push(read(masks, ts, slots.len() as u32 + 1)?);
    }
    write(masks, ts, 0, &header)?;
    w.masks.insert(t.name.clone(), (seq, slots));
    Ok(())
}

/// Waits for a grace period (see `tuples.rs`) and records it in the header: every entry
/// shown before is now seen by every lookup, every hole made before is free.
fn wait(t: &Table, ts: &TupleSpace, header: &mut [u8]) -> Result<(), Error> {
    sys::grace_period().map_err(|e| Error::syscall("membarrier", &ts.masks_map, e))?;
    let seq = word(t, header, 0);
    set_gp_seq(header, seq);
    Ok(())
}

/// An entry found: its stored key and value, its mask slot, and the masks as
/// [`masks_of`] gives them.
struct Found {
    key: Vec<u8>,
    value: Vec<u8>,
    index: u32,
    header: Vec<u8>,
    slots: Vec<Vec<u8>>,
}

/// The live mask slot holding `mask`, or `NoEntry`.
fn live_slot(t: &Table, slots: &[Vec<u8>], mask: &[u8]) -> Result<u32, Error> {
    match place_mask(t, slots, u32::MAX, mask, 0) {
        Place::Live(index) => Ok(index),
        _ => Err(Error::NoEntry {
            table: t.name.clone(),
        }),
    }
}

impl Module {
    /// Adds an entry to a tuple-space table (see [`Module::add_entry_with_priority`]).
    pub(crate) fn ts_insert(
        &self,
        t: &Table,
        priority: Option<u32>,
        keys: &[Match],
        call: &ActionCall,
    ) -> Result<(), Error> {
        let ts = space(t)?;
        let (mask, key) = encode_parts(t, keys)?;
        let mut value = encode_action(t, call)?;
        let mut w = self.write_lock();
        let entries = self.map(&t.map)?;
        let masks = self.map(&ts.masks_map)?;
        let (mut header, mut slots) = masks_of(&mut w, t, ts, &masks)?;
        let place = place_mask(t, &slots, ts.masks, &mask, gp_seq(&header));
        let index = match place {
            Place::Live(index) | Place::New { index, .. } => index,
            Place::Full => {
                return Err(Error::MasksFull {
                    table: t.name.clone(),
                    masks: ts.masks,
                })
            }
        };
        let key = at_slot(key, index);
        // Refused by the add itself (it must not exist), but before a meter cell is reset.
        if matches!(place, Place::Live(_))
            && t.direct_meter.is_some()
            && entries
                .lookup(&key)
                .map_err(|e| Error::syscall("BPF_MAP_LOOKUP_ELEM", &t.map, e))?
                .is_some()
        {
            return Err(Error::EntryExists {
                table: t.name.clone(),
            });
        }
        if t.direct_meter.is_some() {
            self.give_meter_cell(t, &hash_values(&entries, t)?, &mut value)?;
        }
        let (seq, lowest) = (word(t, &header, 0), word(t, &header, 1));
        let priority = priority.unwrap_or(match lowest {
            0 => t.size.max(1),
            low => low.saturating_sub(1).max(1),
        });
        set_rank(ts, &mut value, rank(priority, seq))?;
        // A lookup that read the hole while it was live may still read its mask bytes.
        if matches!(place, Place::New { wait: true, .. }) {
            wait(t, ts, &mut header)?;
        }
        // A mask about to hold a second entry stops saying it holds one before that entry is
        // there (if the add is refused, it only makes lookups under it probe the map).
        if let Place::Live(index) = place {
            let mut slot = slots[index as usize - 1].clone();
            if single(t, &slot) {
                set_single(t, &mut slot, None);
                write_mask(&masks, ts, &mut slots, index, &slot)?;
            }
        }
        entries
            .update(&key, &value, Update::NoExist)
            .map_err(|e| update_error(t, e))?;
        let gp = gp_seq(&header);
        match place {
            Place::Live(index) => {
                let mut slot = slots[index as usize - 1].clone();
                let n = word(t, &slot, 0);
                set_word(t, &mut slot, 0, n + 1);
                add_young(t, &mut slot, gp);
                raise_most(t, &mut slot, rank_in(ts, &value));
                write_mask(&masks, ts, &mut slots, index, &slot)?;
            }
            Place::New { index, hole, .. } => {
                let mut slot = mask_slot(t, &mask, if hole { HOLE } else { END }, 1);
                set_single(t, &mut slot, Some(&key));
                add_young(t, &mut slot, gp);
                raise_most(t, &mut slot, rank_in(ts, &value));
                write(&masks, ts, index, &slot)?;
                set_state(&mut slot, LIVE);
                write_mask(&masks, ts, &mut slots, index, &slot)?;
            }
            Place::Full => unreachable!("refused above"),
        }
        let lowest = if lowest == 0 {
            priority
        } else {
            lowest.min(priority)
        };
        advance(&mut w, t, ts, &masks, header, Some(lowest), slots)
    }

    /// The entry of `t` with `keys`, or `NoEntry`.
    fn ts_find(&self, w: &mut Writes, t: &Table, keys: &[Match]) -> Result<Found, Error> {
        let ts = space(t)?;
        let (mask, key) = encode_parts(t, keys)?;
        let masks = self.map(&ts.masks_map)?;
        let (header, slots) = masks_of(w, t, ts, &masks)?;
        let index = match live_slot(t, &slots, &mask) {
            Ok(index) => index,
            Err(e) => {
                keep(w, t, &header, slots);
                return Err(e);
            }
        };
        let key = at_slot(key, index);
        let value = self
            .map(&t.map)?
            .lookup(&key)
            .map_err(|e| Error::syscall("BPF_MAP_LOOKUP_ELEM", &t.map, e))?
            .ok_or_else(|| Error::NoEntry {
                table: t.name.clone(),
            })?;
        Ok(Found {
            key,
            value,
            index,
            header,
            slots,
        })
    }

    /// Changes the action of an entry; it keeps its rank and its direct state.
    pub(crate) fn ts_modify(
        &self,
        t: &Table,
        keys: &[Match],
        call: &ActionCall,
    ) -> Result<(), Error> {
        let ts = space(t)?;
        let mut value = encode_action(t, call)?;
        let mut w = self.write_lock();
        let mut f = self.ts_find(&mut w, t, keys)?;
        keep_counter(t, &f.value, &mut value);
        set_rank(ts, &mut value, rank_in(ts, &f.value))?;
        // The old version goes as the new one comes.
        if must_wait_to_hide(t, &f.slots, gp_seq(&f.header), f.index) {
            wait(t, ts, &mut f.header)?;
        }
        self.map(&t.map)?
            .update(&f.key, &value, Update::Exist)
            .map_err(|e| update_error(t, e))?;
        // Counted young until the next grace period (its `seq` stays the add's, so its
        // delete will not count it out: writers only wait more).
        let mut slot = f.slots[f.index as usize - 1].clone();
        add_young(t, &mut slot, gp_seq(&f.header));
        let masks = self.map(&ts.masks_map)?;
        write_mask(&masks, ts, &mut f.slots, f.index, &slot)?;
        advance(&mut w, t, ts, &masks, f.header, None, f.slots)
    }

    /// Deletes an entry; a mask no entry uses any more becomes a hole.
    pub(crate) fn ts_delete(&self, t: &Table, keys: &[Match]) -> Result<(), Error> {
        let ts = space(t)?;
        let mut w = self.write_lock();
        let Found {
            key,
            value,
            index,
            mut header,
            mut slots,
        } = self.ts_find(&mut w, t, keys)?;
        if must_wait_to_hide(t, &slots, gp_seq(&header), index) {
            wait(t, ts, &mut header)?;
        }
        let deleted = self
            .map(&t.map)?
            .delete(&key)
            .map_err(|e| Error::syscall("BPF_MAP_DELETE_ELEM", &t.map, e))?;
        if !deleted {
            return Err(Error::NoEntry {
                table: t.name.clone(),
            });
        }
        let masks = self.map(&ts.masks_map)?;
        let mut slot = slots[index as usize - 1].clone();
        let left = word(t, &slot, 0).saturating_sub(1);
        set_word(t, &mut slot, 0, left);
        let gp = gp_seq(&header);
        if seq_of(rank_in(ts, &value)) >= gp {
            drop_young(t, &mut slot, gp);
        }
        if left == 0 {
            make_hole(t, &mut slot, word(t, &header, 0));
        }
        write_mask(&masks, ts, &mut slots, index, &slot)?;
        advance(&mut w, t, ts, &masks, header, None, slots)
    }

    /// The value of the entry of `t` with `keys`.
    pub(crate) fn ts_value(&self, t: &Table, keys: &[Match]) -> Result<Vec<u8>, Error> {
        let mut w = self.write_lock();
        let f = self.ts_find(&mut w, t, keys)?;
        keep(&mut w, t, &f.header, f.slots);
        Ok(f.value)
    }

    /// The entry of `t` with `keys`.
    pub(crate) fn ts_entry(&self, t: &Table, keys: &[Match]) -> Result<Entry, Error> {
        let ts = space(t)?;
        let mut w = self.write_lock();
        let Found {
            key,
            value,
            index,
            header,
            slots,
        } = self.ts_find(&mut w, t, keys)?;
        let mask = slots[index as usize - 1].clone();
        keep(&mut w, t, &header, slots);
        Ok(Entry {
            keys: decode(t, &key, &mask)?,
            action: decode_action(t, &t.map, &value)?,
            priority: Some(priority_of(rank_in(ts, &value))),
        })
    }

    /// Every entry, in the order the program ranks them (the first wins).
    pub(crate) fn ts_entries(&self, t: &Table) -> Result<Vec<Entry>, Error> {
        let ts = space(t)?;
        let _guard = self.write_lock();
        let masks = self.map(&ts.masks_map)?;
        let live: HashMap<u32, Vec<u8>> = read_masks(&masks, ts)?
            .into_iter()
            .enumerate()
            .filter(|(_, s)| state(s) == LIVE)
            .map(|(i, s)| (i as u32 + 1, s))
            .collect();
        let map = self.map(&t.map)?;
        let keys = map
            .keys()
            .map_err(|e| Error::syscall("BPF_MAP_GET_NEXT_KEY", &t.map, e))?;
        let mut ranked = Vec::with_capacity(keys.len());
        for key in keys {
            let Some(mask) = live.get(&slot_of(&key)) else {
                continue;
            };
            let Some(value) = map
                .lookup(&key)
                .map_err(|e| Error::syscall("BPF_MAP_LOOKUP_ELEM", &t.map, e))?
            else {
                continue;
            };
            let r = rank_in(ts, &value);
            let entry = Entry {
                keys: decode(t, &key, mask)?,
                action: decode_action(t, &t.map, &value)?,
                priority: Some(priority_of(r)),
            };
            ranked.push((std::cmp::Reverse(r), entry));
        }
        ranked.sort();
        Ok(ranked.into_iter().map(|(_, e)| e).collect())
    }

    /// Deletes every entry; returns how many. The first mask slot ends the probes before
    /// any entry goes, so a packet sees the whole table or an empty one. The sequence number
    /// goes on (a writer that remembers the masks must see they changed).
    pub(crate) fn ts_clear(&self, t: &Table) -> Result<usize, Error> {
        let ts = space(t)?;
        let mut w = self.write_lock();
        let masks = self.map(&ts.masks_map)?;
        let mut header = read(&masks, ts, 0)?;
        let slots = read_masks(&masks, ts)?;
        if let Some(first) = slots.first().filter(|s| state(s) != END) {
            let mut first = first.clone();
            set_state(&mut first, END);
            write(&masks, ts, 1, &first)?;
            // Every lookup from now on stops at slot 1; one under way may still read on.
            wait(t, ts, &mut header)?;
        }
        let deleted = delete_all(&self.map(&t.map)?, t)?;
        let empty = vec![0u8; crate::tuples::slot_size(t)];
        for index in (1..=slots.len() as u32).rev() {
            write(&masks, ts, index, &empty)?;
        }
        // No priority given any more: the next entry added without one starts again.
        advance(&mut w, t, ts, &masks, header, Some(0), vec![empty])?;
        Ok(deleted)
    }

    /// Every slot of the masks map, for a batch to put back.
    pub(crate) fn ts_mask_slots(&self, t: &Table) -> Result<Pairs, Error> {
        let ts = space(t)?;
        let masks = self.map(&ts.masks_map)?;
        (0..=ts.masks)
            .map(|i| Ok((i.to_ne_bytes().to_vec(), read(&masks, ts, i)?)))
            .collect()
    }

    /// Writes back the masks map's slots (from [`Module::ts_mask_slots`]).
    pub(crate) fn ts_restore_masks(
        &self,
        t: &Table,
        slots: &[(Vec<u8>, Vec<u8>)],
    ) -> Result<(), Error> {
        let ts = space(t)?;
        self.write_lock().forget(&t.name);
        let masks = self.map(&ts.masks_map)?;
        for (k, v) in slots {
            masks
                .update(k, v, Update::Any)
                .map_err(|e| Error::syscall("BPF_MAP_UPDATE_ELEM", &ts.masks_map, e))?;
        }
        Ok(())
    }
}
