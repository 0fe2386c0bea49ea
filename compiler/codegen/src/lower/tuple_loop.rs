//! The tuple-space search as a `bpf_loop`: one callback call per two mask slots, so the
//! verifier checks a mask's work once, not once per mask.
//!
//! Takes: a tuple-space table's entries map, masks map (with its number of slots and the
//! rank's offset in a value) and key fields (from `table.rs`).
//! Gives: a pointer to the value of the entry of the highest rank that matches, or null.
//!
//! The caller builds the key once, in a context on its stack: the key (its first word's low
//! half left for the mask's slot index), the best rank found (`u64`), the slot of the mask it
//! was found under (`u32`, 0 for none), and, for a table whose entries the data plane never
//! writes (no direct counter or meter), room for the winner's value. `bpf_loop(n / 2,
//! callback, ctx, 0)` calls the callback for two mask slots at a time, 1 to `n`; it stops at
//! the first slot in state 0 and passes holes. For a live mask it masks the key a word at a
//! time into a probe of its own, passes the mask when its one entry cannot match or its best
//! entry cannot beat the rank found (compares only, no hash lookup), and else looks the probe
//! up, keeping the hit's rank, slot and (where there is room) value when it ranks higher.
//!
//! A copied value is the answer: the entry as it was when the search met it, which is what a
//! pointer into the map would have shown too. Otherwise the caller masks the key with the
//! winning mask again and looks it up once more for the value's pointer (a callback cannot
//! hand a map value to its caller); when a write took that entry away in between, the search
//! runs again on the table as it is then, three times in all at most. The kernel (5.17 and
//! later) inlines `bpf_loop` with a constant callback into a plain loop with a direct call:
//! the run-time cost is a call per two masks.

use super::Gen;
use crate::bpf::helper;
use inkwell::values::{GlobalValue, IntValue, PointerValue};
use inkwell::IntPredicate;
use iov_manifest as manifest;
use iov_syntax::ast;

/// Mask slots one callback call tries: fewer calls per search, a callback the verifier
/// checks a few times longer.
const PER_CALL: u32 = 2;

/// The callback's own values, shared by the slots one call tries.
struct Frame<'ctx> {
    f: inkwell::values::FunctionValue<'ctx>,
    ctx_mem: PointerValue<'ctx>,
    slot_key: PointerValue<'ctx>,
    probe: PointerValue<'ctx>,
    /// Returns 1: the masks ended.
    stop: inkwell::basic_block::BasicBlock<'ctx>,
}

