//! Control-plane requests by name, one at a time or as an all-or-nothing batch.
//!
//! Takes: [`Request`]s whose keys and arguments are named as the program names them (key
//! expressions such as `hdr.ipv4.dst`, or just their last part, `dst`; parameter names), in
//! any order: what `iov table` and `iov test` parse from their text.
//! Gives: the requests checked against the manifest (names, counts, widths, match kinds)
//! and performed. [`Module::apply_batch`] checks every request before writing anything,
//! and if the kernel refuses one midway (an entry that exists, a full table), puts back the
//! tables it changed as they were, so a batch either happens whole or not at all.

use crate::control::update_error;
use crate::encode::{encode_action, encode_key, ActionCall, Match};
use crate::slots::encode_slot_key;
use crate::sys::Update;
use crate::{Error, Module};
use iov_manifest::{MapKind, Table};
use std::collections::HashSet;

/// One control-plane request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Request {
    /// Adds an entry (with a priority only in tables with ternary, range or optional keys).
    Add {
        table: String,
        priority: Option<u32>,
        keys: Vec<(String, Match)>,
        action: String,
        args: Vec<(String, u128)>,
    },
    /// Changes the action of an existing entry.
    Modify {
        table: String,
        keys: Vec<(String, Match)>,
        action: String,
        args: Vec<(String, u128)>,
    },
    /// Sets the action a miss runs.
    SetDefault {
        table: String,
        action: String,
        args: Vec<(String, u128)>,
    },
    /// Deletes an entry.
    Delete {
        table: String,
        keys: Vec<(String, Match)>,
    },
    /// Deletes every entry.
    Clear { table: String },
}

impl Request {
    /// The table the request changes.
    pub fn table(&self) -> &str {
        match self {
            Request::Add { table, .. }
            | Request::Modify { table, .. }
            | Request::SetDefault { table, .. }
            | Request::Delete { table, .. }
            | Request::Clear { table } => table,
        }
    }
}

/// Whether `given` names the key or parameter `full` (the whole name or its last part).
/// p4c's `$valid$` is another spelling of `isValid()` (`hdr.vlan.$valid$`).
fn names(given: &str, full: &str) -> bool {
    if given.contains("$valid$") {
        return names(&given.replace("$valid$", "isValid()"), full);
    }
    given == full || full.rsplit('.').next() == Some(given)
}

/// Orders `name: value` pairs as `names_in_order` orders them; every name exactly once.
fn ordered<T: Clone>(
    given: &[(String, T)],
    names_in_order: &[&str],
    what: &str,
    owner: impl Fn() -> String,
) -> Result<Vec<T>, Error> {
    for (g, _) in given {
        let matching: Vec<&str> = names_in_order
            .iter()
            .copied()
            .filter(|n| names(g, n))
            .collect();
        if matching.len() > 1 {
            return Err(Error::AmbiguousName {
                what: what.into(),
                name: g.clone(),
                matches: matching.join(", "),
            });
        }
        if matching.is_empty() {
            return Err(Error::UnknownName {
                what: what.into(),
                name: g.clone(),
                owner: owner(),
                known: names_in_order.join(", "),
            });
        }
    }
    names_in_order
        .iter()
        .map(|n| {
            let mut found = given.iter().filter(|(g, _)| names(g, n));
            match (found.next(), found.next()) {
                (Some((_, v)), None) => Ok(v.clone()),
                (Some(_), Some(_)) => Err(Error::DuplicateName {
                    what: what.into(),
                    name: n.to_string(),
                }),
                (None, _) => Err(Error::MissingName {
                    what: what.into(),
                    name: n.to_string(),
                    owner: owner(),
                }),
            }
        })
        .collect()
}

/// The keys of table `t` in the manifest's order.
pub(crate) fn keys_of(t: &Table, keys: &[(String, Match)]) -> Result<Vec<Match>, Error> {
    let names: Vec<&str> = t.keys.iter().map(|k| k.name.as_str()).collect();
    ordered(keys, &names, "key", || format!("table `{}`", t.name))
}

/// The arguments of `action` of table `t` in the order of its parameters.
pub(crate) fn args_of(
    t: &Table,
    action: &str,
    args: &[(String, u128)],
) -> Result<Vec<u128>, Error> {
    let a = crate::encode::find_action(t, action)?;
    let names: Vec<&str> = a.params.iter().map(|p| p.name.as_str()).collect();
    ordered(args, &names, "parameter", || format!("action `{}`", a.name))
}

