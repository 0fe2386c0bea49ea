//! The types of checked programs and the declarations they refer to.
//!
//! Takes: nothing; built by `collect` (declarations) and read by every later pass.
//! Gives: [`Ty`], the declaration tables ([`StructDef`], [`EnumDef`], [`ExternDef`], ...)
//! and how types print in diagnostics (`bit<16>`, `ipv4_t`, `register<bit<64>>`).

use iov_diagnostics::Span;
use iov_syntax::ast::{Direction, StructKind};
use std::fmt;

pub type StructId = usize;
pub type EnumId = usize;
pub type ExternId = usize;
pub type FnId = usize;
pub type TypedefId = usize;

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Ty {
    Bit(u32),
    Int(u32),
    Bool,
    /// An integer literal without a width; it takes the width its use demands.
    InfInt,
    Error,
    Void,
    /// A `header` or `struct`.
    Struct(StructId),
    /// A header stack: element header and size.
    Stack(StructId, u32),
    Enum(EnumId),
    /// An extern instance type with its type arguments.
    Extern(ExternId, Vec<Ty>),
    /// The `n`th type parameter of the signature being instantiated.
    Param(u32),
    /// The name of a type used as a value (`CounterType` in `CounterType.packets`).
    TypeName(Box<Ty>),
    /// A table of the current control (by name).
    Table(String),
    /// What `t.apply()` returns: `.hit`, `.miss`, `.action_run`.
    ApplyResult(String),
    /// `t.apply().action_run`: only usable as a `switch` subject.
    ActionRun(String),
    /// An action (by name), callable.
    Action(String),
    /// A method or function, callable.
    Callable(Box<Signature>),
    /// An address prefix literal: only a keyset.
    Prefix(u32),
    /// A list expression `{a, b}`: the data of `hash`, nothing else.
    List(Vec<Ty>),
    /// Something already reported as wrong: accepted everywhere, so one mistake gives one error.
    Unknown,
}

/// A callable's parameters and result, with type parameters already substituted where known.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Signature {
    pub name: String,
    pub params: Vec<ParamDef>,
    pub ret: Ty,
    /// Number of type parameters still to infer from the arguments.
    pub type_params: u32,
    pub kind: CallKind,
}

/// What a call does, for the checks that depend on it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum CallKind {
    /// A function declared `extern` in the standard library or a program.
    ExternFn,
    /// A method of an extern (`count`, `read`, `extract`, `emit`, ...).
    ExternMethod { extern_name: String },
    /// `isValid`, `setValid`, `setInvalid`, `push_front`, `pop_front`.
    HeaderMethod,
    /// `t.apply()`.
    TableApply(String),
    /// `t.learn(keys..., action(args))`.
    TableLearn(String),
    /// A direct call of an action.
    Action(String),
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ParamDef {
    pub name: String,
    pub direction: Option<Direction>,
    pub ty: Ty,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub struct FieldDef {
    pub name: String,
    pub ty: Ty,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub struct StructDef {
    pub name: String,
    pub kind: StructKind,
    pub fields: Vec<FieldDef>,
    pub span: Span,
}

impl StructDef {
    pub fn field(&self, name: &str) -> Option<&FieldDef> {
        self.fields.iter().find(|f| f.name == name)
    }
}

#[derive(Clone, Debug)]
pub struct EnumDef {
    pub name: String,
    /// The underlying type of a serializable enum (`enum bit<8> E { ... }`).
    pub underlying: Option<Ty>,
    /// Members with their values (serializable enums) or their index.
    pub members: Vec<(String, u128, Span)>,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub struct ExternDef {
    pub name: String,
    pub type_params: Vec<String>,
    pub ctors: Vec<Vec<ParamDef>>,
    pub methods: Vec<FnDef>,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub struct FnDef {
    pub name: String,
    pub type_params: Vec<String>,
    pub params: Vec<ParamDef>,
    pub ret: Ty,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub struct TypedefDef {
    pub name: String,
    pub target: Ty,
    pub span: Span,
}

/// The tables the type printer needs.
pub struct TypeNames<'a> {
    pub structs: &'a [StructDef],
    pub enums: &'a [EnumDef],
    pub externs: &'a [ExternDef],
    pub typedefs: &'a [TypedefDef],
}

impl Ty {
    /// Width in bits of a bit string, signed integer or serializable value; `None` otherwise.
    pub fn width(&self) -> Option<u32> {
        match self {
            Ty::Bit(w) | Ty::Int(w) => Some(*w),
            Ty::Bool => Some(1),
            _ => None,
        }
    }

    pub fn is_unknown(&self) -> bool {
        matches!(self, Ty::Unknown)
    }

    pub fn is_numeric(&self) -> bool {
        matches!(self, Ty::Bit(_) | Ty::Int(_) | Ty::InfInt)
    }

    pub fn display<'a>(&'a self, names: &'a TypeNames<'a>) -> TyDisplay<'a> {
        TyDisplay { ty: self, names }
    }
}

pub struct TyDisplay<'a> {
    ty: &'a Ty,
    names: &'a TypeNames<'a>,
}

impl fmt::Display for TyDisplay<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.names;
        match self.ty {
            Ty::Bit(w) => write!(f, "bit<{w}>"),
            Ty::Int(w) => write!(f, "int<{w}>"),
            Ty::Bool => f.write_str("bool"),
            Ty::InfInt => f.write_str("integer literal"),
            Ty::Error => f.write_str("error"),
            Ty::Void => f.write_str("void"),
            Ty::Struct(id) => f.write_str(&n.structs[*id].name),
            Ty::Stack(id, size) => write!(f, "{}[{size}]", n.structs[*id].name),
            Ty::Enum(id) => f.write_str(&n.enums[*id].name),
            Ty::Extern(id, args) => {
                f.write_str(&n.externs[*id].name)?;
                if !args.is_empty() {
                    f.write_str("<")?;
                    for (i, a) in args.iter().enumerate() {
                        if i > 0 {
                            f.write_str(", ")?;
                        }
                        write!(f, "{}", a.display(n))?;
                    }
                    f.write_str(">")?;
                }
                Ok(())
            }
            Ty::Param(i) => write!(f, "T{i}"),
            Ty::TypeName(t) => write!(f, "{}", t.display(n)),
            Ty::Table(t) => write!(f, "table {t}"),
            Ty::ApplyResult(t) => write!(f, "result of {t}.apply()"),
            Ty::ActionRun(t) => write!(f, "{t}.apply().action_run"),
            Ty::Action(a) => write!(f, "action {a}"),
            Ty::Callable(s) => write!(f, "method {}", s.name),
            Ty::Prefix(bits) => write!(f, "address prefix of {bits} bits"),
            Ty::List(items) => {
                f.write_str("{")?;
                for (i, t) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{}", t.display(n))?;
                }
                f.write_str("}")
            }
            Ty::Unknown => f.write_str("{unknown}"),
        }
    }
}
