//! The typed control plane of a loaded module.
//!
//! Takes: table, counter and register names as the program writes them (`Control.name`, or
//! just `name` when unambiguous), typed keys ([`Match`]), action names and `u128` values.
//! Gives: table entries added, changed, deleted and listed; default actions set and read;
//! counters summed over CPUs; registers read and written. Every request is checked against
//! the manifest (names, counts, bit widths, prefix lengths, masks, ranges, priorities,
//! const-ness, room in the table) before any map is touched, so a refused request changes
//! nothing. Array tables are rewritten slot by slot as `slots.rs` plans; a table's direct
//! counters start at zero with their entry and survive changes of its action.

use crate::encode::{check_fits, decode_action, decode_key, encode_action, encode_key, Match};
use crate::encode::{in_bounds, ActionCall, Entry};
use crate::error::list;
use crate::slots::{decode_slot_key, encode_slot_key, make_slot, next_priority, plan_delete};
use crate::slots::{find_slot, plan_insert, priority, same_keys, set_priority, value_of, Op};
use crate::sys::{RawMap, Update};
use crate::{Error, Module};
use iov_manifest::{Counter, MapKind, Register, Table};
use std::io;
use std::sync::MutexGuard;

/// Finds `name` among `items` by full name, else by the last `.` segment.
pub(crate) fn by_name<'a, T>(
    items: &'a [T],
    name: &str,
    full: impl Fn(&T) -> &str,
) -> Option<&'a T> {
    items.iter().find(|i| full(i) == name).or_else(|| {
        items
            .iter()
            .find(|i| full(i).rsplit('.').next() == Some(name))
    })
}

impl Module {
    /// The manifest table `name`.
    pub fn table(&self, name: &str) -> Result<&Table, Error> {
        by_name(&self.manifest.tables, name, |t| &t.name).ok_or_else(|| Error::UnknownTable {
            name: name.into(),
            known: list(self.manifest.tables.iter().map(|t| t.name.as_str())),
        })
    }

    pub(crate) fn counter_decl(&self, name: &str) -> Result<&Counter, Error> {
        by_name(&self.manifest.counters, name, |c| &c.name).ok_or_else(|| Error::UnknownExtern {
            kind: "counter",
            name: name.into(),
            known: list(self.manifest.counters.iter().map(|c| c.name.as_str())),
        })
    }

    pub(crate) fn register_decl(&self, name: &str) -> Result<&Register, Error> {
        by_name(&self.manifest.registers, name, |r| &r.name).ok_or_else(|| Error::UnknownExtern {
            kind: "register",
            name: name.into(),
            known: list(self.manifest.registers.iter().map(|r| r.name.as_str())),
        })
    }

    /// Sets an entry's last use to now in a table whose entries expire (the clock the
    /// program reads: the test clock in a test build, else the kernel's monotonic clock).
    fn stamp_last_use(&self, t: &Table, value: &mut [u8]) -> Result<(), Error> {
        let Some(at) = t.data_plane.as_ref().and_then(|d| d.last_used_offset) else {
            return Ok(());
        };
        let now = if self.manifest.clock_map.is_some() {
            self.clock()?
        } else {
            let mut ts = libc::timespec {
                tv_sec: 0,
                tv_nsec: 0,
            };
            // SAFETY: `ts` is a valid timespec for clock_gettime to fill.
            unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
            ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
        };
        let at = at as usize;
        if let Some(slot) = value.get_mut(at..at + 8) {
            slot.copy_from_slice(&now.to_ne_bytes());
        }
        Ok(())
    }

    /// The manifest table `name`, refused when its entries are `const`.
    fn writable(&self, name: &str) -> Result<&Table, Error> {
        let t = self.table(name)?;
        if t.entries_const {
            return Err(Error::ConstEntries {
                table: t.name.clone(),
            });
        }
        Ok(t)
    }

    /// Serializes this module's read-modify-write table changes.
    pub(crate) fn write_lock(&self) -> MutexGuard<'_, crate::tuple_table::Writes> {
        self.writes.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Adds an entry to `table`; refused when an entry with the same keys exists.
    ///
    /// In a table with priorities (a `ternary`, `range` or `optional` key: an array or a
    /// tuple-space table) the entry matches after every existing one: its priority is one
    /// less than the lowest in the table (at least 1, a tie going after the existing entries),
    /// or the table's `size` in an empty table. (A tuple-space table remembers the lowest
    /// priority ever given until it is cleared, not the lowest left.)
    pub fn add_entry(
        &self,
        table: &str,
        keys: &[Match],
        action: &str,
        args: &[u128],
    ) -> Result<(), Error> {
        self.insert(table, None, keys, action, args)
    }

