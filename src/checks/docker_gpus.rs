//! `docker.gpus`: on x86, `docker run --gpus all` works only when the NVIDIA driver is loaded and
//! `nvidia-container-runtime-hook` was on dockerd's PATH when it started (moby registers its
//! `nvidia` device driver then). Jetson skips: GPUs come through `--runtime nvidia` there.

use super::{
    docker_common::{jetson, GPU_RUNTIME},
    CheckDef, Outcome,
};
use crate::context::Context;
use crate::probes::{Gpus, Toolkit};
use crate::report::Area;

pub static CHECK: CheckDef = CheckDef {
    id: "docker.gpus",
    area: Area::Containers,
    title: "x86: NVIDIA driver present and `docker run --gpus` usable",
    run,
};

fn run(ctx: &Context) -> Outcome {
    if jetson(ctx) {
        return Outcome::skip("Jetson: GPUs come through `--runtime nvidia`, not `--gpus`");
    }
    let gpus = ctx.get::<Gpus>();
    let Some(driver) = gpus.driver.value() else {
        let why = gpus.driver.absence().map(|a| a.reason.to_string()).unwrap_or_default();
        return Outcome::skip(format!("no NVIDIA driver ({why}): no GPU to give containers"));
    };
    let tk = ctx.get::<Toolkit>();
    match &tk.hook {
        // dockerd registers its `nvidia` device driver (for --gpus) only when this hook is on
        // its PATH at start-up (moby daemon/nvidia_linux.go).
        Some(hook) => Outcome::pass(format!("driver {} and {hook}: `docker run --gpus all` works", driver.driver_version)),
        None => Outcome::fail(format!("driver {} but no nvidia-container-runtime-hook: `--gpus all` fails with \"could not select device driver\"", driver.driver_version))
            .hint("install the NVIDIA container toolkit and restart Docker: `sudo jetdoc fix --gpu-runtime`")
            .fix(GPU_RUNTIME),
    }
}
