//! The program's entry: `xdp(P(), C(), D()) main;` (or `tc_ingress`, `tc_egress`).
//!
//! Takes: the entry declarations of the root file and the blocks they name.
//! Gives: `Program::entry`, after checking there is exactly one entry in a program
//! (E0600, E0602), a known hook, and blocks of the right kinds and signatures sharing one
//! headers struct (E0601). A file with no parser, control or entry is a library and needs none.

use crate::collect::Cx;
use crate::scope::SymKind;
use crate::types::Ty;
use crate::{Entry, ItemRef};
use iov_diagnostics::{Code, Diagnostic, Span};
use iov_syntax::ast::{ControlKind, Direction, Item, StructKind};

pub const HOOKS: &[&str] = &["xdp", "tc_ingress", "tc_egress"];

/// A parameter an entry block must have: its direction and its type's name (`H`: the headers).
type ParamShape = (Option<Direction>, &'static str);

/// What each of the three blocks must be and take.
const SHAPES: [(&str, [ParamShape; 2]); 3] = [
    ("parser", [(None, "packet_in"), (Some(Direction::Out), "H")]),
    (
        "control",
        [
            (Some(Direction::InOut), "H"),
            (Some(Direction::InOut), "std_meta_t"),
        ],
    ),
    (
        "deparser",
        [(None, "packet_out"), (Some(Direction::InOut), "H")],
    ),
];

impl Cx {
    pub fn check_entry(&mut self) {
        let root = self.p.root_index();
        for m in 0..self.p.modules.len() {
            if m == root {
                continue;
            }
            let spans: Vec<Span> = self.p.modules[m]
                .ast
                .items
                .iter()
                .filter_map(|i| match i {
                    Item::Entry(e) => Some(e.span),
                    _ => None,
                })
                .collect();
            for span in spans {
                let module = self.p.modules[m].name.clone();
                let d = Diagnostic::new(
                    Code::E0602,
                    format!("imported module `{module}` has an entry"),
                    span,
                )
                .label("only the program's root file has an entry")
                .help("move the entry into the program that imports this module");
                self.error(d);
            }
        }
        let items = std::mem::take(&mut self.p.modules[root].ast.items);
        let entries: Vec<_> = items
            .iter()
            .filter_map(|i| match i {
                Item::Entry(e) => Some(e.clone()),
                _ => None,
            })
            .collect();
        let first_block = items.iter().find_map(|i| match i {
            Item::Parser(p) => Some(p.name.span),
            Item::Control(c) => Some(c.name.span),
            _ => None,
        });
        self.p.modules[root].ast.items = items;
        self.module = root;
        // `counter(...) name;` at top level reads like an entry; say what it really is.
        let mut entries = entries;
        entries.retain(|e| {
            let is_extern = self
                .lookup_global(root, &e.hook.name)
                .is_some_and(|s| matches!(s.kind, SymKind::Extern(_)));
            if is_extern {
                let d = Diagnostic::new(
                    Code::E0502,
                    format!(
                        "an instance of `{}` cannot be declared at top level",
                        e.hook.name
                    ),
                    e.span,
                )
                .label("extern instance outside a block")
                .help("declare it among the locals of the control or parser that uses it");
                self.diags.push(d);
            }
            !is_extern
        });
        if entries.is_empty() {
            if let Some(span) = first_block {
                let d = Diagnostic::new(Code::E0600, "this program has blocks but no entry", span)
                    .label("declared here, but never attached to a hook")
                    .help("end the file with an entry, e.g. `xdp(MyParser(), MyIngress(), MyDeparser()) main;`");
                self.error(d);
            }
            return;
        }
        for extra in &entries[1..] {
            let d = Diagnostic::new(Code::E0602, "a program has exactly one entry", extra.span)
                .label("second entry")
                .secondary(entries[0].span, "first entry")
                .help("to run several programs, put each in its own file and chain them with the runtime");
            self.error(d);
        }
        let e = &entries[0];
        if !HOOKS.contains(&e.hook.name.as_str()) {
            let d = Diagnostic::new(
                Code::E0601,
                format!("unknown hook `{}`", e.hook.name),
                e.hook.span,
            )
            .label("not a hook")
            .suggest(&e.hook.name, HOOKS.iter().copied())
            .note(format!("hooks: {}", HOOKS.join(", ")));
            self.error(d);
            return;
        }
        if !(2..=3).contains(&e.blocks.len()) {
            let d = Diagnostic::new(
                Code::E0601,
                format!(
                    "`{}` takes a parser, a control and (optionally) a deparser, but {} block{} given",
                    e.hook.name,
                    e.blocks.len(),
                    if e.blocks.len() == 1 { " is" } else { "s are" }
                ),
                e.span,
            )
            .label("wrong number of blocks");
            self.error(d);
            return;
        }
        let mut refs = Vec::new();
        let mut headers: Option<(Ty, Span)> = None;
        let mut ok = true;
        for (i, ((name, _), (kind, shape))) in e.blocks.iter().zip(SHAPES).enumerate() {
            let Some(sym) = self.lookup_global(root, &name.name) else {
                let d = Diagnostic::new(
                    Code::E0100,
                    format!("unknown {kind} `{}`", name.name),
                    name.span,
                )
                .label("not declared")
                .suggest(
                    &name.name,
                    self.global_names(root).iter().map(|s| s.as_str()),
                );
                self.error(d);
                ok = false;
                continue;
            };
            self.p.references.push((name.span, sym.span));
            let at: Option<ItemRef> = match (i, &sym.kind) {
                (0, SymKind::Parser(at)) => Some(*at),
                (1 | 2, SymKind::Control(at)) => {
                    let want = if i == 1 {
                        ControlKind::Control
                    } else {
                        ControlKind::Deparser
                    };
                    match &self.p.modules[at.module].ast.items[at.item] {
                        Item::Control(c) if c.kind == want => Some(*at),
                        _ => None,
                    }
                }
                _ => None,
            };
            let Some(at) = at else {
                let d = Diagnostic::new(
                    Code::E0601,
                    format!(
                        "block {} of the entry must be a {kind}, but `{}` is not",
                        i + 1,
                        name.name
                    ),
                    name.span,
                )
                .label(format!("expected a {kind}"))
                .secondary(sym.span, "declared here")
                .note("the order is: parser, control, deparser");
                self.error(d);
                ok = false;
                continue;
            };
            refs.push(at);
            let params = match &self.p.modules[at.module].ast.items[at.item] {
                Item::Parser(p) => p.params.clone(),
                Item::Control(c) => c.params.clone(),
                _ => unreachable!("checked above"),
            };
            let expected = shape
                .iter()
                .map(|(d, t)| {
                    format!(
                        "{}{}",
                        d.map(|d| format!("{} ", d.as_str())).unwrap_or_default(),
                        if *t == "H" { "headers_t" } else { t }
                    )
                })
                .collect::<Vec<_>>()
                .join(", ");
            let m = at.module;
            let bad = |cx: &mut Cx, span: Span, what: String| {
                let d = Diagnostic::new(Code::E0601, what, span)
                    .label("signature does not fit the hook")
                    .note(format!("a {kind} used in an entry takes ({expected}), where headers_t is the program's headers struct"));
                cx.error(d);
            };
            if params.len() != 2 {
                bad(
                    self,
                    name.span,
                    format!(
                        "{kind} `{}` must take 2 parameters, not {}",
                        name.name,
                        params.len()
                    ),
                );
                ok = false;
                continue;
            }
            for (p, (dir, tname)) in params.iter().zip(shape) {
                let ty = self.resolve_type(m, &p.ty, &[]);
                if p.direction != dir {
                    let shown = p
                        .direction
                        .map_or("no direction".to_string(), |d| format!("`{}`", d.as_str()));
                    bad(
                        self,
                        p.span,
                        format!(
                            "parameter `{}` of `{}` is {shown}; it must be {}",
                            p.name.name,
                            name.name,
                            dir.map_or("directionless".to_string(), |d| format!(
                                "`{}`",
                                d.as_str()
                            ))
                        ),
                    );
                    ok = false;
                }
                if tname == "H" {
                    let is_headers = matches!(ty, Ty::Struct(s) if self.p.structs[s].kind == StructKind::Struct)
                        || ty.is_unknown();
                    if !is_headers {
                        let t = self.ty_str(&ty);
                        bad(
                            self,
                            p.ty.span(),
                            format!("the headers parameter must be a struct, not `{t}`"),
                        );
                        ok = false;
                    } else if let Some((h, hspan)) = &headers {
                        if *h != ty && !ty.is_unknown() && !h.is_unknown() {
                            let (a, b) = (self.ty_str(h), self.ty_str(&ty));
                            let d = Diagnostic::new(
                                Code::E0601,
                                format!("the blocks disagree on the headers: `{a}` and `{b}`"),
                                p.ty.span(),
                            )
                            .label(format!("this is `{b}`"))
                            .secondary(*hspan, format!("this is `{a}`"));
                            self.error(d);
                            ok = false;
                        }
                    } else {
                        headers = Some((ty, p.ty.span()));
                    }
                } else {
                    let named = |cx: &Cx, t: &Ty| match t {
                        Ty::Extern(x, _) => cx.p.externs[*x].name == tname,
                        Ty::Struct(s) => cx.p.structs[*s].name == tname,
                        Ty::Unknown => true,
                        _ => false,
                    };
                    if !named(self, &ty) {
                        let t = self.ty_str(&ty);
                        bad(
                            self,
                            p.ty.span(),
                            format!("parameter `{}` must be `{tname}`, not `{t}`", p.name.name),
                        );
                        ok = false;
                    }
                }
            }
        }
        if e.hook.name == "xdp" {
            for at in self.clones.clone() {
                let d = Diagnostic::new(Code::E0505, "`clone` is not possible at the XDP hook", at)
                    .label("copies a packet")
                    .note("an XDP program hands the driver one verdict for one frame, and the kernel offers it no helper that copies a frame; a copy is made only by a redirect to a devmap with `BPF_F_BROADCAST`")
                    .help("at XDP, mirror with a group: put the port the packet goes to and the mirror port in a `multicast_group` and call `multicast(group)`; or attach the program at `tc_ingress`, where `clone` works");
                self.error(d);
            }
        }
        if ok && refs.len() == e.blocks.len() {
            self.p.entry = Some(Entry {
                hook: e.hook.name.clone(),
                parser: refs[0],
                control: refs[1],
                deparser: refs.get(2).copied(),
                headers: match headers {
                    Some((Ty::Struct(s), _)) => Some(s),
                    _ => None,
                },
                span: e.span,
            });
        }
    }
}
