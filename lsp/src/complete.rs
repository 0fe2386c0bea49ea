//! Completion: what may be written at the cursor.
//!
//! Takes: the checked program, the document's text and a byte offset.
//! Gives: completion items: members after `.` (fields, header and stack methods, extern
//! methods, enum members, `apply` and its results), states after `transition` and in `select`
//! cases, actions inside `actions = { }`, match kinds after a key's `:`, and otherwise keywords
//! and the names in scope. A file broken at the cursor (as it is while typing) still gets
//! members: the text before the dot is matched with the same expression elsewhere.

use iov_sema::types::Ty;
use iov_sema::Program;
use iov_syntax::ast::{Item, Local};
use tower_lsp_server::lsp_types::{CompletionItem, CompletionItemKind};

const KEYWORDS: &[&str] = &[
    "action",
    "actions",
    "apply",
    "bit",
    "bool",
    "const",
    "control",
    "default",
    "default_action",
    "deparser",
    "else",
    "entries",
    "enum",
    "error",
    "exit",
    "extern",
    "false",
    "header",
    "if",
    "import",
    "in",
    "inout",
    "int",
    "key",
    "out",
    "parser",
    "return",
    "select",
    "size",
    "state",
    "struct",
    "switch",
    "table",
    "transition",
    "true",
    "type",
    "typedef",
    "void",
];

const MATCH_KINDS: &[&str] = &["exact", "lpm", "ternary", "range", "optional"];

fn item(label: &str, kind: CompletionItemKind, detail: Option<String>) -> CompletionItem {
    CompletionItem {
        label: label.to_string(),
        kind: Some(kind),
        detail,
        ..CompletionItem::default()
    }
}

/// Completion items for what may follow a `.` on a value of type `ty` (the checker's list),
/// with field types as detail.
fn members(p: &Program, ty: &Ty) -> Vec<CompletionItem> {
    let fields = match ty {
        Ty::Struct(s) => p.structs[*s].fields.as_slice(),
        _ => &[],
    };
    p.member_names(ty)
        .iter()
        .map(|name| match fields.iter().find(|f| f.name == *name) {
            Some(f) => item(
                name,
                CompletionItemKind::FIELD,
                Some(p.type_to_string(&f.ty)),
            ),
            None if matches!(ty, Ty::TypeName(_)) => {
                item(name, CompletionItemKind::ENUM_MEMBER, None)
            }
            None if matches!(ty, Ty::ApplyResult(_)) => item(name, CompletionItemKind::FIELD, None),
            None => item(name, CompletionItemKind::METHOD, None),
        })
        .collect()
}

/// The type of the expression written `chain` nearest before `at` (a name can mean other
/// things in other blocks, so the nearest use wins), else the first one after it.
pub fn same_expression<'p>(
    p: &'p Program,
    root: iov_diagnostics::FileId,
    text: &str,
    chain: &str,
    at: usize,
) -> Option<&'p Ty> {
    let uses = p.expr_types.iter().filter(|(s, _)| {
        s.file == root && text.get(s.start as usize..s.end as usize) == Some(chain)
    });
    let (before, after): (Vec<_>, Vec<_>) = uses.partition(|(s, _)| (s.start as usize) < at);
    before
        .into_iter()
        .max_by_key(|(s, _)| s.start)
        .or_else(|| after.into_iter().min_by_key(|(s, _)| s.start))
        .map(|(_, t)| t)
}

/// The dotted chain of names just before `end` (`hdr.ipv4` in `x = hdr.ipv4.`).
fn chain_before(text: &str, end: usize) -> &str {
    &text[start_of_run(text, end, |c| {
        c.is_ascii_alphanumeric() || c == '_' || c == '.'
    })..end]
}

/// Where the run of characters that satisfy `keep` ending at `end` starts: just after the
/// last character before `end` that does not (which may be several bytes long).
pub(crate) fn start_of_run(text: &str, end: usize, keep: impl Fn(char) -> bool) -> usize {
    text[..end]
        .char_indices()
        .rev()
        .find(|&(_, c)| !keep(c))
        .map_or(0, |(i, c)| i + c.len_utf8())
}

