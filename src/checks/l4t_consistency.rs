//! `l4t.consistency`: `/etc/nv_tegra_release`, the `nvidia-l4t-core` package and `nvidia-jetpack`
//! agree. A partial `apt upgrade` across L4T releases leaves them apart, and then kernel modules,
//! user-space drivers and CUDA no longer match each other.

use super::{CheckDef, Outcome};
use crate::context::Context;
use crate::knowledge::{L4tVersion, Match};
use crate::probes::Identity;
use crate::report::Area;

pub static CHECK: CheckDef = CheckDef {
    id: "l4t.consistency",
    area: Area::Device,
    title: "nv_tegra_release, nvidia-l4t-core and nvidia-jetpack agree",
    run,
};

/// `6.2.1` of `6.2.1`, `6.1` of `6.1 (rev1)`.
fn jetpack_number(s: &str) -> &str {
    s.split_whitespace().next().unwrap_or(s)
}

fn run(ctx: &Context) -> Outcome {
    let id = ctx.get::<Identity>();
    if !id.jetson {
        return Outcome::skip("not a Jetson");
    }
    let mut problems = Vec::new();
    let file = id.release_file.value().map(|r| r.version);
    let core = id.l4t_core.as_deref().and_then(L4tVersion::parse);
    if let (Some(f), Some(c)) = (file, core) {
        if f != c {
            problems.push(Outcome::warn(format!("/etc/nv_tegra_release says L4T {f} but the nvidia-l4t-core package is {c}"))
                .hint("an interrupted or partial BSP upgrade: finish it with `sudo apt update && sudo apt dist-upgrade`, then reboot"));
        }
    }
    if let (Some(l4t), Some(pkg)) = (id.l4t.value(), id.jetpack_package.as_deref()) {
        if let Some(info) = ctx.knowledge.release(l4t).filter(|i| i.matched == Match::Exact) {
            let table = jetpack_number(info.jetpack());
            if table != pkg && !pkg.starts_with(&format!("{table}.")) {
                problems.push(
                    Outcome::warn(format!(
                        "nvidia-jetpack {pkg} does not match the BSP: L4T {l4t} is JetPack {}",
                        info.jetpack()
                    ))
                    .hint("the JetPack userspace and the L4T BSP come from different releases; containers built for one may fail on the other")
                    .hint("align them: `sudo apt update && sudo apt dist-upgrade` (or reflash with SDK Manager for a major change)"),
                );
            }
        }
    }
    match problems.len() {
        0 => {
            let sources = [
                file.map(|_| "nv_tegra_release"),
                core.map(|_| "nvidia-l4t-core"),
                id.jetpack_package.as_ref().map(|_| "nvidia-jetpack"),
            ];
            let present: Vec<&str> = sources.into_iter().flatten().collect();
            if present.is_empty() {
                Outcome::skip("no L4T version source to compare")
            } else if present.len() == 1 {
                Outcome::pass(format!("only {} present, nothing to compare", present[0]))
            } else {
                Outcome::pass(format!("{} agree", present.join(", ")))
            }
        }
        1 => problems.remove(0),
        _ => {
            let mut first = problems.remove(0);
            for p in problems {
                first.summary = format!("{}; {}", first.summary, p.summary);
                first.hints.extend(p.hints);
            }
            first
        }
    }
}
