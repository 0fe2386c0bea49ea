//! `iov events MODULE [NAME] [--json] [--count N] [--timeout S]`: print the records a
//! module's digests send, as they come.
//!
//! Takes: a deployed module; optionally one digest (default: every digest of the module).
//! Gives: one line per record, `DIGEST field=value ...` with values shown as `iov table`
//! shows them (addresses as addresses), or one JSON object per line; on exit, the records the
//! ring buffers had no room for (`--count` stops after N records, `--timeout` after S seconds
//! without one; neither: until interrupted). One reader at a time: records go to whichever
//! reader takes them first.

use crate::modules::{fail, open, usage};
use std::process::ExitCode;
use std::time::{Duration, Instant};

#[derive(clap::Args)]
pub struct Args {
    module: String,
    /// One digest (by full or short name); default every digest of the module.
    name: Option<String>,
    #[arg(long)]
    json: bool,
    /// Stop after this many records.
    #[arg(long)]
    count: Option<u64>,
    /// Stop when no record came for this many seconds.
    #[arg(long)]
    timeout: Option<f64>,
}

pub fn run(args: &Args) -> ExitCode {
    let module = match open(&args.module) {
        Ok(m) => m,
        Err(code) => return code,
    };
    let names: Vec<String> = match &args.name {
        Some(n) => vec![n.clone()],
        None => module
            .manifest()
            .digests
            .iter()
            .map(|d| d.name.clone())
            .collect(),
    };
    if names.is_empty() {
        return usage(format!("module `{}` has no digests", args.module));
    }
    let mut readers = Vec::new();
    for n in &names {
        match module.events(n) {
            Ok(r) => readers.push(r),
            Err(e) => return fail(&e),
        }
    }
    let idle = args.timeout.map(Duration::from_secs_f64);
    let (mut seen, mut last) = (0u64, Instant::now());
    'outer: loop {
        let mut any = false;
        for r in &mut readers {
            // With several digests, each is polled briefly in turn.
            let wait = Duration::from_millis(if names.len() == 1 { 200 } else { 20 });
            let rec = match r.wait(wait) {
                Ok(rec) => rec,
                Err(e) => return fail(&e),
            };
            let Some(rec) = rec else { continue };
            any = true;
            let d = r.digest();
            if args.json {
                let fields: serde_json::Map<String, serde_json::Value> = rec
                    .fields
                    .iter()
                    .map(|(k, v)| (k.clone(), serde_json::Value::String(v.to_string())))
                    .collect();
                println!(
                    "{}",
                    serde_json::json!({ "digest": d.name, "fields": fields })
                );
            } else {
                let shown: Vec<String> = rec
                    .fields
                    .iter()
                    .zip(&d.fields)
                    .map(|((k, v), f)| format!("{k}={}", iov::values::show(k, f.bits, *v)))
                    .collect();
                println!("{} {}", d.name, shown.join(" "));
            }
            seen += 1;
            if args.count.is_some_and(|c| seen >= c) {
                break 'outer;
            }
        }
        if any {
            last = Instant::now();
        } else if idle.is_some_and(|i| last.elapsed() >= i) {
            break;
        }
    }
    for n in &names {
        match module.digest_drops(n) {
            Ok(0) => {}
            Ok(d) => eprintln!("{n}: {d} records dropped (the ring buffer was full; read faster)"),
            Err(e) => return fail(&e),
        }
    }
    ExitCode::SUCCESS
}
