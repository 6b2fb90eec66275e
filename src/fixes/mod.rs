//! Fixes: each file here only *plans* (reads through the `Context`, returns the steps it would
//! take, changes nothing). `apply` is the one module that writes to the host: it re-reads every
//! file before writing, backs it up, writes atomically, journals the change for `--undo`, and
//! rolls back when Docker does not come back.

pub mod apply;
pub mod docker_group;
pub mod gpu_runtime;
pub mod iptables_raw;

use serde::Serialize;

use crate::context::Context;
use crate::host::Host;

/// One file to write: its path inside the root, the bytes seen when planning (`None`: it does
/// not exist), and the new bytes.
#[derive(Debug, Clone, Serialize)]
pub struct FileChange {
    pub path: String,
    #[serde(skip)]
    pub before: Option<Vec<u8>>,
    #[serde(skip)]
    pub after: Vec<u8>,
    pub why: String,
}

/// A command line (program and arguments, never through a shell unless the program is `sh`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Cmd {
    pub argv: Vec<String>,
}

impl Cmd {
    pub fn new(argv: &[&str]) -> Cmd {
        Cmd { argv: argv.iter().map(|s| s.to_string()).collect() }
    }

    /// Shell-quoted for display.
    pub fn display(&self) -> String {
        self.argv
            .iter()
            .map(|a| {
                if !a.is_empty() && a.chars().all(|c| c.is_ascii_alphanumeric() || "-_./=:+,@%".contains(c)) {
                    a.clone()
                } else {
                    format!("'{}'", a.replace('\'', r"'\''"))
                }
            })
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// One step of a plan, executed in order by `apply`.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Step {
    /// Run a command; its failure stops the plan (and rolls back what was written).
    Run {
        cmd: Cmd,
        why: String,
    },
    Write(FileChange),
    /// `dockerd --validate --config-file FILE`: the daemon's own opinion of the new file.
    Validate {
        cmd: Cmd,
        file: String,
    },
    /// Restart Docker (the command depends on the init system, or `JETDOC_DOCKER_RESTART`).
    RestartDocker {
        cmd: Cmd,
    },
    /// After the restart, `docker info` must list this runtime (and have it as default).
    VerifyRuntime {
        runtime: String,
        default: bool,
    },
}

#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    pub fix: &'static str,
    pub steps: Vec<Step>,
    /// Things the user should know (a validation that cannot run, log out to get a new group).
    pub notes: Vec<String>,
    /// Shown but never applied (`docker.iptables-raw`: the user picks one of two remedies).
    pub plan_only: bool,
}

impl Plan {
    pub fn new(fix: &'static str) -> Plan {
        Plan { fix, steps: Vec::new(), notes: Vec::new(), plan_only: false }
    }

    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }
}

/// Why a fix will not plan: a file it must edit does not parse, or a precondition is missing.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct Refusal {
    pub message: String,
}

pub struct FixDef {
    pub id: &'static str,
    /// Check ids this fix repairs: `jetdoc fix <check id>` picks it.
    pub repairs: &'static [&'static str],
    pub title: &'static str,
    pub plan: fn(&Context, &Options) -> Result<Plan, Refusal>,
}

#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Replace a file that does not parse (after a backup) instead of refusing.
    pub force: bool,
}

pub fn registry() -> Vec<&'static FixDef> {
    vec![&gpu_runtime::FIX, &docker_group::FIX, &iptables_raw::FIX]
}

/// The fix for an id: a fix id (`gpu-runtime`) or the id of a check it repairs.
pub fn find(id: &str) -> Option<&'static FixDef> {
    registry().into_iter().find(|f| f.id == id || f.repairs.contains(&id))
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_ids_find_their_fix() {
        assert_eq!(find("docker.default-runtime").unwrap().id, "gpu-runtime");
        assert_eq!(find("gpu-runtime").unwrap().id, "gpu-runtime");
        assert_eq!(find("docker.group").unwrap().id, "docker.group");
        assert!(find("l4t.release").is_none());
        let checks: Vec<&str> = crate::checks::registry().iter().map(|c| c.id).collect();
        for f in registry() {
            for r in f.repairs {
                assert!(checks.contains(r), "{} repairs unknown check {r}", f.id);
            }
        }
    }

    #[test]
    fn commands_are_quoted_for_display() {
        assert_eq!(Cmd::new(&["sh", "-c", "kill -HUP 1"]).display(), "sh -c 'kill -HUP 1'");
        assert_eq!(Cmd::new(&["usermod", "-aG", "docker", "nvidia"]).display(), "usermod -aG docker nvidia");
    }
}
