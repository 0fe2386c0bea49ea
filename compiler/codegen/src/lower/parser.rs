//! Parser lowering: states become basic blocks; `extract` checks bounds against `data_end`
//! and records where the header starts; `select` compares values, masks and ranges in order;
//! `verify` and `reject` record the error and continue with the control block, whose packets
//! are dropped unless it decides otherwise.
//!
//! Takes: a parser declaration and the block the control starts at.
//! Gives: the parser's IR, ending in a branch to the control.

use super::bits::Place;
use super::Gen;
use inkwell::basic_block::BasicBlock;
use inkwell::values::{IntValue, PointerValue};
use inkwell::IntPredicate;
use iov_sema::types::Ty;
use iov_syntax::ast::{self, ExprKind, Keyset, Stmt, Transition};
use std::collections::{HashMap, HashSet};

impl<'a, 'ctx> Gen<'a, 'ctx> {
    fn set_aliases(&mut self, params: &[ast::Param]) {
        self.aliases.clear();
        for p in params {
            let root = match &p.ty {
                ast::TypeRef::Named(n, _, _) if n.name == "std_meta_t" => "M",
                ast::TypeRef::Named(n, _, _) if n.name == "packet_in" || n.name == "packet_out" => {
                    "PKT"
                }
                _ => "H",
            };
            self.aliases.insert(p.name.name.clone(), root.to_string());
        }
    }

    pub fn block_params(&mut self, params: &[ast::Param]) {
        self.set_aliases(params);
    }

    pub fn lower_parser(&mut self, p: &ast::ParserDecl, done: BasicBlock<'ctx>) {
        self.set_aliases(&p.params);
        let dynamic = dynamic_states(p);
        for local in &p.locals {
            self.lower_local(local);
        }
        let mut blocks: HashMap<String, BasicBlock<'ctx>> = HashMap::new();
        for s in &p.states {
            blocks.insert(
                s.name.name.clone(),
                self.block(&format!("state_{}", s.name.name)),
            );
        }
        let reject = self.block("reject");
        self.parser_reject = Some(reject);
        blocks.insert("accept".into(), done);
        blocks.insert("reject".into(), reject);
        self.goto(blocks["start"]);
        for s in &p.states {
            self.bpf.b.position_at_end(blocks[&s.name.name]);
            self.dynamic_cursor = dynamic.contains(s.name.name.as_str());
            self.scopes.push(HashMap::new());
            for st in &s.body {
                self.lower_parser_stmt(st, reject);
            }
            self.scopes.pop();
            match &s.transition {
                None => self.goto(reject),
                Some(Transition::Direct(t)) => {
                    self.bpf.at(t.span.start);
                    self.goto(blocks[&t.name]);
                }
                Some(Transition::Select { exprs, cases, span }) => {
                    self.bpf.at(span.start);
                    let values: Vec<(inkwell::values::IntValue<'ctx>, Ty)> =
                        exprs.iter().map(|e| (self.expr(e), self.ty(e))).collect();
                    for case in cases {
                        let target = blocks[&case.state.name];
                        let cond = self.keyset_matches(&case.keyset, &values);
                        match cond {
                            None => {
                                self.goto(target);
                                break;
                            }
                            Some(c) => {
                                let next = self.block("case");
                                self.bpf
                                    .b
                                    .build_conditional_branch(c, target, next)
                                    .expect("br");
                                self.bpf.b.position_at_end(next);
                            }
                        }
                    }
                    // No case matched: the packet is rejected with NoMatch.
                    if self
                        .bpf
                        .b
                        .get_insert_block()
                        .and_then(|b| b.get_terminator())
                        .is_none()
                    {
                        let code = self.error_code("NoMatch");
                        self.set(self.parser_error, 32, code);
                        self.goto(reject);
                    }
                }
            }
        }
        // Reject: the error is recorded (PacketTooShort when no other was) and the control runs.
        self.bpf.b.position_at_end(reject);
        let e = self
            .bpf
            .b
            .build_load(self.bpf.i(32), self.parser_error, "err")
            .expect("load")
            .into_int_value();
        let none = self
            .bpf
            .b
            .build_int_compare(IntPredicate::EQ, e, self.bpf.c(32, 0), "none")
            .expect("cmp");
        let fix = self.block("reject_default");
        self.bpf
            .b
            .build_conditional_branch(none, fix, done)
            .expect("br");
        self.bpf.b.position_at_end(fix);
        let code = self.error_code("PacketTooShort");
        self.set(self.parser_error, 32, code);
        self.goto(done);
        // The control reads headers by their slots (`dynamic_slots`), not by the cursor.
        self.dynamic_cursor = false;
        self.parser_reject = None;
    }

    /// `pkt.lookahead<bit<N>>()`: the next `N` bits at the cursor, which stays; a packet
    /// that ends sooner is rejected with PacketTooShort, as P4 defines.
    pub fn lookahead(&mut self, e: &ast::Expr) -> IntValue<'ctx> {
        let bits = match self.ty(e) {
            Ty::Bit(n) | Ty::Int(n) if (1..=128).contains(&n) => n,
            _ => {
                self.unsupported(e.span, "`lookahead` of this type here");
                return self.bpf.c(1, 0);
            }
        };
        match self.peek(e, bits.div_ceil(8)) {
            Some((_, start)) => self.load_bits(start, 0, bits, Place::Any),
            None => self.bpf.c(bits, 0),
        }
    }

