//! Parser states: each state's statements and transition, then the state graph.
//!
//! Takes: a parser declaration whose parameters and locals are in scope.
//! Gives: transitions that name real states (E0105), select cases that match the select
//! expression (E0302), a `start` state (E0303), no redefinition of `accept`/`reject` (E0304),
//! unreachable states (W0001), states that can never finish (E0300) and loops the verifier
//! could not bound (E0301): a loop must extract into a header stack's `.next` on every turn,
//! so the stack's size bounds it.

use crate::collect::Cx;
use crate::types::Ty;
use iov_diagnostics::{Code, Diagnostic, Span};
use iov_syntax::ast::{self, ExprKind, Keyset, Stmt, Transition};
use std::collections::HashMap;

const ACCEPT: &str = "accept";
const REJECT: &str = "reject";

struct Node {
    name: String,
    span: Span,
    /// Successor states (without `accept`/`reject`), and whether a final state is reachable directly.
    next: Vec<usize>,
    finishes: bool,
    /// Extracts into `stack.next`: a loop through this state is bounded by the stack size.
    bounded: bool,
}

/// Whether a state always extracts into a header stack's `.next`: only statements at the
/// state's top level count, since a conditional extract does not happen on every turn.
fn extracts_next(cx: &Cx, body: &[Stmt]) -> bool {
    body.iter().any(|s| match s {
        Stmt::Call(e) => match &e.kind {
            ExprKind::Call { callee, args, .. } => {
                matches!(&callee.kind, ExprKind::Member(_, m) if m.name == "extract")
                    && args.iter().any(|a| match &a.kind {
                        ExprKind::Member(base, m) if m.name == "next" => {
                            matches!(cx.p.expr_types.get(&base.span), Some(Ty::Stack(..)))
                        }
                        _ => false,
                    })
            }
            _ => false,
        },
        _ => false,
    })
}

/// `1 expression`, `2 expressions`.
fn count(n: usize, noun: &str) -> String {
    format!("{n} {noun}{}", if n == 1 { "" } else { "s" })
}

/// Whether some packet matches no case: then the select falls through to `reject`.
fn may_fall_through(cases: &[ast::SelectCase]) -> bool {
    !cases.iter().any(|c| match &c.keyset {
        Keyset::Default(_) | Keyset::DontCare(_) => true,
        Keyset::Tuple(elems, _) => elems
            .iter()
            .all(|e| matches!(e, Keyset::Default(_) | Keyset::DontCare(_))),
        _ => false,
    })
}

impl Cx {
    pub fn check_states(&mut self, p: &ast::ParserDecl) {
        let mut index: HashMap<String, usize> = HashMap::new();
        for (i, s) in p.states.iter().enumerate() {
            if s.name.name == ACCEPT || s.name.name == REJECT {
                let d = Diagnostic::new(
                    Code::E0304,
                    format!(
                        "`{}` is a built-in final state and cannot be defined",
                        s.name.name
                    ),
                    s.name.span,
                )
                .label("reserved name")
                .help("rename this state and transition to it");
                self.error(d);
                continue;
            }
            if let Some(&prev) = index.get(&s.name.name) {
                let d = Diagnostic::new(
                    Code::E0101,
                    format!("state `{}` is defined more than once", s.name.name),
                    s.name.span,
                )
                .label("defined again here")
                .secondary(p.states[prev].name.span, "first defined here");
                self.error(d);
                continue;
            }
            index.insert(s.name.name.clone(), i);
        }
        let state_names: Vec<String> = p
            .states
            .iter()
            .map(|s| s.name.name.clone())
            .chain([ACCEPT.into(), REJECT.into()])
            .collect();
        let mut nodes: Vec<Node> = Vec::new();
        let mut node_of: HashMap<String, usize> = HashMap::new();
        for (i, s) in p.states.iter().enumerate() {
            if index.get(&s.name.name) == Some(&i) {
                node_of.insert(s.name.name.clone(), nodes.len());
                nodes.push(Node {
                    name: s.name.name.clone(),
                    span: s.name.span,
                    next: Vec::new(),
                    finishes: false,
                    bounded: false,
                });
            }
        }
        for s in &p.states {
            let Some(&n) = node_of.get(&s.name.name) else {
                continue;
            };
            if nodes[n].span != s.name.span {
                continue;
            }
            self.locals.push(HashMap::new());
            for st in &s.body {
                self.check_stmt(st);
            }
            nodes[n].bounded = extracts_next(self, &s.body);
            let targets: Vec<&ast::Ident> = match &s.transition {
                // No transition: the packet is rejected, as in P4.
                None => {
                    nodes[n].finishes = true;
                    vec![]
                }
                Some(Transition::Direct(t)) => vec![t],
                Some(Transition::Select { exprs, cases, .. }) => {
                    let tys: Vec<Ty> = exprs.iter().map(|e| self.check_expr(e, None)).collect();
                    for (e, t) in exprs.iter().zip(&tys) {
                        if *t == Ty::InfInt {
                            let d = Diagnostic::new(
                                Code::E0302,
                                "`select` on a constant always takes the same case",
                                e.span,
                            )
                            .label("constant");
                            self.error(d);
                        }
                    }
                    for case in cases {
                        self.check_select_case(&case.keyset, &tys);
                    }
                    if may_fall_through(cases) {
                        nodes[n].finishes = true;
                    }
                    cases.iter().map(|c| &c.state).collect()
                }
            };
            self.locals.pop();
            for t in targets {
                if t.name == ACCEPT || t.name == REJECT {
                    nodes[n].finishes = true;
                    continue;
                }
                match node_of.get(&t.name) {
                    Some(&to) => {
                        self.p.references.push((t.span, nodes[to].span));
                        nodes[n].next.push(to);
                    }
                    None => {
                        let d = Diagnostic::new(
                            Code::E0105,
                            format!("parser `{}` has no state `{}`", p.name.name, t.name),
                            t.span,
                        )
                        .label("unknown state")
                        .suggest(&t.name, state_names.iter().map(|s| s.as_str()));
                        self.error(d);
                        // Treat as final so one typo gives one error.
                        nodes[n].finishes = true;
                    }
                }
            }
        }
        self.check_graph(p, &nodes, &node_of);
    }

