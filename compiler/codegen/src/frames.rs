//! Stack frames: how many bytes of stack each BPF function of an object uses, read back from
//! the object, and the budget the kernel verifier applies along a call chain.
//!
//! Takes: the ELF object LLVM wrote (read with the `object` crate, as the runtime reads it).
//! Gives: [`frames`], every function symbol with its section and stack depth, and
//! [`chain_depth`], the depth the verifier charges a call chain (each frame rounded up to 32
//! bytes, as the kernel's `check_max_stack_depth` does). LLVM checks one function against
//! 512 bytes; the verifier checks a program and the functions it calls together (`bpf_loop`
//! callbacks are called functions), and would refuse a pair LLVM accepted.
//!
//! Also gives E0702, the program over the budget, in both forms: one function LLVM could not
//! fit in 512 bytes ([`over_in_llvm`], on the lines LLVM named), and a program with a called
//! function that fit alone but not together ([`over_in_chain`], on the call).
//!
//! A function's depth is the deepest stack byte it reaches, as the verifier measures it: a
//! load or store through `r10`, or through a register set to `r10` plus a constant (the
//! address of a key or buffer handed to a helper).

use iov_diagnostics::{Code, Diagnostic, FileId, SourceFile, Span};

/// The stack a program and the functions it calls may use together (`MAX_BPF_STACK`).
pub const STACK_LIMIT: u32 = 512;

const WHAT: &str = "the program needs more stack than the kernel's 512 bytes";

/// E0702 when LLVM reported a function over 512 bytes (its "stack limit is exceeded"
/// messages, each starting `file:line:col:` in `root`, the program's file `file`).
pub fn over_in_llvm(
    errors: &[String],
    entry: Span,
    (root, file): (&SourceFile, FileId),
) -> Option<Diagnostic> {
    let over: Vec<&String> = errors
        .iter()
        .filter(|e| e.contains("stack limit is exceeded"))
        .collect();
    if over.is_empty() {
        return None;
    }
    // LLVM names the places where it ran out, in no useful order: the first few, by line.
    let mut lines: Vec<u32> = over
        .iter()
        .filter_map(|e| e.split(':').nth(1)?.parse().ok())
        .collect();
    lines.sort();
    lines.dedup();
    let mut d = Diagnostic::new(Code::E0702, WHAT, entry).label("this program");
    for r in lines.into_iter().filter_map(|l| root.line_range(l)).take(3) {
        d = d.secondary(
            Span::new(file, r.start, r.end),
            "values alive here are kept on the stack",
        );
    }
    Some(d.note("locals, action parameters, keys and values alive at the same time share the kernel's 512 bytes of stack").help(
        "keep fewer values alive at once: use or store each value near where it is computed, and narrow the locals that must live long",
    ))
}

/// E0702 when a program and a function it calls (a table's search by masks) fit alone but
/// not together. `called` names each called function with the construct that calls it.
pub fn over_in_chain(object: &[u8], called: &[(String, Span)], entry: Span) -> Option<Diagnostic> {
    let frames = frames(object)?;
    let program = frames.iter().find(|f| f.section != ".text")?;
    let (callee, span) = called
        .iter()
        .filter_map(|(name, span)| Some((frames.iter().find(|f| f.name == *name)?, *span)))
        .max_by_key(|(f, _)| f.depth)?;
    let total = chain_depth(&[program, callee]);
    if total <= STACK_LIMIT {
        return None;
    }
    let (mine, theirs) = (charged(program.depth), charged(callee.depth));
    Some(
        Diagnostic::new(Code::E0702, WHAT, span)
            .label(format!(
                "this table's search by masks runs as a function of its own, with {theirs} bytes of stack"
            ))
            .secondary(entry, format!("the program itself uses {mine} bytes"))
            .note(format!(
                "the kernel counts a program and the functions it calls together, each in steps of 32 bytes: {mine} + {theirs} = {total}, over 512"
            ))
            .help("keep fewer values alive across this apply (locals, action parameters), or give the table fewer or narrower ternary, lpm and optional keys"),
    )
}

/// One function of the object.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Frame {
    pub name: String,
    /// Its section: `.text` for called functions, the hook's section for a program.
    pub section: String,
    /// Bytes of stack below the frame pointer it reaches.
    pub depth: u32,
}

/// What the verifier charges a frame of `depth` bytes.
pub fn charged(depth: u32) -> u32 {
    depth.max(1).next_multiple_of(32)
}

/// The depth the verifier charges a chain of frames.
pub fn chain_depth(frames: &[&Frame]) -> u32 {
    frames.iter().map(|f| charged(f.depth)).sum()
}

/// Every function symbol of `object` with its stack depth; `None` if the bytes are not an
/// ELF object.
pub fn frames(object: &[u8]) -> Option<Vec<Frame>> {
    use object::{Object, ObjectSection, ObjectSymbol, SymbolKind};
    let file = object::File::parse(object).ok()?;
    let mut out = Vec::new();
    for sym in file.symbols().filter(|s| s.kind() == SymbolKind::Text) {
        let section = file.section_by_index(sym.section_index()?).ok()?;
        let data = section.data().ok()?;
        let start = usize::try_from(sym.address()).ok()?;
        let size = usize::try_from(sym.size()).ok()?;
        out.push(Frame {
            name: sym.name().ok()?.to_string(),
            section: section.name().ok()?.to_string(),
            depth: depth(data.get(start..start + size)?),
        });
    }
    Some(out)
}

