//! `docker.default-runtime`: the default runtime, from the running daemon else `daemon.json`. On
//! Jetson `--gpus` does not work (CSV mode), so `docker build` and compose services get the GPU
//! only when nvidia is the default; on x86 it is information.

use super::{
    docker_common::{host_files_visible, jetson, GPU_RUNTIME},
    CheckDef, Outcome,
};
use crate::context::Context;
use crate::facts::daemon_json::{self, NVIDIA};
use crate::probes::{DaemonConfig, Docker};
use crate::report::Area;

pub static CHECK: CheckDef = CheckDef {
    id: "docker.default-runtime",
    area: Area::Containers,
    title: "Docker's default runtime (nvidia on Jetson)",
    run,
};

fn run(ctx: &Context) -> Outcome {
    let d = ctx.get::<Docker>();
    let c = ctx.get::<DaemonConfig>();
    // Inside a container the daemon.json under the root is the image's, not the daemon's.
    let file = c
        .parsed
        .as_ref()
        .ok()
        .filter(|_| host_files_visible(ctx))
        .and_then(|m| daemon_json::default_runtime(m).map(str::to_string));
    let (value, source) = match (d.daemon.info(), &file) {
        (Some(i), _) if !i.default_runtime.is_empty() => (i.default_runtime.clone(), "docker info"),
        (_, Some(f)) => (f.clone(), c.path),
        _ if c.parsed.is_err() && host_files_visible(ctx) => {
            return Outcome::fail(format!("cannot tell: {} does not parse", c.path)).fix(GPU_RUNTIME)
        }
        _ => ("runc".to_string(), "Docker's default"),
    };
    if !jetson(ctx) {
        return Outcome::info(format!(
            "default runtime {value} ({source}); on x86 `--gpus all` needs no default runtime"
        ));
    }
    if value == NVIDIA {
        if let (Some(i), Some(f)) = (d.daemon.info(), &file) {
            if i.default_runtime != *f {
                return Outcome::warn(format!(
                    "daemon.json says {f} but the running daemon uses {}",
                    i.default_runtime
                ))
                .hint("restart Docker: `sudo systemctl restart docker`")
                .fix(GPU_RUNTIME);
            }
        }
        return Outcome::pass(format!("default runtime nvidia ({source})"));
    }
    Outcome::warn(format!("default runtime is {value} ({source}), not nvidia"))
        .hint("on Jetson `--gpus` does not work (the toolkit runs in CSV mode): a container gets the GPU only with `--runtime nvidia` or when nvidia is the default runtime")
        .hint("`docker build` (classic builder) and compose files without `runtime: nvidia` use the default runtime, so GPU builds and services need it")
        .hint("set it: `sudo jetdoc fix --gpu-runtime` (or `jetdoc fix docker.default-runtime`)")
        .fix(GPU_RUNTIME)
}
