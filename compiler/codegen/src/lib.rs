//! iov-codegen: checked programs become BPF objects, through LLVM 19 (inkwell).
//!
//! Takes: a program checked without errors by iov-sema, with its entry.
//! Gives: [`Output`]: the ELF object (BTF-defined maps, BTF with line info pointing at `.iov`
//! lines, a GPL license section, the manifest in section `.iov.manifest`), the manifest
//! itself, and on request the LLVM IR and BPF assembly. Constructs the back end cannot lower
//! yet are reported as E0700 on their span; a program over the kernel's stack, as E0702
//! (`frames.rs`). This is the only crate that links LLVM.

mod bpf;
pub mod frames;
mod layout;
mod lower;

use iov_diagnostics::{Code, Diagnostic, Span};
use iov_manifest::Manifest;

#[derive(Clone, Debug, Default)]
pub struct Options {
    /// Record every packet's decision in a map the runtime reads (for `iov test`).
    pub test_build: bool,
    /// Also produce BPF assembly.
    pub asm: bool,
    /// Also produce the optimised LLVM IR as text ([`Output::llvm_ir`]).
    pub llvm_ir: bool,
    /// Leaves out the packet bounds check of every `extract`, so the kernel verifier rejects
    /// the program. Exists only so a test can prove that verifier rejections are reported on
    /// the right `.iov` line; never set it otherwise.
    pub omit_bounds_checks: bool,
    /// Writes the object even when a program and a function it calls need more stack
    /// together than the kernel allows (E0702). Exists only so a test can prove that the
    /// kernel refuses what E0702 refuses; never set it otherwise.
    pub skip_stack_budget: bool,
    /// Build for this hook instead of the one the program's entry names (`iov load --hook`):
    /// the language is the same at every hook, only the context and the verdicts differ.
    pub hook: Option<iov_manifest::Hook>,
    /// Build a stage of a chain (`iov build --chain-stage`, `iov load --chain`): the program
    /// carries the chain maps (manifest `chain`), counts every packet it receives and hands
    /// a passed packet to the next stage. Without it, a program has neither the count nor
    /// the tail call on its pass path (about 30 instructions and 4 ns a packet) and cannot
    /// join a chain.
    pub chain_stage: bool,
}

pub struct Output {
    pub object: Vec<u8>,
    pub manifest: Manifest,
    /// The optimised IR, when [`Options::llvm_ir`] asked for it (else empty).
    pub llvm_ir: String,
    pub asm: Option<String>,
    /// How long each phase took, in order: lowering to LLVM IR, checking the IR, LLVM's
    /// optimisation passes, BPF code and object writing (`iov build --timings`).
    pub timings: Vec<(&'static str, std::time::Duration)>,
}

/// Compiles a checked program. `name` is the program's name in the manifest.
pub fn build(
    checked: &iov_sema::Checked,
    name: &str,
    opts: &Options,
) -> Result<Output, Vec<Diagnostic>> {
    let program = &checked.program;
    let Some(entry) = &program.entry else {
        // A library (no parser, control or entry) checks clean but has nothing to compile.
        let file = program.modules[program.root_index()].file;
        let d = Diagnostic::new(Code::E0600, "this file has no entry, so there is nothing to compile", Span::new(file, 0, 0))
            .label("no `xdp(...)`, `tc_ingress(...)` or `tc_egress(...)` entry")
            .help("compile the program that imports this module, or end this file with an entry such as `xdp(P(), C(), D()) main;`");
        return Err(vec![d]);
    };
    let root = checked.files.get(program.modules[entry.parser.module].file);
    let start = std::time::Instant::now();
    let ctx = inkwell::context::Context::create();
    let bpf = bpf::Bpf::new(&ctx, name, &root.name, &root.text);
    let (bpf, manifest) = lower::lower(bpf, program, name, opts)?;
    bpf.section_bytes("_license", "license", b"GPL\0");
    bpf.section_bytes(
        "iov_manifest",
        iov_manifest::SECTION,
        manifest.to_json().as_bytes(),
    );
    let mut timings = vec![("lower to LLVM IR", start.elapsed())];
    let finished = bpf.finish(opts.asm, opts.llvm_ir, &mut timings);
    let (object, llvm_ir, asm) = finished.map_err(|e| {
        let file = program.modules[entry.parser.module].file;
        let d = frames::over_in_llvm(&bpf.llvm_errors(), entry.span, (root, file)).unwrap_or_else(
            || Diagnostic::new(Code::E0700, e, entry.span).label("while compiling this program"),
        );
        vec![d]
    })?;
    // LLVM fits each function in 512 bytes; the verifier counts a program and the functions
    // it calls together.
    let over = frames::over_in_chain(&object, &bpf.called.borrow(), entry.span);
    if let Some(d) = over.filter(|_| !opts.skip_stack_budget) {
        return Err(vec![d]);
    }
    Ok(Output {
        object,
        manifest,
        llvm_ir,
        asm,
        timings,
    })
}
