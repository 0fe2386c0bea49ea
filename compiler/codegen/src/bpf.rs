//! BPF plumbing behind one builder: the LLVM module for the `bpfel` target, debug info (which
//! LLVM turns into BTF and line info), libbpf-style BTF-defined maps, helper calls, context
//! reads, and writing the object.
//!
//! Takes: requests from the lowering passes ("a hash map named routes with 8-byte keys",
//! "call helper 1 with these arguments", "this instruction belongs to line 29").
//! Gives: LLVM values and, at the end, the ELF object (and IR or assembly on request).

use inkwell::attributes::{Attribute, AttributeLoc};
use inkwell::builder::Builder;
use inkwell::context::Context;
use inkwell::debug_info::{
    AsDIScope, DICompileUnit, DIFlags, DIFlagsConstants, DISubprogram, DIType, DWARFEmissionKind,
    DWARFSourceLanguage, DebugInfoBuilder,
};
use inkwell::module::{FlagBehavior, Linkage, Module};
use inkwell::targets::{
    CodeModel, FileType, InitializationConfig, RelocMode, Target, TargetMachine,
};
use inkwell::types::{BasicMetadataTypeEnum, IntType};
use inkwell::values::{
    BasicMetadataValueEnum, BasicValueEnum, FunctionValue, GlobalValue, IntValue, PointerValue,
};
use inkwell::{AddressSpace, OptimizationLevel};

/// Kernel map types used by iov.
pub mod map_type {
    pub const HASH: u32 = 1;
    pub const ARRAY: u32 = 2;
    pub const PROG_ARRAY: u32 = 3;
    pub const PERCPU_ARRAY: u32 = 6;
    pub const LRU_HASH: u32 = 9;
    pub const LPM_TRIE: u32 = 11;
    pub const DEVMAP_HASH: u32 = 25;
    pub const RINGBUF: u32 = 27;
}

/// `BPF_F_NO_PREALLOC`, required for LPM tries.
pub const F_NO_PREALLOC: u32 = 1;

/// Kernel helper ids.
pub mod helper {
    pub const MAP_LOOKUP_ELEM: u64 = 1;
    pub const MAP_UPDATE_ELEM: u64 = 2;
    pub const MAP_DELETE_ELEM: u64 = 3;
    pub const REDIRECT: u64 = 23;
    pub const CLONE_REDIRECT: u64 = 13;
    pub const REDIRECT_MAP: u64 = 51;
    pub const KTIME_GET_NS: u64 = 5;
    pub const GET_PRANDOM_U32: u64 = 7;
    pub const TAIL_CALL: u64 = 12;
    pub const LOOP: u64 = 181;
    pub const SPIN_LOCK: u64 = 93;
    pub const SPIN_UNLOCK: u64 = 94;
    pub const RINGBUF_OUTPUT: u64 = 130;
    pub const SKB_STORE_BYTES: u64 = 9;
    pub const SKB_CHANGE_HEAD: u64 = 43;
    pub const XDP_ADJUST_HEAD: u64 = 44;
    pub const SKB_ADJUST_ROOM: u64 = 50;
    pub const SKB_LOAD_BYTES: u64 = 26;
    pub const XDP_LOAD_BYTES: u64 = 189;
    pub const XDP_STORE_BYTES: u64 = 190;
}

mod maps;

/// Errors LLVM reports while generating code (its default handler would exit the process).
type LlvmErrors = std::cell::RefCell<Vec<String>>;

extern "C" fn collect_llvm_error(
    info: inkwell::llvm_sys::prelude::LLVMDiagnosticInfoRef,
    sink: *mut std::ffi::c_void,
) {
    use inkwell::llvm_sys::core::{
        LLVMDisposeMessage, LLVMGetDiagInfoDescription, LLVMGetDiagInfoSeverity,
    };
    use inkwell::llvm_sys::LLVMDiagnosticSeverity;
    // SAFETY: `sink` is the `LlvmErrors` box owned by the `Bpf` whose context calls us, and
    // LLVM passes a valid diagnostic for the duration of the call.
    unsafe {
        if LLVMGetDiagInfoSeverity(info) != LLVMDiagnosticSeverity::LLVMDSError {
            return;
        }
        let raw = LLVMGetDiagInfoDescription(info);
        let text = std::ffi::CStr::from_ptr(raw).to_string_lossy().into_owned();
        LLVMDisposeMessage(raw);
        (*(sink as *const LlvmErrors)).borrow_mut().push(text);
    }
}

