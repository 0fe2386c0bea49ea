//! One analysis of one open document: the checked program, and the answers the editor asks
//! for (diagnostics, hover, definition, references, symbols) in LSP terms.
//!
//! Takes: a document's text and path, and a `Loader` for its imports.
//! Gives: LSP values computed from `iov_sema::check`: the same diagnostics as `iov check`,
//! and answers read from `Program::expr_types` and `Program::references`.

use crate::position::{offset, range};
use iov_diagnostics::{FileId, Severity, Span};
use iov_sema::types::Ty;
use iov_sema::{Checked, Loader, Program};
use iov_syntax::ast::{self, Item, StructKind};
use std::path::{Path, PathBuf};
use tower_lsp_server::lsp_types::{self as lsp, *};
use tower_lsp_server::UriExt;

pub struct Analysis {
    checked: Checked,
    /// The document's file in the source map.
    root: FileId,
}

/// Where the standard library's sources are written so an editor can open them.
fn stdlib_dir() -> PathBuf {
    std::env::temp_dir().join(format!("iov-std-{}", env!("CARGO_PKG_VERSION")))
}

/// A doc comment under a signature, when there is one.
fn with_doc(doc: &str) -> String {
    if doc.is_empty() {
        String::new()
    } else {
        format!("\n\n{doc}")
    }
}

fn bits(p: &Program, ty: &Ty) -> Option<u32> {
    match ty {
        Ty::Bit(w) | Ty::Int(w) => Some(*w),
        Ty::Bool => Some(1),
        Ty::Enum(e) => p.enums[*e].underlying.as_ref().and_then(|u| bits(p, u)),
        _ => None,
    }
}

impl Analysis {
    pub fn new(path: Option<&Path>, text: &str, loader: &mut dyn Loader) -> Analysis {
        let name = path.map_or_else(|| "untitled.iov".to_string(), |p| p.display().to_string());
        let checked = iov_sema::check(&name, text, loader);
        let root = checked.files.find(&name).unwrap_or_default();
        Analysis { checked, root }
    }

    fn text(&self, file: FileId) -> &str {
        &self.checked.files.get(file).text
    }

    fn range(&self, span: Span) -> lsp::Range {
        range(self.text(span.file), span.start as usize, span.end as usize)
    }

    /// A URI for a loaded file; standard library files are written out on first use.
    fn uri(&self, file: FileId, root_uri: &Uri) -> Option<Uri> {
        if file == self.root {
            return Some(root_uri.clone());
        }
        let f = self.checked.files.get(file);
        if f.name.starts_with("std/") {
            let path = stdlib_dir().join(&f.name);
            if !path.exists() {
                std::fs::create_dir_all(path.parent()?).ok()?;
                std::fs::write(&path, &f.text).ok()?;
            }
            return Uri::from_file_path(path);
        }
        Uri::from_file_path(std::fs::canonicalize(&f.name).ok()?)
    }

    pub fn diagnostics(&self, root_uri: &Uri) -> Vec<lsp::Diagnostic> {
        self.checked
            .diagnostics
            .iter()
            .filter(|d| d.primary.span.file == self.root)
            .map(|d| {
                let mut message = d.message.clone();
                for n in &d.notes {
                    message.push_str(&format!("\nnote: {n}"));
                }
                for h in &d.help {
                    message.push_str(&format!("\nhelp: {h}"));
                }
                let related = d
                    .secondary
                    .iter()
                    .filter(|l| l.span.file == self.root)
                    .map(|l| DiagnosticRelatedInformation {
                        location: Location::new(root_uri.clone(), self.range(l.span)),
                        message: l.message.clone(),
                    })
                    .collect::<Vec<_>>();
                lsp::Diagnostic {
                    range: self.range(d.primary.span),
                    severity: Some(match d.severity {
                        Severity::Error => DiagnosticSeverity::ERROR,
                        Severity::Warning => DiagnosticSeverity::WARNING,
                    }),
                    code: Some(NumberOrString::String(d.code.as_str().to_string())),
                    source: Some("iov".into()),
                    message,
                    related_information: (!related.is_empty()).then_some(related),
                    ..lsp::Diagnostic::default()
                }
            })
            .collect()
    }

