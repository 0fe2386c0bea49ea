//! Header stacks shifted in place: `push_front(k)` and `pop_front(k)`.
//!
//! Takes: a stack whose elements the deparser plan put in scratch (sema records a shifted
//! stack as one whose validity changes), and a constant count.
//! Gives: the shift as P4 defines it. Each element's offset slot and its scratch bytes move
//! `k` places (towards the end for `push_front`, the front for `pop_front`); the `k`
//! elements left behind become invalid; the next index moves by `k` within `0..=size`.
//! An element keeps the packet offset it came from, so the deparser still sees where each
//! header lay, and the packet changes only when the deparser writes it.

use super::{Gen, HeaderVar, NOT_VALID};
use inkwell::IntPredicate;
use iov_diagnostics::Span;
use iov_syntax::ast;

impl<'a, 'ctx> Gen<'a, 'ctx> {
    /// `stack.push_front(count)` (`push`) or `stack.pop_front(count)`.
    pub fn shift_stack(&mut self, obj: &ast::Expr, count: &ast::Expr, push: bool, span: Span) {
        let stack = self.path_of(obj).and_then(|p| self.stacks.get(&p).cloned());
        let Some(stack) = stack.filter(|s| s.scratch.is_some()) else {
            self.unsupported(span, "shifting this header stack");
            return;
        };
        let k = usize::try_from(self.const_of(count)).unwrap_or(usize::MAX);
        let n = stack.elems.len();
        let shift = k.min(n);
        // Sources are read before they are overwritten: from the end for a push, from the
        // front for a pop.
        let moves: Vec<(usize, usize)> = if push {
            (shift..n).rev().map(|i| (i - shift, i)).collect()
        } else {
            (0..n - shift).map(|i| (i + shift, i)).collect()
        };
        for (from, to) in moves {
            self.move_element(stack.elems[from], stack.elems[to]);
        }
        let cleared = if push { 0..shift } else { n - shift..n };
        for i in cleared {
            self.set_offset(stack.elems[i], self.bpf.c(64, u128::from(NOT_VALID)));
        }
        // A stack of a local struct variable is no part of the packet.
        if shift > 0 && !stack.elems.iter().any(|e| e.local) {
            self.mark_changed(self.bpf.c(1, 1));
        }
        // nextIndex: min(next + k, size) after a push, max(next - k, 0) after a pop.
        let b = &self.bpf.b;
        let i32t = self.bpf.ctx.i32_type();
        let next = b
            .build_load(i32t, stack.next, "next")
            .expect("load")
            .into_int_value();
        let kk = i32t.const_int(shift as u64, false);
        let moved = if push {
            let up = b.build_int_add(next, kk, "up").expect("add");
            let size = i32t.const_int(n as u64, false);
            let over = b
                .build_int_compare(IntPredicate::UGT, up, size, "over")
                .expect("cmp");
            b.build_select(over, size, up, "nx").expect("select")
        } else {
            let down = b.build_int_sub(next, kk, "down").expect("sub");
            let under = b
                .build_int_compare(IntPredicate::ULT, next, kk, "under")
                .expect("cmp");
            b.build_select(under, i32t.const_zero(), down, "nx")
                .expect("select")
        };
        b.build_store(stack.next, moved).expect("store");
    }

    /// Element `from` becomes element `to`: its bytes and its offset slot.
    fn move_element(&self, from: HeaderVar<'ctx>, to: HeaderVar<'ctx>) {
        let (src, dst) = (
            self.scratch_base(from)
                .expect("a shifted stack is held in scratch"),
            self.scratch_base(to)
                .expect("a shifted stack is held in scratch"),
        );
        self.copy_bytes(dst, src, to.size);
        self.set_offset(to, self.offset_of(from));
    }
}
