//! Finding deployed modules by name: reopen, list, unload.
//!
//! Takes: the root of module directories (`/sys/fs/bpf/iov` by default) and a module name.
//! Gives: [`Module::open`], a module rebuilt from its pins (record, program, maps; the maps
//! checked against the manifest as at load), so any later process controls it as the one
//! that loaded it; [`Module::list`], every module with where it is attached, whether each
//! link is still live and how full each table is; [`Module::unload`], which detaches every
//! link at once (`BPF_LINK_DETACH`, whoever else holds it open) and removes every pin.

use crate::deploy::check_name;
use crate::error::{chain, list};
use crate::module::{check_maps, Objects, Pinned};
use crate::record::{self, AttachmentRecord, Record, Role};
use crate::sys;
use crate::{Error, Module};
use aya::maps::MapData;
use aya::programs::{Program, SchedClassifier, Xdp};
use iov_manifest::Hook;
use std::collections::HashMap;
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// The names of the module directories under `root`, sorted.
pub(crate) fn known_modules(root: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(root)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .filter_map(|e| e.file_name().into_string().ok())
        .collect();
    names.sort();
    names
}

/// Whether the link of attachment `a` of the module in `dir` is pinned and still attached to
/// an interface (a link whose interface was removed stays, defunct, with interface 0).
pub(crate) fn link_alive(dir: &Path, a: &AttachmentRecord) -> bool {
    link_state(dir, a).is_some_and(|info| info.ifindex != 0)
}

fn link_state(dir: &Path, a: &AttachmentRecord) -> Option<sys::LinkInfo> {
    let fd = sys::obj_get(&dir.join(&a.link)).ok()?;
    sys::link_info(fd.as_fd()).ok()
}

/// One attachment of a listed module.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AttachmentStatus {
    pub record: AttachmentRecord,
    /// Attached to the interface now (false: the interface or its namespace is gone).
    pub attached: bool,
}

/// One table of a listed module.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Occupancy {
    pub table: String,
    pub entries: u32,
    pub size: u32,
}

/// What `iov list` shows of a module.
#[derive(Clone, Debug)]
pub struct Summary {
    pub name: String,
    /// The record, or why it could not be read (a module left half-made by a crash).
    pub record: Result<Record, String>,
    pub program_id: Option<u32>,
    pub attachments: Vec<AttachmentStatus>,
    pub tables: Vec<Occupancy>,
}

/// Refuses a root this process may not read (the modules in it would look absent); a root
/// that does not exist yet is fine.
fn readable(root: &Path) -> Result<(), Error> {
    match std::fs::read_dir(root) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => {
            Err(Error::PermissionDenied {
                doing: format!("reading {}", root.display()),
            })
        }
        Err(e) => Err(Error::Pin {
            path: root.to_path_buf(),
            detail: e.to_string(),
        }),
    }
}

fn unknown(root: &Path, name: &str) -> Error {
    Error::UnknownModule {
        name: name.into(),
        root: root.to_path_buf(),
        known: list(known_modules(root).iter().map(String::as_str)),
    }
}

impl Module {
    /// Reopens the deployed module `name` under `root` from its pins.
    pub fn open(root: &Path, name: &str) -> Result<Module, Error> {
        check_name(name)?;
        let dir = root.join(name);
        if !dir.is_dir() {
            readable(root)?;
            return Err(unknown(root, name));
        }
        let record = record::read(&dir.join("meta"))?;
        let manifest = record.manifest.clone();
        let mut maps = HashMap::new();
        for entry in std::fs::read_dir(dir.join("maps")).map_err(|e| Error::BadRecord {
            path: dir.clone(),
            why: format!("its maps cannot be listed: {e}"),
        })? {
            let entry = entry.map_err(|e| Error::Load(e.to_string()))?;
            let Ok(name) = entry.file_name().into_string() else {
                continue;
            };
            let data =
                MapData::from_pin(entry.path()).map_err(|e| open_error(&entry.path(), &e))?;
            maps.insert(name, data);
        }
        let shapes = check_maps(|n| maps.get(n), &manifest)?;
        let prog = dir.join("prog");
        let program = match record.hook {
            Hook::Xdp => Program::Xdp(
                Xdp::from_pin(&prog, aya_obj::programs::XdpAttachType::Interface)
                    .map_err(|e| open_error(&prog, &e))?,
            ),
            Hook::TcIngress | Hook::TcEgress => Program::SchedClassifier(
                SchedClassifier::from_pin(&prog).map_err(|e| open_error(&prog, &e))?,
            ),
        };
        Ok(Module {
            objects: Objects::Pinned(Box::new(Pinned { program, maps })),
            manifest,
            record: Some(record),
            maps: shapes,
            writes: Mutex::default(),
            attached: Vec::new(),
        })
    }

