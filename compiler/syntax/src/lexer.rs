//! The lexer: source text to tokens (logos).
//!
//! Takes: the text of one file.
//! Gives: `(start, Token, end)` triples for the parser; a malformed token becomes a
//! [`LexError`] triple that the parser turns into a diagnostic and skips, so lexing never
//! stops early. Literals are decoded here (numbers, IPv4/IPv6/MAC addresses and prefixes).
//!
//! `>>` is never one token: the parser joins two adjacent `>` into a shift, so that
//! `register<bit<64>>` closes two type argument lists.

use logos::{FilterResult, Logos};
use std::fmt;

/// What went wrong in a token.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub enum LexError {
    #[default]
    InvalidCharacter,
    UnterminatedComment,
    /// A literal whose text is malformed or whose value cannot be represented.
    BadLiteral(String),
}

/// A decoded integer literal: `value` with an optional width prefix (`16w`, `8s`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IntLit {
    pub value: u128,
    /// `Some((width, signed))` for `16w5` (unsigned) and `8s5` (signed).
    pub width: Option<(u32, bool)>,
}

/// An address prefix such as `10.0.0.0/8`: the address bits, the prefix length and the
/// address width (32 or 128).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PrefixLit {
    pub value: u128,
    pub len: u32,
    pub bits: u32,
}

#[derive(Logos, Clone, Debug, PartialEq, Eq)]
#[logos(error = LexError)]
#[logos(skip r"[ \t\r\n\f]+")]
#[logos(skip(r"//[^\n]*", allow_greedy = true))]
pub enum Token {
    #[token("/*", block_comment)]
    BlockComment,

    // Keywords.
    #[token("action")]
    Action,
    #[token("actions")]
    Actions,
    #[token("apply")]
    Apply,
    #[token("bit")]
    Bit,
    #[token("bool")]
    Bool,
    #[token("const")]
    Const,
    #[token("control")]
    Control,
    #[token("default")]
    Default,
    #[token("default_action")]
    DefaultAction,
    #[token("deparser")]
    Deparser,
    #[token("else")]
    Else,
    #[token("entries")]
    Entries,
    #[token("enum")]
    Enum,
    #[token("error")]
    Error,
    #[token("exit")]
    Exit,
    #[token("extern")]
    Extern,
    #[token("false")]
    False,
    #[token("header")]
    Header,
    #[token("if")]
    If,
    #[token("import")]
    Import,
    #[token("in")]
    In,
    #[token("inout")]
    InOut,
    #[token("int")]
    Int,
    #[token("key")]
    Key,
    #[token("lookahead")]
    Lookahead,
    #[token("out")]
    Out,
    #[token("parser")]
    Parser,
    #[token("priority")]
    Priority,
    #[token("return")]
    Return,
    #[token("select")]
    Select,
    #[token("state")]
    State,
    #[token("struct")]
    Struct,
    #[token("switch")]
    Switch,
    #[token("table")]
    Table,
    #[token("transition")]
    Transition,
    #[token("true")]
    True,
    #[token("type")]
    Type,
    #[token("typedef")]
    Typedef,
    #[token("void")]
    Void,

    // Punctuation.
    #[token("{")]
    LBrace,
    #[token("}")]
    RBrace,
    #[token("(")]
    LParen,
    #[token(")")]
    RParen,
    #[token("[")]
    LBracket,
    #[token("]")]
    RBracket,
    #[token("<")]
    Lt,
    #[token(">")]
    Gt,
    /// A `>` directly followed by another `>`; made by [`join_angles`], never by logos.
    GtJoined,
    #[token("<=")]
    Le,
    #[token(">=")]
    Ge,
    #[token("==")]
    EqEq,
    #[token("!=")]
    Ne,
    #[token(";")]
    Semi,
    #[token(",")]
    Comma,
    #[token(".")]
    Dot,
    #[token("..")]
    DotDot,
    #[token(":")]
    Colon,
    #[token("=")]
    Assign,
    #[token("&&&")]
    Mask,
    #[token("&&")]
    AndAnd,
    #[token("||")]
    OrOr,
    #[token("!")]
    Bang,
    #[token("~")]
    Tilde,
    #[token("&")]
    Amp,
    #[token("|")]
    Pipe,
    #[token("^")]
    Caret,
    #[token("+")]
    Plus,
    #[token("-")]
    Minus,
    #[token("*")]
    Star,
    #[token("/")]
    Slash,
    #[token("%")]
    Percent,
    #[token("<<")]
    Shl,
    #[token("++")]
    Concat,
    #[token("|+|")]
    SatAdd,
    #[token("|-|")]
    SatSub,
    #[token("?")]
    Question,
    #[token("_", priority = 3)]
    DontCare,

