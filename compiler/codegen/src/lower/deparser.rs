//! The deparser: headers added, removed and reordered, as P4 defines its output.
//!
//! Takes: `Program::deparsing` (what the program does to header validity, and whether the
//! deparser is provably the identity), the headers' stack slots, and the deparser's emits.
//! Gives: scratch storage for headers the packet did not hold (`setValid`, whole-header
//! assignment), the `setValid`/`setInvalid`/assignment code, and the code after the
//! deparser that rebuilds the packet.
//!
//! What leaves is the valid headers the deparser emits, in emit order, then the payload
//! (the bytes after the parser's last position). Three cases, cheapest first:
//! - The deparser is provably the identity (sema's `Deparsing::identity`): no code at all,
//!   the packet keeps its bytes and every in-place edit.
//! - At run time the emitted headers lie in the packet in emit order, end to end up to the
//!   payload (bytes the parser skipped with `advance` allowed between them), and no header
//!   changed validity: nothing moves, headers held in scratch are written back in place.
//! - Otherwise the emitted headers are assembled in a per-CPU scratch buffer, the packet
//!   start moves by the difference (`bpf_xdp_adjust_head`; at TC `bpf_skb_change_head` to
//!   grow, `bpf_skb_adjust_room` at the MAC layer to shrink) and the assembled headers are
//!   stored at the front with one `store_bytes` helper call. The payload is not touched, nor
//!   is the kept tail: the last emitted headers that lie in the packet end to end up to the
//!   payload (a VLAN push rewrites the Ethernet header and the tag, not the IPv4 and TCP
//!   headers behind them). At TC a shrink needs the rewritten front to cover 14 bytes; when
//!   it would not, the tail is given up and every emitted header is rewritten.
//!   Bytes skipped with `advance` are not headers and are not kept here, as P4 defines.
//!
//! Headers the program may set valid live in the scratch buffer (a per-CPU array of one
//! entry, `iov_scratch`, looked up once at entry); an extract into one copies its bytes
//! there, so every field access reads one place.
//!
//! The moving case itself (the kept tail, the staging, the move and the store) is in
//! `rebuild.rs`. Their offset slot still says where the
//! parser found them ([`FRESH`] for one the packet did not hold).

use super::{decision, Gen, HeaderVar, NOT_VALID};
use crate::bpf::{helper, map_type};
use crate::layout::{self, Leaf};
use inkwell::values::{IntValue, PointerValue};
use inkwell::IntPredicate;
use iov_diagnostics::Span;
use iov_manifest::Hook;
use iov_sema::deparse;
use iov_sema::types::Ty;
use iov_syntax::ast::{self, StructKind};

/// The offset slot of a header made valid by the program rather than found in the packet.
pub const FRESH: u64 = NOT_VALID + 1;

/// The per-CPU scratch buffer: its value pointer (non-null from the entry on), where the
/// assembly area starts, and its size (a power of two above the deparser's most bytes).
#[derive(Clone, Copy)]
pub struct Scratch<'ctx> {
    pub ptr: PointerValue<'ctx>,
    pub out_base: u32,
    pub out_cap: u32,
}

/// The state of the deparser being lowered when the packet may change shape.
#[derive(Default)]
pub struct Deparse<'ctx> {
    /// The emitted headers in order (a struct or a stack expanded).
    pub ops: Vec<HeaderVar<'ctx>>,
    /// A flag set whenever a header's validity changes at run time.
    pub changed: Option<PointerValue<'ctx>>,
    /// Bytes the parser skipped with `advance`.
    pub skipped: Option<PointerValue<'ctx>>,
    /// Whether the deparser's output needs code (not the identity, and there is one).
    pub active: bool,
}

