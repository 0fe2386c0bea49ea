//! Tables: a map of entries (hash for exact keys, LPM trie for a longest-prefix key) plus a
//! one-slot array holding the default action, so the control plane can change either.
//! `apply` builds the key in network order, looks it up, falls back to the default, and
//! dispatches on the action id stored in the value, reading parameters from the value.
//!
//! Takes: a table declaration (its actions are declared before it).
//! Gives: the maps, the table's manifest entry, and the lookup code at `apply`.

use super::Gen;
use crate::bpf::{map_type, F_NO_PREALLOC};
use crate::layout::{bits_of, bytes_for};
use inkwell::values::{GlobalValue, IntValue, PointerValue};
use iov_manifest as manifest;
use iov_syntax::ast::{self, Keyset, TableProp};

pub struct TableGen<'ctx> {
    pub map: GlobalValue<'ctx>,
    pub default_map: GlobalValue<'ctx>,
    pub keys: Vec<(ast::Expr, manifest::KeyField)>,
    pub lpm: bool,
    pub key_size: u32,
    pub actions: Vec<manifest::Action>,
    pub hit: PointerValue<'ctx>,
    pub action: PointerValue<'ctx>,
}

impl TableGen<'_> {
    pub fn action_id(&self, name: &str) -> Option<u32> {
        self.actions.iter().find(|a| a.name == name).map(|a| a.id)
    }
}

fn match_kind(name: &str) -> manifest::MatchKind {
    match name {
        "lpm" => manifest::MatchKind::Lpm,
        "ternary" => manifest::MatchKind::Ternary,
        "range" => manifest::MatchKind::Range,
        "optional" => manifest::MatchKind::Optional,
        _ => manifest::MatchKind::Exact,
    }
}

fn source_text(e: &ast::Expr) -> String {
    match &e.kind {
        ast::ExprKind::Name(n) => n.name.clone(),
        ast::ExprKind::Member(b, m) => format!("{}.{}", source_text(b), m.name),
        _ => "key".into(),
    }
}

