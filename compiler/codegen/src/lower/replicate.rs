//! Replication: multicast groups, `multicast`, `flood` and `clone`.
//!
//! Takes: `multicast_group(size)` instances, the calls `multicast(g)`, `flood(g)` and
//! `clone(port)`, and at the end of the program the final decision.
//! Gives: a map per group (XDP: a devmap hash of the ports; TC: one hash entry holding the
//! port list), recorded in the manifest's `groups`; the decision MULTICAST or FLOOD with the
//! group's index in the port slot; at the end, the copies: XDP `bpf_redirect_map` with
//! `BPF_F_BROADCAST` (and `BPF_F_EXCLUDE_INGRESS` for `flood`), where the kernel makes one
//! frame per port; TC `bpf_clone_redirect` to every port but the last and `bpf_redirect` to
//! the last, so n ports cost n - 1 clones. `clone(port)` (TC only; E0505 at XDP) is one
//! `bpf_clone_redirect` after the deparser, unless the parser rejected the packet.

use super::{decision, Gen};
use crate::bpf::{helper, map_type};
use inkwell::values::IntValue;
use inkwell::IntPredicate;
use iov_manifest as manifest;
use iov_manifest::Hook;
use iov_syntax::ast::{self, ExprKind};

/// `BPF_F_BROADCAST`, `BPF_F_EXCLUDE_INGRESS` (include/uapi/linux/bpf.h).
const F_BROADCAST: u64 = 1 << 3;
const F_EXCLUDE_INGRESS: u64 = 1 << 4;
/// What `bpf_redirect_map` returns when it cannot redirect: XDP_DROP.
const XDP_DROP: u64 = 1;
/// The most ports of a TC group: the walk over them is unrolled.
const MAX_TC_PORTS: u32 = 64;
/// TC_ACT_SHOT.
const TC_SHOT: u64 = 2;

impl<'a, 'ctx> Gen<'a, 'ctx> {
    /// `multicast_group(size) name;`: the group's map, by the hook.
    pub(super) fn group_instance(&mut self, inst: &ast::Instance, full: String, size: u32) {
        let name = inst.name.name.as_str();
        if self.hook != Hook::Xdp && size > MAX_TC_PORTS {
            self.unsupported(
                inst.span,
                &format!("a TC multicast group of more than {MAX_TC_PORTS} ports"),
            );
        }
        let kind = match self.hook {
            Hook::Xdp => manifest::GroupKind::Devmap,
            Hook::TcIngress | Hook::TcEgress => manifest::GroupKind::PortList,
        };
        let map = match kind {
            manifest::GroupKind::Devmap => {
                self.bpf.sized_map(name, map_type::DEVMAP_HASH, 4, 8, size)
            }
            manifest::GroupKind::PortList => {
                self.bpf.map(name, map_type::HASH, 4, 4 + 4 * size, 1, 0)
            }
        };
        self.maps.insert(name.to_string(), map);
        self.manifest.groups.push(manifest::Group {
            name: full,
            map: name.to_string(),
            size,
            kind,
        });
    }

    /// `multicast(g)`, `flood(g)`: the decision, with the group's index in the port slot.
    pub(super) fn multicast_call(&mut self, flood: bool, group: &ast::Expr) {
        let ExprKind::Name(n) = &group.kind else {
            self.unsupported(group.span, "a group that is not an instance's name");
            return;
        };
        let Some(index) = self.manifest.groups.iter().position(|g| g.map == n.name) else {
            self.unsupported(group.span, "this group");
            return;
        };
        let d = if flood {
            decision::FLOOD
        } else {
            decision::MULTICAST
        };
        self.set(self.decision, 32, u128::from(d));
        let i = self.bpf.c(32, index as u128);
        self.bpf.b.build_store(self.port, i).expect("store");
    }