    fn check_select_case(&mut self, ks: &Keyset, tys: &[Ty]) {
        match ks {
            Keyset::Default(_) | Keyset::DontCare(_) => {}
            Keyset::Tuple(elems, span) => {
                if elems.len() != tys.len() {
                    let d = Diagnostic::new(
                        Code::E0302,
                        format!(
                            "this case has {} values, but `select` has {}",
                            elems.len(),
                            count(tys.len(), "expression")
                        ),
                        *span,
                    )
                    .label("wrong number of values");
                    self.error(d);
                    return;
                }
                for (e, t) in elems.iter().zip(tys) {
                    self.check_keyset_elem(e, t, None, Code::E0202);
                }
            }
            one => {
                if tys.len() != 1 {
                    let d = Diagnostic::new(
                        Code::E0302,
                        format!(
                            "this case has 1 value, but `select` has {}",
                            count(tys.len(), "expression")
                        ),
                        one.span(),
                    )
                    .label("wrong number of values")
                    .help("match several expressions with a tuple: `(a, b): state;`");
                    self.error(d);
                    return;
                }
                self.check_keyset_elem(one, &tys[0], None, Code::E0202);
            }
        }
    }

    fn check_graph(
        &mut self,
        p: &ast::ParserDecl,
        nodes: &[Node],
        node_of: &HashMap<String, usize>,
    ) {
        let Some(&start) = node_of.get("start") else {
            let d = Diagnostic::new(
                Code::E0303,
                format!("parser `{}` has no `start` state", p.name.name),
                p.name.span,
            )
            .label("no `state start`")
            .help("parsing begins in the state named `start`");
            self.error(d);
            return;
        };
        // Reachable from start.
        let mut reach = vec![false; nodes.len()];
        let mut stack = vec![start];
        while let Some(n) = stack.pop() {
            if !std::mem::replace(&mut reach[n], true) {
                stack.extend(nodes[n].next.iter().copied());
            }
        }
        for (i, n) in nodes.iter().enumerate() {
            if !reach[i] {
                let d = Diagnostic::new(
                    Code::W0001,
                    format!("state `{}` is never reached", n.name),
                    n.span,
                )
                .label("no transition leads here from `start`");
                self.error(d);
            }
        }
        // Can finish: reaches accept or reject.
        let mut done: Vec<bool> = nodes.iter().map(|n| n.finishes).collect();
        loop {
            let mut changed = false;
            for i in 0..nodes.len() {
                if !done[i] && nodes[i].next.iter().any(|&j| done[j]) {
                    done[i] = true;
                    changed = true;
                }
            }
            if !changed {
                break;
            }
        }
        for (i, n) in nodes.iter().enumerate() {
            if reach[i] && !done[i] {
                let d = Diagnostic::new(
                    Code::E0300,
                    format!("state `{}` never reaches `accept` or `reject`", n.name),
                    n.span,
                )
                .label("every path from here loops forever")
                .help("add a case that leaves the loop, e.g. `default: accept;`");
                self.error(d);
            }
        }
        // Loops: a cycle must pass through a state that extracts into a stack's `.next`.
        let mut reported = vec![false; nodes.len()];
        for i in 0..nodes.len() {
            if !reach[i] || reported[i] || nodes[i].bounded {
                continue;
            }
            // Is there a cycle through `i` that avoids every bounded state?
            let mut seen = vec![false; nodes.len()];
            let mut stack: Vec<usize> = nodes[i].next.clone();
            let mut cyclic = false;
            while let Some(n) = stack.pop() {
                if n == i {
                    cyclic = true;
                    break;
                }
                if nodes[n].bounded || std::mem::replace(&mut seen[n], true) {
                    continue;
                }
                stack.extend(nodes[n].next.iter().copied());
            }
            if cyclic && done[i] {
                for (j, s) in seen.iter().enumerate() {
                    if *s {
                        reported[j] = true;
                    }
                }
                let d = Diagnostic::new(Code::E0301, format!("state `{}` is on a loop the verifier cannot bound", nodes[i].name), nodes[i].span)
                    .label("this loop extracts into no header stack")
                    .note("the eBPF verifier accepts only loops with a known bound; a loop that extracts into `stack.next` on every turn is bounded by the stack's size")
                    .help("extract into a header stack's `.next` in the loop, or unroll it into separate states");
                self.error(d);
            }
        }
    }
}
