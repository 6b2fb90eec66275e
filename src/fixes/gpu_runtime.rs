//! `jetdoc fix --gpu-runtime`: install the toolkit when it is missing, register the nvidia
//! runtime in daemon.json (and make it the default on Jetson), validate, restart Docker, verify.

use super::{Cmd, FixDef, Options, Plan, Refusal};
use crate::context::Context;
use crate::facts::daemon_json::{self, NVIDIA};
use crate::facts::docker_info::major_minor;
use crate::probes::docker::DaemonState;
use crate::probes::{DaemonConfig, Docker, Identity, Toolkit};
use crate::steps::{RestartDocker, RunCommand, ValidateDaemonConfig, VerifyRuntime, WriteFile};

pub static FIX: FixDef = FixDef {
    id: "gpu-runtime",
    repairs: &[
        "docker.nvidia-runtime",
        "docker.default-runtime",
        "docker.daemon-json",
        "docker.gpus",
        "toolkit.packages",
        "toolkit.nvidia-ctk",
    ],
    title: "Install the NVIDIA container toolkit if missing, register the nvidia runtime (default on Jetson), restart Docker",
    plan,
};

const KEYRING: &str = "/usr/share/keyrings/nvidia-container-toolkit-keyring.gpg";
const X86_LIST: &str = "/etc/apt/sources.list.d/nvidia-container-toolkit.list";

fn plan(ctx: &Context, opts: &Options) -> Result<Plan, Refusal> {
    let jetson = ctx.get::<Identity>().jetson;
    let tk = ctx.get::<Toolkit>();
    let docker = ctx.get::<Docker>();
    let cfg = ctx.get::<DaemonConfig>();
    let mut plan = Plan::new(FIX.id);

    if !tk.any_installed() {
        install_toolkit(ctx, jetson, &mut plan);
    }

    if let Some(why) = &cfg.unreadable {
        let next = if *why == crate::host::Reason::NeedsRoot {
            "run jetdoc fix with sudo"
        } else {
            "move it away and run jetdoc fix again"
        };
        return Err(Refusal { message: format!("{}: {why}: {next}", cfg.path) });
    }
    let current = match &cfg.parsed {
        Ok(map) => map.clone(),
        Err(e) if opts.force => {
            plan.notes.push(format!("{} does not parse ({e}): --force replaces it; the original is kept in the backup", cfg.path));
            serde_json::Map::new()
        }
        Err(e) => {
            return Err(Refusal {
                message: format!(
                    "{}: {e}\n  refusing to edit a daemon.json that does not parse (dockerd would not start with it either); the file is unchanged\n  correct it by hand, or run `jetdoc fix --gpu-runtime --force` to replace it with a minimal one after a backup",
                    cfg.path
                ),
            })
        }
    };
    let wanted = daemon_json::with_nvidia_runtime(&current, jetson).map_err(|e| Refusal {
        message: format!(
            "{}: {e}; correct it by hand, or pass --force to replace the file after a backup",
            cfg.path
        ),
    })?;
    let original = cfg.bytes.clone().unwrap_or_default();
    let file_changes = cfg.parsed.is_err() || wanted != current || cfg.bytes.is_none();
    // A foreign root (a mounted SD card): no command of this machine may judge or restart it.
    let offline = !ctx.host.runs_commands();
    if file_changes {
        let what = if jetson {
            "register the nvidia runtime and make it the default"
        } else {
            "register the nvidia runtime"
        };
        let after = if cfg.parsed.is_ok() {
            daemon_json::render_edit(&original, &current, &wanted)
        } else {
            daemon_json::render(&wanted, b"")
        };
        plan.push(WriteFile::new(cfg.path, cfg.bytes.clone(), after, what));
        match docker.server_version().as_deref().and_then(major_minor) {
            // This machine's dockerd would judge the file with its own version and plugins, and
            // jetdoc runs no command against another root filesystem.
            Some((major, _)) if major >= 23 && offline => plan.notes.push(format!(
                "not validated: `dockerd --validate` cannot run for another root filesystem; Docker {} there checks the file when it starts",
                docker.server_version().unwrap_or_default()
            )),
            // `dockerd --validate` arrived in Docker 23.0 (moby PR #42393).
            Some((major, _)) if major >= 23 => plan.push(ValidateDaemonConfig::new(cfg.path)),
            Some(_) => plan.notes.push(format!(
                "Docker {} has no `dockerd --validate` (Docker 23+): the new file is checked by the restart instead",
                docker.server_version().unwrap_or_default()
            )),
            None => plan.notes.push("Docker version unknown: the new file is not validated before the restart".into()),
        }
    }
    // Also restart when the file is already right but the running daemon has not loaded it.
    let daemon_stale = match &docker.daemon {
        DaemonState::Up(i) => !i.runtimes.contains_key(NVIDIA) || (jetson && i.default_runtime != NVIDIA),
        _ => false,
    };
    if file_changes || daemon_stale {
        if matches!(docker.daemon, DaemonState::NotInstalled) {
            plan.notes.push("Docker is not installed: the configuration takes effect once it is (`curl -fsSL https://get.docker.com | sh`)".into());
        } else if offline {
            plan.notes.push(
                "inspecting another root filesystem: Docker there picks the new file up at its next start"
                    .into(),
            );
        } else {
            plan.push(RestartDocker::for_host(&ctx.host));
            plan.push(VerifyRuntime { runtime: NVIDIA.into(), default: jetson });
        }
    }
    Ok(plan)
}

fn install_toolkit(ctx: &Context, jetson: bool, plan: &mut Plan) {
    let why = "the NVIDIA container toolkit is not installed".to_string();
    if jetson {
        // JetPack's meta-package from the L4T apt repository pulls in the toolkit and CSVs.
        plan.push(RunCommand::new(Cmd::new(&["apt-get", "update"]), why.clone()));
        plan.push(RunCommand::new(Cmd::new(&["apt-get", "install", "-y", "nvidia-container"]), why));
        return;
    }
    // NVIDIA's install guide (With apt: Ubuntu, Debian): keyring, signed-by list, install.
    plan.push(RunCommand::new(
        Cmd::new(&[
            "sh",
            "-c",
            &format!("curl -fsSL https://nvidia.github.io/libnvidia-container/gpgkey | gpg --dearmor --yes -o {KEYRING}"),
        ]),
        "NVIDIA's repository signing key",
    ));
    if !ctx.host.exists(X86_LIST) {
        plan.push(WriteFile::new(
            X86_LIST,
            None,
            format!("deb [signed-by={KEYRING}] https://nvidia.github.io/libnvidia-container/stable/deb/$(ARCH) /\n").into_bytes(),
            "NVIDIA's container toolkit repository",
        ));
    }
    plan.push(RunCommand::new(Cmd::new(&["apt-get", "update"]), why.clone()));
    plan.push(RunCommand::new(Cmd::new(&["apt-get", "install", "-y", "nvidia-container-toolkit"]), why));
}
