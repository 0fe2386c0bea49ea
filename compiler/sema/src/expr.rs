//! Expressions: names, members, calls, operators, casts and literals get their types.
//!
//! Takes: expressions inside the scopes set up by `blocks`/`stmt`.
//! Gives: the type of every expression (recorded in `Program::expr_types`), name uses in
//! `Program::references`, and the errors of P4's typing rules: no implicit width change
//! (E0201), literals that fit (E0202), explicit casts only (E0203), arithmetic up to 64 bits
//! (E0204), argument counts and directions (E0205, E0211, E0215), read-only data (E0207),
//! extract into headers only (E0208), and calls allowed only where they make sense (E0502).

use crate::collect::{Ctx, Cx};
use crate::consts::Value;
use crate::scope::{Access, Local, SymKind};
use crate::types::*;
use iov_diagnostics::{Code, Diagnostic, Span};
use iov_syntax::ast::{self, BinOp, Direction, Expr, ExprKind, StructKind, UnOp};

/// Where a value can be written, or why not.
pub(crate) enum Place {
    Writable,
    ReadOnly(Span, String),
    Nowhere,
}

fn fits(v: &Value, ty: &Ty) -> bool {
    match (v, ty) {
        (Value::Int(n), Ty::Bit(w)) => *w >= 128 || *n < (1u128 << w),
        (Value::Int(n), Ty::Int(w)) => *w >= 128 || *n < (1u128 << (w - 1)),
        (Value::Neg(n), Ty::Int(w)) => *w >= 128 || *n <= (1u128 << (w - 1)),
        (Value::Neg(_), Ty::Bit(_)) => false,
        _ => true,
    }
}

impl Cx {
    pub fn find_local(&self, name: &str) -> Option<&Local> {
        self.locals.iter().rev().find_map(|s| s.get(name))
    }

    /// Checks `e`, then requires its type to be `want` (a literal takes `want`'s width).
    pub fn check_expr_as(&mut self, e: &Expr, want: &Ty) -> Ty {
        let got = self.check_expr(e, Some(want));
        self.coerce(e, &got, want, Code::E0202);
        if got == Ty::InfInt {
            want.clone()
        } else {
            got
        }
    }

    /// Reports when a value of type `got` cannot be used where `want` is expected. A literal
    /// that does not fit is reported with `fit_code`.
    pub fn coerce(&mut self, e: &Expr, got: &Ty, want: &Ty, fit_code: Code) -> bool {
        if got == want || got.is_unknown() || want.is_unknown() {
            return true;
        }
        if *got == Ty::InfInt && matches!(want, Ty::Bit(_) | Ty::Int(_)) {
            self.settle(e, want, fit_code);
            return true;
        }
        let (g, w) = (self.ty_str(got), self.ty_str(want));
        let d = match (got, want) {
            (Ty::Bit(a) | Ty::Int(a), Ty::Bit(b) | Ty::Int(b)) if a != b => Diagnostic::new(
                Code::E0201,
                format!("expected `{w}`, found `{g}`: widths differ and nothing changes width implicitly"),
                e.span,
            )
            .label(format!("this is `{g}`"))
            .help(if a > b {
                format!("to keep the low bits, write `({w}) ...` or take a slice `...[{}:0]`", b - 1)
            } else {
                format!("to widen, write `({w}) ...`")
            }),
            (Ty::Bit(_), Ty::Int(_)) | (Ty::Int(_), Ty::Bit(_)) => Diagnostic::new(
                Code::E0200,
                format!("expected `{w}`, found `{g}`: signedness differs"),
                e.span,
            )
            .label(format!("this is `{g}`"))
            .help(format!("convert explicitly: `({w}) ...`")),
            _ => Diagnostic::new(
                Code::E0200,
                format!("expected `{w}`, found `{g}`"),
                e.span,
            )
            .label(format!("this is `{g}`")),
        };
        self.error(d);
        false
    }

