//! The typed control plane of a loaded module.
//!
//! Takes: table, counter and register names as the program writes them (`Control.name`, or
//! just `name` when unambiguous), typed keys ([`Match`]), action names and `u128` values.
//! Gives: table entries added, changed, deleted and listed; default actions set and read;
//! counters summed over CPUs; registers read and written. Every request is checked against
//! the manifest (names, counts, bit widths, prefix lengths, const-ness) before any map is
//! touched, so a refused request changes nothing.

use crate::encode::{check_fits, decode_action, decode_key, encode_action, encode_key, Match};
use crate::encode::{ActionCall, Entry};
use crate::error::list;
use crate::sys::Update;
use crate::{Error, Module};
use iov_manifest::{Counter, Register, Table};
use std::io;

/// Finds `name` among `items` by full name, else by the last `.` segment.
fn by_name<'a, T>(items: &'a [T], name: &str, full: impl Fn(&T) -> &str) -> Option<&'a T> {
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

    fn counter_decl(&self, name: &str) -> Result<&Counter, Error> {
        by_name(&self.manifest.counters, name, |c| &c.name).ok_or_else(|| Error::UnknownExtern {
            kind: "counter",
            name: name.into(),
            known: list(self.manifest.counters.iter().map(|c| c.name.as_str())),
        })
    }

    fn register_decl(&self, name: &str) -> Result<&Register, Error> {
        by_name(&self.manifest.registers, name, |r| &r.name).ok_or_else(|| Error::UnknownExtern {
            kind: "register",
            name: name.into(),
            known: list(self.manifest.registers.iter().map(|r| r.name.as_str())),
        })
    }

    /// Adds an entry to `table`; refused when an entry with the same keys exists.
    pub fn add_entry(
        &self,
        table: &str,
        keys: &[Match],
        action: &str,
        args: &[u128],
    ) -> Result<(), Error> {
        self.write_entry(table, keys, action, args, Update::NoExist)
    }

    /// Changes the action of the existing entry of `table` with these keys.
    pub fn modify_entry(
        &self,
        table: &str,
        keys: &[Match],
        action: &str,
        args: &[u128],
    ) -> Result<(), Error> {
        self.write_entry(table, keys, action, args, Update::Exist)
    }

    fn write_entry(
        &self,
        table: &str,
        keys: &[Match],
        action: &str,
        args: &[u128],
        how: Update,
    ) -> Result<(), Error> {
        let t = self.table(table)?;
        if t.entries_const {
            return Err(Error::ConstEntries {
                table: t.name.clone(),
            });
        }
        let key = encode_key(t, keys)?;
        let value = encode_action(t, &ActionCall::new(action, args))?;
        let map = self.map(&t.map)?;
        map.update(&key, &value, how)
            .map_err(|e| match e.raw_os_error() {
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
            })
    }

    /// Deletes the entry of `table` with these keys.
    pub fn delete_entry(&self, table: &str, keys: &[Match]) -> Result<(), Error> {
        let t = self.table(table)?;
        if t.entries_const {
            return Err(Error::ConstEntries {
                table: t.name.clone(),
            });
        }
        let key = encode_key(t, keys)?;
        let map = self.map(&t.map)?;
        match map.delete(&key) {
            Ok(true) => Ok(()),
            Ok(false) => Err(Error::NoEntry {
                table: t.name.clone(),
            }),
            Err(e) => Err(Error::syscall("BPF_MAP_DELETE_ELEM", &t.map, e)),
        }
    }

    /// Every entry of `table` (const entries included), sorted by keys.
    pub fn entries(&self, table: &str) -> Result<Vec<Entry>, Error> {
        let t = self.table(table)?;
        let map = self.map(&t.map)?;
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
            });
        }
        entries.sort();
        Ok(entries)
    }

    /// Sets the action `table` runs on a miss; refused for a `const default_action`.
    pub fn set_default(&self, table: &str, action: &str, args: &[u128]) -> Result<(), Error> {
        let t = self.table(table)?;
        if t.default_const {
            return Err(Error::ConstDefault {
                table: t.name.clone(),
            });
        }
        let value = encode_action(t, &ActionCall::new(action, args))?;
        self.map(&t.default_map)?
            .update(&0u32.to_ne_bytes(), &value, Update::Any)
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
        Ok(match value.len() {
            8 => u128::from(u64::from_ne_bytes(value[..].try_into().expect("8 bytes"))),
            16 => u128::from_ne_bytes(value[..].try_into().expect("16 bytes")),
            _ => 0,
        })
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
            8 => (value as u64).to_ne_bytes().to_vec(),
            _ => value.to_ne_bytes().to_vec(),
        };
        map.update(&index.to_ne_bytes(), &bytes, Update::Any)
            .map_err(|e| Error::syscall("BPF_MAP_UPDATE_ELEM", &r.map, e))
    }
}

fn check_index(kind: &'static str, name: &str, index: u32, size: u32) -> Result<(), Error> {
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