    /// Adds an entry with `priority` (at least 1; the higher wins) to a table with
    /// priorities (a `ternary`, `range` or `optional` key). It goes
    /// after the entries of a higher or the same priority. Refused for exact and lpm tables,
    /// whose entries have no priority, and when an entry with the same keys exists, whatever
    /// its priority.
    pub fn add_entry_with_priority(
        &self,
        table: &str,
        priority: u32,
        keys: &[Match],
        action: &str,
        args: &[u128],
    ) -> Result<(), Error> {
        self.insert(table, Some(priority), keys, action, args)
    }

    fn insert(
        &self,
        table: &str,
        priority: Option<u32>,
        keys: &[Match],
        action: &str,
        args: &[u128],
    ) -> Result<(), Error> {
        let t = self.writable(table)?;
        if t.kind == MapKind::TupleSpace {
            if priority == Some(0) {
                return Err(Error::ZeroPriority {
                    table: t.name.clone(),
                });
            }
            return self.ts_insert(t, priority, keys, &ActionCall::new(action, args));
        }
        if t.kind != MapKind::Array {
            if priority.is_some() {
                return Err(Error::NoPriority {
                    table: t.name.clone(),
                });
            }
            let key = encode_key(t, keys)?;
            // Zeroed, direct counter included.
            let mut value = encode_action(t, &ActionCall::new(action, args))?;
            self.stamp_last_use(t, &mut value)?;
            let _guard = self.write_lock();
            let map = self.map(&t.map)?;
            if t.direct_meter.is_some() {
                // A cell no entry holds: resetting it harms nothing if the add is refused.
                let values = hash_values(&map, t)?;
                self.give_meter_cell(t, &values, &mut value)?;
            }
            return map
                .update(&key, &value, Update::NoExist)
                .map_err(|e| update_error(t, e));
        }
        if priority == Some(0) {
            return Err(Error::ZeroPriority {
                table: t.name.clone(),
            });
        }
        let key = encode_slot_key(t, keys)?;
        let mut value = encode_action(t, &ActionCall::new(action, args))?;
        let _guard = self.write_lock();
        let map = self.map(&t.map)?;
        let used = read_slots(&map, t)?;
        if used.iter().any(|s| same_keys(t, s, &key)) {
            return Err(Error::EntryExists {
                table: t.name.clone(),
            });
        }
        if used.len() >= t.size as usize {
            return Err(Error::TableFull {
                table: t.name.clone(),
                size: t.size,
            });
        }
        if t.direct_meter.is_some() {
            let values: Vec<&[u8]> = used.iter().map(|s| value_of(t, s)).collect();
            self.give_meter_cell(t, &values, &mut value)?;
        }
        let priority = priority.unwrap_or_else(|| next_priority(t, &used));
        let ops = plan_insert(&used, make_slot(&key, priority, &value));
        write_slots(&map, t, &ops)
    }

    /// Changes the action of the existing entry of `table` with these keys. The entry keeps
    /// its priority, its place and its direct counter (less any hit counted while the change
    /// is being written).
    pub fn modify_entry(
        &self,
        table: &str,
        keys: &[Match],
        action: &str,
        args: &[u128],
    ) -> Result<(), Error> {
        let t = self.writable(table)?;
        let no_entry = || Error::NoEntry {
            table: t.name.clone(),
        };
        if t.kind == MapKind::TupleSpace {
            return self.ts_modify(t, keys, &ActionCall::new(action, args));
        }
        if t.kind == MapKind::Array {
            let key = encode_slot_key(t, keys)?;
            let mut value = encode_action(t, &ActionCall::new(action, args))?;
            let _guard = self.write_lock();
            let map = self.map(&t.map)?;
            let used = read_slots(&map, t)?;
            let index = find_slot(t, &used, &key)?;
            // Read again just before writing, to lose as few counted hits as possible.
            let current = read_slot(&map, t, index as u32)?;
            keep_counter(t, value_of(t, &current), &mut value);
            let slot = make_slot(&key, priority(&current), &value);
            let index = index as u32;
            return write_slots(&map, t, &[Op::Write { index, slot }]);
        }
        let key = encode_key(t, keys)?;
        let mut value = encode_action(t, &ActionCall::new(action, args))?;
        self.stamp_last_use(t, &mut value)?;
        let _guard = self.write_lock();
        let map = self.map(&t.map)?;
        if t.direct_counter.is_some() || t.direct_meter.is_some() {
            let current = lookup_exact(&map, t, &key)?.ok_or_else(no_entry)?;
            keep_counter(t, &current, &mut value);
        }
        map.update(&key, &value, Update::Exist)
            .map_err(|e| update_error(t, e))
    }

