//! Which state a reloaded module carries over: the running manifest against the new one.
//!
//! Takes: the running module's manifest, the new object's manifest and the names the user
//! asked to start empty (`--reset`).
//! Gives: a [`Plan`]: for every table, counter and register of the new program, whether its
//! maps are reused (contents kept), created empty and why, or created and filled from the
//! running ones because its layout only widened (lossless); what disappears; and, when
//! some object changed layout and was not named in `--reset`, every such change in words, so
//! the reload is refused before anything is touched. Pure: no kernel, no files.

use iov_manifest::{Action, Manifest, Table};

/// The [`Carry::kind`] of the maps a chain stage has (`iov_next`, `iov_packets`).
pub const CHAIN: &str = "chain";

/// What happens to one table, counter or register.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fate {
    /// Its maps are the running ones: entries, default action, counts and values stay.
    Kept,
    /// It starts empty (with its declared default and entries), for the reason given.
    Fresh(String),
    /// Its layout only widened (the changes given): it gets new maps, filled from the running
    /// ones before the new program runs (`migrate.rs`), so nothing is lost.
    Migrated(Vec<String>),
}

/// One table, counter or register of the new program.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Carry {
    /// `table`, `counter`, `register`, or [`CHAIN`].
    pub kind: &'static str,
    pub name: String,
    /// The ELF map names it owns (a table: its entries and its default slot).
    pub maps: Vec<String>,
    pub fate: Fate,
    /// A kept table whose declared default action changed in the source: the new default
    /// is written (a default set from the control plane is otherwise kept).
    pub new_default: bool,
}

/// The whole decision.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Plan {
    pub carry: Vec<Carry>,
    /// Objects of the running program the new one no longer has (`table `x``...).
    pub removed: Vec<String>,
    /// Layout changes that forbid reuse, each saying what changed and how to proceed.
    pub refusals: Vec<String>,
}

