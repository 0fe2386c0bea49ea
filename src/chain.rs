//! `iov chain create|show|delete`: modules run in order on one hook of one interface.
//!
//! Takes: a chain name and, to create one, the interface (and namespace, hook, XDP mode).
//! Gives: the runtime's [`Chain`] operations done and said: `create` compiles the chain's
//! head (`chain_head.iov`, a program that passes every packet) for the hook and attaches it;
//! `show` lists the stages in the order packets meet them with the packets each received;
//! `delete` detaches the chain and unloads its stages. Stages join with
//! `iov load FILE --chain CHAIN` and leave with `iov unload NAME`. `create NAME --parent
//! CHAIN --vlan ID --dst PREFIX` makes a traffic class: a chain of its own that CHAIN's head
//! hands the packets of the class to (`show` lists a chain's classes, `delete` removes one).

use crate::build::compile_text;
use crate::load::{hook_of, mode_of, HookArg, ModeArg};
use crate::modules::{fail, print_json, root, usage};
use crate::Color;
use iov_runtime::record::{hook_name, Role};
use iov_runtime::{Chain, ChainSpec, ClassMatch, ClassSpec, Device};
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
    /// Attach an empty chain to an interface (every packet passes until stages join it), or
    /// with --parent, make a traffic class of a chain: a chain of its own for the packets
    /// the class selects.
    Create {
        chain: String,
        /// The interface.
        #[arg(long = "dev", value_name = "IFACE", required_unless_present = "parent")]
        dev: Option<String>,
        /// Make a class of this chain instead: its head hands the packets that --vlan and
        /// --dst select to the new chain, every other packet to its own stages.
        #[arg(long, value_name = "CHAIN", conflicts_with_all = ["dev", "netns", "hook", "mode"])]
        parent: Option<String>,
        /// With --parent: the class's packets have this VLAN id (outer 802.1Q tag).
        #[arg(long, value_name = "ID", requires = "parent")]
        vlan: Option<u16>,
        /// With --parent: the class's packets go to this IPv4 or IPv6 prefix.
        #[arg(long, value_name = "PREFIX", requires = "parent")]
        dst: Option<String>,
        /// With --parent: where classes overlap, the higher priority wins (default: the
        /// more specific; a VLAN counts more than any prefix, a longer prefix more than a
        /// shorter).
        #[arg(long, value_name = "N", requires = "parent")]
        priority: Option<u32>,
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
            parent,
            vlan,
            dst,
            priority,
            netns,
            hook,
            mode,
            json,
        } => match (parent, dev) {
            (Some(parent), _) => {
                create_class(chain, parent, *vlan, dst.as_deref(), *priority, *json)
            }
            (None, Some(dev)) => create(chain, dev, netns.clone(), *hook, *mode, *json),
            (None, None) => usage("give the interface (`--dev IFACE`) or `--parent CHAIN`"),
        },
        Command::Show { chain, json } => show(chain, *json),
        Command::Delete { chain, json } => delete(chain, *json),
    }
}