    /// The use of a name at `at`, and the span of its declaration.
    fn reference_at(&self, at: usize) -> Option<(Span, Span)> {
        self.checked
            .program
            .references
            .iter()
            .filter(|(u, _)| u.file == self.root && u.start as usize <= at && at <= u.end as usize)
            .min_by_key(|(u, _)| u.end - u.start)
            .copied()
    }

    pub fn hover(&self, pos: Position) -> Option<Hover> {
        let at = offset(self.text(self.root), pos);
        let p = &self.checked.program;
        // A name of a declaration iov can describe; otherwise the innermost expression's type.
        let described = self
            .reference_at(at)
            .and_then(|(use_span, def)| Some((use_span, self.describe(def)?)));
        let (span, text) = match described {
            Some(found) => found,
            None => {
                let (span, ty) = p
                    .expr_types
                    .iter()
                    .filter(|(s, _)| {
                        s.file == self.root && s.start as usize <= at && at <= s.end as usize
                    })
                    .min_by_key(|(s, _)| s.end - s.start)?;
                (*span, format!("```iov\n{}\n```", p.type_to_string(ty)))
            }
        };
        Some(Hover {
            contents: HoverContents::Markup(MarkupContent {
                kind: MarkupKind::Markdown,
                value: text,
            }),
            range: Some(self.range(span)),
        })
    }

    /// What a declaration is: header layouts with bit offsets, enums, constants, externs.
    fn describe(&self, def: Span) -> Option<String> {
        let p = &self.checked.program;
        if let Some(s) = p.structs.iter().find(|s| s.span == def) {
            let keyword = if s.kind == StructKind::Header {
                "header"
            } else {
                "struct"
            };
            let mut out = format!("```iov\n{keyword} {} {{\n", s.name);
            let mut offset = 0;
            for f in &s.fields {
                let ty = p.type_to_string(&f.ty);
                match bits(p, &f.ty) {
                    Some(b) if s.kind == StructKind::Header => {
                        out.push_str(&format!(
                            "    {ty} {};  // bits {}..{}\n",
                            f.name,
                            offset,
                            offset + b - 1
                        ));
                        offset += b;
                    }
                    _ => out.push_str(&format!("    {ty} {};\n", f.name)),
                }
            }
            out.push_str("}\n```");
            if s.kind == StructKind::Header {
                out.push_str(&format!("\n{} bits, {} bytes", offset, offset.div_ceil(8)));
            }
            return Some(out);
        }
        if let Some(e) = p.enums.iter().find(|e| e.span == def) {
            let members: Vec<String> = e
                .members
                .iter()
                .map(|(n, v, _)| format!("{n} = {v}"))
                .collect();
            return Some(format!(
                "```iov\nenum {} {{ {} }}\n```",
                e.name,
                members.join(", ")
            ));
        }
        if let Some(c) = p.consts.iter().find(|c| c.span == def) {
            let value = match &c.value {
                Some(iov_sema::Value::Int(v)) => format!(" = {v}"),
                Some(iov_sema::Value::Neg(v)) => format!(" = -{v}"),
                Some(iov_sema::Value::Bool(b)) => format!(" = {b}"),
                None => String::new(),
            };
            return Some(format!(
                "```iov\nconst {} {}{value}\n```",
                p.type_to_string(&c.ty),
                c.name
            ));
        }
        if let Some(x) = p.externs.iter().find(|x| x.span == def) {
            let methods: Vec<String> = x
                .methods
                .iter()
                .map(|m| format!("    {} {}(...);", p.type_to_string(&m.ret), m.name))
                .collect();
            let doc = self.doc_comment(def);
            return Some(format!(
                "```iov\nextern {} {{\n{}\n}}\n```{}",
                x.name,
                methods.join("\n"),
                with_doc(&doc)
            ));
        }
        if let Some(text) = self.describe_block_item(def) {
            return Some(text);
        }
        if let Some(f) = p.fns.iter().find(|f| f.span == def) {
            let doc = self.doc_comment(def);
            return Some(format!(
                "```iov\nextern {}\n```{}",
                crate::signature::function_label(p, f),
                with_doc(&doc)
            ));
        }
        None
    }

