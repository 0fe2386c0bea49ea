//! Running as a stage of a chain: the packet count at entry and the hand-over on `pass`.
//!
//! Takes: the entry function being built, when it is built as a stage
//! (`Options::chain_stage`).
//! Gives: two maps every stage carries (manifest `chain`): `iov_next`, a program array of
//! one slot, and `iov_packets`, a per-CPU count of the packets the program received. At the
//! top of the function the count grows by one; where the final decision is to pass the
//! packet, the program tail-calls slot 0 of `iov_next` with the packet as the program left
//! it. An empty slot makes the tail call fail and return, and the packet passes to the
//! kernel as it would without a chain: a program loaded alone (by iov, libbpf or bpftool)
//! behaves as if chains did not exist, and a missing stage never drops a packet.
//!
//! A stage that calls `pass_to_class(k)` also carries `iov_classes`, a program array of
//! [`CLASS_SLOTS`] slots (manifest `chain.classes`): where it passes such a packet, it
//! tail-calls slot `k` first (a chain heading one traffic class), and when that slot is
//! empty or `k` is out of range, hands the packet on through `iov_next` as any pass does.

use super::{decision, Gen};
use crate::bpf::{helper, map_type, Bpf};
use inkwell::values::{FunctionValue, GlobalValue, IntValue, PointerValue};
use iov_manifest as manifest;

/// The program array holding the next stage.
pub const NEXT_MAP: &str = "iov_next";
/// The per-CPU count of packets received.
pub const PACKETS_MAP: &str = "iov_packets";
/// The program array of class chains (`pass_to_class`).
pub const CLASSES_MAP: &str = "iov_classes";
/// Its slots: the classes one chain can select between.
pub const CLASS_SLOTS: u32 = 64;

/// Declares the chain maps and counts the packet; call first in the entry block, before
/// the context is read (so nothing needs to survive the lookup's call). Returns the program
/// array, the manifest's record of both maps, and the 32-bit stack slot that held the
/// lookup's key (0): free again, it serves as the slot of the output port, so counting
/// costs no stack (programs with large header stacks use nearly all 512 bytes).
pub fn enter<'ctx>(
    bpf: &Bpf<'ctx>,
    func: FunctionValue<'ctx>,
) -> (GlobalValue<'ctx>, manifest::ChainMaps, PointerValue<'ctx>) {
    let next = bpf.prog_array(NEXT_MAP, 1);
    let packets = bpf.map(PACKETS_MAP, map_type::PERCPU_ARRAY, 4, 8, 1, 0);
    // An 8-byte word of its own (see `Gen::alloca_key32`); the key and the port are its low
    // half.
    let key = bpf
        .b
        .build_alloca(bpf.ctx.i64_type(), "hop_key")
        .expect("alloca");
    key.as_instruction()
        .expect("an alloca is an instruction")
        .set_alignment(8)
        .expect("8 is a valid alignment");
    bpf.b
        .build_store(key, bpf.ctx.i64_type().const_zero())
        .expect("store");
    let v = bpf.lookup(packets, key);
    let has = bpf.b.build_is_not_null(v, "has").expect("cmp");
    let count = bpf.ctx.append_basic_block(func, "count_packet");
    let counted = bpf.ctx.append_basic_block(func, "counted");
    bpf.b
        .build_conditional_branch(has, count, counted)
        .expect("br");
    bpf.b.position_at_end(count);
    bpf.add_u64(v, bpf.ctx.i64_type().const_int(1, false));
    bpf.b.build_unconditional_branch(counted).expect("br");
    bpf.b.position_at_end(counted);
    let maps = manifest::ChainMaps {
        next: NEXT_MAP.into(),
        packets: PACKETS_MAP.into(),
        classes: None,
    };
    (next, maps, key)
}

impl<'a, 'ctx> Gen<'a, 'ctx> {
    /// `pass_to_class(class)`: the decision to pass, to the chain in slot `class` of
    /// `iov_classes` (declared by the first call). Outside a chain stage it is `pass()`.
    pub fn pass_to_class(&mut self, class: IntValue<'ctx>) -> u32 {
        let Some(chain) = self.manifest.chain.as_mut() else {
            return decision::PASS;
        };
        if chain.classes.is_none() {
            chain.classes = Some(manifest::ClassMaps {
                map: CLASSES_MAP.into(),
                slots: CLASS_SLOTS,
            });
            let map = self.bpf.prog_array(CLASSES_MAP, CLASS_SLOTS);
            self.maps.insert(CLASSES_MAP.into(), map);
        }
        let class = self.fit(class, 32);
        self.bpf.b.build_store(self.port, class).expect("store");
        decision::CLASS
    }

    /// Tail-calls the class chain in the slot `class` names; returns when there is none.
    pub fn hand_to_class(&self, class: IntValue<'ctx>) {
        let Some(classes) = self.maps.get(CLASSES_MAP).map(|m| m.as_pointer_value()) else {
            return;
        };
        self.bpf.call_helper(
            helper::TAIL_CALL,
            Some(self.bpf.ctx.i64_type()),
            &[self.ctx_ptr.into(), classes.into(), class.into()],
        );
    }

    /// Hands the packet to the next stage; returns (and the caller passes the packet) when
    /// there is none, or when the program is not built as a stage.
    pub fn hand_on(&self) {
        let Some(next) = self.maps.get(NEXT_MAP).map(|m| m.as_pointer_value()) else {
            return;
        };
        let i32t = self.bpf.ctx.i32_type();
        self.bpf.call_helper(
            helper::TAIL_CALL,
            Some(self.bpf.ctx.i64_type()),
            &[self.ctx_ptr.into(), next.into(), i32t.const_zero().into()],
        );
    }
}
