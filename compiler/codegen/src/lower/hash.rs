//! The `hash` extern function: CRC-16/ARC, CRC-32/ISO-HDLC, CRC-32C, jhash, identity, xor16.
//!
//! Takes: a `hash(HashAlgorithm.X, data)` call, `data` a header (its bytes as on the wire; an
//! invalid header hashes as zero bytes), a bit string (big-endian) or a list `{a, b}` of those
//! joined bit by bit; the last byte is filled with zero bits.
//! Gives: straight-line code over the data's bytes, whose count is known here. The CRCs are
//! reflected and table-driven, one lookup per byte in a 256-entry table in `.rodata` (a frozen
//! array map to the loader); jhash is the kernel's (`include/linux/jhash.h`, words read
//! little-endian). Operations on constants fold as they are built, so the hash of constant
//! data (an invalid header's zeros) is a constant.

use super::bits::Place;
use super::Gen;
use inkwell::values::IntValue;
use iov_sema::types::Ty;
use iov_syntax::ast::{self, ExprKind};

/// The algorithms, as `HashAlgorithm`'s members name them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Algo {
    Crc16,
    Crc32,
    Crc32c,
    Jhash,
    Identity,
    Xor16,
}

impl Algo {
    pub fn named(name: &str) -> Option<Algo> {
        Some(match name {
            "crc16" => Algo::Crc16,
            "crc32" => Algo::Crc32,
            "crc32c" => Algo::Crc32c,
            "jhash" => Algo::Jhash,
            "identity" => Algo::Identity,
            "xor16" => Algo::Xor16,
            _ => return None,
        })
    }

    /// A reflected CRC's `(reversed polynomial, initial value and final xor)`.
    fn crc(self) -> Option<(u32, u32)> {
        match self {
            Algo::Crc16 => Some((0xa001, 0)),
            Algo::Crc32 => Some((0xedb8_8320, 0xffff_ffff)),
            Algo::Crc32c => Some((0x82f6_3b78, 0xffff_ffff)),
            _ => None,
        }
    }
}

/// The byte-at-a-time table of a reflected CRC with reversed polynomial `poly`.
fn crc_table(poly: u32) -> Vec<u32> {
    (0..256u32)
        .map(|i| (0..8).fold(i, |c, _| if c & 1 == 1 { (c >> 1) ^ poly } else { c >> 1 }))
        .collect()
}