    #[regex(r"[A-Za-z_][A-Za-z0-9_]*", |lex| lex.slice().to_string())]
    Ident(String),

    #[regex(r"[0-9][0-9_]*", int_literal)]
    #[regex(r"0[xX][0-9a-fA-F_]+", int_literal)]
    #[regex(r"0[bB][01_]+", int_literal)]
    #[regex(r"0[oO][0-7_]+", int_literal)]
    #[regex(r"[0-9]+[wWsS][0-9][0-9_]*", int_literal)]
    #[regex(r"[0-9]+[wWsS]0[xX][0-9a-fA-F_]+", int_literal)]
    #[regex(r"[0-9]+[wWsS]0[bB][01_]+", int_literal)]
    #[regex(r"[0-9]+[wWsS]0[oO][0-7_]+", int_literal)]
    IntLit(IntLit),

    #[regex(r"[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+", |lex| ipv4(lex.slice()))]
    Ipv4(u32),

    #[regex(r"[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}", mac, priority = 5)]
    Mac(u64),

    #[regex(r"([0-9a-fA-F]{1,4}:){7}[0-9a-fA-F]{1,4}", |lex| ipv6(lex.slice()))]
    #[regex(r"([0-9a-fA-F]{1,4}(:[0-9a-fA-F]{1,4})*)?::([0-9a-fA-F]{1,4}(:[0-9a-fA-F]{1,4})*)?", |lex| ipv6(lex.slice()))]
    Ipv6(u128),

    #[regex(r"[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+/[0-9]+", prefix)]
    #[regex(r"([0-9a-fA-F]{1,4}:){7}[0-9a-fA-F]{1,4}/[0-9]+", prefix)]
    #[regex(
        r"([0-9a-fA-F]{1,4}(:[0-9a-fA-F]{1,4})*)?::([0-9a-fA-F]{1,4}(:[0-9a-fA-F]{1,4})*)?/[0-9]+",
        prefix
    )]
    Prefix(PrefixLit),
}

fn block_comment(lex: &mut logos::Lexer<Token>) -> FilterResult<(), LexError> {
    match lex.remainder().find("*/") {
        Some(end) => {
            lex.bump(end + 2);
            FilterResult::Skip
        }
        None => {
            lex.bump(lex.remainder().len());
            FilterResult::Error(LexError::UnterminatedComment)
        }
    }
}

fn bad(msg: impl Into<String>) -> LexError {
    LexError::BadLiteral(msg.into())
}

fn parse_digits(text: &str) -> Result<u128, LexError> {
    let (radix, digits) = match text.get(..2) {
        Some("0x" | "0X") => (16, &text[2..]),
        Some("0b" | "0B") => (2, &text[2..]),
        Some("0o" | "0O") => (8, &text[2..]),
        _ => (10, text),
    };
    let digits: String = digits.chars().filter(|c| *c != '_').collect();
    if digits.is_empty() {
        return Err(bad("a number needs at least one digit"));
    }
    u128::from_str_radix(&digits, radix)
        .map_err(|_| bad(format!("`{text}` does not fit in 128 bits")))
}

