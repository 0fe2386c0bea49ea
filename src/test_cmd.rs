//! `iov test PROGRAM.iov TESTS.stf`: runs packet tests in the kernel.
//!
//! Takes: a program and a `.stf` file (see `stf.rs` and docs/stf.md).
//! Gives: the program compiled as a test build, loaded into the kernel, its tables set up as
//! the file says, every packet run with BPF_PROG_TEST_RUN, and every expectation checked
//! against what was observed: the program's recorded decision (drop, pass, reflect, or the
//! port it redirected to) and the bytes it left. As in p4c's STF, packets that come out and
//! expectations queue per destination and are matched in order, whichever comes first;
//! what is left unmatched fails. `expect drop` judges the last packet at once. Prints one line per packet and a readable
//! diff for each mismatch; exits 0 when everything matched, 1 when something did not, 2 on
//! usage, input or environment errors.

use crate::build::compile_checked;
use crate::{read_source, Color};
use iov::stf::{self, Cmp, Command, Count, Outcome, Pattern};
use iov_runtime::{Module, RunResult, VerdictAction};
use std::fmt::Write as _;
use std::path::Path;
use std::process::ExitCode;

/// What became of a packet; `errors` are the program's, by value, to name a parser's reject.
fn describe(r: &RunResult, errors: &[String]) -> String {
    match r.verdict.map(|v| (v.action, v.port, v.error)) {
        Some((VerdictAction::Drop, _, 0)) => "dropped".into(),
        Some((VerdictAction::Drop, _, iov_manifest::VERDICT_MOVE_REFUSED)) => {
            "dropped: the kernel refused to move the packet start for the deparser's headers \
             (no headroom, or at TC a packet that cannot shrink)"
                .into()
        }
        Some((VerdictAction::Drop, _, e)) => format!(
            "rejected by the parser ({}) and dropped",
            errors
                .get(e as usize)
                .map_or(format!("error {e}"), |n| format!("error.{n}"))
        ),
        Some((VerdictAction::Pass, ..)) => "passed to the kernel".into(),
        Some((VerdictAction::Reflect, ..)) => "reflected".into(),
        Some((VerdictAction::Redirect, p, _)) => format!("sent to port {p}"),
        Some((VerdictAction::Multicast, ..)) => "multicast".into(),
        Some((VerdictAction::Flood, ..)) => "flooded".into(),
        Some((VerdictAction::Other(c), ..)) => format!("decision {c}"),
        None => format!("returned {}", r.retval),
    }
}

/// Side-by-side hex rows with `^` under every differing nibble.
fn diff(expected: &Pattern, actual: &[u8]) -> String {
    let mut out = String::new();
    let exp: Vec<char> = expected
        .0
        .iter()
        .map(|n| n.map_or('*', |d| char::from_digit(u32::from(d), 16).unwrap_or('?')))
        .collect();
    let act: Vec<char> = actual
        .iter()
        .flat_map(|b| format!("{b:02x}").chars().collect::<Vec<_>>())
        .collect();
    let rows = exp.len().max(act.len()).div_ceil(32);
    for row in 0..rows {
        let (from, to) = (row * 32, (row + 1) * 32);
        let slice = |v: &[char]| -> String { v.iter().skip(from).take(to - from).collect() };
        let e = slice(&exp);
        let a = slice(&act);
        let marks: String = (from..to)
            .map(|i| match (exp.get(i), act.get(i)) {
                (Some('*'), Some(_)) => ' ',
                (Some(x), Some(y)) if x == y => ' ',
                (None, None) => ' ',
                // Past the expected bytes, without `$`: the packet may go on.
                (None, Some(_)) if !expected.1 => ' ',
                _ => '^',
            })
            .collect();
        let _ = writeln!(out, "      {:04x}  expected {e}", row * 16);
        let _ = writeln!(out, "            actual   {a}");
        if marks.contains('^') {
            let _ = writeln!(out, "                     {}", marks.trim_end());
        }
    }
    if exp.len() > act.len() || (expected.1 && exp.len() != act.len()) {
        let _ = writeln!(
            out,
            "      length: expected {}{} bytes, got {}",
            if expected.1 { "" } else { "at least " },
            exp.len() / 2,
            act.len() / 2
        );
    }
    out
}

