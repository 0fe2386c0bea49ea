//! Control and deparser lowering: locals (variables, extern instances, actions, tables),
//! statements, inlined actions, and the final decision turned into the hook's return code.
//!
//! Takes: control and deparser declarations, after the parser.
//! Gives: their IR, the maps of their instances and tables, and the function's return.

use super::{decision, Gen, Scalar};
use inkwell::values::IntValue;
use inkwell::IntPredicate;
use iov_manifest::Hook;
use iov_sema::types::Ty;
use iov_syntax::ast::{self, Direction, ExprKind, Stmt};
use std::collections::HashMap;

impl<'a, 'ctx> Gen<'a, 'ctx> {
    pub fn lower_control(&mut self, c: &ast::ControlDecl) {
        self.block_params(&c.params);
        self.control = c.name.name.clone();
        self.actions.clear();
        self.scopes.push(HashMap::new());
        for local in &c.locals {
            self.lower_local(local);
        }
        let end = self.block(&format!("{}_end", c.name.name));
        self.exit_bb = Some(end);
        self.return_bb = Some(end);
        self.block_stmts(&c.apply.stmts);
        self.goto(end);
        self.bpf.b.position_at_end(end);
        self.scopes.pop();
    }

    pub fn lower_local(&mut self, local: &ast::Local) {
        match local {
            ast::Local::Var(v) => self.declare_var(v),
            ast::Local::Const(c) => self.declare_const(c),
            ast::Local::Instance(inst) => self.instance(inst),
            ast::Local::Action(a) => {
                self.actions.insert(a.name.name.clone(), a.clone());
            }
            ast::Local::Table(t) => self.declare_table(t),
            ast::Local::Error(_) => {}
        }
    }

    /// A local constant: a slot holding its value, so reads work like any variable's.
    fn declare_const(&mut self, c: &ast::ConstDecl) {
        let v = self.expr(&c.value);
        let bits = v.get_type().get_bit_width();
        let slot = self.alloca(bits, &c.name.name);
        self.bpf.b.build_store(slot, v).expect("store");
        self.scopes
            .last_mut()
            .expect("scope")
            .insert(c.name.name.clone(), Scalar { slot, bits });
    }

    fn declare_var(&mut self, v: &ast::VarDecl) {
        let ty = self.p.expr_types.get(&v.name.span).cloned();
        if let Some(id) = self.var_struct(v) {
            self.declare_struct_var(v, id);
            return;
        }
        let bits = match ty {
            Some(t) => crate::layout::bits_of(self.p, &t),
            None => self.var_bits(v),
        };
        let slot = self.alloca(bits, &v.name.name);
        if let Some(init) = &v.init {
            self.bpf.at(v.span.start);
            let val = self.expr(init);
            let val = self.fit(val, bits);
            self.bpf.b.build_store(slot, val).expect("store");
        }
        self.scopes
            .last_mut()
            .expect("scope")
            .insert(v.name.name.clone(), Scalar { slot, bits });
    }

    /// The width of a declared variable, from its written type.
    fn var_bits(&mut self, v: &ast::VarDecl) -> u32 {
        match &v.ty {
            ast::TypeRef::Bit(w, _) | ast::TypeRef::Int(w, _) => match &w.kind {
                ExprKind::Int(l) => l.value as u32,
                // A constant expression the checker evaluated (`bit<W>`, `bit<(W + 1)>`).
                _ => u32::try_from(self.const_of(w)).unwrap_or(32).clamp(1, 128),
            },
            ast::TypeRef::Bool(_) => 1,
            ast::TypeRef::ErrorType(_) => 32,
            // An enum variable (`MeterColor c = m.execute(i);`): as wide as its values.
            ast::TypeRef::Named(n, args, _)
                if args.is_empty() && self.p.enums.iter().any(|e| e.name == n.name) =>
            {
                let e = self
                    .p
                    .enums
                    .iter()
                    .position(|e| e.name == n.name)
                    .expect("found");
                crate::layout::bits_of(self.p, &iov_sema::types::Ty::Enum(e))
            }
            other => {
                self.unsupported(other.span(), "a variable of this type");
                32
            }
        }
    }