    /// Deletes the entry of `table` with these keys. In an array table the entries after it
    /// move up by one slot; in a tuple-space table a mask left without entries becomes a
    /// hole.
    pub fn delete_entry(&self, table: &str, keys: &[Match]) -> Result<(), Error> {
        let t = self.writable(table)?;
        let no_entry = || Error::NoEntry {
            table: t.name.clone(),
        };
        if t.kind == MapKind::TupleSpace {
            return self.ts_delete(t, keys);
        }
        if t.kind == MapKind::Array {
            let key = encode_slot_key(t, keys)?;
            let _guard = self.write_lock();
            let map = self.map(&t.map)?;
            let used = read_slots(&map, t)?;
            let index = find_slot(t, &used, &key)?;
            return write_slots(&map, t, &plan_delete(used.len(), index));
        }
        let key = encode_key(t, keys)?;
        let map = self.map(&t.map)?;
        match map.delete(&key) {
            Ok(true) => Ok(()),
            Ok(false) => Err(no_entry()),
            Err(e) => Err(Error::syscall("BPF_MAP_DELETE_ELEM", &t.map, e)),
        }
    }

    /// Every entry of `table` (const entries included): for a table with priorities in the
    /// order the program ranks them (descending priority, ties in the order added), otherwise
    /// sorted by keys.
    pub fn entries(&self, table: &str) -> Result<Vec<Entry>, Error> {
        let t = self.table(table)?;
        if t.kind == MapKind::TupleSpace {
            return self.ts_entries(t);
        }
        let map = self.map(&t.map)?;
        if t.kind == MapKind::Array {
            let _guard = self.write_lock();
            return read_slots(&map, t)?
                .iter()
                .map(|slot| {
                    Ok(Entry {
                        keys: decode_slot_key(t, slot)?,
                        action: decode_action(t, &t.map, value_of(t, slot))?,
                        priority: Some(priority(slot)),
                    })
                })
                .collect();
        }
        let keys = map
            .keys()
            .map_err(|e| Error::syscall("BPF_MAP_GET_NEXT_KEY", &t.map, e))?;
        let mut entries = Vec::with_capacity(keys.len());
        for raw in keys {
            let value = map
                .lookup(&raw)
                .map_err(|e| Error::syscall("BPF_MAP_LOOKUP_ELEM", &t.map, e))?;
            // Deleted by someone else since the keys were listed.
            let Some(value) = value else { continue };
            entries.push(Entry {
                keys: decode_key(t, &raw)?,
                action: decode_action(t, &t.map, &value)?,
                priority: None,
            });
        }
        entries.sort();
        Ok(entries)
    }

    /// The entry of `table` with these keys (as [`Module::entries`] lists it).
    pub fn get_entry(&self, table: &str, keys: &[Match]) -> Result<Entry, Error> {
        let t = self.table(table)?;
        let no_entry = || Error::NoEntry {
            table: t.name.clone(),
        };
        if t.kind == MapKind::TupleSpace {
            return self.ts_entry(t, keys);
        }
        let map = self.map(&t.map)?;
        if t.kind == MapKind::Array {
            let key = encode_slot_key(t, keys)?;
            let _guard = self.write_lock();
            let used = read_slots(&map, t)?;
            let slot = &used[find_slot(t, &used, &key)?];
            return Ok(Entry {
                keys: decode_slot_key(t, slot)?,
                action: decode_action(t, &t.map, value_of(t, slot))?,
                priority: Some(priority(slot)),
            });
        }
        let key = encode_key(t, keys)?;
        let value = lookup_exact(&map, t, &key)?.ok_or_else(no_entry)?;
        Ok(Entry {
            keys: decode_key(t, &key)?,
            action: decode_action(t, &t.map, &value)?,
            priority: None,
        })
    }

