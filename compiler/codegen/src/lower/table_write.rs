//! Tables the data plane writes: entries that expire when idle, and `add_entry`.
//!
//! Takes: a table with `add_on_miss` or `idle_timeout` (an LRU hash map, exact keys), the
//! pointer its lookup found and the key it looked up; an `add_entry(X(args))` call in one of
//! its actions.
//! Gives: at lookup, an entry whose last use is older than the timeout deleted and taken as a
//! miss, any other hit's last-use time set to now; `add_entry` the value built as the control
//! plane builds it (action id, then the arguments big-endian at their offsets, the direct
//! counter zero, the last use now) and added with `BPF_NOEXIST`, so of two CPUs adding one key
//! the first wins and the other gets false. A full table evicts its least recently used entry
//! (LRU hash) rather than refusing the add. `t.learn(keys..., X(args))`, from anywhere in
//! the control, writes the entry of another key (a switch learns the source address into
//! the table it looks destinations up in): refreshed when it already runs `X(args)`,
//! written with `BPF_ANY` otherwise.

use super::bits::Place;
use super::Gen;
use crate::bpf::helper;
use inkwell::values::{GlobalValue, IntValue, PointerValue};
use inkwell::IntPredicate;
use iov_manifest as manifest;
use iov_syntax::ast;

/// `BPF_NOEXIST`: add only a key that is not there.
const NOEXIST: u64 = 1;
/// `BPF_ANY`: add, or replace what is there.
const ANY: u64 = 0;