/// p4c's `check_counter NAME($A)`: `NAME` must be the direct counter of the entry's table.
fn counter_is_the_tables(
    module: &Module,
    table: &str,
    counter: Option<&str>,
) -> Result<(), String> {
    let Some(name) = counter else { return Ok(()) };
    let t = module.table(table).map_err(|e| e.to_string())?;
    match &t.direct_counter {
        Some(d) if d.name == name || d.name.rsplit('.').next() == Some(name) => Ok(()),
        Some(d) => Err(format!(
            "table {} counts its entries in `{}`, not `{name}`",
            t.name, d.name
        )),
        None => Err(format!("table {} has no direct counter (`{name}`)", t.name)),
    }
}

/// p4c's `remove all`: deletes every entry of every table whose entries are not `const`.
fn remove_all(module: &Module) -> Result<usize, String> {
    let mut n = 0;
    for t in module.manifest().tables.iter().filter(|t| !t.entries_const) {
        n += module.clear(&t.name).map_err(|e| e.to_string())?;
    }
    Ok(n)
}

/// Nanoseconds in the largest unit that keeps them whole: `10ms`, `1500us`.
fn show_ns(ns: u64) -> String {
    for (unit, scale) in [("s", 1_000_000_000), ("ms", 1_000_000), ("us", 1_000)] {
        if ns != 0 && ns % scale == 0 {
            return format!("{}{unit}", ns / scale);
        }
    }
    format!("{ns}ns")
}

/// `expect drop`: the last run dropped its packet, or sent it to a group of no ports.
fn check_dropped(module: &Module, r: &RunResult, ingress: u32) -> Result<(), String> {
    let errors = &module.manifest().errors;
    match r.verdict.map(|v| v.action) {
        Some(VerdictAction::Drop) => Ok(()),
        Some(VerdictAction::Multicast | VerdictAction::Flood)
            if outputs(module, r, ingress).is_ok_and(|d| d.is_empty()) =>
        {
            Ok(())
        }
        _ => Err(format!(
            "expected the packet dropped, but it was {}",
            describe(r, errors)
        )),
    }
}

/// Judges a counter's `(packets, bytes)` against the expected comparisons of a `check_*`.
fn judge_counts(
    what: &str,
    (p, b): (u64, u64),
    packets: Count,
    bytes: Count,
) -> Result<Option<String>, String> {
    let holds =
        |want: Count, got: u64| want.is_none_or(|(c, x)| c.holds(u128::from(got), u128::from(x)));
    if holds(packets, p) && holds(bytes, b) {
        return Ok(None);
    }
    let show = |kind: &str, want: Count| {
        want.map_or(String::new(), |(c, x)| match c {
            Cmp::Eq => format!(" {kind} {x}"),
            c => format!(" {kind} {} {x}", c.symbol()),
        })
    };
    Err(format!(
        "{what} is packets {p}, bytes {b}; expected{}{}",
        show("packets", packets),
        show("bytes", bytes)
    ))
}

/// Where a packet came out, as an `expect` names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Dest {
    Port(u32),
    Pass,
    Reflect,
}

impl Dest {
    /// How a packet got there: `went out of port 3`.
    fn went(self) -> String {
        match self {
            Dest::Port(p) => format!("went out of port {p}"),
            Dest::Pass => "went to the kernel".into(),
            Dest::Reflect => "was reflected".into(),
        }
    }

    fn name(self) -> String {
        match self {
            Dest::Port(p) => format!("out of port {p}"),
            Dest::Pass => "passed to the kernel".into(),
            Dest::Reflect => "reflected".into(),
        }
    }
}

/// What `describe` leaves out: the ports a group's copies went out of, and a clone's.
fn copies(r: &RunResult, dests: &[Dest]) -> String {
    let Some(v) = r.verdict else {
        return String::new();
    };
    let mut out = String::new();
    if matches!(v.action, VerdictAction::Multicast | VerdictAction::Flood) {
        let ports: Vec<u32> = dests
            .iter()
            .filter_map(|d| match d {
                Dest::Port(p) => Some(*p),
                _ => None,
            })
            // `outputs` puts the clone's port last.
            .take(dests.len() - usize::from(v.clone != 0))
            .collect();
        out = format!(", out of {}", show_ports(&ports));
    }
    if v.clone != 0 {
        out += &format!(", and a copy out of port {}", v.clone);
    }
    out
}

/// Ports as a list: `2, 3, 4`, or `none`.
fn show_ports(ports: &[u32]) -> String {
    if ports.is_empty() {
        return "no ports".into();
    }
    let p: Vec<String> = ports.iter().map(u32::to_string).collect();
    format!("ports {}", p.join(", "))
}

