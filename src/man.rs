//! `iov completions SHELL` and `iov man DIR`: generated from the clap definitions.
//!
//! Takes: a shell name, or a directory.
//! Gives: the completion script on stdout (clap_complete), or one roff man page per command
//! (`iov.1`, `iov-load.1`, ...; clap_mangen) written into the directory.

use crate::modules::usage;
use clap::CommandFactory;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct CompletionArgs {
    shell: clap_complete::Shell,
}

#[derive(clap::Args)]
pub struct ManArgs {
    /// Where to write the pages.
    dir: PathBuf,
}

pub fn completions<C: CommandFactory>(args: &CompletionArgs) -> ExitCode {
    let mut cmd = C::command();
    clap_complete::generate(args.shell, &mut cmd, "iov", &mut std::io::stdout());
    ExitCode::SUCCESS
}

pub fn man<C: CommandFactory>(args: &ManArgs) -> ExitCode {
    if let Err(e) = std::fs::create_dir_all(&args.dir) {
        return usage(format!("cannot create {}: {e}", args.dir.display()));
    }
    let cmd = C::command();
    let mut pages = vec![("iov".to_string(), cmd.clone())];
    for sub in cmd.get_subcommands() {
        let name = format!("iov-{}", sub.get_name());
        // A leaked name per page: clap's names are `'static` without its `string` feature,
        // and this runs once per command before the process exits.
        let page = sub.clone().name(&*Box::leak(name.clone().into_boxed_str()));
        pages.push((name, page));
    }
    for (name, page) in pages {
        let mut out = Vec::new();
        if let Err(e) = clap_mangen::Man::new(page).render(&mut out) {
            return usage(format!("cannot render the man page of {name}: {e}"));
        }
        let path = args.dir.join(format!("{name}.1"));
        if let Err(e) = std::fs::write(&path, out) {
            return usage(format!("cannot write {}: {e}", path.display()));
        }
    }
    println!(
        "wrote {} man pages to {}",
        cmd.get_subcommands().count() + 1,
        args.dir.display()
    );
    ExitCode::SUCCESS
}
