//! Table lookups: the key built in network order and looked up in a hash map or LPM trie;
//! the slots of a scanned table (a range key) tried in priority order; or the masks of a
//! tuple-space table (ternary and optional keys), `tuple_loop.rs`, probed one hash lookup
//! each.
//!
//! Takes: a table's map and its key fields (from `table.rs`).
//! Gives: a pointer to the value of the entry that matched, or null.

use super::bits::Place;
use super::Gen;
use inkwell::values::{GlobalValue, IntValue, PointerValue};
use inkwell::IntPredicate;
use iov_manifest as manifest;
use iov_syntax::ast;

impl<'a, 'ctx> Gen<'a, 'ctx> {
    /// Builds the key in network order and looks it up in a hash map or LPM trie.
    pub(super) fn lookup_key(
        &mut self,
        map: GlobalValue<'ctx>,
        kind: manifest::MapKind,
        key_size: u32,
        keys: &[(ast::Expr, manifest::KeyField)],
    ) -> (PointerValue<'ctx>, PointerValue<'ctx>) {
        // One buffer for every apply of keys of one shape: the same bits are written each
        // time and the padding is never written, so it stays zero as the hash needs; a
        // buffer per apply took the stack 16 IPv6 flow tables in a row ran out of (E0702).
        let shape = format!(
            "{kind:?} {key_size} {:?}",
            keys.iter()
                .map(|(_, k)| (k.offset, k.bits, k.bytes))
                .collect::<Vec<_>>()
        );
        let key = match self.key_buffers.get(&shape) {
            Some(&p) => p,
            None => {
                let p = self.alloca_bytes(key_size, "key");
                self.key_buffers.insert(shape, p);
                p
            }
        };
        let (base, place) = if kind == manifest::MapKind::LpmTrie {
            // The trie compares stored bits: every byte of every field, high padding included.
            let total: u32 = keys.iter().map(|(_, k)| k.bytes * 8).sum();
            self.bpf
                .b
                .build_store(key, self.bpf.c(32, u128::from(total)))
                .expect("store");
            (self.bpf.byte_ptr(key, self.bpf.c(64, 4)), Place::Stack(4))
        } else {
            (key, Place::Stack(8))
        };
        for (e, k) in keys {
            let v = self.expr(e);
            self.store_bits(
                base,
                k.offset * 8 + (k.bytes * 8 - k.bits),
                k.bits,
                v,
                place,
            );
        }
        (self.bpf.lookup(map, key), key)
    }

