//! Wording shared by the `docker.*` and `toolkit.*` checks.

use crate::context::Context;
use crate::facts::docker_info::Unreachable;
use crate::probes::docker::DaemonState;
use crate::probes::{Docker, Identity};

/// The fix id of `jetdoc fix --gpu-runtime`.
pub const GPU_RUNTIME: &str = "gpu-runtime";

pub fn install_docker_hint() -> &'static str {
    // JetPack 6's nvidia-container no longer pulls in Docker; NVIDIA's guide uses get.docker.com.
    "install Docker Engine: `curl -fsSL https://get.docker.com | sh && sudo systemctl --now enable docker`"
}

/// False inside a container: the daemon that answers there is the host's, but `daemon.json`,
/// the toolkit's files and packages under this root are the image's, so checks of the engine
/// judge by what the daemon says and nothing else.
pub fn host_files_visible(ctx: &Context) -> bool {
    ctx.get::<Identity>().container.is_none()
}

pub fn jetson(ctx: &Context) -> bool {
    ctx.get::<Identity>().jetson
}

/// Why there are no daemon facts, for checks that need them; `None` when the daemon answered.
pub fn why_no_daemon(d: &Docker) -> Option<String> {
    match &d.daemon {
        DaemonState::Up(_) => None,
        DaemonState::NotInstalled => Some("Docker is not installed".into()),
        DaemonState::Unreachable(Unreachable::DaemonDown(_)) => {
            Some("the Docker daemon is not running".into())
        }
        DaemonState::Unreachable(Unreachable::PermissionDenied(_)) => {
            Some("no permission to open the Docker socket".into())
        }
        DaemonState::Unreachable(Unreachable::Other(e)) => Some(format!("docker info failed: {e}")),
        DaemonState::NotProbed(why) => Some(why.clone()),
    }
}

/// On a non-Jetson host without an NVIDIA driver there is no GPU to hand to containers, so the
/// toolkit checks have nothing to say: the reason to skip them, else `None`.
pub fn no_gpu_host(ctx: &Context) -> Option<String> {
    if jetson(ctx) {
        return None;
    }
    let gpus = ctx.get::<crate::probes::Gpus>();
    gpus.driver
        .absence()
        .map(|a| format!("no NVIDIA driver on this host ({}): no GPU for containers", a.reason))
}
