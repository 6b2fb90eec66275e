//! Docker behind the `Host`: one interface for every call jetdoc makes to a Docker engine.
//!
//! Nothing outside `host/` spawns `docker`. A command or a step asks the host for its engine and
//! calls the operation it needs; the answer is data or a [`DockerError`] that already carries
//! Docker's own message (its stderr, once) and what to do next:
//!
//! ```no_run
//! # use jetdoc::host::{Host, docker::{BuildSpec, RunSpec}};
//! # fn step(host: &Host) -> Result<(), jetdoc::host::docker::DockerError> {
//! let docker = host.docker()?; // Err for a foreign --root: no daemon of that root runs here
//! docker.pull("nvcr.io/nvidia/l4t-jetpack:r36.4.0", Some("linux/arm64"), &|line: &str| {
//!     eprintln!("{line}") // progress: each line Docker prints, as it prints it
//! })?;
//! let spec = BuildSpec {
//!     dockerfile: "ctx/Dockerfile".into(),
//!     context: "ctx".into(),
//!     tags: vec!["app:1".into()],
//!     ..BuildSpec::default()
//! };
//! let id = docker.build(&spec, &|_: &str| {})?; // the new image's id (sha256:...)
//! let smoke = docker.run(&RunSpec {
//!     image: id,
//!     command: vec!["python3".into(), "-c".into(), "import torch".into()],
//!     runtime: Some("nvidia".into()),
//!     remove: true,
//!     ..RunSpec::default()
//! })?;
//! assert_eq!(smoke.exit_code, 0, "{}", smoke.stderr); // a failing command is data, not Err
//! # Ok(()) }
//! ```
//!
//! Streams: `save` hands back a reader over the `docker save` tar and `load` a writer into
//! `docker load`; both end with `finish()`, which waits for Docker and turns a failure into one
//! error holding Docker's stderr. Call `finish()` before reporting a read or write error of
//! your own: a truncated stream is usually only the symptom of Docker's failure.
//!
//! Implementations:
//! - [`CliDocker`]: the `docker` CLI through duct (`LC_ALL=C`, stdin closed, `DOCKER_HOST` when
//!   set, timeouts on the short calls, long calls streamed line by line).
//! - [`FakeDocker`]: in memory, for unit tests. It holds images by reference, answers `save`
//!   with tar bytes you give it, keeps what `load` received, answers `run` with canned output,
//!   fails any operation you tell it to (with the stderr you give), and records every call as a
//!   typed [`DockerCall`] (`fake.calls()`), so a test asserts what a step asked Docker to do.
//! - none: a `Host` on a foreign `--root` has no engine; `host.docker()` says so.

mod cli;
mod fake;

use serde::Serialize;
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::PathBuf;
use std::time::Duration;

pub use cli::CliDocker;
pub use fake::{DockerCall, FakeDocker};

use crate::container::image_config::ImageInspect;
use crate::facts::docker_info::DockerInfo;

/// Receives the lines Docker prints while it works (pull, build, push), as it prints them.
/// Any `Fn(&str)` is one: `&|line: &str| bar.set_message(line)`.
pub trait Progress {
    fn line(&self, line: &str);
}

impl<F: Fn(&str)> Progress for F {
    fn line(&self, line: &str) {
        self(line)
    }
}

/// Discards progress.
pub struct Quiet;

impl Progress for Quiet {
    fn line(&self, _: &str) {}
}

/// Which builder runs `docker build`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Builder {
    /// The classic builder (`DOCKER_BUILDKIT=0 docker build`).
    #[default]
    Classic,
    /// BuildKit through the buildx plugin (`docker buildx build --load`).
    BuildKit,
}

/// One `docker build`. Every value is passed as its own argument, never through a shell.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct BuildSpec {
    pub dockerfile: PathBuf,
    pub context: PathBuf,
    pub tags: Vec<String>,
    pub builder: Builder,
    /// `--network` for RUN steps (`none` on a daemon without a bridge).
    pub network: Option<String>,
    pub no_cache: bool,
    /// `--platform linux/arm64`.
    pub platform: Option<String>,
    /// `--build-arg KEY=VALUE`.
    pub build_args: Vec<(String, String)>,
    /// `--label KEY=VALUE`: recorded in the image config without passing through the Dockerfile.
    pub labels: BTreeMap<String, String>,
}

/// A bind mount for `docker run` (`--mount type=bind,...`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Mount {
    pub source: String,
    pub target: String,
    pub read_only: bool,
}

