//! `docker.daemon-json`: `/etc/docker/daemon.json` parses (dockerd refuses to start on a syntax
//! error: line and column are reported), keys dockerd does not know, and the nvidia runtime entry.
//! The file is only read here; `jetdoc fix --gpu-runtime` is the one that edits it.

use super::{docker_common::GPU_RUNTIME, CheckDef, Outcome};
use crate::context::Context;
use crate::facts::daemon_json::{self, DaemonJsonError};
use crate::probes::DaemonConfig;
use crate::report::Area;

pub static CHECK: CheckDef = CheckDef {
    id: "docker.daemon-json",
    area: Area::Containers,
    title: "/etc/docker/daemon.json parses; nvidia runtime entry; unknown keys",
    run,
};

fn run(ctx: &Context) -> Outcome {
    let c = ctx.get::<DaemonConfig>();
    if let Some(why) = &c.unreadable {
        let o = Outcome::warn(format!("{}: {why}", c.path));
        return if *why == crate::host::Reason::NeedsRoot {
            o.hint("run jetdoc with sudo to read it")
        } else {
            o.hint(format!("dockerd reads {} as a JSON file: replace what is there with one", c.path))
        };
    }
    let map = match &c.parsed {
        Ok(m) => m,
        Err(e @ DaemonJsonError::Syntax { .. }) | Err(e @ DaemonJsonError::NotAnObject(_)) => {
            return Outcome::fail(format!("{}: {e}; dockerd refuses to start with it", c.path))
                .hint(format!("correct the file by hand (JSON has no comments and no trailing commas), check with `python3 -m json.tool {}`", c.path))
                .hint("or replace it with a minimal one after a backup: `sudo jetdoc fix --gpu-runtime --force`")
                .fix(GPU_RUNTIME)
        }
        Err(e) => return Outcome::fail(format!("{}: {e}", c.path)),
    };
    if c.bytes.is_none() {
        return Outcome::info(format!("{} does not exist: Docker runs with its defaults", c.path));
    }
    let mut problems = Vec::new();
    let mut hints = Vec::new();
    let mut fixable = false;
    let unknown = daemon_json::unknown_keys(map, &ctx.knowledge.daemon_keys);
    if !unknown.is_empty() {
        problems.push(format!("unknown keys {}", unknown.join(", ")));
        hints.push("dockerd refuses to start on keys it does not know: check their spelling (`jetdoc fix` keeps them as they are)".to_string());
    }
    if let Some((_, rt)) = daemon_json::runtimes(map).into_iter().find(|(n, _)| n == daemon_json::NVIDIA) {
        match rt.path.as_deref() {
            Some(p) if daemon_json::is_nvidia_runtime_path(p) => {}
            other => {
                problems.push(format!(
                    "runtimes.nvidia.path is {}, not nvidia-container-runtime",
                    other.unwrap_or("missing")
                ));
                hints.push("`sudo jetdoc fix --gpu-runtime` sets it".to_string());
                fixable = true;
            }
        }
    }
    let mut summary = format!("{} parses ({} keys)", c.path, map.len());
    if problems.is_empty() {
        return Outcome::pass(summary);
    }
    summary = format!("{}: {}", c.path, problems.join("; "));
    let mut o = Outcome::warn(summary);
    if fixable {
        o = o.fix(GPU_RUNTIME);
    }
    o.hints = hints;
    o
}
