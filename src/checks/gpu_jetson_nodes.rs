//! `gpu.jetson-nodes`: the iGPU device nodes of the SoC generation (`/dev/nvmap`, `/dev/nvgpu/*`,
//! `/dev/nvhost-*`). Without them CUDA fails with "no CUDA-capable device"; inside a container they
//! are missing when it was started without the NVIDIA runtime.

use super::{CheckDef, Outcome};
use crate::context::Context;
use crate::probes::{Identity, JetsonGpuNodes};
use crate::report::Area;

pub static CHECK: CheckDef = CheckDef {
    id: "gpu.jetson-nodes",
    area: Area::Gpu,
    title: "Jetson iGPU device nodes (/dev/nvmap, /dev/nvhost-*, /dev/nvgpu/*) are present",
    run,
};

fn run(ctx: &Context) -> Outcome {
    let n = ctx.get::<JetsonGpuNodes>();
    if let Some(why) = &n.not_checked {
        return Outcome::skip(why.clone());
    }
    let mut missing = n.missing_all.clone();
    if !n.missing_any.is_empty() {
        missing.push(format!("one of {}", n.missing_any.join(" / ")));
    }
    let soc = n.soc.as_deref().unwrap_or("?");
    if missing.is_empty() {
        return Outcome::pass(format!("{soc} iGPU nodes present: {}", n.present.join(", ")));
    }
    let o = Outcome::fail(format!(
        "{soc} iGPU device nodes missing: {}: CUDA cannot reach the GPU",
        missing.join(", ")
    ));
    if ctx.get::<Identity>().container.is_some() {
        return o.hint("inside a container: start it with the NVIDIA runtime: add `--runtime nvidia` (or `--gpus all`) to `docker run`");
    }
    o.hint("the GPU driver did not load: look for the reason with `sudo dmesg | grep -iE 'nvgpu|nvmap|gpu'`")
        .hint("a kernel or module update that does not match L4T causes this: `sudo apt install --reinstall nvidia-l4t-kernel nvidia-l4t-kernel-dtbs`, then reboot")
}