    /// Scans the slots of an array table in order; returns a pointer to the value of the
    /// first slot that matches, or null. The loop is bounded by the table's size.
    pub(super) fn scan(
        &mut self,
        map: GlobalValue<'ctx>,
        size: u32,
        key_size: u32,
        keys: &[(ast::Expr, manifest::KeyField)],
    ) -> PointerValue<'ctx> {
        let values: Vec<IntValue<'ctx>> = keys.iter().map(|(e, _)| self.expr(e)).collect();
        let i32t = self.bpf.ctx.i32_type();
        let index = self.alloca_key32("slot_index");
        let result = self.alloca_ptr("found");
        self.bpf
            .b
            .build_store(result, self.bpf.ptr().const_null())
            .expect("store");
        self.bpf
            .b
            .build_store(index, i32t.const_zero())
            .expect("store");
        let head = self.block("scan");
        let body = self.block("scan_slot");
        let check = self.block("scan_check");
        let matched = self.block("scan_match");
        let next = self.block("scan_next");
        let end = self.block("scan_end");
        self.goto(head);
        self.bpf.b.position_at_end(head);
        let i = self
            .bpf
            .b
            .build_load(i32t, index, "i")
            .expect("load")
            .into_int_value();
        let more = self
            .bpf
            .b
            .build_int_compare(
                IntPredicate::ULT,
                i,
                i32t.const_int(u64::from(size), false),
                "more",
            )
            .expect("cmp");
        self.bpf
            .b
            .build_conditional_branch(more, body, end)
            .expect("br");
        self.bpf.b.position_at_end(body);
        let slot = self.bpf.lookup(map, index);
        let has = self.bpf.b.build_is_not_null(slot, "has").expect("cmp");
        self.bpf
            .b
            .build_conditional_branch(has, check, end)
            .expect("br");
        self.bpf.b.position_at_end(check);
        let prio = self
            .bpf
            .b
            .build_load(i32t, slot, "prio")
            .expect("load")
            .into_int_value();
        let used = self
            .bpf
            .b
            .build_int_compare(IntPredicate::NE, prio, i32t.const_zero(), "used")
            .expect("cmp");
        // Every field's mismatch in one word, compared with zero once (see
        // `Bpf::opaque_int`): per-field booleans would give the verifier 2^fields paths.
        let i64t = self.bpf.ctx.i64_type();
        let mut bad = i64t.const_zero();
        for ((_, k), v) in keys.iter().zip(&values) {
            let pad = k.bytes * 8 - k.bits;
            let a = self.load_bits(slot, (4 + k.offset) * 8 + pad, k.bits, Place::Any);
            let b = self.load_bits(slot, (4 + k.offset + k.bytes) * 8 + pad, k.bits, Place::Any);
            let v = self.fit(*v, k.bits);
            let bd = &self.bpf.b;
            let miss = if k.match_kind == manifest::MatchKind::Range && k.bits <= 63 {
                // Out of `a..=b` exactly when `v - a` or `b - v` is negative as a 64-bit
                // value: the sign bit of their OR.
                let wide = |x: IntValue<'ctx>| {
                    bd.build_int_z_extend_or_bit_cast(x, i64t, "w")
                        .expect("zext")
                };
                let (v, a, b) = (wide(v), wide(a), wide(b));
                let below = bd.build_int_sub(v, a, "below").expect("sub");
                let above = bd.build_int_sub(b, v, "above").expect("sub");
                let either = bd.build_or(below, above, "out").expect("or");
                bd.build_right_shift(either, i64t.const_int(63, false), false, "sign")
                    .expect("shr")
            } else if k.match_kind == manifest::MatchKind::Range {
                // 64 bits and more: branch-free word comparisons too (a branch per bound and
                // field would put 24 jumps a slot in the verifier's history for 12 fields,
                // past its 8,192 within a 512-slot scan).
                let below = self.less_than(v, a);
                let above = self.less_than(b, v);
                self.bpf.b.build_or(below, above, "out").expect("or")
            } else {
                let masked = bd.build_and(v, b, "m").expect("and");
                let d = bd.build_xor(masked, a, "d").expect("xor");
                self.fold_to_word(d)
            };
            bad = self.bpf.b.build_or(bad, miss, "bad").expect("or");
        }
        let bad = self.bpf.opaque_int(bad);
        let all = self
            .bpf
            .b
            .build_int_compare(IntPredicate::EQ, bad, i64t.const_zero(), "all")
            .expect("cmp");
        // An empty slot ends the scan; a used one that does not match moves on.
        let used_bb = self.block("scan_used");
        self.bpf
            .b
            .build_conditional_branch(used, used_bb, end)
            .expect("br");
        self.bpf.b.position_at_end(used_bb);
        self.bpf
            .b
            .build_conditional_branch(all, matched, next)
            .expect("br");
        self.bpf.b.position_at_end(matched);
        let value = self
            .bpf
            .byte_ptr(slot, self.bpf.c(64, u128::from(key_size)));
        self.bpf.b.build_store(result, value).expect("store");
        self.goto(end);
        self.bpf.b.position_at_end(next);
        let i1 = self
            .bpf
            .b
            .build_int_add(i, i32t.const_int(1, false), "i1")
            .expect("add");
        self.bpf.b.build_store(index, i1).expect("store");
        self.goto(head);
        self.bpf.b.position_at_end(end);
        self.search_result(index, result)
    }

    /// 1 when `x < y` (unsigned, any width), else 0, as a 64-bit word computed without a
    /// branch: word by word from the most significant, `x < y` on the first word that
    /// differs. The sign bit of `(!x & y) | (!(x ^ y) & (x - y))` is a word's borrow; the
    /// words and the bits go through an opaque asm so LLVM cannot fold the idiom back into
    /// a comparison, which BPF would branch on.
    fn less_than(&self, x: IntValue<'ctx>, y: IntValue<'ctx>) -> IntValue<'ctx> {
        let b = &self.bpf.b;
        let i64t = self.bpf.ctx.i64_type();
        let bits = x.get_type().get_bit_width();
        let word = |v: IntValue<'ctx>, w: u32| {
            let shifted = b
                .build_right_shift(
                    v,
                    v.get_type().const_int(u64::from(w * 64), false),
                    false,
                    "hi",
                )
                .expect("shr");
            let t = if bits > 64 {
                b.build_int_truncate(shifted, i64t, "w").expect("trunc")
            } else {
                b.build_int_z_extend_or_bit_cast(shifted, i64t, "w")
                    .expect("zext")
            };
            self.bpf.opaque_int(t)
        };
        // 0 or 1, through the asm too: LLVM would branch on a known boolean.
        let sign = |v: IntValue<'ctx>| {
            self.bpf.opaque_int(
                b.build_right_shift(v, i64t.const_int(63, false), false, "sign")
                    .expect("shr"),
            )
        };
        // `less` so far, and 1 while every more significant word was equal.
        let (mut less, mut equal) = (i64t.const_zero(), i64t.const_int(1, false));
        for w in (0..bits.div_ceil(64)).rev() {
            let (xw, yw) = (word(x, w), word(y, w));
            let diff = b.build_xor(xw, yw, "diff").expect("xor");
            let borrow = b
                .build_or(
                    b.build_and(b.build_not(xw, "nx").expect("not"), yw, "a")
                        .expect("and"),
                    b.build_and(
                        b.build_not(diff, "same").expect("not"),
                        b.build_int_sub(xw, yw, "sub").expect("sub"),
                        "b",
                    )
                    .expect("and"),
                    "borrow",
                )
                .expect("or");
            let here = b.build_and(equal, sign(borrow), "here").expect("and");
            less = b.build_or(less, here, "less").expect("or");
            // A nonzero `diff` has its sign bit set in `diff | -diff` (the negation opaque
            // too: LLVM knows the idiom as `diff != 0`).
            let neg = self
                .bpf
                .opaque_int(b.build_int_neg(diff, "neg").expect("neg"));
            let differs = sign(b.build_or(diff, neg, "nz").expect("or"));
            let same = b
                .build_xor(differs, i64t.const_int(1, false), "same")
                .expect("xor");
            equal = b.build_and(equal, same, "equal").expect("and");
        }
        less
    }

    /// A field's difference as one 64-bit word, nonzero exactly when it is: wider fields
    /// are folded by OR-ing their 64-bit halves.
    fn fold_to_word(&self, d: IntValue<'ctx>) -> IntValue<'ctx> {
        let i64t = self.bpf.ctx.i64_type();
        let bits = d.get_type().get_bit_width();
        let b = &self.bpf.b;
        if bits <= 64 {
            return b
                .build_int_z_extend_or_bit_cast(d, i64t, "w")
                .expect("zext");
        }
        let low = b.build_int_truncate(d, i64t, "low").expect("trunc");
        let high = b
            .build_right_shift(d, d.get_type().const_int(64, false), false, "high")
            .expect("shr");
        let high = b.build_int_truncate(high, i64t, "high").expect("trunc");
        b.build_or(low, high, "fold").expect("or")
    }
}
