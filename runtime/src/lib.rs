//! The iov runtime: the only part of iov that makes system calls.
//!
//! Takes: BPF objects built by `iov build` (ELF with libbpf-style maps, one XDP or TC program
//! and the manifest in section `.iov.manifest`).
//! Gives: a loaded [`Module`] with its typed control plane (table entries, default actions,
//! counters, registers), test runs in the kernel (`BPF_PROG_TEST_RUN`), attachment to
//! interfaces and pinning to bpffs.
//!
//! | file | takes | gives |
//! |---|---|---|
//! | `manifest.rs` | object bytes | the [`Manifest`](iov_manifest::Manifest) |
//! | `module.rs` | object bytes | [`Module::load`]: maps created, program loaded, defaults installed |
//! | `encode.rs` | manifest table + typed values | map key/value bytes and back (pure) |
//! | `slots.rs` | an array table, its used slots | slot bytes, and the ordered writes of an insert or delete (pure) |
//! | `control.rs` | a module, names, typed values | table, direct counter, counter and register operations |
//! | `test_run.rs` | a module, a packet | [`RunResult`] with the verdict of test builds |
//! | `attach.rs` | a module, an interface | [`Attachment`] (XDP generic/native, TC) |
//! | `pin.rs` | a module, a bpffs directory | pinned program and maps |
//! | `sys.rs` | file descriptors, buffers | the raw bpf() calls aya does not offer |
//! | `error.rs` | every failure | [`Error`], whose messages say how to fix it |

mod attach;
mod control;
mod encode;
mod error;
mod manifest;
mod module;
mod pin;
mod slots;
mod sys;
mod test_run;

pub use attach::{Attachment, XdpMode};
pub use encode::{ActionCall, Entry, Match};
pub use error::Error;
pub use iov_manifest;
pub use manifest::read_manifest;
pub use module::Module;
pub use pin::is_bpffs;
pub use test_run::{RepeatResult, RunResult, Verdict, VerdictAction, MIN_FRAME};