/// Compares `old` with `new`; `reset` names objects to start empty (full or short names).
/// Unknown `reset` names are refused too.
pub fn plan(old: &Manifest, new: &Manifest, reset: &[String]) -> Plan {
    let mut p = Plan::default();
    let names = |full: &str, r: &str| r == full || full.rsplit('.').next() == Some(r);
    let wants_reset = |full: &str| reset.iter().any(|r| names(full, r));
    for r in reset {
        if !objects(new).iter().any(|(_, full)| names(full, r)) {
            p.refusals.push(format!(
                "`--reset {r}` names no table, counter or register of the new program"
            ));
        }
    }
    for t in &new.tables {
        let before = old.tables.iter().find(|o| o.name == t.name);
        let changes = before.map(|o| table_changes(o, t));
        let new_default = before.is_some_and(|o| o.default_action != t.default_action);
        let reset_it = wants_reset(&t.name);
        let widened = before.is_some_and(|o| table_widened(o, t));
        decide(
            &mut p,
            reset_it,
            "table",
            &t.name,
            [&t.map, &t.default_map]
                .into_iter()
                .chain(t.tuple_space.as_ref().map(|ts| &ts.masks_map))
                .cloned()
                .collect(),
            changes,
            widened,
            new_default,
        );
        // Const entries are the source's, not state: when they change, the table is new.
        if let Some(o) = before {
            let last = p.carry.last_mut().expect("just pushed");
            if matches!(last.fate, Fate::Kept | Fate::Migrated(_))
                && t.entries_const
                && (o.entries != t.entries || !o.entries_const)
            {
                last.fate = Fate::Fresh("its entries are now the source's (const entries)".into());
            }
            // A default the source now fixes replaces one set from the control plane.
            if t.default_const && !o.default_const {
                last.new_default = true;
            }
        }
    }
    for c in &new.counters {
        let changes = old.counters.iter().find(|o| o.name == c.name).map(|o| {
            let kind = (o.kind != c.kind)
                .then(|| format!("it counted {:?} and now counts {:?}", o.kind, c.kind));
            array_changes(o.size, c.size, kind)
        });
        let widened = old
            .counters
            .iter()
            .any(|o| o.name == c.name && o.kind == c.kind && o.size <= c.size);
        let reset_it = wants_reset(&c.name);
        decide(
            &mut p,
            reset_it,
            "counter",
            &c.name,
            vec![c.map.clone()],
            changes,
            widened,
            false,
        );
    }
    for r in &new.registers {
        let changes = old.registers.iter().find(|o| o.name == r.name).map(|o| {
            let width = (o.bits != r.bits)
                .then(|| format!("its values changed from bit<{}> to bit<{}>", o.bits, r.bits));
            let initial = (o.initial != r.initial).then(|| {
                format!(
                    "its initial value changed from {} to {}",
                    o.initial, r.initial
                )
            });
            let mut changes = array_changes(o.size, r.size, width);
            changes.extend(initial);
            changes
        });
        let widened = old.registers.iter().any(|o| {
            o.name == r.name && o.size <= r.size && o.bits <= r.bits && o.initial == r.initial
        });
        let reset_it = wants_reset(&r.name);
        decide(
            &mut p,
            reset_it,
            "register",
            &r.name,
            vec![r.map.clone()],
            changes,
            widened,
            false,
        );
    }
    // Meters keep their settings and buckets when their size and kind stay; any change needs
    // `--reset` (no migration: a meter's setting is per cell, and its tokens are per kind).
    for m in &new.meters {
        let changes = old.meters.iter().find(|o| o.name == m.name).map(|o| {
            let kind = (o.kind != m.kind)
                .then(|| format!("it metered {:?} and now meters {:?}", o.kind, m.kind));
            array_changes(o.size, m.size, kind)
        });
        let reset_it = wants_reset(&m.name);
        decide(
            &mut p,
            reset_it,
            "meter",
            &m.name,
            vec![m.map.clone()],
            changes,
            false,
            false,
        );
    }
    // Multicast groups keep their ports while their size and kind (the hook) stay.
    for g in &new.groups {
        let changes = old.groups.iter().find(|o| o.name == g.name).map(|o| {
            let kind = (o.kind != g.kind)
                .then(|| format!("it was a {:?} group and is now a {:?} one", o.kind, g.kind));
            array_changes(o.size, g.size, kind)
        });
        let reset_it = wants_reset(&g.name);
        decide(
            &mut p,
            reset_it,
            "multicast group",
            &g.name,
            vec![g.map.clone()],
            changes,
            false,
            false,
        );
    }
    // Digests: the ring buffer and drop count are kept while the record stays the same, so a
    // reader (`iov events`) goes on reading across the reload; a new record starts afresh.
    for d in &new.digests {
        let old_d = old.digests.iter().find(|o| o.name == d.name);
        let fate = match old_d {
            None => Fate::Fresh("new in this version".into()),
            Some(o) if o.fields == d.fields && o.ring_bytes == d.ring_bytes => Fate::Kept,
            Some(_) => Fate::Fresh("its record changed".into()),
        };
        p.carry.push(Carry {
            kind: "digest",
            name: d.name.clone(),
            maps: vec![d.map.clone(), d.drops_map.clone()],
            fate,
            new_default: false,
        });
    }
    // The next stage and the packet count: kept, so a stage of a chain keeps handing packets
    // to its successor and counting on.
    if let Some(c) = &new.chain {
        let kept = old.chain.as_ref() == Some(c);
        p.carry.push(Carry {
            kind: CHAIN,
            name: "chain".into(),
            maps: [&c.next, &c.packets]
                .into_iter()
                .chain(c.classes.as_ref().map(|k| &k.map))
                .cloned()
                .collect(),
            fate: if kept {
                Fate::Kept
            } else {
                Fate::Fresh("new in this version".into())
            },
            new_default: false,
        });
    }
    let now = objects(new);
    for (kind, name) in objects(old) {
        if !now.contains(&(kind, name)) {
            p.removed.push(format!("{kind} `{name}`"));
        }
    }
    if !p.refusals.is_empty() {
        p.refusals.push(
            "start the changed objects empty with `--reset NAME...`, or keep their layout".into(),
        );
    }
    p
}

