//! The hand-written test programs and their manifests.
//!
//! Takes: nothing (or an edit to apply to a manifest).
//! Gives: object bytes for `pass` (XDP, returns `XDP_PASS`), `tc_len` (TC, drops frames
//! longer than 60 bytes), `unverifiable` (rejected by the verifier) and `router` (XDP: an
//! exact table on the EtherType, then an lpm table on EtherType + IPv4 destination, then the
//! default action; it counts hits per action id, records the frame length in a register and
//! writes the verdict map), plus frames to feed them.

use super::asm::{Asm, Cond, Size, FP, MAP_LOOKUP_ELEM, MAP_UPDATE_ELEM, R0, R1, R2, R3, R4};
use super::asm::{R6, R7, R8, R9};
use super::elf::{self, map, MapDef, Program, ARRAY, HASH, LPM_TRIE, PERCPU_ARRAY};
use iov_manifest::{
    Action, ActionCall, Counter, CounterKind, Hook, KeyField, Manifest, MapKind, MatchKind, Param,
    Register, Table, VERSION,
};

pub fn manifest(program: &str, hook: Hook, section: &str, function: &str) -> Manifest {
    Manifest {
        version: VERSION,
        program: program.into(),
        hook,
        section: section.into(),
        function: function.into(),
        tables: Vec::new(),
        counters: Vec::new(),
        registers: Vec::new(),
        errors: Vec::new(),
        verdict_map: None,
        clock_map: None,
        meters: Vec::new(),
        digests: Vec::new(),
        groups: Vec::new(),
        chain: None,
    }
}

pub fn program<'a>(section: &'a str, function: &'a str, asm: &Asm) -> Program<'a> {
    let (code, relocs) = asm.finish();
    Program {
        section,
        function,
        code,
        relocs,
    }
}

/// `r0 = XDP_PASS; exit`.
pub fn pass() -> Vec<u8> {
    let mut asm = Asm::new();
    asm.mov_imm(R0, 2).exit();
    let m = manifest("pass", Hook::Xdp, "xdp", "pass");
    elf::object(&program("xdp", "pass", &asm), &[], Some(&m))
}

/// `pass` without its manifest section.
pub fn pass_without_manifest() -> Vec<u8> {
    let mut asm = Asm::new();
    asm.mov_imm(R0, 2).exit();
    elf::object(&program("xdp", "pass", &asm), &[], None)
}

/// A TC program in `section`: `TC_ACT_SHOT` (2) for skb->len > 60, else `TC_ACT_OK` (0).
pub fn tc_len(section: &str) -> Vec<u8> {
    let mut asm = Asm::new();
    asm.ldx(Size::W, R0, R1, 0)
        .jmp_imm(Cond::Gt, R0, 60, "long")
        .mov_imm(R0, 0)
        .exit()
        .label("long")
        .mov_imm(R0, 2)
        .exit();
    let m = manifest("tc_len", Hook::TcIngress, section, "tc_len");
    elf::object(&program(section, "tc_len", &asm), &[], Some(&m))
}

/// `exit` with r0 never set: the verifier refuses it.
pub fn unverifiable() -> Vec<u8> {
    let mut asm = Asm::new();
    asm.exit();
    let m = manifest("bad", Hook::Xdp, "xdp", "bad");
    elf::object(&program("xdp", "bad", &asm), &[], Some(&m))
}

pub const DROP: u32 = 1;
pub const PASS: u32 = 2;
pub const FWD: u32 = 3;

fn actions() -> Vec<Action> {
    let action = |name: &str, id, params| Action {
        name: format!("ingress.{name}"),
        id,
        params,
    };
    vec![
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
    ]
}

fn key(name: &str, bits: u32, match_kind: MatchKind, offset: u32) -> KeyField {
    KeyField {
        name: name.into(),
        bits,
        match_kind,
        offset,
        bytes: bits.div_ceil(8),
    }
}

