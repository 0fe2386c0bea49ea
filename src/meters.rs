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
use iov::control_line::{meter_cell, meter_setting, show_meter, MeterCell};
use iov::values::show_keys;
use iov_runtime::{Error, Match, MeterCellId, MeterState, Module};
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

/// A cell as the user named it: `[3]`, or the entry's key `{hdr.ipv4.src:10.0.0.0/8}`.
enum Named {
    Index(u32),
    Entry(Vec<Match>, String),
}

impl Named {
    fn text(&self) -> String {
        match self {
            Named::Index(i) => format!("[{i}]"),
            Named::Entry(_, keys) => format!("{{{keys}}}"),
        }
    }

    fn json(&self) -> (&'static str, serde_json::Value) {
        match self {
            Named::Index(i) => ("index", (*i).into()),
            Named::Entry(_, keys) => ("entry", keys.clone().into()),
        }
    }
}

/// The key of an entry of direct meter `meter`'s table, as `iov table` writes keys.
fn keys_text(module: &Module, meter: &str, keys: &[Match]) -> String {
    module
        .direct_meter_table(meter)
        .map_or_else(|_| String::new(), |t| show_keys(&t.keys, keys))
}

fn get(module: &Module, name: &str, cell: &Named) -> Result<MeterState, Error> {
    match cell {
        Named::Index(i) => module.meter_get(name, *i),
        Named::Entry(keys, _) => module.direct_meter_get(name, keys),
    }
}

fn cell_json(cell: &Named, s: &MeterState) -> serde_json::Value {
    let (what, at) = cell.json();
    serde_json::json!({
        what: at,
        "setting": s.config.as_ref().map(show_meter),
        "committed_tokens": s.committed,
        "excess_tokens": s.excess,
    })
}

fn cell_text(name: &str, cell: &Named, s: &MeterState) -> String {
    let at = cell.text();
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

fn show_one(module: &Module, name: &str, cell: &Named, json: bool) -> ExitCode {
    match get(module, name, cell) {
        Ok(s) if json => {
            print_json(&serde_json::json!({ "meter": name, "cell": cell_json(cell, &s) }));
            ExitCode::SUCCESS
        }
        Ok(s) => {
            println!("{}", cell_text(name, cell, &s));
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
    let named = match cell {
        MeterCell::Index(i) => Named::Index(i),
        MeterCell::Entry(keys) => match module.direct_meter_keys(name, &keys) {
            Ok(k) => {
                let text = keys_text(module, name, &k);
                Named::Entry(k, text)
            }
            Err(e) => return fail(&e),
        },
    };
    if rest.is_empty() {
        return show_one(module, name, &named, json);
    }
    let done = match (&named, rest) {
        (Named::Index(i), ["clear"]) => module.meter_clear(name, *i),
        (Named::Entry(k, _), ["clear"]) => module.direct_meter_clear(name, k),
        (_, setting) => match meter_setting(setting) {
            Ok(c) => match &named {
                Named::Index(i) => module.meter_set(name, *i, &c),
                Named::Entry(k, _) => module.direct_meter_set(name, k, &c),
            },
            Err(e) => return usage(e),
        },
    };
    match done {
        Ok(()) => show_one(module, name, &named, json),
        Err(e) => fail(&e),
    }
}

/// Every configured cell of meter `m`: by index, or by entry for a direct meter.
fn configured(module: &Module, m: &iov_manifest::Meter) -> Result<Vec<(Named, MeterState)>, Error> {
    Ok(module
        .meter_cells(&m.name)?
        .into_iter()
        .map(|(cell, s)| match cell {
            MeterCellId::Index(i) => (Named::Index(i), s),
            MeterCellId::Entry(keys) => {
                let text = keys_text(module, &m.name, &keys);
                (Named::Entry(keys, text), s)
            }
        })
        .collect())
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
        return show_one(&module, name, &Named::Index(0), args.json);
    }
    let mut json = Vec::new();
    for m in &meters {
        let cells = match configured(&module, m) {
            Ok(c) => c,
            Err(e) => return fail(&e),
        };
        if args.json {
            json.push(serde_json::json!({
                "meter": m.name, "size": m.size, "kind": m.kind, "table": m.table,
                "cells": cells.iter().map(|(c, s)| cell_json(c, s)).collect::<Vec<_>>(),
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
            println!("{}", cell_text(&m.name, &cell, &s));
        }
    }
    if args.json {
        print_json(&serde_json::json!({ "module": args.module, "meters": json }));
    }
    ExitCode::SUCCESS
}
