//! Lossless migration of widened state across a reload.
//!
//! Takes: the running module, the newly loaded one (not yet running), and what the carry
//! plan marked [`Fate::Migrated`](crate::carry::Fate::Migrated): tables whose key fields or
//! action parameters were widened or whose size grew, counters and registers that grew or
//! whose values were widened.
//! Gives: the new maps filled from the running ones before the new program runs. A table's
//! entries are read in the running layout and written in the new one (with their
//! priorities, in their order) and its default action is carried; a widened key field keeps
//! its value, zero-extended, and still matches exactly the packets it matched: an `lpm`
//! prefix grows by the added bits and a `ternary` mask covers them, both requiring them to be
//! zero, as every value of the old width was. Counters are copied per CPU; registers value by
//! value. Control-plane writes to the running module during the reload are not carried.

use crate::carry::Carry;
use crate::encode::Match;
use crate::sys::Update;
use crate::{Error, Module};
use iov_manifest::{KeyField, MatchKind};

/// Copies the state of `c` from `old` into `new`.
pub(crate) fn migrate(old: &Module, new: &Module, c: &Carry) -> Result<(), Error> {
    match c.kind {
        "table" => table(old, new, &c.name, c.new_default),
        "counter" => counter(old, new, &c.name),
        "register" => register(old, new, &c.name),
        _ => Ok(()),
    }
}

fn table(old: &Module, new: &Module, name: &str, new_default: bool) -> Result<(), Error> {
    let (ot, nt) = (old.table(name)?.clone(), new.table(name)?.clone());
    for e in old.entries(name)? {
        let keys: Vec<Match> = e
            .keys
            .iter()
            .zip(ot.keys.iter().zip(&nt.keys))
            .map(|(m, (o, n))| widen(*m, o, n))
            .collect();
        match e.priority {
            Some(p) => {
                new.add_entry_with_priority(name, p, &keys, &e.action.action, &e.action.args)?
            }
            None => new.add_entry(name, &keys, &e.action.action, &e.action.args)?,
        }
    }
    if !new_default && !nt.default_const {
        let d = old.default_action(name)?;
        new.set_default(name, &d.action, &d.args)?;
    }
    Ok(())
}

/// `m`, written for field `o`, as the same match on its widened form `n`.
fn widen(m: Match, o: &KeyField, n: &KeyField) -> Match {
    let added = n.bits - o.bits;
    if added == 0 {
        return m;
    }
    match (m, n.match_kind) {
        (Match::Prefix { value, len }, _) => Match::Prefix {
            value,
            len: len + added,
        },
        (Match::Ternary { value, mask }, _) => Match::Ternary {
            value,
            mask: mask | (ones(n.bits) & !ones(o.bits)),
        },
        // A full-length lpm match stays full-length; `_` stays anything.
        (Match::Exact(v), MatchKind::Lpm) => Match::Exact(v),
        (other, _) => other,
    }
}

fn ones(bits: u32) -> u128 {
    if bits >= 128 {
        u128::MAX
    } else {
        (1u128 << bits) - 1
    }
}

fn counter(old: &Module, new: &Module, name: &str) -> Result<(), Error> {
    let (oc, nc) = (old.counter_decl(name)?, new.counter_decl(name)?);
    let (from, to) = (old.map(&oc.map)?, new.map(&nc.map)?);
    for i in 0..oc.size.min(nc.size) {
        let key = i.to_ne_bytes();
        let value = from
            .lookup(&key)
            .map_err(|e| Error::syscall("BPF_MAP_LOOKUP_ELEM", &oc.map, e))?;
        if let Some(v) = value {
            to.update(&key, &v, Update::Any)
                .map_err(|e| Error::syscall("BPF_MAP_UPDATE_ELEM", &nc.map, e))?;
        }
    }
    Ok(())
}

fn register(old: &Module, new: &Module, name: &str) -> Result<(), Error> {
    let (or, nr) = (old.register_decl(name)?, new.register_decl(name)?);
    for i in 0..or.size.min(nr.size) {
        let v = old.register_read(name, i)?;
        if v != 0 {
            new.register_write(name, i, v)?;
        }
    }
    Ok(())
}
