//! `iov table MODULE LINE`: read and change a module's tables, in the syntax of docs/stf.md.
//!
//! Takes: a module name and one control-plane line (`add`, `modify`, `setdefault`, `del`,
//! `get`, `list`, `clear`; the words after the module are joined, so quoting is optional),
//! or `apply FILE`: a batch of change lines, all or nothing.
//! Gives: the change made through the runtime (`Module::apply`, `Module::apply_batch`), or
//! entries printed back as lines that `iov table MODULE apply` takes again (direct counters
//! as comments; const entries commented out, since they cannot be added), or `--json`.

use crate::modules::{fail, open, print_json, usage};
use iov::control_line::{self, Line};
use iov::values::{show_call, show_key};
use iov_runtime::iov_manifest::Table;
use iov_runtime::{ActionCall, Entry, Module, Request};
use std::path::Path;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct Args {
    /// The module (see `iov list`).
    module: String,
    /// `add TABLE [PRIORITY] key:value ... action(param:value, ...)`, `modify ...`,
    /// `setdefault TABLE action(...)`, `del TABLE key:value ...`, `get TABLE key:value ...`,
    /// `list [TABLE]`, `clear TABLE`, or `apply FILE`.
    #[arg(required = true, trailing_var_arg = true, allow_hyphen_values = true)]
    line: Vec<String>,
    #[arg(long)]
    json: bool,
}

pub fn run(args: &Args) -> ExitCode {
    let module = match open(&args.module) {
        Ok(m) => m,
        Err(code) => return code,
    };
    let text = args.line.join(" ");
    let words: Vec<&str> = text.split_whitespace().collect();
    if words.first() == Some(&"apply") {
        return match words.get(1..) {
            Some([file]) => apply_file(&module, Path::new(file)),
            _ => usage("`apply` takes one file: `iov table MODULE apply FILE`"),
        };
    }
    let line = match control_line::parse(&words) {
        Ok(l) => l,
        Err(e) => return usage(format!("{e}; the syntax is in docs/stf.md")),
    };
    match line {
        Line::Change(r) => change(&module, &r, args.json),
        Line::Get { table, keys } => {
            let found = module
                .keys_by_name(&table, &keys)
                .and_then(|keys| module.get_entry(&table, &keys));
            match found {
                Ok(entry) => {
                    let t = module.table(&table).expect("found above");
                    show_entries(&module, t, &[entry], false, args.json);
                    ExitCode::SUCCESS
                }
                Err(e) => fail(&e),
            }
        }
        Line::List { table } => {
            let tables: Vec<&Table> = match &table {
                Some(name) => match module.table(name) {
                    Ok(t) => vec![t],
                    Err(e) => return fail(&e),
                },
                None => module.manifest().tables.iter().collect(),
            };
            for t in tables {
                let entries = match module.entries(&t.name) {
                    Ok(e) => e,
                    Err(e) => return fail(&e),
                };
                show_entries(&module, t, &entries, true, args.json);
            }
            ExitCode::SUCCESS
        }
    }
}

fn change(module: &Module, r: &Request, json: bool) -> ExitCode {
    let result = match r {
        Request::Clear { table } => module.clear(table).map(Some),
        other => module.apply(other).map(|()| None),
    };
    match result {
        Ok(cleared) => {
            let table = module
                .table(r.table())
                .map_or(r.table().to_string(), |t| t.name.clone());
            let what = match (r, cleared) {
                (Request::Add { .. }, _) => "added an entry to".to_string(),
                (Request::Modify { .. }, _) => "changed an entry of".to_string(),
                (Request::SetDefault { .. }, _) => "set the default action of".to_string(),
                (Request::Delete { .. }, _) => "deleted an entry of".to_string(),
                (Request::Clear { .. }, n) => format!("deleted {} entries of", n.unwrap_or(0)),
            };
            if json {
                print_json(&serde_json::json!({ "ok": true, "table": table, "cleared": cleared }));
            } else {
                println!("{what} {table}");
            }
            ExitCode::SUCCESS
        }
        Err(e) => fail(&e),
    }
}

