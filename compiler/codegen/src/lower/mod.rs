//! Lowering: the checked program becomes one BPF function, `iov_main(ctx)`.
//!
//! Takes: the checked `Program` with its entry (parser, control, deparser) and the builder.
//! Gives: the function's IR and the manifest's tables, counters and registers.
//!
//! Where things live: headers stay in the packet. `extract` checks the bounds and keeps the
//! header's offset on the stack, so even large header sets use a few bytes of the 512-byte
//! stack; field reads and writes re-check the bounds and go straight to packet memory (in
//! network order), so `emit` copies nothing while the headers stay in place (`deparser`
//! holds the headers the program makes valid, and moves headers). Metadata, locals and action
//! parameters are stack slots. The per-packet decision is a stack slot turned into the hook's
//! return code at the end.
//!
//! The lowering is split by construct: `parser`, `control` (statements), `expr`, `table`,
//! `externs`, `headers` (header access and its bounds checks), `deparser` (headers added and
//! removed), and `chain` (the packet count and the hand-over to a chain's next stage).

mod bits;
mod budget;
mod chain;
mod control;
mod deparser;
mod digest;
mod expr;
mod externs;
mod hash;
mod headers;
mod meter;
mod parser;
mod rebuild;
mod replicate;
mod stack;
mod structs;
mod table;
mod table_lookup;
mod table_write;
mod tuple_loop;

use crate::bpf::Bpf;
use crate::layout::{self, Leaf};
use inkwell::basic_block::BasicBlock;
use inkwell::values::{FunctionValue, GlobalValue, IntValue, PointerValue};
use iov_diagnostics::{Code, Diagnostic, Span};
use iov_manifest::{self as manifest, Hook};
use iov_sema::types::{StructId, Ty};
use iov_sema::Program;
use iov_syntax::ast::{self, Item};
use std::collections::HashMap;

/// A header instance: the stack slot holding its offset in the packet ([`NOT_VALID`] while
/// it is not valid), its type and its size in bytes.
#[derive(Clone, Copy)]
pub struct HeaderVar<'ctx> {
    pub slot: PointerValue<'ctx>,
    pub id: StructId,
    pub size: u32,
    /// A header stack's element: its slot holds 32 bits (so a 64-element stack fits the
    /// 512-byte stack) and may be chosen at run time (`.next`, `.last`). The offset read
    /// from it carries no bound the verifier knows (it keeps none for a narrow spill, nor for
    /// a slot chosen at run time), so it is masked at every use.
    pub narrow: bool,
    /// Where in the scratch buffer a header the program may set valid is held (see
    /// `deparser`); `None` for a header that stays in the packet.
    pub scratch: Option<u32>,
    /// The same for a stack element chosen at run time (`.next`, `.last`): the region's
    /// offset in the scratch buffer, computed from the index and bounded by a mask.
    pub scratch_at: Option<IntValue<'ctx>>,
    /// A header of a local struct variable: never in the packet, never emitted unless named,
    /// and its validity is no change to the packet's.
    pub local: bool,
}

/// The offset of a header that is not valid: beyond the end of any packet a hook sees in
/// practice (XDP frames are at most a page; a TC program sees the linear part of the skb),
/// yet low enough that the verifier, whose packet offsets stop at 0xffff, can still follow a
/// bounds check on it (headers are at most 255 bytes). Validity and the bounds check the
/// verifier needs are then one test: the check fails for a header that is not valid.
/// Headers must end within the first 0x7f00 (32,512) bytes of a packet, so that every
/// offset, valid or not, survives [`OFFSET_MASK`] unchanged.
pub const NOT_VALID: u64 = 0x7f00;

/// Every packet offset goes through `offset & OFFSET_MASK` (see [`crate::bpf::Bpf::mask_offset`])
/// right before it is added to the packet pointer: a no-op on every offset the program
/// holds, and a bound (at most 0x7fff, plus a header's 255 bytes: under the verifier's
/// 0xffff) that the verifier sees on the very register it checks.
pub const OFFSET_MASK: u64 = 0x7fff;

