//! `system.memory`: RAM, swap and zram from `/proc/meminfo` and `/proc/swaps`. A Jetson under
//! 16 GB without swap is killed by the OOM killer while building CUDA code or loading a model, which
//! looks like a crash of the application.

use super::{CheckDef, Outcome};
use crate::context::Context;
use crate::probes::{Identity, Memory};
use crate::report::Area;

pub static CHECK: CheckDef = CheckDef {
    id: "system.memory",
    area: Area::System,
    title: "RAM, swap and zram; a Jetson under 16 GB without swap",
    run,
};

fn gib(bytes: u64) -> String {
    format!("{:.1} GiB", bytes as f64 / (1u64 << 30) as f64)
}

fn run(ctx: &Context) -> Outcome {
    let mem = ctx.get::<Memory>();
    let id = ctx.get::<Identity>();
    let Some(ram) = mem.ram.value() else {
        return Outcome::skip(format!(
            "RAM not read: {}",
            mem.ram.absence().map(|a| a.to_string()).unwrap_or_default()
        ));
    };
    // The module's nominal size when the table knows it (MemTotal is smaller: the kernel and
    // carve-outs take their share), else MemTotal rounded up to whole GiB.
    let module_gb = id.module.as_ref().and_then(|m| ctx.knowledge.module(&m.part)).and_then(|m| m.ram_gb);
    let nominal = module_gb.unwrap_or_else(|| ram.total_bytes.div_ceil(1 << 30) as u32);
    let ram_text = format!("{nominal} GB RAM ({} usable)", gib(ram.total_bytes));
    let swap_text = match mem.swaps.value() {
        None => format!(
            "swap unknown ({})",
            mem.swaps.absence().map(|a| a.reason.to_string()).unwrap_or_default()
        ),
        Some(s) if s.is_empty() => "no swap".to_string(),
        Some(s) => {
            let zram: u64 = s.iter().filter(|w| w.is_zram()).map(|w| w.size_kb * 1024).sum();
            let other: u64 = s.iter().filter(|w| !w.is_zram()).map(|w| w.size_kb * 1024).sum();
            let mut parts = Vec::new();
            if zram > 0 {
                parts.push(format!("{} zram", gib(zram)));
            }
            if other > 0 {
                let names: Vec<&str> = s.iter().filter(|w| !w.is_zram()).map(|w| w.file.as_str()).collect();
                parts.push(format!("{} on {}", gib(other), names.join(", ")));
            }
            format!("swap {}", parts.join(" + "))
        }
    };
    let summary = format!("{ram_text}, {swap_text}");
    let no_swap = mem.swaps.value().is_some_and(|s| s.is_empty());
    let limit = ctx.knowledge.min_ram_gb_without_swap().unwrap_or(16);
    if id.jetson && no_swap && nominal < limit {
        return Outcome::warn(format!("{summary}: building or running large containers will be killed by the OOM killer (under {limit} GB RAM a Jetson needs swap)"))
            .hint("turn NVIDIA's compressed RAM swap back on: `sudo systemctl enable --now nvzramconfig`")
            .hint("or add a swap file, ideally on NVMe: `sudo fallocate -l 16G /swapfile && sudo chmod 600 /swapfile && sudo mkswap /swapfile && sudo swapon /swapfile`, and keep it with `echo '/swapfile none swap sw 0 0' | sudo tee -a /etc/fstab`");
    }
    Outcome::pass(summary)
}
