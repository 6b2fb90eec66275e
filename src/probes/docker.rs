//! Docker: the client, the daemon (one `docker info --format '{{json .}}'` call), the daemon's
//! `daemon.json`, and whether the running kernel can give Docker 28 its `iptable_raw` table.

use serde_json::{Map, Value};

use crate::context::{Context, Probe};
use crate::facts::daemon_json::{self, DaemonJsonError};
use crate::facts::docker_info::{self, DockerInfo, Unreachable};
use crate::facts::dpkg_status::upstream_version;
use crate::facts::kernel_modules;
use crate::host::{CmdStatus, Host};
use crate::probes::{Packages, Software};

pub const INFO_ARGS: [&str; 3] = ["info", "--format", "{{json .}}"];
/// Where a Docker CLI lives when installed from packages, get.docker.com, or snap.
const CLIENT_PATHS: [&str; 4] =
    ["/usr/bin/docker", "/usr/local/bin/docker", "/bin/docker", "/snap/bin/docker"];
/// Packages that ship dockerd, newest naming first.
const ENGINE_PACKAGES: [&str; 3] = ["docker-ce", "docker.io", "moby-engine"];

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DaemonState {
    Up(DockerInfo),
    /// The `docker` CLI is not installed.
    NotInstalled,
    Unreachable(Unreachable),
    /// Not asked: inspecting another root filesystem, or the command timed out / failed to run.
    NotProbed(String),
}

impl DaemonState {
    pub fn info(&self) -> Option<&DockerInfo> {
        match self {
            DaemonState::Up(i) => Some(i),
            _ => None,
        }
    }
}

pub struct Docker {
    pub daemon: DaemonState,
    /// The client version from `docker info`, when the CLI ran.
    pub client_version: Option<String>,
    /// The CLI's path when found among the usual install locations of the root.
    pub client_file: Option<String>,
    /// The engine's package and upstream version from dpkg (`docker-ce 28.0.1`).
    pub engine_package: Option<(String, String)>,
}

impl Docker {
    /// The server version from the daemon, else from the engine package.
    pub fn server_version(&self) -> Option<String> {
        match &self.daemon {
            DaemonState::Up(i) => Some(i.server_version.clone()),
            _ => self.engine_package.as_ref().map(|(_, v)| v.clone()),
        }
    }

    pub fn snap(&self) -> bool {
        self.client_file.as_deref() == Some("/snap/bin/docker")
    }
}

/// Runs `docker info` now (not cached): the fixer uses it again after a restart.
pub fn query_daemon(host: &Host) -> (DaemonState, Option<String>) {
    let out = host.run("docker", &INFO_ARGS);
    let client = docker_info::client_version(&out.stdout);
    let state = match &out.status {
        CmdStatus::NotFound => DaemonState::NotInstalled,
        CmdStatus::Exited(_) => match docker_info::parse(&out.stdout, &out.stderr) {
            Ok(info) => DaemonState::Up(info),
            Err(u) => DaemonState::Unreachable(u),
        },
        _ => DaemonState::NotProbed(out.describe_failure("docker info --format '{{json .}}'")),
    };
    (state, client)
}

impl Probe for Docker {
    fn probe(ctx: &Context) -> Self {
        let (daemon, client_version) = query_daemon(&ctx.host);
        let client_file = CLIENT_PATHS.iter().find(|p| ctx.host.exists(p)).map(|p| p.to_string());
        let packages = ctx.get::<Packages>();
        let engine_package = ENGINE_PACKAGES
            .iter()
            .find_map(|n| packages.installed(n))
            .map(|p| (p.name.clone(), upstream_version(&p.version).to_string()));
        Docker { daemon, client_version, client_file, engine_package }
    }
}

/// `/etc/docker/daemon.json` as read: missing, parsed, or broken (with the bytes kept so that
/// nothing ever rewrites what it could not read).
pub struct DaemonConfig {
    pub path: &'static str,
    pub bytes: Option<Vec<u8>>,
    pub parsed: Result<Map<String, Value>, DaemonJsonError>,
    /// Why the file could not be read at all (other than missing), e.g. needs root.
    pub unreadable: Option<crate::host::Reason>,
}

impl DaemonConfig {
    pub fn read(host: &Host) -> DaemonConfig {
        let path = daemon_json::PATH;
        match host.read(path) {
            Ok(bytes) => DaemonConfig {
                path,
                parsed: daemon_json::parse(&bytes),
                bytes: Some(bytes),
                unreadable: None,
            },
            Err(a) if a.reason == crate::host::Reason::Missing => {
                DaemonConfig { path, bytes: None, parsed: Ok(Map::new()), unreadable: None }
            }
            Err(a) => DaemonConfig { path, bytes: None, parsed: Ok(Map::new()), unreadable: Some(a.reason) },
        }
    }
}

impl Probe for DaemonConfig {
    fn probe(ctx: &Context) -> Self {
        DaemonConfig::read(&ctx.host)
    }
}

/// Where the `iptable_raw` module was found for the running (or the root's) kernel.
pub struct KernelModules {
    pub release: Option<String>,
    /// `loaded`, `built-in`, `loadable`, or `None` when no source lists it.
    pub iptable_raw: Option<&'static str>,
    /// Which module sources could be read (none readable = unknown, not "missing").
    pub sources: Vec<String>,
}

impl Probe for KernelModules {
    fn probe(ctx: &Context) -> Self {
        let host = &ctx.host;
        let sw = ctx.get::<Software>();
        let release = sw.kernel.value().cloned().or_else(|| {
            // A foreign root has no /proc: take the only kernel installed under /lib/modules.
            let dirs = host.read_dir("/lib/modules").unwrap_or_default();
            (dirs.len() == 1).then(|| dirs[0].clone())
        });
        let mut sources = Vec::new();
        let mut found = None;
        let want = "iptable_raw";
        if let Ok(t) = host.read_text("/proc/modules") {
            sources.push("/proc/modules".to_string());
            if kernel_modules::loaded(&t).iter().any(|m| m == want) {
                found = Some("loaded");
            }
        }
        if let Some(rel) = &release {
            let builtin = format!("/lib/modules/{rel}/modules.builtin");
            if let Ok(t) = host.read_text(&builtin) {
                sources.push(builtin);
                if found.is_none() && kernel_modules::builtin(&t).iter().any(|m| m == want) {
                    found = Some("built-in");
                }
            }
            let dep = format!("/lib/modules/{rel}/modules.dep");
            if let Ok(t) = host.read_text(&dep) {
                sources.push(dep);
                if found.is_none() && kernel_modules::available(&t).iter().any(|m| m == want) {
                    found = Some("loadable");
                }
            }
        }
        KernelModules { release, iptable_raw: found, sources }
    }
}
