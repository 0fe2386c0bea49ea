//! Random well-typed programs, built and loaded in the kernel: the property behind "the
//! verifier never surprises the user".
//!
//! A seeded generator writes whole programs: headers of odd widths, parsers with selects,
//! `verify`, constant and run-time `advance`, header stacks filled in loops; controls with
//! exact, lpm, ternary, range and optional tables of every width, actions with parameters,
//! counters, registers, nested `if`s over arithmetic and comparisons, decisions; at XDP or
//! TC ingress. Every program must check clean (else the generator or the checker is wrong),
//! then either build or be refused with E0700 or E0702 (too much stack) only, and every
//! program that builds must pass the verifier and run on random frames. The counts are
//! printed.
//!
//! `IOV_GENERATED=N` runs N programs instead of the default, for a longer hunt;
//! `IOV_GENERATED_SEED=S` starts elsewhere; `IOV_GENERATED_WIDE=1` hunts with wide keys and
//! large tables searched by masks (see [`wide`]). Loading needs root; without it only the front
//! end and code generation run (and CI=true fails, as everywhere).

use std::fmt::Write as _;

#[path = "common/rng.rs"]
mod rng;
use rng::Rng;

const WIDTHS: &[u32] = &[
    1, 2, 3, 4, 5, 7, 8, 8, 9, 12, 13, 16, 16, 17, 24, 31, 32, 32, 33, 48, 63, 64,
];

/// A literal of `bits` bits.
fn literal(rng: &mut Rng, bits: u32) -> String {
    let v = if bits >= 64 {
        rng.next()
    } else {
        rng.next() & ((1u64 << bits) - 1)
    };
    match rng.below(3) {
        0 => format!("{v}"),
        _ => format!("0x{v:x}"),
    }
}

#[derive(Clone)]
struct Field {
    path: String,
    bits: u32,
}

struct Gen {
    rng: Rng,
    /// The wide hunt's choices (see [`wide`]).
    wide: bool,
    /// Header fields readable and writable in the control: `hdr.h0.f1` with its width.
    fields: Vec<Field>,
    /// Extra values in scope (action parameters, locals).
    values: Vec<Field>,
    counters: Vec<(String, u32)>,
    registers: Vec<(String, u32, u32)>,
    locals: usize,
}

impl Gen {
    /// An expression of type `bit<bits>`.
    fn expr(&mut self, bits: u32, depth: u32) -> String {
        let same: Vec<Field> = self
            .fields
            .iter()
            .chain(&self.values)
            .filter(|f| f.bits == bits)
            .cloned()
            .collect();
        let choice = if depth == 0 {
            self.rng.below(3)
        } else {
            self.rng.below(8)
        };
        match choice {
            0 => literal(&mut self.rng, bits),
            1 if !same.is_empty() => self.rng.pick(&same).path.clone(),
            1 | 2 => {
                let all: Vec<Field> = self.fields.iter().chain(&self.values).cloned().collect();
                let f = self.rng.pick(&all).clone();
                format!("((bit<{bits}>) {})", f.path)
            }
            3 | 4 => {
                // Wider than 64 bits, only bitwise operators exist.
                let ops: &[&str] = if bits > 64 {
                    &["&", "|", "^"]
                } else {
                    &["+", "-", "&", "|", "^", "|+|", "|-|"]
                };
                let op = *self.rng.pick(ops);
                let (a, b) = (self.operand(bits, depth - 1), self.expr(bits, depth - 1));
                format!("({a} {op} {b})")
            }
            5 if bits <= 64 => {
                let k = self.rng.below(bits as usize);
                let op = *self.rng.pick(&["<<", ">>"]);
                format!("({} {op} {k})", self.operand(bits, depth - 1))
            }
            6 => {
                let c = self.cond(depth - 1);
                let (a, b) = (self.expr(bits, depth - 1), self.expr(bits, depth - 1));
                format!("({c} ? {a} : {b})")
            }
            _ => format!("(~{})", self.operand(bits, depth - 1)),
        }
    }

    /// An expression of type `bit<bits>` that is not a bare literal (whose arithmetic would
    /// fold as an untyped constant).
    fn operand(&mut self, bits: u32, depth: u32) -> String {
        loop {
            let e = self.expr(bits, depth);
            if !e.starts_with(|c: char| c.is_ascii_digit()) {
                return e;
            }
        }
    }