impl<'a, 'ctx> Gen<'a, 'ctx> {
    /// Lowers `hash(algo, data)`; its value is `bit<32>`.
    pub fn hash_call(&mut self, args: &[ast::Expr]) -> IntValue<'ctx> {
        let algo = match &args[0].kind {
            ExprKind::Member(_, m) => Algo::named(&m.name),
            _ => None,
        };
        let Some(algo) = algo else {
            self.unsupported(args[0].span, "a hash algorithm chosen at run time");
            return self.bpf.c(32, 0);
        };
        let data = &args[1];
        if let ExprKind::List(items) = &data.kind {
            let Some(bytes) = self.list_bytes(items) else {
                return self.bpf.c(32, 0);
            };
            return self.hash_bytes(algo, &bytes);
        }
        if let Some(h) = self.header_of(data) {
            // An invalid header's bytes read as zeros: its hash is a constant.
            let zeros = vec![self.bpf.c(32, 0); h.size as usize];
            let none = self.hash_bytes(algo, &zeros);
            let result = self.alloca(32, "hash");
            self.bpf.b.build_store(result, none).expect("store");
            let (base, done) = self.when_valid(h);
            let bytes: Vec<IntValue<'ctx>> = (0..h.size)
                .map(|i| {
                    let b = self.load_bits(base, i * 8, 8, Place::Any);
                    self.fit(b, 32)
                })
                .collect();
            let v = self.hash_bytes(algo, &bytes);
            self.bpf.b.build_store(result, v).expect("store");
            self.end_valid(done);
            return self
                .bpf
                .b
                .build_load(self.bpf.i(32), result, "hash")
                .expect("load")
                .into_int_value();
        }
        match self.ty(data) {
            Ty::Bit(_) | Ty::Int(_) | Ty::Bool => {}
            _ => {
                self.unsupported(
                    data.span,
                    "a hash of this type (hash a header or a bit string; join fields with `++`)",
                );
                return self.bpf.c(32, 0);
            }
        }
        let v = self.expr(data);
        let bytes = self.bytes_of(v);
        self.hash_bytes(algo, &bytes)
    }

    /// The bytes of a list's items joined bit by bit (a header's wire bytes, an invalid
    /// header's zeros), each as an `i32`; the last one filled with zero bits.
    pub(super) fn list_bytes(&mut self, items: &[ast::Expr]) -> Option<Vec<IntValue<'ctx>>> {
        // Pieces of at most 8 bits, most significant first, then packed into bytes.
        let mut pieces: Vec<(IntValue<'ctx>, u32)> = Vec::new();
        for item in items {
            if let Some(h) = self.header_of(item) {
                let slots: Vec<_> = (0..h.size).map(|_| self.alloca(8, "hb")).collect();
                let (base, done) = self.when_valid(h);
                for (i, slot) in slots.iter().enumerate() {
                    let b = self.load_bits(base, i as u32 * 8, 8, Place::Any);
                    self.bpf.b.build_store(*slot, b).expect("store");
                }
                self.end_valid(done);
                for slot in slots {
                    let b = self
                        .bpf
                        .b
                        .build_load(self.bpf.i(8), slot, "hb")
                        .expect("load");
                    pieces.push((self.fit(b.into_int_value(), 32), 8));
                }
                continue;
            }
            if !matches!(self.ty(item), Ty::Bit(_) | Ty::Int(_) | Ty::Bool) {
                self.unsupported(item.span, "a hash of this type");
                return None;
            }
            let v = self.expr(item);
            let bits = v.get_type().get_bit_width();
            let mut left = bits;
            while left > 0 {
                let w = if left.is_multiple_of(8) { 8 } else { left % 8 };
                left -= w;
                let shifted = if left == 0 {
                    v
                } else {
                    self.bpf
                        .b
                        .build_right_shift(v, self.bpf.c(bits, u128::from(left)), false, "pc")
                        .expect("shr")
                };
                let piece = self.fit(shifted, w);
                pieces.push((self.fit(piece, 32), w));
            }
        }
        let mut bytes = Vec::new();
        let (mut acc, mut have) = (self.bpf.c(32, 0), 0u32);
        for (v, w) in pieces {
            acc = self.shl(acc, w);
            acc = self.bpf.b.build_or(acc, v, "pk").expect("or");
            have += w;
            if have >= 8 {
                have -= 8;
                let top = self.lshr(acc, have);
                bytes.push(
                    self.bpf
                        .b
                        .build_and(top, self.bpf.c(32, 0xff), "pb")
                        .expect("and"),
                );
                let keep = self.bpf.c(32, (1u128 << have) - 1);
                acc = self.bpf.b.build_and(acc, keep, "pr").expect("and");
            }
        }
        if have > 0 {
            bytes.push(self.shl(acc, 8 - have));
        }
        Some(bytes)
    }

    /// The bytes of bit string `v`, most significant first, each as an `i32`; the last one
    /// filled with zero bits when the width is not a multiple of 8.
    fn bytes_of(&self, v: IntValue<'ctx>) -> Vec<IntValue<'ctx>> {
        let bits = v.get_type().get_bit_width();
        let padded = bits.div_ceil(8) * 8;
        let b = &self.bpf.b;
        let mut v = self.fit(v, padded);
        if padded != bits {
            v = b
                .build_left_shift(v, self.bpf.c(padded, u128::from(padded - bits)), "pad")
                .expect("shl");
        }
        (0..padded / 8)
            .rev()
            .map(|k| {
                let shifted = if k == 0 {
                    v
                } else {
                    b.build_right_shift(v, self.bpf.c(padded, u128::from(k * 8)), false, "byte")
                        .expect("shr")
                };
                let byte = self.fit(shifted, 8);
                self.fit(byte, 32)
            })
            .collect()
    }

    /// The hash of `bytes` (each an `i32` below 256).
    fn hash_bytes(&mut self, algo: Algo, bytes: &[IntValue<'ctx>]) -> IntValue<'ctx> {
        if let Some((poly, xor)) = algo.crc() {
            return self.crc(algo, poly, xor, bytes);
        }
        match algo {
            Algo::Jhash => self.jhash(bytes),
            Algo::Identity => {
                // The low 32 bits: the last four bytes.
                let from = bytes.len().saturating_sub(4);
                self.word_be(&bytes[from..])
            }
            _ => {
                // xor16: the data's 16-bit words (the last one filled with a zero byte).
                let mut acc = self.bpf.c(32, 0);
                for pair in bytes.chunks(2) {
                    let w = self.word_be(pair);
                    let w = if pair.len() == 1 { self.shl(w, 8) } else { w };
                    acc = self.bpf.b.build_xor(acc, w, "x16").expect("xor");
                }
                acc
            }
        }
    }

    /// Bytes (at most four) as one big-endian word.
    fn word_be(&self, bytes: &[IntValue<'ctx>]) -> IntValue<'ctx> {
        let mut acc = self.bpf.c(32, 0);
        for b in bytes {
            acc = self.shl(acc, 8);
            acc = self.bpf.b.build_or(acc, *b, "be").expect("or");
        }
        acc
    }

    fn shl(&self, v: IntValue<'ctx>, n: u32) -> IntValue<'ctx> {
        self.bpf
            .b
            .build_left_shift(v, self.bpf.c(32, u128::from(n)), "shl")
            .expect("shl")
    }

    fn lshr(&self, v: IntValue<'ctx>, n: u32) -> IntValue<'ctx> {
        self.bpf
            .b
            .build_right_shift(v, self.bpf.c(32, u128::from(n)), false, "shr")
            .expect("shr")
    }

    fn crc(&mut self, algo: Algo, poly: u32, xor: u32, bytes: &[IntValue<'ctx>]) -> IntValue<'ctx> {
        let table = crc_table(poly);
        let symbol = format!("iov_{}_table", format!("{algo:?}").to_lowercase());
        let global = self.bpf.rodata_u32(&symbol, &table);
        let i32t = self.bpf.ctx.i32_type();
        let c = |v: u32| i32t.const_int(u64::from(v), false);
        let mut crc = c(xor);
        for byte in bytes {
            let b = &self.bpf.b;
            let x = b.build_xor(crc, *byte, "cx").expect("xor");
            let idx = b.build_and(x, c(0xff), "ci").expect("and");
            let entry = match idx.get_zero_extended_constant() {
                Some(k) => c(table[k as usize]),
                // `idx` is masked to 0..=255; the table has 256 entries.
                None => self.bpf.rodata_u32_at(global, idx),
            };
            let rest = self.lshr(crc, 8);
            crc = self.bpf.b.build_xor(entry, rest, "crc").expect("xor");
        }
        self.bpf.b.build_xor(crc, c(xor), "crcx").expect("xor")
    }

    fn rol(&self, v: IntValue<'ctx>, n: u32) -> IntValue<'ctx> {
        let hi = self.shl(v, n);
        let lo = self.lshr(v, 32 - n);
        self.bpf.b.build_or(hi, lo, "rol").expect("or")
    }

    /// The kernel's `jhash(bytes, len, 0)`.
    fn jhash(&self, bytes: &[IntValue<'ctx>]) -> IntValue<'ctx> {
        let b = &self.bpf.b;
        let add = |x: IntValue<'ctx>, y: IntValue<'ctx>| b.build_int_add(x, y, "j").expect("add");
        let sub = |x: IntValue<'ctx>, y: IntValue<'ctx>| b.build_int_sub(x, y, "j").expect("sub");
        let xor = |x: IntValue<'ctx>, y: IntValue<'ctx>| b.build_xor(x, y, "j").expect("xor");
        // Up to four bytes as a little-endian word.
        let word_le = |chunk: &[IntValue<'ctx>]| {
            let mut acc = self.bpf.c(32, 0);
            for (i, byte) in chunk.iter().enumerate() {
                let v = self.shl(*byte, 8 * i as u32);
                acc = b.build_or(acc, v, "le").expect("or");
            }
            acc
        };
        let init = 0xdead_beef_u32.wrapping_add(bytes.len() as u32);
        let (mut a, mut bb, mut c) = (
            self.bpf.c(32, u128::from(init)),
            self.bpf.c(32, u128::from(init)),
            self.bpf.c(32, u128::from(init)),
        );
        let mut rest = bytes;
        while rest.len() > 12 {
            a = add(a, word_le(&rest[0..4]));
            bb = add(bb, word_le(&rest[4..8]));
            c = add(c, word_le(&rest[8..12]));
            for (x, y, z, r) in [
                (0, 1, 2, 4),
                (1, 2, 0, 6),
                (2, 0, 1, 8),
                (0, 1, 2, 16),
                (1, 2, 0, 19),
                (2, 0, 1, 4),
            ] {
                // x -= z; x ^= rol(z, r); z += y   over (a, b, c) by position.
                let mut v = [a, bb, c];
                v[x] = sub(v[x], v[z]);
                v[x] = xor(v[x], self.rol(v[z], r));
                v[z] = add(v[z], v[y]);
                [a, bb, c] = v;
            }
            rest = &rest[12..];
        }
        if rest.is_empty() {
            return c;
        }
        let word = |i: usize| word_le(&rest[(4 * i).min(rest.len())..(4 * i + 4).min(rest.len())]);
        a = add(a, word(0));
        bb = add(bb, word(1));
        c = add(c, word(2));
        for (x, y, r) in [
            (2, 1, 14),
            (0, 2, 11),
            (1, 0, 25),
            (2, 1, 16),
            (0, 2, 4),
            (1, 0, 14),
            (2, 1, 24),
        ] {
            // x ^= y; x -= rol(y, r)
            let mut v = [a, bb, c];
            v[x] = xor(v[x], v[y]);
            v[x] = sub(v[x], self.rol(v[y], r));
            [a, bb, c] = v;
        }
        c
    }
}
