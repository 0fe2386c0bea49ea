//! The human syntax of control-plane values, both ways: one parser for `iov test` (.stf
//! files) and `iov table`, and the printer that writes entries back in the same syntax.
//!
//! Takes: words such as `10.0.0.0/8`, `02:00:00:00:00:01`, `0x0800`, `6&&&0xff`,
//! `1000..2000`, `_`, `hdr.ipv4.dst:10.0.0.1`, `forward(port:3, dst_mac:02:00:00:00:00:02)`.
//! Gives: [`Match`]es and `u128` arguments named as written (the runtime orders them by the
//! manifest), or a message saying what is wrong with the word; and for a manifest key field
//! or parameter, the text that parses back to the same value. Literals are read by the
//! language's own lexer, so a value is written exactly as in `.iov` source. Pure.

use iov_diagnostics::FileId;
use iov_runtime::iov_manifest::{KeyField, MatchKind};
use iov_runtime::{ActionCall, Match};
use iov_syntax::ast::ExprKind;

/// A literal as `.iov` writes it: a number (`10`, `0x0a`, `8w10`), an IPv4, IPv6 or MAC
/// address, `true`/`false`.
pub fn literal(text: &str) -> Result<u128, String> {
    match literal_or_prefix(text)? {
        Match::Exact(v) => Ok(v),
        _ => Err(format!(
            "`{text}` is a prefix; a single value is needed here"
        )),
    }
}

fn literal_or_prefix(text: &str) -> Result<Match, String> {
    let (e, diags) = iov_syntax::parse_expr(FileId(0), text);
    if !diags.is_empty() || text.is_empty() {
        return Err(format!(
            "`{text}` is not a value (write a number, an address or a prefix)"
        ));
    }
    match e.kind {
        ExprKind::Int(l) => Ok(Match::Exact(l.value)),
        ExprKind::Ipv4(v) => Ok(Match::Exact(u128::from(v))),
        ExprKind::Ipv6(v) => Ok(Match::Exact(v)),
        ExprKind::Mac(v) => Ok(Match::Exact(u128::from(v))),
        ExprKind::Bool(b) => Ok(Match::Exact(u128::from(b))),
        ExprKind::Prefix(p) => Ok(Match::Prefix {
            value: p.value,
            len: p.len,
        }),
        _ => Err(format!(
            "`{text}` is not a value (write a number, an address or a prefix)"
        )),
    }
}

/// p4c's hex with wildcard nibbles, `0x0a01****`: a ternary key whose mask has a zero nibble
/// at each `*` (and ones at every written digit). `None` when `text` is not such a value.
fn nibble_wildcards(text: &str) -> Option<Result<Match, String>> {
    let digits = text
        .strip_prefix("0x")
        .or_else(|| text.strip_prefix("0X"))?;
    if !digits.contains('*') {
        return None;
    }
    if digits.len() > 32 || !digits.chars().all(|c| c == '*' || c.is_ascii_hexdigit()) {
        return Some(Err(format!(
            "`{text}` is not hex with wildcard nibbles (up to 32 digits, each a hex digit or `*`)"
        )));
    }
    let (mut value, mut mask) = (0u128, 0u128);
    for c in digits.chars() {
        value <<= 4;
        mask <<= 4;
        if let Some(d) = c.to_digit(16) {
            value |= u128::from(d);
            mask |= 0xf;
        }
    }
    Some(Ok(Match::Ternary { value, mask }))
}

/// A key: `_`, `VALUE&&&MASK`, `LOW..HIGH`, `VALUE/LEN`, `0xHEX` with `*` nibbles, or a literal.
pub fn key_value(text: &str) -> Result<Match, String> {
    if text == "_" {
        return Ok(Match::Any);
    }
    let part = |p: &str| {
        literal(p)
            .map_err(|_| format!("`{p}` in `{text}` is not a value (write a number or an address)"))
    };
    if let Some(m) = nibble_wildcards(text) {
        return m;
    }
    if let Some((v, m)) = text.split_once("&&&") {
        return Ok(Match::Ternary {
            value: part(v)?,
            mask: part(m)?,
        });
    }
    if let Some((low, high)) = text.split_once("..") {
        return Ok(Match::Range {
            low: part(low)?,
            high: part(high)?,
        });
    }
    if let Ok(m) = literal_or_prefix(text) {
        return Ok(m);
    }
    // `VALUE/LEN` on any value, not only the address prefixes the language writes.
    if let Some((v, len)) = text.rsplit_once('/') {
        let len = len
            .parse()
            .map_err(|_| format!("`/{len}` in `{text}` is not a prefix length"))?;
        return Ok(Match::Prefix {
            value: part(v)?,
            len,
        });
    }
    literal_or_prefix(text)
}

