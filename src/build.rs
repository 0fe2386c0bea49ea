//! `iov build`: check a program, compile it to a BPF object, write what `--emit` asks for.
//!
//! Takes: one `.iov` file and the output choices.
//! Gives: files (`FILE.o`, `.ll`, `.s`, `.json`) or diagnostics; exit 0, 1 (program errors)
//! or 2 (usage or input errors).

use crate::{read_source, render_all, Color, CHECK_STACK};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Emit {
    Obj,
    LlvmIr,
    Asm,
    Manifest,
}

/// Compiles `program` to an object with `opts` (a test build for `iov test`, another hook
/// for `iov load --hook`, a chain stage for `iov load --chain`): `Ok(object)`, or the
/// rendered diagnostics (empty when the file could not be read, which has been reported
/// already).
pub fn compile(
    program: &Path,
    color: Color,
    opts: &iov_codegen::Options,
) -> Result<Vec<u8>, String> {
    compile_checked(program, color, opts).map(|(object, _)| object)
}

/// [`compile`], also giving the checked program the object was built from.
pub fn compile_checked(
    program: &Path,
    color: Color,
    opts: &iov_codegen::Options,
) -> Result<(Vec<u8>, iov_sema::Checked), String> {
    let text = read_source(program).map_err(|_| String::new())?;
    let name = program.display().to_string();
    let stem = program
        .file_stem()
        .map_or("program".into(), |s| s.to_string_lossy().into_owned());
    compile_text(name, text, stem, color, opts)
}

/// [`compile`] of source `text` named `name` (program name `stem`): the object, and the
/// checked program it was built from (whose types `iov test` decodes frames with).
pub fn compile_text(
    name: String,
    text: String,
    stem: String,
    color: Color,
    opts: &iov_codegen::Options,
) -> Result<(Vec<u8>, iov_sema::Checked), String> {
    let opts = opts.clone();
    std::thread::Builder::new()
        .stack_size(CHECK_STACK)
        .spawn(move || {
            let checked = iov_sema::check(&name, &text, &mut iov::loader::FsLoader::new(vec![]));
            if checked.has_errors() {
                return Err(render_all(&checked.diagnostics, &checked.files, color));
            }
            match iov_codegen::build(&checked, &stem, &opts) {
                Ok(o) => Ok((o.object, checked)),
                Err(d) => Err(render_all(&d, &checked.files, color)),
            }
        })
        .expect("a compiler thread starts")
        .join()
        .expect("the compiler does not panic")
}

/// What `iov build` was asked to do besides compiling.
pub struct Checks {
    /// Load the object into the kernel so the verifier judges it.
    pub verify: bool,
    /// Print the verifier's whole log.
    pub verbose: bool,
    /// Build a stage of a chain (`--chain-stage`), which `iov load --chain` can take.
    pub chain_stage: bool,
    /// Print how long each phase took (`--timings`).
    pub timings: bool,
}

