//! Tables and keysets: keys with match kinds, action lists, default actions, entries, and
//! the keysets of parser `select` cases.
//!
//! Takes: a table declaration inside a control (after the actions it names).
//! Gives: the table registered for `apply`/`switch`, and the checks a P4 programmer expects:
//! unknown match kinds (E0403), kinds that cannot serve a key's type (E0402), keys that cannot
//! be looked up (E0405), more than one `lpm` key (E0407), `default_action` outside `actions`
//! (E0400), entries with the wrong arity (E0408), values that do not fit the key (E0401),
//! actions outside the list (E0404), action arguments (E0409) and properties (E0410, E0411).

use crate::collect::Cx;
use crate::consts::Value;
use crate::types::Ty;
use iov_diagnostics::{Code, Diagnostic, Span};
use iov_syntax::ast::{self, ActionRef, Direction, ExprKind, Keyset, TableProp};

pub const MATCH_KINDS: &[&str] = &["exact", "lpm", "ternary", "range", "optional"];
const PROPERTIES: &[&str] = &[
    "key",
    "actions",
    "default_action",
    "entries",
    "size",
    "counters",
    "meters",
    "add_on_miss",
    "idle_timeout",
    "masks",
];

/// The most distinct masks a tuple-space table (ternary or optional keys) may hold: a
/// lookup probes each live mask, and the verifier walks each probe.
pub const MAX_MASKS: u128 = 256;

/// The longest idle timeout, in seconds (a day: past it, entries would outlive any flow).
pub const MAX_IDLE_TIMEOUT: u128 = 86_400;

/// A key as the entries see it: its type and match kind.
#[derive(Clone)]
struct Key {
    ty: Ty,
    kind: Option<String>,
}

