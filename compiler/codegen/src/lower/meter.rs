//! The `meter` extern: token buckets as RFC 2697 (srTCM) and RFC 2698 (trTCM) define them,
//! colour-blind, in packets or bytes.
//!
//! Takes: a `meter(size, MeterType.X)` instance and its `execute(index)` calls.
//! Gives: an array map of cells laid out as `iov_manifest::meter` says, each beginning with a
//! `bpf_spin_lock`; `execute` reads the clock, takes the cell's lock, refills the buckets for
//! the time since the last update, takes the packet's tokens from them and gives its colour,
//! then unlocks. The lock, not atomics, because one update reads and writes five fields (two
//! buckets, the time, the started flag) that must change together: with atomics a concurrent
//! refill could credit the same interval twice or lose a decrement. Buckets count nano-tokens
//! (tokens x 10^9), so a refill is `elapsed_ns x rate` with no division and no rounding loss
//! however often packets come; elapsed time is first capped at the time that fills the bucket
//! (`FILL_C`, `FILL_P`, set by the control plane), so the product cannot overflow. An
//! unconfigured cell, or an index past the end, is green.
//!
//! A `direct_meter` is the same cells, one per entry of the table that names it: the entry's
//! value holds its cell's index, which the control plane gives when it adds the entry.

use super::Gen;
use crate::bpf::helper;
use inkwell::values::{IntValue, PointerValue};
use inkwell::IntPredicate;
use iov_manifest::meter as cell;
use iov_manifest::{self as manifest, MeterKind};
use iov_syntax::ast;

impl<'a, 'ctx> Gen<'a, 'ctx> {
    /// Creates the map of a `meter` instance and records it in the manifest.
    pub fn meter_instance(&mut self, name: &str, full: String, size: u32, kind: MeterKind) {
        let map = self.bpf.locked_array(name, cell::SIZE as u32, size);
        self.maps.insert(name.to_string(), map);
        self.manifest.meters.push(manifest::Meter {
            name: full,
            map: name.to_string(),
            size,
            kind,
            table: None,
        });
    }

    /// Creates the cells of `direct_meter` instance `meter` for a table of `size` entries
    /// whose values hold a cell index at `offset`: cell 0 plus one per entry.
    pub fn direct_meter_instance(
        &mut self,
        meter: &str,
        table: &str,
        size: u32,
        offset: u32,
    ) -> manifest::DirectMeter {
        let kind = self
            .direct_meters
            .get(meter)
            .copied()
            .unwrap_or(MeterKind::Packets);
        let full = format!("{}.{meter}", self.control);
        self.meter_instance(meter, full.clone(), size + 1, kind);
        if let Some(m) = self.manifest.meters.last_mut() {
            m.table = Some(format!("{}.{table}", self.control));
        }
        manifest::DirectMeter { name: full, offset }
    }

