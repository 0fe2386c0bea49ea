//! Collection: every top-level declaration of every module gets a symbol and a definition.
//!
//! Takes: the loaded modules.
//! Gives: the checker context [`Cx`] with per-module symbol tables, imports resolved
//! (E0101, E0103), and the declaration tables of [`Program`] filled: struct and header
//! layouts, enums, externs, functions, typedefs and constants with their types (E0100,
//! E0107, E0210, E0214).

use crate::modules::Loaded;
use crate::scope::{Local, Sym, SymKind};
use crate::types::*;
use crate::{ConstDef, ItemRef, Program};
use iov_diagnostics::{Code, Diagnostic, Span};
use iov_syntax::ast::{self, ImportNames, Item, StructKind, TypeRef};
use std::collections::HashMap;

#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum State {
    Pending,
    Busy,
    Done,
}

/// What kind of block is being checked: decides which statements and calls are allowed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Ctx {
    TopLevel,
    Parser,
    Control,
    Deparser,
}

pub struct Cx {
    pub p: Program,
    pub imports: HashMap<(usize, usize), usize>,
    /// Each module's own top-level declarations (what others can import).
    pub own: Vec<HashMap<String, Sym>>,
    /// Names each module imported.
    pub visible: Vec<HashMap<String, Sym>>,
    pub diags: Vec<Diagnostic>,
    pub(crate) typedef_state: Vec<State>,
    pub(crate) typedef_src: Vec<(usize, TypeRef)>,
    pub(crate) const_state: Vec<State>,
    pub(crate) const_src: Vec<(usize, ast::Expr)>,
    /// The module whose code is being checked.
    pub module: usize,
    /// Block-local scopes, innermost last.
    pub locals: Vec<HashMap<String, Local>>,
    pub(crate) ctx: Ctx,
    /// Set by `eval` when a constant it used has no value (its error is already reported).
    pub(crate) poisoned: bool,
    /// Constant expressions reported as too large for 128 bits (E0202, once each).
    pub(crate) overflowed: std::collections::HashSet<iov_diagnostics::Span>,
    /// The action being checked, with the span of its name.
    pub(crate) action: Option<(String, Span)>,
    /// Actions callable in the control being checked (its own, then top-level ones).
    pub(crate) actions: HashMap<String, ActionInfo>,
    /// Top-level actions, by declaration.
    pub(crate) top_actions: HashMap<ItemRef, ActionInfo>,
    /// Tables of the control being checked, with the actions each lists.
    pub(crate) tables: HashMap<String, TableInfo>,
    /// Every action called from an action: caller and callee (name, declaration), call site.
    pub(crate) action_calls: Vec<ActionCall>,
    /// Every `t.apply()` in the control being checked.
    pub(crate) applies: Vec<(String, Span)>,
    /// Every `add_entry(X(...))`: the action it is in (name, declaration), X, the call.
    pub(crate) add_entries: Vec<AddEntry>,
    /// Every `clone(port)` call: the XDP hook cannot copy a packet (E0505).
    pub(crate) clones: Vec<Span>,
    /// Every `m.execute(...)` of a `direct_meter` in an action: the action, the meter, the call.
    pub(crate) direct_executes: Vec<DirectExecute>,
    /// The table that names each direct meter in `meters` (meter name, table name span).
    pub(crate) metered_by: HashMap<String, Span>,
}

#[derive(Clone, Debug)]
pub struct DirectExecute {
    /// The declaration of the action the call is in.
    pub caller: Span,
    pub meter: String,
    pub at: Span,
}

#[derive(Clone, Debug)]
pub struct AddEntry {
    pub caller: (String, Span),
    pub target: String,
    pub at: Span,
}

