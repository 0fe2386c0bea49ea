//! `iov fmt [--check] FILE...`: rewrites files in the canonical layout, or with `--check`
//! lists the files that are not in it.
//!
//! Takes: `.iov` files.
//! Gives: formatted files (or, with `--check`, exit 1 and their names when any would change);
//! a file with syntax errors is left alone and reported (exit 1); unreadable files exit 2.

use crate::read_source;
use std::path::PathBuf;
use std::process::ExitCode;

pub fn fmt(files: &[PathBuf], check: bool) -> ExitCode {
    let mut status = 0u8;
    for path in files {
        let Ok(text) = read_source(path) else {
            status = 2;
            continue;
        };
        match iov_syntax::format::format(&text) {
            None => {
                eprintln!(
                    "{}: not formatted: it has syntax errors (see `iov check {}`)",
                    path.display(),
                    path.display()
                );
                status = status.max(1);
            }
            Some(formatted) if formatted == text => {}
            Some(formatted) if check => {
                println!("{} is not formatted", path.display());
                status = status.max(1);
                let _ = formatted;
            }
            Some(formatted) => {
                if let Err(e) = std::fs::write(path, formatted) {
                    eprintln!(
                        "{:?}",
                        miette::miette!("cannot write {}: {e}", path.display())
                    );
                    status = 2;
                }
            }
        }
    }
    ExitCode::from(status)
}