    pub fn signature_help(&self, pos: Position) -> Option<SignatureHelp> {
        let text = self.text(self.root);
        crate::signature::help(&self.checked.program, self.root, text, offset(text, pos))
    }

    pub fn semantic_tokens(&self) -> Vec<SemanticToken> {
        crate::tokens::semantic_tokens(&self.checked.program, self.root, self.text(self.root))
    }

    pub fn folding_ranges(&self) -> Vec<FoldingRange> {
        crate::tokens::folding_ranges(self.text(self.root))
    }

    /// The declaration a position names: on a use, what it refers to; on a declaration's
    /// name, itself.
    fn declaration_at(&self, at: usize) -> Option<Span> {
        self.reference_at(at).map(|(_, d)| d).or_else(|| {
            self.checked
                .program
                .references
                .iter()
                .map(|(_, d)| *d)
                .find(|d| d.file == self.root && d.start as usize <= at && at <= d.end as usize)
        })
    }

    /// Renames what the position names, in this document; refused, with the reason, when the
    /// result would not be the same program.
    pub fn rename(
        &self,
        root_uri: &Uri,
        pos: Position,
        new_name: &str,
    ) -> std::result::Result<WorkspaceEdit, String> {
        let text = self.text(self.root);
        let at = offset(text, pos);
        let def = self
            .declaration_at(at)
            .ok_or("there is nothing to rename here")?;
        let old = &self.text(def.file)[def.start as usize..def.end as usize];
        if def.file != self.root {
            let file = &self.checked.files.get(def.file).name;
            return Err(format!("`{old}` is declared in {file}; rename it there"));
        }
        let toks: Vec<_> = iov_syntax::lexer::tokens(new_name).collect();
        if !matches!(toks.as_slice(), [(0, Ok(iov_syntax::lexer::Token::Ident(n)), _)] if n == new_name)
        {
            return Err(format!(
                "`{new_name}` is not a name: it must be an identifier and not a keyword"
            ));
        }
        let refs = &self.checked.program.references;
        if let Some((u, _)) = refs.iter().find(|(u, d)| *d == def && u.file != self.root) {
            let file = &self.checked.files.get(u.file).name;
            return Err(format!(
                "`{old}` is also used in {file}; renaming across files is not supported yet"
            ));
        }
        let taken = iov_syntax::lexer::tokens(text)
            .any(|(_, t, _)| matches!(t, Ok(iov_syntax::lexer::Token::Ident(n)) if n == new_name));
        if taken {
            return Err(format!("`{new_name}` already names something in this file"));
        }
        let mut spans: Vec<Span> = refs
            .iter()
            .filter(|(_, d)| *d == def)
            .map(|(u, _)| *u)
            .collect();
        spans.push(def);
        spans.sort();
        spans.dedup();
        let edits = spans
            .into_iter()
            .map(|s| TextEdit::new(self.range(s), new_name.to_string()))
            .collect();
        Ok(WorkspaceEdit {
            changes: Some([(root_uri.clone(), edits)].into_iter().collect()),
            ..WorkspaceEdit::default()
        })
    }

    pub fn completion(&self, pos: Position) -> Vec<CompletionItem> {
        let text = self.text(self.root);
        crate::complete::complete(&self.checked.program, text, self.root, offset(text, pos))
    }

