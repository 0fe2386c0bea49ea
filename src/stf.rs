//! The packet-test format (`.stf`, after p4c's): reads a test file into commands.
//!
//! Takes: the text of a `.stf` file.
//! Gives: [`Command`]s with their line numbers, or an error naming the line and what is
//! wrong. Table lines (`add`, `setdefault`, ...) are read by `control_line.rs`, exactly as
//! `iov table` reads them, and values by `values.rs`; the dialect is documented in
//! docs/stf.md.

use crate::control_line;
use crate::values::{key_pairs, literal};
use iov_runtime::{Match, Request};

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

/// Expected bytes; `None` nibbles are `*` wildcards. The flag says the bytes ended with `$`:
/// the packet must end there too. Without it, as in p4c's STF, the expected bytes are a
/// prefix of the packet (no bytes at all, p4c's `expect 2`, match any packet).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pattern(pub Vec<Option<u8>>, pub bool);

impl Pattern {
    /// Whether `bytes` matches: at least as long (exactly as long with `$`), every
    /// non-wildcard nibble equal.
    pub fn matches(&self, bytes: &[u8]) -> bool {
        let length_ok = if self.1 {
            self.0.len() == bytes.len() * 2
        } else {
            self.0.len() <= bytes.len() * 2
        };
        length_ok
            && self.0.iter().enumerate().all(|(i, n)| {
                let b = bytes[i / 2];
                let actual = if i % 2 == 0 { b >> 4 } else { b & 0xf };
                n.is_none_or(|n| n == actual)
            })
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    /// A table change: `add`, `modify`, `setdefault`, `del` or `clear` (see `control_line.rs`).
    Control(Request),
    /// `packet PORT HEX...`
    Packet { port: u32, bytes: Vec<u8> },
    /// `expect PORT HEX...`, `expect pass HEX...`, `expect reflect HEX...`, `expect drop`
    Expect(Outcome),
    /// `check_counter NAME INDEX packets N [bytes M]`
    CheckCounter {
        name: String,
        index: u32,
        packets: Count,
        bytes: Count,
    },
    /// `check_direct_counter TABLE key:value ... [packets N] [bytes M]`, or p4c's
    /// `check_counter NAME($HANDLE) ...` (then `counter` is NAME, the table's direct counter).
    CheckDirectCounter {
        table: String,
        keys: Vec<(String, Match)>,
        packets: Count,
        bytes: Count,
        counter: Option<String>,
    },
    /// p4c's `remove all`: every table's entries deleted (defaults stay).
    RemoveAll,
    /// `check_register NAME INDEX VALUE`
    CheckRegister {
        name: String,
        index: u32,
        cmp: Cmp,
        value: u128,
    },
    /// `meter NAME INDEX srtcm cir:R cbs:B ebs:B` (or `trtcm ... pir:R pbs:B`): sets a meter
    /// cell; a `direct_meter`'s cell is named by its entry's key (`meter NAME key:value ...
    /// srtcm ...`).
    Meter {
        name: String,
        cell: control_line::MeterCell,
        config: iov_runtime::MeterConfig,
    },
    /// `expect digest NAME FIELD:VALUE...`: the next record of digest NAME has these values
    /// (fields not named may hold anything).
    ExpectDigest {
        name: String,
        fields: Vec<(String, u128)>,
    },
    /// `advance_time DURATION`: moves the test clock (what `timestamp()` reads) forward, in
    /// nanoseconds.
    AdvanceTime(u64),
    /// `group NAME add PORT...`, `group NAME del PORT...`: changes a multicast group.
    Group {
        name: String,
        /// Add the ports (else remove them).
        add: bool,
        ports: Vec<u32>,
    },
}

/// A duration: a whole number with a unit, `250ns`, `10us`, `5ms`, `2s`; in nanoseconds.
pub fn duration(word: &str) -> Result<u64, String> {
    let digits = word
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(word.len());
    let (n, unit) = word.split_at(digits);
    let scale: u64 = match unit {
        "ns" => 1,
        "us" => 1_000,
        "ms" => 1_000_000,
        "s" => 1_000_000_000,
        _ => {
            return Err(format!(
                "`{word}` is not a duration (a whole number and ns, us, ms or s: `10ms`)"
            ))
        }
    };
    n.parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(scale))
        .ok_or_else(|| {
            format!("`{word}` is not a duration (a whole number and ns, us, ms or s: `10ms`)")
        })
}

