//! BTF-defined maps: the `.maps` globals libbpf and aya read, with the debug info that
//! becomes their BTF (key and value layouts, the spin lock of a locked value).
//!
//! Takes: a map's name, kind, key and value sizes (or a locked value's size), entries.
//! Gives: the map's global, one per name (asked for twice, it is the same map).

use super::{map_type, Bpf};
use inkwell::debug_info::{AsDIScope, DIFlags, DIFlagsConstants, DIScope, DIType};
use inkwell::module::Linkage;
use inkwell::values::GlobalValue;
use inkwell::AddressSpace;

impl<'ctx> Bpf<'ctx> {
    pub(super) fn basic(
        &self,
        name: &str,
        bits: u64,
        encoding: u32,
    ) -> inkwell::debug_info::DIBasicType<'ctx> {
        self.di
            .create_basic_type(name, bits, encoding, DIFlags::ZERO)
            .expect("a basic debug type")
    }

    /// A member `name` at `offset` bits that points to `pointee`.
    fn ptr_member(
        &self,
        scope: DIScope<'ctx>,
        name: &str,
        pointee: DIType<'ctx>,
        offset: u64,
    ) -> DIType<'ctx> {
        let ptr = self
            .di
            .create_pointer_type("", pointee, 64, 64, AddressSpace::default());
        let file = self.cu.get_file();
        self.di
            .create_member_type(
                scope,
                name,
                file,
                0,
                64,
                64,
                offset,
                DIFlags::ZERO,
                ptr.as_type(),
            )
            .as_type()
    }

    /// An array of `n` elements of `elem` (`bits` wide each).
    fn array(&self, elem: DIType<'ctx>, bits: u64, n: u32) -> DIType<'ctx> {
        let size = bits * u64::from(n);
        self.di
            .create_array_type(elem, size, bits as u32, &dims(n))
            .as_type()
    }

    /// `int (*name)[n]`: how libbpf's `__uint(name, n)` encodes a number in a map definition.
    fn uint_member(&self, scope: DIScope<'ctx>, name: &str, n: u32, offset: u64) -> DIType<'ctx> {
        let int = self.basic("int", 32, 5).as_type();
        self.ptr_member(scope, name, self.array(int, 32, n), offset)
    }

    /// `T *name` where T is an array of `bytes` unsigned chars (a key or value layout).
    fn bytes_member(
        &self,
        scope: DIScope<'ctx>,
        name: &str,
        bytes: u32,
        offset: u64,
    ) -> DIType<'ctx> {
        let uchar = self.basic("unsigned char", 8, 8).as_type();
        self.ptr_member(scope, name, self.array(uchar, 8, bytes), offset)
    }

    /// `T *name` for a map key: the kernel wants an `unsigned int` for arrays and a struct
    /// `{ u32 prefixlen; u8 data[] }` for LPM tries; other maps take plain bytes.
    fn key_member(&self, scope: DIScope<'ctx>, kind: u32, bytes: u32, offset: u64) -> DIType<'ctx> {
        let file = self.cu.get_file();
        let pointee = match kind {
            map_type::ARRAY | map_type::PERCPU_ARRAY => self.basic("unsigned int", 32, 8).as_type(),
            map_type::LPM_TRIE => {
                let u32t = self.basic("unsigned int", 32, 8).as_type();
                let uchar = self.basic("unsigned char", 8, 8).as_type();
                let data_len = bytes - 4;
                let data = self.array(uchar, 8, data_len);
                let data_bits = 8 * u64::from(data_len);
                let member = |name: &str, bits: u64, align: u32, at: u64, ty: DIType<'ctx>| {
                    self.di
                        .create_member_type(
                            scope,
                            name,
                            file,
                            0,
                            bits,
                            align,
                            at,
                            DIFlags::ZERO,
                            ty,
                        )
                        .as_type()
                };
                let fields = [
                    member("prefixlen", 32, 32, 0, u32t),
                    member("data", data_bits, 8, 32, data),
                ];
                let size = 8 * u64::from(bytes);
                self.di
                    .create_struct_type(
                        scope,
                        "",
                        file,
                        0,
                        size,
                        32,
                        DIFlags::ZERO,
                        None,
                        &fields,
                        0,
                        None,
                        "",
                    )
                    .as_type()
            }
            _ => return self.bytes_member(scope, "key", bytes, offset),
        };
        self.ptr_member(scope, "key", pointee, offset)
    }

    /// A BTF-defined map in section `.maps`, as libbpf and aya read them.
    pub fn map(
        &self,
        name: &str,
        kind: u32,
        key: u32,
        value: u32,
        max_entries: u32,
        flags: u32,
    ) -> GlobalValue<'ctx> {
        let scope = self.cu.as_debug_info_scope();
        let mut members = vec![
            self.uint_member(scope, "type", kind, 0),
            self.uint_member(scope, "max_entries", max_entries, 64),
            self.key_member(scope, kind, key, 128),
            self.bytes_member(scope, "value", value, 192),
        ];
        if flags != 0 {
            members.push(self.uint_member(scope, "map_flags", flags, 256));
        }
        self.map_global(name, scope, &members)
    }

    /// A ring buffer of `bytes` bytes (a power of two, a multiple of the page size).
    pub fn ring_buffer(&self, name: &str, bytes: u32) -> GlobalValue<'ctx> {
        let scope = self.cu.as_debug_info_scope();
        let members = [
            self.uint_member(scope, "type", map_type::RINGBUF, 0),
            self.uint_member(scope, "max_entries", bytes, 64),
        ];
        self.map_global(name, scope, &members)
    }

    /// An array map of `max_entries` values of `value` bytes that start with a
    /// `struct bpf_spin_lock` (its BTF says so, which the kernel needs to allow the lock).
    pub fn locked_array(&self, name: &str, value: u32, max_entries: u32) -> GlobalValue<'ctx> {
        let scope = self.cu.as_debug_info_scope();
        let file = self.cu.get_file();
        let u32t = self.basic("unsigned int", 32, 8).as_type();
        let member = |name: &str, bits: u64, at: u64, ty: DIType<'ctx>| {
            self.di
                .create_member_type(scope, name, file, 0, bits, 32, at, DIFlags::ZERO, ty)
                .as_type()
        };
        let lock = self.di.create_struct_type(
            scope,
            "bpf_spin_lock",
            file,
            0,
            32,
            32,
            DIFlags::ZERO,
            None,
            &[member("val", 32, 0, u32t)],
            0,
            None,
            "bpf_spin_lock",
        );
        let uchar = self.basic("unsigned char", 8, 8).as_type();
        let rest = u64::from(value - 4) * 8;
        let cell = self.di.create_struct_type(
            scope,
            &format!("{name}_cell"),
            file,
            0,
            u64::from(value) * 8,
            64,
            DIFlags::ZERO,
            None,
            &[
                member("lock", 32, 0, lock.as_type()),
                member("state", rest, 32, self.array(uchar, 8, value - 4)),
            ],
            0,
            None,
            "",
        );
        let members = [
            self.uint_member(scope, "type", map_type::ARRAY, 0),
            self.uint_member(scope, "max_entries", max_entries, 64),
            self.key_member(scope, map_type::ARRAY, 4, 128),
            self.ptr_member(scope, "value", cell.as_type(), 192),
        ];
        self.map_global(name, scope, &members)
    }

    /// The `.maps` global of a map whose BTF struct has `members` (each a 64-bit slot); the
    /// one already declared under `name` if there is one (a map asked for twice is one map).
    fn map_global(
        &self,
        name: &str,
        scope: DIScope<'ctx>,
        members: &[DIType<'ctx>],
    ) -> GlobalValue<'ctx> {
        if let Some(g) = self.module.get_global(name) {
            return g;
        }
        let n = members.len() as u32;
        let st = self.di.create_struct_type(
            scope,
            "",
            self.cu.get_file(),
            0,
            64 * u64::from(n),
            64,
            DIFlags::ZERO,
            None,
            members,
            0,
            None,
            "",
        );
        let ptr_ty = self.ptr();
        let llvm_ty = self
            .ctx
            .struct_type(&vec![ptr_ty.into(); n as usize], false);
        let g = self.module.add_global(llvm_ty, None, name);
        g.set_initializer(&llvm_ty.const_zero());
        g.set_section(Some(".maps"));
        g.set_linkage(Linkage::External);
        g.set_alignment(8);
        let gve = self.di.create_global_variable_expression(
            scope,
            name,
            name,
            self.cu.get_file(),
            0,
            st.as_type(),
            false,
            None,
            None,
            64,
        );
        g.set_metadata(gve.as_metadata_value(self.ctx), self.ctx.get_kind_id("dbg"));
        g
    }

    /// A BTF-defined program array of `n` slots. Its key and value are given as sizes, not
    /// types: the kernel refuses BTF types on program arrays, and aya (unlike libbpf) does
    /// not retry without them.
    pub fn prog_array(&self, name: &str, n: u32) -> GlobalValue<'ctx> {
        self.sized_map(name, map_type::PROG_ARRAY, 4, 4, n)
    }

    /// A BTF-defined map whose key and value are given as sizes, not types, for the kinds
    /// whose values the kernel interprets (program arrays, device maps) and so refuses BTF
    /// types for.
    pub fn sized_map(
        &self,
        name: &str,
        kind: u32,
        key: u32,
        value: u32,
        n: u32,
    ) -> GlobalValue<'ctx> {
        let scope = self.cu.as_debug_info_scope();
        let members = [
            self.uint_member(scope, "type", kind, 0),
            self.uint_member(scope, "max_entries", n, 64),
            self.uint_member(scope, "key_size", key, 128),
            self.uint_member(scope, "value_size", value, 192),
        ];
        self.map_global(name, scope, &members)
    }
}

/// The one dimension of a C array of `n` elements, as debug info wants it.
#[allow(clippy::single_range_in_vec_init)]
fn dims(n: u32) -> [std::ops::Range<i64>; 1] {
    [0..i64::from(n)]
}
