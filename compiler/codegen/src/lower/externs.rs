//! Calls: forwarding primitives, counters, registers, checksums, header validity, packet
//! methods, table `apply` and direct action calls.
//!
//! Takes: call expressions and extern instance declarations.
//! Gives: their code and maps (counters: per-CPU arrays of `{u64 packets; u64 bytes}`;
//! registers: arrays of u64 updated with atomic adds), recorded in the manifest.

use super::{decision, Gen};
use crate::bpf::{helper, map_type};
use crate::layout;
use inkwell::values::{IntValue, PointerValue};
use inkwell::AtomicOrdering;
use inkwell::AtomicRMWBinOp;
use iov_manifest as manifest;
use iov_sema::types::Ty;
use iov_syntax::ast::{self, ExprKind};

impl<'a, 'ctx> Gen<'a, 'ctx> {
    /// Creates the map behind an extern instance.
    pub fn instance(&mut self, inst: &ast::Instance) {
        let ext = match &inst.ty {
            ast::TypeRef::Named(n, _, _) => n.name.clone(),
            _ => String::new(),
        };
        let full = format!("{}.{}", self.control, inst.name.name);
        let name = inst.name.name.clone();
        if ext == "internet_checksum" {
            // A running one's-complement sum, kept unfolded in 32 bits.
            let slot = self.alloca(32, &name);
            let scalar = super::Scalar { slot, bits: 32 };
            self.scopes
                .last_mut()
                .expect("scope")
                .insert(format!("csum:{name}"), scalar);
            return;
        }
        if ext == "digest" {
            self.digest_instance(inst, &name, full);
            return;
        }
        if ext == "direct_counter" {
            // Lives in the values of the table that names it in `counters = ...`.
            return;
        }
        if ext == "direct_meter" {
            // Its cells are made with the table that names it in `meters = ...`.
            let kind = match inst.args.first().map(|a| &a.kind) {
                Some(ExprKind::Member(_, m)) if m.name == "bytes" => manifest::MeterKind::Bytes,
                _ => manifest::MeterKind::Packets,
            };
            self.direct_meters.insert(name, kind);
            return;
        }
        let size = inst
            .args
            .first()
            .map(|a| self.const_of(a) as u32)
            .unwrap_or(1)
            .max(1);
        match ext.as_str() {
            "counter" => {
                let kind = match inst.args.get(1).map(|a| match &a.kind {
                    ExprKind::Member(_, m) => m.name.clone(),
                    _ => String::new(),
                }) {
                    Some(k) if k == "packets" => manifest::CounterKind::Packets,
                    Some(k) if k == "bytes" => manifest::CounterKind::Bytes,
                    _ => manifest::CounterKind::PacketsAndBytes,
                };
                let map = self.bpf.map(&name, map_type::PERCPU_ARRAY, 4, 16, size, 0);
                self.maps.insert(name.clone(), map);
                self.manifest.counters.push(manifest::Counter {
                    name: full,
                    map: name,
                    size,
                    kind,
                });
            }
            "register" => {
                let bits = match &inst.ty {
                    ast::TypeRef::Named(_, args, _) => match args.first() {
                        Some(ast::TypeRef::Bit(w, _)) | Some(ast::TypeRef::Int(w, _)) => {
                            self.const_of(w) as u32
                        }
                        _ => 64,
                    },
                    _ => 64,
                };
                if bits > 64 {
                    self.unsupported(inst.ty.span(), "a register wider than 64 bits");
                }
                let map = self.bpf.map(&name, map_type::ARRAY, 4, 8, size, 0);
                self.maps.insert(name.clone(), map);
                // Truncated to the register's bits, as a value written to it would be.
                let initial = inst.args.get(1).map_or(0, |a| {
                    (self.const_of(a) & super::expr::mask(bits.min(64))) as u64
                });
                self.manifest.registers.push(manifest::Register {
                    name: full,
                    map: name,
                    size,
                    bits,
                    initial,
                });
            }
            "meter" => {
                let kind = match inst.args.get(1).map(|a| &a.kind) {
                    Some(ExprKind::Member(_, m)) if m.name == "bytes" => manifest::MeterKind::Bytes,
                    _ => manifest::MeterKind::Packets,
                };
                self.meter_instance(&name, full, size, kind);
            }
            "multicast_group" => self.group_instance(inst, full, size),
            _ => self.unsupported(inst.ty.span(), &format!("the `{ext}` extern")),
        }
    }

