//! `Host`: the one door to the machine being inspected.
//!
//! Every probe reads files, runs commands and looks up environment variables through a `Host`,
//! never through `std::fs`, `std::process` or `std::env` directly. A host maps absolute paths
//! under a root (`/` in production, `--root DIR` for a mounted SD card or a test fixture) and
//! resolves symlinks *inside* that root: on a Jetson `/usr/local/cuda` is an absolute link to
//! `/usr/local/cuda-12.6`, and following it naively would escape a fixture.

mod absence;
pub mod docker;
mod inroot;
pub mod runner;
mod space;

use std::collections::BTreeMap;
use std::fs;
use std::io::Read;
use std::path::{Component, Path, PathBuf};
use std::time::Duration;

pub use absence::{is_root, Absence, Reason};
pub use inroot::{EntryKind, FileState, HostError, TEMP_PREFIX};
pub use runner::{CmdOutput, CmdStatus, CommandRunner, FakeRunner, OfflineRunner, RealRunner, RunnerKind};
pub use space::Space;

/// Files larger than this are refused: every file jetdoc probes is far smaller (the dpkg status of
/// a full JetPack install is ~5 MB), so anything bigger is not the file we expect.
pub const MAX_FILE_BYTES: u64 = 64 * 1024 * 1024;
/// Linux gives up after 40 symlinks in one lookup (ELOOP); so do we.
const MAX_SYMLINK_HOPS: usize = 40;
/// Default time a probe command may take before it is killed.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// Where environment variables come from.
#[derive(Debug, Clone)]
pub enum EnvSource {
    /// The process environment (a live host).
    Process,
    /// A fixed map (a fixture's `commands.toml`, or empty for a foreign root).
    Map(BTreeMap<String, String>),
}

pub struct Host {
    root: PathBuf,
    live: bool,
    runner: Box<dyn CommandRunner>,
    env: EnvSource,
    /// Resolved path components that exist under a foreign root: `None` for a plain file or
    /// directory, `Some(target)` for a symlink. A check run resolves hundreds of paths sharing a
    /// few dozen prefixes (`/sys/devices/platform/...`); each prefix is stat'ed once. Missing
    /// components are not cached: a fix may create them.
    nodes: std::sync::Mutex<std::collections::HashMap<String, Option<String>>>,
    /// The Docker engine of this machine, or why there is none (see `docker()`).
    docker: Result<Box<dyn docker::Docker>, String>,
}

impl std::fmt::Debug for Host {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Host")
            .field("root", &self.root)
            .field("live", &self.live)
            .field("runner", &self.runner.kind())
            .field("docker", &self.docker.as_ref().map(|d| d.describe()))
            .finish()
    }
}

/// The result of looking up one path: the file's bytes, or why there are none.
pub type Found<T> = Result<T, Absence>;

impl Host {
    /// The machine jetdoc runs on: root `/`, real commands, the process environment.
    pub fn live() -> Host {
        Host {
            root: PathBuf::from("/"),
            live: true,
            runner: Box::new(RealRunner),
            env: EnvSource::Process,
            nodes: Default::default(),
            docker: Ok(Box::new(docker::CliDocker::from_env(|k| std::env::var(k).ok()))),
        }
    }

    /// Another filesystem (a mounted image or a fixture). `runner` decides what commands answer.
    pub fn with_root(root: &Path, runner: Box<dyn CommandRunner>, env: EnvSource) -> Result<Host, Absence> {
        let shown = root.display().to_string();
        let meta = fs::metadata(root).map_err(|e| Absence::from_io(&shown, &e))?;
        if !meta.is_dir() {
            return Err(Absence::new(&shown, Reason::NotADirectory));
        }
        let root = fs::canonicalize(root).map_err(|e| Absence::from_io(&shown, &e))?;
        let live = root == Path::new("/");
        // Real commands (the live host, or the test hook that runs them against a foreign root)
        // reach this machine's engine; otherwise no engine belongs to what is inspected.
        let docker: Result<Box<dyn docker::Docker>, String> = match runner.kind() {
            RunnerKind::Real => {
                let docker_host = match &env {
                    EnvSource::Process => std::env::var("DOCKER_HOST").ok(),
                    EnvSource::Map(m) => m.get("DOCKER_HOST").cloned(),
                };
                Ok(Box::new(docker::CliDocker::new(docker_host)))
            }
            RunnerKind::Offline => Err(format!(
                "inspecting another root filesystem ({}): no Docker daemon of that root runs here, so its images cannot be inspected, pulled, built or run; run jetdoc on the device itself, without --root",
                root.display()
            )),
            RunnerKind::Fake => {
                Err("commands are answered from a fixture (--commands): no Docker engine is used".into())
            }
        };
        Ok(Host { root, live, runner, env, nodes: Default::default(), docker })
    }