    /// The `//` comment lines right above the line where `span` starts.
    fn doc_comment(&self, span: Span) -> String {
        let text = self.text(span.file);
        let line_start = text[..span.start as usize].rfind('\n').map_or(0, |i| i + 1);
        let mut lines: Vec<&str> = text[..line_start]
            .lines()
            .rev()
            .take_while(|l| l.trim_start().starts_with("//"))
            .map(|l| l.trim_start().trim_start_matches('/').trim())
            .collect();
        lines.reverse();
        lines.join("\n")
    }

    /// Tables and actions: found in the syntax tree by the span of their name.
    fn describe_block_item(&self, def: Span) -> Option<String> {
        let module = self
            .checked
            .program
            .modules
            .iter()
            .find(|m| m.file == def.file)?;
        let text = self.text(def.file);
        let src = |s: Span| {
            text.get(s.start as usize..s.end as usize)
                .unwrap_or("")
                .to_string()
        };
        let locals = module.ast.items.iter().flat_map(|i| match i {
            Item::Control(c) => c.locals.as_slice(),
            _ => &[],
        });
        let mut actions: Vec<&ast::ActionDecl> = module
            .ast
            .items
            .iter()
            .filter_map(|i| match i {
                Item::Action(a) => Some(a),
                _ => None,
            })
            .collect();
        for l in locals {
            match l {
                ast::Local::Table(t) if t.name.span == def => {
                    let mut out = format!("```iov\ntable {}\n```\n", t.name.name);
                    for prop in &t.props {
                        match prop {
                            ast::TableProp::Key(keys, _) => {
                                let ks: Vec<String> = keys
                                    .iter()
                                    .map(|k| {
                                        format!("`{}`: {}", src(k.expr.span), k.match_kind.name)
                                    })
                                    .collect();
                                out.push_str(&format!("\nkeys: {}", ks.join(", ")));
                            }
                            ast::TableProp::Actions(list, _) => {
                                let names: Vec<&str> =
                                    list.iter().map(|a| a.name.name.as_str()).collect();
                                out.push_str(&format!("\nactions: {}", names.join(", ")));
                            }
                            ast::TableProp::DefaultAction {
                                is_const, action, ..
                            } => {
                                out.push_str(&format!(
                                    "\ndefault: {}{}",
                                    if *is_const { "const " } else { "" },
                                    src(action.span)
                                ));
                            }
                            ast::TableProp::Other(n, e, _) if n.name == "size" => {
                                out.push_str(&format!("\nsize: {}", src(e.span)))
                            }
                            _ => {}
                        }
                    }
                    return Some(out);
                }
                ast::Local::Action(a) => actions.push(a),
                _ => {}
            }
        }
        let a = actions.into_iter().find(|a| a.name.span == def)?;
        let params: Vec<String> = a.params.iter().map(|q| src(q.span)).collect();
        let doc = self.doc_comment(a.span);
        Some(format!(
            "```iov\naction {}({})\n```{}",
            a.name.name,
            params.join(", "),
            with_doc(&doc)
        ))
    }

    pub fn definition(&self, root_uri: &Uri, pos: Position) -> Option<Location> {
        let at = offset(self.text(self.root), pos);
        let (_, def) = self.reference_at(at)?;
        Some(Location::new(
            self.uri(def.file, root_uri)?,
            self.range(def),
        ))
    }

    pub fn references(
        &self,
        root_uri: &Uri,
        pos: Position,
        include_declaration: bool,
    ) -> Vec<Location> {
        let at = offset(self.text(self.root), pos);
        let refs = &self.checked.program.references;
        // On a use, its declaration; on a declaration's name, itself.
        let def = self.reference_at(at).map(|(_, d)| d).or_else(|| {
            refs.iter()
                .map(|(_, d)| *d)
                .find(|d| d.file == self.root && d.start as usize <= at && at <= d.end as usize)
        });
        let Some(def) = def else { return Vec::new() };
        let mut spans: Vec<Span> = refs
            .iter()
            .filter(|(_, d)| *d == def)
            .map(|(u, _)| *u)
            .collect();
        if include_declaration {
            spans.insert(0, def);
        }
        spans.dedup();
        spans
            .into_iter()
            .filter_map(|s| Some(Location::new(self.uri(s.file, root_uri)?, self.range(s))))
            .collect()
    }

