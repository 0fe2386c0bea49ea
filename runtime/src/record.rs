//! The record of a deployed module: what it is and where it is attached, kept in bpffs.
//!
//! Takes: a module's name, its manifest and its attachments.
//! Gives: [`Record`], stored as JSON in a frozen one-element array map pinned at
//! `DIR/meta` (programs cannot read or write it, user space cannot change it once written),
//! so everything about a module lives in its bpffs directory and any process finds it by
//! name. The layout of a module directory (docs/operations.md):
//!
//! ```text
//! /sys/fs/bpf/iov/NAME/
//!   meta        this record (array map, 1 element: u32 length, then JSON)
//!   prog        the program
//!   links/N     the BPF link of attachment N (XDP link or tcx link)
//!   maps/MAP    every map of the manifest, by its manifest name
//! ```
//!
//! A chain (`chain.rs`) is a module of this shape too, whose record says `Head`; its stages
//! say `Stage(CHAIN)` and have no links; the chain of a traffic class (`classes.rs`) says
//! `Class {parent, slot}` and has no links either.

use crate::error::chain;
use crate::sys::{self, RawMap, Update};
use crate::{Error, XdpMode};
use aya::maps::MapData;
use iov_manifest::{Hook, Manifest};
use serde::{Deserialize, Serialize};
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};

/// The version of the record's layout; changes when a field changes meaning or disappears.
pub const RECORD_FORMAT: u32 = 1;

/// Where deployed modules live unless told otherwise.
pub const DEFAULT_ROOT: &str = "/sys/fs/bpf/iov";

/// Everything a later process needs to control a deployed module.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    pub format: u32,
    /// The module's name: its directory under the root.
    pub name: String,
    /// The file it was loaded from, as given.
    pub source: String,
    /// Seconds since the Unix epoch when it was loaded.
    pub loaded_at: u64,
    /// The hook it runs at (for a TC object, the direction chosen at load).
    pub hook: Hook,
    pub attachments: Vec<AttachmentRecord>,
    pub manifest: Manifest,
    /// Its part in a chain (`chain.rs`), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chain: Option<Role>,
}

/// What a module is to a chain.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// The chain itself: the program attached to the interface, which hands every packet to
    /// the first stage. Its module name is the chain's name.
    Head,
    /// A stage of the chain of that name; it is attached to no interface.
    Stage(String),
    /// The chain of one traffic class of chain `parent`: a head attached to no interface,
    /// which the parent's head hands the packets of the class (`pass_to_class(slot)`).
    Class { parent: String, slot: u32 },
}

/// One interface the module's program is attached to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttachmentRecord {
    pub iface: String,
    /// The interface's index in its network namespace at attach time.
    pub ifindex: u32,
    /// The network namespace, as a path (`/run/netns/NAME`), or `None` for the loader's own.
    pub netns: Option<PathBuf>,
    /// XDP only: where the program runs.
    pub mode: Option<Mode>,
    /// The link's pin, relative to the module directory (`links/0`).
    pub link: String,
    /// The kernel's id of the link.
    pub link_id: u32,
}

/// Where an XDP program runs, as recorded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    Native,
    Generic,
}

impl From<XdpMode> for Mode {
    fn from(m: XdpMode) -> Mode {
        match m {
            XdpMode::Native => Mode::Native,
            XdpMode::Generic => Mode::Generic,
        }
    }
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Native => "native",
            Mode::Generic => "generic",
        }
    }
}

/// `xdp`, `tc-ingress` or `tc-egress`, as the command line writes hooks.
pub fn hook_name(hook: Hook) -> &'static str {
    match hook {
        Hook::Xdp => "xdp",
        Hook::TcIngress => "tc-ingress",
        Hook::TcEgress => "tc-egress",
    }
}

/// Writes `record` into a new frozen map pinned at `path`.
pub(crate) fn write(record: &Record, path: &Path) -> Result<(), Error> {
    let json = serde_json::to_vec(record).expect("a record always serializes");
    let value_size = (4 + json.len()).next_multiple_of(8);
    let fail = |call: &'static str, e: std::io::Error| Error::syscall(call, "the module record", e);
    let fd = sys::create_record_map("iov_meta", value_size as u32)
        .map_err(|e| fail("BPF_MAP_CREATE", e))?;
    let mut value = vec![0u8; value_size];
    value[..4].copy_from_slice(&(json.len() as u32).to_ne_bytes());
    value[4..4 + json.len()].copy_from_slice(&json);
    let map = RawMap {
        fd: fd.as_fd(),
        key_size: 4,
        value_size,
    };
    map.update(&0u32.to_ne_bytes(), &value, Update::Any)
        .map_err(|e| fail("BPF_MAP_UPDATE_ELEM", e))?;
    sys::map_freeze(fd.as_fd()).map_err(|e| fail("BPF_MAP_FREEZE", e))?;
    sys::obj_pin(fd.as_fd(), path).map_err(|e| Error::Pin {
        path: path.to_path_buf(),
        detail: e.to_string(),
    })
}

/// Reads the record pinned at `path`.
pub(crate) fn read(path: &Path) -> Result<Record, Error> {
    let bad = |why: String| Error::BadRecord {
        path: path.to_path_buf(),
        why,
    };
    let data = MapData::from_pin(path).map_err(|e| bad(chain(&e)))?;
    let info = data.info().map_err(|e| bad(chain(&e)))?;
    let map = RawMap {
        fd: data.fd().as_fd(),
        key_size: info.key_size() as usize,
        value_size: info.value_size() as usize,
    };
    let value = map
        .lookup(&0u32.to_ne_bytes())
        .map_err(|e| bad(e.to_string()))?
        .ok_or_else(|| bad("it is empty".into()))?;
    let len = value
        .get(..4)
        .map(|b| u32::from_ne_bytes(b.try_into().expect("four bytes")) as usize)
        .ok_or_else(|| bad("it is shorter than its length".into()))?;
    let json = value
        .get(4..4 + len)
        .ok_or_else(|| bad(format!("it claims {len} bytes but holds fewer")))?;
    let record: Record =
        serde_json::from_slice(json).map_err(|e| bad(format!("it is not a module record: {e}")))?;
    if record.format != RECORD_FORMAT {
        return Err(bad(format!(
            "record format {} is not supported (this iov reads format {RECORD_FORMAT}); \
             use the iov that loaded it, or unload it with `rm -r` of its directory",
            record.format
        )));
    }
    Ok(record)
}
