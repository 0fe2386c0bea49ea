//! The byte layout of table keys and values, both ways.
//!
//! Takes: a manifest [`Table`] and typed control-plane values ([`Match`], [`ActionCall`]).
//! Gives: the exact bytes of the table's map key and value (and of its default map's value),
//! and the typed values decoded back from those bytes. Every check (counts, widths, prefix
//! lengths, match kinds) happens here, before any byte reaches the kernel. Pure: no syscalls.
//!
//! The layout (see `iov_manifest`): values are big-endian in `ceil(bits / 8)` bytes,
//! right-aligned; a table value is a host-order `u32` action id followed by the parameters;
//! an `lpm` key is a host-order `u32` prefix length (in bits of the key data, counting the
//! exact fields before the lpm field) followed by the fields. Array tables (a `ternary`,
//! `range` or `optional` key) store a pair `a`, `b` per field; [`field_pair`] computes it for
//! every match kind and `slots.rs` lays the pairs out.

use crate::error::list;
use crate::Error;
use iov_manifest::{self as manifest, MapKind, MatchKind, Table};
use std::fmt;

/// How one key field of a table entry matches.
///
/// What each key kind accepts (anything else is refused with [`Error::WrongMatch`]):
///
/// | key | accepts |
/// |---|---|
/// | `exact` | `Exact` |
/// | `lpm` | `Exact` (full length), `Prefix`, `Ternary` with a prefix mask (ones then zeros), `Any` |
/// | `ternary` | `Exact` (mask all ones), `Ternary`, `Prefix`, `Any` (mask zero) |
/// | `range` | `Exact` (`v..v`), `Range`, `Any` (the whole range) |
/// | `optional` | `Exact`, `Any` |
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Match {
    /// Exactly this value. On an `lpm` field it means the full-length prefix, on a `ternary`
    /// field a mask of all ones, on a `range` field the range `value..value`.
    Exact(u128),
    /// The first `len` bits of `value` (`lpm` and `ternary` fields); bits after them must be
    /// zero.
    Prefix { value: u128, len: u32 },
    /// The bits of `mask` must equal those of `value` (`value &&& mask`; `ternary` fields, and
    /// `lpm` fields when the mask is a prefix); `value` has no bits outside `mask`.
    Ternary { value: u128, mask: u128 },
    /// `low..high`, both included (`range` fields); `low <= high`.
    Range { low: u128, high: u128 },
    /// Anything (`_`): on an `lpm` field the same as `Prefix { value: 0, len: 0 }`.
    Any,
}

impl fmt::Display for Match {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Match::Exact(v) => write!(f, "{v}"),
            Match::Prefix { value, len } => write!(f, "{value}/{len}"),
            Match::Ternary { value, mask } => write!(f, "{value:#x}&&&{mask:#x}"),
            Match::Range { low, high } => write!(f, "{low}..{high}"),
            Match::Any => f.write_str("_"),
        }
    }
}

/// An action with its argument values, one per parameter.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ActionCall {
    pub action: String,
    pub args: Vec<u128>,
}

impl ActionCall {
    pub fn new(action: impl Into<String>, args: impl Into<Vec<u128>>) -> ActionCall {
        ActionCall {
            action: action.into(),
            args: args.into(),
        }
    }
}

/// One table entry: its keys (one per key field), the action it runs and, in tables with
/// priorities (array and tuple-space tables), its priority.
///
/// Entries read back give each field in one form, whatever form it was added in: `lpm`
/// fields as [`Match::Prefix`], `ternary` fields as [`Match::Ternary`] (`_` is mask 0),
/// `range` fields as [`Match::Range`] (`_` is the whole range), `exact` fields as
/// [`Match::Exact`] and `optional` fields as [`Match::Exact`] or [`Match::Any`].
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Entry {
    pub keys: Vec<Match>,
    pub action: ActionCall,
    /// The entry's priority in an array or tuple-space table (higher wins); `None` in exact
    /// and lpm tables.
    pub priority: Option<u32>,
}

