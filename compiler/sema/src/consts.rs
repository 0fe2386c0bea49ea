//! Compile-time evaluation: the values of constants, widths, sizes, select cases and entries.
//!
//! Takes: expressions already type-checked (their types are in `Program::expr_types`).
//! Gives: [`Value`]s, with arithmetic wrapped to the expression's width as at run time;
//! `None` for expressions that are not constant (reported as E0216 where a constant is required).

use crate::collect::Cx;
use crate::scope::SymKind;
use crate::types::Ty;
use iov_diagnostics::{Code, Diagnostic};
use iov_syntax::ast::{BinOp, Expr, ExprKind, UnOp};

/// A compile-time value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Value {
    /// A non-negative integer (also enum members, errors and addresses).
    Int(u128),
    /// A negative integer, by magnitude.
    Neg(u128),
    Bool(bool),
}

fn mask(w: u32) -> u128 {
    if w >= 128 {
        u128::MAX
    } else {
        (1u128 << w) - 1
    }
}

/// The two's-complement value of the low `w` bits of `v`.
fn sext(v: u128, w: u32) -> i128 {
    if w == 0 || w >= 128 {
        return v as i128;
    }
    let shift = 128 - w;
    ((v << shift) as i128) >> shift
}

impl Cx {
    fn width_of(&self, e: &Expr) -> Option<u32> {
        match self.p.expr_types.get(&e.span) {
            Some(Ty::Bit(w)) | Some(Ty::Int(w)) => Some(*w),
            _ => None,
        }
    }

    /// Reports (once, E0217) a constant without a width that needs more than 128 bits, and marks
    /// the evaluation poisoned so its users are not blamed again.
    fn overflow(&mut self, e: &Expr) -> Option<Value> {
        if self.overflowed.insert(e.span) {
            let d = Diagnostic::new(
                Code::E0217,
                "this constant needs more than 128 bits, the widest value iov computes".to_string(),
                e.span,
            )
            .label("too large for 128 bits")
            .note("integer literals and their arithmetic are exact, so no bits are dropped silently")
            .help("give an operand a width (`8w1 << n`) to compute at that width, wrapping as at run time");
            self.error(d);
        }
        self.poisoned = true;
        None
    }

