//! Table lookups: the key built in network order and looked up in a hash map or LPM trie,
//! or the slots of a scanned table (ternary, range and optional keys) tried in priority
//! order.
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
        let mut all = used;
        for ((_, k), v) in keys.iter().zip(&values) {
            let pad = k.bytes * 8 - k.bits;
            let a = self.load_bits(slot, (4 + k.offset) * 8 + pad, k.bits, Place::Any);
            let b = self.load_bits(slot, (4 + k.offset + k.bytes) * 8 + pad, k.bits, Place::Any);
            let v = self.fit(*v, k.bits);
            let bd = &self.bpf.b;
            let ok = if k.match_kind == manifest::MatchKind::Range {
                let lo = bd
                    .build_int_compare(IntPredicate::UGE, v, a, "lo")
                    .expect("cmp");
                let hi = bd
                    .build_int_compare(IntPredicate::ULE, v, b, "hi")
                    .expect("cmp");
                bd.build_and(lo, hi, "in").expect("and")
            } else {
                let masked = bd.build_and(v, b, "m").expect("and");
                bd.build_int_compare(IntPredicate::EQ, masked, a, "eq")
                    .expect("cmp")
            };
            all = self.bpf.b.build_and(all, ok, "all").expect("and");
        }
        // An empty slot ends the scan; a used one that does not match moves on.
        let stop = self.bpf.b.build_not(used, "empty").expect("not");
        let go_on = self.block("scan_go_on");
        self.bpf
            .b
            .build_conditional_branch(all, matched, go_on)
            .expect("br");
        self.bpf.b.position_at_end(go_on);
        self.bpf
            .b
            .build_conditional_branch(stop, end, next)
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
}