impl<'a, 'ctx> Gen<'a, 'ctx> {
    /// See the module documentation. `(masks, n, rank)`: the masks map, its live slots at
    /// most, and the offset of the `u64` rank in an entry's value.
    pub(super) fn tuple_loop(
        &mut self,
        map: GlobalValue<'ctx>,
        (masks, n, rank): (GlobalValue<'ctx>, u32, u32),
        key_size: u32,
        keys: &[(ast::Expr, manifest::KeyField)],
        copy: Option<u32>,
        span: iov_diagnostics::Span,
    ) -> PointerValue<'ctx> {
        let ctx_mem = self.alloca_bytes(key_size + 16 + copy.unwrap_or(0), "ts_ctx");
        let base = self.bpf.byte_ptr(ctx_mem, self.bpf.c(64, 4));
        for (e, k) in keys {
            let v = self.expr(e);
            self.store_bits(
                base,
                k.offset * 8 + (k.bytes * 8 - k.bits),
                k.bits,
                v,
                super::bits::Place::Stack(4),
            );
        }
        let i32t = self.bpf.ctx.i32_type();
        let i64t = self.bpf.ctx.i64_type();
        let best_rank = self
            .bpf
            .byte_ptr(ctx_mem, self.bpf.c(64, u128::from(key_size)));
        let best_slot = self
            .bpf
            .byte_ptr(ctx_mem, self.bpf.c(64, u128::from(key_size + 8)));
        let callback = self.mask_callback(map, masks, (rank, copy), key_size);
        let name = callback.get_name().to_string_lossy().into_owned();
        let mut called = self.bpf.called.borrow_mut();
        if !called.iter().any(|(f, _)| *f == name) {
            called.push((name, span));
        }
        drop(called);
        let result = self.alloca_ptr("ts_found");
        let tries = self.alloca(32, "ts_tries");
        let probe = self.search_probe();
        let search = self.block("ts_search");
        let again = self.block("ts_again");
        let masked = self.block("ts_masked");
        let got = self.block("ts_got");
        let retry = self.block("ts_retry");
        let end = self.block("ts_done");
        self.goto(search);
        self.bpf.b.position_at_end(search);
        self.bpf
            .b
            .build_store(best_rank, i64t.const_zero())
            .expect("store");
        self.bpf
            .b
            .build_store(best_slot, i32t.const_zero())
            .expect("store");
        self.bpf.call_helper(
            helper::LOOP,
            Some(i64t),
            &[
                i32t.const_int(u64::from(n.div_ceil(PER_CALL)), false)
                    .into(),
                callback.as_global_value().as_pointer_value().into(),
                ctx_mem.into(),
                i64t.const_zero().into(),
            ],
        );
        let b = &self.bpf.b;
        let slot = b
            .build_load(i32t, best_slot, "best_slot")
            .expect("load")
            .into_int_value();
        let some = b
            .build_int_compare(IntPredicate::NE, slot, i32t.const_zero(), "some")
            .expect("cmp");
        if copy.is_some() {
            // The callback copied the winner's value: the search is done.
            let copied = self.block("ts_copied");
            b.build_conditional_branch(some, copied, end).expect("br");
            self.bpf.b.position_at_end(copied);
            let value = self
                .bpf
                .byte_ptr(ctx_mem, self.bpf.c(64, u128::from(key_size + 16)));
            self.bpf.b.build_store(result, value).expect("store");
            self.goto(end);
        } else {
            b.build_conditional_branch(some, again, end).expect("br");
        }
        // The winner's value: its mask again, then one lookup of the same rank. A write may
        // have deleted or replaced the entry since the callback saw it (its mask's slot
        // cannot have changed: a hole is reused only after a grace period, which this run
        // holds off); then the search runs again, on the table as it is now, at most three
        // times in all.
        b.position_at_end(again);
        let mask = self.bpf.lookup(masks, best_slot);
        let has = self.bpf.b.build_is_not_null(mask, "has").expect("cmp");
        self.bpf
            .b
            .build_conditional_branch(has, masked, retry)
            .expect("br");
        self.bpf.b.position_at_end(masked);
        self.mask_key(ctx_mem, mask, probe, key_size);
        self.bpf.b.build_store(probe, slot).expect("store");
        let hit = self.bpf.lookup(map, probe);
        let b = &self.bpf.b;
        let is_hit = b.build_is_not_null(hit, "hit").expect("cmp");
        let check = self.block("ts_check");
        self.bpf
            .b
            .build_conditional_branch(is_hit, check, retry)
            .expect("br");
        self.bpf.b.position_at_end(check);
        let hp = self.bpf.byte_ptr(hit, self.bpf.c(64, u128::from(rank)));
        let b = &self.bpf.b;
        let r = b
            .build_load(i64t, hp, "rank")
            .expect("load")
            .into_int_value();
        let want = b
            .build_load(i64t, best_rank, "want")
            .expect("load")
            .into_int_value();
        let same = b
            .build_int_compare(IntPredicate::EQ, r, want, "same")
            .expect("cmp");
        b.build_conditional_branch(same, got, retry).expect("br");
        b.position_at_end(got);
        b.build_store(result, hit).expect("store");
        self.goto(end);
        self.bpf.b.position_at_end(retry);
        let b = &self.bpf.b;
        let t = b
            .build_load(i32t, tries, "tries")
            .expect("load")
            .into_int_value();
        let t1 = b
            .build_int_add(t, i32t.const_int(1, false), "t1")
            .expect("add");
        b.build_store(tries, t1).expect("store");
        let more = b
            .build_int_compare(IntPredicate::ULT, t1, i32t.const_int(3, false), "more")
            .expect("cmp");
        b.build_conditional_branch(more, search, end).expect("br");
        self.bpf.b.position_at_end(end);
        self.search_result(tries, result)
    }

