//! The command layer: owns the terminal (colors, progress, exit codes) and turns `anyhow`
//! errors into messages. Core modules never print.
#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "the command layer owns the terminal: the only code that prints"
)]

pub mod check;
pub mod completions;
pub mod fetch;
pub mod fix;
pub mod help;
pub mod image_build;
pub mod image_matrix;
pub mod image_select;
pub mod profiles;
pub mod provision;
pub mod provision_exec;
pub mod provision_run;
pub mod reporters;
pub mod status;
pub mod textfile;

use anyhow::{anyhow, Result};

use crate::cli::{ColorChoice, GlobalArgs};
use crate::context::Context;
use crate::host::{EnvSource, FakeRunner, Host, OfflineRunner, RealRunner};
use crate::knowledge::Knowledge;

/// A command's result: the exit code to leave with.
pub type ExitCode = i32;

pub fn build_context(g: &GlobalArgs) -> Result<Context> {
    let knowledge = Knowledge::load(g.checks_dir.as_deref())?;
    let host = build_host(g)?;
    Ok(Context::new(host, knowledge))
}

/// The context of `jetdoc check`: only the built-in tables the checks read are parsed
/// (`knowledge::CHECK_TABLES`); the image, ZED and wheel tables are for other commands.
pub fn build_check_context(g: &GlobalArgs) -> Result<Context> {
    let knowledge = Knowledge::load_tables(g.checks_dir.as_deref(), crate::knowledge::CHECK_TABLES)?;
    let host = build_host(g)?;
    Ok(Context::new(host, knowledge))
}

fn build_host(g: &GlobalArgs) -> Result<Host> {
    let fake = match &g.commands {
        Some(path) => Some(FakeRunner::load(path).map_err(|e| anyhow!("cannot load fake commands: {e}"))?),
        None => None,
    };
    let root = match &g.root {
        None if fake.is_none() => return Ok(Host::live()),
        None => std::path::PathBuf::from("/"),
        Some(r) => r.clone(),
    };
    check_root_readable(&root)?;
    let (runner, env): (Box<dyn crate::host::CommandRunner>, EnvSource) = match fake {
        Some(f) => {
            let env = EnvSource::Map(f.env());
            (Box::new(f), env)
        }
        None if g.live_commands => (Box::new(RealRunner), EnvSource::Process),
        None => (Box::new(OfflineRunner), EnvSource::Map(Default::default())),
    };
    Host::with_root(&root, runner, env).map_err(|a| root_error(&root, &a.reason.to_string()))
}

/// A `--root` jetdoc cannot list is jetdoc's own error (exit 2), named with the path and the
/// reason. Left to the probes, every file under it would be "permission denied" and the report
/// would blame the device ("the Docker CLI is not installed").
fn check_root_readable(root: &std::path::Path) -> Result<()> {
    let shown = root.display().to_string();
    let meta = std::fs::metadata(root)
        .map_err(|e| root_error(root, &crate::host::Absence::from_io(&shown, &e).reason.to_string()))?;
    if !meta.is_dir() {
        return Err(root_error(root, "not a directory"));
    }
    if let Err(e) = std::fs::read_dir(root) {
        let reason = match e.kind() {
            std::io::ErrorKind::PermissionDenied if crate::host::is_root() => format!("cannot list it: {e}"),
            std::io::ErrorKind::PermissionDenied => {
                "permission denied: cannot list it (run jetdoc with sudo, or make it readable)".to_string()
            }
            _ => format!("cannot list it: {e}"),
        };
        return Err(root_error(root, &reason));
    }
    Ok(())
}

fn root_error(root: &std::path::Path, reason: &str) -> anyhow::Error {
    // anyhow prints the context first and the inner error below it: the fault, then the way out.
    anyhow!(
        "pass the directory where the device's root filesystem is mounted (it must contain etc/, usr/, ...)"
    )
    .context(format!("--root {}: {reason}", root.display()))
}

/// Writes human output to stdout through the net of `report::human::clean_styled`: data that
/// a renderer did not clean cannot reach the terminal as anything but a colour.
pub fn print_human(text: &str) -> Result<()> {
    use std::io::Write;
    let text = crate::report::human::clean_styled(text, console::colors_enabled());
    std::io::stdout().lock().write_all(text.as_bytes())?;
    Ok(())
}

/// Decides colour for stdout and stderr once per run and tells `console`, which draws every
/// style and progress bar: left to itself it colours only terminals and takes any `NO_COLOR`,
/// even an empty one, as "off".
/// Asks `question [y/N]` on stderr and reads the answer from the terminal. `None` when stdin is
/// not a terminal: the caller says to confirm with `--yes` (a script must never hang on a prompt).
pub fn ask_yes_no(question: &str) -> std::io::Result<Option<bool>> {
    use std::io::{BufRead as _, IsTerminal as _, Write as _};
    if !std::io::stdin().is_terminal() {
        return Ok(None);
    }
    eprint!("{question} [y/N] ");
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    Ok(Some(matches!(answer.trim(), "y" | "Y" | "yes")))
}

pub fn init_color(choice: ColorChoice) {
    console::set_colors_enabled(use_color(choice, console::Term::stdout().is_term()));
    console::set_colors_enabled_stderr(use_color(choice, console::Term::stderr().is_term()));
}

/// `always` and `never` are the user's word (they beat `NO_COLOR`, as no-color.org asks of
/// command-line flags); `auto` colours a terminal unless `NO_COLOR` is set to a non-empty value
/// or `TERM=dumb`.
pub fn use_color(choice: ColorChoice, stream_is_tty: bool) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            stream_is_tty
                && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                && std::env::var_os("TERM").is_none_or(|t| t != "dumb")
        }
    }
}