fn int_literal(lex: &mut logos::Lexer<Token>) -> Result<IntLit, LexError> {
    let text = lex.slice();
    // Hex, binary and octal digits never contain `w` or `s`: a marker means a width prefix.
    let prefix_end = text.find(['w', 'W', 's', 'S']);
    match prefix_end {
        Some(at) => {
            let width: u32 = text[..at]
                .parse()
                .map_err(|_| bad(format!("width `{}` is too large", &text[..at])))?;
            let signed = matches!(&text[at..=at], "s" | "S");
            let value = parse_digits(&text[at + 1..])?;
            Ok(IntLit {
                value,
                width: Some((width, signed)),
            })
        }
        _ => Ok(IntLit {
            value: parse_digits(text)?,
            width: None,
        }),
    }
}

fn ipv4(text: &str) -> Result<u32, LexError> {
    text.parse::<std::net::Ipv4Addr>()
        .map(u32::from)
        .map_err(|_| {
            bad(format!(
                "`{text}` is not an IPv4 address (each part is 0..=255)"
            ))
        })
}

fn ipv6(text: &str) -> Result<u128, LexError> {
    text.parse::<std::net::Ipv6Addr>()
        .map(u128::from)
        .map_err(|_| bad(format!("`{text}` is not an IPv6 address")))
}

fn mac(lex: &mut logos::Lexer<Token>) -> Result<u64, LexError> {
    let mut v = 0u64;
    for part in lex.slice().split(':') {
        v = (v << 8) | u64::from_str_radix(part, 16).map_err(|_| bad("bad MAC address"))?;
    }
    Ok(v)
}

fn prefix(lex: &mut logos::Lexer<Token>) -> Result<PrefixLit, LexError> {
    let text = lex.slice();
    let (addr, len) = text.split_once('/').expect("regex has a slash");
    let (value, bits) = if addr.contains(':') {
        (ipv6(addr)?, 128)
    } else {
        (u128::from(ipv4(addr)?), 32)
    };
    let len: u32 = len
        .parse()
        .ok()
        .filter(|l| *l <= bits)
        .ok_or_else(|| bad(format!("prefix length `/{len}` is larger than {bits}")))?;
    let mask = if len == 0 {
        0
    } else {
        (u128::MAX << (128 - len)) >> (128 - bits)
    };
    if value & !mask != 0 {
        return Err(bad(format!(
            "`{text}` has bits set past its prefix length; write the network address"
        )));
    }
    Ok(PrefixLit { value, len, bits })
}

impl fmt::Display for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Token::Ident(s) => write!(f, "identifier `{s}`"),
            Token::IntLit(_) => f.write_str("integer literal"),
            Token::Ipv4(_) => f.write_str("IPv4 address"),
            Token::Ipv6(_) => f.write_str("IPv6 address"),
            Token::Mac(_) => f.write_str("MAC address"),
            Token::Prefix(_) => f.write_str("address prefix"),
            other => write!(f, "`{}`", other.text()),
        }
    }
}

impl Token {
    /// The fixed text of a keyword or punctuation token.
    pub fn text(&self) -> &'static str {
        use Token::*;
        match self {
            BlockComment => "/*",
            Action => "action",
            Actions => "actions",
            Apply => "apply",
            Bit => "bit",
            Bool => "bool",
            Const => "const",
            Control => "control",
            Default => "default",
            DefaultAction => "default_action",
            Deparser => "deparser",
            Else => "else",
            Entries => "entries",
            Enum => "enum",
            Error => "error",
            Exit => "exit",
            Extern => "extern",
            False => "false",
            Header => "header",
            If => "if",
            Import => "import",
            In => "in",
            InOut => "inout",
            Int => "int",
            Key => "key",
            Lookahead => "lookahead",
            Out => "out",
            Parser => "parser",
            Priority => "priority",
            Return => "return",
            Select => "select",
            State => "state",
            Struct => "struct",
            Switch => "switch",
            Table => "table",
            Transition => "transition",
            True => "true",
            Type => "type",
            Typedef => "typedef",
            Void => "void",
            LBrace => "{",
            RBrace => "}",
            LParen => "(",
            RParen => ")",
            LBracket => "[",
            RBracket => "]",
            Lt => "<",
            Gt | GtJoined => ">",
            Le => "<=",
            Ge => ">=",
            EqEq => "==",
            Ne => "!=",
            Semi => ";",
            Comma => ",",
            Dot => ".",
            DotDot => "..",
            Colon => ":",
            Assign => "=",
            Mask => "&&&",
            AndAnd => "&&",
            OrOr => "||",
            Bang => "!",
            Tilde => "~",
            Amp => "&",
            Pipe => "|",
            Caret => "^",
            Plus => "+",
            Minus => "-",
            Star => "*",
            Slash => "/",
            Percent => "%",
            Shl => "<<",
            Concat => "++",
            SatAdd => "|+|",
            SatSub => "|-|",
            Question => "?",
            DontCare => "_",
            Ident(_) | IntLit(_) | Ipv4(_) | Ipv6(_) | Mac(_) | Prefix(_) => "",
        }
    }
}