/// One `docker run`. The output is captured (smoke tests read it); `detach` returns at once
/// with the container's id instead.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RunSpec {
    pub image: String,
    /// The command (arguments after the image); empty: the image's CMD.
    pub command: Vec<String>,
    /// `--entrypoint`: Docker's CLI takes one program here; arguments go in `command`.
    pub entrypoint: Option<String>,
    pub name: Option<String>,
    /// `--runtime nvidia` (Jetson).
    pub runtime: Option<String>,
    /// `--gpus all` (x86 with the NVIDIA container toolkit).
    pub gpus: Option<String>,
    /// `--device /dev/video0`.
    pub devices: Vec<String>,
    pub mounts: Vec<Mount>,
    /// `-e KEY=VALUE`.
    pub env: Vec<(String, String)>,
    /// `--network host|none|NAME`.
    pub network: Option<String>,
    pub user: Option<String>,
    pub workdir: Option<String>,
    pub labels: BTreeMap<String, String>,
    /// `--ipc host` (shared memory with the host, as the ZED SDK and PyTorch loaders want).
    pub ipc: Option<String>,
    /// `--shm-size 2g`.
    pub shm_size: Option<String>,
    /// `--restart unless-stopped` (a detached, long-running container).
    pub restart: Option<String>,
    /// `--privileged`.
    pub privileged: bool,
    /// `--rm`: remove the container when it exits.
    pub remove: bool,
    /// `-d`: start and return the container id.
    pub detach: bool,
    /// Stop waiting after this long: the container is removed and `DockerError::TimedOut`
    /// returned. `None`: wait as long as it runs.
    #[serde(skip)]
    pub timeout: Option<Duration>,
}

/// A container's state, as `docker container inspect` tells it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ContainerState {
    pub running: bool,
    /// The image id (`sha256:...`) it was created from.
    pub image: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RunOutput {
    /// The container command's exit status (non-zero is a result, not an error).
    pub exit_code: i32,
    pub stdout: String,
    pub stderr: String,
    /// The container id, for a detached run.
    pub container: Option<String>,
}

/// What `docker load` reported: `name:tag` for tagged images, `sha256:...` for the others.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Loaded {
    pub images: Vec<String>,
}

/// The tar stream of `docker save`.
pub trait SaveStream: Read + Send {
    /// Waits for `docker save` to end. `Err` with Docker's stderr when it failed; a consumer
    /// that stopped early ends it instead. Call this before reporting a read error.
    fn finish(self: Box<Self>) -> Result<(), DockerError>;
}

/// The input of `docker load`.
pub trait LoadSink: Write + Send {
    /// Closes the input and waits: the images Docker loaded, or its error (with its stderr).
    fn finish(self: Box<Self>) -> Result<Loaded, DockerError>;
    /// Stops `docker load` without loading anything (the producer failed).
    fn abort(self: Box<Self>);
}

/// A Docker engine. See the module documentation for how steps use it.
pub trait Docker: Send + Sync {
    /// Which engine answers, for messages (`docker CLI, DOCKER_HOST=unix:///...`).
    fn describe(&self) -> String;
    /// `docker info`.
    fn info(&self) -> Result<DockerInfo, DockerError>;
    /// Whether BuildKit (the buildx plugin) is installed.
    fn buildkit_available(&self) -> bool;
    /// `docker image inspect REF...` in one call: the images that exist (absent ones are left
    /// out, not an error).
    fn inspect(&self, images: &[&str]) -> Result<Vec<ImageInspect>, DockerError>;
    /// `repository:tag` of the local images whose reference matches one of `patterns`
    /// (`docker image ls --filter reference=...`); untagged images are left out.
    fn image_list(&self, patterns: &[&str]) -> Result<Vec<String>, DockerError>;
    /// `docker pull [--platform P] REF`, streaming Docker's lines to `progress`.
    fn pull(
        &self,
        reference: &str,
        platform: Option<&str>,
        progress: &dyn Progress,
    ) -> Result<(), DockerError>;
    /// `docker build`, streaming the builder's output; returns the new image's id.
    fn build(&self, spec: &BuildSpec, progress: &dyn Progress) -> Result<String, DockerError>;
    /// `docker save IMAGE` as a stream (never on disk).
    fn save(&self, image: &str) -> Result<Box<dyn SaveStream>, DockerError>;
    /// `docker load`, fed by the caller.
    fn load(&self) -> Result<Box<dyn LoadSink>, DockerError>;
    /// `docker tag SOURCE TARGET`.
    fn tag(&self, source: &str, target: &str) -> Result<(), DockerError>;
    /// `docker push REF`, streaming Docker's lines.
    fn push(&self, reference: &str, progress: &dyn Progress) -> Result<(), DockerError>;
    /// `docker run`; the command's exit status is in the output. `Err` when Docker could not
    /// start the container (exit 125), or on the timeout.
    fn run(&self, spec: &RunSpec) -> Result<RunOutput, DockerError>;
    /// `docker rm -f CONTAINER`.
    fn remove_container(&self, container: &str) -> Result<(), DockerError>;
    /// `docker container inspect NAME`: whether it runs and its image id; `None` when there is
    /// no such container.
    fn container(&self, name: &str) -> Result<Option<ContainerState>, DockerError>;
    /// `docker rmi [-f] IMAGE`.
    fn remove_image(&self, image: &str, force: bool) -> Result<(), DockerError>;

