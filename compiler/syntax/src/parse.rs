//! The parse entry point: runs the lexer, then the LALRPOP parser with error recovery.
//!
//! Takes: the text of one file.
//! Gives: the AST plus every lexical and syntax error as a diagnostic (E0001, E0002, E0003).

use crate::ast::{Expr, ExprKind, File};
use crate::grammar;
use crate::lexer::{self, IntLit, LexError, Token};
use iov_diagnostics::{Code, Diagnostic, FileId, Span};
use lalrpop_util::{ErrorRecovery, ParseError};

type Spanned = (usize, Token, usize);

/// Lexes `text`, keeping good tokens and turning bad ones into diagnostics. A malformed
/// literal is replaced by the literal `0` so that the statement around it still parses.
fn lex(file: FileId, text: &str, diags: &mut Vec<Diagnostic>) -> Vec<Spanned> {
    let mut toks = Vec::new();
    for (l, tok, r) in lexer::tokens(text) {
        let span = Span::new(file, l, r);
        match tok {
            Ok(Token::BlockComment) => {}
            Ok(t) => toks.push((l, t, r)),
            Err(LexError::InvalidCharacter) => {
                let ch = text[l..r].chars().next().unwrap_or('?');
                diags.push(
                    Diagnostic::new(
                        Code::E0002,
                        format!("unexpected character `{}`", ch.escape_debug()),
                        span,
                    )
                    .label("not part of the language"),
                )
            }
            Err(LexError::UnterminatedComment) => diags.push(
                Diagnostic::new(
                    Code::E0002,
                    "unterminated block comment",
                    Span::new(file, l, l + 2),
                )
                .label("this comment is never closed")
                .help("close it with `*/`"),
            ),
            Err(LexError::BadLiteral(msg)) => {
                diags.push(Diagnostic::new(Code::E0003, msg, span).label("invalid literal"));
                toks.push((
                    l,
                    Token::IntLit(IntLit {
                        value: 0,
                        width: None,
                    }),
                    r,
                ));
            }
        }
    }
    lexer::join_angles(&mut toks);
    toks
}

fn describe_expected(expected: &[String]) -> String {
    let has = |t: &str| expected.iter().any(|e| e.trim_matches('"') == t);
    // Long lists read better as what they stand for.
    if expected.len() > 6 {
        if has("parser") && has("control") {
            return "a declaration (`import`, `const`, `header`, `struct`, `parser`, `control`, ...)".into();
        }
        if has("INT") && has("IDENT") && has("(") {
            return "an expression".into();
        }
        if has("+") && has("==") {
            let closers: Vec<String> = [")", "]", ";", ",", "}", ":"]
                .iter()
                .filter(|c| has(c))
                .map(|c| format!("`{c}`"))
                .collect();
            return if closers.is_empty() {
                "an operator".into()
            } else {
                format!("an operator or {}", closers.join(" or "))
            };
        }
    }
    let names: Vec<String> = expected
        .iter()
        .map(|e| match e.as_str() {
            "IDENT" => "identifier".to_string(),
            "INT" => "integer".to_string(),
            "IPV4" => "IPv4 address".to_string(),
            "IPV6" => "IPv6 address".to_string(),
            "MAC" => "MAC address".to_string(),
            "PREFIX" => "address prefix".to_string(),
            "\">>1\"" => "`>`".to_string(),
            quoted => format!("`{}`", quoted.trim_matches('"')),
        })
        .collect();
    let mut names: Vec<String> = names.into_iter().fold(Vec::new(), |mut acc, n| {
        if !acc.contains(&n) {
            acc.push(n);
        }
        acc
    });
    match names.len() {
        0 => String::new(),
        1 => names.remove(0),
        n if n <= 6 => {
            let last = names.pop().unwrap_or_default();
            format!("{} or {}", names.join(", "), last)
        }
        _ => format!(
            "{}, or one of {} other tokens",
            names[..5].join(", "),
            names.len() - 5
        ),
    }
}

