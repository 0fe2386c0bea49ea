//! What code generation refuses for size before LLVM optimises: the budget that keeps a
//! build in milliseconds.
//!
//! Takes: the lowered program (its LLVM function, before the passes) and the entry's span.
//! Gives: E0700 on the entry when the program has more than [`MAX_IR_INSTRUCTIONS`] LLVM
//! instructions. LLVM's passes take time that grows faster than the code: 460,073
//! instructions (20,000 header-field assignments in a row) took five minutes, which no user
//! waits for, and code that large also runs far past the kernel verifier's 1,000,000 steps.
//! Also E0700 on the entry for a program of more maps than the kernel lets one program use
//! ([`MAX_MAPS`]).

use super::Gen;
use iov_diagnostics::{Code, Diagnostic, Span};

/// The largest lowered program (LLVM instructions) code generation optimises; the examples
/// take 429 (router) to 1,925 (mpls), and 3,000 `if`s in a row build under it (3.5 s).
pub const MAX_IR_INSTRUCTIONS: usize = 250_000;

/// The maps one program may use (the verifier's `MAX_USED_MAPS`): each table takes two (its
/// entries and its default action), or three searched by masks; each counter, register,
/// meter and digest one.
pub const MAX_MAPS: usize = 64;

impl<'a, 'ctx> Gen<'a, 'ctx> {
    /// Refuses a program of more maps than the kernel allows, naming the first past it.
    pub(super) fn check_maps(&mut self, entry: Span) {
        // BTF-defined maps, and one map for the `.rodata` section (the CRC tables) if any.
        let mut maps: Vec<String> = Vec::new();
        let mut rodata = false;
        for g in self.bpf.module.get_globals() {
            match g.get_section().map(|s| s.to_bytes().to_vec()).as_deref() {
                Some(b".maps") => maps.push(g.get_name().to_string_lossy().into_owned()),
                Some(b".rodata") => rodata = true,
                _ => {}
            }
        }
        if rodata {
            maps.push(".rodata".into());
        }
        if !self.diags.is_empty() || maps.len() <= MAX_MAPS {
            return;
        }
        let d = Diagnostic::new(
            Code::E0700,
            format!(
                "a program of {} maps is not supported (the kernel allows {MAX_MAPS} to one program)",
                maps.len()
            ),
            entry,
        )
        .label("this program")
        .note(format!(
            "each table is two maps (three when searched by masks), and each counter, register, meter and digest one; `{}` is map {}",
            maps[MAX_MAPS], MAX_MAPS + 1
        ))
        .help("merge tables that share a key into one, or split the program into a chain of stages (`iov load --chain`)");
        self.diags.push(d);
    }

    /// Refuses a program too large to optimise (see the module documentation).
    pub(super) fn check_size(&mut self, entry: Span) {
        let size = self.bpf.instruction_count();
        if !self.diags.is_empty() || size <= MAX_IR_INSTRUCTIONS {
            return;
        }
        let d = Diagnostic::new(
            Code::E0700,
            format!(
                "a program of {size} LLVM instructions is not supported by code generation yet \
                 (at most {MAX_IR_INSTRUCTIONS})"
            ),
            entry,
        )
        .label("this program")
        .note(
            "LLVM's optimisation takes minutes on code this large, and the kernel verifier \
             walks at most 1,000,000 instructions",
        )
        .help("move repeated work into a table, an action called from several places, or a smaller loop");
        self.diags.push(d);
    }
}
