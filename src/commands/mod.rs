//! The command layer: owns the terminal (colors, progress, exit codes) and turns `anyhow`
//! errors into messages. Core modules never print.

pub mod bundle;
pub mod check;
pub mod fetch;
pub mod first_boot;
pub mod fix;
pub mod image_build;
pub mod image_select;
pub mod reporters;
pub mod textfile;

use anyhow::{anyhow, Context as _, Result};

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
    let (runner, env): (Box<dyn crate::host::CommandRunner>, EnvSource) = match fake {
        Some(f) => {
            let env = EnvSource::Map(f.env());
            (Box::new(f), env)
        }
        None if g.live_commands => (Box::new(RealRunner), EnvSource::Process),
        None => (Box::new(OfflineRunner), EnvSource::Map(Default::default())),
    };
    Host::with_root(&root, runner, env)
        .map_err(|a| anyhow!("--root {}: {}", root.display(), a.reason))
        .context(
        "pass the directory where the device's root filesystem is mounted (it must contain etc/, usr/, ...)",
    )
}

pub fn use_color(choice: ColorChoice, stream_is_tty: bool) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => stream_is_tty && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
    }
}