pub fn complete(
    p: &Program,
    text: &str,
    root: iov_diagnostics::FileId,
    at: usize,
) -> Vec<CompletionItem> {
    // The offset comes from the editor: keep it inside the text, on a character boundary.
    let mut at = at.min(text.len());
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    // The word being typed, and what comes before it.
    let word_start = start_of_run(text, at, |c| c.is_ascii_alphanumeric() || c == '_');
    let before = text[..word_start].trim_end();
    if text[..word_start].ends_with('.') {
        let chain = chain_before(text, word_start - 1);
        // The type of the same expression, wherever the file uses it.
        let ty = same_expression(p, root, text, chain, word_start);
        return ty.map(|t| members(p, t)).unwrap_or_default();
    }
    let module = p.modules.iter().find(|m| m.file == root);
    let inside = |start: u32, end: u32| start as usize <= at && at <= end as usize;
    if before.ends_with("transition")
        || (before.ends_with(':')
            && text[..at]
                .rfind("select")
                .is_some_and(|s| !text[s..at].contains('}')))
    {
        if let Some(parser) = module.and_then(|m| {
            m.ast.items.iter().find_map(|i| match i {
                Item::Parser(p) if inside(p.span.start, p.span.end) => Some(p),
                _ => None,
            })
        }) {
            let mut v: Vec<_> = parser
                .states
                .iter()
                .map(|s| item(&s.name.name, CompletionItemKind::ENUM_MEMBER, None))
                .collect();
            v.extend(["accept", "reject"].map(|s| item(s, CompletionItemKind::KEYWORD, None)));
            if before.ends_with("transition") {
                v.push(item("select", CompletionItemKind::KEYWORD, None));
            }
            return v;
        }
    }
    if before.ends_with(':')
        && text[..at]
            .rfind("key")
            .is_some_and(|k| !text[k..at].contains('}'))
    {
        return MATCH_KINDS
            .iter()
            .map(|k| item(k, CompletionItemKind::KEYWORD, None))
            .collect();
    }
    let control = module.and_then(|m| {
        m.ast.items.iter().find_map(|i| match i {
            Item::Control(c) if inside(c.span.start, c.span.end) => Some(c),
            _ => None,
        })
    });
    let actions = || -> Vec<CompletionItem> {
        control
            .map(|c| {
                c.locals
                    .iter()
                    .filter_map(|l| match l {
                        Local::Action(a) => {
                            Some(item(&a.name.name, CompletionItemKind::FUNCTION, None))
                        }
                        _ => None,
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    if text[..at].rfind("actions").is_some_and(|a| {
        let rest = &text[a..at];
        rest.contains('{') && !rest.contains('}')
    }) {
        return actions();
    }
    // Anywhere else: keywords, the block's locals and parameters, and global names.
    let mut v: Vec<_> = KEYWORDS
        .iter()
        .map(|k| item(k, CompletionItemKind::KEYWORD, None))
        .collect();
    if let Some(c) = control {
        v.extend(
            c.params
                .iter()
                .map(|q| item(&q.name.name, CompletionItemKind::VARIABLE, None)),
        );
        for l in &c.locals {
            match l {
                Local::Action(a) => v.push(item(&a.name.name, CompletionItemKind::FUNCTION, None)),
                Local::Table(t) => v.push(item(&t.name.name, CompletionItemKind::MODULE, None)),
                Local::Instance(i) => {
                    v.push(item(&i.name.name, CompletionItemKind::VARIABLE, None))
                }
                Local::Var(x) => v.push(item(&x.name.name, CompletionItemKind::VARIABLE, None)),
                Local::Const(x) => v.push(item(&x.name.name, CompletionItemKind::CONSTANT, None)),
                Local::Error(_) => {}
            }
        }
    }
    v.extend(
        p.structs
            .iter()
            .map(|s| item(&s.name, CompletionItemKind::STRUCT, None)),
    );
    v.extend(
        p.enums
            .iter()
            .map(|e| item(&e.name, CompletionItemKind::ENUM, None)),
    );
    v.extend(p.consts.iter().map(|c| {
        item(
            &c.name,
            CompletionItemKind::CONSTANT,
            Some(p.type_to_string(&c.ty)),
        )
    }));
    v.extend(
        p.fns
            .iter()
            .map(|f| item(&f.name, CompletionItemKind::FUNCTION, None)),
    );
    v.extend(
        p.externs
            .iter()
            .map(|x| item(&x.name, CompletionItemKind::INTERFACE, None)),
    );
    v.sort_by(|a, b| a.label.cmp(&b.label));
    v.dedup_by(|a, b| a.label == b.label);
    v
}