pub fn build(
    file: &Path,
    out: Option<PathBuf>,
    emit: &[Emit],
    color: Color,
    include: Vec<PathBuf>,
    checks: Checks,
) -> ExitCode {
    let start = std::time::Instant::now();
    let text = match read_source(file) {
        Ok(t) => t,
        Err(code) => return code,
    };
    let name = file.display().to_string();
    let stem = file
        .file_stem()
        .map_or("program".into(), |s| s.to_string_lossy().into_owned());
    let emit = if emit.is_empty() {
        vec![Emit::Obj]
    } else {
        emit.to_vec()
    };
    let want_asm = emit.contains(&Emit::Asm);
    let want_ir = emit.contains(&Emit::LlvmIr);
    let mut phases = vec![("read the source", start.elapsed())];
    let result = std::thread::Builder::new()
        .stack_size(CHECK_STACK)
        .spawn(move || {
            let lap = std::time::Instant::now();
            let checked = iov_sema::check(&name, &text, &mut iov::loader::FsLoader::new(include));
            let check = ("parse and check", lap.elapsed());
            if checked.has_errors() {
                return Err(render_all(&checked.diagnostics, &checked.files, color));
            }
            let warnings = render_all(&checked.diagnostics, &checked.files, color);
            let fallback = checked
                .program
                .entry
                .as_ref()
                .map(|e| e.span)
                .unwrap_or_default();
            let opts = iov_codegen::Options {
                asm: want_asm,
                llvm_ir: want_ir,
                chain_stage: checks.chain_stage,
                ..Default::default()
            };
            match iov_codegen::build(&checked, &stem, &opts) {
                Ok(o) => Ok((
                    o.object,
                    o.manifest.to_json(),
                    o.llvm_ir,
                    o.asm,
                    warnings,
                    checked.files.clone(),
                    fallback,
                    [vec![check], o.timings].concat(),
                )),
                Err(diags) => Err(render_all(&diags, &checked.files, color)),
            }
        })
        .expect("a compiler thread starts")
        .join()
        .expect("the compiler does not panic");
    let (object, manifest, ir, asm, warnings, files, fallback, compiled) = match result {
        Ok(r) => r,
        Err(rendered) => {
            eprint!("{rendered}");
            return ExitCode::from(1);
        }
    };
    eprint!("{warnings}");
    phases.extend(compiled);
    let lap = std::time::Instant::now();
    if checks.verify {
        match iov_runtime::Module::load(&object) {
            Ok(m) => eprintln!(
                "the kernel verifier accepted it ({} instructions processed)",
                m.verified_instructions()
                    .map_or("?".into(), |n| n.to_string())
            ),
            Err(iov_runtime::Error::Verifier { log, .. }) => {
                if checks.verbose {
                    eprintln!("{log}");
                }
                let d = iov::verifier::diagnose(&log, &files, fallback);
                eprint!("{}", render_all(&[d], &files, color));
                return ExitCode::from(1);
            }
            Err(e) => {
                eprintln!("{:?}", miette::miette!("{e}"));
                return ExitCode::from(2);
            }
        }
    }
    let base = out.unwrap_or_else(|| file.with_extension("o"));
    let mut written = Vec::new();
    for kind in emit {
        let (path, bytes): (PathBuf, Vec<u8>) = match kind {
            Emit::Obj => (base.clone(), object.clone()),
            Emit::LlvmIr => (base.with_extension("ll"), ir.clone().into_bytes()),
            Emit::Asm => (
                base.with_extension("s"),
                asm.clone().unwrap_or_default().into_bytes(),
            ),
            Emit::Manifest => (base.with_extension("json"), manifest.clone().into_bytes()),
        };
        if let Err(e) = std::fs::write(&path, bytes) {
            eprintln!(
                "{:?}",
                miette::miette!(
                    help = "check that the directory exists and is writable",
                    "cannot write {}: {e}",
                    path.display()
                )
            );
            return ExitCode::from(2);
        }
        written.push(path.display().to_string());
    }
    eprintln!("wrote {}", written.join(", "));
    if checks.timings {
        if checks.verify {
            phases.push(("verify in the kernel, write", lap.elapsed()));
        } else {
            phases.push(("write", lap.elapsed()));
        }
        print_timings(&phases, start.elapsed());
    }
    ExitCode::SUCCESS
}

/// The `--timings` table: each phase in ms, then the total since `main`'s build began (what
/// the process spent before, in start-up, is not seen from inside it).
fn print_timings(phases: &[(&str, std::time::Duration)], total: std::time::Duration) {
    let ms = |d: std::time::Duration| d.as_secs_f64() * 1000.0;
    for (name, d) in phases {
        eprintln!("{:>8.2} ms  {name}", ms(*d));
    }
    eprintln!(
        "{:>8.2} ms  in all (process start-up and exit not included)",
        ms(total)
    );
}

/// The object to load from `file`: compiled here with `opts` (for another hook, or as a
/// chain stage) from a `.iov` source, or read as built by `iov build`. A failure is
/// reported, and its exit code given.
pub fn object_of(
    file: &std::path::Path,
    color: Color,
    opts: &iov_codegen::Options,
) -> Result<Vec<u8>, std::process::ExitCode> {
    if file.extension().is_some_and(|e| e == "iov") {
        return compile(file, color, opts).map_err(|rendered| {
            eprint!("{rendered}");
            std::process::ExitCode::from(if rendered.is_empty() { 2 } else { 1 })
        });
    }
    std::fs::read(file).map_err(|e| {
        crate::modules::usage(format!(
            "cannot read {}: {e}; give a .iov program or an object built by `iov build`",
            file.display()
        ))
    })
}
