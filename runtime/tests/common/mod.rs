//! Shared support for the runtime's kernel tests.
//!
//! Takes: nothing.
//! Gives: [`kernel_ok`] (skip when not root, but fail under CI=true), the hand-written
//! objects (`programs`, and `acl` for array tables), the assembler (`asm`) and object writer
//! (`elf`) behind them.
#![allow(dead_code)]

pub mod acl;
pub mod asm;
pub mod elf;
pub mod programs;

/// Whether this process may use BPF. Not root: prints why the test is skipped and returns
/// false, except under `CI=true`, where skipping would hide a broken setup: it panics.
pub fn kernel_ok(test: &str) -> bool {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } == 0 {
        return true;
    }
    let why = "it loads BPF programs into the kernel, which needs root";
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("{test} cannot run: {why}; CI=true must run the tests as root");
    }
    println!("SKIPPED {test}: {why} (run `sudo -E cargo test -p iov-runtime`)");
    false
}

/// Returns from the test early (skipping it) when the kernel cannot be used.
#[macro_export]
macro_rules! require_kernel {
    () => {
        if !common::kernel_ok(std::thread::current().name().unwrap_or("this test")) {
            return;
        }
    };
}