/// Every table, counter, register, meter, digest and group of `m`: its kind and full name.
fn objects(m: &Manifest) -> Vec<(&'static str, &str)> {
    let tables = m.tables.iter().map(|t| ("table", t.name.as_str()));
    let counters = m.counters.iter().map(|c| ("counter", c.name.as_str()));
    let registers = m.registers.iter().map(|r| ("register", r.name.as_str()));
    let meters = m.meters.iter().map(|r| ("meter", r.name.as_str()));
    let digests = m.digests.iter().map(|d| ("digest", d.name.as_str()));
    let groups = m
        .groups
        .iter()
        .map(|g| ("multicast group", g.name.as_str()));
    tables
        .chain(counters)
        .chain(registers)
        .chain(meters)
        .chain(digests)
        .chain(groups)
        .collect()
}

/// The layout changes of a counter or register: its size, and `other` (kind or width).
fn array_changes(old_size: u32, new_size: u32, other: Option<String>) -> Vec<String> {
    let size =
        (old_size != new_size).then(|| format!("its size changed from {old_size} to {new_size}"));
    size.into_iter().chain(other).collect()
}

/// Records the fate of one object: `changes` is `None` for an object the running program
/// lacks, else its layout changes (none: reusable).
#[allow(clippy::too_many_arguments)]
fn decide(
    p: &mut Plan,
    reset: bool,
    kind: &'static str,
    name: &str,
    maps: Vec<String>,
    changes: Option<Vec<String>>,
    widened: bool,
    new_default: bool,
) {
    let fate = match changes {
        None => Fate::Fresh("new in this version".into()),
        Some(_) if reset => Fate::Fresh("reset as asked".into()),
        Some(c) if c.is_empty() => Fate::Kept,
        Some(c) if widened => Fate::Migrated(c),
        Some(c) => {
            for change in c {
                p.refusals.push(format!("{kind} `{name}`: {change}"));
            }
            Fate::Fresh(String::new())
        }
    };
    p.carry.push(Carry {
        kind,
        name: name.into(),
        maps,
        fate,
        new_default,
    });
}

/// Whether table `t` only widens `o`: the same lookup, keys (names, match kinds, order),
/// actions (names, ids, parameter names in order) and no direct counter, with no size, key
/// width or parameter width smaller; its entries then fit the new layout unchanged.
fn table_widened(o: &Table, t: &Table) -> bool {
    let keys = o.keys.len() == t.keys.len()
        && o.keys
            .iter()
            .zip(&t.keys)
            .all(|(a, b)| a.name == b.name && a.match_kind == b.match_kind && a.bits <= b.bits);
    let actions = o.actions.len() == t.actions.len()
        && o.actions.iter().zip(&t.actions).all(|(a, b)| {
            a.name == b.name
                && a.id == b.id
                && a.params.len() == b.params.len()
                && a.params
                    .iter()
                    .zip(&b.params)
                    .all(|(p, q)| p.name == q.name && p.bits <= q.bits)
        });
    // Migrated entries keep their masks: the new table must hold as many.
    let masks = |t: &Table| t.tuple_space.as_ref().map(|ts| ts.masks);
    o.kind == t.kind
        && o.size <= t.size
        && masks(o) <= masks(t)
        && keys
        && actions
        && o.direct_counter.is_none()
        && t.direct_counter.is_none()
        && o.direct_meter.is_none()
        && t.direct_meter.is_none()
}