    /// The record of a deployed or reopened module.
    pub fn record(&self) -> Option<&Record> {
        self.record.as_ref()
    }

    /// Every module under `root`, by name (none when `root` does not exist yet).
    pub fn list(root: &Path) -> Result<Vec<Summary>, Error> {
        readable(root)?;
        Ok(known_modules(root)
            .into_iter()
            .map(|name| summary(root, name))
            .collect())
    }

    /// Detaches the module `name` under `root` from every interface and removes its pins
    /// (the kernel frees the program and maps once nothing else holds them). Returns its
    /// record when it could be read; a module left half-made is removed all the same.
    ///
    /// A stage of a chain is taken out of the chain first (its predecessor then hands
    /// packets to its successor); a chain itself is refused (`Chain::delete` removes it).
    pub fn unload(root: &Path, name: &str) -> Result<Option<Record>, Error> {
        check_name(name)?;
        let dir = root.join(name);
        if !dir.is_dir() {
            readable(root)?;
            return Err(unknown(root, name));
        }
        match record::read(&dir.join("meta")).ok().and_then(|r| r.chain) {
            Some(Role::Head | Role::Class { .. }) => {
                return Err(Error::ChainRefused {
                    name: name.into(),
                    why: format!(
                        "is a chain; delete it with `iov chain delete {name}`, which unloads                          its stages too"
                    ),
                })
            }
            Some(Role::Stage(chain)) if root.join(&chain).is_dir() => {
                crate::chain::leave(root, name, &chain)?;
            }
            _ => {}
        }
        remove(root, name)
    }

    /// How many entries table `name` holds, and its size.
    pub fn occupancy(&self, name: &str) -> Result<Occupancy, Error> {
        let t = self.table(name)?;
        let entries = if t.kind == iov_manifest::MapKind::Array {
            self.entries(name)?.len() as u32
        } else {
            let map = self.map(&t.map)?;
            map.keys()
                .map_err(|e| Error::syscall("BPF_MAP_GET_NEXT_KEY", &t.map, e))?
                .len() as u32
        };
        Ok(Occupancy {
            table: t.name.clone(),
            entries,
            size: t.size,
        })
    }
}

/// Detaches every pinned link of module `name` and removes its directory.
pub(crate) fn remove(root: &Path, name: &str) -> Result<Option<Record>, Error> {
    let dir = root.join(name);
    let record = record::read(&dir.join("meta")).ok();
    // Every pinned link, recorded or not (a crash may have left one unrecorded).
    let links: Vec<PathBuf> = std::fs::read_dir(dir.join("links"))
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .collect();
    for path in links {
        let fd = sys::obj_get(&path)
            .map_err(|e| Error::syscall("BPF_OBJ_GET", &path.display().to_string(), e))?;
        match sys::link_detach(fd.as_fd()) {
            // ENOLINK: detached already (its interface is gone).
            Ok(()) => {}
            Err(e) if e.raw_os_error() == Some(libc::ENOLINK) => {}
            Err(e) => {
                return Err(Error::syscall(
                    "BPF_LINK_DETACH",
                    &path.display().to_string(),
                    e,
                ))
            }
        }
    }
    std::fs::remove_dir_all(&dir).map_err(|e| Error::Pin {
        path: dir.clone(),
        detail: format!("removing the module's pins: {e}"),
    })?;
    Ok(record)
}

fn open_error(path: &Path, e: &(dyn std::error::Error + 'static)) -> Error {
    if crate::error::io_cause(e).is_some_and(crate::error::is_permission) {
        return Error::PermissionDenied {
            doing: format!("opening {}", path.display()),
        };
    }
    Error::BadRecord {
        path: path.to_path_buf(),
        why: chain(e),
    }
}

fn summary(root: &Path, name: String) -> Summary {
    let dir = root.join(&name);
    let module = Module::open(root, &name);
    let record = match &module {
        Ok(m) => Ok(m.record.clone().expect("an opened module has its record")),
        Err(e) => Err(e.to_string()),
    };
    let attachments = record
        .as_ref()
        .map(|r| {
            r.attachments
                .iter()
                .map(|a| AttachmentStatus {
                    record: a.clone(),
                    attached: link_alive(&dir, a),
                })
                .collect()
        })
        .unwrap_or_default();
    let (program_id, tables) = match &module {
        Ok(m) => (
            m.program_id(),
            m.manifest
                .tables
                .iter()
                .filter_map(|t| m.occupancy(&t.name).ok())
                .collect(),
        ),
        Err(_) => (None, Vec::new()),
    };
    Summary {
        name,
        record,
        program_id,
        attachments,
        tables,
    }
}
