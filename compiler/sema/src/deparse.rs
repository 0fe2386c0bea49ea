//! What the deparser does to the packet's headers, known before code generation.
//!
//! Takes: the checked entry (parser, control, deparser) and every control and action body.
//! Gives: `Program::deparsing`: the headers the parser extracts, the deparser's emits, the
//! headers whose validity the program changes, and whether the deparser is provably the
//! identity (it emits every header the parser can extract, once each, in an order every
//! parse path agrees with, and nothing changes a header's validity): then code generation
//! emits nothing for it and the packet keeps its bytes. Also W0002: a header the parser
//! extracts that the deparser never emits and nothing invalidates, so that every packet
//! silently loses it.
//!
//! Paths are relative to the headers struct: `ipv4`, `outer.eth`, `vlans` for a whole
//! stack (what `.next` extracts) and `mpls[0]` for one element.

use crate::collect::Cx;
use iov_diagnostics::{Code, Diagnostic, Span};
use iov_syntax::ast::{self, ExprKind, Item, Local, Stmt, Transition};
use std::collections::{HashMap, HashSet};

/// See the module header.
#[derive(Clone, Debug, Default)]
pub struct Deparsing {
    /// Extracted headers, by path, with the span of their first extract.
    pub extracted: Vec<(String, Span)>,
    /// The deparser's emits in order (a struct argument expanded by codegen), when every
    /// one is a statement of the deparser's `apply` block itself; `None` when an emit is
    /// conditional.
    pub emitted: Option<Vec<String>>,
    /// The first emit inside a condition, if any.
    pub conditional_emit: Option<Span>,
    /// Headers given contents the packet did not have: `setValid()` or assigned whole.
    pub materialized: HashSet<String>,
    /// Headers `setInvalid()` is called on.
    pub invalidated: HashSet<String>,
    /// Whether the parser skips bytes (`advance`).
    pub advances: bool,
    /// Whether the entry has a deparser at all.
    pub has_deparser: bool,
    /// The deparser provably rebuilds the packet as it was parsed (see the module header).
    pub identity: bool,
}

/// The path of a header expression below the block's root parameter (`hdr.vlans.next` ->
/// `vlans`, `hdr.mpls[0]` -> `mpls[0]`), or `None` for anything else.
pub fn header_path(e: &ast::Expr) -> Option<String> {
    fn go(e: &ast::Expr, root: bool) -> Option<String> {
        match &e.kind {
            ExprKind::Name(_) if root => Some(String::new()),
            ExprKind::Member(b, f) if root && matches!(f.name.as_str(), "next" | "last") => {
                go(b, true)
            }
            ExprKind::Member(b, f) => {
                let base = go(b, true)?;
                Some(if base.is_empty() {
                    f.name.clone()
                } else {
                    format!("{base}.{}", f.name)
                })
            }
            ExprKind::Index(b, i) => {
                let base = go(b, true)?;
                match &i.kind {
                    ExprKind::Int(l) => Some(format!("{base}[{}]", l.value)),
                    _ => Some(base),
                }
            }
            _ => None,
        }
    }
    go(e, true).filter(|p| !p.is_empty())
}

/// `obj.method(args)` as a statement.
pub fn method_call(st: &Stmt) -> Option<(&ast::Expr, &str, &[ast::Expr])> {
    let Stmt::Call(e) = st else { return None };
    let ExprKind::Call { callee, args, .. } = &e.kind else {
        return None;
    };
    let ExprKind::Member(obj, m) = &callee.kind else {
        return None;
    };
    Some((obj, m.name.as_str(), args))
}

/// Every statement of `stmts`, nested ones included, with whether it is nested.
pub fn walk<'s>(stmts: &'s [Stmt], nested: bool, f: &mut dyn FnMut(&'s Stmt, bool)) {
    for st in stmts {
        f(st, nested);
        match st {
            Stmt::If(_, t, e, _) => {
                walk(&t.stmts, true, f);
                if let Some(e) = e {
                    walk(&e.stmts, true, f);
                }
            }
            Stmt::Switch(_, cases, _) => {
                for c in cases {
                    if let Some(b) = &c.body {
                        walk(&b.stmts, true, f);
                    }
                }
            }
            Stmt::Block(b) => walk(&b.stmts, nested, f),
            _ => {}
        }
    }
}

