//! `docker info --format '{{json .}}'`: one call tells the server version, runtimes, default
//! runtime, storage driver, root dir and cgroup driver. When the daemon cannot be reached the
//! client still prints its JSON (server fields empty) and says why on stderr (older clients) or in
//! `ServerErrors` (newer ones).

use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeMap;

#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct DockerInfo {
    pub server_version: String,
    /// Runtime name -> program path, as the daemon registered them.
    pub runtimes: BTreeMap<String, String>,
    pub default_runtime: String,
    pub storage_driver: String,
    pub docker_root_dir: String,
    pub cgroup_driver: String,
    pub cgroup_version: String,
    pub client_version: Option<String>,
    pub warnings: Vec<String>,
}

/// Why `docker info` gave no server facts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unreachable {
    /// The user may not open the socket: not in the `docker` group.
    PermissionDenied(String),
    /// Nothing answers on the socket: the daemon is stopped or crashed.
    DaemonDown(String),
    Other(String),
}

#[derive(Deserialize)]
struct Raw {
    #[serde(rename = "ServerVersion", default)]
    server_version: String,
    #[serde(rename = "Runtimes", default)]
    runtimes: Option<BTreeMap<String, Value>>,
    #[serde(rename = "DefaultRuntime", default)]
    default_runtime: String,
    #[serde(rename = "Driver", default)]
    driver: String,
    #[serde(rename = "DockerRootDir", default)]
    docker_root_dir: String,
    #[serde(rename = "CgroupDriver", default)]
    cgroup_driver: String,
    #[serde(rename = "CgroupVersion", default)]
    cgroup_version: String,
    #[serde(rename = "ClientInfo", default)]
    client_info: Option<Value>,
    #[serde(rename = "Warnings", default)]
    warnings: Option<Vec<String>>,
    #[serde(rename = "ServerErrors", default)]
    server_errors: Option<Vec<String>>,
}

/// Parses the command's stdout and stderr. `Ok` when the server answered.
pub fn parse(stdout: &str, stderr: &str) -> Result<DockerInfo, Unreachable> {
    let raw: Option<Raw> = serde_json::from_str(stdout.trim()).ok();
    let errors: Vec<String> = raw.as_ref().and_then(|r| r.server_errors.clone()).unwrap_or_default();
    match raw {
        Some(r) if !r.server_version.is_empty() => Ok(DockerInfo {
            server_version: r.server_version,
            runtimes: r
                .runtimes
                .unwrap_or_default()
                .into_iter()
                .map(|(name, v)| {
                    let path = v.get("path").and_then(Value::as_str).unwrap_or_default().to_string();
                    (name, path)
                })
                .collect(),
            default_runtime: r.default_runtime,
            storage_driver: r.driver,
            docker_root_dir: r.docker_root_dir,
            cgroup_driver: r.cgroup_driver,
            cgroup_version: r.cgroup_version,
            client_version: r
                .client_info
                .as_ref()
                .and_then(|c| c.get("Version"))
                .and_then(Value::as_str)
                .map(str::to_string),
            warnings: r.warnings.unwrap_or_default(),
        }),
        _ => {
            let why = errors.join("; ");
            let why = if why.trim().is_empty() { stderr.trim().to_string() } else { why };
            let lower = why.to_lowercase();
            let first =
                why.lines().find(|l| !l.trim().is_empty()).unwrap_or("no answer from the daemon").to_string();
            Err(if lower.contains("permission denied") {
                Unreachable::PermissionDenied(first)
            } else if lower.contains("cannot connect to the docker daemon")
                || lower.contains("is the docker daemon running")
            {
                Unreachable::DaemonDown(first)
            } else {
                Unreachable::Other(first)
            })
        }
    }
}

/// The client version from the same output, even when the server did not answer.
pub fn client_version(stdout: &str) -> Option<String> {
    // Only the one field: the rest of the answer is skipped, not built into a tree of values.
    #[derive(Deserialize)]
    struct Answer {
        #[serde(rename = "ClientInfo")]
        client_info: Option<Client>,
    }
    #[derive(Deserialize)]
    struct Client {
        #[serde(rename = "Version")]
        version: Option<String>,
    }
    let a: Answer = serde_json::from_str(stdout.trim()).ok()?;
    a.client_info?.version
}

/// Major and minor of a Docker version (`28.0.1`, `20.10.24+dfsg1`, `27.5.1-1~ubuntu`).
pub fn major_minor(version: &str) -> Option<(u32, u32)> {
    let mut parts = version.split(|c: char| !c.is_ascii_digit());
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next().and_then(|m| m.parse().ok()).unwrap_or(0);
    Some((major, minor))
}

#[cfg(test)]
mod tests {
    use super::*;

    const UP: &str = include_str!("../../tests/fixtures/runtime/docker-info/jetson-28.json");
    const DOWN: &str = include_str!("../../tests/fixtures/runtime/docker-info/daemon-down.json");

    #[test]
    fn parses_a_real_answer() {
        let info = parse(UP, "").unwrap();
        assert_eq!(info.server_version, "28.0.1");
        assert_eq!(info.runtimes.get("nvidia").map(String::as_str), Some("nvidia-container-runtime"));
        assert_eq!(info.default_runtime, "nvidia");
        assert_eq!(info.storage_driver, "overlay2");
        assert_eq!(info.docker_root_dir, "/var/lib/docker");
        assert_eq!(info.cgroup_driver, "systemd");
        assert_eq!(info.client_version.as_deref(), Some("28.0.1"));
    }

    #[test]
    fn tells_down_from_permission_denied() {
        let down = "Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?\n";
        assert!(matches!(parse(DOWN, down), Err(Unreachable::DaemonDown(_))));
        let denied = "permission denied while trying to connect to the Docker daemon socket at unix:///var/run/docker.sock: Get \"http://%2Fvar%2Frun%2Fdocker.sock/v1.48/info\": dial unix /var/run/docker.sock: connect: permission denied\n";
        assert!(matches!(parse(DOWN, denied), Err(Unreachable::PermissionDenied(_))));
        assert_eq!(client_version(DOWN).as_deref(), Some("28.2.2"));
        assert!(matches!(parse("", "boom"), Err(Unreachable::Other(_))));
    }

    #[test]
    fn versions() {
        assert_eq!(major_minor("28.0.1"), Some((28, 0)));
        assert_eq!(major_minor("20.10.24+dfsg1"), Some((20, 10)));
        assert_eq!(major_minor("x"), None);
    }
}
