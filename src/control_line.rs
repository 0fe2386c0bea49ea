//! Control-plane lines, as `iov table` takes them and `.stf` files write them.
//!
//! Takes: one line: `add TABLE [PRIORITY] key:value ... action(param:value, ...)`,
//! `modify TABLE key:value ... action(...)`, `setdefault TABLE action(...)`,
//! `del TABLE key:value ...`, `get TABLE key:value ...`, `list [TABLE]`, `clear TABLE`;
//! and a group's line, `GROUP add|del PORT...` or `GROUP list` ([`group`]).
//! Gives: a [`Line`]: a runtime [`Request`] for the lines that change a table, or a query;
//! values are read by `values.rs`. Pure; docs/stf.md and docs/cli.md describe the syntax.

use crate::values::{action_call, key_pairs};
use iov_runtime::{Match, MeterCellId, Module, Request};

/// One parsed line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Line {
    /// A change: add, modify, setdefault, del, clear.
    Change(Request),
    /// `get TABLE keys`: one entry.
    Get {
        table: String,
        keys: Vec<(String, Match)>,
    },
    /// `list [TABLE]`: every entry of one table, or of all.
    List { table: Option<String> },
}

/// The verbs a line may start with.
pub const VERBS: &str = "add, modify, setdefault, del, get, list, clear";

/// Whether `word` starts a control-plane line.
pub fn is_verb(word: &str) -> bool {
    matches!(
        word,
        "add" | "modify" | "setdefault" | "del" | "get" | "list" | "clear"
    )
}

/// Reads one line (already split into words on whitespace).
pub fn parse(words: &[&str]) -> Result<Line, String> {
    let Some((&verb, rest)) = words.split_first() else {
        return Err(format!("an empty line; start with one of: {VERBS}"));
    };
    let table = || {
        rest.first()
            .map(|t| t.to_string())
            .ok_or_else(|| format!("`{verb}` needs a table name"))
    };
    let after_table = rest.get(1..).unwrap_or(&[]);
    Ok(match verb {
        "add" => {
            let table = table()?;
            let mut words = after_table;
            // An optional numeric priority comes first.
            let mut priority = None;
            if let Some(p) = words
                .first()
                .filter(|w| w.chars().all(|c| c.is_ascii_digit()))
            {
                priority = Some(
                    p.parse()
                        .map_err(|_| format!("priority `{p}` is larger than 4294967295"))?,
                );
                words = &words[1..];
            }
            let (keys, action, args) = keys_then_action(words)?;
            Line::Change(Request::Add {
                table,
                priority,
                keys,
                action,
                args,
            })
        }
        "modify" => {
            let table = table()?;
            let (keys, action, args) = keys_then_action(after_table)?;
            Line::Change(Request::Modify {
                table,
                keys,
                action,
                args,
            })
        }
        "setdefault" => {
            let table = table()?;
            if after_table.is_empty() {
                return Err("`setdefault` needs an action: `setdefault TABLE action(...)`".into());
            }
            let (action, args) = action_call(&after_table.join(" "))?;
            Line::Change(Request::SetDefault {
                table,
                action,
                args,
            })
        }
        "del" | "get" => {
            let table = table()?;
            let keys = key_pairs(after_table)?;
            if verb == "del" {
                Line::Change(Request::Delete { table, keys })
            } else {
                Line::Get { table, keys }
            }
        }
        "clear" => {
            let table = table()?;
            no_more(verb, after_table)?;
            Line::Change(Request::Clear { table })
        }
        "list" => {
            no_more(verb, after_table)?;
            Line::List {
                table: rest.first().map(|t| t.to_string()),
            }
        }
        other => return Err(format!("unknown command `{other}` (one of: {VERBS})")),
    })
}

/// What a group line asks: `GROUP add PORT...`, `GROUP del PORT...`, `GROUP list`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GroupOp {
    Add(Vec<u32>),
    Del(Vec<u32>),
    List,
}

/// Reads `GROUP add|del PORT...` or `GROUP list` (the words after `iov group MODULE`, or
/// after `group` in a `.stf` file). Ports are interface indexes, written as numbers.
pub fn group(words: &[&str]) -> Result<(String, GroupOp), String> {
    let usage = "write `GROUP add PORT...`, `GROUP del PORT...` or `GROUP list`";
    let (Some(name), Some(op)) = (words.first(), words.get(1)) else {
        return Err(format!(
            "a group line needs a group and what to do: {usage}"
        ));
    };
    let ports = || -> Result<Vec<u32>, String> {
        if words.len() < 3 {
            return Err(format!(
                "`{op}` needs at least one port (an interface index)"
            ));
        }
        words[2..]
            .iter()
            .map(|w| {
                crate::values::literal(w)
                    .ok()
                    .and_then(|v| u32::try_from(v).ok())
                    .ok_or_else(|| format!("`{w}` is not a port (an interface index, such as 3)"))
            })
            .collect()
    };
    let op = match *op {
        "add" => GroupOp::Add(ports()?),
        "del" => GroupOp::Del(ports()?),
        "list" if words.len() == 2 => GroupOp::List,
        "list" => {
            return Err(format!(
                "`list` takes no ports; `{}` is left over",
                words[2]
            ))
        }
        other => return Err(format!("unknown group command `{other}`: {usage}")),
    };
    Ok((name.to_string(), op))
}

