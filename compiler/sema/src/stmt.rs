//! Statements and blocks: declarations, assignments, calls, `if`, `switch`, `return`, `exit`.
//!
//! Takes: statement lists inside parser states, actions and `apply` blocks.
//! Gives: local scopes (E0101 on redeclaration), assignment checks (E0207, E0211, E0200),
//! `switch` on `t.apply().action_run` with labels that are the table's actions (E0503), and
//! statements in blocks that cannot have them (E0502).

use crate::collect::{Ctx, Cx};
use crate::scope::{Access, Local};
use crate::types::Ty;
use iov_diagnostics::{Code, Diagnostic, Span};
use iov_syntax::ast::{self, Block, ExprKind, Stmt};
use std::collections::HashMap;

impl Cx {
    /// Adds a name to the innermost scope (E0101 if that scope has it already).
    pub fn declare_local(&mut self, name: &ast::Ident, local: Local) {
        if self.locals.is_empty() {
            self.locals.push(HashMap::new());
        }
        let scope = self.locals.last_mut().expect("a scope");
        if let Some(prev) = scope.get(&name.name) {
            let d = crate::scope::redefined(name, prev.span);
            self.error(d);
            return;
        }
        scope.insert(name.name.clone(), local);
    }

    pub fn check_block(&mut self, b: &Block) {
        self.locals.push(HashMap::new());
        for s in &b.stmts {
            self.check_stmt(s);
        }
        self.locals.pop();
    }

    pub fn check_var(&mut self, v: &ast::VarDecl) {
        let m = self.module;
        let ty = self.resolve_type(m, &v.ty, &[]);
        if matches!(ty, Ty::Extern(..) | Ty::Void) {
            let d = Diagnostic::new(
                Code::E0214,
                format!("a variable cannot have type `{}`", self.ty_str(&ty)),
                v.ty.span(),
            )
            .label("not a value type")
            .help("extern objects are instantiated with arguments: `counter(256, CounterType.packets) name;`");
            self.error(d);
        }
        if let Some(init) = &v.init {
            self.check_expr_as(init, &ty);
        }
        self.declare_local(
            &v.name,
            Local {
                ty,
                span: v.name.span,
                access: Access::Writable,
                value: None,
            },
        );
    }

    pub fn check_local_const(&mut self, c: &ast::ConstDecl) {
        let m = self.module;
        let ty = self.resolve_type(m, &c.ty, &[]);
        self.check_expr_as(&c.value, &ty);
        let checked = self
            .p
            .expr_types
            .get(&c.value.span)
            .cloned()
            .unwrap_or(Ty::Unknown);
        let value = self.required_value(&c.value, &checked);
        self.declare_local(
            &c.name,
            Local {
                ty,
                span: c.name.span,
                access: Access::ReadOnly("a constant"),
                value,
            },
        );
    }

    fn not_here(&mut self, span: Span, what: &str, why: &str) {
        let d = Diagnostic::new(Code::E0502, format!("{what} is not allowed here"), span)
            .label("not allowed in this block")
            .note(why);
        self.error(d);
    }

    pub fn check_stmt(&mut self, s: &Stmt) {
        let in_parser = self.ctx == Ctx::Parser;
        match s {
            Stmt::Var(v) => self.check_var(v),
            Stmt::Const(c) => self.check_local_const(c),
            Stmt::Assign(lhs, rhs, _) => {
                let lt = self.check_expr(lhs, None);
                if self.require_writable(lhs, "assign to this") {
                    self.check_expr_as(rhs, &lt);
                } else {
                    self.check_expr(rhs, None);
                }
            }
            Stmt::Call(e) => {
                if !matches!(e.kind, ExprKind::Call { .. } | ExprKind::Error) {
                    self.check_expr(e, None);
                    let d = Diagnostic::new(Code::E0502, "this expression does nothing", e.span)
                        .label("not a call")
                        .help("a statement is a declaration, an assignment (`x = ...;`) or a call (`f(...);`)");
                    self.error(d);
                    return;
                }
                self.check_expr(e, None);
            }
            Stmt::If(c, t, e, _) => {
                self.check_cond(c);
                self.check_block(t);
                match e.as_ref().map(|b| b.stmts.as_slice()) {
                    // `else if`: no scope of its own, so long chains stay cheap.
                    Some([inner @ Stmt::If(..)]) => self.check_stmt(inner),
                    Some(_) => self.check_block(e.as_ref().expect("matched Some")),
                    None => {}
                }
            }
            Stmt::Switch(subject, cases, span) => {
                if in_parser {
                    self.not_here(
                        *span,
                        "`switch`",
                        "a parser chooses its next state with `transition select`",
                    );
                }
                self.check_switch(subject, cases);
            }
            Stmt::Return(span) | Stmt::Exit(span) => {
                if in_parser {
                    let what = if matches!(s, Stmt::Return(_)) {
                        "`return`"
                    } else {
                        "`exit`"
                    };
                    self.not_here(
                        *span,
                        what,
                        "a parser state ends with `transition accept;` or `transition reject;`",
                    );
                }
            }
            Stmt::Block(b) => self.check_block(b),
            Stmt::Error(_) => {}
        }
    }

    fn check_switch(&mut self, subject: &ast::Expr, cases: &[ast::SwitchCase]) {
        let t = self.check_expr(subject, None);
        let table = match t {
            Ty::ActionRun(table) => Some(table),
            Ty::Unknown => None,
            other => {
                let d = Diagnostic::new(
                    Code::E0214,
                    format!(
                        "`switch` needs `t.apply().action_run`, not `{}`",
                        self.ty_str(&other)
                    ),
                    subject.span,
                )
                .label("not an action_run")
                .help("to branch on a value, use `if`/`else`");
                self.error(d);
                None
            }
        };
        let actions = table
            .as_ref()
            .and_then(|t| self.tables.get(t))
            .map(|info| info.actions.clone());
        let mut seen: Vec<(String, Span)> = Vec::new();
        for (i, case) in cases.iter().enumerate() {
            let (name, span) = match &case.label {
                Some(l) => (l.name.clone(), l.span),
                None => ("default".to_string(), case.span),
            };
            if let Some((_, prev)) = seen.iter().find(|(n, _)| *n == name) {
                let d = Diagnostic::new(Code::E0101, format!("case `{name}` appears twice"), span)
                    .label("repeated case")
                    .secondary(*prev, "first here");
                self.error(d);
            }
            seen.push((name, span));
            let last = i + 1 == cases.len();
            if case.label.is_none() && !last {
                let d = Diagnostic::new(Code::E0502, "`default` must be the last case", span)
                    .label("cases after this one could never run");
                self.error(d);
            }
            if case.body.is_none() && last {
                let d = Diagnostic::new(Code::E0502, "the last case needs a body", span)
                    .label("falls through to nothing")
                    .help("add a block: `label: { ... }`");
                self.error(d);
            }
            if let Some(label) = &case.label {
                if let (Some(actions), Some(table)) = (&actions, &table) {
                    if !actions.contains(&label.name) {
                        let d = Diagnostic::new(
                            Code::E0503,
                            format!("`{}` is not an action of table `{table}`", label.name),
                            label.span,
                        )
                        .label("not in the table's actions")
                        .suggest(&label.name, actions.iter().map(|s| s.as_str()))
                        .note(format!("the table's actions: {}", actions.join(", ")));
                        self.error(d);
                    } else if let Some(a) = self.actions.get(&label.name) {
                        self.p.references.push((label.span, a.span));
                    }
                }
            }
            if let Some(body) = &case.body {
                self.check_block(body);
            }
        }
    }
}
