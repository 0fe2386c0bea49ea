//! Bit fields in network-order bytes: header fields in the packet or in scratch, key fields
//! of map keys built on the stack, parameters and slot fields read from map values.
//!
//! Takes: a base pointer, a bit offset and width, and where the base points (`Place`).
//! Gives: the field's value as an integer of its width (loads), or the bytes it covers
//! rewritten with the bits around them kept (stores).
//!
//! A field is read in as few accesses as the place allows: the bytes it covers are split
//! into pieces of 8, 4, 2 and 1 bytes, each loaded whole and byte-swapped (BPF's `be16`,
//! `be32`, `be64`), then shifted into place. The packet and map values take an access at
//! any alignment (the kernel checks alignment there only on hosts without efficient
//! unaligned access, where clang's C fails the same way); the stack does not (the verifier
//! refuses a stack access not aligned to its size), so a stack piece is also aligned. Each
//! access is given its natural alignment, or LLVM's BPF back end splits it into bytes.

use super::Gen;
use inkwell::values::{IntValue, PointerValue};

/// Where a base pointer points, which decides the accesses the kernel allows through it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Place {
    /// The packet or a map value: any alignment.
    Any,
    /// The stack, the base aligned to this many bytes: every access aligned to its size.
    Stack(u32),
}

/// The pieces `(byte offset, bytes)` covering bytes `first..=last`: 8, 4, 2 or 1 bytes
/// each, the largest that fits and that the place allows.
pub fn pieces(first: u32, last: u32, place: Place) -> Vec<(u32, u32)> {
    let mut out = Vec::new();
    let mut at = first;
    while at <= last {
        let left = last + 1 - at;
        let mut n = 8;
        while n > left
            || match place {
                Place::Any => false,
                Place::Stack(align) => n > align || !at.is_multiple_of(n),
            }
        {
            n /= 2;
        }
        out.push((at, n));
        at += n;
    }
    out
}

/// The bits of byte `i` that bits `offset..offset + bits` cover (bit 0 is a byte's MSB).
fn byte_mask(i: u32, offset: u32, bits: u32) -> u64 {
    (0..8u32)
        .filter(|p| (offset..offset + bits).contains(&(i * 8 + p)))
        .fold(0u64, |m, p| m | (0x80 >> p))
}

