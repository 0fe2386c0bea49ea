//! Structs that contain themselves (E0215), found once every struct's fields are resolved.
//!
//! Takes: the struct table after `collect` resolved every field type.
//! Gives: E0215 on the field that closes each cycle (the message names the whole cycle);
//! that field's type becomes unknown, so no later pass (layouts, code generation) follows
//! the cycle forever.

use crate::collect::Cx;
use crate::types::Ty;
use iov_diagnostics::{Code, Diagnostic};

impl Cx {
    /// A struct that contains itself, directly or through other structs, has no size: E0215
    /// on the field that closes the cycle, whose type then becomes unknown so no later pass
    /// follows the cycle.
    pub(crate) fn refuse_struct_cycles(&mut self) {
        #[derive(Clone, Copy, PartialEq)]
        enum Mark {
            New,
            Open,
            Done,
        }
        let n = self.p.structs.len();
        let mut mark = vec![Mark::New; n];
        for root in 0..n {
            if mark[root] != Mark::New {
                continue;
            }
            // Depth-first, by hand: (struct, next field to look at).
            let mut stack = vec![(root, 0usize)];
            mark[root] = Mark::Open;
            while let Some(&(id, idx)) = stack.last() {
                let Some(field) = self.p.structs[id].fields.get(idx) else {
                    mark[id] = Mark::Done;
                    stack.pop();
                    continue;
                };
                if let Some(top) = stack.last_mut() {
                    top.1 += 1;
                }
                let Ty::Struct(inner) = field.ty else {
                    continue;
                };
                match mark[inner] {
                    Mark::New => {
                        mark[inner] = Mark::Open;
                        stack.push((inner, 0));
                    }
                    Mark::Done => {}
                    Mark::Open => {
                        let (name, span) = (field.name.clone(), field.span);
                        let at = stack.iter().position(|&(s, _)| s == inner).unwrap_or(0);
                        let path: Vec<&str> = stack[at..]
                            .iter()
                            .map(|&(s, _)| self.p.structs[s].name.as_str())
                            .chain(std::iter::once(self.p.structs[inner].name.as_str()))
                            .collect();
                        let d = Diagnostic::new(
                            Code::E0215,
                            format!(
                                "`{}` contains itself: {}",
                                self.p.structs[inner].name,
                                path.join(" contains ")
                            ),
                            span,
                        )
                        .label(format!("field `{name}` closes the cycle"))
                        .note("a struct is stored whole, so one that contains itself would be infinitely large")
                        .help("keep a key or an index of the other value instead, or split the data in two structs");
                        self.error(d);
                        self.p.structs[id].fields[idx].ty = Ty::Unknown;
                    }
                }
            }
        }
    }
}
