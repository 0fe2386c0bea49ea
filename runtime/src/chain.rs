//! Chains: modules run one after another on one hook of one interface, inside the kernel.
//!
//! Takes: a chain's head object (a program that passes every packet, built by the caller), an
//! interface and a hook; module objects to insert at a position; stage names to take out.
//! Gives: [`Chain::create`], [`Chain::join`], [`Chain::show`], [`Chain::delete`], and what
//! [`Module::unload`] and [`Module::reload`] do to a stage ([`leave`], [`switch`]).
//!
//! The order lives in the kernel. A chain is a deployed module (its record says
//! [`Role::Head`]) attached to the interface; every program carries a one-slot program array
//! `iov_next`, and where it passes a packet it tail-calls the program in that slot (an empty
//! slot falls through to the pass). Slot 0 of the head holds the first stage, the first
//! stage's slot the second, and so on; stages are modules attached to nothing, whose record
//! says [`Role::Stage`]. A stage joins by pointing its own slot at its successor, then its
//! predecessor's slot at itself; it leaves by pointing its predecessor's slot past it. Each
//! step is one atomic map update, so every packet runs either the old sequence of stages or
//! the new one, the head stays attached throughout, and no edit drops a packet. Edits of one
//! chain are serialised by an exclusive `flock` on the chain's directory.

use crate::deploy::{check_name, deploy_as, Deploy, Deployed, Device, ModeChoice};
use crate::error::list;
use crate::record::{self, Record, Role};
use crate::registry::known_modules;
use crate::sys::{self, RawMap, Update};
use crate::{read_manifest, Error, Module};
use iov_manifest::Hook;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::path::Path;

/// The most stages a chain holds: the kernel follows at most 33 tail calls per packet.
pub const MAX_STAGES: usize = 32;

/// Where a chain goes.
#[derive(Clone, Debug)]
pub struct ChainSpec<'a> {
    /// The chain's name (a module name: it shares their namespace).
    pub name: &'a str,
    pub device: Device,
    /// The hook; `None` for the head object's own.
    pub hook: Option<Hook>,
    pub mode: ModeChoice,
    /// The pin root (see [`crate::DEFAULT_ROOT`]).
    pub root: &'a Path,
}

/// Where in a chain a module goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Position<'a> {
    /// After every stage.
    Last,
    /// Just before the named stage.
    Before(&'a str),
    /// Just after the named stage.
    After(&'a str),
}

/// A module to insert into a chain.
#[derive(Clone, Copy, Debug)]
pub struct Join<'a> {
    pub name: &'a str,
    /// The file the object came from, as given (recorded).
    pub source: &'a str,
    pub chain: &'a str,
    pub position: Position<'a>,
    pub root: &'a Path,
}

/// One stage of a chain as it runs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hop {
    pub name: String,
    pub program_id: u32,
    /// Packets the stage has received (summed over CPUs).
    pub packets: u64,
}

/// A chain as the kernel runs it.
#[derive(Clone, Debug)]
pub struct ChainView {
    /// The chain's own record (interface, hook).
    pub record: Record,
    pub program_id: u32,
    /// Packets that entered the chain.
    pub packets: u64,
    /// The stages in the order packets meet them.
    pub stages: Vec<Hop>,
    /// Stages of this chain that no packet reaches (left behind by a crash mid-edit);
    /// `iov unload` removes them.
    pub unlinked: Vec<String>,
    /// Its traffic classes, highest priority first (none for a class).
    pub classes: Vec<crate::ClassView>,
}

/// What [`Chain::delete`] removed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Deleted {
    /// The chain's stages, in chain order.
    pub stages: Vec<String>,
    /// Its classes, each with its stages.
    pub classes: Vec<(String, Vec<String>)>,
}

/// The chain operations (a namespace: a chain is a module, see the module documentation).
pub struct Chain;