    /// Deletes every entry of `table` (its default action stays); returns how many.
    pub fn clear(&self, table: &str) -> Result<usize, Error> {
        let t = self.writable(table)?;
        if t.kind == MapKind::TupleSpace {
            return self.ts_clear(t);
        }
        let _guard = self.write_lock();
        let map = self.map(&t.map)?;
        if t.kind == MapKind::Array {
            let used = read_slots(&map, t)?;
            // From the last slot up, so the scan never sees a gap before a used slot.
            let ops: Vec<Op> = (0..used.len() as u32)
                .rev()
                .map(|index| Op::Clear { index })
                .collect();
            write_slots(&map, t, &ops)?;
            return Ok(used.len());
        }
        delete_all(&map, t)
    }

    /// `(packets, bytes)` of the direct counter of the entry of `table` with these keys:
    /// the hits of that entry since it was added.
    pub fn direct_counter(&self, table: &str, keys: &[Match]) -> Result<(u64, u64), Error> {
        let t = self.table(table)?;
        let Some(dc) = &t.direct_counter else {
            return Err(Error::NoDirectCounter {
                table: t.name.clone(),
            });
        };
        let value = self.entry_value(t, keys)?;
        let at = dc.offset as usize;
        in_bounds(
            &format!("direct counter `{}`", dc.name),
            at,
            16,
            value.len(),
        )?;
        let word = |at: usize| u64::from_ne_bytes(value[at..at + 8].try_into().expect("8 bytes"));
        Ok((word(at), word(at + 8)))
    }

    /// The value of the entry of `t` with these keys (its action, arguments and direct
    /// state); `NoEntry` when there is none.
    pub(crate) fn entry_value(&self, t: &Table, keys: &[Match]) -> Result<Vec<u8>, Error> {
        if t.kind == MapKind::TupleSpace {
            return self.ts_value(t, keys);
        }
        let map = self.map(&t.map)?;
        if t.kind == MapKind::Array {
            let key = encode_slot_key(t, keys)?;
            let _guard = self.write_lock();
            let used = read_slots(&map, t)?;
            return Ok(value_of(t, &used[find_slot(t, &used, &key)?]).to_vec());
        }
        let key = encode_key(t, keys)?;
        lookup_exact(&map, t, &key)?.ok_or_else(|| Error::NoEntry {
            table: t.name.clone(),
        })
    }

    /// Sets the action `table` runs on a miss; refused for a `const default_action`.
    pub fn set_default(&self, table: &str, action: &str, args: &[u128]) -> Result<(), Error> {
        let t = self.table(table)?;
        if t.default_const {
            return Err(Error::ConstDefault {
                table: t.name.clone(),
            });
        }
        let mut value = encode_action(t, &ActionCall::new(action, args))?;
        let _guard = self.write_lock();
        let map = self.map(&t.default_map)?;
        if t.direct_counter.is_some() {
            let current = map
                .lookup(&0u32.to_ne_bytes())
                .map_err(|e| Error::syscall("BPF_MAP_LOOKUP_ELEM", &t.default_map, e))?
                .unwrap_or_default();
            keep_counter(t, &current, &mut value);
        }
        map.update(&0u32.to_ne_bytes(), &value, Update::Any)
            .map_err(|e| Error::syscall("BPF_MAP_UPDATE_ELEM", &t.default_map, e))
    }

    /// The action `table` runs on a miss.
    pub fn default_action(&self, table: &str) -> Result<ActionCall, Error> {
        let t = self.table(table)?;
        let value = self
            .map(&t.default_map)?
            .lookup(&0u32.to_ne_bytes())
            .map_err(|e| Error::syscall("BPF_MAP_LOOKUP_ELEM", &t.default_map, e))?
            .ok_or_else(|| {
                let e = io::Error::from_raw_os_error(libc::ENOENT);
                Error::syscall("BPF_MAP_LOOKUP_ELEM", &t.default_map, e)
            })?;
        decode_action(t, &t.default_map, &value)
    }