impl<'a, 'ctx> Gen<'a, 'ctx> {
    pub fn declare_table(&mut self, t: &ast::TableDecl) {
        let mut keys = Vec::new();
        let mut offset = 0;
        let mut action_refs: Vec<ast::ActionRef> = Vec::new();
        let mut default = None;
        let mut default_const = false;
        let mut entries: Vec<ast::Entry> = Vec::new();
        let mut entries_const = false;
        let mut size = 1024;
        for prop in &t.props {
            match prop {
                TableProp::Key(elems, _) => {
                    for k in elems {
                        let kind = match_kind(&k.match_kind.name);
                        if !matches!(kind, manifest::MatchKind::Exact | manifest::MatchKind::Lpm) {
                            self.unsupported(
                                k.match_kind.span,
                                &format!("a `{}` key", k.match_kind.name),
                            );
                        }
                        let bits = bits_of(self.p, &self.ty(&k.expr));
                        let bytes = bytes_for(bits);
                        keys.push((
                            k.expr.clone(),
                            manifest::KeyField {
                                name: source_text(&k.expr),
                                bits,
                                match_kind: kind,
                                offset,
                                bytes,
                            },
                        ));
                        offset += bytes;
                    }
                }
                TableProp::Actions(list, _) => action_refs = list.clone(),
                TableProp::DefaultAction {
                    is_const, action, ..
                } => {
                    default = Some(action.clone());
                    default_const = *is_const;
                }
                TableProp::Entries {
                    is_const,
                    entries: e,
                    ..
                } => {
                    entries = e.clone();
                    entries_const = *is_const;
                }
                TableProp::Other(name, e, _) if name.name == "size" => {
                    size = self.const_of(e) as u32
                }
                TableProp::Other(name, _, span) => {
                    self.unsupported(*span, &format!("table property `{}`", name.name))
                }
                TableProp::Error(_) => {}
            }
        }
        // lpm last: exact fields first, the prefix length counts them too.
        keys.sort_by_key(|(_, k)| k.match_kind == manifest::MatchKind::Lpm);
        let mut off = 0;
        for (_, k) in keys.iter_mut() {
            k.offset = off;
            off += k.bytes;
        }
        let lpm = keys
            .iter()
            .any(|(_, k)| k.match_kind == manifest::MatchKind::Lpm);
        let key_size = (if lpm { 4 } else { 0 } + off).max(4);
        let mut actions = Vec::new();
        let mut value_size = 4;
        for (i, a) in action_refs.iter().enumerate() {
            let params = self
                .actions
                .get(&a.name.name)
                .map(|decl| decl.params.clone())
                .unwrap_or_default();
            let mut off = 4;
            let mut ps = Vec::new();
            for p in params.iter().filter(|p| p.direction.is_none()) {
                let bits = self.param_bits(p);
                let bytes = bytes_for(bits);
                ps.push(manifest::Param {
                    name: p.name.name.clone(),
                    bits,
                    offset: off,
                    bytes,
                });
                off += bytes;
            }
            value_size = value_size.max(off);
            actions.push(manifest::Action {
                name: a.name.name.clone(),
                id: i as u32 + 1,
                params: ps,
            });
        }
        let value_size = value_size.div_ceil(4) * 4;
        let name = &t.name.name;
        let (kind, flags) = if lpm {
            (map_type::LPM_TRIE, F_NO_PREALLOC)
        } else {
            (map_type::HASH, 0)
        };
        let map = self
            .bpf
            .map(name, kind, key_size, value_size, size.max(1), flags);
        let default_name = format!("{name}_default");
        let default_map = self
            .bpf
            .map(&default_name, map_type::ARRAY, 4, value_size, 1, 0);
        let call = |g: &mut Self, a: &ast::ActionRef| manifest::ActionCall {
            action: a.name.name.clone(),
            args: a
                .args
                .iter()
                .flatten()
                .map(|e| g.const_of(e).to_string())
                .collect(),
        };
        let default_action = match &default {
            Some(a) => call(self, a),
            None => manifest::ActionCall {
                action: String::new(),
                args: vec![],
            },
        };
        let mut m_entries = Vec::new();
        for e in &entries {
            let elems: Vec<&Keyset> = match &e.keys {
                Keyset::Tuple(v, _) => v.iter().collect(),
                one => vec![one],
            };
            let matches = elems.iter().map(|ks| self.key_match(ks)).collect();
            m_entries.push(manifest::Entry {
                keys: matches,
                action: call(self, &e.action),
            });
        }
        self.manifest.tables.push(manifest::Table {
            name: format!("{}.{}", self.control, name),
            map: name.clone(),
            default_map: default_name.clone(),
            kind: if lpm {
                manifest::MapKind::LpmTrie
            } else {
                manifest::MapKind::Hash
            },
            size,
            key_size,
            value_size,
            keys: keys.iter().map(|(_, k)| k.clone()).collect(),
            actions: actions.clone(),
            default_action,
            default_const,
            entries: m_entries,
            entries_const,
        });
        let hit = self.alloca(1, "hit");
        let action = self.alloca(32, "action_run");
        self.tables.insert(
            name.clone(),
            TableGen {
                map,
                default_map,
                keys,
                lpm,
                key_size,
                actions,
                hit,
                action,
            },
        );
    }

    fn key_match(&mut self, ks: &Keyset) -> manifest::KeyMatch {
        match ks {
            Keyset::Default(_) | Keyset::DontCare(_) => manifest::KeyMatch::Any,
            Keyset::Value(e) => match &e.kind {
                ast::ExprKind::Prefix(p) => manifest::KeyMatch::Prefix {
                    value: p.value.to_string(),
                    len: p.len,
                },
                _ => manifest::KeyMatch::Value {
                    value: self.value_of(e).to_string(),
                },
            },
            other => {
                self.unsupported(other.span(), "this kind of entry key");
                manifest::KeyMatch::Any
            }
        }
    }

    /// The value of a literal, address or constant in an entry.
    fn value_of(&mut self, e: &ast::Expr) -> u128 {
        match &e.kind {
            ast::ExprKind::Ipv4(v) => u128::from(*v),
            ast::ExprKind::Ipv6(v) => *v,
            ast::ExprKind::Mac(v) => u128::from(*v),
            _ => self.const_of(e),
        }
    }

    fn param_bits(&mut self, p: &ast::Param) -> u32 {
        match &p.ty {
            ast::TypeRef::Bit(w, _) | ast::TypeRef::Int(w, _) => self.const_of(w) as u32,
            ast::TypeRef::Bool(_) => 1,
            _ => {
                let ty = self
                    .p
                    .typedefs
                    .iter()
                    .find(|t| matches!(&p.ty, ast::TypeRef::Named(n, _, _) if n.name == t.name))
                    .map(|t| t.target.clone());
                match ty {
                    Some(t) => bits_of(self.p, &t),
                    None => {
                        self.unsupported(p.ty.span(), "a control-plane parameter of this type");
                        32
                    }
                }
            }
        }
    }

