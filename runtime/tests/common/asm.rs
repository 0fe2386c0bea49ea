//! A tiny BPF assembler for hand-written test programs.
//!
//! Takes: instructions written as method calls (`mov_imm`, `ldx`, `jmp_imm`, `ld_map`, ...)
//! with symbolic jump labels.
//! Gives: the little-endian instruction bytes and the relocations (`ld_imm64` of a map) that
//! the object writer turns into ELF relocations, as LLVM would emit them.

use std::collections::HashMap;

pub const R0: u8 = 0;
pub const R1: u8 = 1;
pub const R2: u8 = 2;
pub const R3: u8 = 3;
pub const R4: u8 = 4;
pub const R6: u8 = 6;
pub const R7: u8 = 7;
pub const R8: u8 = 8;
pub const R9: u8 = 9;
pub const FP: u8 = 10;

/// Access sizes (`BPF_W`, `BPF_H`, `BPF_B`, `BPF_DW`).
#[derive(Clone, Copy)]
pub enum Size {
    W = 0x00,
    H = 0x08,
    B = 0x10,
    DW = 0x18,
}

/// Jump conditions (`BPF_JEQ`, ...).
#[derive(Clone, Copy)]
pub enum Cond {
    Eq = 0x10,
    Gt = 0x20,
    Ne = 0x50,
}

pub const MAP_LOOKUP_ELEM: i32 = 1;
pub const MAP_UPDATE_ELEM: i32 = 2;

#[derive(Default)]
pub struct Asm {
    insns: Vec<[u8; 8]>,
    labels: HashMap<&'static str, usize>,
    jumps: Vec<(usize, &'static str)>,
    relocs: Vec<(usize, String)>,
}

impl Asm {
    pub fn new() -> Asm {
        Asm::default()
    }

    fn raw(&mut self, code: u8, dst: u8, src: u8, off: i16, imm: i32) -> &mut Self {
        let mut insn = [0u8; 8];
        insn[0] = code;
        insn[1] = (src << 4) | dst;
        insn[2..4].copy_from_slice(&off.to_le_bytes());
        insn[4..8].copy_from_slice(&imm.to_le_bytes());
        self.insns.push(insn);
        self
    }

    pub fn label(&mut self, name: &'static str) -> &mut Self {
        self.labels.insert(name, self.insns.len());
        self
    }

    /// `dst = imm` (64-bit).
    pub fn mov_imm(&mut self, dst: u8, imm: i32) -> &mut Self {
        self.raw(0xb7, dst, 0, 0, imm)
    }

    /// `dst = src` (64-bit).
    pub fn mov(&mut self, dst: u8, src: u8) -> &mut Self {
        self.raw(0xbf, dst, src, 0, 0)
    }

    /// `dst += imm` (64-bit).
    pub fn add_imm(&mut self, dst: u8, imm: i32) -> &mut Self {
        self.raw(0x07, dst, 0, 0, imm)
    }

    /// `dst += src` (64-bit).
    pub fn add(&mut self, dst: u8, src: u8) -> &mut Self {
        self.raw(0x0f, dst, src, 0, 0)
    }

    /// `dst &= src` (64-bit).
    pub fn and(&mut self, dst: u8, src: u8) -> &mut Self {
        self.raw(0x5f, dst, src, 0, 0)
    }

    /// `lock *(u64 *)(dst + off) += src` (`BPF_ATOMIC` `BPF_ADD`).
    pub fn atomic_add64(&mut self, dst: u8, off: i16, src: u8) -> &mut Self {
        self.raw(0xdb, dst, src, off, 0)
    }

    /// `dst -= src` (64-bit).
    pub fn sub(&mut self, dst: u8, src: u8) -> &mut Self {
        self.raw(0x1f, dst, src, 0, 0)
    }

    /// `dst = bswap16(dst)` on a little-endian machine (`be16`).
    pub fn be16(&mut self, dst: u8) -> &mut Self {
        self.raw(0xdc, dst, 0, 0, 16)
    }

    /// `dst = *(size *)(src + off)`.
    pub fn ldx(&mut self, size: Size, dst: u8, src: u8, off: i16) -> &mut Self {
        self.raw(0x61 | size as u8, dst, src, off, 0)
    }

    /// `*(size *)(dst + off) = src`.
    pub fn stx(&mut self, size: Size, dst: u8, off: i16, src: u8) -> &mut Self {
        self.raw(0x63 | size as u8, dst, src, off, 0)
    }

    /// `*(size *)(dst + off) = imm`.
    pub fn st_imm(&mut self, size: Size, dst: u8, off: i16, imm: i32) -> &mut Self {
        self.raw(0x62 | size as u8, dst, 0, off, imm)
    }

    /// `if dst <cond> imm goto label`.
    pub fn jmp_imm(&mut self, cond: Cond, dst: u8, imm: i32, label: &'static str) -> &mut Self {
        self.jumps.push((self.insns.len(), label));
        self.raw(0x05 | cond as u8, dst, 0, 0, imm)
    }

    /// `if dst <cond> src goto label`.
    pub fn jmp_reg(&mut self, cond: Cond, dst: u8, src: u8, label: &'static str) -> &mut Self {
        self.jumps.push((self.insns.len(), label));
        self.raw(0x0d | cond as u8, dst, src, 0, 0)
    }

    /// `goto label`.
    pub fn ja(&mut self, label: &'static str) -> &mut Self {
        self.jumps.push((self.insns.len(), label));
        self.raw(0x05, 0, 0, 0, 0)
    }

    /// `dst = &map` (an `ld_imm64` the loader relocates to the map's fd).
    pub fn ld_map(&mut self, dst: u8, map: &str) -> &mut Self {
        self.relocs.push((self.insns.len(), map.to_string()));
        self.raw(0x18, dst, 0, 0, 0);
        self.raw(0, 0, 0, 0, 0)
    }

    /// `call helper`.
    pub fn call(&mut self, helper: i32) -> &mut Self {
        self.raw(0x85, 0, 0, 0, helper)
    }

    pub fn exit(&mut self) -> &mut Self {
        self.raw(0x95, 0, 0, 0, 0)
    }

    /// The code bytes and the relocations: (byte offset of the `ld_imm64`, map symbol).
    pub fn finish(&self) -> (Vec<u8>, Vec<(u64, String)>) {
        let mut insns = self.insns.clone();
        for &(at, label) in &self.jumps {
            let target = self.labels[label] as i64;
            let off = i16::try_from(target - at as i64 - 1).expect("jump in range");
            insns[at][2..4].copy_from_slice(&off.to_le_bytes());
        }
        let relocs = self
            .relocs
            .iter()
            .map(|(at, map)| (*at as u64 * 8, map.clone()))
            .collect();
        (insns.concat(), relocs)
    }
}