fn syntax_error(file: FileId, text: &str, err: ParseError<usize, Token, LexError>) -> Diagnostic {
    match err {
        ParseError::UnrecognizedToken {
            token: (l, tok, r),
            expected,
        } => {
            let exp = describe_expected(&expected);
            let mut d = Diagnostic::new(
                Code::E0001,
                format!("expected {exp}, found {tok}"),
                Span::new(file, l, r),
            )
            .label("unexpected here");
            if expected.iter().any(|e| e == "\";\"") {
                d = d.help("is a `;` missing before this?");
            }
            d
        }
        ParseError::UnrecognizedEof { location, expected } => Diagnostic::new(
            Code::E0001,
            format!(
                "unexpected end of file; expected {}",
                describe_expected(&expected)
            ),
            Span::new(file, location.min(text.len()), location.min(text.len())),
        )
        .label("the file ends here"),
        ParseError::ExtraToken { token: (l, tok, r) } => Diagnostic::new(
            Code::E0001,
            format!("unexpected {tok}"),
            Span::new(file, l, r),
        ),
        ParseError::InvalidToken { location } => Diagnostic::new(
            Code::E0002,
            "invalid token",
            Span::new(file, location, location + 1),
        ),
        ParseError::User { error } => {
            Diagnostic::new(Code::E0002, format!("{error:?}"), Span::new(file, 0, 0))
        }
    }
}

/// Brackets nested deeper than this are refused: no real program comes near, and the limit
/// keeps the recursive passes after the parser within their stack.
pub const MAX_NESTING: usize = 256;

/// A statement or declaration longer than this many tokens is refused, which bounds how deep
/// an expression tree can grow (operator chains, prefix operators, `else if` chains).
pub const MAX_RUN: usize = 10_000;

/// Where the text goes past `MAX_NESTING` brackets or `MAX_RUN` tokens without a `;`,
/// and what went past.
fn too_deep(toks: &[Spanned]) -> Option<(usize, usize, String)> {
    let mut depth = 0usize;
    let mut run = 0usize;
    for (l, t, r) in toks {
        run += 1;
        if run > MAX_RUN {
            return Some((*l, *r, format!("more than {MAX_RUN} tokens without a `;`")));
        }
        if matches!(t, Token::Semi) {
            run = 0;
        }
        match t {
            Token::LParen | Token::LBracket | Token::LBrace => {
                depth += 1;
                if depth > MAX_NESTING {
                    return Some((
                        *l,
                        *r,
                        format!("brackets nested more than {MAX_NESTING} levels deep"),
                    ));
                }
            }
            Token::RParen | Token::RBracket | Token::RBrace => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    None
}

/// Parses one file. Never fails: the tree is as complete as the text allows, and every
/// problem is in the diagnostics.
pub fn parse(file: FileId, text: &str) -> (File, Vec<Diagnostic>) {
    let mut diags = Vec::new();
    let toks = lex(file, text, &mut diags);
    if let Some((l, r, what)) = too_deep(&toks) {
        diags.push(
            Diagnostic::new(
                Code::E0001,
                format!("this file is too deeply nested: {what}"),
                Span::new(file, l, r),
            )
            .label("limit reached here")
            .note("the file is not checked further; split the expression or block"),
        );
        return (File { items: Vec::new() }, diags);
    }
    let mut recovered: Vec<ErrorRecovery<usize, Token, LexError>> = Vec::new();
    let result = grammar::FileParser::new().parse(file, &mut recovered, toks.into_iter().map(Ok));
    let ast = match result {
        Ok(ast) => ast,
        Err(e) => {
            diags.push(syntax_error(file, text, e));
            File { items: Vec::new() }
        }
    };
    for r in recovered {
        diags.push(syntax_error(file, text, r.error));
    }
    (ast, diags)
}

/// Parses a single expression (used by tools such as the packet-test reader).
pub fn parse_expr(file: FileId, text: &str) -> (Expr, Vec<Diagnostic>) {
    let mut diags = Vec::new();
    let toks = lex(file, text, &mut diags);
    let mut recovered = Vec::new();
    let result = grammar::ExprParser::new().parse(file, &mut recovered, toks.into_iter().map(Ok));
    let expr = match result {
        Ok(e) => e,
        Err(e) => {
            diags.push(syntax_error(file, text, e));
            Expr {
                kind: ExprKind::Error,
                span: Span::new(file, 0, text.len()),
            }
        }
    };
    for r in recovered {
        diags.push(syntax_error(file, text, r.error));
    }
    (expr, diags)
}