    /// Gives an untyped literal expression the concrete type `ty` and checks that its value,
    /// computed exactly before it takes the type, fits.
    pub fn settle(&mut self, e: &Expr, ty: &Ty, fit_code: Code) {
        if self.p.expr_types.get(&e.span) != Some(&Ty::InfInt) {
            return;
        }
        let exact = self.eval(e);
        self.settle_types(e, ty);
        if let Some(v) = exact {
            if !fits(&v, ty) {
                let shown = match v {
                    Value::Int(n) => n.to_string(),
                    Value::Neg(n) => format!("-{n}"),
                    Value::Bool(b) => b.to_string(),
                };
                let t = self.ty_str(ty);
                let mut d = Diagnostic::new(
                    fit_code,
                    format!("value {shown} does not fit in `{t}`"),
                    e.span,
                )
                .label(format!("needs more than `{t}` holds"));
                if matches!(v, Value::Neg(_)) && matches!(ty, Ty::Bit(_)) {
                    d = d.help(format!(
                        "`{t}` is unsigned; write the bit pattern, e.g. `~0` for all ones"
                    ));
                }
                self.error(d);
            }
        }
    }

    /// Records `ty` for an untyped expression and its untyped operands.
    fn settle_types(&mut self, e: &Expr, ty: &Ty) {
        if self.p.expr_types.get(&e.span) != Some(&Ty::InfInt) {
            return;
        }
        self.p.expr_types.insert(e.span, ty.clone());
        match &e.kind {
            ExprKind::Binary(op, a, b) if !matches!(op, BinOp::Shl | BinOp::Shr) => {
                self.settle_types(a, ty);
                self.settle_types(b, ty);
            }
            ExprKind::Binary(_, a, _) | ExprKind::Unary(_, a) => self.settle_types(a, ty),
            ExprKind::Ternary(_, a, b) => {
                self.settle_types(a, ty);
                self.settle_types(b, ty);
            }
            _ => {}
        }
    }

    fn record(&mut self, e: &Expr, ty: Ty) -> Ty {
        self.p.expr_types.insert(e.span, ty.clone());
        ty
    }

    /// Checks an expression; `expected` only guides untyped literals.
    pub fn check_expr(&mut self, e: &Expr, expected: Option<&Ty>) -> Ty {
        let ty = self.check_expr_inner(e, expected);
        self.record(e, ty)
    }

