//! Names and members: what an identifier or `a.b` refers to, and whether it can be written.
//!
//! Takes: identifiers and member accesses inside the current scopes.
//! Gives: their types (locals, constants, functions, actions, enum members, header fields,
//! stack and header methods, extern methods, table `apply` and its results), name uses in
//! `Program::references`, suggestions for unknown names (E0100, E0104, E0107), and the
//! writability of places (E0207 read-only, E0211 not assignable).

use crate::collect::Cx;
use crate::scope::{Access, SymKind};
use crate::types::*;
use iov_diagnostics::{Code, Diagnostic, Span};
use iov_syntax::ast::{self, Direction, Expr, ExprKind, StructKind};

/// Where a value can be written, or why not.
pub(crate) enum Place {
    Writable,
    ReadOnly(Span, String),
    Nowhere,
}

impl Cx {
    pub(crate) fn check_name(&mut self, id: &ast::Ident) -> Ty {
        if let Some(local) = self.find_local(&id.name) {
            let (ty, span) = (local.ty.clone(), local.span);
            self.p.references.push((id.span, span));
            return ty;
        }
        let Some(sym) = self.lookup_global(self.module, &id.name) else {
            let mut names: Vec<String> =
                self.locals.iter().flat_map(|s| s.keys().cloned()).collect();
            names.extend(self.global_names(self.module));
            let mut d =
                Diagnostic::new(Code::E0100, format!("unknown name `{}`", id.name), id.span)
                    .label("not found in this scope")
                    .suggest(&id.name, names.iter().map(|s| s.as_str()));
            if let Some(h) = self.import_hint(self.module, &id.name) {
                d = d.help(h);
            }
            self.error(d);
            return Ty::Unknown;
        };
        self.p.references.push((id.span, sym.span));
        match sym.kind {
            SymKind::Const(c) => self.p.consts[c].ty.clone(),
            SymKind::Fn(f) => {
                let def = &self.p.fns[f];
                Ty::Callable(Box::new(Signature {
                    name: def.name.clone(),
                    params: def.params.clone(),
                    ret: def.ret.clone(),
                    type_params: def.type_params.len() as u32,
                    kind: CallKind::ExternFn,
                }))
            }
            SymKind::Action(_) => Ty::Action(id.name.clone()),
            SymKind::Struct(s) => Ty::TypeName(Box::new(Ty::Struct(s))),
            SymKind::Enum(en) => Ty::TypeName(Box::new(Ty::Enum(en))),
            SymKind::Typedef(t) => Ty::TypeName(Box::new(self.p.typedefs[t].target.clone())),
            other => {
                let d = Diagnostic::new(
                    Code::E0107,
                    format!(
                        "`{}` is {} and cannot be used as a value",
                        id.name,
                        other.describe()
                    ),
                    id.span,
                )
                .label("used as a value here")
                .secondary(sym.span, "declared here");
                self.error(d);
                Ty::Unknown
            }
        }
    }

    fn method(name: &str, params: Vec<ParamDef>, ret: Ty, kind: CallKind) -> Ty {
        Ty::Callable(Box::new(Signature {
            name: name.to_string(),
            params,
            ret,
            type_params: 0,
            kind,
        }))
    }

