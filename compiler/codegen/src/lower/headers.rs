//! Header access: where a header lies in the packet, whether it is valid, and the bounds
//! check that guards every read and write of its fields.
//!
//! Takes: a header instance (its offset slot, size and whether its offset is known only at
//! run time), or the expression naming one (a header, a stack element by constant or
//! run-time index, a stack's `.next`/`.last`).
//! Gives: its offset and validity as values, and [`Gen::when_valid`]'s guarded block, in
//! which the header's start is a packet pointer the verifier has seen checked.

use super::{Gen, HeaderVar, StackVar, NOT_VALID, OFFSET_MASK};
use inkwell::basic_block::BasicBlock;
use inkwell::values::{IntValue, PointerValue};
use inkwell::IntPredicate;
use iov_syntax::ast;

impl<'a, 'ctx> Gen<'a, 'ctx> {
    /// A packet offset about to be added to the packet pointer, masked when `dynamic` (see
    /// [`Gen::dynamic_cursor`]); constants need nothing.
    pub fn bounded(&self, off: IntValue<'ctx>, dynamic: bool) -> IntValue<'ctx> {
        if off.is_const() || !dynamic {
            return off;
        }
        self.bpf.mask_offset(off, OFFSET_MASK)
    }

    /// Starts code that runs only when header `h` is valid: returns the header's start in
    /// the packet and the block to finish in (see [`Gen::end_valid`]). Every access re-checks
    /// the header's bounds against `data_end`, so the verifier always sees a check right
    /// before the access, whatever LLVM did to the code between the parser and here.
    pub fn when_valid(&self, h: HeaderVar<'ctx>) -> (PointerValue<'ctx>, BasicBlock<'ctx>) {
        if let Some(base) = self.scratch_base(h) {
            let valid = self.is_valid(h);
            let body = self.block("valid");
            let done = self.block("valid_done");
            self.bpf
                .b
                .build_conditional_branch(valid, body, done)
                .expect("br");
            self.bpf.b.position_at_end(body);
            return (base, done);
        }
        let b = &self.bpf.b;
        let i64t = self.bpf.ctx.i64_type();
        let off = self.offset_of(h);
        // In a state entered with a moved cursor, every header read is masked: a header this
        // state reads may be extracted by a state lowered later.
        let dynamic = h.narrow || self.dynamic_cursor || self.dynamic_slots.contains(&h.slot);
        let off = self.bounded(off, dynamic);
        let base = self.bpf.byte_ptr(self.data, off);
        // A base at a run-time offset is a pointer of its own to the verifier (constant
        // offsets share the packet start's): the check and the access must use the same
        // register, so LLVM must not recompute it from its parts after the check.
        let base = if !dynamic {
            base
        } else {
            self.bpf.opaque_ptr(base)
        };
        let valid = if self.omit_bounds_checks {
            b.build_int_compare(
                IntPredicate::NE,
                off,
                i64t.const_int(NOT_VALID, false),
                "valid",
            )
            .expect("cmp")
        } else {
            let end = self
                .bpf
                .byte_ptr(base, i64t.const_int(u64::from(h.size), false));
            let end = self.bpf.check_end(end);
            let data_end = self.bpf.data_end();
            b.build_int_compare(IntPredicate::ULE, end, data_end, "valid")
                .expect("cmp")
        };
        let body = self.block("valid");
        let done = self.block("valid_done");
        b.build_conditional_branch(valid, body, done).expect("br");
        b.position_at_end(body);
        (base, done)
    }

    /// The header an expression names: a header field of the headers struct, a stack element
    /// by constant or run-time index, or a stack's `.next`/`.last` (chosen at run time).
    pub fn header_of(&mut self, e: &ast::Expr) -> Option<HeaderVar<'ctx>> {
        if let Some(h) = self.path_of(e).and_then(|p| self.headers.get(&p).copied()) {
            return Some(h);
        }
        // An element chosen by a run-time index (out of range: a header that is never
        // valid, so reads give 0 and writes are lost).
        if let ast::ExprKind::Index(base, i) = &e.kind {
            let stack = self.stacks.get(&self.path_of(base)?)?.clone();
            let index = self.expr(i);
            let bits = index.get_type().get_bit_width();
            let n = stack.elems.len() as u128;
            let inside = self
                .bpf
                .b
                .build_int_compare(IntPredicate::ULT, index, self.bpf.c(bits, n), "inside")
                .expect("cmp");
            let index = self.fit(index, 32);
            let index = self
                .bpf
                .b
                .build_select(inside, index, self.bpf.c(32, n), "index")
                .expect("select")
                .into_int_value();
            return Some(self.stack_element(&stack, index));
        }
        let ast::ExprKind::Member(base, m) = &e.kind else {
            return None;
        };
        let stack = self.stacks.get(&self.path_of(base)?)?.clone();
        let i32t = self.bpf.ctx.i32_type();
        let next = self
            .bpf
            .b
            .build_load(i32t, stack.next, "next")
            .expect("load")
            .into_int_value();
        let index = match m.name.as_str() {
            "next" => next,
            "last" => self
                .bpf
                .b
                .build_int_sub(next, i32t.const_int(1, false), "last")
                .expect("sub"),
            _ => return None,
        };
        Some(self.stack_element(&stack, index))
    }