#[derive(Clone, Debug)]
pub struct ActionInfo {
    pub params: Vec<ParamDef>,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub struct ActionCall {
    pub caller: (String, Span),
    pub callee: (String, Span),
    pub at: Span,
}

#[derive(Clone, Debug)]
pub struct TableInfo {
    pub actions: Vec<String>,
    /// The types of its keys, in order (for `t.learn(keys..., action(args))`).
    pub keys: Vec<Ty>,
    /// Whether the data plane may write it: exact keys, and `idle_timeout` or `add_on_miss`.
    pub written: bool,
}

impl Cx {
    pub fn new(loaded: Loaded) -> Cx {
        let n = loaded.modules.len();
        Cx {
            p: Program {
                modules: loaded.modules,
                ..Program::default()
            },
            imports: loaded.imports,
            own: vec![HashMap::new(); n],
            visible: vec![HashMap::new(); n],
            diags: Vec::new(),
            typedef_state: Vec::new(),
            typedef_src: Vec::new(),
            const_state: Vec::new(),
            const_src: Vec::new(),
            module: 0,
            locals: Vec::new(),
            ctx: Ctx::TopLevel,
            poisoned: false,
            overflowed: Default::default(),
            action: None,
            actions: HashMap::new(),
            top_actions: HashMap::new(),
            tables: HashMap::new(),
            action_calls: Vec::new(),
            applies: Vec::new(),
            add_entries: Vec::new(),
            clones: Vec::new(),
            direct_executes: Vec::new(),
            metered_by: HashMap::new(),
        }
    }

    pub fn finish(self) -> (Program, Vec<Diagnostic>) {
        (self.p, self.diags)
    }

    pub fn error(&mut self, d: Diagnostic) {
        self.diags.push(d);
    }

    pub fn ty_str(&self, ty: &Ty) -> String {
        self.p.type_to_string(ty)
    }

    /// A top-level name as seen from module `m`: own declarations, imports, then the prelude.
    pub fn lookup_global(&self, m: usize, name: &str) -> Option<Sym> {
        self.own[m]
            .get(name)
            .or_else(|| self.visible[m].get(name))
            .or_else(|| self.own[0].get(name))
            .cloned()
    }

    /// Every top-level name visible from module `m` (for suggestions).
    pub fn global_names(&self, m: usize) -> Vec<String> {
        let mut v: Vec<String> = self.own[m]
            .keys()
            .chain(self.visible[m].keys())
            .chain(self.own[0].keys())
            .cloned()
            .collect();
        v.sort();
        v.dedup();
        v
    }

    fn declare(&mut self, m: usize, name: &ast::Ident, kind: SymKind) {
        if let Some(prev) = self.own[m].get(&name.name) {
            let d = crate::scope::redefined(name, prev.span);
            self.error(d);
            return;
        }
        self.own[m].insert(
            name.name.clone(),
            Sym {
                kind,
                span: name.span,
            },
        );
    }

    /// Runs declaration, import resolution and type resolution over all modules.
    pub fn collect(&mut self) {
        for m in 0..self.p.modules.len() {
            self.declare_module(m);
        }
        for m in 0..self.p.modules.len() {
            self.resolve_imports(m);
        }
        for m in 0..self.p.modules.len() {
            self.resolve_module_types(m);
        }
        self.refuse_struct_cycles();
        for id in 0..self.typedef_state.len() {
            self.typedef_target(id);
        }
        for id in 0..self.const_state.len() {
            self.const_value(id);
        }
    }