/// A header stack: its elements, the index of the next one to extract, and a header that is
/// never valid (what `.last` of an empty stack reads).
#[derive(Clone)]
pub struct StackVar<'ctx> {
    pub elems: Vec<HeaderVar<'ctx>>,
    pub next: PointerValue<'ctx>,
    pub none: HeaderVar<'ctx>,
    /// When the program changes the stack's validity (`setValid` on an element, element
    /// assignment, `push_front`/`pop_front`): every element is held in scratch, element `i`
    /// at `base + i * stride`, and a run-time index is masked with `mask` first.
    pub scratch: Option<StackScratch>,
}

/// Where a stack's elements live in the scratch buffer (see [`StackVar::scratch`]).
#[derive(Clone, Copy)]
pub struct StackScratch {
    pub base: u32,
    pub stride: u32,
    pub mask: u32,
}

/// A scalar on the stack.
#[derive(Clone, Copy)]
pub struct Scalar<'ctx> {
    pub slot: PointerValue<'ctx>,
    pub bits: u32,
}

/// Forwarding decisions, as stored in the decision slot (manifest::verdict values).
pub mod decision {
    pub const NONE: u64 = 0;
    pub use iov_manifest::verdict::{CLASS, DROP, FLOOD, MULTICAST, PASS, REDIRECT, REFLECT};
}

pub struct Gen<'a, 'ctx> {
    pub bpf: Bpf<'ctx>,
    pub p: &'a Program,
    pub func: FunctionValue<'ctx>,
    pub hook: Hook,
    pub ctx_ptr: PointerValue<'ctx>,
    pub data: PointerValue<'ctx>,
    /// Packet length in bytes (i32).
    pub pkt_len: IntValue<'ctx>,
    pub headers: HashMap<String, HeaderVar<'ctx>>,
    /// Header stacks by path (their elements are in `headers` as `path[i]`).
    pub stacks: HashMap<String, StackVar<'ctx>>,
    /// Scalars by path, innermost scope last.
    pub scopes: Vec<HashMap<String, Scalar<'ctx>>>,
    /// Block parameter names and the storage root they stand for (`hdr` -> `H`).
    pub aliases: HashMap<String, String>,
    pub parser_error: PointerValue<'ctx>,
    pub decision: PointerValue<'ctx>,
    pub port: PointerValue<'ctx>,
    /// The port `clone(port)` asked for (0: none), made at the first call.
    pub clone_port: Option<PointerValue<'ctx>>,
    /// The interface the packet came in on (the context's ingress ifindex).
    pub ingress_ifindex: IntValue<'ctx>,
    pub cursor: PointerValue<'ctx>,
    /// Maps of extern instances and tables, by `Control.name`.
    pub maps: HashMap<String, GlobalValue<'ctx>>,
    pub control: String,
    pub tables: HashMap<String, table::TableGen<'ctx>>,
    /// The keys every lookup of a constant 0 and every indexed lookup share (see
    /// [`Gen::zero_key`], [`Gen::index_key`]).
    pub zero_key: std::cell::Cell<Option<PointerValue<'ctx>>>,
    pub index_key: std::cell::Cell<Option<PointerValue<'ctx>>>,
    /// Key buffers of exact and lpm lookups, one per key shape (`table_lookup.rs`).
    pub key_buffers: HashMap<String, PointerValue<'ctx>>,
    /// The probe every search by masks shares, made at the first (`tuple_loop.rs`).
    pub search_probe: Option<PointerValue<'ctx>>,
    /// Where `exit` goes, and where `return` goes (the action's end inside an action).
    pub exit_bb: Option<BasicBlock<'ctx>>,
    pub return_bb: Option<BasicBlock<'ctx>>,
    pub manifest: manifest::Manifest,
    pub diags: Vec<Diagnostic>,
    /// Constants by the span of their declaration.
    pub consts: HashMap<Span, usize>,
    /// The control's actions by name (for direct calls and table dispatch).
    pub actions: HashMap<String, ast::ActionDecl>,
    /// See `Options::omit_bounds_checks`.
    pub omit_bounds_checks: bool,
    /// Entries of the scanned tables so far (see `table::MAX_SCANNED`).
    pub scanned: u32,
    /// The verifier steps the scans so far cost (see `table::scan_steps`).
    pub scan_steps: u64,
    /// The `direct_meter` instances of the control, by name: what each counts. Their maps
    /// are made with the table that names them (`meters = m`), sized by it.
    pub direct_meters: HashMap<String, manifest::MeterKind>,
    /// Whether the parser's cursor may have moved by an amount known only at run time
    /// (`advance(n)` earlier on some path to here): offsets from it go through
    /// [`OFFSET_MASK`] before they reach the packet pointer, since the verifier may otherwise
    /// lose the bound LLVM proved (see [`crate::bpf::Bpf::mask_offset`]).
    /// The parser's reject block while a parser is lowered (`lookahead` past the end).
    pub parser_reject: Option<BasicBlock<'ctx>>,
    pub dynamic_cursor: bool,
    /// Slots of the headers extracted at such a cursor: their offsets are masked wherever
    /// they are used. Header stack elements are masked in every program (see
    /// [`HeaderVar::narrow`]).
    pub dynamic_slots: std::collections::HashSet<PointerValue<'ctx>>,
    /// The table whose lookup the code being lowered follows (its actions run there).
    pub applying: Option<Applying<'ctx>>,
    /// The scratch buffer, where the program has one (see `deparser`).
    pub scratch: Option<deparser::Scratch<'ctx>>,
    /// The deparser's state.
    pub deparse: deparser::Deparse<'ctx>,
    /// Scratch regions of the headers inside local struct variables, by the declaration's
    /// span and the header's path below the variable (see `structs`).
    pub local_headers: HashMap<(iov_diagnostics::Span, String), u32>,
}

