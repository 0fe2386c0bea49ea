//! `iov group MODULE GROUP add|del PORT... [--json]`, `iov group MODULE [GROUP] list [--json]`:
//! a loaded module's multicast groups.
//!
//! Takes: a module name and a group line (read by `control_line::group`, as `.stf` files'
//! `group` lines are); `iov group MODULE` alone lists every group.
//! Gives: the group changed through the runtime, all or nothing, then its ports; or the
//! ports of one group or of all. A refused change (a port already there, not there, no
//! interface, the group full) changes nothing, says why and exits 1.

use crate::modules::{fail, open, print_json, usage};
use iov::control_line::{self, GroupOp};
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct Args {
    module: String,
    /// `GROUP add PORT...`, `GROUP del PORT...`, `GROUP list` (or nothing: every group).
    line: Vec<String>,
    #[arg(long)]
    json: bool,
}

pub fn run(args: &Args) -> ExitCode {
    let module = match open(&args.module) {
        Ok(m) => m,
        Err(code) => return code,
    };
    let words: Vec<&str> = args.line.iter().map(String::as_str).collect();
    let (names, op) = match words.as_slice() {
        [] => (
            module
                .manifest()
                .groups
                .iter()
                .map(|g| g.name.clone())
                .collect(),
            GroupOp::List,
        ),
        [name] => (vec![name.to_string()], GroupOp::List),
        _ => match control_line::group(&words) {
            Ok((name, op)) => (vec![name], op),
            Err(e) => return usage(e),
        },
    };
    let done = match (&op, names.first()) {
        (GroupOp::Add(ports), Some(g)) => module.group_add(g, ports),
        (GroupOp::Del(ports), Some(g)) => module.group_del(g, ports),
        _ => Ok(()),
    };
    if let Err(e) = done {
        return fail(&e);
    }
    let mut json = Vec::new();
    for name in &names {
        let (group, ports) = match module.group(name).and_then(|g| {
            let full = g.name.clone();
            module.group_ports(&full).map(|p| (g.clone(), p))
        }) {
            Ok(x) => x,
            Err(e) => return fail(&e),
        };
        if args.json {
            json.push(serde_json::json!({
                "group": group.name, "size": group.size, "ports": ports,
            }));
            continue;
        }
        let list: Vec<String> = ports.iter().map(u32::to_string).collect();
        println!(
            "{} ({} of {}): {}",
            group.name,
            ports.len(),
            group.size,
            if list.is_empty() {
                "no ports".into()
            } else {
                list.join(" ")
            }
        );
    }
    if args.json {
        print_json(&serde_json::json!({ "module": args.module, "groups": json }));
    } else if names.is_empty() {
        println!("{} has no multicast groups", args.module);
    }
    ExitCode::SUCCESS
}
