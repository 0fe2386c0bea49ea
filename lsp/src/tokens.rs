//! Token-level answers: semantic tokens (what each name is) and folding ranges (blocks).
//!
//! Takes: a document's text and the checked program.
//! Gives: LSP semantic tokens, delta-encoded with the legend [`LEGEND`], and folding ranges
//! for every brace pair that spans lines.

use iov_diagnostics::{FileId, Span};
use iov_sema::Program;
use iov_syntax::ast::{Item, Local};
use iov_syntax::lexer::{self, Token};
use std::collections::HashMap;
use tower_lsp_server::lsp_types::{FoldingRange, SemanticToken, SemanticTokenType};

/// The token types, in the order their indexes refer to.
pub const LEGEND: &[SemanticTokenType] = &[
    SemanticTokenType::KEYWORD,
    SemanticTokenType::NUMBER,
    SemanticTokenType::TYPE,
    SemanticTokenType::FUNCTION,
    SemanticTokenType::VARIABLE,
    SemanticTokenType::PROPERTY,
    SemanticTokenType::ENUM_MEMBER,
];

const KEYWORD: u32 = 0;
const NUMBER: u32 = 1;
const TYPE: u32 = 2;
const FUNCTION: u32 = 3;
const VARIABLE: u32 = 4;
const PROPERTY: u32 = 5;
const ENUM_MEMBER: u32 = 6;

/// What the declaration at each span is, for the names that refer to it.
fn kinds(p: &Program) -> HashMap<Span, u32> {
    let mut k = HashMap::new();
    for s in &p.structs {
        k.insert(s.span, TYPE);
        for f in &s.fields {
            k.insert(f.span, PROPERTY);
        }
    }
    for e in &p.enums {
        k.insert(e.span, TYPE);
        for m in &e.members {
            k.insert(m.2, ENUM_MEMBER);
        }
    }
    for t in &p.typedefs {
        k.insert(t.span, TYPE);
    }
    for x in &p.externs {
        k.insert(x.span, TYPE);
    }
    for f in &p.fns {
        k.insert(f.span, FUNCTION);
    }
    for m in &p.modules {
        for item in &m.ast.items {
            match item {
                Item::Action(a) => {
                    k.insert(a.name.span, FUNCTION);
                }
                Item::Control(c) => {
                    for l in &c.locals {
                        if let Local::Action(a) = l {
                            k.insert(a.name.span, FUNCTION);
                        }
                    }
                }
                Item::Parser(ps) => {
                    for s in &ps.states {
                        k.insert(s.name.span, ENUM_MEMBER);
                    }
                }
                _ => {}
            }
        }
    }
    k
}

pub fn semantic_tokens(p: &Program, file: FileId, text: &str) -> Vec<SemanticToken> {
    let decl_kinds = kinds(p);
    let uses: HashMap<u32, Span> = p
        .references
        .iter()
        .filter(|(u, _)| u.file == file)
        .map(|(u, d)| (u.start, *d))
        .collect();
    let mut out = Vec::new();
    let (mut last_line, mut last_col) = (0u32, 0u32);
    for (l, tok, r) in lexer::tokens(text) {
        let Ok(tok) = tok else { continue };
        let kind = match &tok {
            Token::Ident(_) => match uses.get(&(l as u32)) {
                Some(def) => decl_kinds.get(def).copied().unwrap_or(VARIABLE),
                None => continue,
            },
            Token::IntLit(_)
            | Token::Ipv4(_)
            | Token::Ipv6(_)
            | Token::Mac(_)
            | Token::Prefix(_) => NUMBER,
            t if t
                .text()
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic()) =>
            {
                KEYWORD
            }
            _ => continue,
        };
        let start = crate::position::position(text, l);
        let len: u32 = text[l..r].chars().map(|c| c.len_utf16() as u32).sum();
        let delta_line = start.line - last_line;
        let delta_start = if delta_line == 0 {
            start.character - last_col
        } else {
            start.character
        };
        out.push(SemanticToken {
            delta_line,
            delta_start,
            length: len,
            token_type: kind,
            token_modifiers_bitset: 0,
        });
        (last_line, last_col) = (start.line, start.character);
    }
    out
}

pub fn folding_ranges(text: &str) -> Vec<FoldingRange> {
    let mut open: Vec<usize> = Vec::new();
    let mut out = Vec::new();
    for (l, tok, _) in lexer::tokens(text) {
        match tok {
            Ok(Token::LBrace) => open.push(l),
            Ok(Token::RBrace) => {
                if let Some(start) = open.pop() {
                    let (a, b) = (
                        crate::position::position(text, start),
                        crate::position::position(text, l),
                    );
                    if b.line > a.line {
                        out.push(FoldingRange {
                            start_line: a.line,
                            end_line: b.line.saturating_sub(1).max(a.line),
                            ..FoldingRange::default()
                        });
                    }
                }
            }
            _ => {}
        }
    }
    out.sort_by_key(|f| f.start_line);
    out
}
