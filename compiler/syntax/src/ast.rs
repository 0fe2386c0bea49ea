//! The untyped syntax tree of one `.iov` file.
//!
//! Takes: built by the parser (grammar.lalrpop).
//! Gives: plain data with a byte [`Span`] on every node, consumed by name resolution and type
//! checking (iov-sema), the formatter and the language server. Parts that failed to parse are
//! kept as `Error` nodes so the rest of the file is still seen.

pub use iov_diagnostics::Span;

use crate::lexer::{IntLit, PrefixLit};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ident {
    pub name: String,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub struct File {
    pub items: Vec<Item>,
}

#[derive(Clone, Debug)]
pub enum Item {
    Import(Import),
    Const(ConstDecl),
    Typedef(TypedefDecl),
    /// `header` and `struct` declarations.
    Struct(StructDecl),
    Enum(EnumDecl),
    /// `error { A, B }`: members join the program-wide `error` type.
    Errors(ErrorDecl),
    Extern(ExternDecl),
    ExternFn(FnSig),
    Parser(ParserDecl),
    /// `control` and `deparser` blocks.
    Control(ControlDecl),
    Action(ActionDecl),
    /// `xdp(P(), C(), D()) main;`
    Entry(EntryDecl),
    /// A stretch of text that did not parse.
    Error(Span),
}

impl Item {
    /// The whole declaration, from its first token to its last.
    pub fn span(&self) -> Span {
        match self {
            Item::Import(i) => i.span,
            Item::Const(c) => c.span,
            Item::Typedef(t) => t.span,
            Item::Struct(s) => s.span,
            Item::Enum(e) => e.span,
            Item::Errors(e) => e.span,
            Item::Extern(e) => e.span,
            Item::ExternFn(f) => f.span,
            Item::Parser(p) => p.span,
            Item::Control(c) => c.span,
            Item::Action(a) => a.span,
            Item::Entry(e) => e.span,
            Item::Error(s) => *s,
        }
    }
}

#[derive(Clone, Debug)]
pub struct Import {
    /// `std.net` in `import std.net.*;`.
    pub path: Vec<Ident>,
    pub names: ImportNames,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub enum ImportNames {
    /// `import a.b.*;`
    All(Span),
    /// `import a.b.{x, y};` or `import a.b.x;`
    List(Vec<Ident>),
}

#[derive(Clone, Debug)]
pub struct ConstDecl {
    pub ty: TypeRef,
    pub name: Ident,
    pub value: Expr,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub struct TypedefDecl {
    /// Written `type` rather than `typedef`; both name an existing type (see docs/language.md).
    pub distinct: bool,
    pub ty: TypeRef,
    pub name: Ident,
    pub span: Span,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StructKind {
    Header,
    Struct,
}

#[derive(Clone, Debug)]
pub struct StructDecl {
    pub kind: StructKind,
    pub name: Ident,
    pub fields: Vec<Field>,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub struct Field {
    pub ty: TypeRef,
    pub name: Ident,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub struct EnumDecl {
    /// `enum bit<8> E { A = 1 }` has an underlying type; plain enums have none.
    pub underlying: Option<TypeRef>,
    pub name: Ident,
    pub members: Vec<(Ident, Option<Expr>)>,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub struct ErrorDecl {
    pub members: Vec<Ident>,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub struct ExternDecl {
    pub name: Ident,
    pub type_params: Vec<Ident>,
    /// Constructors: `counter(bit<32> size, CounterType type);`
    pub ctors: Vec<(Vec<Param>, Span)>,
    pub methods: Vec<FnSig>,
    pub span: Span,
}

/// A function or method signature: `T read<T>(in bit<32> index);`
#[derive(Clone, Debug)]
pub struct FnSig {
    pub ret: TypeRef,
    pub name: Ident,
    pub type_params: Vec<Ident>,
    pub params: Vec<Param>,
    pub span: Span,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Direction {
    In,
    Out,
    InOut,
}

impl Direction {
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::In => "in",
            Direction::Out => "out",
            Direction::InOut => "inout",
        }
    }
}

#[derive(Clone, Debug)]
pub struct Param {
    pub direction: Option<Direction>,
    pub ty: TypeRef,
    pub name: Ident,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub enum TypeRef {
    Bit(Expr, Span),
    Int(Expr, Span),
    Bool(Span),
    Void(Span),
    /// The `error` type.
    ErrorType(Span),
    /// A declared or generic type, with type arguments: `register<bit<64>>`.
    Named(Ident, Vec<TypeRef>, Span),
    /// A header stack: `vlan_t[2]`.
    Stack(Box<TypeRef>, Expr, Span),
    /// A type that did not parse.
    Error(Span),
}

impl TypeRef {
    pub fn span(&self) -> Span {
        match self {
            TypeRef::Bit(_, s)
            | TypeRef::Int(_, s)
            | TypeRef::Bool(s)
            | TypeRef::Void(s)
            | TypeRef::ErrorType(s)
            | TypeRef::Named(_, _, s)
            | TypeRef::Stack(_, _, s)
            | TypeRef::Error(s) => *s,
        }
    }
}

#[derive(Clone, Debug)]
pub struct ParserDecl {
    pub name: Ident,
    pub params: Vec<Param>,
    pub locals: Vec<Local>,
    pub states: Vec<StateDecl>,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub struct StateDecl {
    pub name: Ident,
    pub body: Vec<Stmt>,
    pub transition: Option<Transition>,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub enum Transition {
    Direct(Ident),
    Select {
        exprs: Vec<Expr>,
        cases: Vec<SelectCase>,
        span: Span,
    },
}

#[derive(Clone, Debug)]
pub struct SelectCase {
    pub keyset: Keyset,
    pub state: Ident,
    pub span: Span,
}

/// What a select case or a table entry matches.
#[derive(Clone, Debug)]
pub enum Keyset {
    Default(Span),
    DontCare(Span),
    /// A value; an address prefix literal here means `value &&& mask`.
    Value(Expr),
    Mask(Expr, Expr, Span),
    Range(Expr, Expr, Span),
    Tuple(Vec<Keyset>, Span),
}

impl Keyset {
    pub fn span(&self) -> Span {
        match self {
            Keyset::Default(s) | Keyset::DontCare(s) => *s,
            Keyset::Value(e) => e.span,
            Keyset::Mask(_, _, s) | Keyset::Range(_, _, s) | Keyset::Tuple(_, s) => *s,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ControlKind {
    Control,
    Deparser,
}

#[derive(Clone, Debug)]
pub struct ControlDecl {
    pub kind: ControlKind,
    pub name: Ident,
    pub params: Vec<Param>,
    pub locals: Vec<Local>,
    pub apply: Block,
    pub span: Span,
}

/// Declarations inside a parser or control, before `apply`/the states.
#[derive(Clone, Debug)]
pub enum Local {
    Var(VarDecl),
    Const(ConstDecl),
    Instance(Instance),
    Action(ActionDecl),
    Table(TableDecl),
    Error(Span),
}

#[derive(Clone, Debug)]
pub struct VarDecl {
    pub ty: TypeRef,
    pub name: Ident,
    pub init: Option<Expr>,
    pub span: Span,
}

/// An extern instance: `counter(256, CounterType.packets) port_stats;`
#[derive(Clone, Debug)]
pub struct Instance {
    pub ty: TypeRef,
    pub args: Vec<Expr>,
    pub name: Ident,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub struct ActionDecl {
    pub name: Ident,
    pub params: Vec<Param>,
    pub body: Block,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub struct TableDecl {
    pub name: Ident,
    pub props: Vec<TableProp>,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub enum TableProp {
    Key(Vec<KeyElem>, Span),
    Actions(Vec<ActionRef>, Span),
    DefaultAction {
        is_const: bool,
        action: ActionRef,
        span: Span,
    },
    Entries {
        is_const: bool,
        entries: Vec<Entry>,
        span: Span,
    },
    /// `size = 1024;` and any other `name = expr;`.
    Other(Ident, Expr, Span),
    Error(Span),
}

#[derive(Clone, Debug)]
pub struct KeyElem {
    pub expr: Expr,
    pub match_kind: Ident,
    pub span: Span,
}

/// An action named in a table, with arguments where they are bound: `forward(1)`.
#[derive(Clone, Debug)]
pub struct ActionRef {
    pub name: Ident,
    pub args: Option<Vec<Expr>>,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub struct Entry {
    pub keys: Keyset,
    pub action: ActionRef,
    pub priority: Option<Expr>,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub struct EntryDecl {
    /// The hook: `xdp`, `tc_ingress` or `tc_egress`.
    pub hook: Ident,
    /// The blocks, in order: parser, control, deparser.
    pub blocks: Vec<(Ident, Span)>,
    pub name: Ident,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub struct Block {
    pub stmts: Vec<Stmt>,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub enum Stmt {
    Var(VarDecl),
    Const(ConstDecl),
    Assign(Expr, Expr, Span),
    /// A call used as a statement: `pkt.extract(hdr.eth);`
    Call(Expr),
    If(Expr, Block, Option<Block>, Span),
    Switch(Expr, Vec<SwitchCase>, Span),
    Return(Span),
    Exit(Span),
    Block(Block),
    Error(Span),
}

impl Stmt {
    pub fn span(&self) -> Span {
        match self {
            Stmt::Var(v) => v.span,
            Stmt::Const(c) => c.span,
            Stmt::Call(e) => e.span,
            Stmt::Block(b) => b.span,
            Stmt::Assign(_, _, s)
            | Stmt::If(_, _, _, s)
            | Stmt::Switch(_, _, s)
            | Stmt::Return(s)
            | Stmt::Exit(s)
            | Stmt::Error(s) => *s,
        }
    }
}

#[derive(Clone, Debug)]
pub struct SwitchCase {
    /// `None` for `default`.
    pub label: Option<Ident>,
    /// `None` for a fall-through label (`a: b: { ... }`).
    pub body: Option<Block>,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub struct Expr {
    pub kind: ExprKind,
    pub span: Span,
}

impl Expr {
    /// `NAME(args)`: the name called and its arguments (an action call written as a value,
    /// as `add_entry` and `t.learn` take one).
    pub fn as_named_call(&self) -> Option<(&Ident, &[Expr])> {
        match &self.kind {
            ExprKind::Call { callee, args, .. } => match &callee.kind {
                ExprKind::Name(n) => Some((n, args.as_slice())),
                _ => None,
            },
            _ => None,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UnOp {
    Not,
    BitNot,
    Neg,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BinOp {
    Mul,
    Div,
    Rem,
    Add,
    Sub,
    SatAdd,
    SatSub,
    Concat,
    Shl,
    Shr,
    Lt,
    Le,
    Gt,
    Ge,
    Eq,
    Ne,
    BitAnd,
    BitXor,
    BitOr,
    And,
    Or,
}

impl BinOp {
    pub fn as_str(self) -> &'static str {
        use BinOp::*;
        match self {
            Mul => "*",
            Div => "/",
            Rem => "%",
            Add => "+",
            Sub => "-",
            SatAdd => "|+|",
            SatSub => "|-|",
            Concat => "++",
            Shl => "<<",
            Shr => ">>",
            Lt => "<",
            Le => "<=",
            Gt => ">",
            Ge => ">=",
            Eq => "==",
            Ne => "!=",
            BitAnd => "&",
            BitXor => "^",
            BitOr => "|",
            And => "&&",
            Or => "||",
        }
    }
}

#[derive(Clone, Debug)]
pub enum ExprKind {
    Int(IntLit),
    Bool(bool),
    Ipv4(u32),
    Ipv6(u128),
    Mac(u64),
    Prefix(PrefixLit),
    Name(Ident),
    /// `error.X`
    ErrorMember(Ident),
    Member(Box<Expr>, Ident),
    Index(Box<Expr>, Box<Expr>),
    /// `e[hi:lo]`
    Slice(Box<Expr>, Box<Expr>, Box<Expr>),
    Call {
        callee: Box<Expr>,
        type_args: Vec<TypeRef>,
        args: Vec<Expr>,
    },
    Unary(UnOp, Box<Expr>),
    Binary(BinOp, Box<Expr>, Box<Expr>),
    Ternary(Box<Expr>, Box<Expr>, Box<Expr>),
    Cast(Box<TypeRef>, Box<Expr>),
    /// `{a, b, c}`: values joined in order, as the data of `hash` (P4's list expression).
    List(Vec<Expr>),
    Error,
}
