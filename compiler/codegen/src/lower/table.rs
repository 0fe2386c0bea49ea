//! Tables: a map of entries (hash for exact keys, LPM trie for a longest-prefix key) plus a
//! one-slot array holding the default action, so the control plane can change either.
//! `apply` builds the key in network order, looks it up, falls back to the default, and
//! dispatches on the action id stored in the value, reading parameters from the value.
//!
//! Takes: a table declaration (its actions are declared before it).
//! Gives: the maps, the table's manifest entry, and the lookup code at `apply`.

use super::bits::Place;
use super::Gen;
use crate::bpf::{map_type, F_NO_PREALLOC};
use crate::layout::{bits_of, bytes_for};
use inkwell::values::{GlobalValue, IntValue, PointerValue};
use iov_diagnostics::{Code, Diagnostic};
use iov_manifest as manifest;
use iov_sema::types::Ty;
use iov_syntax::ast::{self, Keyset, TableProp};
use std::collections::HashMap;

/// The most entries the scanned tables (those with a `range` key) of a program may have in
/// all: the kernel verifier walks every slot of every scan, again for each state reaching
/// it, and [`MAX_SCAN_STEPS`] bounds only one walk of each.
pub const MAX_SCANNED: u32 = 1024;

/// The verifier's steps the scans of a program may cost in all, by [`scan_steps`]: past this
/// the scans alone would take the kernel verifier's 1,000,000.
pub const MAX_SCAN_STEPS: u64 = 1_000_000;

/// The verifier's steps one slot of a scan costs, as measured on Linux 6.18 with a scan of
/// 1,024 slots: about 14, 11 for each key field narrower than 64 bits and 42 for each 64-bit
/// word of a wider one (12 fields of bit<32>: 153 a slot; 12 of bit<64>: 488; 6 of bit<128>:
/// 532). A lower bound for a program, which walks every slot at least once: scans after a
/// branch or another table are walked again for each state that reaches them.
pub fn scan_steps(keys: &[(ast::Expr, manifest::KeyField)]) -> u64 {
    14 + keys
        .iter()
        .map(|(_, k)| {
            if k.bits < 64 {
                11
            } else {
                42 * u64::from(k.bits.div_ceil(64))
            }
        })
        .sum::<u64>()
}

/// The size of a scanned table that does not give one.
pub const DEFAULT_SCANNED: u32 = 256;

/// The distinct masks a tuple-space table holds when it does not say (`masks = N`), or its
/// size if smaller.
pub const DEFAULT_MASKS: u32 = 128;

pub struct TableGen<'ctx> {
    pub map: GlobalValue<'ctx>,
    pub default_map: GlobalValue<'ctx>,
    /// A tuple-space table's masks map, its mask count and where an entry's rank sits.
    pub masks: Option<(GlobalValue<'ctx>, u32, u32)>,
    pub keys: Vec<(ast::Expr, manifest::KeyField)>,
    pub kind: manifest::MapKind,
    pub size: u32,
    pub key_size: u32,
    /// Where the direct counter sits in the value, when the table has one.
    pub counter_offset: Option<u32>,
    /// The table's direct meter (instance name) and where its cell index sits in the value.
    pub direct_meter: Option<(String, u32)>,
    pub actions: Vec<manifest::Action>,
    pub hit: PointerValue<'ctx>,
    pub action: PointerValue<'ctx>,
    /// The declared `default_action` with its constant arguments, run when the default
    /// slot holds action id 0: nobody wrote it (an object loaded by libbpf or bpftool, not
    /// by the iov runtime), so the table still behaves as the program says.
    pub declared_default: Option<(String, Vec<u128>)>,
    pub value_size: u32,
    pub data_plane: Option<manifest::DataPlane>,
    /// Arguments bound in the `actions` list (`mark(hdr.ipv4.dscp)`), by action: they give
    /// the action's directional parameters, the entry gives the rest.
    pub bound: HashMap<String, Vec<ast::Expr>>,
}

