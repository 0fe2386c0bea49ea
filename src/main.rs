//! The `iov` command line: one file per command; this file holds the clap definitions
//! and `check`, `explain` and `lsp`.
//!
//! Takes: arguments and files named on the command line.
//! Gives: rendered diagnostics (human or JSON), data (human or `--json`) and exit codes: 0
//! success, 1 errors in the program, a failed test or a refused request, 2 usage, input or
//! environment errors. Only this binary touches the file system for the front end; every
//! module command is a thin layer over the runtime's API.

mod build;
mod chain;
mod counters;
mod events;
mod fmt;
mod group;
mod list;
mod load;
mod man;
mod meters;
mod metrics;
mod modules;
mod pcap;
mod registers;
mod reload;
mod stats;
mod table;
mod test_cmd;
mod unload;

use iov::loader;

use clap::{Parser, Subcommand, ValueEnum};
use iov_diagnostics::{render, render_json_line, Code, ColorChoice};
use std::io::{IsTerminal, Write};
use std::process::ExitCode;

mod pages {
    include!(concat!(env!("OUT_DIR"), "/error_pages.rs"));
}

#[derive(Parser)]
#[command(
    name = "iov",
    after_help = "Modules live under /sys/fs/bpf/iov (IOV_PIN_ROOT changes it); see docs/cli.md.",
    version,
    about = "Compiler and toolchain for the iov dataplane language (eBPF)"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum)]
