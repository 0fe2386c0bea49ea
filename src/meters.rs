//! `iov meter MODULE [NAME [CELL [SETTING | clear]]] [--json]`: read a module's meters, or
//! set one cell.
//!
//! Takes: a module name; optionally a meter, a cell (an index of a `meter`; the key of an
//! entry of the table of a `direct_meter`, `field:value ...` as `iov table` writes keys) and
//! a setting in the syntax `iov test` reads (`srtcm cir:RATE cbs:BURST ebs:BURST`, `trtcm
//! cir:RATE cbs:BURST pir:RATE pbs:BURST`, see src/control_line.rs), or `clear`.
//! Gives: every configured cell of every meter (or of one) with its setting and the tokens in
//! its buckets (a direct meter's by the key of its entry), one cell, or the cell set through
//! the runtime (refused, exit 1, with the reason and nothing changed, when the setting is not
//! one RFC 2697 or 2698 allows or no entry has the key).

use crate::modules::{fail, open, print_json, usage};
use iov::control_line::{meter_cell, meter_setting, show_cell, show_meter};
use iov_runtime::{MeterCellId, MeterState, Module};
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct Args {
    module: String,
    name: Option<String>,
    /// The cell (an index, or for a direct meter its entry's key `field:value ...`), then
    /// `srtcm cir:RATE cbs:BURST ebs:BURST`, `trtcm cir:RATE cbs:BURST pir:RATE pbs:BURST`
    /// (tokens per second and tokens; k, M, G allowed), or `clear`.
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    cell: Vec<String>,
    #[arg(long)]
    json: bool,
}

fn cell_json(module: &Module, name: &str, cell: &MeterCellId, s: &MeterState) -> serde_json::Value {
    let at: serde_json::Value = match cell {
        MeterCellId::Index(i) => (*i).into(),
        MeterCellId::Entry(_) => show_cell(module, name, cell).into(),
    };
    let what = match cell {
        MeterCellId::Index(_) => "index",
        MeterCellId::Entry(_) => "entry",
    };
    serde_json::json!({
        what: at,
        "setting": s.config.as_ref().map(show_meter),
        "committed_tokens": s.committed,
        "excess_tokens": s.excess,
    })
}

/// `name[3] ...` for an indexed cell, `name{hdr.ipv4.src:10.0.0.0/8} ...` for an entry's.
fn cell_text(module: &Module, name: &str, cell: &MeterCellId, s: &MeterState) -> String {
    let at = match cell {
        MeterCellId::Index(i) => format!("[{i}]"),
        MeterCellId::Entry(_) => format!("{{{}}}", show_cell(module, name, cell)),
    };
    match &s.config {
        Some(c) => format!(
            "{name}{at} {}: C holds {} tokens, {} {}",
            show_meter(c),
            s.committed,
            if show_meter(c).starts_with("srtcm") {
                "E"
            } else {
                "P"
            },
            s.excess
        ),
        None => format!("{name}{at} unconfigured (every packet green)"),
    }
}

fn show_one(module: &Module, name: &str, cell: &MeterCellId, json: bool) -> ExitCode {
    match module.meter_cell_get(name, cell) {
        Ok(s) if json => {
            let cell = cell_json(module, name, cell, &s);
            print_json(&serde_json::json!({ "meter": name, "cell": cell }));
            ExitCode::SUCCESS
        }
        Ok(s) => {
            println!("{}", cell_text(module, name, cell, &s));
            ExitCode::SUCCESS
        }
        Err(e) => fail(&e),
    }
}

/// Reads, sets or clears the one cell the line names.
fn one_cell(module: &Module, name: &str, words: &[&str], json: bool) -> ExitCode {
    let (cell, rest) = match meter_cell(words) {
        Ok(c) => c,
        Err(e) => return usage(e),
    };
    let cell = match cell.resolve(module, name) {
        Ok(c) => c,
        Err(e) => return fail(&e),
    };
    if rest.is_empty() {
        return show_one(module, name, &cell, json);
    }
    let config = match rest {
        ["clear"] => None,
        setting => match meter_setting(setting) {
            Ok(c) => Some(c),
            Err(e) => return usage(e),
        },
    };
    match module.meter_cell_set(name, &cell, config.as_ref()) {
        Ok(()) => show_one(module, name, &cell, json),
        Err(e) => fail(&e),
    }
}

pub fn run(args: &Args) -> ExitCode {
    let module = match open(&args.module) {
        Ok(m) => m,
        Err(code) => return code,
    };
    if let (Some(name), false) = (&args.name, args.cell.is_empty()) {
        let words: Vec<&str> = args.cell.iter().map(String::as_str).collect();
        return one_cell(&module, name, &words, args.json);
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
        return show_one(&module, name, &MeterCellId::Index(0), args.json);
    }
    let mut json = Vec::new();
    for m in &meters {
        let cells = match module.meter_cells(&m.name, u32::MAX) {
            Ok(c) => c,
            Err(e) => return fail(&e),
        };
        if args.json {
            json.push(serde_json::json!({
                "meter": m.name, "size": m.size, "kind": m.kind, "table": m.table,
                "cells": cells.iter().map(|(c, s)| cell_json(&module, &m.name, c, s)).collect::<Vec<_>>(),
            }));
            continue;
        }
        if cells.is_empty() {
            match &m.table {
                None => println!(
                    "{}: all {} cells unconfigured (every packet green)",
                    m.name, m.size
                ),
                Some(t) => println!(
                    "{}: no entry of {t} has a configured meter (every packet green)",
                    m.name
                ),
            }
        }
        for (cell, s) in cells {
            println!("{}", cell_text(&module, &m.name, &cell, &s));
        }
    }
    if args.json {
        print_json(&serde_json::json!({ "module": args.module, "meters": json }));
    }
    ExitCode::SUCCESS
}