    /// `h = pkt.lookahead<H>()`: header `h` (held in scratch, as every assigned header is)
    /// gets the next bytes at the cursor and becomes valid; the cursor stays.
    pub fn lookahead_header(&mut self, h: super::HeaderVar<'ctx>, e: &ast::Expr) {
        let Some(dst) = self.scratch_base(h) else {
            self.unsupported(e.span, "`lookahead` into this header");
            return;
        };
        if let Some((cur, _)) = self.peek(e, h.size) {
            self.load_bytes(cur, dst, h.size);
            let was = self.is_valid(h);
            self.mark_changed(self.bpf.b.build_not(was, "nw").expect("not"));
            self.set_offset(h, self.bpf.c(64, u128::from(super::deparser::FRESH)));
        }
    }

    /// Checks that `bytes` bytes follow the cursor (else rejects with PacketTooShort); the
    /// cursor and its packet pointer. Offsets past what any packet holds fail at once, which
    /// also gives the verifier a bound. `extract` and `lookahead` both start here.
    fn peek(&mut self, e: &ast::Expr, bytes: u32) -> Option<(IntValue<'ctx>, PointerValue<'ctx>)> {
        let Some(reject) = self.parser_reject else {
            self.unsupported(e.span, "`lookahead` outside a parser");
            return None;
        };
        let bytes = u64::from(bytes);
        let i64t = self.bpf.ctx.i64_type();
        let b = &self.bpf.b;
        let cur = b
            .build_load(i64t, self.cursor, "cur")
            .expect("load")
            .into_int_value();
        let far = b
            .build_int_compare(
                IntPredicate::UGT,
                cur,
                i64t.const_int(super::NOT_VALID - bytes, false),
                "far",
            )
            .expect("cmp");
        let fail = self.block("too_short");
        let near = self.block("fits_near");
        self.bpf
            .b
            .build_conditional_branch(far, fail, near)
            .expect("br");
        self.bpf.b.position_at_end(near);
        let cur = self.bounded(cur, self.dynamic_cursor);
        let start = self.bpf.byte_ptr(self.data, cur);
        let end = self.bpf.byte_ptr(start, i64t.const_int(bytes, false));
        let short = if self.omit_bounds_checks {
            self.bpf.c(1, 0)
        } else {
            let end = self.bpf.check_end(end);
            let data_end = self.bpf.data_end();
            self.bpf
                .b
                .build_int_compare(IntPredicate::UGT, end, data_end, "short")
                .expect("cmp")
        };
        let ok = self.block("fits");
        self.bpf
            .b
            .build_conditional_branch(short, fail, ok)
            .expect("br");
        self.bpf.b.position_at_end(fail);
        let code = self.error_code("PacketTooShort");
        self.set(self.parser_error, 32, code);
        self.goto(reject);
        self.bpf.b.position_at_end(ok);
        Some((cur, start))
    }

    pub fn error_code(&self, name: &str) -> u128 {
        self.p.errors.iter().position(|e| e == name).unwrap_or(0) as u128
    }