    fn declare_module(&mut self, m: usize) {
        let items = std::mem::take(&mut self.p.modules[m].ast.items);
        for (i, item) in items.iter().enumerate() {
            let at = ItemRef { module: m, item: i };
            match item {
                Item::Struct(s) => {
                    self.p.structs.push(StructDef {
                        name: s.name.name.clone(),
                        kind: s.kind,
                        fields: Vec::new(),
                        span: s.name.span,
                    });
                    self.declare(m, &s.name, SymKind::Struct(self.p.structs.len() - 1));
                }
                Item::Enum(e) => {
                    self.p.enums.push(EnumDef {
                        name: e.name.name.clone(),
                        underlying: None,
                        members: Vec::new(),
                        span: e.name.span,
                    });
                    self.declare(m, &e.name, SymKind::Enum(self.p.enums.len() - 1));
                }
                Item::Typedef(t) => {
                    self.p.typedefs.push(TypedefDef {
                        name: t.name.name.clone(),
                        target: Ty::Unknown,
                        span: t.name.span,
                    });
                    self.typedef_state.push(State::Pending);
                    self.typedef_src.push((m, t.ty.clone()));
                    let id = self.p.typedefs.len() - 1;
                    self.declare(m, &t.name, SymKind::Typedef(id));
                }
                Item::Extern(e) => {
                    self.p.externs.push(ExternDef {
                        name: e.name.name.clone(),
                        type_params: e.type_params.iter().map(|t| t.name.clone()).collect(),
                        ctors: Vec::new(),
                        methods: Vec::new(),
                        span: e.name.span,
                    });
                    self.declare(m, &e.name, SymKind::Extern(self.p.externs.len() - 1));
                }
                Item::ExternFn(f) => {
                    self.p.fns.push(FnDef {
                        name: f.name.name.clone(),
                        type_params: f.type_params.iter().map(|t| t.name.clone()).collect(),
                        params: Vec::new(),
                        ret: Ty::Unknown,
                        span: f.name.span,
                    });
                    self.declare(m, &f.name, SymKind::Fn(self.p.fns.len() - 1));
                }
                Item::Const(c) => {
                    self.p.consts.push(ConstDef {
                        name: c.name.name.clone(),
                        ty: Ty::Unknown,
                        value: None,
                        span: c.name.span,
                    });
                    self.const_state.push(State::Pending);
                    self.const_src.push((m, c.value.clone()));
                    self.declare(m, &c.name, SymKind::Const(self.p.consts.len() - 1));
                }
                Item::Parser(p) => self.declare(m, &p.name, SymKind::Parser(at)),
                Item::Control(c) => self.declare(m, &c.name, SymKind::Control(at)),
                Item::Action(a) => self.declare(m, &a.name, SymKind::Action(at)),
                Item::Errors(e) => {
                    for member in &e.members {
                        if !self.p.errors.contains(&member.name) {
                            self.p.errors.push(member.name.clone());
                        }
                    }
                }
                Item::Import(_) | Item::Entry(_) | Item::Error(_) => {}
            }
        }
        self.p.modules[m].ast.items = items;
    }

    fn resolve_imports(&mut self, m: usize) {
        let items = std::mem::take(&mut self.p.modules[m].ast.items);
        for (i, item) in items.iter().enumerate() {
            let Item::Import(imp) = item else { continue };
            let Some(&target) = self.imports.get(&(m, i)) else {
                continue;
            };
            match &imp.names {
                ImportNames::All(_) => {
                    let names: Vec<(String, Sym)> = self.own[target]
                        .iter()
                        .map(|(k, v)| (k.clone(), v.clone()))
                        .collect();
                    for (name, sym) in names {
                        self.visible[m].entry(name).or_insert(sym);
                    }
                }
                ImportNames::List(names) => {
                    for name in names {
                        match self.own[target].get(&name.name).cloned() {
                            Some(sym) => {
                                self.p.references.push((name.span, sym.span));
                                if let Some(prev) = self.own[m].get(&name.name) {
                                    let d = Diagnostic::new(
                                        Code::E0101,
                                        format!(
                                            "`{}` is imported and also defined here",
                                            name.name
                                        ),
                                        name.span,
                                    )
                                    .label("imported here")
                                    .secondary(prev.span, "defined here");
                                    self.error(d);
                                } else {
                                    self.visible[m].insert(name.name.clone(), sym);
                                }
                            }
                            None => {
                                let module = self.p.modules[target].name.clone();
                                let candidates: Vec<String> =
                                    self.own[target].keys().cloned().collect();
                                let d = Diagnostic::new(
                                    Code::E0103,
                                    format!("module `{module}` has no `{}`", name.name),
                                    name.span,
                                )
                                .label("not found in this module")
                                .suggest(&name.name, candidates.iter().map(|s| s.as_str()));
                                self.error(d);
                            }
                        }
                    }
                }
            }
        }
        self.p.modules[m].ast.items = items;
    }