/// Everywhere a packet that arrived on `ingress` came out: its decision's destinations (a
/// group's ports, as the group holds them now, which is what the kernel copies to: the
/// devmap at XDP, the list the program walks at TC) and the port of its `clone`.
fn outputs(module: &Module, r: &RunResult, ingress: u32) -> Result<Vec<Dest>, String> {
    let Some(v) = r.verdict else {
        return Ok(Vec::new());
    };
    let mut out = match v.action {
        VerdictAction::Redirect => vec![Dest::Port(v.port)],
        VerdictAction::Pass => vec![Dest::Pass],
        VerdictAction::Reflect => vec![Dest::Reflect],
        VerdictAction::Multicast | VerdictAction::Flood => {
            let group = module
                .manifest()
                .groups
                .get(v.port as usize)
                .ok_or_else(|| {
                    format!("the program named group {}, which it does not have", v.port)
                })?;
            // The kernel runs a packet of port 0 as from the loopback, index 1.
            let came_in = if ingress == 0 { 1 } else { ingress };
            module
                .group_ports(&group.name)
                .map_err(|e| e.to_string())?
                .into_iter()
                .filter(|p| !(v.action == VerdictAction::Flood && *p == came_in))
                .map(Dest::Port)
                .collect()
        }
        VerdictAction::Drop | VerdictAction::Other(_) => Vec::new(),
    };
    if v.clone != 0 {
        out.push(Dest::Port(v.clone));
    }
    Ok(out)
}

/// The destination and bytes of an `expect` other than `expect drop`.
fn expectation(o: &Outcome) -> (Dest, &Pattern) {
    match o {
        Outcome::Port(n, p) => (Dest::Port(*n), p),
        Outcome::Pass(p) => (Dest::Pass, p),
        Outcome::Reflect(p) => (Dest::Reflect, p),
        Outcome::Drop => unreachable!("`expect drop` judges the last packet at once"),
    }
}

/// p4c's model of a packet test: every packet that comes out joins the queue of where it
/// came out, every `expect` the queue of where it expects one, and the two are matched in
/// order, whichever line comes first. What is left unmatched at the end fails: a packet
/// that came out unexpected, or an expectation nothing met.
#[derive(Default)]
struct Queues<'c> {
    out: std::collections::BTreeMap<Dest, std::collections::VecDeque<(usize, Vec<u8>)>>,
    want: std::collections::BTreeMap<Dest, std::collections::VecDeque<(usize, Pattern)>>,
    /// The checked program, to decode frames that differ (none: hex only).
    decoder: Option<&'c iov_sema::Checked>,
}

/// `expected` against `actual` header by header, as the program's parser reads them.
fn decoded(checked: &iov_sema::Checked, expected: &Pattern, actual: &[u8]) -> String {
    let (mut data, mut given) = (Vec::new(), Vec::new());
    for pair in expected.0.chunks(2) {
        let nib = |i: usize| pair.get(i).copied().flatten();
        data.push(nib(0).unwrap_or(0) << 4 | nib(1).unwrap_or(0));
        given.push(
            if nib(0).is_some() { 0xf0 } else { 0 } | if nib(1).is_some() { 0x0f } else { 0 },
        );
    }
    let e = iov::decode::decode(checked, &data, &given);
    let a = iov::decode::decode(checked, actual, &vec![0xff; actual.len()]);
    if a.headers.is_empty() && e.headers.is_empty() {
        return String::new();
    }
    format!(
        "    decoded as the parser reads them (actual, and what was expected where it differs):\n{}",
        iov::decode::compare(&e, &a)
    )
}

