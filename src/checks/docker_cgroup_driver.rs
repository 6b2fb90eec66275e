//! `docker.cgroup-driver`: the daemon's cgroup driver and cgroup version from `docker info`. On
//! x86 with the systemd driver, containers can lose the GPU after `systemctl daemon-reload`
//! (NVIDIA container toolkit troubleshooting), so that case carries the remedy.

use super::{
    docker_common::{jetson, why_no_daemon},
    CheckDef, Outcome,
};
use crate::context::Context;
use crate::probes::Docker;
use crate::report::Area;

pub static CHECK: CheckDef = CheckDef {
    id: "docker.cgroup-driver",
    area: Area::Containers,
    title: "Docker cgroup driver and cgroup version",
    run,
};

fn run(ctx: &Context) -> Outcome {
    let d = ctx.get::<Docker>();
    let Some(i) = d.daemon.info() else {
        return Outcome::skip(why_no_daemon(&d).unwrap_or_default());
    };
    let v =
        if i.cgroup_version.is_empty() { String::new() } else { format!(", cgroup v{}", i.cgroup_version) };
    let o = Outcome::info(format!("cgroup driver {}{v}", i.cgroup_driver));
    if i.cgroup_driver == "systemd" && !jetson(ctx) {
        // NCT troubleshooting.md: the systemd driver drops device access on `systemctl daemon-reload`.
        return o.hint("if containers lose the GPU with \"Failed to initialize NVML: Unknown Error\" after `systemctl daemon-reload`, set `\"exec-opts\": [\"native.cgroupdriver=cgroupfs\"]` in daemon.json or update runc and the driver");
    }
    o
}