fn table(name: &str, map: &str, kind: MapKind, size: u32, keys: Vec<KeyField>) -> Table {
    let key_size =
        keys.iter().map(|k| k.bytes).sum::<u32>() + if kind == MapKind::LpmTrie { 4 } else { 0 };
    Table {
        name: name.into(),
        map: map.into(),
        default_map: format!("{map}_default"),
        kind,
        size,
        key_size,
        value_size: 8,
        keys,
        actions: actions(),
        default_action: ActionCall {
            action: "pass".into(),
            args: vec![],
        },
        default_const: false,
        entries: Vec::new(),
        entries_const: false,
        direct_counter: None,
        direct_meter: None,
        data_plane: None,
        tuple_space: None,
    }
}

/// The router's manifest; `edit` changes it before the object is written.
pub fn router_manifest() -> Manifest {
    let mut m = manifest("router", Hook::Xdp, "xdp", "router");
    m.tables = vec![
        table(
            "ingress.by_type",
            "by_type",
            MapKind::Hash,
            4,
            vec![key("hdr.eth.type", 16, MatchKind::Exact, 0)],
        ),
        table(
            "ingress.routes",
            "routes",
            MapKind::LpmTrie,
            8,
            vec![
                key("hdr.eth.type", 16, MatchKind::Exact, 0),
                key("hdr.ipv4.dst", 32, MatchKind::Lpm, 2),
            ],
        ),
    ];
    m.counters = vec![Counter {
        name: "ingress.hits".into(),
        map: "hits".into(),
        size: 4,
        kind: CounterKind::PacketsAndBytes,
    }];
    m.registers = vec![Register {
        name: "ingress.last_len".into(),
        map: "last_len".into(),
        size: 2,
        bits: 32,
        initial: 0,
    }];
    m.verdict_map = Some("verdict".into());
    m
}

fn router_maps() -> Vec<MapDef> {
    vec![
        map("by_type", HASH, 2, 8, 4),
        map("by_type_default", ARRAY, 4, 8, 1),
        map("routes", LPM_TRIE, 10, 8, 8),
        map("routes_default", ARRAY, 4, 8, 1),
        map("hits", PERCPU_ARRAY, 4, 16, 4),
        map("last_len", ARRAY, 4, 8, 2),
        map("verdict", ARRAY, 4, 16, 1),
    ]
}

