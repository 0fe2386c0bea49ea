//! Symbols: what a name refers to, at top level and inside blocks.
//!
//! Takes: nothing; filled by `collect` (top level) and by `blocks`/`stmt` (locals).
//! Gives: [`Sym`] and [`Local`], and the lookup order: block locals, then the module's own
//! declarations and imports, then the prelude.

use crate::types::*;
use crate::ItemRef;
use iov_diagnostics::{Code, Diagnostic, Span};
use iov_syntax::ast::Direction;

#[derive(Clone, Debug)]
pub enum SymKind {
    Struct(StructId),
    Enum(EnumId),
    /// `typedef` and `type`: another name for a type.
    Typedef(TypedefId),
    Extern(ExternId),
    Fn(FnId),
    Const(usize),
    Parser(ItemRef),
    Control(ItemRef),
    Action(ItemRef),
}

impl SymKind {
    pub fn is_type(&self) -> bool {
        matches!(
            self,
            SymKind::Struct(_) | SymKind::Enum(_) | SymKind::Typedef(..) | SymKind::Extern(_)
        )
    }

    pub fn describe(&self) -> &'static str {
        match self {
            SymKind::Struct(_) | SymKind::Enum(_) | SymKind::Typedef(..) => "a type",
            SymKind::Extern(_) => "an extern type",
            SymKind::Fn(_) => "a function",
            SymKind::Const(_) => "a constant",
            SymKind::Parser(_) => "a parser",
            SymKind::Control(_) => "a control",
            SymKind::Action(_) => "an action",
        }
    }
}

#[derive(Clone, Debug)]
pub struct Sym {
    pub kind: SymKind,
    pub span: Span,
}

/// Why a local cannot be written, when it cannot.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Access {
    Writable,
    /// An `in` or directionless parameter, or a constant.
    ReadOnly(&'static str),
}

/// A name declared inside a block: parameter, variable, constant, instance, table, action.
#[derive(Clone, Debug)]
pub struct Local {
    pub ty: Ty,
    pub span: Span,
    pub access: Access,
    /// Compile-time value of a local constant.
    pub value: Option<crate::Value>,
}

impl Local {
    pub fn param(ty: Ty, span: Span, dir: Option<Direction>) -> Local {
        let access = match dir {
            Some(Direction::Out) | Some(Direction::InOut) => Access::Writable,
            Some(Direction::In) => Access::ReadOnly("an `in` parameter"),
            None => Access::ReadOnly("a parameter set by the control plane"),
        };
        Local {
            ty,
            span,
            access,
            value: None,
        }
    }
}

/// E0101 for a name declared again in the same scope.
pub fn redefined(name: &iov_syntax::ast::Ident, first: Span) -> Diagnostic {
    Diagnostic::new(
        Code::E0101,
        format!("`{}` is defined more than once", name.name),
        name.span,
    )
    .label("defined again here")
    .secondary(first, "first defined here")
}