    /// Lowers a call; returns its value when it has one.
    pub fn call(&mut self, e: &ast::Expr) -> Option<IntValue<'ctx>> {
        let ExprKind::Call { callee, args, .. } = &e.kind else {
            return None;
        };
        match &callee.kind {
            ExprKind::Name(n) => self.call_function(e, &n.name, args),
            ExprKind::Member(obj, m) => self.call_method(e, obj, &m.name, args),
            _ => {
                self.unsupported(e.span, "this call");
                None
            }
        }
    }

    fn decide(&self, d: u32, port: Option<IntValue<'ctx>>) {
        self.set(self.decision, 32, u128::from(d));
        if let Some(p) = port {
            let p = self.fit(p, 32);
            self.bpf.b.build_store(self.port, p).expect("store");
        }
    }

    fn call_function(
        &mut self,
        e: &ast::Expr,
        name: &str,
        args: &[ast::Expr],
    ) -> Option<IntValue<'ctx>> {
        match name {
            "drop" => self.decide(decision::DROP, None),
            "pass" => self.decide(decision::PASS, None),
            "reflect" => self.decide(decision::REFLECT, None),
            "pass_to_class" => {
                let k = self.expr(&args[0]);
                let d = self.pass_to_class(k);
                self.decide(d, None);
            }
            "send_to_port" => {
                let p = self.expr(&args[0]);
                self.decide(decision::REDIRECT, Some(p));
            }
            "multicast" | "flood" => self.multicast_call(name == "flood", &args[0]),
            "clone" => self.clone_call(&args[0]),
            "ipv4_checksum" => return Some(self.ipv4_checksum(&args[0])),
            "hash" => return Some(self.hash_call(args)),
            "add_entry" => return Some(self.add_entry_call(e, args)),
            "timestamp" => return Some(self.now()),
            "random" => {
                let r = self.bpf.call_helper(
                    helper::GET_PRANDOM_U32,
                    Some(self.bpf.ctx.i64_type()),
                    &[],
                )?;
                return Some(self.fit(r, 32));
            }
            _ if self.actions.contains_key(name) || matches!(self.ty(e), Ty::Void) => {
                self.call_action(name, args, e.span);
            }
            _ => self.unsupported(e.span, &format!("`{name}`")),
        }
        None
    }

    fn call_method(
        &mut self,
        e: &ast::Expr,
        obj: &ast::Expr,
        method: &str,
        args: &[ast::Expr],
    ) -> Option<IntValue<'ctx>> {
        match (self.ty(obj), method) {
            (Ty::Table(t), "apply") => {
                self.apply_table(&t, e.span);
                None
            }
            (Ty::Table(t), "learn") => Some(self.learn_call(&t, args)),
            (Ty::Struct(_), m @ ("setValid" | "setInvalid")) => {
                self.set_validity(obj, m == "setValid", e.span);
                None
            }
            (Ty::Stack(..), m @ ("push_front" | "pop_front")) => {
                self.shift_stack(obj, &args[0], m == "push_front", e.span);
                None
            }
            (Ty::Struct(_), "isValid") => {
                let h = self.header_of(obj)?;
                Some(self.is_valid(h))
            }
            (Ty::Extern(x, _), m) => {
                let ext = self.p.externs[x].name.clone();
                match (ext.as_str(), m) {
                    // Recorded; the packet is rebuilt (if need be) after the deparser.
                    ("packet_out", "emit") => {
                        self.emit(&args[0]);
                        None
                    }
                    ("packet_in", "length") => Some(self.pkt_len),
                    ("packet_in", "lookahead") => Some(self.lookahead(e)),
                    // Counted on every hit of the table's entries; an explicit call adds nothing.
                    ("direct_counter", "count") => None,
                    ("counter", "count") => {
                        self.count(obj, &args[0]);
                        None
                    }
                    ("register", _) => self.register(e, obj, m, args),
                    ("meter", "execute") => Some(self.meter_execute(obj, &args[0], args.get(1))),
                    ("direct_meter", "execute") => {
                        Some(self.direct_meter_execute(obj, args.first()))
                    }
                    ("digest", "pack") => {
                        self.digest_pack(obj, &args[0]);
                        None
                    }
                    ("internet_checksum", _) => self.checksum_method(e, obj, m, args),
                    _ => {
                        self.unsupported(e.span, &format!("`{ext}.{m}`"));
                        None
                    }
                }
            }
            _ => {
                self.unsupported(e.span, &format!("`{method}` here"));
                None
            }
        }
    }

    pub(super) fn instance_map(
        &mut self,
        obj: &ast::Expr,
    ) -> Option<inkwell::values::GlobalValue<'ctx>> {
        match &obj.kind {
            ExprKind::Name(n) => self.maps.get(&n.name).copied(),
            _ => None,
        }
    }

    /// Nanoseconds now: the kernel's `bpf_ktime_get_ns`, or in a test build the clock the test
    /// sets (`iov_clock`, one `u64`; the manifest's `clock_map`).
    pub fn now(&mut self) -> IntValue<'ctx> {
        let i64t = self.bpf.ctx.i64_type();
        if self.manifest.clock_map.is_none() {
            return self
                .bpf
                .call_helper(helper::KTIME_GET_NS, Some(i64t), &[])
                .expect("bpf_ktime_get_ns returns a value");
        }
        let map = self.bpf.map("iov_clock", map_type::ARRAY, 4, 8, 1, 0);
        let key = self.zero_key();
        let result = self.alloca(64, "clock");
        let v = self.bpf.lookup(map, key);
        let ok = self.bpf.b.build_is_not_null(v, "ok").expect("cmp");
        let read = self.block("clock_read");
        let done = self.block("clock_done");
        self.bpf
            .b
            .build_conditional_branch(ok, read, done)
            .expect("br");
        self.bpf.b.position_at_end(read);
        let t = self.bpf.load_u64(v);
        self.bpf.b.build_store(result, t).expect("store");
        self.goto(done);
        self.bpf.b.position_at_end(done);
        self.bpf
            .b
            .build_load(i64t, result, "now")
            .expect("load")
            .into_int_value()
    }

    /// A pointer to element `index` of an array map, and the block to continue in when the
    /// index is out of range (then nothing happens).
    pub(super) fn element(
        &mut self,
        map: inkwell::values::GlobalValue<'ctx>,
        index: &ast::Expr,
    ) -> (
        inkwell::values::PointerValue<'ctx>,
        inkwell::basic_block::BasicBlock<'ctx>,
    ) {
        let idx = self.expr(index);
        let idx = self.fit(idx, 32);
        self.element_at(map, idx)
    }

    /// Element `idx` (32 bits) of array `map`, as [`Gen::element`].
    pub(super) fn element_at(
        &mut self,
        map: inkwell::values::GlobalValue<'ctx>,
        idx: IntValue<'ctx>,
    ) -> (
        inkwell::values::PointerValue<'ctx>,
        inkwell::basic_block::BasicBlock<'ctx>,
    ) {
        let key = self.index_key();
        self.bpf.b.build_store(key, idx).expect("store");
        let v = self.bpf.lookup(map, key);
        let ok = self.bpf.b.build_is_not_null(v, "ok").expect("cmp");
        let body = self.block("elem");
        let done = self.block("elem_done");
        self.bpf
            .b
            .build_conditional_branch(ok, body, done)
            .expect("br");
        self.bpf.b.position_at_end(body);
        (v, done)
    }

    fn count(&mut self, obj: &ast::Expr, index: &ast::Expr) {
        let Some(map) = self.instance_map(obj) else {
            return;
        };
        let (v, done) = self.element(map, index);
        let i64t = self.bpf.ctx.i64_type();
        self.bpf.add_u64(v, i64t.const_int(1, false));
        let bp = self.bpf.byte_ptr(v, i64t.const_int(8, false));
        let len = self
            .bpf
            .b
            .build_int_z_extend(self.pkt_len, i64t, "len")
            .expect("zext");
        self.bpf.add_u64(bp, len);
        self.goto(done);
        self.bpf.b.position_at_end(done);
    }

    fn register(
        &mut self,
        e: &ast::Expr,
        obj: &ast::Expr,
        method: &str,
        args: &[ast::Expr],
    ) -> Option<IntValue<'ctx>> {
        let map = self.instance_map(obj)?;
        let bits = match self.ty(obj) {
            Ty::Extern(_, targs) => targs.first().map_or(64, |t| layout::bits_of(self.p, t)),
            _ => 64,
        };
        let result = self.alloca(bits, "reg");
        // Cells hold value - initial (see manifest::Register::initial).
        let initial = match &obj.kind {
            ExprKind::Name(n) => self
                .manifest
                .registers
                .iter()
                .find(|r| r.map == n.name)
                .map_or(0, |r| r.initial),
            _ => 0,
        };
        let init = self.bpf.ctx.i64_type().const_int(initial, false);
        let (v, done) = self.element(map, &args[0]);
        match method {
            "read" => {
                let x = self.bpf.load_u64(v);
                let x = self.bpf.b.build_int_add(x, init, "init+").expect("add");
                let x = self.fit(x, bits);
                self.bpf.b.build_store(result, x).expect("store");
            }
            "write" => {
                let x = self.expr(&args[1]);
                let x = self.fit(x, 64);
                let x = self.bpf.b.build_int_sub(x, init, "init-").expect("sub");
                let st = self.bpf.b.build_store(v, x).expect("store");
                st.set_alignment(8).expect("a store takes an alignment");
            }
            "add" => {
                let x = self.expr(&args[1]);
                let x = self.fit(x, 64);
                self.bpf
                    .b
                    .build_atomicrmw(AtomicRMWBinOp::Add, v, x, AtomicOrdering::Monotonic)
                    .expect("atomic add");
            }
            _ => self.unsupported(e.span, &format!("`register.{method}`")),
        }
        self.goto(done);
        self.bpf.b.position_at_end(done);
        (method == "read").then(|| {
            self.bpf
                .b
                .build_load(self.bpf.i(bits), result, "rv")
                .expect("load")
                .into_int_value()
        })
    }

    /// `internet_checksum` methods on the instance's running sum.
    fn checksum_method(
        &mut self,
        e: &ast::Expr,
        obj: &ast::Expr,
        method: &str,
        args: &[ast::Expr],
    ) -> Option<IntValue<'ctx>> {
        let ExprKind::Name(n) = &obj.kind else {
            return None;
        };
        let slot = self.lookup_scalar(&format!("csum:{}", n.name))?.slot;
        let i32t = self.bpf.ctx.i32_type();
        let sum = self
            .bpf
            .b
            .build_load(i32t, slot, "sum")
            .expect("load")
            .into_int_value();
        match method {
            "clear" => self.set(slot, 32, 0),
            "set_state" => {
                let v = self.expr(&args[0]);
                let v = self.fit(v, 16);
                let v = self.fit(self.bpf.bswap(v), 32);
                self.bpf.b.build_store(slot, v).expect("store");
            }
            "get_state" => return Some(self.bpf.bswap(self.fold16(sum))),
            "get" => {
                let f = self.fold16(sum);
                let c = self.bpf.b.build_not(f, "csum").expect("not");
                return Some(self.bpf.bswap(c));
            }
            "add" | "subtract" => {
                // A header that is not valid adds nothing (and its pointer must not be read).
                let header = self.header_of(&args[0]);
                let guard = header.map(|h| self.when_valid(h));
                let sum = self
                    .bpf
                    .b
                    .build_load(i32t, slot, "sum")
                    .expect("load")
                    .into_int_value();
                let words = self.words16(&args[0], guard.map(|(base, _)| base))?;
                let mut acc = sum;
                for w in words {
                    let w = if method == "subtract" {
                        self.bpf.b.build_not(w, "cw").expect("not")
                    } else {
                        w
                    };
                    let w = self.fit(w, 32);
                    acc = self.bpf.b.build_int_add(acc, w, "acc").expect("add");
                }
                // Fold now and then so the running sum never overflows 32 bits.
                let folded = self.fold16(acc);
                let folded = self.fit(folded, 32);
                self.bpf.b.build_store(slot, folded).expect("store");
                if let Some((_, done)) = guard {
                    self.end_valid(done);
                }
            }
            _ => self.unsupported(e.span, &format!("`internet_checksum.{method}`")),
        }
        None
    }

    /// Folds a 32-bit one's-complement sum into 16 bits.
    fn fold16(&self, sum: IntValue<'ctx>) -> IntValue<'ctx> {
        let i32t = self.bpf.ctx.i32_type();
        let mut s = sum;
        for _ in 0..2 {
            let b = &self.bpf.b;
            let lo = b
                .build_and(s, i32t.const_int(0xffff, false), "lo")
                .expect("and");
            let hi = b
                .build_right_shift(s, i32t.const_int(16, false), false, "hi")
                .expect("shr");
            s = b.build_int_add(lo, hi, "fold").expect("add");
        }
        self.fit(s, 16)
    }

    /// The 16-bit words of a header (read at `header`, its start in the packet) or of a bit
    /// string, each in the host's byte order as a load reads network-order bytes: the sums
    /// they go into are kept that way and swapped once when read (see `load_raw16`).
    fn words16(
        &mut self,
        data: &ast::Expr,
        header: Option<PointerValue<'ctx>>,
    ) -> Option<Vec<IntValue<'ctx>>> {
        if let (Some(base), Some(h)) = (header, self.header_of(data)) {
            if !h.size.is_multiple_of(2) {
                self.unsupported(
                    data.span,
                    "the checksum of a header of an odd number of bytes",
                );
                return None;
            }
            return Some(
                (0..h.size / 2)
                    .map(|w| self.load_raw16(base, w * 2))
                    .collect(),
            );
        }
        let v = self.expr(data);
        let bits = v.get_type().get_bit_width();
        if !bits.is_multiple_of(16) {
            self.unsupported(
                data.span,
                "the checksum of a value whose width is not a multiple of 16",
            );
            return None;
        }
        Some(
            (0..bits / 16)
                .rev()
                .map(|w| {
                    let shifted = if w == 0 {
                        v
                    } else {
                        self.bpf
                            .b
                            .build_right_shift(v, self.bpf.c(bits, u128::from(w * 16)), false, "w")
                            .expect("shr")
                    };
                    self.bpf.bswap(self.fit(shifted, 16))
                })
                .collect(),
        )
    }

    /// The RFC 1071 checksum of a valid header, with its `checksum` field counted as zero.
    fn ipv4_checksum(&mut self, h: &ast::Expr) -> IntValue<'ctx> {
        let result = self.alloca(16, "csum");
        let Some(hv) = self.header_of(h) else {
            self.unsupported(h.span, "a checksum of this expression");
            return self.bpf.c(16, 0);
        };
        let (fields, size) = layout::header_fields(self.p, hv.id);
        let skip = fields
            .iter()
            .find(|(n, _)| n == "checksum")
            .map(|(_, f)| *f);
        let (base, done) = self.when_valid(hv);
        let i32t = self.bpf.ctx.i32_type();
        let mut sum = i32t.const_zero();
        for word in 0..size / 2 {
            let bit = word * 16;
            if skip.is_some_and(|f| bit < f.offset + f.bits && f.offset < bit + 16) {
                continue;
            }
            let w = self.load_raw16(base, word * 2);
            let w = self.fit(w, 32);
            sum = self.bpf.b.build_int_add(sum, w, "s").expect("add");
        }
        let folded = self.fold16(sum);
        let c = self.bpf.b.build_not(folded, "inv").expect("not");
        let c = self.bpf.bswap(c);
        self.bpf.b.build_store(result, c).expect("store");
        self.end_valid(done);
        self.bpf
            .b
            .build_load(self.bpf.i(16), result, "c")
            .expect("load")
            .into_int_value()
    }
}