/// Every statement list that runs: controls' `apply` blocks, actions (in controls and at top
/// level) and parser states. The deparse pass and code generation's planning both walk them.
pub fn bodies(modules: &[crate::Module]) -> Vec<&[Stmt]> {
    let mut out: Vec<&[Stmt]> = Vec::new();
    for m in modules {
        for item in &m.ast.items {
            match item {
                Item::Control(c) => {
                    out.push(&c.apply.stmts);
                    for l in &c.locals {
                        if let Local::Action(a) = l {
                            out.push(&a.body.stmts);
                        }
                    }
                }
                Item::Action(a) => out.push(&a.body.stmts),
                Item::Parser(p) => out.extend(p.states.iter().map(|s| &s.body[..])),
                _ => {}
            }
        }
    }
    out
}

/// Whether `inner` (a path) lies within `outer`: equal, a member, or an element of it.
pub fn covers(outer: &str, inner: &str) -> bool {
    outer.is_empty()
        || inner == outer
        || inner
            .strip_prefix(outer)
            .is_some_and(|rest| rest.starts_with('.') || rest.starts_with('['))
}

impl Cx {
    pub fn check_deparsing(&mut self) {
        let Some(entry) = self.p.entry.clone() else {
            return;
        };
        let mut d = Deparsing {
            has_deparser: entry.deparser.is_some(),
            ..Deparsing::default()
        };
        // Validity changes anywhere in the program.
        let bodies = bodies(&self.p.modules);
        for body in bodies {
            walk(body, false, &mut |st, _| {
                if let Some((obj, m, _)) = method_call(st) {
                    let path = header_path(obj);
                    match (m, path) {
                        ("setValid", Some(p)) => {
                            d.materialized.insert(p);
                        }
                        ("setInvalid", Some(p)) => {
                            d.invalidated.insert(p);
                        }
                        // A shift makes elements valid and invalid at once.
                        ("push_front" | "pop_front", Some(p)) => {
                            d.materialized.insert(p.clone());
                            d.invalidated.insert(p);
                        }
                        _ => {}
                    }
                }
                if let Stmt::Assign(lhs, _, _) = st {
                    let whole_header = matches!(
                        self.p.expr_types.get(&lhs.span),
                        Some(crate::types::Ty::Struct(s))
                            if self.p.structs[*s].kind == ast::StructKind::Header
                    );
                    if let (true, Some(p)) = (whole_header, header_path(lhs)) {
                        d.materialized.insert(p);
                    }
                }
            });
        }
        // The parser's extracts, per state in order.
        let Item::Parser(parser) =
            self.p.modules[entry.parser.module].ast.items[entry.parser.item].clone()
        else {
            return;
        };
        let mut by_state: HashMap<&str, Vec<String>> = HashMap::new();
        for s in &parser.states {
            let mut list = Vec::new();
            walk(&s.body, false, &mut |st, _| {
                if let Some((_, m, args)) = method_call(st) {
                    match m {
                        "extract" => {
                            if let Some(p) = args.first().and_then(header_path) {
                                if !d.extracted.iter().any(|(q, _)| *q == p) {
                                    d.extracted.push((p.clone(), st.span()));
                                }
                                list.push(p);
                            }
                        }
                        "advance" => d.advances = true,
                        _ => {}
                    }
                }
            });
            by_state.insert(s.name.name.as_str(), list);
        }
        if let Some(dp) = entry.deparser {
            if let Item::Control(c) = self.p.modules[dp.module].ast.items[dp.item].clone() {
                let mut emitted = Vec::new();
                let mut conditional = None;
                walk(&c.apply.stmts, false, &mut |st, nested| {
                    if let Some((_, "emit", args)) = method_call(st) {
                        if nested && conditional.is_none() {
                            conditional = Some(st.span());
                        }
                        // The whole headers struct emits everything (path "").
                        emitted.extend(args.first().map(|a| header_path(a).unwrap_or_default()));
                    }
                });
                d.emitted = conditional.is_none().then_some(emitted);
                d.conditional_emit = conditional;
                let deparser_span = c.name.span;
                self.warn_unemitted(&d, deparser_span, c.name.name.clone());
            }
        }
        d.identity = d.has_deparser && identity(&d, &parser, &by_state);
        self.p.deparsing = Some(d);
    }