/// A table being applied: its name and the key it was looked up with (none for scanned
/// tables, which the data plane does not write).
#[derive(Clone)]
pub struct Applying<'ctx> {
    pub table: String,
    pub key: Option<PointerValue<'ctx>>,
    /// The value the actions run with (the entry hit, or the default slot), once known.
    pub value: Option<PointerValue<'ctx>>,
}

/// Offsets of fields in the hook's context struct.
struct CtxLayout {
    data: u64,
    data_end: u64,
    ingress_ifindex: u64,
}

fn ctx_layout(hook: Hook) -> CtxLayout {
    match hook {
        // struct xdp_md { data, data_end, data_meta, ingress_ifindex, rx_queue_index, egress_ifindex }
        Hook::Xdp => CtxLayout {
            data: 0,
            data_end: 4,
            ingress_ifindex: 12,
        },
        // struct __sk_buff: ingress_ifindex at 36, data at 76, data_end at 80
        Hook::TcIngress | Hook::TcEgress => CtxLayout {
            data: 76,
            data_end: 80,
            ingress_ifindex: 36,
        },
    }
}

impl<'a, 'ctx> Gen<'a, 'ctx> {
    pub fn unsupported(&mut self, span: Span, what: &str) {
        let d = Diagnostic::new(Code::E0700, format!("{what} is not supported by code generation yet"), span)
            .label("cannot be compiled yet")
            .note("`iov check` accepts it; the BPF back end does not lower it yet (see docs/language.md, \"What compiles today\")");
        if !self.diags.iter().any(|x| x.primary.span == span) {
            self.diags.push(d);
        }
    }

    pub fn ty(&self, e: &ast::Expr) -> Ty {
        self.p
            .expr_types
            .get(&e.span)
            .cloned()
            .unwrap_or(Ty::Unknown)
    }

