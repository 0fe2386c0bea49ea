//! `iov list [--json]`: the deployed modules.
//!
//! Takes: nothing but the pin root.
//! Gives: one block per module (name, source, hook, each interface with its namespace, mode
//! and whether its link is still attached, program id, each table's entries and size, its
//! part in a chain), or one JSON document with the same facts.

use crate::modules::{print_json, root};
use iov_runtime::record::{hook_name, Role};
use iov_runtime::Module;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct Args {
    #[arg(long)]
    json: bool,
}

pub fn run(args: &Args) -> ExitCode {
    let summaries = match Module::list(&root()) {
        Ok(s) => s,
        Err(e) => return crate::modules::fail(&e),
    };
    if args.json {
        let modules: Vec<serde_json::Value> = summaries
            .iter()
            .map(|s| match &s.record {
                Ok(r) => serde_json::json!({
                    "name": s.name,
                    "source": r.source,
                    "hook": hook_name(r.hook),
                    "program_id": s.program_id,
                    "loaded_at": r.loaded_at,
                    "chain": match &r.chain {
                        Some(Role::Head) => serde_json::json!({ "role": "chain" }),
                        Some(Role::Stage(c)) => serde_json::json!({ "role": "stage", "chain": c }),
                        Some(Role::Class { parent, .. }) => serde_json::json!({ "role": "class", "parent": parent }),
                        None => serde_json::Value::Null,
                    },
                    "attachments": s.attachments.iter().map(|a| serde_json::json!({
                        "iface": a.record.iface,
                        "ifindex": a.record.ifindex,
                        "netns": a.record.netns,
                        "mode": a.record.mode.map(|m| m.as_str()),
                        "link_id": a.record.link_id,
                        "attached": a.attached,
                    })).collect::<Vec<_>>(),
                    "tables": s.tables.iter().map(|t| serde_json::json!({
                        "table": t.table, "entries": t.entries, "size": t.size,
                    })).collect::<Vec<_>>(),
                }),
                Err(why) => serde_json::json!({ "name": s.name, "error": why }),
            })
            .collect();
        print_json(&serde_json::json!({ "modules": modules }));
        return ExitCode::SUCCESS;
    }
    if summaries.is_empty() {
        println!("no modules loaded (in {})", root().display());
    }
    for s in &summaries {
        let r = match &s.record {
            Ok(r) => r,
            Err(why) => {
                println!(
                    "{}: unusable ({why}); `iov unload {}` removes it",
                    s.name, s.name
                );
                continue;
            }
        };
        println!(
            "{}: {} at {}, program id {} (from {})",
            s.name,
            r.manifest.program,
            hook_name(r.hook),
            s.program_id.map_or("?".into(), |i| i.to_string()),
            r.source
        );
        match &r.chain {
            Some(Role::Head) => println!("  a chain: `iov chain show {}` lists its stages", s.name),
            Some(Role::Stage(c)) => println!("  a stage of chain `{c}`"),
            Some(Role::Class { parent, .. }) => println!(
                "  a class of chain `{parent}`: `iov chain show {}` lists its stages",
                s.name
            ),
            None => {}
        }
        for a in &s.attachments {
            let ns = a
                .record
                .netns
                .as_ref()
                .map_or(String::new(), |p| format!(" in {}", p.display()));
            let mode = a
                .record
                .mode
                .map_or(String::new(), |m| format!(", {}", m.as_str()));
            let state = if a.attached {
                "attached"
            } else {
                "DETACHED: the interface is gone"
            };
            println!(
                "  {}{ns}{mode}: {state} (link {})",
                a.record.iface, a.record.link_id
            );
        }
        for t in &s.tables {
            println!("  table {}: {} of {} entries", t.table, t.entries, t.size);
        }
    }
    ExitCode::SUCCESS
}
