//! Calls: functions, extern and header methods, table `apply` and direct action calls.
//!
//! Takes: a call expression whose callee has been resolved by `names`.
//! Gives: the call's result type, with type parameters inferred from the arguments; argument
//! counts (E0205), out/inout arguments that must be writable (E0207, E0211), `extract` only
//! into headers (E0208), `emit` only of headers (E0214), and calls only where they make sense:
//! forwarding in controls, `verify` in parsers (E0502), no table lookups in actions (E0501).

use crate::collect::{Ctx, Cx};
use crate::types::*;
use iov_diagnostics::{Code, Diagnostic, Span};
use iov_syntax::ast::{self, Direction, Expr, StructKind};

impl Cx {
    pub(crate) fn check_call(
        &mut self,
        e: &Expr,
        callee: &Expr,
        type_args: &[ast::TypeRef],
        args: &[Expr],
    ) -> Ty {
        let ct = self.check_expr(callee, None);
        match ct {
            Ty::Unknown => {
                for a in args {
                    self.check_expr(a, None);
                }
                Ty::Unknown
            }
            Ty::Action(name) => {
                self.check_action_call(e, &name, args);
                Ty::Void
            }
            Ty::Callable(sig)
                if sig.name == "add_entry" && matches!(sig.kind, CallKind::ExternFn) =>
            {
                self.check_add_entry(e, args)
            }
            Ty::Callable(sig) if matches!(sig.kind, CallKind::TableLearn(_)) => {
                let CallKind::TableLearn(t) = &sig.kind else {
                    unreachable!()
                };
                self.check_learn(e, t, args)
            }
            Ty::Callable(sig) => {
                // Methods overloaded by their number of parameters (`meter.execute`).
                let sig = self.overload(callee, &sig, args.len()).unwrap_or(*sig);
                let sig = Box::new(sig);
                self.check_call_context(e, &sig);
                self.note_direct_execute(e, callee, &sig);
                let m = self.module;
                let explicit: Vec<Ty> = type_args
                    .iter()
                    .map(|t| self.resolve_type(m, t, &[]))
                    .collect();
                self.check_args(e, &sig, explicit, args)
            }
            other => {
                let d = Diagnostic::new(
                    Code::E0206,
                    format!("`{}` cannot be called", self.ty_str(&other)),
                    callee.span,
                )
                .label("not a function, method or action");
                self.error(d);
                Ty::Unknown
            }
        }
    }

    /// The method of the same name as `sig` that takes `n` arguments, where `sig` does not.
    fn overload(&self, callee: &Expr, sig: &Signature, n: usize) -> Option<Signature> {
        if sig.params.len() == n || !matches!(sig.kind, CallKind::ExternMethod { .. }) {
            return None;
        }
        let ast::ExprKind::Member(obj, m) = &callee.kind else {
            return None;
        };
        let Some(Ty::Extern(x, targs)) = self.p.expr_types.get(&obj.span) else {
            return None;
        };
        let def = &self.p.externs[*x];
        let f = def
            .methods
            .iter()
            .find(|f| f.name == m.name && f.params.len() == n)?;
        Some(crate::names::method_signature(def, f, targs))
    }

    /// `t.learn(keys..., X(args))`: a value for each key of `t`, then an action `t` lists
    /// with its arguments; `t` written by the data plane (E0413 otherwise).
    fn check_learn(&mut self, e: &Expr, t: &str, args: &[Expr]) -> Ty {
        let Some(info) = self.tables.get(t).cloned() else {
            return Ty::Bool;
        };
        let help = "write a value for each key, in the table's order, then the action: `fdb.learn(hdr.eth.src, forward(meta.ingress_port))`";
        if !info.written {
            let d = Diagnostic::new(Code::E0413, format!("table `{t}` is not written by the data plane, so `learn` cannot add to it"), e.span)
                .label("learns into a table without an idle timeout")
                .help("give the table `idle_timeout = 300s;` (learned entries then age out) and exact keys only");
            self.error(d);
        }
        if args.len() != info.keys.len() + 1 {
            let d = Diagnostic::new(
                Code::E0413,
                format!(
                    "`{t}.learn` takes {} key value{} and an action, not {} arguments",
                    info.keys.len(),
                    if info.keys.len() == 1 { "" } else { "s" },
                    args.len()
                ),
                e.span,
            )
            .label("wrong number of arguments")
            .help(help);
            self.error(d);
            for a in args {
                self.check_expr(a, None);
            }
            return Ty::Bool;
        }
        for (a, ty) in args.iter().zip(&info.keys) {
            self.check_expr_as(a, ty);
        }
        let last = &args[args.len() - 1];
        let Some((name, inner)) = last
            .as_named_call()
            .filter(|(n, _)| info.actions.contains(&n.name))
        else {
            let d = Diagnostic::new(
                Code::E0413,
                format!(
                    "the last argument of `{t}.learn` is an action of `{t}` with its arguments"
                ),
                last.span,
            )
            .label("not an action of the table")
            .help(help);
            self.error(d);
            return Ty::Bool;
        };
        self.check_entry_action(name, inner, last.span, help);
        Ty::Bool
    }

