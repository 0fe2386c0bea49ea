//! Replacing a deployed module's program under traffic, keeping its state.
//!
//! Takes: a deployed module (by name, under a pin root), a new object and the objects to
//! start empty.
//! Gives: [`Module::reload`]: the new program loaded with the running maps whose layout is
//! unchanged (the [`carry`](crate::carry) plan), every link of the module switched to it with
//! `BPF_LINK_UPDATE` (atomic per link: each packet runs the old program or the new one), then
//! the pins and the record moved over to it and the old program released. A layout change
//! not named in `reset`, a hook of another kind or a program the verifier rejects refuse
//! the reload before any link changes; a link that cannot switch puts the switched ones back.
//! State whose layout only widened is copied into the new maps first (`migrate.rs`).
//! A stage of a chain has no links: its predecessor's next-stage slot is switched instead
//! (one atomic map update), and its own slot, kept, still holds its successor.

use crate::carry::{self, Fate, Plan};
use crate::deploy::pin_error;
use crate::record::{self, hook_name, Record, Role};
use crate::{read_manifest, sys, Error, Module};
use iov_manifest::{Hook, Manifest};
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};

/// What to reload, and how.
#[derive(Clone, Copy, Debug)]
pub struct Reload<'a> {
    /// The pin root (see [`crate::DEFAULT_ROOT`]).
    pub root: &'a Path,
    /// The running module's name.
    pub name: &'a str,
    /// The file the new object came from, as given (recorded).
    pub source: &'a str,
    /// Tables, counters and registers to start empty even where their layout allows reuse;
    /// needed for those whose layout changed.
    pub reset: &'a [String],
}

/// A finished reload.
pub struct Reloaded {
    /// The module, now running the new program.
    pub module: Module,
    /// What was kept, what started empty, what went away.
    pub plan: Plan,
    /// The kernel id of the program it replaced.
    pub old_program_id: Option<u32>,
}

/// Every ELF map a manifest names.
fn map_names(m: &Manifest) -> Vec<&str> {
    let mut names = Vec::new();
    for t in &m.tables {
        names.push(t.map.as_str());
        names.push(t.default_map.as_str());
        names.extend(t.tuple_space.as_ref().map(|ts| ts.masks_map.as_str()));
    }
    names.extend(m.counters.iter().map(|c| c.map.as_str()));
    names.extend(m.registers.iter().map(|r| r.map.as_str()));
    names
}

fn is_tc(h: Hook) -> bool {
    matches!(h, Hook::TcIngress | Hook::TcEgress)
}

/// A pin a reload writes before it switches (bpffs refuses names with dots).
fn staged(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push("-new");
    path.with_file_name(name)
}

impl Module {
    /// Replaces the program of deployed module `r.name` with `object` (see the module
    /// documentation for the order of steps and what is refused).
    pub fn reload(object: &[u8], r: &Reload<'_>) -> Result<Reloaded, Error> {
        let old = Module::open(r.root, r.name)?;
        let running: Record = old.record().cloned().ok_or_else(|| Error::BadRecord {
            path: r.root.join(r.name),
            why: "it has no record".into(),
        })?;
        if matches!(running.chain, Some(Role::Head | Role::Class { .. })) {
            return Err(Error::ChainRefused {
                name: r.name.into(),
                why: "is a chain, whose program iov provides; reload its stages".into(),
            });
        }
        let manifest = read_manifest(object)?;
        // A stage that stopped handing packets on would cut the chain short after it.
        if matches!(running.chain, Some(Role::Stage(_))) && manifest.chain.is_none() {
            return Err(Error::ChainRefused {
                name: r.name.into(),
                why: "is a stage of a chain, and the new object was not built as one; give \
                      the .iov source, or build it with `iov build --chain-stage`"
                    .into(),
            });
        }
        if is_tc(manifest.hook) != is_tc(running.hook) {
            return Err(Error::HookMismatch {
                built: hook_name(manifest.hook),
                wanted: hook_name(running.hook),
                fix: "a reload keeps the module's hook; build the new version for it, or \
                      unload the module and load the new one",
            });
        }
        let plan = carry::plan(&running.manifest, &manifest, r.reset);
        if !plan.refusals.is_empty() {
            return Err(Error::LayoutChanged {
                name: r.name.into(),
                changes: plan.refusals.clone(),
            });
        }
        let dir = r.root.join(r.name);
        let maps_dir = dir.join("maps");
        let reuse: Vec<(String, PathBuf)> = plan
            .carry
            .iter()
            .filter(|c| c.fate == Fate::Kept)
            .flat_map(|c| c.maps.iter().map(|m| (m.clone(), maps_dir.join(m))))
            .collect();
        // A kept map whose pin is missing would be created afresh by the loader, silently.
        if let Some((name, path)) = reuse.iter().find(|(_, p)| !p.exists()) {
            return Err(Error::BadRecord {
                path: path.clone(),
                why: format!("the pin of map `{name}` is missing; unload and load the module"),
            });
        }
        let mut module = Module::load_reusing(object, &reuse)?;
        // Fresh tables now; a kept table's new default only once the new program runs, since
        // its map is the one the running program reads.
        for c in plan.carry.iter().filter(|c| c.kind == "table") {
            if let Fate::Fresh(_) | Fate::Migrated(_) = c.fate {
                let table = module.table(&c.name)?.clone();
                module.install_table(&table, true)?;
            }
        }
        // Widened state is copied over before the new program runs.
        for c in &plan.carry {
            if let Fate::Migrated(_) = c.fate {
                crate::migrate::migrate(&old, &module, c)?;
            }
        }
        let record = Record {
            source: r.source.into(),
            loaded_at: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |t| t.as_secs()),
            manifest: module.manifest.clone(),
            ..running.clone()
        };
        let meta = dir.join("meta");