    /// `clone(port)`: remembered; the copy is made after the deparser ([`Gen::make_clone`]).
    pub(super) fn clone_call(&mut self, port: &ast::Expr) {
        let p = self.expr(port);
        let p = self.fit(p, 32);
        let slot = match self.clone_port {
            Some(s) => s,
            None => {
                let s = self.alloca(32, "clone_port");
                self.clone_port = Some(s);
                s
            }
        };
        self.bpf.b.build_store(slot, p).expect("store");
    }

    /// Makes the copy `clone(port)` asked for, unless the parser rejected the packet (`err`
    /// not 0). The port the kernel took the copy for, or 0: what a test build records.
    pub(super) fn make_clone(&mut self, err: IntValue<'ctx>) -> IntValue<'ctx> {
        let zero = self.bpf.c(32, 0);
        let Some(slot) = self.clone_port else {
            return zero;
        };
        let port = self.bpf.load_u32(slot);
        let result = self.alloca(32, "cloned");
        let asked = self.bpf.non_zero(port);
        let whole = self.bpf.is_zero(err);
        let go = self.bpf.b.build_and(asked, whole, "go").expect("and");
        let copy = self.block("clone");
        let done = self.block("cloned");
        self.bpf
            .b
            .build_conditional_branch(go, copy, done)
            .expect("br");
        self.bpf.b.position_at_end(copy);
        let r = self.clone_redirect(port);
        let ok = self.bpf.is_zero(r);
        let took = self
            .bpf
            .b
            .build_select(ok, port, zero, "took")
            .expect("select");
        self.bpf.b.build_store(result, took).expect("store");
        self.goto(done);
        self.bpf.b.position_at_end(done);
        self.bpf.load_u32(result)
    }

    fn clone_redirect(&self, port: IntValue<'ctx>) -> IntValue<'ctx> {
        let i64t = self.bpf.ctx.i64_type();
        let p = self
            .bpf
            .b
            .build_int_z_extend(port, i64t, "p")
            .expect("zext");
        self.bpf
            .call_helper(
                helper::CLONE_REDIRECT,
                Some(i64t),
                &[self.ctx_ptr.into(), p.into(), i64t.const_zero().into()],
            )
            .expect("bpf_clone_redirect returns a value")
    }

    /// The end of a packet whose decision `d` is MULTICAST or FLOOD of the group whose index
    /// is `index`: returns from the program with the copies made or asked for.
    pub(super) fn finish_replication(&mut self, d: IntValue<'ctx>, index: IntValue<'ctx>) {
        let i32t = self.bpf.ctx.i32_type();
        let flood = self
            .bpf
            .b
            .build_int_compare(
                IntPredicate::EQ,
                d,
                i32t.const_int(u64::from(decision::FLOOD), false),
                "flood",
            )
            .expect("cmp");
        let groups = self.manifest.groups.clone();
        let none = self.block("no_group");
        let arms: Vec<_> = (0..groups.len())
            .map(|i| (i32t.const_int(i as u64, false), self.block("group")))
            .collect();
        self.bpf.b.build_switch(index, none, &arms).expect("switch");
        self.bpf.b.position_at_end(none);
        self.ret(self.drop_code());
        for (g, (_, bb)) in groups.iter().zip(&arms) {
            self.bpf.b.position_at_end(*bb);
            match g.kind {
                manifest::GroupKind::Devmap => self.broadcast(&g.map, flood),
                manifest::GroupKind::PortList => self.clone_to_each(g, flood),
            }
        }
    }

    fn drop_code(&self) -> u64 {
        match self.hook {
            Hook::Xdp => XDP_DROP,
            Hook::TcIngress | Hook::TcEgress => TC_SHOT,
        }
    }

    fn ret(&self, code: u64) {
        let c = self.bpf.ctx.i32_type().const_int(code, false);
        self.bpf.b.build_return(Some(&c)).expect("ret");
    }

    /// XDP: the kernel sends one frame to every device of the group's devmap.
    fn broadcast(&mut self, map: &str, flood: IntValue<'ctx>) {
        let i64t = self.bpf.ctx.i64_type();
        let m = self.maps[map];
        let flags = self
            .bpf
            .b
            .build_select(
                flood,
                i64t.const_int(F_BROADCAST | F_EXCLUDE_INGRESS | XDP_DROP, false),
                i64t.const_int(F_BROADCAST | XDP_DROP, false),
                "flags",
            )
            .expect("select")
            .into_int_value();
        let r = self
            .bpf
            .call_helper(
                helper::REDIRECT_MAP,
                Some(i64t),
                &[
                    m.as_pointer_value().into(),
                    i64t.const_zero().into(),
                    flags.into(),
                ],
            )
            .expect("bpf_redirect_map returns a value");
        let r = self
            .bpf
            .b
            .build_int_truncate(r, self.bpf.ctx.i32_type(), "r")
            .expect("trunc");
        self.bpf.b.build_return(Some(&r)).expect("ret");
    }

    /// TC: a clone to each port of the list but the last (and, for `flood`, not to the
    /// ingress port), then the packet itself redirected to the last one; none: dropped.
    fn clone_to_each(&mut self, g: &manifest::Group, flood: IntValue<'ctx>) {
        let i32t = self.bpf.ctx.i32_type();
        let key = self.zero_key();
        let list = self.bpf.lookup(self.maps[&g.map], key);
        let found = self.bpf.b.build_is_not_null(list, "found").expect("cmp");
        let walk = self.block("group_walk");
        let empty = self.block("group_empty");
        self.bpf
            .b
            .build_conditional_branch(found, walk, empty)
            .expect("br");
        self.bpf.b.position_at_end(empty);
        self.ret(TC_SHOT);
        self.bpf.b.position_at_end(walk);
        let load = |g: &Self, at: u32| {
            g.bpf
                .load_u32(g.bpf.byte_ptr(list, g.bpf.c(64, u128::from(at))))
        };
        let count = load(self, 0);
        let ingress = self.ingress_ifindex;
        // The port found last, not yet sent to (0: none yet).
        let held = self.alloca(32, "held");
        for k in 0..g.size {
            let next = self.block("group_next");
            let take = self.block("group_port");
            let in_use = self
                .bpf
                .b
                .build_int_compare(
                    IntPredicate::ULT,
                    i32t.const_int(u64::from(k), false),
                    count,
                    "in_use",
                )
                .expect("cmp");
            self.bpf
                .b
                .build_conditional_branch(in_use, take, next)
                .expect("br");
            self.bpf.b.position_at_end(take);
            let port = load(self, 4 + 4 * k);
            let is_ingress = self
                .bpf
                .b
                .build_int_compare(IntPredicate::EQ, port, ingress, "is_in")
                .expect("cmp");
            let skip = self
                .bpf
                .b
                .build_and(flood, is_ingress, "skip")
                .expect("and");
            let unset = self.bpf.is_zero(port);
            let skip = self.bpf.b.build_or(skip, unset, "skip").expect("or");
            let keep = self.block("group_keep");
            self.bpf
                .b
                .build_conditional_branch(skip, next, keep)
                .expect("br");
            self.bpf.b.position_at_end(keep);
            let before = self.bpf.load_u32(held);
            let has = self.bpf.non_zero(before);
            let send = self.block("group_clone");
            let hold = self.block("group_hold");
            self.bpf
                .b
                .build_conditional_branch(has, send, hold)
                .expect("br");
            self.bpf.b.position_at_end(send);
            self.clone_redirect(before);
            self.goto(hold);
            self.bpf.b.position_at_end(hold);
            self.bpf.b.build_store(held, port).expect("store");
            self.goto(next);
            self.bpf.b.position_at_end(next);
        }
        let last = self.bpf.load_u32(held);
        let any = self.bpf.non_zero(last);
        let out = self.block("group_last");
        let none = self.block("group_none");
        self.bpf
            .b
            .build_conditional_branch(any, out, none)
            .expect("br");
        self.bpf.b.position_at_end(none);
        self.ret(TC_SHOT);
        self.bpf.b.position_at_end(out);
        let r = self.redirect(last);
        self.bpf.b.build_return(Some(&r)).expect("ret");
    }
}