impl Queues<'_> {
    fn output(&mut self, d: Dest, line: usize, data: Vec<u8>) {
        self.out.entry(d).or_default().push_back((line, data));
    }

    fn expect(&mut self, d: Dest, line: usize, p: Pattern) {
        self.want.entry(d).or_default().push_back((line, p));
    }

    /// Every pair that can be matched now: the line of the `expect`, and whether it held.
    fn settle(&mut self) -> Vec<(usize, Result<(), String>)> {
        let mut done = Vec::new();
        for (d, wants) in &mut self.want {
            let Some(outs) = self.out.get_mut(d) else {
                continue;
            };
            while !wants.is_empty() && !outs.is_empty() {
                let (expect_line, p) = wants.pop_front().expect("not empty");
                let (packet_line, data) = outs.pop_front().expect("not empty");
                let verdict = if p.matches(&data) {
                    Ok(())
                } else {
                    Err(format!(
                        "the packet of line {packet_line} {} as expected, but its bytes differ:\n{}{}",
                        d.went(),
                        diff(&p, &data),
                        self.decoder
                            .map(|c| decoded(c, &p, &data))
                            .unwrap_or_default()
                    ))
                };
                done.push((expect_line, verdict));
            }
        }
        done.sort_by_key(|(line, _)| *line);
        done
    }

    /// What nothing matched, by line.
    fn leftovers(self) -> Vec<(usize, String)> {
        let mut left = Vec::new();
        for (d, outs) in self.out {
            for (line, data) in outs {
                left.push((
                    line,
                    format!(
                        "the packet {} ({} bytes), but no `expect` matched it; a packet \
                         nothing expects must be dropped (write `expect PORT BYTES`, `expect pass` \
                         or `expect drop` for it)",
                        d.went(),
                        data.len()
                    ),
                ));
            }
        }
        for (d, wants) in self.want {
            for (line, _) in wants {
                left.push((
                    line,
                    format!("expected a packet {}, but none came", d.name()),
                ));
            }
        }
        left.sort_by_key(|(line, _)| *line);
        left
    }
}

pub fn test(program: &Path, tests: &Path, color: Color, pcap: Option<&Path>) -> ExitCode {
    let Ok(text) = read_source(tests) else {
        return ExitCode::from(2);
    };
    let commands = match stf::parse(&text) {
        Ok(c) => c,
        Err((line, msg)) => {
            eprintln!(
                "{:?}",
                miette::miette!(
                    help = "the format is described in docs/stf.md",
                    "{}:{line}: {msg}",
                    tests.display()
                )
            );
            return ExitCode::from(2);
        }
    };
    // The checked program stays: its types decode frames that differ.
    let (object, checked) = match compile_checked(
        program,
        color,
        &iov_codegen::Options {
            test_build: true,
            ..Default::default()
        },
    ) {
        Ok(o) => o,
        Err(rendered) => {
            eprint!("{rendered}");
            return ExitCode::from(if rendered.is_empty() { 2 } else { 1 });
        }
    };
    let module = match Module::load(&object) {
        Ok(m) => m,
        Err(e) => {
            eprintln!("{:?}", miette::miette!("{e}"));
            return ExitCode::from(2);
        }
    };
    let file = tests.display().to_string();
    // Packets arrive on the interface their `packet` line names: the runs happen in a
    // private network namespace with an interface at each index used (gone with the thread).
    // A group's ports must be interfaces there too (an XDP group is a devmap of devices),
    // and at TC the ports a packet is copied to (`clone`, groups), or the kernel refuses the copy.
    let tc = module.manifest().hook != iov_manifest::Hook::Xdp;
    let ports: std::collections::BTreeSet<u32> = commands
        .iter()
        .flat_map(|(_, c)| match c {
            Command::Packet { port, .. } => vec![*port],
            Command::Group {
                add: true, ports, ..
            } => ports.clone(),
            Command::Expect(Outcome::Port(port, _)) if tc => vec![*port],
            _ => Vec::new(),
        })
        .filter(|p| *p > 1)
        .collect();
    let ports: Vec<u32> = ports.into_iter().collect();
    std::thread::scope(|s| {
        s.spawn(|| {
            if !ports.is_empty() {
                if let Err(e) = iov_runtime::netns::enter_private(&ports) {
                    eprintln!("{:?}", miette::miette!("{e}"));
                    return ExitCode::from(2);
                }
            }
            let mut captures = crate::pcap::Captures::default();
            let code = run_commands(&module, &commands, &file, &mut captures, &checked);
            match pcap.map(|dir| captures.write(dir)) {
                Some(Ok(paths)) => {
                    for p in paths {
                        println!("wrote {}", p.display());
                    }
                    code
                }
                Some(Err(e)) => {
                    eprintln!("{:?}", miette::miette!("cannot write the pcap files: {e}"));
                    ExitCode::from(2)
                }
                None => code,
            }
        })
        .join()
        .expect("the test thread does not panic")
    })
}

/// The digest records the packets sent, per digest, in order, with the line of the packet.
struct Digests {
    readers: Vec<iov_runtime::Events>,
    queues: std::collections::HashMap<
        String,
        std::collections::VecDeque<(usize, iov_runtime::DigestRecord)>,
    >,
}

