//! `docker.nvidia-runtime`: the nvidia runtime is registered in `daemon.json` and loaded by the
//! running daemon, and its program is installed. Registered but not loaded means a restart is due;
//! not registered means containers get no GPU on Jetson.

use super::{
    docker_common::{host_files_visible, jetson, GPU_RUNTIME},
    CheckDef, Outcome,
};
use crate::context::Context;
use crate::facts::daemon_json::{self, NVIDIA};
use crate::probes::{DaemonConfig, Docker, Toolkit};
use crate::report::Area;

pub static CHECK: CheckDef = CheckDef {
    id: "docker.nvidia-runtime",
    area: Area::Containers,
    title: "The nvidia runtime is registered with Docker (daemon.json and the running daemon)",
    run,
};

fn run(ctx: &Context) -> Outcome {
    if let Some(why) = super::docker_common::no_gpu_host(ctx) {
        return Outcome::skip(why);
    }
    let d = ctx.get::<Docker>();
    let c = ctx.get::<DaemonConfig>();
    let tk = ctx.get::<Toolkit>();
    // Inside a container, daemon.json and the toolkit under the root are the image's: only what
    // the host's daemon answers counts.
    let host_files = host_files_visible(ctx);
    let empty = serde_json::Map::new();
    let map = match &c.parsed {
        _ if !host_files => &empty,
        Ok(map) => map,
        Err(_) => {
            return Outcome::fail(format!("cannot tell: {} does not parse (see docker.daemon-json)", c.path))
                .fix(GPU_RUNTIME)
        }
    };
    let in_file = daemon_json::runtimes(map).into_iter().find(|(n, _)| n == NVIDIA).map(|(_, r)| r);
    let in_daemon = d.daemon.info().map(|i| i.runtimes.get(NVIDIA).cloned());
    let missing_program = host_files
        && tk.runtime.is_none()
        && in_file
            .as_ref()
            .and_then(|r| r.path.as_deref())
            .is_none_or(|p| !p.starts_with('/') || !ctx.host.exists(p));
    let mut out = match (in_daemon, &in_file) {
        (Some(Some(path)), _) => Outcome::pass(format!("runtime nvidia registered ({path})")),
        (Some(None), Some(_)) => Outcome::warn(format!(
            "{} registers the nvidia runtime but the running daemon does not list it",
            c.path
        ))
        .hint("restart Docker to load it: `sudo systemctl restart docker`")
        .fix(GPU_RUNTIME),
        (None, Some(r)) => Outcome::pass(format!(
            "{} registers runtime nvidia ({}); the daemon was not asked",
            c.path,
            r.path.as_deref().unwrap_or("no path")
        )),
        (_, None) => {
            let o = if jetson(ctx) {
                Outcome::fail("the nvidia runtime is not registered with Docker: containers get no GPU")
            } else {
                Outcome::warn("the nvidia runtime is not registered with Docker (`--runtime=nvidia` fails; `--gpus all` may still work)")
            };
            o.hint("register it: `sudo jetdoc fix --gpu-runtime` (edits daemon.json with a backup and restarts Docker)")
                .hint("or by hand: `sudo nvidia-ctk runtime configure --runtime=docker && sudo systemctl restart docker`")
                .fix(GPU_RUNTIME)
        }
    };
    if missing_program {
        out = Outcome::fail(format!("{}; nvidia-container-runtime is not installed", out.summary))
            .hint(if jetson(ctx) {
                "install it: `sudo apt update && sudo apt install nvidia-container`"
            } else {
                "install the NVIDIA container toolkit: `sudo jetdoc fix --gpu-runtime`"
            })
            .fix(GPU_RUNTIME);
    }
    out
}