        // Stage the new pins and the new record beside the old ones, then switch.
        let mut staged_pins = Vec::new();
        let result = (|| {
            let staged_meta = staged(&meta);
            let _ = std::fs::remove_file(&staged_meta);
            record::write(&record, &staged_meta)?;
            staged_pins.push(staged_meta);
            stage_and_switch(&mut module, &old, &running, &plan, r.root, &mut staged_pins)
        })();
        if let Err(e) = result {
            for p in &staged_pins {
                let _ = std::fs::remove_file(p);
            }
            return Err(e);
        }

        // The new program runs on every link. Commit: kept tables' new defaults, then the
        // staged pins over the old ones; maps the new program lacks go. A failure from here
        // on is reported as such: the switch itself is done.
        let committed = (|| {
            for c in plan
                .carry
                .iter()
                .filter(|c| c.fate == Fate::Kept && c.new_default)
            {
                let table = module.table(&c.name)?.clone();
                module.install_table(&table, false)?;
            }
            for p in &staged_pins {
                let name = p.file_name().unwrap_or_default().to_string_lossy();
                let target = p.with_file_name(name.trim_end_matches("-new"));
                std::fs::rename(p, &target).map_err(|e| pin_error(&target, e))?;
            }
            Ok::<(), Error>(())
        })();
        if let Err(e) = committed {
            return Err(Error::Load(format!(
                "the new program of `{}` runs on every interface, but finishing the reload \
                 failed: {e}; reload again or unload the module",
                r.name
            )));
        }
        let keep = map_names(&manifest);
        for gone in map_names(&running.manifest) {
            if !keep.contains(&gone) {
                let _ = std::fs::remove_file(maps_dir.join(gone));
            }
        }
        module.record = Some(record);
        Ok(Reloaded {
            module,
            plan,
            old_program_id: old.program_id(),
        })
    }
}

/// Pins the new program and the new maps under staged names (recorded in `staged_pins`),
/// then switches every link from the old program to the new one, putting back the ones
/// already switched if one fails.
fn stage_and_switch(
    module: &mut Module,
    old: &Module,
    running: &Record,
    plan: &Plan,
    root: &Path,
    staged_pins: &mut Vec<PathBuf>,
) -> Result<(), Error> {
    let dir = &root.join(&running.name);
    let prog = staged(&dir.join("prog"));
    let _ = std::fs::remove_file(&prog);
    module.program_mut()?.pin(&prog).map_err(|e| Error::Pin {
        path: prog.clone(),
        detail: crate::error::chain(&e),
    })?;
    staged_pins.push(prog);
    for c in plan.carry.iter().filter(|c| c.fate != Fate::Kept) {
        for m in &c.maps {
            let path = staged(&dir.join("maps").join(m));
            let _ = std::fs::remove_file(&path);
            let data = module.map_data(m).ok_or(Error::NoMap { map: m.clone() })?;
            data.pin(&path).map_err(|e| Error::Pin {
                path: path.clone(),
                detail: crate::error::chain(&e),
            })?;
            staged_pins.push(path);
        }
    }
    let new_fd = module.program_fd()?;
    let old_fd = old.program_fd()?;
    // A stage runs where its predecessor hands it packets: one slot to switch, no links.
    if let Some(Role::Stage(chain)) = &running.chain {
        let old_id = old.program_id().ok_or_else(|| Error::BadRecord {
            path: dir.join("prog"),
            why: "its program has no id".into(),
        })?;
        return crate::chain::switch(root, &running.name, chain, new_fd, old_id);
    }
    let mut switched = Vec::new();
    for a in &running.attachments {
        let path = dir.join(&a.link);
        let step = sys::obj_get(&path)
            .map_err(|e| Error::syscall("BPF_OBJ_GET", &path.display().to_string(), e))
            .and_then(|link| {
                match sys::link_update(link.as_fd(), new_fd, old_fd) {
                    // Detached already (its interface or namespace is gone): it runs
                    // nothing, so there is nothing to switch.
                    Err(e) if e.raw_os_error() == Some(libc::ENOLINK) => return Ok(None),
                    other => other,
                }
                .map_err(|e| Error::Attach {
                    iface: a.iface.clone(),
                    detail: format!("switching its link to the new program (BPF_LINK_UPDATE): {e}"),
                })
                .map(|()| Some(link))
            });
        match step {
            Ok(Some(link)) => switched.push(link),
            Ok(None) => {}
            Err(e) => {
                for link in &switched {
                    let _ = sys::link_update(link.as_fd(), old_fd, new_fd);
                }
                return Err(e);
            }
        }
    }
    Ok(())
}
