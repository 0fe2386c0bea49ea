//! The iov runtime: the only part of iov that makes system calls.
//!
//! Takes: BPF objects built by `iov build` (ELF with libbpf-style maps, one XDP or TC program
//! and the manifest in section `.iov.manifest`).
//! Gives: a loaded [`Module`] with its typed control plane (table entries, default actions,
//! counters, registers), test runs in the kernel (`BPF_PROG_TEST_RUN`), attachment to
//! interfaces and pinning to bpffs.
//!
//! A module's life, as `iov load`, `iov table`, `iov counters` and `iov unload` live it
//! (each step may run in another process: the module is found again by name):
//!
//! ```no_run
//! use iov_runtime::{Deploy, Device, Match, ModeChoice, Module, Request};
//! use std::path::Path;
//!
//! let object = std::fs::read("router.o")?; // from `iov build examples/router.iov`
//! let root = Path::new(iov_runtime::DEFAULT_ROOT);
//! let devices = [Device { iface: "veth0".into(), netns: Some("blue".into()) }];
//! let deployed = Module::deploy(
//!     &object,
//!     &Deploy {
//!         name: "r1",
//!         source: "router.o",
//!         devices: &devices,
//!         hook: None,
//!         mode: ModeChoice::Auto,
//!         root,
//!     },
//! )?;
//! for notice in &deployed.notices {
//!     eprintln!("note: {notice}"); // such as a fallback to generic XDP
//! }
//!
//! let r1 = Module::open(root, "r1")?;
//! r1.apply(&Request::Add {
//!     table: "routes".into(),
//!     priority: None,
//!     keys: vec![("dst".into(), Match::Prefix { value: 0x0a00_0000, len: 8 })],
//!     action: "forward".into(),
//!     args: vec![("dst_mac".into(), 0x0200_0000_0002), ("src_mac".into(), 1), ("port".into(), 3)],
//! })?;
//! let (packets, bytes) = r1.counter("port_stats", 3)?;
//! println!("{packets} packets, {bytes} bytes out of port 3");
//! for summary in Module::list(root)? {
//!     println!("{}: {:?}", summary.name, summary.tables);
//! }
//! Module::unload(root, "r1")?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! | file | takes | gives |
//! |---|---|---|
//! | `manifest.rs` | object bytes | the [`Manifest`](iov_manifest::Manifest) |
//! | `module.rs` | object bytes | [`Module::load`]: maps created, program loaded, defaults installed |
//! | `encode.rs` | manifest table + typed values | map key/value bytes and back (pure) |
//! | `slots.rs` | an array table, its used slots | slot bytes, and the ordered writes of an insert or delete (pure) |
//! | `tuples.rs` | a tuple-space table, typed keys, its mask slots | an entry's mask, masked key and rank; where a mask goes; when a write must wait for a grace period (pure) |
//! | `tuple_table.rs` | a module, a tuple-space table | its entries added, changed, deleted, listed and cleared, each write atomic as packets see it |
//! | `control.rs` | a module, names, typed values | table, direct counter, counter and register operations |
//! | `batch.rs` | [`Request`]s with named keys and arguments | one request performed, or a batch all or nothing |
//! | `test_run.rs` | a module, a packet | [`RunResult`] with the verdict of test builds |
//! | `attach.rs` | a module, an interface | [`Attachment`] (XDP generic/native, TC) |
//! | `pin.rs` | a module, a bpffs directory | pinned program and maps |
//! | `deploy.rs` | an object, a name, interfaces | [`Module::deploy`]: loaded, pinned under `ROOT/NAME`, attached through BPF links |
//! | `registry.rs` | a root, a module name | [`Module::open`] from the pins, [`Module::list`], [`Module::unload`] |
//! | `record.rs` | a deployed module | its [`Record`] (manifest, hook, attachments), kept in a frozen pinned map |
//! | `netns.rs` | a network namespace name or path | work on its interfaces, staying in our bpffs |
//! | `sys.rs` | file descriptors, buffers | the raw bpf() calls aya does not offer |
//! | `error.rs` | every failure | [`Error`], whose messages say how to fix it |

mod attach;
mod batch;
pub mod carry;
mod chain;
mod classes;
mod control;
mod deploy;
mod digest;
mod direct_meter;
mod encode;
mod error;
mod group;
mod manifest;
mod meter;
mod migrate;
mod module;
pub mod netns;
mod pin;
pub mod record;
mod registry;
mod reload;
mod slots;
mod sys;
mod test_run;
mod tuple_table;
mod tuples;

pub use attach::{Attachment, XdpMode};
pub use batch::Request;
pub use chain::{Chain, ChainSpec, ChainView, Deleted, Hop, Join, Position, MAX_STAGES};
pub use classes::{ClassMatch, ClassSpec, ClassView, CLASS_ACTION, CLASS_TABLE};
pub use deploy::{Deploy, Deployed, Device, ModeChoice};
pub use digest::{DigestRecord, Events};
pub use direct_meter::MeterCellId;
pub use encode::{ActionCall, Entry, Match};
pub use error::Error;
pub use iov_manifest;
pub use manifest::read_manifest;
pub use meter::{MeterConfig, MeterState};
pub use module::Module;
pub use pin::is_bpffs;
pub use record::{Record, DEFAULT_ROOT};
pub use registry::{AttachmentStatus, Occupancy, Summary};
pub use reload::{Reload, Reloaded};
pub use test_run::{RepeatResult, RunResult, Verdict, VerdictAction, MIN_FRAME};