impl TableGen<'_> {
    pub fn action_id(&self, name: &str) -> Option<u32> {
        self.actions.iter().find(|a| a.name == name).map(|a| a.id)
    }

    /// The bytes of an entry's value the search by masks copies out: the whole value, in
    /// words, when the data plane never writes the entry (no direct counter or meter).
    pub fn copied(&self) -> Option<u32> {
        (self.counter_offset.is_none() && self.direct_meter.is_none())
            .then(|| self.value_size.div_ceil(8) * 8)
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
        ast::ExprKind::Index(b, i) => format!("{}[{}]", source_text(b), source_text(i)),
        ast::ExprKind::Int(l) => l.value.to_string(),
        ast::ExprKind::Slice(b, h, l) => {
            format!("{}[{}:{}]", source_text(b), source_text(h), source_text(l))
        }
        ast::ExprKind::Call { callee, args, .. } if args.is_empty() => {
            format!("{}()", source_text(callee))
        }
        _ => "key".into(),
    }
}

/// Key names as the control plane writes them: their expression, made unique (`key`,
/// `key#2`) where two would read the same.
fn unique(names: &mut [String]) {
    for i in 1..names.len() {
        let mut n = 1;
        while names[..i].contains(&names[i]) {
            n += 1;
            let base = names[i].split('#').next().unwrap_or_default().to_string();
            names[i] = format!("{base}#{n}");
        }
    }
}

