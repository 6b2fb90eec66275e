//! `docker.storage-driver`: overlay2 (or the containerd snapshotter's overlayfs) is good; vfs
//! copies every layer in full and fills an eMMC within a few images, usually because the data-root
//! sits on a filesystem overlay2 cannot use.

use super::{CheckDef, Outcome};
use crate::context::Context;
use crate::probes::{DaemonConfig, Docker};
use crate::report::Area;

pub static CHECK: CheckDef = CheckDef {
    id: "docker.storage-driver",
    area: Area::Containers,
    title: "Docker storage driver (overlay2, not vfs)",
    run,
};

fn run(ctx: &Context) -> Outcome {
    let d = ctx.get::<Docker>();
    let c = ctx.get::<DaemonConfig>();
    let file = c
        .parsed
        .as_ref()
        .ok()
        .filter(|_| super::docker_common::host_files_visible(ctx))
        .and_then(|m| m.get("storage-driver"))
        .and_then(|v| v.as_str())
        .map(str::to_string);
    let (driver, source) = match (d.daemon.info(), file) {
        (Some(i), _) if !i.storage_driver.is_empty() => (i.storage_driver.clone(), "docker info"),
        (_, Some(f)) => (f, c.path),
        _ => {
            return Outcome::skip(
                super::docker_common::why_no_daemon(&d).unwrap_or_else(|| "storage driver unknown".into()),
            )
        }
    };
    match driver.as_str() {
        // `overlayfs` is the containerd snapshotter of Docker 29's image store.
        "overlay2" | "overlayfs" => Outcome::pass(format!("{driver} ({source})")),
        "vfs" => Outcome::fail(format!("storage driver vfs ({source}): every layer is a full copy and the disk fills"))
            .hint("remove any `\"storage-driver\": \"vfs\"` from /etc/docker/daemon.json and restart Docker so it picks overlay2")
            .hint("overlay2 needs ext4 (or xfs with d_type) under the Docker root dir: move `data-root` to an ext4 NVMe, e.g. `\"data-root\": \"/ssd/docker\"`"),
        other => Outcome::info(format!("storage driver {other} ({source})")),
    }
}