/// What a table held before a batch changed it: raw pairs of its map and its default.
/// The key and value bytes of an add to an exact or lpm table, as [`Module::check`] gives
/// them; `None` for any other request.
type Encoded = Option<(Vec<u8>, Vec<u8>)>;

/// The fewest adds in a row that go to the kernel in batches, and how many a call takes.
const BULK_MIN: usize = 64;
const BULK_CHUNK: usize = 4096;

struct Snapshot {
    table: Table,
    pairs: Vec<(Vec<u8>, Vec<u8>)>,
    default: Option<Vec<u8>>,
    /// A tuple-space table's masks map, every slot.
    masks: Vec<(Vec<u8>, Vec<u8>)>,
}

impl Module {
    /// Keys named as a [`Request`] names them, in the order the positional calls
    /// ([`Module::add_entry`], [`Module::direct_counter`], ...) take them.
    pub fn keys_by_name(&self, table: &str, keys: &[(String, Match)]) -> Result<Vec<Match>, Error> {
        keys_of(self.table(table)?, keys)
    }

    /// Performs one request.
    pub fn apply(&self, request: &Request) -> Result<(), Error> {
        match request {
            Request::Add {
                table,
                priority,
                keys,
                action,
                args,
            } => {
                let t = self.table(table)?;
                let (keys, args) = (keys_of(t, keys)?, args_of(t, action, args)?);
                match priority {
                    Some(p) => self.add_entry_with_priority(table, *p, &keys, action, &args),
                    None => self.add_entry(table, &keys, action, &args),
                }
            }
            Request::Modify {
                table,
                keys,
                action,
                args,
            } => {
                let t = self.table(table)?;
                let (keys, args) = (keys_of(t, keys)?, args_of(t, action, args)?);
                self.modify_entry(table, &keys, action, &args)
            }
            Request::SetDefault {
                table,
                action,
                args,
            } => {
                let t = self.table(table)?;
                self.set_default(table, action, &args_of(t, action, args)?)
            }
            Request::Delete { table, keys } => {
                let t = self.table(table)?;
                self.delete_entry(table, &keys_of(t, keys)?)
            }
            Request::Clear { table } => self.clear(table).map(drop),
        }
    }

    /// Checks a request against the manifest without writing anything.
    pub fn validate(&self, request: &Request) -> Result<(), Error> {
        self.check(request).map(drop)
    }

    /// [`Module::validate`], which also gives the key and value bytes of an add to an exact
    /// or lpm table (what a batch writes in bulk).
    fn check(&self, request: &Request) -> Result<Encoded, Error> {
        let t = self.table(request.table())?;
        let writable = || {
            if t.entries_const {
                Err(Error::ConstEntries {
                    table: t.name.clone(),
                })
            } else {
                Ok(())
            }
        };
        let key = |keys: &[(String, Match)]| -> Result<Vec<u8>, Error> {
            let keys = keys_of(t, keys)?;
            if t.kind == MapKind::Array {
                encode_slot_key(t, &keys)
            } else if t.kind == MapKind::TupleSpace {
                crate::tuples::encode_parts(t, &keys).map(|(_, key)| key)
            } else {
                encode_key(t, &keys)
            }
        };
        let call = |action: &str, args: &[(String, u128)]| -> Result<Vec<u8>, Error> {
            encode_action(t, &ActionCall::new(action, args_of(t, action, args)?))
        };
        match request {
            Request::Add {
                priority,
                keys,
                action,
                args,
                ..
            } => {
                writable()?;
                match (priority, t.kind) {
                    (Some(_), MapKind::Hash | MapKind::LpmTrie) => {
                        return Err(Error::NoPriority {
                            table: t.name.clone(),
                        })
                    }
                    (Some(0), _) => {
                        return Err(Error::ZeroPriority {
                            table: t.name.clone(),
                        })
                    }
                    _ => {}
                }
                let (key, value) = (key(keys)?, call(action, args)?);
                Ok(matches!(t.kind, MapKind::Hash | MapKind::LpmTrie).then_some((key, value)))
            }
            Request::Modify {
                keys, action, args, ..
            } => {
                writable()?;
                key(keys)?;
                call(action, args).map(|_| None)
            }
            Request::SetDefault { action, args, .. } => {
                if t.default_const {
                    return Err(Error::ConstDefault {
                        table: t.name.clone(),
                    });
                }
                call(action, args).map(|_| None)
            }
            Request::Delete { keys, .. } => {
                writable()?;
                key(keys).map(|_| None)
            }
            Request::Clear { .. } => writable().map(|()| None),
        }
    }

