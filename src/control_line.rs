//! Control-plane lines, as `iov table` takes them and `.stf` files write them.
//!
//! Takes: one line: `add TABLE [PRIORITY] key:value ... action(param:value, ...)`,
//! `modify TABLE key:value ... action(...)`, `setdefault TABLE action(...)`,
//! `del TABLE key:value ...`, `get TABLE key:value ...`, `list [TABLE]`, `clear TABLE`.
//! Gives: a [`Line`]: a runtime [`Request`] for the lines that change a table, or a query;
//! values are read by `values.rs`. Pure; docs/stf.md and docs/cli.md describe the syntax.

use crate::values::{action_call, key_pairs};
use iov_runtime::{Match, Request};

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
