//! `iov counters MODULE [NAME] [--all] [--json]`: a module's counters, summed over CPUs.
//!
//! Takes: a module name and optionally one counter (`Control.name` or `name`).
//! Gives: every index that counted something (`--all`: every index), as `NAME[INDEX]
//! packets P bytes B`, or one JSON document.

use crate::modules::{fail, open, print_json};
use iov_runtime::iov_manifest::CounterKind;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct Args {
    module: String,
    /// One counter; all of them when left out.
    name: Option<String>,
    /// Show indexes that counted nothing too.
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
    let counters: Vec<_> = module
        .manifest()
        .counters
        .iter()
        .filter(|c| {
            args.name
                .as_deref()
                .is_none_or(|n| c.name == n || c.name.rsplit('.').next() == Some(n))
        })
        .cloned()
        .collect();
    if let (Some(name), true) = (&args.name, counters.is_empty()) {
        // Let the runtime say what exists.
        return match module.counter(name, 0) {
            Err(e) => fail(&e),
            Ok(_) => ExitCode::SUCCESS,
        };
    }
    let mut json = Vec::new();
    for c in &counters {
        let mut rows = Vec::new();
        for index in 0..c.size {
            let (packets, bytes) = match module.counter(&c.name, index) {
                Ok(v) => v,
                Err(e) => return fail(&e),
            };
            if packets == 0 && bytes == 0 && !args.all {
                continue;
            }
            rows.push((index, packets, bytes));
        }
        if args.json {
            json.push(serde_json::json!({
                "counter": c.name,
                "size": c.size,
                "kind": match c.kind {
                    CounterKind::Packets => "packets",
                    CounterKind::Bytes => "bytes",
                    CounterKind::PacketsAndBytes => "packets_and_bytes",
                },
                "values": rows.iter().map(|(i, p, b)| serde_json::json!({
                    "index": i, "packets": p, "bytes": b,
                })).collect::<Vec<_>>(),
            }));
            continue;
        }
        if rows.is_empty() {
            println!("{}: nothing counted yet ({} indexes)", c.name, c.size);
        }
        for (index, packets, bytes) in rows {
            let text = match c.kind {
                CounterKind::Packets => format!("packets {packets}"),
                CounterKind::Bytes => format!("bytes {bytes}"),
                CounterKind::PacketsAndBytes => format!("packets {packets} bytes {bytes}"),
            };
            println!("{}[{index}] {text}", c.name);
        }
    }
    if args.json {
        print_json(&serde_json::json!({ "module": args.module, "counters": json }));
    }
    ExitCode::SUCCESS
}
