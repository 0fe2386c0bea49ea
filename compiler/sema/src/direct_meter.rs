//! Direct meters: the table that names a `direct_meter` and the actions that execute it.
//!
//! Takes: every `m.execute(...)` call as `calls` checks it; a table declaration and the
//! actions it lists, after those actions were checked.
//! Gives: E0414 where a direct meter is executed outside an action, named by two tables,
//! sits on a table the data plane writes, or is executed by an action of a table that does
//! not name it (and, in `blocks`, by an action called directly).

use crate::collect::Cx;
use crate::types::{CallKind, Signature};
use iov_diagnostics::{Code, Diagnostic};
use iov_syntax::ast::{self, ExprKind, TableProp};

impl Cx {
    /// Records `m.execute(...)` of a direct meter, whose tables are checked to name it
    /// (E0414); outside an action it cannot run for an entry at all.
    pub(crate) fn note_direct_execute(
        &mut self,
        e: &ast::Expr,
        callee: &ast::Expr,
        sig: &Signature,
    ) {
        let CallKind::ExternMethod { extern_name } = &sig.kind else {
            return;
        };
        if extern_name != "direct_meter" || sig.name != "execute" {
            return;
        }
        let ast::ExprKind::Member(obj, _) = &callee.kind else {
            return;
        };
        let ast::ExprKind::Name(meter) = &obj.kind else {
            return;
        };
        let Some((_, caller)) = self.action.clone() else {
            let d = Diagnostic::new(
                Code::E0414,
                format!("direct meter `{}` is executed outside an action", meter.name),
                e.span,
            )
            .label("not in an action")
            .note("a direct meter holds a meter per entry of its table: it is executed by an action of that table, for the entry that was hit")
            .help(format!("move the call into an action of the table that declares `meters = {};`", meter.name));
            self.error(d);
            return;
        };
        self.direct_executes.push(crate::collect::DirectExecute {
            caller,
            meter: meter.name.clone(),
            at: e.span,
        });
    }

    /// The direct meter a table names in `meters`: named by this table alone, in a table the
    /// control plane fills (its entries get their meters from the control plane), and every
    /// direct meter an action of the table executes is this one (E0414).
    pub(crate) fn check_direct_meter(&mut self, t: &ast::TableDecl, listed: &[String]) {
        let named = t.props.iter().find_map(|p| match p {
            TableProp::Other(n, e, _) if n.name == "meters" => match &e.kind {
                ExprKind::Name(m) => Some(m.clone()),
                _ => None,
            },
            _ => None,
        });
        if let Some(m) = &named {
            if let Some(other) = self.metered_by.get(&m.name).copied() {
                let d = Diagnostic::new(
                    Code::E0414,
                    format!("direct meter `{}` is named by two tables", m.name),
                    m.span,
                )
                .label("named again here")
                .secondary(other, "first named by this table")
                .help("declare a `direct_meter` for each table");
                self.error(d);
            } else {
                self.metered_by.insert(m.name.clone(), t.name.span);
            }
            let written = t.props.iter().find_map(|p| match p {
                TableProp::Other(n, _, s)
                    if n.name == "add_on_miss" || n.name == "idle_timeout" =>
                {
                    Some(*s)
                }
                _ => None,
            });
            if let Some(at) = written {
                let d = Diagnostic::new(
                    Code::E0414,
                    format!("table `{}` has a direct meter, so its entries come from the control plane", t.name.name),
                    m.span,
                )
                .label("a direct meter")
                .secondary(at, "but the data plane writes or expires entries")
                .note("the control plane gives each entry its meter cell when it adds the entry; an entry the data plane adds would have none")
                .help("use a `meter` indexed by an action parameter instead");
                self.error(d);
            }
        }
        for action in listed {
            let Some(info) = self.action_info(action) else {
                continue;
            };
            let runs: Vec<_> = self
                .direct_executes
                .iter()
                .filter(|x| x.caller == info.span)
                .cloned()
                .collect();
            for x in runs {
                if named.as_ref().is_some_and(|m| m.name == x.meter) {
                    continue;
                }
                let d = Diagnostic::new(
                    Code::E0414,
                    format!(
                        "table `{}` runs `{action}`, which executes direct meter `{}`, but the table does not name it",
                        t.name.name, x.meter
                    ),
                    t.name.span,
                )
                .label(match &named {
                    Some(m) => format!("its direct meter is `{}`", m.name),
                    None => "no `meters` property".to_string(),
                })
                .secondary(x.at, "the meter is executed here")
                .help(format!("declare `meters = {};` in the table", x.meter));
                self.error(d);
            }
        }
    }
}
