//! `iov registers MODULE [NAME [INDEX [VALUE]]] [--json]`: read a module's registers, or
//! write one cell.
//!
//! Takes: a module name; optionally a register, an index and a value (written as in `.iov`
//! source: decimal, hex, an address).
//! Gives: the non-zero cells of every register (or of one; `--all` for every cell), one
//! cell's value, or the cell written through the runtime (refused, exit 1, when the value
//! does not fit the register or the index is out of range).

use crate::modules::{fail, open, print_json, usage};
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct Args {
    module: String,
    name: Option<String>,
    index: Option<u32>,
    /// Write this value into register NAME at INDEX.
    value: Option<String>,
    /// Show cells holding zero too.
    #[arg(long)]
    all: bool,
    #[arg(long)]
    json: bool,
}

pub fn run(args: &Args) -> ExitCode {
    let module = match open(&args.module) {
        Ok(m) => m,
        Err(code) => return code,
    };
    if let (Some(name), Some(index), Some(text)) = (&args.name, args.index, &args.value) {
        let value = match iov::values::literal(text) {
            Ok(v) => v,
            Err(e) => return usage(e),
        };
        return match module.register_write(name, index, value) {
            Ok(()) => {
                println!("{name}[{index}] = {value}");
                ExitCode::SUCCESS
            }
            Err(e) => fail(&e),
        };
    }
    let registers: Vec<_> = module
        .manifest()
        .registers
        .iter()
        .filter(|r| {
            args.name
                .as_deref()
                .is_none_or(|n| r.name == n || r.name.rsplit('.').next() == Some(n))
        })
        .cloned()
        .collect();
    if let Some(name) = &args.name {
        if registers.is_empty() || args.index.is_some() {
            let index = args.index.unwrap_or(0);
            return match module.register_read(name, index) {
                Ok(v) if args.json => {
                    print_json(
                        &serde_json::json!({ "register": name, "index": index, "value": v.to_string() }),
                    );
                    ExitCode::SUCCESS
                }
                Ok(v) => {
                    println!("{name}[{index}] = {v}");
                    ExitCode::SUCCESS
                }
                Err(e) => fail(&e),
            };
        }
    }
    let mut json = Vec::new();
    for r in &registers {
        let mut cells = Vec::new();
        for index in 0..r.size {
            match module.register_read(&r.name, index) {
                Ok(0) if !args.all => {}
                Ok(v) => cells.push((index, v)),
                Err(e) => return fail(&e),
            }
        }
        if args.json {
            json.push(serde_json::json!({
                "register": r.name, "size": r.size, "bits": r.bits,
                "values": cells.iter().map(|(i, v)| serde_json::json!({"index": i, "value": v.to_string()})).collect::<Vec<_>>(),
            }));
            continue;
        }
        if cells.is_empty() {
            println!("{}: all {} cells are 0", r.name, r.size);
        }
        for (index, v) in cells {
            println!("{}[{index}] = {v}", r.name);
        }
    }
    if args.json {
        print_json(&serde_json::json!({ "module": args.module, "registers": json }));
    }
    ExitCode::SUCCESS
}
