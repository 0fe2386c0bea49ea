//! The packet-test format (`.stf`, after p4c's): reads a test file into commands.
//!
//! Takes: the text of a `.stf` file.
//! Gives: [`Command`]s with their line numbers, or an error naming the line and what is
//! wrong. Values are written as in `.iov` source (decimal, hex, IPv4, IPv6, MAC, prefixes
//! `10.0.0.0/8`); the dialect is documented in docs/stf.md.

use iov_diagnostics::FileId;
use iov_syntax::ast::ExprKind;

/// A value for a key field or an action argument.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Value {
    Int(u128),
    Prefix(u128, u32),
}

/// Where a packet is expected to go.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Redirected to this port (ifindex), with these bytes.
    Port(u32, Pattern),
    /// Passed to the kernel's stack, with these bytes.
    Pass(Pattern),
    /// Sent back out of the interface it came in on, with these bytes.
    Reflect(Pattern),
    Drop,
}

/// Expected bytes; `None` nibbles are `*` wildcards.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pattern(pub Vec<Option<u8>>);

impl Pattern {
    /// Whether `bytes` matches: same length, every non-wildcard nibble equal.
    pub fn matches(&self, bytes: &[u8]) -> bool {
        self.0.len() == bytes.len() * 2
            && self.0.iter().enumerate().all(|(i, n)| {
                let b = bytes[i / 2];
                let actual = if i % 2 == 0 { b >> 4 } else { b & 0xf };
                n.is_none_or(|n| n == actual)
            })
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    /// `add TABLE [priority] key:value ... action(arg:value, ...)`
    Add {
        table: String,
        keys: Vec<(String, Value)>,
        action: String,
        args: Vec<(String, Value)>,
    },
    /// `setdefault TABLE action(arg:value, ...)`
    SetDefault {
        table: String,
        action: String,
        args: Vec<(String, Value)>,
    },
    /// `packet PORT HEX...`
    Packet { port: u32, bytes: Vec<u8> },
    /// `expect PORT HEX...`, `expect pass HEX...`, `expect reflect HEX...`, `expect drop`
    Expect(Outcome),
    /// `check_counter NAME INDEX packets N [bytes M]`
    CheckCounter {
        name: String,
        index: u32,
        packets: Option<u64>,
        bytes: Option<u64>,
    },
    /// `check_register NAME INDEX VALUE`
    CheckRegister {
        name: String,
        index: u32,
        value: u128,
    },
}

/// Parses a value as `.iov` writes literals.
pub fn value(text: &str) -> Result<Value, String> {
    let (e, diags) = iov_syntax::parse_expr(FileId(0), text);
    if !diags.is_empty() {
        return Err(format!("`{text}` is not a value"));
    }
    match e.kind {
        ExprKind::Int(l) => Ok(Value::Int(l.value)),
        ExprKind::Ipv4(v) => Ok(Value::Int(u128::from(v))),
        ExprKind::Ipv6(v) => Ok(Value::Int(v)),
        ExprKind::Mac(v) => Ok(Value::Int(u128::from(v))),
        ExprKind::Bool(b) => Ok(Value::Int(u128::from(b))),
        ExprKind::Prefix(p) => Ok(Value::Prefix(p.value, p.len)),
        _ => Err(format!(
            "`{text}` is not a value (write a number, an address or a prefix)"
        )),
    }
}

fn hex(words: &[&str]) -> Result<Vec<u8>, String> {
    let digits: String = words.concat();
    if digits.len() % 2 != 0 {
        return Err("odd number of hex digits".into());
    }
    (0..digits.len())
        .step_by(2)
        .map(|i| {
            u8::from_str_radix(&digits[i..i + 2], 16)
                .map_err(|_| format!("`{}` is not hex", &digits[i..i + 2]))
        })
        .collect()
}

fn pattern(words: &[&str]) -> Result<Pattern, String> {
    let digits: String = words.concat();
    let digits = digits.trim_end_matches('$');
    if digits.len() % 2 != 0 {
        return Err("odd number of hex digits".into());
    }
    digits
        .chars()
        .map(|c| match c {
            '*' => Ok(None),
            c => c
                .to_digit(16)
                .map(|d| Some(d as u8))
                .ok_or_else(|| format!("`{c}` is not a hex digit or `*`")),
        })
        .collect::<Result<Vec<_>, _>>()
        .map(Pattern)
}

/// `name:value` pairs. Names have no colons; values may (MAC and IPv6 addresses), so each
/// word splits at its first colon.
fn pairs(words: &[&str]) -> Result<Vec<(String, Value)>, String> {
    words
        .iter()
        .filter(|w| !w.is_empty())
        .map(|w| {
            let (name, val) = w
                .split_once(':')
                .ok_or_else(|| format!("`{w}` should be `name:value`"))?;
            Ok((name.to_string(), value(val)?))
        })
        .collect()
}

/// `action(arg:value, ...)` or `action`.
fn action_call(text: &str) -> Result<(String, Vec<(String, Value)>), String> {
    match text.split_once('(') {
        None => Ok((text.to_string(), Vec::new())),
        Some((name, rest)) => {
            let inner = rest
                .strip_suffix(')')
                .ok_or("missing `)` after the action's arguments")?;
            let args: Vec<&str> = inner
                .split(',')
                .map(str::trim)
                .filter(|a| !a.is_empty())
                .collect();
            Ok((name.trim().to_string(), pairs(&args)?))
        }
    }
}

fn number<T: std::str::FromStr>(w: Option<&&str>, what: &str) -> Result<T, String> {
    w.ok_or_else(|| format!("missing {what}"))?
        .parse()
        .map_err(|_| format!("`{}` is not a valid {what}", w.unwrap_or(&"")))
}

/// Parses a whole file; `Err((line, message))` at the first bad line.
pub fn parse(text: &str) -> Result<Vec<(usize, Command)>, (usize, String)> {
    let mut out = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        let content = raw.split('#').next().unwrap_or("").trim();
        if content.is_empty() {
            continue;
        }
        let words: Vec<&str> = content.split_whitespace().collect();
        let cmd = match words[0] {
            "add" => {
                let table = words.get(1).ok_or((line, "missing table name".to_string()))?.to_string();
                let mut rest = &words[2..];
                // An optional numeric priority comes first.
                if rest.first().is_some_and(|w| w.chars().all(|c| c.is_ascii_digit())) {
                    rest = &rest[1..];
                }
                let Some(split) = rest.iter().position(|w| !w.contains(':') || w.contains('(')) else {
                    return Err((line, "missing the action".into()));
                };
                let keys = pairs(&rest[..split]).map_err(|e| (line, e))?;
                let (action, args) = action_call(&rest[split..].join(" ")).map_err(|e| (line, e))?;
                Command::Add { table, keys, action, args }
            }
            "setdefault" => {
                let table = words.get(1).ok_or((line, "missing table name".to_string()))?.to_string();
                let (action, args) = action_call(&words[2..].join(" ")).map_err(|e| (line, e))?;
                Command::SetDefault { table, action, args }
            }
            "packet" => {
                let port = number(words.get(1), "port").map_err(|e| (line, e))?;
                let bytes = hex(&words[2..]).map_err(|e| (line, e))?;
                Command::Packet { port, bytes }
            }
            "expect" => {
                let outcome = match words.get(1).copied() {
                    Some("drop") => Outcome::Drop,
                    Some("pass") => Outcome::Pass(pattern(&words[2..]).map_err(|e| (line, e))?),
                    Some("reflect") => Outcome::Reflect(pattern(&words[2..]).map_err(|e| (line, e))?),
                    Some(p) => {
                        let port = p.parse().map_err(|_| (line, format!("`{p}` is not a port, `pass`, `reflect` or `drop`")))?;
                        Outcome::Port(port, pattern(&words[2..]).map_err(|e| (line, e))?)
                    }
                    None => return Err((line, "`expect` needs a port, `pass`, `reflect` or `drop`".into())),
                };
                Command::Expect(outcome)
            }
            "check_counter" => {
                let name = words.get(1).ok_or((line, "missing counter name".to_string()))?.to_string();
                let index = number(words.get(2), "index").map_err(|e| (line, e))?;
                let (mut packets, mut bytes) = (None, None);
                for kv in words[3..].chunks(2) {
                    let v = number(kv.get(1), "count").map_err(|e| (line, e))?;
                    match kv[0] {
                        "packets" => packets = Some(v),
                        "bytes" => bytes = Some(v),
                        other => return Err((line, format!("`{other}` should be `packets` or `bytes`"))),
                    }
                }
                Command::CheckCounter { name, index, packets, bytes }
            }
            "check_register" => {
                let name = words.get(1).ok_or((line, "missing register name".to_string()))?.to_string();
                let index = number(words.get(2), "index").map_err(|e| (line, e))?;
                let value = match value(words.get(3).copied().unwrap_or("")).map_err(|e| (line, e))? {
                    Value::Int(v) => v,
                    Value::Prefix(..) => return Err((line, "a register holds a number, not a prefix".into())),
                };
                Command::CheckRegister { name, index, value }
            }
            other => return Err((line, format!("unknown command `{other}` (add, setdefault, packet, expect, check_counter, check_register)"))),
        };
        out.push((line, cmd));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_every_command() {
        let cmds = parse(
            "# a comment\n\
             add routes hdr.ipv4.dst:10.0.0.0/8 forward(dst_mac:02:00:00:00:00:01, port:7)\n\
             setdefault routes drop_packet()\n\
             packet 1 0011 2233\n\
             expect 7 00** 2233\n\
             expect drop\n\
             check_counter port_stats 7 packets 1 bytes 4\n\
             check_register syn_seen 0 0x10\n",
        )
        .unwrap();
        assert_eq!(cmds.len(), 7);
        assert_eq!(
            cmds[0].1,
            Command::Add {
                table: "routes".into(),
                keys: vec![("hdr.ipv4.dst".into(), Value::Prefix(0x0a00_0000, 8))],
                action: "forward".into(),
                args: vec![
                    ("dst_mac".into(), Value::Int(0x0200_0000_0001)),
                    ("port".into(), Value::Int(7))
                ],
            }
        );
        assert_eq!(
            cmds[2].1,
            Command::Packet {
                port: 1,
                bytes: vec![0, 0x11, 0x22, 0x33]
            }
        );
        let Command::Expect(Outcome::Port(7, p)) = &cmds[3].1 else {
            panic!("{:?}", cmds[3])
        };
        assert!(p.matches(&[0x00, 0xab, 0x22, 0x33]));
        assert!(!p.matches(&[0x01, 0xab, 0x22, 0x33]));
        assert!(!p.matches(&[0x00, 0xab, 0x22]));
        assert_eq!(
            cmds[6].1,
            Command::CheckRegister {
                name: "syn_seen".into(),
                index: 0,
                value: 16
            }
        );
    }

    #[test]
    fn bad_lines_name_their_line() {
        assert_eq!(
            parse("packet 1 0g").unwrap_err(),
            (1, "`0g` is not hex".to_string())
        );
        assert_eq!(parse("\n\nfrobnicate").unwrap_err().0, 3);
        assert!(parse("add t k:300.1.1.1 a()").is_err());
    }
}