    /// `(packets, bytes)` of counter `name` at `index`, summed over every CPU.
    pub fn counter(&self, name: &str, index: u32) -> Result<(u64, u64), Error> {
        let c = self.counter_decl(name)?;
        check_index("counter", &c.name, index, c.size)?;
        let map = self.map(&c.map)?;
        let values = map
            .lookup(&index.to_ne_bytes())
            .map_err(|e| Error::syscall("BPF_MAP_LOOKUP_ELEM", &c.map, e))?
            .unwrap_or_default();
        let word = |chunk: &[u8], at: usize| {
            u64::from_ne_bytes(chunk[at..at + 8].try_into().expect("eight bytes"))
        };
        // One `{ u64 packets; u64 bytes }` per possible CPU.
        Ok(values
            .chunks_exact(16)
            .fold((0, 0), |(p, b), cpu| (p + word(cpu, 0), b + word(cpu, 8))))
    }

    /// The value of register `name` at `index`.
    pub fn register_read(&self, name: &str, index: u32) -> Result<u128, Error> {
        let r = self.register_decl(name)?;
        check_index("register", &r.name, index, r.size)?;
        let value = self
            .map(&r.map)?
            .lookup(&index.to_ne_bytes())
            .map_err(|e| Error::syscall("BPF_MAP_LOOKUP_ELEM", &r.map, e))?
            .unwrap_or_default();
        let raw = match value.len() {
            8 => u128::from(u64::from_ne_bytes(value[..].try_into().expect("8 bytes"))),
            16 => u128::from_ne_bytes(value[..].try_into().expect("16 bytes")),
            _ => 0,
        };
        // The program adds to the whole 64-bit cell; the register's value is its low bits
        // (wrap-around arithmetic on `bit<N>`, two's complement on `int<N>`). The cell holds
        // the value minus the register's initial value.
        let raw = if value.len() == 8 {
            u128::from((raw as u64).wrapping_add(r.initial))
        } else {
            raw
        };
        Ok(raw & crate::encode::max_for(r.bits))
    }

    /// Sets register `name` at `index` to `value`, which must fit the register's bits.
    pub fn register_write(&self, name: &str, index: u32, value: u128) -> Result<(), Error> {
        let r = self.register_decl(name)?;
        check_index("register", &r.name, index, r.size)?;
        let map = self.map(&r.map)?;
        let bits = r.bits.min(8 * map.value_size as u32);
        check_fits(
            || format!("the value of register `{}`", r.name),
            value,
            bits,
        )?;
        let bytes = match map.value_size {
            8 => (value as u64)
                .wrapping_sub(r.initial)
                .to_ne_bytes()
                .to_vec(),
            _ => value.to_ne_bytes().to_vec(),
        };
        map.update(&index.to_ne_bytes(), &bytes, Update::Any)
            .map_err(|e| Error::syscall("BPF_MAP_UPDATE_ELEM", &r.map, e))
    }
}

/// The value stored under exactly `key`. A trie's lookup finds the longest prefix that
/// contains the key, so for a trie the key must first be among the stored ones.
fn lookup_exact(map: &RawMap<'_>, t: &Table, key: &[u8]) -> Result<Option<Vec<u8>>, Error> {
    if t.kind == MapKind::LpmTrie {
        let keys = map
            .keys()
            .map_err(|e| Error::syscall("BPF_MAP_GET_NEXT_KEY", &t.map, e))?;
        if !keys.iter().any(|k| k == key) {
            return Ok(None);
        }
    }
    map.lookup(key)
        .map_err(|e| Error::syscall("BPF_MAP_LOOKUP_ELEM", &t.map, e))
}

/// The error for a failed update of an entry of `t`.
pub(crate) fn update_error(t: &Table, e: io::Error) -> Error {
    match e.raw_os_error() {
        Some(libc::EEXIST) => Error::EntryExists {
            table: t.name.clone(),
        },
        Some(libc::ENOENT) => Error::NoEntry {
            table: t.name.clone(),
        },
        Some(libc::E2BIG | libc::ENOSPC) => Error::TableFull {
            table: t.name.clone(),
            size: t.size,
        },
        _ => Error::syscall("BPF_MAP_UPDATE_ELEM", &t.map, e),
    }
}