    fn check_expr_inner(&mut self, e: &Expr, expected: Option<&Ty>) -> Ty {
        match &e.kind {
            ExprKind::Int(lit) => match lit.width {
                None => Ty::InfInt,
                Some((w, signed)) => {
                    if w == 0 || w > 128 {
                        let d = Diagnostic::new(
                            Code::E0210,
                            format!("width {w} is out of range: widths are 1 to 128 bits"),
                            e.span,
                        )
                        .label("invalid width");
                        self.error(d);
                        return Ty::Unknown;
                    }
                    let ty = if signed { Ty::Int(w) } else { Ty::Bit(w) };
                    if !fits(&Value::Int(lit.value), &ty) {
                        let t = self.ty_str(&ty);
                        let d = Diagnostic::new(
                            Code::E0202,
                            format!("value {} does not fit in `{t}`", lit.value),
                            e.span,
                        )
                        .label(format!("needs more than `{t}` holds"));
                        self.error(d);
                    }
                    ty
                }
            },
            ExprKind::Bool(_) => Ty::Bool,
            ExprKind::Ipv4(_) => Ty::Bit(32),
            ExprKind::Ipv6(_) => Ty::Bit(128),
            ExprKind::Mac(_) => Ty::Bit(48),
            ExprKind::Prefix(p) => {
                let d = Diagnostic::new(
                    Code::E0214,
                    "an address prefix can only be a select case or a table entry key",
                    e.span,
                )
                .label("prefix used as a value")
                .help("for the address alone, drop the `/length`");
                self.error(d);
                let _ = p;
                Ty::Unknown
            }
            ExprKind::ErrorMember(m) => {
                if !self.p.errors.contains(&m.name) {
                    let candidates: Vec<String> = self.p.errors.clone();
                    let d = Diagnostic::new(
                        Code::E0104,
                        format!("`error` has no member `{}`", m.name),
                        m.span,
                    )
                    .label("unknown error")
                    .suggest(&m.name, candidates.iter().map(|s| s.as_str()))
                    .help(format!("declare it: `error {{ {} }}`", m.name));
                    self.error(d);
                    return Ty::Unknown;
                }
                Ty::Error
            }
            ExprKind::Name(id) => self.check_name(id),
            ExprKind::Member(base, m) => {
                let bt = self.check_expr(base, None);
                self.member_type(&bt, m, base.span)
            }
            ExprKind::Index(base, idx) => {
                let bt = self.check_expr(base, None);
                let it = self.check_expr(idx, Some(&Ty::Bit(32)));
                match bt {
                    Ty::Stack(h, n) => {
                        if it == Ty::InfInt || matches!(it, Ty::Bit(_)) {
                            self.settle(idx, &Ty::Bit(32), Code::E0202);
                            if let Some(Value::Int(i)) = self.eval(idx) {
                                if i >= u128::from(n) {
                                    let d = Diagnostic::new(
                                        Code::E0213,
                                        format!("index {i} is out of range for a stack of {n}"),
                                        idx.span,
                                    )
                                    .label(format!("valid indexes are 0 to {}", n - 1));
                                    self.error(d);
                                }
                            }
                        } else if !it.is_unknown() {
                            let d = Diagnostic::new(
                                Code::E0200,
                                format!(
                                    "a stack index must be an unsigned integer, not `{}`",
                                    self.ty_str(&it)
                                ),
                                idx.span,
                            )
                            .label("not an index");
                            self.error(d);
                        }
                        Ty::Struct(h)
                    }
                    Ty::Unknown => Ty::Unknown,
                    other => {
                        let d = Diagnostic::new(
                            Code::E0212,
                            format!(
                                "`{}` cannot be indexed; only header stacks can",
                                self.ty_str(&other)
                            ),
                            base.span,
                        )
                        .label("not a header stack")
                        .help("to take bits, write a slice: `e[hi:lo]`");
                        self.error(d);
                        Ty::Unknown
                    }
                }
            }
            ExprKind::Slice(base, hi, lo) => {
                let bt = self.check_expr(base, None);
                let h = self.const_int(hi);
                let l = self.const_int(lo);
                let w = match bt {
                    Ty::Bit(w) | Ty::Int(w) => w,
                    Ty::Unknown => return Ty::Unknown,
                    other => {
                        let d = Diagnostic::new(
                            Code::E0212,
                            format!("cannot take bits of `{}`", self.ty_str(&other)),
                            base.span,
                        )
                        .label("not a bit string");
                        self.error(d);
                        return Ty::Unknown;
                    }
                };
                let (Some(h), Some(l)) = (h, l) else {
                    return Ty::Unknown;
                };
                if h < l || h >= u128::from(w) {
                    let d = Diagnostic::new(
                        Code::E0213,
                        format!("slice [{h}:{l}] is outside `bit<{w}>`"),
                        e.span,
                    )
                    .label(format!(
                        "bits run from {} down to 0, high index first",
                        w - 1
                    ));
                    self.error(d);
                    return Ty::Unknown;
                }
                Ty::Bit((h - l + 1) as u32)
            }
            ExprKind::Call {
                callee,
                type_args,
                args,
            } => self.check_call(e, callee, type_args, args),
            ExprKind::Unary(op, inner) => {
                let t = self.check_expr(inner, expected);
                match (op, &t) {
                    (_, Ty::Unknown) => Ty::Unknown,
                    (UnOp::Not, Ty::Bool) => Ty::Bool,
                    (UnOp::BitNot, Ty::Bit(_) | Ty::Int(_)) => t,
                    (UnOp::Neg, Ty::Bit(w) | Ty::Int(w)) if *w <= 64 => t,
                    (UnOp::Neg, Ty::InfInt) => Ty::InfInt,
                    (UnOp::BitNot, Ty::InfInt) => match expected {
                        Some(x @ (Ty::Bit(_) | Ty::Int(_))) => {
                            self.settle(inner, x, Code::E0202);
                            x.clone()
                        }
                        _ => {
                            let d = Diagnostic::new(
                                Code::E0212,
                                "`~` needs a width: the literal has none here",
                                e.span,
                            )
                            .label("width unknown")
                            .help("give the literal a width, e.g. `~8w0`");
                            self.error(d);
                            Ty::Unknown
                        }
                    },
                    (UnOp::Neg, Ty::Bit(w) | Ty::Int(w)) => self.too_wide(e, *w, "-"),
                    _ => {
                        let sym = match op {
                            UnOp::Not => "!",
                            UnOp::BitNot => "~",
                            UnOp::Neg => "-",
                        };
                        let d = Diagnostic::new(
                            Code::E0212,
                            format!("`{sym}` is not defined for `{}`", self.ty_str(&t)),
                            e.span,
                        )
                        .label(format!("operand is `{}`", self.ty_str(&t)));
                        self.error(d);
                        Ty::Unknown
                    }
                }
            }
            ExprKind::Binary(op, a, b) => self.check_binary(e, *op, a, b, expected),
            ExprKind::Ternary(c, a, b) => {
                self.check_cond(c);
                let ta = self.check_expr(a, expected);
                let tb = self.check_expr(b, expected);
                self.unify(a, ta, b, tb)
            }
            ExprKind::Cast(t, inner) => {
                let m = self.module;
                let target = self.resolve_type(m, t, &[]);
                let from = self.check_expr(inner, None);
                let ok = match (&from, &target) {
                    (Ty::Unknown, _) | (_, Ty::Unknown) => true,
                    (Ty::Bit(_) | Ty::Int(_) | Ty::InfInt, Ty::Bit(_) | Ty::Int(_)) => true,
                    (Ty::Bool, Ty::Bit(1)) | (Ty::Bit(1), Ty::Bool) | (Ty::Bool, Ty::Bool) => true,
                    (Ty::Enum(en), Ty::Bit(_) | Ty::Int(_)) => {
                        self.p.enums[*en].underlying.is_some()
                    }
                    (Ty::Distinct(d), _) => self.p.typedefs[*d].target == target,
                    _ => false,
                };
                if !ok {
                    let d = Diagnostic::new(
                        Code::E0203,
                        format!(
                            "cannot cast `{}` to `{}`",
                            self.ty_str(&from),
                            self.ty_str(&target)
                        ),
                        e.span,
                    )
                    .label("invalid cast")
                    .note("casts convert between bit strings and signed integers of any width, bool and bit<1>, and serializable enums to their underlying type");
                    self.error(d);
                    return Ty::Unknown;
                }
                if from == Ty::InfInt {
                    // An explicit cast of a literal keeps its low bits, as written.
                    self.p.expr_types.insert(inner.span, Ty::Bit(128));
                }
                target
            }
            ExprKind::Error => Ty::Unknown,
        }
    }

