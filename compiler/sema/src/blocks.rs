//! Blocks: parsers, controls, deparsers and actions, with their local declarations.
//!
//! Takes: the collected program (types, constants, symbols).
//! Gives: every block checked in declaration order, as P4 reads them: parameters, then
//! locals (variables, constants, extern instances, actions, tables), then states or `apply`.
//! Reports extern instances with bad arguments (E0205, E0214), control-plane parameters of
//! unusable types (E0406), recursive actions (E0500) and tables applied twice (E0504).

use crate::collect::{ActionInfo, Ctx, Cx, TableInfo};
use crate::scope::{Access, Local};
use crate::types::*;
use crate::ItemRef;
use iov_diagnostics::{Code, Diagnostic, Span};
use iov_syntax::ast::{self, ControlKind, Item};
use std::collections::HashMap;

impl Cx {
    pub fn check_blocks(&mut self) {
        // Top-level actions first, so any control can call or list them.
        for m in 0..self.p.modules.len() {
            let items = std::mem::take(&mut self.p.modules[m].ast.items);
            for (i, item) in items.iter().enumerate() {
                if let Item::Action(a) = item {
                    let params = self.resolve_params(m, &a.params, &[]);
                    self.top_actions.insert(
                        ItemRef { module: m, item: i },
                        ActionInfo {
                            params,
                            span: a.name.span,
                        },
                    );
                }
            }
            self.p.modules[m].ast.items = items;
        }
        for m in 0..self.p.modules.len() {
            let items = std::mem::take(&mut self.p.modules[m].ast.items);
            self.module = m;
            for item in &items {
                match item {
                    Item::Parser(p) => self.check_parser(p),
                    Item::Control(c) => self.check_control(c),
                    Item::Action(a) => {
                        self.reset_block_state();
                        self.check_action(a);
                        self.check_recursion();
                    }
                    _ => {}
                }
            }
            self.p.modules[m].ast.items = items;
        }
        self.ctx = Ctx::TopLevel;
    }

    fn reset_block_state(&mut self) {
        self.locals = vec![HashMap::new()];
        self.actions.clear();
        self.tables.clear();
        self.action_calls.clear();
        self.applies.clear();
    }

    fn declare_params(&mut self, params: &[ast::Param]) -> Vec<ParamDef> {
        let m = self.module;
        let defs = self.resolve_params(m, params, &[]);
        for (p, d) in params.iter().zip(&defs) {
            self.declare_local_quiet(
                &p.name,
                Local::param(d.ty.clone(), p.name.span, p.direction),
            );
        }
        defs
    }

    /// Declares without a duplicate report (parameters report duplicates when resolved).
    fn declare_local_quiet(&mut self, name: &ast::Ident, local: Local) {
        if let Some(scope) = self.locals.last_mut() {
            scope.entry(name.name.clone()).or_insert(local);
        }
    }

    fn check_locals(&mut self, locals: &[ast::Local], in_parser: bool) {
        for local in locals {
            match local {
                ast::Local::Var(v) => self.check_var(v),
                ast::Local::Const(c) => self.check_local_const(c),
                ast::Local::Instance(inst) => self.check_instance(inst),
                ast::Local::Action(a) if in_parser => self.parser_only(a.span, "an action"),
                ast::Local::Table(t) if in_parser => self.parser_only(t.span, "a table"),
                ast::Local::Action(a) => self.check_action(a),
                ast::Local::Table(t) => self.check_table(t),
                ast::Local::Error(_) => {}
            }
        }
    }

    fn parser_only(&mut self, span: Span, what: &str) {
        let d = Diagnostic::new(
            Code::E0502,
            format!("{what} cannot be declared in a parser"),
            span,
        )
        .label("not allowed in a parser")
        .note("actions and tables belong in a control block");
        self.error(d);
    }