impl<'a, 'ctx> Gen<'a, 'ctx> {
    /// The `n` bytes at `at` bytes into `base` as the host reads them (not swapped).
    fn load_host(&self, base: PointerValue<'ctx>, at: u32, n: u32) -> IntValue<'ctx> {
        let p = self.bpf.byte_ptr(base, self.bpf.c(64, u128::from(at)));
        let v = self
            .bpf
            .b
            .build_load(self.bpf.i(n * 8), p, "piece")
            .expect("load")
            .into_int_value();
        if n > 1 {
            v.as_instruction()
                .expect("a load is an instruction")
                .set_alignment(n)
                .expect("a load takes an alignment");
        }
        v
    }

    /// The `n`-byte piece at `at` bytes into `base`, as an integer (network order).
    fn load_piece(&self, base: PointerValue<'ctx>, at: u32, n: u32) -> IntValue<'ctx> {
        let v = self.load_host(base, at, n);
        if n == 1 {
            v
        } else {
            self.bpf.bswap(v)
        }
    }

    /// Stores `v` (network order) as the `n`-byte piece at `at` bytes into `base`.
    fn store_piece(&self, base: PointerValue<'ctx>, at: u32, n: u32, v: IntValue<'ctx>) {
        let p = self.bpf.byte_ptr(base, self.bpf.c(64, u128::from(at)));
        let v = if n == 1 { v } else { self.bpf.bswap(v) };
        let st = self.bpf.b.build_store(p, v).expect("store");
        if n > 1 {
            st.set_alignment(n).expect("a store takes an alignment");
        }
    }

    /// The 16 bits at byte `at` of `base` in the host's byte order, not swapped: for the
    /// one's-complement sum (RFC 1071), which may be taken in either byte order and swapped
    /// once at the end.
    pub fn load_raw16(&self, base: PointerValue<'ctx>, at: u32) -> IntValue<'ctx> {
        self.load_host(base, at, 2)
    }

    /// Loads `bits` bits starting `offset` bits into `base`, most significant bit first.
    pub fn load_bits(
        &self,
        base: PointerValue<'ctx>,
        offset: u32,
        bits: u32,
        place: Place,
    ) -> IntValue<'ctx> {
        let first = offset / 8;
        let last = (offset + bits - 1) / 8;
        let span_bits = (last - first + 1) * 8;
        let wide = self.bpf.i(span_bits);
        let b = &self.bpf.b;
        let mut acc = wide.const_zero();
        for (at, n) in pieces(first, last, place) {
            let piece = self.load_piece(base, at, n);
            let piece = b
                .build_int_z_extend_or_bit_cast(piece, wide, "pz")
                .expect("zext");
            let shift = (last + 1 - (at + n)) * 8;
            let piece = if shift == 0 {
                piece
            } else {
                b.build_left_shift(piece, wide.const_int(u64::from(shift), false), "ps")
                    .expect("shl")
            };
            acc = b.build_or(acc, piece, "acc").expect("or");
        }
        let low = span_bits - (offset - first * 8) - bits;
        let acc = if low == 0 {
            acc
        } else {
            b.build_right_shift(acc, wide.const_int(u64::from(low), false), false, "al")
                .expect("shr")
        };
        self.fit(acc, bits)
    }

    /// Stores `bits` bits of `v` at `offset` bits into `base`, keeping the bits around them.
    pub fn store_bits(
        &self,
        base: PointerValue<'ctx>,
        offset: u32,
        bits: u32,
        v: IntValue<'ctx>,
        place: Place,
    ) {
        let first = offset / 8;
        let last = (offset + bits - 1) / 8;
        let span_bits = (last - first + 1) * 8;
        let low = span_bits - (offset - first * 8) - bits;
        let wide = self.bpf.i(span_bits);
        let b = &self.bpf.b;
        let v = self.fit(v, bits);
        let v = b
            .build_int_z_extend_or_bit_cast(v, wide, "vz")
            .expect("zext");
        let v = if low == 0 {
            v
        } else {
            b.build_left_shift(v, wide.const_int(u64::from(low), false), "vs")
                .expect("shl")
        };
        for (at, n) in pieces(first, last, place) {
            let ty = self.bpf.i(n * 8);
            let shift = (last + 1 - (at + n)) * 8;
            let part = if shift == 0 {
                v
            } else {
                b.build_right_shift(v, wide.const_int(u64::from(shift), false), false, "ps")
                    .expect("shr")
            };
            let part = self.fit(part, n * 8);
            // The bits of this piece the field covers, most significant byte first.
            let covered = (0..n).fold(0u64, |m, j| {
                m | byte_mask(at + j, offset, bits) << ((n - 1 - j) * 8)
            });
            let all = if n == 8 {
                u64::MAX
            } else {
                (1u64 << (n * 8)) - 1
            };
            let new = if covered == all {
                part
            } else {
                let old = self.load_piece(base, at, n);
                let keep = b
                    .build_and(old, ty.const_int(!covered & all, false), "keep")
                    .expect("and");
                let put = b
                    .build_and(part, ty.const_int(covered, false), "put")
                    .expect("and");
                b.build_or(keep, put, "np").expect("or")
            };
            self.store_piece(base, at, n, new);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pieces_are_as_large_as_the_place_allows() {
        assert_eq!(pieces(0, 0, Place::Any), [(0, 1)]);
        assert_eq!(pieces(3, 6, Place::Any), [(3, 4)]);
        assert_eq!(pieces(0, 5, Place::Any), [(0, 4), (4, 2)]);
        assert_eq!(pieces(0, 16, Place::Any), [(0, 8), (8, 8), (16, 1)]);
        assert_eq!(pieces(1, 7, Place::Any), [(1, 4), (5, 2), (7, 1)]);
        // On the stack a piece is aligned to its size and to the base.
        assert_eq!(pieces(1, 4, Place::Stack(8)), [(1, 1), (2, 2), (4, 1)]);
        assert_eq!(pieces(0, 7, Place::Stack(4)), [(0, 4), (4, 4)]);
        assert_eq!(pieces(4, 9, Place::Stack(8)), [(4, 4), (8, 2)]);
        assert_eq!(pieces(0, 15, Place::Stack(8)), [(0, 8), (8, 8)]);
    }

    #[test]
    fn a_byte_mask_is_the_field_bits_of_that_byte() {
        assert_eq!(byte_mask(0, 4, 12), 0x0f);
        assert_eq!(byte_mask(1, 4, 12), 0xff);
        assert_eq!(byte_mask(2, 4, 12), 0x00);
        assert_eq!(byte_mask(0, 0, 3), 0xe0);
    }
}