    /// W0002 for every extracted header the deparser never emits and nothing invalidates.
    fn warn_unemitted(&mut self, d: &Deparsing, deparser: Span, name: String) {
        let Some(emitted) = &d.emitted else { return };
        for (path, span) in &d.extracted {
            let emits = emitted.iter().any(|e| covers(e, path));
            let dropped = d
                .invalidated
                .iter()
                .any(|i| covers(path, i) || covers(i, path));
            if emits || dropped {
                continue;
            }
            let w = Diagnostic::new(
                Code::W0002,
                format!("header `{path}` is extracted but never emitted"),
                *span,
            )
            .label("extracted here")
            .secondary(deparser, format!("`{name}` does not emit it"))
            .note("the deparser's output is the headers it emits, then the payload: every packet with this header leaves without it")
            .help(format!("emit it (`pkt.emit(hdr.{path});`), call `setInvalid()` on it where removing it is meant, or leave the deparser out of the entry to send packets out as parsed"));
            self.diags.push(w);
        }
    }
}

/// Whether the deparser provably emits the packet's headers as parsed (module header).
fn identity(
    d: &Deparsing,
    parser: &ast::ParserDecl,
    by_state: &HashMap<&str, Vec<String>>,
) -> bool {
    let Some(emitted) = &d.emitted else {
        return false;
    };
    if !d.materialized.is_empty() || !d.invalidated.is_empty() {
        return false;
    }
    // Every extracted header is emitted exactly once; its rank is its emit's position.
    let mut rank: HashMap<&str, usize> = HashMap::new();
    for (path, _) in &d.extracted {
        let hits: Vec<usize> = emitted
            .iter()
            .enumerate()
            .filter(|(_, e)| covers(e, path) || covers(path, e))
            .map(|(i, _)| i)
            .collect();
        if hits.len() != 1 || emitted[hits[0]] != *path {
            return false;
        }
        rank.insert(path.as_str(), hits[0]);
    }
    // Nothing is emitted that the parser does not extract (it could only be invalid, but
    // a header emitted and never extracted is one the program means to add).
    if emitted
        .iter()
        .any(|e| !d.extracted.iter().any(|(p, _)| p == e))
    {
        return false;
    }
    // Along every parse path ranks increase: within a state, and from a state to every
    // state reachable after it (a state extracting one stack again and again is fine).
    let targets = |s: &ast::StateDecl| -> Vec<String> {
        match &s.transition {
            None => Vec::new(),
            Some(Transition::Direct(t)) => vec![t.name.clone()],
            Some(Transition::Select { cases, .. }) => {
                cases.iter().map(|c| c.state.name.clone()).collect()
            }
        }
    };
    let by_name: HashMap<&str, &ast::StateDecl> = parser
        .states
        .iter()
        .map(|s| (s.name.name.as_str(), s))
        .collect();
    for s in &parser.states {
        let list = &by_state[s.name.name.as_str()];
        let ranks: Vec<usize> = list.iter().map(|p| rank[p.as_str()]).collect();
        if ranks.windows(2).any(|w| w[0] > w[1]) {
            return false;
        }
        let Some(&last) = ranks.last() else { continue };
        let mut seen = HashSet::new();
        let mut todo = targets(s);
        while let Some(t) = todo.pop() {
            if !seen.insert(t.clone()) {
                continue;
            }
            let Some(ts) = by_name.get(t.as_str()) else {
                continue;
            };
            if let Some(first) = by_state[t.as_str()].first() {
                let r = rank[first.as_str()];
                if r < last || (r == last && !is_stack_extract(ts, first)) {
                    return false;
                }
            }
            todo.extend(targets(ts));
        }
    }
    true
}

/// Whether state `s` extracts `path` through a stack's `.next` (so it may repeat).
fn is_stack_extract(s: &ast::StateDecl, path: &str) -> bool {
    let mut found = false;
    walk(&s.body, false, &mut |st, _| {
        if let Some((_, "extract", args)) = method_call(st) {
            if let Some(ExprKind::Member(_, m)) = args.first().map(|a| &a.kind) {
                found |=
                    m.name == "next" && args.first().and_then(header_path).as_deref() == Some(path);
            }
        }
    });
    found
}
