//! `iov meter MODULE [NAME [INDEX [SETTING | clear]]] [--json]`: read a module's meters, or
//! set one cell.
//!
//! Takes: a module name; optionally a meter, an index and a setting in the syntax `iov test`
//! reads (`srtcm cir:RATE cbs:BURST ebs:BURST`, `trtcm cir:RATE cbs:BURST pir:RATE
//! pbs:BURST`, see src/control_line.rs), or `clear`.
//! Gives: every configured cell of every meter (or of one) with its setting and the tokens in
//! its buckets, one cell, or the cell set through the runtime (refused, exit 1, with the
//! reason and nothing changed, when the setting is not one RFC 2697 or 2698 allows).

use crate::modules::{fail, open, print_json, usage};
use iov::control_line::{meter_setting, show_meter};
use iov_runtime::{MeterState, Module};
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct Args {
    module: String,
    name: Option<String>,
    index: Option<u32>,
    /// `srtcm cir:RATE cbs:BURST ebs:BURST`, `trtcm cir:RATE cbs:BURST pir:RATE pbs:BURST`
    /// (tokens per second and tokens; k, M, G allowed), or `clear`.
    setting: Vec<String>,
    #[arg(long)]
    json: bool,
}

fn cell_json(index: u32, s: &MeterState) -> serde_json::Value {
    serde_json::json!({
        "index": index,
        "setting": s.config.as_ref().map(show_meter),
        "committed_tokens": s.committed,
        "excess_tokens": s.excess,
    })
}

fn cell_text(name: &str, index: u32, s: &MeterState) -> String {
    match &s.config {
        Some(c) => format!(
            "{name}[{index}] {}: C holds {} tokens, {} {}",
            show_meter(c),
            s.committed,
            if show_meter(c).starts_with("srtcm") {
                "E"
            } else {
                "P"
            },
            s.excess
        ),
        None => format!("{name}[{index}] unconfigured (every packet green)"),
    }
}

fn show_one(module: &Module, name: &str, index: u32, json: bool) -> ExitCode {
    match module.meter_get(name, index) {
        Ok(s) if json => {
            print_json(&serde_json::json!({ "meter": name, "cell": cell_json(index, &s) }));
            ExitCode::SUCCESS
        }
        Ok(s) => {
            println!("{}", cell_text(name, index, &s));
            ExitCode::SUCCESS
        }
        Err(e) => fail(&e),
    }
}

pub fn run(args: &Args) -> ExitCode {
    let module = match open(&args.module) {
        Ok(m) => m,
        Err(code) => return code,
    };
    if let (Some(name), Some(index)) = (&args.name, args.index) {
        if args.setting.is_empty() {
            return show_one(&module, name, index, args.json);
        }
        let words: Vec<&str> = args.setting.iter().map(String::as_str).collect();
        let done = if words == ["clear"] {
            module.meter_clear(name, index)
        } else {
            match meter_setting(&words) {
                Ok(c) => module.meter_set(name, index, &c),
                Err(e) => return usage(e),
            }
        };
        return match done {
            Ok(()) => show_one(&module, name, index, args.json),
            Err(e) => fail(&e),
        };
    }
    let meters: Vec<_> = module
        .manifest()
        .meters
        .iter()
        .filter(|m| {
            args.name
                .as_deref()
                .is_none_or(|n| m.name == n || m.name.rsplit('.').next() == Some(n))
        })
        .cloned()
        .collect();
    if let (Some(name), true) = (&args.name, meters.is_empty()) {
        // Let the runtime say which meters there are.
        return show_one(&module, name, 0, args.json);
    }
    let mut json = Vec::new();
    for m in &meters {
        let mut cells = Vec::new();
        for index in 0..m.size {
            match module.meter_get(&m.name, index) {
                Ok(s) if s.config.is_some() => cells.push((index, s)),
                Ok(_) => {}
                Err(e) => return fail(&e),
            }
        }
        if args.json {
            json.push(serde_json::json!({
                "meter": m.name, "size": m.size, "kind": m.kind,
                "cells": cells.iter().map(|(i, s)| cell_json(*i, s)).collect::<Vec<_>>(),
            }));
            continue;
        }
        if cells.is_empty() {
            println!(
                "{}: all {} cells unconfigured (every packet green)",
                m.name, m.size
            );
        }
        for (index, s) in cells {
            println!("{}", cell_text(&m.name, index, &s));
        }
    }
    if args.json {
        print_json(&serde_json::json!({ "module": args.module, "meters": json }));
    }
    ExitCode::SUCCESS
}
