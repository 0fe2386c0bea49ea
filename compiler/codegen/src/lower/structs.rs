//! Struct-typed variables: a struct of bit strings, booleans, enums, errors, headers (and
//! structs of those) declared in a control or an action.
//!
//! Takes: a variable declaration or a whole-struct assignment the checker typed as such a
//! struct; for headers inside one, scratch regions reserved when the deparser is planned.
//! Gives: one stack slot per scalar leaf, named by its path (`a.src`, `a.inner.x`), so field
//! reads and writes and table keys work as for any variable; each header leaf is a header
//! held in scratch like one the program makes valid (it starts invalid, is never in the
//! packet, and changes nothing the deparser sees unless emitted). An initializer (another
//! struct of the type) and `a = b` copy leaf by leaf, every scalar read before any is
//! written; a header stack inside one is a stack held in scratch, copied element by element
//! with its next index.

use super::{Gen, HeaderVar, Scalar, StackScratch, StackVar, NOT_VALID};
use crate::layout::{self, Leaf};
use iov_sema::types::Ty;
use iov_syntax::ast::{self, Item, Local, StructKind};

impl<'a, 'ctx> Gen<'a, 'ctx> {
    /// The struct type of `e` when it is a plain struct (no validity bit, not a header).
    pub fn plain_struct(&self, ty: &Ty) -> Option<usize> {
        match ty {
            Ty::Struct(s) if self.p.structs[*s].kind != StructKind::Header => Some(*s),
            _ => None,
        }
    }

    /// The plain struct a variable declaration has, from its checked or its written type.
    pub fn var_struct(&self, v: &ast::VarDecl) -> Option<usize> {
        if let Some(id) = self
            .p
            .expr_types
            .get(&v.name.span)
            .and_then(|t| self.plain_struct(t))
        {
            return Some(id);
        }
        match &v.ty {
            ast::TypeRef::Named(n, args, _) if args.is_empty() => self
                .p
                .structs
                .iter()
                .position(|s| s.name == n.name)
                .filter(|id| self.p.structs[*id].kind != StructKind::Header),
            _ => None,
        }
    }

    /// Reserves scratch regions, from `base` on, for the headers inside every struct variable
    /// the program declares; the bytes reserved. A declaration keeps its regions however
    /// often its action is inlined (one runs at a time).
    pub fn plan_local_headers(&mut self, base: u32) -> u32 {
        // Declared in a statement, or among a control's or a parser's locals.
        let mut decls: Vec<ast::VarDecl> = Vec::new();
        for body in iov_sema::deparse::bodies(&self.p.modules) {
            iov_sema::deparse::walk(body, false, &mut |st, _| {
                if let ast::Stmt::Var(v) = st {
                    decls.push(v.clone());
                }
            });
        }
        for m in &self.p.modules {
            for item in &m.ast.items {
                let locals = match item {
                    Item::Control(c) => &c.locals,
                    Item::Parser(p) => &p.locals,
                    _ => continue,
                };
                decls.extend(locals.iter().filter_map(|l| match l {
                    Local::Var(v) => Some(v.clone()),
                    _ => None,
                }));
            }
        }
        let mut next = base;
        for v in decls {
            let Some(id) = self.var_struct(&v) else {
                continue;
            };
            let mut leaves = Vec::new();
            layout::flatten(self.p, id, "", &mut leaves);
            for (path, leaf) in leaves {
                match leaf {
                    Leaf::Header(h) => {
                        let size = layout::header_fields(self.p, h).1;
                        self.local_headers.insert((v.span, path), next);
                        next += size.div_ceil(8) * 8;
                    }
                    // Equal regions, a power of two of them (see `StackVar::scratch`).
                    Leaf::Stack(h, n) => {
                        let stride = layout::header_fields(self.p, h).1.div_ceil(8) * 8;
                        self.local_headers.insert((v.span, path), next);
                        next += n.next_power_of_two() * stride;
                    }
                    Leaf::Scalar(_) => {}
                }
            }
        }
        next - base
    }

    /// The leaves of struct `id` under `prefix`: scalars, headers and header stacks.
    fn leaves(&self, id: usize, prefix: &str) -> Vec<(String, Leaf)> {
        let mut leaves = Vec::new();
        layout::flatten(self.p, id, prefix, &mut leaves);
        leaves
    }