/// The largest value of `bits` bits.
pub(crate) fn max_for(bits: u32) -> u128 {
    if bits >= 128 {
        u128::MAX
    } else {
        (1u128 << bits) - 1
    }
}

/// Refuses `value` when it needs more than `bits` bits.
pub(crate) fn check_fits(
    what: impl FnOnce() -> String,
    value: u128,
    bits: u32,
) -> Result<(), Error> {
    if value > max_for(bits) {
        return Err(Error::TooWide {
            what: what(),
            value,
            bits,
            max: max_for(bits),
        });
    }
    Ok(())
}

/// The mask of the first `len` of `bits` bits.
pub(crate) fn prefix_mask(bits: u32, len: u32) -> u128 {
    max_for(bits) & !max_for(bits.saturating_sub(len))
}

pub(crate) fn put_be(buf: &mut [u8], offset: usize, bytes: usize, value: u128) {
    for i in 0..bytes {
        let shift = 8 * (bytes - 1 - i);
        buf[offset + i] = if shift < 128 {
            (value >> shift) as u8
        } else {
            0
        };
    }
}

pub(crate) fn get_be(buf: &[u8], offset: usize, bytes: usize) -> u128 {
    buf[offset..offset + bytes]
        .iter()
        .fold(0u128, |acc, &b| (acc << 8) | u128::from(b))
}

pub(crate) fn u32_at(buf: &[u8], offset: usize) -> u32 {
    u32::from_ne_bytes(buf[offset..offset + 4].try_into().expect("four bytes"))
}

/// Where the key fields start in the map key (after the lpm prefix length, or in an array
/// slot after the priority).
fn key_base(table: &Table) -> usize {
    match table.kind {
        MapKind::Hash => 0,
        MapKind::LpmTrie | MapKind::Array | MapKind::TupleSpace => 4,
    }
}

/// Checks that `offset + bytes` fits in `size`, else blames the manifest.
pub(crate) fn in_bounds(what: &str, offset: usize, bytes: usize, size: usize) -> Result<(), Error> {
    if offset + bytes > size {
        return Err(Error::BadManifest(format!(
            "{what} lies at bytes {offset}..{} but the map's size is {size}",
            offset + bytes
        )));
    }
    Ok(())
}

/// The prefix length (in key-data bits) at which the lpm field `f` starts to count.
fn lpm_base(f: &manifest::KeyField) -> u32 {
    8 * f.offset + (8 * f.bytes).saturating_sub(f.bits)
}

fn kind_name(kind: MatchKind) -> &'static str {
    match kind {
        MatchKind::Exact => "exact",
        MatchKind::Lpm => "lpm",
        MatchKind::Ternary => "ternary",
        MatchKind::Range => "range",
        MatchKind::Optional => "optional",
    }
}

fn given(m: &Match) -> &'static str {
    match m {
        Match::Exact(_) => "an exact value",
        Match::Prefix { .. } => "a prefix",
        Match::Ternary { .. } => "a value and mask",
        Match::Range { .. } => "a range",
        Match::Any => "`_` (any)",
    }
}

