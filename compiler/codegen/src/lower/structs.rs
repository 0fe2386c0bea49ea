//! Struct-typed variables: a struct of bit strings, booleans, enums and errors (and structs
//! of those) declared in a control or an action.
//!
//! Takes: a variable declaration or a whole-struct assignment the checker typed as such a
//! struct.
//! Gives: one stack slot per leaf field, named by its path (`a.src`, `a.inner.x`), so field
//! reads and writes and table keys work as for any variable; an initializer (another struct
//! of the type) and `a = b` copy leaf by leaf, every leaf read before any is written.
//! Structs that hold headers are not variables yet (E0700).

use super::{Gen, Scalar};
use crate::layout::{self, Leaf};
use iov_sema::types::Ty;
use iov_syntax::ast::{self, StructKind};

impl<'a, 'ctx> Gen<'a, 'ctx> {
    /// The struct type of `e` when it is a plain struct (no validity bit, not a header).
    pub fn plain_struct(&self, ty: &Ty) -> Option<usize> {
        match ty {
            Ty::Struct(s) if self.p.structs[*s].kind != StructKind::Header => Some(*s),
            _ => None,
        }
    }

    /// The leaf fields of struct `id` under `prefix`, when all are scalars.
    fn scalar_leaves(&self, id: usize, prefix: &str) -> Option<Vec<(String, u32)>> {
        let mut leaves = Vec::new();
        layout::flatten(self.p, id, prefix, &mut leaves);
        leaves
            .into_iter()
            .map(|(path, leaf)| match leaf {
                Leaf::Scalar(bits) => Some((path, bits)),
                _ => None,
            })
            .collect()
    }

    /// `T name [= init];` for a plain struct `T` (struct `id`).
    pub fn declare_struct_var(&mut self, v: &ast::VarDecl, id: usize) {
        let name = v.name.name.clone();
        let Some(leaves) = self.scalar_leaves(id, &name) else {
            self.unsupported(
                v.ty.span(),
                "a variable of a struct type that holds headers",
            );
            return;
        };
        for (path, bits) in &leaves {
            let slot = self.alloca(*bits, path);
            self.scopes
                .last_mut()
                .expect("scope")
                .insert(path.clone(), Scalar { slot, bits: *bits });
        }
        if let Some(init) = &v.init {
            self.bpf.at(v.span.start);
            self.copy_into(&name, id, init);
        }
    }

    /// `lhs = rhs` for plain structs.
    pub fn assign_struct(&mut self, lhs: &ast::Expr, rhs: &ast::Expr, id: usize) {
        let Some(dst) = self.path_of(lhs) else {
            self.unsupported(lhs.span, "assigning to this struct");
            return;
        };
        self.copy_into(&dst, id, rhs);
    }

    /// Struct `id` stored at `dst` gets the value of `src`: a struct of the same type
    /// (every leaf read first, so `a = a` and overlapping copies are safe).
    fn copy_into(&mut self, dst: &str, id: usize, src: &ast::Expr) {
        let Some(leaves) = self.scalar_leaves(id, dst) else {
            self.unsupported(src.span, "copying a struct that holds headers");
            return;
        };
        let Some(from) = self.path_of(src) else {
            self.unsupported(src.span, "this struct value");
            return;
        };
        let mut values = Vec::new();
        for (path, _) in &leaves {
            let suffix = &path[dst.len()..];
            let Some(s) = self.lookup_scalar(&format!("{from}{suffix}")) else {
                self.unsupported(src.span, "this struct value");
                return;
            };
            let v = self
                .bpf
                .b
                .build_load(self.bpf.i(s.bits), s.slot, "sf")
                .expect("load")
                .into_int_value();
            values.push(v);
        }
        for ((path, bits), v) in leaves.iter().zip(values) {
            let v = self.fit(v, *bits);
            let slot = self.lookup_scalar(path).expect("declared").slot;
            self.bpf.b.build_store(slot, v).expect("store");
        }
    }
}