    pub fn block(&self, name: &str) -> BasicBlock<'ctx> {
        self.bpf.ctx.append_basic_block(self.func, name)
    }

    /// Branches to `to` unless the current block already ends.
    pub fn goto(&self, to: BasicBlock<'ctx>) {
        let here = self.bpf.b.get_insert_block().expect("positioned");
        if here.get_terminator().is_none() {
            self.bpf.b.build_unconditional_branch(to).expect("br");
        }
    }

    /// A builder at the top of the entry block, where stack slots belong (BPF frames are
    /// static, and LLVM promotes entry-block slots to registers).
    pub(super) fn entry_builder(&self) -> inkwell::builder::Builder<'ctx> {
        let entry = self.func.get_first_basic_block().expect("entry");
        let tmp = self.bpf.ctx.create_builder();
        match entry.get_first_instruction() {
            Some(i) => tmp.position_before(&i),
            None => tmp.position_at_end(entry),
        }
        tmp
    }

    /// A `u32` map key's slot: an 8-byte stack word of its own, the key in its low half.
    /// A key sharing a word with a 32-bit spill turns the word into unknown bytes for the
    /// verifier when it is written, and the spilled value (a header's validity, seen) is lost.
    /// A `u32` map key that is always 0 (a one-slot map's key), one for the whole program:
    /// a slot of its own for every lookup would take 8 bytes of stack each, and 32 tables
    /// in a row ran out of the kernel's 512 (E0702).
    pub fn zero_key(&self) -> PointerValue<'ctx> {
        self.shared_key32(&self.zero_key, "zero_key")
    }

    /// A `u32` map key written right before each lookup (a counter's or register's index),
    /// one for the whole program, as [`Gen::zero_key`].
    pub fn index_key(&self) -> PointerValue<'ctx> {
        self.shared_key32(&self.index_key, "index_key")
    }

    fn shared_key32(
        &self,
        slot: &std::cell::Cell<Option<PointerValue<'ctx>>>,
        name: &str,
    ) -> PointerValue<'ctx> {
        let p = slot.get().unwrap_or_else(|| self.alloca_key32(name));
        slot.set(Some(p));
        p
    }

    /// The end of a bounded search (a scan, the search by masks): `counter`, which held
    /// where it stopped or how often it tried, is forgotten, so the verifier treats every
    /// exit alike instead of checking the rest of the program once per value; then the
    /// pointer the search left in `result`.
    pub fn search_result(
        &self,
        counter: PointerValue<'ctx>,
        result: PointerValue<'ctx>,
    ) -> PointerValue<'ctx> {
        let b = &self.bpf.b;
        b.build_store(counter, self.bpf.ctx.i32_type().const_zero())
            .expect("store");
        b.build_load(self.bpf.ptr(), result, "found")
            .expect("load")
            .into_pointer_value()
    }

    pub fn alloca_key32(&self, name: &str) -> PointerValue<'ctx> {
        let tmp = self.entry_builder();
        let i64t = self.bpf.ctx.i64_type();
        let slot = tmp.build_alloca(i64t, name).expect("alloca");
        slot.as_instruction()
            .expect("an alloca is an instruction")
            .set_alignment(8)
            .expect("8 is a valid alignment");
        tmp.build_store(slot, i64t.const_zero()).expect("init");
        slot
    }

    pub fn alloca(&self, bits: u32, name: &str) -> PointerValue<'ctx> {
        let tmp = self.entry_builder();
        let slot = tmp.build_alloca(self.bpf.i(bits), name).expect("alloca");
        tmp.build_store(slot, self.bpf.i(bits).const_zero())
            .expect("init");
        slot
    }

    /// A pointer slot on the stack (in the entry block), holding null.
    pub fn alloca_ptr(&self, name: &str) -> PointerValue<'ctx> {
        let tmp = self.entry_builder();
        let slot = tmp.build_alloca(self.bpf.ptr(), name).expect("alloca");
        tmp.build_store(slot, self.bpf.ptr().const_null())
            .expect("init");
        slot
    }

    /// A zeroed byte buffer on the stack (in the entry block, as BPF needs static frames).
    pub fn alloca_bytes(&self, n: u32, name: &str) -> PointerValue<'ctx> {
        let tmp = self.entry_builder();
        // Whole 8-byte words, so no spill shares a word with a key (see `alloca_key32`).
        let ty = self.bpf.ctx.i8_type().array_type(n.next_multiple_of(8));
        let slot = tmp.build_alloca(ty, name).expect("alloca");
        // Byte buffers hold map keys whose first word (an lpm prefix length, an array
        // slot's priority) is stored as a u32 and whose fields LLVM may store in wider
        // pieces: the verifier refuses a stack access not aligned to its size, so the
        // buffer starts on an 8-byte boundary whatever its length.
        slot.as_instruction()
            .expect("an alloca is an instruction")
            .set_alignment(8)
            .expect("8 is a valid alignment");
        tmp.build_store(slot, ty.const_zero()).expect("init");
        slot
    }

    pub fn set(&self, slot: PointerValue<'ctx>, bits: u32, v: u128) {
        self.bpf
            .b
            .build_store(slot, self.bpf.c(bits, v))
            .expect("store");
    }

    pub fn lookup_scalar(&self, path: &str) -> Option<Scalar<'ctx>> {
        self.scopes.iter().rev().find_map(|s| s.get(path).copied())
    }

    /// The storage path of an expression naming a variable, header or field.
    pub fn path_of(&self, e: &ast::Expr) -> Option<String> {
        match &e.kind {
            ast::ExprKind::Name(id) => Some(
                self.aliases
                    .get(&id.name)
                    .cloned()
                    .unwrap_or_else(|| id.name.clone()),
            ),
            ast::ExprKind::Member(b, f) => Some(format!("{}.{}", self.path_of(b)?, f.name)),
            ast::ExprKind::Index(b, i) => {
                let index = match self.p.const_values.get(&i.span) {
                    Some(iov_sema::Value::Int(v)) => *v,
                    _ => match &i.kind {
                        ast::ExprKind::Int(l) => l.value,
                        _ => return None,
                    },
                };
                Some(format!("{}[{index}]", self.path_of(b)?))
            }
            _ => None,
        }
    }
}