/// Marks each `>` that is immediately followed by another `>` as [`Token::GtJoined`], so the
/// grammar can read `a >> b` as a shift and `register<bit<64>>` as two closing angles.
pub fn join_angles(toks: &mut [(usize, Token, usize)]) {
    for i in 1..toks.len() {
        if toks[i - 1].1 == Token::Gt && toks[i].1 == Token::Gt && toks[i - 1].2 == toks[i].0 {
            toks[i - 1].1 = Token::GtJoined;
        }
    }
}

/// Every token of `text` with its byte range; errors are kept in place. A byte-order mark at
/// the start is skipped.
pub fn tokens(text: &str) -> impl Iterator<Item = (usize, Result<Token, LexError>, usize)> + '_ {
    let skip = if text.starts_with('\u{feff}') { 3 } else { 0 };
    Token::lexer(&text[skip..])
        .spanned()
        .map(move |(tok, span)| (span.start + skip, tok, span.end + skip))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lex(text: &str) -> Vec<Result<Token, LexError>> {
        tokens(text).map(|(_, t, _)| t).collect()
    }

    #[test]
    fn literals_decode() {
        assert_eq!(
            lex("16w0x0800 8s5 0b1010 1_000"),
            vec![
                Ok(Token::IntLit(IntLit {
                    value: 0x800,
                    width: Some((16, false))
                })),
                Ok(Token::IntLit(IntLit {
                    value: 5,
                    width: Some((8, true))
                })),
                Ok(Token::IntLit(IntLit {
                    value: 10,
                    width: None
                })),
                Ok(Token::IntLit(IntLit {
                    value: 1000,
                    width: None
                })),
            ]
        );
        assert_eq!(lex("10.0.0.1"), vec![Ok(Token::Ipv4(0x0a000001))]);
        assert_eq!(
            lex("aa:bb:cc:dd:ee:ff"),
            vec![Ok(Token::Mac(0xaabbccddeeff))]
        );
        assert_eq!(lex("fe80::1"), vec![Ok(Token::Ipv6(0xfe80 << 112 | 1))]);
        assert_eq!(
            lex("10.0.0.0/8"),
            vec![Ok(Token::Prefix(PrefixLit {
                value: 0x0a000000,
                len: 8,
                bits: 32
            }))]
        );
    }

    #[test]
    fn shifts_and_ranges_split() {
        assert_eq!(lex(">>"), vec![Ok(Token::Gt), Ok(Token::Gt)]);
        assert_eq!(
            lex("1..5"),
            vec![
                Ok(Token::IntLit(IntLit {
                    value: 1,
                    width: None
                })),
                Ok(Token::DotDot),
                Ok(Token::IntLit(IntLit {
                    value: 5,
                    width: None
                })),
            ]
        );
    }

    #[test]
    fn bad_literals_are_errors() {
        assert!(matches!(lex("300.0.0.1")[0], Err(LexError::BadLiteral(_))));
        assert!(matches!(lex("10.0.0.1/8")[0], Err(LexError::BadLiteral(_))));
        assert_eq!(lex("/* open"), vec![Err(LexError::UnterminatedComment)]);
        assert_eq!(lex("$"), vec![Err(LexError::InvalidCharacter)]);
    }
}