/// Copies the direct counter and the meter cell index of `current` (a table value) into
/// `value`, where `t` has them.
pub(crate) fn keep_counter(t: &Table, current: &[u8], value: &mut [u8]) {
    let counter = t.direct_counter.as_ref().map(|d| (d.offset as usize, 16));
    let meter = t.direct_meter.as_ref().map(|d| (d.offset as usize, 4));
    for (at, n) in counter.into_iter().chain(meter) {
        if let (Some(from), Some(to)) = (current.get(at..at + n), value.get_mut(at..at + n)) {
            to.copy_from_slice(from);
        }
    }
}

/// Deletes every key of the hash or lpm map of `t`; returns how many went.
pub(crate) fn delete_all(map: &RawMap<'_>, t: &Table) -> Result<usize, Error> {
    let keys = map
        .keys()
        .map_err(|e| Error::syscall("BPF_MAP_GET_NEXT_KEY", &t.map, e))?;
    let mut deleted = 0;
    for k in keys {
        if map
            .delete(&k)
            .map_err(|e| Error::syscall("BPF_MAP_DELETE_ELEM", &t.map, e))?
        {
            deleted += 1;
        }
    }
    Ok(deleted)
}

/// The value of every entry of a hash or lpm table.
pub(crate) fn hash_values(map: &RawMap<'_>, t: &Table) -> Result<Vec<Vec<u8>>, Error> {
    let keys = map
        .keys()
        .map_err(|e| Error::syscall("BPF_MAP_GET_NEXT_KEY", &t.map, e))?;
    let mut values = Vec::with_capacity(keys.len());
    // A stored trie key finds itself: no stored prefix of it is longer.
    for k in keys {
        if let Some(v) = map
            .lookup(&k)
            .map_err(|e| Error::syscall("BPF_MAP_LOOKUP_ELEM", &t.map, e))?
        {
            values.push(v);
        }
    }
    Ok(values)
}

/// Slot `index` of the array map of `t`.
fn read_slot(map: &RawMap<'_>, t: &Table, index: u32) -> Result<Vec<u8>, Error> {
    map.lookup(&index.to_ne_bytes())
        .map_err(|e| Error::syscall("BPF_MAP_LOOKUP_ELEM", &t.map, e))?
        .ok_or_else(|| {
            let e = io::Error::from_raw_os_error(libc::ENOENT);
            Error::syscall("BPF_MAP_LOOKUP_ELEM", &t.map, e)
        })
}

/// The used slots of the array map of `t`: from slot 0 to the first empty one.
fn read_slots(map: &RawMap<'_>, t: &Table) -> Result<Vec<Vec<u8>>, Error> {
    let mut used = Vec::new();
    for index in 0..t.size {
        let slot = read_slot(map, t, index)?;
        if priority(&slot) == 0 {
            break;
        }
        used.push(slot);
    }
    Ok(used)
}

/// Performs `ops` on the array map of `t`, in order.
fn write_slots(map: &RawMap<'_>, t: &Table, ops: &[Op]) -> Result<(), Error> {
    let write = |index: u32, slot: &[u8]| {
        map.update(&index.to_ne_bytes(), slot, Update::Any)
            .map_err(|e| Error::syscall("BPF_MAP_UPDATE_ELEM", &t.map, e))
    };
    // An empty slot becomes used in two steps: its bytes under priority 0, then the priority.
    let fill = |index: u32, slot: &[u8]| {
        let mut hidden = slot.to_vec();
        set_priority(&mut hidden, 0);
        write(index, &hidden)?;
        write(index, slot)
    };
    for op in ops {
        match op {
            Op::Fill { index, slot } => fill(*index, slot)?,
            Op::Write { index, slot } => write(*index, slot)?,
            Op::Copy {
                from,
                to,
                into_empty,
            } => {
                let slot = read_slot(map, t, *from)?;
                if *into_empty {
                    fill(*to, &slot)?;
                } else {
                    write(*to, &slot)?;
                }
            }
            Op::Clear { index } => {
                let mut slot = read_slot(map, t, *index)?;
                set_priority(&mut slot, 0);
                write(*index, &slot)?;
                write(*index, &vec![0; slot.len()])?;
            }
        }
    }
    Ok(())
}

pub(crate) fn check_index(
    kind: &'static str,
    name: &str,
    index: u32,
    size: u32,
) -> Result<(), Error> {
    if index >= size {
        return Err(Error::IndexOutOfRange {
            kind,
            name: name.into(),
            index,
            size,
        });
    }
    Ok(())
}