    fn resolve_module_types(&mut self, m: usize) {
        let items = std::mem::take(&mut self.p.modules[m].ast.items);
        let (mut s_id, mut e_id, mut x_id, mut f_id, mut c_id) = (0, 0, 0, 0, 0);
        // Ids were handed out in module order; find this module's first id of each kind.
        for earlier in 0..m {
            for item in &self.p.modules[earlier].ast.items {
                match item {
                    Item::Struct(_) => s_id += 1,
                    Item::Enum(_) => e_id += 1,
                    Item::Extern(_) => x_id += 1,
                    Item::ExternFn(_) => f_id += 1,
                    Item::Const(_) => c_id += 1,
                    _ => {}
                }
            }
        }
        for item in &items {
            match item {
                Item::Struct(s) => {
                    self.resolve_struct(m, s_id, s);
                    s_id += 1;
                }
                Item::Enum(e) => {
                    self.resolve_enum(m, e_id, e);
                    e_id += 1;
                }
                Item::Extern(e) => {
                    self.resolve_extern(m, x_id, e);
                    x_id += 1;
                }
                Item::ExternFn(f) => {
                    self.p.fns[f_id] = self.resolve_sig(m, f, &[]);
                    f_id += 1;
                }
                Item::Const(c) => {
                    self.p.consts[c_id].ty = self.resolve_type(m, &c.ty, &[]);
                    c_id += 1;
                }
                _ => {}
            }
        }
        self.p.modules[m].ast.items = items;
    }

    fn resolve_struct(&mut self, m: usize, id: StructId, s: &ast::StructDecl) {
        let mut fields: Vec<FieldDef> = Vec::new();
        for f in &s.fields {
            let ty = self.resolve_type(m, &f.ty, &[]);
            if let Some(prev) = fields.iter().find(|p| p.name == f.name.name) {
                let d = Diagnostic::new(
                    Code::E0101,
                    format!("field `{}` is declared twice", f.name.name),
                    f.name.span,
                )
                .label("declared again here")
                .secondary(prev.span, "first declared here");
                self.error(d);
                continue;
            }
            if s.kind == StructKind::Header && !self.is_header_field_type(&ty) {
                let d = Diagnostic::new(
                    Code::E0214,
                    format!(
                        "header fields must be bit strings, signed integers or serializable enums, not `{}`",
                        self.ty_str(&ty)
                    ),
                    f.ty.span(),
                )
                .label("not allowed in a header")
                .note("a header is copied to and from packet bytes, so each field needs a fixed bit layout");
                self.error(d);
            }
            fields.push(FieldDef {
                name: f.name.name.clone(),
                ty,
                span: f.name.span,
            });
        }
        if s.kind == StructKind::Header {
            let bits: u32 = fields.iter().filter_map(|f| self.bit_width(&f.ty)).sum();
            if !bits.is_multiple_of(8) {
                let d = Diagnostic::new(
                    Code::E0214,
                    format!(
                        "header `{}` is {bits} bits long, not a whole number of bytes",
                        s.name.name
                    ),
                    s.name.span,
                )
                .label(format!("{bits} bits"))
                .help(format!("add {} bits of padding", 8 - bits % 8));
                self.error(d);
            }
        }
        self.p.structs[id].fields = fields;
    }

    /// Width of a type that has a wire layout.
    pub fn bit_width(&self, ty: &Ty) -> Option<u32> {
        match ty {
            Ty::Bit(w) | Ty::Int(w) => Some(*w),
            Ty::Bool => Some(1),
            Ty::Enum(e) => self.p.enums[*e]
                .underlying
                .as_ref()
                .and_then(|u| self.bit_width(u)),
            Ty::Struct(s) => self.p.structs[*s]
                .fields
                .iter()
                .map(|f| self.bit_width(&f.ty))
                .sum(),
            Ty::Stack(s, n) => self.bit_width(&Ty::Struct(*s)).map(|w| w * n),
            _ => None,
        }
    }