    /// Truncates or zero-extends `v` to `bits`.
    pub fn fit(&self, v: IntValue<'ctx>, bits: u32) -> IntValue<'ctx> {
        let have = v.get_type().get_bit_width();
        let t = self.bpf.i(bits);
        match have.cmp(&bits) {
            std::cmp::Ordering::Equal => v,
            std::cmp::Ordering::Less => self.bpf.b.build_int_z_extend(v, t, "zx").expect("zext"),
            std::cmp::Ordering::Greater => {
                self.bpf.b.build_int_truncate(v, t, "tr").expect("trunc")
            }
        }
    }

    pub fn block_stmts(&mut self, stmts: &[Stmt]) {
        self.scopes.push(HashMap::new());
        for s in stmts {
            // Code after `return`/`exit` is unreachable; give it a block of its own.
            if self
                .bpf
                .b
                .get_insert_block()
                .and_then(|b| b.get_terminator())
                .is_some()
            {
                let dead = self.block("dead");
                self.bpf.b.position_at_end(dead);
            }
            self.stmt(s);
        }
        self.scopes.pop();
    }

    pub fn stmt(&mut self, s: &Stmt) {
        self.bpf.at(s.span().start);
        match s {
            Stmt::Var(v) => self.declare_var(v),
            Stmt::Const(c) => self.declare_const(c),
            Stmt::Error(_) => {}
            Stmt::Assign(lhs, rhs, _)
                if matches!(self.ty(lhs), iov_sema::types::Ty::Struct(s)
                    if self.p.structs[s].kind == ast::StructKind::Header) =>
            {
                self.assign_header(lhs, rhs);
            }
            Stmt::Assign(lhs, rhs, _) if self.plain_struct(&self.ty(lhs)).is_some() => {
                let id = self.plain_struct(&self.ty(lhs)).expect("matched");
                self.assign_struct(lhs, rhs, id);
            }
            Stmt::Assign(lhs, rhs, _) => {
                let v = self.expr(rhs);
                self.store(lhs, v);
            }
            Stmt::Call(e) => {
                self.call(e);
            }
            Stmt::If(c, t, e, _) => {
                let cond = self.expr(c);
                let then_bb = self.block("then");
                let else_bb = self.block("else");
                let join = self.block("endif");
                self.bpf
                    .b
                    .build_conditional_branch(cond, then_bb, else_bb)
                    .expect("br");
                self.bpf.b.position_at_end(then_bb);
                self.block_stmts(&t.stmts);
                self.goto(join);
                self.bpf.b.position_at_end(else_bb);
                if let Some(e) = e {
                    self.block_stmts(&e.stmts);
                }
                self.goto(join);
                self.bpf.b.position_at_end(join);
            }
            Stmt::Switch(subject, cases, _) => self.switch(subject, cases),
            Stmt::Return(_) => {
                if let Some(bb) = self.return_bb {
                    self.goto(bb);
                }
            }
            Stmt::Exit(_) => {
                if let Some(bb) = self.exit_bb {
                    self.goto(bb);
                }
            }
            Stmt::Block(b) => self.block_stmts(&b.stmts),
        }
    }

    fn switch(&mut self, subject: &ast::Expr, cases: &[ast::SwitchCase]) {
        // The subject is `t.apply().action_run`: apply, then branch on the action id.
        let id = self.expr(subject);
        let table = match self.ty(subject) {
            iov_sema::types::Ty::ActionRun(t) => t,
            _ => return,
        };
        let join = self.block("endswitch");
        let default_bb = self.block("switch_default");
        let mut arms = Vec::new();
        let mut pending: Vec<u32> = Vec::new();
        for case in cases {
            match &case.label {
                Some(l) => {
                    let aid = self
                        .tables
                        .get(&table)
                        .and_then(|t| t.action_id(&l.name))
                        .unwrap_or(0);
                    pending.push(aid);
                    if let Some(body) = &case.body {
                        let bb = self.block(&format!("case_{}", l.name));
                        for aid in pending.drain(..) {
                            arms.push((self.bpf.c(32, u128::from(aid)), bb));
                        }
                        let here = self.bpf.b.get_insert_block().expect("block");
                        self.bpf.b.position_at_end(bb);
                        self.block_stmts(&body.stmts);
                        self.goto(join);
                        self.bpf.b.position_at_end(here);
                    }
                }
                None => {
                    let here = self.bpf.b.get_insert_block().expect("block");
                    self.bpf.b.position_at_end(default_bb);
                    if let Some(body) = &case.body {
                        self.block_stmts(&body.stmts);
                    }
                    self.goto(join);
                    self.bpf.b.position_at_end(here);
                }
            }
        }
        let id = self.fit(id, 32);
        self.bpf
            .b
            .build_switch(id, default_bb, &arms)
            .expect("switch");
        if default_bb.get_terminator().is_none() {
            self.bpf.b.position_at_end(default_bb);
            self.goto(join);
        }
        self.bpf.b.position_at_end(join);
    }

    /// Action `name` run by a table: `bound` (from the table's `actions` list) gives its
    /// directional parameters, as a direct call's arguments would, and `args` (from the
    /// entry) the rest, in order.
    pub fn inline_table_action(
        &mut self,
        name: &str,
        args: Vec<IntValue<'ctx>>,
        bound: &[ast::Expr],
        span: iov_diagnostics::Span,
    ) {
        let mut vals = self.argument_values(bound);
        vals.extend(args.into_iter().map(Some));
        self.inline_action_with(name, vals, bound, span);
    }

    /// The values of arguments bound to directional parameters; `None` for a header, which
    /// is passed by reference.
    fn argument_values(&mut self, args: &[ast::Expr]) -> Vec<Option<IntValue<'ctx>>> {
        args.iter()
            .map(|a| match self.ty(a) {
                Ty::Struct(s) if self.p.structs[s].kind == ast::StructKind::Header => None,
                _ => Some(self.expr(a)),
            })
            .collect()
    }