/// The head object for `hook`, or the exit for its failure.
fn head(hook: iov_manifest::Hook) -> Result<Vec<u8>, ExitCode> {
    match compile_text(
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
        Ok((o, _)) => Ok(o),
        Err(rendered) => Err(usage(format!(
            "the chain's head did not compile:\n{rendered}"
        ))),
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
    let head = match head(hook) {
        Ok(o) => o,
        Err(code) => return code,
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
        Err(e) => return refused(&e),
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

fn create_class(
    name: &str,
    parent: &str,
    vlan: Option<u16>,
    dst: Option<&str>,
    priority: Option<u32>,
    json: bool,
) -> ExitCode {
    let dst = match dst.map(parse_prefix).transpose() {
        Ok(d) => d,
        Err(e) => return usage(e),
    };
    let root = root();
    let hook = match Chain::hook(&root, parent) {
        Ok(h) => h,
        Err(e) => return fail(&e),
    };
    let head = match head(hook) {
        Ok(o) => o,
        Err(code) => return code,
    };
    let spec = ClassSpec {
        name,
        parent,
        matches: ClassMatch { vlan, dst },
        priority,
        root: &root,
    };
    let deployed = match Chain::create_class(&head, &spec) {
        Ok(d) => d,
        Err(e) => return refused(&e),
    };
    for n in &deployed.notices {
        eprintln!("note: {n}");
    }
    let priority = priority.unwrap_or_else(|| spec.matches.default_priority());
    if json {
        print_json(&serde_json::json!({
            "chain": name,
            "parent": parent,
            "match": match_json(&spec.matches),
            "priority": priority,
            "program_id": deployed.module.program_id(),
        }));
    } else {
        println!(
            "created class `{name}` of chain `{parent}` ({}, priority {priority}): empty, its \
             packets pass; add modules with `iov load FILE --chain {name}`",
            spec.matches
        );
    }
    ExitCode::SUCCESS
}

/// A refusal of `iov chain create`, said for a chain: its name is the command's first word,
/// not a `--name`.
fn refused(e: &iov_runtime::Error) -> ExitCode {
    match e {
        iov_runtime::Error::NameInUse { name, .. } => {
            eprintln!(
                "{:?}",
                miette::miette!(
                    "a module named `{name}` is loaded already (`iov list` shows it); give the \
                     chain another name"
                )
            );
            ExitCode::from(1)
        }
        other => fail(other),
    }
}

/// `10.0.0.0/8`, `2001:db8::/32`; an address alone is the whole-length prefix.
fn parse_prefix(text: &str) -> Result<(std::net::IpAddr, u8), String> {
    let bad = || format!("`--dst {text}` is not an IPv4 or IPv6 prefix (for example 10.1.0.0/16)");
    let (addr, len) = match text.split_once('/') {
        Some((a, l)) => (a, Some(l)),
        None => (text, None),
    };
    let addr: std::net::IpAddr = addr.parse().map_err(|_| bad())?;
    let len = match len {
        Some(l) => l.parse::<u8>().map_err(|_| bad())?,
        None if addr.is_ipv4() => 32,
        None => 128,
    };
    Ok((addr, len))
}

fn match_json(m: &ClassMatch) -> serde_json::Value {
    serde_json::json!({
        "vlan": m.vlan,
        "dst": m.dst.map(|(a, l)| format!("{a}/{l}")),
    })
}

fn hops_json(stages: &[iov_runtime::Hop]) -> serde_json::Value {
    serde_json::Value::Array(
        stages
            .iter()
            .map(|h| {
                serde_json::json!({
                    "name": h.name, "program_id": h.program_id, "packets": h.packets,
                })
            })
            .collect(),
    )
}

fn show(name: &str, json: bool) -> ExitCode {
    let view = match Chain::show(&root(), name) {
        Ok(v) => v,
        Err(e) => return fail(&e),
    };
    let a = view.record.attachments.first();
    let parent = match &view.record.chain {
        Some(Role::Class { parent, .. }) => Some(parent.as_str()),
        _ => None,
    };
    if json {
        print_json(&serde_json::json!({
            "chain": name,
            "hook": hook_name(view.record.hook),
            "iface": a.map(|a| &a.iface),
            "netns": a.and_then(|a| a.netns.as_ref()),
            "parent": parent,
            "program_id": view.program_id,
            "packets": view.packets,
            "stages": hops_json(&view.stages),
            "unlinked": view.unlinked,
            "classes": view.classes.iter().map(|c| serde_json::json!({
                "name": c.name,
                "match": match_json(&c.matches),
                "priority": c.priority,
                "program_id": c.program_id,
                "packets": c.packets,
                "stages": hops_json(&c.stages),
            })).collect::<Vec<_>>(),
        }));
        return ExitCode::SUCCESS;
    }
    match parent {
        Some(p) => println!(
            "class `{name}` of chain `{p}` at {}: {} packets in",
            hook_name(view.record.hook),
            view.packets
        ),
        None => println!(
            "chain `{name}` on {} at {}: {} packets in",
            a.map_or("?", |a| a.iface.as_str()),
            hook_name(view.record.hook),
            view.packets
        ),
    }
    print_stages(&view.stages, "  ");
    for c in &view.classes {
        println!(
            "  class `{}` ({}, priority {}): {} packets",
            c.name, c.matches, c.priority, c.packets
        );
        print_stages(&c.stages, "    ");
    }
    for u in &view.unlinked {
        println!("  not linked (no packet reaches it): {u}; `iov unload {u}` removes it");
    }
    ExitCode::SUCCESS
}

fn print_stages(stages: &[iov_runtime::Hop], indent: &str) {
    if stages.is_empty() {
        println!("{indent}(no stages: every packet passes)");
    }
    for (i, h) in stages.iter().enumerate() {
        println!(
            "{indent}{}. {} (program {}): {} packets",
            i + 1,
            h.name,
            h.program_id,
            h.packets
        );
    }
}

fn delete(name: &str, json: bool) -> ExitCode {
    let deleted = match Chain::delete(&root(), name) {
        Ok(s) => s,
        Err(e) => return fail(&e),
    };
    if json {
        print_json(&serde_json::json!({
            "chain": name,
            "unloaded": deleted.stages,
            "classes": deleted.classes.iter().map(|(c, stages)| serde_json::json!({
                "name": c, "unloaded": stages,
            })).collect::<Vec<_>>(),
        }));
        return ExitCode::SUCCESS;
    }
    if deleted.stages.is_empty() {
        println!("deleted chain `{name}`");
    } else {
        println!(
            "deleted chain `{name}` and unloaded its stages: {}",
            deleted.stages.join(", ")
        );
    }
    for (c, stages) in &deleted.classes {
        if stages.is_empty() {
            println!("deleted its class `{c}`");
        } else {
            println!(
                "deleted its class `{c}` and unloaded its stages: {}",
                stages.join(", ")
            );
        }
    }
    ExitCode::SUCCESS
}
