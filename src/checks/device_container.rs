//! `device.container`: whether jetdoc looks at a container rather than the host (`/.dockerenv`,
//! `/run/.containerenv`, `/proc/1/cgroup`). Inside one the device facts describe the image, and the
//! containers area describes the host's engine only when its socket answers (see `checks::run`).

use super::{CheckDef, Outcome};
use crate::context::Context;
use crate::probes::Identity;
use crate::report::Area;

pub static CHECK: CheckDef = CheckDef {
    id: "device.container",
    area: Area::Device,
    title: "Whether jetdoc is looking at a container rather than the host",
    run,
};

fn run(ctx: &Context) -> Outcome {
    let id = ctx.get::<Identity>();
    match &id.container {
        None => Outcome::pass("running on the host, not inside a container"),
        Some(evidence) => Outcome::info(format!(
            "inside a container ({evidence}): L4T, CUDA and library facts describe the container image, not the host; the containers area describes the host's Docker engine when its socket answers"
        ))
        .hint("run `jetdoc check` on the host for host facts (or mount the host's / and pass --root)"),
    }
}
