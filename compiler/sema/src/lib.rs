//! iov-sema: name resolution and type checking.
//!
//! Takes: the text of a root `.iov` file and a [`Loader`] that finds imported files (the
//! standard library is built in).
//! Gives: a [`Checked`] program: every loaded file, all diagnostics (syntax and semantic,
//! sorted), and the [`Program`] tables (declarations, the type of every expression, every
//! name use with its definition, the entry) that code generation and the language server read.
//!
//! Pure: no file system access (the caller's [`Loader`] does that), no LLVM, no syscalls.
//!
//! The passes, in order (see [`check`]):
//! 1. `modules`  : parse the root file and, transitively, every import.
//! 2. `collect`  : declare every top-level name; resolve imports; resolve types; evaluate constants.
//! 3. `blocks`   : check parsers, controls, actions and tables (with `expr` and `stmt`).
//! 4. `parsers`  : the parser state graph (reachability, termination, bounded loops).
//! 5. `entry`    : the program's entry and its blocks' signatures.
//! 6. `deparse`  : what the deparser does to the headers (and W0002).

mod blocks;
mod calls;
mod collect;
mod consts;
mod cycles;
pub mod deparse;
mod direct_meter;
mod entry;
mod expr;
mod modules;
mod names;
mod parsers;
mod scope;
pub mod stdlib;
mod stmt;
mod tables;
pub mod types;

use iov_diagnostics::{Code, Diagnostic, FileId, SourceMap, Span};
use iov_syntax::ast;
use std::collections::HashMap;
use types::*;

pub use consts::Value;

/// Finds the text of an imported module. `from` is the name of the importing file, `path` the
/// dotted module path (`["lib", "acl"]` for `import lib.acl.*`). Returns the file's display
/// name and text. `std.*` modules never reach the loader.
pub trait Loader {
    fn load(&mut self, from: &str, path: &[String]) -> Result<(String, String), String>;
}

/// A loader that knows only the standard library.
pub struct NoFiles;

impl Loader for NoFiles {
    fn load(&mut self, _from: &str, path: &[String]) -> Result<(String, String), String> {
        Err(format!(
            "no file loader is available for `{}`",
            path.join(".")
        ))
    }
}

/// One loaded file.
#[derive(Clone, Debug)]
pub struct Module {
    /// The dotted name it was imported by (`std.net`, `lib.acl`); the file's name for the root.
    pub name: String,
    pub file: FileId,
    pub ast: ast::File,
}

#[derive(Clone, Debug)]
pub struct ConstDef {
    pub name: String,
    pub ty: Ty,
    pub value: Option<Value>,
    pub span: Span,
}

/// Where a block of the entry is declared: module index and item index.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ItemRef {
    pub module: usize,
    pub item: usize,
}

#[derive(Clone, Debug)]
pub struct Entry {
    /// `xdp`, `tc_ingress` or `tc_egress`.
    pub hook: String,
    pub parser: ItemRef,
    pub control: ItemRef,
    /// `None` when the entry names no deparser: packets leave as parsed.
    pub deparser: Option<ItemRef>,
    /// The headers struct shared by the three blocks.
    pub headers: Option<StructId>,
    pub span: Span,
}

/// The checked program: declarations, types and resolutions, for codegen and tools.
#[derive(Clone, Debug, Default)]
pub struct Program {
    pub modules: Vec<Module>,
    pub structs: Vec<StructDef>,
    pub enums: Vec<EnumDef>,
    pub externs: Vec<ExternDef>,
    pub fns: Vec<FnDef>,
    pub typedefs: Vec<TypedefDef>,
    pub consts: Vec<ConstDef>,
    /// Members of the `error` type; the index is the error's value.
    pub errors: Vec<String>,
    /// The type of every checked expression, by its span.
    pub expr_types: HashMap<Span, Ty>,
    /// The value of every expression that had to be constant (widths, sizes, slice bounds,
    /// entries, default arguments, constant initializers), by its span.
    pub const_values: HashMap<Span, Value>,
    /// Every use of a name and the span of the declaration it refers to.
    pub references: Vec<(Span, Span)>,
    pub entry: Option<Entry>,
    /// What the deparser does to the headers (see `deparse`).
    pub deparsing: Option<deparse::Deparsing>,
}

