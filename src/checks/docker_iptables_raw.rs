//! `docker.iptables-raw`: Docker 28+ needs the `iptable_raw` kernel module, which JetPack 6.2
//! kernels lack: the daemon then fails to start. Looks in `/proc/modules`, `modules.builtin` and
//! `modules.dep` of the running (or the root's only) kernel, and for the systemd opt-out drop-in.

use super::{CheckDef, Outcome};
use crate::context::Context;
use crate::facts::docker_info::major_minor;
use crate::probes::{Docker, KernelModules};
use crate::report::Area;

pub static CHECK: CheckDef = CheckDef {
    id: "docker.iptables-raw",
    area: Area::Containers,
    title: "Docker 28+ has the iptable_raw module it needs (missing on JetPack 6.2 kernels)",
    run,
};

pub const DROPIN_DIR: &str = "/etc/systemd/system/docker.service.d";
pub const OPT_OUT: &str = "DOCKER_INSECURE_NO_IPTABLES_RAW=1";

/// A systemd drop-in that already sets the opt-out (any name under docker.service.d).
pub fn opt_out_dropin(ctx: &Context) -> Option<String> {
    ctx.host
        .read_dir(DROPIN_DIR)
        .ok()?
        .into_iter()
        .filter(|n| n.ends_with(".conf"))
        .map(|n| format!("{DROPIN_DIR}/{n}"))
        .find(|p| {
            ctx.host
                .read_text(p)
                .is_ok_and(|t| t.lines().any(|l| !l.trim_start().starts_with('#') && l.contains(OPT_OUT)))
        })
}

fn run(ctx: &Context) -> Outcome {
    let d = ctx.get::<Docker>();
    let Some(version) = d.server_version() else {
        return Outcome::skip("Docker version unknown");
    };
    let Some((major, _)) = major_minor(&version) else {
        return Outcome::skip(format!("cannot read Docker version {version}"));
    };
    if major < 28 {
        return Outcome::pass(format!("Docker {version} does not use the iptables raw table"));
    }
    let m = ctx.get::<KernelModules>();
    let kernel = m.release.clone().unwrap_or_else(|| "?".into());
    if let Some(how) = m.iptable_raw {
        return Outcome::pass(format!("Docker {version}; iptable_raw is {how} in kernel {kernel}"));
    }
    if m.sources.is_empty() {
        return Outcome::skip(format!("Docker {version}: the kernel's module lists could not be read"));
    }
    if let Some(dropin) = opt_out_dropin(ctx) {
        return Outcome::pass(format!("Docker {version} without iptable_raw, but {dropin} sets {OPT_OUT}"));
    }
    Outcome::fail(format!("Docker {version} needs iptable_raw, which kernel {kernel} lacks (JetPack 6.2): container networking fails"))
        .hint(format!("either let dockerd skip the raw table (loosens its hardening): a systemd drop-in `{DROPIN_DIR}/jetdoc-iptables-raw.conf` with `[Service]` / `Environment={OPT_OUT}`, then `sudo systemctl daemon-reload && sudo systemctl restart docker`"))
        .hint("or pin Docker 27.5.x: `sudo apt install --allow-downgrades docker-ce=5:27.5.1-1~ubuntu.22.04~jammy docker-ce-cli=5:27.5.1-1~ubuntu.22.04~jammy && sudo apt-mark hold docker-ce docker-ce-cli`")
        .hint("`jetdoc fix docker.iptables-raw` prints both plans (it applies neither)")
        .fix("docker.iptables-raw")
}