/// `name:value`. Names have no colons; values may (MAC and IPv6 addresses), so the word
/// splits at its first colon.
pub fn named<T>(
    word: &str,
    value: impl Fn(&str) -> Result<T, String>,
) -> Result<(String, T), String> {
    let (name, v) = word
        .split_once(':')
        .ok_or_else(|| format!("`{word}` should be `name:value`"))?;
    if name.is_empty() {
        return Err(format!("`{word}` has no name before `:`"));
    }
    Ok((name.to_string(), value(v)?))
}

/// `name:value` key pairs.
pub fn key_pairs(words: &[&str]) -> Result<Vec<(String, Match)>, String> {
    words.iter().map(|w| named(w, key_value)).collect()
}

/// `action(arg:value, ...)`, `action()` or `action`.
pub fn action_call(text: &str) -> Result<(String, Vec<(String, u128)>), String> {
    let text = text.trim();
    let (name, args) = match text.split_once('(') {
        None => (text, Vec::new()),
        Some((name, rest)) => {
            let inner = rest
                .trim_end()
                .strip_suffix(')')
                .ok_or("missing `)` after the action's arguments")?;
            let args = inner
                .split(',')
                .map(str::trim)
                .filter(|a| !a.is_empty())
                .map(|a| {
                    named(a, |v| {
                        literal(v).map_err(|e| {
                            if v == "_" || v.contains("&&&") || v.contains("..") {
                                let name = a.split(':').next().unwrap_or(a);
                                format!("argument `{name}` must be a value; masks, ranges and `_` are for keys")
                            } else {
                                e
                            }
                        })
                    })
                })
                .collect::<Result<Vec<_>, _>>()?;
            (name.trim(), args)
        }
    };
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
    {
        return Err(format!(
            "`{text}` is not an action call; write `action(param:value, ...)`"
        ));
    }
    Ok((name.to_string(), args))
}

/// How a value of `bits` bits named `name` reads best: as an address where it looks like one.
pub fn show(name: &str, bits: u32, v: u128) -> String {
    let last = name.rsplit('.').next().unwrap_or(name).to_ascii_lowercase();
    let addressy = [
        "dst", "src", "addr", "ip", "spa", "tpa", "sha", "tha", "mac", "nexthop", "gw",
    ]
    .iter()
    .any(|w| last.contains(w));
    match bits {
        48 if addressy => {
            let b = (v as u64).to_be_bytes();
            format!(
                "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
                b[2], b[3], b[4], b[5], b[6], b[7]
            )
        }
        32 if addressy => std::net::Ipv4Addr::from(v as u32).to_string(),
        128 if addressy => std::net::Ipv6Addr::from(v).to_string(),
        _ if v > 0xffff => format!("{v:#x}"),
        _ => v.to_string(),
    }
}

/// A key as [`key_value`] reads it back.
pub fn show_key(field: &KeyField, m: &Match) -> String {
    let s = |v| show(&field.name, field.bits, v);
    match *m {
        Match::Exact(v) => s(v),
        Match::Prefix { value, len } if len == field.bits && field.match_kind != MatchKind::Lpm => {
            s(value)
        }
        Match::Prefix { value, len } => format!("{}/{len}", s(value)),
        Match::Ternary { value, mask } => format!("{}&&&{}", s(value), s(mask)),
        Match::Range { low, high } => format!("{}..{}", s(low), s(high)),
        Match::Any => "_".into(),
    }
}

/// Keys named as [`key_pairs`] reads them: `field:value ...` for these key fields.
pub fn show_keys(fields: &[KeyField], keys: &[Match]) -> String {
    fields
        .iter()
        .zip(keys)
        .map(|(f, m)| format!("{}:{}", f.name, show_key(f, m)))
        .collect::<Vec<_>>()
        .join(" ")
}