/// How a table's stored layout changed (empty: its maps can be reused as they are).
fn table_changes(o: &Table, t: &Table) -> Vec<String> {
    let mut ch = Vec::new();
    if o.kind != t.kind {
        ch.push(format!(
            "its lookup changed from {:?} to {:?}",
            o.kind, t.kind
        ));
    }
    if o.size != t.size {
        ch.push(format!("its size changed from {} to {}", o.size, t.size));
    }
    let masks = |t: &Table| t.tuple_space.as_ref().map(|ts| ts.masks);
    if let (Some(a), Some(b)) = (masks(o), masks(t)) {
        if a != b {
            ch.push(format!("its masks changed from {a} to {b}"));
        }
    }
    if o.data_plane != t.data_plane {
        ch.push("how the data plane writes it (add_on_miss, idle_timeout) changed".into());
    }
    let fields = |t: &Table| {
        t.keys
            .iter()
            .map(|k| format!("{}: bit<{}> {:?}", k.name, k.bits, k.match_kind).to_lowercase())
            .collect::<Vec<_>>()
    };
    let (of, nf) = (fields(o), fields(t));
    let same_fields = o.keys.len() == t.keys.len()
        && o.keys
            .iter()
            .zip(&t.keys)
            .all(|(a, b)| a.name == b.name && a.match_kind == b.match_kind);
    if same_fields {
        for (a, b) in o.keys.iter().zip(&t.keys).filter(|(a, b)| a.bits != b.bits) {
            let how = if a.bits < b.bits {
                "widened"
            } else {
                "narrowed"
            };
            ch.push(format!(
                "key field `{}` {how} from bit<{}> to bit<{}>",
                a.name, a.bits, b.bits
            ));
        }
    } else if of != nf {
        for f in nf.iter().filter(|f| !of.contains(f)) {
            ch.push(format!("key field `{f}` added or changed"));
        }
        for f in of.iter().filter(|f| !nf.contains(f)) {
            ch.push(format!("key field `{f}` removed or changed"));
        }
        if ch.is_empty() {
            ch.push("its key fields changed order".into());
        }
    }
    for a in &o.actions {
        match t.actions.iter().find(|n| n.name == a.name) {
            None => ch.push(format!(
                "action `{}` was removed (entries may use it)",
                a.name
            )),
            Some(n) => action_changes(a, n, &mut ch),
        }
    }
    for n in &t.actions {
        if !o.actions.iter().any(|a| a.name == n.name) && o.actions.iter().any(|a| a.id == n.id) {
            ch.push(format!(
                "action `{}` was added with id {}, which an existing action had",
                n.name, n.id
            ));
        }
    }
    let dc = |t: &Table| {
        t.direct_counter
            .as_ref()
            .map(|d| (d.name.clone(), d.offset))
    };
    if dc(o) != dc(t) {
        ch.push("its direct counter was added, removed or moved".into());
    }
    let dm = |t: &Table| t.direct_meter.as_ref().map(|d| (d.name.clone(), d.offset));
    if dm(o) != dm(t) {
        ch.push("its direct meter was added, removed or moved".into());
    }
    if ch.is_empty() && (o.key_size, o.value_size) != (t.key_size, t.value_size) {
        ch.push(format!(
            "its stored key and value changed from {}+{} to {}+{} bytes",
            o.key_size, o.value_size, t.key_size, t.value_size
        ));
    }
    ch
}

fn action_changes(a: &Action, n: &Action, ch: &mut Vec<String>) {
    if a.id != n.id {
        ch.push(format!(
            "action `{}` changed id from {} to {} (actions were reordered)",
            a.name, a.id, n.id
        ));
    }
    let params = |a: &Action| {
        a.params
            .iter()
            .map(|p| (p.name.clone(), p.bits, p.offset))
            .collect::<Vec<_>>()
    };
    if params(a) == params(n) {
        return;
    }
    for p in &n.params {
        match a.params.iter().find(|q| q.name == p.name) {
            Some(q) if q.bits != p.bits => ch.push(format!(
                "parameter `{}` of action `{}` changed from bit<{}> to bit<{}>",
                p.name, a.name, q.bits, p.bits
            )),
            Some(q) if q.offset != p.offset => ch.push(format!(
                "parameter `{}` of action `{}` moved",
                p.name, a.name
            )),
            Some(_) => {}
            None => ch.push(format!("action `{}` gained parameter `{}`", a.name, p.name)),
        }
    }
    for q in &a.params {
        if !n.params.iter().any(|p| p.name == q.name) {
            ch.push(format!("action `{}` lost parameter `{}`", a.name, q.name));
        }
    }
}
