//! The `digest<T>` extern: records to user space through a BPF ring buffer.
//!
//! Takes: a `digest<T>()` instance (`T` a header or a struct of bit strings and booleans) and
//! its `pack(data)` calls, `data` a `T` value (a header) or a list `{a, b}` of `T`'s fields.
//! Gives: a ring buffer map (`RING_BYTES`) and a per-CPU drop count (`NAME_drops`); `pack`
//! builds the record on the stack, `T`'s fields packed bit by bit big-endian as a header's are
//! (an invalid header's bytes are zeros), and hands it to `bpf_ringbuf_output`; a record the
//! ring has no room for is counted as dropped. The manifest's `digests` give the layout.

use super::Gen;
use crate::bpf::{helper, map_type};
use iov_manifest as manifest;
use iov_syntax::ast;

/// Each digest's ring buffer: 256 KiB, about 10,000 records of 24 bytes with their headers.
pub const RING_BYTES: u32 = 256 * 1024;
/// The largest record (it is built on the 512-byte BPF stack).
pub const MAX_RECORD: u32 = 128;

impl<'a, 'ctx> Gen<'a, 'ctx> {
    /// Creates the maps of a `digest<T>` instance and records its layout in the manifest.
    pub fn digest_instance(&mut self, inst: &ast::Instance, name: &str, full: String) {
        let t = match &inst.ty {
            ast::TypeRef::Named(_, args, _) => args.first(),
            _ => None,
        };
        let id = match t {
            Some(ast::TypeRef::Named(n, _, _)) => {
                self.p.structs.iter().position(|s| s.name == n.name)
            }
            _ => None,
        };
        let Some(id) = id else {
            self.unsupported(
                inst.ty.span(),
                "a digest of this type (a header or a struct of bit strings)",
            );
            return;
        };
        let mut fields = Vec::new();
        for f in &self.p.structs[id].fields {
            use iov_sema::types::Ty;
            match &f.ty {
                Ty::Bit(_) | Ty::Int(_) | Ty::Bool | Ty::Enum(_) => {
                    fields.push(manifest::DigestField {
                        name: f.name.clone(),
                        bits: crate::layout::bits_of(self.p, &f.ty),
                    })
                }
                _ => {
                    self.unsupported(
                        inst.ty.span(),
                        "a digest of a struct with a field that is not a bit string",
                    );
                    return;
                }
            }
        }
        let bits: u32 = fields.iter().map(|f| f.bits).sum();
        let bytes = bits.div_ceil(8);
        if bytes > MAX_RECORD || bytes == 0 {
            self.unsupported(
                inst.ty.span(),
                &format!("a digest record of {bytes} bytes (1 to {MAX_RECORD})"),
            );
            return;
        }
        let map = self.bpf.ring_buffer(name, RING_BYTES);
        let drops_name = format!("{name}_drops");
        let drops = self
            .bpf
            .map(&drops_name, map_type::PERCPU_ARRAY, 4, 8, 1, 0);
        self.maps.insert(name.to_string(), map);
        self.maps.insert(drops_name.clone(), drops);
        self.manifest.digests.push(manifest::Digest {
            name: full,
            map: name.to_string(),
            drops_map: drops_name,
            ring_bytes: RING_BYTES,
            bytes,
            fields,
        });
    }

    /// `d.pack(data)`.
    pub fn digest_pack(&mut self, obj: &ast::Expr, data: &ast::Expr) {
        let ast::ExprKind::Name(n) = &obj.kind else {
            self.unsupported(obj.span, "this digest");
            return;
        };
        let Some(d) = self
            .manifest
            .digests
            .iter()
            .find(|d| d.map == n.name)
            .cloned()
        else {
            return; // its instance was reported
        };
        let items = match &data.kind {
            ast::ExprKind::List(items) => items.clone(),
            _ => vec![data.clone()],
        };
        let Some(bytes) = self.list_bytes(&items) else {
            return;
        };
        let i8t = self.bpf.ctx.i8_type();
        let i64t = self.bpf.ctx.i64_type();
        let buf = self
            .entry_builder()
            .build_alloca(i8t.array_type(d.bytes), "record")
            .expect("alloca");
        for (i, b) in bytes.iter().take(d.bytes as usize).enumerate() {
            let at = self.bpf.byte_ptr(buf, i64t.const_int(i as u64, false));
            let byte = self.fit(*b, 8);
            self.bpf.b.build_store(at, byte).expect("store");
        }
        let ring = self.maps[&d.map];
        let drops = self.maps[&d.drops_map];
        let r = self
            .bpf
            .call_helper(
                helper::RINGBUF_OUTPUT,
                Some(i64t),
                &[
                    ring.as_pointer_value().into(),
                    buf.into(),
                    i64t.const_int(u64::from(d.bytes), false).into(),
                    i64t.const_zero().into(),
                ],
            )
            .expect("bpf_ringbuf_output returns a value");
        let failed = self
            .bpf
            .b
            .build_int_compare(inkwell::IntPredicate::NE, r, i64t.const_zero(), "lost")
            .expect("cmp");
        let count = self.block("digest_lost");
        let done = self.block("digest_done");
        self.bpf
            .b
            .build_conditional_branch(failed, count, done)
            .expect("br");
        self.bpf.b.position_at_end(count);
        let key = self.zero_key();
        let v = self.bpf.lookup(drops, key);
        let has = self.bpf.b.build_is_not_null(v, "has").expect("cmp");
        let add = self.block("digest_count");
        self.bpf
            .b
            .build_conditional_branch(has, add, done)
            .expect("br");
        self.bpf.b.position_at_end(add);
        self.bpf.add_u64(v, i64t.const_int(1, false));
        self.goto(done);
        self.bpf.b.position_at_end(done);
    }
}
