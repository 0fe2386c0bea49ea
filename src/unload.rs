//! `iov unload NAME`: detaches a module from every interface (or takes it out of its chain)
//! and removes its pins.
//!
//! Takes: a module name.
//! Gives: the runtime's [`iov_runtime::Module::unload`] done, and one line saying so.

use crate::modules::{fail, root};
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct Args {
    /// The module's name (see `iov list`).
    name: String,
}

pub fn run(args: &Args) -> ExitCode {
    match iov_runtime::Module::unload(&root(), &args.name) {
        Ok(Some(record)) if record.attachments.is_empty() => {
            match &record.chain {
                Some(iov_runtime::record::Role::Stage(c)) => {
                    println!("took `{}` out of chain `{c}` and unloaded it", args.name)
                }
                _ => println!("unloaded `{}` (it was attached nowhere)", args.name),
            }
            ExitCode::SUCCESS
        }
        Ok(Some(record)) => {
            let ifaces: Vec<&str> = record
                .attachments
                .iter()
                .map(|a| a.iface.as_str())
                .collect();
            println!("unloaded `{}` (was on {})", args.name, ifaces.join(", "));
            ExitCode::SUCCESS
        }
        Ok(None) => {
            println!(
                "removed `{}` (its record was unreadable; every pinned link was detached)",
                args.name
            );
            ExitCode::SUCCESS
        }
        Err(e) => fail(&e),
    }
}