/// Key `field` of `table` matched as `m`, as the pair `(a, b)` an array slot stores: exact
/// `(value, all ones)`, lpm and ternary `(value, mask)`, range `(low, high)`, optional
/// `(value, all ones)` or `(0, 0)` for `_`. "All ones" is `bits` wide. Every check of the
/// match against the field (kind, widths, prefix length, bits outside the mask, empty
/// ranges) happens here.
pub(crate) fn field_pair(
    table: &Table,
    field: &manifest::KeyField,
    m: &Match,
) -> Result<(u128, u128), Error> {
    let what = || format!("key `{}` of table `{}`", field.name, table.name);
    let bits = field.bits;
    let all = max_for(bits);
    let wrong = |given, accepts| Error::WrongMatch {
        what: what(),
        kind: kind_name(field.match_kind),
        given,
        accepts,
    };
    let prefix = |value: u128, len: u32| -> Result<(u128, u128), Error> {
        check_fits(what, value, bits)?;
        if len > bits {
            return Err(Error::PrefixTooLong {
                what: what(),
                len,
                bits,
            });
        }
        let mask = prefix_mask(bits, len);
        if value & !mask != 0 {
            return Err(Error::HostBits {
                what: what(),
                value,
                len,
                masked: value & mask,
            });
        }
        Ok((value, mask))
    };
    let masked = |value: u128, mask: u128| -> Result<(u128, u128), Error> {
        check_fits(what, value, bits)?;
        check_fits(|| format!("the mask of {}", what()), mask, bits)?;
        if value & !mask != 0 {
            return Err(Error::MaskBits {
                what: what(),
                value,
                mask,
                masked: value & mask,
            });
        }
        Ok((value, mask))
    };
    match (field.match_kind, *m) {
        (MatchKind::Exact | MatchKind::Optional, Match::Exact(v))
        | (MatchKind::Lpm | MatchKind::Ternary, Match::Exact(v)) => {
            check_fits(what, v, bits)?;
            Ok((v, all))
        }
        (MatchKind::Exact, _) => Err(wrong(given(m), "an exact value")),
        (MatchKind::Optional, Match::Any) => Ok((0, 0)),
        (MatchKind::Optional, _) => Err(wrong(given(m), "an exact value or `_`")),
        (MatchKind::Lpm | MatchKind::Ternary, Match::Prefix { value, len }) => prefix(value, len),
        (MatchKind::Lpm | MatchKind::Ternary, Match::Any) => Ok((0, 0)),
        (MatchKind::Ternary, Match::Ternary { value, mask }) => masked(value, mask),
        (MatchKind::Lpm, Match::Ternary { value, mask }) => {
            let len = mask.count_ones();
            if mask != prefix_mask(bits, len) {
                check_fits(|| format!("the mask of {}", what()), mask, bits)?;
                return Err(wrong(
                    "a mask that is not a prefix",
                    "a value, a prefix, a prefix mask (ones, then zeros) or `_`",
                ));
            }
            masked(value, mask)
        }
        (MatchKind::Lpm, Match::Range { .. }) => Err(wrong(
            given(m),
            "a value, a prefix, a prefix mask (ones, then zeros) or `_`",
        )),
        (MatchKind::Ternary, Match::Range { .. }) => Err(wrong(
            given(m),
            "a value, a value and mask, a prefix or `_`",
        )),
        (MatchKind::Range, Match::Exact(v)) => {
            check_fits(what, v, bits)?;
            Ok((v, v))
        }
        (MatchKind::Range, Match::Range { low, high }) => {
            check_fits(|| format!("the low bound of {}", what()), low, bits)?;
            check_fits(|| format!("the high bound of {}", what()), high, bits)?;
            if low > high {
                return Err(Error::EmptyRange {
                    what: what(),
                    low,
                    high,
                });
            }
            Ok((low, high))
        }
        (MatchKind::Range, Match::Any) => Ok((0, all)),
        (MatchKind::Range, _) => Err(wrong(given(m), "a value, a range `low..high` or `_`")),
    }
}

/// The match of a field of kind `kind` stored as the pair `(a, b)` of [`field_pair`], in the
/// one form entries read back give (see [`Entry`]).
pub(crate) fn match_of(kind: MatchKind, a: u128, b: u128) -> Match {
    match kind {
        MatchKind::Exact => Match::Exact(a),
        MatchKind::Lpm => Match::Prefix {
            value: a,
            len: b.count_ones(),
        },
        MatchKind::Ternary => Match::Ternary { value: a, mask: b },
        MatchKind::Range => Match::Range { low: a, high: b },
        MatchKind::Optional if b == 0 => Match::Any,
        MatchKind::Optional => Match::Exact(a),
    }
}