    fn cond(&mut self, depth: u32) -> String {
        let choice = if depth == 0 {
            self.rng.below(2)
        } else {
            self.rng.below(5)
        };
        match choice {
            0 => {
                let hs: Vec<String> = self
                    .fields
                    .iter()
                    .map(|f| f.path.rsplit_once('.').unwrap().0.to_string())
                    .collect();
                format!("{}.isValid()", self.rng.pick(&hs))
            }
            1 | 2 => {
                let bits = *self.rng.pick(WIDTHS);
                let op = *self.rng.pick(&["==", "!=", "<", "<=", ">", ">="]);
                let d = depth.saturating_sub(1);
                format!("({} {op} {})", self.operand(bits, d), self.expr(bits, d))
            }
            3 => {
                let op = *self.rng.pick(&["&&", "||"]);
                format!("({} {op} {})", self.cond(depth - 1), self.cond(depth - 1))
            }
            _ => format!("!{}", self.cond(depth - 1)),
        }
    }

    /// Statements for an action body or the apply block (`in_apply`: tables may be applied
    /// and decisions returned).
    fn stmts(
        &mut self,
        out: &mut String,
        indent: usize,
        n: usize,
        tables: &mut Vec<String>,
        depth: u32,
    ) {
        // Locals declared here go out of scope at the end of the block.
        let scope = self.values.len();
        self.block(out, indent, n, tables, depth);
        self.values.truncate(scope);
    }

    fn block(
        &mut self,
        out: &mut String,
        indent: usize,
        n: usize,
        tables: &mut Vec<String>,
        depth: u32,
    ) {
        let pad = " ".repeat(indent);
        for _ in 0..n {
            match self.rng.below(10) {
                0..=3 => {
                    let f = self.rng.pick(&self.fields.clone()).clone();
                    let e = self.expr(f.bits, 2);
                    let _ = writeln!(out, "{pad}{} = {e};", f.path);
                }
                4 if depth > 0 => {
                    let c = self.cond(2);
                    let _ = writeln!(out, "{pad}if ({c}) {{");
                    let k = 1 + self.rng.below(3);
                    self.stmts(out, indent + 4, k, tables, depth - 1);
                    if self.rng.chance(50) {
                        let _ = writeln!(out, "{pad}}} else {{");
                        self.stmts(out, indent + 4, 1, tables, depth - 1);
                    }
                    let _ = writeln!(out, "{pad}}}");
                }
                5 if !self.counters.is_empty() => {
                    let (c, _) = self.rng.pick(&self.counters.clone()).clone();
                    let i = self.expr(32, 1);
                    let _ = writeln!(out, "{pad}{c}.count({i});");
                }
                6 if !self.registers.is_empty() => {
                    let (r, _, bits) = self.rng.pick(&self.registers.clone()).clone();
                    let i = self.expr(32, 1);
                    if self.rng.chance(50) {
                        let v = self.expr(bits, 1);
                        let op = *self.rng.pick(&["write", "add"]);
                        let _ = writeln!(out, "{pad}{r}.{op}({i}, {v});");
                    } else {
                        let name = format!("l{}", self.locals);
                        self.locals += 1;
                        let _ = writeln!(out, "{pad}bit<{bits}> {name} = {r}.read({i});");
                        self.values.push(Field { path: name, bits });
                    }
                }
                7 if !tables.is_empty() => {
                    // A table is applied once at most.
                    let t = tables.remove(self.rng.below(tables.len()));
                    let _ = writeln!(out, "{pad}{t}.apply();");
                }
                8 => {
                    let d = *self.rng.pick(&["drop();", "pass();", "send_to_port(1);"]);
                    let _ = writeln!(out, "{pad}{d}");
                }
                _ => {
                    let bits = *self.rng.pick(WIDTHS);
                    let name = format!("l{}", self.locals);
                    self.locals += 1;
                    let e = self.expr(bits, 2);
                    let _ = writeln!(out, "{pad}bit<{bits}> {name} = {e};");
                    self.values.push(Field { path: name, bits });
                }
            }
        }
    }
}

/// One random program, and whether it is for TC.
/// `IOV_GENERATED_WIDE=1`: the wide hunt (tables of up to 12 keys, tables searched by masks
/// of up to 4,096 entries and a chosen `masks`), which finds what the default run, kept
/// stable for the suite, does not.
fn wide() -> bool {
    std::env::var("IOV_GENERATED_WIDE").as_deref() == Ok("1")
}