    fn too_wide(&mut self, e: &Expr, w: u32, op: &str) -> Ty {
        let d = Diagnostic::new(
            Code::E0204,
            format!("`{op}` on {w}-bit values: arithmetic is limited to 64 bits"),
            e.span,
        )
        .label(format!("{w}-bit operands"))
        .note("eBPF registers are 64 bits wide; wider values can be compared, assigned, masked and sliced")
        .help("work on a slice of at most 64 bits, e.g. `x[63:0]`");
        self.error(d);
        Ty::Unknown
    }

    /// Makes two operand types agree: a literal takes the other side's width.
    fn unify(&mut self, a: &Expr, ta: Ty, b: &Expr, tb: Ty) -> Ty {
        match (&ta, &tb) {
            (Ty::Unknown, _) | (_, Ty::Unknown) => Ty::Unknown,
            (Ty::InfInt, Ty::InfInt) => Ty::InfInt,
            (Ty::InfInt, Ty::Bit(_) | Ty::Int(_)) => {
                self.settle(a, &tb, Code::E0202);
                tb
            }
            (Ty::Bit(_) | Ty::Int(_), Ty::InfInt) => {
                self.settle(b, &ta, Code::E0202);
                ta
            }
            _ if ta == tb => ta,
            _ => {
                self.coerce(b, &tb, &ta, Code::E0202);
                Ty::Unknown
            }
        }
    }