impl<'a, 'ctx> Gen<'a, 'ctx> {
    pub fn declare_table(&mut self, t: &ast::TableDecl) {
        // Keys in source order, with the position each takes in the map key.
        let mut keys: Vec<(ast::Expr, manifest::KeyField)> = Vec::new();
        let mut action_refs: Vec<ast::ActionRef> = Vec::new();
        let mut default = None;
        let mut default_const = false;
        let mut entries: Vec<ast::Entry> = Vec::new();
        let mut entries_const = false;
        let mut size = None;
        let mut counter: Option<String> = None;
        let mut meter: Option<String> = None;
        let mut add_on_miss = false;
        let mut idle_timeout_ns = None;
        let mut masks = None;
        for prop in &t.props {
            match prop {
                TableProp::Key(elems, _) => {
                    for k in elems {
                        let bits = bits_of(self.p, &self.ty(&k.expr));
                        let field = manifest::KeyField {
                            name: source_text(&k.expr),
                            bits,
                            match_kind: match_kind(&k.match_kind.name),
                            offset: 0,
                            bytes: bytes_for(bits),
                        };
                        keys.push((k.expr.clone(), field));
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
                    size = Some(self.const_of(e) as u32)
                }
                TableProp::Other(name, e, _) if name.name == "counters" => {
                    counter = match &e.kind {
                        ast::ExprKind::Name(n) => Some(n.name.clone()),
                        _ => None,
                    }
                }
                TableProp::Other(name, e, _) if name.name == "meters" => {
                    meter = match &e.kind {
                        ast::ExprKind::Name(n) => Some(n.name.clone()),
                        _ => None,
                    }
                }
                TableProp::Other(name, e, _) if name.name == "add_on_miss" => {
                    add_on_miss = matches!(e.kind, ast::ExprKind::Bool(true));
                }
                TableProp::Other(name, e, _) if name.name == "masks" => {
                    masks = Some(self.const_of(e) as u32)
                }
                TableProp::Other(name, e, _) if name.name == "idle_timeout" => {
                    idle_timeout_ns = Some(self.const_of(e) as u64 * 1_000_000_000);
                }
                TableProp::Other(name, _, span) => {
                    self.unsupported(*span, &format!("table property `{}`", name.name))
                }
                TableProp::Error(_) => {}
            }
        }
        let mut names: Vec<String> = keys.iter().map(|(_, f)| f.name.clone()).collect();
        unique(&mut names);
        for ((_, f), n) in keys.iter_mut().zip(names) {
            f.name = n;
        }
        // A table that names no default action runs `NoAction` (the prelude's) on a miss, as
        // in P4; it joins the table's actions so the dispatch and the manifest know it.
        if default.is_none() {
            let no_action = ast::ActionRef {
                name: ast::Ident {
                    name: "NoAction".into(),
                    span: t.name.span,
                },
                args: Some(Vec::new()),
                span: t.name.span,
            };
            if !action_refs.iter().any(|a| a.name.name == "NoAction") {
                action_refs.push(no_action.clone());
            }
            default = Some(no_action);
        }
        use manifest::MatchKind as K;
        let kind = if keys.iter().any(|(_, k)| k.match_kind == K::Range) {
            manifest::MapKind::Array
        } else if keys
            .iter()
            .any(|(_, k)| matches!(k.match_kind, K::Ternary | K::Optional))
        {
            manifest::MapKind::TupleSpace
        } else if keys.iter().any(|(_, k)| k.match_kind == K::Lpm) {
            manifest::MapKind::LpmTrie
        } else {
            manifest::MapKind::Hash
        };
        // Storage order: in an LPM trie the lpm field comes last; elsewhere source order.
        let mut order: Vec<usize> = (0..keys.len()).collect();
        if kind == manifest::MapKind::LpmTrie {
            order.sort_by_key(|&i| keys[i].1.match_kind == K::Lpm);
        }
        let keys: Vec<(ast::Expr, manifest::KeyField)> =
            order.iter().map(|&i| keys[i].clone()).collect();
        let mut keys = keys;
        let mut off = 0;
        for (_, k) in keys.iter_mut() {
            k.offset = off;
            // Array slots hold two values per field (value and mask, or low and high).
            off += if kind == manifest::MapKind::Array {
                2 * k.bytes
            } else {
                k.bytes
            };
        }
        let key_size = match kind {
            manifest::MapKind::Hash => off.max(4),
            manifest::MapKind::LpmTrie => 4 + off,
            // Padded so the value (and any counter in it) stays 8-byte aligned.
            manifest::MapKind::Array => (4 + off).div_ceil(8) * 8,
            // Masked a word at a time.
            manifest::MapKind::TupleSpace => (4 + off).div_ceil(8) * 8,
        };
        let mut actions = Vec::new();
        let mut value_size = 4;
        let bound: HashMap<String, Vec<ast::Expr>> = action_refs
            .iter()
            .filter_map(|a| Some((a.name.name.clone(), a.args.clone()?)))
            .collect();
        for (i, a) in action_refs.iter().enumerate() {
            let params = self
                .actions
                .get(&a.name.name)
                .cloned()
                .or_else(|| self.top_level_action(&a.name.name))
                .map(|decl| decl.params)
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
        // The entry's meter cell index follows the parameters.
        let meter_offset = meter.as_ref().map(|_| value_size.div_ceil(4) * 4);
        if let Some(at) = meter_offset {
            value_size = at + 4;
        }
        let (value_size, direct_counter) = match &counter {
            Some(c) => {
                let offset = value_size.div_ceil(8) * 8;
                (
                    offset + 16,
                    Some(manifest::DirectCounter {
                        name: format!("{}.{c}", self.control),
                        offset,
                    }),
                )
            }
            None => (value_size.div_ceil(4) * 4, None),
        };
        // Written by the data plane or expiring: the time each entry was last used follows.
        let data_plane = (add_on_miss || idle_timeout_ns.is_some()).then(|| {
            let at = idle_timeout_ns.map(|_| value_size.div_ceil(8) * 8);
            manifest::DataPlane {
                add_on_miss,
                idle_timeout_ns,
                last_used_offset: at,
            }
        });
        let value_size = match data_plane.as_ref().and_then(|d| d.last_used_offset) {
            Some(at) => at + 8,
            None => value_size,
        };
        // A tuple-space entry's rank follows: the highest rank among the masks' hits wins.
        let rank_offset =
            (kind == manifest::MapKind::TupleSpace).then(|| value_size.div_ceil(8) * 8);
        let value_size = rank_offset.map_or(value_size, |at| at + 8);
        // Scanned tables cost the verifier per slot: they default to fewer entries.
        let size = size.unwrap_or(if kind == manifest::MapKind::Array {
            DEFAULT_SCANNED
        } else {
            1024
        });
        let name = &t.name.name;
        if kind == manifest::MapKind::Array {
            self.scanned += size;
            let steps = u64::from(size) * scan_steps(&keys);
            self.scan_steps += steps;
            // On the table whose scan passes the budget.
            if self.scan_steps > MAX_SCAN_STEPS && self.scan_steps - steps <= MAX_SCAN_STEPS {
                let span = t.props.iter().find_map(|p| match p {
                    TableProp::Other(n, e, _) if n.name == "size" => Some(e.span),
                    _ => None,
                });
                let d = Diagnostic::new(
                    Code::E0700,
                    if self.scan_steps == steps {
                        format!("scanning this table costs the kernel verifier about {steps} steps, more than the {MAX_SCAN_STEPS} it allows")
                    } else {
                        format!(
                            "scanning this table costs the kernel verifier about {steps} steps, {} with the program's other scans, more than the {MAX_SCAN_STEPS} it allows",
                            self.scan_steps
                        )
                    },
                    span.unwrap_or(t.name.span),
                )
                .label(format!("{size} slots of {} steps each", scan_steps(&keys)))
                .note("a table with a `range` key is scanned slot by slot, and the verifier walks every slot; each key field of 64 bits or more costs about 42 steps a slot for each 64 bits")
                .help("give the table fewer entries or narrower range keys, or move the wide fields into a table of exact or ternary keys applied before it");
                self.diags.push(d);
            }
        }
        if kind == manifest::MapKind::Array && self.scanned > MAX_SCANNED {
            let span = t.props.iter().find_map(|p| match p {
                TableProp::Other(n, e, _) if n.name == "size" => Some(e.span),
                _ => None,
            });
            self.unsupported(
                span.unwrap_or(t.name.span),
                &format!("more than {MAX_SCANNED} entries in all in tables with ternary, range or optional keys"),
            );
        }
        let map = match kind {
            manifest::MapKind::Hash if data_plane.is_some() => self.bpf.map(
                name,
                map_type::LRU_HASH,
                key_size,
                value_size,
                size.max(1),
                0,
            ),
            manifest::MapKind::Hash => {
                self.bpf
                    .map(name, map_type::HASH, key_size, value_size, size.max(1), 0)
            }
            manifest::MapKind::LpmTrie => self.bpf.map(
                name,
                map_type::LPM_TRIE,
                key_size,
                value_size,
                size.max(1),
                F_NO_PREALLOC,
            ),
            manifest::MapKind::Array => self.bpf.map(
                name,
                map_type::ARRAY,
                4,
                key_size + value_size,
                size.max(1),
                0,
            ),
            // Not preallocated: an entry replaced or deleted is freed only after every
            // program that may hold it has finished, so a lookup reads one version whole.
            manifest::MapKind::TupleSpace => self.bpf.map(
                name,
                map_type::HASH,
                key_size,
                value_size,
                size.max(1),
                F_NO_PREALLOC,
            ),
        };
        let masks = rank_offset.map(|rank| {
            // The verifier checks the search's callback once whatever the masks
            // (`tuple_loop.rs`), so they have no limit in all.
            let n = masks.unwrap_or(DEFAULT_MASKS.min(size.max(1)));
            let m = self.bpf.map(
                &format!("{name}_masks"),
                map_type::ARRAY,
                4,
                2 * key_size + 16,
                n + 1,
                0,
            );
            (m, n, rank)
        });
        let direct_meter = match (&meter, meter_offset) {
            (Some(m), Some(at)) => Some(self.direct_meter_instance(m, name, size.max(1), at)),
            _ => None,
        };
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
        let declared_default = default.as_ref().map(|a| {
            let args = a.args.iter().flatten().map(|e| self.const_of(e)).collect();
            (a.name.name.clone(), args)
        });
        let mut m_entries = Vec::new();
        let n = entries.len() as u32;
        for (i, e) in entries.iter().enumerate() {
            let elems: Vec<&Keyset> = match &e.keys {
                Keyset::Tuple(v, _) => v.iter().collect(),
                one => vec![one],
            };
            let matches = order
                .iter()
                .filter_map(|&k| elems.get(k))
                .map(|ks| self.key_match(ks))
                .collect();
            let priority = match &e.priority {
                Some(p) => self.const_of(p) as u32,
                None => n - i as u32,
            };
            m_entries.push(manifest::Entry {
                keys: matches,
                action: call(self, &e.action),
                priority,
            });
        }
        self.manifest.tables.push(manifest::Table {
            name: format!("{}.{}", self.control, name),
            map: name.clone(),
            default_map: default_name.clone(),
            kind,
            size,
            key_size,
            value_size,
            keys: keys.iter().map(|(_, k)| k.clone()).collect(),
            actions: actions.clone(),
            default_action,
            default_const,
            entries: m_entries,
            entries_const,
            direct_counter: direct_counter.clone(),
            direct_meter,
            data_plane: data_plane.clone(),
            tuple_space: masks.map(|(_, n, rank)| manifest::TupleSpace {
                masks_map: format!("{name}_masks"),
                masks: n,
                rank_offset: rank,
            }),
        });
        let hit = self.alloca(1, "hit");
        let action = self.alloca(32, "action_run");
        self.tables.insert(
            name.clone(),
            TableGen {
                map,
                default_map,
                masks,
                keys,
                kind,
                size,
                key_size,
                counter_offset: direct_counter.map(|c| c.offset),
                direct_meter: meter.zip(meter_offset),
                actions,
                hit,
                action,
                declared_default,
                value_size,
                data_plane,
                bound,
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
            Keyset::Mask(v, m, _) => manifest::KeyMatch::Mask {
                value: self.value_of(v).to_string(),
                mask: self.value_of(m).to_string(),
            },
            Keyset::Range(lo, hi, _) => manifest::KeyMatch::Range {
                low: self.value_of(lo).to_string(),
                high: self.value_of(hi).to_string(),
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
                let named =
                    |name: &str| matches!(&p.ty, ast::TypeRef::Named(n, _, _) if n.name == name);
                let ty = self
                    .p
                    .typedefs
                    .iter()
                    .find(|t| named(&t.name))
                    .map(|t| t.target.clone())
                    .or_else(|| {
                        self.p
                            .enums
                            .iter()
                            .position(|e| named(&e.name))
                            .map(Ty::Enum)
                    });
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
        let (map, default_map, kind, size, key_size, counter, hit, action) = (
            t.map,
            t.default_map,
            t.kind,
            t.size,
            t.key_size,
            t.counter_offset,
            t.hit,
            t.action,
        );
        let keys = t.keys.clone();
        let actions = t.actions.clone();
        let declared_default = t.declared_default.clone();
        let bound = t.bound.clone();
        let data_plane = t.data_plane.clone();
        let masks = t.masks;
        // An entry the data plane never writes (no direct counter or meter) is copied out
        // by the search, so its value needs no second lookup.
        let copy = t.copied();
        let copied = copy.is_some() && kind == manifest::MapKind::TupleSpace;
        let (found, key) = match (kind, masks) {
            (manifest::MapKind::Array, _) => (self.scan(map, size, key_size, &keys), None),
            (manifest::MapKind::TupleSpace, Some(m)) => {
                (self.tuple_loop(map, m, key_size, &keys, copy, span), None)
            }
            _ => {
                let (found, key) = self.lookup_key(map, kind, key_size, &keys);
                (found, Some(key))
            }
        };
        let found = match (&data_plane, key) {
            (Some(dp), Some(key)) => self.expire_or_touch(map, key, found, dp),
            _ => found,
        };
        // What `add_entry` in the actions run below adds to.
        let outer = self.applying.replace(super::Applying {
            table: name.to_string(),
            key,
            value: None,
        });
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
        if let Some(off) = counter {
            self.count_direct(found, off);
        }
        let use_hit = self.bpf.b.get_insert_block().expect("block");
        self.goto(dispatch);
        self.bpf.b.position_at_end(miss);
        self.set(hit, 1, 0);
        let zero = self.zero_key();
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
        if let Some(a) = self.applying.as_mut() {
            a.value = Some(value);
        }
        let id = self
            .bpf
            .b
            .build_load(self.bpf.ctx.i32_type(), value, "id")
            .expect("load")
            .into_int_value();
        self.bpf.b.build_store(action, id).expect("store");
        let mut arms = Vec::new();
        let here = self.bpf.b.get_insert_block().expect("block");
        // A value the search copied is on the stack, where the verifier wants every access
        // aligned to its size.
        let place = if copied { Place::Stack(8) } else { Place::Any };
        for a in &actions {
            let bb = self.block(&format!("run_{}", a.name));
            arms.push((self.bpf.c(32, u128::from(a.id)), bb));
            self.bpf.b.position_at_end(bb);
            let args: Vec<IntValue<'ctx>> = a
                .params
                .iter()
                .map(|p| {
                    self.load_bits(value, p.offset * 8 + (p.bytes * 8 - p.bits), p.bits, place)
                })
                .collect();
            self.inline_table_action(
                &a.name,
                args,
                bound.get(&a.name).map_or(&[][..], |b| &b[..]),
                span,
            );
            self.goto(done);
        }
        // Id 0 is never an entry's action: the default slot was never written.
        if let Some((name, consts)) = declared_default {
            if let Some(a) = actions.iter().find(|a| a.name == name) {
                let bb = self.block("run_declared_default");
                arms.push((self.bpf.c(32, 0), bb));
                self.bpf.b.position_at_end(bb);
                self.bpf
                    .b
                    .build_store(action, self.bpf.c(32, u128::from(a.id)))
                    .expect("store");
                let args = a
                    .params
                    .iter()
                    .zip(consts)
                    .map(|(p, v)| self.bpf.c(p.bits, v))
                    .collect();
                self.inline_table_action(
                    &a.name,
                    args,
                    bound.get(&a.name).map_or(&[][..], |b| &b[..]),
                    span,
                );
                self.goto(done);
            }
        }
        self.bpf.b.position_at_end(here);
        self.bpf.b.build_switch(id, done, &arms).expect("switch");
        self.bpf.b.position_at_end(done);
        self.applying = outer;
    }

    /// Adds one packet and its bytes to the direct counter in an entry's value.
    fn count_direct(&mut self, value: PointerValue<'ctx>, offset: u32) {
        let i64t = self.bpf.ctx.i64_type();
        let len = self
            .bpf
            .b
            .build_int_z_extend(self.pkt_len, i64t, "len")
            .expect("zext");
        for (at, add) in [(offset, i64t.const_int(1, false)), (offset + 8, len)] {
            let p = self.bpf.byte_ptr(value, self.bpf.c(64, u128::from(at)));
            self.bpf
                .b
                .build_atomicrmw(
                    inkwell::AtomicRMWBinOp::Add,
                    p,
                    add,
                    inkwell::AtomicOrdering::Monotonic,
                )
                .expect("atomic add");
        }
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