/// Reads `file` as change lines and applies them all or none.
fn apply_file(module: &Module, file: &Path) -> ExitCode {
    let text = match std::fs::read_to_string(file) {
        Ok(t) => t,
        Err(e) => return usage(format!("cannot read {}: {e}", file.display())),
    };
    let mut requests = Vec::new();
    let mut lines = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let content = raw.split('#').next().unwrap_or("").trim();
        if content.is_empty() {
            continue;
        }
        let words: Vec<&str> = content.split_whitespace().collect();
        match control_line::parse(&words) {
            Ok(Line::Change(r)) => {
                requests.push(r);
                lines.push(i + 1);
            }
            Ok(_) => {
                return usage(format!(
                    "{}:{}: only changes (add, modify, setdefault, del, clear) can be applied; nothing was changed",
                    file.display(),
                    i + 1
                ))
            }
            Err(e) => {
                return usage(format!("{}:{}: {e}; nothing was changed", file.display(), i + 1))
            }
        }
    }
    match module.apply_batch(&requests) {
        Ok(()) => {
            println!("applied {} changes from {}", requests.len(), file.display());
            ExitCode::SUCCESS
        }
        Err((i, e)) => {
            eprintln!(
                "{:?}",
                miette::miette!("{}:{}: {e}; nothing was changed", file.display(), lines[i])
            );
            ExitCode::from(if e.is_refusal() { 1 } else { 2 })
        }
    }
}

fn params(t: &Table, action: &str) -> Vec<(String, u32)> {
    t.actions
        .iter()
        .find(|a| a.name == action)
        .map(|a| a.params.iter().map(|p| (p.name.clone(), p.bits)).collect())
        .unwrap_or_default()
}

fn call_text(t: &Table, call: &ActionCall) -> String {
    show_call(&params(t, &call.action), call)
}

/// Prints entries as `add` lines (and, for a whole listing, the `setdefault` line).
fn show_entries(module: &Module, t: &Table, entries: &[Entry], with_default: bool, json: bool) {
    let counters = |e: &Entry| {
        t.direct_counter
            .as_ref()
            .and_then(|_| module.direct_counter(&t.name, &e.keys).ok())
    };
    let default = if with_default {
        module.default_action(&t.name).ok()
    } else {
        None
    };
    if json {
        let rows: Vec<serde_json::Value> = entries
            .iter()
            .map(|e| {
                let keys: serde_json::Map<String, serde_json::Value> = t
                    .keys
                    .iter()
                    .zip(&e.keys)
                    .map(|(k, m)| (k.name.clone(), show_key(k, m).into()))
                    .collect();
                let args: serde_json::Map<String, serde_json::Value> = params(t, &e.action.action)
                    .iter()
                    .zip(&e.action.args)
                    .map(|((n, _), v)| (n.clone(), v.to_string().into()))
                    .collect();
                let (packets, bytes) =
                    counters(e).map_or((None, None), |(p, b)| (Some(p), Some(b)));
                serde_json::json!({
                    "keys": keys, "action": e.action.action, "args": args,
                    "priority": e.priority, "packets": packets, "bytes": bytes,
                    "line": entry_line(t, e),
                })
            })
            .collect();
        print_json(&serde_json::json!({
            "table": t.name, "size": t.size, "entries": rows,
            "default": default.map(|d| call_text(t, &d)),
        }));
        return;
    }
    let lead = if t.entries_const { "# const: " } else { "" };
    for e in entries {
        let count =
            counters(e).map_or(String::new(), |(p, b)| format!("  # packets {p} bytes {b}"));
        println!("{lead}{}{count}", entry_line(t, e));
    }
    if let Some(d) = default {
        let lead = if t.default_const { "# const: " } else { "" };
        println!("{lead}setdefault {} {}", t.name, call_text(t, &d));
    }
}

fn entry_line(t: &Table, e: &Entry) -> String {
    let keys: Vec<String> = t
        .keys
        .iter()
        .zip(&e.keys)
        .map(|(k, m)| format!("{}:{}", k.name, show_key(k, m)))
        .collect();
    let priority = e.priority.map_or(String::new(), |p| format!(" {p}"));
    format!(
        "add {}{priority} {} {}",
        t.name,
        keys.join(" "),
        call_text(t, &e.action)
    )
}
