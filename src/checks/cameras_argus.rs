//! `cameras.argus`: CSI and GMSL cameras are read through `nvargus-daemon`, not V4L2 directly;
//! whether it is installed, enabled and running (from systemd's unit files and `/run`). Without it
//! libargus applications and containers see no camera even though `/dev/video*` exists.

use super::{CheckDef, Outcome};
use crate::context::Context;
use crate::probes::cameras::ARGUS_SOCKET;
use crate::probes::{Cameras, Identity};
use crate::report::Area;

pub static CHECK: CheckDef = CheckDef {
    id: "cameras.argus",
    area: Area::Cameras,
    title: "CSI/GMSL cameras: nvargus-daemon is installed, enabled and running",
    run,
};

const ENABLE: &str = "`sudo systemctl enable --now nvargus-daemon`";

fn run(ctx: &Context) -> Outcome {
    let cams = ctx.get::<Cameras>();
    let vi: Vec<&str> = cams.on_video_input().map(|c| c.name.as_str()).collect();
    if vi.is_empty() {
        return Outcome::skip("no CSI or GMSL camera");
    }
    if !ctx.get::<Identity>().jetson {
        return Outcome::skip("not a Jetson");
    }
    let a = &cams.argus;
    let what = vi.join(", ");
    let Some(unit) = &a.unit_file else {
        if a.masked {
            return Outcome::warn(format!("nvargus-daemon is masked, so {what} cannot be used through libargus (GStreamer nvarguscamerasrc)"))
                .hint(format!("`sudo systemctl unmask nvargus-daemon`, then {ENABLE}"));
        }
        return Outcome::warn(format!("nvargus-daemon is not installed: {what} cannot be used through libargus (GStreamer nvarguscamerasrc)"))
            .hint("install the camera stack: `sudo apt install nvidia-l4t-camera`")
            .hint(format!("then {ENABLE}"));
    };
    if a.masked {
        return Outcome::warn(format!(
            "nvargus-daemon is masked ({unit} is overridden by a link to /dev/null)"
        ))
        .hint(format!("`sudo systemctl unmask nvargus-daemon`, then {ENABLE}"));
    }
    let container_hint = format!(
        "containers reach the daemon through its socket: add `-v {ARGUS_SOCKET}:{ARGUS_SOCKET}` to `docker run`"
    );
    let Some(enabled_by) = &a.enabled_by else {
        return Outcome::warn(format!(
            "nvargus-daemon is installed ({unit}) but not enabled: {what} will not work after a reboot"
        ))
        .hint(format!("enable and start it: {ENABLE}"));
    };
    match &a.running {
        Some(evidence) => Outcome::pass(format!("nvargus-daemon enabled and running ({evidence}) for {what}")).hint(container_hint),
        // /run of a mounted image is empty: only a snapshot of a running device can say "not running".
        None if ctx.host.is_live() || ctx.host.read_dir("/run/systemd").is_ok() => {
            Outcome::warn(format!("nvargus-daemon is enabled ({enabled_by}) but not running"))
                .hint("restart it and read why it stopped: `sudo systemctl restart nvargus-daemon && journalctl -u nvargus-daemon -b`")
        }
        None => Outcome::info(format!("nvargus-daemon enabled ({enabled_by}); whether it runs cannot be told from an inspected root")).hint(container_hint),
    }
}