fn hex(words: &[&str]) -> Result<Vec<u8>, String> {
    let digits: String = words.concat();
    if let Some(c) = digits.chars().find(|c| !c.is_ascii_hexdigit()) {
        return Err(format!("`{c}` is not a hex digit"));
    }
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
    let exact = digits.ends_with('$');
    let digits = digits.strip_suffix('$').unwrap_or(&digits);
    if digits.contains('$') {
        return Err("`$` marks the end of the expected bytes and goes last".into());
    }
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
        .map(|nibbles| Pattern(nibbles, exact))
}

/// How a `check_*` compares: iov writes `packets 3` (equal), p4c `packets == 3` and the
/// other operators.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cmp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl Cmp {
    fn parse(w: &str) -> Option<Cmp> {
        Some(match w {
            "==" => Cmp::Eq,
            "!=" => Cmp::Ne,
            "<" => Cmp::Lt,
            "<=" => Cmp::Le,
            ">" => Cmp::Gt,
            ">=" => Cmp::Ge,
            _ => return None,
        })
    }

    /// Whether `actual OP expected`.
    pub fn holds(self, actual: u128, expected: u128) -> bool {
        match self {
            Cmp::Eq => actual == expected,
            Cmp::Ne => actual != expected,
            Cmp::Lt => actual < expected,
            Cmp::Le => actual <= expected,
            Cmp::Gt => actual > expected,
            Cmp::Ge => actual >= expected,
        }
    }

    pub fn symbol(self) -> &'static str {
        match self {
            Cmp::Eq => "==",
            Cmp::Ne => "!=",
            Cmp::Lt => "<",
            Cmp::Le => "<=",
            Cmp::Gt => ">",
            Cmp::Ge => ">=",
        }
    }
}

/// An expected count: how it compares, and with what.
pub type Count = Option<(Cmp, u64)>;

/// `packets N` and `bytes M` (each with an optional operator: `packets >= 2`), each at most
/// once, in any order.
fn counts(words: &[&str]) -> Result<(Count, Count), String> {
    let (mut packets, mut bytes) = (None, None);
    let mut i = 0;
    while i < words.len() {
        let kind = words[i];
        let (cmp, at) = match words.get(i + 1).and_then(|w| Cmp::parse(w)) {
            Some(c) => (c, i + 2),
            None => (Cmp::Eq, i + 1),
        };
        let v = count(words.get(at), "count")?;
        match kind {
            "packets" => packets = Some((cmp, v)),
            "bytes" => bytes = Some((cmp, v)),
            other => return Err(format!("`{other}` should be `packets` or `bytes`")),
        }
        i = at + 1;
    }
    Ok((packets, bytes))
}

/// `NAME INDEX` (iov) or `NAME(INDEX)` (p4c) at the start of `words`: the name, the index and
/// the words after them.
fn name_index<'w>(
    words: &'w [&'w str],
    what: &str,
) -> Result<(String, u32, &'w [&'w str]), String> {
    let first = words
        .first()
        .ok_or_else(|| format!("missing {what} name"))?;
    if let Some((name, rest)) = first.split_once('(') {
        let index = rest
            .strip_suffix(')')
            .ok_or_else(|| format!("`{first}` should be `NAME(INDEX)`"))?;
        let index = count(Some(&index), "index")?;
        return Ok((name.to_string(), index, &words[1..]));
    }
    let index = count(words.get(1), "index")?;
    Ok((first.to_string(), index, words.get(2..).unwrap_or(&[])))
}

/// p4c leaves out the kind (`check_counter c(0) == 1`): packets.
fn with_packets<'w>(rest: &[&'w str]) -> Vec<&'w str> {
    if rest.first().is_some_and(|w| Cmp::parse(w).is_some()) {
        std::iter::once("packets")
            .chain(rest.iter().copied())
            .collect()
    } else {
        rest.to_vec()
    }
}

fn count<T: std::str::FromStr>(w: Option<&&str>, what: &str) -> Result<T, String> {
    w.ok_or_else(|| format!("missing {what}"))?
        .parse()
        .map_err(|_| format!("`{}` is not a valid {what}", w.unwrap_or(&"")))
}