fn no_more(verb: &str, words: &[&str]) -> Result<(), String> {
    match words.first() {
        None => Ok(()),
        Some(w) => Err(format!(
            "`{verb}` takes only a table name; `{w}` is left over"
        )),
    }
}

type Parts = (Vec<(String, Match)>, String, Vec<(String, u128)>);

/// `key:value ... action(arg:value, ...)`: keys are the words with a `:` before the first
/// word that has a `(` or no `:`; a key named with a call (`hdr.vlan.isValid():1`) has its
/// `(` too, but a `):` after it.
fn keys_then_action(words: &[&str]) -> Result<Parts, String> {
    let is_key = |w: &str| w.contains(':') && (!w.contains('(') || w.contains("):"));
    let split = words
        .iter()
        .position(|w| !is_key(w))
        .ok_or("missing the action: end the line with `action(param:value, ...)`")?;
    let keys = key_pairs(&words[..split])?;
    let (action, args) = action_call(&words[split..].join(" "))?;
    Ok((keys, action, args))
}

/// The cell a meter line names: an index of a `meter`, or the key of an entry of the table
/// of a `direct_meter`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MeterCell {
    Index(u32),
    Entry(Vec<(String, Match)>),
}

impl MeterCell {
    /// The cell in the runtime's terms: an entry's keys put in its table's order.
    pub fn resolve(&self, module: &Module, meter: &str) -> Result<MeterCellId, iov_runtime::Error> {
        match self {
            MeterCell::Index(i) => Ok(MeterCellId::Index(*i)),
            MeterCell::Entry(keys) => module
                .direct_meter_keys(meter, keys)
                .map(MeterCellId::Entry),
        }
    }
}

/// A cell as the meter lines name it: `3`, or an entry's key `hdr.ipv4.src:10.0.0.0/8`.
pub fn show_cell(module: &Module, meter: &str, cell: &MeterCellId) -> String {
    match cell {
        MeterCellId::Index(i) => i.to_string(),
        MeterCellId::Entry(keys) => module.direct_meter_table(meter).map_or_else(
            |_| String::new(),
            |t| crate::values::show_keys(&t.keys, keys),
        ),
    }
}

/// Reads the cell of a meter line (`INDEX` or `key:value ...`, the words after the meter's
/// name in `iov meter` and in a `.stf` file's `meter`) and gives what follows it (a setting,
/// `clear`, or nothing).
pub fn meter_cell<'w>(words: &'w [&'w str]) -> Result<(MeterCell, &'w [&'w str]), String> {
    let Some(first) = words.first() else {
        return Err("name the cell: an index for a `meter`, the entry's key (`field:value ...`) for a `direct_meter`".into());
    };
    if !first.contains(':') {
        let index = crate::values::literal(first)
            .ok()
            .and_then(|v| u32::try_from(v).ok())
            .ok_or_else(|| {
                format!("`{first}` is not a meter index (a number) or a key (`field:value`)")
            })?;
        return Ok((MeterCell::Index(index), &words[1..]));
    }
    let is_setting = |w: &str| matches!(w, "srtcm" | "trtcm" | "clear");
    let split = words
        .iter()
        .position(|w| is_setting(w))
        .unwrap_or(words.len());
    Ok((
        MeterCell::Entry(key_pairs(&words[..split])?),
        &words[split..],
    ))
}

/// A meter setting, as `iov test` and `iov meter` read it: `srtcm cir:RATE cbs:BURST ebs:BURST`
/// (RFC 2697) or `trtcm cir:RATE cbs:BURST pir:RATE pbs:BURST` (RFC 2698), in any order after
/// the mode. Rates are tokens (packets or bytes, as the meter counts) per second, bursts are
/// tokens; both may end in `k`, `M` or `G` (10^3, 10^6, 10^9).
pub fn meter_setting(words: &[&str]) -> Result<iov_runtime::MeterConfig, String> {
    let Some((&mode, rest)) = words.split_first() else {
        return Err("a meter setting starts with `srtcm` or `trtcm`".into());
    };
    let names: &[&str] = match mode {
        "srtcm" => &["cir", "cbs", "ebs"],
        "trtcm" => &["cir", "cbs", "pir", "pbs"],
        other => return Err(format!("`{other}` is not a meter mode (srtcm or trtcm)")),
    };
    let mut got = vec![None; names.len()];
    for w in rest {
        let (k, v) = w.split_once(':').ok_or_else(|| {
            format!(
                "`{w}` is not NAME:VALUE (the {mode} values are {})",
                names.join(", ")
            )
        })?;
        let i = names.iter().position(|n| *n == k).ok_or_else(|| {
            format!(
                "`{k}` is not a {mode} value (they are {})",
                names.join(", ")
            )
        })?;
        if got[i].is_some() {
            return Err(format!("`{k}` is given twice"));
        }
        got[i] = Some(scaled(v)?);
    }
    let mut vals = Vec::new();
    for (n, g) in names.iter().zip(got) {
        vals.push(g.ok_or_else(|| format!("{mode} needs `{n}:` (all of {})", names.join(", ")))?);
    }
    Ok(match mode {
        "srtcm" => iov_runtime::MeterConfig::Srtcm {
            cir: vals[0],
            cbs: vals[1],
            ebs: vals[2],
        },
        _ => iov_runtime::MeterConfig::Trtcm {
            cir: vals[0],
            cbs: vals[1],
            pir: vals[2],
            pbs: vals[3],
        },
    })
}

/// A whole number, optionally with a decimal `k`, `M` or `G` after it.
fn scaled(text: &str) -> Result<u64, String> {
    let (digits, scale) = match text.as_bytes().last() {
        Some(b'k') => (&text[..text.len() - 1], 1_000),
        Some(b'M') => (&text[..text.len() - 1], 1_000_000),
        Some(b'G') => (&text[..text.len() - 1], 1_000_000_000),
        _ => (text, 1),
    };
    digits
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(scale))
        .ok_or_else(|| format!("`{text}` is not a whole number (optionally with k, M or G)"))
}

