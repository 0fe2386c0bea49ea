//! Expression lowering: values are LLVM integers of their P4 width (`bit<8>` is `i8`, so
//! arithmetic wraps as P4 says), header fields are read from and written to packet memory
//! in network order, and reads of an invalid header give 0.
//!
//! Takes: checked expressions (their types from `Program::expr_types`).
//! Gives: LLVM values; assignments through `store`.

use super::bits::Place;
use super::Gen;
use crate::layout::{self, bits_of};
use inkwell::values::IntValue;
use inkwell::IntPredicate;
use iov_sema::types::Ty;
use iov_sema::Value;
use iov_syntax::ast::{self, BinOp, ExprKind, UnOp};

impl<'a, 'ctx> Gen<'a, 'ctx> {
    fn width(&self, e: &ast::Expr) -> u32 {
        match self.ty(e) {
            Ty::InfInt | Ty::Unknown => 64,
            t => bits_of(self.p, &t),
        }
    }

    pub fn expr(&mut self, e: &ast::Expr) -> IntValue<'ctx> {
        let bits = self.width(e);
        if let Some(v) = self.p.const_values.get(&e.span) {
            return self.bpf.c(bits, value_bits(v, bits));
        }
        match &e.kind {
            ExprKind::Int(l) => self.bpf.c(bits, l.value & mask(bits)),
            ExprKind::Bool(b) => self.bpf.c(1, u128::from(*b)),
            ExprKind::Ipv4(v) => self.bpf.c(32, u128::from(*v)),
            ExprKind::Ipv6(v) => self.bpf.c(128, *v),
            ExprKind::Mac(v) => self.bpf.c(48, u128::from(*v)),
            ExprKind::ErrorMember(m) => self.bpf.c(32, self.error_code(&m.name)),
            ExprKind::Name(_) | ExprKind::Member(..) => self.load_path(e, bits),
            ExprKind::Call { .. } => self.call(e).unwrap_or_else(|| self.bpf.c(bits, 0)),
            ExprKind::Unary(op, a) => {
                let v = self.expr(a);
                let v = self.fit(v, bits);
                let b = &self.bpf.b;
                match op {
                    UnOp::Not | UnOp::BitNot => b.build_not(v, "not").expect("not"),
                    UnOp::Neg => b.build_int_neg(v, "neg").expect("neg"),
                }
            }
            ExprKind::Binary(op, a, b) => self.binary(e, *op, a, b),
            ExprKind::Ternary(c, a, b) => {
                // Only the chosen arm runs: it may apply a table or call an extern.
                let cond = self.expr(c);
                let result = self.alloca(bits, "sel");
                let (yes, no, done) = (
                    self.block("sel_a"),
                    self.block("sel_b"),
                    self.block("sel_done"),
                );
                self.bpf
                    .b
                    .build_conditional_branch(cond, yes, no)
                    .expect("br");
                for (bb, arm) in [(yes, a), (no, b)] {
                    self.bpf.b.position_at_end(bb);
                    let v = self.expr(arm);
                    let v = self.fit(v, bits);
                    self.bpf.b.build_store(result, v).expect("store");
                    self.goto(done);
                }
                self.bpf.b.position_at_end(done);
                self.bpf
                    .b
                    .build_load(self.bpf.i(bits), result, "sel")
                    .expect("load")
                    .into_int_value()
            }
            ExprKind::Cast(_, inner) => {
                let v = self.expr(inner);
                let have = v.get_type().get_bit_width();
                let signed = matches!(self.ty(inner), Ty::Int(_));
                if have < bits && signed {
                    self.bpf
                        .b
                        .build_int_s_extend(v, self.bpf.i(bits), "sx")
                        .expect("sext")
                } else {
                    self.fit(v, bits)
                }
            }
            ExprKind::Slice(base, _, lo) => {
                let v = self.expr(base);
                let lo = self.const_of(lo);
                let shifted = if lo == 0 {
                    v
                } else {
                    let w = v.get_type().get_bit_width();
                    self.bpf
                        .b
                        .build_right_shift(v, self.bpf.c(w, lo), false, "sl")
                        .expect("shr")
                };
                self.fit(shifted, bits)
            }
            ExprKind::Prefix(_) | ExprKind::Index(..) | ExprKind::List(_) | ExprKind::Error => {
                self.unsupported(e.span, "this expression");
                self.bpf.c(bits, 0)
            }
        }
    }

    /// The compile-time value of a checked constant expression (as the checker computed it),
    /// wrapped to `bits` when negative.
    pub fn const_of(&mut self, e: &ast::Expr) -> u128 {
        let bits = self.width(e);
        match self
            .p
            .const_values
            .get(&e.span)
            .cloned()
            .or_else(|| self.global_const(e))
        {
            Some(v) => value_bits(&v, bits),
            None => match &e.kind {
                ExprKind::Int(l) => l.value,
                _ => {
                    self.unsupported(e.span, "a computed constant here");
                    0
                }
            },
        }
    }

    fn global_const(&self, e: &ast::Expr) -> Option<Value> {
        let def = self
            .p
            .references
            .iter()
            .find(|(u, _)| *u == e.span)
            .map(|(_, d)| *d)?;
        let id = self.consts.get(&def)?;
        self.p.consts[*id].value.clone()
    }

    fn load_path(&mut self, e: &ast::Expr, bits: u32) -> IntValue<'ctx> {
        // Constants and enum members first: they have no storage.
        if let Some(v) = self.global_const(e) {
            return match v {
                Value::Int(n) => self.bpf.c(bits, n & mask(bits)),
                Value::Neg(n) => self.bpf.c(bits, n.wrapping_neg() & mask(bits)),
                Value::Bool(b) => self.bpf.c(bits, u128::from(b)),
            };
        }
        if let ExprKind::Member(base, m) = &e.kind {
            if let Ty::TypeName(t) = self.ty(base) {
                if let Ty::Enum(en) = *t {
                    let v = self.p.enums[en]
                        .members
                        .iter()
                        .find(|x| x.0 == m.name)
                        .map_or(0, |x| x.1);
                    return self.bpf.c(bits, v);
                }
            }
            if let Ty::ApplyResult(table) = self.ty(base) {
                return self.apply_result(base, &table, &m.name);
            }
            if let Some(h) = self.header_of(base) {
                return self.read_field(h, &m.name);
            }
            if let Some(stack) = self
                .path_of(base)
                .and_then(|p| self.stacks.get(&p).cloned())
            {
                let i32t = self.bpf.ctx.i32_type();
                return match m.name.as_str() {
                    "size" => self.bpf.c(bits, stack.elems.len() as u128),
                    _ => {
                        // lastIndex
                        let next = self
                            .bpf
                            .b
                            .build_load(i32t, stack.next, "next")
                            .expect("load")
                            .into_int_value();
                        let last = self
                            .bpf
                            .b
                            .build_int_sub(next, i32t.const_int(1, false), "li")
                            .expect("sub");
                        self.fit(last, bits)
                    }
                };
            }
        }
        match self.path_of(e).and_then(|p| self.lookup_scalar(&p)) {
            Some(s) => {
                let v = self
                    .bpf
                    .b
                    .build_load(self.bpf.i(s.bits), s.slot, "v")
                    .expect("load")
                    .into_int_value();
                self.fit(v, bits)
            }
            None => {
                self.unsupported(e.span, "reading this value");
                self.bpf.c(bits, 0)
            }
        }
    }

    /// Reads a header field from the packet (0 when the header is invalid).
    fn read_field(&mut self, h: super::HeaderVar<'ctx>, field: &str) -> IntValue<'ctx> {
        let (fields, _) = layout::header_fields(self.p, h.id);
        let Some((_, f)) = fields.iter().find(|(n, _)| n == field) else {
            return self.bpf.c(32, 0);
        };
        let f = *f;
        // A phi, not a stack slot: a slot per field read makes LLVM's promotion of slots to
        // registers cost (slots x blocks), quadratic in the size of the program.
        let invalid_from = self.bpf.b.get_insert_block().expect("positioned");
        let (base, done) = self.when_valid(h);
        let v = self.load_bits(base, f.offset, f.bits, Place::Any);
        let valid_from = self.bpf.b.get_insert_block().expect("positioned");
        self.end_valid(done);
        let zero = self.bpf.i(f.bits).const_zero();
        let phi = self.bpf.b.build_phi(self.bpf.i(f.bits), "f").expect("phi");
        phi.add_incoming(&[(&v, valid_from), (&zero, invalid_from)]);
        phi.as_basic_value().into_int_value()
    }

    /// Assigns `v` to the place `lhs`.
    pub fn store(&mut self, lhs: &ast::Expr, v: IntValue<'ctx>) {
        if let ExprKind::Slice(base, hi, lo) = &lhs.kind {
            // x[hi:lo] = v  is  x = (x & ~m) | ((v << lo) & m)
            let (hi, lo) = (self.const_of(hi), self.const_of(lo));
            let old = self.expr(base);
            let w = old.get_type().get_bit_width();
            let m = mask((hi - lo + 1) as u32) << lo;
            let b = &self.bpf.b;
            let v = self.fit(v, w);
            let v = b.build_left_shift(v, self.bpf.c(w, lo), "sv").expect("shl");
            let v = b.build_and(v, self.bpf.c(w, m), "sm").expect("and");
            let keep = b
                .build_and(old, self.bpf.c(w, !m & mask(w)), "keep")
                .expect("and");
            let new = b.build_or(keep, v, "new").expect("or");
            self.store(base, new);
            return;
        }
        if let ExprKind::Member(base, m) = &lhs.kind {
            {
                if let Some(h) = self.header_of(base) {
                    let (fields, _) = layout::header_fields(self.p, h.id);
                    let Some(f) = fields.iter().find(|(n, _)| *n == m.name).map(|(_, f)| *f) else {
                        return;
                    };
                    let (base, done) = self.when_valid(h);
                    self.store_bits(base, f.offset, f.bits, v, Place::Any);
                    self.end_valid(done);
                    return;
                }
            }
        }
        match self.path_of(lhs).and_then(|p| self.lookup_scalar(&p)) {
            Some(s) => {
                let v = self.fit(v, s.bits);
                self.bpf.b.build_store(s.slot, v).expect("store");
            }
            None => self.unsupported(lhs.span, "assigning to this"),
        }
    }

    /// `a && b` and `a || b`: `b` runs only when it decides the result.
    fn short_circuit(&mut self, and: bool, a: &ast::Expr, b: &ast::Expr) -> IntValue<'ctx> {
        let x = self.expr(a);
        let result = self.alloca(1, "sc");
        self.bpf.b.build_store(result, x).expect("store");
        let (rhs, done) = (self.block("sc_rhs"), self.block("sc_done"));
        let (then, otherwise) = if and { (rhs, done) } else { (done, rhs) };
        self.bpf
            .b
            .build_conditional_branch(x, then, otherwise)
            .expect("br");
        self.bpf.b.position_at_end(rhs);
        let y = self.expr(b);
        self.bpf.b.build_store(result, y).expect("store");
        self.goto(done);
        self.bpf.b.position_at_end(done);
        self.bpf
            .b
            .build_load(self.bpf.i(1), result, "sc")
            .expect("load")
            .into_int_value()
    }

    fn binary(&mut self, e: &ast::Expr, op: BinOp, a: &ast::Expr, b: &ast::Expr) -> IntValue<'ctx> {
        if matches!(op, BinOp::And | BinOp::Or) {
            return self.short_circuit(op == BinOp::And, a, b);
        }
        let x = self.expr(a);
        let y = self.expr(b);
        let signed = matches!(self.ty(a), Ty::Int(_));
        let bits = self.width(e);
        use BinOp::*;
        match op {
            And | Or => unreachable!("short-circuited above"),
            Eq | Ne | Lt | Le | Gt | Ge => {
                let w = x
                    .get_type()
                    .get_bit_width()
                    .max(y.get_type().get_bit_width());
                let (x, y) = (self.fit(x, w), self.fit(y, w));
                let pred = match (op, signed) {
                    (Eq, _) => IntPredicate::EQ,
                    (Ne, _) => IntPredicate::NE,
                    (Lt, false) => IntPredicate::ULT,
                    (Le, false) => IntPredicate::ULE,
                    (Gt, false) => IntPredicate::UGT,
                    (Ge, false) => IntPredicate::UGE,
                    (Lt, true) => IntPredicate::SLT,
                    (Le, true) => IntPredicate::SLE,
                    (Gt, true) => IntPredicate::SGT,
                    _ => IntPredicate::SGE,
                };
                self.bpf
                    .b
                    .build_int_compare(pred, x, y, "cmp")
                    .expect("cmp")
            }
            Concat => {
                let wy = y.get_type().get_bit_width();
                let x = self.fit(x, bits);
                let y = self.fit(y, bits);
                let b = &self.bpf.b;
                let x = b
                    .build_left_shift(x, self.bpf.c(bits, u128::from(wy)), "cx")
                    .expect("shl");
                b.build_or(x, y, "cat").expect("or")
            }
            Shl | Shr => {
                let x = self.fit(x, bits);
                // Shifting by the width or more gives 0 (or the sign for signed >>).
                let wy = y.get_type().get_bit_width().max(bits).max(8);
                let y = self.fit(y, wy);
                let b = &self.bpf.b;
                let too_far = b
                    .build_int_compare(
                        IntPredicate::UGE,
                        y,
                        self.bpf.c(wy, u128::from(bits)),
                        "far",
                    )
                    .expect("cmp");
                let amount = b
                    .build_select(too_far, self.bpf.c(wy, 0), y, "amt")
                    .expect("select")
                    .into_int_value();
                let amount = self.fit(amount, bits);
                let b = &self.bpf.b;
                let shifted = if op == Shl {
                    b.build_left_shift(x, amount, "shl").expect("shl")
                } else {
                    b.build_right_shift(x, amount, signed, "shr").expect("shr")
                };
                let overflow = if op == Shr && signed {
                    b.build_right_shift(x, self.bpf.c(bits, u128::from(bits - 1)), true, "sign")
                        .expect("shr")
                } else {
                    self.bpf.c(bits, 0)
                };
                self.bpf
                    .b
                    .build_select(too_far, overflow, shifted, "sh")
                    .expect("select")
                    .into_int_value()
            }
            _ => {
                let x = self.fit(x, bits);
                let y = self.fit(y, bits);
                let b = &self.bpf.b;
                match op {
                    Add => b.build_int_add(x, y, "add").expect("add"),
                    Sub => b.build_int_sub(x, y, "sub").expect("sub"),
                    Mul => b.build_int_mul(x, y, "mul").expect("mul"),
                    Div => b.build_int_unsigned_div(x, y, "div").expect("div"),
                    Rem => b.build_int_unsigned_rem(x, y, "rem").expect("rem"),
                    BitAnd => b.build_and(x, y, "band").expect("and"),
                    BitOr => b.build_or(x, y, "bor").expect("or"),
                    BitXor => b.build_xor(x, y, "bxor").expect("xor"),
                    SatAdd | SatSub => {
                        let name = match (op, signed) {
                            (SatAdd, false) => "llvm.uadd.sat",
                            (SatAdd, true) => "llvm.sadd.sat",
                            (_, false) => "llvm.usub.sat",
                            (_, true) => "llvm.ssub.sat",
                        };
                        let f = inkwell::intrinsics::Intrinsic::find(name)
                            .and_then(|i| {
                                i.get_declaration(&self.bpf.module, &[self.bpf.i(bits).into()])
                            })
                            .expect("LLVM has saturating arithmetic");
                        b.build_call(f, &[x.into(), y.into()], "sat")
                            .expect("call")
                            .try_as_basic_value()
                            .basic()
                            .expect("a value")
                            .into_int_value()
                    }
                    _ => unreachable!("handled above"),
                }
            }
        }
    }
}

/// A compile-time value as `bits` bits (negative values in two's complement).
pub fn value_bits(v: &Value, bits: u32) -> u128 {
    match v {
        Value::Int(n) => n & mask(bits),
        Value::Neg(n) => n.wrapping_neg() & mask(bits),
        Value::Bool(b) => u128::from(*b),
    }
}

pub fn mask(bits: u32) -> u128 {
    if bits >= 128 {
        u128::MAX
    } else {
        (1u128 << bits) - 1
    }
}
