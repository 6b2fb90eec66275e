//! `storage.docker-root`: free space on Docker's data-root and the device behind it: images on an
//! eMMC or SD card while an NVMe is mounted are slow and wear the card out. Thresholds come from
//! `checks/storage.toml`.

use super::free_space::{judge, placement, LOW_SPACE_HINTS};
use super::{CheckDef, Outcome};
use crate::context::Context;
use crate::probes::storage::DAEMON_JSON;
use crate::probes::Storage;
use crate::report::{Area, Status};

pub static CHECK: CheckDef = CheckDef {
    id: "storage.docker-root",
    area: Area::Storage,
    title: "Docker's data-root: free space, and on NVMe rather than eMMC/SD when an NVMe is mounted",
    run,
};

fn run(ctx: &Context) -> Outcome {
    let st = ctx.get::<Storage>();
    let v = &st.docker_root;
    let place = placement(v);
    let head = format!("Docker data-root {} ({}) on {place}", v.path, st.docker_root_from);
    let mut status = Status::Pass;
    let mut parts = vec![head];
    let mut hints: Vec<String> = Vec::new();
    let mut measured = true;
    if let Some(p) = &st.daemon_json_problem {
        status = Status::Warn;
        parts.push(format!("{p}: assumed the default data-root"));
        hints.push(format!(
            "fix the JSON in {DAEMON_JSON}: `python3 -m json.tool {DAEMON_JSON}` shows where it breaks"
        ));
    }
    match judge(ctx, v, "docker-root") {
        Ok((s, text)) => {
            parts.push(text);
            if s > Status::Pass {
                let limits = ctx
                    .knowledge
                    .free_space("docker-root")
                    .map(|t| format!("warn below {} GB, fail below {} GB", t.warn_gb, t.fail_gb));
                parts.push(format!("too little for container images ({})", limits.unwrap_or_default()));
                status = status.max(s);
                hints.extend(LOW_SPACE_HINTS.iter().map(|h| h.to_string()));
            }
        }
        Err(why) => {
            measured = false;
            parts.push(format!("free space not measured: {why}"));
        }
    }
    let on_flash = v.disk.value().filter(|d| d.class.is_boot_flash());
    if let (Some(d), Some(nvme)) = (on_flash, st.nvme_mounts.first()) {
        status = status.max(Status::Warn);
        parts.push(format!(
            "images live on the {} while the NVMe mounted at {nvme} is not used for them",
            d.class.label()
        ));
        let target = format!("{}/docker", nvme.trim_end_matches('/'));
        hints.push(format!(
            "move Docker to the NVMe: `sudo systemctl stop docker && sudo rsync -aHAX {}/ {target}/`, set `\"data-root\": \"{target}\"` in {DAEMON_JSON}, then `sudo systemctl start docker` and check `docker info -f '{{{{.DockerRootDir}}}}'`",
            v.resolved.trim_end_matches('/')
        ));
    }
    let summary = parts.join("; ");
    let mut o = match status {
        // Nothing measured and nothing wrong seen: not a pass.
        Status::Pass if !measured => Outcome::skip(summary),
        Status::Pass => Outcome::pass(summary),
        Status::Warn => Outcome::warn(summary),
        _ => Outcome::fail(summary),
    };
    o.hints = hints;
    o
}
