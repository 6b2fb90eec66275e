//! `gpu.driver`: on non-Jetson hosts, the NVIDIA driver and GPUs through NVML (loaded at run
//! time, so a machine without the driver is a clean result) or `nvidia-smi`. On Jetson the iGPU
//! driver is part of L4T and this skips.

use super::{CheckDef, Outcome};
use crate::context::Context;
use crate::probes::{Gpus, Identity};
use crate::report::Area;

pub static CHECK: CheckDef = CheckDef {
    id: "gpu.driver",
    area: Area::Gpu,
    title: "NVIDIA driver and GPUs on non-Jetson hosts (NVML)",
    run,
};

fn run(ctx: &Context) -> Outcome {
    let id = ctx.get::<Identity>();
    if id.jetson {
        return Outcome::skip("Jetson: the iGPU driver is part of L4T");
    }
    let gpus = ctx.get::<Gpus>();
    match gpus.driver.value() {
        Some(d) if d.gpus.is_empty() => {
            Outcome::warn(format!("NVIDIA driver {} loaded but no GPU is visible", d.driver_version))
                .hint("check `nvidia-smi` and `dmesg | grep -i nvrm` for a GPU that fell off the bus")
        }
        Some(d) => {
            let list: Vec<String> = d
                .gpus
                .iter()
                .map(|g| {
                    let mem = g.memory_mib.map(|m| format!(" {} GiB", (m + 512) / 1024)).unwrap_or_default();
                    let cc = g
                        .compute_capability
                        .as_deref()
                        .map(|c| format!(", sm_{}", c.replace('.', "")))
                        .unwrap_or_default();
                    format!("{}{mem}{cc}", g.name)
                })
                .collect();
            let cuda = d.cuda_driver.as_deref().map(|c| format!(" (CUDA {c})")).unwrap_or_default();
            Outcome::pass(format!("NVIDIA driver {}{cuda}: {}", d.driver_version, list.join("; ")))
        }
        None => {
            let why = gpus.driver.absence().map(|a| a.reason.to_string()).unwrap_or_default();
            Outcome::warn(format!("no usable NVIDIA driver: {why}"))
                .hint("containers cannot use a GPU without the host driver: install it (`sudo ubuntu-drivers install` on Ubuntu), then reboot")
        }
    }
}
