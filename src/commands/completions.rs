//! `jetdoc completions` and `jetdoc man`: generated from the clap definitions in `cli.rs`, so
//! that every flag another branch adds there appears in both without a copy to keep in sync.

use std::io::Write;
use std::path::Path;

use anyhow::{Context as _, Result};
use clap::CommandFactory;

use super::ExitCode;
use crate::cli::{Cli, CompletionsArgs, ManArgs};

const BIN: &str = "jetdoc";

pub fn completions(args: &CompletionsArgs) -> Result<ExitCode> {
    // Rendered into memory first: clap_complete panics on a write error, and `| head` is a
    // normal way to read a script.
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut Cli::command(), BIN, &mut script);
    write_stdout(&script)
}

pub fn man(args: &ManArgs) -> Result<ExitCode> {
    let cmd = Cli::command();
    match &args.dir {
        None => {
            let mut page = Vec::new();
            clap_mangen::Man::new(cmd).render(&mut page).context("cannot render the man page")?;
            write_stdout(&page)
        }
        Some(dir) => {
            let written = write_pages(cmd, dir)?;
            eprintln!("wrote {written} man pages to {}", dir.display());
            Ok(0)
        }
    }
}

/// Writes `jetdoc.1` and one page per (sub)command, named as man(1) expects
/// (`jetdoc-fetch-zed.1`); hidden commands (test hooks) and `help` get none. Returns the count.
pub fn write_pages(cmd: clap::Command, dir: &Path) -> Result<usize> {
    std::fs::create_dir_all(dir)
        .with_context(|| format!("cannot create {}: pass a directory you can write to", dir.display()))?;
    let pages = count_pages(&cmd);
    clap_mangen::generate_to(cmd, dir)
        .with_context(|| format!("cannot write man pages to {}", dir.display()))?;
    Ok(pages)
}

fn count_pages(cmd: &clap::Command) -> usize {
    1 + cmd.get_subcommands().filter(|s| !s.is_hide_set()).map(count_pages).sum::<usize>()
}

fn write_stdout(bytes: &[u8]) -> Result<ExitCode> {
    let mut out = std::io::stdout().lock();
    match out.write_all(bytes).and_then(|()| out.flush()) {
        Ok(()) => Ok(0),
        // The reader went away (`jetdoc man | head`): what it wanted, it has.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(0),
        Err(e) => Err(e).context("cannot write to stdout"),
    }
}
