//! What code generation refuses for size before LLVM optimises: the budget that keeps a
//! build in milliseconds.
//!
//! Takes: the lowered program (its LLVM function, before the passes) and the entry's span.
//! Gives: E0700 on the entry when the program has more than [`MAX_IR_INSTRUCTIONS`] LLVM
//! instructions. LLVM's passes take time that grows faster than the code: 460,073
//! instructions (20,000 header-field assignments in a row) took five minutes, which no user
//! waits for, and code that large also runs far past the kernel verifier's 1,000,000 steps.

use super::Gen;
use iov_diagnostics::{Code, Diagnostic, Span};

/// The largest lowered program (LLVM instructions) code generation optimises; the examples
/// take 429 (router) to 1,925 (mpls), and 3,000 `if`s in a row build under it (3.5 s).
pub const MAX_IR_INSTRUCTIONS: usize = 250_000;

impl<'a, 'ctx> Gen<'a, 'ctx> {
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