fn router_code() -> Asm {
    let mut a = Asm::new();
    // r7 = data, r8 = data_end; frames shorter than 34 bytes abort.
    a.mov(R6, R1)
        .ldx(Size::W, R7, R6, 0)
        .ldx(Size::W, R8, R6, 4)
        .mov(R1, R7)
        .add_imm(R1, 34)
        .jmp_reg(Cond::Gt, R1, R8, "abort");
    // r9 = frame length; last_len[0] = r9.
    a.mov(R9, R8)
        .sub(R9, R7)
        .st_imm(Size::W, FP, -4, 0)
        .stx(Size::DW, FP, -16, R9)
        .ld_map(R1, "last_len")
        .mov(R2, FP)
        .add_imm(R2, -4)
        .mov(R3, FP)
        .add_imm(R3, -16)
        .mov_imm(R4, 0)
        .call(MAP_UPDATE_ELEM);
    // by_type[eth.type]
    a.ldx(Size::H, R1, R7, 12)
        .stx(Size::H, FP, -24, R1)
        .ld_map(R1, "by_type")
        .mov(R2, FP)
        .add_imm(R2, -24)
        .call(MAP_LOOKUP_ELEM)
        .jmp_imm(Cond::Ne, R0, 0, "found");
    // routes[{48, eth.type, ipv4.dst}]
    a.st_imm(Size::W, FP, -40, 48)
        .ldx(Size::H, R1, R7, 12)
        .stx(Size::H, FP, -36, R1)
        .ldx(Size::H, R1, R7, 30)
        .stx(Size::H, FP, -34, R1)
        .ldx(Size::H, R1, R7, 32)
        .stx(Size::H, FP, -32, R1)
        .ld_map(R1, "routes")
        .mov(R2, FP)
        .add_imm(R2, -40)
        .call(MAP_LOOKUP_ELEM)
        .jmp_imm(Cond::Ne, R0, 0, "found");
    // by_type's default action
    a.st_imm(Size::W, FP, -4, 0)
        .ld_map(R1, "by_type_default")
        .mov(R2, FP)
        .add_imm(R2, -4)
        .call(MAP_LOOKUP_ELEM)
        .jmp_imm(Cond::Eq, R0, 0, "abort");
    // r6 = action id, r7 = port (the parameter is big-endian in the value)
    a.label("found")
        .ldx(Size::W, R6, R0, 0)
        .ldx(Size::H, R7, R0, 4)
        .be16(R7)
        .jmp_imm(Cond::Gt, R6, 3, "abort");
    // hits[id] += (1, len)
    a.stx(Size::W, FP, -4, R6)
        .ld_map(R1, "hits")
        .mov(R2, FP)
        .add_imm(R2, -4)
        .call(MAP_LOOKUP_ELEM)
        .jmp_imm(Cond::Eq, R0, 0, "verdict")
        .ldx(Size::DW, R1, R0, 0)
        .add_imm(R1, 1)
        .stx(Size::DW, R0, 0, R1)
        .ldx(Size::DW, R1, R0, 8)
        .add(R1, R9)
        .stx(Size::DW, R0, 8, R1);
    // verdict = { drop: DROP(2), pass: PASS(1), fwd: REDIRECT(3) ; port ; error 0 ; clone 0
    // (the key's slot, 0) }
    a.label("verdict")
        .mov_imm(R1, 2)
        .jmp_imm(Cond::Eq, R6, DROP as i32, "store")
        .mov_imm(R1, 1)
        .jmp_imm(Cond::Eq, R6, PASS as i32, "store")
        .mov_imm(R1, 3)
        .label("store")
        .stx(Size::W, FP, -16, R1)
        .stx(Size::W, FP, -12, R7)
        .st_imm(Size::W, FP, -8, 0)
        .st_imm(Size::W, FP, -4, 0)
        .ld_map(R1, "verdict")
        .mov(R2, FP)
        .add_imm(R2, -4)
        .mov(R3, FP)
        .add_imm(R3, -16)
        .mov_imm(R4, 0)
        .call(MAP_UPDATE_ELEM);
    // return the action id: drop = XDP_DROP, pass = XDP_PASS, fwd = XDP_TX
    a.mov(R0, R6).exit();
    a.label("abort").mov_imm(R0, 0).exit();
    a
}

/// The router with its manifest as `edit` leaves it.
pub fn router_with(edit: impl FnOnce(&mut Manifest)) -> Vec<u8> {
    let mut m = router_manifest();
    edit(&mut m);
    let code = router_code();
    elf::object(&program("xdp", "router", &code), &router_maps(), Some(&m))
}

pub fn router() -> Vec<u8> {
    router_with(|_| {})
}

pub const IPV4: u16 = 0x0800;

/// A `len`-byte Ethernet frame with EtherType `ether` and, at bytes 30..34, IPv4 address `dst`.
pub fn frame(ether: u16, dst: [u8; 4], len: usize) -> Vec<u8> {
    let mut f = vec![0u8; len.max(34)];
    f[..6].copy_from_slice(&[0xff; 6]);
    f[6..12].copy_from_slice(&[0x02, 0, 0, 0, 0, 1]);
    f[12..14].copy_from_slice(&ether.to_be_bytes());
    f[14] = 0x45;
    f[22] = 64;
    f[30..34].copy_from_slice(&dst);
    for (i, b) in f.iter_mut().enumerate().skip(34) {
        *b = i as u8;
    }
    f.truncate(len);
    f
}

/// An IPv4 address as the `u128` the control plane takes.
pub fn ip(a: [u8; 4]) -> u128 {
    u128::from(u32::from_be_bytes(a))
}