impl<'a, 'ctx> Gen<'a, 'ctx> {
    /// Gives headers the program sets valid their scratch storage and prepares the
    /// deparser's state; call in the entry block after the headers' slots exist.
    pub fn plan_deparse(&mut self, deparser: Option<&ast::ControlDecl>) {
        let d = self.p.deparsing.clone().unwrap_or_default();
        let active = d.has_deparser && !d.identity;
        let mut regions = 0u32;
        let mut paths: Vec<&String> = d.materialized.iter().collect();
        paths.sort();
        for path in paths {
            if let Some(h) = self.headers.get_mut(&format!("H.{path}")) {
                if !h.narrow {
                    h.scratch = Some(regions);
                    regions += h.size.div_ceil(8) * 8;
                }
            }
        }
        // A stack whose validity the program changes keeps every element in scratch: its
        // elements move between indexes (`push_front`, `pop_front`) and may be chosen at run
        // time, so they take equal regions, a power of two of them for the index mask.
        let mut stack_paths: Vec<String> = self.stacks.keys().cloned().collect();
        stack_paths.sort();
        for path in stack_paths {
            let rel = path.strip_prefix("H.").unwrap_or(&path).to_string();
            if !d.materialized.iter().any(|p| deparse::covers(&rel, p)) {
                continue;
            }
            let stack = self.stacks.get_mut(&path).expect("listed");
            let stride = stack.none.size.div_ceil(8) * 8;
            let cap = (stack.elems.len() as u32).next_power_of_two();
            let base = regions;
            regions += cap * stride;
            stack.scratch = Some(super::StackScratch {
                base,
                stride,
                mask: cap - 1,
            });
            for (i, e) in stack.elems.iter_mut().enumerate() {
                e.scratch = Some(base + i as u32 * stride);
            }
            let elems = stack.elems.clone();
            for (i, e) in elems.into_iter().enumerate() {
                self.headers.insert(format!("{path}[{i}]"), e);
            }
        }
        regions += self.plan_local_headers(regions);
        let most = deparser.map_or(0, |c| self.emitted_bytes(&c.apply.stmts));
        let out_cap = if active {
            (most + 1).next_power_of_two()
        } else {
            0
        };
        if regions > 0 || active {
            // Room past the assembly area for a header at its masked offset.
            let size = regions + out_cap + 256;
            let map = self
                .bpf
                .map("iov_scratch", map_type::PERCPU_ARRAY, 4, size, 1, 0);
            let key = self.zero_key();
            let v = self.bpf.lookup(map, key);
            let has = self.bpf.b.build_is_not_null(v, "has").expect("cmp");
            let missing = self.block("scratch_missing");
            let ok = self.block("scratch_ok");
            self.bpf
                .b
                .build_conditional_branch(has, ok, missing)
                .expect("br");
            // An array of one entry always has it; the check is for the verifier.
            self.bpf.b.position_at_end(missing);
            let drop = if self.hook == Hook::Xdp { 1 } else { 2 };
            self.bpf
                .b
                .build_return(Some(&self.bpf.c(32, drop)))
                .expect("ret");
            self.bpf.b.position_at_end(ok);
            self.scratch = Some(Scratch {
                ptr: v,
                out_base: regions,
                out_cap,
            });
        }
        self.deparse.active = active;
        if active && !(d.materialized.is_empty() && d.invalidated.is_empty()) {
            self.deparse.changed = Some(self.alloca(8, "changed"));
        }
        if active && d.advances {
            self.deparse.skipped = Some(self.alloca(64, "skipped"));
        }
    }

    /// The most bytes the deparser's emits can produce.
    fn emitted_bytes(&self, stmts: &[ast::Stmt]) -> u32 {
        let mut n = 0;
        deparse::walk(stmts, false, &mut |st, _| {
            if let Some((_, "emit", args)) = deparse::method_call(st) {
                n += args.first().map_or(0, |a| self.ty_bytes(&self.ty(a)));
            }
        });
        n
    }

    fn ty_bytes(&self, ty: &Ty) -> u32 {
        match ty {
            Ty::Struct(s) if self.p.structs[*s].kind == StructKind::Header => {
                layout::header_fields(self.p, *s).1
            }
            Ty::Struct(s) => self.p.structs[*s]
                .fields
                .iter()
                .map(|f| self.ty_bytes(&f.ty))
                .sum(),
            Ty::Stack(h, n) => layout::header_fields(self.p, *h).1 * n,
            _ => 0,
        }
    }