    /// Performs every request in order, or none: all are validated first, and if one fails
    /// in the kernel, every table the batch touched is put back as it was. `Err((i, e))`
    /// names the request that failed (0-based).
    pub fn apply_batch(&self, requests: &[Request]) -> Result<(), (usize, Error)> {
        let mut bytes = Vec::with_capacity(requests.len());
        for (i, r) in requests.iter().enumerate() {
            bytes.push(self.check(r).map_err(|e| (i, e))?);
        }
        let mut touched: Vec<&str> = Vec::new();
        let mut last = None;
        for r in requests {
            if last == Some(r.table()) {
                continue;
            }
            last = Some(r.table());
            let name = self.table(r.table()).map_err(|e| (0, e))?.name.as_str();
            if !touched.contains(&name) {
                touched.push(name);
            }
        }
        let snapshots = touched
            .iter()
            .map(|t| self.snapshot(t))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| (0, e))?;
        let mut i = 0;
        while i < requests.len() {
            let run = self.bulk_run(&requests[i..]);
            let done = match run {
                Some(n) => self
                    .apply_bulk(&requests[i..i + n], &bytes[i..i + n])
                    .map(|written| written.max(1)),
                None => self.apply(&requests[i]).map(|()| 1).map_err(|e| (0, e)),
            };
            let e = match done {
                Ok(n) => {
                    i += n;
                    continue;
                }
                Err((at, e)) => {
                    i += at;
                    e
                }
            };
            {
                for s in &snapshots {
                    if let Err(again) = self.restore(s) {
                        return Err((
                            i,
                            Error::Rollback {
                                cause: e.to_string(),
                                table: s.table.name.clone(),
                                detail: again.to_string(),
                            },
                        ));
                    }
                }
                return Err((i, e));
            }
        }
        Ok(())
    }

    /// How many requests from the first are adds (without a priority) to one exact or lpm
    /// table whose entries get nothing from the runtime (no direct meter, no last-use time),
    /// when there are at least [`BULK_MIN`]: those may go to the kernel in batches.
    fn bulk_run(&self, requests: &[Request]) -> Option<usize> {
        let Some(Request::Add {
            table,
            priority: None,
            ..
        }) = requests.first()
        else {
            return None;
        };
        let t = self.table(table).ok()?;
        if !matches!(t.kind, MapKind::Hash | MapKind::LpmTrie)
            || t.direct_meter.is_some()
            || t.data_plane.is_some()
        {
            return None;
        }
        let n = requests
            .iter()
            .take_while(
                |r| matches!(r, Request::Add { table: x, priority: None, .. } if x == table),
            )
            .count();
        (n >= BULK_MIN).then_some(n)
    }

    /// Performs `run` (from [`Module::bulk_run`]): into an empty table, after checking that
    /// no two add the same keys, with `BPF_MAP_UPDATE_BATCH` ([`BULK_CHUNK`] a call), which
    /// then does what the adds one by one would; into a table that holds entries (whose keys
    /// the kernel must check), or where the map type has no batch update, one by one.
    /// `Err((i, e))` names the request of the run that failed.
    fn apply_bulk(&self, run: &[Request], bytes: &[Encoded]) -> Result<usize, (usize, Error)> {
        let one_by_one = || -> Result<usize, (usize, Error)> {
            for (i, r) in run.iter().enumerate() {
                self.apply(r).map_err(|e| (i, e))?;
            }
            Ok(run.len())
        };
        let t = self.table(run[0].table()).map_err(|e| (0, e))?;
        let map = self.map(&t.map).map_err(|e| (0, e))?;
        let empty = map
            .is_empty()
            .map_err(|e| (0, Error::syscall("BPF_MAP_GET_NEXT_KEY", &t.map, e)))?;
        if !empty {
            return one_by_one();
        }
        let (ks, vs) = (t.key_size as usize, t.value_size as usize);
        let mut keys = Vec::with_capacity(run.len() * ks);
        let mut values = Vec::with_capacity(run.len() * vs);
        for (key, value) in bytes.iter().flatten() {
            keys.extend_from_slice(key);
            values.extend_from_slice(value);
        }
        if keys.len() != run.len() * ks || values.len() != run.len() * vs {
            return one_by_one();
        }
        let mut seen = HashSet::with_capacity(run.len());
        if let Some(i) = keys.chunks_exact(ks).position(|k| !seen.insert(k)) {
            return Err((
                i,
                Error::EntryExists {
                    table: t.name.clone(),
                },
            ));
        }
        let unsupported = {
            let _guard = self.write_lock();
            let mut unsupported = false;
            for start in (0..run.len()).step_by(BULK_CHUNK) {
                let end = (start + BULK_CHUNK).min(run.len());
                match map.update_batch(&keys[start * ks..end * ks], &values[start * vs..end * vs]) {
                    Ok(()) => {}
                    // ENOTSUPP (524), the kernel's own, reaches user space for some map types.
                    Err((0, e))
                        if start == 0
                            && matches!(
                                e.raw_os_error(),
                                Some(libc::EINVAL | libc::EOPNOTSUPP | 524)
                            ) =>
                    {
                        unsupported = true;
                        break;
                    }
                    Err((written, e)) => return Err((start + written, update_error(t, e))),
                }
            }
            unsupported
        };
        if unsupported {
            return one_by_one();
        }
        Ok(run.len())
    }

    fn snapshot(&self, table: &str) -> Result<Snapshot, Error> {
        let t = self.table(table)?.clone();
        let map = self.map(&t.map)?;
        let mut pairs = Vec::new();
        if t.kind == MapKind::Array {
            for index in 0..t.size {
                let key = index.to_ne_bytes().to_vec();
                if let Some(v) = map
                    .lookup(&key)
                    .map_err(|e| Error::syscall("BPF_MAP_LOOKUP_ELEM", &t.map, e))?
                {
                    pairs.push((key, v));
                }
            }
        } else {
            let keys = map
                .keys()
                .map_err(|e| Error::syscall("BPF_MAP_GET_NEXT_KEY", &t.map, e))?;
            for k in keys {
                if let Some(v) = map
                    .lookup(&k)
                    .map_err(|e| Error::syscall("BPF_MAP_LOOKUP_ELEM", &t.map, e))?
                {
                    pairs.push((k, v));
                }
            }
        }
        let default = self
            .map(&t.default_map)?
            .lookup(&0u32.to_ne_bytes())
            .map_err(|e| Error::syscall("BPF_MAP_LOOKUP_ELEM", &t.default_map, e))?;
        let masks = match t.kind {
            MapKind::TupleSpace => self.ts_mask_slots(&t)?,
            _ => Vec::new(),
        };
        Ok(Snapshot {
            table: t,
            pairs,
            default,
            masks,
        })
    }

    fn restore(&self, s: &Snapshot) -> Result<(), Error> {
        let t = &s.table;
        let map = self.map(&t.map)?;
        let update = |map: &crate::sys::RawMap<'_>, k: &[u8], v: &[u8], name: &str| {
            map.update(k, v, Update::Any)
                .map_err(|e| Error::syscall("BPF_MAP_UPDATE_ELEM", name, e))
        };
        if t.kind != MapKind::Array {
            let now = map
                .keys()
                .map_err(|e| Error::syscall("BPF_MAP_GET_NEXT_KEY", &t.map, e))?;
            for k in now {
                if !s.pairs.iter().any(|(old, _)| *old == k) {
                    map.delete(&k)
                        .map_err(|e| Error::syscall("BPF_MAP_DELETE_ELEM", &t.map, e))?;
                }
            }
        }
        for (k, v) in &s.pairs {
            update(&map, k, v, &t.map)?;
        }
        if t.kind == MapKind::TupleSpace {
            self.ts_restore_masks(t, &s.masks)?;
        }
        if let Some(d) = &s.default {
            update(
                &self.map(&t.default_map)?,
                &0u32.to_ne_bytes(),
                d,
                &t.default_map,
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_match_whole_or_by_last_part_and_exactly_once() {
        let want = ["hdr.ipv4.dst", "meta.port"];
        let given = vec![("port".to_string(), 1u8), ("hdr.ipv4.dst".to_string(), 2)];
        assert_eq!(
            ordered(&given, &want, "key", || "t".to_string()).unwrap(),
            vec![2, 1]
        );
        let err = ordered(&given[..1], &want, "key", || "table `t`".to_string()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "no value for key `hdr.ipv4.dst` of table `t`"
        );
        let extra = vec![("dst".into(), 1), ("port".into(), 2), ("ttl".into(), 3)];
        let err = ordered(&extra, &want, "key", || "table `t`".to_string()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "table `t` has no key `ttl`; its keys are: hdr.ipv4.dst, meta.port"
        );
        let twice = vec![
            ("dst".into(), 1),
            ("hdr.ipv4.dst".into(), 2),
            ("port".into(), 3),
        ];
        assert!(matches!(
            ordered(&twice, &want, "key", || "t".to_string()),
            Err(Error::DuplicateName { .. })
        ));
    }
}