    /// Element `index` of a stack (the never-valid header when out of range).
    pub fn stack_element(&self, stack: &StackVar<'ctx>, index: IntValue<'ctx>) -> HeaderVar<'ctx> {
        let i32t = self.bpf.ctx.i32_type();
        let mut slot = stack.none.slot;
        for (i, h) in stack.elems.iter().enumerate() {
            let is = self
                .bpf
                .b
                .build_int_compare(
                    IntPredicate::EQ,
                    index,
                    i32t.const_int(i as u64, false),
                    "is",
                )
                .expect("cmp");
            slot = self
                .bpf
                .b
                .build_select(is, h.slot, slot, "elem")
                .expect("select")
                .into_pointer_value();
        }
        let scratch_at = stack.scratch.map(|r| {
            let b = &self.bpf.b;
            let i64t = self.bpf.ctx.i64_type();
            let wide = b.build_int_z_extend(index, i64t, "ix").expect("zext");
            let masked = b
                .build_and(wide, self.bpf.c(64, u128::from(r.mask)), "ixm")
                .expect("and");
            let at = b
                .build_int_mul(masked, self.bpf.c(64, u128::from(r.stride)), "ixs")
                .expect("mul");
            b.build_int_add(at, self.bpf.c(64, u128::from(r.base)), "region")
                .expect("add")
        });
        HeaderVar {
            slot,
            scratch_at,
            ..stack.none
        }
    }

    /// The packet offset of header `h`, as a 64-bit value (see [`HeaderVar::narrow`]).
    pub fn offset_of(&self, h: HeaderVar<'ctx>) -> IntValue<'ctx> {
        let b = &self.bpf.b;
        let bits = if h.narrow { 32 } else { 64 };
        let off = b
            .build_load(self.bpf.i(bits), h.slot, "off")
            .expect("load")
            .into_int_value();
        if !h.narrow {
            return off;
        }
        b.build_int_z_extend(off, self.bpf.ctx.i64_type(), "off64")
            .expect("zext")
    }

    /// Sets the packet offset of header `h` (a 64-bit value).
    pub fn set_offset(&self, h: HeaderVar<'ctx>, off: IntValue<'ctx>) {
        let b = &self.bpf.b;
        let off = if h.narrow {
            b.build_int_truncate(off, self.bpf.ctx.i32_type(), "off32")
                .expect("trunc")
        } else {
            off
        };
        b.build_store(h.slot, off).expect("store");
    }

    /// `h.isValid()`.
    pub fn is_valid(&self, h: HeaderVar<'ctx>) -> IntValue<'ctx> {
        let b = &self.bpf.b;
        let i64t = self.bpf.ctx.i64_type();
        let off = self.offset_of(h);
        b.build_int_compare(
            IntPredicate::NE,
            off,
            i64t.const_int(NOT_VALID, false),
            "valid",
        )
        .expect("cmp")
    }

    /// Ends code started with [`Gen::when_valid`].
    pub fn end_valid(&self, done: BasicBlock<'ctx>) {
        self.goto(done);
        self.bpf.b.position_at_end(done);
    }
}