enum MessageFormat {
    Human,
    Json,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum Color {
    Auto,
    Always,
    Never,
}

#[derive(Subcommand)]
enum Command {
    /// Parse and type-check programs; print every diagnostic.
    Check {
        /// The .iov files to check.
        #[arg(required = true)]
        files: Vec<std::path::PathBuf>,
        /// `human` for people, `json` for tools (one JSON object per line).
        #[arg(long, value_enum, default_value = "human")]
        message_format: MessageFormat,
        #[arg(long, value_enum, default_value = "auto")]
        color: Color,
        /// Extra directories to search for imported modules.
        #[arg(short = 'I', long = "include")]
        include: Vec<std::path::PathBuf>,
    },
    /// Compile a program to a BPF object (and, with --emit, IR, assembly or the manifest).
    Build {
        file: std::path::PathBuf,
        /// Output object path (default: FILE with `.o`); other outputs use its stem.
        #[arg(short, long)]
        output: Option<std::path::PathBuf>,
        /// What to write: obj, llvm-ir, asm, manifest (comma-separated).
        #[arg(long, value_enum, value_delimiter = ',')]
        emit: Vec<build::Emit>,
        #[arg(long, value_enum, default_value = "auto")]
        color: Color,
        #[arg(short = 'I', long = "include")]
        include: Vec<std::path::PathBuf>,
        /// Load the program into the kernel so its verifier checks it (needs root or CAP_BPF).
        #[arg(long)]
        verify: bool,
        /// With --verify: print the verifier's whole log.
        #[arg(long)]
        verbose: bool,
        /// Build a stage of a chain: the object counts the packets it receives and hands
        /// the ones it passes to the next stage, so `iov load OBJECT --chain` can take it.
        #[arg(long)]
        chain_stage: bool,
        /// Print how long each phase took (reading, checking, lowering, LLVM, writing) on
        /// stderr.
        #[arg(long)]
        timings: bool,
    },
    /// Run packet tests (.stf) through a program in the kernel (needs root or CAP_BPF).
    Test {
        program: std::path::PathBuf,
        tests: std::path::PathBuf,
        #[arg(long, value_enum, default_value = "auto")]
        color: Color,
        /// Write each port's frames in and out as pcap files into this directory.
        #[arg(long, value_name = "DIR")]
        pcap: Option<std::path::PathBuf>,
    },
    /// Rewrite files in the canonical layout (comments kept); `--check` only reports.
    Fmt {
        #[arg(required = true)]
        files: Vec<std::path::PathBuf>,
        /// Change nothing; exit 1 and name the files that are not formatted.
        #[arg(long)]
        check: bool,
    },
    /// Load a module into the kernel, attach it to interfaces and pin it (stays after exit).
    Load(load::Args),
    /// Detach a module from every interface and remove its pins.
    Unload(unload::Args),
    /// Replace a loaded module's program under traffic, keeping its tables and counters.
    Reload(reload::Args),
    /// Show the loaded modules: interfaces, hook, mode, program id, table occupancy.
    List(list::Args),
    /// Chains of modules on one interface: `create`, `show`, `delete`.
    Chain(chain::Args),
    /// Read and change a module's tables: `iov table r1 add routes dst:10.0.0.0/8 fwd(port:3)`.
    Table(table::Args),
    /// Show a module's counters, summed over CPUs.
    Counters(counters::Args),
    /// Read a module's registers, or write one.
    Registers(registers::Args),
    /// A module's multicast groups: `iov group sw flood add 2 3 4`, `del`, `list`.
    Group(group::Args),
    /// Read a module's meters, or set one cell: `iov meter r1 limits 3 srtcm cir:1M cbs:15k ebs:30k`.
    Meter(meters::Args),
    /// Print the records a module's digests send: `iov events r1 --json`.
    Events(events::Args),
    /// Watch a module's traffic live: rates per counter, table occupancy.
    Stats(stats::Args),
    /// Serve modules' counters, registers and tables as Prometheus metrics.
    Metrics(metrics::Args),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    Completions(man::CompletionArgs),
    /// Write man pages (one per command) into a directory.
    Man(man::ManArgs),
    /// Run the language server on stdin/stdout (editors start this).
    Lsp,
    /// Explain a diagnostic code, e.g. `iov explain E0201`.
    Explain { code: String },
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    match cli.command {
        Command::Check {
            files,
            message_format,
            color,
            include,
        } => check(&files, message_format, color, include),
        Command::Build {
            file,
            output,
            emit,
            color,
            include,
            verify,
            verbose,
            chain_stage,
            timings,
        } => build::build(
            &file,
            output,
            &emit,
            color,
            include,
            build::Checks {
                verify,
                verbose,
                chain_stage,
                timings,
            },
        ),
        Command::Test {
            program,
            tests,
            color,
            pcap,
        } => test_cmd::test(&program, &tests, color, pcap.as_deref()),
        Command::Fmt { files, check } => fmt::fmt(&files, check),
        Command::Load(args) => load::run(&args),
        Command::Unload(args) => unload::run(&args),
        Command::Reload(args) => reload::run(&args),
        Command::List(args) => list::run(&args),
        Command::Chain(args) => chain::run(&args),
        Command::Table(args) => table::run(&args),
        Command::Counters(args) => counters::run(&args),
        Command::Registers(args) => registers::run(&args),
        Command::Group(args) => group::run(&args),
        Command::Meter(args) => meters::run(&args),
        Command::Events(args) => events::run(&args),
        Command::Stats(args) => stats::run(&args),
        Command::Metrics(args) => metrics::run(&args),
        Command::Completions(args) => man::completions::<Cli>(&args),
        Command::Man(args) => man::man::<Cli>(&args),
        Command::Lsp => lsp(),
        Command::Explain { code } => explain(&code),
    }
}

/// Stack for the checker thread (virtual memory; only what is used is committed).
pub const CHECK_STACK: usize = 1 << 30;

impl Color {
    fn choice(self) -> ColorChoice {
        match self {
            Color::Always => ColorChoice::Always,
            Color::Never => ColorChoice::Never,
            Color::Auto
                if std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none() =>
            {
                ColorChoice::Always
            }
            Color::Auto => ColorChoice::Never,
        }
    }
}

/// Reads a source file, explaining what is wrong when it cannot (exit status 2).
fn read_source(path: &std::path::Path) -> Result<String, ExitCode> {
    let report = match std::fs::read(path) {
        Ok(bytes) => match String::from_utf8(bytes) {
            Ok(t) => return Ok(t),
            Err(_) => miette::miette!(
                help = "iov source files are UTF-8 text",
                "{} is not valid UTF-8",
                path.display()
            ),
        },
        Err(e) => miette::miette!(
            help = "check the path; iov takes .iov files",
            "cannot read {}: {e}",
            path.display()
        ),
    };
    eprintln!("{report:?}");
    Err(ExitCode::from(2))
}

/// Diagnostics for a person, followed by the count line.
fn render_all(
    diags: &[iov_diagnostics::Diagnostic],
    files: &iov_diagnostics::SourceMap,
    color: Color,
) -> String {
    let mut out = render(diags, files, color.choice());
    let errors = diags.iter().filter(|d| d.is_error()).count();
    let warnings = diags.len() - errors;
    if !diags.is_empty() {
        out.push_str(&format!(
            "{errors} error{}, {warnings} warning{}\n",
            if errors == 1 { "" } else { "s" },
            if warnings == 1 { "" } else { "s" }
        ));
    }
    out
}

fn usage_error(report: miette::Report) -> ExitCode {
    eprintln!("{report:?}");
    ExitCode::from(2)
}

fn check(
    files: &[std::path::PathBuf],
    format: MessageFormat,
    color: Color,
    include: Vec<std::path::PathBuf>,
) -> ExitCode {
    let color = color.choice();
    let mut any_errors = false;
    let mut input_error = false;
    let mut counts = (0usize, 0usize);
    for path in files {
        let text = match read_source(path) {
            Ok(t) => t,
            Err(_) => {
                input_error = true;
                continue;
            }
        };
        let name = path.display().to_string();
        let include = include.clone();
        // The whole check, rendering included, runs on a deep stack: the checker and the
        // tree's destructor recurse over expressions, and no input may crash them.
        let report = std::thread::Builder::new()
            .stack_size(CHECK_STACK)
            .spawn(move || {
                let checked = iov_sema::check(&name, &text, &mut loader::FsLoader::new(include));
                let errors = checked.diagnostics.iter().filter(|d| d.is_error()).count();
                let warnings = checked.diagnostics.len() - errors;
                let out = match format {
                    MessageFormat::Human => render(&checked.diagnostics, &checked.files, color),
                    MessageFormat::Json => checked
                        .diagnostics
                        .iter()
                        .map(|d| render_json_line(d, &checked.files) + "\n")
                        .collect(),
                };
                (out, errors, warnings)
            })
            .expect("a checker thread starts")
            .join()
            .expect("the checker does not panic");
        let (out, errors, warnings) = report;
        counts.0 += errors;
        counts.1 += warnings;
        any_errors |= errors > 0;
        let _ = match format {
            MessageFormat::Human => std::io::stderr().write_all(out.as_bytes()),
            MessageFormat::Json => std::io::stdout().write_all(out.as_bytes()),
        };
    }
    if matches!(format, MessageFormat::Human) {
        let (e, w) = counts;
        if e + w > 0 {
            eprintln!(
                "{e} error{}, {w} warning{}",
                if e == 1 { "" } else { "s" },
                if w == 1 { "" } else { "s" }
            );
        }
    }
    if input_error {
        ExitCode::from(2)
    } else if any_errors {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

fn lsp() -> ExitCode {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        // The checker recurses over expressions; give it the room `iov check` has.
        .thread_stack_size(CHECK_STACK / 4)
        .build();
    match runtime {
        Ok(rt) => {
            rt.block_on(iov_lsp::serve_stdio(|| {
                Box::new(loader::FsLoader::new(vec![]))
            }));
            ExitCode::SUCCESS
        }
        Err(e) => usage_error(miette::miette!("cannot start the language server: {e}")),
    }
}

fn explain(code: &str) -> ExitCode {
    let Some(code) = Code::parse(code) else {
        let known: Vec<&str> = Code::ALL.iter().map(|c| c.as_str()).collect();
        let mut report = miette::miette!("`{code}` is not an iov diagnostic code");
        if let Some(best) = iov_diagnostics::closest(code, known.iter().copied()) {
            report = miette::miette!(
                help = format!("did you mean `{best}`?"),
                "`{code}` is not an iov diagnostic code"
            );
        }
        return usage_error(report);
    };
    match pages::PAGES.iter().find(|(c, _)| *c == code.as_str()) {
        Some((_, page)) => {
            print!("{page}");
            ExitCode::SUCCESS
        }
        None => {
            println!("{}: {}", code.as_str(), code.title());
            ExitCode::SUCCESS
        }
    }
}