impl Program {
    pub fn type_names(&self) -> TypeNames<'_> {
        TypeNames {
            structs: &self.structs,
            enums: &self.enums,
            externs: &self.externs,
            typedefs: &self.typedefs,
        }
    }

    /// The index of the module that was checked: the root file (module 0 is the prelude,
    /// which is the root itself when the prelude is what was checked).
    pub fn root_index(&self) -> usize {
        self.modules.len().min(2).saturating_sub(1)
    }

    /// Names that can follow a `.` on a value of type `ty`: fields, header and stack
    /// methods, enum members, extern methods, `apply` and its results. Suggestions for unknown
    /// members and the language server's completion both read it.
    pub fn member_names(&self, ty: &Ty) -> Vec<String> {
        let names = |v: &[&str]| v.iter().map(|s| s.to_string()).collect();
        match ty {
            Ty::Struct(s) => {
                let def = &self.structs[*s];
                let mut v: Vec<String> = def.fields.iter().map(|f| f.name.clone()).collect();
                if def.kind == iov_syntax::ast::StructKind::Header {
                    v.extend(names(&["isValid", "setValid", "setInvalid"]));
                }
                v
            }
            Ty::Stack(..) => names(&[
                "next",
                "last",
                "lastIndex",
                "size",
                "push_front",
                "pop_front",
            ]),
            Ty::TypeName(t) => match &**t {
                Ty::Enum(e) => self.enums[*e].members.iter().map(|m| m.0.clone()).collect(),
                _ => vec![],
            },
            Ty::Extern(x, _) => self.externs[*x]
                .methods
                .iter()
                .map(|m| m.name.clone())
                .collect(),
            Ty::Table(_) => names(&["apply", "learn"]),
            Ty::ApplyResult(_) => names(&["hit", "miss", "action_run"]),
            _ => vec![],
        }
    }

    /// How `ty` is written in source.
    pub fn type_to_string(&self, ty: &Ty) -> String {
        ty.display(&self.type_names()).to_string()
    }
}

/// The result of checking: files, diagnostics and the program.
pub struct Checked {
    pub files: SourceMap,
    pub diagnostics: Vec<Diagnostic>,
    pub program: Program,
}

impl Checked {
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(|d| d.is_error())
    }
}

fn is_syntax(d: &Diagnostic) -> bool {
    matches!(d.code, Code::E0001 | Code::E0002 | Code::E0003)
}

/// In a declaration with a syntax error, semantic errors are mostly echoes of the broken
/// text (a name cut off, a statement half-read); only the syntax errors are kept there.
/// Every other declaration of the file is checked and reported as usual.
fn quiet_broken_items(program: &Program, diags: &mut Vec<Diagnostic>) {
    let inside = |outer: Span, inner: Span| {
        outer.file == inner.file && outer.start <= inner.start && inner.start <= outer.end
    };
    let broken: Vec<Span> = program
        .modules
        .iter()
        .flat_map(|m| m.ast.items.iter().map(|i| i.span()))
        .filter(|item| {
            diags
                .iter()
                .any(|d| is_syntax(d) && inside(*item, d.primary.span))
        })
        .collect();
    diags.retain(|d| is_syntax(d) || !broken.iter().any(|b| inside(*b, d.primary.span)));
    // W0002 reads the deparser's emits: a broken deparser's are not all known.
    if let Some(dp) = program.entry.as_ref().and_then(|e| e.deparser) {
        let span = program.modules[dp.module].ast.items[dp.item].span();
        if broken.contains(&span) {
            diags.retain(|d| d.code != Code::W0002);
        }
    }
}

/// Checks a program whose root file is `name` with contents `text`.
pub fn check(name: &str, text: &str, loader: &mut dyn Loader) -> Checked {
    let mut files = SourceMap::new();
    let mut diags = Vec::new();
    let modules = modules::load_all(name, text, loader, &mut files, &mut diags);
    let mut cx = collect::Cx::new(modules);
    cx.collect();
    cx.check_blocks();
    cx.check_entry();
    cx.check_deparsing();
    let (program, more) = cx.finish();
    diags.extend(more);
    quiet_broken_items(&program, &mut diags);
    iov_diagnostics::sort(&mut diags);
    // A declaration resolved from two places (a block and the entry) reports once.
    diags.dedup();
    Checked {
        files,
        diagnostics: diags,
        program,
    }
}
