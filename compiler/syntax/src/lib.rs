//! iov-syntax: the lexer, the parser and the AST of the iov language.
//!
//! Takes: the text of one `.iov` file and its [`FileId`].
//! Gives: `parse(file, text) -> (ast::File, Vec<Diagnostic>)`. Parsing never fails: syntax
//! errors become diagnostics (E0001..E0003) and the tree keeps `Error` nodes where text did
//! not parse. Pure: no IO, no LLVM; the language server builds on it.

pub mod ast;
pub mod format;
pub mod lexer;
mod parse;

pub use parse::{parse, parse_expr};

#[allow(clippy::all, unused_parens, dead_code)]
mod grammar {
    include!(concat!(env!("OUT_DIR"), "/grammar.rs"));
}
