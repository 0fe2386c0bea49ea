//! Blocks: parsers, controls, deparsers and actions, with their local declarations.
//!
//! Takes: the collected program (types, constants, symbols).
//! Gives: every block checked in declaration order, as P4 reads them: parameters, then
//! locals (variables, constants, extern instances, actions, tables), then states or `apply`.
//! Reports extern instances with bad arguments (E0205, E0214), control-plane parameters of
//! unusable types (E0406), recursive actions (E0500), tables applied twice (E0504), and
//! tables or instances named with the prefix iov keeps for its own maps (E0218).

use crate::collect::{ActionCall, ActionInfo, Ctx, Cx, TableInfo};
use crate::scope::{Access, Local};
use crate::types::*;
use crate::ItemRef;
use iov_diagnostics::{Code, Diagnostic, Span};
use iov_syntax::ast::{self, ControlKind, Item};
use std::collections::HashMap;

/// The most indexes a `counter` may have: 16 MiB on each CPU.
pub const MAX_COUNTER_SIZE: u32 = 1 << 20;
/// The most entries of a table with exact or lpm keys, and the most indexes of a `register`
/// or `meter`: the kernel allocates a hash table's buckets, and an array's cells, up front.
pub const MAX_ARRAY_SIZE: u32 = 1 << 24;

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
                        self.locals = vec![HashMap::new()];
                        self.check_action(a);
                    }
                    _ => {}
                }
            }
            self.p.modules[m].ast.items = items;
        }
        // Calls between top-level actions, across all modules.
        self.check_recursion();
        self.ctx = Ctx::TopLevel;
    }

    /// Starts a parser or control. Calls between top-level actions collected so far are
    /// kept: they are checked together at the end.
    fn reset_block_state(&mut self) {
        self.locals = vec![HashMap::new()];
        self.actions.clear();
        self.tables.clear();
        self.applies.clear();
        self.metered_by.clear();
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

    /// Locals in declaration order. `emit_only` blocks (parsers, deparsers) have no actions
    /// or tables.
    fn check_locals(&mut self, locals: &[ast::Local], emit_only: bool) {
        for local in locals {
            match local {
                ast::Local::Var(v) => self.check_var(v),
                ast::Local::Const(c) => self.check_local_const(c),
                ast::Local::Instance(inst) => {
                    self.check_reserved(&inst.name, "an extern instance");
                    self.check_instance(inst)
                }
                ast::Local::Action(a) if emit_only => self.control_only(a.span, "an action"),
                ast::Local::Table(t) if emit_only => self.control_only(t.span, "a table"),
                ast::Local::Action(a) => self.check_action(a),
                ast::Local::Table(t) => {
                    self.check_reserved(&t.name, "a table");
                    self.check_table(t)
                }
                ast::Local::Error(_) => {}
            }
        }
    }

    /// Tables and extern instances become BPF maps named after them; names starting with
    /// `iov_` are the maps iov adds to programs (`iov_next`, `iov_packets`, ...).
    fn check_reserved(&mut self, name: &ast::Ident, what: &str) {
        if !name.name.starts_with("iov_") {
            return;
        }
        let d = Diagnostic::new(
            Code::E0218,
            format!("`{}` is reserved: names starting with `iov_` belong to iov", name.name),
            name.span,
        )
        .label(format!("{what} cannot be named so"))
        .note("tables and extern instances become BPF maps named after them, and iov adds maps of its own named `iov_...` to every program")
        .help("choose a name that does not start with `iov_`");
        self.error(d);
    }

    fn control_only(&mut self, span: Span, what: &str) {
        let block = if self.ctx == Ctx::Parser {
            "a parser"
        } else {
            "a deparser"
        };
        let d = Diagnostic::new(
            Code::E0502,
            format!("{what} cannot be declared in {block}"),
            span,
        )
        .label(format!("not allowed in {block}"))
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
                            let got = self.check_expr_as(a, &want);
                            self.required_value(a, &got);
                            if p.name == "size" {
                                self.check_extern_size(&def.name, a);
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
                .help("to declare a variable, write `T name;` or `T name = value;`");
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

    /// Refuses an extern instance whose `size` the kernel cannot create (E0412): its map is
    /// allocated whole when the program loads.
    fn check_extern_size(&mut self, extern_name: &str, e: &ast::Expr) {
        let Some(v) = self.const_int(e) else { return };
        let (limit, why) = match extern_name {
            "counter" => (
                MAX_COUNTER_SIZE,
                "a counter is a per-CPU array of 16 bytes an index, allocated whole for every CPU when the program loads",
            ),
            _ => (
                MAX_ARRAY_SIZE,
                "its array is allocated whole when the program loads",
            ),
        };
        if v == 0 || v > u128::from(limit) {
            let d = Diagnostic::new(
                Code::E0412,
                format!("{extern_name} size {v} is out of range"),
                e.span,
            )
            .label(format!("must be 1 to {limit}"))
            .note(why);
            self.error(d);
        }
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
        let top_level_calls = std::mem::take(&mut self.action_calls);
        self.declare_params(&c.params);
        self.check_locals(&c.locals, c.kind == ControlKind::Deparser);
        self.check_block(&c.apply);
        self.check_recursion();
        self.action_calls = top_level_calls;
        self.check_applies();
        self.ctx = Ctx::TopLevel;
    }

    fn check_action(&mut self, a: &ast::ActionDecl) {
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
        self.action = Some((a.name.name.clone(), a.name.span));
        self.locals.push(HashMap::new());
        for (p, d) in a.params.iter().zip(&params) {
            self.declare_local_quiet(
                &p.name,
                Local::param(d.ty.clone(), p.name.span, p.direction),
            );
        }
        self.check_block(&a.body);
        self.locals.pop();
        self.action = None;
    }

    pub fn is_control_plane_type(&self, ty: &Ty) -> bool {
        match ty {
            Ty::Bit(_) | Ty::Int(_) | Ty::Bool | Ty::Unknown => true,
            Ty::Enum(e) => self.p.enums[*e].underlying.is_some(),
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
        if matches!(self.ctx, Ctx::Parser | Ctx::Deparser) {
            let block = if self.ctx == Ctx::Parser {
                "a parser"
            } else {
                "a deparser"
            };
            let d = Diagnostic::new(
                Code::E0502,
                format!("action `{name}` cannot be called in {block}"),
                e.span,
            )
            .label("not allowed here")
            .note("actions run in control blocks, directly or as the result of a table lookup");
            self.error(d);
        }
        if let Some(a) = self.add_entries.iter().find(|a| a.caller.1 == info.span) {
            let d = Diagnostic::new(
                Code::E0413,
                format!("action `{name}` adds entries to its table, so it only runs as a table's action"),
                e.span,
            )
            .label("called directly")
            .secondary(a.at, "it adds an entry here");
            self.error(d);
        }
        if let Some(x) = self.direct_executes.iter().find(|x| x.caller == info.span) {
            let d = Diagnostic::new(
                Code::E0414,
                format!("action `{name}` executes direct meter `{}`, so it only runs as a table's action", x.meter),
                e.span,
            )
            .label("called directly")
            .secondary(x.at, "the meter is executed here")
            .note("a direct meter is executed for the entry of its table that was hit; a direct call has no entry");
            self.error(d);
        }
        if let Some(caller) = &self.action {
            self.action_calls.push(ActionCall {
                caller: caller.clone(),
                callee: (name.to_string(), info.span),
                at: e.span,
            });
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

    /// Actions that call themselves, directly or through others (E0500). Actions are told
    /// apart by their declaration, so a local action that shadows a top-level one is another.
    fn check_recursion(&mut self) {
        let calls = std::mem::take(&mut self.action_calls);
        let mut reported: Vec<Span> = Vec::new();
        for call in &calls {
            let (caller, callee) = (&call.caller, &call.callee);
            // Is the caller reachable from the callee?
            let mut stack = vec![callee.1];
            let mut seen: Vec<Span> = Vec::new();
            let mut cycle = false;
            while let Some(a) = stack.pop() {
                if a == caller.1 {
                    cycle = true;
                    break;
                }
                if !seen.contains(&a) {
                    seen.push(a);
                    stack.extend(calls.iter().filter(|c| c.caller.1 == a).map(|c| c.callee.1));
                }
            }
            if cycle && !reported.contains(&caller.1) {
                reported.push(caller.1);
                let message = if caller.1 == callee.1 {
                    format!("action `{}` calls itself", caller.0)
                } else {
                    format!("action `{}` calls itself through `{}`", caller.0, callee.0)
                };
                let d = Diagnostic::new(Code::E0500, message, call.at)
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

    pub(crate) fn register_table(
        &mut self,
        name: &ast::Ident,
        actions: Vec<String>,
        keys: Vec<Ty>,
        written: bool,
    ) {
        self.tables.insert(
            name.name.clone(),
            TableInfo {
                actions,
                keys,
                written,
            },
        );
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