    fn check_instance(&mut self, inst: &ast::Instance) {
        let m = self.module;
        let ty = self.resolve_type(m, &inst.ty, &[]);
        match &ty {
            Ty::Extern(x, targs) => {
                let def = self.p.externs[*x].clone();
                let ctor = def.ctors.iter().find(|c| c.len() == inst.args.len());
                match ctor {
                    Some(params) => {
                        for (p, a) in params.iter().zip(&inst.args) {
                            let want = match p.ty {
                                Ty::Param(i) => targs[i as usize].clone(),
                                ref t => t.clone(),
                            };
                            self.check_expr_as(a, &want);
                            if self.eval(a).is_none()
                                && !self
                                    .p
                                    .expr_types
                                    .get(&a.span)
                                    .is_some_and(|t| t.is_unknown())
                            {
                                self.not_constant(a);
                            }
                        }
                    }
                    None => {
                        let forms: Vec<String> = def
                            .ctors
                            .iter()
                            .map(|c| {
                                format!(
                                    "{}({})",
                                    def.name,
                                    c.iter()
                                        .map(|p| format!("{} {}", self.ty_str(&p.ty), p.name))
                                        .collect::<Vec<_>>()
                                        .join(", ")
                                )
                            })
                            .collect();
                        let d = Diagnostic::new(
                            Code::E0205,
                            format!(
                                "`{}` is not created with {} argument{}",
                                def.name,
                                inst.args.len(),
                                if inst.args.len() == 1 { "" } else { "s" }
                            ),
                            inst.ty.span(),
                        )
                        .label("no constructor takes these arguments")
                        .note(format!("constructors: {}", forms.join("; ")));
                        self.error(d);
                        for a in &inst.args {
                            self.check_expr(a, None);
                        }
                    }
                }
            }
            Ty::Unknown => {}
            other => {
                let d = Diagnostic::new(
                    Code::E0214,
                    format!(
                        "`{}` is not an extern and cannot be instantiated",
                        self.ty_str(other)
                    ),
                    inst.ty.span(),
                )
                .label("not an extern type")
                .help("to declare a variable, write `type name;` or `type name = value;`");
                self.error(d);
            }
        }
        self.declare_local(
            &inst.name,
            Local {
                ty,
                span: inst.name.span,
                access: Access::ReadOnly("an extern instance"),
                value: None,
            },
        );
    }

    fn check_parser(&mut self, p: &ast::ParserDecl) {
        self.reset_block_state();
        self.ctx = Ctx::Parser;
        self.declare_params(&p.params);
        self.check_locals(&p.locals, true);
        self.check_states(p);
        self.ctx = Ctx::TopLevel;
    }

    fn check_control(&mut self, c: &ast::ControlDecl) {
        self.reset_block_state();
        self.ctx = match c.kind {
            ControlKind::Control => Ctx::Control,
            ControlKind::Deparser => Ctx::Deparser,
        };
        let block_ctx = self.ctx.clone();
        self.declare_params(&c.params);
        self.check_locals(&c.locals, false);
        self.ctx = block_ctx;
        self.check_block(&c.apply);
        self.check_recursion();
        self.check_applies();
        self.ctx = Ctx::TopLevel;
    }

    fn check_action(&mut self, a: &ast::ActionDecl) {
        let outer = self.ctx.clone();
        let m = self.module;
        let params = self.resolve_params(m, &a.params, &[]);
        for p in &params {
            if p.direction.is_none() && !self.is_control_plane_type(&p.ty) {
                let d = Diagnostic::new(
                    Code::E0406,
                    format!(
                        "parameter `{}` has no direction, so the control plane supplies it, but `{}` cannot come from the control plane",
                        p.name,
                        self.ty_str(&p.ty)
                    ),
                    p.span,
                )
                .label("control-plane parameter")
                .note("control-plane parameters are bit strings, signed integers, bool, or serializable enums")
                .help("to pass packet data, give it a direction: `in`, `out` or `inout`");
                self.error(d);
            }
        }
        let info = ActionInfo {
            params: params.clone(),
            span: a.name.span,
        };
        if self.ctx != Ctx::TopLevel {
            self.actions.insert(a.name.name.clone(), info);
            self.declare_local(
                &a.name,
                Local {
                    ty: Ty::Action(a.name.name.clone()),
                    span: a.name.span,
                    access: Access::ReadOnly("an action"),
                    value: None,
                },
            );
        }
        self.ctx = Ctx::Action(a.name.name.clone());
        self.locals.push(HashMap::new());
        for (p, d) in a.params.iter().zip(&params) {
            self.declare_local_quiet(
                &p.name,
                Local::param(d.ty.clone(), p.name.span, p.direction),
            );
        }
        self.check_block(&a.body);
        self.locals.pop();
        self.ctx = outer;
    }