pub struct Bpf<'ctx> {
    pub ctx: &'ctx Context,
    pub module: Module<'ctx>,
    pub b: Builder<'ctx>,
    pub di: DebugInfoBuilder<'ctx>,
    pub cu: DICompileUnit<'ctx>,
    pub subprogram: Option<DISubprogram<'ctx>>,
    /// Line starts of the root file, to turn byte offsets into lines and columns.
    line_starts: Vec<usize>,
    llvm_errors: Box<LlvmErrors>,
    /// The stack slot holding the packet's end for bounds checks. Every helper call
    /// renews it through [`Bpf::opaque_ptr`], so that checks after a call compare against a
    /// value LLVM cannot equate with the one before: LLVM may not reuse a check's result
    /// from before the call, which would reach the verifier as a spilled boolean it does not
    /// connect to the packet pointer. Checks between two calls still merge as usual.
    pub data_end_slot: std::cell::Cell<Option<PointerValue<'ctx>>>,
    /// The functions the program calls (`bpf_loop` callbacks), each with the construct that
    /// first calls it, for the stack budget (`frames.rs`).
    pub called: std::cell::RefCell<Vec<(String, iov_diagnostics::Span)>>,
}

impl<'ctx> Bpf<'ctx> {
    pub fn new(ctx: &'ctx Context, name: &str, file: &str, text: &str) -> Bpf<'ctx> {
        let module = ctx.create_module(name);
        module.set_triple(&TargetMachine::get_default_triple());
        module.set_triple(&inkwell::targets::TargetTriple::create("bpfel"));
        let debug_version = ctx.i32_type().const_int(3, false);
        module.add_basic_value_flag("Debug Info Version", FlagBehavior::Warning, debug_version);
        let dwarf_version = ctx.i32_type().const_int(5, false);
        module.add_basic_value_flag("Dwarf Version", FlagBehavior::Warning, dwarf_version);
        let path = std::path::Path::new(file);
        let file_name = path
            .file_name()
            .map_or(file.to_string(), |f| f.to_string_lossy().into_owned());
        let dir = path
            .parent()
            .map(|d| d.to_string_lossy().into_owned())
            .filter(|d| !d.is_empty())
            .unwrap_or_else(|| ".".into());
        let (di, cu) = module.create_debug_info_builder(
            true,
            DWARFSourceLanguage::C,
            &file_name,
            &dir,
            "iov",
            true,
            "",
            0,
            "",
            DWARFEmissionKind::Full,
            0,
            false,
            false,
            "",
            "",
        );
        let line_starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        let llvm_errors: Box<LlvmErrors> = Box::default();
        // SAFETY: the box outlives every use of the context by this `Bpf`; the handler only
        // reads it through the pointer while LLVM runs on this thread.
        unsafe {
            inkwell::llvm_sys::core::LLVMContextSetDiagnosticHandler(
                ctx.raw(),
                Some(collect_llvm_error),
                &*llvm_errors as *const LlvmErrors as *mut std::ffi::c_void,
            );
        }
        Bpf {
            ctx,
            module,
            b: ctx.create_builder(),
            di,
            cu,
            subprogram: None,
            line_starts,
            llvm_errors,
            data_end_slot: std::cell::Cell::new(None),
            called: std::cell::RefCell::default(),
        }
    }

    pub fn i(&self, bits: u32) -> IntType<'ctx> {
        self.ctx
            .custom_width_int_type(std::num::NonZeroU32::new(bits.max(1)).expect("non-zero"))
            .expect("widths are 1 to 128 bits")
    }