/// The words of a meter setting back, as [`meter_setting`] reads them.
pub fn show_meter(c: &iov_runtime::MeterConfig) -> String {
    match *c {
        iov_runtime::MeterConfig::Srtcm { cir, cbs, ebs } => {
            format!("srtcm cir:{cir} cbs:{cbs} ebs:{ebs}")
        }
        iov_runtime::MeterConfig::Trtcm { cir, cbs, pir, pbs } => {
            format!("trtcm cir:{cir} cbs:{cbs} pir:{pir} pbs:{pbs}")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(text: &str) -> Result<Line, String> {
        parse(&text.split_whitespace().collect::<Vec<_>>())
    }

    #[test]
    fn reads_every_verb() {
        assert_eq!(
            line("add routes hdr.ipv4.dst:10.0.0.0/8 forward(dst_mac:02:00:00:00:00:02, port:3)"),
            Ok(Line::Change(Request::Add {
                table: "routes".into(),
                priority: None,
                keys: vec![(
                    "hdr.ipv4.dst".into(),
                    Match::Prefix {
                        value: 0x0a00_0000,
                        len: 8
                    }
                )],
                action: "forward".into(),
                args: vec![("dst_mac".into(), 0x0200_0000_0002), ("port".into(), 3)],
            }))
        );
        assert!(matches!(
            line("add acl 10 k:6&&&0xff deny()"),
            Ok(Line::Change(Request::Add {
                priority: Some(10),
                ..
            }))
        ));
        assert_eq!(
            line("setdefault routes drop_packet()"),
            Ok(Line::Change(Request::SetDefault {
                table: "routes".into(),
                action: "drop_packet".into(),
                args: vec![]
            }))
        );
        assert_eq!(
            line("del routes dst:10.0.0.0/8"),
            Ok(Line::Change(Request::Delete {
                table: "routes".into(),
                keys: vec![(
                    "dst".into(),
                    Match::Prefix {
                        value: 0x0a00_0000,
                        len: 8
                    }
                )]
            }))
        );
        assert!(matches!(
            line("get routes dst:10.0.0.1"),
            Ok(Line::Get { .. })
        ));
        assert_eq!(line("list"), Ok(Line::List { table: None }));
        assert_eq!(
            line("list routes"),
            Ok(Line::List {
                table: Some("routes".into())
            })
        );
        assert!(matches!(
            line("clear routes"),
            Ok(Line::Change(Request::Clear { .. }))
        ));
        assert!(matches!(
            line("modify t k:1 a(x:2)"),
            Ok(Line::Change(Request::Modify { .. }))
        ));
    }

    #[test]
    fn bad_lines_say_what_is_wrong() {
        let err = |t: &str| line(t).unwrap_err();
        assert!(err("frob t").contains("unknown command `frob`"));
        assert!(err("add").contains("`add` needs a table name"));
        assert!(err("add t k:1").contains("missing the action"));
        assert!(err("add t 4294967296 k:1 a()").contains("larger than 4294967295"));
        assert!(err("setdefault t").contains("needs an action"));
        assert!(err("clear t extra").contains("`extra` is left over"));
        assert!(err("add t k:300.1.1.1 a()").contains("not a value"));
    }
}