    /// `t.apply()`: look up, fall back to the default, run the action.
    pub fn apply_table(&mut self, name: &str, span: iov_diagnostics::Span) {
        let Some(t) = self.tables.get(name) else {
            self.unsupported(span, "applying this table");
            return;
        };
        let (map, default_map, lpm, key_size, hit, action) =
            (t.map, t.default_map, t.lpm, t.key_size, t.hit, t.action);
        let keys = t.keys.clone();
        let actions = t.actions.clone();
        let i8t = self.bpf.ctx.i8_type();
        let key = self.alloca_bytes(key_size, "key");
        let base = if lpm {
            // The trie compares stored bits: every byte of every field, high padding included.
            let total: u32 = keys.iter().map(|(_, k)| k.bytes * 8).sum();
            self.bpf
                .b
                .build_store(key, self.bpf.c(32, u128::from(total)))
                .expect("store");
            unsafe { self.bpf.b.build_gep(i8t, key, &[self.bpf.c(64, 4)], "kd") }.expect("gep")
        } else {
            key
        };
        for (e, k) in &keys {
            let v = self.expr(e);
            self.store_bits(base, k.offset * 8 + (k.bytes * 8 - k.bits), k.bits, v);
        }
        let found = self.bpf.lookup(map, key);
        let is_hit = self.bpf.b.build_is_not_null(found, "is_hit").expect("cmp");
        let use_hit = self.block("table_hit");
        let miss = self.block("table_miss");
        let use_default = self.block("table_default");
        let dispatch = self.block("table_dispatch");
        let done = self.block("table_done");
        self.bpf
            .b
            .build_conditional_branch(is_hit, use_hit, miss)
            .expect("br");
        self.bpf.b.position_at_end(use_hit);
        self.set(hit, 1, 1);
        self.goto(dispatch);
        self.bpf.b.position_at_end(miss);
        self.set(hit, 1, 0);
        let zero = self.alloca(32, "zero");
        let dflt = self.bpf.lookup(default_map, zero);
        let has_default = self
            .bpf
            .b
            .build_is_not_null(dflt, "has_default")
            .expect("cmp");
        self.set(action, 32, 0);
        self.bpf
            .b
            .build_conditional_branch(has_default, use_default, done)
            .expect("br");
        self.bpf.b.position_at_end(use_default);
        self.goto(dispatch);
        self.bpf.b.position_at_end(dispatch);
        let value = self.bpf.b.build_phi(self.bpf.ptr(), "value").expect("phi");
        value.add_incoming(&[(&found, use_hit), (&dflt, use_default)]);
        let value = value.as_basic_value().into_pointer_value();
        let id = self
            .bpf
            .b
            .build_load(self.bpf.ctx.i32_type(), value, "id")
            .expect("load")
            .into_int_value();
        self.bpf.b.build_store(action, id).expect("store");
        let mut arms = Vec::new();
        let here = self.bpf.b.get_insert_block().expect("block");
        for a in &actions {
            let bb = self.block(&format!("run_{}", a.name));
            arms.push((self.bpf.c(32, u128::from(a.id)), bb));
            self.bpf.b.position_at_end(bb);
            let args: Vec<IntValue<'ctx>> = a
                .params
                .iter()
                .map(|p| self.load_bits(value, p.offset * 8 + (p.bytes * 8 - p.bits), p.bits))
                .collect();
            self.inline_action(&a.name, args, span);
            self.goto(done);
        }
        self.bpf.b.position_at_end(here);
        self.bpf.b.build_switch(id, done, &arms).expect("switch");
        self.bpf.b.position_at_end(done);
    }

    /// `.hit`, `.miss` or `.action_run` of `t.apply()` (which runs the lookup).
    pub fn apply_result(&mut self, call: &ast::Expr, table: &str, member: &str) -> IntValue<'ctx> {
        self.apply_table(table, call.span);
        let Some(t) = self.tables.get(table) else {
            return self.bpf.c(1, 0);
        };
        let (hit, action) = (t.hit, t.action);
        let b = &self.bpf.b;
        match member {
            "hit" => b
                .build_load(self.bpf.i(1), hit, "hit")
                .expect("load")
                .into_int_value(),
            "miss" => {
                let h = b
                    .build_load(self.bpf.i(1), hit, "hit")
                    .expect("load")
                    .into_int_value();
                b.build_not(h, "miss").expect("not")
            }
            _ => b
                .build_load(self.bpf.ctx.i32_type(), action, "run")
                .expect("load")
                .into_int_value(),
        }
    }
}