    /// `T name [= init];` for a plain struct `T` (struct `id`).
    pub fn declare_struct_var(&mut self, v: &ast::VarDecl, id: usize) {
        let name = v.name.name.clone();
        let leaves = self.leaves(id, &name);
        for (path, leaf) in &leaves {
            match leaf {
                Leaf::Scalar(bits) => {
                    let slot = self.alloca(*bits, path);
                    self.scopes
                        .last_mut()
                        .expect("scope")
                        .insert(path.clone(), Scalar { slot, bits: *bits });
                }
                Leaf::Header(h) => {
                    let below = path[name.len()..].to_string();
                    let Some(region) = self.local_headers.get(&(v.span, below)).copied() else {
                        self.unsupported(v.ty.span(), "this struct variable");
                        return;
                    };
                    let tmp = self.entry_builder();
                    let slot = tmp.build_alloca(self.bpf.i(64), path).expect("alloca");
                    tmp.build_store(slot, self.bpf.c(64, u128::from(NOT_VALID)))
                        .expect("init");
                    // Each run of the declaration starts with the header invalid.
                    self.set(slot, 64, u128::from(NOT_VALID));
                    let size = layout::header_fields(self.p, *h).1;
                    self.headers.insert(
                        path.clone(),
                        HeaderVar {
                            slot,
                            id: *h,
                            size,
                            narrow: false,
                            scratch: Some(region),
                            scratch_at: None,
                            local: true,
                        },
                    );
                }
                Leaf::Stack(h, n) => {
                    let below = path[name.len()..].to_string();
                    let Some(base) = self.local_headers.get(&(v.span, below)).copied() else {
                        self.unsupported(v.ty.span(), "this struct variable");
                        return;
                    };
                    self.declare_local_stack(path, *h, *n, base);
                }
            }
        }
        if let Some(init) = &v.init {
            self.bpf.at(v.span.start);
            self.copy_into(&name, id, init);
        }
    }

    /// A header stack inside a struct variable: elements in scratch from `base`, all
    /// invalid, the next index 0.
    fn declare_local_stack(&mut self, path: &str, h: usize, n: u32, base: u32) {
        let size = layout::header_fields(self.p, h).1;
        let stride = size.div_ceil(8) * 8;
        let narrow = |g: &Self, name: &str| {
            let tmp = g.entry_builder();
            let slot = tmp.build_alloca(g.bpf.i(32), name).expect("alloca");
            tmp.build_store(slot, g.bpf.c(32, u128::from(NOT_VALID)))
                .expect("init");
            g.set(slot, 32, u128::from(NOT_VALID));
            slot
        };
        let mut elems = Vec::new();
        for i in 0..n {
            let e = HeaderVar {
                slot: narrow(self, &format!("{path}[{i}]")),
                id: h,
                size,
                narrow: true,
                scratch: Some(base + i * stride),
                scratch_at: None,
                local: true,
            };
            self.headers.insert(format!("{path}[{i}]"), e);
            elems.push(e);
        }
        let none = HeaderVar {
            slot: narrow(self, &format!("{path}.none")),
            scratch: None,
            ..elems[0]
        };
        let next = self.alloca(32, &format!("{path}.next"));
        self.set(next, 32, 0);
        self.stacks.insert(
            path.to_string(),
            StackVar {
                elems,
                next,
                none,
                scratch: Some(StackScratch {
                    base,
                    stride,
                    mask: n.next_power_of_two() - 1,
                }),
            },
        );
    }

    /// `lhs = rhs` for plain structs.
    pub fn assign_struct(&mut self, lhs: &ast::Expr, rhs: &ast::Expr, id: usize) {
        let Some(dst) = self.path_of(lhs) else {
            self.unsupported(lhs.span, "assigning to this struct");
            return;
        };
        self.copy_into(&dst, id, rhs);
    }

    /// Struct `id` stored at `dst` gets the value of `src`, a struct of the same type: its
    /// scalars (every one read first, so `a = a` and overlapping copies are safe), then its
    /// headers, contents and validity.
    fn copy_into(&mut self, dst: &str, id: usize, src: &ast::Expr) {
        let leaves = self.leaves(id, dst);
        let Some(from) = self.path_of(src) else {
            self.unsupported(src.span, "this struct value");
            return;
        };
        let mut values = Vec::new();
        let mut headers = Vec::new();
        let mut nexts = Vec::new();
        for (path, leaf) in &leaves {
            let there = format!("{from}{}", &path[dst.len()..]);
            match leaf {
                Leaf::Scalar(bits) => {
                    let Some(s) = self.lookup_scalar(&there) else {
                        self.unsupported(src.span, "this struct value");
                        return;
                    };
                    let v = self
                        .bpf
                        .b
                        .build_load(self.bpf.i(s.bits), s.slot, "sf")
                        .expect("load")
                        .into_int_value();
                    values.push((path.clone(), *bits, v));
                }
                Leaf::Stack(..) => {
                    let (Some(d), Some(s)) = (
                        self.stacks.get(path).cloned(),
                        self.stacks.get(&there).cloned(),
                    ) else {
                        self.unsupported(src.span, "this struct value");
                        return;
                    };
                    let next = self
                        .bpf
                        .b
                        .build_load(self.bpf.i(32), s.next, "sn")
                        .expect("load")
                        .into_int_value();
                    nexts.push((d.next, next));
                    headers.extend(d.elems.iter().copied().zip(s.elems.iter().copied()));
                }
                Leaf::Header(_) => {
                    let (Some(d), Some(s)) = (
                        self.headers.get(path).copied(),
                        self.headers.get(&there).copied(),
                    ) else {
                        self.unsupported(src.span, "this struct value");
                        return;
                    };
                    headers.push((d, s));
                }
            }
        }
        for (slot, v) in nexts {
            self.bpf.b.build_store(slot, v).expect("store");
        }
        for (path, bits, v) in values {
            let v = self.fit(v, bits);
            let slot = self.lookup_scalar(&path).expect("declared").slot;
            self.bpf.b.build_store(slot, v).expect("store");
        }
        for (d, s) in headers {
            self.copy_header(d, s, src.span);
        }
    }
}
