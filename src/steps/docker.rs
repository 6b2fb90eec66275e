//! Docker steps: `validate` (the daemon's own opinion of a new daemon.json), `restart-docker`
//! (restart, then wait until `docker info` answers; run again after a rollback so that Docker
//! loads the restored file) and `verify-runtime` (a fresh `docker info` lists the runtime).

use std::time::{Duration, Instant};

use serde::Serialize;

use super::{Cmd, Step, StepCx, StepError, Undo};
use crate::host::{CmdStatus, Host};
use crate::probes::docker::DaemonState;
use crate::probes::Docker;

const RESTART_TIMEOUT: Duration = Duration::from_secs(180);
/// How long Docker may take to answer again after its restart command returned.
const COME_BACK: Duration = Duration::from_secs(20);

/// How Docker is restarted on this host: `JETDOC_DOCKER_RESTART` (a command line, run by `sh -c`;
/// tests use it to restart their own daemon), else systemd, else SysV `service`.
pub fn docker_restart_cmd(host: &Host) -> Cmd {
    if let Some(line) = host.env("JETDOC_DOCKER_RESTART").filter(|l| !l.trim().is_empty()) {
        return Cmd::new(&["sh", "-c", &line]);
    }
    if host.is_dir("/run/systemd/system") {
        Cmd::new(&["systemctl", "restart", "docker"])
    } else {
        Cmd::new(&["service", "docker", "restart"])
    }
}

/// `dockerd --validate --config-file FILE` (Docker 23+), run on the new file before the restart.
#[derive(Debug, Clone, Serialize)]
pub struct ValidateDaemonConfig {
    pub cmd: Cmd,
    /// The file inside the root; the command is given its path on this machine.
    pub file: String,
}

impl ValidateDaemonConfig {
    pub fn new(file: &str) -> ValidateDaemonConfig {
        ValidateDaemonConfig {
            cmd: Cmd::new(&["dockerd", "--validate", "--config-file", file]),
            file: file.to_string(),
        }
    }
}

impl Step for ValidateDaemonConfig {
    fn kind(&self) -> &'static str {
        "validate"
    }

    fn describe(&self) -> String {
        format!("run: {}   # validate before the restart", self.cmd.display())
    }

    fn command(&self) -> Option<&Cmd> {
        Some(&self.cmd)
    }

    fn execute(&self, cx: &mut StepCx<'_>, _undo: &Undo) -> Result<(), StepError> {
        cx.progress(&format!("validating {}", self.file));
        let real =
            cx.host().resolve(&self.file).map(|p| p.display().to_string()).unwrap_or(self.file.clone());
        let argv: Vec<String> =
            self.cmd.argv.iter().map(|a| if *a == self.file { real.clone() } else { a.clone() }).collect();
        let out = cx.run_shown_as(&Cmd { argv }, self.cmd.display(), RESTART_TIMEOUT);
        match out.status {
            CmdStatus::Exited(0) => Ok(()),
            CmdStatus::NotFound => {
                cx.note("dockerd is not on PATH: the new file was not validated before the restart");
                Ok(())
            }
            // Planned for a live host, but the runner is offline: nothing ran, nothing was rejected.
            CmdStatus::Offline => {
                cx.note("`dockerd --validate` cannot check another root filesystem's file: not validated");
                Ok(())
            }
            _ => Err(StepError::Failed(format!(
                "dockerd rejects the new {}: {}",
                self.file,
                out.describe_failure(&self.cmd.display())
            ))),
        }
    }
}

/// Restart Docker (the command depends on the init system, or `JETDOC_DOCKER_RESTART`).
#[derive(Debug, Clone, Serialize)]
pub struct RestartDocker {
    pub cmd: Cmd,
}

impl RestartDocker {
    pub fn for_host(host: &Host) -> RestartDocker {
        RestartDocker { cmd: docker_restart_cmd(host) }
    }
}