impl<'a, 'ctx> Gen<'a, 'ctx> {
    /// The entry found, unless it has been idle past the timeout (then deleted: null); a
    /// live entry's last use becomes now.
    pub fn expire_or_touch(
        &mut self,
        map: GlobalValue<'ctx>,
        key: PointerValue<'ctx>,
        found: PointerValue<'ctx>,
        dp: &manifest::DataPlane,
    ) -> PointerValue<'ctx> {
        let (Some(timeout), Some(at)) = (dp.idle_timeout_ns, dp.last_used_offset) else {
            return found;
        };
        let i64t = self.bpf.ctx.i64_type();
        let now = self.now();
        let result = self
            .entry_builder()
            .build_alloca(self.bpf.ptr(), "live")
            .expect("alloca");
        self.bpf
            .b
            .build_store(result, self.bpf.ptr().const_null())
            .expect("store");
        let hit = self.bpf.b.build_is_not_null(found, "found").expect("cmp");
        let check = self.block("idle_check");
        let expired = self.block("idle_expired");
        let live = self.block("idle_live");
        let done = self.block("idle_done");
        self.bpf
            .b
            .build_conditional_branch(hit, check, done)
            .expect("br");
        self.bpf.b.position_at_end(check);
        let slot = self.bpf.byte_ptr(found, self.bpf.c(64, u128::from(at)));
        let last = self.bpf.load_u64(slot);
        // Another CPU may have used it later than this one's clock read: not expired.
        let later = self
            .bpf
            .b
            .build_int_compare(IntPredicate::UGT, now, last, "later")
            .expect("cmp");
        let idle = self.bpf.b.build_int_sub(now, last, "idle").expect("sub");
        let long = self
            .bpf
            .b
            .build_int_compare(
                IntPredicate::UGT,
                idle,
                i64t.const_int(timeout, false),
                "long",
            )
            .expect("cmp");
        let gone = self.bpf.b.build_and(later, long, "gone").expect("and");
        self.bpf
            .b
            .build_conditional_branch(gone, expired, live)
            .expect("br");
        self.bpf.b.position_at_end(expired);
        self.bpf.call_helper(
            helper::MAP_DELETE_ELEM,
            Some(i64t),
            &[map.as_pointer_value().into(), key.into()],
        );
        self.goto(done);
        self.bpf.b.position_at_end(live);
        let st = self.bpf.b.build_store(slot, now).expect("store");
        st.set_alignment(8).expect("a store takes an alignment");
        self.bpf.b.build_store(result, found).expect("store");
        self.goto(done);
        self.bpf.b.position_at_end(done);
        self.bpf
            .b
            .build_load(self.bpf.ptr(), result, "live")
            .expect("load")
            .into_pointer_value()
    }

    /// `add_entry(X(args))`: true when the entry was added.
    pub fn add_entry_call(&mut self, e: &ast::Expr, args: &[ast::Expr]) -> IntValue<'ctx> {
        let no = self.bpf.c(1, 0);
        let Some(applying) = self.applying.clone() else {
            self.unsupported(e.span, "`add_entry` outside a table's action");
            return no;
        };
        let Some(key) = applying.key else {
            self.unsupported(e.span, "`add_entry` in a scanned table");
            return no;
        };
        let Some((action, inner)) = args.first().and_then(ast::Expr::as_named_call) else {
            return no;
        };
        let map = self.tables[&applying.table].map;
        let Some((value, _)) = self.new_entry(&applying.table, &action.name, inner) else {
            return no;
        };
        self.update(map, key, value, NOEXIST)
    }

    /// The value of an entry of `table` running `action(inner)`, its last use now, as the
    /// control plane builds it; and the bytes that say what it runs (action id, arguments).
    fn new_entry(
        &mut self,
        table: &str,
        action: &str,
        inner: &[ast::Expr],
    ) -> Option<(PointerValue<'ctx>, u32)> {
        let t = &self.tables[table];
        let (value_size, dp) = (t.value_size, t.data_plane.clone());
        let a = t.actions.iter().find(|a| a.name == action).cloned()?;
        let value = self.alloca_bytes(value_size, "new_entry");
        let i32t = self.bpf.ctx.i32_type();
        self.bpf
            .b
            .build_store(value, i32t.const_int(u64::from(a.id), false))
            .expect("store");
        for (p, arg) in a.params.iter().zip(inner) {
            let v = self.expr(arg);
            let v = self.fit(v, p.bits);
            self.store_bits(
                value,
                p.offset * 8 + (p.bytes * 8 - p.bits),
                p.bits,
                v,
                Place::Stack(8),
            );
        }
        if let Some(at) = dp.as_ref().and_then(|d| d.last_used_offset) {
            let now = self.now();
            let slot = self.bpf.byte_ptr(value, self.bpf.c(64, u128::from(at)));
            let st = self.bpf.b.build_store(slot, now).expect("store");
            st.set_alignment(8).expect("a store takes an alignment");
        }
        let what = a
            .params
            .iter()
            .map(|p| p.offset + p.bytes)
            .max()
            .unwrap_or(4);
        Some((value, what.max(4)))
    }

    /// `bpf_map_update_elem(map, key, value, flags) == 0`.
    fn update(
        &self,
        map: GlobalValue<'ctx>,
        key: PointerValue<'ctx>,
        value: PointerValue<'ctx>,
        flags: u64,
    ) -> IntValue<'ctx> {
        let i64t = self.bpf.ctx.i64_type();
        let r = self
            .bpf
            .call_helper(
                helper::MAP_UPDATE_ELEM,
                Some(i64t),
                &[
                    map.as_pointer_value().into(),
                    key.into(),
                    value.into(),
                    i64t.const_int(flags, false).into(),
                ],
            )
            .expect("bpf_map_update_elem returns a value");
        self.bpf
            .b
            .build_int_compare(IntPredicate::EQ, r, i64t.const_zero(), "updated")
            .expect("cmp")
    }

    /// `t.learn(keys..., X(args))`: the entry of `t` for these keys made to run `X(args)`.
    /// One that runs it already only has its last use set to now (a lookup and a store);
    /// else the entry is written whole (`BPF_ANY`: added, or replaced when the key ran
    /// something else, as when a station moves to another port). True when written.
    pub fn learn_call(&mut self, table: &str, args: &[ast::Expr]) -> IntValue<'ctx> {
        let no = self.bpf.c(1, 0);
        let t = &self.tables[table];
        let (map, kind, key_size, dp) = (t.map, t.kind, t.key_size, t.data_plane.clone());
        let keys: Vec<_> = args
            .iter()
            .zip(&t.keys)
            .map(|(a, (_, k))| (a.clone(), k.clone()))
            .collect();
        let Some((action, inner)) = args.last().and_then(ast::Expr::as_named_call) else {
            return no;
        };
        let (found, key) = self.lookup_key(map, kind, key_size, &keys);
        let Some((value, what)) = self.new_entry(table, &action.name, inner) else {
            return no;
        };
        let result = self.alloca(1, "learned");
        let i8t = self.bpf.ctx.i8_type();
        let hit = self.bpf.b.build_is_not_null(found, "known").expect("cmp");
        let compare = self.block("learn_compare");
        let touch = self.block("learn_touch");
        let write = self.block("learn_write");
        let done = self.block("learn_done");
        self.bpf
            .b
            .build_conditional_branch(hit, compare, write)
            .expect("br");
        self.bpf.b.position_at_end(compare);
        let mut differ = i8t.const_zero();
        for i in 0..what {
            let at = self.bpf.c(64, u128::from(i));
            let load = |p| {
                self.bpf
                    .b
                    .build_load(i8t, self.bpf.byte_ptr(p, at), "b")
                    .expect("load")
                    .into_int_value()
            };
            let x = self
                .bpf
                .b
                .build_xor(load(found), load(value), "x")
                .expect("xor");
            differ = self.bpf.b.build_or(differ, x, "d").expect("or");
        }
        let same = self
            .bpf
            .b
            .build_int_compare(IntPredicate::EQ, differ, i8t.const_zero(), "same")
            .expect("cmp");
        self.bpf
            .b
            .build_conditional_branch(same, touch, write)
            .expect("br");
        self.bpf.b.position_at_end(touch);
        if let Some(at) = dp.as_ref().and_then(|d| d.last_used_offset) {
            let now = self.now();
            let slot = self.bpf.byte_ptr(found, self.bpf.c(64, u128::from(at)));
            let st = self.bpf.b.build_store(slot, now).expect("store");
            st.set_alignment(8).expect("a store takes an alignment");
        }
        self.goto(done);
        self.bpf.b.position_at_end(write);
        let ok = self.update(map, key, value, ANY);
        self.bpf.b.build_store(result, ok).expect("store");
        self.goto(done);
        self.bpf.b.position_at_end(done);
        self.bpf
            .b
            .build_load(self.bpf.ctx.bool_type(), result, "learned")
            .expect("load")
            .into_int_value()
    }
}
