//! `iov reload NAME FILE(.iov|.o) [--reset NAME...] [--json]`.
//!
//! Takes: a deployed module's name and the new version (a source, compiled here for the
//! module's hook, or an object built by `iov build`).
//! Gives: the runtime's [`iov_runtime::Module::reload`] done: the new program runs on every
//! interface of the module, with the tables, counters and registers whose layout is unchanged
//! carried over. Prints what was kept, started empty and removed (or `--json`); a refused
//! reload (a layout change not named in `--reset`) lists every change and exits 1.

use crate::build::object_of;
use crate::modules::{fail, open, print_json, root};
use crate::Color;
use iov_runtime::carry::Fate;
use iov_runtime::record::Role;
use iov_runtime::{Module, Reload};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct Args {
    /// The module's name (see `iov list`).
    name: String,
    /// The new version: a .iov program or an object built by `iov build`.
    file: PathBuf,
    /// Start these tables, counters or registers empty (needed where their layout changed).
    #[arg(long, value_name = "NAME", num_args = 1..)]
    reset: Vec<String>,
    /// Print the result as one JSON object.
    #[arg(long)]
    json: bool,
    #[arg(long, value_enum, default_value = "auto")]
    color: Color,
}

pub fn run(args: &Args) -> ExitCode {
    // A source is compiled for the hook the module runs at, and as a stage when the module
    // is one.
    let (hook, chain_stage) = match open(&args.name) {
        Ok(m) => (
            m.record().map(|r| r.hook),
            m.record()
                .is_some_and(|r| matches!(r.chain, Some(Role::Stage(_)))),
        ),
        Err(code) => return code,
    };
    let opts = iov_codegen::Options {
        hook,
        chain_stage,
        ..Default::default()
    };
    let object = match object_of(&args.file, args.color, &opts) {
        Ok(o) => o,
        Err(code) => return code,
    };
    let source = args.file.display().to_string();
    let root = root();
    let request = Reload {
        root: &root,
        name: &args.name,
        source: &source,
        reset: &args.reset,
    };
    let done = match Module::reload(&object, &request) {
        Ok(d) => d,
        Err(e) => return fail(&e),
    };
    let new_id = done.module.program_id();
    // Kept, migrated or started empty: each object once, under its fate.
    let describe = |which: u8| -> Vec<String> {
        done.plan
            .carry
            .iter()
            .filter(|c| c.kind != iov_runtime::carry::CHAIN)
            .filter_map(|c| match (&c.fate, which) {
                (Fate::Kept, 0) => Some(format!("{} `{}`", c.kind, c.name)),
                (Fate::Migrated(how), 1) => {
                    Some(format!("{} `{}` ({})", c.kind, c.name, how.join("; ")))
                }
                (Fate::Fresh(why), 2) if !why.is_empty() => {
                    Some(format!("{} `{}` ({why})", c.kind, c.name))
                }
                (Fate::Fresh(_), 2) => Some(format!("{} `{}`", c.kind, c.name)),
                _ => None,
            })
            .collect()
    };
    let (kept, migrated, fresh) = (describe(0), describe(1), describe(2));
    if args.json {
        print_json(&serde_json::json!({
            "name": args.name,
            "old_program_id": done.old_program_id,
            "program_id": new_id,
            "kept": kept,
            "migrated": migrated,
            "started_empty": fresh,
            "removed": done.plan.removed,
        }));
        return ExitCode::SUCCESS;
    }
    let id = |i: Option<u32>| i.map_or("?".into(), |i| i.to_string());
    println!(
        "reloaded `{}`: program id {} -> {}",
        args.name,
        id(done.old_program_id),
        id(new_id)
    );
    for (what, items) in [
        ("kept", &kept),
        ("copied into a widened layout", &migrated),
        ("started empty", &fresh),
        ("removed", &done.plan.removed),
    ] {
        if !items.is_empty() {
            println!("  {what}: {}", items.join(", "));
        }
    }
    ExitCode::SUCCESS
}