    /// The condition under which a select case matches; `None` for a case that always does.
    fn keyset_matches(
        &mut self,
        ks: &Keyset,
        values: &[(inkwell::values::IntValue<'ctx>, Ty)],
    ) -> Option<inkwell::values::IntValue<'ctx>> {
        match ks {
            Keyset::Default(_) | Keyset::DontCare(_) => None,
            Keyset::Tuple(elems, _) => {
                let mut acc: Option<inkwell::values::IntValue<'ctx>> = None;
                for (elem, (v, ty)) in elems.iter().zip(values) {
                    if let Some(c) = self.one_matches(elem, *v, ty) {
                        acc = Some(match acc {
                            Some(a) => self.bpf.b.build_and(a, c, "and").expect("and"),
                            None => c,
                        });
                    }
                }
                acc
            }
            one => self.one_matches(one, values[0].0, &values[0].1),
        }
    }

    fn one_matches(
        &mut self,
        ks: &Keyset,
        v: inkwell::values::IntValue<'ctx>,
        ty: &Ty,
    ) -> Option<inkwell::values::IntValue<'ctx>> {
        let bits = v.get_type().get_bit_width();
        let b = &self.bpf.b;
        match ks {
            Keyset::Default(_) | Keyset::DontCare(_) | Keyset::Tuple(..) => None,
            Keyset::Value(e) => {
                if let ExprKind::Prefix(pfx) = &e.kind {
                    let mask = if pfx.len == 0 {
                        0
                    } else {
                        (u128::MAX << (128 - pfx.len)) >> (128 - pfx.bits)
                    };
                    let m = self.bpf.c(bits, mask);
                    let masked = b.build_and(v, m, "m").expect("and");
                    return Some(
                        b.build_int_compare(
                            IntPredicate::EQ,
                            masked,
                            self.bpf.c(bits, pfx.value),
                            "eq",
                        )
                        .expect("cmp"),
                    );
                }
                let k = self.expr(e);
                Some(
                    self.bpf
                        .b
                        .build_int_compare(IntPredicate::EQ, v, k, "eq")
                        .expect("cmp"),
                )
            }
            Keyset::Mask(val, mask, _) => {
                let k = self.expr(val);
                let m = self.expr(mask);
                let b = &self.bpf.b;
                let a = b.build_and(v, m, "m").expect("and");
                let kk = b.build_and(k, m, "km").expect("and");
                Some(
                    b.build_int_compare(IntPredicate::EQ, a, kk, "eq")
                        .expect("cmp"),
                )
            }
            Keyset::Range(lo, hi, _) => {
                let l = self.expr(lo);
                let h = self.expr(hi);
                let signed = matches!(ty, Ty::Int(_));
                let (ge, le) = if signed {
                    (IntPredicate::SGE, IntPredicate::SLE)
                } else {
                    (IntPredicate::UGE, IntPredicate::ULE)
                };
                let b = &self.bpf.b;
                let a = b.build_int_compare(ge, v, l, "ge").expect("cmp");
                let c = b.build_int_compare(le, v, h, "le").expect("cmp");
                Some(b.build_and(a, c, "in").expect("and"))
            }
        }
    }

    fn lower_parser_stmt(&mut self, st: &Stmt, reject: BasicBlock<'ctx>) {
        if let Stmt::Call(e) = st {
            if let ExprKind::Call { callee, args, .. } = &e.kind {
                if let ExprKind::Member(_, m) = &callee.kind {
                    match m.name.as_str() {
                        "extract" => {
                            self.bpf.at(e.span.start);
                            self.extract(&args[0], reject);
                            return;
                        }
                        "advance" => {
                            self.bpf.at(e.span.start);
                            let bits = self.expr(&args[0]);
                            let wide = self
                                .bpf
                                .b
                                .build_int_z_extend(bits, self.bpf.ctx.i64_type(), "w")
                                .expect("zext");
                            let bytes = self
                                .bpf
                                .b
                                .build_right_shift(wide, self.bpf.c(64, 3), false, "bytes")
                                .expect("shr");
                            let cur = self
                                .bpf
                                .b
                                .build_load(self.bpf.ctx.i64_type(), self.cursor, "cur")
                                .expect("load")
                                .into_int_value();
                            let next = self.bpf.b.build_int_add(cur, bytes, "next").expect("add");
                            self.note_skipped(bytes);
                            self.bpf.b.build_store(self.cursor, next).expect("store");
                            self.dynamic_cursor |= advances_at_run_time(st);
                            return;
                        }
                        _ => {}
                    }
                }
                if let ExprKind::Name(n) = &callee.kind {
                    if n.name == "verify" {
                        self.bpf.at(e.span.start);
                        let ok = self.expr(&args[0]);
                        let code = self.expr(&args[1]);
                        let fail = self.block("verify_failed");
                        let cont = self.block("verified");
                        self.bpf
                            .b
                            .build_conditional_branch(ok, cont, fail)
                            .expect("br");
                        self.bpf.b.position_at_end(fail);
                        self.bpf
                            .b
                            .build_store(self.parser_error, code)
                            .expect("store");
                        self.goto(reject);
                        self.bpf.b.position_at_end(cont);
                        return;
                    }
                }
            }
        }
        self.stmt(st);
    }

