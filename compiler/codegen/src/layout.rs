//! Layouts: where every header field sits in the packet and every key field and action
//! parameter sits in a table's map key and value.
//!
//! Takes: the checked program's declarations and a control's tables.
//! Gives: bit offsets of header fields, the flattened header instances of the headers struct,
//! and each table's key/value layout, recorded in the manifest (pure: no LLVM).

use iov_sema::types::{StructId, Ty};
use iov_sema::Program;
use iov_syntax::ast::StructKind;

/// Bits a value of `ty` occupies in a register: bit strings and integers their width, bool 1,
/// errors and plain enums 32.
pub fn bits_of(p: &Program, ty: &Ty) -> u32 {
    match ty {
        Ty::Bit(w) | Ty::Int(w) => *w,
        Ty::Bool => 1,
        Ty::Enum(e) => match &p.enums[*e].underlying {
            Some(u) => bits_of(p, u),
            None => 32,
        },
        _ => 32,
    }
}

/// A header field: its bit offset from the start of the header and its width.
#[derive(Clone, Copy, Debug)]
pub struct FieldLayout {
    pub offset: u32,
    pub bits: u32,
}

/// Field layouts of header `id`, in order, and its size in bytes.
pub fn header_fields(p: &Program, id: StructId) -> (Vec<(String, FieldLayout)>, u32) {
    let mut offset = 0;
    let mut out = Vec::new();
    for f in &p.structs[id].fields {
        let bits = bits_of(p, &f.ty);
        out.push((f.name.clone(), FieldLayout { offset, bits }));
        offset += bits;
    }
    (out, offset.div_ceil(8))
}

/// A header or scalar reachable from the headers or metadata struct, by path (`eth`,
/// `ipv4`, `ingress_port`).
#[derive(Clone, Debug)]
pub enum Leaf {
    Header(StructId),
    Scalar(u32),
    /// A header stack: its element header and size.
    Stack(StructId, u32),
}

/// Flattens struct `id` into dotted paths below `prefix`.
pub fn flatten(p: &Program, id: StructId, prefix: &str, out: &mut Vec<(String, Leaf)>) {
    for f in &p.structs[id].fields {
        let path = format!("{prefix}.{}", f.name);
        match &f.ty {
            Ty::Struct(s) if p.structs[*s].kind == StructKind::Header => {
                out.push((path, Leaf::Header(*s)))
            }
            Ty::Struct(s) => flatten(p, *s, &path, out),
            Ty::Stack(h, n) => out.push((path, Leaf::Stack(*h, *n))),
            other => out.push((path, Leaf::Scalar(bits_of(p, other)))),
        }
    }
}

/// Bytes a control-plane value of `bits` bits takes (big-endian, right-aligned).
pub fn bytes_for(bits: u32) -> u32 {
    bits.div_ceil(8)
}