    #[allow(deprecated)] // `DocumentSymbol::deprecated` must still be given.
    fn symbol(
        &self,
        name: &ast::Ident,
        kind: SymbolKind,
        whole: Span,
        children: Vec<DocumentSymbol>,
    ) -> DocumentSymbol {
        DocumentSymbol {
            name: name.name.clone(),
            detail: None,
            kind,
            tags: None,
            deprecated: None,
            range: self.range(whole),
            selection_range: self.range(name.span),
            children: (!children.is_empty()).then_some(children),
        }
    }

    /// The outline: declarations, with states, actions and tables inside blocks.
    pub fn symbols(&self) -> Vec<DocumentSymbol> {
        let Some(module) = self
            .checked
            .program
            .modules
            .iter()
            .find(|m| m.file == self.root)
        else {
            return Vec::new();
        };
        let locals = |locals: &[ast::Local]| -> Vec<DocumentSymbol> {
            locals
                .iter()
                .filter_map(|l| match l {
                    ast::Local::Action(a) => {
                        Some(self.symbol(&a.name, SymbolKind::FUNCTION, a.span, vec![]))
                    }
                    ast::Local::Table(t) => {
                        Some(self.symbol(&t.name, SymbolKind::OBJECT, t.span, vec![]))
                    }
                    ast::Local::Instance(i) => {
                        Some(self.symbol(&i.name, SymbolKind::VARIABLE, i.span, vec![]))
                    }
                    _ => None,
                })
                .collect()
        };
        module
            .ast
            .items
            .iter()
            .filter_map(|item| match item {
                Item::Struct(s) => {
                    let fields = s
                        .fields
                        .iter()
                        .map(|f| self.symbol(&f.name, SymbolKind::FIELD, f.span, vec![]))
                        .collect();
                    Some(self.symbol(&s.name, SymbolKind::STRUCT, s.span, fields))
                }
                Item::Enum(e) => Some(self.symbol(&e.name, SymbolKind::ENUM, e.span, vec![])),
                Item::Const(c) => Some(self.symbol(&c.name, SymbolKind::CONSTANT, c.span, vec![])),
                Item::Typedef(t) => {
                    Some(self.symbol(&t.name, SymbolKind::TYPE_PARAMETER, t.span, vec![]))
                }
                Item::Extern(x) => {
                    Some(self.symbol(&x.name, SymbolKind::INTERFACE, x.span, vec![]))
                }
                Item::ExternFn(f) => {
                    Some(self.symbol(&f.name, SymbolKind::FUNCTION, f.span, vec![]))
                }
                Item::Action(a) => Some(self.symbol(&a.name, SymbolKind::FUNCTION, a.span, vec![])),
                Item::Parser(p) => {
                    let mut children = locals(&p.locals);
                    children.extend(
                        p.states
                            .iter()
                            .map(|s| self.symbol(&s.name, SymbolKind::ENUM_MEMBER, s.span, vec![])),
                    );
                    Some(self.symbol(&p.name, SymbolKind::CLASS, p.span, children))
                }
                Item::Control(c) => {
                    Some(self.symbol(&c.name, SymbolKind::CLASS, c.span, locals(&c.locals)))
                }
                Item::Entry(e) => Some(self.symbol(&e.name, SymbolKind::MODULE, e.span, vec![])),
                Item::Import(_) | Item::Errors(_) | Item::Error(_) => None,
            })
            .collect()
    }
}
