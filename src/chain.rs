//! `iov chain create|show|delete`: modules run in order on one hook of one interface.
//!
//! Takes: a chain name and, to create one, the interface (and namespace, hook, XDP mode).
//! Gives: the runtime's [`Chain`] operations done and said: `create` compiles the chain's
//! head (`chain_head.iov`, a program that passes every packet) for the hook and attaches it;
//! `show` lists the stages in the order packets meet them with the packets each received;
//! `delete` detaches the chain and unloads its stages. Stages join with
//! `iov load FILE --chain CHAIN` and leave with `iov unload NAME`.

use crate::build::compile_text;
use crate::load::{hook_of, mode_of, HookArg, ModeArg};
use crate::modules::{fail, print_json, root, usage};
use crate::Color;
use iov_runtime::record::hook_name;
use iov_runtime::{Chain, ChainSpec, Device};
use std::process::ExitCode;

/// The head's source: compiled into this binary, built for the chain's hook on creation.
const HEAD: &str = include_str!("chain_head.iov");

#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Subcommand)]
enum Command {
    /// Attach an empty chain to an interface (every packet passes until stages join it).
    Create {
        chain: String,
        /// The interface.
        #[arg(long = "dev", value_name = "IFACE")]
        dev: String,
        /// The interface's network namespace: a name under /run/netns or a path.
        #[arg(long, value_name = "NS")]
        netns: Option<String>,
        /// The hook the chain runs at; its stages must be built for it.
        #[arg(long, value_enum, default_value = "xdp")]
        hook: HookArg,
        /// Where an XDP chain runs.
        #[arg(long, value_enum, default_value = "auto")]
        mode: ModeArg,
        #[arg(long)]
        json: bool,
    },
    /// List a chain's stages in order, with the packets each has received.
    Show {
        chain: String,
        #[arg(long)]
        json: bool,
    },
    /// Detach a chain from its interface and unload every stage in it.
    Delete {
        chain: String,
        #[arg(long)]
        json: bool,
    },
}

pub fn run(args: &Args) -> ExitCode {
    match &args.command {
        Command::Create {
            chain,
            dev,
            netns,
            hook,
            mode,
            json,
        } => create(chain, dev, netns.clone(), *hook, *mode, *json),
        Command::Show { chain, json } => show(chain, *json),
        Command::Delete { chain, json } => delete(chain, *json),
    }
}

fn create(
    name: &str,
    dev: &str,
    netns: Option<String>,
    hook: HookArg,
    mode: ModeArg,
    json: bool,
) -> ExitCode {
    let hook = hook_of(hook);
    let head = match compile_text(
        "chain_head.iov".into(),
        HEAD.into(),
        "chain".into(),
        Color::Never,
        &iov_codegen::Options {
            hook: Some(hook),
            chain_stage: true,
            ..Default::default()
        },
    ) {
        Ok((o, _)) => o,
        Err(rendered) => return usage(format!("the chain's head did not compile:\n{rendered}")),
    };
    let root = root();
    let spec = ChainSpec {
        name,
        device: Device {
            iface: dev.into(),
            netns,
        },
        hook: Some(hook),
        mode: mode_of(mode),
        root: &root,
    };
    let deployed = match Chain::create(&head, &spec) {
        Ok(d) => d,
        Err(e) => return fail(&e),
    };
    for n in &deployed.notices {
        eprintln!("note: {n}");
    }
    let record = deployed
        .module
        .record()
        .expect("a deployed module has its record");
    let a = &record.attachments[0];
    if json {
        print_json(&serde_json::json!({
            "chain": name,
            "iface": a.iface,
            "netns": a.netns,
            "hook": hook_name(record.hook),
            "mode": a.mode.map(|m| m.as_str()),
            "program_id": deployed.module.program_id(),
        }));
    } else {
        let mode = a
            .mode
            .map_or(String::new(), |m| format!(" ({})", m.as_str()));
        println!(
            "created chain `{name}` on {} at {}{mode}: empty, every packet passes; add \
             modules with `iov load FILE --chain {name}`",
            a.iface,
            hook_name(record.hook)
        );
    }
    ExitCode::SUCCESS
}

fn show(name: &str, json: bool) -> ExitCode {
    let view = match Chain::show(&root(), name) {
        Ok(v) => v,
        Err(e) => return fail(&e),
    };
    let a = view.record.attachments.first();
    if json {
        print_json(&serde_json::json!({
            "chain": name,
            "hook": hook_name(view.record.hook),
            "iface": a.map(|a| &a.iface),
            "netns": a.and_then(|a| a.netns.as_ref()),
            "program_id": view.program_id,
            "packets": view.packets,
            "stages": view.stages.iter().map(|h| serde_json::json!({
                "name": h.name, "program_id": h.program_id, "packets": h.packets,
            })).collect::<Vec<_>>(),
            "unlinked": view.unlinked,
        }));
        return ExitCode::SUCCESS;
    }
    println!(
        "chain `{name}` on {} at {}: {} packets in",
        a.map_or("?", |a| a.iface.as_str()),
        hook_name(view.record.hook),
        view.packets
    );
    if view.stages.is_empty() {
        println!("  (no stages: every packet passes)");
    }
    for (i, h) in view.stages.iter().enumerate() {
        println!(
            "  {}. {} (program {}): {} packets",
            i + 1,
            h.name,
            h.program_id,
            h.packets
        );
    }
    for u in &view.unlinked {
        println!("  not linked (no packet reaches it): {u}; `iov unload {u}` removes it");
    }
    ExitCode::SUCCESS
}

fn delete(name: &str, json: bool) -> ExitCode {
    let stages = match Chain::delete(&root(), name) {
        Ok(s) => s,
        Err(e) => return fail(&e),
    };
    if json {
        print_json(&serde_json::json!({ "chain": name, "unloaded": stages }));
    } else if stages.is_empty() {
        println!("deleted chain `{name}`");
    } else {
        println!(
            "deleted chain `{name}` and unloaded its stages: {}",
            stages.join(", ")
        );
    }
    ExitCode::SUCCESS
}