    /// One image, or `DockerError::NotFound`.
    fn inspect_one(&self, image: &str) -> Result<ImageInspect, DockerError> {
        self.inspect(&[image])?
            .into_iter()
            .next()
            .ok_or_else(|| DockerError::NotFound { image: image.to_string() })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DockerError {
    /// No engine belongs to the inspected root (or the commands are answered by a fixture).
    #[error("{why}")]
    NoDaemon { why: String },
    #[error("the Docker CLI (`docker`) is not installed (not on PATH): install Docker Engine (`curl -fsSL https://get.docker.com | sh`, or the docker.io package)")]
    NotInstalled,
    #[error("image {image} is not present in the local Docker engine: pull or build it first (`docker pull {image}`)")]
    NotFound { image: String },
    /// Docker ran and failed; `stderr` is what it said (trimmed), shown once.
    #[error("`{command}` failed{}: {}{}", code.map(|c| format!(" (exit {c})")).unwrap_or_default(), stderr_or_none(stderr), daemon_hint(stderr))]
    Failed { command: String, code: Option<i32>, stderr: String },
    #[error("`{command}` did not finish within {}s", after.as_secs())]
    TimedOut { command: String, after: Duration },
    #[error("`{command}`: {error}")]
    Io { command: String, error: std::io::Error },
    #[error("`{command}` printed output jetdoc cannot read ({error}); report this with the output of that command")]
    Malformed { command: String, error: String },
}

impl DockerError {
    /// Docker's own words, when it said any.
    pub fn stderr(&self) -> Option<&str> {
        match self {
            DockerError::Failed { stderr, .. } => Some(stderr),
            _ => None,
        }
    }
}

fn stderr_or_none(stderr: &str) -> &str {
    if stderr.trim().is_empty() {
        "it printed no error message"
    } else {
        stderr.trim()
    }
}

/// The next step when the failure was reaching the daemon at all.
fn daemon_hint(stderr: &str) -> &'static str {
    let lower = stderr.to_lowercase();
    if lower.contains("permission denied") && lower.contains("docker") && lower.contains("sock") {
        "\n  this user may not use the Docker socket: run with sudo, or join the `docker` group (`jetdoc fix docker.group`)"
    } else if lower.contains("cannot connect to the docker daemon")
        || lower.contains("is the docker daemon running")
    {
        "\n  the Docker daemon is not running (or DOCKER_HOST points elsewhere): `sudo systemctl start docker`, then `docker info`"
    } else {
        ""
    }
}

/// At most this much of Docker's stderr is kept in an error (the end is where the reason is).
const MAX_STDERR: usize = 4096;

/// Trims Docker's stderr for an error: the last `MAX_STDERR` bytes, whole lines, no blank lines.
pub(crate) fn trim_stderr(stderr: &str) -> String {
    let lines: Vec<&str> = stderr.lines().map(str::trim_end).filter(|l| !l.trim().is_empty()).collect();
    let mut kept: Vec<&str> = Vec::new();
    let mut size = 0;
    for line in lines.iter().rev() {
        if size + line.len() > MAX_STDERR && !kept.is_empty() {
            break;
        }
        size += line.len() + 1;
        kept.push(line);
    }
    kept.reverse();
    kept.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failure_shows_dockers_stderr_once_with_the_next_step() {
        let e = DockerError::Failed {
            command: "docker save x:1".into(),
            code: Some(1),
            stderr: "Error response from daemon: reference does not exist".into(),
        };
        assert_eq!(
            e.to_string(),
            "`docker save x:1` failed (exit 1): Error response from daemon: reference does not exist"
        );
        let e = DockerError::Failed {
            command: "docker info".into(),
            code: Some(1),
            stderr: "Cannot connect to the Docker daemon at unix:///x.sock. Is the docker daemon running?"
                .into(),
        };
        assert!(e.to_string().contains("systemctl start docker"), "{e}");
    }

    #[test]
    fn stderr_is_trimmed_to_its_end() {
        let long: String = (0..2000).map(|i| format!("line {i}\n\n")).collect();
        let t = trim_stderr(&long);
        assert!(t.len() <= MAX_STDERR + 20 && t.ends_with("line 1999"), "{}", t.len());
        assert!(!t.contains("\n\n"));
    }
}