    pub fn is_control_plane_type(&self, ty: &Ty) -> bool {
        match ty {
            Ty::Bit(_) | Ty::Int(_) | Ty::Bool | Ty::Unknown => true,
            Ty::Enum(e) => self.p.enums[*e].underlying.is_some(),
            Ty::Distinct(t) => self.is_control_plane_type(&self.p.typedefs[*t].target),
            _ => false,
        }
    }

    /// The parameters of an action visible here: the control's own, then top-level ones.
    pub fn action_info(&self, name: &str) -> Option<ActionInfo> {
        if let Some(a) = self.actions.get(name) {
            return Some(a.clone());
        }
        match self.lookup_global(self.module, name)?.kind {
            crate::scope::SymKind::Action(at) => self.top_actions.get(&at).cloned(),
            _ => None,
        }
    }

    /// A direct call of an action: every parameter gets an argument.
    pub fn check_action_call(&mut self, e: &ast::Expr, name: &str, args: &[ast::Expr]) {
        let Some(info) = self.action_info(name) else {
            return;
        };
        if let Ctx::Action(caller) = &self.ctx {
            self.action_calls
                .push((caller.clone(), name.to_string(), e.span));
        }
        let sig = Signature {
            name: name.to_string(),
            params: info.params,
            ret: Ty::Void,
            type_params: 0,
            kind: CallKind::Action(name.to_string()),
        };
        self.check_args(e, &sig, vec![], args);
    }

    /// Actions that call themselves, directly or through others (E0500).
    fn check_recursion(&mut self) {
        let calls = std::mem::take(&mut self.action_calls);
        let mut reported: Vec<String> = Vec::new();
        for (caller, callee, span) in &calls {
            // Is `caller` reachable from `callee`?
            let mut stack = vec![callee.clone()];
            let mut seen: Vec<String> = Vec::new();
            let mut path_found = false;
            while let Some(a) = stack.pop() {
                if a == *caller {
                    path_found = true;
                    break;
                }
                if seen.contains(&a) {
                    continue;
                }
                seen.push(a.clone());
                stack.extend(
                    calls
                        .iter()
                        .filter(|(c, _, _)| *c == a)
                        .map(|(_, t, _)| t.clone()),
                );
            }
            if path_found && !reported.contains(caller) {
                reported.push(caller.clone());
                let message = if caller == callee {
                    format!("action `{caller}` calls itself")
                } else {
                    format!("action `{caller}` calls itself through `{callee}`")
                };
                let d = Diagnostic::new(Code::E0500, message, *span)
                .label("this call leads back to the caller")
                .note("eBPF has no recursion: every call is inlined, so a cycle of calls cannot be compiled");
                self.error(d);
            }
        }
    }

    /// A table applied at more than one place in a control (E0504).
    fn check_applies(&mut self) {
        let applies = std::mem::take(&mut self.applies);
        for (i, (t, span)) in applies.iter().enumerate() {
            if let Some((_, first)) = applies[..i].iter().find(|(u, _)| u == t) {
                let d = Diagnostic::new(
                    Code::E0504,
                    format!("table `{t}` is applied more than once"),
                    *span,
                )
                .label("applied again here")
                .secondary(*first, "first applied here")
                .note("a table is looked up at most once per packet; apply it once and branch on the result");
                self.error(d);
            }
        }
    }

    pub(crate) fn register_table(&mut self, name: &ast::Ident, actions: Vec<String>) {
        self.tables.insert(name.name.clone(), TableInfo { actions });
        self.declare_local(
            name,
            Local {
                ty: Ty::Table(name.name.clone()),
                span: name.span,
                access: Access::ReadOnly("a table"),
                value: None,
            },
        );
    }
}
