//! Table lookups: the key built in network order and looked up in a hash map or LPM trie;
//! the slots of a scanned table (a range key) tried in priority order; or the masks of a
//! tuple-space table (ternary and optional keys) probed one hash lookup each.
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
        let key = self.alloca_bytes(key_size, "key");
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
        let index = self.alloca(32, "slot_index");
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
        let mut wide = Vec::new();
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
                // 64 bits and more: two comparisons, which LLVM branches on directly.
                let lo = bd
                    .build_int_compare(IntPredicate::UGE, v, a, "lo")
                    .expect("cmp");
                let hi = bd
                    .build_int_compare(IntPredicate::ULE, v, b, "hi")
                    .expect("cmp");
                wide.push(bd.build_and(lo, hi, "in").expect("and"));
                continue;
            } else {
                let masked = bd.build_and(v, b, "m").expect("and");
                let d = bd.build_xor(masked, a, "d").expect("xor");
                self.fold_to_word(d)
            };
            bad = self.bpf.b.build_or(bad, miss, "bad").expect("or");
        }
        let bad = self.bpf.opaque_int(bad);
        let mut all = self
            .bpf
            .b
            .build_int_compare(IntPredicate::EQ, bad, i64t.const_zero(), "all")
            .expect("cmp");
        for ok in wide {
            all = self.bpf.b.build_and(all, ok, "all").expect("and");
        }
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
        // Forget where the scan stopped: the verifier can then treat every exit alike
        // instead of checking the rest of the program once per slot.
        self.bpf
            .b
            .build_store(index, i32t.const_zero())
            .expect("store");
        self.bpf
            .b
            .build_load(self.bpf.ptr(), result, "found")
            .expect("load")
            .into_pointer_value()
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

    /// Tuple-space search: the key is built once; each live mask of the masks map (slots 1
    /// to `n`, up to the first in state 0, skipping holes) masks it a word at a time, with
    /// the mask's slot index in the first word, and the masked key is looked up in the
    /// entries map. The hit of the highest rank (a `u64` at `rank` in the value) wins;
    /// returns a pointer to its value, or null. The loop is bounded by `n`.
    pub(super) fn tuple_search(
        &mut self,
        map: GlobalValue<'ctx>,
        (masks, n, rank): (GlobalValue<'ctx>, u32, u32),
        key_size: u32,
        keys: &[(ast::Expr, manifest::KeyField)],
    ) -> PointerValue<'ctx> {
        let key = self.alloca_bytes(key_size, "ts_key");
        let base = self.bpf.byte_ptr(key, self.bpf.c(64, 4));
        for (e, k) in keys {
            let v = self.expr(e);
            self.store_bits(
                base,
                k.offset * 8 + (k.bytes * 8 - k.bits),
                k.bits,
                v,
                Place::Stack(4),
            );
        }
        let probe = self.alloca_bytes(key_size, "ts_probe");
        let i32t = self.bpf.ctx.i32_type();
        let i64t = self.bpf.ctx.i64_type();
        let index = self.alloca(32, "mask_index");
        let best = self.alloca_ptr("ts_best");
        let best_rank = self.alloca(64, "ts_best_rank");
        self.bpf
            .b
            .build_store(index, i32t.const_int(1, false))
            .expect("store");
        let head = self.block("ts");
        let body = self.block("ts_mask");
        let check = self.block("ts_check");
        let skip = self.block("ts_skip");
        let probing = self.block("ts_probe");
        let got = self.block("ts_hit");
        let take = self.block("ts_take");
        let next = self.block("ts_next");
        let end = self.block("ts_end");
        self.goto(head);
        self.bpf.b.position_at_end(head);
        let b = &self.bpf.b;
        let i = b
            .build_load(i32t, index, "i")
            .expect("load")
            .into_int_value();
        let more = b
            .build_int_compare(
                IntPredicate::ULE,
                i,
                i32t.const_int(u64::from(n), false),
                "more",
            )
            .expect("cmp");
        b.build_conditional_branch(more, body, end).expect("br");
        b.position_at_end(body);
        let mask = self.bpf.lookup(masks, index);
        let b = &self.bpf.b;
        let has = b.build_is_not_null(mask, "has").expect("cmp");
        b.build_conditional_branch(has, check, end).expect("br");
        b.position_at_end(check);
        let state = b
            .build_load(i32t, mask, "state")
            .expect("load")
            .into_int_value();
        let live = b
            .build_int_compare(IntPredicate::EQ, state, i32t.const_int(1, false), "live")
            .expect("cmp");
        b.build_conditional_branch(live, probing, skip).expect("br");
        // State 0 ends the masks; a hole (2) is skipped.
        b.position_at_end(skip);
        let stop = b
            .build_int_compare(IntPredicate::EQ, state, i32t.const_zero(), "stop")
            .expect("cmp");
        b.build_conditional_branch(stop, end, next).expect("br");
        b.position_at_end(probing);
        // A mask that holds one entry keeps its masked key after the mask (the first word's
        // low half is the flag, where the stored key has the slot index): a probe that
        // differs from it cannot match, and skips the hash lookup.
        let mut diff = i64t.const_zero();
        for w in 0..key_size / 8 {
            let at = self.bpf.c(64, u128::from(w * 8));
            let kp = self.bpf.byte_ptr(key, at);
            let mp = self.bpf.byte_ptr(mask, at);
            let pp = self.bpf.byte_ptr(probe, at);
            let ip = self
                .bpf
                .byte_ptr(mask, self.bpf.c(64, u128::from(key_size + w * 8)));
            let b = &self.bpf.b;
            let kw = b.build_load(i64t, kp, "kw").expect("load").into_int_value();
            let mw = b.build_load(i64t, mp, "mw").expect("load").into_int_value();
            let pw = b.build_and(kw, mw, "pw").expect("and");
            b.build_store(pp, pw).expect("store");
            let iw = b.build_load(i64t, ip, "iw").expect("load").into_int_value();
            let mut d = b.build_xor(pw, iw, "d").expect("xor");
            if w == 0 {
                d = b
                    .build_and(d, i64t.const_int(0xffff_ffff_0000_0000, false), "d0")
                    .expect("and");
            }
            diff = b.build_or(diff, d, "diff").expect("or");
        }
        let lookup = self.block("ts_lookup");
        let fp = self
            .bpf
            .byte_ptr(mask, self.bpf.c(64, u128::from(key_size)));
        let b = &self.bpf.b;
        b.build_store(probe, i).expect("store");
        let flag = b
            .build_load(i32t, fp, "single")
            .expect("load")
            .into_int_value();
        let one = b
            .build_int_compare(IntPredicate::EQ, flag, i32t.const_int(1, false), "one")
            .expect("cmp");
        let diff = self.bpf.opaque_int(diff);
        let b = &self.bpf.b;
        let differs = b
            .build_int_compare(IntPredicate::NE, diff, i64t.const_zero(), "differs")
            .expect("cmp");
        let cannot = b.build_and(one, differs, "cannot").expect("and");
        // Nor can a mask whose best entry ranks no higher than the match found.
        let mp = self
            .bpf
            .byte_ptr(mask, self.bpf.c(64, u128::from(2 * key_size + 8)));
        let b = &self.bpf.b;
        let most = b
            .build_load(i64t, mp, "most")
            .expect("load")
            .into_int_value();
        let found_rank = b
            .build_load(i64t, best_rank, "found_rank")
            .expect("load")
            .into_int_value();
        let beaten = b
            .build_int_compare(IntPredicate::ULE, most, found_rank, "beaten")
            .expect("cmp");
        let cannot = b.build_or(cannot, beaten, "cannot").expect("or");
        b.build_conditional_branch(cannot, next, lookup)
            .expect("br");
        b.position_at_end(lookup);
        let hit = self.bpf.lookup(map, probe);
        let b = &self.bpf.b;
        let found = b.build_is_not_null(hit, "found").expect("cmp");
        b.build_conditional_branch(found, got, next).expect("br");
        b.position_at_end(got);
        let rp = self.bpf.byte_ptr(hit, self.bpf.c(64, u128::from(rank)));
        let b = &self.bpf.b;
        let r = b
            .build_load(i64t, rp, "rank")
            .expect("load")
            .into_int_value();
        let top = b
            .build_load(i64t, best_rank, "top")
            .expect("load")
            .into_int_value();
        let better = b
            .build_int_compare(IntPredicate::UGT, r, top, "better")
            .expect("cmp");
        b.build_conditional_branch(better, take, next).expect("br");
        b.position_at_end(take);
        b.build_store(best, hit).expect("store");
        b.build_store(best_rank, r).expect("store");
        b.build_unconditional_branch(next).expect("br");
        b.position_at_end(next);
        let i1 = b
            .build_int_add(i, i32t.const_int(1, false), "i1")
            .expect("add");
        b.build_store(index, i1).expect("store");
        b.build_unconditional_branch(head).expect("br");
        b.position_at_end(end);
        // As after a scan: every exit alike for the verifier.
        b.build_store(index, i32t.const_zero()).expect("store");
        b.build_store(best_rank, i64t.const_zero()).expect("store");
        b.build_load(self.bpf.ptr(), best, "found")
            .expect("load")
            .into_pointer_value()
    }
}