/// Refuses a key list whose length differs from the table's key fields.
pub(crate) fn check_key_count(table: &Table, keys: &[Match]) -> Result<(), Error> {
    if keys.len() != table.keys.len() {
        return Err(Error::KeyCount {
            table: table.name.clone(),
            expected: table.keys.len(),
            found: keys.len(),
            fields: list(table.keys.iter().map(|k| k.name.as_str())),
        });
    }
    Ok(())
}

/// The map key for `keys` in `table` (an exact or lpm table; array tables are laid out by
/// `slots.rs`).
pub(crate) fn encode_key(table: &Table, keys: &[Match]) -> Result<Vec<u8>, Error> {
    check_key_count(table, keys)?;
    let size = table.key_size as usize;
    let base = key_base(table);
    let mut buf = vec![0u8; size];
    let mut prefix: Option<u32> = None;
    for (field, m) in table.keys.iter().zip(keys) {
        let what = || format!("key `{}` of table `{}`", field.name, table.name);
        let offset = base + field.offset as usize;
        in_bounds(&what(), offset, field.bytes as usize, size)?;
        match (field.match_kind, table.kind) {
            (MatchKind::Exact, MapKind::Hash | MapKind::LpmTrie)
            | (MatchKind::Lpm, MapKind::LpmTrie) => {}
            (kind, map) => {
                return Err(Error::BadManifest(format!(
                    "{} is a `{}` key in a {map:?} map",
                    what(),
                    kind_name(kind)
                )))
            }
        }
        let (value, mask) = field_pair(table, field, m)?;
        if field.match_kind == MatchKind::Lpm {
            prefix = Some(lpm_base(field) + mask.count_ones());
        }
        put_be(&mut buf, offset, field.bytes as usize, value);
    }
    if table.kind == MapKind::LpmTrie {
        // A table whose only fields are exact still matches on all of them.
        let prefix = prefix.unwrap_or(8 * (size as u32 - 4));
        in_bounds(
            &format!("the prefix length of table `{}`", table.name),
            0,
            4,
            size,
        )?;
        buf[..4].copy_from_slice(&prefix.to_ne_bytes());
    }
    Ok(buf)
}

/// The keys stored in the map key `raw` of `table`.
pub(crate) fn decode_key(table: &Table, raw: &[u8]) -> Result<Vec<Match>, Error> {
    let base = key_base(table);
    let prefix = (table.kind == MapKind::LpmTrie && raw.len() >= 4).then(|| u32_at(raw, 0));
    let mut keys = Vec::with_capacity(table.keys.len());
    for field in &table.keys {
        let offset = base + field.offset as usize;
        in_bounds(&field.name, offset, field.bytes as usize, raw.len())?;
        let value = get_be(raw, offset, field.bytes as usize);
        keys.push(match (field.match_kind, prefix) {
            (MatchKind::Lpm, Some(prefix)) => Match::Prefix {
                value,
                len: prefix.saturating_sub(lpm_base(field)).min(field.bits),
            },
            _ => Match::Exact(value),
        });
    }
    Ok(keys)
}

/// The action `name` of `table` (by full name or by its last `.` segment).
pub(crate) fn find_action<'t>(table: &'t Table, name: &str) -> Result<&'t manifest::Action, Error> {
    table
        .actions
        .iter()
        .find(|a| a.name == name)
        .or_else(|| {
            table
                .actions
                .iter()
                .find(|a| a.name.rsplit('.').next() == Some(name))
        })
        .ok_or_else(|| Error::UnknownAction {
            table: table.name.clone(),
            action: name.to_string(),
            known: list(table.actions.iter().map(|a| a.name.as_str())),
        })
}