impl Chain {
    /// Deploys `head` as chain `spec.name` on the interface: an empty chain, through which
    /// every packet passes.
    pub fn create(head: &[u8], spec: &ChainSpec<'_>) -> Result<Deployed, Error> {
        let manifest = read_manifest(head)?;
        let is_head = manifest.chain.as_ref().is_some_and(|c| c.classes.is_some())
            && manifest.tables.len() == 1
            && manifest.tables[0].name == crate::classes::CLASS_TABLE;
        if !is_head {
            return Err(Error::ChainRefused {
                name: spec.name.into(),
                why: "cannot be created from this object: a chain's head is a program that \
                      passes every packet, to the chain of its class, built by this iov"
                    .into(),
            });
        }
        let deploy = Deploy {
            name: spec.name,
            source: "(chain)",
            devices: std::slice::from_ref(&spec.device),
            hook: spec.hook,
            mode: spec.mode,
            root: spec.root,
        };
        deploy_as(head, &deploy, Some(Role::Head))
    }

    /// Deploys `object` as a stage of chain `j.chain` at `j.position`; it runs from the
    /// moment it is linked in. A refusal (no such chain or position, a name in use, a hook
    /// of the other kind, a full chain) changes nothing.
    pub fn join(object: &[u8], j: &Join<'_>) -> Result<Deployed, Error> {
        check_name(j.name)?;
        let _lock = lock(j.root, j.chain)?;
        let head = head_record(j.root, j.chain)?;
        let manifest = read_manifest(object)?;
        if manifest.chain.is_none() {
            return Err(Error::ChainRefused {
                name: j.name.into(),
                why: "cannot join a chain: its object was not built as a stage; give the \
                      .iov source, or build it with `iov build --chain-stage`"
                    .into(),
            });
        }
        if let Ok(rec) = record::read(&j.root.join(j.name).join("meta")) {
            if let Some(Role::Stage(c)) = &rec.chain {
                return Err(Error::ChainRefused {
                    name: j.name.into(),
                    why: format!(
                        "is already a stage of chain `{c}`; take it out first (`iov unload \
                         {}`) or give the new one another `--name`",
                        j.name
                    ),
                });
            }
        }
        let (stages, _) = order(j.root, j.chain)?;
        let at = match j.position {
            Position::Last => stages.len(),
            Position::Before(m) | Position::After(m) => {
                let i = stages
                    .iter()
                    .position(|s| s == m)
                    .ok_or_else(|| not_in_chain(m, j.chain, &stages))?;
                if matches!(j.position, Position::After(_)) {
                    i + 1
                } else {
                    i
                }
            }
        };
        if stages.len() >= MAX_STAGES {
            return Err(Error::ChainRefused {
                name: j.chain.into(),
                why: format!(
                    "holds {MAX_STAGES} stages already, the most the kernel runs in a row \
                     (33 tail calls per packet)"
                ),
            });
        }
        let deploy = Deploy {
            name: j.name,
            source: j.source,
            devices: &[],
            hook: Some(head.hook),
            mode: ModeChoice::Auto,
            root: j.root,
        };
        let deployed = deploy_as(object, &deploy, Some(Role::Stage(j.chain.into())))?;
        let before = if at == 0 { j.chain } else { &stages[at - 1] };
        let after = stages.get(at);
        let linked = (|| {
            let me = j.root.join(j.name);
            if let Some(next) = after {
                set_next(&me, Some(&j.root.join(next)))?;
            }
            set_next(&j.root.join(before), Some(&me))
        })();
        if let Err(e) = linked {
            // Nothing points at the new stage yet: removing it changes nothing.
            let _ = std::fs::remove_dir_all(j.root.join(j.name));
            return Err(e);
        }
        Ok(deployed)
    }

    /// The hook chain (or class) `name` runs at, from its record alone: what a head built
    /// for a class of it must be built for.
    pub fn hook(root: &Path, name: &str) -> Result<Hook, Error> {
        Ok(head_record(root, name)?.hook)
    }

    /// Chain `name` as it runs: its stages in order with their packet counts.
    pub fn show(root: &Path, name: &str) -> Result<ChainView, Error> {
        let record = head_record(root, name)?;
        let (stages, unlinked) = order(root, name)?;
        let dir = root.join(name);
        let hops = stages
            .iter()
            .map(|s| {
                let d = root.join(s);
                Ok(Hop {
                    name: s.clone(),
                    program_id: program_id(&d)?,
                    packets: packets(&d)?,
                })
            })
            .collect::<Result<Vec<_>, Error>>()?;
        let classes = match record.chain {
            Some(Role::Head) => crate::classes::classes_of(root, name)?,
            _ => Vec::new(),
        };
        Ok(ChainView {
            program_id: program_id(&dir)?,
            packets: packets(&dir)?,
            record,
            stages: hops,
            unlinked,
            classes,
        })
    }