    pub(crate) fn member_type(&mut self, base: &Ty, m: &ast::Ident, base_span: Span) -> Ty {
        let found = match base {
            Ty::Unknown => return Ty::Unknown,
            Ty::Struct(s) => {
                let def = &self.p.structs[*s];
                if let Some(f) = def.field(&m.name) {
                    let (ty, span) = (f.ty.clone(), f.span);
                    self.p.references.push((m.span, span));
                    return ty;
                }
                match (def.kind, m.name.as_str()) {
                    (StructKind::Header, "isValid") => Some(Self::method(
                        "isValid",
                        vec![],
                        Ty::Bool,
                        CallKind::HeaderMethod,
                    )),
                    (StructKind::Header, "setValid" | "setInvalid") => Some(Self::method(
                        &m.name,
                        vec![],
                        Ty::Void,
                        CallKind::HeaderMethod,
                    )),
                    _ => None,
                }
            }
            Ty::Stack(h, _) => match m.name.as_str() {
                "next" | "last" => Some(Ty::Struct(*h)),
                "lastIndex" | "size" => Some(Ty::Bit(32)),
                "push_front" | "pop_front" => Some(Self::method(
                    &m.name,
                    vec![ParamDef {
                        name: "count".into(),
                        direction: Some(Direction::In),
                        ty: Ty::Bit(32),
                        span: m.span,
                    }],
                    Ty::Void,
                    CallKind::HeaderMethod,
                )),
                _ => None,
            },
            Ty::TypeName(t) => match &**t {
                Ty::Enum(en) => {
                    let def = &self.p.enums[*en];
                    if let Some((_, _, span)) = def.members.iter().find(|x| x.0 == m.name) {
                        self.p.references.push((m.span, *span));
                        return Ty::Enum(*en);
                    }
                    None
                }
                _ => None,
            },
            Ty::Extern(x, targs) => {
                let def = &self.p.externs[*x];
                def.methods
                    .iter()
                    .find(|f| f.name == m.name)
                    .map(|f| Ty::Callable(Box::new(method_signature(def, f, targs))))
            }
            Ty::Table(t) => match m.name.as_str() {
                "apply" => Some(Self::method(
                    "apply",
                    vec![],
                    Ty::ApplyResult(t.clone()),
                    CallKind::TableApply(t.clone()),
                )),
                "learn" => Some(Self::method(
                    "learn",
                    vec![],
                    Ty::Bool,
                    CallKind::TableLearn(t.clone()),
                )),
                _ => None,
            },
            Ty::ApplyResult(t) => match m.name.as_str() {
                "hit" | "miss" => Some(Ty::Bool),
                "action_run" => Some(Ty::ActionRun(t.clone())),
                _ => None,
            },
            _ => None,
        };
        if let Some(t) = found {
            return t;
        }
        let candidates = self.p.member_names(base);
        let d = Diagnostic::new(
            Code::E0104,
            format!("`{}` has no member `{}`", self.ty_str(base), m.name),
            m.span,
        )
        .label("unknown member")
        .secondary(base_span, format!("this is `{}`", self.ty_str(base)))
        .suggest(&m.name, candidates.iter().map(|s| s.as_str()));
        self.error(d);
        Ty::Unknown
    }

    /// Whether `e` can be written, and if not, why.
    pub(crate) fn place(&self, e: &Expr) -> Place {
        match &e.kind {
            ExprKind::Name(id) => match self.find_local(&id.name) {
                Some(l) => match &l.access {
                    Access::Writable => Place::Writable,
                    Access::ReadOnly(why) => {
                        Place::ReadOnly(l.span, format!("`{}` is {why}", id.name))
                    }
                },
                None => match self.lookup_global(self.module, &id.name) {
                    Some(s) if matches!(s.kind, SymKind::Const(_)) => {
                        Place::ReadOnly(s.span, format!("`{}` is a constant", id.name))
                    }
                    _ => Place::Nowhere,
                },
            },
            ExprKind::Member(base, _) => match self.p.expr_types.get(&base.span) {
                Some(Ty::Struct(_) | Ty::Stack(..) | Ty::Unknown) => self.place(base),
                _ => Place::Nowhere,
            },
            ExprKind::Index(base, _) | ExprKind::Slice(base, _, _) => self.place(base),
            _ => Place::Nowhere,
        }
    }

    /// Requires `e` to be writable (E0211 not a place, E0207 read-only).
    /// Returns whether `e` is a place at all (read-only places still are).
    pub fn require_writable(&mut self, e: &Expr, what: &str) -> bool {
        if self
            .p
            .expr_types
            .get(&e.span)
            .is_some_and(|t| t.is_unknown())
        {
            return true;
        }
        match self.place(e) {
            Place::Writable => true,
            Place::ReadOnly(decl, why) => {
                let d = Diagnostic::new(Code::E0207, format!("cannot {what}: {why}"), e.span)
                    .label("read-only")
                    .secondary(decl, "declared here");
                self.error(d);
                true
            }
            Place::Nowhere => {
                let d = Diagnostic::new(
                    Code::E0211,
                    format!("cannot {what}: this is not a variable, field or header"),
                    e.span,
                )
                .label("not assignable");
                self.error(d);
                false
            }
        }
    }
}

/// Replaces the extern's type parameters (the first `outer`) by `args`; the method's own
/// parameters are renumbered from 0.
fn substitute(t: &Ty, args: &[Ty], outer: u32) -> Ty {
    match t {
        Ty::Param(i) if *i < outer => args[*i as usize].clone(),
        Ty::Param(i) => Ty::Param(i - outer),
        other => other.clone(),
    }
}

/// The signature of method `f` of extern `def` instantiated with `targs`.
pub(crate) fn method_signature(def: &ExternDef, f: &FnDef, targs: &[Ty]) -> Signature {
    let outer = targs.len() as u32;
    let subst = |t: &Ty| substitute(t, targs, outer);
    Signature {
        name: f.name.clone(),
        params: f
            .params
            .iter()
            .map(|p| ParamDef {
                ty: subst(&p.ty),
                ..p.clone()
            })
            .collect(),
        ret: subst(&f.ret),
        type_params: f.type_params.len() as u32,
        kind: CallKind::ExternMethod {
            extern_name: def.name.clone(),
        },
    }
}