    fn is_header_field_type(&self, ty: &Ty) -> bool {
        match ty {
            Ty::Bit(_) | Ty::Int(_) | Ty::Unknown => true,
            Ty::Enum(e) => self.p.enums[*e].underlying.is_some(),
            _ => false,
        }
    }

    fn resolve_enum(&mut self, m: usize, id: EnumId, e: &ast::EnumDecl) {
        let underlying = e.underlying.as_ref().map(|u| self.resolve_type(m, u, &[]));
        if let (Some(u), Some(t)) = (&underlying, &e.underlying) {
            if !matches!(u, Ty::Bit(_) | Ty::Int(_) | Ty::Unknown) {
                let d = Diagnostic::new(
                    Code::E0214,
                    format!(
                        "an enum's underlying type must be `bit<N>` or `int<N>`, not `{}`",
                        self.ty_str(u)
                    ),
                    t.span(),
                )
                .label("not a bit string");
                self.error(d);
            }
        }
        let mut members: Vec<(String, u128, Span)> = Vec::new();
        for (i, (name, value)) in e.members.iter().enumerate() {
            if let Some(prev) = members.iter().find(|p| p.0 == name.name) {
                let d = Diagnostic::new(
                    Code::E0101,
                    format!("enum member `{}` is declared twice", name.name),
                    name.span,
                )
                .label("declared again here")
                .secondary(prev.2, "first declared here");
                self.error(d);
                continue;
            }
            let v = match (value, &underlying) {
                (Some(expr), Some(u)) => {
                    let u = u.clone();
                    self.module = m;
                    self.const_expr_of_type(expr, &u).unwrap_or(0)
                }
                _ => i as u128,
            };
            members.push((name.name.clone(), v, name.span));
        }
        self.p.enums[id].underlying = underlying;
        self.p.enums[id].members = members;
    }

    fn resolve_extern(&mut self, m: usize, id: ExternId, e: &ast::ExternDecl) {
        let tps: Vec<String> = e.type_params.iter().map(|t| t.name.clone()).collect();
        let ctors = e
            .ctors
            .iter()
            .map(|(params, _)| self.resolve_params(m, params, &tps))
            .collect();
        let methods = e
            .methods
            .iter()
            .map(|s| self.resolve_sig(m, s, &tps))
            .collect();
        self.p.externs[id].ctors = ctors;
        self.p.externs[id].methods = methods;
    }

    /// A signature; the method's own type parameters are numbered after `outer`'s.
    fn resolve_sig(&mut self, m: usize, s: &ast::FnSig, outer: &[String]) -> FnDef {
        let mut tps: Vec<String> = outer.to_vec();
        tps.extend(s.type_params.iter().map(|t| t.name.clone()));
        FnDef {
            name: s.name.name.clone(),
            type_params: s.type_params.iter().map(|t| t.name.clone()).collect(),
            params: self.resolve_params(m, &s.params, &tps),
            ret: self.resolve_type(m, &s.ret, &tps),
            span: s.name.span,
        }
    }

    pub fn resolve_params(
        &mut self,
        m: usize,
        params: &[ast::Param],
        tps: &[String],
    ) -> Vec<ParamDef> {
        let mut out: Vec<ParamDef> = Vec::new();
        for p in params {
            if let Some(prev) = out.iter().find(|q| q.name == p.name.name) {
                let d = Diagnostic::new(
                    Code::E0101,
                    format!("parameter `{}` is declared twice", p.name.name),
                    p.name.span,
                )
                .label("declared again here")
                .secondary(prev.span, "first declared here");
                self.error(d);
            }
            let ty = self.resolve_type(m, &p.ty, tps);
            out.push(ParamDef {
                name: p.name.name.clone(),
                direction: p.direction,
                ty,
                span: p.name.span,
            });
        }
        out
    }

