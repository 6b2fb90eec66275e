//! `toolkit.packages`: the four NVIDIA container toolkit packages are installed at one version,
//! none of them a known-bad version (`checks/toolkit.toml`): mixed versions after a partial upgrade
//! fail in ways that name none of them.

use super::{
    docker_common::{jetson, GPU_RUNTIME},
    CheckDef, Outcome,
};
use crate::context::Context;
use crate::facts::dpkg_status::upstream_version;
use crate::probes::Toolkit;
use crate::report::{Area, Status};

pub static CHECK: CheckDef = CheckDef {
    id: "toolkit.packages",
    area: Area::Containers,
    title: "NVIDIA container toolkit packages installed at one version, none known-bad",
    run,
};

fn run(ctx: &Context) -> Outcome {
    if let Some(why) = super::docker_common::no_gpu_host(ctx) {
        return Outcome::skip(why);
    }
    let tk = ctx.get::<Toolkit>();
    let tegra = jetson(ctx);
    let installed: Vec<(&str, &str)> =
        tk.packages.iter().filter_map(|(n, v)| v.as_deref().map(|v| (*n, v))).collect();
    if installed.is_empty() {
        let o = Outcome::fail("the NVIDIA container toolkit is not installed: containers get no GPU");
        return if tegra {
            o.hint("install it from the JetPack repository: `sudo apt update && sudo apt install nvidia-container`")
        } else {
            o.hint("add NVIDIA's repository and install the package nvidia-container-toolkit (https://docs.nvidia.com/datacenter/cloud-native/container-toolkit/latest/install-guide.html)")
        }
        .hint("or let jetdoc do it: `sudo jetdoc fix --gpu-runtime`")
        .fix(GPU_RUNTIME);
    }
    let mut versions: Vec<&str> = installed.iter().map(|(_, v)| *v).collect();
    versions.sort();
    versions.dedup();
    let version = upstream_version(versions[versions.len() - 1]).to_string();
    let missing: Vec<&str> = tk.packages.iter().filter(|(_, v)| v.is_none()).map(|(n, _)| *n).collect();
    let mut out = if versions.len() > 1 {
        let list: Vec<String> = installed.iter().map(|(n, v)| format!("{n} {v}")).collect();
        Outcome::fail(format!("toolkit packages at different versions: {}", list.join(", ")))
            .hint("since toolkit 1.18 the four packages must match exactly; a partial upgrade breaks the runtime")
            .hint(format!("upgrade them together: `sudo apt update && sudo apt install {}`", tk.packages.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(" ")))
    } else if missing.is_empty() {
        Outcome::pass(format!("toolkit {version}: all four packages"))
    } else if tegra && !missing.contains(&"nvidia-container-toolkit-base") {
        // -base alone carries the runtime and nvidia-ctk: enough for CSV mode on Tegra (NCT 1.11+).
        Outcome::pass(format!("toolkit {version} (without {})", missing.join(", ")))
    } else {
        Outcome::warn(format!("toolkit {version} without {}", missing.join(", "))).hint(format!(
            "install the rest at the same version: `sudo apt install {}`",
            missing.iter().map(|n| format!("{n}={}", versions[0])).collect::<Vec<_>>().join(" ")
        ))
    };
    // Known-bad versions (checks/toolkit.toml), for the four packages and the old ones.
    let all: Vec<(String, String)> = installed
        .iter()
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .chain(tk.extra.iter().cloned())
        .collect();
    for row in &ctx.knowledge.toolkit_bad {
        let Some((_, v)) = all.iter().find(|(n, _)| *n == row.package) else { continue };
        if !row.matches(upstream_version(v), tegra) {
            continue;
        }
        let status = match row.status.as_str() {
            "fail" => Status::Fail,
            "warn" => Status::Warn,
            _ => Status::Info,
        };
        // Info rows never turn a pass into more than info; a fail stays a fail.
        if status > out.status || (out.status == Status::Pass && status == Status::Info) {
            out.status = status;
        }
        out.summary = format!("{}; {}", out.summary, row.problem);
        out.hints.push(row.action.clone());
    }
    out
}