    /// Deletes chain `name`: a chain is detached from its interface, a class taken out of
    /// its parent's classifier; then every stage it held (linked or not) is unloaded, and
    /// a chain's classes with theirs.
    pub fn delete(root: &Path, name: &str) -> Result<Deleted, Error> {
        let rec = head_record(root, name)?;
        if let Some(Role::Class { parent, slot }) = &rec.chain {
            let _parent = lock(root, parent)?;
            let _lock = lock(root, name)?;
            crate::classes::unlink_class(root, parent, *slot)?;
            let stages = remove_with_stages(root, name)?;
            return Ok(Deleted {
                stages,
                classes: Vec::new(),
            });
        }
        let _lock = lock(root, name)?;
        head_record(root, name)?;
        let stages = remove_with_stages(root, name)?;
        let mut classes = Vec::new();
        for (class, _) in crate::classes::members(root, name) {
            let _class = lock(root, &class)?;
            classes.push((class.clone(), remove_with_stages(root, &class)?));
        }
        Ok(Deleted { stages, classes })
    }
}

/// Removes the head `name`'s pins (detaching it), then its stages' (linked, in order, then
/// not); returns the stages.
fn remove_with_stages(root: &Path, name: &str) -> Result<Vec<String>, Error> {
    let (mut stages, unlinked) = order(root, name)?;
    stages.extend(unlinked);
    crate::registry::remove(root, name)?;
    for s in &stages {
        crate::registry::remove(root, s)?;
    }
    Ok(stages)
}

/// Takes stage `name` out of chain `chain` (its predecessor's slot then points past it);
/// the stage's pins are still there afterwards.
pub(crate) fn leave(root: &Path, name: &str, chain: &str) -> Result<(), Error> {
    let _lock = lock(root, chain)?;
    let (stages, _) = order(root, chain)?;
    let Some(i) = stages.iter().position(|s| s == name) else {
        // Linked nowhere (a crash mid-edit): no packet reaches it.
        return Ok(());
    };
    let before = if i == 0 { chain } else { &stages[i - 1] };
    let after = stages.get(i + 1).map(|s| root.join(s));
    set_next(&root.join(before), after.as_deref())
}

/// Makes the predecessor of stage `name` hand packets to `new` instead of `old` (a reload);
/// refused when the slot no longer holds `old`.
pub(crate) fn switch(
    root: &Path,
    name: &str,
    chain: &str,
    new: BorrowedFd<'_>,
    old_id: u32,
) -> Result<(), Error> {
    let _lock = lock(root, chain)?;
    let (stages, _) = order(root, chain)?;
    let i = stages
        .iter()
        .position(|s| s == name)
        .ok_or_else(|| not_in_chain(name, chain, &stages))?;
    let before = root.join(if i == 0 { chain } else { &stages[i - 1] });
    if next_id(&before)? != Some(old_id) {
        return Err(Error::ChainRefused {
            name: chain.into(),
            why: format!("changed while `{name}` was being reloaded; reload again"),
        });
    }
    write_slot(&before, Some(new))
}

fn not_in_chain(name: &str, chain: &str, stages: &[String]) -> Error {
    Error::NotInChain {
        name: name.into(),
        chain: chain.into(),
        stages: list(stages.iter().map(String::as_str)),
    }
}

/// The chains under `root`.
fn chains(root: &Path) -> Vec<String> {
    known_modules(root)
        .into_iter()
        .filter(|m| {
            record::read(&root.join(m).join("meta"))
                .is_ok_and(|r| matches!(r.chain, Some(Role::Head | Role::Class { .. })))
        })
        .collect()
}

/// The record of chain `name` (a chain or a class), or why `name` is not one.
pub(crate) fn head_record(root: &Path, name: &str) -> Result<Record, Error> {
    check_name(name)?;
    let not = |what: &str| Error::NotAChain {
        name: name.into(),
        what: what.into(),
        known: list(chains(root).iter().map(String::as_str)),
    };
    if !root.join(name).is_dir() {
        return Err(not("nothing of that name is loaded"));
    }
    let rec = record::read(&root.join(name).join("meta"))?;
    match &rec.chain {
        Some(Role::Head | Role::Class { .. }) => Ok(rec),
        Some(Role::Stage(c)) => Err(not(&format!("it is a stage of chain `{c}`"))),
        None => Err(not("it is a module loaded on its own")),
    }
}