    /// `pkt.extract(h)`: if the header fits before `data_end`, remember where it starts, mark
    /// it valid and move the cursor; otherwise reject with PacketTooShort.
    fn extract(&mut self, target: &ast::Expr, reject: BasicBlock<'ctx>) {
        // `stack.next`: the element at the stack's next index, which then moves on; a full
        // stack rejects the packet with StackOutOfBounds.
        let mut advance_stack = None;
        if let ExprKind::Member(base, m) = &target.kind {
            if let Some(stack) = self
                .path_of(base)
                .and_then(|p| self.stacks.get(&p).cloned())
            {
                if m.name == "next" {
                    let i32t = self.bpf.ctx.i32_type();
                    let index = self
                        .bpf
                        .b
                        .build_load(i32t, stack.next, "next")
                        .expect("load")
                        .into_int_value();
                    let full = self
                        .bpf
                        .b
                        .build_int_compare(
                            IntPredicate::UGE,
                            index,
                            i32t.const_int(stack.elems.len() as u64, false),
                            "full",
                        )
                        .expect("cmp");
                    let overflow = self.block("stack_full");
                    let room = self.block("stack_room");
                    self.bpf
                        .b
                        .build_conditional_branch(full, overflow, room)
                        .expect("br");
                    self.bpf.b.position_at_end(overflow);
                    let code = self.error_code("StackOutOfBounds");
                    self.set(self.parser_error, 32, code);
                    self.goto(reject);
                    self.bpf.b.position_at_end(room);
                    advance_stack = Some((stack.next, index));
                    if self.dynamic_cursor {
                        self.dynamic_slots
                            .extend(stack.elems.iter().map(|h| h.slot));
                    }
                }
            }
        }
        let Some(h) = self.header_of(target) else {
            self.unsupported(target.span, "extracting into this expression");
            return;
        };
        if self.dynamic_cursor {
            self.dynamic_slots.insert(h.slot);
        }
        let size = h.size;
        if size > 255 {
            self.unsupported(target.span, "extracting a header longer than 255 bytes");
            return;
        }
        let Some((cur, _)) = self.peek(target, size) else {
            return;
        };
        let i64t = self.bpf.ctx.i64_type();
        self.set_offset(h, cur);
        self.extract_to_scratch(h, cur);
        let b = &self.bpf.b;
        let next = b
            .build_int_add(cur, i64t.const_int(u64::from(size), false), "next")
            .expect("add");
        if let Some((slot, index)) = advance_stack {
            let one = self.bpf.ctx.i32_type().const_int(1, false);
            let moved = self.bpf.b.build_int_add(index, one, "moved").expect("add");
            self.bpf.b.build_store(slot, moved).expect("store");
        }
        b.build_store(self.cursor, next).expect("store");
    }
}

/// The states entered with a cursor that may have moved by a run-time amount: those
/// reachable through transitions from a state that advances by one.
fn dynamic_states(p: &ast::ParserDecl) -> HashSet<&str> {
    fn targets(s: &ast::StateDecl) -> Vec<&str> {
        match &s.transition {
            None => Vec::new(),
            Some(Transition::Direct(t)) => vec![t.name.as_str()],
            Some(Transition::Select { cases, .. }) => {
                cases.iter().map(|c| c.state.name.as_str()).collect()
            }
        }
    }
    let by_name: HashMap<&str, &ast::StateDecl> =
        p.states.iter().map(|s| (s.name.name.as_str(), s)).collect();
    let mut todo: Vec<&str> = p
        .states
        .iter()
        .filter(|s| s.body.iter().any(advances_at_run_time))
        .flat_map(targets)
        .collect();
    let mut seen = HashSet::new();
    while let Some(name) = todo.pop() {
        if seen.insert(name) {
            if let Some(s) = by_name.get(name) {
                todo.extend(targets(s));
            }
        }
    }
    seen
}

/// `pkt.advance(n)` with an amount that is not a literal.
fn advances_at_run_time(st: &Stmt) -> bool {
    let Stmt::Call(e) = st else { return false };
    let ExprKind::Call { callee, args, .. } = &e.kind else {
        return false;
    };
    matches!(&callee.kind, ExprKind::Member(_, m) if m.name == "advance")
        && !matches!(args.first().map(|a| &a.kind), Some(ExprKind::Int(_)))
}