    /// Counts bytes skipped by `advance` (the deparser's in-place test allows them).
    pub fn note_skipped(&self, bytes: IntValue<'ctx>) {
        if let Some(slot) = self.deparse.skipped {
            self.bpf.add_u64(slot, bytes);
        }
    }

    /// After an extract into a header held in scratch: copies its bytes there from `start`,
    /// a packet pointer whose `size` bytes were checked.
    pub fn extract_to_scratch(&self, h: HeaderVar<'ctx>, offset: IntValue<'ctx>) {
        if let Some(dst) = self.scratch_base(h) {
            self.load_bytes(offset, dst, h.size);
        }
    }

    /// `size` packet bytes from `offset` to `dst` in the scratch buffer, through the hook's
    /// `load_bytes` helper: one call, where a copy byte by byte gives LLVM 2 x `size`
    /// addresses to keep, which it spills onto the stack.
    pub(super) fn load_bytes(&self, offset: IntValue<'ctx>, dst: PointerValue<'ctx>, size: u32) {
        let i64t = self.bpf.ctx.i64_type();
        let off32 = self
            .bpf
            .b
            .build_int_truncate(offset, self.bpf.ctx.i32_type(), "o32")
            .expect("trunc");
        let id = match self.hook {
            Hook::Xdp => helper::XDP_LOAD_BYTES,
            Hook::TcIngress | Hook::TcEgress => helper::SKB_LOAD_BYTES,
        };
        self.bpf.call_helper(
            id,
            Some(i64t),
            &[
                self.ctx_ptr.into(),
                off32.into(),
                dst.into(),
                self.bpf.c(32, u128::from(size)).into(),
            ],
        );
    }

    /// `size` bytes from `src` in the scratch buffer to the packet at `offset`.
    pub(super) fn store_bytes(
        &self,
        offset: IntValue<'ctx>,
        src: PointerValue<'ctx>,
        len: IntValue<'ctx>,
    ) {
        let i64t = self.bpf.ctx.i64_type();
        let i32t = self.bpf.ctx.i32_type();
        let off32 = self
            .bpf
            .b
            .build_int_truncate_or_bit_cast(offset, i32t, "o32")
            .expect("trunc");
        let len32 = self
            .bpf
            .b
            .build_int_truncate_or_bit_cast(len, i32t, "l32")
            .expect("trunc");
        let ctx = self.ctx_ptr.into();
        match self.hook {
            Hook::Xdp => self.bpf.call_helper(
                helper::XDP_STORE_BYTES,
                Some(i64t),
                &[ctx, off32.into(), src.into(), len32.into()],
            ),
            Hook::TcIngress | Hook::TcEgress => self.bpf.call_helper(
                helper::SKB_STORE_BYTES,
                Some(i64t),
                &[
                    ctx,
                    off32.into(),
                    src.into(),
                    len32.into(),
                    i64t.const_zero().into(),
                ],
            ),
        };
    }

