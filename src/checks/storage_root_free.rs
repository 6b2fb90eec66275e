//! `storage.root-free`: free space on `/` and the device class behind it (eMMC, SD, NVMe, USB):
//! JetPack upgrades, CUDA and images need gigabytes, and a full eMMC leaves a board that does not
//! boot cleanly. Thresholds come from `checks/storage.toml`.

use super::free_space::{judge, placement, with_low_space_hints};
use super::{CheckDef, Outcome};
use crate::context::Context;
use crate::probes::Storage;
use crate::report::{Area, Status};

pub static CHECK: CheckDef = CheckDef {
    id: "storage.root-free",
    area: Area::Storage,
    title: "Free space on the root filesystem and the device behind it (eMMC, SD, NVMe, USB)",
    run,
};

fn run(ctx: &Context) -> Outcome {
    let st = ctx.get::<Storage>();
    let v = &st.root;
    let place = placement(v);
    let (status, text) = match judge(ctx, v, "root") {
        Ok(j) => j,
        Err(why) => return Outcome::skip(format!("/ on {place}; free space not measured: {why}")),
    };
    let summary = format!("/ on {place}: {text}");
    let limits = ctx
        .knowledge
        .free_space("root")
        .map(|t| format!(" (warn below {} GB, fail below {} GB)", t.warn_gb, t.fail_gb))
        .unwrap_or_default();
    match status {
        Status::Pass => Outcome::pass(summary),
        Status::Warn => with_low_space_hints(Outcome::warn(format!("{summary}{limits}"))),
        _ => with_low_space_hints(Outcome::fail(format!(
            "{summary}{limits}: package upgrades and image pulls will fail"
        ))),
    }
}
