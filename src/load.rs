//! `iov load FILE --dev IFACE [--netns NS] [--hook H] [--mode M] [--name NAME]`, and
//! `iov load FILE --chain CHAIN [--before M | --after M] [--name NAME]`.
//!
//! Takes: a `.iov` source (compiled here, for the hook asked for, or the chain's) or an
//! object built by `iov build`, and where to attach it or which chain to join.
//! Gives: the module deployed by the runtime ([`iov_runtime::Module::deploy`]): defaults and
//! const entries installed, pinned under `ROOT/NAME`, attached through BPF links; or, with
//! `--chain`, deployed as a stage and linked into the chain ([`iov_runtime::Chain::join`]).
//! It stays after this command exits. Prints what it did (or `--json`), and the runtime's
//! notices.

use crate::build::object_of;
use crate::modules::{fail, print_json, root};
use crate::Color;
use iov_runtime::iov_manifest::Hook;
use iov_runtime::record::hook_name;
use iov_runtime::{Chain, Deploy, Device, Join, ModeChoice, Module, Position};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum HookArg {
    Xdp,
    TcIngress,
    TcEgress,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ModeArg {
    /// Native (in the driver) where possible, else generic, with a notice.
    Auto,
    Native,
    Generic,
}

#[derive(clap::Args)]
pub struct Args {
    /// The program: `.iov` source or an object built by `iov build`.
    file: PathBuf,
    /// The interface to attach to (repeat for several: the same program and maps on each).
    #[arg(long = "dev", required_unless_present = "chain", value_name = "IFACE")]
    devs: Vec<String>,
    /// The network namespace of the interfaces: a name under /run/netns or a path.
    #[arg(long, value_name = "NS", conflicts_with = "chain")]
    netns: Option<String>,
    /// The hook (default: the program's own entry).
    #[arg(long, value_enum, conflicts_with = "chain")]
    hook: Option<HookArg>,
    /// Join this chain (see `iov chain create`) instead of attaching to an interface; a
    /// source is compiled for the chain's hook.
    #[arg(long, value_name = "CHAIN", conflicts_with = "devs")]
    chain: Option<String>,
    /// With --chain: go just before this stage (default: after the last).
    #[arg(long, value_name = "M", requires = "chain", conflicts_with = "after")]
    before: Option<String>,
    /// With --chain: go just after this stage.
    #[arg(long, value_name = "M", requires = "chain")]
    after: Option<String>,
    /// Where an XDP program runs.
    #[arg(long, value_enum, default_value = "auto")]
    mode: ModeArg,
    /// The module's name (default: the file name without extension).
    #[arg(long)]
    name: Option<String>,
    #[arg(long)]
    json: bool,
    #[arg(long, value_enum, default_value = "auto")]
    color: Color,
}

/// The hook a `--hook` value names.
pub fn hook_of(h: HookArg) -> Hook {
    match h {
        HookArg::Xdp => Hook::Xdp,
        HookArg::TcIngress => Hook::TcIngress,
        HookArg::TcEgress => Hook::TcEgress,
    }
}

/// The XDP mode a `--mode` value names.
pub fn mode_of(m: ModeArg) -> ModeChoice {
    match m {
        ModeArg::Auto => ModeChoice::Auto,
        ModeArg::Native => ModeChoice::Native,
        ModeArg::Generic => ModeChoice::Generic,
    }
}

pub fn run(args: &Args) -> ExitCode {
    let hook = args.hook.map(hook_of);
    let name = match &args.name {
        Some(n) => n.clone(),
        None => args.file.file_stem().map_or_else(String::new, |s| {
            s.to_string_lossy()
                .chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() || c == '_' {
                        c
                    } else {
                        '-'
                    }
                })
                .collect()
        }),
    };
    if let Some(chain) = &args.chain {
        return join(args, &name, chain);
    }
    let opts = iov_codegen::Options {
        hook,
        ..Default::default()
    };
    let object = match object_of(&args.file, args.color, &opts) {
        Ok(o) => o,
        Err(code) => return code,
    };
    let devices: Vec<Device> = args
        .devs
        .iter()
        .map(|d| Device {
            iface: d.clone(),
            netns: args.netns.clone(),
        })
        .collect();
    let root = root();
    let source = args.file.display().to_string();
    let deploy = Deploy {
        name: &name,
        source: &source,
        devices: &devices,
        hook,
        mode: mode_of(args.mode),
        root: &root,
    };
    let deployed = match Module::deploy(&object, &deploy) {
        Ok(d) => d,
        Err(e) => return fail(&e),
    };
    for n in &deployed.notices {
        eprintln!("note: {n}");
    }
    let module = &deployed.module;
    let record = module.record().expect("a deployed module has its record");
    let dir = root.join(&name);
    if args.json {
        print_json(&serde_json::json!({
            "name": name,
            "dir": dir,
            "program_id": module.program_id(),
            "hook": hook_name(record.hook),
            "attachments": record.attachments.iter().map(|a| serde_json::json!({
                "iface": a.iface, "netns": a.netns, "mode": a.mode.map(|m| m.as_str()),
                "link_id": a.link_id,
            })).collect::<Vec<_>>(),
            "verified_instructions": module.verified_instructions(),
        }));
    } else {
        for a in &record.attachments {
            let ns = a
                .netns
                .as_ref()
                .map_or(String::new(), |p| format!(" in {}", p.display()));
            let mode = a
                .mode
                .map_or(String::new(), |m| format!(" ({})", m.as_str()));
            println!(
                "loaded `{name}` on {}{ns} at {}{mode}: program id {}, pinned in {}",
                a.iface,
                hook_name(record.hook),
                module.program_id().map_or("?".into(), |i| i.to_string()),
                dir.display()
            );
        }
    }
    ExitCode::SUCCESS
}

/// `iov load FILE --chain CHAIN`: the module joins the chain as a stage.
fn join(args: &Args, name: &str, chain: &str) -> ExitCode {
    let root = root();
    // A source is compiled as a stage, for the chain's hook (an unknown chain is reported
    // by the join).
    let hook = Module::open(&root, chain)
        .ok()
        .and_then(|m| m.record().map(|r| r.hook));
    let opts = iov_codegen::Options {
        hook,
        chain_stage: true,
        ..Default::default()
    };
    let object = match object_of(&args.file, args.color, &opts) {
        Ok(o) => o,
        Err(code) => return code,
    };
    let position = match (&args.before, &args.after) {
        (Some(m), _) => Position::Before(m),
        (_, Some(m)) => Position::After(m),
        _ => Position::Last,
    };
    let source = args.file.display().to_string();
    let request = Join {
        name,
        source: &source,
        chain,
        position,
        root: &root,
    };
    let deployed = match Chain::join(&object, &request) {
        Ok(d) => d,
        Err(e) => return fail(&e),
    };
    let stages = Chain::show(&root, chain)
        .map(|v| v.stages.into_iter().map(|h| h.name).collect::<Vec<_>>())
        .unwrap_or_default();
    if args.json {
        print_json(&serde_json::json!({
            "name": name,
            "chain": chain,
            "program_id": deployed.module.program_id(),
            "stages": stages,
            "verified_instructions": deployed.module.verified_instructions(),
        }));
    } else {
        println!(
            "loaded `{name}` into chain `{chain}`: program id {}; stages now {}",
            deployed
                .module
                .program_id()
                .map_or("?".into(), |i| i.to_string()),
            stages.join(" -> ")
        );
    }
    ExitCode::SUCCESS
}