    /// The action and arguments an entry the data plane writes gets (`add_entry`,
    /// `t.learn`): an action whose parameters all come from the entry, one argument each
    /// (E0413 at `at` otherwise, with `help`). False when `name` is no action.
    fn check_entry_action(
        &mut self,
        name: &ast::Ident,
        inner: &[Expr],
        at: Span,
        help: &str,
    ) -> bool {
        let Some(info) = self.action_info(&name.name) else {
            let d = Diagnostic::new(
                Code::E0413,
                format!("`{}` is not an action", name.name),
                name.span,
            )
            .label("no such action")
            .help(help);
            self.error(d);
            return false;
        };
        self.p.references.push((name.span, info.span));
        if info.params.iter().any(|p| p.direction.is_some()) || info.params.len() != inner.len() {
            let wanted: Vec<String> = info.params.iter().map(|p| p.name.clone()).collect();
            let d = Diagnostic::new(
                Code::E0413,
                format!(
                    "an added entry gives `{}` {} (its parameters without a direction: {}), not {}",
                    name.name,
                    if wanted.len() == 1 {
                        "one argument"
                    } else {
                        "its arguments"
                    },
                    if wanted.is_empty() {
                        "none".into()
                    } else {
                        wanted.join(", ")
                    },
                    inner.len()
                ),
                at,
            )
            .label("arguments do not match the action")
            .help(help);
            self.error(d);
        } else {
            for (a, p) in inner.iter().zip(&info.params) {
                self.check_expr_as(a, &p.ty);
            }
        }
        true
    }

    /// `add_entry(X(args))`: X an action whose parameters all come from the entry, called
    /// from an action (whose tables are checked to add on miss, E0413).
    fn check_add_entry(&mut self, e: &Expr, args: &[Expr]) -> Ty {
        let help = "write the action and its arguments as in `default_action`: `add_entry(established(port))`";
        let target = match args {
            [a] => a.as_named_call(),
            _ => None,
        };
        let Some((name, inner)) = target else {
            let d = Diagnostic::new(
                Code::E0413,
                "`add_entry` takes one action with its arguments",
                e.span,
            )
            .label("not an action call")
            .help(help);
            self.error(d);
            for a in args {
                self.check_expr(a, None);
            }
            return Ty::Bool;
        };
        if !self.check_entry_action(name, inner, e.span, help) {
            return Ty::Bool;
        }
        match self.action.clone() {
            Some(caller) => self.add_entries.push(crate::collect::AddEntry {
                caller,
                target: name.name.clone(),
                at: e.span,
            }),
            None => {
                let d = Diagnostic::new(Code::E0413, "`add_entry` is called outside an action", e.span)
                    .label("not in an action")
                    .note("an entry is added by an action of a table that adds on miss: the key is the one that table just looked up");
                self.error(d);
            }
        }
        Ty::Bool
    }

