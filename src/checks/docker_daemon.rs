//! `docker.daemon`: the daemon answers `docker info`, telling "not installed", "daemon down" and
//! "permission denied on the socket" apart, since each has a different remedy. Inside a container
//! the daemon that answers is the host's, and the summary says so.

use super::{
    docker_common::{host_files_visible, install_docker_hint},
    CheckDef, Outcome,
};
use crate::context::Context;
use crate::facts::docker_info::Unreachable;
use crate::probes::docker::DaemonState;
use crate::probes::Docker;
use crate::report::Area;

pub static CHECK: CheckDef = CheckDef {
    id: "docker.daemon",
    area: Area::Containers,
    title: "The Docker daemon answers: version and root dir",
    run,
};

fn run(ctx: &Context) -> Outcome {
    let d = ctx.get::<Docker>();
    match &d.daemon {
        DaemonState::Up(i) => {
            let root = if i.docker_root_dir.is_empty() { String::new() } else { format!(", root dir {}", i.docker_root_dir) };
            // The containerd shim names (io.containerd.*) are aliases of runc: not worth listing.
            let runtimes: Vec<&str> = i.runtimes.keys().map(String::as_str).filter(|r| !r.starts_with("io.containerd.")).collect();
            let whose = if host_files_visible(ctx) { "" } else { " of the host (through its socket; this is a container)" };
            Outcome::pass(format!("Docker Engine {}{whose}{root}, runtimes {}", i.server_version, runtimes.join(", ")))
        }
        DaemonState::NotInstalled => Outcome::fail("Docker is not installed").hint(install_docker_hint()),
        DaemonState::Unreachable(Unreachable::DaemonDown(e)) => Outcome::fail(format!("the Docker daemon is not running: {e}"))
            .hint("start it: `sudo systemctl start docker` (or `sudo service docker start` without systemd)")
            .hint("if it does not stay up, read why: `sudo journalctl -u docker -n 50 --no-pager` (daemon.json errors, Docker 28 without iptable_raw on JetPack 6.2, nf_tables on JetPack 6.0)"),
        DaemonState::Unreachable(Unreachable::PermissionDenied(e)) => {
            Outcome::fail(format!("permission denied on the Docker socket: {e}"))
                .hint("add yourself to the docker group: `sudo usermod -aG docker $USER`, then log out and in (or `newgrp docker`)")
                .fix("docker.group")
        }
        DaemonState::Unreachable(Unreachable::Other(e)) => {
            Outcome::fail(format!("docker info failed: {e}")).hint("check `docker context ls` and DOCKER_HOST: the CLI may point at another daemon")
        }
        DaemonState::NotProbed(why) => Outcome::skip(format!("daemon not asked: {why}")),
    }
}