/// The table value (or default-map value) for `call`.
pub(crate) fn encode_action(table: &Table, call: &ActionCall) -> Result<Vec<u8>, Error> {
    let action = find_action(table, &call.action)?;
    if call.args.len() != action.params.len() {
        return Err(Error::ArgCount {
            action: action.name.clone(),
            expected: action.params.len(),
            found: call.args.len(),
            params: list(action.params.iter().map(|p| p.name.as_str())),
        });
    }
    let size = table.value_size as usize;
    let mut buf = vec![0u8; size];
    in_bounds(
        &format!("the action id of table `{}`", table.name),
        0,
        4,
        size,
    )?;
    buf[..4].copy_from_slice(&action.id.to_ne_bytes());
    for (param, &value) in action.params.iter().zip(&call.args) {
        let what = || format!("argument `{}` of action `{}`", param.name, action.name);
        check_fits(what, value, param.bits)?;
        let offset = param.offset as usize;
        in_bounds(&what(), offset, param.bytes as usize, size)?;
        put_be(&mut buf, offset, param.bytes as usize, value);
    }
    Ok(buf)
}

/// The action call stored in the value `raw` of map `map` of `table`.
pub(crate) fn decode_action(table: &Table, map: &str, raw: &[u8]) -> Result<ActionCall, Error> {
    in_bounds(&format!("the action id in map `{map}`"), 0, 4, raw.len())?;
    let id = u32_at(raw, 0);
    let action =
        table
            .actions
            .iter()
            .find(|a| a.id == id)
            .ok_or_else(|| Error::UnknownActionId {
                map: map.to_string(),
                id,
            })?;
    let mut args = Vec::with_capacity(action.params.len());
    for param in &action.params {
        in_bounds(
            &param.name,
            param.offset as usize,
            param.bytes as usize,
            raw.len(),
        )?;
        args.push(get_be(raw, param.offset as usize, param.bytes as usize));
    }
    Ok(ActionCall {
        action: action.name.clone(),
        args,
    })
}

fn decimal(what: &str, text: &str) -> Result<u128, Error> {
    text.parse()
        .map_err(|_| Error::BadManifest(format!("{what} `{text}` is not a decimal number")))
}

/// A manifest action call (decimal strings) as typed values.
pub(crate) fn call_from_manifest(call: &manifest::ActionCall) -> Result<ActionCall, Error> {
    let args = call
        .args
        .iter()
        .map(|a| decimal("argument", a))
        .collect::<Result<_, _>>()?;
    Ok(ActionCall {
        action: call.action.clone(),
        args,
    })
}