    pub fn ptr(&self) -> inkwell::types::PointerType<'ctx> {
        self.ctx.ptr_type(AddressSpace::default())
    }

    pub fn c(&self, bits: u32, v: u128) -> IntValue<'ctx> {
        let words = [v as u64, (v >> 64) as u64];
        self.i(bits)
            .const_int_arbitrary_precision(&words[..(bits as usize).div_ceil(64)])
    }

    fn line_col(&self, offset: usize) -> (u32, u32) {
        let line = match self.line_starts.binary_search(&offset) {
            Ok(l) => l,
            Err(l) => l.saturating_sub(1),
        };
        (
            line as u32 + 1,
            (offset - self.line_starts[line]) as u32 + 1,
        )
    }

    /// Attributes the instructions built from now on to the source at byte `offset`.
    pub fn at(&self, offset: u32) {
        let Some(sp) = self.subprogram else { return };
        let (line, col) = self.line_col(offset as usize);
        let loc =
            self.di
                .create_debug_location(self.ctx, line, col, sp.as_debug_info_scope(), None);
        self.b.set_current_debug_location(loc);
    }

    /// The program function `name(ctx)` in `section`, with a named `ctx` parameter in its
    /// debug info (libbpf drops BTF whose prototype has unnamed parameters).
    pub fn program(&mut self, name: &str, section: &str, line: u32) -> FunctionValue<'ctx> {
        let fn_ty = self
            .ctx
            .i32_type()
            .fn_type(&[BasicMetadataTypeEnum::from(self.ptr())], false);
        let f = self
            .module
            .add_function(name, fn_ty, Some(Linkage::External));
        let int = self.basic("int", 32, 5).as_type();
        let ptr_ty = self
            .di
            .create_pointer_type("", int, 64, 64, AddressSpace::default())
            .as_type();
        let sp = self.prototype(f, (name, section, line), int, &[("ctx", ptr_ty)], false);
        self.subprogram = Some(sp);
        f
    }

    /// A static subprogram `long name(u64 index, void *ctx)` in `.text`, the callback of a
    /// `bpf_loop` call, with named parameters in its debug info (BTF). The caller builds
    /// its body and restores [`Bpf::subprogram`] after.
    pub fn loop_callback(
        &self,
        name: &str,
        line: u32,
    ) -> (FunctionValue<'ctx>, DISubprogram<'ctx>) {
        let i64t = self.ctx.i64_type();
        let fn_ty = i64t.fn_type(&[i64t.into(), self.ptr().into()], false);
        let f = self
            .module
            .add_function(name, fn_ty, Some(Linkage::Internal));
        let noinline = self
            .ctx
            .create_enum_attribute(Attribute::get_named_enum_kind_id("noinline"), 0);
        f.add_attribute(AttributeLoc::Function, noinline);
        let long = self.basic("long", 64, 5).as_type();
        let u64t = self.basic("unsigned long", 64, 7).as_type();
        let char_ty = self.basic("char", 8, 6).as_type();
        let void_ptr = self
            .di
            .create_pointer_type("", char_ty, 64, 64, AddressSpace::default())
            .as_type();
        let params = [("index", u64t), ("ctx", void_ptr)];
        let sp = self.prototype(f, (name, ".text", line), long, &params, true);
        (f, sp)
    }

    /// What `program` and `loop_callback` share: `f` in its section, `nounwind` (no
    /// `.eh_frame`), and a debug-info subprogram whose parameters are named.
    fn prototype(
        &self,
        f: FunctionValue<'ctx>,
        (name, section, line): (&str, &str, u32),
        ret: DIType<'ctx>,
        params: &[(&str, DIType<'ctx>)],
        local: bool,
    ) -> DISubprogram<'ctx> {
        f.set_section(Some(section));
        let nounwind = self
            .ctx
            .create_enum_attribute(Attribute::get_named_enum_kind_id("nounwind"), 0);
        f.add_attribute(AttributeLoc::Function, nounwind);
        let file = self.cu.get_file();
        let types: Vec<DIType<'ctx>> = params.iter().map(|(_, t)| *t).collect();
        let sub_ty = self
            .di
            .create_subroutine_type(file, Some(ret), &types, DIFlags::ZERO);
        let sp = self.di.create_function(
            self.cu.as_debug_info_scope(),
            name,
            None,
            file,
            line,
            sub_ty,
            local,
            true,
            line,
            DIFlags::PROTOTYPED,
            true,
        );
        f.set_subprogram(sp);
        for (i, (n, ty)) in params.iter().enumerate() {
            self.di.create_parameter_variable(
                sp.as_debug_info_scope(),
                n,
                i as u32 + 1,
                file,
                line,
                *ty,
                true,
                DIFlags::ZERO,
            );
        }
        sp
    }

    /// A constant `u32` array in `.rodata` (or the existing one named `symbol`): loaders turn
    /// the section into a frozen one-element array map, and the program reads it directly.
    pub fn rodata_u32(&self, symbol: &str, words: &[u32]) -> GlobalValue<'ctx> {
        if let Some(g) = self.module.get_global(symbol) {
            return g;
        }
        let i32t = self.ctx.i32_type();
        let vals: Vec<IntValue<'ctx>> = words
            .iter()
            .map(|w| i32t.const_int(u64::from(*w), false))
            .collect();
        let arr = i32t.const_array(&vals);
        let g = self.module.add_global(arr.get_type(), None, symbol);
        g.set_initializer(&arr);
        g.set_constant(true);
        g.set_section(Some(".rodata"));
        g.set_linkage(Linkage::Internal);
        g.set_alignment(4);
        g
    }

    /// Reads entry `index` of a [`Bpf::rodata_u32`] table; the caller bounds `index` below
    /// the table's length.
    pub fn rodata_u32_at(&self, table: GlobalValue<'ctx>, index: IntValue<'ctx>) -> IntValue<'ctx> {
        let i64t = self.ctx.i64_type();
        let at = self.b.build_int_z_extend(index, i64t, "ti").expect("zext");
        // SAFETY: an in-bounds GEP only computes an address; the caller bounds `index`, and
        // the verifier checks the access against the map value's size.
        let p = unsafe {
            self.b.build_in_bounds_gep(
                table.get_value_type().into_array_type(),
                table.as_pointer_value(),
                &[i64t.const_zero(), at],
                "te",
            )
        }
        .expect("gep");
        self.b
            .build_load(self.ctx.i32_type(), p, "tv")
            .expect("load")
            .into_int_value()
    }

    /// A read-only byte section (the license, the manifest).
    pub fn section_bytes(&self, symbol: &str, section: &str, bytes: &[u8]) {
        let arr = self.ctx.const_string(bytes, false);
        let g = self.module.add_global(arr.get_type(), None, symbol);
        g.set_initializer(&arr);
        g.set_section(Some(section));
        g.set_linkage(Linkage::External);
        g.set_alignment(1);
    }

    /// Calls kernel helper `id`.
    pub fn call_helper(
        &self,
        id: u64,
        ret: Option<IntType<'ctx>>,
        args: &[BasicMetadataValueEnum<'ctx>],
    ) -> Option<IntValue<'ctx>> {
        let arg_tys: Vec<BasicMetadataTypeEnum> = args
            .iter()
            .map(|a| match a {
                BasicMetadataValueEnum::PointerValue(p) => p.get_type().into(),
                BasicMetadataValueEnum::IntValue(i) => i.get_type().into(),
                _ => self.ctx.i64_type().into(),
            })
            .collect();
        let fn_ty = match ret {
            Some(r) => r.fn_type(&arg_tys, false),
            None => self.ptr().fn_type(&arg_tys, false),
        };
        let callee = self
            .ctx
            .i64_type()
            .const_int(id, false)
            .const_to_pointer(self.ptr());
        let v = self
            .b
            .build_indirect_call(fn_ty, callee, args, "h")
            .expect("helper call");
        self.renew_data_end();
        v.try_as_basic_value().basic().and_then(|v| match v {
            BasicValueEnum::IntValue(i) => Some(i),
            _ => None,
        })
    }

    /// `bpf_map_lookup_elem(map, key)`: a pointer to the value, or null.
    pub fn lookup(&self, map: GlobalValue<'ctx>, key: PointerValue<'ctx>) -> PointerValue<'ctx> {
        let fn_ty = self
            .ptr()
            .fn_type(&[self.ptr().into(), self.ptr().into()], false);
        let callee = self
            .ctx
            .i64_type()
            .const_int(helper::MAP_LOOKUP_ELEM, false)
            .const_to_pointer(self.ptr());
        let v = self
            .b
            .build_indirect_call(
                fn_ty,
                callee,
                &[map.as_pointer_value().into(), key.into()],
                "v",
            )
            .expect("lookup call");
        self.renew_data_end();
        v.try_as_basic_value()
            .basic()
            .expect("a pointer")
            .into_pointer_value()
    }

    /// `offset & mask` for a 64-bit packet offset, as one instruction LLVM cannot see
    /// through, on the very register that is then added to the packet pointer. The verifier
    /// learns the bound from it; a bound LLVM proves from an earlier check may sit on a copy
    /// (narrowed, shifted) the verifier never links to this register, or be lost when the
    /// offset is read from a stack slot chosen at run time. Plain LLVM `and` would be
    /// folded away wherever LLVM proves it a no-op, which is exactly where it is needed.
    pub fn mask_offset(&self, offset: IntValue<'ctx>, mask: u64) -> IntValue<'ctx> {
        self.pure_asm(format!("$0 &= {mask}"), offset.into(), "bounded")
            .into_int_value()
    }

    /// `text` applied to `v` in its own register ("=r,0"), as an inline asm LLVM cannot see
    /// into but knows to be pure: it may merge, move or drop it like any arithmetic.
    fn pure_asm(&self, text: String, v: BasicValueEnum<'ctx>, name: &str) -> BasicValueEnum<'ctx> {
        use inkwell::types::BasicType;
        let t = v.get_type();
        let ty = t.fn_type(&[t.into()], false);
        let asm = self
            .ctx
            .create_inline_asm(ty, text, "=r,0".into(), false, false, None, false);
        let call = self
            .b
            .build_indirect_call(ty, asm, &[v.into()], name)
            .expect("asm call");
        for (name, value) in [("memory", 0), ("nounwind", 0), ("willreturn", 0)] {
            let kind = inkwell::attributes::Attribute::get_named_enum_kind_id(name);
            call.add_attribute(
                inkwell::attributes::AttributeLoc::Function,
                self.ctx.create_enum_attribute(kind, value),
            );
        }
        call.try_as_basic_value().basic().expect("a value")
    }

    /// The packet's end, as bounds checks compare against it (see [`Bpf::data_end_slot`]).
    pub fn data_end(&self) -> PointerValue<'ctx> {
        let slot = self
            .data_end_slot
            .get()
            .expect("the entry sets the slot first");
        self.b
            .build_load(self.ptr(), slot, "data_end")
            .expect("load")
            .into_pointer_value()
    }

    fn renew_data_end(&self) {
        if let Some(slot) = self.data_end_slot.get() {
            let fresh = self.opaque_ptr(self.data_end());
            self.b.build_store(slot, fresh).expect("store");
        }
    }

    /// `p`, through an empty volatile inline assembly: LLVM can neither see that the result
    /// equals `p` nor merge two of them, so a comparison on the result is computed right
    /// where it is used (libbpf's `barrier_var`). Packet bounds checks go through it: LLVM
    /// would otherwise compute one check once and branch again later on its saved result,
    /// a boolean the verifier does not connect to the packet pointer.
    pub fn opaque_ptr(&self, p: PointerValue<'ctx>) -> PointerValue<'ctx> {
        let ptr = p.get_type();
        let ty = ptr.fn_type(&[ptr.into()], false);
        let asm =
            self.ctx
                .create_inline_asm(ty, String::new(), "=r,0".into(), true, false, None, false);
        self.b
            .build_indirect_call(ty, asm, &[p.into()], "fresh")
            .expect("asm call")
            .try_as_basic_value()
            .basic()
            .expect("a value")
            .into_pointer_value()
    }

    /// The end of a packet range about to be compared with the packet's end, as a register
    /// of its own. The verifier marks the register a failed comparison used as lying beyond
    /// the packet, on that path, for every later access through it; LLVM would otherwise
    /// reuse it (one header's end is the next one's start) as the base of a read that a
    /// check it proved earlier guards, on a path the verifier walks although it cannot
    /// happen. A pure asm: LLVM still merges two checks of the same range.
    pub fn check_end(&self, p: PointerValue<'ctx>) -> PointerValue<'ctx> {
        self.pure_asm(String::new(), p.into(), "end")
            .into_pointer_value()
    }

    /// `v`, through an empty inline asm LLVM cannot see into: a combined value (an OR of
    /// differences) keeps its one comparison with zero. Without it, LLVM splits
    /// `(a ^ b) | (c ^ d) == 0` back into `a == b && c == d`; BPF has no set-on-condition,
    /// so each comparison becomes a branch that leaves 0 or 1 in a register, and the
    /// verifier walks every combination of them: 2^N paths for N words or fields.
    pub fn opaque_int(&self, v: IntValue<'ctx>) -> IntValue<'ctx> {
        let t = v.get_type();
        let ty = t.fn_type(&[t.into()], false);
        let asm =
            self.ctx
                .create_inline_asm(ty, String::new(), "=r,0".into(), true, false, None, false);
        self.b
            .build_indirect_call(ty, asm, &[v.into()], "opaque")
            .expect("asm call")
            .try_as_basic_value()
            .basic()
            .expect("a value")
            .into_int_value()
    }

    /// `v` with its bytes in the other order (`llvm.bswap`, BPF's `be16`/`be32`/`be64`).
    pub fn bswap(&self, v: IntValue<'ctx>) -> IntValue<'ctx> {
        let f = inkwell::intrinsics::Intrinsic::find("llvm.bswap")
            .and_then(|i| i.get_declaration(&self.module, &[v.get_type().into()]))
            .expect("LLVM has bswap");
        self.b
            .build_call(f, &[v.into()], "bswap")
            .expect("call")
            .try_as_basic_value()
            .basic()
            .expect("a value")
            .into_int_value()
    }

    /// `base + offset` bytes.
    pub fn byte_ptr(&self, base: PointerValue<'ctx>, offset: IntValue<'ctx>) -> PointerValue<'ctx> {
        // SAFETY: an i8 GEP only computes an address; every access through it is checked
        // (packet bounds, map value null checks) before it is made.
        unsafe { self.b.build_gep(self.ctx.i8_type(), base, &[offset], "at") }.expect("gep")
    }

    /// Reads the `u64` at `p`, a map value (the kernel aligns map values to 8 bytes; without
    /// saying so LLVM splits the access into byte-sized pieces).
    pub fn load_u64(&self, p: PointerValue<'ctx>) -> IntValue<'ctx> {
        let v = self
            .b
            .build_load(self.ctx.i64_type(), p, "u64")
            .expect("load");
        let v = v.into_int_value();
        if let Some(i) = v.as_instruction() {
            i.set_alignment(8).expect("a load takes an alignment");
        }
        v
    }

    /// Reads the `u32` at `p` (a stack slot or a map value).
    pub fn load_u32(&self, p: PointerValue<'ctx>) -> IntValue<'ctx> {
        self.b
            .build_load(self.ctx.i32_type(), p, "u32")
            .expect("load")
            .into_int_value()
    }

    /// `v == 0`.
    pub fn is_zero(&self, v: IntValue<'ctx>) -> IntValue<'ctx> {
        self.b
            .build_int_compare(
                inkwell::IntPredicate::EQ,
                v,
                v.get_type().const_zero(),
                "zero",
            )
            .expect("cmp")
    }

    /// `v != 0`.
    pub fn non_zero(&self, v: IntValue<'ctx>) -> IntValue<'ctx> {
        self.b
            .build_int_compare(
                inkwell::IntPredicate::NE,
                v,
                v.get_type().const_zero(),
                "set",
            )
            .expect("cmp")
    }

    /// `*p += x` for the `u64` at `p` in a map value, not atomically (per-CPU values).
    pub fn add_u64(&self, p: PointerValue<'ctx>, x: IntValue<'ctx>) {
        let sum = self
            .b
            .build_int_add(self.load_u64(p), x, "sum")
            .expect("add");
        let st = self.b.build_store(p, sum).expect("store");
        st.set_alignment(8).expect("a store takes an alignment");
    }

    /// Reads a 32-bit context field (the verifier rejects wider loads of `xdp_md`/`__sk_buff`).
    pub fn ctx_u32(&self, ctx: PointerValue<'ctx>, offset: u64) -> IntValue<'ctx> {
        let p = self.byte_ptr(ctx, self.ctx.i64_type().const_int(offset, false));
        self.b
            .build_load(self.ctx.i32_type(), p, "ctxv")
            .expect("load")
            .into_int_value()
    }

    /// How many LLVM instructions the module's functions hold.
    /// What LLVM reported while generating code, one message each.
    pub fn llvm_errors(&self) -> Vec<String> {
        self.llvm_errors.borrow().clone()
    }

    pub fn instruction_count(&self) -> usize {
        self.module
            .get_functions()
            .flat_map(|f| f.get_basic_blocks())
            .map(|b| b.get_instructions().count())
            .sum()
    }

    /// Finishes debug info, verifies the module and writes it out (the IR as text only when
    /// `want_ir`), adding how long each step took to `timings`.
    pub fn finish(
        &self,
        want_asm: bool,
        want_ir: bool,
        timings: &mut Vec<(&'static str, std::time::Duration)>,
    ) -> Result<(Vec<u8>, String, Option<String>), String> {
        let mut lap = std::time::Instant::now();
        let mut step = |name: &'static str, timings: &mut Vec<_>| {
            timings.push((name, lap.elapsed()));
            lap = std::time::Instant::now();
        };
        self.di.finalize();
        self.module
            .verify()
            .map_err(|e| format!("internal error: invalid LLVM module: {e}"))?;
        step("check the IR", timings);
        Target::initialize_bpf(&InitializationConfig::default());
        // inkwell does not initialise the BPF assembly parser, which the inline assembly of
        // `mask_offset` needs.
        // SAFETY: an idempotent registration call of LLVM's C API, with no arguments.
        unsafe { llvm_sys::target::LLVMInitializeBPFAsmParser() };
        let target = Target::from_name("bpfel").ok_or("LLVM was built without the BPF target")?;
        let machine = |cpu: &str| {
            target
                .create_target_machine(
                    &inkwell::targets::TargetTriple::create("bpfel"),
                    cpu,
                    "",
                    OptimizationLevel::Aggressive,
                    RelocMode::Default,
                    CodeModel::Default,
                )
                .ok_or("cannot create a BPF target machine")
        };
        let tm = machine("v3")?;
        self.module
            .run_passes(
                "default<O2>",
                &tm,
                inkwell::passes::PassBuilderOptions::create(),
            )
            .map_err(|e| format!("internal error: LLVM passes failed: {e}"))?;
        step("LLVM passes (O2)", timings);
        let ir = if want_ir {
            self.module.print_to_string().to_string()
        } else {
            String::new()
        };
        // A conditional jump reaches 32767 instructions at most; past that LLVM aborts the
        // process ("Branch target out of insn range") unless it may use BPF v4's long jump
        // (`gotol`, Linux 6.6 and later). Small programs keep v3, which every kernel loads.
        let tm = if self.instruction_count() > LONG_JUMPS_FROM {
            machine("v4")?
        } else {
            tm
        };
        let obj = tm
            .write_to_memory_buffer(&self.module, FileType::Object)
            .map_err(|e| format!("internal error: writing the object failed: {e}"))?;
        step("BPF code and object", timings);
        let errors = self.llvm_errors.borrow();
        if !errors.is_empty() {
            return Err(format!(
                "LLVM could not generate BPF code: {}",
                errors.join("; ")
            ));
        }
        let asm = if want_asm {
            let buf = tm
                .write_to_memory_buffer(&self.module, FileType::Assembly)
                .map_err(|e| format!("internal error: writing assembly failed: {e}"))?;
            Some(String::from_utf8_lossy(buf.as_slice()).into_owned())
        } else {
            None
        };
        Ok((obj.as_slice().to_vec(), ir, asm))
    }
}

/// Past this many LLVM instructions a program may hold jumps too long for BPF v3 (a BPF
/// instruction per LLVM instruction, or more, against a 16-bit jump offset), so it is
/// compiled for v4, whose long jumps need Linux 6.6 or later.
pub const LONG_JUMPS_FROM: usize = 8_000;

impl Drop for Bpf<'_> {
    fn drop(&mut self) {
        // SAFETY: removes the handler before its sink is freed.
        unsafe {
            inkwell::llvm_sys::core::LLVMContextSetDiagnosticHandler(
                self.ctx.raw(),
                None,
                std::ptr::null_mut(),
            );
        }
    }
}