    fn check_binary(
        &mut self,
        e: &Expr,
        op: BinOp,
        a: &Expr,
        b: &Expr,
        expected: Option<&Ty>,
    ) -> Ty {
        use BinOp::*;
        match op {
            And | Or => {
                self.check_cond(a);
                self.check_cond(b);
                Ty::Bool
            }
            Shl | Shr => {
                let ta = self.check_expr(a, expected);
                let tb = self.check_expr(b, None);
                if tb == Ty::InfInt {
                    self.settle(b, &Ty::Bit(32), Code::E0202);
                } else if !matches!(tb, Ty::Bit(_) | Ty::Unknown) {
                    let d = Diagnostic::new(
                        Code::E0212,
                        format!(
                            "a shift amount must be unsigned, not `{}`",
                            self.ty_str(&tb)
                        ),
                        b.span,
                    )
                    .label("invalid shift amount");
                    self.error(d);
                }
                match ta {
                    Ty::Bit(w) | Ty::Int(w) if w > 64 => self.too_wide(e, w, op.as_str()),
                    Ty::Bit(_) | Ty::Int(_) | Ty::InfInt | Ty::Unknown => ta,
                    other => self.bad_operands(e, op, &other),
                }
            }
            Concat => {
                let ta = self.check_expr(a, None);
                let tb = self.check_expr(b, None);
                match (&ta, &tb) {
                    (Ty::Unknown, _) | (_, Ty::Unknown) => Ty::Unknown,
                    (Ty::Bit(x) | Ty::Int(x), Ty::Bit(y) | Ty::Int(y)) => {
                        if x + y > 128 {
                            let d = Diagnostic::new(
                                Code::E0210,
                                format!(
                                    "concatenation is {} bits wide; at most 128 are allowed",
                                    x + y
                                ),
                                e.span,
                            )
                            .label("too wide");
                            self.error(d);
                            return Ty::Unknown;
                        }
                        if matches!(ta, Ty::Int(_)) {
                            Ty::Int(x + y)
                        } else {
                            Ty::Bit(x + y)
                        }
                    }
                    (Ty::InfInt, _) | (_, Ty::InfInt) => {
                        let lit = if ta == Ty::InfInt { a } else { b };
                        let d = Diagnostic::new(
                            Code::E0212,
                            "`++` needs operands of known width",
                            lit.span,
                        )
                        .label("this literal has no width")
                        .help("give it one, e.g. `8w5`");
                        self.error(d);
                        Ty::Unknown
                    }
                    (other, _) => self.bad_operands(e, op, &other.clone()),
                }
            }
            Eq | Ne => {
                let ta = self.check_expr(a, None);
                let tb = self.check_expr(b, None);
                let t = self.unify(a, ta, b, tb);
                match t {
                    Ty::Struct(_)
                    | Ty::Stack(..)
                    | Ty::Extern(..)
                    | Ty::Table(_)
                    | Ty::Callable(_) => {
                        self.bad_operands(e, op, &t);
                    }
                    _ => {}
                }
                Ty::Bool
            }
            Lt | Le | Gt | Ge => {
                let ta = self.check_expr(a, None);
                let tb = self.check_expr(b, None);
                let t = self.unify(a, ta, b, tb);
                if !matches!(t, Ty::Bit(_) | Ty::Int(_) | Ty::InfInt | Ty::Unknown) {
                    self.bad_operands(e, op, &t);
                }
                Ty::Bool
            }
            Add | Sub | Mul | Div | Rem | SatAdd | SatSub | BitAnd | BitOr | BitXor => {
                let ta = self.check_expr(a, expected);
                let tb = self.check_expr(b, expected);
                let t = self.unify(a, ta, b, tb);
                let arith = !matches!(op, BitAnd | BitOr | BitXor);
                match t {
                    Ty::Bit(w) | Ty::Int(w) if arith && w > 64 => self.too_wide(e, w, op.as_str()),
                    Ty::Int(_) if matches!(op, Div | Rem) => {
                        let d = Diagnostic::new(
                            Code::E0212,
                            format!("`{}` is only defined for unsigned values", op.as_str()),
                            e.span,
                        )
                        .label("signed operands");
                        self.error(d);
                        Ty::Unknown
                    }
                    Ty::Bit(_) | Ty::Int(_) | Ty::InfInt | Ty::Unknown => t,
                    other => self.bad_operands(e, op, &other),
                }
            }
        }
    }