impl Cx {
    pub fn check_table(&mut self, t: &ast::TableDecl) {
        let mut seen: Vec<(&'static str, Span)> = Vec::new();
        let mut keys: Vec<Key> = Vec::new();
        let mut listed: Vec<String> = Vec::new();
        let mut actions_span = None;
        let position = |want: &str| {
            t.props.iter().position(|p| {
                matches!(
                    (p, want),
                    (TableProp::Key(..), "key") | (TableProp::Actions(..), "actions")
                )
            })
        };
        let (key_at, actions_at) = (position("key"), position("actions"));
        for (at, prop) in t.props.iter().enumerate() {
            let needs = match prop {
                TableProp::DefaultAction { .. } => {
                    actions_at.filter(|a| *a > at).map(|_| "actions")
                }
                TableProp::Entries { .. } => key_at
                    .filter(|k| *k > at)
                    .map(|_| "key")
                    .or_else(|| actions_at.filter(|a| *a > at).map(|_| "actions")),
                _ => None,
            };
            if let Some(first) = needs {
                let span = match prop {
                    TableProp::DefaultAction { span, .. } | TableProp::Entries { span, .. } => {
                        *span
                    }
                    _ => continue,
                };
                let d = Diagnostic::new(
                    Code::E0410,
                    format!("this property must come after `{first}`"),
                    span,
                )
                .label(format!("written before `{first}`"))
                .note("a table reads in order: key, actions, then default_action and entries that refer to them");
                self.error(d);
                continue;
            }
            let (kind, span): (&'static str, Span) = match prop {
                TableProp::Key(_, s) => ("key", *s),
                TableProp::Actions(_, s) => ("actions", *s),
                TableProp::DefaultAction { span, .. } => ("default_action", *span),
                TableProp::Entries { span, .. } => ("entries", *span),
                TableProp::Other(name, _, s) => {
                    match PROPERTIES.iter().find(|p| **p == name.name) {
                        Some(p) => (*p, *s),
                        None => ("", *s),
                    }
                }
                TableProp::Error(_) => continue,
            };
            if !kind.is_empty() {
                if let Some((_, prev)) = seen.iter().find(|(k, _)| *k == kind) {
                    let d = Diagnostic::new(
                        Code::E0410,
                        format!("table property `{kind}` is given twice"),
                        span,
                    )
                    .label("given again here")
                    .secondary(*prev, "first given here");
                    self.error(d);
                    continue;
                }
                seen.push((kind, span));
            }
            match prop {
                TableProp::Key(elems, _) => keys = self.check_keys(elems),
                TableProp::Actions(list, s) => {
                    actions_span = Some(*s);
                    listed = self.check_action_list(list);
                    if list.is_empty() {
                        let d = Diagnostic::new(
                            Code::E0411,
                            format!("table `{}` lists no actions", t.name.name),
                            *s,
                        )
                        .label("empty")
                        .help("list what a lookup can do: `actions = { forward; drop_packet; }`");
                        self.error(d);
                    }
                }
                TableProp::DefaultAction { action, .. } => {
                    self.check_table_action(
                        action,
                        &listed,
                        actions_span,
                        Code::E0400,
                        &t.name.name,
                    );
                }
                TableProp::Entries { entries, .. } => {
                    for entry in entries {
                        self.check_table_entry(entry, &keys, &listed, actions_span, &t.name.name);
                    }
                }
                TableProp::Other(name, e, _) => self.check_other_property(name, e),
                TableProp::Error(_) => {}
            }
        }
        if !seen.iter().any(|(k, _)| *k == "actions") {
            let d = Diagnostic::new(
                Code::E0411,
                format!("table `{}` has no `actions`", t.name.name),
                t.name.span,
            )
            .label("no actions listed")
            .help("list what a lookup can do: `actions = { forward; drop_packet; }`");
            self.error(d);
        }
        self.check_masks(t, &keys);
        let written = self.check_data_plane_writes(t, &keys, &listed);
        self.check_direct_meter(t, &listed);
        let key_types = keys.iter().map(|k| k.ty.clone()).collect();
        self.register_table(&t.name, listed, key_types, written);
    }

    /// `masks = N` belongs to a table searched by masks: a `ternary` or `optional` key and no
    /// `range` key (E0410).
    fn check_masks(&mut self, t: &ast::TableDecl, keys: &[Key]) {
        let Some(span) = t.props.iter().find_map(|p| match p {
            TableProp::Other(n, _, s) if n.name == "masks" => Some(*s),
            _ => None,
        }) else {
            return;
        };
        let has = |kind: &str| keys.iter().any(|k| k.kind.as_deref() == Some(kind));
        if has("range") || !(has("ternary") || has("optional")) {
            let d = Diagnostic::new(
                Code::E0410,
                format!("table `{}` is not searched by masks", t.name.name),
                span,
            )
            .label("`masks` needs a ternary or optional key and no range key")
            .note("exact keys are one hash lookup and lpm keys one trie lookup, whatever the entries; a table with a range key scans its entries in priority order");
            self.error(d);
        }
    }

    /// A table whose actions call `add_entry` adds on miss, lists every action added, and has
    /// exact keys only (as does a table with an idle timeout): E0413.
    /// True when the data plane may write the table (`learn`).
    fn check_data_plane_writes(
        &mut self,
        t: &ast::TableDecl,
        keys: &[Key],
        listed: &[String],
    ) -> bool {
        let prop = |name: &str| {
            t.props.iter().find_map(|p| match p {
                TableProp::Other(n, e, s) if n.name == name => Some((e.clone(), *s)),
                _ => None,
            })
        };
        let add_on_miss = prop("add_on_miss");
        let adds = add_on_miss
            .as_ref()
            .is_some_and(|(e, _)| matches!(e.kind, ast::ExprKind::Bool(true)));
        let written = prop("idle_timeout").or_else(|| adds.then(|| add_on_miss.clone()).flatten());
        let mut writable = written.is_some();
        if let Some((_, span)) = &written {
            writable = !keys
                .iter()
                .any(|k| k.kind.as_deref().is_some_and(|kind| kind != "exact"));
            if keys
                .iter()
                .any(|k| k.kind.as_deref().is_some_and(|kind| kind != "exact"))
            {
                let d = Diagnostic::new(
                    Code::E0413,
                    format!("table `{}` is written by the data plane or expires entries, so its keys are exact", t.name.name),
                    *span,
                )
                .label("needs exact keys")
                .note("such a table is a hash map the program updates; lpm, ternary, range and optional keys need a trie or a scan");
                self.error(d);
            }
        }
        for action in listed {
            let Some(info) = self.action_info(action) else {
                continue;
            };
            for a in self
                .add_entries
                .clone()
                .iter()
                .filter(|a| a.caller.1 == info.span)
            {
                if !adds {
                    let d = Diagnostic::new(
                        Code::E0413,
                        format!("table `{}` runs `{action}`, which adds entries, but does not add on miss", t.name.name),
                        t.name.span,
                    )
                    .label("no `add_on_miss = true`")
                    .secondary(a.at, "the entry is added here")
                    .help("declare `add_on_miss = true;` in the table");
                    self.error(d);
                } else if !listed.contains(&a.target) {
                    let d = Diagnostic::new(
                        Code::E0413,
                        format!(
                            "`{}` is not an action of table `{}`, so no entry of it can hold it",
                            a.target, t.name.name
                        ),
                        a.at,
                    )
                    .label("added with an action the table does not list")
                    .help(format!("list `{}` in the table's `actions`", a.target));
                    self.error(d);
                }
            }
        }
        writable
    }

    fn check_keys(&mut self, elems: &[ast::KeyElem]) -> Vec<Key> {
        let mut keys = Vec::new();
        let mut first_lpm: Option<Span> = None;
        for k in elems {
            let ty = self.check_expr(&k.expr, None);
            let kind = k.match_kind.name.as_str();
            let known = MATCH_KINDS.contains(&kind);
            if !known {
                let d = Diagnostic::new(
                    Code::E0403,
                    format!("unknown match kind `{kind}`"),
                    k.match_kind.span,
                )
                .label("not a match kind")
                .suggest(kind, MATCH_KINDS.iter().copied())
                .note(format!("match kinds: {}", MATCH_KINDS.join(", ")));
                self.error(d);
            }
            let lookupable = matches!(
                ty,
                Ty::Bit(_) | Ty::Int(_) | Ty::Bool | Ty::Error | Ty::Unknown | Ty::Enum(_)
            );
            if !lookupable {
                let d = Diagnostic::new(
                    Code::E0405,
                    format!(
                        "a table key must be a bit string, integer, bool, enum or error, not `{}`",
                        self.ty_str(&ty)
                    ),
                    k.expr.span,
                )
                .label("cannot be looked up")
                .help(if matches!(ty, Ty::InfInt) {
                    "a key reads packet or metadata fields; a constant never varies"
                } else {
                    "use one of its fields as the key"
                });
                self.error(d);
            } else if known {
                let ok = match kind {
                    "lpm" => matches!(ty, Ty::Bit(_) | Ty::Unknown),
                    "range" => matches!(ty, Ty::Bit(_) | Ty::Int(_) | Ty::Unknown),
                    _ => true,
                };
                if !ok {
                    let d = Diagnostic::new(
                        Code::E0402,
                        format!(
                            "match kind `{kind}` cannot serve a key of type `{}`",
                            self.ty_str(&ty)
                        ),
                        k.match_kind.span,
                    )
                    .label(format!(
                        "`{kind}` needs {}",
                        if kind == "lpm" {
                            "an unsigned bit string"
                        } else {
                            "a number"
                        }
                    ))
                    .secondary(k.expr.span, format!("this is `{}`", self.ty_str(&ty)))
                    .help("use `exact` (or `ternary` for masked matches)");
                    self.error(d);
                }
            }
            if kind == "lpm" {
                if let Some(prev) = first_lpm {
                    let d = Diagnostic::new(Code::E0407, "a table can have only one `lpm` key", k.match_kind.span)
                        .label("second lpm key")
                        .secondary(prev, "first lpm key")
                        .note("a longest-prefix match orders entries by one prefix length; use `ternary` for the other key");
                    self.error(d);
                } else {
                    first_lpm = Some(k.match_kind.span);
                }
            }
            keys.push(Key {
                ty,
                kind: known.then(|| kind.to_string()),
            });
        }
        keys
    }

    fn check_action_list(&mut self, list: &[ActionRef]) -> Vec<String> {
        let mut names: Vec<String> = Vec::new();
        for a in list {
            if names.contains(&a.name.name) {
                let d = Diagnostic::new(
                    Code::E0101,
                    format!("action `{}` is listed twice", a.name.name),
                    a.name.span,
                )
                .label("listed again");
                self.error(d);
                continue;
            }
            let Some(info) = self.resolve_action_name(&a.name) else {
                continue;
            };
            // Arguments in the list bind the action's directional parameters.
            let directional = info.params.iter().filter(|p| p.direction.is_some()).count();
            let given = a.args.as_ref().map_or(0, |v| v.len());
            if given != directional {
                let d = Diagnostic::new(
                    Code::E0409,
                    format!(
                        "`{}` has {directional} parameter{} with a direction, which the table must bind here, but {given} {} given",
                        a.name.name,
                        if directional == 1 { "" } else { "s" },
                        if given == 1 { "is" } else { "are" }
                    ),
                    a.span,
                )
                .label("wrong arguments")
                .note("parameters without a direction come from the control plane with each entry");
                self.error(d);
            } else if let Some(args) = &a.args {
                for (p, e) in info
                    .params
                    .iter()
                    .filter(|p| p.direction.is_some())
                    .zip(args)
                {
                    self.check_expr_as(e, &p.ty);
                    if matches!(p.direction, Some(Direction::Out) | Some(Direction::InOut)) {
                        let _ = self.require_writable(
                            e,
                            &format!(
                                "bind `{}` parameter `{}`",
                                p.direction.map_or("", |d| d.as_str()),
                                p.name
                            ),
                        );
                    }
                }
            }
            names.push(a.name.name.clone());
        }
        names
    }

    fn resolve_action_name(&mut self, name: &ast::Ident) -> Option<crate::collect::ActionInfo> {
        if let Some(info) = self.action_info(&name.name) {
            self.p.references.push((name.span, info.span));
            return Some(info);
        }
        if let Some(local) = self.find_local(&name.name) {
            let span = local.span;
            let d = Diagnostic::new(
                Code::E0107,
                format!("`{}` is not an action", name.name),
                name.span,
            )
            .label("expected an action")
            .secondary(span, "declared here");
            self.error(d);
            return None;
        }
        if let Some(sym) = self.lookup_global(self.module, &name.name) {
            let mut d = Diagnostic::new(
                Code::E0107,
                format!("`{}` is {}, not an action", name.name, sym.kind.describe()),
                name.span,
            )
            .label("expected an action")
            .secondary(sym.span, "declared here");
            if matches!(sym.kind, crate::scope::SymKind::Fn(_)) {
                d = d.help(format!(
                    "wrap it in an action: `action do_{0}() {{ {0}(); }}`",
                    name.name
                ));
            }
            self.error(d);
            return None;
        }
        let candidates: Vec<String> = self.actions.keys().cloned().collect();
        let d = Diagnostic::new(
            Code::E0100,
            format!("unknown action `{}`", name.name),
            name.span,
        )
        .label("no action with this name")
        .suggest(&name.name, candidates.iter().map(|s| s.as_str()))
        .note("an action must be declared before the table that lists it");
        self.error(d);
        None
    }

    /// An action used as default or in an entry: it must be listed, and its control-plane
    /// parameters get constant arguments.
    fn check_table_action(
        &mut self,
        a: &ActionRef,
        listed: &[String],
        list_span: Option<Span>,
        code: Code,
        table: &str,
    ) {
        if !listed.contains(&a.name.name) {
            if let Some(info) = self.action_info(&a.name.name) {
                self.p.references.push((a.name.span, info.span));
            }
            let what = if code == Code::E0400 {
                "default action"
            } else {
                "entry's action"
            };
            let mut d = Diagnostic::new(
                code,
                format!(
                    "{what} `{}` is not in the actions of table `{table}`",
                    a.name.name
                ),
                a.name.span,
            )
            .label("not listed in `actions`")
            .suggest(&a.name.name, listed.iter().map(|s| s.as_str()));
            if let Some(s) = list_span {
                d = d.secondary(s, "the table's actions");
            }
            d = d.help(format!("add `{};` to the table's `actions`", a.name.name));
            self.error(d);
            for e in a.args.iter().flatten() {
                self.check_expr(e, None);
            }
            return;
        }
        let Some(info) = self.action_info(&a.name.name) else {
            return;
        };
        self.p.references.push((a.name.span, info.span));
        let cp: Vec<_> = info
            .params
            .iter()
            .filter(|p| p.direction.is_none())
            .cloned()
            .collect();
        let args = a.args.clone().unwrap_or_default();
        if args.len() != cp.len() {
            let d = Diagnostic::new(
                Code::E0409,
                format!(
                    "`{}` needs {} control-plane argument{}, but {} {} given",
                    a.name.name,
                    cp.len(),
                    if cp.len() == 1 { "" } else { "s" },
                    args.len(),
                    if args.len() == 1 { "was" } else { "were" }
                ),
                a.span,
            )
            .label("wrong number of arguments")
            .note(format!(
                "parameters: {}",
                cp.iter()
                    .map(|p| format!("{} {}", self.ty_str(&p.ty), p.name))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
            self.error(d);
            return;
        }
        for (p, e) in cp.iter().zip(&args) {
            self.const_expr_of_type(e, &p.ty);
        }
    }

    fn check_table_entry(
        &mut self,
        entry: &ast::Entry,
        keys: &[Key],
        listed: &[String],
        list_span: Option<Span>,
        table: &str,
    ) {
        let elems: Vec<&Keyset> = match &entry.keys {
            Keyset::Tuple(v, _) => v.iter().collect(),
            one => vec![one],
        };
        if elems.len() != keys.len() {
            let d = Diagnostic::new(
                Code::E0408,
                format!(
                    "the table has {} key{}, but this entry gives {}",
                    keys.len(),
                    if keys.len() == 1 { "" } else { "s" },
                    elems.len()
                ),
                entry.keys.span(),
            )
            .label("wrong number of values")
            .help("give one value per key, in key order, as a tuple: `(a, b) : action();`");
            self.error(d);
        } else {
            for (k, ks) in keys.iter().zip(elems) {
                self.check_keyset_elem(ks, &k.ty, k.kind.as_deref(), Code::E0401);
            }
        }
        if let Some(p) = &entry.priority {
            self.const_expr_of_type(p, &Ty::Bit(32));
        }
        self.check_table_action(&entry.action, listed, list_span, Code::E0404, table);
    }

    fn check_other_property(&mut self, name: &ast::Ident, e: &ast::Expr) {
        match name.name.as_str() {
            "size" => {
                if let Some(v) = self.const_int(e) {
                    let max = crate::blocks::MAX_ARRAY_SIZE;
                    if v == 0 || v > u128::from(max) {
                        let d = Diagnostic::new(
                            Code::E0412,
                            format!("table size {v} is out of range"),
                            e.span,
                        )
                        .label(format!("must be 1 to {max}"))
                        .note("the kernel allocates a table's hash buckets up front, for its whole size");
                        self.error(d);
                    }
                }
            }
            "masks" => {
                if let Some(v) = self.const_int(e) {
                    if v == 0 || v > MAX_MASKS {
                        let d = Diagnostic::new(
                            Code::E0410,
                            format!("{v} masks is out of range"),
                            e.span,
                        )
                        .label(format!("must be 1 to {MAX_MASKS}"))
                        .note("a lookup probes every distinct mask the table holds, one hash lookup each");
                        self.error(d);
                    }
                }
            }
            "add_on_miss" => {
                if !matches!(e.kind, ast::ExprKind::Bool(_)) {
                    let d =
                        Diagnostic::new(Code::E0410, "`add_on_miss` is `true` or `false`", e.span)
                            .label("not a boolean literal");
                    self.error(d);
                }
            }
            "idle_timeout" => {
                if let Some(v) = self.const_int(e) {
                    if v == 0 || v > MAX_IDLE_TIMEOUT {
                        let d = Diagnostic::new(
                            Code::E0410,
                            format!("idle timeout {v} is out of range"),
                            e.span,
                        )
                        .label(format!("seconds, 1 to {MAX_IDLE_TIMEOUT}"));
                        self.error(d);
                    }
                }
            }
            "counters" => self.check_attached(e, "counters", "direct_counter"),
            "meters" => self.check_attached(e, "meters", "direct_meter"),
            other => {
                let d = Diagnostic::new(
                    Code::E0410,
                    format!("unknown table property `{other}`"),
                    name.span,
                )
                .label("not a table property")
                .suggest(other, PROPERTIES.iter().copied())
                .note(format!("table properties: {}", PROPERTIES.join(", ")));
                self.error(d);
                self.check_expr(e, None);
            }
        }
    }

    /// A property naming an extern instance kept per entry (`counters = c;` a
    /// `direct_counter`, `meters = m;` a `direct_meter`): E0410 for anything else.
    fn check_attached(&mut self, e: &ast::Expr, property: &str, ext: &str) {
        let ty = self.check_expr(e, None);
        let ok = match &ty {
            Ty::Extern(x, _) => self.p.externs[*x].name == ext,
            Ty::Unknown => true,
            _ => false,
        };
        if !ok {
            let d = Diagnostic::new(
                Code::E0410,
                format!("`{property}` needs a `{ext}`, not `{}`", self.ty_str(&ty)),
                e.span,
            )
            .label(format!("not a {}", ext.replace('_', " ")));
            self.error(d);
        }
    }

    /// One element of a select case or table entry, matched against a value of type `ty`.
    /// `kind` is the table key's match kind (`None` in a select, where every form is allowed).
    pub fn check_keyset_elem(&mut self, ks: &Keyset, ty: &Ty, kind: Option<&str>, fit: Code) {
        let form_ok = |form: &str| -> bool {
            match kind {
                None => true,
                Some(k) => match form {
                    "dontcare" => k != "exact",
                    "mask" => k == "ternary" || k == "lpm",
                    "prefix" => k == "ternary" || k == "lpm",
                    "range" => k == "range",
                    _ => true,
                },
            }
        };
        // Wrong shapes are select-case errors in a select, entry errors in a table.
        let shape = if kind.is_none() { Code::E0302 } else { fit };
        let (form, span) = match ks {
            // In a table entry, `default` means the same as `_`.
            Keyset::Default(s) if kind.is_some() => ("dontcare", *s),
            Keyset::Default(s) => ("default", *s),
            Keyset::DontCare(s) => ("dontcare", *s),
            Keyset::Value(e) if matches!(e.kind, ExprKind::Prefix(_)) => ("prefix", e.span),
            Keyset::Value(e) => ("value", e.span),
            Keyset::Mask(_, _, s) => ("mask", *s),
            Keyset::Range(_, _, s) => ("range", *s),
            Keyset::Tuple(_, s) => ("tuple", *s),
        };
        if !form_ok(form) {
            let k = kind.unwrap_or("");
            let d = Diagnostic::new(
                Code::E0402,
                format!(
                    "{} cannot match {} `{k}` key",
                    match form {
                        "dontcare" => "`_`",
                        "mask" => "a masked value (`&&&`)",
                        "prefix" => "a prefix",
                        _ => "a range (`..`)",
                    },
                    if k.starts_with(['a', 'e', 'i', 'o', 'u']) {
                        "an"
                    } else {
                        "a"
                    }
                ),
                span,
            )
            .label(format!("not allowed for `{k}`"))
            .help(match k {
                "exact" => "an exact key needs a plain value; use `ternary` to allow masks and `_`",
                "range" => "a range key takes `lo..hi` or `_`",
                _ => "use a plain value",
            });
            self.error(d);
            return;
        }
        match ks {
            Keyset::Default(_) | Keyset::DontCare(_) => {}
            Keyset::Value(e) => {
                if let ExprKind::Prefix(p) = &e.kind {
                    self.p.expr_types.insert(e.span, Ty::Prefix(p.bits));
                    if !matches!(ty, Ty::Bit(w) if *w == p.bits) && !ty.is_unknown() {
                        let d = Diagnostic::new(
                            shape,
                            format!(
                                "a {}-bit address prefix cannot match `{}`",
                                p.bits,
                                self.ty_str(ty)
                            ),
                            e.span,
                        )
                        .label("width differs");
                        self.error(d);
                    }
                } else {
                    self.keyset_value(e, ty, fit);
                }
            }
            Keyset::Mask(v, m, _) => {
                self.keyset_value(v, ty, fit);
                self.keyset_value(m, ty, fit);
            }
            Keyset::Range(lo, hi, s) => {
                let a = self.keyset_value(lo, ty, fit);
                let b = self.keyset_value(hi, ty, fit);
                if let (Some(Value::Int(a)), Some(Value::Int(b))) = (a, b) {
                    if a > b {
                        let d = Diagnostic::new(shape, format!("empty range {a}..{b}"), *s)
                            .label("the low end is above the high end");
                        self.error(d);
                    }
                }
            }
            // The grammar has no nested tuples: a tuple only ever holds keyset elements.
            Keyset::Tuple(..) => {}
        }
    }

    fn keyset_value(&mut self, e: &ast::Expr, ty: &Ty, fit: Code) -> Option<Value> {
        let got = self.check_expr(e, Some(ty));
        if !self.coerce(e, &got, ty, fit) {
            return None;
        }
        self.required_value(e, &got)
    }
}