/// `key : value` and `key: value`, as p4c's files may write them, joined into `key:value`.
/// Only a lone `:`, or a name (letters, digits, `_`, `.`, `[`, `]`) ending in `:`, is
/// joined, so addresses such as `::1` or `0a:0b` are left alone.
fn join_colons(content: &str) -> String {
    let mut out: Vec<String> = Vec::new();
    let mut glue = false;
    for w in content.split_whitespace() {
        let is_name = |n: &str| {
            !n.is_empty()
                && n.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "_.[]$".contains(c))
        };
        if glue {
            out.last_mut().expect("glue follows a word").push_str(w);
            glue = false;
        } else if w == ":" && out.last().is_some_and(|p| is_name(p)) {
            out.last_mut().expect("checked").push(':');
            glue = true;
        } else {
            out.push(w.to_string());
        }
        if let Some(name) = w.strip_suffix(':') {
            if w != ":" && is_name(name) {
                glue = true;
            }
        }
    }
    out.join(" ")
}

/// Parses a whole file; `Err((line, message))` at the first bad line.
pub fn parse(text: &str) -> Result<Vec<(usize, Command)>, (usize, String)> {
    let mut out = Vec::new();
    // p4c's entry handles: `add ... = A` names the entry, `check_counter c($A)` reads the
    // direct counter of that entry.
    let mut handles: std::collections::HashMap<String, (String, Vec<(String, Match)>)> =
        Default::default();
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        let content = raw.split('#').next().unwrap_or("").trim();
        if content.is_empty() {
            continue;
        }
        let joined = join_colons(content);
        let raw: Vec<&str> = joined.split_whitespace().collect();
        // p4c's files write keywords in either case (`PACKET`, `EXPECT`, `DROP`).
        let verb = raw[0].to_ascii_lowercase();
        let second = raw.get(1).map(|w| w.to_ascii_lowercase());
        let mut words = raw.clone();
        words[0] = &verb;
        if let Some(w) = second.as_deref() {
            if verb == "expect" && matches!(w, "drop" | "pass" | "reflect") {
                words[1] = w;
            }
        }
        let cmd = match verb.as_str() {
            "add" | "modify" | "setdefault" | "del" | "clear" => {
                let (words, handle) = match words.len() {
                    n if n >= 2 && words[n - 2] == "=" => (&words[..n - 2], Some(words[n - 1])),
                    _ => (&words[..], None),
                };
                match control_line::parse(words) {
                    Ok(control_line::Line::Change(r)) => {
                        if let (Some(h), Request::Add { table, keys, .. }) = (handle, &r) {
                            handles.insert(h.to_string(), (table.clone(), keys.clone()));
                        } else if let Some(h) = handle {
                            return Err((line, format!("`= {h}` names the entry an `add` creates; this is `{}`", words[0])));
                        }
                        Command::Control(r)
                    }
                    Ok(_) => unreachable!("these verbs are changes"),
                    Err(e) => return Err((line, e)),
                }
            }
            // p4c's `remove all`: every entry of every table goes.
            "remove" => match words.get(1).map(|w| w.to_ascii_lowercase()).as_deref() {
                Some("all") if words.len() == 2 => Command::RemoveAll,
                _ => return Err((line, "only `remove all` is read (p4c's STF removes no single entry either)".into())),
            },
            // p4c's `no_packet`: the last packet came out nowhere.
            "no_packet" => Command::Expect(Outcome::Drop),
            // p4c's `wait` lets a switch finish its packets; a test run here is over when
            // it returns, so there is nothing to wait for.
            "wait" => continue,
            "meter" => {
                let name = words.get(1).ok_or((line, "`meter` needs a meter name".to_string()))?.to_string();
                let (cell, rest) = control_line::meter_cell(&words[2.min(words.len())..]).map_err(|e| (line, e))?;
                let config = control_line::meter_setting(rest).map_err(|e| (line, e))?;
                Command::Meter { name, cell, config }
            }
            "group" => match control_line::group(&words[1..]) {
                Ok((_, control_line::GroupOp::List)) => {
                    return Err((line, "a packet test changes groups (`group NAME add PORT...`, `del`); it has nothing to list".into()))
                }
                Ok((name, control_line::GroupOp::Add(ports))) => Command::Group { name, add: true, ports },
                Ok((name, control_line::GroupOp::Del(ports))) => Command::Group { name, add: false, ports },
                Err(e) => return Err((line, e)),
            },
            "advance_time" => match (words.get(1), words.len()) {
                (Some(w), 2) => Command::AdvanceTime(duration(w).map_err(|e| (line, e))?),
                _ => return Err((line, "`advance_time` takes one duration, e.g. `advance_time 10ms`".into())),
            },
            "packet" => {
                let port = count(words.get(1), "port").map_err(|e| (line, e))?;
                let bytes = hex(&words[2..]).map_err(|e| (line, e))?;
                Command::Packet { port, bytes }
            }
            "expect" if words.get(1).is_some_and(|w| w.eq_ignore_ascii_case("digest")) => {
                let name = words.get(2).ok_or((line, "`expect digest` needs a digest name".to_string()))?.to_string();
                let mut fields = Vec::new();
                for w in &words[3..] {
                    let (k, v) = w.split_once(':').ok_or((line, format!("`{w}` is not FIELD:VALUE")))?;
                    fields.push((k.to_string(), literal(v).map_err(|e| (line, e))?));
                }
                Command::ExpectDigest { name, fields }
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
            "check_counter" if words.get(1).and_then(|w| w.split_once("($")).is_some() => {
                let (counter, rest) = words[1].split_once("($").expect("checked");
                let handle = rest.strip_suffix(')').ok_or((line, format!("`{}` should be `NAME($HANDLE)`", words[1])))?;
                let (table, keys) = handles
                    .get(handle)
                    .cloned()
                    .ok_or((line, format!("no entry was added as `= {handle}` before this line")))?;
                let (packets, bytes) = counts(with_packets(&words[2..]).as_slice()).map_err(|e| (line, e))?;
                Command::CheckDirectCounter { table, keys, packets, bytes, counter: Some(counter.to_string()) }
            }
            "check_counter" => {
                let (name, index, rest) = name_index(&words[1..], "counter").map_err(|e| (line, e))?;
                let (packets, bytes) = counts(&with_packets(rest)).map_err(|e| (line, e))?;
                Command::CheckCounter { name, index, packets, bytes }
            }
            "check_direct_counter" => {
                let table = words.get(1).ok_or((line, "missing table name".to_string()))?.to_string();
                let rest = &words[2..];
                let split = rest.iter().position(|w| !w.contains(':')).unwrap_or(rest.len());
                let keys = key_pairs(&rest[..split]).map_err(|e| (line, e))?;
                let (packets, bytes) = counts(&rest[split..]).map_err(|e| (line, e))?;
                Command::CheckDirectCounter { table, keys, packets, bytes, counter: None }
            }
            "check_register" => {
                let (name, index, rest) = name_index(&words[1..], "register").map_err(|e| (line, e))?;
                let (cmp, rest) = match rest.first().and_then(|w| Cmp::parse(w)) {
                    Some(c) => (c, &rest[1..]),
                    None => (Cmp::Eq, rest),
                };
                let word = rest.first().copied().unwrap_or("");
                let value = literal(word).map_err(|e| {
                    if word.contains("..") || word.contains("&&&") || word == "_" {
                        (line, "a register holds a number".into())
                    } else {
                        (line, e)
                    }
                })?;
                Command::CheckRegister { name, index, cmp, value }
            }
            other => return Err((line, format!("unknown command `{other}` (add, modify, setdefault, del, clear, packet, expect, check_counter, check_direct_counter, check_register, meter, advance_time, group, wait)"))),
        };
        out.push((line, cmd));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_p4c_handles_remove_all_and_no_packet() {
        let cmds = parse(
            "add t 5 k:0x0a01**** go(port:2) = A\ncheck_counter c($A) packets == 1\nremove all\nno_packet\n",
        )
        .unwrap();
        let Command::CheckDirectCounter {
            table,
            keys,
            counter,
            ..
        } = &cmds[1].1
        else {
            panic!("{:?}", cmds[1])
        };
        assert_eq!((table.as_str(), counter.as_deref()), ("t", Some("c")));
        assert_eq!(
            keys[0].1,
            Match::Ternary {
                value: 0x0a01_0000,
                mask: 0xffff_0000
            }
        );
        assert_eq!(cmds[2].1, Command::RemoveAll);
        assert_eq!(cmds[3].1, Command::Expect(Outcome::Drop));
        assert_eq!(
            parse("check_counter c($B) == 1").unwrap_err().1,
            "no entry was added as `= B` before this line"
        );
        assert!(parse("remove t k:1").is_err());
        assert!(parse("del t k:1 = A").is_err());
    }

    #[test]
    fn reads_durations_for_advance_time() {
        let cmds =
            parse("advance_time 10ms\nadvance_time 250ns\nadvance_time 2s\nadvance_time 7us\n")
                .unwrap();
        let ns: Vec<_> = cmds.iter().map(|(_, c)| c.clone()).collect();
        assert_eq!(
            ns,
            [10_000_000, 250, 2_000_000_000, 7_000].map(Command::AdvanceTime)
        );
        for bad in [
            "advance_time 10",
            "advance_time ms",
            "advance_time 1.5ms",
            "advance_time",
            "advance_time 1s 2s",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
        assert_eq!(
            parse("advance_time 10m").unwrap_err().1,
            "`10m` is not a duration (a whole number and ns, us, ms or s: `10ms`)"
        );
    }

    #[test]
    fn reads_p4c_spacing_and_wait() {
        let spaced =
            parse("add routes hdr.ipv4.dst : 10.0.0.0/8 forward(port: 3)\nwait\n").unwrap();
        let tight = parse("add routes hdr.ipv4.dst:10.0.0.0/8 forward(port:3)\n").unwrap();
        assert_eq!(spaced.len(), 1, "`wait` is accepted and does nothing");
        assert_eq!(spaced[0].1, tight[0].1);
        assert_eq!(join_colons("k: 0a:0b v ::1"), "k:0a:0b v ::1");
    }

    #[test]
    fn reads_p4c_checks_with_operators() {
        let cmds = parse(
            "check_counter c(3) packets == 1\ncheck_counter c(0) >= 2\n\
             check_counter c 1 bytes < 10 packets 1\ncheck_register r(1) != 0\ncheck_register r 2 5\n",
        )
        .unwrap();
        let counter = |i: usize| match &cmds[i].1 {
            Command::CheckCounter {
                name,
                index,
                packets,
                bytes,
            } => (name.clone(), *index, *packets, *bytes),
            other => panic!("{other:?}"),
        };
        assert_eq!(counter(0), ("c".into(), 3, Some((Cmp::Eq, 1)), None));
        assert_eq!(counter(1), ("c".into(), 0, Some((Cmp::Ge, 2)), None));
        assert_eq!(
            counter(2),
            ("c".into(), 1, Some((Cmp::Eq, 1)), Some((Cmp::Lt, 10)))
        );
        assert!(matches!(
            cmds[3].1,
            Command::CheckRegister {
                index: 1,
                cmp: Cmp::Ne,
                value: 0,
                ..
            }
        ));
        assert!(matches!(
            cmds[4].1,
            Command::CheckRegister {
                index: 2,
                cmp: Cmp::Eq,
                value: 5,
                ..
            }
        ));
        assert!(Cmp::Le.holds(2, 2) && !Cmp::Lt.holds(2, 2) && Cmp::Ne.holds(1, 2));
        let err = |text: &str| parse(text).unwrap_err().1;
        assert!(err("check_counter c(x) packets == 1").contains("not a valid index"));
        assert!(err("check_counter c(1 packets == 1").contains("NAME(INDEX)"));
    }

    #[test]
    fn expected_bytes_are_a_prefix_unless_they_end_with_a_dollar() {
        let cmds = parse("EXPECT 2 0a0b\nexpect 2 0a0b $\nExpect DROP\nexpect 3\n").unwrap();
        let Command::Expect(Outcome::Port(2, prefix)) = &cmds[0].1 else {
            panic!("{cmds:?}")
        };
        assert!(prefix.matches(&[0x0a, 0x0b]) && prefix.matches(&[0x0a, 0x0b, 0xff]));
        assert!(!prefix.matches(&[0x0a]) && !prefix.matches(&[0x0a, 0x0c, 0xff]));
        let Command::Expect(Outcome::Port(2, exact)) = &cmds[1].1 else {
            panic!("{cmds:?}")
        };
        assert!(exact.matches(&[0x0a, 0x0b]) && !exact.matches(&[0x0a, 0x0b, 0xff]));
        assert_eq!(cmds[2].1, Command::Expect(Outcome::Drop));
        let Command::Expect(Outcome::Port(3, any)) = &cmds[3].1 else {
            panic!("{cmds:?}")
        };
        assert!(any.matches(&[]) && any.matches(&[1, 2, 3]));
        assert!(parse("expect 2 0a$0b\n").is_err(), "`$` goes last");
        assert!(matches!(
            parse("PACKET 1 0a0b\n").unwrap()[0].1,
            Command::Packet { .. }
        ));
    }

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
            Command::Control(Request::Add {
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
                args: vec![("dst_mac".into(), 0x0200_0000_0001), ("port".into(), 7)],
            })
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
                cmp: Cmp::Eq,
                value: 16
            }
        );
    }

    #[test]
    fn reads_masks_ranges_any_priorities_and_direct_counters() {
        let cmds = parse(
            "add acl 10 hdr.ipv4.protocol:6&&&0xff port:1000..0x7d0 dst:10.0.0.0&&&255.0.0.0 src:_ deny()\n\
             add acl 4294967295 k:10.0.0.1..10.0.0.9 allow\n\
             add acl k:0x0800 allow\n\
             check_direct_counter acl hdr.ipv4.protocol:6&&&0xff k:_ packets 2 bytes 120\n\
             check_direct_counter MyIngress.acl k:1\n",
        )
        .unwrap();
        assert_eq!(
            cmds[0].1,
            Command::Control(Request::Add {
                table: "acl".into(),
                priority: Some(10),
                keys: vec![
                    (
                        "hdr.ipv4.protocol".into(),
                        Match::Ternary {
                            value: 6,
                            mask: 0xff
                        }
                    ),
                    (
                        "port".into(),
                        Match::Range {
                            low: 1000,
                            high: 2000
                        }
                    ),
                    (
                        "dst".into(),
                        Match::Ternary {
                            value: 0x0a00_0000,
                            mask: 0xff00_0000
                        }
                    ),
                    ("src".into(), Match::Any),
                ],
                action: "deny".into(),
                args: vec![],
            })
        );
        let Command::Control(Request::Add { priority, keys, .. }) = &cmds[1].1 else {
            panic!("{:?}", cmds[1])
        };
        assert_eq!(*priority, Some(u32::MAX));
        assert_eq!(
            keys[0].1,
            Match::Range {
                low: 0x0a00_0001,
                high: 0x0a00_0009
            }
        );
        assert!(matches!(
            &cmds[2].1,
            Command::Control(Request::Add { priority: None, .. })
        ));
        assert_eq!(
            cmds[3].1,
            Command::CheckDirectCounter {
                table: "acl".into(),
                keys: vec![
                    (
                        "hdr.ipv4.protocol".into(),
                        Match::Ternary {
                            value: 6,
                            mask: 0xff
                        }
                    ),
                    ("k".into(), Match::Any),
                ],
                packets: Some((Cmp::Eq, 2)),
                bytes: Some((Cmp::Eq, 120)),
                counter: None,
            }
        );
        assert_eq!(
            cmds[4].1,
            Command::CheckDirectCounter {
                table: "MyIngress.acl".into(),
                keys: vec![("k".into(), Match::Exact(1))],
                packets: None,
                bytes: None,
                counter: None,
            }
        );
    }

    #[test]
    fn bad_masks_ranges_priorities_and_counts_are_refused() {
        let err = |text: &str| parse(text).unwrap_err().1;
        assert!(err("add t k:1&&&10.0.0.0/8 a()").contains("is not a value"));
        assert!(err("add t k:1..x a()").contains("`x` in `1..x`"));
        assert!(err("add t 4294967296 k:1 a()").contains("larger than 4294967295"));
        assert!(err("add t k:1 a(x:_)").contains("masks, ranges and `_` are for keys"));
        assert!(err("add t k:1 a(x:1..2)").contains("argument `x`"));
        assert!(err("check_direct_counter t k:1 packets").contains("missing count"));
        assert!(err("check_direct_counter t k:1 frames 2").contains("`frames`"));
        assert!(err("check_direct_counter").contains("missing table name"));
        assert!(err("check_register r 0 1..2").contains("holds a number"));
    }

    #[test]
    fn bad_lines_name_their_line() {
        assert_eq!(
            parse("packet 1 0g").unwrap_err(),
            (1, "`g` is not a hex digit".to_string())
        );
        assert_eq!(parse("\n\nfrobnicate").unwrap_err().0, 3);
        assert!(parse("add t k:300.1.1.1 a()").is_err());
    }
}