impl Step for RestartDocker {
    fn kind(&self) -> &'static str {
        "restart-docker"
    }

    fn describe(&self) -> String {
        format!("run: {}   # restart Docker to load it", self.cmd.display())
    }

    fn command(&self) -> Option<&Cmd> {
        Some(&self.cmd)
    }

    fn prepare(&self, _cx: &mut StepCx<'_>) -> Result<Undo, StepError> {
        Ok(Undo::Again { argv: self.cmd.argv.clone() })
    }

    fn execute(&self, cx: &mut StepCx<'_>, _undo: &Undo) -> Result<(), StepError> {
        cx.progress("restarting Docker");
        let out = cx.run(&self.cmd, RESTART_TIMEOUT);
        if out.success() {
            Ok(())
        } else {
            Err(StepError::Failed(format!(
                "Docker did not restart: {}",
                out.describe_failure(&self.cmd.display())
            )))
        }
    }

    fn verify(&self, cx: &mut StepCx<'_>) -> Result<(), StepError> {
        match wait_for_docker(cx) {
            DaemonState::Up(_) => Ok(()),
            other => Err(StepError::Failed(format!(
                "Docker did not come back after the restart ({})",
                describe(&other)
            ))),
        }
    }

    fn again(&self, cx: &mut StepCx<'_>) -> Result<(), StepError> {
        cx.progress("restarting Docker with the original configuration");
        let out = cx.run(&self.cmd, RESTART_TIMEOUT);
        if !out.success() {
            let e = out.describe_failure(&self.cmd.display());
            cx.note(format!("the second restart failed too: {e}; check `journalctl -u docker -n 50`"));
            return Ok(());
        }
        match wait_for_docker(cx) {
            DaemonState::Up(_) => cx.note("Docker is running again with the original configuration"),
            other => cx.note(format!("Docker is still not answering: {}", describe(&other))),
        }
        Ok(())
    }
}

/// After the restart, a fresh `docker info` must list this runtime (and have it as the default).
#[derive(Debug, Clone, Serialize)]
pub struct VerifyRuntime {
    pub runtime: String,
    pub default: bool,
}

impl Step for VerifyRuntime {
    fn kind(&self) -> &'static str {
        "verify-runtime"
    }

    fn describe(&self) -> String {
        let d = if self.default { " as the default runtime" } else { "" };
        format!(
            "check: `docker info` lists runtime {}{d}; otherwise restore the backup and restart again",
            self.runtime
        )
    }

    fn execute(&self, cx: &mut StepCx<'_>, _undo: &Undo) -> Result<(), StepError> {
        cx.progress("checking that Docker lists the runtime");
        Ok(())
    }

    fn verify(&self, cx: &mut StepCx<'_>) -> Result<(), StepError> {
        let runtime = &self.runtime;
        match wait_for_docker(cx) {
            DaemonState::Up(info) if !info.runtimes.contains_key(runtime) => Err(StepError::Failed(format!(
                "Docker came back but does not list the {runtime} runtime (does this daemon read /etc/docker/daemon.json? rootless Docker, DOCKER_HOST or a --config-file in its service unit point elsewhere)"
            ))),
            DaemonState::Up(info) if self.default && info.default_runtime != *runtime => Err(StepError::Failed(
                format!("Docker came back with default runtime {} instead of {runtime}", info.default_runtime),
            )),
            DaemonState::Up(_) => Ok(()),
            other => {
                Err(StepError::Failed(format!("Docker did not come back after the restart ({})", describe(&other))))
            }
        }
    }
}

/// Probes Docker afresh until `docker info` answers (Docker may take a moment after its restart
/// command returned).
fn wait_for_docker(cx: &StepCx<'_>) -> DaemonState {
    let deadline = Instant::now() + COME_BACK;
    loop {
        let state = cx.ctx.refresh::<Docker>().daemon.clone();
        let retry = matches!(state, DaemonState::Unreachable(_))
            && Instant::now() < deadline
            && cx.host().runs_real_commands();
        if !retry {
            return state;
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}

fn describe(state: &DaemonState) -> String {
    match state {
        DaemonState::Up(i) => format!("Docker {}", i.server_version),
        DaemonState::NotInstalled => "docker is not installed".into(),
        DaemonState::Unreachable(u) => format!("{u:?}"),
        DaemonState::NotProbed(w) => w.clone(),
    }
}