    fn typedef_target(&mut self, id: TypedefId) -> Ty {
        match self.typedef_state[id] {
            State::Done => return self.p.typedefs[id].target.clone(),
            State::Busy => {
                let d = Diagnostic::new(
                    Code::E0214,
                    format!(
                        "type `{}` is defined in terms of itself",
                        self.p.typedefs[id].name
                    ),
                    self.p.typedefs[id].span,
                )
                .label("this definition refers back to itself");
                self.error(d);
                self.typedef_state[id] = State::Done;
                return Ty::Unknown;
            }
            State::Pending => {}
        }
        self.typedef_state[id] = State::Busy;
        let (m, tref) = self.typedef_src[id].clone();
        let ty = self.resolve_type(m, &tref, &[]);
        if self.typedef_state[id] == State::Busy {
            self.p.typedefs[id].target = ty.clone();
            self.typedef_state[id] = State::Done;
            ty
        } else {
            Ty::Unknown
        }
    }

    fn width(&mut self, m: usize, e: &ast::Expr, what: &str) -> Option<u32> {
        self.module = m;
        let v = self.const_int(e)?;
        if v == 0 || v > 128 {
            let d = Diagnostic::new(
                Code::E0210,
                format!("`{what}<{v}>` is not a valid width: widths are 1 to 128 bits"),
                e.span,
            )
            .label("width out of range");
            self.error(d);
            return None;
        }
        Some(v as u32)
    }

    /// Resolves a written type as seen from module `m`, with type parameters `tps`.
    pub fn resolve_type(&mut self, m: usize, t: &TypeRef, tps: &[String]) -> Ty {
        let saved = self.module;
        let ty = self.resolve_type_inner(m, t, tps);
        self.module = saved;
        ty
    }