/// Holds an exclusive lock on a chain's directory while alive.
pub(crate) struct Lock(#[allow(dead_code)] std::fs::File);

pub(crate) fn lock(root: &Path, chain: &str) -> Result<Lock, Error> {
    let dir = root.join(chain);
    let file = std::fs::File::open(&dir).map_err(|_| Error::NotAChain {
        name: chain.into(),
        what: "nothing of that name is loaded".into(),
        known: list(chains(root).iter().map(String::as_str)),
    })?;
    // SAFETY: flock on a descriptor this function owns; no memory is passed.
    if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) } != 0 {
        return Err(Error::syscall(
            "flock",
            &dir.display().to_string(),
            std::io::Error::last_os_error(),
        ));
    }
    Ok(Lock(file))
}

/// The stages of `chain` in the order packets meet them (following the `iov_next` slots from
/// the head), and the chain's stages that no slot reaches.
fn order(root: &Path, chain: &str) -> Result<(Vec<String>, Vec<String>), Error> {
    let members: Vec<String> = known_modules(root)
        .into_iter()
        .filter(|m| {
            record::read(&root.join(m).join("meta"))
                .is_ok_and(|r| r.chain == Some(Role::Stage(chain.into())))
        })
        .collect();
    let mut ids = Vec::new();
    for m in &members {
        ids.push((program_id(&root.join(m))?, m.clone()));
    }
    let mut stages: Vec<String> = Vec::new();
    let mut at = root.join(chain);
    while let Some(id) = next_id(&at)? {
        let Some((_, name)) = ids.iter().find(|(i, _)| *i == id) else {
            return Err(Error::BadRecord {
                path: at.join("maps").join(NEXT),
                why: format!("it hands packets to program {id}, which is no stage of `{chain}`"),
            });
        };
        if stages.contains(name) || stages.len() > MAX_STAGES {
            return Err(Error::BadRecord {
                path: root.join(chain),
                why: format!("its stages form a loop at `{name}`"),
            });
        }
        stages.push(name.clone());
        at = root.join(name);
    }
    let unlinked = members
        .into_iter()
        .filter(|m| !stages.contains(m))
        .collect();
    Ok((stages, unlinked))
}

/// The manifest name of every program's next-stage array (see codegen's `chain.rs`).
const NEXT: &str = "iov_next";
/// The manifest name of every program's packet count.
const PACKETS: &str = "iov_packets";

fn pin(path: &Path) -> Result<OwnedFd, Error> {
    sys::obj_get(path).map_err(|e| Error::syscall("BPF_OBJ_GET", &path.display().to_string(), e))
}

fn program_id(dir: &Path) -> Result<u32, Error> {
    let fd = pin(&dir.join("prog"))?;
    sys::obj_id(fd.as_fd()).map_err(|e| Error::syscall("BPF_OBJ_GET_INFO_BY_FD", "a program", e))
}

/// The `iov_next` array of the module in `dir`: its descriptor and its path (for messages).
fn slot_map(dir: &Path) -> Result<(OwnedFd, String), Error> {
    let path = dir.join("maps").join(NEXT);
    Ok((pin(&path)?, path.display().to_string()))
}

/// `iov_next`'s key and value: both `u32`.
fn slot_of(fd: &OwnedFd) -> RawMap<'_> {
    RawMap {
        fd: fd.as_fd(),
        key_size: 4,
        value_size: 4,
    }
}

/// The id of the program in the `iov_next` slot of the module in `dir`.
fn next_id(dir: &Path) -> Result<Option<u32>, Error> {
    let (fd, target) = slot_map(dir)?;
    let value = slot_of(&fd)
        .lookup(&0u32.to_ne_bytes())
        .map_err(|e| Error::syscall("BPF_MAP_LOOKUP_ELEM", &target, e))?;
    Ok(value.map(|v| u32::from_ne_bytes(v[..4].try_into().expect("four bytes"))))
}

