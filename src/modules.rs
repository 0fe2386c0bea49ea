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

/// Whether `e` refuses a request (exit 1) rather than reporting the environment (exit 2).
pub fn is_refusal(e: &Error) -> bool {
    matches!(
        e,
        Error::UnknownTable { .. }
            | Error::UnknownAction { .. }
            | Error::UnknownExtern { .. }
            | Error::UnknownName { .. }
            | Error::MissingName { .. }
            | Error::DuplicateName { .. }
            | Error::KeyCount { .. }
            | Error::ArgCount { .. }
            | Error::TooWide { .. }
            | Error::PrefixTooLong { .. }
            | Error::HostBits { .. }
            | Error::MaskBits { .. }
            | Error::EmptyRange { .. }
            | Error::WrongMatch { .. }
            | Error::TableFull { .. }
            | Error::EntryExists { .. }
            | Error::NoEntry { .. }
            | Error::ZeroPriority { .. }
            | Error::NoPriority { .. }
            | Error::NoDirectCounter { .. }
            | Error::ConstEntries { .. }
            | Error::ConstDefault { .. }
            | Error::IndexOutOfRange { .. }
            | Error::Rollback { .. }
            | Error::NameInUse { .. }
            | Error::HookTaken { .. }
            | Error::HookBusy { .. }
            | Error::HookMismatch { .. }
    )
}

/// Prints `e` and gives its exit code.
pub fn fail(e: &Error) -> ExitCode {
    eprintln!("{:?}", miette::miette!("{e}"));
    ExitCode::from(if is_refusal(e) { 1 } else { 2 })
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
