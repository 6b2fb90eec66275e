//! `jetdoc fix docker.iptables-raw`: plan only. Docker 28 on a JetPack 6.2 kernel without
//! `iptable_raw` has two remedies, each with a cost (looser hardening, or a pinned old Docker):
//! jetdoc shows both and applies neither.

use super::{Cmd, FixDef, Options, Plan, Refusal};
use crate::checks::docker_iptables_raw::{opt_out_dropin, DROPIN_DIR, OPT_OUT};
use crate::context::Context;
use crate::facts::docker_info::major_minor;
use crate::probes::{Docker, KernelModules};
use crate::steps::{RunCommand, WriteFile};

pub static FIX: FixDef = FixDef {
    id: "docker.iptables-raw",
    repairs: &["docker.iptables-raw"],
    title: "Docker 28 without iptable_raw: show the two remedies (plan only)",
    plan,
};

fn plan(ctx: &Context, _opts: &Options) -> Result<Plan, Refusal> {
    let mut plan = Plan::new(FIX.id);
    plan.plan_only = true;
    let docker = ctx.get::<Docker>();
    let modules = ctx.get::<KernelModules>();
    let new_docker = docker.server_version().as_deref().and_then(major_minor).is_some_and(|(m, _)| m >= 28);
    if !new_docker || modules.iptable_raw.is_some() || opt_out_dropin(ctx).is_some() {
        return Ok(plan);
    }
    plan.push(WriteFile::new(
        &format!("{DROPIN_DIR}/jetdoc-iptables-raw.conf"),
        None,
        format!("# Docker 28 wants the iptables raw table; this kernel has no iptable_raw (JetPack 6.2).\n[Service]\nEnvironment={OPT_OUT}\n").into_bytes(),
        "remedy 1: let dockerd skip the raw table (loosens its hardening; moby PR #49621)",
    ));
    plan.push(RunCommand::new(Cmd::new(&["systemctl", "daemon-reload"]), "load the drop-in"));
    plan.push(RunCommand::new(Cmd::new(&["systemctl", "restart", "docker"]), "restart with it"));
    plan.notes.push("remedy 2 instead: pin Docker 27.5.x: `sudo apt install --allow-downgrades docker-ce=5:27.5.1-1~ubuntu.22.04~jammy docker-ce-cli=5:27.5.1-1~ubuntu.22.04~jammy && sudo apt-mark hold docker-ce docker-ce-cli`".into());
    plan.notes.push("plan only: jetdoc applies neither remedy; pick one and run its commands".into());
    Ok(plan)
}