    fn resolve_type_inner(&mut self, m: usize, t: &TypeRef, tps: &[String]) -> Ty {
        match t {
            TypeRef::Bit(w, _) => self.width(m, w, "bit").map(Ty::Bit).unwrap_or(Ty::Unknown),
            TypeRef::Int(w, _) => self.width(m, w, "int").map(Ty::Int).unwrap_or(Ty::Unknown),
            TypeRef::Bool(_) => Ty::Bool,
            TypeRef::Void(_) => Ty::Void,
            TypeRef::ErrorType(_) => Ty::Error,
            TypeRef::Error(_) => Ty::Unknown,
            TypeRef::Stack(elem, size, span) => {
                let elem_ty = self.resolve_type_inner(m, elem, tps);
                self.module = m;
                let n = self.const_int(size);
                match (elem_ty, n) {
                    (Ty::Struct(s), Some(n))
                        if self.p.structs[s].kind == StructKind::Header && n > 0 && n <= 64 =>
                    {
                        Ty::Stack(s, n as u32)
                    }
                    (Ty::Unknown, _) | (_, None) => Ty::Unknown,
                    (Ty::Struct(s), Some(n)) if self.p.structs[s].kind == StructKind::Header => {
                        let d = Diagnostic::new(
                            Code::E0214,
                            format!("a header stack holds 1 to 64 headers, not {n}"),
                            size.span,
                        )
                        .label("invalid stack size");
                        self.error(d);
                        Ty::Unknown
                    }
                    (other, _) => {
                        let d = Diagnostic::new(
                            Code::E0214,
                            format!(
                                "only headers can form a stack, not `{}`",
                                self.ty_str(&other)
                            ),
                            *span,
                        )
                        .label("not a header type");
                        self.error(d);
                        Ty::Unknown
                    }
                }
            }
            TypeRef::Named(name, args, span) => {
                if let Some(i) = tps.iter().position(|p| *p == name.name) {
                    return Ty::Param(i as u32);
                }
                let Some(sym) = self.lookup_global(m, &name.name) else {
                    let mut candidates: Vec<String> = self
                        .global_names(m)
                        .into_iter()
                        .filter(|n| self.lookup_global(m, n).is_some_and(|s| s.kind.is_type()))
                        .collect();
                    candidates.extend(["bit", "int", "bool", "error"].map(String::from));
                    let d = Diagnostic::new(
                        Code::E0100,
                        format!("unknown type `{}`", name.name),
                        name.span,
                    )
                    .label("not a type in scope")
                    .suggest(&name.name, candidates.iter().map(|s| s.as_str()));
                    let d = match self.import_hint(m, &name.name) {
                        Some(h) => d.help(h),
                        None => d,
                    };
                    self.error(d);
                    return Ty::Unknown;
                };
                self.p.references.push((name.span, sym.span));
                let arg_tys: Vec<Ty> = args
                    .iter()
                    .map(|a| self.resolve_type_inner(m, a, tps))
                    .collect();
                let ty = match sym.kind {
                    SymKind::Struct(s) => Ty::Struct(s),
                    SymKind::Enum(e) => Ty::Enum(e),
                    SymKind::Typedef(t) => self.typedef_target(t),
                    SymKind::Extern(x) => {
                        let want = self.p.externs[x].type_params.len();
                        if want != arg_tys.len() {
                            let d = Diagnostic::new(
                                Code::E0205,
                                format!(
                                    "`{}` takes {want} type argument{}, but {} {} given",
                                    name.name,
                                    if want == 1 { "" } else { "s" },
                                    arg_tys.len(),
                                    if arg_tys.len() == 1 { "was" } else { "were" }
                                ),
                                *span,
                            )
                            .label("wrong number of type arguments");
                            self.error(d);
                            return Ty::Unknown;
                        }
                        return Ty::Extern(x, arg_tys);
                    }
                    other => {
                        let d = Diagnostic::new(
                            Code::E0107,
                            format!("`{}` is {}, not a type", name.name, other.describe()),
                            name.span,
                        )
                        .label("used as a type here")
                        .secondary(sym.span, "declared here");
                        self.error(d);
                        return Ty::Unknown;
                    }
                };
                if !args.is_empty() {
                    let d = Diagnostic::new(
                        Code::E0205,
                        format!("`{}` takes no type arguments", name.name),
                        *span,
                    )
                    .label("unexpected type arguments");
                    self.error(d);
                }
                ty
            }
        }
    }

    /// "add `import std.net.x;`" when a standard module declares `name` and `m` is not it.
    pub fn import_hint(&self, m: usize, name: &str) -> Option<String> {
        let module = crate::stdlib::module_declaring(name)?;
        (self.p.modules[m].name != module)
            .then(|| format!("`{name}` is in `{module}`: add `import {module}.{name};`"))
    }

    /// The declared type of a top-level constant, evaluating its value on first use.
    pub fn const_value(&mut self, id: usize) -> Option<crate::Value> {
        match self.const_state[id] {
            State::Done => return self.p.consts[id].value.clone(),
            State::Busy => {
                let d = Diagnostic::new(
                    Code::E0216,
                    format!("constant `{}` depends on itself", self.p.consts[id].name),
                    self.p.consts[id].span,
                )
                .label("its value needs its own value");
                self.error(d);
                self.const_state[id] = State::Done;
                return None;
            }
            State::Pending => {}
        }
        self.const_state[id] = State::Busy;
        let (m, expr) = self.const_src[id].clone();
        let saved = (self.module, std::mem::take(&mut self.locals), self.ctx);
        self.module = m;
        self.ctx = Ctx::TopLevel;
        let ty = self.p.consts[id].ty.clone();
        let checked = self.check_expr_as(&expr, &ty);
        let v = self.required_value(&expr, &checked);
        (self.module, self.locals, self.ctx) = saved;
        if self.const_state[id] == State::Busy {
            self.p.consts[id].value = v.clone();
            self.const_state[id] = State::Done;
        }
        v
    }
}
