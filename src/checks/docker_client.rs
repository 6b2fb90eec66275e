//! `docker.client`: the Docker CLI is installed, and not the snap: the snap's dockerd does not see
//! the NVIDIA runtime hook on its PATH, so GPU containers fail there in a way that looks like a
//! toolkit problem.

use super::{docker_common::install_docker_hint, CheckDef, Outcome};
use crate::context::Context;
use crate::probes::docker::DaemonState;
use crate::probes::Docker;
use crate::report::Area;

pub static CHECK: CheckDef = CheckDef {
    id: "docker.client",
    area: Area::Containers,
    title: "The Docker CLI is installed (and not the snap)",
    run,
};

fn run(ctx: &Context) -> Outcome {
    let d = ctx.get::<Docker>();
    if d.snap() {
        return Outcome::warn("Docker is installed from snap: the NVIDIA runtime hook is not on the snap dockerd's PATH")
            .hint("remove the snap (`sudo snap remove docker`) and install Docker Engine: `curl -fsSL https://get.docker.com | sh && sudo systemctl --now enable docker`");
    }
    match (&d.daemon, &d.client_version, &d.client_file) {
        (DaemonState::NotInstalled, _, _) | (DaemonState::NotProbed(_), None, None) => {
            Outcome::fail("the Docker CLI is not installed").hint(install_docker_hint())
        }
        (_, Some(v), _) => Outcome::pass(format!("docker {v}")),
        (_, None, Some(f)) => Outcome::pass(format!("docker CLI at {f}")),
        (_, None, None) => Outcome::pass("docker CLI answers"),
    }
}