    /// The value of `e`, if it is known at compile time. Reports nothing but constants too
    /// large for 128 bits.
    pub fn eval(&mut self, e: &Expr) -> Option<Value> {
        let v = match &e.kind {
            ExprKind::Int(lit) => Value::Int(match lit.width {
                Some((w, _)) => lit.value & mask(w),
                None => lit.value,
            }),
            ExprKind::Bool(b) => Value::Bool(*b),
            ExprKind::Ipv4(v) => Value::Int(u128::from(*v)),
            ExprKind::Ipv6(v) => Value::Int(*v),
            ExprKind::Mac(v) => Value::Int(u128::from(*v)),
            ExprKind::ErrorMember(m) => {
                Value::Int(self.p.errors.iter().position(|e| *e == m.name)? as u128)
            }
            ExprKind::Name(id) => {
                if let Some(local) = self.find_local(&id.name) {
                    return local.value.clone();
                }
                match self.lookup_global(self.module, &id.name)?.kind {
                    SymKind::Const(c) => {
                        let v = self.const_value(c);
                        // Its own error was reported already; do not blame this use.
                        self.poisoned |= v.is_none();
                        return v;
                    }
                    _ => return None,
                }
            }
            ExprKind::Member(base, m) => {
                let Some(Ty::TypeName(t)) = self.p.expr_types.get(&base.span).cloned() else {
                    return None;
                };
                let Ty::Enum(en) = *t else { return None };
                let (_, v, _) = self.p.enums[en].members.iter().find(|x| x.0 == m.name)?;
                Value::Int(*v)
            }
            ExprKind::Unary(op, inner) => {
                let v = self.eval(inner)?;
                match (op, v) {
                    (UnOp::Not, Value::Bool(b)) => Value::Bool(!b),
                    (UnOp::Neg, Value::Int(0)) => Value::Int(0),
                    (UnOp::Neg, Value::Int(n)) => match self.width_of(e) {
                        Some(w) => Value::Int(n.wrapping_neg() & mask(w)),
                        None => Value::Neg(n),
                    },
                    (UnOp::Neg, Value::Neg(n)) => Value::Int(n),
                    (UnOp::BitNot, Value::Int(n)) => Value::Int(!n & mask(self.width_of(e)?)),
                    _ => return None,
                }
            }
            ExprKind::Cast(_, inner) => {
                let v = self.eval(inner)?;
                match (self.p.expr_types.get(&e.span).cloned(), v) {
                    (Some(Ty::Bool), Value::Int(n)) => Value::Bool(n != 0),
                    (Some(Ty::Bit(w) | Ty::Int(w)), Value::Int(n)) => {
                        // A signed source keeps its sign when widened.
                        match self.p.expr_types.get(&inner.span) {
                            Some(Ty::Int(ws)) => Value::Int(sext(n, *ws) as u128 & mask(w)),
                            _ => Value::Int(n & mask(w)),
                        }
                    }
                    (Some(Ty::Bit(w) | Ty::Int(w)), Value::Neg(n)) => {
                        Value::Int(n.wrapping_neg() & mask(w))
                    }
                    (Some(Ty::Bit(w)), Value::Bool(b)) => Value::Int(u128::from(b) & mask(w)),
                    _ => return None,
                }
            }
            ExprKind::Slice(base, hi, lo) => {
                let (Value::Int(v), Value::Int(h), Value::Int(l)) =
                    (self.eval(base)?, self.eval(hi)?, self.eval(lo)?)
                else {
                    return None;
                };
                if h < l || h >= 128 {
                    return None;
                }
                Value::Int((v >> l) & mask((h - l + 1) as u32))
            }
            ExprKind::Ternary(c, a, b) => match self.eval(c)? {
                Value::Bool(true) => return self.eval(a),
                Value::Bool(false) => return self.eval(b),
                _ => return None,
            },
            ExprKind::Binary(op, a, b) => {
                let (x, y) = (self.eval(a)?, self.eval(b)?);
                let w = self.width_of(e);
                let wrap = |n: u128| w.map_or(n, |w| n & mask(w));
                match (x, y) {
                    (Value::Bool(x), Value::Bool(y)) => Value::Bool(match op {
                        BinOp::And => x && y,
                        BinOp::Or => x || y,
                        BinOp::Eq => x == y,
                        BinOp::Ne => x != y,
                        _ => return None,
                    }),
                    (Value::Int(x), Value::Int(y)) => match op {
                        // A width wraps as at run time; without one (integer literals
                        // and their arithmetic), the value must fit in 128 bits.
                        BinOp::Add if w.is_none() => match x.checked_add(y) {
                            Some(v) => Value::Int(v),
                            None => return self.overflow(e),
                        },
                        BinOp::Add => Value::Int(wrap(x.wrapping_add(y))),
                        BinOp::Sub if w.is_none() && y > x => Value::Neg(y - x),
                        BinOp::Sub => Value::Int(wrap(x.wrapping_sub(y))),
                        BinOp::Mul if w.is_none() => match x.checked_mul(y) {
                            Some(v) => Value::Int(v),
                            None => return self.overflow(e),
                        },
                        BinOp::Mul => Value::Int(wrap(x.wrapping_mul(y))),
                        BinOp::Div if y != 0 => Value::Int(x / y),
                        BinOp::Rem if y != 0 => Value::Int(x % y),
                        BinOp::SatAdd => {
                            Value::Int(x.saturating_add(y).min(w.map_or(u128::MAX, mask)))
                        }
                        BinOp::SatSub => Value::Int(x.saturating_sub(y)),
                        BinOp::Shl
                            if w.is_none()
                                && x != 0
                                && (y >= 128 || u128::from(x.leading_zeros()) < y) =>
                        {
                            return self.overflow(e)
                        }
                        BinOp::Shl => Value::Int(wrap(if y >= 128 { 0 } else { x << y })),
                        BinOp::Shr => Value::Int(if y >= 128 { 0 } else { x >> y }),
                        BinOp::BitAnd => Value::Int(x & y),
                        BinOp::BitOr => Value::Int(x | y),
                        BinOp::BitXor => Value::Int(x ^ y),
                        BinOp::Concat => {
                            let wb = self.width_of(b)?;
                            Value::Int((x << wb) | y)
                        }
                        BinOp::Eq => Value::Bool(x == y),
                        BinOp::Ne => Value::Bool(x != y),
                        BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge => {
                            // Signed operands compare as signed numbers.
                            let (x, y) = match self.p.expr_types.get(&a.span) {
                                Some(Ty::Int(w)) => (sext(x, *w), sext(y, *w)),
                                _ => (x as i128, y as i128),
                            };
                            Value::Bool(match op {
                                BinOp::Lt => x < y,
                                BinOp::Le => x <= y,
                                BinOp::Gt => x > y,
                                _ => x >= y,
                            })
                        }
                        _ => return None,
                    },
                    _ => return None,
                }
            }
            _ => return None,
        };
        Some(v)
    }

    /// Checks `e` and requires a non-negative compile-time integer (E0216 otherwise).
    pub fn const_int(&mut self, e: &Expr) -> Option<u128> {
        let ty = self.check_expr(e, None);
        match self.required_value(e, &ty) {
            Some(Value::Int(v)) => Some(v),
            Some(Value::Bool(b)) => Some(u128::from(b)),
            Some(Value::Neg(_)) => {
                let d =
                    Diagnostic::new(Code::E0202, "a negative value is not allowed here", e.span)
                        .label("must be zero or more");
                self.error(d);
                None
            }
            None => None,
        }
    }

    /// The value of a checked expression of type `ty` that must be constant; reports E0216
    /// unless the expression is already wrong or uses a constant that is.
    pub fn required_value(&mut self, e: &Expr, ty: &Ty) -> Option<Value> {
        if ty.is_unknown() {
            return None;
        }
        self.poisoned = false;
        let v = self.eval(e);
        match &v {
            Some(v) => {
                self.p.const_values.insert(e.span, v.clone());
            }
            None if !self.poisoned => self.not_constant(e),
            None => {}
        }
        v
    }

    fn not_constant(&mut self, e: &Expr) {
        let d = Diagnostic::new(
            Code::E0216,
            "this value must be known at compile time",
            e.span,
        )
        .label("not a constant")
        .note("use a literal, a `const`, an enum member or an expression of those");
        self.error(d);
    }

    /// Checks `e` against `ty` and returns its constant integer value.
    pub fn const_expr_of_type(&mut self, e: &Expr, ty: &Ty) -> Option<u128> {
        let got = self.check_expr_as(e, ty);
        match self.required_value(e, &got)? {
            Value::Int(v) => Some(v),
            Value::Bool(b) => Some(u128::from(b)),
            Value::Neg(_) => None,
        }
    }
}