    /// Where header `h` held in scratch lives.
    pub fn scratch_base(&self, h: HeaderVar<'ctx>) -> Option<PointerValue<'ctx>> {
        let s = self.scratch?;
        if let Some(at) = h.scratch_at {
            return Some(self.bpf.byte_ptr(s.ptr, at));
        }
        Some(
            self.bpf
                .byte_ptr(s.ptr, self.bpf.c(64, u128::from(h.scratch?))),
        )
    }

    /// `n` bytes from `src` to `dst` within the scratch buffer, one byte at a time (the
    /// assembly offsets are known only at run time, so no piece size can be chosen here).
    pub(super) fn copy_bytes(&self, dst: PointerValue<'ctx>, src: PointerValue<'ctx>, n: u32) {
        let i8t = self.bpf.ctx.i8_type();
        for i in 0..n {
            let at = self.bpf.c(64, u128::from(i));
            let v = self
                .bpf
                .b
                .build_load(i8t, self.bpf.byte_ptr(src, at), "cb")
                .expect("load");
            self.bpf
                .b
                .build_store(self.bpf.byte_ptr(dst, at), v)
                .expect("store");
        }
    }

    pub(super) fn mark_changed(&self, flip: IntValue<'ctx>) {
        let Some(slot) = self.deparse.changed else {
            return;
        };
        let b = &self.bpf.b;
        let i8t = self.bpf.ctx.i8_type();
        let old = b
            .build_load(i8t, slot, "ch")
            .expect("load")
            .into_int_value();
        let flip = b.build_int_z_extend(flip, i8t, "fl").expect("zext");
        let new = b.build_or(old, flip, "ch2").expect("or");
        b.build_store(slot, new).expect("store");
    }

    /// `h.setValid()` and `h.setInvalid()`.
    pub fn set_validity(&mut self, obj: &ast::Expr, valid: bool, span: Span) {
        let Some(h) = self.header_of(obj) else {
            self.unsupported(span, "changing the validity of this header");
            return;
        };
        let was = self.is_valid(h);
        if !valid {
            if !h.local {
                self.mark_changed(was);
            }
            self.set_offset(h, self.bpf.c(64, u128::from(NOT_VALID)));
            return;
        }
        if self.scratch_base(h).is_none() {
            self.unsupported(span, "`setValid` on this header");
            return;
        }
        // A header made valid starts zeroed (P4 leaves its fields unspecified).
        let fresh = self.block("set_valid");
        let done = self.block("set_valid_done");
        self.bpf
            .b
            .build_conditional_branch(was, done, fresh)
            .expect("br");
        self.bpf.b.position_at_end(fresh);
        let base = self.scratch_base(h).expect("held in scratch");
        let i8t = self.bpf.ctx.i8_type();
        for i in 0..h.size {
            let p = self.bpf.byte_ptr(base, self.bpf.c(64, u128::from(i)));
            self.bpf.b.build_store(p, i8t.const_zero()).expect("store");
        }
        self.set_offset(h, self.bpf.c(64, u128::from(FRESH)));
        if !h.local {
            self.mark_changed(self.bpf.c(1, 1));
        }
        self.goto(done);
        self.bpf.b.position_at_end(done);
    }

    /// `lhs = rhs` for whole headers: the contents and the validity of `rhs`.
    pub fn assign_header(&mut self, lhs: &ast::Expr, rhs: &ast::Expr) {
        if let ast::ExprKind::Call { callee, .. } = &rhs.kind {
            if matches!(&callee.kind, ast::ExprKind::Member(_, m) if m.name == "lookahead") {
                match self.header_of(lhs) {
                    Some(h) => self.lookahead_header(h, rhs),
                    None => self.unsupported(lhs.span, "assigning this header"),
                }
                return;
            }
        }
        let (Some(dst), Some(src)) = (self.header_of(lhs), self.header_of(rhs)) else {
            self.unsupported(lhs.span, "assigning this header");
            return;
        };
        self.copy_header(dst, src, lhs.span);
    }

    /// Header `dst` becomes a copy of `src`: its contents and its validity.
    pub fn copy_header(&mut self, dst: HeaderVar<'ctx>, src: HeaderVar<'ctx>, span: Span) {
        let Some(to) = self.scratch_base(dst) else {
            self.unsupported(span, "assigning to this header");
            return;
        };
        let src_valid = self.is_valid(src);
        let copy = self.block("assign");
        let done = self.block("assigned");
        self.bpf
            .b
            .build_conditional_branch(src_valid, copy, done)
            .expect("br");
        self.bpf.b.position_at_end(copy);
        match self.scratch_base(src) {
            Some(from) => self.copy_bytes(to, from, dst.size),
            None => self.load_bytes(self.offset_of(src), to, dst.size),
        }
        self.goto(done);
        self.bpf.b.position_at_end(done);
        // Valid like `rhs`: a header the packet held keeps its place, one made valid is fresh.
        let b = &self.bpf.b;
        let old = self.offset_of(dst);
        let was = self.is_valid(dst);
        let kept = b
            .build_select(was, old, self.bpf.c(64, u128::from(FRESH)), "kept")
            .expect("select")
            .into_int_value();
        let new = b
            .build_select(src_valid, kept, self.bpf.c(64, u128::from(NOT_VALID)), "nv")
            .expect("select")
            .into_int_value();
        let flip = b.build_xor(was, src_valid, "flip").expect("xor");
        if !dst.local {
            self.mark_changed(flip);
        }
        self.set_offset(dst, new);
    }

    /// `pkt.emit(x)`: records the headers `x` names (a header, a stack, a struct of them).
    pub fn emit(&mut self, arg: &ast::Expr) {
        if !self.deparse.active {
            return;
        }
        if let Some(h) = self.header_of(arg) {
            self.record_emit(h, arg.span);
            return;
        }
        let Some(path) = self.path_of(arg) else {
            self.unsupported(arg.span, "emitting this expression");
            return;
        };
        let mut hs = Vec::new();
        if let Some(stack) = self.stacks.get(&path) {
            hs.extend(stack.elems.iter().copied());
        } else {
            let Ty::Struct(id) = self.ty(arg) else {
                self.unsupported(arg.span, "emitting this expression");
                return;
            };
            let mut leaves = Vec::new();
            layout::flatten(self.p, id, &path, &mut leaves);
            for (leaf_path, leaf) in leaves {
                match leaf {
                    Leaf::Header(_) => hs.extend(self.headers.get(&leaf_path)),
                    Leaf::Stack(..) => {
                        if let Some(s) = self.stacks.get(&leaf_path) {
                            hs.extend(s.elems.iter().copied());
                        }
                    }
                    Leaf::Scalar(_) => {}
                }
            }
        }
        for h in hs {
            self.record_emit(h, arg.span);
        }
    }

    /// One emitted header. When the deparser has an emit inside a condition, each emit
    /// records a snapshot of the header's offset slot, taken where the emit runs: an emit that
    /// did not run leaves its snapshot "not valid", so the packet holds what the emits that ran
    /// wrote, in the order written (a deparser has no loops, so source order is run order).
    fn record_emit(&mut self, h: HeaderVar<'ctx>, span: Span) {
        let conditional = self
            .p
            .deparsing
            .as_ref()
            .is_some_and(|d| d.conditional_emit.is_some());
        if !conditional {
            self.deparse.ops.push(h);
            return;
        }
        if h.scratch_at.is_some() {
            self.unsupported(
                span,
                "emitting an element chosen at run time inside a condition",
            );
            return;
        }
        let bits = if h.narrow { 32 } else { 64 };
        let tmp = self.entry_builder();
        let snap = tmp
            .build_alloca(self.bpf.i(bits), "emitted")
            .expect("alloca");
        tmp.build_store(snap, self.bpf.c(bits, u128::from(NOT_VALID)))
            .expect("init");
        let now = self
            .bpf
            .b
            .build_load(self.bpf.i(bits), h.slot, "at_emit")
            .expect("load");
        self.bpf.b.build_store(snap, now).expect("store");
        self.deparse.ops.push(HeaderVar { slot: snap, ..h });
    }

    /// The code after the deparser: the packet rebuilt from the emitted headers (see the
    /// module header). Packets being dropped are left alone.
    pub fn finish_deparse(&mut self) {
        if !self.deparse.active {
            return;
        }
        let i64t = self.bpf.ctx.i64_type();
        let (d, _) = self.final_decision();
        let leave = self
            .bpf
            .b
            .build_int_compare(
                IntPredicate::EQ,
                d,
                self.bpf.c(32, u128::from(decision::DROP)),
                "leave",
            )
            .expect("cmp");
        let check = self.block("deparse");
        let done = self.block("deparsed");
        self.bpf
            .b
            .build_conditional_branch(leave, done, check)
            .expect("br");
        self.bpf.b.position_at_end(check);
        let ops = self.deparse.ops.clone();
        // In place? Emitted headers in packet order, none fresh, ending at the payload.
        let mut out = self.bpf.c(64, 0);
        let mut prev_end = self.bpf.c(64, 0);
        let mut moved = self.bpf.c(1, 0);
        for h in &ops {
            let b = &self.bpf.b;
            let valid = self.is_valid(*h);
            let off = self.offset_of(*h);
            let fresh = b
                .build_int_compare(
                    IntPredicate::EQ,
                    off,
                    self.bpf.c(64, u128::from(FRESH)),
                    "fr",
                )
                .expect("cmp");
            let behind = b
                .build_int_compare(IntPredicate::ULT, off, prev_end, "bh")
                .expect("cmp");
            let bad = b.build_or(fresh, behind, "bad").expect("or");
            let bad = b.build_and(valid, bad, "badv").expect("and");
            moved = b.build_or(moved, bad, "mv").expect("or");
            let size = self.bpf.c(64, u128::from(h.size));
            let end = b.build_int_add(off, size, "end").expect("add");
            prev_end = b
                .build_select(valid, end, prev_end, "pe")
                .expect("select")
                .into_int_value();
            let grow = b
                .build_select(valid, size, i64t.const_zero(), "gr")
                .expect("select")
                .into_int_value();
            out = b.build_int_add(out, grow, "out").expect("add");
        }
        let b = &self.bpf.b;
        let payload = b
            .build_load(i64t, self.cursor, "payload")
            .expect("load")
            .into_int_value();
        let parsed = match self.deparse.skipped {
            Some(s) => {
                let skipped = b.build_load(i64t, s, "sk").expect("load").into_int_value();
                b.build_int_sub(payload, skipped, "parsed").expect("sub")
            }
            None => payload,
        };
        let tiles = b
            .build_int_compare(IntPredicate::EQ, out, parsed, "tiles")
            .expect("cmp");
        let mut same = b
            .build_and(tiles, b.build_not(moved, "nm").expect("not"), "same")
            .expect("and");
        if let Some(slot) = self.deparse.changed {
            let ch = b
                .build_load(self.bpf.ctx.i8_type(), slot, "ch")
                .expect("load")
                .into_int_value();
            let unchanged = b
                .build_int_compare(
                    IntPredicate::EQ,
                    ch,
                    self.bpf.ctx.i8_type().const_zero(),
                    "uc",
                )
                .expect("cmp");
            same = b.build_and(same, unchanged, "same2").expect("and");
        }
        let in_place = self.block("deparse_in_place");
        let rebuild = self.block("deparse_rebuild");
        self.bpf
            .b
            .build_conditional_branch(same, in_place, rebuild)
            .expect("br");
        self.bpf.b.position_at_end(in_place);
        self.write_back_in_place();
        self.goto(done);
        self.bpf.b.position_at_end(rebuild);
        self.rebuild(&ops, payload);
        self.goto(done);
        self.bpf.b.position_at_end(done);
    }

    /// Headers held in scratch that the packet holds go back where they were.
    fn write_back_in_place(&self) {
        let mut held: Vec<HeaderVar<'ctx>> = self
            .headers
            .values()
            .filter(|h| h.scratch.is_some())
            .copied()
            .collect();
        held.sort_by_key(|h| h.scratch);
        for h in held {
            let b = &self.bpf.b;
            let off = self.offset_of(h);
            let in_packet = b
                .build_int_compare(
                    IntPredicate::ULT,
                    off,
                    self.bpf.c(64, u128::from(NOT_VALID)),
                    "ip",
                )
                .expect("cmp");
            let body = self.block("write_back");
            let next = self.block("written_back");
            b.build_conditional_branch(in_packet, body, next)
                .expect("br");
            self.bpf.b.position_at_end(body);
            let size = self.bpf.c(64, u128::from(h.size));
            self.store_bytes(off, self.scratch_base(h).expect("held"), size);
            self.goto(next);
            self.bpf.b.position_at_end(next);
        }
    }
}