    /// `m.execute()` or `m.execute(colour)` of a direct meter: the cell of the entry that
    /// the table being applied found. On a miss the default slot's index is 0, a cell never
    /// configured: green.
    pub fn direct_meter_execute(
        &mut self,
        obj: &ast::Expr,
        pre: Option<&ast::Expr>,
    ) -> IntValue<'ctx> {
        let at = self.applying.as_ref().and_then(|a| {
            let (meter, offset) = self.tables.get(&a.table)?.direct_meter.as_ref()?;
            (Some(meter.as_str()) == instance_name(obj)).then_some((a.value?, *offset))
        });
        let Some((value, offset)) = at else {
            // Sema refuses execute() where no entry of the meter's table runs (E0414).
            self.unsupported(obj.span, "this direct meter outside its table's actions");
            return self.bpf.ctx.i32_type().const_zero();
        };
        let idx = self
            .bpf
            .b
            .build_load(
                self.bpf.ctx.i32_type(),
                self.at(value, offset as usize),
                "cell",
            )
            .expect("load")
            .into_int_value();
        self.meter_run(obj, idx, pre)
    }

    /// `m.execute(index)` or, colour-aware, `m.execute(index, colour)`: the packet's colour
    /// (`MeterColor`, 0 green, 1 yellow, 2 red).
    pub fn meter_execute(
        &mut self,
        obj: &ast::Expr,
        index: &ast::Expr,
        pre: Option<&ast::Expr>,
    ) -> IntValue<'ctx> {
        let idx = self.expr(index);
        let idx = self.fit(idx, 32);
        self.meter_run(obj, idx, pre)
    }

    /// Meters the packet against cell `idx` of meter instance `obj`'s map.
    fn meter_run(
        &mut self,
        obj: &ast::Expr,
        idx: IntValue<'ctx>,
        pre: Option<&ast::Expr>,
    ) -> IntValue<'ctx> {
        let colour = |name: &str| {
            self.p
                .enums
                .iter()
                .find(|e| e.name == "MeterColor")
                .and_then(|e| e.members.iter().find(|m| m.0 == name))
                .map_or(0, |m| m.1 as u64)
        };
        let (green, yellow, red) = (colour("GREEN"), colour("YELLOW"), colour("RED"));
        let kind = self
            .manifest
            .meters
            .iter()
            .find(|m| Some(m.map.as_str()) == instance_name(obj))
            .map(|m| m.kind);
        let i32t = self.bpf.ctx.i32_type();
        let i64t = self.bpf.ctx.i64_type();
        let result = self.alloca(32, "colour");
        self.bpf
            .b
            .build_store(result, i32t.const_int(green, false))
            .expect("store");
        let Some(map) = self.instance_map(obj) else {
            self.unsupported(obj.span, "this meter");
            return i32t.const_zero();
        };
        // What the packet takes, in nano-tokens; and the time, read before the lock (no
        // helper may be called while it is held).
        let tokens = match kind {
            Some(MeterKind::Bytes) => {
                let len = self
                    .bpf
                    .b
                    .build_int_z_extend(self.pkt_len, i64t, "len")
                    .expect("zext");
                self.mul(len, i64t.const_int(1_000_000_000, false))
            }
            _ => i64t.const_int(1_000_000_000, false),
        };
        // Colour-blind metering is colour-aware metering of green packets.
        let pre = match pre {
            Some(c) => {
                let c = self.expr(c);
                self.fit(c, 32)
            }
            None => i32t.const_int(green, false),
        };
        let now = self.now();
        let (v, done) = self.element_at(map, idx);
        let mode = self.field32(v, cell::MODE);
        let configured = self
            .bpf
            .b
            .build_int_compare(IntPredicate::NE, mode, i32t.const_zero(), "cfg")
            .expect("cmp");
        let body = self.block("meter");
        self.bpf
            .b
            .build_conditional_branch(configured, body, done)
            .expect("br");
        self.bpf.b.position_at_end(body);
        self.bpf
            .call_helper(helper::SPIN_LOCK, Some(i64t), &[v.into()]);
        // Elapsed time: none before the first packet, none if another CPU's update was later.
        let started = self.field32(v, cell::STARTED);
        let last = self.field64(v, cell::LAST);
        let later = self
            .bpf
            .b
            .build_int_compare(IntPredicate::UGT, now, last, "later")
            .expect("cmp");
        let was = self
            .bpf
            .b
            .build_int_compare(IntPredicate::NE, started, i32t.const_zero(), "was")
            .expect("cmp");
        let gap = self.bpf.b.build_int_sub(now, last, "gap").expect("sub");
        let counts = self.bpf.b.build_and(later, was, "counts").expect("and");
        let elapsed = self.select(counts, gap, i64t.const_zero());
        let newest = self.select(later, now, last);
        self.store64(v, cell::LAST, newest);
        self.store32(v, cell::STARTED, i32t.const_int(1, false));
        let (cir, pir) = (self.field64(v, cell::CIR), self.field64(v, cell::PIR));
        let (cbs, ebs) = (self.field64(v, cell::CBS), self.field64(v, cell::EBS));
        let (fill_c, fill_p) = (self.field64(v, cell::FILL_C), self.field64(v, cell::FILL_P));
        let (tc, te) = (self.field64(v, cell::TC), self.field64(v, cell::TE));
        let srtcm = self
            .bpf
            .b
            .build_int_compare(
                IntPredicate::EQ,
                mode,
                i32t.const_int(u64::from(cell::SRTCM), false),
                "sr",
            )
            .expect("cmp");
        // Refill. srTCM: C first, its overflow into E. trTCM: C and P each at its own rate.
        let dt_c = self.umin(elapsed, fill_c);
        let add_c = self.mul(dt_c, cir);
        let tc_raw = self.bpf.b.build_int_add(tc, add_c, "tc+").expect("add");
        let tc_new = self.umin(tc_raw, cbs);
        let over = self
            .bpf
            .b
            .build_int_sub(tc_raw, tc_new, "over")
            .expect("sub");
        let dt_p = self.umin(elapsed, fill_p);
        let add_p = self.mul(dt_p, pir);
        let add_e = self.select(srtcm, over, add_p);
        let te_raw = self.bpf.b.build_int_add(te, add_e, "te+").expect("add");
        let te_new = self.umin(te_raw, ebs);
        // Take the packet's tokens. A packet may take C's only if it came green, E's or P's
        // only if it did not come red (RFC 2697 and 2698, colour-aware).
        let b = &self.bpf.b;
        let was_green = b
            .build_int_compare(IntPredicate::EQ, pre, i32t.const_int(green, false), "pg")
            .expect("cmp");
        let not_red = b
            .build_int_compare(IntPredicate::NE, pre, i32t.const_int(red, false), "pr")
            .expect("cmp");
        let c_fits = b
            .build_int_compare(IntPredicate::UGE, tc_new, tokens, "c")
            .expect("cmp");
        let e_fits = b
            .build_int_compare(IntPredicate::UGE, te_new, tokens, "e")
            .expect("cmp");
        let c_has = b.build_and(c_fits, was_green, "c_ok").expect("and");
        let e_has = b.build_and(e_fits, not_red, "e_ok").expect("and");
        let c_less = self.bpf.b.build_int_sub(tc_new, tokens, "c-").expect("sub");
        let e_less = self.bpf.b.build_int_sub(te_new, tokens, "e-").expect("sub");
        let k = |v: u64| i32t.const_int(v, false);
        // srTCM: green from C, else yellow from E, else red.
        let sr_colour = self.select(c_has, k(green), self.select(e_has, k(yellow), k(red)));
        let sr_tc = self.select(c_has, c_less, tc_new);
        let e_taken = self
            .bpf
            .b
            .build_and(self.not(c_has), e_has, "et")
            .expect("and");
        let sr_te = self.select(e_taken, e_less, te_new);
        // trTCM: red without P's tokens; else yellow (from P) without C's; else green (both).
        let tr_colour = self.select(e_has, self.select(c_has, k(green), k(yellow)), k(red));
        let both = self.bpf.b.build_and(e_has, c_has, "both").expect("and");
        let tr_tc = self.select(both, c_less, tc_new);
        let tr_te = self.select(e_has, e_less, te_new);
        let colour_v = self.select(srtcm, sr_colour, tr_colour);
        self.store64(v, cell::TC, self.select(srtcm, sr_tc, tr_tc));
        self.store64(v, cell::TE, self.select(srtcm, sr_te, tr_te));
        self.bpf
            .call_helper(helper::SPIN_UNLOCK, Some(i64t), &[v.into()]);
        self.bpf.b.build_store(result, colour_v).expect("store");
        self.goto(done);
        self.bpf.b.position_at_end(done);
        self.bpf
            .b
            .build_load(i32t, result, "colour")
            .expect("load")
            .into_int_value()
    }

    fn select(&self, c: IntValue<'ctx>, a: IntValue<'ctx>, b: IntValue<'ctx>) -> IntValue<'ctx> {
        self.bpf
            .b
            .build_select(c, a, b, "sel")
            .expect("select")
            .into_int_value()
    }

    fn not(&self, c: IntValue<'ctx>) -> IntValue<'ctx> {
        self.bpf.b.build_not(c, "not").expect("not")
    }

    fn umin(&self, a: IntValue<'ctx>, b: IntValue<'ctx>) -> IntValue<'ctx> {
        let lt = self
            .bpf
            .b
            .build_int_compare(IntPredicate::ULT, a, b, "lt")
            .expect("cmp");
        self.select(lt, a, b)
    }

    fn mul(&self, a: IntValue<'ctx>, b: IntValue<'ctx>) -> IntValue<'ctx> {
        self.bpf.b.build_int_mul(a, b, "mul").expect("mul")
    }

    fn at(&self, v: PointerValue<'ctx>, offset: usize) -> PointerValue<'ctx> {
        self.bpf.byte_ptr(v, self.bpf.c(64, offset as u128))
    }

    fn field64(&self, v: PointerValue<'ctx>, offset: usize) -> IntValue<'ctx> {
        self.bpf.load_u64(self.at(v, offset))
    }

    fn field32(&self, v: PointerValue<'ctx>, offset: usize) -> IntValue<'ctx> {
        self.bpf
            .b
            .build_load(self.bpf.ctx.i32_type(), self.at(v, offset), "f32")
            .expect("load")
            .into_int_value()
    }

    fn store64(&self, v: PointerValue<'ctx>, offset: usize, x: IntValue<'ctx>) {
        let st = self
            .bpf
            .b
            .build_store(self.at(v, offset), x)
            .expect("store");
        st.set_alignment(8).expect("a store takes an alignment");
    }

    fn store32(&self, v: PointerValue<'ctx>, offset: usize, x: IntValue<'ctx>) {
        self.bpf
            .b
            .build_store(self.at(v, offset), x)
            .expect("store");
    }
}

/// The name of the extern instance `obj` refers to (`limits` in `limits.execute()`).
fn instance_name(obj: &ast::Expr) -> Option<&str> {
    match &obj.kind {
        ast::ExprKind::Name(n) => Some(n.name.as_str()),
        _ => None,
    }
}