/// Lowers the program's entry. Diagnostics are E0700 for constructs not lowered yet.
pub fn lower<'a, 'ctx>(
    mut bpf: Bpf<'ctx>,
    p: &'a Program,
    name: &str,
    opts: &crate::Options,
) -> Result<(Bpf<'ctx>, manifest::Manifest), Vec<Diagnostic>> {
    let entry = p.entry.clone().ok_or_else(Vec::new)?;
    let hook = opts.hook.unwrap_or(match entry.hook.as_str() {
        "xdp" => Hook::Xdp,
        "tc_ingress" => Hook::TcIngress,
        _ => Hook::TcEgress,
    });
    let section = if hook == Hook::Xdp {
        "xdp"
    } else {
        "classifier"
    };
    let item = |r: iov_sema::ItemRef| &p.modules[r.module].ast.items[r.item];
    let (Item::Parser(parser), Item::Control(control)) = (item(entry.parser), item(entry.control))
    else {
        return Err(Vec::new());
    };
    let deparser = match entry.deparser.map(item) {
        Some(Item::Control(d)) => Some(d),
        Some(_) => return Err(Vec::new()),
        None => None,
    };
    // The function's debug info starts at the top of the file; statements carry their lines.
    let line = 1;
    let func = bpf.program("iov_main", section, line);
    let entry_bb = bpf.ctx.append_basic_block(func, "entry");
    bpf.b.position_at_end(entry_bb);
    bpf.at(entry.span.start);
    let ctx_ptr = func.get_nth_param(0).expect("ctx").into_pointer_value();
    // Allocas stay in the entry block (elsewhere LLVM takes them for dynamic allocations).
    let end_slot = bpf
        .b
        .build_alloca(bpf.ptr(), "data_end_slot")
        .expect("alloca");
    let stage = opts.chain_stage.then(|| chain::enter(&bpf, func));
    let lay = ctx_layout(hook);
    let to_ptr = |bpf: &Bpf<'ctx>, v: IntValue<'ctx>| {
        let wide = bpf
            .b
            .build_int_z_extend(v, bpf.ctx.i64_type(), "w")
            .expect("zext");
        bpf.b
            .build_int_to_ptr(wide, bpf.ptr(), "p")
            .expect("inttoptr")
    };
    let data_raw = bpf.ctx_u32(ctx_ptr, lay.data);
    let end_raw = bpf.ctx_u32(ctx_ptr, lay.data_end);
    let ifindex = bpf.ctx_u32(ctx_ptr, lay.ingress_ifindex);
    let data = to_ptr(&bpf, data_raw);
    // The packet's end lives in a slot that helper calls renew (see `Bpf::data_end_slot`),
    // opaque from the start too: LLVM would otherwise see through the slot to the 32-bit
    // context field and compare integers, which the verifier does not take as a check.
    let data_end = bpf.opaque_ptr(to_ptr(&bpf, end_raw));
    bpf.b.build_store(end_slot, data_end).expect("store");
    bpf.data_end_slot.set(Some(end_slot));
    let pkt_len = bpf.b.build_int_sub(end_raw, data_raw, "len").expect("sub");
    let mut consts = HashMap::new();
    for (i, c) in p.consts.iter().enumerate() {
        consts.insert(c.span, i);
    }
    let manifest = manifest::Manifest {
        version: manifest::VERSION,
        program: name.to_string(),
        hook,
        section: section.to_string(),
        function: "iov_main".to_string(),
        tables: Vec::new(),
        counters: Vec::new(),
        registers: Vec::new(),
        meters: Vec::new(),
        digests: Vec::new(),
        groups: Vec::new(),
        errors: p.errors.clone(),
        verdict_map: opts.test_build.then(|| "iov_verdict".to_string()),
        clock_map: opts.test_build.then(|| "iov_clock".to_string()),
        chain: stage.as_ref().map(|(_, maps, _)| maps.clone()),
    };
    let mut g = Gen {
        bpf,
        p,
        func,
        hook,
        ctx_ptr,
        data,
        pkt_len,
        headers: HashMap::new(),
        stacks: HashMap::new(),
        scopes: vec![HashMap::new()],
        aliases: HashMap::new(),
        parser_error: ctx_ptr,
        decision: ctx_ptr,
        port: ctx_ptr,
        clone_port: None,
        ingress_ifindex: ifindex,
        cursor: ctx_ptr,
        maps: stage
            .iter()
            .map(|(next, _, _)| (chain::NEXT_MAP.to_string(), *next))
            .collect(),
        control: String::new(),
        tables: HashMap::new(),
        search_probe: None,
        key_buffers: HashMap::new(),
        zero_key: std::cell::Cell::new(None),
        index_key: std::cell::Cell::new(None),
        exit_bb: None,
        return_bb: None,
        manifest,
        diags: Vec::new(),
        consts,
        actions: HashMap::new(),
        omit_bounds_checks: opts.omit_bounds_checks,
        scanned: 0,
        scan_steps: 0,
        direct_meters: HashMap::new(),
        dynamic_cursor: false,
        parser_reject: None,
        dynamic_slots: Default::default(),
        applying: None,
        scratch: None,
        deparse: Default::default(),
        local_headers: HashMap::new(),
    };
    g.parser_error = g.alloca(32, "parser_error");
    g.decision = g.alloca(32, "decision");
    g.port = match stage {
        Some((_, _, key_slot)) => key_slot,
        None => g.alloca(32, "port"),
    };
    g.cursor = g.alloca(64, "cursor");
    // Storage for the headers struct (root `H`) and the metadata (root `M`).
    let headers_id = entry.headers;
    if let Some(h) = headers_id {
        let mut leaves = Vec::new();
        layout::flatten(p, h, "H", &mut leaves);
        for (path, leaf) in leaves {
            match leaf {
                Leaf::Header(id) => {
                    let slot = g.alloca(64, &path);
                    g.set(slot, 64, u128::from(NOT_VALID));
                    let (_, size) = layout::header_fields(p, id);
                    g.headers.insert(
                        path,
                        HeaderVar {
                            slot,
                            id,
                            size,
                            narrow: false,
                            scratch: None,
                            scratch_at: None,
                            local: false,
                        },
                    );
                }
                Leaf::Scalar(bits) => {
                    let slot = g.alloca(bits, &path);
                    g.scopes[0].insert(path, Scalar { slot, bits });
                }
                Leaf::Stack(id, n) => {
                    let (_, size) = layout::header_fields(p, id);
                    let mut elems = Vec::new();
                    for i in 0..n {
                        let slot = g.alloca(32, &format!("{path}[{i}]"));
                        g.set(slot, 32, u128::from(NOT_VALID));
                        let h = HeaderVar {
                            slot,
                            id,
                            size,
                            narrow: true,
                            scratch: None,
                            scratch_at: None,
                            local: false,
                        };
                        g.headers.insert(format!("{path}[{i}]"), h);
                        elems.push(h);
                    }
                    // What `.last` of an empty stack reads: a header that is never valid.
                    let none = g.alloca(32, &format!("{path}.none"));
                    g.set(none, 32, u128::from(NOT_VALID));
                    let next = g.alloca(32, &format!("{path}.next"));
                    g.stacks.insert(
                        path,
                        StackVar {
                            elems,
                            next,
                            none: HeaderVar {
                                slot: none,
                                id,
                                size,
                                narrow: true,
                                scratch: None,
                                scratch_at: None,
                                local: false,
                            },
                            scratch: None,
                        },
                    );
                }
            }
        }
    }
    let meta_id = p.structs.iter().position(|s| s.name == "std_meta_t");
    if let Some(m) = meta_id {
        let mut leaves = Vec::new();
        layout::flatten(p, m, "M", &mut leaves);
        for (path, leaf) in leaves {
            if let Leaf::Scalar(bits) = leaf {
                let slot = g.alloca(bits, &path);
                g.scopes[0].insert(path, Scalar { slot, bits });
            }
        }
    }
    if let Some(s) = g.lookup_scalar("M.ingress_port") {
        g.bpf.b.build_store(s.slot, ifindex).expect("store");
    }
    if let Some(s) = g.lookup_scalar("M.packet_length") {
        g.bpf.b.build_store(s.slot, pkt_len).expect("store");
    }
    // `meta.parser_error` is where the parser records its error.
    if let Some(s) = g.lookup_scalar("M.parser_error") {
        g.parser_error = s.slot;
    }
    if opts.test_build {
        // The clock a test sets, there whether or not the program reads the time, as the
        // manifest says.
        g.bpf
            .map("iov_clock", crate::bpf::map_type::ARRAY, 4, 8, 1, 0);
    }
    g.plan_deparse(deparser);
    let control_bb = g.block("control");
    g.lower_parser(parser, control_bb);
    g.bpf.b.position_at_end(control_bb);
    g.lower_control(control);
    if let Some(d) = deparser {
        g.lower_control(d);
        g.finish_deparse();
    }
    g.finish_decision(opts.test_build);
    g.check_size(entry.span);
    g.check_maps(entry.span);
    if g.diags.is_empty() {
        let Gen { bpf, manifest, .. } = g;
        Ok((bpf, manifest))
    } else {
        Err(g.diags)
    }
}
