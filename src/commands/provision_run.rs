//! `jetdoc run PROFILE`: start a provisioned profile's container with its runtime, devices,
//! mounts, network and X11 flags, or write the equivalent compose.yaml.

use anyhow::{bail, Context as _, Result};
use std::io::Write as _;

use super::{build_context, ExitCode};
use crate::cli::{GlobalArgs, RunArgs};
use crate::host::Reason;
use crate::provision::state::{self, Outcome, State};
use crate::provision::{run, Profile};

pub fn run(g: &GlobalArgs, a: &RunArgs) -> Result<ExitCode> {
    let profile = Profile::load(&a.profile)?;
    let ctx = build_context(g)?;
    let resolved = crate::provision::resolve_for(&ctx, &profile)?;
    let st = match ctx.host.read_text(state::STATE_FILE) {
        Ok(text) => State::parse(&text, state::STATE_FILE)?,
        Err(absence) if absence.reason == Reason::Missing => State::new(),
        Err(absence) => bail!("cannot read {}: {absence}", state::STATE_FILE),
    };
    let image = match st.profiles.get(&profile.name) {
        Some(p) if p.result == Outcome::Success => match &p.image {
            Some(i) => i.tag.clone(),
            None => bail!("the state of `{}` names no image: provision it again", profile.name),
        },
        Some(p) => {
            eprintln!(
                "error: the last provision of `{}` did not succeed{}: run `jetdoc provision {}` first",
                profile.name,
                p.failed_step.as_ref().map(|s| format!(" (it failed at {s})")).unwrap_or_default(),
                a.profile
            );
            return Ok(1);
        }
        None => {
            eprintln!(
                "error: `{}` is not provisioned on this device: run `jetdoc provision {}` first",
                profile.name, a.profile
            );
            return Ok(1);
        }
    };
    if let Some(path) = &a.compose {
        let yaml = run::compose_yaml(&profile.name, &resolved.run, &image);
        if path.as_os_str() == "-" {
            std::io::stdout().lock().write_all(yaml.as_bytes())?;
        } else {
            std::fs::write(path, &yaml).with_context(|| format!("cannot write {}", path.display()))?;
            eprintln!("wrote {} (check it: docker-compose -f {} config)", path.display(), path.display());
        }
        return Ok(0);
    }
    let args = run::run_args(&resolved.run, &image);
    if a.dry_run {
        println!("{}", run::shell_line("docker", &args));
        return Ok(0);
    }
    let docker = ctx.host.docker()?;
    if a.replace {
        let _ = docker.remove_container(&resolved.run.name);
    }
    let mut spec = run::run_spec(&resolved.run, &image);
    spec.detach = true;
    let out = match docker.run(&spec) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("error: {e}");
            if e.to_string().contains("is already in use") {
                eprintln!(
                    "  a container named {} exists: `jetdoc run {} --replace` replaces it",
                    resolved.run.name, a.profile
                );
            }
            return Ok(1);
        }
    };
    let id = out.container.unwrap_or_default();
    println!("started {} ({}) from {image}", resolved.run.name, id.chars().take(12).collect::<String>());
    Ok(0)
}