    /// Forwarding and parser-only calls in the wrong kind of block (E0502, E0501).
    fn check_call_context(&mut self, e: &Expr, sig: &Signature) {
        let in_parser = self.ctx == Ctx::Parser;
        let in_deparser = self.ctx == Ctx::Deparser;
        let problem = match (&sig.kind, sig.name.as_str()) {
            (
                CallKind::ExternFn,
                "drop" | "pass" | "pass_to_class" | "send_to_port" | "reflect" | "multicast"
                | "flood" | "clone",
            ) if in_parser || in_deparser => {
                Some("forwarding decisions are taken in a control block or its actions")
            }
            (CallKind::ExternFn, "verify") if !in_parser => {
                Some("`verify` is only allowed in a parser")
            }
            _ => None,
        };
        if matches!(sig.kind, CallKind::ExternFn) && sig.name == "clone" {
            self.clones.push(e.span);
        }
        if let Some(why) = problem {
            let d = Diagnostic::new(
                Code::E0502,
                format!("`{}` cannot be called here", sig.name),
                e.span,
            )
            .label("not allowed in this block")
            .note(why);
            self.error(d);
        }
        // An apply inside an action is E0501 already; it does not count as a second apply.
        if let (CallKind::TableApply(t), None) = (&sig.kind, &self.action) {
            self.applies.push((t.clone(), e.span));
        }
        if let (CallKind::TableApply(t), Some((a, _))) = (&sig.kind, &self.action) {
            let d = Diagnostic::new(
                Code::E0501,
                format!("table `{t}` is applied inside action `{a}`"),
                e.span,
            )
            .label("tables are applied from the `apply` block")
            .note("an action runs as the result of a table lookup; a lookup inside it would nest tables, which the language does not allow");
            self.error(d);
        }
    }