fn program(seed: u64, wide: bool) -> String {
    let mut g = Gen {
        rng: Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1),
        wide,
        fields: Vec::new(),
        values: Vec::new(),
        counters: Vec::new(),
        registers: Vec::new(),
        locals: 0,
    };
    let mut s = String::from("import std.net.ethernet_t;\n\n");
    // Header types.
    let n_headers = 1 + g.rng.below(3);
    let mut layouts = Vec::new();
    for h in 0..n_headers {
        let n_fields = 1 + g.rng.below(6);
        let mut widths: Vec<u32> = (0..n_fields).map(|_| *g.rng.pick(WIDTHS)).collect();
        if g.rng.chance(5) {
            widths.push(128);
        }
        let total: u32 = widths.iter().sum();
        if total % 8 != 0 {
            widths.push(8 - total % 8);
        }
        let _ = writeln!(s, "header g{h}_t {{");
        for (i, w) in widths.iter().enumerate() {
            let _ = writeln!(s, "    bit<{w}> f{i};");
        }
        s.push_str("}\n");
        layouts.push(widths);
    }
    let stack = g
        .rng
        .chance(40)
        .then(|| (g.rng.below(n_headers), 1 + g.rng.below(8)));
    s.push_str("\nstruct headers_t {\n    ethernet_t eth;\n");
    for h in 0..n_headers {
        let _ = writeln!(s, "    g{h}_t h{h};");
    }
    if let Some((t, n)) = stack {
        let _ = writeln!(s, "    g{t}_t[{n}] st;");
    }
    s.push_str("}\n\n");
    for (h, widths) in layouts.iter().enumerate() {
        for (i, w) in widths.iter().enumerate() {
            g.fields.push(Field {
                path: format!("hdr.h{h}.f{i}"),
                bits: *w,
            });
        }
    }
    if let Some((t, n)) = stack {
        for i in 0..n.min(2) {
            for (j, w) in layouts[t].iter().enumerate() {
                g.fields.push(Field {
                    path: format!("hdr.st[{i}].f{j}"),
                    bits: *w,
                });
            }
        }
    }

    // Parser.
    s.push_str("parser P(packet_in pkt, out headers_t hdr) {\n");
    s.push_str("    state start {\n        pkt.extract(hdr.eth);\n        transition select(hdr.eth.ether_type) { 0x88b5: s0; default: accept; }\n    }\n");
    for (h, layout) in layouts.iter().enumerate() {
        let _ = writeln!(s, "    state s{h} {{\n        pkt.extract(hdr.h{h});");
        let small: Vec<usize> = (0..layout.len()).filter(|&i| layout[i] <= 8).collect();
        if g.rng.chance(20) {
            let _ = writeln!(s, "        pkt.advance({});", 8 * (1 + g.rng.below(4)));
        } else if g.rng.chance(20) && !small.is_empty() {
            let f = g.rng.pick(&small);
            let _ = writeln!(s, "        pkt.advance((bit<32>) hdr.h{h}.f{f} * 8);");
        }
        if g.rng.chance(20) {
            let f = g.rng.below(layout.len());
            let _ = writeln!(
                s,
                "        verify(hdr.h{h}.f{f} != {}, error.NoMatch);",
                literal(&mut g.rng, layout[f])
            );
        }
        let next = if h + 1 < n_headers {
            format!("s{}", h + 1)
        } else if stack.is_some() {
            "stl".into()
        } else {
            "accept".into()
        };
        if g.rng.chance(60) {
            let f = g.rng.below(layout.len());
            let w = layout[f];
            let _ = writeln!(
                s,
                "        transition select(hdr.h{h}.f{f}) {{ {}: accept; default: {next}; }}\n    }}",
                literal(&mut g.rng, w)
            );
        } else {
            let _ = writeln!(s, "        transition {next};\n    }}");
        }
    }
    if let Some((t, _)) = stack {
        let w = layouts[t][0];
        let _ = writeln!(
            s,
            "    state stl {{\n        pkt.extract(hdr.st.next);\n        transition select(hdr.st.last.f0) {{ {}: stl; default: accept; }}\n    }}",
            literal(&mut g.rng, w.min(2))
        );
    }
    s.push_str("}\n\n");

    // Control.
    s.push_str("control C(inout headers_t hdr, inout std_meta_t meta) {\n");
    for c in 0..g.rng.below(3) {
        let size = 1 + g.rng.below(1024);
        let kind = *g.rng.pick(&["packets", "bytes", "packets_and_bytes"]);
        let _ = writeln!(s, "    counter({size}, CounterType.{kind}) c{c};");
        g.counters.push((format!("c{c}"), size as u32));
    }
    for r in 0..g.rng.below(3) {
        let size = 1 + g.rng.below(256);
        let bits = *g.rng.pick(&[8, 16, 32, 64]);
        let _ = writeln!(s, "    register<bit<{bits}>>({size}) r{r};");
        g.registers.push((format!("r{r}"), size as u32, bits));
    }
    let n_actions = 1 + g.rng.below(3);
    let mut actions = Vec::new();
    for a in 0..n_actions {
        let params: Vec<u32> = (0..g.rng.below(3)).map(|_| *g.rng.pick(WIDTHS)).collect();
        let list: Vec<String> = params
            .iter()
            .enumerate()
            .map(|(i, w)| format!("bit<{w}> p{i}"))
            .collect();
        let _ = writeln!(s, "    action a{a}({}) {{", list.join(", "));
        let saved = g.values.len();
        for (i, w) in params.iter().enumerate() {
            g.values.push(Field {
                path: format!("p{i}"),
                bits: *w,
            });
        }
        let mut body = String::new();
        let n = 1 + g.rng.below(3);
        g.stmts(&mut body, 8, n, &mut Vec::new(), 1);
        s.push_str(&body);
        s.push_str("    }\n");
        g.values.truncate(saved);
        actions.push((format!("a{a}"), params));
    }
    let mut tables = Vec::new();
    let mut scanned = 0;
    for t in 0..g.rng.below(3) {
        // Mostly a few keys; in the wide hunt one table in eight has up to 12 (many words
        // to mask and compare).
        let n_keys = if g.wide && g.rng.chance(12) {
            1 + g.rng.below(12)
        } else {
            1 + g.rng.below(3)
        };
        let mut keys = Vec::new();
        let mut has_lpm = false;
        let mut is_scanned = false;
        let mut has_range = false;
        let mut scanned_kind = false;
        for _ in 0..n_keys {
            let f = g.rng.pick(&g.fields.clone()).clone();
            let mut kind = *g
                .rng
                .pick(&["exact", "exact", "lpm", "ternary", "range", "optional"]);
            if kind == "lpm" && has_lpm {
                kind = "exact";
            }
            has_lpm |= kind == "lpm";
            // (The default run counts a key it then drops as a duplicate, as it always has:
            // its programs stay the ones earlier sessions ran.)
            scanned_kind |= matches!(kind, "ternary" | "range" | "optional");
            if !keys.iter().any(|(p, _): &(String, &str)| *p == f.path) {
                is_scanned |= matches!(kind, "ternary" | "range" | "optional");
                has_range |= kind == "range";
                keys.push((f.path, kind));
            }
        }
        // Range tables are scanned slot by slot (1,024 slots in all); ternary and optional
        // ones are searched by masks: in the default run small, as range tables are; in the
        // wide hunt as large as exact ones, some given a `masks` of their own.
        let small = if g.wide { has_range } else { scanned_kind };
        let size = if small {
            1 + g.rng.below(64)
        } else {
            1 + g.rng.below(4096)
        };
        if small {
            scanned += size;
            if scanned > 1024 {
                continue;
            }
        }
        let masks = (g.wide && is_scanned && !has_range && g.rng.chance(30))
            .then(|| 1 + g.rng.below(64.min(size)));
        let _ = writeln!(s, "    table t{t} {{\n        key = {{");
        for (p, k) in &keys {
            let _ = writeln!(s, "            {p}: {k};");
        }
        let names: Vec<&str> = actions.iter().map(|(n, _)| n.as_str()).collect();
        let _ = writeln!(
            s,
            "        }}\n        actions = {{ {}; NoAction; }}",
            names.join("; ")
        );
        if g.rng.chance(50) {
            let (a, params) = g.rng.pick(&actions).clone();
            let args: Vec<String> = params.iter().map(|w| literal(&mut g.rng, *w)).collect();
            let _ = writeln!(s, "        default_action = {a}({});", args.join(", "));
        }
        if let Some(m) = masks {
            let _ = writeln!(s, "        masks = {m};");
        }
        let _ = writeln!(s, "        size = {size};\n    }}");
        tables.push(format!("t{t}"));
    }
    s.push_str("    apply {\n");
    let mut body = String::new();
    let n = 2 + g.rng.below(8);
    g.stmts(&mut body, 8, n, &mut tables.clone(), 2);
    s.push_str(&body);
    s.push_str("    }\n}\n\n");

    // Deparser and entry.
    s.push_str("deparser D(packet_out pkt, inout headers_t hdr) {\n    apply {\n        pkt.emit(hdr.eth);\n");
    for h in 0..n_headers {
        let _ = writeln!(s, "        pkt.emit(hdr.h{h});");
    }
    if stack.is_some() {
        s.push_str("        pkt.emit(hdr.st);\n");
    }
    s.push_str("    }\n}\n\n");
    let hook = if g.rng.chance(30) {
        "tc_ingress"
    } else {
        "xdp"
    };
    let _ = writeln!(s, "{hook}(P(), C(), D()) main;");
    s
}