    fn bad_operands(&mut self, e: &Expr, op: BinOp, t: &Ty) -> Ty {
        let d = Diagnostic::new(
            Code::E0212,
            format!("`{}` is not defined for `{}`", op.as_str(), self.ty_str(t)),
            e.span,
        )
        .label(format!("operands are `{}`", self.ty_str(t)));
        self.error(d);
        Ty::Unknown
    }

    /// Checks a condition: it must be `bool` (E0209).
    pub fn check_cond(&mut self, c: &Expr) {
        let t = self.check_expr(c, Some(&Ty::Bool));
        if !matches!(t, Ty::Bool | Ty::Unknown) {
            let mut d = Diagnostic::new(
                Code::E0209,
                format!("a condition must be `bool`, not `{}`", self.ty_str(&t)),
                c.span,
            )
            .label(format!("this is `{}`", self.ty_str(&t)));
            if matches!(t, Ty::Bit(_) | Ty::Int(_) | Ty::InfInt) {
                d = d.help("compare explicitly, e.g. `x != 0`");
            }
            self.error(d);
        }
    }

    fn check_name(&mut self, id: &ast::Ident) -> Ty {
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
            if let Some(net) = self.p.modules.iter().position(|m| m.name == "std.net") {
                if net != self.module && self.own[net].contains_key(&id.name) {
                    d = d.help(format!(
                        "`{0}` is in `std.net`: add `import std.net.{0};`",
                        id.name
                    ));
                }
            } else if id.name.starts_with("ETHERTYPE_")
                || id.name.starts_with("IPPROTO_")
                || id.name.starts_with("TCP_")
            {
                d = d.help(format!(
                    "`{0}` is in `std.net`: add `import std.net.{0};`",
                    id.name
                ));
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
            SymKind::Typedef(t, _) => Ty::TypeName(Box::new(self.p.typedefs[t].target.clone())),
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

    fn member_type(&mut self, base: &Ty, m: &ast::Ident, base_span: Span) -> Ty {
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
                def.methods.iter().find(|f| f.name == m.name).map(|f| {
                    let outer = targs.len() as u32;
                    let subst = |t: &Ty| substitute(t, targs, outer);
                    Ty::Callable(Box::new(Signature {
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
                    }))
                })
            }
            Ty::Table(t) => (m.name == "apply").then(|| {
                Self::method(
                    "apply",
                    vec![],
                    Ty::ApplyResult(t.clone()),
                    CallKind::TableApply(t.clone()),
                )
            }),
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
        let candidates = self.member_names(base);
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

    /// Names that can follow a `.` on a value of type `ty` (also used for completion).
    pub fn member_names(&self, ty: &Ty) -> Vec<String> {
        match ty {
            Ty::Struct(s) => {
                let def = &self.p.structs[*s];
                let mut v: Vec<String> = def.fields.iter().map(|f| f.name.clone()).collect();
                if def.kind == StructKind::Header {
                    v.extend(["isValid", "setValid", "setInvalid"].map(String::from));
                }
                v
            }
            Ty::Stack(..) => [
                "next",
                "last",
                "lastIndex",
                "size",
                "push_front",
                "pop_front",
            ]
            .map(String::from)
            .to_vec(),
            Ty::TypeName(t) => match &**t {
                Ty::Enum(en) => self.p.enums[*en]
                    .members
                    .iter()
                    .map(|m| m.0.clone())
                    .collect(),
                _ => vec![],
            },
            Ty::Extern(x, _) => self.p.externs[*x]
                .methods
                .iter()
                .map(|m| m.name.clone())
                .collect(),
            Ty::Table(_) => vec!["apply".into()],
            Ty::ApplyResult(_) => ["hit", "miss", "action_run"].map(String::from).to_vec(),
            _ => vec![],
        }
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
    pub fn require_writable(&mut self, e: &Expr, what: &str) {
        if self
            .p
            .expr_types
            .get(&e.span)
            .is_some_and(|t| t.is_unknown())
        {
            return;
        }
        match self.place(e) {
            Place::Writable => {}
            Place::ReadOnly(decl, why) => {
                let d = Diagnostic::new(Code::E0207, format!("cannot {what}: {why}"), e.span)
                    .label("read-only")
                    .secondary(decl, "declared here");
                self.error(d);
            }
            Place::Nowhere => {
                let d = Diagnostic::new(
                    Code::E0211,
                    format!("cannot {what}: this is not a variable, field or header"),
                    e.span,
                )
                .label("not assignable");
                self.error(d);
            }
        }
    }

    fn check_call(
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
            Ty::Callable(sig) => {
                self.check_call_context(e, &sig);
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

    /// Forwarding and parser-only calls in the wrong kind of block (E0502, E0501).
    fn check_call_context(&mut self, e: &Expr, sig: &Signature) {
        let in_parser = self.ctx == Ctx::Parser;
        let in_deparser = self.ctx == Ctx::Deparser;
        let problem = match (&sig.kind, sig.name.as_str()) {
            (CallKind::ExternFn, "drop" | "pass" | "send_to_port" | "reflect")
                if in_parser || in_deparser =>
            {
                Some("forwarding decisions are taken in a control block or its actions")
            }
            (CallKind::ExternFn, "verify") if !in_parser => {
                Some("`verify` is only allowed in a parser")
            }
            (CallKind::ExternMethod { .. }, _)
                if in_parser
                    && !matches!(
                        sig.name.as_str(),
                        "extract" | "lookahead" | "advance" | "length" | "read" | "write" | "add"
                    ) =>
            {
                Some("a parser can only use the packet and registers")
            }
            _ => None,
        };
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
        if let CallKind::TableApply(t) = &sig.kind {
            self.applies.push((t.clone(), e.span));
        }
        if let (CallKind::TableApply(t), Ctx::Action(a)) = (&sig.kind, &self.ctx) {
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
            let got = match &want {
                Some(w) => self.check_expr_as(a, w),
                None => self.check_expr(a, None),
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
                self.require_writable(a, &what);
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

/// Replaces the extern's type parameters (the first `outer`) by `args`; the method's own
/// parameters are renumbered from 0.
fn substitute(t: &Ty, args: &[Ty], outer: u32) -> Ty {
    match t {
        Ty::Param(i) if *i < outer => args[*i as usize].clone(),
        Ty::Param(i) => Ty::Param(i - outer),
        other => other.clone(),
    }
}

fn substitute_opt(t: &Ty, bound: &[Option<Ty>]) -> Option<Ty> {
    match t {
        Ty::Param(i) => bound.get(*i as usize).cloned().flatten(),
        other => Some(other.clone()),
    }
}