    /// Checks arguments against parameters, infers type parameters and returns the result type.
    pub(crate) fn check_args(
        &mut self,
        e: &Expr,
        sig: &Signature,
        explicit: Vec<Ty>,
        args: &[Expr],
    ) -> Ty {
        if args.len() != sig.params.len() {
            let d = Diagnostic::new(
                Code::E0205,
                format!(
                    "`{}` takes {} argument{}, but {} {} given",
                    sig.name,
                    sig.params.len(),
                    if sig.params.len() == 1 { "" } else { "s" },
                    args.len(),
                    if args.len() == 1 { "was" } else { "were" }
                ),
                e.span,
            )
            .label("wrong number of arguments")
            .note(format!(
                "expected: {}({})",
                sig.name,
                sig.params
                    .iter()
                    .map(|p| format!(
                        "{}{} {}",
                        p.direction
                            .map(|d| format!("{} ", d.as_str()))
                            .unwrap_or_default(),
                        self.ty_str(&p.ty),
                        p.name
                    ))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
            self.error(d);
            for a in args {
                self.check_expr(a, None);
            }
            return Ty::Unknown;
        }
        let mut bound: Vec<Option<Ty>> = vec![None; sig.type_params as usize];
        for (i, t) in explicit.into_iter().enumerate() {
            if i < bound.len() {
                bound[i] = Some(t);
            }
        }
        for (p, a) in sig.params.iter().zip(args) {
            let want = substitute_opt(&p.ty, &bound);
            let got = match (&want, &a.kind) {
                // A list is the data of `hash`, nothing else (checked as a value otherwise).
                (None, ast::ExprKind::List(items))
                    if sig.name == "hash" && matches!(sig.kind, CallKind::ExternFn) =>
                {
                    self.check_list(a, items)
                }
                // `digest<T>.pack({a, b})`: the list gives `T`'s fields in order.
                (Some(Ty::Struct(id)), ast::ExprKind::List(items))
                    if sig.name == "pack" && matches!(sig.kind, CallKind::ExternMethod { .. }) =>
                {
                    self.check_fields_list(a, items, *id)
                }
                (Some(w), _) => self.check_expr_as(a, w),
                (None, _) => self.check_expr(a, None),
            };
            if let Ty::Param(k) = p.ty {
                if let Some(slot) = bound.get_mut(k as usize) {
                    if slot.is_none() {
                        if got == Ty::InfInt {
                            let d = Diagnostic::new(
                                Code::E0212,
                                format!("cannot tell the width of this argument to `{}`", sig.name),
                                a.span,
                            )
                            .label("a literal has no width")
                            .help("give it one, e.g. `16w5`, or cast it");
                            self.error(d);
                        }
                        *slot = Some(got.clone());
                    }
                }
            }
            if matches!(p.direction, Some(Direction::Out) | Some(Direction::InOut)) {
                let what = format!(
                    "pass this as `{}` argument `{}`",
                    p.direction.map_or("", |d| d.as_str()),
                    p.name
                );
                let _ = self.require_writable(a, &what);
            }
            if sig.name == "extract" && matches!(sig.kind, CallKind::ExternMethod { .. }) {
                self.require_header(a, &got);
            }
            if sig.name == "emit"
                && matches!(sig.kind, CallKind::ExternMethod { .. })
                && !self.emittable(&got)
            {
                let d = Diagnostic::new(
                    Code::E0214,
                    format!("`emit` writes headers, but this is `{}`", self.ty_str(&got)),
                    a.span,
                )
                .label("not a header, header stack or struct of headers")
                .note("only headers have a wire layout and a validity bit to decide whether they are written");
                self.error(d);
            }
        }
        substitute_opt(&sig.ret, &bound).unwrap_or(Ty::Unknown)
    }

    /// The items of a list `{a, b}`: bit strings, booleans and headers, each of a known width.
    fn check_list(&mut self, list: &Expr, items: &[Expr]) -> Ty {
        let mut tys = Vec::new();
        for item in items {
            let t = self.check_expr(item, None);
            match &t {
                Ty::Bit(_) | Ty::Int(_) | Ty::Bool | Ty::Unknown => {}
                Ty::Struct(id) if self.p.structs[*id].kind == StructKind::Header => {}
                Ty::InfInt => {
                    let d = Diagnostic::new(
                        Code::E0212,
                        "cannot tell the width of this item of the list",
                        item.span,
                    )
                    .label("a literal has no width")
                    .help("give it one, e.g. `16w5`, or cast it");
                    self.error(d);
                }
                other => {
                    let d = Diagnostic::new(
                        Code::E0214,
                        format!(
                            "a list holds bit strings and headers, but this is `{}`",
                            self.ty_str(other)
                        ),
                        item.span,
                    )
                    .label("not a bit string or a header");
                    self.error(d);
                }
            }
            tys.push(t);
        }
        let _ = list;
        Ty::List(tys)
    }

    /// A list `{a, b}` given for a struct or header `id`: one item per field, each of its type.
    fn check_fields_list(&mut self, list: &Expr, items: &[Expr], id: StructId) -> Ty {
        let fields: Vec<FieldDef> = self.p.structs[id].fields.clone();
        if fields.len() != items.len() {
            let d = Diagnostic::new(
                Code::E0214,
                format!(
                    "`{}` has {} fields, but this list has {} items",
                    self.p.structs[id].name,
                    fields.len(),
                    items.len()
                ),
                list.span,
            )
            .label("one item per field, in order")
            .note(format!(
                "its fields: {}",
                fields
                    .iter()
                    .map(|f| f.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
            self.error(d);
            for item in items {
                self.check_expr(item, None);
            }
        } else {
            for (item, f) in items.iter().zip(&fields) {
                self.check_expr_as(item, &f.ty);
            }
        }
        Ty::Struct(id)
    }

    /// Headers, header stacks and structs made only of those can be emitted.
    fn emittable(&self, ty: &Ty) -> bool {
        match ty {
            Ty::Struct(s) => {
                let def = &self.p.structs[*s];
                def.kind == StructKind::Header || def.fields.iter().all(|f| self.emittable(&f.ty))
            }
            Ty::Stack(..) | Ty::Unknown => true,
            _ => false,
        }
    }

    fn require_header(&mut self, a: &Expr, got: &Ty) {
        let ok = match got {
            Ty::Struct(s) => self.p.structs[*s].kind == StructKind::Header,
            Ty::Unknown => true,
            _ => false,
        };
        if !ok {
            let mut d = Diagnostic::new(
                Code::E0208,
                format!(
                    "`extract` needs a header, but this is `{}`",
                    self.ty_str(got)
                ),
                a.span,
            )
            .label("not a header");
            d = match got {
                Ty::Stack(..) => d.help("extract into the stack's next element: `.next`"),
                Ty::Struct(_) => d.note(
                    "a struct has no validity bit and no wire layout; declare it with `header`",
                ),
                _ => d,
            };
            self.error(d);
        }
    }
}

fn substitute_opt(t: &Ty, bound: &[Option<Ty>]) -> Option<Ty> {
    match t {
        Ty::Param(i) => bound.get(*i as usize).cloned().flatten(),
        other => Some(other.clone()),
    }
}
