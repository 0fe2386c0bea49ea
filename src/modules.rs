//! What the module commands (`load`, `unload`, `list`, `table`, `counters`, `registers`,
//! `stats`, `metrics`) share: where modules live, opening one by name, and turning runtime
//! errors into messages and exit codes.
//!
//! Takes: a module name, a runtime error.
//! Gives: the pin root (`/sys/fs/bpf/iov`, or `IOV_PIN_ROOT`), an opened [`Module`], and the
//! exit code of a failure: 1 when the request itself was refused (unknown table, value too
//! wide, entry exists, table full, ...), 2 for usage and environment (no privileges, no
//! bpffs, no such module, interface or namespace).

use iov_runtime::{Error, Module};
use std::path::PathBuf;
use std::process::ExitCode;

/// The directory that holds module directories.
pub fn root() -> PathBuf {
    std::env::var_os("IOV_PIN_ROOT")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(iov_runtime::DEFAULT_ROOT))
}

/// Prints `e` and gives its exit code.
pub fn fail(e: &Error) -> ExitCode {
    eprintln!("{:?}", miette::miette!("{e}"));
    ExitCode::from(if e.is_refusal() { 1 } else { 2 })
}

/// Prints a usage or input problem (exit 2).
pub fn usage(message: impl std::fmt::Display) -> ExitCode {
    eprintln!("{:?}", miette::miette!("{message}"));
    ExitCode::from(2)
}

/// The deployed module `name`, or the exit code of why not (already reported).
pub fn open(name: &str) -> Result<Module, ExitCode> {
    Module::open(&root(), name).map_err(|e| fail(&e))
}

/// Prints `value` as one line of JSON.
pub fn print_json(value: &serde_json::Value) {
    println!("{value}");
}