/// A manifest key match (decimal strings) as a typed value.
pub(crate) fn match_from_manifest(m: &manifest::KeyMatch) -> Result<Match, Error> {
    Ok(match m {
        manifest::KeyMatch::Value { value } => Match::Exact(decimal("key", value)?),
        manifest::KeyMatch::Prefix { value, len } => Match::Prefix {
            value: decimal("key", value)?,
            len: *len,
        },
        manifest::KeyMatch::Any => Match::Any,
        // The program's `value &&& mask` ignores the value's bits outside the mask; the
        // layout stores them cleared.
        manifest::KeyMatch::Mask { value, mask } => {
            let mask = decimal("mask", mask)?;
            Match::Ternary {
                value: decimal("key", value)? & mask,
                mask,
            }
        }
        manifest::KeyMatch::Range { low, high } => Match::Range {
            low: decimal("range bound", low)?,
            high: decimal("range bound", high)?,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use iov_manifest::{Action, KeyField, Param};

    fn field(name: &str, bits: u32, match_kind: MatchKind, offset: u32) -> KeyField {
        KeyField {
            name: name.into(),
            bits,
            match_kind,
            offset,
            bytes: bits.div_ceil(8),
        }
    }

    fn table(kind: MapKind, keys: Vec<KeyField>, key_size: u32) -> Table {
        Table {
            name: "c.t".into(),
            map: "t".into(),
            default_map: "t_default".into(),
            kind,
            size: 16,
            key_size,
            value_size: 24,
            keys,
            actions: vec![
                Action {
                    name: "c.set".into(),
                    id: 7,
                    params: vec![
                        Param {
                            name: "port".into(),
                            bits: 9,
                            offset: 4,
                            bytes: 2,
                        },
                        Param {
                            name: "addr".into(),
                            bits: 128,
                            offset: 6,
                            bytes: 16,
                        },
                    ],
                },
                Action {
                    name: "c.nop".into(),
                    id: 1,
                    params: vec![],
                },
            ],
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
    fn exact_keys_are_big_endian_and_right_aligned() {
        let t = table(
            MapKind::Hash,
            vec![
                field("a", 12, MatchKind::Exact, 0),
                field("b", 48, MatchKind::Exact, 2),
            ],
            8,
        );
        let keys = [Match::Exact(0xabc), Match::Exact(0x0102_0304_0506)];
        let raw = encode_key(&t, &keys).unwrap();
        assert_eq!(raw, [0x0a, 0xbc, 1, 2, 3, 4, 5, 6]);
        assert_eq!(decode_key(&t, &raw).unwrap(), keys);
        let err = encode_key(&t, &[Match::Exact(0x1000), Match::Exact(0)]).unwrap_err();
        assert!(
            matches!(
                err,
                Error::TooWide {
                    bits: 12,
                    max: 0xfff,
                    ..
                }
            ),
            "{err}"
        );
    }

    #[test]
    fn lpm_prefix_counts_exact_fields_and_the_padding_of_narrow_fields() {
        // exact bit<16> at 0, lpm bit<12> at 2 (stored in 2 bytes, 4 high bits always zero).
        let t = table(
            MapKind::LpmTrie,
            vec![
                field("e", 16, MatchKind::Exact, 0),
                field("p", 12, MatchKind::Lpm, 2),
            ],
            8,
        );
        let keys = [
            Match::Exact(0x0800),
            Match::Prefix {
                value: 0xab0,
                len: 8,
            },
        ];
        let raw = encode_key(&t, &keys).unwrap();
        // 16 exact bits + 4 padding bits + 8 prefix bits.
        assert_eq!(raw[..4], 28u32.to_ne_bytes());
        assert_eq!(raw[4..], [0x08, 0x00, 0x0a, 0xb0]);
        assert_eq!(decode_key(&t, &raw).unwrap(), keys);
        let full = encode_key(&t, &[Match::Exact(1), Match::Exact(0xfff)]).unwrap();
        assert_eq!(full[..4], 32u32.to_ne_bytes());
        let any = encode_key(&t, &[Match::Exact(1), Match::Any]).unwrap();
        assert_eq!(any[..4], 20u32.to_ne_bytes());
        assert_eq!(
            decode_key(&t, &any).unwrap()[1],
            Match::Prefix { value: 0, len: 0 }
        );
        let err = encode_key(
            &t,
            &[
                Match::Exact(1),
                Match::Prefix {
                    value: 0xab1,
                    len: 8,
                },
            ],
        );
        assert!(matches!(err, Err(Error::HostBits { masked: 0xab0, .. })));
        let err = encode_key(&t, &[Match::Exact(1), Match::Prefix { value: 0, len: 13 }]);
        assert!(matches!(
            err,
            Err(Error::PrefixTooLong {
                len: 13,
                bits: 12,
                ..
            })
        ));
        let err = encode_key(&t, &[Match::Any, Match::Any]).unwrap_err();
        assert!(
            matches!(err, Error::WrongMatch { kind: "exact", .. }),
            "{err}"
        );
    }

    #[test]
    fn masks_on_lpm_keys_are_prefixes_and_other_kinds_are_refused() {
        let t = table(
            MapKind::LpmTrie,
            vec![
                field("e", 16, MatchKind::Exact, 0),
                field("p", 32, MatchKind::Lpm, 2),
            ],
            10,
        );
        let mask = Match::Ternary {
            value: 0x0a01_0000,
            mask: 0xffff_0000,
        };
        let raw = encode_key(&t, &[Match::Exact(1), mask]).unwrap();
        assert_eq!(raw[..4], 32u32.to_ne_bytes(), "16 exact bits + /16");
        assert_eq!(
            decode_key(&t, &raw).unwrap()[1],
            Match::Prefix {
                value: 0x0a01_0000,
                len: 16
            }
        );
        let holes = Match::Ternary {
            value: 0,
            mask: 0xff00_ff00,
        };
        let err = encode_key(&t, &[Match::Exact(1), holes]).unwrap_err();
        assert!(
            matches!(err, Error::WrongMatch { kind: "lpm", .. }),
            "{err}"
        );
        let range = Match::Range { low: 1, high: 2 };
        let err = encode_key(&t, &[range, Match::Any]).unwrap_err();
        assert!(
            matches!(err, Error::WrongMatch { kind: "exact", .. }),
            "{err}"
        );
        // The manifest's `value &&& mask` keeps only the bits under the mask.
        let m = match_from_manifest(&manifest::KeyMatch::Mask {
            value: "4660".into(), // 0x1234
            mask: "65280".into(), // 0xff00
        })
        .unwrap();
        assert_eq!(
            m,
            Match::Ternary {
                value: 0x1200,
                mask: 0xff00
            }
        );
        let m = match_from_manifest(&manifest::KeyMatch::Range {
            low: "1".into(),
            high: "x".into(),
        });
        assert!(matches!(m, Err(Error::BadManifest(_))));
    }

    #[test]
    fn values_hold_the_action_id_then_big_endian_parameters() {
        let t = table(MapKind::Hash, vec![field("a", 8, MatchKind::Exact, 0)], 1);
        let call = ActionCall::new("set", [0x1ff, u128::MAX]);
        let raw = encode_action(&t, &call).unwrap();
        assert_eq!(raw.len(), 24);
        assert_eq!(raw[..4], 7u32.to_ne_bytes());
        assert_eq!(raw[4..6], [0x01, 0xff]);
        assert_eq!(raw[6..22], [0xff; 16]);
        assert_eq!(raw[22..], [0, 0]);
        let back = decode_action(&t, "t", &raw).unwrap();
        assert_eq!(back, ActionCall::new("c.set", [0x1ff, u128::MAX]));
        let err = encode_action(&t, &ActionCall::new("set", [0x200, 0])).unwrap_err();
        assert!(
            err.to_string()
                .contains("argument `port` of action `c.set`"),
            "{err}"
        );
        let err = encode_action(&t, &ActionCall::new("c.set", [1])).unwrap_err();
        assert!(err.to_string().contains("(port, addr)"), "{err}");
        let err = encode_action(&t, &ActionCall::new("drop", [])).unwrap_err();
        assert!(err.to_string().contains("c.set, c.nop"), "{err}");
        let err = decode_action(&t, "t", &[9, 0, 0, 0]).unwrap_err();
        assert!(matches!(err, Error::UnknownActionId { id: 9, .. }), "{err}");
    }

    #[test]
    fn manifest_layouts_past_the_map_size_are_blamed_on_the_manifest() {
        let t = table(MapKind::Hash, vec![field("a", 32, MatchKind::Exact, 0)], 2);
        let err = encode_key(&t, &[Match::Exact(1)]).unwrap_err();
        assert!(matches!(err, Error::BadManifest(_)), "{err}");
    }

    #[test]
    fn widths() {
        assert_eq!(max_for(0), 0);
        assert_eq!(max_for(9), 511);
        assert_eq!(max_for(128), u128::MAX);
        assert!(check_fits(String::new, u128::MAX, 128).is_ok());
        assert!(check_fits(String::new, 1, 0).is_err());
    }
}
