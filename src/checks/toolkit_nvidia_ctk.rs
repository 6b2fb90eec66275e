//! `toolkit.nvidia-ctk`: `nvidia-ctk` and `nvidia-container-runtime` are installed (the programs,
//! not only the packages): Docker's nvidia runtime entry points at the runtime program, and CDI
//! specs are generated with nvidia-ctk.

use super::{
    docker_common::{jetson, GPU_RUNTIME},
    CheckDef, Outcome,
};
use crate::context::Context;
use crate::probes::Toolkit;
use crate::report::Area;

pub static CHECK: CheckDef = CheckDef {
    id: "toolkit.nvidia-ctk",
    area: Area::Containers,
    title: "nvidia-ctk and nvidia-container-runtime are installed",
    run,
};

fn run(ctx: &Context) -> Outcome {
    if let Some(why) = super::docker_common::no_gpu_host(ctx) {
        return Outcome::skip(why);
    }
    let tk = ctx.get::<Toolkit>();
    match (&tk.nvidia_ctk, &tk.runtime) {
        (Some(ctk), Some(rt)) => Outcome::pass(format!("{ctk}, {rt}")),
        (ctk, rt) => {
            let missing: Vec<&str> =
                [ctk.is_none().then_some("nvidia-ctk"), rt.is_none().then_some("nvidia-container-runtime")]
                    .into_iter()
                    .flatten()
                    .collect();
            let o = if tk.any_installed() {
                Outcome::warn(format!(
                    "{} missing although toolkit packages are installed",
                    missing.join(" and ")
                ))
                .hint("reinstall: `sudo apt install --reinstall nvidia-container-toolkit-base`")
            } else {
                Outcome::fail(format!("{} not installed", missing.join(" and "))).hint(if jetson(ctx) {
                    "`sudo apt update && sudo apt install nvidia-container`"
                } else {
                    "`sudo jetdoc fix --gpu-runtime` installs the NVIDIA container toolkit"
                })
            };
            o.fix(GPU_RUNTIME)
        }
    }
}