    /// `name(args)` called from a control or another action: `in` and directionless
    /// arguments are values; `out` and `inout` arguments are written back when the action
    /// ends (copy-in, copy-out, as P4 defines); a header argument is passed by reference.
    pub fn call_action(&mut self, name: &str, args: &[ast::Expr], span: iov_diagnostics::Span) {
        let vals = self.argument_values(args);
        self.inline_action_with(name, vals, args, span);
    }

    fn inline_action_with(
        &mut self,
        name: &str,
        vals: Vec<Option<IntValue<'ctx>>>,
        refs: &[ast::Expr],
        span: iov_diagnostics::Span,
    ) {
        let Some(a) = self
            .actions
            .get(name)
            .cloned()
            .or_else(|| self.top_level_action(name))
        else {
            self.unsupported(span, "calling this action");
            return;
        };
        let end = self.block(&format!("{name}_done"));
        let saved_return = self.return_bb.replace(end);
        let mut scope = HashMap::new();
        let mut aliases = Vec::new();
        let mut copy_out = Vec::new();
        for (i, (p, v)) in a.params.iter().zip(vals).enumerate() {
            let by_ref = matches!(p.direction, Some(Direction::Out) | Some(Direction::InOut));
            let Some(v) = v else {
                // A header: the parameter names the argument's header.
                match refs.get(i).and_then(|r| self.path_of(r)) {
                    Some(path) => aliases.push((p.name.name.clone(), path)),
                    None => self.unsupported(
                        refs.get(i).map_or(p.span, |r| r.span),
                        "passing this header",
                    ),
                }
                continue;
            };
            let bits = v.get_type().get_bit_width();
            let slot = self.alloca(bits, &p.name.name);
            self.bpf.b.build_store(slot, v).expect("store");
            scope.insert(p.name.name.clone(), Scalar { slot, bits });
            if by_ref {
                match refs.get(i) {
                    Some(r) => copy_out.push((r.clone(), slot, bits)),
                    None => self.unsupported(
                        p.span,
                        "an `out` or `inout` parameter with no argument bound",
                    ),
                }
            }
        }
        let saved_aliases = self.aliases.clone();
        for (name, path) in aliases {
            self.aliases.insert(name, path);
        }
        self.scopes.push(scope);
        self.block_stmts(&a.body.stmts);
        self.scopes.pop();
        self.goto(end);
        self.bpf.b.position_at_end(end);
        self.aliases = saved_aliases;
        for (r, slot, bits) in copy_out {
            let v = self
                .bpf
                .b
                .build_load(self.bpf.i(bits), slot, "out")
                .expect("load")
                .into_int_value();
            self.store(&r, v);
        }
        self.return_bb = saved_return;
    }