/// An action call as [`action_call`] reads it back.
pub fn show_call(params: &[(String, u32)], call: &ActionCall) -> String {
    let args: Vec<String> = params
        .iter()
        .zip(&call.args)
        .map(|((name, bits), v)| format!("{name}:{}", show(name, *bits, *v)))
        .collect();
    format!("{}({})", call.action, args.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(name: &str, bits: u32, kind: MatchKind) -> KeyField {
        KeyField {
            name: name.into(),
            bits,
            match_kind: kind,
            offset: 0,
            bytes: bits.div_ceil(8),
        }
    }

    #[test]
    fn reads_every_key_form() {
        assert_eq!(key_value("_"), Ok(Match::Any));
        assert_eq!(
            key_value("10.0.0.0/8"),
            Ok(Match::Prefix {
                value: 0x0a00_0000,
                len: 8
            })
        );
        assert_eq!(
            key_value("0x0a0a0000/16"),
            Ok(Match::Prefix {
                value: 0x0a0a_0000,
                len: 16
            })
        );
        assert_eq!(
            key_value("6&&&0xff"),
            Ok(Match::Ternary {
                value: 6,
                mask: 0xff
            })
        );
        assert_eq!(
            key_value("1000..0x7d0"),
            Ok(Match::Range {
                low: 1000,
                high: 2000
            })
        );
        assert_eq!(
            key_value("02:00:00:00:00:01"),
            Ok(Match::Exact(0x0200_0000_0001))
        );
        assert_eq!(
            key_value("2001:db8::1"),
            Ok(Match::Exact(0x2001_0db8 << 96 | 1))
        );
        assert!(key_value("300.1.1.1").is_err());
        assert!(key_value("1..x").unwrap_err().contains("`x` in `1..x`"));
        assert!(key_value("10/x")
            .unwrap_err()
            .contains("not a prefix length"));
    }

    #[test]
    fn reads_action_calls() {
        assert_eq!(
            action_call("drop_packet"),
            Ok(("drop_packet".into(), vec![]))
        );
        assert_eq!(
            action_call("drop_packet()"),
            Ok(("drop_packet".into(), vec![]))
        );
        assert_eq!(
            action_call("forward(dst_mac:02:00:00:00:00:02, port:3)"),
            Ok((
                "forward".into(),
                vec![("dst_mac".into(), 0x0200_0000_0002), ("port".into(), 3)]
            ))
        );
        assert!(action_call("f(x:_)")
            .unwrap_err()
            .contains("masks, ranges and `_` are for keys"));
        assert!(action_call("f(x:1").unwrap_err().contains("missing `)`"));
        assert!(action_call("f(x)")
            .unwrap_err()
            .contains("`x` should be `name:value`"));
        assert!(action_call("a b").is_err());
    }

    #[test]
    fn prints_what_it_reads() {
        let cases = [
            (
                field("hdr.ipv4.dst", 32, MatchKind::Lpm),
                Match::Prefix {
                    value: 0x0a00_0000,
                    len: 8,
                },
                "10.0.0.0/8",
            ),
            (
                field("hdr.eth.dst", 48, MatchKind::Exact),
                Match::Exact(0x0200_0000_0001),
                "02:00:00:00:00:01",
            ),
            (
                field("hdr.ipv4.protocol", 8, MatchKind::Ternary),
                Match::Ternary {
                    value: 6,
                    mask: 0xff,
                },
                "6&&&255",
            ),
            (
                field("hdr.tcp.dport", 16, MatchKind::Range),
                Match::Range {
                    low: 1000,
                    high: 2000,
                },
                "1000..2000",
            ),
            (
                field("hdr.ipv6.dst", 128, MatchKind::Lpm),
                Match::Prefix {
                    value: 0x2001_0db8 << 96,
                    len: 32,
                },
                "2001:db8::/32",
            ),
            (
                field("meta.key", 64, MatchKind::Lpm),
                Match::Prefix {
                    value: 0xab << 56,
                    len: 8,
                },
                "0xab00000000000000/8",
            ),
            (field("k", 8, MatchKind::Optional), Match::Any, "_"),
        ];
        for (f, m, text) in cases {
            assert_eq!(show_key(&f, &m), text);
            let back = key_value(text).unwrap();
            assert_eq!(show_key(&f, &back), text, "{text} reads back");
        }
        let call = ActionCall::new("forward", vec![0x0200_0000_0002, 3]);
        let params = [("dst_mac".to_string(), 48), ("port".to_string(), 32)];
        assert_eq!(
            show_call(&params, &call),
            "forward(dst_mac:02:00:00:00:00:02, port:3)"
        );
    }
}