    /// The probe the winner is looked up again with: one for every apply of every table
    /// searched by masks, as long as the longest key, since no two searches are ever in
    /// flight at once (an action applies no table) and the program shares 512 bytes of
    /// stack with the search's own function. Each apply keeps a context of its own: with
    /// one shared, the verifier met each table's callback with the bytes the previous
    /// search left there and walked more of it (five tables searched in a row: 10,052
    /// steps against 4,357 with 2 masks each, 26,170 against 16,307 with 256).
    fn search_probe(&mut self) -> PointerValue<'ctx> {
        if let Some(p) = self.search_probe {
            return p;
        }
        let bytes = self
            .tables
            .values()
            .filter(|t| t.masks.is_some())
            .map(|t| t.key_size)
            .max()
            .unwrap_or(8);
        let p = self.alloca_bytes(bytes, "ts_probe");
        self.search_probe = Some(p);
        p
    }

    /// Stores `key & mask` into `probe` a word at a time; returns the OR of each masked
    /// word's difference from the mask's one entry (the first word's low half, where the
    /// state and the slot index live, left out).
    fn mask_key(
        &self,
        key: PointerValue<'ctx>,
        mask: PointerValue<'ctx>,
        probe: PointerValue<'ctx>,
        key_size: u32,
    ) -> IntValue<'ctx> {
        let i64t = self.bpf.ctx.i64_type();
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
        diff
    }

    /// The callback: one mask slot (`index + 1`) of the search (module documentation).
    fn mask_callback(
        &mut self,
        map: GlobalValue<'ctx>,
        masks: GlobalValue<'ctx>,
        (rank, copy): (u32, Option<u32>),
        key_size: u32,
    ) -> inkwell::values::FunctionValue<'ctx> {
        let name: String = format!("iov_masks_{}", masks.get_name().to_string_lossy())
            .chars()
            .map(|ch| if ch.is_ascii_alphanumeric() { ch } else { '_' })
            .collect();
        // Every apply of one table searches alike: one callback serves them all.
        if let Some(f) = self.bpf.module.get_function(&name) {
            return f;
        }
        let here = self.bpf.b.get_insert_block().expect("a block");
        let loc = self.bpf.b.get_current_debug_location();
        let (f, sp) = self.bpf.loop_callback(&name, 1);
        let outer = self.bpf.subprogram.replace(sp);
        // Nothing in the callback reads the packet; helper calls there must not renew the
        // caller's packet end.
        let end_slot = self.bpf.data_end_slot.take();
        let c = self.bpf.ctx;
        let (i32t, i64t) = (c.i32_type(), c.i64_type());
        let entry = c.append_basic_block(f, "entry");
        let stop = c.append_basic_block(f, "stop");
        let cont = c.append_basic_block(f, "continue");
        self.bpf.b.position_at_end(entry);
        self.bpf.at(0);
        let index = f.get_nth_param(0).expect("index").into_int_value();
        let ctx_mem = f.get_nth_param(1).expect("ctx").into_pointer_value();
        let b = &self.bpf.b;
        // A word of its own, as `Gen::alloca_key32` gives the program's keys.
        let slot_key = b.build_alloca(c.i64_type(), "slot").expect("alloca");
        slot_key
            .as_instruction()
            .expect("an alloca is an instruction")
            .set_alignment(8)
            .expect("8 is a valid alignment");
        let probe = b
            .build_alloca(c.i8_type().array_type(key_size), "probe")
            .expect("alloca");
        let first = b.build_int_truncate(index, i32t, "i").expect("trunc");
        let first = b
            .build_int_mul(first, i32t.const_int(u64::from(PER_CALL), false), "first")
            .expect("mul");
        let frame = Frame {
            f,
            ctx_mem,
            slot_key,
            probe,
            stop,
        };
        for u in 0..PER_CALL {
            let next = if u + 1 == PER_CALL {
                cont
            } else {
                c.append_basic_block(f, "next")
            };
            let b = &self.bpf.b;
            let i = b
                .build_int_add(first, i32t.const_int(u64::from(u + 1), false), "slot_i")
                .expect("add");
            self.one_mask(&frame, (map, masks), (rank, copy), key_size, i, next);
            self.bpf.b.position_at_end(next);
        }
        let b = &self.bpf.b;
        b.build_return(Some(&i64t.const_zero())).expect("ret");
        b.position_at_end(stop);
        b.build_return(Some(&i64t.const_int(1, false)))
            .expect("ret");
        // Back to the program.
        self.bpf.data_end_slot.set(end_slot);
        self.bpf.subprogram = outer;
        self.bpf.b.position_at_end(here);
        self.bpf
            .b
            .set_current_debug_location(loc.expect("the program has a location"));
        f
    }

    /// The work for mask slot `i` in the callback, from the current block to `next` (the
    /// following slot) or the frame's `stop`.
    fn one_mask(
        &mut self,
        fr: &Frame<'ctx>,
        (map, masks): (GlobalValue<'ctx>, GlobalValue<'ctx>),
        (rank, copy): (u32, Option<u32>),
        key_size: u32,
        i: IntValue<'ctx>,
        next: inkwell::basic_block::BasicBlock<'ctx>,
    ) {
        let c = self.bpf.ctx;
        let (i32t, i64t) = (c.i32_type(), c.i64_type());
        let (f, ctx_mem, probe, stop) = (fr.f, fr.ctx_mem, fr.probe, fr.stop);
        let check = c.append_basic_block(f, "check");
        let live = c.append_basic_block(f, "live");
        let not_live = c.append_basic_block(f, "not_live");
        let lookup = c.append_basic_block(f, "lookup");
        let got = c.append_basic_block(f, "got");
        let take = c.append_basic_block(f, "take");
        let b = &self.bpf.b;
        b.build_store(fr.slot_key, i).expect("store");
        let mask = self.bpf.lookup(masks, fr.slot_key);
        let b = &self.bpf.b;
        let has = b.build_is_not_null(mask, "has").expect("cmp");
        b.build_conditional_branch(has, check, stop).expect("br");
        b.position_at_end(check);
        let state = b
            .build_load(i32t, mask, "state")
            .expect("load")
            .into_int_value();
        let is_live = b
            .build_int_compare(IntPredicate::EQ, state, i32t.const_int(1, false), "live")
            .expect("cmp");
        b.build_conditional_branch(is_live, live, not_live)
            .expect("br");
        // State 0 ends the masks; a hole (2) is passed.
        b.position_at_end(not_live);
        let end = b
            .build_int_compare(IntPredicate::EQ, state, i32t.const_zero(), "end")
            .expect("cmp");
        b.build_conditional_branch(end, stop, next).expect("br");
        b.position_at_end(live);
        let diff = self.mask_key(ctx_mem, mask, probe, key_size);
        let diff = self.bpf.opaque_int(diff);
        let b = &self.bpf.b;
        b.build_store(probe, i).expect("store");
        let fp = self
            .bpf
            .byte_ptr(mask, self.bpf.c(64, u128::from(key_size)));
        let b = &self.bpf.b;
        let flag = b
            .build_load(i32t, fp, "single")
            .expect("load")
            .into_int_value();
        let one = b
            .build_int_compare(IntPredicate::EQ, flag, i32t.const_int(1, false), "one")
            .expect("cmp");
        let differs = b
            .build_int_compare(IntPredicate::NE, diff, i64t.const_zero(), "differs")
            .expect("cmp");
        let cannot = b.build_and(one, differs, "cannot").expect("and");
        // Nor can a mask whose best entry ranks no higher than the match found.
        let mp = self
            .bpf
            .byte_ptr(mask, self.bpf.c(64, u128::from(2 * key_size + 8)));
        let rp = self
            .bpf
            .byte_ptr(ctx_mem, self.bpf.c(64, u128::from(key_size)));
        let b = &self.bpf.b;
        let most = b
            .build_load(i64t, mp, "most")
            .expect("load")
            .into_int_value();
        let found = b
            .build_load(i64t, rp, "found_rank")
            .expect("load")
            .into_int_value();
        let beaten = b
            .build_int_compare(IntPredicate::ULE, most, found, "beaten")
            .expect("cmp");
        let cannot = b.build_or(cannot, beaten, "cannot").expect("or");
        b.build_conditional_branch(cannot, next, lookup)
            .expect("br");
        b.position_at_end(lookup);
        let hit = self.bpf.lookup(map, probe);
        let b = &self.bpf.b;
        let is_hit = b.build_is_not_null(hit, "hit").expect("cmp");
        b.build_conditional_branch(is_hit, got, next).expect("br");
        b.position_at_end(got);
        let hp = self.bpf.byte_ptr(hit, self.bpf.c(64, u128::from(rank)));
        let b = &self.bpf.b;
        let r = b
            .build_load(i64t, hp, "rank")
            .expect("load")
            .into_int_value();
        let better = b
            .build_int_compare(IntPredicate::UGT, r, found, "better")
            .expect("cmp");
        b.build_conditional_branch(better, take, next).expect("br");
        b.position_at_end(take);
        b.build_store(rp, r).expect("store");
        let sp_ptr = self
            .bpf
            .byte_ptr(ctx_mem, self.bpf.c(64, u128::from(key_size + 8)));
        let b = &self.bpf.b;
        b.build_store(sp_ptr, i).expect("store");
        // The value as it is now, for a table whose entries the data plane never writes.
        for w in 0..copy.unwrap_or(0) / 8 {
            let from = self.bpf.byte_ptr(hit, self.bpf.c(64, u128::from(w * 8)));
            let to = self
                .bpf
                .byte_ptr(ctx_mem, self.bpf.c(64, u128::from(key_size + 16 + w * 8)));
            let b = &self.bpf.b;
            let v = b.build_load(i64t, from, "vw").expect("load");
            b.build_store(to, v).expect("store");
        }
        self.bpf.b.build_unconditional_branch(next).expect("br");
    }
}