    pub fn top_level_action(&self, name: &str) -> Option<ast::ActionDecl> {
        self.p
            .modules
            .iter()
            .flat_map(|m| m.ast.items.iter())
            .find_map(|i| match i {
                ast::Item::Action(a) if a.name.name == name => Some(a.clone()),
                _ => None,
            })
    }

    /// Turns the decision into the hook's return code (and, in test builds, records it).
    /// The decision the packet gets, as the hook will act on it, and the parser's error:
    /// a packet the parser rejected is dropped, no decision means pass.
    pub fn final_decision(&self) -> (IntValue<'ctx>, IntValue<'ctx>) {
        let b = &self.bpf.b;
        let i32t = self.bpf.ctx.i32_type();
        let d = b
            .build_load(i32t, self.decision, "decision")
            .expect("load")
            .into_int_value();
        let err = b
            .build_load(i32t, self.parser_error, "err")
            .expect("load")
            .into_int_value();
        // A packet the parser rejected is dropped, whatever the control decided (it ran so
        // it could count the packet); otherwise no decision means pass.
        let none = b
            .build_int_compare(
                IntPredicate::EQ,
                d,
                i32t.const_int(decision::NONE, false),
                "none",
            )
            .expect("cmp");
        let rejected = b
            .build_int_compare(IntPredicate::NE, err, i32t.const_zero(), "rej")
            .expect("cmp");
        let decided = b
            .build_select(
                none,
                i32t.const_int(u64::from(decision::PASS), false),
                d,
                "decided",
            )
            .expect("select")
            .into_int_value();
        let d = b
            .build_select(
                rejected,
                i32t.const_int(u64::from(decision::DROP), false),
                decided,
                "final",
            )
            .expect("select")
            .into_int_value();
        (d, err)
    }