fn privileged() -> bool {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } == 0 {
        return true;
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "the generated-program test needs root to load programs, and CI must run it"
    );
    eprintln!("note: not root; generated programs are checked and built but not loaded");
    false
}

#[test]
fn random_well_typed_programs_check_build_and_pass_the_verifier() {
    let count: u64 = std::env::var("IOV_GENERATED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(300);
    let first: u64 = std::env::var("IOV_GENERATED_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1);
    let load = privileged();
    let (mut built, mut refused, mut loaded, mut runs) = (0, 0, 0, 0);
    let mut failures = Vec::new();
    // Seeds past the default run that once failed, run every time (with the hunt they came
    // from): 808 kept a header's validity in a 32-bit spill sharing a stack word with a
    // counter's key, which the verifier then forgot (fixed by `alloca_key32`); wide 52 read
    // a header through the register a failed bounds check had marked as past the packet
    // (fixed by `Bpf::check_end`).
    let regressions: &[(u64, bool)] = &[(808, false), (52, true)];
    let seeds: Vec<(u64, bool)> = (first..first + count)
        .map(|s| (s, wide()))
        .chain(
            regressions
                .iter()
                .copied()
                .filter(|&(s, w)| !(w == wide() && (first..first + count).contains(&s))),
        )
        .collect();
    let count = seeds.len() as u64;
    for (number, wide) in seeds {
        let text = program(number, wide);
        // How a failure names the program, so that it can be run again alone.
        let seed = if wide {
            format!("wide {number}")
        } else {
            number.to_string()
        };
        let seed = seed.as_str();
        let name = format!("generated_{number}.iov");
        let checked = iov_sema::check(&name, &text, &mut iov::loader::FsLoader::new(vec![]));
        if let Some(d) = checked.diagnostics.first() {
            failures.push(format!(
                "seed {seed}: does not check: {:?} {}\n{text}",
                d.code, d.message
            ));
            continue;
        }
        let built_or = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            iov_codegen::build(&checked, "generated", &Default::default())
        }));
        let Ok(result) = built_or else {
            failures.push(format!("seed {seed}: code generation panicked\n{text}"));
            continue;
        };
        let out = match result {
            Ok(out) => out,
            Err(diags) => {
                if diags
                    .iter()
                    .all(|d| matches!(format!("{:?}", d.code).as_str(), "E0700" | "E0702"))
                {
                    refused += 1;
                } else {
                    let d = &diags[0];
                    failures.push(format!(
                        "seed {seed}: build failed: {:?} {}\n{text}",
                        d.code, d.message
                    ));
                }
                continue;
            }
        };
        built += 1;
        if !load {
            continue;
        }
        let module = match iov_runtime::Module::load(&out.object) {
            Ok(m) => m,
            Err(e) => {
                // The verifier's reason is at the end of its log.
                let full = e.to_string();
                let lines: Vec<&str> = full.lines().collect();
                let shown = lines[lines.len().saturating_sub(12)..].join("\n");
                failures.push(format!("seed {seed}: not loaded: {shown}\n{text}"));
                continue;
            }
        };
        loaded += 1;
        let mut rng = Rng(number | 1);
        for _ in 0..8 {
            let len = 14 + rng.below(300);
            let mut frame: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
            frame[12] = 0x88;
            frame[13] = 0xb5;
            match module.run(&frame) {
                Ok(_) => runs += 1,
                // The kernel refuses some TC test frames itself (EINVAL): not ours.
                Err(iov_runtime::Error::Syscall {
                    call: "BPF_PROG_TEST_RUN",
                    source,
                    ..
                }) if source.raw_os_error() == Some(libc::EINVAL) => {}
                Err(e) => failures.push(format!("seed {seed}: run failed: {e}\n{text}")),
            }
        }
    }
    eprintln!(
        "{count} generated programs: {built} built ({refused} refused with E0700 or E0702), \
         {loaded} passed the verifier, {runs} test runs"
    );
    let mut kinds: Vec<String> = failures
        .iter()
        .map(|f| {
            f.lines()
                .next()
                .unwrap_or("")
                .split_once(": ")
                .map_or("", |x| x.1)
                .to_string()
        })
        .collect();
    kinds.sort();
    kinds.dedup();
    let seeds: Vec<&str> = failures
        .iter()
        .filter_map(|f| f.split(':').next())
        .collect();
    eprintln!("failing: {}", seeds.join(", "));
    for k in &kinds {
        eprintln!("failure kind: {}", k.chars().take(200).collect::<String>());
    }
    assert!(
        failures.is_empty(),
        "{} of {count} generated programs failed; the first:\n{}",
        failures.len(),
        failures[0]
    );
}
