//! Discrete NVIDIA GPUs (x86 workstations, SBSA servers) through NVML, loaded at run time by
//! nvml-wrapper: a host without `libnvidia-ml.so` simply has "no NVIDIA driver". For a foreign
//! root NVML would describe the wrong machine, so the command runner's `nvidia-smi` is asked
//! instead (answered by a fixture's `commands.toml` in tests).

use serde::Serialize;

use crate::context::{Context, Probe};
use crate::fact::Fact;
use crate::host::Reason;

#[derive(Debug, Clone, Serialize)]
pub struct GpuInfo {
    pub index: u32,
    pub name: String,
    pub memory_mib: Option<u64>,
    pub compute_capability: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct DriverInfo {
    pub driver_version: String,
    /// The highest CUDA version the driver supports (`12.4`).
    pub cuda_driver: Option<String>,
    pub gpus: Vec<GpuInfo>,
}

pub struct Gpus {
    pub driver: Fact<DriverInfo>,
}

impl Probe for Gpus {
    fn probe(ctx: &Context) -> Self {
        let driver = if ctx.host.is_live() { nvml() } else { nvidia_smi(ctx) };
        Gpus { driver }
    }
}

fn nvml() -> Fact<DriverInfo> {
    use nvml_wrapper::error::NvmlError;
    use nvml_wrapper::Nvml;
    let nvml = match Nvml::init() {
        Ok(n) => n,
        Err(NvmlError::LibloadingError(_)) => {
            return Fact::absent("NVML", Reason::NotApplicable("libnvidia-ml.so not found".into()))
        }
        Err(NvmlError::DriverNotLoaded) => {
            return Fact::absent(
                "NVML",
                Reason::NotApplicable("NVIDIA driver installed but not loaded".into()),
            )
        }
        Err(e) => return Fact::absent("NVML", Reason::Unreadable(e.to_string())),
    };
    let driver_version = match nvml.sys_driver_version() {
        Ok(v) => v,
        Err(e) => return Fact::absent("NVML", Reason::Unreadable(e.to_string())),
    };
    let cuda_driver =
        nvml.sys_cuda_driver_version().ok().map(|v| format!("{}.{}", v / 1000, (v % 1000) / 10));
    let count = nvml.device_count().unwrap_or(0);
    let gpus = (0..count)
        .filter_map(|i| {
            let d = nvml.device_by_index(i).ok()?;
            Some(GpuInfo {
                index: i,
                name: d.name().unwrap_or_else(|_| "unknown".into()),
                memory_mib: d.memory_info().ok().map(|m| m.total / (1024 * 1024)),
                compute_capability: d
                    .cuda_compute_capability()
                    .ok()
                    .map(|c| format!("{}.{}", c.major, c.minor)),
            })
        })
        .collect();
    Fact::known(DriverInfo { driver_version, cuda_driver, gpus }, "NVML")
}

const SMI_ARGS: [&str; 2] =
    ["--query-gpu=index,name,memory.total,compute_cap,driver_version", "--format=csv,noheader,nounits"];

fn nvidia_smi(ctx: &Context) -> Fact<DriverInfo> {
    let out = ctx.host.run("nvidia-smi", &SMI_ARGS);
    let cmdline = format!("nvidia-smi {}", SMI_ARGS.join(" "));
    if !out.success() {
        return Fact::absent("nvidia-smi", Reason::NotApplicable(out.describe_failure(&cmdline)));
    }
    match parse_smi_csv(&out.stdout) {
        Some(info) => Fact::known(info, "nvidia-smi"),
        None => Fact::absent("nvidia-smi", Reason::Malformed("unexpected CSV".into())),
    }
}

/// `0, NVIDIA RTX A6000, 49140, 8.6, 550.54.14` per line.
pub fn parse_smi_csv(text: &str) -> Option<DriverInfo> {
    let mut driver = None;
    let mut gpus = Vec::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let f: Vec<&str> = line.split(',').map(str::trim).collect();
        if f.len() != 5 {
            return None;
        }
        gpus.push(GpuInfo {
            index: f[0].parse().ok()?,
            name: f[1].to_string(),
            memory_mib: f[2].parse().ok(),
            compute_capability: Some(f[3].to_string()).filter(|c| c != "[N/A]"),
        });
        driver.get_or_insert_with(|| f[4].to_string());
    }
    Some(DriverInfo { driver_version: driver?, cuda_driver: None, gpus })
}