    pub fn finish_decision(&mut self, test_build: bool) {
        let (d, err) = self.final_decision();
        let b = &self.bpf.b;
        let i32t = self.bpf.ctx.i32_type();
        let port = b
            .build_load(i32t, self.port, "port")
            .expect("load")
            .into_int_value();
        let cloned = self.make_clone(err);
        if test_build {
            let map = self.bpf.map(
                "iov_verdict",
                crate::bpf::map_type::ARRAY,
                4,
                iov_manifest::verdict::SIZE as u32,
                1,
                0,
            );
            let key = self.zero_key();
            let v = self.bpf.lookup(map, key);
            let has = self.bpf.b.build_is_not_null(v, "has").expect("cmp");
            let rec = self.block("record");
            let after = self.block("recorded");
            self.bpf
                .b
                .build_conditional_branch(has, rec, after)
                .expect("br");
            self.bpf.b.position_at_end(rec);
            self.bpf.b.build_store(v, d).expect("store");
            let p4 = self.bpf.byte_ptr(v, self.bpf.c(64, 4));
            self.bpf.b.build_store(p4, port).expect("store");
            let p8 = self.bpf.byte_ptr(v, self.bpf.c(64, 8));
            self.bpf.b.build_store(p8, err).expect("store");
            let p12 = self.bpf.byte_ptr(v, self.bpf.c(64, 12));
            self.bpf.b.build_store(p12, cloned).expect("store");
            self.goto(after);
            self.bpf.b.position_at_end(after);
        }
        let (pass, drop, tx) = match self.hook {
            Hook::Xdp => (2u64, 1u64, 3u64),
            // TC_ACT_OK, TC_ACT_SHOT; reflecting in TC redirects to the ingress interface.
            Hook::TcIngress | Hook::TcEgress => (0, 2, u64::MAX),
        };
        let bb_pass = self.block("ret_pass");
        let bb_drop = self.block("ret_drop");
        let bb_redirect = self.block("ret_redirect");
        let bb_reflect = self.block("ret_reflect");
        let mut arms = vec![
            (i32t.const_int(u64::from(decision::DROP), false), bb_drop),
            (
                i32t.const_int(u64::from(decision::REDIRECT), false),
                bb_redirect,
            ),
            (
                i32t.const_int(u64::from(decision::REFLECT), false),
                bb_reflect,
            ),
        ];
        if self.maps.contains_key(super::chain::CLASSES_MAP) {
            let bb = self.block("ret_class");
            arms.push((i32t.const_int(u64::from(decision::CLASS), false), bb));
            let here = self.bpf.b.get_insert_block().expect("a block");
            self.bpf.b.position_at_end(bb);
            self.hand_to_class(port);
            self.goto(bb_pass);
            self.bpf.b.position_at_end(here);
        }
        if !self.manifest.groups.is_empty() {
            let bb = self.block("ret_replicate");
            arms.push((i32t.const_int(u64::from(decision::MULTICAST), false), bb));
            arms.push((i32t.const_int(u64::from(decision::FLOOD), false), bb));
            let here = self.bpf.b.get_insert_block().expect("a block");
            self.bpf.b.position_at_end(bb);
            self.finish_replication(d, port);
            self.bpf.b.position_at_end(here);
        }
        self.bpf.b.build_switch(d, bb_pass, &arms).expect("switch");
        self.bpf.b.position_at_end(bb_pass);
        self.hand_on();
        self.bpf
            .b
            .build_return(Some(&i32t.const_int(pass, false)))
            .expect("ret");
        self.bpf.b.position_at_end(bb_drop);
        self.bpf
            .b
            .build_return(Some(&i32t.const_int(drop, false)))
            .expect("ret");
        self.bpf.b.position_at_end(bb_redirect);
        let r = self.redirect(port);
        self.bpf.b.build_return(Some(&r)).expect("ret");
        self.bpf.b.position_at_end(bb_reflect);
        if tx == u64::MAX {
            let ifindex = self.bpf.ctx_u32(self.ctx_ptr, 40);
            let r = self.redirect(ifindex);
            self.bpf.b.build_return(Some(&r)).expect("ret");
        } else {
            self.bpf
                .b
                .build_return(Some(&i32t.const_int(tx, false)))
                .expect("ret");
        }
    }

    /// `bpf_redirect(ifindex, 0)`, whose result is the hook's redirect code.
    pub(super) fn redirect(&self, ifindex: IntValue<'ctx>) -> IntValue<'ctx> {
        let i64t = self.bpf.ctx.i64_type();
        let idx = self
            .bpf
            .b
            .build_int_z_extend(ifindex, i64t, "idx")
            .expect("zext");
        let r = self
            .bpf
            .call_helper(
                crate::bpf::helper::REDIRECT,
                Some(i64t),
                &[idx.into(), i64t.const_zero().into()],
            )
            .expect("a result");
        self.bpf
            .b
            .build_int_truncate(r, self.bpf.ctx.i32_type(), "r")
            .expect("trunc")
    }
}