    /// The same host with another Docker engine (a `FakeDocker` in tests).
    pub fn with_docker(mut self, engine: Box<dyn docker::Docker>) -> Host {
        self.docker = Ok(engine);
        self
    }

    /// This machine's Docker engine. `Err` says why there is none: a foreign `--root` is another
    /// machine's filesystem, and no daemon of it runs here.
    pub fn docker(&self) -> Result<&dyn docker::Docker, docker::DockerError> {
        match &self.docker {
            Ok(d) => Ok(d.as_ref()),
            Err(why) => Err(docker::DockerError::NoDaemon { why: why.clone() }),
        }
    }

    /// True when the root is `/`: the running kernel, sockets and drivers belong to this host, so
    /// probes may ask NVML, sysinfo or the Docker socket.
    pub fn is_live(&self) -> bool {
        self.live
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// False when commands are not run at all (a foreign root): nothing jetdoc would start
    /// there could reach the inspected device.
    pub fn runs_commands(&self) -> bool {
        self.runner.kind() != RunnerKind::Offline
    }

    /// True when commands are real processes on this machine (not a fixture's canned answers),
    /// so their answers can change from one call to the next.
    pub fn runs_real_commands(&self) -> bool {
        self.runner.kind() == RunnerKind::Real
    }

    /// Resolves an absolute path inside the root, following symlinks as the device would see them.
    /// The result is the real path on this machine. A missing component is not an error here: the
    /// caller's open reports it.
    pub fn resolve(&self, path: &str) -> Found<PathBuf> {
        if self.live {
            return Ok(PathBuf::from(path));
        }
        self.resolve_inside(path).map(|inner| self.root.join(inner.trim_start_matches('/')))
    }

    /// The path as seen from inside the root after resolving symlinks (`/usr/local/cuda` ->
    /// `/usr/local/cuda-12.6`).
    pub fn canonical(&self, path: &str) -> Found<String> {
        if self.live {
            return fs::canonicalize(path)
                .map(|p| p.display().to_string())
                .map_err(|e| Absence::from_io(path, &e));
        }
        self.resolve_inside(path)
    }

    fn resolve_inside(&self, path: &str) -> Found<String> {
        self.resolve_inside_with(path, true)
    }

    /// `cached`: use (and fill) the cache of path components. Writes resolve uncached: the tree
    /// may have changed since the probes ran.
    fn resolve_inside_with(&self, path: &str, cached: bool) -> Found<String> {
        let mut done: Vec<String> = Vec::new();
        let mut todo: Vec<String> = components(path).into_iter().rev().collect();
        let mut hops = 0;
        while let Some(part) = todo.pop() {
            if part == ".." {
                done.pop();
                continue;
            }
            done.push(part);
            let key = done.join("/");
            let Some(node) = self.node(&key, cached) else {
                // Missing: keep the rest verbatim; opening it will say "missing".
                done.extend(todo.into_iter().rev());
                break;
            };
            let Some(target) = node else { continue };
            hops += 1;
            if hops > MAX_SYMLINK_HOPS {
                return Err(Absence::new(path, Reason::SymlinkLoop));
            }
            done.pop();
            if target.starts_with('/') {
                done.clear();
            }
            todo.extend(components(&target).into_iter().rev());
        }
        Ok(format!("/{}", done.join("/")))
    }

    /// One component under the root: `None` when missing, `Some(None)` for a plain file or
    /// directory, `Some(Some(target))` for a symlink.
    fn node(&self, inside: &str, cached: bool) -> Option<Option<String>> {
        if !cached {
            let here = self.root.join(inside);
            let meta = fs::symlink_metadata(&here).ok()?;
            return Some(if meta.file_type().is_symlink() {
                Some(fs::read_link(&here).ok()?.to_string_lossy().into_owned())
            } else {
                None
            });
        }
        if let Some(hit) = self.nodes.lock().ok().and_then(|n| n.get(inside).cloned()) {
            return Some(hit);
        }
        let here = self.root.join(inside);
        let meta = fs::symlink_metadata(&here).ok()?;
        let node = if meta.file_type().is_symlink() {
            Some(fs::read_link(&here).ok()?.to_string_lossy().into_owned())
        } else {
            None
        };
        if let Ok(mut n) = self.nodes.lock() {
            n.insert(inside.to_string(), node.clone());
        }
        Some(node)
    }

    /// Forgets the cached path components: after a change to the tree (a fix wrote files), the
    /// next lookups see it as it is now.
    pub fn forget_paths(&self) {
        if let Ok(mut n) = self.nodes.lock() {
            n.clear();
        }
    }

    /// Reads a whole file (at most `MAX_FILE_BYTES`). Only regular files are opened (procfs and
    /// sysfs files are regular, with size 0): a FIFO would block the read forever and opening a
    /// device node can have side effects, so anything else is `Reason::NotRegular`, found by
    /// `stat` before any `open`. The open is non-blocking all the same, in case the file is
    /// swapped between the two.
    pub fn read(&self, path: &str) -> Found<Vec<u8>> {
        use std::os::unix::fs::OpenOptionsExt;
        let real = self.resolve(path)?;
        let meta = fs::metadata(&real).map_err(|e| Absence::from_io(path, &e))?;
        regular(path, &meta)?;
        let mut flags = rustix::fs::OFlags::NONBLOCK | rustix::fs::OFlags::NOCTTY;
        if !self.live {
            // The resolved path has no symlink left: one now is a swap, not the device's view.
            flags |= rustix::fs::OFlags::NOFOLLOW;
        }
        let file = fs::OpenOptions::new()
            .read(true)
            .custom_flags(flags.bits() as i32)
            .open(&real)
            .map_err(|e| Absence::from_io(path, &e))?;
        let meta = file.metadata().map_err(|e| Absence::from_io(path, &e))?;
        regular(path, &meta)?;
        let mut buf = Vec::new();
        file.take(MAX_FILE_BYTES + 1).read_to_end(&mut buf).map_err(|e| Absence::from_io(path, &e))?;
        if buf.len() as u64 > MAX_FILE_BYTES {
            return Err(Absence::new(path, Reason::TooLarge(MAX_FILE_BYTES)));
        }
        Ok(buf)
    }

    /// Reads a text file; invalid UTF-8 is replaced rather than refused (parsers then decide).
    /// An empty (or whitespace- and NUL-only) file is `Reason::Empty`.
    pub fn read_text(&self, path: &str) -> Found<String> {
        let bytes = self.read(path)?;
        if bytes.iter().all(|b| b.is_ascii_whitespace() || *b == 0) {
            return Err(Absence::new(path, Reason::Empty));
        }
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    }

    pub fn exists(&self, path: &str) -> bool {
        self.resolve(path).map(|p| p.exists()).unwrap_or(false)
    }

    pub fn is_dir(&self, path: &str) -> bool {
        self.resolve(path).map(|p| p.is_dir()).unwrap_or(false)
    }

    pub fn metadata(&self, path: &str) -> Found<fs::Metadata> {
        let real = self.resolve(path)?;
        fs::metadata(real).map_err(|e| Absence::from_io(path, &e))
    }

    /// The raw target of a symlink (not resolved), e.g. a sysfs `device` link.
    pub fn read_link(&self, path: &str) -> Found<String> {
        let parent = parent_of(path);
        let name = path.rsplit('/').next().unwrap_or_default();
        let real = self.resolve(&parent)?.join(name);
        fs::read_link(real).map(|t| t.to_string_lossy().into_owned()).map_err(|e| Absence::from_io(path, &e))
    }

    /// Entry names of a directory, sorted.
    pub fn read_dir(&self, path: &str) -> Found<Vec<String>> {
        let real = self.resolve(path)?;
        let entries = fs::read_dir(real).map_err(|e| Absence::from_io(path, &e))?;
        let mut names: Vec<String> =
            entries.filter_map(|e| e.ok()).map(|e| e.file_name().to_string_lossy().into_owned()).collect();
        names.sort();
        Ok(names)
    }

    /// Runs a command through the injected runner (real, fake or offline).
    pub fn run(&self, program: &str, args: &[&str]) -> CmdOutput {
        self.runner.run(program, args, DEFAULT_TIMEOUT)
    }

    pub fn run_with_timeout(&self, program: &str, args: &[&str], timeout: Duration) -> CmdOutput {
        self.runner.run(program, args, timeout)
    }

    pub fn env(&self, key: &str) -> Option<String> {
        match &self.env {
            EnvSource::Process => std::env::var(key).ok(),
            EnvSource::Map(map) => map.get(key).cloned(),
        }
    }
}

/// A directory is `NotAFile`; a FIFO, socket or device node `NotRegular`.
fn regular(path: &str, meta: &fs::Metadata) -> Found<()> {
    use std::os::unix::fs::MetadataExt;
    let ft = rustix::fs::FileType::from_raw_mode(meta.mode());
    match ft {
        rustix::fs::FileType::RegularFile => Ok(()),
        rustix::fs::FileType::Directory => Err(Absence::new(path, Reason::NotAFile)),
        other => Err(Absence::new(path, Reason::NotRegular(inroot::kind_name(other).to_string()))),
    }
}

fn components(path: &str) -> Vec<String> {
    Path::new(path)
        .components()
        .filter_map(|c| match c {
            Component::Normal(s) => Some(s.to_string_lossy().into_owned()),
            Component::ParentDir => Some("..".to_string()),
            _ => None,
        })
        .collect()
}

fn parent_of(path: &str) -> String {
    match path.trim_end_matches('/').rsplit_once('/') {
        Some(("", _)) | None => "/".to_string(),
        Some((parent, _)) => parent.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    fn fixture() -> (tempfile::TempDir, Host) {
        let dir = tempfile::tempdir().unwrap();
        let r = dir.path();
        fs::create_dir_all(r.join("usr/local/cuda-12.6")).unwrap();
        fs::write(r.join("usr/local/cuda-12.6/version.json"), "{}").unwrap();
        symlink("/usr/local/cuda-12.6", r.join("usr/local/cuda")).unwrap();
        fs::create_dir_all(r.join("etc")).unwrap();
        symlink("/etc/loop-b", r.join("etc/loop-a")).unwrap();
        symlink("loop-a", r.join("etc/loop-b")).unwrap();
        symlink("../../../../../../outside", r.join("etc/escape")).unwrap();
        fs::write(r.join("etc/empty"), "\0\n").unwrap();
        let host = Host::with_root(r, Box::new(OfflineRunner), EnvSource::Map(BTreeMap::new())).unwrap();
        (dir, host)
    }

    #[test]
    fn absolute_symlinks_stay_inside_the_root() {
        let (_d, host) = fixture();
        assert_eq!(
            host.canonical("/usr/local/cuda/version.json").unwrap(),
            "/usr/local/cuda-12.6/version.json"
        );
        assert_eq!(host.read_text("/usr/local/cuda/version.json").unwrap(), "{}");
    }

    #[test]
    fn dotdot_cannot_climb_above_the_root() {
        let (_d, host) = fixture();
        assert_eq!(host.canonical("/etc/escape").unwrap(), "/outside");
        assert_eq!(host.read("/etc/escape").unwrap_err().reason, Reason::Missing);
    }

    #[test]
    fn looping_symlinks_are_reported() {
        let (_d, host) = fixture();
        assert_eq!(host.read("/etc/loop-a").unwrap_err().reason, Reason::SymlinkLoop);
    }

    #[test]
    fn empty_and_missing_files_have_reasons() {
        let (_d, host) = fixture();
        assert_eq!(host.read_text("/etc/empty").unwrap_err().reason, Reason::Empty);
        assert_eq!(host.read_text("/etc/nothing").unwrap_err().reason, Reason::Missing);
        assert_eq!(host.read_text("/etc").unwrap_err().reason, Reason::NotAFile);
    }

    #[test]
    fn fifos_and_devices_are_reasons_not_hangs() {
        let (d, host) = fixture();
        let fifo = d.path().join("etc/fifo");
        rustix::fs::mknodat(
            rustix::fs::CWD,
            &fifo,
            rustix::fs::FileType::Fifo,
            rustix::fs::Mode::from_raw_mode(0o600),
            0,
        )
        .unwrap();
        let e = host.read_text("/etc/fifo").unwrap_err();
        assert_eq!(e.reason, Reason::NotRegular("a FIFO (named pipe)".into()));
        assert!(e.to_string().contains("not a regular file"), "{e}");
        symlink("/dev/null", d.path().join("etc/null")).unwrap();
        // Inside the root `/dev/null` is R/dev/null: missing. On a live host it is refused unopened.
        assert_eq!(host.read("/etc/null").unwrap_err().reason, Reason::Missing);
        assert_eq!(
            Host::live().read("/dev/null").unwrap_err().reason,
            Reason::NotRegular("a character device".into())
        );
    }

    #[test]
    fn a_missing_root_is_an_error() {
        let err = Host::with_root(Path::new("/no/such/root"), Box::new(OfflineRunner), EnvSource::Process)
            .unwrap_err();
        assert_eq!(err.reason, Reason::Missing);
    }
}