/// The deepest stack byte a function's instructions reach.
fn depth(code: &[u8]) -> u32 {
    const FP: u8 = 10;
    // Registers holding `r10 + offset`, by register.
    let mut alias: [Option<i64>; 11] = [None; 11];
    let mut deepest: i64 = 0;
    let mut reach = |off: i64| deepest = deepest.max(-off);
    let mut at = 0;
    while at + 8 <= code.len() {
        let op = code[at];
        let dst = usize::from(code[at + 1] & 0xf).min(10);
        let src = usize::from(code[at + 1] >> 4).min(10);
        let off = i64::from(i16::from_le_bytes([code[at + 2], code[at + 3]]));
        let imm = i64::from(i32::from_le_bytes([
            code[at + 4],
            code[at + 5],
            code[at + 6],
            code[at + 7],
        ]));
        let base = |r: usize| {
            if r == usize::from(FP) {
                Some(0)
            } else {
                alias[r]
            }
        };
        at += 8;
        match op & 7 {
            // LDX: dst = *(src + off).
            1 => {
                if let Some(b) = base(src) {
                    reach(b + off);
                }
                alias[dst] = None;
            }
            // ST and STX (and atomics): *(dst + off) = ...
            2 | 3 => {
                if let Some(b) = base(dst) {
                    reach(b + off);
                }
            }
            // ALU64: a copy of the frame pointer, moved by a constant.
            7 => match op {
                0xbf => alias[dst] = base(src),
                0x07 => alias[dst] = alias[dst].map(|b| b + imm),
                0x17 => alias[dst] = alias[dst].map(|b| b - imm),
                _ => alias[dst] = None,
            },
            // A 16-byte `ld_imm64`: skip its second half.
            0 => {
                if op == 0x18 {
                    at += 8;
                }
                alias[dst] = None;
            }
            // JMP and JMP32: a call clobbers r0-r5; branches keep what they compare.
            5 | 6 => {
                if op == 0x85 {
                    alias[..6].fill(None);
                }
            }
            // ALU (32-bit) writes its destination.
            _ => alias[dst] = None,
        }
        // An address handed on (to a helper) counts from the moment it exists: the callee
        // reads or writes at it.
        if let Some(b) = alias[dst] {
            reach(b);
        }
    }
    u32::try_from(deepest).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn insn(op: u8, dst: u8, src: u8, off: i16, imm: i32) -> Vec<u8> {
        let mut v = vec![op, dst | (src << 4)];
        v.extend(off.to_le_bytes());
        v.extend(imm.to_le_bytes());
        v
    }

    #[test]
    fn depth_counts_direct_accesses_and_addresses_taken() {
        // *(u64 *)(r10 - 16) = r1
        assert_eq!(depth(&insn(0x7b, 10, 1, -16, 0)), 16);
        // r2 = *(u32 *)(r10 - 40)
        assert_eq!(depth(&insn(0x61, 2, 10, -40, 0)), 40);
        // r2 = r10; r2 += -72; call 1
        let code = [
            insn(0xbf, 2, 10, 0, 0),
            insn(0x07, 2, 0, 0, -72),
            insn(0x85, 0, 0, 0, 1),
        ]
        .concat();
        assert_eq!(depth(&code), 72);
        // r2 = r10; r2 += -8; *(u64 *)(r2 - 96) = r1: 104 bytes deep.
        let code = [
            insn(0xbf, 2, 10, 0, 0),
            insn(0x07, 2, 0, 0, -8),
            insn(0x7b, 2, 1, -96, 0),
        ]
        .concat();
        assert_eq!(depth(&code), 104);
        // A register that stops being a stack address stops counting: r2 = r10; r2 = 5;
        // *(u64 *)(r2 - 200) = r1 is a store elsewhere.
        let code = [
            insn(0xbf, 2, 10, 0, 0),
            insn(0xb7, 2, 0, 0, 5),
            insn(0x7b, 2, 1, -200, 0),
        ]
        .concat();
        assert_eq!(depth(&code), 0);
        // ld_imm64's second half is not an instruction: its bytes could look like a store.
        let code = [insn(0x18, 1, 0, 0, 7), insn(0x7b, 10, 1, -300, 0)].concat();
        assert_eq!(depth(&code), 0);
    }

    #[test]
    fn the_verifier_charges_frames_in_32_byte_steps() {
        let f = |depth| Frame {
            name: String::new(),
            section: String::new(),
            depth,
        };
        assert_eq!(charged(0), 32);
        assert_eq!(charged(32), 32);
        assert_eq!(charged(33), 64);
        assert_eq!(chain_depth(&[&f(400), &f(130)]), 416 + 160);
    }

    #[test]
    fn not_an_object_gives_none() {
        assert_eq!(frames(b"not elf"), None);
        assert_eq!(frames(&[]), None);
    }
}