impl Digests {
    fn open(module: &Module) -> Result<Digests, String> {
        let readers = module
            .manifest()
            .digests
            .iter()
            .map(|d| module.events(&d.name).map_err(|e| e.to_string()))
            .collect::<Result<_, _>>()?;
        Ok(Digests {
            readers,
            queues: Default::default(),
        })
    }

    /// Takes the records a packet of `line` produced.
    fn collect(&mut self, line: usize) {
        for r in &mut self.readers {
            let name = r.digest().name.clone();
            for rec in r.by_ref() {
                self.queues
                    .entry(name.clone())
                    .or_default()
                    .push_back((line, rec));
            }
        }
    }

    /// The full name of digest `name` (given whole or by its last part).
    fn full(&self, name: &str) -> Option<String> {
        self.readers
            .iter()
            .map(|r| r.digest().name.clone())
            .find(|n| n == name || n.rsplit('.').next() == Some(name))
    }

    /// Judges `expect digest NAME fields` against the next record.
    fn expect(&mut self, name: &str, want: &[(String, u128)]) -> Result<(), String> {
        let full = self
            .full(name)
            .ok_or_else(|| format!("no digest `{name}` in this program"))?;
        let Some((line, rec)) = self.queues.get_mut(&full).and_then(|q| q.pop_front()) else {
            return Err(format!(
                "expected a record of digest {full}, but none was sent"
            ));
        };
        for (k, v) in want {
            match rec.fields.iter().find(|(n, _)| n == k) {
                None => return Err(format!("digest {full} has no field `{k}`")),
                Some((_, got)) if got != v => {
                    return Err(format!(
                        "the record of digest {full} sent by the packet of line {line} has {k} = {got:#x}, expected {v:#x}"
                    ))
                }
                Some(_) => {}
            }
        }
        Ok(())
    }

    /// Records nothing expected, of the digests the file expects at all.
    fn leftovers(&self, expected: &std::collections::HashSet<String>) -> Vec<(usize, String)> {
        let mut out = Vec::new();
        for (name, q) in &self.queues {
            if expected.contains(name) {
                for (line, rec) in q {
                    let fields: Vec<String> = rec
                        .fields
                        .iter()
                        .map(|(k, v)| format!("{k}:{v:#x}"))
                        .collect();
                    out.push((*line, format!("the packet sent a record of digest {name} ({}) that no `expect digest` matched", fields.join(" "))));
                }
            }
        }
        out.sort();
        out
    }
}

