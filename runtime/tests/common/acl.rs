//! A hand-written program with an array table, written from the manifest's layout rules
//! alone, to prove the runtime's slots against an independent reader.
//!
//! Takes: nothing (or an edit to apply to the manifest).
//! Gives: object bytes for `acl` (XDP): it scans the array map `acl` from slot 0 to the first
//! empty slot for the first slot whose ternary EtherType and TTL range match, counts the hit
//! atomically in the slot's direct counter, and returns the action id of that slot or of the
//! default map (drop = 1 = XDP_DROP, pass = 2 = XDP_PASS, fwd = 3 = XDP_TX); plus frames.

use super::asm::{Asm, Cond, Size, FP, MAP_LOOKUP_ELEM, R0, R1, R2, R6, R7, R8, R9};
use super::elf::{self, map, MapDef, ARRAY};
use super::programs::{manifest, program, DROP, FWD, PASS};
use iov_manifest::{
    Action, ActionCall, DirectCounter, Hook, KeyField, Manifest, MapKind, MatchKind, Param, Table,
};

/// Slots in the table.
pub const SIZE: u32 = 8;
/// The key half of a slot: priority (4), EtherType pair (2 + 2), TTL pair (1 + 1), padding.
pub const KEY_SIZE: u32 = 16;
/// The value: action id (4), port (2), padding (2), direct counter (8 + 8).
pub const VALUE_SIZE: u32 = 24;
pub const COUNTER_OFFSET: u32 = 8;
/// One slot of the map.
pub const SLOT: usize = (KEY_SIZE + VALUE_SIZE) as usize;

pub fn acl_manifest() -> Manifest {
    let mut m = manifest("acl", Hook::Xdp, "xdp", "acl");
    let action = |name: &str, id, params| Action {
        name: format!("ingress.{name}"),
        id,
        params,
    };
    let key = |name: &str, bits: u32, match_kind, offset| KeyField {
        name: name.into(),
        bits,
        match_kind,
        offset,
        bytes: bits.div_ceil(8),
    };
    m.tables = vec![Table {
        name: "ingress.acl".into(),
        map: "acl".into(),
        default_map: "acl_default".into(),
        kind: MapKind::Array,
        size: SIZE,
        key_size: KEY_SIZE,
        value_size: VALUE_SIZE,
        keys: vec![
            key("hdr.eth.type", 16, MatchKind::Ternary, 0),
            key("hdr.ipv4.ttl", 8, MatchKind::Range, 4),
        ],
        actions: vec![
            action("drop", DROP, vec![]),
            action("pass", PASS, vec![]),
            action(
                "fwd",
                FWD,
                vec![Param {
                    name: "port".into(),
                    bits: 9,
                    offset: 4,
                    bytes: 2,
                }],
            ),
        ],
        default_action: ActionCall {
            action: "pass".into(),
            args: vec![],
        },
        default_const: false,
        entries: Vec::new(),
        entries_const: false,
        direct_counter: Some(DirectCounter {
            name: "ingress.hits".into(),
            offset: COUNTER_OFFSET,
        }),
        direct_meter: None,
        data_plane: None,
        tuple_space: None,
    }];
    m
}

fn acl_maps() -> Vec<MapDef> {
    vec![
        map("acl", ARRAY, 4, KEY_SIZE + VALUE_SIZE, SIZE),
        map("acl_default", ARRAY, 4, VALUE_SIZE, 1),
    ]
}

fn acl_code() -> Asm {
    let mut a = Asm::new();
    // r9 = frame length, r8 = EtherType as loaded, r7 = TTL; frames under 34 bytes abort.
    a.mov(R6, R1)
        .ldx(Size::W, R7, R6, 0)
        .ldx(Size::W, R8, R6, 4)
        .mov(R1, R7)
        .add_imm(R1, 34)
        .jmp_reg(Cond::Gt, R1, R8, "abort")
        .mov(R9, R8)
        .sub(R9, R7)
        .ldx(Size::H, R8, R7, 12)
        .ldx(Size::B, R7, R7, 22)
        .mov_imm(R6, 0);
    // for r6 in 0..SIZE: slot = acl[r6]; an empty slot ends the scan.
    a.label("loop")
        .jmp_imm(Cond::Gt, R6, SIZE as i32 - 1, "miss")
        .stx(Size::W, FP, -4, R6)
        .ld_map(R1, "acl")
        .mov(R2, FP)
        .add_imm(R2, -4)
        .call(MAP_LOOKUP_ELEM)
        .jmp_imm(Cond::Eq, R0, 0, "miss")
        .ldx(Size::W, R1, R0, 0)
        .jmp_imm(Cond::Eq, R1, 0, "miss");
    // ternary: (type & b) == a; both sides in the packet's byte order.
    a.ldx(Size::H, R1, R0, 6)
        .and(R1, R8)
        .ldx(Size::H, R2, R0, 4)
        .jmp_reg(Cond::Ne, R1, R2, "next");
    // range: a <= ttl <= b
    a.ldx(Size::B, R1, R0, 8)
        .jmp_reg(Cond::Gt, R1, R7, "next")
        .ldx(Size::B, R1, R0, 9)
        .jmp_reg(Cond::Gt, R7, R1, "next");
    // hit: count it, then run the slot's value.
    let counter = (KEY_SIZE + COUNTER_OFFSET) as i16;
    a.mov_imm(R1, 1)
        .atomic_add64(R0, counter, R1)
        .atomic_add64(R0, counter + 8, R9)
        .add_imm(R0, KEY_SIZE as i32)
        .ja("found");
    a.label("next").add_imm(R6, 1).ja("loop");
    a.label("miss")
        .st_imm(Size::W, FP, -4, 0)
        .ld_map(R1, "acl_default")
        .mov(R2, FP)
        .add_imm(R2, -4)
        .call(MAP_LOOKUP_ELEM)
        .jmp_imm(Cond::Eq, R0, 0, "abort");
    a.label("found")
        .ldx(Size::W, R0, R0, 0)
        .jmp_imm(Cond::Gt, R0, 3, "abort")
        .exit();
    a.label("abort").mov_imm(R0, 0).exit();
    a
}

/// The acl program with its manifest as `edit` leaves it.
pub fn acl_with(edit: impl FnOnce(&mut Manifest)) -> Vec<u8> {
    let mut m = acl_manifest();
    edit(&mut m);
    let code = acl_code();
    elf::object(&program("xdp", "acl", &code), &acl_maps(), Some(&m))
}

pub fn acl() -> Vec<u8> {
    acl_with(|_| {})
}

/// A `len`-byte frame with EtherType `ether` and IPv4 TTL `ttl`.
pub fn packet(ether: u16, ttl: u8, len: usize) -> Vec<u8> {
    let mut f = super::programs::frame(ether, [10, 0, 0, 1], len);
    f[22] = ttl;
    f
}
