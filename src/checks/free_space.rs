//! Shared by `storage.root-free` and `storage.docker-root`: free space against the thresholds of
//! the `free_space` table.

use super::Outcome;
use crate::context::Context;
use crate::probes::storage::Volume;
use crate::report::Status;

pub fn gb(bytes: u64) -> String {
    format!("{:.1} GB", bytes as f64 / 1e9)
}

/// Where a volume lives: `/ on eMMC mmcblk0 (ext4, /dev/mmcblk0p1)`.
pub fn placement(v: &Volume) -> String {
    let disk = match v.disk.value() {
        Some(d) => format!("{} {}", d.class.label(), d.name),
        None => format!(
            "an unknown device ({})",
            v.disk.absence().map(|a| a.reason.to_string()).unwrap_or_default()
        ),
    };
    let mount = match (&v.mount_point, &v.fs_type) {
        (Some(m), Some(t)) if m != &v.resolved => format!(", mounted at {m}, {t}"),
        (_, Some(t)) => format!(", {t}"),
        _ => String::new(),
    };
    format!("{disk}{mount}")
}

/// The free-space verdict, or `None` when nothing was measured (with the reason).
pub fn judge(ctx: &Context, v: &Volume, target: &str) -> Result<(Status, String), String> {
    let Some(space) = v.space.value() else {
        return Err(v.space.absence().map(|a| a.to_string()).unwrap_or_default());
    };
    let text = format!("{} free of {}", gb(space.avail_bytes), gb(space.total_bytes));
    let free_gb = space.avail_bytes as f64 / 1e9;
    let status = match ctx.knowledge.free_space(target) {
        Some(t) if free_gb < t.fail_gb => Status::Fail,
        Some(t) if free_gb < t.warn_gb => Status::Warn,
        _ => Status::Pass,
    };
    Ok((status, text))
}

pub const LOW_SPACE_HINTS: [&str; 2] = [
    "reclaim space: `docker system prune` (stopped containers, dangling images, build cache) and `docker image prune -a` (every unused image)",
    "then `sudo apt clean` and `sudo journalctl --vacuum-size=200M`; `sudo du -xh / --max-depth=2 | sort -h | tail` shows what is left",
];

pub fn with_low_space_hints(o: Outcome) -> Outcome {
    LOW_SPACE_HINTS.iter().fold(o, |o, h| o.hint(*h))
}