/// Points the `iov_next` slot of the module in `dir` at the program of the module in `to`
/// (or empties it).
fn set_next(dir: &Path, to: Option<&Path>) -> Result<(), Error> {
    match to {
        Some(to) => {
            let prog = pin(&to.join("prog"))?;
            write_slot(dir, Some(prog.as_fd()))
        }
        None => write_slot(dir, None),
    }
}

fn write_slot(dir: &Path, prog: Option<BorrowedFd<'_>>) -> Result<(), Error> {
    let (fd, target) = slot_map(dir)?;
    let map = slot_of(&fd);
    let key = 0u32.to_ne_bytes();
    match prog {
        Some(p) => {
            let value = (p.as_raw_fd() as u32).to_ne_bytes();
            map.update(&key, &value, Update::Any).map_err(|e| {
                if e.raw_os_error() == Some(libc::EINVAL) {
                    Error::ChainRefused {
                        name: dir
                            .file_name()
                            .unwrap_or_default()
                            .to_string_lossy()
                            .into_owned(),
                        why: "cannot hand packets to that program: the kernel refused the \
                              tail call (programs of a chain must be of one hook)"
                            .into(),
                    }
                } else {
                    Error::syscall("BPF_MAP_UPDATE_ELEM", &target, e)
                }
            })
        }
        None => map
            .delete(&key)
            .map(drop)
            .map_err(|e| Error::syscall("BPF_MAP_DELETE_ELEM", &target, e)),
    }
}

/// The packets the module in `dir` received, summed over CPUs.
fn packets(dir: &Path) -> Result<u64, Error> {
    let path = dir.join("maps").join(PACKETS);
    let fd = pin(&path)?;
    let map = RawMap {
        fd: fd.as_fd(),
        key_size: 4,
        value_size: 8 * crate::module::possible_cpus()?,
    };
    let value = map
        .lookup(&0u32.to_ne_bytes())
        .map_err(|e| Error::syscall("BPF_MAP_LOOKUP_ELEM", &path.display().to_string(), e))?;
    Ok(sum_per_cpu(value))
}

/// The sum of a per-CPU `u64` value as a lookup returns it (one per possible CPU); 0 when
/// absent.
pub(crate) fn sum_per_cpu(value: Option<Vec<u8>>) -> u64 {
    value
        .unwrap_or_default()
        .chunks_exact(8)
        .map(|c| u64::from_ne_bytes(c.try_into().expect("eight bytes")))
        .sum()
}

impl Module {
    /// Makes this module hand the packets it passes to `next` (`None`: to the kernel), in
    /// this process, without pins: a chain of modules loaded with [`Module::load`] (for
    /// test runs and benchmarks; deployed chains are edited with [`Chain`]).
    pub fn hand_on_to(&self, next: Option<&Module>) -> Result<(), Error> {
        let slot = self.chain_slot()?;
        let key = 0u32.to_ne_bytes();
        match next {
            Some(n) => {
                let fd = n.program_fd()?;
                let value = (fd.as_raw_fd() as u32).to_ne_bytes();
                slot.update(&key, &value, Update::Any)
                    .map_err(|e| Error::syscall("BPF_MAP_UPDATE_ELEM", NEXT, e))
            }
            None => slot
                .delete(&key)
                .map(drop)
                .map_err(|e| Error::syscall("BPF_MAP_DELETE_ELEM", NEXT, e)),
        }
    }

    /// The packets this module's program has received, summed over CPUs.
    pub fn packets_received(&self) -> Result<u64, Error> {
        let name = self.chain_maps()?.packets.clone();
        let value = self
            .map(&name)?
            .lookup(&0u32.to_ne_bytes())
            .map_err(|e| Error::syscall("BPF_MAP_LOOKUP_ELEM", &name, e))?;
        Ok(sum_per_cpu(value))
    }

    fn chain_maps(&self) -> Result<&iov_manifest::ChainMaps, Error> {
        self.manifest
            .chain
            .as_ref()
            .ok_or_else(|| Error::ChainRefused {
                name: self.manifest.program.clone(),
                why: "was not built as a stage of a chain; build it with `iov build \
                      --chain-stage`"
                    .into(),
            })
    }

    fn chain_slot(&self) -> Result<RawMap<'_>, Error> {
        let name = self.chain_maps()?.next.clone();
        self.map(&name)
    }
}
