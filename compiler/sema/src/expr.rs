//! Expressions: literals, operators, casts, slices and indexes get their types (names and
//! members are in `names`, calls in `calls`).
//!
//! Takes: expressions inside the scopes set up by `blocks`/`stmt`.
//! Gives: the type of every expression (recorded in `Program::expr_types`) and the errors of
//! P4's typing rules: no implicit width change (E0201), literals that fit (E0202), explicit
//! casts only (E0203), arithmetic up to 64 bits (E0204), operators on types that have them
//! (E0212), slices and stack indexes in range (E0213), bool conditions (E0209).

use crate::collect::Cx;
use crate::consts::Value;
use crate::scope::Local;
use crate::types::*;
use iov_diagnostics::{Code, Diagnostic};
use iov_syntax::ast::{BinOp, Expr, ExprKind, UnOp};

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
        if let ExprKind::Ternary(_, a, b) = &e.kind {
            // Each branch must fit, whichever one a constant condition picks.
            self.p.expr_types.insert(e.span, ty.clone());
            self.settle(a, ty, fit_code);
            self.settle(b, ty, fit_code);
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
            ExprKind::List(items) => {
                for item in items {
                    self.check_expr(item, None);
                }
                let d = Diagnostic::new(
                    Code::E0214,
                    "a list `{...}` can only be the data of `hash` or `digest.pack`",
                    e.span,
                )
                .label("list used as a value")
                .help("to join bit strings into one value, use `++`");
                self.error(d);
                Ty::Unknown
            }
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
                if h < l {
                    let d = Diagnostic::new(
                        Code::E0213,
                        format!("slice [{h}:{l}] names its low bit first"),
                        e.span,
                    )
                    .label("high index first")
                    .help(format!("write `[{l}:{h}]`"));
                    self.error(d);
                    return Ty::Unknown;
                }
                if h >= u128::from(w) {
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
}