/// Runs every command of the file against `module`, printing each result; the exit code.
fn run_commands(
    module: &Module,
    commands: &[(usize, Command)],
    file: &str,
    captures: &mut crate::pcap::Captures,
    checked: &iov_sema::Checked,
) -> ExitCode {
    let mut digests = match Digests::open(module) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("{:?}", miette::miette!("{e}"));
            return ExitCode::from(2);
        }
    };
    let mut digests_expected = std::collections::HashSet::new();
    let (mut passed, mut failed) = (0usize, 0usize);
    // The last packet's run: its result, or why the kernel did not run it (then its
    // `expect` fails rather than judging the packet before it).
    let mut last: Option<(usize, Result<RunResult, String>)> = None;
    let mut last_port = 0;
    // Outputs and expectations, queued per destination and matched in order (p4c's STF).
    let mut queues = Queues {
        decoder: Some(checked),
        ..Queues::default()
    };
    for (line, cmd) in commands {
        let at = format!("{file}:{line}");
        let result: Result<Option<String>, String> = match cmd {
            Command::Control(request) => module
                .apply(request)
                .map(|()| None)
                .map_err(|e| e.to_string()),
            Command::Packet { port, bytes } => match module.run_on(bytes, *port) {
                Ok(r) => {
                    last_port = *port;
                    digests.collect(*line);
                    let dests = outputs(module, &r, *port);
                    println!(
                        "{at}: packet in on port {port} ({} bytes): {}{}",
                        bytes.len(),
                        describe(&r, &module.manifest().errors),
                        copies(&r, dests.as_deref().unwrap_or(&[]))
                    );
                    captures.arrived(*port, *line, bytes);
                    let result = dests.map(|dests| {
                        for d in dests {
                            match d {
                                Dest::Port(p) => captures.sent(p, *line, &r.data),
                                Dest::Reflect => captures.sent(*port, *line, &r.data),
                                Dest::Pass => captures.passed(*line, &r.data),
                            }
                            queues.output(d, *line, r.data.clone());
                        }
                        None
                    });
                    last = Some((*line, Ok(r)));
                    result
                }
                Err(e) => {
                    last = Some((*line, Err(e.to_string())));
                    Err(e.to_string())
                }
            },
            Command::Expect(Outcome::Drop) => match &last {
                None => Err("`expect drop` before any `packet`".into()),
                Some((_, Ok(r))) => check_dropped(module, r, last_port).map(|()| None),
                Some((packet_line, Err(_))) => Err(format!(
                    "the packet of line {packet_line} did not run (see above), so there is nothing to expect of it"
                )),
            },
            Command::Expect(outcome) => {
                let (d, pattern) = expectation(outcome);
                queues.expect(d, *line, pattern.clone());
                Ok(None)
            }
            Command::CheckCounter {
                name,
                index,
                packets,
                bytes,
            } => module
                .counter(name, *index)
                .map_err(|e| e.to_string())
                .and_then(|got| judge_counts(&format!("counter {name}[{index}]"), got, *packets, *bytes)),
            Command::CheckDirectCounter {
                table,
                keys,
                packets,
                bytes,
                counter,
            } => counter_is_the_tables(module, table, counter.as_deref())
                .and_then(|()| {
                    module
                        .keys_by_name(table, keys)
                        .and_then(|keys| module.direct_counter(table, &keys))
                        .map_err(|e| e.to_string())
                })
                .and_then(|got| {
                    judge_counts(
                        &format!("the direct counter of that entry of {table}"),
                        got,
                        *packets,
                        *bytes,
                    )
                }),
            Command::RemoveAll => remove_all(module).map(|n| Some(format!("removed {n} entries"))),
            Command::Meter { name, cell, config } => cell
                .resolve(module, name)
                .and_then(|cell| module.meter_cell_set(name, &cell, Some(config)))
                .map(|()| None)
                .map_err(|e| e.to_string()),
            Command::ExpectDigest { name, fields } => {
                if let Some(full) = digests.full(name) {
                    digests_expected.insert(full);
                }
                digests.expect(name, fields).map(|()| None)
            }
            Command::Group { name, add, ports } => if *add {
                module.group_add(name, ports)
            } else {
                module.group_del(name, ports)
            }
            .and_then(|()| module.group_ports(name))
            .map(|ports| Some(format!("group {name}: {}", show_ports(&ports))))
            .map_err(|e| e.to_string()),
            Command::AdvanceTime(ns) => module
                .clock()
                .and_then(|now| module.set_clock(now.saturating_add(*ns)))
                .and_then(|()| module.clock())
                .map(|now| Some(format!("the clock is at {}", show_ns(now))))
                .map_err(|e| e.to_string()),
            Command::CheckRegister {
                name,
                index,
                cmp,
                value,
            } => match module.register_read(name, *index) {
                Ok(v) if cmp.holds(v, *value) => Ok(None),
                Ok(v) => Err(format!(
                    "register {name}[{index}] is {v}; expected {} {value}",
                    cmp.symbol()
                )),
                Err(e) => Err(e.to_string()),
            },
        };
        for (expect_line, verdict) in queues.settle() {
            match verdict {
                Ok(()) => passed += 1,
                Err(why) => {
                    failed += 1;
                    println!("{file}:{expect_line}: FAILED: {why}");
                }
            }
        }
        match result {
            Ok(Some(msg)) => println!("{at}: {msg}"),
            Ok(None) => {
                if matches!(
                    cmd,
                    Command::Expect(Outcome::Drop)
                        | Command::CheckCounter { .. }
                        | Command::CheckDirectCounter { .. }
                        | Command::CheckRegister { .. }
                        | Command::ExpectDigest { .. }
                ) {
                    passed += 1;
                }
            }
            Err(why) => {
                failed += 1;
                println!("{at}: FAILED: {why}");
            }
        }
    }
    for (line, why) in queues.leftovers() {
        failed += 1;
        println!("{file}:{line}: FAILED: {why}");
    }
    for (line, why) in digests.leftovers(&digests_expected) {
        failed += 1;
        println!("{file}:{line}: FAILED: {why}");
    }
    println!(
        "{}: {passed} passed, {failed} failed",
        Path::new(&file).display()
    );
    if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diff_marks_differing_nibbles() {
        let p = Pattern(vec![Some(0), Some(1), None, Some(2)], true);
        let d = diff(&p, &[0x01, 0x33]);
        assert!(d.contains("expected 01*2"), "{d}");
        assert!(d.contains("actual   0133"), "{d}");
        assert!(d.contains("                        ^"), "{d}");
    }
}
